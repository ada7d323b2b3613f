// The supervised loop: batches of whole examples, right-padded, split into
// micro-batches whose gradients accumulate, g = -1/N on every target token of
// the update; an optional held-out set scored by the same forward; checkpoints
// that hold all a bit-exact resume needs.
#include "train/sft.h"
#include "base/crc32c.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "base/rng.h"
#include "base/sys.h"
#include "kernels/head.h"
#include "model/adamw.h"
#include "model/io.h"
#include "model/lora.h"
#include "report/log.h"
#include "train/checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
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

int sft_split(int *order, int n, double eval_ratio, uint64_t seed) {
    int n_eval = (int)lround(eval_ratio * n);
    if (eval_ratio > 0 && n_eval == 0) n_eval = 1;
    sft_shuffle(order, n, seed, -1);   // its own stream: epoch orders start at 0
    return n_eval;
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

int sft_batch_init(SftBatch *b, Model *m, int rows, int T, int recompute) {
    size_t cells = (size_t)rows * (size_t)T;
    *b = (SftBatch){.rows = rows, .T = T};
    b->ids = calloc(cells, sizeof *b->ids);
    b->lens = calloc((size_t)rows, sizeof *b->lens);
    b->logp = calloc(cells, sizeof *b->logp);
    b->g = calloc(cells, sizeof *b->g);
    b->logits = malloc(sizeof *b->logits * (size_t)m->cfg.vocab_size);
    b->acts = model_acts_create_opts(m, rows, T, recompute);
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
    Model *tm;     // what the optimizer updates: m, or its LoRA adapters (m->lora)
    const SftConfig *c;
    const SftExample *ex;
    int n, *order;
    long cursor, epoch;
    SftBatch b;
    const SftExample **rows;   // (batch_rows) the examples of the current update
    double *acc;   // (n_params) the update's gradient summed over micro-batches and ranks, or
                   // NULL when one micro-batch on one rank makes it whole
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
// micro-batches into t. Under MPI each rank takes its share of the rows (N
// counts the targets of all of them) and the sums are over every rank's; the
// gradients are summed by the caller.
static int pass_rows(Loop *L, const SftExample **rows, int R, int backward, Tally *t) {
    const SftConfig *c = L->c;
    *t = (Tally){0};
    for (int r = 0; r < R; r++) t->targets += sft_targets(rows[r], c->prompt_loss), t->inputs += rows[r]->len;
    // Whole micro-batches go to the ranks, so each one's rows, and with them its
    // gradient, are the same whatever the number of ranks.
    int mb = L->b.rows, lo, hi;
    dist_share((R + mb - 1) / mb, &lo, &hi);
    Model *m = L->m, *tm = L->tm;
    if (m->lora) m->lora->train = backward;   // adapter dropout in training passes only
    for (int j = lo; j < hi; j++) {
        int r = j * mb, k = R - r < mb ? R - r : mb, sum = backward && L->acc;
        if (sum) model_zero_grad(tm);
        if (sft_batch_pass(m, &L->b, rows + r, k, c->prompt_loss, backward ? t->targets : 0, &t->nll, &t->correct) !=
            0)
            return -1;
        if (sum)
            for (size_t i = 0; i < tm->n_params; i++) L->acc[i] += tm->grads[i];
    }
    if (m->lora) m->lora->train = 0;
    if (dist_size() == 1) return 0;
    double sums[2] = {t->nll, (double)t->correct};
    if (dist_sum_f64(sums, 2) != 0) return -1;
    t->nll = sums[0], t->correct = (long)sums[1];
    return 0;
}

// The examples of the next update into rows (when not NULL): the next ones of
// the shuffled order, batch_rows of them, fewer when batch_tokens would be
// passed (never none). Moves the cursor (and the epoch, reshuffling order).
// Returns the count.
static int take_rows(const SftConfig *c, const SftExample *ex, int n, int *order, long *cursor, long *epoch,
                     const SftExample **rows) {
    int r = 0;
    long tokens = 0;
    while (r < c->batch_rows) {
        if (*cursor == n) sft_shuffle(order, n, c->seed, ++*epoch), *cursor = 0;
        const SftExample *e = &ex[order[*cursor]];
        if (c->batch_tokens > 0 && r > 0 && tokens + e->len > c->batch_tokens) break;
        tokens += e->len;
        if (rows) rows[r] = e;
        r++, ++*cursor;
    }
    return r;
}

long sft_updates_for(const SftExample *ex, int n, const SftConfig *c, double epochs) {
    int *order = malloc(sizeof(int) * (size_t)n);
    if (!order) return err_set("out of memory");
    long cursor = 0, epoch = 0, updates = 0, need = (long)ceil(epochs * n - 1e-9);
    sft_shuffle(order, n, c->seed, 0);
    for (long seen = 0; seen < need; updates++) seen += take_rows(c, ex, n, order, &cursor, &epoch, NULL);
    free(order);
    return updates;
}

// One update's forward and backward: the next examples of the shuffled order
// (every rank walks the same order), gradients summed over micro-batches and ranks.
static int train_batch(Loop *L, Tally *t) {
    int R = take_rows(L->c, L->ex, L->n, L->order, &L->cursor, &L->epoch, L->rows);
    Model *tm = L->tm;
    model_zero_grad(tm);
    if (L->acc) memset(L->acc, 0, sizeof(double) * tm->n_params);
    if (pass_rows(L, L->rows, R, 1, t) != 0) return -1;
    if (!L->acc) return 0;
    // Micro-batch gradients (fp32) add up in fp64, where the order of the terms
    // hardly matters: the fp32 result is the same for 1, 2 or 4 ranks.
    if (dist_sum_f64(L->acc, tm->n_params) != 0) return -1;
    for (size_t i = 0; i < tm->n_params; i++) tm->grads[i] = (float)L->acc[i];
    return 0;
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

// ---------------------------------------------------------------- checkpoints

// What a resume needs beside weights and optimizer: the data order's place, the
// open log window and the totals so far.
typedef struct {
    long step, epoch, cursor, lines;   // lines: of the log
    double win_loss, first, seconds;
    long win_tok, win_correct, tokens, input_tokens;
} RunState;

#define STATE_LONGS(X) X(step) X(epoch) X(cursor) X(lines) X(win_tok) X(win_correct) X(tokens) X(input_tokens)
#define STATE_DOUBLES(X) X(win_loss) X(first) X(seconds)

static int state_write(const RunState *st, const char *dir) {
    cJSON *o = cJSON_CreateObject();
#define PUT(k) cJSON_AddNumberToObject(o, #k, (double)st->k);
    STATE_LONGS(PUT) STATE_DOUBLES(PUT)
#undef PUT
    int rc = checkpoint_state_write(o, dir);
    cJSON_Delete(o);
    return rc;
}

static int state_read(RunState *st, const char *dir) {
    char path[4096];
    cJSON *o = checkpoint_state_read(dir, path, sizeof path);
    if (!o) return -1;
    int rc = 0;
#define GET_L(k) if (rc == 0) rc = json_get_int(o, #k, &st->k, 1);
#define GET_D(k) if (rc == 0) rc = json_get_double(o, #k, &st->k, 1);
    STATE_LONGS(GET_L) STATE_DOUBLES(GET_D)
#undef GET_L
#undef GET_D
    cJSON_Delete(o);
    return rc ? err_wrap("%s", path) : 0;
}

// ckpt_dir/step_N: written as step_N.tmp, checksummed, fsynced and renamed;
// ckpt_dir/latest names it (train/checkpoint.h).
static int ckpt_save(const SftConfig *c, Model *m, const AdamW *opt, const RunState *st) {
    char fin[4096], tmp[4096], path[4096];
    if (path_fmt(fin, sizeof fin, "%s/step_%ld", c->ckpt_dir, st->step) != 0 ||
        path_fmt(tmp, sizeof tmp, "%s.tmp", fin) != 0 || path_join(path, sizeof path, tmp, "optimizer.safetensors") != 0 ||
        mkdir_p(c->ckpt_dir) != 0 || remove_tree(tmp) != 0)
        return -1;
    // With LoRA the base never changes: the checkpoint holds the adapters (PEFT files).
    int rc = m->lora ? lora_save(m->lora, tmp) : model_save(m, tmp, ST_F32);
    if (rc == 0) rc = copy_tokenizer(c->tokenizer_dir, tmp);
    if (rc == 0) rc = adamw_state_save(opt, m->lora ? &m->lora->ad : m, path);
    if (rc == 0) rc = state_write(st, tmp);
    return checkpoint_commit(c->ckpt_dir, rc, st->step, c->save_total_limit);
}

// Take up the run where checkpoint dir left it: optimizer, counters, the log.
static int resume(const SftConfig *c, const Model *m, AdamW *opt, RunState *st, int n) {
    // m: what the optimizer updates (the model or its adapters)
    char path[4096];
    if (path_join(path, sizeof path, c->resume_from, "optimizer.safetensors") != 0 ||
        adamw_state_load(opt, m, path) != 0 || state_read(st, c->resume_from) != 0)
        return -1;
    if (st->step < 1 || st->step >= c->steps || st->epoch < 0 || st->cursor < 0 || st->cursor > n ||
        opt->step != st->step)
        return err_set("%s: step %ld (optimizer step %ld), epoch %ld, position %ld do not fit a run of %d updates "
                       "over %d examples", c->resume_from, st->step, opt->step, st->epoch, st->cursor, c->steps, n);
    return c->log_path && dist_rank() == 0 ? jsonl_rewind(c->log_path, st->lines, st->step, 0) : 0;
}

// ---------------------------------------------------------------- the loop

static int log_train(JsonlWriter *log, const RunState *st, double mean, double lr, double gnorm, double epoch,
                     double el) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", (double)st->step);
    cJSON_AddNumberToObject(o, "loss", mean);
    cJSON_AddNumberToObject(o, "learning_rate", lr);
    cJSON_AddNumberToObject(o, "grad_norm", gnorm);
    cJSON_AddNumberToObject(o, "num_tokens", (double)st->input_tokens);
    cJSON_AddNumberToObject(o, "mean_token_accuracy", (double)st->win_correct / (double)st->win_tok);
    cJSON_AddNumberToObject(o, "epoch", epoch);
    cJSON_AddNumberToObject(o, "seconds", el);
    int rc = jsonl_writer_put(log, o);
    cJSON_Delete(o);
    return rc;
}

int sft_train(Model *m, const SftExample *ex, int n, const SftConfig *c, SftResult *res) {
    Model *tm = m->lora ? &m->lora->ad : m;
    if (!tm->grads) return err_set("sft: the model was created without gradients");
    if (n < 1 || c->batch_rows < 1 || c->steps < 1) return err_set("sft: need examples, batch_rows >= 1 and steps >= 1");
    Loop L = {.m = m, .tm = tm, .c = c, .ex = ex, .n = n};
    int rc = -1, opt_ok = 0;
    L.order = malloc(sizeof(int) * (size_t)n);
    L.rows = malloc(sizeof *L.rows * (size_t)(c->batch_rows > c->n_eval ? c->batch_rows : c->n_eval));
    AdamW opt;
    JsonlWriter log = {0};
    Progress prog;
    RunState st = {.first = -1};
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
    if (sft_batch_init(&L.b, m, micro, T, c->gradient_checkpointing) != 0) goto done;
    int per_update = (c->batch_rows + micro - 1) / micro;
    if (dist_size() > per_update && dist_rank() == 0)
        log_info("sft: warning: %d ranks but %d micro-batch%s per update: ranks past it idle (whole micro-batches "
                 "are dealt to ranks; lower --micro-batch)", dist_size(), per_update, per_update == 1 ? "" : "es");
    if (micro < c->batch_rows || c->batch_tokens > 0 || dist_size() > 1) {
        L.acc = malloc(sizeof(double) * tm->n_params);
        if (!L.acc) {
            err_set("sft: out of memory for the gradient sum (%zu parameters)", tm->n_params);
            goto done;
        }
    }
    AdamWConfig ac = adamw_defaults();   // beta1 and eps
    ac.lr = c->lr, ac.beta2 = c->beta2, ac.weight_decay = c->weight_decay, ac.clip_norm = c->clip_norm;
    ac.schedule = LR_COSINE, ac.warmup_steps = c->warmup_steps, ac.total_steps = c->steps;
    ac.min_lr_ratio = c->min_lr_ratio, ac.optim = (OptimKind)c->optim;
    if (adamw_init(&opt, tm, &ac) != 0) goto done;
    opt_ok = 1;
    if (c->resume_from && resume(c, tm, &opt, &st, n) != 0) goto done;
    L.epoch = st.epoch, L.cursor = st.cursor;
    // Rank 0 writes the log, the progress line and the checkpoints.
    int lead = dist_rank() == 0;
    FILE *progress = lead ? c->progress : NULL;
    if (lead && c->log_path && jsonl_writer_open(&log, c->log_path, !c->resume_from) != 0) goto done;
    if (progress) progress_init(&prog, progress, c->label, st.step, c->steps);
    memset(res, 0, sizeof *res);
    double t0 = time_now() - st.seconds;
    int every = c->log_every > 0 ? c->log_every : 10;
    sft_shuffle(L.order, n, c->seed, L.epoch);
    while (st.step < c->steps) {
        long step = ++st.step;
        Tally t;
        if (train_batch(&L, &t) != 0) goto done;
        double loss = t.nll / (double)t.targets;
        if (!isfinite(loss)) {
            err_set("sft: loss is not finite at update %ld", step);
            goto done;
        }
        double gnorm = adamw_step(&opt, tm, 1.0f);
        if (!isfinite(gnorm)) {
            err_set("sft: gradient norm is not finite at update %ld", step);
            goto done;
        }
        st.tokens += t.targets;
        st.input_tokens += t.inputs;
        st.win_loss += loss * (double)t.targets;
        st.win_tok += t.targets;
        st.win_correct += t.correct;
        double epoch = (double)L.epoch + (double)L.cursor / n, el = time_now() - t0;
        if (step % every == 0 || step == c->steps) {
            double mean = st.win_loss / (double)st.win_tok;
            if (st.first < 0) st.first = mean;
            res->last_loss = mean;
            if (log.f && log_train(&log, &st, mean, adamw_lr(&ac, step), gnorm, epoch, el) != 0) goto done;
            st.lines += log.f != NULL;
            // Ranks that drifted apart stop the job rather than train apart.
            if (dist_check_same(tm->params, sizeof(float) * tm->n_params, "weights") != 0) {
                err_wrap("sft: update %ld", step);
                goto done;
            }
            if (progress) {
                char text[160];
                snprintf(text, sizeof text, "loss %.4f  lr %.2e  %.0f tok/s", mean, adamw_lr(&ac, step),
                         (double)st.tokens / (el > 0 ? el : 1));
                progress_update(&prog, step, text);
            }
            st.win_loss = 0;
            st.win_tok = st.win_correct = 0;
        }
        int eval_now = c->n_eval > 0 && (step == c->steps || (c->eval_every > 0 && step % c->eval_every == 0));
        if (eval_now && log_eval(&L, &log, (int)step, epoch, &res->eval_loss) != 0) goto done;
        st.lines += eval_now && log.f;
        st.epoch = L.epoch, st.cursor = L.cursor, st.seconds = time_now() - t0;
        int save_now = c->ckpt_dir && c->save_every > 0 && (step % c->save_every == 0 || step == c->steps);
        if (save_now && lead && ckpt_save(c, m, &opt, &st) != 0) goto done;
        if (save_now && dist_barrier() != 0) goto done;   // a resume finds it on every rank
    }
    if (progress) progress_end(&prog);
    res->first_loss = st.first;
    res->tokens = st.tokens;
    res->input_tokens = st.input_tokens;
    res->seconds = time_now() - t0;
    rc = 0;
done:
    if (log.f) jsonl_writer_close(&log);
    if (opt_ok) adamw_free(&opt);
    sft_batch_free(&L.b);
    free(L.order);
    free(L.rows);
    free(L.acc);
    return rc;
}
