// aha r1: the DeepSeek-R1 recipe in miniature, one stage after another in one
// run directory, each stage in its own subdirectory with its model, data,
// metrics and held-out evaluation (stage.json, written last, marks it done):
//   0-base           the base model, evaluated
//   0-zero           R1-Zero: GRPO from the base (math + format), the RL budget of stage 2
//   0-zero-language  the same with the language-consistency reward added (the paper's
//                    ablation; --no-ablation leaves it out)
//   1-cold-start     rejection sampling of the base (correct, formatted, one language,
//                    untruncated) on train prompts, then SFT of the base on the kept rows
//   2-reasoning-rl   GRPO from stage 1 with math, format and the language-consistency reward
//   3-rejection-sft  rejection sampling of stage 2 plus general (chat) demonstrations,
//                    then SFT of the base model (not stage 2) on the mix
//   4-all-scenario   helpfulness and safety reward models trained from stage 3 on chat
//                    pairs (hard ones among them) and labels plus stage 3's own judged
//                    answers, then GRPO from stage 3 on sums (rules) and chat prompts
//                    (format and the reward models)
//   5-distill        a smaller student fine-tuned on stage 4's verified traces (aha distill)
// RUN/r1.json holds one row per stage.
#ifndef AHA_TRAIN_R1_H
#define AHA_TRAIN_R1_H

#include "base/options.h"

#include <stdio.h>

enum { R1_STAGES = 6 };   // --from-stage takes 0 .. R1_STAGES - 1

// Stages 1 and 3: rejection sampling, then SFT.
typedef struct {
    int problems, n, max_keep;   // train-split prompts, samples and kept samples per prompt
    int max_difficulty;          // of the prompts with difficulty 0 (0: the run's)
    double min_language;         // share of chain-of-thought words in the target language to keep a sample
    int steps;                   // SFT updates (0: from epochs)
    double epochs, lr;
    int batch;
    int general;                 // stage 3: general (chat) demonstrations mixed in
} R1SftStage;

// Stage 2 (and R1-Zero with the same budget): GRPO.
typedef struct {
    int steps;                   // 0: the global --steps
    double lr;
    int prompts_per_step, group_size;
    double language_weight;      // weight of language:target=LANG (0: left out)
} R1RlStage;

// Stage 4: reward models, then GRPO over two prompt sources.
typedef struct {
    int steps;                   // GRPO steps (0: the global --steps)
    int prompts_per_step;
    double lr, beta, temperature;
    double chat_weight;          // the chat source's share of prompts against the reasoning task's 1
    int rm_pairs, hard_pairs;    // task pairs, and hard ones (right shape, wrong name or word)
    int rm_labels;               // safety labels
    int onpolicy_problems;       // train chat prompts stage 3 answers (8 samples each) for on-policy rows
    int rm_steps, safety_steps;  // updates of the helpfulness and the safety reward model
    int rm_batch;
    double rm_lr;
} R1AllStage;

// Stage 5: distillation of stage 4's model into a student.
typedef struct {
    char student[512];           // student model directory
    int problems, n, max_keep;   // teacher prompts (train split), samples and kept traces per prompt
    int max_difficulty;          // of the prompts with difficulty 0 (0: the run's)
    int steps;                   // student SFT updates (0: from epochs)
    double epochs, lr;
    int batch;
} R1DistillStage;

typedef struct {
    char model[512];             // the base model directory
    char out[512];               // run directory ("" = runs/r1-<time>)
    char resume[512];            // continue this run: finished stages are kept (command line only)
    char config[512];            // JSON settings, sections per stage (command line only)
    int from_stage;              // rerun from this stage, the earlier ones read from --out (command line only)
    char task[64];               // reasoning task
    int difficulty;              // of training prompts (0 cycles 1..max_difficulty)
    int max_difficulty;          // 0: 5
    int ablation;                // run 0-zero-language
    char lang[8];                // the target language of chains of thought
    int steps;                   // GRPO steps of each RL stage
    int eval_problems, eval_k, eval_difficulty, chat_problems;
    int max_new_tokens;
    int seed, threads;
    R1SftStage s1, s3;
    R1RlStage s2;
    R1AllStage s4;
    R1DistillStage s5;
    OptSeen seen;                // the settings the command line gave (they win over --config)
} R1Config;

extern const OptDef r1_options[];
void r1_defaults(void *c);   // c: the settings struct (void *: the command table calls it)
// Settings from c->config (when given) under the flags recorded in c->seen.
// Returns 0, or -1 after err_set naming the file and key.
int r1_apply_config(R1Config *c);
// Run the stages, print the table, write RUN/r1.json and RUN/report.html.
// Returns 0 or -1 (err_set).
int r1_run(const R1Config *c);
// r1.json's row of a stage from its stage.json (train/r1_report.c); the caller
// deletes it.
cJSON *r1_row(const cJSON *stage);
// The table of r1.json's rows: held-out numbers, pass@1 by difficulty, and
// the RL stages' training accuracy at steps 10 and 20.
void r1_print_table(FILE *f, const cJSON *rows);
// RUN/report.html (train/r1_report.c): the rows of r1.json as a table, the
// held-out numbers across stages and the training accuracy of R1-Zero beside
// stage 2's as charts, written atomically. Returns 0 or -1 (err_set).
int r1_report_write(const char *run, const cJSON *rows);

#endif
