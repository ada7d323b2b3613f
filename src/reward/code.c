// The `code` reward: program extraction from a completion, one sandbox job per
// (completion, test), output comparison, and the per-completion score and
// report. Call-based tests run a fixed harness that loads the program and calls
// the function; the comparison of what comes back happens here, outside the
// sandbox. A program that fails one test in all-or-nothing mode has its
// remaining tests skipped.
#include "reward/code.h"
#include "base/err.h"
#include "task/code_tests.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dup_range(const char *p, size_t n) {
    char *s = malloc(n + 1);
    if (!s) return NULL;
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

static const char *find_in(const char *p, const char *end, const char *needle) {
    size_t k = strlen(needle);
    for (; p + k <= end; p++)
        if (memcmp(p, needle, k) == 0) return p;
    return NULL;
}

// A fence's info string names Python?
static int info_is_python(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
    size_t n = (size_t)(e - p);
    return (n == 6 && strncasecmp(p, "python", 6) == 0) || (n == 2 && strncasecmp(p, "py", 2) == 0) ||
           (n == 7 && strncasecmp(p, "python3", 7) == 0);
}

char *reward_code_extract(const char *text, size_t len) { return reward_code_find(text, len, NULL); }

char *reward_code_find(const char *text, size_t len, int *found) {
    const char *p = text, *end = text + len;
    const char *py = NULL, *py_end = NULL, *plain = NULL, *plain_end = NULL;
    for (;;) {
        const char *open = find_in(p, end, "```");
        if (!open) break;
        const char *info = open + 3;
        const char *nl = memchr(info, '\n', (size_t)(end - info));
        if (!nl) break;   // a fence with no body
        const char *body = nl + 1;
        const char *close = find_in(body, end, "```");
        const char *body_end = close ? close : end;
        if (info_is_python(info, nl)) py = body, py_end = body_end;
        else if (nl == info || (nl == info + 1 && info[0] == '\r')) plain = body, plain_end = body_end;
        if (!close) break;
        p = close + 3;
    }
    if (found) *found = 1;
    if (py) return dup_range(py, (size_t)(py_end - py));
    if (plain) return dup_range(plain, (size_t)(plain_end - plain));
    const char *a = NULL;
    for (const char *q = text; (q = find_in(q, end, "<answer>")) != NULL; q += 8) a = q + 8;
    if (a) {
        const char *ae = find_in(a, end, "</answer>");
        return dup_range(a, (size_t)((ae ? ae : end) - a));
    }
    if (found) *found = 0;
    return dup_range(text, len);
}

const char *const reward_code_outcome_names[REWARD_CODE_OUTCOMES] = {"pass", "no_program", "wrong_output",
                                                                      "timeout", "crash", "output_limit"};

// Runs a call-based test. stdin holds {"program", "fn_name", "args"}; what the
// program prints while it loads or runs is kept from stdout, which then holds
// the JSON of the return value alone. A LeetCode-style class Solution is
// searched for the method when there is no such function.
static const char CALL_HARNESS[] =
    "import io, json, sys\n"
    "d = json.loads(sys.stdin.read())\n"
    "out = sys.stdout\n"
    "sys.stdout = io.StringIO()\n"
    "sys.stdin = io.StringIO('')\n"
    "g = {'__name__': '__solution__'}\n"
    "exec(compile(d['program'], '<solution>', 'exec'), g)\n"
    "f = g.get(d['fn_name'])\n"
    "if f is None and isinstance(g.get('Solution'), type):\n"
    "    f = getattr(g['Solution'](), d['fn_name'], None)\n"
    "if not callable(f):\n"
    "    sys.exit('no function ' + d['fn_name'])\n"
    "r = f(*d['args'])\n"
    "sys.stdout = out\n"
    "out.write(json.dumps(r) + '\\n')\n";

typedef struct {
    int *owner;           // (jobs) completion index of each job
    int *test;            // (jobs) test index within its problem
    const cJSON **want;   // (jobs) expected stdout (string) or return value
    int *call;            // (jobs) call-based
    int *failed;          // (n) a test of completion i failed
    int *first;           // (n) index of its first failing test so far
    int *found;           // (n) a fenced block or <answer> held the program
    RewardCodeReport *rep;// (n)
    int partial;
} CodeRun;

static int code_should_run(void *ctx, int j) {
    CodeRun *c = ctx;
    return c->partial || !c->failed[c->owner[j]];
}

// A call's return value against the expected one: equal as JSON, or equal to
// the only element of a one-element expected list (APPS wraps some outputs).
static int call_matches(const SandboxResult *r, const cJSON *want) {
    cJSON *got = cJSON_ParseWithLength(r->out, r->out_len);
    int ok = got && (cJSON_Compare(want, got, 1) ||
                     (cJSON_IsArray(want) && cJSON_GetArraySize(want) == 1 && cJSON_Compare(want->child, got, 1)));
    cJSON_Delete(got);
    return ok;
}

// Why a test failed (the sandbox tells a CPU-limit kill from other kills).
static RewardCodeOutcome failure_of(const SandboxResult *r) {
    if (r->status == SANDBOX_TIMEOUT) return REWARD_CODE_TIMEOUT;
    if (r->status == SANDBOX_OUTPUT_LIMIT) return REWARD_CODE_OUTPUT_LIMIT;
    if (!sandbox_ok(r)) return REWARD_CODE_CRASH;
    return REWARD_CODE_WRONG_OUTPUT;
}

static void code_done(void *ctx, int j, const SandboxResult *r) {
    CodeRun *c = ctx;
    int i = c->owner[j];
    int ok = sandbox_ok(r) && (c->call[j] ? call_matches(r, c->want[j])
                                          : sandbox_output_matches(r->out, r->out_len, c->want[j]->valuestring));
    c->rep[i].run++;
    if (ok) {
        c->rep[i].passed++;
        return;
    }
    c->failed[i] = 1;
    if (c->first[i] < 0 || c->test[j] < c->first[i]) {
        c->first[i] = c->test[j];
        // Text that was no program (no fence, no <answer>) and did not run is reported as such.
        RewardCodeOutcome o = failure_of(r);
        c->rep[i].outcome = !c->found[i] && o == REWARD_CODE_CRASH ? REWARD_CODE_NO_PROGRAM : o;
    }
}

// The tests of input i: its task's fields, or the generated problem's (parsed
// into *owned, which the caller frees).
static int input_tests(const RewardInput *in, int i, cJSON **owned, CodeTests *t) {
    const cJSON *row = in[i].task;
    *owned = NULL;
    if ((!row || !code_tests_present(row)) && in[i].problem && in[i].problem->code[0]) {
        if (!(*owned = cJSON_Parse(in[i].problem->code))) return err_set("code: input %d: out of memory", i);
        row = *owned;
    }
    if (!row) return err_set("code: input %d: the task needs tests (\"tests\", or \"fn_name\", \"inputs\", \"outputs\")", i);
    if (code_tests_parse(row, t) != 0) return err_wrap("code: input %d", i);
    return 0;
}

// The stdin of one call-based test: {"program", "fn_name", "args"} (malloc'd), or NULL.
static char *call_stdin(const char *program, const char *fn, const cJSON *args) {
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_Duplicate(args, 1);
    char *s = NULL;
    if (o && a && cJSON_AddStringToObject(o, "program", program) && cJSON_AddStringToObject(o, "fn_name", fn) &&
        cJSON_AddItemToObject(o, "args", a))
        s = cJSON_PrintUnformatted(o);
    else
        cJSON_Delete(a);
    cJSON_Delete(o);
    return s;
}

int reward_code_batch_limits(const RewardInput *in, int n, const SandboxLimits *lim, int partial,
                             double *out) {
    int rc = -1, jobs = 0;
    cJSON **owned = calloc((size_t)n + 1, sizeof *owned);
    CodeTests *tests = calloc((size_t)n + 1, sizeof *tests);
    if (!owned || !tests) {
        free(owned), free(tests);
        return err_set("code: out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (input_tests(in, i, &owned[i], &tests[i]) != 0) goto free_tests;
        jobs += tests[i].n;
    }
    SandboxJob *job = calloc((size_t)jobs + 1, sizeof *job);
    SandboxResult *res = calloc((size_t)jobs + 1, sizeof *res);
    char **stdin_owned = calloc((size_t)jobs + 1, sizeof *stdin_owned);
    CodeRun c = {calloc((size_t)jobs + 1, sizeof(int)), calloc((size_t)jobs + 1, sizeof(int)),
                 calloc((size_t)jobs + 1, sizeof(cJSON *)), calloc((size_t)jobs + 1, sizeof(int)),
                 calloc((size_t)n + 1, sizeof(int)), calloc((size_t)n + 1, sizeof(int)),
                 calloc((size_t)n + 1, sizeof(int)), calloc((size_t)n + 1, sizeof(RewardCodeReport)), partial};
    char **prog = calloc((size_t)n + 1, sizeof *prog);
    if (!job || !res || !stdin_owned || !c.owner || !c.test || !c.want || !c.call || !c.failed || !c.first ||
        !c.found || !c.rep || !prog) {
        err_set("code: out of memory");
        goto done;
    }
    int j = 0;
    for (int i = 0; i < n; i++) {
        const CodeTests *t = &tests[i];
        prog[i] = reward_code_find(in[i].completion ? in[i].completion : "",
                                   in[i].completion ? in[i].completion_len : 0, &c.found[i]);
        if (!prog[i]) {
            err_set("code: out of memory");
            goto done;
        }
        c.first[i] = -1;
        c.rep[i] = (RewardCodeReport){.scored = 1, .tests = t->n};
        // An empty program cannot pass; it is never started.
        if (prog[i][strspn(prog[i], " \t\r\n")] == 0) {
            c.failed[i] = 1;
            c.first[i] = 0;
            c.rep[i].outcome = REWARD_CODE_NO_PROGRAM;
        }
        for (int k = 0; k < t->n; k++, j++) {
            const cJSON *input = code_test_input(t, k);
            c.owner[j] = i;
            c.test[j] = k;
            c.want[j] = code_test_output(t, k);
            c.call[j] = t->fn_name != NULL;
            if (t->fn_name) {
                if (!(stdin_owned[j] = call_stdin(prog[i], t->fn_name, input))) {
                    err_set("code: out of memory");
                    goto done;
                }
                job[j] = (SandboxJob){CALL_HARNESS, stdin_owned[j], strlen(stdin_owned[j])};
            } else {
                job[j] = (SandboxJob){prog[i], input->valuestring, strlen(input->valuestring)};
            }
        }
    }
    SandboxHooks hooks = {code_should_run, code_done, &c};
    SandboxLimits l = *lim;
    if (sandbox_run_many(&l, job, jobs, &hooks, res) != 0) goto done;
    for (int i = 0; i < n; i++) {
        int total = tests[i].n;
        out[i] = partial ? (double)c.rep[i].passed / total : (c.rep[i].passed == total ? 1.0 : 0.0);
        if (in[i].code) *in[i].code = c.rep[i];
    }
    rc = 0;
done:
    if (res)
        for (int k = 0; k < jobs; k++) sandbox_result_free(&res[k]);
    for (int k = 0; stdin_owned && k < jobs; k++) free(stdin_owned[k]);
    if (prog)
        for (int i = 0; i < n; i++) free(prog[i]);
    free(prog), free(job), free(res), free(stdin_owned);
    free(c.owner), free(c.test), free(c.want), free(c.call), free(c.failed), free(c.first), free(c.found), free(c.rep);
free_tests:
    for (int i = 0; i < n; i++) cJSON_Delete(owned[i]);
    free(owned), free(tests);
    return rc;
}

int reward_code_batch(const RewardInput *in, int n, const RewardParams *p, double *out) {
    SandboxLimits l;
    sandbox_limits_default(&l);
    double timeout = reward_param_double(p, "timeout", 5.0);
    double mem_mb = reward_param_double(p, "memory_mb", 1024.0);
    double parallel = reward_param_double(p, "parallel", 0.0);
    double wall = reward_param_double(p, "wall", timeout);
    if (!(timeout > 0 && timeout <= 3600) || !(wall >= timeout && wall <= 3600) ||
        !(mem_mb >= 16 && mem_mb <= 1 << 20) || !(parallel >= 0 && parallel <= 1024))
        return err_set("code: timeout must be in (0, 3600], wall in [timeout, 3600], memory_mb in [16, 1048576], "
                       "parallel in [0, 1024]");
    l.wall_seconds = wall;
    l.cpu_seconds = timeout;
    l.mem_bytes = (long)(mem_mb * 1048576.0);
    l.max_parallel = (int)parallel;
    l.python = reward_param_string(p, "python", l.python);
    l.unsafe = reward_param_double(p, "unsafe_sandbox", 0.0) != 0;
    return reward_code_batch_limits(in, n, &l, reward_param_double(p, "partial", 0.0) != 0, out);
}

void reward_code_summary_add(RewardCodeSummary *s, const RewardCodeReport *r) {
    if (!r->scored) return;
    s->completions++;
    s->tests += r->tests;
    s->run += r->run;
    s->passed += r->passed;
    s->outcomes[r->outcome]++;
}

void reward_code_summary_json(cJSON *o, const RewardCodeSummary *s, double seconds) {
    if (s->completions == 0) return;
    double n = (double)s->completions;
    char key[64];
    cJSON_AddNumberToObject(o, "rewards/code/pass_rate", s->outcomes[REWARD_CODE_PASS] / n);
    cJSON_AddNumberToObject(o, "rewards/code/tests_passed_frac", s->tests ? (double)s->passed / s->tests : 0);
    cJSON_AddNumberToObject(o, "rewards/code/tests_run", (double)s->run);
    for (int k = 1; k < REWARD_CODE_OUTCOMES; k++) {
        snprintf(key, sizeof key, "rewards/code/%s_frac", reward_code_outcome_names[k]);
        cJSON_AddNumberToObject(o, key, s->outcomes[k] / n);
    }
    cJSON_AddNumberToObject(o, "rewards/code/programs_per_s", seconds > 0 ? s->run / seconds : 0);
}

cJSON *reward_code_report_json(const RewardCodeReport *r) {
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddNumberToObject(o, "tests", r->tests) || !cJSON_AddNumberToObject(o, "run", r->run) ||
              !cJSON_AddNumberToObject(o, "passed", r->passed) ||
              !cJSON_AddStringToObject(o, r->outcome == REWARD_CODE_PASS ? "result" : "first_failure",
                                       reward_code_outcome_names[r->outcome]))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
