/* SPDX-License-Identifier: MIT */
/*
 * core/num: the integer ceilings against brute force at every boundary,
 * the logarithms against libm (which only this test links for the
 * comparison), exact results at powers of ten, and the inputs outside the
 * domain.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/num.h"
#include "core/rng.h"

static void
test_ceilings(void **state)
{
	uint64_t p = 1;

	(void)state;
	assert_int_equal(num_ceil_log10(0), 0);
	assert_int_equal(num_ceil_log10(1), 0);
	assert_int_equal(num_ceil_log2(0), 0);
	assert_int_equal(num_ceil_log2(1), 0);
	/* Around every power of ten that fits: 10^k -> k, 10^k + 1 -> k+1. */
	for (unsigned k = 0; k <= 19; k++) {
		assert_int_equal(num_ceil_log10(p), k);
		assert_int_equal(num_ceil_log10(p + 1), k + 1);
		if (p > 1)
			assert_int_equal(num_ceil_log10(p - 1), k);
		if (k < 19)
			p *= 10;
	}
	assert_int_equal(num_ceil_log10(UINT64_MAX), 20);
	for (unsigned k = 0; k < 64; k++) {
		uint64_t q = (uint64_t)1 << k;

		assert_int_equal(num_ceil_log2(q), k);
		assert_int_equal(num_ceil_log2(q + 1), k + 1);
	}
	assert_int_equal(num_ceil_log2(UINT64_MAX), 64);
	/* Every small n against the formulas as memberlist writes them. */
	for (uint64_t n = 1; n <= 100000; n++) {
		assert_int_equal(num_ceil_log10(n + 1),
				 (unsigned)ceil(log10((double)n + 1.0)));
		if (n > 32)
			assert_int_equal(
				num_ceil_log2(n) - 4,
				(unsigned)(ceil(log2((double)n) - log2(32.0)) +
					   1.0));
	}
}

static void
test_ln_against_libm(void **state)
{
	struct rng r;

	(void)state;
	rng_seed(&r, 42);
	for (int i = 0; i < 200000; i++) {
		/* Integers (what the callers pass) and random reals across
		 * the exponent range. */
		double x = i < 100000 ? (double)(i + 1)
				      : ldexp(1.0 + rng_double(&r),
					      (int)rng_below(&r, 2000) - 1000);
		double want = log(x), got = num_ln(x);
		double err = fabs(got - want);

		if (err > 4e-16 * fabs(want) && err > 1e-300)
			fail_msg("num_ln(%.17g) = %.17g, libm %.17g", x, got,
				 want);
	}
	/* Subnormals. */
	assert_true(fabs(num_ln(5e-324) - log(5e-324)) < 1e-12);
	assert_true(fabs(num_ln(1e-310) - log(1e-310)) < 1e-12);
	assert_true(num_ln(1.0) == 0.0);
}

static void
test_log10(void **state)
{
	uint64_t p = 1;

	(void)state;
	for (unsigned k = 0; k <= 19; k++) {
		/* Exact, so that 4 * log10(100) * 1000 ms is 8000 ms. */
		assert_true(num_log10_u64(p) == (double)k);
		if (k < 19)
			p *= 10;
	}
	for (uint64_t n = 1; n <= 100000; n++) {
		double want = log10((double)n), got = num_log10_u64(n);

		if (fabs(got - want) > 1e-15 * (want > 1.0 ? want : 1.0))
			fail_msg("num_log10_u64(%llu) = %.17g, libm %.17g",
				 (unsigned long long)n, got, want);
	}
	/* The suspicion timeout of memberlist's formula, ms, truncated:
	 * the same as with libm for every cluster size up to 100,000. */
	for (uint64_t n = 1; n <= 100000; n++)
		assert_int_equal((uint64_t)(4.0 * num_log10_u64(n) * 1000.0),
				 (uint64_t)(4.0 * log10((double)n) * 1000.0));
}

static void
test_outside_domain(void **state)
{
	(void)state;
	assert_true(num_ln(0.0) == 0.0);
	assert_true(num_ln(-1.0) == 0.0);
	assert_true(num_ln(NAN) == 0.0);
	assert_true(isinf(num_ln(INFINITY)));
	assert_true(num_log10_u64(0) == 0.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ceilings),
		cmocka_unit_test(test_ln_against_libm),
		cmocka_unit_test(test_log10),
		cmocka_unit_test(test_outside_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
