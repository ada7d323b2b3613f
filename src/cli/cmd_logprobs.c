// aha logprobs: log p(ids[i+1] | ids[0..i]) of each JSONL line under a model at
// temperature 1, through the training forward. It checks every line before it
// computes anything, and refuses ids outside the vocab or beyond max_position.
#include "base/err.h"
#include "base/jsonl.h"
#include "base/sys.h"
#include "cli/cli.h"
#include "model/forward.h"
#include "model/io.h"
#include "model/lora.h"
#include "rollout/rollout.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Rows computed together (one forward per batch of consecutive lines).
#define LOGPROBS_BATCH 8

typedef struct {
    char model[4096], adapter[4096], input[4096];
    int threads, precision;
} LogprobsFlags;

#define S(x) offsetof(LogprobsFlags, x), sizeof(((LogprobsFlags *)0)->x)
static const OptDef logprobs_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "Hugging Face model directory (config.json + safetensors)", NULL, NULL,
     OPT_REQUIRED},
    {"adapter", OPT_STRING, S(adapter), 0, 0, NULL, "LoRA adapter directory (PEFT format) on the model", NULL, NULL, 0},
    {"input", OPT_STRING, S(input), 0, 0, NULL, "JSONL file, one object with an \"ids\" array per line ('-' = stdin)",
     NULL, NULL, OPT_REQUIRED},
    OPT_GROUP_ENTRY(LogprobsFlags, threads, threads_options),
    OPT_GROUP_ENTRY(LogprobsFlags, precision, precision_options),
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef S

const CliOptions logprobs_cli = {
    logprobs_options, sizeof(LogprobsFlags), NULL,
    "aha logprobs --model DIR [--adapter DIR] --input FILE.jsonl [--threads N] [--precision fp32|bf16]",
    "For each input line {\"ids\":[...]} prints one line {\"logp\":[...]} where logp[i] = log p(ids[i+1] | ids[0..i]) at temperature 1 (n-1 numbers for n ids). A plain interface to compare aha's model with any other implementation.", NULL, 0};

typedef struct {
    int *ids;    // (n)
    int n;
} Seq;

// The "ids" of one input line: 1..max_position ids, each in the vocabulary.
// Returns 0, or -1 after err_set naming where.
static int line_ids(const cJSON *j, const ModelConfig *c, const char *where, Seq *s) {
    const cJSON *arr = cJSON_GetObjectItem(j, "ids");
    if (!cJSON_IsArray(arr)) return err_set("%s: missing \"ids\" array", where);
    int len = cJSON_GetArraySize(arr);
    if (len == 0) return err_set("%s: \"ids\" is empty", where);
    if (len > c->max_position)
        return err_set("%s: %d ids exceed max_position_embeddings %d", where, len, c->max_position);
    return cli_json_ids(arr, c->vocab_size, where, &s->ids, &s->n);
}

// Read and check every line. Returns the count, or -1 after printing the error.
static int read_input(const char *path, const ModelConfig *c, Seq **out) {
    JsonlReader r;
    if (jsonl_open(&r, path) != 0) return cli_fail("logprobs", "%s", err_msg()), -1;
    Seq *seqs = NULL;
    int n = 0, cap = 0, rc;
    cJSON *j;
    while ((rc = jsonl_next(&r, &j)) == 1) {
        char where[4200];
        snprintf(where, sizeof where, "%s:%ld", r.name, r.line);
        Seq s;
        int bad = line_ids(j, c, where, &s);
        cJSON_Delete(j);
        if (!bad && n == cap) {
            cap = cap ? 2 * cap : 64;
            Seq *grown = realloc(seqs, (size_t)cap * sizeof *grown);
            if (grown) {
                seqs = grown;
            } else {
                free(s.ids);
                bad = err_set("%s: out of memory", where);
            }
        }
        if (bad) {
            rc = -1;
            break;
        }
        seqs[n++] = s;
    }
    if (rc < 0) cli_fail("logprobs", "%s", err_msg());
    jsonl_close(&r);
    if (rc < 0) {
        for (int i = 0; i < n; i++) free(seqs[i].ids);
        free(seqs);
        return -1;
    }
    *out = seqs;
    return n;
}

static int run(Model *m, Seq *seqs, int n) {
    int maxT = 1;
    for (int i = 0; i < n; i++) maxT = seqs[i].n > maxT ? seqs[i].n : maxT;
    int R = n < LOGPROBS_BATCH ? (n ? n : 1) : LOGPROBS_BATCH;
    ModelActs *a = model_acts_create(m, R, maxT);
    int *ids = calloc((size_t)R * maxT, sizeof(int)), lens[LOGPROBS_BATCH];
    float *logp = malloc((size_t)R * maxT * sizeof(float));
    int rc = 0;
    if (!a || !ids || !logp) {
        rc = cli_fail("logprobs", "%s", a ? "out of memory" : err_msg());
        goto done;
    }
    for (int i0 = 0; i0 < n; i0 += R) {
        int rows = n - i0 < R ? n - i0 : R, T = 1;
        for (int r = 0; r < rows; r++) T = seqs[i0 + r].n > T ? seqs[i0 + r].n : T;
        for (int r = 0; r < rows; r++) {
            lens[r] = seqs[i0 + r].n;
            memcpy(ids + (size_t)r * T, seqs[i0 + r].ids, (size_t)lens[r] * sizeof(int));
        }
        if (model_forward(m, a, ids, lens, rows, T, 1.0f, logp, NULL) != 0) {
            rc = cli_fail("logprobs", "%s", err_msg());
            goto done;
        }
        for (int r = 0; r < rows; r++) {
            fputs("{\"logp\":[", stdout);
            for (int t = 0; t + 1 < lens[r]; t++) printf(t ? ",%.9g" : "%.9g", logp[(size_t)r * T + t]);
            fputs("]}\n", stdout);
        }
    }
    if (fflush(stdout) != 0) rc = cli_fail("logprobs", "cannot write the output");
done:
    model_acts_free(a);
    free(ids);
    free(logp);
    return rc;
}

int cmd_logprobs(void *cfg) {
    const LogprobsFlags *f = cfg;
    threads_set(f->threads);
    if (model_precision_set(f->precision) != 0) return cli_fail("logprobs", "%s", err_msg());
    Model m;
    Lora lo;
    if (model_load_frozen(&m, f->model) != 0) return cli_fail("logprobs", "%s", err_msg());
    if (lora_attach(&m, &lo, f->adapter) != 0) {
        model_free(&m);
        return cli_fail("logprobs", "%s", err_msg());
    }
    Seq *seqs = NULL;
    int n = read_input(f->input, &m.cfg, &seqs);
    int rc = n < 0 ? 1 : run(&m, seqs, n);
    for (int i = 0; i < n; i++) free(seqs[i].ids);
    free(seqs);
    lora_free(&lo);
    model_free(&m);
    return rc;
}
