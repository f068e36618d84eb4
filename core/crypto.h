/* SPDX-License-Identifier: MIT */
/*
 * core/crypto.h — the cluster keyring and sealed packets.
 *
 * Every datagram and stream frame shoal sends is sealed with
 * XChaCha20-Poly1305-IETF under the keyring's primary key. The receiver
 * finds the key by the id in the header, so during a rotation members that
 * have installed a new key can still open packets sealed with the old one.
 *
 * Sealed layout (byte offsets):
 *
 *    0        1        2                  6                          30
 *   +--------+--------+------------------+--------------------------+
 *   | ver=1  | flags=0| key id (u32 BE)  | nonce (24 bytes)         |
 *   +--------+--------+------------------+--------------------------+
 *   | ciphertext (same length as the plaintext) ...  | tag (16)     |
 *   +------------------------------------------------+--------------+
 *   associated data = bytes [0, 30) || cluster label
 *
 * The header is authenticated, so flipping the version or key id fails the
 * tag check; the cluster label is authenticated but not sent, so two clusters
 * that share a key still cannot open each other's packets. The nonce comes
 * from the caller (random 24 bytes: from the OS in the agent, from the node's
 * seeded rng in the simulator); 192-bit random nonces make reuse negligible.
 *
 * Unencrypted layout, used only when the keyring is empty (the agent's
 * --insecure-no-encryption and the simulator's --no-crypto):
 *
 *    0        1        2                  6
 *   +--------+--------+------------------+-------------+---------------+
 *   | ver=1  | flags=1| 0 (u32)          | plaintext   | XXH3-64 (8)   |
 *   +--------+--------+------------------+-------------+---------------+
 *   checksum over bytes [0, 6) || label || plaintext
 *
 * The checksum catches corruption and a wrong cluster label; it is not
 * security. A keyring with keys refuses unencrypted packets and vice versa.
 *
 * The caller must call sodium_init() once before using these functions (the
 * runtimes do; core/ never does, because it touches libsodium's globals).
 */
#ifndef SHOAL_CORE_CRYPTO_H
#define SHOAL_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_VERSION 1
#define CRYPTO_KEY_LEN 32
#define CRYPTO_KEYS_MAX 8
#define CRYPTO_NONCE_LEN 24
#define CRYPTO_TAG_LEN 16
#define CRYPTO_HDR_LEN 30
#define CRYPTO_OVERHEAD (CRYPTO_HDR_LEN + CRYPTO_TAG_LEN)
#define CRYPTO_PLAIN_HDR_LEN 6
#define CRYPTO_PLAIN_OVERHEAD (CRYPTO_PLAIN_HDR_LEN + 8)
#define CRYPTO_LABEL_MAX 64
/* Base64 text of a key: 44 characters with padding, plus NUL. */
#define CRYPTO_KEY_B64_LEN 45
/* Fingerprint text: 16 hex digits plus NUL. */
#define CRYPTO_FP_LEN 17

#define CRYPTO_FLAG_PLAIN 0x01

struct crypto_key {
	uint8_t bytes[CRYPTO_KEY_LEN];
	uint32_t id; /* first 4 bytes of the key's BLAKE2b fingerprint */
};

struct keyring {
	struct crypto_key keys[CRYPTO_KEYS_MAX];
	unsigned n;	  /* keys in use; 0 means "no encryption" */
	unsigned primary; /* index of the sealing key, < n when n > 0 */
};

/* An empty keyring (unencrypted mode until a key is added). */
void keyring_init(struct keyring *kr);

/* Add a key; the first key added becomes primary. 0, ERR_EXIST (already
 * there, or its id collides with another key's) or ERR_FULL. */
int keyring_add(struct keyring *kr, const uint8_t key[CRYPTO_KEY_LEN]);

/* Make an installed key primary. 0 or ERR_NOENT. */
int keyring_use(struct keyring *kr, const uint8_t key[CRYPTO_KEY_LEN]);

/* Remove a key. 0, ERR_NOENT, or ERR_STATE when it is the primary. */
int keyring_remove(struct keyring *kr, const uint8_t key[CRYPTO_KEY_LEN]);

/* Index of a key, or -1. */
int keyring_find(const struct keyring *kr, const uint8_t key[CRYPTO_KEY_LEN]);

/* True when packets are sealed (the keyring holds at least one key). */
static inline bool
keyring_is_secure(const struct keyring *kr)
{
	return kr->n > 0;
}

/* Overhead added by crypto_seal with this keyring. */
static inline size_t
keyring_overhead(const struct keyring *kr)
{
	return kr->n ? CRYPTO_OVERHEAD : CRYPTO_PLAIN_OVERHEAD;
}

/* The 32-bit id and the 64-bit fingerprint (as 16 hex digits) of a key. */
uint32_t crypto_key_id(const uint8_t key[CRYPTO_KEY_LEN]);
void crypto_key_fingerprint(const uint8_t key[CRYPTO_KEY_LEN],
			    char out[CRYPTO_FP_LEN]);

/* Parse a base64 key (standard alphabet, '=' padding optional, surrounding
 * whitespace ignored). 0, ERR_KEYCHARS (a character outside base64, or
 * misplaced padding) or ERR_KEYLEN (does not decode to exactly 32 bytes). */
int crypto_key_parse(const char *text, uint8_t key[CRYPTO_KEY_LEN]);

/* Format a key as 44 characters of padded base64 with a NUL. */
void crypto_key_format(const uint8_t key[CRYPTO_KEY_LEN],
		       char out[CRYPTO_KEY_B64_LEN]);

/* Seal pt into out. nonce is CRYPTO_NONCE_LEN random bytes (ignored in
 * unencrypted mode). label may be NULL when label_len is 0 and at most
 * CRYPTO_LABEL_MAX bytes. out must not overlap pt. Returns 0 and sets
 * *out_len, or ERR_TOOBIG (out_cap too small) or ERR_INVAL. */
int crypto_seal(const struct keyring *kr, const void *label, size_t label_len,
		const uint8_t nonce[CRYPTO_NONCE_LEN], const void *pt,
		size_t pt_len, uint8_t *out, size_t out_cap, size_t *out_len);

/* Like crypto_seal, but with the key whose id is key_id when the keyring
 * holds it (the primary otherwise, and for key_id 0). Replies are sealed
 * with the key their request came in, so that a member that missed a key
 * rotation still reads the answer that brings it the new keys. */
int crypto_seal_with(const struct keyring *kr, uint32_t key_id,
		     const void *label, size_t label_len,
		     const uint8_t nonce[CRYPTO_NONCE_LEN], const void *pt,
		     size_t pt_len, uint8_t *out, size_t out_cap,
		     size_t *out_len);

/* The key id in a sealed packet's header; 0 for an unencrypted or short
 * packet. Reads only the header; says nothing about authenticity. */
uint32_t crypto_key_id_of(const uint8_t *in, size_t in_len);

/* Open a sealed packet into pt (pt_cap >= in_len is always enough). Returns
 * 0 and sets *pt_len, or: ERR_TRUNC (shorter than a header and tag),
 * ERR_VERSION, ERR_PLAIN (unencrypted packet but we have keys), ERR_NOKEY
 * (no key with that id, or we have no keys), ERR_DECODE (unknown flags, or
 * a non-zero key id in an unencrypted packet), ERR_AUTH (tag or checksum
 * mismatch: wrong key, wrong label, tampering), ERR_TOOBIG (pt_cap). */
int crypto_open(const struct keyring *kr, const void *label, size_t label_len,
		const uint8_t *in, size_t in_len, uint8_t *pt, size_t pt_cap,
		size_t *pt_len);

#endif
