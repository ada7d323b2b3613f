// Supervised training on token sequences (pretraining, cold-start SFT,
// distillation): every target token gets g = -1/N, N the targets in the batch,
// so the update descends the mean next-token cross-entropy. AdamW with warmup
// and cosine decay. It never tokenizes: examples arrive as ids.
#ifndef AHA_TRAIN_SFT_H
#define AHA_TRAIN_SFT_H

#include <stdint.h>
#include <stdio.h>

#include "model/model.h"

typedef struct {
    const int *ids;   // (len) prompt then completion (then EOS)
    int len;          // >= 2
    int n_prompt;     // leading tokens that are context only when prompt_loss is 0
} SftExample;

typedef struct {
    int steps;              // optimizer updates
    int batch_rows;         // examples per update
    double lr, min_lr_ratio, weight_decay, clip_norm, beta2;
    int warmup_steps;
    uint64_t seed;          // example order
    int prompt_loss;        // 1: prompt tokens are targets too (pretraining)
    const char *log_path;   // JSONL loss log (one line per log_every updates), or NULL
    int log_every;
    FILE *progress;         // progress line, or NULL for silence
} SftConfig;

// steps 1000, batch 32, lr 3e-3 (cosine to 0.1x after 50 warmup), wd 0.01, clip 1,
// beta2 0.99, prompt_loss 1, log every 10.
void sft_defaults(SftConfig *c);

typedef struct {
    double first_loss, last_loss;   // mean over the first / last log window
    double seconds;
    long tokens;                    // target tokens trained on
} SftResult;

// Train m (created with gradients) on n examples, cycling through them in a
// seeded shuffled order. Returns 0, or -1 (err_set) on a bad example, memory,
// a non-finite loss or a log write failure.
int sft_train(Model *m, const SftExample *ex, int n, const SftConfig *c, SftResult *res);

#endif
