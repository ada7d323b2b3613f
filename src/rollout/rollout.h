// Prompts -> sampled, scored completions: the one path from a problem to a
// completion the trainers, the evaluator and `aha sample` share. It owns the
// template, the BOS token, the stop ids (every EOS id of the tokenizer and
// config, plus the template's end-of-turn token), stop strings, detokenizing,
// the text a verifier reads, per-token log-probs and the reward terms. All of
// its memory is sized when it opens and reused by every call. It computes no
// advantages and never trains.
#ifndef AHA_ROLLOUT_H
#define AHA_ROLLOUT_H

#include <stdint.h>

#include "base/options.h"
#include "gen/sampler.h"
#include "model/genconfig.h"
#include "model/model.h"
#include "reward/reward.h"
#include "rollout/problems.h"
#include "tok/template.h"
#include "tok/tokenizer.h"

// How completions are sampled: one table of names, ranges and meanings for
// every command that samples (defaults differ by command, meanings do not).
typedef struct {
    char template_name[32];   // r1zero | chatml | raw | qwen2.5 | qwen3 | model
    int prefill_think;        // the prompt ends inside <think>
    int enable_thinking;      // qwen3: 0 closes an empty think block in the prompt
    char system[512];         // system prompt ("" for none)
    double temperature;       // 0: greedy
    double top_p, min_p;      // 1 / 0: off
    int top_k;                // 0: off
    int max_new_tokens;
    OptList stop;             // stop strings; the stop ids always stop
    int seed;                 // sampling key (and problem order where there is one)
    int threads;              // 0: all cores
    int precision;            // Precision (model/model.h) of the matmuls
    // Not settings: the EOS ids of the model's generation_config.json
    // (sample_settings_model_defaults), stop ids like every other EOS id.
    int model_eos[GENCONFIG_MAX_EOS];
    int n_model_eos;
} SampleSettings;

extern const OptDef sample_settings_options[];
// --threads N (0: all cores), on its own for commands that take it without the
// other sampling settings: a group entry over an int field.
extern const OptDef threads_options[];
// --precision fp32|bf16 the same way, over an int field holding a Precision.
extern const OptDef precision_options[];
// Template r1zero (thinking on), T 1, top-p 1, top-k 0, min-p 0, 128 new tokens, seed 1, all
// cores: an initializer, so that settings structs holding one can be constants.
#define SAMPLE_SETTINGS_DEFAULT                                                                                    \
    {.template_name = "r1zero", .enable_thinking = 1, .temperature = 1.0, .top_p = 1.0, .max_new_tokens = 128,     \
     .seed = 1}
void sample_settings_defaults(SampleSettings *s);
// The defaults a model ships in dir/generation_config.json, when there is
// one: its temperature, top_p, top_k and min_p replace s's, and its EOS ids
// become stop ids. Commands apply it to their defaults before the settings the
// user gave (a config file, flags), which win. Returns 0, or -1 after err_set
// naming the file and the field.
int sample_settings_model_defaults(SampleSettings *s, const char *dir);

// A group: one prompt and its G completions.
typedef struct {
    PromptProblem problem;
    char *prompt_text;        // rendered with the template (capacity prompt_cap)
    size_t prompt_cap;
    int *prompt_ids;          // (max_prompt_len) BOS (if any), then the rendered prompt
    int prompt_len;
} RolloutGroup;

// One completion.
typedef struct {
    int *ids;                 // (max_new_tokens) sampled tokens; a stop id that ended it is included
    float *logp;              // (max_new_tokens) sampler log-probs at the sampling temperature
    int n;
    int truncated;            // ended by max_new_tokens
    int stop_id;              // the stop id that ended it, or -1
    char *text;               // decoded, without a final stop id (capacity text_cap)
    size_t text_len, text_cap;
    double reward;            // weighted sum of the terms
    double components[REWARD_MAX_TERMS];   // each term, unweighted
    int correct;              // the verifier scored it 1 (0 without a verifier)
    RewardCodeReport code;    // tests run / passed and the first failure (scored 0 without the code reward)
} RolloutRow;

typedef struct {
    const Model *model;       // borrowed
    const Tokenizer *tok;     // borrowed
    SampleSettings set;
    Template tmpl;            // set.template_name resolved (model: the tokenizer's chat_template)
    RewardSpec rewards;       // terms summed into reward (n may be 0)
    RewardSpec verify;        // the verifier when it is not among the terms (n 0 or 1)
    int verifier_term;        // index into rewards of the verifier, or -1
    int stop_ids[SAMPLER_MAX_STOPS], n_stop_ids;
    int bos;                  // prepended to every prompt, or -1
    int max_groups, G, max_prompt_len;
    Sampler *sampler;
    TokEncoder *enc;          // tokenizes the prompts
    RolloutGroup *groups;     // (max_groups)
    RolloutRow *rows;         // (max_groups * G): rows g of group k at k*G + g
    // Scratch for one sampling call, sized for max_groups.
    const int **pids;
    int *plens;
    uint32_t *pidx;
    Completion *out;          // (max_groups * G)
    RewardInput *in;          // (max_groups * G)
    double *total, *comp;     // (max_groups * G), (max_groups * G, REWARD_MAX_TERMS + 1)
    double *term;             // (max_groups * G) one reward term's scores
    void *mem;                // the one allocation behind the arrays above
    // Per-group reward terms (rollout_group_terms), for prompts mixed from sources.
    const uint32_t *group_terms;   // (max_groups) by slot: bit k set = term k scores its rows; NULL: all
    const int *group_verifier;     // (max_groups) by slot: the term whose 1 means correct, or -1
    void *group_mem;               // scratch for scoring one term on some groups' rows
    // Totals since open.
    long tokens;              // completion tokens sampled
    double t_sample, t_reward;
} Rollout;

// Open for up to max_groups prompts of at most max_prompt_len tokens (BOS
// included) with G samples each. rewards (may be NULL) are the terms scored;
// verifier (may be NULL) names the reward whose 1 means correct. Checks the
// settings against the model (template, stop strings, context length, the
// tokenizer's ids against vocab_size). Template "model" is the tokenizer's
// chat_template, refused when aha does not know its form. Returns 0, or -1 after err_set.
int rollout_open(Rollout *r, const Model *m, const Tokenizer *tok, const SampleSettings *s, int max_groups, int G,
                 int max_prompt_len, const RewardSpec *rewards, const char *verifier);
void rollout_close(Rollout *r);

// Group k's prompt: fill r->groups[k].problem first (problems_get, or by
// hand), then this renders it with the template, tokenizes, prepends BOS and
// checks its length. Returns 0, or -1 after err_set naming the problem.
int rollout_prepare(Rollout *r, int k);
// The tokens p's prompt takes under settings s (BOS included), to size a
// rollout before opening it. Returns the count, or -1 after err_set.
int rollout_prompt_tokens(const Tokenizer *tok, const SampleSettings *s, const PromptProblem *p);
// Measure every dataset row's prompt under settings s against max_len tokens
// (`limit` names where the bound comes from, for messages) when the source is
// opened, so no step can meet an over-long row later. An over-long row is an
// error naming FILE:LINE, its token count and the limit; with skip it is
// dropped and counted in *skipped. Task problems are generated on demand and
// checked as they are prepared. Returns 0, or -1 after err_set.
int rollout_check_prompts(ProblemSource *ps, const Tokenizer *tok, const SampleSettings *s, int max_len,
                          const char *limit, int skip, long *skipped);
// Score each group only with its own terms: terms and verifier (max_groups,
// borrowed, filled by slot before each rollout_sample) replace the single
// verifier; a term a group lacks gives its rows 0. Allocates the scratch once.
// Returns 0, or -1 after err_set.
int rollout_group_terms(Rollout *r, const uint32_t *terms, const int *verifier);
// Sample G completions for each of the n prepared groups slots[0..n) (the RL
// step is part of the random key), decode and score them. Returns 0 or -1.
int rollout_sample(Rollout *r, const int *slots, int n, uint32_t step);
// The same across the ranks of a job (base/dist.h): the n groups are dealt in
// contiguous blocks, each rank samples and scores its own, and then every rank
// receives every other rank's rows, so that all of them hold the whole rollout
// (a row is keyed by its problem, so the rows do not depend on the number of
// ranks). t_sample includes the exchange; tokens counts every rank's rows.
// With one rank it is rollout_sample. Returns 0 or -1.
int rollout_sample_dealt(Rollout *r, const int *slots, int n, uint32_t step);

#endif
