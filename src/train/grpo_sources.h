// All-scenario RL's prompt mix: several prompt sources (a task or a dataset),
// each with its own reward terms (chosen by label among the run's --reward
// terms) and a mixing weight. Problem number i comes from source s with
// probability weight_s / Σ weight, drawn from (seed, i) alone, so a resumed
// run draws the same mix.
#ifndef AHA_TRAIN_GRPO_SOURCES_H
#define AHA_TRAIN_GRPO_SOURCES_H

#include <stdint.h>

#include "base/options.h"
#include "reward/reward.h"
#include "rollout/problems.h"

#define GRPO_MAX_SOURCES 8

typedef struct {
    char name[64];           // name=, else the task or the dataset file's stem
    char task[64], dataset[512];
    ProblemSource ps;
    int open;
    double weight;
    uint32_t terms;          // bit k: reward term k scores this source's completions
    int verifier_term;       // the term whose 1 means correct (the problems' verifier), or -1
    long taken;              // problems drawn from it so far
} GrpoSource;

typedef struct {
    int n;
    GrpoSource src[GRPO_MAX_SOURCES];
    double total_weight;
    uint64_t seed;
} GrpoSources;

// Parse and open specs "task=NAME|dataset=FILE[:weight=W][:difficulty=D]
// [:name=N][:rewards=LABEL,LABEL,...]" (rewards last, every term when absent;
// labels as RewardTerm.label: "math", "rm:helpful"). A source whose verifier
// (the task's, "math" for datasets) is not among its terms gets it appended to
// rewards with weight 0: its correctness is judged and logged, never paid.
// Returns 0, or -1 after err_set naming the spec and the field (what was
// opened is closed).
int grpo_sources_open(GrpoSources *S, const OptList *specs, RewardSpec *rewards, int difficulty, int max_difficulty,
                      uint64_t seed);
void grpo_sources_close(GrpoSources *S);
// The source of problem number index.
int grpo_sources_pick(const GrpoSources *S, long index);
// Problem number index from its source into *p (*source: which). 0 or -1.
int grpo_sources_get(GrpoSources *S, long index, PromptProblem *p, int *source);
// The taken counts after problems 0..next_index-1 were drawn (a resumed run).
void grpo_sources_replay(GrpoSources *S, long next_index);

#endif
