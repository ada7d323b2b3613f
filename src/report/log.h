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
// Keep only the first n_lines lines of a JSONL file (resume drops lines written
// after the checkpoint it resumes from). Returns 0 or -1.
int jsonl_truncate_lines(const char *path, long n_lines);

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
