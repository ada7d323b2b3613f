// The parameter layout: Hugging Face tensor names, shapes and offsets into one
// flat array. Every per-layer tensor is contiguous, in the order HF writes them.
#include "model/model.h"
#include "base/err.h"
#include "base/rng.h"
#include "model/safetensors.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int model_config_check(const ModelConfig *c) {
    if (c->vocab_size <= 0) return err_set("config: vocab_size must be positive");
    if (c->hidden_size <= 0) return err_set("config: hidden_size must be positive");
    if (c->n_layers <= 0 || c->n_layers > AHA_MAX_LAYERS)
        return err_set("config: num_hidden_layers must be in 1..%d", AHA_MAX_LAYERS);
    if (c->n_heads <= 0) return err_set("config: num_attention_heads must be positive");
    if (c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads != 0)
        return err_set("config: num_key_value_heads (%d) must divide num_attention_heads (%d)",
                       c->n_kv_heads, c->n_heads);
    if (c->head_dim <= 0 || c->head_dim % 2 != 0)
        return err_set("config: head_dim (%d) must be positive and even", c->head_dim);
    if (c->intermediate_size <= 0) return err_set("config: intermediate_size must be positive");
    if (!(c->rope_theta > 0)) return err_set("config: rope_theta must be positive");
    if (!(c->rms_eps > 0)) return err_set("config: rms_norm_eps must be positive");
    if (c->max_position <= 0) return err_set("config: max_position_embeddings must be positive");
    // The layout and the kernels size a query row as an int.
    if ((long long)c->n_heads * c->head_dim > INT_MAX)
        return err_set("config: num_attention_heads (%d) x head_dim (%d) is too large", c->n_heads, c->head_dim);
    return 0;
}

// Each entry binds a name and shape to the view slot that points at it.
typedef struct {
    ParamTensor *out;
    int cap, n;
    size_t off;
    char overflow[96];      // the first tensor whose size or offset would not fit, or ""
    WeightView *w;
    float *base;
} Walk;

static void add(Walk *k, float **slot, const char *name, int rows, int cols, int is_norm) {
    size_t numel, end;
    if (__builtin_mul_overflow((size_t)rows, (size_t)(cols ? cols : 1), &numel) ||
        __builtin_add_overflow(k->off, numel, &end) || end > AHA_MAX_PARAMS) {
        if (!k->overflow[0]) snprintf(k->overflow, sizeof k->overflow, "%s", name);
        return;
    }
    if (k->out && k->n < k->cap) {
        ParamTensor *t = &k->out[k->n];
        snprintf(t->name, sizeof t->name, "%s", name);
        t->offset = k->off;
        t->numel = numel;
        t->ndim = cols ? 2 : 1;
        t->shape[0] = rows;
        t->shape[1] = cols;
        t->is_norm = is_norm;
    }
    if (k->w && slot) *slot = k->base + k->off;
    k->n++;
    k->off += numel;
}

static void walk(Walk *k, const ModelConfig *c) {
    int C = c->hidden_size, V = c->vocab_size, F = c->intermediate_size;
    int QD = c->n_heads * c->head_dim, KD = c->n_kv_heads * c->head_dim, HD = c->head_dim;
    WeightView *w = k->w;
    char name[96];
    add(k, w ? &w->embed : NULL, "model.embed_tokens.weight", V, C, 0);
    for (int l = 0; l < c->n_layers; l++) {
        LayerView *y = w ? &w->layer[l] : NULL;
#define NAME(s) (snprintf(name, sizeof name, "model.layers.%d.%s", l, s), name)
        add(k, y ? &y->attn_norm : NULL, NAME("input_layernorm.weight"), C, 0, 1);
        add(k, y ? &y->wq : NULL, NAME("self_attn.q_proj.weight"), QD, C, 0);
        if (c->attn_bias) add(k, y ? &y->bq : NULL, NAME("self_attn.q_proj.bias"), QD, 0, 0);
        add(k, y ? &y->wk : NULL, NAME("self_attn.k_proj.weight"), KD, C, 0);
        if (c->attn_bias) add(k, y ? &y->bk : NULL, NAME("self_attn.k_proj.bias"), KD, 0, 0);
        add(k, y ? &y->wv : NULL, NAME("self_attn.v_proj.weight"), KD, C, 0);
        if (c->attn_bias) add(k, y ? &y->bv : NULL, NAME("self_attn.v_proj.bias"), KD, 0, 0);
        if (c->qk_norm) {
            add(k, y ? &y->q_norm : NULL, NAME("self_attn.q_norm.weight"), HD, 0, 1);
            add(k, y ? &y->k_norm : NULL, NAME("self_attn.k_norm.weight"), HD, 0, 1);
        }
        add(k, y ? &y->wo : NULL, NAME("self_attn.o_proj.weight"), C, QD, 0);
        add(k, y ? &y->mlp_norm : NULL, NAME("post_attention_layernorm.weight"), C, 0, 1);
        add(k, y ? &y->w_gate : NULL, NAME("mlp.gate_proj.weight"), F, C, 0);
        add(k, y ? &y->w_up : NULL, NAME("mlp.up_proj.weight"), F, C, 0);
        add(k, y ? &y->w_down : NULL, NAME("mlp.down_proj.weight"), C, F, 0);
#undef NAME
    }
    add(k, w ? &w->norm : NULL, "model.norm.weight", C, 0, 1);
    if (!c->tie_embeddings) add(k, w ? &w->lm_head : NULL, "lm_head.weight", V, C, 0);
    else if (w) w->lm_head = w->embed;
}

int model_layout(const ModelConfig *cfg, ParamTensor *tensors, int cap, size_t *n_params) {
    if (model_config_check(cfg) != 0) return -1;
    Walk k = {.out = tensors, .cap = cap};
    walk(&k, cfg);
    if (k.overflow[0])
        return err_set("config: the model would have more than %llu parameters (at tensor \"%s\"); vocab_size %d, "
                       "hidden_size %d, intermediate_size %d, num_hidden_layers %d are too large together",
                       (unsigned long long)AHA_MAX_PARAMS, k.overflow, cfg->vocab_size, cfg->hidden_size,
                       cfg->intermediate_size, cfg->n_layers);
    if (n_params) *n_params = k.off;
    return k.n;
}

void model_view(WeightView *w, const ModelConfig *cfg, float *base) {
    memset(w, 0, sizeof *w);
    if (!base) return;
    Walk k = {.w = w, .base = base};
    walk(&k, cfg);
}

const ParamTensor *model_find_tensor(const Model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

int model_create(Model *m, const ModelConfig *cfg, int with_grads) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    int n = model_layout(cfg, NULL, 0, &m->n_params);
    if (n < 0) return -1;
    m->tensors = calloc((size_t)n, sizeof *m->tensors);
    if (!m->tensors) return err_set("out of memory");
    m->n_tensors = model_layout(cfg, m->tensors, n, NULL);
    size_t bytes = arena_round(m->n_params * sizeof(float));
    if (arena_init(&m->arena, bytes * (with_grads ? 2 : 1)) != 0) {
        free(m->tensors);
        m->tensors = NULL;
        return err_wrap("model with %zu parameters (vocab_size %d, hidden_size %d, intermediate_size %d, "
                        "num_hidden_layers %d)",
                        m->n_params, cfg->vocab_size, cfg->hidden_size, cfg->intermediate_size, cfg->n_layers);
    }
    m->params = arena_alloc(&m->arena, m->n_params * sizeof(float));
    model_view(&m->w, cfg, m->params);
    if (with_grads) {
        m->grads = arena_alloc(&m->arena, m->n_params * sizeof(float));
        model_view(&m->g, cfg, m->grads);
    }
    if (model_set_precision(m, model_precision_get()) != 0) {
        model_free(m);
        return -1;
    }
    return 0;
}

void model_free(Model *m) {
    free(m->w16);
    free(m->w16_at);
    for (int i = 0; i < m->n_maps; i++) safetensors_close(&m->maps[i]);
    free(m->maps);
    arena_free(&m->arena);
    free(m->tensors);
    memset(m, 0, sizeof *m);
}

void model_init_random(Model *m, uint64_t seed, float std) {
    Rng r;
    rng_init(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        float *p = m->params + t->offset;
        int is_bias = t->ndim == 1 && !t->is_norm;
        for (size_t j = 0; j < t->numel; j++)
            p[j] = t->is_norm ? 1.0f : is_bias ? 0.0f : (float)(std * rng_normal(&r));
    }
}

void model_zero_grad(Model *m) {
    if (m->grads) memset(m->grads, 0, m->n_params * sizeof(float));
}
