// Reward throughput on one core: completions scored per second by the math and
// format rewards on a fixed mix of realistic completions (R1 layout, GSM8K
// marker, LaTeX fractions, wrong answers). Prints one line per reward.
//   run: bench/reward_bench.sh [N]   (builds ./aha first, then this file against build/libaha.a)
#include "reward/reward.h"
#include "base/sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const COMPLETIONS[] = {
    "<think>\nWe need 48/2 = 24 clips in May, so 48 + 24 = 72 in total.\n</think>\n<answer>72</answer>",
    "<think>Let x be the number. Then 3x + 5 = 20, so 3x = 15 and x = 5. Check: 3*5+5 = 20.</think>\n"
    "<answer>\\boxed{5}</answer>",
    "Natalia sold 48 clips in April and half as many in May: 24. Altogether 72.\n#### 72",
    "<think>The probability is favourable over total, 3 out of 6, which simplifies.</think>"
    "<answer>$\\dfrac{1}{2}$</answer>",
    "<think>Area = 12 * 7 = 84 square feet, minus the 4 square feet door.</think><answer>80 square feet</answer>",
    "<think>I think it is 1,250 dollars but wait, the discount is 10% so 1,125.</think>"
    "<answer>\\$1,125</answer>",
    "<think>hmm</think><answer>0.3333</answer>",
    "The answer is \\boxed{\\frac{\\sqrt{3}}{2}}.",
};
static const char *const GOLDS[] = {"72", "5", "72", "0.5", "80", "1125", "1/3", "\\frac{\\sqrt3}{2}"};
#define N_DISTINCT ((int)(sizeof COMPLETIONS / sizeof COMPLETIONS[0]))

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 400000;
    threads_set(1);
    RewardInput *in = calloc((size_t)n, sizeof *in);  // (n)
    double *total = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n; i++) {
        in[i].completion = COMPLETIONS[i % N_DISTINCT];
        in[i].completion_len = strlen(in[i].completion);
        in[i].answer = GOLDS[i % N_DISTINCT];
        in[i].completion_tokens = -1;
    }
    const char *fns[] = {"math", "format", "tag_count"};
    for (int f = 0; f < 3; f++) {
        RewardSpec spec = {0};
        if (reward_parse_spec(&spec, fns[f])) return 1;
        double t0 = time_now();
        if (reward_score_batch(&spec, in, n, total, NULL)) return 1;
        double dt = time_now() - t0, sum = 0;
        for (int i = 0; i < n; i++) sum += total[i];
        printf("%-10s %9.0f completions/s  (%d in %.3f s, one thread, mean reward %.3f)\n", fns[f],
               n / dt, n, dt, sum / n);
    }
    free(in);
    free(total);
    return 0;
}
