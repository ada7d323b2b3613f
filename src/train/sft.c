// The supervised loop: batches of whole examples, right-padded, one forward
// and backward per update with g = -1/N on every target token.
#include "train/sft.h"
#include "base/err.h"
#include "base/rng.h"
#include "base/sys.h"
#include "model/adamw.h"
#include "model/forward.h"
#include "report/log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const SftConfig sft_default = {
    .steps = 1000, .batch_rows = 32, .lr = 3e-3, .min_lr_ratio = 0.1, .weight_decay = 0.01, .clip_norm = 1.0,
    .beta2 = 0.99, .warmup_steps = 50, .seed = 1, .prompt_loss = 1, .log_every = 10};

void sft_defaults(SftConfig *c) { *c = sft_default; }

static void shuffle(int *order, int n, uint64_t seed, long epoch) {
    Rng r;
    rng_init(&r, seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint64_t)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

int sft_train(Model *m, const SftExample *ex, int n, const SftConfig *c, SftResult *res) {
    if (!m->grads) return err_set("sft: the model was created without gradients");
    if (n < 1 || c->batch_rows < 1 || c->steps < 1) return err_set("sft: need examples, batch_rows >= 1 and steps >= 1");
    int T = 0;
    for (int i = 0; i < n; i++) {
        if (ex[i].len < 2 || ex[i].n_prompt < 0 || ex[i].n_prompt >= ex[i].len)
            return err_set("sft: example %d has %d tokens and a %d-token prompt (need len >= 2 and a target)", i,
                           ex[i].len, ex[i].n_prompt);
        if (ex[i].len > T) T = ex[i].len;
    }
    if (T > m->cfg.max_position)
        return err_set("sft: an example has %d tokens, more than max_position_embeddings %d", T, m->cfg.max_position);
    int R = c->batch_rows;
    size_t cells = (size_t)R * (size_t)T;
    int *ids = calloc(cells, sizeof *ids), *lens = calloc((size_t)R, sizeof *lens), *order = malloc(sizeof(int) * (size_t)n);
    float *logp = calloc(cells, sizeof *logp), *g = calloc(cells, sizeof *g);   // (R, T) each
    ModelActs *acts = model_acts_create(m, R, T);
    AdamW opt;
    int opt_ok = 0, rc = -1;
    JsonlWriter log = {0};
    Progress prog;
    if (!ids || !lens || !order || !logp || !g || !acts) {
        if (acts) err_set("sft: out of memory for %d rows x %d tokens", R, T);
        goto done;
    }
    AdamWConfig ac = adamw_defaults();   // beta1 and eps
    ac.lr = c->lr, ac.beta2 = c->beta2, ac.weight_decay = c->weight_decay, ac.clip_norm = c->clip_norm;
    ac.schedule = LR_COSINE, ac.warmup_steps = c->warmup_steps, ac.total_steps = c->steps;
    ac.min_lr_ratio = c->min_lr_ratio;
    if (adamw_init(&opt, m, &ac) != 0) goto done;
    opt_ok = 1;
    if (c->log_path && jsonl_writer_open(&log, c->log_path, 1) != 0) goto done;
    if (c->progress) progress_init(&prog, c->progress, "pretrain", 0, c->steps);
    memset(res, 0, sizeof *res);
    double t0 = time_now(), win_loss = 0, first = -1;
    long win_tok = 0, cursor = 0, epoch = 0;
    int every = c->log_every > 0 ? c->log_every : 10;
    shuffle(order, n, c->seed, epoch);
    for (int step = 1; step <= c->steps; step++) {
        // Batch: the next R examples of the shuffled order (a new order each pass).
        long N = 0;
        memset(g, 0, sizeof(float) * cells);
        for (int r = 0; r < R; r++) {
            if (cursor == n) shuffle(order, n, c->seed, ++epoch), cursor = 0;
            const SftExample *e = &ex[order[cursor++]];
            memcpy(ids + (size_t)r * T, e->ids, sizeof(int) * (size_t)e->len);
            lens[r] = e->len;
            // Position t predicts token t+1; targets start after the prompt unless it is trained too.
            int from = c->prompt_loss ? 0 : e->n_prompt - 1;
            if (from < 0) from = 0;
            for (int t = from; t < e->len - 1; t++) g[(size_t)r * T + t] = 1.0f;
            N += e->len - 1 - from;
        }
        double loss = 0;
        model_zero_grad(m);
        if (model_forward(m, acts, ids, lens, R, T, 1.0f, logp, NULL) != 0) goto done;
        // loss = -(1/N) Σ logp over targets, so dLoss/dlogp_t = -1/N there.
        for (size_t i = 0; i < cells; i++)
            if (g[i] != 0) {
                loss -= logp[i];
                g[i] = -1.0f / (float)N;
            }
        loss /= (double)N;
        if (!isfinite(loss)) {
            err_set("sft: loss is not finite at update %d", step);
            goto done;
        }
        if (model_backward(m, acts, g) != 0) goto done;
        double gnorm = adamw_step(&opt, m, 1.0f);
        if (!isfinite(gnorm)) {
            err_set("sft: gradient norm is not finite at update %d", step);
            goto done;
        }
        res->tokens += N;
        win_loss += loss * (double)N;
        win_tok += N;
        if (step % every == 0 || step == c->steps) {
            double mean = win_loss / (double)win_tok, el = time_now() - t0;
            if (first < 0) first = mean;
            res->last_loss = mean;
            if (log.f) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "step", step);
                cJSON_AddNumberToObject(o, "loss", mean);
                cJSON_AddNumberToObject(o, "lr", adamw_lr(&ac, step));
                cJSON_AddNumberToObject(o, "grad_norm", gnorm);
                cJSON_AddNumberToObject(o, "tokens", (double)res->tokens);
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
    }
    if (c->progress) progress_end(&prog);
    res->first_loss = first;
    res->seconds = time_now() - t0;
    rc = 0;
done:
    if (log.f) jsonl_writer_close(&log);
    if (opt_ok) adamw_free(&opt);
    if (acts) model_acts_free(acts);
    free(ids);
    free(lens);
    free(order);
    free(logp);
    free(g);
    return rc;
}
