// The table of named model shapes behind `aha init --preset` and `aha bench`,
// and the llama-style config every hand-made model (pretraining, benchmarks)
// starts from. Loading a Hugging Face config.json is model/config.c's job.
#include "model/presets.h"

#include <stdio.h>
#include <string.h>

static const ModelPreset PRESETS[] = {
    {"tiny", 64, 2, 4, 2, 320, 176, 512},
    {"small", 256, 4, 4, 4, 512, 704, 2048},
    {"large", 512, 8, 8, 8, 2048, 1376, 2048},
};

const ModelPreset *model_preset(const char *name) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (strcmp(PRESETS[i].name, name) == 0) return &PRESETS[i];
    return NULL;
}

void model_config_llama(ModelConfig *c, const ModelPreset *p) {
    memset(c, 0, sizeof *c);
    snprintf(c->model_type, sizeof c->model_type, "llama");
    snprintf(c->architecture, sizeof c->architecture, "LlamaForCausalLM");
    c->vocab_size = p->vocab;
    c->hidden_size = p->dim;
    c->n_layers = p->layers;
    c->n_heads = p->heads;
    c->n_kv_heads = p->kv_heads;
    c->head_dim = p->dim / p->heads;
    c->intermediate_size = p->ffn;
    c->max_position = p->context;
    c->rope_theta = 10000.0;
    c->rms_eps = 1e-5;
    c->bos_token_id = -1;
}
