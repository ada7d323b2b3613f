// Math answers: extraction, normalisation and exact comparison (see math_answer.h).
// Normalisation, in order:
//   1. LaTeX: drop $ \( \) \[ \] % \% \left \right \, \; \! \quad \displaystyle and
//      degree marks; \dfrac \tfrac \cfrac -> \frac; unwrap \text{} \textbf{} \mbox{}
//      \mathrm{} \mathbf{} \boxed{} (text wrappers mark a word boundary); "{,}" and
//      U+2212 minus; whitespace collapsed.
//   2. Trailing periods; a leading "x =" (one letter, optional subscript, or a Greek
//      command); units: words after a leading number ("5 cm", "12\text{ dollars}").
//   3. All spaces removed; thousands separators when the whole is 1,234,567.89;
//      \frac12 -> \frac{1}{2} and \sqrt2 -> \sqrt{2} shorthand; a leading '+'.
// A normalised answer that is a decimal, a/b, \frac{a}{b} or a mixed number
// 1\frac{1}{2} is compared as an exact rational; other text compares byte for byte.
// Values past 128 bits are compared as canonical decimal strings, never wrapped.
#include "reward/math_answer.h"
#include "reward/rational.h"
#include "reward/reward.h"
#include "reward/text.h"
#include "base/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BRACE_DEPTH 256  // deeper groups are copied without tracking
#define MAX_EXPAND_DEPTH 64  // \frac argument nesting expanded; deeper is copied
#define TEXT_MARK '\x01'     // word boundary left by an unwrapped \text{}

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_blank(char c) { return c == ' ' || c == TEXT_MARK; }
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static int name_in(const char *name, size_t len, const char *const *list) {
    for (; *list; list++)
        if (strlen(*list) == len && memcmp(*list, name, len) == 0) return 1;
    return 0;
}

static int starts(const char *s, const char *end, const char *lit) {
    size_t m = strlen(lit);
    return (size_t)(end - s) >= m && memcmp(s, lit, m) == 0;
}

// ---------------------------------------------------------------- extraction

// Last \boxed{...} / \fbox{...} whose braces close, or "\boxed 5". Scans starts
// from the end; an argument that does not close before `limit` means no earlier
// argument can close at or after that start either, so `limit` shrinks and the
// whole search stays linear.
static int find_boxed(const char *s, size_t n, size_t *start, size_t *len) {
    size_t limit = n;
    for (size_t i = n; i-- > 0;) {
        if (s[i] != '\\') continue;
        size_t k;
        if (starts(s + i, s + n, "\\boxed")) k = i + 6;
        else if (starts(s + i, s + n, "\\fbox")) k = i + 5;
        else continue;
        if (k < n && is_alpha(s[k])) continue;
        size_t j = k;
        while (j < limit && s[j] == ' ') j++;
        if (j < limit && s[j] == '{') {
            size_t depth = 0;
            for (size_t q = j; q < limit; q++) {
                if (s[q] == '\\') {
                    q++;
                } else if (s[q] == '{') {
                    depth++;
                } else if (s[q] == '}' && --depth == 0) {
                    *start = j + 1;
                    *len = q - j - 1;
                    return 1;
                }
            }
            limit = i;
        } else if (j > k && j < limit) {
            size_t q = j;
            while (q < limit && !text_is_space(s[q]) && s[q] != '$') q++;
            *start = j;
            *len = q - j;
            return 1;
        }
    }
    return 0;
}

// Last case-insensitive occurrence of lit (lowercase) in s[0..n), as an offset past
// its end, or 0 when absent.
static size_t rfind_nocase(const char *s, size_t n, const char *lit) {
    size_t m = strlen(lit);
    if (m > n) return 0;
    for (size_t i = n - m + 1; i-- > 0;) {
        size_t k = 0;
        while (k < m && lower(s[i + k]) == lit[k]) k++;
        if (k == m) return i + m;
    }
    return 0;
}

// After "####" / "answer:" / "answer is": the rest of the line (or the next
// non-empty line when the rest is empty), minus decoration such as "**" and ":".
static int find_marker(const char *s, size_t n, size_t *start, size_t *len) {
    static const char *const markers[] = {"####", "answer:", "answer is"};
    size_t best = 0;
    for (int k = 0; k < 3; k++) {
        size_t at = rfind_nocase(s, n, markers[k]);
        if (at > best) best = at;
    }
    if (best == 0) return 0;
    size_t i = best;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '*' || s[i] == ':')) i++;
    if (i < n && (s[i] == '\n' || s[i] == '\r'))
        while (i < n && (text_is_space(s[i]) || s[i] == '*')) i++;
    size_t e = i;
    while (e < n && s[e] != '\n' && s[e] != '\r') e++;
    while (e > i && (text_is_space(s[e - 1]) || s[e - 1] == '*')) e--;
    if (e == i) return 0;
    *start = i;
    *len = e - i;
    return 1;
}

int math_find_answer(const char *s, size_t n, size_t *start, size_t *len) {
    return find_boxed(s, n, start, len) || text_last_answer(s, n, start, len) ||
           find_marker(s, n, start, len);
}

// ---------------------------------------------------------------- normalisation

static const char *const DROP_CMDS[] = {
    "left", "right", "displaystyle", "textstyle", "quad", "qquad", "big", "Big", "bigl",
    "bigr", "Bigl", "Bigr", "limits", "degree", "degrees", "mathdollar", NULL};
static const char *const TEXT_WRAPS[] = {"text", "textbf", "textit", "textrm", "textnormal",
                                         "textsf", "texttt", "mbox", NULL};
static const char *const PLAIN_WRAPS[] = {"boxed", "fbox", "mathrm", "mathbf", "mathit",
                                          "mathsf", "mathnormal", "bm", NULL};

// Step 1 (header comment). out has room for n + 1 bytes; returns its length.
static size_t pass_latex(char *out, const char *s, size_t n) {
    unsigned char drop[MAX_BRACE_DEPTH];  // per open brace: 1 when its '}' is dropped
    size_t depth = 0, untracked = 0, o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (text_is_space((char)c) || c == '~') {
            if (o && out[o - 1] != ' ') out[o++] = ' ';
            i++;
        } else if (c == '$' || c == '%') {
            i++;
        } else if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x88 &&
                   (unsigned char)s[i + 2] == 0x92) {  // U+2212 minus sign
            out[o++] = '-';
            i += 3;
        } else if (c == 0xC2 && i + 1 < n && ((unsigned char)s[i + 1] == 0xB0 ||
                                              (unsigned char)s[i + 1] == 0xA0)) {
            if ((unsigned char)s[i + 1] == 0xA0 && o && out[o - 1] != ' ') out[o++] = ' ';
            i += 2;  // degree sign dropped, no-break space as a space
        } else if (c == '{') {
            if (i + 2 < n && s[i + 1] == ',' && s[i + 2] == '}') {
                i += 3;
                continue;
            }
            if (depth < MAX_BRACE_DEPTH) drop[depth++] = 0;
            else untracked++;
            out[o++] = '{';
            i++;
        } else if (c == '}') {
            i++;
            if (untracked) {
                untracked--;
            } else if (depth) {
                if (drop[--depth]) continue;
            }
            if (o >= 2 && out[o - 1] == '{' && out[o - 2] == '^') o -= 2;  // "^{\circ}"
            else out[o++] = '}';
        } else if (c == '\\') {
            size_t j = i + 1;
            if (j >= n) break;
            if (!is_alpha(s[j])) {
                char d = s[j];
                i = j + 1;
                if (d == '{' || d == '}' || d == '#' || d == '&' || d == '_') {
                    out[o++] = '\\';
                    out[o++] = d;
                } else if (d == '\\') {
                    if (o && out[o - 1] != ' ') out[o++] = ' ';
                } else if (!strchr(",;:! $%()[]", d)) {
                    out[o++] = '\\';
                    out[o++] = d;
                }
                continue;
            }
            while (j < n && is_alpha(s[j])) j++;
            const char *name = s + i + 1;
            size_t len = j - i - 1;
            i = j;
            if (name_in(name, len, DROP_CMDS)) {
                if ((len == 4 || len == 5) && i < n && s[i] == '.' &&
                    (memcmp(name, "left", 4) == 0 || memcmp(name, "right", 5) == 0))
                    i++;  // "\left." is an invisible delimiter
            } else if (len == 4 && memcmp(name, "circ", 4) == 0) {
                if (o && out[o - 1] == '^') o--;
            } else if (len == 5 && (memcmp(name, "dfrac", 5) == 0 || memcmp(name, "tfrac", 5) == 0 ||
                                    memcmp(name, "cfrac", 5) == 0)) {
                memcpy(out + o, "\\frac", 5);
                o += 5;
            } else if (name_in(name, len, TEXT_WRAPS) || name_in(name, len, PLAIN_WRAPS)) {
                while (i < n && s[i] == ' ') i++;
                if (name_in(name, len, TEXT_WRAPS)) out[o++] = TEXT_MARK;
                if (i < n && s[i] == '{') {
                    i++;
                    if (depth < MAX_BRACE_DEPTH) drop[depth++] = 1;
                    else untracked++, out[o++] = '{';
                }
            } else {
                out[o++] = '\\';
                memcpy(out + o, name, len);
                o += len;
            }
        } else {
            out[o++] = (char)c;
            i++;
        }
    }
    out[o] = 0;
    return o;
}

// Removes blanks and trailing periods at both ends of t[0..m); returns the new length.
static size_t trim(char *t, size_t m) {
    size_t a = 0;
    while (a < m && is_blank(t[a])) a++;
    while (m > a && (is_blank(t[m - 1]) || t[m - 1] == '.')) m--;
    memmove(t, t + a, m - a);
    t[m - a] = 0;
    return m - a;
}

// "x = 5" -> "5" when the left side is one letter (with an optional subscript) or
// a Greek-style command such as \theta.
static size_t strip_variable(char *t, size_t m) {
    char *eq = memchr(t, '=', m);
    if (!eq) return m;
    size_t a = 0, b = (size_t)(eq - t);
    while (a < b && is_blank(t[a])) a++;
    while (b > a && is_blank(t[b - 1])) b--;
    size_t k = a;
    if (k < b && is_alpha(t[k])) {
        k++;
        if (k < b && t[k] == '_') {
            k++;
            if (k < b && t[k] == '{') {
                while (k < b && t[k] != '}') k++;
                k++;
            } else {
                k++;
            }
        }
    } else if (k < b && t[k] == '\\') {
        k++;
        while (k < b && is_alpha(t[k])) k++;
        if (k == a + 1) return m;
    }
    if (k != b || b == a) return m;
    size_t rest = (size_t)(eq + 1 - t);
    memmove(t, t + rest, m - rest);
    t[m - rest] = 0;
    return trim(t, m - rest);
}

static const char *const NOT_UNITS[] = {"pi", "million", "billion", "trillion", "thousand",
                                        "hundred", "or", "and", "to", "i", "e", NULL};

// "5 cm^2" / "12\text{ dollars}" -> the number alone. The words must follow a
// number (digits, '.', ',', '/', \frac{}{}); the first needs two letters unless it
// came from \text{}; the words hold no digits except exponents.
static size_t strip_units(char *t, size_t m) {
    size_t k = 0, digits = 0;
    if (k < m && (t[k] == '-' || t[k] == '+')) k++;
    while (k < m) {
        if (is_digit(t[k])) digits++, k++;
        else if (t[k] == '.' || t[k] == ',' || t[k] == '/' || t[k] == '{' || t[k] == '}') k++;
        else if (m - k >= 5 && memcmp(t + k, "\\frac", 5) == 0) k += 5;
        else break;
    }
    if (!digits || k == m) return m;
    size_t w = k;
    int text = 0;
    while (w < m && is_blank(t[w])) text |= t[w] == TEXT_MARK, w++;
    size_t wl = 0;
    while (w + wl < m && is_alpha(t[w + wl])) wl++;
    if (wl == 0 || (wl < 2 && !text) || name_in(t + w, wl, NOT_UNITS)) return m;
    for (size_t q = w + wl; q < m; q++) {
        char c = t[q];
        if (is_alpha(c) || is_blank(c) || c == '/' || c == '.' || c == '^' || c == '{' || c == '}')
            continue;
        if (is_digit(c) && (t[q - 1] == '^' || is_digit(t[q - 1]) || t[q - 1] == '{')) continue;
        return m;
    }
    t[k] = 0;
    return trim(t, k);
}

// Drops every blank (c == 0) or every byte equal to c.
static size_t remove_char(char *t, size_t m, char c) {
    size_t o = 0;
    for (size_t i = 0; i < m; i++)
        if (c ? t[i] != c : !is_blank(t[i])) t[o++] = t[i];
    t[o] = 0;
    return o;
}

// "1,234,567.5" -> "1234567.5" when the whole string has that shape.
static size_t strip_thousands(char *t, size_t m) {
    size_t i = (m && t[0] == '-') ? 1 : 0, lead = 0, groups = 0;
    while (i < m && is_digit(t[i])) i++, lead++;
    if (lead < 1 || lead > 3) return m;
    while (i < m && t[i] == ',') {
        size_t g = 0;
        i++;
        while (i < m && is_digit(t[i])) i++, g++;
        if (g != 3) return m;
        groups++;
    }
    if (!groups) return m;
    if (i < m && t[i] == '.') {
        i++;
        while (i < m && is_digit(t[i])) i++;
    }
    if (i != m) return m;
    return remove_char(t, m, ',');
}

// Index of the '}' closing the '{' at t[i], or end when it does not close.
static size_t group_end(const char *t, size_t i, size_t end) {
    size_t depth = 0;
    for (size_t q = i; q < end; q++) {
        if (t[q] == '\\') q++;
        else if (t[q] == '{') depth++;
        else if (t[q] == '}' && --depth == 0) return q;
    }
    return end;
}

typedef struct {
    char *p;
    size_t o;
} Writer;

static void put(Writer *w, const char *s, size_t n) {
    memcpy(w->p + w->o, s, n);
    w->o += n;
}

static void expand(Writer *w, const char *t, size_t i, size_t end, int depth);

// One argument of \frac or \sqrt, always written braced. Returns the index after it.
static size_t expand_arg(Writer *w, const char *t, size_t i, size_t end, int depth) {
    if (i >= end) return i;
    put(w, "{", 1);
    if (t[i] == '{') {
        size_t e = group_end(t, i, end);
        expand(w, t, i + 1, e, depth + 1);
        if (e < end) put(w, "}", 1);
        return e < end ? e + 1 : end;
    }
    size_t j = i + 1;
    if (t[i] == '\\') {
        if (j < end && !is_alpha(t[j])) j++;
        else while (j < end && is_alpha(t[j])) j++;
    }
    put(w, t + i, j - i);
    put(w, "}", 1);
    return j;
}

// Copies t[i..end), rewriting \frac12 -> \frac{1}{2} and \sqrt2 -> \sqrt{2}.
// Nesting deeper than MAX_EXPAND_DEPTH is copied as it is.
static void expand(Writer *w, const char *t, size_t i, size_t end, int depth) {
    if (depth >= MAX_EXPAND_DEPTH) {
        put(w, t + i, end - i);
        return;
    }
    while (i < end) {
        if (t[i] != '\\') {
            put(w, t + i, 1);
            i++;
            continue;
        }
        int frac = starts(t + i, t + end, "\\frac"), sqrt = starts(t + i, t + end, "\\sqrt");
        size_t k = i + 5;
        if ((frac || sqrt) && !(k < end && is_alpha(t[k]))) {
            put(w, t + i, 5);
            if (frac) {
                k = expand_arg(w, t, k, end, depth);
            } else if (k < end && t[k] == '[') {
                size_t c = k;
                while (c < end && t[c] != ']') c++;
                c = c < end ? c + 1 : end;
                put(w, t + k, c - k);
                k = c;
            }
            i = expand_arg(w, t, k, end, depth);
            continue;
        }
        // Any other command or escaped character is copied whole.
        size_t j = i + 1;
        if (j < end && !is_alpha(t[j])) j++;
        else while (j < end && is_alpha(t[j])) j++;
        put(w, t + i, j - i);
        i = j;
    }
}

// ---------------------------------------------------------------- values

enum { VAL_TEXT, VAL_NUMBER, VAL_HUGE };

typedef struct {
    char *text;  // normalised, NUL-terminated, malloc'd
    size_t len;
    int kind;        // VAL_*
    Rational value;  // when kind == VAL_NUMBER
} MathValue;

// Optional '-' then an unsigned decimal, all of s[0..n).
static int parse_signed(Rational *r, const char *s, size_t n) {
    int neg = n > 0 && s[0] == '-';
    int st = rat_parse_decimal(r, s + neg, n - (size_t)neg);
    if (st == RAT_OK && neg) r->num = -r->num;
    return st;
}

// "\frac{A}{B}" at t[i..end) with A, B signed decimals (B != 0) and nothing after.
static int parse_frac(Rational *r, const char *t, size_t i, size_t end, int allow_sign) {
    if (!starts(t + i, t + end, "\\frac{")) return 1;
    size_t a = i + 6, ae = a;
    while (ae < end && t[ae] != '}') ae++;
    if (ae + 1 >= end || t[ae + 1] != '{') return 1;
    size_t b = ae + 2, be = b;
    while (be < end && t[be] != '}') be++;
    if (be + 1 != end) return 1;
    Rational x, y;
    int st = allow_sign ? parse_signed(&x, t + a, ae - a) : rat_parse_decimal(&x, t + a, ae - a);
    if (st) return st;
    st = allow_sign ? parse_signed(&y, t + b, be - b) : rat_parse_decimal(&y, t + b, be - b);
    if (st) return st;
    return rat_div(r, x, y);
}

// The kind and value of a normalised answer: decimal, a/b, \frac{a}{b}, or a
// mixed number I\frac{a}{b}, each with an optional leading '-'.
static int classify(Rational *r, const char *t, size_t m) {
    int neg = m > 0 && t[0] == '-';
    size_t p = (size_t)neg, q = p;
    int st, dot = 0;
    while (q < m && (is_digit(t[q]) || t[q] == '.')) dot |= t[q] == '.', q++;
    if (q == p) {
        st = parse_frac(r, t, p, m, 1);
    } else if (q == m) {
        st = rat_parse_decimal(r, t + p, q - p);
    } else if (t[q] == '/') {
        Rational x, y;
        st = rat_parse_decimal(&x, t + p, q - p);
        if (!st) st = parse_signed(&y, t + q + 1, m - q - 1);
        if (!st) st = rat_div(r, x, y);
    } else if (!dot) {
        Rational whole, part;
        st = rat_parse_decimal(&whole, t + p, q - p);
        if (!st) st = parse_frac(&part, t, q, m, 0);
        if (!st) st = rat_add(r, whole, part);
    } else {
        st = 1;
    }
    if (st == RAT_OVERFLOW) return VAL_HUGE;
    if (st != RAT_OK) return VAL_TEXT;
    if (neg) r->num = -r->num;
    return VAL_NUMBER;
}

// A plain decimal too large for 128 bits in canonical form: no leading zeros,
// no trailing fractional zeros, no lone point.
static size_t canonical_decimal(char *t, size_t m) {
    size_t p = (m && t[0] == '-') ? 1 : 0;
    for (size_t i = p; i < m; i++)
        if (!is_digit(t[i]) && t[i] != '.') return m;
    char *dot = memchr(t, '.', m);
    if (dot) {
        while (m > 0 && t[m - 1] == '0') m--;
        if (t[m - 1] == '.') m--;
    }
    size_t z = p;
    while (z + 1 < m && t[z] == '0' && t[z + 1] != '.') z++;
    memmove(t + p, t + z, m - z);
    m -= z - p;
    t[m] = 0;
    return m;
}

static int math_value(MathValue *v, const char *s, size_t n) {
    char *a = malloc(n + 1);
    if (!a) return -1;
    size_t m = pass_latex(a, s, n);
    m = trim(a, m);
    m = strip_variable(a, m);
    m = strip_units(a, m);
    m = remove_char(a, m, 0);
    m = strip_thousands(a, m);
    Writer w = {malloc(2 * m + 16), 0};
    if (!w.p) {
        free(a);
        return -1;
    }
    size_t skip = (m && a[0] == '+') ? 1 : 0;
    expand(&w, a, skip, m, 0);
    free(a);
    w.p[w.o] = 0;
    // Redundant outer braces: "{{2}}" -> "2".
    while (w.o >= 2 && w.p[0] == '{' && group_end(w.p, 0, w.o) == w.o - 1) {
        memmove(w.p, w.p + 1, w.o - 2);
        w.o -= 2;
        w.p[w.o] = 0;
    }
    v->text = w.p;
    v->len = w.o;
    v->kind = classify(&v->value, v->text, v->len);
    if (v->kind == VAL_HUGE) v->len = canonical_decimal(v->text, v->len);
    return 0;
}

char *math_normalize(const char *s, size_t n) {
    MathValue v;
    return math_value(&v, s, n) ? NULL : v.text;
}

int math_answer_equal(const char *a, size_t na, const char *b, size_t nb) {
    MathValue x, y;
    if (math_value(&x, a, na)) return 0;
    if (math_value(&y, b, nb)) {
        free(x.text);
        return 0;
    }
    int eq;
    if (x.kind == VAL_NUMBER || y.kind == VAL_NUMBER)
        eq = x.kind == y.kind && rat_equal(x.value, y.value);
    else
        eq = x.len > 0 && x.len == y.len && memcmp(x.text, y.text, x.len) == 0;
    free(x.text);
    free(y.text);
    return eq;
}

int math_completion_correct(const char *completion, size_t n, int prefilled_think,
                            const char *gold) {
    ThinkSplit sp;
    text_think_split(&sp, completion, n, prefilled_think);
    size_t a, alen, g = 0, glen = strlen(gold);
    if (!math_find_answer(sp.region, sp.region_len, &a, &alen)) return 0;
    if (!math_find_answer(gold, glen, &g, &glen)) g = 0, glen = strlen(gold);
    return math_answer_equal(sp.region + a, alen, gold + g, glen);
}

double reward_math(const RewardInput *in, const RewardParams *p) {
    (void)p;
    if (!in->answer) return err_set("the input has no gold answer"), NAN;
    return math_completion_correct(in->completion, in->completion_len, in->prefilled_think,
                                   in->answer);
}
