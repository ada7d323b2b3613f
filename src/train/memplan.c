// Memory plans of the trainers: every large allocation of a run, sized by the
// same functions that size it for real (model_acts_bytes, sampler_bytes,
// lora_param_count), summed and compared with MemAvailable.
#include "train/memplan.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/sys.h"
#include "gen/sampler.h"
#include "model/forward.h"
#include "rl/loss.h"

// Code, the tokenizer and its caches, logs, small buffers.
#define FIXED_BYTES ((size_t)256 << 20)

static size_t n_params_of(const ModelConfig *m) {
    size_t n = 0;
    return model_layout(m, NULL, 0, &n) < 0 ? 0 : n;
}

// Weights, gradients, moments and adapters of full fine-tuning or LoRA. In
// bf16 a trained model holds a bf16 copy beside its fp32 weights, and LoRA's
// frozen base is held in bf16 only.
static int plan_params(MemPlan *p, const ModelConfig *m, const LoraOpts *lora, OptimKind optim) {
    size_t n = 0, f = sizeof(float);
    int n_tensors = model_layout(m, NULL, 0, &n);
    if (n_tensors < 0 || n == 0) return -1;
    Precision prec = model_precision_get();
    p->weights = model_weight_bytes(m, prec, lora->lora_r > 0 && prec == PRECISION_BF16);
    if (lora->lora_r > 0) {
        unsigned targets;
        if (lora_targets_parse(lora->lora_targets, &targets) != 0) return -1;
        size_t a = lora_param_count(m, lora->lora_r, targets);
        p->adapters = 2 * a * f;
        p->optimizer = adamw_state_bytes(optim, a, 14 * m->n_layers);   // at most 7 targets x (A, B)
    } else {
        p->grads = n * f;
        p->optimizer = adamw_state_bytes(optim, n, n_tensors);
    }
    p->fixed = FIXED_BYTES;
    return 0;
}

int memplan_grpo(MemPlan *p, const GrpoConfig *c, const ModelConfig *m) {
    memset(p, 0, sizeof *p);
    if (plan_params(p, m, &c->lora, (OptimKind)c->optim) != 0) return -1;
    int lora = c->lora.lora_r > 0, rows = c->prompts_per_step * c->group_size, max_new = c->sample.max_new_tokens;
    int prompt = c->max_prompt_tokens;
    if (prompt == 0) {
        int room = m->max_position - max_new;
        prompt = room < 512 ? room : 512;
    }
    if (prompt < 1) prompt = 1;
    int mb = rows / (c->minibatches > 0 ? c->minibatches : 1);
    p->rows = c->micro_batch_rows > 0 && c->micro_batch_rows < mb ? c->micro_batch_rows : mb;
    p->T = prompt + max_new;
    Precision prec = model_precision_get();
    if (c->beta > 0 && !lora) p->reference = model_weight_bytes(m, prec, prec == PRECISION_BF16 && c->ref_mix_every == 0);
    if (c->adv_estimator == ADV_ESTIMATOR_GAE) p->critic = 4 * n_params_of(m) * sizeof(float);
    p->activations = model_acts_bytes(m, p->rows, p->T, c->gradient_checkpointing, c->lora.lora_r, lora && c->lora.lora_dropout > 0);
    p->sampler = sampler_bytes(m, rows, p->T);
    // While it samples, the activations and a trained policy's bf16 copy are
    // given back; while it trains, the sampler's packed weights.
    size_t packed = sampler_packed_bytes(m), training = p->activations;
    if (prec == PRECISION_BF16 && !lora) training += n_params_of(m) * sizeof(uint16_t);
    p->apart = packed < training ? packed : training;
    return 0;
}

void memplan_sft(MemPlan *p, const ModelConfig *m, const LoraOpts *lora, OptimKind optim, int rows, int T,
                 int recompute, int accumulate) {
    memset(p, 0, sizeof *p);
    if (plan_params(p, m, lora, optim) != 0) return;
    p->rows = rows;
    p->T = T;
    p->activations = model_acts_bytes(m, rows, T, recompute, lora->lora_r, lora->lora_r > 0 && lora->lora_dropout > 0);
    if (accumulate) p->accumulate = 2 * (lora->lora_r > 0 ? p->adapters / 2 : p->grads);
}

size_t memplan_total(const MemPlan *p) {
    return p->weights + p->grads + p->optimizer + p->adapters + p->reference + p->critic + p->activations + p->sampler +
           p->accumulate + p->fixed - p->apart;
}

int memplan_apart_needed(const MemPlan *p) {
    size_t have = mem_available_bytes();
    return have > 0 && (double)(memplan_total(p) + p->apart) > 0.9 * (double)have;
}

static double gib(size_t b) { return (double)b / (double)(1 << 30); }

int memplan_check(const MemPlan *p, const char *hint) {
    size_t need = memplan_total(p), have = mem_available_bytes();
    if (have == 0 || need <= have) return 0;
    char parts[1024];
    size_t n = 0;
    struct {
        const char *name;
        size_t bytes;
        int shape;   // followed by the micro-batch's rows x tokens
    } items[] = {{"weights", p->weights, 0},       {"gradients", p->grads, 0},       {"AdamW moments", p->optimizer, 0},
                 {"LoRA adapters", p->adapters, 0}, {"reference model", p->reference, 0}, {"critic", p->critic, 0},
                 {"activations", p->activations, 1}, {"sampler", p->sampler, 0},   {"gradient sum", p->accumulate, 0},
                 {"other", p->fixed, 0}};
    for (size_t i = 0; i < sizeof items / sizeof *items; i++) {
        if (!items[i].bytes) continue;
        n += (size_t)snprintf(parts + n, n < sizeof parts ? sizeof parts - n : 0, "%s%s %.2f", n ? ", " : "",
                              items[i].name, gib(items[i].bytes));
        if (items[i].shape && p->rows > 0 && n < sizeof parts)
            n += (size_t)snprintf(parts + n, sizeof parts - n, " (%d rows x %d tokens)", p->rows, p->T);
    }
    if (p->apart && n < sizeof parts)
        snprintf(parts + n, sizeof parts - n, ", less %.2f of training memory and packed sampler weights never held at once",
                 gib(p->apart));
    return err_set("this run needs about %.2f GiB (%s) but the machine has %.2f GiB available (MemAvailable in "
                   "/proc/meminfo); %s",
                   gib(need), parts, gib(have), hint);
}
