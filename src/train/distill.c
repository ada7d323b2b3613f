// aha distill: the two stages composed, each one's own engine doing the work.
#include "train/distill.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "train/checkpoint.h"
#include "train/rejection.h"
#include "train/rundir.h"
#include "train/sft_run.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

// The stage tables both have model, out, batch and seed, so the settings are
// distill's own, each filling its stage's field.
#define F(x) offsetof(DistillConfig, x)
#define S(x) F(x), sizeof(((DistillConfig *)0)->x)
const OptDef distill_options[] = {
    {"teacher", OPT_STRING, S(teacher), 0, 0, NULL, "teacher model directory (samples the traces)", NULL, NULL, OPT_REQUIRED},
    {"student", OPT_STRING, S(student), 0, 0, NULL, "student model directory (fine-tuned on the traces; any size and tokenizer)", NULL, NULL, OPT_REQUIRED},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "run directory to write (must not exist or be empty)", NULL, NULL, OPT_REQUIRED},
    OPT_GROUP_ENTRY(DistillConfig, src, problem_choice_options),
    {"n", OPT_INT, F(n), 0, 1, 1024, NULL, "teacher samples per prompt", NULL, "-n", 0},
    {"max_keep", OPT_INT, F(max_keep), 0, 1, 1024, NULL, "kept traces per prompt at most", NULL, NULL, 0},
    {"require", OPT_LIST, F(require), 0, 0, 0, NULL, "checks a kept trace passes, comma-separated: " REJECT_CHECK_NAMES, NULL, NULL, 0},
    OPT_GROUP_ENTRY(DistillConfig, sample, sample_settings_options),
    {"epochs", OPT_DOUBLE, F(epochs), 0, 0.001, 100000, NULL, "student: passes over the traces", NULL, NULL, 0},
    {"max_steps", OPT_INT, F(max_steps), 0, 0, 10000000, NULL, "student: optimizer updates (0: from epochs)", NULL, NULL, 0},
    {"batch", OPT_INT, F(batch), 0, 1, 4096, NULL, "student: rows per update", NULL, NULL, 0},
    {"lr", OPT_DOUBLE, F(lr), 0, 0, 10, NULL, "student: peak learning rate", NULL, NULL, 0},
    {"save_steps", OPT_INT, F(save_steps), 0, 0, 10000000, NULL, "student: updates between checkpoints in OUT/sft (0: none)", NULL, NULL, 0},
    {"skip_long", OPT_BOOL, F(skip_long), 0, 0, 1, NULL, "student: drop traces longer than its context instead of refusing them", NULL, NULL, 0},
    {"resume", OPT_BOOL, F(resume), 0, 0, 1, NULL, "continue the run in --out (same settings): stage 1 is skipped when its traces exist", NULL, NULL, OPT_ARGV_ONLY},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static const DistillConfig distill_default = {
    .src = {.split = "train", .problems = 64}, .n = 8, .max_keep = 2,
    .require = {3, {"verifier", "format", "no_truncation"}}, .sample = SAMPLE_SETTINGS_DEFAULT,
    .epochs = 3, .batch = 8, .lr = 1e-4};

void distill_defaults(void *c) { *(DistillConfig *)c = distill_default; }

// A model directory must hold config.json before anything is written.
static int check_model_dir(const char *dir, const char *what) {
    char path[4096];
    if (path_join(path, sizeof path, dir, "config.json") != 0) return -1;
    return path_exists(path) ? 0 : err_set("--%s %s: no model there (no config.json)", what, dir);
}

static int start(const DistillConfig *c) {
    if (check_model_dir(c->teacher, "teacher") != 0 || check_model_dir(c->student, "student") != 0) return -1;
    if (c->src.dataset[0] && !path_exists(c->src.dataset)) return err_set("--dataset %s: no such file", c->src.dataset);
    static const RunSettings rs = {distill_options, distill_defaults, sizeof(DistillConfig)};
    if (rundir_start(c->out, c, &rs, c->resume) != 0) return -1;
    // A stage 1 killed mid-write leaves traces.jsonl.tmp.<pid>: gone on resume.
    return c->resume ? checkpoint_remove_temps(c->out) : 0;
}

// Stage 1: the teacher's traces, unless a finished stage 1 wrote them (reject_run
// writes both files atomically, so their existence means complete).
static int teacher_traces(const DistillConfig *c, const char *traces) {
    RejectConfig r;
    reject_defaults(&r);
    if (path_fmt(r.stats, sizeof r.stats, "%s.stats.json", traces) != 0) return -1;
    if (path_exists(traces) && path_exists(r.stats)) {
        log_info("distill: stage 1 done before, using %s", traces);
        return 0;
    }
    snprintf(r.model, sizeof r.model, "%s", c->teacher);
    snprintf(r.out, sizeof r.out, "%s", traces);
    r.src = c->src, r.n = c->n, r.max_keep = c->max_keep, r.require = c->require, r.sample = c->sample;
    cJSON *stats = NULL;
    if (reject_run(&r, &stats) != 0) return err_wrap("teacher traces");
    reject_print(stderr, stats);
    cJSON_Delete(stats);
    return 0;
}

// Stage 2: the student's SFT on the traces, continued from its newest
// checkpoint when it has one; a start killed before its first checkpoint starts over.
static int student_sft(const DistillConfig *c, const char *traces) {
    SftRunConfig s;
    sft_run_defaults(&s);
    char model[4096], ckdir[4096];
    if (path_fmt(s.out, sizeof s.out, "%s/sft", c->out) != 0 || path_join(model, sizeof model, s.out, "model") != 0 ||
        path_join(ckdir, sizeof ckdir, s.out, "checkpoints") != 0)
        return -1;
    if (path_exists(model)) {
        log_info("distill: stage 2 done before, the student is %s", model);
        return 0;
    }
    long *steps;
    int n = list_steps(ckdir, &steps);
    free(steps);
    if (n < 0 || (n == 0 && path_exists(s.out) && remove_tree(s.out) != 0)) return -1;
    snprintf(s.model, sizeof s.model, "%s", c->student);
    snprintf(s.dataset, sizeof s.dataset, "%s", traces);
    // The traces' prompts are already rendered as the teacher saw them.
    snprintf(s.template_name, sizeof s.template_name, "raw");
    s.epochs = c->epochs, s.max_steps = c->max_steps, s.batch = c->batch, s.lr = c->lr, s.save_steps = c->save_steps;
    s.exact_completion = 1;   // the student learns the teacher's text, not what its tokenizer makes of it
    s.skip_long = c->skip_long, s.seed = c->sample.seed, s.threads = c->sample.threads, s.precision = c->sample.precision, s.resume = n > 0;
    return sft_run(&s) != 0 ? err_wrap("student sft") : 0;
}

int distill_run(const DistillConfig *c) {
    char traces[sizeof ((RejectConfig *)0)->out];   // the stage configs hold it
    if (start(c) != 0 || path_join(traces, sizeof traces, c->out, "traces.jsonl") != 0 ||
        teacher_traces(c, traces) != 0 || student_sft(c, traces) != 0)
        return -1;
    log_info("distill: done; the student is %s/sft/model", c->out);
    return 0;
}
