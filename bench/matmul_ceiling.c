// The matmul ceiling on the training shapes of one GRPO step (bench/grpo_step:
// N = 64 sequences x 128 tokens of rows): for each product the forward and the
// backward make, GFLOP/s of aha's gemm (whatever backend this build picked),
// of oneDNN's matmul with fp32 inputs and with bf16 inputs (fp32 accumulation
// and output), and of OpenBLAS sgemm, alternating per repetition.
//   make bench && OMP_WAIT_POLICY=PASSIVE build/bench/matmul_ceiling [small|large] [reps] [threads]
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sys.h"
#include "kernels/dnnl_mm.h"
#include "kernels/ops.h"
#include "model/presets.h"
#ifdef AHA_BLAS
#include <cblas.h>
#endif

typedef struct {
    const char *what;
    int ta, tb, M, N, K;
    float beta;
    int count;   // how many such products a step's training pass makes
} Shape;

enum { BACKENDS = 4 };
static const char *backend_name[BACKENDS] = {"aha gemm", "dnnl f32", "dnnl bf16", "openblas"};

static uint16_t to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7fffu + ((u >> 16) & 1u);   // round to nearest even
    return (uint16_t)(u >> 16);
}

// Runs the product once on backend b; returns 0, or -1 where the build lacks it.
static int run(int b, const Shape *s, const float *A, const float *B, const uint16_t *Ah, const uint16_t *Bh, float *C) {
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
    switch (b) {
    case 0:
        gemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, s->beta, C, s->N);
        return 0;
#ifdef AHA_DNNL
    case 1: return dnnl_mm_gemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, s->beta, C, s->N);
    case 2: return dnnl_mm_gemm_bf16(s->ta, s->tb, s->M, s->N, s->K, 1.0f, Ah, lda, Bh, ldb, s->beta, C, s->N);
#endif
#ifdef AHA_BLAS
    case 3:
        cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, s->M, s->N,
                    s->K, 1.0f, A, lda, B, ldb, s->beta, C, s->N);
        return 0;
#endif
    default: (void)Ah, (void)Bh; return -1;
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "small";
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (argc > 3) threads_set(atoi(argv[3]));
    if (reps < 1 || reps > 64) reps = 5;
    const ModelPreset *p = model_preset(which);
    if (!p) return fprintf(stderr, "matmul_ceiling: no preset '%s' (small, large)\n", which), 2;
    int Nr = 64 * 128, C = p->dim, F = p->ffn, V = p->vocab, L = p->layers;
    int hr = (8 << 20) / V;   // rows of one head chunk (forward.c's HEAD_SCRATCH_FLOATS / V)
    if (hr > Nr) hr = Nr;
    Shape shapes[] = {
        {"fwd x.Wqkvo^T", 0, 1, Nr, C, C, 0.0f, 4 * L},
        {"fwd x.Wgate,up^T", 0, 1, Nr, F, C, 0.0f, 2 * L},
        {"fwd h.Wdown^T", 0, 1, Nr, C, F, 1.0f, L},
        {"fwd head", 0, 1, hr, V, C, 0.0f, 2 * Nr / hr},
        {"bwd dx qkvo", 0, 0, Nr, C, C, 1.0f, 4 * L},
        {"bwd dx gate,up", 0, 0, Nr, C, F, 1.0f, 2 * L},
        {"bwd dh down", 0, 0, Nr, F, C, 1.0f, L},
        {"bwd dW qkvo", 1, 0, C, C, Nr, 1.0f, 4 * L},
        {"bwd dW gate,up", 1, 0, F, C, Nr, 1.0f, 2 * L},
        {"bwd dW down", 1, 0, C, F, Nr, 1.0f, L},
    };
    int ns = (int)(sizeof shapes / sizeof *shapes);
    size_t big = (size_t)Nr * (F > V ? F : V);
    float *A = malloc(big * sizeof(float)), *B = malloc(big * sizeof(float)), *Cm = calloc(big, sizeof(float));
    uint16_t *Ah = malloc(big * sizeof(uint16_t)), *Bh = malloc(big * sizeof(uint16_t));
    if (!A || !B || !Cm || !Ah || !Bh) return fprintf(stderr, "matmul_ceiling: out of memory\n"), 1;
    for (size_t i = 0; i < big; i++) {
        A[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
        B[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
        Ah[i] = to_bf16(A[i]), Bh[i] = to_bf16(B[i]);
    }
    printf("matmul ceiling, config %s, rows %d, %d threads, median of %d (backends alternate per repetition)\n", which,
           Nr, threads_get(), reps);
#ifdef AHA_DNNL
    printf("oneDNN implementations: f32 %s, bf16 %s\n", dnnl_mm_impl(0, 0, 1, Nr, C, C, 1.0f, C, C, 0.0f, C),
           dnnl_mm_impl(1, 0, 1, Nr, C, C, 1.0f, C, C, 0.0f, C));
#endif
    printf("%-18s %5s %5s %5s | %10s %10s %10s %10s  GFLOP/s\n", "product", "M", "N", "K", backend_name[0],
           backend_name[1], backend_name[2], backend_name[3]);
    double step_s[BACKENDS] = {0}, flops = 0;
    for (int i = 0; i < ns; i++) {
        const Shape *s = &shapes[i];
        double t[BACKENDS][64], med[BACKENDS];
        int have[BACKENDS];
        for (int b = 0; b < BACKENDS; b++) have[b] = run(b, s, A, B, Ah, Bh, Cm) == 0;   // warm-up, primitive made
        for (int r = 0; r < reps; r++)
            for (int b = 0; b < BACKENDS; b++) {
                if (!have[b]) continue;
                double t0 = time_now();
                run(b, s, A, B, Ah, Bh, Cm);
                t[b][r] = time_now() - t0;
            }
        double f = 2.0 * s->M * s->N * s->K;
        flops += f * s->count;
        printf("%-18s %5d %5d %5d |", s->what, s->M, s->N, s->K);
        for (int b = 0; b < BACKENDS; b++) {
            if (!have[b]) {
                printf(" %10s", "-");
                continue;
            }
            qsort(t[b], (size_t)reps, sizeof(double), cmp_double);
            med[b] = reps % 2 ? t[b][reps / 2] : 0.5 * (t[b][reps / 2 - 1] + t[b][reps / 2]);
            step_s[b] += med[b] * s->count;
            printf(" %10.1f", f / med[b] * 1e-9);
        }
        printf("\n");
    }
    printf("%-36s |", "one training pass (weighted)");
    for (int b = 0; b < BACKENDS; b++) printf(" %10.1f", step_s[b] > 0 ? flops / step_s[b] * 1e-9 : 0.0);
    printf("\nJSON {\"config\": \"%s\", \"threads\": %d", which, threads_get());
    for (int b = 0; b < BACKENDS; b++)
        printf(", \"%s\": %.1f", backend_name[b], step_s[b] > 0 ? flops / step_s[b] * 1e-9 : 0.0);
    printf("}\n");
    free(A), free(B), free(Cm), free(Ah), free(Bh);
    return 0;
}
