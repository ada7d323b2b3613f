// Causal attention for training, one (query head, key/value head) pair of one
// sequence per call: scores and output through gemm, softmax stats kept as
// logsumexp so backward recomputes probabilities instead of storing (T, T) maps.
#include "kernels/ops.h"

#include <math.h>
#include <string.h>

// P (T, T) = scaled scores with row i softmaxed over j ≤ i and zero above the
// diagonal; with lse == NULL the row's logsumexp goes to lse_out.
static void causal_softmax(float *P, float *lse_out, const float *lse, int T) {
    for (int i = 0; i < T; i++) {
        float *p = P + (size_t)i * T;
        float l;
        if (lse) {
            l = lse[i];
        } else {
            float mx = p[0];
            for (int j = 1; j <= i; j++) mx = p[j] > mx ? p[j] : mx;
            float sum = 0.0f;
            for (int j = 0; j <= i; j++) sum += expf(p[j] - mx);
            l = mx + logf(sum);
            lse_out[i] = l;
        }
        for (int j = 0; j <= i; j++) p[j] = expf(p[j] - l);
        for (int j = i + 1; j < T; j++) p[j] = 0.0f;
    }
}

void attention_forward(float *out, float *lse, const float *q, const float *k, const float *v, int T, int HD, int ldq, int ldkv, float *scratch) {
    float scale = 1.0f / sqrtf((float)HD);
    float *P = scratch;   // (T, T)
    gemm(0, 1, T, T, HD, scale, q, ldq, k, ldkv, 0.0f, P, T);
    causal_softmax(P, lse, NULL, T);
    gemm(0, 0, T, HD, T, 1.0f, P, T, v, ldkv, 0.0f, out, ldq);
}

// dV += Pᵀ dO;  dP = dO Vᵀ;  dS_ij = P_ij (dP_ij − Σ_k P_ik dP_ik);
// dQ += scale · dS K;  dK += scale · dSᵀ Q
void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, const float *lse, int T, int HD, int ldq, int ldkv, float *scratch) {
    float scale = 1.0f / sqrtf((float)HD);
    float *P = scratch, *dP = scratch + (size_t)T * T;   // (T, T) each
    gemm(0, 1, T, T, HD, scale, q, ldq, k, ldkv, 0.0f, P, T);
    causal_softmax(P, NULL, lse, T);
    gemm(1, 0, T, HD, T, 1.0f, P, T, dout, ldq, 1.0f, dv, ldkv);
    gemm(0, 1, T, T, HD, 1.0f, dout, ldq, v, ldkv, 0.0f, dP, T);
    for (int i = 0; i < T; i++) {
        float *p = P + (size_t)i * T, *d = dP + (size_t)i * T;
        float s = 0.0f;
        for (int j = 0; j <= i; j++) s += p[j] * d[j];
        for (int j = 0; j <= i; j++) d[j] = p[j] * (d[j] - s);
        for (int j = i + 1; j < T; j++) d[j] = 0.0f;
    }
    gemm(0, 0, T, HD, T, scale, dP, T, k, ldkv, 1.0f, dq, ldq);
    gemm(1, 0, T, HD, T, scale, dP, T, q, ldq, 1.0f, dk, ldkv);
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
