// aha report: rebuild RUN_DIR/report.html from the run's logs. Reads the run
// directory only; writes the one HTML file (atomically), nothing else.
#include "base/err.h"
#include "base/fileio.h"
#include "cli/cli.h"
#include "report/html.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char run_dir[4096], out[4096];
} ReportFlags;

#define S(x) offsetof(ReportFlags, x), sizeof(((ReportFlags *)0)->x)
static const OptDef report_options[] = {
    {"run_dir", OPT_STRING, S(run_dir), 0, 0, NULL, "the run directory (also given bare: aha report RUN_DIR)", NULL,
     NULL, OPT_POSITIONAL | OPT_REQUIRED},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "write the page here instead of RUN_DIR/report.html", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef S

static void report_defaults(void *cfg) { memset(cfg, 0, sizeof(ReportFlags)); }

const CliOptions report_cli = {
    report_options, sizeof(ReportFlags), report_defaults,
    "usage: aha report RUN_DIR [--out FILE]\n\n"
    "Rebuilds RUN_DIR/report.html from metrics.jsonl and samples.jsonl (and\n"
    "config.json and zero.json when present): one self-contained page with charts\n"
    "over steps (reward, accuracy, completion length, reflection words, KL, token\n"
    "and semantic entropy, clip ratio, ...) and sample completions early and late.\n",
    NULL};

int cmd_report(int argc, char **argv) {
    static ReportFlags f;   // large (paths): not on the stack
    int rc = cli_parse_options("report", argc, argv, &report_cli, &f);
    if (rc) return rc == 1 ? 0 : rc;
    const char *dir = f.run_dir, *out = f.out[0] ? f.out : NULL;
    if (!dir[0]) return cli_usage("report", "missing RUN_DIR (a directory written by aha grpo or aha zero)");
    if (!path_is_dir(dir)) return cli_fail("report", "%s: not a directory", dir);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') f.run_dir[--n] = 0;   // "run/" names files "run/x", not "run//x"
    if (report_write(dir, out) != 0) return cli_fail("report", "%s", err_msg());
    if (out) printf("wrote %s\n", out);
    else printf("wrote %s/report.html\n", dir);
    return 0;
}
