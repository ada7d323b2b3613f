// Evaluation statistics as the R1 paper reports them: pass@k (unbiased), cons@k
// (majority vote), and the frequency of R1's reflection words. Pure functions
// over answers and counts: no sampling, no model.
#ifndef AHA_EVAL_STATS_H
#define AHA_EVAL_STATS_H

#include <stddef.h>

// R1's ten reflection words (wait, mistake, however, but, retry, error,
// verify, wrong, evaluate, check), matched as whole words, case-insensitive;
// simple inflections (checks, checking, checked, errors, ...) count too; and
// their Chinese counterparts (等等, 错误, 但是, 验证, 不对, 检查, ...), counted
// where they occur, so that a bilingual model's checks count in either language.
int reflection_count(const char *text, size_t len);
extern const char *const reflection_words[10];
extern const char *const reflection_words_zh[8];

// Unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k)/C(n, k).
// Requires 1 <= k <= n, 0 <= c <= n.
double pass_at_k(int n, int c, int k);

// Majority vote over n answers (normalised strings; NULL or "" = no answer).
// The most frequent answer wins, ties going to the one seen first. Returns
// the winner's correctness (correct[i] of any i with that answer), 0 when no
// sample has an answer.
int cons_at_k(const char *const *answers, const int *correct, int n);

#endif
