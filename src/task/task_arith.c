// Arithmetic (a op b with `difficulty`-digit operands) and linear equations in
// one unknown whose solution is an integer by construction (x is drawn first and
// the constants are computed from it). Refuses nothing: every draw is valid.
#include "task/task.h"

#include <stdio.h>
#include <string.h>

int task_make_arithmetic(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap) {
    long lo = 1, hi = 9;
    for (int d = 1; d < difficulty; d++) lo = hi + 1, hi = hi * 10 + 9;
    long a = task_rand_range(rng, lo, hi), b = task_rand_range(rng, lo, hi);
    static const char ops[] = "+-*";
    char op = ops[rng_below(rng, 3)];
    long r = op == '+' ? a + b : op == '-' ? a - b : a * b;
    snprintf(canon, cap, "%ld%c%ld", a, op, b);
    snprintf(p->prompt, sizeof p->prompt, "Compute %ld %c %ld. Give the final answer as a single integer.",
             a, op, b);
    snprintf(p->answer, sizeof p->answer, "%ld", r);
    return 0;
}

// "3x + 5", "-x - 2", "4x", "7": a linear expression coef*x + cst.
static int fmt_linear(char *buf, size_t cap, long coef, long cst) {
    int n = 0;
    if (coef == 1) n = snprintf(buf, cap, "x");
    else if (coef == -1) n = snprintf(buf, cap, "-x");
    else if (coef != 0) n = snprintf(buf, cap, "%ldx", coef);
    if (cst != 0 && coef != 0) n += snprintf(buf + n, cap - (size_t)n, " %c %ld", cst < 0 ? '-' : '+', cst < 0 ? -cst : cst);
    else if (coef == 0) n = snprintf(buf, cap, "%ld", cst);
    return n;
}

// "4(x - 3)": a * (x + b), a >= 2.
static void fmt_scaled(char *buf, size_t cap, long a, long b) {
    snprintf(buf, cap, "%ld(x %c %ld)", a, b < 0 ? '-' : '+', b < 0 ? -b : b);
}

static long nonzero(Rng *rng, long lo, long hi) {
    long v;
    do v = task_rand_range(rng, lo, hi); while (v == 0);
    return v;
}

// Difficulty 1-2: a x + b = c.  3: a x + b = c x + e.  4: a(x + b) = c x + e.
// 5: a(x + b) = c(x + e) + g. Coefficients grow with difficulty.
int task_make_linear(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap) {
    long R = 10L * difficulty, C = difficulty <= 1 ? 9 : 6L * difficulty;
    long x = task_rand_range(rng, -R, R);
    char lhs[96], rhs[96];
    if (difficulty <= 2) {
        long a = nonzero(rng, difficulty == 1 ? 2 : -C, C), b = nonzero(rng, -5 * C, 5 * C);
        if (a == 1 || a == -1) a = 2;
        fmt_linear(lhs, sizeof lhs, a, b);
        fmt_linear(rhs, sizeof rhs, 0, a * x + b);
    } else if (difficulty == 3) {
        long a = nonzero(rng, -C, C), c = nonzero(rng, -C, C), b = nonzero(rng, -5 * C, 5 * C);
        if (a == c) return -1;
        fmt_linear(lhs, sizeof lhs, a, b);
        fmt_linear(rhs, sizeof rhs, c, a * x + b - c * x);
    } else if (difficulty == 4) {
        long a = task_rand_range(rng, 2, C), b = nonzero(rng, -2 * C, 2 * C), c = nonzero(rng, -C, C);
        if (a == c) return -1;
        fmt_scaled(lhs, sizeof lhs, a, b);
        fmt_linear(rhs, sizeof rhs, c, a * (x + b) - c * x);
    } else {
        long a = task_rand_range(rng, 2, C), b = nonzero(rng, -2 * C, 2 * C);
        long c = task_rand_range(rng, 2, C), e = nonzero(rng, -2 * C, 2 * C);
        if (a == c) return -1;
        long g = a * (x + b) - c * (x + e);
        fmt_scaled(lhs, sizeof lhs, a, b);
        fmt_scaled(rhs, sizeof rhs, c, e);
        int n = (int)strlen(rhs);
        if (g != 0) snprintf(rhs + n, sizeof rhs - (size_t)n, " %c %ld", g < 0 ? '-' : '+', g < 0 ? -g : g);
    }
    snprintf(canon, cap, "%s = %s", lhs, rhs);
    snprintf(p->prompt, sizeof p->prompt, "Solve for x: %s = %s. Give the value of x as an integer.", lhs,
             rhs);
    snprintf(p->answer, sizeof p->answer, "%ld", x);
    return 0;
}
