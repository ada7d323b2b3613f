// base/: Philox against its published known-answer vectors, keyed draws,
// stream state, arena bounds, atomic file replace, JSONL errors, paths that
// fit exactly or are refused whole (never cut), CRC-32C against the RFC 3720
// vectors.
#include "base/arena.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "base/rng.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_philox(void) {
    // Known-answer tests from the Random123 distribution (kat_vectors, philox4x32_10).
    uint32_t out[4];
    uint32_t c0[4] = {0, 0, 0, 0}, k0[2] = {0, 0};
    philox4x32(out, c0, k0);
    CHECK(out[0] == 0x6627e8d5u && out[1] == 0xe169c58du && out[2] == 0xbc57ac4cu &&
          out[3] == 0x9b00dbd8u, "zero vector: %08x %08x %08x %08x", out[0], out[1], out[2], out[3]);
    uint32_t c1[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, k1[2] = {0xffffffffu, 0xffffffffu};
    philox4x32(out, c1, k1);
    CHECK(out[0] == 0x408f276du && out[1] == 0x41c83b0eu && out[2] == 0xa20bc7c6u &&
          out[3] == 0x6d5451fdu, "ones vector: %08x %08x %08x %08x", out[0], out[1], out[2], out[3]);
    uint32_t c2[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, k2[2] = {0xa4093822u, 0x299f31d0u};
    philox4x32(out, c2, k2);
    CHECK(out[0] == 0xd16cfe09u && out[1] == 0x94fdccebu && out[2] == 0x5001e420u &&
          out[3] == 0x24126ea1u, "pi vector: %08x %08x %08x %08x", out[0], out[1], out[2], out[3]);
}

static void test_streams(void) {
    double a = rng_uniform_at(7, 1, 2, 3, 4), b = rng_uniform_at(7, 1, 2, 3, 4);
    CHECK(a == b && a >= 0 && a < 1);
    CHECK(rng_uniform_at(7, 1, 2, 3, 5) != a);
    CHECK(rng_uniform_at(8, 1, 2, 3, 4) != a);
    Rng r, s;
    rng_init(&r, 42);
    for (int i = 0; i < 10; i++) rng_u32(&r);
    s = r;   // the state is two integers: copying it resumes the stream
    CHECK(rng_u64(&r) == rng_u64(&s));
    // Uniform mean and normal moments over many draws.
    double sum = 0, sq = 0, m1 = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double x = rng_normal(&r);
        sum += x;
        sq += x * x;
        m1 += rng_uniform(&r);
    }
    CHECK(fabs(sum / n) < 0.01, "normal mean %g", sum / n);
    CHECK(fabs(sq / n - 1) < 0.02, "normal variance %g", sq / n);
    CHECK(fabs(m1 / n - 0.5) < 0.005, "uniform mean %g", m1 / n);
    int hist[3] = {0};
    for (int i = 0; i < 30000; i++) hist[rng_below(&r, 3)]++;
    for (int i = 0; i < 3; i++) CHECK(abs(hist[i] - 10000) < 500, "rng_below bucket %d: %d", i, hist[i]);
}

static void test_arena(void) {
    Arena a;
    CHECK(arena_init(&a, 1000) == 0);
    float *x = arena_alloc(&a, 100 * sizeof(float));
    float *y = arena_alloc(&a, 10);
    CHECK(x && y && ((uintptr_t)x % 64) == 0 && ((uintptr_t)y % 64) == 0);
    CHECK((char *)y >= (char *)(x + 100));
    CHECK(arena_alloc(&a, 1 << 20) == NULL && strstr(err_msg(), "arena full"));
    arena_free(&a);
}

static void test_files(void) {
    char dir[] = "/tmp/aha-base-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[256], path[300];
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    CHECK(mkdir_p(sub) == 0 && path_is_dir(sub));
    snprintf(path, sizeof path, "%s/f.txt", sub);
    CHECK(file_write_atomic(path, "old", 3) == 0);
    CHECK(file_write_atomic(path, "new text", 8) == 0);
    size_t n;
    char *s = file_read_all(path, &n);
    CHECK(s && n == 8 && strcmp(s, "new text") == 0);
    free(s);
    AtomicFile af;
    CHECK(atomic_open(&af, path) == 0);
    fputs("half-written", af.f);
    atomic_abort(&af);   // an aborted write leaves the old file
    s = file_read_all(path, &n);
    CHECK(s && strcmp(s, "new text") == 0);
    free(s);
    CHECK(file_read_all("/nonexistent/x", NULL) == NULL && strstr(err_msg(), "/nonexistent/x"));

    snprintf(path, sizeof path, "%s/d.jsonl", dir);
    const char *text = "{\"a\": 1}\n\n{\"a\": 2.5, \"s\": \"x\"}\n{broken\n";
    CHECK(file_write_atomic(path, text, strlen(text)) == 0);
    JsonlReader r;
    cJSON *v;
    CHECK(jsonl_open(&r, path) == 0);
    CHECK(jsonl_next(&r, &v) == 1);
    long i = 0;
    CHECK(json_get_int(v, "a", &i, 1) == 0 && i == 1);
    cJSON_Delete(v);
    CHECK(jsonl_next(&r, &v) == 1 && r.line == 3);
    CHECK(json_get_int(v, "a", &i, 1) == -1 && strstr(err_msg(), "\"a\""));
    const char *str = NULL;
    CHECK(json_get_string(v, "s", &str, 1) == 0 && strcmp(str, "x") == 0);
    CHECK(json_get_string(v, "missing", &str, 0) == 0 && json_get_string(v, "missing", &str, 1) == -1);
    cJSON_Delete(v);
    CHECK(jsonl_next(&r, &v) == -1 && strstr(err_msg(), ":4:"), "%s", err_msg());
    jsonl_close(&r);
    // A FIFO (or any non-regular file) is refused at once, not read until a writer comes.
    snprintf(path, sizeof path, "%s/fifo", dir);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK(file_read_all(path, NULL) == NULL && strstr(err_msg(), "fifo: not a regular file"), "%s", err_msg());
    CHECK(jsonl_open(&r, path) == -1 && strstr(err_msg(), "fifo: not a regular file"), "%s", err_msg());
    CHECK(file_open_regular(dir, NULL) == -1 && strstr(err_msg(), "not a regular file"), "a directory: %s", err_msg());
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

// path_fmt, path_join, path_sibling: a path that fits is written whole; one
// byte more is an error naming the whole path, and out is left empty.
static void test_paths(void) {
    char out[16];
    CHECK(path_join(out, sizeof out, "runs/abc", "x.json") == 0 && strcmp(out, "runs/abc/x.json") == 0, "%s", out);
    CHECK(path_join(out, sizeof out, "runs/abcd", "x.json") == -1 && out[0] == 0);
    CHECK(strstr(err_msg(), "runs/abcd/x.json") && strstr(err_msg(), "16 bytes, at most 15"), "%s", err_msg());
    CHECK(path_fmt(out, sizeof out, "%s.tmp.%d", "a/b", 12345) == 0 && strcmp(out, "a/b.tmp.12345") == 0);
    CHECK(path_sibling(out, sizeof out, "m/tok.json", "cfg.json") == 0 && strcmp(out, "m/cfg.json") == 0, "%s", out);
    CHECK(path_sibling(out, sizeof out, "tok.json", "cfg.json") == 0 && strcmp(out, "cfg.json") == 0, "%s", out);
    CHECK(path_sibling(out, sizeof out, "/tok.json", "cfg.json") == 0 && strcmp(out, "/cfg.json") == 0, "%s", out);
    CHECK(path_sibling(out, sizeof out, "models/aha/tok.json", "config.json") == -1 && out[0] == 0);
    CHECK(strstr(err_msg(), "models/aha/config.json"), "%s", err_msg());
    // A path longer than the error buffer still gives a message that starts
    // with the verdict and names the path's beginning.
    char big[5000], path[4096];
    memset(big, 'd', sizeof big - 1);
    big[sizeof big - 1] = 0;
    CHECK(path_join(path, sizeof path, big, "f") == -1 && path[0] == 0);
    CHECK(strncmp(err_msg(), "path too long (5001 bytes, at most 4095): ddd", 45) == 0, "%.80s", err_msg());
}

static void test_crc32c(void) {
    // RFC 3720 B.4 and the customary check value.
    unsigned char zeros[32] = {0}, ones[32], inc[32], dec[32];
    for (int i = 0; i < 32; i++) ones[i] = 0xff, inc[i] = (unsigned char)i, dec[i] = (unsigned char)(31 - i);
    CHECK(crc32c_update(0, "123456789", 9) == 0xe3069283u);
    CHECK(crc32c_update(0, zeros, 32) == 0x8a9136aau, "%08x", crc32c_update(0, zeros, 32));
    CHECK(crc32c_update(0, ones, 32) == 0x62a8ab43u, "%08x", crc32c_update(0, ones, 32));
    CHECK(crc32c_update(0, inc, 32) == 0x46dd794eu, "%08x", crc32c_update(0, inc, 32));
    CHECK(crc32c_update(0, dec, 32) == 0x113fdb5cu, "%08x", crc32c_update(0, dec, 32));
    CHECK(crc32c_update(0, "", 0) == 0);
    // Continuing a CRC over a split equals one pass, at every split point.
    for (int k = 0; k <= 32; k++) CHECK(crc32c_update(crc32c_update(0, inc, (size_t)k), inc + k, 32 - (size_t)k) == 0x46dd794eu);
    char path[] = "/tmp/aha_crc_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "123456789", 9) == 9);
    close(fd);
    uint32_t crc = 0;
    uint64_t size = 0;
    CHECK(crc32c_file(path, &crc, &size) == 0 && crc == 0xe3069283u && size == 9);
    unlink(path);
    CHECK(crc32c_file(path, &crc, &size) != 0 && strstr(err_msg(), path));
    CHECK(crc32c_file("/tmp", &crc, &size) != 0 && strstr(err_msg(), "not a regular file"));
}

int main(void) {
    test_crc32c();
    test_philox();
    test_streams();
    test_arena();
    test_files();
    test_paths();
    return TEST_END();
}
