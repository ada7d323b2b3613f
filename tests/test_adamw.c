// AdamW: schedules against hand-computed values, one update against the
// formula in double precision, no decay on norms/biases, clipping, refusal of
// non-finite gradients, and a state save/load that resumes bit-identically.
// With arguments it is the C side of tests/test_adamw_torch.py:
//   test_adamw --torch-case DIR lr wd clip warmup total min_ratio scale b1 b2 steps
// loads DIR (config.json + model.safetensors), takes grads "<k>.<name>" from
// DIR/grads.safetensors for k < steps, and writes DIR/out/ and DIR/state.safetensors.
#include "test.h"

#include "base/err.h"
#include "base/fileio.h"
#include "base/sys.h"
#include "model/adamw.h"
#include "model/io.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ModelConfig tiny(void) {
    ModelConfig c = {.vocab_size = 11, .hidden_size = 8, .n_layers = 1, .n_heads = 2, .n_kv_heads = 1,
                     .head_dim = 4, .intermediate_size = 12, .max_position = 16, .rope_theta = 1e4,
                     .rms_eps = 1e-6, .tie_embeddings = 1, .attn_bias = 1, .bos_token_id = -1};
    snprintf(c.model_type, sizeof c.model_type, "qwen2");
    return c;
}

static void fill_grads(Model *m, unsigned seed) {
    srand(seed);
    for (size_t i = 0; i < m->n_params; i++) m->grads[i] = (float)(rand() / (double)RAND_MAX - 0.5);
}

static void test_schedules(void) {
    AdamWConfig c = adamw_defaults();
    c.lr = 0.1;
    CHECK(adamw_lr(&c, 1) == 0.1 && adamw_lr(&c, 1000) == 0.1);
    c.schedule = LR_WARMUP;
    c.warmup_steps = 4;
    CHECK_CLOSE(adamw_lr(&c, 1), 0.025, 1e-15, 0);
    CHECK_CLOSE(adamw_lr(&c, 3), 0.075, 1e-15, 0);
    CHECK(adamw_lr(&c, 4) == 0.1 && adamw_lr(&c, 50) == 0.1);
    c.schedule = LR_COSINE;
    c.total_steps = 14;
    c.min_lr_ratio = 0.2;
    CHECK_CLOSE(adamw_lr(&c, 2), 0.05, 1e-15, 0);
    CHECK_CLOSE(adamw_lr(&c, 4), 0.1, 1e-15, 0);
    CHECK_CLOSE(adamw_lr(&c, 9), 0.1 * (0.2 + 0.8 * 0.5), 1e-14, 0);           // halfway: cos = 0
    CHECK_CLOSE(adamw_lr(&c, 14), 0.02, 1e-14, 0);
    CHECK_CLOSE(adamw_lr(&c, 100), 0.02, 1e-14, 0);
    CHECK_CLOSE(adamw_lr(&c, 6), 0.1 * (0.2 + 0.8 * 0.5 * (1 + cos(M_PI * 0.2))), 1e-14, 0);
}

// One step from zero state, checked element by element in double precision.
static void test_one_step(void) {
    ModelConfig cfg = tiny();
    Model m;
    AHA_ASSERT(model_create(&m, &cfg, 1) == 0);
    model_init_random(&m, 5, 0.3f);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.01f;   // non-zero biases
    fill_grads(&m, 7);
    float *p0 = malloc(m.n_params * 4);
    memcpy(p0, m.params, m.n_params * 4);
    AdamWConfig c = adamw_defaults();
    c.lr = 0.01;
    c.weight_decay = 0.5;
    c.clip_norm = 0.7;
    AdamW o;
    AHA_ASSERT(adamw_init(&o, &m, &c) == 0);
    double ss = 0;
    for (size_t i = 0; i < m.n_params; i++) ss += (double)m.grads[i] * m.grads[i] * 0.25;
    double norm = adamw_step(&o, &m, 0.5f);
    CHECK_CLOSE(norm, sqrt(ss), 1e-12, 0);
    double clip = fmin(1.0, 0.7 / (sqrt(ss) + 1e-6));
    CHECK(clip < 1, "the case exercises clipping");
    int bad = 0, decayed = 0, kept = 0;
    for (int k = 0; k < m.n_tensors; k++) {
        const ParamTensor *t = &m.tensors[k];
        int decay = t->ndim == 2;
        decayed += decay;
        kept += !decay;
        for (size_t j = t->offset; j < t->offset + t->numel; j++) {
            double g = m.grads[j] * 0.5 * clip;
            double mm = 0.1 * g, vv = 0.001 * g * g;
            double want = p0[j] * (decay ? 1 - 0.01 * 0.5 : 1) -
                          0.01 / 0.1 * mm / (sqrt(vv) / sqrt(0.001) + 1e-8);
            if (fabs(want - m.params[j]) > 1e-6 * fmax(fabs(want), 1e-2)) bad++;
            if (fabs(o.m[j] - mm) > 1e-6 * fabs(mm) + 1e-12 || fabs(o.v[j] - vv) > 1e-6 * vv + 1e-15) bad++;
        }
    }
    CHECK(bad == 0, "%d values differ from the formula", bad);
    CHECK(decayed > 0 && kept > 0);
    CHECK(o.step == 1);

    // A non-finite gradient is refused and changes nothing.
    memcpy(p0, m.params, m.n_params * 4);
    fill_grads(&m, 8);
    m.grads[3] = NAN;
    CHECK(isnan(adamw_step(&o, &m, 1.0f)));
    CHECK(o.step == 1 && memcmp(p0, m.params, m.n_params * 4) == 0);
    adamw_free(&o);
    free(p0);
    model_free(&m);
}

// With zero moments and zero gradients the update is the decay alone.
static void test_decay_mask(void) {
    ModelConfig cfg = tiny();
    Model m;
    AHA_ASSERT(model_create(&m, &cfg, 1) == 0);
    model_init_random(&m, 9, 0.3f);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += 0.5f;
    float *p0 = malloc(m.n_params * 4);
    memcpy(p0, m.params, m.n_params * 4);
    AdamWConfig c = adamw_defaults();
    c.lr = 0.1;
    c.weight_decay = 0.3;
    AdamW o;
    AHA_ASSERT(adamw_init(&o, &m, &c) == 0);
    adamw_step(&o, &m, 1.0f);
    int bad = 0;
    for (int k = 0; k < m.n_tensors; k++) {
        const ParamTensor *t = &m.tensors[k];
        float f = t->is_norm || t->ndim == 1 ? 1.0f : (float)(1 - 0.1 * 0.3);
        for (size_t j = t->offset; j < t->offset + t->numel; j++) bad += m.params[j] != p0[j] * f;
    }
    CHECK(bad == 0, "%d parameters decayed wrongly", bad);
    adamw_free(&o);
    free(p0);
    model_free(&m);
}

static void test_resume(const char *dir) {
    ModelConfig cfg = tiny();
    Model a, b;
    AHA_ASSERT(model_create(&a, &cfg, 1) == 0 && model_create(&b, &cfg, 1) == 0);
    model_init_random(&a, 1, 0.1f);
    AdamWConfig c = adamw_defaults();
    c.schedule = LR_COSINE;
    c.warmup_steps = 2;
    c.total_steps = 8;
    AdamW oa, ob;
    AHA_ASSERT(adamw_init(&oa, &a, &c) == 0 && adamw_init(&ob, &b, &c) == 0);
    for (int s = 0; s < 3; s++) {
        fill_grads(&a, 100 + s);
        adamw_step(&oa, &a, 1.0f);
    }
    char sp[600];
    snprintf(sp, sizeof sp, "%s/opt.safetensors", dir);
    CHECK(adamw_state_save(&oa, &a, sp) == 0, "%s", err_msg());
    CHECK(adamw_state_load(&ob, &b, sp) == 0, "%s", err_msg());
    CHECK(ob.step == 3 && memcmp(ob.m, oa.m, oa.n * 4) == 0 && memcmp(ob.v, oa.v, oa.n * 4) == 0);
    memcpy(b.params, a.params, a.n_params * 4);
    int threads = threads_get();
    for (int s = 3; s < 6; s++) {
        fill_grads(&a, 100 + s);
        memcpy(b.grads, a.grads, a.n_params * 4);
        threads_set(1);
        adamw_step(&oa, &a, 1.0f);
        threads_set(2);
        adamw_step(&ob, &b, 1.0f);
    }
    threads_set(threads);
    CHECK(memcmp(a.params, b.params, a.n_params * 4) == 0, "resumed run (2 threads) is bit-identical");
    // A state file of another layout is refused.
    ModelConfig other = cfg;
    other.intermediate_size = 10;
    Model c2;
    AdamW oc;
    AHA_ASSERT(model_create(&c2, &other, 1) == 0 && adamw_init(&oc, &c2, &c) == 0);
    CHECK(adamw_state_load(&oc, &c2, sp) == -1 && strstr(err_msg(), "opt.safetensors"), "%s", err_msg());
    snprintf(sp, sizeof sp, "%s/none.safetensors", dir);
    CHECK(adamw_state_load(&oc, &c2, sp) == -1);
    adamw_free(&oc);
    model_free(&c2);
    adamw_free(&oa);
    adamw_free(&ob);
    model_free(&a);
    model_free(&b);
}

static int torch_case(int argc, char **argv) {
    if (argc != 12) {
        fprintf(stderr, "usage: test_adamw --torch-case DIR lr wd clip warmup total min_ratio scale b1 b2 steps\n");
        return 2;
    }
    const char *dir = argv[2];
    AdamWConfig c = adamw_defaults();
    c.lr = atof(argv[3]);
    c.weight_decay = atof(argv[4]);
    c.clip_norm = atof(argv[5]);
    c.warmup_steps = atol(argv[6]);
    c.total_steps = atol(argv[7]);
    c.min_lr_ratio = atof(argv[8]);
    c.schedule = LR_COSINE;
    float scale = (float)atof(argv[9]);
    c.beta1 = atof(argv[10]);
    c.beta2 = atof(argv[11]);
    int steps = (int)c.total_steps;
    Model m;
    if (model_load(&m, dir, 1) != 0) return fprintf(stderr, "%s\n", err_msg()), 1;
    char p[4096];
    snprintf(p, sizeof p, "%s/grads.safetensors", dir);
    SafeFile g;
    if (safetensors_open(&g, p) != 0) return fprintf(stderr, "%s\n", err_msg()), 1;
    AdamW o;
    AHA_ASSERT(adamw_init(&o, &m, &c) == 0);
    for (int s = 0; s < steps; s++) {
        for (int k = 0; k < m.n_tensors; k++) {
            char name[128];
            snprintf(name, sizeof name, "%d.%s", s, m.tensors[k].name);
            const SafeTensor *t = safetensors_find(&g, name);
            if (!t || t->numel != m.tensors[k].numel) return fprintf(stderr, "grads: no %s\n", name), 1;
            safetensors_read_f32(&g, t, m.grads + m.tensors[k].offset);
        }
        printf("step %d norm %.9g lr %.9g\n", s + 1, adamw_step(&o, &m, scale), adamw_lr(&c, s + 1));
    }
    snprintf(p, sizeof p, "%s/out", dir);
    int rc = model_save(&m, p, ST_F32);
    snprintf(p, sizeof p, "%s/state.safetensors", dir);
    if (rc == 0) rc = adamw_state_save(&o, &m, p);
    if (rc != 0) fprintf(stderr, "%s\n", err_msg());
    safetensors_close(&g);
    adamw_free(&o);
    model_free(&m);
    return rc ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--torch-case") == 0) return torch_case(argc, argv);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/aha-adamw-%d", getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp", (int)getpid());
    AHA_ASSERT(mkdir_p(dir) == 0);
    test_schedules();
    test_one_step();
    test_decay_mask();
    test_resume(dir);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return TEST_END();
}
