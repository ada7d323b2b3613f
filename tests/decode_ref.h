// A plain double-precision transformer forward for tests: the Hugging Face
// Llama/Qwen2/Qwen3 formulas written out directly (no cache, no kernels), so
// the engine's decode path can be compared against an independent reference.
// Header-only on purpose: it is test code included by the decode/sampler tests.
#ifndef AHA_TEST_DECODE_REF_H
#define AHA_TEST_DECODE_REF_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "model/model.h"

// A tiny config of each family: llama (GQA, untied), qwen2 (biases, tied head,
// one kv head), qwen3 (q/k norms, head_dim ≠ hidden/heads).
static ModelConfig ref_config(const char *type) {
    ModelConfig c;
    memset(&c, 0, sizeof c);
    snprintf(c.model_type, sizeof c.model_type, "%s", type);
    c.vocab_size = 37;
    c.hidden_size = 24;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.head_dim = 6;
    c.intermediate_size = 40;
    c.max_position = 128;
    c.rope_theta = 10000.0;
    c.rms_eps = 1e-6;
    c.bos_token_id = -1;
    if (strcmp(type, "qwen2") == 0) {
        c.attn_bias = 1;
        c.tie_embeddings = 1;
        c.n_kv_heads = 1;
        c.rope_theta = 1000000.0;
    } else if (strcmp(type, "qwen3") == 0) {
        c.qk_norm = 1;
        c.head_dim = 10;   // NH·HD = 40 ≠ C = 24
        c.vocab_size = 53;
    }
    return c;
}

// Perturb norm weights and biases away from 1 / 0 so they matter in the checks.
static void ref_perturb(Model *m, uint64_t seed) {
    Rng r;
    rng_init(&r, seed);
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        if (t->ndim != 1) continue;
        float *p = m->params + t->offset;
        for (size_t j = 0; j < t->numel; j++) p[j] = (t->is_norm ? 1.0f : 0.0f) + 0.2f * (float)rng_normal(&r);
    }
}

static void ref_rmsnorm(double *y, const double *x, const float *w, int n, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double r = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * r * w[i];
}

// y (OC) = W (OC, C) x + b
static void ref_linear(double *y, const double *x, const float *W, const float *b, int C, int OC) {
    for (int o = 0; o < OC; o++) {
        double s = b ? b[o] : 0.0;
        for (int c = 0; c < C; c++) s += (double)W[(size_t)o * C + c] * x[c];
        y[o] = s;
    }
}

// rotate_half RoPE on one head vector at position p
static void ref_rope(double *v, int p, int HD, double theta) {
    int half = HD / 2;
    for (int i = 0; i < half; i++) {
        double a = p / pow(theta, 2.0 * i / HD), c = cos(a), s = sin(a);
        double x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c - x2 * s;
        v[i + half] = x2 * c + x1 * s;
    }
}

// lp (T, V) = log softmax(z_t / tau) of every position of ids (T).
__attribute__((unused)) static void ref_logsoftmax_all(const Model *m, const int *ids, int T, double tau, double *lp) {
    const ModelConfig *c = &m->cfg;
    int C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size, NH = c->n_heads, NKV = c->n_kv_heads;
    int HD = c->head_dim, QD = NH * HD, KD = NKV * HD, GRP = NH / NKV;
    double *x = calloc((size_t)T * C, sizeof(double)), *xn = calloc(C, sizeof(double));
    double *q = calloc((size_t)T * QD, sizeof(double)), *k = calloc((size_t)T * KD, sizeof(double));
    double *v = calloc((size_t)T * KD, sizeof(double)), *att = calloc((size_t)T * QD, sizeof(double));
    double *o = calloc(C, sizeof(double)), *g = calloc(F, sizeof(double)), *u = calloc(F, sizeof(double));
    double *sc = calloc(T, sizeof(double)), *z = calloc(V, sizeof(double));
    for (int t = 0; t < T; t++)
        for (int i = 0; i < C; i++) x[(size_t)t * C + i] = m->w.embed[(size_t)ids[t] * C + i];
    for (int l = 0; l < c->n_layers; l++) {
        const LayerView *w = &m->w.layer[l];
        for (int t = 0; t < T; t++) {
            ref_rmsnorm(xn, x + (size_t)t * C, w->attn_norm, C, c->rms_eps);
            ref_linear(q + (size_t)t * QD, xn, w->wq, w->bq, C, QD);
            ref_linear(k + (size_t)t * KD, xn, w->wk, w->bk, C, KD);
            ref_linear(v + (size_t)t * KD, xn, w->wv, w->bv, C, KD);
            for (int h = 0; h < NH; h++) {
                double *qh = q + (size_t)t * QD + (size_t)h * HD;
                if (c->qk_norm) ref_rmsnorm(qh, qh, w->q_norm, HD, c->rms_eps);
                ref_rope(qh, t, HD, c->rope_theta);
            }
            for (int h = 0; h < NKV; h++) {
                double *kh = k + (size_t)t * KD + (size_t)h * HD;
                if (c->qk_norm) ref_rmsnorm(kh, kh, w->k_norm, HD, c->rms_eps);
                ref_rope(kh, t, HD, c->rope_theta);
            }
        }
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++) {
                const double *qh = q + (size_t)t * QD + (size_t)h * HD;
                int kh = h / GRP;
                double mx = -INFINITY, sum = 0;
                for (int s = 0; s <= t; s++) {
                    double d = 0;
                    for (int i = 0; i < HD; i++) d += qh[i] * k[(size_t)s * KD + (size_t)kh * HD + i];
                    sc[s] = d / sqrt((double)HD);
                    mx = fmax(mx, sc[s]);
                }
                for (int s = 0; s <= t; s++) sum += (sc[s] = exp(sc[s] - mx));
                double *out = att + (size_t)t * QD + (size_t)h * HD;
                for (int i = 0; i < HD; i++) {
                    double a = 0;
                    for (int s = 0; s <= t; s++) a += sc[s] / sum * v[(size_t)s * KD + (size_t)kh * HD + i];
                    out[i] = a;
                }
            }
        for (int t = 0; t < T; t++) {
            double *xt = x + (size_t)t * C;
            ref_linear(o, att + (size_t)t * QD, w->wo, NULL, QD, C);
            for (int i = 0; i < C; i++) xt[i] += o[i];
            ref_rmsnorm(xn, xt, w->mlp_norm, C, c->rms_eps);
            ref_linear(g, xn, w->w_gate, NULL, C, F);
            ref_linear(u, xn, w->w_up, NULL, C, F);
            for (int i = 0; i < F; i++) g[i] = g[i] / (1.0 + exp(-g[i])) * u[i];
            ref_linear(o, g, w->w_down, NULL, F, C);
            for (int i = 0; i < C; i++) xt[i] += o[i];
        }
    }
    for (int t = 0; t < T; t++) {
        ref_rmsnorm(xn, x + (size_t)t * C, m->w.norm, C, c->rms_eps);
        ref_linear(z, xn, m->w.lm_head, NULL, C, V);
        double mx = -INFINITY, sum = 0;
        for (int i = 0; i < V; i++) mx = fmax(mx, z[i] / tau);
        for (int i = 0; i < V; i++) sum += exp(z[i] / tau - mx);
        for (int i = 0; i < V; i++) lp[(size_t)t * V + i] = z[i] / tau - mx - log(sum);
    }
    free(x); free(xn); free(q); free(k); free(v); free(att); free(o); free(g); free(u); free(sc); free(z);
}

#endif
