// Table-driven settings: JSON, flags, help and validation from one description.
#include "train/options.h"
#include "base/err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void flag_to_key(char *out, size_t cap, const char *flag) {
    size_t i = 0;
    if (strncmp(flag, "--", 2) == 0) flag += 2;
    for (; flag[i] && i + 1 < cap; i++) out[i] = flag[i] == '-' ? '_' : flag[i];
    out[i] = 0;
}

const OptDef *opt_find(const OptDef *defs, const char *key_or_flag) {
    char key[96];
    flag_to_key(key, sizeof key, key_or_flag);
    for (const OptDef *d = defs; d->key; d++)
        if (strcmp(d->key, key) == 0) return d;
    return NULL;
}

// Index of name in "a|b|c", or -1.
static int enum_index(const char *choices, const char *name) {
    size_t n = strlen(name);
    int i = 0;
    for (const char *p = choices; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return i;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

const char *opt_enum_name(const OptDef *d, int value) {
    static _Thread_local char buf[64];
    const char *p = d->choices;
    for (int i = 0; i < value && p; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) return "?";
    size_t len = strcspn(p, "|");
    snprintf(buf, sizeof buf, "%.*s", (int)len, p);
    return buf;
}

int opt_set(void *cfg, const OptDef *d, const char *text, const char *where) {
    char *field = (char *)cfg + d->offset, *end;
    errno = 0;
    switch (d->type) {
    case OPT_INT: {
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end || v < d->min || v > d->max)
            return err_set("%s: %s must be an integer in [%.0f, %.0f], got '%s'", where, d->key, d->min, d->max, text);
        *(int *)field = (int)v;
        return 0;
    }
    case OPT_DOUBLE: {
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v) || v < d->min || v > d->max)
            return err_set("%s: %s must be a number in [%g, %g], got '%s'", where, d->key, d->min, d->max, text);
        *(double *)field = v;
        return 0;
    }
    case OPT_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "1")) *(int *)field = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "0")) *(int *)field = 0;
        else return err_set("%s: %s must be true or false, got '%s'", where, d->key, text);
        return 0;
    case OPT_STRING:
        if (strlen(text) >= d->size) return err_set("%s: %s is longer than %zu bytes", where, d->key, d->size - 1);
        memcpy(field, text, strlen(text) + 1);
        return 0;
    case OPT_ENUM: {
        int i = enum_index(d->choices, text);
        if (i < 0) return err_set("%s: %s must be one of %s, got '%s'", where, d->key, d->choices, text);
        *(int *)field = i;
        return 0;
    }
    case OPT_LIST: {
        OptList *l = (OptList *)field;
        if (l->n == OPT_LIST_MAX) return err_set("%s: %s takes at most %d values", where, d->key, OPT_LIST_MAX);
        if (strlen(text) >= OPT_LIST_LEN) return err_set("%s: a %s value is longer than %d bytes", where, d->key, OPT_LIST_LEN - 1);
        snprintf(l->item[l->n++], OPT_LIST_LEN, "%s", text);
        return 0;
    }
    }
    return err_set("%s: bad option type", where);
}

int opt_apply_json(void *cfg, const OptDef *defs, const cJSON *obj, const char *where, const char *const *skip_keys) {
    if (!cJSON_IsObject(obj)) return err_set("%s: expected a JSON object", where);
    const cJSON *v;
    cJSON_ArrayForEach(v, obj) {
        int skip = 0;
        for (int i = 0; skip_keys && skip_keys[i]; i++) skip |= !strcmp(skip_keys[i], v->string);
        if (skip) continue;
        const OptDef *d = NULL;
        for (const OptDef *e = defs; e->key; e++)
            if (!strcmp(e->key, v->string)) d = e;
        if (!d) return err_set("%s: unknown key \"%s\"", where, v->string);
        char buf[64], w[300];
        snprintf(w, sizeof w, "%s", where);
        const char *text = NULL;
        if (d->type == OPT_LIST) {
            if (!cJSON_IsArray(v)) return err_set("%s: %s must be an array of strings", where, d->key);
            ((OptList *)((char *)cfg + d->offset))->n = 0;
            const cJSON *it;
            cJSON_ArrayForEach(it, v) {
                if (!cJSON_IsString(it)) return err_set("%s: %s must be an array of strings", where, d->key);
                if (opt_set(cfg, d, it->valuestring, w) != 0) return -1;
            }
            continue;
        }
        if (cJSON_IsString(v)) {
            if (d->type != OPT_STRING && d->type != OPT_ENUM) return err_set("%s: %s must not be a string", where, d->key);
            text = v->valuestring;
        } else if (cJSON_IsBool(v)) {
            if (d->type != OPT_BOOL) return err_set("%s: %s must not be true/false", where, d->key);
            text = cJSON_IsTrue(v) ? "true" : "false";
        } else if (cJSON_IsNumber(v)) {
            if (d->type != OPT_INT && d->type != OPT_DOUBLE) return err_set("%s: %s must not be a number", where, d->key);
            if (d->type == OPT_INT && v->valuedouble != floor(v->valuedouble))
                return err_set("%s: %s must be an integer", where, d->key);
            snprintf(buf, sizeof buf, d->type == OPT_INT ? "%.0f" : "%.17g", v->valuedouble);
            text = buf;
        } else {
            return err_set("%s: %s has an unusable value", where, d->key);
        }
        if (opt_set(cfg, d, text, w) != 0) return -1;
    }
    return 0;
}

cJSON *opt_to_json(const void *cfg, const OptDef *defs) {
    cJSON *o = cJSON_CreateObject();
    for (const OptDef *d = defs; d->key; d++) {
        const char *field = (const char *)cfg + d->offset;
        switch (d->type) {
        case OPT_INT: cJSON_AddNumberToObject(o, d->key, *(const int *)field); break;
        case OPT_DOUBLE: cJSON_AddNumberToObject(o, d->key, *(const double *)field); break;
        case OPT_BOOL: cJSON_AddBoolToObject(o, d->key, *(const int *)field); break;
        case OPT_STRING: cJSON_AddStringToObject(o, d->key, field); break;
        case OPT_ENUM: cJSON_AddStringToObject(o, d->key, opt_enum_name(d, *(const int *)field)); break;
        case OPT_LIST: {
            const OptList *l = (const OptList *)field;
            cJSON *a = cJSON_AddArrayToObject(o, d->key);
            for (int i = 0; i < l->n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(l->item[i]));
            break;
        }
        }
    }
    return o;
}

void opt_print_help(FILE *f, const OptDef *defs, const void *defaults) {
    for (const OptDef *d = defs; d->key; d++) {
        char flag[96], def[200] = "";
        snprintf(flag, sizeof flag, "--%s", d->key);
        for (char *p = flag + 2; *p; p++)
            if (*p == '_') *p = '-';
        const char *field = (const char *)defaults + d->offset;
        switch (d->type) {
        case OPT_INT: snprintf(def, sizeof def, "%d", *(const int *)field); break;
        case OPT_DOUBLE: snprintf(def, sizeof def, "%g", *(const double *)field); break;
        case OPT_BOOL: snprintf(def, sizeof def, "%s", *(const int *)field ? "true" : "false"); break;
        case OPT_STRING: snprintf(def, sizeof def, "%s", *field ? field : "-"); break;
        case OPT_ENUM: snprintf(def, sizeof def, "%s", opt_enum_name(d, *(const int *)field)); break;
        case OPT_LIST: {
            const OptList *l = (const OptList *)field;
            size_t o = 0;
            for (int i = 0; i < l->n && o < sizeof def; i++)
                o += (size_t)snprintf(def + o, sizeof def - o, "%s%s", i ? " " : "", l->item[i]);
            if (!l->n) snprintf(def, sizeof def, "-");
            break;
        }
        }
        fprintf(f, "  %-26s %s (default %s", flag, d->help, def);
        if (d->type == OPT_ENUM) fprintf(f, "; %s", d->choices);
        else if (d->type == OPT_INT) fprintf(f, "; %.0f..%.0f", d->min, d->max);
        else if (d->type == OPT_DOUBLE) fprintf(f, "; %g..%g", d->min, d->max);
        else if (d->type == OPT_LIST) fprintf(f, "; repeatable");
        fprintf(f, ")\n");
    }
}
