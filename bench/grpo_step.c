// One GRPO step timed phase by phase, the same work as the PyTorch peer
// (../shared/bench/torch_grpo_peer.py): B prompts x G samples, prompt P tokens,
// exactly N new tokens at temperature 1, random 0/1 rewards -> group z-score
// advantages, reference log-probs, clipped surrogate + k3 KL (beta 0.04),
// token-mean over completion tokens, backward, clip 1.0, AdamW. In bf16 the
// matmuls of every phase take bf16 weights and activations (fp32 accumulation).
//   make bench && OMP_WAIT_POLICY=PASSIVE build/bench/grpo_step [small|large] [reps] [threads] [fp32|bf16]
// Prints a table and a JSON line (prefix "JSON "); "train matmuls" is the
// GFLOP/s of the weight products inside the training pass (kernels/ops.h counters).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "base/sys.h"
#include "kernels/ops.h"
#include "gen/sampler.h"
#include "model/adamw.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/presets.h"
#include "rl/loss.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "small";
    int reps = argc > 2 ? atoi(argv[2]) : 5, warmup = 1;
    if (argc > 3) threads_set(atoi(argv[3]));
    const char *prec = argc > 4 ? argv[4] : "fp32";
    if (strcmp(prec, "fp32") && strcmp(prec, "bf16")) return fprintf(stderr, "grpo_step: precision fp32 or bf16\n"), 2;
    if (model_precision_set(strcmp(prec, "bf16") ? PRECISION_FP32 : PRECISION_BF16) != 0)
        return fprintf(stderr, "%s\n", err_msg()), 1;
    int large = !strcmp(which, "large");
    ModelPreset shape = *model_preset(large ? "large" : "small");
    shape.context = 256;
    ModelConfig c;
    model_config_llama(&c, &shape);
    enum { B = 8, G = 8, P = 32, N = 96, R = B * G, T = P + N };
    Model pol, ref;
    if (model_create(&pol, &c, 1) != 0 || model_create(&ref, &c, 0) != 0) return fprintf(stderr, "%s\n", err_msg()), 1;
    model_init_random(&pol, 1, 0.02f);
    memcpy(ref.params, pol.params, sizeof(float) * pol.n_params);
    AdamWConfig ac = adamw_defaults();
    ac.lr = 1e-5;
    ac.clip_norm = 1.0;
    AdamW opt;
    Sampler *s = sampler_create(&c, R, T);
    ModelActs *acts = model_acts_create(&pol, R, T);
    if (adamw_init(&opt, &pol, &ac) != 0 || !s || !acts) return fprintf(stderr, "%s\n", err_msg()), 1;
    int *prompts = malloc(sizeof(int) * B * P), *ids = malloc(sizeof(int) * R * T), lens[R], plens[B];
    const int *pp[B];
    uint32_t pidx[B];
    float *logp = malloc(sizeof(float) * R * T), *old = calloc(R * T, sizeof(float)), *refp = malloc(sizeof(float) * R * T);
    float *adv = calloc(R * T, sizeof(float)), *g = malloc(sizeof(float) * R * T), rew[R], a[R];
    uint8_t *mask = calloc(R * T, 1);
    Completion *out = malloc(sizeof(Completion) * R);
    Rng rng;
    rng_init(&rng, 3);
    for (int i = 0; i < B * P; i++) prompts[i] = (int)rng_below(&rng, (uint64_t)c.vocab_size);
    for (int b = 0; b < B; b++) pp[b] = prompts + b * P, plens[b] = P;
    SamplerOpts so = sampler_opts_default();
    so.max_new_tokens = N;
    double tr[16], tw[16], tf[16], tt[16], to[16], tall[16], mm_s[16], mm_f[16];
    if (reps > 16) reps = 16;
    for (int it = 0; it < warmup + reps; it++) {
        double t0 = time_now();
        for (int b = 0; b < B; b++) pidx[b] = (uint32_t)(it * B + b);
        so.step = (uint32_t)it;
        if (sampler_generate(s, &pol, pp, plens, pidx, B, G, &so, out) != 0) return fprintf(stderr, "%s\n", err_msg()), 1;
        double t1 = time_now();
        for (int i = 0; i < R; i++) rew[i] = (float)(rng_uniform(&rng) < 0.5);
        rl_advantages(a, rew, B, G, ADV_SCALE_GROUP, 1e-4f);
        memset(mask, 0, R * T);
        for (int i = 0; i < R; i++) {
            memcpy(ids + i * T, pp[i / G], sizeof(int) * P);
            memcpy(ids + i * T + P, out[i].ids, sizeof(int) * (size_t)out[i].n);
            lens[i] = P + out[i].n;
            for (int j = 0; j < out[i].n; j++) {
                mask[i * T + P - 1 + j] = 1;
                adv[i * T + P - 1 + j] = a[i];
                old[i * T + P - 1 + j] = out[i].logp[j];
            }
        }
        double t2 = time_now();
        if (model_forward(&ref, acts, ids, lens, R, T, 1.0f, refp, NULL) != 0) return fprintf(stderr, "%s\n", err_msg()), 1;
        double t3 = time_now(), c0_s, c0_f, c1_s, c1_f;
        gemm_counters(&c0_s, &c0_f);
        model_zero_grad(&pol);
        model_forward(&pol, acts, ids, lens, R, T, 1.0f, logp, NULL);
        LossOpts lo = {.eps_low = 0.2f, .eps_high = 0.2f, .beta = 0.04f, .kl = KL_K3, .agg = LOSS_AGG_TOKEN_MEAN,
                       .ratio = RATIO_TOKEN, .global_seqs = R, .max_completion_len = N};
        double tok = 0;
        for (int i = 0; i < R * T; i++) tok += mask[i];
        lo.global_tokens = tok;
        rl_loss_coeffs(g, NULL, logp, old, refp, adv, mask, R, T, &lo);
        model_backward(&pol, acts, g);
        double t4 = time_now();
        gemm_counters(&c1_s, &c1_f);
        adamw_step(&opt, &pol, 1.0f);
        double t5 = time_now();
        if (it >= warmup) {
            int k = it - warmup;
            tr[k] = t1 - t0, tw[k] = t2 - t1, tf[k] = t3 - t2, tt[k] = t4 - t3, to[k] = t5 - t4, tall[k] = t5 - t0;
            mm_s[k] = c1_s - c0_s, mm_f[k] = c1_f - c0_f;
        }
    }
    double mr = median(tr, reps), mw = median(tw, reps), mf = median(tf, reps), mt = median(tt, reps);
    double mo = median(to, reps), ma = median(tall, reps), mf_flops = mm_f[0], ms = median(mm_s, reps);
    printf("aha GRPO step, config %s (%zu params), %s, B %d G %d prompt %d new %d, %d threads, median of %d\n", which,
           pol.n_params, prec, B, G, P, N, threads_get(), reps);
    printf("  rollout    %8.3f s  (%.0f new tok/s)\n", mr, R * N / mr);
    printf("  reward+adv %8.3f s\n", mw);
    printf("  reference  %8.3f s\n", mf);
    printf("  train      %8.3f s  (policy fwd + loss + bwd)\n", mt);
    printf("    matmuls  %8.3f s  (%.0f GFLOP/s on %.1f GFLOP)\n", ms, mf_flops / ms * 1e-9, mf_flops * 1e-9);
    printf("  optimizer  %8.3f s\n", mo);
    printf("  step       %8.3f s\n", ma);
    printf("  peak RSS   %8.1f MiB\n", peak_rss_bytes() / 1048576.0);
    printf("JSON {\"config\": \"%s\", \"precision\": \"%s\", \"train_matmul_s\": %.4f, \"train_matmul_gflops\": %.1f, \"step_s\": %.4f, \"rollout_s\": %.4f, \"reward_s\": %.4f, \"reference_s\": %.4f, "
           "\"train_s\": %.4f, \"optimizer_s\": %.4f, \"rollout_tok_s\": %.0f, \"peak_rss_mib\": %.1f}\n",
           which, prec, ms, mf_flops / ms * 1e-9, ma, mr, mw, mf, mt, mo, R * N / mr, peak_rss_bytes() / 1048576.0);
    return 0;
}
