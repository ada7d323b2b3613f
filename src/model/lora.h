// LoRA adapters on the decoder's linear layers (Hu et al. 2021, in PEFT's
// layout): y = W·x + (alpha / r) · B·A·dropout(x), the base W frozen, A (r, in)
// and B (out, r) trained in float32. Adapters save and load as PEFT's
// adapter_config.json + adapter_model.safetensors. It trains no biases and
// refuses targets, ranks and files it cannot reproduce exactly.
#ifndef AHA_MODEL_LORA_H
#define AHA_MODEL_LORA_H

#include <stddef.h>
#include <stdint.h>

#include "base/options.h"
#include "model/model.h"

// The linear layers an adapter can sit on (PEFT's target_modules names).
typedef enum { LORA_Q = 0, LORA_K, LORA_V, LORA_O, LORA_GATE, LORA_UP, LORA_DOWN, LORA_N_TARGETS } LoraTarget;

#define LORA_MAX_R 1024

// The command-line settings (an OPT_GROUP in the trainers' tables). r 0: no LoRA.
typedef struct {
    int lora_r;
    double lora_alpha;
    double lora_dropout;
    char lora_targets[160];   // "q,k,v,o,gate,up,down", PEFT names (q_proj, ...) or all-linear
} LoraOpts;

extern const OptDef lora_options[];
// r 0 (off), alpha 32, dropout 0, every linear layer of the decoder.
#define LORA_OPTS_DEFAULT {.lora_r = 0, .lora_alpha = 32, .lora_dropout = 0, .lora_targets = "q,k,v,o,gate,up,down"}

typedef struct Lora {
    int r;
    double alpha, dropout;        // as adapter_config.json gives them
    float scale;                  // alpha / r
    unsigned targets;             // bit LORA_* set when targeted
    char base_model[1024];        // base_model_name_or_path
    // The adapters as a parameter set with PEFT tensor names, so AdamW, its
    // state file and gradient clipping run on it exactly as on a model.
    Model ad;
    float *A[AHA_MAX_LAYERS][LORA_N_TARGETS];    // (r, in) into ad.params, NULL when not targeted
    float *B[AHA_MAX_LAYERS][LORA_N_TARGETS];    // (out, r)
    float *dA[AHA_MAX_LAYERS][LORA_N_TARGETS];   // into ad.grads (NULL without gradients)
    float *dB[AHA_MAX_LAYERS][LORA_N_TARGETS];
    int off;                      // 1: adapters switched off (the base model: the reference)
    int train;                    // 1: dropout active (trainers set it around training forwards)
    uint64_t seed;                // dropout masks: keyed by (seed, tick, layer, target, token, feature)
    uint64_t ticks;               // training forwards so far
} Lora;

// Parse a target list ("q,k,v", "q_proj,v_proj", "all-linear") into a bit set.
// Returns 0 or -1 (err_set naming the unknown name).
int lora_targets_parse(const char *list, unsigned *targets);
// Comma-separated PEFT names of a bit set ("q_proj,v_proj") into out.
void lora_targets_names(unsigned targets, char *out, size_t cap);
// Input and output width of target t's linear layer in configuration c.
void lora_dims(const ModelConfig *c, int t, int *in, int *out);
// Floats of adapters of rank r on the targets of configuration c.
size_t lora_param_count(const ModelConfig *c, int r, unsigned targets);

// Adapters for configuration c: A and B zeroed, gradients when with_grads.
// Returns 0 or -1 (err_set).
int lora_create(Lora *lo, const ModelConfig *c, int r, double alpha, double dropout, unsigned targets, int with_grads);
void lora_free(Lora *lo);
// PEFT's initialisation: A ~ U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with
// a = sqrt(5)), B = 0, so the adapted model starts equal to its base.
void lora_init_random(Lora *lo, uint64_t seed);
// Create adapters from settings (o->lora_r > 0) on base configuration c:
// a fresh start seeded by seed, or when adapter_dir is given, the adapters of
// that directory (whose r, alpha and targets must match o). 0 or -1.
int lora_open(Lora *lo, const LoraOpts *o, const ModelConfig *c, const char *base_dir, const char *adapter_dir,
              uint64_t seed, int with_grads);

// Write adapter_config.json and adapter_model.safetensors (F32, PEFT tensor
// names) into dir, creating it. Returns 0 or -1.
int lora_save(const Lora *lo, const char *dir);
// Read the adapters of dir for base configuration c. Refuses other peft_type,
// bias, fan_in_fan_out, rank patterns, unknown modules, missing or misshapen
// tensors. Returns 0 or -1 (nothing to free).
int lora_load(Lora *lo, const ModelConfig *c, const char *dir, int with_grads);
// Load the adapters of adapter_dir for m and attach them (m->lora = lo); an
// empty adapter_dir leaves lo zeroed and m without adapters. lora_free(lo)
// afterwards either way. Returns 0 or -1.
int lora_attach(Model *m, Lora *lo, const char *adapter_dir);
// W += scale · B·A for every adapter: the merged model computes what base and
// adapters computed. Returns 0 or -1 when the shapes differ.
int lora_merge(Model *m, const Lora *lo);

// Whether adapter t of layer l takes part in a forward.
static inline int lora_active(const Lora *lo, int l, int t) { return lo && !lo->off && lo->A[l][t]; }

// Training forward of adapter (l, t) over N rows: u (N, r) = dropout(x) · Aᵀ,
// y (N, out) += scale · u · Bᵀ. xd (N, in) is scratch, used when dropout is on.
// tick keys the dropout mask (the forward's number).
void lora_forward(const Lora *lo, int l, int t, float *y, float *u, const float *x, float *xd, int N, uint64_t tick);
// Its backward from dy (N, out), in two halves so a caller can run the second
// once x is at hand: lora_backward_dx gives du (N, r) = scale · dy·B,
// dB += scale · dyᵀ·u and dx (N, in) += (du·A) ⊙ mask/(1−p); lora_backward_da
// gives dA += duᵀ · dropout(x). xd (N, in) scratch.
void lora_backward_dx(Lora *lo, int l, int t, float *dx, float *du, const float *dy, const float *u, float *xd, int N,
                      uint64_t tick);
void lora_backward_da(Lora *lo, int l, int t, const float *du, const float *x, float *xd, int N, uint64_t tick);
// Decode (no dropout, any thread): y (n, out) += scale · B·A·x for n rows, row by row.
void lora_rows(const Lora *lo, int l, int t, float *y, const float *x, int n);

#endif
