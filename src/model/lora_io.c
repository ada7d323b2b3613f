// PEFT's adapter files: adapter_config.json (peft_type LORA, r, lora_alpha,
// target_modules, ...) and adapter_model.safetensors with names such as
// base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight. Refuses the
// PEFT variants that would compute something else (DoRA, rsLoRA, rank or alpha
// patterns, a subset of layers, trained biases, fan_in_fan_out).
#include "model/lora.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/fileio.h"
#include "kernels/rowmm.h"
#include "model/safetensors.h"

#define CONFIG_NAME "adapter_config.json"
#define WEIGHTS_NAME "adapter_model.safetensors"

int lora_save(const Lora *lo, const char *dir) {
    char path[4096], names[256];
    if (mkdir_p(dir) != 0) return -1;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "peft_type", "LORA");
    cJSON_AddStringToObject(root, "task_type", "CAUSAL_LM");
    cJSON_AddStringToObject(root, "base_model_name_or_path", lo->base_model);
    cJSON_AddNumberToObject(root, "r", lo->r);
    cJSON_AddNumberToObject(root, "lora_alpha", lo->alpha);
    cJSON_AddNumberToObject(root, "lora_dropout", lo->dropout);
    cJSON *tm = cJSON_AddArrayToObject(root, "target_modules");
    lora_targets_names(lo->targets, names, sizeof names);
    for (char *save = NULL, *tok = strtok_r(names, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        cJSON_AddItemToArray(tm, cJSON_CreateString(tok));
    cJSON_AddStringToObject(root, "bias", "none");
    cJSON_AddBoolToObject(root, "fan_in_fan_out", 0);
    cJSON_AddBoolToObject(root, "inference_mode", 1);
    cJSON_AddBoolToObject(root, "use_rslora", 0);
    cJSON_AddBoolToObject(root, "use_dora", 0);
    cJSON_AddBoolToObject(root, "init_lora_weights", 1);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return err_set("out of memory");
    int rc = path_join(path, sizeof path, dir, CONFIG_NAME) == 0 ? file_write_atomic(path, text, strlen(text)) : -1;
    free(text);
    if (rc != 0) return -1;
    const Model *ad = &lo->ad;
    SafeItem *items = calloc((size_t)ad->n_tensors, sizeof *items);
    if (!items) return err_set("out of memory");
    for (int i = 0; i < ad->n_tensors; i++) {
        const ParamTensor *p = &ad->tensors[i];
        items[i] = (SafeItem){.name = p->name, .ndim = 2, .shape = {p->shape[0], p->shape[1]}, .data = ad->params + p->offset};
    }
    // The dropout counter rides along so a resumed run draws the same masks.
    char meta[128];
    snprintf(meta, sizeof meta, "{\"format\":\"pt\",\"aha_lora_ticks\":\"%" PRIu64 "\"}", lo->ticks);
    rc = path_join(path, sizeof path, dir, WEIGHTS_NAME) == 0 ? safetensors_write(path, items, ad->n_tensors, ST_F32, meta) : -1;
    free(items);
    return rc;
}

// A field that must be absent, null, false, empty or equal to `ok`.
static int field_plain(const cJSON *root, const char *key, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v)) return 0;
    if ((cJSON_IsObject(v) || cJSON_IsArray(v)) && cJSON_GetArraySize(v) == 0) return 0;
    return err_set("%s: \"%s\" is set; aha reads plain LoRA adapters only", path, key);
}

static int parse_config(const char *path, int *r, double *alpha, double *dropout, unsigned *targets, char *base,
                        size_t base_cap) {
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return err_set("%s: not a JSON object", path);
    }
    int rc = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "peft_type");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "LORA") != 0) rc = err_set("%s: peft_type must be \"LORA\"", path);
    v = cJSON_GetObjectItemCaseSensitive(root, "r");
    if (rc == 0 && (!cJSON_IsNumber(v) || v->valuedouble != (int)v->valuedouble || v->valueint < 1 || v->valueint > LORA_MAX_R))
        rc = err_set("%s: \"r\" must be an integer in 1..%d", path, LORA_MAX_R);
    if (rc == 0) *r = v->valueint;
    v = cJSON_GetObjectItemCaseSensitive(root, "lora_alpha");
    if (rc == 0 && (!cJSON_IsNumber(v) || !(v->valuedouble > 0))) rc = err_set("%s: \"lora_alpha\" must be a positive number", path);
    if (rc == 0) *alpha = v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(root, "lora_dropout");
    *dropout = cJSON_IsNumber(v) ? v->valuedouble : 0;
    if (rc == 0 && !(*dropout >= 0 && *dropout < 1)) rc = err_set("%s: \"lora_dropout\" must be in [0, 1)", path);
    v = cJSON_GetObjectItemCaseSensitive(root, "bias");
    if (rc == 0 && v && !cJSON_IsNull(v) && (!cJSON_IsString(v) || strcmp(v->valuestring, "none") != 0))
        rc = err_set("%s: \"bias\" must be \"none\" (trained biases are not supported)", path);
    const char *plain[] = {"fan_in_fan_out", "use_rslora", "use_dora", "rank_pattern", "alpha_pattern",
                           "layers_to_transform", "modules_to_save"};
    for (size_t i = 0; rc == 0 && i < sizeof plain / sizeof *plain; i++) rc = field_plain(root, plain[i], path);
    v = cJSON_GetObjectItemCaseSensitive(root, "target_modules");
    *targets = 0;
    if (rc == 0 && cJSON_IsString(v)) {
        if (lora_targets_parse(v->valuestring, targets) != 0) rc = err_wrap("%s: target_modules", path);
    } else if (rc == 0 && cJSON_IsArray(v)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, v) {
            unsigned one;
            if (!cJSON_IsString(e) || lora_targets_parse(e->valuestring, &one) != 0) {
                rc = err_set("%s: target_modules: \"%s\" is not a decoder linear layer (q_proj..down_proj)", path,
                             cJSON_IsString(e) ? e->valuestring : "?");
                break;
            }
            *targets |= one;
        }
        if (rc == 0 && !*targets) rc = err_set("%s: target_modules is empty", path);
    } else if (rc == 0) {
        rc = err_set("%s: \"target_modules\" must be a list of layer names", path);
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "base_model_name_or_path");
    snprintf(base, base_cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
    cJSON_Delete(root);
    return rc;
}

int lora_load(Lora *lo, const ModelConfig *c, const char *dir, int with_grads) {
    char path[4096], base[1024];
    int r = 0;
    double alpha = 0, dropout = 0;
    unsigned targets = 0;
    if (path_join(path, sizeof path, dir, CONFIG_NAME) != 0) return -1;
    if (!path_exists(path)) return err_set("%s: no %s: not a PEFT adapter directory", dir, CONFIG_NAME);
    if (parse_config(path, &r, &alpha, &dropout, &targets, base, sizeof base) != 0) return -1;
    if (lora_create(lo, c, r, alpha, dropout, targets, with_grads) != 0) return err_wrap("%s", path);
    snprintf(lo->base_model, sizeof lo->base_model, "%s", base);
    SafeFile f;
    if (path_join(path, sizeof path, dir, WEIGHTS_NAME) != 0 || safetensors_open(&f, path) != 0) {
        lora_free(lo);
        return -1;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < lo->ad.n_tensors; i++) {
        const ParamTensor *p = &lo->ad.tensors[i];
        const SafeTensor *t = safetensors_find(&f, p->name);
        if (!t) rc = err_set("%s: no tensor %s (adapter_config.json names its layer)", path, p->name);
        else if (t->ndim != 2 || t->shape[0] != p->shape[0] || t->shape[1] != p->shape[1])
            rc = err_set("%s: %s has shape [%lld, %lld], the base model needs [%d, %d]", path, p->name,
                         (long long)t->shape[0], (long long)(t->ndim > 1 ? t->shape[1] : 0), p->shape[0], p->shape[1]);
        else if (safetensors_read_f32(&f, t, lo->ad.params + p->offset) != 0) rc = err_wrap("%s: %s", path, p->name);
        else ((SafeTensor *)t)->used = 1;
    }
    for (int i = 0; rc == 0 && i < f.n; i++)
        if (!f.tensors[i].used) rc = err_set("%s: unexpected tensor %s", path, f.tensors[i].name);
    char ticks[32];
    if (rc == 0 && safetensors_meta_get(&f, "aha_lora_ticks", ticks, sizeof ticks) == 0)
        lo->ticks = strtoull(ticks, NULL, 10);
    safetensors_close(&f);
    if (rc != 0) lora_free(lo);
    return rc;
}

// The adapters' products run in fp32 beside the base's bf16 ones. On the
// chip's bf16 dot product the decoder rounds matmul inputs into scratch, as
// the training forward does, so both hand the adapters the same fp32 inputs;
// without it the decoder rounds some inputs in place and sampling and
// training would see different adapter inputs, so bf16 LoRA is refused there.
static int refuse_bf16(void) {
    if (model_precision_get() != PRECISION_BF16 || rowmm_bf16) return 0;
    return err_set("LoRA adapters in precision bf16 need the chip's bf16 dot product (AVX512_BF16), which this "
                   "build or machine lacks: pass --precision fp32");
}

int lora_attach(Model *m, Lora *lo, const char *adapter_dir) {
    memset(lo, 0, sizeof *lo);
    if (!adapter_dir[0]) return 0;
    if (refuse_bf16() != 0) return -1;
    if (lora_load(lo, &m->cfg, adapter_dir, 0) != 0) return err_wrap("adapter");
    m->lora = lo;
    return 0;
}

int lora_open(Lora *lo, const LoraOpts *o, const ModelConfig *c, const char *base_dir, const char *adapter_dir,
              uint64_t seed, int with_grads) {
    unsigned targets;
    if (refuse_bf16() != 0) return -1;
    if (lora_targets_parse(o->lora_targets, &targets) != 0) return -1;
    if (adapter_dir) {
        if (lora_load(lo, c, adapter_dir, with_grads) != 0) return -1;
        if (lo->r != o->lora_r || lo->alpha != o->lora_alpha || lo->targets != targets) {
            int r = lo->r;
            double alpha = lo->alpha;
            lora_free(lo);
            return err_set("%s: the adapters (r %d, lora_alpha %g, their target_modules) differ from the settings "
                           "(lora_r %d, lora_alpha %g, lora_targets %s)",
                           adapter_dir, r, alpha, o->lora_r, o->lora_alpha, o->lora_targets);
        }
        lo->dropout = o->lora_dropout;
    } else {
        if (lora_create(lo, c, o->lora_r, o->lora_alpha, o->lora_dropout, targets, with_grads) != 0) return -1;
        lora_init_random(lo, seed);
    }
    snprintf(lo->base_model, sizeof lo->base_model, "%s", base_dir);
    lo->seed = seed ^ 0x4c6f5241ull;
    return 0;
}
