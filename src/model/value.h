// Value (critic) and scalar reward heads: a decoder trunk (a Model, usually
// initialised from the policy) plus one linear unit on the final-normed hidden
// state at every position, V[r,t] = w·h[r,t] + b; PPO's value loss; the head's
// safetensors file. The trunk's own weights stay in the Model: this module
// holds no state and never touches the LM head.
#ifndef AHA_MODEL_VALUE_H
#define AHA_MODEL_VALUE_H

#include <stdint.h>

#include "model/forward.h"

// Values of every real position of a right-padded batch: ids (R, T), lens (R)
// as model_forward takes them; head_w (C). values (R, T): w·h[r,t] + b for
// t < lens[r], 0 elsewhere. V[r,t] sees tokens 0..t, so it sits at the same
// position as logp[r,t] (the state before token t+1 is chosen), and the policy's
// loss mask selects its values too. Returns 0 or -1 (err_set).
int value_forward(Model *m, ModelActs *a, const float *head_w, float head_b, const int *ids, const int *lens, int R,
                  int T, float *values);

// Backward of Σ dvalues[r,t]·V[r,t] over real positions (entries beyond lens
// are ignored), using the activations of the preceding value_forward on a:
// accumulates into m->grads, dhead_w (C) and *dhead_b (the caller zeroes all
// three). Returns 0 or -1.
int value_backward(Model *m, ModelActs *a, const float *head_w, const float *dvalues, float *dhead_w, float *dhead_b);

// PPO's value loss over masked positions, ½ (V − R)² per token, or with
// clip_eps > 0 the pessimistic clipped form
//   ½ max((V − R)², (V_old + clip(V − V_old, −ε, ε) − R)²),
// summed and divided by norm_tokens (the step's masked-token count, so
// minibatches add up). values, values_old (read only when clip_eps > 0),
// returns_ (R, T); mask (R, T). Writes dvalues (R, T) = dLoss/dV (0 off the
// mask), returns the loss, and stores in *clipped (may be NULL) the number of
// tokens where the clipped branch was taken.
double value_loss(float *dvalues, double *clipped, const float *values, const float *values_old,
                  const float *returns_, const uint8_t *mask, int R, int T, float clip_eps, double norm_tokens);

// PPO's per-token rewards (R, T): the row's scalar reward (R) at its last
// masked position, minus kl_coef·kl[r,t] at every masked position (kl (R, T),
// e.g. logp − logp_ref; NULL for none); 0 off the mask. Feed to rl_gae.
void value_token_rewards(float *rewards_tok, const float *row_reward, const float *kl, float kl_coef,
                         const uint8_t *mask, int R, int T);

// Head initialisation: w ~ Normal(0, std) from seed (std 0 gives zeros), b = 0.
void value_head_init(float *head_w, float *head_b, int C, uint64_t seed, float std);

// The head as safetensors, named as transformers' *ForTokenClassification /
// *ForSequenceClassification with one label: "score.weight" (1, C) and
// "score.bias" (1), written atomically in F32. Loading takes F32/BF16/F16/F64,
// requires score.weight of shape (1, C); score.bias is optional (bias = 0, as
// *ForSequenceClassification has none); other tensors (a whole reward model's
// trunk in the same file) are left alone. 0, or -1 naming the file and tensor.
int value_head_save(const char *path, const float *head_w, float head_b, int C);
int value_head_load(const char *path, float *head_w, float *head_b, int C);

#endif
