// aha toy: the four-strategy GRPO simulator in a terminal.
#include "base/err.h"
#include "cli/cli.h"
#include "train/toy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void toy_help(void) {
    printf("usage: aha toy [--rates R1,R2,...] [--group G] [--lr LR] [--steps N] [--seed S] [--every N]\n\n"
           "The smallest GRPO: a softmax policy over strategies with hidden success rates.\n"
           "Each step samples G strategies, scores each with a coin flip at its rate,\n"
           "gives each sample its group-relative advantage (r - mean) / std and moves the\n"
           "policy along A * grad log pi. Watch it forget the strategies that do not pay.\n\n"
           "  --rates   success rates, comma separated (default 0.2,0.5,0.8,0.35)\n"
           "  --group   samples per step (default 8)\n"
           "  --lr      step size on the logits (default 0.5)\n"
           "  --steps   steps (default 200)\n"
           "  --seed    random seed (default 1)\n"
           "  --every   print the policy every N steps (default 20)\n");
}

static int parse_rates(ToyOpts *o, const char *s) {
    char *copy = strdup(s), *save = NULL;
    int k = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        double v;
        if (k == TOY_MAX_K || arg_double("toy", "--rates", tok, 0, 1, &v) != 0) {
            if (k == TOY_MAX_K) cli_usage("toy", "--rates takes at most %d values", TOY_MAX_K);
            free(copy);
            return -1;
        }
        o->rate[k++] = v;
    }
    free(copy);
    if (k < 2) {
        cli_usage("toy", "--rates needs at least two values");
        return -1;
    }
    o->k = k;
    return 0;
}

int cmd_toy(int argc, char **argv) {
    ToyOpts o;
    toy_defaults(&o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long n;
        if (arg_is_help(a)) { toy_help(); return 0; }
        if (!strcmp(a, "--rates")) {
            if (!(v = arg_value("toy", argc, argv, &i)) || parse_rates(&o, v) != 0) return 2;
        } else if (!strcmp(a, "--group")) {
            if (!(v = arg_value("toy", argc, argv, &i)) || arg_long("toy", a, v, 2, 1024, &n) != 0) return 2;
            o.group = (int)n;
        } else if (!strcmp(a, "--steps")) {
            if (!(v = arg_value("toy", argc, argv, &i)) || arg_long("toy", a, v, 1, 10000000, &n) != 0) return 2;
            o.steps = (int)n;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = arg_value("toy", argc, argv, &i)) || arg_long("toy", a, v, 0, 0x7fffffffffffffffL, &n) != 0) return 2;
            o.seed = (uint64_t)n;
        } else if (!strcmp(a, "--every")) {
            if (!(v = arg_value("toy", argc, argv, &i)) || arg_long("toy", a, v, 0, 10000000, &n) != 0) return 2;
            o.print_every = (int)n;
        } else if (!strcmp(a, "--lr")) {
            if (!(v = arg_value("toy", argc, argv, &i)) || arg_double("toy", a, v, 1e-6, 100, &o.lr) != 0) return 2;
        } else {
            return cli_usage("toy", "unknown option '%s'", a);
        }
    }
    printf("strategies:");
    for (int i = 0; i < o.k; i++) printf(" %c (succeeds %.0f%%)", 'A' + i, 100 * o.rate[i]);
    printf("\ngroup %d, lr %g, %d steps, seed %llu\n\n", o.group, o.lr, o.steps, (unsigned long long)o.seed);
    ToyResult r;
    if (toy_run(&o, &r, stdout) != 0) return cli_fail("toy", "%s", err_msg());
    printf("\nbest strategy %c: final probability %.3f", 'A' + r.best, r.prob[r.best]);
    if (r.converged_step > 0) printf(", above 0.9 from step %d", r.converged_step);
    printf("\nmean reward: first 10%% of steps %.3f, last 10%% %.3f\n", r.mean_reward_first, r.mean_reward_last);
    return 0;
}
