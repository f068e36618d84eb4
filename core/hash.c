/* SPDX-License-Identifier: MIT */
/*
 * core/hash.c — thin wrappers over XXH3-64.
 *
 * Wrapping keeps the xxHash include in one file and gives the rest of the
 * code base one spelling. hash_u64 hashes the little-endian bytes so that a
 * placement computed on one machine is the same on every other.
 */
#include "core/hash.h"

#include <string.h>

#include <xxhash.h>

uint64_t
hash64(const void *p, size_t n, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, n, seed);
}

uint64_t
hash_str(const char *s, uint64_t seed)
{
	return XXH3_64bits_withSeed(s, strlen(s), seed);
}

uint64_t
hash_u64(uint64_t v, uint64_t seed)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return XXH3_64bits_withSeed(b, sizeof(b), seed);
}

uint64_t
hash_combine(uint64_t a, uint64_t b)
{
	return hash_u64(b, a ^ 0x9e3779b97f4a7c15ULL);
}
