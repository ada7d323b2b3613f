// `aha task NAME`: prints generated problems as JSON Lines. Flag parsing only;
// the generators live in task/.
#include "cli/cli.h"
#include "base/err.h"
#include "task/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void task_help(void) {
    printf("usage: aha task NAME [--split train|test] [-n N] [--seed S] [--difficulty D] [--start I]\n"
           "Prints N generated problems of task NAME as JSON Lines: id, task, split, difficulty,\n"
           "prompt, answer (gold), reward (the verifier), plus numbers/target for countdown.\n"
           "A problem is fixed by (seed, split, difficulty, index); train and test never share one.\n\n"
           "  --split S        train (default) or test\n"
           "  -n N             number of problems (default 10)\n"
           "  --seed S         generator seed (default 0)\n"
           "  --difficulty D   1..%d (default 1)\n"
           "  --start I        index of the first problem (default 0)\n\ntasks:\n",
           TASK_MAX_DIFFICULTY);
    int n;
    const TaskDef *t = task_list(&n);
    for (int i = 0; i < n; i++) printf("  %-12s (verifier: %s) %s\n", t[i].name, t[i].reward, t[i].help);
}

int cmd_task(int argc, char **argv) {
    const char *name = NULL;
    long n = 10, seed = 0, difficulty = 1, start = 0;
    int split = TASK_SPLIT_TRAIN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (arg_is_help(a)) {
            task_help();
            return 0;
        } else if (strcmp(a, "--split") == 0) {
            if (!(v = arg_value("task", argc, argv, &i))) return 2;
            if ((split = task_split_parse(v)) < 0) return cli_usage("task", "%s", err_msg());
        } else if (strcmp(a, "-n") == 0) {
            if (!(v = arg_value("task", argc, argv, &i)) || arg_long("task", a, v, 0, 100000000L, &n)) return 2;
        } else if (strcmp(a, "--seed") == 0) {
            if (!(v = arg_value("task", argc, argv, &i)) || arg_long("task", a, v, 0, 0x7fffffffffffffffL, &seed))
                return 2;
        } else if (strcmp(a, "--difficulty") == 0) {
            if (!(v = arg_value("task", argc, argv, &i)) ||
                arg_long("task", a, v, 1, TASK_MAX_DIFFICULTY, &difficulty))
                return 2;
        } else if (strcmp(a, "--start") == 0) {
            if (!(v = arg_value("task", argc, argv, &i)) || arg_long("task", a, v, 0, 1L << 52, &start)) return 2;
        } else if (a[0] == '-') {
            return cli_usage("task", "unknown flag '%s'", a);
        } else if (name) {
            return cli_usage("task", "one task name expected, got '%s' and '%s'", name, a);
        } else {
            name = a;
        }
    }
    if (!name) return cli_usage("task", "which task? (aha task --help lists them)");
    const TaskDef *t = task_find(name);
    if (!t) return cli_usage("task", "%s", err_msg());
    for (long i = 0; i < n; i++) {
        Problem p;
        if (task_generate(t, (uint64_t)seed, split, (int)difficulty, start + i, &p) != 0)
            return cli_fail("task", "%s", err_msg());
        cJSON *o = task_problem_json(&p);
        char *s = o ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (!s) return cli_fail("task", "out of memory");
        int bad = puts(s) < 0;
        free(s);
        if (bad) return cli_fail("task", "cannot write to standard output");
    }
    return fflush(stdout) == 0 ? 0 : cli_fail("task", "cannot write to standard output");
}
