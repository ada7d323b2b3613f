// The supervised loop: batches of whole examples, right-padded, split into
// micro-batches whose gradients accumulate, g = -1/N on every target token of
// the update; an optional held-out set scored by the same forward.
#include "train/sft.h"
#include "base/err.h"
#include "base/rng.h"
#include "base/sys.h"
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
    b->acts = model_acts_create(m, rows, T);
    if (b->ids && b->lens && b->logp && b->g && b->acts) return 0;
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
    memset(b, 0, sizeof *b);
}

int sft_batch_pass(Model *m, SftBatch *b, const SftExample *const *ex, int n, int prompt_loss, long N, double *nll) {
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
    int n, *order, *ntarg;
    long cursor, epoch;
    SftBatch b;
    const SftExample **rows;   // (batch_rows) the examples of the current update
} Loop;

// Check every example and return the longest (0 after err_set on a bad one).
static int check_examples(const SftExample *ex, int n, int prompt_loss, int *ntarg, const char *what) {
    int T = 0;
    for (int i = 0; i < n; i++) {
        int k = ex[i].len >= 2 && ex[i].n_prompt >= 0 && ex[i].n_prompt < ex[i].len ? sft_targets(&ex[i], prompt_loss) : 0;
        if (k < 1) {
            err_set("sft: %s example %d has %d tokens and no target (a %d-token prompt)", what, i, ex[i].len,
                    ex[i].n_prompt);
            return 0;
        }
        if (ntarg) ntarg[i] = k;
        if (ex[i].len > T) T = ex[i].len;
    }
    return T;
}

// Mean loss over the eval set, in micro-batches.
static int eval_loss(Loop *L, double *out) {
    const SftConfig *c = L->c;
    double nll = 0;
    long N = 0;
    for (int i = 0; i < c->n_eval; i += L->b.rows) {
        int k = c->n_eval - i < L->b.rows ? c->n_eval - i : L->b.rows;
        for (int r = 0; r < k; r++) L->rows[r] = &c->eval[i + r], N += sft_targets(&c->eval[i + r], c->prompt_loss);
        if (sft_batch_pass(L->m, &L->b, L->rows, k, c->prompt_loss, 0, &nll) != 0) return -1;
    }
    *out = nll / (double)N;
    return 0;
}

// One update's forward and backward: the next batch_rows examples of the
// shuffled order in micro-batches. Returns the mean loss in *loss and the
// batch's target and input tokens.
static int train_batch(Loop *L, double *loss, long *N, long *inputs) {
    const SftConfig *c = L->c;
    int R = c->batch_rows;
    *N = 0, *inputs = 0;
    for (int r = 0; r < R; r++) {
        if (L->cursor == L->n) sft_shuffle(L->order, L->n, c->seed, ++L->epoch), L->cursor = 0;
        int i = L->order[L->cursor++];
        L->rows[r] = &L->ex[i];
        *N += L->ntarg[i];
        *inputs += L->ex[i].len;
    }
    double nll = 0;
    model_zero_grad(L->m);
    for (int r = 0; r < R; r += L->b.rows) {
        int k = R - r < L->b.rows ? R - r : L->b.rows;
        if (sft_batch_pass(L->m, &L->b, L->rows + r, k, c->prompt_loss, *N, &nll) != 0) return -1;
    }
    *loss = nll / (double)*N;
    return 0;
}

static int log_eval(Loop *L, JsonlWriter *log, int step, double epoch, double *out) {
    if (eval_loss(L, out) != 0) return -1;
    if (!log->f) return 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", step);
    cJSON_AddNumberToObject(o, "eval_loss", *out);
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
    L.ntarg = malloc(sizeof(int) * (size_t)n);
    L.rows = malloc(sizeof *L.rows * (size_t)(c->batch_rows > c->n_eval ? c->batch_rows : c->n_eval));
    AdamW opt;
    JsonlWriter log = {0};
    Progress prog;
    if (!L.order || !L.ntarg || !L.rows) {
        err_set("out of memory");
        goto done;
    }
    int T = check_examples(ex, n, c->prompt_loss, L.ntarg, "training"), Te = T;
    if (T == 0 || (c->n_eval > 0 && (Te = check_examples(c->eval, c->n_eval, c->prompt_loss, NULL, "eval")) == 0)) goto done;
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
    long win_tok = 0;
    int every = c->log_every > 0 ? c->log_every : 10;
    sft_shuffle(L.order, n, c->seed, L.epoch);
    for (int step = 1; step <= c->steps; step++) {
        double loss;
        long N, inputs;
        if (train_batch(&L, &loss, &N, &inputs) != 0) goto done;
        if (!isfinite(loss)) {
            err_set("sft: loss is not finite at update %d", step);
            goto done;
        }
        double gnorm = adamw_step(&opt, m, 1.0f);
        if (!isfinite(gnorm)) {
            err_set("sft: gradient norm is not finite at update %d", step);
            goto done;
        }
        res->tokens += N;
        res->input_tokens += inputs;
        win_loss += loss * (double)N;
        win_tok += N;
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
            win_tok = 0;
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
    free(L.ntarg);
    free(L.rows);
    return rc;
}
