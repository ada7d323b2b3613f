// LoRA adapters: the forward with adapters equals the forward of the merged
// model (training path and KV-cache decode), zero B or adapters switched off
// give the base bit for bit, the frozen-base backward matches central
// differences on A and B, and PEFT files round-trip and refuse variants. With
// --fixture DIR it is the C side of tests/test_lora_grad.py: log-probs of a
// batch and the adapters' gradients of Σ g·logp on a frozen base.
#include "base/err.h"
#include "base/fileio.h"
#include "decode_ref.h"
#include "gen/sampler.h"
#include "model/forward.h"
#include "model/lora.h"
#include "test.h"
#include "test_grpo_grad_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { R = 3, T = 7 };
static const int ids[R * T] = {1, 5, 9, 3, 2, 8, 4, 7, 7, 1, 0, 0, 0, 0, 3, 3, 6, 2, 9, 1, 0};
static const int lens[R] = {7, 3, 6};

static void random_b(Lora *lo, uint64_t seed) {
    Rng g;
    rng_init(&g, seed);
    for (int i = 1; i < lo->ad.n_tensors; i += 2) {
        float *p = lo->ad.params + lo->ad.tensors[i].offset;
        for (size_t j = 0; j < lo->ad.tensors[i].numel; j++) p[j] = (float)(0.2 * rng_normal(&g));
    }
}

static void forward(Model *m, float *logp) {
    ModelActs *a = model_acts_create(m, R, T);
    CHECK(a != NULL, "%s", err_msg());
    CHECK(model_forward(m, a, ids, lens, R, T, 0.9f, logp, NULL) == 0, "%s", err_msg());
    model_acts_free(a);
}

static void check_merge(const char *type) {
    ModelConfig cfg = ref_config(type);
    Model m, merged;
    CHECK(model_create(&m, &cfg, 0) == 0 && model_create(&merged, &cfg, 0) == 0, "%s", err_msg());
    model_init_random(&m, 3, 0.3f);
    ref_perturb(&m, 4);
    memcpy(merged.params, m.params, m.n_params * sizeof(float));
    Lora lo;
    unsigned all;
    CHECK(lora_targets_parse("all-linear", &all) == 0, "%s", err_msg());
    CHECK(lora_create(&lo, &cfg, 4, 8, 0, all, 0) == 0, "%s", err_msg());
    lora_init_random(&lo, 5);
    float base[R * T], with[R * T], merged_lp[R * T], off[R * T];
    forward(&m, base);
    m.lora = &lo;
    forward(&m, with);
    CHECK(memcmp(base, with, sizeof base) == 0, "%s: zero B changes the forward", type);
    random_b(&lo, 6);
    forward(&m, with);
    lo.off = 1;
    forward(&m, off);
    lo.off = 0;
    CHECK(memcmp(base, off, sizeof base) == 0, "%s: adapters off differ from the base", type);
    CHECK(lora_merge(&merged, &lo) == 0, "%s", err_msg());
    forward(&merged, merged_lp);
    double e = test_nerr(with, merged_lp, R * T), moved = test_nerr(with, base, R * T);
    CHECK(e < 1e-5, "%s: adapters vs merged nerr %.3g", type, e);
    CHECK(moved > 1e-3, "%s: the adapters change nothing (%.3g)", type, moved);

    // KV-cache decode with adapters: its log-probs are the merged model's
    enum { NEW = 6 };
    int p0[] = {1, 2, 3}, p1[] = {4};
    const int *prompts[2] = {p0, p1};
    int plens[2] = {3, 1};
    uint32_t index[2] = {0, 1};
    Sampler *s = sampler_create(&cfg, 2, 3 + NEW);
    SamplerOpts o = sampler_opts_default();
    o.temperature = 0.9f;
    o.max_new_tokens = NEW;
    o.seed = 2;
    Completion out[2];
    CHECK(sampler_generate(s, &m, prompts, plens, index, 2, 1, &o, out) == 0, "%s", err_msg());
    int V = cfg.vocab_size;
    for (int q = 0; q < 2; q++) {
        int n = plens[q] + out[q].n, full[16];
        double *lp = malloc(sizeof(double) * (size_t)n * V);
        memcpy(full, prompts[q], sizeof(int) * plens[q]);
        memcpy(full + plens[q], out[q].ids, sizeof(int) * out[q].n);
        ref_logsoftmax_all(&merged, full, n, o.temperature, lp);
        for (int t = 0; t < out[q].n; t++) CHECK_CLOSE(out[q].logp[t], lp[(size_t)(plens[q] - 1 + t) * V + out[q].ids[t]], 1e-5, 1e-3);
        free(lp);
    }
    sampler_free(s);
    lora_free(&lo);
    model_free(&m);
    model_free(&merged);
}

// L(θ) = Σ g·logp with fixed g; dL/dθ from backward against central differences.
static double loss_of(Model *m, ModelActs *a, const float *g) {
    float lp[R * T];
    CHECK(model_forward(m, a, ids, lens, R, T, 1.0f, lp, NULL) == 0, "%s", err_msg());
    double s = 0;
    for (int i = 0; i < R * T; i++) s += (double)g[i] * lp[i];
    return s;
}

static void check_grad(const char *type, double dropout) {
    ModelConfig cfg = ref_config(type);
    Model m;
    CHECK(model_create(&m, &cfg, 0) == 0, "%s", err_msg());
    model_init_random(&m, 7, 0.3f);
    Lora lo;
    CHECK(lora_create(&lo, &cfg, 2, 4, dropout, (1u << LORA_N_TARGETS) - 1, 1) == 0, "%s", err_msg());
    lora_init_random(&lo, 8);
    random_b(&lo, 9);
    lo.seed = 77;
    lo.train = 1;
    m.lora = &lo;
    ModelActs *a = model_acts_create(&m, R, T);
    float g[R * T];
    Rng r;
    rng_init(&r, 10);
    for (int i = 0; i < R * T; i++) g[i] = (float)rng_normal(&r);
    memset(lo.ad.grads, 0, lo.ad.n_params * sizeof(float));
    uint64_t tick = lo.ticks;
    loss_of(&m, a, g);
    CHECK(model_backward(&m, a, g) == 0, "%s", err_msg());
    int checked = 0;
    double worst = 0;
    for (int k = 0; k < lo.ad.n_tensors; k += 5) {
        const ParamTensor *pt = &lo.ad.tensors[k];
        for (size_t j = 0; j < pt->numel; j += pt->numel / 3 + 1) {
            float *p = lo.ad.params + pt->offset + j, keep = *p, h = 1e-2f;
            *p = keep + h;
            lo.ticks = tick;
            double up = loss_of(&m, a, g);
            *p = keep - h;
            lo.ticks = tick;
            double dn = loss_of(&m, a, g);
            *p = keep;
            double fd = (up - dn) / (2 * h), an = lo.ad.grads[pt->offset + j];
            double err = fabs(fd - an) / fmax(fmax(fabs(fd), fabs(an)), 1e-2);
            if (err > worst) worst = err;
            CHECK(err < 2e-2, "%s dropout %g: %s[%zu] backward %.6g, differences %.6g", type, dropout, pt->name, j, an, fd);
            checked++;
        }
    }
    CHECK(checked > 10, "only %d entries checked", checked);
    printf("%s dropout %g: %d adapter gradients, worst rel err %.2g\n", type, dropout, checked, worst);
    model_acts_free(a);
    lora_free(&lo);
    model_free(&m);
}

// Gradient checkpointing changes no bit: log-probs and every gradient (base
// and adapters, adapter dropout on) equal those of keeping all activations.
static void check_recompute(const char *type) {
    ModelConfig cfg = ref_config(type);
    Model m;
    CHECK(model_create(&m, &cfg, 1) == 0, "%s", err_msg());
    model_init_random(&m, 21, 0.3f);
    Lora lo;
    CHECK(lora_create(&lo, &cfg, 2, 4, 0.25, (1u << LORA_N_TARGETS) - 1, 1) == 0, "%s", err_msg());
    lora_init_random(&lo, 22);
    random_b(&lo, 23);
    lo.train = 1;
    float g[R * T], lp[2][R * T];
    Rng r;
    rng_init(&r, 24);
    for (int i = 0; i < R * T; i++) g[i] = (float)rng_normal(&r);
    float *grads[2], *agrads[2];
    for (int with = 0; with < 2; with++) {
        m.lora = with ? &lo : NULL;
        for (int rc = 0; rc < 2; rc++) {
            ModelActs *a = model_acts_create_opts(&m, R, T, rc);
            CHECK(a != NULL, "%s", err_msg());
            model_zero_grad(&m);
            memset(lo.ad.grads, 0, lo.ad.n_params * sizeof(float));
            lo.ticks = 5;
            CHECK(model_forward(&m, a, ids, lens, R, T, 1.0f, lp[rc], NULL) == 0, "%s", err_msg());
            CHECK(model_backward(&m, a, g) == 0, "%s", err_msg());
            grads[rc] = malloc(m.n_params * sizeof(float));
            agrads[rc] = malloc(lo.ad.n_params * sizeof(float));
            memcpy(grads[rc], m.grads, m.n_params * sizeof(float));
            memcpy(agrads[rc], lo.ad.grads, lo.ad.n_params * sizeof(float));
            model_acts_free(a);
        }
        CHECK(memcmp(lp[0], lp[1], sizeof lp[0]) == 0, "%s lora %d: recomputation changes the log-probs", type, with);
        CHECK(memcmp(grads[0], grads[1], m.n_params * sizeof(float)) == 0, "%s lora %d: recomputation changes the gradients",
              type, with);
        CHECK(memcmp(agrads[0], agrads[1], lo.ad.n_params * sizeof(float)) == 0,
              "%s lora %d: recomputation changes the adapter gradients", type, with);
        for (int k = 0; k < 2; k++) free(grads[k]), free(agrads[k]);
    }
    size_t all = model_acts_bytes(&cfg, 64, 64, 0, 0, 0), one = model_acts_bytes(&cfg, 64, 64, 1, 0, 0);
    CHECK(one < all, "recomputation keeps %zu bytes of activations, all layers %zu", one, all);
    lora_free(&lo);
    model_free(&m);
}

static void check_files(void) {
    ModelConfig cfg = ref_config("qwen3");
    Lora lo, back;
    unsigned tg;
    CHECK(lora_targets_parse("q_proj,v,down_proj", &tg) == 0, "%s", err_msg());
    CHECK(tg == (1u << LORA_Q | 1u << LORA_V | 1u << LORA_DOWN), "targets %x", tg);
    CHECK(lora_targets_parse("q,lm_head", &tg) != 0 && strstr(err_msg(), "lm_head"), "%s", err_msg());
    CHECK(lora_create(&lo, &cfg, 3, 6, 0.1, 1u << LORA_Q | 1u << LORA_UP, 0) == 0, "%s", err_msg());
    lora_init_random(&lo, 1);
    random_b(&lo, 2);
    lo.ticks = 12;
    char dir[] = "/tmp/aha_lora_XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    CHECK(lora_save(&lo, dir) == 0, "%s", err_msg());
    CHECK(lora_load(&back, &cfg, dir, 0) == 0, "%s", err_msg());
    CHECK(back.r == 3 && back.alpha == 6 && back.targets == lo.targets && back.ticks == 12, "config round trip");
    CHECK(back.ad.n_params == lo.ad.n_params && memcmp(back.ad.params, lo.ad.params, lo.ad.n_params * 4) == 0,
          "weights round trip");
    CHECK(strcmp(lo.ad.tensors[0].name, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight") == 0 &&
              lo.ad.tensors[0].shape[0] == 3 && lo.ad.tensors[1].shape[1] == 3,
          "PEFT names and shapes: %s", lo.ad.tensors[0].name);
    lora_free(&back);
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    const char *bad = "{\"peft_type\":\"LORA\",\"r\":3,\"lora_alpha\":6,\"target_modules\":[\"q_proj\",\"up_proj\"],\"use_dora\":true}";
    CHECK(file_write_atomic(path, bad, strlen(bad)) == 0, "%s", err_msg());
    CHECK(lora_load(&back, &cfg, dir, 0) != 0 && strstr(err_msg(), "use_dora"), "%s", err_msg());
    const char *other = "{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":6,\"target_modules\":[\"q_proj\",\"up_proj\"]}";
    CHECK(file_write_atomic(path, other, strlen(other)) == 0, "%s", err_msg());
    CHECK(lora_load(&back, &cfg, dir, 0) != 0 && strstr(err_msg(), "shape"), "%s", err_msg());
    remove_tree(dir);
    lora_free(&lo);
}

static void put(FILE *f, double d) { fwrite(&d, sizeof d, 1, f); }

// fixture.json: the model, "lora_r", "lora_alpha", "lora_tensors" (PEFT names in
// lora.bin order), "R", "T", "ids", "lens", "g", "temperature". out.bin: logp
// (R, T), then the gradient of every adapter tensor in lora_tensors order.
static int run_fixture(const char *dir) {
    Model full, m;
    cJSON *j = fixture_open(dir, &full);
    // the frozen base: the same weights without gradients
    if (model_create(&m, &full.cfg, 0) != 0) fixture_die(err_msg());
    memcpy(m.params, full.params, full.n_params * sizeof(float));
    model_free(&full);
    int R_ = fixture_int(j, "R"), T_ = fixture_int(j, "T");
    int *fids = fixture_ints(j, "ids", R_ * T_), *flens = fixture_ints(j, "lens", R_);
    float *g = fixture_floats(j, "g", R_ * T_), *logp = calloc((size_t)R_ * T_, sizeof(float));
    Lora lo;
    if (lora_create(&lo, &m.cfg, fixture_int(j, "lora_r"), fixture_num(j, "lora_alpha"), 0, (1u << LORA_N_TARGETS) - 1,
                    1) != 0)
        fixture_die(err_msg());
    char path[4096];
    snprintf(path, sizeof path, "%s/lora.bin", dir);
    size_t len = 0, at = 0;
    char *raw = file_read_all(path, &len);
    const cJSON *names = fixture_get(j, "lora_tensors");
    if (!raw || cJSON_GetArraySize(names) != lo.ad.n_tensors) fixture_die("lora.bin or lora_tensors");
    const ParamTensor *order[2 * AHA_MAX_LAYERS * LORA_N_TARGETS];
    for (int i = 0; i < lo.ad.n_tensors; i++) {
        order[i] = model_find_tensor(&lo.ad, cJSON_GetArrayItem(names, i)->valuestring);
        if (!order[i] || (at + order[i]->numel) * sizeof(float) > len) fixture_die("an adapter tensor is missing or short");
        memcpy(lo.ad.params + order[i]->offset, raw + at * sizeof(float), order[i]->numel * sizeof(float));
        at += order[i]->numel;
    }
    free(raw);
    m.lora = &lo;
    ModelActs *a = model_acts_create(&m, R_, T_);
    if (!a || model_forward(&m, a, fids, flens, R_, T_, (float)fixture_num(j, "temperature"), logp, NULL) != 0 ||
        model_backward(&m, a, g) != 0)
        fixture_die(err_msg());
    snprintf(path, sizeof path, "%s/out.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f) fixture_die("cannot write out.bin");
    for (int i = 0; i < R_ * T_; i++) put(f, logp[i]);
    for (int i = 0; i < lo.ad.n_tensors; i++)
        for (size_t k = 0; k < order[i]->numel; k++) put(f, lo.ad.grads[order[i]->offset + k]);
    fclose(f);
    model_acts_free(a);
    lora_free(&lo);
    model_free(&m);
    free(fids), free(flens), free(g), free(logp);
    cJSON_Delete(j);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--fixture") == 0) return run_fixture(argv[2]);
    check_merge("llama");
    check_merge("qwen2");
    check_merge("qwen3");
    check_grad("qwen3", 0);
    check_grad("llama", 0.3);
    check_recompute("qwen3");
    check_recompute("qwen2");
    check_files();
    return TEST_END();
}
