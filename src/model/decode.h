// The incremental forward over the KV cache: any set of rows, each a (token,
// slot, position), goes through the model as one matrix per projection, writes
// its keys/values into the cache and attends over its slot's positions
// [0, pos]. Prefill (many positions of one slot) and decode (one position of
// many slots) are the same call. It never allocates and never trains.
#ifndef AHA_DECODE_H
#define AHA_DECODE_H

#include "base/arena.h"
#include "model/kvcache.h"
#include "model/model.h"

// One layer's matmul weights packed as rowmm panels (kernels/rowmm.h).
typedef struct {
    float *wq, *wk, *wv, *wo, *w_gate, *w_up, *w_down;
} PackedLayer;

// Letters: R rows of one call (≤ max_rows), C hidden, F ffn, NH/NKV heads,
// HD head dim, T max positions, V vocab.
typedef struct {
    ModelConfig cfg;
    int max_rows;       // rows per decode_forward call
    int max_T;          // positions (rope table and attention span)
    int n_threads;      // attention score buffers
    float *cos_tab;     // (T, HD/2)
    float *sin_tab;     // (T, HD/2)
    float *x;           // (R, C) residual stream
    float *xn;          // (R, C) normed input / projection output
    float *q;           // (R, NH*HD)
    float *k;           // (R, NKV*HD)
    float *v;           // (R, NKV*HD)
    float *att;         // (R, NH*HD) attention output
    float *h1;          // (R, F) gate, then silu(gate)·up
    float *h2;          // (R, F) up
    float *scores;      // (n_threads, 8 rows, NH/NKV, T)
    float *pack;        // (n_threads, pack_floats) weight panels
    size_t pack_floats; // rowmm_scratch_floats(max(C, NH*HD, F))
    float *packed;      // every matmul weight packed once (decode_pack), or NULL: packed per call
    int packed_half;    // packed slots hold bf16 panels only (a bf16 process on the chip's bf16 dot product)
    int use_packed;     // decode_pack filled the slots (else the weights are packed per call)
    PackedLayer packed_layer[AHA_MAX_LAYERS];
    float *packed_head; // lm_head panels
    int bf16;           // the model is bf16: weights and matmul inputs rounded to bf16, fp32 accumulation
    int native16;       // bf16 on the chip's bf16 dot product: packed slots hold rowmm_pack16 panels
    uint16_t *x16;      // (R, kmax + 2) matmul inputs in bf16 (native16)
} Decoder;

// Bytes of the packed copy within decode_bytes (pack_weights 1).
size_t decode_packed_bytes(const ModelConfig *cfg);
// Bytes decode_init takes from an arena.
size_t decode_bytes(const ModelConfig *cfg, int max_rows, int max_T, int n_threads, int pack_weights);
// Carve scratch for up to max_rows rows per call and positions < max_T, with
// attention buffers for n_threads threads (later calls use at most that many).
// pack_weights: also hold a packed copy of every matmul weight (one more copy
// of the model's matrices) so a step streams each weight once, in order; then
// decode_pack must run before decode_forward and after any weight change.
// Returns 0 or -1 (err_set).
int decode_init(Decoder *d, Arena *a, const ModelConfig *cfg, int max_rows, int max_T, int n_threads, int pack_weights);
// Pack m's current weights (no-op without pack_weights). Results are
// bit-identical to the unpacked path. A bf16 model (m->w16) has its weights
// packed rounded to bf16, and decode_forward then rounds every matmul input
// to bf16 as the training forward does; bf16 needs pack_weights.
void decode_pack(Decoder *d, const Model *m);
// Give the packed copy's memory back to the system until the next
// decode_pack fills it again (a sampler between generations, so the packed
// weights and a trainer's activations are not resident at once).
void decode_release(Decoder *d, Arena *a);

// Run N rows (N ≤ max_rows): row r is token tokens[r] at position pos[r] of
// cache slot slots[r]. Every row's key/value is written to the cache before
// any row attends, so a call may hold several positions of one slot (a
// prefill chunk); positions [0, pos[r]) of the slot must already be in the
// cache or among the rows. No two rows may share a (slot, position).
// prefix_slot/prefix_len (N) may be NULL; when given, row r reads positions
// [0, prefix_len[r]) from slot prefix_slot[r] instead of its own (G samples of
// one prompt share its prefilled keys and values without copies);
// prefix_len[r] ≤ pos[r].
// For the n_head rows listed in head_rows, logits (n_head, V) get the output
// head's logits z = lm_head · rmsnorm(x). Returns 0, or -1 (err_set) on a bad
// token, slot or position.
int decode_forward(Decoder *d, const Model *m, KVCache *kv, const int *tokens, const int *slots, const int *pos,
                   const int *prefix_slot, const int *prefix_len, int N, const int *head_rows, int n_head, float *logits);

#endif
