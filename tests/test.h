// Minimal test harness for C unit tests: CHECK records a failure with file:line
// and keeps going; TEST_END prints a summary and returns the exit status.
// Each tests/test_*.c is one program; tests/run.sh runs them all.
#ifndef AHA_TEST_H
#define AHA_TEST_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>

static int test_checks, test_failures;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        test_checks++;                                                       \
        if (!(cond)) {                                                       \
            test_failures++;                                                 \
            fprintf(stderr, "FAIL %s:%d: %s:", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, " " __VA_ARGS__);                                \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

// |a - b| / max(|a|, |b|, floor) <= tol
#define CHECK_CLOSE(a, b, tol, floor_)                                                   \
    do {                                                                                 \
        double a_ = (a), b_ = (b), d_ = fabs(a_ - b_);                                   \
        double s_ = fmax(fmax(fabs(a_), fabs(b_)), (floor_));                            \
        CHECK(d_ / s_ <= (tol), "%s = %.9g, %s = %.9g, rel err %.3g > %.3g", #a, a_, #b, \
              b_, d_ / s_, (double)(tol));                                               \
    } while (0)

// Normalized error ||a - b|| / max(||a||, ||b||) (absolute when both are 0),
// the measure ggml's test-backend-ops uses for whole tensors.
static inline double test_nerr(const float *a, const float *b, size_t n) {
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    double s = sqrt(na > nb ? na : nb);
    return s > 0 ? sqrt(d) / s : sqrt(d);
}

#define TEST_END()                                                                       \
    (printf("%s: %d checks, %d failed\n", __FILE__, test_checks, test_failures),         \
     test_failures ? 1 : 0)

#endif
