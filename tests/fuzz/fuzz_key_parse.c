/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_key_parse.c — base64 cluster keys.
 *
 * The input, as text, goes to crypto_key_parse. A refusal must be one of
 * the two documented errors and leave the key untouched. An accepted key
 * must format to 44 characters that parse back to the same key, and the
 * accepted text must be that same base64 up to surrounding whitespace and
 * the optional '=' (the parser accepts one spelling per key).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/err.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[CRYPTO_KEY_LEN], back[CRYPTO_KEY_LEN];
	char text[CRYPTO_KEY_B64_LEN];
	size_t start = 0, end;
	char *s;
	int rc;

	s = malloc(size + 1);
	FUZZ_CHECK(s != NULL);
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	memset(key, 0xa5, sizeof(key));
	rc = crypto_key_parse(s, key);
	if (rc != 0) {
		FUZZ_CHECK(rc == ERR_KEYLEN || rc == ERR_KEYCHARS);
		for (size_t i = 0; i < sizeof(key); i++)
			FUZZ_CHECK(key[i] == 0xa5);
		free(s);
		return 0;
	}
	crypto_key_format(key, text);
	FUZZ_CHECK(strlen(text) == 44 && text[43] == '=');
	FUZZ_CHECK(crypto_key_parse(text, back) == 0);
	FUZZ_CHECK(memcmp(key, back, sizeof(key)) == 0);
	/* The accepted text, trimmed, is the canonical text with or without
	 * its '='. */
	end = strlen(s);
	while (start < end && is_space(s[start]))
		start++;
	while (end > start && is_space(s[end - 1]))
		end--;
	FUZZ_CHECK(end - start == 43 || end - start == 44);
	FUZZ_CHECK(memcmp(s + start, text, end - start) == 0);
	free(s);
	return 0;
}
