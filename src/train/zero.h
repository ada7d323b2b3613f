// aha zero: R1-Zero on a laptop. Held-out evaluation of the bundled base model,
// GRPO with the r1zero preset (scaled to the tiny model) and the task's verifier
// as the only reward besides format, then the same evaluation of the result.
// It never trains on test-split problems: rollouts draw from the train split.
#ifndef AHA_TRAIN_ZERO_H
#define AHA_TRAIN_ZERO_H

#include "base/options.h"
#include "eval/eval.h"
#include "rollout/rollout.h"

typedef struct {
    char model[512];        // base model directory
    char task[64];
    int difficulty;
    char out[512];          // run directory ("" = runs/zero-<timestamp>)
    int steps;              // GRPO steps
    int prompts_per_step, group_size;
    double lr, beta;
    int eval_problems, eval_k;
    SampleSettings sample;  // rollouts; the evaluations take its template, max_new_tokens and threads at T 0.6, top-p 0.95
} ZeroConfig;

extern const OptDef zero_options[];
void zero_defaults(void *c);   // c: the settings struct (void *: the command table calls it)

// Run it; prints the before/after table on stdout and writes RUN_DIR/zero.json
// ({"before": {...}, "after": {...}}, eval keys), eval_before.jsonl,
// eval_after.jsonl, the GRPO run files and report.html. Returns 0 or -1.
int zero_run(const ZeroConfig *c);
// The held-out evaluation zero_run makes before and after, of another model:
// prints it and writes RUN_DIR/eval_<name>.jsonl. Returns 0 or -1.
int zero_evaluate(const ZeroConfig *c, const char *model, const char *run_dir, const char *name, EvalResult *r);

#endif
