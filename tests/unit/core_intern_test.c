/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_intern_test.c — core/intern: shared refcounted strings.
 *
 * Covers pointer equality for equal contents (and inequality for contents
 * that differ only in length or after a NUL), reference counting (a string
 * lives until its last reference is returned, then lookups miss), the
 * memory accounting, the length limit, and enough distinct strings to make
 * the table grow several times while every reference stays valid. Under
 * `make asan` and `make valgrind` a string not freed at zero references
 * shows up as a leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/intern.h"

static size_t
cost(size_t len)
{
	return sizeof(struct istr) + len + 1;
}

static void
test_equal_contents_equal_pointers(void **state)
{
	struct intern pool;
	struct istr *a, *b, *c;

	(void)state;
	intern_init(&pool);
	assert_int_equal(pool.n, 0);
	assert_int_equal(pool.cap, 0);
	assert_null(intern_find(&pool, "web-1", 5));

	a = intern_get(&pool, "web-1", 5);
	assert_non_null(a);
	assert_int_equal(a->refs, 1);
	assert_int_equal(istr_len(a), 5);
	assert_string_equal(istr_str(a), "web-1");
	assert_int_equal(istr_str(a)[5], '\0');

	/* A copy in another buffer gives the same pointer. */
	{
		char other[8];

		memcpy(other, "web-1xx", 8);
		b = intern_get(&pool, other, 5);
	}
	assert_ptr_equal(a, b);
	assert_int_equal(a->refs, 2);
	assert_int_equal(pool.n, 1);
	assert_int_equal(pool.bytes, cost(5));

	c = intern_get(&pool, "web-2", 5);
	assert_ptr_not_equal(a, c);
	assert_int_equal(pool.n, 2);
	assert_int_equal(pool.bytes, cost(5) * 2);
	assert_ptr_equal(intern_find(&pool, "web-2", 5), c);
	assert_int_equal(c->refs, 1); /* find takes no reference */

	intern_put(&pool, a);
	intern_put(&pool, b);
	intern_put(&pool, c);
	assert_int_equal(pool.n, 0);
	assert_int_equal(pool.bytes, 0);
	intern_destroy(&pool);
}

static void
test_lengths_and_nul_bytes(void **state)
{
	struct intern pool;
	struct istr *s[6];

	(void)state;
	intern_init(&pool);
	s[0] = intern_get(&pool, "ab", 2);
	s[1] = intern_get(&pool, "abc", 3);
	s[2] = intern_get(&pool, "a\0b", 3);
	s[3] = intern_get(&pool, "a\0c", 3);
	s[4] = intern_get(&pool, "", 0);
	s[5] = intern_get(&pool, NULL, 0);
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			assert_ptr_not_equal(s[i], s[j]);
	/* The empty string is one string, however it is spelled. */
	assert_ptr_equal(s[4], s[5]);
	assert_int_equal(s[4]->refs, 2);
	assert_int_equal(istr_len(s[4]), 0);
	assert_string_equal(istr_str(s[4]), "");
	assert_int_equal(istr_len(s[2]), 3);
	assert_memory_equal(istr_str(s[2]), "a\0b", 4);
	assert_ptr_equal(intern_find(&pool, "a\0c", 3), s[3]);
	assert_null(intern_find(&pool, "a\0d", 3));
	assert_null(intern_find(&pool, "a", 1));
	assert_int_equal(pool.n, 5);
	for (int i = 0; i < 6; i++)
		intern_put(&pool, s[i]);
	assert_int_equal(pool.n, 0);
	intern_destroy(&pool);
}

static void
test_refcount_lifetime(void **state)
{
	struct intern pool;
	struct istr *a, *b;

	(void)state;
	intern_init(&pool);
	a = intern_get(&pool, "db", 2);
	assert_ptr_equal(intern_ref(a), a);
	assert_ptr_equal(intern_ref(a), a);
	assert_int_equal(a->refs, 3);
	intern_put(&pool, a);
	intern_put(&pool, a);
	assert_int_equal(a->refs, 1);
	assert_ptr_equal(intern_find(&pool, "db", 2), a);
	intern_put(&pool, a); /* last one: freed */
	assert_null(intern_find(&pool, "db", 2));
	assert_int_equal(pool.n, 0);
	assert_int_equal(pool.bytes, 0);

	/* Asked again, it is made anew with one reference. */
	b = intern_get(&pool, "db", 2);
	assert_non_null(b);
	assert_int_equal(b->refs, 1);
	assert_int_equal(pool.n, 1);
	intern_put(&pool, b);

	/* Returning NULL is a no-op; NULL reads as the empty string. */
	intern_put(&pool, NULL);
	assert_string_equal(istr_str(NULL), "");
	assert_int_equal(istr_len(NULL), 0);
	intern_destroy(&pool);
}

static void
test_length_limit(void **state)
{
	struct intern pool;
	struct istr *s;
	char *big = calloc(1, (size_t)INTERN_LEN_MAX + 1);

	(void)state;
	assert_non_null(big);
	intern_init(&pool);
	assert_null(intern_get(&pool, big, (size_t)INTERN_LEN_MAX + 1));
	assert_int_equal(pool.n, 0);
	s = intern_get(&pool, big, INTERN_LEN_MAX);
	assert_non_null(s);
	assert_int_equal(istr_len(s), INTERN_LEN_MAX);
	assert_int_equal(pool.bytes, cost(INTERN_LEN_MAX));
	intern_put(&pool, s);
	intern_destroy(&pool);
	free(big);
}

static void
test_many_strings_force_growth(void **state)
{
	enum { N = 20000 };
	struct istr **refs = calloc(N, sizeof(*refs));
	struct intern pool;
	size_t bytes = 0, cap_seen = 0;
	int grew = 0;

	(void)state;
	assert_non_null(refs);
	intern_init(&pool);
	for (int i = 0; i < N; i++) {
		char name[32];
		size_t n = 0;
		int v = i;

		/* "node-<i>" without stdio */
		memcpy(name, "node-", 5);
		n = 5;
		do {
			name[n++] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		refs[i] = intern_get(&pool, name, n);
		assert_non_null(refs[i]);
		bytes += cost(n);
		if (pool.cap != cap_seen) {
			grew++;
			cap_seen = pool.cap;
		}
	}
	assert_int_equal(pool.n, N);
	assert_int_equal(pool.bytes, bytes);
	/* Power of two, load at most 1; grown from 64 to 32768. */
	assert_int_equal(pool.cap & (pool.cap - 1), 0);
	assert_true(pool.cap >= N);
	assert_int_equal(pool.cap, 32768);
	assert_int_equal(grew, 10);

	/* After growing, every string is still found at its pointer, and
	 * asking again gives the same one. */
	for (int i = 0; i < N; i++) {
		struct istr *again =
			intern_get(&pool, istr_str(refs[i]), istr_len(refs[i]));

		assert_ptr_equal(again, refs[i]);
		assert_int_equal(again->refs, 2);
		intern_put(&pool, again);
	}
	/* Free every other one, then the rest. */
	for (int i = 0; i < N; i += 2)
		intern_put(&pool, refs[i]);
	assert_int_equal(pool.n, N / 2);
	for (int i = 1; i < N; i += 2)
		assert_ptr_equal(intern_find(&pool, istr_str(refs[i]),
					     istr_len(refs[i])),
				 refs[i]);
	for (int i = 1; i < N; i += 2)
		intern_put(&pool, refs[i]);
	assert_int_equal(pool.n, 0);
	assert_int_equal(pool.bytes, 0);
	/* The table keeps its high-water size. */
	assert_int_equal(pool.cap, 32768);
	intern_destroy(&pool);
	assert_int_equal(pool.cap, 0);
	assert_null(pool.slots);
	free(refs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_contents_equal_pointers),
		cmocka_unit_test(test_lengths_and_nul_bytes),
		cmocka_unit_test(test_refcount_lifetime),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_many_strings_force_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
