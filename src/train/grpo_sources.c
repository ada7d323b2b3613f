// Prompt sources of a mixed GRPO run: parsing their specs, opening their
// problems, the seeded draw of which source serves each problem.
#include "train/grpo_sources.h"
#include "base/err.h"
#include "base/rng.h"
#include "task/task.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The terms named by "a,b,c" (labels may hold ':', never ',').
static int parse_rewards(GrpoSource *s, const char *list, const RewardSpec *rw) {
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = 0;
        for (int k = 0; k < rw->n; k++)
            if (strlen(rw->terms[k].label) == len && memcmp(rw->terms[k].label, p, len) == 0) s->terms |= 1u << k, found = 1;
        if (!found) {
            char known[1024] = "";
            for (int k = 0; k < rw->n; k++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "", rw->terms[k].label);
            return err_set("rewards: no --reward term is called '%.*s' (the run's terms: %s)", (int)len, p, known);
        }
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static int parse_number(const char *key, const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    if (errno || end == v || *end || !(*out >= lo && *out <= hi)) return err_set("%s: want a number in [%g, %g], got '%s'", key, lo, hi, v);
    return 0;
}

static int parse_spec(GrpoSource *s, const char *text, const RewardSpec *rw, int *difficulty, int *max_difficulty) {
    char buf[OPT_LIST_LEN];
    snprintf(buf, sizeof buf, "%s", text);
    s->weight = 1;
    s->terms = rw->n >= 32 ? 0xffffffffu : (1u << rw->n) - 1;
    char *p = buf;
    while (p && *p) {
        char *eq = strchr(p, '=');
        if (!eq) return err_set("'%s' is not key=value", p);
        *eq = 0;
        const char *key = p, *val = eq + 1;
        if (strcmp(key, "rewards") == 0) {
            s->terms = 0;
            return parse_rewards(s, val, rw);
        }
        char *colon = strchr(val, ':');
        if (colon) *colon = 0;
        p = colon ? colon + 1 : NULL;
        double d;
        if (strcmp(key, "task") == 0) snprintf(s->task, sizeof s->task, "%s", val);
        else if (strcmp(key, "dataset") == 0) snprintf(s->dataset, sizeof s->dataset, "%s", val);
        else if (strcmp(key, "name") == 0) snprintf(s->name, sizeof s->name, "%s", val);
        else if (strcmp(key, "weight") == 0) {
            if (parse_number(key, val, 1e-9, 1e9, &s->weight) != 0) return -1;
        } else if (strcmp(key, "difficulty") == 0) {
            if (parse_number(key, val, 0, TASK_MAX_DIFFICULTY, &d) != 0 || d != floor(d)) return err_set("difficulty: a whole number in [0, %d]", TASK_MAX_DIFFICULTY);
            *difficulty = (int)d;
        } else if (strcmp(key, "max_difficulty") == 0) {
            if (parse_number(key, val, 0, TASK_MAX_DIFFICULTY, &d) != 0 || d != floor(d)) return err_set("max_difficulty: a whole number in [0, %d]", TASK_MAX_DIFFICULTY);
            *max_difficulty = (int)d;
        } else {
            return err_set("unknown key '%s' (task, dataset, weight, difficulty, max_difficulty, name, rewards)", key);
        }
    }
    return 0;
}

// name= or the task, or the dataset file's name without directory and extension.
static void default_name(GrpoSource *s) {
    if (s->name[0]) return;
    const char *base = s->task[0] ? s->task : strrchr(s->dataset, '/') ? strrchr(s->dataset, '/') + 1 : s->dataset;
    snprintf(s->name, sizeof s->name, "%s", base);
    char *dot = strrchr(s->name, '.');
    if (dot && dot != s->name) *dot = 0;
}

// A source whose verifier is not among its terms still has its correctness
// judged: the verifier joins the spec with weight 0 (one such term per
// verifier, shared by the sources that need it), so it is logged and never paid.
static int add_judge(RewardSpec *rw, GrpoSource *s, const char *verifier) {
    for (int k = 0; k < rw->n; k++)
        if (rw->terms[k].weight == 0 && strcmp(rw->terms[k].entry->name, verifier) == 0) {
            s->terms |= 1u << k, s->verifier_term = k;
            return 0;
        }
    char spec[64];
    snprintf(spec, sizeof spec, "%s:0", verifier);
    if (reward_parse_spec(rw, spec) != 0) return -1;
    s->terms |= 1u << (rw->n - 1), s->verifier_term = rw->n - 1;
    return 0;
}

int grpo_sources_open(GrpoSources *S, const OptList *specs, RewardSpec *rewards, int difficulty, int max_difficulty,
                      uint64_t seed) {
    memset(S, 0, sizeof *S);
    S->seed = seed;
    if (specs->n > GRPO_MAX_SOURCES) return err_set("source: at most %d sources", GRPO_MAX_SOURCES);
    for (int i = 0; i < specs->n; i++) {
        GrpoSource *s = &S->src[i];
        int diff = difficulty, max_diff = max_difficulty;
        S->n = i + 1;
        if (parse_spec(s, specs->item[i], rewards, &diff, &max_diff) != 0) goto fail;
        if (!s->task[0] == !s->dataset[0]) {
            err_set("give exactly one of task= and dataset=");
            goto fail;
        }
        default_name(s);
        for (int j = 0; j < i; j++)
            if (strcmp(S->src[j].name, s->name) == 0) {
                err_set("two sources are called '%s' (name= tells them apart)", s->name);
                goto fail;
            }
        if (problems_open(&s->ps, s->task, s->dataset, TASK_SPLIT_TRAIN, seed + (uint64_t)i, diff, max_diff, 1) != 0) goto fail;
        s->open = 1;
        const char *v = problems_verifier(&s->ps);
        s->verifier_term = -1;
        for (int k = 0; k < rewards->n && s->verifier_term < 0; k++)
            if ((s->terms >> k & 1u) && strcmp(rewards->terms[k].entry->name, v) == 0) s->verifier_term = k;
        if (s->verifier_term < 0 && add_judge(rewards, s, v) != 0) goto fail;
        S->total_weight += s->weight;
    }
    return 0;
fail:
    err_wrap("source \"%s\"", specs->item[S->n - 1]);
    grpo_sources_close(S);
    return -1;
}

void grpo_sources_close(GrpoSources *S) {
    for (int i = 0; i < S->n; i++)
        if (S->src[i].open) problems_close(&S->src[i].ps);
    memset(S, 0, sizeof *S);
}

int grpo_sources_pick(const GrpoSources *S, long index) {
    double u = rng_uniform_at(S->seed, (uint32_t)index, (uint32_t)((uint64_t)index >> 32), 0x5eu, 0) * S->total_weight;
    for (int i = 0; i < S->n - 1; i++) {
        if (u < S->src[i].weight) return i;
        u -= S->src[i].weight;
    }
    return S->n - 1;
}

int grpo_sources_get(GrpoSources *S, long index, PromptProblem *p, int *source) {
    int s = grpo_sources_pick(S, index);
    *source = s;
    return problems_get(&S->src[s].ps, S->src[s].taken++, p);
}

void grpo_sources_replay(GrpoSources *S, long next_index) {
    for (int i = 0; i < S->n; i++) S->src[i].taken = 0;
    for (long i = 0; i < next_index; i++) S->src[grpo_sources_pick(S, i)].taken++;
}
