// The R1-Zero demo: eval -> GRPO (r1zero preset) -> eval, one run directory.
#include "train/zero.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "eval/eval.h"
#include "report/html.h"
#include "train/grpo.h"
#include "train/checkpoint.h"
#include "train/rundir.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(x) offsetof(ZeroConfig, x)
#define S(x) F(x), sizeof(((ZeroConfig *)0)->x)
const OptDef zero_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "base model directory", NULL, NULL, 0},
    {"task", OPT_STRING, S(task), 0, 0, NULL, "task generator", NULL, NULL, 0},
    {"difficulty", OPT_INT, F(difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "task difficulty (0 cycles 1..5)", NULL, NULL, 0},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "run directory (default runs/zero-<time>)", NULL, NULL, 0},
    {"steps", OPT_INT, F(steps), 0, 1, 1000000, NULL, "GRPO steps", NULL, NULL, 0},
    {"prompts_per_step", OPT_INT, F(prompts_per_step), 0, 1, 4096, NULL, "prompts per step (B)", NULL, NULL, 0},
    {"group_size", OPT_INT, F(group_size), 0, 2, 1024, NULL, "completions per prompt (G)", NULL, NULL, 0},
    {"lr", OPT_DOUBLE, F(lr), 0, 0, 1, NULL, "learning rate", NULL, NULL, 0},
    {"beta", OPT_DOUBLE, F(beta), 0, 0, 10, NULL, "KL coefficient", NULL, NULL, 0},
    {"eval_problems", OPT_INT, F(eval_problems), 0, 1, 100000, NULL, "held-out problems evaluated before and after", NULL, NULL, 0},
    OPT_GROUP_ENTRY(ZeroConfig, sample, sample_settings_options),
    {"eval_k", OPT_INT, F(eval_k), 0, 1, 1024, NULL, "samples per held-out problem", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static const ZeroConfig zero_default = {
    .model = "models/aha-tiny", .task = "sum", .difficulty = 2, .steps = 80, .prompts_per_step = 8, .group_size = 8,
    .lr = 1.5e-4, .beta = 0.001, .eval_problems = 50, .eval_k = 8, .sample = SAMPLE_SETTINGS_DEFAULT};

void zero_defaults(void *cfg) {
    ZeroConfig *c = cfg;
    *c = zero_default;
    c->sample.max_new_tokens = 80;
}

int zero_evaluate(const ZeroConfig *c, const char *model, const char *run_dir, const char *name, EvalResult *r) {
    EvalConfig e;
    eval_defaults(&e);
    if (path_fmt(e.model, sizeof e.model, "%s", model) != 0) return -1;
    snprintf(e.src.task, sizeof e.src.task, "%s", c->task);
    e.src.difficulty = c->difficulty;
    e.src.problems = c->eval_problems;
    e.k = c->eval_k;
    snprintf(e.sample.template_name, sizeof e.sample.template_name, "%s", c->sample.template_name);
    snprintf(e.sample.system, sizeof e.sample.system, "%s", c->sample.system);
    e.sample.prefill_think = c->sample.prefill_think;
    e.sample.enable_thinking = c->sample.enable_thinking;
    e.sample.max_new_tokens = c->sample.max_new_tokens;
    e.sample.threads = c->sample.threads;
    e.sample.precision = c->sample.precision;
    char file[64];
    snprintf(file, sizeof file, "eval_%s.jsonl", name);
    if (path_join(e.samples, sizeof e.samples, run_dir, file) != 0) return -1;
    printf("held-out eval %s: %d test problems x %d samples (T %.1f, top-p %.2f)\n", name, e.src.problems, e.k,
           e.sample.temperature, e.sample.top_p);
    fflush(stdout);
    if (eval_run(&e, r) != 0) return err_wrap("eval %s", name);
    eval_print(stdout, r);
    fflush(stdout);
    return 0;
}

static int write_zero_json(const char *run_dir, const EvalResult *before, const EvalResult *after) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "before", eval_result_json(before));
    cJSON_AddItemToObject(o, "after", eval_result_json(after));
    char *text = cJSON_Print(o), path[1200];
    cJSON_Delete(o);
    if (!text) return err_set("out of memory");
    if (path_join(path, sizeof path, run_dir, "zero.json") != 0) {
        free(text);
        return -1;
    }
    int rc = file_write_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

int zero_run(const ZeroConfig *c) {
    char run_dir[sizeof c->out], ckpt[1200];
    if (rundir_name(run_dir, sizeof run_dir, c->out, "zero") != 0) return -1;
    if (checkpoint_dir_is_new(run_dir, "choose another --out, or remove it") != 0) return -1;
    // Every rank of an MPI job looks before rank 0 makes it and alone writes.
    int lead = dist_rank() == 0;
    if (dist_barrier() != 0 || (lead && mkdir_p(run_dir) != 0)) return -1;
    GrpoConfig g;
    grpo_defaults(&g);
    if (grpo_apply_preset(&g, "r1zero") != 0) return -1;
    if (path_fmt(g.model, sizeof g.model, "%s", c->model) != 0 || path_fmt(g.out, sizeof g.out, "%s", run_dir) != 0)
        return -1;
    snprintf(g.task, sizeof g.task, "%s", c->task);
    g.difficulty = c->difficulty;
    g.steps = c->steps;
    g.save_every = c->steps > 1 ? (c->steps + 1) / 2 : 0;
    g.sample = c->sample;
    g.prompts_per_step = c->prompts_per_step;
    g.group_size = c->group_size;
    g.max_prompt_tokens = 128;
    g.lr = c->lr;
    g.beta = c->beta;
    g.warmup_steps = 0;
    if (grpo_check(&g) != 0) return -1;
    printf("aha zero: R1-Zero GRPO on %s, task %s (difficulty %d), %d steps of %d prompts x %d samples; run %s\n",
           c->model, c->task, c->difficulty, c->steps, c->prompts_per_step, c->group_size, run_dir);
    EvalResult before, after;
    if (zero_evaluate(c, c->model, run_dir, "before", &before) != 0) return -1;
    if (grpo_run(&g, NULL) != 0) return err_wrap("grpo");
    if (checkpoint_latest(run_dir, ckpt, sizeof ckpt) != 0) return -1;
    if (!ckpt[0]) return err_set("%s: the run left no checkpoint", run_dir);
    if (zero_evaluate(c, ckpt, run_dir, "after", &after) != 0) return -1;
    if (lead && write_zero_json(run_dir, &before, &after) != 0) return -1;
    if (lead && report_write(run_dir, NULL) != 0) return err_wrap("report");
    printf("\n%-22s %10s %10s\n", "held-out", "before", "after");
    printf("%-22s %10.3f %10.3f\n", "pass@1", before.pass1, after.pass1);
    printf("%-22s %10.3f %10.3f\n", "cons@k", before.cons, after.cons);
    printf("%-22s %10.3f %10.3f\n", "pass@k", before.passk, after.passk);
    printf("%-22s %10.1f %10.1f\n", "mean length (tokens)", before.mean_length, after.mean_length);
    printf("%-22s %10.2f %10.2f\n", "reflection per 1k", before.reflection_per_1k, after.reflection_per_1k);
    printf("wrote %s/zero.json and %s/report.html\n", run_dir, run_dir);
    return 0;
}
