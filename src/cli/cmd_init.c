// aha init: create a randomly initialised model directory (config.json,
// model.safetensors, tokenizer.json) from a preset or a config.json, or re-save
// an existing model (--from) in another dtype or sharding. Refuses to overwrite
// a model directory unless --force.
#include "cli/cli.h"

#include "base/err.h"
#include "base/fileio.h"
#include "model/io.h"
#include "model/presets.h"
#include "tok/tokenizer.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *CMD = "init";

typedef struct {
    char out[4096], preset[32], config[4096], from[4096], tokenizer[4096];
    int seed, shard_mb, force, dtype;
    double std;
} InitFlags;

// Weight file dtypes init writes.
static const OptChoice dtype_choices[] = {{"f32", ST_F32}, {"bf16", ST_BF16}, {NULL, 0}};

#define F(x) offsetof(InitFlags, x)
#define S(x) F(x), sizeof(((InitFlags *)0)->x)
static const OptDef init_options[] = {
    {"out", OPT_STRING, S(out), 0, 0, NULL, "directory to create (refused if it already holds config.json, unless --force)",
     NULL, NULL, OPT_REQUIRED},
    {"preset", OPT_STRING, S(preset), 0, 0, NULL, "tiny, small or large (see above; small when no --config or --from)",
     NULL, NULL, 0},
    {"config", OPT_STRING, S(config), 0, 0, NULL, "a Hugging Face config.json (llama, qwen2 or qwen3) instead of a preset",
     NULL, NULL, 0},
    {"from", OPT_STRING, S(from), 0, 0, NULL, "load an existing model and write it to --out (convert dtype, reshard)",
     NULL, NULL, 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "random seed of the weights", NULL, NULL, 0},
    {"std", OPT_DOUBLE, F(std), 0, 0, 10, NULL, "standard deviation of the weight matrices", NULL, NULL, 0},
    {"tokenizer", OPT_STRING, S(tokenizer), 0, 0, NULL,
     "copy this tokenizer.json (and tokenizer_config.json beside it); none: train one (see above)",
     NULL, NULL, 0},
    {"dtype", OPT_ENUM, F(dtype), 0, 0, 0, dtype_choices, "weight file dtype", NULL, NULL, 0},
    {"shard_mb", OPT_INT, F(shard_mb), 0, 0, 1 << 30, NULL, "split weights over files of at most N MiB with an index (0: one file)",
     NULL, NULL, 0},
    {"force", OPT_BOOL, F(force), 0, 0, 1, NULL, "overwrite a model directory", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static void init_defaults(void *cfg) {
    InitFlags *f = cfg;
    f->std = 0.02;
    f->dtype = ST_F32;
}

const CliOptions init_cli = {
    init_options, sizeof(InitFlags), init_defaults,
    "aha init --out DIR [--preset tiny|small|large | --config FILE.json | --from MODEL_DIR]\n"
    "                [--seed S] [--std X] [--tokenizer PATH] [--dtype f32|bf16] [--shard-mb N] [--force]",
    "Creates a Hugging Face model directory with random weights: normal(0, std) matrices, RMSNorm weights 1, biases 0. Presets are llama-style, untied, rope_theta 10000, rms_norm_eps 1e-5:\n"
    "  tiny   dim 64,  2 layers, 4 heads (2 kv), vocab 320,  ffn 176,  context 512\n"
    "  small  dim 256, 4 layers, 4 heads,        vocab 512,  ffn 704,  context 2048\n"
    "  large  dim 512, 8 layers, 8 heads,        vocab 2048, ffn 1376, context 2048\n"
    "Without --tokenizer a byte-level BPE is trained on a small built-in text, with special tokens <|endoftext|> (eos), <|im_start|>, <|im_end|>.", NULL, 0};

// Put tokenizer.json (+ tokenizer_config.json) into dir: copied from src (a
// file or a directory), or trained on the built-in text. Checks the model's
// vocabulary covers it, and when config has no eos takes the tokenizer's
// (*changed = 1: the caller rewrites config.json).
static int add_tokenizer(ModelConfig *cfg, const char *dir, const char *src, int *changed) {
    char out[4096], cfg_out[4096], from[4096], from_cfg[4096];
    if (path_join(out, sizeof out, dir, "tokenizer.json") || path_join(cfg_out, sizeof cfg_out, dir, "tokenizer_config.json"))
        return -1;
    if (src) {
        if (path_is_dir(src) ? path_join(from, sizeof from, src, "tokenizer.json") : path_fmt(from, sizeof from, "%s", src))
            return -1;
        if (path_sibling(from_cfg, sizeof from_cfg, from, "tokenizer_config.json")) return -1;
        Tokenizer *check = tok_load(from);
        if (!check) return -1;
        tok_free(check);
        if (file_copy(from, out) != 0) return -1;
        if (path_exists(from_cfg) && file_copy(from_cfg, cfg_out) != 0) return -1;
    } else {
        if (tok_train_default(cfg->vocab_size, out) != 0) return -1;
    }
    Tokenizer *tok = tok_load(out);
    if (!tok) return -1;
    int rc = 0;
    if (tok_vocab_size(tok) > cfg->vocab_size) {
        rc = err_set("%s has %d ids but the model's vocab_size is %d", out, tok_vocab_size(tok), cfg->vocab_size);
    } else if (cfg->n_eos == 0) {
        // eos: the tokenizer's eos, plus <|im_end|> when present so chat turns stop too.
        int ids[2] = {tok_eos_id(tok), tok_token_id(tok, "<|im_end|>")}, n = 0;
        for (int i = 0; i < 2; i++)
            if (ids[i] >= 0 && (n == 0 || ids[i] != cfg->eos_token_ids[0])) cfg->eos_token_ids[n++] = ids[i];
        if (n > 0) {
            cfg->n_eos = n;
            *changed = 1;
        }
    }
    tok_free(tok);
    return rc;
}

// A string flag's value, or NULL when it was not given.
static const char *given(const char *s) { return s[0] ? s : NULL; }

int cmd_init(void *cfg) {
    const InitFlags *f = cfg;
    const char *out = f->out, *preset = given(f->preset), *config = given(f->config), *from = given(f->from),
               *tokenizer = given(f->tokenizer);
    SafeDtype dtype = (SafeDtype)f->dtype;
    if (!!preset + !!config + !!from > 1) return cli_usage(CMD, "give only one of --preset, --config, --from");
    char probe[4096];
    if (path_join(probe, sizeof probe, out, "config.json") == 0 && path_exists(probe) && !f->force)
        return cli_fail(CMD, "%s already holds a model (config.json); use --force to overwrite it", out);

    Model m;
    ModelConfig mc;
    if (from) {
        if (model_load(&m, from, 0) != 0) return cli_fail(CMD, "%s", err_msg());
        mc = m.cfg;
    } else {
        if (config) {
            if (model_config_load(&mc, config) != 0) return cli_fail(CMD, "%s", err_msg());
        } else {
            const ModelPreset *p = model_preset(preset ? preset : "small");
            if (!p) return cli_usage(CMD, "unknown preset '%s' (tiny, small, large)", preset);
            model_config_llama(&mc, p);
        }
        if (model_create(&m, &mc, 0) != 0) return cli_fail(CMD, "%s", err_msg());
        model_init_random(&m, (uint64_t)f->seed, (float)f->std);
    }
    int rc = model_save_sharded(&m, out, dtype, (size_t)f->shard_mb << 20);
    int changed = 0;
    if (rc == 0) {
        char src_tok[4096];
        const char *tsrc = tokenizer;
        // --from keeps the source's tokenizer, if it has one, and makes none up.
        if (!tsrc && from && path_join(src_tok, sizeof src_tok, from, "tokenizer.json") == 0 && path_exists(src_tok))
            tsrc = src_tok;
        if (tsrc || !from) rc = add_tokenizer(&m.cfg, out, tsrc, &changed);
    }
    if (rc == 0 && changed) {
        char p[4096];
        rc = path_join(p, sizeof p, out, "config.json") == 0 ? model_config_save_dtype(&m.cfg, p, dtype) : -1;
    }
    if (rc == 0)
        printf("%s: %s, %zu parameters, %d layers, dim %d, vocab %d, %s\n", out, m.cfg.model_type, m.n_params,
               m.cfg.n_layers, m.cfg.hidden_size, m.cfg.vocab_size, dtype == ST_BF16 ? "bf16" : "f32");
    model_free(&m);
    return rc == 0 ? 0 : cli_fail(CMD, "%s", err_msg());
}
