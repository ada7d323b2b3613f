// Sums of single digits ("Compute 7 + 5 + 8 + 6"; the template adds the full stop): difficulty + 2 terms, each
// 1..9. Small steps a tiny model can carry out one at a time (a running sum),
// which is what the R1-Zero demo needs. Refuses nothing: every draw is valid.
#include "task/task.h"

#include <stdio.h>
#include <string.h>

int task_make_sum(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap) {
    int n = difficulty + 2;                         // 3..7 terms
    long total = 0;
    size_t at = 0, pa = (size_t)snprintf(p->prompt, sizeof p->prompt, "Compute ");
    canon[0] = 0;
    for (int i = 0; i < n; i++) {
        long v = task_rand_range(rng, 1, 9);
        total += v;
        at += (size_t)snprintf(canon + at, cap - at, "%s%ld", i ? "+" : "", v);
        pa += (size_t)snprintf(p->prompt + pa, sizeof p->prompt - pa, "%s%ld", i ? " + " : "", v);
    }
    snprintf(p->answer, sizeof p->answer, "%ld", total);
    return 0;
}
