// aha zero: flags in, train/zero.h does the work.
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "train/zero.h"

#include <stdio.h>

const CliOptions zero_cli = {
    zero_options, sizeof(ZeroConfig), zero_defaults, "aha zero [options]",
    "R1-Zero on a laptop: evaluate the bundled base model on held-out (test-split) problems, train it with GRPO (preset r1zero, scaled to the tiny model; the task's verifier plus the format reward are the only rewards; rollouts use train-split problems only), evaluate again, and print pass@1, completion length and reflection-word frequency before and after. Writes RUN_DIR/zero.json, eval_before.jsonl, eval_after.jsonl, config.json, metrics.jsonl, samples.jsonl, checkpoints/ and report.html.", NULL, 0};

int cmd_zero(void *cfg) { return cli_status("zero", zero_run(cfg)); }
