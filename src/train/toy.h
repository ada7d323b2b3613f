// The smallest GRPO: a softmax policy over K strategies with hidden success
// rates. Each step samples a group of G strategies, scores each with a coin
// flip at its success rate, forms group-relative advantages and takes a policy
// gradient step. Strategies that do not pay are forgotten. No model, no text.
#ifndef AHA_TRAIN_TOY_H
#define AHA_TRAIN_TOY_H

#include <stdint.h>
#include <stdio.h>

#define TOY_MAX_K 16

typedef struct {
    int k;                       // strategies
    double rate[TOY_MAX_K];      // hidden success probability of each
    int group;                   // G samples per step
    double lr;                   // step size on the logits
    int steps;
    uint64_t seed;
    int print_every;             // 0: no per-step output
} ToyOpts;

typedef struct {
    double prob[TOY_MAX_K];      // final policy
    int best;                    // index of the highest success rate
    int converged_step;          // first step with prob[best] >= 0.9, or -1
    double mean_reward_first;    // mean reward over the first 10% of steps
    double mean_reward_last;     // ... and the last 10%
} ToyResult;

void toy_defaults(ToyOpts *o);
// Run the simulation, printing progress to out (may be NULL). Returns 0 or -1.
int toy_run(const ToyOpts *o, ToyResult *res, FILE *out);

#endif
