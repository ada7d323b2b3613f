// The memory a training run will hold, worked out from the model's
// config.json and the run's settings before anything is loaded, and checked
// against what the machine has (MemAvailable), so a size that cannot fit is
// refused up front with the reason instead of being killed halfway. It
// estimates; it allocates nothing.
#ifndef AHA_TRAIN_MEMPLAN_H
#define AHA_TRAIN_MEMPLAN_H

#include <stddef.h>

#include "model/adamw.h"
#include "model/lora.h"
#include "model/model.h"
#include "train/grpo.h"

typedef struct {
    size_t weights;       // the model's parameters (float32, a bf16 copy in bf16; LoRA's base in bf16 only in bf16)
    size_t grads;         // their gradients (full fine-tuning only)
    size_t optimizer;     // AdamW moments of what is trained
    size_t adapters;      // LoRA adapters and their gradients
    size_t reference;     // a second copy of the weights (full fine-tuning with a KL term; bf16 only in bf16)
    size_t critic;        // PPO critic: weights, gradients, moments
    size_t activations;   // training forward and backward of one micro-batch
    size_t sampler;       // KV cache, decode scratch and packed weight panels
    size_t accumulate;    // a float64 gradient sum (micro-batches, ranks)
    size_t fixed;         // code, tokenizer, buffers
    size_t apart;         // not resident at once: the smaller of the activations and the
                          // sampler's packed weights (each given back while the other works)
    int rows, T;          // the micro-batch the activations are sized for
} MemPlan;

// Plans take the process precision (model_precision_set) as the run will.
// The plan of aha grpo with settings c on model configuration m. 0 or -1.
int memplan_grpo(MemPlan *p, const GrpoConfig *c, const ModelConfig *m);
// The plan of aha sft: micro-batches of rows x T, lora->lora_r > 0 for
// adapters, optim the optimizer state, recompute for gradient checkpointing,
// accumulate when gradients are summed in float64.
void memplan_sft(MemPlan *p, const ModelConfig *m, const LoraOpts *lora, OptimKind optim, int rows, int T,
                 int recompute, int accumulate);
// What the plan holds at its peak: everything, less apart (0 when the phases
// are held together).
size_t memplan_total(const MemPlan *p);
// 1 when the phases must take turns: holding both (memplan_total + apart)
// would take more than 90% of MemAvailable. 0 when that fits, or when
// MemAvailable is unknown.
int memplan_apart_needed(const MemPlan *p);
// 0 when the plan fits in MemAvailable (or that is unknown); else -1 after
// err_set saying what the run needs, part by part, against what the machine
// has, and what to change (hint).
int memplan_check(const MemPlan *p, const char *hint);

#endif
