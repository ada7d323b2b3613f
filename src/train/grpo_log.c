// The GRPO trainer's logs: one metrics.jsonl line per step with the TRL/verl
// names (reward terms, accuracy, lengths, reflection, KL, clipping, entropy,
// timings) and samples.jsonl lines with what the loss saw per token. Under MPI
// every rank holds the whole batch; rank 0 alone writes.
#include "base/dist.h"
#include "eval/stats.h"
#include "rl/hicra.h"
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>

// sources/NAME/{groups, reward, accuracy, rewards/LABEL/mean} of a mixed run:
// means over the source's kept rows (omitted when it has none this step).
static void source_metrics(cJSON *m, const Trainer *t, const StepStats *s) {
    char key[160];
    for (int i = 0; i < t->sources.n; i++) {
        const GrpoSource *src = &t->sources.src[i];
        double n = s->src_rows[i];
        snprintf(key, sizeof key, "sources/%s/groups", src->name);
        cJSON_AddNumberToObject(m, key, s->src_groups[i]);
        if (n == 0) continue;
        snprintf(key, sizeof key, "sources/%s/reward", src->name);
        cJSON_AddNumberToObject(m, key, s->src_reward[i] / n);
        snprintf(key, sizeof key, "sources/%s/accuracy", src->name);
        cJSON_AddNumberToObject(m, key, s->src_correct[i] / n);
        for (int k = 0; k < t->ro.rewards.n; k++) {
            if (!(src->terms >> k & 1u)) continue;
            snprintf(key, sizeof key, "sources/%s/rewards/%s/mean", src->name, t->ro.rewards.terms[k].label);
            cJSON_AddNumberToObject(m, key, s->src_comp[i][k] / n);
        }
    }
}

static cJSON *step_metrics(const Trainer *t, const StepStats *s) {
    int n = t->n_kept * t->cfg.group_size;
    double dn = n ? n : 1, lt = s->loss_tokens > 0 ? s->loss_tokens : 1, ct = s->comp_tokens > 0 ? s->comp_tokens : 1;
    double mean = s->reward_sum / dn, var = n > 1 ? (s->reward_sq - dn * mean * mean) / (dn - 1) : 0;
    int passes = t->cfg.epochs;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "step", (double)t->step);
    cJSON_AddNumberToObject(m, "reward", mean);
    cJSON_AddNumberToObject(m, "reward_std", var > 0 ? sqrt(var) : 0);
    for (int k = 0; k < t->ro.rewards.n; k++) {
        char key[96];
        snprintf(key, sizeof key, "rewards/%s/mean", t->ro.rewards.terms[k].label);
        cJSON_AddNumberToObject(m, key, s->comp_sum[k] / dn);
    }
    reward_code_summary_json(m, &s->code, s->t_reward);
    cJSON_AddNumberToObject(m, "accuracy", s->correct / dn);
    if (t->sources.n > 0) source_metrics(m, t, s);
    cJSON_AddNumberToObject(m, "frac_reward_zero_std", (double)t->zero_std_groups / t->cfg.prompts_per_step);
    cJSON_AddNumberToObject(m, "groups", t->n_kept);
    cJSON_AddNumberToObject(m, "sampling_rounds", t->rounds);
    cJSON_AddNumberToObject(m, "completions/mean_length", s->len_sum / dn);
    cJSON_AddNumberToObject(m, "completions/min_length", s->len_min);
    cJSON_AddNumberToObject(m, "completions/max_length", s->len_max);
    cJSON_AddNumberToObject(m, "completions/clipped_ratio", s->truncated / dn);
    cJSON_AddNumberToObject(m, "reflection_per_1k", 1000.0 * s->reflections / ct);
    cJSON_AddNumberToObject(m, "planning_token_frac", s->plan_tokens / ct);
    cJSON_AddNumberToObject(m, "semantic_entropy", semantic_entropy(t->gram_counts, lexicon_size(t->lexicon)));
    cJSON_AddNumberToObject(m, "entropy", s->ent_sum / lt);
    cJSON_AddNumberToObject(m, "kl", s->kl_sum / (lt * passes));
    cJSON_AddNumberToObject(m, "clip_ratio/low_mean", s->clip_low / (lt * passes));
    cJSON_AddNumberToObject(m, "clip_ratio/high_mean", s->clip_high / (lt * passes));
    cJSON_AddNumberToObject(m, "policy_loss", s->policy_loss);
    cJSON_AddNumberToObject(m, "grad_norm", s->grad_norm);
    if (t->critic) {
        cJSON_AddNumberToObject(m, "critic/vf_loss", s->vf_loss);
        cJSON_AddNumberToObject(m, "critic/vf_clipfrac", s->vf_clipfrac);
    }
    cJSON_AddNumberToObject(m, "learning_rate", s->lr);
    cJSON_AddNumberToObject(m, "num_tokens", (double)t->num_tokens);
    cJSON_AddNumberToObject(m, "rollout_tokens_per_s", s->t_sample > 0 ? s->rollout_tokens / s->t_sample : 0);
    cJSON_AddNumberToObject(m, "train_tokens_per_s", s->t_train > 0 ? s->train_tokens * passes / s->t_train : 0);
    cJSON_AddNumberToObject(m, "time/rollout", s->t_sample);
    cJSON_AddNumberToObject(m, "time/reward", s->t_reward);
    cJSON_AddNumberToObject(m, "time/reference", s->t_ref);
    cJSON_AddNumberToObject(m, "time/train", s->t_train);
    cJSON_AddNumberToObject(m, "time/optimizer", s->t_opt);
    if (dist_size() > 1) cJSON_AddNumberToObject(m, "time/allreduce", s->t_comm);
    cJSON_AddNumberToObject(m, "step_time", s->step_time);
    return m;
}

// The advantage row i trains on: the group's, or with a critic the mean of
// its per-token GAE advantages.
static double row_advantage(const Trainer *t, int i, int P, int n) {
    if (!t->critic) return t->row_adv[i];
    double sum = 0;
    int cnt = 0;
    const float *adv = t->adv + (size_t)i * t->max_T + P - 1;
    const uint8_t *mask = t->mask + (size_t)i * t->max_T + P - 1;
    for (int j = 0; j < n; j++)
        if (mask[j]) sum += adv[j], cnt++;
    return cnt ? sum / cnt : 0;
}

// The completion tokens of row i that HICRA marked as planning, as indices.
static void add_planning(cJSON *o, const Trainer *t, int i, int n) {
    const uint8_t *plan = t->plan + (size_t)i * t->cfg.sample.max_new_tokens;
    cJSON *a = cJSON_AddArrayToObject(o, "planning");
    for (int j = 0; j < n; j++)
        if (plan[j]) cJSON_AddItemToArray(a, cJSON_CreateNumber(j));
}

static int log_samples(Trainer *t) {
    int n = t->n_kept * t->cfg.group_size, want = t->cfg.log_samples < n ? t->cfg.log_samples : n;
    if (dist_rank() != 0) {
        t->samples_lines += want;
        return 0;
    }
    for (int j = 0; j < want; j++) {
        // Spread over groups first: sample j of group j % n_kept.
        int i = (j % t->n_kept) * t->cfg.group_size + (j / t->n_kept) % t->cfg.group_size;
        const RolloutGroup *g;
        const RolloutRow *r = batch_row(t, i, &g);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "step", (double)t->step);
        if (t->sources.n > 0)
            cJSON_AddStringToObject(o, "source", t->sources.src[t->slot_source[t->keep[i / t->cfg.group_size]]].name);
        cJSON_AddStringToObject(o, "prompt", g->prompt_text);
        cJSON_AddStringToObject(o, "completion", r->text);
        if (g->problem.answer) cJSON_AddStringToObject(o, "answer", g->problem.answer);
        cJSON_AddNumberToObject(o, "reward", r->reward);
        for (int k = 0; k < t->ro.rewards.n; k++)
            cJSON_AddNumberToObject(o, t->ro.rewards.terms[k].label, r->components[k]);
        cJSON_AddBoolToObject(o, "correct", r->correct);
        if (r->code.scored) cJSON_AddItemToObject(o, "code_report", reward_code_report_json(&r->code));
        cJSON_AddNumberToObject(o, "advantage", row_advantage(t, i, g->prompt_len, r->n));
        cJSON_AddNumberToObject(o, "tokens", r->n);
        cJSON_AddStringToObject(o, "finish", r->truncated ? "length" : "stop");
        // What the loss saw, token by token: the ids, the advantage each one
        // was trained with and (under HICRA) which ones were planning tokens.
        cJSON_AddItemToObject(o, "ids", cJSON_CreateIntArray(r->ids, r->n));
        const float *adv = t->adv + (size_t)i * t->max_T + g->prompt_len - 1;
        cJSON_AddItemToObject(o, "token_advantages", cJSON_CreateFloatArray(adv, r->n));
        if (t->cfg.hicra_alpha > 0) add_planning(o, t, i, r->n);
        int rc = jsonl_writer_put(&t->samples, o);
        cJSON_Delete(o);
        if (rc != 0) return -1;
        t->samples_lines++;
    }
    return 0;
}

int trainer_log_step(Trainer *t, char *line, size_t cap) {
    cJSON *m = step_metrics(t, &t->stats);
    int rc = 0;
    if (dist_rank() == 0) rc = jsonl_writer_put(&t->metrics, m);   // one writer; every rank counts the lines
    if (rc == 0) t->metrics_lines++;
    if (rc == 0) rc = log_samples(t);
    snprintf(line, cap, "reward %.3f acc %.3f len %.0f refl/1k %.1f kl %.2g ent %.2f %.1fs",
             cJSON_GetObjectItem(m, "reward")->valuedouble, cJSON_GetObjectItem(m, "accuracy")->valuedouble,
             cJSON_GetObjectItem(m, "completions/mean_length")->valuedouble,
             cJSON_GetObjectItem(m, "reflection_per_1k")->valuedouble, cJSON_GetObjectItem(m, "kl")->valuedouble,
             cJSON_GetObjectItem(m, "entropy")->valuedouble, cJSON_GetObjectItem(m, "step_time")->valuedouble);
    cJSON_Delete(m);
    return rc;
}
