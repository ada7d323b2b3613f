// JSONL datasets: the fixtures in tests/data/ (written for these tests) in the
// GSM8K, MATH, generic and code shapes; gold answers extracted on load; bad lines
// reported as file:line or skipped and counted; extraction edge cases.
#include "task/dataset.h"
#include "base/err.h"
#include "task/code_tests.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static void check_answer(const Dataset *ds, int i, const char *prompt_start, const char *answer) {
    CHECK(i < ds->n, "item %d missing (n = %d)", i, ds->n);
    if (i >= ds->n) return;
    CHECK(strncmp(ds->items[i].prompt, prompt_start, strlen(prompt_start)) == 0, "prompt %d: %s", i,
          ds->items[i].prompt);
    CHECK(strcmp(ds->items[i].answer, answer) == 0, "answer %d: [%s], want [%s]", i, ds->items[i].answer, answer);
}

static void test_files(void) {
    Dataset ds = {0};
    CHECK(dataset_load(&ds, "tests/data/gsm8k.jsonl", DATASET_AUTO, 0) == 0, "%s", err_msg());
    CHECK(ds.shape == DATASET_GSM8K && ds.n == 3, "shape %d n %d", ds.shape, ds.n);
    check_answer(&ds, 0, "Tom has 3 apples", "7");
    check_answer(&ds, 1, "A shop sells", "2400");   // thousands separator removed
    check_answer(&ds, 2, "What is 10 - 15", "-5");
    CHECK(ds.n == 3 && ds.items[2].line == 4, "line numbers count the blank line: %ld", ds.items[2].line);
    dataset_free(&ds);

    CHECK(dataset_load(&ds, "tests/data/math.jsonl", DATASET_AUTO, 0) == 0, "%s", err_msg());
    CHECK(ds.shape == DATASET_MATH && ds.n == 4, "shape %d n %d", ds.shape, ds.n);
    check_answer(&ds, 0, "Simplify", "\\frac{1}{2}");       // nested braces
    check_answer(&ds, 1, "Compute", "4");                   // the last box wins
    check_answer(&ds, 2, "Find the set", "x^{2}");          // \fbox after \boxed; \{ \} inside a box
    check_answer(&ds, 3, "Give the value", "17");           // explicit answer field
    dataset_free(&ds);

    CHECK(dataset_load(&ds, "tests/data/generic.jsonl", DATASET_AUTO, 0) == 0, "%s", err_msg());
    CHECK(ds.shape == DATASET_GENERIC && ds.n == 2, "shape %d n %d", ds.shape, ds.n);
    check_answer(&ds, 0, "Using the numbers", "(3 + 5) * 2");
    check_answer(&ds, 1, "What is six", "42");               // numeric answer
    const cJSON *nums = ds.n ? cJSON_GetObjectItem(ds.items[0].json, "numbers") : NULL;
    CHECK(cJSON_GetArraySize(nums) == 3, "task fields kept on the item");
    dataset_free(&ds);

    // Forcing a shape that does not fit names the file, the line and the field.
    CHECK(dataset_load(&ds, "tests/data/generic.jsonl", DATASET_GSM8K, 0) == -1 &&
              strstr(err_msg(), "tests/data/generic.jsonl:1") && strstr(err_msg(), "question"),
          "%s", err_msg());
    CHECK(ds.n == 0 && ds.items == NULL, "freed after an error");

    // The first bad line stops the load with file:line ...
    CHECK(dataset_load(&ds, "tests/data/bad.jsonl", DATASET_AUTO, 0) == -1 &&
              strstr(err_msg(), "tests/data/bad.jsonl:2:") && strstr(err_msg(), "####"),
          "%s", err_msg());
    // ... or, when asked, bad lines are skipped and counted.
    CHECK(dataset_load(&ds, "tests/data/bad.jsonl", DATASET_AUTO, 1) == 0, "%s", err_msg());
    CHECK(ds.n == 2 && ds.skipped == 3, "n %d skipped %ld", ds.n, ds.skipped);
    check_answer(&ds, 0, "Fine", "1");
    check_answer(&ds, 1, "Fine again", "2");
    CHECK(ds.n == 2 && ds.items[1].line == 4, "line %ld", ds.n == 2 ? ds.items[1].line : -1);
    dataset_free(&ds);

    // Retain keeps the marked rows in file order and frees the rest.
    CHECK(dataset_load(&ds, "tests/data/math.jsonl", DATASET_AUTO, 0) == 0, "%s", err_msg());
    const unsigned char keep[4] = {0, 1, 0, 1};
    CHECK(ds.n == 4 && dataset_retain(&ds, keep) == 2 && ds.n == 2, "n %d", ds.n);
    check_answer(&ds, 0, "Compute", "4");
    check_answer(&ds, 1, "Give the value", "17");
    dataset_free(&ds);

    CHECK(dataset_load(&ds, "tests/data/does-not-exist.jsonl", DATASET_AUTO, 0) == -1 &&
              strstr(err_msg(), "does-not-exist"), "%s", err_msg());
    CHECK(dataset_shape_parse("math") == DATASET_MATH && dataset_shape_parse("csv") == -1, "shape names");
}

// Code rows: stdin/stdout and call-based tests in the open-r1, verl and APPS
// shapes, no answer needed; a malformed test names the line, the field and the test.
static void test_code_rows(void) {
    Dataset ds = {0};
    CHECK(dataset_load(&ds, "tests/data/code.jsonl", DATASET_AUTO, 0) == 0, "%s", err_msg());
    CHECK(ds.shape == DATASET_CODE && ds.n == 4, "shape %d n %d", ds.shape, ds.n);
    for (int i = 0; i < ds.n && i < 3; i++) CHECK(ds.items[i].answer == NULL, "row %d: answer [%s]", i, ds.items[i].answer);
    CHECK(ds.n == 4 && strcmp(ds.items[3].answer, "print(input().upper())") == 0, "an answer is kept");
    CHECK(ds.n == 4 && strncmp(ds.items[2].prompt, "Write a function rev", 20) == 0, "APPS question as the prompt");
    const int want_n[] = {2, 2, 1, 1};
    const char *want_fn[] = {NULL, "double", "rev", NULL};
    for (int i = 0; i < ds.n; i++) {
        CodeTests t;
        CHECK(code_tests_parse(ds.items[i].json, &t) == 0 && t.n == want_n[i], "row %d: %s", i, err_msg());
        CHECK((t.fn_name == NULL) == (want_fn[i] == NULL) && (!t.fn_name || strcmp(t.fn_name, want_fn[i]) == 0),
              "row %d: fn_name", i);
    }
    CodeTests t;
    CHECK(code_tests_parse(ds.items[1].json, &t) == 0 && cJSON_GetArrayItem(code_test_input(&t, 1), 0)->valueint == -3 &&
              code_test_output(&t, 1)->valueint == -6, "call-based test 1");
    CHECK(code_tests_parse(ds.items[0].json, &t) == 0 && strcmp(code_test_input(&t, 1)->valuestring, "-5 5\n") == 0 &&
              strcmp(code_test_output(&t, 1)->valuestring, "0\n") == 0, "stdin test 1");
    dataset_free(&ds);

    CHECK(dataset_load(&ds, "tests/data/code_bad.jsonl", DATASET_AUTO, 0) == -1 &&
              strstr(err_msg(), "code_bad.jsonl:2: tests[0] needs string fields \"input\" and \"output\""), "%s",
          err_msg());
    CHECK(dataset_load(&ds, "tests/data/code_bad.jsonl", DATASET_AUTO, 1) == 0 && ds.n == 2 && ds.skipped == 4,
          "n %d skipped %ld", ds.n, ds.skipped);
    dataset_free(&ds);
    const char *bad[][2] = {
        {"{\"prompt\": \"p\", \"fn_name\": \"f\", \"inputs\": [1], \"outputs\": [2]}",
         "inputs[0] must be the array of arguments f is called with"},
        {"{\"prompt\": \"p\", \"fn_name\": \"f\", \"inputs\": [[1], [2]], \"outputs\": [2]}",
         "\"inputs\" has 2 tests but \"outputs\" has 1"},
        {"{\"prompt\": \"p\", \"tests\": []}", "needs 1 to 4096 tests, got 0"},
        {"{\"prompt\": \"p\", \"tests\": {\"inputs\": [1], \"outputs\": [\"1\"]}}",
         "tests.inputs[0] and tests.outputs[0] must be strings"},
        {"{\"prompt\": \"p\", \"tests\": \"[]\"}", "field \"tests\" must be an array"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cJSON *o = cJSON_Parse(bad[k][0]);
        DatasetItem it;
        CHECK(dataset_detect(o) == DATASET_CODE && dataset_item_parse(o, DATASET_CODE, &it) == -1 &&
                  strstr(err_msg(), bad[k][1]), "case %zu: %s", k, err_msg());
        cJSON_Delete(o);
    }
    // A math row without an answer is still refused.
    cJSON *o = cJSON_Parse("{\"prompt\": \"p\", \"answer\": \"\"}");
    DatasetItem it;
    CHECK(dataset_item_parse(o, DATASET_GENERIC, &it) == -1 && strstr(err_msg(), "empty answer"), "%s", err_msg());
    cJSON_Delete(o);
    CHECK(dataset_shape_parse("code") == DATASET_CODE && strcmp(dataset_shape_name(DATASET_CODE), "code") == 0,
          "shape name");
}

static void test_extraction(void) {
    struct { const char *in, *want; } boxed[] = {
        {"\\boxed{42}", "42"},
        {"\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"},
        {"a \\boxed{1} b \\boxed{2}", "2"},
        {"\\boxed {7}", "7"},
        {"\\boxed{unclosed \\boxed{5}", "5"},     // the unbalanced box is not one
        {"\\boxed{ 3 }", "3"},
        {"\\boxed{\\{a\\}}", "\\{a\\}"},
    };
    for (size_t k = 0; k < sizeof boxed / sizeof boxed[0]; k++) {
        char *s = dataset_boxed_answer(boxed[k].in);
        CHECK(s && strcmp(s, boxed[k].want) == 0, "boxed %zu: [%s]", k, s ? s : err_msg());
        free(s);
    }
    const char *none[] = {"no box", "\\boxed{", "\\boxed{}", "\\boxed x"};
    for (size_t k = 0; k < sizeof none / sizeof none[0]; k++) {
        char *s = dataset_boxed_answer(none[k]);
        CHECK(s == NULL, "no answer expected from [%s], got [%s]", none[k], s);
        free(s);
    }
    struct { const char *in, *want; } gsm[] = {
        {"x\n#### 42", "42"}, {"#### 1,234,567", "1234567"}, {"#### 3.5", "3.5"},
        {"a #### 1 then #### 2", "2"}, {"####  $5 ", "$5"}, {"#### 1, 2", "1, 2"},
    };
    for (size_t k = 0; k < sizeof gsm / sizeof gsm[0]; k++) {
        char *s = dataset_gsm8k_answer(gsm[k].in);
        CHECK(s && strcmp(s, gsm[k].want) == 0, "gsm8k %zu: [%s]", k, s ? s : err_msg());
        free(s);
    }
    char *s = dataset_gsm8k_answer("#### ");
    CHECK(s == NULL, "empty final answer");
    free(s);
}

int main(void) {
    test_files();
    test_extraction();
    test_code_rows();
    return TEST_END();
}
