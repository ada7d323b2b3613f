// The `code` reward: runs the Python program found in each completion against
// the task's tests (stdin/stdout or call-based) in the sandbox (sandbox.h), many completions at
// once with a bounded number of sandboxes. It never runs code outside the sandbox.
#ifndef AHA_REWARD_CODE_H
#define AHA_REWARD_CODE_H

#include "reward/reward.h"
#include "reward/sandbox.h"

#include <stddef.h>

// Options (RewardParams keys, all optional):
//   partial=1      reward = fraction of tests passed (default 0: 1 only if all pass,
//                  and the remaining tests of a failing program are skipped)
//   timeout=S      seconds per test run, CPU and wall clock (default 5)
//   wall=S         wall-clock seconds instead, when more than timeout: a program
//                  waiting for a CPU (more sandboxes than CPUs) is not cut
//                  short, while CPU time still stops a loop at timeout
//   memory_mb=M    address-space limit (default 1024)
//   parallel=P     sandboxes alive at once (default: CPU count)
//   python=PATH    interpreter (default /usr/bin/python3)
//   unsafe_sandbox=1  where namespaces cannot be made (no unprivileged user
//                  namespaces), run programs with rlimits and a seccomp filter
//                  only, warned on stderr, instead of refusing (default 0)
#define REWARD_CODE_KEYS "partial,timeout,wall,memory_mb,parallel,python,unsafe_sandbox"

// Scores n completions against their tests: in[i].task's fields in a shape of
// task/code_tests.h, else those of the generated problem in[i].problem->code.
// out is (n), each in [0, 1]; in[i].code, when set, receives the report.
// Returns 0, or -1 after err_set() naming the input index when a task has no
// usable tests or the sandbox loop fails.
int reward_code_batch(const RewardInput *in, int n, const RewardParams *p, double *out);

// The same with explicit sandbox limits (tests use small ones). partial as above.
int reward_code_batch_limits(const RewardInput *in, int n, const SandboxLimits *lim, int partial,
                             double *out);

// The program text in a completion: the body of the last ```python (or ```py,
// ```python3) fence; else of the last plain ``` fence; else the content of the
// last <answer>...</answer>; else the whole text. Returns a malloc'd string
// (caller frees), or NULL when out of memory.
char *reward_code_extract(const char *text, size_t len);
// The same; *found (may be NULL) is 0 when nothing marked the program (the
// whole text is returned), else 1.
char *reward_code_find(const char *text, size_t len, int *found);

// Reports of many completions added up, for a step's metrics.
typedef struct {
    long completions, tests, run, passed;
    long outcomes[REWARD_CODE_OUTCOMES];
} RewardCodeSummary;
void reward_code_summary_add(RewardCodeSummary *s, const RewardCodeReport *r);
// Adds rewards/code/pass_rate (share of completions passing every test),
// tests_passed_frac, tests_run, <outcome>_frac for each failure kind and
// programs_per_s (test runs over `seconds` of reward time) to o; nothing when
// no completion was scored.
void reward_code_summary_json(cJSON *o, const RewardCodeSummary *s, double seconds);
// {"tests", "run", "passed", "result": "pass"} or {..., "first_failure": KIND};
// NULL when out of memory.
cJSON *reward_code_report_json(const RewardCodeReport *r);

#endif
