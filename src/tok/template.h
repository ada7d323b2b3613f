// Prompt templates by name: turn a task's prompt (and an optional system prompt) into the
// exact text the policy sees. Text only: tokenizing the result is the caller's business.
#ifndef AHA_TOK_TEMPLATE_H
#define AHA_TOK_TEMPLATE_H

#include <stddef.h>

// Templates:
//   r1zero  DeepSeek-R1-Zero's "A conversation between User and Assistant. ... User:
//           {prompt}. Assistant:" (text as in REFERENCE.md); a system prompt replaces the
//           opening instruction; prefill_think appends " <think>".
//   chatml  Qwen's chat format: ["<|im_start|>system\n{system}<|im_end|>\n"]
//           "<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n", and
//           prefill_think appends "<think>\n".
//   raw     ["{system}\n"] "{prompt}", and prefill_think appends "<think>".
// system may be NULL (or "") for none. On success stores a malloc'd NUL-terminated string
// in *out (caller frees) and returns 0; an unknown name returns -1 with an error listing
// the valid names.
int template_render(const char *name, const char *prompt, const char *system,
                    int prefill_think, char **out);
// The same into the caller's buffer *buf (capacity *cap), realloc'd only when the text
// does not fit; the buffer stays the caller's to free, also after an error.
int template_render_into(const char *name, const char *prompt, const char *system, int prefill_think, char **buf,
                         size_t *cap);

// The valid names, comma-separated ("r1zero, chatml, raw").
const char *template_names(void);
// 0 when name is a template, else -1 after err_set listing the valid names.
int template_check(const char *name);
// The text of the token that ends an assistant turn in this template
// ("<|im_end|>" for chatml), or NULL when the turn ends with the tokenizer's EOS.
const char *template_end_of_turn(const char *name);

// A message of a multi-turn conversation, in pieces so that a caller can tell
// the content and its end of turn (what an assistant is trained to write) from
// the rest: head + content + *end + *sep. chatml (the only template with turns):
// head "<|im_start|>{role}\n" written into buf (capacity cap), end "<|im_end|>",
// sep "\n"; roles system, user and assistant. Returns 0, or -1 after err_set
// for another template, an unknown role or a buffer too small.
int template_message(const char *name, const char *role, char *buf, size_t cap, const char **end, const char **sep);

#endif
