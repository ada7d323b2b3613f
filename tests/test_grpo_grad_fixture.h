// Fixture reading shared by the C sides of tests/test_grpo_grad.py and
// tests/test_value.py: fixture.json (a model config, "tensors" in params.bin
// order, and arrays) plus params.bin (float32). Test code only: it exits on a
// malformed fixture rather than reporting where.
#ifndef AHA_TEST_GRPO_GRAD_FIXTURE_H
#define AHA_TEST_GRPO_GRAD_FIXTURE_H

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "model/model.h"

static void fixture_die(const char *what) {
    fprintf(stderr, "fixture: %s\n", what);
    exit(1);
}

static const cJSON *fixture_get(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItem(o, k);
    if (!v) fixture_die(k);
    return v;
}

static int fixture_int(const cJSON *o, const char *k) { return fixture_get(o, k)->valueint; }
static double fixture_num(const cJSON *o, const char *k) { return fixture_get(o, k)->valuedouble; }

// n numbers of array k into a new array of floats (ints).
static float *fixture_floats(const cJSON *o, const char *k, int n) {
    const cJSON *a = fixture_get(o, k);
    if (cJSON_GetArraySize(a) != n) fixture_die(k);
    float *out = malloc(sizeof(float) * (size_t)n);
    for (int i = 0; i < n; i++) out[i] = (float)cJSON_GetArrayItem(a, i)->valuedouble;
    return out;
}

static int *fixture_ints(const cJSON *o, const char *k, int n) {
    const cJSON *a = fixture_get(o, k);
    if (cJSON_GetArraySize(a) != n) fixture_die(k);
    int *out = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) out[i] = cJSON_GetArrayItem(a, i)->valueint;
    return out;
}

// Parse dir/fixture.json, create the model it describes (with gradients) and
// load dir/params.bin into it. The caller frees the JSON and the model.
static cJSON *fixture_open(const char *dir, Model *m) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fixture.json", dir);
    char *text = file_read_all(path, NULL);
    if (!text) fixture_die(err_msg());
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) fixture_die("fixture.json does not parse");
    ModelConfig c = {0};
    snprintf(c.model_type, sizeof c.model_type, "%s", fixture_get(j, "model_type")->valuestring);
    c.vocab_size = fixture_int(j, "vocab_size");
    c.hidden_size = fixture_int(j, "hidden_size");
    c.n_layers = fixture_int(j, "num_hidden_layers");
    c.n_heads = fixture_int(j, "num_attention_heads");
    c.n_kv_heads = fixture_int(j, "num_key_value_heads");
    c.head_dim = fixture_int(j, "head_dim");
    c.intermediate_size = fixture_int(j, "intermediate_size");
    c.max_position = fixture_int(j, "max_position_embeddings");
    c.rope_theta = fixture_num(j, "rope_theta");
    c.rms_eps = fixture_num(j, "rms_norm_eps");
    c.tie_embeddings = fixture_int(j, "tie_word_embeddings");
    c.attn_bias = fixture_int(j, "attention_bias");
    c.qk_norm = fixture_int(j, "qk_norm");
    c.bos_token_id = -1;
    if (model_create(m, &c, 1) != 0) fixture_die(err_msg());
    snprintf(path, sizeof path, "%s/params.bin", dir);
    size_t len = 0, at = 0;
    char *raw = file_read_all(path, &len);
    if (!raw) fixture_die(err_msg());
    const cJSON *names = fixture_get(j, "tensors");
    for (int i = 0; i < cJSON_GetArraySize(names); i++) {
        const ParamTensor *t = model_find_tensor(m, cJSON_GetArrayItem(names, i)->valuestring);
        if (!t || (at + t->numel) * sizeof(float) > len) fixture_die("a tensor is missing or short");
        memcpy(m->params + t->offset, raw + at * sizeof(float), t->numel * sizeof(float));
        at += t->numel;
    }
    free(raw);
    return j;
}

// Append the gradients of the fixture's tensors, in its order, as doubles.
static inline void fixture_write_grads(FILE *f, const cJSON *j, const Model *m) {
    const cJSON *names = fixture_get(j, "tensors");
    for (int i = 0; i < cJSON_GetArraySize(names); i++) {
        const ParamTensor *t = model_find_tensor(m, cJSON_GetArrayItem(names, i)->valuestring);
        for (size_t k = 0; k < t->numel; k++) {
            double d = m->grads[t->offset + k];
            fwrite(&d, sizeof d, 1, f);
        }
    }
}

#endif
