// aha distill-vs-rl: flags in, train/distill_vs_rl.h does the work.
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "train/distill_vs_rl.h"

const CliOptions distill_vs_rl_cli = {
    distill_vs_rl_options, sizeof(DistillVsRlConfig), distill_vs_rl_defaults, "aha distill-vs-rl [options]",
    "The DeepSeek-R1 paper's distillation-versus-RL comparison in miniature, on the bundled models by default: R1-Zero-style GRPO (as aha zero runs it) on the teacher and, with the same steps, on the smaller student; then the student fine-tuned on the RL-trained teacher's verified traces (aha distill). Every model is evaluated on the same held-out problems with the same samples and tokens (pass@1 over k, cons@k, pass@k, mean length, reflection words per 1k tokens), and the table is printed and written to RUN_DIR/distill_vs_rl.json.\nRUN_DIR holds teacher-rl/ and student-rl/ (aha zero runs), distill/ (an aha distill run), eval_distilled.jsonl and config.json; --resume keeps the finished stages and starts an unfinished one over.",
    NULL, 0};

int cmd_distill_vs_rl(void *cfg) { return cli_status("distill-vs-rl", distill_vs_rl_run(cfg)); }
