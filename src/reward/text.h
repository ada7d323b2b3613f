// Completion text helpers shared by the rewards: the think block, tag counting and
// the last <answer>…</answer> span. Byte-level and bounded: no allocation, no
// recursion, linear time in the input.
#ifndef AHA_REWARD_TEXT_H
#define AHA_REWARD_TEXT_H

#include <stddef.h>

// The think block and the text where a final answer may be taken from.
// Rule: when "</think>" occurs, the answer region is the text after its LAST
// occurrence, and the chain of thought runs from after the first "<think>" before
// it (or from the start, when the prompt prefilled "<think>" or the tag is
// missing) up to that "</think>". When there is no "</think>" but the completion
// is inside a think block (prefilled, or "<think>" occurs), the block runs to the
// end and only text before "<think>" may hold an answer (none when prefilled).
// Without any think tag, the whole completion is both chain of thought and region.
typedef struct {
    const char *think;   // chain of thought
    size_t think_len;
    const char *region;  // where the final answer may be
    size_t region_len;
} ThinkSplit;

void text_think_split(ThinkSplit *out, const char *s, size_t n, int prefilled_think);

// Number of non-overlapping occurrences of tag in s[0..n).
size_t text_count(const char *s, size_t n, const char *tag);

// The content of the last complete <answer>…</answer> in s[0..n): returns 1 and
// sets *start/*len, or 0 when there is none.
int text_last_answer(const char *s, size_t n, size_t *start, size_t *len);

// The final answer as the reward models read it (rm view=answer): the region
// after the last </think>, and within it the last <answer>...</answer>'s
// content when there is one, trailing whitespace dropped ("<answer> Hello Anna!
// </answer>" is " Hello Anna!", as the chat pairs write it). Borrowed from s.
const char *text_answer_view(const char *s, size_t n, int prefilled_think, size_t *len);

// Last occurrence of needle (length m) in s[0..n), or NULL.
const char *text_rfind(const char *s, size_t n, const char *needle, size_t m);

static inline int text_is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

#endif
