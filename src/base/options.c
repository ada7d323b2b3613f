// Table-driven settings: flags, JSON, help and validation from one description.
#include "base/options.h"
#include "base/err.h"
#include "base/fileio.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// The entry whose key is exactly `key`, searching groups; *off gets its offset.
static const OptDef *find_key(const OptDef *defs, const char *key, size_t base, size_t *off) {
    for (const OptDef *d = defs; d->key; d++) {
        if (d->type == OPT_GROUP) {
            const OptDef *g = find_key(d->group, key, base + d->offset, off);
            if (g) return g;
        } else if (!strcmp(d->key, key)) {
            if (off) *off = base + d->offset;
            return d;
        }
    }
    return NULL;
}

static const OptDef *find_alias(const OptDef *defs, const char *flag, size_t base, size_t *off) {
    for (const OptDef *d = defs; d->key; d++) {
        if (d->type == OPT_GROUP) {
            const OptDef *g = find_alias(d->group, flag, base + d->offset, off);
            if (g) return g;
        } else if (d->alias && !strcmp(d->alias, flag)) {
            if (off) *off = base + d->offset;
            return d;
        }
    }
    return NULL;
}

// The entry a flag ("--max-new-tokens", or the key itself) names by its key, not an alias.
static const OptDef *find_flag(const OptDef *defs, const char *flag, size_t *off) {
    if (!strncmp(flag, "--", 2)) flag += 2;
    char key[96];
    size_t n = strlen(flag);
    if (n >= sizeof key) return NULL;
    for (size_t i = 0; i <= n; i++) key[i] = flag[i] == '-' ? '_' : flag[i];
    return find_key(defs, key, 0, off);
}

const OptDef *opt_lookup(const OptDef *defs, const char *flag, size_t *off) {
    const OptDef *d = find_alias(defs, flag, 0, off);
    return d ? d : find_flag(defs, flag, off);
}

const char *opt_choice_name(const OptChoice *c, int value) {
    for (; c && c->name; c++)
        if (c->value == value) return c->name;
    return "?";
}

// The names into buf: "a|b|c" for help, "a, b or c" (prose) for messages.
static const char *choice_list(const OptChoice *c, int prose, char *buf, size_t cap) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; c && c[i].name && o < cap; i++) {
        const char *sep = !i ? "" : !prose ? "|" : c[i + 1].name ? ", " : " or ";
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", sep, c[i].name);
    }
    return buf;
}

int opt_choice_value(const OptChoice *c, const char *name, const char *what) {
    for (const OptChoice *p = c; p && p->name; p++)
        if (!strcmp(p->name, name)) return p->value;
    char list[512];
    return err_set("%s must be %s, got '%s'", what, choice_list(c, 1, list, sizeof list), name);
}

int opt_find_named(const void *table, int n, size_t stride, const char *name, const char *what) {
    const char *base = table;
    for (int i = 0; i < n; i++)
        if (!strcmp(*(const char *const *)(base + (size_t)i * stride), name)) return i;
    char known[512] = "";
    for (int i = 0; i < n; i++) {
        if (i) strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, *(const char *const *)(base + (size_t)i * stride), sizeof known - strlen(known) - 1);
    }
    return err_set("unknown %s '%s' (known: %s)", what, name, known);
}

static int parse_bool(const char *text, int *out) {
    if (!strcmp(text, "true") || !strcmp(text, "1")) return *out = 1, 0;
    if (!strcmp(text, "false") || !strcmp(text, "0")) return *out = 0, 0;
    return -1;
}

// Set the field at cfg + off described by d from text. what names the setting
// in messages: the flag as given ("--lr"), or "FILE: key".
static int set_field(void *cfg, const OptDef *d, size_t off, const char *text, const char *what) {
    char *field = (char *)cfg + off, *end;
    errno = 0;
    switch (d->type) {
    case OPT_INT: {
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end || v < d->min || v > d->max)
            return err_set("%s must be an integer in [%.0f, %.0f], got '%s'", what, d->min, d->max, text);
        *(int *)field = (int)v;
        return 0;
    }
    case OPT_DOUBLE: {
        double v = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(v) || v < d->min || v > d->max)
            return err_set("%s must be a number in [%g, %g], got '%s'", what, d->min, d->max, text);
        *(double *)field = v;
        return 0;
    }
    case OPT_BOOL:
        if (parse_bool(text, (int *)field) != 0) return err_set("%s must be true or false, got '%s'", what, text);
        return 0;
    case OPT_STRING: {
        size_t n = strlen(text);
        if (n >= d->size) return err_set("%s is %zu bytes, longer than the %zu allowed", what, n, d->size - 1);
        memcpy(field, text, n + 1);
        return 0;
    }
    case OPT_ENUM: {
        int v = opt_choice_value(d->choices, text, what);
        if (v < 0) return -1;
        *(int *)field = v;
        return 0;
    }
    case OPT_LIST: {
        OptList *l = (OptList *)field;
        if (l->n == OPT_LIST_MAX) return err_set("%s takes at most %d values", what, OPT_LIST_MAX);
        if (strlen(text) >= OPT_LIST_LEN)
            return err_set("%s: a value is longer than the %d bytes allowed", what, OPT_LIST_LEN - 1);
        snprintf(l->item[l->n++], OPT_LIST_LEN, "%s", text);
        return 0;
    }
    case OPT_GROUP: break;
    }
    return err_set("%s cannot be set", what);
}

// set_field for a value read from a source other than the command line: messages say "where: key".
static int set_keyed(void *cfg, const OptDef *d, size_t off, const char *text, const char *where) {
    char what[600];
    snprintf(what, sizeof what, "%s: %s", where, d->key);
    return set_field(cfg, d, off, text, what);
}

int opt_set(void *cfg, const OptDef *defs, const char *key, const char *text, const char *where) {
    size_t off;
    const OptDef *d = find_key(defs, key, 0, &off);
    if (!d) return err_set("%s: unknown key \"%s\"", where, key);
    return set_keyed(cfg, d, off, text, where);
}

static size_t field_size(const OptDef *d) {
    switch (d->type) {
    case OPT_DOUBLE: return sizeof(double);
    case OPT_STRING: return d->size;
    case OPT_LIST: return sizeof(OptList);
    case OPT_GROUP: return d->size;
    default: return sizeof(int);
    }
}

static void seen_add(OptSeen *s, const OptDef *d, size_t off) {
    for (int i = 0; i < s->n; i++)
        if (s->offset[i] == off) return;
    if (s->n < OPT_SEEN_MAX) s->def[s->n] = d, s->offset[s->n++] = off;
}

// The k-th positional entry (flattened order), or NULL.
static const OptDef *positional(const OptDef *defs, int k, size_t base, size_t *off, int *seen) {
    for (const OptDef *d = defs; d->key; d++) {
        if (d->type == OPT_GROUP) {
            const OptDef *g = positional(d->group, k, base + d->offset, off, seen);
            if (g) return g;
        } else if ((d->flags & OPT_POSITIONAL) && (*seen)++ == k) {
            *off = base + d->offset;
            return d;
        }
    }
    return NULL;
}

int opt_parse_argv(void *cfg, const OptDef *defs, int argc, char **argv, OptSeen *seen) {
    OptSeen local = {0}, lists = {0};   // lists: list settings already replaced in this parse
    if (!seen) seen = &local;
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t off;
        const OptDef *d;
        if (a[0] != '-' || !a[1]) {
            int count = 0;
            if (!(d = positional(defs, n_pos++, 0, &off, &count))) return err_set("unexpected argument '%s'", a);
            if (set_field(cfg, d, off, a, d->key) != 0) return -1;
            seen_add(seen, d, off);
            continue;
        }
        char flag[128];
        const char *eq = !strncmp(a, "--", 2) ? strchr(a, '=') : NULL, *value = eq ? eq + 1 : NULL;
        size_t flen = eq ? (size_t)(eq - a) : strlen(a);
        if (flen >= sizeof flag) return err_set("unknown option '%.*s...'", 64, a);
        memcpy(flag, a, flen);
        flag[flen] = 0;
        int negate = 0;
        d = opt_lookup(defs, flag, &off);
        if (!d && !strncmp(flag, "--no-", 5)) {
            char pos[128];
            snprintf(pos, sizeof pos, "--%s", flag + 5);
            d = opt_lookup(defs, pos, &off);
            if (d && d->type != OPT_BOOL) d = NULL;
            if (d && value) return err_set("%s takes no value", flag);
            negate = d != NULL;
        }
        if (!d) return err_set("unknown option '%s'", flag);
        if (d->type == OPT_BOOL && !value) {
            int v;
            if (negate) value = "false";
            else if (i + 1 < argc && parse_bool(argv[i + 1], &v) == 0) value = argv[++i];
            else value = "true";
        }
        if (!value) {
            if (i + 1 >= argc) return err_set("%s needs a value", flag);
            value = argv[++i];
        }
        if (d->type == OPT_LIST) {
            int first = 1;
            for (int k = 0; k < lists.n; k++) first &= lists.offset[k] != off;
            if (first) ((OptList *)((char *)cfg + off))->n = 0, seen_add(&lists, d, off);
        }
        if (set_field(cfg, d, off, value, flag) != 0) return -1;
        seen_add(seen, d, off);
    }
    return 0;
}

void opt_copy_seen(void *dst, const void *src, const OptSeen *seen) {
    for (int i = 0; i < seen->n; i++)
        memcpy((char *)dst + seen->offset[i], (const char *)src + seen->offset[i], field_size(seen->def[i]));
}

int opt_apply_json(void *cfg, const OptDef *defs, const cJSON *obj, const char *where, const char *const *skip_keys) {
    if (!cJSON_IsObject(obj)) return err_set("%s: expected a JSON object", where);
    const cJSON *v;
    cJSON_ArrayForEach(v, obj) {
        int skip = 0;
        for (int i = 0; skip_keys && skip_keys[i]; i++) skip |= !strcmp(skip_keys[i], v->string);
        if (skip) continue;
        size_t off;
        const OptDef *d = find_key(defs, v->string, 0, &off);
        if (!d || (d->flags & OPT_ARGV_ONLY)) return err_set("%s: unknown key \"%s\"", where, v->string);
        char buf[64];
        const char *text = NULL;
        if (d->type == OPT_LIST) {
            if (!cJSON_IsArray(v)) return err_set("%s: %s must be an array of strings", where, d->key);
            ((OptList *)((char *)cfg + off))->n = 0;
            const cJSON *it;
            cJSON_ArrayForEach(it, v) {
                if (!cJSON_IsString(it)) return err_set("%s: %s must be an array of strings", where, d->key);
                if (set_keyed(cfg, d, off, it->valuestring, where) != 0) return -1;
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
            if (d->type == OPT_INT && (v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e15))
                return err_set("%s: %s must be an integer in [%.0f, %.0f]", where, d->key, d->min, d->max);
            snprintf(buf, sizeof buf, d->type == OPT_INT ? "%.0f" : "%.17g", v->valuedouble);
            text = buf;
        } else {
            return err_set("%s: %s has an unusable value", where, d->key);
        }
        if (set_keyed(cfg, d, off, text, where) != 0) return -1;
    }
    return 0;
}

int opt_apply_file(void *cfg, const OptDef *defs, const char *path, const char *const *skip_keys) {
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!o) return err_set("%s: invalid JSON", path);
    int rc = opt_apply_json(cfg, defs, o, path, skip_keys);
    cJSON_Delete(o);
    return rc;
}

static void to_json(cJSON *o, const void *cfg, const OptDef *defs, size_t base) {
    for (const OptDef *d = defs; d->key; d++) {
        const char *field = (const char *)cfg + base + d->offset;
        if (d->flags & OPT_ARGV_ONLY) continue;
        switch (d->type) {
        case OPT_INT: cJSON_AddNumberToObject(o, d->key, *(const int *)field); break;
        case OPT_DOUBLE: cJSON_AddNumberToObject(o, d->key, *(const double *)field); break;
        case OPT_BOOL: cJSON_AddBoolToObject(o, d->key, *(const int *)field); break;
        case OPT_STRING: cJSON_AddStringToObject(o, d->key, field); break;
        case OPT_ENUM: cJSON_AddStringToObject(o, d->key, opt_choice_name(d->choices, *(const int *)field)); break;
        case OPT_LIST: {
            const OptList *l = (const OptList *)field;
            cJSON *a = cJSON_AddArrayToObject(o, d->key);
            for (int i = 0; a && i < l->n; i++) cJSON_AddItemToArray(a, cJSON_CreateString(l->item[i]));
            break;
        }
        case OPT_GROUP: to_json(o, cfg, d->group, base + d->offset); break;
        }
    }
}

cJSON *opt_to_json(const void *cfg, const OptDef *defs) {
    cJSON *o = cJSON_CreateObject();
    if (o) to_json(o, cfg, defs, 0);
    return o;
}

static void print_help(FILE *f, const OptDef *defs, const void *defaults, size_t base) {
    for (const OptDef *d = defs; d->key; d++) {
        if (d->type == OPT_GROUP) {
            print_help(f, d->group, defaults, base + d->offset);
            continue;
        }
        char name[100], flag[240], def[200] = "", list[512];
        snprintf(name, sizeof name, "%s", d->key);
        for (char *p = name; *p; p++)
            if (*p == '_') *p = '-';
        snprintf(flag, sizeof flag, "%s%s--%s", d->alias ? d->alias : "", d->alias ? ", " : "", name);
        if (d->type == OPT_BOOL) snprintf(flag, sizeof flag, "--%s, --no-%s", name, name);
        const char *field = (const char *)defaults + base + d->offset;
        switch (d->type) {
        case OPT_INT: snprintf(def, sizeof def, "%d", *(const int *)field); break;
        case OPT_DOUBLE: snprintf(def, sizeof def, "%g", *(const double *)field); break;
        case OPT_BOOL: snprintf(def, sizeof def, "%s", *(const int *)field ? "on" : "off"); break;
        case OPT_STRING: snprintf(def, sizeof def, "%s", *field ? field : "none"); break;
        case OPT_ENUM: snprintf(def, sizeof def, "%s", opt_choice_name(d->choices, *(const int *)field)); break;
        case OPT_LIST: {
            const OptList *l = (const OptList *)field;
            size_t k = 0;
            for (int i = 0; i < l->n && k < sizeof def; i++)
                k += (size_t)snprintf(def + k, sizeof def - k, "%s%s", i ? " " : "", l->item[i]);
            if (!l->n) snprintf(def, sizeof def, "none");
            break;
        }
        case OPT_GROUP: break;
        }
        if (d->flags & OPT_REQUIRED) fprintf(f, "  %-28s %s (required", flag, d->help);
        else fprintf(f, "  %-28s %s (default %s", flag, d->help, def);
        if (d->type == OPT_ENUM) fprintf(f, "; %s", choice_list(d->choices, 0, list, sizeof list));
        else if (d->type == OPT_INT) fprintf(f, "; %.0f..%.0f", d->min, d->max);
        else if (d->type == OPT_DOUBLE) fprintf(f, "; %g..%g", d->min, d->max);
        else if (d->type == OPT_LIST) fprintf(f, "; repeatable");
        fprintf(f, ")\n");
    }
}

void opt_print_help(FILE *f, const OptDef *defs, const void *defaults) { print_help(f, defs, defaults, 0); }

// Count entries named key in the flattened table.
static int key_count(const OptDef *defs, const char *key) {
    int n = 0;
    for (const OptDef *d = defs; d->key; d++) n += d->type == OPT_GROUP ? key_count(d->group, key) : !strcmp(d->key, key);
    return n;
}

static int bool_key(const OptDef *defs, const char *key) {
    const OptDef *d = find_key(defs, key, 0, NULL);
    return d && d->type == OPT_BOOL;
}

static int check(const OptDef *all, const OptDef *defs, const void *defaults, size_t base) {
    for (const OptDef *d = defs; d->key; d++) {
        if (d->type == OPT_GROUP) {
            if (!d->group) return err_set("a group entry has no table");
            if (check(all, d->group, defaults, base + d->offset) != 0) return -1;
            continue;
        }
        if (!d->help || !d->key[0]) return err_set("%s: every setting needs a key and a help line", d->key);
        // A dot may part a section from its key ("stage2.steps", flag --stage2.steps).
        size_t len = strlen(d->key);
        if (strspn(d->key, "abcdefghijklmnopqrstuvwxyz0123456789_.") != len || d->key[0] == '.' ||
            d->key[len - 1] == '.' || strstr(d->key, ".."))
            return err_set("%s: a key is snake_case, sections apart by dots (its flag spells _ as -)", d->key);
        if (key_count(all, d->key) != 1) return err_set("%s: the key appears more than once", d->key);
        if (d->alias && (d->alias[0] != '-' || find_alias(all, d->alias, 0, NULL) != d ||
                         find_flag(all, d->alias, NULL)))
            return err_set("%s: alias %s is taken or not a flag", d->key, d->alias);
        if (!strncmp(d->key, "no_", 3) && bool_key(all, d->key + 3))
            return err_set("%s: the key collides with --no-%s", d->key, d->key + 3);
        // A required setting has no default: the command checks it was given.
        const char *field = defaults && !(d->flags & OPT_REQUIRED) ? (const char *)defaults + base + d->offset : NULL;
        if ((d->type == OPT_INT || d->type == OPT_DOUBLE) && !(d->min <= d->max))
            return err_set("%s: range [%g, %g] is empty", d->key, d->min, d->max);
        if (d->type == OPT_INT && field && (*(const int *)field < d->min || *(const int *)field > d->max))
            return err_set("%s: default %d is outside [%g, %g]", d->key, *(const int *)field, d->min, d->max);
        if (d->type == OPT_DOUBLE && field && (*(const double *)field < d->min || *(const double *)field > d->max))
            return err_set("%s: default %g is outside [%g, %g]", d->key, *(const double *)field, d->min, d->max);
        if (d->type == OPT_STRING && (d->size < 2 || (field && strnlen(field, d->size) == d->size)))
            return err_set("%s: the default does not fit", d->key);
        if (d->type == OPT_ENUM) {
            if (!d->choices || !d->choices[0].name) return err_set("%s: an enum needs choices", d->key);
            for (const OptChoice *a = d->choices; a->name; a++)
                if (!a->name[0]) return err_set("%s: a choice has an empty name", d->key);
            for (const OptChoice *a = d->choices; a->name; a++)
                for (const OptChoice *b = a + 1; b->name; b++)
                    if (!strcmp(a->name, b->name) || a->value == b->value)
                        return err_set("%s: choices %s and %s collide", d->key, a->name, b->name);
            if (field && !strcmp(opt_choice_name(d->choices, *(const int *)field), "?"))
                return err_set("%s: default %d is not one of its choices", d->key, *(const int *)field);
        }
    }
    return 0;
}

int opt_check_table(const OptDef *defs, const void *defaults) { return check(defs, defs, defaults, 0); }
