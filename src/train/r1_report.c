// The tables of aha r1: r1.json's rows from the stages' stage.json, the table
// printed, and RUN/report.html: the table, pass@1 by difficulty, the held-out
// numbers across the stages, and the training accuracy of R1-Zero beside stage
// 2's (from the cold start) over steps. It reads what the stages wrote and
// trains nothing.
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

// The key as a number; 0 when absent (the rows of r1.json hold numbers only).
static double num0(const cJSON *o, const char *key) {
    double v = num(o, key);
    return isnan(v) ? 0 : v;
}

cJSON *r1_row(const cJSON *st) {
    static const char *const keys[] = {"pass@1", "cons@k", "pass@k", "mean_length", "reflection_per_1k",
                                       "language_mixing", "format_rate", "truncated"};
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(st, "eval"), *chat = cJSON_GetObjectItemCaseSensitive(st, "chat");
    cJSON *r = cJSON_CreateObject(), *bd = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "stage", num0(st, "stage"));
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(st, "model");
    cJSON_AddStringToObject(r, "model", cJSON_IsString(m) ? m->valuestring : "");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) cJSON_AddNumberToObject(r, keys[i], num0(ev, keys[i]));
    const cJSON *d;
    cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(ev, "by_difficulty"))
        cJSON_AddNumberToObject(bd, d->string, num0(d, "pass@1"));
    cJSON_AddItemToObject(r, "pass@1_by_difficulty", bd);
    cJSON_AddNumberToObject(r, "chat_pass@1", num0(chat, "pass@1"));
    cJSON_AddNumberToObject(r, "chat_format_rate", num0(chat, "format_rate"));
    cJSON_AddNumberToObject(r, "helpfulness", num0(chat, "helpfulness"));
    cJSON_AddNumberToObject(r, "safety", num0(chat, "safety"));
    cJSON_AddNumberToObject(r, "train_seconds", num0(st, "train_seconds"));
    // RL stages: training accuracy early and late (R1's cold start versus R1-Zero).
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(st, "data"), "train_accuracy");
    if (acc) cJSON_AddItemToObject(r, "train_accuracy", cJSON_Duplicate(acc, 1));
    return r;
}

// The difficulties any row has pass@1 for, ascending, into d (at most cap); their count.
static int difficulties(const cJSON *rows, int *d, int cap) {
    int n = 0;
    const cJSON *row, *e;
    cJSON_ArrayForEach(row, rows) {
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(row, "pass@1_by_difficulty")) {
            int v = atoi(e->string), at = 0;
            while (at < n && d[at] < v) at++;
            if ((at < n && d[at] == v) || n == cap) continue;
            memmove(d + at + 1, d + at, sizeof *d * (size_t)(n - at));
            d[at] = v, n++;
        }
    }
    return n;
}

// pass@1 of row at difficulty d; NaN when it has none.
static double pass_at(const cJSON *row, int d) {
    char key[16];
    snprintf(key, sizeof key, "%d", d);
    return num(cJSON_GetObjectItemCaseSensitive(row, "pass@1_by_difficulty"), key);
}

void r1_print_table(FILE *f, const cJSON *rows) {
    fprintf(f, "\n%-14s %7s %7s %7s %8s %8s %7s %7s %7s %7s %7s %8s\n", "held-out", "pass@1", "cons@k", "pass@k",
            "length", "refl/1k", "mixing", "format", "chat", "helpful", "safe", "train s");
    const cJSON *row;
    cJSON_ArrayForEach(row, rows)
        fprintf(f, "%-14s %7.3f %7.3f %7.3f %8.1f %8.2f %7.3f %7.3f %7.3f %7.3f %7.3f %8.0f\n", row->string,
                num0(row, "pass@1"), num0(row, "cons@k"), num0(row, "pass@k"), num0(row, "mean_length"),
                num0(row, "reflection_per_1k"), num0(row, "language_mixing"), num0(row, "format_rate"),
                num0(row, "chat_pass@1"), num0(row, "helpfulness"), num0(row, "safety"), num0(row, "train_seconds"));
    int d[16], nd = difficulties(rows, d, 16);
    if (nd > 1) {
        fprintf(f, "\n%-14s", "pass@1 at difficulty");
        for (int i = 0; i < nd; i++) fprintf(f, " %6d", d[i]);
        fprintf(f, "\n");
        cJSON_ArrayForEach(row, rows) {
            fprintf(f, "%-20s", row->string);
            for (int i = 0; i < nd; i++) fprintf(f, " %6.3f", pass_at(row, d[i]));
            fprintf(f, "\n");
        }
    }
    // How fast each RL stage starts: R1's comparison of cold start with R1-Zero.
    fprintf(f, "\n");
    cJSON_ArrayForEach(row, rows) {
        const cJSON *acc = cJSON_GetObjectItemCaseSensitive(row, "train_accuracy");
        if (!acc) continue;
        fprintf(f, "%-14s training accuracy (5-step mean) at step 10", row->string);
        const char *key[3] = {"10", "20", "last"};
        for (int k = 0; k < 3; k++) {
            if (k) fprintf(f, k == 1 ? ", 20" : ", last");
            if (cJSON_GetObjectItemCaseSensitive(acc, key[k])) fprintf(f, " %.3f", num0(acc, key[k]));
            else fprintf(f, " -");
        }
        fprintf(f, "\n");
    }
    fprintf(f, "(mixing: chains of thought in two scripts; format: <think>..</think><answer>..</answer>; chat: held-out\n"
               " chat prompts judged by rule, helpful over harmless requests, safe over harmful ones; difficulty D\n"
               " of sum: D + 2 terms; distilled: the student fine-tuned on stage 4's verified traces)\n");
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

// pass@1 by difficulty (for sums, the number of terms less 2), one series per stage.
static void write_difficulty_chart(FILE *f, const cJSON *rows) {
    enum { MAX_D = 16 };
    int d[MAX_D], nd = difficulties(rows, d, MAX_D), n = 0;
    double x[MAX_D], y[CHART_MAX_SERIES][MAX_D];
    if (nd < 2) return;
    for (int i = 0; i < nd; i++) x[i] = d[i];
    Chart c = {.id = "difficulty", .title = "held-out pass@1 by difficulty (sum: difficulty + 2 terms)", .x = x, .n = nd,
               .from_zero = 1, .fraction = 1};
    const cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        if (n == CHART_MAX_SERIES) break;
        for (int i = 0; i < nd; i++) y[n][i] = pass_at(row, d[i]);
        c.series[n] = (ChartSeries){row->string, row->string, y[n]};
        n++;
    }
    c.n_series = n;
    if (chart_has_data(&c)) chart_write(f, &c);
}

// R1's cold-start comparison: training accuracy of R1-Zero (from the base)
// and of stage 2 (from the cold-start model) over steps.
static int write_accuracy_chart(FILE *f, const char *run) {
    enum { MAX_STEPS = 100000 };
    double *x = malloc(sizeof(double) * MAX_STEPS), *zero = malloc(sizeof(double) * MAX_STEPS),
           *rl = malloc(sizeof(double) * MAX_STEPS), *lang = malloc(sizeof(double) * MAX_STEPS);   // (MAX_STEPS) each
    int nz = 0, nr = 0, nl = 0, rc = x && zero && rl && lang ? 0 : err_set("out of memory");
    if (rc == 0) rc = read_accuracy(run, "0-zero", zero, MAX_STEPS, &nz);
    if (rc == 0) rc = read_accuracy(run, "0-zero-language", lang, MAX_STEPS, &nl);
    if (rc == 0) rc = read_accuracy(run, "2-reasoning-rl", rl, MAX_STEPS, &nr);
    if (rc == 0) {
        int n = nz > nr ? nz : nr;
        n = nl > n ? nl : n;
        for (int i = 0; i < n; i++) x[i] = i + 1;
        Chart c = {.id = "accuracy", .title = "training accuracy: R1-Zero (from the base, without and with the language reward) and stage 2 (from the cold start)",
                   .x = x, .n = n, .n_series = 2, .from_zero = 1, .fraction = 1};
        c.series[0] = (ChartSeries){"zero", "R1-Zero", zero};
        c.series[1] = (ChartSeries){"reasoning_rl", "stage 2", rl};
        if (nl > 0) c.series[c.n_series++] = (ChartSeries){"zero_language", "R1-Zero + language", lang};
        if (n > 0 && chart_has_data(&c)) chart_write(f, &c);
    }
    free(x);
    free(zero);
    free(rl);
    free(lang);
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
    write_difficulty_chart(f, rows);
    int rc = write_accuracy_chart(f, run);
    fprintf(f, "</body></html>\n");
    if (rc != 0 || ferror(f)) {
        atomic_abort(&af);
        return rc != 0 ? -1 : err_set("%s: cannot write", path);
    }
    return atomic_commit(&af);
}
