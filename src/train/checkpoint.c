// Checkpoints of a GRPO run: checkpoints/step_N/ holds a Hugging Face model
// directory (config.json, model.safetensors, tokenizer files), the AdamW
// moments, the trainer counters and, once it has moved, the reference model.
// Written under step_N.tmp, fsynced, renamed; checkpoints/latest names the
// newest complete one, so a run killed mid-write resumes from the previous.
#include "train/checkpoint.h"
#include "base/err.h"
#include "base/fileio.h"
#include "base/jsonl.h"
#include "model/io.h"
#include "train/ppo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy_tokenizer(const char *from_dir, const char *to_dir) {
    static const char *const files[] = {"tokenizer.json", "tokenizer_config.json"};
    for (int i = 0; i < 2; i++) {
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

static int write_state(const Trainer *t, const char *dir) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", (double)t->step);
    cJSON_AddNumberToObject(o, "next_index", (double)t->next_index);
    cJSON_AddNumberToObject(o, "num_tokens", (double)t->num_tokens);
    cJSON_AddNumberToObject(o, "metrics_lines", (double)t->metrics_lines);
    cJSON_AddNumberToObject(o, "samples_lines", (double)t->samples_lines);
    cJSON_AddBoolToObject(o, "ref_moved", t->ref_moved);
    cJSON_AddNumberToObject(o, "seed", t->cfg.sample.seed);
    char *s = cJSON_Print(o), path[2048];
    int rc = path_join(path, sizeof path, dir, "trainer_state.json");
    if (rc == 0) rc = file_write_atomic(path, s, strlen(s));
    cJSON_free(s);
    cJSON_Delete(o);
    return rc;
}

int checkpoint_save(Trainer *t) {
    char dir[4096], tmp[4096], fin[4096], path[4096], name[64];
    snprintf(name, sizeof name, "step_%ld", t->step);
    if (path_join(dir, sizeof dir, t->run_dir, "checkpoints") != 0 || mkdir_p(dir) != 0 ||
        path_join(fin, sizeof fin, dir, name) != 0 || path_fmt(tmp, sizeof tmp, "%s.tmp", fin) != 0 ||
        remove_tree(tmp) != 0)
        return -1;
    int rc = model_save(&t->policy, tmp, ST_F32);
    if (rc == 0) rc = copy_tokenizer(t->tok_dir, tmp);
    if (rc == 0) rc = path_join(path, sizeof path, tmp, "optimizer.safetensors");
    if (rc == 0) rc = adamw_state_save(&t->opt, &t->policy, path);
    if (rc == 0 && t->has_ref && t->ref_moved) {
        rc = path_join(path, sizeof path, tmp, "ref");
        if (rc == 0) rc = model_save(&t->ref, path, ST_F32);
    }
    if (rc == 0 && t->critic) rc = ppo_save(t, tmp);
    if (rc == 0) rc = write_state(t, tmp);
    if (rc == 0) rc = dir_sync(tmp);
    if (rc == 0) rc = remove_tree(fin);
    if (rc == 0 && rename(tmp, fin) != 0) rc = err_set("%s: rename: %s", fin, strerror(errno));
    if (rc == 0) rc = dir_sync(dir);
    if (rc == 0) rc = path_join(path, sizeof path, dir, "latest");
    if (rc == 0) {
        char text[80];
        int n = snprintf(text, sizeof text, "%s\n", name);
        rc = file_write_atomic(path, text, (size_t)n);
    }
    return rc == 0 ? 0 : err_wrap("checkpoint %s", fin);
}

int checkpoint_latest(const char *run_dir, char *out, size_t cap) {
    char path[4096];
    out[0] = 0;
    if (path_fmt(path, sizeof path, "%s/checkpoints/latest", run_dir) != 0) return -1;
    if (!path_exists(path)) return path_is_dir(run_dir) ? 0 : err_set("%s: no such run directory", run_dir);
    char *name = file_read_all(path, NULL);
    if (!name) return -1;
    name[strcspn(name, "\r\n")] = 0;
    int bad = strncmp(name, "step_", 5) != 0 || strchr(name, '/');
    int rc = bad ? err_set("%s: does not name a checkpoint", path)
                 : path_fmt(out, cap, "%s/checkpoints/%s", run_dir, name);
    free(name);
    if (rc != 0 || path_join(path, sizeof path, out, "trainer_state.json") != 0) {
        out[0] = 0;
        return -1;
    }
    if (!path_exists(path)) {
        out[0] = 0;
        return err_set("%s: missing; the checkpoint is incomplete", path);
    }
    return 0;
}

int checkpoint_restore(Trainer *t, const char *ckpt) {
    char path[4096];
    if (path_join(path, sizeof path, ckpt, "trainer_state.json") != 0) return -1;
    char *text = file_read_all(path, NULL);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!o) return err_set("%s: invalid JSON", path);
    long step = 0, next = 0, tokens = 0, ml = 0, sl = 0;
    int moved = 0, rc = 0;
    if (json_get_int(o, "step", &step, 1) || json_get_int(o, "next_index", &next, 1) ||
        json_get_int(o, "num_tokens", &tokens, 1) || json_get_int(o, "metrics_lines", &ml, 1) ||
        json_get_int(o, "samples_lines", &sl, 1) || json_get_bool(o, "ref_moved", &moved, 1))
        rc = err_wrap("%s", path);
    cJSON_Delete(o);
    if (rc != 0) return -1;
    t->step = step;
    t->next_index = next;
    t->num_tokens = tokens;
    t->metrics_lines = ml;
    t->samples_lines = sl;
    if (path_join(path, sizeof path, ckpt, "optimizer.safetensors") != 0 ||
        adamw_state_load(&t->opt, &t->policy, path) != 0)
        return -1;
    if (t->critic && ppo_restore(t, ckpt) != 0) return -1;
    if (t->has_ref) {
        // The reference is the starting model until it first moves; after
        // that the checkpoint carries it.
        Model ref;
        if (moved ? path_join(path, sizeof path, ckpt, "ref") : path_fmt(path, sizeof path, "%s", t->cfg.model)) return -1;
        if (model_load(&ref, path, 0) != 0) return err_wrap("reference model");
        if (ref.n_params != t->ref.n_params) {
            model_free(&ref);
            return err_set("%s: reference model does not match the policy", path);
        }
        memcpy(t->ref.params, ref.params, sizeof(float) * ref.n_params);
        model_free(&ref);
        t->ref_moved = moved;
    }
    return 0;
}
