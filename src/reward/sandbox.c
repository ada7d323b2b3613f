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

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define SANDBOX_ARG_MAX (128 * 1024 - 1)   // one argv string (MAX_ARG_STRLEN)
#define SANDBOX_UID_BASE 200000u           // uids handed to sandboxes: base + [0, 2^20)
#define SANDBOX_USERNS_UID 1000u           // the program's uid inside a user namespace of its own

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

// ---------------------------------------------------------------- the child

// What the child tells the parent through a close-on-exec pipe just before
// exec (stage 0) or when a setup step fails (stage > 0, with errno).
typedef struct {
    unsigned iso;
    int stage;
    int err;
} ChildReport;

enum { STAGE_OK = 0, STAGE_USERNS, STAGE_PGID, STAGE_MOUNT, STAGE_UID, STAGE_RLIMIT, STAGE_SECCOMP,
       STAGE_FDS, STAGE_CHDIR, STAGE_EXEC };
static const char *stage_name[] = {"ok", "user namespace uid/gid maps", "setpgid", "mount", "setuid",
                                   "setrlimit", "seccomp", "fds", "chdir", "exec"};

// What the program's root shows of the host, read-only: the system directories
// and the interpreter's prefix (binds), and the host's symlinks among them
// (merged /usr: /bin -> usr/bin). Found once per sandbox_run_many.
#define ROOT_MAX 12
typedef struct {
    int n;
    char path[ROOT_MAX][256];   // on the host and inside
    char link[ROOT_MAX][256];   // symlink target; "" for a bind
    int is_dir[ROOT_MAX];
} RootLayout;

// Everything the child needs, prepared by the parent: between clone and exec
// the child makes raw system calls only (the parent may be multi-threaded).
typedef struct {
    const SandboxLimits *lim;
    const RootLayout *root;
    char *argv[5];
    char *envp[8];
    char dir[64];         // work dir: the same path on the host (new root's mount point) and inside
    char env_home[80], env_tmp[80];
    char tmpfs_opts[96];
    char uid_map[48], gid_map[48];   // "inside outside 1" when we made a user namespace
    unsigned ns;          // SANDBOX_ISO_* namespaces the clone created
    int drop_uid;         // we are root: switch to uid
    unsigned uid;         // the program's uid as its namespace sees it
    int probe;            // set up, report, exit instead of exec
    int in_fd, out_fd, report_fd;
} ChildPlan;

// Deny socket() for every family but AF_UNIX, and io_uring (which can open
// sockets without the socket system call). Other syscalls pass.
static int install_socket_filter(void) {
#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifdef SANDBOX_AUDIT_ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#if defined(__x86_64__)
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 6, 0),   // x32 ABI: deny
#else
        BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0),
#endif
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 5, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
    };
    struct sock_fprog prog = {.len = (unsigned short)(sizeof f / sizeof f[0]), .filter = f};
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
#else
    errno = ENOSYS;
    return -1;
#endif
}

static void child_report(int fd, unsigned iso, int stage, int err) {
    ChildReport r = {iso, stage, err};
    ssize_t w = write(fd, &r, sizeof r);
    (void)w;
}

static __attribute__((noreturn)) void child_fail(const ChildPlan *p, unsigned iso, int stage) {
    child_report(p->report_fd, iso, stage, errno);
    _exit(126);
}

static void set_limit(const ChildPlan *p, unsigned iso, int res, rlim_t soft, rlim_t hard) {
    struct rlimit rl = {soft, hard};
    if (setrlimit(res, &rl) != 0) child_fail(p, iso, STAGE_RLIMIT);
}

static int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

// A new user namespace maps the program's uid and gid to ours only, and may
// not drop supplementary groups (which could lift a deny-by-group permission).
static int child_user_ns(const ChildPlan *p) {
    if (write_text("/proc/self/setgroups", "deny") != 0 || write_text("/proc/self/uid_map", p->uid_map) != 0 ||
        write_text("/proc/self/gid_map", p->gid_map) != 0)
        return -1;
    return 0;
}

// The devices honest programs open (os.devnull, os.urandom's fallback,
// random.SystemRandom, dd-style reads of zeros).
static const char *const DEVICES[] = {"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"};
static const char *const DEV_LINKS[][2] = {
    {"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"},
    {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
};
#define N_DEVICES (sizeof DEVICES / sizeof DEVICES[0])

// A detached copy of the host's mount tree at path (recursive: a user
// namespace may not copy a tree without the mounts locked beneath it), with
// attributes a applied; the fd, or -1.
static int clone_tree(const char *path, int recursive, const struct mount_attr *a) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0u);
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, flags);
    if (fd < 0) return -1;
    unsigned at = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0u);
    if (syscall(SYS_mount_setattr, fd, "", at, a, sizeof *a) != 0) return -1;
    return fd;
}

static int attach_tree(int fd, const char *where) {
    int rc = (int)syscall(SYS_move_mount, fd, "", AT_FDCWD, where, MOVE_MOUNT_F_EMPTY_PATH);
    close(fd);
    return rc;
}

// What make_path leaves at path once its parent directories exist.
enum { PATH_PARENTS, PATH_DIR, PATH_FILE };

// mkdir -p of path's parents, then path itself as a directory or an empty file.
static int make_path(const char *path, int kind) {
    char buf[256];
    size_t n = strlen(path);
    if (n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *q = buf + 1; (q = strchr(q, '/')) != NULL; q++) {
        *q = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *q = '/';
    }
    if (kind == PATH_DIR) return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
    if (kind == PATH_PARENTS) return 0;
    int fd = open(buf, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

// /dev becomes a private read-only tmpfs holding DEVICES only: binds of the
// host nodes dev[] (the only mounts without nodev; writes to a device node do
// not need a writable mount) and the /dev/fd links.
static int child_devices(const int *dev) {
    if (mkdir("/dev", 0755) != 0 ||
        mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,nr_inodes=16,mode=0755") != 0)
        return -1;
    for (size_t i = 0; i < N_DEVICES; i++)
        if (make_path(DEVICES[i], PATH_FILE) != 0 || attach_tree(dev[i], DEVICES[i]) != 0) return -1;
    for (size_t i = 0; i < sizeof DEV_LINKS / sizeof DEV_LINKS[0]; i++)
        if (symlink(DEV_LINKS[i][0], DEV_LINKS[i][1]) != 0) return -1;
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, "/dev", 0, &ro, sizeof ro);
}

// The root's entries, from trees cloned before the switch (fd[i] for binds).
static int child_root_entries(const RootLayout *rl, const int *fd) {
    for (int i = 0; i < rl->n; i++) {
        if (rl->link[i][0]) {
            if (make_path(rl->path[i], PATH_PARENTS) != 0 || symlink(rl->link[i], rl->path[i]) != 0) return -1;
        } else if (make_path(rl->path[i], rl->is_dir[i] ? PATH_DIR : PATH_FILE) != 0 || attach_tree(fd[i], rl->path[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

// Mount namespace: nothing of ours propagates out; the root becomes a fresh
// read-only tmpfs holding the RootLayout binds (read-only, nosuid, nodev), the
// devices of child_devices, a /proc showing only this PID namespace and the
// work dir, a small private tmpfs owned by the program's uid. The host's root
// is detached: no project, data set, home or other process is reachable.
static int child_mounts(const ChildPlan *p) {
    const RootLayout *rl = p->root;
    int fd[ROOT_MAX], dev[N_DEVICES];
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    struct mount_attr devattr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
                                 .attr_clr = MOUNT_ATTR_NODEV};
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return -1;
    for (int i = 0; i < rl->n; i++)
        if (!rl->link[i][0] && (fd[i] = clone_tree(rl->path[i], 1, &ro)) < 0) return -1;
    for (size_t i = 0; i < N_DEVICES; i++)
        if ((dev[i] = clone_tree(DEVICES[i], 0, &devattr)) < 0) return -1;
    if (mount("tmpfs", p->dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,nr_inodes=256,mode=0755") != 0 ||
        chdir(p->dir) != 0 || mkdir(".old", 0700) != 0 || syscall(SYS_pivot_root, ".", ".old") != 0 ||
        chdir("/") != 0)
        return -1;
    if (child_root_entries(rl, fd) != 0 || child_devices(dev) != 0) return -1;
    // A new proc may only be mounted while the host's is still in view.
    if (mkdir("/proc", 0555) != 0 || mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        return -1;
    if (umount2("/.old", MNT_DETACH) != 0 || rmdir("/.old") != 0) return -1;
    if (make_path(p->dir, PATH_DIR) != 0 || mount("tmpfs", p->dir, "tmpfs", MS_NOSUID | MS_NODEV, p->tmpfs_opts) != 0)
        return -1;
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, &ro, sizeof ro);
}

static __attribute__((noreturn)) void child_main(const ChildPlan *p) {
    const SandboxLimits *l = p->lim;
    unsigned iso = p->ns;
    if ((iso & SANDBOX_ISO_USERNS) && child_user_ns(p) != 0) child_fail(p, iso, STAGE_USERNS);
    if (setpgid(0, 0) != 0) child_fail(p, iso, STAGE_PGID);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);   // before the host's /dev goes
    if ((iso & SANDBOX_ISO_MNTNS) && child_mounts(p) != 0) child_fail(p, iso, STAGE_MOUNT);

    rlim_t cpu = (rlim_t)(l->cpu_seconds > 0 ? l->cpu_seconds + 0.999 : 1);
    set_limit(p, iso, RLIMIT_CPU, cpu, cpu + 1);
    set_limit(p, iso, RLIMIT_AS, (rlim_t)l->mem_bytes, (rlim_t)l->mem_bytes);
    set_limit(p, iso, RLIMIT_FSIZE, (rlim_t)l->max_file_bytes, (rlim_t)l->max_file_bytes);
    set_limit(p, iso, RLIMIT_NOFILE, (rlim_t)l->max_files, (rlim_t)l->max_files);
    // Counted per uid within the user namespace when there is one: per sandbox.
    set_limit(p, iso, RLIMIT_NPROC, (rlim_t)l->max_procs, (rlim_t)l->max_procs);
    set_limit(p, iso, RLIMIT_CORE, 0, 0);

    if (p->drop_uid) {
        // Raw system calls: glibc's setuid would try to signal the parent's threads.
        if (syscall(SYS_setgroups, 0, NULL) != 0 ||
            syscall(SYS_setresgid, p->uid, p->uid, p->uid) != 0 ||
            syscall(SYS_setresuid, p->uid, p->uid, p->uid) != 0)
            child_fail(p, iso, STAGE_UID);
        iso |= SANDBOX_ISO_UID;
    }
    // In a user namespace the uid is not 0 there, so exec drops every capability.
    prctl(PR_SET_PDEATHSIG, SIGKILL);   // after the uid change, which clears it
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(p, iso, STAGE_SECCOMP);
    if (l->net != SANDBOX_NET_ALLOW) {
        if (install_socket_filter() != 0) child_fail(p, iso, STAGE_SECCOMP);
        iso |= SANDBOX_ISO_SECCOMP;
    }
    if (p->probe) {
        child_report(p->report_fd, iso, STAGE_OK, 0);
        _exit(0);
    }

    if (null_fd < 0 || dup2(p->in_fd, 0) < 0 || dup2(p->out_fd, 1) < 0 || dup2(null_fd, 2) < 0)
        child_fail(p, iso, STAGE_FDS);
    syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    if (chdir(p->dir) != 0) child_fail(p, iso, STAGE_CHDIR);

    child_report(p->report_fd, iso, STAGE_OK, 0);
    execve(p->argv[0], p->argv, p->envp);
    child_fail(p, iso, STAGE_EXEC);
}

// fork() into the namespaces ns (SANDBOX_ISO_* bits); plain fork semantics
// (returns 0 in the child, the pid in the parent, -1 on failure).
static pid_t clone_sandbox(unsigned ns) {
    unsigned long flags = SIGCHLD;
    if (ns & SANDBOX_ISO_USERNS) flags |= CLONE_NEWUSER;
    if (ns & SANDBOX_ISO_PIDNS) flags |= CLONE_NEWPID;
    if (ns & SANDBOX_ISO_MNTNS) flags |= CLONE_NEWNS;
    if (ns & SANDBOX_ISO_NETNS) flags |= CLONE_NEWNET;
    if (ns & SANDBOX_ISO_IPCNS) flags |= CLONE_NEWIPC | CLONE_NEWUTS;
    return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
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
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR) {}
    if (s->out_fd >= 0 && !s->overflow) slot_read(s, l);
    ChildReport rep = {0, -1, 0}, tmp;
    while (read(s->report_fd, &tmp, sizeof tmp) == (ssize_t)sizeof tmp) rep = tmp;

    memset(r, 0, sizeof *r);
    r->wall_seconds = time_now() - s->t0;
    r->isolation = rep.iso;
    if (rep.stage > 0) {
        r->status = SANDBOX_SETUP_ERROR;
        err_set("sandbox: %s: %s", stage_name[rep.stage], strerror(rep.err));
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
