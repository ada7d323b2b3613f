// rl/: advantages, clip branches, KL estimators, aggregation weights, GSPO,
// HICRA marking, GAE — hand-worked cases and finite differences of the loss.
// With `--fixture IN OUT` it computes coefficients for cases written by
// tests/test_rl_ref.py (the PyTorch reference) and writes them as JSON.
#include "base/err.h"
#include "base/fileio.h"
#include "rl/hicra.h"
#include "rl/loss.h"
#include "test.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static LossOpts opts_default(void) {
    LossOpts o = {.eps_low = 0.2f, .eps_high = 0.2f, .beta = 0, .kl = KL_K3,
                  .agg = LOSS_AGG_SEQ_MEAN_TOKEN_MEAN, .ratio = RATIO_TOKEN,
                  .global_tokens = 0, .global_seqs = 1, .max_completion_len = 8};
    return o;
}

static void test_advantages(void) {
    float r[8] = {1, 0, 0, 1, 0.5f, 0.5f, 0.5f, 0.5f}, a[8];
    int z = rl_advantages(a, r, 2, 4, ADV_SCALE_GROUP, 1e-4f);
    // Group 1: mean 0.5, sample std sqrt(1/3) = 0.57735; A = ±0.5/0.57745.
    CHECK(z == 1, "zero-std groups %d", z);
    CHECK_CLOSE(a[0], 0.5 / (0.5773502692 + 1e-4), 1e-6, 1e-9);
    CHECK_CLOSE(a[1], -0.5 / (0.5773502692 + 1e-4), 1e-6, 1e-9);
    for (int i = 4; i < 8; i++) CHECK(a[i] == 0.0f, "zero-variance group must give exactly 0");
    rl_advantages(a, r, 2, 4, ADV_SCALE_NONE, 1e-4f);
    CHECK(a[0] == 0.5f && a[1] == -0.5f && a[4] == 0.0f);
    // Batch std over all 8 rewards: mean 0.5, ss = 4*0.25 = 1, std = sqrt(1/7).
    rl_advantages(a, r, 2, 4, ADV_SCALE_BATCH, 0);
    CHECK_CLOSE(a[0], 0.5 / sqrt(1.0 / 7), 1e-6, 1e-9);
    // Groups of one: no variance, advantage 0, no NaN.
    float r1[3] = {1, 0, 3}, a1[3];
    CHECK(rl_advantages(a1, r1, 3, 1, ADV_SCALE_GROUP, 1e-4f) == 3);
    for (int i = 0; i < 3; i++) CHECK(a1[i] == 0.0f && !isnan(a1[i]));
}

// One token, one sequence: g is -w * dsurrogate/dlogp with w = 1.
static float one_token_g(float logp, float old, float A, LossOpts o, LossStats *st) {
    float g, ref = 0;
    uint8_t m = 1;
    CHECK(rl_loss_coeffs(&g, st, &logp, &old, &ref, &A, &m, 1, 1, &o) == 0, "%s", err_msg());
    return g;
}

static void test_clip_branches(void) {
    LossOpts o = opts_default();
    LossStats st;
    double l12 = log(1.2), l07 = log(0.7), l13 = log(1.3), l05 = log(0.5);
    // Inside the range: g = -rho * A.
    CHECK_CLOSE(one_token_g((float)log(1.1), 0, 2.0f, o, &st), -1.1 * 2.0, 1e-6, 1e-9);
    // A > 0, rho above 1 + eps_high: clipped, no gradient, counted high.
    CHECK(one_token_g((float)l13, 0, 1.0f, o, &st) == 0.0f && st.clip_high == 1 && st.clip_low == 0);
    // A > 0, rho below 1 - eps_low: the unclipped branch is the min, gradient flows.
    CHECK_CLOSE(one_token_g((float)l05, 0, 1.0f, o, &st), -0.5, 1e-6, 1e-9);
    CHECK(st.clip_low == 0 && st.clip_high == 0);
    // A < 0, rho below 1 - eps_low: clipped (min picks 0.8*A), no gradient, counted low.
    CHECK(one_token_g((float)l07, 0, -1.0f, o, &st) == 0.0f && st.clip_low == 1);
    // A < 0, rho above 1 + eps_high: unclipped branch is the min, gradient -rho*A.
    CHECK_CLOSE(one_token_g((float)l13, 0, -1.0f, o, &st), 1.3, 1e-6, 1e-9);
    // Dual clip c = 3, A < 0, rho = 4: s = max(-4, -3) = -3, no gradient.
    o.dual_clip = 3;
    CHECK(one_token_g((float)log(4.0), 0, -1.0f, o, &st) == 0.0f && st.clip_dual == 1);
    CHECK_CLOSE(st.loss, 3.0, 1e-6, 1e-9);
    // rho = 2 < c: dual clip inactive, unclipped branch.
    CHECK_CLOSE(one_token_g((float)log(2.0), 0, -1.0f, o, &st), 2.0, 1e-6, 1e-9);
    // Clip-higher: eps_high 0.28 keeps rho = 1.2 unclipped for A > 0.
    o = opts_default();
    o.eps_high = 0.28f;
    CHECK_CLOSE(one_token_g((float)l12, 0, 1.0f, o, &st), -1.2, 1e-6, 1e-9);
    // mu = 1: logp == old gives rho = 1 exactly and g = -A.
    o = opts_default();
    CHECK(one_token_g(-2.5f, -2.5f, 0.75f, o, &st) == -0.75f);
    // Nonsense options are refused.
    o.dual_clip = 0.5f;
    float g, lp = 0, A = 1;
    uint8_t m = 1;
    CHECK(rl_loss_coeffs(&g, NULL, &lp, &lp, NULL, &A, &m, 1, 1, &o) == -1);
    o = opts_default();
    o.beta = 0.1f;
    CHECK(rl_loss_coeffs(&g, NULL, &lp, &lp, NULL, &A, &m, 1, 1, &o) == -1 && strstr(err_msg(), "reference"));
}

static void test_kl(void) {
    double d;
    // Hand values at logp = -1, ref = -2: d = ref - logp = -1.
    CHECK_CLOSE(rl_kl(KL_K1, -1, -2, &d), 1.0, 1e-12, 1e-12);
    CHECK(d == 1.0);
    CHECK_CLOSE(rl_kl(KL_K2, -1, -2, &d), 0.5, 1e-12, 1e-12);
    CHECK_CLOSE(d, 1.0, 1e-12, 1e-12);
    CHECK_CLOSE(rl_kl(KL_K3, -1, -2, &d), exp(-1.0) + 1 - 1, 1e-12, 1e-12);
    CHECK_CLOSE(d, 1 - exp(-1.0), 1e-12, 1e-12);
    // k3 is zero with zero gradient at logp == ref, and never negative.
    CHECK(rl_kl(KL_K3, -3, -3, &d) == 0 && d == 0);
    for (double x = -3; x <= 3; x += 0.25) CHECK(rl_kl(KL_K3, x, 0.3, &d) >= 0);
    // Derivatives against central differences.
    for (int k = 0; k < 3; k++)
        for (double x = -2; x <= 1; x += 0.5) {
            double h = 1e-6, dd, a, b;
            rl_kl((KlEstimator)k, x, -0.7, &dd);
            a = rl_kl((KlEstimator)k, x + h, -0.7, &d);
            b = rl_kl((KlEstimator)k, x - h, -0.7, &d);
            CHECK_CLOSE(dd, (a - b) / (2 * h), 1e-6, 1e-6);
        }
}

static void test_aggregation(void) {
    // Two rows: 2 and 3 masked tokens, rho = 1, A = 1, beta = 0, so g = -w.
    enum { R = 2, T = 4 };
    float lp[R * T] = {0}, adv[R * T], g[R * T];
    uint8_t m[R * T] = {0, 1, 1, 0, 1, 1, 1, 0};
    for (int i = 0; i < R * T; i++) adv[i] = 1;
    LossOpts o = opts_default();
    o.global_seqs = 4;         // this minibatch is half of the step
    o.global_tokens = 10;
    o.max_completion_len = 6;
    o.agg = LOSS_AGG_SEQ_MEAN_TOKEN_MEAN;
    CHECK(rl_loss_coeffs(g, NULL, lp, lp, NULL, adv, m, R, T, &o) == 0);
    CHECK_CLOSE(g[1], -1.0 / (2 * 4), 1e-7, 1e-9);
    CHECK_CLOSE(g[4], -1.0 / (3 * 4), 1e-7, 1e-9);
    CHECK(g[0] == 0 && g[3] == 0 && g[7] == 0);
    o.agg = LOSS_AGG_TOKEN_MEAN;
    rl_loss_coeffs(g, NULL, lp, lp, NULL, adv, m, R, T, &o);
    CHECK_CLOSE(g[1], -1.0 / 10, 1e-7, 1e-9);
    CHECK_CLOSE(g[6], -1.0 / 10, 1e-7, 1e-9);
    o.agg = LOSS_AGG_SEQ_MEAN_TOKEN_SUM_NORM;
    rl_loss_coeffs(g, NULL, lp, lp, NULL, adv, m, R, T, &o);
    CHECK_CLOSE(g[2], -1.0 / (4 * 6), 1e-7, 1e-9);
    CHECK_CLOSE(g[5], -1.0 / (4 * 6), 1e-7, 1e-9);
    o.agg = LOSS_AGG_BNPO;
    rl_loss_coeffs(g, NULL, lp, lp, NULL, adv, m, R, T, &o);
    CHECK_CLOSE(g[1], -1.0 / 5, 1e-7, 1e-9);
}

// Loss value for finite differences: rl_loss_coeffs's st.loss.
static double loss_at(const float *lp, const float *old, const float *ref, const float *adv,
                      const uint8_t *m, int R, int T, const LossOpts *o) {
    float *g = malloc(sizeof(float) * (size_t)R * T);
    LossStats st;
    rl_loss_coeffs(g, &st, lp, old, ref, adv, m, R, T, o);
    free(g);
    return st.loss;
}

static void test_fd_all_options(void) {
    enum { R = 3, T = 5 };
    float lp[R * T], old[R * T], ref[R * T], adv[R * T], g[R * T];
    uint8_t m[R * T];
    unsigned s = 12345;
    for (int i = 0; i < R * T; i++) {
        s = s * 1103515245u + 12345u;
        float u = (float)((s >> 8) & 0xffff) / 65536.0f;
        old[i] = -0.5f - 2 * u;
        lp[i] = old[i] + 0.3f * (u - 0.5f);   // ratios within about ±15%
        ref[i] = old[i] + 0.5f * (0.5f - u);
        m[i] = (i % T) >= 1 && !(i / T == 2 && i % T == 4);
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) adv[r * T + t] = r == 0 ? 0.8f : r == 1 ? -1.1f : 0.3f;
    for (int agg = 0; agg < 4; agg++)
        for (int kl = 0; kl < 3; kl++)
            for (int ratio = 0; ratio < 2; ratio++) {
                LossOpts o = opts_default();
                o.eps_low = 0.1f;
                o.eps_high = 0.12f;
                o.agg = (LossAgg)agg;
                o.kl = (KlEstimator)kl;
                o.ratio = (RatioLevel)ratio;
                o.beta = 0.05f;
                o.global_seqs = 5;
                o.global_tokens = 20;
                o.dual_clip = 3;
                CHECK(rl_loss_coeffs(g, NULL, lp, old, ref, adv, m, R, T, &o) == 0);
                for (int i = 0; i < R * T; i++) {
                    float keep = lp[i], h = 1e-3f;
                    lp[i] = keep + h;
                    double a = loss_at(lp, old, ref, adv, m, R, T, &o);
                    lp[i] = keep - h;
                    double b = loss_at(lp, old, ref, adv, m, R, T, &o);
                    lp[i] = keep;
                    double fd = (a - b) / (2.0 * (double)h);
                    CHECK(fabs(g[i] - fd) <= 2e-4 * fmax(fabs(fd), 1e-2), "agg %d kl %d ratio %d token %d: g %g fd %g",
                          agg, kl, ratio, i, g[i], fd);
                }
            }
}

static void test_gspo(void) {
    // One row of 2 tokens, log ratios 0.1 and 0.3: s = exp(0.2), inside [1-0.3, 1+0.3].
    float lp[2] = {0.1f, 0.3f}, old[2] = {0, 0}, adv[2] = {2, 2}, g[2];
    uint8_t m[2] = {1, 1};
    LossOpts o = opts_default();
    o.ratio = RATIO_SEQUENCE;
    o.eps_low = o.eps_high = 0.3f;
    LossStats st;
    CHECK(rl_loss_coeffs(g, &st, lp, old, NULL, adv, m, 1, 2, &o) == 0);
    // Loss = mean over tokens of -s*A = -s*A; dL/dlogp_t = -A * s / 2.
    double sv = exp(0.2);
    CHECK_CLOSE(st.loss, -sv * 2, 1e-6, 1e-9);
    CHECK_CLOSE(g[0], -2 * sv / 2, 1e-6, 1e-9);
    CHECK_CLOSE(g[1], g[0], 1e-7, 1e-9);
    // Tiny GSPO range clips the sequence: both tokens get 0.
    o.eps_low = 3e-4f;
    o.eps_high = 4e-4f;
    rl_loss_coeffs(g, &st, lp, old, NULL, adv, m, 1, 2, &o);
    CHECK(g[0] == 0 && g[1] == 0 && st.clip_high == 2);
}

static void test_hicra(void) {
    const char *text = "Step 1: 12+7=19. Wait, let me check: 12+7 is 19. So the answer is 19.";
    // Tokens: split at fixed byte offsets (as a tokenizer's pieces would be).
    int off[] = {0, 5, 8, 16, 21, 25, 28, 32, 38, 47, 50, 57, 64, (int)strlen(text)};
    int n = (int)(sizeof off / sizeof off[0]) - 1;
    uint8_t plan[16];
    Lexicon *lx = lexicon_builtin();
    CHECK(lx != NULL);
    double counts[256] = {0};
    int found = hicra_mark(plan, text, strlen(text), off, n, lx, counts);
    // "wait let me check" and "let me check" both occur (bytes 17..35).
    CHECK(found == 2, "found %d", found);
    // "Wait" starts at byte 17 (token 3), "check" ends at byte 35 (inside token 7).
    int expect[] = {0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
    for (int t = 0; t < n; t++) CHECK(plan[t] == expect[t], "token %d [%d,%d) planning %d", t, off[t], off[t + 1], plan[t]);
    float adv[4] = {1, 1, -1, -1};
    uint8_t p4[4] = {1, 0, 1, 0};
    hicra_apply(adv, p4, 4, 0.2f);
    CHECK(adv[0] == 1.2f && adv[1] == 1.0f && adv[2] == -0.8f && adv[3] == -1.0f);
    double c2[3] = {2, 2, 0};
    CHECK_CLOSE(semantic_entropy(c2, 3), log(2.0), 1e-12, 1e-12);
    CHECK(semantic_entropy(c2 + 2, 1) == 0);
    lexicon_free(lx);
    // Extraction counts completions, not occurrences, and keeps the top fraction.
    const char *docs[] = {"we try again and again we try again", "so we try again now", "nothing here at all", NULL};
    Lexicon *ex = lexicon_extract(docs, 3, 2, 1.0);
    CHECK(ex && lexicon_size(ex) == 1 && strcmp(lexicon_gram(ex, 0), "we try again") == 0);
    lexicon_free(ex);
    const char *bad[] = {"two words", NULL};
    CHECK(lexicon_from_list(bad) == NULL && strstr(err_msg(), "3 to 5"));
}

static void test_gae(void) {
    // Rewards only at the last token, gamma = 1, lambda = 0.95 (PPO on LLMs).
    float r[4] = {0, 0, 0, 1}, v[4] = {0.5f, 0.6f, 0.7f, 0.8f}, a[4], ret[4];
    uint8_t m[4] = {1, 1, 1, 1};
    rl_gae(a, ret, r, v, m, 1, 4, 1.0f, 0.95f);
    double d3 = 1 - 0.8, d2 = 0.8 - 0.7, d1 = 0.7 - 0.6, d0 = 0.6 - 0.5;
    double a3 = d3, a2 = d2 + 0.95 * a3, a1 = d1 + 0.95 * a2, a0 = d0 + 0.95 * a1;
    CHECK_CLOSE(a[3], a3, 1e-6, 1e-9);
    CHECK_CLOSE(a[2], a2, 1e-6, 1e-9);
    CHECK_CLOSE(a[0], a0, 1e-6, 1e-9);
    CHECK_CLOSE(ret[0], a0 + 0.5, 1e-6, 1e-9);
}

// Fixture mode: {"cases": [{"R","T","logp","old","ref","adv","mask", options...}]}
// → {"g": [[...], ...], "loss": [...]}
static int run_fixture(const char *in, const char *out) {
    char *text = file_read_all(in, NULL);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!root) { fprintf(stderr, "bad fixture %s\n", in); return 1; }
    cJSON *res = cJSON_CreateObject(), *gs = cJSON_AddArrayToObject(res, "g"), *ls = cJSON_AddArrayToObject(res, "loss");
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        int R = cJSON_GetObjectItem(c, "R")->valueint, T = cJSON_GetObjectItem(c, "T")->valueint, n = R * T;
        float *buf = calloc((size_t)n * 5, sizeof(float));
        uint8_t *m = calloc((size_t)n, 1);
        const char *keys[4] = {"logp", "old", "ref", "adv"};
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < n; i++) buf[k * n + i] = (float)cJSON_GetArrayItem(cJSON_GetObjectItem(c, keys[k]), i)->valuedouble;
        for (int i = 0; i < n; i++) m[i] = (uint8_t)cJSON_GetArrayItem(cJSON_GetObjectItem(c, "mask"), i)->valueint;
        LossOpts o = {
            .eps_low = (float)cJSON_GetObjectItem(c, "eps_low")->valuedouble,
            .eps_high = (float)cJSON_GetObjectItem(c, "eps_high")->valuedouble,
            .dual_clip = (float)cJSON_GetObjectItem(c, "dual_clip")->valuedouble,
            .beta = (float)cJSON_GetObjectItem(c, "beta")->valuedouble,
            .kl = (KlEstimator)cJSON_GetObjectItem(c, "kl")->valueint,
            .agg = (LossAgg)cJSON_GetObjectItem(c, "agg")->valueint,
            .ratio = (RatioLevel)cJSON_GetObjectItem(c, "ratio")->valueint,
            .global_tokens = cJSON_GetObjectItem(c, "global_tokens")->valuedouble,
            .global_seqs = cJSON_GetObjectItem(c, "global_seqs")->valuedouble,
            .max_completion_len = cJSON_GetObjectItem(c, "max_len")->valueint,
        };
        LossStats st;
        float *g = buf + 4 * n;
        if (rl_loss_coeffs(g, &st, buf, buf + n, buf + 2 * n, buf + 3 * n, m, R, T, &o) != 0) {
            fprintf(stderr, "case failed: %s\n", err_msg());
            return 1;
        }
        cJSON *ga = cJSON_CreateArray();
        for (int i = 0; i < n; i++) cJSON_AddItemToArray(ga, cJSON_CreateNumber(g[i]));
        cJSON_AddItemToArray(gs, ga);
        cJSON_AddItemToArray(ls, cJSON_CreateNumber(st.loss));
        free(buf);
        free(m);
    }
    char *s = cJSON_PrintUnformatted(res);
    int rc = file_write_atomic(out, s, strlen(s));
    free(s);
    cJSON_Delete(res);
    cJSON_Delete(root);
    return rc != 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--fixture") == 0) return run_fixture(argv[2], argv[3]);
    test_advantages();
    test_clip_branches();
    test_kl();
    test_aggregation();
    test_fd_all_options();
    test_gspo();
    test_hicra();
    test_gae();
    return TEST_END();
}
