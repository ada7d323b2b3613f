// aha rejection-sample: flags in, train/rejection.h does the work; the summary on stdout.
#include "base/err.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "train/rejection.h"

#include <stdio.h>

const CliOptions rejection_sample_cli = {
    reject_options, sizeof(RejectConfig), reject_defaults,
    "aha rejection-sample --model DIR (--task NAME | --dataset FILE.jsonl) --out FILE.jsonl [options]",
    "Sample n completions per prompt and keep those that pass every --require check (" REJECT_CHECK_NAMES "), the length bounds and the repetition limit; exact duplicates (whitespace-trimmed) count once and at most --max-keep are kept per prompt. Writes the kept rows as SFT JSONL in TRL SFTTrainer's {\"prompt\", \"completion\"} shape (the prompt as rendered with the template, plus problem_id, answer, reward, tokens and the task's fields, so `aha reward` scores a row again), and the stats (pass rate per prompt and per difficulty, rejections by reason) as JSON. The same seed gives the same file.", NULL, 0};

int cmd_rejection_sample(void *cfg) {
    const RejectConfig *c = cfg;
    if (!c->src.task[0] == !c->src.dataset[0]) return cli_usage("rejection-sample", "give exactly one of --task and --dataset");
    unsigned require;
    if (reject_parse_checks(&c->require, &require) != 0) return cli_usage("rejection-sample", "--require: %s", err_msg());
    cJSON *stats;
    if (reject_run(c, &stats) != 0) return cli_fail("rejection-sample", "%s", err_msg());
    reject_print(stdout, stats);
    cJSON_Delete(stats);
    return 0;
}
