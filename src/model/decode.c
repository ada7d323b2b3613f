// Incremental transformer forward over the KV cache (Llama / Qwen2 / Qwen3):
// the training forward's math and its RMSNorm/RoPE/SwiGLU kernels, with a
// row-independent matmul (kernels/rowmm.c) and attention (kernels/decode_attn.c)
// so a row's numbers never depend on the batch; rows are (slot, position)
// pairs, not a padded batch. No gradients.
#include "model/decode.h"

#include <string.h>

#include "base/err.h"
#include "base/sys.h"
#include "kernels/decode_attn.h"
#include "kernels/omp.h"
#include "kernels/ops.h"
#include "kernels/rowmm.h"
#include "model/lora.h"
#include "model/io.h"

#define DECODE_SPLIT_ROWS 8   // rows per thread from which threads split rows rather than matrices
#define DECODE_GROUP_ROWS 8   // rows per attention unit (samples of one prompt share its prefix reads)

typedef struct {
    size_t rope, rc, rq, rkv, rf, scores, pack;   // floats per view
    size_t x16;                                   // uint16s of x16
} DecodeSizes;

static DecodeSizes decode_sizes(const ModelConfig *c, int R, int T, int n_threads) {
    DecodeSizes s;
    s.rope = (size_t)T * (size_t)(c->head_dim / 2);
    s.rc = (size_t)R * (size_t)c->hidden_size;
    s.rq = (size_t)R * (size_t)c->n_heads * (size_t)c->head_dim;
    s.rkv = (size_t)R * (size_t)c->n_kv_heads * (size_t)c->head_dim;
    s.rf = (size_t)R * (size_t)c->intermediate_size;
    s.scores = (size_t)n_threads * DECODE_GROUP_ROWS * (size_t)(c->n_heads / c->n_kv_heads) * (size_t)T;
    int kmax = c->hidden_size;
    if (c->n_heads * c->head_dim > kmax) kmax = c->n_heads * c->head_dim;
    if (c->intermediate_size > kmax) kmax = c->intermediate_size;
    s.pack = (size_t)n_threads * rowmm_scratch_floats(kmax);
    s.x16 = (size_t)R * (size_t)(kmax + 2);
    return s;
}

// Whether packed slots are sized for bf16 panels only: processes in bf16 on
// the chip's bf16 dot product pack nothing else (an fp32 model in such a
// process decodes unpacked).
static int packs_half(void) { return model_precision_get() == PRECISION_BF16 && rowmm_bf16; }

// Floats of one packed weight (C in, OC out): fp32 panels, or bf16 ones two to a float.
static size_t slot_floats(int C, int OC, int half) {
    return half ? (rowmm_packed16_halfs(C, OC) + 1) / 2 : rowmm_packed_floats(C, OC);
}

// Floats of all packed matmul weights.
static size_t packed_floats(const ModelConfig *c, int half) {
    int C = c->hidden_size, F = c->intermediate_size, QD = c->n_heads * c->head_dim, KD = c->n_kv_heads * c->head_dim;
    size_t layer = slot_floats(C, QD, half) + 2 * slot_floats(C, KD, half) + slot_floats(QD, C, half) +
                   2 * slot_floats(C, F, half) + slot_floats(F, C, half);
    return (size_t)c->n_layers * layer + slot_floats(C, c->vocab_size, half);
}

size_t decode_packed_bytes(const ModelConfig *cfg) { return arena_round(packed_floats(cfg, packs_half()) * sizeof(float)); }

size_t decode_bytes(const ModelConfig *cfg, int max_rows, int max_T, int n_threads, int pack_weights) {
    DecodeSizes s = decode_sizes(cfg, max_rows, max_T, n_threads);
    size_t f = sizeof(float);
    return 2 * arena_round(s.rope * f) + 2 * arena_round(s.rc * f) + 2 * arena_round(s.rq * f) +
           2 * arena_round(s.rkv * f) + 2 * arena_round(s.rf * f) + arena_round(s.scores * f) +
           arena_round(s.pack * f) + arena_round(s.x16 * sizeof(uint16_t)) + (pack_weights ? arena_round(packed_floats(cfg, packs_half()) * f) : 0);
}

int decode_init(Decoder *d, Arena *a, const ModelConfig *cfg, int max_rows, int max_T, int n_threads, int pack_weights) {
    memset(d, 0, sizeof *d);
    if (max_rows < 1 || max_T < 1 || n_threads < 1) return err_set("decoder: rows, positions and threads must be >= 1");
    if (cfg->head_dim % 2) return err_set("decoder: head_dim %d is odd (rotary needs pairs)", cfg->head_dim);
    DecodeSizes s = decode_sizes(cfg, max_rows, max_T, n_threads);
    size_t f = sizeof(float);
    float **views[] = {&d->cos_tab, &d->sin_tab, &d->x, &d->xn, &d->q, &d->att, &d->k, &d->v, &d->h1, &d->h2, &d->scores, &d->pack};
    size_t sizes[] = {s.rope, s.rope, s.rc, s.rc, s.rq, s.rq, s.rkv, s.rkv, s.rf, s.rf, s.scores, s.pack};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (!(*views[i] = arena_alloc(a, sizes[i] * f))) return err_wrap("decoder scratch");
    if (!(d->x16 = arena_alloc(a, s.x16 * sizeof(uint16_t)))) return err_wrap("decoder scratch");
    if (pack_weights) {
        const ModelConfig *c = cfg;
        int C = c->hidden_size, F = c->intermediate_size, QD = c->n_heads * c->head_dim, KD = c->n_kv_heads * c->head_dim;
        int h = d->packed_half = packs_half();
        if (!(d->packed = arena_alloc(a, packed_floats(cfg, h) * f))) return err_wrap("packed decode weights");
        float *p = d->packed;
        for (int l = 0; l < c->n_layers; l++) {
            PackedLayer *y = &d->packed_layer[l];
            y->wq = p, p += slot_floats(C, QD, h);
            y->wk = p, p += slot_floats(C, KD, h);
            y->wv = p, p += slot_floats(C, KD, h);
            y->wo = p, p += slot_floats(QD, C, h);
            y->w_gate = p, p += slot_floats(C, F, h);
            y->w_up = p, p += slot_floats(C, F, h);
            y->w_down = p, p += slot_floats(F, C, h);
        }
        d->packed_head = p;
    }
    d->cfg = *cfg;
    d->max_rows = max_rows;
    d->max_T = max_T;
    d->n_threads = n_threads;
    d->pack_floats = s.pack / (size_t)n_threads;
    double inv_freq[1024];   // (HD/2)
    if (cfg->head_dim / 2 > 1024) return err_set("decoder: head_dim %d too large", cfg->head_dim);
    model_rope_inv_freq(cfg, inv_freq);
    rope_table_freq(d->cos_tab, d->sin_tab, max_T, cfg->head_dim, inv_freq);
    return 0;
}

// Scatter the rotated keys (transposed) and the values of every row into the cache.
static void cache_store(KVCache *kv, const Decoder *d, int layer, const int *slots, const int *pos, int r0, int N) {
    int NKV = d->cfg.n_kv_heads, HD = d->cfg.head_dim;
    for (int r = 0; r < N; r++)
        for (int h = 0; h < NKV; h++) {
            const float *k = d->k + ((size_t)(r0 + r) * NKV + h) * HD, *v = d->v + ((size_t)(r0 + r) * NKV + h) * HD;
            float *kt = kvcache_k(kv, layer, slots[r], h) + (size_t)(pos[r] / KV_BLOCK) * HD * KV_BLOCK + pos[r] % KV_BLOCK;
            for (int i = 0; i < HD; i++) kt[i * KV_BLOCK] = k[i];
            memcpy(kvcache_v(kv, layer, slots[r], h) + (size_t)pos[r] * HD, v, (size_t)HD * sizeof(float));
        }
}

// The rows of one decode_forward call.
typedef struct {
    const int *slots, *pos, *prefix_slot, *prefix_len;
} Rows;

// Causal attention, for kv head h, of rows [r0, r0 + nr) that read the same
// prompt prefix (its first prefix_len positions in the prefix slot: a prompt
// shared by a group of samples) and the rest of their positions [0, pos]
// from their own slots; S (nr·NH/NKV, T).
static void attend_rows(Decoder *d, const KVCache *kv, int layer, const Rows *rw, int r0, int nr, int h, float *S) {
    int NH = d->cfg.n_heads, NKV = d->cfg.n_kv_heads, HD = d->cfg.head_dim, GRP = NH / NKV;
    int split = rw->prefix_slot ? rw->prefix_len[r0] : 0;
    const float *Kp = split ? kvcache_k(kv, layer, rw->prefix_slot[r0], h) : NULL;
    const float *Vp = split ? kvcache_v(kv, layer, rw->prefix_slot[r0], h) : NULL;
    const float *K[DECODE_GROUP_ROWS], *V[DECODE_GROUP_ROWS];
    int len[DECODE_GROUP_ROWS];
    for (int r = 0; r < nr; r++) {
        K[r] = kvcache_k(kv, layer, rw->slots[r0 + r], h);
        V[r] = kvcache_v(kv, layer, rw->slots[r0 + r], h);
        len[r] = rw->pos[r0 + r] + 1;
    }
    size_t off = ((size_t)r0 * NH + (size_t)h * GRP) * HD;
    decode_attn(d->att + off, d->q + off, (size_t)NH * HD, Kp, Vp, split, K, V, len, nr, GRP, HD, d->max_T, S);
}

// Attention unit u of the rows [r0, r0 + n): kv head u % NKV of the rows in
// block u / NKV (DECODE_GROUP_ROWS of them), in runs that share a prompt prefix.
static void attend_unit(Decoder *d, const KVCache *kv, int layer, const Rows *rw, int r0, int n, int u, float *S) {
    int NKV = d->cfg.n_kv_heads, r = r0 + u / NKV * DECODE_GROUP_ROWS;
    int e = r + DECODE_GROUP_ROWS < r0 + n ? r + DECODE_GROUP_ROWS : r0 + n;
    while (r < e) {
        int k = 1;
        if (rw->prefix_slot && rw->prefix_len[r] > 0)
            while (r + k < e && rw->prefix_slot[r + k] == rw->prefix_slot[r] && rw->prefix_len[r + k] == rw->prefix_len[r]) k++;
        attend_rows(d, kv, layer, rw, r, k, u % NKV, S);
        r += k;
    }
}

// The bf16 panels of weight w (OC, C) of m into slot: from its fp32 values,
// or from its bf16 copy when that is all m holds.
static void pack16_one(float *slot, const Model *m, const float *w, int C, int OC) {
    if (m->bf16_only) rowmm_pack16_bf16((uint16_t *)slot, model_w16(m, (size_t)(w - m->params)), C, OC);
    else rowmm_pack16((uint16_t *)slot, w, C, OC);
}

// The bf16 panels of every matmul weight, each in its slot.
static void pack16_all(Decoder *d, const Model *m) {
    const ModelConfig *c = &d->cfg;
    int C = c->hidden_size, F = c->intermediate_size, QD = c->n_heads * c->head_dim, KD = c->n_kv_heads * c->head_dim;
    for (int l = 0; l < c->n_layers; l++) {
        const LayerView *w = &m->w.layer[l];
        PackedLayer *y = &d->packed_layer[l];
        pack16_one(y->wq, m, w->wq, C, QD);
        pack16_one(y->wk, m, w->wk, C, KD);
        pack16_one(y->wv, m, w->wv, C, KD);
        pack16_one(y->wo, m, w->wo, QD, C);
        pack16_one(y->w_gate, m, w->w_gate, C, F);
        pack16_one(y->w_up, m, w->w_up, C, F);
        pack16_one(y->w_down, m, w->w_down, F, C);
    }
    pack16_one(d->packed_head, m, m->w.lm_head, C, c->vocab_size);
}

void decode_pack(Decoder *d, const Model *m) {
    if (!d->packed) return;
    const ModelConfig *c = &d->cfg;
    int C = c->hidden_size, F = c->intermediate_size, QD = c->n_heads * c->head_dim, KD = c->n_kv_heads * c->head_dim;
    d->bf16 = m->w16 != NULL;
    d->native16 = d->bf16 && rowmm_bf16;
    d->use_packed = d->native16 || !d->packed_half;
    if (d->native16) {
        pack16_all(d, m);
        return;
    }
    if (!d->use_packed || m->bf16_only) return;   // fp32 panels do not fit; decode_forward refuses bf16_only
    for (int l = 0; l < c->n_layers; l++) {
        const LayerView *w = &m->w.layer[l];
        PackedLayer *y = &d->packed_layer[l];
        rowmm_pack(y->wq, w->wq, C, QD);
        rowmm_pack(y->wk, w->wk, C, KD);
        rowmm_pack(y->wv, w->wv, C, KD);
        rowmm_pack(y->wo, w->wo, QD, C);
        rowmm_pack(y->w_gate, w->w_gate, C, F);
        rowmm_pack(y->w_up, w->w_up, C, F);
        rowmm_pack(y->w_down, w->w_down, F, C);
    }
    rowmm_pack(d->packed_head, m->w.lm_head, C, c->vocab_size);
    if (d->bf16) bf16_round_f32(d->packed, packed_floats(c, 0));
}

void decode_release(Decoder *d, Arena *a) {
    if (!d->packed) return;
    arena_release_range(a, d->packed, packed_floats(&d->cfg, d->packed_half) * sizeof(float));
    d->use_packed = 0;
}

// A matmul input (n, w) rounded to bf16 in place for a bf16 model.
static void round_in(const Decoder *d, float *x, int n, int w) {
    if (d->bf16 && !d->native16) bf16_round_f32(x, (size_t)n * (size_t)w);
}

// out = inp · wᵀ + b from the packed copy when there is one; unpacked, the
// panels are packed into scratch by at most nt threads.
static void mm(Decoder *d, float *out, const float *inp, const float *w, const float *packed, const float *b, int N,
               int C, int OC, float *scratch, int nt, uint16_t *x16) {
    if (d->native16) {
        RowmmJob job = {out, NULL, b, OC, (const uint16_t *)packed};
        rowmm_forward_jobs16(&job, 1, inp, x16, N, C);
    } else if (d->use_packed) rowmm_forward_packed(out, inp, packed, b, N, C, OC);
    else rowmm_forward(out, inp, w, b, N, C, OC, scratch, nt);
}

static void add_inplace(float *x, const float *y, size_t n) {
    OMP(simd)
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

// A range of rows [r0, r0 + n) and the threads that work on it: inside a
// parallel region each thread takes its own range with tid ≥ 0 and every
// kernel runs on that thread alone; outside one (tid = -1) the kernels split
// their own work across threads.
typedef struct {
    int r0, n, tid;
} Part;

static float *part_scratch(const Decoder *d, const Part *p) { return p->tid < 0 ? d->pack : d->pack + (size_t)p->tid * d->pack_floats; }

// The part's rows of x16 (parts own disjoint rows, each row kmax + 2 wide).
static uint16_t *part_x16(const Decoder *d, const Part *p) {
    const ModelConfig *c = &d->cfg;
    int kmax = c->hidden_size;
    if (c->n_heads * c->head_dim > kmax) kmax = c->n_heads * c->head_dim;
    if (c->intermediate_size > kmax) kmax = c->intermediate_size;
    return d->x16 + (size_t)p->r0 * (size_t)(kmax + 2);
}

// First half of layer l for the part's rows: x → q, k, v, rotated, and k/v into the cache.
static void layer_in(Decoder *d, const Model *m, KVCache *kv, int l, const Rows *rw, const Part *p) {
    const ModelConfig *c = &d->cfg;
    const LayerView *w = &m->w.layer[l];
    const PackedLayer *pk = &d->packed_layer[l];
    int C = c->hidden_size, NH = c->n_heads, NKV = c->n_kv_heads, HD = c->head_dim, QD = NH * HD, KD = NKV * HD;
    int n = p->n, nt = p->tid < 0 ? d->n_threads : 1;
    float eps = (float)c->rms_eps;
    float *x = d->x + (size_t)p->r0 * C, *xn = d->xn + (size_t)p->r0 * C;
    float *q = d->q + (size_t)p->r0 * QD, *k = d->k + (size_t)p->r0 * KD, *v = d->v + (size_t)p->r0 * KD;
    rmsnorm_forward(xn, NULL, x, w->attn_norm, n, C, eps);
    round_in(d, xn, n, C);
    if (d->native16) {
        RowmmJob qkv[3] = {{q, NULL, w->bq, QD, (const uint16_t *)pk->wq}, {k, NULL, w->bk, KD, (const uint16_t *)pk->wk},
                           {v, NULL, w->bv, KD, (const uint16_t *)pk->wv}};
        rowmm_forward_jobs16(qkv, 3, xn, part_x16(d, p), n, C);
    } else if (d->use_packed) {
        RowmmJob qkv[3] = {{q, pk->wq, w->bq, QD, NULL}, {k, pk->wk, w->bk, KD, NULL}, {v, pk->wv, w->bv, KD, NULL}};
        rowmm_forward_jobs(qkv, 3, xn, n, C);
    } else {
        mm(d, q, xn, w->wq, NULL, w->bq, n, C, QD, part_scratch(d, p), nt, part_x16(d, p));
        mm(d, k, xn, w->wk, NULL, w->bk, n, C, KD, part_scratch(d, p), nt, part_x16(d, p));
        mm(d, v, xn, w->wv, NULL, w->bv, n, C, KD, part_scratch(d, p), nt, part_x16(d, p));
    }
    lora_rows(m->lora, l, LORA_Q, q, xn, n);
    lora_rows(m->lora, l, LORA_K, k, xn, n);
    lora_rows(m->lora, l, LORA_V, v, xn, n);
    if (c->qk_norm) {
        rmsnorm_forward(q, NULL, q, w->q_norm, n * NH, HD, eps);
        rmsnorm_forward(k, NULL, k, w->k_norm, n * NKV, HD, eps);
    }
    rope_forward(q, rw->pos + p->r0, d->cos_tab, d->sin_tab, n, NH, HD);
    rope_forward(k, rw->pos + p->r0, d->cos_tab, d->sin_tab, n, NKV, HD);
    cache_store(kv, d, l, rw->slots + p->r0, rw->pos + p->r0, p->r0, n);
}

// Second half of layer l, once every row's keys and values are in the cache:
// x += Wo·attention;  x += Wdown · (silu(Wgate·n(x)) ⊙ Wup·n(x)).
static void layer_out(Decoder *d, const Model *m, const KVCache *kv, int l, const Rows *rw, const Part *p) {
    const ModelConfig *c = &d->cfg;
    const LayerView *w = &m->w.layer[l];
    const PackedLayer *pk = &d->packed_layer[l];
    int C = c->hidden_size, F = c->intermediate_size, NKV = c->n_kv_heads, QD = c->n_heads * c->head_dim;
    int n = p->n, nt = p->tid < 0 ? d->n_threads : 1, GT = DECODE_GROUP_ROWS * (c->n_heads / NKV) * d->max_T;
    float eps = (float)c->rms_eps;
    float *x = d->x + (size_t)p->r0 * C, *xn = d->xn + (size_t)p->r0 * C, *att = d->att + (size_t)p->r0 * QD;
    float *h1 = d->h1 + (size_t)p->r0 * F, *h2 = d->h2 + (size_t)p->r0 * F;
    int units = (n + DECODE_GROUP_ROWS - 1) / DECODE_GROUP_ROWS * NKV;
    if (p->tid >= 0) {
        for (int u = 0; u < units; u++) attend_unit(d, kv, l, rw, p->r0, n, u, d->scores + (size_t)p->tid * GT);
    } else {
        int ntc = threads_get() < nt ? threads_get() : nt;
        (void)ntc;   // unused without OpenMP
        OMP(parallel for schedule(dynamic, 1) num_threads(ntc) if (units > 1))
        for (int u = 0; u < units; u++) attend_unit(d, kv, l, rw, p->r0, n, u, d->scores + (size_t)thread_index() * GT);
    }
    round_in(d, att, n, QD);
    mm(d, xn, att, w->wo, pk->wo, NULL, n, QD, C, part_scratch(d, p), nt, part_x16(d, p));
    lora_rows(m->lora, l, LORA_O, xn, att, n);
    add_inplace(x, xn, (size_t)n * C);
    rmsnorm_forward(xn, NULL, x, w->mlp_norm, n, C, eps);
    round_in(d, xn, n, C);
    if (d->native16) {
        RowmmJob gu[2] = {{h1, NULL, NULL, F, (const uint16_t *)pk->w_gate}, {h2, NULL, NULL, F, (const uint16_t *)pk->w_up}};
        rowmm_forward_jobs16(gu, 2, xn, part_x16(d, p), n, C);
    } else if (d->use_packed) {
        RowmmJob gu[2] = {{h1, pk->w_gate, NULL, F, NULL}, {h2, pk->w_up, NULL, F, NULL}};
        rowmm_forward_jobs(gu, 2, xn, n, C);
    } else {
        mm(d, h1, xn, w->w_gate, NULL, NULL, n, C, F, part_scratch(d, p), nt, part_x16(d, p));
        mm(d, h2, xn, w->w_up, NULL, NULL, n, C, F, part_scratch(d, p), nt, part_x16(d, p));
    }
    lora_rows(m->lora, l, LORA_GATE, h1, xn, n);
    lora_rows(m->lora, l, LORA_UP, h2, xn, n);
    swiglu_forward(h1, h1, h2, (size_t)n * F);
    round_in(d, h1, n, F);
    mm(d, xn, h1, w->w_down, pk->w_down, NULL, n, F, C, part_scratch(d, p), nt, part_x16(d, p));
    lora_rows(m->lora, l, LORA_DOWN, xn, h1, n);
    add_inplace(x, xn, (size_t)n * C);
}

// Head entries [i0, i1): logits row i = lm_head · rmsnorm(x[head_rows[i]]),
// the rows gathered into xn (row i), which no layer needs any more.
static void head_part(Decoder *d, const Model *m, const int *head_rows, int i0, int i1, float *logits, const Part *p) {
    int C = d->cfg.hidden_size, V = d->cfg.vocab_size, n = i1 - i0;
    if (n <= 0) return;
    float *hx = d->xn + (size_t)i0 * C;
    for (int i = i0; i < i1; i++) memcpy(d->xn + (size_t)i * C, d->x + (size_t)head_rows[i] * C, (size_t)C * sizeof(float));
    rmsnorm_forward(hx, NULL, hx, m->w.norm, n, C, (float)d->cfg.rms_eps);
    round_in(d, hx, n, C);
    mm(d, logits + (size_t)i0 * V, hx, m->w.lm_head, d->packed_head, NULL, n, C, V, part_scratch(d, p),
       p->tid < 0 ? d->n_threads : 1, part_x16(d, p));
}

// Whether no row reads a cache position another row of the call writes: the
// slots are distinct and every write to a slot that some row reads as its
// prefix lies at or past that prefix. O(N²) compares, for N ≤ max_rows.
static int rows_independent(const Rows *rw, int N) {
    if (!rw->prefix_slot) return N == 1;
    for (int r = 0; r < N; r++)
        for (int s = 0; s < N; s++) {
            if (s != r && rw->slots[s] == rw->slots[r]) return 0;
            if (rw->slots[s] == rw->prefix_slot[r] && rw->pos[s] < rw->prefix_len[r]) return 0;
        }
    return 1;
}

int decode_forward(Decoder *d, const Model *m, KVCache *kv, const int *tokens, const int *slots, const int *pos,
                   const int *prefix_slot, const int *prefix_len, int N, const int *head_rows, int n_head, float *logits) {
    const ModelConfig *c = &d->cfg;
    int C = c->hidden_size, V = c->vocab_size;
    if (N < 1 || N > d->max_rows || n_head < 0 || n_head > d->max_rows)
        return err_set("decode: %d rows / %d head rows for a decoder of %d rows", N, n_head, d->max_rows);
    if (kv->max_T > d->max_T) return err_set("decode: cache has %d positions, rotary table %d", kv->max_T, d->max_T);
    for (int r = 0; r < N; r++) {
        if (tokens[r] < 0 || tokens[r] >= V) return err_set("decode: token id %d outside the vocabulary (%d)", tokens[r], V);
        if (slots[r] < 0 || slots[r] >= kv->n_slots) return err_set("decode: slot %d outside [0, %d)", slots[r], kv->n_slots);
        if (pos[r] < 0 || pos[r] >= kv->max_T) return err_set("decode: position %d outside [0, %d)", pos[r], kv->max_T);
        if (prefix_slot && (prefix_slot[r] < 0 || prefix_slot[r] >= kv->n_slots || prefix_len[r] < 0 || prefix_len[r] > pos[r]))
            return err_set("decode: row %d: prefix of %d positions in slot %d for position %d", r, prefix_len[r],
                           prefix_slot[r], pos[r]);
    }
    if (m->bf16_only && !d->native16)
        return err_set("decode: a model held in bf16 only needs the chip's bf16 dot product (AVX512_BF16) and "
                       "decode_pack first");
    if ((m->w16 != NULL) != d->bf16 || (d->bf16 && !d->use_packed))
        return err_set("decode: a %s model needs decode_pack on a decoder with packed weights first",
                       m->w16 ? "bf16" : "fp32");
    for (int i = 0; i < n_head; i++)
        if (head_rows[i] < 0 || head_rows[i] >= N) return err_set("decode: head row %d outside [0, %d)", head_rows[i], N);
    for (int r = 0; r < N; r++) model_embed_row(m, tokens[r], d->x + (size_t)r * C);
    Rows rw = {slots, pos, prefix_slot, prefix_len};
    int nt = threads_get() < d->n_threads ? threads_get() : d->n_threads;

    if (nt > 1 && N >= nt * DECODE_SPLIT_ROWS) {
        // each thread runs whole layers on its own rows; the one barrier per
        // layer orders every key/value store before any row reads the cache.
        // A decode step needs none: then the threads drift apart, and one's
        // attention (memory-bound) overlaps the other's matmuls (compute-bound).
        int indep = rows_independent(&rw, N), own_head = indep && n_head == N;
        for (int i = 0; i < n_head && own_head; i++) own_head = head_rows[i] == i;
        OMP(parallel num_threads(nt))
        {
            int t = thread_index(), T = thread_team_size();
            Part p = {N * t / T, N * (t + 1) / T - N * t / T, t};
            for (int l = 0; l < c->n_layers; l++) {
                layer_in(d, m, kv, l, &rw, &p);
                if (!indep) {
                    OMP(barrier)
                }
                layer_out(d, m, kv, l, &rw, &p);
            }
            if (!own_head) {
                OMP(barrier)
            }
            head_part(d, m, head_rows, n_head * t / T, n_head * (t + 1) / T, logits, &p);
        }
        return 0;
    }
    Part all = {0, N, -1};
    for (int l = 0; l < c->n_layers; l++) {
        layer_in(d, m, kv, l, &rw, &all);
        layer_out(d, m, kv, l, &rw, &all);
    }
    head_part(d, m, head_rows, 0, n_head, logits, &all);
    return 0;
}
