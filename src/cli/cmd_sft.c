// aha sft: flags in, train/sft_run.h does the work.
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "train/sft_run.h"

const CliOptions sft_cli = {
    sft_run_options, sizeof(SftRunConfig), sft_run_defaults, "aha sft --model DIR --dataset FILE.jsonl --out RUN_DIR [options]",
    "Supervised fine-tuning on rows in the shapes TRL's SFTTrainer reads: {\"prompt\", \"completion\"} (the prompt rendered with --template), {\"messages\": [{\"role\", \"content\"}, ...]} (chatml; assistant turns are the completion) or {\"text\"}. EOS is appended to every row; the loss covers completion and assistant tokens only unless --no-completion-only. A share of the rows (--eval-ratio) is held out and scored as eval_loss. Writes RUN_DIR/config.json (the settings), RUN_DIR/metrics.jsonl (loss, learning_rate, grad_norm, num_tokens, mean_token_accuracy, epoch; eval_loss, eval_mean_token_accuracy) RUN_DIR/checkpoints/step_N/ every --save-steps updates, and RUN_DIR/model/ (the fine-tuned model and its tokenizer). --resume, with the settings the run started with, continues it from its newest checkpoint bit for bit.", NULL, 0};

int cmd_sft(void *cfg) { return cli_status("sft", sft_run(cfg)); }
