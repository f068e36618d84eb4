/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_err_test.c — core/err: the error codes and their phrases.
 *
 * The numeric codes travel in control-socket replies, so their values are
 * pinned here: renumbering one must break this test. Every code has its own
 * phrase, and anything outside the table reads "unknown error".
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"

static void
test_codes_are_stable(void **state)
{
	(void)state;
	assert_int_equal(ERR_OK, 0);
	assert_int_equal(ERR_NOMEM, -1);
	assert_int_equal(ERR_INVAL, -2);
	assert_int_equal(ERR_RANGE, -3);
	assert_int_equal(ERR_TOOBIG, -4);
	assert_int_equal(ERR_TRUNC, -5);
	assert_int_equal(ERR_DECODE, -6);
	assert_int_equal(ERR_AUTH, -7);
	assert_int_equal(ERR_NOKEY, -8);
	assert_int_equal(ERR_VERSION, -9);
	assert_int_equal(ERR_FULL, -10);
	assert_int_equal(ERR_EXIST, -11);
	assert_int_equal(ERR_NOENT, -12);
	assert_int_equal(ERR_STALE, -13);
	assert_int_equal(ERR_REPLAY, -14);
	assert_int_equal(ERR_STATE, -15);
	assert_int_equal(ERR_KEYLEN, -16);
	assert_int_equal(ERR_KEYCHARS, -17);
	assert_int_equal(ERR_IO, -18);
	assert_int_equal(ERR_TIMEOUT, -19);
	assert_int_equal(ERR_PERM, -20);
	assert_int_equal(ERR_NOQUORUM, -21);
	assert_int_equal(ERR_CONFLICT, -22);
	assert_int_equal(ERR_PLAIN, -23);
	assert_int_equal(ERR_SKEW, -24);
	assert_int_equal(ERR__LAST, -25);
}

static void
test_known_phrases(void **state)
{
	(void)state;
	assert_string_equal(err_str(0), "success");
	assert_string_equal(err_str(ERR_NOMEM), "out of memory");
	assert_string_equal(err_str(ERR_TOOBIG), "size limit exceeded");
	assert_string_equal(err_str(ERR_TRUNC), "input truncated");
	assert_string_equal(err_str(ERR_AUTH), "authentication failed");
	assert_string_equal(err_str(ERR_NOKEY), "unknown key id");
	assert_string_equal(err_str(ERR_KEYLEN), "key must decode to 32 bytes");
	assert_string_equal(err_str(ERR_KEYCHARS),
			    "key has characters outside base64");
	assert_string_equal(err_str(ERR_PLAIN), "unencrypted packet");
	assert_string_equal(err_str(ERR_SKEW), "clock skew too large");
}

static void
test_every_code_has_its_own_phrase(void **state)
{
	(void)state;
	for (int a = 0; a > ERR__LAST; a--) {
		const char *sa = err_str(a);

		assert_non_null(sa);
		assert_true(strlen(sa) > 0);
		assert_string_not_equal(sa, "unknown error");
		for (int b = a - 1; b > ERR__LAST; b--)
			assert_string_not_equal(sa, err_str(b));
	}
}

static void
test_unknown_codes(void **state)
{
	(void)state;
	assert_string_equal(err_str(1), "unknown error");
	assert_string_equal(err_str(42), "unknown error");
	assert_string_equal(err_str(INT_MAX), "unknown error");
	assert_string_equal(err_str(ERR__LAST), "unknown error");
	assert_string_equal(err_str(ERR__LAST - 1), "unknown error");
	assert_string_equal(err_str(INT_MIN), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_are_stable),
		cmocka_unit_test(test_known_phrases),
		cmocka_unit_test(test_every_code_has_its_own_phrase),
		cmocka_unit_test(test_unknown_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
