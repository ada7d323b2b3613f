// Seeded problem generators (arithmetic, countdown, linear equations, knights and
// knaves, small programs) with difficulty levels and a deterministic, disjoint train/test split.
// A problem is a pure function of (task, seed, split, difficulty, index); its
// split is decided by a hash of its canonical content, never by the seed, so a
// test problem can never be generated for train. No I/O, no global state.
#ifndef AHA_TASK_H
#define AHA_TASK_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "base/options.h"
#include "base/rng.h"

enum { TASK_SPLIT_TRAIN = 0, TASK_SPLIT_TEST = 1 };
#define TASK_TEST_PERCENT 10      // share of the content-hash space that is test
#define TASK_MAX_DIFFICULTY 5     // difficulties are 1..5
#define TASK_MAX_NUMBERS 6
#define TASK_PROMPT_MAX 2048
#define TASK_ANSWER_MAX 128
#define TASK_CODE_MAX 2048        // code: the JSON text of the tests and the reference solution

struct TaskDef;

typedef struct {
    const struct TaskDef *def;
    int split;                       // TASK_SPLIT_*
    int difficulty;                  // 1..TASK_MAX_DIFFICULTY
    uint64_t hash;                   // of the canonical content: decides split and id
    char id[48];                     // "<task>-<16 hex digits of hash>"
    char prompt[TASK_PROMPT_MAX];    // the question text
    char answer[TASK_ANSWER_MAX];    // gold answer as the task's verifier reads it
    int n_numbers;                   // countdown: numbers given (0 for other tasks)
    long numbers[TASK_MAX_NUMBERS];
    long target;                     // countdown target
    char code[TASK_CODE_MAX];        // code: JSON object text {"fn_name", "inputs", "outputs"} or
                                     // {"tests": [{"input", "output"}]}, plus "solution"; "" otherwise
} Problem;

// Draws one candidate problem at a difficulty: fills prompt, answer (and the
// countdown fields) of p and writes its canonical content (same problem <=> same
// text) to canon. Returns 0, or -1 when this draw should be rejected.
typedef int (*TaskMakeFn)(Rng *rng, int difficulty, Problem *p, char *canon, size_t canon_cap);

typedef struct TaskDef {
    const char *name;
    const char *reward;   // the reward that verifies it ("math", "countdown")
    const char *help;     // one line: what it asks and what difficulty changes
    TaskMakeFn make;
} TaskDef;

// The registry in a fixed order; *n receives the count.
const TaskDef *task_list(int *n);
// The task called name, or NULL after err_set() listing the known names.
const TaskDef *task_find(const char *name);
// The split names: "train" TASK_SPLIT_TRAIN, "test" TASK_SPLIT_TEST.
extern const OptChoice task_split_choices[];
// "train" / "test" -> TASK_SPLIT_*, or -1 after err_set().
int task_split_parse(const char *s);
const char *task_split_name(int split);

// Problem `index` (>= 0) of a split at a difficulty. Returns 0, or -1 after
// err_set() for a bad difficulty/split (or, never in practice, when no draw
// lands in the split).
int task_generate(const TaskDef *t, uint64_t seed, int split, int difficulty, long index,
                  Problem *out);

// The split a canonical content belongs to (TASK_SPLIT_*), for task name `task`.
int task_split_of(const char *task, const char *canon, uint64_t *hash);

// The problem as a JSON object {"id", "task", "split", "difficulty", "prompt",
// "answer", "reward", plus "numbers"/"target" for countdown and the fields of
// p->code for code}. The caller frees
// it with cJSON_Delete; NULL when out of memory.
cJSON *task_problem_json(const Problem *p);

// Generators (task_*.c), used by the registry.
int task_make_arithmetic(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap);
int task_make_countdown(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap);
int task_make_linear(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap);
int task_make_knights(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap);
int task_make_sum(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap);
int task_make_chat(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap);

// Reward-model data from a chat problem (task_chat.c), fixed by (problem, seed):
// a preference pair (chosen judged right by reward "chat", rejected judged
// wrong), or one completion with its safety label (1 safe, 0 harmful).
// task_chat_pair returns 1 for a hard pair: a harmless request whose rejected
// answer has the chosen one's shape with another name or word (the pair a small
// reward model learns last), else 0.
int task_chat_pair(const Problem *p, uint64_t seed, char *chosen, char *rejected, size_t cap);
void task_chat_label(const Problem *p, uint64_t seed, char *completion, size_t cap, int *label);
int task_make_code(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap);

// A uniform integer in [lo, hi] (helper shared by the generators).
long task_rand_range(Rng *rng, long lo, long hi);

#endif
