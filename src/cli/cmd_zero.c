// aha zero: flags in, train/zero.h does the work.
#include "base/err.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "train/zero.h"

#include <stdio.h>

static void defaults(void *cfg) { zero_defaults(cfg); }

const CliOptions zero_cli = {
    zero_options, sizeof(ZeroConfig), defaults,
    "usage: aha zero [options]\n\n"
    "R1-Zero on a laptop: evaluate the bundled base model on held-out (test-split)\n"
    "problems, train it with GRPO (preset r1zero, scaled to the tiny model; the\n"
    "task's verifier plus the format reward are the only rewards; rollouts use\n"
    "train-split problems only), evaluate again, and print pass@1, completion length\n"
    "and reflection-word frequency before and after. Writes RUN_DIR/zero.json,\n"
    "eval_before.jsonl, eval_after.jsonl, config.json, metrics.jsonl, samples.jsonl,\n"
    "checkpoints/ and report.html.\n",
    NULL};

int cmd_zero(int argc, char **argv) {
    ZeroConfig c;
    int rc = cli_parse_options("zero", argc, argv, &zero_cli, &c);
    if (rc) return rc == 1 ? 0 : rc;
    if (zero_run(&c) != 0) return cli_fail("zero", "%s", err_msg());
    return 0;
}
