// Training forward and backward of the decoder on a right-padded batch, with the
// fused output head: returns log-probs (and entropy) of each next token and
// accumulates parameter gradients for Σ g·logp. It never holds (R × T × V) logits.
#ifndef AHA_MODEL_FORWARD_H
#define AHA_MODEL_FORWARD_H

#include "model/model.h"

// Activations for up to max_rows × max_T tokens in one arena, sized up front.
// Only the real tokens of a batch are computed: rows are packed end to end, so
// padding costs nothing and cannot leak into real rows.
typedef struct ModelActs ModelActs;

// NULL + err_set when max_T exceeds max_position or memory runs out.
ModelActs *model_acts_create(const Model *m, int max_rows, int max_T);
// recompute 1: gradient checkpointing. Only each layer's input is kept, so the
// activations grow with one layer instead of all of them, and the backward
// recomputes each layer's forward before differentiating it (about one more
// forward of work). Results are bit-identical to keeping everything.
ModelActs *model_acts_create_opts(const Model *m, int max_rows, int max_T, int recompute);
void model_acts_free(ModelActs *a);
// Give the memory of every buffer but the RoPE tables back to the system
// between phases (a trainer's sampling), so it and the sampler's packed
// weights are not resident at once; the next forward touches it afresh. Any
// forward held is dropped (a backward needs a new one).
void model_acts_release(ModelActs *a);
// The bytes model_acts_create_opts takes for these sizes (with LoRA adapters of
// rank lora_r > 0, and dropout scratch when lora_dropout), for planning memory.
size_t model_acts_bytes(const ModelConfig *c, int max_rows, int max_T, int recompute, int lora_r, int lora_dropout);
// Lower the head's chunk (rows of logits held at once) below the size chosen at
// creation; tests use it to exercise chunk boundaries. Larger values are ignored.
void model_acts_set_head_rows(ModelActs *a, int rows);

// Right-padded batch: ids (R, T), lens (R) real lengths in 1..T. Output logp (R, T):
// logp[r*T + t] = log softmax(z_{r,t} / temperature)[ids[r*T + t + 1]] for t < lens[r]-1, else 0.
// entropy (R, T) of softmax(z/temperature) at the same positions, or NULL to skip.
// Returns 0, or -1 (err_set) for sizes beyond the activations or ids outside the vocab.
int model_forward(Model *m, ModelActs *a, const int *ids, const int *lens, int R, int T, float temperature, float *logp, float *entropy);

// Backward of Σ g[r*T+t] · logp[r*T+t] (g (R, T); entries at unused positions are
// ignored); accumulates into m->grads (which the caller zeroes). Uses the
// activations of the preceding model_forward. The head keeps only logsumexp per
// position in the forward and recomputes each chunk's logits here (memory
// independent of V), except those of the forward's last chunk, which are still
// in the scratch: with one chunk (small vocabularies) nothing is recomputed.
// Returns 0 or -1.
int model_backward(Model *m, ModelActs *a, const float *g);

// The decoder without its LM head, for scalar heads (value and reward models,
// model/value.h): the same trunk as model_forward, through the final norm.
// Returns 0, or -1 (err_set) as model_forward refuses a batch.
int model_forward_hidden(Model *m, ModelActs *a, const int *ids, const int *lens, int R, int T);
// The tokens of the last forward on a, packed row after row: returns N = Σ lens
// (0 when a holds no forward) and points *at to (N) r*T + t of each packed
// token and *hidden to their final-normed hidden states (N, C). Both live in a
// and are valid until its next forward.
int model_acts_tokens(const ModelActs *a, const int **at, const float **hidden);
// Scratch (max_rows × max_T, C) a caller may fill with dLoss/dhidden and pass
// to model_backward_hidden (which reads it before reusing it).
float *model_acts_dhidden(ModelActs *a);
// Backward from dhidden (N, C), packed as model_acts_tokens lays it out;
// accumulates into m->grads. Valid after model_forward_hidden or model_forward.
// Returns 0 or -1.
int model_backward_hidden(Model *m, ModelActs *a, const float *dhidden);

#endif
