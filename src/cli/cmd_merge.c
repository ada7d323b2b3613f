// aha merge: a base model plus PEFT LoRA adapters -> one Hugging Face model
// directory whose weights are W + (alpha / r)·B·A (config.json, the
// tokenizer files, model.safetensors in float32). It refuses adapters made for
// another shape and an output directory that is the base's own.
#include "base/err.h"
#include "base/fileio.h"
#include "cli/cli.h"
#include "model/io.h"
#include "model/lora.h"
#include "train/checkpoint.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char base[4096], adapter[4096], out[4096];
} MergeFlags;

#define S(x) offsetof(MergeFlags, x), sizeof(((MergeFlags *)0)->x)
static const OptDef merge_options[] = {
    {"base", OPT_STRING, S(base), 0, 0, NULL, "base model directory (Hugging Face layout)", NULL, NULL, OPT_REQUIRED},
    {"adapter", OPT_STRING, S(adapter), 0, 0, NULL, "PEFT adapter directory (adapter_config.json + adapter_model.safetensors)",
     NULL, NULL, OPT_REQUIRED},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "directory for the merged model (created)", NULL, NULL, OPT_REQUIRED},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef S

const CliOptions merge_cli = {
    merge_options, sizeof(MergeFlags), NULL, "aha merge --base DIR --adapter DIR --out DIR",
    "Merges LoRA adapters (PEFT format, as aha grpo/sft --lora-r write them into checkpoints) into their base model "
    "and writes a plain model directory: config.json, the base's tokenizer files and model.safetensors (float32). "
    "The merged model's log-probs equal those of the base with the adapters.", NULL, 0};

int cmd_merge(void *cfg) {
    const MergeFlags *f = cfg;
    const char *cmd = "merge";
    if (!f->base[0] || !f->adapter[0] || !f->out[0]) return cli_fail(cmd, "--base, --adapter and --out are required");
    if (strcmp(f->base, f->out) == 0) return cli_fail(cmd, "--out must not be the base directory (%s)", f->base);
    Model m;
    Lora lo;
    if (model_load(&m, f->base, 0) != 0) return cli_fail(cmd, "base model: %s", err_msg());
    if (lora_load(&lo, &m.cfg, f->adapter, 0) != 0) {
        model_free(&m);
        return cli_fail(cmd, "adapter: %s", err_msg());
    }
    char tok[4200];
    int rc = lora_merge(&m, &lo);
    if (rc == 0) rc = model_save(&m, f->out, ST_F32);
    if (rc == 0 && path_join(tok, sizeof tok, f->base, "tokenizer.json") == 0 && path_exists(tok))
        rc = copy_tokenizer(f->base, f->out);
    lora_free(&lo);
    model_free(&m);
    if (rc != 0) return cli_fail(cmd, "%s", err_msg());
    printf("merge: %s + %s -> %s\n", f->base, f->adapter, f->out);
    return 0;
}
