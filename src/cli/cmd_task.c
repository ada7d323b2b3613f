// `aha task NAME`: prints generated problems as JSON Lines. Flag parsing only;
// the generators live in task/.
#include "cli/cli.h"
#include "base/err.h"
#include "task/task.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[64];
    int split, count, seed, difficulty, start, as;
} TaskFlags;

enum { AS_PROBLEMS, AS_PAIRS, AS_LABELS };
static const OptChoice as_choices[] = {{"problems", AS_PROBLEMS}, {"pairs", AS_PAIRS}, {"labels", AS_LABELS}, {NULL, 0}};

#define F(x) offsetof(TaskFlags, x)
static const OptDef task_options[] = {
    {"name", OPT_STRING, F(name), sizeof(((TaskFlags *)0)->name), 0, 0, NULL,
     "the task (also given bare: aha task NAME; listed below)", NULL, NULL, OPT_POSITIONAL | OPT_REQUIRED},
    {"split", OPT_ENUM, F(split), 0, 0, 0, task_split_choices, "which split the problems come from", NULL, NULL, 0},
    {"count", OPT_INT, F(count), 0, 0, 100000000, NULL, "number of problems", NULL, "-n", 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "generator seed", NULL, NULL, 0},
    {"difficulty", OPT_INT, F(difficulty), 0, 1, TASK_MAX_DIFFICULTY, NULL, "difficulty level", NULL, NULL, 0},
    {"start", OPT_INT, F(start), 0, 0, 2147483647, NULL, "index of the first problem", NULL, NULL, 0},
    {"as", OPT_ENUM, F(as), 0, 0, 0, as_choices, "chat only: problems, reward-model preference pairs {prompt, chosen, rejected}, or safety labels {prompt, completion, label}", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F

static void task_defaults(void *cfg) { *(TaskFlags *)cfg = (TaskFlags){"", TASK_SPLIT_TRAIN, 10, 0, 1, 0, AS_PROBLEMS}; }

// The problem, or (--as) reward-model rows drawn from it.
static cJSON *row_json(const Problem *p, int as, uint64_t seed) {
    if (as == AS_PROBLEMS) return task_problem_json(p);
    char a[256], b[256];
    int label;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "prompt", p->prompt);
    if (as == AS_PAIRS) {
        task_chat_pair(p, seed, a, b, sizeof a);
        cJSON_AddStringToObject(o, "chosen", a);
        cJSON_AddStringToObject(o, "rejected", b);
    } else {
        task_chat_label(p, seed, a, sizeof a, &label);
        cJSON_AddStringToObject(o, "completion", a);
        cJSON_AddNumberToObject(o, "label", label);
    }
    cJSON_AddStringToObject(o, "id", p->id);
    return o;
}

static void task_list_help(void) {
    int n;
    const TaskDef *t = task_list(&n);
    printf("\ntasks:\n");
    for (int i = 0; i < n; i++) printf("  %-12s (verifier: %s) %s\n", t[i].name, t[i].reward, t[i].help);
}

const CliOptions task_cli = {
    task_options, sizeof(TaskFlags), task_defaults,
    "aha task NAME [--split train|test] [-n N] [--seed S] [--difficulty D] [--start I] [--as problems|pairs|labels]",
    "Prints N generated problems of task NAME as JSON Lines: id, task, split, difficulty, prompt, answer (gold), reward (the verifier), plus numbers/target for countdown, and for code its tests (\"tests\": [{\"input\", \"output\"}] or \"fn_name\", \"inputs\", \"outputs\") and a reference \"solution\": valid --dataset rows.\n"
    "A problem is fixed by (seed, split, difficulty, index); train and test never share one. For chat, --as pairs writes reward-model preference pairs and --as labels safety labels (1 safe, 0 harmful) drawn from the problems.", task_list_help, 0};

int cmd_task(void *cfg) {
    const TaskFlags *f = cfg;
    const TaskDef *t = task_find(f->name);
    if (!t) return cli_usage("task", "%s", err_msg());
    if (f->as != AS_PROBLEMS && strcmp(t->name, "chat") != 0)
        return cli_usage("task", "--as pairs and --as labels are for the chat task, not %s", t->name);
    for (long i = 0; i < f->count; i++) {
        Problem p;
        if (task_generate(t, (uint64_t)f->seed, f->split, f->difficulty, (long)f->start + i, &p) != 0)
            return cli_fail("task", "%s", err_msg());
        cJSON *o = row_json(&p, f->as, (uint64_t)f->seed);
        char *s = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!s) return cli_fail("task", "out of memory");
        int bad = puts(s) < 0;
        free(s);
        if (bad) return cli_fail("task", "cannot write to standard output");
    }
    return fflush(stdout) == 0 ? 0 : cli_fail("task", "cannot write to standard output");
}
