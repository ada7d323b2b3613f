// The code reward under a trainer's load: one step's 64 completions (8 code-task
// problems x 8 samples, difficulties 1..5, call-based and stdin/stdout) scored
// against their 5 tests each, all tests run (partial credit), at several
// sandbox pool sizes. Half the completions are the reference solution, a
// quarter a wrong one, an eighth loop forever, an eighth crash. Prints programs
// per second and the wall time of the batch for each pool size. With more
// sandboxes than CPUs a wall limit equal to the CPU limit cuts honest programs
// short while they wait for a CPU; a longer wall limit (the code reward's wall=)
// keeps them.
//   make bench && build/bench/code_reward [timeout_s [wall_s]]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/sys.h"
#include "reward/code.h"
#include "task/task.h"

#define B 8
#define G 8

int main(int argc, char **argv) {
    double timeout = argc > 1 ? atof(argv[1]) : 1.0;
    if (!(timeout > 0 && timeout < 60)) timeout = 1.0;
    double wall = argc > 2 ? atof(argv[2]) : timeout;
    if (!(wall >= timeout && wall < 600)) wall = timeout;
    static Problem probs[B];
    cJSON *rows[B];
    char *text[B * G];
    RewardInput in[B * G];
    RewardCodeReport rep[B * G];
    double out[B * G];
    for (int b = 0; b < B; b++) {
        if (task_generate(task_find("code"), 1, TASK_SPLIT_TRAIN, 1 + b % TASK_MAX_DIFFICULTY, b, &probs[b]) != 0) {
            fprintf(stderr, "%s\n", err_msg());
            return 1;
        }
        rows[b] = task_problem_json(&probs[b]);
        const char *sol = cJSON_GetObjectItem(rows[b], "solution")->valuestring;
        const char *fn = cJSON_GetObjectItem(rows[b], "fn_name") ? cJSON_GetObjectItem(rows[b], "fn_name")->valuestring : "f";
        for (int g = 0; g < G; g++) {
            int i = b * G + g;
            text[i] = malloc(strlen(sol) + 256);
            if (g < 4) sprintf(text[i], "```python\n%s```", sol);
            else if (g < 6) sprintf(text[i], "```python\ndef %s(*a):\n    return 0\nprint(0)\n```", fn);
            else if (g == 6) sprintf(text[i], "```python\nwhile True:\n    pass\n```");
            else sprintf(text[i], "```python\nraise ValueError('no')\n```");
            in[i] = (RewardInput){.completion = text[i], .completion_len = strlen(text[i]), .task = rows[b],
                                  .code = &rep[i]};
        }
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int pools[] = {1, 2, 4, 8, 16, (int)ncpu};
    printf("64 completions x 5 tests, CPU limit %.1f s, wall limit %.1f s, %ld CPUs\n", timeout, wall, ncpu);
    printf("%-6s %10s %10s %12s %8s   first failures\n", "pool", "programs", "seconds", "programs/s", "reward");
    for (size_t k = 0; k < sizeof pools / sizeof pools[0]; k++) {
        if (k > 0 && pools[k] == pools[k - 1]) continue;
        SandboxLimits l;
        sandbox_limits_default(&l);
        l.cpu_seconds = timeout;
        l.wall_seconds = wall;
        l.max_parallel = pools[k];
        double t0 = time_now();
        if (reward_code_batch_limits(in, B * G, &l, 1, out) != 0) {
            fprintf(stderr, "%s\n", err_msg());
            return 1;
        }
        double dt = time_now() - t0, mean = 0;
        long runs = 0;
        for (int i = 0; i < B * G; i++) runs += rep[i].run, mean += out[i] / (B * G);
        long outcomes[REWARD_CODE_OUTCOMES] = {0};
        for (int i = 0; i < B * G; i++) outcomes[rep[i].outcome]++;
        printf("%-6d %10ld %10.2f %12.1f %8.3f  ", pools[k], runs, dt, runs / dt, mean);
        for (int o = 0; o < REWARD_CODE_OUTCOMES; o++) printf(" %s %ld", reward_code_outcome_names[o], outcomes[o]);
        printf("\n");
    }
    for (int i = 0; i < B * G; i++) free(text[i]);
    for (int b = 0; b < B; b++) cJSON_Delete(rows[b]);
    return 0;
}
