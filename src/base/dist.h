// Data-parallel ranks: one process per rank, every rank holding the whole
// model, sums over ranks by MPI. A build without MPI, or a process not started
// by an MPI launcher (mpirun, srun), is rank 0 of 1 and every call below is a
// no-op, so the same code runs either way.
#ifndef AHA_BASE_DIST_H
#define AHA_BASE_DIST_H

#include <stddef.h>
#include <stdint.h>

// Join the job when a launcher started this process (its environment says
// so); otherwise stay a world of one. Returns 0, or -1 (err_set) when MPI
// fails to start.
int dist_init(int *argc, char ***argv);
// Leave the job (after every rank's last collective call).
void dist_finalize(void);
int dist_rank(void);
int dist_size(void);
// 1 when this build can join an MPI job.
int dist_available(void);

// In-place sums over every rank, in rank order on every rank, so that every
// rank holds the same bits. Return 0, or -1 (err_set naming the operation).
int dist_sum_f32(float *x, size_t n);
int dist_sum_f64(double *x, size_t n);
int dist_sum_i64(int64_t *x, size_t n);
int dist_max_f64(double *x, size_t n);
// Rank root's bytes onto every rank.
int dist_bcast(void *buf, size_t bytes, int root);
int dist_barrier(void);
// That every rank holds the same bytes (weights, say), by a CRC-32C of them
// compared over the ranks. Returns 0 when they do, else -1 after err_set
// naming what, this rank and its CRC (or the failed collective).
int dist_check_same(const void *buf, size_t bytes, const char *what);
// This rank's units [lo, hi) of n (micro-batches, say), dealt in contiguous
// blocks in rank order: a unit's work is the same whatever the rank count, and
// ranks past n get none.
void dist_share(int n, int *lo, int *hi);
// Stop every rank of the job with this exit code (never returns).
void dist_abort(int code);

#endif
