// Row-independent matmul for decode: a register tile of RB rows × OB outputs,
// each element a vector accumulator over C (fused multiply-add where the CPU
// has it), reduced by one fixed lane tree, then the scalar tail. Edge tiles
// run the same per-element sequence, so (n, o) is a function of x_n and w_o only.
#include "model/rowmm.h"

#include <stddef.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define VW 16
#define OB 4
typedef __m512 vf;
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
static inline float hsum(vf v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define VW 8
#define OB 2
typedef __m256 vf;
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
static inline float hsum(vf v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}
#else
#define VW 8
#define OB 2
typedef float vf __attribute__((vector_size(VW * sizeof(float))));
#define VZERO() ((vf){0})
static inline vf VLOAD(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
#define VFMA(a, b, c) ((a) * (b) + (c))
static inline float hsum(vf v) {
    float lane[VW];
    memcpy(lane, &v, sizeof v);
    for (int w = VW / 2; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) lane[i] += lane[i + w];
    return lane[0];
}
#endif
#define RB 4   // rows per tile

static inline void finish(float *out, vf acc, const float *x, const float *w, float bias, int C0, int C) {
    float s = hsum(acc);
    for (int k = C0; k < C; k++) s += x[k] * w[k];
    *out = s + bias;
}

// Full RB × OB tile.
static void tile_full(float *out, int ldo, const float *x, const float *w, const float *bias, int C) {
    vf acc[RB][OB];
#pragma GCC unroll 8
    for (int r = 0; r < RB; r++)
#pragma GCC unroll 8
        for (int j = 0; j < OB; j++) acc[r][j] = VZERO();
    int C0 = C - C % VW;
    for (int k = 0; k < C0; k += VW) {
        vf wv[OB];
#pragma GCC unroll 8
        for (int j = 0; j < OB; j++) wv[j] = VLOAD(w + (size_t)j * C + k);
#pragma GCC unroll 8
        for (int r = 0; r < RB; r++) {
            vf xv = VLOAD(x + (size_t)r * C + k);
#pragma GCC unroll 8
        for (int j = 0; j < OB; j++) acc[r][j] = VFMA(xv, wv[j], acc[r][j]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < RB; r++)
#pragma GCC unroll 8
        for (int j = 0; j < OB; j++)
            finish(out + (size_t)r * ldo + j, acc[r][j], x + (size_t)r * C, w + (size_t)j * C, bias ? bias[j] : 0.0f, C0, C);
}

// One element at a time: the same sequence as tile_full for each element.
static void tile_edge(float *out, int ldo, const float *x, const float *w, const float *bias, int nr, int nj, int C) {
    int C0 = C - C % VW;
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < nj; j++) {
            const float *xr = x + (size_t)r * C, *wj = w + (size_t)j * C;
            vf acc = VZERO();
            for (int k = 0; k < C0; k += VW) acc = VFMA(VLOAD(xr + k), VLOAD(wj + k), acc);
            finish(out + (size_t)r * ldo + j, acc, xr, wj, bias ? bias[j] : 0.0f, C0, C);
        }
}

void rowmm_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC) {
    int n_ot = (OC + OB - 1) / OB;
#pragma omp parallel for schedule(static) if ((long)N * OC * C >= 65536)
    for (int ot = 0; ot < n_ot; ot++) {
        int o = ot * OB, nj = OC - o < OB ? OC - o : OB;
        const float *w = weight + (size_t)o * C, *b = bias ? bias + o : NULL;
        for (int n = 0; n < N; n += RB) {
            int nr = N - n < RB ? N - n : RB;
            float *y = out + (size_t)n * OC + o;
            if (nr == RB && nj == OB) tile_full(y, OC, inp + (size_t)n * C, w, b, C);
            else tile_edge(y, OC, inp + (size_t)n * C, w, b, nr, nj, C);
        }
    }
}
