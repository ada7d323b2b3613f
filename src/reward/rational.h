// Exact rationals over 128-bit integers for answer comparison and countdown
// arithmetic. Every operation checks for overflow and reports it; it never wraps
// and never approximates (there is no float anywhere in here).
#ifndef AHA_RATIONAL_H
#define AHA_RATIONAL_H

#include <stddef.h>

// num/den in lowest terms with den > 0; |num|, den < 2^126.
typedef struct {
    __int128 num, den;
} Rational;

// Status of every operation: 0 ok, RAT_OVERFLOW, RAT_DIVZERO.
enum { RAT_OK = 0, RAT_OVERFLOW = -1, RAT_DIVZERO = -2 };

int rat_make(Rational *out, __int128 num, __int128 den);
int rat_add(Rational *out, Rational a, Rational b);
int rat_sub(Rational *out, Rational a, Rational b);
int rat_mul(Rational *out, Rational a, Rational b);
int rat_div(Rational *out, Rational a, Rational b);
int rat_equal(Rational a, Rational b);

// Parses an unsigned decimal "123", "1.50", ".5", "7." (digits only, no sign,
// no separators) from s[0..n). Returns RAT_OK, RAT_OVERFLOW, or 1 when the text
// is not such a number.
int rat_parse_decimal(Rational *out, const char *s, size_t n);

#endif
