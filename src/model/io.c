// Model weights to and from a Hugging Face directory: model.safetensors or
// shards listed in model.safetensors.index.json, HF tensor names, F32/BF16/F16.
// Refuses partial models: a missing, misshapen or unknown tensor is an error.
#include "model/io.h"
#include "base/err.h"
#include "base/fileio.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SINGLE_NAME "model.safetensors"
#define INDEX_NAME "model.safetensors.index.json"

typedef struct {
    int n;
    SafeFile *files;      // (n)
    char (*names)[256];   // (n) file names inside the directory
} Shards;

static void shards_close(Shards *s) {
    for (int i = 0; i < s->n; i++) safetensors_close(&s->files[i]);
    free(s->files);
    free(s->names);
    memset(s, 0, sizeof *s);
}

static int shard_index(const Shards *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0) return i;
    return -1;
}

// Open every file of the model: one for model.safetensors, or each distinct
// shard the index names. *map receives the parsed index (or NULL).
static int shards_open(Shards *s, const char *dir, cJSON **map) {
    char path[4096];
    memset(s, 0, sizeof *s);
    *map = NULL;
    if (path_join(path, sizeof path, dir, SINGLE_NAME) != 0) return -1;
    if (path_exists(path)) {
        s->files = calloc(1, sizeof *s->files);
        s->names = calloc(1, sizeof *s->names);
        if (!s->files || !s->names) return err_set("out of memory");
        snprintf(s->names[0], sizeof s->names[0], "%s", SINGLE_NAME);
        if (safetensors_open(&s->files[0], path) != 0) return -1;
        s->n = 1;
        return 0;
    }
    if (path_join(path, sizeof path, dir, INDEX_NAME) != 0) return -1;
    if (!path_exists(path))
        return err_set("%s: no %s or %s: not a Hugging Face model directory", dir, SINGLE_NAME, INDEX_NAME);
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    if (!cJSON_IsObject(wm)) {
        cJSON_Delete(root);
        return err_set("%s: not JSON with a \"weight_map\" object", path);
    }
    *map = root;
    int cap = cJSON_GetArraySize(wm);
    s->files = calloc((size_t)cap + 1, sizeof *s->files);
    s->names = calloc((size_t)cap + 1, sizeof *s->names);
    if (!s->files || !s->names) return err_set("out of memory");
    for (const cJSON *e = wm->child; e; e = e->next) {
        const char *f = cJSON_IsString(e) ? e->valuestring : NULL;
        if (!f || !*f || strchr(f, '/') || strcmp(f, "..") == 0 || strlen(f) >= sizeof s->names[0])
            return err_set("%s: weight_map[\"%s\"] must be a file name in the model directory", path, e->string);
        if (shard_index(s, f) >= 0) continue;
        char fp[4096];
        if (path_join(fp, sizeof fp, dir, f) != 0) return -1;
        if (safetensors_open(&s->files[s->n], fp) != 0) return -1;
        snprintf(s->names[s->n++], sizeof s->names[0], "%s", f);
    }
    return 0;
}

static void shape_str(char *out, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(out + k, cap - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < cap) snprintf(out + k, cap - k, "]");
}

static int same_shape(const SafeTensor *st, const ParamTensor *pt) {
    if (st->ndim != pt->ndim) return 0;
    for (int d = 0; d < pt->ndim; d++)
        if (st->shape[d] != pt->shape[d]) return 0;
    return 1;
}

static int shape_error(const SafeFile *f, const SafeTensor *st, const ParamTensor *pt) {
    char got[128], want[128];
    int64_t w[2] = {pt->shape[0], pt->shape[1]};
    shape_str(got, sizeof got, st->ndim, st->shape);
    shape_str(want, sizeof want, pt->ndim, w);
    return err_set("%s: tensor \"%s\" has shape %s but config.json implies %s", f->label, st->name, got, want);
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

// A NaN or infinity in the weights would surface steps later as "logit 0 is
// nan"; refused at load, naming the tensor, the element and the file.
static int check_finite(const SafeFile *f, const ParamTensor *pt, const float *p) {
    for (size_t j = 0; j < pt->numel; j++)
        if (!isfinite(p[j]))
            return err_set("%s: tensor \"%s\" holds %s at element %zu: the weights are damaged", f->label, pt->name,
                           isnan(p[j]) ? "NaN" : "an infinity", j);
    return 0;
}

static int check_finite16(const SafeFile *f, const ParamTensor *pt, const uint16_t *h) {
    for (size_t j = 0; j < pt->numel; j++)
        if ((h[j] & 0x7f80u) == 0x7f80u)
            return err_set("%s: tensor \"%s\" holds %s at element %zu: the weights are damaged", f->label, pt->name,
                           h[j] & 0x7fu ? "NaN" : "an infinity", j);
    return 0;
}

// A BF16 matrix of a mapped file that a model held in bf16 only can use in
// place: the data then never leaves the file's pages.
static int can_map(const Model *m, const SafeFile *f, const SafeTensor *st) {
    return m->bf16_only && st->ndim == 2 && st->dtype == ST_BF16 && f->mapped &&
           (uintptr_t)(f->data + st->begin) % sizeof(uint16_t) == 0;
}

// Returns the number of tensors used in place from their file, or -1.
static int load_weights(Model *m, Shards *s, const cJSON *map, const char *dir) {
    int in_place = 0;
    const cJSON *wm = map ? cJSON_GetObjectItemCaseSensitive(map, "weight_map") : NULL;
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamTensor *pt = &m->tensors[i];
        int fi = 0;
        if (wm) {
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(wm, pt->name);
            if (!e) return err_set("%s/%s: missing tensor \"%s\" in weight_map", dir, INDEX_NAME, pt->name);
            fi = shard_index(s, e->valuestring);
        }
        SafeFile *f = &s->files[fi];
        const SafeTensor *st = safetensors_find(f, pt->name);
        if (!st) {
            char want[128];
            int64_t w[2] = {pt->shape[0], pt->shape[1]};
            shape_str(want, sizeof want, pt->ndim, w);
            return err_set("%s: missing tensor \"%s\" (shape %s)", f->label, pt->name, want);
        }
        if (!same_shape(st, pt)) return shape_error(f, st, pt);
        if (can_map(m, f, st)) {
            m->w16_at[i] = (uint16_t *)(f->data + st->begin);
            if (check_finite16(f, pt, m->w16_at[i]) != 0) return -1;
            in_place++;
            f->tensors[st - f->tensors].used = 1;
            continue;
        }
        if (m->bf16_only && pt->ndim == 2) {
            if (safetensors_read_bf16(f, st, m->w16 + pt->offset) != 0) return -1;
            if (check_finite16(f, pt, m->w16 + pt->offset) != 0) return -1;
        } else {
            if (safetensors_read_f32(f, st, m->params + pt->offset) != 0) return -1;
            if (check_finite(f, pt, m->params + pt->offset) != 0) return -1;
        }
        safetensors_release(f, st);
        f->tensors[st - f->tensors].used = 1;
    }
    // Whatever is left must be something transformers itself would ignore.
    for (int fi = 0; fi < s->n; fi++) {
        const SafeFile *f = &s->files[fi];
        for (int j = 0; j < f->n; j++) {
            const SafeTensor *st = &f->tensors[j];
            if (st->used || ends_with(st->name, "rotary_emb.inv_freq")) continue;
            if (m->cfg.tie_embeddings && strcmp(st->name, "lm_head.weight") == 0) {
                const ParamTensor *emb = &m->tensors[0];
                if (!same_shape(st, emb)) return shape_error(f, st, emb);
                continue;
            }
            return err_set("%s: unexpected tensor \"%s\" (not part of a %s model with this config.json)",
                           f->label, st->name, m->cfg.model_type);
        }
    }
    return in_place;
}

// with_grads: 1 with gradients, 0 without, -1 held in bf16 only (model_create_bf16).
static int load_dir(Model *m, const char *dir, int with_grads) {
    memset(m, 0, sizeof *m);
    if (!path_is_dir(dir)) return err_set("%s: not a model directory", dir);
    ModelConfig cfg;
    if (model_config_load(&cfg, dir) != 0) return -1;
    Shards s;
    cJSON *map = NULL;
    int rc = shards_open(&s, dir, &map);
    if (rc == 0 && (rc = with_grads < 0 ? model_create_bf16(m, &cfg) : model_create(m, &cfg, with_grads)) != 0)
        err_wrap("%s/config.json", dir);
    if (rc == 0) {
        int in_place = load_weights(m, &s, map, dir);
        if (in_place < 0) {
            rc = -1;
            model_free(m);
        } else if (in_place > 0) {
            // The model reads those tensors from the files: it keeps them mapped.
            m->maps = s.files, m->n_maps = s.n;
            s.files = NULL, s.n = 0;
        }
    }
    shards_close(&s);
    cJSON_Delete(map);
    return rc;
}

int model_load(Model *m, const char *dir, int with_grads) { return load_dir(m, dir, with_grads != 0); }

int model_load_bf16(Model *m, const char *dir) { return load_dir(m, dir, -1); }

int model_load_frozen(Model *m, const char *dir) {
    return load_dir(m, dir, model_precision_get() == PRECISION_BF16 ? -1 : 0);
}

// ---------------------------------------------------------------- saving

static void remove_in(const char *dir, const char *name) {
    char p[4096];
    if (path_join(p, sizeof p, dir, name) == 0) unlink(p);
}

// Remove an index and the shards it lists (a single-file save replaces them).
static void remove_sharded(const char *dir) {
    char p[4096];
    if (path_join(p, sizeof p, dir, INDEX_NAME) != 0 || !path_exists(p)) return;
    char *text = file_read_all(p, NULL);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    for (const cJSON *e = cJSON_IsObject(wm) ? wm->child : NULL; e; e = e->next)
        if (cJSON_IsString(e) && !strchr(e->valuestring, '/') && strcmp(e->valuestring, SINGLE_NAME) != 0)
            remove_in(dir, e->valuestring);
    cJSON_Delete(root);
    remove_in(dir, INDEX_NAME);
}

static int write_index(const char *dir, const Model *m, const SafeItem *items, const int *shard_of, int n_shards,
                       size_t total) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    cJSON_AddNumberToObject(meta, "total_size", (double)total);
    cJSON *wm = cJSON_AddObjectToObject(root, "weight_map");
    char name[64];
    for (int i = 0; i < m->n_tensors; i++) {
        snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", shard_of[i] + 1, n_shards);
        cJSON_AddStringToObject(wm, items[i].name, name);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return err_set("out of memory");
    char p[4096];
    int rc = path_join(p, sizeof p, dir, INDEX_NAME) == 0 ? file_write_atomic(p, text, strlen(text)) : -1;
    free(text);
    return rc;
}

int model_save_sharded(const Model *m, const char *dir, SafeDtype dtype, size_t shard_bytes) {
    if (dtype != ST_F32 && dtype != ST_BF16) return err_set("%s: models are saved as F32 or BF16", dir);
    if (mkdir_p(dir) != 0) return -1;
    SafeItem *items = calloc((size_t)m->n_tensors, sizeof *items);
    int *shard_of = calloc((size_t)m->n_tensors, sizeof *shard_of);
    if (!items || !shard_of) {
        free(items);
        free(shard_of);
        return err_set("out of memory");
    }
    // Greedy split in layout order; a tensor larger than the limit gets a shard alone.
    int n_shards = 1;
    size_t in_shard = 0, total = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        items[i] = (SafeItem){.name = t->name, .ndim = t->ndim, .data = m->params + t->offset};
        if (m->bf16_only && t->ndim == 2) items[i].data = NULL, items[i].data16 = m->w16_at[i];
        for (int d = 0; d < t->ndim; d++) items[i].shape[d] = t->shape[d];
        size_t bytes = t->numel * safetensors_dtype_size(dtype);
        if (shard_bytes && in_shard > 0 && in_shard + bytes > shard_bytes) {
            n_shards++;
            in_shard = 0;
        }
        shard_of[i] = n_shards - 1;
        in_shard += bytes;
        total += bytes;
    }
    if (!shard_bytes || total <= shard_bytes) n_shards = 1;
    char p[4096], name[64];
    int rc = 0;
    if (n_shards == 1) {
        rc = path_join(p, sizeof p, dir, SINGLE_NAME) == 0 ? safetensors_write(p, items, m->n_tensors, dtype, NULL) : -1;
        if (rc == 0) remove_sharded(dir);
    } else {
        for (int sh = 0, first = 0; sh < n_shards && rc == 0; sh++) {
            int last = first;
            while (last < m->n_tensors && shard_of[last] == sh) last++;
            snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", sh + 1, n_shards);
            rc = path_join(p, sizeof p, dir, name) == 0 ? safetensors_write(p, items + first, last - first, dtype, NULL) : -1;
            first = last;
        }
        if (rc == 0) rc = write_index(dir, m, items, shard_of, n_shards, total);
        if (rc == 0) remove_in(dir, SINGLE_NAME);
    }
    free(items);
    free(shard_of);
    if (rc == 0) {
        rc = path_join(p, sizeof p, dir, "config.json") == 0 ? model_config_save_dtype(&m->cfg, p, dtype) : -1;
    }
    return rc;
}

int model_save(const Model *m, const char *dir, SafeDtype dtype) { return model_save_sharded(m, dir, dtype, 0); }
