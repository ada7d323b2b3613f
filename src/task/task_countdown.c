// Countdown puzzles that are solvable by construction: draw the numbers, combine
// them in a random order with random operations (division only when exact,
// subtraction never negative) into one expression, and make its value the
// target. Draws whose value falls outside the difficulty's range are rejected.
#include "task/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int count;
    long max_number, lo, hi;   // numbers in [1, max_number], target in [lo, hi]
} CountdownLevel;

static const CountdownLevel levels[TASK_MAX_DIFFICULTY + 1] = {
    {0, 0, 0, 0}, {3, 10, 2, 30}, {3, 25, 10, 100}, {4, 25, 10, 200}, {4, 50, 50, 500}, {5, 100, 100, 1000},
};

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int task_make_countdown(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap) {
    const CountdownLevel *lv = &levels[difficulty];
    int n = lv->count;
    long val[TASK_MAX_NUMBERS];
    char expr[TASK_MAX_NUMBERS][TASK_ANSWER_MAX];
    for (int i = 0; i < n; i++) {
        p->numbers[i] = task_rand_range(rng, 1, lv->max_number);
        val[i] = p->numbers[i];
        snprintf(expr[i], sizeof expr[i], "%ld", val[i]);
    }
    p->n_numbers = n;
    for (int m = n; m > 1; m--) {
        // Combine two random live items i, j into slot i; the last item moves into j.
        int i = (int)rng_below(rng, (uint64_t)m), j = (int)rng_below(rng, (uint64_t)m - 1);
        if (j >= i) j++;
        long a = val[i], b = val[j];
        char op = "+-*/"[rng_below(rng, 4)];
        if (op == '-' && a < b) { long t = a; a = b; b = t; int u = i; i = j; j = u; }
        if (op == '/' && (b == 0 || b == 1 || a % b != 0)) op = '*';
        long r = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
        char e[TASK_ANSWER_MAX];
        int w = snprintf(e, sizeof e, m == 2 ? "%s %c %s" : "(%s %c %s)", expr[i], op, expr[j]);
        if (w < 0 || (size_t)w >= sizeof e) return -1;
        int lo = i < j ? i : j, hi = i < j ? j : i;
        val[lo] = r;
        memcpy(expr[lo], e, sizeof e);
        if (hi != m - 1) {
            val[hi] = val[m - 1];
            memcpy(expr[hi], expr[m - 1], sizeof expr[hi]);
        }
    }
    if (val[0] < lv->lo || val[0] > lv->hi) return -1;
    p->target = val[0];
    snprintf(p->answer, sizeof p->answer, "%s", expr[0]);

    long sorted[TASK_MAX_NUMBERS];
    memcpy(sorted, p->numbers, sizeof sorted);
    qsort(sorted, (size_t)n, sizeof sorted[0], cmp_long);
    char list[96];
    int k = 0;
    for (int i = 0; i < n; i++) k += snprintf(list + k, sizeof list - (size_t)k, i ? ", %ld" : "%ld", p->numbers[i]);
    int c = 0;
    for (int i = 0; i < n; i++) c += snprintf(canon + c, cap - (size_t)c, "%ld,", sorted[i]);
    snprintf(canon + c, cap - (size_t)c, "=%ld", p->target);
    snprintf(p->prompt, sizeof p->prompt,
             "Using the numbers [%s], create an equation that equals %ld. You can use basic arithmetic "
             "operations (+, -, *, /) and each number must be used exactly once. Show your work in "
             "<think> </think> tags. And return the final equation in <answer> </answer> tags, for "
             "example <answer> (1 + 2) / 3 </answer>.",
             list, p->target);
    return 0;
}
