// Thread-local error message buffer and stderr logging.
#include "base/err.h"

#include <stdarg.h>
#include <string.h>

static _Thread_local char err_buf[1024];
static int log_silent;

int err_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return -1;
}

int err_wrap(const char *fmt, ...) {
    char prev[sizeof err_buf];
    memcpy(prev, err_buf, sizeof prev);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err_buf && prev[0])
        snprintf(err_buf + n, sizeof err_buf - (size_t)n, ": %.1000s", prev);
    return -1;
}

const char *err_msg(void) { return err_buf; }
void err_clear(void) { err_buf[0] = 0; }

void err_keep(ErrKept *k) { memcpy(k->msg, err_buf, sizeof k->msg); }

int err_restore(const ErrKept *k) {
    memcpy(err_buf, k->msg, sizeof err_buf);
    return -1;
}

void log_quiet(int quiet) { log_silent = quiet; }
int log_is_quiet(void) { return log_silent; }

void log_info(const char *fmt, ...) {
    if (log_silent) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
