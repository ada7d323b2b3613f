// The supervised loop: batches of whole examples, right-padded, split into
// micro-batches whose gradients accumulate, g = -1/N on every target token of
// the update; an optional held-out set scored by the same forward.
#include "train/sft.h"
#include "base/err.h"
#include "base/rng.h"
#include "base/sys.h"
#include "kernels/head.h"
#include "model/adamw.h"
#include "report/log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const SftConfig sft_default = {
    .steps = 1000, .batch_rows = 32, .lr = 3e-3, .min_lr_ratio = 0.1, .weight_decay = 0.01, .clip_norm = 1.0,
    .beta2 = 0.99, .warmup_steps = 50, .seed = 1, .prompt_loss = 1, .log_every = 10, .label = "pretrain"};

void sft_defaults(SftConfig *c) { *c = sft_default; }

void sft_shuffle(int *order, int n, uint64_t seed, long epoch) {
    Rng r;
    rng_init(&r, seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint64_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

// Whether token k of e is a target (k >= 1: position k-1 predicts it).
static int is_target(const SftExample *e, int prompt_loss, int k) {
    if (prompt_loss) return 1;
    return e->train ? e->train[k] != 0 : k >= e->n_prompt;
}

int sft_targets(const SftExample *e, int prompt_loss) {
    int n = 0;
    for (int k = 1; k < e->len; k++) n += is_target(e, prompt_loss, k);
    return n;
}

int sft_batch_init(SftBatch *b, Model *m, int rows, int T) {
    size_t cells = (size_t)rows * (size_t)T;
    *b = (SftBatch){.rows = rows, .T = T};
    b->ids = calloc(cells, sizeof *b->ids);
    b->lens = calloc((size_t)rows, sizeof *b->lens);
    b->logp = calloc(cells, sizeof *b->logp);
    b->g = calloc(cells, sizeof *b->g);
    b->logits = malloc(sizeof *b->logits * (size_t)m->cfg.vocab_size);
    b->acts = model_acts_create(m, rows, T);
    if (b->ids && b->lens && b->logp && b->g && b->logits && b->acts) return 0;
    if (b->acts) err_set("sft: out of memory for %d rows x %d tokens", rows, T);
    sft_batch_free(b);
    return -1;
}

void sft_batch_free(SftBatch *b) {
    if (b->acts) model_acts_free(b->acts);
    free(b->ids);
    free(b->lens);
    free(b->logp);
    free(b->g);
    free(b->logits);
    memset(b, 0, sizeof *b);
}

// Targets (b->g != 0) whose token is the argmax of the logits at their
// position, from the final hidden states of the last forward.
static long count_correct(const Model *m, SftBatch *b) {
    const int *at;
    const float *hidden;
    int n = model_acts_tokens(b->acts, &at, &hidden), C = m->cfg.hidden_size, V = m->cfg.vocab_size;
    long correct = 0;
    for (int i = 0; i < n; i++) {
        if (b->g[at[i]] == 0) continue;
        head_logits(b->logits, hidden + (size_t)i * C, m->w.lm_head, 1, C, V);
        int best = 0;
        for (int v = 1; v < V; v++)
            if (b->logits[v] > b->logits[best]) best = v;
        correct += best == b->ids[at[i] + 1];
    }
    return correct;
}

int sft_batch_pass(Model *m, SftBatch *b, const SftExample *const *ex, int n, int prompt_loss, long N, double *nll,
                   long *correct) {
    int T = b->T;
    size_t cells = (size_t)n * (size_t)T;
    memset(b->g, 0, sizeof(float) * cells);
    for (int r = 0; r < n; r++) {
        const SftExample *e = ex[r];
        memcpy(b->ids + (size_t)r * T, e->ids, sizeof(int) * (size_t)e->len);
        b->lens[r] = e->len;
        // Position t predicts token t+1.
        for (int t = 0; t < e->len - 1; t++) b->g[(size_t)r * T + t] = (float)is_target(e, prompt_loss, t + 1);
    }
    if (model_forward(m, b->acts, b->ids, b->lens, n, T, 1.0f, b->logp, NULL) != 0) return -1;
    *correct += count_correct(m, b);
    // loss = -(1/N) Σ logp over targets, so dLoss/dlogp_t = -1/N there.
    double sum = 0;
    for (size_t i = 0; i < cells; i++)
        if (b->g[i] != 0) {
            sum -= b->logp[i];
            b->g[i] = N > 0 ? -1.0f / (float)N : 0.0f;
        }
    *nll += sum;
    return N > 0 ? model_backward(m, b->acts, b->g) : 0;
}

// The state of one training run.
typedef struct {
    Model *m;
    const SftConfig *c;
    const SftExample *ex;
    int n, *order;
    long cursor, epoch;
    SftBatch b;
    const SftExample **rows;   // (batch_rows) the examples of the current update
} Loop;

// Check every example and return the longest (0 after err_set on a bad one).
static int check_examples(const SftExample *ex, int n, int prompt_loss, const char *what) {
    int T = 0;
    for (int i = 0; i < n; i++) {
        int k = ex[i].len >= 2 && ex[i].n_prompt >= 0 && ex[i].n_prompt < ex[i].len ? sft_targets(&ex[i], prompt_loss) : 0;
        if (k < 1) {
            err_set("sft: %s example %d has %d tokens and no target (a %d-token prompt)", what, i, ex[i].len,
                    ex[i].n_prompt);
            return 0;
        }
        if (ex[i].len > T) T = ex[i].len;
    }
    return T;
}

// Sums over the examples of one pass.
typedef struct {
    double nll;
    long targets, correct, inputs;
} Tally;

// Forward (and with backward, backward with g = -1/N over the pass) rows in
// micro-batches into t.
static int pass_rows(Loop *L, const SftExample **rows, int R, int backward, Tally *t) {
    const SftConfig *c = L->c;
    *t = (Tally){0};
    for (int r = 0; r < R; r++) t->targets += sft_targets(rows[r], c->prompt_loss), t->inputs += rows[r]->len;
    for (int r = 0; r < R; r += L->b.rows) {
        int k = R - r < L->b.rows ? R - r : L->b.rows;
        if (sft_batch_pass(L->m, &L->b, rows + r, k, c->prompt_loss, backward ? t->targets : 0, &t->nll,
                           &t->correct) != 0)
            return -1;
    }
    return 0;
}

// One update's forward and backward: the next batch_rows examples of the
// shuffled order.
static int train_batch(Loop *L, Tally *t) {
    const SftConfig *c = L->c;
    for (int r = 0; r < c->batch_rows; r++) {
        if (L->cursor == L->n) sft_shuffle(L->order, L->n, c->seed, ++L->epoch), L->cursor = 0;
        L->rows[r] = &L->ex[L->order[L->cursor++]];
    }
    model_zero_grad(L->m);
    return pass_rows(L, L->rows, c->batch_rows, 1, t);
}

// Score the eval set: {"step", "eval_loss", "eval_mean_token_accuracy", "epoch"}.
static int log_eval(Loop *L, JsonlWriter *log, int step, double epoch, double *out) {
    const SftConfig *c = L->c;
    Tally t;
    for (int i = 0; i < c->n_eval; i++) L->rows[i] = &c->eval[i];
    if (pass_rows(L, L->rows, c->n_eval, 0, &t) != 0) return -1;
    *out = t.nll / (double)t.targets;
    if (!log->f) return 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", step);
    cJSON_AddNumberToObject(o, "eval_loss", *out);
    cJSON_AddNumberToObject(o, "eval_mean_token_accuracy", (double)t.correct / (double)t.targets);
    cJSON_AddNumberToObject(o, "epoch", epoch);
    int rc = jsonl_writer_put(log, o);
    cJSON_Delete(o);
    return rc;
}

int sft_train(Model *m, const SftExample *ex, int n, const SftConfig *c, SftResult *res) {
    if (!m->grads) return err_set("sft: the model was created without gradients");
    if (n < 1 || c->batch_rows < 1 || c->steps < 1) return err_set("sft: need examples, batch_rows >= 1 and steps >= 1");
    Loop L = {.m = m, .c = c, .ex = ex, .n = n};
    int rc = -1, opt_ok = 0;
    L.order = malloc(sizeof(int) * (size_t)n);
    L.rows = malloc(sizeof *L.rows * (size_t)(c->batch_rows > c->n_eval ? c->batch_rows : c->n_eval));
    AdamW opt;
    JsonlWriter log = {0};
    Progress prog;
    if (!L.order || !L.rows) {
        err_set("out of memory");
        goto done;
    }
    int T = check_examples(ex, n, c->prompt_loss, "training"), Te = T;
    if (T == 0 || (c->n_eval > 0 && (Te = check_examples(c->eval, c->n_eval, c->prompt_loss, "eval")) == 0)) goto done;
    if (Te > T) T = Te;
    if (T > m->cfg.max_position) {
        err_set("sft: an example has %d tokens, more than max_position_embeddings %d", T, m->cfg.max_position);
        goto done;
    }
    int micro = c->micro_rows > 0 && c->micro_rows < c->batch_rows ? c->micro_rows : c->batch_rows;
    if (sft_batch_init(&L.b, m, micro, T) != 0) goto done;
    AdamWConfig ac = adamw_defaults();   // beta1 and eps
    ac.lr = c->lr, ac.beta2 = c->beta2, ac.weight_decay = c->weight_decay, ac.clip_norm = c->clip_norm;
    ac.schedule = LR_COSINE, ac.warmup_steps = c->warmup_steps, ac.total_steps = c->steps;
    ac.min_lr_ratio = c->min_lr_ratio;
    if (adamw_init(&opt, m, &ac) != 0) goto done;
    opt_ok = 1;
    if (c->log_path && jsonl_writer_open(&log, c->log_path, 1) != 0) goto done;
    if (c->progress) progress_init(&prog, c->progress, c->label, 0, c->steps);
    memset(res, 0, sizeof *res);
    double t0 = time_now(), win_loss = 0, first = -1;
    long win_tok = 0, win_correct = 0;
    int every = c->log_every > 0 ? c->log_every : 10;
    sft_shuffle(L.order, n, c->seed, L.epoch);
    for (int step = 1; step <= c->steps; step++) {
        Tally t;
        if (train_batch(&L, &t) != 0) goto done;
        double loss = t.nll / (double)t.targets;
        if (!isfinite(loss)) {
            err_set("sft: loss is not finite at update %d", step);
            goto done;
        }
        double gnorm = adamw_step(&opt, m, 1.0f);
        if (!isfinite(gnorm)) {
            err_set("sft: gradient norm is not finite at update %d", step);
            goto done;
        }
        res->tokens += t.targets;
        res->input_tokens += t.inputs;
        win_loss += loss * (double)t.targets;
        win_tok += t.targets;
        win_correct += t.correct;
        double epoch = (double)L.epoch + (double)L.cursor / n;
        if (step % every == 0 || step == c->steps) {
            double mean = win_loss / (double)win_tok, el = time_now() - t0;
            if (first < 0) first = mean;
            res->last_loss = mean;
            if (log.f) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "step", step);
                cJSON_AddNumberToObject(o, "loss", mean);
                cJSON_AddNumberToObject(o, "learning_rate", adamw_lr(&ac, step));
                cJSON_AddNumberToObject(o, "grad_norm", gnorm);
                cJSON_AddNumberToObject(o, "num_tokens", (double)res->input_tokens);
                cJSON_AddNumberToObject(o, "mean_token_accuracy", (double)win_correct / (double)win_tok);
                cJSON_AddNumberToObject(o, "epoch", epoch);
                cJSON_AddNumberToObject(o, "seconds", el);
                int wrc = jsonl_writer_put(&log, o);
                cJSON_Delete(o);
                if (wrc != 0) goto done;
            }
            if (c->progress) {
                char text[160];
                snprintf(text, sizeof text, "loss %.4f  lr %.2e  %.0f tok/s", mean, adamw_lr(&ac, step),
                         (double)res->tokens / (el > 0 ? el : 1));
                progress_update(&prog, step, text);
            }
            win_loss = 0;
            win_tok = win_correct = 0;
        }
        int eval_now = c->n_eval > 0 && (step == c->steps || (c->eval_every > 0 && step % c->eval_every == 0));
        if (eval_now && log_eval(&L, &log, step, epoch, &res->eval_loss) != 0) goto done;
    }
    if (c->progress) progress_end(&prog);
    res->first_loss = first;
    res->seconds = time_now() - t0;
    rc = 0;
done:
    if (log.f) jsonl_writer_close(&log);
    if (opt_ok) adamw_free(&opt);
    sft_batch_free(&L.b);
    free(L.order);
    free(L.rows);
    return rc;
}
