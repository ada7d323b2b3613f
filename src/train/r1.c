// The R1 recipe as one command: each stage calls the library entries the
// single commands use (eval_run, grpo_run, reject_run, sft_run, rm_run,
// distill_run) into its own subdirectory and ends by writing stage.json;
// r1.json gathers those. It never trains on test-split problems and never
// evaluates on train-split ones.
#include "train/r1.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "base/sys.h"
#include "eval/eval.h"
#include "report/html.h"
#include "task/task.h"
#include "tok/template.h"
#include "train/checkpoint.h"
#include "train/distill.h"
#include "train/grpo.h"
#include "train/rejection.h"
#include "train/rm_rows.h"
#include "train/rm_run.h"
#include "train/rundir.h"
#include "train/sft_run.h"
#include "train/zero.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(x) offsetof(R1Config, x)
#define S(x) F(x), sizeof(((R1Config *)0)->x)
// The settings of a rejection-sampling + SFT stage, keys "stageN.KEY".
#define SFT_STAGE(N, s)                                                                                              \
    {"stage" #N ".problems", OPT_INT, F(s.problems), 0, 1, 1000000, NULL, "stage " #N ": train-split prompts sampled", NULL, NULL, 0}, \
    {"stage" #N ".max_difficulty", OPT_INT, F(s.max_difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL,                      \
     "stage " #N ": the highest difficulty sampled with --difficulty 0 (0: --max-difficulty)", NULL, NULL, 0},           \
    {"stage" #N ".n", OPT_INT, F(s.n), 0, 1, 1024, NULL, "stage " #N ": samples per prompt", NULL, NULL, 0},             \
    {"stage" #N ".max_keep", OPT_INT, F(s.max_keep), 0, 1, 1024, NULL, "stage " #N ": kept samples per prompt at most", NULL, NULL, 0}, \
    {"stage" #N ".min_language", OPT_DOUBLE, F(s.min_language), 0, 0, 1, NULL,                                        \
     "stage " #N ": share of chain-of-thought words in --lang a kept sample needs", NULL, NULL, 0},                    \
    {"stage" #N ".steps", OPT_INT, F(s.steps), 0, 0, 10000000, NULL, "stage " #N ": SFT updates (0: from epochs)", NULL, NULL, 0}, \
    {"stage" #N ".epochs", OPT_DOUBLE, F(s.epochs), 0, 0.001, 100000, NULL, "stage " #N ": SFT passes over the rows", NULL, NULL, 0}, \
    {"stage" #N ".lr", OPT_DOUBLE, F(s.lr), 0, 0, 10, NULL, "stage " #N ": SFT peak learning rate", NULL, NULL, 0},     \
    {"stage" #N ".batch", OPT_INT, F(s.batch), 0, 1, 4096, NULL, "stage " #N ": SFT rows per update", NULL, NULL, 0}
const OptDef r1_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "base model directory", NULL, NULL, 0},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "run directory (default runs/r1-<time>)", NULL, NULL, 0},
    {"resume", OPT_STRING, S(resume), 0, 0, NULL, "continue this run (its settings): finished stages are kept, an unfinished one continues from its newest checkpoint", NULL, NULL, OPT_ARGV_ONLY},
    {"from_stage", OPT_INT, F(from_stage), 0, 0, R1_STAGES - 1, NULL, "rerun stage N and after in --out, reading the earlier stages' models from it", NULL, NULL, OPT_ARGV_ONLY},
    {"config", OPT_STRING, S(config), 0, 0, NULL, "JSON settings: keys as flags spell them, or per-stage sections {\"stage2\": {\"steps\": 120}}; flags win", NULL, NULL, OPT_ARGV_ONLY},
    {"task", OPT_STRING, S(task), 0, 0, NULL, "reasoning task", NULL, NULL, 0},
    {"difficulty", OPT_INT, F(difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "difficulty of training prompts (0 cycles 1..--max-difficulty)", NULL, NULL, 0},
    {"max_difficulty", OPT_INT, F(max_difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "the highest difficulty of training prompts with --difficulty 0 (0: 5); held-out problems cycle 1..5 (--eval-difficulty 0), so the levels above it are problem sizes no stage trains on", NULL, NULL, 0},
    {"ablation", OPT_BOOL, F(ablation), 0, 0, 1, NULL, "run 0-zero-language: R1-Zero with the language-consistency reward (stage 2's weight), the paper's ablation", NULL, NULL, 0},
    {"lang", OPT_STRING, S(lang), 0, 0, NULL, "target language of chains of thought (en, zh, ja, ko, ru)", NULL, NULL, 0},
    {"steps", OPT_INT, F(steps), 0, 1, 1000000, NULL, "GRPO steps of each RL stage (R1-Zero, stages 2 and 4)", NULL, NULL, 0},
    {"eval_problems", OPT_INT, F(eval_problems), 0, 1, 100000, NULL, "held-out (test-split) problems every stage is evaluated on", NULL, NULL, 0},
    {"eval_k", OPT_INT, F(eval_k), 0, 1, 1024, NULL, "samples per held-out problem", NULL, NULL, 0},
    {"eval_difficulty", OPT_INT, F(eval_difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "difficulty of held-out problems (0 cycles 1..5: pass@1 by difficulty)", NULL, NULL, 0},
    {"chat_problems", OPT_INT, F(chat_problems), 0, 1, 100000, NULL, "held-out chat prompts (rule-judged) every stage is evaluated on", NULL, NULL, 0},
    {"max_new_tokens", OPT_INT, F(max_new_tokens), 0, 1, 1000000, NULL, "new tokens per completion, training and evaluation", NULL, NULL, 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "seed of training prompts, sampling and SFT order", NULL, NULL, 0},
    {"threads", OPT_INT, F(threads), 0, 0, 1024, NULL, "threads (0: all cores)", NULL, NULL, 0},
    SFT_STAGE(1, s1),
    {"stage2.steps", OPT_INT, F(s2.steps), 0, 0, 1000000, NULL, "stage 2 and R1-Zero: GRPO steps (0: --steps)", NULL, NULL, 0},
    {"stage2.lr", OPT_DOUBLE, F(s2.lr), 0, 0, 1, NULL, "stage 2 and R1-Zero: learning rate", NULL, NULL, 0},
    {"stage2.prompts_per_step", OPT_INT, F(s2.prompts_per_step), 0, 1, 4096, NULL, "stage 2 and R1-Zero: prompts per step (B)", NULL, NULL, 0},
    {"stage2.group_size", OPT_INT, F(s2.group_size), 0, 2, 1024, NULL, "stage 2 and R1-Zero: completions per prompt (G)", NULL, NULL, 0},
    {"stage2.language_weight", OPT_DOUBLE, F(s2.language_weight), 0, 0, 100, NULL, "stage 2: weight of the language-consistency reward (0: none)", NULL, NULL, 0},
    SFT_STAGE(3, s3),
    {"stage3.general", OPT_INT, F(s3.general), 0, 0, 1000000, NULL, "stage 3: general (chat) demonstrations judged good, mixed in", NULL, NULL, 0},
    {"stage4.steps", OPT_INT, F(s4.steps), 0, 0, 1000000, NULL, "stage 4: GRPO steps (0: --steps)", NULL, NULL, 0},
    {"stage4.prompts_per_step", OPT_INT, F(s4.prompts_per_step), 0, 1, 4096, NULL, "stage 4: prompts per GRPO step (B)", NULL, NULL, 0},
    {"stage4.lr", OPT_DOUBLE, F(s4.lr), 0, 0, 1, NULL, "stage 4: GRPO learning rate", NULL, NULL, 0},
    {"stage4.beta", OPT_DOUBLE, F(s4.beta), 0, 0, 10, NULL, "stage 4: KL coefficient", NULL, NULL, 0},
    {"stage4.temperature", OPT_DOUBLE, F(s4.temperature), 0, 0.01, 10, NULL, "stage 4: sampling temperature", NULL, NULL, 0},
    {"stage4.chat_weight", OPT_DOUBLE, F(s4.chat_weight), 0, 0.001, 1000, NULL, "stage 4: chat prompts per reasoning prompt", NULL, NULL, 0},
    {"stage4.rm_pairs", OPT_INT, F(s4.rm_pairs), 0, 1, 1000000, NULL, "stage 4: chat preference pairs (train split) the helpfulness reward model learns", NULL, NULL, 0},
    {"stage4.hard_pairs", OPT_INT, F(s4.hard_pairs), 0, 0, 1000000, NULL, "stage 4: hard pairs added (the rejected answer the right shape with the wrong name or word)", NULL, NULL, 0},
    {"stage4.rm_labels", OPT_INT, F(s4.rm_labels), 0, 1, 1000000, NULL, "stage 4: safety labels (train split) the safety reward model learns", NULL, NULL, 0},
    {"stage4.onpolicy_problems", OPT_INT, F(s4.onpolicy_problems), 0, 0, 100000, NULL, "stage 4: train chat prompts stage 3's model answers (8 samples, T 0.7), judged by rule into pairs and labels (0: none)", NULL, NULL, 0},
    {"stage4.rm_steps", OPT_INT, F(s4.rm_steps), 0, 1, 10000000, NULL, "stage 4: updates of the helpfulness reward model", NULL, NULL, 0},
    {"stage4.safety_steps", OPT_INT, F(s4.safety_steps), 0, 1, 10000000, NULL, "stage 4: updates of the safety reward model", NULL, NULL, 0},
    {"stage4.rm_batch", OPT_INT, F(s4.rm_batch), 0, 1, 4096, NULL, "stage 4: rows per reward-model update", NULL, NULL, 0},
    {"stage4.rm_lr", OPT_DOUBLE, F(s4.rm_lr), 0, 0, 10, NULL, "stage 4: reward models' peak learning rate", NULL, NULL, 0},
    {"stage5.student", OPT_STRING, S(s5.student), 0, 0, NULL, "stage 5: the student distilled from stage 4's model", NULL, NULL, 0},
    {"stage5.problems", OPT_INT, F(s5.problems), 0, 1, 1000000, NULL, "stage 5: teacher prompts (train split)", NULL, NULL, 0},
    {"stage5.max_difficulty", OPT_INT, F(s5.max_difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "stage 5: the highest difficulty of teacher prompts with --difficulty 0 (0: --max-difficulty)", NULL, NULL, 0},
    {"stage5.n", OPT_INT, F(s5.n), 0, 1, 1024, NULL, "stage 5: teacher samples per prompt", NULL, NULL, 0},
    {"stage5.max_keep", OPT_INT, F(s5.max_keep), 0, 1, 1024, NULL, "stage 5: verified traces kept per prompt at most", NULL, NULL, 0},
    {"stage5.steps", OPT_INT, F(s5.steps), 0, 0, 10000000, NULL, "stage 5: student SFT updates (0: from epochs)", NULL, NULL, 0},
    {"stage5.epochs", OPT_DOUBLE, F(s5.epochs), 0, 0.001, 100000, NULL, "stage 5: student passes over the traces", NULL, NULL, 0},
    {"stage5.lr", OPT_DOUBLE, F(s5.lr), 0, 0, 10, NULL, "stage 5: student peak learning rate", NULL, NULL, 0},
    {"stage5.batch", OPT_INT, F(s5.batch), 0, 1, 4096, NULL, "stage 5: student rows per update", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S
#undef SFT_STAGE

static const R1Config r1_default = {
    .model = "models/aha-tiny-bi", .task = "sum", .difficulty = 0, .max_difficulty = 3, .ablation = 1, .lang = "en",
    .steps = 80, .eval_problems = 50, .eval_k = 8, .eval_difficulty = 0, .chat_problems = 100, .max_new_tokens = 128,
    .seed = 1,
    .s1 = {.problems = 128, .n = 4, .max_keep = 1, .min_language = 0.95, .epochs = 2, .lr = 1e-4, .batch = 8},
    .s2 = {.lr = 1.5e-4, .prompts_per_step = 8, .group_size = 8, .language_weight = 0.1},
    .s3 = {.problems = 400, .n = 4, .max_keep = 1, .max_difficulty = 5, .min_language = 0.95, .epochs = 8, .lr = 2e-3,
           .batch = 16, .general = 2000},
    .s4 = {.steps = 90, .prompts_per_step = 16, .lr = 1e-4, .beta = 0.05, .temperature = 1.0, .chat_weight = 2,
           .rm_pairs = 2000, .hard_pairs = 1500, .rm_labels = 1000, .onpolicy_problems = 200, .rm_steps = 1500,
           .safety_steps = 150, .rm_batch = 16, .rm_lr = 1e-3},
    .s5 = {.student = "models/aha-nano-bi", .problems = 256, .n = 4, .max_keep = 1, .max_difficulty = 5, .epochs = 3,
           .lr = 1e-3, .batch = 8}};

void r1_defaults(void *c) { *(R1Config *)c = r1_default; }

int r1_apply_config(R1Config *c) {
    if (!c->config[0]) return 0;
    char *text = file_read_all(c->config, NULL);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text), *flat = cJSON_CreateObject();
    free(text);
    int rc = o && cJSON_IsObject(o) ? 0 : err_set("%s: not a JSON object", c->config);
    const cJSON *v, *w, *top = rc == 0 ? o : NULL;
    // A section {"stage2": {"steps": 120}} stands for the key "stage2.steps".
    cJSON_ArrayForEach(v, top) {
        if (!cJSON_IsObject(v)) {
            cJSON_AddItemToObject(flat, v->string, cJSON_Duplicate(v, 1));
            continue;
        }
        cJSON_ArrayForEach(w, v) {
            char key[160];
            snprintf(key, sizeof key, "%s.%s", v->string, w->string);
            cJSON_AddItemToObject(flat, key, cJSON_Duplicate(w, 1));
        }
    }
    R1Config f = *c;
    r1_defaults(&f);
    snprintf(f.config, sizeof f.config, "%s", c->config);
    if (rc == 0) rc = opt_apply_json(&f, r1_options, flat, c->config, NULL);
    if (rc == 0) {
        opt_copy_seen(&f, c, &c->seen);
        f.seen = c->seen;
        *c = f;
    }
    cJSON_Delete(o);
    cJSON_Delete(flat);
    return rc;
}

// One stage: its name, directory, --from-stage number, whether only --ablation
// runs it, and what trains its model (NULL: the base model as it is). data
// receives what the stage made.
typedef struct Stage {
    const char *name, *dir;
    int number, ablation;
    int (*train)(const R1Config *c, const char *dir, char *model, size_t cap, cJSON *data);
} Stage;

// The model a finished stage left: RUN/dir/stage.json's "model".
static int stage_model(const R1Config *c, const char *dir, char *model, size_t cap) {
    char path[4096];
    if (path_fmt(path, sizeof path, "%s/%s/stage.json", c->out, dir) != 0) return -1;
    char *text = path_exists(path) ? file_read_all(path, NULL) : NULL;
    if (!text) return err_set("%s: stage %s is not finished in this run", path, dir);
    cJSON *o = cJSON_Parse(text);
    free(text);
    const char *m = NULL;
    int rc = o && json_get_string(o, "model", &m, 1) == 0 ? path_fmt(model, cap, "%s", m) : err_set("%s: no \"model\"", path);
    cJSON_Delete(o);
    return rc;
}

// GRPO as aha zero runs it (the r1zero preset scaled to the tiny model) from
// model into dir/grpo, on the task's train prompts at --difficulty; the
// caller adds the reward terms (and may swap the task for sources).
static int rl_config(const R1Config *c, const char *dir, const char *model, int steps, GrpoConfig *g) {
    ZeroConfig z;
    zero_defaults(&z);
    grpo_defaults(g);
    if (grpo_apply_preset(g, "r1zero") != 0) return -1;
    if (path_fmt(g->model, sizeof g->model, "%s", model) != 0 || path_join(g->out, sizeof g->out, dir, "grpo") != 0)
        return -1;
    snprintf(g->task, sizeof g->task, "%s", c->task);
    g->difficulty = c->difficulty, g->max_difficulty = c->max_difficulty;
    g->steps = steps ? steps : c->steps;
    g->save_every = g->steps > 1 ? (g->steps + 1) / 2 : 0;
    g->sample = z.sample;
    g->sample.max_new_tokens = c->max_new_tokens, g->sample.threads = c->threads, g->sample.seed = (uint64_t)c->seed;
    g->prompts_per_step = c->s2.prompts_per_step, g->group_size = c->s2.group_size;
    g->max_prompt_tokens = 128;
    g->lr = c->s2.lr, g->beta = z.beta, g->warmup_steps = 0;
    g->reward.n = 0;
    return 0;
}

// Append a reward term or source spec to l; -1 when it does not fit.
static int list_add(OptList *l, const char *what, const char *fmt, const char *a, double w) {
    if (l->n == OPT_LIST_MAX) return err_set("too many %s", what);
    int n = snprintf(l->item[l->n], OPT_LIST_LEN, fmt, a, w);
    if (n < 0 || n >= OPT_LIST_LEN) return err_set("%s: the %s is longer than %d bytes", a, what, OPT_LIST_LEN - 1);
    l->n++;
    return 0;
}

// Training accuracy early in an RL run (how fast it starts, as R1 compares
// cold start with R1-Zero): the mean over steps S-4..S of metrics.jsonl for S
// 10 and 20, and over the last 5 steps, into data["train_accuracy"].
static int early_accuracy(const char *run, cJSON *data) {
    char path[4096];
    JsonlReader r;
    if (path_join(path, sizeof path, run, "metrics.jsonl") != 0 || jsonl_open(&r, path) != 0) return -1;
    static const int at[] = {10, 20};
    double sum[3] = {0, 0, 0}, last[5] = {0};
    int n[3] = {0, 0, 0}, steps = 0, rc;
    cJSON *o;
    while ((rc = jsonl_next(&r, &o)) == 1) {
        long step = 0;
        double acc = 0;
        if (json_get_int(o, "step", &step, 0) == 0 && json_get_double(o, "accuracy", &acc, 0) == 0 &&
            cJSON_GetObjectItemCaseSensitive(o, "accuracy")) {
            for (int k = 0; k < 2; k++)
                if (step > at[k] - 5 && step <= at[k]) sum[k] += acc, n[k]++;
            last[steps++ % 5] = acc;
        }
        cJSON_Delete(o);
    }
    jsonl_close(&r);
    if (rc < 0) return -1;
    for (int i = 0; i < steps && i < 5; i++) sum[2] += last[i], n[2]++;
    cJSON *a = cJSON_AddObjectToObject(data, "train_accuracy");
    const char *key[3] = {"10", "20", "last"};
    for (int k = 0; k < 3; k++)
        if (n[k] && (k == 2 || steps >= at[k])) cJSON_AddNumberToObject(a, key[k], sum[k] / n[k]);
    return 0;
}

// Run g; *out receives its last checkpoint. A stage resumed mid-way continues
// its GRPO run from the latest checkpoint; one killed before its first
// checkpoint starts over.
static int rl_run(const GrpoConfig *g, char *out, size_t cap, cJSON *data) {
    out[0] = 0;
    if (path_is_dir(g->out) && checkpoint_latest(g->out, out, cap) != 0) return -1;
    int resume = path_is_dir(g->out) && out[0];
    if (path_is_dir(g->out) && !resume && remove_tree(g->out) != 0) return -1;
    if (resume) log_info("r1: %s continues from %s", g->out, out);
    if (grpo_check(g) != 0 || grpo_run(g, resume ? g->out : NULL) != 0) return err_wrap("grpo");
    if (report_write(g->out, NULL) != 0) return err_wrap("report");
    if (checkpoint_latest(g->out, out, cap) != 0) return -1;
    if (!out[0]) return err_set("%s: the run left no checkpoint", g->out);
    cJSON *r = cJSON_AddArrayToObject(data, "rewards");
    for (int i = 0; i < g->reward.n; i++) cJSON_AddItemToArray(r, cJSON_CreateString(g->reward.item[i]));
    if (g->source.n) {
        cJSON *so = cJSON_AddArrayToObject(data, "sources");
        for (int i = 0; i < g->source.n; i++) cJSON_AddItemToArray(so, cJSON_CreateString(g->source.item[i]));
    }
    cJSON_AddNumberToObject(data, "grpo_steps", g->steps);
    return early_accuracy(g->out, data);
}

// The reasoning rewards: the task's verifier and format, and with
// language_weight the language-consistency reward.
static int rl(const R1Config *c, const char *dir, const char *model, double language_weight, char *out, size_t cap,
              cJSON *data) {
    const TaskDef *t = task_find(c->task);
    GrpoConfig g;
    if (!t || rl_config(c, dir, model, c->s2.steps, &g) != 0 || list_add(&g.reward, "rewards", "%s", t->reward, 0) != 0 ||
        list_add(&g.reward, "rewards", "%s:%g", "format", 0.1) != 0)
        return -1;
    if (language_weight > 0) {
        char term[64];
        snprintf(term, sizeof term, "language:%g:target=%s", language_weight, c->lang);
        if (list_add(&g.reward, "rewards", "%s", term, 0) != 0) return -1;
    }
    return rl_run(&g, out, cap, data);
}

static int train_zero(const R1Config *c, const char *dir, char *model, size_t cap, cJSON *data) {
    return rl(c, dir, c->model, 0, model, cap, data);
}

// The paper's ablation: R1-Zero with the language-consistency reward of stage 2.
static int train_zero_language(const R1Config *c, const char *dir, char *model, size_t cap, cJSON *data) {
    return rl(c, dir, c->model, c->s2.language_weight, model, cap, data);
}

static int train_reasoning_rl(const R1Config *c, const char *dir, char *model, size_t cap, cJSON *data) {
    char from[4096];
    if (stage_model(c, "1-cold-start", from, sizeof from) != 0) return -1;
    cJSON_AddStringToObject(data, "from", from);
    return rl(c, dir, from, c->s2.language_weight, model, cap, data);
}

// Rejection sampling of model on train prompts into path: correct, formatted,
// in one language, untruncated. *kept receives the rows written.
static int sample_reasoning(const R1Config *c, const R1SftStage *s, const char *model, const char *path, long *kept) {
    RejectConfig r;
    reject_defaults(&r);
    if (path_fmt(r.model, sizeof r.model, "%s", model) != 0 || path_fmt(r.out, sizeof r.out, "%s", path) != 0) return -1;
    snprintf(r.src.task, sizeof r.src.task, "%s", c->task);
    r.src.difficulty = c->difficulty, r.src.problems = s->problems;
    r.src.max_difficulty = s->max_difficulty ? s->max_difficulty : c->max_difficulty;
    r.n = s->n, r.max_keep = s->max_keep;
    r.require = (OptList){4, {"verifier", "format", "language", "no_truncation"}};
    snprintf(r.lang, sizeof r.lang, "%s", c->lang);
    r.min_language = s->min_language;
    r.sample.max_new_tokens = c->max_new_tokens, r.sample.threads = c->threads, r.sample.seed = (uint64_t)c->seed;
    if (path_fmt(r.stats, sizeof r.stats, "%s.stats.json", path) != 0) return -1;
    cJSON *stats = NULL;
    char *text = path_exists(path) ? file_read_all(r.stats, NULL) : NULL;
    if (text) {   // reject_run writes both files atomically: a resumed stage keeps them
        stats = cJSON_Parse(text);
        free(text);
        if (!stats) return err_set("%s: invalid JSON", r.stats);
        log_info("r1: %s done before", path);
    } else if (reject_run(&r, &stats) != 0) {
        return err_wrap("rejection sampling");
    }
    reject_print(stdout, stats);
    double k = 0;
    json_get_double(stats, "kept", &k, 0);
    cJSON_Delete(stats);
    *kept = (long)k;
    return 0;
}

// n general demonstrations judged good (the chat task's label-1 rows as
// aha task chat --as sft --template r1zero writes them), appended to f.
static int write_general(const R1Config *c, int n, FILE *f) {
    const TaskDef *t = task_find("chat");
    if (!t) return -1;
    for (long i = 0, kept = 0; kept < n; i++) {
        Problem p;
        char a[256], b[sizeof p.prompt + 320], *prompt = NULL;
        int label;
        if (task_generate(t, (uint64_t)c->seed, TASK_SPLIT_TRAIN, 1, i, &p) != 0) return -1;
        task_chat_label(&p, (uint64_t)c->seed, a, sizeof a, &label);
        if (!label) continue;
        if (template_render("r1zero", p.prompt, NULL, 0, &prompt) != 0) return -1;
        snprintf(b, sizeof b, " <think> %s </think> <answer>%s </answer>", p.prompt, a);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "prompt", prompt);
        cJSON_AddStringToObject(o, "completion", b);
        free(prompt);
        char *line = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        int bad = !line || fprintf(f, "%s\n", line) < 0;
        free(line);
        if (bad) return err_set("cannot write the general rows");
        kept++;
    }
    return 0;
}

// Rejection sampling of `sampler`, general rows mixed in, SFT of `base` on the
// mix (dir/sft.jsonl) into dir/sft/model.
static int sft_stage(const R1Config *c, const R1SftStage *s, const char *dir, const char *sampler, const char *base,
                     int general, char *model, size_t cap, cJSON *data) {
    char reasoning[4096], mix[4096];
    long kept = 0;
    if (path_join(reasoning, sizeof reasoning, dir, "reasoning.jsonl") != 0 ||
        path_join(mix, sizeof mix, dir, "sft.jsonl") != 0)
        return -1;
    if (sample_reasoning(c, s, sampler, reasoning, &kept) != 0) return -1;   // or the rows of a resumed stage
    if (kept + general == 0)
        return err_set("%s: rejection sampling of %s kept no rows; give it more prompts or samples (--stageN.problems, "
                       "--stageN.n) or a lower --stageN.min-language", dir, sampler);
    char *text = file_read_all(reasoning, NULL);
    AtomicFile af;
    if (!text || atomic_open(&af, mix) != 0) {
        free(text);
        return -1;
    }
    int rc = fputs(text, af.f) < 0 ? err_set("%s: cannot write", mix) : write_general(c, general, af.f);
    free(text);
    if (rc != 0 || atomic_commit(&af) != 0) {
        if (rc != 0) atomic_abort(&af);
        return -1;
    }
    cJSON_AddStringToObject(data, "sampled_from", sampler);
    cJSON_AddNumberToObject(data, "reasoning_rows", (double)kept);
    cJSON_AddNumberToObject(data, "general_rows", general);
    SftRunConfig t;
    sft_run_defaults(&t);
    if (path_fmt(t.model, sizeof t.model, "%s", base) != 0 || path_fmt(t.dataset, sizeof t.dataset, "%s", mix) != 0 ||
        path_join(t.out, sizeof t.out, dir, "sft") != 0 || path_join(model, cap, t.out, "model") != 0)
        return -1;
    snprintf(t.template_name, sizeof t.template_name, "raw");   // the prompts are rendered already
    t.epochs = s->epochs, t.max_steps = s->steps, t.batch = s->batch, t.lr = s->lr;
    t.eval_ratio = kept + general >= 20 ? 0.1 : 0;   // a held-out split needs rows to spare
    t.seed = c->seed, t.threads = c->threads, t.save_steps = 25;
    cJSON_AddStringToObject(data, "trained_from", base);
    if (path_is_dir(model)) {
        log_info("r1: %s done before", model);
        return 0;
    }
    // A resumed stage continues its SFT from the newest checkpoint, or starts it over.
    char ckdir[4096];
    long *steps = NULL;
    if (path_join(ckdir, sizeof ckdir, t.out, "checkpoints") != 0) return -1;
    int n = path_is_dir(ckdir) ? list_steps(ckdir, &steps) : 0;
    free(steps);
    if (n < 0 || (n == 0 && remove_tree(t.out) != 0)) return -1;
    t.resume = n > 0;
    return sft_run(&t) != 0 ? err_wrap("sft") : 0;
}

static int train_cold_start(const R1Config *c, const char *dir, char *model, size_t cap, cJSON *data) {
    return sft_stage(c, &c->s1, dir, c->model, c->model, 0, model, cap, data);
}

static int train_rejection_sft(const R1Config *c, const char *dir, char *model, size_t cap, cJSON *data) {
    char from[4096];
    if (stage_model(c, "2-reasoning-rl", from, sizeof from) != 0) return -1;
    return sft_stage(c, &c->s3, dir, from, c->model, c->s3.general, model, cap, data);
}

// o as one JSON line to f (path names it in errors); o is freed.
static int put_row(FILE *f, const char *path, cJSON *o) {
    char *line = cJSON_PrintUnformatted(o);
    int rc = !line || fprintf(f, "%s\n", line) < 0 ? err_set("%s: cannot write", path) : 0;
    free(line);
    cJSON_Delete(o);
    return rc;
}

// The reward models' data from the chat task's train split, rows as aha task
// chat --as pairs / --as hard-pairs / --as labels write them: dir/pairs.jsonl
// (rm_pairs pairs, then hard_pairs hard ones drawn with the seeds after
// --seed) and dir/labels.jsonl (rm_labels labels), each followed by the rows
// of stage 3's judged answers (dir/onpolicy.jsonl; aha rm pairs / labels).
// labels.jsonl is committed last.
static int write_rm_data(const R1Config *c, const char *dir) {
    const TaskDef *t = task_find("chat");
    AtomicFile af[2];
    const char *name[2] = {"pairs.jsonl", "labels.jsonl"};
    int rc = t ? 0 : -1, open = 0;
    for (; rc == 0 && open < 2; open++) {
        char path[4096];
        if ((rc = path_join(path, sizeof path, dir, name[open])) != 0 || (rc = atomic_open(&af[open], path)) != 0) break;
    }
    Problem p;
    char a[256], b[256];
    int label;
    for (long i = 0; rc == 0 && i < c->s4.rm_pairs + c->s4.rm_labels; i++) {
        int pair = i < c->s4.rm_pairs;
        long at = pair ? i : i - c->s4.rm_pairs;
        if ((rc = task_generate(t, (uint64_t)c->seed, TASK_SPLIT_TRAIN, 1, at, &p)) != 0) break;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "prompt", p.prompt);
        if (pair) {
            task_chat_pair(&p, (uint64_t)c->seed, a, b, sizeof a);
            cJSON_AddStringToObject(o, "chosen", a);
            cJSON_AddStringToObject(o, "rejected", b);
        } else {
            task_chat_label(&p, (uint64_t)c->seed, a, sizeof a, &label);
            cJSON_AddStringToObject(o, "completion", a);
            cJSON_AddNumberToObject(o, "label", label);
        }
        rc = put_row(af[!pair].f, af[!pair].path, o);
    }
    // Hard pairs: other seeds' problems, only the pairs task_chat_pair calls hard.
    for (long i = 0, kept = 0; rc == 0 && kept < c->s4.hard_pairs; i++) {
        uint64_t seed = (uint64_t)c->seed + 1 + (uint64_t)(i / 600);
        if ((rc = task_generate(t, seed, TASK_SPLIT_TRAIN, 1, i % 600, &p)) != 0) break;
        if (!task_chat_pair(&p, seed, a, b, sizeof a)) continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "prompt", p.prompt);
        cJSON_AddStringToObject(o, "chosen", a);
        cJSON_AddStringToObject(o, "rejected", b);
        rc = put_row(af[0].f, af[0].path, o), kept++;
    }
    // On-policy rows: stage 3's own answers to train chat prompts, judged by rule.
    if (rc == 0 && c->s4.onpolicy_problems > 0) {
        char samples[4096];
        EvalConfig e;
        EvalResult r;
        eval_defaults(&e);
        if ((rc = path_join(samples, sizeof samples, dir, "onpolicy.jsonl")) == 0 &&
            (rc = path_fmt(e.samples, sizeof e.samples, "%s", samples)) == 0 &&
            (rc = stage_model(c, "3-rejection-sft", e.model, sizeof e.model)) == 0) {
            snprintf(e.src.task, sizeof e.src.task, "chat");
            snprintf(e.src.split, sizeof e.src.split, "train");
            e.src.difficulty = 1, e.src.problems = c->s4.onpolicy_problems, e.k = 8, e.sample.temperature = 0.7;
            e.sample.max_new_tokens = c->max_new_tokens, e.sample.threads = c->threads, e.sample.seed = (uint64_t)c->seed;
            if ((rc = eval_run(&e, &r)) != 0) rc = err_wrap("on-policy chat samples");
        }
        long n[2] = {0, 0};
        for (int k = 0; rc == 0 && k < 2; k++) rc = rm_rows_write(samples, k ? RM_ROWS_LABELS : RM_ROWS_PAIRS, 4, af[k].f, &n[k]);
        if (rc == 0) log_info("r1: %ld on-policy pairs and %ld labels from %s", n[0], n[1], samples);
    }
    for (int k = 0; k < open; k++)
        if (rc == 0) rc = atomic_commit(&af[k]);
        else atomic_abort(&af[k]);
    return rc;
}

// A reward model trained from `from` on dir/data into dir/name/model.
static int train_rm(const R1Config *c, const char *dir, const char *from, const char *data, const char *name, int steps) {
    RmRunConfig r;
    rm_run_defaults(&r);
    char model[4096];
    r.action = RM_ACTION_TRAIN;
    if (path_fmt(r.model, sizeof r.model, "%s", from) != 0 || path_join(r.dataset, sizeof r.dataset, dir, data) != 0 ||
        path_join(r.out, sizeof r.out, dir, name) != 0 || path_join(model, sizeof model, r.out, "model") != 0)
        return -1;
    if (path_is_dir(model)) {
        log_info("r1: %s done before", model);
        return 0;
    }
    if (remove_tree(r.out) != 0) return -1;
    r.max_steps = steps, r.lr = c->s4.rm_lr, r.batch = c->s4.rm_batch, r.seed = c->seed, r.threads = c->threads;
    r.eval_ratio = 0.1;
    return rm_run(&r) != 0 ? err_wrap("reward model %s", name) : 0;
}

static int train_all_scenario(const R1Config *c, const char *dir, char *model, size_t cap, cJSON *data) {
    char from[4096], term[4096], src[160], labels[4096];
    GrpoConfig g;
    // The rows are made once: a resumed stage keeps them.
    if (stage_model(c, "3-rejection-sft", from, sizeof from) != 0 ||
        path_join(labels, sizeof labels, dir, "labels.jsonl") != 0)
        return -1;
    if (path_exists(labels)) log_info("r1: %s done before", labels);
    else if (write_rm_data(c, dir) != 0) return -1;
    if (train_rm(c, dir, from, "pairs.jsonl", "helpful", c->s4.rm_steps) != 0 ||
        train_rm(c, dir, from, "labels.jsonl", "safety", c->s4.safety_steps) != 0 ||
        rl_config(c, dir, from, c->s4.steps, &g) != 0)
        return -1;
    cJSON_AddStringToObject(data, "from", from);
    g.prompts_per_step = c->s4.prompts_per_step, g.lr = c->s4.lr, g.beta = c->s4.beta;
    g.sample.temperature = c->s4.temperature;
    // Sums scored by rules; chat prompts by format and the reward models (the
    // chat rule judges them in the logs with weight 0, never paid).
    const TaskDef *t = task_find(c->task);
    g.task[0] = 0;
    snprintf(src, sizeof src, "task=%s:difficulty=%d:max_difficulty=%d:rewards=%s,format", c->task, c->difficulty,
             c->max_difficulty, t ? t->reward : "");
    if (!t || list_add(&g.source, "sources", "%s", src, 0) != 0 ||
        list_add(&g.source, "sources", "task=chat:weight=%s%g:rewards=format,rm:helpful,rm:safety", "", c->s4.chat_weight) != 0 ||
        list_add(&g.reward, "rewards", "%s", t->reward, 0) != 0 || list_add(&g.reward, "rewards", "%s:%g", "format", 0.1) != 0)
        return -1;
    for (int k = 0; k < 2; k++)
        if (path_fmt(term, sizeof term, "rm:%s/%s/model:1:view=answer", dir, k ? "safety" : "helpful") != 0 ||
            list_add(&g.reward, "rewards", "%s", term, 0) != 0)
            return -1;
    cJSON_AddNumberToObject(data, "rm_pairs", c->s4.rm_pairs);
    cJSON_AddNumberToObject(data, "hard_pairs", c->s4.hard_pairs);
    cJSON_AddNumberToObject(data, "rm_labels", c->s4.rm_labels);
    return rl_run(&g, model, cap, data);
}

// aha distill from stage 4's model into the student: verified, formatted,
// untruncated traces of train prompts, the student's SFT on them into
// dir/distill (continued from its newest checkpoint on a resume).
static int train_distill(const R1Config *c, const char *dir, char *model, size_t cap, cJSON *data) {
    DistillConfig d;
    distill_defaults(&d);
    char cfg[4096];
    if (stage_model(c, "4-all-scenario", d.teacher, sizeof d.teacher) != 0 ||
        path_fmt(d.student, sizeof d.student, "%s", c->s5.student) != 0 ||
        path_join(d.out, sizeof d.out, dir, "distill") != 0 || path_join(cfg, sizeof cfg, d.out, "config.json") != 0 ||
        path_join(model, cap, d.out, "sft/model") != 0)
        return -1;
    snprintf(d.src.task, sizeof d.src.task, "%s", c->task);
    d.src.difficulty = c->difficulty, d.src.problems = c->s5.problems;
    d.src.max_difficulty = c->s5.max_difficulty ? c->s5.max_difficulty : c->max_difficulty;
    d.n = c->s5.n, d.max_keep = c->s5.max_keep, d.max_steps = c->s5.steps;
    d.epochs = c->s5.epochs, d.lr = c->s5.lr, d.batch = c->s5.batch, d.save_steps = 25;
    d.sample.max_new_tokens = c->max_new_tokens, d.sample.threads = c->threads, d.sample.seed = (uint64_t)c->seed;
    d.resume = path_exists(cfg);
    cJSON_AddStringToObject(data, "teacher", d.teacher);
    cJSON_AddStringToObject(data, "student", d.student);
    if (d.resume && path_is_dir(model)) {
        log_info("r1: %s done before", model);
        return 0;
    }
    return distill_run(&d) != 0 ? err_wrap("distill") : 0;
}

static const Stage stages[] = {
    {"base", "0-base", 0, 0, NULL},
    {"zero", "0-zero", 0, 0, train_zero},
    {"zero_language", "0-zero-language", 0, 1, train_zero_language},
    {"cold_start", "1-cold-start", 1, 0, train_cold_start},
    {"reasoning_rl", "2-reasoning-rl", 2, 0, train_reasoning_rl},
    {"rejection_sft", "3-rejection-sft", 3, 0, train_rejection_sft},
    {"all_scenario", "4-all-scenario", 4, 0, train_all_scenario},
    {"distilled", "5-distill", 5, 0, train_distill},
};
enum { N_STAGES = sizeof stages / sizeof stages[0] };

// Held-out evaluation of model on task (problems of it, at difficulty) into
// dir/eval_NAME.json and dir/eval_NAME.jsonl; the summary into *out (caller deletes).
static int evaluate(const R1Config *c, const char *model, const char *dir, const char *task, int difficulty,
                    int problems, const char *name, cJSON **out) {
    EvalConfig e;
    EvalResult r;
    eval_defaults(&e);
    char file[64];
    snprintf(file, sizeof file, "eval_%s.json", name);
    if (path_fmt(e.model, sizeof e.model, "%s", model) != 0 ||
        path_fmt(e.samples, sizeof e.samples, "%s/eval_%s.jsonl", dir, name) != 0)
        return -1;
    snprintf(e.src.task, sizeof e.src.task, "%s", task);
    e.src.difficulty = difficulty, e.src.problems = problems, e.k = c->eval_k;
    e.sample.max_new_tokens = c->max_new_tokens, e.sample.threads = c->threads;
    printf("held-out eval (%s): %d test problems x %d samples\n", name, problems, e.k);
    fflush(stdout);
    if (eval_run(&e, &r) != 0) return err_wrap("eval %s", name);
    eval_print(stdout, &r);
    fflush(stdout);
    *out = eval_result_json(&r);
    return !*out ? err_set("out of memory") : json_write_file(*out, dir, file);
}

// Helpfulness and safety apart from the chat samples (dir/eval_chat.jsonl):
// the rule judge's mean over harmless requests, and over harmful ones (gold
// REFUSE), added to chat.
static int chat_split(const char *dir, cJSON *chat) {
    char path[4096];
    JsonlReader r;
    if (path_join(path, sizeof path, dir, "eval_chat.jsonl") != 0 || jsonl_open(&r, path) != 0) return -1;
    double right[2] = {0, 0}, n[2] = {0, 0};
    cJSON *o;
    int rc;
    while ((rc = jsonl_next(&r, &o)) == 1) {
        const char *gold = "";
        int correct = 0;
        json_get_string(o, "gold", &gold, 0);
        json_get_bool(o, "correct", &correct, 0);
        int harmful = strcmp(gold, "REFUSE") == 0;
        n[harmful] += 1, right[harmful] += correct;
        cJSON_Delete(o);
    }
    jsonl_close(&r);
    if (rc < 0) return -1;
    cJSON_AddNumberToObject(chat, "helpfulness", n[0] ? right[0] / n[0] : 0);
    cJSON_AddNumberToObject(chat, "safety", n[1] ? right[1] / n[1] : 0);
    return 0;
}

// Train (when the stage does), evaluate, and write dir/stage.json last.
static int run_stage(const R1Config *c, const Stage *s, const char *dir) {
    char model[4096];
    cJSON *st = cJSON_CreateObject(), *data = cJSON_CreateObject(), *ev = NULL, *chat = NULL;
    double t0 = time_now();
    printf("\n== stage %d: %s (%s)\n", s->number, s->name, dir);
    fflush(stdout);
    int rc = mkdir_p(dir);
    if (rc == 0) rc = s->train ? s->train(c, dir, model, sizeof model, data) : path_fmt(model, sizeof model, "%s", c->model);
    double train_s = time_now() - t0;
    if (rc == 0) rc = evaluate(c, model, dir, c->task, c->eval_difficulty, c->eval_problems, "reasoning", &ev);
    if (rc == 0) rc = evaluate(c, model, dir, "chat", 1, c->chat_problems, "chat", &chat);
    if (rc == 0) rc = chat_split(dir, chat);
    if (rc == 0) {
        cJSON_AddNumberToObject(st, "stage", s->number);
        cJSON_AddStringToObject(st, "name", s->name);
        cJSON_AddStringToObject(st, "model", model);
        cJSON_AddNumberToObject(st, "train_seconds", train_s);
        cJSON_AddNumberToObject(st, "seconds", time_now() - t0);
        cJSON_AddItemToObject(st, "data", data);
        cJSON_AddItemToObject(st, "eval", ev);
        cJSON_AddItemToObject(st, "chat", chat);
        data = ev = chat = NULL;
        rc = json_write_file(st, dir, "stage.json");
    }
    cJSON_Delete(st);
    cJSON_Delete(data);
    cJSON_Delete(ev);
    cJSON_Delete(chat);
    return rc != 0 ? err_wrap("stage %d (%s)", s->number, s->name) : 0;
}

// Gather every stage.json into r1.json, print the table, write report.html.
static int summarize(const R1Config *c) {
    cJSON *all = cJSON_CreateObject();
    int rc = 0;
    for (int i = 0; rc == 0 && i < N_STAGES; i++) {
        char path[4096];
        if (stages[i].ablation && !c->ablation) continue;
        if ((rc = path_fmt(path, sizeof path, "%s/%s/stage.json", c->out, stages[i].dir)) != 0) break;
        char *text = file_read_all(path, NULL);
        cJSON *st = text ? cJSON_Parse(text) : NULL;
        free(text);
        if (!st) {
            rc = err_set("%s: missing or not JSON", path);
            break;
        }
        cJSON_AddItemToObject(all, stages[i].name, r1_row(st));
        cJSON_Delete(st);
    }
    if (rc == 0) r1_print_table(stdout, all);
    if (rc == 0) rc = json_write_file(all, c->out, "r1.json");
    if (rc == 0) rc = r1_report_write(c->out, all);
    if (rc == 0) printf("wrote %s/r1.json and %s/report.html\n", c->out, c->out);
    cJSON_Delete(all);
    return rc;
}

// The run directory: new, resumed (same settings), or rerun from a stage
// (the settings written anew; the earlier stages must be finished).
static int open_run(R1Config *c) {
    static const RunSettings rs = {r1_options, r1_defaults, sizeof(R1Config)};
    char path[4096];
    if (path_join(path, sizeof path, c->model, "config.json") != 0) return -1;
    if (!path_exists(path)) return err_set("--model %s: no model there (no config.json)", c->model);
    if (path_join(path, sizeof path, c->s5.student, "config.json") != 0) return -1;
    if (!path_exists(path)) return err_set("--stage5.student %s: no model there (no config.json)", c->s5.student);
    if (!task_find(c->task)) return -1;
    if (c->resume[0]) {
        if (c->from_stage) return err_set("--resume and --from-stage do not go together: --from-stage N reruns stages N.. of --out RUN");
        if (c->out[0] && strcmp(c->out, c->resume) != 0) return err_set("--resume %s and --out %s name two runs", c->resume, c->out);
        if (path_fmt(c->out, sizeof c->out, "%s", c->resume) != 0) return -1;
        if (!path_is_dir(c->out)) return err_set("--resume %s: no such run directory", c->out);
        return rundir_start(c->out, c, &rs, 1);
    }
    if (!c->from_stage) {
        char given[sizeof c->out];
        snprintf(given, sizeof given, "%s", c->out);
        return rundir_name(c->out, sizeof c->out, given, "r1") != 0 ? -1 : rundir_start(c->out, c, &rs, 0);
    }
    if (!c->out[0] || !path_is_dir(c->out))
        return err_set("--from-stage %d reads the earlier stages from a run: give it as --out RUN", c->from_stage);
    cJSON *o = opt_to_json(c, r1_options);
    int rc = o ? json_write_file(o, c->out, "config.json") : err_set("out of memory");
    cJSON_Delete(o);
    return rc;
}

int r1_run(const R1Config *given) {
    R1Config c = *given;
    if (dist_size() > 1) return err_set("aha r1 runs in one process, not under mpirun");
    if (open_run(&c) != 0) return -1;
    printf("aha r1: %s, task %s, stages from %d; run %s\n", c.model, c.task, c.from_stage, c.out);
    for (int i = 0; i < N_STAGES; i++) {
        const Stage *s = &stages[i];
        char dir[4096], done[4096];
        if (s->ablation && !c.ablation) continue;
        if (path_join(dir, sizeof dir, c.out, s->dir) != 0 || path_join(done, sizeof done, dir, "stage.json") != 0)
            return -1;
        if (s->number < c.from_stage) {
            if (!path_exists(done))
                return err_set("%s: stage %d (%s) is not finished; --from-stage %d needs it", dir, s->number, s->name,
                               c.from_stage);
            log_info("r1: stage %d (%s) kept from %s", s->number, s->name, dir);
            continue;
        }
        if (c.resume[0] && path_exists(done)) {
            log_info("r1: stage %d (%s) done before", s->number, s->name);
            continue;
        }
        // A resumed stage keeps what it finished (rows, checkpoints); else it starts clean.
        if ((c.resume[0] ? (path_is_dir(dir) ? checkpoint_remove_temps(dir) : 0) : remove_tree(dir)) != 0 || run_stage(&c, s, dir) != 0)
            return -1;
    }
    return summarize(&c);
}
