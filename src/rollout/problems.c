// Problem sources: seeded task generators and JSONL datasets behind one index.
#include "rollout/problems.h"
#include "base/err.h"
#include "base/rng.h"

#include <stdlib.h>
#include <string.h>

int problems_open(ProblemSource *ps, const char *task, const char *dataset, int split, uint64_t seed, int difficulty,
                  int max_difficulty, int shuffle) {
    memset(ps, 0, sizeof *ps);
    ps->seed = seed;
    ps->split = split;
    ps->difficulty = difficulty;
    ps->max_difficulty = max_difficulty ? max_difficulty : TASK_MAX_DIFFICULTY;
    ps->shuffle = shuffle;
    ps->perm_epoch = -1;
    if (!task[0] == !dataset[0]) return err_set("give exactly one of task and dataset");
    if (dataset[0]) {
        ps->use_dataset = 1;
        ps->dataset = dataset;
        if (dataset_load(&ps->ds, dataset, DATASET_AUTO, 0) != 0) return -1;
        if (shuffle && !(ps->perm = malloc(sizeof *ps->perm * (size_t)ps->ds.n))) return err_set("out of memory");
        return 0;
    }
    if (!(ps->task = task_find(task))) return -1;
    if (difficulty < 0 || difficulty > TASK_MAX_DIFFICULTY)
        return err_set("difficulty must be 0 (mixed) or 1..%d", TASK_MAX_DIFFICULTY);
    if (max_difficulty < 0 || max_difficulty > TASK_MAX_DIFFICULTY)
        return err_set("max difficulty must be 0 (all levels) or 1..%d", TASK_MAX_DIFFICULTY);
    return 0;
}

void problems_close(ProblemSource *ps) {
    if (ps->use_dataset) dataset_free(&ps->ds);
    free(ps->perm);
    memset(ps, 0, sizeof *ps);
}

const char *problems_verifier(const ProblemSource *ps) {
    if (ps->task) return ps->task->reward;
    return ps->ds.shape == DATASET_CODE ? "code" : "math";
}

long problems_count(const ProblemSource *ps) { return ps->use_dataset ? ps->ds.n : -1; }

// Row `index` of the dataset: in file order, or each pass in its own seeded order.
static int dataset_row(ProblemSource *ps, long index) {
    long n = ps->ds.n, epoch = index / n;
    if (!ps->shuffle) return (int)(index % n);
    if (epoch != ps->perm_epoch) {
        Rng r;
        rng_init(&r, ps->seed * 0x9E3779B97F4A7C15ull + (uint64_t)epoch);
        for (long i = 0; i < n; i++) ps->perm[i] = (int)i;
        for (long i = n - 1; i > 0; i--) {
            long j = (long)rng_below(&r, (uint64_t)i + 1);
            int t = ps->perm[i];
            ps->perm[i] = ps->perm[j];
            ps->perm[j] = t;
        }
        ps->perm_epoch = epoch;
    }
    return ps->perm[index % n];
}

void problems_row(const ProblemSource *ps, int i, PromptProblem *p) {
    const DatasetItem *it = &ps->ds.items[i];
    memset(p, 0, offsetof(PromptProblem, gen));
    p->index = i;
    p->question = it->prompt;
    p->answer = it->answer;
    p->task = it->json;
    snprintf(p->id, sizeof p->id, "%s:%ld", ps->dataset, it->line);
}

int problems_get(ProblemSource *ps, long index, PromptProblem *p) {
    if (ps->use_dataset) {
        problems_row(ps, dataset_row(ps, index), p);
        p->index = index;
        return 0;
    }
    memset(p, 0, offsetof(PromptProblem, gen));
    p->index = index;
    int d = ps->difficulty ? ps->difficulty : 1 + (int)(index % ps->max_difficulty);
    if (task_generate(ps->task, ps->seed, ps->split, d, index, &p->gen) != 0) return -1;
    p->difficulty = d;
    p->question = p->gen.prompt;
    p->answer = p->gen.code[0] ? NULL : p->gen.answer;   // code problems are judged by their tests
    p->generated = &p->gen;
    snprintf(p->id, sizeof p->id, "%s", p->gen.id);
    return 0;
}
