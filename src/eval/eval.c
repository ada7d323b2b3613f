// aha eval: problems -> template -> k samples each (batched sampler) -> the
// task's verifier -> pass@1, cons@k, pass@k, lengths and reflection words.
#include "eval/eval.h"
#include "base/err.h"
#include "base/sys.h"
#include "eval/stats.h"
#include "gen/sampler.h"
#include "model/io.h"
#include "report/log.h"
#include "reward/math_answer.h"
#include "reward/reward.h"
#include "reward/text.h"
#include "task/dataset.h"
#include "tok/template.h"
#include "tok/tokenizer.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define F(x) offsetof(EvalConfig, x)
#define S(x) F(x), sizeof(((EvalConfig *)0)->x)
const OptDef eval_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "model directory (Hugging Face layout, with tokenizer.json)"},
    {"task", OPT_STRING, S(task), 0, 0, NULL, "task generator (see aha task --help)"},
    {"dataset", OPT_STRING, S(dataset), 0, 0, NULL, "JSONL dataset instead of a task (math verifier)"},
    {"split", OPT_STRING, S(split), 0, 0, NULL, "train or test (task problems)"},
    {"difficulty", OPT_INT, F(difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "task difficulty, 0 cycles 1..5"},
    {"problems", OPT_INT, F(problems), 0, 0, 1000000, NULL, "problems to evaluate (dataset: 0 = all)"},
    {"k", OPT_INT, F(k), 0, 1, 1024, NULL, "samples per problem"},
    {"temperature", OPT_DOUBLE, F(temperature), 0, 0, 10, NULL, "sampling temperature (0: greedy)"},
    {"top_p", OPT_DOUBLE, F(top_p), 0, 1e-6, 1, NULL, "nucleus sampling"},
    {"max_new_tokens", OPT_INT, F(max_new_tokens), 0, 1, 1000000, NULL, "completion budget"},
    {"template", OPT_STRING, S(template_name), 0, 0, NULL, "prompt template: r1zero, chatml, raw"},
    {"prefill_think", OPT_BOOL, F(prefill_think), 0, 0, 1, NULL, "end the prompt with <think>"},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "problem seed and sampling key"},
    {"batch", OPT_INT, F(batch), 0, 1, 4096, NULL, "problems sampled together"},
    {"threads", OPT_INT, F(threads), 0, 0, 1024, NULL, "threads (0: all cores)"},
    {"json", OPT_STRING, S(json), 0, 0, NULL, "write the summary as JSON here"},
    {"samples", OPT_STRING, S(samples), 0, 0, NULL, "write every completion as JSONL here"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
#undef F
#undef S

void eval_defaults(EvalConfig *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->split, sizeof c->split, "test");
    snprintf(c->template_name, sizeof c->template_name, "r1zero");
    c->problems = 50;
    c->k = 8;
    c->temperature = 0.6;
    c->top_p = 0.95;
    c->max_new_tokens = 96;
    c->seed = 1234;
    c->batch = 8;
}

// One evaluation problem.
typedef struct {
    char *prompt;     // rendered with the template
    char *answer;     // gold (NULL when the dataset has none)
    cJSON *json;      // task fields for the verifier
    char id[64];
    int difficulty;   // 0 for dataset items
} EvalProblem;

static void problems_free(EvalProblem *p, int n) {
    for (int i = 0; i < n; i++) {
        free(p[i].prompt);
        free(p[i].answer);
        cJSON_Delete(p[i].json);
    }
    free(p);
}

static int problems_make(const EvalConfig *c, EvalProblem **out, int *n_out, const char **verifier) {
    Dataset ds;
    const TaskDef *t = NULL;
    int split = 0, n = c->problems;
    memset(&ds, 0, sizeof ds);
    if (c->dataset[0]) {
        if (dataset_load(&ds, c->dataset, DATASET_AUTO, 0) != 0) return -1;
        if (n == 0 || n > ds.n) n = (int)ds.n;
        *verifier = "math";
    } else {
        if (!(t = task_find(c->task))) return -1;
        if ((split = task_split_parse(c->split)) < 0) return -1;
        if (n < 1) return err_set("problems must be >= 1 for a task");
        *verifier = t->reward;
    }
    EvalProblem *p = calloc((size_t)(n ? n : 1), sizeof *p);
    if (!p) {
        if (c->dataset[0]) dataset_free(&ds);
        return err_set("out of memory");
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const char *question;
        Problem pr;
        if (c->dataset[0]) {
            const DatasetItem *it = &ds.items[i];
            question = it->prompt;
            p[i].answer = it->answer ? strdup(it->answer) : NULL;
            p[i].json = cJSON_Duplicate(it->json, 1);
            snprintf(p[i].id, sizeof p[i].id, "line %d", i + 1);
        } else {
            int d = c->difficulty ? c->difficulty : 1 + i % TASK_MAX_DIFFICULTY;
            if (task_generate(t, (uint64_t)c->seed, split, d, i, &pr) != 0) {
                rc = -1;
                break;
            }
            question = pr.prompt;
            p[i].answer = strdup(pr.answer);
            p[i].json = task_problem_json(&pr);
            p[i].difficulty = d;
            snprintf(p[i].id, sizeof p[i].id, "%s", pr.id);
        }
        if (!p[i].json) rc = err_set("out of memory");
        else rc = template_render(c->template_name, question, NULL, c->prefill_think, &p[i].prompt);
    }
    if (c->dataset[0]) dataset_free(&ds);
    if (rc != 0) {
        problems_free(p, n);
        return -1;
    }
    *out = p;
    *n_out = n;
    return 0;
}

// The normalised final answer of a completion (malloc'd), or NULL when it has none.
static char *final_answer(const char *text, size_t len, int prefilled) {
    ThinkSplit ts;
    size_t s, n;
    text_think_split(&ts, text, len, prefilled);
    if (!math_find_answer(ts.region, ts.region_len, &s, &n)) return NULL;
    return math_normalize(ts.region + s, n);
}

static const char *token_bytes(const void *ctx, int id, size_t *len) { return tok_token_bytes(ctx, id, len); }

// Score one batch of B problems x k completions; accumulate into r.
static int score_batch(const EvalConfig *c, const Tokenizer *tok, const RewardSpec *verify, const EvalProblem *pb,
                       int B, const Completion *out, int eos, EvalResult *r, JsonlWriter *samples) {
    int k = c->k, rows = B * k, rc = -1;
    char **text = calloc((size_t)rows, sizeof *text), **ans = calloc((size_t)rows, sizeof *ans);
    size_t *len = calloc((size_t)rows, sizeof *len);
    RewardInput *in = calloc((size_t)rows, sizeof *in);
    double *score = calloc((size_t)rows, sizeof *score);
    int *correct = calloc((size_t)rows, sizeof *correct);
    RewardSpec fmt;
    memset(&fmt, 0, sizeof fmt);
    if (!text || !ans || !len || !in || !score || !correct) {
        err_set("out of memory");
        goto done;
    }
    if (reward_parse_spec(&fmt, "format") != 0) goto done;
    for (int i = 0; i < rows; i++) {
        const Completion *o = &out[i];
        int n = o->n;
        if (n > 0 && o->ids[n - 1] == eos && o->finish == SAMPLER_FINISH_STOP) n--;
        if (!(text[i] = tok_decode_lenient(tok, o->ids, n, &len[i]))) goto done;
        ans[i] = final_answer(text[i], len[i], c->prefill_think);
        const EvalProblem *p = &pb[i / k];
        in[i] = (RewardInput){.completion = text[i], .completion_len = len[i], .answer = p->answer, .task = p->json,
                              .completion_tokens = n, .max_new_tokens = c->max_new_tokens,
                              .prefilled_think = c->prefill_think,
                              .finish = o->finish == SAMPLER_FINISH_LENGTH ? REWARD_FINISH_LENGTH : REWARD_FINISH_STOP};
        r->tokens += n;
        r->mean_length += n;
        r->reflection_per_1k += reflection_count(text[i], len[i]);
        r->truncated += o->finish == SAMPLER_FINISH_LENGTH;
        r->length_by_diff[p->difficulty] += n;
    }
    if (reward_score_batch(verify, in, rows, score, NULL) != 0) goto done;
    for (int i = 0; i < rows; i++) correct[i] = score[i] >= 1.0 - 1e-9;
    if (reward_score_batch(&fmt, in, rows, score, NULL) != 0) goto done;
    for (int i = 0; i < rows; i++) r->format_rate += score[i];
    for (int b = 0; b < B; b++) {
        int cnt = 0;
        for (int j = 0; j < k; j++) cnt += correct[b * k + j];
        double p1 = (double)cnt / k;
        r->pass1 += p1;
        r->passk += pass_at_k(k, cnt, k);
        r->cons += cons_at_k((const char *const *)(ans + (size_t)b * k), correct + (size_t)b * k, k);
        r->pass1_by_diff[pb[b].difficulty] += p1;
        r->n_by_diff[pb[b].difficulty]++;
        for (int j = 0; samples && j < k; j++) {
            int i = b * k + j;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", pb[b].id);
            cJSON_AddNumberToObject(o, "difficulty", pb[b].difficulty);
            cJSON_AddStringToObject(o, "gold", pb[b].answer ? pb[b].answer : "");
            cJSON_AddStringToObject(o, "answer", ans[i] ? ans[i] : "");
            cJSON_AddBoolToObject(o, "correct", correct[i]);
            cJSON_AddNumberToObject(o, "tokens", out[i].n);
            cJSON_AddStringToObject(o, "completion", text[i]);
            int wrc = jsonl_writer_put(samples, o);
            cJSON_Delete(o);
            if (wrc != 0) goto done;
        }
    }
    rc = 0;
done:
    for (int i = 0; text && ans && i < rows; i++) free(text[i]), free(ans[i]);
    free(text);
    free(ans);
    free(len);
    free(in);
    free(score);
    free(correct);
    return rc;
}

int eval_run(const EvalConfig *c, EvalResult *r) {
    memset(r, 0, sizeof *r);
    if (!c->model[0]) return err_set("model: a model directory is required (--model DIR)");
    if (!c->task[0] == !c->dataset[0]) return err_set("give exactly one of --task and --dataset");
    threads_set(c->threads);
    double t0 = time_now();
    Model m = {0};
    Tokenizer *tok = NULL;
    Sampler *s = NULL;
    EvalProblem *pb = NULL;
    int n = 0, rc = -1, max_prompt = 0;
    int **pids = NULL, *plens = NULL;
    JsonlWriter samples = {0};
    const char *verifier = "math";
    RewardSpec verify;
    memset(&verify, 0, sizeof verify);
    if (model_load(&m, c->model, 0) != 0) return err_wrap("model %s", c->model);
    if (!(tok = tok_load(c->model))) goto done;
    int eos = tok_eos_id(tok);
    if (eos < 0 && m.cfg.n_eos > 0) eos = m.cfg.eos_token_ids[0];
    if (problems_make(c, &pb, &n, &verifier) != 0) goto done;
    if (reward_parse_spec(&verify, verifier) != 0) goto done;
    pids = calloc((size_t)n, sizeof *pids);
    plens = calloc((size_t)n, sizeof *plens);
    if (!pids || !plens) {
        err_set("out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        if (tok_encode(tok, pb[i].prompt, strlen(pb[i].prompt), &pids[i], &plens[i]) != 0) goto done;
        if (plens[i] < 1) {
            err_set("problem %s: the prompt is empty", pb[i].id);
            goto done;
        }
        if (plens[i] > max_prompt) max_prompt = plens[i];
    }
    if (max_prompt + c->max_new_tokens > m.cfg.max_position) {
        err_set("prompt (%d tokens) + max_new_tokens (%d) exceeds the model's max_position_embeddings %d", max_prompt,
                c->max_new_tokens, m.cfg.max_position);
        goto done;
    }
    int P = c->batch < n ? c->batch : n;
    if (!(s = sampler_create(&m.cfg, P * c->k, max_prompt + c->max_new_tokens))) goto done;
    if (c->samples[0] && jsonl_writer_open(&samples, c->samples, 1) != 0) goto done;
    SamplerOpts so = sampler_opts_default();
    so.temperature = (float)c->temperature;
    so.top_p = (float)c->top_p;
    so.max_new_tokens = c->max_new_tokens;
    so.stop_ids = &eos;
    so.n_stop_ids = eos >= 0;
    so.token_bytes = token_bytes;
    so.token_ctx = tok;
    so.seed = (uint64_t)c->seed;
    Completion *out = malloc(sizeof *out * (size_t)P * (size_t)c->k);
    uint32_t *idx = malloc(sizeof *idx * (size_t)P);
    if (!out || !idx) {
        free(out);
        free(idx);
        err_set("out of memory");
        goto done;
    }
    int brc = 0;
    for (int b0 = 0; b0 < n && brc == 0; b0 += P) {
        int B = n - b0 < P ? n - b0 : P;
        for (int b = 0; b < B; b++) idx[b] = (uint32_t)(b0 + b);
        brc = sampler_generate(s, &m, (const int *const *)(pids + b0), plens + b0, idx, B, c->k, &so, out);
        if (brc == 0) brc = score_batch(c, tok, &verify, pb + b0, B, out, eos, r, samples.f ? &samples : NULL);
    }
    free(out);
    free(idx);
    if (brc != 0) goto done;
    // Sums -> means.
    double rows = (double)n * c->k;
    r->k = c->k;
    r->n_problems = n;
    r->pass1 /= n;
    r->passk /= n;
    r->cons /= n;
    r->mean_length /= rows;
    r->format_rate /= rows;
    r->truncated /= rows;
    r->reflection_per_1k = r->tokens ? 1000.0 * r->reflection_per_1k / (double)r->tokens : 0;
    for (int d = 0; d <= TASK_MAX_DIFFICULTY; d++)
        if (r->n_by_diff[d]) {
            r->pass1_by_diff[d] /= r->n_by_diff[d];
            r->length_by_diff[d] /= (double)r->n_by_diff[d] * c->k;
        }
    r->seconds = time_now() - t0;
    rc = 0;
done:
    if (samples.f) jsonl_writer_close(&samples);
    for (int i = 0; pids && i < n; i++) free(pids[i]);
    free(pids);
    free(plens);
    if (pb) problems_free(pb, n);
    if (s) sampler_free(s);
    tok_free(tok);
    model_free(&m);
    return rc;
}

cJSON *eval_result_json(const EvalResult *r) {
    cJSON *o = cJSON_CreateObject(), *bd = cJSON_CreateObject();
    if (!o || !bd) {
        cJSON_Delete(o);
        cJSON_Delete(bd);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "pass@1", r->pass1);
    cJSON_AddNumberToObject(o, "cons@k", r->cons);
    cJSON_AddNumberToObject(o, "pass@k", r->passk);
    cJSON_AddNumberToObject(o, "k", r->k);
    cJSON_AddNumberToObject(o, "n_problems", r->n_problems);
    cJSON_AddNumberToObject(o, "mean_length", r->mean_length);
    cJSON_AddNumberToObject(o, "reflection_per_1k", r->reflection_per_1k);
    cJSON_AddNumberToObject(o, "format_rate", r->format_rate);
    cJSON_AddNumberToObject(o, "truncated", r->truncated);
    cJSON_AddNumberToObject(o, "tokens", (double)r->tokens);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    for (int d = 0; d <= TASK_MAX_DIFFICULTY; d++) {
        if (!r->n_by_diff[d]) continue;
        char key[16];
        snprintf(key, sizeof key, "%d", d);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "n", r->n_by_diff[d]);
        cJSON_AddNumberToObject(e, "pass@1", r->pass1_by_diff[d]);
        cJSON_AddNumberToObject(e, "mean_length", r->length_by_diff[d]);
        cJSON_AddItemToObject(bd, key, e);
    }
    cJSON_AddItemToObject(o, "by_difficulty", bd);
    return o;
}

void eval_print(FILE *f, const EvalResult *r) {
    fprintf(f, "problems %d, k %d, %.1f s\n", r->n_problems, r->k, r->seconds);
    fprintf(f, "  %-22s %8.3f\n", "pass@1", r->pass1);
    fprintf(f, "  %-22s %8.3f\n", "cons@k", r->cons);
    fprintf(f, "  %-22s %8.3f\n", "pass@k", r->passk);
    fprintf(f, "  %-22s %8.1f\n", "mean length (tokens)", r->mean_length);
    fprintf(f, "  %-22s %8.2f\n", "reflection per 1k", r->reflection_per_1k);
    fprintf(f, "  %-22s %8.3f\n", "format", r->format_rate);
    fprintf(f, "  %-22s %8.3f\n", "truncated", r->truncated);
    for (int d = 0; d <= TASK_MAX_DIFFICULTY; d++)
        if (r->n_by_diff[d])
            fprintf(f, "  difficulty %-11s n %-4d pass@1 %.3f  length %.1f\n", d ? (char[2]){(char)('0' + d), 0} : "-",
                    r->n_by_diff[d], r->pass1_by_diff[d], r->length_by_diff[d]);
}
