// Matmul, RMSNorm, RoPE and SwiGLU kernels, forward and backward. Matmul goes
// to OpenBLAS sgemm under AHA_BLAS; every other loop is plain C with OpenMP over
// independent outputs, so results do not depend on the thread count.
#include "kernels/ops.h"

#include <math.h>
#include <string.h>

#ifdef AHA_BLAS
#include <cblas.h>
#endif

// ---------------------------------------------------------------- matmul

void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC) {
#ifdef AHA_BLAS
    // out = bias broadcast, then out += inp · weightᵀ (beta = 1)
    float beta = 0.0f;
    if (bias) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, beta, out, OC);
#else
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * OC;
        for (int o = 0; o < OC; o++) {
            const float *w = weight + (size_t)o * C;
            float s = 0.0f;
#pragma omp simd reduction(+ : s)
            for (int c = 0; c < C; c++) s += x[c] * w[c];
            y[o] = s + (bias ? bias[o] : 0.0f);
        }
    }
#endif
}

void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int N, int C, int OC) {
#ifdef AHA_BLAS
    // dinp (N, C) += dout (N, OC) · weight (OC, C)
    if (dinp) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C, 1.0f, dinp, C);
    // dweight (OC, C) += doutᵀ (OC, N) · inp (N, C)
    if (dweight) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
#else
    if (dinp) {
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * OC;
            float *dx = dinp + (size_t)n * C;
            for (int o = 0; o < OC; o++) {
                const float *w = weight + (size_t)o * C;
                float g = d[o];
#pragma omp simd
                for (int c = 0; c < C; c++) dx[c] += g * w[c];
            }
        }
    }
    if (dweight) {
#pragma omp parallel for schedule(static)
        for (int o = 0; o < OC; o++) {
            float *dw = dweight + (size_t)o * C;
            for (int n = 0; n < N; n++) {
                const float *x = inp + (size_t)n * C;
                float g = dout[(size_t)n * OC + o];
#pragma omp simd
                for (int c = 0; c < C; c++) dw[c] += g * x[c];
            }
        }
    }
#endif
    if (dbias) {
        // one thread owns each column, summing rows in order
#pragma omp parallel for schedule(static) if (OC >= 256)
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
#pragma omp parallel for schedule(static) if (N >= 16)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *y = out + (size_t)n * C;
        float ss = 0.0f;
        for (int c = 0; c < C; c++) ss += x[c] * x[c];
        float r = 1.0f / sqrtf(ss / (float)C + eps);
        for (int c = 0; c < C; c++) y[c] = x[c] * r * weight[c];
        if (rstd) rstd[n] = r;
    }
}

// dw_c += Σ_n dy_c · x_c · r
// dx_c += r · w_c · dy_c − r³/C · x_c · Σ_j dy_j · w_j · x_j
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight, const float *rstd, int N, int C) {
#pragma omp parallel for schedule(static) if (N >= 16)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float r = rstd[n];
        float dot = 0.0f;
        for (int c = 0; c < C; c++) dot += dy[c] * weight[c] * x[c];
        float k = r * r * r * dot / (float)C;
        for (int c = 0; c < C; c++) dx[c] += r * weight[c] * dy[c] - k * x[c];
    }
    if (!dweight) return;
    // columns in blocks so each thread owns whole columns and rows add in order
    enum { CB = 64 };
    int nb = (C + CB - 1) / CB;
#pragma omp parallel for schedule(static) if (N >= 16)
    for (int b = 0; b < nb; b++) {
        int c0 = b * CB, c1 = c0 + CB < C ? c0 + CB : C;
        float acc[CB] = {0};
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
            float r = rstd[n];
            for (int c = c0; c < c1; c++) acc[c - c0] += dy[c] * x[c] * r;
        }
        for (int c = c0; c < c1; c++) dweight[c] += acc[c - c0];
    }
}

// ---------------------------------------------------------------- rope

// angle(p, i) = p · theta^(−2i/HD), computed in double then rounded once
void rope_table(float *cos_tab, float *sin_tab, int max_pos, int HD, double theta) {
    int half = HD / 2;
    for (int i = 0; i < half; i++) {
        double inv = 1.0 / pow(theta, (double)(2 * i) / (double)HD);
        for (int p = 0; p < max_pos; p++) {
            double a = (double)p * inv;
            cos_tab[(size_t)p * half + i] = (float)cos(a);
            sin_tab[(size_t)p * half + i] = (float)sin(a);
        }
    }
}

// (x1, x2) → (x1·cos − x2·sin, x2·cos + x1·sin) for x1 = x[i], x2 = x[i + HD/2];
// backward applies the transpose: (d1·cos + d2·sin, d2·cos − d1·sin).
static void rope_apply(float *x, const int *pos, const float *cos_tab, const float *sin_tab, int N, int H, int HD, float sign) {
    int half = HD / 2;
#pragma omp parallel for schedule(static) if (N >= 16)
    for (int n = 0; n < N; n++) {
        const float *cs = cos_tab + (size_t)pos[n] * half, *sn = sin_tab + (size_t)pos[n] * half;
        for (int h = 0; h < H; h++) {
            float *v = x + ((size_t)n * H + h) * HD;
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
void swiglu_forward(float *out, const float *gate, const float *up, size_t n) {
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n) {
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (size_t i = 0; i < n; i++) {
        float g = gate[i], s = 1.0f / (1.0f + expf(-g));
        dgate[i] = dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
        dup[i] = dout[i] * g * s;
    }
}
