// Fused output head: one gemm for a chunk's logits, then per-row log-softmax
// statistics; backward recomputes the chunk's logits (keeping only lse per row)
// and turns them into dz in place. Never sees more than its chunk.
#include "kernels/head.h"
#include "kernels/omp.h"
#include "kernels/ops.h"
#include "kernels/vexp.h"

#include <math.h>
#include <string.h>

// Statistics of one row of logits z (V) at inverse temperature s. The sums
// run in double over vexp terms (vectorized: 4 doubles per step).
static void row_stats(float *logp, float *entropy, float *lse, const float *z, int y, int V, float s) {
    float mx = z[0] * s;
OMP(simd reduction(max:mx))
    for (int v = 1; v < V; v++) {
        float a = z[v] * s;
        mx = a > mx ? a : mx;
    }
    double sum = 0.0, ez = 0.0;   // Σ e^(sz−mx), Σ e^(sz−mx)·(sz−mx)
OMP(simd reduction(+:sum, ez))
    for (int v = 0; v < V; v++) {
        float a = z[v] * s - mx, e = vexp(a);
        sum += e;
        ez += (double)e * a;
    }
    float l = mx + (float)log(sum);
    *lse = l;
    *logp = y >= 0 ? z[y] * s - l : 0.0f;
    // H = lse − E[sz] = log Σ − E[sz − mx]
    if (entropy) *entropy = y >= 0 ? (float)(log(sum) - ez / sum) : 0.0f;
}

// dz_v = g·s·(1[v = y] − e^(s·z_v − lse)), in place on z (V).
static void row_grad(float *z, float g, int y, float lse, int V, float s) {
    if (g == 0.0f || y < 0) {
        memset(z, 0, (size_t)V * sizeof(float));
        return;
    }
    float gs = g * s;
OMP(simd)
    for (int v = 0; v < V; v++) z[v] = -gs * vexp(z[v] * s - lse);
    z[y] += gs;
}

void head_forward(float *logp, float *entropy, float *lse, float *logits, const float *h, const float *w, const int *y, int M, int C, int V, float inv_temp) {
    head_logits(logits, h, w, M, C, V);
    head_stats(logp, entropy, lse, logits, y, M, V, inv_temp);
}

void head_stats(float *logp, float *entropy, float *lse, const float *logits, const int *y, int M, int V, float inv_temp) {
OMP(parallel for schedule(static) if (M >= 8))
    for (int m = 0; m < M; m++)
        row_stats(logp + m, entropy ? entropy + m : NULL, lse + m, logits + (size_t)m * V, y[m], V, inv_temp);
}

void head_dlogits(float *logits, const float *g, const int *y, const float *lse, int M, int V, float inv_temp) {
OMP(parallel for schedule(static) if (M >= 8))
    for (int m = 0; m < M; m++) row_grad(logits + (size_t)m * V, g[m], y[m], lse[m], V, inv_temp);
}

void head_logits(float *logits, const float *h, const float *w, int M, int C, int V) {
    gemm(0, 1, M, V, C, 1.0f, h, C, w, C, 0.0f, logits, V);
}

void head_backward(float *dh, float *dw, float *logits, const float *g, const float *h, const float *w, const int *y, const float *lse, int M, int C, int V, float inv_temp) {
    head_logits(logits, h, w, M, C, V);
    head_backward_logits(dh, dw, logits, g, h, w, y, lse, M, C, V, inv_temp);
}

void head_backward_logits(float *dh, float *dw, float *logits, const float *g, const float *h, const float *w, const int *y, const float *lse, int M, int C, int V, float inv_temp) {
    head_dlogits(logits, g, y, lse, M, V, inv_temp);
    matmul_backward(dh, dw, NULL, logits, h, w, M, C, V);
}

// ---------------------------------------------------------------- plain twins

static void row_logits(float *z, const float *h, const float *w, int C, int V) {
    for (int v = 0; v < V; v++) {
        float a = 0.0f;
        for (int c = 0; c < C; c++) a += h[c] * w[(size_t)v * C + c];
        z[v] = a;
    }
}

void head_forward_ref(float *logp, float *entropy, float *lse, float *logits_row, const float *h, const float *w, const int *y, int M, int C, int V, float inv_temp) {
    for (int m = 0; m < M; m++) {
        row_logits(logits_row, h + (size_t)m * C, w, C, V);
        row_stats(logp + m, entropy ? entropy + m : NULL, lse + m, logits_row, y[m], V, inv_temp);
    }
}

void head_backward_ref(float *dh, float *dw, float *logits_row, const float *g, const float *h, const float *w, const int *y, const float *lse, int M, int C, int V, float inv_temp) {
    for (int m = 0; m < M; m++) {
        const float *hm = h + (size_t)m * C;
        row_logits(logits_row, hm, w, C, V);
        row_grad(logits_row, g[m], y[m], lse[m], V, inv_temp);
        for (int v = 0; v < V; v++) {
            float d = logits_row[v];
            for (int c = 0; c < C; c++) {
                dh[(size_t)m * C + c] += d * w[(size_t)v * C + c];
                dw[(size_t)v * C + c] += d * hm[c];
            }
        }
    }
}
