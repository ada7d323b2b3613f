// Encoding: added-token split, NFC, regex pre-tokenization (PCRE2 JIT), byte-level BPE with
// a ranked merge table and a per-call cache of word results. Linear-time word merging
// (a heap) for long words; no shared mutable state, so calls may run concurrently.
#include "tok/tok_internal.h"
#include "tok/utf8.h"

#include "base/err.h"

#include <stdlib.h>
#include <string.h>

// ---- pattern rewrite (load time)
// transformers.js replaces this exact group because JavaScript lacks (?i:...); the result
// folds ASCII case only, and so do we.
static const char CONTRACTIONS[] = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
static const char CONTRACTIONS_JS[] = "(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))";

char *tok_pattern_rewrite(const char *p) {
    size_t n = strlen(p), cap = n * 8 + sizeof CONTRACTIONS_JS * 4 + 64;
    size_t cls_len = strlen(UTF8_JS_SPACE_CLASS);
    char *o = malloc(cap);
    if (!o) return NULL;
    size_t w = 0;
    int in_class = 0;
    for (size_t i = 0; i < n;) {
        if (w + cls_len + 64 + sizeof CONTRACTIONS_JS > cap) {
            cap *= 2;
            char *q = realloc(o, cap);
            if (!q) { free(o); return NULL; }
            o = q;
        }
        if (!in_class && strncmp(p + i, CONTRACTIONS, sizeof CONTRACTIONS - 1) == 0) {
            memcpy(o + w, CONTRACTIONS_JS, sizeof CONTRACTIONS_JS - 1);
            w += sizeof CONTRACTIONS_JS - 1, i += sizeof CONTRACTIONS - 1;
            continue;
        }
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char e = p[i + 1];
            if (e == 's' || (e == 'S' && !in_class)) {
                // \s inside a class: the set's body; outside: a class of it (or its complement).
                const char *open = in_class ? "" : e == 's' ? "[" : "[^";
                w += (size_t)sprintf(o + w, "%s%s%s", open, UTF8_JS_SPACE_CLASS, in_class ? "" : "]");
            } else {
                o[w++] = c, o[w++] = e;
            }
            i += 2;
            continue;
        }
        if (!in_class && c == '[') {
            in_class = 1;
            o[w++] = p[i++];
            if (i < n && p[i] == '^') o[w++] = p[i++];
            if (i < n && p[i] == ']') o[w++] = p[i++];   // a leading ']' is literal
            continue;
        }
        if (in_class && c == ']') in_class = 0;
        o[w++] = p[i++];
    }
    o[w] = 0;
    return o;
}

// ---- output ids
typedef struct {
    int *v;
    size_t n, cap;
} IdBuf;

static int ids_push(IdBuf *b, const int *ids, size_t n) {
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap * 2 : 256;
        while (b->n + n > c) c *= 2;
        int *q = realloc(b->v, c * sizeof *q);
        if (!q) return -1;
        b->v = q, b->cap = c;
    }
    memcpy(b->v + b->n, ids, n * sizeof *ids);
    b->n += n;
    return 0;
}

// ---- BPE on one word
// sym: (n) ids of the word's symbols, merged in place; returns the new count.
// Rule: repeatedly merge the adjacent pair with the lowest merge rank, the leftmost one
// among equal ranks, until no adjacent pair has a merge.
static int bpe_small(const Tokenizer *tok, int *sym, int n) {
    enum { NONE = 0x7FFFFFFF };
    int rank[64];   // rank[i]: rank of the pair (sym[i], sym[i+1]) or NONE
    int merged[64];
    for (int i = 0; i + 1 < n; i++) {
        const MergeSlot *m = tok_merge_find(tok, sym[i], sym[i + 1]);
        rank[i] = m ? m->rank : NONE;
        merged[i] = m ? m->id : -1;
    }
    while (n > 1) {
        int best = -1, br = NONE;
        for (int i = 0; i + 1 < n; i++)
            if (rank[i] < br) br = rank[i], best = i;
        if (best < 0) break;
        sym[best] = merged[best];
        memmove(sym + best + 1, sym + best + 2, (size_t)(n - best - 2) * sizeof *sym);
        memmove(rank + best + 1, rank + best + 2, (size_t)(n - best - 3 > 0 ? n - best - 3 : 0) * sizeof *rank);
        memmove(merged + best + 1, merged + best + 2, (size_t)(n - best - 3 > 0 ? n - best - 3 : 0) * sizeof *merged);
        n--;
        for (int i = best - 1; i <= best; i++) {
            if (i < 0 || i + 1 >= n) continue;
            const MergeSlot *m = tok_merge_find(tok, sym[i], sym[i + 1]);
            rank[i] = m ? m->rank : NONE;
            merged[i] = m ? m->id : -1;
        }
    }
    return n;
}

// The same rule for long words in O(n log n): a doubly linked list of symbols and a
// min-heap of candidate pairs keyed by (rank, position); stale entries are skipped.
typedef struct {
    int rank, pos, left_id, right_id;
} Cand;

static int cand_less(const Cand *a, const Cand *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(Cand *h, int *hn, Cand c) {
    int i = (*hn)++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!cand_less(&c, &h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static Cand heap_pop(Cand *h, int *hn) {
    Cand top = h[0], last = h[--*hn];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        const Cand *mv = &last;
        if (l < *hn && cand_less(&h[l], mv)) m = l, mv = &h[l];
        if (r < *hn && cand_less(&h[r], mv)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*hn > 0) h[i] = last;
    return top;
}

static int bpe_large(const Tokenizer *tok, int *sym, int n) {
    int *next = malloc((size_t)n * sizeof *next), *prev = malloc((size_t)n * sizeof *prev);
    Cand *heap = malloc((size_t)n * 3 * sizeof *heap);   // each merge pushes at most 2
    if (!next || !prev || !heap) {
        free(next), free(prev), free(heap);
        return -1;
    }
    int hn = 0;
    for (int i = 0; i < n; i++) {
        next[i] = i + 1 < n ? i + 1 : -1;
        prev[i] = i - 1;
        if (i + 1 < n) {
            const MergeSlot *m = tok_merge_find(tok, sym[i], sym[i + 1]);
            if (m) heap_push(heap, &hn, (Cand){m->rank, i, sym[i], sym[i + 1]});
        }
    }
    while (hn > 0) {
        Cand c = heap_pop(heap, &hn);
        int i = c.pos, j = next[i];
        if (sym[i] != c.left_id || j < 0 || sym[j] != c.right_id) continue;   // stale
        sym[i] = tok_merge_find(tok, sym[i], sym[j])->id;
        sym[j] = -1;
        next[i] = next[j];
        if (next[j] >= 0) prev[next[j]] = i;
        if (prev[i] >= 0) {
            const MergeSlot *m = tok_merge_find(tok, sym[prev[i]], sym[i]);
            if (m) heap_push(heap, &hn, (Cand){m->rank, prev[i], sym[prev[i]], sym[i]});
        }
        if (next[i] >= 0) {
            const MergeSlot *m = tok_merge_find(tok, sym[i], sym[next[i]]);
            if (m) heap_push(heap, &hn, (Cand){m->rank, i, sym[i], sym[next[i]]});
        }
    }
    int w = 0;
    for (int i = 0; i >= 0 && i < n; i = next[i]) sym[w++] = sym[i];
    free(next), free(prev), free(heap);
    return w;
}

// ---- the shared word cache
#define CACHE_MAX_WORD 128

struct TokEncoder {
    const Tokenizer *tok;
    IdBuf out;
    int *sym;            // scratch for one word's symbols
    size_t sym_cap;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;   // made on the first regex that needs a bigger stack
};

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q, *cap = c;
    return 0;
}

static CacheSlot *cache_find(CacheShard *c, const char *w, size_t n, uint64_t h) {
    size_t mask = c->cap - 1;
    for (size_t i = (h >> 4) & mask;; i = (i + 1) & mask) {
        CacheSlot *s = &c->slot[i];
        if (s->hash == 0 || (s->hash == h && s->key_len == n && memcmp(c->keys + s->key_off, w, n) == 0))
            return s;
    }
}

// Append the cached ids of word w; returns 1 if found, 0 if not, -1 on failure.
static int cache_get(TokEncoder *e, const char *w, size_t n, uint64_t h) {
    CacheShard *c = (CacheShard *)&e->tok->cache[h & (TOK_CACHE_SHARDS - 1)];
    int r = 0;
    pthread_mutex_lock(&c->mu);
    if (c->cap) {
        const CacheSlot *s = cache_find(c, w, n, h);
        if (s->hash) r = ids_push(&e->out, c->vals + s->val_off, s->val_len) ? -1 : 1;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

static void cache_put(const Tokenizer *tok, const char *w, size_t n, uint64_t h, const int *ids, int k) {
    CacheShard *c = (CacheShard *)&tok->cache[h & (TOK_CACHE_SHARDS - 1)];
    pthread_mutex_lock(&c->mu);
    if (c->used >= TOK_CACHE_SHARD_WORDS) {   // full: start over
        memset(c->slot, 0, c->cap * sizeof *c->slot);
        c->used = c->keys_n = c->vals_n = 0;
    }
    if (!c->cap && !(c->slot = calloc(c->cap = 2 * TOK_CACHE_SHARD_WORDS, sizeof *c->slot))) c->cap = 0;
    if (c->cap && !grow((void **)&c->keys, &c->keys_cap, c->keys_n + n, 1) &&
        !grow((void **)&c->vals, &c->vals_cap, c->vals_n + (size_t)k, sizeof *c->vals)) {
        CacheSlot *s = cache_find(c, w, n, h);
        if (!s->hash) {
            memcpy(c->keys + c->keys_n, w, n);
            memcpy(c->vals + c->vals_n, ids, (size_t)k * sizeof *ids);
            *s = (CacheSlot){h, (uint32_t)c->keys_n, (uint32_t)n, (uint32_t)c->vals_n, (uint32_t)k};
            c->keys_n += n, c->vals_n += (size_t)k, c->used++;
        }
    }
    pthread_mutex_unlock(&c->mu);
}

// Encode one pre-tokenized word (raw bytes) and append its ids.
static int encode_word(TokEncoder *e, const char *w, size_t n) {
    const Tokenizer *tok = e->tok;
    if (n == 1) return ids_push(&e->out, &tok->byte_id[(unsigned char)w[0]], 1);
    uint64_t h = 0;
    if (n <= CACHE_MAX_WORD) {
        h = tok_hash_bytes(w, n) | 1;
        int r = cache_get(e, w, n, h);
        if (r) return r < 0 ? -1 : 0;
    }
    if (grow((void **)&e->sym, &e->sym_cap, n, sizeof *e->sym)) return -1;
    int *sym = e->sym, k = -1;
    if (tok->ignore_merges && n <= CACHE_MAX_WORD) {
        char buf[4 * CACHE_MAX_WORD];
        size_t bl = 0;
        for (size_t i = 0; i < n; i++) bl += (size_t)utf8_put(utf8_byte_cp((unsigned char)w[i]), buf + bl);
        int id = tok_lookup(tok, buf, bl);
        if (id >= 0) sym[0] = id, k = 1;
    }
    if (k < 0) {
        for (size_t i = 0; i < n; i++) sym[i] = tok->byte_id[(unsigned char)w[i]];
        k = n <= 64 ? bpe_small(tok, sym, (int)n) : bpe_large(tok, sym, (int)n);
        if (k < 0) return -1;
    }
    if (h) cache_put(tok, w, n, h, sym, k);
    return ids_push(&e->out, sym, (size_t)k);
}

// ---- pre-tokenization: regex stage `stage` splits s into matches and the gaps between
// them (Hugging Face "Isolated"), each handed to the next stage; after the last, BPE.
static int split_stage(TokEncoder *e, int stage, const char *s, size_t n) {
    if (n == 0) return 0;
    if (stage == e->tok->n_split) return encode_word(e, s, n);
    const pcre2_code *re = e->tok->split[stage];
    size_t at = 0, prev = 0;
    while (at <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, at, PCRE2_NO_UTF_CHECK, e->md, e->mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !e->jstack) {
            if (!(e->jstack = pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, NULL)))
                return err_set("encode: out of memory for the regex stack");
            pcre2_jit_stack_assign(e->mctx, NULL, e->jstack);
            continue;
        }
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return err_set("encode: pre-tokenizer regex failed: %s", (char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
        size_t ms = ov[0], me = ov[1];
        if (me > ms) {
            if (ms > prev && split_stage(e, stage + 1, s + prev, ms - prev)) return -1;
            if (split_stage(e, stage + 1, s + ms, me - ms)) return -1;
            prev = at = me;
        } else {
            // An empty match still ends the gap before it; then step one character on,
            // as JavaScript's matchAll does.
            if (ms > prev && split_stage(e, stage + 1, s + prev, ms - prev)) return -1;
            if (ms > prev) prev = ms;
            if (ms >= n) break;
            uint32_t cp;
            at = ms + (size_t)utf8_next((const unsigned char *)s + ms, n - ms, &cp);
        }
    }
    if (prev < n) return split_stage(e, stage + 1, s + prev, n - prev);
    return 0;
}

// A section of text between added tokens: normalize, then pre-tokenize and merge.
static int encode_section(TokEncoder *e, const char *s, size_t n) {
    if (n == 0) return 0;
    char *norm = NULL;
    size_t nn = 0;
    if (e->tok->nfc) {
        int r = utf8_nfc(s, n, &norm, &nn);
        if (r < 0) return err_set("encode: NFC normalization failed");
        if (r > 0) s = norm, n = nn;
    }
    int rc = split_stage(e, 0, s, n);
    free(norm);
    return rc;
}

// The added token starting at s[0], longest first, or NULL.
static const AddedToken *added_at(const Tokenizer *tok, const char *s, size_t n) {
    for (int k = 0; k < tok->n_added; k++) {
        const AddedToken *a = &tok->added[k];
        if ((size_t)a->len <= n && a->content[0] == s[0] && memcmp(a->content, s, (size_t)a->len) == 0)
            return a;
    }
    return NULL;
}

// Bytes of JavaScript white space at the end (dir < 0) or start (dir > 0) of s[0..n).
static size_t js_space_run(const char *s, size_t n, int dir) {
    const unsigned char *u = (const unsigned char *)s;
    if (dir > 0) {
        size_t i = 0;
        while (i < n) {
            uint32_t cp;
            int l = utf8_next(u + i, n - i, &cp);
            if (!utf8_is_js_space(cp)) break;
            i += (size_t)l;
        }
        return i;
    }
    size_t i = n;
    while (i > 0) {
        size_t j = i - 1;
        while (j > 0 && (u[j] & 0xC0) == 0x80) j--;
        uint32_t cp;
        utf8_next(u + j, i - j, &cp);
        if (!utf8_is_js_space(cp)) break;
        i = j;
    }
    return n - i;
}

static int encode_valid(TokEncoder *e, const char *s, size_t n) {
    const Tokenizer *tok = e->tok;
    size_t start = 0, i = 0;
    int strip_next = 0;   // the previous added token strips white space on its right
    while (i < n) {
        const AddedToken *a = tok->added_first[(unsigned char)s[i]] ? added_at(tok, s + i, n - i) : NULL;
        if (!a) { i++; continue; }
        const char *sec = s + start;
        size_t sl = i - start;
        if (strip_next) { size_t k = js_space_run(sec, sl, 1); sec += k, sl -= k; }
        if (a->lstrip) sl -= js_space_run(sec, sl, -1);
        if (encode_section(e, sec, sl) || ids_push(&e->out, &a->id, 1)) return -1;
        strip_next = a->rstrip;
        i += (size_t)a->len;
        start = i;
    }
    const char *sec = s + start;
    size_t sl = n - start;
    if (strip_next) { size_t k = js_space_run(sec, sl, 1); sec += k, sl -= k; }
    return encode_section(e, sec, sl);
}

TokEncoder *tok_encoder_create(const Tokenizer *tok) {
    TokEncoder *e = calloc(1, sizeof *e);
    if (!e) goto oom;
    e->tok = tok;
    if (tok->n_split) {
        e->md = pcre2_match_data_create(4, NULL);
        e->mctx = pcre2_match_context_create(NULL);
        if (!e->md || !e->mctx) goto oom;
    }
    return e;
oom:
    tok_encoder_free(e);
    err_set("encode: out of memory");
    return NULL;
}

void tok_encoder_free(TokEncoder *e) {
    if (!e) return;
    free(e->out.v);
    free(e->sym);
    if (e->md) pcre2_match_data_free(e->md);
    if (e->mctx) pcre2_match_context_free(e->mctx);
    if (e->jstack) pcre2_jit_stack_free(e->jstack);
    free(e);
}

int tok_encoder_run(TokEncoder *e, const char *text, size_t len, const int **ids, int *n) {
    *ids = NULL, *n = 0;
    e->out.n = 0;
    char *clean = NULL;
    size_t cl;
    int r = utf8_sanitize(text, len, &clean, &cl);
    if (r < 0) return err_set("encode: out of memory");
    if (r > 0) text = clean, len = cl;
    r = encode_valid(e, text, len);
    free(clean);
    if (r != 0) return -1;
    if (e->out.n > (size_t)0x7FFFFFFF) return err_set("encode: more than 2^31 tokens");
    *ids = e->out.v, *n = (int)e->out.n;
    return 0;
}

int tok_encode(const Tokenizer *tok, const char *text, size_t len, int **ids, int *n) {
    *ids = NULL, *n = 0;
    TokEncoder *e = tok_encoder_create(tok);
    const int *v;
    int rc = e ? tok_encoder_run(e, text, len, &v, n) : -1;
    if (rc == 0) *ids = e->out.v, e->out.v = NULL;   // the caller takes the encoder's buffer
    tok_encoder_free(e);
    return rc;
}
