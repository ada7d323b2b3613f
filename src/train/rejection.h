// Rejection sampling into an SFT set (R1's second stage): n samples per prompt
// on the rollout path, kept only when every required check passes, exact
// duplicates dropped, at most max_keep kept per prompt, written as TRL
// SFTTrainer {"prompt", "completion"} rows with the prompt exactly as the model
// saw it. It never trains and never rewrites a completion.
#ifndef AHA_TRAIN_REJECTION_H
#define AHA_TRAIN_REJECTION_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/options.h"
#include "eval/eval.h"
#include "rollout/rollout.h"

// Why a sample was not kept: the first check it fails in this order, then
// the selection within its prompt. REJECT_NONE: kept.
typedef enum {
    REJECT_NONE = -1,
    REJECT_VERIFIER = 0,    // the problem's verifier did not score it 1
    REJECT_FORMAT,          // not <think>...</think><answer>...</answer>
    REJECT_LANGUAGE,        // chain of thought below min_language in lang
    REJECT_TRUNCATION,      // hit max_new_tokens
    REJECT_MIN_TOKENS,      // shorter than min_tokens
    REJECT_MAX_TOKENS,      // longer than max_tokens
    REJECT_REPETITION,      // repeated n-gram fraction above max_repetition
    REJECT_DUPLICATE,       // the same text (whitespace-trimmed) as a kept sample of its prompt
    REJECT_MAX_KEEP,        // its prompt already has max_keep kept
    REJECT_N
} RejectReason;

// The reason names as stats report them ("verifier", "format", ..., "duplicate", "max_keep").
extern const char *const reject_reason_names[REJECT_N];

// The on/off checks --require names: bits 1 << REJECT_{VERIFIER, FORMAT, LANGUAGE, TRUNCATION}.
#define REJECT_CHECK_NAMES "verifier, format, language, no_truncation"

typedef struct {
    unsigned require;         // bits of the named checks
    double min_language;      // language check: fraction of chain-of-thought words in lang
    int min_tokens;           // 0: no lower bound
    int max_tokens;           // 0: no upper bound
    double max_repetition;    // repeated n-gram fraction allowed; 1: off
} RejectChecks;

// What the checks read of one sample.
typedef struct {
    int correct, truncated, tokens;
    double format, language, repetition;   // format in {0, 1}; language, repetition fractions in [0, 1]
} SampleFacts;

// The --require names (each item may hold several, comma-separated; a dash may
// stand for an underscore: no-truncation) into bits.
// Returns 0, or -1 after err_set naming the unknown name and listing the known.
int reject_parse_checks(const OptList *names, unsigned *require);
// The first check f fails, or REJECT_NONE.
RejectReason reject_verdict(const RejectChecks *c, const SampleFacts *f);
// Selection within one prompt: of the n samples whose reason[i] is
// REJECT_NONE, in order, a text equal (whitespace-trimmed) to an earlier kept
// one becomes REJECT_DUPLICATE and any past the first max_keep REJECT_MAX_KEEP.
void reject_select(const char *const *text, RejectReason *reason, int n, int max_keep);

typedef struct {
    char model[512];
    ProblemChoice src;        // the prompts
    int n;                    // samples per prompt
    int max_keep;             // kept per prompt at most
    OptList require;          // checks every kept sample passes
    char lang[8];             // language check: en, zh, ja, ko, ru
    double min_language;
    int min_tokens, max_tokens;
    double max_repetition;
    int repetition_ngram;
    SampleSettings sample;
    int batch;                // prompts per sampler call
    char out[512];            // the SFT JSONL (written atomically)
    char stats[512];          // the stats JSON ("" = OUT.stats.json)
} RejectConfig;

extern const OptDef reject_options[];
// 8 samples, keep 2, require verifier, format and no_truncation; 64 train-split
// problems; T 1, 128 new tokens, r1zero, seed 1.
void reject_defaults(void *c);   // c: the settings struct (void *: the command table calls it)

// Sample, filter and write c->out and the stats file; *stats (caller deletes)
// receives the stats object. Nothing is written unless the run completes.
// Returns 0, or -1 after err_set.
int reject_run(const RejectConfig *c, cJSON **stats);
// The summary table of a stats object.
void reject_print(FILE *f, const cJSON *stats);

#endif
