// SVG line charts for the run report. Coordinates are written with one decimal;
// NaN values break a line into segments instead of being drawn as zero.
#include "report/chart.h"
#include "report/html.h"

#include <math.h>
#include <stdlib.h>

// Canvas and plot area in SVG user units (the <svg> is drawn at this size).
enum { W = 560, H = 236, ML = 60, MR = 16, MT = 12, MB = 30 };

static const char *const palette[] = {"#2563eb", "#dc2626", "#16a34a", "#9333ea",
                                      "#ea580c", "#0891b2", "#be185d", "#4d7c0f"};

typedef struct {
    double xlo, xhi, ylo, yhi;   // axis ranges (data units)
} Frame;

static double px(const Frame *fr, double x) { return ML + (x - fr->xlo) / (fr->xhi - fr->xlo) * (W - ML - MR); }
static double py(const Frame *fr, double y) { return (H - MB) - (y - fr->ylo) / (fr->yhi - fr->ylo) * (H - MB - MT); }

void chart_ticks(double lo, double hi, int target, int integer, double *first, double *step, int *count) {
    if (!(hi > lo)) hi = lo + 1;
    double raw = (hi - lo) / (target > 0 ? target : 1);
    double mag = pow(10, floor(log10(raw))), r = raw / mag;
    double s = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
    if (integer && s < 1) s = 1;
    // The 1e-9 keeps 0.3 / 0.1 = 2.9999999999999996 on tick 3, not 2.
    double a = floor(lo / s + 1e-9) * s, b = ceil(hi / s - 1e-9) * s;
    int k = (int)llround((b - a) / s) + 1;
    *first = a;
    *step = s;
    *count = k < 2 ? 2 : k;
}

// A tick label: as many decimals as the step needs; for tiny or huge values %g
// with enough significant digits to tell neighbouring ticks apart (a series
// near 5.756 with ticks 2e-6 apart reads 5.755998, 5.756, 5.756002).
static void tick_label(char *buf, size_t cap, double v, double step) {
    if (fabs(v) < step * 1e-6) v = 0;
    if (v == 0 && step < 1e-3) {
        snprintf(buf, cap, "0");
    } else if (step < 1e-3 || fabs(v) >= 1e5) {
        int sig = (int)(floor(log10(fabs(v)) + 1e-9) - floor(log10(step) + 1e-9)) + 1;
        snprintf(buf, cap, "%.*g", sig < 1 ? 1 : sig > 15 ? 15 : sig, v);
    } else if (step >= 1) {
        snprintf(buf, cap, "%.0f", v);
    } else {
        snprintf(buf, cap, "%.*f", (int)ceil(-log10(step) - 1e-9), v);
    }
}

int chart_has_data(const Chart *c) {
    for (int s = 0; s < c->n_series; s++)
        for (int i = 0; i < c->n; i++)
            if (isfinite(c->series[s].y[i]) && isfinite(c->x[i])) return 1;
    return 0;
}

static int series_has_data(const Chart *c, const double *y) {
    for (int i = 0; i < c->n; i++)
        if (isfinite(y[i]) && isfinite(c->x[i])) return 1;
    return 0;
}

static void widen(double v, double *lo, double *hi) {
    if (!isfinite(v)) return;
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

static Frame frame_of(const Chart *c) {
    Frame fr = {INFINITY, -INFINITY, INFINITY, -INFINITY};
    for (int i = 0; i < c->n; i++) {
        if (!isfinite(c->x[i])) continue;
        widen(c->x[i], &fr.xlo, &fr.xhi);
        for (int s = 0; s < c->n_series; s++) widen(c->series[s].y[i], &fr.ylo, &fr.yhi);
        if (c->band_lo && c->band_hi && isfinite(c->band_lo[i]) && isfinite(c->band_hi[i])) {
            widen(c->band_lo[i], &fr.ylo, &fr.yhi);
            widen(c->band_hi[i], &fr.ylo, &fr.yhi);
        }
    }
    if (c->from_zero) widen(0, &fr.ylo, &fr.yhi);
    if (c->fraction && fr.ylo >= 0 && fr.yhi <= 1) fr.ylo = 0, fr.yhi = 1;
    if (fr.yhi == fr.ylo) {
        double pad = fr.ylo != 0 ? fabs(fr.ylo) * 0.1 : 1;
        if (!(c->from_zero && fr.ylo == 0)) fr.ylo -= pad;
        fr.yhi += pad;
    }
    return fr;
}

// The line through (x[i], y[i]); a NaN ends the current segment. Lone points
// (a segment of one) get a dot so they stay visible.
static void write_line(FILE *f, const Frame *fr, const Chart *c, const double *y, const char *cls,
                       const char *key, const char *color, double width, double opacity) {
    fprintf(f, "<path class=\"%s\" data-key=\"", cls);
    html_escape_str(f, key);
    fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-opacity=\"%.2f\" "
               "stroke-linejoin=\"round\" d=\"", color, width, opacity);
    int run = 0, printed = 0;
    for (int i = 0; i < c->n; i++) {
        if (!isfinite(y[i]) || !isfinite(c->x[i])) {
            run = 0;
            continue;
        }
        fprintf(f, "%s%c%.1f %.1f", printed++ ? " " : "", run++ ? 'L' : 'M', px(fr, c->x[i]), py(fr, y[i]));
    }
    fprintf(f, "\"/>\n");
    for (int i = 0; i < c->n; i++) {
        int here = isfinite(y[i]) && isfinite(c->x[i]);
        int prev = i > 0 && isfinite(y[i - 1]) && isfinite(c->x[i - 1]);
        int next = i + 1 < c->n && isfinite(y[i + 1]) && isfinite(c->x[i + 1]);
        if (here && !prev && !next)
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", px(fr, c->x[i]), py(fr, y[i]), color);
    }
}

// Centred moving average over 2h+1 steps (finite values only); NaN stays NaN
// so the smooth line has the same gaps as the raw one.
static void smooth(double *out, const double *y, int n, int h) {
    for (int i = 0; i < n; i++) {
        out[i] = NAN;
        if (!isfinite(y[i])) continue;
        double sum = 0;
        int k = 0;
        for (int j = i - h; j <= i + h; j++)
            if (j >= 0 && j < n && isfinite(y[j])) sum += y[j], k++;
        out[i] = sum / k;
    }
}

static void write_band(FILE *f, const Frame *fr, const Chart *c, const char *color) {
    fprintf(f, "<path class=\"band\" fill=\"%s\" fill-opacity=\"0.12\" stroke=\"none\" d=\"", color);
    const double *lo = c->band_lo, *hi = c->band_hi;
    for (int i = 0; i < c->n;) {
        if (!isfinite(lo[i]) || !isfinite(hi[i]) || !isfinite(c->x[i])) {
            i++;
            continue;
        }
        int j = i;
        while (j < c->n && isfinite(lo[j]) && isfinite(hi[j]) && isfinite(c->x[j])) j++;
        for (int k = i; k < j; k++) fprintf(f, "%c%.1f %.1f ", k == i ? 'M' : 'L', px(fr, c->x[k]), py(fr, lo[k]));
        for (int k = j - 1; k >= i; k--) fprintf(f, "L%.1f %.1f ", px(fr, c->x[k]), py(fr, hi[k]));
        fprintf(f, "Z ");
        i = j;
    }
    fprintf(f, "\"/>\n");
}

static void write_axes(FILE *f, Frame *fr) {
    double first, step;
    int count;
    char buf[64];
    chart_ticks(fr->ylo, fr->yhi, 5, 0, &first, &step, &count);
    fr->ylo = first;
    fr->yhi = first + (count - 1) * step;
    double xf, xs;
    int xc;
    chart_ticks(fr->xlo, fr->xhi, 6, 1, &xf, &xs, &xc);
    fr->xlo = xf;
    fr->xhi = xf + (xc - 1) * xs;
    fprintf(f, "<g class=\"axis y\" font-size=\"11\" fill=\"#555\" text-anchor=\"end\">\n");
    for (int k = 0; k < count; k++) {
        double v = first + k * step, y = py(fr, v);
        tick_label(buf, sizeof buf, v, step);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e7eb\"/>"
                   "<text x=\"%d\" y=\"%.1f\">%s</text>\n", ML, W - MR, y, y, ML - 6, y + 4, buf);
    }
    fprintf(f, "</g>\n<g class=\"axis x\" font-size=\"11\" fill=\"#555\" text-anchor=\"middle\">\n");
    for (int k = 0; k < xc; k++) {
        double v = xf + k * xs, x = px(fr, v);
        tick_label(buf, sizeof buf, v, xs);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#9ca3af\"/>"
                   "<text x=\"%.1f\" y=\"%d\">%s</text>\n", x, x, H - MB, H - MB + 4, x, H - MB + 16, buf);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">step</text>\n</g>\n", W - MR, H - 2);
    fprintf(f, "<path class=\"frame\" fill=\"none\" stroke=\"#9ca3af\" d=\"M%d %d V%d H%d\"/>\n", ML, MT, H - MB, W - MR);
}

static double last_value(const Chart *c, const double *y) {
    for (int i = c->n - 1; i >= 0; i--)
        if (isfinite(y[i])) return y[i];
    return NAN;
}

void chart_write(FILE *f, const Chart *c) {
    fprintf(f, "<figure class=\"chart\" id=\"chart-%s\">\n<figcaption><b>", c->id);
    html_escape_str(f, c->title);
    fprintf(f, "</b>");
    for (int s = 0; s < c->n_series; s++) {
        if (!series_has_data(c, c->series[s].y)) continue;
        fprintf(f, " <span class=\"key\"><i style=\"background:%s\"></i>", palette[s % 8]);
        if (c->n_series > 1) {
            html_escape_str(f, c->series[s].label);
            fprintf(f, " ");
        }
        fprintf(f, "<span class=\"last\">last %.4g</span></span>", last_value(c, c->series[s].y));
    }
    fprintf(f, "</figcaption>\n<svg class=\"chart\" data-chart=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
               "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"system-ui, sans-serif\">\n",
            c->id, W, H, W, H);
    Frame fr = frame_of(c);
    write_axes(f, &fr);
    if (c->band_lo && c->band_hi) write_band(f, &fr, c, palette[0]);
    int finite = 0;
    for (int i = 0; i < c->n; i++) finite += isfinite(c->x[i]);
    int h = (int)lround(finite / 30.0);
    double *sm = finite >= 12 ? malloc(sizeof(double) * (size_t)c->n) : NULL;   // (n)
    if (h < 1) h = 1;
    for (int s = 0; s < c->n_series; s++) {
        const ChartSeries *se = &c->series[s];
        if (!series_has_data(c, se->y)) continue;
        const char *color = palette[s % 8];
        write_line(f, &fr, c, se->y, "raw", se->key, color, sm ? 1.2 : 1.8, sm ? 0.35 : 1.0);
        if (sm) {
            smooth(sm, se->y, c->n, h);
            write_line(f, &fr, c, sm, "smooth", se->key, color, 2.0, 1.0);
        }
    }
    free(sm);
    fprintf(f, "</svg>\n</figure>\n");
}
