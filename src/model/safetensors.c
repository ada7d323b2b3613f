// safetensors reading and writing. File layout: u64 little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {...}}, then the data section. Nothing in the data section is
// read until the whole header has been checked against the file size.
#include "model/safetensors.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/sys.h"
#include "kernels/ops.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t size;
} DTYPES[ST_N_DTYPES] = {
    [ST_F32] = {"F32", 4},    [ST_BF16] = {"BF16", 2},       [ST_F16] = {"F16", 2},
    [ST_F64] = {"F64", 8},    [ST_I64] = {"I64", 8},         [ST_I32] = {"I32", 4},
    [ST_I16] = {"I16", 2},    [ST_I8] = {"I8", 1},           [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1},  [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *safetensors_dtype_name(SafeDtype d) {
    return (unsigned)d < ST_N_DTYPES ? DTYPES[d].name : "?";
}

size_t safetensors_dtype_size(SafeDtype d) { return (unsigned)d < ST_N_DTYPES ? DTYPES[d].size : 0; }

// ---------------------------------------------------------------- scalars

float safetensors_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

// Round to nearest, ties to even; NaN stays a (quiet) NaN.
uint16_t safetensors_f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

// IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
float safetensors_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, mant = h & 0x3ff, u;
    if (e == 0x1f) {
        u = sign | 0x7f800000u | (mant << 13);
    } else if (e == 0) {
        float v = ldexpf((float)mant, -24);   // zero or subnormal: mant * 2^-24
        return sign ? -v : v;
    } else {
        u = sign | ((e + 112u) << 23) | (mant << 13);
    }
    float x;
    memcpy(&x, &u, 4);
    return x;
}

// ---------------------------------------------------------------- reading

static int fail(const SafeFile *f, const char *tensor, const char *msg, const char *detail) {
    if (tensor)
        return err_set("%s: tensor \"%s\": %s%s", f->label, tensor, msg, detail ? detail : "");
    return err_set("%s: %s%s", f->label, msg, detail ? detail : "");
}

// A JSON number that is an exact non-negative integer below 2^53.
static int json_size(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0) || d > 9007199254740992.0 || d != floor(d)) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const SafeTensor *)a)->name, ((const SafeTensor *)b)->name);
}

static int by_begin(const void *a, const void *b) {
    const SafeTensor *x = *(SafeTensor *const *)a, *y = *(SafeTensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

// Fill t from one header entry; all checks that need only the entry itself.
static int parse_entry(SafeFile *f, SafeTensor *t, const cJSON *e) {
    const char *name = t->name;
    if (!cJSON_IsObject(e)) return fail(f, name, "header entry is not an object", NULL);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt)) return fail(f, name, "missing string \"dtype\"", NULL);
    t->dtype = ST_N_DTYPES;
    for (int d = 0; d < ST_N_DTYPES; d++)
        if (strcmp(dt->valuestring, DTYPES[d].name) == 0) t->dtype = (SafeDtype)d;
    if (t->dtype == ST_N_DTYPES) return fail(f, name, "unknown dtype ", dt->valuestring);
    if (!cJSON_IsArray(sh)) return fail(f, name, "missing array \"shape\"", NULL);
    int nd = cJSON_GetArraySize(sh);
    if (nd > SAFETENSORS_MAX_DIMS) return fail(f, name, "shape has more than 8 dimensions", NULL);
    t->ndim = nd;
    uint64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        uint64_t s;
        if (json_size(cJSON_GetArrayItem(sh, i), &s) != 0)
            return fail(f, name, "shape entries must be non-negative integers", NULL);
        if (s && numel > (UINT64_MAX >> 4) / s) return fail(f, name, "shape is too large", NULL);
        numel *= s;
        t->shape[i] = (int64_t)s;
    }
    uint64_t b, en;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        json_size(cJSON_GetArrayItem(off, 0), &b) != 0 || json_size(cJSON_GetArrayItem(off, 1), &en) != 0)
        return fail(f, name, "\"data_offsets\" must be [begin, end] with integers", NULL);
    if (b > en) return fail(f, name, "data_offsets begin > end", NULL);
    if (en > f->data_size) return fail(f, name, "data_offsets reach past the end of the file (truncated?)", NULL);
    if (numel * DTYPES[t->dtype].size != en - b) {
        char why[160];
        snprintf(why, sizeof why, "%llu elements of %s need %llu bytes but data_offsets span %llu",
                 (unsigned long long)numel, DTYPES[t->dtype].name,
                 (unsigned long long)(numel * DTYPES[t->dtype].size), (unsigned long long)(en - b));
        return fail(f, name, "shape disagrees with data_offsets: ", why);
    }
    t->numel = (size_t)numel;
    t->begin = (size_t)b;
    t->end = (size_t)en;
    return 0;
}

static int parse_header(SafeFile *f, cJSON *root) {
    if (!cJSON_IsObject(root)) return fail(f, NULL, "header is not a JSON object", NULL);
    int n = 0;
    size_t name_bytes = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) continue;
        n++;
        name_bytes += strlen(e->string) + 1;
    }
    f->tensors = calloc((size_t)n + 1, sizeof *f->tensors);
    f->names = malloc(name_bytes + 1);
    if (!f->tensors || !f->names) return err_set("%s: out of memory for the header", f->label);
    char *np = f->names;
    int i = 0, have_meta = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (have_meta++) return fail(f, NULL, "\"__metadata__\" appears twice", NULL);
            if (!cJSON_IsObject(e)) return fail(f, NULL, "\"__metadata__\" is not an object", NULL);
            for (const cJSON *m = e->child; m; m = m->next)
                if (!cJSON_IsString(m)) return fail(f, NULL, "\"__metadata__\" values must be strings: ", m->string);
            f->metadata = cJSON_PrintUnformatted(e);
            if (!f->metadata) return err_set("%s: out of memory", f->label);
            continue;
        }
        SafeTensor *t = &f->tensors[i++];
        size_t len = strlen(e->string) + 1;
        memcpy(np, e->string, len);
        t->name = np;
        np += len;
        if (parse_entry(f, t, e) != 0) return -1;
    }
    f->n = n;
    qsort(f->tensors, (size_t)n, sizeof *f->tensors, by_name);
    for (i = 1; i < n; i++)
        if (strcmp(f->tensors[i - 1].name, f->tensors[i].name) == 0)
            return fail(f, f->tensors[i].name, "name appears twice in the header", NULL);
    // No two non-empty byte spans may overlap.
    SafeTensor **order = malloc(((size_t)n + 1) * sizeof *order);
    if (!order) return err_set("%s: out of memory", f->label);
    for (i = 0; i < n; i++) order[i] = &f->tensors[i];
    qsort(order, (size_t)n, sizeof *order, by_begin);
    const SafeTensor *prev = NULL;
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        if (order[i]->begin == order[i]->end) continue;
        if (prev && order[i]->begin < prev->end) {
            err_set("%s: tensors \"%s\" and \"%s\" overlap in the data section", f->label, prev->name,
                    order[i]->name);
            rc = -1;
        }
        prev = order[i];
    }
    free(order);
    return rc;
}

// The offset of the first header string holding a "\u0000" escape, or -1.
// cJSON keeps such a string only up to the NUL, so "a\u0000b" would become
// "a" and surface later as a missing tensor instead of a bad header.
static long nul_string(const char *s, size_t n) {
    long start = -1;
    for (size_t i = 0; i < n; i++) {
        if (start < 0) {
            if (s[i] == '"') start = (long)i;
        } else if (s[i] == '\\') {
            if (i + 5 < n && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0) return start;
            i++;
        } else if (s[i] == '"') {
            start = -1;
        }
    }
    return -1;
}

int safetensors_parse(SafeFile *f, const uint8_t *bytes, size_t size, const char *label) {
    memset(f, 0, sizeof *f);
    snprintf(f->label, sizeof f->label, "%s", label);
    f->bytes = bytes;
    f->size = size;
    if (size < 8) return fail(f, NULL, "file is shorter than the 8-byte header length (truncated?)", NULL);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | bytes[i];
    if (hlen < 2 || hlen > SAFETENSORS_MAX_HEADER || hlen > size - 8) {
        char why[128];
        snprintf(why, sizeof why, " (%llu bytes, file has %zu)", (unsigned long long)hlen, size);
        return fail(f, NULL, "header length is invalid or larger than the file", why);
    }
    f->data = bytes + 8 + hlen;
    f->data_size = size - 8 - (size_t)hlen;
    const char *text = (const char *)bytes + 8;
    long bad = nul_string(text, (size_t)hlen);
    if (bad >= 0) {
        const char *q = memchr(text + bad + 1, '"', (size_t)hlen - (size_t)bad - 1);
        int len = q ? (int)(q - text - bad - 1) : 0;
        return err_set("%s: header string \"%.*s\" holds a NUL character (\\u0000); names must not", f->label,
                       len < 120 ? len : 120, text + bad + 1);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)bytes + 8, (size_t)hlen, &end, 0);
    if (!root) return fail(f, NULL, "header is not valid JSON", NULL);
    for (const char *p = end; p < (const char *)bytes + 8 + hlen; p++)
        if (*p != ' ' && *p != '\0') {
            cJSON_Delete(root);
            return fail(f, NULL, "header has bytes after its JSON object", NULL);
        }
    int rc = parse_header(f, root);
    cJSON_Delete(root);
    if (rc != 0) {
        free(f->tensors);
        free(f->names);
        free(f->metadata);
        memset(f, 0, sizeof *f);
    }
    return rc;
}

int safetensors_open(SafeFile *f, const char *path) {
    memset(f, 0, sizeof *f);
    size_t size;
    int fd = file_open_regular(path, &size);
    if (fd < 0) return -1;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            close(fd);
            return err_set("%s: cannot map: %s", path, strerror(errno));
        }
    }
    close(fd);
    static const uint8_t empty[1];
    if (safetensors_parse(f, map ? map : empty, size, path) != 0) {
        if (map) munmap(map, size);
        return -1;
    }
    f->mapped = map != NULL;
    return 0;
}

void safetensors_close(SafeFile *f) {
    if (f->mapped) munmap((void *)f->bytes, f->size);
    free(f->tensors);
    free(f->names);
    free(f->metadata);
    memset(f, 0, sizeof *f);
}

const SafeTensor *safetensors_find(const SafeFile *f, const char *name) {
    SafeTensor key = {.name = (char *)name};
    if (f->n == 0) return NULL;
    return bsearch(&key, f->tensors, (size_t)f->n, sizeof key, by_name);
}

int safetensors_meta_get(const SafeFile *f, const char *key, char *out, size_t cap) {
    if (!f->metadata) return -1;
    cJSON *m = cJSON_Parse(f->metadata);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, key);
    int rc = -1;
    if (cJSON_IsString(v) && strlen(v->valuestring) < cap) {
        memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
        rc = 0;
    }
    cJSON_Delete(m);
    return rc;
}

// The data section may be unaligned, so every element goes through memcpy.
int safetensors_read_f32(const SafeFile *f, const SafeTensor *t, float *out) {
    const uint8_t *p = f->data + t->begin;
    size_t n = t->numel;
    switch (t->dtype) {
    case ST_F32:
        memcpy(out, p, n * 4);
        return 0;
    case ST_BF16:
    case ST_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            out[i] = t->dtype == ST_BF16 ? safetensors_bf16_to_f32(h) : safetensors_f16_to_f32(h);
        }
        return 0;
    case ST_F64:
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, p + 8 * i, 8);
            out[i] = (float)d;
        }
        return 0;
    default:
        return err_set("%s: tensor \"%s\": dtype %s cannot be read as float32", f->label, t->name,
                       DTYPES[t->dtype].name);
    }
}

int safetensors_read_bf16(const SafeFile *f, const SafeTensor *t, uint16_t *out) {
    const uint8_t *p = f->data + t->begin;
    size_t n = t->numel;
    if (t->dtype == ST_BF16) {
        memcpy(out, p, n * 2);
        return 0;
    }
    // Wider types through float32, a span at a time.
    enum { SPAN = 4096 };
    float buf[SPAN];
    size_t w = safetensors_dtype_size(t->dtype);
    for (size_t i0 = 0; i0 < n; i0 += SPAN) {
        SafeTensor part = *t;
        part.numel = n - i0 < SPAN ? n - i0 : SPAN;
        part.begin = t->begin + i0 * w;
        if (safetensors_read_f32(f, &part, buf) != 0) return -1;
        for (size_t i = 0; i < part.numel; i++) out[i0 + i] = bf16_of(buf[i]);
    }
    return 0;
}

void safetensors_release(const SafeFile *f, const SafeTensor *t) {
    if (f->mapped) mem_release_pages(f->data + t->begin, t->numel * safetensors_dtype_size(t->dtype));
}

// ---------------------------------------------------------------- writing

static size_t item_numel(const SafeItem *it) {
    size_t n = 1;
    for (int d = 0; d < it->ndim; d++) n *= (size_t)it->shape[d];
    return n;
}

// The dtype item is written in, in a file of dtype.
static SafeDtype item_dtype(const SafeItem *it, SafeDtype dtype) {
    return !it->data && !it->data16 && it->data8 ? ST_U8 : dtype;
}

size_t safetensors_data_bytes(const SafeItem *items, int n, SafeDtype dtype) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += item_numel(&items[i]) * DTYPES[item_dtype(&items[i], dtype)].size;
    return total;
}

static char *make_header(const SafeItem *items, int n, SafeDtype dtype, const char *metadata_json,
                         size_t *len) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = metadata_json ? cJSON_Parse(metadata_json) : NULL;
    if (!meta) {
        meta = cJSON_CreateObject();
        cJSON_AddStringToObject(meta, "format", "pt");
    }
    cJSON_AddItemToObject(root, "__metadata__", meta);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(root, items[i].name);
        SafeDtype dt = item_dtype(&items[i], dtype);
        cJSON_AddStringToObject(e, "dtype", DTYPES[dt].name);
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < items[i].ndim; d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)items[i].shape[d]));
        size_t bytes = item_numel(&items[i]) * DTYPES[dt].size;
        cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + bytes)));
        off += bytes;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) return NULL;
    // Pad with spaces so the data section starts 8-byte aligned.
    size_t jl = strlen(json), padded = (jl + 7) & ~(size_t)7;
    char *h = realloc(json, padded + 1);
    if (!h) {
        free(json);
        return NULL;
    }
    memset(h + jl, ' ', padded - jl);
    h[padded] = 0;
    *len = padded;
    return h;
}

int safetensors_write(const char *path, const SafeItem *items, int n, SafeDtype dtype,
                      const char *metadata_json) {
    if (dtype != ST_F32 && dtype != ST_BF16)
        return err_set("%s: aha writes safetensors as F32 or BF16 only", path);
    if (metadata_json) {
        cJSON *m = cJSON_Parse(metadata_json);
        int ok = cJSON_IsObject(m);
        cJSON_Delete(m);
        if (!ok) return err_set("%s: metadata is not a JSON object", path);
    }
    size_t hlen;
    char *header = make_header(items, n, dtype, metadata_json, &hlen);
    if (!header) return err_set("%s: out of memory building the header", path);
    AtomicFile af;
    if (atomic_open(&af, path) != 0) {
        free(header);
        return -1;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    int ok = fwrite(len8, 1, 8, af.f) == 8 && fwrite(header, 1, hlen, af.f) == hlen;
    free(header);
    enum { CHUNK = 1 << 15 };
    _Alignas(float) uint16_t buf[CHUNK];
    for (int i = 0; ok && i < n; i++) {
        size_t numel = item_numel(&items[i]);
        const float *x = items[i].data;
        const uint16_t *h = items[i].data16;
        if (item_dtype(&items[i], dtype) == ST_U8) {
            ok = fwrite(items[i].data8, 1, numel, af.f) == numel;
            continue;
        }
        if (dtype == ST_F32 && x) {
            ok = fwrite(x, 4, numel, af.f) == numel;
            continue;
        }
        if (dtype == ST_BF16 && !x) {
            ok = fwrite(h, 2, numel, af.f) == numel;
            continue;
        }
        for (size_t j = 0; ok && j < numel; j += CHUNK / 2) {
            size_t k = numel - j < CHUNK / 2 ? numel - j : CHUNK / 2;
            if (x) {
                for (size_t q = 0; q < k; q++) buf[q] = safetensors_f32_to_bf16(x[j + q]);
                ok = fwrite(buf, 2, k, af.f) == k;
            } else {
                float *wide = (float *)buf;   // bf16 to F32: the bits shifted up, exact
                for (size_t q = 0; q < k; q++) wide[q] = safetensors_bf16_to_f32(h[j + q]);
                ok = fwrite(wide, 4, k, af.f) == k;
            }
        }
    }
    if (!ok) {
        atomic_abort(&af);
        return err_set("%s: write failed: %s", path, strerror(errno));
    }
    return atomic_commit(&af);
}
