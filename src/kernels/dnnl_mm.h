// The oneDNN backend of gemm (kernels/ops.h), compiled in with AHA_DNNL.
// Row-major Cm (M, N) = alpha · op(A) · op(B) + beta · Cm, as gemm.
#ifndef AHA_KERNELS_DNNL_MM_H
#define AHA_KERNELS_DNNL_MM_H

#include <stdint.h>

// Runs the product on oneDNN and returns 0, or returns -1 having touched
// nothing: inside an OpenMP parallel region (the caller's thread should run
// it alone), or where oneDNN refuses the shape. Call from one thread at a time.
int dnnl_mm_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *Cm, int ldc);
// The same with bf16 A and B (the upper half of an fp32's bits), fp32 accumulation and Cm.
int dnnl_mm_gemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A, int lda, const uint16_t *B,
                      int ldb, float beta, float *Cm, int ldc);
// The name of the oneDNN implementation that runs such a product (e.g.
// "brg:avx512_core"), with bf16 inputs when bf16, or NULL when there is none.
const char *dnnl_mm_impl(int bf16, int ta, int tb, int M, int N, int K, float alpha, int lda, int ldb, float beta,
                         int ldc);

#endif
