// The SFT objective's gradients (train/sft.h sft_batch_pass). Without arguments:
// dLoss/dlogp is exactly 0 at every position that does not score a target, and
// two micro-batches accumulate the gradients of the whole batch. With --fixture
// DIR it is the C side of tests/test_sft_grad.py: one batch with masked
// prompts, once completion-only and once on every token; writes the loss, the
// argmax hits (mean_token_accuracy's numerator), dLoss/dlogp and every
// parameter gradient.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "test.h"
#include "test_grpo_grad_fixture.h"
#include "train/sft.h"

static void put(FILE *f, double d) { fwrite(&d, sizeof d, 1, f); }

// Forward and backward of rows ex[0..R) in micro-batches of `micro` rows, as
// one update: the loss into *loss, the targets that are their position's argmax
// into *correct and dLoss/dlogp into g (R, T).
static int pass(Model *m, SftBatch *b, const SftExample *const *ex, int R, int micro, int prompt_loss, double *loss,
                long *correct, float *g) {
    long N = 0;
    *correct = 0;
    double nll = 0;
    for (int r = 0; r < R; r++) N += sft_targets(ex[r], prompt_loss);
    model_zero_grad(m);
    for (int r = 0; r < R; r += micro) {
        int k = R - r < micro ? R - r : micro;
        if (sft_batch_pass(m, b, ex + r, k, prompt_loss, N, &nll, correct) != 0) return -1;
        memcpy(g + (size_t)r * b->T, b->g, sizeof(float) * (size_t)k * b->T);
    }
    *loss = nll / (double)N;
    return 0;
}

static int run_fixture(const char *dir) {
    Model m;
    cJSON *j = fixture_open(dir, &m);
    int R = fixture_int(j, "R"), T = fixture_int(j, "T"), micro = fixture_int(j, "micro");
    int *ids = fixture_ints(j, "ids", R * T), *lens = fixture_ints(j, "lens", R);
    float *train = fixture_floats(j, "train", R * T);   // 0/1
    unsigned char *mask = malloc((size_t)R * T);
    SftExample *ex = malloc(sizeof *ex * R);
    const SftExample **rows = malloc(sizeof *rows * R);
    float *g = calloc((size_t)R * T, sizeof(float));
    for (int i = 0; i < R * T; i++) mask[i] = (unsigned char)train[i];
    for (int r = 0; r < R; r++) {
        ex[r] = (SftExample){.ids = ids + r * T, .len = lens[r], .train = mask + r * T};
        rows[r] = &ex[r];
    }
    SftBatch b;
    if (sft_batch_init(&b, &m, micro, T, 0) != 0) fixture_die(err_msg());
    char path[4096];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f) fixture_die("cannot write out.bin");
    int rc = 0;
    for (int prompt_loss = 0; prompt_loss <= 1 && rc == 0; prompt_loss++) {
        double loss;
        long correct;
        rc = pass(&m, &b, rows, R, micro, prompt_loss, &loss, &correct, g);
        if (rc) fprintf(stderr, "%s\n", err_msg());
        put(f, loss);
        put(f, (double)correct);
        for (int i = 0; i < R * T; i++) put(f, g[i]);
        fixture_write_grads(f, j, &m);
    }
    fclose(f);
    sft_batch_free(&b);
    free(ids), free(lens), free(train), free(mask), free(ex), free(rows), free(g);
    model_free(&m);
    cJSON_Delete(j);
    return rc;
}

// ---- standalone: masked positions and micro-batches

enum { R = 4, T = 12, V = 37 };
static const int lens[R] = {12, 7, 10, 4};
static const int prompts[R] = {5, 2, 9, 1};

static void check_masks_and_micro(void) {
    ModelConfig c = {.model_type = "qwen2", .vocab_size = V, .hidden_size = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                     .head_dim = 4, .intermediate_size = 24, .max_position = 32, .rope_theta = 10000, .rms_eps = 1e-6,
                     .tie_embeddings = 1, .attn_bias = 1, .qk_norm = 0, .bos_token_id = -1};
    Model m;
    CHECK(model_create(&m, &c, 1) == 0, "%s", err_msg());
    model_init_random(&m, 3, 0.3f);
    Rng rng;
    rng_init(&rng, 9);
    int ids[R * T];
    for (int i = 0; i < R * T; i++) ids[i] = (int)rng_below(&rng, V);
    SftExample ex[R];
    const SftExample *rows[R];
    for (int r = 0; r < R; r++) ex[r] = (SftExample){.ids = ids + r * T, .len = lens[r], .n_prompt = prompts[r]}, rows[r] = &ex[r];
    SftBatch whole, half;
    CHECK(sft_batch_init(&whole, &m, R, T, 0) == 0 && sft_batch_init(&half, &m, 2, T, 0) == 0, "%s", err_msg());
    float g1[R * T], g2[R * T];
    double l1, l2;
    long c1, c2;
    CHECK(pass(&m, &whole, rows, R, R, 0, &l1, &c1, g1) == 0, "%s", err_msg());
    float *grads = malloc(sizeof(float) * m.n_params);
    memcpy(grads, m.grads, sizeof(float) * m.n_params);
    CHECK(pass(&m, &half, rows, R, 2, 0, &l2, &c2, g2) == 0, "%s", err_msg());
    CHECK(c1 == c2, "argmax hits %ld whole vs %ld in micro-batches", c1, c2);
    int masked = 0, targets = 0;
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) {
            int target = t < lens[r] - 1 && t + 1 >= prompts[r];
            float v = g1[r * T + t];
            if (target) {
                CHECK(v == -1.0f / 16, "row %d position %d: dLoss/dlogp %g, expected -1/16", r, t, v);
                targets++;
            } else {
                CHECK(v == 0.0f, "row %d position %d is masked but has dLoss/dlogp %g", r, t, v);
                masked++;
            }
        }
    CHECK(targets == 16 && masked == R * T - 16, "targets %d", targets);
    double d = 0, n = 0;
    for (size_t i = 0; i < m.n_params; i++) d += pow(grads[i] - m.grads[i], 2), n += pow(grads[i], 2);
    CHECK(fabs(l1 - l2) <= 1e-6 * fabs(l1), "loss %.9g whole vs %.9g in micro-batches", l1, l2);
    CHECK(sqrt(d / n) <= 1e-5, "micro-batch gradients differ from the whole batch's by %.3g", sqrt(d / n));
    // prompt_loss counts every next token: all but the first of each row.
    CHECK(sft_targets(&ex[0], 1) == 11 && sft_targets(&ex[0], 0) == 7, "targets %d / %d", sft_targets(&ex[0], 1),
          sft_targets(&ex[0], 0));
    printf("masked positions %d have dLoss/dlogp 0; micro-batches: loss %.6g, gradient error %.2e\n", masked, l1,
           sqrt(d / n));
    free(grads);
    sft_batch_free(&whole);
    sft_batch_free(&half);
    model_free(&m);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--fixture") == 0) return run_fixture(argv[2]);
    check_masks_and_micro();
    return TEST_END();
}
