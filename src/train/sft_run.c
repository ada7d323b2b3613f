// aha sft end to end: load, read and split the dataset, train, save.
#include "train/sft_run.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "base/sys.h"
#include "model/adamw.h"
#include "model/io.h"
#include "model/lora.h"
#include "rollout/rollout.h"
#include "report/html.h"
#include "tok/template.h"
#include "train/checkpoint.h"
#include "train/memplan.h"
#include "train/rundir.h"
#include "train/sft.h"
#include "train/sft_data.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(x) offsetof(SftRunConfig, x)
#define S(x) F(x), sizeof(((SftRunConfig *)0)->x)
const OptDef sft_run_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "model directory to fine-tune (with its tokenizer)", NULL, NULL, OPT_REQUIRED},
    {"dataset", OPT_STRING, S(dataset), 0, 0, NULL, "JSONL rows {prompt, completion}, {messages} or {text}", NULL, NULL, OPT_REQUIRED},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "run directory to write (must not hold a run)", NULL, NULL, OPT_REQUIRED},
    {"template", OPT_STRING, S(template_name), 0, 0, NULL, "template of prompts (r1zero, chatml, raw, qwen2.5, qwen3, model); messages: chatml unless a chat template (qwen2.5, qwen3, model)", NULL, NULL, 0},
    {"completion_only", OPT_BOOL, F(completion_only), 0, 0, 1, NULL, "loss on completion and assistant tokens only (false: every token)", NULL, NULL, 0},
    {"skip_long", OPT_BOOL, F(skip_long), 0, 0, 1, NULL, "drop and count rows longer than the model's context instead of refusing the dataset", NULL, NULL, 0},
    {"epochs", OPT_DOUBLE, F(epochs), 0, 0.001, 100000, NULL, "passes over the training rows", NULL, NULL, 0},
    {"max_steps", OPT_INT, F(max_steps), 0, 0, 10000000, NULL, "optimizer updates (0: from epochs)", NULL, NULL, 0},
    {"batch", OPT_INT, F(batch), 0, 1, 4096, NULL, "rows per update (at most, with --batch-tokens)", NULL, NULL, 0},
    {"batch_tokens", OPT_INT, F(batch_tokens), 0, 0, 100000000, NULL, "token budget of an update: it stops before the row that would pass it (0: --batch rows)", NULL, NULL, 0},
    {"micro_batch", OPT_INT, F(micro_batch), 0, 0, 4096, NULL, "rows per forward/backward, gradients accumulated (0: batch)", NULL, NULL, 0},
    {"lr", OPT_DOUBLE, F(lr), 0, 0, 10, NULL, "peak learning rate (cosine decay after warmup)", NULL, NULL, 0},
    {"min_lr_ratio", OPT_DOUBLE, F(min_lr_ratio), 0, 0, 1, NULL, "final lr / lr", NULL, NULL, 0},
    {"optim", OPT_ENUM, F(optim), 0, 0, 0, OPTIM_CHOICES, "optimizer state: adamw (fp32 moments) or adamw_8bit (blockwise 8-bit moments, a quarter of the memory)", NULL, NULL, 0},
    {"weight_decay", OPT_DOUBLE, F(weight_decay), 0, 0, 10, NULL, "AdamW weight decay", NULL, NULL, 0},
    {"warmup", OPT_INT, F(warmup), 0, 0, 10000000, NULL, "warmup updates", NULL, NULL, 0},
    {"eval_ratio", OPT_DOUBLE, F(eval_ratio), 0, 0, 0.9, NULL, "share of rows held out for eval_loss (0: none)", NULL, NULL, 0},
    {"eval_every", OPT_INT, F(eval_every), 0, 0, 10000000, NULL, "updates between evaluations (0: only at the end)", NULL, NULL, 0},
    {"log_every", OPT_INT, F(log_every), 0, 1, 10000000, NULL, "updates per metrics.jsonl line", NULL, NULL, 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "split and order seed", NULL, NULL, 0},
    {"threads", OPT_INT, F(threads), 0, 0, 1024, NULL, "threads (0: all cores)", NULL, NULL, 0},
    OPT_GROUP_ENTRY(SftRunConfig, precision, precision_options),
    {"bf16", OPT_BOOL, F(bf16), 0, 0, 1, NULL, "save the weights as bf16", NULL, NULL, 0},
    {"save_steps", OPT_INT, F(save_steps), 0, 0, 10000000, NULL, "updates between checkpoints in OUT/checkpoints (0: none)", NULL, NULL, 0},
    {"save_total_limit", OPT_INT, F(save_total_limit), 0, 0, 10000000, NULL, "keep the newest N checkpoints (0: all)", NULL, NULL, 0},
    OPT_GROUP_ENTRY(SftRunConfig, lora, lora_options),
    {"gradient_checkpointing", OPT_BOOL, F(gradient_checkpointing), 0, 0, 1, NULL,
     "keep only each layer's input and recompute the layer in the backward (less memory, about one more forward)",
     NULL, NULL, 0},
    {"resume", OPT_BOOL, F(resume), 0, 0, 1, NULL, "continue the run in --out from its newest checkpoint, bit for bit (same settings)", NULL, NULL, OPT_ARGV_ONLY},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static const SftRunConfig sft_run_default = {
    .template_name = "raw", .completion_only = 1, .epochs = 3, .batch = 8, .lr = 1e-4, .min_lr_ratio = 0.1,
    .warmup = 5, .eval_ratio = 0.1, .eval_every = 50, .log_every = 10, .seed = 1, .lora = LORA_OPTS_DEFAULT};

void sft_run_defaults(void *c) { *(SftRunConfig *)c = sft_run_default; }

// The rows split into training and held-out examples (sharing the data's ids).
typedef struct {
    SftExample *train, *eval;
    int n_train, n_eval;
} Split;

static int split_rows(Split *s, const SftData *d, const SftRunConfig *c) {
    int *order = malloc(sizeof(int) * (size_t)d->n);
    s->train = malloc(sizeof(SftExample) * (size_t)d->n);
    if (!order || !s->train) {
        free(order);
        return err_set("out of memory");
    }
    int n_eval = sft_split(order, d->n, c->eval_ratio, (uint64_t)c->seed), n_train = d->n - n_eval;
    s->n_train = n_train, s->n_eval = n_eval, s->eval = s->train + n_train;
    for (int i = 0; i < d->n; i++) s->train[i] = d->ex[order[i]];
    free(order);
    if (n_train < c->batch && c->batch_tokens == 0)
        return err_set("%s: %d training rows (%d of %d held out for eval), fewer than a batch of %d", c->dataset,
                       n_train, n_eval, d->n, c->batch);
    return 0;
}

// The EOS appended to every row: the tokenizer's, else the model's first.
static int find_eos(const Tokenizer *tok, const ModelConfig *mc, const char *dir) {
    int eos = tok_eos_id(tok);
    if (eos < 0 && mc->n_eos > 0) eos = mc->eos_token_ids[0];
    if (eos < 0) err_set("%s: neither tokenizer_config.json nor config.json names an EOS token", dir);
    return eos;
}

static int write_settings(const SftRunConfig *c) {
    cJSON *o = opt_to_json(c, sft_run_options);
    int rc = o ? json_write_file(o, c->out, "config.json") : err_set("out of memory");
    cJSON_Delete(o);
    return rc;
}

// Train on the split (from checkpoint ckpt when not "") and write the run directory.
static int train_and_save(const SftRunConfig *c, Model *m, const Split *s, const char *ckpt) {
    char logpath[4096], dir[4096], ckdir[4096];
    if (path_join(logpath, sizeof logpath, c->out, "metrics.jsonl") != 0 ||
        path_join(dir, sizeof dir, c->out, "model") != 0 || path_join(ckdir, sizeof ckdir, c->out, "checkpoints") != 0)
        return -1;
    SftConfig sc;
    sft_defaults(&sc);
    sc.batch_rows = c->batch, sc.micro_rows = c->micro_batch;
    sc.batch_tokens = c->batch_tokens, sc.seed = (uint64_t)c->seed;
    long updates = c->max_steps ? c->max_steps : sft_updates_for(s->train, s->n_train, &sc, c->epochs);
    if (updates < 0) return -1;
    if (updates > 100000000) return err_set("%s: %ld updates; raise --batch-tokens or lower --epochs", c->dataset, updates);
    sc.steps = (int)updates;
    sc.lr = c->lr, sc.min_lr_ratio = c->min_lr_ratio, sc.weight_decay = c->weight_decay, sc.warmup_steps = c->warmup;
    sc.optim = c->optim;
    sc.prompt_loss = !c->completion_only;
    sc.log_path = logpath, sc.log_every = c->log_every, sc.progress = stderr, sc.label = "sft";
    sc.eval = s->eval, sc.n_eval = s->n_eval, sc.eval_every = c->eval_every;
    sc.ckpt_dir = ckdir, sc.save_every = c->save_steps, sc.save_total_limit = c->save_total_limit;
    sc.tokenizer_dir = c->model;
    sc.gradient_checkpointing = c->gradient_checkpointing;
    sc.resume_from = ckpt[0] ? ckpt : NULL;
    SftResult res;
    // Under MPI every rank trains; rank 0 writes the run directory.
    int lead = dist_rank() == 0;
    if (lead && (mkdir_p(c->out) != 0 || (!ckpt[0] && write_settings(c) != 0))) return -1;
    if (sft_train(m, s->train, s->n_train, &sc, &res) != 0) return -1;
    if (!lead) return 0;
    if (m->lora) {
        // the adapters as PEFT writes them, then the model with them merged in
        char adir[4096];
        if (path_join(adir, sizeof adir, c->out, "adapter") != 0 || lora_save(m->lora, adir) != 0 ||
            copy_tokenizer(c->model, adir) != 0)
            return -1;
        if (m->bf16_only) {
            // merged in fp32, as aha merge does: the base again in full precision, in place of the bf16 one
            Lora *lo = m->lora;
            model_free(m);
            if (model_load(m, c->model, 0) != 0) return err_wrap("the base model for the merge");
            m->lora = lo;
        }
        if (lora_merge(m, m->lora) != 0) return -1;
    }
    if (model_save(m, dir, c->bf16 ? ST_BF16 : ST_F32) != 0 || copy_tokenizer(c->model, dir) != 0) return -1;
    if (report_write(c->out, NULL) != 0) return err_wrap("report");
    char eval[48] = "";
    if (s->n_eval) snprintf(eval, sizeof eval, ", eval_loss %.4f", res.eval_loss);
    log_info("sft: %d updates, loss %.4f -> %.4f%s in %.0f s (%ld target tokens); wrote %s", sc.steps, res.first_loss,
             res.last_loss, eval, res.seconds, res.tokens, dir);
    log_info("sft: peak resident memory %.2f GiB", (double)peak_rss_bytes() / (1 << 30));
    return 0;
}

// Refuse a run that cannot fit before the weights are loaded.
static int check_memory(const SftRunConfig *c, const ModelConfig *mc, const SftData *d) {
    int T = 1;
    for (int i = 0; i < d->n; i++) T = d->ex[i].len > T ? d->ex[i].len : T;
    int micro = c->micro_batch > 0 && c->micro_batch < c->batch ? c->micro_batch : c->batch;
    MemPlan p;
    memplan_sft(&p, mc, &c->lora, (OptimKind)c->optim, micro, T, c->gradient_checkpointing,
                micro < c->batch || c->batch_tokens > 0 || dist_size() > 1);
    return memplan_check(&p, c->lora.lora_r > 0 ? "try a smaller --micro-batch"
                                                : "try --lora-r 16 (a frozen base: no gradients or moments) or a "
                                                  "smaller --micro-batch");
}

int sft_run(const SftRunConfig *c) {
    char ckpt[4096];
    if (template_check(c->template_name) != 0) return err_wrap("template");
    // Every rank looks at OUT before rank 0 writes into it.
    static const RunSettings rs = {sft_run_options, sft_run_defaults, sizeof(SftRunConfig)};
    if (rundir_find_start(c->out, c->resume, c, &rs, ckpt, sizeof ckpt) != 0 || dist_barrier() != 0) return -1;
    threads_set(c->threads);
    if (model_precision_set(c->precision) != 0) return -1;
    Tokenizer *tok = tok_load(c->model);
    if (!tok) return -1;
    const char *where, *chat = tok_chat_template(tok, &where);
    Template t;
    if (template_open(&t, c->template_name, chat, where) != 0) {
        tok_free(tok);
        return err_wrap("template");
    }
    Model m = {0};
    Lora lo = {0};
    SftData d = {0};
    Split s = {0};
    ModelConfig mc;
    int rc = -1, eos, lora = c->lora.lora_r > 0;
    if (model_config_load(&mc, c->model) != 0 || (eos = find_eos(tok, &mc, c->model)) < 0) goto done;
    SftDataOpts o = {.tok = tok, .template_name = c->template_name, .eos = eos, .max_len = mc.max_position,
                     .skip_long = c->skip_long, .exact_completion = c->exact_completion};
    if (sft_data_load(&d, c->dataset, &o) != 0 || split_rows(&s, &d, c) != 0) goto done;
    if (check_memory(c, &mc, &d) != 0) goto done;
    // With LoRA the model is the frozen base (no gradients) and a checkpoint holds only the adapters.
    if ((lora ? model_load_frozen(&m, c->model) : model_load(&m, ckpt[0] ? ckpt : c->model, 1)) != 0) goto done;
    if (lora) {
        if (lora_open(&lo, &c->lora, &m.cfg, c->model, ckpt[0] ? ckpt : NULL, (uint64_t)c->seed, 1) != 0) {
            err_wrap("LoRA adapters");
            goto done;
        }
        m.lora = &lo;
    }
    log_info("sft: %d rows (%ld tokens), %d for training, %d held out, %ld skipped as too long", d.n, d.tokens,
             s.n_train, s.n_eval, d.skipped_long);
    if (ckpt[0]) log_info("sft: resuming from %s", ckpt);
    rc = train_and_save(c, &m, &s, ckpt);
done:
    free(s.train);
    sft_data_free(&d);
    if (m.params) model_free(&m);
    lora_free(&lo);
    tok_free(tok);
    return rc;
}
