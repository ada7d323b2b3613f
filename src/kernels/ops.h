// The compute kernels of the transformer: matmul (OpenBLAS sgemm when built
// with AHA_BLAS, else plain loops), RMSNorm, rotary embedding, SwiGLU, each with
// its backward. Kernels never allocate and never fail; shapes are the caller's job.
#ifndef AHA_KERNELS_OPS_H
#define AHA_KERNELS_OPS_H

#include <stddef.h>

// Letters: N rows, C input channels, OC output channels, H heads, HD head dim.

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
void rope_forward(float *x, const int *pos, const float *cos_tab, const float *sin_tab, int N, int H, int HD);
// In place: turns dL/d(rotated x) in dx (N, H, HD) into dL/dx (the inverse rotation).
void rope_backward(float *dx, const int *pos, const float *cos_tab, const float *sin_tab, int N, int H, int HD);
// out = silu(gate) * up, elementwise over n.
void swiglu_forward(float *out, const float *gate, const float *up, size_t n);
// Overwrites (=) dgate (n) and dup (n).
void swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, size_t n);

#endif
