// SFT datasets as TRL's SFTTrainer reads them, one JSON object per line:
// {"prompt", "completion"} (the prompt rendered with a template), {"messages":
// [{"role", "content"}, ...]} (rendered with the template when it is a chat
// template, qwen2.5, qwen3 or model, else as chatml; assistant turns are the
// completion) or {"text"} (all of it trained). Tokenized into SftExamples with
// EOS appended; errors name FILE:LINE and the field.
#ifndef AHA_TRAIN_SFT_DATA_H
#define AHA_TRAIN_SFT_DATA_H

#include <cjson/cJSON.h>

#include "tok/tokenizer.h"
#include "train/sft.h"

typedef struct {
    const Tokenizer *tok;
    const char *template_name;   // for prompts of prompt/completion rows (and messages, a chat template)
    int eos;                     // appended to every row (a target)
    int max_len;                 // the model's context
    int skip_long;               // drop and count rows longer than max_len instead of refusing
    int exact_completion;        // a completion must encode to ordinary tokens that decode to
                                 // it again (text from another model: distillation)
} SftDataOpts;

typedef struct {
    int n;
    SftExample *ex;     // ex[i].train marks completion, assistant-turn, text and EOS tokens
    long skipped_long;
    long tokens;        // over the kept rows
} SftData;

// Returns 0, or -1 (err_set "FILE:LINE: ...") on a row without the keys of a
// shape, a field of the wrong type, a role chatml does not know, a row with
// nothing to train on beside EOS (an empty completion or text, messages
// without an assistant turn), without skip_long a row longer than max_len, or
// with exact_completion a completion the tokenizer cannot hold as text.
int sft_data_load(SftData *d, const char *path, const SftDataOpts *o);
void sft_data_free(SftData *d);

// One row object (any shape above) as an example with EOS appended: ids and
// train malloc'd (the caller frees both). Returns 0, 1 when the row is longer
// than max_len and skip_long is set (nothing allocated), or -1 after err_set
// naming the field (no FILE:LINE: the caller adds it).
int sft_data_encode(const SftDataOpts *o, const cJSON *obj, SftExample *e);

#endif
