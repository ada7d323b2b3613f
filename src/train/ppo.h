// PPO's critic beside the GRPO trainer: a copy of the policy's trunk with a
// scalar value head and their optimizer, GAE advantages from its values, and
// its part of a checkpoint (critic/). Only the gae advantage estimator uses it.
#ifndef AHA_TRAIN_PPO_H
#define AHA_TRAIN_PPO_H

#include "model/adamw.h"
#include "model/model.h"
#include "train/trainer.h"

// Letters: C hidden of the trunk, rows = B*G, T = max_T.
struct Critic {
    Model model;                                 // the trunk, with gradients
    AdamW opt;                                   // the trunk's optimizer (lr critic_lr)
    float *head_w, *head_gw, *head_m, *head_v;   // (C + 1) value head: weights then bias; gradient, moments
    float *values, *values_old, *returns_, *rew_tok, *dvalues;   // (rows, T)
};

// Create t->critic from the policy (trunk copied, head from cfg.seed).
// Returns 0, or -1 (err_set); ppo_close frees what was made either way.
int ppo_open(Trainer *t);
// Free t->critic (if any) and set it to NULL.
void ppo_close(Trainer *t);
// GAE advantages over rows [0, n) into t->adv: values from the critic, rewards
// at each row's last token, KL in the reward when asked, whitened over the
// batch. Returns 0 or -1.
int ppo_advantages(Trainer *t, const float *row_reward, int n);
// One critic update on rows [start, start + R); adds its loss and clip
// fraction to *vf_loss and *vf_clipfrac. Returns 0 or -1.
int ppo_critic_update(Trainer *t, int start, int R, double *vf_loss, double *vf_clipfrac);
// Write / read dir/critic/ (trunk, AdamW state, head and its moments). 0 or -1.
int ppo_save(const Trainer *t, const char *dir);
int ppo_restore(Trainer *t, const char *dir);

#endif
