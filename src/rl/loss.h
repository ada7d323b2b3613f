// The GRPO family as per-token coefficients: every objective here becomes
// g_t = dLoss/dlogp_t, which the model's backward consumes (DESIGN.md). This
// module does arithmetic on (R, T) arrays only; it never touches the model.
#ifndef AHA_RL_LOSS_H
#define AHA_RL_LOSS_H

#include <stdint.h>

#include "base/options.h"

// How rewards become advantages (REFERENCE.md "GRPO", "Dr. GRPO").
typedef enum {
    ADV_SCALE_GROUP,   // (r - mean_group) / (std_group + eps)   R1 / GRPO
    ADV_SCALE_BATCH,   // (r - mean_group) / (std_batch + eps)
    ADV_SCALE_NONE,    // r - mean_group                          Dr. GRPO
} AdvScale;

// How per-token losses become one number (REFERENCE.md "Aggregation").
typedef enum {
    LOSS_AGG_SEQ_MEAN_TOKEN_MEAN,      // mean over a sequence's tokens, mean over sequences
    LOSS_AGG_TOKEN_MEAN,               // sum / completion tokens in the global batch (DAPO)
    LOSS_AGG_SEQ_MEAN_TOKEN_SUM_NORM,  // sum / (sequences x max completion length) (Dr. GRPO)
    LOSS_AGG_BNPO,                     // sum / completion tokens in this minibatch (TRL bnpo)
} LossAgg;

typedef enum { KL_K1, KL_K2, KL_K3 } KlEstimator;

typedef enum {
    RATIO_TOKEN,      // rho_t = exp(logp_t - old_t)
    RATIO_SEQUENCE,   // GSPO: s_i = exp(mean_t(logp_t - old_t)), one per sequence, times each token's A_t
} RatioLevel;

// Where advantages come from.
typedef enum {
    ADV_ESTIMATOR_GRPO,   // group-relative rewards (rl_advantages)
    ADV_ESTIMATOR_GAE,    // a learned critic and GAE (PPO)
} AdvEstimator;

// The names users write for each enum (TRL / verl spelling), value by value.
extern const OptChoice adv_scale_choices[], loss_agg_choices[], kl_choices[], ratio_level_choices[],
    adv_estimator_choices[];

typedef struct {
    float eps_low, eps_high;   // clip range [1 - eps_low, 1 + eps_high]
    float dual_clip;           // c > 1 enables dual clip for A < 0; 0 disables
    float beta;                // KL coefficient; 0 means no reference term
    KlEstimator kl;
    LossAgg agg;
    RatioLevel ratio;
    // Normalisers for the whole optimizer step (across minibatches and ranks),
    // supplied by the caller: completion tokens, sequences, and the max
    // completion length used by Dr. GRPO's constant.
    double global_tokens;
    double global_seqs;
    int max_completion_len;
} LossOpts;

// Statistics of one loss call, in TRL/verl terms. Means are over masked tokens
// of this call; sums let the caller combine minibatches.
typedef struct {
    double loss;          // sum over tokens of w_t * l_t (this call's share of the step loss)
    double policy_loss;   // the surrogate part of loss
    double kl_sum;        // sum of k_t over masked tokens
    double tokens;        // masked tokens in this call
    double clip_low;      // tokens (or sequences' tokens for GSPO) clipped at 1 - eps_low with A < 0
    double clip_high;     // ... at 1 + eps_high with A > 0
    double clip_dual;     // tokens where the dual clip bound was active
    double ratio_sum;     // sum of the ratio over masked tokens
} LossStats;

// Advantages for n_groups groups of G rewards laid out group by group.
// adv (n_groups*G). A group whose rewards are all equal gets exactly 0.
// Returns the number of such zero-std groups (frac_reward_zero_std numerator).
// std is the sample standard deviation (n-1, as TRL); a group of one has std 0.
int rl_advantages(float *adv, const float *rewards, int n_groups, int G, AdvScale scale, float eps);

// Per-token coefficients for R rows of T positions. mask (R, T) is 1 on
// completion tokens that enter the loss and 0 elsewhere; logp, logp_old, adv
// are (R, T); logp_ref (R, T) is read only when beta > 0. Writes g (R, T) with
// g = dLoss/dlogp (0 where mask is 0) and fills *st (may be NULL).
// Returns 0, or -1 (err_set) for options that make no sense.
int rl_loss_coeffs(float *g, LossStats *st, const float *logp, const float *logp_old,
                   const float *logp_ref, const float *adv, const uint8_t *mask,
                   int R, int T, const LossOpts *o);

// KL estimator value and its derivative with respect to logp.
double rl_kl(KlEstimator k, double logp, double ref, double *dkl_dlogp);

// Generalised advantage estimation for PPO, per row over masked positions
// (mask must be a contiguous span per row). rewards, values (R, T); writes adv
// and returns_ (R, T). Terminal value after the last masked token is 0.
void rl_gae(float *adv, float *returns_, const float *rewards, const float *values,
            const uint8_t *mask, int R, int T, float gamma, float lambda);

#endif
