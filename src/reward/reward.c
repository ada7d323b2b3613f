// Reward registry, option parsing, weighted batch scoring and JSON input mapping.
// Holds no scoring logic of its own: each entry lives in its own file.
#include "reward/reward.h"
#include "reward/math_answer.h"
#include "base/err.h"
#include "base/jsonl.h"
#include "base/options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include("reward/code.h")
#include "reward/code.h"
#define AHA_REWARD_CODE 1
#endif
#endif

static const RewardEntry ENTRIES[] = {
    {"math", reward_math, NULL, "", "1 if the final answer equals the gold answer exactly, else 0"},
    {"format", reward_format, NULL, "", "1 for <think>...</think><answer>...</answer>, each once, else 0"},
    {"tag_count", reward_tag_count, NULL, "", "0.25 per think/answer tag present exactly once"},
    {"countdown", reward_countdown, NULL, "",
     "1 if <answer> uses each of \"numbers\" once to make \"target\", 0.1 if wrong, 0 if none"},
    {"language", reward_language, NULL, "target,lang",
     "fraction of chain-of-thought words in the target language (target=en, zh, ja, ko, ru; default en; lang= also)"},
    {"overlong", reward_overlong, NULL, "max,cache",
     "DAPO soft overlong punishment in [-1, 0] (max = max_new_tokens, cache = max/5)"},
    {"repetition", reward_repetition, NULL, "ngram,max_penalty",
     "n-gram repetition penalty in [max_penalty, 0] (ngram 3, max_penalty -1)"},
    {"cosine", reward_cosine, NULL, "min_wrong,max_wrong,min_correct,max_correct,max_len",
     "cosine-scaled length reward on math correctness (-1,-0.5,0.5,1, max_len = max_new_tokens)"},
    {"chat", reward_chat, NULL, "",
     "chat task: 1 if the answer holds the gold phrase (or refuses a harmful request, gold REFUSE), else 0"},
    {"rm", NULL, NULL, "view,norm,batch",
     "a reward model's score (rm:DIR): view=all|answer (after </think>), norm=none|sigmoid|batch"},
#ifdef AHA_REWARD_CODE
    {"code", NULL, reward_code_batch, REWARD_CODE_KEYS,
     "run the Python program against the task's \"tests\" in a sandbox; 1 if all pass"},
#endif
};
#define N_ENTRIES ((int)(sizeof ENTRIES / sizeof ENTRIES[0]))

const RewardEntry *reward_entries(int *n) {
    *n = N_ENTRIES;
    return ENTRIES;
}

const RewardEntry *reward_find(const char *name) {
    int i = opt_find_named(ENTRIES, N_ENTRIES, sizeof ENTRIES[0], name, "reward");
    return i < 0 ? NULL : &ENTRIES[i];
}

const char *reward_param_string(const RewardParams *p, const char *key, const char *def) {
    for (int i = 0; p && i < p->n; i++)
        if (strcmp(p->key[i], key) == 0) return p->value[i];
    return def;
}

double reward_param_double(const RewardParams *p, const char *key, double def) {
    const char *v = reward_param_string(p, key, NULL);
    return v ? strtod(v, NULL) : def;
}

static int parse_number(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

// 1 when key is one of the comma-separated names in keys.
static int key_allowed(const char *keys, const char *key) {
    size_t m = strlen(key);
    for (const char *p = keys; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == m && memcmp(p, key, m) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

// "k=v,k=v" into t->params. Values other than lang, target, python, view and norm must be numbers.
static int parse_options(RewardTerm *t, const char *text) {
    const char *name = t->entry->name;
    for (const char *p = text; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p) return err_set("reward %s: option '%.*s' is not key=value", name, (int)len, p);
        size_t kl = (size_t)(eq - p), vl = len - kl - 1;
        if (t->params.n == REWARD_MAX_PARAMS) return err_set("reward %s: too many options", name);
        if (kl >= REWARD_PARAM_LEN || vl >= REWARD_PARAM_LEN || vl == 0)
            return err_set("reward %s: option '%.*s' is empty or too long", name, (int)len, p);
        int k = t->params.n;
        memcpy(t->params.key[k], p, kl);
        t->params.key[k][kl] = 0;
        memcpy(t->params.value[k], eq + 1, vl);
        t->params.value[k][vl] = 0;
        if (!key_allowed(t->entry->keys, t->params.key[k]) && strcmp(t->params.key[k], "start") != 0)
            return err_set("reward %s: unknown option '%s' (accepted: %s)", name, t->params.key[k],
                           *t->entry->keys ? t->entry->keys : "none");
        double v;
        int textual = key_allowed("lang,target,python,view,norm", t->params.key[k]);
        if (!textual && parse_number(t->params.value[k], &v))
            return err_set("reward %s: option %s must be a number, got '%s'", name,
                           t->params.key[k], t->params.value[k]);
        t->params.n++;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static int add_term(RewardSpec *spec, RewardTerm *t);
static int parse_rm(RewardTerm *t, const char *rest);

int reward_parse_spec(RewardSpec *spec, const char *text) {
    if (spec->n == REWARD_MAX_TERMS) return err_set("too many reward terms (at most %d)", REWARD_MAX_TERMS);
    char name[64];
    const char *c1 = strchr(text, ':');
    size_t nl = c1 ? (size_t)(c1 - text) : strlen(text);
    if (nl == 0 || nl >= sizeof name) return err_set("bad reward spec '%s' (want NAME[:WEIGHT[:k=v,...]])", text);
    memcpy(name, text, nl);
    name[nl] = 0;
    RewardTerm t = {.entry = reward_find(name), .weight = 1.0};
    if (!t.entry) return -1;
    if (strcmp(name, "rm") == 0) {
        if (!c1) return err_set("reward rm: want rm:DIR[:WEIGHT][:k=v,...] (a reward model directory)");
        return parse_rm(&t, c1 + 1) != 0 ? -1 : add_term(spec, &t);
    }
    if (c1 && strchr(c1 + 1, '=') && !memchr(c1 + 1, ':', (size_t)(strchr(c1 + 1, '=') - c1 - 1))) {
        if (parse_options(&t, c1 + 1)) return -1;
    } else if (c1) {
        const char *c2 = strchr(c1 + 1, ':');
        char w[64];
        size_t wl = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
        if (wl == 0 || wl >= sizeof w) return err_set("reward %s: missing or bad weight in '%s'", name, text);
        memcpy(w, c1 + 1, wl);
        w[wl] = 0;
        if (parse_number(w, &t.weight)) return err_set("reward %s: weight must be a number, got '%s'", name, w);
        if (c2 && parse_options(&t, c2 + 1)) return -1;
    }
    return add_term(spec, &t);
}

// The start option into t->start, then t onto spec.
static int add_term(RewardSpec *spec, RewardTerm *t) {
    double start = reward_param_double(&t->params, "start", 0);
    if (start < 0 || start != floor(start) || start > 1e9)
        return err_set("reward %s: start must be a whole number of steps >= 0", t->entry->name);
    t->start = (long)start;
    snprintf(t->label, sizeof t->label, "%s", t->entry->name);
    if (t->path[0]) {
        // rm:NAME, NAME the last path component other than "model"
        char dir[REWARD_PATH_LEN];
        snprintf(dir, sizeof dir, "%s", t->path);
        for (int pass = 0; pass < 2; pass++) {
            size_t n = strlen(dir);
            while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
            char *slash = strrchr(dir, '/');
            const char *base = slash ? slash + 1 : dir;
            if (pass == 1 || strcmp(base, "model") != 0 || !slash) {
                snprintf(t->label, sizeof t->label, "rm:%.56s", base);
                break;
            }
            *slash = 0;
        }
    }
    // A label already taken gets #2, #3, ... (math, math#2).
    int dup = 1;
    for (int k = 0; k < spec->n; k++) {
        const char *l = spec->terms[k].label, *h = strchr(l, '#');
        size_t n = h ? (size_t)(h - l) : strlen(l);
        dup += strlen(t->label) == n && strncmp(l, t->label, n) == 0;
    }
    if (dup > 1) snprintf(t->label + strlen(t->label), sizeof t->label - strlen(t->label), "#%d", dup);
    spec->terms[spec->n++] = *t;
    return 0;
}

// "DIR[:weight][:k=v,...]" of an rm term.
static int parse_rm(RewardTerm *t, const char *rest) {
    const char *c = strchr(rest, ':');
    size_t dl = c ? (size_t)(c - rest) : strlen(rest);
    if (dl == 0 || dl >= sizeof t->path) return err_set("reward rm: want rm:DIR[:WEIGHT][:k=v,...] (a reward model directory)");
    memcpy(t->path, rest, dl);
    t->path[dl] = 0;
    if (!c) return 0;
    const char *f = c + 1, *c2 = strchr(f, ':');
    size_t fl = c2 ? (size_t)(c2 - f) : strlen(f);
    if (memchr(f, '=', fl)) return c2 ? err_set("reward rm: the options come last") : parse_options(t, f);
    char w[64];
    if (fl == 0 || fl >= sizeof w) return err_set("reward rm: missing or bad weight in '%s'", rest);
    memcpy(w, f, fl);
    w[fl] = 0;
    if (parse_number(w, &t->weight)) return err_set("reward rm: weight must be a number, got '%s'", w);
    return c2 ? parse_options(t, c2 + 1) : 0;
}

int reward_score_batch(const RewardSpec *spec, const RewardInput *in, int n, double *total,
                       double *components) {
    double *r = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (!r) return err_set("out of memory scoring %d completions", n);
    int rc = reward_score_batch_into(spec, in, n, total, components, r);
    free(r);
    return rc;
}

int reward_score_batch_into(const RewardSpec *spec, const RewardInput *in, int n, double *total,
                            double *components, double *r) {
    int K = spec->n;
    for (int i = 0; i < n; i++) total[i] = 0.0;
    for (int k = 0; k < K; k++) {
        const RewardTerm *t = &spec->terms[k];
        if (spec->step < t->start) {
            for (int i = 0; i < n; i++) r[i] = 0.0;   // not on yet
        } else if (t->ctx_fn) {
            if (t->ctx_fn(t->ctx, in, n, &t->params, r)) return err_wrap("reward %s", t->entry->name);
        } else if (t->entry->batch) {
            if (t->entry->batch(in, n, &t->params, r)) return err_wrap("reward %s", t->entry->name);
        } else if (!t->entry->fn) {
            return err_set("reward %s: %s is not open here (aha grpo opens reward models; aha rm score scores with one)",
                           t->entry->name, t->path[0] ? t->path : "its model");
        } else {
#pragma omp parallel for schedule(dynamic, 16)
            for (int i = 0; i < n; i++) r[i] = t->entry->fn(&in[i], &t->params);
        }
        for (int i = 0; i < n; i++) {
            if (isnan(r[i])) {
                // Re-run serially so the message recorded is this thread's.
                t->entry->fn ? (void)t->entry->fn(&in[i], &t->params) : (void)0;
                if (in[i].source) return err_wrap("reward %s, problem %s", t->entry->name, in[i].source);
                return n > 1 ? err_wrap("reward %s, input %d", t->entry->name, i)
                             : err_wrap("reward %s", t->entry->name);
            }
            total[i] += t->weight * r[i];
            if (components) components[(size_t)i * (size_t)K + (size_t)k] = r[i];
        }
    }
    return 0;
}

int reward_input_from_json(RewardInput *in, const cJSON *obj, char *numbuf, size_t numbuf_len) {
    memset(in, 0, sizeof *in);
    in->completion_tokens = -1;
    if (!cJSON_IsObject(obj)) return err_set("the line is not a JSON object");
    const char *s = NULL, *finish = NULL;
    long tokens = -1, max_new = 0;
    int prefilled = 0;
    if (json_get_string(obj, "completion", &s, 1) || json_get_int(obj, "tokens", &tokens, 0) ||
        json_get_int(obj, "max_new_tokens", &max_new, 0) ||
        json_get_bool(obj, "prefilled_think", &prefilled, 0) ||
        json_get_string(obj, "finish", &finish, 0))
        return -1;
    in->completion = s;
    in->completion_len = strlen(s);
    in->completion_tokens = tokens;
    in->max_new_tokens = max_new;
    in->prefilled_think = prefilled;
    in->task = obj;
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(obj, "prompt");
    if (cJSON_IsString(prompt)) in->prompt = prompt->valuestring;
    if (finish && strcmp(finish, "stop") != 0 && strcmp(finish, "length") != 0)
        return err_set("field \"finish\" must be \"stop\" or \"length\", got \"%s\"", finish);
    in->finish = finish && strcmp(finish, "length") == 0 ? REWARD_FINISH_LENGTH : REWARD_FINISH_STOP;
    const cJSON *ans = cJSON_GetObjectItemCaseSensitive(obj, "answer");
    if (cJSON_IsString(ans)) {
        in->answer = ans->valuestring;
    } else if (cJSON_IsNumber(ans)) {
        // Print integers exactly; other numbers with enough digits to round-trip.
        double v = ans->valuedouble;
        if (v == floor(v) && fabs(v) < 1e15) snprintf(numbuf, numbuf_len, "%.0f", v);
        else snprintf(numbuf, numbuf_len, "%.17g", v);
        in->answer = numbuf;
    } else if (ans && !cJSON_IsNull(ans)) {
        return err_set("field \"answer\" must be a string or a number");
    }
    return 0;
}
