// A frozen base held in bf16 only (model_create_bf16, model_load_bf16): on
// weights a bf16 holds exactly it computes what a bf16 model with fp32 master
// weights computes, bit for bit (training forward, adapter gradients, KV-cache
// decode); against the fp32 base its log-probs and adapter gradients stay
// within bf16's rounding; it loads from BF16 and F32 files to the same bits
// and saves back exactly; and its matrices' fp32 views take no memory.
#include "base/err.h"
#include "base/fileio.h"
#include "base/sys.h"
#include "decode_ref.h"
#include "gen/sampler.h"
#include "kernels/ops.h"
#include "kernels/rowmm.h"
#include "model/forward.h"
#include "model/io.h"
#include "model/lora.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { R = 3, T = 7 };
static const int ids[R * T] = {1, 5, 9, 3, 2, 8, 4, 7, 7, 1, 0, 0, 0, 0, 3, 3, 6, 2, 9, 1, 0};
static const int lens[R] = {7, 3, 6};

// Log-probs of the batch and, with g, the adapters' gradients of Σ g·logp into grad.
static void run(Model *m, Lora *lo, const float *g, float *logp, float *grad) {
    ModelActs *a = model_acts_create(m, R, T);
    CHECK(a != NULL, "%s", err_msg());
    CHECK(model_forward(m, a, ids, lens, R, T, 0.9f, logp, NULL) == 0, "%s", err_msg());
    memset(lo->ad.grads, 0, lo->ad.n_params * sizeof(float));
    CHECK(model_backward(m, a, g) == 0, "%s", err_msg());
    memcpy(grad, lo->ad.grads, lo->ad.n_params * sizeof(float));
    model_acts_free(a);
}

static double cosine(const float *a, const float *b, size_t n) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) ab += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
    return ab / sqrt(aa * bb);
}

// Sampled ids and log-probs of two prompts.
// The same bf16 matrices, wherever each model holds them.
static int same16(const Model *x, const Model *y) {
    for (int i = 0; i < x->n_tensors; i++) {
        const ParamTensor *t = &x->tensors[i];
        if (t->ndim == 2 && memcmp(model_w16(x, t->offset), model_w16(y, t->offset), t->numel * 2)) return 0;
    }
    return 1;
}

static void sample(const ModelConfig *cfg, Model *m, int *out_ids, float *out_lp) {
    enum { NEW = 6 };
    int p0[] = {1, 2, 3}, p1[] = {4};
    const int *prompts[2] = {p0, p1};
    int plens[2] = {3, 1};
    uint32_t index[2] = {0, 1};
    Sampler *s = sampler_create(cfg, 2, 3 + NEW);
    CHECK(s != NULL, "%s", err_msg());
    SamplerOpts o = sampler_opts_default();
    o.temperature = 0.9f;
    o.max_new_tokens = NEW;
    o.seed = 2;
    Completion out[2];
    CHECK(sampler_generate(s, m, prompts, plens, index, 2, 1, &o, out) == 0, "%s", err_msg());
    for (int q = 0; q < 2; q++) {
        CHECK(out[q].n == NEW, "sample %d has %d tokens", q, out[q].n);
        memcpy(out_ids + q * NEW, out[q].ids, sizeof(int) * NEW);
        memcpy(out_lp + q * NEW, out[q].logp, sizeof(float) * NEW);
    }
    sampler_free(s);
}

static void check_base(const char *type) {
    ModelConfig cfg = ref_config(type);
    Model m32, m16, only;
    model_precision_set(PRECISION_FP32);
    CHECK(model_create(&m32, &cfg, 0) == 0, "%s", err_msg());
    model_init_random(&m32, 3, 0.3f);
    ref_perturb(&m32, 4);
    bf16_round_f32(m32.params, m32.n_params);   // a bf16 checkpoint's values
    Lora lo;
    CHECK(lora_create(&lo, &cfg, 4, 8, 0, (1u << LORA_N_TARGETS) - 1, 1) == 0, "%s", err_msg());
    lora_init_random(&lo, 5);
    Rng r;
    rng_init(&r, 6);
    for (size_t i = 0; i < lo.ad.n_params; i++) lo.ad.params[i] += (float)(0.1 * rng_normal(&r));
    float g[R * T];
    for (int i = 0; i < R * T; i++) g[i] = (float)rng_normal(&r);
    size_t na = lo.ad.n_params;
    float lp32[R * T], lp16[R * T], lpo[R * T];
    float *g32 = malloc(na * sizeof(float)), *g16 = malloc(na * sizeof(float)), *go = malloc(na * sizeof(float));
    m32.lora = &lo;
    run(&m32, &lo, g, lp32, g32);

    CHECK(model_precision_set(PRECISION_BF16) == 0, "%s", err_msg());
    CHECK(model_create(&m16, &cfg, 0) == 0 && model_create_bf16(&only, &cfg) == 0, "%s", err_msg());
    memcpy(m16.params, m32.params, m32.n_params * sizeof(float));
    m16.w16_stale = 1;
    model_copy_bf16(&only, &m32);
    m16.lora = only.lora = &lo;
    run(&m16, &lo, g, lp16, g16);
    run(&only, &lo, g, lpo, go);
    CHECK(memcmp(lp16, lpo, sizeof lp16) == 0, "%s: bf16 only: log-probs differ from bf16 with fp32 masters", type);
    CHECK(memcmp(g16, go, na * sizeof(float)) == 0, "%s: bf16 only: adapter gradients differ", type);
    double worst = 0;
    for (int i = 0; i < R * T; i++) worst = fmax(worst, fabs((double)lpo[i] - lp32[i]));
    double cs = cosine(go, g32, na);
    CHECK(worst < 0.05, "%s: bf16 base log-probs off the fp32 base by %.3g", type, worst);
    CHECK(worst > 0, "%s: bf16 base log-probs equal the fp32 ones: not computed in bf16", type);
    CHECK(cs >= 0.99, "%s: adapter gradient cosine bf16 vs fp32 base %.5f", type, cs);
    printf("%s: bf16-only base: logp max err %.3g vs fp32, adapter gradient cosine %.6f\n", type, worst, cs);

    // decode: the same samples and log-probs as the bf16 model with masters
    if (rowmm_bf16) {
        int i16[12], io[12];
        float l16[12], lo_[12];
        sample(&cfg, &m16, i16, l16);
        sample(&cfg, &only, io, lo_);
        CHECK(memcmp(i16, io, sizeof io) == 0 && memcmp(l16, lo_, sizeof lo_) == 0,
              "%s: bf16-only decode differs from bf16 with masters", type);
    }

    // files: BF16 and F32 files load to the same bits; a save round-trips
    char d16[512], d32[512], dback[512];
    const char *tmp = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    snprintf(d16, sizeof d16, "%s/lora_bf16_%d_%s_16", tmp, (int)getpid(), type);
    snprintf(d32, sizeof d32, "%s/lora_bf16_%d_%s_32", tmp, (int)getpid(), type);
    snprintf(dback, sizeof dback, "%s/lora_bf16_%d_%s_back", tmp, (int)getpid(), type);
    m32.lora = NULL;
    CHECK(model_save(&m32, d16, ST_BF16) == 0 && model_save(&m32, d32, ST_F32) == 0, "%s", err_msg());
    Model a, b, c;
    CHECK(model_load_bf16(&a, d16) == 0 && model_load_bf16(&b, d32) == 0, "%s", err_msg());
    CHECK(a.bf16_only && same16(&a, &only), "%s: BF16 file loads other bits", type);
    CHECK(same16(&b, &only), "%s: F32 file loads other bits", type);
    // The BF16 file's matrices are used in place (zero copy), the F32 file's copied.
    int in_file = 1;
    for (int i = 0; i < a.n_tensors; i++)
        if (a.tensors[i].ndim == 2) in_file &= a.w16_at[i] < a.w16 || a.w16_at[i] >= a.w16 + a.n_params;
    CHECK(a.n_maps == 1 && in_file && b.n_maps == 0, "%s: BF16 matrices are not used in place", type);
    int small_ok = 1;
    for (int i = 0; i < only.n_tensors; i++) {
        const ParamTensor *t = &only.tensors[i];
        if (t->ndim == 1 && memcmp(a.params + t->offset, only.params + t->offset, t->numel * sizeof(float)))
            small_ok = 0;
    }
    CHECK(small_ok, "%s: 1-D tensors load other values", type);
    CHECK(model_save(&b, dback, ST_F32) == 0 && model_load(&c, dback, 0) == 0, "%s", err_msg());
    CHECK(memcmp(c.params, m32.params, m32.n_params * sizeof(float)) == 0, "%s: bf16-only save is not exact", type);
    model_free(&c);
    CHECK(model_save(&a, dback, ST_F32) == 0 && model_load(&c, dback, 0) == 0, "%s", err_msg());
    CHECK(memcmp(c.params, m32.params, m32.n_params * sizeof(float)) == 0, "%s: a mapped model saves other values", type);
    // A model used in place is a copy once written (model_copy_bf16 writes its own memory).
    model_copy_bf16(&a, &m32);
    CHECK(same16(&a, &only) && a.w16_at[0] == a.w16, "%s: copying into a mapped model", type);
    model_free(&a);
    model_free(&b);
    model_free(&c);
    free(g32);
    free(g16);
    free(go);
    lora_free(&lo);
    model_free(&m32);
    model_free(&m16);
    model_free(&only);
    model_precision_set(PRECISION_FP32);
}

// The fp32 views of a bf16-only model's matrices are never backed: creating
// a large one adds about its bf16 bytes to the resident set, not 3x.
static void check_resident(void) {
    ModelConfig cfg = ref_config("qwen3");
    cfg.vocab_size = 1 << 16;
    cfg.hidden_size = 512;
    cfg.intermediate_size = 1024;
    cfg.n_heads = 8, cfg.n_kv_heads = 4, cfg.head_dim = 64;
    cfg.n_layers = 8;
    CHECK(model_precision_set(PRECISION_BF16) == 0, "%s", err_msg());
    size_t before = peak_rss_bytes();
    Model m;
    CHECK(model_create_bf16(&m, &cfg) == 0, "%s", err_msg());
    memset(m.w16, 1, m.n_params * sizeof(uint16_t));
    for (int i = 0; i < m.n_tensors; i++)
        if (m.tensors[i].ndim == 1) memset(m.params + m.tensors[i].offset, 0, m.tensors[i].numel * sizeof(float));
    size_t grew = peak_rss_bytes() - before, w16 = m.n_params * sizeof(uint16_t);
    CHECK(grew < w16 + w16 / 4, "a bf16-only model of %zu MiB in bf16 takes %zu MiB", w16 >> 20, grew >> 20);
    printf("bf16-only model: %zu MiB of bf16 weights, %zu MiB resident\n", w16 >> 20, grew >> 20);
    model_free(&m);
    model_precision_set(PRECISION_FP32);
}

int main(void) {
    if (model_precision_set(PRECISION_BF16) != 0) {
        printf("no oneDNN in this build: bf16 skipped\n");
        return TEST_END();
    }
    check_base("qwen3");
    check_base("llama");
    check_resident();
    return TEST_END();
}
