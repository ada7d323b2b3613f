// aha rm: train a reward model on a JSONL dataset (train/rm_data.h shapes)
// with a held-out split, or score JSONL completions with one. A run directory
// holds config.json (the settings), metrics.jsonl and model/ (the reward
// model, train/rm.h layout). metrics.jsonl has per log window {"step",
// "loss", "accuracy", "margin", "learning_rate", "grad_norm", "epoch",
// "seconds"} and per evaluation {"step", "eval_loss", "eval_accuracy",
// "eval_margin", "epoch"}: accuracy counts pairs with r_c > r_r, or labelled
// rows with (r > 0) = label; margin is the mean r_c − r_r, or the mean r of
// label-1 rows minus that of label-0 rows. With --save-steps N,
// checkpoints/step_N/ (the reward model, its optimizer, the data order's place)
// every N updates, and --resume continues the run from the newest one bit for
// bit. Under MPI (base/dist.h) the ranks share each update's micro-batches and
// end with one process's model, whatever the rank count, resumes included.
#ifndef AHA_TRAIN_RM_RUN_H
#define AHA_TRAIN_RM_RUN_H

#include "base/options.h"

enum { RM_ACTION_TRAIN = 0, RM_ACTION_SCORE = 1, RM_ACTION_PAIRS = 2, RM_ACTION_LABELS = 3 };

typedef struct {
    int action;               // RM_ACTION_*
    char model[512];          // train: a causal LM to start from; score: a reward model
    char dataset[512];        // train: rows to learn
    char input[512];          // score: rows to score ("-": stdin)
    char out[512];            // train: the run directory; score: JSONL out ("-": stdout)
    char template_name[32];   // train: prompts of text rows
    int skip_long;
    double epochs;
    int max_steps;            // 0: from epochs
    int batch, micro_batch;   // rows (pairs) per update; per forward (0: batch)
    double lr, min_lr_ratio, weight_decay;
    int optim;                // OptimKind (the head keeps fp32 moments)
    int warmup;
    double eval_ratio;
    int eval_every, log_every, seed, threads, precision;
    int bf16;
    int save_steps;           // train: updates between checkpoints (0: none)
    int resume;               // train: continue OUT from its newest checkpoint (the settings must be OUT's)
    int per_prompt;           // pairs, labels: rows of one prompt at most (train/rm_rows.h)
} RmRunConfig;

extern const OptDef rm_run_options[];
void rm_run_defaults(void *c);
// Train, score, or make on-policy rows (train/rm_rows.h) as c->action says. Everything is read and checked before the
// run directory is created. Returns 0 or -1 (err_set).
int rm_run(const RmRunConfig *c);

#endif
