// aha: reasoning reinforcement learning for language models.
// Dispatches `aha <command> ...` to the command entry points in cli/.
#include "base/dist.h"
#include "base/err.h"
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f, "usage: aha <command> [options]   (aha <command> --help for details)\n\ncommands:\n");
    for (const Command *c = cli_commands; c->name; c++) fprintf(f, "  %-18s %s\n", c->name, c->summary);
}

// OpenMP threads that spin while waiting make every step many times slower
// when the cores are shared with other work, and libgomp reads its wait policy
// before main runs. So unless the user chose one, aha restarts itself once
// with OMP_WAIT_POLICY=PASSIVE (a sleeping wait costs ~8 us per parallel
// region instead of ~1 us, which no step here notices).
static void prefer_passive_wait(char **argv) {
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);   // returns only on failure: carry on as is
#else
    (void)argv;
#endif
}

static int run(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (arg_is_help(argv[1])) {
        usage(stdout);
        return 0;
    }
    for (const Command *c = cli_commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0) return cli_run(c, argc - 1, argv + 1);
    fprintf(stderr, "aha: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

int main(int argc, char **argv) {
    prefer_passive_wait(argv);
    if (dist_init(&argc, &argv) != 0) {
        fprintf(stderr, "aha: %s\n", err_msg());
        return 1;
    }
    // One voice, rank 0's: the other ranks compute the same results and
    // print them nowhere (their errors still reach stderr).
    if (dist_rank() > 0) {
        log_quiet(1);
        if (!freopen("/dev/null", "w", stdout)) return 1;
    }
    int rc = run(argc, argv);
    // A rank that fails while the others wait in a collective call would hang
    // the job: stop every rank, naming this one.
    if (rc != 0 && dist_size() > 1) {
        fprintf(stderr, "aha: rank %d of %d failed (exit %d); stopping the job\n", dist_rank(), dist_size(), rc);
        dist_abort(rc);
    }
    dist_finalize();
    return rc;
}
