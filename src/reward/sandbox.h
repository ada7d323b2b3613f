// Runs untrusted Python programs (model completions) with hard limits: a process
// group, new PID/mount/network/IPC/UTS namespaces (in a user namespace of their
// own when we are not root), a root that shows only the system directories
// read-only, a private /dev and /proc and an empty work directory, a uid
// without capabilities, a clean environment, rlimits, a seccomp socket filter,
// a stdout byte cap and a wall-clock kill. Where the namespaces cannot be made
// it refuses to run anything unless the caller asked for unsafe mode. It refuses to judge output (that is the caller's job) and
// never evaluates anything in this process.
#ifndef AHA_SANDBOX_H
#define AHA_SANDBOX_H

#include <stddef.h>

// How the network is cut off for the program.
typedef enum {
    SANDBOX_NET_AUTO = 0,   // network namespace and the seccomp filter
    SANDBOX_NET_SECCOMP,    // seccomp filter only (socket() of anything but AF_UNIX fails)
    SANDBOX_NET_ALLOW,      // no network isolation (for tests that prove the others work)
} SandboxNet;

typedef struct {
    const char *python;      // interpreter; NULL means "/usr/bin/python3"
    double wall_seconds;     // killed (whole group / namespace) after this much wall time
    double cpu_seconds;      // RLIMIT_CPU (soft = hard: SIGKILL), rounded up to whole seconds
    long mem_bytes;          // RLIMIT_AS
    long max_output;         // stdout bytes kept; more kills the program
    long max_file_bytes;     // RLIMIT_FSIZE
    int max_procs;           // processes the program may have (uid-scoped RLIMIT_NPROC)
    int max_files;           // RLIMIT_NOFILE
    int max_parallel;        // sandboxes alive at once in sandbox_run_many (<= 0: CPU count)
    SandboxNet net;
    int unsafe;              // 1: where namespaces cannot be made, run without them (warned once on stderr)
} SandboxLimits;

// Defaults: /usr/bin/python3, 10 s wall, 5 s CPU, 1 GiB address space, 4 MiB
// output, 16 MiB files, 32 processes, 64 open files, one sandbox per CPU.
void sandbox_limits_default(SandboxLimits *l);

typedef enum {
    SANDBOX_EXITED = 0,      // the program ended by itself: see exit_code / term_signal
    SANDBOX_TIMEOUT,         // wall-clock limit reached (killed), or killed by the CPU limit
    SANDBOX_OUTPUT_LIMIT,    // wrote more than max_output bytes, killed
    SANDBOX_SETUP_ERROR,     // could not start (no interpreter, no temp dir, program has NUL, ...)
    SANDBOX_SKIPPED,         // not run because the caller's should_run said no
} SandboxStatus;

typedef struct {
    SandboxStatus status;
    int exit_code;           // valid when status == SANDBOX_EXITED and term_signal == 0
    int term_signal;         // signal that ended it (SIGKILL for CPU/memory kills), 0 if none
    double wall_seconds;     // fork to reap
    double cpu_seconds;      // CPU time of the program and of the children it waited for
    char *out;               // stdout, NUL-terminated, malloc'd (sandbox_result_free); never NULL after a run
    size_t out_len;
    unsigned isolation;      // SANDBOX_ISO_* bits that were in force
} SandboxResult;

enum {
    SANDBOX_ISO_PIDNS = 1,   // own PID namespace: killing its init kills everything
    SANDBOX_ISO_NETNS = 2,   // own network namespace (no interfaces up)
    SANDBOX_ISO_MNTNS = 4,   // own mount namespace and root: system dirs read-only, the work dir writable
    SANDBOX_ISO_UID = 8,     // root switched to an unprivileged uid of its own (RLIMIT_NPROC applies)
    SANDBOX_ISO_SECCOMP = 16,// seccomp socket filter installed
    SANDBOX_ISO_USERNS = 32, // own user namespace (we are not root): no capabilities outside it
    SANDBOX_ISO_IPCNS = 64,  // own IPC and host-name namespaces
};

// True when the result is a clean exit with status 0.
int sandbox_ok(const SandboxResult *r);
void sandbox_result_free(SandboxResult *r);

// One program run: program text (Python source) and the bytes fed to stdin.
typedef struct {
    const char *program;
    const char *input;
    size_t input_len;
} SandboxJob;

// Optional hooks for sandbox_run_many, called in this thread. should_run is
// asked right before job i starts (return 0 to mark it SANDBOX_SKIPPED);
// on_done is told when job i has finished. Either may be NULL.
typedef struct {
    int (*should_run)(void *ctx, int i);
    void (*on_done)(void *ctx, int i, const SandboxResult *r);
    void *ctx;
} SandboxHooks;

// Run n jobs, at most l->max_parallel at once, from one poll loop. results (n)
// are filled in job order; each must be freed with sandbox_result_free. Returns
// 0, or -1 when the loop itself fails or when programs cannot be isolated (see
// SandboxLimits.unsafe; then nothing ran and results are untouched): a failing
// program is not an error. No process started here outlives the call.
int sandbox_run_many(const SandboxLimits *l, const SandboxJob *jobs, int n,
                     const SandboxHooks *hooks, SandboxResult *results);

// One job. Returns 0 or -1 like sandbox_run_many.
int sandbox_run(const SandboxLimits *l, const char *program, const char *input,
                SandboxResult *result);

// Compare program output with the expected text: equal after removing trailing
// whitespace from every line and trailing blank lines. Returns 1 or 0.
int sandbox_output_matches(const char *got, size_t got_len, const char *want);

#endif
