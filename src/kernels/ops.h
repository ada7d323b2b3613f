// The compute kernels of the transformer: matmul (oneDNN when built with
// AHA_DNNL, OpenBLAS sgemm with AHA_BLAS, else plain loops), RMSNorm, rotary embedding, SwiGLU, each with
// its backward. Kernels never allocate and never fail; shapes are the caller's job.
#ifndef AHA_KERNELS_OPS_H
#define AHA_KERNELS_OPS_H

#include <stddef.h>
#include <stdint.h>

// Letters: N rows, C input channels, OC output channels, H heads, HD head dim,
// T sequence length.

// Row-major general product: Cm (M, N) = alpha · op(A) · op(B) + beta · Cm, where
// op(A) is (M, K) (A stored (K, M) when ta) and op(B) is (K, N) (B stored (N, K)
// when tb). oneDNN under AHA_DNNL, else OpenBLAS under AHA_BLAS, else gemm_ref
// (the one place that picks the backend). Inside an OpenMP parallel region it
// runs on the calling thread only, on OpenBLAS or gemm_ref.
void gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *Cm, int ldc);
// The plain loops twin of gemm (threads over rows of Cm outside parallel regions).
void gemm_ref(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta, float *Cm, int ldc);

// bf16 is the upper half of an fp32's bits. Rounding is to nearest, ties to
// even (what oneDNN and vcvtneps2bf16 do); NaN stays NaN.
static inline uint16_t bf16_of(float x) {
    union { float f; uint32_t u; } v = {x};
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40u);
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}
static inline float bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v = {(uint32_t)h << 16};
    return v.f;
}
// dst (rows, cols) packed = src (rows, cols) with row stride ld, rounded to bf16.
void bf16_from_f32(uint16_t *dst, const float *src, int rows, int cols, int ld);
// x (n) rounded to bf16 in place (values a bf16 holds exactly, stored as fp32).
void bf16_round_f32(float *x, size_t n);
// gemm with bf16 A and B (strides as gemm's) and fp32 accumulation and Cm: on
// oneDNN when it takes the product, else on gemm_bf16_ref. Products of two bf16
// are exact in fp32, so only the accumulation order differs between the two.
void gemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *Cm, int ldc);
// Seconds and flops (2·M·N·K) of the gemm and gemm_bf16 calls made outside
// OpenMP parallel regions so far (the weight products; benchmarks read them).
void gemm_counters(double *seconds, double *flops);
// The plain loops twin (each element summed over k ascending in fp32).
void gemm_bf16_ref(int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A, int lda, const uint16_t *B, int ldb, float beta, float *Cm, int ldc);

// out (N, OC) = inp (N, C) · weight (OC, C)^T + bias (OC); bias may be NULL.
void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC);
// Accumulates (+=): dinp (N, C) += dout·weight; dweight (OC, C) += doutᵀ·inp; dbias (OC) += Σ_n dout. Any of dinp/dweight/dbias may be NULL.
void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, int N, int C, int OC);
// out = inp / rms(inp) * weight per row; rstd (N) stores 1/rms (may be NULL).
void rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C, float eps);
// Accumulates (+=) into dinp (N, C) and dweight (C) (dweight may be NULL);
// rstd (N) is the one rmsnorm_forward stored.
void rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight, const float *rstd, int N, int C);
// Rotary embedding, Hugging Face rotate_half layout (pairs i and i + HD/2), in place on x (N, H, HD) at positions pos (N); tables (max_pos, HD/2).
void rope_table(float *cos_tab, float *sin_tab, int max_pos, int HD, double theta);
// The same from given inverse frequencies inv_freq (HD/2): angle(p, i) = p · inv_freq[i].
void rope_table_freq(float *cos_tab, float *sin_tab, int max_pos, int HD, const double *inv_freq);
void rope_forward(float *x, const int *pos, const float *cos_tab, const float *sin_tab, int N, int H, int HD);
// In place: turns dL/d(rotated x) in dx (N, H, HD) into dL/dx (the inverse rotation).
void rope_backward(float *dx, const int *pos, const float *cos_tab, const float *sin_tab, int N, int H, int HD);
// out = silu(gate) * up, elementwise over n.
void swiglu_forward(float *out, const float *gate, const float *up, size_t n);
// Overwrites (=) dgate (n) and dup (n); out (n), when not NULL, gets what
// swiglu_forward would write, bit for bit.
void swiglu_backward(float *dgate, float *dup, float *out, const float *dout, const float *gate, const float *up, size_t n);


// Causal attention of one query head against its key/value head over one
// sequence of T tokens. q, out: (T, ·) rows with stride ldq; k, v: stride ldkv;
// lse (T) stores logsumexp of each query's scaled scores; scratch holds
// attention_scratch_floats(T) floats (at most 2·T·T).
//   out_i = Σ_{j≤i} softmax_j(q_i·k_j / √HD) v_j
size_t attention_scratch_floats(int T);
void attention_forward(float *out, float *lse, const float *q, const float *k, const float *v, int T, int HD, int ldq, int ldkv, float *scratch);
// Accumulates (+=) dq (stride ldq), dk, dv (stride ldkv) from dout (stride ldq),
// recomputing the probabilities from q, k and lse; scratch as the forward's.
void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, const float *lse, int T, int HD, int ldq, int ldkv, float *scratch);
// Plain-loop twins (no BLAS, no scratch) used by the tests.
void attention_forward_ref(float *out, float *lse, const float *q, const float *k, const float *v, int T, int HD, int ldq, int ldkv);
void attention_backward_ref(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, const float *lse, int T, int HD, int ldq, int ldkv);

#endif
