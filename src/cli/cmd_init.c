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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *CMD = "init";

static const char *USAGE =
    "usage: aha init --out DIR [--preset tiny|small|large | --config FILE.json | --from MODEL_DIR]\n"
    "                [--seed S] [--std X] [--tokenizer PATH] [--dtype f32|bf16] [--shard-mb N] [--force]\n"
    "Creates a Hugging Face model directory with random weights: normal(0, std) matrices,\n"
    "RMSNorm weights 1, biases 0.\n"
    "  --out DIR          directory to create (refused if it already holds config.json, unless --force)\n"
    "  --preset NAME      llama-style, untied, rope_theta 10000, rms_norm_eps 1e-5 (default small):\n"
    "                       tiny   dim 64,  2 layers, 4 heads (2 kv), vocab 320,  ffn 176,  context 512\n"
    "                       small  dim 256, 4 layers, 4 heads,        vocab 512,  ffn 704,  context 2048\n"
    "                       large  dim 512, 8 layers, 8 heads,        vocab 2048, ffn 1376, context 2048\n"
    "  --config FILE      a Hugging Face config.json (llama, qwen2 or qwen3) instead of a preset\n"
    "  --from DIR         load an existing model and write it to --out (convert dtype, reshard)\n"
    "  --seed S           random seed (default 0)\n"
    "  --std X            standard deviation of the weight matrices (default 0.02)\n"
    "  --tokenizer PATH   copy this tokenizer.json (and tokenizer_config.json beside it); without\n"
    "                     it a byte-level BPE is trained on a small built-in text, with special\n"
    "                     tokens <|endoftext|> (eos), <|im_start|>, <|im_end|>\n"
    "  --dtype f32|bf16   weight file dtype (default f32)\n"
    "  --shard-mb N       split weights over files of at most N MiB with an index (default: one file)\n";

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

int cmd_init(int argc, char **argv) {
    const char *out = NULL, *preset = NULL, *config = NULL, *from = NULL, *tokenizer = NULL, *v;
    long seed = 0, shard_mb = 0;
    double std = 0.02;
    int force = 0;
    SafeDtype dtype = ST_F32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (arg_is_help(a)) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (strcmp(a, "--force") == 0) {
            force = 1;
            continue;
        }
        const char **slot = strcmp(a, "--out") == 0         ? &out
                            : strcmp(a, "--preset") == 0    ? &preset
                            : strcmp(a, "--config") == 0    ? &config
                            : strcmp(a, "--from") == 0      ? &from
                            : strcmp(a, "--tokenizer") == 0 ? &tokenizer
                                                            : NULL;
        int numeric = strcmp(a, "--seed") == 0 || strcmp(a, "--std") == 0 || strcmp(a, "--dtype") == 0 ||
                      strcmp(a, "--shard-mb") == 0;
        if (!slot && !numeric) return cli_usage(CMD, "unknown option '%s'", a);
        if (!(v = arg_value(CMD, argc, argv, &i))) return 2;
        if (slot) {
            *slot = v;
        } else if (strcmp(a, "--seed") == 0) {
            if (arg_long(CMD, a, v, 0, 0x7fffffffffffffffL, &seed)) return 2;
        } else if (strcmp(a, "--std") == 0) {
            if (arg_double(CMD, a, v, 0, 10, &std)) return 2;
        } else if (strcmp(a, "--shard-mb") == 0) {
            if (arg_long(CMD, a, v, 1, 1L << 30, &shard_mb)) return 2;
        } else if (strcmp(v, "f32") == 0 || strcmp(v, "bf16") == 0) {
            dtype = v[0] == 'b' ? ST_BF16 : ST_F32;
        } else {
            return cli_usage(CMD, "--dtype must be f32 or bf16, got '%s'", v);
        }
    }
    if (!out) return cli_usage(CMD, "--out DIR is required");
    if (!!preset + !!config + !!from > 1) return cli_usage(CMD, "give only one of --preset, --config, --from");
    char probe[4096];
    if (path_join(probe, sizeof probe, out, "config.json") == 0 && path_exists(probe) && !force)
        return cli_fail(CMD, "%s already holds a model (config.json); use --force to overwrite it", out);

    Model m;
    ModelConfig cfg;
    if (from) {
        if (model_load(&m, from, 0) != 0) return cli_fail(CMD, "%s", err_msg());
        cfg = m.cfg;
    } else {
        if (config) {
            if (model_config_load(&cfg, config) != 0) return cli_fail(CMD, "%s", err_msg());
        } else {
            const ModelPreset *p = model_preset(preset ? preset : "small");
            if (!p) return cli_usage(CMD, "unknown preset '%s' (tiny, small, large)", preset);
            model_config_llama(&cfg, p);
        }
        if (model_create(&m, &cfg, 0) != 0) return cli_fail(CMD, "%s", err_msg());
        model_init_random(&m, (uint64_t)seed, (float)std);
    }
    int rc = model_save_sharded(&m, out, dtype, (size_t)shard_mb << 20);
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
