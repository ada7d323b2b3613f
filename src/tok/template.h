// Prompt templates by name: turn a task's prompt (and an optional system prompt) into the
// exact text the policy sees. Text only: tokenizing the result is the caller's business.
#ifndef AHA_TOK_TEMPLATE_H
#define AHA_TOK_TEMPLATE_H

#include <stddef.h>

#include "tok/chat.h"

// Templates:
//   r1zero  DeepSeek-R1-Zero's "A conversation between User and Assistant. ... User:
//           {prompt}. Assistant:" (text as in REFERENCE.md); a system prompt replaces the
//           opening instruction; prefill_think appends " <think>".
//   chatml  Qwen's chat format: ["<|im_start|>system\n{system}<|im_end|>\n"]
//           "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n", and
//           prefill_think appends "<think>\n".
//   raw     ["{system}\n"] "{prompt}", and prefill_think appends "<think>".
//   qwen2.5 Qwen2.5's chat_template (tok/chat.h): a system turn (Qwen's default one
//           when none is given), the user turn and the generation prompt;
//           prefill_think appends "<think>\n".
//   qwen3   Qwen3's chat_template: the system turn if given, the user turn, the
//           generation prompt, and with enable_thinking 0 the empty think block
//           "<think>\n\n</think>\n\n"; prefill_think appends "<think>\n".
//   model   the model's own chat_template (tokenizer_config.json), when it is one
//           of the two above (template_open recognises it).
// system may be NULL (or "") for none. On success stores a malloc'd NUL-terminated string
// in *out (caller frees) and returns 0; an unknown name returns -1 with an error listing
// the valid names.
// "model" needs the model's chat_template: use template_open for it.
int template_render(const char *name, const char *prompt, const char *system,
                    int prefill_think, char **out);
// The same into the caller's buffer *buf (capacity *cap), realloc'd only when the text
// does not fit; the buffer stays the caller's to free, also after an error.
int template_render_into(const char *name, const char *prompt, const char *system, int prefill_think, char **buf,
                         size_t *cap);

// A template resolved once: a fixed one, or a chat form (named, or recognised
// from the model's chat_template).
typedef enum { TEMPLATE_R1ZERO, TEMPLATE_CHATML, TEMPLATE_RAW, TEMPLATE_CHAT } TemplateKind;
typedef struct {
    TemplateKind kind;
    ChatForm chat;   // TEMPLATE_CHAT
} Template;

// Resolve name; "model" recognises chat_template (NULL or "" when the model has
// none), where names its file for messages. Returns 0, or -1 after err_set
// (unknown name, a chat_template aha does not render).
int template_open(Template *t, const char *name, const char *chat_template, const char *where);
// Render one prompt into *buf (capacity *cap, realloc'd when too small).
// enable_thinking 0 is Qwen3's switch: refused by every other template and
// together with prefill_think. Returns 0, or -1 after err_set.
int template_render_prompt(const Template *t, const char *prompt, const char *system, int prefill_think,
                           int enable_thinking, char **buf, size_t *cap);
// The end of an assistant turn ("<|im_end|>" for the ChatML family), or NULL.
const char *template_eot(const Template *t);

// The valid names, comma-separated ("r1zero, chatml, raw, qwen2.5, qwen3, model").
const char *template_names(void);
// 0 when name is a template, else -1 after err_set listing the valid names
// ("model" is checked against the model's file by template_open).
int template_check(const char *name);
// The text of the token that ends an assistant turn in this template
// ("<|im_end|>" for chatml, qwen2.5, qwen3 and model), or NULL when the turn ends
// with the tokenizer's EOS.
const char *template_end_of_turn(const char *name);

// A message of a multi-turn conversation, in pieces so that a caller can tell
// the content and its end of turn (what an assistant is trained to write) from
// the rest: head + content + *end + *sep. chatml (the only template with turns):
// head "<|im_start|>{role}\n" written into buf (capacity cap), end "<|im_end|>",
// sep "\n"; roles system, user and assistant. Returns 0, or -1 after err_set
// for another template, an unknown role or a buffer too small.
int template_message(const char *name, const char *role, char *buf, size_t cap, const char **end, const char **sep);

#endif
