// Math answer checking: find the final answer in a completion, normalise it, and
// compare it with the gold answer exactly (numbers as 128-bit rationals, anything
// else as normalised text). Never evaluates expressions beyond a/b fractions.
#ifndef AHA_MATH_ANSWER_H
#define AHA_MATH_ANSWER_H

#include <stddef.h>

// The final answer in s[0..n): the content of the last well-formed \boxed{...}
// (or \fbox{...}, nested braces matched), else of the last <answer>…</answer>,
// else the rest of the line after the last "####", "answer:" or "answer is"
// (case-insensitive). Returns 1 and sets *start/*len, or 0 when there is none.
int math_find_answer(const char *s, size_t n, size_t *start, size_t *len);

// The normalised text of an answer (see math_answer.c for the rules): a malloc'd
// NUL-terminated string the caller frees, or NULL when out of memory.
char *math_normalize(const char *s, size_t n);

// 1 when the two answers are equal after normalisation, 0 otherwise (and when
// out of memory).
int math_answer_equal(const char *a, size_t na, const char *b, size_t nb);

// 1 when the completion's final answer (taken outside the think block, see
// text.h) equals the gold answer. A gold answer in which math_find_answer finds
// an answer (\boxed{}, "#### 42", ...) is reduced to it first.
int math_completion_correct(const char *completion, size_t n, int prefilled_think,
                            const char *gold);

#endif
