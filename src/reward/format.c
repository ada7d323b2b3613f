// Format rewards (R1): the strict <think>…</think><answer>…</answer> layout and
// the softer tag_count. When the prompt prefilled "<think>", the completion is
// judged as if that tag were written at its start. Neither looks at the content.
#include "reward/reward.h"
#include "reward/text.h"

#include <string.h>

static const char *const TAGS[4] = {"<think>", "</think>", "<answer>", "</answer>"};

// Occurrences of each tag in "<think>" (if prefilled) + completion.
static void count_tags(const RewardInput *in, size_t counts[4]) {
    for (int k = 0; k < 4; k++) counts[k] = text_count(in->completion, in->completion_len, TAGS[k]);
    if (in->prefilled_think) counts[0]++;
}

static const char *skip_space(const char *p, const char *end) {
    while (p < end && text_is_space(*p)) p++;
    return p;
}

// 1 when the text is: [space] <think> … </think> [space] <answer> … </answer> [space],
// each tag exactly once; else 0.
double reward_format(const RewardInput *in, const RewardParams *p) {
    (void)p;
    size_t counts[4];
    count_tags(in, counts);
    for (int k = 0; k < 4; k++)
        if (counts[k] != 1) return 0.0;
    const char *s = in->completion, *end = s + in->completion_len;
    const char *q = s;
    if (!in->prefilled_think) {
        q = skip_space(s, end);
        if ((size_t)(end - q) < 7 || memcmp(q, "<think>", 7) != 0) return 0.0;
    }
    const char *close = memmem(q, (size_t)(end - q), "</think>", 8);
    if (!close) return 0.0;
    q = skip_space(close + 8, end);
    if ((size_t)(end - q) < 8 || memcmp(q, "<answer>", 8) != 0) return 0.0;
    const char *aclose = memmem(q, (size_t)(end - q), "</answer>", 9);
    if (!aclose) return 0.0;
    return skip_space(aclose + 9, end) == end ? 1.0 : 0.0;
}

// 0.25 for each of the four tags that occurs exactly once (resists tag spamming).
double reward_tag_count(const RewardInput *in, const RewardParams *p) {
    (void)p;
    size_t counts[4];
    count_tags(in, counts);
    double r = 0.0;
    for (int k = 0; k < 4; k++)
        if (counts[k] == 1) r += 0.25;
    return r;
}
