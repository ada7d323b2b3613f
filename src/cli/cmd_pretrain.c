// aha pretrain and aha corpus: flags in, train/pretrain.h and train/corpus.h do the work.
#include "base/err.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "train/corpus.h"
#include "train/pretrain.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

const CliOptions pretrain_cli = {
    pretrain_options, sizeof(PretrainConfig), pretrain_defaults, "aha pretrain --out DIR [options]",
    "Pretrain a tiny base model from scratch: generate the corpus (train-split problems in the R1-Zero template, solved in three styles: a hasty estimate, careful steps (a running sum; columns for arithmetic), and estimate + \"wait, let me check\" + careful steps), train a byte-level BPE tokenizer on it, then train the model on every token (SFT loop, AdamW, warmup + cosine). Writes config.json, model.safetensors, tokenizer.json, pretrain.json and train_log.jsonl into DIR.", NULL, 0};

int cmd_pretrain(void *cfg) { return cli_status("pretrain", pretrain_run(cfg)); }

typedef struct {
    char out[512];
    char task[32];
    int docs, seed;
    double p_hasty, p_careful, p_check, p_d1, p_d2, p_d3, p_d4, p_d5, p_zh, p_switch;
} CorpusFlags;

#define F(x) offsetof(CorpusFlags, x)
static const OptDef corpus_options[] = {
    {"out", OPT_STRING, F(out), sizeof(((CorpusFlags *)0)->out), 0, 0, NULL, "JSONL file to write", NULL, NULL,
     OPT_REQUIRED},
    {"task", OPT_STRING, F(task), sizeof(((CorpusFlags *)0)->task), 0, 0, NULL, "task (sum or arithmetic)", NULL, NULL, 0},
    {"docs", OPT_INT, F(docs), 0, 1, 100000000, NULL, "documents", NULL, NULL, 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "problem seed (train split)", NULL, NULL, 0},
    {"p_hasty", OPT_DOUBLE, F(p_hasty), 0, 0, 1, NULL, "share of hasty solutions", NULL, NULL, 0},
    {"p_careful", OPT_DOUBLE, F(p_careful), 0, 0, 1, NULL, "share of careful solutions", NULL, NULL, 0},
    {"p_check", OPT_DOUBLE, F(p_check), 0, 0, 1, NULL, "share of solutions with a check", NULL, NULL, 0},
    {"p_d1", OPT_DOUBLE, F(p_d1), 0, 0, 1, NULL, "share of difficulty-1 problems", NULL, NULL, 0},
    {"p_d2", OPT_DOUBLE, F(p_d2), 0, 0, 1, NULL, "share of difficulty-2 problems", NULL, NULL, 0},
    {"p_d3", OPT_DOUBLE, F(p_d3), 0, 0, 1, NULL, "share of difficulty-3 problems", NULL, NULL, 0},
    {"p_d4", OPT_DOUBLE, F(p_d4), 0, 0, 1, NULL, "share of difficulty-4 problems", NULL, NULL, 0},
    {"p_d5", OPT_DOUBLE, F(p_d5), 0, 0, 1, NULL, "share of difficulty-5 problems", NULL, NULL, 0},
    {"p_zh", OPT_DOUBLE, F(p_zh), 0, 0, 1, NULL, "sum: share of solutions begun in Chinese (the rest in English)", NULL, NULL, 0},
    {"p_switch", OPT_DOUBLE, F(p_switch), 0, 0, 1, NULL, "sum: share of check solutions that switch language part way", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F

// The flags start from the corpus module's defaults.
static void corpus_flag_defaults(void *cfg) {
    CorpusConfig cc;
    corpus_defaults(&cc);
    CorpusFlags *f = cfg;
    *f = (CorpusFlags){"", "", (int)cc.n_docs, (int)cc.seed, cc.style_p[0], cc.style_p[1], cc.style_p[2],
                       cc.difficulty_p[0], cc.difficulty_p[1], cc.difficulty_p[2], cc.difficulty_p[3], cc.difficulty_p[4],
                       cc.p_zh, cc.p_switch};
    snprintf(f->task, sizeof f->task, "%s", cc.task);
}

const CliOptions corpus_cli = {
    corpus_options, sizeof(CorpusFlags), corpus_flag_defaults, "aha corpus --out FILE.jsonl [options]",
    "Write the pretraining corpus aha pretrain uses: one JSON object per line with id, difficulty, style, prompt (R1-Zero template) and completion. Only train-split problems appear.", NULL, 0};

int cmd_corpus(void *cfg) {
    const CorpusFlags *f = cfg;
    CorpusConfig cc;
    corpus_defaults(&cc);
    snprintf(cc.task, sizeof cc.task, "%s", f->task);
    cc.n_docs = f->docs;
    cc.seed = (uint64_t)f->seed;
    double sp[3] = {f->p_hasty, f->p_careful, f->p_check}, dp[5] = {f->p_d1, f->p_d2, f->p_d3, f->p_d4, f->p_d5};
    memcpy(cc.style_p, sp, sizeof sp);
    memcpy(cc.difficulty_p, dp, sizeof dp);
    cc.p_zh = f->p_zh, cc.p_switch = f->p_switch;
    CorpusStats st;
    if (corpus_write(&cc, f->out, &st) != 0) return cli_fail("corpus", "%s", err_msg());
    printf("%s: %ld documents, %ld bytes\n", f->out, st.docs, st.bytes);
    for (int s = 0; s < CORPUS_N_STYLES; s++)
        printf("  %-8s %6ld (%.1f%%), final answer correct in %.1f%%\n", corpus_style_names[s], st.by_style[s],
               100.0 * st.by_style[s] / (st.docs ? st.docs : 1),
               100.0 * st.correct_by_style[s] / (st.by_style[s] ? st.by_style[s] : 1));
    if (cc.p_zh > 0 || cc.p_switch > 0)
        printf("  begun in zh %ld (%.1f%%), switching language %ld (%.1f%%)\n", st.by_lang[CORPUS_ZH],
               100.0 * st.by_lang[CORPUS_ZH] / (st.docs ? st.docs : 1), st.mixed, 100.0 * st.mixed / (st.docs ? st.docs : 1));
    return 0;
}
