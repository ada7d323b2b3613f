// The distillation-versus-RL comparison: aha zero twice, aha distill once,
// one more held-out evaluation, one table.
#include "train/distill_vs_rl.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "base/sys.h"
#include "train/checkpoint.h"
#include "train/distill.h"
#include "train/rundir.h"
#include "train/zero.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(x) offsetof(DistillVsRlConfig, x)
#define S(x) F(x), sizeof(((DistillVsRlConfig *)0)->x)
const OptDef distill_vs_rl_options[] = {
    {"teacher", OPT_STRING, S(teacher), 0, 0, NULL, "teacher base model (trained with GRPO here, then distilled)", NULL, NULL, 0},
    {"student", OPT_STRING, S(student), 0, 0, NULL, "student base model (trained with GRPO, and distilled, from its base)", NULL, NULL, 0},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "run directory (default runs/distill-vs-rl-<time>)", NULL, NULL, 0},
    {"task", OPT_STRING, S(task), 0, 0, NULL, "task generator", NULL, NULL, 0},
    {"difficulty", OPT_INT, F(difficulty), 0, 0, TASK_MAX_DIFFICULTY, NULL, "task difficulty of RL prompts, traces and held-out problems", NULL, NULL, 0},
    {"steps", OPT_INT, F(steps), 0, 1, 1000000, NULL, "GRPO steps (teacher and student alike)", NULL, NULL, 0},
    {"eval_problems", OPT_INT, F(eval_problems), 0, 1, 100000, NULL, "held-out problems every model is evaluated on", NULL, NULL, 0},
    {"eval_k", OPT_INT, F(eval_k), 0, 1, 1024, NULL, "samples per held-out problem", NULL, NULL, 0},
    {"problems", OPT_INT, F(problems), 0, 1, 1000000, NULL, "distillation: teacher prompts (train split)", NULL, NULL, 0},
    {"n", OPT_INT, F(n), 0, 1, 1024, NULL, "distillation: teacher samples per prompt", NULL, "-n", 0},
    {"max_keep", OPT_INT, F(max_keep), 0, 1, 1024, NULL, "distillation: verified traces kept per prompt at most", NULL, NULL, 0},
    {"epochs", OPT_DOUBLE, F(epochs), 0, 0.001, 100000, NULL, "distillation: student passes over the traces", NULL, NULL, 0},
    {"lr", OPT_DOUBLE, F(lr), 0, 0, 10, NULL, "distillation: student peak learning rate", NULL, NULL, 0},
    {"batch", OPT_INT, F(batch), 0, 1, 4096, NULL, "distillation: student rows per update", NULL, NULL, 0},
    {"threads", OPT_INT, F(threads), 0, 0, 1024, NULL, "threads (0: all cores)", NULL, NULL, 0},
    OPT_GROUP_ENTRY(DistillVsRlConfig, precision, precision_options),
    {"resume", OPT_BOOL, F(resume), 0, 0, 1, NULL, "continue the run in --out (same settings): finished stages are kept", NULL, NULL, OPT_ARGV_ONLY},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static const DistillVsRlConfig distill_vs_rl_default = {
    .teacher = "models/aha-tiny", .student = "models/aha-nano", .task = "sum", .difficulty = 2, .steps = 80,
    .eval_problems = 50, .eval_k = 8, .problems = 256, .n = 4, .max_keep = 1, .epochs = 3, .lr = 1e-3, .batch = 8};

void distill_vs_rl_defaults(void *c) { *(DistillVsRlConfig *)c = distill_vs_rl_default; }

// aha zero's settings for one arm: its model, its run directory.
static int zero_config(ZeroConfig *z, const DistillVsRlConfig *c, const char *model, const char *out) {
    zero_defaults(z);
    snprintf(z->task, sizeof z->task, "%s", c->task);
    z->difficulty = c->difficulty, z->steps = c->steps, z->eval_problems = c->eval_problems, z->eval_k = c->eval_k;
    z->sample.threads = c->threads;
    z->sample.precision = c->precision;
    return path_fmt(z->model, sizeof z->model, "%s", model) != 0 ? -1 : path_fmt(z->out, sizeof z->out, "%s", out);
}

// OUT/timings.json: the wall seconds of each finished stage, kept across resumes.
static int timing_add(const char *out, const char *stage, double seconds) {
    char path[4096];
    if (path_join(path, sizeof path, out, "timings.json") != 0) return -1;
    char *text = path_exists(path) ? file_read_all(path, NULL) : NULL;
    cJSON *o = text ? cJSON_Parse(text) : cJSON_CreateObject();
    free(text);
    if (!o) return err_set("%s: invalid JSON", path);
    cJSON_DeleteItemFromObjectCaseSensitive(o, stage);
    cJSON_AddNumberToObject(o, stage, seconds);
    int rc = json_write_file(o, out, "timings.json");
    cJSON_Delete(o);
    return rc;
}

// An aha zero run into OUT/name unless a finished one (its zero.json) is there;
// an unfinished one is removed and run again.
static int rl_arm(const DistillVsRlConfig *c, const char *model, const char *name) {
    ZeroConfig z;
    char dir[4096], done[4096];
    if (path_join(dir, sizeof dir, c->out, name) != 0 || path_join(done, sizeof done, dir, "zero.json") != 0 ||
        zero_config(&z, c, model, dir) != 0)
        return -1;
    if (path_exists(done)) {
        log_info("distill-vs-rl: %s done before", dir);
        return 0;
    }
    if (remove_tree(dir) != 0) return -1;
    printf("\n== GRPO (R1-Zero) on %s: %s\n", model, dir);
    fflush(stdout);
    double t0 = time_now();
    if (zero_run(&z) != 0) return err_wrap("%s", name);
    return timing_add(c->out, name, time_now() - t0);
}

// aha distill from the RL-trained teacher (teacher-rl's last checkpoint) into
// OUT/distill; a resume continues it (aha distill skips what it finished).
static int distill_arm(const DistillVsRlConfig *c, char *student, size_t cap) {
    DistillConfig d;
    distill_defaults(&d);
    char rl[4096], cfg[4096];
    if (path_join(rl, sizeof rl, c->out, "teacher-rl") != 0 || checkpoint_latest(rl, d.teacher, sizeof d.teacher) != 0)
        return -1;
    if (!d.teacher[0]) return err_set("%s: the teacher's GRPO run left no checkpoint", rl);
    if (path_fmt(d.student, sizeof d.student, "%s", c->student) != 0 ||
        path_join(d.out, sizeof d.out, c->out, "distill") != 0 || path_join(cfg, sizeof cfg, d.out, "config.json") != 0 ||
        path_join(student, cap, d.out, "sft/model") != 0)
        return -1;
    snprintf(d.src.task, sizeof d.src.task, "%s", c->task);
    d.src.difficulty = c->difficulty, d.src.problems = c->problems;
    d.n = c->n, d.max_keep = c->max_keep, d.epochs = c->epochs, d.lr = c->lr, d.batch = c->batch;
    ZeroConfig z;
    zero_defaults(&z);
    d.sample.max_new_tokens = z.sample.max_new_tokens;   // the teacher samples as it was trained
    d.sample.threads = c->threads;
    d.sample.precision = c->precision;
    d.resume = path_exists(cfg);
    if (d.resume && path_is_dir(student)) {
        log_info("distill-vs-rl: %s done before", d.out);
        return 0;
    }
    printf("\n== distillation: %s teaches %s: %s\n", d.teacher, c->student, d.out);
    fflush(stdout);
    double t0 = time_now();
    if (distill_run(&d) != 0) return err_wrap("distill");
    return timing_add(c->out, "distill", time_now() - t0);
}

// One row of the table: a name, where its numbers come from, and them.
typedef struct {
    const char *name, *what, *stage;   // stage: what trained it (timings.json), or NULL
    cJSON *eval;   // eval keys (eval_result_json); owned by the table
} Row;

static cJSON *load_json(const char *dir, const char *name) {
    char path[4096];
    if (path_join(path, sizeof path, dir, name) != 0) return NULL;
    char *text = file_read_all(path, NULL);
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    if (text && !o) err_set("%s: invalid JSON", path);
    free(text);
    return o;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_table(const Row *rows, int n, const cJSON *timings) {
    printf("\n%-20s %-34s %7s %7s %7s %8s %10s %9s\n", "held-out", "model", "pass@1", "cons@k", "pass@k", "length",
           "refl/1k", "train s");
    for (int i = 0; i < n; i++) {
        printf("%-20s %-34.34s %7.3f %7.3f %7.3f %8.1f %10.2f", rows[i].name, rows[i].what,
               num(rows[i].eval, "pass@1"), num(rows[i].eval, "cons@k"), num(rows[i].eval, "pass@k"),
               num(rows[i].eval, "mean_length"), num(rows[i].eval, "reflection_per_1k"));
        if (rows[i].stage && cJSON_GetObjectItemCaseSensitive(timings, rows[i].stage))
            printf(" %9.0f\n", num(timings, rows[i].stage));
        else
            printf(" %9s\n", "-");   // none, or a stage killed before it was timed
    }
    printf("(train s: wall seconds of the stage that made the model, evaluations included; distillation's\n"
           " covers the teacher's sampling and the student's SFT, not the teacher's own GRPO)\n");
}

// Gather the rows from the arms' files, print them, write distill_vs_rl.json.
static int report(const DistillVsRlConfig *c, const EvalResult *distilled, const char *student) {
    char t[4096], s[4096];
    if (path_join(t, sizeof t, c->out, "teacher-rl") != 0 || path_join(s, sizeof s, c->out, "student-rl") != 0)
        return -1;
    cJSON *tz = load_json(t, "zero.json"), *sz = load_json(s, "zero.json"), *tm = load_json(c->out, "timings.json");
    int rc = tz && sz && tm ? 0 : -1;
    Row rows[] = {
        {"teacher base", c->teacher, NULL, cJSON_DetachItemFromObject(tz, "before")},
        {"teacher GRPO", "teacher-rl", "teacher-rl", cJSON_DetachItemFromObject(tz, "after")},
        {"student base", c->student, NULL, cJSON_DetachItemFromObject(sz, "before")},
        {"student GRPO", "student-rl", "student-rl", cJSON_DetachItemFromObject(sz, "after")},
        {"student distilled", student, "distill", eval_result_json(distilled)},
    };
    enum { N_ROWS = sizeof rows / sizeof rows[0] };
    cJSON *out = cJSON_CreateObject();
    for (int i = 0; rc == 0 && i < N_ROWS; i++) {
        if (!rows[i].eval) {
            rc = err_set("%s: the %s numbers are missing", i < 2 ? t : i < 4 ? s : c->out, rows[i].name);
            break;
        }
        cJSON *r = cJSON_AddObjectToObject(out, rows[i].name);
        cJSON_AddStringToObject(r, "model", rows[i].what);
        cJSON_AddItemToObject(r, "eval", cJSON_Duplicate(rows[i].eval, 1));
        if (rows[i].stage && cJSON_GetObjectItemCaseSensitive(tm, rows[i].stage))
            cJSON_AddNumberToObject(r, "train_seconds", num(tm, rows[i].stage));
    }
    if (rc == 0) rc = json_write_file(out, c->out, "distill_vs_rl.json");
    if (rc == 0) {
        print_table(rows, N_ROWS, tm);
        printf("wrote %s/distill_vs_rl.json\n", c->out);
    }
    for (int i = 0; i < N_ROWS; i++) cJSON_Delete(rows[i].eval);
    cJSON_Delete(out);
    cJSON_Delete(tz);
    cJSON_Delete(sz);
    cJSON_Delete(tm);
    return rc;
}

int distill_vs_rl_run(const DistillVsRlConfig *c) {
    static const RunSettings rs = {distill_vs_rl_options, distill_vs_rl_defaults, sizeof(DistillVsRlConfig)};
    DistillVsRlConfig r = *c;
    char student[4096];
    if (rundir_name(r.out, sizeof r.out, c->out, "distill-vs-rl") != 0) return -1;
    for (int i = 0; i < 2; i++) {
        char path[4096];
        const char *dir = i ? r.student : r.teacher;
        if (path_join(path, sizeof path, dir, "config.json") != 0) return -1;
        if (!path_exists(path)) return err_set("--%s %s: no model there (no config.json)", i ? "student" : "teacher", dir);
    }
    if (rundir_start(r.out, &r, &rs, r.resume) != 0) return -1;
    printf("aha distill-vs-rl: %s (teacher) and %s (student), task %s (difficulty %d), %d GRPO steps each; run %s\n",
           r.teacher, r.student, r.task, r.difficulty, r.steps, r.out);
    if (rl_arm(&r, r.teacher, "teacher-rl") != 0 || rl_arm(&r, r.student, "student-rl") != 0 ||
        distill_arm(&r, student, sizeof student) != 0)
        return -1;
    ZeroConfig z;
    EvalResult distilled;
    if (zero_config(&z, &r, student, r.out) != 0) return -1;
    printf("\n== the distilled student\n");
    if (zero_evaluate(&z, student, r.out, "distilled", &distilled) != 0) return -1;
    return report(&r, &distilled, student);
}
