// Row-independent matmul for decode. Each thread takes panels of PW output
// columns, packs the panel's weights as (C, PW) so one k step is PW contiguous
// floats, and runs register tiles of up to RB rows × PW columns:
// acc[r][o] = fma(x[r][k], w[o][k], acc) for k ascending. Every tile size runs
// the same chain per element, so (n, o) depends on x_n and w_o only.
#include "kernels/rowmm.h"

#include <string.h>

#include "base/err.h"
#include "base/sys.h"
#include "kernels/omp.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

#define PW (2 * VW)   // output columns per panel
// Rows per register tile: RB × 2 accumulators, two weight vectors and a
// broadcast fill the register file (32 vectors with AVX-512, 16 otherwise).
#if VW == 16
#define RB 8
#else
#define RB 6
#endif

size_t rowmm_scratch_floats(int C) { return (size_t)C * PW; }

// wp (C, PW): wp[k·PW + j] = w[j][k] for j < nj, 0 beyond.
static void pack(float *wp, const float *w, int C, int nj) {
    enum { KB = 64 };   // a (KB, PW) block of the panel stays in L1 while rows stream in
    if (nj < PW) memset(wp, 0, (size_t)C * PW * sizeof(float));
    for (int k0 = 0; k0 < C; k0 += KB) {
        int k1 = k0 + KB < C ? k0 + KB : C;
        for (int j = 0; j < nj; j++) {
            const float *src = w + (size_t)j * C;
            for (int k = k0; k < k1; k++) wp[(size_t)k * PW + j] = src[k];
        }
    }
}

// Store one row of a tile: nj columns of (a0, a1) plus bias. A full panel
// adds and stores whole vectors (the same single rounding as the lane loop).
static inline void put_row(float *y, vf a0, vf a1, const float *bias, int nj) {
    if (nj == PW) {
        vf b0 = bias ? VLOAD(bias) : VZERO(), b1 = bias ? VLOAD(bias + VW) : VZERO(), y0 = a0 + b0, y1 = a1 + b1;
        VSTORE(y, y0);
        VSTORE(y + VW, y1);
        return;
    }
    float lane[PW];
    VSTORE(lane, a0);
    VSTORE(lane + VW, a1);
    for (int j = 0; j < nj; j++) y[j] = lane[j] + (bias ? bias[j] : 0.0f);
}

// One tile of NR ≤ RB rows × one packed panel, accumulators in registers:
// out[r][j] = Σ_k x[r][k] · wp[k][j] + bias[j], k ascending, whatever NR is.
// pf, when not NULL, is the next panel: its k row (one or two lines) is
// prefetched per k step, so it is in cache when its first tile starts.
static inline __attribute__((always_inline)) void tile(float *out, int ldo, const float *x, int C, const float *wp,
                                                       const float *bias, int nj, const float *pf, const int NR) {
    vf a0[RB], a1[RB];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) a0[r] = a1[r] = VZERO();
#pragma GCC unroll 4
    for (int k = 0; k < C; k++) {   // unrolled: fewer loop-counter uops on the FMA ports
        vf w0 = VLOAD(wp + (size_t)k * PW), w1 = VLOAD(wp + (size_t)k * PW + VW);
        if (pf)
            for (int l = 0; l < PW; l += 16) __builtin_prefetch(pf + (size_t)k * PW + l);   // each 64-byte line
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            vf xv = VBCAST(x + (size_t)r * C + k);
            a0[r] = VFMA(xv, w0, a0[r]);
            a1[r] = VFMA(xv, w1, a1[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) put_row(out + (size_t)r * ldo, a0[r], a1[r], bias, nj);
}

// All rows of one packed panel (nj valid columns), in the fewest tiles of at
// most RB rows, sized evenly (RB 6, 32 rows: 5,5,6,5,5,6 rather than 6,6,6,6,6,2, as
// a short tile leaves the FMA units waiting on latency). The first tile
// prefetches the panel that follows in memory (the next one of a packed matrix).
static void panel_rows(float *out, int OC, const float *inp, int N, int C, const float *wp, const float *b, int nj) {
    int tiles = (N + RB - 1) / RB;
    for (int i = 0; i < tiles; i++) {
        int n = (int)((long)N * i / tiles), nr = (int)((long)N * (i + 1) / tiles) - n;
        float *o = out + (size_t)n * OC;
        const float *x = inp + (size_t)n * C, *pf = i == 0 ? wp + (size_t)C * PW : NULL;
        switch (nr) {
#if RB > 6
        case 8: tile(o, OC, x, C, wp, b, nj, pf, 8); break;
        case 7: tile(o, OC, x, C, wp, b, nj, pf, 7); break;
#endif
        case 6: tile(o, OC, x, C, wp, b, nj, pf, 6); break;
        case 5: tile(o, OC, x, C, wp, b, nj, pf, 5); break;
        case 4: tile(o, OC, x, C, wp, b, nj, pf, 4); break;
        case 3: tile(o, OC, x, C, wp, b, nj, pf, 3); break;
        case 2: tile(o, OC, x, C, wp, b, nj, pf, 2); break;
        default: tile(o, OC, x, C, wp, b, nj, pf, 1); break;
        }
    }
}

static int cap_threads(int n) { return threads_get() < n ? threads_get() : n; }

void rowmm_forward(float *out, const float *inp, const float *weight, const float *bias, int N, int C, int OC,
                   float *scratch, int n_threads) {
    int n_panels = (OC + PW - 1) / PW, nt = cap_threads(n_threads);
    (void)nt;   // unused without OpenMP
    OMP(parallel for schedule(static) num_threads(nt) if ((long)N * OC * C >= 65536))
    for (int p = 0; p < n_panels; p++) {
        int o = p * PW, nj = OC - o < PW ? OC - o : PW;
        float *wp = scratch + (size_t)thread_index() * rowmm_scratch_floats(C);
        pack(wp, weight + (size_t)o * C, C, nj);
        panel_rows(out + o, OC, inp, N, C, wp, bias ? bias + o : NULL, nj);
    }
}

size_t rowmm_packed_floats(int C, int OC) { return (size_t)((OC + PW - 1) / PW) * rowmm_scratch_floats(C); }

void rowmm_pack(float *packed, const float *weight, int C, int OC) {
    int n_panels = (OC + PW - 1) / PW;
    OMP(parallel for schedule(static))
    for (int p = 0; p < n_panels; p++) {
        int o = p * PW, nj = OC - o < PW ? OC - o : PW;
        pack(packed + (size_t)p * rowmm_scratch_floats(C), weight + (size_t)o * C, C, nj);
    }
}

void rowmm_forward_packed(float *out, const float *inp, const float *packed, const float *bias, int N, int C, int OC) {
    RowmmJob job = {out, packed, bias, OC, NULL};
    rowmm_forward_jobs(&job, 1, inp, N, C);
}

enum { MAX_JOBS = 8 };

// Panels of the jobs numbered jointly: first (n_jobs + 1) gets the first
// panel of each job; returns the multiply-adds of the call.
static long job_panels(int *first, const RowmmJob *jobs, int n_jobs, int N, int C) {
    long work = 0;
    AHA_ASSERT(n_jobs >= 1 && n_jobs <= MAX_JOBS);
    first[0] = 0;
    for (int j = 0; j < n_jobs; j++) {
        first[j + 1] = first[j] + (jobs[j].OC + PW - 1) / PW;
        work += (long)N * jobs[j].OC * C;
    }
    return work;
}

// The job of joint panel p, its panel index within the job (*q), first column (*o) and width (*nj).
static const RowmmJob *job_of(const RowmmJob *jobs, const int *first, int p, int *q, int *o, int *nj) {
    int j = 0;
    while (p >= first[j + 1]) j++;
    *q = p - first[j];
    *o = *q * PW;
    *nj = jobs[j].OC - *o < PW ? jobs[j].OC - *o : PW;
    return &jobs[j];
}

void rowmm_forward_jobs(const RowmmJob *jobs, int n_jobs, const float *inp, int N, int C) {
    int first[MAX_JOBS + 1];
    long work = job_panels(first, jobs, n_jobs, N, C);
    (void)work;   // read only by the OpenMP clause
    OMP(parallel for schedule(static) if (work >= 65536))
    for (int p = 0; p < first[n_jobs]; p++) {
        int q, o, nj;
        const RowmmJob *b = job_of(jobs, first, p, &q, &o, &nj);
        panel_rows(b->out + o, b->OC, inp, N, C, b->packed + (size_t)q * rowmm_scratch_floats(C),
                   b->bias ? b->bias + o : NULL, nj);
    }
}

// ---------------------------------------------------------------- bf16
// Panel of PW columns for k pairs: for pair kp, 2·PW uint16s, columns 0..VW-1
// then VW..PW-1, each column's (w[2kp], w[2kp+1]) adjacent, as vdpbf16ps
// takes them: acc[j] += x[2kp]·w[j][2kp] + x[2kp+1]·w[j][2kp+1].

static int pairs(int C) { return (C + 1) / 2; }

size_t rowmm_packed16_halfs(int C, int OC) { return (size_t)((OC + PW - 1) / PW) * (size_t)pairs(C) * 2 * PW; }

size_t rowmm_x16_halfs(int N, int C) { return (size_t)N * (size_t)pairs(C) * 2; }

// One panel of nj ≤ PW output rows in bf16 k pairs, from fp32 rows w (rounded)
// or, when w is NULL, bf16 rows h.
static void pack16(uint16_t *wp, const float *w, const uint16_t *h, int C, int nj) {
    int KP = pairs(C);
    memset(wp, 0, (size_t)KP * 2 * PW * sizeof(uint16_t));
    for (int j = 0; j < nj; j++) {
        uint16_t *col = wp + (size_t)(j / VW) * 2 * VW + (size_t)(j % VW) * 2;
        if (w)
            for (int k = 0; k < C; k++) col[(size_t)(k / 2) * 2 * PW + k % 2] = bf16_of(w[(size_t)j * C + k]);
        else
            for (int k = 0; k < C; k++) col[(size_t)(k / 2) * 2 * PW + k % 2] = h[(size_t)j * C + k];
    }
}

// Either source: weight (fp32, rounded) or w16 (bf16) when weight is NULL.
static void pack16_any(uint16_t *packed, const float *weight, const uint16_t *w16, int C, int OC) {
    int n_panels = (OC + PW - 1) / PW;
    size_t panel = (size_t)pairs(C) * 2 * PW;
    OMP(parallel for schedule(static))
    for (int p = 0; p < n_panels; p++) {
        int o = p * PW, nj = OC - o < PW ? OC - o : PW;
        pack16(packed + (size_t)p * panel, weight ? weight + (size_t)o * C : NULL, w16 ? w16 + (size_t)o * C : NULL, C, nj);
    }
}

void rowmm_pack16(uint16_t *packed, const float *weight, int C, int OC) { pack16_any(packed, weight, NULL, C, OC); }

void rowmm_pack16_bf16(uint16_t *packed, const uint16_t *w16, int C, int OC) { pack16_any(packed, NULL, w16, C, OC); }

#if defined(__AVX512BF16__) && VW == 16
const int rowmm_bf16 = 1;

// One tile of NR ≤ RB rows × one bf16 panel: the fp32 tile's loop over k
// pairs, one vdpbf16ps per (row, half panel, pair).
static inline __attribute__((always_inline)) void tile16(float *out, int ldo, const uint16_t *x, int KP,
                                                         const uint16_t *wp, const float *bias, int nj, const int NR) {
    vf a0[RB], a1[RB];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) a0[r] = a1[r] = VZERO();
#pragma GCC unroll 4
    for (int kp = 0; kp < KP; kp++) {
        __m512bh w0 = (__m512bh)_mm512_loadu_si512(wp + (size_t)kp * 2 * PW);
        __m512bh w1 = (__m512bh)_mm512_loadu_si512(wp + (size_t)kp * 2 * PW + 2 * VW);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            uint32_t xp;
            memcpy(&xp, x + ((size_t)r * KP + kp) * 2, sizeof xp);
            __m512bh xv = (__m512bh)_mm512_set1_epi32((int)xp);
            a0[r] = _mm512_dpbf16_ps(a0[r], xv, w0);
            a1[r] = _mm512_dpbf16_ps(a1[r], xv, w1);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) put_row(out + (size_t)r * ldo, a0[r], a1[r], bias, nj);
}

static void panel_rows16(float *out, int OC, const uint16_t *x16, int N, int KP, const uint16_t *wp, const float *b,
                         int nj) {
    int tiles = (N + RB - 1) / RB;
    for (int i = 0; i < tiles; i++) {
        int n = (int)((long)N * i / tiles), nr = (int)((long)N * (i + 1) / tiles) - n;
        float *o = out + (size_t)n * OC;
        const uint16_t *x = x16 + (size_t)n * KP * 2;
        switch (nr) {
        case 8: tile16(o, OC, x, KP, wp, b, nj, 8); break;
        case 7: tile16(o, OC, x, KP, wp, b, nj, 7); break;
        case 6: tile16(o, OC, x, KP, wp, b, nj, 6); break;
        case 5: tile16(o, OC, x, KP, wp, b, nj, 5); break;
        case 4: tile16(o, OC, x, KP, wp, b, nj, 4); break;
        case 3: tile16(o, OC, x, KP, wp, b, nj, 3); break;
        case 2: tile16(o, OC, x, KP, wp, b, nj, 2); break;
        default: tile16(o, OC, x, KP, wp, b, nj, 1); break;
        }
    }
}

void rowmm_forward_jobs16(const RowmmJob *jobs, int n_jobs, const float *inp, uint16_t *x16, int N, int C) {
    int first[MAX_JOBS + 1], KP = pairs(C);
    long work = job_panels(first, jobs, n_jobs, N, C);
    (void)work;   // read only by the OpenMP clause
    for (int n = 0; n < N; n++) {   // rows in bf16, an odd C padded with a zero
        uint16_t *x = x16 + (size_t)n * KP * 2;
        for (int k = 0; k < C; k++) x[k] = bf16_of(inp[(size_t)n * C + k]);
        if (C % 2) x[C] = 0;
    }
    size_t panel = (size_t)KP * 2 * PW;
    OMP(parallel for schedule(static) if (work >= 65536))
    for (int p = 0; p < first[n_jobs]; p++) {
        int q, o, nj;
        const RowmmJob *b = job_of(jobs, first, p, &q, &o, &nj);
        panel_rows16(b->out + o, b->OC, x16, N, KP, b->packed16 + (size_t)q * panel, b->bias ? b->bias + o : NULL, nj);
    }
}
#else
const int rowmm_bf16 = 0;

void rowmm_forward_jobs16(const RowmmJob *jobs, int n_jobs, const float *inp, uint16_t *x16, int N, int C) {
    (void)jobs, (void)n_jobs, (void)inp, (void)x16, (void)N, (void)C;
    AHA_ASSERT(!"rowmm_forward_jobs16 needs an AVX512_BF16 build");
}
#endif
