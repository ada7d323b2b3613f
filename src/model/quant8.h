// Blockwise 8-bit quantization with a dynamic map, for optimizer state
// (8-bit AdamW, as in Dettmers et al., "8-bit Optimizers via Block-wise
// Quantization"). A block of values is stored as one byte each plus the
// block's absolute maximum; a byte indexes a sorted table of 256 levels in
// [-1, 1] (signed) or [0, 1] (unsigned) whose spacing grows with magnitude, so
// small values keep their relative precision:
//   level e = 0, 1, ... holds 2^(b - e) values 10^-e * (0.1 + 0.9 k / 2^(b - e)),
//   k = 1 .. 2^(b - e), with b = 6 signed (both signs) or 7 unsigned, plus 0.
// Encoding picks the nearest level (the lower one on a tie), so it is exact
// for every level and a pure function of the block.
#ifndef AHA_QUANT8_H
#define AHA_QUANT8_H

#include <stddef.h>
#include <stdint.h>

#define Q8_BLOCK 256

// The 256 levels, ascending. The signed map has 255 distinct levels; its
// code 255 repeats the largest. Built on first use (call once before threads).
const float *q8_map(int is_signed);

// Quantize x[0..n) (n <= Q8_BLOCK) to codes; returns the block's absmax
// (0 for an all-zero block, whose codes then decode to 0).
float q8_encode(const float *x, size_t n, int is_signed, uint8_t *codes);
void q8_decode(const uint8_t *codes, size_t n, int is_signed, float absmax, float *x);

// Blocks of a tensor of n values.
static inline size_t q8_blocks(size_t n) { return (n + Q8_BLOCK - 1) / Q8_BLOCK; }

#endif
