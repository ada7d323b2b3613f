// MPI behind the dist_* calls. Sums are reduced in rank order (gather to
// every rank, add 0..N-1) rather than by MPI_Allreduce, whose order is the
// library's choice: a weight update must not depend on which rank added
// first. Large buffers go in slices so that the gather's scratch stays small.
#include "base/dist.h"
#include "base/crc32c.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>

int dist_check_same(const void *buf, size_t bytes, const char *what) {
    if (dist_size() == 1) return 0;
    uint32_t crc = crc32c_update(0, buf, bytes);
    double h[2] = {crc, -(double)crc};   // max and -min over the ranks
    if (dist_max_f64(h, 2) != 0) return -1;
    if (h[0] == -h[1]) return 0;
    return err_set("the ranks' %s differ (rank %d of %d: CRC-32C %08x)", what, dist_rank(), dist_size(), (unsigned)crc);
}

void dist_share(int n, int *lo, int *hi) {
    int ranks = dist_size(), me = dist_rank();
    *lo = (int)((long)n * me / ranks), *hi = (int)((long)n * (me + 1) / ranks);
}

#ifdef AHA_MPI
#include <mpi.h>

static int g_joined, g_rank, g_size = 1;

// A launcher leaves its mark in the environment: OpenMPI's mpirun, PMIx or
// PMI (srun, hydra).
static int launched(void) {
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

static int mpi_fail(const char *what, int code) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(code, msg, &len);
    return err_set("MPI %s on rank %d of %d: %.*s", what, g_rank, g_size, len, msg);
}

int dist_init(int *argc, char ***argv) {
    if (!launched()) return 0;
    int rc = MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS) return mpi_fail("init", rc);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_joined = 1;
    return 0;
}

void dist_finalize(void) {
    if (g_joined) MPI_Finalize();
    g_joined = 0;
}

int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }
int dist_available(void) { return 1; }

// Gather every rank's slice and add them in rank order. elem: bytes per
// element; add(acc, part, n) adds n elements of part into acc.
#define SLICE_BYTES (4u << 20)
static int ordered_sum(void *x, size_t n, size_t elem, void (*add)(void *, const void *, size_t), const char *what) {
    if (!g_joined || g_size == 1 || n == 0) return 0;
    size_t per = SLICE_BYTES / elem;
    char *all = malloc((size_t)g_size * (per < n ? per : n) * elem);
    if (!all) return err_set("MPI %s: out of memory", what);
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < n; off += per) {
        size_t k = n - off < per ? n - off : per;
        char *mine = (char *)x + off * elem;
        int e = MPI_Allgather(mine, (int)(k * elem), MPI_BYTE, all, (int)(k * elem), MPI_BYTE, MPI_COMM_WORLD);
        if (e != MPI_SUCCESS) {
            rc = mpi_fail(what, e);
            break;
        }
        memcpy(mine, all, k * elem);
        for (int r = 1; r < g_size; r++) add(mine, all + (size_t)r * k * elem, k);
    }
    free(all);
    return rc;
}

static void add_f32(void *a, const void *b, size_t n) {
    for (size_t i = 0; i < n; i++) ((float *)a)[i] += ((const float *)b)[i];
}
static void add_f64(void *a, const void *b, size_t n) {
    for (size_t i = 0; i < n; i++) ((double *)a)[i] += ((const double *)b)[i];
}
static void add_i64(void *a, const void *b, size_t n) {
    for (size_t i = 0; i < n; i++) ((int64_t *)a)[i] += ((const int64_t *)b)[i];
}
static void max_f64(void *a, const void *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (((const double *)b)[i] > ((double *)a)[i]) ((double *)a)[i] = ((const double *)b)[i];
}

int dist_sum_f32(float *x, size_t n) { return ordered_sum(x, n, sizeof *x, add_f32, "sum (f32)"); }
int dist_sum_f64(double *x, size_t n) { return ordered_sum(x, n, sizeof *x, add_f64, "sum (f64)"); }
int dist_sum_i64(int64_t *x, size_t n) { return ordered_sum(x, n, sizeof *x, add_i64, "sum (i64)"); }
int dist_max_f64(double *x, size_t n) { return ordered_sum(x, n, sizeof *x, max_f64, "max (f64)"); }

int dist_bcast(void *buf, size_t bytes, int root) {
    if (!g_joined || g_size == 1) return 0;
    for (size_t off = 0; off < bytes; off += SLICE_BYTES) {
        size_t k = bytes - off < SLICE_BYTES ? bytes - off : SLICE_BYTES;
        int e = MPI_Bcast((char *)buf + off, (int)k, MPI_BYTE, root, MPI_COMM_WORLD);
        if (e != MPI_SUCCESS) return mpi_fail("broadcast", e);
    }
    return 0;
}

int dist_barrier(void) {
    if (!g_joined || g_size == 1) return 0;
    int e = MPI_Barrier(MPI_COMM_WORLD);
    return e == MPI_SUCCESS ? 0 : mpi_fail("barrier", e);
}

void dist_abort(int code) {
    if (g_joined) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

#else   // no MPI: a world of one

int dist_init(int *argc, char ***argv) {
    (void)argc, (void)argv;
    return 0;
}
void dist_finalize(void) {}
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
int dist_available(void) { return 0; }
int dist_sum_f32(float *x, size_t n) { return (void)x, (void)n, 0; }
int dist_sum_f64(double *x, size_t n) { return (void)x, (void)n, 0; }
int dist_sum_i64(int64_t *x, size_t n) { return (void)x, (void)n, 0; }
int dist_max_f64(double *x, size_t n) { return (void)x, (void)n, 0; }
int dist_bcast(void *buf, size_t bytes, int root) { return (void)buf, (void)bytes, (void)root, 0; }
int dist_barrier(void) { return 0; }
void dist_abort(int code) { exit(code); }

#endif
