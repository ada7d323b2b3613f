// aha: reasoning reinforcement learning for language models.
// Dispatches `aha <command> ...` to the command entry points in cli/.
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AHA_VERSION "0.1.0"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} Command;

// One line per command, in the order `aha --help` lists them.
static const Command commands[] = {
    {"init", cmd_init, "create a model directory with random weights (or convert one)"},
    {"bench", cmd_bench, "time training and generation on the reference configurations"},
    {"logprobs", cmd_logprobs, "log-probs of token sequences under a model (JSONL in, JSONL out)"},
    {"sample", cmd_sample, "sample completions of a prompt (batched KV-cache sampler)"},
    {"reward", cmd_reward, "score JSONL completions with weighted reward functions"},
    {"grpo", cmd_grpo, "GRPO-family RL with verifiable rewards (presets r1zero, dapo, drgrpo, gspo, hicra, ppo)"},
    {"report", cmd_report, "rebuild RUN_DIR/report.html (charts over steps, samples) from a run's logs"},
    {"strategic-grams", cmd_strategic_grams, "extract a HICRA Strategic-Gram lexicon from successful completions"},
    {"tokenize", cmd_tokenize, "text on stdin -> JSON array of token ids (tokenizer.json BPE)"},
    {"detokenize", cmd_detokenize, "JSON array of token ids on stdin -> text"},
    {"train-tokenizer", cmd_train_tokenizer, "train a byte-level BPE on a corpus, write tokenizer.json"},
    {"task", cmd_task, "print generated problems (arithmetic, countdown, linear, knights) as JSONL"},
    {"corpus", cmd_corpus, "write the base-model pretraining corpus (three solution styles) as JSONL"},
    {"pretrain", cmd_pretrain, "train a BPE tokenizer and a tiny base model from scratch on the corpus"},
    {"eval", cmd_eval, "pass@1 over k samples, cons@k, pass@k, length and reflection words on held-out problems"},
    {"zero", cmd_zero, "R1-Zero on a laptop: GRPO from the bundled base model, evaluated before and after"},
    {"toy", cmd_toy, "GRPO in miniature: a policy over strategies with hidden success rates"},
    {"version", cmd_version, "print the version and build options"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: aha <command> [options]   (aha <command> --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-18s %s\n", commands[i].name, commands[i].help);
}

int cmd_version(int argc, char **argv) {
    if (argc > 1 && arg_is_help(argv[1])) {
        printf("usage: aha version\nPrints the version and the build's optional features.\n");
        return 0;
    }
    if (argc > 1) return cli_usage("version", "unexpected argument '%s'", argv[1]);
    printf("aha %s", AHA_VERSION);
#ifdef _OPENMP
    printf(" +openmp");
#endif
#ifdef AHA_BLAS
    printf(" +openblas");
#endif
    printf("\n");
    return 0;
}

// OpenMP threads that spin while waiting make every step many times slower
// when the cores are shared with other work, and libgomp reads its wait policy
// before main runs. So unless the user chose one, aha restarts itself once
// with OMP_WAIT_POLICY=PASSIVE (a sleeping wait costs ~8 us per parallel
// region instead of ~1 us, which no step here notices).
static void prefer_passive_wait(char **argv) {
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);   // returns only on failure: carry on as is
#else
    (void)argv;
#endif
}

int main(int argc, char **argv) {
    prefer_passive_wait(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (arg_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "aha: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
