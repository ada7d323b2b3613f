// Lenient decoding of sampled ids: runs of known ids go through tok_decode,
// each unknown id becomes U+FFFD. For model output, never for user input.
#include "base/err.h"
#include "tok/tokenizer.h"

#include <stdlib.h>
#include <string.h>

char *tok_decode_lenient(const Tokenizer *tok, const int *ids, int n, size_t *out_len) {
    int V = tok_vocab_size(tok), i = 0;
    size_t len = 0, cap = 64;
    char *text = malloc(cap);
    while (text && i < n) {
        int j = i;
        while (j < n && ids[j] >= 0 && ids[j] < V) j++;
        size_t pl = 3;
        char *piece = j > i ? tok_decode(tok, ids + i, j - i, &pl) : strdup("\xEF\xBF\xBD");
        if (!piece) {
            free(text);
            return NULL;
        }
        if (len + pl + 1 > cap) {
            while (len + pl + 1 > cap) cap *= 2;
            char *t = realloc(text, cap);
            if (!t) free(text);
            text = t;
        }
        if (text) memcpy(text + len, piece, pl), len += pl;
        free(piece);
        i = j > i ? j : i + 1;
    }
    if (!text) {
        err_set("out of memory");
        return NULL;
    }
    text[len] = 0;
    if (out_len) *out_len = len;
    return text;
}
