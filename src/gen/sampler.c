// The generation loop: chunked prefill of every prompt into its first sample
// slot (the group's other slots read that prefix in place), then one decode_forward per
// step over the live sequences, token choice per row (gen/pick.c) and stop
// checks. All memory is sized in sampler_create; the loop never allocates.
#include "gen/sampler.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "base/sys.h"
#include "kernels/omp.h"
#include "gen/pick.h"
#include "model/decode.h"
#include "model/kvcache.h"

#define SAMPLER_PREFILL_ROWS 256   // rows per prefill call (at least max_seqs)
#define TAIL (SAMPLER_MAX_STOP_LEN - 1)   // text bytes kept per sequence for stop strings

// Letters: S = max_seqs sequence slots, T = max_len, R rows per decode call.
struct Sampler {
    ModelConfig cfg;
    int max_seqs, max_len, max_rows, n_threads;
    int release;       // the packed weights go back to the system after each call
    Arena arena;
    KVCache kv;
    Decoder dec;
    PickScratch *pick;  // (n_threads)
    float *logits;      // (S, V) one row per prompt (prefill) or live sequence (decode)
    int *tokens;        // (R) row inputs of one decode_forward call
    int *slots;         // (R)
    int *pos;           // (R)
    int *head_rows;     // (R)
    int *prefix_slot;   // (R) slot holding the row's prompt (b·G)
    int *prefix_len;    // (R) its prompt length
    int *live;          // (S) sequences still decoding, in sequence order
    int *ids;           // (S, T) sampled tokens
    float *logp;        // (S, T)
    int *n;             // (S) tokens sampled so far
    int *finish;        // (S) 0 while live
    int *stop_string;   // (S)
    char *tail;         // (S, TAIL) last bytes of each completion's text
    int *tail_len;      // (S)
};

SamplerOpts sampler_opts_default(void) {
    SamplerOpts o;
    memset(&o, 0, sizeof o);
    o.temperature = 1.0f;
    o.top_p = 1.0f;
    o.max_new_tokens = 1;
    return o;
}

static int threads_cap(const Sampler *s) {
    int t = threads_get();
    return t < s->n_threads ? t : s->n_threads;
}

size_t sampler_bytes(const ModelConfig *cfg, int max_seqs, int max_len) {
    int max_rows = max_seqs > SAMPLER_PREFILL_ROWS ? max_seqs : SAMPLER_PREFILL_ROWS, n_threads = threads_get();
    size_t S = (size_t)max_seqs, T = (size_t)max_len, R = (size_t)max_rows, V = (size_t)cfg->vocab_size;
    size_t ints = sizeof(int);
    return kvcache_bytes(cfg, max_seqs, max_len) + decode_bytes(cfg, max_rows, max_len, n_threads, 1) +
           arena_round((size_t)n_threads * sizeof(PickScratch)) + (size_t)n_threads * pick_bytes(cfg->vocab_size) +
           arena_round(S * V * sizeof(float)) + 6 * arena_round(R * ints) + 5 * arena_round(S * ints) +
           arena_round(S * T * ints) + arena_round(S * T * sizeof(float)) + arena_round(S * TAIL);
}

Sampler *sampler_create(const ModelConfig *cfg, int max_seqs, int max_len) {
    if (max_seqs < 1 || max_len < 2) {
        err_set("sampler: need max_seqs >= 1 and max_len >= 2 (got %d, %d)", max_seqs, max_len);
        return NULL;
    }
    Sampler *s = calloc(1, sizeof *s);
    if (!s) {
        err_set("out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->max_seqs = max_seqs;
    s->max_len = max_len;
    s->max_rows = max_seqs > SAMPLER_PREFILL_ROWS ? max_seqs : SAMPLER_PREFILL_ROWS;
    s->n_threads = threads_get();
    size_t S = (size_t)max_seqs, T = (size_t)max_len, R = (size_t)s->max_rows, V = (size_t)cfg->vocab_size;
    size_t ints = sizeof(int);
    if (arena_init(&s->arena, sampler_bytes(cfg, max_seqs, max_len)) != 0) goto fail;
    Arena *a = &s->arena;
    if (kvcache_init(&s->kv, a, cfg, max_seqs, max_len) != 0) goto fail;
    if (decode_init(&s->dec, a, cfg, s->max_rows, max_len, s->n_threads, 1) != 0) goto fail;
    if (!(s->pick = arena_alloc(a, (size_t)s->n_threads * sizeof(PickScratch)))) goto fail;
    for (int t = 0; t < s->n_threads; t++)
        if (pick_init(&s->pick[t], a, cfg->vocab_size) != 0) goto fail;
    int **rviews[] = {&s->tokens, &s->slots, &s->pos, &s->head_rows, &s->prefix_slot, &s->prefix_len};
    for (int i = 0; i < 6; i++)
        if (!(*rviews[i] = arena_alloc(a, R * ints))) goto fail;
    int **sviews[] = {&s->live, &s->n, &s->finish, &s->stop_string, &s->tail_len};
    for (int i = 0; i < 5; i++)
        if (!(*sviews[i] = arena_alloc(a, S * ints))) goto fail;
    if (!(s->logits = arena_alloc(a, S * V * sizeof(float))) || !(s->ids = arena_alloc(a, S * T * ints)) ||
        !(s->logp = arena_alloc(a, S * T * sizeof(float))) || !(s->tail = arena_alloc(a, S * TAIL)))
        goto fail;
    return s;
fail:
    err_wrap("sampler for %d sequences x %d positions", max_seqs, max_len);
    sampler_free(s);
    return NULL;
}

void sampler_free(Sampler *s) {
    if (!s) return;
    arena_free(&s->arena);
    free(s);
}

static int check_opts(const Sampler *s, const SamplerOpts *o, int B, int G) {
    if (B < 1 || G < 1 || (long)B * G > s->max_seqs)
        return err_set("sampler: %d prompts x %d samples exceeds the sampler's %d sequences", B, G, s->max_seqs);
    if (!(o->temperature >= 0)) return err_set("sampler: temperature must be >= 0");
    if (o->top_k < 0) return err_set("sampler: top_k must be >= 0");
    if (!(o->top_p > 0 && o->top_p <= 1)) return err_set("sampler: top_p must be in (0, 1]");
    if (!(o->min_p >= 0 && o->min_p <= 1)) return err_set("sampler: min_p must be in [0, 1]");
    if (o->max_new_tokens < 1) return err_set("sampler: max_new_tokens must be >= 1");
    if (o->n_stop_ids < 0 || o->n_stop_ids > SAMPLER_MAX_STOPS || o->n_stop_strings < 0 ||
        o->n_stop_strings > SAMPLER_MAX_STOPS)
        return err_set("sampler: at most %d stop ids and %d stop strings", SAMPLER_MAX_STOPS, SAMPLER_MAX_STOPS);
    for (int i = 0; i < o->n_stop_strings; i++) {
        size_t len = strlen(o->stop_strings[i]);
        if (len < 1 || len > SAMPLER_MAX_STOP_LEN)
            return err_set("sampler: stop string %d has %zu bytes (need 1..%d)", i, len, SAMPLER_MAX_STOP_LEN);
    }
    if (o->n_stop_strings > 0 && !o->token_bytes) return err_set("sampler: stop strings need a tokenizer");
    return 0;
}

// Append a token's bytes to the sequence's text tail; the index of a stop
// string that now ends inside the new bytes, or -1. A match ending in the new
// bytes starts at most len-1 bytes before them, so the window is the kept
// tail plus the first TAIL bytes of the piece, or the piece alone.
static int stop_string_hit(Sampler *s, int q, const char *piece, size_t pn, const SamplerOpts *o) {
    char *tail = s->tail + (size_t)q * TAIL;
    int tl = s->tail_len[q];
    char win[2 * TAIL];
    size_t head = pn < TAIL ? pn : TAIL;
    memcpy(win, tail, (size_t)tl);
    memcpy(win + tl, piece, head);
    int hit = -1;
    for (int i = 0; i < o->n_stop_strings && hit < 0; i++) {
        const char *st = o->stop_strings[i];
        size_t sl = strlen(st);
        if (memmem(win, (size_t)tl + head, st, sl) || memmem(piece, pn, st, sl)) hit = i;
    }
    // keep the last TAIL bytes of tail ++ piece
    if (pn >= TAIL) {
        memcpy(tail, piece + pn - TAIL, TAIL);
        tl = TAIL;
    } else {
        int keep = tl + (int)pn > TAIL ? TAIL - (int)pn : tl;
        memmove(tail, tail + tl - keep, (size_t)keep);
        memcpy(tail + keep, piece, pn);
        tl = keep + (int)pn;
    }
    s->tail_len[q] = tl;
    return hit;
}

// Record token tok of sequence q and decide whether q is finished.
static void accept_token(Sampler *s, int q, int tok, float lp, const SamplerOpts *o) {
    size_t at = (size_t)q * s->max_len + (size_t)s->n[q];
    s->ids[at] = tok;
    s->logp[at] = lp;
    s->n[q]++;
    for (int i = 0; i < o->n_stop_ids; i++)
        if (tok == o->stop_ids[i]) {
            s->finish[q] = SAMPLER_FINISH_STOP;
            return;
        }
    if (o->n_stop_strings > 0) {
        size_t pn = 0;
        const char *piece = o->token_bytes(o->token_ctx, tok, &pn);
        int hit = piece ? stop_string_hit(s, q, piece, pn, o) : -1;
        if (hit >= 0) {
            s->finish[q] = SAMPLER_FINISH_STOP;
            s->stop_string[q] = hit;
            return;
        }
    }
    if (s->n[q] >= o->max_new_tokens) s->finish[q] = SAMPLER_FINISH_LENGTH;
}

// Choose the next token of each sequence in seqs (n) from logits rows
// logits_row[i] with the keyed uniform. Returns 0 or -1 (a non-finite logit).
static int choose_tokens(Sampler *s, const int *seqs, int n, const int *row_of, const uint32_t *prompt_index, int G,
                         const SamplerOpts *o) {
    PickOpts po = {o->temperature, o->top_k, o->top_p, o->min_p};
    int V = s->cfg.vocab_size, bad = -1, nt = threads_cap(s);
    (void)nt;   // unused without OpenMP
    OMP(parallel for schedule(dynamic, 1) num_threads(nt) if (n > 1))
    for (int i = 0; i < n; i++) {
        int q = seqs[i], b = q / G, g = q % G;
        double u = rng_uniform_at(o->seed, o->step, prompt_index[b], (uint32_t)g, (uint32_t)s->n[q]);
        float lp;
        int tok = pick_token(&s->pick[thread_index()], s->logits + (size_t)row_of[i] * V, V, &po, u, &lp);
        if (tok < 0) {
            OMP(critical)
            bad = q;
            continue;
        }
        accept_token(s, q, tok, lp, o);
    }
    if (bad >= 0) return err_wrap("sequence %d", bad);
    return 0;
}

// Prefill every prompt into slot b·G in chunks of max_rows rows; the logits of
// prompt b's last position land in logits row b.
static int prefill(Sampler *s, const Model *m, const int *const *prompt_ids, const int *prompt_lens, int B, int G) {
    int R = 0, n_head = 0, first_b = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < prompt_lens[b]; t++) {
            s->tokens[R] = prompt_ids[b][t];
            s->slots[R] = b * G;
            s->pos[R] = t;
            if (t == prompt_lens[b] - 1) s->head_rows[n_head++] = R;
            R++;
            int last = b == B - 1 && t == prompt_lens[b] - 1;
            if (R == s->max_rows || last) {
                float *lg = s->logits + (size_t)first_b * s->cfg.vocab_size;
                if (decode_forward(&s->dec, m, &s->kv, s->tokens, s->slots, s->pos, NULL, NULL, R, s->head_rows, n_head, lg) != 0)
                    return err_wrap("prefill of prompt %d", b);
                first_b += n_head;
                R = n_head = 0;
            }
        }
    return 0;
}

static int generate(Sampler *s, const Model *m, const int *const *prompt_ids, const int *prompt_lens,
                    const uint32_t *prompt_index, int B, int G, const SamplerOpts *o, Completion *out) {
    if (check_opts(s, o, B, G) != 0) return -1;
    const ModelConfig *c = &m->cfg;
    if (c->vocab_size != s->cfg.vocab_size || c->hidden_size != s->cfg.hidden_size || c->n_layers != s->cfg.n_layers ||
        c->n_heads != s->cfg.n_heads || c->n_kv_heads != s->cfg.n_kv_heads || c->head_dim != s->cfg.head_dim ||
        c->intermediate_size != s->cfg.intermediate_size)
        return err_set("sampler: the model's shape differs from the one the sampler was created for");
    for (int b = 0; b < B; b++) {
        if (prompt_lens[b] < 1) return err_set("sampler: prompt %d is empty", b);
        if (prompt_lens[b] + o->max_new_tokens > s->max_len)
            return err_set("sampler: prompt %d has %d tokens; with %d new tokens that exceeds the sampler's %d positions",
                           b, prompt_lens[b], o->max_new_tokens, s->max_len);
    }
    int NS = B * G;
    for (int q = 0; q < NS; q++) {
        s->n[q] = s->finish[q] = s->tail_len[q] = 0;
        s->stop_string[q] = -1;
        s->live[q] = q;
    }
    decode_pack(&s->dec, m);   // the weights may have changed since the last call
    if (prefill(s, m, prompt_ids, prompt_lens, B, G) != 0) return -1;
    // first token of sample g of prompt b: from prompt b's logits row
    for (int q = 0; q < NS; q++) s->head_rows[q] = q / G;
    if (choose_tokens(s, s->live, NS, s->head_rows, prompt_index, G, o) != 0) return -1;

    int n_live = 0;
    for (int q = 0; q < NS; q++)
        if (!s->finish[q]) s->live[n_live++] = q;
    while (n_live > 0) {
        // feed each live sequence's last token at its position; its logits go to row i
        for (int i = 0; i < n_live; i++) {
            int q = s->live[i];
            s->tokens[i] = s->ids[(size_t)q * s->max_len + s->n[q] - 1];
            s->slots[i] = q;
            s->pos[i] = prompt_lens[q / G] + s->n[q] - 1;
            s->prefix_slot[i] = q / G * G;   // the prompt's keys/values, shared by its G samples
            s->prefix_len[i] = prompt_lens[q / G];
            s->head_rows[i] = i;
        }
        if (decode_forward(&s->dec, m, &s->kv, s->tokens, s->slots, s->pos, s->prefix_slot, s->prefix_len, n_live, s->head_rows, n_live, s->logits) != 0)
            return err_wrap("decode step");
        if (choose_tokens(s, s->live, n_live, s->head_rows, prompt_index, G, o) != 0) return -1;
        int k = 0;
        for (int i = 0; i < n_live; i++)
            if (!s->finish[s->live[i]]) s->live[k++] = s->live[i];
        n_live = k;
    }
    for (int q = 0; q < NS; q++) {
        out[q].ids = s->ids + (size_t)q * s->max_len;
        out[q].logp = s->logp + (size_t)q * s->max_len;
        out[q].n = s->n[q];
        out[q].finish = (SamplerFinish)s->finish[q];
        out[q].stop_string = s->stop_string[q];
    }
    return 0;
}

int sampler_generate(Sampler *s, const Model *m, const int *const *prompt_ids, const int *prompt_lens,
                     const uint32_t *prompt_index, int B, int G, const SamplerOpts *o, Completion *out) {
    int rc = generate(s, m, prompt_ids, prompt_lens, prompt_index, B, G, o, out);
    // the packed weights are packed afresh by every call: their memory is free between calls
    if (s->release) decode_release(&s->dec, &s->arena);
    return rc;
}

void sampler_set_release(Sampler *s, int release) { s->release = release; }

size_t sampler_packed_bytes(const ModelConfig *cfg) { return decode_packed_bytes(cfg); }
