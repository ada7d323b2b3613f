// One GRPO rollout: problems -> prompts -> B x G completions -> rewards ->
// group advantages, with DAPO dynamic sampling (zero-variance groups dropped
// and refilled with a bounded number of extra rounds). Owns no model state:
// it borrows the policy, tokenizer and sampler from the trainer.
#ifndef AHA_TRAIN_ROLLOUT_H
#define AHA_TRAIN_ROLLOUT_H

#include <cjson/cJSON.h>

#include "gen/sampler.h"
#include "model/model.h"
#include "reward/reward.h"
#include "task/dataset.h"
#include "task/task.h"
#include "tok/tokenizer.h"
#include "train/grpo.h"

// Where problems come from: a task generator or a JSONL dataset, indexed by a
// global problem number so a run can resume at any point.
typedef struct {
    const TaskDef *task;
    Dataset ds;
    int use_dataset;
    uint64_t seed;
    int difficulty;          // 0: cycle 1..TASK_MAX_DIFFICULTY by index
    int *perm;               // dataset order for the current epoch (ds.n)
    long perm_epoch;
} ProblemSource;

int problems_open(ProblemSource *ps, const char *task, const char *dataset, uint64_t seed, int difficulty);
void problems_close(ProblemSource *ps);
// Problem number index: prompt text, gold answer (may be NULL) and its JSON
// object (task fields; caller deletes). Returns 0 or -1.
int problems_get(ProblemSource *ps, long index, char **prompt, char **answer, cJSON **json, int *difficulty);

// A group: one prompt and its G completions.
typedef struct {
    long index;              // global problem number (random key)
    int difficulty;
    char *prompt_text;       // rendered with the template
    char *answer;            // gold (may be NULL)
    cJSON *task;             // problem JSON
    int *prompt_ids;         // (prompt_len)
    int prompt_len;
} RolloutGroup;

// One completion of a group.
typedef struct {
    int group;               // index into groups
    int *ids;                // (n) completion tokens
    float *logp;             // (n) sampler log-probs at the sampling temperature
    int n;
    int truncated;           // finished by length
    char *text;              // decoded completion (NUL-terminated)
    double reward;
    double components[REWARD_MAX_TERMS];
    float adv;
} RolloutRow;

typedef struct {
    int n_groups, G;
    RolloutGroup *groups;    // (n_groups)
    RolloutRow *rows;        // (n_groups * G)
    int zero_std_groups;     // among the groups sampled in the first round
    int rounds;              // sampling rounds used
    long next_index;         // first problem number not yet used
    long tokens;             // completion tokens sampled (all rounds)
    double t_sample, t_reward;
} Rollout;

typedef struct {
    const GrpoConfig *cfg;
    const Model *policy;
    const Tokenizer *tok;
    Sampler *sampler;
    ProblemSource *problems;
    const RewardSpec *rewards;
    int max_prompt_len;      // prompts longer than this are an error
    int eos_id;
} RolloutCtx;

// Sample the rollout of RL step `step` starting at problem number first_index.
// Returns 0, or -1 (err_set). Free with rollout_free.
int rollout_run(Rollout *ro, const RolloutCtx *ctx, long step, long first_index);
void rollout_free(Rollout *ro);

#endif
