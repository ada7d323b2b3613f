// GRPO settings: the option table (names as in REFERENCE.md, TRL and verl),
// presets, and the checks that need more than one field.
#include "train/grpo.h"
#include "base/err.h"
#include "rl/loss.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define F(x) offsetof(GrpoConfig, x)
#define S(x) F(x), sizeof(((GrpoConfig *)0)->x)
const OptDef grpo_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "policy model directory (Hugging Face layout)"},
    {"task", OPT_STRING, S(task), 0, 0, NULL, "task generator (see aha task --help)"},
    {"dataset", OPT_STRING, S(dataset), 0, 0, NULL, "JSONL dataset instead of a task"},
    {"difficulty", OPT_INT, F(difficulty), 0, 0, 10, NULL, "task difficulty, 0 mixes the levels"},
    {"template", OPT_STRING, S(template_name), 0, 0, NULL, "prompt template: r1zero, chatml, raw"},
    {"prefill_think", OPT_BOOL, F(prefill_think), 0, 0, 1, NULL, "end the prompt with <think>"},
    {"system", OPT_STRING, S(system), 0, 0, NULL, "system prompt"},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "run directory (default runs/grpo-<time>)"},
    {"steps", OPT_INT, F(steps), 0, 1, 10000000, NULL, "training steps (one rollout each)"},
    {"save_every", OPT_INT, F(save_every), 0, 0, 10000000, NULL, "checkpoint every N steps (0: at the end)"},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "random seed"},
    {"threads", OPT_INT, F(threads), 0, 0, 1024, NULL, "threads (0: all cores)"},
    {"prompts_per_step", OPT_INT, F(prompts_per_step), 0, 1, 100000, NULL, "prompts per step (B)"},
    {"group_size", OPT_INT, F(group_size), 0, 1, 4096, NULL, "completions per prompt (G, num_generations)"},
    {"max_new_tokens", OPT_INT, F(max_new_tokens), 0, 1, 1000000, NULL, "completion budget (max_completion_length)"},
    {"max_prompt_tokens", OPT_INT, F(max_prompt_tokens), 0, 1, 1000000, NULL, "longest prompt accepted (max_prompt_length)"},
    {"temperature", OPT_DOUBLE, F(temperature), 0, 1e-3, 10, NULL, "sampling temperature"},
    {"top_p", OPT_DOUBLE, F(top_p), 0, 1e-6, 1, NULL, "nucleus sampling"},
    {"min_p", OPT_DOUBLE, F(min_p), 0, 0, 1, NULL, "min-p sampling (0: off)"},
    {"top_k", OPT_INT, F(top_k), 0, 0, 10000000, NULL, "top-k sampling (0: off)"},
    {"stop", OPT_LIST, F(stop), 0, 0, 0, NULL, "stop string (EOS always stops)"},
    {"reward", OPT_LIST, F(reward), 0, 0, 0, NULL, "reward term name[:weight[:k=v,...]] (see aha reward --help)"},
    {"dynamic_sampling", OPT_BOOL, F(dynamic_sampling), 0, 0, 1, NULL, "drop zero-variance groups and refill (DAPO)"},
    {"max_sampling_rounds", OPT_INT, F(max_sampling_rounds), 0, 0, 100, NULL, "extra sampling rounds for the refill"},
    {"overlong_filter", OPT_BOOL, F(overlong_filter), 0, 0, 1, NULL, "mask truncated completions out of the loss"},
    {"lr", OPT_DOUBLE, F(lr), 0, 0, 10, NULL, "learning rate"},
    {"weight_decay", OPT_DOUBLE, F(weight_decay), 0, 0, 10, NULL, "AdamW decoupled weight decay"},
    {"adam_beta1", OPT_DOUBLE, F(adam_beta1), 0, 0, 0.999999, NULL, "AdamW beta1"},
    {"adam_beta2", OPT_DOUBLE, F(adam_beta2), 0, 0, 0.999999999, NULL, "AdamW beta2"},
    {"adam_eps", OPT_DOUBLE, F(adam_eps), 0, 1e-30, 1, NULL, "AdamW epsilon"},
    {"max_grad_norm", OPT_DOUBLE, F(max_grad_norm), 0, 0, 1e9, NULL, "global gradient-norm clip (0: off)"},
    {"lr_schedule", OPT_ENUM, F(lr_schedule), 0, 0, 0, "constant|cosine", "learning-rate schedule after warmup"},
    {"warmup_steps", OPT_INT, F(warmup_steps), 0, 0, 10000000, NULL, "linear warmup (optimizer steps)"},
    {"min_lr_ratio", OPT_DOUBLE, F(min_lr_ratio), 0, 0, 1, NULL, "final lr / lr for cosine"},
    {"epochs", OPT_INT, F(epochs), 0, 1, 100, NULL, "mu: passes over each rollout"},
    {"minibatches", OPT_INT, F(minibatches), 0, 1, 100000, NULL, "optimizer steps per pass"},
    {"micro_batch_rows", OPT_INT, F(micro_batch_rows), 0, 0, 100000, NULL,
     "rows per forward/backward, gradients accumulated (0: whole minibatch)"},
    {"adv_scale", OPT_ENUM, F(adv_scale), 0, 0, 0, "group|batch|none", "advantage scaling (none: Dr. GRPO)"},
    {"adv_eps", OPT_DOUBLE, F(adv_eps), 0, 0, 1, NULL, "added to the std of the advantage"},
    {"loss_agg", OPT_ENUM, F(loss_agg), 0, 0, 0, "seq-mean-token-mean|token-mean|seq-mean-token-sum-norm|bnpo",
     "loss aggregation (loss_agg_mode)"},
    {"eps_low", OPT_DOUBLE, F(eps_low), 0, 0, 0.999, NULL, "clip ratio below (epsilon)"},
    {"eps_high", OPT_DOUBLE, F(eps_high), 0, 0, 100, NULL, "clip ratio above (epsilon_high)"},
    {"dual_clip", OPT_DOUBLE, F(dual_clip), 0, 0, 1000, NULL, "dual-clip c for A < 0 (0: off)"},
    {"ratio_level", OPT_ENUM, F(ratio_level), 0, 0, 0, "token|sequence", "importance ratio (sequence: GSPO)"},
    {"beta", OPT_DOUBLE, F(beta), 0, 0, 100, NULL, "KL coefficient (0: no reference model)"},
    {"kl", OPT_ENUM, F(kl), 0, 0, 0, "k1|k2|k3", "KL estimator"},
    {"ref_reset_every", OPT_INT, F(ref_reset_every), 0, 0, 10000000, NULL, "reference <- policy every N steps (0: never)"},
    {"ref_mix_alpha", OPT_DOUBLE, F(ref_mix_alpha), 0, 0, 1, NULL, "reference <- a*policy + (1-a)*reference"},
    {"ref_mix_every", OPT_INT, F(ref_mix_every), 0, 0, 10000000, NULL, "... every N steps (0: never)"},
    {"adv_estimator", OPT_ENUM, F(adv_estimator), 0, 0, 0, "grpo|gae", "advantages: group-relative, or GAE with a critic (PPO)"},
    {"gamma", OPT_DOUBLE, F(gamma), 0, 0, 1, NULL, "GAE discount"},
    {"lam", OPT_DOUBLE, F(lam), 0, 0, 1, NULL, "GAE lambda"},
    {"critic_lr", OPT_DOUBLE, F(critic_lr), 0, 0, 10, NULL, "critic learning rate (gae)"},
    {"value_clip", OPT_DOUBLE, F(value_clip), 0, 0, 100, NULL, "PPO value clipping epsilon (0: off)"},
    {"kl_in_reward", OPT_BOOL, F(kl_in_reward), 0, 0, 1, NULL, "KL penalty in the token rewards, not the loss (gae)"},
    {"hicra_alpha", OPT_DOUBLE, F(hicra_alpha), 0, 0, 10, NULL, "HICRA planning-token boost (0: off)"},
    {"hicra_lexicon", OPT_STRING, S(hicra_lexicon), 0, 0, NULL, "Strategic-Gram file (default: built-in)"},
    {"log_samples", OPT_INT, F(log_samples), 0, 0, 100000, NULL, "completions per step kept in samples.jsonl"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
#undef F
#undef S

void grpo_defaults(GrpoConfig *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->template_name, sizeof c->template_name, "r1zero");
    c->steps = 100;
    c->seed = 1;
    c->prompts_per_step = 8;
    c->group_size = 8;
    c->max_new_tokens = 128;
    c->temperature = 1.0;
    c->top_p = 1.0;
    snprintf(c->reward.item[0], OPT_LIST_LEN, "math:1");
    snprintf(c->reward.item[1], OPT_LIST_LEN, "format:0.1");
    c->reward.n = 2;
    c->max_sampling_rounds = 3;
    c->lr = 1e-5;
    c->weight_decay = 0.0;
    c->adam_beta1 = 0.9;
    c->adam_beta2 = 0.99;
    c->adam_eps = 1e-8;
    c->max_grad_norm = 1.0;
    c->lr_schedule = 0;
    c->max_prompt_tokens = 256;
    c->min_lr_ratio = 0.1;
    c->epochs = 1;
    c->minibatches = 1;
    c->adv_scale = 0;     // group
    c->adv_eps = 1e-4;
    c->loss_agg = 0;      // seq-mean-token-mean
    c->eps_low = 0.2;
    c->eps_high = 0.2;
    c->beta = 0.001;
    c->kl = 2;            // k3
    c->ref_reset_every = 400;
    c->log_samples = 4;
    c->gamma = 1.0;
    c->lam = 0.95;
    c->critic_lr = 1e-5;
    c->value_clip = 0.2;
}

// Presets are settings in text, applied through the option table so they
// obey the same checks as a config file.
typedef struct {
    const char *name;
    const char *settings[16];
} Preset;

static const Preset presets[] = {
    {"r1zero", {"adv_scale=group", "loss_agg=seq-mean-token-mean", "beta=0.001", "kl=k3", "eps_low=0.2",
                "eps_high=0.2", "temperature=1.0", "ref_reset_every=400", "dynamic_sampling=false", NULL}},
    {"dapo", {"adv_scale=group", "loss_agg=token-mean", "beta=0", "eps_low=0.2", "eps_high=0.28",
              "dynamic_sampling=true", "overlong_filter=false", "temperature=1.0", NULL}},
    {"drgrpo", {"adv_scale=none", "loss_agg=seq-mean-token-sum-norm", "beta=0", "eps_low=0.2", "eps_high=0.2", NULL}},
    {"gspo", {"ratio_level=sequence", "loss_agg=seq-mean-token-mean", "beta=0", "eps_low=0.0003", "eps_high=0.0004", NULL}},
    {"hicra", {"adv_scale=group", "loss_agg=token-mean", "beta=0", "eps_low=0.2", "eps_high=0.28", "hicra_alpha=0.2", NULL}},
    {"ppo", {"adv_estimator=gae", "gamma=1.0", "lam=0.95", "loss_agg=token-mean", "eps_low=0.2", "eps_high=0.2",
             "beta=0.001", "kl=k1", "kl_in_reward=true", "value_clip=0.2", "ref_reset_every=0", NULL}},
    {NULL, {NULL}},
};

const char *grpo_preset_names(void) { return "r1zero, dapo, drgrpo, gspo, hicra, ppo"; }

int grpo_apply_preset(GrpoConfig *c, const char *name) {
    for (const Preset *p = presets; p->name; p++) {
        if (strcmp(p->name, name) != 0) continue;
        for (int i = 0; p->settings[i]; i++) {
            char key[64];
            const char *eq = strchr(p->settings[i], '=');
            snprintf(key, sizeof key, "%.*s", (int)(eq - p->settings[i]), p->settings[i]);
            const OptDef *d = opt_find(grpo_options, key);
            AHA_ASSERT(d != NULL);
            if (opt_set(c, d, eq + 1, name) != 0) return -1;
        }
        return 0;
    }
    return err_set("unknown preset '%s' (known: %s)", name, grpo_preset_names());
}

int grpo_check(const GrpoConfig *c) {
    if (!c->model[0]) return err_set("model: a model directory is required (--model DIR)");
    if (!c->task[0] == !c->dataset[0]) return err_set("give exactly one of task and dataset");
    if (c->reward.n == 0) return err_set("reward: at least one reward term is required");
    long rows = (long)c->prompts_per_step * c->group_size;
    if (rows % c->minibatches != 0)
        return err_set("minibatches (%d) must divide prompts_per_step x group_size (%ld)", c->minibatches, rows);
    if (c->kl_in_reward && c->adv_estimator != 1) return err_set("kl_in_reward needs adv_estimator gae");
    if (c->hicra_alpha > 0 && c->adv_estimator != 0) return err_set("hicra_alpha needs adv_estimator grpo");
    if (c->group_size < 2 && c->adv_scale != ADV_SCALE_NONE && c->adv_estimator == 0)
        return err_set("group_size 1 gives every completion advantage 0; use group_size >= 2");
    if (c->ref_mix_every > 0 && c->ref_reset_every > 0)
        return err_set("choose one of ref_reset_every and ref_mix_every");
    return 0;
}
