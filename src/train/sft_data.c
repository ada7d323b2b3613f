// Reading SFT rows: each shape becomes a list of text pieces, each encoded on
// its own (as rollouts encode prompt and completion apart) and marked trained
// or context.
#include "train/sft_data.h"
#include "base/err.h"
#include "base/jsonl.h"
#include "tok/template.h"

#include <stdlib.h>
#include <string.h>

// One row being built: ids and which of them are targets.
typedef struct {
    int *ids;
    unsigned char *train;
    int len, cap, trained;   // trained: target tokens so far
} Row;

static int row_push(Row *r, const int *ids, int n, int trained) {
    if (n == 0) return 0;   // an empty piece (ids may be NULL)
    if (r->len + n > r->cap) {
        int cap = 2 * (r->len + n) + 16;
        int *ni = realloc(r->ids, sizeof(int) * (size_t)cap);
        if (ni) r->ids = ni;
        unsigned char *nt = ni ? realloc(r->train, (size_t)cap) : NULL;
        if (nt) r->train = nt;
        if (!ni || !nt) return err_set("out of memory");
        r->cap = cap;
    }
    memcpy(r->ids + r->len, ids, sizeof(int) * (size_t)n);
    memset(r->train + r->len, trained, (size_t)n);
    r->len += n;
    r->trained += trained ? n : 0;
    return 0;
}

static int row_text(Row *r, const Tokenizer *tok, const char *text, int trained) {
    int *ids, n;
    if (tok_encode(tok, text, strlen(text), &ids, &n) != 0) return -1;
    int rc = row_push(r, ids, n, trained);
    free(ids);
    return rc;
}

// A completion from another model must stay the text it was: no piece of it
// read as a special token of this tokenizer, and the same bytes decoded.
static int check_exact(const Tokenizer *tok, const char *text, const int *ids, int n) {
    for (int i = 0; i < n; i++)
        if (tok_is_special(tok, ids[i]))
            return err_set("completion: this tokenizer reads \"%s\" in it as a special token (id %d), so it "
                           "cannot train on it as text", tok_token_str(tok, ids[i]), ids[i]);
    size_t len;
    char *back = tok_decode(tok, ids, n, &len);
    if (!back) return -1;
    size_t k = 0;
    while (k < len && text[k] == back[k]) k++;
    int same = len == strlen(text) && k == len;
    free(back);
    return same ? 0 : err_set("completion: this tokenizer does not give it back as it was (the text differs from "
                              "byte %zu on after encoding and decoding)", k);
}

static int row_messages(Row *r, const SftDataOpts *o, const cJSON *msgs) {
    if (!cJSON_IsArray(msgs)) return err_set("messages: not an array");
    int i = 0;
    const cJSON *msg;
    cJSON_ArrayForEach(msg, msgs) {
        const char *role, *content, *end, *sep;
        char head[128];
        if (json_get_string(msg, "role", &role, 1) != 0 || json_get_string(msg, "content", &content, 1) != 0 ||
            template_message("chatml", role, head, sizeof head, &end, &sep) != 0)
            return err_wrap("messages[%d]", i);
        int is_asst = !strcmp(role, "assistant");
        if (row_text(r, o->tok, head, 0) != 0 || row_text(r, o->tok, content, is_asst) != 0 ||
            row_text(r, o->tok, end, is_asst) != 0 || row_text(r, o->tok, sep, 0) != 0)
            return -1;
        i++;
    }
    return 0;
}

// A chat template's rendering, tokenized in runs of pieces that are all
// assistant-written (trained) or all not.
typedef struct {
    Row *r;
    const Tokenizer *tok;
    char *buf;
    size_t n, cap;
    int trained;
} Runs;

static int runs_flush(Runs *u) {
    if (u->n == 0) return 0;
    int *ids, n;
    if (tok_encode(u->tok, u->buf, u->n, &ids, &n) != 0) return -1;
    int rc = row_push(u->r, ids, n, u->trained);
    free(ids);
    u->n = 0;
    return rc;
}

static int runs_sink(void *ctx, const char *s, size_t n, int asst) {
    Runs *u = ctx;
    if (asst != u->trained && runs_flush(u) != 0) return -1;
    u->trained = asst;
    if (u->n + n > u->cap) {
        size_t cap = 2 * (u->n + n) + 64;
        char *b = realloc(u->buf, cap);
        if (!b) return err_set("out of memory");
        u->buf = b, u->cap = cap;
    }
    memcpy(u->buf + u->n, s, n);
    u->n += n;
    return 0;
}

// Messages through a chat template (qwen2.5, qwen3, model): the assistant
// turns as the template writes them (Qwen3's think blocks included) are trained.
static int row_chat(Row *r, const SftDataOpts *o, const Template *t, const cJSON *msgs) {
    int n;
    ChatMessage *m = chat_messages_parse(msgs, &n);
    if (!m) return -1;
    Runs u = {.r = r, .tok = o->tok};
    ChatOpts co = {.add_generation_prompt = 0, .enable_thinking = 1};
    int rc = chat_render(&t->chat, m, n, &co, runs_sink, &u) == 0 && runs_flush(&u) == 0 ? 0 : -1;
    free(u.buf);
    free(m);
    return rc;
}

// The row's pieces by its shape. Sets *field to what must hold a trained token.
static int row_fill(Row *r, const SftDataOpts *o, const cJSON *obj, const char **field) {
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(obj, "messages");
    const char *p = NULL, *c = NULL, *t = NULL, *where, *chat = tok_chat_template(o->tok, &where);
    Template tmpl;
    if (template_open(&tmpl, o->template_name, chat, where) != 0) return -1;
    if (msgs) *field = "messages (no assistant turn)";
    if (msgs) return tmpl.kind == TEMPLATE_CHAT ? row_chat(r, o, &tmpl, msgs) : row_messages(r, o, msgs);
    if (json_get_string(obj, "prompt", &p, 0) != 0 || json_get_string(obj, "completion", &c, 0) != 0 ||
        json_get_string(obj, "text", &t, 0) != 0)
        return -1;
    if (p && c) {
        char *prompt = NULL;
        size_t cap = 0;
        *field = "completion (empty)";
        if (template_render_prompt(&tmpl, p, NULL, 0, 1, &prompt, &cap) != 0) return free(prompt), -1;
        int rc = row_text(r, o->tok, prompt, 0), start = r->len;
        free(prompt);
        if (rc == 0) rc = row_text(r, o->tok, c, 1);
        return rc == 0 && o->exact_completion ? check_exact(o->tok, c, r->ids + start, r->len - start) : rc;
    }
    if (t) return *field = "text (empty)", row_text(r, o->tok, t, 1);
    return err_set("a row needs \"prompt\" and \"completion\", \"messages\", or \"text\"%s",
                   p ? " (it has a prompt without a completion)" : c ? " (it has a completion without a prompt)" : "");
}

int sft_data_encode(const SftDataOpts *o, const cJSON *obj, SftExample *e) {
    Row r = {0};
    const char *field = "";
    int rc = row_fill(&r, o, obj, &field);
    if (rc == 0 && r.trained == 0) rc = err_set("%s: nothing to train on", field);
    if (rc == 0) rc = row_push(&r, &o->eos, 1, 1);
    if (rc == 0 && r.len > o->max_len && !o->skip_long)
        rc = err_set("the row has %d tokens, more than the model's context of %d (--skip-long drops such rows)", r.len,
                     o->max_len);
    if (rc == 0 && r.len > o->max_len) rc = 1;
    if (rc == 0) {
        *e = (SftExample){.ids = r.ids, .len = r.len, .n_prompt = 0, .train = r.train};
        return 0;
    }
    free(r.ids);
    free(r.train);
    return rc;
}

// Build, check and keep (or skip) the row of one line.
static int load_row(SftData *d, int *cap, const cJSON *obj, const SftDataOpts *o) {
    SftExample e;
    int rc = sft_data_encode(o, obj, &e);
    if (rc == 1) d->skipped_long++;
    if (rc != 0) return rc < 0 ? -1 : 0;
    if (d->n == *cap) {
        int nc = *cap ? 2 * *cap : 256;
        SftExample *ne = realloc(d->ex, sizeof *ne * (size_t)nc);
        if (!ne) {
            free((void *)e.ids), free((void *)e.train);
            return err_set("out of memory");
        }
        d->ex = ne, *cap = nc;
    }
    d->ex[d->n++] = e;
    d->tokens += e.len;
    return 0;
}

int sft_data_load(SftData *d, const char *path, const SftDataOpts *o) {
    memset(d, 0, sizeof *d);
    JsonlReader jr;
    if (jsonl_open(&jr, path) != 0) return -1;
    int cap = 0, rc;
    cJSON *obj;
    while ((rc = jsonl_next(&jr, &obj)) == 1) {
        rc = cJSON_IsObject(obj) ? load_row(d, &cap, obj, o) : err_set("not a JSON object");
        cJSON_Delete(obj);
        if (rc != 0) {
            err_wrap("%s:%ld", path, jr.line);
            break;
        }
    }
    jsonl_close(&jr);
    if (rc == 0 && d->n == 0) rc = err_set("%s: no rows to train on", path);
    if (rc != 0) sft_data_free(d);
    return rc < 0 ? -1 : 0;
}

void sft_data_free(SftData *d) {
    for (int i = 0; i < d->n; i++) free((void *)d->ex[i].ids), free((void *)d->ex[i].train);
    free(d->ex);
    memset(d, 0, sizeof *d);
}
