// Verifiable rewards: the C API every reward function plugs into, a registry by
// name, and weighted combination with each component kept for logging. It scores
// text only: it never runs model output except through the sandboxed `code` entry.
#ifndef AHA_REWARD_H
#define AHA_REWARD_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "task/task.h"

// Why generation stopped.
typedef enum {
    REWARD_FINISH_STOP = 0,    // EOS or a stop string: the completion is whole
    REWARD_FINISH_LENGTH = 1,  // hit max new tokens: truncated
} RewardFinish;

// What the code reward found for one completion, for logs: how many of its
// tests ran and passed, and why the first failing one failed.
typedef enum {
    REWARD_CODE_PASS = 0,       // every test passed
    REWARD_CODE_NO_PROGRAM,     // no fenced block or <answer> and the text does not run, or an empty program
    REWARD_CODE_WRONG_OUTPUT,   // it ran to the end and printed (returned) something else
    REWARD_CODE_TIMEOUT,        // wall or CPU time limit
    REWARD_CODE_CRASH,          // an exception, a non-zero exit, a signal, memory exhausted
    REWARD_CODE_OUTPUT_LIMIT,   // printed more than the output cap
    REWARD_CODE_OUTCOMES
} RewardCodeOutcome;
// "pass", "no_program", "wrong_output", "timeout", "crash", "output_limit".
extern const char *const reward_code_outcome_names[REWARD_CODE_OUTCOMES];

typedef struct {
    int scored;                 // 1 once the code reward filled it
    int tests, run, passed;     // tests of the problem, started, passed
    RewardCodeOutcome outcome;  // of the first failing test (by index), or PASS
} RewardCodeReport;

// One completion to score. Everything is borrowed; nothing is freed by rewards.
typedef struct {
    const char *completion;   // model output (not NUL-terminated necessarily)
    size_t completion_len;    // bytes
    const char *answer;       // gold answer, NUL-terminated; NULL when the task has none
    const cJSON *task;        // the task's JSON object ("numbers", "target", "tests", ...); may be NULL
    const Problem *problem;   // a generated problem, read when task is NULL (countdown fields); may be NULL
    long completion_tokens;   // tokens in the completion; < 0 when unknown
    long max_new_tokens;      // generation limit; <= 0 when unknown
    int prefilled_think;      // 1: the prompt ended with "<think>", the completion starts inside it
    RewardFinish finish;
    const char *source;       // where the input comes from ("FILE:LINE", a problem id), for messages; may be NULL
    const char *prompt;       // the question before the template (what a reward model reads first); may be NULL
    RewardCodeReport *code;   // filled by the code reward when not NULL (the caller's storage)
} RewardInput;

// Options of one reward term, from the spec text "name:weight:key=value,key=value".
#define REWARD_MAX_PARAMS 8
#define REWARD_PARAM_LEN 48
typedef struct {
    int n;
    char key[REWARD_MAX_PARAMS][REWARD_PARAM_LEN];
    char value[REWARD_MAX_PARAMS][REWARD_PARAM_LEN];
} RewardParams;

// Value of option `key` as a number, or `def` when absent (the spec parser has
// already checked that it is a number when the entry declares it).
double reward_param_double(const RewardParams *p, const char *key, double def);
// Value of option `key` as text (borrowed from p), or `def` when absent.
const char *reward_param_string(const RewardParams *p, const char *key, const char *def);

// A per-item reward. Must be thread-safe and pure (reward_score_batch may call it
// from several threads). Returns the reward, or NaN after err_set() when the input
// lacks something this reward needs (no gold answer, no "numbers" field, ...):
// a configuration error, not a bad completion.
typedef double (*RewardFn)(const RewardInput *in, const RewardParams *p);
// A batch reward: writes out[i] for i < n (out is (n)). Returns 0, or -1 after
// err_set() on a configuration or system error. Used when items must be scored
// together (the code reward runs sandboxes in parallel).
typedef int (*RewardBatchFn)(const RewardInput *in, int n, const RewardParams *p, double *out);

typedef struct {
    const char *name;
    RewardFn fn;          // may be NULL when batch is set
    RewardBatchFn batch;  // may be NULL; preferred over fn when set
    const char *keys;     // accepted option keys, comma-separated ("" for none)
    const char *help;     // one line: what it scores and its range
} RewardEntry;

// The registry: built-in entries in a fixed order. *n receives the count.
const RewardEntry *reward_entries(int *n);
// The entry called `name`, or NULL after err_set() naming the known entries.
const RewardEntry *reward_find(const char *name);

// A term whose scorer holds state (a loaded reward model): ctx is owned by
// whoever opened it (train/rm_reward.h), the spec only borrows it.
typedef int (*RewardCtxFn)(void *ctx, const RewardInput *in, int n, const RewardParams *p, double *out);

// A weighted sum of reward terms.
#define REWARD_MAX_TERMS 16
#define REWARD_PATH_LEN 512
typedef struct {
    const RewardEntry *entry;
    double weight;
    RewardParams params;
    long start;                  // option start=N: the term scores 0 (and is not run) for the first N steps
    char path[REWARD_PATH_LEN];  // the directory of an "rm" term
    char label[64];              // in logs: the entry's name, or "rm:NAME" (NAME: the last directory of
                                 // path that is not "model", so rm:runs/helpful/model is rm:helpful);
                                 // a label already in the spec gets #2, #3, ...
    RewardCtxFn ctx_fn;          // set with ctx when the term's state is open
    void *ctx;
} RewardTerm;

typedef struct {
    int n;
    RewardTerm terms[REWARD_MAX_TERMS];
    long step;                   // steps taken so far, compared with each term's start
} RewardSpec;

// Appends one term parsed from "name", "name:weight" or "name:weight:k=v,k=v"
// (weight defaults to 1; a field holding '=' is the options, so the weight may
// be left out before them), or "rm:DIR[:weight][:k=v,...]" (a reward model
// directory; aha grpo opens it). Every term takes start=N. Returns 0, or -1
// after err_set() (unknown name, bad weight, unknown or malformed option, too
// many terms). Zero-initialise spec first.
int reward_parse_spec(RewardSpec *spec, const char *text);

// Scores n inputs with every term. total is (n): sum_k weight_k * r_k;
// components is (n, spec->n), row-major, unweighted r_k (may be NULL).
// Returns 0, or -1 after err_set() naming the term and the input's source (or index).
int reward_score_batch(const RewardSpec *spec, const RewardInput *in, int n, double *total,
                       double *components);
// The same with the caller's scratch for one term's rewards: scratch is (n).
int reward_score_batch_into(const RewardSpec *spec, const RewardInput *in, int n, double *total,
                            double *components, double *scratch);

// Fills `in` from a JSON object {"completion": str, "answer": str|number (optional),
// "tokens": int (optional), "max_new_tokens": int (optional), "prefilled_think": bool
// (optional), "finish": "stop"|"length" (optional), other task fields}. Pointers
// borrow from obj. A numeric "answer" is kept in numbuf (>= 64 bytes).
// Returns 0, or -1 after err_set() naming the bad field.
int reward_input_from_json(RewardInput *in, const cJSON *obj, char *numbuf, size_t numbuf_len);

// Built-in per-item rewards (options in brackets; see reward.c for the table).
double reward_math(const RewardInput *in, const RewardParams *p);        // 1 if the final answer equals the gold, else 0
double reward_format(const RewardInput *in, const RewardParams *p);      // 1 for <think>…</think><answer>…</answer>, else 0
double reward_tag_count(const RewardInput *in, const RewardParams *p);   // 0.25 per tag present exactly once
double reward_countdown(const RewardInput *in, const RewardParams *p);   // 1 correct, 0.1 formatted but wrong, 0 none
double reward_language(const RewardInput *in, const RewardParams *p);    // [target=en|zh|ja|ko|ru] fraction in [0, 1]
// 1 when the chain of thought of a completion has words in two or more
// scripts (the language mixing R1 measures), else 0.
int language_mixed(const char *text, size_t len, int prefilled_think);
double reward_overlong(const RewardInput *in, const RewardParams *p);    // [max, cache] DAPO soft punishment in [-1, 0]
double reward_repetition(const RewardInput *in, const RewardParams *p);  // [ngram, max_penalty] in [max_penalty, 0]
double reward_cosine(const RewardInput *in, const RewardParams *p);
double reward_chat(const RewardInput *in, const RewardParams *p);        // chat task: 1 if the response does what was asked      // [min_wrong, max_wrong, min_correct, max_correct, max_len]

#endif
