// Checkpoints of a GRPO run: saving checkpoints/step_N/, finding the newest
// intact one, and restoring a trainer from it for a bit-exact resume. A
// checkpoint's trainer_state.json holds the counters of the run and a CRC-32C
// and size for every other file of the checkpoint; nothing in it is trusted
// before it is checked against the directory's name, the files and the run's
// settings.
#ifndef AHA_TRAIN_CHECKPOINT_H
#define AHA_TRAIN_CHECKPOINT_H

#include <stddef.h>

#include "train/trainer.h"

#include <cjson/cJSON.h>

// Copy tokenizer.json (required) and, when present, tokenizer_config.json,
// chat_template.jinja and generation_config.json from one model directory to
// another (the model's conventions travel with its checkpoints). Returns 0 or -1.
int copy_tokenizer(const char *from_dir, const char *to_dir);
// The steps of the step_N directories in ckdir, newest first (a missing ckdir
// has none). *steps is malloc'd (caller frees). Returns the count or -1.
int list_steps(const char *ckdir, long **steps);
// Write checkpoints/step_<step>/ (model, tokenizer, optimizer, trainer state
// with checksums, reference weights when they moved, the critic under PPO)
// under a temporary name, fsynced, then renamed, and point checkpoints/latest
// at it; then, with save_total_limit N, remove all but the newest N of the
// checkpoints up to this step. Returns 0 or -1.
int checkpoint_save(Trainer *t);
// Add "files" to a checkpoint's state object: every file under dir but its
// trainer_state.json, with size and CRC-32C. Returns 0 or -1.
int checkpoint_manifest(cJSON *state, const char *dir);
// The files of checkpoint dir are exactly those its state object lists, with
// their sizes and checksums (a state without "files" passes with a warning).
// Returns 0, or -1 naming the first file that differs.
int checkpoint_verify(const char *dir, const cJSON *state);
// Add the manifest to a state object (the caller's) and write it as
// dir/trainer_state.json, last, since it lists the other files. 0 or -1.
int checkpoint_state_write(cJSON *state, const char *dir);
// dir/trainer_state.json parsed (the caller deletes it), its path in path; or
// NULL after err_set naming the file.
cJSON *checkpoint_state_read(const char *dir, char *path, size_t cap);
// The same for the state in dir/trainer_state.json. Returns 0 or -1.
int checkpoint_verify_dir(const char *dir);
// Finish a checkpoint written into ckdir/step_<step>.tmp (rc: 0 when every
// file was written): fsync it, rename it to step_<step>, point ckdir/latest
// at it, then, with keep > 0, remove all but the newest keep checkpoints up
// to step. On failure the temporary directory is removed. Returns 0 or -1.
int checkpoint_commit(const char *ckdir, int rc, long step, int keep);
// The directory checkpoints/latest names ("" if the run has none); no checks
// beyond its trainer_state.json existing. Returns 0 or -1.
int checkpoint_latest(const char *run_dir, char *out, size_t cap);
// The checkpoint a resume of run_dir under settings cfg starts from: the one
// checkpoints/latest names when its state and checksums hold; else (unless
// cfg->strict) the newest intact older one, with a warning naming what was
// wrong, the damaged ones moved aside to step_N.damaged and latest rewritten.
// out is "" when the run has no checkpoint at all. Refuses (-1) when latest is
// missing although checkpoints exist, or when no checkpoint is intact.
int checkpoint_find(const char *run_dir, const GrpoConfig *cfg, char *out, size_t cap);
// Restore optimizer, reference and progress counters from a checkpoint that
// checkpoint_find chose into a trainer whose policy was loaded from it.
// Returns 0 or -1.
int checkpoint_restore(Trainer *t, const char *ckpt_dir);
// 0 when run_dir can take a new run: it does not exist, or holds neither
// checkpoints nor metrics. Else -1, the error naming what it holds (a new
// run there would write over that history) and then hint.
int checkpoint_dir_is_new(const char *run_dir, const char *hint);
// Remove what killed writers leave behind in a run directory and its
// checkpoints/ ("<file>.tmp.<pid>", "step_N.tmp/"). Returns 0 or -1.
int checkpoint_remove_temps(const char *run_dir);

#endif
