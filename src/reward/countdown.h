// Countdown (TinyZero): an arithmetic expression over the given numbers that must
// reach the target. The expression is parsed by a small recursive-descent parser
// over exact rationals; model text is never handed to a general evaluator.
#ifndef AHA_COUNTDOWN_H
#define AHA_COUNTDOWN_H

#include "reward/rational.h"

#include <stddef.h>

#define COUNTDOWN_MAX_NUMBERS 16  // literals beyond this make an expression invalid
#define COUNTDOWN_MAX_DEPTH 64    // parenthesis nesting beyond this is invalid

// Parses and evaluates s[0..n): integers, + - * / (also × ÷ − and \times \div),
// parentheses; no unary signs. On success returns 0, stores the value and the
// literals in order (lits is (COUNTDOWN_MAX_NUMBERS), *n_lits their count).
// Returns -1 for a syntax error, too many literals or too deep nesting, -2 for
// division by zero, -3 for a value or literal past 128 bits.
int countdown_eval(const char *s, size_t n, Rational *value, __int128 *lits, int *n_lits);

// 1 if the expression uses exactly the multiset `numbers` (nn of them) and equals
// target; 0 otherwise (including any parse or arithmetic failure).
int countdown_check(const char *s, size_t n, const long *numbers, int nn, long target);

#endif
