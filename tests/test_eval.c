// aha eval end to end on models whose answers are known: a tiny model trained
// with the SFT loop to always reply " <think> wait </think> <answer> 7 </answer>"
// scores pass@1 = cons@k = pass@k = 1 on a dataset whose gold is 7 and 0 on one
// whose gold is 8; length and reflection frequency equal the values computed
// from the reply's own tokens.
#include "test.h"

#include "base/fileio.h"
#include "eval/eval.h"
#include "model/io.h"
#include "model/presets.h"
#include "tok/template.h"
#include "tok/tokenizer.h"
#include "train/sft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *REPLY = " <think> wait </think> <answer> 7 </answer>";
static const char *QUESTIONS[] = {"What is 3 + 4?", "What is 10 - 3?", "What is 14 / 2?",
                                  "What is 1 + 6?", "Seven?", "What is 49 / 7?"};
#define NQ 6

static int write_dataset(const char *path, const char *gold) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (int i = 0; i < NQ; i++) fprintf(f, "{\"prompt\": \"%s\", \"answer\": \"%s\"}\n", QUESTIONS[i], gold);
    return fclose(f);
}

int main(void) {
    char dir[400], tokpath[450], ds7[450], ds8[450];
    snprintf(dir, sizeof dir, "%s/aha-eval-%d", getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp", (int)getpid());
    snprintf(tokpath, sizeof tokpath, "%s/tokenizer.json", dir);
    snprintf(ds7, sizeof ds7, "%s/seven.jsonl", dir);
    snprintf(ds8, sizeof ds8, "%s/eight.jsonl", dir);
    CHECK(mkdir_p(dir) == 0, "mkdir");
    CHECK(write_dataset(ds7, "7") == 0 && write_dataset(ds8, "8") == 0, "datasets");

    // Tokenizer over the prompts (raw template: short, so the test is quick) and the reply.
    char *prompt[NQ], text[8192] = "";
    for (int i = 0; i < NQ; i++) {
        CHECK(template_render("raw", QUESTIONS[i], NULL, 0, &prompt[i]) == 0, "template");
        strncat(text, prompt[i], sizeof text - strlen(text) - 1);
        strncat(text, REPLY, sizeof text - strlen(text) - 1);
        strncat(text, "\n", sizeof text - strlen(text) - 1);
    }
    static const char *const specials[] = {"<|endoftext|>"};
    CHECK(tok_train_bpe(text, strlen(text), 320, specials, 1, tokpath) == 0, "tok_train_bpe");
    Tokenizer *tok = tok_load(tokpath);
    CHECK(tok != NULL, "tok_load");
    int eos = tok_eos_id(tok), *rid, rn;
    CHECK(tok_encode(tok, REPLY, strlen(REPLY), &rid, &rn) == 0, "encode reply");

    // Examples: prompt + reply + EOS; only the reply is a target (cold-start style).
    int *ids[NQ];
    SftExample ex[NQ];
    for (int i = 0; i < NQ; i++) {
        int *p, pn;
        CHECK(tok_encode(tok, prompt[i], strlen(prompt[i]), &p, &pn) == 0, "encode prompt");
        ids[i] = malloc(sizeof(int) * (size_t)(pn + rn + 1));
        memcpy(ids[i], p, sizeof(int) * (size_t)pn);
        memcpy(ids[i] + pn, rid, sizeof(int) * (size_t)rn);
        ids[i][pn + rn] = eos;
        ex[i] = (SftExample){.ids = ids[i], .len = pn + rn + 1, .n_prompt = pn};
        free(p);
    }
    ModelConfig mc;
    ModelPreset shape = {"test", 32, 1, 2, 2, tok_vocab_size(tok), 64, 256};
    model_config_llama(&mc, &shape);
    mc.tie_embeddings = 1;
    mc.eos_token_ids[0] = eos;
    mc.n_eos = 1;
    Model m;
    CHECK(model_create(&m, &mc, 1) == 0, "model_create");
    model_init_random(&m, 3, 0.02f);
    SftConfig sc;
    sft_defaults(&sc);
    sc.steps = 150;
    sc.batch_rows = NQ;
    sc.lr = 1e-2;
    sc.warmup_steps = 10;
    sc.prompt_loss = 0;
    SftResult res;
    CHECK(sft_train(&m, ex, NQ, &sc, &res) == 0, "sft_train");
    CHECK(res.first_loss > 1.0 && res.last_loss < 0.01, "SFT loss %.4f -> %.4f", res.first_loss, res.last_loss);
    CHECK(res.tokens == 150L * NQ * (rn + 1), "trained on %ld target tokens, want %ld", res.tokens,
          150L * NQ * (rn + 1));
    CHECK(model_save(&m, dir, ST_F32) == 0, "model_save");

    EvalConfig c;
    eval_defaults(&c);
    snprintf(c.model, sizeof c.model, "%s", dir);
    snprintf(c.src.dataset, sizeof c.src.dataset, "%s", ds7);
    c.src.problems = 0;
    c.k = 8;
    c.sample.max_new_tokens = 32;
    c.batch = 4;   // two sampler calls: 4 + 2 problems
    snprintf(c.sample.template_name, sizeof c.sample.template_name, "raw");
    EvalResult r;
    CHECK(eval_run(&c, &r) == 0, "eval on the 7 dataset");
    CHECK(r.n_problems == NQ && r.k == 8, "%d problems, k %d", r.n_problems, r.k);
    CHECK(r.pass1 == 1.0 && r.cons == 1.0 && r.passk == 1.0, "always right: pass@1 %g cons %g pass@k %g", r.pass1,
          r.cons, r.passk);
    CHECK_CLOSE(r.mean_length, (double)rn, 1e-12, 1);
    CHECK_CLOSE(r.reflection_per_1k, 1000.0 / rn, 1e-9, 1);
    CHECK(r.format_rate == 1.0 && r.truncated == 0.0, "format %g truncated %g", r.format_rate, r.truncated);
    cJSON *j = eval_result_json(&r);
    const char *keys[] = {"pass@1", "cons@k", "pass@k", "k", "n_problems", "mean_length", "reflection_per_1k"};
    for (int i = 0; i < 7; i++) CHECK(cJSON_IsNumber(cJSON_GetObjectItem(j, keys[i])), "json lacks %s", keys[i]);
    CHECK(cJSON_GetObjectItem(j, "pass@1")->valuedouble == 1.0, "json pass@1");
    cJSON_Delete(j);

    snprintf(c.src.dataset, sizeof c.src.dataset, "%s", ds8);
    CHECK(eval_run(&c, &r) == 0, "eval on the 8 dataset");
    CHECK(r.pass1 == 0.0 && r.cons == 0.0 && r.passk == 0.0, "never right: pass@1 %g cons %g pass@k %g", r.pass1,
          r.cons, r.passk);
    CHECK_CLOSE(r.mean_length, (double)rn, 1e-12, 1);

    // A task the model was never trained on still runs end to end (sizes, verifier lookup).
    snprintf(c.src.dataset, sizeof c.src.dataset, "%s", "");
    snprintf(c.src.task, sizeof c.src.task, "arithmetic");
    c.src.problems = 3;
    c.k = 2;
    c.src.difficulty = 0;
    CHECK(eval_run(&c, &r) == 0, "eval on a task");
    CHECK(r.n_by_diff[1] == 1 && r.n_by_diff[2] == 1 && r.n_by_diff[3] == 1, "difficulty buckets");
    CHECK(r.tokens > 0 && r.pass1 >= 0 && r.pass1 <= 1, "tokens %ld pass@1 %g", r.tokens, r.pass1);

    for (int i = 0; i < NQ; i++) free(ids[i]), free(prompt[i]);
    free(rid);
    model_free(&m);
    tok_free(tok);
    remove_tree(dir);
    return TEST_END();
}
