// Arena allocation: one aligned block per lifetime, bump-pointer views.
#include "base/arena.h"
#include "base/err.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_ALIGN 64

size_t arena_round(size_t bytes) { return (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

int arena_init(Arena *a, size_t size) {
    size = arena_round(size ? size : ARENA_ALIGN);
    a->base = aligned_alloc(ARENA_ALIGN, size);
    a->size = a->base ? size : 0;
    a->used = 0;
    a->lazy = 0;
    if (!a->base) return err_set("out of memory reserving %zu bytes", size);
    memset(a->base, 0, size);
    return 0;
}

int arena_init_lazy(Arena *a, size_t size) {
    size = arena_round(size ? size : ARENA_ALIGN);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    a->base = p == MAP_FAILED ? NULL : p;
    a->size = a->base ? size : 0;
    a->used = 0;
    a->lazy = 1;
    if (!a->base) return err_set("cannot map %zu bytes of address space", size);
    return 0;
}

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

void arena_free(Arena *a) {
    if (a->lazy && a->base) munmap(a->base, a->size);
    else free(a->base);
    a->base = NULL;
    a->size = a->used = 0;
}
