// aha rejection-sample: problems -> n scored samples each (the rollout path)
// -> the checks, dedup and the per-prompt cap -> SFT rows and stats.
#include "train/rejection.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/sys.h"
#include "model/io.h"
#include "report/log.h"
#include "reward/text.h"
#include "tok/tokenizer.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const char *const reject_reason_names[REJECT_N] = {"verifier",   "format",     "language",  "no_truncation",
                                                   "min_tokens", "max_tokens", "max_repetition", "duplicate",
                                                   "max_keep"};

#define F(x) offsetof(RejectConfig, x)
#define S(x) F(x), sizeof(((RejectConfig *)0)->x)
const OptDef reject_options[] = {
    {"model", OPT_STRING, S(model), 0, 0, NULL, "model directory (Hugging Face layout, with tokenizer.json)", NULL, NULL,
     OPT_REQUIRED},
    OPT_GROUP_ENTRY(RejectConfig, src, problem_choice_options),
    {"n", OPT_INT, F(n), 0, 1, 1024, NULL, "samples per prompt (verl rollout.n, TRL num_generations)", NULL, "-n", 0},
    {"max_keep", OPT_INT, F(max_keep), 0, 1, 1024, NULL, "kept samples per prompt at most", NULL, NULL, 0},
    {"require", OPT_LIST, F(require), 0, 0, 0, NULL, "checks a kept sample passes, comma-separated: " REJECT_CHECK_NAMES, NULL, NULL, 0},
    {"lang", OPT_STRING, S(lang), 0, 0, NULL, "language check: en, zh, ja, ko, ru", NULL, NULL, 0},
    {"min_language", OPT_DOUBLE, F(min_language), 0, 0, 1, NULL, "language check: least fraction of chain-of-thought words in lang", NULL, NULL, 0},
    {"min_tokens", OPT_INT, F(min_tokens), 0, 0, 1000000, NULL, "reject completions shorter than this (0: off)", NULL, NULL, 0},
    {"max_tokens", OPT_INT, F(max_tokens), 0, 0, 1000000, NULL, "reject completions longer than this (0: off)", NULL, NULL, 0},
    {"max_repetition", OPT_DOUBLE, F(max_repetition), 0, 0, 1, NULL, "reject completions whose repeated n-gram fraction is above this (1: off)", NULL, NULL, 0},
    {"repetition_ngram", OPT_INT, F(repetition_ngram), 0, 1, 64, NULL, "n of the repetition check's n-grams (words)", NULL, NULL, 0},
    OPT_GROUP_ENTRY(RejectConfig, sample, sample_settings_options),
    {"batch", OPT_INT, F(batch), 0, 1, 4096, NULL, "prompts sampled together", NULL, NULL, 0},
    {"out", OPT_STRING, S(out), 0, 0, NULL, "the SFT JSONL to write (replaced atomically)", NULL, NULL, OPT_REQUIRED},
    {"stats", OPT_STRING, S(stats), 0, 0, NULL, "the stats JSON to write (default OUT.stats.json)", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

static const RejectConfig reject_default = {
    .src = {.split = "train", .problems = 64}, .n = 8, .max_keep = 2,
    .require = {3, {"verifier", "format", "no_truncation"}},
    .lang = "en", .min_language = 0.95, .max_repetition = 1.0, .repetition_ngram = 3, .batch = 8,
    .sample = SAMPLE_SETTINGS_DEFAULT};

void reject_defaults(void *c) { *(RejectConfig *)c = reject_default; }

// The names --require may give, by the reason their failure counts as.
static const RejectReason named_checks[] = {REJECT_VERIFIER, REJECT_FORMAT, REJECT_LANGUAGE, REJECT_TRUNCATION};

// Whether name[0..len) spells known, a dash standing for an underscore as in flag names.
static int check_named(const char *known, const char *name, size_t len) {
    if (strlen(known) != len) return 0;
    for (size_t i = 0; i < len; i++)
        if (name[i] != known[i] && !(name[i] == '-' && known[i] == '_')) return 0;
    return 1;
}

static int parse_check(const char *name, size_t len, unsigned *require) {
    for (size_t i = 0; i < sizeof named_checks / sizeof named_checks[0]; i++) {
        const char *known = reject_reason_names[named_checks[i]];
        if (check_named(known, name, len)) {
            *require |= 1u << named_checks[i];
            return 0;
        }
    }
    return err_set("unknown check '%.*s' (known: %s)", (int)len, name, REJECT_CHECK_NAMES);
}

int reject_parse_checks(const OptList *names, unsigned *require) {
    *require = 0;
    for (int i = 0; i < names->n; i++)
        for (const char *s = names->item[i]; *s;) {
            size_t len = strcspn(s, ",");
            if (len && parse_check(s, len, require) != 0) return -1;
            s += len + (s[len] == ',');
        }
    return 0;
}

// Every check f fails, as bits 1 << REJECT_*; the bounds only when set.
static unsigned failures(const RejectChecks *c, const SampleFacts *f) {
    unsigned bad = 0;
    if (!f->correct) bad |= 1u << REJECT_VERIFIER;
    if (f->format < 1) bad |= 1u << REJECT_FORMAT;
    if (f->language < c->min_language) bad |= 1u << REJECT_LANGUAGE;
    if (f->truncated) bad |= 1u << REJECT_TRUNCATION;
    if (c->min_tokens && f->tokens < c->min_tokens) bad |= 1u << REJECT_MIN_TOKENS;
    if (c->max_tokens && f->tokens > c->max_tokens) bad |= 1u << REJECT_MAX_TOKENS;
    if (f->repetition > c->max_repetition) bad |= 1u << REJECT_REPETITION;
    return bad;
}

RejectReason reject_verdict(const RejectChecks *c, const SampleFacts *f) {
    unsigned active = c->require | 1u << REJECT_MIN_TOKENS | 1u << REJECT_MAX_TOKENS | 1u << REJECT_REPETITION;
    unsigned bad = failures(c, f) & active;
    for (int r = 0; r < REJECT_DUPLICATE; r++)
        if (bad >> r & 1u) return (RejectReason)r;
    return REJECT_NONE;
}

// s without leading and trailing whitespace: *len bytes from the result.
static const char *trimmed(const char *s, size_t *len) {
    size_t n = strlen(s);
    while (n && text_is_space(s[n - 1])) n--;
    while (n && text_is_space(*s)) s++, n--;
    *len = n;
    return s;
}

static int same_text(const char *a, const char *b) {
    size_t na, nb;
    a = trimmed(a, &na);
    b = trimmed(b, &nb);
    return na == nb && !memcmp(a, b, na);
}

void reject_select(const char *const *text, RejectReason *reason, int n, int max_keep) {
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (reason[i] != REJECT_NONE) continue;
        for (int j = 0; j < i && reason[i] == REJECT_NONE; j++)
            if (reason[j] == REJECT_NONE && same_text(text[i], text[j])) reason[i] = REJECT_DUPLICATE;
        if (reason[i] == REJECT_NONE && kept == max_keep) reason[i] = REJECT_MAX_KEEP;
        kept += reason[i] == REJECT_NONE;
    }
}

// Counts over a set of prompts (all of them, or one difficulty).
typedef struct {
    long prompts, samples, passed, kept;
} Tally;

typedef struct {
    Tally all, by_diff[TASK_MAX_DIFFICULTY + 1];   // by_diff[0]: dataset rows
    long rejected[REJECT_N];   // by the reason each sample was not kept
    long failed[REJECT_DUPLICATE];   // every check each sample fails, required or not
    cJSON *per_prompt;         // [{"problem_id", "difficulty", "samples", "passed", "kept", "pass_rate"}]
} RejectTally;

static void tally_add(Tally *t, int samples, int passed, int kept) {
    t->prompts++;
    t->samples += samples;
    t->passed += passed;
    t->kept += kept;
}

static cJSON *tally_json(const Tally *t) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "prompts", (double)t->prompts);
    cJSON_AddNumberToObject(o, "samples", (double)t->samples);
    cJSON_AddNumberToObject(o, "passed", (double)t->passed);
    cJSON_AddNumberToObject(o, "kept", (double)t->kept);
    cJSON_AddNumberToObject(o, "pass_rate", t->samples ? (double)t->passed / (double)t->samples : 0);
    return o;
}

// The terms scored for every sample: the verifier (term 0), format (1),
// language (2) and the repeated n-gram fraction, negated (3).
enum { TERM_VERIFIER, TERM_FORMAT, TERM_LANGUAGE, TERM_REPETITION, N_TERMS };

static int checks_spec(const RejectConfig *c, const char *verifier, RewardSpec *terms) {
    char lang[64], rep[64];
    snprintf(lang, sizeof lang, "language:1:lang=%s", c->lang);
    snprintf(rep, sizeof rep, "repetition:1:ngram=%d,max_penalty=-1", c->repetition_ngram);
    memset(terms, 0, sizeof *terms);
    if (reward_parse_spec(terms, verifier) != 0 || reward_parse_spec(terms, "format") != 0 ||
        reward_parse_spec(terms, lang) != 0 || reward_parse_spec(terms, rep) != 0)
        return -1;
    return 0;
}

static SampleFacts row_facts(const RolloutRow *row) {
    return (SampleFacts){.correct = row->correct, .truncated = row->truncated, .tokens = row->n - (row->stop_id >= 0),
                         .format = row->components[TERM_FORMAT], .language = row->components[TERM_LANGUAGE],
                         .repetition = -row->components[TERM_REPETITION]};
}

// The fields of a dataset row (or of a generated problem) the output does not
// already hold, so that the verifier finds its task fields ("numbers", "tests")
// when the row is scored again. "text" and "messages" stay out: they would make it another SFT shape.
static void add_task_fields(cJSON *o, const PromptProblem *p) {
    if (p->generated && p->generated->n_numbers > 0) {
        cJSON *nums = cJSON_CreateArray();
        for (int i = 0; i < p->generated->n_numbers; i++)
            cJSON_AddItemToArray(nums, cJSON_CreateNumber((double)p->generated->numbers[i]));
        cJSON_AddItemToObject(o, "numbers", nums);
        cJSON_AddNumberToObject(o, "target", (double)p->generated->target);
    }
    // A code problem's tests (its reference solution stays out of an SFT row).
    cJSON *code = p->generated && p->generated->code[0] ? cJSON_Parse(p->generated->code) : NULL;
    for (cJSON *f = code ? code->child : NULL; f; f = f->next)
        if (!cJSON_HasObjectItem(o, f->string) && strcmp(f->string, "solution"))
            cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, 1));
    cJSON_Delete(code);
    for (const cJSON *f = p->task ? p->task->child : NULL; f; f = f->next)
        if (!cJSON_HasObjectItem(o, f->string) && strcmp(f->string, "text") && strcmp(f->string, "messages"))
            cJSON_AddItemToObject(o, f->string, cJSON_Duplicate(f, 1));
}

// One SFT row: the prompt as rendered with the template, the completion as
// decoded (no stop token), and what scoring it again needs.
static int write_row(FILE *f, const RolloutGroup *g, const RolloutRow *row, int prefilled) {
    const PromptProblem *p = &g->problem;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "prompt", g->prompt_text);
    cJSON_AddStringToObject(o, "completion", row->text);
    cJSON_AddStringToObject(o, "problem_id", p->id);
    cJSON_AddNumberToObject(o, "difficulty", p->difficulty);
    cJSON_AddStringToObject(o, "answer", p->answer ? p->answer : "");
    cJSON_AddNumberToObject(o, "reward", row->components[TERM_VERIFIER]);
    cJSON_AddNumberToObject(o, "tokens", row->n - (row->stop_id >= 0));
    cJSON_AddBoolToObject(o, "prefilled_think", prefilled);
    add_task_fields(o, p);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) return err_set("out of memory");
    int rc = fprintf(f, "%s\n", s) < 0 ? err_set("write: %s", strerror(errno)) : 0;
    free(s);
    return rc;
}

// Group b's G samples: checks, selection, the kept rows, the counts.
static int take_group(const RejectConfig *c, const RejectChecks *ch, const Rollout *ro, int b, FILE *out,
                      RejectTally *t, RejectReason *reason, const char **text) {
    const RolloutGroup *g = &ro->groups[b];
    int G = ro->G, passed = 0, kept = 0;
    for (int j = 0; j < G; j++) {
        const RolloutRow *row = &ro->rows[(size_t)b * G + j];
        SampleFacts f = row_facts(row);
        unsigned bad = failures(ch, &f);
        for (int r = 0; r < REJECT_DUPLICATE; r++) t->failed[r] += bad >> r & 1u;
        reason[j] = reject_verdict(ch, &f);
        passed += reason[j] == REJECT_NONE;
        text[j] = row->text;
    }
    reject_select(text, reason, G, c->max_keep);
    for (int j = 0; j < G; j++) {
        if (reason[j] != REJECT_NONE) {
            t->rejected[reason[j]]++;
            continue;
        }
        kept++;
        if (write_row(out, g, &ro->rows[(size_t)b * G + j], c->sample.prefill_think) != 0) return -1;
    }
    const PromptProblem *p = &g->problem;
    tally_add(&t->all, G, passed, kept);
    tally_add(&t->by_diff[p->difficulty], G, passed, kept);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "problem_id", p->id);
    cJSON_AddNumberToObject(e, "difficulty", p->difficulty);
    cJSON_AddNumberToObject(e, "samples", G);
    cJSON_AddNumberToObject(e, "passed", passed);
    cJSON_AddNumberToObject(e, "kept", kept);
    cJSON_AddNumberToObject(e, "pass_rate", (double)passed / G);
    cJSON_AddItemToArray(t->per_prompt, e);
    return 0;
}

// {"prompts", "samples", "passed", "kept", "pass_rate", "kept_rate", "n", "max_keep",
//  "require": [...], "rejected": {reason: count}, "failed": {check: count},
//  "by_difficulty": {"1": {"prompts", "samples", "passed", "kept", "pass_rate"}}, "per_prompt": [...]}
static cJSON *stats_json(const RejectConfig *c, unsigned require, RejectTally *t) {
    cJSON *o = tally_json(&t->all), *req = cJSON_CreateArray(), *rej = cJSON_CreateObject(),
          *fail = cJSON_CreateObject(), *bd = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "kept_rate", t->all.samples ? (double)t->all.kept / (double)t->all.samples : 0);
    cJSON_AddNumberToObject(o, "n", c->n);
    cJSON_AddNumberToObject(o, "max_keep", c->max_keep);
    for (int r = 0; r < REJECT_N; r++) {
        if (require >> r & 1u) cJSON_AddItemToArray(req, cJSON_CreateString(reject_reason_names[r]));
        cJSON_AddNumberToObject(rej, reject_reason_names[r], (double)t->rejected[r]);
        if (r < REJECT_DUPLICATE) cJSON_AddNumberToObject(fail, reject_reason_names[r], (double)t->failed[r]);
    }
    for (int d = 0; d <= TASK_MAX_DIFFICULTY; d++) {
        if (!t->by_diff[d].prompts) continue;
        char key[16];
        snprintf(key, sizeof key, "%d", d);
        cJSON_AddItemToObject(bd, key, tally_json(&t->by_diff[d]));
    }
    cJSON_AddItemToObject(o, "require", req);
    cJSON_AddItemToObject(o, "rejected", rej);
    cJSON_AddItemToObject(o, "failed", fail);
    cJSON_AddItemToObject(o, "by_difficulty", bd);
    cJSON_AddItemToObject(o, "per_prompt", t->per_prompt);
    t->per_prompt = NULL;
    return o;
}

// Settings that are wrong before anything is loaded.
static int check_config(const RejectConfig *c, RejectChecks *ch) {
    if (!c->src.task[0] == !c->src.dataset[0]) return err_set("give exactly one of --task and --dataset");
    if (!c->out[0]) return err_set("out: an output file is required (--out FILE.jsonl)");
    if (reject_parse_checks(&c->require, &ch->require) != 0) return err_wrap("require");
    if (c->min_tokens && c->max_tokens && c->min_tokens > c->max_tokens)
        return err_set("min_tokens %d is above max_tokens %d: no completion could pass", c->min_tokens, c->max_tokens);
    ch->min_language = c->min_language;
    ch->min_tokens = c->min_tokens;
    ch->max_tokens = c->max_tokens;
    ch->max_repetition = c->max_repetition;
    return 0;
}

static int stats_path(const RejectConfig *c, char *path, size_t cap) {
    int n = c->stats[0] ? snprintf(path, cap, "%s", c->stats) : snprintf(path, cap, "%s.stats.json", c->out);
    return n < 0 || (size_t)n >= cap ? err_set("stats: path too long") : 0;
}

// Every batch of prompts through the rollout into out and t.
static int sample_all(const RejectConfig *c, const RejectChecks *ch, Rollout *ro, ProblemSource *ps, int n,
                      FILE *out, RejectTally *t) {
    RejectReason *reason = malloc(sizeof *reason * (size_t)c->n);
    const char **text = malloc(sizeof *text * (size_t)c->n);
    int rc = reason && text ? 0 : err_set("out of memory"), P = ro->max_groups;
    int slots[4096];
    for (int b = 0; b < P; b++) slots[b] = b;
    Progress prog;
    progress_init(&prog, stderr, "rejection-sample", 0, n);
    for (int b0 = 0; rc == 0 && b0 < n; b0 += P) {
        int B = n - b0 < P ? n - b0 : P;
        for (int b = 0; rc == 0 && b < B; b++)
            if (problems_get(ps, b0 + b, &ro->groups[b].problem) != 0 || rollout_prepare(ro, b) != 0) rc = -1;
        if (rc == 0 && rollout_sample_dealt(ro, slots, B, 0) != 0) rc = -1;
        for (int b = 0; rc == 0 && b < B; b++) rc = take_group(c, ch, ro, b, out, t, reason, text);
        char line[96];
        snprintf(line, sizeof line, "kept %ld of %ld samples", t->all.kept, t->all.samples);
        if (rc == 0) progress_update(&prog, b0 + B, line);
    }
    progress_end(&prog);
    free(reason);
    free(text);
    return rc;
}

int reject_run(const RejectConfig *c, cJSON **stats) {
    *stats = NULL;
    RejectChecks ch;
    char spath[1024];
    if (check_config(c, &ch) != 0 || stats_path(c, spath, sizeof spath) != 0) return -1;
    threads_set(c->sample.threads);
    if (model_precision_set(c->sample.precision) != 0) return -1;
    Model m = {0};
    Tokenizer *tok = NULL;
    ProblemSource ps = {0};
    Rollout ro = {0};
    AtomicFile af = {0};
    FILE *nowhere = NULL;   // rank > 0's output under MPI
    RewardSpec terms;
    RejectTally t = {0};
    int n = 0, max_prompt = 1, rc = -1;
    long skipped = 0;
    if (model_load_frozen(&m, c->model) != 0) return err_wrap("model %s", c->model);
    if (!(tok = tok_load(c->model))) goto done;
    if (eval_open_problems(&c->src, "rejection-sample", &c->sample, &m, tok, &ps, &n, &skipped, &max_prompt) != 0)
        goto done;
    const char *verifier = problems_verifier(&ps);
    if (checks_spec(c, verifier, &terms) != 0) goto done;
    int P = c->batch < n ? c->batch : n;
    if (rollout_open(&ro, &m, tok, &c->sample, P, c->n, max_prompt, &terms, verifier) != 0) goto done;
    if (!(t.per_prompt = cJSON_CreateArray())) {
        err_set("out of memory");
        goto done;
    }
    // The output's folder is made once nothing can refuse the start any more.
    // Under MPI the prompts of a batch are dealt to the ranks, every rank
    // checks every sample, and rank 0 alone writes.
    char dir[1024];
    int lead = dist_rank() == 0;
    if (!lead && !(nowhere = fopen("/dev/null", "w"))) {
        err_set("/dev/null: %s", strerror(errno));
        goto done;
    }
    if (lead && (path_sibling(dir, sizeof dir, c->out, ".") != 0 || mkdir_p(dir) != 0 || atomic_open(&af, c->out) != 0))
        goto done;
    if (sample_all(c, &ch, &ro, &ps, n, lead ? af.f : nowhere, &t) != 0) goto done;
    *stats = stats_json(c, ch.require, &t);
    cJSON_AddNumberToObject(*stats, "skipped_long_prompts", (double)skipped);
    char *text = lead ? cJSON_Print(*stats) : NULL;
    int w = !lead ? 0 : text ? file_write_atomic(spath, text, strlen(text)) : err_set("out of memory");
    free(text);
    if (w != 0 || (lead && atomic_commit(&af) != 0)) goto done;
    rc = 0;
done:
    if (nowhere) fclose(nowhere);
    if (rc != 0 && af.f) atomic_abort(&af);
    if (rc != 0) cJSON_Delete(*stats), *stats = NULL;
    cJSON_Delete(t.per_prompt);
    rollout_close(&ro);
    problems_close(&ps);
    tok_free(tok);
    model_free(&m);
    return rc;
}

static double num(const cJSON *o, const char *key) { return cJSON_GetNumberValue(cJSON_GetObjectItem(o, key)); }

void reject_print(FILE *f, const cJSON *s) {
    fprintf(f, "prompts %.0f, samples %.0f, kept %.0f (%.3f of samples), passed every check %.3f\n",
            num(s, "prompts"), num(s, "samples"), num(s, "kept"), num(s, "kept_rate"), num(s, "pass_rate"));
    fprintf(f, "  rejected by reason (first failed check):\n");
    for (const cJSON *e = cJSON_GetObjectItem(s, "rejected")->child; e; e = e->next)
        if (e->valuedouble > 0) fprintf(f, "    %-16s %8.0f\n", e->string, e->valuedouble);
    for (const cJSON *e = cJSON_GetObjectItem(s, "by_difficulty")->child; e; e = e->next)
        fprintf(f, "  difficulty %-5s prompts %-4.0f pass rate %.3f  kept %.0f\n",
                strcmp(e->string, "0") ? e->string : "-", num(e, "prompts"), num(e, "pass_rate"), num(e, "kept"));
}
