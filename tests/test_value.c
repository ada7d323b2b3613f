// The value head (model/value.h). Without arguments: values do not depend on
// padding or neighbouring rows; value_backward matches central finite
// differences (trunk and head); value_loss on hand-worked numbers (both clip
// branches); token rewards; score.* save/load and its refusals; backward
// without a forward is refused. With --fixture DIR it is the C side of
// tests/test_value.py: values and gradients, then PPO's critic step (token
// rewards → rl_gae → value_loss → value_backward) with and without value clipping.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/rng.h"
#include "model/safetensors.h"
#include "model/value.h"
#include "rl/loss.h"
#include "test.h"
#include "test_grpo_grad_fixture.h"

static void put_all(FILE *f, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double d = x[i];
        fwrite(&d, sizeof d, 1, f);
    }
}

static void put(FILE *f, double d) { fwrite(&d, sizeof d, 1, f); }

// Gradients of the trunk (fixture order) and the head.
static void put_grads(FILE *f, const cJSON *j, const Model *m, const float *dw, float db) {
    fixture_write_grads(f, j, m);
    put_all(f, dw, (size_t)m->cfg.hidden_size);
    put(f, db);
}

// PPO's critic step on the fixture batch; values_old NULL: the forward's own
// values (one update per rollout), else the rollout-time values and clip_eps.
static int ppo_case(FILE *f, const cJSON *j, Model *m, ModelActs *a, const float *w, float b, const float *values_old,
                    float clip_eps) {
    int R = fixture_int(j, "R"), T = fixture_int(j, "T"), C = m->cfg.hidden_size;
    int *ids = fixture_ints(j, "ids", R * T), *lens = fixture_ints(j, "lens", R), *mi = fixture_ints(j, "mask", R * T);
    float *row_reward = fixture_floats(j, "rewards", R), *kl = fixture_floats(j, "kl", R * T);
    float *values = malloc(sizeof(float) * R * T), *rew = malloc(sizeof(float) * R * T);
    float *adv = malloc(sizeof(float) * R * T), *ret = malloc(sizeof(float) * R * T);
    float *dv = malloc(sizeof(float) * R * T), *dw = calloc((size_t)C, sizeof(float)), db = 0;
    uint8_t *mask = malloc((size_t)R * T);
    double tokens = 0, clipped = 0;
    for (int i = 0; i < R * T; i++) mask[i] = (uint8_t)mi[i], tokens += mi[i];
    model_zero_grad(m);
    int rc = value_forward(m, a, w, b, ids, lens, R, T, values);
    const float *vold = values_old ? values_old : values;
    value_token_rewards(rew, row_reward, kl, (float)fixture_num(j, "kl_coef"), mask, R, T);
    rl_gae(adv, ret, rew, vold, mask, R, T, (float)fixture_num(j, "gamma"), (float)fixture_num(j, "lambda"));
    double loss = value_loss(dv, &clipped, values, vold, ret, mask, R, T, clip_eps, tokens);
    rc = rc || value_backward(m, a, w, dv, dw, &db) != 0;
    if (rc) fprintf(stderr, "%s\n", err_msg());
    put_all(f, rew, (size_t)R * T);
    put_all(f, adv, (size_t)R * T);
    put_all(f, ret, (size_t)R * T);
    put(f, loss);
    put(f, clipped);
    put_grads(f, j, m, dw, db);
    free(ids), free(lens), free(mi), free(row_reward), free(kl), free(values), free(rew), free(adv), free(ret), free(dv), free(dw);
    free(mask);
    return rc;
}

static int run_fixture(const char *dir) {
    Model m;
    cJSON *j = fixture_open(dir, &m);
    int R = fixture_int(j, "R"), T = fixture_int(j, "T"), C = m.cfg.hidden_size;
    ModelActs *a = model_acts_create(&m, R, T);
    if (!a) fixture_die(err_msg());
    int *ids = fixture_ints(j, "ids", R * T), *lens = fixture_ints(j, "lens", R);
    float *w = fixture_floats(j, "head_w", C), b = (float)fixture_num(j, "head_b");
    float *dvalues = fixture_floats(j, "dvalues", R * T), *vold = fixture_floats(j, "values_old", R * T);
    float *values = malloc(sizeof(float) * R * T), *dw = calloc((size_t)C, sizeof(float)), db = 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f) fixture_die("cannot write out.bin");
    model_zero_grad(&m);
    int rc = value_forward(&m, a, w, b, ids, lens, R, T, values) != 0 || value_backward(&m, a, w, dvalues, dw, &db) != 0;
    if (rc) fprintf(stderr, "%s\n", err_msg());
    put_all(f, values, (size_t)R * T);
    put_grads(f, j, &m, dw, db);
    rc = rc || ppo_case(f, j, &m, a, w, b, NULL, 0.0f) || ppo_case(f, j, &m, a, w, b, vold, (float)fixture_num(j, "clip"));
    fclose(f);
    free(ids), free(lens), free(w), free(dvalues), free(vold), free(values), free(dw);
    model_acts_free(a);
    model_free(&m);
    cJSON_Delete(j);
    return rc;
}

// ---- standalone checks

enum { R = 3, T = 8, C = 12 };
static const int lens[R] = {8, 5, 1};

// L = Σ c·V + (the head's part enters through w, b)
static double weighted_values(Model *m, ModelActs *a, const float *w, float b, const int *ids, const float *c) {
    float v[R * T];
    CHECK(value_forward(m, a, w, b, ids, lens, R, T, v) == 0, "%s", err_msg());
    double s = 0;
    for (int i = 0; i < R * T; i++) s += (double)c[i] * v[i];
    return s;
}

static void check_model(void) {
    ModelConfig cfg = {.model_type = "qwen3", .vocab_size = 37, .hidden_size = C, .n_layers = 2, .n_heads = 2, .n_kv_heads = 1,
                       .head_dim = 6, .intermediate_size = 20, .max_position = 16, .rope_theta = 10000, .rms_eps = 1e-6,
                       .tie_embeddings = 0, .attn_bias = 0, .qk_norm = 1, .bos_token_id = -1};
    Model m;
    CHECK(model_create(&m, &cfg, 1) == 0, "%s", err_msg());
    model_init_random(&m, 3, 0.4f);
    ModelActs *a = model_acts_create(&m, R, T);
    Rng rng;
    rng_init(&rng, 9);
    int ids[R * T];
    float w[C], b, c[R * T], v0[R * T], v1[R * T];
    for (int i = 0; i < R * T; i++) ids[i] = (int)rng_below(&rng, 37), c[i] = (float)rng_normal(&rng);
    value_head_init(w, &b, C, 4, 0.5f);
    b = 0.25f;
    CHECK(value_forward(&m, a, w, b, ids, lens, R, T, v0) == 0, "%s", err_msg());

    // padding and neighbours change nothing; padding positions are 0
    int ids2[R * T];
    memcpy(ids2, ids, sizeof ids);
    for (int r = 0; r < R; r++)
        for (int t = lens[r]; t < T; t++) ids2[r * T + t] = (ids[r * T + t] + 5) % 37;
    CHECK(value_forward(&m, a, w, b, ids2, lens, R, T, v1) == 0 && memcmp(v0, v1, sizeof v0) == 0, "padding changed values");
    for (int r = 0; r < R; r++) {
        for (int t = lens[r]; t < T; t++) CHECK(v0[r * T + t] == 0.0f, "padding value at %d,%d", r, t);
        CHECK(value_forward(&m, a, w, b, ids + r * T, lens + r, 1, T, v1) == 0, "%s", err_msg());
        double d = 0, n = 0;
        for (int t = 0; t < T; t++) d += pow(v1[t] - v0[r * T + t], 2), n += pow(v0[r * T + t], 2);
        CHECK(sqrt(d) <= 1e-5 * sqrt(n), "row %d alone: normalized error %.3g", r, sqrt(d / n));
    }

    // value_backward against central differences along the gradient (trunk and head together)
    float dw[C] = {0}, db = 0;
    model_zero_grad(&m);
    weighted_values(&m, a, w, b, ids, c);
    CHECK(value_backward(&m, a, w, c, dw, &db) == 0, "%s", err_msg());
    double gn = db * db;
    for (int j = 0; j < C; j++) gn += (double)dw[j] * dw[j];
    for (size_t i = 0; i < m.n_params; i++) gn += (double)m.grads[i] * m.grads[i];
    gn = sqrt(gn);
    double h = 1e-3, L[2];
    float *save = malloc(m.n_params * sizeof(float)), w2[C];
    memcpy(save, m.params, m.n_params * sizeof(float));
    for (int s = 0; s < 2; s++) {
        double sg = s ? -h : h;
        for (size_t i = 0; i < m.n_params; i++) m.params[i] = (float)(save[i] + sg * m.grads[i] / gn);
        for (int j = 0; j < C; j++) w2[j] = (float)(w[j] + sg * dw[j] / gn);
        L[s] = weighted_values(&m, a, w2, (float)(b + sg * db / gn), ids, c);
    }
    memcpy(m.params, save, m.n_params * sizeof(float));
    free(save);
    double fd = (L[0] - L[1]) / (2 * h);
    CHECK(fabs(fd - gn) <= 3e-3 * gn, "value gradient: fd %.6g vs |grad| %.6g", fd, gn);
    printf("value head: |grad| %.5g, finite-difference error %.2e\n", gn, fabs(fd - gn) / gn);
    // db is Σ c over real positions; the LM head gets no gradient
    double sc = 0;
    for (int r = 0; r < R; r++)
        for (int t = 0; t < lens[r]; t++) sc += c[r * T + t];
    CHECK_CLOSE(db, sc, 1e-6, 1e-6);
    const ParamTensor *lm = model_find_tensor(&m, "lm_head.weight");
    int lm_zero = 1;
    for (size_t i = 0; i < lm->numel; i++) lm_zero &= m.grads[lm->offset + i] == 0.0f;
    CHECK(lm_zero, "the value backward touched lm_head");

    // a trunk-only forward cannot feed model_backward; nothing to differentiate on fresh activations
    CHECK(model_backward(&m, a, c) == -1, "model_backward after a trunk-only forward accepted");
    ModelActs *fresh = model_acts_create(&m, R, T);
    CHECK(value_backward(&m, fresh, w, c, dw, &db) == -1, "value backward without a forward accepted");
    CHECK(value_forward(&m, a, w, b, ids, lens, R + 1, T, v1) == -1, "oversized batch accepted");
    model_acts_free(fresh);
    model_acts_free(a);
    model_free(&m);
}

static void check_loss(void) {
    // ½ (V − R)²: V = 1, R = 3 → 2, dV = −2; V = 1, R = −1 → 2, dV = 2 (over 2 tokens: halved)
    float v[4] = {1, 1, 0.5f, 7}, old[4] = {0, 0, 0.5f, 7}, ret[4] = {3, -1, 0.5f, 0}, dv[4];
    uint8_t mask[4] = {1, 1, 1, 0};
    double clipped = -1;
    double l = value_loss(dv, &clipped, v, old, ret, mask, 1, 4, 0.0f, 2.0);
    CHECK_CLOSE(l, 2.0, 1e-12, 1e-12);
    CHECK(dv[0] == -1.0f && dv[1] == 1.0f && dv[2] == 0.0f && dv[3] == 0.0f, "unclipped dV %g %g %g %g", dv[0], dv[1], dv[2], dv[3]);
    CHECK(clipped == 0, "nothing can clip without clip_eps");
    // ε = 0.2, V_old = 0: token 0 clips to 0.2, ½·2.8² = 3.92 > 2 → clipped branch, dV = 0;
    // token 1 clips to 0.2, ½·1.2² = 0.72 < 2 → unclipped, dV = 2 / 2
    l = value_loss(dv, &clipped, v, old, ret, mask, 1, 4, 0.2f, 2.0);
    CHECK_CLOSE(l, (3.92 + 2.0) / 2, 1e-6, 1e-12);
    CHECK(dv[0] == 0.0f && dv[1] == 1.0f && dv[2] == 0.0f, "clipped dV %g %g %g", dv[0], dv[1], dv[2]);
    CHECK(clipped == 1, "clipped count %g", clipped);

    // token rewards: −β·kl on the span, the row reward added at its last token
    float kl[2 * 4] = {9, 1, 2, 9, 9, 9, 4, 9}, rr[2] = {1.5f, -1}, tr[2 * 4];
    uint8_t m2[2 * 4] = {0, 1, 1, 0, 0, 0, 1, 0};
    value_token_rewards(tr, rr, kl, 0.5f, m2, 2, 4);
    float want[8] = {0, -0.5f, -1 + 1.5f, 0, 0, 0, -2 - 1, 0};
    CHECK(memcmp(tr, want, sizeof want) == 0, "token rewards %g %g %g / %g", tr[1], tr[2], tr[3], tr[6]);
    value_token_rewards(tr, rr, NULL, 0.5f, m2, 2, 4);
    CHECK(tr[1] == 0 && tr[2] == 1.5f && tr[6] == -1, "token rewards without kl");
}

static void check_file(void) {
    const char *dir = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    char path[4096], bad[4096];
    snprintf(path, sizeof path, "%s/value_head_%d.safetensors", dir, (int)getpid());
    snprintf(bad, sizeof bad, "%s/value_head_bad_%d.safetensors", dir, (int)getpid());
    float w[C], b, w2[C], b2;
    value_head_init(w, &b, C, 8, 1.0f);
    b = -0.375f;
    CHECK(value_head_save(path, w, b, C) == 0, "%s", err_msg());
    CHECK(value_head_load(path, w2, &b2, C) == 0, "%s", err_msg());
    CHECK(memcmp(w, w2, sizeof w) == 0 && b == b2, "round trip changed the head");
    SafeFile f;
    CHECK(safetensors_open(&f, path) == 0, "%s", err_msg());
    const SafeTensor *t = safetensors_find(&f, "score.weight");
    CHECK(t && t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == C && f.n == 2, "score.weight layout");
    safetensors_close(&f);
    CHECK(value_head_load(path, w2, &b2, C + 1) == -1 && strstr(err_msg(), "score.weight"), "wrong width accepted");

    // no bias (as *ForSequenceClassification): bias 0; other tensors are ignored
    SafeItem items[2] = {{.name = "score.weight", .ndim = 2, .shape = {1, C}, .data = w},
                         {.name = "model.norm.weight", .ndim = 1, .shape = {C}, .data = w}};
    CHECK(safetensors_write(bad, items, 2, ST_BF16, NULL) == 0, "%s", err_msg());
    b2 = 5;
    CHECK(value_head_load(bad, w2, &b2, C) == 0 && b2 == 0.0f, "a head without bias: %s", err_msg());
    CHECK(fabsf(w2[3] - w[3]) <= 1e-2f * fabsf(w[3]) + 1e-6f, "bf16 weight read back");
    items[0].shape[0] = C, items[0].shape[1] = 1;
    CHECK(safetensors_write(bad, items, 2, ST_F32, NULL) == 0, "%s", err_msg());
    CHECK(value_head_load(bad, w2, &b2, C) == -1 && strstr(err_msg(), "shape"), "a (C, 1) weight accepted");
    items[0].name = "classifier.weight";
    CHECK(safetensors_write(bad, items, 1, ST_F32, NULL) == 0, "%s", err_msg());
    CHECK(value_head_load(bad, w2, &b2, C) == -1 && strstr(err_msg(), "no tensor score.weight"), "missing weight accepted");
    CHECK(value_head_load("/nonexistent/head.safetensors", w2, &b2, C) == -1, "missing file accepted");
    remove(path);
    remove(bad);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--fixture") == 0) return run_fixture(argv[2]);
    check_model();
    check_loss();
    check_file();
    return TEST_END();
}
