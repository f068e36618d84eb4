/* SPDX-License-Identifier: MIT */
/*
 * gossip/members: the name index stays consistent through random adds and
 * removes (backward-shift deletion), slots are reused, per-state counts are
 * right, identities round-trip, the bound is enforced, and every interned
 * reference is returned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/rng.h"
#include "gossip/members.h"

static void
name_of(char *b, unsigned i)
{
	snprintf(b, 32, "node-%u", i);
}

static void
test_random_churn(void **state)
{
	enum { N = 3000 };
	static uint32_t slot_of[N];
	static bool present[N];
	struct intern pool;
	struct mtab t;
	struct rng r;
	char name[32];

	(void)state;
	intern_init(&pool);
	mtab_init(&t, &pool, 100000);
	rng_seed(&r, 4242);
	for (int round = 0; round < 20000; round++) {
		unsigned i = (unsigned)rng_below(&r, N);
		int err = 0;

		name_of(name, i);
		if (present[i]) {
			assert_int_equal(mtab_find(&t, name, strlen(name)),
					 slot_of[i]);
			mtab_remove(&t, slot_of[i]);
			present[i] = false;
		} else {
			assert_int_equal(mtab_find(&t, name, strlen(name)),
					 MTAB_NONE);
			slot_of[i] = mtab_add(&t, name, strlen(name), &err);
			assert_int_not_equal(slot_of[i], MTAB_NONE);
			present[i] = true;
		}
	}
	for (unsigned i = 0; i < N; i++) {
		name_of(name, i);
		assert_int_equal(mtab_find(&t, name, strlen(name)),
				 present[i] ? slot_of[i] : MTAB_NONE);
	}
	/* Slots are reused: never more than the peak population. */
	assert_true(t.hi <= N);
	mtab_destroy(&t);
	intern_destroy(&pool);
}

static void
test_counts_and_bound(void **state)
{
	struct intern pool;
	struct mtab t;
	uint32_t s[4];
	int err = 0;

	(void)state;
	intern_init(&pool);
	mtab_init(&t, &pool, 4);
	s[0] = mtab_add(&t, "a", 1, &err);
	s[1] = mtab_add(&t, "b", 1, &err);
	s[2] = mtab_add(&t, "c", 1, &err);
	s[3] = mtab_add(&t, "d", 1, &err);
	assert_int_equal(mtab_add(&t, "e", 1, &err), MTAB_NONE);
	assert_int_equal(err, ERR_FULL);
	assert_int_equal(t.count[0], 4);
	mtab_set_state(&t, s[1], 1);
	mtab_set_state(&t, s[2], 2);
	mtab_set_state(&t, s[3], 3);
	assert_int_equal(t.count[0], 1);
	assert_int_equal(t.count[1], 1);
	assert_int_equal(t.count[2], 1);
	assert_int_equal(t.count[3], 1);
	mtab_remove(&t, s[2]);
	assert_int_equal(t.count[2], 0);
	assert_int_equal(t.used, 3);
	assert_int_equal(mtab_add(&t, "e", 1, &err), s[2]); /* reused */
	mtab_destroy(&t);
	intern_destroy(&pool);
}

static void
test_ident(void **state)
{
	struct intern pool;
	struct mtab t;
	struct addr a, b;
	struct istr *i1, *i2, *i3;
	const uint8_t *m;
	size_t n;

	(void)state;
	intern_init(&pool);
	mtab_init(&t, &pool, 10);
	addr_parse(&a, "[2001:db8::7]:7000", 0);
	i1 = mtab_ident(&t, &a, (const uint8_t *)"meta", 4);
	i2 = mtab_ident(&t, &a, (const uint8_t *)"meta", 4);
	i3 = mtab_ident(&t, &a, (const uint8_t *)"metb", 4);
	assert_ptr_equal(i1, i2);
	assert_ptr_not_equal(i1, i3);
	mtab_ident_addr(i1, &b);
	assert_true(addr_equal(&a, &b));
	m = mtab_ident_meta(i1, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(m, "meta", 4);
	assert_null(mtab_ident(&t, &a, (const uint8_t *)"x", 513));
	intern_put(&pool, i1);
	intern_put(&pool, i2);
	intern_put(&pool, i3);
	mtab_destroy(&t);
	intern_destroy(&pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_churn),
		cmocka_unit_test(test_counts_and_bound),
		cmocka_unit_test(test_ident),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
