// Reward models as reward terms: opens the model of every "rm:DIR" term of a
// RewardSpec and scores completions with it in batches. The model reads text:
// the question (RewardInput.prompt) rendered with the template it was trained
// with, then the part of the completion its view selects, then its EOS, all
// encoded with its own tokenizer; so a reward model whose tokenizer differs
// from the policy's is allowed. Options: view=all (the whole completion) or
// view=answer (the answer region the rule rewards read, reward/text.h: after
// the last </think>, all of it without think tags); norm=none (the raw score r), sigmoid (σ(r)) or batch (r standardised
// over the completions scored together: one step's rows of the term's
// source); batch=N sequences per forward (default 16).
#ifndef AHA_TRAIN_RM_REWARD_H
#define AHA_TRAIN_RM_REWARD_H

#include "reward/reward.h"

// Open the model of every rm term of spec (each term owns its own), checking
// its options. policy_tok_dir (may be NULL): a policy whose tokenizer.json
// differs from a reward model's gets a line on stderr saying that completions
// are scored through text. Returns 0, or -1 after err_set naming the term
// (what was opened is closed).
int rm_reward_open(RewardSpec *spec, const char *policy_tok_dir);
void rm_reward_close(RewardSpec *spec);

#endif
