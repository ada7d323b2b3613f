// libFuzzer target for the safetensors header parser: any byte string must be
// either refused with a message or parsed into spans that lie inside the file.
// Reading every parsed tensor as float32 must then stay inside those bounds.
#include "model/safetensors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // A private copy so reads past `size` are caught by ASan.
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    SafeFile f;
    if (safetensors_parse(&f, buf, size, "fuzz") == 0) {
        for (int i = 0; i < f.n; i++) {
            const SafeTensor *t = &f.tensors[i];
            if (t->end > f.data_size || t->end - t->begin != t->numel * safetensors_dtype_size(t->dtype)) abort();
            if (safetensors_find(&f, t->name) != t) abort();
            float *out = malloc(t->numel * sizeof(float) + 1);
            if (out) safetensors_read_f32(&f, t, out);
            free(out);
        }
        char v[64];
        safetensors_meta_get(&f, "format", v, sizeof v);
        safetensors_close(&f);
    }
    free(buf);
    return 0;
}
