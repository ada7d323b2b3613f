// The GRPO-family trainer: settings, presets and the training loop
// (rollout -> rewards -> advantages -> mu epochs of minibatch updates ->
// metrics -> checkpoints). Objectives are expressed through rl/loss.h as
// per-token coefficients; this file never differentiates anything itself.
#ifndef AHA_TRAIN_GRPO_H
#define AHA_TRAIN_GRPO_H

#include "base/options.h"
#include "model/lora.h"
#include "rollout/rollout.h"

// The learning rate after warmup: constant, or cosine down to min_lr_ratio.
typedef enum { LR_SCHEDULE_CONSTANT, LR_SCHEDULE_COSINE } GrpoLrSchedule;
// Whether sampling and training memory take turns (release_memory).
typedef enum { RELEASE_MEMORY_AUTO, RELEASE_MEMORY_ON, RELEASE_MEMORY_OFF } GrpoReleaseMemory;

typedef struct {
    // What to train and on what.
    char model[512];          // Hugging Face model directory (with tokenizer.json)
    char task[64];            // task generator name, or "" with dataset
    char dataset[512];        // JSONL dataset, or "" with task
    int difficulty;           // task difficulty; 0 cycles 1..max_difficulty
    int max_difficulty;       // 0: every level
    char out[512];            // run directory
    int steps;
    int save_every;           // 0: only at the end
    int save_total_limit;     // keep the newest N checkpoints (0: all)
    // How a run directory is entered (command line only, never in config.json).
    int restart;              // start over at step 0, deleting the run's checkpoints and logs
    int strict;               // a damaged latest checkpoint is an error, not a fallback to the previous one
    // Rollout: template, temperature, top-k/p, min-p, max_new_tokens, stop,
    // seed and threads, as every sampling command reads them.
    SampleSettings sample;
    int prompts_per_step;     // B
    int group_size;           // G
    int max_prompt_tokens;    // longer prompts are an error; 0: derived from the model
    int skip_long_prompts;    // dataset rows over max_prompt_tokens are dropped (and counted), not an error
    OptList reward;           // "name[:weight[:k=v,...]]"; none: the verifier of the problems + format:0.1
    OptList source;           // prompt sources with their own reward terms (train/grpo_sources.h); replace task/dataset
    int dynamic_sampling;     // drop zero-variance groups and refill
    int max_sampling_rounds;  // extra rounds allowed for the refill
    int overlong_filter;      // truncated completions leave the loss
    // Optimisation.
    double lr, weight_decay, adam_beta1, adam_beta2, adam_eps, max_grad_norm;
    int optim;                // OptimKind: adamw or adamw_8bit
    int lr_schedule;          // LR_SCHEDULE_* (after warmup_steps)
    int warmup_steps;
    double min_lr_ratio;
    int epochs;               // mu: passes over each rollout
    int minibatches;          // optimizer steps per pass
    int micro_batch_rows;     // rows per forward/backward; 0 = the whole minibatch
    // Objective.
    int adv_scale;            // AdvScale
    double adv_eps;
    int loss_agg;             // LossAgg
    double eps_low, eps_high, dual_clip;
    int ratio_level;          // RatioLevel
    double beta;              // KL coefficient (0: no reference model)
    int kl;                   // KlEstimator
    int ref_reset_every;      // ref <- policy every N steps (0: never)
    double ref_mix_alpha;     // ref <- a*policy + (1-a)*ref ...
    int ref_mix_every;        // ... every N steps (0: never)
    // PPO (adv_estimator gae): a critic from the policy's weights plus a value head.
    int adv_estimator;        // 0 grpo (group-relative), 1 gae (PPO critic)
    double gamma, lam;        // GAE discount and lambda
    double critic_lr;
    double value_clip;        // PPO value clipping epsilon (0: off)
    int kl_in_reward;         // KL penalty in the token rewards instead of the loss
    double hicra_alpha;       // 0: off
    char hicra_lexicon[512];  // "" = built-in lexicon
    int log_samples;          // completions kept per step in samples.jsonl
    LoraOpts lora;            // lora_r > 0: adapters on a frozen base, the reference is the base
    int gradient_checkpointing;   // keep each layer's input only; recompute the layer in the backward
    int release_memory;           // GrpoReleaseMemory
} GrpoConfig;

extern const OptDef grpo_options[];

// Defaults (the r1zero preset scaled for small models).
void grpo_defaults(GrpoConfig *c);
// Apply a named preset (r1zero, dapo, drgrpo, gspo, hicra, ppo); error lists names.
int grpo_apply_preset(GrpoConfig *c, const char *name);
const char *grpo_preset_names(void);
// Cross-field checks (task xor dataset, minibatches divide B*G, ...).
int grpo_check(const GrpoConfig *c);

// Train: a new run into cfg->out (or runs/grpo-<time>), or, with resume_dir,
// continue that run from its latest complete checkpoint (checked against its
// checksums and the run's logs; see checkpoint.h). Returns 0 or -1, and the
// message is that of the first failure.
int grpo_run(const GrpoConfig *cfg, const char *resume_dir);

#endif
