// Float vectors for the hand-blocked kernels (rowmm, decode attention): vf holds
// VW floats of the widest unit the build targets (AVX-512, AVX2+FMA, or GCC's
// generic vectors, which stay correct everywhere). VFMA is fused where the
// hardware has it and a*b+c otherwise.
#ifndef AHA_SIMD_H
#define AHA_SIMD_H

#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define VW 16
typedef __m512 vf;
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VBCAST(p) _mm512_set1_ps(*(p))
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define VW 8
typedef __m256 vf;
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VBCAST(p) _mm256_broadcast_ss(p)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#else
#define VW 8
typedef float vf __attribute__((vector_size(VW * sizeof(float))));
#define VZERO() ((vf){0})
#define VLOAD(p)                     \
    ({                               \
        vf v_;                       \
        memcpy(&v_, (p), sizeof v_); \
        v_;                          \
    })
#define VSTORE(p, v) memcpy(p, &(v), sizeof(vf))
#define VBCAST(p) ((vf){0} + *(p))
#define VFMA(a, b, c) ((a) * (b) + (c))
#endif
#endif
