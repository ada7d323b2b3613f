// Reward-model datasets as TRL's RewardTrainer reads them, one JSON object per
// line: pairwise {"prompt", "chosen", "rejected"} (optional "margin"), or
// pointwise {"prompt", "completion", "label"} with label 0 or 1. Each side is
// text (the prompt rendered with a template, then the completion) or, in the
// conversational form, a list of {"role", "content"} messages rendered as
// chatml; the prompt may be absent (an implicit prompt inside each side). One
// file holds one kind. Refuses a pair whose two sides are equal and a label
// outside {0, 1}; errors name FILE:LINE and the field.
#ifndef AHA_TRAIN_RM_DATA_H
#define AHA_TRAIN_RM_DATA_H

#include "train/sft_data.h"

typedef enum { RM_PAIRWISE = 0, RM_POINTWISE = 1 } RmKind;

typedef struct {
    SftExample a;    // chosen (pairwise) or the completion (pointwise); EOS appended
    SftExample b;    // rejected (pairwise); unused pointwise
    float label;     // pointwise: 0 or 1
    float margin;    // pairwise: the row's "margin" (0 when absent)
} RmExample;

typedef struct {
    RmKind kind;
    int n;
    RmExample *ex;
    long skipped_long;   // rows with a side longer than max_len (with skip_long)
} RmData;

// Returns 0, or -1 after err_set "FILE:LINE: ..." (a row of neither kind, a
// kind other than the file's first row's, a bad field, equal sides, a bad
// label, a side longer than max_len without skip_long).
int rm_data_load(RmData *d, const char *path, const SftDataOpts *o);
void rm_data_free(RmData *d);

// One side: prompt (a string, a message list, or NULL) then completion (a
// string or a message list), encoded as sft_data_encode does (ids and train
// malloc'd). Returns 0, 1 (too long, skip_long set) or -1 after err_set.
int rm_data_encode(const SftDataOpts *o, const cJSON *prompt, const cJSON *completion, SftExample *e);

#endif
