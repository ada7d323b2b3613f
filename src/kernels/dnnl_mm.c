// gemm on oneDNN's matmul primitive (built with AHA_DNNL). A primitive is
// made for each distinct product (shape, strides, transposes, alpha, beta,
// thread count) the first time it is asked for and kept in a small cache:
// making one costs far more than running a training-sized product.
#include "kernels/dnnl_mm.h"

#ifdef AHA_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct {
    int ta, tb, M, N, K, lda, ldb, ldc, nt, bf16;
    float alpha, beta;
} MmKey;

typedef struct {
    MmKey key;
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;   // pointed at the caller's arrays for each run
} MmEntry;

// Training asks for a few dozen shapes per step (row counts follow the
// batch's token count); the oldest entry makes room when the cache is full.
#define MM_CACHE 96

static struct {
    int state;   // 0 not tried, 1 ready, -1 unavailable
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    MmEntry e[MM_CACHE];
    int n, next;
} mm;

static int mm_init(void) {
    if (mm.state) return mm.state;
    mm.state = -1;
    if (dnnl_engine_create(&mm.engine, dnnl_cpu, 0) != dnnl_success) return mm.state;
    if (dnnl_stream_create(&mm.stream, mm.engine, dnnl_stream_default_flags) != dnnl_success) return mm.state;
    mm.state = 1;
    return mm.state;
}

static int key_eq(const MmKey *x, const MmKey *y) {
    return x->ta == y->ta && x->tb == y->tb && x->M == y->M && x->N == y->N && x->K == y->K && x->lda == y->lda &&
           x->ldb == y->ldb && x->ldc == y->ldc && x->nt == y->nt && x->bf16 == y->bf16 && x->alpha == y->alpha && x->beta == y->beta;
}

// Builds the primitive for key into e; returns 0 on success.
static void mm_drop(MmEntry *e) {
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->a) dnnl_memory_destroy(e->a);
    if (e->b) dnnl_memory_destroy(e->b);
    if (e->c) dnnl_memory_destroy(e->c);
    memset(e, 0, sizeof *e);
}

// Builds the primitive for key into e (zeroed); returns 0 on success.
static int mm_make(MmEntry *e, const MmKey *k) {
    dnnl_dims_t ad = {k->M, k->K}, as = {k->ta ? 1 : k->lda, k->ta ? k->lda : 1};
    dnnl_dims_t bd = {k->K, k->N}, bs = {k->tb ? 1 : k->ldb, k->tb ? k->ldb : 1};
    dnnl_dims_t cd = {k->M, k->N}, cs = {k->ldc, 1};
    dnnl_data_type_t in = k->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t a, b, c;
    if (dnnl_memory_desc_init_by_strides(&a, 2, ad, in, as) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&b, 2, bd, in, bs) != dnnl_success ||
        dnnl_memory_desc_init_by_strides(&c, 2, cd, dnnl_f32, cs) != dnnl_success)
        return -1;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &a, &b, NULL, &c) != dnnl_success) return -1;
    dnnl_primitive_attr_t attr;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return -1;
    int ok = 1;
    if (k->alpha != 1.0f) ok = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &k->alpha) == dnnl_success;
    if (ok && k->beta != 0.0f) {
        dnnl_post_ops_t po;
        ok = dnnl_post_ops_create(&po) == dnnl_success;
        if (ok) {
            ok = dnnl_post_ops_append_sum(po, k->beta) == dnnl_success &&
                 dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
            dnnl_post_ops_destroy(po);
        }
    }
    dnnl_primitive_desc_t pd = NULL;
    if (ok) ok = dnnl_primitive_desc_create(&pd, &desc, attr, mm.engine, NULL) == dnnl_success;
    dnnl_primitive_attr_destroy(attr);
    if (!ok) return -1;
    ok = dnnl_primitive_create(&e->prim, pd) == dnnl_success;
    dnnl_primitive_desc_destroy(pd);
    ok = ok && dnnl_memory_create(&e->a, &a, mm.engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&e->b, &b, mm.engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&e->c, &c, mm.engine, DNNL_MEMORY_NONE) == dnnl_success;
    e->key = *k;
    if (!ok) mm_drop(e);
    return ok ? 0 : -1;
}

static MmEntry *mm_find(const MmKey *k) {
    for (int i = 0; i < mm.n; i++)
        if (key_eq(&mm.e[i].key, k)) return &mm.e[i];
    MmEntry made;
    memset(&made, 0, sizeof made);
    if (mm_make(&made, k) != 0) return NULL;
    MmEntry *e;
    if (mm.n < MM_CACHE) {
        e = &mm.e[mm.n++];
    } else {
        e = &mm.e[mm.next];
        mm.next = (mm.next + 1) % MM_CACHE;
        mm_drop(e);
    }
    *e = made;
    return e;
}

static int threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int mm_run(const MmKey *k, const void *A, const void *B, float *Cm) {
#ifdef _OPENMP
    if (omp_in_parallel()) return -1;
#endif
    if (k->K <= 0 || mm_init() != 1) return -1;
    MmEntry *e = mm_find(k);
    if (!e) return -1;
    if (dnnl_memory_set_data_handle(e->a, (void *)A) != dnnl_success ||
        dnnl_memory_set_data_handle(e->b, (void *)B) != dnnl_success ||
        dnnl_memory_set_data_handle(e->c, Cm) != dnnl_success)
        return -1;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
    if (dnnl_primitive_execute(e->prim, mm.stream, 3, args) != dnnl_success) return -1;
    return dnnl_stream_wait(mm.stream) == dnnl_success ? 0 : -1;
}

int dnnl_mm_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *Cm, int ldc) {
    MmKey k = {ta, tb, M, N, K, lda, ldb, ldc, threads(), 0, alpha, beta};
    return mm_run(&k, A, B, Cm);
}

int dnnl_mm_gemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const uint16_t *A, int lda, const uint16_t *B,
                      int ldb, float beta, float *Cm, int ldc) {
    MmKey k = {ta, tb, M, N, K, lda, ldb, ldc, threads(), 1, alpha, beta};
    return mm_run(&k, A, B, Cm);
}

const char *dnnl_mm_impl(int bf16, int ta, int tb, int M, int N, int K, float alpha, int lda, int ldb, float beta,
                         int ldc) {
    MmKey k = {ta, tb, M, N, K, lda, ldb, ldc, threads(), bf16 != 0, alpha, beta};
    if (mm_init() != 1) return NULL;
    MmEntry *e = mm_find(&k);
    const_dnnl_primitive_desc_t pd;
    const char *s = NULL;
    if (!e || dnnl_primitive_get_primitive_desc(e->prim, &pd) != dnnl_success ||
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success)
        return NULL;
    return s;
}

#else
typedef int dnnl_mm_unused;   // ISO C wants something in every translation unit
#endif
