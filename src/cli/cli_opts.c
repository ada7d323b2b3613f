// Flags through an option table (base/options.h) for every command.
#include "cli/cli_opts.h"
#include "base/err.h"
#include "cli/cli.h"

int cli_parse_options(const char *cmd, int argc, char **argv, const OptDef *defs, void *cfg, void (*help)(void)) {
    for (int i = 1; i < argc; i++)
        if (arg_is_help(argv[i])) {
            help();
            return 1;
        }
    if (opt_parse_argv(cfg, defs, argc, argv, NULL) != 0) return cli_usage(cmd, "%s", err_msg());
    return 0;
}
