// aha chat-template: render conversations with a model's chat template (or a
// named one), JSONL in, one JSON string per line out. The same rendering the
// sampling and training commands use; flags and I/O only.
#include "cli/cli.h"

#include "base/err.h"
#include "base/jsonl.h"
#include "tok/template.h"
#include "tok/tokenizer.h"
#include "tok/utf8.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char tokenizer[4096];
    char template_name[32];
} ChatFlags;

#define F(x) offsetof(ChatFlags, x)
#define S(x) F(x), sizeof(((ChatFlags *)0)->x)
static const OptDef chat_options[] = {
    {"tokenizer", OPT_STRING, S(tokenizer), 0, 0, NULL,
     "model directory or tokenizer.json (its tokenizer_config.json holds the chat_template)", NULL, NULL, OPT_REQUIRED},
    {"template", OPT_STRING, S(template_name), 0, 0, NULL, "model (the model's own), qwen2.5 or qwen3", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static void chat_defaults(void *cfg) { snprintf(((ChatFlags *)cfg)->template_name, 32, "model"); }

const CliOptions chat_template_cli = {
    chat_options, sizeof(ChatFlags), chat_defaults, "aha chat-template --tokenizer PATH [--template NAME] < FILE.jsonl",
    "Reads one conversation per line, {\"messages\": [{\"role\", \"content\", \"reasoning_content\"?}, ...], \"add_generation_prompt\": false, \"enable_thinking\": true}, and prints the text the chat template makes of it as one JSON string per line, as transformers' apply_chat_template(tokenize=False) does. Templates known: Qwen2.5's and Qwen3's (recognised in the model's tokenizer_config.json); any other chat_template is refused, not guessed.", NULL, 0};

static int render_line(const Template *t, const cJSON *v) {
    int n, gen = 0, think = 1;
    if (!cJSON_IsObject(v)) return err_set("expected a JSON object");
    if (json_get_bool(v, "add_generation_prompt", &gen, 0) != 0 || json_get_bool(v, "enable_thinking", &think, 0) != 0)
        return -1;
    ChatMessage *m = chat_messages_parse(cJSON_GetObjectItemCaseSensitive(v, "messages"), &n);
    if (!m) return -1;
    ChatOpts o = {.add_generation_prompt = gen, .enable_thinking = think};
    char *text;
    int rc = chat_render_string(&t->chat, m, n, &o, &text);
    free(m);
    if (rc != 0) return -1;
    utf8_json_write(stdout, text, strlen(text));
    putchar('\n');
    free(text);
    return 0;
}

int cmd_chat_template(void *cfg) {
    const char *cmd = "chat-template";
    const ChatFlags *f = cfg;
    Tokenizer *tok = tok_load(f->tokenizer);
    if (!tok) return cli_fail(cmd, "%s", err_msg());
    const char *where, *text = tok_chat_template(tok, &where);
    Template t;
    int rc = 0;
    if (template_open(&t, f->template_name, text, where) != 0) rc = cli_fail(cmd, "%s", err_msg());
    else if (t.kind != TEMPLATE_CHAT)
        rc = cli_usage(cmd, "template '%s' has no conversations (model, qwen2.5 and qwen3 have)", f->template_name);
    JsonlReader r;
    if (rc == 0 && jsonl_open(&r, "-") != 0) rc = cli_fail(cmd, "%s", err_msg());
    else if (rc == 0) {
        cJSON *v;
        int got;
        while (rc == 0 && (got = jsonl_next(&r, &v)) == 1) {
            if (render_line(&t, v) != 0) rc = cli_fail(cmd, "<stdin>:%ld: %s", r.line, err_msg());
            cJSON_Delete(v);
        }
        if (rc == 0 && got < 0) rc = cli_fail(cmd, "%s", err_msg());
        jsonl_close(&r);
    }
    tok_free(tok);
    if (fflush(stdout) && !rc) rc = cli_fail(cmd, "cannot write stdout");
    return rc;
}
