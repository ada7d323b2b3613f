// Run directories: settings written once, compared on every resume.
#include "train/rundir.h"
#include "base/dist.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "train/checkpoint.h"

#include <dirent.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int rundir_name(char *out, size_t cap, const char *given, const char *prefix) {
    if (given[0]) return path_fmt(out, cap, "%s", given);
    char stamp[32];
    time_t now = time(NULL);
    // Under MPI every rank takes rank 0's clock, so that they name one directory.
    int64_t t = (int64_t)now;
    if (dist_bcast(&t, sizeof t, 0) != 0) return -1;
    now = (time_t)t;
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
    return path_fmt(out, cap, "runs/%s-%s", prefix, stamp);
}

int rundir_same_settings(const char *dir, const void *cfg, const RunSettings *rs) {
    char path[4096];
    if (path_join(path, sizeof path, dir, "config.json") != 0) return -1;
    if (!path_exists(path)) return err_set("%s: no run to resume (no config.json)", dir);
    void *saved = malloc(rs->size);
    if (!saved) return err_set("out of memory");
    rs->defaults(saved);
    int rc = opt_apply_file(saved, rs->defs, path, NULL);
    cJSON *a = rc == 0 ? opt_to_json(cfg, rs->defs) : NULL, *b = rc == 0 ? opt_to_json(saved, rs->defs) : NULL;
    if (rc == 0 && (!a || !b)) rc = err_set("out of memory");
    const cJSON *x;
    if (rc == 0)
        cJSON_ArrayForEach(x, a) {
            if (rc == 0 && strcmp(x->string, "out") != 0 &&
                !cJSON_Compare(x, cJSON_GetObjectItemCaseSensitive(b, x->string), 1))
                rc = err_set("%s: %s differs from the run's (a resume takes the settings it was started with)", path,
                             x->string);
        }
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(saved);
    return rc;
}

// A new run goes into a missing or empty directory: one there would mix its
// files with what it holds.
static int dir_is_empty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : err_set("%s: %s", dir, strerror(errno));
    struct dirent *e;
    int used = 0;
    while (!used && (e = readdir(d))) used = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return used ? err_set("%s: holds files; pass --resume to continue it, or choose another --out", dir) : 0;
}

int rundir_start(const char *dir, const void *cfg, const RunSettings *rs, int resume) {
    if (resume) return rundir_same_settings(dir, cfg, rs);
    if (dir_is_empty(dir) != 0 || mkdir_p(dir) != 0) return -1;
    cJSON *o = opt_to_json(cfg, rs->defs);
    int rc = o ? json_write_file(o, dir, "config.json") : err_set("out of memory");
    cJSON_Delete(o);
    return rc;
}

int rundir_find_start(const char *dir, int resume, const void *cfg, const RunSettings *rs, char *out, size_t cap) {
    out[0] = 0;
    if (!resume) return checkpoint_dir_is_new(dir, "pass --resume to continue it, or choose another --out");
    if (rundir_same_settings(dir, cfg, rs) != 0 || (dist_rank() == 0 && checkpoint_remove_temps(dir) != 0) ||
        checkpoint_latest(dir, out, cap) != 0)
        return -1;
    if (!out[0]) return err_set("%s/checkpoints: no checkpoint to resume from", dir);
    return checkpoint_verify_dir(out);
}
