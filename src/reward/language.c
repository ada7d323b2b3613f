// Language consistency (R1): the fraction of words in the chain of thought written
// in the target language, judged by script alone (no dictionary): a word is a run
// of letters of one script, and each Han character is a word of its own.
#include "reward/reward.h"
#include "reward/text.h"
#include "base/err.h"

#include <math.h>
#include <string.h>

enum { SC_NONE = 0, SC_LATIN, SC_HAN, SC_KANA, SC_HANGUL, SC_CYRILLIC, SC_OTHER };

// Decodes one UTF-8 sequence at s[0..n); returns its length (1 for an invalid
// byte, which then decodes to U+FFFD and counts as a separator).
static size_t utf8_next(const unsigned char *s, size_t n, unsigned *cp) {
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || len > n) return *cp = 0xFFFD, 1;
    unsigned v = len == 1 ? c : c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return *cp = 0xFFFD, 1;
        v = (v << 6) | (s[k] & 0x3F);
    }
    static const unsigned min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_for_len[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return *cp = 0xFFFD, 1;
    *cp = v;
    return len;
}

static int script_of(unsigned c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return SC_LATIN;
    if (c < 0xC0) return SC_NONE;
    if (c <= 0x24F) return (c == 0xD7 || c == 0xF7) ? SC_NONE : SC_LATIN;
    if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF))
        return SC_HAN;
    if (c >= 0x3040 && c <= 0x30FF) return SC_KANA;
    if ((c >= 0xAC00 && c <= 0xD7AF) || (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3130 && c <= 0x318F))
        return SC_HANGUL;
    if (c >= 0x400 && c <= 0x4FF) return SC_CYRILLIC;
    if ((c >= 0x370 && c <= 0x3FF) || (c >= 0x590 && c <= 0x6FF) || (c >= 0x900 && c <= 0xDFF) ||
        (c >= 0xE00 && c <= 0xE7F))
        return SC_OTHER;  // Greek, Hebrew, Arabic, Indic, Thai
    return SC_NONE;
}

// Bit set of the scripts that count as the language, or 0 when unknown.
static unsigned lang_scripts(const char *lang) {
    if (strcmp(lang, "en") == 0) return 1u << SC_LATIN;
    if (strcmp(lang, "zh") == 0) return 1u << SC_HAN;
    if (strcmp(lang, "ja") == 0) return (1u << SC_HAN) | (1u << SC_KANA);
    if (strcmp(lang, "ko") == 0) return 1u << SC_HANGUL;
    if (strcmp(lang, "ru") == 0) return 1u << SC_CYRILLIC;
    return 0;
}

// The words of the chain of thought of a completion; *hits receives those in
// the scripts of want, *scripts the bit set of scripts seen.
static size_t count_words(const char *text, size_t len, int prefilled_think, unsigned want, size_t *hits,
                          unsigned *scripts) {
    ThinkSplit sp;
    text_think_split(&sp, text, len, prefilled_think);
    const unsigned char *s = (const unsigned char *)sp.think;
    size_t n = sp.think_len, words = 0;
    int prev = SC_NONE;
    *hits = 0, *scripts = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        i += utf8_next(s + i, n - i, &cp);
        int sc = script_of(cp);
        // A word starts at a script change; every Han character is a word.
        if (sc != SC_NONE && (sc != prev || sc == SC_HAN)) {
            words++;
            *hits += (want >> sc) & 1u;
            *scripts |= 1u << sc;
        }
        prev = sc;
    }
    return words;
}

double reward_language(const RewardInput *in, const RewardParams *p) {
    // target= as the R1 recipe names it; lang= as well.
    const char *lang = reward_param_string(p, "target", reward_param_string(p, "lang", "en"));
    unsigned want = lang_scripts(lang), scripts;
    if (!want) return err_set("unknown language '%s' (known: en, zh, ja, ko, ru)", lang), NAN;
    size_t hits, words = count_words(in->completion, in->completion_len, in->prefilled_think, want, &hits, &scripts);
    return words ? (double)hits / (double)words : 0.0;
}

int language_mixed(const char *text, size_t len, int prefilled_think) {
    size_t hits;
    unsigned scripts;
    count_words(text, len, prefilled_think, 0, &hits, &scripts);
    return (scripts & (scripts - 1)) != 0;   // two or more bits
}
