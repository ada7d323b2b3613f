// The child side of a sandboxed run (reward/sandbox.c is the parent side):
// the plan the parent prepares, and the code between clone and exec that
// builds the namespaces, the root, the limits and the socket filter. Private
// to reward/; sandbox.h is the public interface.
#ifndef AHA_REWARD_SANDBOX_CHILD_H
#define AHA_REWARD_SANDBOX_CHILD_H

#include "reward/sandbox.h"

#include <sys/syscall.h>
#include <sys/types.h>

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


// The CPU limit as set: whole seconds, at least one.
long sandbox_cpu_limit(const SandboxLimits *l);

// What the child tells the parent through a close-on-exec pipe just before
// exec (stage 0) or when a setup step fails (stage > 0, with errno).
typedef struct {
    unsigned iso;
    int stage;
    int err;
} ChildReport;

enum { STAGE_OK = 0, STAGE_USERNS, STAGE_PGID, STAGE_MOUNT, STAGE_UID, STAGE_RLIMIT, STAGE_SECCOMP,
       STAGE_FDS, STAGE_CHDIR, STAGE_EXEC };
// The name of each stage, for the parent's messages.
extern const char *const sandbox_stage_name[];

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
int install_socket_filter(void);
// Set the sandbox up as p says and exec the program; a failing stage is
// reported through p->report_fd and the child exits.
__attribute__((noreturn)) void child_main(const ChildPlan *p);
// fork() into the namespaces ns (SANDBOX_ISO_* bits); plain fork semantics
// (returns 0 in the child, the pid in the parent, -1 on failure).
pid_t clone_sandbox(unsigned ns);

#endif
