// Arena allocation: one aligned block per lifetime, bump-pointer views.
#include "base/arena.h"
#include "base/err.h"
#include "base/sys.h"

#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>

#define ARENA_ALIGN 64

size_t arena_round(size_t bytes) { return (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

// An anonymous mapping of size bytes; noreserve: address space the caller
// mostly never touches, not counted against the commit limit.
static int map_block(Arena *a, size_t size, int noreserve) {
    size = arena_round(size ? size : ARENA_ALIGN);
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    a->base = p == MAP_FAILED ? NULL : p;
    a->size = a->base ? size : 0;
    a->used = 0;
    a->lazy = 1;
    if (!a->base) return err_set("out of memory reserving %zu bytes", size);
    return 0;
}

// From this size on a block is mapped: zero pages the kernel makes on first
// touch, so a block sized for the worst case takes memory only as it is used.
#define ARENA_MAP_BYTES ((size_t)1 << 20)

int arena_init(Arena *a, size_t size) {
    if (size >= ARENA_MAP_BYTES) return map_block(a, size, 0);
    size = arena_round(size ? size : ARENA_ALIGN);
    a->base = aligned_alloc(ARENA_ALIGN, size);
    a->size = a->base ? size : 0;
    a->used = 0;
    a->lazy = 0;
    if (!a->base) return err_set("out of memory reserving %zu bytes", size);
    memset(a->base, 0, size);
    return 0;
}

int arena_init_lazy(Arena *a, size_t size) { return map_block(a, size, 1); }

void *arena_alloc(Arena *a, size_t bytes) {
    size_t need = arena_round(bytes);
    if (need > a->size - a->used) {
        err_set("arena full: asked %zu bytes, %zu of %zu left", bytes, a->size - a->used, a->size);
        return NULL;
    }
    void *p = a->base + a->used;
    a->used += need;
    return p;
}

void arena_reset(Arena *a) { a->used = 0; }

void arena_release_range(Arena *a, const void *p, size_t bytes) {
    const char *c = p;
    if (!a->base || c < a->base || c + bytes > a->base + a->size) return;
    mem_release_pages(p, bytes);
}

void arena_free(Arena *a) {
    if (a->lazy && a->base) munmap(a->base, a->size);
    else free(a->base);
    a->base = NULL;
    a->size = a->used = 0;
}
