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

int jsonl_truncate_lines(const char *path, long n_lines) {
    if (!path_exists(path)) return 0;
    size_t len;
    char *text = file_read_all(path, &len);
    if (!text) return -1;
    size_t keep = 0;
    long lines = 0;
    while (keep < len && lines < n_lines) {
        char *nl = memchr(text + keep, '\n', len - keep);
        if (!nl) break;   // a partial last line is dropped
        keep = (size_t)(nl - text) + 1;
        lines++;
    }
    int rc = file_write_atomic(path, text, keep);
    free(text);
    return rc;
}

void progress_init(Progress *p, FILE *out, const char *label, long start, long total) {
    p->out = out;
    p->tty = isatty(fileno(out));
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
    if (p->tty) fputc('\n', p->out);
    fflush(p->out);
}
