// The `code` reward: program extraction from a completion, one sandbox job per
// (completion, test), output comparison, and the per-completion score. A program
// that fails one test in all-or-nothing mode has its remaining tests skipped.
#include "reward/code.h"
#include "base/err.h"

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

char *reward_code_extract(const char *text, size_t len) {
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
    if (py) return dup_range(py, (size_t)(py_end - py));
    if (plain) return dup_range(plain, (size_t)(plain_end - plain));
    const char *a = NULL;
    for (const char *q = text; (q = find_in(q, end, "<answer>")) != NULL; q += 8) a = q + 8;
    if (a) {
        const char *ae = find_in(a, end, "</answer>");
        return dup_range(a, (size_t)((ae ? ae : end) - a));
    }
    return dup_range(text, len);
}

typedef struct {
    int *owner;        // (jobs) completion index of each job
    const char **want; // (jobs) expected stdout
    int *failed;       // (n) a test of completion i failed
    int *passed;       // (n) tests passed
    int partial;
} CodeRun;

static int code_should_run(void *ctx, int j) {
    CodeRun *c = ctx;
    return c->partial || !c->failed[c->owner[j]];
}

static void code_done(void *ctx, int j, const SandboxResult *r) {
    CodeRun *c = ctx;
    int i = c->owner[j];
    if (sandbox_ok(r) && sandbox_output_matches(r->out, r->out_len, c->want[j])) c->passed[i]++;
    else c->failed[i] = 1;
}

// The tests array of input i, checked: non-empty, every element {"input": str, "output": str}.
static const cJSON *task_tests(const RewardInput *in, int i) {
    const cJSON *task = in[i].task;
    const cJSON *t = task ? cJSON_GetObjectItemCaseSensitive(task, "tests") : NULL;
    if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) == 0) {
        err_set("code: input %d: the task needs a non-empty \"tests\" array", i);
        return NULL;
    }
    int k = 0;
    for (const cJSON *e = t->child; e; e = e->next, k++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, "input");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(e, "output");
        if (!cJSON_IsString(a) || !cJSON_IsString(b)) {
            err_set("code: input %d: tests[%d] needs string fields \"input\" and \"output\"", i, k);
            return NULL;
        }
    }
    return t;
}

int reward_code_batch_limits(const RewardInput *in, int n, const SandboxLimits *lim, int partial,
                             double *out) {
    int jobs = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *t = task_tests(in, i);
        if (!t) return -1;
        jobs += cJSON_GetArraySize(t);
    }
    SandboxJob *job = calloc((size_t)jobs + 1, sizeof *job);
    SandboxResult *res = calloc((size_t)jobs + 1, sizeof *res);
    CodeRun c = {calloc((size_t)jobs + 1, sizeof(int)), calloc((size_t)jobs + 1, sizeof(char *)),
                 calloc((size_t)n + 1, sizeof(int)), calloc((size_t)n + 1, sizeof(int)), partial};
    char **prog = calloc((size_t)n + 1, sizeof *prog);
    int rc = -1;
    if (!job || !res || !c.owner || !c.want || !c.failed || !c.passed || !prog) {
        err_set("code: out of memory");
        goto done;
    }
    int j = 0;
    for (int i = 0; i < n; i++) {
        prog[i] = reward_code_extract(in[i].completion ? in[i].completion : "",
                                      in[i].completion ? in[i].completion_len : 0);
        if (!prog[i]) {
            err_set("code: out of memory");
            goto done;
        }
        // An empty program cannot pass; it is never started.
        if (prog[i][strspn(prog[i], " \t\r\n")] == 0) c.failed[i] = 1;
        for (const cJSON *e = task_tests(in, i)->child; e; e = e->next, j++) {
            const char *input = cJSON_GetObjectItemCaseSensitive(e, "input")->valuestring;
            job[j] = (SandboxJob){prog[i], input, strlen(input)};
            c.owner[j] = i;
            c.want[j] = cJSON_GetObjectItemCaseSensitive(e, "output")->valuestring;
        }
    }
    SandboxHooks hooks = {code_should_run, code_done, &c};
    SandboxLimits l = *lim;
    if (sandbox_run_many(&l, job, jobs, &hooks, res) != 0) goto done;
    for (int i = 0; i < n; i++) {
        int total = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(in[i].task, "tests"));
        out[i] = partial ? (double)c.passed[i] / total : (c.passed[i] == total ? 1.0 : 0.0);
    }
    rc = 0;
done:
    if (res)
        for (int k = 0; k < jobs; k++) sandbox_result_free(&res[k]);
    if (prog)
        for (int i = 0; i < n; i++) free(prog[i]);
    free(prog), free(job), free(res), free(c.owner), free(c.want), free(c.failed), free(c.passed);
    return rc;
}

int reward_code_batch(const RewardInput *in, int n, const RewardParams *p, double *out) {
    SandboxLimits l;
    sandbox_limits_default(&l);
    double timeout = reward_param_double(p, "timeout", 5.0);
    double mem_mb = reward_param_double(p, "memory_mb", 1024.0);
    double parallel = reward_param_double(p, "parallel", 0.0);
    if (!(timeout > 0 && timeout <= 3600) || !(mem_mb >= 16 && mem_mb <= 1 << 20) ||
        !(parallel >= 0 && parallel <= 1024))
        return err_set("code: timeout must be in (0, 3600], memory_mb in [16, 1048576], "
                       "parallel in [0, 1024]");
    l.wall_seconds = timeout;
    l.cpu_seconds = timeout;
    l.mem_bytes = (long)(mem_mb * 1048576.0);
    l.max_parallel = (int)parallel;
    l.python = reward_param_string(p, "python", l.python);
    l.unsafe = reward_param_double(p, "unsafe_sandbox", 0.0) != 0;
    return reward_code_batch_limits(in, n, &l, reward_param_double(p, "partial", 0.0) != 0, out);
}
