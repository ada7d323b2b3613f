// aha grpo: parse the settings (defaults < preset < config file < flags) and
// hand them to the trainer.
#include "base/err.h"
#include "base/fileio.h"
#include "cli/cli.h"
#include "train/grpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grpo_help(void) {
    GrpoConfig d;
    grpo_defaults(&d);
    printf("usage: aha grpo --model DIR (--task NAME | --dataset FILE.jsonl) [options]\n"
           "       aha grpo --resume RUN_DIR [options]\n\n"
           "GRPO-family reinforcement learning with verifiable rewards. Each step samples\n"
           "G completions for each of B prompts, scores them with the reward terms, turns\n"
           "rewards into group-relative advantages and updates the policy.\n\n"
           "Settings come from the defaults, then --preset, then --config FILE.json (same\n"
           "keys as below with underscores; a \"preset\" key is allowed), then flags.\n"
           "Every effective setting is written to RUN_DIR/config.json.\n\n"
           "  --config FILE              JSON settings file\n"
           "  --preset NAME              %s\n"
           "  --resume RUN_DIR           continue a run from its latest checkpoint\n",
           grpo_preset_names());
    opt_print_help(stdout, grpo_options, &d);
}

static int load_json_file(const char *path, cJSON **out) {
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    *out = cJSON_Parse(text);
    free(text);
    return *out ? 0 : err_set("%s: invalid JSON", path);
}

int cmd_grpo(int argc, char **argv) {
    const char *config = NULL, *preset = NULL, *resume = NULL;
    for (int i = 1; i < argc; i++) {
        if (arg_is_help(argv[i])) { grpo_help(); return 0; }
        const char **slot = !strcmp(argv[i], "--config") ? &config : !strcmp(argv[i], "--preset") ? &preset
                          : !strcmp(argv[i], "--resume") ? &resume : NULL;
        if (slot) {
            if (!(*slot = arg_value("grpo", argc, argv, &i))) return 2;
        } else if (strncmp(argv[i], "--", 2) != 0) {
            return cli_usage("grpo", "unexpected argument '%s'", argv[i]);
        } else {
            if (!opt_find(grpo_options, argv[i])) return cli_usage("grpo", "unknown option '%s'", argv[i]);
            i++;   // values are checked below, in order
        }
    }
    GrpoConfig c;
    grpo_defaults(&c);
    cJSON *file = NULL;
    char path[1200];
    if (resume) {
        // A resumed run starts from its own config.json.
        snprintf(path, sizeof path, "%.1000s/config.json", resume);
        if (load_json_file(path, &file) != 0) return cli_fail("grpo", "%s", err_msg());
        c.reward.n = 0;
        c.stop.n = 0;
        int rc = opt_apply_json(&c, grpo_options, file, path, NULL);
        cJSON_Delete(file);
        if (rc != 0) return cli_fail("grpo", "%s", err_msg());
    }
    if (config) {
        if (load_json_file(config, &file) != 0) return cli_fail("grpo", "%s", err_msg());
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(file, "preset");
        if (p && !cJSON_IsString(p)) {
            cJSON_Delete(file);
            return cli_fail("grpo", "%s: preset must be a string", config);
        }
        if (p && !preset) preset = p->valuestring;
    }
    if (preset && grpo_apply_preset(&c, preset) != 0) {
        cJSON_Delete(file);
        return cli_usage("grpo", "%s", err_msg());
    }
    if (config) {
        static const char *const skip[] = {"preset", NULL};
        // Lists in the file replace the defaults rather than add to them.
        if (cJSON_GetObjectItemCaseSensitive(file, "reward")) c.reward.n = 0;
        int rc = opt_apply_json(&c, grpo_options, file, config, skip);
        cJSON_Delete(file);
        if (rc != 0) return cli_fail("grpo", "%s", err_msg());
    }
    int reward_flag = 0, stop_flag = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "--preset") || !strcmp(argv[i], "--resume")) {
            i++;
            continue;
        }
        const OptDef *d = opt_find(grpo_options, argv[i]);
        const char *v = arg_value("grpo", argc, argv, &i);
        if (!v) return 2;
        // The first --reward / --stop flag replaces the list from defaults or file.
        if (d->type == OPT_LIST && !strcmp(d->key, "reward") && !reward_flag++) c.reward.n = 0;
        if (d->type == OPT_LIST && !strcmp(d->key, "stop") && !stop_flag++) c.stop.n = 0;
        if (opt_set(&c, d, v, argv[i - 1]) != 0) return cli_usage("grpo", "%s", err_msg());
    }
    if (grpo_run(&c, resume) != 0) return cli_fail("grpo", "%s", err_msg());
    return 0;
}
