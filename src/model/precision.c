// Matmul precision: the process default new models take, and each model's
// bf16 copy of its parameters, rounded once whenever they changed (after an
// AdamW step, a load, a reference update), never per matmul.
#include "model/model.h"
#include "base/err.h"
#include "base/sys.h"
#include "kernels/omp.h"
#include "kernels/ops.h"

#include <stdlib.h>
#include <string.h>

static Precision precision_default = PRECISION_FP32;

int model_precision_set(Precision p) {
#ifndef AHA_DNNL
    if (p == PRECISION_BF16)
        return err_set("precision bf16 needs oneDNN, and this build has none (built with NO_DNNL=1 or without "
                       "libdnnl-dev): use --precision fp32, or install libdnnl-dev and rebuild");
#endif
    precision_default = p;
    return 0;
}

Precision model_precision_get(void) { return precision_default; }

int model_set_precision(Model *m, Precision p) {
    if (m->bf16_only) return p == PRECISION_BF16 ? 0 : err_set("a model held in bf16 only cannot switch to fp32");
    if (p == PRECISION_FP32) {
        free(m->w16);
        m->w16 = NULL;
        return 0;
    }
    if (!m->w16 && !(m->w16 = malloc(m->n_params * sizeof(uint16_t)))) return err_set("bf16 weights: out of memory");
    m->w16_stale = 1;
    return 0;
}

// One rounding of every parameter, in parallel over independent spans.
void model_sync_bf16(Model *m) {
    if (!m->w16 || !m->w16_stale || m->bf16_only) return;
    enum { SPAN = 1 << 16 };
    long spans = (long)((m->n_params + SPAN - 1) / SPAN);
OMP(parallel for schedule(static) if (spans > 1))
    for (long s = 0; s < spans; s++) {
        size_t i0 = (size_t)s * SPAN, n = m->n_params - i0 < SPAN ? m->n_params - i0 : SPAN;
        const float *p = m->params + i0;
        uint16_t *h = m->w16 + i0;
OMP(simd)
        for (size_t i = 0; i < n; i++) h[i] = bf16_of(p[i]);
    }
    m->w16_stale = 0;
}

void model_drop_bf16(Model *m) {
    if (!m->w16 || m->bf16_only) return;
    mem_release_pages(m->w16, m->n_params * sizeof(uint16_t));
    m->w16_stale = 1;
}

int model_create_bf16(Model *m, const ModelConfig *cfg) {
#ifndef AHA_DNNL
    (void)cfg;
    memset(m, 0, sizeof *m);
    return err_set("a model held in bf16 needs oneDNN, and this build has none");
#else
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    int n = model_layout(cfg, NULL, 0, &m->n_params);
    if (n < 0) return -1;
    if (!(m->tensors = calloc((size_t)n, sizeof *m->tensors))) return err_set("out of memory");
    m->n_tensors = model_layout(cfg, m->tensors, n, NULL);
    // Only the pages of the 1-D tensors are ever written, so only they take memory.
    if (arena_init_lazy(&m->arena, m->n_params * sizeof(float)) != 0 ||
        !(m->w16 = calloc(m->n_params, sizeof(uint16_t))) || !(m->w16_at = malloc((size_t)n * sizeof *m->w16_at))) {
        model_free(m);
        return err_wrap("bf16 model with %zu parameters", m->n_params);
    }
    for (int i = 0; i < n; i++) m->w16_at[i] = m->w16 + m->tensors[i].offset;
    m->params = arena_alloc(&m->arena, m->n_params * sizeof(float));
    model_view(&m->w, cfg, m->params);
    m->bf16_only = 1;
    return 0;
#endif
}

void model_copy_bf16(Model *dst, const Model *src) {
    for (int i = 0; i < src->n_tensors; i++) {
        const ParamTensor *t = &src->tensors[i];
        const float *p = src->params + t->offset;
        if (t->ndim == 1) {
            memcpy(dst->params + t->offset, p, t->numel * sizeof(float));
            continue;
        }
        uint16_t *h = dst->w16 + t->offset;
        dst->w16_at[i] = h;   // a tensor mapped from a file is a copy from now on
OMP(parallel for simd schedule(static))
        for (size_t j = 0; j < t->numel; j++) h[j] = bf16_of(p[j]);
    }
    dst->w16_stale = 0;
}

const uint16_t *model_w16(const Model *m, size_t o) {
    if (!m->w16_at) return m->w16 + o;
    int lo = 0, hi = m->n_tensors - 1;   // the last tensor starting at or before o
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (m->tensors[mid].offset <= o) lo = mid;
        else hi = mid - 1;
    }
    return m->w16_at[lo] + (o - m->tensors[lo].offset);
}

void model_embed_row(const Model *m, int id, float *out) {
    size_t C = (size_t)m->cfg.hidden_size, o = (size_t)(m->w.embed - m->params) + (size_t)id * C;
    if (!m->bf16_only) {
        memcpy(out, m->params + o, C * sizeof(float));
        return;
    }
    const uint16_t *h = model_w16(m, o);
    for (size_t j = 0; j < C; j++) {
        uint32_t u = (uint32_t)h[j] << 16;
        memcpy(out + j, &u, sizeof u);
    }
}

size_t model_weight_bytes(const ModelConfig *cfg, Precision p, int bf16_only) {
    ParamTensor *t = NULL;
    size_t n = 0, small = 0;
    int k = model_layout(cfg, NULL, 0, &n);
    if (k < 0) return 0;
    if (bf16_only && (t = calloc((size_t)k, sizeof *t))) {
        model_layout(cfg, t, k, NULL);
        for (int i = 0; i < k; i++)
            if (t[i].ndim == 1) small += t[i].numel;
        free(t);
    }
    if (bf16_only) return n * sizeof(uint16_t) + small * sizeof(float);
    return n * sizeof(float) + (p == PRECISION_BF16 ? n * sizeof(uint16_t) : 0);
}
