// Think-block splitting, tag counting and answer-tag lookup (see text.h).
#include "reward/text.h"

#include <string.h>

const char *text_rfind(const char *s, size_t n, const char *needle, size_t m) {
    if (m == 0 || m > n) return NULL;
    for (size_t i = n - m + 1; i-- > 0;)
        if (s[i] == needle[0] && memcmp(s + i, needle, m) == 0) return s + i;
    return NULL;
}

size_t text_count(const char *s, size_t n, const char *tag) {
    size_t m = strlen(tag), count = 0;
    const char *p = s, *end = s + n;
    while ((size_t)(end - p) >= m) {
        const char *q = memmem(p, (size_t)(end - p), tag, m);
        if (!q) break;
        count++;
        p = q + m;
    }
    return count;
}

void text_think_split(ThinkSplit *out, const char *s, size_t n, int prefilled_think) {
    const char *close = text_rfind(s, n, "</think>", 8);
    const char *open = memmem(s, n, "<think>", 7);
    if (close) {
        const char *start = (open && open < close) ? open + 7 : s;
        out->think = start;
        out->think_len = (size_t)(close - start);
        out->region = close + 8;
        out->region_len = (size_t)(s + n - out->region);
    } else if (prefilled_think || open) {
        const char *start = prefilled_think ? s : open + 7;
        out->think = start;
        out->think_len = (size_t)(s + n - start);
        out->region = s;
        out->region_len = prefilled_think ? 0 : (size_t)(open - s);
    } else {
        out->think = out->region = s;
        out->think_len = out->region_len = n;
    }
}

int text_last_answer(const char *s, size_t n, size_t *start, size_t *len) {
    const char *close = text_rfind(s, n, "</answer>", 9);
    if (!close) return 0;
    const char *open = text_rfind(s, (size_t)(close - s), "<answer>", 8);
    if (!open) return 0;
    *start = (size_t)(open + 8 - s);
    *len = (size_t)(close - (open + 8));
    return 1;
}

const char *text_answer_view(const char *s, size_t n, int prefilled_think, size_t *len) {
    ThinkSplit ts;
    size_t start;
    text_think_split(&ts, s, n, prefilled_think);
    if (!text_last_answer(ts.region, ts.region_len, &start, len)) start = 0, *len = ts.region_len;
    const char *a = ts.region + start;
    while (*len > 0 && text_is_space(a[*len - 1])) (*len)--;
    return a;
}
