// aha pretrain: corpus -> byte-level BPE tokenizer -> a tiny llama-style base
// model trained from scratch with the SFT loop -> a Hugging Face model
// directory with its training log. It does no RL and reads no outside data.
#ifndef AHA_TRAIN_PRETRAIN_H
#define AHA_TRAIN_PRETRAIN_H

#include "base/options.h"

typedef struct {
    char out[512];          // model directory to write
    char corpus[512];       // existing corpus JSONL, or "" to generate one
    char init[512];         // continue from this model directory (its tokenizer too), or "" for scratch
    int keep_corpus;        // keep the generated corpus as OUT/corpus.jsonl
    // Corpus (when generated).
    char task[32];          // corpus task (sum, arithmetic)
    int docs, corpus_seed;
    double p_hasty, p_careful, p_check;
    double p_d1, p_d2, p_d3, p_d4, p_d5;
    double p_zh, p_switch;   // sum: Chinese and code-switched solutions
    // Tokenizer and model.
    int vocab, dim, layers, heads, kv_heads, ffn, context;
    // Optimisation.
    int steps, batch, micro_batch;   // micro_batch: documents per forward/backward (0: batch)
    double lr, min_lr_ratio, weight_decay;
    int optim;                // OptimKind
    int warmup, seed, threads, precision;
    int bf16;               // save weights as bf16
} PretrainConfig;

extern const OptDef pretrain_options[];
void pretrain_defaults(void *c);   // c: the settings struct (void *: the command table calls it)
// Run everything and write c->out: config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json, pretrain.json (settings and results), train_log.jsonl.
// Returns 0 or -1 (err_set).
int pretrain_run(const PretrainConfig *c);

#endif
