// On-policy reward-model rows from judged samples (train/rm_rows.h).
#include "train/rm_rows.h"
#include "base/err.h"
#include "base/jsonl.h"
#include "reward/text.h"

#include <stdlib.h>
#include <string.h>

// The distinct answers of one prompt, right ones and wrong ones.
typedef struct {
    char *id, *prompt, *gold;
    char **ans[2];   // [0] wrong, [1] right; malloc'd strings
    int n[2], cap[2];
} Group;

static void group_clear(Group *g) {
    free(g->id), free(g->prompt), free(g->gold);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < g->n[k]; i++) free(g->ans[k][i]);
        free(g->ans[k]);
    }
    memset(g, 0, sizeof *g);
}

static int group_add(Group *g, int right, const char *a, size_t len) {
    if (len == 0) return 0;   // no answer: nothing a reward model could read
    for (int i = 0; i < g->n[right]; i++)
        if (strlen(g->ans[right][i]) == len && memcmp(g->ans[right][i], a, len) == 0) return 0;
    if (g->n[right] == g->cap[right]) {
        int cap = g->cap[right] ? 2 * g->cap[right] : 8;
        char **p = realloc(g->ans[right], sizeof *p * (size_t)cap);
        if (!p) return err_set("out of memory");
        g->ans[right] = p, g->cap[right] = cap;
    }
    char *s = malloc(len + 1);
    if (!s) return err_set("out of memory");
    memcpy(s, a, len);
    s[len] = 0;
    g->ans[right][g->n[right]++] = s;
    return 0;
}

static int emit(FILE *f, cJSON *o, long *written) {
    char *line = cJSON_PrintUnformatted(o);
    int rc = !line || fprintf(f, "%s\n", line) < 0 ? err_set("cannot write the rows") : 0;
    free(line);
    cJSON_Delete(o);
    if (rc == 0) (*written)++;
    return rc;
}

static int group_write(const Group *g, int kind, int per_prompt, FILE *f, long *written) {
    int rc = 0;
    if (kind == RM_ROWS_PAIRS) {
        for (int i = 0, m = 0; rc == 0 && i < g->n[1] && m < per_prompt; i++)
            for (int j = 0; rc == 0 && j < g->n[0] && m < per_prompt; j++, m++) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "prompt", g->prompt);
                cJSON_AddStringToObject(o, "chosen", g->ans[1][i]);
                cJSON_AddStringToObject(o, "rejected", g->ans[0][j]);
                cJSON_AddStringToObject(o, "id", g->id);
                rc = emit(f, o, written);
            }
        return rc;
    }
    if (strcmp(g->gold, "REFUSE") != 0) return 0;
    for (int label = 1; label >= 0; label--)
        for (int i = 0; rc == 0 && i < g->n[label] && i < per_prompt; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "prompt", g->prompt);
            cJSON_AddStringToObject(o, "completion", g->ans[label][i]);
            cJSON_AddNumberToObject(o, "label", label);
            cJSON_AddStringToObject(o, "id", g->id);
            rc = emit(f, o, written);
        }
    return rc;
}

// The group of id in g[0..*n), or a new one at the end; NULL when out of memory.
// A prompt's rows usually come together (aha eval --samples writes them so):
// the newest group is looked at first, so a file in that order reads in one pass.
static Group *group_of(Group **g, int *n, int *cap, const char *id, const char *prompt, const char *gold) {
    if (*n > 0 && strcmp((*g)[*n - 1].id, id) == 0) return &(*g)[*n - 1];
    for (int i = 0; i < *n - 1; i++)
        if (strcmp((*g)[i].id, id) == 0) return &(*g)[i];
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 64;
        Group *p = realloc(*g, sizeof *p * (size_t)c);
        if (!p) return NULL;
        *g = p, *cap = c;
    }
    Group *e = &(*g)[*n];
    memset(e, 0, sizeof *e);
    if (!(e->id = strdup(id)) || !(e->prompt = strdup(prompt)) || !(e->gold = strdup(gold))) {
        group_clear(e);
        return NULL;
    }
    (*n)++;
    return e;
}

int rm_rows_write(const char *samples, int kind, int per_prompt, FILE *f, long *written) {
    JsonlReader r;
    if (jsonl_open(&r, samples) != 0) return -1;
    Group *g = NULL;
    int n = 0, cap = 0, rc;
    long count = 0;
    cJSON *o;
    while ((rc = jsonl_next(&r, &o)) == 1) {
        const char *id = NULL, *prompt = NULL, *gold = NULL, *completion = NULL;
        int right = 0, bad = 0;
        if (json_get_string(o, "id", &id, 1) != 0 || json_get_string(o, "prompt", &prompt, 1) != 0 ||
            json_get_string(o, "gold", &gold, 1) != 0 || json_get_string(o, "completion", &completion, 1) != 0 ||
            json_get_bool(o, "correct", &right, 1) != 0) {
            bad = err_wrap("%s:%ld", r.name, r.line);
        } else {
            Group *e = group_of(&g, &n, &cap, id, prompt, gold);
            size_t len;
            const char *a = text_answer_view(completion, strlen(completion), 0, &len);
            bad = !e ? err_set("out of memory") : group_add(e, right != 0, a, len);
        }
        cJSON_Delete(o);
        if (bad) {
            rc = -1;
            break;
        }
    }
    for (int i = 0; i < n; i++) {
        if (rc == 0) rc = group_write(&g[i], kind, per_prompt, f, &count);
        group_clear(&g[i]);
    }
    free(g);
    jsonl_close(&r);
    if (written) *written = count;
    return rc < 0 ? -1 : 0;
}
