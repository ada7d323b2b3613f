// Pretraining a tiny base model from scratch on the generated corpus: BPE
// tokenizer, llama-style config, the SFT loop over prompt + completion + EOS.
#include "train/pretrain.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "base/sys.h"
#include "model/adamw.h"
#include "model/io.h"
#include "rollout/rollout.h"
#include "model/presets.h"
#include "tok/tokenizer.h"
#include "train/corpus.h"
#include "train/sft.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F(x) offsetof(PretrainConfig, x)
#define S(x) F(x), sizeof(((PretrainConfig *)0)->x)
const OptDef pretrain_options[] = {
    {"out", OPT_STRING, S(out), 0, 0, NULL, "model directory to write", NULL, NULL, OPT_REQUIRED},
    {"corpus", OPT_STRING, S(corpus), 0, 0, NULL, "corpus JSONL from aha corpus (default: generate one)", NULL, NULL, 0},
    {"init", OPT_STRING, S(init), 0, 0, NULL, "continue training this model directory (keeps its tokenizer and shape)", NULL, NULL, 0},
    {"keep_corpus", OPT_BOOL, F(keep_corpus), 0, 0, 1, NULL, "keep the generated corpus as OUT/corpus.jsonl", NULL, NULL, 0},
    {"task", OPT_STRING, S(task), 0, 0, NULL, "corpus task (sum or arithmetic)", NULL, NULL, 0},
    {"docs", OPT_INT, F(docs), 0, 1, 10000000, NULL, "documents in the generated corpus", NULL, NULL, 0},
    {"corpus_seed", OPT_INT, F(corpus_seed), 0, 0, 2147483647, NULL, "problem seed of the corpus (train split)", NULL, NULL, 0},
    {"p_hasty", OPT_DOUBLE, F(p_hasty), 0, 0, 1, NULL, "share of hasty solutions (rounded estimate)", NULL, NULL, 0},
    {"p_careful", OPT_DOUBLE, F(p_careful), 0, 0, 1, NULL, "share of careful solutions (columns)", NULL, NULL, 0},
    {"p_check", OPT_DOUBLE, F(p_check), 0, 0, 1, NULL, "share of estimate + \"wait, let me check\" + columns", NULL, NULL, 0},
    {"p_d1", OPT_DOUBLE, F(p_d1), 0, 0, 1, NULL, "share of difficulty-1 problems", NULL, NULL, 0},
    {"p_d2", OPT_DOUBLE, F(p_d2), 0, 0, 1, NULL, "share of difficulty-2 problems", NULL, NULL, 0},
    {"p_d3", OPT_DOUBLE, F(p_d3), 0, 0, 1, NULL, "share of difficulty-3 problems", NULL, NULL, 0},
    {"p_d4", OPT_DOUBLE, F(p_d4), 0, 0, 1, NULL, "share of difficulty-4 problems", NULL, NULL, 0},
    {"p_d5", OPT_DOUBLE, F(p_d5), 0, 0, 1, NULL, "share of difficulty-5 problems", NULL, NULL, 0},
    {"p_zh", OPT_DOUBLE, F(p_zh), 0, 0, 1, NULL, "sum: share of solutions begun in Chinese (the rest in English)", NULL, NULL, 0},
    {"p_switch", OPT_DOUBLE, F(p_switch), 0, 0, 1, NULL, "sum: share of check solutions that switch language part way", NULL, NULL, 0},
    {"vocab", OPT_INT, F(vocab), 0, 257, 65536, NULL, "tokenizer vocabulary (with <|endoftext|>)", NULL, NULL, 0},
    {"dim", OPT_INT, F(dim), 0, 8, 4096, NULL, "hidden size", NULL, NULL, 0},
    {"layers", OPT_INT, F(layers), 0, 1, 64, NULL, "transformer layers", NULL, NULL, 0},
    {"heads", OPT_INT, F(heads), 0, 1, 64, NULL, "attention heads", NULL, NULL, 0},
    {"kv_heads", OPT_INT, F(kv_heads), 0, 1, 64, NULL, "key/value heads", NULL, NULL, 0},
    {"ffn", OPT_INT, F(ffn), 0, 8, 65536, NULL, "MLP width", NULL, NULL, 0},
    {"context", OPT_INT, F(context), 0, 16, 65536, NULL, "max_position_embeddings", NULL, NULL, 0},
    {"steps", OPT_INT, F(steps), 0, 1, 10000000, NULL, "optimizer updates", NULL, NULL, 0},
    {"batch", OPT_INT, F(batch), 0, 1, 4096, NULL, "documents per update", NULL, NULL, 0},
    {"micro_batch", OPT_INT, F(micro_batch), 0, 0, 4096, NULL, "documents per forward/backward, gradients accumulated (0: batch; under MPI whole micro-batches go to the ranks)", NULL, NULL, 0},
    {"lr", OPT_DOUBLE, F(lr), 0, 0, 10, NULL, "peak learning rate (cosine decay after warmup)", NULL, NULL, 0},
    {"min_lr_ratio", OPT_DOUBLE, F(min_lr_ratio), 0, 0, 1, NULL, "final lr / lr", NULL, NULL, 0},
    {"optim", OPT_ENUM, F(optim), 0, 0, 0, OPTIM_CHOICES, "optimizer state: adamw (fp32 moments) or adamw_8bit (blockwise 8-bit moments, a quarter of the memory)", NULL, NULL, 0},
    {"weight_decay", OPT_DOUBLE, F(weight_decay), 0, 0, 10, NULL, "AdamW weight decay", NULL, NULL, 0},
    {"warmup", OPT_INT, F(warmup), 0, 0, 10000000, NULL, "warmup updates", NULL, NULL, 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "initialisation and order seed", NULL, NULL, 0},
    {"threads", OPT_INT, F(threads), 0, 0, 1024, NULL, "threads (0: all cores)", NULL, NULL, 0},
    OPT_GROUP_ENTRY(PretrainConfig, precision, precision_options),
    {"bf16", OPT_BOOL, F(bf16), 0, 0, 1, NULL, "save the weights as bf16", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

// The aha-tiny recipe; the corpus settings are corpus_defaults'.
static const PretrainConfig pretrain_default = {
    .vocab = 512, .dim = 128, .layers = 4, .heads = 4, .kv_heads = 4, .ffn = 384, .context = 256,
    .steps = 1500, .batch = 32, .lr = 3e-3, .min_lr_ratio = 0.05, .weight_decay = 0.01, .warmup = 50, .seed = 1,
    .bf16 = 1};

void pretrain_defaults(void *cfg) {
    PretrainConfig *c = cfg;
    *c = pretrain_default;
    CorpusConfig cc;
    corpus_defaults(&cc);
    snprintf(c->task, sizeof c->task, "%s", cc.task);
    c->docs = (int)cc.n_docs;
    c->corpus_seed = (int)cc.seed;
    c->p_hasty = cc.style_p[CORPUS_HASTY], c->p_careful = cc.style_p[CORPUS_CAREFUL];
    c->p_check = cc.style_p[CORPUS_CHECK];
    c->p_d1 = cc.difficulty_p[0], c->p_d2 = cc.difficulty_p[1], c->p_d3 = cc.difficulty_p[2];
    c->p_d4 = cc.difficulty_p[3], c->p_d5 = cc.difficulty_p[4];
    c->p_zh = cc.p_zh, c->p_switch = cc.p_switch;
}

// The corpus documents as (prompt, completion) text pairs.
typedef struct {
    int n;
    char **prompt, **completion;
} Docs;

static void docs_free(Docs *d) {
    for (int i = 0; i < d->n; i++) free(d->prompt[i]), free(d->completion[i]);
    free(d->prompt);
    free(d->completion);
    memset(d, 0, sizeof *d);
}

static int docs_load(Docs *d, const char *path) {
    memset(d, 0, sizeof *d);
    JsonlReader r;
    if (jsonl_open(&r, path) != 0) return -1;
    int cap = 0, rc;
    cJSON *o;
    while ((rc = jsonl_next(&r, &o)) == 1) {
        const char *p, *c;
        if (json_get_string(o, "prompt", &p, 1) != 0 || json_get_string(o, "completion", &c, 1) != 0) {
            cJSON_Delete(o);
            err_wrap("%s:%ld", path, r.line);
            rc = -1;
            break;
        }
        if (d->n == cap) {
            cap = cap ? 2 * cap : 1024;
            char **np = realloc(d->prompt, sizeof(char *) * (size_t)cap), **nc;
            if (np) d->prompt = np;
            nc = np ? realloc(d->completion, sizeof(char *) * (size_t)cap) : NULL;
            if (nc) d->completion = nc;
            if (!np || !nc) {
                cJSON_Delete(o);
                rc = err_set("out of memory");
                break;
            }
        }
        d->prompt[d->n] = strdup(p);
        d->completion[d->n] = strdup(c);
        d->n++;
        cJSON_Delete(o);
    }
    jsonl_close(&r);
    if (rc == 0 && d->n == 0) rc = err_set("%s: no documents", path);
    if (rc != 0) docs_free(d);
    return rc < 0 ? -1 : 0;
}

// Concatenate the documents (one per line) as tokenizer training text.
static char *docs_text(const Docs *d, size_t *len) {
    size_t n = 0;
    for (int i = 0; i < d->n; i++) n += strlen(d->prompt[i]) + strlen(d->completion[i]) + 1;
    char *s = malloc(n + 1), *w = s;
    if (!s) return NULL;
    for (int i = 0; i < d->n; i++) {
        size_t a = strlen(d->prompt[i]), b = strlen(d->completion[i]);
        memcpy(w, d->prompt[i], a), w += a;
        memcpy(w, d->completion[i], b), w += b;
        *w++ = '\n';
    }
    *w = 0;
    *len = n;
    return s;
}

static int write_summary(const PretrainConfig *c, const char *dir, size_t n_params, const SftResult *res, long n_tokens,
                         int vocab) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "settings", opt_to_json(c, pretrain_options));
    cJSON_AddNumberToObject(o, "parameters", (double)n_params);
    cJSON_AddNumberToObject(o, "tokenizer_vocab", vocab);
    cJSON_AddNumberToObject(o, "corpus_tokens", (double)n_tokens);
    cJSON_AddNumberToObject(o, "tokens_trained", (double)res->tokens);
    cJSON_AddNumberToObject(o, "first_loss", res->first_loss);
    cJSON_AddNumberToObject(o, "final_loss", res->last_loss);
    cJSON_AddNumberToObject(o, "seconds", res->seconds);
    int rc = json_write_file(o, dir, "pretrain.json");
    cJSON_Delete(o);
    return rc;
}

int pretrain_run(const PretrainConfig *c) {
    if (!c->out[0]) return err_set("out: a model directory is required (--out DIR)");
    if (c->dim % c->heads || c->heads % c->kv_heads) return err_set("heads must divide dim and kv_heads must divide heads");
    threads_set(c->threads);
    if (model_precision_set(c->precision) != 0) return -1;
    // Under MPI rank 0 writes the corpus, the tokenizer and the model; the
    // other ranks read what it wrote and train beside it (sft_train deals
    // the micro-batches).
    int lead = dist_rank() == 0;
    if (lead && mkdir_p(c->out) != 0) return -1;
    char corpus[4096], tokpath[4096], logpath[4096];
    if (path_join(tokpath, sizeof tokpath, c->out, "tokenizer.json") != 0 ||
        path_join(logpath, sizeof logpath, c->out, "train_log.jsonl") != 0 ||
        path_join(corpus, sizeof corpus, c->out, "corpus.jsonl") != 0)
        return -1;
    if (c->corpus[0]) {
        if (path_fmt(corpus, sizeof corpus, "%s", c->corpus) != 0) return -1;
    } else {
        CorpusConfig cc;
        corpus_defaults(&cc);
        snprintf(cc.task, sizeof cc.task, "%s", c->task);
        cc.n_docs = c->docs;
        cc.seed = (uint64_t)c->corpus_seed;
        cc.style_p[CORPUS_HASTY] = c->p_hasty;
        cc.style_p[CORPUS_CAREFUL] = c->p_careful;
        cc.style_p[CORPUS_CHECK] = c->p_check;
        cc.difficulty_p[0] = c->p_d1;
        cc.difficulty_p[1] = c->p_d2;
        cc.difficulty_p[2] = c->p_d3;
        cc.difficulty_p[3] = c->p_d4;
        cc.difficulty_p[4] = c->p_d5;
        cc.p_zh = c->p_zh, cc.p_switch = c->p_switch;
        CorpusStats st;
        if (lead && corpus_write(&cc, corpus, &st) != 0) return -1;
        if (lead) log_info("corpus: %ld documents (hasty %ld, careful %ld, check %ld), %ld bytes", st.docs,
                 st.by_style[CORPUS_HASTY], st.by_style[CORPUS_CAREFUL], st.by_style[CORPUS_CHECK], st.bytes);
    }
    Docs d;
    if (dist_barrier() != 0 || docs_load(&d, corpus) != 0) return -1;
    if (dist_barrier() != 0) {
        docs_free(&d);
        return -1;
    }
    if (lead && !c->corpus[0] && !c->keep_corpus) unlink(corpus);
    int rc = -1;
    Tokenizer *tok = NULL;
    SftExample *ex = calloc((size_t)d.n, sizeof *ex);
    int **ids = calloc((size_t)d.n, sizeof *ids);
    Model m = {0};
    size_t tlen;
    char *text = docs_text(&d, &tlen);
    if (!ex || !ids || !text) {
        err_set("out of memory");
        goto done;
    }
    static const char *const specials[] = {"<|endoftext|>"};
    if (lead && c->init[0]) {
        // Continue: the tokenizer files travel with the model.
        char from[4096], to[4096];
        if (path_join(from, sizeof from, c->init, "tokenizer.json") != 0 || file_copy(from, tokpath) != 0 ||
            path_join(from, sizeof from, c->init, "tokenizer_config.json") != 0 ||
            path_join(to, sizeof to, c->out, "tokenizer_config.json") != 0 || file_copy(from, to) != 0)
            goto done;
    } else if (lead && tok_train_bpe(text, tlen, c->vocab, specials, 1, tokpath) != 0) {
        goto done;
    }
    if (dist_barrier() != 0 || !(tok = tok_load(tokpath))) goto done;
    int eos = tok_eos_id(tok);
    long n_tokens = 0;
    for (int i = 0; i < d.n; i++) {
        // Prompt and completion are encoded apart, exactly as rollouts see them.
        int *a, *b, na, nb;
        if (tok_encode(tok, d.prompt[i], strlen(d.prompt[i]), &a, &na) != 0) goto done;
        if (tok_encode(tok, d.completion[i], strlen(d.completion[i]), &b, &nb) != 0) {
            free(a);
            goto done;
        }
        ids[i] = malloc(sizeof(int) * (size_t)(na + nb + 1));
        if (!ids[i]) {
            free(a), free(b);
            err_set("out of memory");
            goto done;
        }
        memcpy(ids[i], a, sizeof(int) * (size_t)na);
        memcpy(ids[i] + na, b, sizeof(int) * (size_t)nb);
        ids[i][na + nb] = eos;
        free(a), free(b);
        ex[i] = (SftExample){.ids = ids[i], .len = na + nb + 1, .n_prompt = na};
        n_tokens += na + nb + 1;
    }
    log_info("tokenizer: %d ids; corpus: %ld tokens (%.1f per document)", tok_vocab_size(tok), n_tokens,
             (double)n_tokens / d.n);
    ModelConfig mc;
    ModelPreset shape = {"pretrain", c->dim, c->layers, c->heads, c->kv_heads, tok_vocab_size(tok), c->ffn, c->context};
    model_config_llama(&mc, &shape);
    mc.tie_embeddings = 1;
    mc.eos_token_ids[0] = eos;
    mc.n_eos = 1;
    if (c->init[0]) {
        if (model_load(&m, c->init, 1) != 0) goto done;
        if (m.cfg.vocab_size < tok_vocab_size(tok)) {
            err_set("%s: vocab_size %d is smaller than its tokenizer", c->init, m.cfg.vocab_size);
            goto done;
        }
    } else {
        if (model_create(&m, &mc, 1) != 0) goto done;
        model_init_random(&m, (uint64_t)c->seed, 0.02f);
    }
    log_info("model: %zu parameters (dim %d, %d layers, %d heads, ffn %d, vocab %d)%s%s", m.n_params,
             m.cfg.hidden_size, m.cfg.n_layers, m.cfg.n_heads, m.cfg.intermediate_size, m.cfg.vocab_size,
             c->init[0] ? ", continued from " : "", c->init);
    SftConfig sc;
    sft_defaults(&sc);
    sc.steps = c->steps, sc.batch_rows = c->batch, sc.micro_rows = c->micro_batch, sc.lr = c->lr, sc.min_lr_ratio = c->min_lr_ratio;
    sc.weight_decay = c->weight_decay, sc.warmup_steps = c->warmup, sc.seed = (uint64_t)c->seed;
    sc.optim = c->optim;
    sc.prompt_loss = 1, sc.log_path = logpath, sc.progress = stderr;
    SftResult res;
    if (sft_train(&m, ex, d.n, &sc, &res) != 0) goto done;
    if (lead && model_save(&m, c->out, c->bf16 ? ST_BF16 : ST_F32) != 0) goto done;
    if (lead && write_summary(c, c->out, m.n_params, &res, n_tokens, mc.vocab_size) != 0) goto done;
    log_info("pretrain: loss %.4f -> %.4f in %.0f s (%ld target tokens); wrote %s", res.first_loss, res.last_loss,
             res.seconds, res.tokens, c->out);
    rc = 0;
done:
    if (ids)
        for (int i = 0; i < d.n; i++) free(ids[i]);
    free(ids);
    free(ex);
    free(text);
    if (m.params) model_free(&m);
    tok_free(tok);
    docs_free(&d);
    return rc;
}
