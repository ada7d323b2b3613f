// Flag parsing for commands whose settings are an options table (base/options.h):
// flags are --key-name VALUE, switches --x / --no-x, --help prints the table. It never applies
// settings the table does not declare.
#ifndef AHA_CLI_OPTS_H
#define AHA_CLI_OPTS_H

#include "base/options.h"

// Apply argv[1..argc) to cfg through defs. Returns 0; 1 when --help was printed
// (help() is called); 2 after a usage message (unknown flag, missing or bad value).
int cli_parse_options(const char *cmd, int argc, char **argv, const OptDef *defs, void *cfg, void (*help)(void));

#endif
