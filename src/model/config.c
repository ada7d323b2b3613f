// Hugging Face config.json for the Llama / Qwen2 / Qwen3 family, both ways.
// Refuses fields whose meaning aha does not implement (rope scaling other than
// Llama 3's, sliding windows, MLP / output-projection biases, activations other
// than SiLU) rather than silently computing a different model.
#include "model/io.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *type, *arch;
    int attn_bias, qk_norm;
    int max_position;   // transformers' default when the field is absent
} Family;

static const Family FAMILIES[] = {
    {"llama", "LlamaForCausalLM", 0, 0, 2048},
    {"qwen2", "Qwen2ForCausalLM", 1, 0, 32768},
    {"qwen3", "Qwen3ForCausalLM", 0, 1, 32768},
};

static const Family *family(const char *type) {
    for (size_t i = 0; i < sizeof FAMILIES / sizeof FAMILIES[0]; i++)
        if (strcmp(FAMILIES[i].type, type) == 0) return &FAMILIES[i];
    return NULL;
}

static int get_int(const cJSON *o, const char *key, int *out, int required, const char *label) {
    long v = *out;
    if (json_get_int(o, key, &v, required) != 0) return err_wrap("%s", label);
    if (v < INT_MIN || v > INT_MAX) return err_set("%s: field \"%s\" is out of range", label, key);
    *out = (int)v;
    return 0;
}

// A token id field: null/absent (none), an integer, or a list of integers.
int model_json_ids(const cJSON *o, const char *key, int *ids, int cap, int *n, const char *label) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *n = 0;
    if (!v || cJSON_IsNull(v)) return 0;
    const cJSON *one = cJSON_IsArray(v) ? v->child : v;
    for (; one; one = cJSON_IsArray(v) ? one->next : NULL) {
        double d = cJSON_IsNumber(one) ? one->valuedouble : -1;
        if (!(d >= 0) || d > INT_MAX || d != floor(d))
            return err_set("%s: field \"%s\" must be a token id or a list of token ids", label, key);
        if (*n == cap) return err_set("%s: field \"%s\" lists more than %d ids", label, key, cap);
        ids[(*n)++] = (int)d;
    }
    return 0;
}

static int refuse_true(const cJSON *o, const char *key, const char *why, const char *label) {
    int b = 0;
    if (json_get_bool(o, key, &b, 0) != 0) return err_wrap("%s", label);
    if (b) return err_set("%s: field \"%s\" is true: %s", label, key, why);
    return 0;
}

// rope_scaling: null, {"rope_type": "default"}, or Llama 3's
// {"rope_type": "llama3", factor, low_freq_factor, high_freq_factor,
// original_max_position_embeddings}. Anything else changes the model: refused.
static int parse_rope_scaling(ModelConfig *c, const cJSON *rs, const char *label) {
    if (!rs || cJSON_IsNull(rs)) return 0;
    const char *rt = NULL;
    if (cJSON_IsObject(rs) && json_get_string(rs, "rope_type", &rt, 0) == 0 && !rt)
        json_get_string(rs, "type", &rt, 0);   // older configs name it "type"
    if (rt && strcmp(rt, "default") == 0) return 0;
    if (!rt || strcmp(rt, "llama3") != 0)
        return err_set("%s: field \"rope_scaling\" asks for %s%s%s; aha implements plain RoPE and rope_type "
                       "\"llama3\" only",
                       label, rt ? "rope_type \"" : "an unnamed scaling", rt ? rt : "", rt ? "\"" : "");
    if (json_get_double(rs, "factor", &c->rope_factor, 1) || json_get_double(rs, "low_freq_factor", &c->rope_low_freq_factor, 1) ||
        json_get_double(rs, "high_freq_factor", &c->rope_high_freq_factor, 1) ||
        get_int(rs, "original_max_position_embeddings", &c->rope_original_max_position, 1, label))
        return err_wrap("%s: rope_scaling", label);
    if (!(c->rope_factor >= 1) || !(c->rope_low_freq_factor > 0) ||
        !(c->rope_high_freq_factor > c->rope_low_freq_factor) || c->rope_original_max_position <= 0)
        return err_set("%s: field \"rope_scaling\": need factor >= 1, 0 < low_freq_factor < high_freq_factor and "
                       "original_max_position_embeddings > 0",
                       label);
    return 0;
}

static int parse(ModelConfig *c, const cJSON *o, const char *label) {
    memset(c, 0, sizeof *c);
    if (!cJSON_IsObject(o)) return err_set("%s: not a JSON object", label);
    const char *type = NULL;
    if (json_get_string(o, "model_type", &type, 1) != 0) return err_wrap("%s", label);
    const Family *fam = family(type);
    if (!fam)
        return err_set("%s: field \"model_type\" is \"%s\"; aha supports llama, qwen2 and qwen3", label, type);
    snprintf(c->model_type, sizeof c->model_type, "%s", fam->type);
    snprintf(c->architecture, sizeof c->architecture, "%s", fam->arch);
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(o, "architectures");
    if (cJSON_IsArray(arch) && cJSON_IsString(arch->child))
        snprintf(c->architecture, sizeof c->architecture, "%s", arch->child->valuestring);
    else if (arch && !cJSON_IsNull(arch))
        return err_set("%s: field \"architectures\" must be a list of names", label);

    if (get_int(o, "vocab_size", &c->vocab_size, 1, label) || get_int(o, "hidden_size", &c->hidden_size, 1, label) ||
        get_int(o, "num_hidden_layers", &c->n_layers, 1, label) ||
        get_int(o, "num_attention_heads", &c->n_heads, 1, label) ||
        get_int(o, "intermediate_size", &c->intermediate_size, 1, label))
        return -1;
    c->n_kv_heads = c->n_heads;
    c->max_position = fam->max_position;
    if (get_int(o, "num_key_value_heads", &c->n_kv_heads, 0, label) ||
        get_int(o, "max_position_embeddings", &c->max_position, 0, label))
        return -1;
    c->head_dim = 0;
    if (get_int(o, "head_dim", &c->head_dim, 0, label)) return -1;
    if (c->head_dim == 0) {
        if (c->n_heads <= 0 || c->hidden_size % c->n_heads != 0)
            return err_set("%s: field \"hidden_size\" (%d) is not a multiple of \"num_attention_heads\" (%d) "
                           "and no \"head_dim\" is given",
                           label, c->hidden_size, c->n_heads);
        c->head_dim = c->hidden_size / c->n_heads;
    }
    c->rope_theta = 10000.0;
    c->rms_eps = 1e-6;
    if (json_get_double(o, "rms_norm_eps", &c->rms_eps, 0) != 0) return err_wrap("%s", label);
    // Newer transformers nest the theta under rope_parameters.
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(o, "rope_parameters");
    if (cJSON_IsObject(rp)) {
        const char *rt = "default";
        if (json_get_string(rp, "rope_type", &rt, 0) != 0 || json_get_double(rp, "rope_theta", &c->rope_theta, 0) != 0)
            return err_wrap("%s: rope_parameters", label);
        if (strcmp(rt, "default") != 0)
            return err_set("%s: field \"rope_parameters\" asks for rope_type \"%s\"; aha implements only plain RoPE",
                           label, rt);
    }
    if (json_get_double(o, "rope_theta", &c->rope_theta, 0) != 0) return err_wrap("%s", label);
    if (parse_rope_scaling(c, cJSON_GetObjectItemCaseSensitive(o, "rope_scaling"), label) != 0) return -1;
    c->bos_token_id = -1;
    int nb = 0, bos[1];
    if (model_json_ids(o, "bos_token_id", bos, 1, &nb, label)) return -1;
    if (nb) c->bos_token_id = bos[0];
    if (model_json_ids(o, "eos_token_id", c->eos_token_ids, 8, &c->n_eos, label)) return -1;

    if (json_get_bool(o, "tie_word_embeddings", &c->tie_embeddings, 0) != 0) return err_wrap("%s", label);
    c->attn_bias = fam->attn_bias;
    c->qk_norm = fam->qk_norm;
    if (!fam->attn_bias &&
        refuse_true(o, "attention_bias", "aha has no output-projection bias (o_proj.bias) for this model type", label))
        return -1;
    if (refuse_true(o, "mlp_bias", "aha's MLP has no biases", label) ||
        refuse_true(o, "use_sliding_window", "aha attends over the full context only", label))
        return -1;
    const char *act = "silu";
    if (json_get_string(o, "hidden_act", &act, 0) != 0) return err_wrap("%s", label);
    if (strcmp(act, "silu") != 0)
        return err_set("%s: field \"hidden_act\" is \"%s\"; aha implements silu (SwiGLU) only", label, act);
    // The layout also checks that the sizes fit together (parameter count, no overflow).
    if (model_layout(c, NULL, 0, NULL) < 0) return err_wrap("%s", label);
    return 0;
}

int model_config_parse(ModelConfig *cfg, const char *json, const char *label) {
    cJSON *o = cJSON_Parse(json);
    if (!o) return err_set("%s: not valid JSON (near byte %ld)", label,
                           cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - json) : 0L);
    int rc = parse(cfg, o, label);
    cJSON_Delete(o);
    return rc;
}

int model_config_load(ModelConfig *cfg, const char *path) {
    char file[4096];
    if (path_is_dir(path)) {
        if (path_join(file, sizeof file, path, "config.json") != 0) return -1;
    } else {
        if (path_fmt(file, sizeof file, "%s", path) != 0) return -1;
    }
    char *text = file_read_all(file, NULL);
    if (!text) return -1;
    int rc = model_config_parse(cfg, text, file);
    free(text);
    return rc;
}

static void add_ids(cJSON *o, const char *key, const int *ids, int n) {
    if (n == 0) {
        cJSON_AddNullToObject(o, key);
    } else if (n == 1) {
        cJSON_AddNumberToObject(o, key, ids[0]);
    } else {
        cJSON *a = cJSON_AddArrayToObject(o, key);
        for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
    }
}

int model_config_save_dtype(const ModelConfig *c, const char *path, SafeDtype dtype) {
    const Family *fam = family(c->model_type);
    if (!fam) return err_set("%s: model_type \"%s\" is not llama, qwen2 or qwen3", path, c->model_type);
    if (c->attn_bias != fam->attn_bias || c->qk_norm != fam->qk_norm)
        return err_set("%s: a %s model must have attn_bias=%d and qk_norm=%d", path, fam->type, fam->attn_bias,
                       fam->qk_norm);
    if (model_config_check(c) != 0) return err_wrap("%s", path);
    cJSON *o = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString(fam->arch));
    cJSON_AddStringToObject(o, "model_type", fam->type);
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(o, "hidden_size", c->hidden_size);
    cJSON_AddNumberToObject(o, "intermediate_size", c->intermediate_size);
    cJSON_AddNumberToObject(o, "num_hidden_layers", c->n_layers);
    cJSON_AddNumberToObject(o, "num_attention_heads", c->n_heads);
    cJSON_AddNumberToObject(o, "num_key_value_heads", c->n_kv_heads);
    if (strcmp(fam->type, "qwen2") != 0 || c->head_dim * c->n_heads != c->hidden_size)
        cJSON_AddNumberToObject(o, "head_dim", c->head_dim);
    cJSON_AddStringToObject(o, "hidden_act", "silu");
    cJSON_AddNumberToObject(o, "max_position_embeddings", c->max_position);
    cJSON_AddNumberToObject(o, "rms_norm_eps", c->rms_eps);
    cJSON_AddNumberToObject(o, "rope_theta", c->rope_theta);
    if (c->rope_factor > 0) {
        cJSON *rs = cJSON_AddObjectToObject(o, "rope_scaling");
        cJSON_AddStringToObject(rs, "rope_type", "llama3");
        cJSON_AddNumberToObject(rs, "factor", c->rope_factor);
        cJSON_AddNumberToObject(rs, "low_freq_factor", c->rope_low_freq_factor);
        cJSON_AddNumberToObject(rs, "high_freq_factor", c->rope_high_freq_factor);
        cJSON_AddNumberToObject(rs, "original_max_position_embeddings", c->rope_original_max_position);
    } else {
        cJSON_AddNullToObject(o, "rope_scaling");
    }
    cJSON_AddBoolToObject(o, "tie_word_embeddings", c->tie_embeddings);
    if (strcmp(fam->type, "qwen2") == 0) {
        cJSON_AddBoolToObject(o, "use_sliding_window", 0);
    } else {
        cJSON_AddBoolToObject(o, "attention_bias", 0);
        if (strcmp(fam->type, "llama") == 0) cJSON_AddBoolToObject(o, "mlp_bias", 0);
    }
    cJSON_AddNumberToObject(o, "attention_dropout", 0.0);
    if (c->bos_token_id >= 0) cJSON_AddNumberToObject(o, "bos_token_id", c->bos_token_id);
    else cJSON_AddNullToObject(o, "bos_token_id");
    add_ids(o, "eos_token_id", c->eos_token_ids, c->n_eos);
    cJSON_AddStringToObject(o, "torch_dtype", dtype == ST_BF16 ? "bfloat16" : "float32");
    cJSON_AddBoolToObject(o, "use_cache", 1);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) return err_set("%s: out of memory", path);
    size_t len = strlen(text);
    text[len] = '\n';   // cJSON_Print leaves room for the NUL; swap it for a newline
    int rc = file_write_atomic(path, text, len + 1);
    free(text);
    return rc;
}

int model_config_save(const ModelConfig *cfg, const char *path) {
    return model_config_save_dtype(cfg, path, ST_F32);
}

// Llama 3 scaling by wavelength λ = 2π / f against the original context L0:
// λ < L0 / high_freq_factor keeps f; λ > L0 / low_freq_factor divides it by
// factor; in between, s = (L0 / λ - low) / (high - low) blends
// f' = (1 - s) · f / factor + s · f.
void model_rope_inv_freq(const ModelConfig *cfg, double *inv_freq) {
    int hd = cfg->head_dim;
    double L0 = cfg->rope_original_max_position, k = cfg->rope_factor;
    double lo = cfg->rope_low_freq_factor, hi = cfg->rope_high_freq_factor;
    for (int i = 0; i < hd / 2; i++) {
        double f = pow(cfg->rope_theta, -2.0 * i / hd);
        if (k > 0) {
            double wavelen = 2 * M_PI / f;
            if (wavelen > L0 / lo) {
                f /= k;
            } else if (wavelen >= L0 / hi) {
                double s = (L0 / wavelen - lo) / (hi - lo);
                f = (1 - s) * f / k + s * f;
            }
        }
        inv_freq[i] = f;
    }
}
