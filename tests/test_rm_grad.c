// Reward-model losses and gradients (train/rm.h). Without arguments: the
// Bradley–Terry and cross-entropy losses on hand-worked numbers (and far out in
// both tails without overflow), a score read at the row's last token that does
// not depend on padding or on the other rows, and micro-batches whose
// gradients add up to the whole batch's. With --fixture DIR it is the C side of
// tests/test_rm_grad.py: one pairwise batch (with margins) and one pointwise
// batch, each in micro-batches, writing the loss, the scores, dLoss/dr and
// every gradient of the trunk and the head.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "test.h"
#include "test_grpo_grad_fixture.h"
#include "train/rm.h"

static void put(FILE *f, double d) { fwrite(&d, sizeof d, 1, f); }

// One update's forward and backward over the P pairs (seq[0..P) chosen,
// seq[P..2P) rejected; margin (P)), or with label over the P labelled rows, in
// micro-batches of `micro` rows: the loss (mean over rows), scores and
// dLoss/dr (2P or P) and the head's gradient dhead (C + 1, zeroed here).
static int pass(Model *m, RmBatch *b, const float *head, const SftExample *const *seq, int P, const float *margin,
                const float *label, int micro, double *loss, float *score, float *dscore, float *dhead) {
    const SftExample *rows[64];
    float s[64], d[64];
    int pair = label == NULL;
    model_zero_grad(m);
    memset(dhead, 0, sizeof(float) * ((size_t)m->cfg.hidden_size + 1));
    *loss = 0;
    for (int i = 0; i < P; i += micro) {
        int k = P - i < micro ? P - i : micro, n = pair ? 2 * k : k;
        for (int r = 0; r < k; r++) {
            rows[r] = seq[i + r];
            if (pair) rows[k + r] = seq[P + i + r];
        }
        if (rm_forward(m, b, head, rows, n, s) != 0) return -1;
        *loss += pair ? rm_pair_loss(d, d + k, s, s + k, margin + i, k, P) : rm_point_loss(d, s, label + i, k, P);
        for (int r = 0; r < k; r++) {
            score[i + r] = s[r], dscore[i + r] = d[r];
            if (pair) score[P + i + r] = s[k + r], dscore[P + i + r] = d[k + r];
        }
        if (rm_backward(m, b, head, d, n, dhead) != 0) return -1;
    }
    return 0;
}

static int run_fixture(const char *dir) {
    Model m;
    cJSON *j = fixture_open(dir, &m);
    int S = fixture_int(j, "S"), T = fixture_int(j, "T"), micro = fixture_int(j, "micro"), C = m.cfg.hidden_size;
    int *ids = fixture_ints(j, "ids", S * T), *lens = fixture_ints(j, "lens", S);
    float *head = fixture_floats(j, "head", C + 1), *margin = fixture_floats(j, "margin", S / 2);
    float *label = fixture_floats(j, "label", S);
    SftExample *ex = calloc((size_t)S, sizeof *ex);
    const SftExample **seq = malloc(sizeof *seq * S);
    float *score = malloc(sizeof(float) * S), *dscore = malloc(sizeof(float) * S), *dhead = malloc(sizeof(float) * (C + 1));
    for (int r = 0; r < S; r++) ex[r] = (SftExample){.ids = ids + r * T, .len = lens[r]}, seq[r] = &ex[r];
    RmBatch b;
    if (rm_batch_init(&b, &m, 2 * micro, T) != 0) fixture_die(err_msg());
    char path[4096];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f) fixture_die("cannot write out.bin");
    int rc = 0;
    for (int pointwise = 0; pointwise <= 1 && rc == 0; pointwise++) {
        double loss;
        int n = pointwise ? S : S / 2;
        rc = pass(&m, &b, head, seq, n, margin, pointwise ? label : NULL, micro, &loss, score, dscore, dhead);
        if (rc) fprintf(stderr, "%s\n", err_msg());
        put(f, loss);
        for (int i = 0; i < S; i++) put(f, score[i]);
        for (int i = 0; i < S; i++) put(f, dscore[i]);
        fixture_write_grads(f, j, &m);
        for (int i = 0; i <= C; i++) put(f, dhead[i]);
    }
    fclose(f);
    rm_batch_free(&b);
    free(ids), free(lens), free(head), free(margin), free(label), free(ex), free(seq), free(score), free(dscore), free(dhead);
    model_free(&m);
    cJSON_Delete(j);
    return rc;
}

// ---- standalone

static void check_losses(void) {
    float rc[4] = {1, 0, 60, -60}, rr[4] = {0, 0, -60, 60}, mg[4] = {0, 0.5f, 0, 0}, dc[4], dr[4];
    double l = rm_pair_loss(dc, dr, rc, rr, mg, 4, 4);
    // −log σ(1) = 0.3132617, −log σ(−0.5) = 0.9740770, −log σ(120) ≈ 0, −log σ(−120) = 120
    double want = (0.31326168751822286 + 0.97407698418010669 + 0 + 120) / 4;
    CHECK(fabs(l - want) < 1e-9, "pairwise loss %.12g, expected %.12g", l, want);
    CHECK(fabs(dc[0] + 0.26894142136999512 / 4) < 1e-7 && dr[0] == -dc[0], "dLoss/dr_c %g, dLoss/dr_r %g", dc[0], dr[0]);
    CHECK(fabs(dc[1] + 0.62245933120185459 / 4) < 1e-7, "with margin 0.5: dLoss/dr_c %g", dc[1]);
    CHECK(fabs(dc[2]) < 1e-30 && fabs(dc[3] + 0.25) < 1e-7, "tails: %g %g", dc[2], dc[3]);
    float r[3] = {0, 2, -80}, y[3] = {1, 0, 1}, d[3];
    l = rm_point_loss(d, r, y, 3, 3);
    // BCE: log 2, softplus(2) = 2.126928, softplus(−80) + 80 = 80
    want = (0.69314718055994531 + 2.1269280110429727 + 80) / 3;
    CHECK(fabs(l - want) < 1e-9, "pointwise loss %.12g, expected %.12g", l, want);
    CHECK(fabs(d[0] + 0.5 / 3) < 1e-7 && fabs(d[1] - 0.88079707797788231 / 3) < 1e-7 && fabs(d[2] + 1.0 / 3) < 1e-7,
          "dLoss/dr %g %g %g", d[0], d[1], d[2]);
    printf("losses: pairwise %.6f, pointwise %.6f, as worked by hand\n", rm_pair_loss(dc, dr, rc, rr, mg, 4, 4), l);
}

enum { R = 4, T = 11, V = 37 };
static const int lens[R] = {11, 5, 8, 3};

static void check_scores_and_micro(void) {
    ModelConfig c = {.model_type = "qwen2", .vocab_size = V, .hidden_size = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                     .head_dim = 4, .intermediate_size = 24, .max_position = 32, .rope_theta = 10000, .rms_eps = 1e-6,
                     .tie_embeddings = 1, .attn_bias = 1, .bos_token_id = -1};
    Model m;
    CHECK(model_create(&m, &c, 1) == 0, "%s", err_msg());
    model_init_random(&m, 5, 0.3f);
    float head[17];
    Rng rng;
    rng_init(&rng, 4);
    for (int i = 0; i < 17; i++) head[i] = (float)rng_normal(&rng) * 0.5f;
    int ids[R * T];
    for (int i = 0; i < R * T; i++) ids[i] = (int)rng_below(&rng, V);
    SftExample ex[R];
    const SftExample *seq[R];
    for (int r = 0; r < R; r++) ex[r] = (SftExample){.ids = ids + r * T, .len = lens[r]}, seq[r] = &ex[r];
    RmBatch b;
    CHECK(rm_batch_init(&b, &m, R, T) == 0, "%s", err_msg());
    float all[R], one, pos;
    CHECK(rm_forward(&m, &b, head, seq, R, all) == 0, "%s", err_msg());
    for (int r = 0; r < R; r++) {
        // The score is the value at the last token; alone it is the same.
        pos = b.values[(size_t)r * T + lens[r] - 1];
        CHECK(all[r] == pos, "row %d: score %g, value at its last token %g", r, all[r], pos);
        CHECK(rm_forward(&m, &b, head, &seq[r], 1, &one) == 0, "%s", err_msg());
        CHECK(fabsf(one - all[r]) <= 1e-5f * (1 + fabsf(one)), "row %d: %g alone, %g in the batch", r, one, all[r]);
    }
    float margin[2] = {0.3f, -0.2f}, score[R], ds[R], dh1[17], dh2[17];
    double l1, l2;
    CHECK(pass(&m, &b, head, seq, 2, margin, NULL, 2, &l1, score, ds, dh1) == 0, "%s", err_msg());
    float *g = malloc(sizeof(float) * m.n_params);
    memcpy(g, m.grads, sizeof(float) * m.n_params);
    CHECK(pass(&m, &b, head, seq, 2, margin, NULL, 1, &l2, score, ds, dh2) == 0, "%s", err_msg());
    double d = 0, n = 0;
    for (size_t i = 0; i < m.n_params; i++) d += pow(g[i] - m.grads[i], 2), n += pow(g[i], 2);
    for (int i = 0; i < 17; i++) d += pow(dh1[i] - dh2[i], 2), n += pow(dh1[i], 2);
    CHECK(fabs(l1 - l2) <= 1e-6 * fabs(l1), "loss %.9g whole vs %.9g in micro-batches", l1, l2);
    CHECK(n > 0 && sqrt(d / n) <= 1e-5, "micro-batch gradients differ from the whole batch's by %.3g", sqrt(d / n));
    printf("scores read at the last token, independent of the batch; micro-batches: loss %.6g, gradient error %.2e\n",
           l1, sqrt(d / n));
    free(g);
    rm_batch_free(&b);
    model_free(&m);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--fixture") == 0) return run_fixture(argv[2]);
    check_losses();
    check_scores_and_micro();
    return TEST_END();
}
