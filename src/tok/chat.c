// Qwen2.5's and Qwen3's chat templates in C. A template is recognised by the
// statements that decide its output (each form's own lines, quoted from it
// below); the rendering follows those lines for messages without tools.
#include "tok/chat.h"

#include "base/err.h"
#include "base/jsonl.h"
#include "tok/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char QWEN_SYSTEM[] = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

// The lines of each form that fix what it renders, as the template source
// spells them (\\n is the two characters of a Jinja escape).
static const char *const QWEN25_MARKS[] = {
    "'<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n'",
    "(message.role == \"system\" and not loop.first) or (message.role == \"assistant\" and not message.tool_calls)",
    "'<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n'",
    "{{- '<|im_start|>assistant\\n' }}",
    NULL,
};
static const char *const QWEN3_MARKS[] = {
    "{{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}",
    "ns.last_query_index = index",
    "(message.role == \"user\") or (message.role == \"system\" and not loop.first)",
    "split('</think>')[-1].lstrip('\\n')",
    "split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n')",
    "loop.index0 > ns.last_query_index",
    "loop.last or (not loop.last and reasoning_content)",
    "'\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n')",
    "{{- '<|im_start|>assistant\\n' }}",
    "enable_thinking is defined and enable_thinking is false",
    "{{- '<think>\\n\\n</think>\\n\\n' }}",
    NULL,
};
// Words of later forms that render differently (Qwen3.5's preserve_thinking,
// vision models): their presence means another form.
static const char *const QWEN3_NOT[] = {"preserve_thinking", "vision_start", NULL};
static const char *const QWEN25_NOT[] = {"<think>", "enable_thinking", "reasoning_content", "vision_start", NULL};

static int has_all(const char *t, const char *const *marks) {
    for (; *marks; marks++)
        if (!strstr(t, *marks)) return 0;
    return 1;
}

static int has_none(const char *t, const char *const *words) {
    for (; *words; words++)
        if (strstr(t, *words)) return 0;
    return 1;
}

// Qwen2.5's default system prompt: the quoted literal of the branch taken when
// messages[0] is not a system message, '<|im_start|>system\n...<|im_end|>\n',
// with its Jinja escapes undone. Returns 0, or -1 when there is none.
static int qwen25_default_system(const char *t, char *out, size_t cap) {
    static const char open[] = "{{- '<|im_start|>system\\n", close[] = "<|im_end|>\\n' }}";
    for (const char *p = strstr(t, open); p; p = strstr(p + 1, open)) {
        const char *q = p + strlen(open), *e = strstr(q, close);
        size_t n = 0;
        for (; e && q < e && *q != '\''; q++) {   // a quote ends the literal before <|im_end|>: not this one
            char c = *q;
            if (c == '\\' && q + 1 < e) {
                c = *++q;
                c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
            }
            if (n + 1 >= cap) return -1;
            out[n++] = c;
        }
        out[n] = 0;
        if (e && q == e && n > 0) return 0;
    }
    return -1;
}

int chat_recognise(ChatForm *f, const char *t, const char *where) {
    memset(f, 0, sizeof *f);
    if (!t || !t[0])
        return err_set("%s has no chat_template; pass a named template (--template r1zero, chatml, raw, qwen2.5 or "
                       "qwen3)",
                       where);
    if (has_all(t, QWEN3_MARKS) && has_none(t, QWEN3_NOT)) return f->family = CHAT_QWEN3, 0;
    if (has_all(t, QWEN25_MARKS) && has_none(t, QWEN25_NOT) &&
        qwen25_default_system(t, f->default_system, sizeof f->default_system) == 0)
        return f->family = CHAT_QWEN25, 0;
    return err_set("%s: its chat_template is not one aha renders (it knows Qwen2.5's and Qwen3's, and interprets "
                   "no other Jinja); pass a named template (--template r1zero, chatml, raw, qwen2.5 or qwen3)",
                   where);
}

int chat_form_named(ChatForm *f, const char *name) {
    memset(f, 0, sizeof *f);
    if (name && !strcmp(name, "qwen3")) return f->family = CHAT_QWEN3, 0;
    if (name && !strcmp(name, "qwen2.5")) {
        f->family = CHAT_QWEN25;
        snprintf(f->default_system, sizeof f->default_system, "%s", QWEN_SYSTEM);
        return 0;
    }
    return -1;
}

static int put(ChatSink sink, void *ctx, const char *s, size_t n, int asst) { return n ? sink(ctx, s, n, asst) : 0; }
static int puts_(ChatSink sink, void *ctx, const char *s, int asst) { return put(sink, ctx, s, strlen(s), asst); }

// A plain turn: <|im_start|>{role}\n{content}<|im_end|>\n; for an assistant the
// content and <|im_end|> are its own.
static int turn(ChatSink sink, void *ctx, const char *role, const char *content, int asst) {
    if (puts_(sink, ctx, "<|im_start|>", 0) || puts_(sink, ctx, role, 0) || puts_(sink, ctx, "\n", 0) ||
        puts_(sink, ctx, content, asst) || puts_(sink, ctx, "<|im_end|>", asst))
        return -1;
    return puts_(sink, ctx, "\n", 0);
}

static int known_role(const ChatMessage *m, int i) {
    if (!m->role || !m->content) return err_set("messages[%d]: role and content are required", i);
    if (strcmp(m->role, "system") && strcmp(m->role, "user") && strcmp(m->role, "assistant"))
        return err_set("messages[%d]: role '%s' is not one aha renders (system, user, assistant)", i, m->role);
    return 0;
}

static int starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }
static int ends_with(const char *s, const char *p) {
    size_t n = strlen(s), k = strlen(p);
    return n >= k && !memcmp(s + n - k, p, k);
}

// The last substring match of needle in [s, e), or NULL.
static const char *last_in(const char *s, const char *e, const char *needle) {
    size_t k = strlen(needle);
    if ((size_t)(e - s) < k) return NULL;
    for (const char *p = e - k;; p--) {
        if (!memcmp(p, needle, k)) return p;
        if (p == s) return NULL;
    }
}

// The template's strip, lstrip and rstrip on [s, e) as the reference renderer
// (Hugging Face's Jinja for JavaScript) runs them: they trim all white space
// (String.prototype.trim), whatever characters are asked for. Python's
// str.strip('\n') trims newlines only; the two differ only where spaces or tabs
// touch a think tag or the ends of reasoning_content.
static const char *trim_start(const char *s, const char *e) {
    uint32_t cp;
    int l;
    while (s < e && (l = utf8_next((const unsigned char *)s, (size_t)(e - s), &cp)) > 0 && utf8_is_js_space(cp))
        s += l;
    return s;
}

static const char *trim_end(const char *s, const char *e) {
    while (e > s) {
        const char *p = e - 1;
        while (p > s && ((unsigned char)*p & 0xC0) == 0x80) p--;
        uint32_t cp;
        utf8_next((const unsigned char *)p, (size_t)(e - p), &cp);
        if (!utf8_is_js_space(cp)) break;
        e = p;
    }
    return e;
}

// Qwen3's assistant turn. Without reasoning_content, a content holding
// </think> splits into reasoning (before the first </think>, after the last
// <think> there, trimmed) and content (after the last </think>, trimmed at its
// start). Turns after the last user query write their think block when they
// are the last message or have reasoning; earlier turns lose their reasoning.
static int qwen3_assistant(ChatSink sink, void *ctx, const ChatMessage *m, int after_query, int last) {
    const char *c = m->content, *ce = c + strlen(c), *r = "", *re = r;
    if (m->reasoning) {
        r = m->reasoning, re = r + strlen(r);
    } else if (strstr(c, "</think>")) {
        const char *first = strstr(c, "</think>"), *lastc = last_in(c, ce, "</think>");
        r = c, re = trim_end(c, first);
        const char *open = last_in(r, re, "<think>");
        if (open) r = open + strlen("<think>");
        r = trim_start(r, re);
        c = trim_start(lastc + strlen("</think>"), ce);
    }
    if (puts_(sink, ctx, "<|im_start|>assistant\n", 0)) return -1;
    if (after_query && (last || re > r)) {
        // reasoning_content.strip('\n') and content.lstrip('\n')
        r = trim_start(r, re), re = trim_end(r, re);
        c = trim_start(c, ce);
        if (puts_(sink, ctx, "<think>\n", 1) || put(sink, ctx, r, (size_t)(re - r), 1) ||
            puts_(sink, ctx, "\n</think>\n\n", 1))
            return -1;
    }
    if (puts_(sink, ctx, c, 1) || puts_(sink, ctx, "<|im_end|>", 1)) return -1;
    return puts_(sink, ctx, "\n", 0);
}

static int render_qwen3(const ChatMessage *m, int n, const ChatOpts *o, ChatSink sink, void *ctx) {
    // The last user message that is not a tool response: the turns after it
    // are the current answer, whose reasoning is kept.
    int last_query = n - 1;
    for (int i = n - 1; i >= 0; i--)
        if (!strcmp(m[i].role, "user") &&
            !(starts_with(m[i].content, "<tool_response>") && ends_with(m[i].content, "</tool_response>"))) {
            last_query = i;
            break;
        }
    for (int i = 0; i < n; i++) {
        int rc = !strcmp(m[i].role, "assistant") ? qwen3_assistant(sink, ctx, &m[i], i > last_query, i == n - 1)
                                                 : turn(sink, ctx, m[i].role, m[i].content, 0);
        if (rc) return -1;
    }
    if (!o->add_generation_prompt) return 0;
    if (puts_(sink, ctx, "<|im_start|>assistant\n", 0)) return -1;
    return o->enable_thinking ? 0 : puts_(sink, ctx, "<think>\n\n</think>\n\n", 0);
}

static int render_qwen25(const ChatForm *f, const ChatMessage *m, int n, const ChatOpts *o, ChatSink sink,
                         void *ctx) {
    if ((n == 0 || strcmp(m[0].role, "system")) && turn(sink, ctx, "system", f->default_system, 0)) return -1;
    for (int i = 0; i < n; i++)
        if (turn(sink, ctx, m[i].role, m[i].content, !strcmp(m[i].role, "assistant"))) return -1;
    return o->add_generation_prompt ? puts_(sink, ctx, "<|im_start|>assistant\n", 0) : 0;
}

int chat_render(const ChatForm *f, const ChatMessage *m, int n, const ChatOpts *o, ChatSink sink, void *ctx) {
    for (int i = 0; i < n; i++)
        if (known_role(&m[i], i)) return -1;
    if (f->family == CHAT_QWEN3) return render_qwen3(m, n, o, sink, ctx);
    if (f->family == CHAT_QWEN25) return render_qwen25(f, m, n, o, sink, ctx);
    return err_set("chat: no template family set");
}

typedef struct {
    char *s;
    size_t n, cap;
} Buf;

static int buf_sink(void *ctx, const char *s, size_t n, int asst) {
    (void)asst;
    Buf *b = ctx;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) return err_set("chat: out of memory");
        b->s = p, b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

int chat_render_string(const ChatForm *f, const ChatMessage *m, int n, const ChatOpts *o, char **out) {
    Buf b = {0};
    *out = NULL;
    if (buf_sink(&b, "", 0, 0) != 0 || chat_render(f, m, n, o, buf_sink, &b) != 0) {
        free(b.s);
        return -1;
    }
    *out = b.s;
    return 0;
}

ChatMessage *chat_messages_parse(const cJSON *msgs, int *n) {
    *n = 0;
    if (!cJSON_IsArray(msgs)) return err_set("messages: not an array"), NULL;
    ChatMessage *m = calloc((size_t)cJSON_GetArraySize(msgs) + 1, sizeof *m);
    if (!m) return err_set("messages: out of memory"), NULL;
    const cJSON *one;
    cJSON_ArrayForEach(one, msgs) {
        ChatMessage *x = &m[*n];
        const cJSON *rc = cJSON_GetObjectItemCaseSensitive(one, "reasoning_content");
        if (json_get_string(one, "role", &x->role, 1) != 0 || json_get_string(one, "content", &x->content, 1) != 0 ||
            (rc && !cJSON_IsNull(rc) && json_get_string(one, "reasoning_content", &x->reasoning, 1) != 0)) {
            err_wrap("messages[%d]", *n);
            free(m);
            return NULL;
        }
        (*n)++;
    }
    return m;
}
