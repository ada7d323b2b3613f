// Tokenizer benchmark: load time of a tokenizer.json and single-thread encode throughput
// on a text file, one tok_encode call per line (as the reference is driven) and one call
// for the whole file. Built and run by bench/tok_bench.sh; not part of the library.
#include "base/err.h"
#include "base/fileio.h"
#include "base/sys.h"
#include "tok/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// CPU seconds of this thread: the machine may be shared, wall time would count the waits.
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: tok_bench TOKENIZER TEXT [REPS]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    double t0 = time_now(), c0 = cpu_now();
    Tokenizer *tok = tok_load(argv[1]);
    double load = time_now() - t0, load_cpu = cpu_now() - c0;
    if (!tok) { fprintf(stderr, "%s\n", err_msg()); return 1; }
    size_t len;
    char *text = file_read_all(argv[2], &len);
    if (!text) { fprintf(stderr, "%s\n", err_msg()); return 1; }
    double best_lines = 1e30, best_whole = 1e30;
    long tokens = 0;
    for (int r = 0; r < reps; r++) {
        double s = cpu_now();
        tokens = 0;
        for (size_t i = 0; i < len;) {
            const char *nl = memchr(text + i, '\n', len - i);
            size_t e = nl ? (size_t)(nl - text) + 1 : len;
            int *ids, n;
            if (tok_encode(tok, text + i, e - i, &ids, &n)) { fprintf(stderr, "%s\n", err_msg()); return 1; }
            tokens += n;
            free(ids);
            i = e;
        }
        double t = cpu_now() - s;
        if (t < best_lines) best_lines = t;
        s = cpu_now();
        int *ids, n;
        if (tok_encode(tok, text, len, &ids, &n)) { fprintf(stderr, "%s\n", err_msg()); return 1; }
        free(ids);
        t = cpu_now() - s;
        if (t < best_whole) best_whole = t;
    }
    printf("{\"bytes\": %zu, \"tokens\": %ld, \"load_wall_s\": %.3f, \"load_cpu_s\": %.3f, "
           "\"per_line_cpu_mb_per_s\": %.2f, \"whole_cpu_mb_per_s\": %.2f}\n",
           len, tokens, load, load_cpu, len / 1e6 / best_lines, len / 1e6 / best_whole);
    free(text);
    tok_free(tok);
    return 0;
}
