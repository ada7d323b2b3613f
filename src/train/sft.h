// Supervised training on token sequences (pretraining, cold-start SFT,
// distillation): every target token gets g = -1/N, N the targets in the batch,
// so the update descends the mean next-token cross-entropy. AdamW with warmup
// and cosine decay. It never tokenizes: examples arrive as ids.
#ifndef AHA_TRAIN_SFT_H
#define AHA_TRAIN_SFT_H

#include <stdint.h>
#include <stdio.h>

#include "model/forward.h"
#include "model/model.h"

typedef struct {
    const int *ids;   // (len) prompt then completion (then EOS)
    int len;          // >= 2
    int n_prompt;     // leading tokens that are context only when prompt_loss is 0
    const unsigned char *train;   // (len) 1 where a token is a target when prompt_loss is 0,
                                  // for several trained spans (chat turns); NULL: after n_prompt
} SftExample;

typedef struct {
    int steps;              // optimizer updates
    int batch_rows;         // examples per update (at most, with batch_tokens)
    long batch_tokens;      // > 0: an update stops before the example that would pass this many
                            // tokens (it always takes one)
    int micro_rows;         // examples per forward/backward (gradients accumulate); 0: batch_rows
    double lr, min_lr_ratio, weight_decay, clip_norm, beta2;
    int optim;                // OptimKind
    int warmup_steps;
    uint64_t seed;          // example order
    int prompt_loss;        // 1: prompt tokens are targets too (pretraining)
    const char *log_path;   // JSONL loss log (one line per log_every updates), or NULL
    int log_every;
    const SftExample *eval; // held-out examples scored every eval_every updates and at the end
    int n_eval;
    int eval_every;
    const char *label;      // of the progress line
    const char *ckpt_dir;   // checkpoints/step_N/ (weights, tokenizer, optimizer, trainer_state.json)
    int save_every;         // go here every save_every updates and at the end (0 or NULL: none)
    int save_total_limit;   // keep the newest N checkpoints (0: all)
    const char *tokenizer_dir;   // copied into each checkpoint
    const char *resume_from;     // a checkpoint of this run whose weights m holds: continue it
                                 // bit for bit (the log is cut back to it), or NULL
    FILE *progress;         // progress line, or NULL for silence
    int gradient_checkpointing;  // activations of one layer: the backward recomputes each layer
} SftConfig;

// steps 1000, batch 32, lr 3e-3 (cosine to 0.1x after 50 warmup), wd 0.01, clip 1,
// beta2 0.99, prompt_loss 1, log every 10, no eval set.
void sft_defaults(SftConfig *c);

typedef struct {
    double first_loss, last_loss;   // mean over the first / last log window
    double seconds;
    long tokens;                    // target tokens trained on
    long input_tokens;              // tokens fed to the model (TRL's num_tokens)
    double eval_loss;               // mean over the eval set at the end (0 without one)
} SftResult;

// Train m (created with gradients) on n examples, cycling through them in a
// seeded shuffled order (a new order each epoch). The log has TRL's names: per
// log window {"step", "loss", "learning_rate", "grad_norm", "num_tokens",
// "mean_token_accuracy", "epoch", "seconds"} (num_tokens counts every token fed,
// the accuracy is over targets: the share that are their position's argmax),
// and per evaluation {"step", "eval_loss", "eval_mean_token_accuracy", "epoch"}.
// Returns 0, or -1 (err_set) on a bad example, memory, a non-finite loss or a
// log write failure.
int sft_train(Model *m, const SftExample *ex, int n, const SftConfig *c, SftResult *res);
// The updates that cover epochs passes over the n examples under c's batch
// limits and order (seed). Returns the count, or -1 (out of memory).
long sft_updates_for(const SftExample *ex, int n, const SftConfig *c, double epochs);

// order = a seeded permutation of 0..n-1, a different one for each epoch.
void sft_shuffle(int *order, int n, uint64_t seed, long epoch);
// The held-out split of n rows: order (n) a seeded permutation whose last
// n_eval entries are held out; returns n_eval = round(eval_ratio * n), at
// least 1 when eval_ratio > 0.
int sft_split(int *order, int n, double eval_ratio, uint64_t seed);

// Forward and backward buffers for up to rows examples of up to T tokens.
typedef struct {
    ModelActs *acts;
    int rows, T;
    int *ids, *lens;    // (rows, T), (rows)
    float *logp, *g;    // (rows, T) each
    float *logits;      // (V) scratch
} SftBatch;

// recompute: gradient checkpointing (model_acts_create_opts). 0 or -1.
int sft_batch_init(SftBatch *b, Model *m, int rows, int T, int recompute);
void sft_batch_free(SftBatch *b);
// Target tokens of e: those after the prompt (or marked in e->train), or all but
// the first with prompt_loss.
int sft_targets(const SftExample *e, int prompt_loss);
// Forward n <= b->rows examples and add Σ -logp over their targets to *nll and
// the targets that are the argmax of their position's logits to *correct.
// With N > 0 also backpropagate -(1/N) Σ logp over the targets into m->grads
// (accumulating: micro-batches of one update share the N of the whole batch);
// b->g then holds dLoss/dlogp, exactly 0 at every position that is not a target.
int sft_batch_pass(Model *m, SftBatch *b, const SftExample *const *ex, int n, int prompt_loss, long N, double *nll,
                   long *correct);

#endif
