// aha grpo: parse the settings (defaults < the model's generation_config.json
// < resumed run < preset < config file < flags) and hand them to the trainer.
#include "base/err.h"
#include "base/fileio.h"
#include "cli/cli.h"
#include "train/grpo.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The command line: where settings come from, then the settings themselves,
// and which of them the flags gave (they win over every other source).
typedef struct {
    char config[512], preset[32], resume[512];
    GrpoConfig c;
    OptSeen seen;
} GrpoArgs;

#define F(x) offsetof(GrpoArgs, x)
#define S(x) F(x), sizeof(((GrpoArgs *)0)->x)
static const OptDef args_options[] = {
    {"config", OPT_STRING, S(config), 0, 0, NULL, "JSON settings file (the keys below; a \"preset\" key is allowed)",
     NULL, NULL, OPT_ARGV_ONLY},
    {"preset", OPT_STRING, S(preset), 0, 0, NULL, "r1zero, dapo, drgrpo, gspo, hicra, ppo", NULL, NULL, OPT_ARGV_ONLY},
    {"resume", OPT_STRING, S(resume), 0, 0, NULL, "continue RUN_DIR from its latest checkpoint", NULL, NULL,
     OPT_ARGV_ONLY},
    OPT_GROUP_ENTRY(GrpoArgs, c, grpo_options),
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static void args_defaults(void *cfg) { grpo_defaults(&((GrpoArgs *)cfg)->c); }

const CliOptions grpo_cli = {
    args_options, sizeof(GrpoArgs), args_defaults,
    "aha grpo --model DIR (--task NAME | --dataset FILE.jsonl) [options]\n"
    "       aha grpo --resume RUN_DIR [options]",
    "GRPO-family reinforcement learning with verifiable rewards. Each step samples G completions for each of B prompts, scores them with the reward terms, turns rewards into group-relative advantages and updates the policy.\n\n"
    "Settings come from the defaults (with the model's generation_config.json over them: temperature, top_p, top_k, min_p, eos_token_id), then the resumed run's config.json, then --preset, then --config FILE.json (keys as below with underscores), then flags. Every effective setting is written to RUN_DIR/config.json.", NULL, offsetof(GrpoArgs, seen)};

static int load_json_file(const char *path, cJSON **out) {
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    *out = cJSON_Parse(text);
    free(text);
    return *out ? 0 : err_set("%s: invalid JSON", path);
}

// Layer the sources into a->c. flags holds what the command line gave, flags->seen which of it.
static int settings(GrpoArgs *a, const GrpoArgs *flags, int *usage) {
    char path[600];
    const char *preset = flags->preset[0] ? flags->preset : NULL;
    cJSON *file = NULL;
    int rc = 0;
    if (flags->resume[0]) {
        // A resumed run starts from its own config.json.
        if (path_join(path, sizeof path, flags->resume, "config.json") != 0) return -1;
        if (opt_apply_file(&a->c, grpo_options, path, NULL) != 0) return -1;
    }
    if (flags->config[0]) {
        if (load_json_file(flags->config, &file) != 0) return -1;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(file, "preset");
        if (p && !cJSON_IsString(p)) rc = err_set("%s: preset must be a string", flags->config);
        if (p && !preset) preset = p->valuestring;
    }
    if (rc == 0 && preset && grpo_apply_preset(&a->c, preset) != 0) rc = -1, *usage = 1;
    static const char *const skip[] = {"preset", NULL};
    if (rc == 0 && file) rc = opt_apply_json(&a->c, grpo_options, file, flags->config, skip);
    cJSON_Delete(file);
    if (rc == 0) opt_copy_seen(a, flags, &flags->seen);
    return rc;
}

int cmd_grpo(void *cfg) {
    const GrpoArgs *flags = cfg;
    GrpoArgs *a = calloc(1, sizeof *a);   // large (string settings): not on the stack
    if (!a) return cli_fail("grpo", "out of memory");
    args_defaults(a);
    int usage = 0, rc = 0;
    // Layered once to learn the model, then again over the defaults that the
    // model's generation_config.json changes.
    char model[sizeof a->c.model];
    int ok = settings(a, flags, &usage) == 0;
    if (ok) {
        memcpy(model, a->c.model, sizeof model);
        args_defaults(a);
        ok = (!model[0] || sample_settings_model_defaults(&a->c.sample, model) == 0) && settings(a, flags, &usage) == 0;
    }
    if (!ok)
        rc = usage ? cli_usage("grpo", "%s", err_msg()) : cli_fail("grpo", "%s", err_msg());
    else if (grpo_run(&a->c, flags->resume[0] ? flags->resume : NULL) != 0)
        rc = cli_fail("grpo", "%s", err_msg());
    free(a);
    return rc;
}
