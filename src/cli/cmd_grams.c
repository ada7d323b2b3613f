// aha strategic-grams: extract a HICRA lexicon from successful completions.
#include "base/err.h"
#include "base/jsonl.h"
#include "cli/cli.h"
#include "rl/hicra.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grams_help(void) {
    printf("usage: aha strategic-grams --input FILE.jsonl [--out FILE] [--min-reward R] [--min-docs N] [--top F]\n\n"
           "Extracts Strategic Grams (HICRA): 3-5-word n-grams of successful completions,\n"
           "ranked by how many completions contain them; the top fraction is kept.\n"
           "Input lines are objects with \"completion\" and \"reward\" (samples.jsonl works).\n\n"
           "  --input       JSONL file, or - for standard input\n"
           "  --out         write the lexicon here (default: standard output); aha grpo\n"
           "                --hicra-lexicon reads this format\n"
           "  --min-reward  a completion counts as successful at reward >= R (default 1)\n"
           "  --min-docs    keep grams found in at least N completions (default 2)\n"
           "  --top         fraction of ranked grams to keep (default 0.2)\n");
}

int cmd_strategic_grams(int argc, char **argv) {
    const char *input = NULL, *out = NULL, *v;
    double min_reward = 1.0, top = 0.2;
    long min_docs = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (arg_is_help(a)) { grams_help(); return 0; }
        if (!strcmp(a, "--input")) { if (!(input = arg_value("strategic-grams", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--out")) { if (!(out = arg_value("strategic-grams", argc, argv, &i))) return 2; }
        else if (!strcmp(a, "--min-reward")) {
            if (!(v = arg_value("strategic-grams", argc, argv, &i)) ||
                arg_double("strategic-grams", a, v, -1e9, 1e9, &min_reward) != 0) return 2;
        } else if (!strcmp(a, "--min-docs")) {
            if (!(v = arg_value("strategic-grams", argc, argv, &i)) ||
                arg_long("strategic-grams", a, v, 1, 1000000000, &min_docs) != 0) return 2;
        } else if (!strcmp(a, "--top")) {
            if (!(v = arg_value("strategic-grams", argc, argv, &i)) ||
                arg_double("strategic-grams", a, v, 1e-9, 1, &top) != 0) return 2;
        } else return cli_usage("strategic-grams", "unknown option '%s'", a);
    }
    if (!input) return cli_usage("strategic-grams", "--input is required");

    JsonlReader r;
    if (jsonl_open(&r, input) != 0) return cli_fail("strategic-grams", "%s", err_msg());
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
        if (reward >= min_reward) {
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
        Lexicon *lx = lexicon_extract((const char *const *)texts, n, (int)min_docs, top);
        if (!lx) rc = cli_fail("strategic-grams", "%s", err_msg());
        else {
            fprintf(stderr, "strategic-grams: %d of %d completions successful, %d grams kept\n", n, seen, lexicon_size(lx));
            if (out) {
                if (lexicon_save(lx, out) != 0) rc = cli_fail("strategic-grams", "%s", err_msg());
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
