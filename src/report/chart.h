// Line charts over training steps as inline SVG: axes, "nice" tick labels, the
// raw series, a centred moving-average line and an optional shaded band.
// Pure drawing: it reads no files and never scales or reorders the data.
#ifndef AHA_REPORT_CHART_H
#define AHA_REPORT_CHART_H

#include <stdio.h>

typedef struct {
    const char *key;      // metrics key, written as data-key (escaped)
    const char *label;    // legend text (escaped)
    const double *y;      // (n) values; NaN = nothing logged at that step
} ChartSeries;

enum { CHART_MAX_SERIES = 8 };

typedef struct {
    const char *id;                    // data-chart attribute, plain ASCII
    const char *title;                 // caption (escaped)
    const double *x;                   // (n) steps
    int n;
    ChartSeries series[CHART_MAX_SERIES];
    int n_series;
    const double *band_lo, *band_hi;   // (n) shaded band, or NULL
    int from_zero;                     // the y axis always includes 0
    int fraction;                      // values in [0, 1]: cap the axis at 1
} Chart;

// 1 when some series has a finite value at some step (the chart has a line).
int chart_has_data(const Chart *c);
// Write <figure> with a caption, a legend when there are several series, and
// an <svg class="chart"> of fixed size. Lines are paths with class "raw"
// (one per series with data), "smooth" and "band".
void chart_write(FILE *f, const Chart *c);

// Ticks for [lo, hi]: about `target` steps of 1, 2 or 5 times a power of ten,
// starting at *first (a multiple of *step, <= lo) and ending at first +
// (*count - 1) * step (>= hi). integer = 1 keeps the step >= 1.
void chart_ticks(double lo, double hi, int target, int integer, double *first, double *step, int *count);

#endif
