// aha toy: the four-strategy GRPO simulator in a terminal.
#include "base/err.h"
#include "cli/cli.h"
#include "train/toy.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ToyOpts o;
    char rates[256];   // parsed into o.rate, o.k
    int seed;          // into o.seed
} ToyFlags;

#define F(x) offsetof(ToyFlags, x)
static const OptDef toy_options[] = {
    {"rates", OPT_STRING, F(rates), sizeof(((ToyFlags *)0)->rates), 0, 0, NULL, "success rates, comma separated",
     NULL, NULL, 0},
    {"group", OPT_INT, F(o.group), 0, 2, 1024, NULL, "samples per step", NULL, NULL, 0},
    {"lr", OPT_DOUBLE, F(o.lr), 0, 1e-6, 100, NULL, "step size on the logits", NULL, NULL, 0},
    {"steps", OPT_INT, F(o.steps), 0, 1, 10000000, NULL, "steps", NULL, NULL, 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "random seed", NULL, NULL, 0},
    {"every", OPT_INT, F(o.print_every), 0, 0, 10000000, NULL, "print the policy every N steps (0: never)", NULL, NULL,
     0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F

// One success rate: the range check and message of a table entry.
static const OptDef rate_option[] = {
    {"rate", OPT_DOUBLE, 0, 0, 0, 1, NULL, "a success rate", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};

static void toy_flag_defaults(void *cfg) {
    ToyFlags *f = cfg;
    toy_defaults(&f->o);
    f->seed = (int)f->o.seed;
    size_t n = 0;
    for (int i = 0; i < f->o.k; i++)
        n += (size_t)snprintf(f->rates + n, sizeof f->rates - n, "%s%g", i ? "," : "", f->o.rate[i]);
}

const CliOptions toy_cli = {
    toy_options, sizeof(ToyFlags), toy_flag_defaults,
    "aha toy [--rates R1,R2,...] [--group G] [--lr LR] [--steps N] [--seed S] [--every N]",
    "The smallest GRPO: a softmax policy over strategies with hidden success rates. Each step samples G strategies, scores each with a coin flip at its rate, gives each sample its group-relative advantage (r - mean) / std and moves the policy along A * grad log pi. Watch it forget the strategies that do not pay.", NULL, 0};

// "0.2,0.5,..." into o->rate and o->k. Returns 0, or -1 after err_set.
static int parse_rates(ToyOpts *o, const char *s) {
    char copy[256], *save = NULL;
    snprintf(copy, sizeof copy, "%s", s);
    int k = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (k == TOY_MAX_K) return err_set("--rates takes at most %d values", TOY_MAX_K);
        if (opt_set(&o->rate[k++], rate_option, "rate", tok, "--rates") != 0) return -1;
    }
    if (k < 2) return err_set("--rates needs at least two values");
    o->k = k;
    return 0;
}

int cmd_toy(void *cfg) {
    ToyFlags *f = cfg;
    if (parse_rates(&f->o, f->rates) != 0) return cli_usage("toy", "%s", err_msg());
    f->o.seed = (uint64_t)f->seed;
    printf("strategies:");
    for (int i = 0; i < f->o.k; i++) printf(" %c (succeeds %.0f%%)", 'A' + i, 100 * f->o.rate[i]);
    printf("\ngroup %d, lr %g, %d steps, seed %llu\n\n", f->o.group, f->o.lr, f->o.steps, (unsigned long long)f->o.seed);
    ToyResult r;
    if (toy_run(&f->o, &r, stdout) != 0) return cli_fail("toy", "%s", err_msg());
    printf("\nbest strategy %c: final probability %.3f", 'A' + r.best, r.prob[r.best]);
    if (r.converged_step > 0) printf(", above 0.9 from step %d", r.converged_step);
    printf("\nmean reward: first 10%% of steps %.3f, last 10%% %.3f\n", r.mean_reward_first, r.mean_reward_last);
    return 0;
}
