// The decoder-only transformer (Llama / Qwen2 / Qwen3 family): configuration,
// parameters in one flat array with named views, and the Hugging Face tensor
// names they map to. Parameters, gradients, AdamW moments and reference
// weights all share one layout, so any of them can be viewed as a WeightView.
#ifndef AHA_MODEL_H
#define AHA_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"

#define AHA_MAX_LAYERS 256
// Most parameters a config may imply (2^40, 4 TiB of float32): the bound that
// keeps every byte count derived from it (weights, grads, optimizer) in size_t.
#define AHA_MAX_PARAMS ((size_t)1 << 40)

// Dimension letters used across aha: B prompts, G group size, R rows (B*G or a
// minibatch), T length, C hidden, V vocab, L layers, NH query heads, NKV
// key/value heads, HD head dim, F ffn width.
typedef struct {
    char model_type[32];     // "llama" | "qwen2" | "qwen3"
    char architecture[64];   // e.g. "Qwen2ForCausalLM"
    int vocab_size;          // V
    int hidden_size;         // C
    int n_layers;            // L
    int n_heads;             // NH
    int n_kv_heads;          // NKV (divides NH)
    int head_dim;            // HD (config head_dim, else C / NH)
    int intermediate_size;   // F
    int max_position;        // max_position_embeddings
    double rope_theta;
    double rms_eps;
    int tie_embeddings;      // lm_head shares embed_tokens
    int attn_bias;           // q/k/v projections have a bias (Qwen2; Llama attention_bias)
    int qk_norm;             // per-head RMSNorm of q and k before RoPE (Qwen3)
    int bos_token_id;        // -1 if none
    int eos_token_ids[8];    // config eos_token_id (int or list)
    int n_eos;
    // Llama-3 rope_scaling (rope_type "llama3"); rope_factor 0 = none. Applied by
    // model_rope_inv_freq (model/io.h), which every RoPE table must come from.
    double rope_factor, rope_low_freq_factor, rope_high_freq_factor;
    int rope_original_max_position;
} ModelConfig;

// Views of one layer's tensors inside a flat array. Optional tensors are NULL.
typedef struct {
    float *attn_norm;   // (C)           input_layernorm
    float *wq, *bq;     // (NH*HD, C), (NH*HD)
    float *wk, *bk;     // (NKV*HD, C), (NKV*HD)
    float *wv, *bv;     // (NKV*HD, C), (NKV*HD)
    float *q_norm;      // (HD)
    float *k_norm;      // (HD)
    float *wo;          // (C, NH*HD)
    float *mlp_norm;    // (C)           post_attention_layernorm
    float *w_gate;      // (F, C)
    float *w_up;        // (F, C)
    float *w_down;      // (C, F)
} LayerView;

typedef struct {
    float *embed;       // (V, C)  model.embed_tokens.weight
    float *norm;        // (C)     model.norm.weight
    float *lm_head;     // (V, C)  lm_head.weight; == embed when tied
    LayerView layer[AHA_MAX_LAYERS];
} WeightView;

// One named tensor of the layout, in Hugging Face naming.
typedef struct {
    char name[96];      // e.g. "model.layers.3.self_attn.q_proj.weight"
    size_t offset;      // in floats from the start of the flat array
    size_t numel;
    int ndim;           // 1 or 2
    int shape[2];       // (rows, cols) as in PyTorch; shape[1] = 0 when ndim == 1
    int is_norm;        // RMSNorm weight (initialised to 1, no weight decay)
} ParamTensor;

struct Lora;   // model/lora.h

typedef struct {
    ModelConfig cfg;
    int n_tensors;
    ParamTensor *tensors;   // (n_tensors) in layout order
    size_t n_params;        // floats in the flat array
    Arena arena;            // owns params and grads
    float *params;          // (n_params)
    float *grads;           // (n_params) or NULL when not training
    WeightView w;           // views into params
    WeightView g;           // views into grads (all NULL when grads == NULL)
    // bf16 precision: the matmuls take this bf16 copy of params (same layout)
    // and bf16-rounded activations, accumulating in fp32; NULL in fp32.
    uint16_t *w16;          // (n_params) or NULL
    int w16_stale;          // params changed since w16 was made (model_sync_bf16)
    // A frozen model held in bf16 only (model_create_bf16): its matrices live
    // in w16 alone and params backs only the 1-D tensors (norms, biases, in
    // fp32); the matrices' fp32 views are address space never touched, so
    // nothing may read them (model_embed_row reads the embedding).
    int bf16_only;
    // bf16_only: where each tensor's bf16 data lives (n_tensors): in w16, or,
    // for a BF16 matrix of a memory-mapped file, in the file itself (zero
    // copy). maps holds those files open until model_free.
    uint16_t **w16_at;
    struct SafeFile *maps;
    int n_maps;
    // Adapters the forwards add (model/lora.h), or NULL. Not owned. With them
    // the base may be frozen (grads NULL): backward then trains only them.
    struct Lora *lora;
} Model;

// What the matmuls of forward, backward and decode take. Norms, softmax,
// losses, log-probs, master weights and optimizer state are fp32 in both.
typedef enum {
    PRECISION_FP32 = 0,
    PRECISION_BF16 = 1,
} Precision;
// The precision model_create gives new models (a process setting, as the
// thread count is). Returns -1 (err_set) for bf16 in a build without oneDNN.
int model_precision_set(Precision p);
Precision model_precision_get(void);
// Switch m to p: allocates (bf16) or frees (fp32) the bf16 copy. Returns 0 or -1.
int model_set_precision(Model *m, Precision p);
// Whoever writes m->params sets m->w16_stale; forward and decode call this,
// which rounds params into w16 once when stale (a no-op in fp32).
void model_sync_bf16(Model *m);
// Give m's bf16 copy back to the system until the next model_sync_bf16
// rounds it again (a trained model between its updates: the sampler packs
// from the fp32 weights, so the copy is dead while it samples).
void model_drop_bf16(Model *m);

// A frozen model (no gradients) for configuration cfg held in bf16 only, all
// zero; a build without the bf16 matmuls refuses it. Returns 0 or -1 (err_set).
int model_create_bf16(Model *m, const ModelConfig *cfg);
// dst (bf16 only, same configuration) = src: matrices rounded to bf16 as
// model_sync_bf16 rounds them, 1-D tensors copied.
void model_copy_bf16(Model *dst, const Model *src);
// The bf16 data of m from float offset o (within one tensor): w16 + o, or,
// for a model held in bf16 only, wherever that tensor lives.
const uint16_t *model_w16(const Model *m, size_t o);
// Row id of the embedding (C floats) into out, from fp32 or bf16.
void model_embed_row(const Model *m, int id, float *out);
// Bytes a model of n_params floats holds: fp32 params, plus the bf16 copy in
// bf16; bf16_only: the matrices in bf16 and small_floats (1-D tensors) fp32.
size_t model_weight_bytes(const ModelConfig *cfg, Precision p, int bf16_only);

// The layout of a configuration: fills up to `cap` tensors (tensors may be NULL
// to count), returns the number of tensors and stores the float count in
// *n_params. Returns -1 (err_set) for an unusable configuration.
int model_layout(const ModelConfig *cfg, ParamTensor *tensors, int cap, size_t *n_params);
// Point every view of w into `base` laid out as model_layout says.
void model_view(WeightView *w, const ModelConfig *cfg, float *base);
// Find a tensor by Hugging Face name, or NULL.
const ParamTensor *model_find_tensor(const Model *m, const char *name);
// Check a configuration's numbers (positive sizes, NKV divides NH, ...).
int model_config_check(const ModelConfig *cfg);

// Allocate parameters (zeroed) and, if with_grads, gradients. Returns 0 or -1.
int model_create(Model *m, const ModelConfig *cfg, int with_grads);
void model_free(Model *m);
// Normal(0, std) weights, ones for RMSNorm weights, zero biases; seeded.
void model_init_random(Model *m, uint64_t seed, float std);
void model_zero_grad(Model *m);

#endif
