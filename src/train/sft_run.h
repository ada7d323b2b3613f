// aha sft: supervised fine-tuning of a model directory on a JSONL dataset
// (train/sft_data.h shapes) with the SFT loop, a held-out split scored by
// eval_loss, and a run directory: config.json (the settings), metrics.jsonl
// (TRL's names), checkpoints/step_N/ every save_steps updates and model/
// (the fine-tuned model with its tokenizer; with LoRA the merged model, and
// adapter/ the adapters in PEFT's format). --resume continues a run from its
// newest checkpoint bit for bit.
#ifndef AHA_TRAIN_SFT_RUN_H
#define AHA_TRAIN_SFT_RUN_H

#include "base/options.h"
#include "model/lora.h"

typedef struct {
    char model[512], dataset[512], out[512];
    char template_name[32];   // for prompts of prompt/completion rows
    int completion_only;      // loss on completion / assistant tokens only (else every token)
    int skip_long;            // drop rows longer than the context instead of refusing
    double epochs;
    int max_steps;            // 0: from epochs
    int batch, micro_batch;   // rows per update; rows per forward (0: batch)
    int batch_tokens;         // token budget of an update (0: batch rows only)
    double lr, min_lr_ratio, weight_decay;
    int optim;                // OptimKind
    int warmup;
    double eval_ratio;        // share of rows held out for eval_loss
    int eval_every, log_every, seed, threads, precision;
    int bf16;                 // save the weights as bf16
    int save_steps;           // updates between checkpoints (0: none)
    int save_total_limit;     // keep the newest N checkpoints (0: all)
    int resume;               // continue OUT from its newest checkpoint (the settings must be OUT's)
    int exact_completion;     // not an option: completions are another model's text (distill)
    LoraOpts lora;            // lora_r > 0: train adapters on the frozen model; OUT/adapter holds them
    int gradient_checkpointing;   // keep each layer's input only; recompute the layer in the backward
} SftRunConfig;

extern const OptDef sft_run_options[];
void sft_run_defaults(void *c);   // c: the settings struct (void *: the command table calls it)
// Everything is checked (model, tokenizer, every row, the split) before OUT is
// created, so a refused start leaves nothing behind; a new run into a directory
// holding metrics or checkpoints is refused. Returns 0 or -1 (err_set).
int sft_run(const SftRunConfig *c);

#endif
