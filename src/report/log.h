// Run logs: JSON Lines appenders (metrics.jsonl, samples.jsonl) and a console
// progress line — a bar with ETA on a terminal, plain lines otherwise.
#ifndef AHA_REPORT_LOG_H
#define AHA_REPORT_LOG_H

#include <cjson/cJSON.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    char path[4096];
} JsonlWriter;

// Open for appending (truncate = 1 starts the file anew). Returns 0 or -1.
int jsonl_writer_open(JsonlWriter *w, const char *path, int truncate);
// Write one object as one line and flush it. Returns 0 or -1.
int jsonl_writer_put(JsonlWriter *w, const cJSON *obj);
void jsonl_writer_close(JsonlWriter *w);
// Cut a run log back to what a checkpoint of `step` counted: its first n_lines
// lines, which must all be there, the last of them from step `step` (exact) or
// from a step at most `step`, and the line after them, if any, from a later
// step. Only the lines after them are dropped (steps the checkpoint never saw,
// a partial line). Returns 0, or -1 naming path (and line) when the log does
// not match the checkpoint.
int jsonl_rewind(const char *path, long n_lines, long step, int exact);

typedef struct {
    FILE *out;
    int tty;          // draw a bar with \r, else print whole lines
    long total;
    double t0;
    long start;       // first step of this process (for the ETA after a resume)
    const char *label;
} Progress;

void progress_init(Progress *p, FILE *out, const char *label, long start, long total);
// Step `done` of total finished; text is the metrics summary for this step.
void progress_update(Progress *p, long done, const char *text);
void progress_end(Progress *p);

#endif
