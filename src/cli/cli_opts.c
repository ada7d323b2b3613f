// Table-driven flags for aha pretrain, eval and zero.
#include "cli/cli_opts.h"
#include "base/err.h"
#include "cli/cli.h"

#include <string.h>

int cli_parse_options(const char *cmd, int argc, char **argv, const OptDef *defs, void *cfg, void (*help)(void)) {
    for (int i = 1; i < argc; i++)
        if (arg_is_help(argv[i])) {
            help();
            return 1;
        }
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) != 0) return cli_usage(cmd, "unexpected argument '%s'", argv[i]);
        const OptDef *d = opt_find(defs, argv[i]);
        if (!d) return cli_usage(cmd, "unknown option '%s'", argv[i]);
        const char *v = arg_value(cmd, argc, argv, &i);
        if (!v) return 2;
        if (opt_set(cfg, d, v, argv[i - 1]) != 0) return cli_usage(cmd, "%s", err_msg());
    }
    return 0;
}
