/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_addr.c — address parsing and formatting.
 *
 * The input, as text, goes to addr_parse (with and without a default port).
 * Whatever parses must format, and the formatted text must parse back to
 * an equal address and format to the same text again (it is canonical); the
 * wire form must decode to an equal address. The input's first 6 and 18
 * bytes are also taken as wire forms, so the formatter sees every IPv4 and
 * IPv6 address the fuzzer can make, and those must round-trip too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/err.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const struct addr *a)
{
	char text[ADDR_STR_MAX], again[ADDR_STR_MAX], host[ADDR_STR_MAX];
	uint8_t wire[ADDR_WIRE_MAX];
	struct addr b, c;
	int n, m, w;

	n = addr_format(a, text, sizeof(text));
	FUZZ_CHECK(n > 0 && (size_t)n == strlen(text));
	FUZZ_CHECK(n < ADDR_STR_MAX);
	/* A port of 0 parses only with a default port of 0. */
	FUZZ_CHECK(addr_parse(&b, text, 0) == 0);
	FUZZ_CHECK(addr_equal(a, &b));
	FUZZ_CHECK(memcmp(a, &b, sizeof(b)) == 0);
	m = addr_format(&b, again, sizeof(again));
	FUZZ_CHECK(m == n && strcmp(text, again) == 0);
	/* The host part is the text without brackets and port. */
	m = addr_format_host(a, host, sizeof(host));
	FUZZ_CHECK(m > 0 && m < n);
	FUZZ_CHECK(memcmp(text + (a->family == ADDR_V6), host, (size_t)m) == 0);
	/* A buffer one byte short is refused, not overrun. */
	FUZZ_CHECK(addr_format(a, again, (size_t)n) == ERR_TOOBIG);
	w = addr_encode(a, wire);
	FUZZ_CHECK(w == (a->family == ADDR_V4 ? 6 : 18));
	FUZZ_CHECK(addr_decode(&c, wire, (size_t)w) == 0);
	FUZZ_CHECK(addr_equal(a, &c));
	FUZZ_CHECK(addr_hash(a) == addr_hash(&c));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	struct addr a;

	if (size >= 6 && addr_decode(&a, data, 6) == 0)
		roundtrip(&a);
	if (size >= 18 && addr_decode(&a, data, 18) == 0)
		roundtrip(&a);
	s = malloc(size + 1);
	FUZZ_CHECK(s != NULL);
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	memset(&a, 0x5a, sizeof(a));
	if (addr_parse(&a, s, 7946) == 0) {
		FUZZ_CHECK(a.port != 0);
		roundtrip(&a);
	} else {
		/* Refused: the output is untouched. */
		for (size_t i = 0; i < sizeof(a); i++)
			FUZZ_CHECK(((const uint8_t *)&a)[i] == 0x5a);
	}
	if (addr_parse(&a, s, 0) == 0)
		roundtrip(&a);
	free(s);
	return 0;
}
