// Exact 128-bit rationals with overflow checks (see rational.h). Magnitudes are
// kept below 2^126 so that sums of two values and the checks themselves cannot wrap.
#include "reward/rational.h"

#define RAT_LIMIT ((__int128)1 << 126)

static __int128 abs128(__int128 a) { return a < 0 ? -a : a; }

static __int128 gcd128(__int128 a, __int128 b) {
    a = abs128(a), b = abs128(b);
    while (b) {
        __int128 t = a % b;
        a = b, b = t;
    }
    return a;
}

// a * b with |a|, |b| < 2^126; RAT_OVERFLOW when |a * b| >= 2^126.
static int mul_checked(__int128 *out, __int128 a, __int128 b) {
    __int128 ua = abs128(a), ub = abs128(b);
    if (ua != 0 && ub >= RAT_LIMIT / ua) return RAT_OVERFLOW;
    *out = a * b;
    return RAT_OK;
}

int rat_make(Rational *out, __int128 num, __int128 den) {
    if (den == 0) return RAT_DIVZERO;
    if (abs128(num) >= RAT_LIMIT || abs128(den) >= RAT_LIMIT) return RAT_OVERFLOW;
    if (den < 0) num = -num, den = -den;
    __int128 g = gcd128(num, den);
    if (g > 1) num /= g, den /= g;
    out->num = num, out->den = den;
    return RAT_OK;
}

// a/b + c/d = (a*(l/b) + c*(l/d)) / l with l = lcm(b, d).
int rat_add(Rational *out, Rational a, Rational b) {
    __int128 g = gcd128(a.den, b.den), l, x, y;
    if (mul_checked(&l, a.den / g, b.den) || mul_checked(&x, a.num, l / a.den) ||
        mul_checked(&y, b.num, l / b.den))
        return RAT_OVERFLOW;
    return rat_make(out, x + y, l);
}

int rat_sub(Rational *out, Rational a, Rational b) {
    b.num = -b.num;
    return rat_add(out, a, b);
}

// Cross-reduce first so that products of reduced values overflow only when the
// result itself is too large.
int rat_mul(Rational *out, Rational a, Rational b) {
    __int128 g1 = gcd128(a.num, b.den), g2 = gcd128(b.num, a.den), n, d;
    if (g1 == 0) g1 = 1;
    if (g2 == 0) g2 = 1;
    if (mul_checked(&n, a.num / g1, b.num / g2) || mul_checked(&d, a.den / g2, b.den / g1))
        return RAT_OVERFLOW;
    return rat_make(out, n, d);
}

int rat_div(Rational *out, Rational a, Rational b) {
    if (b.num == 0) return RAT_DIVZERO;
    Rational inv = {b.num < 0 ? -b.den : b.den, abs128(b.num)};
    return rat_mul(out, a, inv);
}

int rat_equal(Rational a, Rational b) { return a.num == b.num && a.den == b.den; }

int rat_parse_decimal(Rational *out, const char *s, size_t n) {
    __int128 num = 0, den = 1;
    size_t i = 0, digits = 0;
    int dot = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.' && !dot) {
            dot = 1;
            continue;
        }
        if (c < '0' || c > '9') return 1;
        digits++;
        // Trailing zeros after the point add nothing; skip them to keep den small.
        if (dot && c == '0') {
            size_t j = i;
            while (j < n && s[j] == '0') j++;
            if (j == n) break;
        }
        if (num >= RAT_LIMIT / 10) return RAT_OVERFLOW;
        num = num * 10 + (c - '0');
        if (dot) {
            if (den >= RAT_LIMIT / 10) return RAT_OVERFLOW;
            den *= 10;
        }
    }
    if (digits == 0) return 1;
    return rat_make(out, num, den);
}
