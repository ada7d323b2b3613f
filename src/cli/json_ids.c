// Token ids given as a JSON array, read one way by every command that takes them.
#include "base/err.h"
#include "cli/cli.h"

#include <math.h>
#include <stdlib.h>

int cli_json_ids(const cJSON *arr, int vocab, const char *where, int **ids, int *n) {
    if (!cJSON_IsArray(arr)) return err_set("%s: expected a JSON array of token ids", where);
    int k = cJSON_GetArraySize(arr), i = 0;
    int *out = malloc(((size_t)k + 1) * sizeof *out);
    if (!out) return err_set("%s: out of memory", where);
    double limit = vocab > 0 ? vocab : 2147483648.0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
        // Range first: casting a double outside int's range is undefined.
        if (!(d >= 0 && d < limit) || d != floor(d)) {
            free(out);
            if (vocab > 0) return err_set("%s: ids[%d] is not a token id in 0..%d", where, i, vocab - 1);
            return err_set("%s: ids[%d] is not a token id (a non-negative integer)", where, i);
        }
        out[i++] = (int)d;
    }
    *ids = out;
    *n = k;
    return 0;
}
