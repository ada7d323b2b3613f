// Reading the tests of a code problem from a JSON row (see code_tests.h):
// which shape it is, and that every test has the fields its shape needs.
#include "task/code_tests.h"
#include "base/err.h"

#include <string.h>

static const cJSON *field(const cJSON *o, const char *key) { return cJSON_GetObjectItemCaseSensitive(o, key); }

int code_tests_present(const cJSON *row) {
    if (!cJSON_IsObject(row)) return 0;
    return field(row, "tests") != NULL || (field(row, "fn_name") && field(row, "inputs") && field(row, "outputs"));
}

// inputs/outputs arrays of obj (the row or its "tests" object), with fn_name
// when obj has one.
static int parse_arrays(const cJSON *obj, const char *where, CodeTests *t) {
    const cJSON *fn = field(obj, "fn_name");
    t->inputs = field(obj, "inputs");
    t->outputs = field(obj, "outputs");
    if (fn && !cJSON_IsNull(fn)) {
        if (!cJSON_IsString(fn) || !fn->valuestring[0])
            return err_set("field \"%sfn_name\" must be a non-empty string", where);
        t->fn_name = fn->valuestring;
    }
    if (!cJSON_IsArray(t->inputs) || !cJSON_IsArray(t->outputs))
        return err_set("fields \"%sinputs\" and \"%soutputs\" must be arrays", where, where);
    t->n = cJSON_GetArraySize(t->inputs);
    if (t->n != cJSON_GetArraySize(t->outputs))
        return err_set("\"%sinputs\" has %d tests but \"%soutputs\" has %d", where, t->n, where,
                       cJSON_GetArraySize(t->outputs));
    int k = 0;
    for (const cJSON *a = t->inputs->child, *b = t->outputs->child; a; a = a->next, b = b->next, k++) {
        if (t->fn_name && !cJSON_IsArray(a))
            return err_set("%sinputs[%d] must be the array of arguments %s is called with", where, k, t->fn_name);
        if (!t->fn_name && (!cJSON_IsString(a) || !cJSON_IsString(b)))
            return err_set("%sinputs[%d] and %soutputs[%d] must be strings (stdin and expected stdout) when there "
                           "is no fn_name", where, k, where, k);
    }
    return 0;
}

int code_tests_parse(const cJSON *row, CodeTests *t) {
    memset(t, 0, sizeof *t);
    if (!cJSON_IsObject(row)) return err_set("a code problem must be a JSON object");
    const cJSON *tests = field(row, "tests");
    if (cJSON_IsArray(tests)) {
        t->list = tests;
        t->n = cJSON_GetArraySize(tests);
        int k = 0;
        for (const cJSON *e = tests->child; e; e = e->next, k++)
            if (!cJSON_IsString(field(e, "input")) || !cJSON_IsString(field(e, "output")))
                return err_set("tests[%d] needs string fields \"input\" and \"output\"", k);
    } else if (cJSON_IsObject(tests)) {
        if (parse_arrays(tests, "tests.", t) != 0) return -1;
    } else if (tests) {
        return err_set("field \"tests\" must be an array of {\"input\", \"output\"} or an object {\"fn_name\", "
                       "\"inputs\", \"outputs\"}");
    } else if (field(row, "inputs") || field(row, "outputs") || field(row, "fn_name")) {
        if (parse_arrays(row, "", t) != 0) return -1;
    } else {
        return err_set("no tests: give \"tests\": [{\"input\", \"output\"}, ...] or \"fn_name\", \"inputs\", "
                       "\"outputs\"");
    }
    if (t->n < 1 || t->n > CODE_TESTS_MAX) return err_set("a code problem needs 1 to %d tests, got %d", CODE_TESTS_MAX, t->n);
    return 0;
}

const cJSON *code_test_input(const CodeTests *t, int k) {
    return t->list ? field(cJSON_GetArrayItem(t->list, k), "input") : cJSON_GetArrayItem(t->inputs, k);
}

const cJSON *code_test_output(const CodeTests *t, int k) {
    return t->list ? field(cJSON_GetArrayItem(t->list, k), "output") : cJSON_GetArrayItem(t->outputs, k);
}
