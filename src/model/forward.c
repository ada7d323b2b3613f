// Training forward and backward of the decoder on packed tokens: the real tokens
// of a right-padded batch are laid end to end (N = Σ lens), so every per-token
// op runs on N rows and attention runs per (row, head) on that row's segment.
// It refuses batches larger than its activations and ids outside the vocab.
#include "model/forward.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/err.h"
#include "base/sys.h"
#include "kernels/head.h"
#include "kernels/omp.h"
#include "kernels/ops.h"
#include "model/io.h"
#include "model/lora.h"

// Budget of the head's logits scratch, in floats (32 MiB).
#define HEAD_SCRATCH_FLOATS ((size_t)8 << 20)

struct ModelActs {
    Arena arena;
    int max_rows, max_T, max_N, n_slots, head_rows;
    int bf16;              // made for a bf16 model: the s16 scratch exists
    int recompute;         // keep only x per layer; the backward recomputes each layer from it
    // the batch of the last model_forward
    int R, T, N, ready;
    float inv_temp;
    int logits_at;         // first packed token of the chunk whose logits a->logits holds, −1: none
    int *off, *len;        // (max_rows) start and length of each row in the packing
    int *tok, *pos, *tgt;  // (max_N) id, position, next id (−1: none)
    int *out_at;           // (max_N) r*T + t
    float *cos_tab, *sin_tab;  // (max_T, HD/2)
    // stored per layer, each block sized for max_N tokens
    float *x;              // (L+1, N, C) residual entering layer l; x[L] the last
    float *xmid;           // (L, N, C) residual after attention
    float *rstd1, *rstd2;  // (L, N)
    float *qraw, *kraw;    // (L, N, QD), (L, N, KD) before q/k norm (qk_norm only)
    float *qrstd, *krstd;  // (L, N·NH), (L, N·NKV) (qk_norm only)
    float *q, *k, *v;      // (L, N, QD), (L, N, KD), (L, N, KD) as attention saw them
    float *att;            // (L, N, QD) attention output before o_proj
    float *lse;            // (L, NH, N) attention logsumexp
    float *gate, *up;      // (L, N, F)
    float *rstdf;          // (N)
    float *lnf;            // (N, C) final norm output, the head's input
    float *head_lse;       // (N)
    float *tok_logp, *tok_ent;  // (N)
    // scratch
    float *ln;             // (N, C)
    float *hmid;           // (N, F)
    float *logits;         // (head_rows, V)
    float *attn_scratch;   // (n_slots, attention_scratch_floats(max_T))
    // backward
    float *dres, *dln;     // (N, C)
    float *dq, *dq2;       // (N, QD)
    float *dk, *dk2, *dv;  // (N, KD)
    float *datt;           // (N, QD)
    float *dhmid, *dgate, *dup;  // (N, F)
    float *gp;             // (N) g at each packed token
    // bf16: operands of the matmuls rounded to bf16 (NULL in fp32)
    uint16_t *s16a, *s16b; // (max(max_N·D, head_rows·V)) each, D the widest of C, QD, KD, F
    // LoRA (only when the model has adapters)
    int lora_r;
    uint64_t tick;         // the dropout key of the last forward
    float *lora_u;         // (L, LORA_N_TARGETS, N, r) x·Aᵀ of every adapter
    float *lora_du;        // (N, r)
    float *lora_xd;        // (N, max(C, QD, F)) dropout scratch (dropout > 0 only)
};

// Two passes: count bytes (ar == NULL), then carve.
static void *take(Arena *ar, size_t *total, size_t bytes) {
    if (!ar) {
        *total += arena_round(bytes);
        return NULL;
    }
    return arena_alloc(ar, bytes);
}

// lora_r > 0: room for adapters of that rank, with dropout scratch when lora_dropout.
static void carve(ModelActs *a, const ModelConfig *c, int lora_r, int lora_dropout, Arena *ar, size_t *total) {
    // x for every layer; the rest for every layer, or for one under recomputation
    size_t N = (size_t)a->max_N, L = a->recompute ? 1 : (size_t)c->n_layers, C = (size_t)c->hidden_size;
    size_t LX = (size_t)c->n_layers;
    size_t QD = (size_t)c->n_heads * c->head_dim, KD = (size_t)c->n_kv_heads * c->head_dim;
    size_t F = (size_t)c->intermediate_size, V = (size_t)c->vocab_size, f = sizeof(float), i = sizeof(int);
    size_t T = (size_t)a->max_T;
    a->off = take(ar, total, (size_t)a->max_rows * i);
    a->len = take(ar, total, (size_t)a->max_rows * i);
    a->tok = take(ar, total, N * i);
    a->pos = take(ar, total, N * i);
    a->tgt = take(ar, total, N * i);
    a->out_at = take(ar, total, N * i);
    a->cos_tab = take(ar, total, T * (c->head_dim / 2) * f);
    a->sin_tab = take(ar, total, T * (c->head_dim / 2) * f);
    a->x = take(ar, total, (LX + 1) * N * C * f);
    a->xmid = take(ar, total, L * N * C * f);
    a->rstd1 = take(ar, total, L * N * f);
    a->rstd2 = take(ar, total, L * N * f);
    if (c->qk_norm) {
        a->qraw = take(ar, total, L * N * QD * f);
        a->kraw = take(ar, total, L * N * KD * f);
        a->qrstd = take(ar, total, L * N * c->n_heads * f);
        a->krstd = take(ar, total, L * N * c->n_kv_heads * f);
        a->dq2 = take(ar, total, N * QD * f);
        a->dk2 = take(ar, total, N * KD * f);
    }
    a->q = take(ar, total, L * N * QD * f);
    a->k = take(ar, total, L * N * KD * f);
    a->v = take(ar, total, L * N * KD * f);
    a->att = take(ar, total, L * N * QD * f);
    a->lse = take(ar, total, L * c->n_heads * N * f);
    a->gate = take(ar, total, L * N * F * f);
    a->up = take(ar, total, L * N * F * f);
    a->rstdf = take(ar, total, N * f);
    a->lnf = take(ar, total, N * C * f);
    a->head_lse = take(ar, total, N * f);
    a->tok_logp = take(ar, total, N * f);
    a->tok_ent = take(ar, total, N * f);
    a->ln = take(ar, total, N * C * f);
    a->hmid = take(ar, total, N * F * f);
    a->logits = take(ar, total, (size_t)a->head_rows * V * f);
    a->attn_scratch = take(ar, total, (size_t)a->n_slots * attention_scratch_floats(a->max_T) * f);
    a->dres = take(ar, total, N * C * f);
    a->dln = take(ar, total, N * C * f);
    a->dq = take(ar, total, N * QD * f);
    a->dk = take(ar, total, N * KD * f);
    a->dv = take(ar, total, N * KD * f);
    a->datt = take(ar, total, N * QD * f);
    a->dhmid = take(ar, total, N * F * f);
    a->dgate = take(ar, total, N * F * f);
    a->dup = take(ar, total, N * F * f);
    a->gp = take(ar, total, N * f);
    if (a->bf16) {
        size_t D = C > QD ? C : QD, n16;
        if (F > D) D = F;
        n16 = N * D > (size_t)a->head_rows * V ? N * D : (size_t)a->head_rows * V;
        a->s16a = take(ar, total, n16 * sizeof(uint16_t));
        a->s16b = take(ar, total, n16 * sizeof(uint16_t));
    }
    if (lora_r > 0) {
        size_t r = (size_t)lora_r, widest = C > QD ? C : QD;
        widest = widest > F ? widest : F;
        a->lora_r = lora_r;
        a->lora_u = take(ar, total, L * LORA_N_TARGETS * N * r * f);
        a->lora_du = take(ar, total, N * r * f);
        if (lora_dropout) a->lora_xd = take(ar, total, N * widest * f);
    }
}

// Sizes of activations for max_rows x max_T (checked by the caller).
static void size_acts(ModelActs *a, const ModelConfig *c, int max_rows, int max_T, int recompute) {
    a->recompute = recompute;
    a->max_rows = max_rows;
    a->max_T = max_T;
    a->max_N = max_rows * max_T;
    a->n_slots = threads_get();
    size_t hr = HEAD_SCRATCH_FLOATS / (size_t)c->vocab_size;
    if (hr < 16) hr = 16;
    if (hr > (size_t)a->max_N) hr = (size_t)a->max_N;
    a->head_rows = (int)hr;
}

size_t model_acts_bytes(const ModelConfig *c, int max_rows, int max_T, int recompute, int lora_r, int lora_dropout) {
    ModelActs a = {0};
    size_t total = 0;
    size_acts(&a, c, max_rows, max_T, recompute);
    a.bf16 = model_precision_get() == PRECISION_BF16;   // models take the process precision
    carve(&a, c, lora_r, lora_dropout, NULL, &total);
    return total;
}

ModelActs *model_acts_create(const Model *m, int max_rows, int max_T) { return model_acts_create_opts(m, max_rows, max_T, 0); }

ModelActs *model_acts_create_opts(const Model *m, int max_rows, int max_T, int recompute) {
    const ModelConfig *c = &m->cfg;
    int lora_r = m->lora ? m->lora->r : 0, lora_dropout = m->lora && m->lora->dropout > 0;
    if (max_rows <= 0 || max_T <= 0) {
        err_set("activations: rows (%d) and length (%d) must be positive", max_rows, max_T);
        return NULL;
    }
    if (max_T > c->max_position) {
        err_set("activations: length %d exceeds max_position_embeddings %d", max_T, c->max_position);
        return NULL;
    }
    if ((long long)max_rows * max_T > (1LL << 30)) {
        err_set("activations: %d rows × %d tokens is too many", max_rows, max_T);
        return NULL;
    }
    ModelActs *a = calloc(1, sizeof *a);
    if (!a) {
        err_set("activations: out of memory");
        return NULL;
    }
    size_acts(a, c, max_rows, max_T, recompute);
    a->bf16 = m->w16 != NULL;
    size_t total = 0;
    carve(a, c, lora_r, lora_dropout, NULL, &total);
    if (arena_init(&a->arena, total) != 0) {
        err_wrap("activations for %d × %d tokens (%.1f MiB)", max_rows, max_T, (double)total / (1 << 20));
        free(a);
        return NULL;
    }
    carve(a, c, lora_r, lora_dropout, &a->arena, &total);
    double *inv = malloc((size_t)(c->head_dim / 2) * sizeof(double));
    if (!inv) {
        err_set("activations: out of memory");
        model_acts_free(a);
        return NULL;
    }
    model_rope_inv_freq(c, inv);
    rope_table_freq(a->cos_tab, a->sin_tab, max_T, c->head_dim, inv);
    free(inv);
    return a;
}

void model_acts_set_head_rows(ModelActs *a, int rows) {
    if (rows >= 1 && rows < a->head_rows) a->head_rows = rows;
    a->logits_at = -1;
}

// What the activations hold: nothing usable, the trunk (through the final
// norm), or the trunk and the LM head.
enum { ACTS_NONE = 0, ACTS_TRUNK, ACTS_HEAD };

void model_acts_release(ModelActs *a) {
    if (!a) return;
    // a->x onward is scratch a forward rewrites; the tables before it stay
    arena_release_range(&a->arena, a->x, (size_t)(a->arena.base + a->arena.size - (char *)a->x));
    a->ready = ACTS_NONE;
    a->logits_at = -1;
}

void model_acts_free(ModelActs *a) {
    if (!a) return;
    arena_free(&a->arena);
    free(a);
}

// Per-layer block of a stored activation: base + l·max_N·width.
#define LAYER(a, buf, l, width) ((buf) + (size_t)(l) * (size_t)(a)->max_N * (size_t)(width))
// The stored x·Aᵀ of adapter t of layer l: (N, r).
// Layer l's block of an activation only the backward reads: its own, or under
// recomputation the one block every layer shares.
#define SLOT(a, buf, l, width) LAYER(a, buf, (a)->recompute ? 0 : (l), width)
#define LORA_U(a, l, t) LAYER(a, (a)->lora_u, (size_t)((a)->recompute ? 0 : (l)) * LORA_N_TARGETS + (t), (a)->lora_r)

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// Attention of every row and head of layer l, forward or backward.
static void attention_layer(ModelActs *a, const ModelConfig *c, int l, int backward) {
    int NH = c->n_heads, NKV = c->n_kv_heads, HD = c->head_dim, grp = NH / NKV;
    int QD = NH * HD, KD = NKV * HD, R = a->R;
    const float *q = SLOT(a, a->q, l, QD), *k = SLOT(a, a->k, l, KD), *v = SLOT(a, a->v, l, KD);
    float *att = SLOT(a, a->att, l, QD), *lse = SLOT(a, a->lse, l, NH);
    size_t slot_floats = attention_scratch_floats(a->max_T);
    // Backward: one task per (row, kv head) owns that head's dk/dv; forward: per (row, q head).
    int tasks = backward ? R * NKV : R * NH;
OMP(parallel for schedule(dynamic, 1) num_threads(a->n_slots))
    for (int t = 0; t < tasks; t++) {
        float *scratch = a->attn_scratch + (size_t)thread_id() * slot_floats;
        int r = t / (backward ? NKV : NH), hh = t % (backward ? NKV : NH);
        size_t o = (size_t)a->off[r];
        int T = a->len[r];
        int h0 = backward ? hh * grp : hh, h1 = backward ? h0 + grp : h0 + 1;
        for (int h = h0; h < h1; h++) {
            int kvh = h / grp;
            size_t qo = o * QD + (size_t)h * HD, ko = o * KD + (size_t)kvh * HD;
            float *lh = lse + (size_t)h * a->max_N + o;
            if (!backward)
                attention_forward(att + qo, lh, q + qo, k + ko, v + ko, T, HD, QD, KD, scratch);
            else
                attention_backward(a->dq + qo, a->dk + ko, a->dv + ko, a->datt + qo, q + qo, k + ko, v + ko, lh, T, HD, QD, KD, scratch);
        }
    }
}

// ---------------------------------------------------------------- matmuls
// Products with a weight W of m: fp32, or, when m holds a bf16 copy, bf16
// operands (W's copy, the activation rounded into scratch) with fp32
// accumulation, as the decoder's rowmm does for sampling.

static const uint16_t *w16_of(const Model *m, const float *w) { return model_w16(m, (size_t)(w - m->params)); }

// The bf16 copy of x (N, C) in dst for the products that follow, or NULL
// for an fp32 model (nothing to copy).
static const uint16_t *bf16_in(const Model *m, uint16_t *dst, const float *x, int N, int C) {
    if (!m->w16) return NULL;
    bf16_from_f32(dst, x, N, C, C);
    return dst;
}

// out (N, OC) = inp (N, C) · Wᵀ + bias when beta is 0 (bias may be NULL),
// else out += inp · Wᵀ (beta 1, no bias). inp16, when not NULL, is inp's bf16
// copy already made (several products read one input); else a bf16 model
// rounds inp into s16a.
static void mm_fwd(const Model *m, ModelActs *a, float *out, const float *inp, const uint16_t *inp16, const float *W,
                   const float *bias, int N, int C, int OC, float beta) {
    if (!m->w16) {
        if (beta == 0.0f) matmul_forward(out, inp, W, bias, N, C, OC);
        else gemm(0, 1, N, OC, C, 1.0f, inp, C, W, C, beta, out, OC);
        return;
    }
    if (bias) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OC, bias, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    if (!inp16) inp16 = bf16_in(m, a->s16a, inp, N, C);
    gemm_bf16(0, 1, N, OC, C, 1.0f, inp16, C, w16_of(m, W), C, beta, out, OC);
}

// matmul_backward in m's precision: dinp (N, C) += dout·W, dweight (OC, C) +=
// doutᵀ·inp, dbias (OC) += Σ_n dout; any of the three may be NULL. dout16 and
// inp16, when not NULL, are bf16 copies already made; else a bf16 model rounds
// dout into s16a and inp into s16b.
static void mm_bwd(const Model *m, ModelActs *a, float *dinp, float *dweight, float *dbias, const float *dout,
                   const uint16_t *dout16, const float *inp, const uint16_t *inp16, const float *W, int N, int C,
                   int OC) {
    if (!m->w16) {
        matmul_backward(dinp, dweight, dbias, dout, inp, W, N, C, OC);
        return;
    }
    if (!dout16) dout16 = bf16_in(m, a->s16a, dout, N, OC);
    if (dinp) gemm_bf16(0, 0, N, C, OC, 1.0f, dout16, OC, w16_of(m, W), C, 1.0f, dinp, C);
    if (dweight) {
        if (!inp16) inp16 = bf16_in(m, a->s16b, inp, N, C);
        gemm_bf16(1, 0, OC, C, N, 1.0f, dout16, OC, inp16, C, 1.0f, dweight, C);
    }
    if (dbias) matmul_backward(NULL, NULL, dbias, dout, NULL, NULL, N, C, OC);
}

// logits (M, V) = h (M, C) · lm_headᵀ in m's precision.
static void head_mm(const Model *m, ModelActs *a, const float *h, int M) {
    int C = m->cfg.hidden_size, V = m->cfg.vocab_size;
    if (!m->w16) {
        head_logits(a->logits, h, m->w.lm_head, M, C, V);
        return;
    }
    mm_fwd(m, a, a->logits, h, NULL, m->w.lm_head, NULL, M, C, V, 0.0f);
}

// Layer l of the decoder on the packed tokens: x[l] -> x[l+1], keeping what
// its backward needs (in slot 0 under recomputation). recompute: the same
// work again from the stored x[l] for the backward, which needs everything
// but the output; that goes to scratch, so x[l+1] keeps the bits it had.
static void layer_forward(Model *m, ModelActs *a, int l, int recompute) {
    const ModelConfig *c = &m->cfg;
    const LayerView *y = &m->w.layer[l];
    int C = c->hidden_size, F = c->intermediate_size, N = a->N;
    int NH = c->n_heads, NKV = c->n_kv_heads, HD = c->head_dim, QD = NH * HD, KD = NKV * HD;
    float eps = (float)c->rms_eps;
    Lora *lo = m->lora;
#define LORA_FWD(t, y, x) lora_forward(lo, l, t, y, LORA_U(a, l, t), x, a->lora_xd, N, a->tick)
    float *X = LAYER(a, a->x, l, C), *Xn = recompute ? a->ln : LAYER(a, a->x, l + 1, C), *Xm = SLOT(a, a->xmid, l, C);
    float *q = SLOT(a, a->q, l, QD), *k = SLOT(a, a->k, l, KD), *v = SLOT(a, a->v, l, KD);
    float *gate = SLOT(a, a->gate, l, F), *up = SLOT(a, a->up, l, F), *att = SLOT(a, a->att, l, QD);
    // attention block: Xm = X + o_proj(attn(rope(norm(q)), rope(norm(k)), v))
    rmsnorm_forward(a->ln, SLOT(a, a->rstd1, l, 1), X, y->attn_norm, N, C, eps);
    float *qd = c->qk_norm ? SLOT(a, a->qraw, l, QD) : q, *kd = c->qk_norm ? SLOT(a, a->kraw, l, KD) : k;
    const uint16_t *ln16 = bf16_in(m, a->s16b, a->ln, N, C);   // one copy for the three products
    mm_fwd(m, a, qd, a->ln, ln16, y->wq, y->bq, N, C, QD, 0.0f);
    mm_fwd(m, a, kd, a->ln, ln16, y->wk, y->bk, N, C, KD, 0.0f);
    mm_fwd(m, a, v, a->ln, ln16, y->wv, y->bv, N, C, KD, 0.0f);
    LORA_FWD(LORA_Q, qd, a->ln);
    LORA_FWD(LORA_K, kd, a->ln);
    LORA_FWD(LORA_V, v, a->ln);
    if (c->qk_norm) {
        rmsnorm_forward(q, SLOT(a, a->qrstd, l, NH), qd, y->q_norm, N * NH, HD, eps);
        rmsnorm_forward(k, SLOT(a, a->krstd, l, NKV), kd, y->k_norm, N * NKV, HD, eps);
    }
    rope_forward(q, a->pos, a->cos_tab, a->sin_tab, N, NH, HD);
    rope_forward(k, a->pos, a->cos_tab, a->sin_tab, N, NKV, HD);
    attention_layer(a, c, l, 0);
    memcpy(Xm, X, (size_t)N * C * sizeof(float));
    mm_fwd(m, a, Xm, att, NULL, y->wo, NULL, N, QD, C, 1.0f);
    LORA_FWD(LORA_O, Xm, att);
    // MLP block: Xn = Xm + down(silu(gate(norm(Xm))) · up(norm(Xm)))
    rmsnorm_forward(a->ln, SLOT(a, a->rstd2, l, 1), Xm, y->mlp_norm, N, C, eps);
    ln16 = bf16_in(m, a->s16b, a->ln, N, C);
    mm_fwd(m, a, gate, a->ln, ln16, y->w_gate, NULL, N, C, F, 0.0f);
    mm_fwd(m, a, up, a->ln, ln16, y->w_up, NULL, N, C, F, 0.0f);
    LORA_FWD(LORA_GATE, gate, a->ln);
    LORA_FWD(LORA_UP, up, a->ln);
    swiglu_forward(a->hmid, gate, up, (size_t)N * F);
    memcpy(Xn, Xm, (size_t)N * C * sizeof(float));
    mm_fwd(m, a, Xn, a->hmid, NULL, y->w_down, NULL, N, F, C, 1.0f);
    LORA_FWD(LORA_DOWN, Xn, a->hmid);
#undef LORA_FWD
}

// Pack the batch and run the decoder through the final norm into a->lnf (N, C).
static int trunk_forward(Model *m, ModelActs *a, const int *ids, const int *lens, int R, int T) {
    const ModelConfig *c = &m->cfg;
    const WeightView *w = &m->w;
    int C = c->hidden_size, V = c->vocab_size, L = c->n_layers;
    float eps = (float)c->rms_eps;
    a->ready = ACTS_NONE;
    a->logits_at = -1;
    if (m->w16 && !a->bf16) return err_set("forward: a bf16 model needs activations made for it");
    model_sync_bf16(m);
    if (R <= 0 || R > a->max_rows || T <= 0 || T > a->max_T)
        return err_set("forward: batch %d × %d exceeds the activations (%d × %d)", R, T, a->max_rows, a->max_T);
    int N = 0;
    for (int r = 0; r < R; r++) {
        if (lens[r] < 1 || lens[r] > T) return err_set("forward: row %d length %d not in 1..%d", r, lens[r], T);
        a->off[r] = N;
        a->len[r] = lens[r];
        for (int t = 0; t < lens[r]; t++) {
            int id = ids[(size_t)r * T + t];
            if (id < 0 || id >= V) return err_set("forward: row %d position %d: id %d outside vocab 0..%d", r, t, id, V - 1);
            a->tok[N] = id;
            a->pos[N] = t;
            a->tgt[N] = t + 1 < lens[r] ? ids[(size_t)r * T + t + 1] : -1;
            a->out_at[N] = r * T + t;
            N++;
        }
    }
    a->R = R;
    a->T = T;
    a->N = N;
    if (m->lora && m->lora->train && m->lora->dropout > 0) a->tick = m->lora->ticks++;

    float *x0 = a->x;
    for (int i = 0; i < N; i++) model_embed_row(m, a->tok[i], x0 + (size_t)i * C);

    for (int l = 0; l < L; l++) layer_forward(m, a, l, 0);
    rmsnorm_forward(a->lnf, a->rstdf, LAYER(a, a->x, L, C), w->norm, N, C, eps);
    a->ready = ACTS_TRUNK;
    return 0;
}

int model_forward(Model *m, ModelActs *a, const int *ids, const int *lens, int R, int T, float temperature, float *logp, float *entropy) {
    const ModelConfig *c = &m->cfg;
    int C = c->hidden_size, V = c->vocab_size;
    a->ready = ACTS_NONE;
    if (!(temperature > 0)) return err_set("forward: temperature must be positive");
    if (trunk_forward(m, a, ids, lens, R, T) != 0) return -1;
    int N = a->N;
    a->inv_temp = 1.0f / temperature;
    for (int i0 = 0; i0 < N; i0 += a->head_rows) {
        int M = N - i0 < a->head_rows ? N - i0 : a->head_rows;
        head_mm(m, a, a->lnf + (size_t)i0 * C, M);
        head_stats(a->tok_logp + i0, entropy ? a->tok_ent + i0 : NULL, a->head_lse + i0, a->logits, a->tgt + i0, M,
                   V, a->inv_temp);
        a->logits_at = i0;
    }
    memset(logp, 0, (size_t)R * T * sizeof(float));
    if (entropy) memset(entropy, 0, (size_t)R * T * sizeof(float));
    for (int i = 0; i < N; i++) {
        if (a->tgt[i] < 0) continue;
        logp[a->out_at[i]] = a->tok_logp[i];
        if (entropy) entropy[a->out_at[i]] = a->tok_ent[i];
    }
    a->ready = ACTS_HEAD;
    return 0;
}

int model_forward_hidden(Model *m, ModelActs *a, const int *ids, const int *lens, int R, int T) {
    return trunk_forward(m, a, ids, lens, R, T);
}

int model_acts_tokens(const ModelActs *a, const int **at, const float **hidden) {
    *at = a->out_at;
    *hidden = a->lnf;
    return a->ready == ACTS_NONE ? 0 : a->N;
}

float *model_acts_dhidden(ModelActs *a) { return a->dln; }

static void zero(float *p, size_t n) { memset(p, 0, n * sizeof(float)); }

// Backward of the trunk from dlnf (N, C), the gradient at the final norm's
// output; dlnf may be a->dln, which is read before it is reused.
static void trunk_backward(Model *m, ModelActs *a, const float *dlnf) {
    const ModelConfig *c = &m->cfg;
    const WeightView *w = &m->w;
    WeightView *dw = &m->g;
    int C = c->hidden_size, F = c->intermediate_size, L = c->n_layers;
    int NH = c->n_heads, NKV = c->n_kv_heads, HD = c->head_dim, QD = NH * HD, KD = NKV * HD;
    int N = a->N;
    float eps = (float)c->rms_eps;
    Lora *lo = m->lora;
    // Adapter t of layer l: dx += its input gradient, then its own gradients from input x.
#define LORA_DX(t, dx, dy) lora_backward_dx(lo, l, t, dx, a->lora_du, dy, LORA_U(a, l, t), a->lora_xd, N, a->tick)
#define LORA_DA(t, x) lora_backward_da(lo, l, t, a->lora_du, x, a->lora_xd, N, a->tick)
#define LORA_BWD(t, dx, dy, x) (LORA_DX(t, dx, dy), LORA_DA(t, x))

    zero(a->dres, (size_t)N * C);
    rmsnorm_backward(a->dres, dw->norm, dlnf, LAYER(a, a->x, L, C), w->norm, a->rstdf, N, C);
    for (int l = L - 1; l >= 0; l--) {
        const LayerView *y = &w->layer[l];
        LayerView *dy = &dw->layer[l];
        if (a->recompute) layer_forward(m, a, l, 1);
        float *X = LAYER(a, a->x, l, C), *Xm = SLOT(a, a->xmid, l, C);
        float *gate = SLOT(a, a->gate, l, F), *up = SLOT(a, a->up, l, F);
        // MLP block (norm output and hidden recomputed, not stored; the hidden
        // in the same pass as swiglu's backward, before w_down's gradient needs it)
        rmsnorm_forward(a->ln, NULL, Xm, y->mlp_norm, N, C, eps);
        zero(a->dhmid, (size_t)N * F);
        const uint16_t *dres16 = bf16_in(m, a->s16a, a->dres, N, C);   // for both of w_down's products
        mm_bwd(m, a, a->dhmid, NULL, NULL, a->dres, dres16, NULL, NULL, y->w_down, N, F, C);
        LORA_DX(LORA_DOWN, a->dhmid, a->dres);
        swiglu_backward(a->dgate, a->dup, a->hmid, a->dhmid, gate, up, (size_t)N * F);
        LORA_DA(LORA_DOWN, a->hmid);
        mm_bwd(m, a, NULL, dy->w_down, NULL, a->dres, dres16, a->hmid, NULL, NULL, N, F, C);
        zero(a->dln, (size_t)N * C);
        const uint16_t *ln16 = bf16_in(m, a->s16b, a->ln, N, C);   // for gate's and up's weight gradients
        mm_bwd(m, a, a->dln, dy->w_gate, NULL, a->dgate, NULL, a->ln, ln16, y->w_gate, N, C, F);
        mm_bwd(m, a, a->dln, dy->w_up, NULL, a->dup, NULL, a->ln, ln16, y->w_up, N, C, F);
        LORA_BWD(LORA_GATE, a->dln, a->dgate, a->ln);
        LORA_BWD(LORA_UP, a->dln, a->dup, a->ln);
        rmsnorm_backward(a->dres, dy->mlp_norm, a->dln, Xm, y->mlp_norm, SLOT(a, a->rstd2, l, 1), N, C);
        // attention block
        zero(a->datt, (size_t)N * QD);
        mm_bwd(m, a, a->datt, dy->wo, NULL, a->dres, NULL, SLOT(a, a->att, l, QD), NULL, y->wo, N, QD, C);
        LORA_BWD(LORA_O, a->datt, a->dres, SLOT(a, a->att, l, QD));
        zero(a->dq, (size_t)N * QD);
        zero(a->dk, (size_t)N * KD);
        zero(a->dv, (size_t)N * KD);
        attention_layer(a, c, l, 1);
        rope_backward(a->dq, a->pos, a->cos_tab, a->sin_tab, N, NH, HD);
        rope_backward(a->dk, a->pos, a->cos_tab, a->sin_tab, N, NKV, HD);
        float *dq = a->dq, *dk = a->dk;
        if (c->qk_norm) {
            zero(a->dq2, (size_t)N * QD);
            zero(a->dk2, (size_t)N * KD);
            rmsnorm_backward(a->dq2, dy->q_norm, a->dq, SLOT(a, a->qraw, l, QD), y->q_norm, SLOT(a, a->qrstd, l, NH), N * NH, HD);
            rmsnorm_backward(a->dk2, dy->k_norm, a->dk, SLOT(a, a->kraw, l, KD), y->k_norm, SLOT(a, a->krstd, l, NKV), N * NKV, HD);
            dq = a->dq2;
            dk = a->dk2;
        }
        rmsnorm_forward(a->ln, NULL, X, y->attn_norm, N, C, eps);
        zero(a->dln, (size_t)N * C);
        ln16 = bf16_in(m, a->s16b, a->ln, N, C);
        mm_bwd(m, a, a->dln, dy->wq, dy->bq, dq, NULL, a->ln, ln16, y->wq, N, C, QD);
        mm_bwd(m, a, a->dln, dy->wk, dy->bk, dk, NULL, a->ln, ln16, y->wk, N, C, KD);
        mm_bwd(m, a, a->dln, dy->wv, dy->bv, a->dv, NULL, a->ln, ln16, y->wv, N, C, KD);
        LORA_BWD(LORA_Q, a->dln, dq, a->ln);
        LORA_BWD(LORA_K, a->dln, dk, a->ln);
        LORA_BWD(LORA_V, a->dln, a->dv, a->ln);
        rmsnorm_backward(a->dres, dy->attn_norm, a->dln, X, y->attn_norm, SLOT(a, a->rstd1, l, 1), N, C);
    }
#undef LORA_BWD
#undef LORA_DA
#undef LORA_DX
    if (!dw->embed) return;   // a frozen base
    // embedding rows: serial, since one id may appear many times
    for (int i = 0; i < N; i++) {
        float *de = dw->embed + (size_t)a->tok[i] * C;
        const float *d = a->dres + (size_t)i * C;
        for (int j = 0; j < C; j++) de[j] += d[j];
    }
}

int model_backward(Model *m, ModelActs *a, const float *g) {
    const ModelConfig *c = &m->cfg;
    if (!m->grads && !m->lora) return err_set("backward: the model was created without gradients");
    if (a->ready != ACTS_HEAD) return err_set("backward: no forward pass to differentiate");
    int C = c->hidden_size, V = c->vocab_size, N = a->N;
    for (int i = 0; i < N; i++) a->gp[i] = a->tgt[i] >= 0 ? g[a->out_at[i]] : 0.0f;
    zero(a->dln, (size_t)N * C);
    // last chunk first: the forward left its logits in a->logits (with one chunk, all of them)
    int last = (N - 1) / a->head_rows * a->head_rows;
    for (int i0 = last; i0 >= 0; i0 -= a->head_rows) {
        int M = N - i0 < a->head_rows ? N - i0 : a->head_rows;
        const float *h = a->lnf + (size_t)i0 * C;
        if (i0 != a->logits_at) head_mm(m, a, h, M);
        head_dlogits(a->logits, a->gp + i0, a->tgt + i0, a->head_lse + i0, M, V, a->inv_temp);
        mm_bwd(m, a, a->dln + (size_t)i0 * C, m->g.lm_head, NULL, a->logits, NULL, h, NULL, m->w.lm_head, M, C, V);
    }
    a->logits_at = -1;
    trunk_backward(m, a, a->dln);
    return 0;
}

int model_backward_hidden(Model *m, ModelActs *a, const float *dhidden) {
    if (!m->grads && !m->lora) return err_set("backward: the model was created without gradients");
    if (a->ready == ACTS_NONE) return err_set("backward: no forward pass to differentiate");
    trunk_backward(m, a, dhidden);
    return 0;
}
