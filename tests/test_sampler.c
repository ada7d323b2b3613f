// Token choice and the sampler loop: top-k / top-p / min-p kept sets and the
// inverse-CDF mapping on hand-worked logits, sampling frequencies against the
// exact distribution, the lazy ranking against a full sort, logp before
// truncation, and the sampler's invariances (threads, batch size, neighbours),
// stop ids, stop strings spanning tokens, and the length limit.
#include "base/err.h"
#include "base/rng.h"
#include "base/sys.h"
#include "decode_ref.h"
#include "gen/pick.h"
#include "gen/sampler.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static PickScratch scratch(Arena *a, int V) {
    PickScratch s;
    CHECK(arena_init(a, pick_bytes(V)) == 0);
    CHECK(pick_init(&s, a, V) == 0, "%s", err_msg());
    return s;
}

// The set of tokens reachable over a fine grid of uniforms, as a bitmask.
static unsigned reachable(PickScratch *s, const float *z, int V, PickOpts o) {
    unsigned mask = 0;
    float lp;
    for (int i = 0; i < 2000; i++) mask |= 1u << pick_token(s, z, V, &o, (i + 0.5) / 2000, &lp);
    return mask;
}

// z = [2, 1, 0.5, 0, -1, 3]: ranking 5, 0, 1, 2, 3, 4 with τ = 1 probabilities
// p ∝ e^(z−3) = [.3679, .1353, .0821, .0498, .0183, 1]  (sum 1.6534) ⇒
// p5 .6048, p0 .2225, p1 .0818, p2 .0497, p3 .0301, p4 .0111.
static void test_hand_worked(void) {
    Arena a;
    PickScratch s = scratch(&a, 6);
    float z[6] = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, 3.0f};
    PickOpts off = {1.0f, 0, 1.0f, 0.0f};
    CHECK(reachable(&s, z, 6, off) == 0x3f);
    PickOpts k2 = off;
    k2.top_k = 2;   // {5, 0}
    CHECK(reachable(&s, z, 6, k2) == ((1u << 5) | 1u), "top-k 2: %x", reachable(&s, z, 6, k2));
    PickOpts p8 = off;
    p8.top_p = 0.8f;   // cum .6048, .8273 ≥ .8 ⇒ {5, 0}
    CHECK(reachable(&s, z, 6, p8) == ((1u << 5) | 1u), "top-p .8: %x", reachable(&s, z, 6, p8));
    PickOpts p9 = off;
    p9.top_p = 0.9f;   // .8273, .9091 ≥ .9 ⇒ {5, 0, 1}
    CHECK(reachable(&s, z, 6, p9) == ((1u << 5) | 3u), "top-p .9: %x", reachable(&s, z, 6, p9));
    PickOpts k3p9 = p9;
    k3p9.top_k = 3;   // renormalised over {5,0,1}: .6652, .9100 ≥ .9 ⇒ {5, 0}
    CHECK(reachable(&s, z, 6, k3p9) == ((1u << 5) | 1u), "top-k 3 + top-p .9: %x", reachable(&s, z, 6, k3p9));
    PickOpts mp = off;
    mp.min_p = 0.1f;   // p/p_max = e^(z−3) ≥ .1 ⇒ {5 (1), 0 (.368), 1 (.135)}; 2 (.082) out
    CHECK(reachable(&s, z, 6, mp) == ((1u << 5) | 3u), "min-p .1: %x", reachable(&s, z, 6, mp));
    // inverse CDF over {5, 0}: token 5 while u < 1/1.3679 = .73106, then 0
    float lp;
    CHECK(pick_token(&s, z, 6, &k2, 0.7300, &lp) == 5);
    CHECK(pick_token(&s, z, 6, &k2, 0.7320, &lp) == 0);
    // logp is before truncation: log(.2225) for token 0 even though top-k renormalised
    CHECK_CLOSE(lp, log(exp(-1.0) / (1 + exp(-1.0) + exp(-2.0) + exp(-2.5) + exp(-3.0) + exp(-4.0))), 1e-6, 0);
    // temperature .5: logp = log softmax(z/.5)[token]
    PickOpts t5 = {0.5f, 0, 1.0f, 0.0f};
    int tok = pick_token(&s, z, 6, &t5, 0.95, &lp);
    double den = 0;
    for (int i = 0; i < 6; i++) den += exp(z[i] / 0.5);
    CHECK_CLOSE(lp, z[tok] / 0.5 - log(den), 1e-6, 0);
    // greedy: argmax, lowest id on ties, logp at τ = 1
    float tie[4] = {0.5f, 2.0f, 2.0f, -1.0f};
    PickOpts greedy = {0.0f, 0, 1.0f, 0.0f};
    CHECK(pick_token(&s, tie, 4, &greedy, 0.99, &lp) == 1);
    CHECK_CLOSE(lp, 2.0 - log(exp(0.5) + 2 * exp(2.0) + exp(-1.0)), 1e-6, 0);
    // equal logits rank by id: thirds of [0, 1)
    float flat[3] = {1.0f, 1.0f, 1.0f};
    CHECK(pick_token(&s, flat, 3, &off, 0.10, &lp) == 0);
    CHECK(pick_token(&s, flat, 3, &off, 0.50, &lp) == 1);
    CHECK(pick_token(&s, flat, 3, &off, 0.90, &lp) == 2);
    // nothing truncated: the walk runs in id order. p = (.25, .75): token 0 below
    // u = .25, token 1 above (a ranked walk would start with token 1)
    float two[2] = {0.0f, (float)log(3.0)};
    CHECK(pick_token(&s, two, 2, &off, 0.2400, &lp) == 0);
    CHECK(pick_token(&s, two, 2, &off, 0.2600, &lp) == 1);
    CHECK_CLOSE(lp, log(0.75), 1e-6, 0);
    PickOpts k2of2 = off;
    k2of2.top_k = 2;   // top-k = V cuts nothing: the same walk
    CHECK(pick_token(&s, two, 2, &k2of2, 0.2400, &lp) == 0);
    PickOpts p99 = off;
    p99.top_p = 0.99f;   // keeps both, but ranked: token 1 first
    CHECK(pick_token(&s, two, 2, &p99, 0.2400, &lp) == 1);
    float nan_z[3] = {1.0f, NAN, 0.0f};
    CHECK(pick_token(&s, nan_z, 3, &off, 0.5, &lp) == -1);
    arena_free(&a);
}

// Frequencies of 200k draws against the exact kept distribution, computed
// here from a double-precision sort: every bucket within 5 standard errors.
static void test_frequencies(void) {
    enum { V = 10, N = 200000 };
    Arena a;
    PickScratch s = scratch(&a, V);
    float z[V] = {0.3f, -1.2f, 2.0f, 0.9f, 1.1f, -0.4f, 0.0f, 1.6f, -2.5f, 0.8f};
    PickOpts o = {0.9f, 6, 0.9f, 0.05f};
    // exact: rank 2 (2.0), 7 (1.6), 4 (1.1), 3 (.9), 9 (.8), 0 (.3) = top-6
    int rank[6] = {2, 7, 4, 3, 9, 0};
    double e[6], tot = 0, keep = 0, p[V] = {0};
    for (int j = 0; j < 6; j++) tot += e[j] = exp((z[rank[j]] - 2.0) / 0.9);
    int n = 0;
    for (double cum = 0; n < 6;) {
        cum += e[n++];
        if (cum >= 0.9 * tot) break;
    }
    while (n > 1 && e[n - 1] < 0.05) n--;
    for (int j = 0; j < n; j++) keep += e[j];
    for (int j = 0; j < n; j++) p[rank[j]] = e[j] / keep;
    int count[V] = {0};
    Rng r;
    rng_init(&r, 99);
    float lp;
    for (int i = 0; i < N; i++) count[pick_token(&s, z, V, &o, rng_uniform(&r), &lp)]++;
    for (int i = 0; i < V; i++) {
        double se = sqrt(N * p[i] * (1 - p[i])) + 1e-9;
        CHECK(fabs(count[i] - N * p[i]) <= 5 * se, "token %d: %d draws, expected %.0f", i, count[i], N * p[i]);
    }
    // nothing truncated (the id-order walk): softmax(z/.9) itself
    PickOpts all = {0.9f, 0, 1.0f, 0.0f};
    double den = 0;
    for (int i = 0; i < V; i++) den += exp(z[i] / 0.9);
    memset(count, 0, sizeof count);
    for (int i = 0; i < N; i++) count[pick_token(&s, z, V, &all, rng_uniform(&r), &lp)]++;
    for (int i = 0; i < V; i++) {
        double q = exp(z[i] / 0.9) / den, se = sqrt(N * q * (1 - q));
        CHECK(fabs(count[i] - N * q) <= 5 * se, "untruncated token %d: %d draws, expected %.0f", i, count[i], N * q);
    }
    arena_free(&a);
}

static const float *cmp_z;
static int cmp_rank(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    if (cmp_z[i] != cmp_z[j]) return cmp_z[i] > cmp_z[j] ? -1 : 1;
    return (i > j) - (i < j);
}

// The lazily built ranking (head first, tail on need) must choose exactly as a
// full sort does, including draws deep in the tail and top-k beyond the head.
static void test_lazy_ranking(void) {
    enum { V = 3000 };
    Arena a;
    PickScratch s = scratch(&a, V);
    float *z = malloc(sizeof(float) * V);
    int *order = malloc(sizeof(int) * V);
    double *e = malloc(sizeof(double) * V);
    Rng r;
    rng_init(&r, 7);
    for (int i = 0; i < V; i++) z[i] = (float)(3.0 * rng_normal(&r));
    z[17] = z[18] = z[19];   // ties
    for (int i = 0; i < V; i++) order[i] = i;
    cmp_z = z;
    qsort(order, V, sizeof(int), cmp_rank);
    int mismatches = 0;
    for (int trial = 0; trial < 400; trial++) {
        // top-k V-1 ranks (almost) the whole vocabulary; without truncation the walk runs in id order
        PickOpts o = {trial % 2 ? 1.0f : 2.5f, trial % 3 == 0 ? 1500 : V - 1, 1.0f, 0.0f};
        double u = trial < 200 ? rng_uniform(&r) : 1.0 - 1e-4 * rng_uniform(&r);   // the second half in the far tail
        int n = o.top_k;
        double tot = 0, cum = 0;
        for (int j = 0; j < n; j++) tot += e[j] = exp((z[order[j]] - z[order[0]]) / o.temperature);
        int want = order[n - 1];
        for (int j = 0; j < n; j++)
            if ((cum += e[j]) > u * tot) {
                want = order[j];
                break;
            }
        float lp;
        int got = pick_token(&s, z, V, &o, u, &lp);
        // a draw within rounding of a bucket edge may fall either way; count the rest
        if (got != want) {
            double c = 0;
            int jg = 0, jw = 0;
            for (int j = 0; j < n; j++) {
                if (order[j] == got) jg = j;
                if (order[j] == want) jw = j;
            }
            for (int j = 0; j <= (jg < jw ? jg : jw); j++) c += e[j];
            if (fabs(c - u * tot) > 1e-6 * tot || abs(jg - jw) > 1) mismatches++;
        }
    }
    CHECK(mismatches == 0, "%d of 400 draws differ from a full sort", mismatches);
    free(z);
    free(order);
    free(e);
    arena_free(&a);
}

// ---------------------------------------------------------------- sampler

static ModelConfig small_config(void) {
    ModelConfig c = ref_config("qwen2");
    c.vocab_size = 40;
    c.hidden_size = 32;
    c.n_kv_heads = 2;
    c.head_dim = 8;
    c.intermediate_size = 48;
    c.max_position = 256;
    return c;
}

enum { NP = 16, NEW = 20 };
static int prompt_store[NP][12], prompt_len[NP];
static const int *prompt_ptr[NP];
static uint32_t prompt_idx[NP];

static void make_prompts(void) {
    for (int p = 0; p < NP; p++) {
        prompt_len[p] = 1 + (p * 5) % 11;
        for (int t = 0; t < prompt_len[p]; t++) prompt_store[p][t] = (p * 13 + t * 7 + 1) % 40;
        prompt_ptr[p] = prompt_store[p];
        prompt_idx[p] = 100 + (uint32_t)p;
    }
}

// Copy completions out (the sampler owns their memory until its next call).
typedef struct {
    int ids[NEW], n, finish;
    float logp[NEW];
} Saved;

static void save(Saved *dst, const Completion *c, int n) {
    for (int i = 0; i < n; i++) {
        memset(&dst[i], 0, sizeof dst[i]);
        dst[i].n = c[i].n;
        dst[i].finish = c[i].finish;
        memcpy(dst[i].ids, c[i].ids, sizeof(int) * c[i].n);
        memcpy(dst[i].logp, c[i].logp, sizeof(float) * c[i].n);
    }
}

static int same(const Saved *a, const Saved *b) {
    return a->n == b->n && a->finish == b->finish && memcmp(a->ids, b->ids, sizeof(int) * a->n) == 0;
}

// Largest |a − b| / max(|b|, 1) over the shared positions.
static double logp_diff(const Saved *a, const Saved *b) {
    double d = 0;
    for (int t = 0; t < a->n && t < b->n; t++) d = fmax(d, fabs(a->logp[t] - b->logp[t]) / fmax(fabs(b->logp[t]), 1.0));
    return d;
}

// Decode (kernels/rowmm.c) sums every element in one order whatever the batch:
// results must be bit-identical, not merely close.
#define ROW_TOL 0.0

static void test_invariance(const Model *m) {
    enum { G = 3 };
    SamplerOpts o = sampler_opts_default();
    o.temperature = 1.3f;
    o.top_p = 0.95f;
    o.max_new_tokens = NEW;
    o.seed = 1234;
    o.step = 4;
    Sampler *s = sampler_create(&m->cfg, NP * G, 12 + NEW);
    CHECK(s != NULL, "%s", err_msg());
    static Saved all[NP * G], one[G], two[NP * G];
    Completion out[NP * G];
    int t0 = threads_get();
    threads_set(1);
    CHECK(sampler_generate(s, m, prompt_ptr, prompt_len, prompt_idx, NP, G, &o, out) == 0, "%s", err_msg());
    save(all, out, NP * G);
    threads_set(2);
    CHECK(sampler_generate(s, m, prompt_ptr, prompt_len, prompt_idx, NP, G, &o, out) == 0, "%s", err_msg());
    save(two, out, NP * G);
    int diff = 0;
    double lpd = 0;
    for (int q = 0; q < NP * G; q++) {
        diff += !same(&all[q], &two[q]);
        lpd = fmax(lpd, logp_diff(&all[q], &two[q]));
    }
    CHECK(diff == 0, "%d of %d completions differ between 1 and 2 threads", diff, NP * G);
    CHECK(lpd <= ROW_TOL, "logp differs by %g between 1 and 2 threads", lpd);
    // batch of 16 prompts vs each prompt alone; and prompt 5 in reverse order among others
    diff = 0;
    lpd = 0;
    for (int p = 0; p < NP; p++) {
        CHECK(sampler_generate(s, m, prompt_ptr + p, prompt_len + p, prompt_idx + p, 1, G, &o, out) == 0);
        save(one, out, G);
        for (int g = 0; g < G; g++) {
            diff += !same(&one[g], &all[p * G + g]);
            lpd = fmax(lpd, logp_diff(&one[g], &all[p * G + g]));
        }
    }
    CHECK(diff == 0, "%d completions differ between batch 1 and batch 16", diff);
    CHECK(lpd <= ROW_TOL, "logp differs by %g between batch 1 and batch 16", lpd);
    printf("largest logp difference, batch 1 vs 16: %.3g\n", lpd);
    const int *rp[3] = {prompt_ptr[9], prompt_ptr[5], prompt_ptr[2]};
    int rl[3] = {prompt_len[9], prompt_len[5], prompt_len[2]};
    uint32_t ri[3] = {prompt_idx[9], prompt_idx[5], prompt_idx[2]};
    CHECK(sampler_generate(s, m, rp, rl, ri, 3, G, &o, out) == 0);
    save(one, out + G, G);   // prompt 5, now second of three
    for (int g = 0; g < G; g++) CHECK(same(&one[g], &all[5 * G + g]), "prompt 5 sample %d depends on its neighbours", g);
    // sample 0 of each prompt drawn alone (G 1): its queries read the prompt's
    // keys and values in smaller groups than beside its G − 1 siblings, with
    // the same numbers
    diff = 0;
    for (int p = 0; p < NP; p++) {
        CHECK(sampler_generate(s, m, prompt_ptr + p, prompt_len + p, prompt_idx + p, 1, 1, &o, out) == 0);
        save(one, out, 1);
        diff += !same(&one[0], &all[p * G]) || logp_diff(&one[0], &all[p * G]) > ROW_TOL;
    }
    CHECK(diff == 0, "%d of %d first samples differ between G 1 and G %d", diff, NP, G);
    // the key has the prompt's global index: another index gives other samples
    uint32_t other = 999;
    CHECK(sampler_generate(s, m, prompt_ptr + 5, prompt_len + 5, &other, 1, G, &o, out) == 0);
    save(one, out, G);
    CHECK(!same(&one[0], &all[5 * G]) || !same(&one[1], &all[5 * G + 1]), "prompt index does not key the randomness");
    threads_set(t0);
    sampler_free(s);
}

// Bytes of token id: two letters, so a stop string can straddle two tokens.
static const char *letters(const void *ctx, int id, size_t *len) {
    static char tab[64][2];
    (void)ctx;
    if (id < 0 || id >= 64) return NULL;
    tab[id][0] = (char)('a' + id % 26);
    tab[id][1] = (char)('a' + (id / 3) % 26);
    *len = 2;
    return tab[id];
}

static void test_stops(const Model *m) {
    SamplerOpts o = sampler_opts_default();
    o.max_new_tokens = NEW;
    o.seed = 77;
    Sampler *s = sampler_create(&m->cfg, 4, 12 + NEW);
    Completion out[2];
    CHECK(sampler_generate(s, m, prompt_ptr, prompt_len, prompt_idx, 1, 2, &o, out) == 0, "%s", err_msg());
    Saved base[2];
    save(base, out, 2);
    CHECK(base[0].n == NEW && base[0].finish == SAMPLER_FINISH_LENGTH, "max-new-tokens: n %d finish %d", base[0].n,
          base[0].finish);
    // stop id: the token at position 6 of sample 0; it stops where it first occurs
    int stop = base[0].ids[6], first = 0;
    while (base[0].ids[first] != stop) first++;
    o.stop_ids = &stop;
    o.n_stop_ids = 1;
    CHECK(sampler_generate(s, m, prompt_ptr, prompt_len, prompt_idx, 1, 2, &o, out) == 0);
    CHECK(out[0].n == first + 1 && out[0].finish == SAMPLER_FINISH_STOP && out[0].ids[first] == stop,
          "stop id %d: n %d (want %d) finish %d", stop, out[0].n, first + 1, out[0].finish);
    CHECK(memcmp(out[0].ids, base[0].ids, sizeof(int) * out[0].n) == 0, "stopping changed the tokens before it");
    // stop string: last letter of token 8 + first letter of token 9; expected
    // end = the token where its first occurrence in the whole text ends
    o.n_stop_ids = 0;
    char text[2 * NEW + 1], st[3];
    for (int t = 0; t < NEW; t++) {
        size_t l;
        memcpy(text + 2 * t, letters(NULL, base[0].ids[t], &l), 2);
    }
    text[2 * NEW] = 0;
    st[0] = text[17];
    st[1] = text[18];
    st[2] = 0;
    int want = (int)((strstr(text, st) - text) + 1) / 2 + 1;   // tokens up to the one holding its last byte
    const char *stops[2] = {"not-there", st};
    o.stop_strings = stops;
    o.n_stop_strings = 2;
    o.token_bytes = letters;
    CHECK(sampler_generate(s, m, prompt_ptr, prompt_len, prompt_idx, 1, 2, &o, out) == 0, "%s", err_msg());
    CHECK(out[0].n == want && out[0].finish == SAMPLER_FINISH_STOP && out[0].stop_string == 1,
          "stop string '%s': n %d (want %d) finish %d", st, out[0].n, want, out[0].finish);
    // errors: stop strings without a tokenizer, a prompt too long for the cache
    o.token_bytes = NULL;
    CHECK(sampler_generate(s, m, prompt_ptr, prompt_len, prompt_idx, 1, 2, &o, out) == -1);
    o.n_stop_strings = 0;
    o.max_new_tokens = 12 + NEW;
    CHECK(sampler_generate(s, m, prompt_ptr, prompt_len, prompt_idx, 1, 2, &o, out) == -1);
    CHECK(strstr(err_msg(), "positions") != NULL, "%s", err_msg());
    sampler_free(s);
}

int main(void) {
    test_hand_worked();
    test_frequencies();
    test_lazy_ranking();
    ModelConfig cfg = small_config();
    Model m;
    CHECK(model_create(&m, &cfg, 0) == 0, "%s", err_msg());
    model_init_random(&m, 5, 0.5f);
    ref_perturb(&m, 6);
    make_prompts();
    test_invariance(&m);
    test_stops(&m);
    model_free(&m);
    // one query per kv head: a prompt sampled alone reads its prefix one query
    // at a time, beside its siblings in groups
    cfg.n_kv_heads = cfg.n_heads;
    CHECK(model_create(&m, &cfg, 0) == 0, "%s", err_msg());
    model_init_random(&m, 7, 0.5f);
    ref_perturb(&m, 8);
    test_invariance(&m);
    model_free(&m);
    // bf16 (weights and matmul inputs rounded per row): the same invariances, bit for bit
    CHECK(model_create(&m, &cfg, 0) == 0 && model_set_precision(&m, PRECISION_BF16) == 0, "%s", err_msg());
    model_init_random(&m, 7, 0.5f);
    ref_perturb(&m, 8);
    test_invariance(&m);
    model_free(&m);
    return TEST_END();
}
