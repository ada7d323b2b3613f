// Shaping rewards on length and repetition: DAPO soft overlong punishment, the
// n-gram repetition penalty and the cosine-scaled length reward of open-r1.
// They read token counts from the input; they never tokenize text themselves.
#include "reward/reward.h"
#include "reward/math_answer.h"
#include "reward/text.h"
#include "base/err.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// DAPO: with L = max, C = cache, |y| = completion tokens,
//   0 if |y| <= L - C;  ((L - C) - |y|) / C if L - C < |y| <= L;  -1 beyond.
double reward_overlong(const RewardInput *in, const RewardParams *p) {
    double L = reward_param_double(p, "max", (double)in->max_new_tokens);
    double C = reward_param_double(p, "cache", L / 5.0);
    if (!(L > 0)) return err_set("needs max (option max= or the input's max_new_tokens)"), NAN;
    if (!(C > 0) || C > L) return err_set("cache must be in (0, max], got %g", C), NAN;
    if (in->completion_tokens < 0) return err_set("the input has no completion token count (JSONL field \"tokens\")"), NAN;
    double y = (double)in->completion_tokens;
    if (y <= L - C) return 0.0;
    if (y <= L) return ((L - C) - y) / C;
    return -1.0;
}

typedef struct {
    const char *p;
    size_t len;
} Word;

static uint64_t word_hash(Word w) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over lowercase bytes
    for (size_t i = 0; i < w.len; i++) {
        unsigned char c = (unsigned char)w.p[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

static int word_eq(Word a, Word b) {
    if (a.len != b.len) return 0;
    for (size_t i = 0; i < a.len; i++) {
        unsigned char x = (unsigned char)a.p[i], y = (unsigned char)b.p[i];
        if (x >= 'A' && x <= 'Z') x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (unsigned char)(y - 'A' + 'a');
        if (x != y) return 0;
    }
    return 1;
}

// open-r1: words = lower(text).split(); G = the n-grams of consecutive words;
// reward = (1 - |set(G)| / |G|) * max_penalty, 0 when there are fewer than n words.
// Lowercasing is ASCII only.
double reward_repetition(const RewardInput *in, const RewardParams *p) {
    double ngd = reward_param_double(p, "ngram", 3.0), maxp = reward_param_double(p, "max_penalty", -1.0);
    if (!(ngd >= 1 && ngd <= 64 && ngd == floor(ngd)))
        return err_set("ngram must be an integer in [1, 64]"), NAN;
    if (maxp > 0) return err_set("max_penalty must be <= 0, got %g", maxp), NAN;
    size_t ng = (size_t)ngd, n = in->completion_len, nw = 0;
    const char *s = in->completion;
    for (size_t i = 0; i < n; i++)
        if (!text_is_space(s[i]) && (i == 0 || text_is_space(s[i - 1]))) nw++;
    if (nw < ng) return 0.0;
    size_t total = nw - ng + 1, cap = 16;
    while (cap < 2 * total) cap *= 2;
    Word *words = malloc(nw * sizeof *words);       // (nw)
    uint64_t *wh = malloc(nw * sizeof *wh);          // (nw) word hashes
    size_t *table = calloc(cap, sizeof *table);      // (cap) 1 + start word of an n-gram, 0 empty
    if (!words || !wh || !table) {
        free(words), free(wh), free(table);
        return err_set("out of memory"), NAN;
    }
    nw = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && text_is_space(s[i])) i++;
        size_t j = i;
        while (j < n && !text_is_space(s[j])) j++;
        if (j > i) words[nw] = (Word){s + i, j - i}, wh[nw] = word_hash(words[nw]), nw++;
        i = j;
    }
    size_t unique = 0;
    for (size_t g = 0; g < total; g++) {
        uint64_t h = 0;
        for (size_t k = 0; k < ng; k++) h = (h ^ wh[g + k]) * 0x100000001b3ull + k;
        for (size_t slot = h & (cap - 1);; slot = (slot + 1) & (cap - 1)) {
            if (!table[slot]) {
                table[slot] = g + 1;
                unique++;
                break;
            }
            size_t o = table[slot] - 1, k = 0;
            while (k < ng && word_eq(words[o + k], words[g + k])) k++;
            if (k == ng) break;
        }
    }
    free(words), free(wh), free(table);
    return (1.0 - (double)unique / (double)total) * maxp;
}

// open-r1 cosine-scaled reward: with t = min(|y| / max_len, 1) and
// (lo, hi) = (min_correct, max_correct) when correct, (max_wrong, min_wrong) when not,
//   r = lo + (hi - lo) * (1 + cos(pi t)) / 2.
// Short correct answers earn the most; short wrong answers lose the most.
double reward_cosine(const RewardInput *in, const RewardParams *p) {
    double min_wrong = reward_param_double(p, "min_wrong", -1.0);
    double max_wrong = reward_param_double(p, "max_wrong", -0.5);
    double min_correct = reward_param_double(p, "min_correct", 0.5);
    double max_correct = reward_param_double(p, "max_correct", 1.0);
    double max_len = reward_param_double(p, "max_len", (double)in->max_new_tokens);
    if (!in->answer) return err_set("the input has no gold answer"), NAN;
    if (!(max_len > 0)) return err_set("needs max_len (option or the input's max_new_tokens)"), NAN;
    if (in->completion_tokens < 0) return err_set("the input has no completion token count (JSONL field \"tokens\")"), NAN;
    int correct = math_completion_correct(in->completion, in->completion_len, in->prefilled_think, in->answer);
    double t = fmin((double)in->completion_tokens / max_len, 1.0);
    double lo = correct ? min_correct : max_wrong, hi = correct ? max_correct : min_wrong;
    return lo + 0.5 * (hi - lo) * (1.0 + cos(M_PI * t));
}
