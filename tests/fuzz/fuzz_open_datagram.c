/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_open_datagram.c — open a sealed datagram, then read it.
 *
 * This is what a node does with every packet that reaches its port: open
 * it with the keyring (here one fixed key and cluster label, see
 * fuzz_common.h), and, if it opens, walk the plaintext as msgpack
 * (fuzz_check_msgpack: skip, typed reads, re-encoding, read_end). The same
 * bytes are also offered to an empty keyring, which takes the unencrypted
 * (checksummed) layout, so both header paths are exercised.
 *
 * A fuzzer cannot forge a Poly1305 tag or an XXH3 checksum, so on its own
 * it would never get past crypto_open. The custom mutator below fixes that
 * the way one fuzzes through a MAC: when the current input opens, it
 * mutates the plaintext and seals it again (with a nonce drawn from the
 * mutator's seed); otherwise, and half of the time anyway, it mutates the
 * raw bytes, which exercises the header and authentication checks.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/crypto.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed);
/* Provided by libFuzzer; absent (NULL) in the replay driver, which never
 * calls the custom mutator. */
extern size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
	__attribute__((weak));

struct rings {
	bool ready;
	struct keyring keyed;
	struct keyring plain;
};

static struct rings *
rings(void)
{
	static struct rings r;
	uint8_t key[CRYPTO_KEY_LEN];

	if (r.ready)
		return &r;
	if (sodium_init() < 0)
		abort();
	keyring_init(&r.keyed);
	keyring_init(&r.plain);
	fuzz_key(key);
	FUZZ_CHECK(keyring_add(&r.keyed, key) == 0);
	r.ready = true;
	return &r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rings *r = rings();
	const struct keyring *krs[2] = {&r->keyed, &r->plain};
	uint8_t *pt = malloc(size ? size : 1);

	FUZZ_CHECK(pt != NULL);
	for (int k = 0; k < 2; k++) {
		size_t n = 0;
		int rc = crypto_open(krs[k], FUZZ_LABEL, FUZZ_LABEL_LEN, data,
				     size, pt, size, &n);

		if (rc != 0) {
			FUZZ_CHECK(rc == ERR_TRUNC || rc == ERR_VERSION ||
				   rc == ERR_PLAIN || rc == ERR_NOKEY ||
				   rc == ERR_AUTH || rc == ERR_DECODE);
			continue;
		}
		FUZZ_CHECK(n + keyring_overhead(krs[k]) == size);
		fuzz_check_msgpack(pt, n);
	}
	free(pt);
	return 0;
}

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			unsigned int seed)
{
	struct rings *r = rings();
	const struct keyring *krs[2] = {&r->keyed, &r->plain};
	uint8_t nonce[CRYPTO_NONCE_LEN];
	uint8_t *pt;
	size_t n = 0, out = 0;

	if (!LLVMFuzzerMutate)
		return size;
	if ((seed & 1) || max_size < CRYPTO_OVERHEAD)
		return LLVMFuzzerMutate(data, size, max_size);
	pt = malloc(max_size);
	if (!pt)
		return LLVMFuzzerMutate(data, size, max_size);
	for (int k = 0; k < 2; k++) {
		size_t over = keyring_overhead(krs[k]);

		if (crypto_open(krs[k], FUZZ_LABEL, FUZZ_LABEL_LEN, data, size,
				pt, max_size, &n) != 0)
			continue;
		n = LLVMFuzzerMutate(pt, n, max_size - over);
		for (int i = 0; i < CRYPTO_NONCE_LEN; i++)
			nonce[i] = (uint8_t)(seed >> (8 * (i % 4)) ^ i);
		if (crypto_seal(krs[k], FUZZ_LABEL, FUZZ_LABEL_LEN, nonce, pt,
				n, data, max_size, &out) == 0) {
			free(pt);
			return out;
		}
	}
	free(pt);
	return LLVMFuzzerMutate(data, size, max_size);
}
