// KV cache storage: offsets of each (layer, slot, head) run and the prefix
// copy that shares one prompt's keys and values with its G sample slots.
#include "model/kvcache.h"

#include <string.h>

#include "base/err.h"

static int kv_stride(int max_T) { return (max_T + KV_BLOCK - 1) / KV_BLOCK * KV_BLOCK; }

static size_t kv_floats(const ModelConfig *c, int n_slots, int max_T) {
    return (size_t)c->n_layers * (size_t)n_slots * (size_t)c->n_kv_heads * (size_t)kv_stride(max_T) * (size_t)c->head_dim;
}

size_t kvcache_bytes(const ModelConfig *cfg, int n_slots, int max_T) {
    return 2 * arena_round(kv_floats(cfg, n_slots, max_T) * sizeof(float));
}

int kvcache_init(KVCache *kv, Arena *a, const ModelConfig *cfg, int n_slots, int max_T) {
    memset(kv, 0, sizeof *kv);
    if (n_slots < 1 || max_T < 1) return err_set("kv cache: need at least one slot and one position");
    size_t n = kv_floats(cfg, n_slots, max_T);
    kv->k = arena_alloc(a, n * sizeof(float));
    kv->v = kv->k ? arena_alloc(a, n * sizeof(float)) : NULL;
    if (!kv->v) return err_wrap("kv cache (%d slots x %d positions)", n_slots, max_T);
    kv->n_layers = cfg->n_layers;
    kv->n_slots = n_slots;
    kv->max_T = max_T;
    kv->stride = kv_stride(max_T);
    kv->n_kv_heads = cfg->n_kv_heads;
    kv->head_dim = cfg->head_dim;
    return 0;
}

static size_t kv_offset(const KVCache *kv, int layer, int slot, int head) {
    size_t run = (size_t)kv->stride * (size_t)kv->head_dim;
    return (((size_t)layer * (size_t)kv->n_slots + (size_t)slot) * (size_t)kv->n_kv_heads + (size_t)head) * run;
}

float *kvcache_k(const KVCache *kv, int layer, int slot, int head) { return kv->k + kv_offset(kv, layer, slot, head); }

float *kvcache_v(const KVCache *kv, int layer, int slot, int head) { return kv->v + kv_offset(kv, layer, slot, head); }

void kvcache_copy_prefix(KVCache *kv, int dst, int src, int n) {
    AHA_ASSERT(dst >= 0 && dst < kv->n_slots && src >= 0 && src < kv->n_slots && n >= 0 && n <= kv->max_T);
    if (dst == src || n == 0) return;
    size_t HD = (size_t)kv->head_dim, bytes = (size_t)n * HD * sizeof(float), block = HD * KV_BLOCK;
    int full = n / KV_BLOCK, rest = n % KV_BLOCK;
    for (int l = 0; l < kv->n_layers; l++)
        for (int h = 0; h < kv->n_kv_heads; h++) {
            const float *ks = kvcache_k(kv, l, src, h);
            float *kd = kvcache_k(kv, l, dst, h);
            memcpy(kd, ks, (size_t)full * block * sizeof(float));
            for (size_t i = 0; i < HD && rest; i++)   // the first positions of a partial last block
                memcpy(kd + full * block + i * KV_BLOCK, ks + full * block + i * KV_BLOCK, (size_t)rest * sizeof(float));
            memcpy(kvcache_v(kv, l, dst, h), kvcache_v(kv, l, src, h), bytes);
        }
}
