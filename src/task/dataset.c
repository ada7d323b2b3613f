// JSONL dataset loading: shape detection, per-line field checks, gold-answer
// extraction (GSM8K "####", MATH \boxed{} with nested braces). Every failure is
// a message naming file:line; nothing aborts on bad input.
#include "task/dataset.h"
#include "base/err.h"
#include "task/code_tests.h"

#include <stdlib.h>
#include <string.h>

static const char *shape_names[] = {"auto", "gsm8k", "math", "generic", "code"};
#define N_SHAPES ((int)(sizeof shape_names / sizeof shape_names[0]))

int dataset_shape_parse(const char *s) {
    for (int i = 0; i < N_SHAPES; i++)
        if (strcmp(s, shape_names[i]) == 0) return i;
    return err_set("unknown dataset shape '%s' (known: auto, gsm8k, math, generic, code)", s);
}

const char *dataset_shape_name(DatasetShape s) {
    return (unsigned)s < (unsigned)N_SHAPES ? shape_names[s] : "?";
}

static char *dup_trim(const char *p, size_t n) {
    while (n && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r')) n--;
    char *s = malloc(n + 1);
    if (!s) {
        err_set("out of memory");
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

char *dataset_gsm8k_answer(const char *answer) {
    const char *mark = NULL;
    for (const char *p = answer; (p = strstr(p, "####")) != NULL; p += 4) mark = p + 4;
    if (!mark) {
        err_set("no \"####\" final answer in field \"answer\"");
        return NULL;
    }
    char *s = dup_trim(mark, strlen(mark));
    if (!s) return NULL;
    // "1,000" -> "1000": commas between digits only.
    size_t w = 0;
    for (size_t r = 0; s[r]; r++)
        if (!(s[r] == ',' && r > 0 && s[r - 1] >= '0' && s[r - 1] <= '9' && s[r + 1] >= '0' && s[r + 1] <= '9'))
            s[w++] = s[r];
    s[w] = 0;
    if (!*s) {
        free(s);
        err_set("empty final answer after \"####\"");
        return NULL;
    }
    return s;
}

char *dataset_boxed_answer(const char *solution) {
    const char *best = NULL;
    size_t best_len = 0;
    static const char *cmds[] = {"\\boxed", "\\fbox"};
    for (int c = 0; c < 2; c++) {
        size_t k = strlen(cmds[c]);
        for (const char *p = solution; (p = strstr(p, cmds[c])) != NULL; p += k) {
            const char *q = p + k;
            while (*q == ' ') q++;
            if (*q != '{') continue;
            int depth = 0;
            const char *e = q;
            for (; *e; e++) {
                if (*e == '\\' && (e[1] == '{' || e[1] == '}')) { e++; continue; }   // \{ \} are text
                if (*e == '{') depth++;
                else if (*e == '}' && --depth == 0) break;
            }
            if (!*e) continue;   // unbalanced: not a box
            if (!best || q + 1 > best) best = q + 1, best_len = (size_t)(e - q - 1);
        }
    }
    if (!best) {
        err_set("no \\boxed{...} answer in field \"solution\"");
        return NULL;
    }
    char *s = dup_trim(best, best_len);
    if (s && !*s) {
        free(s);
        err_set("empty \\boxed{} in field \"solution\"");
        return NULL;
    }
    return s;
}

static int has_string(const cJSON *o, const char *key) {
    return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, key));
}

DatasetShape dataset_detect(const cJSON *obj) {
    if (code_tests_present(obj) && (has_string(obj, "prompt") || has_string(obj, "question"))) return DATASET_CODE;
    if (has_string(obj, "question") && has_string(obj, "answer")) return DATASET_GSM8K;
    if (has_string(obj, "problem") && has_string(obj, "solution")) return DATASET_MATH;
    if (has_string(obj, "prompt") && cJSON_GetObjectItemCaseSensitive(obj, "answer")) return DATASET_GENERIC;
    return DATASET_AUTO;
}

int dataset_item_parse(const cJSON *obj, DatasetShape shape, DatasetItem *out) {
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(obj)) return err_set("a line must be a JSON object");
    static const char *prompt_key[] = {"", "question", "problem", "prompt", "prompt"};
    if (shape < DATASET_GSM8K || shape > DATASET_CODE) return err_set("bad dataset shape");
    const char *prompt = NULL, *text = NULL;
    // Code rows come as {"prompt", ...} or APPS-style {"question", ...}.
    const char *pkey = shape == DATASET_CODE && !has_string(obj, "prompt") ? "question" : prompt_key[shape];
    if (json_get_string(obj, pkey, &prompt, 1) != 0) return -1;
    char *answer = NULL;
    if (shape == DATASET_CODE) {
        CodeTests t;
        if (code_tests_parse(obj, &t) != 0) return -1;
        // The tests decide; an answer ("" included) is kept only as text.
        if (has_string(obj, "answer")) {
            const char *a = cJSON_GetObjectItemCaseSensitive(obj, "answer")->valuestring;
            if (*a && !(answer = dup_trim(a, strlen(a)))) return -1;
        }
    } else if (shape == DATASET_GSM8K) {
        if (json_get_string(obj, "answer", &text, 1) != 0) return -1;
        answer = dataset_gsm8k_answer(text);
    } else if (shape == DATASET_MATH) {
        // A separate "answer" field (MATH-500 style) wins over the boxed one.
        if (has_string(obj, "answer")) {
            const char *a = cJSON_GetObjectItemCaseSensitive(obj, "answer")->valuestring;
            answer = dup_trim(a, strlen(a));
        } else {
            if (json_get_string(obj, "solution", &text, 1) != 0) return -1;
            answer = dataset_boxed_answer(text);
        }
    } else {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, "answer");
        if (cJSON_IsString(a)) {
            answer = dup_trim(a->valuestring, strlen(a->valuestring));
        } else if (cJSON_IsNumber(a)) {
            char num[64];
            double d = a->valuedouble;
            // Range first: casting a double outside long long's range is undefined.
            if (d > -9e15 && d < 9e15 && d == (double)(long long)d) snprintf(num, sizeof num, "%lld", (long long)d);
            else snprintf(num, sizeof num, "%.17g", d);
            answer = dup_trim(num, strlen(num));
        } else {
            return err_set("field \"answer\" must be a string or a number");
        }
    }
    if (!answer && shape != DATASET_CODE) return -1;
    if (answer && !*answer) {
        free(answer);
        return err_set("empty answer");
    }
    out->prompt = dup_trim(prompt, strlen(prompt));
    if (!out->prompt) {
        free(answer);
        return -1;
    }
    out->answer = answer;
    return 0;
}

static void item_free(DatasetItem *it) {
    free(it->prompt);
    free(it->answer);
    cJSON_Delete(it->json);
}

void dataset_free(Dataset *ds) {
    for (int i = 0; i < ds->n; i++) item_free(&ds->items[i]);
    free(ds->items);
    memset(ds, 0, sizeof *ds);
}

int dataset_retain(Dataset *ds, const unsigned char *keep) {
    int n = 0;
    for (int i = 0; i < ds->n; i++) {
        if (keep[i]) ds->items[n++] = ds->items[i];
        else item_free(&ds->items[i]);
    }
    int dropped = ds->n - n;
    ds->n = n;
    return dropped;
}

int dataset_read(Dataset *ds, JsonlReader *r, DatasetShape shape, int skip_bad) {
    ds->shape = shape;
    for (;;) {
        cJSON *obj = NULL;
        int got = jsonl_next(r, &obj);
        if (got == 0) break;
        DatasetItem it;
        int bad = got < 0;   // jsonl_next's message already names file:line
        if (!bad) {
            if (ds->shape == DATASET_AUTO) {
                DatasetShape s = dataset_detect(obj);
                if (s == DATASET_AUTO) {
                    err_set("%s:%ld: cannot tell the dataset shape: expected fields question/answer "
                            "(GSM8K), problem/solution (MATH), prompt/answer, or prompt with tests (code)",
                            r->name, r->line);
                    bad = 1;
                } else {
                    ds->shape = s;
                }
            }
            if (!bad && dataset_item_parse(obj, ds->shape, &it) != 0) {
                err_wrap("%s:%ld", r->name, r->line);
                bad = 1;
            }
        }
        if (bad) {
            cJSON_Delete(obj);
            if (skip_bad) {
                ds->skipped++;
                continue;
            }
            dataset_free(ds);
            return -1;
        }
        if (ds->n == ds->cap) {
            int cap = ds->cap ? ds->cap * 2 : 64;
            DatasetItem *ni = realloc(ds->items, sizeof *ni * (size_t)cap);
            if (!ni) {
                item_free(&it);
                cJSON_Delete(obj);
                dataset_free(ds);
                return err_set("%s: out of memory", r->name);
            }
            ds->items = ni;
            ds->cap = cap;
        }
        it.json = obj;
        it.line = r->line;
        ds->items[ds->n++] = it;
    }
    if (ds->n == 0) {
        long skipped = ds->skipped;
        dataset_free(ds);
        return err_set("%s: no usable problems (%ld bad lines skipped)", r->name, skipped);
    }
    return 0;
}

int dataset_load(Dataset *ds, const char *path, DatasetShape shape, int skip_bad) {
    JsonlReader r;
    if (jsonl_open(&r, path) != 0) return -1;
    int rc = dataset_read(ds, &r, shape, skip_bad);
    jsonl_close(&r);
    return rc;
}
