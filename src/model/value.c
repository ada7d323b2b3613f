// The scalar head V = w·h + b on the decoder trunk (PPO critic, reward model),
// PPO's value loss, and the head's "score.*" safetensors file. The trunk runs
// through model/forward.c; this file only adds one dot product per token.
#include "model/value.h"

#include <math.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "model/safetensors.h"

int value_forward(Model *m, ModelActs *a, const float *head_w, float head_b, const int *ids, const int *lens, int R,
                  int T, float *values) {
    if (model_forward_hidden(m, a, ids, lens, R, T) != 0) return -1;
    int C = m->cfg.hidden_size;
    const int *at;
    const float *h;   // (N, C)
    int N = model_acts_tokens(a, &at, &h);
    memset(values, 0, sizeof(float) * (size_t)R * T);
    for (int i = 0; i < N; i++) {
        const float *hi = h + (size_t)i * C;
        double s = head_b;
        for (int j = 0; j < C; j++) s += (double)head_w[j] * hi[j];
        values[at[i]] = (float)s;
    }
    return 0;
}

// dV/dh = w, dV/dw = h, dV/db = 1, each weighted by dvalues at the token.
int value_backward(Model *m, ModelActs *a, const float *head_w, const float *dvalues, float *dhead_w, float *dhead_b) {
    int C = m->cfg.hidden_size;
    const int *at;
    const float *h;   // (N, C)
    int N = model_acts_tokens(a, &at, &h);
    if (N == 0) return err_set("value backward: no forward pass to differentiate");
    float *dh = model_acts_dhidden(a);   // (N, C)
    double db = 0;
    for (int i = 0; i < N; i++) {
        float dv = dvalues[at[i]];
        float *dhi = dh + (size_t)i * C;
        for (int j = 0; j < C; j++) dhi[j] = dv * head_w[j];
        db += dv;
    }
    // dw = Σ_i dv_i h_i, per channel in double so the sum does not depend on N's split
    for (int j = 0; j < C; j++) {
        double s = 0;
        for (int i = 0; i < N; i++) s += (double)dvalues[at[i]] * h[(size_t)i * C + j];
        dhead_w[j] += (float)s;
    }
    *dhead_b += (float)db;
    return model_backward_hidden(m, a, dh);
}

// Unclipped: l = ½ (V − R)², dl/dV = V − R.
// Clipped:   V_c = V_old + clip(V − V_old, −ε, ε), l = ½ max((V − R)², (V_c − R)²);
// the clipped branch can only exceed the other when the clip is active, and
// then V_c does not move with V: dl/dV = 0 there.
double value_loss(float *dvalues, double *clipped, const float *values, const float *values_old,
                  const float *returns_, const uint8_t *mask, int R, int T, float clip_eps, double norm_tokens) {
    double loss = 0, n_clipped = 0;
    double inv = norm_tokens > 0 ? 1.0 / norm_tokens : 0.0;
    for (long i = 0; i < (long)R * T; i++) {
        dvalues[i] = 0;
        if (!mask[i]) continue;
        double v = values[i], ret = returns_[i];
        double l = 0.5 * (v - ret) * (v - ret), d = v - ret;
        if (clip_eps > 0) {
            double old = values_old[i], delta = v - old;
            double dc = delta < -clip_eps ? -clip_eps : delta > clip_eps ? clip_eps : delta;
            double vc = old + dc;
            double lc = 0.5 * (vc - ret) * (vc - ret);
            if (lc > l) {
                l = lc;
                d = 0.0;
                n_clipped += 1;
            }
        }
        loss += l * inv;
        dvalues[i] = (float)(d * inv);
    }
    if (clipped) *clipped = n_clipped;
    return loss;
}

void value_token_rewards(float *rewards_tok, const float *row_reward, const float *kl, float kl_coef,
                         const uint8_t *mask, int R, int T) {
    for (int r = 0; r < R; r++) {
        int last = -1;
        for (int t = 0; t < T; t++) {
            long i = (long)r * T + t;
            rewards_tok[i] = mask[i] && kl ? -kl_coef * kl[i] : 0.0f;
            if (mask[i]) last = t;
        }
        if (last >= 0) rewards_tok[(long)r * T + last] += row_reward[r];
    }
}

void value_head_init(float *head_w, float *head_b, int C, uint64_t seed, float std) {
    Rng r;
    rng_init(&r, seed);
    for (int j = 0; j < C; j++) head_w[j] = std > 0 ? (float)(std * rng_normal(&r)) : 0.0f;
    *head_b = 0.0f;
}

int value_head_save(const char *path, const float *head_w, float head_b, int C) {
    SafeItem items[2] = {
        {.name = "score.weight", .ndim = 2, .shape = {1, C}, .data = head_w},
        {.name = "score.bias", .ndim = 1, .shape = {1}, .data = &head_b},
    };
    if (safetensors_write(path, items, 2, ST_F32, NULL) != 0) return err_wrap("value head %s", path);
    return 0;
}

int value_head_load(const char *path, float *head_w, float *head_b, int C) {
    SafeFile f;
    if (safetensors_open(&f, path) != 0) return -1;
    int rc = -1;
    const SafeTensor *w = safetensors_find(&f, "score.weight"), *b = safetensors_find(&f, "score.bias");
    if (!w) {
        err_set("%s: no tensor score.weight (a value or reward head)", path);
    } else if (w->ndim != 2 || w->shape[0] != 1 || w->shape[1] != C) {
        err_set("%s: score.weight must have shape [1, %d] (one label, hidden size %d)", path, C, C);
    } else if (b && (b->ndim != 1 || b->shape[0] != 1)) {
        err_set("%s: score.bias must have shape [1]", path);
    } else if (safetensors_read_f32(&f, w, head_w) != 0 || (b && safetensors_read_f32(&f, b, head_b) != 0)) {
        err_set("%s: score tensors must be F32, BF16, F16 or F64", path);
    } else {
        if (!b) *head_b = 0.0f;
        rc = 0;
    }
    safetensors_close(&f);
    return rc;
}
