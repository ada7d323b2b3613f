// Rollouts dealt to ranks (see rollout_sample_dealt in rollout.h): each rank
// samples and scores its block of groups, then every rank broadcasts its
// rows, packed, so that all of them hold the whole rollout.
#include "rollout/rollout.h"

#include "base/dist.h"
#include "base/err.h"
#include "base/sys.h"

#include <stdlib.h>
#include <string.h>

// A row's fixed part on the wire; its components, ids, log-probs and text follow.
typedef struct {
    int n, truncated, stop_id, correct;
    double reward;
    RewardCodeReport code;
    uint64_t text_len;
} RowHead;

static size_t row_bytes(const RolloutRow *row, int nt) {
    return sizeof(RowHead) + sizeof(double) * (size_t)nt + (sizeof(int) + sizeof(float)) * (size_t)row->n +
           row->text_len;
}

static char *put(char *p, const void *src, size_t n) {
    memcpy(p, src, n);
    return p + n;
}

static void pack_row(char **p, const RolloutRow *row, int nt) {
    RowHead h = {.n = row->n, .truncated = row->truncated, .stop_id = row->stop_id, .correct = row->correct,
                 .reward = row->reward, .code = row->code, .text_len = row->text_len};
    *p = put(*p, &h, sizeof h);
    *p = put(*p, row->components, sizeof(double) * (size_t)nt);
    *p = put(*p, row->ids, sizeof(int) * (size_t)row->n);
    *p = put(*p, row->logp, sizeof(float) * (size_t)row->n);
    *p = put(*p, row->text, row->text_len);
}

// One row from *p (at most end); grows its text when needed. A row that
// does not fit what this rank allows means the ranks disagree about the run.
static int unpack_row(const char **p, const char *end, RolloutRow *row, int nt, int max_new) {
    RowHead h;
    if ((size_t)(end - *p) < sizeof h) return err_set("rollout: a rank sent a truncated row");
    memcpy(&h, *p, sizeof h);
    *p += sizeof h;
    size_t need = sizeof(double) * (size_t)nt + (sizeof(int) + sizeof(float)) * (size_t)(h.n > 0 ? h.n : 0) + h.text_len;
    if (h.n < 0 || h.n > max_new || (size_t)(end - *p) < need)
        return err_set("rollout: a rank sent a row of %d tokens (at most %d allowed) or a truncated one", h.n, max_new);
    if (h.text_len + 1 > row->text_cap) {
        char *s = realloc(row->text, h.text_len + 1);
        if (!s) return err_set("rollout: out of memory for a completion of %llu bytes", (unsigned long long)h.text_len);
        row->text = s, row->text_cap = h.text_len + 1;
    }
    row->n = h.n, row->truncated = h.truncated, row->stop_id = h.stop_id, row->correct = h.correct;
    row->reward = h.reward, row->code = h.code, row->text_len = h.text_len;
    memcpy(row->components, *p, sizeof(double) * (size_t)nt), *p += sizeof(double) * (size_t)nt;
    memcpy(row->ids, *p, sizeof(int) * (size_t)h.n), *p += sizeof(int) * (size_t)h.n;
    memcpy(row->logp, *p, sizeof(float) * (size_t)h.n), *p += sizeof(float) * (size_t)h.n;
    memcpy(row->text, *p, h.text_len), *p += h.text_len;
    row->text[h.text_len] = 0;
    return 0;
}

// Rank k's block of the n groups: [n*k/ranks, n*(k+1)/ranks).
static int block(int n, int k, int ranks) { return (int)((long)n * k / ranks); }

int rollout_sample_dealt(Rollout *r, const int *slots, int n, uint32_t step) {
    int ranks = dist_size(), me = dist_rank(), G = r->G, nt = r->rewards.n;
    if (ranks == 1) return rollout_sample(r, slots, n, step);
    int lo = block(n, me, ranks), hi = block(n, me + 1, ranks);
    if (rollout_sample(r, slots + lo, hi - lo, step) != 0) return -1;
    double t0 = time_now();
    char *buf = NULL;
    int rc = 0;
    for (int k = 0; rc == 0 && k < ranks; k++) {
        int a = block(n, k, ranks), b = block(n, k + 1, ranks);
        uint64_t bytes = 0;
        if (k == me)
            for (int i = a * G; i < b * G; i++) bytes += row_bytes(&r->rows[(size_t)slots[i / G] * G + i % G], nt);
        if (dist_bcast(&bytes, sizeof bytes, k) != 0) {
            rc = -1;
            break;
        }
        char *nb = realloc(buf, bytes ? bytes : 1);
        if (!nb) {
            rc = err_set("rollout: out of memory for rank %d's rows (%llu bytes)", k, (unsigned long long)bytes);
            break;
        }
        buf = nb;
        if (k == me) {
            char *p = buf;
            for (int i = a * G; i < b * G; i++) pack_row(&p, &r->rows[(size_t)slots[i / G] * G + i % G], nt);
        }
        if (dist_bcast(buf, bytes, k) != 0) {
            rc = -1;
            break;
        }
        if (k == me) continue;
        const char *p = buf, *end = buf + bytes;
        for (int i = a * G; rc == 0 && i < b * G; i++) {
            RolloutRow *row = &r->rows[(size_t)slots[i / G] * G + i % G];
            rc = unpack_row(&p, end, row, nt, r->set.max_new_tokens);
            if (rc == 0) r->tokens += row->n;
        }
    }
    free(buf);
    r->t_sample += time_now() - t0;
    return rc;
}
