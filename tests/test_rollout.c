// The rollout path (rollout/rollout.h) against `aha sample`, which samples
// through it, on model directories written here and read back by both through
// the same loaders. The same prompt, seed and settings give the same ids,
// finish reasons and text (and log-probs), without and with a tokenizer BOS (both
// prepend it, and it changes the log-probs). A model trained to end its reply
// with <|im_end|> stops there under the chatml template, whose end-of-turn
// token is a stop id, and runs on past it under raw, where only EOS ids stop.
#include "test.h"

#include "base/err.h"
#include "base/fileio.h"
#include "model/io.h"
#include "model/presets.h"
#include "rollout/rollout.h"
#include "tok/template.h"
#include "tok/tokenizer.h"
#include "train/sft.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROMPT "the cat sat on the mat"
#define REPLY " a dog ran"
#define MAX_NEW 16
static const char *const SPECIALS[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin|>"};

// A byte-level BPE over the prompt and the reply, <|endoftext|> its EOS.
static int write_tokenizer(const char *dir) {
    char path[512];
    const char *corpus = PROMPT REPLY "\n" PROMPT " the dog sat on the cat\n";
    if (path_join(path, sizeof path, dir, "tokenizer.json") != 0) return -1;
    return tok_train_bpe(corpus, strlen(corpus), 300, SPECIALS, 4, path);
}

static void model_shape(ModelConfig *mc, int vocab, int eos) {
    ModelPreset shape = {"test", 32, 2, 4, 2, vocab, 48, 256};
    model_config_llama(mc, &shape);
    mc->eos_token_ids[0] = eos;
    mc->n_eos = 1;
}

// `$AHA sample --model dir ARGS --json` (args NULL-terminated): its stdout
// (malloc'd), or NULL when it cannot run or exits non-zero.
static char *aha_sample(const char *dir, const char *const *args) {
    const char *aha = getenv("AHA") ? getenv("AHA") : "./aha";
    const char *argv[32];
    int n = 0, fd[2];
    argv[n++] = aha, argv[n++] = "sample", argv[n++] = "--model", argv[n++] = dir;
    while (*args && n < 30) argv[n++] = *args++;
    argv[n++] = "--json", argv[n] = NULL;
    if (pipe(fd) != 0) return NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]), close(fd[1]);
        execv(aha, (char *const *)argv);
        _exit(127);
    }
    close(fd[1]);
    size_t len = 0, cap = 1 << 16;
    char *out = malloc(cap);
    ssize_t got;
    while (out && (got = read(fd[0], out + len, cap - len - 1)) > 0) {
        len += (size_t)got;
        if (cap - len < 2) {
            char *p = realloc(out, cap *= 2);
            if (!p) free(out);
            out = p;
        }
    }
    close(fd[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(out);
        return NULL;
    }
    if (out) out[len] = 0;
    return out;
}

// A model directory opened as aha sample opens it, and one group of G
// samples of question through the rollout path (problem 0, step 0).
typedef struct {
    Model m;
    Tokenizer *tok;
    Rollout r;
} RolloutRun;

static int rollout_run(RolloutRun *p, const char *dir, const SampleSettings *s, int G, const char *question) {
    memset(p, 0, sizeof *p);
    if (model_load(&p->m, dir, 0) != 0 || !(p->tok = tok_load(dir))) return -1;
    PromptProblem q;
    memset(&q, 0, sizeof q);
    snprintf(q.id, sizeof q.id, "prompt");
    q.question = question;
    int len = rollout_prompt_tokens(p->tok, s, &q), slot = 0;
    if (len < 1 || rollout_open(&p->r, &p->m, p->tok, s, 1, G, len, NULL, NULL) != 0) return -1;
    p->r.groups[0].problem = q;
    return rollout_prepare(&p->r, 0) == 0 && rollout_sample(&p->r, &slot, 1, 0) == 0 ? 0 : -1;
}

static void rollout_run_free(RolloutRun *p) {
    rollout_close(&p->r);
    tok_free(p->tok);
    model_free(&p->m);
}

// aha sample's JSON lines hold the rollout's rows: the same ids, finish
// reasons and text, logp to float rounding.
static void check_same(const char *json, const Rollout *r, const char *what) {
    CHECK(json != NULL, "%s: aha sample failed", what);
    if (!json) return;
    const char *at = json;
    for (int g = 0; g < r->G; g++) {
        const RolloutRow *row = &r->rows[g];
        const char *end = NULL;
        cJSON *o = cJSON_ParseWithOpts(at, &end, 0);
        CHECK(o != NULL, "%s: sample %d: no JSON line", what, g);
        if (!o) return;
        at = end;
        const cJSON *ids = cJSON_GetObjectItem(o, "ids"), *lp = cJSON_GetObjectItem(o, "logp");
        const cJSON *fin = cJSON_GetObjectItem(o, "finish_reason"), *text = cJSON_GetObjectItem(o, "text");
        CHECK(cJSON_GetArraySize(ids) == row->n && cJSON_GetArraySize(lp) == row->n, "%s: sample %d: %d ids, want %d",
              what, g, cJSON_GetArraySize(ids), row->n);
        for (int t = 0; t < row->n && t < cJSON_GetArraySize(ids); t++) {
            CHECK(cJSON_GetArrayItem(ids, t)->valueint == row->ids[t], "%s: sample %d token %d: id %d, rollout %d",
                  what, g, t, cJSON_GetArrayItem(ids, t)->valueint, row->ids[t]);
            // The test and ./aha may be built with different flags: floats may round apart.
            CHECK_CLOSE(cJSON_GetArrayItem(lp, t)->valuedouble, row->logp[t], 1e-5, 1e-2);
        }
        CHECK(cJSON_IsString(fin) && !strcmp(fin->valuestring, row->truncated ? "length" : "stop"),
              "%s: sample %d: finish_reason", what, g);
        CHECK(cJSON_IsString(text) && !strcmp(text->valuestring, row->text), "%s: sample %d: text", what, g);
        cJSON_Delete(o);
    }
    while (*at == '\n') at++;
    CHECK(*at == 0, "%s: more lines than the %d samples", what, r->G);
}

// A random model: sampled at T 0.9 its completions differ; both paths agree on
// every one. With a BOS in tokenizer_config.json both prepend it.
static void test_same_ids(const char *dir) {
    char cfg[512];
    CHECK(mkdir_p(dir) == 0 && write_tokenizer(dir) == 0, "tokenizer: %s", err_msg());
    Tokenizer *tok = tok_load(dir);
    CHECK(tok != NULL, "tok_load: %s", err_msg());
    if (!tok) return;
    ModelConfig mc;
    model_shape(&mc, tok_vocab_size(tok), tok_eos_id(tok));
    int begin = tok_token_id(tok, "<|begin|>");
    tok_free(tok);
    Model m;
    CHECK(model_create(&m, &mc, 0) == 0, "model_create: %s", err_msg());
    model_init_random(&m, 3, 0.3f);
    CHECK(model_save(&m, dir, ST_F32) == 0, "model_save: %s", err_msg());
    model_free(&m);

    SampleSettings s;
    sample_settings_defaults(&s);
    snprintf(s.template_name, sizeof s.template_name, "raw");
    s.temperature = 0.9;
    s.seed = 9;
    s.max_new_tokens = 12;
    const char *args[] = {"--prompt", PROMPT, "-n", "4", "--max-new-tokens", "12", "--seed", "9",
                          "--temperature", "0.9", "--template", "raw", NULL};
    float first_logp = 0;
    int first_len = 0;
    for (int with_bos = 0; with_bos < 2; with_bos++) {
        const char *what = with_bos ? "with BOS" : "without BOS";
        if (with_bos) {
            const char *bos = "{\"bos_token\": \"<|begin|>\", \"eos_token\": \"<|endoftext|>\"}\n";
            CHECK(path_join(cfg, sizeof cfg, dir, "tokenizer_config.json") == 0 &&
                      file_write_atomic(cfg, bos, strlen(bos)) == 0,
                  "tokenizer_config.json");
        }
        RolloutRun p;
        CHECK(rollout_run(&p, dir, &s, 4, PROMPT) == 0, "%s: rollout: %s", what, err_msg());
        const RolloutGroup *grp = &p.r.groups[0];
        if (!with_bos) {
            CHECK(p.r.bos == -1, "no BOS expected, got %d", p.r.bos);
            first_logp = p.r.rows[0].logp[0];
            first_len = grp->prompt_len;
        } else {
            CHECK(p.r.bos == begin && grp->prompt_ids[0] == begin && grp->prompt_len == first_len + 1,
                  "BOS %d: prompt starts with %d, %d tokens (%d without)", begin, grp->prompt_ids[0],
                  grp->prompt_len, first_len);
            CHECK(p.r.rows[0].logp[0] != first_logp, "the BOS changes nothing: the test could not see it");
        }
        int differ = 0;
        for (int g = 1; g < 4; g++)
            differ |= p.r.rows[g].n != p.r.rows[0].n ||
                      memcmp(p.r.rows[g].ids, p.r.rows[0].ids, sizeof(int) * (size_t)p.r.rows[0].n) != 0;
        CHECK(differ, "%s: all 4 samples are the same: the comparison would be weak", what);
        char *json = aha_sample(dir, args);
        check_same(json, &p.r, what);
        free(json);
        rollout_run_free(&p);
    }
}

// A model trained on the chatml prompt followed by REPLY<|im_end|>.
static void write_chat_model(const char *dir, int *reply, int *rn, int *im_end) {
    CHECK(mkdir_p(dir) == 0 && write_tokenizer(dir) == 0, "tokenizer: %s", err_msg());
    Tokenizer *tok = tok_load(dir);
    CHECK(tok != NULL, "tok_load: %s", err_msg());
    if (!tok) return;
    *im_end = tok_token_id(tok, "<|im_end|>");
    CHECK(*im_end >= 0 && *im_end != tok_eos_id(tok), "<|im_end|> %d must be a token and not the EOS", *im_end);
    char *prompt;
    int *pids, pn, *rids;
    CHECK(template_render("chatml", PROMPT, NULL, 0, &prompt) == 0, "template");
    CHECK(tok_encode(tok, prompt, strlen(prompt), &pids, &pn) == 0 &&
              tok_encode(tok, REPLY, strlen(REPLY), &rids, rn) == 0 && *rn < MAX_NEW,
          "encode");
    memcpy(reply, rids, sizeof(int) * (size_t)*rn);
    int *ids = malloc(sizeof(int) * (size_t)(pn + *rn + 1));
    memcpy(ids, pids, sizeof(int) * (size_t)pn);
    memcpy(ids + pn, rids, sizeof(int) * (size_t)*rn);
    ids[pn + *rn] = *im_end;
    SftExample ex = {.ids = ids, .len = pn + *rn + 1, .n_prompt = pn};
    ModelConfig mc;
    model_shape(&mc, tok_vocab_size(tok), tok_eos_id(tok));
    Model m;
    CHECK(model_create(&m, &mc, 1) == 0, "model_create: %s", err_msg());
    model_init_random(&m, 5, 0.02f);
    SftConfig sc;
    sft_defaults(&sc);
    sc.steps = 100;
    sc.batch_rows = 1;
    sc.lr = 1e-2;
    sc.warmup_steps = 10;
    sc.prompt_loss = 0;
    SftResult res;
    CHECK(sft_train(&m, &ex, 1, &sc, &res) == 0, "sft_train: %s", err_msg());
    CHECK(res.last_loss < 0.01, "SFT loss %.4f -> %.4f", res.first_loss, res.last_loss);
    CHECK(model_save(&m, dir, ST_F32) == 0, "model_save: %s", err_msg());
    model_free(&m);
    free(ids), free(pids), free(rids), free(prompt);
    tok_free(tok);
}

// Greedy completions of the trained model: under chatml, REPLY then
// <|im_end|>, which ends it (finish stop, left out of the text); under raw
// with the same prompt text, <|im_end|> is sampled but does not stop.
static void test_chatml_stop(const char *dir) {
    int reply[MAX_NEW], rn = 0, im_end = -1;
    write_chat_model(dir, reply, &rn, &im_end);
    SampleSettings s;
    sample_settings_defaults(&s);
    snprintf(s.template_name, sizeof s.template_name, "chatml");
    s.temperature = 0;
    s.max_new_tokens = MAX_NEW;
    RolloutRun p;
    CHECK(rollout_run(&p, dir, &s, 2, PROMPT) == 0, "chatml rollout: %s", err_msg());
    for (int g = 0; g < 2; g++) {
        const RolloutRow *row = &p.r.rows[g];
        CHECK(row->n == rn + 1 && !memcmp(row->ids, reply, sizeof(int) * (size_t)rn) && row->ids[rn] == im_end,
              "chatml sample %d: %d tokens, want the %d of the reply then <|im_end|> %d", g, row->n, rn, im_end);
        CHECK(row->stop_id == im_end && !row->truncated, "chatml sample %d: stop id %d, truncated %d", g,
              row->stop_id, row->truncated);
        CHECK(!strcmp(row->text, REPLY), "chatml sample %d: text \"%s\"", g, row->text);
    }
    const char *chat[] = {"--prompt", PROMPT, "-n", "2", "--max-new-tokens", "16", "--temperature", "0",
                          "--template", "chatml", NULL};
    char *json = aha_sample(dir, chat);
    check_same(json, &p.r, "chatml");
    free(json);
    rollout_run_free(&p);

    char *rendered;
    CHECK(template_render("chatml", PROMPT, NULL, 0, &rendered) == 0, "template");
    snprintf(s.template_name, sizeof s.template_name, "raw");
    CHECK(rollout_run(&p, dir, &s, 1, rendered) == 0, "raw rollout: %s", err_msg());
    const RolloutRow *row = &p.r.rows[0];
    CHECK(row->n > rn + 1 && row->ids[rn] == im_end && row->stop_id != im_end,
          "raw: %d tokens, token %d is %d: <|im_end|> %d must not stop", row->n, rn, row->ids[rn], im_end);
    const char *raw[] = {"--prompt", rendered, "--max-new-tokens", "16", "--temperature", "0", "--template", "raw", NULL};
    json = aha_sample(dir, raw);
    check_same(json, &p.r, "raw");
    free(json);
    rollout_run_free(&p);
    free(rendered);
}

int main(void) {
    char root[400], dir[450];
    snprintf(root, sizeof root, "%s/aha-rollout-%d", getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp", (int)getpid());
    snprintf(dir, sizeof dir, "%s/random", root);
    test_same_ids(dir);
    snprintf(dir, sizeof dir, "%s/chat", root);
    test_chatml_stop(dir);
    remove_tree(root);
    return TEST_END();
}
