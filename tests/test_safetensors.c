// safetensors reader/writer and model directory load/save: bit-exact F32
// round trips, BF16/F16 conversion against hand-computed values, and every
// malformed file refused with a message naming the file and tensor.
#include "test.h"

#include "base/err.h"
#include "base/fileio.h"
#include "model/io.h"
#include "model/safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tmp(const char *name) {
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

static float bits_f(uint32_t u) {
    float x;
    memcpy(&x, &u, 4);
    return x;
}

static void test_scalars(void) {
    // bf16: truncation with round-to-nearest-even on the 16 dropped bits.
    CHECK(safetensors_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(safetensors_f32_to_bf16(bits_f(0x3f808000)) == 0x3f80, "tie rounds to even (down)");
    CHECK(safetensors_f32_to_bf16(bits_f(0x3f818000)) == 0x3f82, "tie rounds to even (up)");
    CHECK(safetensors_f32_to_bf16(bits_f(0x3f808001)) == 0x3f81, "above half rounds up");
    CHECK(safetensors_f32_to_bf16(bits_f(0x7f7fffff)) == 0x7f80, "max float rounds to inf");
    CHECK(safetensors_f32_to_bf16(-2.5f) == 0xc020);
    uint16_t nan = safetensors_f32_to_bf16(bits_f(0x7f800001));
    CHECK((nan & 0x7f80) == 0x7f80 && (nan & 0x7f), "NaN stays NaN (%04x)", nan);
    CHECK(safetensors_bf16_to_f32(0xc020) == -2.5f);
    // f16 decoding of normal, subnormal, extreme and special values.
    CHECK(safetensors_f16_to_f32(0x3c00) == 1.0f);
    CHECK(safetensors_f16_to_f32(0xc000) == -2.0f);
    CHECK(safetensors_f16_to_f32(0x7bff) == 65504.0f);
    CHECK(safetensors_f16_to_f32(0x0400) == ldexpf(1, -14));
    CHECK(safetensors_f16_to_f32(0x0001) == ldexpf(1, -24));
    CHECK(safetensors_f16_to_f32(0x83ff) == -ldexpf(1023, -24));
    CHECK(safetensors_f16_to_f32(0x3555) == 0x155 * ldexpf(1, -12) + 0.25f);
    CHECK(isinf(safetensors_f16_to_f32(0xfc00)) && safetensors_f16_to_f32(0xfc00) < 0);
    CHECK(isnan(safetensors_f16_to_f32(0x7e00)));
}

static void test_roundtrip(void) {
    enum { A = 3 * 5, B = 7 };
    float a[A], b[B];
    for (int i = 0; i < A; i++) a[i] = (float)(i * 0.37 - 2) * 1e-3f + bits_f(0x00000001u * (uint32_t)i);
    for (int i = 0; i < B; i++) b[i] = (float)i / 3.0f;
    a[4] = -0.0f;
    SafeItem items[] = {{"layer.a", 2, {3, 5}, a, NULL, NULL}, {"b", 1, {B}, b, NULL, NULL}, {"empty", 2, {0, 4}, a, NULL, NULL}};
    CHECK(safetensors_write(tmp("a.safetensors"), items, 3, ST_F32, NULL) == 0, "%s", err_msg());
    SafeFile f;
    CHECK(safetensors_open(&f, tmp("a.safetensors")) == 0, "%s", err_msg());
    CHECK(f.n == 3);
    const SafeTensor *t = safetensors_find(&f, "layer.a");
    CHECK(t && t->dtype == ST_F32 && t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 5);
    float got[A];
    CHECK(t && safetensors_read_f32(&f, t, got) == 0);
    CHECK(memcmp(got, a, sizeof a) == 0, "F32 round trip is bit-exact");
    t = safetensors_find(&f, "empty");
    CHECK(t && t->numel == 0 && t->begin == t->end);
    CHECK(safetensors_find(&f, "nope") == NULL);
    char fmt[16];
    CHECK(safetensors_meta_get(&f, "format", fmt, sizeof fmt) == 0 && strcmp(fmt, "pt") == 0);
    CHECK((size_t)(f.data - f.bytes) % 8 == 0, "data section is 8-byte aligned");
    safetensors_close(&f);

    CHECK(safetensors_write(tmp("b.safetensors"), items, 2, ST_BF16, "{\"step\":\"7\"}") == 0, "%s", err_msg());
    CHECK(safetensors_open(&f, tmp("b.safetensors")) == 0, "%s", err_msg());
    t = safetensors_find(&f, "b");
    float gb[B];
    CHECK(t && t->dtype == ST_BF16 && safetensors_read_f32(&f, t, gb) == 0);
    for (int i = 0; i < B; i++) {
        // Independent rounding: nearest bf16 by comparing both candidates.
        uint32_t u;
        memcpy(&u, &b[i], 4);
        float lo = bits_f(u & 0xffff0000u), hi = bits_f((u & 0xffff0000u) + 0x10000u);
        float want = fabsf(b[i] - lo) < fabsf(hi - b[i]) ? lo : fabsf(b[i] - lo) > fabsf(hi - b[i]) ? hi
                     : ((u >> 16) & 1) ? hi : lo;
        CHECK(gb[i] == want, "bf16 of %g: got %g want %g", b[i], gb[i], want);
    }
    CHECK(safetensors_meta_get(&f, "step", fmt, sizeof fmt) == 0 && strcmp(fmt, "7") == 0);
    safetensors_close(&f);
}

// Builds a file image from a header string and a data size.
static size_t image(uint8_t *buf, size_t cap, const char *json, size_t data_bytes, uint64_t hlen_override) {
    size_t n = strlen(json);
    uint64_t h = hlen_override ? hlen_override : n;
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)(h >> (8 * i));
    memcpy(buf + 8, json, n);
    AHA_ASSERT(8 + n + data_bytes <= cap);
    memset(buf + 8 + n, 0x3f, data_bytes);
    return 8 + n + data_bytes;
}

static void expect_bad(const char *json, size_t data, uint64_t hlen, const char *needle) {
    uint8_t buf[1024];
    size_t n = image(buf, sizeof buf, json, data, hlen);
    SafeFile f;
    int rc = safetensors_parse(&f, buf, n, "x.safetensors");
    CHECK(rc == -1, "accepted: %s", json);
    if (rc == 0) {
        safetensors_close(&f);
        return;
    }
    CHECK(strstr(err_msg(), "x.safetensors") && strstr(err_msg(), needle), "message '%s' lacks '%s'", err_msg(),
          needle);
}

static void test_malformed(void) {
    const char *ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    uint8_t buf[1024];
    SafeFile f;
    size_t n = image(buf, sizeof buf, ok, 8, 0);
    CHECK(safetensors_parse(&f, buf, n, "x") == 0, "%s", err_msg());
    safetensors_close(&f);
    CHECK(safetensors_parse(&f, buf, n - 1, "x.safetensors") == -1, "truncated data accepted");
    CHECK(strstr(err_msg(), "\"w\"") && strstr(err_msg(), "past the end"), "%s", err_msg());
    CHECK(safetensors_parse(&f, buf, 5, "x.safetensors") == -1 && strstr(err_msg(), "shorter"));
    expect_bad(ok, 8, 1u << 20, "header length");
    expect_bad(ok, 8, (uint64_t)1 << 62, "header length");
    expect_bad(ok, 8, 1, "header length");
    expect_bad("{\"w\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, "unknown dtype F33");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, 0, "shape disagrees");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, 0, "non-negative");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, 0, "non-negative");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}",
               8, 0, "too large");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, 0, "begin > end");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, 0, "data_offsets");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, 0, "data_offsets");
    expect_bad("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, 0, "dtype");
    expect_bad("{\"w\":[1]}", 8, 0, "not an object");
    expect_bad("[1,2]", 8, 0, "not a JSON object");
    expect_bad("{\"w\":{\"dtype\":\"F32\"", 8, 0, "not valid JSON");
    expect_bad("{} xx", 8, 0, "after its JSON");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, 0, "overlap");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
               12, 0, "twice");
    expect_bad("{\"__metadata__\":{\"a\":1}}", 0, 0, "strings");
    // A NUL inside a name is refused at parse time, naming the name, not reported as a missing tensor later.
    expect_bad("{\"model.embed\\u0000_tokens.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
               8, 0, "\"model.embed\\u0000_tokens.weight\" holds a NUL");
    CHECK(safetensors_parse(&f, (const uint8_t *)"\x10\0\0\0\0\0\0\0{\"a\\\\u0000\":{}} ", 24, "x") == -1 &&
              !strstr(err_msg(), "NUL"),
          "an escaped backslash before u0000 is no NUL: %s", err_msg());
    // A FIFO is refused at once instead of blocking the open until a writer comes.
    CHECK(mkfifo(tmp("fifo.safetensors"), 0600) == 0);
    CHECK(safetensors_open(&f, tmp("fifo.safetensors")) == -1 && strstr(err_msg(), "fifo.safetensors: not a regular file"),
          "%s", err_msg());
    CHECK(safetensors_open(&f, tmp("does-not-exist")) == -1 && strstr(err_msg(), "does-not-exist"));
    // A file cut short on disk: the same check through open().
    CHECK(file_write_atomic(tmp("cut.safetensors"), buf, n - 3) == 0);
    CHECK(safetensors_open(&f, tmp("cut.safetensors")) == -1 && strstr(err_msg(), "cut.safetensors"), "%s",
          err_msg());
}

static ModelConfig tiny(const char *type) {
    ModelConfig c = {0};
    snprintf(c.model_type, sizeof c.model_type, "%s", type);
    c.vocab_size = 37;
    c.hidden_size = 12;
    c.n_layers = 2;
    c.n_heads = 3;
    c.n_kv_heads = 1;
    c.head_dim = strcmp(type, "qwen3") == 0 ? 6 : 4;
    c.intermediate_size = 20;
    c.max_position = 64;
    c.rope_theta = 10000;
    c.rms_eps = 1e-6;
    c.tie_embeddings = strcmp(type, "qwen2") == 0;
    c.attn_bias = strcmp(type, "qwen2") == 0;
    c.qk_norm = strcmp(type, "qwen3") == 0;
    c.bos_token_id = -1;
    c.eos_token_ids[0] = 2;
    c.n_eos = 1;
    return c;
}

static void test_model_dir(const char *type) {
    ModelConfig c = tiny(type);
    Model m, r;
    CHECK(model_create(&m, &c, 0) == 0, "%s", err_msg());
    model_init_random(&m, 11, 0.5f);
    for (size_t i = 0; i < m.n_params; i++) m.params[i] += (float)i * 1e-4f;   // biases and norms too
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tmp(type));
    CHECK(model_save(&m, dir, ST_F32) == 0, "%s", err_msg());
    CHECK(model_load(&r, dir, 1) == 0, "%s", err_msg());
    CHECK(r.n_params == m.n_params && memcmp(r.params, m.params, m.n_params * 4) == 0, "%s: bit-exact", type);
    CHECK(r.grads != NULL && r.cfg.tie_embeddings == c.tie_embeddings && r.cfg.head_dim == c.head_dim);
    model_free(&r);

    // Sharded BF16: every value equals its bf16 rounding, the single file is gone.
    CHECK(model_save_sharded(&m, dir, ST_BF16, 600) == 0, "%s", err_msg());
    char p[600];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    CHECK(!path_exists(p), "stale single file removed");
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    CHECK(path_exists(p));
    CHECK(model_load(&r, dir, 0) == 0, "%s", err_msg());
    int bad = 0;
    for (size_t i = 0; i < m.n_params; i++)
        bad += r.params[i] != safetensors_bf16_to_f32(safetensors_f32_to_bf16(m.params[i]));
    CHECK(bad == 0, "%s: %d bf16 values differ", type, bad);
    model_free(&r);
    // Back to one F32 file: the index goes away and the load is exact again.
    CHECK(model_save(&m, dir, ST_F32) == 0, "%s", err_msg());
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    CHECK(!path_exists(p), "stale index removed");
    CHECK(model_load(&r, dir, 0) == 0 && memcmp(r.params, m.params, m.n_params * 4) == 0, "%s", err_msg());
    model_free(&r);
    model_free(&m);
}

// Rewrite dir/model.safetensors from m's tensors with one change.
static void write_variant(const Model *m, const char *dir, const char *drop, const char *extra, int reshape) {
    SafeItem items[64];
    int n = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const ParamTensor *t = &m->tensors[i];
        if (drop && strcmp(t->name, drop) == 0) continue;
        items[n] = (SafeItem){t->name, t->ndim, {t->shape[0], t->shape[1]}, m->params + t->offset, NULL, NULL};
        if (reshape && i == 1) items[n].shape[0]--;
        n++;
    }
    if (extra) items[n++] = (SafeItem){extra, 2, {m->tensors[0].shape[0], m->tensors[0].shape[1]}, m->params, NULL, NULL};
    char p[600];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    AHA_ASSERT(safetensors_write(p, items, n, ST_F32, NULL) == 0);
}

static void test_model_refusals(void) {
    ModelConfig c = tiny("llama");
    Model m, r;
    AHA_ASSERT(model_create(&m, &c, 0) == 0);
    model_init_random(&m, 3, 0.02f);
    const char *dir = tmp("bad");
    CHECK(model_save(&m, dir, ST_F32) == 0, "%s", err_msg());
    write_variant(&m, dir, "model.layers.1.mlp.up_proj.weight", NULL, 0);
    CHECK(model_load(&r, dir, 0) == -1 && strstr(err_msg(), "missing tensor \"model.layers.1.mlp.up_proj.weight\""),
          "%s", err_msg());
    write_variant(&m, dir, NULL, "model.layers.0.self_attn.o_proj.bias", 0);
    CHECK(model_load(&r, dir, 0) == -1 && strstr(err_msg(), "unexpected tensor"), "%s", err_msg());
    write_variant(&m, dir, NULL, NULL, 1);
    CHECK(model_load(&r, dir, 0) == -1 && strstr(err_msg(), "has shape [11]") &&
              strstr(err_msg(), "implies [12]"),
          "%s", err_msg());
    write_variant(&m, dir, NULL, "model.rotary_emb.inv_freq", 0);
    CHECK(model_load(&r, dir, 0) == 0, "rotary inv_freq is ignored: %s", err_msg());
    model_free(&r);
    CHECK(model_load(&r, tmp("nowhere"), 0) == -1 && strstr(err_msg(), "nowhere"));
    model_free(&m);

    // A tied model may carry lm_head.weight.
    c = tiny("qwen2");
    AHA_ASSERT(model_create(&m, &c, 0) == 0);
    model_init_random(&m, 4, 0.02f);
    CHECK(model_save(&m, dir, ST_F32) == 0, "%s", err_msg());
    write_variant(&m, dir, NULL, "lm_head.weight", 0);
    CHECK(model_load(&r, dir, 0) == 0, "%s", err_msg());
    model_free(&r);
    model_free(&m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "%s/aha-st-%d", getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp", (int)getpid());
    AHA_ASSERT(mkdir_p(tmpdir) == 0);
    test_scalars();
    test_roundtrip();
    test_malformed();
    test_model_dir("llama");
    test_model_dir("qwen2");
    test_model_dir("qwen3");
    test_model_refusals();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return TEST_END();
}
