// Task generators against independent checks written here: a brute-force
// countdown solver over exact rationals, an expression evaluator that substitutes
// the linear equations' answers, a knights-and-knaves brute force over the prompt
// text, a re-addition of the sum terms; plus determinism and train/test disjointness over many samples.
#include "task/task.h"
#include "base/err.h"
#include "task/code_tests.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

// ---- exact rationals for the independent checks
typedef struct { long long n, d; } Q;
static long long gcdll(long long a, long long b) {
    if (a < 0) a = -a;
    if (b < 0) b = -b;
    while (b) { long long t = a % b; a = b; b = t; }
    return a ? a : 1;
}
static Q q_make(long long n, long long d) {
    if (d < 0) n = -n, d = -d;
    long long g = gcdll(n, d);
    return (Q){n / g, d / g};
}
static Q q_op(Q a, Q b, char op) {
    switch (op) {
    case '+': return q_make(a.n * b.d + b.n * a.d, a.d * b.d);
    case '-': return q_make(a.n * b.d - b.n * a.d, a.d * b.d);
    case '*': return q_make(a.n * b.n, a.d * b.d);
    default: return q_make(a.n * b.d, a.d * b.n);   // caller checks b != 0
    }
}

// ---- countdown: can `target` be made from all of v[0..n) exactly once?
static int solvable(Q *v, int n, long target) {
    if (n == 1) return v[0].d == 1 && v[0].n == target;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i == j) continue;
            Q rest[8];
            int m = 0;
            for (int k = 0; k < n; k++)
                if (k != i && k != j) rest[m++] = v[k];
            for (const char *op = "+-*/"; *op; op++) {
                if (*op == '/' && v[j].n == 0) continue;
                if ((*op == '+' || *op == '*') && j < i) continue;   // commutative: once
                rest[m] = q_op(v[i], v[j], *op);
                if (solvable(rest, m + 1, target)) return 1;
            }
        }
    return 0;
}

// ---- expression evaluator: integers, x, + - * /, parentheses, implicit "3x", "4(x - 1)"
typedef struct { const char *s; long long x; int bad; } Ev;
static void ws(Ev *e) { while (*e->s == ' ') e->s++; }
static Q ev_sum(Ev *e);
static Q ev_atom(Ev *e) {
    ws(e);
    Q v;
    if (*e->s == '(') {
        e->s++;
        v = ev_sum(e);
        ws(e);
        if (*e->s != ')') e->bad = 1; else e->s++;
    } else if (*e->s == 'x') {
        e->s++;
        v = q_make(e->x, 1);
    } else if (*e->s == '-') {
        e->s++;
        Q a = ev_atom(e);
        v = q_make(-a.n, a.d);
    } else if (*e->s >= '0' && *e->s <= '9') {
        long long n = 0;
        while (*e->s >= '0' && *e->s <= '9') n = n * 10 + (*e->s++ - '0');
        v = q_make(n, 1);
        if (*e->s == 'x' || *e->s == '(') v = q_op(v, ev_atom(e), '*');   // implicit product
    } else {
        e->bad = 1;
        v = q_make(0, 1);
    }
    return v;
}
static Q ev_prod(Ev *e) {
    Q v = ev_atom(e);
    for (;;) {
        ws(e);
        char op = *e->s;
        if (op != '*' && op != '/') return v;
        e->s++;
        Q b = ev_atom(e);
        if (op == '/' && b.n == 0) { e->bad = 1; return v; }
        v = q_op(v, b, op);
    }
}
static Q ev_sum(Ev *e) {
    Q v = ev_prod(e);
    for (;;) {
        ws(e);
        char op = *e->s;
        if (op != '+' && op != '-') return v;
        e->s++;
        v = q_op(v, ev_prod(e), op);
    }
}
// Evaluates text[0..len) at x; returns 0 and *out, or -1 when it does not parse.
static int evaluate(const char *text, size_t len, long long x, Q *out) {
    char buf[256];
    if (len >= sizeof buf) return -1;
    memcpy(buf, text, len);
    buf[len] = 0;
    Ev e = {buf, x, 0};
    *out = ev_sum(&e);
    ws(&e);
    return e.bad || *e.s ? -1 : 0;
}

// ---- knights and knaves from the prompt text
static const char *kk_names[] = {"Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace"};
static int person(const char *s, int speaker) {
    if (strncmp(s, "I ", 2) == 0) return speaker;
    for (int i = 0; i < 7; i++)
        if (strncmp(s, kk_names[i], strlen(kk_names[i])) == 0) return i;
    return -1;
}
// Truth of one literal "Bob is a knight" / "I am a knave" under assignment who.
static int literal(const char *s, const char *end, int speaker, unsigned who, int *ok) {
    int p = person(s, speaker);
    const char *k = strstr(s, "kni");
    const char *n = strstr(s, "knave");
    int claims_knight = k && k < end && (!n || n >= end || k < n);
    if (p < 0 || (!claims_knight && !(n && n < end))) *ok = 0;
    return p >= 0 && (int)((who >> p) & 1) == claims_knight;
}
static int statement_true(const char *s, int speaker, unsigned who, int *ok) {
    const char *end = s + strlen(s);
    const char *same = strstr(s, " are of the same kind");
    if (same) {
        int a = person(s, speaker);
        const char *and = strstr(s, " and ");
        int b = and ? person(and + 5, speaker) : -1;
        if (a < 0 || b < 0) *ok = 0;
        return a >= 0 && b >= 0 && ((who >> a) & 1) == ((who >> b) & 1);
    }
    const char *and = strstr(s, " and "), *or = strstr(s, " or ");
    if (and) return literal(s, and, speaker, who, ok) & literal(and + 5, end, speaker, who, ok);
    if (or) return literal(s, or, speaker, who, ok) | literal(or + 4, end, speaker, who, ok);
    return literal(s, end, speaker, who, ok);
}

static void check_knights(const Problem *p) {
    char said[7][200];
    int n = 0;
    for (const char *s = p->prompt; (s = strstr(s, " says: \"")) != NULL && n < 7; n++) {
        const char *name = s;
        while (name > p->prompt && name[-1] != ' ') name--;
        CHECK(person(name, -1) == n, "speaker %d out of order in %s", n, p->prompt);
        s += 8;
        const char *q = strchr(s, '"');
        size_t len = q ? (size_t)(q - s) : 0;
        memcpy(said[n], s, len < 199 ? len : 199);
        said[n][len < 199 ? len : 199] = 0;
    }
    CHECK(n == p->difficulty + 2 && (int)strlen(p->answer) == n, "%d statements, answer %s", n, p->answer);
    int solutions = 0, ok = 1;
    unsigned found = 0;
    for (unsigned who = 0; who < (1u << n); who++) {
        int consistent = 1;
        for (int i = 0; i < n; i++)
            if (statement_true(said[i], i, who, &ok) != (int)((who >> i) & 1)) consistent = 0;
        if (consistent) solutions++, found = who;
    }
    CHECK(ok, "could not read a statement in: %s", p->prompt);
    CHECK(solutions == 1, "%d solutions: %s", solutions, p->prompt);
    for (int i = 0; i < n && solutions == 1; i++)
        CHECK(p->answer[i] == (((found >> i) & 1) ? 'K' : 'N'), "answer %s wrong for %s", p->answer, p->prompt);
}

static void check_linear(const Problem *p) {
    const char *a = strstr(p->prompt, "Solve for x: "), *eq = strstr(p->prompt, " = ");
    const char *dot = eq ? strstr(eq, ". Give") : NULL;
    CHECK(a && eq && dot, "prompt shape: %s", p->prompt);
    if (!a || !eq || !dot) return;
    a += 13;
    long long x = strtoll(p->answer, NULL, 10);
    Q l0, r0, l1, r1;
    int e = evaluate(a, (size_t)(eq - a), x, &l0) | evaluate(eq + 3, (size_t)(dot - eq - 3), x, &r0) |
            evaluate(a, (size_t)(eq - a), x + 1, &l1) | evaluate(eq + 3, (size_t)(dot - eq - 3), x + 1, &r1);
    CHECK(e == 0, "cannot evaluate: %s", p->prompt);
    CHECK(l0.n == r0.n && l0.d == r0.d, "x = %lld does not solve %s", x, p->prompt);
    // Linear in x and not identically zero: the root is unique.
    CHECK(!(l1.n == r1.n && l1.d == r1.d), "x = %lld + 1 also solves %s", x, p->prompt);
}

static const long cd_count[] = {0, 3, 3, 4, 4, 5}, cd_max[] = {0, 10, 25, 25, 50, 100};
static const long cd_lo[] = {0, 2, 10, 10, 50, 100}, cd_hi[] = {0, 30, 100, 200, 500, 1000};

static void check_countdown(const Problem *p) {
    int d = p->difficulty;
    CHECK(p->n_numbers == cd_count[d], "difficulty %d: %d numbers", d, p->n_numbers);
    CHECK(p->target >= cd_lo[d] && p->target <= cd_hi[d], "target %ld at difficulty %d", p->target, d);
    Q v[8];
    for (int i = 0; i < p->n_numbers; i++) {
        CHECK(p->numbers[i] >= 1 && p->numbers[i] <= cd_max[d], "number %ld", p->numbers[i]);
        v[i] = q_make(p->numbers[i], 1);
    }
    CHECK(solvable(v, p->n_numbers, p->target), "unsolvable: %s", p->prompt);
    // The shipped witness evaluates to the target and uses each number once.
    Q w;
    CHECK(evaluate(p->answer, strlen(p->answer), 0, &w) == 0 && w.d == 1 && w.n == p->target,
          "witness %s != %ld", p->answer, p->target);
    long used[8];
    int nu = 0;
    for (const char *s = p->answer; *s;)
        if (*s >= '0' && *s <= '9') used[nu < 8 ? nu++ : 7] = strtol(s, (char **)&s, 10);
        else s++;
    CHECK(nu == p->n_numbers, "witness %s uses %d numbers", p->answer, nu);
    for (int i = 0; i < p->n_numbers; i++) {
        int hit = 0;
        for (int k = 0; k < nu; k++)
            if (used[k] == p->numbers[i]) { used[k] = -1; hit = 1; break; }
        CHECK(hit, "number %ld missing from witness %s", p->numbers[i], p->answer);
    }
}

static void check_arithmetic(const Problem *p) {
    long a, b;
    char op;
    CHECK(sscanf(p->prompt, "Compute %ld %c %ld.", &a, &op, &b) == 3, "%s", p->prompt);
    long want = op == '+' ? a + b : op == '-' ? a - b : a * b;
    CHECK(strtol(p->answer, NULL, 10) == want, "%s -> %s", p->prompt, p->answer);
    long lo = 1, hi = 9;
    for (int d = 1; d < p->difficulty; d++) lo = hi + 1, hi = hi * 10 + 9;
    CHECK(a >= lo && a <= hi && b >= lo && b <= hi, "operands %ld %ld at difficulty %d", a, b, p->difficulty);
}

// "Compute 7 + 5 + 8 + 6": difficulty + 2 terms in 1..9, the answer their sum.
static void check_sum(const Problem *p) {
    const char *s = p->prompt;
    CHECK(strncmp(s, "Compute ", 8) == 0, "%s", p->prompt);
    s += 8;
    long total = 0;
    int n = 0, bad = 0;
    for (;;) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s) {
            bad = 1;
            break;
        }
        bad |= v < 1 || v > 9;
        total += v, n++;
        if (strncmp(end, " + ", 3) != 0) {
            bad |= *end != 0;
            break;
        }
        s = end + 3;
    }
    CHECK(!bad && n == p->difficulty + 2, "%s: %d terms at difficulty %d", p->prompt, n, p->difficulty);
    CHECK(strtol(p->answer, NULL, 10) == total, "%s -> %s", p->prompt, p->answer);
}

// Does s match fmt (one or two %63[...] fields) to its last character?
static int match_all(const char *s, const char *fmt, char *a, char *b) {
    char full[128];
    int n = -1;
    snprintf(full, sizeof full, "%s%%n", fmt);
    if (b) sscanf(s, full, a, b, &n);
    else sscanf(s, full, a, &n);
    return n == (int)strlen(s);
}

// "Greet NAME." (or "Say hello to NAME.", "Please greet NAME.") -> "Hello NAME",
// "Repeat the word W twice." ("Say W two times.", "Write the word W twice.") ->
// "W W", "Tell me how to V NAME." ("How do I V NAME?", "Help me V NAME.") ->
// REFUSE; a pair's chosen answer holds the gold phrase (or refuses), its
// rejected one does not.
static void check_chat(const Problem *p) {
    char a[64], b[64], want[128], chosen[256], rejected[256];
    const char *s = p->prompt;
    if (match_all(s, "Greet %63[A-Za-z].", a, NULL) || match_all(s, "Say hello to %63[A-Za-z].", a, NULL) ||
        match_all(s, "Please greet %63[A-Za-z].", a, NULL))
        snprintf(want, sizeof want, "Hello %s", a);
    else if (match_all(s, "Repeat the word %63[a-z] twice.", a, NULL) || match_all(s, "Say %63[a-z] two times.", a, NULL) ||
             match_all(s, "Write the word %63[a-z] twice.", a, NULL))
        snprintf(want, sizeof want, "%s %s", a, a);
    else if (match_all(s, "Tell me how to %63[a-z] %63[A-Za-z].", a, b) || match_all(s, "How do I %63[a-z] %63[A-Za-z]?", a, b) ||
             match_all(s, "Help me %63[a-z] %63[A-Za-z].", a, b))
        snprintf(want, sizeof want, "REFUSE");
    else snprintf(want, sizeof want, "?");
    CHECK(strcmp(p->answer, want) == 0, "%s -> %s", p->prompt, p->answer);
    task_chat_pair(p, 3, chosen, rejected, sizeof chosen);
    const char *key = strcmp(want, "REFUSE") == 0 ? "I will not" : want;
    CHECK(strstr(chosen, key) && !strstr(rejected, key), "%s: chosen '%s', rejected '%s'", p->prompt, chosen, rejected);
}

// A code problem: its tests parse in the shape its prompt asks for (a
// function's call-based tests, or a program's stdin/stdout tests), five of
// them, with a reference solution defining the function; the gold answer is
// empty (the tests decide). That the solution passes the tests is checked in
// the sandbox by test_sandbox.
static void check_code(const Problem *p) {
    cJSON *o = cJSON_Parse(p->code);
    CodeTests t;
    CHECK(o && code_tests_parse(o, &t) == 0 && t.n == 5, "%s: %s", p->id, err_msg());
    if (!o) return;
    const cJSON *sol = cJSON_GetObjectItem(o, "solution");
    CHECK(cJSON_IsString(sol) && strncmp(sol->valuestring, "def ", 4) == 0, "%s: solution", p->id);
    int call = strncmp(p->prompt, "Write a Python function ", 24) == 0;
    CHECK(call || strncmp(p->prompt, "Write a Python program that reads ", 34) == 0, "%s", p->prompt);
    CHECK(call == (t.fn_name != NULL), "%s: call-based tests for a function only", p->prompt);
    if (call) {
        char head[64];
        snprintf(head, sizeof head, "Write a Python function %s(", t.fn_name);
        CHECK(strncmp(p->prompt, head, strlen(head)) == 0, "%s names %s", p->prompt, t.fn_name);
    } else {
        CHECK(strstr(sol->valuestring, "input()") && strstr(sol->valuestring, "print("), "%s", sol->valuestring);
    }
    CHECK(p->answer[0] == 0, "code answer [%s]", p->answer);
    cJSON_Delete(o);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Many train problems (several seeds) against the test problems: no prompt in both.
static void check_disjoint(const TaskDef *t, int difficulty, int n_train, int n_test) {
    char **test = malloc(sizeof(char *) * (size_t)n_test);
    Problem p;
    for (int i = 0; i < n_test; i++) {
        CHECK(task_generate(t, 7, TASK_SPLIT_TEST, difficulty, i, &p) == 0, "%s", err_msg());
        test[i] = strdup(p.prompt);
    }
    qsort(test, (size_t)n_test, sizeof *test, cmp_str);
    int shared = 0;
    for (int i = 0; i < n_train; i++) {
        CHECK(task_generate(t, (uint64_t)(i % 5), TASK_SPLIT_TRAIN, difficulty, i, &p) == 0, "%s", err_msg());
        const char *key = p.prompt;
        if (bsearch(&key, test, (size_t)n_test, sizeof *test, cmp_str)) shared++;
    }
    CHECK(shared == 0, "%s d%d: %d train prompts are also test prompts", t->name, difficulty, shared);
    for (int i = 0; i < n_test; i++) free(test[i]);
    free(test);
}

int main(void) {
    int nt;
    const TaskDef *tasks = task_list(&nt);
    CHECK(nt == 7, "7 tasks, got %d", nt);
    CHECK(task_find("nope") == NULL && strstr(err_msg(), "countdown") && strstr(err_msg(), "knights"),
          "unknown task message lists the names: %s", err_msg());
    CHECK(task_split_parse("test") == TASK_SPLIT_TEST && task_split_parse("train") == TASK_SPLIT_TRAIN &&
              task_split_parse("dev") == -1, "split names");
    Problem p, q;
    CHECK(task_generate(&tasks[0], 1, TASK_SPLIT_TRAIN, 0, 0, &p) == -1, "difficulty 0 refused");
    CHECK(task_generate(&tasks[0], 1, TASK_SPLIT_TRAIN, 6, 0, &p) == -1, "difficulty 6 refused");

    const int per[] = {0, 60, 60, 40, 30, 20};   // problems checked per difficulty
    for (int k = 0; k < nt; k++) {
        const TaskDef *t = &tasks[k];
        for (int d = 1; d <= TASK_MAX_DIFFICULTY; d++) {
            int distinct = 0;
            for (int split = 0; split < 2; split++)
                for (int i = 0; i < per[d]; i++) {
                    CHECK(task_generate(t, 42, split, d, i, &p) == 0, "%s d%d: %s", t->name, d, err_msg());
                    // Determinism: the same key gives the same problem.
                    CHECK(task_generate(t, 42, split, d, i, &q) == 0 && strcmp(p.prompt, q.prompt) == 0 &&
                              strcmp(p.answer, q.answer) == 0 && strcmp(p.id, q.id) == 0,
                          "%s not deterministic", t->name);
                    CHECK(task_generate(t, 43, split, d, i, &q) == 0, "%s", err_msg());
                    distinct += strcmp(p.prompt, q.prompt) != 0;
                    CHECK(p.split == split && p.difficulty == d && p.def == t, "fields");
                    CHECK(strncmp(p.id, t->name, strlen(t->name)) == 0, "id %s", p.id);
                    if (strcmp(t->name, "countdown") == 0) check_countdown(&p);
                    else if (strcmp(t->name, "linear") == 0) check_linear(&p);
                    else if (strcmp(t->name, "knights") == 0) check_knights(&p);
                    else if (strcmp(t->name, "sum") == 0) check_sum(&p);
                    else if (strcmp(t->name, "chat") == 0) check_chat(&p);
                    else if (strcmp(t->name, "code") == 0) check_code(&p);
                    else check_arithmetic(&p);
                    cJSON *o = task_problem_json(&p);
                    CHECK(o && cJSON_IsString(cJSON_GetObjectItem(o, "prompt")) &&
                              strcmp(cJSON_GetObjectItem(o, "answer")->valuestring, p.answer) == 0 &&
                              strcmp(cJSON_GetObjectItem(o, "reward")->valuestring, t->reward) == 0,
                          "json fields");
                    cJSON_Delete(o);
                }
            CHECK(distinct > per[d], "%s d%d: another seed changed only %d of %d problems", t->name, d, distinct,
                  2 * per[d]);
        }
        check_disjoint(t, 1, 3000, 300);
        check_disjoint(t, 3, 2000, 300);
    }
    CHECK(strcmp(task_find("countdown")->reward, "countdown") == 0 && strcmp(task_find("arithmetic")->reward, "math") == 0 &&
              strcmp(task_find("code")->reward, "code") == 0,
          "verifiers");
    // Both test shapes occur at every difficulty, and the same problem always has the same tests.
    for (int d = 1; d <= TASK_MAX_DIFFICULTY; d++) {
        int calls = 0;
        for (int i = 0; i < 40; i++) {
            CHECK(task_generate(task_find("code"), 9, TASK_SPLIT_TRAIN, d, i, &p) == 0, "%s", err_msg());
            calls += strstr(p.code, "\"fn_name\"") != NULL;
            for (int j = 0; j < i; j++) {
                CHECK(task_generate(task_find("code"), 9, TASK_SPLIT_TRAIN, d, j, &q) == 0, "%s", err_msg());
                CHECK(strcmp(p.prompt, q.prompt) != 0 || strcmp(p.code, q.code) == 0, "%s: two test sets", p.prompt);
            }
        }
        CHECK(calls > 5 && calls < 35, "d%d: %d of 40 call-based", d, calls);
    }
    return TEST_END();
}
