// The key/value cache of the incremental (decode) forward: one block per
// sampler, sized up front for (slots × max_T) positions of every layer, carved
// from the caller's arena. It never grows and never allocates.
#ifndef AHA_KVCACHE_H
#define AHA_KVCACHE_H

#include <stddef.h>

#include "base/arena.h"
#include "model/model.h"

// Letters: L layers, S slots (one per sequence), NKV key/value heads, T max
// positions, HD head dim. Each (layer, slot, head) owns a contiguous (T, HD)
// run so attention over a sequence reads memory in order.
typedef struct {
    int n_layers, n_slots, max_T, n_kv_heads, head_dim;
    float *k;   // (L, S, NKV, T, HD) rotated keys
    float *v;   // (L, S, NKV, T, HD) values
} KVCache;

// Bytes kvcache_init takes from an arena (for sizing it first).
size_t kvcache_bytes(const ModelConfig *cfg, int n_slots, int max_T);
// Carve the cache from `a`. Returns 0, or -1 (err_set) when it does not fit.
int kvcache_init(KVCache *kv, Arena *a, const ModelConfig *cfg, int n_slots, int max_T);
// The (T, HD) key / value rows of one layer, slot and kv head.
float *kvcache_k(const KVCache *kv, int layer, int slot, int head);
float *kvcache_v(const KVCache *kv, int layer, int slot, int head);
// Copy positions [0, n) of slot src into slot dst, every layer and head (the
// shared prompt prefix of a group of samples).
void kvcache_copy_prefix(KVCache *kv, int dst, int src, int n);

#endif
