// Loading tokenizer.json (+ tokenizer_config.json) into flat tables, decoding, and the
// small accessors. Refuses anything that is not byte-level BPE with a clear error naming
// the file and field; malformed input is an error, never an abort.
#include "tok/tok_internal.h"
#include "tok/utf8.h"

#include "base/err.h"
#include "base/fileio.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IDS (1 << 24)

uint64_t tok_hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;   // FNV-1a, then a final mix
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

int tok_lookup(const Tokenizer *tok, const char *s, size_t n) {
    size_t mask = tok->str_cap - 1;
    for (size_t i = tok_hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int id = tok->str_slot[i];
        if (id < 0) return -1;
        if (tok->str_len[id] == n && memcmp(tok->str[id], s, n) == 0) return id;
    }
}

// Point the slot of str[id] at id (replacing an equal string's id).
static void str_insert(Tokenizer *tok, int id) {
    size_t mask = tok->str_cap - 1;
    const char *s = tok->str[id];
    size_t n = tok->str_len[id];
    for (size_t i = tok_hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int o = tok->str_slot[i];
        if (o < 0 || (tok->str_len[o] == n && memcmp(tok->str[o], s, n) == 0)) {
            tok->str_slot[i] = id;
            return;
        }
    }
}

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

void tok_free(Tokenizer *tok) {
    if (!tok) return;
    for (int i = 0; i < TOK_CACHE_SHARDS; i++) {
        CacheShard *c = &tok->cache[i];
        pthread_mutex_destroy(&c->mu);
        free(c->slot), free(c->keys), free(c->vals);
    }
    for (int i = 0; i < tok->n_split; i++) pcre2_code_free(tok->split[i]);
    free(tok->str);
    free(tok->str_len);
    free(tok->raw);
    free(tok->raw_len);
    free(tok->kind);
    free(tok->pool);
    free(tok->str_slot);
    free(tok->merges);
    free(tok->added);
    free(tok->chat_template);
    free(tok->chat_where);
    free(tok);
}

// ---- JSON helpers: every failure names the file and the field.
static cJSON *parse_json(const char *text, size_t len, const char *name) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        long line = 1;
        for (size_t i = 0; i < off; i++) line += text[i] == '\n';
        err_set("%s: not valid JSON (near line %ld, byte %zu)", name, line, off);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        err_set("%s: the top level is not a JSON object", name);
        return NULL;
    }
    return root;
}

static int json_id(const cJSON *v, const char *name, const char *field, const char *key) {
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble >= MAX_IDS)
        return err_set("%s: %s['%s'] must be an id in [0, %d)", name, field, key, MAX_IDS);
    return (int)v->valuedouble;
}

static int json_flag(const cJSON *obj, const char *key) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static const char *json_type(const cJSON *obj) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

// A growable byte pool addressed by offsets (pointers are fixed up once it stops growing).
typedef struct {
    char *p;
    size_t n, cap;
} Pool;

static long pool_add(Pool *pl, const char *s, size_t n) {
    if (pl->n + n + 1 > pl->cap) {
        size_t c = pl->cap ? pl->cap : 1 << 16;
        while (pl->n + n + 1 > c) c *= 2;
        char *q = realloc(pl->p, c);
        if (!q) return -1;
        pl->p = q, pl->cap = c;
    }
    memcpy(pl->p + pl->n, s, n);
    pl->p[pl->n + n] = 0;
    long at = (long)pl->n;
    pl->n += n + 1;
    return at;
}

// Bytes a byte-level vocabulary string stands for: each code point of the GPT-2 map is
// its byte; a code point outside the map (not produced by byte-level BPE) stays as UTF-8.
static long pool_add_raw(Pool *pl, const char *s, size_t n, uint32_t *out_len) {
    char buf[256] = {0};
    char *tmp = n <= sizeof buf ? buf : malloc(n);
    if (!tmp) return -1;
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = utf8_next((const unsigned char *)s + i, n - i, &cp);
        int b = utf8_cp_byte(cp);
        if (b >= 0) tmp[w++] = (char)b;
        else memcpy(tmp + w, s + i, (size_t)l), w += (size_t)l;
        i += (size_t)l;
    }
    long at = pool_add(pl, tmp, w);
    *out_len = (uint32_t)w;
    if (tmp != buf) free(tmp);
    return at;
}

// ---- pieces of tokenizer.json
static int load_normalizer(Tokenizer *tok, const cJSON *norm, const char *name) {
    if (!norm || cJSON_IsNull(norm)) return 0;
    const char *t = json_type(norm);
    if (t && strcmp(t, "NFC") == 0) {
        tok->nfc = 1;
        return 0;
    }
    if (t && strcmp(t, "Sequence") == 0) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(norm, "normalizers");
        if (!cJSON_IsArray(list)) return err_set("%s: normalizer.normalizers must be an array", name);
        const cJSON *it;
        cJSON_ArrayForEach(it, list) if (load_normalizer(tok, it, name)) return -1;
        return 0;
    }
    return err_set("%s: normalizer type '%s' is not supported (only NFC or none)", name,
                   t ? t : "(missing)");
}

// The GPT-2 pattern ByteLevel uses when use_regex is true (as transformers.js spells it).
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static int add_split(Tokenizer *tok, const char *pattern, const char *name) {
    if (tok->n_split == TOK_MAX_SPLITS)
        return err_set("%s: pre_tokenizer has more than %d Split stages", name, TOK_MAX_SPLITS);
    char *pat = tok_pattern_rewrite(pattern);
    if (!pat) return err_set("%s: out of memory", name);
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                   &code, &off, NULL);
    free(pat);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return err_set("%s: pre_tokenizer regex does not compile (%s at offset %zu): %s", name,
                       (char *)msg, (size_t)off, pattern);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   // without JIT the interpreter still works
    tok->split[tok->n_split++] = re;
    return 0;
}

static int load_pretok(Tokenizer *tok, const cJSON *pt, const char *name, int depth) {
    const char *t = pt ? json_type(pt) : NULL;
    if (!t) return err_set("%s: pre_tokenizer is missing or has no type (byte-level BPE needs one)", name);
    if (strcmp(t, "Sequence") == 0 && depth == 0) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pt, "pretokenizers");
        if (!cJSON_IsArray(list)) return err_set("%s: pre_tokenizer.pretokenizers must be an array", name);
        const cJSON *it;
        int saw_bytelevel = 0;
        cJSON_ArrayForEach(it, list) {
            if (saw_bytelevel)
                return err_set("%s: pre_tokenizer: ByteLevel must be the last stage", name);
            if (load_pretok(tok, it, name, 1)) return -1;
            const char *it_t = json_type(it);
            saw_bytelevel = it_t && strcmp(it_t, "ByteLevel") == 0;
        }
        if (!saw_bytelevel) return err_set("%s: pre_tokenizer has no ByteLevel stage", name);
        return 0;
    }
    if (strcmp(t, "ByteLevel") == 0) {
        if (json_flag(pt, "add_prefix_space"))
            return err_set("%s: pre_tokenizer ByteLevel.add_prefix_space=true is not supported", name);
        const cJSON *ur = cJSON_GetObjectItemCaseSensitive(pt, "use_regex");
        if (!ur || cJSON_IsTrue(ur)) return add_split(tok, GPT2_PATTERN, name);
        return 0;
    }
    if (strcmp(t, "Split") == 0) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(pt, "pattern");
        const cJSON *re = pat ? cJSON_GetObjectItemCaseSensitive(pat, "Regex") : NULL;
        const cJSON *beh = cJSON_GetObjectItemCaseSensitive(pt, "behavior");
        if (!cJSON_IsString(re))
            return err_set("%s: pre_tokenizer Split.pattern.Regex must be a string", name);
        if (!cJSON_IsString(beh) || strcmp(beh->valuestring, "Isolated") != 0)
            return err_set("%s: pre_tokenizer Split.behavior must be \"Isolated\"", name);
        if (json_flag(pt, "invert"))
            return err_set("%s: pre_tokenizer Split.invert=true is not supported", name);
        return add_split(tok, re->valuestring, name);
    }
    return err_set("%s: pre_tokenizer type '%s' is not supported (Split, ByteLevel, Sequence)", name, t);
}

static int load_decoder(const cJSON *dec, const char *name) {
    const char *t = dec ? json_type(dec) : NULL;
    if (t && strcmp(t, "ByteLevel") == 0) return 0;
    return err_set("%s: decoder type '%s' is not supported (only ByteLevel)", name,
                   t ? t : "(missing)");
}

// Check the model object's options before the tables are built.
static int check_model(const cJSON *model, const char *name) {
    if (!cJSON_IsObject(model)) return err_set("%s: missing field 'model'", name);
    const char *t = json_type(model);
    if (!t) return err_set("%s: missing field 'model.type'", name);
    if (strcmp(t, "BPE") != 0)
        return err_set("%s: model.type '%s' is not supported (only BPE)", name, t);
    if (json_flag(model, "byte_fallback"))
        return err_set("%s: model.byte_fallback=true is not supported", name);
    const char *opts[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(model, opts[i]);
        if (cJSON_IsString(o) && o->valuestring[0])
            return err_set("%s: model.%s is not supported", name, opts[i]);
    }
    if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(model, "vocab")))
        return err_set("%s: missing field 'model.vocab' (an object of token -> id)", name);
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(model, "merges")))
        return err_set("%s: missing field 'model.merges' (an array)", name);
    return 0;
}

// Vocabulary and added tokens -> str/raw/kind tables and the string map.
static int load_vocab(Tokenizer *tok, const cJSON *vocab, const cJSON *added, const char *name) {
    int max_id = -1, n_added = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, vocab) {
        int id = json_id(it, name, "model.vocab", it->string);
        if (id < 0) return -1;
        if (id > max_id) max_id = id;
    }
    if (added && !cJSON_IsNull(added)) {
        if (!cJSON_IsArray(added)) return err_set("%s: added_tokens must be an array", name);
        cJSON_ArrayForEach(it, added) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
            if (!cJSON_IsString(c) || !c->valuestring[0])
                return err_set("%s: added_tokens[%d].content must be a non-empty string", name, n_added);
            int id = json_id(cJSON_GetObjectItemCaseSensitive(it, "id"), name, "added_tokens", c->valuestring);
            if (id < 0) return -1;
            if (id > max_id) max_id = id;
            n_added++;
        }
    }
    if (max_id < 0) return err_set("%s: model.vocab is empty", name);
    int V = tok->n_ids = max_id + 1;
    tok->str = calloc((size_t)V, sizeof *tok->str);
    tok->str_len = calloc((size_t)V, sizeof *tok->str_len);
    tok->raw = calloc((size_t)V, sizeof *tok->raw);
    tok->raw_len = calloc((size_t)V, sizeof *tok->raw_len);
    tok->kind = calloc((size_t)V, 1);
    tok->added = calloc((size_t)n_added + 1, sizeof *tok->added);
    long *str_off = malloc((size_t)V * sizeof *str_off), *raw_off = malloc((size_t)V * sizeof *raw_off);
    long *added_off = malloc(((size_t)n_added + 1) * sizeof *added_off);
    Pool pl = {0};
    int rc = -1;
    if (!tok->str || !tok->str_len || !tok->raw || !tok->raw_len || !tok->kind || !tok->added ||
        !str_off || !raw_off || !added_off) {
        err_set("%s: out of memory for %d ids", name, V);
        goto done;
    }
    for (int i = 0; i < V; i++) str_off[i] = raw_off[i] = -1;
    cJSON_ArrayForEach(it, vocab) {
        int id = (int)it->valuedouble;
        if (str_off[id] >= 0) {
            err_set("%s: model.vocab: id %d is given to both '%s' and '%s'", name, id,
                    pl.p + str_off[id], it->string);
            goto done;
        }
        size_t n = strlen(it->string);
        if ((str_off[id] = pool_add(&pl, it->string, n)) < 0 ||
            (raw_off[id] = pool_add_raw(&pl, it->string, n, &tok->raw_len[id])) < 0)
            goto oom;
        tok->str_len[id] = (uint32_t)n;
    }
    if (n_added) cJSON_ArrayForEach(it, added) {
        const char *c = cJSON_GetObjectItemCaseSensitive(it, "content")->valuestring;
        int id = (int)cJSON_GetObjectItemCaseSensitive(it, "id")->valuedouble;
        size_t n = strlen(c);
        AddedToken *a = &tok->added[tok->n_added];
        if ((added_off[tok->n_added] = str_off[id] = raw_off[id] = pool_add(&pl, c, n)) < 0) goto oom;
        tok->str_len[id] = tok->raw_len[id] = (uint32_t)n;
        tok->kind[id] = json_flag(it, "special") ? 2 : 1;
        a->len = (int)n, a->id = id;
        a->lstrip = json_flag(it, "lstrip"), a->rstrip = json_flag(it, "rstrip");
        tok->n_added++;
    }
    // Pointers, now that the pool is final.
    tok->pool = pl.p;
    pl.p = NULL;
    for (int i = 0; i < V; i++) {
        if (str_off[i] >= 0) tok->str[i] = tok->pool + str_off[i];
        if (raw_off[i] >= 0) tok->raw[i] = tok->pool + raw_off[i];
    }
    for (int i = 0; i < tok->n_added; i++) tok->added[i].content = tok->pool + added_off[i];
    tok->str_cap = pow2_at_least((size_t)V * 2);
    if (!(tok->str_slot = malloc(tok->str_cap * sizeof *tok->str_slot))) goto oom;
    memset(tok->str_slot, 0xFF, tok->str_cap * sizeof *tok->str_slot);
    for (int i = 0; i < V; i++)
        if (tok->str[i] && tok->kind[i] == 0) str_insert(tok, i);
    for (int i = 0; i < tok->n_added; i++) str_insert(tok, tok->added[i].id);   // added win
    rc = 0;
    goto done;
oom:
    err_set("%s: out of memory", name);
done:
    free(pl.p);
    free(str_off);
    free(raw_off);
    free(added_off);
    return rc;
}

static int added_cmp(const void *a, const void *b) {
    const AddedToken *x = a, *y = b;
    if (x->len != y->len) return y->len - x->len;   // longest first
    return x->id - y->id;
}

// One merge's two halves, from "a b" or ["a", "b"].
static int merge_parts(const cJSON *m, const char **a, size_t *an, const char **b, size_t *bn) {
    if (cJSON_IsString(m)) {
        const char *s = m->valuestring, *sp = strchr(s, ' ');
        if (!sp || sp == s || !sp[1] || strchr(sp + 1, ' ')) return -1;
        *a = s, *an = (size_t)(sp - s), *b = sp + 1, *bn = strlen(sp + 1);
        return 0;
    }
    if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2) {
        const cJSON *x = cJSON_GetArrayItem(m, 0), *y = cJSON_GetArrayItem(m, 1);
        if (!cJSON_IsString(x) || !cJSON_IsString(y)) return -1;
        *a = x->valuestring, *an = strlen(x->valuestring);
        *b = y->valuestring, *bn = strlen(y->valuestring);
        return 0;
    }
    return -1;
}

static int load_merges(Tokenizer *tok, const cJSON *merges, const char *name) {
    int n = cJSON_GetArraySize(merges);
    tok->merge_cap = pow2_at_least((size_t)n * 2 + 1);
    tok->merges = calloc(tok->merge_cap, sizeof *tok->merges);
    if (!tok->merges) return err_set("%s: out of memory for %d merges", name, n);
    char *cat = NULL;
    size_t cat_cap = 0;
    int rank = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        const char *a, *b;
        size_t an, bn;
        if (merge_parts(m, &a, &an, &b, &bn)) {
            free(cat);
            return err_set("%s: model.merges[%d] is not \"a b\" or [\"a\", \"b\"]", name, rank);
        }
        if (an + bn > cat_cap) {
            cat_cap = (an + bn) * 2;
            char *c = realloc(cat, cat_cap);
            if (!c) { free(cat); return err_set("%s: out of memory", name); }
            cat = c;
        }
        memcpy(cat, a, an);
        memcpy(cat + an, b, bn);
        int ia = tok_lookup(tok, a, an), ib = tok_lookup(tok, b, bn), im = tok_lookup(tok, cat, an + bn);
        if (ia < 0 || ib < 0 || im < 0) {
            const char *what = ia < 0 ? a : ib < 0 ? b : cat;
            int wn = (int)(ia < 0 ? an : ib < 0 ? bn : an + bn);
            err_set("%s: model.merges[%d]: token '%.*s' is not in model.vocab", name, rank, wn, what);
            free(cat);
            return -1;
        }
        // Insert or overwrite: a repeated pair keeps its last rank (as the references do).
        uint64_t key = (((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib) + 1;
        size_t mask = tok->merge_cap - 1;
        size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
        while (tok->merges[i].key && tok->merges[i].key != key) i = (i + 1) & mask;
        tok->n_merges += tok->merges[i].key == 0;
        tok->merges[i] = (MergeSlot){key, rank, im};
        rank++;
    }
    free(cat);
    return 0;
}

// bos/eos/pad as a string or {"content": ...}; a token that is not in the vocabulary is
// an error, since generation would silently never stop on it.
static int config_token(Tokenizer *tok, const cJSON *cfg, const char *key, int *out, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    *out = -1;
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (!cJSON_IsString(v)) return err_set("%s: %s must be a string or {\"content\": ...}", name, key);
    *out = tok_lookup(tok, v->valuestring, strlen(v->valuestring));
    if (*out < 0) return err_set("%s: %s '%s' is not a token of the tokenizer", name, key, v->valuestring);
    return 0;
}

static int set_chat_template(Tokenizer *tok, const char *text, const char *where) {
    free(tok->chat_template), free(tok->chat_where);
    tok->chat_template = strdup(text), tok->chat_where = strdup(where);
    return tok->chat_template && tok->chat_where ? 0 : err_set("%s: out of memory", where);
}

// chat_template: a string, or a list of {"name", "template"} of which the one
// named "default" is the chat template.
static int config_chat_template(Tokenizer *tok, const cJSON *v, const char *name) {
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsString(v)) return set_chat_template(tok, v->valuestring, name);
    if (!cJSON_IsArray(v))
        return err_set("%s: chat_template must be a string or a list of {\"name\", \"template\"}", name);
    const cJSON *one;
    cJSON_ArrayForEach(one, v) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(one, "name");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(one, "template");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, "default") && cJSON_IsString(t))
            return set_chat_template(tok, t->valuestring, name);
    }
    return 0;
}

static int load_config(Tokenizer *tok, const char *config, size_t len, const char *name) {
    char cname[4200];
    snprintf(cname, sizeof cname, "%s (tokenizer_config.json)", name);
    cJSON *cfg = parse_json(config, len, cname);
    if (!cfg) return -1;
    int rc = config_token(tok, cfg, "bos_token", &tok->bos, cname) ||
             config_token(tok, cfg, "eos_token", &tok->eos, cname) ||
             config_token(tok, cfg, "pad_token", &tok->pad, cname) ? -1 : 0;
    tok->cleanup = json_flag(cfg, "clean_up_tokenization_spaces");
    if (rc == 0) rc = config_chat_template(tok, cJSON_GetObjectItemCaseSensitive(cfg, "chat_template"), cname);
    cJSON_Delete(cfg);
    return rc;
}

Tokenizer *tok_load_mem(const char *json, size_t json_len, const char *config,
                        size_t config_len, const char *name) {
    if (!name) name = "tokenizer.json";
    Tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) { err_set("%s: out of memory", name); return NULL; }
    tok->bos = tok->eos = tok->pad = -1;
    for (int i = 0; i < TOK_CACHE_SHARDS; i++) pthread_mutex_init(&tok->cache[i].mu, NULL);
    cJSON *root = parse_json(json, json_len, name);
    if (!root) goto fail;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (check_model(model, name)) goto fail;
    tok->ignore_merges = json_flag(model, "ignore_merges");
    if (load_vocab(tok, cJSON_GetObjectItemCaseSensitive(model, "vocab"),
                   cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), name))
        goto fail;
    qsort(tok->added, (size_t)tok->n_added, sizeof *tok->added, added_cmp);
    for (int i = 0; i < tok->n_added; i++) tok->added_first[(unsigned char)tok->added[i].content[0]] = 1;
    for (int b = 0; b < 256; b++) {
        char sym[4];
        int l = utf8_put(utf8_byte_cp(b), sym);
        if ((tok->byte_id[b] = tok_lookup(tok, sym, (size_t)l)) < 0) {
            err_set("%s: model.vocab lacks the byte-level symbol '%.*s' for byte 0x%02X "
                    "(not a byte-level BPE vocabulary)", name, l, sym, b);
            goto fail;
        }
    }
    if (load_merges(tok, cJSON_GetObjectItemCaseSensitive(model, "merges"), name) ||
        load_normalizer(tok, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), name) ||
        load_pretok(tok, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), name, 0) ||
        load_decoder(cJSON_GetObjectItemCaseSensitive(root, "decoder"), name))
        goto fail;
    if (config && load_config(tok, config, config_len, name)) goto fail;
    cJSON_Delete(root);
    return tok;
fail:
    cJSON_Delete(root);
    tok_free(tok);
    return NULL;
}

Tokenizer *tok_load(const char *path) {
    char json_path[4096], cfg_path[4096];
    if (path_is_dir(path)) {
        if (path_join(json_path, sizeof json_path, path, "tokenizer.json") ||
            path_join(cfg_path, sizeof cfg_path, path, "tokenizer_config.json"))
            return NULL;
    } else if (path_fmt(json_path, sizeof json_path, "%s", path) ||
               path_sibling(cfg_path, sizeof cfg_path, path, "tokenizer_config.json")) {
        return NULL;
    }
    size_t len, clen = 0;
    char *json = file_read_all(json_path, &len);
    if (!json) return NULL;
    char *cfg = path_exists(cfg_path) ? file_read_all(cfg_path, &clen) : NULL;
    if (path_exists(cfg_path) && !cfg) {
        free(json);
        return NULL;
    }
    Tokenizer *tok = tok_load_mem(json, len, cfg, clen, json_path);
    free(json);
    free(cfg);
    if (tok && tok->chat_template) {
        free(tok->chat_where);
        if (!(tok->chat_where = strdup(cfg_path))) tok_free(tok), tok = NULL;
    }
    // Newer checkpoints keep the chat template in a file of its own.
    char jinja[4096];
    if (tok && !tok->chat_template && path_sibling(jinja, sizeof jinja, json_path, "chat_template.jinja") == 0 &&
        path_exists(jinja)) {
        char *text = file_read_all(jinja, NULL);
        if (!text || set_chat_template(tok, text, jinja) != 0) tok_free(tok), tok = NULL;
        free(text);
    }
    return tok;
}

// ---- decoding
int tok_buf_put(char **b, size_t *n, size_t *cap, const char *s, size_t l) {
    if (*n + l + 1 > *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        while (*n + l + 1 > c) c *= 2;
        char *q = realloc(*b, c);
        if (!q) return -1;
        *b = q, *cap = c;
    }
    memcpy(*b + *n, s, l);
    *n += l;
    return 0;
}

// Make out[from..n) valid UTF-8 in place, first growing the buffer to the
// room replacements may need.
static int sanitize_tail(char **b, size_t *n, size_t *cap, size_t from) {
    size_t tail = *n - from;
    if (utf8_valid_prefix(*b + from, tail) == tail) return 0;
    size_t room = *n + 2 * tail;
    if (tok_buf_put(b, &room, cap, "", 0)) return -1;
    *n = from + utf8_sanitize_in_place(*b + from, tail);
    return 0;
}

// transformers' clean_up_tokenization: drop the space before these English pieces.
static size_t cleanup_spaces(char *s, size_t n) {
    static const char *const pieces[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"};
    static const char *const repl[] = {".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re"};
    for (int k = 0; k < 10; k++) {
        size_t pl = strlen(pieces[k]), rl = strlen(repl[k]), w = 0;
        for (size_t i = 0; i < n;) {
            if (i + pl <= n && memcmp(s + i, pieces[k], pl) == 0) {
                memmove(s + w, repl[k], rl);
                w += rl, i += pl;
            } else {
                s[w++] = s[i++];
            }
        }
        n = w;
    }
    return n;
}

int tok_decode_append(const Tokenizer *tok, const int *ids, int n, char **buf, size_t *len, size_t *cap) {
    size_t start = *len, run = start;   // run: where the current byte-level run began
    for (int i = 0; i < n; i++) {
        int id = ids[i];
        if (id < 0 || id >= tok->n_ids || !tok->raw[id])
            return err_set("decode: ids[%d] = %d is not a token id (vocabulary size %d)", i, id, tok->n_ids);
        if (tok->kind[id] && sanitize_tail(buf, len, cap, run)) goto oom;
        if (tok_buf_put(buf, len, cap, tok->raw[id], tok->raw_len[id])) goto oom;
        if (tok->kind[id]) run = *len;
    }
    if (sanitize_tail(buf, len, cap, run) || tok_buf_put(buf, len, cap, "", 0)) goto oom;
    if (tok->cleanup) *len = start + cleanup_spaces(*buf + start, *len - start);
    (*buf)[*len] = 0;
    return 0;
oom:
    return err_set("decode: out of memory");
}

char *tok_decode(const Tokenizer *tok, const int *ids, int n, size_t *len) {
    char *b = NULL;
    size_t bn = 0, cap = 0;
    if (tok_decode_append(tok, ids, n, &b, &bn, &cap) != 0) {
        free(b);
        return NULL;
    }
    if (len) *len = bn;
    return b;
}

// ---- accessors
int tok_vocab_size(const Tokenizer *tok) { return tok->n_ids; }
int tok_bos_id(const Tokenizer *tok) { return tok->bos; }
int tok_eos_id(const Tokenizer *tok) { return tok->eos; }
const char *tok_chat_template(const Tokenizer *tok, const char **where) {
    if (where) *where = tok->chat_where ? tok->chat_where : "the tokenizer (no tokenizer_config.json)";
    return tok->chat_template;
}

int tok_pad_id(const Tokenizer *tok) { return tok->pad; }

int tok_token_id(const Tokenizer *tok, const char *token) {
    return token ? tok_lookup(tok, token, strlen(token)) : -1;
}

const char *tok_token_str(const Tokenizer *tok, int id) {
    return id >= 0 && id < tok->n_ids ? tok->str[id] : NULL;
}

const char *tok_token_bytes(const Tokenizer *tok, int id, size_t *len) {
    if (id < 0 || id >= tok->n_ids || !tok->raw[id]) return NULL;
    if (len) *len = tok->raw_len[id];
    return tok->raw[id];
}

int tok_is_special(const Tokenizer *tok, int id) {
    return id >= 0 && id < tok->n_ids && tok->kind[id] == 2;
}
