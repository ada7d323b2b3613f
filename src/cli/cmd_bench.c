// aha bench: the engine's speed on the two reference configurations —
// training forward+backward tokens/s, batched generation tokens/s, achieved
// GFLOP/s, peak RSS — next to this machine's measured sgemm peak. Random
// weights; it measures, it asserts nothing.
#include "cli/cli.h"

#include "base/err.h"
#include "base/sys.h"
#include "gen/sampler.h"
#include "kernels/ops.h"
#include "model/adamw.h"
#include "model/forward.h"
#include "model/model.h"
#include "model/presets.h"
#include "rollout/rollout.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *CMD = "bench";

// Which configurations to run.
enum { BENCH_A, BENCH_B, BENCH_ALL };
static const OptChoice config_choices[] = {{"a", BENCH_A}, {"b", BENCH_B}, {"all", BENCH_ALL}, {NULL, 0}};

typedef struct {
    int config, reps, threads, train, gen, precision;
} BenchFlags;

#define F(x) offsetof(BenchFlags, x)
static const OptDef bench_options[] = {
    {"config", OPT_ENUM, F(config), 0, 0, 0, config_choices, "which configurations to time", NULL, NULL, 0},
    {"reps", OPT_INT, F(reps), 0, 1, 100, NULL, "timed repetitions (after one warm-up)", NULL, NULL, 0},
    OPT_GROUP_ENTRY(BenchFlags, threads, threads_options),
    OPT_GROUP_ENTRY(BenchFlags, precision, precision_options),
    {"train", OPT_BOOL, F(train), 0, 0, 1, NULL, "time training", NULL, NULL, 0},
    {"gen", OPT_BOOL, F(gen), 0, 0, 1, NULL, "time generation", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F

static void bench_defaults(void *cfg) { *(BenchFlags *)cfg = (BenchFlags){BENCH_ALL, 3, 0, 1, 1, PRECISION_FP32}; }

const CliOptions bench_cli = {
    bench_options, sizeof(BenchFlags), bench_defaults,
    "aha bench [--config a|b|all] [--reps N] [--threads N] [--precision fp32|bf16] [--no-train] [--no-gen]",
    "Times the engine on random llama-style models (untied, no biases, rope 10000):\n"
    "  (a) dim 256, 4 layers, 4 heads, vocab 512, ffn 704\n"
    "  (b) dim 512, 8 layers, 8 heads, vocab 2048, ffn 1376\n"
    "training: forward + backward on 16 rows x 256 tokens (and one AdamW step);\n"
    "generation: B 8 prompts x G 8 samples, prompt 32 tokens, 96 new tokens, temperature 1.\n"
    "GFLOP/s counts 6*(body + head matmul params) + 12*L*d*S per training token, as bench/torch_grpo_peer.py does. Medians over --reps after one warm-up. Ends with one line 'JSON {...}' for tools.", NULL, 0};

// The two reference configurations are the small and large presets.
typedef struct {
    const char *name, *preset;
} BenchConfig;

static const BenchConfig CONFIGS[] = {{"a", "small"}, {"b", "large"}};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Best GFLOP/s of square sgemm products (M = N = K = n) with the current threads.
static double sgemm_peak(int n, int reps) {
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n);
    float *c = malloc(sizeof(float) * (size_t)n * n);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0;
    }
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) {
        double t0 = time_now();
        gemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = time_now() - t0;
        if (r > 0 && dt < best) best = dt;
    }
    free(a), free(b), free(c);
    return 2.0 * n * (double)n * n / best * 1e-9;
}

static ModelConfig bench_model(const BenchConfig *b, int max_pos) {
    ModelPreset p = *model_preset(b->preset);
    p.context = max_pos;
    ModelConfig c;
    model_config_llama(&c, &p);
    return c;
}

typedef struct {
    double train_s, train_tok_s, train_gflops, adamw_s;
    double gen_s, gen_tok_s, gen_gflops;
    double rss_mb;
    size_t params;
} BenchResult;

// Matmul parameters as the peer counts them: body (every layer matrix) and head (V x C).
static void matmul_params(const Model *m, double *body, double *head) {
    *body = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].ndim == 2 && strncmp(m->tensors[i].name, "model.layers.", 13) == 0)
            *body += (double)m->tensors[i].numel;
    *head = (double)m->cfg.vocab_size * m->cfg.hidden_size;
}

static int bench_train(Model *m, int reps, BenchResult *r) {
    enum { R = 16, T = 256 };
    ModelActs *acts = model_acts_create(m, R, T);
    if (!acts) return -1;
    int *ids = malloc(sizeof(int) * R * T), lens[R];
    float *logp = malloc(sizeof(float) * R * T), *g = malloc(sizeof(float) * R * T);
    double *times = malloc(sizeof(double) * (size_t)(reps + 1)), *opt_t = malloc(sizeof(double) * (size_t)(reps + 1));
    AdamW opt;
    AdamWConfig oc = adamw_defaults();
    int rc = (ids && logp && g && times && opt_t) ? adamw_init(&opt, m, &oc) : err_set("out of memory");
    if (rc == 0) {
        for (int i = 0; i < R * T; i++) ids[i] = (int)((i * 2654435761u) % (unsigned)m->cfg.vocab_size);
        for (int i = 0; i < R; i++) lens[i] = T;
        for (int i = 0; i < R * T; i++) g[i] = -1.0f / (R * (T - 1));   // token-mean cross-entropy
        for (int s = 0; s <= reps && rc == 0; s++) {
            model_zero_grad(m);
            double t0 = time_now();
            rc = model_forward(m, acts, ids, lens, R, T, 1.0f, logp, NULL);
            if (rc == 0) rc = model_backward(m, acts, g);
            double t1 = time_now();
            adamw_step(&opt, m, 1.0f);
            double t2 = time_now();
            if (s > 0) times[s - 1] = t1 - t0, opt_t[s - 1] = t2 - t1;
        }
        adamw_free(&opt);
    }
    if (rc == 0) {
        double body, head;
        matmul_params(m, &body, &head);
        double flops_tok = 6 * (body + head) + 12.0 * m->cfg.n_layers * m->cfg.hidden_size * T;
        r->train_s = median(times, reps);
        r->adamw_s = median(opt_t, reps);
        r->train_tok_s = R * T / r->train_s;
        r->train_gflops = flops_tok * R * T / r->train_s * 1e-9;
    }
    model_acts_free(acts);
    free(ids), free(logp), free(g), free(times), free(opt_t);
    return rc;
}

static int bench_gen(const Model *m, int reps, BenchResult *r) {
    enum { B = 8, G = 8, P = 32, N = 96 };
    Sampler *s = sampler_create(&m->cfg, B * G, P + N);
    if (!s) return -1;
    int ids[B * P], lens[B];
    const int *prompts[B];
    uint32_t index[B];
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < P; t++) ids[b * P + t] = (b * 131 + t * 17 + 3) % m->cfg.vocab_size;
        prompts[b] = ids + b * P, lens[b] = P, index[b] = (uint32_t)b;
    }
    SamplerOpts o = sampler_opts_default();
    o.max_new_tokens = N;
    Completion out[B * G];
    double *times = malloc(sizeof(double) * (size_t)(reps + 1));
    long toks = 0;
    int rc = times ? 0 : err_set("out of memory");
    for (int k = 0; k <= reps && rc == 0; k++) {
        o.step = (uint32_t)k;
        double t0 = time_now();
        rc = sampler_generate(s, m, prompts, lens, index, B, G, &o, out);
        double dt = time_now() - t0;
        if (k > 0) times[k - 1] = dt;
        toks = 0;
        for (int q = 0; q < B * G; q++) toks += out[q].n;
    }
    if (rc == 0) {
        double body, head;
        matmul_params(m, &body, &head);
        double L = m->cfg.n_layers, d = m->cfg.hidden_size, NS = B * G;
        // The peer's count: prompt and generated tokens through the body, the
        // head on generated tokens, attention 4·d·context per token and layer.
        double flops = 2 * body * (NS * P + NS * (N - 1)) + 2 * head * NS * N + 4 * d * L * P * P * NS;
        for (int t = 0; t < N - 1; t++) flops += 4 * d * L * (P + t) * NS;
        r->gen_s = median(times, reps);
        r->gen_tok_s = (double)toks / r->gen_s;
        r->gen_gflops = flops / r->gen_s * 1e-9;
    }
    free(times);
    sampler_free(s);
    return rc;
}

int cmd_bench(void *cfg) {
    const BenchFlags *f = cfg;
    threads_set(f->threads);
    if (model_precision_set(f->precision) != 0) return cli_fail(CMD, "%s", err_msg());
    log_quiet(1);
    double peak = sgemm_peak(2048, 3);
#if defined(AHA_DNNL)
    const char *backend = "oneDNN matmul";
#elif defined(AHA_BLAS)
    const char *backend = "OpenBLAS sgemm";
#else
    const char *backend = "plain gemm";
#endif
    printf("threads %d; %s peak (2048^3, best of 3): %.1f GFLOP/s\n", threads_get(), backend, peak);
    printf("%-3s %9s | %8s %10s %8s %7s %8s | %8s %10s %8s | %8s\n", "cfg", "params", "train s", "tok/s", "GF/s",
           "%peak", "adamw s", "gen s", "tok/s", "GF/s", "RSS MB");
    char json[4096];
    int jl = snprintf(json, sizeof json, "{\"threads\":%d,\"backend\":\"%s\",\"sgemm_peak_gflops\":%.2f,\"configs\":[",
                      threads_get(), backend, peak);
    int first = 1;
    for (size_t k = 0; k < sizeof CONFIGS / sizeof CONFIGS[0]; k++) {
        const BenchConfig *b = &CONFIGS[k];
        if (f->config != BENCH_ALL && strcmp(opt_choice_name(config_choices, f->config), b->name) != 0) continue;
        ModelConfig c = bench_model(b, 512);
        Model m;
        if (model_create(&m, &c, f->train) != 0) return cli_fail(CMD, "%s", err_msg());
        model_init_random(&m, 1, 0.02f);
        BenchResult r = {.params = m.n_params};
        if (f->train && bench_train(&m, f->reps, &r) != 0) {
            model_free(&m);
            return cli_fail(CMD, "training (%s): %s", b->name, err_msg());
        }
        if (f->gen && bench_gen(&m, f->reps, &r) != 0) {
            model_free(&m);
            return cli_fail(CMD, "generation (%s): %s", b->name, err_msg());
        }
        model_free(&m);
        r.rss_mb = (double)peak_rss_bytes() / (1 << 20);
        printf("%-3s %8.1fM | %8.3f %10.0f %8.1f %6.0f%% %8.4f | %8.3f %10.0f %8.1f | %8.0f\n", b->name,
               (double)r.params / 1e6, r.train_s, r.train_tok_s, r.train_gflops, 100 * r.train_gflops / peak,
               r.adamw_s, r.gen_s, r.gen_tok_s, r.gen_gflops, r.rss_mb);
        fflush(stdout);
        jl += snprintf(json + jl, sizeof json - (size_t)jl,
                       "%s{\"config\":\"%s\",\"params\":%zu,\"train_s\":%.4f,\"train_tok_s\":%.1f,"
                       "\"train_gflops\":%.2f,\"adamw_s\":%.4f,\"gen_s\":%.4f,\"gen_tok_s\":%.1f,\"gen_gflops\":%.2f,"
                       "\"peak_rss_mb\":%.1f}",
                       first ? "" : ",", b->name, r.params, r.train_s, r.train_tok_s, r.train_gflops, r.adamw_s,
                       r.gen_s, r.gen_tok_s, r.gen_gflops, r.rss_mb);
        first = 0;
    }
    printf("(peak RSS is the process's high-water mark so far, so (b) includes (a))\nJSON %s]}\n", json);
    return 0;
}
