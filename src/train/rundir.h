// Run directories that keep their settings as config.json: a new run starts
// in an empty directory and writes them; a resume must bring the same ones.
#ifndef AHA_TRAIN_RUNDIR_H
#define AHA_TRAIN_RUNDIR_H

#include "base/options.h"

#include <stddef.h>

// The command's settings table, its defaults and the size of its settings.
typedef struct {
    const OptDef *defs;
    void (*defaults)(void *cfg);
    size_t size;
} RunSettings;

// The run directory: given when not "", else runs/<prefix>-<local time>
// (rank 0's time on every rank of an MPI job). Returns 0 or -1 (too long, or
// the broadcast failed).
int rundir_name(char *out, size_t cap, const char *given, const char *prefix);
// 0 when dir/config.json holds cfg's settings (all but "out"; a key the file
// lacks takes its default). Else -1, naming the first setting that differs.
int rundir_same_settings(const char *dir, const void *cfg, const RunSettings *rs);
// Where a run in dir starts: with resume, the checkpoint dir/checkpoints/latest
// names, checked, into out (the settings must be dir's; rank 0 clears what
// killed writers left); else "" into out, dir holding no run. Returns 0 or -1.
int rundir_find_start(const char *dir, int resume, const void *cfg, const RunSettings *rs, char *out, size_t cap);
// A new run (resume 0): dir is missing or empty; it is made and the settings
// written to dir/config.json. A resume: the settings are the run's. Returns 0
// or -1 (err_set) with nothing written.
int rundir_start(const char *dir, const void *cfg, const RunSettings *rs, int resume);

#endif
