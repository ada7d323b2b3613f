// UTF-8 and Unicode helpers for the tokenizer: GPT-2's bytes_to_unicode map, invalid
// UTF-8 replacement (WHATWG maximal subparts -> U+FFFD), ECMAScript white space, and NFC
// through utf8proc with a fast "already NFC" scan. No other normalization forms.
#ifndef AHA_TOK_UTF8_H
#define AHA_TOK_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// GPT-2 bytes_to_unicode: byte b is shown as code point utf8_byte_cp(b) (printable
// bytes map to themselves, the other 68 to U+0100..U+0143 in byte order).
uint32_t utf8_byte_cp(int b);
// Inverse: the byte shown as code point cp, or -1 (cp outside the map).
int utf8_cp_byte(uint32_t cp);
// The byte with id i (0..255) in GPT-2's vocabulary order (printable ranges first).
int utf8_byte_order(int i);

// Decode one code point of valid UTF-8 at s (n bytes left); returns its length.
int utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
// Encode cp; returns the number of bytes written (1..4) to out.
int utf8_put(uint32_t cp, char *out);

// Replace each maximal invalid subsequence with U+FFFD. Returns 0 and leaves *out NULL
// when s is already valid; else stores a malloc'd copy (NUL-terminated) in *out and its
// length in *out_len and returns 1; -1 on allocation failure.
int utf8_sanitize(const char *s, size_t len, char **out, size_t *out_len);
// The same in s's own buffer, which must hold 3 * len + 1 bytes; returns the new
// length (len when s was valid) and NUL-terminates when it changed anything.
size_t utf8_sanitize_in_place(char *s, size_t len);
// Bytes of s[0..len) before its first invalid UTF-8 sequence.
size_t utf8_valid_prefix(const char *s, size_t len);

// ECMAScript WhiteSpace or LineTerminator (what String.prototype.trim removes).
int utf8_is_js_space(uint32_t cp);
// The same set written for a PCRE2 character class body.
#define UTF8_JS_SPACE_CLASS                                                              \
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"    \
    "\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"

// NFC of valid UTF-8. Returns 0 and leaves *out NULL when s is already NFC (checked by
// a fast scan: ASCII and characters that can neither decompose nor compose); else stores
// a malloc'd normalized copy in *out and its length in *out_len and returns 1; -1 on
// failure.
int utf8_nfc(const char *s, size_t len, char **out, size_t *out_len);

// Write s[0..n) as a JSON string literal (quotes included): '"', '\\' and control
// characters escaped, other bytes as they are. Returns 0, or -1 on a write error.
int utf8_json_write(FILE *f, const char *s, size_t n);

#endif
