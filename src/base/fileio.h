// File helpers: whole-file reads, crash-safe writes (temporary name, fsync,
// rename, fsync of the directory), directories. Errors go through err_set and
// name the path.
#ifndef AHA_FILEIO_H
#define AHA_FILEIO_H

#include <stddef.h>
#include <stdio.h>

// Open path for reading, refusing anything but a regular file before a read
// could block on it (a FIFO, a device, a socket, a directory). Returns the
// descriptor (close-on-exec, blocking) with the file's size in *size (may be
// NULL), or -1 after err_set naming the path. Every loader opens through this.
int file_open_regular(const char *path, size_t *size);

// Read a whole file. Returns a malloc'd buffer with a NUL after the last byte
// (caller frees) and stores the length in *len (may be NULL); NULL on error.
char *file_read_all(const char *path, size_t *len);

// Write data to path atomically: readers see the old file or the new one,
// never a mix, even across a crash. Returns 0 or -1.
int file_write_atomic(const char *path, const void *data, size_t len);

// Atomic writes for content produced piecewise: open "<path>.tmp.<pid>",
// write through the FILE*, then commit (fsync + rename + dir fsync) or abort.
typedef struct {
    FILE *f;
    char path[4096];
    char tmp[4200];
} AtomicFile;
int atomic_open(AtomicFile *af, const char *path);
int atomic_commit(AtomicFile *af);
void atomic_abort(AtomicFile *af);

// fsync a directory so renames inside it are durable. Returns 0 or -1.
int dir_sync(const char *dir);
// mkdir -p. Returns 0 or -1.
int mkdir_p(const char *dir);
// Remove a file or a directory tree (rm -rf). A missing path is not an error.
int remove_tree(const char *path);
// Copy a file (the copy is written atomically). Returns 0 or -1.
int file_copy(const char *from, const char *to);
int path_exists(const char *path);
int path_is_dir(const char *path);
// The one way paths are built: out = the printf-formatted path, or -1 with an
// error naming the whole path when it does not fit in cap bytes. A path is
// never cut short (a cut path names another file).
int path_fmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
// out = a "/" b, as path_fmt.
int path_join(char *out, size_t cap, const char *a, const char *b);
// out = name in the directory that holds the file path ("m/tokenizer.json" ->
// "m/name", "tokenizer.json" -> "name"), as path_fmt.
int path_sibling(char *out, size_t cap, const char *path, const char *name);

#endif
