// libFuzzer target: arbitrary bytes as a JSONL dataset file, in every shape
// (code rows' tests included), failing and skipping; plus the answer extractors on each raw input.
#include "task/code_tests.h"
#include "task/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int shape = DATASET_AUTO; size > 0 && shape <= DATASET_CODE; shape++)
        for (int skip = 0; skip < 2; skip++) {
            FILE *f = fmemopen((void *)data, size, "rb");
            if (!f) return 0;
            JsonlReader r;
            memset(&r, 0, sizeof r);
            r.f = f;
            r.name = "fuzz";
            Dataset ds = {0};
            if (dataset_read(&ds, &r, (DatasetShape)shape, skip) == 0) {
                for (int i = 0; i < ds.n; i++) {
                    // A code row may lack an answer, never its tests; other rows need an answer.
                    CodeTests t;
                    if (!ds.items[i].prompt || (ds.items[i].answer && !ds.items[i].answer[0])) abort();
                    if (ds.shape == DATASET_CODE ? code_tests_parse(ds.items[i].json, &t) != 0 : !ds.items[i].answer)
                        abort();
                    for (int k = 0; ds.shape == DATASET_CODE && k < t.n; k++)
                        if (!code_test_input(&t, k) || !code_test_output(&t, k)) abort();
                }
                dataset_free(&ds);
            }
            free(r.buf);
            fclose(f);
        }
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    free(dataset_boxed_answer(text));
    free(dataset_gsm8k_answer(text));
    free(text);
    return 0;
}
