// Choosing one token from a row of logits: temperature, top-k, top-p, min-p,
// inverse-CDF sampling from one given uniform, and the token's log-prob under
// the full (untruncated) tempered distribution. Pure and allocation-free: the
// caller supplies scratch and the uniform, so results depend on nothing else.
#ifndef AHA_PICK_H
#define AHA_PICK_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

typedef struct {
    float temperature;   // τ > 0 samples from softmax(z/τ); 0 = greedy (argmax, lowest id on ties)
    int top_k;           // keep the k highest logits; 0 = off
    float top_p;         // keep the shortest head of the ranking whose mass ≥ top_p; ≥ 1 = off
    float min_p;         // keep tokens with p ≥ min_p · p_max; 0 = off
} PickOpts;

// Scratch for one row at a time (one per thread), vocabulary V.
typedef struct {
    int V;
    float *e;            // (V) exp((z - max)/τ)
    uint32_t *key;       // (2V) radix keys, two ping-pong halves
    int *order;          // (2V) ranking (first V) and radix ping-pong (second V)
    int n_sorted;        // order[0, n_sorted) is ranked so far
} PickScratch;

size_t pick_bytes(int V);
// Carve scratch for vocabulary V from `a`. Returns 0 or -1 (err_set).
int pick_init(PickScratch *s, Arena *a, int V);

// Choose a token from logits z (V) with the uniform u ∈ [0, 1).
// With no truncation (top_k 0 or ≥ V, top_p 1, min_p 0) the token is the
// first in id order whose cumulative mass exceeds u · (total mass).
// Otherwise tokens are ranked: logits descending, ties by lower id. The kept
// set is a head of the ranking: top-k first, then top-p over the renormalised
// top-k mass, then min-p (relative to the most likely token, so
// renormalisation does not matter). The token is the first in rank order
// whose cumulative kept mass exceeds u · (kept mass).
// *logp = log softmax(z/τ)[token] over the full vocabulary, before any
// truncation: what a forward pass at temperature τ recomputes for the same
// token. Greedy (τ = 0) reports log softmax(z)[token] (τ = 1).
// Returns the token id, or -1 (err_set) when a logit is not finite.
int pick_token(PickScratch *s, const float *z, int V, const PickOpts *o, double u, float *logp);

#endif
