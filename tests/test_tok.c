// Unit tests of tok/ under ASan/UBSan: a hand-made tokenizer.json whose encodings are
// worked out by hand, malformed files (clear errors, no crash), invalid UTF-8, NFC fast
// path against utf8proc, decode of cut-off characters, BPE training (byte-level case,
// determinism, round trip) and the prompt templates (r1zero against REFERENCE.md).
#include "test.h"

#include "base/err.h"
#include "base/fileio.h"
#include "base/rng.h"
#include "tok/template.h"
#include "tok/tokenizer.h"
#include "tok/utf8.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

// Byte-level vocabulary: the 256 byte symbols in GPT-2 order, then the given merges'
// results, as a tokenizer.json string. Merges "h e" -> 256, "l l" -> 257, "he ll" -> 258,
// "Ġ w" -> 259, "o o" -> 260. Added: <|end|> (special, 261), <x> (not special, 262,
// rstrip).
static char *tiny_json(const char *extra_top, const char *merges) {
    static char buf[65536];
    size_t w = 0;
    w += (size_t)snprintf(buf + w, sizeof buf - w,
                          "{\"version\":\"1.0\",%s\"added_tokens\":["
                          "{\"id\":261,\"content\":\"<|end|>\",\"special\":true},"
                          "{\"id\":262,\"content\":\"<x>\",\"special\":false,\"rstrip\":true}],"
                          "\"normalizer\":{\"type\":\"NFC\"},"
                          "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
                          "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
                          "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}]},"
                          "\"decoder\":{\"type\":\"ByteLevel\"},"
                          "\"model\":{\"type\":\"BPE\",\"vocab\":{",
                          extra_top);
    for (int i = 0; i < 256; i++) {
        char sym[8];
        int l = utf8_put(utf8_byte_cp(utf8_byte_order(i)), sym);
        sym[l] = 0;
        const char *esc = strcmp(sym, "\"") == 0 ? "\\\"" : strcmp(sym, "\\") == 0 ? "\\\\" : sym;
        w += (size_t)snprintf(buf + w, sizeof buf - w, "\"%s\":%d,", esc, i);
    }
    w += (size_t)snprintf(buf + w, sizeof buf - w,
                          "\"he\":256,\"ll\":257,\"hell\":258,\"\xC4\xA0w\":259,\"oo\":260},\"merges\":%s}}",
                          merges);
    return buf;
}

static const char *MERGES_STR = "[\"h e\",\"l l\",\"he ll\",\"\xC4\xA0 w\",\"o o\"]";
static const char *MERGES_ARR = "[[\"h\",\"e\"],[\"l\",\"l\"],[\"he\",\"ll\"],[\"\xC4\xA0\",\"w\"],[\"o\",\"o\"]]";

static Tokenizer *tiny(void) {
    const char *j = tiny_json("", MERGES_ARR);
    return tok_load_mem(j, strlen(j), "{\"eos_token\":\"<|end|>\",\"pad_token\":{\"content\":\"<|end|>\"}}", 57, "tiny");
}

static int encode_eq(const Tokenizer *tok, const char *text, size_t len, const int *want, int n_want) {
    int *ids, n;
    if (tok_encode(tok, text, len, &ids, &n)) return 0;
    int ok = n == n_want && (n == 0 || memcmp(ids, want, (size_t)n * sizeof *ids) == 0);
    if (!ok) {
        fprintf(stderr, "encode %.*s ->", (int)len, text);
        for (int i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n");
    }
    free(ids);
    return ok;
}

static int id_of_byte(int b) {
    for (int i = 0; i < 256; i++)
        if (utf8_byte_order(i) == b) return i;
    return -1;
}

static void test_tiny(void) {
    Tokenizer *tok = tiny();
    CHECK(tok, "tiny tokenizer loads: %s", err_msg());
    if (!tok) return;
    const char *j2 = tiny_json("", MERGES_STR);
    Tokenizer *tok2 = tok_load_mem(j2, strlen(j2), NULL, 0, "tiny2");
    CHECK(tok2, "\"a b\" merges load: %s", err_msg());
    CHECK(tok_vocab_size(tok) == 263, "vocab size %d", tok_vocab_size(tok));
    CHECK(tok_eos_id(tok) == 261 && tok_pad_id(tok) == 261 && tok_bos_id(tok) == -1, "bos/eos/pad");
    CHECK(tok2 && tok_eos_id(tok2) == -1, "no config: no eos");
    CHECK(tok_token_id(tok, "hell") == 258 && tok_token_id(tok, "nope") == -1, "token_id");
    CHECK(strcmp(tok_token_str(tok, 259), "\xC4\xA0w") == 0 && !tok_token_str(tok, 263), "token_str");
    CHECK(tok_is_special(tok, 261) && !tok_is_special(tok, 262) && !tok_is_special(tok, 5), "is_special");
    // "hello world": words "hello", " world"; hello -> he,ll -> hell + o; " world" -> Ġw + o r l d.
    int want[] = {258, id_of_byte('o'), 259, id_of_byte('o'), id_of_byte('r'), id_of_byte('l'), id_of_byte('d')};
    CHECK(encode_eq(tok, "hello world", 11, want, 7), "hello world");
    if (tok2) CHECK(encode_eq(tok2, "hello world", 11, want, 7), "hello world, string merges");
    // Leftmost merge among equal ranks: "ooo" -> oo + o.
    int ooo[] = {260, id_of_byte('o')};
    CHECK(encode_eq(tok, "ooo", 3, ooo, 2), "ooo");
    // Added tokens: special in context, rstrip eats the spaces after <x>, prefixes stay text.
    int sp[] = {id_of_byte('a'), 261, id_of_byte('b'), 262, id_of_byte('c')};
    CHECK(encode_eq(tok, "a<|end|>b<x>   c", 16, sp, 5), "added tokens");
    int pre[] = {id_of_byte('<'), id_of_byte('|'), id_of_byte('e'), id_of_byte('n'), id_of_byte('d')};
    CHECK(encode_eq(tok, "<|end", 5, pre, 5), "prefix of an added token");
    // Invalid UTF-8: each maximal invalid subsequence -> U+FFFD (EF BF BD), so "\xE4\xBD"
    // (a cut-off 3-byte character) and "\xFF" each give the three byte tokens of U+FFFD.
    int fffd[] = {id_of_byte(0xEF), id_of_byte(0xBF), id_of_byte(0xBD)};
    int two[6];
    memcpy(two, fffd, sizeof fffd);
    memcpy(two + 3, fffd, sizeof fffd);
    CHECK(encode_eq(tok, "\xE4\xBD", 2, fffd, 3), "cut-off character");
    CHECK(encode_eq(tok, "\xFF\xC0", 2, two, 6), "two invalid bytes");
    int nul[] = {id_of_byte(0)};
    CHECK(encode_eq(tok, "\0", 1, nul, 1), "NUL is an ordinary byte");
    // NFC: e + U+0301 encodes as U+00E9 (C3 A9).
    int e_acute[] = {id_of_byte(0xC3), id_of_byte(0xA9)};
    CHECK(encode_eq(tok, "e\xCC\x81", 3, e_acute, 2), "NFC composes");
    // Decode: added tokens verbatim, a cut-off character -> U+FFFD, ids out of range refused.
    int ids[] = {258, id_of_byte('o'), 261, id_of_byte(0xE4), id_of_byte(0xBD), 262, id_of_byte(0xE4)};
    size_t len;
    char *text = tok_decode(tok, ids, 7, &len);
    CHECK(text && strcmp(text, "hello<|end|>\xEF\xBF\xBD<x>\xEF\xBF\xBD") == 0, "decode: %s", text ? text : err_msg());
    // Appending to a reused buffer gives the same text after what is there, and
    // stops growing the buffer once it is big enough.
    char *buf = NULL;
    size_t blen = 0, bcap = 0;
    int ok = 1;
    for (int round = 0; round < 3; round++) {
        blen = 0;
        ok &= tok_decode_append(tok, ids, 7, &buf, &blen, &bcap) == 0;
        size_t first = blen, cap_before = bcap;
        ok &= tok_decode_append(tok, ids, 3, &buf, &blen, &bcap) == 0;
        ok &= blen == first + 12 && memcmp(buf, text, first) == 0 && strcmp(buf + first, "hello<|end|>") == 0;
        if (round > 0) ok &= bcap == cap_before;
    }
    CHECK(ok, "decode append: %s", buf ? buf : err_msg());
    free(text);
    // Lenient: an id the tokenizer lacks reads as U+FFFD, the rest as tok_decode.
    int odd[] = {258, 999, id_of_byte(0xE4), -3, id_of_byte('o')};
    blen = 0;
    CHECK(tok_decode_lenient_append(tok, odd, 5, &buf, &blen, &bcap) == 0 &&
              strcmp(buf, "hell\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDo") == 0 && blen == strlen(buf),
          "lenient append: %s", buf);
    char *copy = tok_decode_lenient(tok, odd, 5, &len);
    CHECK(copy && len == blen && memcmp(copy, buf, len) == 0, "lenient copy equals append");
    free(copy);
    free(buf);
    int bad[] = {1, 263};
    CHECK(!tok_decode(tok, bad, 2, NULL) && strstr(err_msg(), "ids[1]"), "decode refuses id 263: %s", err_msg());
    // One encoder reused: the ids of tok_encode, text after text.
    TokEncoder *e = tok_encoder_create(tok);
    const char *texts[] = {"hello world", "a<|end|>b<x>   c", "", "\xFF\xC0", "ooo", "hello world"};
    ok = e != NULL;
    for (size_t i = 0; ok && i < sizeof texts / sizeof texts[0]; i++) {
        const int *got;
        int *want_ids, n_got, n_want;
        ok &= tok_encoder_run(e, texts[i], strlen(texts[i]), &got, &n_got) == 0 &&
              tok_encode(tok, texts[i], strlen(texts[i]), &want_ids, &n_want) == 0;
        ok &= n_got == n_want && (n_got == 0 || memcmp(got, want_ids, sizeof(int) * (size_t)n_got) == 0);
        free(want_ids);
    }
    CHECK(ok, "reused encoder equals tok_encode: %s", err_msg());
    tok_encoder_free(e);
    size_t bl;
    const char *raw = tok_token_bytes(tok, 259, &bl);
    CHECK(raw && bl == 2 && memcmp(raw, " w", 2) == 0, "token bytes");
    tok_free(tok);
    tok_free(tok2);
}

// Each malformed file is refused with a message naming the problem.
static void test_malformed(void) {
    struct { const char *json, *want; } cases[] = {
        {"", "not valid JSON"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}", "not valid JSON"},
        {"[1,2]", "not a JSON object"},
        {"{}", "missing field 'model'"},
        {"{\"model\": {\"vocab\": {}, \"merges\": []}}", "model.type"},
        {"{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", "WordPiece"},
        {"{\"model\": {\"type\": \"BPE\", \"merges\": []}}", "model.vocab"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}", "model.merges"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}", "model.vocab"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}", "id 0"},
        {"{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}", "byte-level symbol"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Tokenizer *t = tok_load_mem(cases[i].json, strlen(cases[i].json), NULL, 0, "bad.json");
        CHECK(!t && strstr(err_msg(), cases[i].want) && strstr(err_msg(), "bad.json"),
              "case %zu: got '%s', wanted '%s'", i, t ? "(loaded)" : err_msg(), cases[i].want);
        tok_free(t);
    }
    // Broken merges and unsupported parts, on an otherwise valid file.
    struct { const char *top, *merges, *want; } more[] = {
        {"", "[\"h e\",\"q zz\"]", "merges[1]"},
        {"", "[\"he\"]", "merges[0]"},
        {"", "[[\"h\"]]", "merges[0]"},
        {"", "[\"h e x\"]", "merges[0]"},
        {"", "{}", "model.merges"},
        {"\"normalizer\":{\"type\":\"NFKC\"},", MERGES_STR, NULL},   // first key wins in cJSON: still NFC
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++) {
        const char *j = tiny_json(more[i].top, more[i].merges);
        Tokenizer *t = tok_load_mem(j, strlen(j), NULL, 0, "bad.json");
        if (more[i].want)
            CHECK(!t && strstr(err_msg(), more[i].want), "merges case %zu: %s", i, t ? "(loaded)" : err_msg());
        tok_free(t);
    }
    // Bad config and missing file.
    const char *j = tiny_json("", MERGES_STR);
    Tokenizer *t = tok_load_mem(j, strlen(j), "{\"eos_token\": \"<nope>\"}", 23, "cfg");
    CHECK(!t && strstr(err_msg(), "eos_token"), "unknown eos: %s", err_msg());
    CHECK(!tok_load("/nonexistent/dir/tokenizer.json"), "missing file");
    CHECK(strstr(err_msg(), "/nonexistent/dir/tokenizer.json"), "error names the path: %s", err_msg());
}

// The NFC fast path (inert scan + runs) must equal utf8proc's NFC on the whole string.
static void test_nfc(void) {
    static const uint32_t pool[] = {'a', 'e', 'o', ' ', 'A', 0x301, 0x308, 0x304, 0x316, 0x327, 0xE9, 0x212B,
                                    0x1100, 0x1161, 0x11A8, 0xAC00, 0xF900, 0x958, 0x93C, 0x4E2D, 0x3099,
                                    0x304B, 0x1F600, 0x0CBF, 0x0CD5, 0x0DD9, 0x0DCF, 0x1E0A, 0x323};
    Rng rng = {7, 0};
    int bad = 0;
    for (int t = 0; t < 3000; t++) {
        char s[256];
        size_t n = 0;
        int k = 1 + (int)rng_below(&rng, 20);
        for (int i = 0; i < k; i++) n += (size_t)utf8_put(pool[rng_below(&rng, sizeof pool / sizeof pool[0])], s + n);
        s[n] = 0;
        char *fast;
        size_t fl;
        int r = utf8_nfc(s, n, &fast, &fl);
        utf8proc_uint8_t *ref = utf8proc_NFC((const utf8proc_uint8_t *)s);
        const char *got = r > 0 ? fast : s;
        size_t gl = r > 0 ? fl : n;
        if (!ref || strlen((char *)ref) != gl || memcmp(ref, got, gl) != 0) bad++;
        free(fast);
        free(ref);
    }
    CHECK(bad == 0, "NFC fast path differs from utf8proc on %d of 3000 strings", bad);
}

static void test_sanitize(void) {
    struct { const char *in; size_t n; const char *want; } c[] = {
        {"ok", 2, NULL},
        {"\xC3\xA9", 2, NULL},
        {"\xC3", 1, "\xEF\xBF\xBD"},
        {"\xE0\x80\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},   // overlong: E0 then 80, 80
        {"\xED\xA0\x80", 3, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},   // surrogate
        {"\xF0\x9F\x98x", 4, "\xEF\xBF\xBDx"},                          // one maximal subpart
        {"\xF4\x90\x80\x80", 4, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *o;
        size_t ol;
        int r = utf8_sanitize(c[i].in, c[i].n, &o, &ol);
        if (!c[i].want) CHECK(r == 0 && !o, "sanitize %zu: valid input left alone", i);
        else CHECK(r == 1 && ol == strlen(c[i].want) && memcmp(o, c[i].want, ol) == 0, "sanitize %zu", i);
        free(o);
    }
    // In place, in a buffer of 3 * len + 1 bytes, the same text as the copy, on
    // random bytes biased towards UTF-8 lead and continuation bytes.
    uint64_t x = 88172645463325252ull;
    int bad = 0;
    for (int t = 0; t < 2000; t++) {
        unsigned char in[32];
        char buf[3 * sizeof in + 1], *o;
        size_t n = (size_t)(t % 32) + 1, ol;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            static const unsigned char pick[] = {'a', 0x80, 0xBF, 0xC3, 0xE4, 0xED, 0xF0, 0xF4, 0xFF, 0x9F};
            in[i] = x % 3 ? pick[(x >> 8) % sizeof pick] : (unsigned char)(x >> 16);
        }
        memcpy(buf, in, n);
        size_t m = utf8_sanitize_in_place(buf, n);
        int r = utf8_sanitize((const char *)in, n, &o, &ol);
        if (r == 0) bad += m != n || memcmp(buf, in, n) != 0 || utf8_valid_prefix(buf, n) != n;
        else bad += m != ol || memcmp(buf, o, ol) != 0 || buf[m] != 0 || utf8_valid_prefix(buf, m) != m;
        free(o);
    }
    CHECK(bad == 0, "in-place sanitize differs from the copy on %d of 2000 strings", bad);
}

static void test_train(void) {
    const char *dir = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    char path[4096], path2[4096];
    snprintf(path, sizeof path, "%s/tok_unit.json", dir);
    snprintf(path2, sizeof path2, "%s/tok_unit2.json", dir);
    const char *special[] = {"<|endoftext|>", "<|im_end|>"};
    const char corpus[] = "the cat sat on the mat. the cat ate the rat!<|endoftext|> 123 4567 the the the\n";
    // Pure byte level: no merges, every byte one token, specials after the bytes.
    CHECK(tok_train_bpe(corpus, sizeof corpus - 1, 258, special, 2, path) == 0, "train 258: %s", err_msg());
    Tokenizer *t = tok_load(path);
    CHECK(t, "byte-level tokenizer loads: %s", err_msg());
    if (t) {
        CHECK(tok_vocab_size(t) == 258 && tok_eos_id(t) == 256 && tok_pad_id(t) == 256, "byte-level ids");
        int *ids, n;
        const char *s = "héllo<|im_end|>";
        CHECK(tok_encode(t, s, strlen(s), &ids, &n) == 0 && n == 7 && ids[6] == 257, "byte-level encode n=%d", n);
        free(ids);
        tok_free(t);
    }
    // A real vocabulary: deterministic, specials kept whole, round trip exact.
    // Asking for more than the corpus has pairs for gives a smaller vocabulary, never larger.
    CHECK(tok_train_bpe(corpus, sizeof corpus - 1, 400, special, 2, path) == 0, "train 400: %s", err_msg());
    t = tok_load(path);
    CHECK(t && tok_vocab_size(t) > 270 && tok_vocab_size(t) < 400, "corpus runs out of pairs: %d",
          t ? tok_vocab_size(t) : -1);
    tok_free(t);
    CHECK(tok_train_bpe(corpus, sizeof corpus - 1, 270, special, 2, path) == 0, "train 270: %s", err_msg());
    CHECK(tok_train_bpe(corpus, sizeof corpus - 1, 270, special, 2, path2) == 0, "train 270 again");
    size_t l1, l2;
    char *a = file_read_all(path, &l1), *b = file_read_all(path2, &l2);
    CHECK(a && b && l1 == l2 && memcmp(a, b, l1) == 0, "training is deterministic");
    CHECK(a && !strstr(a, "endoftext\\u") && strstr(a, "\"\xC4\xA0the\""), "learned ' the' as one token");
    free(a), free(b);
    t = tok_load(path);
    CHECK(t && tok_vocab_size(t) == 270, "trained vocab size %d", t ? tok_vocab_size(t) : -1);
    if (t) {
        int *ids, n;
        CHECK(tok_encode(t, corpus, sizeof corpus - 1, &ids, &n) == 0, "encode corpus");
        CHECK(n < (int)sizeof corpus / 2, "merges compress the corpus: %d ids for %zu bytes", n, sizeof corpus - 1);
        size_t len;
        char *back = tok_decode(t, ids, n, &len);
        CHECK(back && len == sizeof corpus - 1 && memcmp(back, corpus, len) == 0, "round trip");
        free(back), free(ids);
        tok_free(t);
    }
    CHECK(tok_train_bpe(corpus, 10, 257, special, 2, path) < 0 && strstr(err_msg(), "vocab_size"), "too small");
    const char *dup[] = {"<a>", "<a>"};
    CHECK(tok_train_bpe(corpus, 10, 300, dup, 2, path) < 0 && strstr(err_msg(), "twice"), "duplicate special");
}

static void test_templates(void) {
    char *s;
    CHECK(template_render("chatml", "2+2?", "Be brief.", 1, &s) == 0 &&
              strcmp(s, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
                        "<|im_start|>assistant\n<think>\n") == 0, "chatml");
    free(s);
    CHECK(template_render("chatml", "hi", NULL, 0, &s) == 0 &&
              strcmp(s, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n") == 0, "chatml bare");
    free(s);
    CHECK(template_render("raw", "x", NULL, 0, &s) == 0 && strcmp(s, "x") == 0, "raw");
    free(s);
    CHECK(template_render("nope", "x", NULL, 0, &s) < 0 && strstr(err_msg(), "r1zero, chatml, raw"), "unknown");
    // Into a reused buffer: the same text; a shorter one needs no new room, a
    // longer one grows it.
    char *buf = NULL;
    size_t cap = 0;
    CHECK(template_render_into("chatml", "2+2?", "Be brief.", 1, &buf, &cap) == 0 &&
              template_render("chatml", "2+2?", "Be brief.", 1, &s) == 0 && strcmp(buf, s) == 0, "render into");
    free(s);
    size_t first = cap;
    CHECK(template_render_into("raw", "x", NULL, 0, &buf, &cap) == 0 && strcmp(buf, "x") == 0 && cap == first,
          "a shorter render reuses the buffer");
    char longer[600];
    memset(longer, 'q', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    CHECK(template_render_into("raw", longer, NULL, 0, &buf, &cap) == 0 && strcmp(buf, longer) == 0 && cap > first,
          "a longer render grows it");
    CHECK(template_render_into("nope", "x", NULL, 0, &buf, &cap) < 0, "unknown name into a buffer");
    // A chat message: head + content + end + sep is what template_render writes for a user turn.
    char head[64];
    const char *end, *sep;
    CHECK(template_message("chatml", "assistant", head, sizeof head, &end, &sep) == 0 &&
              !strcmp(head, "<|im_start|>assistant\n") && !strcmp(end, "<|im_end|>") && !strcmp(sep, "\n"),
          "chatml message pieces");
    char turn[128];
    CHECK(template_message("chatml", "user", head, sizeof head, &end, &sep) == 0, "user message");
    snprintf(turn, sizeof turn, "%shi%s%s", head, end, sep);
    CHECK(template_render("chatml", "hi", NULL, 0, &s) == 0 && !strncmp(s, turn, strlen(turn)), "user turn as rendered");
    free(s);
    CHECK(template_message("chatml", "tool", head, sizeof head, &end, &sep) < 0 && strstr(err_msg(), "'tool'") &&
              strstr(err_msg(), "system, user, assistant"),
          "unknown role");
    CHECK(template_message("r1zero", "user", head, sizeof head, &end, &sep) < 0 && strstr(err_msg(), "r1zero"),
          "a template without turns");
    CHECK(template_message("chatml", "assistant", head, 8, &end, &sep) < 0, "a head that does not fit");
    free(buf);
    // r1zero against REFERENCE.md's text (when the shared folder is beside the checkout).
    CHECK(template_render("r1zero", "What is 2+3", NULL, 1, &s) == 0, "r1zero");
    size_t len;
    char *ref = file_read_all("../shared/REFERENCE.md", &len);
    if (!ref) {
        printf("note: ../shared/REFERENCE.md not found; r1zero text checked by its ending only\n");
    } else {
        // The indented block after "## R1-Zero prompt template", joined with single spaces.
        char want[2048] = "";
        const char *p = strstr(ref, "## R1-Zero prompt template\n");
        CHECK(p != NULL, "REFERENCE.md has the R1-Zero section");
        for (p = p ? strchr(p, '\n') + 1 : NULL; p && strncmp(p, "    ", 4) == 0;) {
            const char *e = strchr(p, '\n');
            if (want[0]) strcat(want, " ");
            strncat(want, p + 4, (size_t)(e - p - 4));
            p = e + 1;
        }
        char *at = strstr(want, "{prompt}");
        CHECK(at != NULL, "template text has {prompt}");
        if (at) {
            char full[2100];
            snprintf(full, sizeof full, "%.*sWhat is 2+3%s <think>", (int)(at - want), want, at + 8);
            CHECK(strcmp(s, full) == 0, "r1zero text:\n%s\nwanted\n%s", s, full);
        }
        free(ref);
    }
    size_t sl = strlen(s);
    CHECK(sl > 30 && strcmp(s + sl - 30, "User: What is 2+3. Assistant: <think>" + 7) == 0, "r1zero ending");
    free(s);
}

// The shared word cache must change nothing: threads encoding at once, a cold and a warm
// cache, and a cache that overflows its shards all give the first encoding's ids.
typedef struct {
    const Tokenizer *tok;
    const char *text;
    size_t len;
    const int *want;
    int n_want, ok;
} EncJob;

static void *enc_job(void *p) {
    EncJob *j = p;
    j->ok = 1;
    for (int r = 0; r < 4; r++) {
        int *ids, n;
        if (tok_encode(j->tok, j->text, j->len, &ids, &n)) { j->ok = 0; return NULL; }
        j->ok &= n == j->n_want && memcmp(ids, j->want, (size_t)n * sizeof *ids) == 0;
        free(ids);
    }
    return NULL;
}

static void test_cache_threads(void) {
    const char *dir = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/tok_cache.json", dir);
    // Many distinct words (more than the cache holds) so shards fill and reset mid-run.
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    Rng rng = {11, 0};
    while (len < cap - 64) {
        int k = 1 + (int)rng_below(&rng, 9);
        text[len++] = ' ';
        for (int i = 0; i < k; i++) text[len++] = (char)('a' + rng_below(&rng, 26));
    }
    CHECK(tok_train_bpe(text, 200000, 600, NULL, 0, path) == 0, "train: %s", err_msg());
    Tokenizer *tok = tok_load(path);
    CHECK(tok != NULL, "load: %s", err_msg());
    if (!tok) { free(text); return; }
    int *first, n1, *again, n2;
    CHECK(tok_encode(tok, text, len, &first, &n1) == 0 && tok_encode(tok, text, len, &again, &n2) == 0, "encode");
    CHECK(n1 == n2 && memcmp(first, again, (size_t)n1 * sizeof *first) == 0, "warm cache = cold cache");
    EncJob jobs[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        jobs[i] = (EncJob){tok, text, len, first, n1, 0};
        pthread_create(&th[i], NULL, enc_job, &jobs[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].ok, "thread %d encoded differently", i);
    }
    free(first), free(again), free(text);
    tok_free(tok);
}

int main(void) {
    test_tiny();
    test_malformed();
    test_nfc();
    test_sanitize();
    test_train();
    test_templates();
    test_cache_threads();
    return TEST_END();
}
