// Causal attention for training, one (query head, key/value head) pair of one
// sequence per call: blocks of query rows against the keys they can see, through
// gemm; softmax stats kept as logsumexp so backward recomputes probabilities
// instead of storing (T, T) maps.
#include "kernels/omp.h"
#include "kernels/ops.h"
#include "kernels/vexp.h"

#include <math.h>
#include <string.h>

// Query rows per block. A block of rows [i0, i0 + nq) is scored against keys
// [0, i0 + nq) only, so the work above the diagonal is one (nq, nq) triangle per
// block instead of half of the (T, T) square.
enum { ATT_BQ = 32 };

size_t attention_scratch_floats(int T) {
    size_t rows = T < ATT_BQ ? (size_t)T : ATT_BQ;
    return 2 * rows * (size_t)T;
}

// One row p (nk) of scaled scores of a query that sees keys [0, n): p ← softmax
// over [0, n), 0 on [n, nk); returns the logsumexp of p[0, n).
static float softmax_row(float *p, int n, int nk) {
    float mx = p[0];
OMP(simd reduction(max:mx))
    for (int j = 1; j < n; j++) mx = p[j] > mx ? p[j] : mx;
    float sum = 0.0f;
OMP(simd reduction(+:sum))
    for (int j = 0; j < n; j++) {
        float e = vexp(p[j] - mx);
        p[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
OMP(simd)
    for (int j = 0; j < n; j++) p[j] *= inv;
    for (int j = n; j < nk; j++) p[j] = 0.0f;
    return mx + logf(sum);
}

// The same row from its stored logsumexp l: p_j = e^(p_j − l) on [0, n), 0 after.
static void softmax_row_lse(float *p, float l, int n, int nk) {
OMP(simd)
    for (int j = 0; j < n; j++) p[j] = vexp(p[j] - l);
    for (int j = n; j < nk; j++) p[j] = 0.0f;
}

void attention_forward(float *out, float *lse, const float *q, const float *k, const float *v, int T, int HD, int ldq, int ldkv, float *scratch) {
    float scale = 1.0f / sqrtf((float)HD);
    for (int i0 = 0; i0 < T; i0 += ATT_BQ) {
        int nq = T - i0 < ATT_BQ ? T - i0 : ATT_BQ, nk = i0 + nq;
        float *P = scratch;   // (nq, nk)
        gemm(0, 1, nq, nk, HD, scale, q + (size_t)i0 * ldq, ldq, k, ldkv, 0.0f, P, nk);
        for (int r = 0; r < nq; r++) lse[i0 + r] = softmax_row(P + (size_t)r * nk, i0 + r + 1, nk);
        gemm(0, 0, nq, HD, nk, 1.0f, P, nk, v, ldkv, 0.0f, out + (size_t)i0 * ldq, ldq);
    }
}

// Per block of query rows b and its keys [0, nk):
// dV += P_bᵀ dO_b;  dP = dO_b Vᵀ;  dS_ij = P_ij (dP_ij − Σ_k P_ik dP_ik);
// dQ_b += scale · dS K;  dK += scale · dSᵀ Q_b
void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, const float *lse, int T, int HD, int ldq, int ldkv, float *scratch) {
    float scale = 1.0f / sqrtf((float)HD);
    for (int i0 = 0; i0 < T; i0 += ATT_BQ) {
        int nq = T - i0 < ATT_BQ ? T - i0 : ATT_BQ, nk = i0 + nq;
        float *P = scratch, *dP = scratch + (size_t)nq * nk;   // (nq, nk) each
        const float *qb = q + (size_t)i0 * ldq, *dob = dout + (size_t)i0 * ldq;
        gemm(0, 1, nq, nk, HD, scale, qb, ldq, k, ldkv, 0.0f, P, nk);
        for (int r = 0; r < nq; r++) softmax_row_lse(P + (size_t)r * nk, lse[i0 + r], i0 + r + 1, nk);
        gemm(1, 0, nk, HD, nq, 1.0f, P, nk, dob, ldq, 1.0f, dv, ldkv);
        gemm(0, 1, nq, nk, HD, 1.0f, dob, ldq, v, ldkv, 0.0f, dP, nk);
        for (int r = 0; r < nq; r++) {
            const float *p = P + (size_t)r * nk;
            float *d = dP + (size_t)r * nk, s = 0.0f;
OMP(simd reduction(+:s))
            for (int j = 0; j < nk; j++) s += p[j] * d[j];
OMP(simd)
            for (int j = 0; j < nk; j++) d[j] = p[j] * (d[j] - s);   // 0 where p is (above the diagonal)
        }
        gemm(0, 0, nq, HD, nk, scale, dP, nk, k, ldkv, 1.0f, dq + (size_t)i0 * ldq, ldq);
        gemm(1, 0, nk, HD, nq, scale, dP, nk, qb, ldq, 1.0f, dk, ldkv);
    }
}

// ---------------------------------------------------------------- plain twins

static float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

void attention_forward_ref(float *out, float *lse, const float *q, const float *k, const float *v, int T, int HD, int ldq, int ldkv) {
    float scale = 1.0f / sqrtf((float)HD);
    for (int i = 0; i < T; i++) {
        const float *qi = q + (size_t)i * ldq;
        float mx = -INFINITY;
        for (int j = 0; j <= i; j++) mx = fmaxf(mx, scale * dot(qi, k + (size_t)j * ldkv, HD));
        float sum = 0.0f;
        for (int j = 0; j <= i; j++) sum += expf(scale * dot(qi, k + (size_t)j * ldkv, HD) - mx);
        lse[i] = mx + logf(sum);
        float *o = out + (size_t)i * ldq;
        memset(o, 0, (size_t)HD * sizeof(float));
        for (int j = 0; j <= i; j++) {
            float p = expf(scale * dot(qi, k + (size_t)j * ldkv, HD) - lse[i]);
            for (int c = 0; c < HD; c++) o[c] += p * v[(size_t)j * ldkv + c];
        }
    }
}

void attention_backward_ref(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, const float *lse, int T, int HD, int ldq, int ldkv) {
    float scale = 1.0f / sqrtf((float)HD);
    for (int i = 0; i < T; i++) {
        const float *qi = q + (size_t)i * ldq, *doi = dout + (size_t)i * ldq;
        // D_i = Σ_j P_ij (dO_i · v_j)
        float D = 0.0f;
        for (int j = 0; j <= i; j++) {
            float p = expf(scale * dot(qi, k + (size_t)j * ldkv, HD) - lse[i]);
            D += p * dot(doi, v + (size_t)j * ldkv, HD);
        }
        for (int j = 0; j <= i; j++) {
            const float *kj = k + (size_t)j * ldkv, *vj = v + (size_t)j * ldkv;
            float p = expf(scale * dot(qi, kj, HD) - lse[i]);
            float ds = p * (dot(doi, vj, HD) - D);
            for (int c = 0; c < HD; c++) {
                dv[(size_t)j * ldkv + c] += p * doi[c];
                dq[(size_t)i * ldq + c] += scale * ds * kj[c];
                dk[(size_t)j * ldkv + c] += scale * ds * qi[c];
            }
        }
    }
}
