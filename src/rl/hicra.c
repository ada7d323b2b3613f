// Strategic Grams: lexicons, occurrence marking, advantage boost, extraction.
#include "rl/hicra.h"
#include "base/err.h"
#include "base/fileio.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Lexicon {
    int n, cap;
    char **grams;     // (n) normalised grams
    double *docs;     // (n) document counts when extracted, else 0
    int *slots;       // (n_slots) index + 1 into grams, 0 empty
    int n_slots;
};

static const char *const builtin_grams[] = {
    "let me check", "let me verify", "let me double check", "let me try again",
    "let me think again", "let me recheck", "let me recompute", "wait let me check",
    "wait that's not", "that's not right", "that doesn't seem right", "this is wrong",
    "i made a mistake", "let's try a different", "try a different approach", "another way to",
    "let's go back", "go back to the", "but the problem says", "the problem says that",
    "we can use the", "we can use the fact", "the key is to", "we need to find",
    "first we need to", "let's break it down", "let's start by", "on second thought",
    "let's verify that", "to double check", "check the answer", "verify the answer",
    "check this result", "this means that", "which means that", "so we need to",
    "the question asks for", "let's consider the", "let's try to", "recheck the calculation",
    "that gives us", "does not equal", "is not equal to", "is that correct", NULL,
};

static int is_word_char(unsigned char c) { return isalnum(c) || c == '\''; }

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int lx_find(const Lexicon *lx, const char *gram) {
    if (!lx->n_slots) return -1;
    for (uint64_t i = hash_str(gram) & (uint64_t)(lx->n_slots - 1);; i = (i + 1) & (uint64_t)(lx->n_slots - 1)) {
        int k = lx->slots[i];
        if (!k) return -1;
        if (strcmp(lx->grams[k - 1], gram) == 0) return k - 1;
    }
}

static int lx_rehash(Lexicon *lx, int n_slots) {
    int *slots = calloc((size_t)n_slots, sizeof *slots);
    if (!slots) return err_set("out of memory");
    free(lx->slots);
    lx->slots = slots;
    lx->n_slots = n_slots;
    for (int g = 0; g < lx->n; g++) {
        uint64_t i = hash_str(lx->grams[g]) & (uint64_t)(n_slots - 1);
        while (slots[i]) i = (i + 1) & (uint64_t)(n_slots - 1);
        slots[i] = g + 1;
    }
    return 0;
}

// Add a normalised gram; duplicates are ignored. Returns its index or -1.
static int lx_add(Lexicon *lx, const char *gram, double docs) {
    int k = lx_find(lx, gram);
    if (k >= 0) return k;
    if (lx->n == lx->cap) {
        int cap = lx->cap ? 2 * lx->cap : 64;
        char **g = realloc(lx->grams, sizeof *g * (size_t)cap);
        if (!g) return err_set("out of memory");
        lx->grams = g;
        double *d = realloc(lx->docs, sizeof *d * (size_t)cap);
        if (!d) return err_set("out of memory");
        lx->docs = d;
        lx->cap = cap;
    }
    lx->grams[lx->n] = strdup(gram);
    if (!lx->grams[lx->n]) return err_set("out of memory");
    lx->docs[lx->n] = docs;
    lx->n++;
    if (2 * lx->n > lx->n_slots && lx_rehash(lx, lx->n_slots ? 2 * lx->n_slots : 128) != 0) return -1;
    uint64_t i = hash_str(gram) & (uint64_t)(lx->n_slots - 1);
    while (lx->slots[i] && lx->slots[i] != lx->n) i = (i + 1) & (uint64_t)(lx->n_slots - 1);
    lx->slots[i] = lx->n;
    return lx->n - 1;
}

// Normalise a phrase into "w1 w2 ..." in out (cap bytes). Returns word count, or -1 if too long.
static int normalise(const char *s, size_t len, char *out, size_t cap) {
    size_t o = 0;
    int words = 0;
    for (size_t i = 0; i < len;) {
        while (i < len && !is_word_char((unsigned char)s[i])) i++;
        if (i >= len) break;
        if (words && o + 1 < cap) out[o++] = ' ';
        while (i < len && is_word_char((unsigned char)s[i])) {
            if (o + 1 >= cap) return -1;
            out[o++] = (char)tolower((unsigned char)s[i++]);
        }
        words++;
    }
    out[o] = 0;
    return words;
}

static int lx_add_phrase(Lexicon *lx, const char *phrase, size_t len, const char *where, long line) {
    char gram[256];
    int w = normalise(phrase, len, gram, sizeof gram);
    if (w == 0) return 0;
    if (w < HICRA_MIN_N || w > HICRA_MAX_N)
        return where ? err_set("%s:%ld: a Strategic Gram has %d to %d words, this has %d", where, line,
                               HICRA_MIN_N, HICRA_MAX_N, w < 0 ? 99 : w)
                     : err_set("'%.*s': a Strategic Gram has %d to %d words", (int)len, phrase, HICRA_MIN_N, HICRA_MAX_N);
    return lx_add(lx, gram, 0) < 0 ? -1 : 0;
}

Lexicon *lexicon_from_list(const char *const *phrases) {
    Lexicon *lx = calloc(1, sizeof *lx);
    if (!lx) { err_set("out of memory"); return NULL; }
    for (int i = 0; phrases[i]; i++)
        if (lx_add_phrase(lx, phrases[i], strlen(phrases[i]), NULL, 0) != 0) {
            lexicon_free(lx);
            return NULL;
        }
    return lx;
}

Lexicon *lexicon_builtin(void) { return lexicon_from_list(builtin_grams); }

Lexicon *lexicon_load(const char *path) {
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) return NULL;
    Lexicon *lx = calloc(1, sizeof *lx);
    if (!lx) { free(text); err_set("out of memory"); return NULL; }
    long line = 0;
    for (char *p = text; p < text + len;) {
        char *end = memchr(p, '\n', (size_t)(text + len - p));
        if (!end) end = text + len;
        line++;
        char *hash = memchr(p, '#', (size_t)(end - p));
        if (lx_add_phrase(lx, p, (size_t)((hash ? hash : end) - p), path, line) != 0) {
            lexicon_free(lx);
            free(text);
            return NULL;
        }
        p = end + 1;
    }
    free(text);
    return lx;
}

void lexicon_free(Lexicon *lx) {
    if (!lx) return;
    for (int i = 0; i < lx->n; i++) free(lx->grams[i]);
    free(lx->grams);
    free(lx->docs);
    free(lx->slots);
    free(lx);
}

int lexicon_size(const Lexicon *lx) { return lx->n; }
const char *lexicon_gram(const Lexicon *lx, int i) { return lx->grams[i]; }

typedef struct { size_t start, end; } Span;

// A window on the words of a text: a word and the HICRA_MAX_N - 1 after it,
// enough for every gram that starts there, so no list of all words is kept.
typedef struct {
    const char *text;
    size_t len, at;           // at: where the search for the next word resumes
    Span sp[HICRA_MAX_N];     // word w + k at sp[(w + k) % HICRA_MAX_N]
    int w, have;              // the window's first word, and how many it holds
} Words;

static int next_word(Words *ws, Span *s) {
    size_t i = ws->at;
    while (i < ws->len && !is_word_char((unsigned char)ws->text[i])) i++;
    s->start = i;
    while (i < ws->len && is_word_char((unsigned char)ws->text[i])) i++;
    s->end = ws->at = i;
    return s->end > s->start;
}

// Move the window to the next word (to the first on the first call); 0 when
// no word is left.
static int words_next(Words *ws) {
    if (ws->have) ws->w++, ws->have--;
    while (ws->have < HICRA_MAX_N && next_word(ws, &ws->sp[(ws->w + ws->have) % HICRA_MAX_N])) ws->have++;
    return ws->have > 0;
}

// Word k of the window.
static const Span *word(const Words *ws, int k) { return &ws->sp[(ws->w + k) % HICRA_MAX_N]; }

// The gram of the window's first n words as a normalised string; 0 if there
// are fewer words or it does not fit.
static int gram_at(const Words *ws, int n, char *out, size_t cap) {
    if (n > ws->have) return 0;
    size_t o = 0;
    for (int k = 0; k < n; k++) {
        const Span *sp = word(ws, k);
        size_t l = sp->end - sp->start;
        if (o + l + 2 > cap) return 0;
        if (k) out[o++] = ' ';
        for (size_t j = 0; j < l; j++) out[o++] = (char)tolower((unsigned char)ws->text[sp->start + j]);
    }
    out[o] = 0;
    return 1;
}

int hicra_mark(uint8_t *planning, const char *text, size_t len, const int *tok_off, int n_tokens,
               const Lexicon *lx, double *counts) {
    if (planning) memset(planning, 0, (size_t)n_tokens);
    Words ws = {.text = text, .len = len};
    int found = 0, tok = 0;
    char gram[256];
    while (words_next(&ws)) {
        for (int n = HICRA_MAX_N; n >= HICRA_MIN_N; n--) {
            if (!gram_at(&ws, n, gram, sizeof gram)) continue;
            int k = lx_find(lx, gram);
            if (k < 0) continue;
            found++;
            if (counts) counts[k] += 1;
            if (!planning) continue;
            // Mark tokens overlapping [start of word 0, end of word n - 1).
            // Tokens are in order, so the scan position only moves forward.
            size_t b = word(&ws, 0)->start, e = word(&ws, n - 1)->end;
            while (tok < n_tokens && (size_t)tok_off[tok + 1] <= b) tok++;
            for (int t = tok; t < n_tokens && (size_t)tok_off[t] < e; t++) planning[t] = 1;
        }
    }
    return found;
}

void hicra_apply(float *adv, const uint8_t *planning, int n, float alpha) {
    for (int t = 0; t < n; t++)
        if (planning[t]) adv[t] += alpha * fabsf(adv[t]);
}

double semantic_entropy(const double *counts, int n) {
    double total = 0, h = 0;
    for (int i = 0; i < n; i++) total += counts[i];
    if (total <= 0) return 0;
    for (int i = 0; i < n; i++)
        if (counts[i] > 0) h -= counts[i] / total * log(counts[i] / total);
    return h;
}

static int by_docs_desc(const void *a, const void *b, void *lx_) {
    const Lexicon *lx = lx_;
    int i = *(const int *)a, j = *(const int *)b;
    if (lx->docs[i] != lx->docs[j]) return lx->docs[i] < lx->docs[j] ? 1 : -1;
    return strcmp(lx->grams[i], lx->grams[j]);
}

Lexicon *lexicon_extract(const char *const *texts, int n_texts, int min_docs, double keep_frac) {
    if (!(keep_frac > 0 && keep_frac <= 1)) { err_set("keep fraction must be in (0, 1]"); return NULL; }
    Lexicon *all = calloc(1, sizeof *all), *out = calloc(1, sizeof *out);
    int *last_doc = NULL, *order = NULL, ld_cap = 0;   // last_doc (ld_cap): last completion counted per gram
    if (!all || !out) goto oom;
    char gram[256];
    for (int d = 0; d < n_texts; d++) {
        Words ws = {.text = texts[d], .len = strlen(texts[d])};
        while (words_next(&ws))
            for (int n = HICRA_MIN_N; n <= ws.have; n++) {
                if (!gram_at(&ws, n, gram, sizeof gram)) continue;
                int before = all->n;
                int k = lx_add(all, gram, 0);
                if (k < 0) goto fail;
                if (all->cap > ld_cap) {
                    int *ld = realloc(last_doc, sizeof *ld * (size_t)all->cap);
                    if (!ld) goto oom;
                    last_doc = ld;
                    ld_cap = all->cap;
                }
                if (all->n > before) last_doc[k] = -1;
                if (last_doc[k] != d) {   // count each completion once
                    last_doc[k] = d;
                    all->docs[k] += 1;
                }
            }
    }
    int n_ok = 0;
    order = malloc(sizeof *order * (size_t)(all->n ? all->n : 1));
    if (!order) goto oom;
    for (int i = 0; i < all->n; i++)
        if (all->docs[i] >= min_docs) order[n_ok++] = i;
    qsort_r(order, (size_t)n_ok, sizeof *order, by_docs_desc, all);
    int keep = (int)ceil(keep_frac * n_ok);
    for (int i = 0; i < keep; i++)
        if (lx_add(out, all->grams[order[i]], all->docs[order[i]]) < 0) goto fail;
    free(order);
    free(last_doc);
    lexicon_free(all);
    return out;
oom:
    err_set("out of memory");
fail:
    free(order);
    free(last_doc);
    lexicon_free(all);
    lexicon_free(out);
    return NULL;
}

int lexicon_save(const Lexicon *lx, const char *path) {
    AtomicFile af;
    if (atomic_open(&af, path) != 0) return -1;
    fprintf(af.f, "# Strategic Grams, one per line (# count = completions containing it)\n");
    for (int i = 0; i < lx->n; i++)
        if (lx->docs[i] > 0) fprintf(af.f, "%s  # %.0f\n", lx->grams[i], lx->docs[i]);
        else fprintf(af.f, "%s\n", lx->grams[i]);
    return atomic_commit(&af);
}
