// Parameter gradients of the GRPO-family loss: model_forward → rl_loss_coeffs →
// model_backward. Without arguments: the step loss, differentiated by central
// finite differences along the gradient and a random direction, matches the
// backward (token and sequence ratios, clipping, dual clip, KL). With --fixture
// DIR it is the C side of tests/test_grpo_grad.py: one rollout batch, many
// option sets; writes advantages, coefficients, statistics and gradients.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "model/forward.h"
#include "rl/hicra.h"
#include "rl/loss.h"
#include "test.h"
#include "test_grpo_grad_fixture.h"

static void put(FILE *f, double d) { fwrite(&d, sizeof d, 1, f); }

// One option set of the fixture on the shared batch: advantages from rewards
// (rl_advantages), per-token advantages with HICRA's boost on planning tokens,
// the loss mask with overlong filtering, then coefficients and gradients.
static int run_case(FILE *f, const cJSON *j, const cJSON *cs, Model *m, ModelActs *a, int R, int T) {
    int B = fixture_int(j, "B"), G = fixture_int(j, "G"), max_new = fixture_int(j, "max_new");
    float temp = (float)fixture_num(j, "temperature");
    int *ids = fixture_ints(j, "ids", R * T), *lens = fixture_ints(j, "lens", R);
    int *plens = fixture_ints(j, "prompt_lens", B), *clens = fixture_ints(j, "comp_lens", R);
    int *trunc = fixture_ints(j, "truncated", R), *plan = fixture_ints(j, "plan", R * T);
    float *rewards = fixture_floats(j, "rewards", R), *ref = fixture_floats(j, "ref", R * T);
    int ratio = fixture_int(cs, "ratio");
    float *old = fixture_floats(j, ratio ? "old_seq" : "old_tok", R * T);
    float alpha = (float)fixture_num(cs, "alpha");
    int overlong = fixture_int(cs, "overlong");

    float *A = malloc(sizeof(float) * R), *adv = calloc((size_t)R * T, sizeof(float));
    float *logp = malloc(sizeof(float) * R * T), *g = malloc(sizeof(float) * R * T);
    uint8_t *mask = calloc((size_t)R * T, 1);
    uint8_t *plan8 = malloc((size_t)R * T);
    for (int i = 0; i < R * T; i++) plan8[i] = (uint8_t)plan[i];
    rl_advantages(A, rewards, B, G, (AdvScale)fixture_int(cs, "scale"), 1e-4f);
    double tokens = 0;
    for (int r = 0; r < R; r++) {
        int P = plens[r / G];
        for (int k = 0; k < clens[r]; k++) {
            int t = P - 1 + k;   // logp at t scores completion token k
            mask[r * T + t] = !(overlong && trunc[r]);
            adv[r * T + t] = A[r];
            tokens += mask[r * T + t];
        }
        // The trainer's boost, as grpo.c applies it (the fixture's adv is PyTorch's own).
        if (alpha > 0) hicra_apply(adv + r * T + P - 1, plan8 + r * T + P - 1, clens[r], alpha);
    }
    LossOpts o = {.eps_low = (float)fixture_num(cs, "eps_low"), .eps_high = (float)fixture_num(cs, "eps_high"),
                  .dual_clip = (float)fixture_num(cs, "dual"), .beta = (float)fixture_num(cs, "beta"),
                  .kl = (KlEstimator)fixture_int(cs, "kl"), .agg = (LossAgg)fixture_int(cs, "agg"),
                  .ratio = (RatioLevel)ratio, .global_tokens = tokens + fixture_num(j, "extra_tokens"),
                  .global_seqs = R + fixture_num(j, "extra_seqs"), .max_completion_len = max_new};
    LossStats st;
    model_zero_grad(m);
    int rc = model_forward(m, a, ids, lens, R, T, temp, logp, NULL) != 0 ||
             rl_loss_coeffs(g, &st, logp, old, ref, adv, mask, R, T, &o) != 0 || model_backward(m, a, g) != 0;
    if (rc) fprintf(stderr, "%s\n", err_msg());
    for (int i = 0; i < R * T; i++) put(f, adv[i]);
    for (int i = 0; i < R * T; i++) put(f, g[i]);
    put(f, st.loss), put(f, st.policy_loss), put(f, st.kl_sum);
    put(f, st.clip_low), put(f, st.clip_high), put(f, st.clip_dual);
    fixture_write_grads(f, j, m);
    free(ids), free(lens), free(plens), free(clens), free(trunc), free(plan), free(plan8), free(rewards), free(ref), free(old);
    free(A), free(adv), free(logp), free(g), free(mask);
    return rc;
}

static int run_fixture(const char *dir) {
    Model m;
    cJSON *j = fixture_open(dir, &m);
    int R = fixture_int(j, "R"), T = fixture_int(j, "T");
    ModelActs *a = model_acts_create(&m, R, T);
    if (!a) fixture_die(err_msg());
    char path[4096];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f) fixture_die("cannot write out.bin");
    const cJSON *cases = fixture_get(j, "cases");
    int rc = 0;
    for (int i = 0; i < cJSON_GetArraySize(cases) && rc == 0; i++) rc = run_case(f, j, cJSON_GetArrayItem(cases, i), &m, a, R, T);
    fclose(f);
    model_acts_free(a);
    model_free(&m);
    cJSON_Delete(j);
    return rc;
}

// ---- standalone: finite differences of the whole step loss

enum { R = 4, T = 10, P0 = 3 };
static const int lens[R] = {10, 7, 9, 5};
static const float advs[R] = {1.2f, -0.8f, -1.1f, 0.7f};

// The loss of the batch at the model's current parameters (coefficients into g).
static double step_loss(Model *m, ModelActs *a, const int *ids, const float *old, const float *ref, const float *adv,
                        const uint8_t *mask, const LossOpts *o, float *g, LossStats *st) {
    float logp[R * T];
    CHECK(model_forward(m, a, ids, lens, R, T, 1.0f, logp, NULL) == 0, "%s", err_msg());
    CHECK(rl_loss_coeffs(g, st, logp, old, ref, adv, mask, R, T, o) == 0, "%s", err_msg());
    return st->loss;
}

static double fd_along(Model *m, ModelActs *a, const float *dir, double h, const int *ids, const float *old, const float *ref,
                       const float *adv, const uint8_t *mask, const LossOpts *o) {
    float g[R * T];
    LossStats st;
    size_t P = m->n_params;
    float *save = malloc(P * sizeof(float));
    memcpy(save, m->params, P * sizeof(float));
    for (size_t i = 0; i < P; i++) m->params[i] = (float)(save[i] + h * dir[i]);
    double lp = step_loss(m, a, ids, old, ref, adv, mask, o, g, &st);
    for (size_t i = 0; i < P; i++) m->params[i] = (float)(save[i] - h * dir[i]);
    double lm = step_loss(m, a, ids, old, ref, adv, mask, o, g, &st);
    memcpy(m->params, save, P * sizeof(float));
    free(save);
    return (lp - lm) / (2 * h);
}

static void check_fd(const char *label, LossOpts o, int seq_ratio) {
    ModelConfig c = {.model_type = "qwen2", .vocab_size = 41, .hidden_size = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                     .head_dim = 4, .intermediate_size = 24, .max_position = 32, .rope_theta = 10000, .rms_eps = 1e-6,
                     .tie_embeddings = 1, .attn_bias = 1, .qk_norm = 0, .bos_token_id = -1};
    Model m;
    CHECK(model_create(&m, &c, 1) == 0, "%s", err_msg());
    model_init_random(&m, 11, 0.4f);
    ModelActs *a = model_acts_create(&m, R, T);
    Rng rng;
    rng_init(&rng, 5);
    int ids[R * T];
    float logp0[R * T], old[R * T], ref[R * T], adv[R * T], g[R * T];
    uint8_t mask[R * T];
    for (int i = 0; i < R * T; i++) ids[i] = (int)rng_below(&rng, 41);
    CHECK(model_forward(&m, a, ids, lens, R, T, 1.0f, logp0, NULL) == 0, "%s", err_msg());
    // Log-ratios well inside or well outside the clip range [0.8, 1.28] and past
    // the dual bound 3, so a step of h cannot move a token across a kink.
    static const float tok_lr[6] = {0.05f, -0.45f, 0.6f, -0.1f, 1.5f, 0.12f};
    static const float seq_lr[R] = {0.6f, 0.02f, -0.5f, 0.1f};
    int k = 0;
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) {
            int i = r * T + t;
            mask[i] = t >= P0 - 1 && t < lens[r] - 1;
            adv[i] = mask[i] ? advs[r] : 0.0f;
            double lr = seq_ratio ? seq_lr[r] + 0.3 * ((t % 3) - 1) : tok_lr[k++ % 6];
            old[i] = (float)(logp0[i] - lr);
            ref[i] = (float)(logp0[i] + 0.3 * sin(i));
        }
    if (seq_ratio)   // make each row's mean log-ratio exactly its seq_lr
        for (int r = 0; r < R; r++) {
            double s = 0;
            int n = 0;
            for (int t = 0; t < T; t++)
                if (mask[r * T + t]) s += (double)logp0[r * T + t] - old[r * T + t], n++;
            for (int t = 0; t < T; t++)
                if (mask[r * T + t]) old[r * T + t] += (float)(s / n - seq_lr[r]);
        }
    o.global_tokens = 0;
    for (int i = 0; i < R * T; i++) o.global_tokens += mask[i];
    o.global_seqs = R;
    o.max_completion_len = T;
    LossStats st;
    model_zero_grad(&m);
    step_loss(&m, a, ids, old, ref, adv, mask, &o, g, &st);
    CHECK(model_backward(&m, a, g) == 0, "%s", err_msg());
    CHECK(st.clip_low + st.clip_high + st.clip_dual > 0, "%s: nothing clipped", label);
    size_t P = m.n_params;
    float *dir = malloc(P * sizeof(float));
    double gn = 0;
    for (size_t i = 0; i < P; i++) gn += (double)m.grads[i] * m.grads[i];
    gn = sqrt(gn);
    // along the gradient: dL/ds = |grad|
    for (size_t i = 0; i < P; i++) dir[i] = (float)(m.grads[i] / gn);
    double fd = fd_along(&m, a, dir, 1e-3, ids, old, ref, adv, mask, &o), e1 = fabs(fd - gn) / gn;
    CHECK(fabs(fd - gn) <= 3e-3 * gn, "%s: along the gradient fd %.6g vs |grad| %.6g", label, fd, gn);
    // along a random unit direction: dL/ds = grad·d
    double dn = 0, dot = 0;
    for (size_t i = 0; i < P; i++) dir[i] = (float)rng_normal(&rng), dn += (double)dir[i] * dir[i];
    for (size_t i = 0; i < P; i++) dir[i] = (float)(dir[i] / sqrt(dn)), dot += (double)dir[i] * m.grads[i];
    fd = fd_along(&m, a, dir, 1e-3, ids, old, ref, adv, mask, &o);
    CHECK(fabs(fd - dot) <= 3e-3 * gn, "%s: random direction fd %.6g vs grad·d %.6g (|grad| %.3g)", label, fd, dot, gn);
    printf("%s: |grad| %.5g, fd error %.2e (gradient) %.2e (random), clipped low/high/dual %g/%g/%g\n", label, gn, e1,
           fabs(fd - dot) / gn, st.clip_low, st.clip_high, st.clip_dual);
    free(dir);
    model_acts_free(a);
    model_free(&m);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--fixture") == 0) return run_fixture(argv[2]);
    check_fd("token ratio, k3, dual clip, token-mean",
             (LossOpts){.eps_low = 0.2f, .eps_high = 0.28f, .dual_clip = 3.0f, .beta = 0.05f, .kl = KL_K3,
                        .agg = LOSS_AGG_TOKEN_MEAN, .ratio = RATIO_TOKEN}, 0);
    check_fd("token ratio, k1, seq-mean-token-sum-norm",
             (LossOpts){.eps_low = 0.2f, .eps_high = 0.2f, .beta = 0.1f, .kl = KL_K1,
                        .agg = LOSS_AGG_SEQ_MEAN_TOKEN_SUM_NORM, .ratio = RATIO_TOKEN}, 0);
    check_fd("sequence ratio (GSPO), k2, seq-mean-token-mean",
             (LossOpts){.eps_low = 0.2f, .eps_high = 0.3f, .beta = 0.05f, .kl = KL_K2,
                        .agg = LOSS_AGG_SEQ_MEAN_TOKEN_MEAN, .ratio = RATIO_SEQUENCE}, 1);
    return TEST_END();
}
