// Flags through an option table (base/options.h) for every command.
#include "cli/cli_opts.h"
#include "base/err.h"
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>

void cli_print_help(const CliOptions *o) {
    void *d = calloc(1, o->size);
    if (!d) return;
    o->defaults(d);
    fputs(o->usage, stdout);
    printf("\noptions:\n");
    opt_print_help(stdout, o->defs, d);
    if (o->more_help) o->more_help();
    free(d);
}

int cli_parse_options(const char *cmd, int argc, char **argv, const CliOptions *o, void *cfg) {
    for (int i = 1; i < argc; i++)
        if (arg_is_help(argv[i])) {
            cli_print_help(o);
            return 1;
        }
    o->defaults(cfg);
    if (opt_parse_argv(cfg, o->defs, argc, argv, NULL) != 0) return cli_usage(cmd, "%s", err_msg());
    return 0;
}
