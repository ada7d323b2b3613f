// GRPO settings: the option table (names as in REFERENCE.md, TRL and verl),
// presets, and the checks that need more than one field.
#include "train/grpo.h"
#include "base/err.h"
#include "model/adamw.h"
#include "rl/loss.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const OptChoice lr_schedule_choices[] = {
    {"constant", LR_SCHEDULE_CONSTANT}, {"cosine", LR_SCHEDULE_COSINE}, {NULL, 0}};
static const OptChoice release_memory_choices[] = {
    {"auto", RELEASE_MEMORY_AUTO}, {"on", RELEASE_MEMORY_ON}, {"off", RELEASE_MEMORY_OFF}, {NULL, 0}};

#define F(x) offsetof(GrpoConfig, x)
#define S(x) F(x), sizeof(((GrpoConfig *)0)->x)
const OptDef grpo_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "policy model directory (Hugging Face layout)", NULL, NULL, 0},
    {"task", OPT_STRING, S(task), 0, 0, NULL, "task generator (see aha task --help)", NULL, NULL, 0},
    {"dataset", OPT_STRING, S(dataset), 0, 0, NULL, "JSONL dataset instead of a task", NULL, NULL, 0},
    {"difficulty", OPT_INT, F(difficulty), 0, 0, 10, NULL, "task difficulty, 0 mixes the levels", NULL, NULL, 0},
    {"max_difficulty", OPT_INT, F(max_difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "the highest level --difficulty 0 mixes (0: all); a source's max_difficulty= overrides", NULL, NULL, 0},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "run directory (default runs/grpo-<time>)", NULL, NULL, 0},
    {"steps", OPT_INT, F(steps), 0, 1, 10000000, NULL, "training steps (one rollout each)", NULL, NULL, 0},
    {"save_every", OPT_INT, F(save_every), 0, 0, 10000000, NULL, "checkpoint every N steps (0: at the end)", NULL, NULL, 0},
    {"save_total_limit", OPT_INT, F(save_total_limit), 0, 0, 10000000, NULL,
     "keep only the newest N checkpoints (0: keep all)", NULL, NULL, 0},
    {"restart", OPT_BOOL, F(restart), 0, 0, 1, NULL,
     "start the run directory over at step 0, deleting its checkpoints and logs", NULL, NULL, OPT_ARGV_ONLY},
    {"strict", OPT_BOOL, F(strict), 0, 0, 1, NULL,
     "on resume, refuse a damaged latest checkpoint instead of falling back to the newest intact one", NULL, NULL,
     OPT_ARGV_ONLY},
    {"prompts_per_step", OPT_INT, F(prompts_per_step), 0, 1, 100000, NULL, "prompts per step (B)", NULL, NULL, 0},
    {"group_size", OPT_INT, F(group_size), 0, 1, 4096, NULL, "completions per prompt (G, num_generations)", NULL, NULL, 0},
    {"max_prompt_tokens", OPT_INT, F(max_prompt_tokens), 0, 0, 1000000, NULL,
     "longest prompt accepted (max_prompt_length; 0: the model's context less max_new_tokens, at most 512)", NULL, NULL, 0},
    {"skip_long_prompts", OPT_BOOL, F(skip_long_prompts), 0, 0, 1, NULL, "drop and count dataset rows over max_prompt_tokens instead of refusing the dataset", NULL, NULL, 0},
    {"reward", OPT_LIST, F(reward), 0, 0, 0, NULL, "reward term name[:weight][:k=v,...] or rm:DIR[:weight][:k=v,...] (a reward model); start=N turns a term on after N steps (see aha reward --help; default: the task's verifier + format:0.1)", NULL, NULL, 0},
    {"source", OPT_LIST, F(source), 0, 0, 0, NULL, "a prompt source task=NAME|dataset=FILE[:weight=W][:difficulty=D][:max_difficulty=M][:name=N][:rewards=LABEL,...] with its mixing weight and its --reward terms by label (repeat for a mix; replaces task and dataset)", NULL, NULL, 0},
    {"dynamic_sampling", OPT_BOOL, F(dynamic_sampling), 0, 0, 1, NULL, "drop zero-variance groups and refill (DAPO)", NULL, NULL, 0},
    {"max_sampling_rounds", OPT_INT, F(max_sampling_rounds), 0, 0, 100, NULL, "extra sampling rounds for the refill", NULL, NULL, 0},
    {"overlong_filter", OPT_BOOL, F(overlong_filter), 0, 0, 1, NULL, "mask truncated completions out of the loss", NULL, NULL, 0},
    {"lr", OPT_DOUBLE, F(lr), 0, 0, 10, NULL, "learning rate", NULL, NULL, 0},
    {"weight_decay", OPT_DOUBLE, F(weight_decay), 0, 0, 10, NULL, "AdamW decoupled weight decay", NULL, NULL, 0},
    {"optim", OPT_ENUM, F(optim), 0, 0, 0, OPTIM_CHOICES, "optimizer state: adamw (fp32 moments) or adamw_8bit (blockwise 8-bit moments, a quarter of the memory)", NULL, NULL, 0},
    {"adam_beta1", OPT_DOUBLE, F(adam_beta1), 0, 0, 0.999999, NULL, "AdamW beta1", NULL, NULL, 0},
    {"adam_beta2", OPT_DOUBLE, F(adam_beta2), 0, 0, 0.999999999, NULL, "AdamW beta2", NULL, NULL, 0},
    {"adam_eps", OPT_DOUBLE, F(adam_eps), 0, 1e-30, 1, NULL, "AdamW epsilon", NULL, NULL, 0},
    {"max_grad_norm", OPT_DOUBLE, F(max_grad_norm), 0, 0, 1e9, NULL, "global gradient-norm clip (0: off)", NULL, NULL, 0},
    {"lr_schedule", OPT_ENUM, F(lr_schedule), 0, 0, 0, lr_schedule_choices, "learning-rate schedule after warmup", NULL, NULL, 0},
    {"warmup_steps", OPT_INT, F(warmup_steps), 0, 0, 10000000, NULL, "linear warmup (optimizer steps)", NULL, NULL, 0},
    {"min_lr_ratio", OPT_DOUBLE, F(min_lr_ratio), 0, 0, 1, NULL, "final lr / lr for cosine", NULL, NULL, 0},
    {"epochs", OPT_INT, F(epochs), 0, 1, 100, NULL, "mu: passes over each rollout", NULL, NULL, 0},
    {"minibatches", OPT_INT, F(minibatches), 0, 1, 100000, NULL, "optimizer steps per pass", NULL, NULL, 0},
    {"micro_batch_rows", OPT_INT, F(micro_batch_rows), 0, 0, 100000, NULL,
     "rows per forward/backward, gradients accumulated (0: whole minibatch)", NULL, NULL, 0},
    {"adv_scale", OPT_ENUM, F(adv_scale), 0, 0, 0, adv_scale_choices, "advantage scaling (none: Dr. GRPO)", NULL, NULL, 0},
    {"adv_eps", OPT_DOUBLE, F(adv_eps), 0, 0, 1, NULL, "added to the std of the advantage", NULL, NULL, 0},
    {"loss_agg", OPT_ENUM, F(loss_agg), 0, 0, 0, loss_agg_choices,
     "loss aggregation (loss_agg_mode)", NULL, NULL, 0},
    {"eps_low", OPT_DOUBLE, F(eps_low), 0, 0, 0.999, NULL, "clip ratio below (epsilon)", NULL, NULL, 0},
    {"eps_high", OPT_DOUBLE, F(eps_high), 0, 0, 100, NULL, "clip ratio above (epsilon_high)", NULL, NULL, 0},
    {"dual_clip", OPT_DOUBLE, F(dual_clip), 0, 0, 1000, NULL, "dual-clip c for A < 0 (0: off)", NULL, NULL, 0},
    {"ratio_level", OPT_ENUM, F(ratio_level), 0, 0, 0, ratio_level_choices, "importance ratio (sequence: GSPO)", NULL, NULL, 0},
    {"beta", OPT_DOUBLE, F(beta), 0, 0, 100, NULL, "KL coefficient (0: no reference model)", NULL, NULL, 0},
    {"kl", OPT_ENUM, F(kl), 0, 0, 0, kl_choices, "KL estimator", NULL, NULL, 0},
    {"ref_reset_every", OPT_INT, F(ref_reset_every), 0, 0, 10000000, NULL, "reference <- policy every N steps (0: never)", NULL, NULL, 0},
    {"ref_mix_alpha", OPT_DOUBLE, F(ref_mix_alpha), 0, 0, 1, NULL, "reference <- a*policy + (1-a)*reference", NULL, NULL, 0},
    {"ref_mix_every", OPT_INT, F(ref_mix_every), 0, 0, 10000000, NULL, "... every N steps (0: never)", NULL, NULL, 0},
    {"adv_estimator", OPT_ENUM, F(adv_estimator), 0, 0, 0, adv_estimator_choices, "advantages: group-relative, or GAE with a critic (PPO)", NULL, NULL, 0},
    {"gamma", OPT_DOUBLE, F(gamma), 0, 0, 1, NULL, "GAE discount", NULL, NULL, 0},
    {"lam", OPT_DOUBLE, F(lam), 0, 0, 1, NULL, "GAE lambda", NULL, NULL, 0},
    {"critic_lr", OPT_DOUBLE, F(critic_lr), 0, 0, 10, NULL, "critic learning rate (gae)", NULL, NULL, 0},
    {"value_clip", OPT_DOUBLE, F(value_clip), 0, 0, 100, NULL, "PPO value clipping epsilon (0: off)", NULL, NULL, 0},
    {"kl_in_reward", OPT_BOOL, F(kl_in_reward), 0, 0, 1, NULL, "KL penalty in the token rewards, not the loss (gae)", NULL, NULL, 0},
    {"hicra_alpha", OPT_DOUBLE, F(hicra_alpha), 0, 0, 10, NULL, "HICRA planning-token boost (0: off)", NULL, NULL, 0},
    {"hicra_lexicon", OPT_STRING, S(hicra_lexicon), 0, 0, NULL, "Strategic-Gram file (default: built-in)", NULL, NULL, 0},
    OPT_GROUP_ENTRY(GrpoConfig, sample, sample_settings_options),
    {"log_samples", OPT_INT, F(log_samples), 0, 0, 100000, NULL, "completions per step kept in samples.jsonl", NULL, NULL, 0},
    OPT_GROUP_ENTRY(GrpoConfig, lora, lora_options),
    {"gradient_checkpointing", OPT_BOOL, F(gradient_checkpointing), 0, 0, 1, NULL,
     "keep only each layer's input and recompute the layer in the backward: activations of one layer, not all, "
     "for about one more forward of work", NULL, NULL, 0},
    {"release_memory", OPT_ENUM, F(release_memory), 0, 0, 0, release_memory_choices,
     "give the training activations and the policy's bf16 copy back to the system while sampling, and the "
     "sampler's packed weights while training: on (the smallest peak, their pages taken again every step), off "
     "(both held), auto (on only when both held would not fit in MemAvailable)", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

// Every setting not named here is 0 / off / "".
static const GrpoConfig grpo_default = {
    .sample = SAMPLE_SETTINGS_DEFAULT, .steps = 100, .prompts_per_step = 8, .group_size = 8, .max_sampling_rounds = 3,
    .lr = 1e-5, .weight_decay = 0.0, .adam_beta1 = 0.9, .adam_beta2 = 0.99, .adam_eps = 1e-8, .max_grad_norm = 1.0,
    .lr_schedule = LR_SCHEDULE_CONSTANT, .min_lr_ratio = 0.1, .epochs = 1, .minibatches = 1,
    .adv_scale = ADV_SCALE_GROUP, .adv_eps = 1e-4, .loss_agg = LOSS_AGG_SEQ_MEAN_TOKEN_MEAN, .eps_low = 0.2,
    .eps_high = 0.2, .beta = 0.001, .kl = KL_K3, .ref_reset_every = 400, .log_samples = 4,
    .gamma = 1.0, .lam = 0.95, .critic_lr = 1e-5, .value_clip = 0.2, .lora = LORA_OPTS_DEFAULT};

void grpo_defaults(GrpoConfig *c) { *c = grpo_default; }

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
            AHA_ASSERT(opt_lookup(grpo_options, key, NULL) != NULL);
            if (opt_set(c, grpo_options, key, eq + 1, name) != 0) return -1;
        }
        return 0;
    }
    return err_set("unknown preset '%s' (known: %s)", name, grpo_preset_names());
}

int grpo_check(const GrpoConfig *c) {
    if (!c->model[0]) return err_set("model: a model directory is required (--model DIR)");
    if (c->source.n > 0 && (c->task[0] || c->dataset[0]))
        return err_set("source replaces task and dataset: give the problems as --source task=NAME or dataset=FILE");
    if (c->source.n > 0 && c->reward.n == 0)
        return err_set("source: give the reward terms with --reward (each source picks its own with rewards=LABEL,...)");
    if (c->source.n == 0 && !c->task[0] == !c->dataset[0]) return err_set("give exactly one of task and dataset");
    if (!(c->sample.temperature > 0))
        return err_set("temperature: GRPO needs a temperature above 0 (its log-probs are taken at that temperature)");
    long rows = (long)c->prompts_per_step * c->group_size;
    if (rows % c->minibatches != 0)
        return err_set("minibatches (%d) must divide prompts_per_step x group_size (%ld)", c->minibatches, rows);
    if (c->kl_in_reward && c->adv_estimator != ADV_ESTIMATOR_GAE) return err_set("kl_in_reward needs adv_estimator gae");
    if (c->hicra_alpha > 0 && c->adv_estimator != ADV_ESTIMATOR_GRPO) return err_set("hicra_alpha needs adv_estimator grpo");
    if (c->group_size < 2 && c->adv_scale != ADV_SCALE_NONE && c->adv_estimator == ADV_ESTIMATOR_GRPO)
        return err_set("group_size 1 gives every completion advantage 0; use group_size >= 2");
    if (c->ref_mix_every > 0 && c->ref_reset_every > 0)
        return err_set("choose one of ref_reset_every and ref_mix_every");
    if (c->lora.lora_r > 0) {
        unsigned targets;
        if (lora_targets_parse(c->lora.lora_targets, &targets) != 0) return -1;
        if (c->ref_mix_every > 0 || (c->ref_reset_every > 0 && c->ref_reset_every <= c->steps))
            return err_set("with LoRA the reference is the base model (adapters off) and never moves; pass "
                           "--ref-reset-every 0 and no --ref-mix-every");
        if (c->adv_estimator == ADV_ESTIMATOR_GAE)
            return err_set("adv_estimator gae trains a full critic; it does not combine with LoRA (lora_r > 0)");
    }
    return 0;
}
