// RUN/report.html of aha r1: the r1.json table, the held-out numbers across
// the stages, and the training accuracy of R1-Zero beside stage 2's (from the
// cold start) over steps. It reads what the stages wrote and trains nothing.
#include "train/r1.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "report/chart.h"
#include "report/html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// The training accuracy of RUN/dir/grpo/metrics.jsonl by step into y (cap
// steps; NaN where a step has none); the last step logged into *n.
static int read_accuracy(const char *run, const char *dir, double *y, int cap, int *n) {
    char path[4096];
    JsonlReader r;
    *n = 0;
    for (int i = 0; i < cap; i++) y[i] = NAN;
    if (path_fmt(path, sizeof path, "%s/%s/grpo/metrics.jsonl", run, dir) != 0) return -1;
    if (!path_exists(path)) return 0;
    if (jsonl_open(&r, path) != 0) return -1;
    cJSON *o;
    int rc;
    while ((rc = jsonl_next(&r, &o)) == 1) {
        long step = 0;
        double acc = NAN;
        json_get_int(o, "step", &step, 0);
        json_get_double(o, "accuracy", &acc, 0);
        if (step >= 1 && step <= cap) {
            y[step - 1] = acc;
            if (step > *n) *n = (int)step;
        }
        cJSON_Delete(o);
    }
    jsonl_close(&r);
    return rc < 0 ? -1 : 0;
}

static double num(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void write_table(FILE *f, const cJSON *rows) {
    static const char *const keys[] = {"pass@1", "cons@k", "pass@k", "mean_length", "reflection_per_1k",
                                       "language_mixing", "format_rate", "chat_pass@1", "helpfulness", "safety",
                                       "train_seconds"};
    enum { N_KEYS = sizeof keys / sizeof keys[0] };
    fprintf(f, "<table><tr><th>stage</th>");
    for (int k = 0; k < N_KEYS; k++) {
        fprintf(f, "<th>");
        html_escape_str(f, keys[k]);
        fprintf(f, "</th>");
    }
    fprintf(f, "</tr>\n");
    const cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        fprintf(f, "<tr><td>");
        html_escape_str(f, row->string);
        fprintf(f, "</td>");
        for (int k = 0; k < N_KEYS; k++) fprintf(f, "<td>%.3f</td>", num(row, keys[k]));
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table>\n");
}

// Held-out numbers across the stages: x is the stage's place in the table.
static void write_stage_chart(FILE *f, const cJSON *rows) {
    static const char *const keys[] = {"pass@1", "cons@k", "format_rate", "language_mixing", "chat_pass@1"};
    enum { N_KEYS = sizeof keys / sizeof keys[0], MAX_ROWS = 32 };
    double x[MAX_ROWS], y[N_KEYS][MAX_ROWS];
    int n = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        if (n == MAX_ROWS) break;
        x[n] = n;
        for (int k = 0; k < N_KEYS; k++) y[k][n] = num(row, keys[k]);
        n++;
    }
    Chart c = {.id = "stages", .title = "held-out, by stage (x: the stage's row in the table, from 0)", .x = x,
               .n = n, .n_series = N_KEYS, .from_zero = 1, .fraction = 1};
    for (int k = 0; k < N_KEYS; k++) c.series[k] = (ChartSeries){keys[k], keys[k], y[k]};
    if (chart_has_data(&c)) chart_write(f, &c);
}

// R1's cold-start comparison: training accuracy of R1-Zero (from the base)
// and of stage 2 (from the cold-start model) over steps.
static int write_accuracy_chart(FILE *f, const char *run) {
    enum { MAX_STEPS = 100000 };
    double *x = malloc(sizeof(double) * MAX_STEPS), *zero = malloc(sizeof(double) * MAX_STEPS),
           *rl = malloc(sizeof(double) * MAX_STEPS);   // (MAX_STEPS) each
    int nz = 0, nr = 0, rc = x && zero && rl ? 0 : err_set("out of memory");
    if (rc == 0) rc = read_accuracy(run, "0-zero", zero, MAX_STEPS, &nz);
    if (rc == 0) rc = read_accuracy(run, "2-reasoning-rl", rl, MAX_STEPS, &nr);
    if (rc == 0) {
        int n = nz > nr ? nz : nr;
        for (int i = 0; i < n; i++) x[i] = i + 1;
        Chart c = {.id = "accuracy", .title = "training accuracy: R1-Zero (from the base) and stage 2 (from the cold start)",
                   .x = x, .n = n, .n_series = 2, .from_zero = 1, .fraction = 1};
        c.series[0] = (ChartSeries){"zero", "R1-Zero", zero};
        c.series[1] = (ChartSeries){"reasoning_rl", "stage 2", rl};
        if (n > 0 && chart_has_data(&c)) chart_write(f, &c);
    }
    free(x);
    free(zero);
    free(rl);
    return rc;
}

int r1_report_write(const char *run, const cJSON *rows) {
    char path[4096];
    AtomicFile af;
    if (path_join(path, sizeof path, run, "report.html") != 0 || atomic_open(&af, path) != 0) return -1;
    FILE *f = af.f;
    fprintf(f, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>aha r1</title>\n"
               "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
               "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
               "svg.chart{border:1px solid #eee}</style></head><body>\n<h1>aha r1: ");
    html_escape_str(f, run);
    fprintf(f, "</h1>\n<p>Held-out evaluation of every stage (r1.json): test-split problems at T 0.6, top-p 0.95; "
               "chat: held-out chat prompts judged by rule.</p>\n");
    write_table(f, rows);
    write_stage_chart(f, rows);
    int rc = write_accuracy_chart(f, run);
    fprintf(f, "</body></html>\n");
    if (rc != 0 || ferror(f)) {
        atomic_abort(&af);
        return rc != 0 ? -1 : err_set("%s: cannot write", path);
    }
    return atomic_commit(&af);
}
