// aha distill: flags in, train/distill.h does the work.
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "train/distill.h"

const CliOptions distill_cli = {
    distill_options, sizeof(DistillConfig), distill_defaults,
    "aha distill --teacher DIR --student DIR --out RUN_DIR (--task NAME | --dataset FILE) [options]",
    "Distillation in two stages, composed of aha rejection-sample and aha sft: the teacher samples -n completions per prompt and keeps the verified ones (--require, --max-keep) as RUN_DIR/traces.jsonl (stats in traces.jsonl.stats.json); the student is fine-tuned on them into RUN_DIR/sft (metrics.jsonl, checkpoints every --save-steps, model/: the distilled student). Teacher and student exchange text, so their sizes and tokenizers may differ; a trace longer than the student's context is an error naming its row unless --skip-long. RUN_DIR/config.json holds the settings; --resume, with them, skips a finished stage 1 and continues the student from its newest checkpoint.",
    NULL, 0};

int cmd_distill(void *cfg) { return cli_status("distill", distill_run(cfg)); }
