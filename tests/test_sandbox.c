// The code sandbox against hostile programs: an infinite loop, a fork bomb, a
// 10 GB allocation, writes outside its directory, a network connection (with the
// network namespace and with the seccomp filter alone), 1 GB of output, and the
// escapes of a program running as our own user: killing or tracing the trainer
// or other processes of the user, a daemon that outlives the run or the
// trainer, reading the trainer's environment, the data set or the project
// files, /etc/shadow, connecting to host unix sockets, raising its rlimits. Each must score 0 within its limit
// plus a margin and leave no process behind (checked in /proc); controls show
// the same probes succeed when a guard is lifted. An honest program that opens
// /dev/null, /dev/zero, /dev/random or /dev/urandom passes, while /dev holds
// nothing else and cannot be written. Where namespaces cannot be made the
// sandbox refuses, or in unsafe mode runs with a warning. Run as root, the
// whole test runs again as an unprivileged user (aha-test, else nobody).
#include "reward/code.h"
#include "reward/sandbox.h"
#include "task/task.h"
#include "base/err.h"
#include "base/sys.h"
#include "test.h"

#include "base/fileio.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WALL 2.0      // seconds per run in these tests
#define MARGIN 0.6    // allowed on top of WALL (start-up, reaping, a loaded machine)
// Carried by every hostile program: "AHA_SBX_MARK_<our pid>", so that another
// run of this test on the same machine is not mistaken for our leftovers.
static char mark[64];
// A process of ours that test_escapes keeps alive on purpose (not a leftover).
static pid_t victim;

static SandboxLimits test_limits(void) {
    SandboxLimits l;
    sandbox_limits_default(&l);
    l.wall_seconds = WALL;
    l.cpu_seconds = WALL;
    l.mem_bytes = 512L << 20;
    l.max_output = 1L << 20;
    l.max_procs = 8;
    l.max_parallel = 2;
    return l;
}

// Processes whose command line contains mark (every hostile program carries it),
// plus processes whose parent is this test (we are a subreaper, so orphans of
// the sandbox would land here).
static int leftovers(void) {
    int found = 0;
    DIR *d = opendir("/proc");
    if (!d) return -1;
    struct dirent *e;
    pid_t me = getpid();
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == victim) continue;
        char path[300], buf[8192];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "rb");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            for (size_t k = 0; k < n; k++)
                if (!buf[k]) buf[k] = ' ';
            buf[n] = 0;
            if (strstr(buf, mark)) found++;
        }
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        f = fopen(path, "rb");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = 0;
            const char *rp = strrchr(buf, ')');
            int ppid = 0;
            char state;
            if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == me) found++;
        }
    }
    closedir(d);
    return found;
}

// Work directories of sandboxes in /tmp (each run removes its own).
static int sandbox_dirs(void) {
    DIR *d = opendir("/tmp");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strncmp(e->d_name, "aha-sbx-", 8) == 0 && strncmp(e->d_name, "aha-sbx-user-", 13) != 0;
    if (d) closedir(d);
    return n;
}

// Score one program on one test through the code reward's batch path.
static double score(const SandboxLimits *l, const char *program, const char *input,
                    const char *output, double *elapsed) {
    char *completion = malloc(strlen(program) + 128);
    sprintf(completion, "Here:\n```python\n# %s\n%s\n```\n", mark, program);
    cJSON *task = cJSON_CreateObject();
    cJSON *tests = cJSON_AddArrayToObject(task, "tests");
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "input", input);
    cJSON_AddStringToObject(t, "output", output);
    cJSON_AddItemToArray(tests, t);
    RewardInput in = {.completion = completion, .completion_len = strlen(completion), .task = task};
    double r = -1, t0 = time_now();
    int rc = reward_code_batch_limits(&in, 1, l, 0, &r);
    *elapsed = time_now() - t0;
    CHECK(rc == 0, "%s", err_msg());
    cJSON_Delete(task);
    free(completion);
    return r;
}

static void hostile(const char *name, const SandboxLimits *l, const char *program, const char *input,
                    const char *output) {
    double dt;
    double r = score(l, program, input, output, &dt);
    CHECK(r == 0.0, "%s: reward %g, want 0", name, r);
    CHECK(dt <= l->wall_seconds + MARGIN, "%s: took %.2f s, limit %.2f + %.2f", name, dt,
          l->wall_seconds, MARGIN);
    int left = leftovers();
    CHECK(left == 0, "%s: %d processes left behind", name, left);
    printf("  %-28s reward %g in %.3f s\n", name, r, dt);
}

static void test_output_matching(void) {
    CHECK(sandbox_output_matches("42\n", 3, "42"), "newline at end");
    CHECK(sandbox_output_matches("a  \nb\t\n\n\n", 9, "a\nb"), "trailing spaces and blank lines");
    CHECK(sandbox_output_matches("a\r\nb\r\n", 6, "a\nb\n"), "CRLF");
    CHECK(!sandbox_output_matches("a\n\nb\n", 5, "a\nb"), "an inner blank line matters");
    CHECK(!sandbox_output_matches(" 42\n", 4, "42"), "leading space matters");
    CHECK(!sandbox_output_matches("4 2\n", 4, "42"), "inner space matters");
    CHECK(!sandbox_output_matches("", 0, "42"), "nothing printed");
    CHECK(sandbox_output_matches("", 0, "\n \n"), "empty both");
    CHECK(!sandbox_output_matches("42\n43\n", 6, "42"), "extra line");
}

static void test_extract(void) {
    struct { const char *text, *want; } cases[] = {
        {"```python\nprint(1)\n```", "print(1)\n"},
        {"a\n```python\nprint(1)\n```\nthen\n```python\nprint(2)\n```\n", "print(2)\n"},   // last wins
        {"```py\nx=1\n```\n```\nplain\n```", "x=1\n"},          // python preferred over plain
        {"```bash\nls\n```\n```\nprint(3)\n```", "print(3)\n"},   // other languages ignored
        {"<think>t</think><answer>print(4)</answer>", "print(4)"},
        {"print(5)", "print(5)"},
        {"```python\nprint(6)\n", "print(6)\n"},                  // unterminated fence
        {"```Python3  \nprint(7)\n```", "print(7)\n"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *got = reward_code_extract(cases[k].text, strlen(cases[k].text));
        CHECK(got && strcmp(got, cases[k].want) == 0, "case %zu: got [%s]", k, got ? got : "(null)");
        free(got);
    }
}

static void test_passing_and_partial(void) {
    SandboxLimits l = test_limits();
    double dt;
    CHECK(score(&l, "print(int(input()) * 2)", "21\n", "42\n", &dt) == 1.0, "doubling passes");
    CHECK(score(&l, "print(int(input()) * 2)", "21\n", "43\n", &dt) == 0.0, "wrong answer fails");
    CHECK(score(&l, "import sys; print(42); sys.exit(3)", "", "42", &dt) == 0.0,
          "right output with a non-zero exit fails");
    CHECK(score(&l, "open('f.txt','w').write('hi'); print(open('f.txt').read())", "", "hi", &dt) == 1.0,
          "the work directory is writable");
    CHECK(score(&l, "import os; print(len(os.listdir('.')))", "", "0", &dt) == 1.0,
          "the work directory starts empty");

    // The devices honest programs open work; nothing else of the host's /dev is there to open.
    const char *devices = "import os, random, sys\n"
                          "open(os.devnull, 'w').write('x'); assert open('/dev/null').read() == ''\n"
                          "assert open('/dev/zero', 'rb').read(4) == bytes(4)\n"
                          "assert len(open('/dev/urandom', 'rb').read(8)) == 8\n"
                          "assert len(open('/dev/random', 'rb').read(8)) == 8\n"
                          "open('/dev/null', 'wb').write(b'y'); open('/dev/zero', 'wb').write(b'y')\n"
                          "random.SystemRandom().random(); os.urandom(4)\n"
                          "print(open('/dev/stdin').read().strip())";
    CHECK(score(&l, devices, "7\n", "7", &dt) == 1.0, "null, zero, random and urandom open in the sandbox");
    const char *listing = "import os; print(' '.join(sorted(os.listdir('/dev'))))";
    CHECK(score(&l, listing, "", "fd null random stderr stdin stdout urandom zero", &dt) == 1.0,
          "/dev holds only the sandbox's devices");
    hostile("create a file in /dev", &l, "open('/dev/x', 'w').write('x')\nprint('written')", "", "written");
    hostile("a host disk in /dev", &l, "import os\nprint(os.path.exists('/dev/sda') or os.path.exists('/dev/vda') or "
            "os.path.exists('/dev/mem') or os.path.exists('/dev/shm'))", "", "True");
    // The root holds the host's system directories, /dev, /proc and the work dir's path only.
    static const char *const names[] = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr"};
    char root[256] = "", path[64];
    struct stat st;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        snprintf(path, sizeof path, "/%s", strcmp(names[k], "etc") == 0 ? "etc/ld.so.cache" : names[k]);
        int always = !strcmp(names[k], "dev") || !strcmp(names[k], "proc") || !strcmp(names[k], "tmp");
        if (always || lstat(path, &st) == 0) snprintf(root + strlen(root), sizeof root - strlen(root), "%s%s", root[0] ? " " : "", names[k]);
    }
    CHECK(score(&l, "import os; print(' '.join(sorted(os.listdir('/'))))", "", root, &dt) == 1.0,
          "the root holds more than %s", root);
    // A clean environment: nothing of ours (AHA_SBX_SECRET is set in main).
    CHECK(score(&l, "import os; print(' '.join(sorted(os.environ)))", "", "HOME LANG PATH TMPDIR", &dt) == 1.0,
          "the program sees more than its own environment");

    // Three tests, the program gets two right.
    const char *completion = "```python\nn=int(input())\nprint(n*n if n < 3 else 0)\n```";
    cJSON *task = cJSON_Parse("{\"tests\":[{\"input\":\"1\",\"output\":\"1\"},"
                              "{\"input\":\"2\",\"output\":\"4\"},{\"input\":\"3\",\"output\":\"9\"}]}");
    RewardInput in[2] = {{.completion = completion, .completion_len = strlen(completion), .task = task},
                         {.completion = "", .completion_len = 0, .task = task}};
    double out[2];
    CHECK(reward_code_batch_limits(in, 2, &l, 1, out) == 0, "%s", err_msg());
    CHECK_CLOSE(out[0], 2.0 / 3.0, 1e-12, 1e-12);
    CHECK(out[1] == 0.0, "empty completion: %g", out[1]);
    CHECK(reward_code_batch_limits(in, 2, &l, 0, out) == 0, "%s", err_msg());
    CHECK(out[0] == 0.0 && out[1] == 0.0, "all-or-nothing: %g %g", out[0], out[1]);

    // All-or-nothing skips the rest once a test fails: the first test fails at
    // once, the other two would each sleep past the limit.
    const char *slow = "```python\nimport time\nn=int(input())\nif n > 1: time.sleep(30)\nprint(-1)\n```";
    RewardInput s = {.completion = slow, .completion_len = strlen(slow), .task = task};
    SandboxLimits one = l;
    one.max_parallel = 1;
    double t0 = time_now();
    CHECK(reward_code_batch_limits(&s, 1, &one, 0, out) == 0 && out[0] == 0.0, "slow: %g", out[0]);
    CHECK(time_now() - t0 < 1.0, "failing tests were not skipped: %.2f s", time_now() - t0);

    // A task without tests is a configuration error naming the input.
    cJSON *bad = cJSON_Parse("{\"tests\":[{\"input\":\"1\"}]}");
    RewardInput b[2] = {in[0], {.completion = "x", .completion_len = 1, .task = bad}};
    CHECK(reward_code_batch_limits(b, 2, &l, 0, out) == -1 && strstr(err_msg(), "input 1"), "%s",
          err_msg());
    cJSON_Delete(bad);
    cJSON_Delete(task);
}

// Score one completion on the tests of row (JSON text) with a report.
static double score_row(const SandboxLimits *l, const char *completion, const char *row, RewardCodeReport *rep) {
    cJSON *task = cJSON_Parse(row);
    CHECK(task != NULL, "bad test row %s", row);
    RewardInput in = {.completion = completion, .completion_len = strlen(completion), .task = task, .code = rep};
    double r = -1;
    memset(rep, 0, sizeof *rep);
    CHECK(reward_code_batch_limits(&in, 1, l, 0, &r) == 0, "%s", err_msg());
    cJSON_Delete(task);
    return r;
}

// Call-based tests (APPS/verl shape) and the report of each kind of failure.
static void test_call_based_and_reports(void) {
    SandboxLimits l = test_limits();
    RewardCodeReport rep;
    const char *call = "{\"fn_name\": \"f\", \"inputs\": [[1, 2], [3, 4]], \"outputs\": [3, 7]}";
    CHECK(score_row(&l, "```python\nprint('noise')\ndef f(a, b):\n    print('more')\n    return a + b\n```", call, &rep) == 1.0 &&
              rep.scored && rep.tests == 2 && rep.passed == 2 && rep.outcome == REWARD_CODE_PASS,
          "a function that prints along the way passes: %d/%d %d", rep.passed, rep.tests, rep.outcome);
    CHECK(score_row(&l, "```python\nclass Solution:\n    def f(self, a, b):\n        return a + b\n```", call, &rep) == 1.0,
          "a LeetCode-style class Solution passes");
    CHECK(score_row(&l, "```python\ndef f(a, b):\n    return a - b\n```", call, &rep) == 0.0 &&
              rep.outcome == REWARD_CODE_WRONG_OUTPUT, "a wrong value: outcome %d", rep.outcome);
    CHECK(score_row(&l, "```python\ndef g(a, b):\n    return a + b\n```", call, &rep) == 0.0 &&
              rep.outcome == REWARD_CODE_CRASH, "no such function: outcome %d", rep.outcome);
    // APPS wraps some expected values in a one-element list; tuples come back as lists.
    CHECK(score_row(&l, "```python\ndef f(s):\n    return (s[::-1], len(s))\n```",
                    "{\"tests\": {\"fn_name\": \"f\", \"inputs\": [[\"ab\"]], \"outputs\": [[[\"ba\", 2]]]}}", &rep) == 1.0,
          "wrapped expected value and a tuple");
    CHECK(score_row(&l, "```python\nprint(input()[::-1])\n```",
                    "{\"tests\": {\"inputs\": [\"abc\\n\"], \"outputs\": [\"cba\\n\"]}}", &rep) == 1.0,
          "input_output without fn_name is stdin/stdout");
    // The other outcomes, each named.
    const char *one = "{\"tests\": [{\"input\": \"\", \"output\": \"1\"}]}";
    CHECK(score_row(&l, "I cannot write this program.", one, &rep) == 0.0 && rep.outcome == REWARD_CODE_NO_PROGRAM,
          "prose: outcome %d", rep.outcome);
    CHECK(score_row(&l, "```python\n```", one, &rep) == 0.0 && rep.outcome == REWARD_CODE_NO_PROGRAM && rep.run == 0,
          "empty fence: outcome %d, run %d", rep.outcome, rep.run);
    CHECK(score_row(&l, "```python\nwhile True: pass\n```", one, &rep) == 0.0 && rep.outcome == REWARD_CODE_TIMEOUT,
          "loop: outcome %d", rep.outcome);
    CHECK(score_row(&l, "```python\nprint(1 / 0)\n```", one, &rep) == 0.0 && rep.outcome == REWARD_CODE_CRASH,
          "exception: outcome %d", rep.outcome);
    CHECK(score_row(&l, "```python\nimport sys\nwhile True: sys.stdout.write('x' * 65536)\n```", one, &rep) == 0.0 &&
              rep.outcome == REWARD_CODE_OUTPUT_LIMIT, "flood: outcome %d", rep.outcome);
    CHECK(score_row(&l, "```python\nprint(2)\n```", one, &rep) == 0.0 && rep.outcome == REWARD_CODE_WRONG_OUTPUT &&
              rep.run == 1 && rep.passed == 0, "wrong: outcome %d", rep.outcome);
}

// Every family of the code task, in both forms and both splits: the reference
// solution passes the tests whose outputs C computed, and a near miss (the
// last test's expected output changed) fails on that test only.
static void test_code_task_solutions(void) {
    SandboxLimits l = test_limits();
    l.max_parallel = 4;
    enum { PER = 6 };
    RewardInput in[2 * TASK_MAX_DIFFICULTY * PER];
    RewardCodeReport rep[2 * TASK_MAX_DIFFICULTY * PER];
    cJSON *rows[2 * TASK_MAX_DIFFICULTY * PER];
    char *comp[2 * TASK_MAX_DIFFICULTY * PER];
    double out[2 * TASK_MAX_DIFFICULTY * PER];
    int n = 0;
    Problem p;
    for (int d = 1; d <= TASK_MAX_DIFFICULTY; d++)
        for (int i = 0; i < PER; i++, n++) {
            CHECK(task_generate(task_find("code"), 11, i % 2, d, i, &p) == 0, "%s", err_msg());
            rows[n] = task_problem_json(&p);
            const char *sol = cJSON_GetObjectItem(rows[n], "solution")->valuestring;
            comp[n] = malloc(strlen(sol) + 32);
            sprintf(comp[n], "```python\n%s```\n", sol);
            in[n] = (RewardInput){.completion = comp[n], .completion_len = strlen(comp[n]), .task = rows[n],
                                  .code = &rep[n]};
        }
    // The same solutions against tests with the last expected output changed.
    for (int k = 0; k < n; k++) {
        cJSON *r = cJSON_Duplicate(rows[k], 1);
        cJSON *tests = cJSON_GetObjectItem(r, "tests");
        if (tests) cJSON_ReplaceItemInObject(cJSON_GetArrayItem(tests, 4), "output", cJSON_CreateString("-1\n"));
        else cJSON_ReplaceItemInArray(cJSON_GetObjectItem(r, "outputs"), 4, cJSON_CreateString("?"));
        rows[n + k] = r;
        in[n + k] = in[k];
        in[n + k].task = r;
        in[n + k].code = &rep[n + k];
    }
    double t0 = time_now();
    CHECK(reward_code_batch_limits(in, 2 * n, &l, 1, out) == 0, "%s", err_msg());
    double dt = time_now() - t0;
    for (int k = 0; k < n; k++) {
        CHECK(out[k] == 1.0 && rep[k].passed == 5, "%s: reference solution passes %d/5 (outcome %d)",
              cJSON_GetObjectItem(rows[k], "prompt")->valuestring, rep[k].passed, rep[k].outcome);
        CHECK(out[n + k] == 0.8 && rep[n + k].outcome == REWARD_CODE_WRONG_OUTPUT, "%s: near miss %g",
              cJSON_GetObjectItem(rows[k], "prompt")->valuestring, out[n + k]);
    }
    printf("  %d code-task solutions and near misses: %d programs in %.2f s\n", 2 * n, 10 * n, dt);
    for (int k = 0; k < 2 * n; k++) cJSON_Delete(rows[k]);
    for (int k = 0; k < n; k++) free(comp[k]);
}

static void test_parallel_bounded(void) {
    // 8 programs that each sleep 0.5 s, 4 at a time: about 1 s in all (2 rounds);
    // serial would be 4 s, unbounded 0.5 s.
    SandboxLimits l = test_limits();
    l.max_parallel = 4;
    SandboxJob jobs[8];
    for (int k = 0; k < 8; k++) jobs[k] = (SandboxJob){"import time; time.sleep(0.5); print(input())", "7\n", 2};
    SandboxResult r[8];
    double t0 = time_now();
    CHECK(sandbox_run_many(&l, jobs, 8, NULL, r) == 0, "%s", err_msg());
    double dt = time_now() - t0;
    CHECK(dt >= 0.95 && dt < 2.5, "8 x 0.5 s with 4 slots took %.2f s", dt);
    for (int k = 0; k < 8; k++) {
        CHECK(sandbox_ok(&r[k]) && strcmp(r[k].out, "7\n") == 0, "job %d: status %d [%s]", k, r[k].status,
              r[k].out);
        sandbox_result_free(&r[k]);
    }
    printf("  8 sleepers, 4 slots: %.2f s\n", dt);
}

static void test_hostile(void) {
    SandboxLimits l = test_limits();
    hostile("infinite loop", &l, "while True: pass", "", "done");
    hostile("sleep forever", &l, "import time; time.sleep(1000)", "", "done");
    hostile("fork bomb", &l, "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass", "", "done");
    hostile("detached children", &l,
            "import os, time\nfor i in range(100000):\n    try:\n        if os.fork() == 0:\n"
            "            os.setsid(); time.sleep(1000)\n    except OSError: pass\nprint('done')",
            "", "never printed");
    hostile("10 GB allocation", &l, "x = bytearray(10 * 1024**3)\nprint('done')", "", "done");
    hostile("1 GB of output", &l, "import sys\ns = 'x' * (1 << 20)\nfor i in range(1024): sys.stdout.write(s)",
            "", "x");

    // The process count really is bounded although we are root: children that
    // stay alive are counted; the program reports how many forks succeeded.
    SandboxResult r;
    char count[512];
    snprintf(count, sizeof count,
             "# %s\nimport os, time\nn = 0\nfor i in range(200):\n    try:\n"
             "        if os.fork() == 0:\n            time.sleep(1000)\n        n += 1\n"
             "    except OSError: break\nprint(n)",
             mark);
    CHECK(sandbox_run(&l, count, "", &r) == 0, "%s", err_msg());
    long forks = strtol(r.out, NULL, 10);
    CHECK(sandbox_ok(&r) && forks >= 1 && forks < l.max_procs, "forks %ld with max_procs %d (status %d, iso %u)",
          forks, l.max_procs, r.status, r.isolation);
    unsigned all_ns = SANDBOX_ISO_PIDNS | SANDBOX_ISO_MNTNS | SANDBOX_ISO_NETNS | SANDBOX_ISO_IPCNS | SANDBOX_ISO_SECCOMP;
    CHECK((r.isolation & all_ns) == all_ns, "iso %u", r.isolation);
    CHECK(r.isolation & (geteuid() == 0 ? SANDBOX_ISO_UID : SANDBOX_ISO_USERNS), "iso %u", r.isolation);
    sandbox_result_free(&r);
    CHECK(leftovers() == 0, "sleeping children survived their parent");

    // Writing outside the work directory, to a directory we can see.
    const char *tmp = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    char target[512], input[600];
    snprintf(target, sizeof target, "%s/sandbox_escape_%d", tmp, (int)getpid());
    chmod(tmp, 0777);
    snprintf(input, sizeof input, "%s\n", target);
    hostile("write outside (absolute)", &l, "p = input()\nopen(p, 'w').write('x')\nprint('written')", input,
            "written");
    struct stat st;
    CHECK(stat(target, &st) != 0, "%s was created", target);
    hostile("write outside (/tmp)", &l, "open('/tmp/aha_sandbox_escape', 'w').write('x')\nprint('written')", "",
            "written");
    CHECK(stat("/tmp/aha_sandbox_escape", &st) != 0, "/tmp/aha_sandbox_escape was created");
    hostile("write outside (..)", &l, "open('../aha_sandbox_escape', 'w').write('x')\nprint('written')", "",
            "written");

    // A connection to a server this test is listening on.
    int srv = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK(srv >= 0 && bind(srv, (struct sockaddr *)&a, sizeof a) == 0 && listen(srv, 8) == 0 &&
              getsockname(srv, (struct sockaddr *)&a, &alen) == 0, "listen: %s", strerror(errno));
    char port[32];
    snprintf(port, sizeof port, "%d\n", ntohs(a.sin_port));
    const char *connect = "import socket\ns = socket.create_connection(('127.0.0.1', int(input())), timeout=1)\n"
                          "s.sendall(b'hi')\nprint('connected')";
    SandboxLimits netns = l, seccomp = l, open_net = l;
    seccomp.net = SANDBOX_NET_SECCOMP;
    open_net.net = SANDBOX_NET_ALLOW;
    hostile("network (namespace)", &netns, connect, port, "connected");
    hostile("network (seccomp)", &seccomp, connect, port, "connected");
    int c = accept(srv, NULL, NULL);
    CHECK(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "a sandboxed program reached the server");
    if (c >= 0) close(c);
    // Control: with the network left open the same program connects.
    double dt;
    CHECK(score(&open_net, connect, port, "connected", &dt) == 1.0, "control connection failed");
    c = accept(srv, NULL, NULL);
    CHECK(c >= 0, "control connection never arrived");
    if (c >= 0) close(c);
    close(srv);
    SandboxResult sr;
    CHECK(sandbox_run(&seccomp, "import socket; socket.socket(socket.AF_UNIX).close(); print(1)", "", &sr) == 0 &&
              sandbox_ok(&sr) && (sr.isolation & SANDBOX_ISO_SECCOMP), "seccomp mode: unix sockets still work");
    sandbox_result_free(&sr);
}

// A process of our user that programs try to reach: it must stay alive, not
// stopped and not traced.
static pid_t victim_start(void) {
    victim = fork();
    if (victim == 0) {
        for (;;) pause();
    }
    return victim;
}

// 1 when /proc/PID/status says running or sleeping and untraced.
static int untouched(pid_t pid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *state = strstr(buf, "State:\t"), *tracer = strstr(buf, "TracerPid:\t");
    return state && tracer && (state[7] == 'S' || state[7] == 'R') && strncmp(tracer + 11, "0\n", 2) == 0;
}

// A listening unix socket at addr (a path, or "@name" for the abstract namespace);
// the fd, non-blocking.
static int unix_listener(const char *addr) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", addr);
    if (addr[0] == '@') a.sun_path[0] = 0;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(addr) + (addr[0] != '@'));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) != 0 || listen(fd, 8) != 0) return -1;
    if (addr[0] != '@') chmod(addr, 0777);
    return fd;
}

static int nothing_arrived(int fd) {
    int c = accept(fd, NULL, NULL);
    if (c >= 0) close(c);
    return c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// The first NUL-separated entry of our own environment as the kernel shows it.
static void first_environ_entry(char *out, size_t cap) {
    FILE *f = fopen("/proc/self/environ", "rb");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    if (f) fclose(f);
    out[n] = 0;
}

// What a program running as our user tries: each case's output would match
// only if the escape worked; afterwards the trainer (this test) and another
// process of the user are untouched and nothing is left behind.
static void test_escapes(void) {
    SandboxLimits l = test_limits();
    pid_t v = victim_start();
    char pids[64], expect[4096];
    snprintf(pids, sizeof pids, "%d %d\n", (int)getpid(), (int)v);
    char me[32];
    snprintf(me, sizeof me, "%d", (int)getpid());

    hostile("kill the parent", &l, "import os\np = os.getppid()\nos.kill(p, 9)\nprint(p)", "", me);
    hostile("kill the trainer by pid", &l, "import os\nfor p in input().split(): os.kill(int(p), 9)\nprint('killed')",
            pids, "killed");
    hostile("kill -1", &l, "import os, time\nos.kill(-1, 9)\ntime.sleep(0.2)\nprint('killed')", "", "killed");
    const char *ptrace_parent = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                                "print('attached' if libc.ptrace(16, os.getppid(), 0, 0) == 0 else 'refused')";
    hostile("ptrace the parent", &l, ptrace_parent, "", "attached");
    const char *ptrace_user = "import ctypes, os, signal\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                              "v = int(input().split()[1])\nn = libc.ptrace(16, v, 0, 0) == 0\n"
                              "try:\n    os.kill(v, signal.SIGSTOP); n += 1\nexcept OSError: pass\n"
                              "print('reached' if n else 'no')";
    hostile("trace a process of the user", &l, ptrace_user, pids, "reached");
    hostile("double-forked daemon", &l,
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(0.5); print('daemon alive', flush=True); time.sleep(1000)\n    os._exit(0)",
            "", "daemon alive");
    first_environ_entry(expect, sizeof expect);
    hostile("read /proc/PPID/environ", &l,
            "import os\nprint(open('/proc/%d/environ' % os.getppid(), 'rb').read().split(b'\\0')[0].decode())", "",
            expect);
    hostile("read the trainer's environ", &l,
            "print(open('/proc/%s/environ' % input().split()[0], 'rb').read().split(b'\\0')[0].decode())", pids,
            expect);

    // Host unix sockets, by path and abstract: the listeners receive nothing.
    const char *tmp = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    char sock_path[256], abstract[64], addrs[400];
    snprintf(sock_path, sizeof sock_path, "%s/aha_sbx_%d.sock", tmp, (int)getpid());
    snprintf(abstract, sizeof abstract, "@aha_sbx_%d", (int)getpid());
    snprintf(addrs, sizeof addrs, "%s|%s\n", sock_path, abstract);
    int ls = unix_listener(sock_path), la = unix_listener(abstract);
    CHECK(ls >= 0 && la >= 0, "unix listeners: %s", strerror(errno));
    hostile("connect to host unix sockets", &l,
            "import socket\nn = 0\nfor a in input().split('|'):\n    s = socket.socket(socket.AF_UNIX)\n"
            "    try:\n        s.connect(a.replace('@', '\\0', 1)); s.sendall(b'x'); n += 1\n"
            "    except OSError: pass\nprint('connected', n)",
            addrs, "connected 1");
    CHECK(nothing_arrived(ls) && nothing_arrived(la), "a sandboxed program reached a host unix socket");
    close(ls), close(la);
    unlink(sock_path);

    // The data set on disk (a reward hack: print the expected output), the
    // project's files (this binary), the host's /etc.
    char data[256], exe[PATH_MAX], in[PATH_MAX + 2];
    snprintf(data, sizeof data, "%s/aha_sbx_data_%d.jsonl", tmp, (int)getpid());
    FILE *f = fopen(data, "w");
    CHECK(f != NULL, "%s: %s", data, strerror(errno));
    if (f) fputs("{\"tests\": [{\"input\": \"\", \"output\": \"secret 42\"}]}\n", f), fclose(f);
    chmod(data, 0644);
    snprintf(in, sizeof in, "%s\n", data);
    const char *cat = "import json\nprint(json.loads(open(input()).readline())['tests'][0]['output'])";
    hostile("read the data set", &l, cat, in, "secret 42");
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    struct stat st;
    snprintf(in, sizeof in, "%s\n", exe);
    snprintf(expect, sizeof expect, "%lld", stat(exe, &st) == 0 ? (long long)st.st_size : -1LL);
    hostile("read the project's files", &l, "print(len(open(input(), 'rb').read()))", in, expect);
    hostile("read /etc/passwd", &l, "print(open('/etc/passwd').readline().strip())", "", "root:x:0:0:root:/root:/bin/bash");
    // /etc/shadow: what the program would print if it could read the host's.
    FILE *sh = fopen("/etc/shadow", "r");
    char shadow[512] = "no shadow";
    if (sh) {
        if (fgets(shadow, sizeof shadow, sh)) shadow[strcspn(shadow, "\n")] = 0;
        fclose(sh);
    }
    hostile("read /etc/shadow", &l, "print(open('/etc/shadow').readline().strip())", "", shadow);
    // Raising its limits back: the hard limits hold (and cannot be raised
    // without privileges), so the allocation and the fork loop still fail.
    hostile("raise rlimits", &l,
            "import os, resource\nfor r in (resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_CPU, "
            "resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE):\n"
            "    try: resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
            "    except (ValueError, OSError): pass\n"
            "x = bytearray(10 * 1024**3)\nprint('raised')", "", "raised");
    unlink(data);

    CHECK(untouched(v), "the other process of the user was stopped, traced or killed");
    CHECK(untouched(getpid()), "the trainer was stopped or traced");
    kill(v, SIGKILL);
    waitpid(v, NULL, 0);
    victim = 0;
}

// The trainer killed while a program runs: the program and its daemon go too.
static void test_trainer_killed(void) {
    char program[512];
    snprintf(program, sizeof program,
             "# %s\nimport os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0: time.sleep(1000)\n"
             "    os._exit(0)\ntime.sleep(1000)", mark);
    pid_t trainer = fork();
    if (trainer == 0) {
        SandboxLimits l = test_limits();
        l.wall_seconds = 30;
        SandboxResult r;
        sandbox_run(&l, program, "", &r);
        _exit(0);
    }
    usleep(500 * 1000);
    kill(trainer, SIGKILL);
    waitpid(trainer, NULL, 0);
    int left = -1;
    for (int k = 0; k < 100 && left != 0; k++) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {}   // orphans land on us (subreaper)
        left = leftovers();
        if (left) usleep(20 * 1000);
    }
    CHECK(left == 0, "%d processes outlived the killed trainer", left);
}

// Run in a process where namespaces cannot be made (main with --no-namespaces,
// under a seccomp filter that refuses them): without unsafe the sandbox
// refuses and says why and what to do; with it, the program runs, with the
// seccomp socket filter but no namespace, and a warning.
// A CPU limit well inside the wall-clock one: the loop is killed by it, after
// using it all, and that is a timeout whatever the wall clock says.
static void check_cpu_limit_kill(const SandboxLimits *base) {
    SandboxLimits l = *base;
    l.cpu_seconds = 1;
    l.wall_seconds = 3 * WALL;
    SandboxResult r;
    CHECK(sandbox_run(&l, "while True: pass", "", &r) == 0, "%s", err_msg());
    CHECK(r.status == SANDBOX_TIMEOUT && r.term_signal == SIGKILL && r.cpu_seconds >= 0.99 &&
              r.wall_seconds < l.wall_seconds, "CPU limit: status %d, signal %d, cpu %.3f s, wall %.3f s",
          r.status, r.term_signal, r.cpu_seconds, r.wall_seconds);
    sandbox_result_free(&r);
}

static void test_without_namespaces(void) {
    SandboxLimits l = test_limits();
    SandboxResult r = {.status = SANDBOX_SKIPPED};
    CHECK(sandbox_run(&l, "print(1)", "", &r) == -1 && r.status == SANDBOX_SKIPPED, "ran without namespaces");
    CHECK(strstr(err_msg(), "cannot isolate") && strstr(err_msg(), "unsafe_sandbox=1"), "%s", err_msg());
    l.unsafe = 1;
    CHECK(sandbox_run(&l, "print(1)", "", &r) == 0 && sandbox_ok(&r) && strcmp(r.out, "1\n") == 0,
          "unsafe mode: status %d [%s] %s", r.status, r.out ? r.out : "", err_msg());
    CHECK(!(r.isolation & (SANDBOX_ISO_PIDNS | SANDBOX_ISO_MNTNS | SANDBOX_ISO_USERNS)) &&
              (r.isolation & SANDBOX_ISO_SECCOMP), "unsafe mode: iso %u", r.isolation);
    sandbox_result_free(&r);
    check_cpu_limit_kill(&l);
    // Not its namespace's init here, so it can kill itself: a SIGKILL after
    // longer than the CPU limit in wall time, with no CPU used, is a crash.
    SandboxLimits slow = l;
    slow.cpu_seconds = 1;
    slow.wall_seconds = 3 * WALL;
    CHECK(sandbox_run(&slow, "import os, time\ntime.sleep(1.3)\nos.kill(os.getpid(), 9)", "", &r) == 0, "%s",
          err_msg());
    CHECK(r.status == SANDBOX_EXITED && r.term_signal == SIGKILL && r.wall_seconds >= 1.3 && r.cpu_seconds < 0.5,
          "self-kill: status %d, signal %d, cpu %.3f s, wall %.3f s", r.status, r.term_signal, r.cpu_seconds,
          r.wall_seconds);
    sandbox_result_free(&r);
}

// Refuse clone/unshare with namespace flags (EPERM) and clone3 (ENOSYS).
static int refuse_namespaces(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = (unsigned short)(sizeof f / sizeof f[0]), .filter = f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

// This binary again, with args, its stderr into err_path (NULL: ours), as uid
// (< 0: ours). Returns the wait status, or -1.
static int run_self(const char *exe, const char *arg, const char *err_path, int no_ns, uid_t uid, gid_t gid) {
    pid_t p = fork();
    if (p == 0) {
        if (err_path) {
            int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd < 0 || dup2(fd, 2) < 0) _exit(125);
        }
        if (no_ns && refuse_namespaces() != 0) _exit(125);
        if (uid != (uid_t)-1 && (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)) _exit(77);
        execl(exe, exe, arg, (char *)NULL);
        _exit(126);
    }
    int st = 0;
    if (p < 0 || waitpid(p, &st, 0) != p) return -1;
    return st;
}

static void check_without_namespaces(void) {
    char exe[PATH_MAX], err_path[300];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *tmp = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    snprintf(err_path, sizeof err_path, "%s/aha_sbx_nons_%d.err", tmp, (int)getpid());
    int st = run_self(exe, "--no-namespaces", err_path, 1, (uid_t)-1, 0);
    char *err = file_read_all(err_path, NULL);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "without namespaces: status %#x\n%s", st, err ? err : "");
    CHECK(err && strstr(err, "warning: unsafe_sandbox: programs run without namespaces"), "no warning:\n%s",
          err ? err : "");
    free(err);
    unlink(err_path);
}

// Run as root: everything again as an unprivileged user, from a copy of this
// binary in a directory of its own (the build tree may be closed to it).
static void check_as_user(void) {
    const char *names[] = {getenv("AHA_TEST_USER"), "aha-test", "nobody"};
    const struct passwd *pw = NULL;
    for (int k = 0; k < 3 && !pw; k++)
        if (names[k]) pw = getpwnam(names[k]);
    if (!pw) {
        printf("  as a normal user: skipped (no user aha-test or nobody)\n");
        return;
    }
    char dir[] = "/tmp/aha-sbx-user-XXXXXX", exe[PATH_MAX + 32];
    CHECK(mkdtemp(dir) != NULL && chown(dir, pw->pw_uid, pw->pw_gid) == 0, "%s: %s", dir, strerror(errno));
    snprintf(exe, sizeof exe, "%s/test_sandbox", dir);
    CHECK(file_copy("/proc/self/exe", exe) == 0 && chmod(exe, 0755) == 0, "copy: %s", err_msg());
    setenv("TEST_TMP", dir, 1);
    fflush(stdout);
    printf("  as user %s (uid %u):\n", pw->pw_name, (unsigned)pw->pw_uid);
    fflush(stdout);
    int st = run_self(exe, NULL, NULL, 0, pw->pw_uid, pw->pw_gid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) printf("  as a normal user: skipped (cannot switch user)\n");
    else CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "as user %s: status %#x", pw->pw_name, st);
    remove_tree(dir);
}

static void test_caller_unaffected(const struct rlimit *before) {
    struct rlimit now;
    getrlimit(RLIMIT_AS, &now);
    CHECK(now.rlim_cur == before->rlim_cur, "RLIMIT_AS of the test changed");
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) && strstr(cwd, "aha-sbx") == NULL, "cwd moved to %s", cwd);
    pid_t p = fork();
    if (p == 0) _exit(7);
    int st = 0;
    CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 7, "the test can still fork");
    char *x = malloc(64 << 20);
    CHECK(x != NULL, "the test can still allocate");
    if (x) memset(x, 1, 64 << 20);
    free(x);
    SandboxResult r;
    SandboxLimits l = test_limits();
    l.python = "/nonexistent/python3";
    CHECK(sandbox_run(&l, "print(1)", "", &r) == 0 && r.status == SANDBOX_SETUP_ERROR &&
              strstr(err_msg(), "exec"), "missing interpreter: status %d, %s", r.status, err_msg());
    sandbox_result_free(&r);
}

int main(int argc, char **argv) {
    snprintf(mark, sizeof mark, "AHA_SBX_MARK_%d", (int)getpid());
    if (argc > 1 && strcmp(argv[1], "--no-namespaces") == 0) {
        test_without_namespaces();
        return TEST_END();
    }
    setenv("AHA_SBX_SECRET", "trainer secret", 1);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct rlimit before;
    getrlimit(RLIMIT_AS, &before);
    int dirs_before = sandbox_dirs();
    test_output_matching();
    test_extract();
    test_passing_and_partial();
    test_call_based_and_reports();
    SandboxLimits l = test_limits();
    check_cpu_limit_kill(&l);
    test_code_task_solutions();
    test_parallel_bounded();
    test_hostile();
    test_escapes();
    // Every run removed its work directory (a trainer killed mid-run, next, cannot).
    CHECK(sandbox_dirs() == dirs_before, "%d sandbox directories left in /tmp", sandbox_dirs() - dirs_before);
    test_trainer_killed();
    check_without_namespaces();
    test_caller_unaffected(&before);
    CHECK(leftovers() == 0, "processes left at the end");
    if (geteuid() == 0) check_as_user();
    return TEST_END();
}
