// Reading reward-model rows: each side becomes an SFT row object ({"prompt",
// "completion"}, {"messages"} or {"text"}) and is tokenized by sft_data, so a
// reward model sees text exactly as SFT renders it.
#include "train/rm_data.h"
#include "base/err.h"
#include "base/jsonl.h"

#include <stdlib.h>
#include <string.h>

// The SFT row object of prompt + completion: messages when either is a list.
static cJSON *side_object(const cJSON *prompt, const cJSON *completion, const char *field) {
    int conv = cJSON_IsArray(completion);
    if (!conv && !cJSON_IsString(completion)) {
        err_set("%s: must be a string or a list of messages", field);
        return NULL;
    }
    if (prompt && !cJSON_IsString(prompt) && !cJSON_IsArray(prompt)) {
        err_set("prompt: must be a string or a list of messages");
        return NULL;
    }
    if (prompt && cJSON_IsArray(prompt) != conv) {
        err_set("prompt and %s: both text or both lists of messages", field);
        return NULL;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    if (conv) {
        cJSON *msgs = prompt ? cJSON_Duplicate(prompt, 1) : cJSON_CreateArray();
        const cJSON *m;
        cJSON_ArrayForEach(m, completion) cJSON_AddItemToArray(msgs, cJSON_Duplicate(m, 1));
        cJSON_AddItemToObject(o, "messages", msgs);
    } else if (prompt) {
        cJSON_AddStringToObject(o, "prompt", prompt->valuestring);
        cJSON_AddStringToObject(o, "completion", completion->valuestring);
    } else {
        cJSON_AddStringToObject(o, "text", completion->valuestring);
    }
    return o;
}

int rm_data_encode(const SftDataOpts *o, const cJSON *prompt, const cJSON *completion, SftExample *e) {
    cJSON *obj = side_object(prompt, completion, completion && completion->string ? completion->string : "completion");
    if (!obj) return -1;
    int rc = sft_data_encode(o, obj, e);
    cJSON_Delete(obj);
    return rc;
}

static void example_free(RmExample *x) {
    free((void *)x->a.ids), free((void *)x->a.train);
    free((void *)x->b.ids), free((void *)x->b.train);
    memset(x, 0, sizeof *x);
}

// The row's kind, or -1 after err_set when it has the keys of neither.
static int row_kind(const cJSON *obj) {
    int pair = cJSON_HasObjectItem(obj, "chosen") || cJSON_HasObjectItem(obj, "rejected");
    int point = cJSON_HasObjectItem(obj, "completion") || cJSON_HasObjectItem(obj, "label");
    if (pair && !point) return RM_PAIRWISE;
    if (point && !pair) return RM_POINTWISE;
    return err_set("a row needs \"chosen\" and \"rejected\" (pairwise) or \"completion\" and \"label\" (pointwise)%s",
                   pair ? ", not both" : "");
}

static int read_pair(const SftDataOpts *o, const cJSON *obj, RmExample *x) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "prompt");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, "chosen"), *r = cJSON_GetObjectItemCaseSensitive(obj, "rejected");
    double margin = 0;
    if (!c || !r) return err_set("%s: missing (a pair needs \"chosen\" and \"rejected\")", c ? "rejected" : "chosen");
    if (cJSON_Compare(c, r, 1))
        return err_set("chosen and rejected are equal (a pair must prefer one of two different completions)");
    if (json_get_double(obj, "margin", &margin, 0) != 0) return -1;
    x->margin = (float)margin;
    int rc = rm_data_encode(o, p, c, &x->a);
    if (rc != 0) return rc;
    return rm_data_encode(o, p, r, &x->b);
}

static int read_point(const SftDataOpts *o, const cJSON *obj, RmExample *x) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(obj, "prompt"), *c = cJSON_GetObjectItemCaseSensitive(obj, "completion");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(obj, "label");
    if (!c || !l) return err_set("%s: missing (a pointwise row needs \"completion\" and \"label\")", c ? "label" : "completion");
    if (cJSON_IsBool(l)) {
        x->label = cJSON_IsTrue(l) ? 1.0f : 0.0f;
    } else if (cJSON_IsNumber(l) && (l->valuedouble == 0 || l->valuedouble == 1)) {
        x->label = (float)l->valuedouble;
    } else {
        char *text = cJSON_PrintUnformatted(l);
        err_set("label: must be 0 or 1 (or false/true), got %s", text ? text : "?");
        free(text);
        return -1;
    }
    return rm_data_encode(o, p, c, &x->a);
}

int rm_data_load(RmData *d, const char *path, const SftDataOpts *o) {
    memset(d, 0, sizeof *d);
    JsonlReader jr;
    if (jsonl_open(&jr, path) != 0) return -1;
    int cap = 0, rc;
    long first_line = 0;
    cJSON *obj;
    while ((rc = jsonl_next(&jr, &obj)) == 1) {
        RmExample x = {0};
        int kind = cJSON_IsObject(obj) ? row_kind(obj) : err_set("not a JSON object");
        rc = kind < 0 ? -1 : 0;
        if (rc == 0 && d->n + d->skipped_long == 0) d->kind = (RmKind)kind, first_line = jr.line;
        if (rc == 0 && kind != (int)d->kind)
            rc = err_set("a %s row in a %s dataset (line %ld): one file holds one kind", kind ? "pointwise" : "pairwise",
                         d->kind ? "pointwise" : "pairwise", first_line);
        if (rc == 0) rc = kind == RM_PAIRWISE ? read_pair(o, obj, &x) : read_point(o, obj, &x);
        cJSON_Delete(obj);
        if (rc == 1) d->skipped_long++, rc = 0, example_free(&x);
        else if (rc == 0 && d->n == cap) {
            int nc = cap ? 2 * cap : 256;
            RmExample *ne = realloc(d->ex, sizeof *ne * (size_t)nc);
            if (ne) d->ex = ne, cap = nc;
            else rc = err_set("out of memory");
        }
        if (rc == 0 && x.a.ids) d->ex[d->n++] = x;
        if (rc != 0) {
            example_free(&x);
            err_wrap("%s:%ld", path, jr.line);
            break;
        }
    }
    jsonl_close(&jr);
    if (rc == 0 && d->n == 0) rc = err_set("%s: no rows to train on", path);
    if (rc != 0) rm_data_free(d);
    return rc < 0 ? -1 : 0;
}

void rm_data_free(RmData *d) {
    for (int i = 0; i < d->n; i++) example_free(&d->ex[i]);
    free(d->ex);
    memset(d, 0, sizeof *d);
}
