// aha sample: G completions of one prompt from a model directory, as text or
// one JSON object per completion (ids, per-token logp, finish reason).
// Flag parsing and printing only; sampling lives in gen/sampler.
#include "base/err.h"
#include "base/sys.h"
#include "cli/cli.h"
#include "gen/sampler.h"
#include "model/io.h"
#include "tok/template.h"
#include "tok/tokenizer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void sample_help(void) {
    printf("usage: aha sample --model DIR --prompt TEXT [options]\n\n"
           "Samples completions of one prompt with the batched KV-cache sampler.\n\n"
           "  --model DIR           Hugging Face model directory (config.json, safetensors, tokenizer.json)\n"
           "  --prompt TEXT         the prompt (put through --template first)\n"
           "  -n G                  completions to sample (default 1)\n"
           "  --temperature T       0 = greedy (default 1)\n"
           "  --top-k K             keep the K most likely tokens (default 0 = off)\n"
           "  --top-p P             nucleus: keep the most likely tokens up to mass P (default 1 = off)\n"
           "  --min-p P             keep tokens with p >= P * p_max (default 0 = off)\n"
           "  --max-new-tokens N    (default 128)\n"
           "  --seed S              (default 0)\n"
           "  --stop STR            stop when the completion's text contains STR (repeatable, up to %d);\n"
           "                        the tokenizer's and config's EOS ids always stop\n"
           "  --template NAME       %s (default raw)\n"
           "  --threads N           threads (default: OpenMP's default)\n"
           "  --json                one JSON object per completion: sample, text, ids, logp, finish_reason\n\n"
           "logp[t] is log softmax(z_t / T)[ids[t]] over the full vocabulary, before top-k/top-p/min-p\n"
           "(at T = 1 when greedy). A completion ended by an EOS id includes that id.\n",
           SAMPLER_MAX_STOPS, template_names());
}

typedef struct {
    const char *model, *prompt, *template_name;
    const char *stops[SAMPLER_MAX_STOPS];
    int n_stops, json;
    long g, top_k, max_new, threads;
    double temperature, top_p, min_p;
    unsigned long long seed;
} SampleArgs;

static int parse(int argc, char **argv, SampleArgs *a) {
    const char *cmd = "sample", *v;
    memset(a, 0, sizeof *a);
    a->g = 1, a->max_new = 128, a->temperature = 1.0, a->top_p = 1.0, a->template_name = "raw";
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        long seed;
#define VALUE() (v = arg_value(cmd, argc, argv, &i))
        if (!strcmp(f, "--model")) {
            if (!VALUE()) return 2;
            a->model = v;
        } else if (!strcmp(f, "--prompt")) {
            if (!VALUE()) return 2;
            a->prompt = v;
        } else if (!strcmp(f, "--template")) {
            if (!VALUE()) return 2;
            a->template_name = v;
        } else if (!strcmp(f, "-n")) {
            if (!VALUE() || arg_long(cmd, f, v, 1, 4096, &a->g)) return 2;
        } else if (!strcmp(f, "--top-k")) {
            if (!VALUE() || arg_long(cmd, f, v, 0, 1L << 30, &a->top_k)) return 2;
        } else if (!strcmp(f, "--max-new-tokens")) {
            if (!VALUE() || arg_long(cmd, f, v, 1, 1L << 20, &a->max_new)) return 2;
        } else if (!strcmp(f, "--threads")) {
            if (!VALUE() || arg_long(cmd, f, v, 1, 1024, &a->threads)) return 2;
        } else if (!strcmp(f, "--seed")) {
            if (!VALUE() || arg_long(cmd, f, v, 0, 0x7fffffffffffffffL, &seed)) return 2;
            a->seed = (unsigned long long)seed;
        } else if (!strcmp(f, "--temperature")) {
            if (!VALUE() || arg_double(cmd, f, v, 0, 1e6, &a->temperature)) return 2;
        } else if (!strcmp(f, "--top-p")) {
            if (!VALUE() || arg_double(cmd, f, v, 1e-9, 1, &a->top_p)) return 2;
        } else if (!strcmp(f, "--min-p")) {
            if (!VALUE() || arg_double(cmd, f, v, 0, 1, &a->min_p)) return 2;
        } else if (!strcmp(f, "--stop")) {
            if (!VALUE()) return 2;
            if (a->n_stops == SAMPLER_MAX_STOPS) return cli_usage(cmd, "at most %d --stop strings", SAMPLER_MAX_STOPS);
            size_t len = strlen(v);
            if (len < 1 || len > SAMPLER_MAX_STOP_LEN)
                return cli_usage(cmd, "--stop strings must have 1..%d bytes", SAMPLER_MAX_STOP_LEN);
            a->stops[a->n_stops++] = v;
        } else if (!strcmp(f, "--json")) {
            a->json = 1;
        } else {
            return cli_usage(cmd, "unknown option '%s'", f);
        }
#undef VALUE
    }
    if (!a->model || !a->prompt) return cli_usage(cmd, "--model and --prompt are required");
    return 0;
}

static const char *token_bytes(const void *ctx, int id, size_t *len) { return tok_token_bytes(ctx, id, len); }

// Print one completion; returns 0 or 1 after an error message.
static int print_completion(const Tokenizer *tok, const Completion *c, int g, int json) {
    char *text = tok_decode_lenient(tok, c->ids, c->n, NULL);
    if (!text) return cli_fail("sample", "decoding sample %d: %s", g, err_msg());
    const char *reason = c->finish == SAMPLER_FINISH_STOP ? "stop" : "length";
    if (!json) {
        printf("--- sample %d (%d tokens, %s) ---\n%s\n", g, c->n, reason, text);
        free(text);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "sample", g);
    cJSON_AddStringToObject(o, "text", text);
    cJSON *ids = cJSON_AddArrayToObject(o, "ids"), *lp = cJSON_AddArrayToObject(o, "logp");
    for (int t = 0; t < c->n; t++) {
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(c->ids[t]));
        cJSON_AddItemToArray(lp, cJSON_CreateNumber(c->logp[t]));
    }
    cJSON_AddStringToObject(o, "finish_reason", reason);
    char *s = cJSON_PrintUnformatted(o);
    int rc = s ? (puts(s), 0) : cli_fail("sample", "out of memory");
    free(s);
    cJSON_Delete(o);
    free(text);
    return rc;
}

int cmd_sample(int argc, char **argv) {
    const char *cmd = "sample";
    for (int i = 1; i < argc; i++)
        if (arg_is_help(argv[i])) return sample_help(), 0;
    SampleArgs a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc;
    if (a.threads) threads_set((int)a.threads);
    Model m;
    if (model_load(&m, a.model, 0) != 0) return cli_fail(cmd, "%s", err_msg());
    Tokenizer *tok = tok_load(a.model);
    char *text = NULL;
    int *ids = NULL, n = 0;
    Sampler *s = NULL;
    Completion *out = NULL;
    rc = 1;
    if (!tok) {
        cli_fail(cmd, "%s", err_msg());
        goto done;
    }
    if (template_render(a.template_name, a.prompt, NULL, 0, &text) != 0 ||
        tok_encode(tok, text, strlen(text), &ids, &n) != 0) {
        cli_fail(cmd, "%s", err_msg());
        goto done;
    }
    int bos = tok_bos_id(tok);
    if (bos >= 0) {   // the tokenizer's BOS starts every sequence it was trained on
        int *b = realloc(ids, (size_t)(n + 1) * sizeof(int));
        if (!b) goto done;
        ids = b;
        memmove(ids + 1, ids, (size_t)n * sizeof(int));
        ids[0] = bos;
        n++;
    }
    if (n == 0) {
        cli_fail(cmd, "the prompt encodes to no tokens and the tokenizer has no BOS token");
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (ids[i] >= m.cfg.vocab_size) {
            cli_fail(cmd, "prompt token %d is outside the model's vocabulary (%d): tokenizer and model do not match",
                     ids[i], m.cfg.vocab_size);
            goto done;
        }
    long max_len = n + a.max_new;
    if (max_len > m.cfg.max_position) {
        cli_fail(cmd, "%d prompt tokens + %ld new tokens exceed the model's max_position_embeddings (%d)", n,
                 a.max_new, m.cfg.max_position);
        goto done;
    }
    int stop_ids[SAMPLER_MAX_STOPS], n_stop = 0;
    int eos = tok_eos_id(tok);
    if (eos >= 0) stop_ids[n_stop++] = eos;
    for (int i = 0; i < m.cfg.n_eos && n_stop < SAMPLER_MAX_STOPS; i++)
        if (m.cfg.eos_token_ids[i] != eos) stop_ids[n_stop++] = m.cfg.eos_token_ids[i];
    SamplerOpts o = sampler_opts_default();
    o.temperature = (float)a.temperature, o.top_k = (int)a.top_k, o.top_p = (float)a.top_p, o.min_p = (float)a.min_p;
    o.max_new_tokens = (int)a.max_new, o.seed = a.seed;
    o.stop_ids = stop_ids, o.n_stop_ids = n_stop;
    o.stop_strings = a.stops, o.n_stop_strings = a.n_stops;
    o.token_bytes = token_bytes, o.token_ctx = tok;
    int G = (int)a.g;
    const int *prompts[1] = {ids};
    uint32_t index[1] = {0};
    if (!(s = sampler_create(&m.cfg, G, (int)max_len)) || !(out = calloc((size_t)G, sizeof *out)) ||
        sampler_generate(s, &m, prompts, &n, index, 1, G, &o, out) != 0) {
        cli_fail(cmd, "%s", out || !s ? err_msg() : "out of memory");
        goto done;
    }
    rc = 0;
    for (int g = 0; g < G && !rc; g++) rc = print_completion(tok, &out[g], g, a.json);
    if (!rc && fflush(stdout) != 0) rc = cli_fail(cmd, "cannot write the output");
done:
    free(out);
    sampler_free(s);
    free(ids);
    free(text);
    tok_free(tok);
    model_free(&m);
    return rc;
}
