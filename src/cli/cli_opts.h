// Flag parsing for every command through an options table (base/options.h):
// flags are --key-name VALUE, switches --x / --no-x, and --help prints the same
// table, so the help cannot miss a flag. It never applies settings the table
// does not declare.
#ifndef AHA_CLI_OPTS_H
#define AHA_CLI_OPTS_H

#include "base/options.h"

#include <stddef.h>

// A command's flags: the table, the settings struct it fills and the help around it.
typedef struct {
    const OptDef *defs;
    size_t size;                   // of the settings struct defs describes
    void (*defaults)(void *cfg);   // fills one with the defaults (a parse starts from them)
    const char *usage;             // --help text above the options
    void (*more_help)(void);       // --help text below them (NULL: none)
} CliOptions;

// The --help text: usage, one line per option with its default, then more_help.
void cli_print_help(const CliOptions *o);
// Fill cfg (o->size bytes) with the defaults and apply argv[1..argc). Returns
// 0; 1 when --help was printed; 2 after a usage message (unknown flag,
// missing or bad value).
int cli_parse_options(const char *cmd, int argc, char **argv, const CliOptions *o, void *cfg);

#endif
