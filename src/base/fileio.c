// File helpers. Atomic replace is what keeps checkpoints whole when a run is
// killed mid-write.
#include "base/fileio.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_open_regular(const char *path, size_t *size) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return err_set("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set("%s: not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return err_set("%s: %s", path, strerror(e));
    }
    if (size) *size = (size_t)st.st_size;
    return fd;
}

char *file_read_all(const char *path, size_t *len) {
    size_t n;
    int fd = file_open_regular(path, &n);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) { err_set("%s: %s", path, strerror(errno)); close(fd); return NULL; }
    char *buf = malloc(n + 1);
    if (!buf) { err_set("%s: out of memory (%zu bytes)", path, n); fclose(f); return NULL; }
    if (n && fread(buf, 1, n, f) != n) {
        err_set("%s: short read", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int dir_sync(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return err_set("%s: %s", dir, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? 0 : err_set("%s: fsync: %s", dir, strerror(errno));
}

static int parent_sync(const char *path) {
    char tmp[4096];
    if (path_fmt(tmp, sizeof tmp, "%s", path) != 0) return -1;
    return dir_sync(dirname(tmp));
}

int atomic_open(AtomicFile *af, const char *path) {
    if (path_fmt(af->path, sizeof af->path, "%s", path) || path_fmt(af->tmp, sizeof af->tmp, "%s.tmp.%d", path, (int)getpid()))
        return -1;
    af->f = fopen(af->tmp, "wb");
    if (!af->f) return err_set("%s: %s", af->tmp, strerror(errno));
    return 0;
}

int atomic_commit(AtomicFile *af) {
    int bad = fflush(af->f) != 0 || ferror(af->f) || fsync(fileno(af->f)) != 0;
    int err = errno;
    if (fclose(af->f) != 0) bad = 1;
    af->f = NULL;
    if (bad) {
        unlink(af->tmp);
        return err_set("%s: write failed: %s", af->path, strerror(err));
    }
    if (rename(af->tmp, af->path) != 0) {
        err = errno;
        unlink(af->tmp);
        return err_set("%s: rename: %s", af->path, strerror(err));
    }
    return parent_sync(af->path);
}

void atomic_abort(AtomicFile *af) {
    if (af->f) fclose(af->f);
    af->f = NULL;
    unlink(af->tmp);
}

int file_write_atomic(const char *path, const void *data, size_t len) {
    AtomicFile af;
    if (atomic_open(&af, path) != 0) return -1;
    if (len && fwrite(data, 1, len, af.f) != len) {
        atomic_abort(&af);
        return err_set("%s: write failed", path);
    }
    return atomic_commit(&af);
}

int mkdir_p(const char *dir) {
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp) return err_set("bad directory name '%s'", dir);
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return err_set("%s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return err_set("%s: %s", tmp, strerror(errno));
    if (!path_is_dir(tmp)) return err_set("%s: exists and is not a directory", tmp);
    return 0;
}

int path_exists(const char *path) { struct stat st; return stat(path, &st) == 0; }

int path_is_dir(const char *path) { struct stat st; return stat(path, &st) == 0 && S_ISDIR(st.st_mode); }

int path_fmt(char *out, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < cap) return 0;
    if (cap) out[0] = 0;   // no caller can use a cut path by mistake
    if (n < 0) return err_set("cannot format a path from '%s'", fmt);
    char *whole = malloc((size_t)n + 1);
    if (!whole) return err_set("path too long (%d bytes, at most %zu)", n, cap - 1);
    va_start(ap, fmt);
    vsnprintf(whole, (size_t)n + 1, fmt, ap);
    va_end(ap);
    err_set("path too long (%d bytes, at most %zu): %s", n, cap - 1, whole);
    free(whole);
    return -1;
}

int path_join(char *out, size_t cap, const char *a, const char *b) {
    return path_fmt(out, cap, "%s/%s", a, b);
}

int path_sibling(char *out, size_t cap, const char *path, const char *name) {
    const char *slash = strrchr(path, '/');
    if (!slash) return path_fmt(out, cap, "%s", name);
    return path_fmt(out, cap, "%.*s/%s", (int)(slash - path), path, name);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)flag; (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : err_set("%s: %s", path, strerror(errno));
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) return err_set("%s: cannot remove: %s", path, strerror(errno));
    return 0;
}

int file_copy(const char *from, const char *to) {
    size_t len;
    char *data = file_read_all(from, &len);
    if (!data) return -1;
    int rc = file_write_atomic(to, data, len);
    free(data);
    return rc;
}
