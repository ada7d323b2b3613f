// Memory is sized at start: after its first step a GRPO step (rollout,
// rewards, advantages, the update) makes no heap allocation of its own,
// whatever B·G is, and the step's log lines make a number that does not grow
// with B·G. Every allocation of the process is seen (shared libraries
// included): under ASan through its allocator hooks, otherwise by defining
// malloc and friends here on top of glibc's. Those the math runtimes make
// for themselves (libgomp's team for a parallel region that runs on one
// thread, OpenBLAS's job arrays, oneDNN's argument maps of each run, through
// libstdc++ as oneDNN is the one C++ library here) are counted apart and only printed.
#include "base/err.h"
#include "test.h"
#include "train/trainer.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int counting;
static atomic_long n_allocs, n_runtime;

// Whether code is in libgomp, OpenBLAS or oneDNN (1), in the allocator itself: ASan
// or libc (-1), or elsewhere: this program with libaha, or a library it calls (0).
static int owner(void *pc) {
    Dl_info d;
    if (!dladdr(pc, &d) || !d.dli_fname) return 0;
    const char *f = d.dli_fname;
    if (strstr(f, "libgomp") || strstr(f, "openblas") || strstr(f, "libdnnl") || strstr(f, "libstdc++")) return 1;
    return strstr(d.dli_fname, "libasan") || strstr(d.dli_fname, "libc.so") ? -1 : 0;
}

static void count_one(int runtime) {
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(runtime ? &n_runtime : &n_allocs, 1, memory_order_relaxed);
}

#if defined(__SANITIZE_ADDRESS__)
// From ASan's sanitizer/allocator_interface.h, which not every compiler ships.
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static _Thread_local int in_hook;   // the counter's own look-ups allocate too

// The hook runs inside ASan's malloc: the caller is the first frame past ASan's
// backtrace, this program's hook frames and the allocator's own (and libc's,
// for strdup and the like).
static void on_malloc(const volatile void *p, size_t n) {
    (void)p, (void)n;
    if (in_hook || !atomic_load_explicit(&counting, memory_order_relaxed)) return;
    in_hook = 1;
    void *pc[32];
    int depth = backtrace(pc, 32), i = 0, runtime = 0;
    Dl_info self;
    dladdr((void *)on_malloc, &self);
    while (i < depth && owner(pc[i]) < 0) i++;   // ASan's interceptor of backtrace
    for (Dl_info d; i < depth && dladdr(pc[i], &d) && d.dli_fbase == self.dli_fbase;) i++;
    while (i < depth && (runtime = owner(pc[i])) < 0) i++;
    in_hook = 0;
    count_one(runtime == 1);
}
static void on_free(const volatile void *p) { (void)p; }
static void count_install(void) {
    void *pc[4];
    backtrace(pc, 4);   // loads the unwinder now, not inside a hook
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);

// The caller is the return address (libc's, for strdup and the like, counts as ours).
#define CALLER() \
    (atomic_load_explicit(&counting, memory_order_relaxed) ? count_one(owner(__builtin_return_address(0)) == 1) : (void)0)
void *malloc(size_t n) { return CALLER(), __libc_malloc(n); }
void *calloc(size_t k, size_t n) { return CALLER(), __libc_calloc(k, n); }
void *realloc(void *p, size_t n) { return CALLER(), __libc_realloc(p, n); }
void *aligned_alloc(size_t a, size_t n) { return CALLER(), __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n) {
    CALLER();
    *p = __libc_memalign(a, n);
    return *p ? 0 : ENOMEM;
}
static void count_install(void) {}
#endif

#define STEPS 4   // the first warms up; the others are counted

typedef struct {
    long step[STEPS], log[STEPS], runtime[STEPS];   // runtime: the thread runtimes' own, in the step
} Counts;

// B prompts x G samples of the tiny model on the sum task, the R1-Zero
// settings (reference model, KL), four samples logged per step.
static int run(int B, int G, Counts *c) {
    GrpoConfig cfg;
    grpo_defaults(&cfg);
    if (grpo_apply_preset(&cfg, "r1zero") != 0) return -1;
    snprintf(cfg.model, sizeof cfg.model, "models/aha-tiny");
    snprintf(cfg.task, sizeof cfg.task, "sum");
    cfg.difficulty = 2;
    cfg.prompts_per_step = B;
    cfg.group_size = G;
    cfg.max_prompt_tokens = 128;
    cfg.sample.max_new_tokens = 24;
    cfg.sample.threads = 2;
    cfg.lr = 1.5e-4;
    cfg.steps = STEPS;
    Trainer t;
    memset(&t, 0, sizeof t);
    char dir[] = "/tmp/aha-step-allocs.XXXXXX", path[256], line[256];
    int rc = mkdtemp(dir) ? 0 : err_set("%s: cannot make the folder", dir);
    if (rc == 0) rc = trainer_open(&t, &cfg, cfg.model);
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    if (rc == 0) rc = jsonl_writer_open(&t.metrics, path, 1);
    snprintf(path, sizeof path, "%s/samples.jsonl", dir);
    if (rc == 0) rc = jsonl_writer_open(&t.samples, path, 1);
    for (int s = 0; rc == 0 && s < STEPS; s++) {
        long a = atomic_load(&n_allocs), rt = atomic_load(&n_runtime);
        atomic_store(&counting, 1);
        rc = trainer_step(&t);
        atomic_store(&counting, 0);
        c->step[s] = atomic_load(&n_allocs) - a;
        c->runtime[s] = atomic_load(&n_runtime) - rt;
        a = atomic_load(&n_allocs) + atomic_load(&n_runtime);
        atomic_store(&counting, 1);
        if (rc == 0) rc = trainer_log_step(&t, line, sizeof line);
        atomic_store(&counting, 0);
        c->log[s] = atomic_load(&n_allocs) + atomic_load(&n_runtime) - a;
        printf("B %d G %d step %d: %ld allocations in the step (and %ld by libgomp/OpenBLAS/oneDNN), %ld in its logs (%s)\n",
               B, G, s + 1, c->step[s], c->runtime[s], c->log[s], line);
    }
    if (rc != 0) fprintf(stderr, "%s\n", err_msg());
    trainer_close(&t);
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/samples.jsonl", dir);
    remove(path);
    remove(dir);
    return rc;
}

// The logs: one metrics object and log_samples sample objects, each a fixed
// set of keys (cJSON nodes and key copies), printed once; printing may grow
// its buffer a few times with the text's length.
#define LOG_BOUND 400

int main(void) {
    count_install();
    Counts small, large;
    memset(&small, 0, sizeof small);
    memset(&large, 0, sizeof large);
    CHECK(run(2, 2, &small) == 0, "B 2 G 2");
    CHECK(run(4, 8, &large) == 0, "B 4 G 8");
    // The counter sees libaha's allocations: the first step grows the
    // buffers that are sized by use (prompt text, ids, the word cache).
    CHECK(small.step[0] > 0 && large.step[0] > 0, "step 1 allocates: %ld, %ld", small.step[0], large.step[0]);
    for (int s = 1; s < STEPS; s++) {
        CHECK(small.step[s] == 0, "B 2 G 2 step %d: %ld allocations", s + 1, small.step[s]);
        CHECK(large.step[s] == 0, "B 4 G 8 step %d: %ld allocations", s + 1, large.step[s]);
        CHECK(small.log[s] <= LOG_BOUND, "B 2 G 2 step %d logs: %ld allocations", s + 1, small.log[s]);
        CHECK(large.log[s] <= LOG_BOUND, "B 4 G 8 step %d logs: %ld allocations", s + 1, large.log[s]);
    }
    return TEST_END();
}
