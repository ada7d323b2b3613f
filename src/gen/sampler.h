// Batched sampling: B prompts × G samples decoded together over one KV cache.
// Each prompt is prefilled once and its keys/values copied to its G sample
// slots; then every live sequence advances one token per step as one matrix,
// and finished sequences drop out. Randomness is keyed by (seed, step, global
// prompt index, sample, position) so a completion does not depend on batch
// size, order or thread count. It does not tokenize or apply templates.
#ifndef AHA_SAMPLER_H
#define AHA_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

#define SAMPLER_MAX_STOPS 16      // stop ids, and stop strings, per call
#define SAMPLER_MAX_STOP_LEN 64   // bytes in one stop string

typedef enum { SAMPLER_FINISH_STOP = 1, SAMPLER_FINISH_LENGTH = 2 } SamplerFinish;

// The bytes one token adds to the text (byte-level BPE: the token's raw bytes),
// for stop strings; NULL when the id has none. A tokenizer's tok_token_bytes
// behind a small wrapper.
typedef const char *(*TokenBytesFn)(const void *ctx, int id, size_t *len);

typedef struct {
    float temperature;          // τ; 0 = greedy
    int top_k;                  // 0 = off
    float top_p;                // 1 = off
    float min_p;                // 0 = off
    int max_new_tokens;         // ≥ 1
    const int *stop_ids;        // (n_stop_ids) e.g. EOS ids
    int n_stop_ids;
    const char *const *stop_strings;   // (n_stop_strings) NUL-terminated, ≤ SAMPLER_MAX_STOP_LEN bytes
    int n_stop_strings;
    TokenBytesFn token_bytes;   // needed only when n_stop_strings > 0
    const void *token_ctx;
    uint64_t seed;
    uint32_t step;              // RL step (or any caller counter) in the random key
} SamplerOpts;

// SamplerOpts with the filters off: τ = 1, top_p = 1, 1 new token.
SamplerOpts sampler_opts_default(void);

// One completion. ids and logp point into the Sampler and stay valid until the
// next sampler_generate or sampler_free.
typedef struct {
    const int *ids;     // (n) sampled tokens; a stop id that ended it is included
    const float *logp;  // (n) logp[t] = log softmax(z_t/τ)[ids[t]] over the full vocabulary, before
                        // top-k/top-p/min-p (τ = 1 when greedy): the old log-prob GRPO needs
    int n;
    SamplerFinish finish;   // STOP: a stop id was sampled or the text ends with a stop string
                            // (its tokens included); LENGTH: max_new_tokens reached
    int stop_string;    // index of the stop string that matched, or -1
} Completion;

typedef struct Sampler Sampler;

// A sampler for up to max_seqs = B·G sequences of up to max_len positions
// (prompt + new tokens) with this model configuration; it owns the KV cache,
// a packed copy of the model's matrices (refreshed at every sampler_generate,
// so weight updates between calls are seen) and all scratch in one allocation,
// and uses up to threads_get() threads. NULL (err_set) on failure.
Sampler *sampler_create(const ModelConfig *cfg, int max_seqs, int max_len);
// Whether the packed weights' pages go back to the system after each
// sampler_generate (1: a trainer's activations need not sit beside them), or
// stay for the next call (0, the default: no page faults to take them again).
void sampler_set_release(Sampler *s, int release);
// The bytes sampler_create takes for these sizes (at the current thread count).
size_t sampler_bytes(const ModelConfig *cfg, int max_seqs, int max_len);
// The part of it the packed weights take (resident only inside sampler_generate
// when the sampler gives them back).
size_t sampler_packed_bytes(const ModelConfig *cfg);
void sampler_free(Sampler *s);

// Sample G completions for each of B prompts. prompt_ids[b] (prompt_lens[b] ≥ 1
// tokens); prompt_index[b] is the prompt's global index in the random key.
// out (B·G): completion b·G + g is sample g of prompt b. Each prompt needs
// prompt_lens[b] + max_new_tokens ≤ max_len. Returns 0, or -1 (err_set).
int sampler_generate(Sampler *s, const Model *m, const int *const *prompt_ids, const int *prompt_lens,
                     const uint32_t *prompt_index, int B, int G, const SamplerOpts *o, Completion *out);

#endif
