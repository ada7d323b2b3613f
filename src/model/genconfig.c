// generation_config.json: the few fields that change how aha samples, each
// checked against the range the sampler accepts; null reads as absent.
#include "model/genconfig.h"

#include "base/err.h"
#include "base/fileio.h"
#include "model/io.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// A number field in [lo, hi] (open at lo when lo_open); *has 0 when absent or null.
static int number(const cJSON *o, const char *key, double lo, double hi, int lo_open, double *out, int *has,
                  const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *has = 0;
    if (!v || cJSON_IsNull(v)) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi) || (lo_open && d == lo))
        return err_set("%s: field \"%s\" must be a number in %c%g, %g]%s", path, key, lo_open ? '(' : '[', lo, hi,
                       cJSON_IsNumber(v) ? "" : " (it is not a number)");
    *out = d, *has = 1;
    return 0;
}

int genconfig_load(GenConfig *g, const char *dir) {
    char path[4200];
    memset(g, 0, sizeof *g);
    if (path_join(path, sizeof path, dir, "generation_config.json") != 0) return -1;
    if (!path_exists(path)) return 0;
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return err_set("%s: not a JSON object (fix or remove the file)", path);
    }
    g->present = 1;
    double k = 0;
    int rc = number(o, "temperature", 0, 10, 0, &g->temperature, &g->has_temperature, path) ||
             number(o, "top_p", 0, 1, 1, &g->top_p, &g->has_top_p, path) ||
             number(o, "top_k", 0, 1e9, 0, &k, &g->has_top_k, path) ||
             number(o, "min_p", 0, 1, 0, &g->min_p, &g->has_min_p, path) ||
             model_json_ids(o, "eos_token_id", g->eos_ids, GENCONFIG_MAX_EOS, &g->n_eos, path)
                 ? -1
                 : 0;
    if (rc == 0 && g->has_top_k && k != floor(k))
        rc = err_set("%s: field \"top_k\" must be a whole number >= 0", path);
    g->top_k = (int)k;
    cJSON_Delete(o);
    return rc;
}
