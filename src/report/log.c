// JSONL appenders and the console progress line.
#include "report/log.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/sys.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int jsonl_writer_open(JsonlWriter *w, const char *path, int truncate) {
    if (path_fmt(w->path, sizeof w->path, "%s", path) != 0) return -1;
    w->f = fopen(path, truncate ? "w" : "a");
    if (!w->f) return err_set("%s: %s", path, strerror(errno));
    return 0;
}

int jsonl_writer_put(JsonlWriter *w, const cJSON *obj) {
    char *s = cJSON_PrintUnformatted(obj);
    if (!s) return err_set("%s: out of memory", w->path);
    int bad = fputs(s, w->f) < 0 || fputc('\n', w->f) == EOF || fflush(w->f) != 0;
    cJSON_free(s);
    return bad ? err_set("%s: write failed: %s", w->path, strerror(errno)) : 0;
}

void jsonl_writer_close(JsonlWriter *w) {
    if (w->f) fclose(w->f);
    w->f = NULL;
}

// The "step" of the JSON object in line[0..len) (line line_no of path).
static int line_step(const char *path, long line_no, const char *line, size_t len, long *step) {
    cJSON *o = cJSON_ParseWithLength(line, len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "step");
    int ok = cJSON_IsNumber(v);
    if (ok) *step = (long)v->valuedouble;
    cJSON_Delete(o);
    return ok ? 0 : err_set("%s:%ld: not a log line with a \"step\"", path, line_no);
}

int jsonl_rewind(const char *path, long n_lines, long step, int exact) {
    if (!path_exists(path))
        return n_lines == 0 ? 0 : err_set("%s: missing, but the checkpoint of step %ld counts %ld lines in it", path, step, n_lines);
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) return -1;
    size_t keep = 0, last = 0;   // end of the first n_lines lines; start of the last of them
    long lines = 0;
    while (keep < len && lines < n_lines) {
        char *nl = memchr(text + keep, '\n', len - keep);
        if (!nl) break;   // a partial last line does not count
        last = keep;
        keep = (size_t)(nl - text) + 1;
        lines++;
    }
    long s = 0;
    int rc = 0;
    if (lines < n_lines)
        rc = err_set("%s: holds %ld complete lines, but the checkpoint of step %ld counts %ld: the log was cut short "
                     "or edited (restore it, or pass --restart to start the run over)", path, lines, step, n_lines);
    else if (n_lines > 0) {
        rc = line_step(path, lines, text + last, keep - last, &s);
        if (rc == 0 && (exact ? s != step : s > step))
            rc = err_set("%s:%ld: a line of step %ld, but the checkpoint of step %ld ends the log there", path, lines, s,
                         step);
    }
    // The line after them must come from a step the checkpoint never saw (a
    // line that is not even JSON is debris of a killed write: dropped).
    char *nl = rc == 0 ? memchr(text + keep, '\n', len - keep) : NULL;
    if (nl && line_step(path, lines + 1, text + keep, (size_t)(nl - text) - keep, &s) == 0 && s <= step)
        rc = err_set("%s:%ld: a line of step %ld beyond the %ld lines the checkpoint of step %ld counts: the "
                     "checkpoint's line count is wrong", path, lines + 1, s, n_lines, step);
    if (rc == 0 && keep < len) rc = file_write_atomic(path, text, keep);
    free(text);
    return rc;
}

void progress_init(Progress *p, FILE *out, const char *label, long start, long total) {
    p->out = log_is_quiet() ? NULL : out;
    p->tty = p->out && isatty(fileno(out));
    p->total = total;
    p->start = start;
    p->t0 = time_now();
    p->label = label;
}

static void fmt_time(char *buf, size_t cap, double s) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
}

void progress_update(Progress *p, long done, const char *text) {
    if (!p->out) return;
    double el = time_now() - p->t0;
    long did = done - p->start;
    double eta = did > 0 ? el / did * (double)(p->total - done) : 0;
    char e[32], r[32];
    fmt_time(e, sizeof e, el);
    fmt_time(r, sizeof r, eta);
    if (p->tty) {
        int width = 24, fill = p->total ? (int)(width * done / p->total) : width;
        fprintf(p->out, "\r%s [", p->label);
        for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', p->out);
        fprintf(p->out, "] %ld/%ld %s eta %s | %s\033[K", done, p->total, e, r, text);
    } else {
        fprintf(p->out, "%s %ld/%ld %s eta %s | %s\n", p->label, done, p->total, e, r, text);
    }
    fflush(p->out);
}

void progress_end(Progress *p) {
    if (!p->out) return;
    if (p->tty) fputc('\n', p->out);
    fflush(p->out);
}
