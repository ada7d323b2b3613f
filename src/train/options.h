// Settings described once, in a table: the same table parses a JSON config
// file, command-line flags (--key-name for key_name), prints --help, checks
// ranges and writes every effective value back as JSON. Unknown keys and
// out-of-range values are refused with a message naming the key and source.
#ifndef AHA_TRAIN_OPTIONS_H
#define AHA_TRAIN_OPTIONS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    OPT_INT,      // int
    OPT_DOUBLE,   // double
    OPT_BOOL,     // int 0/1
    OPT_STRING,   // char[size]
    OPT_ENUM,     // int index into choices "a|b|c"
    OPT_LIST,     // OptList: repeated flag appends; JSON array of strings
} OptType;

#define OPT_LIST_MAX 16
#define OPT_LIST_LEN 160
typedef struct {
    int n;
    char item[OPT_LIST_MAX][OPT_LIST_LEN];
} OptList;

typedef struct {
    const char *key;       // JSON key (snake_case); NULL ends a table
    OptType type;
    size_t offset;         // of the field in the settings struct
    size_t size;           // OPT_STRING: capacity of the char array
    double min, max;       // OPT_INT / OPT_DOUBLE range, inclusive
    const char *choices;   // OPT_ENUM: "a|b|c"
    const char *help;
} OptDef;

// The definition for a key ("lr") or a flag ("--lr", "--max-new-tokens"), or NULL.
const OptDef *opt_find(const OptDef *defs, const char *key_or_flag);
// Set one value from text. where names the source in messages ("--lr", "cfg.json").
int opt_set(void *cfg, const OptDef *d, const char *text, const char *where);
// Apply every key of a JSON object; unknown keys are refused.
int opt_apply_json(void *cfg, const OptDef *defs, const cJSON *obj, const char *where, const char *const *skip_keys);
// A JSON object of every setting (caller deletes).
cJSON *opt_to_json(const void *cfg, const OptDef *defs);
// One line per option: flag, default, range or choices, help.
void opt_print_help(FILE *f, const OptDef *defs, const void *defaults);
// Text of an enum value.
const char *opt_enum_name(const OptDef *d, int value);

#endif
