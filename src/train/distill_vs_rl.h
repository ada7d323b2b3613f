// aha distill-vs-rl: the DeepSeek-R1 paper's comparison of distillation and
// reinforcement learning for a small model, in miniature. On the same
// held-out problems and evaluation budget it measures the student's base,
// the student after R1-Zero-style GRPO, and the student fine-tuned on the
// verified traces of an RL-trained teacher (the teacher's base and RL rows
// beside them). Run directory: config.json, teacher-rl/ and student-rl/ (aha
// zero runs), distill/ (an aha distill run from teacher-rl's last
// checkpoint), eval_distilled.jsonl and distill_vs_rl.json (the table).
#ifndef AHA_TRAIN_DISTILL_VS_RL_H
#define AHA_TRAIN_DISTILL_VS_RL_H

#include "base/options.h"

typedef struct {
    char teacher[512], student[512], out[512];
    char task[64];
    int difficulty;           // of RL prompts, traces and held-out problems
    int steps;                // GRPO steps, teacher and student alike
    int eval_problems, eval_k;
    int problems, n, max_keep;   // traces: teacher prompts (train split), samples and kept traces per prompt
    double epochs, lr;        // student SFT on the traces
    int batch;
    int threads, precision;
    int resume;               // continue OUT: finished stages are kept, an unfinished one starts over
} DistillVsRlConfig;

extern const OptDef distill_vs_rl_options[];
void distill_vs_rl_defaults(void *c);   // c: the settings struct (void *: the command table calls it)
// Run the stages, print the table on stdout, write the run directory.
// Returns 0 or -1 (err_set).
int distill_vs_rl_run(const DistillVsRlConfig *c);

#endif
