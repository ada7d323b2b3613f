// JSON Lines reading on top of cJSON: one object per line, errors that name
// file:line. Blank lines are skipped. Lines may be arbitrarily long.
#ifndef AHA_JSONL_H
#define AHA_JSONL_H

#include <cjson/cJSON.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    const char *name;   // for messages ("<stdin>" for standard input)
    long line;          // line number of the last line returned
    char *buf;          // getline buffer
    size_t cap;
    int owns;           // close f at jsonl_close
} JsonlReader;

// Open a file ("-" means stdin). Returns 0 or -1.
int jsonl_open(JsonlReader *r, const char *path);
// Read the next value. Returns 1 and stores a cJSON value the caller frees,
// 0 at end of input, -1 on a malformed line (message names file:line).
int jsonl_next(JsonlReader *r, cJSON **out);
void jsonl_close(JsonlReader *r);

// Field helpers. Return 0 on success, -1 with a message naming the key when
// the field is missing (and required) or has the wrong type. With required=0
// a missing key leaves *out unchanged and returns 0.
int json_get_int(const cJSON *obj, const char *key, long *out, int required);
int json_get_double(const cJSON *obj, const char *key, double *out, int required);
int json_get_bool(const cJSON *obj, const char *key, int *out, int required);
// Borrowed pointer into obj (valid while obj lives), or NULL.
int json_get_string(const cJSON *obj, const char *key, const char **out, int required);

// Write obj, pretty-printed, to dir/name through file_write_atomic. Returns 0 or -1.
int json_write_file(const cJSON *obj, const char *dir, const char *name);

#endif
