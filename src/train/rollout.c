// Rollouts: problem sourcing, templating, batched sampling, rewards, advantages
// and dynamic sampling.
#include "train/rollout.h"
#include "base/err.h"
#include "base/sys.h"
#include "rl/loss.h"
#include "tok/template.h"

#include <stdlib.h>
#include <string.h>

int problems_open(ProblemSource *ps, const char *task, const char *dataset, uint64_t seed, int difficulty) {
    memset(ps, 0, sizeof *ps);
    ps->seed = seed;
    ps->difficulty = difficulty;
    ps->perm_epoch = -1;
    if (dataset && dataset[0]) {
        ps->use_dataset = 1;
        if (dataset_load(&ps->ds, dataset, DATASET_AUTO, 0) != 0) return -1;
        ps->perm = malloc(sizeof *ps->perm * (size_t)ps->ds.n);
        if (!ps->perm) return err_set("out of memory");
        return 0;
    }
    ps->task = task_find(task);
    if (!ps->task) return -1;
    if (difficulty < 0 || difficulty > TASK_MAX_DIFFICULTY)
        return err_set("difficulty must be 0 (mixed) or 1..%d", TASK_MAX_DIFFICULTY);
    return 0;
}

void problems_close(ProblemSource *ps) {
    if (ps->use_dataset) dataset_free(&ps->ds);
    free(ps->perm);
    memset(ps, 0, sizeof *ps);
}

int problems_get(ProblemSource *ps, long index, char **prompt, char **answer, cJSON **json, int *difficulty) {
    *prompt = *answer = NULL;
    *json = NULL;
    if (ps->use_dataset) {
        // Each pass over the dataset has its own shuffled order, keyed by the seed.
        long n = ps->ds.n, epoch = index / n;
        if (epoch != ps->perm_epoch) {
            Rng r;
            rng_init(&r, ps->seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch);
            for (long i = 0; i < n; i++) ps->perm[i] = (int)i;
            for (long i = n - 1; i > 0; i--) {
                long j = (long)rng_below(&r, (uint64_t)i + 1);
                int t = ps->perm[i];
                ps->perm[i] = ps->perm[j];
                ps->perm[j] = t;
            }
            ps->perm_epoch = epoch;
        }
        const DatasetItem *it = &ps->ds.items[ps->perm[index % n]];
        *prompt = strdup(it->prompt);
        *answer = it->answer ? strdup(it->answer) : NULL;
        *json = cJSON_Duplicate(it->json, 1);
        *difficulty = 0;
    } else {
        Problem p;
        int d = ps->difficulty ? ps->difficulty : 1 + (int)(index % TASK_MAX_DIFFICULTY);
        if (task_generate(ps->task, ps->seed, TASK_SPLIT_TRAIN, d, index, &p) != 0) return -1;
        *prompt = strdup(p.prompt);
        *answer = strdup(p.answer);
        *json = task_problem_json(&p);
        *difficulty = d;
    }
    if (!*prompt || !*json) return err_set("out of memory");
    return 0;
}

static void group_free(RolloutGroup *g) {
    free(g->prompt_text);
    free(g->answer);
    cJSON_Delete(g->task);
    free(g->prompt_ids);
    memset(g, 0, sizeof *g);
}

static void row_free(RolloutRow *r) {
    free(r->ids);
    free(r->logp);
    free(r->text);
    memset(r, 0, sizeof *r);
}

void rollout_free(Rollout *ro) {
    for (int i = 0; i < ro->n_groups; i++) group_free(&ro->groups[i]);
    for (int i = 0; i < ro->n_groups * ro->G; i++) row_free(&ro->rows[i]);
    free(ro->groups);
    free(ro->rows);
    memset(ro, 0, sizeof *ro);
}

static const char *token_bytes(const void *ctx, int id, size_t *len) { return tok_token_bytes(ctx, id, len); }

static int group_prepare(RolloutGroup *g, const RolloutCtx *c, long index) {
    char *question;
    if (problems_get(c->problems, index, &question, &g->answer, &g->task, &g->difficulty) != 0) return -1;
    g->index = index;
    const GrpoConfig *cfg = c->cfg;
    int rc = template_render(cfg->template_name, question, cfg->system[0] ? cfg->system : NULL, cfg->prefill_think,
                             &g->prompt_text);
    free(question);
    if (rc != 0) return -1;
    if (tok_encode(c->tok, g->prompt_text, strlen(g->prompt_text), &g->prompt_ids, &g->prompt_len) != 0) return -1;
    if (g->prompt_len < 1) return err_set("problem %ld: the prompt is empty", index);
    if (g->prompt_len > c->max_prompt_len)
        return err_set("problem %ld: prompt has %d tokens, more than the %d allowed", index, g->prompt_len, c->max_prompt_len);
    return 0;
}

// Sample and score n groups (G completions each) into groups[0..n) / rows.
static int sample_round(const RolloutCtx *c, long step, RolloutGroup *groups, RolloutRow *rows, int n, Rollout *ro) {
    const GrpoConfig *cfg = c->cfg;
    int G = cfg->group_size, rows_n = n * G, rc = -1;
    const int **pids = malloc(sizeof *pids * (size_t)n);
    int *plens = malloc(sizeof *plens * (size_t)n);
    uint32_t *pidx = malloc(sizeof *pidx * (size_t)n);
    Completion *out = malloc(sizeof *out * (size_t)rows_n);
    RewardInput *in = calloc((size_t)rows_n, sizeof *in);
    double *total = malloc(sizeof *total * (size_t)rows_n);
    double *comp = malloc(sizeof *comp * (size_t)rows_n * (size_t)c->rewards->n);
    if (!pids || !plens || !pidx || !out || !in || !total || !comp) {
        err_set("out of memory");
        goto done;
    }
    for (int b = 0; b < n; b++) {
        pids[b] = groups[b].prompt_ids;
        plens[b] = groups[b].prompt_len;
        pidx[b] = (uint32_t)groups[b].index;
    }
    const char *stops[OPT_LIST_MAX];
    for (int i = 0; i < cfg->stop.n; i++) stops[i] = cfg->stop.item[i];
    SamplerOpts so = sampler_opts_default();
    so.temperature = (float)cfg->temperature;
    so.top_k = cfg->top_k;
    so.top_p = (float)cfg->top_p;
    so.min_p = (float)cfg->min_p;
    so.max_new_tokens = cfg->max_new_tokens;
    so.stop_ids = &c->eos_id;
    so.n_stop_ids = c->eos_id >= 0;
    so.stop_strings = stops;
    so.n_stop_strings = cfg->stop.n;
    so.token_bytes = token_bytes;
    so.token_ctx = c->tok;
    so.seed = (uint64_t)cfg->seed;
    so.step = (uint32_t)step;
    double t0 = time_now();
    if (sampler_generate(c->sampler, c->policy, pids, plens, pidx, n, G, &so, out) != 0) goto done;
    ro->t_sample += time_now() - t0;
    t0 = time_now();
    for (int i = 0; i < rows_n; i++) {
        RolloutRow *r = &rows[i];
        const Completion *o = &out[i];
        r->group = i / G;
        r->n = o->n;
        r->truncated = o->finish == SAMPLER_FINISH_LENGTH;
        r->ids = malloc(sizeof(int) * (size_t)(o->n ? o->n : 1));
        r->logp = malloc(sizeof(float) * (size_t)(o->n ? o->n : 1));
        if (!r->ids || !r->logp) { err_set("out of memory"); goto done; }
        memcpy(r->ids, o->ids, sizeof(int) * (size_t)o->n);
        memcpy(r->logp, o->logp, sizeof(float) * (size_t)o->n);
        ro->tokens += o->n;
        // The text the verifier reads leaves out a final EOS token.
        int n_text = o->n;
        if (n_text > 0 && o->ids[n_text - 1] == c->eos_id && o->finish == SAMPLER_FINISH_STOP) n_text--;
        size_t len;
        r->text = tok_decode_lenient(c->tok, o->ids, n_text, &len);
        if (!r->text) goto done;
        const RolloutGroup *g = &groups[i / G];
        in[i] = (RewardInput){.completion = r->text, .completion_len = len, .answer = g->answer, .task = g->task,
                              .completion_tokens = o->n, .max_new_tokens = cfg->max_new_tokens,
                              .prefilled_think = cfg->prefill_think,
                              .finish = r->truncated ? REWARD_FINISH_LENGTH : REWARD_FINISH_STOP};
    }
    if (reward_score_batch(c->rewards, in, rows_n, total, comp) != 0) goto done;
    for (int i = 0; i < rows_n; i++) {
        rows[i].reward = total[i];
        for (int k = 0; k < c->rewards->n; k++) rows[i].components[k] = comp[(size_t)i * c->rewards->n + k];
    }
    ro->t_reward += time_now() - t0;
    rc = 0;
done:
    free(pids);
    free(plens);
    free(pidx);
    free(out);
    free(in);
    free(total);
    free(comp);
    return rc;
}

static int group_has_variance(const RolloutRow *rows, int G) {
    for (int i = 1; i < G; i++)
        if (rows[i].reward != rows[0].reward) return 1;
    return 0;
}

int rollout_run(Rollout *ro, const RolloutCtx *c, long step, long first_index) {
    const GrpoConfig *cfg = c->cfg;
    int B = cfg->prompts_per_step, G = cfg->group_size;
    memset(ro, 0, sizeof *ro);
    ro->G = G;
    ro->groups = calloc((size_t)B, sizeof *ro->groups);
    ro->rows = calloc((size_t)B * G, sizeof *ro->rows);
    RolloutGroup *tg = calloc((size_t)B, sizeof *tg);
    RolloutRow *tr = calloc((size_t)B * G, sizeof *tr);
    if (!ro->groups || !ro->rows || !tg || !tr) {
        free(tg);
        free(tr);
        rollout_free(ro);
        return err_set("out of memory");
    }
    long index = first_index;
    int max_rounds = cfg->dynamic_sampling ? 1 + cfg->max_sampling_rounds : 1, rc = 0;
    for (int round = 0; round < max_rounds && ro->n_groups < B; round++) {
        int take = B - ro->n_groups;
        for (int b = 0; b < take && rc == 0; b++) rc = group_prepare(&tg[b], c, index++);
        if (rc == 0) rc = sample_round(c, step, tg, tr, take, ro);
        ro->rounds = round + 1;
        for (int b = 0; b < take; b++) {
            int varied = group_has_variance(tr + (size_t)b * G, G);
            if (round == 0) ro->zero_std_groups += !varied;
            if (rc == 0 && (varied || !cfg->dynamic_sampling)) {
                // Keep: move the group and its rows into the rollout.
                int k = ro->n_groups++;
                ro->groups[k] = tg[b];
                for (int g = 0; g < G; g++) {
                    ro->rows[(size_t)k * G + g] = tr[(size_t)b * G + g];
                    ro->rows[(size_t)k * G + g].group = k;
                }
            } else {
                group_free(&tg[b]);
                for (int g = 0; g < G; g++) row_free(&tr[(size_t)b * G + g]);
            }
            memset(&tg[b], 0, sizeof tg[b]);
            memset(tr + (size_t)b * G, 0, sizeof *tr * (size_t)G);
        }
        if (rc != 0) break;
    }
    free(tg);
    free(tr);
    ro->next_index = index;
    if (rc != 0) {
        rollout_free(ro);
        return -1;
    }
    // Group-relative advantages over the kept groups.
    int n = ro->n_groups * G;
    float *r = malloc(sizeof *r * (size_t)(n ? n : 1)), *a = malloc(sizeof *a * (size_t)(n ? n : 1));
    if (!r || !a) {
        free(r);
        free(a);
        rollout_free(ro);
        return err_set("out of memory");
    }
    for (int i = 0; i < n; i++) r[i] = (float)ro->rows[i].reward;
    rl_advantages(a, r, ro->n_groups, G, (AdvScale)cfg->adv_scale, (float)cfg->adv_eps);
    for (int i = 0; i < n; i++) ro->rows[i].adv = a[i];
    free(r);
    free(a);
    return 0;
}
