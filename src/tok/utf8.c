// UTF-8 helpers for the tokenizer: byte-level map, invalid-sequence replacement, ECMAScript
// white space, NFC. NFC itself is utf8proc's; this file only decides quickly when text is
// already NFC so the common case allocates nothing.
#include "tok/utf8.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int byte_printable(int b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

// The 68 non-printable bytes, in order, take U+0100 + their rank among them:
// 0..32 -> +0..32, 127..160 -> +33..66, 173 -> +67.
uint32_t utf8_byte_cp(int b) {
    if (byte_printable(b)) return (uint32_t)b;
    if (b <= 32) return 256u + (uint32_t)b;
    if (b <= 160) return 256u + 33u + (uint32_t)(b - 127);
    return 256u + 67u;   // 173
}

int utf8_cp_byte(uint32_t cp) {
    if (cp < 256) return byte_printable((int)cp) ? (int)cp : -1;
    if (cp <= 256 + 32) return (int)(cp - 256);
    if (cp <= 256 + 66) return (int)(cp - 256 - 33 + 127);
    if (cp == 256 + 67) return 173;
    return -1;
}

int utf8_byte_order(int i) {
    if (i < 94) return 33 + i;            // '!'..'~'
    if (i < 106) return 161 + (i - 94);   // U+00A1..U+00AC
    if (i < 188) return 174 + (i - 106);  // U+00AE..U+00FF
    int j = i - 188;                      // the non-printables, in byte order
    if (j < 33) return j;
    if (j < 67) return 127 + (j - 33);
    return 173;
}

int utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned b = s[0];
    if (b < 0x80 || n < 2) { *cp = b; return 1; }
    if (b < 0xE0) { *cp = ((b & 0x1Fu) << 6) | (s[1] & 0x3Fu); return 2; }
    if (b < 0xF0 || n < 4) {
        if (n < 3) { *cp = b; return 1; }
        *cp = ((b & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        return 3;
    }
    *cp = ((b & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    return 4;
}

int utf8_put(uint32_t cp, char *out) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | (cp >> 6)); o[1] = (unsigned char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

// Length of the valid sequence at s[i], or -(bytes to replace by one U+FFFD): the WHATWG
// decoder's rule (a lead byte plus the continuation bytes that were still acceptable).
static long seq_at(const unsigned char *s, size_t len, size_t i) {
    unsigned b = s[i];
    if (b < 0x80) return 1;
    int need;
    unsigned lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b == 0xE0) need = 2, lo = 0xA0;
    else if (b == 0xED) need = 2, hi = 0x9F;
    else if (b >= 0xE1 && b <= 0xEF) need = 2;
    else if (b == 0xF0) need = 3, lo = 0x90;
    else if (b >= 0xF1 && b <= 0xF3) need = 3;
    else if (b == 0xF4) need = 3, hi = 0x8F;
    else return -1;
    size_t j = i + 1;
    for (int k = 0; k < need; k++, j++) {
        if (j >= len || s[j] < lo || s[j] > hi) return -(long)(j - i);
        lo = 0x80, hi = 0xBF;
    }
    return (long)(j - i);
}

size_t utf8_valid_prefix(const char *s, size_t len) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] < 0x80) { i++; continue; }
        long l = seq_at(u, len, i);
        if (l < 0) break;
        i += (size_t)l;
    }
    return i;
}

// Write u[0..len) to o with each maximal invalid subsequence as U+FFFD;
// returns the bytes written (at most 3 * len). o may lie below u in one buffer
// when o + 2 * len <= u: the writes never pass the bytes still to be read.
static size_t replace_invalid(char *o, const unsigned char *u, size_t len) {
    size_t w = 0, i = 0;
    while (i < len) {
        long l = seq_at(u, len, i);
        if (l > 0) {
            memmove(o + w, u + i, (size_t)l);
            w += (size_t)l, i += (size_t)l;
        } else {
            w += (size_t)utf8_put(0xFFFD, o + w);
            i += (size_t)(-l);
        }
    }
    return w;
}

int utf8_sanitize(const char *s, size_t len, char **out, size_t *out_len) {
    *out = NULL;
    size_t i = utf8_valid_prefix(s, len);
    if (i == len) return 0;
    // Worst case every byte becomes 3 bytes of U+FFFD.
    char *o = malloc(len * 3 + 1);
    if (!o) return -1;
    memcpy(o, s, i);
    size_t w = i + replace_invalid(o + i, (const unsigned char *)s + i, len - i);
    o[w] = 0;
    *out = o;
    *out_len = w;
    return 1;
}

size_t utf8_sanitize_in_place(char *s, size_t len) {
    size_t i = utf8_valid_prefix(s, len), tail = len - i;
    if (tail == 0) return len;
    // The invalid tail moves to the end of the room and is rewritten from there.
    unsigned char *from = (unsigned char *)s + i + 2 * tail;
    memmove(from, s + i, tail);
    size_t w = i + replace_invalid(s + i, from, tail);
    s[w] = 0;
    return w;
}

int utf8_json_write(FILE *f, const char *s, size_t n) {
    putc('"', f);
    size_t run = 0;   // start of the pending run of bytes that need no escape
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        fwrite(s + run, 1, i - run, f);
        run = i + 1;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\r') fputs("\\r", f);
        else fprintf(f, "\\u%04x", c);
    }
    fwrite(s + run, 1, n - run, f);
    putc('"', f);
    return ferror(f) ? -1 : 0;
}

int utf8_is_js_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

// ---- NFC
// A code point is "inert" when NFC leaves it alone whatever its (inert) neighbours are:
// combining class 0, not the second half of any canonical composition (utf8proc marks
// those with comb_index >= 0x8000; Hangul V and T jamo compose algorithmically), and
// either no canonical decomposition or one that recomposes to itself and does not start
// with such a second half. A string of inert code points is NFC.
static uint8_t nfc_inert_bits[0x110000 / 8];
static pthread_once_t nfc_once = PTHREAD_ONCE_INIT;

static int first_of_decomposition_is_second(utf8proc_int32_t cp, int *recomposes) {
    utf8proc_uint8_t in[4];
    utf8proc_ssize_t n = utf8proc_encode_char(cp, in);
    utf8proc_uint8_t *d = NULL, *c = NULL;
    *recomposes = 0;
    if (utf8proc_map(in, n, &d, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE) < 0) return 1;
    utf8proc_ssize_t cl = utf8proc_map(in, n, &c, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    *recomposes = cl == n && memcmp(c, in, (size_t)n) == 0;
    utf8proc_int32_t first = 0;
    utf8proc_iterate(d, -1, &first);
    const utf8proc_property_t *p = utf8proc_get_property(first);
    int second = p->combining_class != 0 || (p->comb_index != 0xFFFF && p->comb_index >= 0x8000);
    free(d);
    free(c);
    return second;
}

static void nfc_build(void) {
    for (utf8proc_int32_t cp = 0; cp < 0x110000; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        int inert = 1;
        if (cp >= 0x300) {
            const utf8proc_property_t *p = utf8proc_get_property(cp);
            if (p->combining_class != 0) inert = 0;
            else if (p->comb_index != 0xFFFF && p->comb_index >= 0x8000) inert = 0;
            else if ((cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11A8 && cp <= 0x11C2)) inert = 0;
            else if (p->decomp_seqindex != 0xFFFF && p->decomp_type == 0) {
                int recomposes;
                if (first_of_decomposition_is_second(cp, &recomposes) || !recomposes) inert = 0;
            }
        }
        if (inert) nfc_inert_bits[cp >> 3] |= (uint8_t)(1u << (cp & 7));
    }
}

static int inert(uint32_t cp) {
    return cp < 0x300 || (cp < 0x110000 && (nfc_inert_bits[cp >> 3] & (1u << (cp & 7))));
}

// NFC only changes text inside runs of non-inert code points (and the inert code point
// just before such a run, which may compose with it), so only those pieces go through
// utf8proc; the rest is copied.
int utf8_nfc(const char *s, size_t len, char **out, size_t *out_len) {
    const unsigned char *u = (const unsigned char *)s;
    *out = NULL;
    size_t i = 0;
    while (i < len && u[i] < 0x80) i++;
    if (i == len) return 0;
    pthread_once(&nfc_once, nfc_build);
    char *o = NULL;
    size_t w = 0, cap = 0, copied = 0;   // s[0..copied) is already in o
    size_t last_inert = i ? i - 1 : 0;   // start of the last inert code point seen
    while (i < len) {
        uint32_t cp;
        size_t at = i;
        i += u[i] < 0x80 ? 1 : (size_t)utf8_next(u + i, len - i, &cp);
        if (u[at] < 0x80 || inert(cp)) { last_inert = at; continue; }
        // A run: from the inert code point before it to the next inert one.
        size_t begin = last_inert < copied ? copied : last_inert;
        if (begin > at) begin = at;
        while (i < len) {
            size_t l = u[i] < 0x80 ? 1 : (size_t)utf8_next(u + i, len - i, &cp);
            if (u[i] < 0x80 || inert(cp)) break;
            i += l;
        }
        utf8proc_uint8_t *d = NULL;
        utf8proc_ssize_t n = utf8proc_map(u + begin, (utf8proc_ssize_t)(i - begin), &d,
                                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (n < 0) { free(o); return -1; }
        size_t need = w + (begin - copied) + (size_t)n + (len - i) + 1;
        if (need > cap) {
            cap = need * 2;
            char *q = realloc(o, cap);
            if (!q) { free(o); free(d); return -1; }
            o = q;
        }
        memcpy(o + w, s + copied, begin - copied);
        w += begin - copied;
        memcpy(o + w, d, (size_t)n);
        w += (size_t)n;
        free(d);
        copied = i;
        last_inert = i;
    }
    if (!o) return 0;
    memcpy(o + w, s + copied, len - copied);
    w += len - copied;
    o[w] = 0;
    *out = o;
    *out_len = w;
    return 1;
}
