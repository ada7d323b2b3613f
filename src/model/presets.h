// Named llama-style model shapes (tiny, small, large) and the one place that
// turns a shape into a ModelConfig: Llama family, untied, no biases,
// rope_theta 10000, rms_norm_eps 1e-5, no bos, no eos. Nothing else is set.
#ifndef AHA_MODEL_PRESETS_H
#define AHA_MODEL_PRESETS_H

#include "model/model.h"

typedef struct {
    const char *name;
    int dim, layers, heads, kv_heads, vocab, ffn, context;   // C, L, NH, NKV, V, F, max_position
} ModelPreset;

// The preset called name, or NULL if there is none.
const ModelPreset *model_preset(const char *name);
// *c = the llama-style config of shape p (head_dim = dim / heads).
void model_config_llama(ModelConfig *c, const ModelPreset *p);

#endif
