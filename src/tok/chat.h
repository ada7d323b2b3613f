// The chat templates of model families (Qwen2.5, Qwen3), recognised from the
// chat_template text a tokenizer_config.json ships and rendered in C. This is no
// Jinja interpreter: a template that is not one of the known forms is refused.
#ifndef AHA_TOK_CHAT_H
#define AHA_TOK_CHAT_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum {
    CHAT_QWEN25 = 1,   // system turn (a default one when none is given), ChatML turns
    CHAT_QWEN3,        // ChatML turns, <think> blocks, enable_thinking
} ChatFamily;

typedef struct {
    ChatFamily family;
    char default_system[512];   // CHAT_QWEN25: the system turn when the messages have none
} ChatForm;

// One message. reasoning: the assistant's reasoning_content, or NULL when the
// message has none (Qwen3 then takes it from a <think>...</think> in content).
typedef struct {
    const char *role;   // system, user, assistant
    const char *content;
    const char *reasoning;
} ChatMessage;

typedef struct {
    int add_generation_prompt;   // end with the opening of an assistant turn
    int enable_thinking;         // Qwen3: 0 puts an empty think block after the generation prompt
} ChatOpts;

// Receives the rendering piece by piece, in order. assistant is 1 for what an
// assistant turn writes (its content and the end of its turn), 0 for the rest.
// Returns 0, or -1 after err_set to stop the rendering.
typedef int (*ChatSink)(void *ctx, const char *s, size_t n, int assistant);

// Which known form chat_template is. Qwen2.5's form is recognised with any
// default system prompt (Qwen2.5-Math's, say), taken from the template. Returns
// 0, or -1 after err_set naming where (the file) and the forms aha knows.
int chat_recognise(ChatForm *f, const char *chat_template, const char *where);
// The built-in form of a family: "qwen2.5" (Qwen's default system prompt) or
// "qwen3". Returns 0, or -1 when name is neither (no error set).
int chat_form_named(ChatForm *f, const char *name);
// Render n messages as the family's template does with tools absent. Roles
// other than system, user and assistant are refused. Returns 0, or -1 after
// err_set (from the sink or naming the message).
int chat_render(const ChatForm *f, const ChatMessage *m, int n, const ChatOpts *o, ChatSink sink, void *ctx);
// The same into a malloc'd string (caller frees) in *out. Returns 0 or -1.
int chat_render_string(const ChatForm *f, const ChatMessage *m, int n, const ChatOpts *o, char **out);

// The messages of a JSON array [{"role", "content", "reasoning_content"?}, ...]
// as a malloc'd array of *n (caller frees; the strings stay the JSON's).
// Returns NULL after err_set naming the message and field.
ChatMessage *chat_messages_parse(const cJSON *msgs, int *n);

#endif
