// JSONL reader and typed field access.
#include "base/jsonl.h"
#include "base/err.h"
#include "base/fileio.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int jsonl_open(JsonlReader *r, const char *path) {
    memset(r, 0, sizeof *r);
    if (strcmp(path, "-") == 0) {
        r->f = stdin;
        r->name = "<stdin>";
        return 0;
    }
    int fd = file_open_regular(path, NULL);
    if (fd < 0) return -1;
    if (!(r->f = fdopen(fd, "rb"))) {
        close(fd);
        return err_set("%s: %s", path, strerror(errno));
    }
    r->name = path;
    r->owns = 1;
    return 0;
}

int jsonl_next(JsonlReader *r, cJSON **out) {
    *out = NULL;
    for (;;) {
        ssize_t n = getline(&r->buf, &r->cap, r->f);
        if (n < 0) return 0;
        r->line++;
        const char *p = r->buf;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
        if (!*p) continue;
        if ((size_t)n != strlen(r->buf))
            return err_set("%s:%ld: NUL byte inside the line", r->name, r->line);
        const char *end = NULL;
        cJSON *v = cJSON_ParseWithOpts(r->buf, &end, 0);
        if (!v) return err_set("%s:%ld: invalid JSON near column %ld", r->name, r->line,
                               (long)((end ? end : p) - r->buf) + 1);
        while (end && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
        if (end && *end) {
            cJSON_Delete(v);
            return err_set("%s:%ld: extra text after the JSON value", r->name, r->line);
        }
        *out = v;
        return 1;
    }
}

void jsonl_close(JsonlReader *r) {
    if (r->owns && r->f) fclose(r->f);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

// The value of key in *v: 1 when present; 0 when absent (or null) and not
// required; -1 after err_set when absent and required.
static int field(const cJSON *obj, const char *key, int required, const cJSON **v) {
    *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (*v && !cJSON_IsNull(*v)) return 1;
    return required ? err_set("missing field \"%s\"", key) : 0;
}

int json_get_int(const cJSON *obj, const char *key, long *out, int required) {
    const cJSON *v;
    int found = field(obj, key, required, &v);
    if (found <= 0) return found;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d) || fabs(d) > 9.0e15)
        return err_set("field \"%s\" must be an integer", key);
    *out = (long)d;
    return 0;
}

int json_get_double(const cJSON *obj, const char *key, double *out, int required) {
    const cJSON *v;
    int found = field(obj, key, required, &v);
    if (found <= 0) return found;
    if (!cJSON_IsNumber(v)) return err_set("field \"%s\" must be a number", key);
    *out = v->valuedouble;
    return 0;
}

int json_get_bool(const cJSON *obj, const char *key, int *out, int required) {
    const cJSON *v;
    int found = field(obj, key, required, &v);
    if (found <= 0) return found;
    if (!cJSON_IsBool(v)) return err_set("field \"%s\" must be true or false", key);
    *out = cJSON_IsTrue(v);
    return 0;
}

int json_get_string(const cJSON *obj, const char *key, const char **out, int required) {
    const cJSON *v;
    int found = field(obj, key, required, &v);
    if (found <= 0) return found;
    if (!cJSON_IsString(v)) return err_set("field \"%s\" must be a string", key);
    *out = v->valuestring;
    return 0;
}

int json_write_file(const cJSON *obj, const char *dir, const char *name) {
    char path[4096];
    if (path_join(path, sizeof path, dir, name) != 0) return -1;
    char *text = cJSON_Print(obj);
    if (!text) return err_set("%s: out of memory", path);
    int rc = file_write_atomic(path, text, strlen(text));
    free(text);
    return rc;
}
