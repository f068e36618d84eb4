/* SPDX-License-Identifier: MIT */
/*
 * core/rng.c — xoshiro256** seeded through splitmix64.
 *
 * xoshiro256** (Blackman and Vigna) passes BigCrush, has a 2^256 period and
 * costs a handful of cycles. splitmix64 expands a 64-bit seed into the 256-bit
 * state so that nearby seeds (0, 1, 2, ...) still give unrelated streams and
 * the state is never all zero.
 *
 * Bounded draws use Lemire's multiply-and-reject: take the high 64 bits of a
 * 128-bit product and reject the few low values that would bias the result.
 * Shuffles are Fisher-Yates over those unbiased draws, so every permutation
 * is equally likely.
 *
 * The 128-bit product is exact arithmetic, so the draws do not depend on
 * how it is computed: with `unsigned __int128` (a GCC/Clang extension, not
 * C11, present where __SIZEOF_INT128__ is defined: every 64-bit target we
 * build on) or, elsewhere, from four 32x32-bit products. Both give the
 * same bits, so a simulation replays the same on either; defining
 * SHOAL_RNG_PORTABLE forces the second (tests/unit/core_rng_portable_test.c
 * checks the two agree).
 */
#include "core/rng.h"

#include <assert.h>
#include <string.h>

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void
rng_seed(struct rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* The full 128-bit product a * b: returns its low 64 bits, *hi the high. */
static inline uint64_t
mul_64x64(uint64_t a, uint64_t b, uint64_t *hi)
{
#if defined(__SIZEOF_INT128__) && !defined(SHOAL_RNG_PORTABLE)
	unsigned __int128 m = (unsigned __int128)a * b;

	*hi = (uint64_t)(m >> 64);
	return (uint64_t)m;
#else
	uint64_t a_lo = a & 0xffffffffU, a_hi = a >> 32;
	uint64_t b_lo = b & 0xffffffffU, b_hi = b >> 32;
	uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi;
	uint64_t hl = a_hi * b_lo, hh = a_hi * b_hi;
	/* At most 3 * (2^32 - 1): no overflow. */
	uint64_t mid = (ll >> 32) + (lh & 0xffffffffU) + (hl & 0xffffffffU);

	*hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
	return (mid << 32) | (ll & 0xffffffffU);
#endif
}

uint64_t
rng_below(struct rng *r, uint64_t n)
{
	uint64_t hi, lo, t;

	if (n == 0)
		return 0;
	lo = mul_64x64(rng_next(r), n, &hi);
	if (lo < n) {
		t = -n % n; /* 2^64 mod n */
		while (lo < t)
			lo = mul_64x64(rng_next(r), n, &hi);
	}
	return hi;
}

uint64_t
rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	assert(lo <= hi);
	if (lo == 0 && hi == UINT64_MAX)
		return rng_next(r);
	return lo + rng_below(r, hi - lo + 1);
}

double
rng_double(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

void
rng_fill(struct rng *r, void *p, size_t n)
{
	uint8_t *o = p;

	while (n) {
		uint64_t v = rng_next(r);
		size_t k = n < 8 ? n : 8;

		for (size_t i = 0; i < k; i++)
			o[i] = (uint8_t)(v >> (8 * i));
		o += k;
		n -= k;
	}
}

void
rng_shuffle(struct rng *r, void *base, size_t n, size_t size)
{
	uint8_t tmp[64];
	uint8_t *a = base;

	assert(size <= sizeof(tmp));
	if (n < 2)
		return;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)rng_below(r, (uint64_t)i + 1);

		if (j == i)
			continue;
		memcpy(tmp, a + i * size, size);
		memcpy(a + i * size, a + j * size, size);
		memcpy(a + j * size, tmp, size);
	}
}

void
rng_shuffle_u32(struct rng *r, uint32_t *a, size_t n)
{
	if (n < 2)
		return;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)rng_below(r, (uint64_t)i + 1);
		uint32_t t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

void
rng_split(struct rng *r, struct rng *out)
{
	rng_seed(out, rng_next(r));
}

void
rng_stream(struct rng *out, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1342543de82ef95ULL);

	(void)splitmix64(&x);
	rng_seed(out, splitmix64(&x) ^ stream);
}
