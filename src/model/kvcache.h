// The key/value cache of the incremental (decode) forward: one block per
// sampler, sized up front for (slots × max_T) positions of every layer, carved
// from the caller's arena. It never grows and never allocates.
#ifndef AHA_KVCACHE_H
#define AHA_KVCACHE_H

#include <stddef.h>

#include "base/arena.h"
#include "model/model.h"

#include "kernels/decode_attn.h"

#define KV_BLOCK DECODE_ATTN_BLOCK   // positions per key block: one vector

// Letters: L layers, S slots (one per sequence), NKV key/value heads, T max
// positions, HD head dim, KB = KV_BLOCK. Each (layer, slot, head) owns one
// contiguous run. Keys are stored in blocks of KB positions, each block
// transposed, (HD, KB): the scores q·k_t of KB positions are one vector
// multiply-add per i, and a block is read (and a key written) within a few
// kilobytes. Values are (T, HD) rows.
typedef struct {
    int n_layers, n_slots, max_T, n_kv_heads, head_dim;
    int stride;  // TS: max_T rounded up to KV_BLOCK, so blocked loops may read a whole last block
    float *k;   // (L, S, NKV, TS/KB, HD, KB) rotated keys
    float *v;   // (L, S, NKV, TS, HD) values
} KVCache;

// Bytes kvcache_init takes from an arena (for sizing it first).
size_t kvcache_bytes(const ModelConfig *cfg, int n_slots, int max_T);
// Carve the cache from `a`. Returns 0, or -1 (err_set) when it does not fit.
int kvcache_init(KVCache *kv, Arena *a, const ModelConfig *cfg, int n_slots, int max_T);
// The (TS/KB, HD, KB) keys / (TS, HD) values of one layer, slot and kv head.
float *kvcache_k(const KVCache *kv, int layer, int slot, int head);
float *kvcache_v(const KVCache *kv, int layer, int slot, int head);
// Copy positions [0, n) of slot src into slot dst, every layer and head (the
// shared prompt prefix of a group of samples).
void kvcache_copy_prefix(KVCache *kv, int dst, int src, int n);

#endif
