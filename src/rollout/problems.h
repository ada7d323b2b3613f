// Where prompts come from: a seeded task generator (train or test split) or a
// JSONL dataset, indexed by a problem number so that a run can resume at any
// point and a problem's sampling key never depends on batch layout. It names
// the verifier that decides correctness for its problems. No I/O after open,
// and no allocation per problem.
#ifndef AHA_ROLLOUT_PROBLEMS_H
#define AHA_ROLLOUT_PROBLEMS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "task/dataset.h"
#include "task/task.h"

typedef struct {
    const TaskDef *task;     // NULL with a dataset
    const char *dataset;     // the dataset's path (the caller's string), for FILE:LINE
    Dataset ds;
    int use_dataset;
    int split;               // TASK_SPLIT_* (task problems)
    uint64_t seed;
    int difficulty;          // 0: cycle 1..max_difficulty by index
    int max_difficulty;      // 1..TASK_MAX_DIFFICULTY
    int shuffle;             // dataset: a fresh seeded order each pass; else file order
    int *perm;               // (ds.n) the order of the current pass
    long perm_epoch;
} ProblemSource;

// One problem. The text fields point into the source's dataset or into gen;
// a Problem must therefore stay where problems_get wrote it.
typedef struct {
    long index;              // problem number (the sampler's random key)
    int difficulty;          // 1..5 for task problems, 0 for dataset rows
    char id[576];            // task problem id, or "FILE:LINE" of the dataset row
    const char *question;    // the text before the template
    const char *answer;      // gold answer, or NULL when there is none
    const cJSON *task;       // dataset row fields for the verifier ("numbers", "tests"), or NULL
    const Problem *generated;   // the task problem (countdown fields), or NULL
    Problem gen;             // storage for generated problems
} PromptProblem;

// Open a task (train or test split) or a dataset; exactly one of task and
// dataset is non-empty. Difficulty 0 cycles 1..max_difficulty (0: all levels) (dataset must outlive ps: problem ids quote it).
// Returns 0, or -1 after err_set (unknown task, bad difficulty, unreadable
// dataset naming file:line).
int problems_open(ProblemSource *ps, const char *task, const char *dataset, int split, uint64_t seed, int difficulty,
                  int max_difficulty, int shuffle);
void problems_close(ProblemSource *ps);
// The reward whose value 1 means "correct" for these problems: the task's own
// verifier; for datasets "code" when its rows carry tests, else "math".
const char *problems_verifier(const ProblemSource *ps);
// Problems in a dataset (one pass), or -1 for a generator (unbounded).
long problems_count(const ProblemSource *ps);
// Problem number index into *p. Returns 0, or -1 after err_set.
int problems_get(ProblemSource *ps, long index, PromptProblem *p);
// Dataset row i (file order, before any shuffle) into *p.
void problems_row(const ProblemSource *ps, int i, PromptProblem *p);

#endif
