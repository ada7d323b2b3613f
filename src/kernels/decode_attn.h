// The decode path's causal attention over a blocked key/value cache: a few
// rows' query heads against one kv head, each score and each output one FMA
// chain in a fixed order, so a row's numbers do not depend on its neighbours.
#ifndef AHA_KERNELS_DECODE_ATTN_H
#define AHA_KERNELS_DECODE_ATTN_H

#include <stddef.h>

#include "kernels/simd.h"

// Positions per key block (KB): keys are stored in blocks of KB positions,
// each block transposed, (HD, KB), so one vector holds a block's scores.
#define DECODE_ATTN_BLOCK VW

// Attention of nr rows, GRP query heads each, that share one kv head:
//   s_mt = q_m·k_t / √HD for t < len[r];  a_m = softmax(s_m);  out_m = Σ_t a_mt v_t
// Query m (row r = m / GRP, head m % GRP) is q + r·stride + (m % GRP)·HD, its
// output the same offset of out. Positions [0, split) come from Kp/Vp (a prompt
// prefix the rows share; split may be 0 and Kp/Vp NULL), positions
// [split, len[r]) from row r's own K[r]/V[r]; keys are stored (blocks, HD, KB),
// values (T, HD), each padded to whole key blocks. S (nr·GRP, T) is scratch.
// The prefix's keys and values are loaded once for a few queries at a time;
// however rows are grouped, every number comes out the same.
void decode_attn(float *out, const float *q, size_t stride, const float *Kp, const float *Vp, int split,
                 const float *const *K, const float *const *V, const int *len, int nr, int GRP, int HD, int T,
                 float *S);

#endif
