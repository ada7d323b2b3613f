// Command-line edge: argument parsing helpers and the command entry points.
// Commands parse flags and call into the modules; they hold no logic of their
// own. Each returns the process exit status (0 ok, 1 failure, 2 usage error).
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
// A usage error: the message, then "see 'aha CMD --help'". Returns 2.
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Commands (src/cli/cmd_<name>.c).
int cmd_version(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_reward(int argc, char **argv);
int cmd_logprobs(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_toy(int argc, char **argv);
int cmd_grpo(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_task(int argc, char **argv);
int cmd_strategic_grams(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_train_tokenizer(int argc, char **argv);
int cmd_corpus(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_zero(int argc, char **argv);

// Their flags (each parses through its table with cli_parse_options).
extern const CliOptions version_cli, init_cli, bench_cli, reward_cli, logprobs_cli, toy_cli, grpo_cli, report_cli,
    task_cli, strategic_grams_cli, tokenize_cli, detokenize_cli, train_tokenizer_cli, corpus_cli, pretrain_cli,
    eval_cli, zero_cli, sample_cli;

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;          // its line in `aha --help`
    const CliOptions *options;    // NULL: the command parses its flags by hand
} Command;

// Every command, in the order `aha --help` lists them; ends with name NULL.
extern const Command cli_commands[];

#endif
