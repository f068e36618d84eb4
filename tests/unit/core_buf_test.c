/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_buf_test.c — core/buf: the bounded growable buffer.
 *
 * Covers the hard limit (exactly max fits, one more is ERR_TOOBIG and leaves
 * the buffer unchanged), overflow-proof checks with huge sizes, the growth
 * policy (64 bytes, doubling, clamped at max), reset/truncate/release and
 * buf_extend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"

static void
test_init_is_empty(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 100);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 100);
	assert_int_equal(buf_room(&b), 100);
	buf_release(&b);
	assert_null(b.data);
}

static void
test_append_up_to_limit(void **state)
{
	uint8_t src[100];
	struct buf b;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	buf_init(&b, 100);
	assert_int_equal(buf_append(&b, src, 60), 0);
	assert_int_equal(buf_append(&b, src + 60, 39), 0);
	assert_int_equal(buf_append_byte(&b, src[99]), 0);
	assert_int_equal(b.len, 100);
	assert_int_equal(buf_room(&b), 0);
	assert_memory_equal(b.data, src, 100);

	/* Full: one more byte fails and changes nothing. */
	assert_int_equal(buf_append_byte(&b, 0xee), ERR_TOOBIG);
	assert_int_equal(buf_append(&b, src, 1), ERR_TOOBIG);
	assert_int_equal(b.len, 100);
	assert_memory_equal(b.data, src, 100);

	/* Appending nothing always works, even with a NULL pointer. */
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_int_equal(b.len, 100);
	buf_release(&b);
}

static void
test_failed_append_leaves_buffer_unchanged(void **state)
{
	uint8_t src[32] = {1, 2, 3, 4, 5};
	struct buf b;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, src, 5), 0);
	/* 6 more would pass 10: nothing of it is written. */
	assert_int_equal(buf_append(&b, src, 6), ERR_TOOBIG);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, src, 5);
	assert_int_equal(buf_append(&b, src, 5), 0);
	assert_int_equal(b.len, 10);
	buf_release(&b);
}

static void
test_huge_sizes_do_not_overflow(void **state)
{
	uint8_t x = 1;
	struct buf b;
	int err = 0;

	(void)state;
	buf_init(&b, 1000);
	assert_int_equal(buf_append(&b, &x, 1), 0);
	/* len + n would wrap around to a small number if added naively. */
	assert_int_equal(buf_reserve(&b, SIZE_MAX), ERR_TOOBIG);
	assert_int_equal(buf_reserve(&b, SIZE_MAX - 0), ERR_TOOBIG);
	assert_int_equal(buf_reserve(&b, (size_t)0 - b.len), ERR_TOOBIG);
	assert_int_equal(buf_append(&b, &x, SIZE_MAX), ERR_TOOBIG);
	assert_null(buf_extend(&b, SIZE_MAX, &err));
	assert_int_equal(err, ERR_TOOBIG);
	assert_null(buf_extend(&b, SIZE_MAX / 2 + 1, NULL));
	assert_int_equal(b.len, 1);
	assert_int_equal(b.cap, 64);
	/* The exact room is still available. */
	assert_int_equal(buf_reserve(&b, 999), 0);
	assert_int_equal(buf_reserve(&b, 1000), ERR_TOOBIG);
	buf_release(&b);

	/* A limit of SIZE_MAX: the arithmetic must not wrap either. */
	buf_init(&b, SIZE_MAX);
	assert_int_equal(buf_append(&b, &x, 1), 0);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), ERR_TOOBIG);
	assert_int_equal(b.len, 1);
	buf_release(&b);
}

static void
test_growth_policy(void **state)
{
	uint8_t src[300] = {0};
	struct buf b;

	(void)state;
	buf_init(&b, 1000);
	assert_int_equal(buf_append(&b, src, 1), 0);
	assert_int_equal(b.cap, 64);
	assert_int_equal(buf_append(&b, src, 63), 0);
	assert_int_equal(b.cap, 64);
	assert_int_equal(buf_append(&b, src, 1), 0);
	assert_int_equal(b.cap, 128);
	assert_int_equal(buf_append(&b, src, 300), 0); /* 365 */
	assert_int_equal(b.cap, 512);
	assert_int_equal(buf_append(&b, src, 200), 0); /* 565 */
	assert_int_equal(b.cap, 1000);		       /* clamped, not 1024 */
	buf_release(&b);

	/* A limit smaller than the first allocation clamps it too. */
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, src, 3), 0);
	assert_int_equal(b.cap, 10);
	buf_release(&b);

	/* A zero limit takes nothing and allocates nothing. */
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, src, 1), ERR_TOOBIG);
	assert_int_equal(buf_reserve(&b, 0), 0);
	assert_null(b.data);
	buf_release(&b);
}

static void
test_reset_keeps_memory(void **state)
{
	uint8_t src[100] = {9};
	struct buf b;
	uint8_t *data;

	(void)state;
	buf_init(&b, 200);
	assert_int_equal(buf_append(&b, src, 100), 0);
	data = b.data;
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 128);
	assert_ptr_equal(b.data, data);
	assert_int_equal(buf_room(&b), 200);
	assert_int_equal(buf_append(&b, src, 100), 0);
	assert_ptr_equal(b.data, data);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 200);
	/* Usable again after release. */
	assert_int_equal(buf_append(&b, src, 5), 0);
	assert_int_equal(b.len, 5);
	buf_release(&b);
}

static void
test_truncate(void **state)
{
	const char *s = "abcdefgh";
	struct buf b;

	(void)state;
	buf_init(&b, 64);
	assert_int_equal(buf_append(&b, s, 8), 0);
	buf_truncate(&b, 3);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "abc", 3);
	buf_truncate(&b, 10); /* never grows */
	assert_int_equal(b.len, 3);
	buf_truncate(&b, 0);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

static void
test_extend(void **state)
{
	struct buf b;
	uint8_t *p;
	int err = 0;

	(void)state;
	buf_init(&b, 16);
	p = buf_extend(&b, 4, &err);
	assert_non_null(p);
	assert_int_equal(err, 0);
	assert_ptr_equal(p, b.data);
	memcpy(p, "wxyz", 4);
	assert_int_equal(b.len, 4);
	p = buf_extend(&b, 12, NULL);
	assert_non_null(p);
	assert_ptr_equal(p, b.data + 4);
	memset(p, 'q', 12);
	assert_int_equal(b.len, 16);
	assert_memory_equal(b.data, "wxyzqqqqqqqqqqqq", 16);

	/* Full: any more fails, zero more still fits. */
	assert_null(buf_extend(&b, 1, &err));
	assert_int_equal(err, ERR_TOOBIG);
	assert_int_equal(b.len, 16);
	p = buf_extend(&b, 0, &err);
	assert_ptr_equal(p, b.data + 16);
	assert_int_equal(b.len, 16);
	buf_release(&b);

	/* Zero bytes on an empty buffer still gives a usable pointer. */
	buf_init(&b, 16);
	p = buf_extend(&b, 0, NULL);
	assert_non_null(p);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_is_empty),
		cmocka_unit_test(test_append_up_to_limit),
		cmocka_unit_test(test_failed_append_leaves_buffer_unchanged),
		cmocka_unit_test(test_huge_sizes_do_not_overflow),
		cmocka_unit_test(test_growth_policy),
		cmocka_unit_test(test_reset_keeps_memory),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_extend),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
