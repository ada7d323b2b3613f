// Kernels against their twins: gemm (oneDNN, OpenBLAS or neither) vs gemm_ref, attention
// and the fused head vs their plain-loop twins, at several sizes (normalized
// error); vexp against exp in double; and every backward (matmul, rmsnorm, rope, swiglu, attention, head)
// against central finite differences of double-precision twins written here.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "base/sys.h"
#include "kernels/dnnl_mm.h"
#include "kernels/head.h"
#include "kernels/omp.h"
#include "kernels/ops.h"
#include "kernels/rowmm.h"
#include "kernels/vexp.h"
#include "model/safetensors.h"
#include "test.h"

static Rng rng;

static float *randf(size_t n, float scale) {
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = scale * (float)rng_normal(&rng);
    return p;
}
static float *zerosf(size_t n) { return calloc(n, sizeof(float)); }

// ---------------------------------------------------------------- double twins
// Each computes a scalar loss L(inputs) in double from float inputs held in
// double copies; fd() perturbs one double array element by ±h.

typedef struct {
    int N, C, OC, H, HD, T, V, y[64];
    double *x, *w, *b, *u, *wl;   // inputs and the loss weights wl
    const int *pos;
    const float *cs, *sn;
    double inv_temp;
} Ctx;

// L = Σ wl ⊙ (x · wᵀ + b)
static double loss_matmul(const Ctx *c) {
    double L = 0;
    for (int n = 0; n < c->N; n++)
        for (int o = 0; o < c->OC; o++) {
            double s = c->b[o];
            for (int k = 0; k < c->C; k++) s += c->x[n * c->C + k] * c->w[o * c->C + k];
            L += c->wl[n * c->OC + o] * s;
        }
    return L;
}

// L = Σ wl ⊙ rmsnorm(x; w)
static double loss_rmsnorm(const Ctx *c) {
    double L = 0, eps = 1e-5;
    for (int n = 0; n < c->N; n++) {
        double ss = 0;
        for (int k = 0; k < c->C; k++) ss += c->x[n * c->C + k] * c->x[n * c->C + k];
        double r = 1.0 / sqrt(ss / c->C + eps);
        for (int k = 0; k < c->C; k++) L += c->wl[n * c->C + k] * c->x[n * c->C + k] * r * c->w[k];
    }
    return L;
}

// L = Σ wl ⊙ rope(x), angles from theta directly in double
static double loss_rope(const Ctx *c) {
    double L = 0;
    int half = c->HD / 2;
    for (int n = 0; n < c->N; n++)
        for (int h = 0; h < c->H; h++)
            for (int i = 0; i < half; i++) {
                double a = c->pos[n] * pow(10000.0, -2.0 * i / c->HD), cs = cos(a), sn = sin(a);
                size_t o = ((size_t)n * c->H + h) * c->HD;
                double x1 = c->x[o + i], x2 = c->x[o + i + half];
                L += c->wl[o + i] * (x1 * cs - x2 * sn) + c->wl[o + i + half] * (x2 * cs + x1 * sn);
            }
    return L;
}

// L = Σ wl ⊙ silu(x) ⊙ u
static double loss_swiglu(const Ctx *c) {
    double L = 0;
    for (int i = 0; i < c->N; i++) L += c->wl[i] * c->x[i] / (1 + exp(-c->x[i])) * c->u[i];
    return L;
}

// L = Σ wl ⊙ attention(q = x, k = w, v = u), causal, one head, contiguous (T, HD)
static double loss_attention(const Ctx *c) {
    int T = c->T, D = c->HD;
    double L = 0, sc = 1.0 / sqrt((double)D), s[64];
    for (int i = 0; i < T; i++) {
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= i; j++) {
            s[j] = 0;
            for (int d = 0; d < D; d++) s[j] += c->x[i * D + d] * c->w[j * D + d];
            s[j] *= sc;
            mx = s[j] > mx ? s[j] : mx;
        }
        for (int j = 0; j <= i; j++) sum += exp(s[j] - mx);
        for (int j = 0; j <= i; j++) {
            double p = exp(s[j] - mx) / sum;
            for (int d = 0; d < D; d++) L += c->wl[i * D + d] * p * c->u[j * D + d];
        }
    }
    return L;
}

// L = Σ_m g_m · log softmax(s · h_m · wᵀ)[y_m] with h = x, g = wl
static double loss_head(const Ctx *c) {
    double L = 0, z[256];
    for (int m = 0; m < c->N; m++) {
        double mx = -1e300, sum = 0;
        for (int v = 0; v < c->V; v++) {
            z[v] = 0;
            for (int k = 0; k < c->C; k++) z[v] += c->x[m * c->C + k] * c->w[v * c->C + k];
            z[v] *= c->inv_temp;
            mx = z[v] > mx ? z[v] : mx;
        }
        for (int v = 0; v < c->V; v++) sum += exp(z[v] - mx);
        if (c->y[m] >= 0) L += c->wl[m] * (z[c->y[m]] - mx - log(sum));
    }
    return L;
}

static double *dcopy(const float *p, size_t n) {
    double *d = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = p[i];
    return d;
}

// Central differences of loss w.r.t. every element of arr (n) compared with
// the kernel's gradient grad (n).
static void check_fd(const char *what, double (*loss)(const Ctx *), Ctx *c, double *arr, const float *grad, size_t n) {
    float *num = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        double keep = arr[i], h = 1e-5 * fmax(1.0, fabs(keep));
        arr[i] = keep + h;
        double lp = loss(c);
        arr[i] = keep - h;
        double lm = loss(c);
        arr[i] = keep;
        num[i] = (float)((lp - lm) / (2 * h));
    }
    double e = test_nerr(grad, num, n);
    CHECK(e <= 1e-4, "%s: finite-difference error %.3g", what, e);
    free(num);
}

// ---------------------------------------------------------------- twins at sizes

// M = 800 takes gemm's split into row bands, run here on 3 threads so the bands
// are uneven (272, 272, 256 rows).
static void test_gemm_vs_ref(void) {
    int sizes[][3] = {{1, 1, 1}, {7, 5, 3}, {33, 70, 17}, {130, 64, 129}, {4, 300, 65}, {800, 40, 33}};
    int nth = threads_get();
    threads_set(3);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = sizes[s][0], N = sizes[s][1], K = sizes[s][2];
                float *A = randf((size_t)M * K, 1), *B = randf((size_t)K * N, 1), *C1 = randf((size_t)M * N, 1);
                float *C2 = malloc((size_t)M * N * sizeof(float));
                memcpy(C2, C1, (size_t)M * N * sizeof(float));
                int lda = ta ? M : K, ldb = tb ? K : N;
                gemm(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.5f, C1, N);
                gemm_ref(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.5f, C2, N);
                double e = test_nerr(C1, C2, (size_t)M * N);
                CHECK(e <= 1e-6, "gemm %dx%dx%d ta=%d tb=%d: %.3g", M, N, K, ta, tb, e);
                free(A), free(B), free(C1), free(C2);
            }
    threads_set(nth);
}

// Leading dimensions wider than the matrices, alpha 1 with beta 0 and 1 (the
// training products' settings), one thread and two, and the same products from
// inside a parallel region (where gemm runs on the calling thread alone); then
// more distinct products than the oneDNN backend keeps primitives for, and the
// first again, which must be made anew and give the same numbers.
static void test_gemm_strided(void) {
    int nth = threads_get();
    for (int pass = 0; pass < 4; pass++) {
        threads_set(pass % 2 ? 2 : 1);
        int M = 37, N = 29, K = 45, pad = 3;
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
                float beta = pass < 2 ? 0.0f : 1.0f;
                float *A = randf((size_t)(ta ? K : M) * lda, 1), *B = randf((size_t)(tb ? N : K) * ldb, 1);
                float *C1 = randf((size_t)M * ldc, 1), *C2 = malloc((size_t)M * ldc * sizeof(float));
                float *C3 = malloc((size_t)M * ldc * sizeof(float));
                memcpy(C2, C1, (size_t)M * ldc * sizeof(float));
                memcpy(C3, C1, (size_t)M * ldc * sizeof(float));
                gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C1, ldc);
                gemm_ref(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C2, ldc);
OMP(parallel num_threads(2))
                {
                    if (thread_index() == 0) gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C3, ldc);
                }
                int pads_kept = 1;
                for (int i = 0; i < M; i++)
                    for (int j = N; j < ldc; j++) pads_kept &= C1[(size_t)i * ldc + j] == C2[(size_t)i * ldc + j];
                double e = test_nerr(C1, C2, (size_t)M * ldc), e3 = test_nerr(C3, C2, (size_t)M * ldc);
                CHECK(e <= 1e-6 && e3 <= 1e-6 && pads_kept, "strided gemm ta=%d tb=%d beta %g, %d threads: %.3g, in a parallel region %.3g",
                      ta, tb, (double)beta, threads_get(), e, e3);
                free(A), free(B), free(C1), free(C2), free(C3);
            }
    }
    threads_set(nth);
    int K = 24, N = 16;
    float *A = randf((size_t)200 * K, 1), *B = randf((size_t)N * K, 1);
    float *first = malloc((size_t)200 * N * sizeof(float)), *C = malloc((size_t)200 * N * sizeof(float));
    gemm(0, 1, 1, N, K, 1.0f, A, K, B, K, 0.0f, first, N);
    for (int M = 2; M <= 200; M++) gemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
    gemm(0, 1, 1, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
    CHECK(memcmp(first, C, (size_t)N * sizeof(float)) == 0, "gemm after 200 shapes: the same product, the same bits");
    free(A), free(B), free(first), free(C);
}

// bf16 inputs, fp32 accumulation: oneDNN (where built), the dispatcher and
// its plain twin against gemm_ref on the same (rounded) inputs, where every
// product is exact in fp32.
static void test_gemm_bf16(void) {
    int M = 70, N = 48, K = 300;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            float *A = randf((size_t)M * K, 1), *B = randf((size_t)K * N, 1), *C1 = randf((size_t)M * N, 1);
            float *C2 = malloc((size_t)M * N * sizeof(float)), *C0 = malloc((size_t)M * N * sizeof(float));
            float *C3 = malloc((size_t)M * N * sizeof(float)), *C4 = malloc((size_t)M * N * sizeof(float));
            uint16_t *Ah = malloc((size_t)M * K * 2), *Bh = malloc((size_t)K * N * 2);
            for (int i = 0; i < M * K; i++) Ah[i] = bf16_of(A[i]), A[i] = bf16_to_f32(Ah[i]);
            for (int i = 0; i < K * N; i++) Bh[i] = bf16_of(B[i]), B[i] = bf16_to_f32(Bh[i]);
            memcpy(C0, C1, (size_t)M * N * sizeof(float));
            memcpy(C2, C1, (size_t)M * N * sizeof(float));
            memcpy(C3, C1, (size_t)M * N * sizeof(float));
            memcpy(C4, C1, (size_t)M * N * sizeof(float));
            int lda = ta ? M : K, ldb = tb ? K : N;
#ifdef AHA_DNNL
            int rc = dnnl_mm_gemm_bf16(ta, tb, M, N, K, 0.7f, Ah, lda, Bh, ldb, 1.0f, C1, N);
            CHECK(rc == 0, "oneDNN bf16 gemm ta=%d tb=%d: rc %d", ta, tb, rc);
#else
            gemm_bf16_ref(ta, tb, M, N, K, 0.7f, Ah, lda, Bh, ldb, 1.0f, C1, N);
#endif
            gemm_ref(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 1.0f, C2, N);
            gemm_bf16(ta, tb, M, N, K, 0.7f, Ah, lda, Bh, ldb, 1.0f, C3, N);
            gemm_bf16_ref(ta, tb, M, N, K, 0.7f, Ah, lda, Bh, ldb, 1.0f, C4, N);
            double e = test_nerr(C1, C2, (size_t)M * N), e3 = test_nerr(C3, C2, (size_t)M * N);
            double e4 = test_nerr(C4, C2, (size_t)M * N);
            CHECK(e <= 1e-6 && e3 <= 1e-6 && e4 <= 1e-6, "bf16 gemm ta=%d tb=%d: %.3g %.3g %.3g", ta, tb, e, e3, e4);
            free(A), free(B), free(C0), free(C1), free(C2), free(C3), free(C4), free(Ah), free(Bh);
        }
    // rounding: to nearest, ties to even, as safetensors' bf16 writer does
    float xs[] = {1.0f, 1.00390625f, 1.01171875f, -3.14159f, 1e-30f, 65504.0f, 3.4e38f};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        CHECK(bf16_of(xs[i]) == safetensors_f32_to_bf16(xs[i]), "bf16_of(%g)", (double)xs[i]);
    CHECK(bf16_of(1.00390625f) == 0x3f80 && bf16_of(1.01171875f) == 0x3f82, "ties to even");
    float r[3] = {1.00390625f, 1.01171875f, -2.0f};
    bf16_round_f32(r, 3);
    CHECK(r[0] == 1.0f && r[1] == 1.015625f && r[2] == -2.0f, "bf16_round_f32");
}

// Decode's bf16 matmul (vdpbf16ps, where the build has it) against
// gemm_bf16_ref on the rounded operands, at odd and even widths and ragged
// panels; a row computed alone equals the same row among 37, bit for bit.
static void test_rowmm_bf16(void) {
    if (!rowmm_bf16) {
        printf("rowmm bf16: this build has no AVX512_BF16 kernel (callers round and use the fp32 one)\n");
        return;
    }
    int Cs[] = {1, 7, 64, 129}, OCs[] = {5, 32, 70}, N = 37;
    for (int ci = 0; ci < 4; ci++)
        for (int oi = 0; oi < 3; oi++) {
            int C = Cs[ci], OC = OCs[oi];
            float *W = randf((size_t)OC * C, 1), *X = randf((size_t)N * C, 1), *bias = randf((size_t)OC, 1);
            float *out = malloc(sizeof(float) * N * OC), *ref = malloc(sizeof(float) * N * OC), *one = malloc(sizeof(float) * OC);
            uint16_t *pk = malloc(rowmm_packed16_halfs(C, OC) * 2), *x16 = malloc(rowmm_x16_halfs(N, C) * 2);
            uint16_t *Wh = malloc((size_t)OC * C * 2), *Xh = malloc((size_t)N * C * 2);
            rowmm_pack16(pk, W, C, OC);
            RowmmJob job = {out, NULL, bias, OC, pk};
            rowmm_forward_jobs16(&job, 1, X, x16, N, C);
            bf16_from_f32(Wh, W, OC, C, C);
            bf16_from_f32(Xh, X, N, C, C);
            for (int n = 0; n < N; n++) memcpy(ref + (size_t)n * OC, bias, sizeof(float) * OC);
            gemm_bf16_ref(0, 1, N, OC, C, 1.0f, Xh, C, Wh, C, 1.0f, ref, OC);
            double e = test_nerr(out, ref, (size_t)N * OC);
            CHECK(e <= 1e-6, "rowmm bf16 C %d OC %d: error %.3g", C, OC, e);
            int rows[] = {0, 17, 36}, same = 1;
            for (int i = 0; i < 3; i++) {
                RowmmJob j1 = {one, NULL, bias, OC, pk};
                rowmm_forward_jobs16(&j1, 1, X + (size_t)rows[i] * C, x16, 1, C);
                same &= memcmp(one, out + (size_t)rows[i] * OC, sizeof(float) * OC) == 0;
            }
            CHECK(same, "rowmm bf16 C %d OC %d: a row alone differs from the same row among %d", C, OC, N);
            free(W), free(X), free(bias), free(out), free(ref), free(one), free(pk), free(x16), free(Wh), free(Xh);
        }
}

static void test_attention_vs_ref(void) {
    // the fast kernel works in blocks of 32 query rows: one block, exactly one,
    // one row past it, several with a ragged last block; at three head dims
    // (whole vectors, a ragged last vector, and the common 64)
    int Ts[] = {1, 5, 32, 33, 64, 100}, HDs[] = {16, 20, 64};
    for (size_t s = 0; s < 3 * sizeof Ts / sizeof Ts[0]; s++) {
        int T = Ts[s % 6], HD = HDs[s / 6], ldq = 3 * HD, ldkv = 2 * HD;   // strided, as inside a layer
        float *q = randf((size_t)T * ldq, 1), *k = randf((size_t)T * ldkv, 1), *v = randf((size_t)T * ldkv, 1);
        float *o1 = zerosf((size_t)T * ldq), *o2 = zerosf((size_t)T * ldq), *l1 = zerosf(T), *l2 = zerosf(T);
        float *scratch = zerosf(attention_scratch_floats(T)), *dout = randf((size_t)T * ldq, 1);
        attention_forward(o1, l1, q, k, v, T, HD, ldq, ldkv, scratch);
        attention_forward_ref(o2, l2, q, k, v, T, HD, ldq, ldkv);
        CHECK(test_nerr(o1, o2, (size_t)T * ldq) <= 1e-6 && test_nerr(l1, l2, T) <= 1e-5, "attention T=%d HD=%d forward: %.3g %.3g", T, HD, test_nerr(o1, o2, (size_t)T * ldq), test_nerr(l1, l2, T));
        float *g1[3], *g2[3];
        size_t sz[3] = {(size_t)T * ldq, (size_t)T * ldkv, (size_t)T * ldkv};
        for (int i = 0; i < 3; i++) g1[i] = zerosf(sz[i]), g2[i] = zerosf(sz[i]);
        attention_backward(g1[0], g1[1], g1[2], dout, q, k, v, l1, T, HD, ldq, ldkv, scratch);
        attention_backward_ref(g2[0], g2[1], g2[2], dout, q, k, v, l2, T, HD, ldq, ldkv);
        for (int i = 0; i < 3; i++) {
            CHECK(test_nerr(g1[i], g2[i], sz[i]) <= 1e-5, "attention T=%d HD=%d backward %d: %.3g", T, HD, i, test_nerr(g1[i], g2[i], sz[i]));
        }
        // columns outside this head's stride slot are untouched
        CHECK(o1[HD] == 0.0f && o1[2 * HD] == 0.0f, "attention wrote outside its head");
        int outside = 0;
        for (int t = 0; t < T; t++)
            for (int c = HD; c < 2 * HD; c++)
                outside += g1[0][(size_t)t * ldq + c] != 0.0f || g1[1][(size_t)t * ldkv + c] != 0.0f || g1[2][(size_t)t * ldkv + c] != 0.0f;
        CHECK(outside == 0, "attention backward wrote outside its head (%d values)", outside);
        for (int i = 0; i < 3; i++) free(g1[i]), free(g2[i]);
        free(q), free(k), free(v), free(o1), free(o2), free(l1), free(l2), free(scratch), free(dout);
    }
}

static void test_head_vs_ref(void) {
    int sizes[][3] = {{1, 4, 3}, {9, 13, 70}, {40, 24, 257}};
    for (int s = 0; s < 3; s++) {
        int M = sizes[s][0], C = sizes[s][1], V = sizes[s][2];
        float *h = randf((size_t)M * C, 1), *w = randf((size_t)V * C, 0.5f), *g = randf(M, 1);
        int *y = malloc(M * sizeof(int));
        for (int m = 0; m < M; m++) y[m] = m % 5 == 4 ? -1 : (int)rng_below(&rng, V);
        for (int m = 0; m < M; m++) if (y[m] < 0) g[m] = 0;
        float *lp1 = zerosf(M), *lp2 = zerosf(M), *e1 = zerosf(M), *e2 = zerosf(M), *s1 = zerosf(M), *s2 = zerosf(M);
        float *logits = zerosf((size_t)M * V);
        head_forward(lp1, e1, s1, logits, h, w, y, M, C, V, 1.3f);
        head_forward_ref(lp2, e2, s2, logits, h, w, y, M, C, V, 1.3f);
        CHECK(test_nerr(lp1, lp2, M) <= 1e-6 && test_nerr(e1, e2, M) <= 1e-6 && test_nerr(s1, s2, M) <= 1e-6, "head M=%d V=%d forward", M, V);
        float *dh1 = zerosf((size_t)M * C), *dh2 = zerosf((size_t)M * C), *dw1 = zerosf((size_t)V * C), *dw2 = zerosf((size_t)V * C);
        head_backward(dh1, dw1, logits, g, h, w, y, s1, M, C, V, 1.3f);
        head_backward_ref(dh2, dw2, logits, g, h, w, y, s2, M, C, V, 1.3f);
        CHECK(test_nerr(dh1, dh2, (size_t)M * C) <= 1e-5 && test_nerr(dw1, dw2, (size_t)V * C) <= 1e-5, "head M=%d V=%d backward", M, V);
        // entropy against its definition in double
        for (int m = 0; m < M; m++) {
            if (y[m] < 0) {
                CHECK(lp1[m] == 0.0f && e1[m] == 0.0f, "no-target row not zero");
                continue;
            }
            double z[300], mx = -1e300, sum = 0, H = 0;
            for (int v = 0; v < V; v++) {
                z[v] = 0;
                for (int c = 0; c < C; c++) z[v] += (double)h[m * C + c] * w[v * C + c];
                z[v] *= 1.3;   // inv_temp
                mx = fmax(mx, z[v]);
            }
            for (int v = 0; v < V; v++) sum += exp(z[v] - mx);
            for (int v = 0; v < V; v++) {
                double p = exp(z[v] - mx) / sum;
                H -= p * log(p);
            }
            CHECK_CLOSE(e1[m], H, 1e-5, 1e-3);
            CHECK_CLOSE(lp1[m], z[y[m]] - mx - log(sum), 1e-5, 1e-3);
        }
        free(h), free(w), free(g), free(y), free(lp1), free(lp2), free(e1), free(e2), free(s1), free(s2), free(logits);
        free(dh1), free(dh2), free(dw1), free(dw2);
    }
}

// ---------------------------------------------------------------- finite differences

static void test_fd(void) {
    // matmul
    {
        int N = 4, C = 6, OC = 5;
        float *x = randf(N * C, 1), *w = randf(OC * C, 1), *b = randf(OC, 1), *wl = randf(N * OC, 1);
        float *dx = zerosf(N * C), *dw = zerosf(OC * C), *db = zerosf(OC);
        matmul_backward(dx, dw, db, wl, x, w, N, C, OC);
        Ctx c = {.N = N, .C = C, .OC = OC, .x = dcopy(x, N * C), .w = dcopy(w, OC * C), .b = dcopy(b, OC), .wl = dcopy(wl, N * OC)};
        check_fd("matmul dinp", loss_matmul, &c, c.x, dx, N * C);
        check_fd("matmul dweight", loss_matmul, &c, c.w, dw, OC * C);
        check_fd("matmul dbias", loss_matmul, &c, c.b, db, OC);
        // forward against the double twin's value
        float *out = zerosf(N * OC);
        matmul_forward(out, x, w, b, N, C, OC);
        double L = 0;
        for (int i = 0; i < N * OC; i++) L += (double)wl[i] * out[i];
        CHECK_CLOSE(L, loss_matmul(&c), 1e-5, 1.0);
        free(x), free(w), free(b), free(wl), free(dx), free(dw), free(db), free(out), free(c.x), free(c.w), free(c.b), free(c.wl);
    }
    // rmsnorm (dinp accumulates: start from a known value and subtract it)
    {
        int N = 3, C = 7;
        float *x = randf(N * C, 1), *w = randf(C, 1), *wl = randf(N * C, 1), *out = zerosf(N * C), *r = zerosf(N);
        float *dx = zerosf(N * C), *dw = zerosf(C);
        rmsnorm_forward(out, r, x, w, N, C, 1e-5f);
        rmsnorm_backward(dx, dw, wl, x, w, r, N, C);
        Ctx c = {.N = N, .C = C, .x = dcopy(x, N * C), .w = dcopy(w, C), .wl = dcopy(wl, N * C)};
        check_fd("rmsnorm dinp", loss_rmsnorm, &c, c.x, dx, N * C);
        check_fd("rmsnorm dweight", loss_rmsnorm, &c, c.w, dw, C);
        double L = 0;
        for (int i = 0; i < N * C; i++) L += (double)wl[i] * out[i];
        CHECK_CLOSE(L, loss_rmsnorm(&c), 1e-5, 1.0);
        free(x), free(w), free(wl), free(out), free(r), free(dx), free(dw), free(c.x), free(c.w), free(c.wl);
    }
    // rope
    {
        int N = 3, H = 2, HD = 8, pos[3] = {0, 5, 31};
        float cs[32 * 4], sn[32 * 4];
        rope_table(cs, sn, 32, HD, 10000.0);
        float *x = randf(N * H * HD, 1), *wl = randf(N * H * HD, 1), *y = malloc(N * H * HD * sizeof(float));
        float *dx = malloc(N * H * HD * sizeof(float));
        memcpy(y, x, N * H * HD * sizeof(float));
        memcpy(dx, wl, N * H * HD * sizeof(float));
        rope_forward(y, pos, cs, sn, N, H, HD);
        rope_backward(dx, pos, cs, sn, N, H, HD);
        Ctx c = {.N = N, .H = H, .HD = HD, .pos = pos, .x = dcopy(x, N * H * HD), .wl = dcopy(wl, N * H * HD)};
        check_fd("rope dx", loss_rope, &c, c.x, dx, N * H * HD);
        double L = 0;
        for (int i = 0; i < N * H * HD; i++) L += (double)wl[i] * y[i];
        CHECK_CLOSE(L, loss_rope(&c), 1e-5, 1.0);
        free(x), free(wl), free(y), free(dx), free(c.x), free(c.wl);
    }
    // swiglu
    {
        int n = 17;
        float *g = randf(n, 2), *u = randf(n, 1), *wl = randf(n, 1), *out = zerosf(n), *dg = zerosf(n), *du = zerosf(n);
        float *out2 = zerosf(n), *dg2 = zerosf(n), *du2 = zerosf(n);
        swiglu_forward(out, g, u, n);
        swiglu_backward(dg, du, NULL, wl, g, u, n);
        // the recomputing variant: the same gradients, and the forward bit for bit
        swiglu_backward(dg2, du2, out2, wl, g, u, n);
        CHECK(!memcmp(out, out2, n * sizeof(float)) && !memcmp(dg, dg2, n * sizeof(float)) && !memcmp(du, du2, n * sizeof(float)),
              "swiglu_backward with out differs");
        free(out2), free(dg2), free(du2);
        Ctx c = {.N = n, .x = dcopy(g, n), .u = dcopy(u, n), .wl = dcopy(wl, n)};
        check_fd("swiglu dgate", loss_swiglu, &c, c.x, dg, n);
        check_fd("swiglu dup", loss_swiglu, &c, c.u, du, n);
        double L = 0;
        for (int i = 0; i < n; i++) L += (double)wl[i] * out[i];
        CHECK_CLOSE(L, loss_swiglu(&c), 1e-5, 1.0);
        free(g), free(u), free(wl), free(out), free(dg), free(du), free(c.x), free(c.u), free(c.wl);
    }
    // attention (fast kernel and its twin both against finite differences),
    // T = 40: two query blocks, the second ragged
    {
        int T = 40, HD = 6;
        size_t n = (size_t)T * HD;
        float *q = randf(n, 1), *k = randf(n, 1), *v = randf(n, 1), *wl = randf(n, 1);
        float *o = zerosf(n), *l = zerosf(T), *scratch = zerosf(attention_scratch_floats(T));
        float *dq = zerosf(n), *dk = zerosf(n), *dv = zerosf(n), *rq = zerosf(n), *rk = zerosf(n), *rv = zerosf(n);
        attention_forward(o, l, q, k, v, T, HD, HD, HD, scratch);
        attention_backward(dq, dk, dv, wl, q, k, v, l, T, HD, HD, HD, scratch);
        attention_backward_ref(rq, rk, rv, wl, q, k, v, l, T, HD, HD, HD);
        Ctx c = {.T = T, .HD = HD, .x = dcopy(q, n), .w = dcopy(k, n), .u = dcopy(v, n), .wl = dcopy(wl, n)};
        check_fd("attention dq", loss_attention, &c, c.x, dq, n);
        check_fd("attention dk", loss_attention, &c, c.w, dk, n);
        check_fd("attention dv", loss_attention, &c, c.u, dv, n);
        check_fd("attention_ref dq", loss_attention, &c, c.x, rq, n);
        check_fd("attention_ref dk", loss_attention, &c, c.w, rk, n);
        check_fd("attention_ref dv", loss_attention, &c, c.u, rv, n);
        double L = 0;
        for (size_t i = 0; i < n; i++) L += (double)wl[i] * o[i];
        CHECK_CLOSE(L, loss_attention(&c), 1e-5, 1.0);
        free(q), free(k), free(v), free(wl), free(o), free(l), free(scratch), free(dq), free(dk), free(dv);
        free(rq), free(rk), free(rv), free(c.x), free(c.w), free(c.u), free(c.wl);
    }
    // fused head at temperature 0.6, one row without a target
    {
        int M = 5, C = 7, V = 23;
        float *h = randf(M * C, 1), *w = randf(V * C, 1), *g = randf(M, 1);
        Ctx c = {.N = M, .C = C, .V = V, .inv_temp = 1.0 / 0.6};
        for (int m = 0; m < M; m++) c.y[m] = m == 2 ? -1 : (int)rng_below(&rng, V);
        g[2] = 0;
        float *lp = zerosf(M), *lse = zerosf(M), *logits = zerosf(M * V), *dh = zerosf(M * C), *dw = zerosf(V * C);
        head_forward(lp, NULL, lse, logits, h, w, c.y, M, C, V, (float)c.inv_temp);
        head_backward(dh, dw, logits, g, h, w, c.y, lse, M, C, V, (float)c.inv_temp);
        c.x = dcopy(h, M * C), c.w = dcopy(w, V * C), c.wl = dcopy(g, M);
        check_fd("head dh", loss_head, &c, c.x, dh, M * C);
        check_fd("head dw", loss_head, &c, c.w, dw, V * C);
        double L = 0;
        for (int m = 0; m < M; m++) L += (double)g[m] * lp[m];
        CHECK_CLOSE(L, loss_head(&c), 1e-5, 1.0);
        free(h), free(w), free(g), free(lp), free(lse), free(logits), free(dh), free(dw), free(c.x), free(c.w), free(c.wl);
    }
}

// vexp within 2 ulp of e^x (computed in double) on a sweep of [-87.3, 88.3]
// and at the edges: 0 below the range, finite and huge above it, NaN for NaN.
static void test_vexp(void) {
    double worst = 0;
    float at = 0;
    for (float x = -87.3f; x < 88.3f; x += 0.000917f) {
        double e = exp((double)x), ulp = nextafterf((float)e, INFINITY) - (float)e;
        double err = fabs((double)vexp(x) - e) / ulp;
        if (err > worst) worst = err, at = x;
    }
    CHECK(worst <= 2.0, "vexp is %.2f ulp off at %g", worst, (double)at);
    CHECK(vexp(0.0f) == 1.0f && vexp(-88.0f) == 0.0f && vexp(-1e30f) == 0.0f);
    CHECK(isfinite(vexp(89.0f)) && vexp(89.0f) > 1e38f && vexp(1e30f) > 1e38f);
    // NaN in, NaN out, with no undefined shift on the way (UBSan aborts on one).
    CHECK(isnan(vexp(NAN)) && isnan(vexp(-NAN)));
    printf("vexp: worst %.2f ulp against exp in double (at %g)\n", worst, (double)at);
}

int main(void) {
    test_vexp();
    rng_init(&rng, 11);
    test_gemm_vs_ref();
    test_gemm_strided();
    test_gemm_bf16();
    test_rowmm_bf16();
    test_attention_vs_ref();
    test_head_vs_ref();
    test_fd();
    return TEST_END();
}
