/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_addr_test.c — core/addr: parsing, formatting, wire form.
 *
 * Covers IPv4 and IPv6 with and without ports (default port, brackets), the
 * RFC 5952 canonical text of IPv6 (longest zero run, leftmost on a tie, no
 * compression of a single zero group, lower case, IPv4-mapped with a dotted
 * tail), a long list of inputs that must be refused (leading zeros, octets
 * above 255, port 65536, missing ']', zone ids, empty, stray spaces), that a
 * refused parse leaves the output untouched, the 6/18-byte wire form, and a
 * randomized format -> parse round trip over addresses with zero runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/rng.h"

static void
test_parse_good(void **state)
{
	static const struct {
		const char *in;
		uint16_t defport;
		const char *out; /* canonical addr_format */
		int family;
	} cases[] = {
		{"1.2.3.4:7946", 0, "1.2.3.4:7946", ADDR_V4},
		{"1.2.3.4", 7946, "1.2.3.4:7946", ADDR_V4},
		{"0.0.0.0:0", 0, "0.0.0.0:0", ADDR_V4},
		{"255.255.255.255:65535", 1, "255.255.255.255:65535", ADDR_V4},
		{"10.0.0.1:1", 9, "10.0.0.1:1", ADDR_V4},
		{"127.0.0.1:07946", 0, "127.0.0.1:7946", ADDR_V4},
		{"[::1]:7946", 0, "[::1]:7946", ADDR_V6},
		{"[::1]", 7946, "[::1]:7946", ADDR_V6},
		{"::1", 7946, "[::1]:7946", ADDR_V6},
		{"::", 7946, "[::]:7946", ADDR_V6},
		{"[::]:0", 0, "[::]:0", ADDR_V6},
		/* RFC 5952 4.2.1-4.2.3, 4.3: shortest, lower case */
		{"[2001:0db8:0000:0000:0000:0000:0002:0001]:1", 0,
		 "[2001:db8::2:1]:1", ADDR_V6},
		{"[2001:db8:0:0:0:0:2:1]:1", 0, "[2001:db8::2:1]:1", ADDR_V6},
		{"[2001:DB8::A:B:C:D]:1", 0, "[2001:db8::a:b:c:d]:1", ADDR_V6},
		/* a single zero group is not compressed */
		{"[2001:db8:0:1:1:1:1:1]:1", 0, "[2001:db8:0:1:1:1:1:1]:1",
		 ADDR_V6},
		{"[2001:db8::1:1:1:1:1]:1", 0, "[2001:db8:0:1:1:1:1:1]:1",
		 ADDR_V6},
		/* the longest run wins; the leftmost on a tie */
		{"[2001:0:0:1:0:0:0:1]:1", 0, "[2001:0:0:1::1]:1", ADDR_V6},
		{"[2001:db8:0:0:1:0:0:1]:1", 0, "[2001:db8::1:0:0:1]:1",
		 ADDR_V6},
		{"[1:0:0:2:0:0:0:3]:1", 0, "[1:0:0:2::3]:1", ADDR_V6},
		{"[1:0:0:0:0:0:0:0]:1", 0, "[1::]:1", ADDR_V6},
		{"[0:0:0:0:0:0:0:1]:1", 0, "[::1]:1", ADDR_V6},
		{"[1:2:3:4:5:6:7:8]:1", 0, "[1:2:3:4:5:6:7:8]:1", ADDR_V6},
		{"[::2:3:4:5:6:7:8]:1", 0, "[0:2:3:4:5:6:7:8]:1", ADDR_V6},
		{"[1:2:3:4:5:6:7::]:1", 0, "[1:2:3:4:5:6:7:0]:1", ADDR_V6},
		{"[fe80::]:1", 0, "[fe80::]:1", ADDR_V6},
		{"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", 0,
		 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", ADDR_V6},
		/* a dotted IPv4 tail; IPv4-mapped keeps it (RFC 5952 5) */
		{"[::ffff:1.2.3.4]:80", 0, "[::ffff:1.2.3.4]:80", ADDR_V6},
		{"::ffff:10.0.0.1", 80, "[::ffff:10.0.0.1]:80", ADDR_V6},
		{"[::FFFF:0:0]:1", 0, "[::ffff:0.0.0.0]:1", ADDR_V6},
		{"[::1.2.3.4]:1", 0, "[::102:304]:1", ADDR_V6},
		{"[1:2:3:4:5:6:1.2.3.4]:1", 0, "[1:2:3:4:5:6:102:304]:1",
		 ADDR_V6},
		{"[64:ff9b::192.0.2.33]:1", 0, "[64:ff9b::c000:221]:1",
		 ADDR_V6},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct addr a, b;
		char out[ADDR_STR_MAX];
		int n;

		if (addr_parse(&a, cases[i].in, cases[i].defport) != 0)
			fail_msg("refused \"%s\"", cases[i].in);
		assert_int_equal(a.family, cases[i].family);
		n = addr_format(&a, out, sizeof(out));
		if (n < 0 || strcmp(out, cases[i].out) != 0)
			fail_msg("\"%s\" formats as \"%s\", want \"%s\"",
				 cases[i].in, n < 0 ? "(error)" : out,
				 cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
		/* The canonical text parses back to the same address. */
		assert_int_equal(addr_parse(&b, out, 0), 0);
		assert_true(addr_equal(&a, &b));
	}
}

static void
test_parse_values(void **state)
{
	static const uint8_t v6[16] = {0x20, 0x01,	  0x0d,
				       0xb8, [14] = 0x00, [15] = 0x01};
	struct addr a;

	(void)state;
	assert_int_equal(addr_parse(&a, "192.168.1.20:7946", 0), 0);
	assert_int_equal(a.family, ADDR_V4);
	assert_int_equal(a.port, 7946);
	assert_memory_equal(a.ip, ((const uint8_t[16]){192, 168, 1, 20}), 16);
	assert_int_equal(addr_parse(&a, "[2001:db8::1]:443", 0), 0);
	assert_int_equal(a.family, ADDR_V6);
	assert_int_equal(a.port, 443);
	assert_memory_equal(a.ip, v6, 16);
	assert_int_equal(addr_parse(&a, "[::ffff:1.2.3.4]:1", 0), 0);
	assert_memory_equal(a.ip,
			    ((const uint8_t[16]){[10] = 0xff,
						 [11] = 0xff,
						 [12] = 1,
						 [13] = 2,
						 [14] = 3,
						 [15] = 4}),
			    16);
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"",
		":",
		":7946",
		"1.2.3.4:",
		"1.2.3.4:65536",
		"1.2.3.4:99999",
		"1.2.3.4:123456",
		"1.2.3.4:-1",
		"1.2.3.4:+80",
		"1.2.3.4:0x50",
		"1.2.3.4:80:80",
		"1.2.3.4: 80",
		"01.2.3.4",
		"1.02.3.4",
		"1.2.3.00",
		"1.2.3.256",
		"256.1.1.1",
		"1.2.3.1000",
		"1.2.3",
		"1.2.3.4.5",
		"1..3.4",
		"1.2.3.",
		".1.2.3",
		" 1.2.3.4",
		"1.2.3.4 ",
		"-1.2.3.4",
		"a.b.c.d",
		"localhost:7946",
		"[::1",
		"[::1:7946",
		"::1]:7946",
		"[::1]:",
		"[::1]x",
		"[::1]:7946x",
		"[::1]:65536",
		"[::1]]:1",
		"[]",
		"[]:1",
		"[1.2.3.4]:80",
		"[fe80::1%eth0]:7946",
		"fe80::1%eth0",
		"[fe80::1%25eth0]",
		"1:2:3:4:5:6:7:8:9",
		"[1:2:3:4:5:6:7:8:9]:1",
		"[1:2:3:4:5:6:7::8]:1",
		"[1::2::3]:1",
		"[:::]:1",
		"[1:::2]:1",
		"[:1::]:1",
		"[::1:]:1",
		"[1:]:1",
		"[12345::]:1",
		"[g::1]:1",
		"[1:2:3:4:5:6:7:1.2.3.4]:1",
		"[1:2:3:4:5:6::1.2.3.4]:1",
		"[::1.2.3]:1",
		"[::1.2.3.4:5]:1",
		"[::1.2.3.4.5]:1",
		"[1.2.3.4::]:1",
		"[::01.2.3.4]:1",
		"[ ::1]:1",
		"1.2.3.4:7946\n",
		"[::1]:7946\n",
		/* longer than anything valid */
		("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
		 "0000000000000000"),
	};
	struct addr a, untouched;

	(void)state;
	memset(&untouched, 0xa5, sizeof(untouched));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		a = untouched;
		rc = addr_parse(&a, bad[i], 7946);
		if (rc != ERR_INVAL)
			fail_msg("\"%s\": got %d, want ERR_INVAL", bad[i], rc);
		assert_memory_equal(&a, &untouched, sizeof(a));
	}
	assert_int_equal(addr_parse(&a, NULL, 7946), ERR_INVAL);
}

static void
test_port_zero(void **state)
{
	struct addr a;

	(void)state;
	/* Port 0 only for an "any port" bind, i.e. when the default is 0. */
	assert_int_equal(addr_parse(&a, "1.2.3.4:0", 7946), ERR_INVAL);
	assert_int_equal(addr_parse(&a, "[::1]:0", 7946), ERR_INVAL);
	assert_int_equal(addr_parse(&a, "1.2.3.4:0", 0), 0);
	assert_int_equal(a.port, 0);
	assert_int_equal(addr_parse(&a, "1.2.3.4", 0), 0);
	assert_int_equal(a.port, 0);
	assert_int_equal(addr_parse(&a, "::", 0), 0);
	assert_int_equal(a.port, 0);
}

static void
test_format_host_and_capacity(void **state)
{
	struct addr a;
	char out[ADDR_STR_MAX];

	(void)state;
	assert_int_equal(addr_parse(&a, "[2001:db8::1]:7946", 0), 0);
	assert_int_equal(addr_format_host(&a, out, sizeof(out)), 11);
	assert_string_equal(out, "2001:db8::1");
	/* "[2001:db8::1]:7946" is 18 characters: 19 bytes with the NUL. */
	assert_int_equal(addr_format(&a, out, 19), 18);
	assert_int_equal(addr_format(&a, out, 18), ERR_TOOBIG);
	assert_int_equal(addr_format(&a, out, 0), ERR_TOOBIG);
	assert_int_equal(addr_format_host(&a, out, 11), ERR_TOOBIG);
	assert_int_equal(addr_format_host(&a, out, 12), 11);

	addr_v4(&a, 10, 1, 2, 3, 80);
	assert_int_equal(addr_format_host(&a, out, sizeof(out)), 8);
	assert_string_equal(out, "10.1.2.3");
	assert_int_equal(addr_format(&a, out, sizeof(out)), 11);
	assert_string_equal(out, "10.1.2.3:80");

	/* The longest address fits ADDR_STR_MAX exactly. */
	assert_int_equal(addr_parse(&a,
				    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:"
				    "ffff]:65535",
				    0),
			 0);
	assert_int_equal(addr_format(&a, out, ADDR_STR_MAX), ADDR_STR_MAX - 1);

	/* An unset address formats as "none". */
	memset(&a, 0, sizeof(a));
	assert_int_equal(addr_format(&a, out, sizeof(out)), 4);
	assert_string_equal(out, "none");
	assert_int_equal(addr_format_host(&a, out, sizeof(out)), 4);
	assert_string_equal(out, "none");
	assert_int_equal(addr_format(&a, out, 4), ERR_TOOBIG);
}

static void
test_predicates(void **state)
{
	struct addr a, b;

	(void)state;
	assert_int_equal(addr_parse(&a, "127.0.0.1:1", 0), 0);
	assert_true(addr_is_loopback(&a));
	assert_int_equal(addr_parse(&a, "127.255.3.4:1", 0), 0);
	assert_true(addr_is_loopback(&a));
	assert_int_equal(addr_parse(&a, "128.0.0.1:1", 0), 0);
	assert_false(addr_is_loopback(&a));
	assert_int_equal(addr_parse(&a, "[::1]:1", 0), 0);
	assert_true(addr_is_loopback(&a));
	assert_false(addr_is_any(&a));
	assert_int_equal(addr_parse(&a, "[::2]:1", 0), 0);
	assert_false(addr_is_loopback(&a));
	assert_int_equal(addr_parse(&a, "0.0.0.0:1", 0), 0);
	assert_true(addr_is_any(&a));
	assert_false(addr_is_loopback(&a));
	assert_int_equal(addr_parse(&a, "[::]:1", 0), 0);
	assert_true(addr_is_any(&a));
	memset(&a, 0, sizeof(a));
	assert_false(addr_is_any(&a));
	assert_false(addr_is_loopback(&a));

	/* Equality: family, address and port. */
	addr_v4(&a, 1, 2, 3, 4, 80);
	assert_int_equal(addr_parse(&b, "1.2.3.4:80", 0), 0);
	assert_true(addr_equal(&a, &b));
	b.port = 81;
	assert_false(addr_equal(&a, &b));
	assert_int_equal(addr_parse(&b, "[::ffff:1.2.3.4]:80", 0), 0);
	assert_false(addr_equal(&a, &b)); /* mapped is not the same family */
	assert_int_equal(addr_parse(&b, "1.2.3.5:80", 0), 0);
	assert_false(addr_equal(&a, &b));
}

static void
test_wire(void **state)
{
	uint8_t w[ADDR_WIRE_MAX + 1];
	struct addr a, b;

	(void)state;
	addr_v4(&a, 1, 2, 3, 4, 7946);
	assert_int_equal(addr_encode(&a, w), 6);
	assert_memory_equal(w, ((const uint8_t[]){1, 2, 3, 4, 0x1f, 0x0a}), 6);
	memset(&b, 0xff, sizeof(b));
	assert_int_equal(addr_decode(&b, w, 6), 0);
	assert_true(addr_equal(&a, &b));
	assert_memory_equal(&a, &b, sizeof(a)); /* padding cleared too */

	assert_int_equal(addr_parse(&a, "[2001:db8::7]:65535", 0), 0);
	assert_int_equal(addr_encode(&a, w), 18);
	assert_memory_equal(
		w,
		((const uint8_t[]){0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0,
				   0, 0, 0, 0, 7, 0xff, 0xff}),
		18);
	assert_int_equal(addr_decode(&b, w, 18), 0);
	assert_true(addr_equal(&a, &b));

	for (size_t len = 0; len <= ADDR_WIRE_MAX + 1; len++) {
		if (len == 6 || len == 18)
			continue;
		assert_int_equal(addr_decode(&b, w, len), ERR_DECODE);
	}
	memset(&a, 0, sizeof(a));
	assert_int_equal(addr_encode(&a, w), ERR_INVAL);
}

static void
test_hash(void **state)
{
	uint8_t w[ADDR_WIRE_MAX];
	struct addr a, b;

	(void)state;
	addr_v4(&a, 1, 2, 3, 4, 7946);
	assert_int_equal(addr_encode(&a, w), 6);
	/* The hash of the wire form: the same on every machine. */
	assert_true(addr_hash(&a) == hash64(w, 6, 0x5a5a));
	assert_int_equal(addr_parse(&b, "1.2.3.4:7946", 0), 0);
	assert_true(addr_hash(&a) == addr_hash(&b));
	b.port = 7947;
	assert_true(addr_hash(&a) != addr_hash(&b));
	memset(&a, 0, sizeof(a));
	assert_true(addr_hash(&a) == 0);
}

static void
test_random_roundtrip(void **state)
{
	const uint64_t seed = 5952;
	struct rng r;

	(void)state;
	rng_seed(&r, seed);
	for (int i = 0; i < 20000; i++) {
		char text[ADDR_STR_MAX], again[ADDR_STR_MAX];
		struct addr a, b;
		int n;

		memset(&a, 0, sizeof(a));
		a.port = (uint16_t)(1 + rng_below(&r, 65535));
		if (rng_below(&r, 4) == 0) {
			a.family = ADDR_V4;
			rng_fill(&r, a.ip, 4);
		} else {
			a.family = ADDR_V6;
			/* Groups mostly zero, so runs of every length and
			 * position (and ties) turn up. */
			for (int g = 0; g < 8; g++) {
				if (rng_below(&r, 2))
					continue;
				a.ip[2 * g] = (uint8_t)rng_below(&r, 3);
				a.ip[2 * g + 1] = (uint8_t)rng_next(&r);
			}
			if (rng_below(&r, 10) == 0) {
				memset(a.ip, 0, 10);
				a.ip[10] = a.ip[11] = 0xff;
			}
		}
		n = addr_format(&a, text, sizeof(text));
		assert_true(n > 0);
		if (addr_parse(&b, text, 0) != 0 || !addr_equal(&a, &b))
			fail_msg("seed %llu, case %d: \"%s\" does not parse "
				 "back",
				 (unsigned long long)seed, i, text);
		/* Canonical: formatting again gives the same text. */
		addr_format(&b, again, sizeof(again));
		assert_string_equal(text, again);
		/* Never ":0:" next to "::", never a leading zero digit. */
		assert_null(strstr(text, ":0::"));
		assert_null(strstr(text, "::0:"));
		assert_null(strstr(text, ":00"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_port_zero),
		cmocka_unit_test(test_format_host_and_capacity),
		cmocka_unit_test(test_predicates),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_random_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
