// pass@k, cons@k and reflection-word counting.
#include "eval/stats.h"

#include <ctype.h>
#include <string.h>

const char *const reflection_words[10] = {"wait", "mistake", "however", "but", "retry",
                                          "error", "verify", "wrong", "evaluate", "check"};

// 等等 wait, 错误 mistake/error, 然而 however, 但是 but, 重试 retry, 验证 verify,
// 不对 wrong, 检查 check (R1's evaluate has no single counterpart).
const char *const reflection_words_zh[8] = {"等等", "错误", "然而", "但是", "重试", "验证", "不对", "检查"};

// Endings accepted after a stem: "", s, es, ed, d, ing, ies ("verifies").
static int inflection(const char *w, size_t n, const char *stem) {
    size_t s = strlen(stem);
    if (n < s || strncmp(w, stem, s) != 0) {
        // verify -> verifies / verified: stem without the final y
        if (stem[s - 1] == 'y' && n >= s + 1 && strncmp(w, stem, s - 1) == 0) {
            const char *e = w + s - 1;
            size_t el = n - (s - 1);
            return (el == 3 && !strncmp(e, "ies", 3)) || (el == 3 && !strncmp(e, "ied", 3));
        }
        return 0;
    }
    const char *e = w + s;
    size_t el = n - s;
    if (el == 0) return 1;
    static const char *const ends[] = {"s", "es", "ed", "d", "ing"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
        if (el == strlen(ends[i]) && !strncmp(e, ends[i], el)) return 1;
    return 0;
}

// Non-overlapping occurrences of word in text[0..len).
static int occurrences(const char *text, size_t len, const char *word) {
    size_t m = strlen(word);
    int n = 0;
    for (size_t i = 0; i + m <= len;)
        if (memcmp(text + i, word, m) == 0) n++, i += m;
        else i++;
    return n;
}

int reflection_count(const char *text, size_t len) {
    int count = 0;
    char w[32];
    for (int k = 0; k < 8; k++) count += occurrences(text, len, reflection_words_zh[k]);
    for (size_t i = 0; i < len;) {
        while (i < len && !isalpha((unsigned char)text[i])) i++;
        size_t b = i;
        while (i < len && isalpha((unsigned char)text[i])) i++;
        size_t n = i - b;
        if (n == 0 || n >= sizeof w) continue;
        for (size_t k = 0; k < n; k++) w[k] = (char)tolower((unsigned char)text[b + k]);
        w[n] = 0;
        for (int k = 0; k < 10; k++)
            if (inflection(w, n, reflection_words[k])) {
                // "but" takes no endings ("butter", "buts" are not reflection)
                if (k == 3 && n != 3) continue;
                count++;
                break;
            }
    }
    return count;
}

double pass_at_k(int n, int c, int k) {
    if (n - c < k) return 1.0;
    // prod_{i = n-c+1}^{n} (1 - k / i), numerically stable
    double p = 1.0;
    for (int i = n - c + 1; i <= n; i++) p *= 1.0 - (double)k / i;
    return 1.0 - p;
}

int cons_at_k(const char *const *answers, const int *correct, int n) {
    int best = -1, best_count = 0;
    for (int i = 0; i < n; i++) {
        if (!answers[i] || !answers[i][0]) continue;
        int seen_before = 0;
        for (int j = 0; j < i && !seen_before; j++) seen_before = answers[j] && !strcmp(answers[i], answers[j]);
        if (seen_before) continue;
        int count = 0;
        for (int j = i; j < n; j++) count += answers[j] && !strcmp(answers[i], answers[j]);
        if (count > best_count) {
            best = i;
            best_count = count;
        }
    }
    return best < 0 ? 0 : correct[best];
}
