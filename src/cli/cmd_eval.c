// aha eval: flags in, eval/eval.h does the work; the table on stdout, JSON on request.
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "eval/eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const CliOptions eval_cli = {
    eval_options, sizeof(EvalConfig), eval_defaults, "aha eval --model DIR (--task NAME | --dataset FILE.jsonl) [options]",
    "Sample k completions per problem and score them with the task's verifier, as the R1 paper evaluates: pass@1 = mean correctness over the k samples, cons@k = majority vote over normalised final answers, pass@k unbiased, mean completion length (overall and by difficulty) and R1's reflection words per 1k tokens. Task problems come from the held-out test split unless --split train.\n\n"
    "The model's generation_config.json (temperature, top_p, top_k, min_p, eos_token_id) replaces the defaults below; flags win over both.", NULL, offsetof(EvalConfig, seen)};

// Evaluate and print the table (and the JSON summary when asked).
static int eval_and_print(const EvalConfig *c) {
    EvalResult r;
    if (eval_run(c, &r) != 0) return cli_fail("eval", "%s", err_msg());
    eval_print(stdout, &r);
    if (c->json[0] && dist_rank() == 0) {
        cJSON *o = eval_result_json(&r);
        char *text = o ? cJSON_Print(o) : NULL;
        cJSON_Delete(o);
        if (!text) return cli_fail("eval", "out of memory");
        int w = file_write_atomic(c->json, text, strlen(text));
        free(text);
        if (w != 0) return cli_fail("eval", "%s", err_msg());
    }
    return 0;
}

int cmd_eval(void *cfg) {
    const EvalConfig *flags = cfg;
    if (!flags->src.task[0] == !flags->src.dataset[0])
        return cli_usage("eval", "give exactly one of --task and --dataset");
    // The defaults, the model's generation_config.json over them, the flags over both.
    EvalConfig *c = calloc(1, sizeof *c);   // defaults set some fields; the rest start at 0
    if (!c) return cli_fail("eval", "out of memory");
    eval_defaults(c);
    int rc = sample_settings_model_defaults(&c->sample, flags->model);
    if (rc == 0) opt_copy_seen(c, flags, &flags->seen);
    rc = rc == 0 ? eval_and_print(c) : cli_fail("eval", "%s", err_msg());
    free(c);
    return rc;
}
