// Whole-model checks of the training forward/backward. Without arguments: a
// padded batch must not depend on what sits in its padding, a row must not
// depend on its neighbours, and 1 or 2 threads agree. With --fixture DIR it is
// the C side of tests/test_model_ref.py: reads fixture.json + params.bin, writes
// out.bin (logp, entropy, every gradient) for the PyTorch reference to judge.
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/rng.h"
#include "base/sys.h"
#include "model/adamw.h"
#include "model/forward.h"
#include "test.h"

static int geti(const cJSON *o, const char *k) { return cJSON_GetObjectItem(o, k)->valueint; }

static int run_fixture(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fixture.json", dir);
    char *text = file_read_all(path, NULL);
    if (!text) return fprintf(stderr, "%s\n", err_msg()), 1;
    cJSON *j = cJSON_Parse(text);
    free(text);
    ModelConfig c = {0};
    snprintf(c.model_type, sizeof c.model_type, "%s", cJSON_GetObjectItem(j, "model_type")->valuestring);
    c.vocab_size = geti(j, "vocab_size");
    c.hidden_size = geti(j, "hidden_size");
    c.n_layers = geti(j, "num_hidden_layers");
    c.n_heads = geti(j, "num_attention_heads");
    c.n_kv_heads = geti(j, "num_key_value_heads");
    c.head_dim = geti(j, "head_dim");
    c.intermediate_size = geti(j, "intermediate_size");
    c.max_position = geti(j, "max_position_embeddings");
    c.rope_theta = cJSON_GetObjectItem(j, "rope_theta")->valuedouble;
    c.rms_eps = cJSON_GetObjectItem(j, "rms_norm_eps")->valuedouble;
    c.tie_embeddings = geti(j, "tie_word_embeddings");
    c.attn_bias = geti(j, "attention_bias");
    c.qk_norm = geti(j, "qk_norm");
    c.bos_token_id = -1;
    int R = geti(j, "R"), T = geti(j, "T"), head_rows = geti(j, "head_rows");
    float temp = (float)cJSON_GetObjectItem(j, "temperature")->valuedouble;
    int *ids = malloc(sizeof(int) * R * T), *lens = malloc(sizeof(int) * R);
    float *g = malloc(sizeof(float) * R * T), *ga = malloc(sizeof(float) * R * T);
    for (int i = 0; i < R * T; i++) {
        ga[i] = (float)cJSON_GetArrayItem(cJSON_GetObjectItem(j, "g_adam"), i)->valuedouble;
        ids[i] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ids"), i)->valueint;
        g[i] = (float)cJSON_GetArrayItem(cJSON_GetObjectItem(j, "g"), i)->valuedouble;
    }
    for (int r = 0; r < R; r++) lens[r] = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "lens"), r)->valueint;

    // "precision": "bf16" runs the fixture in bf16 (exit 77, a skip, in a build without oneDNN)
    const cJSON *prec = cJSON_GetObjectItem(j, "precision");
    if (cJSON_IsString(prec) && strcmp(prec->valuestring, "bf16") == 0 && model_precision_set(PRECISION_BF16) != 0)
        return fprintf(stderr, "%s\n", err_msg()), 77;
    Model m;
    if (model_create(&m, &c, 1) != 0) return fprintf(stderr, "%s\n", err_msg()), 1;
    snprintf(path, sizeof path, "%s/params.bin", dir);
    size_t len = 0;
    char *raw = file_read_all(path, &len);
    const cJSON *names = cJSON_GetObjectItem(j, "tensors");
    int nt = cJSON_GetArraySize(names);
    size_t at = 0;
    for (int i = 0; i < nt; i++) {
        const ParamTensor *t = model_find_tensor(&m, cJSON_GetArrayItem(names, i)->valuestring);
        if (!t || (at + t->numel) * sizeof(float) > len) {
            fprintf(stderr, "fixture: tensor %s missing or short\n", cJSON_GetArrayItem(names, i)->valuestring);
            return 1;
        }
        memcpy(m.params + t->offset, raw + at * sizeof(float), t->numel * sizeof(float));
        at += t->numel;
    }
    free(raw);
    ModelActs *a = model_acts_create(&m, R, T);
    if (!a) return fprintf(stderr, "%s\n", err_msg()), 1;
    if (head_rows > 0) model_acts_set_head_rows(a, head_rows);
    float *logp = malloc(sizeof(float) * R * T), *ent = malloc(sizeof(float) * R * T);
    model_zero_grad(&m);
    if (model_forward(&m, a, ids, lens, R, T, temp, logp, ent) != 0 || model_backward(&m, a, g) != 0)
        return fprintf(stderr, "%s\n", err_msg()), 1;
    snprintf(path, sizeof path, "%s/out.bin", dir);
    FILE *f = fopen(path, "wb");
    fwrite(logp, sizeof(float), (size_t)R * T, f);
    fwrite(ent, sizeof(float), (size_t)R * T, f);
    for (int i = 0; i < nt; i++) {
        const ParamTensor *t = model_find_tensor(&m, cJSON_GetArrayItem(names, i)->valuestring);
        fwrite(m.grads + t->offset, sizeof(float), t->numel, f);
    }
    // AdamW steps on the same batch: the loss Σ ga·logp before each step and after the last
    int steps = geti(j, "adam_steps");
    AdamWConfig oc = adamw_defaults();
    oc.lr = cJSON_GetObjectItem(j, "lr")->valuedouble;
    oc.weight_decay = cJSON_GetObjectItem(j, "weight_decay")->valuedouble;
    oc.clip_norm = cJSON_GetObjectItem(j, "clip_norm")->valuedouble;
    AdamW opt;
    if (adamw_init(&opt, &m, &oc) != 0) return fprintf(stderr, "%s\n", err_msg()), 1;
    for (int s = 0; s <= steps; s++) {
        model_zero_grad(&m);
        if (model_forward(&m, a, ids, lens, R, T, temp, logp, NULL) != 0 || model_backward(&m, a, ga) != 0)
            return fprintf(stderr, "%s\n", err_msg()), 1;
        double loss = 0;
        for (int i = 0; i < R * T; i++) loss += (double)ga[i] * logp[i];
        float lf = (float)loss;
        fwrite(&lf, sizeof lf, 1, f);
        if (s < steps) adamw_step(&opt, &m, 1.0f);
    }
    adamw_free(&opt);
    fclose(f);
    model_acts_free(a);
    model_free(&m);
    cJSON_Delete(j);
    free(ids), free(lens), free(g), free(ga), free(logp), free(ent);
    return 0;
}

// One forward + backward; logp/ent (R, T) and a copy of the gradients.
static void step(Model *m, ModelActs *a, const int *ids, const int *lens, int R, int T, const float *g, float *logp, float *ent, float *grads) {
    model_zero_grad(m);
    CHECK(model_forward(m, a, ids, lens, R, T, 0.8f, logp, ent) == 0, "%s", err_msg());
    CHECK(model_backward(m, a, g) == 0, "%s", err_msg());
    memcpy(grads, m->grads, m->n_params * sizeof(float));
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--fixture") == 0) return run_fixture(argv[2]);
    ModelConfig c = {.model_type = "qwen3", .vocab_size = 53, .hidden_size = 20, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                     .head_dim = 6, .intermediate_size = 27, .max_position = 64, .rope_theta = 10000, .rms_eps = 1e-6,
                     .tie_embeddings = 1, .attn_bias = 1, .qk_norm = 1, .bos_token_id = -1};
    Model m;
    CHECK(model_create(&m, &c, 1) == 0, "%s", err_msg());
    model_init_random(&m, 7, 0.3f);
    enum { R = 4, T = 11 };
    int lens[R] = {11, 6, 1, 9};
    int ids[R * T];
    float g[R * T];
    Rng rng;
    rng_init(&rng, 3);
    for (int i = 0; i < R * T; i++) {
        ids[i] = (int)rng_below(&rng, 53);
        g[i] = (float)rng_normal(&rng);
    }
    ModelActs *a = model_acts_create(&m, R, T);
    CHECK(a != NULL, "%s", err_msg());
    size_t P = m.n_params;
    float lp0[R * T], e0[R * T], lp1[R * T], e1[R * T];
    float *g0 = malloc(P * sizeof(float)), *g1 = malloc(P * sizeof(float));
    step(&m, a, ids, lens, R, T, g, lp0, e0, g0);

    // garbage in the padding (ids and g) changes nothing at all
    int ids2[R * T];
    float gg[R * T];
    memcpy(ids2, ids, sizeof ids);
    memcpy(gg, g, sizeof g);
    for (int r = 0; r < R; r++)
        for (int t = lens[r]; t < T; t++) ids2[r * T + t] = (ids2[r * T + t] + 17) % 53, gg[r * T + t] = 5.0f;
    for (int r = 0; r < R; r++) gg[r * T + lens[r] - 1] = -3.0f;   // the last token has no target
    step(&m, a, ids2, lens, R, T, gg, lp1, e1, g1);
    CHECK(memcmp(lp0, lp1, sizeof lp0) == 0 && memcmp(e0, e1, sizeof e0) == 0, "padding changed logp");
    CHECK(memcmp(g0, g1, P * sizeof(float)) == 0, "padding changed gradients");
    for (int r = 0; r < R; r++)
        for (int t = lens[r] - 1; t < T; t++) CHECK(lp0[r * T + t] == 0.0f && e0[r * T + t] == 0.0f, "unused position %d,%d", r, t);

    // each row alone gives its logp within the batch
    for (int r = 0; r < R; r++) {
        float lp[T], e[T];
        CHECK(model_forward(&m, a, ids + r * T, lens + r, 1, T, 0.8f, lp, e) == 0, "%s", err_msg());
        CHECK(test_nerr(lp, lp0 + r * T, T) <= 1e-6, "row %d alone: %g", r, test_nerr(lp, lp0 + r * T, T));
        CHECK(test_nerr(e, e0 + r * T, T) <= 1e-6, "row %d entropy alone", r);
    }

    // one thread and two agree
    int nth = threads_get();
    threads_set(1);
    step(&m, a, ids, lens, R, T, g, lp1, e1, g1);
    threads_set(nth);
    CHECK(test_nerr(lp0, lp1, R * T) <= 1e-6, "threads changed logp: %g", test_nerr(lp0, lp1, R * T));
    CHECK(test_nerr(g0, g1, P) <= 1e-6, "threads changed gradients: %g", test_nerr(g0, g1, P));

    // the head chunked into 5-row pieces gives the same numbers
    model_acts_set_head_rows(a, 5);
    step(&m, a, ids, lens, R, T, g, lp1, e1, g1);
    CHECK(test_nerr(lp0, lp1, R * T) <= 1e-6, "head chunking changed logp");
    CHECK(test_nerr(g0, g1, P) <= 1e-6, "head chunking changed gradients: %g", test_nerr(g0, g1, P));

    // refusals
    int bad[R * T];
    memcpy(bad, ids, sizeof ids);
    bad[3] = 53;
    CHECK(model_forward(&m, a, bad, lens, R, T, 1.0f, lp1, NULL) == -1 && strstr(err_msg(), "vocab"), "id out of range accepted");
    CHECK(model_forward(&m, a, ids, lens, R + 1, T, 1.0f, lp1, NULL) == -1, "oversized batch accepted");
    CHECK(model_backward(&m, a, g) == -1, "backward after a failed forward accepted");
    CHECK(model_acts_create(&m, 1, 65) == NULL, "length beyond max_position accepted");

    free(g0), free(g1);
    model_acts_free(a);
    model_free(&m);
    return TEST_END();
}
