// Checkpoints of a GRPO run: saving checkpoints/step_N/, finding the latest
// complete one, and restoring a trainer from it for a bit-exact resume.
#ifndef AHA_TRAIN_CHECKPOINT_H
#define AHA_TRAIN_CHECKPOINT_H

#include <stddef.h>

#include "train/trainer.h"

// Write checkpoints/step_<step>/ (model, tokenizer, optimizer, trainer state,
// reference weights when they moved, the critic under PPO) under a temporary
// name, fsynced, then renamed, and point checkpoints/latest at it. Returns 0 or -1.
int checkpoint_save(Trainer *t);
// The directory of the latest complete checkpoint of a run ("" if none).
int checkpoint_latest(const char *run_dir, char *out, size_t cap);
// Restore optimizer, reference and progress counters from a checkpoint into a
// trainer whose policy was loaded from the same directory. Returns 0 or -1.
int checkpoint_restore(Trainer *t, const char *ckpt_dir);

#endif
