// The Tokenizer's insides, shared by tokenizer.c (loading, decoding) and encode.c. Not a
// public header: other modules use tok/tokenizer.h only.
#ifndef AHA_TOK_INTERNAL_H
#define AHA_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "tok/tokenizer.h"

typedef struct {
    const char *content;   // borrowed from Tokenizer.pool
    int len;
    int id;
    int lstrip, rstrip;
} AddedToken;

// Merge (left id, right id) -> (rank, merged id), open addressing on a 64-bit key.
typedef struct {
    uint64_t key;   // (left << 32 | right) + 1; 0 = empty slot
    int rank;
    int id;
} MergeSlot;

#define TOK_MAX_SPLITS 4

// Cache of BPE results by word bytes, shared by all callers: sharded, one mutex each.
// A shard that fills up is emptied (results never depend on it).
typedef struct {
    uint64_t hash;               // 0 = empty
    uint32_t key_off, key_len;   // into keys
    uint32_t val_off, val_len;   // into vals
} CacheSlot;

typedef struct {
    pthread_mutex_t mu;
    CacheSlot *slot;   // (cap)
    size_t cap, used;
    char *keys;
    size_t keys_n, keys_cap;
    int *vals;
    size_t vals_n, vals_cap;
} CacheShard;

#define TOK_CACHE_SHARDS 16
#define TOK_CACHE_SHARD_WORDS (1 << 13)

struct Tokenizer {
    int n_ids;                  // V: one more than the largest id
    const char **str;           // (V) vocabulary string of each id, NULL if unused
    uint32_t *str_len;          // (V)
    const char **raw;           // (V) bytes each id stands for (byte-level decoded)
    uint32_t *raw_len;          // (V)
    uint8_t *kind;              // (V) 0 model token, 1 added, 2 added + special
    char *pool;                 // one allocation holding every string above
    int *str_slot;              // string -> id map: (str_cap) ids, -1 empty
    size_t str_cap;
    MergeSlot *merges;          // (merge_cap)
    size_t merge_cap;
    int n_merges;
    int byte_id[256];           // id of each byte's symbol
    AddedToken *added;          // (n_added) sorted longest first
    int n_added;
    uint8_t added_first[256];   // 1 if some added token starts with this byte
    pcre2_code *split[TOK_MAX_SPLITS];   // pre-tokenizer regex stages, applied in order
    int n_split;
    int nfc;                    // normalizer NFC
    int ignore_merges;          // a word found whole in the vocabulary is one token
    int bos, eos, pad;
    int cleanup;                // clean_up_tokenization_spaces
    char *chat_template;        // tokenizer_config.json chat_template (or chat_template.jinja), or NULL
    char *chat_where;           // the file it came from, for messages
    CacheShard cache[TOK_CACHE_SHARDS];
};

uint64_t tok_hash_bytes(const char *s, size_t n);
// Id of the n-byte vocabulary string s, or -1.
int tok_lookup(const Tokenizer *tok, const char *s, size_t n);
// Merge of (a, b): its rank and merged id, or NULL.
static inline const MergeSlot *tok_merge_find(const Tokenizer *tok, int a, int b) {
    uint64_t key = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    size_t mask = tok->merge_cap - 1;
    for (size_t i = (size_t)(h >> 32) & mask;; i = (i + 1) & mask) {
        const MergeSlot *s = &tok->merges[i];
        if (s->key == key) return s;
        if (s->key == 0) return NULL;
    }
}

// The pre-tokenizer regex as PCRE2 will run it: \s and \S take the ECMAScript meaning
// and the contraction group is rewritten exactly as transformers.js does. Returns a
// malloc'd pattern or NULL.
char *tok_pattern_rewrite(const char *pattern);

// Append s[0..l) to *b (n bytes used of *cap), growing it by doubling with
// room for a NUL after. Returns 0 or -1 when out of memory.
int tok_buf_put(char **b, size_t *n, size_t *cap, const char *s, size_t l);

#endif
