// Decode attention kernels: blocked key scores and weighted value sums, one
// query at a time or several sharing each vector load of a prompt prefix.
// Plain pointers and sizes only; the cache layout is the caller's.
#include "kernels/decode_attn.h"

#include <math.h>

#include "kernels/omp.h"
#include "kernels/vexp.h"

#define KV_BLOCK DECODE_ATTN_BLOCK

#ifdef __FMA__
#define MADD(a, b, c) fmaf(a, b, c)
#else
#define MADD(a, b, c) ((a) * (b) + (c))
#endif
enum { HB = 64, NV = HB / VW };   // head-dim entries per output block, vectors per block
// Queries that share one pass over a prompt's keys and values: QG × 2
// accumulators, two key/value vectors and a broadcast fit the register file.
#if VW == 16
#define QG 8
#else
#define QG 4
#endif

// Every score below is one FMA chain per (query, position) over the head
// dimension i ascending, and every output one chain per (query, entry) over
// positions t ascending, from zero: however queries are grouped or blocks
// split, a number comes out the same.

// Scores of NC ≤ 8 key blocks from block b0: blk[t] = q·k_t for the NC·KB
// positions, keys stored (blocks, HD, KB); NC independent FMA chains over i
// hide the latency.
static inline __attribute__((always_inline)) void score_blocks(float *blk, const float *q, const float *K, int b0, int HD,
                                                               const int NC) {
    vf acc[8];
    const float *kb = K + (size_t)b0 * HD * KV_BLOCK;
#pragma GCC unroll 8
    for (int j = 0; j < NC; j++) acc[j] = VZERO();
    for (int i = 0; i < HD; i++) {
        vf a = VBCAST(q + i);
#pragma GCC unroll 8
        for (int j = 0; j < NC; j++) acc[j] = VFMA(a, VLOAD(kb + ((size_t)j * HD + i) * KV_BLOCK), acc[j]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < NC; j++) VSTORE(blk + j * KV_BLOCK, acc[j]);
}

// s_t = scale · q·k_t for t ∈ [t_begin, t_end), a whole key block at a time
// (cache rows are padded to whole blocks), up to 8 blocks per pass.
static void scores(float *s, const float *q, const float *K, int t_begin, int t_end, int HD, float scale) {
    float blk[8 * KV_BLOCK];
    for (int b = t_begin / KV_BLOCK, c = b * KV_BLOCK; c < t_end;) {
        int nc = (t_end - c + KV_BLOCK - 1) / KV_BLOCK;
        nc = nc > 8 ? 8 : nc;
        switch (nc) {
        case 8: score_blocks(blk, q, K, b, HD, 8); break;
        case 7: score_blocks(blk, q, K, b, HD, 7); break;
        case 6: score_blocks(blk, q, K, b, HD, 6); break;
        case 5: score_blocks(blk, q, K, b, HD, 5); break;
        case 4: score_blocks(blk, q, K, b, HD, 4); break;
        case 3: score_blocks(blk, q, K, b, HD, 3); break;
        case 2: score_blocks(blk, q, K, b, HD, 2); break;
        default: score_blocks(blk, q, K, b, HD, 1); break;
        }
        int lo = t_begin > c ? t_begin : c, hi = t_end < c + nc * KV_BLOCK ? t_end : c + nc * KV_BLOCK;
        for (int t = lo; t < hi; t++) s[t] = blk[t - c] * scale;
        b += nc;
        c += nc * KV_BLOCK;
    }
}

// The small product of a shared-prefix pass: for NQ ≤ QG rows x_m,
//   out_m[0 .. NW·VW) = Σ_{k < K} x_m[k] · (y_k, y_k + y2),  y_k = y + k·ystride,
// each y vector loaded once for all rows, one FMA chain per output over k
// ascending. Scores: x queries, y key blocks; outputs: x weights, y values.
static inline __attribute__((always_inline)) void shared_tile(float *const *out, const float *const *x, int K, const float *y,
                                                              size_t ystride, size_t y2, const int NQ, const int NW) {
    vf acc[QG][2];
#pragma GCC unroll 8
    for (int m = 0; m < NQ; m++) acc[m][0] = acc[m][1] = VZERO();
    for (int k = 0; k < K; k++) {
        const float *yk = y + (size_t)k * ystride;
        vf y0 = VLOAD(yk), y1 = NW > 1 ? VLOAD(yk + y2) : VZERO();
#pragma GCC unroll 8
        for (int m = 0; m < NQ; m++) {
            vf a = VBCAST(x[m] + k);
            acc[m][0] = VFMA(a, y0, acc[m][0]);
            if (NW > 1) acc[m][1] = VFMA(a, y1, acc[m][1]);
        }
    }
#pragma GCC unroll 8
    for (int m = 0; m < NQ; m++) {
        VSTORE(out[m], acc[m][0]);
        if (NW > 1) VSTORE(out[m] + VW, acc[m][1]);
    }
}

// shared_tile for n ≤ QG rows and nw ≤ 2 vectors, chosen at run time.
static void shared_pass(float *const *out, const float *const *x, int n, int K, const float *y, size_t ystride, size_t y2,
                        int nw) {
#define SHARED_CASE(NQ)                                                    \
    case NQ:                                                               \
        if (nw == 2) shared_tile(out, x, K, y, ystride, y2, NQ, 2);        \
        else shared_tile(out, x, K, y, ystride, y2, NQ, 1);                \
        break
    switch (n) {
#if QG > 4
        SHARED_CASE(8);
        SHARED_CASE(7);
        SHARED_CASE(6);
        SHARED_CASE(5);
#endif
        SHARED_CASE(4);
        SHARED_CASE(3);
        SHARED_CASE(2);
        SHARED_CASE(1);
    }
#undef SHARED_CASE
}

// s_m[t] = scale · q_m·k_t for t ∈ [0, t_end) and n ≤ QG queries, two key
// blocks (keys stored (blocks, HD, KB)) a pass.
static void scores_shared(float *const *s, const float *const *q, int n, const float *K, int t_end, int HD, float scale) {
    float blk[QG * 2 * KV_BLOCK], *bm[QG];
    for (int m = 0; m < n; m++) bm[m] = blk + m * 2 * KV_BLOCK;
    for (int c = 0; c < t_end; c += 2 * KV_BLOCK) {
        int nb = t_end - c > KV_BLOCK ? 2 : 1, hi = t_end < c + nb * KV_BLOCK ? t_end : c + nb * KV_BLOCK;
        shared_pass(bm, q, n, HD, K + (size_t)c * HD, KV_BLOCK, (size_t)HD * KV_BLOCK, nb);
        for (int m = 0; m < n; m++)
            for (int t = c; t < hi; t++) s[m][t] = bm[m][t - c] * scale;
    }
}

// out (HD) = Σ_t a_t v_t over t ∈ [t0, t1), values stored (T, HD), added onto
// the partial sums already in out when from_out (the chain carried on from
// an earlier range), else from zero; HB outputs at a time in NV vector
// registers, then VW at a time, then one.
static void weighted_values(float *out, const float *a, const float *V, int t0, int t1, int HD, int from_out) {
    int i0 = 0;
    for (; i0 + HB <= HD; i0 += HB) {
        vf acc[NV];
#pragma GCC unroll 16
        for (int j = 0; j < NV; j++) acc[j] = from_out ? VLOAD(out + i0 + j * VW) : VZERO();
        for (int t = t0; t < t1; t++) {
            const float *vr = V + (size_t)t * HD + i0;
            vf w = VBCAST(a + t);
#pragma GCC unroll 16
            for (int j = 0; j < NV; j++) acc[j] = VFMA(w, VLOAD(vr + j * VW), acc[j]);
        }
#pragma GCC unroll 16
        for (int j = 0; j < NV; j++) VSTORE(out + i0 + j * VW, acc[j]);
    }
    for (; i0 + VW <= HD; i0 += VW) {
        vf acc = from_out ? VLOAD(out + i0) : VZERO();
        for (int t = t0; t < t1; t++) acc = VFMA(VBCAST(a + t), VLOAD(V + (size_t)t * HD + i0), acc);
        VSTORE(out + i0, acc);
    }
    for (int i = i0; i < HD; i++) {
        float s = from_out ? out[i] : 0.0f;
        for (int t = t0; t < t1; t++) s = MADD(a[t], V[(size_t)t * HD + i], s);
        out[i] = s;
    }
}

// out_m (HD) = Σ_{t < t1} a_m[t] v_t for n ≤ QG queries, values stored (T, HD).
static void values_shared(float *const *out, const float *const *a, int n, const float *V, int t1, int HD) {
    float *om[QG];
    int i0 = 0;
    while (i0 + VW <= HD) {
        int nw = i0 + 2 * VW <= HD ? 2 : 1;
        for (int m = 0; m < n; m++) om[m] = out[m] + i0;
        shared_pass(om, a, n, t1, V + i0, (size_t)HD, VW, nw);
        i0 += nw * VW;
    }
    for (int m = 0; m < n; m++)
        for (int i = i0; i < HD; i++) {
            float s = 0.0f;
            for (int t = 0; t < t1; t++) s = MADD(a[m][t], V[(size_t)t * HD + i], s);
            out[m][i] = s;
        }
}

void decode_attn(float *out, const float *q, size_t stride, const float *Kp, const float *Vp, int split,
                 const float *const *K, const float *const *V, const int *len, int nr, int GRP, int HD, int T,
                 float *S) {
    int nq = nr * GRP;
    float scale = 1.0f / sqrtf((float)HD);
#define QUERY(m) (q + (size_t)((m) / GRP) * stride + (size_t)((m) % GRP) * HD)
#define OUTPUT(m) (out + (size_t)((m) / GRP) * stride + (size_t)((m) % GRP) * HD)
    for (int m0 = 0; m0 < nq && split > 0; m0 += QG) {
        int n = nq - m0 < QG ? nq - m0 : QG;
        const float *qm[QG];
        float *s[QG];
        for (int k = 0; k < n; k++) qm[k] = QUERY(m0 + k), s[k] = S + (size_t)(m0 + k) * T;
        if (n == 1) scores(s[0], qm[0], Kp, 0, split, HD, scale);
        else scores_shared(s, qm, n, Kp, split, HD, scale);
    }
    for (int m = 0; m < nq; m++) {
        int r = m / GRP, P = len[r];
        float *sm = S + (size_t)m * T, mx = -INFINITY, sum = 0.0f;
        scores(sm, QUERY(m), K[r], split, P, HD, scale);
        OMP(simd reduction(max : mx))
        for (int t = 0; t < P; t++) mx = sm[t] > mx ? sm[t] : mx;
        OMP(simd reduction(+ : sum))
        for (int t = 0; t < P; t++) {
            sm[t] = vexp(sm[t] - mx);
            sum += sm[t];
        }
        float inv = 1.0f / sum;
        OMP(simd)
        for (int t = 0; t < P; t++) sm[t] *= inv;
    }
    for (int m0 = 0; m0 < nq && split > 0; m0 += QG) {
        int n = nq - m0 < QG ? nq - m0 : QG;
        const float *a[QG];
        float *o[QG];
        for (int k = 0; k < n; k++) a[k] = S + (size_t)(m0 + k) * T, o[k] = OUTPUT(m0 + k);
        if (n == 1) weighted_values(o[0], a[0], Vp, 0, split, HD, 0);
        else values_shared(o, a, n, Vp, split, HD);
    }
    for (int m = 0; m < nq; m++)
        weighted_values(OUTPUT(m), S + (size_t)m * T, V[m / GRP], split, len[m / GRP], HD, split > 0);
#undef QUERY
#undef OUTPUT
}
