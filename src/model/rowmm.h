// The decode path's matrix product: out (N, OC) = inp (N, C) · weight (OC, C)ᵀ + bias,
// with every output element summed in one fixed order that depends on neither
// N, the thread count, nor the element's neighbours. A sampled sequence's
// numbers are thus the same alone or in any batch. Not for training shapes
// (no packing, no K blocking): decode has N ≤ a few hundred rows.
#ifndef AHA_ROWMM_H
#define AHA_ROWMM_H

// bias (OC) may be NULL. Threads split the output columns.
void rowmm_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC);

#endif
