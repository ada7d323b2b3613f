// Advantages, clipped surrogates, KL estimators and loss aggregation for
// GRPO / DAPO / Dr. GRPO / GSPO, written as dLoss/dlogp per token.
#include "rl/loss.h"
#include "base/err.h"

#include <math.h>
#include <string.h>

const OptChoice adv_scale_choices[] = {
    {"group", ADV_SCALE_GROUP}, {"batch", ADV_SCALE_BATCH}, {"none", ADV_SCALE_NONE}, {NULL, 0}};
const OptChoice loss_agg_choices[] = {{"seq-mean-token-mean", LOSS_AGG_SEQ_MEAN_TOKEN_MEAN},
                                      {"token-mean", LOSS_AGG_TOKEN_MEAN},
                                      {"seq-mean-token-sum-norm", LOSS_AGG_SEQ_MEAN_TOKEN_SUM_NORM},
                                      {"bnpo", LOSS_AGG_BNPO},
                                      {NULL, 0}};
const OptChoice kl_choices[] = {{"k1", KL_K1}, {"k2", KL_K2}, {"k3", KL_K3}, {NULL, 0}};
const OptChoice ratio_level_choices[] = {{"token", RATIO_TOKEN}, {"sequence", RATIO_SEQUENCE}, {NULL, 0}};
const OptChoice adv_estimator_choices[] = {{"grpo", ADV_ESTIMATOR_GRPO}, {"gae", ADV_ESTIMATOR_GAE}, {NULL, 0}};

int rl_advantages(float *adv, const float *rewards, int n_groups, int G, AdvScale scale, float eps) {
    int zero_std = 0;
    double batch_std = 0;
    if (scale == ADV_SCALE_BATCH) {
        // Sample std over every reward of the batch.
        long n = (long)n_groups * G;
        double mean = 0, ss = 0;
        for (long i = 0; i < n; i++) mean += rewards[i];
        mean /= (double)(n > 0 ? n : 1);
        for (long i = 0; i < n; i++) ss += (rewards[i] - mean) * (rewards[i] - mean);
        batch_std = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
    }
    for (int b = 0; b < n_groups; b++) {
        const float *r = rewards + (long)b * G;
        float *a = adv + (long)b * G;
        double mean = 0, ss = 0;
        int all_equal = 1;
        for (int i = 0; i < G; i++) {
            mean += r[i];
            if (r[i] != r[0]) all_equal = 0;
        }
        mean /= G;
        for (int i = 0; i < G; i++) ss += (r[i] - mean) * (r[i] - mean);
        double std = G > 1 ? sqrt(ss / (G - 1)) : 0;
        zero_std += all_equal;
        double div = scale == ADV_SCALE_GROUP ? std + eps : scale == ADV_SCALE_BATCH ? batch_std + eps : 1.0;
        for (int i = 0; i < G; i++) a[i] = all_equal ? 0.0f : (float)((r[i] - mean) / div);
    }
    return zero_std;
}

// k1 = logp - ref, k2 = (logp - ref)^2 / 2, k3 = exp(ref - logp) - (ref - logp) - 1.
double rl_kl(KlEstimator k, double logp, double ref, double *dkl_dlogp) {
    double d = ref - logp;
    switch (k) {
    case KL_K1: *dkl_dlogp = 1.0; return -d;
    case KL_K2: *dkl_dlogp = -d; return 0.5 * d * d;
    case KL_K3: default: {
        double e = exp(d);
        *dkl_dlogp = 1.0 - e;
        return e - d - 1.0;
    }
    }
}

// Clipped surrogate s = min(rho*A, clip(rho, 1-el, 1+eh)*A), optionally
// s = max(s, c*A) for A < 0. Returns s; *ds_drho is A on the unclipped branch,
// else 0. Inside the clip range both branches agree and the gradient flows.
static double surrogate(double rho, double A, const LossOpts *o, double *ds_drho, int *low, int *high, int *dual) {
    double lo = 1.0 - o->eps_low, hi = 1.0 + o->eps_high;
    double clipped = rho < lo ? lo : rho > hi ? hi : rho;
    double s_un = rho * A, s_cl = clipped * A;
    double s;
    *low = rho < lo && A < 0;
    *high = rho > hi && A > 0;
    *dual = 0;
    if (s_un <= s_cl) {
        s = s_un;
        *ds_drho = A;
    } else {
        s = s_cl;
        *ds_drho = 0;   // the clipped branch is constant in rho
    }
    if (o->dual_clip > 0 && A < 0 && o->dual_clip * A > s) {
        s = o->dual_clip * A;
        *ds_drho = 0;
        *dual = 1;
    }
    return s;
}

// Aggregation weight w of one masked token of a row holding n_row masked tokens.
static double agg_weight(const LossOpts *o, int n_row, double local_tokens) {
    switch (o->agg) {
    case LOSS_AGG_SEQ_MEAN_TOKEN_MEAN: return 1.0 / ((double)n_row * o->global_seqs);
    case LOSS_AGG_TOKEN_MEAN: return 1.0 / o->global_tokens;
    case LOSS_AGG_SEQ_MEAN_TOKEN_SUM_NORM: return 1.0 / (o->global_seqs * (double)o->max_completion_len);
    case LOSS_AGG_BNPO: default: return 1.0 / local_tokens;
    }
}

int rl_loss_coeffs(float *g, LossStats *st, const float *logp, const float *logp_old,
                   const float *logp_ref, const float *adv, const uint8_t *mask,
                   int R, int T, const LossOpts *o) {
    if (!(o->eps_low >= 0 && o->eps_low < 1 && o->eps_high >= 0))
        return err_set("clip range: need 0 <= eps_low < 1 and eps_high >= 0");
    if (o->dual_clip != 0 && !(o->dual_clip > 1)) return err_set("dual clip c must be > 1 (or 0 to disable)");
    if (o->beta < 0) return err_set("beta must be >= 0");
    if (o->beta > 0 && !logp_ref) return err_set("beta > 0 needs reference log-probs");
    if ((o->agg == LOSS_AGG_SEQ_MEAN_TOKEN_MEAN || o->agg == LOSS_AGG_SEQ_MEAN_TOKEN_SUM_NORM) && !(o->global_seqs > 0))
        return err_set("this aggregation needs global_seqs > 0");
    if (o->agg == LOSS_AGG_TOKEN_MEAN && !(o->global_tokens > 0)) return err_set("token-mean needs global_tokens > 0");
    if (o->agg == LOSS_AGG_SEQ_MEAN_TOKEN_SUM_NORM && o->max_completion_len <= 0)
        return err_set("seq-mean-token-sum-norm needs max_completion_len > 0");

    LossStats s;
    memset(&s, 0, sizeof s);
    double local_tokens = 0;
    for (long i = 0; i < (long)R * T; i++) local_tokens += mask[i] != 0;
    memset(g, 0, sizeof(float) * (size_t)R * T);
    if (local_tokens == 0) {
        if (st) *st = s;
        return 0;
    }

    for (int r = 0; r < R; r++) {
        long base = (long)r * T;
        int n = 0;
        double mean_log_ratio = 0;
        for (int t = 0; t < T; t++)
            if (mask[base + t]) {
                n++;
                mean_log_ratio += (double)logp[base + t] - logp_old[base + t];
            }
        if (n == 0) continue;
        mean_log_ratio /= n;
        double w = agg_weight(o, n, local_tokens);

        // GSPO: one ratio s_i per sequence; each token keeps its own
        // advantage (HICRA may have boosted it), as TRL and verl write it:
        // l_t = -min(s_i A_t, clip(s_i) A_t). Since ds_i/dlogp_t = s_i / n for
        // every token of the row, each token's coefficient collects the
        // derivatives of all n surrogates: sum_t' dl_t'/ds_i * s_i / n.
        double seq_rho = exp(mean_log_ratio), seq_sum_ds = 0;
        if (o->ratio == RATIO_SEQUENCE)
            for (int t = 0; t < T; t++) {
                if (!mask[base + t]) continue;
                double ds;
                int lo, hi, du;
                surrogate(seq_rho, adv[base + t], o, &ds, &lo, &hi, &du);
                seq_sum_ds += ds;
            }
        for (int t = 0; t < T; t++) {
            long i = base + t;
            if (!mask[i]) continue;
            double A = adv[i], ds_drho, rho = o->ratio == RATIO_SEQUENCE ? seq_rho : exp((double)logp[i] - logp_old[i]);
            int low, high, dual;
            double sur = surrogate(rho, A, o, &ds_drho, &low, &high, &dual);
            double kl = 0, dkl = 0;
            if (o->beta > 0) kl = rl_kl(o->kl, logp[i], logp_ref[i], &dkl);
            double loss_t = -sur + o->beta * kl;
            // Token level: d(w * -s_t)/dlogp_t = -w * ds/drho * rho.
            double dsur = o->ratio == RATIO_SEQUENCE ? seq_sum_ds * rho / n : ds_drho * rho;
            g[i] = (float)(-w * dsur + w * o->beta * dkl);
            s.loss += w * loss_t;
            s.policy_loss += w * -sur;
            s.kl_sum += kl;
            s.tokens += 1;
            s.clip_low += low;
            s.clip_high += high;
            s.clip_dual += dual;
            s.ratio_sum += rho;
        }
    }
    if (st) *st = s;
    return 0;
}

// GAE: delta_t = r_t + gamma V_{t+1} - V_t; A_t = delta_t + gamma lambda A_{t+1}.
void rl_gae(float *adv, float *returns_, const float *rewards, const float *values,
            const uint8_t *mask, int R, int T, float gamma, float lambda) {
    for (int r = 0; r < R; r++) {
        long base = (long)r * T;
        double next_v = 0, next_a = 0;
        for (int t = T - 1; t >= 0; t--) {
            long i = base + t;
            if (!mask[i]) {
                adv[i] = returns_[i] = 0;
                continue;
            }
            double delta = rewards[i] + gamma * next_v - values[i];
            double a = delta + gamma * lambda * next_a;
            adv[i] = (float)a;
            returns_[i] = (float)(a + values[i]);
            next_v = values[i];
            next_a = a;
        }
    }
}
