// aha distill: a teacher's verified traces (rejection sampling) as the SFT set
// of a student, in one resumable run directory: config.json (the settings),
// traces.jsonl and traces.jsonl.stats.json (stage 1, train/rejection.h) and
// sft/ (stage 2, train/sft_run.h; sft/model/ is the distilled student). The
// two exchange text only, so the student may have another size and tokenizer.
#ifndef AHA_TRAIN_DISTILL_H
#define AHA_TRAIN_DISTILL_H

#include "base/options.h"
#include "eval/eval.h"
#include "rollout/rollout.h"

typedef struct {
    char teacher[512], student[512], out[512];
    ProblemChoice src;        // the teacher's prompts
    int n, max_keep;          // samples per prompt; kept per prompt at most
    OptList require;          // checks every kept trace passes
    SampleSettings sample;    // the teacher's sampling (seed and threads serve both stages)
    double epochs;            // student SFT: passes over the traces
    int max_steps;            // 0: from epochs
    int batch;                // rows per update
    double lr;
    int save_steps;           // updates between student checkpoints (0: none)
    int skip_long;            // drop traces the student's context cannot hold instead of refusing
    int resume;               // continue OUT (the settings must be OUT's)
} DistillConfig;

extern const OptDef distill_options[];
void distill_defaults(void *c);   // c: the settings struct (void *: the command table calls it)
// Stage 1 unless OUT holds its traces, then stage 2 (resumed from its newest
// checkpoint when it has one). Returns 0 or -1 (err_set).
int distill_run(const DistillConfig *c);

#endif
