// The run report: report.html, one self-contained page (inline CSS and SVG, no
// scripts, nothing fetched) rebuilt from a run directory's metrics.jsonl,
// samples.jsonl, config.json and zero.json. It never changes the run's files.
#ifndef AHA_REPORT_HTML_H
#define AHA_REPORT_HTML_H

#include <stddef.h>
#include <stdio.h>

// Write the report for run_dir to out_path (NULL means run_dir/report.html),
// atomically. metrics.jsonl must exist; samples.jsonl, config.json and
// zero.json are shown when present. Returns 0, or -1 with err_set naming the
// file (and line, for JSONL) that could not be used.
int report_write(const char *run_dir, const char *out_path);

// HTML-escape n bytes of untrusted text (& < > " ' become entities; control
// characters other than tab and newline become U+FFFD) onto f.
void html_escape(FILE *f, const char *s, size_t n);
// Same for a NUL-terminated string (NULL prints nothing).
void html_escape_str(FILE *f, const char *s);

#endif
