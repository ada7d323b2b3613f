// Counter-based random numbers (Philox4x32-10). A draw is a pure function of
// (seed, counter): sampling keys it by (step, prompt, sample, position) so a
// completion never depends on batch layout, thread count or MPI rank.
// Rng is a sequential stream over the same function whose whole state is two
// integers, so checkpoints save and restore it exactly.
#ifndef AHA_RNG_H
#define AHA_RNG_H

#include <stdint.h>

// out = Philox4x32-10(counter ctr, key key).
void philox4x32(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2]);

// A uniform double in [0, 1) keyed by seed and four 32-bit coordinates.
double rng_uniform_at(uint64_t seed, uint32_t a, uint32_t b, uint32_t c, uint32_t d);

typedef struct {
    uint64_t seed;     // key
    uint64_t counter;  // draws taken so far
} Rng;

void rng_init(Rng *r, uint64_t seed);
uint32_t rng_u32(Rng *r);
uint64_t rng_u64(Rng *r);
// Uniform in [0, 1), 53 random bits.
double rng_uniform(Rng *r);
// Uniform integer in [0, n), n > 0, without modulo bias.
uint64_t rng_below(Rng *r, uint64_t n);
// Standard normal (Box-Muller on one draw).
double rng_normal(Rng *r);

#endif
