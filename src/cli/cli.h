// Command-line edge: argument parsing helpers and the command entry points.
// The dispatcher parses each command's flags through its table; the command
// gets the settings and calls into the modules, holding no logic of its own.
// Each returns the process exit status (0 ok, 1 failure, 2 usage error).
#ifndef AHA_CLI_H
#define AHA_CLI_H

#include "cli/cli_opts.h"

// The value after a flag: argv[*i + 1], advancing *i; prints a usage error and
// returns NULL when the value is missing.
const char *arg_value(const char *cmd, int argc, char **argv, int *i);
// Parse an integer / float flag value within [lo, hi]; print an error naming
// the flag and return -1 when it is not one.
int arg_long(const char *cmd, const char *flag, const char *s, long lo, long hi, long *out);
int arg_double(const char *cmd, const char *flag, const char *s, double lo, double hi, double *out);
int arg_is_help(const char *a);
// "aha CMD: message" on stderr. Returns 1 (failure) so commands can `return cli_fail(...)`.
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// 0 when rc is 0; else cli_fail with the recorded error (1): the exit status
// of a command whose work is one call into a module.
int cli_status(const char *cmd, int rc);
// A usage error: the message, then "see 'aha CMD --help'". Returns 2.
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// The token ids of a JSON array into *ids (malloc'd, *n of them): integers in
// [0, vocab), or any non-negative int when vocab <= 0. Returns 0, or -1 after
// err_set naming where and the element.
int cli_json_ids(const cJSON *arr, int vocab, const char *where, int **ids, int *n);

// Commands (src/cli/cmd_<name>.c): each takes its parsed settings struct.
int cmd_version(void *cfg);
int cmd_init(void *cfg);
int cmd_bench(void *cfg);
int cmd_reward(void *cfg);
int cmd_logprobs(void *cfg);
int cmd_sample(void *cfg);
int cmd_toy(void *cfg);
int cmd_grpo(void *cfg);
int cmd_report(void *cfg);
int cmd_task(void *cfg);
int cmd_strategic_grams(void *cfg);
int cmd_tokenize(void *cfg);
int cmd_detokenize(void *cfg);
int cmd_train_tokenizer(void *cfg);
int cmd_chat_template(void *cfg);
int cmd_corpus(void *cfg);
int cmd_pretrain(void *cfg);
int cmd_sft(void *cfg);
int cmd_eval(void *cfg);
int cmd_zero(void *cfg);
int cmd_r1(void *cfg);
int cmd_distill_vs_rl(void *cfg);
int cmd_rejection_sample(void *cfg);
int cmd_distill(void *cfg);
int cmd_rm(void *cfg);
int cmd_merge(void *cfg);

// Their flags: the tables the dispatcher parses with.
extern const CliOptions version_cli, init_cli, bench_cli, reward_cli, logprobs_cli, toy_cli, grpo_cli, report_cli,
    task_cli, strategic_grams_cli, tokenize_cli, detokenize_cli, train_tokenizer_cli, chat_template_cli, corpus_cli,
    pretrain_cli, sft_cli, eval_cli, zero_cli, sample_cli, rejection_sample_cli, distill_cli, distill_vs_rl_cli, rm_cli,
    merge_cli, r1_cli;

typedef struct {
    const char *name;
    int (*run)(void *cfg);        // cfg: the settings options describes, parsed
    const char *summary;          // its line in `aha --help`
    const CliOptions *options;
} Command;

// Every command, in the order `aha --help` lists them; ends with name NULL.
extern const Command cli_commands[];

// Run c on argv[1..argc): its settings on the heap (they can be large), the
// defaults, the flags (--help and usage errors answered here), then c->run.
// Returns the exit status.
int cli_run(const Command *c, int argc, char **argv);

#endif
