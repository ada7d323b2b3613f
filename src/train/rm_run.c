// aha rm end to end: read and split the rows, train the head and trunk with
// AdamW (the SFT schedule), log, save; or score rows with a trained model.
// Under MPI the ranks share each update's micro-batches as sft's do and rank 0
// writes the run directory; scoring refuses more than one rank.
#include "train/rm_run.h"
#include "train/rm_rows.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "base/sys.h"
#include "model/adamw.h"
#include "report/log.h"
#include "rollout/rollout.h"
#include "tok/template.h"
#include "train/checkpoint.h"
#include "model/value.h"
#include "train/rm.h"
#include "train/rundir.h"
#include "train/sft.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const OptChoice action_choices[] = {{"train", RM_ACTION_TRAIN}, {"score", RM_ACTION_SCORE},
                                             {"pairs", RM_ACTION_PAIRS}, {"labels", RM_ACTION_LABELS}, {NULL, 0}};

#define F(x) offsetof(RmRunConfig, x)
#define S(x) F(x), sizeof(((RmRunConfig *)0)->x)
const OptDef rm_run_options[] = {
    {"action", OPT_ENUM, F(action), 0, 0, 0, action_choices, "train a reward model, score rows with one, or turn judged samples into pairs or labels (given bare: aha rm train)", NULL, NULL, OPT_POSITIONAL | OPT_REQUIRED},
    {"model", OPT_STRING, S(model), 0, 0, NULL, "train: the model to start from; score: a reward model directory", NULL, NULL, 0},
    {"dataset", OPT_STRING, S(dataset), 0, 0, NULL, "train: JSONL rows {prompt, chosen, rejected[, margin]} or {prompt, completion, label}", NULL, NULL, 0},
    {"input", OPT_STRING, S(input), 0, 0, NULL, "score: JSONL rows {prompt, completion} or {prompt, chosen, rejected}; pairs, labels: aha eval --samples rows (- for stdin)", NULL, NULL, 0},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "train: the run directory (must not hold a run); score, pairs, labels: JSONL out (- for stdout)", NULL, NULL, 0},
    {"template", OPT_STRING, S(template_name), 0, 0, NULL, "train: template of text prompts (r1zero, chatml, raw, qwen2.5, qwen3, model); messages: chatml unless a chat template", NULL, NULL, 0},
    {"skip_long", OPT_BOOL, F(skip_long), 0, 0, 1, NULL, "train: drop rows longer than the model's context instead of refusing the dataset", NULL, NULL, 0},
    {"epochs", OPT_DOUBLE, F(epochs), 0, 0.001, 100000, NULL, "passes over the training rows", NULL, NULL, 0},
    {"max_steps", OPT_INT, F(max_steps), 0, 0, 10000000, NULL, "optimizer updates (0: from epochs)", NULL, NULL, 0},
    {"batch", OPT_INT, F(batch), 0, 1, 4096, NULL, "rows (pairs) per update; score: rows per forward", NULL, NULL, 0},
    {"micro_batch", OPT_INT, F(micro_batch), 0, 0, 4096, NULL, "rows per forward/backward, gradients accumulated (0: batch)", NULL, NULL, 0},
    {"lr", OPT_DOUBLE, F(lr), 0, 0, 10, NULL, "peak learning rate (cosine decay after warmup)", NULL, NULL, 0},
    {"min_lr_ratio", OPT_DOUBLE, F(min_lr_ratio), 0, 0, 1, NULL, "final lr / lr", NULL, NULL, 0},
    {"optim", OPT_ENUM, F(optim), 0, 0, 0, OPTIM_CHOICES, "optimizer state: adamw (fp32 moments) or adamw_8bit (blockwise 8-bit moments, a quarter of the memory)", NULL, NULL, 0},
    {"weight_decay", OPT_DOUBLE, F(weight_decay), 0, 0, 10, NULL, "AdamW weight decay (not on the head)", NULL, NULL, 0},
    {"warmup", OPT_INT, F(warmup), 0, 0, 10000000, NULL, "warmup updates", NULL, NULL, 0},
    {"eval_ratio", OPT_DOUBLE, F(eval_ratio), 0, 0, 0.9, NULL, "share of rows held out for eval_loss, eval_accuracy, eval_margin (0: none)", NULL, NULL, 0},
    {"eval_every", OPT_INT, F(eval_every), 0, 0, 10000000, NULL, "updates between evaluations (0: only at the end)", NULL, NULL, 0},
    {"log_every", OPT_INT, F(log_every), 0, 1, 10000000, NULL, "updates per metrics.jsonl line", NULL, NULL, 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "split, order and head-initialisation seed", NULL, NULL, 0},
    {"threads", OPT_INT, F(threads), 0, 0, 1024, NULL, "threads (0: all cores)", NULL, NULL, 0},
    OPT_GROUP_ENTRY(RmRunConfig, precision, precision_options),
    {"bf16", OPT_BOOL, F(bf16), 0, 0, 1, NULL, "save the trunk as bf16", NULL, NULL, 0},
    {"save_steps", OPT_INT, F(save_steps), 0, 0, 10000000, NULL, "train: updates between checkpoints in OUT/checkpoints (0: none)", NULL, NULL, 0},
    {"resume", OPT_BOOL, F(resume), 0, 0, 1, NULL, "train: continue the run in --out from its newest checkpoint, bit for bit (same settings)", NULL, NULL, OPT_ARGV_ONLY},
    {"per_prompt", OPT_INT, F(per_prompt), 0, 1, 1000000, NULL, "pairs, labels: rows of one prompt at most (labels: of each label)", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static const RmRunConfig rm_run_default = {
    .template_name = "raw", .epochs = 2, .batch = 8, .lr = 1e-4, .min_lr_ratio = 0.1, .warmup = 5,
    .eval_ratio = 0.1, .eval_every = 50, .log_every = 10, .seed = 1, .per_prompt = 4};

void rm_run_defaults(void *c) { *(RmRunConfig *)c = rm_run_default; }

// ---------------------------------------------------------------- passes

// Sums over the rows of one pass.
typedef struct {
    double loss;                    // Σ per-row loss
    long rows, correct;
    double margin;                  // pairwise: Σ r_c − r_r
    double pos, neg;                // pointwise: Σ r over label 1 / label 0
    long n_pos, n_neg;
} Tally;

static double tally_margin(const Tally *t, RmKind kind) {
    if (kind == RM_PAIRWISE) return t->rows ? t->margin / (double)t->rows : 0;
    return (t->n_pos ? t->pos / (double)t->n_pos : 0) - (t->n_neg ? t->neg / (double)t->n_neg : 0);
}

typedef struct {
    RewardModel *rm;
    RmKind kind;
    RmBatch b;
    int micro;                      // dataset rows per forward
    const SftExample **seq;         // (2 micro) the sequences of one forward
    float *score, *dscore, *aux;    // (2 micro) each; aux: margins or labels
    float *dhead;                   // (C + 1)
    double *acc;                    // (n_params + C + 1) the update's trunk then head gradient, summed over
                                    // micro-batches and ranks, or NULL when one micro-batch on one rank makes it whole
} Pass;

// Forward (and with norm > 0 backward, loss divided by norm) rows of one
// micro-batch into t.
static int pass_micro(Pass *P, const RmExample *const *rows, int k, double norm, Tally *t) {
    int pair = P->kind == RM_PAIRWISE, n = pair ? 2 * k : k;
    for (int i = 0; i < k; i++) {
        P->seq[i] = &rows[i]->a;
        if (pair) P->seq[k + i] = &rows[i]->b;
        P->aux[i] = pair ? rows[i]->margin : rows[i]->label;
    }
    Model *m = &P->rm->m;
    if (rm_forward(m, &P->b, P->rm->head, P->seq, n, P->score) != 0) return -1;
    double loss = pair ? rm_pair_loss(P->dscore, P->dscore + k, P->score, P->score + k, P->aux, k, 1.0)
                       : rm_point_loss(P->dscore, P->score, P->aux, k, 1.0);
    t->loss += loss, t->rows += k;
    for (int i = 0; i < k; i++) {
        float r = P->score[i];
        if (pair) {
            t->correct += r > P->score[k + i];
            t->margin += (double)r - P->score[k + i];
        } else {
            t->correct += (r > 0) == (P->aux[i] > 0.5f);
            if (P->aux[i] > 0.5f) t->pos += r, t->n_pos++;
            else t->neg += r, t->n_neg++;
        }
    }
    if (norm <= 0) return 0;
    for (int i = 0; i < n; i++) P->dscore[i] = (float)(P->dscore[i] / norm);
    return rm_backward(m, &P->b, P->rm->head, P->dscore, n, P->dhead);
}

static void zero_grads(Pass *P) {
    model_zero_grad(&P->rm->m);
    memset(P->dhead, 0, sizeof(float) * ((size_t)P->rm->m.cfg.hidden_size + 1));
}

// t summed over the ranks (in rank order, the same on every rank).
static int tally_sum(Tally *t) {
    if (dist_size() == 1) return 0;
    double v[8] = {t->loss, (double)t->rows, (double)t->correct, t->margin, t->pos, t->neg, (double)t->n_pos,
                   (double)t->n_neg};
    if (dist_sum_f64(v, 8) != 0) return -1;
    *t = (Tally){.loss = v[0], .rows = (long)v[1], .correct = (long)v[2], .margin = v[3], .pos = v[4], .neg = v[5],
                 .n_pos = (long)v[6], .n_neg = (long)v[7]};
    return 0;
}

// Forward (and with backward, backward with the loss divided by R) rows in
// micro-batches into t. Whole micro-batches go to the ranks, so each one's
// rows, and with them its gradient, are the same whatever the number of
// ranks; t sums every rank's, the gradients are summed by the caller.
static int pass_rows(Pass *P, const RmExample *const *rows, int R, int backward, Tally *t) {
    *t = (Tally){0};
    int lo, hi;
    dist_share((R + P->micro - 1) / P->micro, &lo, &hi);
    size_t n = P->rm->m.n_params, H = (size_t)P->rm->m.cfg.hidden_size + 1;
    for (int j = lo; j < hi; j++) {
        int r = j * P->micro, k = R - r < P->micro ? R - r : P->micro, sum = backward && P->acc;
        if (sum) zero_grads(P);
        if (pass_micro(P, rows + r, k, backward ? (double)R : 0, t) != 0) return -1;
        for (size_t i = 0; sum && i < n; i++) P->acc[i] += P->rm->m.grads[i];
        for (size_t i = 0; sum && i < H; i++) P->acc[n + i] += P->dhead[i];
    }
    return tally_sum(t);
}

// One update's forward and backward: trunk gradients in m->grads, the head's
// in P->dhead. Micro-batch gradients (fp32) add up in fp64 over micro-batches
// and then ranks, where the order of the terms hardly matters: the fp32 result
// is the same for 1, 2 or 4 ranks.
static int train_rows(Pass *P, const RmExample *const *rows, int R, Tally *t) {
    size_t n = P->rm->m.n_params, H = (size_t)P->rm->m.cfg.hidden_size + 1;
    zero_grads(P);
    if (P->acc) memset(P->acc, 0, sizeof(double) * (n + H));
    if (pass_rows(P, rows, R, 1, t) != 0) return -1;
    if (!P->acc) return 0;
    if (dist_sum_f64(P->acc, n + H) != 0) return -1;
    for (size_t i = 0; i < n; i++) P->rm->m.grads[i] = (float)P->acc[i];
    for (size_t i = 0; i < H; i++) P->dhead[i] = (float)P->acc[n + i];
    return 0;
}

// with_acc: an update takes several micro-batches or ranks.
static int pass_init(Pass *P, RewardModel *rm, RmKind kind, int micro, int T, int with_acc) {
    int seqs = kind == RM_PAIRWISE ? 2 * micro : micro, C = rm->m.cfg.hidden_size;
    *P = (Pass){.rm = rm, .kind = kind, .micro = micro};
    P->seq = malloc(sizeof *P->seq * (size_t)seqs);
    P->score = malloc(sizeof(float) * (size_t)seqs * 3);
    P->dhead = calloc((size_t)C + 1, sizeof(float));
    if (with_acc && !(P->acc = malloc(sizeof(double) * (rm->m.n_params + (size_t)C + 1))))
        return err_set("rm: out of memory for the gradient sum (%zu parameters)", rm->m.n_params);
    if (!P->seq || !P->score || !P->dhead) return err_set("out of memory");
    P->dscore = P->score + seqs, P->aux = P->score + 2 * seqs;
    return rm_batch_init(&P->b, &rm->m, seqs, T);
}

static void pass_free(Pass *P) {
    rm_batch_free(&P->b);
    free(P->seq);
    free(P->score);
    free(P->dhead);
    free(P->acc);
}

static int put_line(JsonlWriter *log, cJSON *o) {
    int rc = o ? jsonl_writer_put(log, o) : err_set("out of memory");
    cJSON_Delete(o);
    return rc;
}

// Every rank scores its share of the held-out rows; rank 0 (log open) writes the line.
static int log_eval(Pass *P, JsonlWriter *log, const RmExample *const *eval, int n_eval, long step, double epoch,
                    Tally *t) {
    if (pass_rows(P, eval, n_eval, 0, t) != 0) return -1;
    if (!log->f) return 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", (double)step);
    cJSON_AddNumberToObject(o, "eval_loss", t->loss / (double)t->rows);
    cJSON_AddNumberToObject(o, "eval_accuracy", (double)t->correct / (double)t->rows);
    cJSON_AddNumberToObject(o, "eval_margin", tally_margin(t, P->kind));
    cJSON_AddNumberToObject(o, "epoch", epoch);
    return put_line(log, o);
}

typedef struct {
    const RmExample **train, **eval;
    int n_train, n_eval;
    int T;                         // the longest sequence
} Split;

// The metrics line and progress of a log window; at: step, learning rate,
// grad norm, epoch.
static int log_window(JsonlWriter *log, Progress *prog, const Tally *win, RmKind kind, const double at[4],
                      double seconds) {
    cJSON *o = cJSON_CreateObject();
    double loss = win->loss / (double)win->rows, acc = (double)win->correct / (double)win->rows;
    cJSON_AddNumberToObject(o, "step", at[0]);
    cJSON_AddNumberToObject(o, "loss", loss);
    cJSON_AddNumberToObject(o, "accuracy", acc);
    cJSON_AddNumberToObject(o, "margin", tally_margin(win, kind));
    cJSON_AddNumberToObject(o, "learning_rate", at[1]);
    cJSON_AddNumberToObject(o, "grad_norm", at[2]);
    cJSON_AddNumberToObject(o, "epoch", at[3]);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    if (put_line(log, o) != 0) return -1;
    char text[160];
    snprintf(text, sizeof text, "loss %.4f  acc %.3f  lr %.2e", loss, acc, at[1]);
    progress_update(prog, (long)at[0], text);
    return 0;
}

// ---------------------------------------------------------------- checkpoints

// What a resume needs beside the reward model and its optimizer: the data
// order's place, the open log window, the log's length and the time so far.
typedef struct {
    long step, epoch, cursor, lines;   // lines: of metrics.jsonl
    double seconds;
    Tally win;
} RmState;

static const struct {
    const char *key;
    size_t off;
    int is_long;
} state_fields[] = {
    {"step", offsetof(RmState, step), 1}, {"epoch", offsetof(RmState, epoch), 1},
    {"cursor", offsetof(RmState, cursor), 1}, {"lines", offsetof(RmState, lines), 1},
    {"seconds", offsetof(RmState, seconds), 0}, {"win_loss", offsetof(RmState, win.loss), 0},
    {"win_rows", offsetof(RmState, win.rows), 1}, {"win_correct", offsetof(RmState, win.correct), 1},
    {"win_margin", offsetof(RmState, win.margin), 0}, {"win_pos", offsetof(RmState, win.pos), 0},
    {"win_neg", offsetof(RmState, win.neg), 0}, {"win_n_pos", offsetof(RmState, win.n_pos), 1},
    {"win_n_neg", offsetof(RmState, win.n_neg), 1},
};
#define N_STATE_FIELDS (sizeof state_fields / sizeof state_fields[0])

// trainer_state.json: the fields above (doubles print with enough digits to
// come back bit for bit) and the manifest of the checkpoint's other files.
static int state_write(const RmState *st, const char *dir) {
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < N_STATE_FIELDS; i++) {
        const char *at = (const char *)st + state_fields[i].off;
        cJSON_AddNumberToObject(o, state_fields[i].key, state_fields[i].is_long ? (double)*(const long *)at
                                                                                : *(const double *)at);
    }
    int rc = checkpoint_state_write(o, dir);
    cJSON_Delete(o);
    return rc;
}

static int state_read(RmState *st, const char *dir) {
    char path[4096];
    cJSON *o = checkpoint_state_read(dir, path, sizeof path);
    if (!o) return -1;
    int rc = 0;
    for (size_t i = 0; i < N_STATE_FIELDS && rc == 0; i++) {
        char *at = (char *)st + state_fields[i].off;
        rc = state_fields[i].is_long ? json_get_int(o, state_fields[i].key, (long *)at, 1)
                                     : json_get_double(o, state_fields[i].key, (double *)at, 1);
    }
    cJSON_Delete(o);
    return rc ? err_wrap("%s", path) : 0;
}

// The head's AdamW moments hm (m then v, C + 1 each), as two head files.
static int head_moments_io(const char *dir, float *hm, int C, int save) {
    static const char *const names[2] = {"head_m.safetensors", "head_v.safetensors"};
    char path[4096];
    for (int i = 0; i < 2; i++) {
        float *h = hm + (size_t)i * (C + 1);
        if (path_join(path, sizeof path, dir, names[i]) != 0 ||
            (save ? value_head_save(path, h, h[C], C) : value_head_load(path, h, &h[C], C)) != 0)
            return -1;
    }
    return 0;
}

// OUT/checkpoints/step_N: the reward model (fp32), the trunk's optimizer, the
// head's moments and the state, written as step_N.tmp and committed
// (train/checkpoint.h).
static int ckpt_save(const RmRunConfig *c, const RewardModel *rm, const AdamW *opt, float *hm, const RmState *st) {
    char ckdir[4096], tmp[4096], path[4096];
    if (path_join(ckdir, sizeof ckdir, c->out, "checkpoints") != 0 ||
        path_fmt(tmp, sizeof tmp, "%s/step_%ld.tmp", ckdir, st->step) != 0 ||
        path_join(path, sizeof path, tmp, "optimizer.safetensors") != 0 || mkdir_p(ckdir) != 0 || remove_tree(tmp) != 0)
        return -1;
    int rc = rm_save(rm, tmp, ST_F32, c->model);
    if (rc == 0) rc = adamw_state_save(opt, &rm->m, path);
    if (rc == 0) rc = head_moments_io(tmp, hm, rm->m.cfg.hidden_size, 1);
    if (rc == 0) rc = state_write(st, tmp);
    return checkpoint_commit(ckdir, rc, st->step, 0);
}

// Take up the run where checkpoint dir left it (the weights are loaded already).
static int ckpt_resume(const char *dir, const RewardModel *rm, AdamW *opt, float *hm, RmState *st, int steps,
                       int n_train) {
    char path[4096];
    if (path_join(path, sizeof path, dir, "optimizer.safetensors") != 0 || adamw_state_load(opt, &rm->m, path) != 0 ||
        head_moments_io(dir, hm, rm->m.cfg.hidden_size, 0) != 0 || state_read(st, dir) != 0)
        return -1;
    if (st->step < 1 || st->step >= steps || st->epoch < 0 || st->cursor < 0 || st->cursor > n_train ||
        opt->step != st->step)
        return err_set("%s: step %ld (optimizer step %ld), epoch %ld, position %ld do not fit a run of %d updates "
                       "over %d rows", dir, st->step, opt->step, st->epoch, st->cursor, steps, n_train);
    return 0;
}

// ---------------------------------------------------------------- the loop

// The next batch of the shuffled order into rows (reshuffled per epoch).
static void take_rows(const RmRunConfig *c, const Split *s, int *order, RmState *st, const RmExample **rows) {
    for (int r = 0; r < c->batch; r++) {
        if (st->cursor == s->n_train) sft_shuffle(order, s->n_train, (uint64_t)c->seed, ++st->epoch), st->cursor = 0;
        rows[r] = s->train[order[st->cursor++]];
    }
}

// Train on s, from checkpoint ckpt when not ""; the last evaluation lands in
// *ev (on every rank).
static int train_loop(const RmRunConfig *c, RewardModel *rm, RmKind kind, const Split *s, const char *log_path,
                      const char *ckpt, Tally *ev) {
    int steps = c->max_steps ? c->max_steps : (int)ceil(c->epochs * s->n_train / c->batch);
    int micro = c->micro_batch > 0 && c->micro_batch < c->batch ? c->micro_batch : c->batch, rc = -1, C = rm->m.cfg.hidden_size;
    Pass P = {0};
    AdamW opt = {0};
    JsonlWriter log = {0};
    Progress prog;
    RmState st = {0};
    AdamWConfig ac = adamw_defaults();   // beta1 and eps
    ac.lr = c->lr, ac.beta2 = 0.99, ac.weight_decay = c->weight_decay, ac.clip_norm = 1.0;
    ac.schedule = LR_COSINE, ac.warmup_steps = c->warmup, ac.total_steps = steps, ac.min_lr_ratio = c->min_lr_ratio;
    ac.optim = (OptimKind)c->optim;
    int *order = malloc(sizeof(int) * (size_t)s->n_train);
    const RmExample **rows = malloc(sizeof *rows * (size_t)c->batch);
    float *hm = calloc(2 * ((size_t)C + 1), sizeof(float)), *hv = hm ? hm + C + 1 : NULL;
    if (!order || !rows || !hm) {
        err_set("out of memory");
        goto done;
    }
    int per_update = (c->batch + micro - 1) / micro, lead = dist_rank() == 0;
    if (dist_size() > per_update && lead)
        log_info("rm: warning: %d ranks but %d micro-batch%s per update: ranks past it idle (whole micro-batches "
                 "are dealt to ranks; lower --micro-batch)", dist_size(), per_update, per_update == 1 ? "" : "es");
    if (pass_init(&P, rm, kind, micro, s->T, per_update > 1 || dist_size() > 1) != 0 ||
        adamw_init(&opt, &rm->m, &ac) != 0 || (ckpt[0] && ckpt_resume(ckpt, rm, &opt, hm, &st, steps, s->n_train) != 0))
        goto done;
    // Rank 0 alone writes the log and the progress line.
    if (lead && ((ckpt[0] && jsonl_rewind(log_path, st.lines, st.step, 0) != 0) ||
                 jsonl_writer_open(&log, log_path, !ckpt[0]) != 0))
        goto done;
    if (lead) progress_init(&prog, stderr, "rm", st.step, steps);
    double t0 = time_now() - st.seconds;
    sft_shuffle(order, s->n_train, (uint64_t)c->seed, st.epoch);
    for (long step = st.step + 1; step <= steps; step++) {
        take_rows(c, s, order, &st, rows);
        Tally t;
        if (train_rows(&P, rows, c->batch, &t) != 0) goto done;
        double gnorm = adamw_step(&opt, &rm->m, 1.0f);
        if (!isfinite(t.loss) || !isfinite(gnorm)) {
            err_set("rm: the loss or gradient norm is not finite at update %ld", step);
            goto done;
        }
        // The head follows the trunk's clip factor and step, without decay.
        double clip = gnorm > ac.clip_norm ? ac.clip_norm / (gnorm + 1e-6) : 1.0;
        adamw_update_array(&opt, rm->head, P.dhead, hm, hv, (size_t)C + 1, (float)clip, 0);
        Tally *w = &st.win;
        w->loss += t.loss, w->rows += t.rows, w->correct += t.correct, w->margin += t.margin;
        w->pos += t.pos, w->neg += t.neg, w->n_pos += t.n_pos, w->n_neg += t.n_neg;
        double ep = (double)st.epoch + (double)st.cursor / s->n_train;
        if (step % c->log_every == 0 || step == steps) {
            // Ranks that drifted apart stop the job rather than train apart.
            if (dist_check_same(rm->m.params, sizeof(float) * rm->m.n_params, "weights") != 0 ||
                dist_check_same(rm->head, sizeof(float) * ((size_t)C + 1), "reward head weights") != 0) {
                err_wrap("rm: update %ld", step);
                goto done;
            }
            double at[4] = {(double)step, adamw_lr(&ac, step), gnorm, ep};
            if (lead && log_window(&log, &prog, w, kind, at, time_now() - t0) != 0) goto done;
            *w = (Tally){0};
            st.lines++;
        }
        int eval_now = s->n_eval > 0 && (step == steps || (c->eval_every > 0 && step % c->eval_every == 0));
        if (eval_now && log_eval(&P, &log, s->eval, s->n_eval, step, ep, ev) != 0) goto done;
        st.lines += eval_now;
        st.step = step, st.seconds = time_now() - t0;
        int save_now = c->save_steps > 0 && (step % c->save_steps == 0 || step == steps);
        if (save_now && lead && ckpt_save(c, rm, &opt, hm, &st) != 0) goto done;
        if (save_now && dist_barrier() != 0) goto done;   // a resume finds it on every rank
    }
    if (lead) progress_end(&prog);
    rc = 0;
done:
    if (log.f) jsonl_writer_close(&log);
    if (opt.m) adamw_free(&opt);
    pass_free(&P);
    free(order), free(rows), free(hm);
    return rc;
}

// ---------------------------------------------------------------- train

static int split_rows(Split *s, const RmData *d, const RmRunConfig *c) {
    int *order = malloc(sizeof(int) * (size_t)d->n);
    s->train = malloc(sizeof *s->train * (size_t)d->n);
    if (!order || !s->train) {
        free(order);
        return err_set("out of memory");
    }
    s->n_eval = sft_split(order, d->n, c->eval_ratio, (uint64_t)c->seed), s->n_train = d->n - s->n_eval;
    s->eval = s->train + s->n_train;
    s->T = 1;
    for (int i = 0; i < d->n; i++) {
        const RmExample *x = &d->ex[order[i]];
        s->train[i] = x;
        if (x->a.len > s->T) s->T = x->a.len;
        if (d->kind == RM_PAIRWISE && x->b.len > s->T) s->T = x->b.len;
    }
    free(order);
    if (s->n_train < c->batch)
        return err_set("%s: %d training rows (%d of %d held out for eval), fewer than a batch of %d", c->dataset,
                       s->n_train, s->n_eval, d->n, c->batch);
    return 0;
}

static int write_settings(const RmRunConfig *c) {
    cJSON *settings = opt_to_json(c, rm_run_options);
    int rc = !settings ? err_set("out of memory") : mkdir_p(c->out) == 0 ? json_write_file(settings, c->out, "config.json") : -1;
    cJSON_Delete(settings);
    return rc;
}

static int rm_train_run(const RmRunConfig *c) {
    if (!c->model[0] || !c->dataset[0] || !c->out[0])
        return err_set("rm train needs --model DIR, --dataset FILE.jsonl and --out RUN_DIR");
    if (template_check(c->template_name) != 0) return err_wrap("template");
    // Every rank looks at OUT before rank 0 writes into it.
    static const RunSettings rs = {rm_run_options, rm_run_defaults, sizeof(RmRunConfig)};
    char ckpt[4096];
    if (rundir_find_start(c->out, c->resume, c, &rs, ckpt, sizeof ckpt) != 0 || dist_barrier() != 0) return -1;
    threads_set(c->threads);
    if (model_precision_set(c->precision) != 0) return -1;
    RewardModel rm;
    RmData d = {0};
    Split s = {0};
    Tally ev = {0};
    char logpath[4096], dir[4096];
    if ((ckpt[0] ? rm_load(&rm, ckpt, 1) : rm_init(&rm, c->model, c->template_name, RM_PAIRWISE, (uint64_t)c->seed)) != 0)
        return -1;
    SftDataOpts o = {.tok = rm.tok, .template_name = c->template_name, .eos = rm.eos, .max_len = rm.m.cfg.max_position,
                     .skip_long = c->skip_long};
    int rc = -1;
    if (rm_data_load(&d, c->dataset, &o) != 0 || split_rows(&s, &d, c) != 0) goto done;
    rm.kind = d.kind;
    log_info("rm: %d %s rows, %d for training, %d held out, %ld skipped as too long", d.n,
             d.kind == RM_PAIRWISE ? "pairwise" : "pointwise", s.n_train, s.n_eval, d.skipped_long);
    if (ckpt[0]) log_info("rm: resuming from %s", ckpt);
    // Under MPI every rank trains; rank 0 writes the run directory.
    int lead = dist_rank() == 0;
    if (path_join(logpath, sizeof logpath, c->out, "metrics.jsonl") != 0 ||
        path_join(dir, sizeof dir, c->out, "model") != 0 || (lead && !ckpt[0] && write_settings(c) != 0) ||
        train_loop(c, &rm, d.kind, &s, logpath, ckpt, &ev) != 0 ||
        (lead && rm_save(&rm, dir, c->bf16 ? ST_BF16 : ST_F32, c->model) != 0))
        goto done;
    if (s.n_eval > 0)
        log_info("rm: held out %d rows: eval_loss %.4f, eval_accuracy %.3f, eval_margin %.3f; wrote %s", s.n_eval,
                 ev.loss / (double)ev.rows, (double)ev.correct / (double)ev.rows, tally_margin(&ev, d.kind), dir);
    else
        log_info("rm: wrote %s", dir);
    rc = 0;
done:
    free(s.train);
    rm_data_free(&d);
    rm_free(&rm);
    return rc;
}

// ---------------------------------------------------------------- score

// Rows read for scoring: each object and the sequences it asks for (one, or
// chosen then rejected).
typedef struct {
    cJSON **rows;
    int n, cap;
    SftExample *seq;   // (n_seq)
    int *first;        // (n + 1) the row's sequences are seq[first[i] .. first[i + 1])
    int n_seq, seq_cap;
} ScoreSet;

static int push_seq(ScoreSet *s, const SftExample *e) {
    if (s->n_seq == s->seq_cap) {
        int nc = s->seq_cap ? 2 * s->seq_cap : 256;
        SftExample *ne = realloc(s->seq, sizeof *ne * (size_t)nc);
        if (!ne) return err_set("out of memory");
        s->seq = ne, s->seq_cap = nc;
    }
    s->seq[s->n_seq++] = *e;
    return 0;
}

// The sequences of one row: chosen and rejected of a pair, else the completion.
static int read_score_row(ScoreSet *s, const SftDataOpts *o, const cJSON *obj) {
    if (!cJSON_IsObject(obj)) return err_set("not a JSON object");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "prompt");
    const char *keys[2] = {"completion", NULL};
    if (cJSON_HasObjectItem(obj, "chosen")) keys[0] = "chosen", keys[1] = "rejected";
    for (int k = 0; k < 2 && keys[k]; k++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, keys[k]);
        SftExample e;
        if (!c) return err_set("%s: missing (a row to score needs \"completion\", or \"chosen\" and \"rejected\")", keys[k]);
        int rc = rm_data_encode(o, p, c, &e);
        if (rc != 0) return -1;
        if (push_seq(s, &e) != 0) return free((void *)e.ids), free((void *)e.train), -1;
    }
    return 0;
}

static int read_score_set(ScoreSet *s, const char *path, const SftDataOpts *o) {
    JsonlReader jr;
    if (jsonl_open(&jr, path) != 0) return -1;
    int rc;
    cJSON *obj;
    while ((rc = jsonl_next(&jr, &obj)) == 1) {
        if (s->n + 1 >= s->cap) {
            int nc = s->cap ? 2 * s->cap : 256;
            cJSON **nr = realloc(s->rows, sizeof *nr * (size_t)nc);
            int *nf = nr ? realloc(s->first, sizeof *nf * (size_t)(nc + 1)) : NULL;
            if (nr) s->rows = nr;
            if (nf) s->first = nf, s->cap = nc;
            if (!nr || !nf) rc = err_set("out of memory");
        }
        if (rc == 1) s->first[s->n] = s->n_seq, rc = read_score_row(s, o, obj) == 0 ? 1 : -1;
        if (rc != 1) {
            cJSON_Delete(obj);
            err_wrap("%s:%ld", path, jr.line);
            break;
        }
        s->rows[s->n++] = obj;
        s->first[s->n] = s->n_seq;
    }
    jsonl_close(&jr);
    return rc < 0 ? -1 : 0;
}

static void score_set_free(ScoreSet *s) {
    for (int i = 0; i < s->n; i++) cJSON_Delete(s->rows[i]);
    for (int i = 0; i < s->n_seq; i++) free((void *)s->seq[i].ids), free((void *)s->seq[i].train);
    free(s->rows), free(s->seq), free(s->first);
}

// Each row with "score" (or "score_chosen" and "score_rejected") added.
static int write_scores(const ScoreSet *s, const float *score, const char *out, long *pairs_right, long *pairs,
                        long *labels_right, long *labels) {
    FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
    if (!f) return err_set("%s: cannot write", out);
    int rc = 0;
    for (int i = 0; i < s->n && rc == 0; i++) {
        const float *r = score + s->first[i];
        if (s->first[i + 1] - s->first[i] == 2) {
            cJSON_AddNumberToObject(s->rows[i], "score_chosen", r[0]);
            cJSON_AddNumberToObject(s->rows[i], "score_rejected", r[1]);
            *pairs += 1, *pairs_right += r[0] > r[1];
        } else {
            cJSON_AddNumberToObject(s->rows[i], "score", r[0]);
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(s->rows[i], "label");
            if (cJSON_IsNumber(l) || cJSON_IsBool(l)) {
                int y = cJSON_IsBool(l) ? cJSON_IsTrue(l) : l->valuedouble > 0.5;
                *labels += 1, *labels_right += (r[0] > 0) == y;
            }
        }
        char *text = cJSON_PrintUnformatted(s->rows[i]);
        if (!text || fprintf(f, "%s\n", text) < 0) rc = err_set("%s: write failed", out);
        free(text);
    }
    if (f != stdout && fclose(f) != 0 && rc == 0) rc = err_set("%s: write failed", out);
    return rc;
}

static int rm_score_run(const RmRunConfig *c) {
    if (!c->model[0] || !c->input[0]) return err_set("rm score needs --model RM_DIR and --input FILE.jsonl (- for stdin)");
    // Every rank would score every row and write the same file.
    if (dist_size() > 1) return err_set("rm score runs in one process: start it without mpirun");
    threads_set(c->threads);
    if (model_precision_set(c->precision) != 0) return -1;
    RewardModel rm;
    if (rm_load(&rm, c->model, 0) != 0) return -1;
    SftDataOpts o = {.tok = rm.tok, .template_name = rm.template_name, .eos = rm.eos, .max_len = rm.m.cfg.max_position};
    ScoreSet s = {0};
    RmBatch b = {.rows = c->batch};
    float *score = NULL;
    long right = 0, pairs = 0, lright = 0, labels = 0;
    int rc = read_score_set(&s, c->input, &o);
    if (rc == 0 && !(score = malloc(sizeof(float) * (size_t)(s.n_seq + 1)))) rc = err_set("out of memory");
    if (rc == 0) rc = rm_score(&rm.m, &b, rm.head, s.seq, s.n_seq, score);
    if (rc == 0) rc = write_scores(&s, score, c->out[0] ? c->out : "-", &right, &pairs, &lright, &labels);
    if (rc == 0 && pairs > 0) log_info("rm score: %d rows; %ld of %ld pairs ranked chosen above rejected", s.n, right, pairs);
    else if (rc == 0 && labels > 0)
        log_info("rm score: %d rows; %ld of %ld labelled rows on the label's side of 0", s.n, lright, labels);
    else if (rc == 0) log_info("rm score: %d rows", s.n);
    rm_batch_free(&b);
    free(score);
    score_set_free(&s);
    rm_free(&rm);
    return rc;
}

// pairs, labels: judged samples into on-policy rows, written atomically.
static int rm_rows_run(const RmRunConfig *c) {
    const char *what = c->action == RM_ACTION_PAIRS ? "pairs" : "labels";
    if (!c->input[0]) return err_set("rm %s needs --input SAMPLES.jsonl (rows of aha eval --samples; - for stdin)", what);
    const char *out = c->out[0] ? c->out : "-";
    AtomicFile af = {.f = stdout};
    if (strcmp(out, "-") != 0 && atomic_open(&af, out) != 0) return -1;
    long n = 0;
    int rc = rm_rows_write(c->input, c->action == RM_ACTION_PAIRS ? RM_ROWS_PAIRS : RM_ROWS_LABELS, c->per_prompt, af.f, &n);
    if (af.f == stdout) rc = rc == 0 && fflush(stdout) != 0 ? err_set("<stdout>: write failed") : rc;
    else if (rc == 0) rc = atomic_commit(&af);
    else atomic_abort(&af);
    if (rc == 0) log_info("rm %s: %ld rows", what, n);
    return rc;
}

int rm_run(const RmRunConfig *c) {
    if (c->action == RM_ACTION_PAIRS || c->action == RM_ACTION_LABELS) return rm_rows_run(c);
    return c->action == RM_ACTION_SCORE ? rm_score_run(c) : rm_train_run(c);
}
