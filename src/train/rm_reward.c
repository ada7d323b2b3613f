// The "rm" reward term: text in, one reward-model forward per batch of
// completions, a normalised score out. Holds the model, its batch buffers and
// the encoded sequences of one call.
#include "train/rm_reward.h"
#include "base/err.h"
#include "base/fileio.h"
#include "reward/text.h"
#include "train/rm.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { VIEW_ALL, VIEW_ANSWER } View;
typedef enum { NORM_NONE, NORM_SIGMOID, NORM_BATCH } Norm;

typedef struct {
    RewardModel rm;
    RmBatch b;
    View view;
    Norm norm;
    SftExample *seq;   // (cap) one call's sequences
    float *score;      // (cap)
    int cap;
} RmTerm;

// The completion text the view selects (borrowed from in): all of it, or the
// answer as the rule rewards read it (text_answer_view), so that a reward model
// trained on bare answers reads the policy's tagged ones the same way (a space
// before EOS is a token the reward model never saw, and its score is noise).
static const char *view_text(const RewardInput *in, View v, size_t *len) {
    *len = in->completion_len;
    if (v == VIEW_ALL) return in->completion;
    return text_answer_view(in->completion, in->completion_len, in->prefilled_think, len);
}

// Encode one input: prompt (rendered) + view + EOS, keeping the last
// max_position tokens (the score is read at the end).
static int encode(RmTerm *t, const RewardInput *in, SftExample *e) {
    size_t len;
    const char *text = view_text(in, t->view, &len);
    char *copy = malloc(len + 1);
    if (!copy) return err_set("out of memory");
    memcpy(copy, text, len);
    copy[len] = 0;
    cJSON *p = in->prompt ? cJSON_CreateString(in->prompt) : NULL, *c = cJSON_CreateString(copy);
    free(copy);
    SftDataOpts o = {.tok = t->rm.tok, .template_name = t->rm.template_name, .eos = t->rm.eos, .max_len = INT_MAX};
    // An empty answer is still scored: the model reads the prompt then EOS.
    int rc = c ? rm_data_encode(&o, p, c, e) : err_set("out of memory");
    if (rc != 0 && len == 0 && c) {
        cJSON_SetValuestring(c, " ");
        rc = rm_data_encode(&o, p, c, e);
    }
    cJSON_Delete(p);
    cJSON_Delete(c);
    if (rc != 0) return -1;
    int max = t->rm.m.cfg.max_position;
    if (e->len > max) {
        memmove((int *)e->ids, e->ids + (e->len - max), sizeof(int) * (size_t)max);
        e->len = max;
    }
    return 0;
}

static int score_batch(void *ctx, const RewardInput *in, int n, const RewardParams *p, double *out) {
    (void)p;
    RmTerm *t = ctx;
    if (n > t->cap) {
        SftExample *ns = realloc(t->seq, sizeof *ns * (size_t)n);
        if (ns) t->seq = ns;
        float *nf = ns ? realloc(t->score, sizeof *nf * (size_t)n) : NULL;
        if (nf) t->score = nf;
        if (!ns || !nf) return err_set("out of memory");
        t->cap = n;
    }
    int rc = 0, made = 0;
    while (made < n && (rc = encode(t, &in[made], &t->seq[made])) == 0) made++;
    if (rc == 0) rc = rm_score(&t->rm.m, &t->b, t->rm.head, t->seq, n, t->score);
    for (int i = 0; i < made; i++) free((void *)t->seq[i].ids), free((void *)t->seq[i].train);
    if (rc != 0) return -1;
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += t->score[i] / (double)n;
    for (int i = 0; i < n; i++) var += (t->score[i] - mean) * (t->score[i] - mean) / (double)n;
    for (int i = 0; i < n; i++) {
        double r = t->score[i];
        out[i] = t->norm == NORM_SIGMOID ? 1.0 / (1.0 + exp(-r)) : t->norm == NORM_BATCH ? (r - mean) / (sqrt(var) + 1e-6) : r;
    }
    return 0;
}

static void term_free(RmTerm *t) {
    rm_batch_free(&t->b);
    rm_free(&t->rm);
    free(t->seq);
    free(t->score);
    free(t);
}

// 1 when the two directories' tokenizer.json differ.
static int tokenizers_differ(const char *a, const char *b) {
    char pa[4096], pb[4096];
    if (path_join(pa, sizeof pa, a, "tokenizer.json") != 0 || path_join(pb, sizeof pb, b, "tokenizer.json") != 0) return 1;
    size_t la, lb;
    char *ta = file_read_all(pa, &la), *tb = file_read_all(pb, &lb);
    int differ = !ta || !tb || la != lb || memcmp(ta, tb, la) != 0;
    free(ta), free(tb);
    err_clear();
    return differ;
}

static int open_term(RewardTerm *term, const char *policy_tok_dir) {
    const char *view = reward_param_string(&term->params, "view", "all");
    const char *norm = reward_param_string(&term->params, "norm", "none");
    double batch = reward_param_double(&term->params, "batch", 16);
    RmTerm *t = calloc(1, sizeof *t);
    if (!t) return err_set("out of memory");
    t->view = strcmp(view, "answer") == 0 ? VIEW_ANSWER : VIEW_ALL;
    t->norm = strcmp(norm, "sigmoid") == 0 ? NORM_SIGMOID : strcmp(norm, "batch") == 0 ? NORM_BATCH : NORM_NONE;
    t->b.rows = (int)batch;
    int rc = 0;
    if (strcmp(view, "all") != 0 && strcmp(view, "answer") != 0)
        rc = err_set("view must be all or answer, got '%s'", view);
    else if (strcmp(norm, "none") != 0 && strcmp(norm, "sigmoid") != 0 && strcmp(norm, "batch") != 0)
        rc = err_set("norm must be none, sigmoid or batch, got '%s'", norm);
    else if (batch < 1 || batch > 64 || batch != floor(batch))
        rc = err_set("batch must be a whole number in [1, 64], got %g", batch);
    else
        rc = rm_load(&t->rm, term->path, 0);
    if (rc != 0) {
        free(t);
        return -1;
    }
    if (policy_tok_dir && tokenizers_differ(policy_tok_dir, term->path))
        log_info("reward rm:%s has a tokenizer other than the policy's: completions are decoded to text and "
                 "re-encoded with the reward model's", term->path);
    term->ctx = t;
    term->ctx_fn = score_batch;
    return 0;
}

int rm_reward_open(RewardSpec *spec, const char *policy_tok_dir) {
    for (int k = 0; k < spec->n; k++) {
        RewardTerm *term = &spec->terms[k];
        if (strcmp(term->entry->name, "rm") != 0 || term->ctx) continue;
        if (open_term(term, policy_tok_dir) != 0) {
            rm_reward_close(spec);
            return err_wrap("reward rm:%s", term->path);
        }
    }
    return 0;
}

void rm_reward_close(RewardSpec *spec) {
    for (int k = 0; k < spec->n; k++) {
        RewardTerm *term = &spec->terms[k];
        if (term->ctx_fn == score_batch && term->ctx) term_free(term->ctx);
        if (term->ctx_fn == score_batch) term->ctx = NULL, term->ctx_fn = NULL;
    }
}
