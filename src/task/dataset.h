// JSONL problem datasets: GSM8K shape {"question", "answer": "... #### 42"}, MATH
// shape {"problem", "solution": "... \boxed{...}"}, generic {"prompt", "answer"},
// code {"prompt", tests in a shape of task/code_tests.h} (no answer needed).
// The gold answer is extracted on load. A bad line is an error naming file:line,
// or, when asked, skipped and counted. It never evaluates or rewrites answers.
#ifndef AHA_DATASET_H
#define AHA_DATASET_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "base/jsonl.h"

typedef enum {
    DATASET_AUTO = 0,   // decided by the first good line of each file
    DATASET_GSM8K,
    DATASET_MATH,
    DATASET_GENERIC,
    DATASET_CODE,       // a prompt and tests; the answer is optional
} DatasetShape;

typedef struct {
    char *prompt;   // the question text (malloc'd)
    char *answer;   // the extracted gold answer (malloc'd); NULL for a code row without one
    cJSON *json;    // the whole line, for task fields ("numbers", "tests", ...); owned
    long line;      // line number in the file
} DatasetItem;

typedef struct {
    DatasetItem *items;   // (n)
    int n, cap;
    long skipped;         // bad lines skipped (skip_bad only)
    DatasetShape shape;   // the shape the file was read as
} Dataset;

// "auto", "gsm8k", "math", "generic", "code" -> shape, or -1 after err_set().
int dataset_shape_parse(const char *s);
const char *dataset_shape_name(DatasetShape s);

// Load a JSONL file ("-" for stdin). Zero-initialise ds first. With skip_bad a
// malformed line (bad JSON, missing field, no extractable answer) is counted in
// ds->skipped instead of failing. Returns 0, or -1 after err_set() naming
// file:line (ds is then freed). A file with no usable line is an error.
int dataset_load(Dataset *ds, const char *path, DatasetShape shape, int skip_bad);
// The same from an open reader (the fuzz target reads from memory).
int dataset_read(Dataset *ds, JsonlReader *r, DatasetShape shape, int skip_bad);
void dataset_free(Dataset *ds);
// Keep the items whose keep[i] is non-zero, in file order, and free the rest.
// Returns how many were dropped.
int dataset_retain(Dataset *ds, const unsigned char *keep);

// The shape a line looks like (code when it has tests, else GSM8K, MATH or
// generic), or DATASET_AUTO when none.
DatasetShape dataset_detect(const cJSON *obj);
// Fill prompt/answer of one item from obj read as `shape`. Returns 0, or -1
// after err_set() naming the missing or bad field.
int dataset_item_parse(const cJSON *obj, DatasetShape shape, DatasetItem *out);

// Gold-answer extraction. Both return a malloc'd string or NULL after err_set().
// GSM8K: the text after the last "####", trimmed, thousands commas removed.
char *dataset_gsm8k_answer(const char *answer);
// MATH: the content of the last \boxed{...} or \fbox{...}, braces matched.
char *dataset_boxed_answer(const char *solution);

#endif
