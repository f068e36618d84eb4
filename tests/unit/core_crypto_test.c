/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_crypto_test.c — core/crypto: keyring, sealed packets and
 * base64 keys.
 *
 * Covers the sealed layout byte by byte, seal/open round trips (encrypted and
 * unencrypted, empty and full-size payloads), and every way a packet must
 * fail to open: each single-bit flip, each truncation, an extra byte, the
 * wrong key (same id, other bytes), an unknown key id, the wrong cluster
 * label, a version we do not speak, a plaintext packet to a keyed keyring and
 * a sealed packet to an empty one. Keyring rules (first key primary,
 * duplicates, a full ring, primary cannot be removed) and a whole key
 * rotation. Key ids and fingerprints are pinned (checked against an
 * independent BLAKE2b), and base64 parsing is checked for every error it
 * documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <xxhash.h>

#include "core/crypto.h"
#include "core/err.h"
#include "core/rng.h"

#define LABEL	  "prod-eu"
#define LABEL_LEN (sizeof(LABEL) - 1)

/* Key A is 0, 1, ..., 31; key B is 0x80, 0x81, ...; key C is all 0x55. */
static void
key_fill(uint8_t k[CRYPTO_KEY_LEN], uint8_t base)
{
	for (int i = 0; i < CRYPTO_KEY_LEN; i++)
		k[i] = (uint8_t)(base + i);
}

static const uint8_t nonce1[CRYPTO_NONCE_LEN] = {
	1,  2,	3,  4,	5,  6,	7,  8,	9,  10, 11, 12,
	13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
};

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void
ring_with(struct keyring *kr, uint8_t base)
{
	uint8_t k[CRYPTO_KEY_LEN];

	keyring_init(kr);
	key_fill(k, base);
	assert_int_equal(keyring_add(kr, k), 0);
}

/* ---- key ids ---- */

static void
test_key_id_and_fingerprint(void **state)
{
	uint8_t k[CRYPTO_KEY_LEN] = {0};
	char fp[CRYPTO_FP_LEN];

	(void)state;
	/* BLAKE2b-64("shoal key id v1" || key), checked with Python's
	 * hashlib.blake2b(digest_size=8). */
	assert_int_equal(crypto_key_id(k), 0xc71f7248);
	crypto_key_fingerprint(k, fp);
	assert_string_equal(fp, "c71f72486e7b909e");
	key_fill(k, 0);
	assert_int_equal(crypto_key_id(k), 0xf70c3dd1);
	crypto_key_fingerprint(k, fp);
	assert_string_equal(fp, "f70c3dd12a1beb75");
	assert_int_equal(strlen(fp), CRYPTO_FP_LEN - 1);
}

/* ---- sealing ---- */

static void
test_seal_layout_and_roundtrip(void **state)
{
	const char pt[] = "hello, shoal";
	uint8_t out[128], back[128];
	struct keyring kr;
	size_t n = 0, m = 0;

	(void)state;
	ring_with(&kr, 0);
	assert_true(keyring_is_secure(&kr));
	assert_int_equal(keyring_overhead(&kr), CRYPTO_OVERHEAD);
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce1, pt,
				     sizeof(pt), out, sizeof(out), &n),
			 0);
	assert_int_equal(n, sizeof(pt) + CRYPTO_OVERHEAD);
	assert_int_equal(out[0], CRYPTO_VERSION);
	assert_int_equal(out[1], 0);
	/* Key id of key A, big-endian. */
	assert_memory_equal(out + 2,
			    ((const uint8_t[]){0xf7, 0x0c, 0x3d, 0xd1}), 4);
	assert_memory_equal(out + 6, nonce1, CRYPTO_NONCE_LEN);
	/* The payload is not in clear. */
	assert_null(memmem(out, n, "hello", 5));

	assert_int_equal(crypto_open(&kr, LABEL, LABEL_LEN, out, n, back,
				     sizeof(back), &m),
			 0);
	assert_int_equal(m, sizeof(pt));
	assert_memory_equal(back, pt, sizeof(pt));
}

static void
test_seal_is_deterministic_in_the_nonce(void **state)
{
	uint8_t a[64], b[64], c[64];
	uint8_t nonce2[CRYPTO_NONCE_LEN];
	struct keyring kr;
	size_t na, nb, nc;

	(void)state;
	ring_with(&kr, 0);
	memcpy(nonce2, nonce1, sizeof(nonce2));
	nonce2[23] ^= 1;
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce1, "abc", 3, a,
				     sizeof(a), &na),
			 0);
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce1, "abc", 3, b,
				     sizeof(b), &nb),
			 0);
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce2, "abc", 3, c,
				     sizeof(c), &nc),
			 0);
	assert_int_equal(na, 49);
	assert_memory_equal(a, b, na);
	assert_memory_not_equal(a + CRYPTO_HDR_LEN, c + CRYPTO_HDR_LEN,
				na - CRYPTO_HDR_LEN);
}

static void
test_seal_known_answer(void **state)
{
	/* Key A, nonce 1..24, label "prod-eu", plaintext "abc". Pins the
	 * wire format: AD = header || label, XChaCha20-Poly1305-IETF. */
	static const uint8_t want[49] = {
		0x01, 0x00, 0xf7, 0x0c, 0x3d, 0xd1, 0x01, 0x02, 0x03, 0x04,
		0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
		0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
		0xdd, 0x99, 0x31, 0xef, 0x09, 0x77, 0xf1, 0xf0, 0x22, 0x32,
		0xd2, 0xc4, 0x7f, 0x18, 0xe8, 0x49, 0x60, 0xe3, 0xaf,
	};
	uint8_t out[64];
	struct keyring kr;
	size_t n;

	(void)state;
	ring_with(&kr, 0);
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce1, "abc", 3,
				     out, sizeof(out), &n),
			 0);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_every_bit_flip_fails(void **state)
{
	uint8_t pkt[64], mut[64], back[64];
	struct keyring kr;
	size_t n, m;

	(void)state;
	ring_with(&kr, 0);
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce1, "abcde", 5,
				     pkt, sizeof(pkt), &n),
			 0);
	assert_int_equal(n, 51);
	for (size_t bit = 0; bit < 8 * n; bit++) {
		int rc;

		memcpy(mut, pkt, n);
		mut[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rc = crypto_open(&kr, LABEL, LABEL_LEN, mut, n, back,
				 sizeof(back), &m);
		if (rc == 0)
			fail_msg("bit %zu flipped: packet still opens", bit);
		/* What each part of the packet answers. */
		if (bit < 8)
			assert_int_equal(rc, ERR_VERSION);
		else if (bit == 8)
			assert_int_equal(rc, ERR_PLAIN); /* flags: plain */
		else if (bit < 16)
			assert_int_equal(rc, ERR_DECODE); /* other flags */
		else if (bit < 48)
			assert_int_equal(rc, ERR_NOKEY); /* key id */
		else
			assert_int_equal(rc, ERR_AUTH); /* nonce, body, tag */
	}
	/* Untouched, it still opens. */
	assert_int_equal(crypto_open(&kr, LABEL, LABEL_LEN, pkt, n, back,
				     sizeof(back), &m),
			 0);
}

static void
test_every_truncation_fails(void **state)
{
	uint8_t pkt[64], back[64];
	struct keyring kr;
	size_t n, m;

	(void)state;
	ring_with(&kr, 0);
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce1, "abcde", 5,
				     pkt, sizeof(pkt), &n),
			 0);
	for (size_t len = 0; len < n; len++) {
		int rc = crypto_open(&kr, LABEL, LABEL_LEN, pkt, len, back,
				     sizeof(back), &m);

		if (len < CRYPTO_OVERHEAD)
			assert_int_equal(rc, ERR_TRUNC);
		else
			assert_int_equal(rc, ERR_AUTH);
	}
	/* One byte too many. */
	pkt[n] = 0;
	assert_int_equal(crypto_open(&kr, LABEL, LABEL_LEN, pkt, n + 1, back,
				     sizeof(back), &m),
			 ERR_AUTH);
}

static void
test_wrong_key_label_version(void **state)
{
	uint8_t pkt[64], back[64];
	struct keyring kr, other, forged;
	size_t n, m = 1234;

	(void)state;
	ring_with(&kr, 0);
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce1, "abcde", 5,
				     pkt, sizeof(pkt), &n),
			 0);
	/* Another key has another id: not even tried. */
	ring_with(&other, 0x80);
	assert_int_equal(crypto_open(&other, LABEL, LABEL_LEN, pkt, n, back,
				     sizeof(back), &m),
			 ERR_NOKEY);
	/* The right id but the wrong key bytes: the tag check fails. */
	ring_with(&forged, 0);
	forged.keys[0].bytes[31] ^= 0x01;
	assert_int_equal(crypto_open(&forged, LABEL, LABEL_LEN, pkt, n, back,
				     sizeof(back), &m),
			 ERR_AUTH);
	/* Wrong cluster label, a prefix of it, and none at all. */
	assert_int_equal(
		crypto_open(&kr, "prod-us", 7, pkt, n, back, sizeof(back), &m),
		ERR_AUTH);
	assert_int_equal(crypto_open(&kr, LABEL, LABEL_LEN - 1, pkt, n, back,
				     sizeof(back), &m),
			 ERR_AUTH);
	assert_int_equal(
		crypto_open(&kr, NULL, 0, pkt, n, back, sizeof(back), &m),
		ERR_AUTH);
	assert_int_equal(m, 1234); /* untouched on failure */
	/* A version we do not speak is refused before anything else. */
	pkt[0] = 2;
	assert_int_equal(crypto_open(&kr, LABEL, LABEL_LEN, pkt, n, back,
				     sizeof(back), &m),
			 ERR_VERSION);
	pkt[0] = 0;
	assert_int_equal(crypto_open(&kr, LABEL, LABEL_LEN, pkt, n, back,
				     sizeof(back), &m),
			 ERR_VERSION);
}

static void
test_label_limits(void **state)
{
	char label[CRYPTO_LABEL_MAX + 1];
	uint8_t pkt[64], back[64];
	struct keyring kr;
	size_t n, m;

	(void)state;
	memset(label, 'L', sizeof(label));
	ring_with(&kr, 0);
	assert_int_equal(crypto_seal(&kr, label, CRYPTO_LABEL_MAX, nonce1, "x",
				     1, pkt, sizeof(pkt), &n),
			 0);
	assert_int_equal(crypto_open(&kr, label, CRYPTO_LABEL_MAX, pkt, n, back,
				     sizeof(back), &m),
			 0);
	assert_int_equal(crypto_seal(&kr, label, CRYPTO_LABEL_MAX + 1, nonce1,
				     "x", 1, pkt, sizeof(pkt), &n),
			 ERR_INVAL);
	assert_int_equal(crypto_open(&kr, label, CRYPTO_LABEL_MAX + 1, pkt, n,
				     back, sizeof(back), &m),
			 ERR_INVAL);
	/* No label at all is a label too (the empty one). */
	assert_int_equal(
		crypto_seal(&kr, NULL, 0, nonce1, "x", 1, pkt, sizeof(pkt), &n),
		0);
	assert_int_equal(
		crypto_open(&kr, "", 0, pkt, n, back, sizeof(back), &m), 0);
}

static void
test_buffer_capacities(void **state)
{
	uint8_t pt[100], pkt[200], back[200];
	struct keyring kr, plain;
	size_t n = 777, m = 777;

	(void)state;
	memset(pt, 0x42, sizeof(pt));
	ring_with(&kr, 0);
	assert_int_equal(crypto_seal(&kr, NULL, 0, nonce1, pt, 100, pkt,
				     100 + CRYPTO_OVERHEAD - 1, &n),
			 ERR_TOOBIG);
	assert_int_equal(n, 777);
	assert_int_equal(
		crypto_seal(&kr, NULL, 0, nonce1, pt, 100, pkt, 10, &n),
		ERR_TOOBIG);
	assert_int_equal(crypto_seal(&kr, NULL, 0, nonce1, pt, 100, pkt,
				     100 + CRYPTO_OVERHEAD, &n),
			 0);
	assert_int_equal(n, 146);
	assert_int_equal(crypto_open(&kr, NULL, 0, pkt, n, back, 99, &m),
			 ERR_TOOBIG);
	assert_int_equal(crypto_open(&kr, NULL, 0, pkt, n, back, 100, &m), 0);
	assert_int_equal(m, 100);
	assert_memory_equal(back, pt, 100);

	keyring_init(&plain);
	assert_int_equal(crypto_seal(&plain, NULL, 0, nonce1, pt, 100, pkt,
				     100 + CRYPTO_PLAIN_OVERHEAD - 1, &n),
			 ERR_TOOBIG);
	assert_int_equal(crypto_seal(&plain, NULL, 0, nonce1, pt, 100, pkt,
				     100 + CRYPTO_PLAIN_OVERHEAD, &n),
			 0);
	assert_int_equal(crypto_open(&plain, NULL, 0, pkt, n, back, 99, &m),
			 ERR_TOOBIG);
	assert_int_equal(crypto_open(&plain, NULL, 0, pkt, n, back, 100, &m),
			 0);
	assert_int_equal(m, 100);
}

static void
test_empty_payload(void **state)
{
	uint8_t pkt[64], back[8];
	struct keyring kr, plain;
	size_t n, m = 99;

	(void)state;
	ring_with(&kr, 0);
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce1, NULL, 0,
				     pkt, sizeof(pkt), &n),
			 0);
	assert_int_equal(n, CRYPTO_OVERHEAD);
	assert_int_equal(
		crypto_open(&kr, LABEL, LABEL_LEN, pkt, n, back, 0, &m), 0);
	assert_int_equal(m, 0);
	keyring_init(&plain);
	assert_int_equal(crypto_seal(&plain, LABEL, LABEL_LEN, nonce1, NULL, 0,
				     pkt, sizeof(pkt), &n),
			 0);
	assert_int_equal(n, CRYPTO_PLAIN_OVERHEAD);
	m = 99;
	assert_int_equal(
		crypto_open(&plain, LABEL, LABEL_LEN, pkt, n, back, 0, &m), 0);
	assert_int_equal(m, 0);
}

static void
test_plain_mode(void **state)
{
	uint8_t pkt[64], mut[64], back[64];
	struct keyring plain, kr;
	uint64_t seed, sum;
	size_t n, m;

	(void)state;
	keyring_init(&plain);
	assert_false(keyring_is_secure(&plain));
	assert_int_equal(keyring_overhead(&plain), CRYPTO_PLAIN_OVERHEAD);
	assert_int_equal(crypto_seal(&plain, LABEL, LABEL_LEN, nonce1, "abc", 3,
				     pkt, sizeof(pkt), &n),
			 0);
	assert_int_equal(n, 3 + CRYPTO_PLAIN_OVERHEAD);
	/* Layout: ver, flags=plain, zero id, plaintext, XXH3-64 checksum
	 * (big-endian) of header || plaintext seeded by the label's hash. */
	assert_memory_equal(
		pkt, ((const uint8_t[]){1, 1, 0, 0, 0, 0, 'a', 'b', 'c'}), 9);
	seed = XXH3_64bits_withSeed(LABEL, LABEL_LEN, 0x73686f616cULL);
	sum = XXH3_64bits_withSeed(pkt, 9, seed);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pkt[9 + i], (uint8_t)(sum >> (56 - 8 * i)));
	assert_int_equal(crypto_open(&plain, LABEL, LABEL_LEN, pkt, n, back,
				     sizeof(back), &m),
			 0);
	assert_int_equal(m, 3);
	assert_memory_equal(back, "abc", 3);

	/* Wrong label: the checksum catches it. */
	assert_int_equal(crypto_open(&plain, "prod-us", 7, pkt, n, back,
				     sizeof(back), &m),
			 ERR_AUTH);
	/* Every single-bit flip fails too (it is a checksum, not a MAC,
	 * but it must catch corruption). */
	for (size_t bit = 0; bit < 8 * n; bit++) {
		memcpy(mut, pkt, n);
		mut[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (crypto_open(&plain, LABEL, LABEL_LEN, mut, n, back,
				sizeof(back), &m) == 0)
			fail_msg("plain packet, bit %zu flipped: opens", bit);
	}
	/* Other flag bits or a non-zero id in plain mode are malformed. */
	memcpy(mut, pkt, n);
	mut[1] = 0x03;
	assert_int_equal(crypto_open(&plain, LABEL, LABEL_LEN, mut, n, back,
				     sizeof(back), &m),
			 ERR_DECODE);
	memcpy(mut, pkt, n);
	mut[5] = 1;
	assert_int_equal(crypto_open(&plain, LABEL, LABEL_LEN, mut, n, back,
				     sizeof(back), &m),
			 ERR_DECODE);
	/* Shorter than a plain header and checksum. */
	assert_int_equal(crypto_open(&plain, LABEL, LABEL_LEN, pkt,
				     CRYPTO_PLAIN_OVERHEAD - 1, back,
				     sizeof(back), &m),
			 ERR_TRUNC);

	/* A keyed keyring refuses plaintext, and the other way round. */
	ring_with(&kr, 0);
	assert_int_equal(crypto_open(&kr, LABEL, LABEL_LEN, pkt, n, back,
				     sizeof(back), &m),
			 ERR_PLAIN);
	assert_int_equal(crypto_seal(&kr, LABEL, LABEL_LEN, nonce1, "abc", 3,
				     pkt, sizeof(pkt), &n),
			 0);
	assert_int_equal(crypto_open(&plain, LABEL, LABEL_LEN, pkt, n, back,
				     sizeof(back), &m),
			 ERR_NOKEY);
}

/* ---- keyring ---- */

static void
test_keyring_rules(void **state)
{
	uint8_t k[CRYPTO_KEYS_MAX + 1][CRYPTO_KEY_LEN];
	struct keyring kr;

	(void)state;
	for (int i = 0; i <= CRYPTO_KEYS_MAX; i++)
		key_fill(k[i], (uint8_t)(0x10 * i + 1));
	keyring_init(&kr);
	assert_int_equal(kr.n, 0);
	assert_int_equal(keyring_find(&kr, k[0]), -1);
	assert_int_equal(keyring_use(&kr, k[0]), ERR_NOENT);
	assert_int_equal(keyring_remove(&kr, k[0]), ERR_NOENT);

	assert_int_equal(keyring_add(&kr, k[0]), 0);
	assert_int_equal(kr.n, 1);
	assert_int_equal(kr.primary, 0); /* the first key is primary */
	assert_int_equal(kr.keys[0].id, crypto_key_id(k[0]));
	assert_int_equal(keyring_add(&kr, k[0]), ERR_EXIST);
	assert_int_equal(kr.n, 1);
	assert_int_equal(keyring_remove(&kr, k[0]), ERR_STATE);

	for (int i = 1; i < CRYPTO_KEYS_MAX; i++)
		assert_int_equal(keyring_add(&kr, k[i]), 0);
	assert_int_equal(kr.n, CRYPTO_KEYS_MAX);
	assert_int_equal(kr.primary, 0); /* adding does not change it */
	assert_int_equal(keyring_add(&kr, k[CRYPTO_KEYS_MAX]), ERR_FULL);
	assert_int_equal(keyring_add(&kr, k[3]), ERR_EXIST);
	for (int i = 0; i < CRYPTO_KEYS_MAX; i++)
		assert_int_equal(keyring_find(&kr, k[i]), i);
	assert_int_equal(keyring_find(&kr, k[CRYPTO_KEYS_MAX]), -1);

	/* Make key 5 primary; removing a key before it keeps it primary. */
	assert_int_equal(keyring_use(&kr, k[5]), 0);
	assert_int_equal(kr.primary, 5);
	assert_int_equal(keyring_remove(&kr, k[5]), ERR_STATE);
	assert_int_equal(keyring_remove(&kr, k[2]), 0);
	assert_int_equal(kr.n, CRYPTO_KEYS_MAX - 1);
	assert_int_equal(kr.primary, 4);
	assert_int_equal(keyring_find(&kr, k[5]), 4);
	assert_int_equal(keyring_find(&kr, k[2]), -1);
	assert_int_equal(keyring_remove(&kr, k[2]), ERR_NOENT);
	/* The freed slot is wiped. */
	{
		static const struct crypto_key zero;

		assert_memory_equal(&kr.keys[CRYPTO_KEYS_MAX - 1], &zero,
				    sizeof(zero));
	}
	/* Removing a key after the primary leaves the index alone. */
	assert_int_equal(keyring_remove(&kr, k[7]), 0);
	assert_int_equal(kr.primary, 4);
	assert_int_equal(keyring_find(&kr, k[5]), 4);
	/* With room again, a new key goes in (not primary). */
	assert_int_equal(keyring_add(&kr, k[CRYPTO_KEYS_MAX]), 0);
	assert_int_equal(kr.primary, 4);
	assert_int_equal(keyring_use(&kr, k[CRYPTO_KEYS_MAX]), 0);
	assert_int_equal(kr.primary, (unsigned)kr.n - 1);
}

static void
test_key_rotation(void **state)
{
	uint8_t a[CRYPTO_KEY_LEN], b[CRYPTO_KEY_LEN];
	uint8_t pa[64], pb[64], back[64];
	struct keyring old, both, fresh;
	size_t na, nb, m;

	(void)state;
	key_fill(a, 0);
	key_fill(b, 0x80);
	keyring_init(&old);
	assert_int_equal(keyring_add(&old, a), 0);
	/* Step 1: install b everywhere; a stays primary. */
	keyring_init(&both);
	assert_int_equal(keyring_add(&both, a), 0);
	assert_int_equal(keyring_add(&both, b), 0);
	assert_int_equal(crypto_seal(&both, LABEL, LABEL_LEN, nonce1, "1", 1,
				     pa, sizeof(pa), &na),
			 0);
	assert_int_equal(crypto_open(&old, LABEL, LABEL_LEN, pa, na, back,
				     sizeof(back), &m),
			 0);
	/* Step 2: use b. Its packets carry b's id; holders of both open
	 * packets sealed with either key. */
	assert_int_equal(keyring_use(&both, b), 0);
	assert_int_equal(crypto_seal(&both, LABEL, LABEL_LEN, nonce1, "2", 1,
				     pb, sizeof(pb), &nb),
			 0);
	assert_int_equal((uint32_t)pb[2] << 24 | (uint32_t)pb[3] << 16 |
				 (uint32_t)pb[4] << 8 | pb[5],
			 crypto_key_id(b));
	assert_int_equal(crypto_open(&both, LABEL, LABEL_LEN, pa, na, back,
				     sizeof(back), &m),
			 0);
	assert_int_equal(crypto_open(&both, LABEL, LABEL_LEN, pb, nb, back,
				     sizeof(back), &m),
			 0);
	assert_int_equal(back[0], '2');
	assert_int_equal(crypto_open(&old, LABEL, LABEL_LEN, pb, nb, back,
				     sizeof(back), &m),
			 ERR_NOKEY);
	/* Step 3: remove a. Packets under a no longer open. */
	fresh = both;
	assert_int_equal(keyring_remove(&fresh, a), 0);
	assert_int_equal(crypto_open(&fresh, LABEL, LABEL_LEN, pa, na, back,
				     sizeof(back), &m),
			 ERR_NOKEY);
	assert_int_equal(crypto_open(&fresh, LABEL, LABEL_LEN, pb, nb, back,
				     sizeof(back), &m),
			 0);
}

/* ---- base64 keys ---- */

#define KEY_A_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static void
test_key_format_and_parse(void **state)
{
	uint8_t a[CRYPTO_KEY_LEN], k[CRYPTO_KEY_LEN];
	char text[CRYPTO_KEY_B64_LEN];

	(void)state;
	key_fill(a, 0);
	crypto_key_format(a, text);
	assert_string_equal(text, KEY_A_B64);
	assert_int_equal(strlen(text), CRYPTO_KEY_B64_LEN - 1);

	memset(k, 0, sizeof(k));
	assert_int_equal(crypto_key_parse(KEY_A_B64, k), 0);
	assert_memory_equal(k, a, sizeof(a));
	/* Padding optional; surrounding whitespace (a key file's newline)
	 * ignored. */
	static const char *const ok[] = {
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		(KEY_A_B64 "\n"),
		(KEY_A_B64 "\r\n"),
		("  \t" KEY_A_B64 " \n\n"),
		("\n" KEY_A_B64),
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(k, 0, sizeof(k));
		if (crypto_key_parse(ok[i], k) != 0)
			fail_msg("refused good key text %zu", i);
		assert_memory_equal(k, a, sizeof(a));
	}
}

static void
test_key_parse_errors(void **state)
{
	static const struct {
		const char *text;
		int rc;
	} cases[] = {
		{"", ERR_KEYLEN},
		{"   \n", ERR_KEYLEN},
		{"=", ERR_KEYLEN},
		/* 16 bytes */
		{"AAECAwQFBgcICQoLDA0ODw==", ERR_KEYLEN},
		/* 31 bytes */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", ERR_KEYLEN},
		/* 33 bytes */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", ERR_KEYLEN},
		/* 48 bytes */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKiss"
		 "LS4v",
		 ERR_KEYLEN},
		/* 44 characters, no padding: 33 bytes */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A", ERR_KEYLEN},
		/* characters outside the standard alphabet */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=", ERR_KEYCHARS},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=", ERR_KEYCHARS},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd_h8=", ERR_KEYCHARS},
		{"AAECAwQFBgcI CQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", ERR_KEYCHARS},
		{"AAECAwQFBgcI\nCQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		 ERR_KEYCHARS},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh\xc3\xa9",
		 ERR_KEYCHARS},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8.", ERR_KEYCHARS},
		/* misplaced or excess padding */
		{"AAECAwQFBgcICQoLDA0O=DxAREhMUFRYXGBkaGxwdHh8", ERR_KEYCHARS},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==", ERR_KEYCHARS},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8===",
		 ERR_KEYCHARS},
		/* the last character carries bits past the 32nd byte */
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=", ERR_KEYCHARS},
	};
	uint8_t k[CRYPTO_KEY_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		memset(k, 0xee, sizeof(k));
		rc = crypto_key_parse(cases[i].text, k);
		if (rc != cases[i].rc)
			fail_msg("key text %zu \"%s\": got %d, want %d", i,
				 cases[i].text, rc, cases[i].rc);
		for (size_t j = 0; j < sizeof(k); j++)
			assert_int_equal(k[j], 0xee); /* untouched */
	}
	assert_int_equal(crypto_key_parse(NULL, k), ERR_INVAL);
}

static void
test_key_text_roundtrip(void **state)
{
	const uint64_t seed = 20240601;
	struct rng r;

	(void)state;
	rng_seed(&r, seed);
	for (int i = 0; i < 2000; i++) {
		uint8_t k[CRYPTO_KEY_LEN], back[CRYPTO_KEY_LEN];
		char text[CRYPTO_KEY_B64_LEN];

		rng_fill(&r, k, sizeof(k));
		if (i == 0)
			memset(k, 0xff, sizeof(k));
		crypto_key_format(k, text);
		assert_int_equal(strlen(text), 44);
		assert_int_equal(text[43], '=');
		if (crypto_key_parse(text, back) != 0 ||
		    memcmp(k, back, sizeof(k)) != 0)
			fail_msg("seed %llu, key %d: %s does not round-trip",
				 (unsigned long long)seed, i, text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_id_and_fingerprint),
		cmocka_unit_test(test_seal_layout_and_roundtrip),
		cmocka_unit_test(test_seal_is_deterministic_in_the_nonce),
		cmocka_unit_test(test_seal_known_answer),
		cmocka_unit_test(test_every_bit_flip_fails),
		cmocka_unit_test(test_every_truncation_fails),
		cmocka_unit_test(test_wrong_key_label_version),
		cmocka_unit_test(test_label_limits),
		cmocka_unit_test(test_buffer_capacities),
		cmocka_unit_test(test_empty_payload),
		cmocka_unit_test(test_plain_mode),
		cmocka_unit_test(test_keyring_rules),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_key_format_and_parse),
		cmocka_unit_test(test_key_parse_errors),
		cmocka_unit_test(test_key_text_roundtrip),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
