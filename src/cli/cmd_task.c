// `aha task NAME`: prints generated problems as JSON Lines. Flag parsing only;
// the generators live in task/.
#include "cli/cli.h"
#include "base/err.h"
#include "task/task.h"
#include "tok/template.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[64];
    int split, count, seed, difficulty, start, as;
    char template_name[32];
} TaskFlags;

enum { AS_PROBLEMS, AS_PAIRS, AS_HARD_PAIRS, AS_LABELS, AS_SFT };
static const OptChoice as_choices[] = {{"problems", AS_PROBLEMS}, {"pairs", AS_PAIRS}, {"hard-pairs", AS_HARD_PAIRS},
                                       {"labels", AS_LABELS},     {"sft", AS_SFT},     {NULL, 0}};

#define F(x) offsetof(TaskFlags, x)
static const OptDef task_options[] = {
    {"name", OPT_STRING, F(name), sizeof(((TaskFlags *)0)->name), 0, 0, NULL,
     "the task (also given bare: aha task NAME; listed below)", NULL, NULL, OPT_POSITIONAL | OPT_REQUIRED},
    {"split", OPT_ENUM, F(split), 0, 0, 0, task_split_choices, "which split the problems come from", NULL, NULL, 0},
    {"count", OPT_INT, F(count), 0, 0, 100000000, NULL, "number of problems", NULL, "-n", 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "generator seed", NULL, NULL, 0},
    {"difficulty", OPT_INT, F(difficulty), 0, 1, TASK_MAX_DIFFICULTY, NULL, "difficulty level", NULL, NULL, 0},
    {"start", OPT_INT, F(start), 0, 0, 2147483647, NULL, "index of the first problem", NULL, NULL, 0},
    {"as", OPT_ENUM, F(as), 0, 0, 0, as_choices, "chat only: problems, reward-model preference pairs {prompt, chosen, rejected} (hard-pairs: only those whose rejected answer is the right shape with the wrong name or word), safety labels {prompt, completion, label}, or unfiltered demonstrations {prompt, completion, label} in the r1zero answer format", NULL, NULL, 0},
    {"template", OPT_STRING, F(template_name), sizeof(((TaskFlags *)0)->template_name), 0, 0, NULL,
     "--as sft: the prompt as rendered with this template (r1zero, chatml, raw), as rejection-sample writes it, so the rows mix with its output under aha sft --template raw", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F

static void task_defaults(void *cfg) { *(TaskFlags *)cfg = (TaskFlags){"", TASK_SPLIT_TRAIN, 10, 0, 1, 0, AS_PROBLEMS, "raw"}; }

// The problem, or (--as) reward-model or SFT rows drawn from it; NULL after
// err_set, or with *skip set when --as hard-pairs drew an easy pair.
static cJSON *row_json(const Problem *p, const TaskFlags *f, int *skip) {
    if (f->as == AS_PROBLEMS) return task_problem_json(p);
    char a[256], b[sizeof p->prompt + 320], *prompt = NULL;
    int label;
    if (f->as == AS_HARD_PAIRS && !task_chat_pair(p, (uint64_t)f->seed, a, b, sizeof a)) {
        *skip = 1;
        return NULL;
    }
    if (template_render(f->as == AS_SFT ? f->template_name : "raw", p->prompt, NULL, 0, &prompt) != 0) return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "prompt", prompt);
    free(prompt);
    if (f->as == AS_PAIRS || f->as == AS_HARD_PAIRS) {
        task_chat_pair(p, (uint64_t)f->seed, a, b, sizeof a);
        cJSON_AddStringToObject(o, "chosen", a);
        cJSON_AddStringToObject(o, "rejected", b);
    } else {
        task_chat_label(p, (uint64_t)f->seed, a, sizeof a, &label);
        if (f->as == AS_SFT) snprintf(b, sizeof b, " <think> %s </think> <answer>%s </answer>", p->prompt, a);
        cJSON_AddStringToObject(o, "completion", f->as == AS_SFT ? b : a);
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
    "aha task NAME [--split train|test] [-n N] [--seed S] [--difficulty D] [--start I] [--as problems|pairs|hard-pairs|labels|sft]",
    "Prints N generated problems of task NAME as JSON Lines: id, task, split, difficulty, prompt, answer (gold), reward (the verifier), plus numbers/target for countdown, and for code its tests (\"tests\": [{\"input\", \"output\"}] or \"fn_name\", \"inputs\", \"outputs\") and a reference \"solution\": valid --dataset rows.\n"
    "A problem is fixed by (seed, split, difficulty, index); train and test never share one. For chat, --as pairs writes reward-model preference pairs (--as hard-pairs those of the N problems whose rejected answer is the right shape with the wrong name or word, the pairs a small reward model learns last) and --as labels safety labels (1 safe, 0 harmful) drawn from the problems; --as sft the labels' completions as r1zero-format demonstrations (\" <think> PROMPT </think> <answer> TEXT </answer>\"), half of them bad as unfiltered chat logs are, the label kept for filtering.", task_list_help, 0};

int cmd_task(void *cfg) {
    const TaskFlags *f = cfg;
    const TaskDef *t = task_find(f->name);
    if (!t) return cli_usage("task", "%s", err_msg());
    if (f->as != AS_PROBLEMS && strcmp(t->name, "chat") != 0)
        return cli_usage("task", "--as pairs, hard-pairs, labels and sft are for the chat task, not %s", t->name);
    if (strcmp(f->template_name, "model") == 0 || template_check(f->template_name) != 0)
        return cli_usage("task", "--template must be r1zero, chatml or raw, got '%s'", f->template_name);
    for (long i = 0; i < f->count; i++) {
        Problem p;
        if (task_generate(t, (uint64_t)f->seed, f->split, f->difficulty, (long)f->start + i, &p) != 0)
            return cli_fail("task", "%s", err_msg());
        int skip = 0;
        cJSON *o = row_json(&p, f, &skip);
        if (skip) continue;
        char *s = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!s) return cli_fail("task", "%s", o ? "out of memory" : err_msg());
        int bad = puts(s) < 0;
        free(s);
        if (bad) return cli_fail("task", "cannot write to standard output");
    }
    return fflush(stdout) == 0 ? 0 : cli_fail("task", "cannot write to standard output");
}
