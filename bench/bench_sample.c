// Generation throughput of the batched sampler on a random model: B prompts ×
// G samples, prompt P tokens, N new tokens (no stop), tokens/s of new tokens.
// Build and run: make bench, then
//   OMP_WAIT_POLICY=PASSIVE build/bench/bench_sample [dim layers heads vocab ffn] [B G P N] [reps]
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/sys.h"
#include "gen/sampler.h"
#include "model/model.h"
#include "model/presets.h"

// User + system CPU seconds of this process (all threads): under a loaded
// machine it shows the work done, where wall time shows the waiting too.
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

int main(int argc, char **argv) {
    int a[10] = {256, 4, 4, 512, 704, 8, 8, 32, 96, 5};
    for (int i = 1; i < argc && i <= 10; i++) a[i - 1] = atoi(argv[i]);
    ModelPreset shape = {"bench", a[0], a[1], a[2], a[2], a[3], a[4], 4096};
    ModelConfig c;
    model_config_llama(&c, &shape);   // untied, as the PyTorch peer
    int B = a[5], G = a[6], P = a[7], N = a[8], reps = a[9];
    Model m;
    if (model_create(&m, &c, 0) != 0) return fprintf(stderr, "%s\n", err_msg()), 1;
    model_init_random(&m, 1, 0.02f);
    Sampler *s = sampler_create(&c, B * G, P + N);
    if (!s) return fprintf(stderr, "%s\n", err_msg()), 1;
    int *ids = malloc(sizeof(int) * B * P), lens[256];
    const int *pp[256];
    uint32_t idx[256];
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < P; t++) ids[b * P + t] = (b * 31 + t * 17) % c.vocab_size;
        pp[b] = ids + b * P, lens[b] = P, idx[b] = (uint32_t)b;
    }
    SamplerOpts o = sampler_opts_default();
    o.max_new_tokens = N;
    Completion *out = malloc(sizeof(Completion) * B * G);
    double best = 1e30, tot = 0, cpu_best = 1e30;
    for (int r = 0; r < reps; r++) {
        o.step = (uint32_t)r;
        double t0 = time_now(), c0 = cpu_seconds();
        if (sampler_generate(s, &m, pp, lens, idx, B, G, &o, out) != 0) return fprintf(stderr, "%s\n", err_msg()), 1;
        double dt = time_now() - t0, dc = cpu_seconds() - c0;
        if (dc < cpu_best) cpu_best = dc;
        tot += dt;
        if (dt < best) best = dt;
    }
    long toks = 0;
    for (int q = 0; q < B * G; q++) toks += out[q].n;
    double flops = 2.0 * (double)m.n_params * (double)toks;
    printf("d%d L%d H%d V%d F%d  B%d G%d P%d N%d  threads %d: best %.3f s (%.0f tok/s, %.1f GF/s weights), "
           "mean %.3f s, least CPU time %.3f s\n",
           a[0], a[1], a[2], a[3], a[4], B, G, P, N, threads_get(), best, toks / best, flops / best * 1e-9, tot / reps,
           cpu_best);
    sampler_free(s);
    model_free(&m);
    free(ids);
    free(out);
    return 0;
}
