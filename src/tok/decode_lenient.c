// Lenient decoding of sampled ids: runs of known ids go through tok_decode,
// each unknown id becomes U+FFFD. For model output, never for user input.
#include "base/err.h"
#include "tok/tok_internal.h"

#include <stdlib.h>

int tok_decode_lenient_append(const Tokenizer *tok, const int *ids, int n, char **buf, size_t *len, size_t *cap) {
    int V = tok_vocab_size(tok), i = 0;
    if (tok_buf_put(buf, len, cap, "", 0) != 0) return err_set("out of memory");
    (*buf)[*len] = 0;
    while (i < n) {
        int j = i;
        while (j < n && ids[j] >= 0 && ids[j] < V) j++;
        if (j > i) {
            if (tok_decode_append(tok, ids + i, j - i, buf, len, cap) != 0) return -1;
            i = j;
        } else {
            if (tok_buf_put(buf, len, cap, "\xEF\xBF\xBD", 3) != 0) return err_set("out of memory");
            (*buf)[*len] = 0;
            i++;
        }
    }
    return 0;
}

char *tok_decode_lenient(const Tokenizer *tok, const int *ids, int n, size_t *out_len) {
    char *text = NULL;
    size_t len = 0, cap = 0;
    if (tok_decode_lenient_append(tok, ids, n, &text, &len, &cap) != 0) {
        free(text);
        return NULL;
    }
    if (out_len) *out_len = len;
    return text;
}
