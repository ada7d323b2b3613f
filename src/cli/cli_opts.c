// Flags through an option table (base/options.h) for every command.
#include "cli/cli_opts.h"
#include "base/err.h"
#include "cli/cli.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELP_WIDTH 80

// One line of about text: a list item ("  ...") as written, any other line
// word-wrapped to HELP_WIDTH columns, so every command's help reads alike.
static void print_wrapped(const char *line, size_t len) {
    if (len >= 2 && line[0] == ' ' && line[1] == ' ') {
        printf("%.*s\n", (int)len, line);
        return;
    }
    size_t col = 0;
    for (size_t i = 0, end; i < len; i = end) {
        while (i < len && line[i] == ' ') i++;
        for (end = i; end < len && line[end] != ' ';) end++;
        if (end == i) break;
        if (col > 0 && col + 1 + (end - i) > HELP_WIDTH) putchar('\n'), col = 0;
        else if (col > 0) putchar(' '), col++;
        fwrite(line + i, 1, end - i, stdout);
        col += end - i;
    }
    putchar('\n');
}

static void print_about(const char *text) {
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        print_wrapped(p, len);
        p += len + (nl != NULL);
    }
}

// A zeroed settings struct with the defaults set.
static void set_defaults(const CliOptions *o, void *cfg) {
    memset(cfg, 0, o->size);
    if (o->defaults) o->defaults(cfg);
}

void cli_print_help(const CliOptions *o) {
    void *d = malloc(o->size);
    if (!d) return;
    set_defaults(o, d);
    printf("usage: %s\n\n", o->usage);
    print_about(o->about);
    printf("\noptions:\n");
    opt_print_help(stdout, o->defs, d);
    if (o->more_help) o->more_help();
    free(d);
}

// The first OPT_REQUIRED setting (groups included) that the parse recorded in
// seen did not give, or gave as an empty string; NULL when there is none.
static const OptDef *missing_required(const OptDef *defs, size_t base, const void *cfg, const OptSeen *seen) {
    for (const OptDef *d = defs; d->key; d++) {
        size_t off = base + d->offset;
        if (d->type == OPT_GROUP) {
            const OptDef *g = missing_required(d->group, off, cfg, seen);
            if (g) return g;
            continue;
        }
        if (!(d->flags & OPT_REQUIRED)) continue;
        int given = 0;
        for (int i = 0; i < seen->n; i++) given |= seen->offset[i] == off;
        if (!given || (d->type == OPT_STRING && !*((const char *)cfg + off))) return d;
    }
    return NULL;
}

// "--run-dir is required", or for a setting also given bare "missing RUN_DIR (or --run-dir)".
static int required_usage(const char *cmd, const OptDef *d) {
    char flag[128], bare[128];
    size_t n = 0;
    for (; d->key[n] && n + 1 < sizeof flag; n++) {
        flag[n] = d->key[n] == '_' ? '-' : d->key[n];
        bare[n] = (char)toupper((unsigned char)d->key[n]);
    }
    flag[n] = bare[n] = 0;
    if (d->flags & OPT_POSITIONAL) return cli_usage(cmd, "missing %s (or --%s)", bare, flag);
    return cli_usage(cmd, "--%s is required", flag);
}

int cli_parse_options(const char *cmd, int argc, char **argv, const CliOptions *o, void *cfg) {
    for (int i = 1; i < argc; i++)
        if (arg_is_help(argv[i])) {
            cli_print_help(o);
            return 1;
        }
    set_defaults(o, cfg);
    OptSeen local = {0}, *seen = o->seen ? (OptSeen *)((char *)cfg + o->seen) : &local;
    if (opt_parse_argv(cfg, o->defs, argc, argv, seen) != 0) return cli_usage(cmd, "%s", err_msg());
    const OptDef *d = missing_required(o->defs, 0, cfg, seen);
    return d ? required_usage(cmd, d) : 0;
}
