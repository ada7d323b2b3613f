// `aha reward`: scores JSONL completions from stdin with a weighted sum of reward
// functions and prints one JSON line per input with the total and each component.
// Argument handling only; the scoring lives in reward/.
#include "cli/cli.h"
#include "base/err.h"
#include "base/jsonl.h"
#include "reward/code.h"
#include "reward/reward.h"
#include "train/rm_reward.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    OptList fn;
} RewardFlags;

static const OptDef reward_options[] = {
    {"fn", OPT_LIST, offsetof(RewardFlags, fn), 0, 0, 0, NULL,
     "a reward term NAME[:WEIGHT[:key=value,...]] (at least one; listed below)", NULL, NULL, OPT_REQUIRED},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};

static void functions_help(void) {
    int n;
    const RewardEntry *e = reward_entries(&n);
    printf("\nreward functions:\n");
    for (int i = 0; i < n; i++)
        printf("  %-11s %s%s%s%s\n", e[i].name, e[i].help, *e[i].keys ? " [options: " : "", e[i].keys,
               *e[i].keys ? "]" : "");
}

const CliOptions reward_cli = {
    reward_options, sizeof(RewardFlags), NULL,
    "aha reward --fn NAME[:WEIGHT[:key=value,...]] [--fn ...] < completions.jsonl",
    "Reads one JSON object per line: {\"completion\": str, \"answer\": str|number, \"tokens\": int, \"max_new_tokens\": int, \"prefilled_think\": bool, \"finish\": \"stop\"|\"length\", plus task fields such as \"numbers\", \"target\", \"tests\", and \"prompt\" for rm:DIR terms}. Writes {\"reward\": total, \"<fn>\": component, ...} per line, in input order; with the code reward also \"code_report\": {\"tests\", \"run\", \"passed\", \"result\": \"pass\" or \"first_failure\": no_program|wrong_output|timeout|crash|output_limit}.", functions_help, 0};

// One line of output: {"reward": total, name: component, ..., "code_report": {...}}.
static void print_line(const RewardSpec *spec, double total, const double *comp, const RewardCodeReport *code) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "reward", total);
    for (int k = 0; k < spec->n; k++) cJSON_AddNumberToObject(o, spec->terms[k].label, comp[k]);   // math, math#2, ...
    if (code->scored) cJSON_AddItemToObject(o, "code_report", reward_code_report_json(code));
    char *s = cJSON_PrintUnformatted(o);
    puts(s);
    free(s);
    cJSON_Delete(o);
}

int cmd_reward(void *cfg) {
    const RewardFlags *f = cfg;
    RewardSpec spec = {0};
    for (int i = 0; i < f->fn.n; i++)
        if (reward_parse_spec(&spec, f->fn.item[i])) return cli_usage("reward", "--fn %s: %s", f->fn.item[i], err_msg());
    JsonlReader r;
    if (rm_reward_open(&spec, NULL) != 0) return cli_fail("reward", "%s", err_msg());
    if (jsonl_open(&r, "-")) return rm_reward_close(&spec), cli_fail("reward", "%s", err_msg());
    // Lines are scored in chunks so that batch rewards (code) run in parallel.
    enum { CHUNK = 256 };
    cJSON *objs[CHUNK];
    RewardInput in[CHUNK];
    RewardCodeReport code[CHUNK];
    long lines[CHUNK];
    char numbufs[CHUNK][64];
    double total[CHUNK], comp[CHUNK * REWARD_MAX_TERMS];  // comp is (CHUNK, spec.n)
    int status = 0, done = 0;
    while (!done && !status) {
        int n = 0;
        while (n < CHUNK) {
            int got = jsonl_next(&r, &objs[n]);
            if (got <= 0) {
                if (got < 0) status = cli_fail("reward", "%s", err_msg());
                done = 1;
                break;
            }
            lines[n] = r.line;
            if (reward_input_from_json(&in[n], objs[n], numbufs[n], sizeof numbufs[n])) {
                status = cli_fail("reward", "%s:%ld: %s", r.name, r.line, err_msg());
                cJSON_Delete(objs[n]);
                break;
            }
            code[n].scored = 0;
            in[n].code = &code[n];
            n++;
        }
        if (!status && n > 0 && reward_score_batch(&spec, in, n, total, comp)) {
            // Find the first line that fails on its own, to name it.
            int bad = 0;
            while (bad < n - 1 && reward_score_batch(&spec, &in[bad], 1, total, comp) == 0) bad++;
            status = cli_fail("reward", "%s:%ld: %s", r.name, lines[bad], err_msg());
        }
        for (int i = 0; i < n; i++) {
            if (!status) print_line(&spec, total[i], comp + (size_t)i * (size_t)spec.n, &code[i]);
            cJSON_Delete(objs[i]);
        }
    }
    jsonl_close(&r);
    rm_reward_close(&spec);
    return status;
}
