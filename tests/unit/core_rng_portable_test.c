/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_rng_portable_test.c — core/rng without unsigned __int128.
 *
 * rng_below() takes the high half of a 64x64-bit product. Where the
 * compiler has `unsigned __int128` (every 64-bit target we build on) that
 * is one multiply; elsewhere rng.c builds the product from four 32-bit
 * halves. A simulation must replay the same on both, so this test compiles
 * rng.c here with SHOAL_RNG_PORTABLE (the fallback, whatever the target)
 * and checks it draw for draw: the product against __int128 on edge and
 * random operands, the pinned values of core_rng_test, and long streams of
 * rng_below against a reference Lemire written with __int128 (these two
 * are skipped where the compiler lacks it).
 *
 * The definitions compiled here take the place of the library's rng.o at
 * link time (the linker takes an archive member only for a symbol still
 * undefined, and this file defines them all).
 */
#define SHOAL_RNG_PORTABLE 1
#include "core/rng.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#ifdef __SIZEOF_INT128__
/* What rng_below computed before the fallback existed. */
static uint64_t
reference_below(struct rng *r, uint64_t n)
{
	unsigned __int128 m;
	uint64_t lo, t;

	if (n == 0)
		return 0;
	m = (unsigned __int128)rng_next(r) * n;
	lo = (uint64_t)m;
	if (lo < n) {
		t = -n % n;
		while (lo < t) {
			m = (unsigned __int128)rng_next(r) * n;
			lo = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

static void
check_product(uint64_t a, uint64_t b)
{
	unsigned __int128 m = (unsigned __int128)a * b;
	uint64_t hi, lo = mul_64x64(a, b, &hi);

	if (lo != (uint64_t)m || hi != (uint64_t)(m >> 64))
		fail_msg("%#llx * %#llx: got %#llx:%#llx, want %#llx:%#llx",
			 (unsigned long long)a, (unsigned long long)b,
			 (unsigned long long)hi, (unsigned long long)lo,
			 (unsigned long long)(m >> 64), (unsigned long long)m);
}
#endif

static void
test_product_matches_int128(void **state)
{
#ifdef __SIZEOF_INT128__
	static const uint64_t edge[] = {
		0,
		1,
		2,
		0xffffffffULL,
		0x100000000ULL,
		0x100000001ULL,
		0xfffffffffULL,
		0x7fffffffffffffffULL,
		0x8000000000000000ULL,
		0xffffffff00000000ULL,
		0xffffffffffffffffULL - 1,
		0xffffffffffffffffULL,
		0x9e3779b97f4a7c15ULL,
	};
	const size_t n_edge = sizeof(edge) / sizeof(edge[0]);
	struct rng r;

	(void)state;
	for (size_t i = 0; i < n_edge; i++)
		for (size_t j = 0; j < n_edge; j++)
			check_product(edge[i], edge[j]);
	rng_seed(&r, 2026);
	for (int i = 0; i < 200000; i++) {
		uint64_t a = rng_next(&r), b = rng_next(&r);

		check_product(a, b);
		/* Small and half-width operands, where carries are rare. */
		check_product(a >> (b & 63), b >> (a & 63));
	}
#else
	(void)state;
	skip();
#endif
}

static void
test_below_known_values(void **state)
{
	/* The values pinned in core_rng_test.c. */
	static const uint64_t want10[] = {0, 3, 6, 9, 9, 7, 7, 8, 7, 5};
	static const uint64_t wantbig[] = {700578, 278752, 839629, 981100,
					   990863};
	struct rng r;

	(void)state;
	rng_seed(&r, 42);
	for (int i = 0; i < 10; i++)
		assert_int_equal(rng_below(&r, 10), want10[i]);
	rng_seed(&r, 7);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rng_below(&r, 1000003), wantbig[i]);
}

static void
test_below_streams_match_int128(void **state)
{
#ifdef __SIZEOF_INT128__
	/* Small n, the sizes the simulator draws, and n near 2^63 and 2^64
	 * where Lemire rejects often: a rejection taken by one and not the
	 * other would shift every later draw. */
	static const uint64_t ns[] = {
		1,
		2,
		3,
		10,
		100,
		1000,
		1000003,
		0xffffffffULL,
		0x100000001ULL,
		(1ULL << 63) + 1,
		3ULL << 62,
		0xffffffffffffffffULL,
	};
	struct rng a, b, pick;

	(void)state;
	for (uint64_t seed = 0; seed < 8; seed++) {
		rng_seed(&a, seed);
		rng_seed(&b, seed);
		rng_seed(&pick, seed + 1000);
		for (int i = 0; i < 20000; i++) {
			uint64_t n = ns[rng_next(&pick) %
					(sizeof(ns) / sizeof(ns[0]))];
			uint64_t got = rng_below(&a, n);
			uint64_t want = reference_below(&b, n);

			if (got != want)
				fail_msg("seed %llu, draw %d, n %llu: %llu, "
					 "want %llu",
					 (unsigned long long)seed, i,
					 (unsigned long long)n,
					 (unsigned long long)got,
					 (unsigned long long)want);
		}
		assert_memory_equal(&a, &b, sizeof(a));
	}
#else
	(void)state;
	skip();
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_product_matches_int128),
		cmocka_unit_test(test_below_known_values),
		cmocka_unit_test(test_below_streams_match_int128),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
