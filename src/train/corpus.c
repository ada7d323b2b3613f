// The pretraining corpus: worked solutions (sums of digits, arithmetic) in three
// styles over train-split problems. Solutions are built from the terms with exact
// integer arithmetic; the hasty style's errors are those of an estimate, never
// random noise, so sampling temperature cannot hide them.
#include "train/corpus.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/rng.h"
#include "tok/template.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const corpus_style_names[CORPUS_N_STYLES] = {"hasty", "careful", "check"};
const char *const corpus_lang_names[CORPUS_N_LANGS] = {"en", "zh"};

// The words of a sum's solution in each language (formats take the numbers).
typedef struct {
    const char *about;     // the estimate: count, 5 * count
    const char *steps;     // the careful style's opening
    const char *wait;      // the check's opening
    const char *right;     // the verdict when the estimate was right: the total
    const char *wrong;     // the verdict when it was not: the total, the estimate
} SumWords;

static const SumWords SUM_WORDS[CORPUS_N_LANGS] = {
    [CORPUS_EN] = {"about %d * 5 = %d.", "step by step:", "wait, let me check:", "%ld is right.", "%ld, not %ld."},
    [CORPUS_ZH] = {"大约 %d * 5 = %d.", "一步一步:", "等等, 让我检查:", "%ld 是对的.", "是 %ld, 不是 %ld."},
};

static const CorpusVoice ENGLISH = {{CORPUS_EN, CORPUS_EN}, 0};

// The words of phrase k of a solution in voice v.
static const SumWords *words_at(const CorpusVoice *v, int k) {
    return &SUM_WORDS[v->lang[k < v->switch_at ? 0 : 1]];
}

static const CorpusConfig corpus_default = {
    .task = "sum", .template_name = "r1zero", .seed = 7, .n_docs = 20000,
    .style_p = {[CORPUS_HASTY] = 0.75, [CORPUS_CAREFUL] = 0.07, [CORPUS_CHECK] = 0.18},
    .difficulty_p = {0.25, 0.5, 0.25}};

void corpus_defaults(CorpusConfig *c) { *c = corpus_default; }

// A growing text buffer that remembers overflow instead of failing each call.
typedef struct {
    char *s;
    size_t n, cap;
    int overflow;
} Buf;

__attribute__((format(printf, 2, 3))) static void put(Buf *b, const char *fmt, ...) {
    if (b->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= b->cap - b->n) b->overflow = 1;
    else b->n += (size_t)k;
}

static int n_digits(long x) {
    int n = 1;
    while (x >= 10) x /= 10, n++;
    return n;
}

static long digit(long x, int i) {
    while (i-- > 0) x /= 10;
    return x % 10;
}

// Round half up to the nearest ten (one-digit numbers stay as they are).
static long round_ten(long x) { return x < 10 ? x : (x + 5) / 10 * 10; }

static long apply(long a, char op, long b) { return op == '+' ? a + b : op == '-' ? a - b : a * b; }

// Column addition of non-negative x + y, least significant digit first:
// "7 + 8 = 15, carry 1. 4 + 3 + 1 = 8." The last column keeps its whole sum.
static void add_columns(Buf *b, long x, long y) {
    int n = n_digits(x > y ? x : y);
    long carry = 0;
    for (int i = 0; i < n; i++) {
        long dx = digit(x, i), dy = digit(y, i), s = dx + dy + carry;
        if (carry) put(b, "%ld + %ld + 1 = %ld", dx, dy, s);
        else put(b, "%ld + %ld = %ld", dx, dy, s);
        put(b, i < n - 1 && s >= 10 ? ", carry 1. " : ". ");
        carry = s >= 10;
    }
}

// Column subtraction x - y with x >= y >= 0, borrows written out:
// "7 - 8 borrow, 17 - 8 = 9. 4 - 1 - 3 = 0."
static void sub_columns(Buf *b, long x, long y) {
    int n = n_digits(x);
    long borrow = 0;
    for (int i = 0; i < n; i++) {
        long dx = digit(x, i), dy = digit(y, i), left = dx - borrow;
        int need = left < dy;
        const char *less = borrow ? " - 1" : "";
        if (need) put(b, "%ld%s - %ld borrow, 1%ld%s - %ld = %ld. ", dx, less, dy, dx, less, dy, left + 10 - dy);
        else put(b, "%ld%s - %ld = %ld. ", dx, less, dy, left - dy);
        borrow = need;
    }
}

// The careful working of a op b, ending "so r."
static void careful(Buf *b, long x, char op, long y) {
    long r = apply(x, op, y);
    if (op == '+') {
        add_columns(b, x, y);
    } else if (op == '-') {
        if (x >= y) {
            sub_columns(b, x, y);
        } else {
            put(b, "%ld is larger, so -(%ld - %ld). ", y, y, x);
            sub_columns(b, y, x);
        }
    } else if (x >= 10 && y >= 10) {
        // Partial products over the digits of y: "47 * 38 = 47 * 8 + 47 * 30 = 376 + 1410 = 1786."
        int n = n_digits(y);
        long p = 1;
        put(b, "%ld * %ld = ", x, y);
        for (int i = 0; i < n; i++, p *= 10) put(b, "%s%ld * %ld", i ? " + " : "", x, digit(y, i) * p);
        p = 1;
        for (int i = 0; i < n; i++, p *= 10) put(b, "%s%ld", i ? " + " : " = ", x * digit(y, i) * p);
        put(b, " = %ld. ", r);
    } else {
        put(b, "%ld * %ld = %ld. ", x, y, r);
    }
    put(b, "so %ld.", r);
}

// The hasty estimate; returns its value.
static long hasty(Buf *b, long x, char op, long y) {
    long rx = round_ten(x), ry = round_ten(y), h = apply(rx, op, ry);
    if (rx == x && ry == y) put(b, "%ld %c %ld = %ld.", x, op, y, h);
    else put(b, "%ld %c %ld is about %ld %c %ld = %ld.", x, op, y, rx, op, ry, h);
    return h;
}

// The hasty estimate of a sum of n single digits: each counted as about 5.
static long sum_hasty(Buf *b, const SumWords *w, int n) {
    put(b, w->about, n, 5 * n);
    return 5L * n;
}

// The running sum "7 + 5 = 12. 12 + 8 = 20. 20 + 6 = 26."; returns the total.
static long sum_running(Buf *b, const long *v, int n) {
    long s = v[0];
    for (int i = 1; i < n; i++) {
        put(b, "%s%ld + %ld = %ld.", i > 1 ? " " : "", s, v[i], s + v[i]);
        s += v[i];
    }
    return s;
}

static int sum_solution(const Problem *p, int style, const CorpusVoice *v, Buf *b, long *final) {
    long t[16];
    int n = 0;
    const char *s = p->prompt + strlen("Compute ");
    if (strncmp(p->prompt, "Compute ", 8) != 0) return err_set("corpus: cannot read the terms of \"%s\"", p->prompt);
    for (;;) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || n == 16) return err_set("corpus: cannot read the terms of \"%s\"", p->prompt);
        t[n++] = x;
        if (strncmp(end, " + ", 3) != 0) break;
        s = end + 3;
    }
    if (n < 2) return err_set("corpus: \"%s\" has fewer than two terms", p->prompt);
    put(b, " <think> ");
    if (style == CORPUS_HASTY) {
        *final = sum_hasty(b, words_at(v, 0), n);
    } else if (style == CORPUS_CAREFUL) {
        put(b, "%s ", words_at(v, 0)->steps);
        *final = sum_running(b, t, n);
    } else {
        long h = sum_hasty(b, words_at(v, 0), n);
        put(b, " %s ", words_at(v, 1)->wait);
        *final = sum_running(b, t, n);
        put(b, " ");
        if (h == *final) put(b, words_at(v, 2)->right, h);
        else put(b, words_at(v, 2)->wrong, *final, h);
    }
    return 0;
}

int corpus_solution(const Problem *p, int style, const CorpusVoice *voice, char *buf, size_t cap, long *answer) {
    if (style < 0 || style >= CORPUS_N_STYLES) return err_set("corpus: unknown style %d", style);
    if (!voice) voice = &ENGLISH;
    for (int i = 0; i < 2; i++)
        if (voice->lang[i] < 0 || voice->lang[i] >= CORPUS_N_LANGS) return err_set("corpus: unknown language %d", voice->lang[i]);
    Buf b = {buf, 0, cap, 0};
    long final = 0;
    int english = voice->lang[0] == CORPUS_EN && (voice->lang[1] == CORPUS_EN || voice->switch_at > 2);
    if (strcmp(p->def->name, "sum") == 0) {
        if (sum_solution(p, style, voice, &b, &final) != 0) return -1;
    } else if (!english) {
        return err_set("corpus: solutions in languages other than English exist for the sum task only");
    } else if (strcmp(p->def->name, "arithmetic") == 0) {
        long x, y;
        char op;
        if (sscanf(p->prompt, "Compute %ld %c %ld", &x, &op, &y) != 3 || x < 0 || y < 0 || !strchr("+-*", op))
            return err_set("corpus: cannot read the operands of \"%s\"", p->prompt);
        long r = apply(x, op, y);
        final = r;
        put(&b, " <think> ");
        if (style == CORPUS_HASTY) {
            final = hasty(&b, x, op, y);
        } else if (style == CORPUS_CAREFUL) {
            put(&b, "step by step. ");
            careful(&b, x, op, y);
        } else {
            long h = hasty(&b, x, op, y);
            put(&b, " wait, let me check step by step. ");
            careful(&b, x, op, y);
            if (h == r) put(&b, " %ld is right.", h);
            else put(&b, " %ld, not %ld.", r, h);
        }
    } else {
        return err_set("corpus: no worked solutions for task '%s' (only sum and arithmetic)", p->def->name);
    }
    put(&b, " </think> <answer> %ld </answer>", final);
    if (b.overflow) return err_set("corpus: solution of \"%s\" does not fit %zu bytes", p->prompt, cap);
    if (answer) *answer = final;
    return 0;
}

// Index of the bucket u in [0, 1) falls in under weights w (n of them).
static int pick(const double *w, int n, double u) {
    double total = 0, acc = 0;
    for (int i = 0; i < n; i++) total += w[i] > 0 ? w[i] : 0;
    for (int i = 0; i < n; i++) {
        acc += w[i] > 0 ? w[i] : 0;
        if (u * total < acc) return i;
    }
    for (int i = n - 1; i >= 0; i--)
        if (w[i] > 0) return i;
    return 0;
}

int corpus_write(const CorpusConfig *c, const char *path, CorpusStats *stats) {
    CorpusStats st;
    memset(&st, 0, sizeof st);
    const TaskDef *t = task_find(c->task);
    if (!t) return -1;
    double dsum = 0, ssum = 0;
    for (int i = 0; i < TASK_MAX_DIFFICULTY; i++) dsum += c->difficulty_p[i] > 0 ? c->difficulty_p[i] : 0;
    for (int i = 0; i < CORPUS_N_STYLES; i++) ssum += c->style_p[i] > 0 ? c->style_p[i] : 0;
    if (dsum <= 0 || ssum <= 0) return err_set("corpus: style and difficulty proportions must not all be zero");
    if ((c->p_zh > 0 || c->p_switch > 0) && strcmp(c->task, "sum") != 0)
        return err_set("corpus: solutions in languages other than English exist for the sum task only");
    AtomicFile af;
    if (atomic_open(&af, path) != 0) return -1;
    long next[TASK_MAX_DIFFICULTY] = {0};
    char completion[2048];
    for (long i = 0; i < c->n_docs; i++) {
        int d = 1 + pick(c->difficulty_p, TASK_MAX_DIFFICULTY, rng_uniform_at(c->seed, 1, (uint32_t)i, 0, 0));
        int style = pick(c->style_p, CORPUS_N_STYLES, rng_uniform_at(c->seed, 2, (uint32_t)i, 0, 0));
        // The language, and for a check whether (and where) it switches: at the check or the verdict.
        CorpusVoice voice = ENGLISH;
        voice.lang[0] = voice.lang[1] = rng_uniform_at(c->seed, 3, (uint32_t)i, 0, 0) < c->p_zh ? CORPUS_ZH : CORPUS_EN;
        int mixed = style == CORPUS_CHECK && rng_uniform_at(c->seed, 4, (uint32_t)i, 0, 0) < c->p_switch;
        if (mixed) {
            voice.lang[1] = CORPUS_N_LANGS - 1 - voice.lang[0];
            voice.switch_at = 1 + (rng_uniform_at(c->seed, 5, (uint32_t)i, 0, 0) < 0.5);
        }
        char lang[8];
        snprintf(lang, sizeof lang, mixed ? "%s+%s" : "%s", corpus_lang_names[voice.lang[0]],
                 corpus_lang_names[voice.lang[1]]);
        Problem p;
        long final;
        char *prompt = NULL;
        if (task_generate(t, c->seed, TASK_SPLIT_TRAIN, d, next[d - 1]++, &p) != 0 ||
            corpus_solution(&p, style, &voice, completion, sizeof completion, &final) != 0 ||
            template_render(c->template_name, p.prompt, NULL, 0, &prompt) != 0) {
            atomic_abort(&af);
            return -1;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", p.id);
        cJSON_AddNumberToObject(o, "difficulty", d);
        cJSON_AddStringToObject(o, "style", corpus_style_names[style]);
        cJSON_AddStringToObject(o, "lang", lang);
        cJSON_AddStringToObject(o, "prompt", prompt);
        cJSON_AddStringToObject(o, "completion", completion);
        char *line = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!line) {
            free(prompt);
            atomic_abort(&af);
            return err_set("out of memory");
        }
        fputs(line, af.f);
        fputc('\n', af.f);
        free(line);
        char gold[32];
        snprintf(gold, sizeof gold, "%ld", final);
        st.docs++;
        st.by_style[style]++;
        st.correct_by_style[style] += strcmp(gold, p.answer) == 0;
        st.by_lang[voice.lang[0]]++;
        st.mixed += mixed;
        st.bytes += (long)(strlen(prompt) + strlen(completion));
        free(prompt);
    }
    if (atomic_commit(&af) != 0) return -1;
    if (stats) *stats = st;
    return 0;
}
