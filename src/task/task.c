// Task registry, the content-hash train/test split, and problem generation by
// rejection: draw candidates keyed by (seed, split, difficulty, index, attempt)
// until one falls in the requested split. Generators live in task_*.c.
#include "task/task.h"
#include "base/err.h"

#include <stdio.h>
#include <string.h>

static const TaskDef tasks[] = {
    {"arithmetic", "math", "a + b, a - b or a * b; operands have `difficulty` digits",
     task_make_arithmetic},
    {"countdown", "countdown",
     "reach a target with 3-5 numbers and + - * /; more numbers and larger targets with difficulty",
     task_make_countdown},
    {"linear", "math", "one linear equation in x with an integer solution; more terms with difficulty",
     task_make_linear},
    {"knights", "math",
     "knights and knaves with a unique solution; difficulty + 2 inhabitants",
     task_make_knights},
    {"sum", "math", "a sum of single digits; difficulty + 2 terms", task_make_sum},
    {"chat", "chat", "greet a person, repeat a word, or refuse a harmful request (judged by rule); no difficulty",
     task_make_chat},
    {"code", "code",
     "a Python function or stdin/stdout program checked by tests; longer algorithms with difficulty",
     task_make_code},
};

const TaskDef *task_list(int *n) {
    *n = (int)(sizeof tasks / sizeof tasks[0]);
    return tasks;
}

const TaskDef *task_find(const char *name) {
    int n;
    const TaskDef *t = task_list(&n);
    int i = opt_find_named(t, n, sizeof t[0], name, "task");
    return i < 0 ? NULL : &t[i];
}

const OptChoice task_split_choices[] = {{"train", TASK_SPLIT_TRAIN}, {"test", TASK_SPLIT_TEST}, {NULL, 0}};

int task_split_parse(const char *s) { return opt_choice_value(task_split_choices, s, "split"); }

const char *task_split_name(int split) { return opt_choice_name(task_split_choices, split); }

// splitmix64 finaliser: a bijective 64-bit mix.
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int task_split_of(const char *task, const char *canon, uint64_t *hash) {
    // FNV-1a over "task\0canon", then mixed so every bit depends on every byte.
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *s = task; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;
    for (const char *s = canon; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    h = mix64(h);
    if (hash) *hash = h;
    return h % 100 < TASK_TEST_PERCENT ? TASK_SPLIT_TEST : TASK_SPLIT_TRAIN;
}

long task_rand_range(Rng *rng, long lo, long hi) {
    return lo + (long)rng_below(rng, (uint64_t)(hi - lo + 1));
}

#define TASK_MAX_ATTEMPTS 100000

int task_generate(const TaskDef *t, uint64_t seed, int split, int difficulty, long index,
                  Problem *out) {
    if (difficulty < 1 || difficulty > TASK_MAX_DIFFICULTY)
        return err_set("difficulty must be in [1, %d], got %d", TASK_MAX_DIFFICULTY, difficulty);
    if (split != TASK_SPLIT_TRAIN && split != TASK_SPLIT_TEST)
        return err_set("split must be train or test");
    if (index < 0) return err_set("problem index must be >= 0, got %ld", index);
    uint64_t key = mix64(seed ^ mix64(((uint64_t)split << 8 | (uint64_t)difficulty) ^
                                      mix64((uint64_t)index + 0x9e3779b97f4a7c15ULL)));
    char canon[512];
    for (uint64_t attempt = 0; attempt < TASK_MAX_ATTEMPTS; attempt++) {
        Rng rng;
        rng_init(&rng, mix64(key + attempt * 0x9e3779b97f4a7c15ULL));
        memset(out, 0, sizeof *out);
        canon[0] = 0;
        if (t->make(&rng, difficulty, out, canon, sizeof canon) != 0) continue;
        uint64_t h;
        if (task_split_of(t->name, canon, &h) != split) continue;
        out->def = t;
        out->split = split;
        out->difficulty = difficulty;
        out->hash = h;
        snprintf(out->id, sizeof out->id, "%s-%016llx", t->name, (unsigned long long)h);
        return 0;
    }
    return err_set("%s: no %s problem found at difficulty %d", t->name, task_split_name(split),
                   difficulty);
}

cJSON *task_problem_json(const Problem *p) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = cJSON_AddStringToObject(o, "id", p->id) && cJSON_AddStringToObject(o, "task", p->def->name) &&
             cJSON_AddStringToObject(o, "split", task_split_name(p->split)) &&
             cJSON_AddNumberToObject(o, "difficulty", p->difficulty) &&
             cJSON_AddStringToObject(o, "prompt", p->prompt) &&
             cJSON_AddStringToObject(o, "answer", p->answer) &&
             cJSON_AddStringToObject(o, "reward", p->def->reward);
    if (ok && p->n_numbers > 0) {
        cJSON *a = cJSON_AddArrayToObject(o, "numbers");
        for (int i = 0; a && i < p->n_numbers; i++) {
            cJSON *v = cJSON_CreateNumber((double)p->numbers[i]);
            if (!v || !cJSON_AddItemToArray(a, v)) ok = 0;
        }
        ok = ok && a && cJSON_AddNumberToObject(o, "target", (double)p->target);
    }
    cJSON *code = ok && p->code[0] ? cJSON_Parse(p->code) : NULL;
    if (p->code[0] && !code) ok = 0;
    while (code && code->child) {
        cJSON *f = cJSON_DetachItemViaPointer(code, code->child);
        if (!cJSON_AddItemToObject(o, f->string, f)) ok = 0;
    }
    cJSON_Delete(code);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
