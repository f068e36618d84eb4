/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_fmt_test.c — core/fmt: printf-style text into a buffer.
 *
 * The pure layers write their refusals through fmt_str() into fixed
 * buffers (a reply's "why", a report's text), so what matters is the
 * contract of core/fmt.h: the text is always NUL-terminated when cap > 0,
 * a text that does not fit is cut, never a byte is written past cap, and
 * the return value is the full length, so a caller can tell it was cut.
 * Each buffer here sits between guard bytes that must come out untouched.
 */
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/fmt.h"

#define GUARD	    0xa5
#define GUARDED_CAP 64

/* A buffer with GUARD bytes on both sides of its cap usable bytes. */
struct guarded {
	unsigned char before[8];
	char buf[GUARDED_CAP];
	unsigned char after[8];
};

static void
guarded_init(struct guarded *g)
{
	memset(g, GUARD, sizeof(*g));
}

/* The guards, and every byte of buf from cap on, are untouched. */
static void
assert_guards_intact(const struct guarded *g, size_t cap)
{
	for (size_t i = 0; i < sizeof(g->before); i++)
		assert_int_equal(g->before[i], GUARD);
	for (size_t i = cap; i < sizeof(g->buf); i++)
		assert_int_equal((unsigned char)g->buf[i], GUARD);
	for (size_t i = 0; i < sizeof(g->after); i++)
		assert_int_equal(g->after[i], GUARD);
}

/* fmt_vstr through a variadic wrapper, as the pure layers call it. */
static int via_vstr(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
via_vstr(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vstr(out, cap, fmt, ap);
	va_end(ap);
	return n;
}

static void
test_formats_like_printf(void **state)
{
	const char *want = "replicas 20001 is above the limit of 10000";
	char out[128];

	(void)state;
	assert_int_equal(fmt_str(out, sizeof(out),
				 "replicas %d is above the limit of %d", 20001,
				 10000),
			 strlen(want));
	assert_string_equal(out, want);

	fmt_str(out, sizeof(out), "%s|%-4s|%4s|%.3s", "a", "b", "c", "defgh");
	assert_string_equal(out, "a|b   |   c|def");
	fmt_str(out, sizeof(out), "%" PRIu64 " %" PRId64 " %u %x %c %%",
		UINT64_MAX, INT64_MIN, 7u, 255u, 'z');
	assert_string_equal(
		out, "18446744073709551615 -9223372036854775808 7 ff z %");
	fmt_str(out, sizeof(out), "%d %d", INT_MIN, INT_MAX);
	assert_string_equal(out, "-2147483648 2147483647");
	fmt_str(out, sizeof(out), "%zu %.2f", (size_t)12, 1.5);
	assert_string_equal(out, "12 1.50");
	fmt_str(out, sizeof(out), "node.%s%s%s", "zone", "==", "eu");
	assert_string_equal(out, "node.zone==eu");
}

static void
test_empty_text(void **state)
{
	struct guarded g;

	(void)state;
	guarded_init(&g);
	assert_int_equal(fmt_str(g.buf, 10, "%s", ""), 0);
	assert_string_equal(g.buf, "");
	assert_guards_intact(&g, 1);
}

static void
test_exact_fit(void **state)
{
	struct guarded g;

	(void)state;
	/* 5 characters and the NUL in 6 bytes: nothing cut. */
	guarded_init(&g);
	assert_int_equal(fmt_str(g.buf, 6, "%s", "abcde"), 5);
	assert_string_equal(g.buf, "abcde");
	assert_guards_intact(&g, 6);
}

static void
test_cut_to_fit(void **state)
{
	struct guarded g;

	(void)state;
	/* One byte short: the last character gives way to the NUL, and the
	 * return value still says how long the whole text was. */
	guarded_init(&g);
	assert_int_equal(fmt_str(g.buf, 5, "%s", "abcde"), 5);
	assert_string_equal(g.buf, "abcd");
	assert_guards_intact(&g, 5);

	guarded_init(&g);
	assert_int_equal(
		fmt_str(g.buf, 8, "service \"%s\" already exists", "web"),
		(int)strlen("service \"web\" already exists"));
	assert_string_equal(g.buf, "service");
	assert_guards_intact(&g, 8);

	/* A number cut in the middle. */
	guarded_init(&g);
	assert_int_equal(fmt_str(g.buf, 4, "%d", 123456), 6);
	assert_string_equal(g.buf, "123");
	assert_guards_intact(&g, 4);
}

static void
test_cap_one_and_zero(void **state)
{
	struct guarded g;

	(void)state;
	/* cap 1: room for the NUL only. */
	guarded_init(&g);
	assert_int_equal(fmt_str(g.buf, 1, "%s", "abc"), 3);
	assert_int_equal(g.buf[0], '\0');
	assert_guards_intact(&g, 1);

	/* cap 0: nothing is written, not even a NUL, and the length is still
	 * told (so a caller can size a buffer first). */
	guarded_init(&g);
	assert_int_equal(fmt_str(g.buf, 0, "%s-%d", "abc", 42), 6);
	assert_guards_intact(&g, 0);
	assert_int_equal(fmt_str(NULL, 0, "%s-%d", "abc", 42), 6);
}

static void
test_long_text_fills_the_buffer(void **state)
{
	char big[200];
	struct guarded g;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	guarded_init(&g);
	assert_int_equal(fmt_str(g.buf, sizeof(g.buf), "<%s>", big),
			 (int)sizeof(big) + 1);
	assert_int_equal(strlen(g.buf), sizeof(g.buf) - 1);
	assert_int_equal(g.buf[0], '<');
	for (size_t i = 1; i < sizeof(g.buf) - 1; i++)
		assert_int_equal(g.buf[i], 'x');
	assert_guards_intact(&g, sizeof(g.buf));
}

static void
test_vstr_matches_str(void **state)
{
	char a[32];
	char b[32];
	struct guarded g;

	(void)state;
	assert_int_equal(via_vstr(a, sizeof(a), "%s=%d (%u)", "k", -3, 9u),
			 fmt_str(b, sizeof(b), "%s=%d (%u)", "k", -3, 9u));
	assert_string_equal(a, "k=-3 (9)");
	assert_string_equal(a, b);

	guarded_init(&g);
	assert_int_equal(via_vstr(g.buf, 3, "%s", "abcdef"), 6);
	assert_string_equal(g.buf, "ab");
	assert_guards_intact(&g, 3);

	guarded_init(&g);
	assert_int_equal(via_vstr(g.buf, 0, "%d", 1234), 4);
	assert_guards_intact(&g, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats_like_printf),
		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_exact_fit),
		cmocka_unit_test(test_cut_to_fit),
		cmocka_unit_test(test_cap_one_and_zero),
		cmocka_unit_test(test_long_text_fills_the_buffer),
		cmocka_unit_test(test_vstr_matches_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
