/* SPDX-License-Identifier: MIT */
/*
 * core/rng.h — a small, fast, explicitly seeded PRNG (xoshiro256**).
 *
 * Every random choice in the pure layers is drawn from a `struct rng` that
 * the caller seeded; there is no hidden global generator. Equal seeds give
 * equal streams on every platform, which is what makes a simulation
 * reproducible from its seed. Not cryptographic: nonces in the real agent
 * come from the OS, never from here.
 */
#ifndef SHOAL_CORE_RNG_H
#define SHOAL_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

/* Seed through splitmix64, so any seed (even 0) gives a good state. */
void rng_seed(struct rng *r, uint64_t seed);

/* Next 64 uniformly random bits. */
uint64_t rng_next(struct rng *r);

/* Uniform integer in [0, n), without modulo bias (Lemire's method).
 * n == 0 returns 0. */
uint64_t rng_below(struct rng *r, uint64_t n);

/* Uniform integer in [lo, hi] (inclusive; lo <= hi). */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi);

/* Uniform double in [0, 1) with 53 random bits. */
double rng_double(struct rng *r);

/* Fill n bytes with random bits. */
void rng_fill(struct rng *r, void *p, size_t n);

/* Fisher-Yates shuffle of n elements of `size` bytes each (size <= 64). */
void rng_shuffle(struct rng *r, void *base, size_t n, size_t size);

/* Shuffle an array of uint32_t (the common case, without memcpy). */
void rng_shuffle_u32(struct rng *r, uint32_t *a, size_t n);

/* Derive an independent generator from r (advances r by one draw). Used to
 * give each consumer its own stream so that adding draws in one place does
 * not shift the draws of another. */
void rng_split(struct rng *r, struct rng *out);

/* A child generator from a parent seed and a stream number, without a
 * parent object: rng_seed(out, hash of (seed, stream)). */
void rng_stream(struct rng *out, uint64_t seed, uint64_t stream);

#endif
