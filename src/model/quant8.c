// The dynamic 8-bit map and blockwise encode/decode (see quant8.h).
#include "model/quant8.h"

#include <math.h>
#include <stdlib.h>

static float MAP_SIGNED[256], MAP_UNSIGNED[256];
static int built;

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

// The positive levels of a map with b fraction bits at level 0, into out;
// returns how many (2^(b+1) - 1).
static int levels(int b, float *out) {
    int n = 0;
    for (int e = 0; e <= b; e++) {
        int count = 1 << (b - e);
        double scale = pow(10.0, -e);
        for (int k = 1; k <= count; k++) out[n++] = (float)(scale * (0.1 + 0.9 * k / count));
    }
    return n;
}

static void build(void) {
    float pos[255];
    int n = levels(6, pos);   // 127
    for (int i = 0; i < n; i++) MAP_SIGNED[i] = -pos[i], MAP_SIGNED[n + 1 + i] = pos[i];
    MAP_SIGNED[n] = 0;
    qsort(MAP_SIGNED, 2 * (size_t)n + 1, sizeof(float), cmp_float);
    MAP_SIGNED[255] = MAP_SIGNED[254];
    n = levels(7, pos);   // 255
    for (int i = 0; i < n; i++) MAP_UNSIGNED[i + 1] = pos[i];
    MAP_UNSIGNED[0] = 0;
    qsort(MAP_UNSIGNED, 256, sizeof(float), cmp_float);
    built = 1;
}

const float *q8_map(int is_signed) {
    if (!built) build();
    return is_signed ? MAP_SIGNED : MAP_UNSIGNED;
}

// The code of the level nearest y among map[0..n), ascending.
static uint8_t nearest(const float *map, int n, float y) {
    int lo = 0, hi = n - 1;   // invariant: the answer lies in [lo, hi]
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (map[mid] <= y) lo = mid;
        else hi = mid;
    }
    return (uint8_t)(y - map[lo] <= map[hi] - y ? lo : hi);
}

float q8_encode(const float *x, size_t n, int is_signed, uint8_t *codes) {
    const float *map = q8_map(is_signed);
    int levels_n = is_signed ? 255 : 256;
    float absmax = 0;
    for (size_t i = 0; i < n; i++) absmax = fmaxf(absmax, fabsf(x[i]));
    if (absmax == 0) {
        uint8_t zero = nearest(map, levels_n, 0);
        for (size_t i = 0; i < n; i++) codes[i] = zero;
        return 0;
    }
    for (size_t i = 0; i < n; i++) codes[i] = nearest(map, levels_n, x[i] / absmax);
    return absmax;
}

void q8_decode(const uint8_t *codes, size_t n, int is_signed, float absmax, float *x) {
    const float *map = q8_map(is_signed);
    for (size_t i = 0; i < n; i++) x[i] = map[codes[i]] * absmax;
}
