// The tests of a code problem, in the row shapes code data sets come in:
// stdin/stdout {"tests": [{"input": str, "output": str}, ...]} (open-r1 style),
// and call-based {"fn_name": str, "inputs": [[arg, ...], ...], "outputs": [value, ...]}
// either at the top of the row or as the row's "tests" object (APPS/TACO/verl's
// input_output; without fn_name its inputs and outputs are stdin/stdout strings).
// A view into the row: it reads and checks, never copies or runs anything.
#ifndef AHA_TASK_CODE_TESTS_H
#define AHA_TASK_CODE_TESTS_H

#include <cjson/cJSON.h>

#define CODE_TESTS_MAX 4096   // tests per problem

typedef struct {
    const char *fn_name;      // call-based: the function each test calls; NULL for stdin/stdout
    int n;                    // tests (>= 1)
    const cJSON *list;        // [{"input", "output"}] rows, or NULL
    const cJSON *inputs;      // parallel arrays when list is NULL
    const cJSON *outputs;
} CodeTests;

// 1 when row carries tests in one of the shapes above ("tests", or "fn_name"
// with "inputs"/"outputs"), else 0. It does not check them.
int code_tests_present(const cJSON *row);
// Find and check the tests of row into *t: a non-empty list of at most
// CODE_TESTS_MAX; stdin/stdout inputs and outputs are strings; call-based
// inputs are argument arrays. Returns 0, or -1 after err_set() naming the
// field and the test index.
int code_tests_parse(const cJSON *row, CodeTests *t);
// Test k's input: the stdin text, or the argument array (call-based).
const cJSON *code_test_input(const CodeTests *t, int k);
// Test k's expected output: the stdout text, or the return value (call-based).
const cJSON *code_test_output(const CodeTests *t, int k);

#endif
