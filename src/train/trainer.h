// The GRPO trainer's state, shared by the loop (grpo.c), checkpoints
// (checkpoint.h) and the PPO critic (ppo.h). Everything a resumed run needs is
// here.
#ifndef AHA_TRAIN_TRAINER_H
#define AHA_TRAIN_TRAINER_H

#include <stdint.h>

#include "model/adamw.h"
#include "model/forward.h"
#include "reward/code.h"
#include "report/log.h"
#include "rl/hicra.h"
#include "rollout/problems.h"
#include "rollout/rollout.h"
#include "train/grpo.h"
#include "train/grpo_sources.h"

typedef struct Critic Critic;   // train/ppo.h

// One step's statistics, gathered while building the batch and training.
typedef struct {
    double reward_sum, reward_sq, comp_sum[REWARD_MAX_TERMS], correct, len_sum, truncated, reflections;
    int len_min, len_max;
    double plan_tokens, comp_tokens, loss_tokens;
    double policy_loss, kl_sum, clip_low, clip_high, ent_sum, grad_norm, lr;
    double t_ref, t_train, t_opt, t_comm, train_tokens;   // t_comm: the gradient sum over ranks
    double vf_loss, vf_clipfrac;
    double t_sample, t_reward, rollout_tokens;   // this step's share of the rollout totals
    double step_time;
    // Per prompt source (mixed runs): kept groups, rows, reward and term sums, correct rows.
    double src_groups[GRPO_MAX_SOURCES], src_rows[GRPO_MAX_SOURCES], src_reward[GRPO_MAX_SOURCES];
    double src_correct[GRPO_MAX_SOURCES], src_comp[GRPO_MAX_SOURCES][REWARD_MAX_TERMS];
    RewardCodeSummary code;   // the code reward's reports of the batch's rows
} StepStats;

typedef struct Trainer {
    GrpoConfig cfg;
    char run_dir[1024];
    char tok_dir[1024];       // where tokenizer.json was read (copied into checkpoints)
    Model policy;             // with gradients
    Model ref;                // no gradients; used when cfg.beta > 0 without LoRA; bf16 only in bf16
                              // unless ref_mix_every mixes (model_create_bf16)
    int has_ref;              // a reference: ref, or with LoRA the policy with its adapters off
    Lora lora;                // adapters the policy carries (cfg.lora.lora_r > 0); the base is frozen
    int has_lora;
    int ref16;                // ref is held in bf16 only
    int release_memory;       // sampling and training memory take turns (activations, bf16 copy, packed weights)
    int resuming;             // opened on a checkpoint, which checkpoint_restore then reads
    int ref_moved;            // ref differs from the starting weights (saved in checkpoints)
    Tokenizer *tok;
    ModelActs *acts;          // micro-batch rows x max_T
    AdamW opt;
    Lexicon *lexicon;         // Strategic Grams (HICRA and planning metrics)
    Critic *critic;           // PPO critic (cfg.adv_estimator == gae), else NULL
    ProblemSource problems;   // train split, or the dataset (without sources)
    GrpoSources sources;      // the prompt mix (cfg.source), n 0 without
    int sources_synced;       // their counts follow next_index (set at the first step, after a resume)
    int *slot_source;         // (B) the source of each rollout slot's problem
    uint32_t *slot_terms;     // (B) its reward terms
    int *slot_verifier;       // (B) its verifier term or -1
    Rollout ro;               // B groups of G completions, scored; reused every step
    int *keep;                // (B) rollout slots kept for training, in the order they were kept
    uint8_t *slot_used;       // (B) slot holds a kept group this step
    int *slots;               // (B) slots sampled in one round
    int n_kept;               // groups kept this step
    int zero_std_groups;      // first-round groups whose rewards were all equal
    int rounds;               // sampling rounds this step
    float *row_reward, *row_adv;   // (B*G) per kept row, in training order
    int max_T;                // max_prompt_tokens + max_new_tokens
    int mb_rows;              // rows per minibatch (one optimizer step)
    int micro_rows;           // rows per forward/backward (gradient accumulation)
    // Per-step work arrays, (B*G, max_T) unless noted, allocated once.
    int *ids, *lens;          // (rows, max_T), (rows)
    uint8_t *mask;
    float *adv, *old, *refp, *logp, *ent, *g;
    uint8_t *plan;            // (B*G, max_new_tokens) planning marks of each completion
    int *tok_off;             // (max_new_tokens + 1)
    char *raw;                // (max_new_tokens * 64) raw bytes of one completion
    double *gram_counts;      // (lexicon size)
    // Progress.
    long step;                // steps completed
    long next_index;          // next problem number
    long num_tokens;          // tokens trained on so far (TRL num_tokens)
    long metrics_lines, samples_lines;
    JsonlWriter metrics, samples;
    StepStats stats;          // of the last step
} Trainer;

// The loop's pieces, for grpo_run and for programs that drive it step by step.
// trainer_open loads weights_dir and sizes every buffer (it opens no run
// directory and no logs); trainer_step runs one step (rollout, advantages,
// updates) into t->stats and allocates nothing itself once the buffers sized
// by use (prompt and completion text, the tokenizer's word cache) have grown
// to the run's prompts, in practice from the second step on;
// trainer_log_step writes that step's metrics and samples lines (the writers
// must be open) and a progress line into line. Return 0 or -1 after err_set;
// trainer_close frees whatever trainer_open got, also after a failure.
int trainer_open(Trainer *t, const GrpoConfig *cfg, const char *weights_dir);
// What the optimizer updates: the adapters with LoRA, else the whole policy.
static inline Model *trainer_trainable(Trainer *t) { return t->has_lora ? &t->lora.ad : &t->policy; }
// Row i of the training batch (kept groups in the order they were kept).
static inline const RolloutRow *batch_row(const Trainer *t, int i, const RolloutGroup **group) {
    int G = t->cfg.group_size, slot = t->keep[i / G];
    *group = &t->ro.groups[slot];
    return &t->ro.rows[(size_t)slot * G + i % G];
}
int trainer_step(Trainer *t);
// ref = the policy's current weights (rounded to bf16 for a bf16-only ref).
void trainer_reset_reference(Trainer *t);
int trainer_log_step(Trainer *t, char *line, size_t cap);
void trainer_close(Trainer *t);

#endif
