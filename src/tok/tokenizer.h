// Hugging Face tokenizer.json byte-level BPE (Qwen2/Qwen3, Llama-3, GPT-2): load, encode,
// decode, and training of a new byte-level BPE written as tokenizer.json. Encoding equals
// Hugging Face's encode(text, add_special_tokens=False); nothing else (no WordPiece, no
// Unigram, no post-processor templates, no offsets) is supported, and loading says so.
#ifndef AHA_TOK_TOKENIZER_H
#define AHA_TOK_TOKENIZER_H

#include <stddef.h>

typedef struct Tokenizer Tokenizer;

// Load a tokenizer. path is a tokenizer.json file, or a directory holding tokenizer.json
// and optionally tokenizer_config.json (bos/eos/pad tokens, clean_up_tokenization_spaces).
// A file path also picks up tokenizer_config.json beside it. Supported: model type BPE
// with byte-level pre-tokenizer/decoder, merges as "a b" or ["a","b"], normalizer null or
// NFC, pre_tokenizer ByteLevel or a Sequence of Split (Regex, Isolated) stages followed by
// ByteLevel(use_regex false), added tokens (special or not, lstrip/rstrip honoured).
// Returns NULL after err_set() naming the file and field on any failure; never aborts on
// bad input. Free with tok_free. The result is read-only: one Tokenizer may be used by
// many threads at once.
Tokenizer *tok_load(const char *path);
// The same from memory: json is the tokenizer.json text, config (may be NULL) the
// tokenizer_config.json text; name is used in error messages.
Tokenizer *tok_load_mem(const char *json, size_t json_len, const char *config,
                        size_t config_len, const char *name);
void tok_free(Tokenizer *tok);

// Encode len bytes of UTF-8 text. Added tokens (special or not) found in the text are
// matched first, leftmost and longest first, and become their ids; the text between them
// is normalized (NFC when the file asks), split by the pre-tokenizer regex (PCRE2, UTF +
// Unicode properties; \s means the ECMAScript white space set, as transformers.js reads
// the same pattern) and BPE-merged.
// Unicode tables are PCRE2's (\p{L}, \p{N}) and utf8proc's (NFC): code points assigned
// after those versions (Unicode 14/15) may split differently from a newer reference.
// Invalid UTF-8: each maximal invalid subsequence is replaced by U+FFFD before encoding
// (the WHATWG / TextDecoder rule), so the ids equal those the reference gives for the
// same bytes decoded as text. NUL bytes are ordinary characters.
// On success stores a malloc'd array (caller frees; may be NULL when *n == 0) in *ids and
// its length in *n and returns 0; returns -1 with err_set() on allocation failure.
int tok_encode(const Tokenizer *tok, const char *text, size_t len, int **ids, int *n);
// A reusable encoder for one thread: its scratch (regex match data, the word's
// symbols, the ids it returns) is kept between calls, so encoding text after
// text stops allocating once its buffers are big enough (new words still enter
// the tokenizer's shared cache; invalid UTF-8 or non-NFC text gets a fixed copy).
// create returns NULL after err_set; run encodes as tok_encode does into *ids,
// which points into the encoder until its next run.
typedef struct TokEncoder TokEncoder;
TokEncoder *tok_encoder_create(const Tokenizer *tok);
int tok_encoder_run(TokEncoder *e, const char *text, size_t len, const int **ids, int *n);
void tok_encoder_free(TokEncoder *e);

// Decode ids to text. Added tokens contribute their content verbatim; the runs of
// byte-level tokens between them are turned back into bytes and each run is made valid
// UTF-8 by replacing each maximal invalid subsequence with U+FFFD (as Hugging Face's
// errors="replace"), so a cut-off multi-byte character decodes to U+FFFD. When
// tokenizer_config.json sets clean_up_tokenization_spaces, the English clean-up
// (" ." -> ".", " n't" -> "n't", ...) is applied. Returns a malloc'd NUL-terminated string
// (caller frees) and its length in *len (may be NULL); NULL with err_set() when an id is
// out of range (the message names its index) or allocation fails.
char *tok_decode(const Tokenizer *tok, const int *ids, int n, size_t *len);

// Decode generated ids for reading: like tok_decode, but an id the tokenizer
// lacks (a model vocabulary padded past the tokenizer's, as Qwen's is, or a
// random model's) reads as U+FFFD instead of failing. NULL only when out of
// memory.
char *tok_decode_lenient(const Tokenizer *tok, const int *ids, int n, size_t *len);
// The same two, appending to the caller's buffer: *buf (capacity *cap, realloc'd
// when it must grow, so a reused buffer stops allocating once it is big enough)
// gets the text at *len, *len grows by its length and the text is NUL-terminated.
// Return 0, or -1 after err_set (the buffer stays the caller's to free).
int tok_decode_append(const Tokenizer *tok, const int *ids, int n, char **buf, size_t *len, size_t *cap);
int tok_decode_lenient_append(const Tokenizer *tok, const int *ids, int n, char **buf, size_t *len, size_t *cap);
// The raw bytes of one token (added tokens: their content), for streaming output where
// a multi-byte character may span tokens. Borrowed pointer, NULL if id is out of range.
const char *tok_token_bytes(const Tokenizer *tok, int id, size_t *len);

// Number of ids: one more than the largest id in the vocabulary or added tokens.
int tok_vocab_size(const Tokenizer *tok);
// Id of a token given as its vocabulary string (byte-level form, e.g. "Ġthe", or an added
// token's content), or -1 if absent.
int tok_token_id(const Tokenizer *tok, const char *token);
// Vocabulary string of an id (borrowed, NUL-terminated), or NULL if id is unused or out
// of range.
const char *tok_token_str(const Tokenizer *tok, int id);
// 1 if id is an added token marked special, else 0.
int tok_is_special(const Tokenizer *tok, int id);
// Ids of bos/eos/pad from tokenizer_config.json (a string or {"content": ...}), -1 if
// none. Without a config file, eos and pad fall back to none.
int tok_bos_id(const Tokenizer *tok);
int tok_eos_id(const Tokenizer *tok);
int tok_pad_id(const Tokenizer *tok);
// The chat_template of tokenizer_config.json (a string, or the entry named
// "default" of a list), else the text of chat_template.jinja beside
// tokenizer.json, else NULL. *where (may be NULL) names its file for messages.
const char *tok_chat_template(const Tokenizer *tok, const char **where);

// Train a byte-level BPE on len bytes of corpus and write it to out_path as tokenizer.json
// (Qwen-style Split regex + ByteLevel pre-tokenizer, ByteLevel decoder, no normalizer,
// merges in ["a","b"] form), plus tokenizer_config.json in the same directory naming the
// first special token as eos and pad. Ids: 0..255 the byte symbols in GPT-2
// bytes_to_unicode order, then one id per merge, then the special tokens (added tokens,
// special) in the order given. vocab_size is the target total including the specials;
// fewer merges are made when the corpus runs out of pairs (a vocabulary can only be
// smaller, never larger). vocab_size == 256 + n_special gives the pure byte-level
// tokenizer whatever the corpus. Merges pick the most frequent adjacent pair within
// pre-tokenized words, ties broken by the smaller (left id, right id): deterministic.
// Returns 0, or -1 with err_set() (vocab_size < 256 + n_special, empty or duplicate
// special token, write failure).
int tok_train_bpe(const char *corpus, size_t len, int vocab_size,
                  const char *const *special_tokens, int n_special, const char *out_path);
// The default tokenizer of a new model: tok_train_bpe on a small built-in English
// text about arithmetic and reasoning, vocab_size ids in all, with the special
// tokens <|endoftext|> (eos), <|im_start|> and <|im_end|>. Returns 0, or -1 with
// err_set() (vocab_size < 259, write failure).
int tok_train_default(int vocab_size, const char *out_path);

#endif
