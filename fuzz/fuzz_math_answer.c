// libFuzzer target: math answer extraction, normalisation and comparison on
// arbitrary bytes. The input is split at the first NUL into completion and gold.
#include "reward/math_answer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    const char *nul = memchr(s, 0, size);
    size_t n = nul ? (size_t)(nul - s) : size;
    size_t start, len;
    if (math_find_answer(s, size, &start, &len)) {
        if (start > size || len > size - start) abort();
    }
    char *norm = math_normalize(s, size);
    free(norm);
    char *gold = malloc(size - n + 1);
    if (!gold) return 0;
    memcpy(gold, nul ? nul + 1 : s, nul ? size - n - 1 : 0);
    gold[nul ? size - n - 1 : 0] = 0;
    math_completion_correct(s, n, (int)(size & 1), gold);
    // Equality must be symmetric and reflexive for non-empty answers of numbers.
    int ab = math_answer_equal(s, n, gold, strlen(gold));
    int ba = math_answer_equal(gold, strlen(gold), s, n);
    if (ab != ba) abort();
    free(gold);
    return 0;
}
