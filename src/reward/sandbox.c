// Sandboxed runs of Python programs. Each run is one clone(): the child gets a
// new process group, new PID/mount/network/IPC/UTS namespaces (inside a new user
// namespace when we are not root), a root of its own (a tmpfs holding read-only
// binds of the system directories and the interpreter, a /dev of null, zero,
// random and urandom only, a /proc of its PID namespace and a small private
// tmpfs as its working directory), an uid of its own without capabilities,
// rlimits and a clean environment, then execs python3 -I -c PROGRAM. A single
// poll loop in the caller's thread feeds stdout pipes, enforces deadlines and
// reaps; it never leaves a process behind (killing a PID namespace's init kills
// every process in it). Where the namespaces cannot be made it refuses, unless
// the caller asked for the weaker unsafe mode.
#include "reward/sandbox.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/sys.h"
#include "reward/sandbox_child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void sandbox_limits_default(SandboxLimits *l) {
    memset(l, 0, sizeof *l);
    l->python = "/usr/bin/python3";
    l->wall_seconds = 10;
    l->cpu_seconds = 5;
    l->mem_bytes = 1L << 30;
    l->max_output = 4L << 20;
    l->max_file_bytes = 16L << 20;
    l->max_procs = 32;
    l->max_files = 64;
    l->max_parallel = 0;
    l->net = SANDBOX_NET_AUTO;
}

int sandbox_ok(const SandboxResult *r) {
    return r->status == SANDBOX_EXITED && r->term_signal == 0 && r->exit_code == 0;
}

void sandbox_result_free(SandboxResult *r) {
    free(r->out);
    r->out = NULL;
    r->out_len = 0;
}

// ---------------------------------------------------------------- the parent

typedef struct {
    int job;              // -1: free
    pid_t pid;
    int pidfd, out_fd, report_fd;
    char dir[64];
    double t0, deadline;
    int exited, wstatus, timed_out, overflow, killed;
    char *buf;            // (cap) stdout so far
    size_t len, cap;
} Slot;

// Best effort: a sandbox directory that cannot be removed is left behind.
static void rm_tree(const char *dir) { (void)remove_tree(dir); }

static void slot_close(Slot *s) {
    if (s->pidfd >= 0) close(s->pidfd);
    if (s->out_fd >= 0) close(s->out_fd);
    if (s->report_fd >= 0) close(s->report_fd);
    s->pidfd = s->out_fd = s->report_fd = -1;
    if (s->dir[0]) rm_tree(s->dir);
    s->dir[0] = 0;
    s->job = -1;
}

static void slot_kill(Slot *s) {
    if (s->killed) return;
    kill(-s->pid, SIGKILL);   // the group (all of it, when there is no PID namespace)
    kill(s->pid, SIGKILL);    // the namespace init: the kernel kills the rest
    s->killed = 1;
}

static void result_setup_error(SandboxResult *r, const char *what, int err) {
    memset(r, 0, sizeof *r);
    r->status = SANDBOX_SETUP_ERROR;
    r->out = strdup("");
    err_set("sandbox: %s: %s", what, strerror(err));
}

// How every run of one sandbox_run_many call is made.
typedef struct {
    const SandboxLimits *lim;
    RootLayout root;
    unsigned ns;          // SANDBOX_ISO_* namespaces to create
    int probe;            // trial run: the child sets up and exits instead of exec
} RunPlan;

// Start job j in slot s. On failure fills r and returns -1 (slot stays free).
static int slot_start(Slot *s, int slot_index, const RunPlan *rp, const SandboxJob *job, int j,
                      SandboxResult *r) {
    const SandboxLimits *l = rp->lim;
    memset(s, 0, sizeof *s);
    s->job = -1;
    s->pidfd = s->out_fd = s->report_fd = -1;
    if (strlen(job->program) > SANDBOX_ARG_MAX) {
        result_setup_error(r, "program longer than 128 KiB", E2BIG);
        return -1;
    }
    ChildPlan p;
    memset(&p, 0, sizeof p);
    p.lim = l;
    p.root = &rp->root;
    p.ns = rp->ns;
    p.probe = rp->probe;
    p.drop_uid = geteuid() == 0;
    p.uid = SANDBOX_UID_BASE + (((unsigned)getpid() * 131u + (unsigned)slot_index) & 0xFFFFFu);
    if (p.ns & SANDBOX_ISO_USERNS) {
        p.uid = SANDBOX_USERNS_UID;
        snprintf(p.uid_map, sizeof p.uid_map, "%u %u 1", p.uid, (unsigned)geteuid());
        snprintf(p.gid_map, sizeof p.gid_map, "%u %u 1", p.uid, (unsigned)getegid());
    }
    strcpy(s->dir, "/tmp/aha-sbx-XXXXXX");
    if (!mkdtemp(s->dir)) {
        int e = errno;
        s->dir[0] = 0;
        result_setup_error(r, "mkdtemp", e);
        return -1;
    }
    if (p.drop_uid && chown(s->dir, p.uid, p.uid) != 0) {
        int e = errno;
        slot_close(s);
        result_setup_error(r, "chown work dir", e);
        return -1;
    }
    memcpy(p.dir, s->dir, sizeof p.dir);
    snprintf(p.env_home, sizeof p.env_home, "HOME=%s", s->dir);
    snprintf(p.env_tmp, sizeof p.env_tmp, "TMPDIR=%s", s->dir);
    snprintf(p.tmpfs_opts, sizeof p.tmpfs_opts, "size=%ld,nr_inodes=4096,mode=0700,uid=%u,gid=%u",
             l->max_file_bytes > 0 ? l->max_file_bytes : 1L << 20, p.uid, p.uid);
    p.argv[0] = (char *)(l->python ? l->python : "/usr/bin/python3");
    p.argv[1] = "-I";
    p.argv[2] = "-c";
    p.argv[3] = (char *)job->program;
    p.argv[4] = NULL;
    p.envp[0] = "PATH=/usr/local/bin:/usr/bin:/bin";
    p.envp[1] = "LANG=C.UTF-8";
    p.envp[2] = p.env_home;
    p.envp[3] = p.env_tmp;
    p.envp[4] = NULL;

    int in_fd = memfd_create("aha-sbx-stdin", MFD_CLOEXEC);
    int out[2] = {-1, -1}, rep[2] = {-1, -1};
    int ok = in_fd >= 0 && pipe2(out, O_CLOEXEC) == 0 && pipe2(rep, O_CLOEXEC) == 0;
    for (size_t off = 0; ok && off < job->input_len;) {
        ssize_t w = write(in_fd, job->input + off, job->input_len - off);
        if (w <= 0) ok = 0; else off += (size_t)w;
    }
    if (ok && lseek(in_fd, 0, SEEK_SET) != 0) ok = 0;
    if (!ok) {
        int e = errno;
        int fds[] = {in_fd, out[0], out[1], rep[0], rep[1]};
        for (int k = 0; k < 5; k++) if (fds[k] >= 0) close(fds[k]);
        slot_close(s);
        result_setup_error(r, "stdin/stdout pipes", e);
        return -1;
    }
    p.in_fd = in_fd;
    p.out_fd = out[1];
    p.report_fd = rep[1];

    s->t0 = time_now();
    pid_t pid = clone_sandbox(p.ns);
    if (pid == 0) child_main(&p);
    int e = errno;
    close(in_fd);
    close(out[1]);
    close(rep[1]);
    s->out_fd = out[0];
    s->report_fd = rep[0];
    if (pid < 0) {
        slot_close(s);
        result_setup_error(r, "clone", e);
        return -1;
    }
    s->pid = pid;
    s->job = j;
    s->deadline = s->t0 + (l->wall_seconds > 0 ? l->wall_seconds : 1e9);
    s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    fcntl(s->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(s->report_fd, F_SETFL, O_NONBLOCK);
    return 0;
}

// Read what is in the stdout pipe into buf (at most max_output + 1 bytes kept;
// one more than the cap means overflow, and the program is killed).
// Returns 1 at end of file or overflow, 0 when the pipe is merely empty.
static int slot_read(Slot *s, const SandboxLimits *l) {
    size_t limit = (size_t)(l->max_output > 0 ? l->max_output : 0);
    for (;;) {
        if (s->len + 1 >= s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 4096;
            if (cap > limit + 2) cap = limit + 2;
            char *nb = cap > s->cap ? realloc(s->buf, cap) : NULL;
            if (!nb) {   // cannot happen below the cap unless malloc fails
                s->overflow = 1;
                slot_kill(s);
                return 1;
            }
            s->buf = nb;
            s->cap = cap;
        }
        ssize_t n = read(s->out_fd, s->buf + s->len, s->cap - 1 - s->len);
        if (n == 0) return 1;
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN ? 0 : 1;
        }
        s->len += (size_t)n;
        if (s->len > limit) {
            s->overflow = 1;
            s->len = limit;
            slot_kill(s);
            return 1;
        }
    }
}

static int slot_has_exited(Slot *s) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
    return si.si_pid == s->pid;
}

// The program has exited (not yet reaped): kill what is left of its group,
// reap it, collect the rest of stdout and the child's report, fill r.
static void slot_finish(Slot *s, const SandboxLimits *l, SandboxResult *r) {
    kill(-s->pid, SIGKILL);
    int st = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(s->pid, &st, 0, &ru) < 0 && errno == EINTR) {}
    if (s->out_fd >= 0 && !s->overflow) slot_read(s, l);
    ChildReport rep = {0, -1, 0}, tmp;
    while (read(s->report_fd, &tmp, sizeof tmp) == (ssize_t)sizeof tmp) rep = tmp;

    memset(r, 0, sizeof *r);
    r->wall_seconds = time_now() - s->t0;
    r->cpu_seconds = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
                     (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    r->isolation = rep.iso;
    if (rep.stage > 0) {
        r->status = SANDBOX_SETUP_ERROR;
        err_set("sandbox: %s: %s", sandbox_stage_name[rep.stage], strerror(rep.err));
    } else if (s->overflow) {
        r->status = SANDBOX_OUTPUT_LIMIT;
    } else if (s->timed_out) {
        r->status = SANDBOX_TIMEOUT;
    } else {
        r->status = SANDBOX_EXITED;
    }
    if (WIFEXITED(st)) r->exit_code = WEXITSTATUS(st);
    if (WIFSIGNALED(st)) {
        r->term_signal = WTERMSIG(st);
        r->exit_code = -1;
    }
    // The CPU limit kills with SIGKILL (SIGXCPU where the program is not its
    // namespace's init) once the program has used it all. Its own CPU time
    // says so; the wall clock cannot (another clock, which NTP may slew).
    if (r->status == SANDBOX_EXITED && (r->term_signal == SIGKILL || r->term_signal == SIGXCPU) &&
        r->cpu_seconds >= (double)sandbox_cpu_limit(l) - 0.01)
        r->status = SANDBOX_TIMEOUT;
    if (!s->buf) s->buf = malloc(1);
    if (s->buf) s->buf[s->len] = 0;
    r->out = s->buf ? s->buf : strdup("");
    r->out_len = s->buf ? s->len : 0;
    s->buf = NULL;
    slot_close(s);
}

// What an honest program needs of the host: the system directories (for the
// interpreter, its standard library and the shared libraries) and the dynamic
// linker's cache.
static const char *const SYSTEM_PATHS[] = {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
                                           "/etc/ld.so.cache"};

static void root_add(RootLayout *rl, const char *path) {
    struct stat st;
    int i = rl->n;
    if (i >= ROOT_MAX || strlen(path) >= sizeof rl->path[i] || lstat(path, &st) != 0) return;
    rl->link[i][0] = 0;
    if (S_ISLNK(st.st_mode)) {
        ssize_t k = readlink(path, rl->link[i], sizeof rl->link[i] - 1);
        if (k <= 0) return;
        rl->link[i][k] = 0;
    }
    strcpy(rl->path[i], path);
    rl->is_dir[i] = S_ISDIR(st.st_mode);
    rl->n++;
}

static int root_covers(const RootLayout *rl, const char *path) {
    for (int i = 0; i < rl->n; i++) {
        size_t n = strlen(rl->path[i]);
        if (strncmp(path, rl->path[i], n) == 0 && (path[n] == '/' || path[n] == 0)) return 1;
    }
    return 0;
}

// The system paths, and the interpreter's prefix (/opt/py for /opt/py/bin/python3)
// where they do not hold it, as named and as resolved. A missing interpreter
// adds nothing: exec reports it.
static void root_layout(RootLayout *rl, const char *python) {
    rl->n = 0;
    for (size_t i = 0; i < sizeof SYSTEM_PATHS / sizeof SYSTEM_PATHS[0]; i++) root_add(rl, SYSTEM_PATHS[i]);
    char real[PATH_MAX];
    const char *names[2] = {python, realpath(python, real)};
    for (int k = 0; k < 2; k++) {
        if (!names[k] || names[k][0] != '/' || root_covers(rl, names[k])) continue;
        char prefix[256];
        snprintf(prefix, sizeof prefix, "%s", names[k]);
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(prefix, '/');
            if (slash && slash != prefix) *slash = 0;
        }
        root_add(rl, prefix);
    }
}

// One run that sets everything up and exits before exec. Returns 0 when it
// worked, else -1 with err_msg() naming the step that failed.
static int probe(const RunPlan *rp) {
    RunPlan trial = *rp;
    trial.probe = 1;
    SandboxJob job = {"", "", 0};
    SandboxResult r;
    Slot s;
    if (slot_start(&s, 0, &trial, &job, 0, &r) != 0) {
        sandbox_result_free(&r);
        return -1;
    }
    siginfo_t si;
    while (waitid(P_PID, (id_t)s.pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {}
    slot_finish(&s, rp->lim, &r);
    int ok = sandbox_ok(&r);
    if (!ok && r.status != SANDBOX_SETUP_ERROR)
        err_set("sandbox: trial run ended with status %d, exit %d, signal %d", r.status, r.exit_code, r.term_signal);
    sandbox_result_free(&r);
    return ok ? 0 : -1;
}

// The namespaces of every run (rp->ns). Whether the kernel lets us make them
// does not change while we run, so one trial run per process answers it. Where
// it does not, a run without them only happens in unsafe mode, which says so
// on stderr once; otherwise this refuses, naming why.
static int isolation(RunPlan *rp) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static int state, warned;   // state: 0 not tried, 1 namespaces work, -1 they do not (why)
    static char why[512];
    unsigned all = SANDBOX_ISO_PIDNS | SANDBOX_ISO_MNTNS | SANDBOX_ISO_NETNS | SANDBOX_ISO_IPCNS |
                   (geteuid() != 0 ? SANDBOX_ISO_USERNS : 0);
    int unsafe = rp->lim->unsafe;
    pthread_mutex_lock(&mu);
    if (state == 0) {
        rp->ns = all;
        state = probe(rp) == 0 ? 1 : -1;
        const char *msg = err_msg();
        if (strncmp(msg, "sandbox: ", 9) == 0) msg += 9;
        snprintf(why, sizeof why, "%s", state < 0 ? msg : "");
    }
    int st = state;
    if (st < 0 && unsafe && !warned) {
        warned = 1;
        fprintf(stderr, "aha: warning: unsafe_sandbox: programs run without namespaces (%s): only rlimits, a "
                "process group and a seccomp socket filter hold them; they can signal and trace the processes "
                "of the uid they run as, read every file and process environment it may read, and use unix "
                "sockets\n", why);
    }
    pthread_mutex_unlock(&mu);
    if (st > 0) {
        rp->ns = rp->lim->net == SANDBOX_NET_AUTO ? all : all & ~(unsigned)SANDBOX_ISO_NETNS;
        return 0;
    }
    if (unsafe) {
        rp->ns = 0;
        return 0;
    }
    return err_set("sandbox: cannot isolate programs (%s): this system does not let us create PID, mount, "
                   "network and user namespaces (for a normal user see user.max_user_namespaces, "
                   "kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns); allow "
                   "them, run as root, or set unsafe_sandbox=1 on the code reward to run programs with "
                   "rlimits and a seccomp filter only", why);
}

int sandbox_run_many(const SandboxLimits *l, const SandboxJob *jobs, int n,
                     const SandboxHooks *hooks, SandboxResult *results) {
    RunPlan *rp = calloc(1, sizeof *rp);   // a few KiB: not on the caller's stack
    if (!rp) return err_set("sandbox: out of memory");
    rp->lim = l;
    root_layout(&rp->root, l->python ? l->python : "/usr/bin/python3");
    if (isolation(rp) != 0) {
        free(rp);
        return -1;
    }
    int P = l->max_parallel > 0 ? l->max_parallel : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (P < 1) P = 1;
    if (P > n) P = n > 0 ? n : 1;
    Slot *slots = calloc((size_t)P, sizeof *slots);
    struct pollfd *pfd = calloc((size_t)(2 * P), sizeof *pfd);
    int *owner = calloc((size_t)(2 * P), sizeof *owner);
    if (!slots || !pfd || !owner) {
        free(slots), free(pfd), free(owner), free(rp);
        return err_set("sandbox: out of memory");
    }
    for (int k = 0; k < P; k++) slots[k].job = -1;
    int next = 0, active = 0;
    while (next < n || active > 0) {
        for (int k = 0; k < P && next < n; k++) {
            if (slots[k].job >= 0) continue;
            int j = next++;
            if (hooks && hooks->should_run && !hooks->should_run(hooks->ctx, j)) {
                memset(&results[j], 0, sizeof results[j]);
                results[j].status = SANDBOX_SKIPPED;
                results[j].out = strdup("");
                k--;   // the slot is still free
                continue;
            }
            if (slot_start(&slots[k], k, rp, &jobs[j], j, &results[j]) == 0) {
                active++;
            } else {
                if (hooks && hooks->on_done) hooks->on_done(hooks->ctx, j, &results[j]);
                k--;
            }
        }
        if (active == 0) continue;

        // Wait for output, an exit, or the nearest deadline.
        int np = 0, need_tick = 0;
        double now = time_now(), wait_s = 1e9;
        for (int k = 0; k < P; k++) {
            Slot *s = &slots[k];
            if (s->job < 0) continue;
            if (s->out_fd >= 0 && !s->overflow) pfd[np] = (struct pollfd){s->out_fd, POLLIN, 0}, owner[np++] = k;
            if (s->pidfd >= 0) pfd[np] = (struct pollfd){s->pidfd, POLLIN, 0}, owner[np++] = k;
            else need_tick = 1;
            if (!s->killed && s->deadline - now < wait_s) wait_s = s->deadline - now;
        }
        if (need_tick && wait_s > 0.005) wait_s = 0.005;
        int ms = wait_s <= 0 ? 0 : (int)(wait_s * 1000) + 1;
        if (poll(pfd, (nfds_t)np, ms) < 0 && errno != EINTR) {
            for (int k = 0; k < P; k++)
                if (slots[k].job >= 0) slots[k].timed_out = 1, slot_kill(&slots[k]);
        }
        for (int q = 0; q < np; q++) {
            Slot *s = &slots[owner[q]];
            if (pfd[q].fd == s->out_fd && (pfd[q].revents & (POLLIN | POLLHUP | POLLERR))) {
                if (slot_read(s, l)) {
                    // End of stdout (or overflow): stop watching it; the exit comes next.
                    if (!s->overflow) {
                        close(s->out_fd);
                        s->out_fd = -1;
                    }
                }
            }
        }
        now = time_now();
        for (int k = 0; k < P; k++) {
            Slot *s = &slots[k];
            if (s->job < 0) continue;
            if (!s->killed && now >= s->deadline) {
                s->timed_out = 1;
                slot_kill(s);
            }
            if (slot_has_exited(s)) {
                int j = s->job;
                slot_finish(s, l, &results[j]);
                active--;
                if (hooks && hooks->on_done) hooks->on_done(hooks->ctx, j, &results[j]);
            }
        }
    }
    free(slots);
    free(pfd);
    free(owner);
    free(rp);
    return 0;
}

int sandbox_run(const SandboxLimits *l, const char *program, const char *input,
                SandboxResult *result) {
    SandboxJob job = {program, input ? input : "", input ? strlen(input) : 0};
    SandboxLimits one = *l;
    one.max_parallel = 1;
    return sandbox_run_many(&one, &job, 1, NULL, result);
}

// Length of line [p, end) without its trailing whitespace.
static size_t trimmed_len(const char *p, const char *end) {
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\f' ||
                       end[-1] == '\v'))
        end--;
    return (size_t)(end - p);
}

// Length of s[0, n) without trailing whitespace lines.
static size_t without_trailing_blank(const char *s, size_t n) {
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\f' || s[n - 1] == '\v'))
        n--;
    return n;
}

int sandbox_output_matches(const char *got, size_t got_len, const char *want) {
    size_t gn = without_trailing_blank(got, got_len), wn = without_trailing_blank(want, strlen(want));
    const char *g = got, *ge = got + gn, *w = want, *we = want + wn;
    for (;;) {
        const char *gl = memchr(g, '\n', (size_t)(ge - g)), *wl = memchr(w, '\n', (size_t)(we - w));
        const char *gend = gl ? gl : ge, *wend = wl ? wl : we;
        size_t a = trimmed_len(g, gend), b = trimmed_len(w, wend);
        if (a != b || memcmp(g, w, a) != 0) return 0;
        if (!gl || !wl) return !gl && !wl;
        g = gl + 1;
        w = wl + 1;
    }
}
