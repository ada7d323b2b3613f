// Token choice by inverse CDF: in id order when nothing is truncated, else
// over a ranking built lazily: the tokens within a factor PICK_HEAD of the
// best are sorted first, and the rest only when the walk reaches past them, so
// the common case sorts a short head and the result is exactly that of
// sorting the whole vocabulary.
#include "gen/pick.h"

#include <math.h>
#include <string.h>

#include "base/err.h"
#include "kernels/omp.h"
#include "kernels/vexp.h"

#define PICK_HEAD 1e-4f   // relative probability that puts a token in the first sorted batch

size_t pick_bytes(int V) {
    return arena_round((size_t)V * sizeof(float)) + 2 * arena_round(2 * (size_t)V * sizeof(uint32_t));
}

int pick_init(PickScratch *s, Arena *a, int V) {
    memset(s, 0, sizeof *s);
    s->e = arena_alloc(a, (size_t)V * sizeof(float));
    s->key = s->e ? arena_alloc(a, 2 * (size_t)V * sizeof(uint32_t)) : NULL;
    s->order = s->key ? arena_alloc(a, 2 * (size_t)V * sizeof(int)) : NULL;
    if (!s->order) return err_wrap("sampling scratch for vocabulary %d", V);
    s->V = V;
    return 0;
}

// A key whose ascending unsigned order is the float's descending order.
static uint32_t desc_key(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    uint32_t asc = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
    return ~asc;
}

// Stable LSD radix sort of n (key, id) pairs, 8 bits a pass; passes where every
// key has the same digit are skipped. Result in key/id; tk/ti are scratch.
static void radix_sort(uint32_t *key, int *id, uint32_t *tk, int *ti, int n) {
    for (int shift = 0; shift < 32; shift += 8) {
        int count[257] = {0};
        for (int i = 0; i < n; i++) count[((key[i] >> shift) & 255) + 1]++;
        int skip = 0;
        for (int b = 1; b <= 256; b++) skip |= count[b] == n;
        if (skip) continue;
        for (int b = 1; b <= 256; b++) count[b] += count[b - 1];
        for (int i = 0; i < n; i++) {
            int p = count[(key[i] >> shift) & 255]++;
            tk[p] = key[i];
            ti[p] = id[i];
        }
        memcpy(key, tk, (size_t)n * sizeof *key);
        memcpy(id, ti, (size_t)n * sizeof *id);
    }
}

// Rank the tokens with z ≥ lo (and < hi when hi_on) in index order, appending them at order[n_sorted].
static void rank_band(PickScratch *s, const float *z, int V, float lo, int hi_on, float hi) {
    int n = 0, *dst = s->order + s->n_sorted;
    uint32_t *k = s->key;
    for (int i = 0; i < V; i++)
        if (z[i] >= lo && !(hi_on && z[i] >= hi)) {
            k[n] = desc_key(z[i]);
            dst[n++] = i;
        }
    radix_sort(k, dst, s->key + V, s->order + V, n);
    s->n_sorted += n;
}

typedef struct {
    PickScratch *s;
    const float *z;
    int V;
    float zcut;   // tokens with z ≥ zcut were ranked first
} Ranking;

// The token at rank j, ranking the tail on first need.
static int rank_at(Ranking *r, int j) {
    if (j >= r->s->n_sorted) rank_band(r->s, r->z, r->V, -INFINITY, 1, r->zcut);
    AHA_ASSERT(j < r->s->n_sorted);
    return r->s->order[j];
}

// Whether top-k, top-p or min-p can cut any token.
static int truncates(const PickOpts *o, int V) { return (o->top_k > 0 && o->top_k < V) || o->top_p < 1.0f || o->min_p > 0.0f; }

int pick_token(PickScratch *s, const float *z, int V, const PickOpts *o, double u, float *logp) {
    AHA_ASSERT(V >= 1 && V <= s->V);
    int best = 0;
    for (int i = 0; i < V; i++) {
        if (!isfinite(z[i])) return err_set("logit %d is %g: the model produced a non-finite value", i, (double)z[i]);
        if (z[i] > z[best]) best = i;
    }
    float m = z[best];
    if (o->temperature <= 0.0f) {
        double S = 0;
        for (int i = 0; i < V; i++) S += exp((double)z[i] - m);
        *logp = (float)(-log(S));   // z[best] - m = 0
        return best;
    }
    // e_i = exp((z_i − m)/τ);  log softmax(z/τ)_i = (z_i − m)/τ − log Σ e
    float inv_tau = 1.0f / o->temperature, *e = s->e;
    OMP(simd)
    for (int i = 0; i < V; i++) e[i] = vexp((z[i] - m) * inv_tau);
    double S = 0;
    OMP(simd reduction(+ : S))
    for (int i = 0; i < V; i++) S += e[i];
    if (!truncates(o, V)) {
        // nothing cut: the inverse CDF needs no ranking, ids in order will do
        double target = u * S, cum = 0;
        int tok = best;   // if rounding leaves the walk short
        for (int i = 0; i < V; i++) {
            cum += e[i];
            if (cum > target && e[i] > 0.0f) {
                tok = i;
                break;
            }
        }
        *logp = (float)((double)((z[tok] - m) * inv_tau) - log(S));
        return tok;
    }
    // first rank the head: z ≥ m + τ·ln(PICK_HEAD), i.e. e ≥ PICK_HEAD
    Ranking r = {s, z, V, m + o->temperature * logf(PICK_HEAD)};
    s->n_sorted = 0;
    rank_band(s, z, V, r.zcut, 0, 0.0f);

    int n_keep = V;
    double kept = S;
    if (o->top_k > 0 && o->top_k < V) {
        n_keep = o->top_k;
        kept = 0;
        for (int j = 0; j < n_keep; j++) kept += e[rank_at(&r, j)];
    }
    if (o->top_p < 1.0f) {
        double cum = 0, need = (double)o->top_p * kept;
        for (int j = 0; j < n_keep; j++) {
            cum += e[rank_at(&r, j)];
            if (cum >= need) {
                n_keep = j + 1;
                kept = cum;
                break;
            }
        }
    }
    if (o->min_p > 0.0f) {
        // e of the best token is exactly 1, so p_i ≥ min_p·p_max ⇔ e_i ≥ min_p
        int j = 1;
        while (j < n_keep && e[rank_at(&r, j)] >= o->min_p) j++;
        if (j < n_keep) {
            n_keep = j;
            kept = 0;
            for (int i = 0; i < n_keep; i++) kept += e[rank_at(&r, i)];
        }
    }
    double target = u * kept, cum = 0;
    int tok = rank_at(&r, n_keep - 1);   // if rounding leaves the walk short
    for (int j = 0; j < n_keep; j++) {
        int id = rank_at(&r, j);
        cum += e[id];
        if (cum > target) {
            tok = id;
            break;
        }
    }
    *logp = (float)((double)((z[tok] - m) * inv_tau) - log(S));
    return tok;
}
