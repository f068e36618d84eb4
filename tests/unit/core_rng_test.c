/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_rng_test.c — core/rng: the seeded xoshiro256** generator.
 *
 * The first values of several seeds are pinned (computed with an
 * independent Python model of splitmix64 + xoshiro256**), so a change to the
 * generator, which would silently change every simulation, breaks this test.
 * Statistical checks use fixed seeds, so they are deterministic, not flaky:
 * chi-square on rng_below for small n, the Lemire rejection at a large n
 * where plain modulo would be grossly biased, and all six permutations of
 * three elements from each shuffle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/rng.h"

static void
test_known_first_values(void **state)
{
	static const struct {
		uint64_t seed;
		uint64_t v[4];
	} cases[] = {
		{0,
		 {0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL,
		  0x1a5f849d4933e6e0ULL, 0x6aa594f1262d2d2cULL}},
		{1,
		 {0xb3f2af6d0fc710c5ULL, 0x853b559647364ceaULL,
		  0x92f89756082a4514ULL, 0x642e1c7bc266a3a7ULL}},
		{42,
		 {0x15780b2e0c2ec716ULL, 0x6104d9866d113a7eULL,
		  0xae17533239e499a1ULL, 0xecb8ad4703b360a1ULL}},
		{0xdeadbeef,
		 {0xc5555444a74d7e83ULL, 0x65c30d37b4b16e38ULL,
		  0x54f773200a4efa23ULL, 0x429aed75fb958af7ULL}},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rng r;

		rng_seed(&r, cases[i].seed);
		for (int k = 0; k < 4; k++) {
			uint64_t v = rng_next(&r);

			if (v != cases[i].v[k])
				fail_msg("seed %llu draw %d: %016llx, want "
					 "%016llx",
					 (unsigned long long)cases[i].seed, k,
					 (unsigned long long)v,
					 (unsigned long long)cases[i].v[k]);
		}
	}
}

static void
test_same_seed_same_stream(void **state)
{
	struct rng a, b, c;
	int same = 0;

	(void)state;
	rng_seed(&a, 12345);
	rng_seed(&b, 12345);
	rng_seed(&c, 12346);
	for (int i = 0; i < 10000; i++) {
		uint64_t x = rng_next(&a);

		assert_true(x == rng_next(&b));
		same += x == rng_next(&c);
	}
	assert_int_equal(same, 0);
	/* Reseeding restarts the stream. */
	rng_seed(&a, 12345);
	rng_seed(&b, 12345);
	assert_true(rng_next(&a) == rng_next(&b));
}

static void
test_below_known_values(void **state)
{
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
test_below_edges(void **state)
{
	struct rng r, copy;

	(void)state;
	rng_seed(&r, 99);
	copy = r;
	assert_int_equal(rng_below(&r, 0), 0);
	/* n == 0 draws nothing. */
	assert_memory_equal(&r, &copy, sizeof(r));
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(rng_below(&r, 1), 0);
		assert_true(rng_below(&r, 2) < 2);
		assert_true(rng_below(&r, UINT64_MAX) < UINT64_MAX);
		assert_true(rng_below(&r, (1ULL << 63) + 1) <= (1ULL << 63));
	}
}

/* Pearson's chi-square of observed counts against a uniform expectation. */
static double
chi_square(const unsigned *count, unsigned k, unsigned total)
{
	double e = (double)total / k, x = 0;

	for (unsigned i = 0; i < k; i++) {
		double d = count[i] - e;

		x += d * d / e;
	}
	return x;
}

static void
test_below_chi_square(void **state)
{
	/* Critical values of chi-square at p = 0.001 for k - 1 degrees of
	 * freedom: a fair generator fails one seed in a thousand, and these
	 * seeds are fixed, so the test is deterministic. */
	static const struct {
		unsigned k;
		double crit;
	} cases[] = {
		{2, 10.83}, {3, 13.82}, {5, 18.47},
		{6, 20.52}, {7, 22.46}, {10, 27.88},
	};
	const uint64_t seed = 31337;

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned count[10] = {0};
		unsigned k = cases[c].k, draws = 10000 * k;
		struct rng r;
		double x;

		rng_seed(&r, seed + c);
		for (unsigned i = 0; i < draws; i++) {
			uint64_t v = rng_below(&r, k);

			assert_true(v < k);
			count[v]++;
		}
		x = chi_square(count, k, draws);
		if (x > cases[c].crit)
			fail_msg("seed %llu, n=%u: chi-square %.2f > %.2f",
				 (unsigned long long)(seed + c), k, x,
				 cases[c].crit);
	}
}

static void
test_below_large_n_unbiased(void **state)
{
	/* n = 3 * 2^62. Plain `x % n` would map [0, 2^62) twice as often
	 * as the rest (probability 1/2 instead of 1/3). Lemire's rejection
	 * must give 1/3. With 30000 draws the standard deviation of the
	 * fraction is 0.0027; 0.02 is seven of them. */
	const uint64_t n = 3ULL << 62, seed = 777;
	unsigned low = 0, draws = 30000;
	struct rng r;
	double frac;

	(void)state;
	rng_seed(&r, seed);
	for (unsigned i = 0; i < draws; i++) {
		uint64_t v = rng_below(&r, n);

		assert_true(v < n);
		low += v < (1ULL << 62);
	}
	frac = (double)low / draws;
	if (frac < 1.0 / 3 - 0.02 || frac > 1.0 / 3 + 0.02)
		fail_msg("seed %llu: P(v < 2^62) = %.4f, want 1/3",
			 (unsigned long long)seed, frac);
}

static void
test_range(void **state)
{
	unsigned seen[3] = {0};
	struct rng r;

	(void)state;
	rng_seed(&r, 5);
	for (int i = 0; i < 3000; i++) {
		uint64_t v = rng_range(&r, 10, 12);

		assert_in_range(v, 10, 12);
		seen[v - 10]++;
		assert_int_equal(rng_range(&r, 5, 5), 5);
		assert_true(rng_range(&r, UINT64_MAX - 1, UINT64_MAX) >=
			    UINT64_MAX - 1);
	}
	for (int i = 0; i < 3; i++)
		assert_in_range(seen[i], 900, 1100);
	/* The full range is just the next draw. */
	{
		struct rng a, b;

		rng_seed(&a, 8);
		rng_seed(&b, 8);
		assert_true(rng_range(&a, 0, UINT64_MAX) == rng_next(&b));
	}
}

static void
test_double(void **state)
{
	struct rng r;
	double sum = 0;

	(void)state;
	rng_seed(&r, 42);
	/* (first draw >> 11) * 2^-53, from the pinned first value. */
	assert_true(rng_double(&r) ==
		    (double)(0x15780b2e0c2ec716ULL >> 11) * 0x1.0p-53);
	for (int i = 0; i < 100000; i++) {
		double d = rng_double(&r);

		assert_true(d >= 0.0 && d < 1.0);
		sum += d;
	}
	assert_true(sum / 100000 > 0.49 && sum / 100000 < 0.51);
}

static void
test_fill(void **state)
{
	/* Little-endian bytes of the first two draws of seed 9. */
	static const uint8_t want[11] = {0x60, 0xa0, 0x19, 0xf6, 0xec, 0x4e,
					 0xa9, 0x00, 0xf9, 0xfb, 0x52};
	uint8_t buf[12];
	struct rng r;

	(void)state;
	memset(buf, 0xaa, sizeof(buf));
	rng_seed(&r, 9);
	rng_fill(&r, buf, 11);
	assert_memory_equal(buf, want, 11);
	assert_int_equal(buf[11], 0xaa); /* not one byte more */
	rng_fill(&r, buf, 0);
	assert_memory_equal(buf, want, 11);
}

static unsigned
perm_index(const uint32_t *a)
{
	/* The six orders of {0, 1, 2}, numbered by the first two. */
	return a[0] * 2 + (a[1] > a[2] ? 1 : 0);
}

struct wide {
	uint32_t id;
	char pad[8];
};

static void
test_shuffle_all_permutations(void **state)
{
	const uint64_t seed = 2024;
	const unsigned rounds = 60000;
	unsigned count_u32[6] = {0}, count_gen[6] = {0};
	struct rng r;

	(void)state;
	rng_seed(&r, seed);
	for (unsigned i = 0; i < rounds; i++) {
		uint32_t a[3] = {0, 1, 2};
		struct wide w[3] = {{0, "zero"}, {1, "one"}, {2, "two"}};
		uint32_t ids[3];

		rng_shuffle_u32(&r, a, 3);
		assert_int_equal(a[0] + a[1] + a[2], 3);
		assert_true(a[0] != a[1] && a[1] != a[2] && a[0] != a[2]);
		count_u32[perm_index(a)]++;

		rng_shuffle(&r, w, 3, sizeof(w[0]));
		for (int k = 0; k < 3; k++) {
			ids[k] = w[k].id;
			/* Whole elements move, not just their first bytes. */
			assert_string_equal(w[k].pad, w[k].id == 0   ? "zero"
						      : w[k].id == 1 ? "one"
								     : "two");
		}
		count_gen[perm_index(ids)]++;
	}
	for (int p = 0; p < 6; p++) {
		if (count_u32[p] == 0 || count_gen[p] == 0)
			fail_msg("seed %llu: permutation %d never seen",
				 (unsigned long long)seed, p);
	}
	/* chi-square, 5 degrees of freedom, p = 0.001 */
	if (chi_square(count_u32, 6, rounds) > 20.52 ||
	    chi_square(count_gen, 6, rounds) > 20.52)
		fail_msg("seed %llu: shuffles not uniform (%.2f, %.2f)",
			 (unsigned long long)seed,
			 chi_square(count_u32, 6, rounds),
			 chi_square(count_gen, 6, rounds));
}

static void
test_shuffle_small_and_deterministic(void **state)
{
	uint32_t a[50], b[50];
	struct rng r, s, copy;

	(void)state;
	rng_seed(&r, 1);
	copy = r;
	rng_shuffle_u32(&r, a, 0);
	rng_shuffle_u32(&r, a, 1);
	rng_shuffle(&r, a, 0, 4);
	rng_shuffle(&r, a, 1, 4);
	/* Nothing to shuffle: nothing drawn. */
	assert_memory_equal(&r, &copy, sizeof(r));

	for (uint32_t i = 0; i < 50; i++)
		a[i] = b[i] = i;
	rng_seed(&r, 77);
	rng_seed(&s, 77);
	rng_shuffle_u32(&r, a, 50);
	rng_shuffle(&s, b, 50, sizeof(b[0]));
	/* Same draws, same permutation, whichever function. */
	assert_memory_equal(a, b, sizeof(a));
	{
		uint64_t seen = 0;

		for (int i = 0; i < 50; i++)
			seen |= 1ULL << a[i];
		assert_true(seen == (1ULL << 50) - 1);
	}
}

static void
test_split_and_stream(void **state)
{
	struct rng p, c, s1, s2;

	(void)state;
	rng_seed(&p, 42);
	rng_split(&p, &c);
	/* The child is seeded with the parent's first draw... */
	assert_true(rng_next(&c) == 0x8ee445d14631c453ULL);
	assert_true(rng_next(&c) == 0x106fa1a13296fe62ULL);
	/* ...and the parent moved on by exactly one draw. */
	assert_true(rng_next(&p) == 0x6104d9866d113a7eULL);

	rng_stream(&s1, 1234, 5);
	assert_true(rng_next(&s1) == 0xa3614c8a662ea8e9ULL);
	assert_true(rng_next(&s1) == 0x8c1ca620e5a94662ULL);
	rng_stream(&s2, 1234, 6);
	assert_true(rng_next(&s2) == 0xfb43a3ee1b319395ULL);
	rng_stream(&s1, 0, 0);
	assert_true(rng_next(&s1) == 0x66feec5d9fa2975aULL);
	rng_stream(&s1, 1234, 5);
	rng_stream(&s2, 1234, 5);
	for (int i = 0; i < 100; i++)
		assert_true(rng_next(&s1) == rng_next(&s2));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_first_values),
		cmocka_unit_test(test_same_seed_same_stream),
		cmocka_unit_test(test_below_known_values),
		cmocka_unit_test(test_below_edges),
		cmocka_unit_test(test_below_chi_square),
		cmocka_unit_test(test_below_large_n_unbiased),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_double),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_shuffle_all_permutations),
		cmocka_unit_test(test_shuffle_small_and_deterministic),
		cmocka_unit_test(test_split_and_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
