// The child side of a sandboxed run: between clone and exec it makes raw
// system calls only (the parent may be multi-threaded).
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

const char *const sandbox_stage_name[] = {"ok", "user namespace uid/gid maps", "setpgid", "mount", "setuid",
                                          "setrlimit", "seccomp", "fds", "chdir", "exec"};

// Deny socket() for every family but AF_UNIX, and io_uring (which can open
// sockets without the socket system call). Other syscalls pass.
int install_socket_filter(void) {
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

long sandbox_cpu_limit(const SandboxLimits *l) { return l->cpu_seconds > 0 ? (long)(l->cpu_seconds + 0.999) : 1; }

__attribute__((noreturn)) void child_main(const ChildPlan *p) {
    const SandboxLimits *l = p->lim;
    unsigned iso = p->ns;
    if ((iso & SANDBOX_ISO_USERNS) && child_user_ns(p) != 0) child_fail(p, iso, STAGE_USERNS);
    if (setpgid(0, 0) != 0) child_fail(p, iso, STAGE_PGID);
    int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);   // before the host's /dev goes
    if ((iso & SANDBOX_ISO_MNTNS) && child_mounts(p) != 0) child_fail(p, iso, STAGE_MOUNT);

    // Soft = hard: the program is the init of its PID namespace, which ignores
    // the soft limit's SIGXCPU, so only the hard limit's SIGKILL stops it.
    rlim_t cpu = (rlim_t)sandbox_cpu_limit(l);
    set_limit(p, iso, RLIMIT_CPU, cpu, cpu);
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
pid_t clone_sandbox(unsigned ns) {
    unsigned long flags = SIGCHLD;
    if (ns & SANDBOX_ISO_USERNS) flags |= CLONE_NEWUSER;
    if (ns & SANDBOX_ISO_PIDNS) flags |= CLONE_NEWPID;
    if (ns & SANDBOX_ISO_MNTNS) flags |= CLONE_NEWNS;
    if (ns & SANDBOX_ISO_NETNS) flags |= CLONE_NEWNET;
    if (ns & SANDBOX_ISO_IPCNS) flags |= CLONE_NEWIPC | CLONE_NEWUTS;
    return (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, NULL);
}
