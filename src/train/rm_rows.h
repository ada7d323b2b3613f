// On-policy reward-model rows: a policy's judged samples (the rows `aha eval
// --samples` writes: "id", "prompt", "gold", "completion", "correct" as the
// task's rule judged it) turned into preference pairs {prompt, chosen,
// rejected, id} (a right answer over a wrong one to the same prompt) or, for
// harmful requests (gold REFUSE), safety labels {prompt, completion, label,
// id}. Each side is the answer as `rm:DIR:view=answer` reads it
// (text_answer_view); an empty one is left out. Distinct answers only, at most per_prompt rows of each
// prompt (per label for labels), so a policy's favourite answer does not
// flood the set. Rows are grouped by id wherever they stand (a prompt eval
// drew twice is one group); groups are written in the order their ids first
// appear.
#ifndef AHA_TRAIN_RM_ROWS_H
#define AHA_TRAIN_RM_ROWS_H

#include <stdio.h>

enum { RM_ROWS_PAIRS = 0, RM_ROWS_LABELS = 1 };

// Read samples (a path, "-" for stdin) and write the rows to f. *written
// receives the row count (may be NULL). Returns 0, or -1 after err_set naming
// FILE:LINE (a row that is not JSON, a missing field).
int rm_rows_write(const char *samples, int kind, int per_prompt, FILE *f, long *written);

#endif
