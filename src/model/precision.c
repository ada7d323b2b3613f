// Matmul precision: the process default new models take, and each model's
// bf16 copy of its parameters, rounded once whenever they changed (after an
// AdamW step, a load, a reference update), never per matmul.
#include "model/model.h"
#include "base/err.h"
#include "kernels/omp.h"
#include "kernels/ops.h"

#include <stdlib.h>

static Precision precision_default = PRECISION_FP32;

int model_precision_set(Precision p) {
#ifndef AHA_DNNL
    if (p == PRECISION_BF16)
        return err_set("precision bf16 needs oneDNN, and this build has none (built with NO_DNNL=1 or without "
                       "libdnnl-dev): use --precision fp32, or install libdnnl-dev and rebuild");
#endif
    precision_default = p;
    return 0;
}

Precision model_precision_get(void) { return precision_default; }

int model_set_precision(Model *m, Precision p) {
    if (p == PRECISION_FP32) {
        free(m->w16);
        m->w16 = NULL;
        return 0;
    }
    if (!m->w16 && !(m->w16 = malloc(m->n_params * sizeof(uint16_t)))) return err_set("bf16 weights: out of memory");
    m->w16_stale = 1;
    return 0;
}

// One rounding of every parameter, in parallel over independent spans.
void model_sync_bf16(Model *m) {
    if (!m->w16 || !m->w16_stale) return;
    enum { SPAN = 1 << 16 };
    long spans = (long)((m->n_params + SPAN - 1) / SPAN);
OMP(parallel for schedule(static) if (spans > 1))
    for (long s = 0; s < spans; s++) {
        size_t i0 = (size_t)s * SPAN, n = m->n_params - i0 < SPAN ? m->n_params - i0 : SPAN;
        const float *p = m->params + i0;
        uint16_t *h = m->w16 + i0;
OMP(simd)
        for (size_t i = 0; i < n; i++) h[i] = bf16_of(p[i]);
    }
    m->w16_stale = 0;
}
