/* SPDX-License-Identifier: MIT */
/*
 * core/hash.h — the one hash function of shoal: XXH3-64 (xxHash).
 *
 * Used for consistent hashing in placement, for membership digests and for
 * hash tables. It is not a MAC: never use it where an attacker chooses the
 * input and gains by a collision (sealed packets use libsodium).
 */
#ifndef SHOAL_CORE_HASH_H
#define SHOAL_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* XXH3-64 of n bytes at p, with a seed. */
uint64_t hash64(const void *p, size_t n, uint64_t seed);

/* XXH3-64 of a NUL-terminated string. */
uint64_t hash_str(const char *s, uint64_t seed);

/* Hash of a 64-bit integer (stable across platforms: little-endian bytes). */
uint64_t hash_u64(uint64_t v, uint64_t seed);

/* Mix two hashes into one (order matters). */
uint64_t hash_combine(uint64_t a, uint64_t b);

#endif
