// Byte-level BPE training: count the words the Qwen-style regex makes of a corpus, merge
// the most frequent adjacent pair until the vocabulary is full, write tokenizer.json and
// tokenizer_config.json. Single-threaded and exact; no sampling, no min-frequency cut.
#include "tok/tok_internal.h"
#include "tok/utf8.h"

#include "base/err.h"
#include "base/fileio.h"

#include <stdlib.h>
#include <string.h>

// Qwen2/Qwen3's pre-tokenizer regex (as written in their tokenizer.json).
static const char QWEN_PATTERN[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

typedef struct {
    int *sym;     // (len) current symbols
    int len;
    long count;   // occurrences in the corpus
} Word;

typedef struct {
    int a, b;
    long count;
    int *occ;     // words that contained (a, b) when it was counted (may repeat or be stale)
    int n_occ, cap_occ;
    int touched;  // last merge step that changed count
} Pair;

typedef struct {
    long count;
    int a, b;
} HeapItem;

typedef struct {
    // words and their lookup by bytes during counting
    Word *words;
    int n_words, cap_words;
    char **word_bytes;   // (n_words) for counting only
    int *wslot;          // (wcap) word index or -1
    size_t wcap;
    // pairs
    Pair *pairs;
    int n_pairs, cap_pairs;
    int *pslot;          // (pcap) pair index or -1
    size_t pcap;
    HeapItem *heap;
    size_t n_heap, cap_heap;
    // vocabulary: strings (byte-level form) and their map
    char **str;
    int n_str, cap_str;
    int *sslot;
    size_t scap;
    int (*merges)[2];
    int n_merges, cap_merges;
} Trainer;

static int grow_to(void **p, int *cap, int need, size_t elem) {
    if (need <= *cap) return 0;
    int c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return -1;
    *p = q, *cap = c;
    return 0;
}

// Open-addressing index rebuilt at twice the size; slot(i) hashes item i.
static int index_grow(int **slots, size_t *cap, int n, uint64_t (*hash)(Trainer *, int), Trainer *t) {
    if ((size_t)n * 2 < *cap) return 0;
    size_t c = *cap ? *cap * 2 : 4096;
    int *s = malloc(c * sizeof *s);
    if (!s) return -1;
    memset(s, 0xFF, c * sizeof *s);
    for (int i = 0; i < n; i++) {
        size_t j = hash(t, i) & (c - 1);
        while (s[j] >= 0) j = (j + 1) & (c - 1);
        s[j] = i;
    }
    free(*slots);
    *slots = s, *cap = c;
    return 0;
}

static uint64_t pair_hash_ab(int a, int b) {
    return ((((uint64_t)(uint32_t)a << 32) | (uint32_t)b) * 0x9E3779B97F4A7C15ull) >> 17;
}
static uint64_t pair_hash(Trainer *t, int i) { return pair_hash_ab(t->pairs[i].a, t->pairs[i].b); }
static uint64_t word_hash(Trainer *t, int i) {
    return tok_hash_bytes(t->word_bytes[i], (size_t)t->words[i].len);
}
static uint64_t str_hash(Trainer *t, int i) { return tok_hash_bytes(t->str[i], strlen(t->str[i])); }

static int str_find(Trainer *t, const char *s) {
    size_t mask = t->scap - 1;
    for (size_t j = tok_hash_bytes(s, strlen(s)) & mask;; j = (j + 1) & mask) {
        if (t->sslot[j] < 0) return -1;
        if (strcmp(t->str[t->sslot[j]], s) == 0) return t->sslot[j];
    }
}

static int str_add(Trainer *t, char *s) {
    if (grow_to((void **)&t->str, &t->cap_str, t->n_str + 1, sizeof *t->str)) return -1;
    t->str[t->n_str++] = s;
    if (index_grow(&t->sslot, &t->scap, t->n_str, str_hash, t)) return -1;
    size_t mask = t->scap - 1, j = str_hash(t, t->n_str - 1) & mask;
    while (t->sslot[j] >= 0 && t->sslot[j] != t->n_str - 1) j = (j + 1) & mask;
    t->sslot[j] = t->n_str - 1;
    return t->n_str - 1;
}

// Count one pre-tokenized word (raw bytes).
static int word_add(Trainer *t, const char *w, size_t n) {
    if (n == 0) return 0;
    size_t mask = t->wcap - 1;
    for (size_t j = tok_hash_bytes(w, n) & mask;; j = (j + 1) & mask) {
        int i = t->wslot[j];
        if (i < 0) break;
        if ((size_t)t->words[i].len == n && memcmp(t->word_bytes[i], w, n) == 0) {
            t->words[i].count++;
            return 0;
        }
    }
    if (grow_to((void **)&t->words, &t->cap_words, t->n_words + 1, sizeof *t->words)) return -1;
    char **wb = realloc(t->word_bytes, (size_t)t->cap_words * sizeof *wb);
    if (!wb) return -1;
    t->word_bytes = wb;
    char *copy = malloc(n);
    int *sym = malloc(n * sizeof *sym);
    if (!copy || !sym) { free(copy); free(sym); return -1; }
    memcpy(copy, w, n);
    t->word_bytes[t->n_words] = copy;
    t->words[t->n_words] = (Word){sym, (int)n, 1};
    t->n_words++;
    if (index_grow(&t->wslot, &t->wcap, t->n_words, word_hash, t)) return -1;
    mask = t->wcap - 1;
    size_t j = word_hash(t, t->n_words - 1) & mask;
    while (t->wslot[j] >= 0 && t->wslot[j] != t->n_words - 1) j = (j + 1) & mask;
    t->wslot[j] = t->n_words - 1;
    return 0;
}

// Split text (between special tokens) with the regex, as the encoder does (Isolated).
static int count_words(Trainer *t, const pcre2_code *re, pcre2_match_data *md, const char *s, size_t n) {
    size_t at = 0, prev = 0;
    while (at < n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, at, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) return err_set("train: pre-tokenizer regex failed (code %d)", rc);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[0] > prev && word_add(t, s + prev, ov[0] - prev)) return -1;
        if (ov[1] > ov[0]) {
            if (word_add(t, s + ov[0], ov[1] - ov[0])) return -1;
            prev = at = ov[1];
        } else {
            if (ov[0] > prev) prev = ov[0];
            uint32_t cp;
            at = ov[0] + (size_t)utf8_next((const unsigned char *)s + ov[0], n - ov[0], &cp);
        }
    }
    return prev < n ? word_add(t, s + prev, n - prev) : 0;
}

static int pair_get(Trainer *t, int a, int b) {
    size_t mask = t->pcap - 1;
    for (size_t j = pair_hash_ab(a, b) & mask;; j = (j + 1) & mask) {
        int i = t->pslot[j];
        if (i < 0) {
            if (grow_to((void **)&t->pairs, &t->cap_pairs, t->n_pairs + 1, sizeof *t->pairs)) return -1;
            t->pairs[t->n_pairs] = (Pair){a, b, 0, NULL, 0, 0, -1};
            t->pslot[j] = t->n_pairs++;
            if (index_grow(&t->pslot, &t->pcap, t->n_pairs, pair_hash, t)) return -1;
            return t->n_pairs - 1;
        }
        if (t->pairs[i].a == a && t->pairs[i].b == b) return i;
    }
}

// Max-heap on count, ties to the smaller (a, b).
static int heap_before(const HeapItem *x, const HeapItem *y) {
    if (x->count != y->count) return x->count > y->count;
    return x->a != y->a ? x->a < y->a : x->b < y->b;
}

static int heap_push(Trainer *t, HeapItem it) {
    if (t->n_heap == t->cap_heap) {
        size_t c = t->cap_heap ? t->cap_heap * 2 : 4096;
        HeapItem *q = realloc(t->heap, c * sizeof *q);
        if (!q) return -1;
        t->heap = q, t->cap_heap = c;
    }
    size_t i = t->n_heap++;
    while (i > 0 && heap_before(&it, &t->heap[(i - 1) / 2])) {
        t->heap[i] = t->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    t->heap[i] = it;
    return 0;
}

static HeapItem heap_pop(Trainer *t) {
    HeapItem top = t->heap[0], last = t->heap[--t->n_heap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const HeapItem *mv = &last;
        if (l < t->n_heap && heap_before(&t->heap[l], mv)) m = l, mv = &t->heap[l];
        if (r < t->n_heap && heap_before(&t->heap[r], mv)) m = r;
        if (m == i) break;
        t->heap[i] = t->heap[m];
        i = m;
    }
    if (t->n_heap) t->heap[i] = last;
    return top;
}

// Add delta * (pairs of word w) to the counts; step marks the pairs touched.
static int word_pairs(Trainer *t, int w, long delta, int step, int **touched, int *n_t, int *cap_t) {
    const Word *wd = &t->words[w];
    for (int k = 0; k + 1 < wd->len; k++) {
        int p = pair_get(t, wd->sym[k], wd->sym[k + 1]);
        if (p < 0) return -1;
        Pair *pr = &t->pairs[p];
        pr->count += delta;
        if (delta > 0) {
            if (grow_to((void **)&pr->occ, &pr->cap_occ, pr->n_occ + 1, sizeof *pr->occ)) return -1;
            if (!pr->n_occ || pr->occ[pr->n_occ - 1] != w) pr->occ[pr->n_occ++] = w;
        }
        if (pr->touched != step) {
            pr->touched = step;
            if (grow_to((void **)touched, cap_t, *n_t + 1, sizeof **touched)) return -1;
            (*touched)[(*n_t)++] = p;
        }
    }
    return 0;
}

static void trainer_free(Trainer *t) {
    for (int i = 0; i < t->n_words; i++) free(t->words[i].sym), free(t->word_bytes[i]);
    for (int i = 0; i < t->n_pairs; i++) free(t->pairs[i].occ);
    for (int i = 0; i < t->n_str; i++) free(t->str[i]);
    free(t->words), free(t->word_bytes), free(t->wslot);
    free(t->pairs), free(t->pslot), free(t->heap);
    free(t->str), free(t->sslot), free(t->merges);
}

// The merge loop: until n_target strings exist or no pair is left.
static int train_merges(Trainer *t, int n_target) {
    int *touched = NULL, n_t = 0, cap_t = 0, rc = -1;
    int *seen = calloc((size_t)t->n_words + 1, sizeof *seen);   // last step a word was redone
    if (!seen) return err_set("train: out of memory");
    for (int w = 0; w < t->n_words; w++)
        if (word_pairs(t, w, t->words[w].count, 0, &touched, &n_t, &cap_t)) goto oom;
    for (int i = 0; i < t->n_pairs; i++)
        if (heap_push(t, (HeapItem){t->pairs[i].count, t->pairs[i].a, t->pairs[i].b})) goto oom;
    for (int step = 1; t->n_str < n_target && t->n_heap > 0; step++) {
        HeapItem top = heap_pop(t);
        int p = pair_get(t, top.a, top.b);
        if (p < 0) goto oom;
        if (t->pairs[p].count != top.count || top.count <= 0) { step--; continue; }   // stale
        // The merged symbol: a new string, or an existing one made another way.
        size_t la = strlen(t->str[top.a]), lb = strlen(t->str[top.b]);
        char *s = malloc(la + lb + 1);
        if (!s) goto oom;
        memcpy(s, t->str[top.a], la);
        memcpy(s + la, t->str[top.b], lb + 1);
        int c = str_find(t, s);
        if (c >= 0) free(s);
        else if ((c = str_add(t, s)) < 0) { free(s); goto oom; }
        if (grow_to((void **)&t->merges, &t->cap_merges, t->n_merges + 1, sizeof *t->merges)) goto oom;
        t->merges[t->n_merges][0] = top.a, t->merges[t->n_merges][1] = top.b;
        t->n_merges++;
        n_t = 0;
        // Redo every word that held the pair: subtract its pairs, merge, add them back.
        int n_occ = t->pairs[p].n_occ;
        int *occ = t->pairs[p].occ;
        t->pairs[p].occ = NULL, t->pairs[p].n_occ = t->pairs[p].cap_occ = 0;
        for (int k = 0; k < n_occ; k++) {
            int w = occ[k];
            if (seen[w] == step) continue;
            seen[w] = step;
            Word *wd = &t->words[w];
            int has = 0;
            for (int i = 0; i + 1 < wd->len && !has; i++) has = wd->sym[i] == top.a && wd->sym[i + 1] == top.b;
            if (!has) continue;
            if (word_pairs(t, w, -wd->count, step, &touched, &n_t, &cap_t)) { free(occ); goto oom; }
            int o = 0;
            for (int i = 0; i < wd->len; i++) {
                if (i + 1 < wd->len && wd->sym[i] == top.a && wd->sym[i + 1] == top.b) wd->sym[o++] = c, i++;
                else wd->sym[o++] = wd->sym[i];
            }
            wd->len = o;
            if (word_pairs(t, w, wd->count, step, &touched, &n_t, &cap_t)) { free(occ); goto oom; }
        }
        free(occ);
        for (int i = 0; i < n_t; i++) {
            const Pair *pr = &t->pairs[touched[i]];
            if (pr->count > 0 && heap_push(t, (HeapItem){pr->count, pr->a, pr->b})) goto oom;
        }
    }
    rc = 0;
    goto done;
oom:
    err_set("train: out of memory");
done:
    free(touched);
    free(seen);
    return rc;
}

static int write_tokenizer(const Trainer *t, const char *const *special, int n_special, const char *path) {
    AtomicFile af;
    if (atomic_open(&af, path)) return -1;
    FILE *f = af.f;
    fputs("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [", f);
    for (int i = 0; i < n_special; i++) {
        fprintf(f, "%s\n    {\"id\": %d, \"content\": ", i ? "," : "", t->n_str + i);
        utf8_json_write(f, special[i], strlen(special[i]));
        fputs(", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}", f);
    }
    fputs("\n  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [\n"
          "    {\"type\": \"Split\", \"pattern\": {\"Regex\": ", f);
    utf8_json_write(f, QWEN_PATTERN, strlen(QWEN_PATTERN));
    fputs("}, \"behavior\": \"Isolated\", \"invert\": false},\n"
          "    {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": false, \"use_regex\": false}]},\n"
          "  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": false, \"use_regex\": false},\n"
          "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": false, \"use_regex\": false},\n"
          "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": \"\",\n"
          "    \"end_of_word_suffix\": \"\", \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n"
          "    \"vocab\": {", f);
    for (int i = 0; i < t->n_str; i++) {
        fputs(i ? ",\n      " : "\n      ", f);
        utf8_json_write(f, t->str[i], strlen(t->str[i]));
        fprintf(f, ": %d", i);
    }
    fputs("\n    },\n    \"merges\": [", f);
    for (int i = 0; i < t->n_merges; i++) {
        fputs(i ? ",\n      [" : "\n      [", f);
        const char *a = t->str[t->merges[i][0]], *b = t->str[t->merges[i][1]];
        utf8_json_write(f, a, strlen(a));
        fputs(", ", f);
        utf8_json_write(f, b, strlen(b));
        fputc(']', f);
    }
    fputs("\n    ]\n  }\n}\n", f);
    if (ferror(f)) {
        atomic_abort(&af);
        return err_set("%s: write failed", path);
    }
    return atomic_commit(&af);
}

static int write_config(const char *const *special, int n_special, const char *path) {
    char cfg[4200];
    AtomicFile af;
    if (path_sibling(cfg, sizeof cfg, path, "tokenizer_config.json") || atomic_open(&af, cfg)) return -1;
    fputs("{\n  \"tokenizer_class\": \"PreTrainedTokenizerFast\",\n  \"bos_token\": null,\n", af.f);
    const char *keys[] = {"eos_token", "pad_token"};
    for (int k = 0; k < 2; k++) {
        fprintf(af.f, "  \"%s\": ", keys[k]);
        if (n_special) utf8_json_write(af.f, special[0], strlen(special[0]));
        else fputs("null", af.f);
        fputs(",\n", af.f);
    }
    fputs("  \"unk_token\": null,\n  \"add_bos_token\": false,\n  \"clean_up_tokenization_spaces\": false,\n"
          "  \"model_max_length\": 1000000000\n}\n", af.f);
    return atomic_commit(&af);
}

// Cut the corpus at special-token occurrences (they are never merged into words).
static int count_corpus(Trainer *t, const char *s, size_t n, const char *const *special, int n_special) {
    int code;
    PCRE2_SIZE off;
    char *pat = tok_pattern_rewrite(QWEN_PATTERN);
    pcre2_code *re = pat ? pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &off, NULL) : NULL;
    free(pat);
    pcre2_match_data *md = re ? pcre2_match_data_create(4, NULL) : NULL;
    int rc = -1;
    if (!md) { err_set("train: cannot set up the pre-tokenizer regex"); goto done; }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        size_t hit = 0;
        for (int k = 0; k < n_special && i < n; k++) {
            size_t l = strlen(special[k]);
            if (l > hit && l <= n - i && memcmp(s + i, special[k], l) == 0) hit = l;
        }
        if (!hit && i < n) continue;
        if (count_words(t, re, md, s + start, i - start)) goto done;
        start = i + hit;
        if (hit) i += hit - 1;
    }
    rc = 0;
done:
    if (md) pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc;
}

int tok_train_bpe(const char *corpus, size_t len, int vocab_size,
                  const char *const *special_tokens, int n_special, const char *out_path) {
    if (n_special < 0 || vocab_size < 256 + n_special)
        return err_set("train: vocab_size %d is below 256 byte tokens + %d special tokens", vocab_size, n_special);
    for (int i = 0; i < n_special; i++) {
        if (!special_tokens[i] || !special_tokens[i][0]) return err_set("train: special token %d is empty", i);
        for (int j = 0; j < i; j++)
            if (strcmp(special_tokens[i], special_tokens[j]) == 0)
                return err_set("train: special token '%s' is given twice", special_tokens[i]);
    }
    Trainer t = {0};
    char *clean = NULL;
    size_t cl;
    int rc = -1;
    int r = utf8_sanitize(corpus ? corpus : "", corpus ? len : 0, &clean, &cl);
    if (r < 0) { err_set("train: out of memory"); goto done; }
    if (r > 0) corpus = clean, len = cl;
    int byte_of_id[256];
    for (int i = 0; i < 256; i++) {
        char sym[4];
        int l = utf8_put(utf8_byte_cp(utf8_byte_order(i)), sym);
        char *s = malloc((size_t)l + 1);
        if (!s) { err_set("train: out of memory"); goto done; }
        memcpy(s, sym, (size_t)l);
        s[l] = 0;
        if (str_add(&t, s) < 0) { free(s); err_set("train: out of memory"); goto done; }
        byte_of_id[i] = utf8_byte_order(i);
    }
    int id_of_byte[256];
    for (int i = 0; i < 256; i++) id_of_byte[byte_of_id[i]] = i;
    if (index_grow(&t.wslot, &t.wcap, 0, word_hash, &t) || index_grow(&t.pslot, &t.pcap, 0, pair_hash, &t)) {
        err_set("train: out of memory");
        goto done;
    }
    if (vocab_size > 256 + n_special) {
        if (count_corpus(&t, corpus, len, special_tokens, n_special)) goto done;
        for (int w = 0; w < t.n_words; w++)
            for (int k = 0; k < t.words[w].len; k++)
                t.words[w].sym[k] = id_of_byte[(unsigned char)t.word_bytes[w][k]];
        if (train_merges(&t, vocab_size - n_special)) goto done;
    }
    for (int i = 0; i < n_special; i++)
        if (str_find(&t, special_tokens[i]) >= 0) {
            err_set("train: special token '%s' is also a learned vocabulary string", special_tokens[i]);
            goto done;
        }
    if (write_tokenizer(&t, special_tokens, n_special, out_path) ||
        write_config(special_tokens, n_special, out_path))
        goto done;
    rc = 0;
done:
    trainer_free(&t);
    free(clean);
    return rc;
}
