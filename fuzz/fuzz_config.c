// libFuzzer target for config.json and the parameter layout it implies: any
// bytes must parse or fail with a message, never overflow or crash; a config
// that parses must lay out every tensor inside the parameter count, each
// tensor's shape multiplying to its size, under AHA_MAX_PARAMS.
#include "base/err.h"
#include "model/io.h"
#include "model/model.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    ModelConfig cfg;
    int rc = model_config_parse(&cfg, text, "fuzz/config.json");
    free(text);
    if (rc != 0) {
        if (!strstr(err_msg(), "fuzz/config.json")) abort();   // a failure names the file
        return 0;
    }
    size_t n_params = 0;
    int n = model_layout(&cfg, NULL, 0, &n_params);
    if (n <= 0 || n_params > AHA_MAX_PARAMS) abort();   // parse already checked the layout
    ParamTensor *t = calloc((size_t)n, sizeof *t);
    if (!t) return 0;
    if (model_layout(&cfg, t, n, NULL) != n) abort();
    size_t end = 0;
    for (int i = 0; i < n; i++) {
        size_t numel = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1);
        if (t[i].offset != end || numel != t[i].numel) abort();   // contiguous, shape matches
        end += t[i].numel;
    }
    if (end != n_params) abort();
    free(t);
    return 0;
}
