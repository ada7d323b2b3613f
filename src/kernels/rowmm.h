// The decode path's matrix product: out (N, OC) = inp (N, C) · weight (OC, C)ᵀ + bias,
// with every output element accumulated in one fixed order (k = 0..C-1, one
// fused multiply-add chain) that depends on neither N, the thread count, nor
// the element's neighbours: a sampled sequence's numbers are the same alone or
// in any batch. Weight panels are packed per call into caller scratch; no
// allocation. Not for training shapes (decode has N ≤ a few hundred rows).
#ifndef AHA_KERNELS_ROWMM_H
#define AHA_KERNELS_ROWMM_H

#include <stddef.h>
#include <stdint.h>

// Floats of packing scratch rowmm_forward needs per thread for inputs of up to C channels.
size_t rowmm_scratch_floats(int C);
// bias (OC) may be NULL. scratch holds n_threads × rowmm_scratch_floats(C)
// floats; at most n_threads threads split the output panels.
void rowmm_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC,
                   float *scratch, int n_threads);

// Weights packed once into rowmm panels, for when the same weight multiplies
// many calls (a whole generation): packed (rowmm_packed_floats(C, OC)).
size_t rowmm_packed_floats(int C, int OC);
void rowmm_pack(float *packed, const float *weight, int C, int OC);
// As rowmm_forward, from packed weights; bit-identical results.
void rowmm_forward_packed(float *out, const float *inp, const float *packed, const float *bias, int N, int C, int OC);

// Several products of one input in one parallel loop (q/k/v; gate/up):
// job j computes out_j (N, OC_j) = inp · W_jᵀ + bias_j from packed W_j.
typedef struct {
    float *out;
    const float *packed;
    const float *bias;   // may be NULL
    int OC;
    const uint16_t *packed16;   // rowmm_forward_jobs16: rowmm_pack16 panels (packed unused)
} RowmmJob;
void rowmm_forward_jobs(const RowmmJob *jobs, int n_jobs, const float *inp, int N, int C);

// bf16 products on the chip's bf16 dot product (vdpbf16ps; builds for
// AVX512_BF16 only): weights packed once as bf16 in k pairs, inputs rounded
// to bf16 (nearest even) into x16, fp32 accumulation, one fixed order per
// element (k pairs ascending), so a row's numbers still depend on that row
// alone. Elsewhere rowmm_bf16 is 0 and callers round weights and inputs to
// bf16 themselves and use the fp32 kernels (the same products, exact in fp32).
extern const int rowmm_bf16;
// uint16s of one weight (OC, C) packed in bf16 (at most rowmm_packed_floats(C, OC)).
size_t rowmm_packed16_halfs(int C, int OC);
void rowmm_pack16(uint16_t *packed, const float *weight, int C, int OC);
// The same from a weight already in bf16 (OC, C): the same panels as
// rowmm_pack16 of its fp32 values.
void rowmm_pack16_bf16(uint16_t *packed, const uint16_t *w16, int C, int OC);
// uint16s of x16 scratch for N rows of C channels.
size_t rowmm_x16_halfs(int N, int C);
// As rowmm_forward_jobs, from each job's packed16; x16 holds rowmm_x16_halfs(N, C).
void rowmm_forward_jobs16(const RowmmJob *jobs, int n_jobs, const float *inp, uint16_t *x16, int N, int C);

#endif
