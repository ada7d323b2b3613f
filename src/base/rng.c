// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3").
#include "base/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void philox4x32(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

static double to_unit(uint32_t hi, uint32_t lo) {
    uint64_t bits = ((uint64_t)hi << 21) ^ (lo >> 11);   // 53 bits
    return (double)(bits & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

double rng_uniform_at(uint64_t seed, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    uint32_t ctr[4] = {a, b, c, d}, key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, out[4];
    philox4x32(out, ctr, key);
    return to_unit(out[0], out[1]);
}

// Sequential streams use the top of the counter space (0xFFFFFFFF in the last
// word) so they never collide with keyed draws whose coordinates are small.
static void draw(Rng *r, uint32_t out[4]) {
    uint32_t ctr[4] = {(uint32_t)r->counter, (uint32_t)(r->counter >> 32), 0x5EEDu, 0xFFFFFFFFu};
    uint32_t key[2] = {(uint32_t)r->seed, (uint32_t)(r->seed >> 32)};
    philox4x32(out, ctr, key);
    r->counter++;
}

void rng_init(Rng *r, uint64_t seed) { r->seed = seed; r->counter = 0; }

uint32_t rng_u32(Rng *r) { uint32_t o[4]; draw(r, o); return o[0]; }

uint64_t rng_u64(Rng *r) { uint32_t o[4]; draw(r, o); return ((uint64_t)o[0] << 32) | o[1]; }

double rng_uniform(Rng *r) { uint32_t o[4]; draw(r, o); return to_unit(o[0], o[1]); }

uint64_t rng_below(Rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rng_u64(r); while (x >= limit);
    return x % n;
}

double rng_normal(Rng *r) {
    uint32_t o[4];
    draw(r, o);
    double u1 = 1.0 - to_unit(o[0], o[1]);   // (0, 1]
    double u2 = to_unit(o[2], o[3]);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
