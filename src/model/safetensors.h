// safetensors files: a strict reader (mmap, every header field validated before
// any byte of data is trusted) and an atomic writer from float32 arrays.
// Refuses: unknown dtypes, shapes that disagree with their byte spans, spans
// outside the file or overlapping each other, duplicate names, oversized headers.
#ifndef AHA_SAFETENSORS_H
#define AHA_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

// Element types of the format. Only F32, BF16, F16 and F64 can be converted
// to float32; the others are recognised so a file holding them still parses.
typedef enum {
    ST_F32 = 0,
    ST_BF16,
    ST_F16,
    ST_F64,
    ST_I64,
    ST_I32,
    ST_I16,
    ST_I8,
    ST_U8,
    ST_BOOL,
    ST_F8_E4M3,
    ST_F8_E5M2,
    ST_N_DTYPES
} SafeDtype;

#define SAFETENSORS_MAX_DIMS 8
// Largest JSON header accepted (the reference implementation uses 100 MB).
#define SAFETENSORS_MAX_HEADER (100u << 20)

typedef struct {
    char *name;                          // owned by the file's name buffer
    SafeDtype dtype;
    int ndim;
    int64_t shape[SAFETENSORS_MAX_DIMS];
    size_t numel;
    size_t begin, end;                   // byte span relative to the data section
    int used;                            // free for callers (model_load marks tensors it took)
} SafeTensor;

typedef struct SafeFile {
    char label[512];        // the path (or a caller's name) for messages
    const uint8_t *bytes;   // whole file (mapped, or the caller's buffer)
    size_t size;            // bytes in the file
    const uint8_t *data;    // data section: bytes + 8 + header length
    size_t data_size;
    int n;                  // tensors (the "__metadata__" entry excluded)
    SafeTensor *tensors;    // (n), sorted by name
    char *names;            // storage for every name
    char *metadata;         // "__metadata__" as compact JSON, or NULL
    int mapped;             // bytes came from mmap and are unmapped at close
} SafeFile;

// Map and parse a file. Returns 0, or -1 with a message naming the file (and
// the tensor when one is at fault). On failure nothing needs closing.
int safetensors_open(SafeFile *f, const char *path);
// Parse a file image held in memory (not copied: it must outlive f).
int safetensors_parse(SafeFile *f, const uint8_t *bytes, size_t size, const char *label);
void safetensors_close(SafeFile *f);

// The tensor called `name`, or NULL.
const SafeTensor *safetensors_find(const SafeFile *f, const char *name);
// Convert a tensor's elements to float32 into out (t->numel floats). Returns
// -1 when its dtype is not a floating type aha converts.
int safetensors_read_f32(const SafeFile *f, const SafeTensor *t, float *out);
// The same into bf16 (the upper half of an fp32's bits): BF16 copied as it
// is, wider types rounded to nearest even. Returns 0 or -1 (err_set).
int safetensors_read_bf16(const SafeFile *f, const SafeTensor *t, uint16_t *out);
// Let go of the memory a mapped file's pages of tensor t take (they are read
// again from the file if touched), so a load holds no more than one tensor
// of the file at a time. A no-op for a caller's buffer.
void safetensors_release(const SafeFile *f, const SafeTensor *t);
// Copy the "__metadata__" string value of key into out (cap bytes). Returns 0,
// or -1 (no err_set) when there is no such string or it does not fit.
int safetensors_meta_get(const SafeFile *f, const char *key, char *out, size_t cap);

const char *safetensors_dtype_name(SafeDtype d);
// Bytes per element (1 for the 8-bit types).
size_t safetensors_dtype_size(SafeDtype d);

// One tensor to write: float32 data converted to the file's dtype.
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[SAFETENSORS_MAX_DIMS];
    const float *data;                   // (prod(shape))
    const uint16_t *data16;              // bf16 data instead, when data is NULL (exact in F32 and BF16)
    const uint8_t *data8;                // raw bytes stored as U8 whatever the file's dtype, when both are NULL
} SafeItem;

// Write items to path atomically in dtype ST_F32 or ST_BF16 (round to nearest
// even); items with data8 are written as U8. metadata is a JSON object of string values (NULL means
// {"format":"pt"}). Returns 0 or -1.
int safetensors_write(const char *path, const SafeItem *items, int n, SafeDtype dtype,
                      const char *metadata_json);
// Bytes safetensors_write would put in the data section for these items.
size_t safetensors_data_bytes(const SafeItem *items, int n, SafeDtype dtype);

// Scalar conversions, exposed for tests.
float safetensors_bf16_to_f32(uint16_t h);
uint16_t safetensors_f32_to_bf16(float x);
float safetensors_f16_to_f32(uint16_t h);

#endif
