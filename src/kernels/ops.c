// Matmul, RMSNorm, RoPE and SwiGLU kernels, forward and backward. Matmul goes
// to oneDNN under AHA_DNNL, else to OpenBLAS sgemm under AHA_BLAS; every other
// loop is plain C with OpenMP over independent outputs, so results do not
// depend on the thread count.
#include "kernels/ops.h"
#include "base/sys.h"
#include "kernels/dnnl_mm.h"
#include "kernels/omp.h"
#include "kernels/vexp.h"

#include <math.h>
#include <string.h>

#ifdef AHA_BLAS
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

// ---------------------------------------------------------------- gemm

void gemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *Cm, int ldc) {
OMP(parallel for schedule(static) if (M >= 64))
    for (int i = 0; i < M; i++) {
        float *c = Cm + (size_t)i * ldc;
        for (int j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        for (int kk = 0; kk < K; kk++) {
            float a = alpha * (ta ? A[(size_t)kk * lda + i] : A[(size_t)i * lda + kk]);
            if (tb) {
                for (int j = 0; j < N; j++) c[j] += a * B[(size_t)j * ldb + kk];
            } else {
                const float *b = B + (size_t)kk * ldb;
OMP(simd)
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            }
        }
    }
}

#ifdef AHA_BLAS
static void sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *Cm, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc);
}
#endif

static double count_s, count_flops;   // written outside parallel regions only

void gemm_counters(double *seconds, double *flops) {
    *seconds = count_s;
    *flops = count_flops;
}

static int counting(void) {
#ifdef _OPENMP
    return !omp_in_parallel();
#else
    return 1;
#endif
}

static void count(double t0, int M, int N, int K) {
    count_s += time_now() - t0;
    count_flops += 2.0 * M * N * K;
}

static void gemm_run(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *Cm, int ldc);

void gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *Cm, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (!counting()) {
        gemm_run(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc);
        return;
    }
    double t0 = time_now();
    gemm_run(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc);
    count(t0, M, N, K);
}

static void gemm_run(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *Cm, int ldc) {
#ifdef AHA_DNNL
    // oneDNN threads inside the product; in a parallel region it declines
    // and the caller's thread runs the product below.
    if (dnnl_mm_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc) == 0) return;
#endif
#ifdef AHA_BLAS
#ifdef _OPENMP
    // Tall products (the per-token matmuls): each thread takes a band of rows of
    // Cm and runs the single-threaded sgemm on it, with no synchronisation
    // inside the product as OpenBLAS's own split has.
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (!ta && nt > 1 && M >= 256 * nt) {
        int band = ((M + nt - 1) / nt + 15) / 16 * 16;
OMP(parallel num_threads(nt))
        {
            int m0 = omp_get_thread_num() * band, m1 = m0 + band < M ? m0 + band : M;
            if (m0 < m1) sgemm(0, tb, m1 - m0, N, K, alpha, A + (size_t)m0 * lda, lda, B, ldb, beta, Cm + (size_t)m0 * ldc, ldc);
        }
        return;
    }
#endif
    sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc);
#else
    gemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc);
#endif
}

// ---------------------------------------------------------------- bf16

void bf16_from_f32(uint16_t *dst, const float *src, int rows, int cols, int ld) {
OMP(parallel for schedule(static) if ((long)rows * cols >= 65536))
    for (int r = 0; r < rows; r++) {
        const float *s = src + (size_t)r * ld;
        uint16_t *d = dst + (size_t)r * cols;
OMP(simd)
        for (int c = 0; c < cols; c++) d[c] = bf16_of(s[c]);
    }
}

void bf16_round_f32(float *x, size_t n) {
OMP(parallel for simd schedule(static) if (parallel: n >= 65536))
    for (size_t i = 0; i < n; i++) x[i] = bf16_to_f32(bf16_of(x[i]));
}

void gemm_bf16_ref(int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *Cm, int ldc) {
OMP(parallel for schedule(static) if (M >= 64))
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0.0f;
            for (int kk = 0; kk < K; kk++) {
                float a = bf16_to_f32(ta ? A[(size_t)kk * lda + i] : A[(size_t)i * lda + kk]);
                float b = bf16_to_f32(tb ? B[(size_t)j * ldb + kk] : B[(size_t)kk * ldb + j]);
                s += a * b;
            }
            float *c = Cm + (size_t)i * ldc + j;
            *c = alpha * s + (beta == 0.0f ? 0.0f : beta * *c);
        }
}

void gemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *Cm, int ldc) {
    if (M <= 0 || N <= 0) return;
    double t0 = time_now();
    int ok = 0;
#ifdef AHA_DNNL
    ok = dnnl_mm_gemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc) == 0;
#endif
    if (!ok) gemm_bf16_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cm, ldc);
    if (counting()) count(t0, M, N, K);
}

// ---------------------------------------------------------------- matmul

void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC) {
    // out = bias broadcast, then out += inp · weightᵀ (beta = 1)
    float beta = 0.0f;
    if (bias) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    gemm(0, 1, N, OC, C, 1.0f, inp, C, weight, C, beta, out, OC);
}

void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int N, int C, int OC) {
    // dinp (N, C) += dout (N, OC) · weight (OC, C)
    if (dinp) gemm(0, 0, N, C, OC, 1.0f, dout, OC, weight, C, 1.0f, dinp, C);
    // dweight (OC, C) += doutᵀ (OC, N) · inp (N, C)
    if (dweight) gemm(1, 0, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
    if (dbias) {
        // one thread owns each column, summing rows in order
OMP(parallel for schedule(static) if (OC >= 256))
        for (int o = 0; o < OC; o++) {
            float s = 0.0f;
            for (int n = 0; n < N; n++) s += dout[(size_t)n * OC + o];
            dbias[o] += s;
        }
    }
}

// ---------------------------------------------------------------- rmsnorm

// y = x · r · w with r = (mean(x²) + eps)^(-1/2)
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C, float eps) {
OMP(parallel for schedule(static) if (N >= 16))
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float ss = 0.0f;
OMP(simd reduction(+:ss))
        for (int c = 0; c < C; c++) ss += x[c] * x[c];
        float r = 1.0f / sqrtf(ss / (float)C + eps);
OMP(simd)
        for (int c = 0; c < C; c++) y[c] = x[c] * r * weight[c];
        if (rstd) rstd[n] = r;
    }
}

// dw_c += Σ_n dy_c · x_c · r
// dx_c += r · w_c · dy_c − r³/C · x_c · Σ_j dy_j · w_j · x_j
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight, const float *rstd, int N, int C) {
OMP(parallel for schedule(static) if (N >= 16))
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float r = rstd[n];
        float dot = 0.0f;
OMP(simd reduction(+:dot))
        for (int c = 0; c < C; c++) dot += dy[c] * weight[c] * x[c];
        float k = r * r * r * dot / (float)C;
OMP(simd)
        for (int c = 0; c < C; c++) dx[c] += r * weight[c] * dy[c] - k * x[c];
    }
    if (!dweight) return;
    // columns in blocks so each thread owns whole columns and rows add in order
    enum { CB = 64 };
    int nb = (C + CB - 1) / CB;
OMP(parallel for schedule(static) if (N >= 16))
    for (int b = 0; b < nb; b++) {
        int c0 = b * CB, c1 = c0 + CB < C ? c0 + CB : C;
        float acc[CB] = {0};
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
            float r = rstd[n];
OMP(simd)
            for (int c = c0; c < c1; c++) acc[c - c0] += dy[c] * x[c] * r;
        }
        for (int c = c0; c < c1; c++) dweight[c] += acc[c - c0];
    }
}

// ---------------------------------------------------------------- rope

// angle(p, i) = p · inv_freq[i], computed in double then rounded once
void rope_table_freq(float *cos_tab, float *sin_tab, int max_pos, int HD, const double *inv_freq) {
    int half = HD / 2;
    for (int p = 0; p < max_pos; p++)
        for (int i = 0; i < half; i++) {
            double a = (double)p * inv_freq[i];
            cos_tab[(size_t)p * half + i] = (float)cos(a);
            sin_tab[(size_t)p * half + i] = (float)sin(a);
        }
}

// inv_freq[i] = theta^(−2i/HD)
void rope_table(float *cos_tab, float *sin_tab, int max_pos, int HD, double theta) {
    enum { MAX_HALF = 1024 };
    double inv[MAX_HALF];
    int half = HD / 2 < MAX_HALF ? HD / 2 : MAX_HALF;
    for (int i = 0; i < half; i++) inv[i] = 1.0 / pow(theta, (double)(2 * i) / (double)HD);
    rope_table_freq(cos_tab, sin_tab, max_pos, 2 * half, inv);
}

// (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin) for x1 = x[i], x2 = x[i + HD/2];
// backward applies the transpose: (d1·cos + d2·sin, d2·cos − d1·sin).
static void rope_apply(float *x, const int *pos, const float *cos_tab, const float *sin_tab, int N, int H, int HD, float sign) {
    int half = HD / 2;
OMP(parallel for schedule(static) if (N >= 16))
    for (int n = 0; n < N; n++) {
        const float *cs = cos_tab + (size_t)pos[n] * half, *sn = sin_tab + (size_t)pos[n] * half;
        for (int h = 0; h < H; h++) {
            float *v = x + ((size_t)n * H + h) * HD;
OMP(simd)
            for (int i = 0; i < half; i++) {
                float a = v[i], b = v[i + half], c = cs[i], s = sign * sn[i];
                v[i] = a * c - b * s;
                v[i + half] = b * c + a * s;
            }
        }
    }
}

void rope_forward(float *x, const int *pos, const float *cos_tab, const float *sin_tab, int N, int H, int HD) {
    rope_apply(x, pos, cos_tab, sin_tab, N, H, HD, 1.0f);
}

void rope_backward(float *dx, const int *pos, const float *cos_tab, const float *sin_tab, int N, int H, int HD) {
    rope_apply(dx, pos, cos_tab, sin_tab, N, H, HD, -1.0f);
}

// ---------------------------------------------------------------- swiglu

// out = g · σ(g) · u;  d/dg = u · σ(g) · (1 + g · (1 − σ(g))),  d/du = g · σ(g)
// σ(g) = 1 / (1 + e^−g) through vexp so the loops vectorize; for g < −88.4 e^−g
// saturates at a huge finite value and σ(g) underflows towards 0 as it should.
void swiglu_forward(float *out, const float *gate, const float *up, size_t n) {
OMP(parallel for simd schedule(static) if (parallel: n >= 65536))
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + vexp(-g)) * up[i];
    }
}

// With out, the forward's product is rewritten in the same pass, with
// swiglu_forward's exact arithmetic, for callers that recompute it rather than store it.
void swiglu_backward(float *dgate, float *dup, float *out, const float *dout, const float *gate, const float *up, size_t n) {
    if (out) {
OMP(parallel for simd schedule(static) if (parallel: n >= 65536))
        for (size_t i = 0; i < n; i++) {
            float g = gate[i], e1 = 1.0f + vexp(-g), s = 1.0f / e1;
            out[i] = g / e1 * up[i];
            dgate[i] = dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
            dup[i] = dout[i] * g * s;
        }
        return;
    }
OMP(parallel for simd schedule(static) if (parallel: n >= 65536))
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], s = 1.0f / (1.0f + vexp(-g));
        dgate[i] = dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
        dup[i] = dout[i] * g * s;
    }
}
