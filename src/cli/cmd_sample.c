// aha sample: G completions of one prompt from a model directory, as text or
// one JSON object per completion (ids, per-token logp, finish reason).
// Flags and printing only: the prompt goes through the rollout path
// (rollout/rollout.h) that grpo and eval sample with, unscored.
#include "base/err.h"
#include "base/sys.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "model/io.h"
#include "model/lora.h"
#include "rollout/rollout.h"
#include "tok/tokenizer.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char model[512];
    char adapter[512];     // PEFT LoRA adapters on the model, or ""
    char prompt[16384];
    int num_samples;       // G
    int json;
    SampleSettings sample;
    OptSeen seen;          // the settings the command line gave
} SampleArgs;

#define F(x) offsetof(SampleArgs, x)
#define S(x) F(x), sizeof(((SampleArgs *)0)->x)
static const OptDef sample_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "model directory (config.json, safetensors, tokenizer.json)", NULL, NULL,
     OPT_REQUIRED},
    {"adapter", OPT_STRING, S(adapter), 0, 0, NULL, "LoRA adapter directory (PEFT format) to sample with", NULL, NULL, 0},
    {"prompt", OPT_STRING, S(prompt), 0, 0, NULL, "the prompt (put through --template first)", NULL, NULL, OPT_REQUIRED},
    {"num_samples", OPT_INT, F(num_samples), 0, 1, 4096, NULL, "completions to sample", NULL, "-n", 0},
    {"json", OPT_BOOL, F(json), 0, 0, 1, NULL, "one JSON object per completion: sample, text, ids, logp, finish_reason",
     NULL, NULL, 0},
    OPT_GROUP_ENTRY(SampleArgs, sample, sample_settings_options),
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

// The settings meet grpo's and eval's; the defaults suit reading a model's raw
// continuation: no template, seed 0, one sample.
static void sample_defaults(void *cfg) {
    SampleArgs *a = cfg;
    a->num_samples = 1;
    sample_settings_defaults(&a->sample);
    snprintf(a->sample.template_name, sizeof a->sample.template_name, "raw");
    a->sample.seed = 0;
}

static void sample_more_help(void) {
    printf("\nStop strings: up to %d, 1..%d bytes each.\n"
           "logp[t] is log softmax(z_t / T)[ids[t]] over the full vocabulary, before top-k/top-p/min-p\n"
           "(at T = 1 when greedy). A completion ended by a stop id includes that id in ids; its text\n"
           "leaves it out, as grpo's and eval's samples do.\n",
           SAMPLER_MAX_STOPS, SAMPLER_MAX_STOP_LEN);
}

const CliOptions sample_cli = {
    sample_options, sizeof(SampleArgs), sample_defaults, "aha sample --model DIR --prompt TEXT [options]",
    "Samples completions of one prompt with the batched KV-cache sampler, through the same path as grpo's rollouts and eval: template, the tokenizer's BOS, stop ids (every EOS id of the tokenizer, config.json and generation_config.json, and the template's end-of-turn token), stop strings.\n\n"
    "The model's generation_config.json (temperature, top_p, top_k, min_p) replaces the defaults below; flags win over both.", sample_more_help, offsetof(SampleArgs, seen)};

// Print one completion; returns 0, or -1 after err_set.
static int print_row(const RolloutRow *row, int g, int json) {
    const char *reason = row->truncated ? "length" : "stop";
    if (!json) {
        printf("--- sample %d (%d tokens, %s) ---\n%s\n", g, row->n, reason, row->text);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "sample", g);
    cJSON_AddStringToObject(o, "text", row->text);
    cJSON *ids = cJSON_AddArrayToObject(o, "ids"), *lp = cJSON_AddArrayToObject(o, "logp");
    for (int t = 0; t < row->n; t++) {
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(row->ids[t]));
        cJSON_AddItemToArray(lp, cJSON_CreateNumber(row->logp[t]));
    }
    cJSON_AddStringToObject(o, "finish_reason", reason);
    char *s = cJSON_PrintUnformatted(o);
    int rc = s ? (puts(s), 0) : err_set("out of memory printing sample %d", g);
    cJSON_free(s);
    cJSON_Delete(o);
    return rc;
}

// One group of G samples of the prompt: problem number 0 at step 0 is the
// sampling key, so a seed gives the same completions every time.
static int sample_prompt(const SampleArgs *a, const Model *m, const Tokenizer *tok) {
    PromptProblem p;
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "--prompt");
    p.question = a->prompt;
    int len = rollout_prompt_tokens(tok, &a->sample, &p);
    if (len < 0) return -1;
    Rollout r;
    // An empty prompt opens with room for one token; rollout_prepare names the problem.
    if (rollout_open(&r, m, tok, &a->sample, 1, a->num_samples, len > 0 ? len : 1, NULL, NULL) != 0) {
        rollout_close(&r);
        return -1;
    }
    r.groups[0].problem = p;
    int slot = 0, rc = rollout_prepare(&r, 0) == 0 && rollout_sample(&r, &slot, 1, 0) == 0 ? 0 : -1;
    for (int g = 0; g < r.G && rc == 0; g++)
        rc = print_row(&r.rows[g], g, a->json);
    rollout_close(&r);
    return rc;
}

// Load the model and sample.
static int sample_model(const SampleArgs *a) {
    const char *cmd = "sample";
    threads_set(a->sample.threads);
    if (model_precision_set(a->sample.precision) != 0) return cli_fail(cmd, "%s", err_msg());
    Model m;
    Lora lo;
    if (model_load_frozen(&m, a->model) != 0) return cli_fail(cmd, "%s", err_msg());
    if (lora_attach(&m, &lo, a->adapter) != 0) {
        model_free(&m);
        return cli_fail(cmd, "%s", err_msg());
    }
    Tokenizer *tok = tok_load(a->model);
    int rc = !tok || sample_prompt(a, &m, tok) != 0 ? cli_fail(cmd, "%s", err_msg()) : 0;
    if (rc == 0 && fflush(stdout) != 0) rc = cli_fail(cmd, "cannot write the output");
    tok_free(tok);
    lora_free(&lo);
    model_free(&m);
    return rc;
}

int cmd_sample(void *cfg) {
    const SampleArgs *flags = cfg;
    // The defaults, the model's generation_config.json over them, the flags over both.
    SampleArgs *a = calloc(1, sizeof *a);   // defaults set some fields; the rest start at 0
    if (!a) return cli_fail("sample", "out of memory");
    sample_defaults(a);
    int rc = sample_settings_model_defaults(&a->sample, flags->model);
    if (rc == 0) opt_copy_seen(a, flags, &flags->seen);
    rc = rc == 0 ? sample_model(a) : cli_fail("sample", "%s", err_msg());
    free(a);
    return rc;
}
