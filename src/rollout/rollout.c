// Prompts -> completions -> rewards: template, tokenize, batched sampling,
// detokenize, score. Storage is carved once at open; a call reuses it.
#include "rollout/rollout.h"
#include "base/err.h"
#include "base/sys.h"
#include "tok/template.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

const OptDef threads_options[] = {
    {"threads", OPT_INT, 0, 0, 0, 1024, NULL, "threads (0: all cores)", NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};

static const OptChoice precision_choices[] = {{"fp32", PRECISION_FP32}, {"bf16", PRECISION_BF16}, {NULL, 0}};
const OptDef precision_options[] = {
    {"precision", OPT_ENUM, 0, 0, 0, 0, precision_choices,
     "matmul precision: fp32, or bf16 (bf16 weights and activations into the matmuls, fp32 accumulation, fp32 "
     "master weights, optimizer, norms, softmax and log-probs)",
     NULL, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};

#define F(x) offsetof(SampleSettings, x)
#define S(x) F(x), sizeof(((SampleSettings *)0)->x)
const OptDef sample_settings_options[] = {
    {"template", OPT_STRING, S(template_name), 0, 0, NULL,
     "prompt template: r1zero, chatml, raw, qwen2.5, qwen3, model (the model's chat_template)", NULL, NULL, 0},
    {"prefill_think", OPT_BOOL, F(prefill_think), 0, 0, 1, NULL, "end the prompt with <think>", NULL, NULL, 0},
    {"enable_thinking", OPT_BOOL, F(enable_thinking), 0, 0, 1, NULL,
     "qwen3: false ends the prompt with an empty think block (Qwen3's enable_thinking)", NULL, NULL, 0},
    {"system", OPT_STRING, S(system), 0, 0, NULL, "system prompt", NULL, NULL, 0},
    {"temperature", OPT_DOUBLE, F(temperature), 0, 0, 10, NULL, "sampling temperature (0: greedy)", NULL, NULL, 0},
    {"top_p", OPT_DOUBLE, F(top_p), 0, 1e-6, 1, NULL, "nucleus sampling: keep the likeliest tokens up to mass P", NULL, NULL, 0},
    {"min_p", OPT_DOUBLE, F(min_p), 0, 0, 1, NULL, "keep tokens with p >= min_p x p_max (0: off)", NULL, NULL, 0},
    {"top_k", OPT_INT, F(top_k), 0, 0, 1000000000, NULL, "keep the K likeliest tokens (0: off)", NULL, NULL, 0},
    {"max_new_tokens", OPT_INT, F(max_new_tokens), 0, 1, 1000000, NULL, "completion budget (max_completion_length)", NULL, NULL, 0},
    {"stop", OPT_LIST, F(stop), 0, 0, 0, NULL, "stop when the text ends with this string (EOS/end-of-turn ids always stop)", NULL, NULL, 0},
    {"seed", OPT_INT, F(seed), 0, 0, 2147483647, NULL, "random seed", NULL, NULL, 0},
    OPT_GROUP_ENTRY(SampleSettings, threads, threads_options),
    OPT_GROUP_ENTRY(SampleSettings, precision, precision_options),
    {NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};
#undef F
#undef S

void sample_settings_defaults(SampleSettings *s) { *s = (SampleSettings)SAMPLE_SETTINGS_DEFAULT; }

int sample_settings_model_defaults(SampleSettings *s, const char *dir) {
    GenConfig g;
    if (genconfig_load(&g, dir) != 0) return -1;
    if (g.has_temperature) s->temperature = g.temperature;
    if (g.has_top_p) s->top_p = g.top_p;
    if (g.has_top_k) s->top_k = g.top_k;
    if (g.has_min_p) s->min_p = g.min_p;
    memcpy(s->model_eos, g.eos_ids, sizeof g.eos_ids);
    s->n_model_eos = g.n_eos;
    return 0;
}

static const char *token_bytes(const void *ctx, int id, size_t *len) { return tok_token_bytes(ctx, id, len); }

static int add_stop_id(Rollout *r, int id) {
    if (id < 0) return 0;
    for (int i = 0; i < r->n_stop_ids; i++)
        if (r->stop_ids[i] == id) return 0;
    if (r->n_stop_ids == SAMPLER_MAX_STOPS) return err_set("more than %d stop ids", SAMPLER_MAX_STOPS);
    r->stop_ids[r->n_stop_ids++] = id;
    return 0;
}

// The settings' template, "model" read from the tokenizer, checked against
// the thinking settings by rendering an empty prompt.
static int open_template(Template *t, const Tokenizer *tok, const SampleSettings *s) {
    const char *where, *text = tok_chat_template(tok, &where);
    if (template_open(t, s->template_name, text, where) != 0) return -1;
    char *buf = NULL;
    size_t cap = 0;
    int rc = template_render_prompt(t, "", NULL, s->prefill_think, s->enable_thinking, &buf, &cap);
    free(buf);
    return rc;
}

// Stop ids: the tokenizer's EOS, every EOS id of config.json and of
// generation_config.json, the template's end-of-turn token. An end-of-turn the tokenizer has no token for becomes a
// stop string.
static int stops_init(Rollout *r) {
    int rc = add_stop_id(r, tok_eos_id(r->tok));
    for (int i = 0; rc == 0 && i < r->model->cfg.n_eos; i++) rc = add_stop_id(r, r->model->cfg.eos_token_ids[i]);
    for (int i = 0; rc == 0 && i < r->set.n_model_eos; i++) rc = add_stop_id(r, r->set.model_eos[i]);
    const char *eot = template_eot(&r->tmpl);
    if (rc == 0 && eot) {
        int id = tok_token_id(r->tok, eot);
        if (id >= 0) rc = add_stop_id(r, id);
        else if (r->set.stop.n < OPT_LIST_MAX) snprintf(r->set.stop.item[r->set.stop.n++], OPT_LIST_LEN, "%s", eot);
    }
    if (rc != 0) return -1;
    if (r->set.stop.n > SAMPLER_MAX_STOPS) return err_set("stop: at most %d stop strings", SAMPLER_MAX_STOPS);
    for (int i = 0; i < r->set.stop.n; i++) {
        size_t n = strlen(r->set.stop.item[i]);
        if (n < 1 || n > SAMPLER_MAX_STOP_LEN)
            return err_set("stop: \"%s\" must have 1 to %d bytes", r->set.stop.item[i], SAMPLER_MAX_STOP_LEN);
    }
    return 0;
}

// Byte sizes of the arrays carved from one allocation.
typedef struct {
    size_t groups, rows, prompt_ids, ids, logp, pids, plens, pidx, out, in, total, comp, term, all;
} Layout;

static size_t align(size_t n) { return (n + 63) & ~(size_t)63; }

static Layout layout(int max_groups, int G, int max_prompt_len, int max_new) {
    size_t B = (size_t)max_groups, R = B * (size_t)G;
    Layout l;
    l.groups = align(B * sizeof(RolloutGroup));
    l.rows = align(R * sizeof(RolloutRow));
    l.prompt_ids = align(B * (size_t)max_prompt_len * sizeof(int));
    l.ids = align(R * (size_t)max_new * sizeof(int));
    l.logp = align(R * (size_t)max_new * sizeof(float));
    l.pids = align(B * sizeof(const int *));
    l.plens = align(B * sizeof(int));
    l.pidx = align(B * sizeof(uint32_t));
    l.out = align(R * sizeof(Completion));
    l.in = align(R * sizeof(RewardInput));
    l.total = align(R * sizeof(double));
    l.comp = align(R * (REWARD_MAX_TERMS + 1) * sizeof(double));
    l.term = align(R * sizeof(double));
    l.all = l.groups + l.rows + l.prompt_ids + l.ids + l.logp + l.pids + l.plens + l.pidx + l.out + l.in + l.total +
            l.comp + l.term;
    return l;
}

// Grow a text buffer to hold n bytes and a NUL.
static int reserve(char **buf, size_t *cap, size_t n) {
    if (n + 1 <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n + 1) c *= 2;
    char *p = realloc(*buf, c);
    if (!p) return err_set("out of memory for a %zu-byte text", n);
    *buf = p;
    *cap = c;
    return 0;
}

int rollout_open(Rollout *r, const Model *m, const Tokenizer *tok, const SampleSettings *s, int max_groups, int G,
                 int max_prompt_len, const RewardSpec *rewards, const char *verifier) {
    memset(r, 0, sizeof *r);
    r->model = m;
    r->tok = tok;
    r->set = *s;
    r->max_groups = max_groups;
    r->G = G;
    r->max_prompt_len = max_prompt_len;
    r->verifier_term = -1;
    r->bos = tok_bos_id(tok);
    if (max_groups < 1 || G < 1 || max_prompt_len < 1) return err_set("rollout: prompts, samples and prompt length must be >= 1");
    if (open_template(&r->tmpl, tok, s) != 0) return -1;
    if (tok_vocab_size(tok) > m->cfg.vocab_size)
        return err_set("the tokenizer has %d ids but the model's vocab_size is %d: they do not belong together",
                       tok_vocab_size(tok), m->cfg.vocab_size);
    long max_len = (long)max_prompt_len + s->max_new_tokens;
    if (max_len > m->cfg.max_position)
        return err_set("prompts of up to %d tokens + max_new_tokens %d = %ld positions exceed the model's "
                       "max_position_embeddings %d",
                       max_prompt_len, s->max_new_tokens, max_len, m->cfg.max_position);
    if (stops_init(r) != 0) return -1;
    if (rewards) r->rewards = *rewards;
    if (verifier) {
        for (int i = 0; i < r->rewards.n && r->verifier_term < 0; i++)
            if (!strcmp(r->rewards.terms[i].entry->name, verifier)) r->verifier_term = i;
        if (r->verifier_term < 0 && reward_parse_spec(&r->verify, verifier) != 0) return -1;
    }
    Layout l = layout(max_groups, G, max_prompt_len, s->max_new_tokens);
    char *p = calloc(1, l.all);
    if (!p) return err_set("out of memory for the rollout buffers (%d prompts x %d samples)", max_groups, G);
    r->mem = p;
    r->groups = (RolloutGroup *)p, p += l.groups;
    r->rows = (RolloutRow *)p, p += l.rows;
    int *prompt_ids = (int *)p;
    p += l.prompt_ids;
    int *ids = (int *)p;
    p += l.ids;
    float *logp = (float *)p;
    p += l.logp;
    r->pids = (const int **)p, p += l.pids;
    r->plens = (int *)p, p += l.plens;
    r->pidx = (uint32_t *)p, p += l.pidx;
    r->out = (Completion *)p, p += l.out;
    r->in = (RewardInput *)p, p += l.in;
    r->total = (double *)p, p += l.total;
    r->comp = (double *)p, p += l.comp;
    r->term = (double *)p;
    size_t max_new = (size_t)s->max_new_tokens;
    for (int k = 0; k < max_groups; k++) r->groups[k].prompt_ids = prompt_ids + (size_t)k * max_prompt_len;
    for (size_t i = 0; i < (size_t)max_groups * G; i++) {
        RolloutRow *row = &r->rows[i];
        row->ids = ids + i * max_new;
        row->logp = logp + i * max_new;
        row->stop_id = -1;
        // Room for a typical completion; a longer one grows its buffer once.
        if (reserve(&row->text, &row->text_cap, 4 * max_new + 64) != 0) return -1;
    }
    if (!(r->enc = tok_encoder_create(tok))) return -1;
    if (!(r->sampler = sampler_create(&m->cfg, max_groups * G, (int)max_len))) return -1;
    return 0;
}

void rollout_close(Rollout *r) {
    for (int k = 0; r->groups && k < r->max_groups; k++) free(r->groups[k].prompt_text);
    for (size_t i = 0; r->rows && i < (size_t)r->max_groups * r->G; i++) free(r->rows[i].text);
    if (r->sampler) sampler_free(r->sampler);
    tok_encoder_free(r->enc);
    free(r->mem);
    free(r->group_mem);
    memset(r, 0, sizeof *r);
}

// Render p with template t into *text (capacity *cap) and tokenize it with
// e: *ids (n tokens, without BOS) point into e. Returns 0 or -1 after err_set.
static int encode_prompt(TokEncoder *e, const Template *t, const SampleSettings *s, const PromptProblem *p,
                         char **text, size_t *cap, const int **ids, int *n) {
    if (template_render_prompt(t, p->question, s->system[0] ? s->system : NULL, s->prefill_think, s->enable_thinking,
                               text, cap) != 0)
        return -1;
    return tok_encoder_run(e, *text, strlen(*text), ids, n);
}

// The tokens of p's prompt, BOS included, or -1 after err_set.
static int prompt_tokens(TokEncoder *e, const Tokenizer *tok, const Template *t, const SampleSettings *s,
                         const PromptProblem *p, char **text, size_t *cap) {
    const int *ids;
    int n;
    if (encode_prompt(e, t, s, p, text, cap, &ids, &n) != 0) return -1;
    return n + (tok_bos_id(tok) >= 0);
}

int rollout_prompt_tokens(const Tokenizer *tok, const SampleSettings *s, const PromptProblem *p) {
    Template t;
    if (open_template(&t, tok, s) != 0) return -1;
    TokEncoder *e = tok_encoder_create(tok);
    char *text = NULL;
    size_t cap = 0;
    int n = e ? prompt_tokens(e, tok, &t, s, p, &text, &cap) : -1;
    free(text);
    tok_encoder_free(e);
    return n;
}

int rollout_check_prompts(ProblemSource *ps, const Tokenizer *tok, const SampleSettings *s, int max_len,
                          const char *limit, int skip, long *skipped) {
    *skipped = 0;
    if (!ps->use_dataset) return 0;
    Template t;
    if (open_template(&t, tok, s) != 0) return -1;
    int n = ps->ds.n, rc = 0;
    unsigned char *keep = malloc((size_t)n);
    PromptProblem *p = malloc(sizeof *p);
    TokEncoder *e = tok_encoder_create(tok);
    char *text = NULL;
    size_t cap = 0;
    if (!keep || !p || !e) rc = err_set("%s: out of memory", ps->dataset);
    for (int i = 0; rc == 0 && i < n; i++) {
        problems_row(ps, i, p);
        int len = prompt_tokens(e, tok, &t, s, p, &text, &cap);
        keep[i] = len >= 0 && len <= max_len;
        if (len < 0) rc = err_wrap("%s", p->id);
        else if (!keep[i] && !skip)
            rc = err_set("%s: the prompt has %d tokens, more than the %d allowed (%s); shorten or drop the row, or "
                         "pass --skip-long-prompts",
                         p->id, len, max_len, limit);
    }
    if (rc == 0) *skipped = dataset_retain(&ps->ds, keep);
    if (rc == 0 && ps->ds.n == 0)
        rc = err_set("%s: every prompt is longer than the %d tokens allowed (%s)", ps->dataset, max_len, limit);
    free(keep);
    free(p);
    free(text);
    tok_encoder_free(e);
    return rc;
}

int rollout_prepare(Rollout *r, int k) {
    AHA_ASSERT(k >= 0 && k < r->max_groups);
    RolloutGroup *g = &r->groups[k];
    const PromptProblem *p = &g->problem;
    const int *ids;
    int n;
    if (encode_prompt(r->enc, &r->tmpl, &r->set, p, &g->prompt_text, &g->prompt_cap, &ids, &n) != 0)
        return err_wrap("problem %s", p->id);
    int bos = r->bos >= 0, total = n + bos;
    if (total > r->max_prompt_len)
        return err_set("problem %s: the prompt has %d tokens, more than the %d allowed (max_prompt_tokens)", p->id,
                       total, r->max_prompt_len);
    if (total < 1) return err_set("problem %s: the prompt encodes to no tokens and the tokenizer has no BOS", p->id);
    if (bos) g->prompt_ids[0] = r->bos;
    if (n) memcpy(g->prompt_ids + bos, ids, sizeof(int) * (size_t)n);
    g->prompt_len = total;
    return 0;
}

// Decode a completion for reading, leaving out the stop id that ended it, into
// the row's own buffer.
static int row_text(Rollout *r, RolloutRow *row) {
    row->text_len = 0;
    return tok_decode_lenient_append(r->tok, row->ids, row->n - (row->stop_id >= 0), &row->text, &row->text_len,
                                     &row->text_cap);
}

static int is_stop_id(const Rollout *r, int id) {
    for (int i = 0; i < r->n_stop_ids; i++)
        if (r->stop_ids[i] == id) return 1;
    return 0;
}

int rollout_group_terms(Rollout *r, const uint32_t *terms, const int *verifier) {
    size_t rows = (size_t)r->max_groups * r->G;
    if (!r->group_mem)
        r->group_mem = malloc(sizeof(RewardSpec) + rows * (sizeof(RewardInput) + sizeof(int) + 2 * sizeof(double)));
    if (!r->group_mem) return err_set("out of memory");
    r->group_terms = terms;
    r->group_verifier = verifier;
    return 0;
}

// Each term on the rows of the groups that have it, gathered, scored as one
// batch (so a batch-normalised term sees only its groups) and scattered back.
static int score_by_group(Rollout *r, const int *slots, int rows_n) {
    size_t rows = (size_t)r->max_groups * r->G;
    RewardSpec *one = r->group_mem;   // one term at a time
    RewardInput *in = (RewardInput *)(one + 1);
    double *tot = (double *)(in + rows), *comp = tot + rows;
    int *idx = (int *)(comp + rows), nt = r->rewards.n, G = r->G;
    for (int i = 0; i < rows_n; i++) {
        r->total[i] = 0;
        for (int k = 0; k < nt; k++) r->comp[(size_t)i * nt + k] = 0;
    }
    for (int k = 0; k < nt; k++) {
        int m = 0;
        for (int i = 0; i < rows_n; i++)
            if (r->group_terms[slots[i / G]] >> k & 1u) idx[m] = i, in[m++] = r->in[i];
        if (m == 0) continue;
        one->n = 1, one->step = r->rewards.step, one->terms[0] = r->rewards.terms[k];
        if (reward_score_batch_into(one, in, m, tot, comp, r->term) != 0) return -1;
        for (int j = 0; j < m; j++) r->total[idx[j]] += tot[j], r->comp[(size_t)idx[j] * nt + k] = comp[j];
    }
    return 0;
}

int rollout_sample(Rollout *r, const int *slots, int n, uint32_t step) {
    const SampleSettings *s = &r->set;
    int G = r->G, rows_n = n * G;
    AHA_ASSERT(n >= 0 && n <= r->max_groups);
    if (n == 0) return 0;
    for (int b = 0; b < n; b++) {
        const RolloutGroup *g = &r->groups[slots[b]];
        r->pids[b] = g->prompt_ids;
        r->plens[b] = g->prompt_len;
        r->pidx[b] = (uint32_t)g->problem.index;
    }
    const char *stops[SAMPLER_MAX_STOPS];
    for (int i = 0; i < s->stop.n; i++) stops[i] = s->stop.item[i];
    SamplerOpts so = sampler_opts_default();
    so.temperature = (float)s->temperature;
    so.top_k = s->top_k;
    so.top_p = (float)s->top_p;
    so.min_p = (float)s->min_p;
    so.max_new_tokens = s->max_new_tokens;
    so.stop_ids = r->stop_ids;
    so.n_stop_ids = r->n_stop_ids;
    so.stop_strings = stops;
    so.n_stop_strings = s->stop.n;
    so.token_bytes = token_bytes;
    so.token_ctx = r->tok;
    so.seed = (uint64_t)s->seed;
    so.step = step;
    double t0 = time_now();
    if (sampler_generate(r->sampler, r->model, r->pids, r->plens, r->pidx, n, G, &so, r->out) != 0) return -1;
    r->t_sample += time_now() - t0;
    t0 = time_now();
    for (int i = 0; i < rows_n; i++) {
        const RolloutGroup *g = &r->groups[slots[i / G]];
        RolloutRow *row = &r->rows[(size_t)slots[i / G] * G + i % G];
        const Completion *o = &r->out[i];
        row->n = o->n;
        row->truncated = o->finish == SAMPLER_FINISH_LENGTH;
        memcpy(row->ids, o->ids, sizeof(int) * (size_t)o->n);
        memcpy(row->logp, o->logp, sizeof(float) * (size_t)o->n);
        int last = o->n ? o->ids[o->n - 1] : -1;
        row->stop_id = o->finish == SAMPLER_FINISH_STOP && is_stop_id(r, last) ? last : -1;
        if (row_text(r, row) != 0) return -1;
        r->tokens += o->n;
        row->code.scored = 0;
        r->in[i] = (RewardInput){.completion = row->text, .completion_len = row->text_len, .answer = g->problem.answer,
                                 .task = g->problem.task, .problem = g->problem.generated, .completion_tokens = o->n,
                                 .max_new_tokens = s->max_new_tokens, .prefilled_think = s->prefill_think,
                                 .finish = row->truncated ? REWARD_FINISH_LENGTH : REWARD_FINISH_STOP,
                                 .source = g->problem.id, .prompt = g->problem.question, .code = &row->code};
    }
    int nt = r->rewards.n;
    r->rewards.step = (long)step;
    if (r->group_terms) {
        if (score_by_group(r, slots, rows_n) != 0) return -1;
    } else if (nt > 0 && reward_score_batch_into(&r->rewards, r->in, rows_n, r->total, r->comp, r->term) != 0) {
        return -1;
    }
    for (int i = 0; i < rows_n; i++) {
        RolloutRow *row = &r->rows[(size_t)slots[i / G] * G + i % G];
        row->reward = nt > 0 ? r->total[i] : 0;
        for (int k = 0; k < nt; k++) row->components[k] = r->comp[(size_t)i * nt + k];
    }
    if (r->group_terms) {
        for (int i = 0; i < rows_n; i++) {
            RolloutRow *row = &r->rows[(size_t)slots[i / G] * G + i % G];
            int v = r->group_verifier[slots[i / G]];
            row->correct = v >= 0 && row->components[v] >= 1.0 - 1e-9;
        }
        r->t_reward += time_now() - t0;
        return 0;
    }
    // Correctness: the verifier's own term, or the verifier scored on its own.
    if (r->verify.n > 0 && reward_score_batch_into(&r->verify, r->in, rows_n, r->total, NULL, r->term) != 0) return -1;
    for (int i = 0; i < rows_n; i++) {
        RolloutRow *row = &r->rows[(size_t)slots[i / G] * G + i % G];
        double v = r->verifier_term >= 0 ? row->components[r->verifier_term] : r->verify.n > 0 ? r->total[i] : 0;
        row->correct = v >= 1.0 - 1e-9;
    }
    r->t_reward += time_now() - t0;
    return 0;
}
