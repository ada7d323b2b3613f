// Evaluation as the R1 paper reports it: k samples per held-out problem at
// temperature 0.6 / top-p 0.95; pass@1 (mean correctness over the k), cons@k
// (majority vote over normalised final answers), unbiased pass@k, completion
// length overall and by difficulty, reflection words per 1k tokens. Correctness
// is the task's own verifier; this module never trains.
#ifndef AHA_EVAL_EVAL_H
#define AHA_EVAL_EVAL_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/options.h"
#include "rollout/rollout.h"
#include "task/task.h"

// Which problems a sampling command runs over: a settings group.
typedef struct {
    char task[64];          // task generator, or "" with dataset
    char dataset[512];      // JSONL dataset (verified with the math reward)
    char split[8];          // train | test (task only)
    int difficulty;         // 0: cycle 1..max_difficulty over problems
    int max_difficulty;     // 0: 5
    int problems;           // n problems (dataset: the first n; 0 = all of it)
    int skip_long_prompts;  // dataset rows too long for the context are dropped (and counted), not an error
} ProblemChoice;

extern const OptDef problem_choice_options[];

typedef struct {
    char model[512];        // model directory (config.json, weights, tokenizer.json)
    ProblemChoice src;
    int k;                  // samples per problem
    SampleSettings sample;  // template, T, top-p, max_new_tokens, seed (problems and sampling key), threads
    int batch;              // problems per sampler call
    char json[512];         // write the summary here ("" = no)
    char samples[512];      // write every completion as JSONL here ("" = no)
    OptSeen seen;           // the settings the command line gave (over the model's generation_config.json)
} EvalConfig;

extern const OptDef eval_options[];
// k 8, T 0.6, top-p 0.95, test split, 50 problems, 96 new tokens, r1zero, seed 1234.
void eval_defaults(void *c);   // c: the settings struct (void *: the command table calls it)

typedef struct {
    int k, n_problems;
    long skipped_long_prompts;   // dataset rows dropped as too long (skip_long_prompts)
    double pass1;            // mean over problems of (correct samples / k)
    double cons;             // fraction of problems whose majority answer is correct
    double passk;            // mean unbiased pass@k (with n = k samples this is "any correct")
    double mean_length;      // completion tokens (EOS not counted)
    double reflection_per_1k;
    double format_rate;      // completions with one <think>…</think> then <answer>…</answer>
    double language_mixing;  // completions whose chain of thought has words in two or more scripts
    double truncated;        // completions that hit max_new_tokens
    long tokens;
    int n_by_diff[TASK_MAX_DIFFICULTY + 1];         // index 0: dataset problems
    double pass1_by_diff[TASK_MAX_DIFFICULTY + 1];
    double length_by_diff[TASK_MAX_DIFFICULTY + 1];
    double seconds;
} EvalResult;

// Open the problems pc names for command cmd (task problems keyed by s->seed, dataset rows in
// file order) once every dataset prompt is checked against the model's
// context less s->max_new_tokens (over-long rows refused naming FILE:LINE, or
// dropped, counted in *skipped and reported on stderr). *n receives the
// problem count, *max_prompt the longest prompt in tokens (BOS included).
// Returns 0, or -1 after err_set.
int eval_open_problems(const ProblemChoice *pc, const char *cmd, const SampleSettings *s, const Model *m,
                       const Tokenizer *tok, ProblemSource *ps, int *n, long *skipped, int *max_prompt);

// Load the model and evaluate it. Returns 0 or -1 (err_set).
int eval_run(const EvalConfig *c, EvalResult *r);

// {"pass@1", "cons@k", "pass@k", "k", "n_problems", "skipped_long_prompts", "mean_length",
//  "reflection_per_1k", "format_rate", "language_mixing", "truncated", "tokens",
//  "by_difficulty": {"2": {"n", "pass@1", "mean_length"}, ...}}. NULL when out of memory.
cJSON *eval_result_json(const EvalResult *r);

// The console table.
void eval_print(FILE *f, const EvalResult *r);

#endif
