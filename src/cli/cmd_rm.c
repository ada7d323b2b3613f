// aha rm: flags in, train/rm_run.h does the work.
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "train/rm_run.h"

const CliOptions rm_cli = {
    rm_run_options, sizeof(RmRunConfig), rm_run_defaults,
    "aha rm train --model DIR --dataset FILE.jsonl --out RUN_DIR [options]\n       aha rm score --model RM_DIR --input FILE.jsonl [--out FILE.jsonl]\n       aha rm pairs|labels --input SAMPLES.jsonl [--out FILE.jsonl] [--per-prompt N]",
    "Reward models: the model's trunk plus a scalar head read at the last token (EOS), r = w.h + b. 'train' reads rows in the shapes TRL's RewardTrainer reads: pairwise {\"prompt\", \"chosen\", \"rejected\"} (optional \"margin\") trained with the Bradley-Terry loss -log sigmoid(r_chosen - r_rejected - margin), or pointwise {\"prompt\", \"completion\", \"label\"} (label 0 or 1) trained with binary cross-entropy; each side is text (the prompt rendered with --template) or, in the conversational form, a list of {\"role\", \"content\"} messages (chatml). A share of the rows (--eval-ratio) is held out. Writes RUN_DIR/config.json, RUN_DIR/metrics.jsonl (loss, accuracy, margin; eval_loss, eval_accuracy, eval_margin) and RUN_DIR/model/: the model files, the tokenizer, score.safetensors (score.weight (1, hidden_size) and score.bias (1), transformers' *ForSequenceClassification names) and rm.json (template and kind). 'score' adds \"score\" to each {\"prompt\", \"completion\"} row (or \"score_chosen\" and \"score_rejected\" to a pair) and writes JSONL. --save-steps N writes RUN_DIR/checkpoints/step_N/ every N updates and --resume continues the run from the newest. 'pairs' and 'labels' make on-policy rows from a policy's judged samples (aha eval --samples FILE): for each prompt, distinct right answers over distinct wrong ones as {\"prompt\", \"chosen\", \"rejected\"}, or for harmful requests (gold REFUSE) its answers as {\"prompt\", \"completion\", \"label\"}, each side the answer as rm:DIR:view=answer reads it, at most --per-prompt rows of a prompt. Under mpirun, 'train' deals each update's micro-batches (--micro-batch) and the held-out rows to the ranks and gives one process's model; rank 0 writes RUN_DIR; 'score' refuses to run under mpirun.",
    NULL, 0};

int cmd_rm(void *cfg) { return cli_status("rm", rm_run(cfg)); }
