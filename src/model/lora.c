// LoRA adapters: their layout with PEFT tensor names, the forward and backward
// of one adapted linear layer, PEFT's files, and merging into a base model.
// Dropout masks are recomputed from a counter-based generator in the backward,
// never stored.
#include "model/lora.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/rng.h"
#include "kernels/omp.h"
#include "kernels/ops.h"
#include "model/safetensors.h"

#define LO(x) offsetof(LoraOpts, x)
const OptDef lora_options[] = {
    {"lora_r", OPT_INT, LO(lora_r), 0, 0, LORA_MAX_R, NULL, "LoRA rank: train adapters on a frozen base (0: full fine-tuning)", NULL, NULL, 0},
    {"lora_alpha", OPT_DOUBLE, LO(lora_alpha), 0, 1e-6, 1e6, NULL, "LoRA scale numerator: adapters add (alpha / r)·B·A·x", NULL, NULL, 0},
    {"lora_dropout", OPT_DOUBLE, LO(lora_dropout), 0, 0, 0.95, NULL, "dropout on the adapters' input in training forwards", NULL, NULL, 0},
    {"lora_targets", OPT_STRING, LO(lora_targets), sizeof(((LoraOpts *)0)->lora_targets), 0, 0, NULL,
     "layers with adapters: q,k,v,o,gate,up,down, PEFT names (q_proj, ...) or all-linear", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0}};
#undef LO

static const char *const short_names[LORA_N_TARGETS] = {"q", "k", "v", "o", "gate", "up", "down"};
static const char *const peft_names[LORA_N_TARGETS] = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                       "gate_proj", "up_proj", "down_proj"};
static const char *const module_paths[LORA_N_TARGETS] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                         "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj",
                                                         "mlp.down_proj"};

static int target_index(const char *name) {
    for (int t = 0; t < LORA_N_TARGETS; t++)
        if (strcmp(name, short_names[t]) == 0 || strcmp(name, peft_names[t]) == 0) return t;
    return -1;
}

int lora_targets_parse(const char *list, unsigned *targets) {
    *targets = 0;
    if (strcmp(list, "all-linear") == 0 || strcmp(list, "all") == 0) {
        *targets = (1u << LORA_N_TARGETS) - 1;
        return 0;
    }
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf) return err_set("lora targets: list too long");
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        int t = target_index(tok);
        if (t < 0)
            return err_set("lora targets: unknown layer \"%s\" (known: q,k,v,o,gate,up,down, their PEFT names "
                           "q_proj..down_proj, or all-linear)", tok);
        *targets |= 1u << t;
    }
    if (!*targets) return err_set("lora targets: the list \"%s\" names no layer", list);
    return 0;
}

void lora_targets_names(unsigned targets, char *out, size_t cap) {
    size_t n = 0;
    out[0] = 0;
    for (int t = 0; t < LORA_N_TARGETS; t++)
        if (targets >> t & 1) n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "", peft_names[t]);
}

void lora_dims(const ModelConfig *c, int t, int *in, int *out) {
    int C = c->hidden_size, F = c->intermediate_size, QD = c->n_heads * c->head_dim, KD = c->n_kv_heads * c->head_dim;
    switch (t) {
    case LORA_Q: *in = C, *out = QD; break;
    case LORA_K:
    case LORA_V: *in = C, *out = KD; break;
    case LORA_O: *in = QD, *out = C; break;
    case LORA_GATE:
    case LORA_UP: *in = C, *out = F; break;
    default: *in = F, *out = C; break;
    }
}

size_t lora_param_count(const ModelConfig *c, int r, unsigned targets) {
    size_t n = 0;
    for (int t = 0; t < LORA_N_TARGETS; t++) {
        int in, out;
        lora_dims(c, t, &in, &out);
        if (targets >> t & 1) n += (size_t)r * ((size_t)in + (size_t)out);
    }
    return n * (size_t)c->n_layers;
}

// ---------------------------------------------------------------- layout

int lora_create(Lora *lo, const ModelConfig *c, int r, double alpha, double dropout, unsigned targets, int with_grads) {
    memset(lo, 0, sizeof *lo);
    if (r < 1 || r > LORA_MAX_R) return err_set("lora: rank %d not in 1..%d", r, LORA_MAX_R);
    if (!(alpha > 0)) return err_set("lora: lora_alpha must be positive");
    if (!(dropout >= 0 && dropout < 1)) return err_set("lora: lora_dropout must be in [0, 1)");
    if (!targets) return err_set("lora: no target layers");
    if (model_config_check(c) != 0) return -1;
    lo->r = r;
    lo->alpha = alpha;
    lo->dropout = dropout;
    lo->scale = (float)(alpha / r);
    lo->targets = targets;
    Model *ad = &lo->ad;
    ad->cfg = *c;
    int per_layer = __builtin_popcount(targets);
    ad->tensors = calloc((size_t)c->n_layers * per_layer * 2, sizeof *ad->tensors);
    if (!ad->tensors) return err_set("out of memory");
    size_t off = 0;
    for (int l = 0; l < c->n_layers; l++)
        for (int t = 0; t < LORA_N_TARGETS; t++) {
            if (!(targets >> t & 1)) continue;
            int in, out;
            lora_dims(c, t, &in, &out);
            for (int ab = 0; ab < 2; ab++) {
                ParamTensor *p = &ad->tensors[ad->n_tensors++];
                snprintf(p->name, sizeof p->name, "base_model.model.model.layers.%d.%s.lora_%c.weight", l,
                         module_paths[t], ab ? 'B' : 'A');
                p->ndim = 2;
                p->shape[0] = ab ? out : r;
                p->shape[1] = ab ? r : in;
                p->offset = off;
                p->numel = (size_t)r * (ab ? out : in);
                off += p->numel;
            }
        }
    ad->n_params = off;
    size_t bytes = arena_round(off * sizeof(float));
    if (arena_init(&ad->arena, bytes * (with_grads ? 2 : 1)) != 0) {
        free(ad->tensors);
        ad->tensors = NULL;
        return err_wrap("lora adapters of rank %d (%zu parameters)", r, off);
    }
    ad->params = arena_alloc(&ad->arena, off * sizeof(float));
    memset(ad->params, 0, off * sizeof(float));
    if (with_grads) {
        ad->grads = arena_alloc(&ad->arena, off * sizeof(float));
        memset(ad->grads, 0, off * sizeof(float));
    }
    int k = 0;
    for (int l = 0; l < c->n_layers; l++)
        for (int t = 0; t < LORA_N_TARGETS; t++) {
            if (!(targets >> t & 1)) continue;
            lo->A[l][t] = ad->params + ad->tensors[k].offset;
            lo->B[l][t] = ad->params + ad->tensors[k + 1].offset;
            if (with_grads) {
                lo->dA[l][t] = ad->grads + ad->tensors[k].offset;
                lo->dB[l][t] = ad->grads + ad->tensors[k + 1].offset;
            }
            k += 2;
        }
    return 0;
}

void lora_free(Lora *lo) {
    model_free(&lo->ad);
    memset(lo, 0, sizeof *lo);
}

void lora_init_random(Lora *lo, uint64_t seed) {
    Rng g;
    rng_init(&g, seed);
    for (int i = 0; i < lo->ad.n_tensors; i += 2) {
        const ParamTensor *a = &lo->ad.tensors[i];
        float bound = 1.0f / sqrtf((float)a->shape[1]);
        float *p = lo->ad.params + a->offset;
        for (size_t j = 0; j < a->numel; j++) p[j] = (float)((2 * rng_uniform(&g) - 1) * bound);
        memset(lo->ad.params + lo->ad.tensors[i + 1].offset, 0, lo->ad.tensors[i + 1].numel * sizeof(float));
    }
}

// ---------------------------------------------------------------- compute

// xd (N, in) = x ⊙ mask / (1 − p), the mask a pure function of (seed, tick,
// layer, target, row, column): forward and backward draw the same one.
static void dropout_apply(const Lora *lo, int l, int t, float *xd, const float *x, int N, int in, uint64_t tick) {
    float p = (float)lo->dropout, keep_scale = 1.0f / (1.0f - p);
    uint32_t thresh = (uint32_t)(p * 4294967296.0);
    uint32_t key[2] = {(uint32_t)lo->seed, (uint32_t)(lo->seed >> 32)};
    OMP(parallel for schedule(static))
    for (int i = 0; i < N; i++) {
        for (int j0 = 0; j0 < in; j0 += 4) {
            uint32_t ctr[4] = {(uint32_t)tick, (uint32_t)(tick >> 32) ^ (uint32_t)(l * LORA_N_TARGETS + t) << 16,
                               (uint32_t)i, (uint32_t)j0}, r[4];
            philox4x32(r, ctr, key);
            for (int j = j0; j < j0 + 4 && j < in; j++) {
                size_t o = (size_t)i * in + j;
                xd[o] = r[j - j0] < thresh ? 0.0f : x[o] * keep_scale;
            }
        }
    }
}

static int dropout_on(const Lora *lo) { return lo->train && lo->dropout > 0; }

// The adapter's input: x, or dropout(x) written into xd.
static const float *adapter_input(const Lora *lo, int l, int t, const float *x, float *xd, int N, int in, uint64_t tick) {
    if (!dropout_on(lo)) return x;
    dropout_apply(lo, l, t, xd, x, N, in, tick);
    return xd;
}

void lora_forward(const Lora *lo, int l, int t, float *y, float *u, const float *x, float *xd, int N, uint64_t tick) {
    if (!lora_active(lo, l, t)) return;
    int in, out, r = lo->r;
    lora_dims(&lo->ad.cfg, t, &in, &out);
    const float *xin = adapter_input(lo, l, t, x, xd, N, in, tick);
    // u = x·Aᵀ;  y += scale · u·Bᵀ
    gemm(0, 1, N, r, in, 1.0f, xin, in, lo->A[l][t], in, 0.0f, u, r);
    gemm(0, 1, N, out, r, lo->scale, u, r, lo->B[l][t], r, 1.0f, y, out);
}

void lora_backward_dx(Lora *lo, int l, int t, float *dx, float *du, const float *dy, const float *u, float *xd, int N,
                      uint64_t tick) {
    if (!lora_active(lo, l, t)) return;
    int in, out, r = lo->r;
    lora_dims(&lo->ad.cfg, t, &in, &out);
    // du = scale · dy·B;  dB += scale · dyᵀ·u
    gemm(0, 0, N, r, out, lo->scale, dy, out, lo->B[l][t], r, 0.0f, du, r);
    if (lo->dB[l][t]) gemm(1, 0, out, r, N, lo->scale, dy, out, u, r, 1.0f, lo->dB[l][t], r);
    if (!dx) return;
    if (!dropout_on(lo)) {
        gemm(0, 0, N, in, r, 1.0f, du, r, lo->A[l][t], in, 1.0f, dx, in);
        return;
    }
    // dx += (du·A) ⊙ mask / (1 − p): the mask applied to du·A by dropout_apply itself
    gemm(0, 0, N, in, r, 1.0f, du, r, lo->A[l][t], in, 0.0f, xd, in);
    dropout_apply(lo, l, t, xd, xd, N, in, tick);
    size_t n = (size_t)N * in;
    OMP(parallel for simd schedule(static))
    for (size_t i = 0; i < n; i++) dx[i] += xd[i];
}

void lora_backward_da(Lora *lo, int l, int t, const float *du, const float *x, float *xd, int N, uint64_t tick) {
    if (!lora_active(lo, l, t) || !lo->dA[l][t]) return;
    int in, out, r = lo->r;
    lora_dims(&lo->ad.cfg, t, &in, &out);
    const float *xin = adapter_input(lo, l, t, x, xd, N, in, tick);
    // dA += duᵀ · dropout(x)
    gemm(1, 0, r, in, N, 1.0f, du, r, xin, in, 1.0f, lo->dA[l][t], in);
}

void lora_rows(const Lora *lo, int l, int t, float *y, const float *x, int n) {
    if (!lora_active(lo, l, t)) return;
    int in, out, r = lo->r;
    lora_dims(&lo->ad.cfg, t, &in, &out);
    const float *A = lo->A[l][t], *B = lo->B[l][t];
    float s = lo->scale;
    OMP(parallel for schedule(static) if (n > 1))
    for (int i = 0; i < n; i++) {
        float u[LORA_MAX_R];
        const float *xi = x + (size_t)i * in;
        float *yi = y + (size_t)i * out;
        for (int k = 0; k < r; k++) {
            const float *a = A + (size_t)k * in;
            float acc = 0;
            for (int j = 0; j < in; j++) acc += a[j] * xi[j];
            u[k] = s * acc;
        }
        for (int o = 0; o < out; o++) {
            const float *b = B + (size_t)o * r;
            float acc = 0;
            for (int k = 0; k < r; k++) acc += b[k] * u[k];
            yi[o] += acc;
        }
    }
}

// ---------------------------------------------------------------- merge

static float *base_weight(Model *m, int l, int t) {
    LayerView *y = &m->w.layer[l];
    float *w[LORA_N_TARGETS] = {y->wq, y->wk, y->wv, y->wo, y->w_gate, y->w_up, y->w_down};
    return w[t];
}

int lora_merge(Model *m, const Lora *lo) {
    const ModelConfig *a = &m->cfg, *b = &lo->ad.cfg;
    if (a->n_layers != b->n_layers || a->hidden_size != b->hidden_size || a->intermediate_size != b->intermediate_size ||
        a->n_heads != b->n_heads || a->n_kv_heads != b->n_kv_heads || a->head_dim != b->head_dim)
        return err_set("lora merge: the adapters were made for another model shape");
    if (m->bf16_only) return err_set("lora merge: the base is held in bf16 only; merge into a base loaded in fp32");
    for (int l = 0; l < a->n_layers; l++)
        for (int t = 0; t < LORA_N_TARGETS; t++) {
            if (!lo->A[l][t]) continue;
            int in, out;
            lora_dims(a, t, &in, &out);
            // W (out, in) += scale · B (out, r) · A (r, in)
            gemm(0, 0, out, in, lo->r, lo->scale, lo->B[l][t], lo->r, lo->A[l][t], in, 1.0f, base_weight(m, l, t), in);
        }
    return 0;
}
