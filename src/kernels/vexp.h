// e^x in plain float arithmetic that the compiler can vectorize (expf is a
// libm call, one element at a time): Cody–Waite reduction x = n·ln2 + r with
// |r| ≤ ln2/2, a degree-7 polynomial for e^r (the Cephes expf coefficients) and
// 2^n built in the exponent bits. Within 2 ulp of expf for finite x; 0 below
// -87.3 (where expf is subnormal), FLT_MAX-sized above 88.37 instead of +inf.
#ifndef AHA_VEXP_H
#define AHA_VEXP_H

#include <stdint.h>
#include <string.h>

static inline float vexp(float x) {
    const float lo = -87.33654f, hi = 88.37626f;
    float xc = x < lo ? lo : x;
    xc = xc > hi ? hi : xc;
    // n = round(x / ln2): adding 1.5·2^23 leaves the rounded integer in the low mantissa bits
    const float shifter = 12582912.0f;
    float t = xc * 1.44269504088896341f + shifter;
    float n = t - shifter;
    float r = xc - n * 0.693359375f;       // ln2 split in a part exact in 9 bits ...
    r = r - n * -2.12194440e-4f;           // ... and the rest
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // n + bias: t's bits minus those of the shifter. Unsigned, so that a NaN
    // (whose bits are no such integer) wraps instead of overflowing a shift.
    uint32_t bits;
    memcpy(&bits, &t, sizeof bits);
    uint32_t e = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &e, sizeof scale);
    float y = p * scale;
    return x < lo ? 0.0f : y;
}

#endif
