// report.html from a run directory: headline numbers, before/after evaluation,
// charts over steps, early and late sample completions, the configuration.
// Every string from the run's files is escaped; the page has no scripts.
#include "report/html.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "report/chart.h"
#include "tok/utf8.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SAMPLES_SHOWN = 3, SHOWN_BYTES = 6000 };

void html_escape(FILE *f, const char *s, size_t n) {
    // Invalid UTF-8 (a small model emits any byte) becomes U+FFFD first, so
    // the page is valid UTF-8 whatever the completions hold.
    char *clean = NULL;
    size_t clean_n = 0;
    if (utf8_sanitize(s, n, &clean, &clean_n) == 1) s = clean, n = clean_n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) fputs("&#xFFFD;", f);
            else fputc(c, f);
        }
    }
    free(clean);
}

void html_escape_str(FILE *f, const char *s) {
    if (s) html_escape(f, s, strlen(s));
}

// ---- metrics.jsonl: one object per step, kept whole; columns pulled by key.

typedef struct {
    char path[4200];
    cJSON **rows;   // (n) one object per line
    long *lines;    // (n) line number of each row, for messages
    double *step;   // (n) "step", or the row's ordinal when absent
    int n;
} Metrics;

static void metrics_free(Metrics *m) {
    for (int i = 0; i < m->n; i++) cJSON_Delete(m->rows[i]);
    free(m->rows);
    free(m->lines);
    free(m->step);
}

// A column as doubles: NaN where the key is absent, null or not finite.
// Returns 0, or -1 naming file:line when a value is not a number.
static int metrics_column(const Metrics *m, const char *key, double *out) {
    for (int i = 0; i < m->n; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->rows[i], key);
        out[i] = NAN;
        if (!v || cJSON_IsNull(v)) continue;
        if (!cJSON_IsNumber(v))
            return err_set("%s:%ld: field \"%s\" must be a number", m->path, m->lines[i], key);
        if (isfinite(v->valuedouble)) out[i] = v->valuedouble;
    }
    return 0;
}

static int metrics_load(Metrics *m, const char *run_dir) {
    memset(m, 0, sizeof *m);
    if (path_join(m->path, sizeof m->path, run_dir, "metrics.jsonl") != 0) return -1;
    JsonlReader r;
    if (jsonl_open(&r, m->path) != 0) return -1;
    int cap = 0, rc = 0;
    cJSON *o;
    while ((rc = jsonl_next(&r, &o)) == 1) {
        if (!cJSON_IsObject(o)) {
            cJSON_Delete(o);
            rc = err_set("%s:%ld: expected a JSON object (one per step)", m->path, r.line);
            break;
        }
        if (m->n == cap) {
            cap = cap ? 2 * cap : 256;
            cJSON **rows = realloc(m->rows, sizeof *rows * (size_t)cap);
            if (rows) m->rows = rows;
            long *lines = realloc(m->lines, sizeof *lines * (size_t)cap);
            if (lines) m->lines = lines;
            if (!rows || !lines) {
                cJSON_Delete(o);
                rc = err_set("%s: out of memory", m->path);
                break;
            }
        }
        m->rows[m->n] = o;
        m->lines[m->n++] = r.line;
    }
    jsonl_close(&r);
    if (rc < 0) return -1;
    m->step = malloc(sizeof(double) * (size_t)(m->n ? m->n : 1));
    if (!m->step) return err_set("%s: out of memory", m->path);
    if (metrics_column(m, "step", m->step) != 0) return -1;
    for (int i = 0; i < m->n; i++)
        if (!isfinite(m->step[i])) m->step[i] = i + 1;
    return 0;
}

// ---- charts: which keys go together, in page order.

enum { BAND_NONE, BAND_STD, BAND_RANGE };

typedef struct {
    const char *id, *title;
    const char *keys[2], *labels[2];
    int band;                  // BAND_STD: keys[0] +- band_a; BAND_RANGE: [band_a, band_b]
    const char *band_a, *band_b;
    int from_zero, fraction;
    int family;                // FAMILY_*: the runs whose report says when it was not logged
} ChartDef;

enum { FAMILY_RL, FAMILY_SUPERVISED, FAMILY_ANY };

// "components" is filled at run time with every rewards/<fn>/mean key.
static const ChartDef chart_defs[] = {
    {"reward", "Reward (mean; band: \u00b11 std)", {"reward"}, {"reward"}, BAND_STD, "reward_std", NULL, 0, 0, FAMILY_RL},
    {"components", "Reward components (mean)", {NULL}, {NULL}, BAND_NONE, NULL, NULL, 0, 0, FAMILY_RL},
    {"accuracy", "Accuracy", {"accuracy"}, {"accuracy"}, BAND_NONE, NULL, NULL, 1, 1, FAMILY_RL},
    {"length", "Completion length (tokens; band: min\u2013max)", {"completions/mean_length"}, {"mean"},
     BAND_RANGE, "completions/min_length", "completions/max_length", 1, 0, FAMILY_RL},
    {"clipped", "Truncated completions (fraction)", {"completions/clipped_ratio"}, {"truncated"}, BAND_NONE, NULL, NULL, 1, 0, FAMILY_RL},
    {"reflection", "Reflection words per 1k tokens", {"reflection_per_1k"}, {"per 1k"}, BAND_NONE, NULL, NULL, 1, 0, FAMILY_RL},
    {"planning", "Planning-token fraction", {"planning_token_frac"}, {"fraction"}, BAND_NONE, NULL, NULL, 1, 0, FAMILY_RL},
    {"kl", "KL to the reference policy", {"kl"}, {"kl"}, BAND_NONE, NULL, NULL, 1, 0, FAMILY_RL},
    {"entropy", "Token entropy", {"entropy"}, {"entropy"}, BAND_NONE, NULL, NULL, 0, 0, FAMILY_RL},
    {"semantic_entropy", "Semantic entropy", {"semantic_entropy"}, {"semantic"}, BAND_NONE, NULL, NULL, 0, 0, FAMILY_RL},
    {"clip", "Clip ratio", {"clip_ratio/low_mean", "clip_ratio/high_mean"}, {"low", "high"}, BAND_NONE, NULL, NULL, 1, 0, FAMILY_RL},
    {"loss", "Loss (supervised; eval: held-out rows)", {"loss", "eval_loss"}, {"train", "eval"}, BAND_NONE, NULL, NULL, 0, 0,
     FAMILY_SUPERVISED},
    {"token_accuracy", "Mean token accuracy", {"mean_token_accuracy", "eval_mean_token_accuracy"}, {"train", "eval"},
     BAND_NONE, NULL, NULL, 0, 1, FAMILY_SUPERVISED},
    {"grad_norm", "Gradient norm", {"grad_norm"}, {"norm"}, BAND_NONE, NULL, NULL, 1, 0, FAMILY_ANY},
    {"lr", "Learning rate", {"learning_rate"}, {"lr"}, BAND_NONE, NULL, NULL, 1, 0, FAMILY_ANY},
    {"step_time", "Step time (s)", {"step_time"}, {"seconds"}, BAND_NONE, NULL, NULL, 1, 0, FAMILY_RL},
};
enum { N_CHART_DEFS = sizeof chart_defs / sizeof chart_defs[0] };

// Keys "rewards/<fn>/mean" in order of first appearance, at most CHART_MAX_SERIES.
static int reward_component_keys(const Metrics *m, const char **keys) {
    int k = 0;
    for (int i = 0; i < m->n; i++)
        for (const cJSON *it = m->rows[i]->child; it; it = it->next) {
            const char *s = it->string;
            size_t len = strlen(s);
            if (strncmp(s, "rewards/", 8) != 0 || len < 14 || strcmp(s + len - 5, "/mean") != 0) continue;
            int seen = 0;
            for (int j = 0; j < k; j++) seen |= strcmp(keys[j], s) == 0;
            if (!seen && k < CHART_MAX_SERIES) keys[k++] = s;
        }
    return k;
}

// Labels for component series: "<fn>" cut out of "rewards/<fn>/mean".
typedef struct {
    char text[CHART_MAX_SERIES][96];
} LabelBuf;

static int has_key(const Metrics *m, const char *key) {
    for (int i = 0; i < m->n; i++)
        if (cJSON_GetObjectItemCaseSensitive(m->rows[i], key)) return 1;
    return 0;
}

// Draw every chart with data; list the ones that have none, of the run's kind
// (RL runs log "reward", supervised ones "loss"). Returns 0 or -1.
static int write_charts(FILE *f, const Metrics *m) {
    int kinds[] = {[FAMILY_RL] = has_key(m, "reward"), [FAMILY_SUPERVISED] = has_key(m, "loss"), [FAMILY_ANY] = 1};
    size_t n = (size_t)(m->n ? m->n : 1);
    double *cols = malloc(sizeof(double) * n * (CHART_MAX_SERIES + 2));   // (S+2, n)
    if (!cols) return err_set("%s: out of memory", m->path);
    const char *missing[N_CHART_DEFS];
    int n_missing = 0, rc = 0;
    LabelBuf lb;
    fprintf(f, "<section id=\"charts\">\n<h2>Training curves</h2>\n<div class=\"grid\">\n");
    for (int d = 0; d < N_CHART_DEFS && rc == 0; d++) {
        const ChartDef *def = &chart_defs[d];
        Chart c = {.id = def->id, .title = def->title, .x = m->step, .n = m->n,
                   .from_zero = def->from_zero, .fraction = def->fraction};
        const char *keys[CHART_MAX_SERIES];
        int nk = 0;
        if (!strcmp(def->id, "components")) {
            nk = reward_component_keys(m, keys);
            for (int s = 0; s < nk; s++) {
                size_t len = strlen(keys[s]) - 13;
                snprintf(lb.text[s], sizeof lb.text[s], "%.*s", (int)(len < 90 ? len : 90), keys[s] + 8);
            }
        } else {
            for (; nk < 2 && def->keys[nk]; nk++) {
                keys[nk] = def->keys[nk];
                snprintf(lb.text[nk], sizeof lb.text[nk], "%s", def->labels[nk]);
            }
        }
        for (int s = 0; s < nk && rc == 0; s++) {
            c.series[s] = (ChartSeries){keys[s], lb.text[s], cols + (size_t)s * n};
            rc = metrics_column(m, keys[s], cols + (size_t)s * n);
        }
        c.n_series = nk;
        double *lo = cols + (size_t)CHART_MAX_SERIES * n, *hi = lo + n;
        if (rc == 0 && def->band != BAND_NONE) {
            rc = metrics_column(m, def->band_a, lo);
            if (rc == 0 && def->band == BAND_RANGE) rc = metrics_column(m, def->band_b, hi);
            if (rc == 0 && def->band == BAND_STD)
                for (size_t i = 0; i < (size_t)m->n; i++) {
                    double mean = cols[i], sd = lo[i];
                    lo[i] = mean - sd;
                    hi[i] = mean + sd;
                }
            c.band_lo = lo;
            c.band_hi = hi;
        }
        if (rc != 0) break;
        if (chart_has_data(&c)) chart_write(f, &c);
        else if (kinds[def->family]) missing[n_missing++] = def->title;
    }
    fprintf(f, "</div>\n");
    if (rc == 0 && n_missing > 0) {
        fprintf(f, "<p class=\"note\">Not logged in this run:");
        for (int i = 0; i < n_missing; i++) {
            fprintf(f, "%s ", i ? ";" : "");
            html_escape_str(f, missing[i]);
        }
        fprintf(f, ".</p>\n");
    }
    fprintf(f, "</section>\n");
    free(cols);
    return rc;
}

// ---- headline: the first and last tenth of the run side by side.

static double mean_over(const double *y, int a, int b) {
    double sum = 0;
    int k = 0;
    for (int i = a; i < b; i++)
        if (isfinite(y[i])) sum += y[i], k++;
    return k ? sum / k : NAN;
}

static void write_number(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.4g", v);
    else fprintf(f, "\u2013");
}

static void write_change(FILE *f, double a, double b) {
    if (!isfinite(a) || !isfinite(b)) {
        fprintf(f, "<td></td>");
        return;
    }
    double d = b - a;
    if (d == 0) fprintf(f, "<td>0</td>");
    else fprintf(f, "<td class=\"%s\">%+.4g</td>", d > 0 ? "up" : "down", d);
}

static int write_headline(FILE *f, const Metrics *m) {
    static const char *const keys[][2] = {{"reward", "Reward"}, {"accuracy", "Accuracy"},
                                          {"completions/mean_length", "Completion length (tokens)"},
                                          {"reflection_per_1k", "Reflection words per 1k tokens"},
                                          {"kl", "KL to the reference policy"}, {"entropy", "Token entropy"},
                                          {"loss", "Loss"}, {"eval_loss", "Held-out loss"},
                                          {"mean_token_accuracy", "Mean token accuracy"}};
    if (m->n == 0) return 0;
    double *y = malloc(sizeof(double) * (size_t)m->n);   // (n)
    if (!y) return err_set("%s: out of memory", m->path);
    int tenth = (m->n + 9) / 10, rows = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        if (metrics_column(m, keys[k][0], y) != 0) {
            free(y);
            return -1;
        }
        double a = mean_over(y, 0, tenth), b = mean_over(y, m->n - tenth, m->n);
        if (!isfinite(a) && !isfinite(b)) continue;
        if (rows++ == 0)
            fprintf(f, "<section id=\"headline\">\n<h2>First and last %d step%s</h2>\n<table>\n"
                       "<tr><th>mean over</th><th>first %d</th><th>last %d</th><th>change</th></tr>\n",
                    tenth, tenth == 1 ? "" : "s", tenth, tenth);
        fprintf(f, "<tr><td>%s</td><td>", keys[k][1]);
        write_number(f, a);
        fprintf(f, "</td><td>");
        write_number(f, b);
        fprintf(f, "</td>");
        write_change(f, a, b);
        fprintf(f, "</tr>\n");
    }
    if (rows) fprintf(f, "</table>\n</section>\n");
    free(y);
    return 0;
}

// ---- optional JSON files: config.json, zero.json.

// Parse path into *out (NULL when the file does not exist). Returns 0 or -1.
static int json_file(const char *run_dir, const char *name, cJSON **out, char *path, size_t cap) {
    *out = NULL;
    if (path_join(path, cap, run_dir, name) != 0) return -1;
    if (!path_exists(path)) return 0;
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    const char *end = NULL;
    *out = cJSON_ParseWithOpts(text, &end, 1);
    long at = end ? (long)(end - text) : 0;
    free(text);
    if (!*out || !cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        return err_set("%s: not a JSON object (invalid near byte %ld)", path, at + 1);
    }
    return 0;
}

// A JSON value as short text: strings bare, numbers %.6g, the rest compact JSON.
static void write_value(FILE *f, const cJSON *v) {
    if (cJSON_IsString(v)) {
        html_escape_str(f, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        fprintf(f, "%.6g", v->valuedouble);
    } else {
        char *s = cJSON_PrintUnformatted(v);
        if (!s) return;
        size_t n = strlen(s);
        html_escape(f, s, n > 160 ? 160 : n);
        if (n > 160) fputs("\u2026", f);
        cJSON_free(s);
    }
}

static void write_config(FILE *f, const cJSON *cfg) {
    fprintf(f, "<section id=\"config\">\n<h2>Configuration</h2>\n<div class=\"config\">\n");
    for (const cJSON *it = cfg->child; it; it = it->next) {
        fprintf(f, "<div><span class=\"k\">");
        html_escape_str(f, it->string);
        fprintf(f, "</span><span class=\"v\">");
        write_value(f, it);
        fprintf(f, "</span></div>\n");
    }
    fprintf(f, "</div>\n</section>\n");
}

static int owns(const cJSON *o, const cJSON *it) {
    for (const cJSON *p = o ? o->child : NULL; p; p = p->next)
        if (p == it) return 1;
    return 0;
}

// The keys of before, then those only after has (either object may be NULL):
// start with it = NULL; NULL once every key was given.
static const cJSON *union_next(const cJSON *before, const cJSON *after, const cJSON *it) {
    if (!it || owns(before, it)) {
        it = it ? it->next : before ? before->child : NULL;
        if (it) return it;
        it = after ? after->child : NULL;
    } else {
        it = it->next;
    }
    while (it && cJSON_GetObjectItemCaseSensitive(before, it->string)) it = it->next;
    return it;
}

// One row of a before/after table: the label cells, both values, the change.
static void write_compare_row(FILE *f, const char *group, const char *name, const cJSON *b, const cJSON *a) {
    fprintf(f, "<tr>");
    if (group) {
        fprintf(f, "<td>");
        html_escape_str(f, group);
        fprintf(f, "</td>");
    }
    fprintf(f, "<td>");
    html_escape_str(f, name);
    fprintf(f, "</td><td>");
    if (b) write_value(f, b);
    fprintf(f, "</td><td>");
    if (a) write_value(f, a);
    fprintf(f, "</td>");
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b)) write_change(f, b->valuedouble, a->valuedouble);
    else fprintf(f, "<td></td>");
    fprintf(f, "</tr>\n");
}

// A breakdown such as "by_difficulty": {"3": {"n": .., "pass@1": ..}, ...}
// as a table with a row per group and field, never as a JSON string.
static void write_breakdown(FILE *f, const char *key, const cJSON *before, const cJSON *after) {
    const char *group = strncmp(key, "by_", 3) == 0 ? key + 3 : key;
    fprintf(f, "<table class=\"breakdown\" data-key=\"");
    html_escape_str(f, key);
    fprintf(f, "\">\n<tr><th>");
    html_escape_str(f, group);
    fprintf(f, "</th><th></th><th>before</th><th>after</th><th>change</th></tr>\n");
    if (!cJSON_IsObject(before)) before = NULL;
    if (!cJSON_IsObject(after)) after = NULL;
    for (const cJSON *g = union_next(before, after, NULL); g; g = union_next(before, after, g)) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(before, g->string);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(after, g->string);
        if (!cJSON_IsObject(b) && !cJSON_IsObject(a)) {
            write_compare_row(f, g->string, "", b, a);
            continue;
        }
        if (!cJSON_IsObject(b)) b = NULL;
        if (!cJSON_IsObject(a)) a = NULL;
        for (const cJSON *it = union_next(b, a, NULL); it; it = union_next(b, a, it))
            write_compare_row(f, g->string, it->string, cJSON_GetObjectItemCaseSensitive(b, it->string),
                              cJSON_GetObjectItemCaseSensitive(a, it->string));
    }
    fprintf(f, "</table>\n");
}

static int is_breakdown(const cJSON *before, const cJSON *after, const char *key) {
    return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(before, key)) ||
           cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(after, key));
}

static int write_zero(FILE *f, const cJSON *z, const char *path) {
    const cJSON *before = cJSON_GetObjectItemCaseSensitive(z, "before");
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(z, "after");
    if (!cJSON_IsObject(before) || !cJSON_IsObject(after))
        return err_set("%s: expected {\"before\": {...}, \"after\": {...}}", path);
    fprintf(f, "<section id=\"zero\">\n<h2>Held-out evaluation, before and after training</h2>\n<table>\n"
               "<tr><th></th><th>before</th><th>after</th><th>change</th></tr>\n");
    for (const cJSON *it = union_next(before, after, NULL); it; it = union_next(before, after, it))
        if (!is_breakdown(before, after, it->string))
            write_compare_row(f, NULL, it->string, cJSON_GetObjectItemCaseSensitive(before, it->string),
                              cJSON_GetObjectItemCaseSensitive(after, it->string));
    fprintf(f, "</table>\n");
    for (const cJSON *it = union_next(before, after, NULL); it; it = union_next(before, after, it))
        if (is_breakdown(before, after, it->string))
            write_breakdown(f, it->string, cJSON_GetObjectItemCaseSensitive(before, it->string),
                            cJSON_GetObjectItemCaseSensitive(after, it->string));
    fprintf(f, "</section>\n");
    return 0;
}

// ---- samples.jsonl: the earliest and the latest logged step.

typedef struct {
    long step;
    cJSON *rows[SAMPLES_SHOWN];
    int n;
} SampleSet;

static void set_clear(SampleSet *s, long step) {
    for (int i = 0; i < s->n; i++) cJSON_Delete(s->rows[i]);
    s->n = 0;
    s->step = step;
}

static void set_offer(SampleSet *s, const cJSON *o) {
    if (s->n < SAMPLES_SHOWN) s->rows[s->n++] = cJSON_Duplicate(o, 1);
    if (s->n && !s->rows[s->n - 1]) s->n--;   // out of memory: show one fewer
}

typedef struct {
    SampleSet early, late;
    long lines;   // samples read
} Samples;

static void samples_free(Samples *s) {
    set_clear(&s->early, 0);
    set_clear(&s->late, 0);
}

static int samples_load(Samples *s, const char *path) {
    memset(s, 0, sizeof *s);
    if (!path_exists(path)) return 0;
    JsonlReader r;
    if (jsonl_open(&r, path) != 0) return -1;
    int rc;
    cJSON *o;
    while ((rc = jsonl_next(&r, &o)) == 1) {
        long step = 0;
        int is_obj = cJSON_IsObject(o);
        if (!is_obj || json_get_int(o, "step", &step, 1) != 0) {
            cJSON_Delete(o);
            rc = is_obj ? err_wrap("%s:%ld", path, r.line) : err_set("%s:%ld: expected a JSON object", path, r.line);
            break;
        }
        if (s->lines == 0 || step < s->early.step) set_clear(&s->early, step);
        if (s->lines == 0 || step > s->late.step) set_clear(&s->late, step);
        if (step == s->early.step) set_offer(&s->early, o);
        if (step == s->late.step) set_offer(&s->late, o);
        s->lines++;
        cJSON_Delete(o);
    }
    jsonl_close(&r);
    return rc < 0 ? -1 : 0;
}

// The completion with <think> and <answer> spans highlighted; the tags
// themselves stay visible. Unbalanced or stray tags never leave a span open.
static void write_completion(FILE *f, const char *s, size_t n) {
    static const struct {
        const char *text;
        int kind;    // 1 think, 2 answer
        int open;
    } tags[] = {{"<think>", 1, 1}, {"</think>", 1, 0}, {"<answer>", 2, 1}, {"</answer>", 2, 0}};
    static const char *const cls[] = {"", "think", "answer"};
    int state = 0;
    size_t i = 0, plain = 0;
    while (i < n) {
        int hit = -1;
        if (s[i] == '<')
            for (int t = 0; t < 4 && hit < 0; t++) {
                size_t len = strlen(tags[t].text);
                if (n - i >= len && memcmp(s + i, tags[t].text, len) == 0) hit = t;
            }
        if (hit < 0) {
            i++;
            continue;
        }
        html_escape(f, s + plain, i - plain);
        const char *tag_html = tags[hit].open ? (tags[hit].kind == 1 ? "&lt;think&gt;" : "&lt;answer&gt;")
                                              : (tags[hit].kind == 1 ? "&lt;/think&gt;" : "&lt;/answer&gt;");
        if (tags[hit].open) {
            if (state) fputs("</span>", f);
            fprintf(f, "<span class=\"tag\">%s</span><span class=\"%s\">", tag_html, cls[tags[hit].kind]);
            state = tags[hit].kind;
        } else if (state == tags[hit].kind) {
            fprintf(f, "</span><span class=\"tag\">%s</span>", tag_html);
            state = 0;
        } else {
            fprintf(f, "<span class=\"tag\">%s</span>", tag_html);
        }
        i += strlen(tags[hit].text);
        plain = i;
    }
    html_escape(f, s + plain, n - plain);
    if (state) fputs("</span>", f);
}

static int is_sample_fact(const char *key) {
    static const char *const skip[] = {"step", "reward", "advantage", "tokens"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (!strcmp(key, skip[i])) return 0;
    return 1;
}

// Green for a right answer. Logs older than the "correct" field fall back to
// reward > 0, which also paints a wrong answer green when a shaping term
// (format, say) paid for it.
static int sample_correct(const cJSON *o) {
    const cJSON *correct = cJSON_GetObjectItemCaseSensitive(o, "correct");
    if (cJSON_IsBool(correct)) return cJSON_IsTrue(correct);
    const cJSON *reward = cJSON_GetObjectItemCaseSensitive(o, "reward");
    return cJSON_IsNumber(reward) && reward->valuedouble > 0;
}

static void write_sample(FILE *f, const cJSON *o) {
    const cJSON *reward = cJSON_GetObjectItemCaseSensitive(o, "reward");
    const cJSON *adv = cJSON_GetObjectItemCaseSensitive(o, "advantage");
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(o, "tokens");
    const cJSON *finish = cJSON_GetObjectItemCaseSensitive(o, "finish");
    const cJSON *answer = cJSON_GetObjectItemCaseSensitive(o, "answer");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    const cJSON *completion = cJSON_GetObjectItemCaseSensitive(o, "completion");
    const cJSON *correct = cJSON_GetObjectItemCaseSensitive(o, "correct");
    fprintf(f, "<div class=\"sample %s\">\n<div class=\"facts\">", sample_correct(o) ? "good" : "bad");
    if (cJSON_IsBool(correct)) fprintf(f, "<b>%s</b> \u00b7 ", cJSON_IsTrue(correct) ? "correct" : "wrong");
    if (cJSON_IsNumber(reward)) fprintf(f, "<b>reward %.3g</b>", reward->valuedouble);
    for (const cJSON *it = o->child; it; it = it->next)
        if (cJSON_IsNumber(it) && is_sample_fact(it->string)) {
            fprintf(f, " \u00b7 ");
            html_escape_str(f, it->string);
            fprintf(f, " %.3g", it->valuedouble);
        }
    if (cJSON_IsNumber(adv)) fprintf(f, " \u00b7 advantage %+.3f", adv->valuedouble);
    if (cJSON_IsNumber(tokens)) fprintf(f, " \u00b7 %.0f tokens", tokens->valuedouble);
    if (cJSON_IsString(finish)) {
        fprintf(f, " \u00b7 finish ");
        html_escape_str(f, finish->valuestring);
    }
    if (cJSON_IsString(answer)) {
        fprintf(f, " \u00b7 gold <code>");
        html_escape_str(f, answer->valuestring);
        fprintf(f, "</code>");
    }
    fprintf(f, "</div>\n");
    if (cJSON_IsString(prompt)) {
        fprintf(f, "<details><summary>prompt</summary><pre class=\"prompt\">");
        html_escape_str(f, prompt->valuestring);
        fprintf(f, "</pre></details>\n");
    }
    if (cJSON_IsString(completion)) {
        const char *s = completion->valuestring;
        size_t n = strlen(s), shown = n;
        if (shown > SHOWN_BYTES) {
            shown = SHOWN_BYTES;
            while (shown > 0 && ((unsigned char)s[shown] & 0xC0) == 0x80) shown--;   // whole UTF-8 characters
        }
        fprintf(f, "<pre class=\"completion\">");
        write_completion(f, s, shown);
        if (shown < n) fprintf(f, "<span class=\"cut\">\u2026 %zu more bytes</span>", n - shown);
        fprintf(f, "</pre>\n");
    }
    fprintf(f, "</div>\n");
}

static void write_samples(FILE *f, const Samples *s) {
    fprintf(f, "<section id=\"samples\">\n<h2>Sample completions</h2>\n");
    if (s->lines == 0) {
        fprintf(f, "<p class=\"note\">No samples were logged (samples.jsonl is missing or empty).</p>\n</section>\n");
        return;
    }
    int two = s->late.step != s->early.step;
    fprintf(f, "<div class=\"%s\">\n", two ? "cols" : "");
    for (int k = 0; k <= two; k++) {
        const SampleSet *set = k ? &s->late : &s->early;
        fprintf(f, "<div class=\"samples-%s\">\n<h3>%s step %ld</h3>\n", k ? "late" : "early",
                two ? (k ? "Late:" : "Early:") : "Step", set->step);
        for (int i = 0; i < set->n; i++) write_sample(f, set->rows[i]);
        fprintf(f, "</div>\n");
    }
    fprintf(f, "</div>\n</section>\n");
}

// ---- the page.

static const char page_css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2937;background:#f8fafc;margin:0}"
    "main{max-width:1180px;margin:0 auto;padding:14px 20px 40px}"
    "h1{font-size:22px;margin:6px 0 2px}h2{font-size:17px;margin:24px 0 10px;padding-bottom:4px;border-bottom:1px solid #e5e7eb}"
    "h3{font-size:15px;margin:4px 0 8px}.meta,.note{color:#6b7280;margin:2px 0}"
    "code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:12px}"
    "figure.chart{margin:0;background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:8px 6px 2px}"
    "figcaption{font-size:13px;margin:0 6px 2px}.key{margin-left:10px;color:#4b5563;font-size:12px;white-space:nowrap}"
    ".key i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}"
    "svg.chart{display:block;max-width:100%;height:auto}"
    "table{border-collapse:collapse;background:#fff;border:1px solid #e5e7eb}"
    "td,th{padding:4px 12px;border-bottom:1px solid #e5e7eb;text-align:right;font-variant-numeric:tabular-nums}"
    "th{background:#f1f5f9;font-weight:600}td:first-child,th:first-child{text-align:left}"
    ".up{color:#15803d}.down{color:#b91c1c}"
    ".cols{display:grid;grid-template-columns:1fr 1fr;gap:14px}"
    ".sample{background:#fff;border:1px solid #e5e7eb;border-left:4px solid #d1d5db;border-radius:6px;padding:8px 10px;margin-bottom:10px}"
    ".sample.good{border-left-color:#16a34a}.sample.bad{border-left-color:#dc2626}"
    ".facts{font-size:12px;color:#4b5563}summary{font-size:12px;color:#6b7280;cursor:pointer}"
    "pre{white-space:pre-wrap;word-break:break-word;font:12.5px/1.5 ui-monospace,Menlo,Consolas,monospace;margin:6px 0}"
    "pre.prompt{color:#4b5563;background:#f8fafc;padding:4px 6px}"
    ".think{background:#eff6ff;color:#1e3a8a}.answer{background:#fef3c7;color:#78350f;font-weight:600}"
    ".tag{color:#7c3aed;font-weight:700}.cut{color:#9ca3af}"
    ".config{columns:3 300px;column-gap:28px;font-size:12.5px;background:#fff;border:1px solid #e5e7eb;border-radius:6px;padding:8px 12px}"
    ".config div{break-inside:avoid;display:flex;justify-content:space-between;gap:12px;border-bottom:1px dotted #e5e7eb;padding:1px 0}"
    ".config .k{color:#6b7280}.config .v{font-family:ui-monospace,Menlo,Consolas,monospace;text-align:right;word-break:break-all}"
    "footer{color:#9ca3af;font-size:12px;margin-top:28px}";

// The last path component of the run directory, for the title: a pointer
// into run_dir and its length (*len), whole whatever its length.
static const char *run_name(const char *run_dir, size_t *len) {
    size_t n = strlen(run_dir);
    while (n > 1 && run_dir[n - 1] == '/') n--;
    size_t a = n;
    while (a > 0 && run_dir[a - 1] != '/') a--;
    *len = n - a;
    return run_dir + a;
}

static int write_page(FILE *f, const char *run_dir, const Metrics *m, const Samples *s, const cJSON *cfg,
                      const cJSON *zero, const char *zero_path) {
    size_t name_len;
    const char *name = run_name(run_dir, &name_len);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>aha run ");
    html_escape(f, name, name_len);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<header>\n<h1>aha run <code>", page_css);
    html_escape(f, name, name_len);
    fprintf(f, "</code></h1>\n<p class=\"meta\">");
    if (m->n) fprintf(f, "%d steps logged (step %.0f to %.0f)", m->n, m->step[0], m->step[m->n - 1]);
    else fprintf(f, "no steps logged yet");
    fprintf(f, " \u00b7 %ld samples logged</p>\n</header>\n", s->lines);
    if (write_headline(f, m) != 0) return -1;
    if (zero && write_zero(f, zero, zero_path) != 0) return -1;
    if (write_charts(f, m) != 0) return -1;
    write_samples(f, s);
    if (cfg) write_config(f, cfg);
    fprintf(f, "<footer>Rebuilt from the run directory by <code>aha report RUN_DIR</code>.</footer>\n"
               "</main>\n</body>\n</html>\n");
    return 0;
}

int report_write(const char *run_dir, const char *out_path) {
    char out[4200], samples_path[4200], cfg_path[4200], zero_path[4200];
    if (!out_path) {
        if (path_join(out, sizeof out, run_dir, "report.html") != 0) return -1;
        out_path = out;
    }
    if (path_join(samples_path, sizeof samples_path, run_dir, "samples.jsonl") != 0) return -1;
    Metrics m;
    Samples s;
    cJSON *cfg = NULL, *zero = NULL;
    memset(&s, 0, sizeof s);
    int rc = metrics_load(&m, run_dir);
    if (rc == 0) rc = samples_load(&s, samples_path);
    if (rc == 0) rc = json_file(run_dir, "config.json", &cfg, cfg_path, sizeof cfg_path);
    if (rc == 0) rc = json_file(run_dir, "zero.json", &zero, zero_path, sizeof zero_path);
    AtomicFile af;
    if (rc == 0 && atomic_open(&af, out_path) == 0) {
        rc = write_page(af.f, run_dir, &m, &s, cfg, zero, zero_path);
        if (rc == 0) rc = atomic_commit(&af);
        else atomic_abort(&af);
    } else if (rc == 0) {
        rc = -1;
    }
    cJSON_Delete(cfg);
    cJSON_Delete(zero);
    samples_free(&s);
    metrics_free(&m);
    return rc;
}
