// PPO with a critic, side by side with GRPO: the critic is a copy of the
// policy's trunk with a scalar value head; advantages come from GAE over
// token rewards (the verifier's reward at the last completion token, minus a
// KL penalty per token when kl_in_reward), whitened over the batch.
#include "train/ppo.h"
#include "base/err.h"
#include "base/fileio.h"
#include "model/io.h"
#include "model/value.h"
#include "rl/loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int ppo_open(Trainer *t) {
    const GrpoConfig *c = &t->cfg;
    int C = t->policy.cfg.hidden_size;
    size_t n = (size_t)c->prompts_per_step * c->group_size * (size_t)t->max_T;
    Critic *cr = calloc(1, sizeof *cr);
    if (!cr) return err_set("out of memory for the critic");
    if (model_create(&cr->model, &t->policy.cfg, 1) != 0) {
        free(cr);
        return err_wrap("critic");
    }
    t->critic = cr;
    memcpy(cr->model.params, t->policy.params, sizeof(float) * t->policy.n_params);
    AdamWConfig ac = t->opt.cfg;
    ac.lr = c->critic_lr;
    if (adamw_init(&cr->opt, &cr->model, &ac) != 0) return -1;
    cr->head_w = calloc((size_t)C + 1, sizeof(float));
    cr->head_gw = calloc((size_t)C + 1, sizeof(float));
    cr->head_m = calloc((size_t)C + 1, sizeof(float));
    cr->head_v = calloc((size_t)C + 1, sizeof(float));
    cr->values = calloc(n, sizeof(float));
    cr->values_old = calloc(n, sizeof(float));
    cr->returns_ = calloc(n, sizeof(float));
    cr->rew_tok = calloc(n, sizeof(float));
    cr->dvalues = calloc(n, sizeof(float));
    if (!cr->head_w || !cr->head_gw || !cr->head_m || !cr->head_v || !cr->values || !cr->values_old ||
        !cr->returns_ || !cr->rew_tok || !cr->dvalues)
        return err_set("out of memory for the critic");
    value_head_init(cr->head_w, &cr->head_w[C], C, (uint64_t)c->sample.seed, 0.0f);
    return 0;
}

void ppo_close(Trainer *t) {
    Critic *cr = t->critic;
    if (!cr) return;
    model_free(&cr->model);
    adamw_free(&cr->opt);
    free(cr->head_w); free(cr->head_gw); free(cr->head_m); free(cr->head_v);
    free(cr->values); free(cr->values_old); free(cr->returns_); free(cr->rew_tok); free(cr->dvalues);
    free(cr);
    t->critic = NULL;
}

int ppo_advantages(Trainer *t, const float *row_reward, int n) {
    Critic *cr = t->critic;
    const GrpoConfig *c = &t->cfg;
    int T = t->max_T, C = t->policy.cfg.hidden_size;
    size_t nt = (size_t)n * T;
    for (int s = 0; s < n; s += t->micro_rows) {
        int R = n - s < t->micro_rows ? n - s : t->micro_rows;
        size_t o = (size_t)s * T;
        if (value_forward(&cr->model, t->acts, cr->head_w, cr->head_w[C], t->ids + o, t->lens + s, R, T,
                          cr->values_old + o) != 0)
            return -1;
    }
    // KL per token for the reward: k1 = logp_old - logp_ref.
    float *kl = NULL;
    if (c->kl_in_reward && t->has_ref) {
        kl = cr->dvalues;   // scratch until the critic update
        for (size_t i = 0; i < nt; i++) kl[i] = t->old[i] - t->refp[i];
    }
    value_token_rewards(cr->rew_tok, row_reward, kl, (float)c->beta, t->mask, n, T);
    rl_gae(t->adv, cr->returns_, cr->rew_tok, cr->values_old, t->mask, n, T, (float)c->gamma, (float)c->lam);
    // Whiten over the batch's masked tokens (mean 0, std 1), as PPO trainers do.
    double sum = 0, sq = 0, cnt = 0;
    for (size_t i = 0; i < nt; i++)
        if (t->mask[i]) sum += t->adv[i], sq += (double)t->adv[i] * t->adv[i], cnt++;
    if (cnt > 1) {
        double mean = sum / cnt, var = (sq - cnt * mean * mean) / (cnt - 1), sd = sqrt(var > 0 ? var : 0);
        for (size_t i = 0; i < nt; i++) t->adv[i] = t->mask[i] ? (float)((t->adv[i] - mean) / (sd + 1e-8)) : 0.0f;
    }
    return 0;
}

int ppo_critic_update(Trainer *t, int start, int R, double *vf_loss, double *vf_clipfrac) {
    Critic *cr = t->critic;
    int T = t->max_T, C = t->policy.cfg.hidden_size;
    size_t o = (size_t)start * T;
    double tokens = 0, clipped = 0;
    for (size_t i = o; i < o + (size_t)R * T; i++) tokens += t->mask[i];
    model_zero_grad(&cr->model);
    memset(cr->head_gw, 0, sizeof(float) * ((size_t)C + 1));
    for (int ms = start; ms < start + R; ms += t->micro_rows) {
        int r = start + R - ms < t->micro_rows ? start + R - ms : t->micro_rows;
        size_t mo = (size_t)ms * T;
        double c = 0;
        if (value_forward(&cr->model, t->acts, cr->head_w, cr->head_w[C], t->ids + mo, t->lens + ms, r, T,
                          cr->values + mo) != 0)
            return -1;
        *vf_loss += value_loss(cr->dvalues + mo, &c, cr->values + mo, cr->values_old + mo, cr->returns_ + mo,
                               t->mask + mo, r, T, (float)t->cfg.value_clip, tokens > 0 ? tokens : 1);
        clipped += c;
        if (value_backward(&cr->model, t->acts, cr->head_w, cr->dvalues + mo, cr->head_gw, &cr->head_gw[C]) != 0) return -1;
    }
    *vf_clipfrac += clipped / (tokens > 0 ? tokens : 1);
    double gn = adamw_step(&cr->opt, &cr->model, 1.0f);
    if (!isfinite(gn)) return err_set("critic gradient norm is not finite; the update was refused");
    // The head follows the trunk's clip factor and step.
    double clip = cr->opt.cfg.clip_norm > 0 && gn > cr->opt.cfg.clip_norm
                      ? cr->opt.cfg.clip_norm / (gn + 1e-6) : 1.0;
    adamw_update_array(&cr->opt, cr->head_w, cr->head_gw, cr->head_m, cr->head_v, (size_t)C + 1, (float)clip, 0);
    return 0;
}

// critic/ holds the trunk (model files), its AdamW state, and the head with
// its two moments in the transformers score.* layout.
int ppo_save(const Trainer *t, const char *dir) {
    const Critic *cr = t->critic;
    char crit[4096], path[4096];
    int C = t->policy.cfg.hidden_size;
    if (path_join(crit, sizeof crit, dir, "critic") != 0 || model_save(&cr->model, crit, ST_F32) != 0) return -1;
    static const char *const names[3] = {"value_head.safetensors", "value_head_m.safetensors", "value_head_v.safetensors"};
    const float *arr[3] = {cr->head_w, cr->head_m, cr->head_v};
    for (int i = 0; i < 3; i++)
        if (path_join(path, sizeof path, crit, names[i]) != 0 || value_head_save(path, arr[i], arr[i][C], C) != 0)
            return -1;
    if (path_join(path, sizeof path, crit, "optimizer.safetensors") != 0) return -1;
    return adamw_state_save(&cr->opt, &cr->model, path);
}

int ppo_restore(Trainer *t, const char *dir) {
    Critic *cr = t->critic;
    char crit[4096], path[4096];
    int C = t->policy.cfg.hidden_size;
    Model m;
    if (path_join(crit, sizeof crit, dir, "critic") != 0) return -1;
    if (model_load(&m, crit, 0) != 0) return err_wrap("critic");
    if (m.n_params != cr->model.n_params) {
        model_free(&m);
        return err_set("%s: critic does not match the policy's shape", crit);
    }
    memcpy(cr->model.params, m.params, sizeof(float) * m.n_params);
    model_free(&m);
    static const char *const names[3] = {"value_head.safetensors", "value_head_m.safetensors", "value_head_v.safetensors"};
    float *arr[3] = {cr->head_w, cr->head_m, cr->head_v};
    for (int i = 0; i < 3; i++)
        if (path_join(path, sizeof path, crit, names[i]) != 0 || value_head_load(path, arr[i], &arr[i][C], C) != 0)
            return -1;
    if (path_join(path, sizeof path, crit, "optimizer.safetensors") != 0) return -1;
    return adamw_state_load(&cr->opt, &cr->model, path);
}
