// One allocation per lifetime class, carved into aligned named views.
// Sized up front; arena_alloc never grows the block and returns NULL when full.
#ifndef AHA_ARENA_H
#define AHA_ARENA_H

#include <stddef.h>

typedef struct {
    char *base;   // 64-byte aligned block
    size_t size;  // bytes in the block
    size_t used;  // bytes handed out
    int lazy;     // arena_init_lazy: mapped, pages made on first touch
} Arena;

// Reserve `size` bytes (zeroed; a large block as arena_init_lazy does, so
// its untouched pages take no memory). Returns 0, or -1 with err_set on failure.
int arena_init(Arena *a, size_t size);
// Reserve `size` bytes of zeroed address space whose pages take memory only
// once written (an anonymous mapping): for a block most of which is never
// touched (a bf16-only model's fp32 views). Returns 0, or -1 with err_set.
int arena_init_lazy(Arena *a, size_t size);
// A 64-byte aligned view of `bytes` bytes, or NULL (with err_set) if it does not fit.
void *arena_alloc(Arena *a, size_t bytes);
// Round `bytes` up the way arena_alloc does, to size an arena before creating it.
size_t arena_round(size_t bytes);
void arena_reset(Arena *a);
// Give back the whole pages of [p, p + bytes), a span inside the block, to
// the system: they read as zeros when next touched and take memory only then.
void arena_release_range(Arena *a, const void *p, size_t bytes);
void arena_free(Arena *a);

#endif
