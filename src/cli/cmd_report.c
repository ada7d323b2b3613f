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
    {"run_dir", OPT_STRING, S(run_dir), 0, 0, NULL,
     "the run directory, written by aha grpo or aha zero (also given bare: aha report RUN_DIR)", NULL, NULL,
     OPT_POSITIONAL | OPT_REQUIRED},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "write the page here instead of RUN_DIR/report.html", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef S

const CliOptions report_cli = {
    report_options, sizeof(ReportFlags), NULL, "aha report RUN_DIR [--out FILE]",
    "Rebuilds RUN_DIR/report.html from metrics.jsonl and samples.jsonl (and config.json and zero.json when present): one self-contained page with charts over steps (reward, accuracy, completion length, reflection words, KL, token and semantic entropy, clip ratio, ...) and sample completions early and late.", NULL, 0};

int cmd_report(void *cfg) {
    ReportFlags *f = cfg;
    const char *dir = f->run_dir, *out = f->out[0] ? f->out : NULL;
    if (!path_is_dir(dir)) return cli_fail("report", "%s: not a directory", dir);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') f->run_dir[--n] = 0;   // "run/" names files "run/x", not "run//x"
    if (report_write(dir, out) != 0) return cli_fail("report", "%s", err_msg());
    if (out) printf("wrote %s\n", out);
    else printf("wrote %s/report.html\n", dir);
    return 0;
}
