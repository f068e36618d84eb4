/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_hash_test.c — core/hash: the XXH3-64 wrappers.
 *
 * Placement and membership digests must agree across machines and releases,
 * so the values below are pinned: a different xxHash, a changed seed or a
 * different byte order for hash_u64 breaks this test. Inputs of 0, 1, 5, 17,
 * 129 and 300 bytes walk every length class of XXH3 (0-16, 17-128, 129-240,
 * longer). The empty-input value is the published XXH3_64bits("").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/hash.h"

static void
test_pinned_values(void **state)
{
	uint8_t seq[300];

	(void)state;
	for (int i = 0; i < 300; i++)
		seq[i] = (uint8_t)i;
	assert_true(hash64("", 0, 0) == 0x2d06800538d394c2ULL);
	assert_true(hash64(NULL, 0, 0) == 0x2d06800538d394c2ULL);
	assert_true(hash64("a", 1, 0) == 0xe6c632b61e964e1fULL);
	assert_true(hash64("shoal", 5, 0) == 0xcbbd0e4e10bba146ULL);
	assert_true(hash64("shoal", 5, 1) == 0x5c6100eb34a48d19ULL);
	assert_true(hash64(seq, 17, 0) == 0x9ef341a99de37328ULL);
	assert_true(hash64(seq, 129, 42) == 0x82b80bdd4ac29db5ULL);
	assert_true(hash64(seq, 300, 0) == 0xd44052f5a3485425ULL);
}

static void
test_str(void **state)
{
	(void)state;
	assert_true(hash_str("web-1", 7) == 0x496d8ccaa64aa0d1ULL);
	assert_true(hash_str("web-1", 7) == hash64("web-1", 5, 7));
	assert_true(hash_str("", 0) == hash64("", 0, 0));
	assert_true(hash_str("web-1", 7) != hash_str("web-2", 7));
}

static void
test_u64_is_little_endian(void **state)
{
	const uint8_t le1[8] = {1};
	const uint8_t le[8] = {0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01};

	(void)state;
	assert_true(hash_u64(1, 0) == 0x2fbc593564db792eULL);
	assert_true(hash_u64(1, 0) == hash64(le1, 8, 0));
	assert_true(hash_u64(0x0123456789abcdefULL, 99) ==
		    0xdf435d8b95c6f44aULL);
	assert_true(hash_u64(0x0123456789abcdefULL, 99) == hash64(le, 8, 99));
}

static void
test_combine(void **state)
{
	(void)state;
	assert_true(hash_combine(1, 2) == 0x239dc9e2220916adULL);
	assert_true(hash_combine(2, 1) == 0xd4fa7c757e94451fULL);
	/* Order matters. */
	assert_true(hash_combine(1, 2) != hash_combine(2, 1));
	assert_true(hash_combine(7, 7) != hash_combine(7, 8));
}

static void
test_seed_and_length_matter(void **state)
{
	uint8_t buf[64] = {0};
	uint64_t h[65];

	(void)state;
	/* All-zero inputs of every length up to 64 hash differently. */
	for (int n = 0; n <= 64; n++) {
		h[n] = hash64(buf, (size_t)n, 0);
		for (int k = 0; k < n; k++)
			assert_true(h[k] != h[n]);
	}
	for (uint64_t s = 1; s < 100; s++)
		assert_true(hash64("x", 1, s) != hash64("x", 1, 0));
	/* Changing any one bit of a 40-byte input changes the hash. */
	for (int bit = 0; bit < 40 * 8; bit++) {
		uint8_t m[40] = {0};

		m[bit / 8] = (uint8_t)(1u << (bit % 8));
		assert_true(hash64(m, 40, 0) != h[40]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pinned_values),
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_u64_is_little_endian),
		cmocka_unit_test(test_combine),
		cmocka_unit_test(test_seed_and_length_matter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
