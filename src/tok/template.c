// Prompt templates (r1zero, chatml, raw, and the chat forms of tok/chat.h): plain
// string assembly, no Jinja. A model's own chat_template is only recognised.
#include "tok/template.h"

#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// DeepSeek-R1-Zero's instruction (REFERENCE.md), up to the user turn.
static const char R1ZERO_PREAMBLE[] =
    "A conversation between User and Assistant. The user asks a question, and the "
    "Assistant solves it. The assistant first thinks about the reasoning process in the "
    "mind and then provides the user with the answer. The reasoning process and answer are "
    "enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., "
    "<think> reasoning process here </think> <answer> answer here </answer>.";

const char *template_names(void) { return "r1zero, chatml, raw, qwen2.5, qwen3, model"; }

// Concatenate up to 8 NUL-terminated pieces (NULL pieces are skipped) into
// *buf, growing it (capacity *cap) when they do not fit.
static int concat(char **buf, size_t *cap, const char *const *parts, int n) {
    size_t total = 1;
    for (int i = 0; i < n; i++)
        if (parts[i]) total += strlen(parts[i]);
    if (total > *cap) {
        char *s = realloc(*buf, total);
        if (!s) return err_set("template: out of memory");
        *buf = s, *cap = total;
    }
    char *s = *buf;
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        if (!parts[i]) continue;
        size_t l = strlen(parts[i]);
        memcpy(s + at, parts[i], l);
        at += l;
    }
    s[at] = 0;
    return 0;
}

int template_render(const char *name, const char *prompt, const char *system,
                    int prefill_think, char **out) {
    size_t cap = 0;
    *out = NULL;
    if (template_render_into(name, prompt, system, prefill_think, out, &cap) == 0) return 0;
    free(*out);
    *out = NULL;
    return -1;
}

int template_open(Template *t, const char *name, const char *chat_template, const char *where) {
    memset(t, 0, sizeof *t);
    if (!name) return err_set("template: no name given (valid: %s)", template_names());
    if (!strcmp(name, "r1zero")) return t->kind = TEMPLATE_R1ZERO, 0;
    if (!strcmp(name, "chatml")) return t->kind = TEMPLATE_CHATML, 0;
    if (!strcmp(name, "raw")) return t->kind = TEMPLATE_RAW, 0;
    t->kind = TEMPLATE_CHAT;
    if (chat_form_named(&t->chat, name) == 0) return 0;
    if (!strcmp(name, "model")) return chat_recognise(&t->chat, chat_template, where ? where : "the model");
    return err_set("unknown template '%s' (valid: %s)", name, template_names());
}

static int render_chat(const Template *t, const char *prompt, const char *system, int prefill_think,
                       int enable_thinking, char **buf, size_t *cap) {
    ChatMessage m[2] = {{"system", system, NULL}, {"user", prompt, NULL}};
    int has_sys = system && system[0];
    ChatOpts o = {.add_generation_prompt = 1, .enable_thinking = enable_thinking};
    char *s;
    if (chat_render_string(&t->chat, m + !has_sys, 1 + has_sys, &o, &s) != 0) return -1;
    const char *parts[] = {s, prefill_think ? "<think>\n" : NULL};
    int rc = concat(buf, cap, parts, 2);
    free(s);
    return rc;
}

int template_render_prompt(const Template *t, const char *prompt, const char *system, int prefill_think,
                           int enable_thinking, char **buf, size_t *cap) {
    if (!prompt) prompt = "";
    int has_sys = system && system[0];
    if (!enable_thinking && !(t->kind == TEMPLATE_CHAT && t->chat.family == CHAT_QWEN3))
        return err_set("enable_thinking false: only the qwen3 template has that switch");
    if (!enable_thinking && prefill_think)
        return err_set("prefill_think and enable_thinking false contradict each other: one opens a think block, "
                       "the other closes it empty");
    if (t->kind == TEMPLATE_R1ZERO) {
        const char *parts[] = {has_sys ? system : R1ZERO_PREAMBLE, " User: ", prompt,
                               ". Assistant:", prefill_think ? " <think>" : NULL};
        return concat(buf, cap, parts, 5);
    }
    if (t->kind == TEMPLATE_CHATML) {
        const char *parts[] = {has_sys ? "<|im_start|>system\n" : NULL,
                               has_sys ? system : NULL,
                               has_sys ? "<|im_end|>\n" : NULL,
                               "<|im_start|>user\n", prompt,
                               "<|im_end|>\n<|im_start|>assistant\n",
                               prefill_think ? "<think>\n" : NULL};
        return concat(buf, cap, parts, 7);
    }
    if (t->kind == TEMPLATE_RAW) {
        const char *parts[] = {has_sys ? system : NULL, has_sys ? "\n" : NULL, prompt,
                               prefill_think ? "<think>" : NULL};
        return concat(buf, cap, parts, 4);
    }
    return render_chat(t, prompt, system, prefill_think, enable_thinking, buf, cap);
}

const char *template_eot(const Template *t) { return t->kind == TEMPLATE_CHATML || t->kind == TEMPLATE_CHAT ? "<|im_end|>" : NULL; }

int template_render_into(const char *name, const char *prompt, const char *system, int prefill_think, char **buf,
                         size_t *cap) {
    Template t;
    if (template_open(&t, name, NULL, "template 'model' here (it needs the model's tokenizer_config.json)") != 0)
        return -1;
    return template_render_prompt(&t, prompt, system, prefill_think, 1, buf, cap);
}

const char *template_end_of_turn(const char *name) {
    static const char *const chatml[] = {"chatml", "qwen2.5", "qwen3", "model"};
    for (int i = 0; name && i < 4; i++)
        if (!strcmp(name, chatml[i])) return "<|im_end|>";
    return NULL;
}

int template_check(const char *name) {
    Template t;
    if (name && !strcmp(name, "model")) return 0;
    if (name && template_open(&t, name, NULL, NULL) == 0) return 0;
    return err_set("unknown template '%s' (valid: %s)", name ? name : "", template_names());
}

int template_message(const char *name, const char *role, char *buf, size_t cap, const char **end, const char **sep) {
    if (!name || strcmp(name, "chatml") != 0)
        return err_set("template '%s' has no multi-turn messages (chatml has)", name ? name : "");
    if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))
        return err_set("role '%s' is not one the chatml template knows (system, user, assistant)", role);
    if ((size_t)snprintf(buf, cap, "<|im_start|>%s\n", role) >= cap) return err_set("template: buffer too small");
    *end = template_end_of_turn(name);
    *sep = "\n";
    return 0;
}
