// KV-cache decode against an independent double-precision forward
// (decode_ref.h): the log-prob of every sampled token equals the full
// forward's log softmax(z/τ) at that position, for llama (GQA, untied),
// qwen2 (biases, tied head) and qwen3 (q/k norms, head_dim ≠ C/NH) configs,
// with prompts of different lengths in one batch and prefill split in chunks.
// In bf16 the sampled log-probs agree with the bf16 training forward as
// tightly as the fp32 pair does (1e-5 relative), and with the double
// reference within bf16's bound (5e-2 relative, 0.1 absolute floor).
#include "base/err.h"
#include "base/sys.h"
#include "decode_ref.h"
#include "gen/sampler.h"
#include "model/forward.h"
#include "model/decode.h"
#include "model/kvcache.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

// Sample B prompts × G, then recompute each completion with the reference and
// compare logp token by token.
static void check_config(const char *type, Precision prec) {
    ModelConfig cfg = ref_config(type);
    Model m;
    CHECK(model_create(&m, &cfg, 0) == 0, "%s: %s", type, err_msg());
    model_init_random(&m, 11, 0.3f);
    ref_perturb(&m, 12);
    CHECK(model_set_precision(&m, prec) == 0, "%s", err_msg());
    double ref_tol = prec == PRECISION_BF16 ? 5e-2 : 1e-5, ref_floor = prec == PRECISION_BF16 ? 0.1 : 1e-3;
    enum { B = 3, G = 2, NEW = 10 };
    int lens[B] = {5, 1, 9};
    int p0[] = {1, 2, 3, 4, 5}, p1[] = {7}, p2[] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
    const int *prompts[B] = {p0, p1, p2};
    uint32_t index[B] = {0, 1, 2};
    Sampler *s = sampler_create(&cfg, B * G, 9 + NEW);
    CHECK(s != NULL, "%s", err_msg());
    SamplerOpts o = sampler_opts_default();
    o.temperature = 0.8f;
    o.max_new_tokens = NEW;
    o.seed = 5;
    Completion out[B * G];
    CHECK(sampler_generate(s, &m, prompts, lens, index, B, G, &o, out) == 0, "%s", err_msg());
    double worst = 0;
    int V = cfg.vocab_size, differ = 0;
    for (int q = 0; q < B * G; q++) {
        int b = q / G, T = lens[b] + out[q].n;
        CHECK(out[q].n == NEW && out[q].finish == SAMPLER_FINISH_LENGTH, "n %d finish %d", out[q].n, out[q].finish);
        int *ids = malloc(sizeof(int) * T);
        double *lp = malloc(sizeof(double) * T * V);
        memcpy(ids, prompts[b], sizeof(int) * lens[b]);
        memcpy(ids + lens[b], out[q].ids, sizeof(int) * out[q].n);
        ref_logsoftmax_all(&m, ids, T, o.temperature, lp);
        for (int t = 0; t < out[q].n; t++) {
            double want = lp[(size_t)(lens[b] - 1 + t) * V + out[q].ids[t]];
            double err = fabs(out[q].logp[t] - want) / fmax(fabs(want), 1e-3);
            if (err > worst) worst = err;
            CHECK_CLOSE(out[q].logp[t], want, ref_tol, ref_floor);
        }
        if (q % G && memcmp(out[q].ids, out[q - 1].ids, sizeof(int) * NEW)) differ++;
        free(ids);
        free(lp);
    }
    CHECK(differ > 0, "%s: the G samples of every prompt are identical", type);
    // the training forward on the right-padded batch of prompt + completion rows
    enum { TMAX = 9 + NEW };
    int ids[B * G * TMAX], rlen[B * G];
    float flp[B * G * TMAX];
    memset(ids, 0, sizeof ids);
    for (int q = 0; q < B * G; q++) {
        int b = q / G;
        rlen[q] = lens[b] + out[q].n;
        memcpy(ids + q * TMAX, prompts[b], sizeof(int) * lens[b]);
        memcpy(ids + q * TMAX + lens[b], out[q].ids, sizeof(int) * out[q].n);
    }
    ModelActs *acts = model_acts_create(&m, B * G, TMAX);
    CHECK(acts != NULL, "%s", err_msg());
    CHECK(model_forward(&m, acts, ids, rlen, B * G, TMAX, o.temperature, flp, NULL) == 0, "%s", err_msg());
    double worst_fwd = 0;
    for (int q = 0; q < B * G; q++)
        for (int t = 0; t < out[q].n; t++) {
            double want = flp[q * TMAX + lens[q / G] - 1 + t];
            worst_fwd = fmax(worst_fwd, fabs(out[q].logp[t] - want) / fmax(fabs(want), 1e-3));
            CHECK_CLOSE(out[q].logp[t], want, 1e-5, 1e-3);
        }
    const char *pn = prec == PRECISION_BF16 ? "bf16" : "fp32";
    printf("%s %s: worst relative logp error vs model_forward %.3g\n", type, pn, worst_fwd);
    model_acts_free(acts);
    printf("%s %s: worst relative logp error vs reference %.3g\n", type, pn, worst);
    // bf16 is in effect: the double reference (fp32 weights) sees the rounding
    if (prec == PRECISION_BF16) CHECK(worst > 1e-4, "%s bf16: logp as close to fp32 as fp32 is (%.3g)", type, worst);
    sampler_free(s);
    model_free(&m);
}

// Prefill in several chunks (with packed weights) and in one call (weights
// packed per call) must give the same logits bit for bit. On two threads the
// one call and the last chunk split their rows between the threads, so rows
// of one slot read keys that the other thread stored in the same call.
static void check_chunked_prefill(void) {
    ModelConfig cfg = ref_config("llama");
    Model m;
    CHECK(model_create(&m, &cfg, 0) == 0);
    model_init_random(&m, 3, 0.3f);
    enum { T = 40 };
    Arena a;
    size_t bytes = 2 * kvcache_bytes(&cfg, 1, T) + decode_bytes(&cfg, T, T, 2, 0) + decode_bytes(&cfg, T, T, 2, 1);
    CHECK(arena_init(&a, bytes) == 0);
    KVCache kv1, kv2;
    Decoder d1, d2;
    CHECK(kvcache_init(&kv1, &a, &cfg, 1, T) == 0 && kvcache_init(&kv2, &a, &cfg, 1, T) == 0, "%s", err_msg());
    CHECK(decode_init(&d1, &a, &cfg, T, T, 2, 0) == 0 && decode_init(&d2, &a, &cfg, T, T, 2, 1) == 0, "%s", err_msg());
    decode_pack(&d2, &m);
    int tok[T], slot[T], pos[T], last = T - 1;
    for (int t = 0; t < T; t++) tok[t] = (t * 7) % cfg.vocab_size, slot[t] = 0, pos[t] = t;
    float z1[64], z2[64];
    CHECK(decode_forward(&d1, &m, &kv1, tok, slot, pos, NULL, NULL, T, &last, 1, z1) == 0);
    int h = T - 10;   // three chunks of 5, 4, 31 positions (last row of the last chunk)
    CHECK(decode_forward(&d2, &m, &kv2, tok, slot, pos, NULL, NULL, 5, NULL, 0, NULL) == 0);
    CHECK(decode_forward(&d2, &m, &kv2, tok + 5, slot, pos + 5, NULL, NULL, 4, NULL, 0, NULL) == 0);
    CHECK(decode_forward(&d2, &m, &kv2, tok + 9, slot, pos + 9, NULL, NULL, T - 9, &h, 1, z2) == 0);
    CHECK(memcmp(z1, z2, sizeof(float) * cfg.vocab_size) == 0, "chunked, packed prefill logits differ");
    // a bad token / position is an error, not a crash
    int badtok = cfg.vocab_size, badpos = T;
    CHECK(decode_forward(&d1, &m, &kv1, &badtok, slot, pos, NULL, NULL, 1, NULL, 0, NULL) == -1);
    CHECK(decode_forward(&d1, &m, &kv1, tok, slot, &badpos, NULL, NULL, 1, NULL, 0, NULL) == -1);
    arena_free(&a);
    model_free(&m);
}

// A row reading its prompt from a shared prefix slot equals a row whose slot
// holds a copy of it (bit for bit), across a key-block boundary (35 > 32).
static void check_shared_prefix(void) {
    ModelConfig cfg = ref_config("qwen3");
    Model m;
    CHECK(model_create(&m, &cfg, 0) == 0);
    model_init_random(&m, 9, 0.3f);
    ref_perturb(&m, 10);
    enum { T = 40, P = 35 };
    Arena a;
    CHECK(arena_init(&a, kvcache_bytes(&cfg, 3, T) + decode_bytes(&cfg, P, T, 2, 0)) == 0);
    KVCache kv;
    Decoder d;
    CHECK(kvcache_init(&kv, &a, &cfg, 3, T) == 0 && decode_init(&d, &a, &cfg, P, T, 2, 0) == 0, "%s", err_msg());
    int tok[P], slot[P], pos[P];
    for (int t = 0; t < P; t++) tok[t] = (t * 5 + 2) % cfg.vocab_size, slot[t] = 0, pos[t] = t;
    CHECK(decode_forward(&d, &m, &kv, tok, slot, pos, NULL, NULL, P, NULL, 0, NULL) == 0, "%s", err_msg());
    kvcache_copy_prefix(&kv, 1, 0, P);
    float z[2 * 64];   // (2, V)
    for (int step = 0; step < 3; step++) {
        int t2[2] = {3 + step, 3 + step}, s2[2] = {1, 2}, p2[2] = {P + step, P + step};
        int ps[2] = {1, 0}, pl[2] = {0, P}, rows[2] = {0, 1};
        CHECK(decode_forward(&d, &m, &kv, t2, s2, p2, ps, pl, 2, rows, 2, z) == 0, "%s", err_msg());
        CHECK(memcmp(z, z + cfg.vocab_size, sizeof(float) * cfg.vocab_size) == 0, "step %d: shared prefix differs from a copy", step);
    }
    int bad_pl = P + 1, bad_ps = 0, t1 = 1, s1 = 2, p1 = P;
    CHECK(decode_forward(&d, &m, &kv, &t1, &s1, &p1, &bad_ps, &bad_pl, 1, NULL, 0, NULL) == -1);
    arena_free(&a);
    model_free(&m);
}

// A prompt longer than one prefill call (256 rows) is split across calls
// after a short one: logp of both still equals the reference.
static void check_long_prompt(void) {
    ModelConfig cfg = ref_config("llama");
    cfg.max_position = 512;
    Model m;
    CHECK(model_create(&m, &cfg, 0) == 0);
    model_init_random(&m, 21, 0.3f);
    enum { L0 = 300, L1 = 7, NEW = 4 };
    int p0[L0], p1[L1], lens[2] = {L1, L0};   // the short one first: the long one spans two calls
    for (int t = 0; t < L0; t++) p0[t] = (t * 11 + 3) % cfg.vocab_size;
    for (int t = 0; t < L1; t++) p1[t] = (t * 5 + 1) % cfg.vocab_size;
    const int *prompts[2] = {p1, p0};
    uint32_t index[2] = {4, 5};
    Sampler *s = sampler_create(&cfg, 2, L0 + NEW);
    SamplerOpts o = sampler_opts_default();
    o.max_new_tokens = NEW;
    Completion out[2];
    CHECK(s && sampler_generate(s, &m, prompts, lens, index, 2, 1, &o, out) == 0, "%s", err_msg());
    for (int b = 0; b < 2 && s; b++) {
        int T = lens[b] + out[b].n, V = cfg.vocab_size, ids[L0 + NEW];
        double *lp = malloc(sizeof(double) * T * V);
        memcpy(ids, prompts[b], sizeof(int) * lens[b]);
        memcpy(ids + lens[b], out[b].ids, sizeof(int) * out[b].n);
        ref_logsoftmax_all(&m, ids, T, 1.0, lp);
        for (int t = 0; t < out[b].n; t++)
            CHECK_CLOSE(out[b].logp[t], lp[(size_t)(lens[b] - 1 + t) * V + out[b].ids[t]], 1e-5, 1e-3);
        free(lp);
    }
    sampler_free(s);
    model_free(&m);
}

int main(void) {
    threads_set(2);   // decode splits rows between threads from 16 rows on
    check_shared_prefix();
    check_long_prompt();
    check_config("llama", PRECISION_FP32);
    check_config("qwen2", PRECISION_FP32);
    check_config("qwen3", PRECISION_FP32);
    check_config("llama", PRECISION_BF16);
    check_config("qwen2", PRECISION_BF16);
    check_config("qwen3", PRECISION_BF16);
    check_chunked_prefill();
    return TEST_END();
}
