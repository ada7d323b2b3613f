// Small programming problems written for aha: ten families of one-function
// tasks (two per difficulty), each posed either as a Python function called
// with arguments (call-based tests) or as a program reading stdin and printing
// the result (stdin/stdout tests). A problem is (family, form, parameter K);
// its five tests are drawn from a generator keyed by that content, so the same
// problem always has the same tests, and the expected outputs are computed
// here in C, never by running Python. Each problem carries a reference
// solution, which tests check against its own tests in the sandbox.
#include "task/task.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#define CODE_TESTS 5
#define CODE_MAX_LIST 8

typedef enum { ARG_INT, ARG_LIST, ARG_WORD } ArgKind;

// One test's argument: an integer, a list of integers or a lowercase word.
typedef struct {
    long n;
    long list[CODE_MAX_LIST];
    int len;
    char word[16];
} CodeArg;

typedef struct {
    const char *fn;       // the function's name
    ArgKind arg;
    const char *desc;     // what it returns, "{K}" standing for the parameter
    const char *body;     // the reference function's body (indented), "{K}" likewise
    long k_lo, k_hi;      // the parameter's range
    int k_letter;         // the parameter is the letter 'a' + K
    long n_lo, n_hi;      // range of an integer argument or of list elements
    int len_lo, len_hi;   // list / word lengths
    long (*expect)(const CodeArg *a, long k, char *text, size_t cap);   // int result, or text when set
} CodeFamily;

static long fib_mod(long n, long k) {
    long a = 0, b = 1;
    for (long i = 0; i < n; i++) {
        long c = (a + b) % k;
        a = b;
        b = c;
    }
    return a % k;
}

static int is_prime(long m) {
    if (m < 2) return 0;
    for (long d = 2; d * d <= m; d++)
        if (m % d == 0) return 0;
    return 1;
}

static long x_add(const CodeArg *a, long k, char *t, size_t c) { (void)t, (void)c; return a->n + k; }
static long x_mul(const CodeArg *a, long k, char *t, size_t c) { (void)t, (void)c; return a->n * k; }
static long x_greater(const CodeArg *a, long k, char *t, size_t c) {
    (void)t, (void)c;
    long r = 0;
    for (int i = 0; i < a->len; i++) r += a->list[i] > k;
    return r;
}
static long x_sum_div(const CodeArg *a, long k, char *t, size_t c) {
    (void)t, (void)c;
    long r = 0;
    for (int i = 0; i < a->len; i++) r += a->list[i] % k == 0 ? a->list[i] : 0;
    return r;
}
static long x_rotate(const CodeArg *a, long k, char *t, size_t c) {
    int n = (int)strlen(a->word), s = (int)(k % n);
    snprintf(t, c, "%s%.*s", a->word + s, s, a->word);
    return 0;
}
static long x_count_letter(const CodeArg *a, long k, char *t, size_t c) {
    (void)t, (void)c;
    long r = 0;
    for (const char *p = a->word; *p; p++) r += *p == 'a' + k;
    return r;
}
static long x_fib(const CodeArg *a, long k, char *t, size_t c) { (void)t, (void)c; return fib_mod(a->n, k); }
static long x_squares(const CodeArg *a, long k, char *t, size_t c) {
    (void)t, (void)c;
    long r = 0;
    for (long i = 1; i <= a->n; i++) r += i * i;
    return r % k;
}
static long x_primes(const CodeArg *a, long k, char *t, size_t c) {
    (void)t, (void)c;
    long r = 0;
    for (long m = k; m <= a->n; m++) r += is_prime(m);
    return r;
}
static long x_pairs(const CodeArg *a, long k, char *t, size_t c) {
    (void)t, (void)c;
    long r = 0;
    for (int i = 0; i < a->len; i++)
        for (int j = i + 1; j < a->len; j++) r += a->list[i] + a->list[j] == k;
    return r;
}

// Two families per difficulty, in difficulty order.
static const CodeFamily families[2 * TASK_MAX_DIFFICULTY] = {
    {"add_k", ARG_INT, "n + {K}", "    return n + {K}", 1, 99, 0, -1000, 1000, 0, 0, x_add},
    {"times_k", ARG_INT, "n * {K}", "    return n * {K}", 2, 30, 0, -1000, 1000, 0, 0, x_mul},
    {"count_greater", ARG_LIST, "how many numbers in nums are greater than {K}",
     "    return sum(1 for x in nums if x > {K})", -10, 60, 0, -50, 100, 1, 8, x_greater},
    {"sum_divisible", ARG_LIST, "the sum of the numbers in nums that are divisible by {K}",
     "    return sum(x for x in nums if x % {K} == 0)", 2, 12, 0, 0, 100, 1, 8, x_sum_div},
    {"rotate_left", ARG_WORD, "s rotated left by {K} characters ({K} modulo the length of s)",
     "    k = {K} % len(s)\n    return s[k:] + s[:k]", 1, 60, 0, 0, 0, 1, 12, x_rotate},
    {"count_letter", ARG_WORD, "how many times the letter '{K}' occurs in s", "    return s.count('{K}')", 0, 25, 1,
     0, 0, 1, 12, x_count_letter},
    {"fib_mod", ARG_INT, "the n-th Fibonacci number modulo {K}, where F(0) = 0 and F(1) = 1",
     "    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a % {K}", 2, 1000, 0, 0, 80, 0, 0,
     x_fib},
    {"squares_mod", ARG_INT, "the sum of the squares of 1, 2, ..., n modulo {K}",
     "    return sum(i * i for i in range(1, n + 1)) % {K}", 2, 1000, 0, 0, 2000, 0, 0, x_squares},
    {"count_primes", ARG_INT, "how many prime numbers p satisfy {K} <= p <= n",
     "    def is_prime(m):\n        return m >= 2 and all(m % d for d in range(2, int(m ** 0.5) + 1))\n"
     "    return sum(1 for m in range({K}, n + 1) if is_prime(m))",
     0, 200, 0, 0, 3000, 0, 0, x_primes},
    {"pairs_sum", ARG_LIST, "how many pairs of positions i < j have nums[i] + nums[j] == {K}",
     "    return sum(1 for i in range(len(nums)) for j in range(i + 1, len(nums)) if nums[i] + nums[j] == {K})", 0,
     40, 0, 0, 20, 2, 8, x_pairs},
};

static const char *const arg_name[] = {"n", "nums", "s"};
static const char *const arg_stdin[] = {"an integer n", "integers nums separated by spaces on one line",
                                        "a lowercase word s"};
static const char *const arg_read[] = {"n = int(input())", "nums = list(map(int, input().split()))",
                                       "s = input().strip()"};

// text with every "{K}" replaced by k, into out (cap bytes). Returns 0, or -1
// when it does not fit.
static int subst(char *out, size_t cap, const char *text, const char *k) {
    size_t at = 0, kl = strlen(k);
    for (const char *p = text; *p;) {
        if (strncmp(p, "{K}", 3) == 0) {
            if (at + kl >= cap) return -1;
            memcpy(out + at, k, kl);
            at += kl;
            p += 3;
        } else {
            if (at + 1 >= cap) return -1;
            out[at++] = *p++;
        }
    }
    out[at] = 0;
    return 0;
}

// An argument of family f; words hold the parameter's letter about a third of
// the time, so that counting it is rarely zero.
static void draw_arg(Rng *rng, const CodeFamily *f, long k, CodeArg *a) {
    memset(a, 0, sizeof *a);
    if (f->arg == ARG_INT) {
        a->n = task_rand_range(rng, f->n_lo, f->n_hi);
    } else if (f->arg == ARG_LIST) {
        a->len = (int)task_rand_range(rng, f->len_lo, f->len_hi);
        for (int i = 0; i < a->len; i++) a->list[i] = task_rand_range(rng, f->n_lo, f->n_hi);
    } else {
        int n = (int)task_rand_range(rng, f->len_lo, f->len_hi);
        for (int i = 0; i < n; i++)
            a->word[i] = (char)('a' + (f->k_letter && rng_below(rng, 3) == 0 ? k : task_rand_range(rng, 0, 25)));
    }
}

// The argument as stdin text and as a JSON argument array.
static void arg_forms(const CodeFamily *f, const CodeArg *a, char *in, size_t cap, cJSON *args) {
    if (f->arg == ARG_INT) {
        snprintf(in, cap, "%ld\n", a->n);
        cJSON_AddItemToArray(args, cJSON_CreateNumber((double)a->n));
    } else if (f->arg == ARG_LIST) {
        size_t at = 0;
        cJSON *l = cJSON_CreateArray();
        for (int i = 0; i < a->len; i++) {
            at += (size_t)snprintf(in + at, cap - at, i ? " %ld" : "%ld", a->list[i]);
            cJSON_AddItemToArray(l, cJSON_CreateNumber((double)a->list[i]));
        }
        snprintf(in + at, cap - at, "\n");
        cJSON_AddItemToArray(args, l);
    } else {
        snprintf(in, cap, "%s\n", a->word);
        cJSON_AddItemToArray(args, cJSON_CreateString(a->word));
    }
}

// The tests and the solution of family f with parameter k in form `call` as
// the JSON text p->code. Returns 0, or -1 when out of memory or too long.
static int code_json(const CodeFamily *f, long k, const char *ktext, int call, uint64_t hash, Problem *p) {
    char body[512], solution[1024];
    if (subst(body, sizeof body, f->body, ktext) != 0) return -1;
    int w = snprintf(solution, sizeof solution, "def %s(%s):\n%s\n", f->fn, arg_name[f->arg], body);
    if (!call)
        w += snprintf(solution + w, sizeof solution - (size_t)w, "\n\n%s\nprint(%s(%s))\n", arg_read[f->arg], f->fn,
                      arg_name[f->arg]);
    if (w < 0 || (size_t)w >= sizeof solution) return -1;
    cJSON *o = cJSON_CreateObject(), *tests = NULL, *inputs = NULL, *outputs = NULL;
    if (call) {
        cJSON_AddStringToObject(o, "fn_name", f->fn);
        inputs = cJSON_AddArrayToObject(o, "inputs");
        outputs = cJSON_AddArrayToObject(o, "outputs");
    } else {
        tests = cJSON_AddArrayToObject(o, "tests");
    }
    Rng rng;
    rng_init(&rng, hash);
    for (int t = 0; t < CODE_TESTS; t++) {
        CodeArg a;
        char in[160], text[32] = "", out[48];
        draw_arg(&rng, f, k, &a);
        cJSON *args = cJSON_CreateArray();
        arg_forms(f, &a, in, sizeof in, args);
        long v = f->expect(&a, k, text, sizeof text);
        if (call) {
            cJSON_AddItemToArray(inputs, args);
            cJSON_AddItemToArray(outputs, text[0] ? cJSON_CreateString(text) : cJSON_CreateNumber((double)v));
        } else {
            cJSON_Delete(args);
            if (!text[0]) snprintf(out, sizeof out, "%ld\n", v);
            else snprintf(out, sizeof out, "%s\n", text);
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "input", in);
            cJSON_AddStringToObject(e, "output", out);
            cJSON_AddItemToArray(tests, e);
        }
    }
    cJSON_AddStringToObject(o, "solution", solution);
    int ok = cJSON_PrintPreallocated(o, p->code, (int)sizeof p->code, 0);
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

int task_make_code(Rng *rng, int difficulty, Problem *p, char *canon, size_t cap) {
    const CodeFamily *f = &families[2 * (difficulty - 1) + (int)rng_below(rng, 2)];
    int call = (int)rng_below(rng, 2);
    long k = task_rand_range(rng, f->k_lo, f->k_hi);
    char ktext[24];
    if (f->k_letter) snprintf(ktext, sizeof ktext, "%c", (char)('a' + k));
    else snprintf(ktext, sizeof ktext, "%ld", k);
    snprintf(canon, cap, "%s|%s|%s", f->fn, call ? "call" : "stdin", ktext);
    char desc[256];
    if (subst(desc, sizeof desc, f->desc, ktext) != 0) return -1;
    if (call)
        snprintf(p->prompt, sizeof p->prompt, "Write a Python function %s(%s) that returns %s.", f->fn,
                 arg_name[f->arg], desc);
    else
        snprintf(p->prompt, sizeof p->prompt,
                 "Write a Python program that reads %s from standard input and prints %s.", arg_stdin[f->arg], desc);
    uint64_t hash;
    task_split_of("code", canon, &hash);
    return code_json(f, k, ktext, call, hash, p);
}
