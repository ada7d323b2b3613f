// Errors and logging. Modules report failure by returning a negative status or
// NULL after err_set(); the caller at the edge (cli/) prints err_msg() once.
// AHA_ASSERT is for invariants that mean a bug: always on, aborts with file:line.
#ifndef AHA_ERR_H
#define AHA_ERR_H

#include <stdio.h>
#include <stdlib.h>

// Record the error message for this thread (printf format). Returns -1 so a
// module can write `return err_set("...")`.
int err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Prefix the current message: "context: previous message". Returns -1.
int err_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// The last message recorded on this thread ("" if none).
const char *err_msg(void);
void err_clear(void);

// Cleanup after a failure may fail too, and must not replace the message of
// the failure: err_keep copies the current message, err_restore sets it back
// (and returns -1).
typedef struct {
    char msg[1024];
} ErrKept;
void err_keep(ErrKept *k);
int err_restore(const ErrKept *k);

// Informational line to stderr, unless logging was silenced with log_quiet(1)
// (which silences progress lines too: report/log.h).
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_quiet(int quiet);
int log_is_quiet(void);

#define AHA_ASSERT(cond)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "aha: internal error at %s:%d: %s\n", __FILE__,       \
                    __LINE__, #cond);                                             \
            abort();                                                              \
        }                                                                         \
    } while (0)

#endif
