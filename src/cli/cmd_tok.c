// `aha tokenize`, `aha detokenize`, `aha train-tokenizer`: stdin/stdout edges of tok/.
// Argument handling and I/O only; encoding, decoding and training live in src/tok.
#include "cli/cli.h"

#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "tok/tokenizer.h"
#include "tok/utf8.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// All of stdin (binary safe). Returns a malloc'd buffer or NULL.
static char *read_stdin(size_t *len) {
    size_t n = 0, cap = 1 << 16;
    char *b = malloc(cap + 1);
    if (!b) return NULL;
    for (;;) {
        if (n == cap) {
            char *q = realloc(b, cap * 2 + 1);
            if (!q) { free(b); return NULL; }
            b = q, cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, stdin);
        n += r;
        if (r == 0) break;
    }
    if (ferror(stdin)) { free(b); return NULL; }
    b[n] = 0;
    *len = n;
    return b;
}

// "[1,2,3]\n" (ids are non-negative); printf per id would dominate the run time.
static void print_ids(const int *ids, int n) {
    char buf[4096];
    size_t w = 0;
    buf[w++] = '[';
    for (int i = 0; i < n; i++) {
        if (w > sizeof buf - 16) fwrite(buf, 1, w, stdout), w = 0;
        if (i) buf[w++] = ',';
        char d[12];
        int k = 0;
        unsigned v = (unsigned)ids[i];
        do d[k++] = (char)('0' + v % 10), v /= 10; while (v);
        while (k) buf[w++] = d[--k];
    }
    buf[w++] = ']', buf[w++] = '\n';
    fwrite(buf, 1, w, stdout);
}

// One input handled by tokenize/detokenize: all of stdin (raw) or one JSONL value.
// Each returns 0, or -1 after err_set(); where names the input in messages.
typedef int (*RawFn)(const Tokenizer *tok, const char *text, size_t len);
typedef int (*LineFn)(const Tokenizer *tok, const cJSON *v, const char *where);

typedef struct {
    char tokenizer[4096];
    int jsonl;
} TokFlags;

#define F(x) offsetof(TokFlags, x)
static const OptDef tok_options[] = {
    {"tokenizer", OPT_STRING, F(tokenizer), sizeof(((TokFlags *)0)->tokenizer), 0, 0, NULL,
     "tokenizer.json, or the directory holding it", NULL, NULL, OPT_REQUIRED},
    {"jsonl", OPT_BOOL, F(jsonl), 0, 0, 1, NULL, "one JSON value per line in, one per line out", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F

const CliOptions tokenize_cli = {
    tok_options, sizeof(TokFlags), NULL, "aha tokenize --tokenizer PATH [--jsonl]",
    "Reads UTF-8 text on stdin (all of it, one string) and prints the JSON array of token ids, as Hugging Face encode(text, add_special_tokens=False). Special and added tokens written in the text become their ids. Invalid UTF-8 is read as U+FFFD (one per maximal invalid sequence). With --jsonl, stdin has one JSON string per line and one array is printed per line.", NULL, 0};

const CliOptions detokenize_cli = {
    tok_options, sizeof(TokFlags), NULL, "aha detokenize --tokenizer PATH [--jsonl]",
    "Reads a JSON array of token ids on stdin and prints the text (no newline added). Byte sequences that are not valid UTF-8 (a cut-off character) print as U+FFFD. With --jsonl: one array per line in, one JSON string per line out.", NULL, 0};

// The common body of tokenize/detokenize: loading the tokenizer, then stdin as
// one input or as JSON Lines, stopping at the first failure.
static int run_tok_cmd(const char *cmd, const TokFlags *f, RawFn raw, LineFn line) {
    Tokenizer *tok = tok_load(f->tokenizer);
    if (!tok) return cli_fail(cmd, "%s", err_msg());
    int rc = 0;
    if (!f->jsonl) {
        size_t len;
        char *text = read_stdin(&len);
        if (!text) rc = cli_fail(cmd, "cannot read stdin");
        else if (raw(tok, text, len)) rc = cli_fail(cmd, "%s", err_msg());
        free(text);
    } else {
        JsonlReader r;
        if (jsonl_open(&r, "-")) { tok_free(tok); return cli_fail(cmd, "%s", err_msg()); }
        cJSON *v;
        int got = 0;
        char where[64];
        while (!rc && (got = jsonl_next(&r, &v)) == 1) {
            snprintf(where, sizeof where, "<stdin>:%ld", r.line);
            if (line(tok, v, where)) rc = cli_fail(cmd, "%s", err_msg());
            cJSON_Delete(v);
        }
        if (!rc && got < 0) rc = cli_fail(cmd, "%s", err_msg());
        jsonl_close(&r);
    }
    tok_free(tok);
    if (fflush(stdout) && !rc) rc = cli_fail(cmd, "cannot write stdout");
    return rc;
}

static int tokenize_raw(const Tokenizer *tok, const char *text, size_t len) {
    int *ids, n;
    if (tok_encode(tok, text, len, &ids, &n)) return -1;
    print_ids(ids, n);
    free(ids);
    return 0;
}

static int tokenize_line(const Tokenizer *tok, const cJSON *v, const char *where) {
    if (!cJSON_IsString(v)) return err_set("%s: expected a JSON string", where);
    if (tokenize_raw(tok, v->valuestring, strlen(v->valuestring))) return err_wrap("%s", where);
    return 0;
}

int cmd_tokenize(void *cfg) { return run_tok_cmd("tokenize", cfg, tokenize_raw, tokenize_line); }

// Decode one array value; prints the text raw or as a JSON string line. Ids
// past the vocabulary are left to tok_decode, which names the id.
static int detok_one(const Tokenizer *tok, const cJSON *v, int jsonl, const char *where) {
    int *ids = NULL, n = 0;
    if (cli_json_ids(v, 0, where, &ids, &n)) return -1;
    size_t len;
    char *text = tok_decode(tok, ids, n, &len);
    free(ids);
    if (!text) return err_wrap("%s", where);
    if (jsonl) {
        utf8_json_write(stdout, text, len);
        putchar('\n');
    } else {
        fwrite(text, 1, len, stdout);
    }
    free(text);
    return 0;
}

static int detok_raw(const Tokenizer *tok, const char *text, size_t len) {
    cJSON *v = cJSON_ParseWithLength(text, len);
    if (!v) return err_set("<stdin>: not valid JSON (expected an array of token ids)");
    int rc = detok_one(tok, v, 0, "<stdin>");
    cJSON_Delete(v);
    return rc;
}

static int detok_line(const Tokenizer *tok, const cJSON *v, const char *where) {
    return detok_one(tok, v, 1, where);
}

int cmd_detokenize(void *cfg) { return run_tok_cmd("detokenize", cfg, detok_raw, detok_line); }

typedef struct {
    char corpus[4096], out[4096];
    int vocab_size;
    OptList special;
} TrainFlags;

#define F(x) offsetof(TrainFlags, x)
#define S(x) F(x), sizeof(((TrainFlags *)0)->x)
static const OptDef train_options[] = {
    {"corpus", OPT_STRING, S(corpus), 0, 0, NULL, "training text (\"-\" reads stdin)", NULL, NULL, OPT_REQUIRED},
    {"vocab_size", OPT_INT, F(vocab_size), 0, 256, 1 << 22, NULL, "target vocabulary size", NULL, NULL, OPT_REQUIRED},
    {"special", OPT_LIST, F(special), 0, 0, 0, NULL, "a special token (the first is eos and pad)", NULL, NULL, 0},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "where to write", NULL, NULL, OPT_REQUIRED},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

const CliOptions train_tokenizer_cli = {
    train_options, sizeof(TrainFlags), NULL,
    "aha train-tokenizer --corpus FILE --vocab-size N --out PATH [--special TOKEN]...",
    "Trains a byte-level BPE (Qwen-style pre-tokenizer regex) on a UTF-8 text file and writes PATH (tokenizer.json; a directory gets PATH/tokenizer.json) and tokenizer_config.json beside it. N counts the 256 byte tokens, the merges and the special tokens; N = 256 + specials gives the pure byte-level tokenizer.", NULL, 0};

int cmd_train_tokenizer(void *cfg) {
    const char *cmd = "train-tokenizer";
    const TrainFlags *f = cfg;
    const char *corpus = f->corpus, *out = f->out, *special[OPT_LIST_MAX];
    for (int i = 0; i < f->special.n; i++) special[i] = f->special.item[i];
    int rc = 0;
    char path[4096];
    size_t len = 0;
    char *text = strcmp(corpus, "-") == 0 ? read_stdin(&len) : file_read_all(corpus, &len);
    if (!text) rc = cli_fail(cmd, "%s", strcmp(corpus, "-") == 0 ? "cannot read stdin" : err_msg());
    if (!rc && (path_is_dir(out) ? path_join(path, sizeof path, out, "tokenizer.json") : path_fmt(path, sizeof path, "%s", out)))
        rc = cli_fail(cmd, "%s", err_msg());
    if (!rc && tok_train_bpe(text, len, f->vocab_size, special, f->special.n, path))
        rc = cli_fail(cmd, "%s", err_msg());
    if (!rc) fprintf(stderr, "aha train-tokenizer: wrote %s\n", path);
    free(text);
    return rc;
}
