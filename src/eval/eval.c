// aha eval: problems -> k scored samples each (the rollout path) -> pass@1,
// cons@k, pass@k, lengths and reflection words.
#include "eval/eval.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/sys.h"
#include "eval/stats.h"
#include "model/io.h"
#include "report/log.h"
#include "reward/math_answer.h"
#include "reward/text.h"
#include "tok/tokenizer.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define F(x) offsetof(ProblemChoice, x)
#define S(x) F(x), sizeof(((ProblemChoice *)0)->x)
const OptDef problem_choice_options[] = {
    {"task", OPT_STRING, S(task), 0, 0, NULL, "task generator (see aha task --help)", NULL, NULL, 0},
    {"dataset", OPT_STRING, S(dataset), 0, 0, NULL, "JSONL dataset instead of a task (math verifier; code when its rows have tests)", NULL, NULL, 0},
    {"split", OPT_STRING, S(split), 0, 0, NULL, "train or test (task problems)", NULL, NULL, 0},
    {"difficulty", OPT_INT, F(difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "task difficulty, 0 cycles 1..--max-difficulty", NULL, NULL, 0},
    {"max_difficulty", OPT_INT, F(max_difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "the highest difficulty --difficulty 0 cycles through (0: 5)", NULL, NULL, 0},
    {"problems", OPT_INT, F(problems), 0, 0, 1000000, NULL, "problems to sample (dataset: the first n, 0 = all)", NULL, NULL, 0},
    {"skip_long_prompts", OPT_BOOL, F(skip_long_prompts), 0, 0, 1, NULL, "drop and count dataset rows too long for the model's context instead of refusing the dataset", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

#define F(x) offsetof(EvalConfig, x)
#define S(x) F(x), sizeof(((EvalConfig *)0)->x)
const OptDef eval_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "model directory (Hugging Face layout, with tokenizer.json)", NULL, NULL,
     OPT_REQUIRED},
    OPT_GROUP_ENTRY(EvalConfig, src, problem_choice_options),
    {"k", OPT_INT, F(k), 0, 1, 1024, NULL, "samples per problem", NULL, NULL, 0},
    OPT_GROUP_ENTRY(EvalConfig, sample, sample_settings_options),
    {"batch", OPT_INT, F(batch), 0, 1, 4096, NULL, "problems sampled together", NULL, NULL, 0},
    {"json", OPT_STRING, S(json), 0, 0, NULL, "write the summary as JSON here", NULL, NULL, 0},
    {"samples", OPT_STRING, S(samples), 0, 0, NULL, "write every completion as JSONL here (id, difficulty, prompt, gold, answer, correct, tokens, completion)", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

// R1's evaluation sampling: T 0.6, top-p 0.95.
static const EvalConfig eval_default = {
    .src = {.split = "test", .problems = 50}, .k = 8, .batch = 8,
    .sample = {.template_name = "r1zero", .enable_thinking = 1, .temperature = 0.6, .top_p = 0.95, .max_new_tokens = 96,
               .seed = 1234}};

void eval_defaults(void *c) { *(EvalConfig *)c = eval_default; }

// The normalised final answer of a completion (malloc'd), or NULL when it has none.
static char *final_answer(const char *text, size_t len, int prefilled) {
    ThinkSplit ts;
    size_t s, n;
    text_think_split(&ts, text, len, prefilled);
    if (!math_find_answer(ts.region, ts.region_len, &s, &n)) return NULL;
    return math_normalize(ts.region + s, n);
}

// Fold the B groups of one batch (slots 0..B) into r; write their samples.
static int score_batch(const EvalConfig *c, const Rollout *ro, int B, char **ans, int *correct, EvalResult *r,
                       JsonlWriter *samples) {
    int k = c->k;
    for (int i = 0; i < B * k; i++) {
        const RolloutRow *row = &ro->rows[i];
        const PromptProblem *p = &ro->groups[i / k].problem;
        int n = row->n - (row->stop_id >= 0);   // lengths leave out the stop token
        ans[i] = final_answer(row->text, row->text_len, c->sample.prefill_think);
        correct[i] = row->correct;
        r->tokens += n;
        r->mean_length += n;
        r->reflection_per_1k += reflection_count(row->text, row->text_len);
        r->language_mixing += language_mixed(row->text, row->text_len, c->sample.prefill_think);
        r->truncated += row->truncated;
        r->length_by_diff[p->difficulty] += n;
        r->format_rate += row->components[1];
    }
    for (int b = 0; b < B; b++) {
        const PromptProblem *p = &ro->groups[b].problem;
        int cnt = 0;
        for (int j = 0; j < k; j++) cnt += correct[b * k + j];
        double p1 = (double)cnt / k;
        r->pass1 += p1;
        r->passk += pass_at_k(k, cnt, k);
        r->cons += cons_at_k((const char *const *)(ans + (size_t)b * k), correct + (size_t)b * k, k);
        r->pass1_by_diff[p->difficulty] += p1;
        r->n_by_diff[p->difficulty]++;
        for (int j = 0; samples && j < k; j++) {
            int i = b * k + j;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", p->id);
            cJSON_AddNumberToObject(o, "difficulty", p->difficulty);
            cJSON_AddStringToObject(o, "prompt", p->question ? p->question : "");
            cJSON_AddStringToObject(o, "gold", p->answer ? p->answer : "");
            cJSON_AddStringToObject(o, "answer", ans[i] ? ans[i] : "");
            cJSON_AddBoolToObject(o, "correct", correct[i]);
            cJSON_AddNumberToObject(o, "tokens", ro->rows[i].n);
            cJSON_AddStringToObject(o, "completion", ro->rows[i].text);
            int wrc = jsonl_writer_put(samples, o);
            cJSON_Delete(o);
            if (wrc != 0) return -1;
        }
    }
    return 0;
}

int eval_open_problems(const ProblemChoice *pc, const char *cmd, const SampleSettings *s, const Model *m,
                       const Tokenizer *tok, ProblemSource *ps, int *n, long *skipped, int *max_prompt) {
    int split = TASK_SPLIT_TEST;
    if (pc->task[0] && (split = task_split_parse(pc->split)) < 0) return -1;
    if (problems_open(ps, pc->task, pc->dataset, split, (uint64_t)s->seed, pc->difficulty, pc->max_difficulty, 0) != 0) return -1;
    int room = m->cfg.max_position - s->max_new_tokens;
    char limit[128];
    snprintf(limit, sizeof limit, "max_position_embeddings %d less max_new_tokens %d", m->cfg.max_position,
             s->max_new_tokens);
    // No room at all is rollout_open's message, with the fix.
    if (room >= 1 && rollout_check_prompts(ps, tok, s, room, limit, pc->skip_long_prompts, skipped) != 0) return -1;
    if (*skipped)
        fprintf(stderr, "%s: skipped %ld rows of %s whose prompts exceed %s (%ld kept)\n", cmd, *skipped,
                pc->dataset, limit, problems_count(ps));
    long count = problems_count(ps);
    *n = pc->problems;
    if (count >= 0 && (*n == 0 || *n > count)) *n = (int)count;
    if (*n < 1) return err_set("problems must be >= 1 for a task");
    // The rollout is sized for the longest prompt.
    PromptProblem p;
    *max_prompt = 1;
    for (int i = 0; i < *n; i++) {
        if (problems_get(ps, i, &p) != 0) return -1;
        int len = rollout_prompt_tokens(tok, s, &p);
        if (len < 0) return -1;
        if (len > *max_prompt) *max_prompt = len;
    }
    return 0;
}

int eval_run(const EvalConfig *c, EvalResult *r) {
    memset(r, 0, sizeof *r);
    if (!c->model[0]) return err_set("model: a model directory is required (--model DIR)");
    if (!c->src.task[0] == !c->src.dataset[0]) return err_set("give exactly one of --task and --dataset");
    threads_set(c->sample.threads);
    if (model_precision_set(c->sample.precision) != 0) return -1;
    double t0 = time_now();
    Model m = {0};
    Tokenizer *tok = NULL;
    ProblemSource ps = {0};
    Rollout ro = {0};
    JsonlWriter samples = {0};
    RewardSpec terms;
    char **ans = NULL;
    int *correct = NULL;
    int n = 0, rc = -1, max_prompt = 1, k = c->k, P = 0;
    memset(&terms, 0, sizeof terms);
    if (model_load_frozen(&m, c->model) != 0) return err_wrap("model %s", c->model);
    if (!(tok = tok_load(c->model))) goto done;
    if (eval_open_problems(&c->src, "eval", &c->sample, &m, tok, &ps, &n, &r->skipped_long_prompts, &max_prompt) != 0)
        goto done;
    // The verifier decides correctness; format is reported beside it (term 1).
    const char *verifier = problems_verifier(&ps);
    if (reward_parse_spec(&terms, verifier) != 0 || reward_parse_spec(&terms, "format") != 0) goto done;
    P = c->batch < n ? c->batch : n;
    if (rollout_open(&ro, &m, tok, &c->sample, P, k, max_prompt, &terms, verifier) != 0) goto done;
    // Under MPI the problems of a batch are dealt to the ranks, every rank
    // scores them all, and rank 0 alone writes.
    if (c->samples[0] && dist_rank() == 0 && jsonl_writer_open(&samples, c->samples, 1) != 0) goto done;
    ans = calloc((size_t)P * k, sizeof *ans);
    correct = calloc((size_t)P * k, sizeof *correct);
    if (!ans || !correct) {
        err_set("out of memory");
        goto done;
    }
    int slots[4096];
    for (int b = 0; b < P; b++) slots[b] = b;
    for (int b0 = 0; b0 < n; b0 += P) {
        int B = n - b0 < P ? n - b0 : P;
        for (int b = 0; b < B; b++)
            if (problems_get(&ps, b0 + b, &ro.groups[b].problem) != 0 || rollout_prepare(&ro, b) != 0) goto done;
        if (rollout_sample_dealt(&ro, slots, B, 0) != 0) goto done;
        int brc = score_batch(c, &ro, B, ans, correct, r, samples.f ? &samples : NULL);
        for (int i = 0; i < B * k; i++) free(ans[i]), ans[i] = NULL;
        if (brc != 0) goto done;
    }
    // Sums -> means.
    double rows = (double)n * k;
    r->k = k;
    r->n_problems = n;
    r->pass1 /= n;
    r->passk /= n;
    r->cons /= n;
    r->mean_length /= rows;
    r->format_rate /= rows;
    r->language_mixing /= rows;
    r->truncated /= rows;
    r->reflection_per_1k = r->tokens ? 1000.0 * r->reflection_per_1k / (double)r->tokens : 0;
    for (int d = 0; d <= TASK_MAX_DIFFICULTY; d++)
        if (r->n_by_diff[d]) {
            r->pass1_by_diff[d] /= r->n_by_diff[d];
            r->length_by_diff[d] /= (double)r->n_by_diff[d] * k;
        }
    r->seconds = time_now() - t0;
    rc = 0;
done:
    if (samples.f) jsonl_writer_close(&samples);
    for (int i = 0; ans && i < P * k; i++) free(ans[i]);
    free(ans);
    free(correct);
    rollout_close(&ro);
    problems_close(&ps);
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
    cJSON_AddNumberToObject(o, "skipped_long_prompts", (double)r->skipped_long_prompts);
    cJSON_AddNumberToObject(o, "mean_length", r->mean_length);
    cJSON_AddNumberToObject(o, "reflection_per_1k", r->reflection_per_1k);
    cJSON_AddNumberToObject(o, "format_rate", r->format_rate);
    cJSON_AddNumberToObject(o, "language_mixing", r->language_mixing);
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
    fprintf(f, "  %-22s %8.3f\n", "language mixing", r->language_mixing);
    fprintf(f, "  %-22s %8.3f\n", "truncated", r->truncated);
    for (int d = 0; d <= TASK_MAX_DIFFICULTY; d++)
        if (r->n_by_diff[d])
            fprintf(f, "  difficulty %-11s n %-4d pass@1 %.3f  length %.1f\n", d ? (char[2]){(char)('0' + d), 0} : "-",
                    r->n_by_diff[d], r->pass1_by_diff[d], r->length_by_diff[d]);
}
