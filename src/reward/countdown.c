// Countdown reward: recursive-descent parser and exact evaluator (see countdown.h),
// and the TinyZero scoring: 1.0 correct, 0.1 for an <answer> that is wrong or
// unparseable, 0 when there is no <answer> outside the think block.
//   expr   := term (('+' | '-') term)*
//   term   := factor (('*' | '/') factor)*
//   factor := integer | '(' expr ')'
#include "reward/countdown.h"
#include "reward/reward.h"
#include "reward/text.h"
#include "base/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s;
    size_t n, i;
    int depth;
    int status;  // 0, or the first failure (-1 syntax, -2 division by zero, -3 overflow)
    __int128 *lits;
    int n_lits;
} Parser;

enum { OP_NONE = 0, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_OPEN, OP_CLOSE, OP_NUM, OP_END, OP_BAD };

static void skip_space(Parser *p) {
    while (p->i < p->n && text_is_space(p->s[p->i])) p->i++;
}

static int match(Parser *p, const char *lit) {
    size_t m = strlen(lit);
    if (p->n - p->i >= m && memcmp(p->s + p->i, lit, m) == 0) {
        p->i += m;
        return 1;
    }
    return 0;
}

// Consumes and classifies the next token (numbers are left for factor()).
static int next_token(Parser *p, int consume) {
    skip_space(p);
    if (p->i >= p->n) return OP_END;
    size_t save = p->i;
    char c = p->s[p->i];
    int op = OP_BAD;
    if (c >= '0' && c <= '9') return OP_NUM;
    if (c == '+') op = OP_ADD, p->i++;
    else if (c == '-') op = OP_SUB, p->i++;
    else if (c == '*') op = OP_MUL, p->i++;
    else if (c == '/') op = OP_DIV, p->i++;
    else if (c == '(') op = OP_OPEN, p->i++;
    else if (c == ')') op = OP_CLOSE, p->i++;
    else if (match(p, "\xe2\x88\x92")) op = OP_SUB;  // U+2212
    else if (match(p, "\xc3\x97") || match(p, "\\times") || match(p, "\\cdot")) op = OP_MUL;
    else if (match(p, "\xc3\xb7") || match(p, "\\div")) op = OP_DIV;
    if (!consume) p->i = save;
    return op;
}

static void fail(Parser *p, int status) {
    if (!p->status) p->status = status;
}

static Rational expr(Parser *p);

static Rational factor(Parser *p) {
    Rational zero = {0, 1}, r = zero;
    int tok = next_token(p, 0);
    if (tok == OP_NUM) {
        __int128 v = 0;
        while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
            if (v >= ((__int128)1 << 120)) {
                fail(p, -3);
                return zero;
            }
            v = v * 10 + (p->s[p->i++] - '0');
        }
        if (p->i < p->n && p->s[p->i] == '.') {  // decimals are not countdown numbers
            fail(p, -1);
            return zero;
        }
        if (p->n_lits == COUNTDOWN_MAX_NUMBERS) {
            fail(p, -1);
            return zero;
        }
        p->lits[p->n_lits++] = v;
        r.num = v;
        return r;
    }
    if (tok == OP_OPEN) {
        next_token(p, 1);
        if (++p->depth > COUNTDOWN_MAX_DEPTH) {
            fail(p, -1);
            return zero;
        }
        r = expr(p);
        p->depth--;
        if (p->status) return zero;
        if (next_token(p, 1) != OP_CLOSE) fail(p, -1);
        return r;
    }
    fail(p, -1);
    return zero;
}

// One precedence level: level 0 is expr (+ -), level 1 is term (* /). Operators
// of one level associate to the left.
static Rational binary(Parser *p, int level) {
    int lo = level ? OP_MUL : OP_ADD, hi = level ? OP_DIV : OP_SUB;
    Rational acc = level ? factor(p) : binary(p, 1);
    while (!p->status) {
        int tok = next_token(p, 0);
        if (tok != lo && tok != hi) break;
        next_token(p, 1);
        Rational rhs = level ? factor(p) : binary(p, 1);
        if (p->status) break;
        int st = tok == OP_ADD ? rat_add(&acc, acc, rhs)
                 : tok == OP_SUB ? rat_sub(&acc, acc, rhs)
                 : tok == OP_MUL ? rat_mul(&acc, acc, rhs)
                                 : rat_div(&acc, acc, rhs);
        if (st) fail(p, st == RAT_DIVZERO ? -2 : -3);
    }
    return acc;
}

static Rational expr(Parser *p) { return binary(p, 0); }

int countdown_eval(const char *s, size_t n, Rational *value, __int128 *lits, int *n_lits) {
    Parser p = {.s = s, .n = n, .lits = lits};
    Rational v = expr(&p);
    if (!p.status && next_token(&p, 1) != OP_END) p.status = -1;
    *n_lits = p.n_lits;
    if (p.status) return p.status;
    *value = v;
    return 0;
}

static int cmp128(const void *a, const void *b) {
    __int128 x = *(const __int128 *)a, y = *(const __int128 *)b;
    return (x > y) - (x < y);
}

int countdown_check(const char *s, size_t n, const long *numbers, int nn, long target) {
    __int128 lits[COUNTDOWN_MAX_NUMBERS], want[COUNTDOWN_MAX_NUMBERS];
    Rational v;
    int nl;
    if (nn > COUNTDOWN_MAX_NUMBERS || countdown_eval(s, n, &v, lits, &nl) || nl != nn) return 0;
    for (int i = 0; i < nn; i++) want[i] = numbers[i];
    qsort(lits, (size_t)nl, sizeof lits[0], cmp128);
    qsort(want, (size_t)nn, sizeof want[0], cmp128);
    for (int i = 0; i < nn; i++)
        if (lits[i] != want[i]) return 0;
    return v.den == 1 && v.num == target;
}

// 1 for a correct equation in the final answer, 0.1 for a wrong one, 0 for none.
static double score(const RewardInput *in, const long *numbers, int nn, long target) {
    ThinkSplit sp;
    text_think_split(&sp, in->completion, in->completion_len, in->prefilled_think);
    size_t a, alen;
    if (!text_last_answer(sp.region, sp.region_len, &a, &alen)) return 0.0;
    return countdown_check(sp.region + a, alen, numbers, nn, target) ? 1.0 : 0.1;
}

double reward_countdown(const RewardInput *in, const RewardParams *p) {
    (void)p;
    const Problem *q = in->problem;
    if (!in->task && q && q->n_numbers > 0) return score(in, q->numbers, q->n_numbers, q->target);
    const cJSON *nums = cJSON_GetObjectItemCaseSensitive(in->task, "numbers");
    const cJSON *tgt = cJSON_GetObjectItemCaseSensitive(in->task, "target");
    long numbers[COUNTDOWN_MAX_NUMBERS];
    int nn = 0;
    if (!cJSON_IsArray(nums) || !cJSON_IsNumber(tgt) || tgt->valuedouble != floor(tgt->valuedouble) ||
        fabs(tgt->valuedouble) > 1e15)
        return err_set("the task needs \"numbers\" (array of integers) and an integer \"target\""),
               NAN;
    const cJSON *it;
    cJSON_ArrayForEach(it, nums) {
        double d = cJSON_IsNumber(it) ? it->valuedouble : NAN;
        if (nn == COUNTDOWN_MAX_NUMBERS || !(d == floor(d)) || fabs(d) > 1e15)
            return err_set("\"numbers\" must hold at most %d integers", COUNTDOWN_MAX_NUMBERS),
                   NAN;
        numbers[nn++] = (long)d;
    }
    return score(in, numbers, nn, (long)tgt->valuedouble);
}
