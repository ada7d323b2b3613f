// Checkpoints of a GRPO run (sft and pretrain share the writing and checking
// half): checkpoints/step_N/ holds a Hugging Face model
// directory (config.json, model.safetensors, tokenizer files), the AdamW
// moments, the trainer counters and, once it has moved, the reference model.
// Written under step_N.tmp, fsynced, renamed; checkpoints/latest names the
// newest complete one, so a run killed mid-write resumes from the previous.
// trainer_state.json lists every other file with its size and CRC-32C; a
// resume trusts no field and no file until it has checked them.
#include "train/checkpoint.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "model/io.h"
#include "train/ppo.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STATE_FILE "trainer_state.json"

int copy_tokenizer(const char *from_dir, const char *to_dir) {
    static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                                        "generation_config.json"};
    for (int i = 0; i < 4; i++) {
        char a[2048], b[2048];
        if (path_join(a, sizeof a, from_dir, files[i]) != 0 || path_join(b, sizeof b, to_dir, files[i]) != 0) return -1;
        if (!path_exists(a)) {
            if (i == 0) return err_set("%s: missing", a);
            continue;
        }
        if (file_copy(a, b) != 0) return -1;
    }
    return 0;
}

// ---------------------------------------------------------------- names

// "step_<N>" with N a positive decimal without leading zeros: the only names
// a checkpoint directory has ("step_4.tmp" and "step_4.damaged" are not).
static int parse_step_name(const char *name, long *step) {
    if (strncmp(name, "step_", 5) != 0 || name[5] < '1' || name[5] > '9') return 0;
    long v = 0;
    for (const char *p = name + 5; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000000000L) return 0;
        v = v * 10 + (*p - '0');
    }
    *step = v;
    return 1;
}

static int cmp_desc(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

// The steps of the checkpoint directories in ckdir, newest first (a missing
// ckdir has none). *steps is malloc'd (caller frees). Returns the count or -1.
int list_steps(const char *ckdir, long **steps) {
    *steps = NULL;
    DIR *d = opendir(ckdir);
    if (!d) return errno == ENOENT ? 0 : err_set("%s: %s", ckdir, strerror(errno));
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long s;
        if (!parse_step_name(e->d_name, &s)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            long *grown = realloc(*steps, sizeof(long) * (size_t)cap);
            if (!grown) {
                closedir(d);
                free(*steps);
                *steps = NULL;
                return err_set("%s: out of memory", ckdir);
            }
            *steps = grown;
        }
        (*steps)[n++] = s;
    }
    closedir(d);
    if (n) qsort(*steps, (size_t)n, sizeof(long), cmp_desc);
    return n;
}

// ---------------------------------------------------------------- checksums

// Add every regular file under root/rel (recursively) to files as
// "rel/name": {"bytes": N, "crc32c": "hex"}, except root's trainer_state.json.
static int manifest_add(cJSON *files, const char *root, const char *rel) {
    char dir[4096];
    if (rel[0] ? path_join(dir, sizeof dir, root, rel) : path_fmt(dir, sizeof dir, "%s", root)) return -1;
    DIR *d = opendir(dir);
    if (!d) return err_set("%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (!rel[0] && strcmp(e->d_name, STATE_FILE) == 0) continue;
        char sub[1024], path[4096];
        if ((rel[0] ? path_join(sub, sizeof sub, rel, e->d_name) : path_fmt(sub, sizeof sub, "%s", e->d_name)) ||
            path_join(path, sizeof path, root, sub) != 0) {
            rc = -1;
            break;
        }
        if (path_is_dir(path)) {
            rc = manifest_add(files, root, sub);
            continue;
        }
        uint32_t crc;
        uint64_t size;
        if (crc32c_file(path, &crc, &size) != 0) {
            rc = -1;
            break;
        }
        char hex[16];
        snprintf(hex, sizeof hex, "%08" PRIx32, crc);
        cJSON *f = cJSON_AddObjectToObject(files, sub);
        cJSON_AddNumberToObject(f, "bytes", (double)size);
        cJSON_AddStringToObject(f, "crc32c", hex);
    }
    closedir(d);
    return rc;
}

int checkpoint_manifest(cJSON *state, const char *dir) {
    cJSON *files = cJSON_AddObjectToObject(state, "files");
    return files ? manifest_add(files, dir, "") : err_set("%s: out of memory", dir);
}

// The files of checkpoint ckpt must be exactly those listed, with the listed
// sizes and checksums. Returns 0, or -1 naming the first file that differs.
static int manifest_verify(const char *ckpt, const cJSON *want) {
    if (!cJSON_IsObject(want)) return err_set("%s/" STATE_FILE ": \"files\" must be an object", ckpt);
    cJSON *have = cJSON_CreateObject();
    int rc = manifest_add(have, ckpt, "");
    for (const cJSON *w = want->child; rc == 0 && w; w = w->next) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(have, w->string);
        long bytes = -1;
        const char *crc = NULL;
        if (json_get_int(w, "bytes", &bytes, 1) != 0 || json_get_string(w, "crc32c", &crc, 1) != 0)
            rc = err_wrap("%s/" STATE_FILE ": files.\"%s\"", ckpt, w->string);
        else if (!h)
            rc = err_set("%s/%s: missing", ckpt, w->string);
        else if (bytes != (long)cJSON_GetObjectItem(h, "bytes")->valuedouble)
            rc = err_set("%s/%s: %ld bytes, the checkpoint wrote %ld", ckpt, w->string,
                         (long)cJSON_GetObjectItem(h, "bytes")->valuedouble, bytes);
        else if (strcmp(crc, cJSON_GetObjectItem(h, "crc32c")->valuestring) != 0)
            rc = err_set("%s/%s: checksum mismatch (crc32c %s, the checkpoint wrote %s): the file changed after it was saved",
                         ckpt, w->string, cJSON_GetObjectItem(h, "crc32c")->valuestring, crc);
    }
    for (const cJSON *h = have->child; rc == 0 && h; h = h->next)
        if (!cJSON_GetObjectItemCaseSensitive(want, h->string))
            rc = err_set("%s/%s: not part of the checkpoint as saved", ckpt, h->string);
    cJSON_Delete(have);
    return rc;
}

int checkpoint_verify(const char *ckpt, const cJSON *state) {
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(state, "files");
    if (files) return manifest_verify(ckpt, files);
    log_info("warning: %s has no checksums (written by an older aha); its files are not verified", ckpt);
    return 0;
}

int checkpoint_state_write(cJSON *state, const char *dir) {
    int rc = checkpoint_manifest(state, dir);
    return rc == 0 ? json_write_file(state, dir, STATE_FILE) : rc;
}

cJSON *checkpoint_state_read(const char *dir, char *path, size_t cap) {
    if (path_join(path, cap, dir, STATE_FILE) != 0) return NULL;
    char *text = file_read_all(path, NULL);
    if (!text) return NULL;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!o) err_set("%s: invalid JSON", path);
    return o;
}

int checkpoint_verify_dir(const char *ckpt) {
    char path[4096];
    cJSON *o = checkpoint_state_read(ckpt, path, sizeof path);
    int rc = o ? checkpoint_verify(ckpt, o) : -1;
    cJSON_Delete(o);
    return rc;
}

// ---------------------------------------------------------------- state

typedef struct {
    long step, next_index, num_tokens, metrics_lines, samples_lines;
    int ref_moved;
    cJSON *files;   // owned by root
    cJSON *root;
} State;

static int write_state(const Trainer *t, const char *dir) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", (double)t->step);
    cJSON_AddNumberToObject(o, "next_index", (double)t->next_index);
    cJSON_AddNumberToObject(o, "num_tokens", (double)t->num_tokens);
    cJSON_AddNumberToObject(o, "metrics_lines", (double)t->metrics_lines);
    cJSON_AddNumberToObject(o, "samples_lines", (double)t->samples_lines);
    cJSON_AddBoolToObject(o, "ref_moved", t->ref_moved);
    cJSON_AddNumberToObject(o, "seed", t->cfg.sample.seed);
    char path[2048];
    int rc = checkpoint_manifest(o, dir);
    if (rc == 0) rc = path_join(path, sizeof path, dir, STATE_FILE);
    char *s = rc == 0 ? cJSON_Print(o) : NULL;
    if (rc == 0) rc = s ? file_write_atomic(path, s, strlen(s)) : err_set("%s: out of memory", path);
    cJSON_free(s);
    cJSON_Delete(o);
    return rc;
}

static int check_range(const char *path, const char *key, long v, double lo, double hi, const char *why) {
    if (v >= lo && v <= hi) return 0;
    return err_set("%s: \"%s\" is %ld, outside [%.0f, %.0f] (%s)", path, key, v, lo, hi, why);
}

// Read ckpt's trainer_state.json and check every field against the
// directory's step and the run's settings: a step is one metrics line and at
// least one problem, at most prompts_per_step per sampling round.
static int state_load(State *s, const char *ckpt, long dir_step, const GrpoConfig *cfg) {
    char path[2048];
    memset(s, 0, sizeof *s);
    if (path_join(path, sizeof path, ckpt, STATE_FILE) != 0) return -1;
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    s->root = cJSON_Parse(text);
    free(text);
    if (!s->root) return err_set("%s: invalid JSON", path);
    const cJSON *o = s->root;
    long seed = 0;
    if (json_get_int(o, "step", &s->step, 1) || json_get_int(o, "next_index", &s->next_index, 1) ||
        json_get_int(o, "num_tokens", &s->num_tokens, 1) || json_get_int(o, "metrics_lines", &s->metrics_lines, 1) ||
        json_get_int(o, "samples_lines", &s->samples_lines, 1) || json_get_bool(o, "ref_moved", &s->ref_moved, 1) ||
        json_get_int(o, "seed", &seed, 1))
        return err_wrap("%s", path);
    double per_step = (double)cfg->prompts_per_step * (1 + cfg->max_sampling_rounds);
    double row_tokens = (cfg->max_prompt_tokens ? cfg->max_prompt_tokens : 512) + cfg->sample.max_new_tokens;
    if (check_range(path, "step", s->step, (double)dir_step, (double)dir_step, "the directory's step") ||
        check_range(path, "metrics_lines", s->metrics_lines, (double)s->step, (double)s->step, "one per step") ||
        check_range(path, "next_index", s->next_index, (double)s->step, s->step * per_step,
                    "problems sampled: prompts_per_step x (1 + max_sampling_rounds) per step at most") ||
        check_range(path, "num_tokens", s->num_tokens, 0, (double)s->next_index * cfg->group_size * row_tokens,
                    "group_size x (prompt + completion tokens) per problem at most") ||
        check_range(path, "samples_lines", s->samples_lines, 0, 9e15, "a line count"))
        return -1;
    s->files = cJSON_GetObjectItemCaseSensitive(o, "files");
    return 0;
}

static void state_free(State *s) { cJSON_Delete(s->root); }

// The checkpoint step_<step> of ckdir is whole: its state holds and its files
// match their checksums. Writes its path to out.
static int checkpoint_check(const char *ckdir, long step, const GrpoConfig *cfg, char *out, size_t cap) {
    if (path_fmt(out, cap, "%s/step_%ld", ckdir, step) != 0) return -1;
    if (!path_is_dir(out)) return err_set("%s: missing", out);
    State s;
    int rc = state_load(&s, out, step, cfg);
    if (rc == 0) rc = checkpoint_verify(out, s.root);
    state_free(&s);
    return rc;
}

// ---------------------------------------------------------------- save

static int write_latest(const char *ckdir, long step) {
    char path[4096], text[64];
    if (path_join(path, sizeof path, ckdir, "latest") != 0) return -1;
    int n = snprintf(text, sizeof text, "step_%ld\n", step);
    return file_write_atomic(path, text, (size_t)n);
}

// Keep the newest `keep` checkpoints at or below step; newer ones (left by a
// run that went further before this resume) are overwritten as the run reaches them.
static int rotate(const char *ckdir, long step, int keep) {
    long *steps;
    int n = list_steps(ckdir, &steps), kept = 0, rc = n < 0 ? -1 : 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        if (steps[i] > step || kept++ < keep) continue;
        char path[4096];
        rc = path_fmt(path, sizeof path, "%s/step_%ld", ckdir, steps[i]);
        if (rc == 0) rc = remove_tree(path);
    }
    free(steps);
    return rc;
}

int checkpoint_save(Trainer *t) {
    char dir[4096], tmp[4096], fin[4096], path[4096];
    if (path_join(dir, sizeof dir, t->run_dir, "checkpoints") != 0 || mkdir_p(dir) != 0 ||
        path_fmt(fin, sizeof fin, "%s/step_%ld", dir, t->step) != 0 || path_fmt(tmp, sizeof tmp, "%s.tmp", fin) != 0 ||
        path_join(path, sizeof path, tmp, "optimizer.safetensors") != 0)
        return -1;
    if (remove_tree(tmp) != 0) return -1;
    // With LoRA the base never changes: the checkpoint holds the adapters (PEFT files).
    int rc = t->has_lora ? lora_save(&t->lora, tmp) : model_save(&t->policy, tmp, ST_F32);
    if (rc == 0) rc = copy_tokenizer(t->tok_dir, tmp);
    if (rc == 0) rc = adamw_state_save(&t->opt, trainer_trainable(t), path);
    if (rc == 0 && t->has_ref && t->ref_moved) {
        rc = path_join(path, sizeof path, tmp, "ref");
        if (rc == 0) rc = model_save(&t->ref, path, ST_F32);
    }
    if (rc == 0 && t->critic) rc = ppo_save(t, tmp);
    if (rc == 0) rc = write_state(t, tmp);
    return checkpoint_commit(dir, rc, t->step, t->cfg.save_total_limit);
}

int checkpoint_commit(const char *ckdir, int rc, long step, int keep) {
    char tmp[4096], fin[4096];
    if (path_fmt(fin, sizeof fin, "%s/step_%ld", ckdir, step) != 0 || path_fmt(tmp, sizeof tmp, "%s.tmp", fin) != 0)
        return -1;
    if (rc == 0) rc = dir_sync(tmp);
    if (rc == 0) rc = remove_tree(fin);
    if (rc == 0 && rename(tmp, fin) != 0) rc = err_set("%s: rename: %s", fin, strerror(errno));
    if (rc == 0) rc = dir_sync(ckdir);
    if (rc == 0) rc = write_latest(ckdir, step);
    if (rc == 0 && keep > 0) rc = rotate(ckdir, step, keep);
    if (rc == 0) return 0;
    // A partial checkpoint is of no use, and on a full disk its space is needed.
    ErrKept first;
    err_keep(&first);
    remove_tree(tmp);
    err_restore(&first);
    return err_wrap("checkpoint %s", fin);
}

// ---------------------------------------------------------------- find

// The step checkpoints/latest names, or -1 (with err_msg saying why) when it
// names none.
static long read_latest(const char *ckdir) {
    char path[4096];
    if (path_join(path, sizeof path, ckdir, "latest") != 0) return -1;
    char *name = file_read_all(path, NULL);
    if (!name) return -1;
    name[strcspn(name, "\r\n")] = 0;
    long step;
    int ok = parse_step_name(name, &step);
    if (!ok) err_set("%s: \"%.40s\" does not name a checkpoint", path, name);
    free(name);
    return ok ? step : -1;
}

int checkpoint_latest(const char *run_dir, char *out, size_t cap) {
    char ckdir[4096], path[4096];
    out[0] = 0;
    if (path_join(ckdir, sizeof ckdir, run_dir, "checkpoints") != 0 || path_join(path, sizeof path, ckdir, "latest") != 0)
        return -1;
    if (!path_exists(path)) return path_is_dir(run_dir) ? 0 : err_set("%s: no such run directory", run_dir);
    long step = read_latest(ckdir);
    if (step < 0) return -1;
    if (path_fmt(out, cap, "%s/step_%ld", ckdir, step) != 0 || path_join(path, sizeof path, out, STATE_FILE) != 0) {
        out[0] = 0;
        return -1;
    }
    if (!path_exists(path)) {
        out[0] = 0;
        return err_set("%s: missing; the checkpoint is incomplete", path);
    }
    return 0;
}

// Move a damaged checkpoint out of the way (step_N.damaged, replacing an
// older one of that name), so that the run can write step_N again and
// nothing of the damaged one is deleted.
static int move_aside(const char *ckdir, long step) {
    char from[4096], to[4096];
    if (path_fmt(from, sizeof from, "%s/step_%ld", ckdir, step) != 0 || path_fmt(to, sizeof to, "%s.damaged", from) != 0)
        return -1;
    if (!path_exists(from)) return 0;
    if (remove_tree(to) != 0) return -1;
    if (rename(from, to) != 0) return err_set("%s: rename: %s", to, strerror(errno));
    log_info("grpo: moved the damaged %s to %s", from, to);
    return 0;
}

// The first candidate (latest's step, then older checkpoints, newest first)
// that is whole; damaged ones are reported, and moved aside once a good one is
// found. Returns 0 (out names it), or -1.
static int pick(const char *ckdir, long latest, const long *steps, int n, const GrpoConfig *cfg, char *out, size_t cap) {
    char first[1024] = "";
    long tried[64];
    int n_tried = 0;
    if (latest < 0) snprintf(first, sizeof first, "%s", err_msg());
    for (int i = -1; i < n; i++) {
        long s = i < 0 ? latest : steps[i];
        if (s < 0 || (i >= 0 && latest >= 0 && s >= latest)) continue;
        if (checkpoint_check(ckdir, s, cfg, out, cap) == 0) {
            if (!first[0]) return 0;
            for (int k = 0; k < n_tried; k++)
                if (move_aside(ckdir, tried[k]) != 0) return -1;
            log_info("grpo: warning: resuming from the intact %s instead", out);
            return write_latest(ckdir, s);
        }
        log_info("grpo: warning: checkpoint step_%ld is damaged: %s", s, err_msg());
        if (!first[0]) snprintf(first, sizeof first, "%s", err_msg());
        if (n_tried < 64) tried[n_tried++] = s;
        if (cfg->strict)
            return err_set("%s (--strict: no fallback to an older checkpoint)", first);
    }
    out[0] = 0;
    return err_set("no intact checkpoint in %s: %s; pass --restart to start the run over", ckdir, first);
}

int checkpoint_dir_is_new(const char *run_dir, const char *hint) {
    char ck[4096], metrics[4096];
    if (path_join(ck, sizeof ck, run_dir, "checkpoints") != 0 ||
        path_join(metrics, sizeof metrics, run_dir, "metrics.jsonl") != 0)
        return -1;
    struct stat st;
    const char *held = path_exists(ck) ? ck : stat(metrics, &st) == 0 && st.st_size > 0 ? metrics : NULL;
    return held ? err_set("%s already holds a run (%s); %s", run_dir, held, hint) : 0;
}

int checkpoint_find(const char *run_dir, const GrpoConfig *cfg, char *out, size_t cap) {
    char ckdir[4096], latest_path[4096];
    out[0] = 0;
    if (!path_is_dir(run_dir)) return err_set("%s: no such run directory", run_dir);
    if (path_join(ckdir, sizeof ckdir, run_dir, "checkpoints") != 0 ||
        path_join(latest_path, sizeof latest_path, ckdir, "latest") != 0)
        return -1;
    long *steps;
    int n = list_steps(ckdir, &steps);
    if (n < 0) return -1;
    int rc = 0;
    if (path_exists(latest_path)) {
        long latest = read_latest(ckdir);
        if (latest < 0 && cfg->strict) rc = err_wrap("--strict");
        else rc = pick(ckdir, latest, steps, n, cfg, out, cap);
    } else if (n > 0) {
        // Restarting would overwrite every checkpoint and log line: refuse.
        rc = err_set("%s: missing, but the run has checkpoints (newest step_%ld); to resume from it write "
                     "\"step_%ld\" into %s, or pass --restart to start the run over (deletes them)",
                     latest_path, steps[0], steps[0], latest_path);
    }
    free(steps);
    return rc;
}

// ---------------------------------------------------------------- restore

int checkpoint_restore(Trainer *t, const char *ckpt) {
    char path[4096];
    const char *base = strrchr(ckpt, '/');
    long dir_step;
    if (!parse_step_name(base ? base + 1 : ckpt, &dir_step)) return err_set("%s: not a checkpoint directory", ckpt);
    State s;
    int rc = state_load(&s, ckpt, dir_step, &t->cfg);
    state_free(&s);   // the counters stay valid
    if (rc != 0) return -1;
    t->step = s.step;
    t->next_index = s.next_index;
    t->num_tokens = s.num_tokens;
    t->metrics_lines = s.metrics_lines;
    t->samples_lines = s.samples_lines;
    if (path_join(path, sizeof path, ckpt, "optimizer.safetensors") != 0 ||
        adamw_state_load(&t->opt, trainer_trainable(t), path) != 0)
        return -1;
    if (t->critic && ppo_restore(t, ckpt) != 0) return -1;
    if (t->has_ref && !t->has_lora) {
        // The reference is the starting model until it first moves; after
        // that the checkpoint carries it.
        Model ref;
        if (s.ref_moved ? path_join(path, sizeof path, ckpt, "ref") : path_fmt(path, sizeof path, "%s", t->cfg.model))
            return -1;
        if ((t->ref16 ? model_load_bf16(&ref, path) : model_load(&ref, path, 0)) != 0)
            return s.ref_moved ? err_wrap("reference model")
                               : err_wrap("reference model (the run's starting model, \"model\" in config.json)");
        if (ref.n_params != t->policy.n_params) {
            model_free(&ref);
            return err_set("%s: reference model does not match the policy", path);
        }
        // the loaded model becomes the reference (a bf16-only one cannot be copied into)
        model_free(&t->ref);
        t->ref = ref;
        t->ref_moved = s.ref_moved;
    }
    return 0;
}

// ---------------------------------------------------------------- temps

// "<name>.tmp.<digits>" (an AtomicFile of a killed process) or, in
// checkpoints/, "step_<N>.tmp" (a checkpoint cut off mid-write).
static int is_temp(const char *name, int in_ckdir) {
    const char *p = strstr(name, ".tmp");
    if (!p || p == name) return 0;
    if (in_ckdir && !p[4]) {
        char stem[64];
        long s;
        if ((size_t)(p - name) >= sizeof stem) return 0;   // no step name is that long
        memcpy(stem, name, (size_t)(p - name));
        stem[p - name] = 0;
        return parse_step_name(stem, &s);
    }
    if (p[4] != '.' || !p[5]) return 0;
    for (const char *q = p + 5; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    return 1;
}

static int remove_temps_in(const char *dir, int in_ckdir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : err_set("%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (!is_temp(e->d_name, in_ckdir)) continue;
        char path[4096];
        rc = path_join(path, sizeof path, dir, e->d_name);
        if (rc == 0) rc = remove_tree(path);
    }
    closedir(d);
    return rc;
}

int checkpoint_remove_temps(const char *run_dir) {
    char ckdir[2048];
    if (path_join(ckdir, sizeof ckdir, run_dir, "checkpoints") != 0) return -1;
    return remove_temps_in(run_dir, 0) == 0 && remove_temps_in(ckdir, 1) == 0 ? 0 : -1;
}
