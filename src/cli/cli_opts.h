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
    void (*defaults)(void *cfg);   // sets the defaults on a zeroed struct (NULL: all zero)
    const char *usage;             // after "usage: ": the command line(s), printed as written
    // What the command does: one line of text per paragraph, paragraphs apart
    // by "\n\n". Lines are wrapped at 80 columns when printed, but for lines
    // starting with two spaces (list items), printed as written.
    const char *about;
    void (*more_help)(void);       // --help text below the options (NULL: none)
    size_t seen;   // where the settings struct keeps an OptSeen of the flags given (0: it keeps none)
} CliOptions;

// The --help text: usage, about, one line per option with its default, then more_help.
void cli_print_help(const CliOptions *o);
// Zero cfg (o->size bytes), set the defaults and apply argv[1..argc). Every
// OPT_REQUIRED setting must be given (a string one not empty). Returns 0; 1
// when --help was printed; 2 after a usage message (unknown flag, missing or
// bad value, a required setting not given).
int cli_parse_options(const char *cmd, int argc, char **argv, const CliOptions *o, void *cfg);

#endif
