// Reward-model forward, backward and losses on the value head, and the reward
// model's directory. The trunk runs through model/value.c; this file picks the
// last position of every row and writes the sequence-level gradient there.
#include "train/rm.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "model/io.h"
#include "model/value.h"
#include "tok/template.h"
#include "train/checkpoint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char HEAD_FILE[] = "score.safetensors", META_FILE[] = "rm.json";

static int find_eos(RewardModel *rm, const char *dir) {
    rm->eos = tok_eos_id(rm->tok);
    if (rm->eos < 0 && rm->m.cfg.n_eos > 0) rm->eos = rm->m.cfg.eos_token_ids[0];
    if (rm->eos < 0) return err_set("%s: neither tokenizer_config.json nor config.json names an EOS token", dir);
    return 0;
}

// Trunk, tokenizer and an uninitialised head.
static int open_trunk(RewardModel *rm, const char *dir, int with_grads) {
    memset(rm, 0, sizeof *rm);
    if (model_load(&rm->m, dir, with_grads) != 0) return -1;
    rm->head = calloc((size_t)rm->m.cfg.hidden_size + 1, sizeof(float));
    rm->tok = rm->head ? tok_load(dir) : NULL;
    if (!rm->head) err_set("out of memory");
    if (!rm->tok || find_eos(rm, dir) != 0) {
        rm_free(rm);
        return -1;
    }
    return 0;
}

int rm_init(RewardModel *rm, const char *dir, const char *template_name, RmKind kind, uint64_t seed) {
    if (open_trunk(rm, dir, 1) != 0) return -1;
    int C = rm->m.cfg.hidden_size;
    value_head_init(rm->head, &rm->head[C], C, seed, 0.02f);
    snprintf(rm->template_name, sizeof rm->template_name, "%s", template_name);
    rm->kind = kind;
    return 0;
}

static int read_meta(RewardModel *rm, const char *dir) {
    char path[4096];
    if (path_join(path, sizeof path, dir, META_FILE) != 0) return -1;
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    const char *tmpl = NULL, *kind = NULL;
    int rc = o ? 0 : err_set("not JSON");
    if (rc == 0) rc = json_get_string(o, "template", &tmpl, 1);
    if (rc == 0) rc = json_get_string(o, "kind", &kind, 1);
    if (rc == 0 && template_check(tmpl) != 0) rc = err_wrap("template");
    if (rc == 0 && strcmp(kind, "pairwise") != 0 && strcmp(kind, "pointwise") != 0)
        rc = err_set("kind: \"pairwise\" or \"pointwise\", got \"%s\"", kind);
    if (rc == 0) {
        snprintf(rm->template_name, sizeof rm->template_name, "%s", tmpl);
        rm->kind = strcmp(kind, "pairwise") == 0 ? RM_PAIRWISE : RM_POINTWISE;
    }
    cJSON_Delete(o);
    return rc ? err_wrap("%s", path) : 0;
}

int rm_load(RewardModel *rm, const char *dir, int with_grads) {
    char path[4096];
    if (path_join(path, sizeof path, dir, HEAD_FILE) != 0) return -1;
    if (!path_exists(path))
        return err_set("%s: no reward head (%s with score.weight); train one with aha rm train, or pass the run's "
                       "model/ directory", dir, HEAD_FILE);
    if (open_trunk(rm, dir, with_grads) != 0) return -1;
    int C = rm->m.cfg.hidden_size;
    if (value_head_load(path, rm->head, &rm->head[C], C) != 0 || read_meta(rm, dir) != 0) {
        rm_free(rm);
        return -1;
    }
    return 0;
}

int rm_save(const RewardModel *rm, const char *dir, SafeDtype dtype, const char *tokenizer_dir) {
    char path[4096];
    int C = rm->m.cfg.hidden_size;
    if (model_save(&rm->m, dir, dtype) != 0 || copy_tokenizer(tokenizer_dir, dir) != 0 ||
        path_join(path, sizeof path, dir, HEAD_FILE) != 0 || value_head_save(path, rm->head, rm->head[C], C) != 0)
        return -1;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "template", rm->template_name);
    cJSON_AddStringToObject(o, "kind", rm->kind == RM_PAIRWISE ? "pairwise" : "pointwise");
    cJSON_AddStringToObject(o, "head", "score.safetensors: score.weight (1, hidden_size), score.bias (1), read at the last token");
    int rc = json_write_file(o, dir, META_FILE);
    cJSON_Delete(o);
    return rc;
}

void rm_free(RewardModel *rm) {
    if (rm->m.params) model_free(&rm->m);
    free(rm->head);
    if (rm->tok) tok_free(rm->tok);
    memset(rm, 0, sizeof *rm);
}

// ---------------------------------------------------------------- batches

int rm_batch_init(RmBatch *b, Model *m, int rows, int T) {
    size_t cells = (size_t)rows * (size_t)T;
    *b = (RmBatch){.rows = rows, .T = T};
    b->ids = calloc(cells, sizeof *b->ids);
    b->lens = calloc((size_t)rows, sizeof *b->lens);
    b->values = calloc(cells, sizeof *b->values);
    b->dvalues = calloc(cells, sizeof *b->dvalues);
    b->acts = model_acts_create(m, rows, T);
    if (b->ids && b->lens && b->values && b->dvalues && b->acts) return 0;
    if (b->acts) err_set("reward model: out of memory for %d rows x %d tokens", rows, T);
    rm_batch_free(b);
    return -1;
}

int rm_batch_reserve(RmBatch *b, Model *m, int rows, int T) {
    if (b->acts && b->rows >= rows && b->T >= T) return 0;
    int r = b->rows > rows ? b->rows : rows, t = b->T > T ? b->T : T;
    rm_batch_free(b);
    return rm_batch_init(b, m, r, t);
}

void rm_batch_free(RmBatch *b) {
    if (b->acts) model_acts_free(b->acts);
    free(b->ids);
    free(b->lens);
    free(b->values);
    free(b->dvalues);
    memset(b, 0, sizeof *b);
}

int rm_forward(Model *m, RmBatch *b, const float *head, const SftExample *const *ex, int n, float *scores) {
    int T = b->T, C = m->cfg.hidden_size;
    if (n > b->rows) return err_set("reward model: %d rows in a batch of %d", n, b->rows);
    for (int r = 0; r < n; r++) {
        if (ex[r]->len < 1 || ex[r]->len > T) return err_set("reward model: a row of %d tokens (at most %d)", ex[r]->len, T);
        memcpy(b->ids + (size_t)r * T, ex[r]->ids, sizeof(int) * (size_t)ex[r]->len);
        b->lens[r] = ex[r]->len;
    }
    if (value_forward(m, b->acts, head, head[C], b->ids, b->lens, n, T, b->values) != 0) return -1;
    for (int r = 0; r < n; r++) scores[r] = b->values[(size_t)r * T + b->lens[r] - 1];
    return 0;
}

int rm_backward(Model *m, RmBatch *b, const float *head, const float *dscores, int n, float *dhead) {
    int T = b->T, C = m->cfg.hidden_size;
    memset(b->dvalues, 0, sizeof(float) * (size_t)n * T);
    for (int r = 0; r < n; r++) b->dvalues[(size_t)r * T + b->lens[r] - 1] = dscores[r];
    return value_backward(m, b->acts, head, b->dvalues, dhead, &dhead[C]);
}

int rm_score(Model *m, RmBatch *b, const float *head, const SftExample *ex, int n, float *scores) {
    int T = 1;
    for (int i = 0; i < n; i++) T = ex[i].len > T ? ex[i].len : T;
    if (rm_batch_reserve(b, m, b->rows > 0 ? b->rows : 8, T) != 0) return -1;
    const SftExample *rows[64];
    int per = b->rows < 64 ? b->rows : 64;
    for (int i = 0; i < n; i += per) {
        int k = n - i < per ? n - i : per;
        for (int r = 0; r < k; r++) rows[r] = &ex[i + r];
        if (rm_forward(m, b, head, rows, k, scores + i) != 0) return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- losses

// log σ(x) and σ(x) without overflow for either sign.
static double log_sigmoid(double x) { return x >= 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }
static double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x)); }

double rm_pair_loss(float *dc, float *dr, const float *rc, const float *rr, const float *margin, int n, double norm) {
    double loss = 0;
    for (int i = 0; i < n; i++) {
        double z = (double)rc[i] - rr[i] - (margin ? margin[i] : 0.0);
        loss -= log_sigmoid(z);
        dc[i] = (float)(-sigmoid(-z) / norm);
        dr[i] = -dc[i];
    }
    return loss / norm;
}

double rm_point_loss(float *d, const float *r, const float *label, int n, double norm) {
    double loss = 0;
    for (int i = 0; i < n; i++) {
        double x = r[i], y = label[i];
        loss += -log_sigmoid(x) + (1 - y) * x;   // softplus(x) − y x = −log σ(x) + (1 − y) x
        d[i] = (float)((sigmoid(x) - y) / norm);
    }
    return loss / norm;
}
