// aha report: rebuild RUN_DIR/report.html from the run's logs. Reads the run
// directory only; writes the one HTML file (atomically), nothing else.
#include "base/err.h"
#include "base/fileio.h"
#include "cli/cli.h"
#include "report/html.h"

#include <stdio.h>
#include <string.h>

static void report_help(void) {
    printf("usage: aha report RUN_DIR [--out FILE]\n\n"
           "Rebuilds RUN_DIR/report.html from metrics.jsonl and samples.jsonl (and\n"
           "config.json and zero.json when present): one self-contained page with charts\n"
           "over steps (reward, accuracy, completion length, reflection words, KL, token\n"
           "and semantic entropy, clip ratio, ...) and sample completions early and late.\n\n"
           "  --out FILE   write the page here instead of RUN_DIR/report.html\n");
}

int cmd_report(int argc, char **argv) {
    const char *run_dir = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (arg_is_help(a)) {
            report_help();
            return 0;
        }
        if (!strcmp(a, "--out")) {
            if (!(out = arg_value("report", argc, argv, &i))) return 2;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage("report", "unknown option '%s'", a);
        } else if (run_dir) {
            return cli_usage("report", "one run directory expected, got '%s' and '%s'", run_dir, a);
        } else {
            run_dir = a;
        }
    }
    if (!run_dir) return cli_usage("report", "missing RUN_DIR (a directory written by aha grpo or aha zero)");
    if (!path_is_dir(run_dir)) return cli_fail("report", "%s: not a directory", run_dir);
    char dir[4096];
    size_t n = strlen(run_dir);
    while (n > 1 && run_dir[n - 1] == '/') n--;   // "run/" names files "run/x", not "run//x"
    if (path_fmt(dir, sizeof dir, "%.*s", (int)n, run_dir) != 0) return cli_fail("report", "%s", err_msg());
    if (report_write(dir, out) != 0) return cli_fail("report", "%s", err_msg());
    if (out) printf("wrote %s\n", out);
    else printf("wrote %s/report.html\n", dir);
    return 0;
}
