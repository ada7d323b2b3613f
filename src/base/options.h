// Settings described once, in a table: the same table parses command-line
// flags, a JSON config file, prints --help, checks ranges and writes every
// effective value back as JSON. Unknown keys, out-of-range values and strings
// that do not fit are refused with a message naming the key and its source;
// nothing is ever truncated or guessed.
#ifndef AHA_BASE_OPTIONS_H
#define AHA_BASE_OPTIONS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    OPT_INT,      // int
    OPT_DOUBLE,   // double
    OPT_BOOL,     // int 0/1; on the command line a switch (--x, --no-x, --x=false)
    OPT_STRING,   // char[size]
    OPT_ENUM,     // int, one of choices[].value
    OPT_LIST,     // OptList: repeated flag appends; JSON array of strings
    OPT_GROUP,    // a nested table (group) whose struct sits at offset; its keys are flat
} OptType;

#define OPT_LIST_MAX 16
#define OPT_LIST_LEN 160
typedef struct {
    int n;
    char item[OPT_LIST_MAX][OPT_LIST_LEN];
} OptList;

// One name of an enum and the value it stands for. Tables end with name NULL.
// Names are matched to values explicitly, never by position, so reordering an
// enum cannot change what a name means.
typedef struct {
    const char *name;
    int value;
} OptChoice;

enum {
    OPT_POSITIONAL = 1,   // also filled from a bare argument (in table order)
    OPT_ARGV_ONLY = 2,    // a command-line setting: never read from or written to JSON
    OPT_REQUIRED = 4,     // has no default (help says "required"); the command checks it was given
};

typedef struct OptDef {
    const char *key;       // JSON key (snake_case), flag --key-name; NULL ends a table
    OptType type;
    size_t offset;         // of the field in the settings struct
    size_t size;           // OPT_STRING: capacity of the char array
    double min, max;       // OPT_INT / OPT_DOUBLE range, inclusive
    const OptChoice *choices;   // OPT_ENUM
    const char *help;
    const struct OptDef *group; // OPT_GROUP: the nested table
    const char *alias;     // another spelling of the flag ("-n"), or NULL
    unsigned flags;        // OPT_POSITIONAL | OPT_ARGV_ONLY | OPT_REQUIRED
} OptDef;

// A nested table entry: the struct member `field` of type T holds the settings of `table`.
#define OPT_GROUP_ENTRY(T, field, table) \
    {"", OPT_GROUP, offsetof(T, field), sizeof(((T *)0)->field), 0, 0, NULL, NULL, table, NULL, 0}

// Which settings a parse set, for layering (defaults < file < flags).
#define OPT_SEEN_MAX 256
typedef struct {
    int n;
    const OptDef *def[OPT_SEEN_MAX];
    size_t offset[OPT_SEEN_MAX];   // of the field in the outer struct
} OptSeen;

// The definition for a key ("lr") or flag ("--lr", "--max-new-tokens", an
// alias), searching groups; *offset (may be NULL) receives the field's offset
// in the outer struct. NULL when there is none.
const OptDef *opt_lookup(const OptDef *defs, const char *key_or_flag, size_t *offset);
// Set the value of key from text. where names the source in messages ("--lr", "cfg.json").
int opt_set(void *cfg, const OptDef *defs, const char *key, const char *text, const char *where);
// Parse argv[1..argc): --key VALUE, --key=VALUE, switches (--x, --no-x,
// --x=true|false, or --x followed by true/false), aliases, and bare arguments
// for OPT_POSITIONAL keys. The first flag of a list replaces its items; more
// append. seen (may be NULL) records every setting given. Returns 0, or -1
// with err_set naming the flag.
int opt_parse_argv(void *cfg, const OptDef *defs, int argc, char **argv, OptSeen *seen);
// Copy the settings recorded in seen from src to dst (structs of the same table).
void opt_copy_seen(void *dst, const void *src, const OptSeen *seen);
// Apply every key of a JSON object; unknown keys are refused unless listed in
// skip_keys (NULL-terminated; may be NULL). A list in the file replaces the list.
int opt_apply_json(void *cfg, const OptDef *defs, const cJSON *obj, const char *where, const char *const *skip_keys);
// Read a JSON file and apply it as above.
int opt_apply_file(void *cfg, const OptDef *defs, const char *path, const char *const *skip_keys);
// A JSON object of every setting (caller deletes); NULL when out of memory.
cJSON *opt_to_json(const void *cfg, const OptDef *defs);
// One line per option: flag, default, range or choices, help.
void opt_print_help(FILE *f, const OptDef *defs, const void *defaults);
// The name of an enum value ("?" when it has none).
const char *opt_choice_name(const OptChoice *choices, int value);
// The value of a choice name, or -1 after err_set listing the names (what names the setting).
int opt_choice_value(const OptChoice *choices, const char *name, const char *what);
// The index of the entry called name in a table of n structs of stride bytes
// whose first member is `const char *name` (the reward and task tables); -1
// after err_set("unknown WHAT 'name' (known: a, b, ...)").
int opt_find_named(const void *table, int n, size_t stride, const char *name, const char *what);
// Every table's own consistency: keys snake_case and unique (groups included),
// aliases flags that name nothing else, no key colliding with a switch's --no-
// form, enum names non-empty and names and values unique, ranges ordered,
// defaults (may be NULL) inside them (but for OPT_REQUIRED settings). Returns 0,
// or -1 with err_set naming the key. Tests run it over every command's table.
int opt_check_table(const OptDef *defs, const void *defaults);

#endif
