// Sandbox overhead: wall time per run of a trivial passing program (python3
// start-up included), one at a time and through the parallel pool, compared with
// a bare fork+exec of the same interpreter. Prints ms per run.
// Build: cc -O2 -D_GNU_SOURCE -Isrc bench/sandbox_bench/sandbox_bench.c build/libaha.a -lcjson -lm
#include "reward/sandbox.h"
#include "base/sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 50;
    if (runs < 1 || runs > 100000) runs = 50;
    SandboxLimits l;
    sandbox_limits_default(&l);
    const char *prog = "print(input())";

    double t0 = time_now();
    for (int i = 0; i < runs; i++) {
        pid_t p = fork();
        if (p == 0) {
            execl(l.python, l.python, "-I", "-c", "pass", (char *)NULL);
            _exit(127);
        }
        waitpid(p, NULL, 0);
    }
    double bare = (time_now() - t0) / runs;

    int ok = 0;
    t0 = time_now();
    for (int i = 0; i < runs; i++) {
        SandboxResult r;
        sandbox_run(&l, prog, "hi\n", &r);
        ok += sandbox_ok(&r) && sandbox_output_matches(r.out, r.out_len, "hi");
        sandbox_result_free(&r);
    }
    double one = (time_now() - t0) / runs;

    SandboxJob *jobs = calloc((size_t)runs, sizeof *jobs);
    SandboxResult *res = calloc((size_t)runs, sizeof *res);
    for (int i = 0; i < runs; i++) jobs[i] = (SandboxJob){prog, "hi\n", 3};
    t0 = time_now();
    sandbox_run_many(&l, jobs, runs, NULL, res);
    double pool = (time_now() - t0) / runs;
    for (int i = 0; i < runs; i++) {
        ok += sandbox_ok(&res[i]);
        sandbox_result_free(&res[i]);
    }
    printf("bare fork+exec python3:   %.2f ms/run\n", bare * 1e3);
    printf("sandbox, one at a time:   %.2f ms/run (overhead %.2f ms)\n", one * 1e3, (one - bare) * 1e3);
    printf("sandbox, pool of %ld:       %.2f ms/run (throughput)\n", sysconf(_SC_NPROCESSORS_ONLN), pool * 1e3);
    printf("passed %d of %d\n", ok, 2 * runs);
    free(jobs);
    free(res);
    return ok == 2 * runs ? 0 : 1;
}
