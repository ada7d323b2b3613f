// Hugging Face model directories: config.json <-> ModelConfig, and weights in
// model.safetensors (or shards listed by model.safetensors.index.json) <-> Model.
// Refuses anything the engine would compute differently from transformers:
// unknown model types, rope scaling other than Llama 3's, MLP or
// output-projection biases, other activations; and any missing, misshapen or unexpected tensor.
#ifndef AHA_MODEL_IO_H
#define AHA_MODEL_IO_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "model/model.h"
#include "model/safetensors.h"

// Read a config.json file, or the config.json inside a model directory.
// Returns 0, or -1 with a message naming config.json and the field at fault.
int model_config_load(ModelConfig *cfg, const char *path);
// Parse config.json text (label names it in messages).
int model_config_parse(ModelConfig *cfg, const char *json, const char *label);
// A token-id field of an HF JSON file (eos_token_id): absent or null (none),
// an id, or a list of ids, up to cap of them into ids, *n the count. Returns 0,
// or -1 with a message naming label and the field.
int model_json_ids(const cJSON *o, const char *key, int *ids, int cap, int *n, const char *label);
// Write an HF config.json (architecture per model_type, torch_dtype "float32").
int model_config_save(const ModelConfig *cfg, const char *path);
// The same with torch_dtype naming dtype (ST_F32 or ST_BF16).
int model_config_save_dtype(const ModelConfig *cfg, const char *path, SafeDtype dtype);

// RoPE inverse frequencies inv_freq[i] = theta^(-2i/HD), i < HD/2, with Llama 3
// rope scaling applied when the config has it. Every RoPE in aha takes its
// frequencies from here, so scaling lives in one place.
void model_rope_inv_freq(const ModelConfig *cfg, double *inv_freq /* (HD/2) */);

// Load config.json and the weights of dir into a new model (model_create),
// converting F32/BF16/F16 to float32. Every tensor of the layout must be
// present with its exact shape; a tied model may also store lm_head.weight
// (ignored); rotary inv_freq buffers are ignored; anything else is an error.
// Returns 0, or -1 with nothing to free.
int model_load(Model *m, const char *dir, int with_grads);
// As model_load, into a frozen model held in bf16 only (model_create_bf16):
// matrices copied from BF16 files as they are, rounded from wider ones, one
// tensor at a time (the file's pages let go after each), so the load never
// holds the file and the model at once. Returns 0 or -1, nothing to free.
int model_load_bf16(Model *m, const char *dir);
// A model that is run, never trained (LoRA's frozen base, sample, eval,
// logprobs, rejection-sample): held in bf16 only when the process precision
// is bf16 (model_load_bf16, a BF16 file's matrices used in place), else as
// model_load without gradients.
int model_load_frozen(Model *m, const char *dir);

// Write config.json and model.safetensors (dtype ST_F32 or ST_BF16, metadata
// {"format":"pt"}) into dir, creating it; each file is replaced atomically.
// Nothing else in dir is touched except a stale weight file of the other
// layout (single file vs shards), which is removed.
int model_save(const Model *m, const char *dir, SafeDtype dtype);
// As model_save, but when the weights exceed shard_bytes (> 0) they are split
// into model-0000i-of-0000n.safetensors with model.safetensors.index.json.
int model_save_sharded(const Model *m, const char *dir, SafeDtype dtype, size_t shard_bytes);

#endif
