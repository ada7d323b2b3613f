// generation_config.json of a Hugging Face model directory: the sampling
// defaults a model ships with (temperature, top_p, top_k, min_p) and its EOS
// ids. Read only; other fields (do_sample, repetition_penalty, max_new_tokens)
// are not used, as vLLM reads the file for its defaults.
#ifndef AHA_MODEL_GENCONFIG_H
#define AHA_MODEL_GENCONFIG_H

#define GENCONFIG_MAX_EOS 8

typedef struct {
    int present;                      // the file exists
    int has_temperature, has_top_p, has_top_k, has_min_p;
    double temperature, top_p, min_p;
    int top_k;
    int eos_ids[GENCONFIG_MAX_EOS];   // eos_token_id: an id or a list of ids
    int n_eos;
} GenConfig;

// Read dir/generation_config.json. A missing file gives present 0 and returns
// 0; a field that is present but malformed (a temperature that is no number in
// [0, 10], top_p outside (0, 1], top_k not a whole number >= 0, min_p outside
// [0, 1], eos_token_id not an id or list of ids) or a file that is no JSON
// object returns -1 after err_set naming the file and the field.
int genconfig_load(GenConfig *g, const char *dir);

#endif
