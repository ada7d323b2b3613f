// AdamW over the flat parameter layout: global-norm clipping computed in fixed
// chunks (same result for any thread count), decoupled weight decay on matrices
// only, bias-corrected moments in fp32 or blockwise 8 bits, and a safetensors
// file for the state.
#include "model/adamw.h"
#include "base/err.h"
#include "model/quant8.h"
#include "model/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NORM_CHUNK 65536

const OptChoice OPTIM_CHOICES[] = {{"adamw", OPTIM_ADAMW}, {"adamw_8bit", OPTIM_ADAMW_8BIT}, {NULL, 0}};

static const char *optim_name(OptimKind k) { return k == OPTIM_ADAMW_8BIT ? "adamw_8bit" : "adamw"; }

size_t adamw_state_bytes(OptimKind kind, size_t n, int n_tensors) {
    if (kind == OPTIM_ADAMW) return 2 * n * sizeof(float);
    return 2 * n + 2 * (q8_blocks(n) + (size_t)n_tensors) * sizeof(float) + (size_t)n_tensors * sizeof(size_t);
}

AdamWConfig adamw_defaults(void) {
    return (AdamWConfig){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01,
                         .clip_norm = 1.0, .schedule = LR_CONSTANT, .min_lr_ratio = 0.0};
}

int adamw_init(AdamW *o, const Model *m, const AdamWConfig *cfg) {
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = m->n_params;
    o->n_tensors = m->n_tensors;
    o->n_chunks = (o->n + NORM_CHUNK - 1) / NORM_CHUNK;
    int q8 = cfg->optim == OPTIM_ADAMW_8BIT;
    for (int i = 0; q8 && i < m->n_tensors; i++) o->n_blocks += q8_blocks(m->tensors[i].numel);
    size_t moments = q8 ? 2 * arena_round(o->n) + 2 * arena_round(o->n_blocks * sizeof(float)) +
                              arena_round((size_t)o->n_tensors * sizeof(size_t))
                        : 2 * arena_round(o->n * sizeof(float));
    size_t bytes = moments + arena_round((size_t)o->n_tensors) + arena_round(o->n_chunks * sizeof(double));
    if (arena_init(&o->arena, bytes) != 0) return err_wrap("AdamW state for %zu parameters", o->n);
    if (q8) {
        q8_map(1);   // build the maps before any thread reads them
        o->qm = arena_alloc(&o->arena, o->n);
        o->qv = arena_alloc(&o->arena, o->n);
        o->am = arena_alloc(&o->arena, o->n_blocks * sizeof(float));
        o->av = arena_alloc(&o->arena, o->n_blocks * sizeof(float));
        o->block0 = arena_alloc(&o->arena, (size_t)o->n_tensors * sizeof(size_t));
        // Zero state: every code decodes to 0 with absmax 0 (the arena is zeroed).
        uint8_t zm, zv;
        q8_encode(&(float){0}, 1, 1, &zm);
        q8_encode(&(float){0}, 1, 0, &zv);
        memset(o->qm, zm, o->n);
        memset(o->qv, zv, o->n);
        size_t b = 0;
        for (int i = 0; i < m->n_tensors; i++) o->block0[i] = b, b += q8_blocks(m->tensors[i].numel);
    } else {
        o->m = arena_alloc(&o->arena, o->n * sizeof(float));
        o->v = arena_alloc(&o->arena, o->n * sizeof(float));
    }
    o->decay = arena_alloc(&o->arena, (size_t)o->n_tensors);
    o->partial = arena_alloc(&o->arena, o->n_chunks * sizeof(double));
    // Weight decay on matrices only: RMSNorm weights and biases are 1-D.
    for (int i = 0; i < m->n_tensors; i++) o->decay[i] = !m->tensors[i].is_norm && m->tensors[i].ndim == 2;
    return 0;
}

void adamw_free(AdamW *o) {
    arena_free(&o->arena);
    memset(o, 0, sizeof *o);
}

double adamw_lr(const AdamWConfig *c, long t) {
    double warm = c->warmup_steps > 0 && t < c->warmup_steps ? (double)t / (double)c->warmup_steps : 1.0;
    if (c->schedule == LR_CONSTANT) return c->lr;
    if (c->schedule == LR_WARMUP || t <= c->warmup_steps) return c->lr * warm;
    // Cosine from the end of warmup to total_steps, then flat at the floor.
    double span = (double)(c->total_steps - c->warmup_steps);
    double progress = span > 0 ? (double)(t - c->warmup_steps) / span : 1.0;
    if (progress > 1) progress = 1;
    double cosine = 0.5 * (1.0 + cos(M_PI * progress));
    return c->lr * (c->min_lr_ratio + (1.0 - c->min_lr_ratio) * cosine);
}

double adamw_grad_norm(AdamW *o, const float *g) {
    long nc = (long)o->n_chunks;
#pragma omp parallel for schedule(static)
    for (long c = 0; c < nc; c++) {
        size_t a = (size_t)c * NORM_CHUNK, b = a + NORM_CHUNK < o->n ? a + NORM_CHUNK : o->n;
        double s = 0;
        // A fixed lane order (set at compile time), so still thread-independent.
#pragma omp simd reduction(+ : s)
        for (size_t i = a; i < b; i++) s += (double)g[i] * g[i];
        o->partial[c] = s;
    }
    double total = 0;
    for (long c = 0; c < nc; c++) total += o->partial[c];
    return sqrt(total);
}

typedef struct {
    float gs, decay, a1, b2, a2, eps, step_size, bc2_sqrt;
} Update;

// The element-wise update of n values. It vectorizes only when sqrtf need
// not set errno (the Makefile's -fno-math-errno).
static void update_span(float *restrict P, const float *restrict G, float *restrict M, float *restrict V,
                        size_t n, const Update *u) {
    const Update c = *u;
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float g = G[i] * c.gs;
        float p = P[i] * c.decay;
        float mi = M[i] + c.a1 * (g - M[i]);
        float vi = V[i] * c.b2 + c.a2 * g * g;
        M[i] = mi;
        V[i] = vi;
        P[i] = p - c.step_size * (mi / (sqrtf(vi) / c.bc2_sqrt + c.eps));
    }
}

static Update update_for(const AdamWConfig *c, long t, float gs) {
    // 1 - beta in double first: 1.0f - 0.999f is off by 1e-5 relative.
    return (Update){.gs = gs, .a1 = (float)(1.0 - c->beta1), .b2 = (float)c->beta2, .a2 = (float)(1.0 - c->beta2),
                    .eps = (float)c->eps, .step_size = (float)(adamw_lr(c, t) / (1.0 - pow(c->beta1, (double)t))),
                    .bc2_sqrt = (float)sqrt(1.0 - pow(c->beta2, (double)t))};
}

// update_span in 8 bits on the n values from flat index i, whose first block
// is number b: each block is decoded, updated in fp32 and encoded again.
static void update_span_8bit(AdamW *o, size_t b, size_t i, float *P, const float *G, size_t n, const Update *u) {
    float M[Q8_BLOCK], V[Q8_BLOCK];
    for (size_t j = 0; j < n; j += Q8_BLOCK, b++) {
        size_t len = n - j < Q8_BLOCK ? n - j : Q8_BLOCK;
        uint8_t *qm = o->qm + i + j, *qv = o->qv + i + j;
        q8_decode(qm, len, 1, o->am[b], M);
        q8_decode(qv, len, 0, o->av[b], V);
        update_span(P + j, G + j, M, V, len, u);
        o->am[b] = q8_encode(M, len, 1, qm);
        o->av[b] = q8_encode(V, len, 0, qv);
    }
}

void adamw_update_array(const AdamW *o, float *p, const float *g, float *m, float *v, size_t n, float grad_scale,
                        int decay) {
    AHA_ASSERT(o->step > 0);
    Update u = update_for(&o->cfg, o->step, grad_scale);
    u.decay = decay ? (float)(1.0 - adamw_lr(&o->cfg, o->step) * o->cfg.weight_decay) : 1.0f;
    update_span(p, g, m, v, n, &u);
}

double adamw_step(AdamW *o, Model *mod, float grad_scale) {
    AHA_ASSERT(mod->grads && mod->n_params == o->n && mod->n_tensors == o->n_tensors);
    const AdamWConfig *c = &o->cfg;
    double norm = adamw_grad_norm(o, mod->grads) * fabs((double)grad_scale);
    if (!isfinite(norm)) return norm;
    double clip = c->clip_norm > 0 && norm > 0 ? c->clip_norm / (norm + 1e-6) : 1.0;
    float gs = grad_scale * (float)(clip < 1.0 ? clip : 1.0);
    long t = ++o->step;
    mod->w16_stale = 1;   // the bf16 copy is rounded again before the next forward
    double lr = adamw_lr(c, t);
    Update u = update_for(c, t, gs);
    float decay = (float)(1.0 - lr * c->weight_decay);
    enum { SPAN = 4096 };   // a multiple of Q8_BLOCK: blocks never straddle spans
    _Static_assert(SPAN % Q8_BLOCK == 0, "8-bit blocks must tile the update spans");
#pragma omp parallel
    for (int k = 0; k < mod->n_tensors; k++) {
        const ParamTensor *pt = &mod->tensors[k];
        Update uk = u;
        uk.decay = o->decay[k] ? decay : 1.0f;
        long spans = (long)((pt->numel + SPAN - 1) / SPAN);
#pragma omp for schedule(static) nowait
        for (long s = 0; s < spans; s++) {
            size_t i = pt->offset + (size_t)s * SPAN, n = pt->numel - (size_t)s * SPAN;
            if (o->qm)
                update_span_8bit(o, o->block0[k] + (size_t)s * (SPAN / Q8_BLOCK), i, mod->params + i, mod->grads + i,
                                 n < SPAN ? n : SPAN, &uk);
            else update_span(mod->params + i, mod->grads + i, o->m + i, o->v + i, n < SPAN ? n : SPAN, &uk);
        }
    }
    return norm;
}

// ---------------------------------------------------------------- state file

// The state file's tensors: m.<name>, v.<name> and, in 8 bits,
// m_absmax.<name>, v_absmax.<name>; for item j of tensor k = j % n_tensors.
static const char *const STATE_PART[] = {"m", "v", "m_absmax", "v_absmax"};

static int state_parts(const AdamW *o) { return o->qm ? 4 : 2; }

int adamw_state_save(const AdamW *o, const Model *mod, const char *path) {
    int n = mod->n_tensors, total = state_parts(o) * n;
    SafeItem *items = calloc((size_t)total, sizeof *items);
    char (*names)[112] = calloc((size_t)total, sizeof *names);
    if (!items || !names) {
        free(items);
        free(names);
        return err_set("out of memory");
    }
    for (int j = 0; j < total; j++) {
        int k = j % n, part = j / n;
        const ParamTensor *t = &mod->tensors[k];
        snprintf(names[j], sizeof names[j], "%s.%s", STATE_PART[part], t->name);
        items[j] = (SafeItem){.name = names[j], .ndim = t->ndim};
        for (int d = 0; d < t->ndim; d++) items[j].shape[d] = t->shape[d];
        if (!o->qm) items[j].data = (part ? o->v : o->m) + t->offset;
        else if (part < 2) items[j].data8 = (part ? o->qv : o->qm) + t->offset;
        else {
            items[j].ndim = 1;
            items[j].shape[0] = (int64_t)q8_blocks(t->numel);
            items[j].data = (part == 3 ? o->av : o->am) + o->block0[k];
        }
    }
    char meta[128];
    snprintf(meta, sizeof meta, "{\"format\":\"pt\",\"optimizer\":\"%s\",\"step\":\"%ld\"}", optim_name(o->cfg.optim),
             o->step);
    int rc = safetensors_write(path, items, total, ST_F32, meta);
    free(items);
    free(names);
    return rc;
}

int adamw_state_load(AdamW *o, const Model *mod, const char *path) {
    SafeFile f;
    if (safetensors_open(&f, path) != 0) return -1;
    char step[32], kind[32], *end;
    int rc = 0, n = mod->n_tensors, total = state_parts(o) * n;
    long s = 0;
    if (safetensors_meta_get(&f, "step", step, sizeof step) != 0 || (s = strtol(step, &end, 10)) < 0 || *end ||
        end == step)
        rc = err_set("%s: no valid \"step\" in the metadata: not an AdamW state file", path);
    else if (safetensors_meta_get(&f, "optimizer", kind, sizeof kind) == 0 && strcmp(kind, optim_name(o->cfg.optim)))
        rc = err_set("%s: holds %s state but this run's optim is %s (set --optim %s to resume it)", path, kind,
                     optim_name(o->cfg.optim), kind);
    else if (f.n != total)
        rc = err_set("%s: holds %d tensors, the model needs %d (%s per parameter)", path, f.n, total,
                     o->qm ? "m, v and their block maxima" : "m and v");
    for (int j = 0; rc == 0 && j < total; j++) {
        int k = j % n, part = j / n;
        const ParamTensor *pt = &mod->tensors[k];
        char name[112];
        snprintf(name, sizeof name, "%s.%s", STATE_PART[part], pt->name);
        const SafeTensor *t = safetensors_find(&f, name);
        int absmax = part >= 2;
        SafeDtype want = o->qm && !absmax ? ST_U8 : ST_F32;
        int shape_ok = absmax ? t && t->ndim == 1 && t->shape[0] == (int64_t)q8_blocks(pt->numel)
                              : t && t->ndim == pt->ndim && t->shape[0] == pt->shape[0] &&
                                    (pt->ndim == 1 || t->shape[1] == pt->shape[1]);
        if (!t) rc = err_set("%s: missing tensor \"%s\"", path, name);
        else if (t->dtype != want || !shape_ok)
            rc = err_set("%s: tensor \"%s\" is not %s with the %s's shape", path, name, safetensors_dtype_name(want),
                         absmax ? "blocks" : "parameter");
        else if (!o->qm) rc = safetensors_read_f32(&f, t, (part ? o->v : o->m) + pt->offset);
        else if (!absmax) memcpy((part ? o->qv : o->qm) + pt->offset, f.data + t->begin, pt->numel);
        else rc = safetensors_read_f32(&f, t, (part == 3 ? o->av : o->am) + o->block0[k]);
    }
    for (size_t b = 0; rc == 0 && o->qm && b < o->n_blocks; b++)
        if (!(o->am[b] >= 0 && o->av[b] >= 0 && isfinite(o->am[b]) && isfinite(o->av[b])))
            rc = err_set("%s: a block maximum is negative or not finite (block %zu)", path, b);
    if (rc == 0) o->step = s;
    safetensors_close(&f);
    return rc;
}
