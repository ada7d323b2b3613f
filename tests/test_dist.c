// base/dist: run alone, a world of one where every call leaves its data as it
// is; run under mpirun (tests/test_mpi.sh), sums in rank order that every rank
// holds bit for bit, maxima, broadcasts, buffers larger than one slice, and
// the check that stops ranks whose weights differ.
#include "base/dist.h"
#include "base/err.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_alone(void) {
    float f[3] = {1.5f, -2, 3};
    double d[2] = {0.25, 7};
    int64_t i[2] = {5, -9};
    CHECK(dist_sum_f32(f, 3) == 0 && f[0] == 1.5f && f[1] == -2 && f[2] == 3, "one rank: f32 sum changed the data");
    CHECK(dist_sum_f64(d, 2) == 0 && d[0] == 0.25 && d[1] == 7, "one rank: f64 sum changed the data");
    CHECK(dist_sum_i64(i, 2) == 0 && i[0] == 5 && i[1] == -9, "one rank: i64 sum changed the data");
    CHECK(dist_bcast(d, sizeof d, 0) == 0 && dist_barrier() == 0, "one rank: bcast / barrier");
}

// Rank r holds values whose float sum depends on the order of addition; the
// result must be the left-to-right sum over ranks 0..N-1, on every rank.
static float value(int r, size_t j) { return (float)((r + 1) * 1e-3 + (double)(j % 97) * 1e5 * (r % 2 ? -1 : 1) + 0.1); }

static void test_ranks(int R, int me) {
    size_t n = (5u << 20) / sizeof(float) + 13;   // more than one 4 MiB slice
    float *x = malloc(n * sizeof *x);
    for (size_t j = 0; j < n; j++) x[j] = value(me, j);
    CHECK(dist_sum_f32(x, n) == 0, "f32 sum failed");
    size_t bad = 0;
    for (size_t j = 0; j < n; j++) {
        float want = value(0, j);
        for (int r = 1; r < R; r++) want += value(r, j);
        bad += memcmp(&want, &x[j], sizeof want) != 0;
    }
    CHECK(bad == 0, "rank %d: %zu of %zu f32 sums are not the rank-order sum", me, bad, n);
    // Every rank holds the same bits: broadcast rank 0's and compare.
    float *y = malloc(n * sizeof *y);
    memcpy(y, x, n * sizeof *y);
    CHECK(dist_bcast(y, n * sizeof *y, 0) == 0 && memcmp(x, y, n * sizeof *y) == 0, "rank %d: sums differ from rank 0's", me);
    double d[2] = {me + 0.5, -me}, m[1] = {me == R - 1 ? 1e9 : me};
    int64_t k[1] = {(int64_t)1 << (40 + me)};
    CHECK(dist_sum_f64(d, 2) == 0 && d[0] == R * R / 2.0 && d[1] == -(R * (R - 1) / 2.0), "f64 sum: %g %g", d[0], d[1]);
    CHECK(dist_max_f64(m, 1) == 0 && m[0] == 1e9, "f64 max: %g", m[0]);
    int64_t want = 0;
    for (int r = 0; r < R; r++) want += (int64_t)1 << (40 + r);
    CHECK(dist_sum_i64(k, 1) == 0 && k[0] == want, "i64 sum");
    CHECK(dist_barrier() == 0, "barrier");
    // The weight check: equal bytes pass; one rank's changed byte stops every rank, naming it.
    CHECK(dist_check_same(y, n * sizeof *y, "weights") == 0, "rank %d: equal weights reported as differing", me);
    if (me == R - 1) ((unsigned char *)y)[12345] ^= 1;
    CHECK(dist_check_same(y, n * sizeof *y, "weights") == -1, "rank %d: differing weights passed the check", me);
    char want_rank[64];
    snprintf(want_rank, sizeof want_rank, "weights differ (rank %d of %d", me, R);
    CHECK(strstr(err_msg(), want_rank) != NULL, "rank %d: the message does not name the rank: %s", me, err_msg());
    free(x);
    free(y);
}

int main(int argc, char **argv) {
    CHECK(dist_init(&argc, &argv) == 0, "dist_init");
    int R = dist_size(), me = dist_rank();
    if (R == 1) test_alone();
    else test_ranks(R, me);
    if (argc > 1) CHECK(R == atoi(argv[1]), "world size %d, expected %s", R, argv[1]);
    dist_finalize();
    return TEST_END();
}
