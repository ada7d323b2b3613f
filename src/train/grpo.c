// The GRPO-family training loop: rollout, reference and old log-probs,
// mu epochs of minibatch updates through per-token coefficients, metrics with
// the TRL/verl names (written by grpo_log.c), samples, checkpoints.
#include "train/grpo.h"
#include "train/rm_reward.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/sys.h"
#include "eval/stats.h"
#include "model/io.h"
#include "report/html.h"
#include "rl/loss.h"
#include "tok/tokenizer.h"
#include "train/checkpoint.h"
#include "train/memplan.h"
#include "train/ppo.h"
#include "train/rundir.h"
#include "train/trainer.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int alloc_arrays(Trainer *t) {
    size_t rows = (size_t)t->cfg.prompts_per_step * t->cfg.group_size, n = rows * (size_t)t->max_T;
    int nl = lexicon_size(t->lexicon);
    t->ids = calloc(n, sizeof *t->ids);
    t->lens = calloc(rows, sizeof *t->lens);
    t->mask = calloc(n, 1);
    t->adv = calloc(n, sizeof(float));
    t->old = calloc(n, sizeof(float));
    t->refp = calloc(n, sizeof(float));
    t->logp = calloc(n, sizeof(float));
    t->ent = calloc(n, sizeof(float));
    t->g = calloc(n, sizeof(float));
    t->plan = calloc(rows * (size_t)t->cfg.sample.max_new_tokens, 1);
    t->tok_off = calloc((size_t)t->cfg.sample.max_new_tokens + 1, sizeof(int));
    t->raw = calloc((size_t)t->cfg.sample.max_new_tokens * 64 + 1, 1);
    t->gram_counts = calloc((size_t)(nl ? nl : 1), sizeof(double));
    size_t B = (size_t)t->cfg.prompts_per_step;
    t->keep = calloc(B, sizeof *t->keep);
    t->slots = calloc(B, sizeof *t->slots);
    t->slot_used = calloc(B, 1);
    t->row_reward = calloc(rows, sizeof(float));
    t->row_adv = calloc(rows, sizeof(float));
    if (!t->ids || !t->lens || !t->mask || !t->adv || !t->old || !t->refp || !t->logp || !t->ent || !t->g ||
        !t->plan || !t->tok_off || !t->raw || !t->gram_counts || !t->keep || !t->slots || !t->slot_used ||
        !t->row_reward || !t->row_adv)
        return err_set("out of memory for the step buffers (%zu rows x %d positions)", rows, t->max_T);
    return 0;
}

void trainer_close(Trainer *t) {
    jsonl_writer_close(&t->metrics);
    jsonl_writer_close(&t->samples);
    free(t->ids); free(t->lens); free(t->mask); free(t->adv); free(t->old); free(t->refp);
    free(t->logp); free(t->ent); free(t->g); free(t->plan); free(t->tok_off); free(t->raw);
    free(t->gram_counts); free(t->keep); free(t->slots); free(t->slot_used); free(t->row_reward); free(t->row_adv);
    if (t->acts) model_acts_free(t->acts);
    rm_reward_close(&t->ro.rewards);
    rollout_close(&t->ro);
    if (t->tok) tok_free(t->tok);
    lexicon_free(t->lexicon);
    problems_close(&t->problems);
    grpo_sources_close(&t->sources);
    free(t->slot_source); free(t->slot_terms); free(t->slot_verifier);
    adamw_free(&t->opt);
    model_free(&t->policy);
    if (t->has_ref && !t->has_lora) model_free(&t->ref);
    if (t->has_lora) lora_free(&t->lora);
    ppo_close(t);
    memset(t, 0, sizeof *t);
}

// The absolute form of a path setting, so that config.json names the same
// file whatever directory a resume starts from. A path that does not resolve
// is kept as given (its loader names it).
static void make_absolute(char *path, size_t cap) {
    char abs[PATH_MAX];
    if (path[0] && realpath(path, abs) && strlen(abs) < cap) memcpy(path, abs, strlen(abs) + 1);
}

// The path after key (at the start of the spec, or after a ':') up to the next
// ':' made absolute in place, when it resolves and the result fits.
static void absolute_in_spec(char *spec, const char *key) {
    size_t kl = strlen(key);
    char *at = strncmp(spec, key, kl) == 0 ? spec : NULL;
    for (char *c = spec; !at && (c = strchr(c, ':')) != NULL; c++)
        if (strncmp(c + 1, key, kl) == 0) at = c + 1;
    if (!at) return;
    char *path = at + kl, rest[OPT_LIST_LEN], dir[OPT_LIST_LEN];
    size_t n = strcspn(path, ":");
    snprintf(dir, sizeof dir, "%.*s", (int)n, path);
    snprintf(rest, sizeof rest, "%s", path + n);
    make_absolute(dir, sizeof dir);
    if ((size_t)(path - spec) + strlen(dir) + strlen(rest) < OPT_LIST_LEN)
        snprintf(path, OPT_LIST_LEN - (size_t)(path - spec), "%s%s", dir, rest);
}

static int open_lexicon_and_room(Trainer *t);
static int open_mixed(Trainer *t);
static int open_rest(Trainer *t);

int trainer_open(Trainer *t, const GrpoConfig *cfg, const char *weights_dir) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    make_absolute(t->cfg.model, sizeof t->cfg.model);
    make_absolute(t->cfg.dataset, sizeof t->cfg.dataset);
    make_absolute(t->cfg.hicra_lexicon, sizeof t->cfg.hicra_lexicon);
    for (int i = 0; i < t->cfg.reward.n; i++) absolute_in_spec(t->cfg.reward.item[i], "rm:");
    for (int i = 0; i < t->cfg.source.n; i++) absolute_in_spec(t->cfg.source.item[i], "dataset=");
    const GrpoConfig *c = &t->cfg;
    threads_set(c->sample.threads);
    if (model_precision_set(c->sample.precision) != 0) return -1;
    // With LoRA the policy is the frozen base (no gradients) and a checkpoint holds only the adapters.
    int lora = c->lora.lora_r > 0, fresh = weights_dir == cfg->model;
    const char *base = lora ? cfg->model : weights_dir;
    t->resuming = !fresh;
    if ((lora ? model_load_frozen(&t->policy, base) : model_load(&t->policy, base, 1)) != 0)
        return base == cfg->model && base[0] != '/'
                   ? err_wrap("the starting model (\"model\" setting \"%s\", relative to the working directory)", base)
                   : err_wrap("model %s", base);
    if (lora) {
        if (lora_open(&t->lora, &c->lora, &t->policy.cfg, t->cfg.model, fresh ? NULL : weights_dir,
                      (uint64_t)c->sample.seed, 1) != 0)
            return err_wrap("LoRA adapters");
        t->has_lora = 1;
        t->policy.lora = &t->lora;
    }
    if (!(t->tok = tok_load(weights_dir))) return -1;
    if (path_fmt(t->tok_dir, sizeof t->tok_dir, "%s", weights_dir) != 0) return -1;
    if (c->source.n > 0) return open_mixed(t);
    if (problems_open(&t->problems, c->task, c->dataset, TASK_SPLIT_TRAIN, (uint64_t)c->sample.seed, c->difficulty, c->max_difficulty, 1) != 0)
        return -1;
    const char *verifier = problems_verifier(&t->problems);
    // No reward terms given: the problems' own verifier, plus R1's format reward.
    if (t->cfg.reward.n == 0) {
        snprintf(t->cfg.reward.item[0], OPT_LIST_LEN, "%s:1", verifier);
        snprintf(t->cfg.reward.item[1], OPT_LIST_LEN, "format:0.1");
        t->cfg.reward.n = 2;
    }
    RewardSpec rewards;
    memset(&rewards, 0, sizeof rewards);
    for (int i = 0; i < c->reward.n; i++)
        if (reward_parse_spec(&rewards, c->reward.item[i]) != 0) return err_wrap("reward \"%s\"", c->reward.item[i]);
    if (open_lexicon_and_room(t) != 0) return -1;
    long skipped;
    if (rollout_check_prompts(&t->problems, t->tok, &c->sample, c->max_prompt_tokens, "max_prompt_tokens",
                              c->skip_long_prompts, &skipped) != 0)
        return -1;
    if (skipped)
        fprintf(stderr, "grpo: skipped %ld rows of %s whose prompts exceed max_prompt_tokens %d (%ld kept)\n", skipped,
                c->dataset, c->max_prompt_tokens, problems_count(&t->problems));
    if (rollout_open(&t->ro, &t->policy, t->tok, &c->sample, c->prompts_per_step, c->group_size, c->max_prompt_tokens,
                     &rewards, verifier) != 0)
        return -1;
    return open_rest(t);
}

// The HICRA lexicon, and max_prompt_tokens when derived: the model's context
// less the completion budget, at most 512 (TRL's max_prompt_length).
static int open_lexicon_and_room(Trainer *t) {
    const GrpoConfig *c = &t->cfg;
    t->lexicon = c->hicra_lexicon[0] ? lexicon_load(c->hicra_lexicon) : lexicon_builtin();
    if (!t->lexicon) return -1;
    if (t->cfg.max_prompt_tokens == 0) {
        int room = t->policy.cfg.max_position - c->sample.max_new_tokens;
        if (room < 1)
            return err_set("max_new_tokens %d leaves no room for a prompt in the model's %d positions; pass "
                           "--max-new-tokens below %d",
                           c->sample.max_new_tokens, t->policy.cfg.max_position, t->policy.cfg.max_position);
        t->cfg.max_prompt_tokens = room < 512 ? room : 512;
    }
    return 0;
}

// The sources of a mixed run, each with its own reward terms and verifier.
static int open_mixed(Trainer *t) {
    GrpoConfig *c = &t->cfg;
    int B = c->prompts_per_step;
    RewardSpec rewards;
    memset(&rewards, 0, sizeof rewards);
    for (int i = 0; i < c->reward.n; i++)
        if (reward_parse_spec(&rewards, c->reward.item[i]) != 0) return err_wrap("reward \"%s\"", c->reward.item[i]);
    if (grpo_sources_open(&t->sources, &c->source, &rewards, c->difficulty, c->max_difficulty, (uint64_t)c->sample.seed) != 0) return -1;
    if (open_lexicon_and_room(t) != 0) return -1;
    for (int i = 0; i < t->sources.n; i++) {
        GrpoSource *s = &t->sources.src[i];
        long skipped;
        if (rollout_check_prompts(&s->ps, t->tok, &c->sample, c->max_prompt_tokens, "max_prompt_tokens",
                                  c->skip_long_prompts, &skipped) != 0)
            return err_wrap("source %s", s->name);
        if (skipped) fprintf(stderr, "grpo: source %s: skipped %ld rows over max_prompt_tokens\n", s->name, skipped);
    }
    t->slot_source = calloc((size_t)B, sizeof(int));
    t->slot_terms = calloc((size_t)B, sizeof(uint32_t));
    t->slot_verifier = calloc((size_t)B, sizeof(int));
    if (!t->slot_source || !t->slot_terms || !t->slot_verifier) return err_set("out of memory");
    if (rollout_open(&t->ro, &t->policy, t->tok, &c->sample, B, c->group_size, c->max_prompt_tokens, &rewards, NULL) != 0 ||
        rollout_group_terms(&t->ro, t->slot_terms, t->slot_verifier) != 0)
        return -1;
    return open_rest(t);
}

// Everything after the rollout: reward models, batch sizes, optimizer, reference, critic, arrays.
static int open_rest(Trainer *t) {
    const GrpoConfig *c = &t->cfg;
    t->max_T = c->max_prompt_tokens + c->sample.max_new_tokens;
    if (rm_reward_open(&t->ro.rewards, t->tok_dir) != 0) return -1;
    int rows = c->prompts_per_step * c->group_size;
    t->mb_rows = rows / c->minibatches;
    t->micro_rows = c->micro_batch_rows > 0 && c->micro_batch_rows < t->mb_rows ? c->micro_batch_rows : t->mb_rows;
    int units = (t->mb_rows + t->micro_rows - 1) / t->micro_rows;
    if (dist_size() > units)
        log_info("grpo: %d ranks share %d micro-batch%s per update: ranks idle while training (set "
                 "--micro-batch-rows to %d or less)", dist_size(), units, units == 1 ? "" : "es",
                 t->mb_rows / dist_size() > 0 ? t->mb_rows / dist_size() : 1);
    if (!(t->acts = model_acts_create_opts(&t->policy, t->micro_rows, t->max_T, c->gradient_checkpointing))) return -1;
    AdamWConfig ac = {
        .lr = c->lr, .beta1 = c->adam_beta1, .beta2 = c->adam_beta2, .eps = c->adam_eps,
        .weight_decay = c->weight_decay, .clip_norm = c->max_grad_norm, .warmup_steps = c->warmup_steps,
        .total_steps = (long)c->steps * c->epochs * c->minibatches, .min_lr_ratio = c->min_lr_ratio, .optim = (OptimKind)c->optim,
        .schedule = c->lr_schedule == LR_SCHEDULE_COSINE ? LR_COSINE : c->warmup_steps > 0 ? LR_WARMUP : LR_CONSTANT};
    if (adamw_init(&t->opt, trainer_trainable(t), &ac) != 0) return -1;
    if (c->beta > 0 && t->has_lora) t->has_ref = 1;
    else if (c->beta > 0) {
        // In bf16 the reference is held in bf16 only: its matmuls took only
        // its bf16 copy anyway. Mixing (ref_mix_every) needs fp32 to accumulate in.
        // A resume loads the reference from its checkpoint (checkpoint_restore)
        // and holds no copy of the policy meanwhile. A fresh bf16 one is the
        // starting model's file, used in place when that is BF16.
        t->ref16 = t->policy.w16 && c->ref_mix_every == 0;
        t->has_ref = 1;
        if (!t->resuming) {
            int rc = t->ref16 ? model_load_bf16(&t->ref, c->model) : model_create(&t->ref, &t->policy.cfg, 0);
            if (rc != 0) return err_wrap("reference model");
            if (!t->ref16) trainer_reset_reference(t);
        }
    }
    if (c->adv_estimator == ADV_ESTIMATOR_GAE && ppo_open(t) != 0) return -1;
    return alloc_arrays(t);
}

// The micro-batches of a minibatch of R rows that this rank runs: whole ones,
// dealt to the ranks in contiguous blocks, so that each one's rows, and with
// them its log-probs and gradient, are the same whatever the number of ranks.
static void my_micro_batches(const Trainer *t, int R, int *lo, int *hi) {
    dist_share((R + t->micro_rows - 1) / t->micro_rows, lo, hi);
}

// Forward over this rank's micro-batches of rows [0, n), keeping only log-probs.
static int forward_all(Trainer *t, Model *m, int n, float *out) {
    for (int start = 0; start < n; start += t->mb_rows) {
        int R = n - start < t->mb_rows ? n - start : t->mb_rows, lo, hi;
        my_micro_batches(t, R, &lo, &hi);
        for (int j = lo; j < hi; j++) {
            int s = start + j * t->micro_rows, r = start + R - s < t->micro_rows ? start + R - s : t->micro_rows;
            size_t o = (size_t)s * t->max_T;
            if (model_forward(m, t->acts, t->ids + o, t->lens + s, r, t->max_T, (float)t->cfg.sample.temperature,
                              out + o, NULL) != 0)
                return -1;
        }
    }
    return 0;
}

// Reference log-probs of rows [0, n): the reference model, or with LoRA the
// policy with its adapters switched off (the base it started from).
static int reference_logp(Trainer *t, int n) {
    if (!t->has_lora) return forward_all(t, &t->ref, n, t->refp);
    t->lora.off = 1;
    int rc = forward_all(t, &t->policy, n, t->refp);
    t->lora.off = 0;
    return rc;
}

static int group_has_variance(const RolloutRow *rows, int G) {
    for (int i = 1; i < G; i++)
        if (rows[i].reward != rows[0].reward) return 1;
    return 0;
}

// Sample the groups of one step into the rollout's slots. With dynamic
// sampling (DAPO) a group whose rewards are all equal is dropped and its slot
// refilled with the next problems, for up to max_sampling_rounds extra rounds.
// Then the group-relative advantages of the kept rows.
static int collect_groups(Trainer *t) {
    const GrpoConfig *c = &t->cfg;
    int B = c->prompts_per_step, G = c->group_size;
    int max_rounds = c->dynamic_sampling ? 1 + c->max_sampling_rounds : 1;
    t->n_kept = t->zero_std_groups = t->rounds = 0;
    memset(t->slot_used, 0, (size_t)B);
    if (t->sources.n > 0 && !t->sources_synced) grpo_sources_replay(&t->sources, t->next_index), t->sources_synced = 1;
    for (int round = 0; round < max_rounds && t->n_kept < B; round++) {
        int take = 0;
        for (int k = 0; k < B; k++)
            if (!t->slot_used[k]) t->slots[take++] = k;
        for (int b = 0; b < take; b++) {
            RolloutGroup *g = &t->ro.groups[t->slots[b]];
            if (t->sources.n > 0) {
                int src, slot = t->slots[b];
                if (grpo_sources_get(&t->sources, t->next_index++, &g->problem, &src) != 0) return -1;
                t->slot_source[slot] = src;
                t->slot_terms[slot] = t->sources.src[src].terms;
                t->slot_verifier[slot] = t->sources.src[src].verifier_term;
            } else if (problems_get(&t->problems, t->next_index++, &g->problem) != 0) {
                return -1;
            }
            if (rollout_prepare(&t->ro, t->slots[b]) != 0) return -1;
        }
        if (rollout_sample_dealt(&t->ro, t->slots, take, (uint32_t)t->step) != 0) return -1;
        t->rounds = round + 1;
        for (int b = 0; b < take; b++) {
            int varied = group_has_variance(&t->ro.rows[(size_t)t->slots[b] * G], G);
            if (round == 0) t->zero_std_groups += !varied;
            if (varied || !c->dynamic_sampling) {
                t->keep[t->n_kept++] = t->slots[b];
                t->slot_used[t->slots[b]] = 1;
            }
        }
    }
    int n = t->n_kept * G;
    const RolloutGroup *g;
    for (int i = 0; i < n; i++) t->row_reward[i] = (float)batch_row(t, i, &g)->reward;
    rl_advantages(t->row_adv, t->row_reward, t->n_kept, G, (AdvScale)c->adv_scale, (float)c->adv_eps);
    return 0;
}

// Fill ids/lens/mask/adv for every kept row; planning marks and HICRA's boost;
// rollout statistics.
static int build_batch(Trainer *t, StepStats *s) {
    const GrpoConfig *c = &t->cfg;
    int T = t->max_T, n = t->n_kept * c->group_size;
    memset(t->gram_counts, 0, sizeof(double) * (size_t)lexicon_size(t->lexicon));
    s->len_min = n ? 1 << 30 : 0;
    for (int i = 0; i < n; i++) {
        const RolloutGroup *gp;
        const RolloutRow *r = batch_row(t, i, &gp);
        int P = gp->prompt_len, *ids = t->ids + (size_t)i * T;
        uint8_t *mask = t->mask + (size_t)i * T;
        float *adv = t->adv + (size_t)i * T;
        memcpy(ids, gp->prompt_ids, sizeof(int) * (size_t)P);
        memcpy(ids + P, r->ids, sizeof(int) * (size_t)r->n);
        t->lens[i] = P + r->n;
        memset(mask, 0, (size_t)T);
        memset(adv, 0, sizeof(float) * (size_t)T);
        // Planning tokens: mark on the completion's raw bytes, token by token.
        size_t off = 0;
        for (int j = 0; j < r->n; j++) {
            size_t len;
            const char *b = tok_token_bytes(t->tok, r->ids[j], &len);
            t->tok_off[j] = (int)off;
            if (b && len <= 64) memcpy(t->raw + off, b, len), off += len;
        }
        t->tok_off[r->n] = (int)off;
        uint8_t *plan = t->plan + (size_t)i * c->sample.max_new_tokens;
        hicra_mark(plan, t->raw, off, t->tok_off, r->n, t->lexicon, t->gram_counts);
        // logp at position P - 1 + j predicts completion token j.
        int in_loss = !(c->overlong_filter && r->truncated);
        for (int j = 0; j < r->n; j++) {
            mask[P - 1 + j] = (uint8_t)in_loss;
            adv[P - 1 + j] = t->row_adv[i];
            s->plan_tokens += plan[j];
            s->loss_tokens += in_loss;
        }
        if (c->hicra_alpha > 0) hicra_apply(adv + P - 1, plan, r->n, (float)c->hicra_alpha);
        s->comp_tokens += r->n;
        s->reward_sum += r->reward;
        s->reward_sq += r->reward * r->reward;
        for (int k = 0; k < t->ro.rewards.n; k++) s->comp_sum[k] += r->components[k];
        s->correct += r->correct;
        if (t->sources.n > 0) {
            int src = t->slot_source[t->keep[i / c->group_size]];
            s->src_groups[src] += i % c->group_size == 0;
            s->src_rows[src] += 1;
            s->src_reward[src] += r->reward;
            s->src_correct[src] += r->correct;
            for (int k = 0; k < t->ro.rewards.n; k++) s->src_comp[src][k] += r->components[k];
        }
        reward_code_summary_add(&s->code, &r->code);
        s->len_sum += r->n;
        s->len_min = r->n < s->len_min ? r->n : s->len_min;
        s->len_max = r->n > s->len_max ? r->n : s->len_max;
        s->truncated += r->truncated;
        s->reflections += reflection_count(r->text, r->text_len);
        s->train_tokens += t->lens[i];
    }
    return 0;
}

static int train_on_batch(Trainer *t, int n, StepStats *s) {
    const GrpoConfig *c = &t->cfg;
    int T = t->max_T;
    double t0 = time_now();
    if (t->has_ref && reference_logp(t, n) != 0) return -1;
    // Old log-probs: with one update per rollout the ratio is exactly 1 (old is
    // the current forward's value); otherwise they are recomputed before any update.
    int recompute_old = c->epochs > 1 || c->minibatches > 1 || t->critic;
    if (recompute_old && forward_all(t, &t->policy, n, t->old) != 0) return -1;
    if (t->critic && ppo_advantages(t, t->row_reward, n) != 0) return -1;
    s->t_ref = time_now() - t0;
    // With the KL in the token rewards, the loss has no KL term; the metric
    // still reports the KL of the sampling policy to the reference.
    int kl_in_loss = t->has_ref && !(t->critic && c->kl_in_reward);
    if (t->has_ref && !kl_in_loss)
        for (size_t i = 0; i < (size_t)n * T; i++)
            if (t->mask[i]) {
                double d;
                s->kl_sum += c->epochs * rl_kl((KlEstimator)c->kl, t->old[i], t->refp[i], &d);
            }
    int updates = 0;
    for (int ep = 0; ep < c->epochs; ep++)
        for (int start = 0; start < n; start += t->mb_rows) {
            int R = n - start < t->mb_rows ? n - start : t->mb_rows;
            size_t o = (size_t)start * T;
            double t1 = time_now();
            // The loss is normalised over the whole minibatch (one optimizer
            // step); micro-batches only bound the activation memory.
            double tokens = 0;
            for (size_t i = o; i < o + (size_t)R * T; i++) tokens += t->mask[i];
            LossOpts lo = {.eps_low = (float)c->eps_low, .eps_high = (float)c->eps_high, .dual_clip = (float)c->dual_clip,
                           .beta = kl_in_loss ? (float)c->beta : 0.0f, .kl = (KlEstimator)c->kl, .agg = (LossAgg)c->loss_agg,
                           .ratio = (RatioLevel)c->ratio_level, .global_tokens = tokens > 0 ? tokens : 1,
                           .global_seqs = R, .max_completion_len = c->sample.max_new_tokens};
            // bnpo divides by the tokens of the minibatch: the same as
            // token-mean over it here, whatever the micro-batches and ranks
            // (every rank holds the whole minibatch's mask).
            if (lo.agg == LOSS_AGG_BNPO) lo.agg = LOSS_AGG_TOKEN_MEAN;
            model_zero_grad(trainer_trainable(t));
            int first, last;
            my_micro_batches(t, R, &first, &last);
            for (int j = first; j < last; j++) {
                int ms = start + j * t->micro_rows, r = start + R - ms < t->micro_rows ? start + R - ms : t->micro_rows;
                size_t mo = (size_t)ms * T;
                t->lora.train = 1;   // adapter dropout in the forward that is differentiated
                int frc = model_forward(&t->policy, t->acts, t->ids + mo, t->lens + ms, r, T, (float)c->sample.temperature,
                                        t->logp + mo, ep == 0 ? t->ent + mo : NULL);
                if (frc != 0) return -1;
                if (!recompute_old) memcpy(t->old + mo, t->logp + mo, sizeof(float) * (size_t)r * T);
                LossStats st;
                if (rl_loss_coeffs(t->g + mo, &st, t->logp + mo, t->old + mo, kl_in_loss ? t->refp + mo : NULL,
                                   t->adv + mo, t->mask + mo, r, T, &lo) != 0)
                    return -1;
                frc = model_backward(&t->policy, t->acts, t->g + mo);
                t->lora.train = 0;
                if (frc != 0) return -1;
                s->policy_loss += st.policy_loss;
                s->kl_sum += st.kl_sum;
                s->clip_low += st.clip_low;
                s->clip_high += st.clip_high;
                if (ep == 0)
                    for (size_t i = mo; i < mo + (size_t)r * T; i++)
                        if (t->mask[i]) s->ent_sum += t->ent[i];
            }
            s->t_train += time_now() - t1;
            t1 = time_now();
            Model *tm = trainer_trainable(t);
            if (dist_size() > 1 && dist_sum_f32(tm->grads, tm->n_params) != 0) return -1;
            s->t_comm += time_now() - t1;
            t1 = time_now();
            s->lr = adamw_lr(&t->opt.cfg, t->opt.step + 1);
            double gn = adamw_step(&t->opt, trainer_trainable(t), 1.0f);
            if (!isfinite(gn)) return err_set("step %ld: gradient norm is not finite; the update was refused", t->step + 1);
            if (t->critic && ppo_critic_update(t, start, R, &s->vf_loss, &s->vf_clipfrac) != 0) return -1;
            s->t_opt += time_now() - t1;
            s->grad_norm += gn;
            updates++;
        }
    // The loss statistics of every rank's micro-batches.
    double sums[5] = {s->policy_loss, s->kl_sum, s->clip_low, s->clip_high, s->ent_sum};
    if (dist_size() > 1 && dist_sum_f64(sums, 5) != 0) return -1;
    s->policy_loss = sums[0], s->kl_sum = sums[1], s->clip_low = sums[2], s->clip_high = sums[3], s->ent_sum = sums[4];
    if (updates) {
        s->grad_norm /= updates;
        s->policy_loss /= updates;
        s->vf_loss /= updates;
        s->vf_clipfrac /= updates;
    }
    return 0;
}

void trainer_reset_reference(Trainer *t) {
    if (t->ref.bf16_only) {
        model_copy_bf16(&t->ref, &t->policy);
        return;
    }
    memcpy(t->ref.params, t->policy.params, sizeof(float) * t->policy.n_params);
    t->ref.w16_stale = 1;
}

static void update_reference(Trainer *t) {
    const GrpoConfig *c = &t->cfg;
    if (!t->has_ref || t->has_lora) return;
    size_t n = t->policy.n_params;
    if (c->ref_reset_every > 0 && t->step % c->ref_reset_every == 0) {
        trainer_reset_reference(t);
        t->ref_moved = 1;
    } else if (c->ref_mix_every > 0 && t->step % c->ref_mix_every == 0) {
        float a = (float)c->ref_mix_alpha;
        for (size_t i = 0; i < n; i++) t->ref.params[i] = a * t->policy.params[i] + (1 - a) * t->ref.params[i];
        t->ref_moved = 1;
    }
    t->ref.w16_stale = 1;
}

int trainer_step(Trainer *t) {
    double t0 = time_now();
    StepStats *s = &t->stats;
    memset(s, 0, sizeof *s);
    double ts = t->ro.t_sample, tr = t->ro.t_reward;
    long tokens = t->ro.tokens;
    // when memory must take turns, the activations and the policy's bf16 copy
    // go back to the system while the sampler's packed weights are in use
    if (t->release_memory) {
        model_acts_release(t->acts);
        model_drop_bf16(&t->policy);
    }
    if (collect_groups(t) != 0) return -1;
    s->t_sample = t->ro.t_sample - ts;
    s->t_reward = t->ro.t_reward - tr;
    s->rollout_tokens = (double)(t->ro.tokens - tokens);
    int n = t->n_kept * t->cfg.group_size, rc = build_batch(t, s);
    if (rc == 0 && n > 0) rc = train_on_batch(t, n, s);
    if (rc != 0) return -1;
    t->step++;
    t->num_tokens += (long)s->train_tokens;
    update_reference(t);
    s->step_time = time_now() - t0;
    return 0;
}

static int write_config(const Trainer *t) {
    char path[4096];
    if (path_join(path, sizeof path, t->run_dir, "config.json") != 0) return -1;
    cJSON *o = opt_to_json(&t->cfg, grpo_options);
    char *s = cJSON_Print(o);
    int rc = file_write_atomic(path, s, strlen(s));
    cJSON_free(s);
    cJSON_Delete(o);
    return rc;
}

// --restart: the run starts over, so its checkpoints and logs go first.
static int clear_run(const char *run_dir) {
    static const char *const names[] = {"checkpoints", "metrics.jsonl", "samples.jsonl", "report.html"};
    char path[4096];
    for (int i = 0; i < 4; i++)
        if (path_join(path, sizeof path, run_dir, names[i]) != 0 || remove_tree(path) != 0) return -1;
    log_info("grpo: --restart: removed the checkpoints and logs of %s", run_dir);
    return 0;
}

// Open metrics.jsonl and samples.jsonl for appending after the lines the
// trainer's checkpoint counted (both logs are checked against it first, so a
// refusal changes neither); a run at step 0 starts them anew.
static int open_logs(Trainer *t) {
    char metrics[4096], samples[4096];
    if (path_join(metrics, sizeof metrics, t->run_dir, "metrics.jsonl") != 0 ||
        path_join(samples, sizeof samples, t->run_dir, "samples.jsonl") != 0)
        return -1;
    if (jsonl_rewind(metrics, t->metrics_lines, t->step, 1) != 0 ||
        jsonl_rewind(samples, t->samples_lines, t->step, 0) != 0)
        return -1;
    if (jsonl_writer_open(&t->metrics, metrics, t->step == 0) != 0) return -1;
    return jsonl_writer_open(&t->samples, samples, t->step == 0);
}

// Enter the run directory: start over when asked, else restore the
// checkpoint (if any) and cut the logs back to it; then clear what killed
// writers left and record the settings.
// Under MPI every rank restores the checkpoint and rank 0 alone touches the
// directory.
static int enter_run(Trainer *t, const char *ckpt) {
    int lead = dist_rank() == 0;
    if (lead && t->cfg.restart && clear_run(t->run_dir) != 0) return -1;
    double t0 = time_now();
    if (ckpt[0] && checkpoint_restore(t, ckpt) != 0) return -1;
    if (ckpt[0]) log_info("grpo: optimizer and counters restored in %.1f s", time_now() - t0);
    if (t->step > t->cfg.steps)
        return err_set("%s: the run is at step %ld, past steps %d; pass --steps %ld or more to continue it", ckpt,
                       t->step, t->cfg.steps, t->step);
    if (!lead) return 0;
    if (open_logs(t) != 0) return -1;
    if (checkpoint_remove_temps(t->run_dir) != 0) return -1;
    return write_config(t);
}

static void train_loop(Trainer *t, int *rc) {
    Progress p;
    progress_init(&p, stderr, "grpo", t->step, t->cfg.steps);
    char line[256];
    while (*rc == 0 && t->step < t->cfg.steps) {
        *rc = trainer_step(t);
        if (*rc == 0) *rc = trainer_log_step(t, line, sizeof line);
        if (*rc == 0) progress_update(&p, t->step, line);
        // Ranks whose weights drifted apart stop the job rather than train apart.
        const Model *tm = trainer_trainable(t);
        if (*rc == 0 && dist_check_same(tm->params, sizeof(float) * tm->n_params, "weights") != 0)
            *rc = err_wrap("grpo: step %ld", t->step);
        int save = t->cfg.save_every > 0 && t->step % t->cfg.save_every == 0;
        if (*rc == 0 && (save || t->step == t->cfg.steps)) {
            double t0 = time_now();
            *rc = dist_rank() == 0 ? checkpoint_save(t) : 0;
            if (*rc == 0) *rc = dist_barrier();   // a resume finds it from every rank
            if (*rc == 0) log_info("grpo: checkpoint step_%ld written in %.1f s", t->step, time_now() - t0);
        }
    }
    progress_end(&p);
}

// Refuse a run that cannot fit before anything is loaded, and decide whether
// sampling and training memory take turns (*release). A model whose
// config.json does not read is left for trainer_open to report.
static int check_memory(const GrpoConfig *cfg, int *release) {
    ModelConfig mc;
    MemPlan p;
    *release = cfg->release_memory != RELEASE_MEMORY_OFF;
    threads_set(cfg->sample.threads);
    if (model_precision_set(cfg->sample.precision) != 0 || model_config_load(&mc, cfg->model) != 0) {
        err_clear();
        return 0;
    }
    if (memplan_grpo(&p, cfg, &mc) != 0) return -1;
    if (cfg->release_memory == RELEASE_MEMORY_AUTO) *release = memplan_apart_needed(&p);
    if (!*release) p.apart = 0;
    log_info("grpo: planned memory %.2f GiB (sampling and training memory %s)", (double)memplan_total(&p) / (1 << 30),
             *release ? "taking turns" : "held together");
    return memplan_check(&p, cfg->lora.lora_r > 0 ? "try --micro-batch-rows 1 or fewer --max-new-tokens"
                                                   : "try --lora-r 16 (a frozen base, no gradients, moments or "
                                                     "reference copy), --micro-batch-rows 1 or fewer --max-new-tokens");
}

int grpo_run(const GrpoConfig *cfg, const char *resume_dir) {
    Trainer t;
    char ckpt[4096] = "";
    if (grpo_check(cfg) != 0) return -1;
    if (dist_size() > 1 && cfg->adv_estimator == ADV_ESTIMATOR_GAE)
        return err_set("grpo: adv_estimator gae (PPO's critic) runs in one process; under MPI use grpo advantages");
    if (resume_dir && !cfg->restart && checkpoint_find(resume_dir, cfg, ckpt, sizeof ckpt) != 0) return -1;
    if (resume_dir && !cfg->restart && !ckpt[0]) log_info("grpo: %s has no checkpoint yet: starting at step 0", resume_dir);
    int release = 1;
    if (check_memory(cfg, &release) != 0) return -1;
    double t0 = time_now();
    if (trainer_open(&t, cfg, ckpt[0] ? ckpt : cfg->model) != 0) {
        trainer_close(&t);
        return -1;
    }
    log_info("grpo: %s loaded in %.1f s", ckpt[0] ? ckpt : cfg->model, time_now() - t0);
    t.release_memory = release;
    sampler_set_release(t.ro.sampler, release);
    const char *dir = resume_dir ? resume_dir : cfg->out;
    if (strlen(dir) >= sizeof t.cfg.out) {
        trainer_close(&t);
        return err_set("%s: the run directory's path is longer than the %zu bytes allowed", dir, sizeof t.cfg.out - 1);
    }
    if (rundir_name(t.run_dir, sizeof t.run_dir, dir, "grpo") != 0) {
        trainer_close(&t);
        return -1;
    }
    memcpy(t.cfg.out, t.run_dir, strlen(t.run_dir) + 1);   // fits: checked above
    if (!resume_dir && !t.cfg.restart &&
        checkpoint_dir_is_new(t.run_dir, "pass --resume to continue it, --restart to start it over, or another --out")) {
        trainer_close(&t);
        return -1;
    }
    // Every rank looks before rank 0 makes the directory.
    int lead = dist_rank() == 0, created = !path_exists(t.run_dir), rc = dist_barrier();
    if (rc == 0 && lead) rc = mkdir_p(t.run_dir);
    if (rc == 0) rc = enter_run(&t, ckpt);
    int entered = rc == 0;
    if (rc == 0 && ckpt[0]) log_info("grpo: resuming %s at step %ld", t.run_dir, t.step);
    if (rc == 0) {
        log_info("grpo: %s, %d prompts x %d samples per step, %zu parameters (%zu trained), run %s", t.cfg.model,
                 t.cfg.prompts_per_step, t.cfg.group_size, t.policy.n_params, trainer_trainable(&t)->n_params, t.run_dir);
        train_loop(&t, &rc);
        log_info("grpo: peak resident memory %.2f GiB", (double)peak_rss_bytes() / (1 << 30));
    }
    // The first failure is the one reported: cleanup below may fail too (a
    // full disk, a read-only directory) and must not replace its message.
    ErrKept first;
    err_keep(&first);
    // The report is rebuilt from the logs, so a run that stopped early has one
    // too (a refused resume changes nothing).
    if (lead && entered && t.metrics_lines > 0) {
        jsonl_writer_close(&t.metrics);
        jsonl_writer_close(&t.samples);
        if (report_write(t.run_dir, NULL) != 0) log_info("grpo: report.html not written: %s", err_msg());
    }
    // A run refused before its first step leaves no half-made directory behind.
    if (lead && rc != 0 && created && t.step == 0) remove_tree(t.run_dir);
    if (rc != 0) err_restore(&first);
    trainer_close(&t);
    return rc;
}
