// aha strategic-grams: extract a HICRA lexicon from successful completions.
#include "base/err.h"
#include "base/jsonl.h"
#include "cli/cli.h"
#include "rl/hicra.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char input[4096], out[4096];
    double min_reward, top;
    int min_docs;
} GramsFlags;

#define F(x) offsetof(GramsFlags, x)
#define S(x) F(x), sizeof(((GramsFlags *)0)->x)
static const OptDef grams_options[] = {
    {"input", OPT_STRING, S(input), 0, 0, NULL, "JSONL file, or - for standard input", NULL, NULL, OPT_REQUIRED},
    {"out", OPT_STRING, S(out), 0, 0, NULL,
     "write the lexicon here (default: standard output); aha grpo --hicra-lexicon reads this format", NULL, NULL, 0},
    {"min_reward", OPT_DOUBLE, F(min_reward), 0, -1e9, 1e9, NULL, "a completion counts as successful at reward >= R",
     NULL, NULL, 0},
    {"min_docs", OPT_INT, F(min_docs), 0, 1, 1000000000, NULL, "keep grams found in at least N completions", NULL,
     NULL, 0},
    {"top", OPT_DOUBLE, F(top), 0, 1e-9, 1, NULL, "fraction of ranked grams to keep", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static void grams_defaults(void *cfg) {
    GramsFlags *f = cfg;
    f->min_reward = 1.0, f->top = 0.2, f->min_docs = 2;
}

const CliOptions strategic_grams_cli = {
    grams_options, sizeof(GramsFlags), grams_defaults,
    "aha strategic-grams --input FILE.jsonl [--out FILE] [--min-reward R] [--min-docs N] [--top F]",
    "Extracts Strategic Grams (HICRA): 3-5-word n-grams of successful completions, ranked by how many completions contain them; the top fraction is kept. Input lines are objects with \"completion\" and \"reward\" (samples.jsonl works).", NULL, 0};

int cmd_strategic_grams(void *cfg) {
    const GramsFlags *f = cfg;

    JsonlReader r;
    if (jsonl_open(&r, f->input) != 0) return cli_fail("strategic-grams", "%s", err_msg());
    char **texts = NULL;
    int n = 0, cap = 0, rc = 0, seen = 0;
    cJSON *obj;
    int got;
    while ((got = jsonl_next(&r, &obj)) == 1) {
        const char *text = NULL;
        double reward = 0;
        if (json_get_string(obj, "completion", &text, 1) != 0 || json_get_double(obj, "reward", &reward, 1) != 0) {
            rc = cli_fail("strategic-grams", "%s:%ld: %s", r.name, r.line, err_msg());
            cJSON_Delete(obj);
            break;
        }
        seen++;
        if (reward >= f->min_reward) {
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                texts = realloc(texts, sizeof *texts * (size_t)cap);
            }
            texts[n++] = strdup(text);
        }
        cJSON_Delete(obj);
    }
    if (got < 0) rc = cli_fail("strategic-grams", "%s", err_msg());
    jsonl_close(&r);
    if (rc == 0) {
        Lexicon *lx = lexicon_extract((const char *const *)texts, n, f->min_docs, f->top);
        if (!lx) rc = cli_fail("strategic-grams", "%s", err_msg());
        else {
            fprintf(stderr, "strategic-grams: %d of %d completions successful, %d grams kept\n", n, seen, lexicon_size(lx));
            if (f->out[0]) {
                if (lexicon_save(lx, f->out) != 0) rc = cli_fail("strategic-grams", "%s", err_msg());
            } else {
                for (int i = 0; i < lexicon_size(lx); i++) printf("%s\n", lexicon_gram(lx, i));
            }
            lexicon_free(lx);
        }
    }
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    return rc;
}
