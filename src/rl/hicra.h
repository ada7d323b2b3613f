// HICRA planning tokens: Strategic Grams (3-5 word n-grams that steer a
// solution), finding them in completions, marking the tokens they cover,
// boosting those tokens' advantages, extracting a lexicon from successful
// completions, and semantic entropy. Words are ASCII letters, digits and
// apostrophes, lower-cased; anything else separates words. No clustering of
// similar grams is done: a lexicon is a plain list.
#ifndef AHA_RL_HICRA_H
#define AHA_RL_HICRA_H

#include <stddef.h>
#include <stdint.h>

#define HICRA_MIN_N 3
#define HICRA_MAX_N 5

typedef struct Lexicon Lexicon;

// The built-in lexicon (planning phrases for math and puzzle reasoning).
Lexicon *lexicon_builtin(void);
// One gram per line ('#' starts a comment); lines of fewer than 3 or more than
// 5 words are an error naming path:line. NULL + err_set on failure.
Lexicon *lexicon_load(const char *path);
// Grams from a NULL-terminated array of phrases (same rules as a file).
Lexicon *lexicon_from_list(const char *const *phrases);
void lexicon_free(Lexicon *lx);
int lexicon_size(const Lexicon *lx);
// The i-th gram, normalised ("let me check").
const char *lexicon_gram(const Lexicon *lx, int i);

// Mark the tokens of one completion that overlap a Strategic Gram occurrence.
// tok_off (n_tokens + 1) holds each token's starting byte offset in text and
// the end offset last. planning (n_tokens) gets 1 or 0. Returns the number of
// gram occurrences found. If counts is not NULL, counts[i] is incremented for
// every occurrence of gram i (for semantic entropy). Allocates nothing.
int hicra_mark(uint8_t *planning, const char *text, size_t len, const int *tok_off, int n_tokens,
               const Lexicon *lx, double *counts);

// A_t <- A_t + alpha * |A_t| where planning[t] (REFERENCE.md HICRA).
void hicra_apply(float *adv, const uint8_t *planning, int n, float alpha);

// Shannon entropy (nats) of the distribution given by counts (n entries);
// 0 when all counts are 0.
double semantic_entropy(const double *counts, int n);

// Extract a lexicon from successful completions: every 3-5-gram is scored by
// the number of completions containing it; grams in at least min_docs
// completions are ranked and the top `keep_frac` (0.2 in the paper) kept.
// Returns a lexicon (possibly empty) or NULL + err_set.
Lexicon *lexicon_extract(const char *const *texts, int n_texts, int min_docs, double keep_frac);
// Write one gram per line with its document count as a comment.
int lexicon_save(const Lexicon *lx, const char *path);

#endif
