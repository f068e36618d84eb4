/* SPDX-License-Identifier: MIT */
/*
 * core/crypto.c — keyring, XChaCha20-Poly1305 sealing, base64 keys.
 *
 * Why XChaCha20-Poly1305-IETF: its 24-byte nonce can be drawn at random for
 * every packet with no coordination between senders and no risk of reuse, so
 * there is no nonce counter to persist across restarts. The associated data
 * is the 30-byte header plus the cluster label, assembled on the stack (the
 * label is bounded by CRYPTO_LABEL_MAX), so the header cannot be altered and
 * clusters with different names never accept each other's packets.
 *
 * Key ids are derived from the key itself (BLAKE2b with a domain string), so
 * every member computes the same id for the same key without sending anything
 * but the key. The keyring is a small fixed array: lookups are a linear scan
 * over at most eight ids.
 *
 * Nothing here draws randomness or reads a clock: the nonce is an argument.
 */
#include "core/crypto.h"

#include <string.h>

#include <sodium.h>
#include <xxhash.h>

#include "core/err.h"

static const char key_domain[] = "shoal key id v1";

static void
key_digest(const uint8_t key[CRYPTO_KEY_LEN], uint8_t out[8])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 8);
	crypto_generichash_update(&st, (const uint8_t *)key_domain,
				  sizeof(key_domain) - 1);
	crypto_generichash_update(&st, key, CRYPTO_KEY_LEN);
	crypto_generichash_final(&st, out, 8);
}

uint32_t
crypto_key_id(const uint8_t key[CRYPTO_KEY_LEN])
{
	uint8_t d[8];

	key_digest(key, d);
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
	       (uint32_t)d[2] << 8 | d[3];
}

void
crypto_key_fingerprint(const uint8_t key[CRYPTO_KEY_LEN],
		       char out[CRYPTO_FP_LEN])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[8];

	key_digest(key, d);
	for (int i = 0; i < 8; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[16] = '\0';
}

void
keyring_init(struct keyring *kr)
{
	memset(kr, 0, sizeof(*kr));
}

int
keyring_find(const struct keyring *kr, const uint8_t key[CRYPTO_KEY_LEN])
{
	for (unsigned i = 0; i < kr->n; i++)
		if (sodium_memcmp(kr->keys[i].bytes, key, CRYPTO_KEY_LEN) == 0)
			return (int)i;
	return -1;
}

int
keyring_add(struct keyring *kr, const uint8_t key[CRYPTO_KEY_LEN])
{
	uint32_t id = crypto_key_id(key);

	for (unsigned i = 0; i < kr->n; i++)
		if (kr->keys[i].id == id)
			return ERR_EXIST;
	if (kr->n >= CRYPTO_KEYS_MAX)
		return ERR_FULL;
	memcpy(kr->keys[kr->n].bytes, key, CRYPTO_KEY_LEN);
	kr->keys[kr->n].id = id;
	if (kr->n == 0)
		kr->primary = 0;
	kr->n++;
	return 0;
}

int
keyring_use(struct keyring *kr, const uint8_t key[CRYPTO_KEY_LEN])
{
	int i = keyring_find(kr, key);

	if (i < 0)
		return ERR_NOENT;
	kr->primary = (unsigned)i;
	return 0;
}

int
keyring_remove(struct keyring *kr, const uint8_t key[CRYPTO_KEY_LEN])
{
	int i = keyring_find(kr, key);

	if (i < 0)
		return ERR_NOENT;
	if ((unsigned)i == kr->primary)
		return ERR_STATE;
	for (unsigned j = (unsigned)i; j + 1 < kr->n; j++)
		kr->keys[j] = kr->keys[j + 1];
	kr->n--;
	sodium_memzero(&kr->keys[kr->n], sizeof(kr->keys[kr->n]));
	if (kr->primary > (unsigned)i)
		kr->primary--;
	return 0;
}

/* ---- base64 ---- */

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
crypto_key_parse(const char *text, uint8_t key[CRYPTO_KEY_LEN])
{
	uint8_t out[CRYPTO_KEY_LEN];
	size_t n, start = 0, end, pad = 0, nout = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (!text)
		return ERR_INVAL;
	n = strlen(text);
	while (start < n && is_space(text[start]))
		start++;
	end = n;
	while (end > start && is_space(text[end - 1]))
		end--;
	while (end > start && text[end - 1] == '=' && pad < 2) {
		end--;
		pad++;
	}
	for (size_t i = start; i < end; i++) {
		int v = b64val(text[i]);

		if (v < 0)
			return ERR_KEYCHARS;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (nout >= CRYPTO_KEY_LEN)
				return ERR_KEYLEN;
			out[nout++] = (uint8_t)(acc >> bits);
		}
	}
	if (nout != CRYPTO_KEY_LEN)
		return ERR_KEYLEN;
	/* 32 bytes take 43 characters and one '=' of padding; more padding
	 * than that, or leftover bits that are not zero, is not base64. */
	if (pad > 1 || (acc & ((1u << bits) - 1)) != 0)
		return ERR_KEYCHARS;
	memcpy(key, out, CRYPTO_KEY_LEN);
	sodium_memzero(out, sizeof(out));
	return 0;
}

void
crypto_key_format(const uint8_t key[CRYPTO_KEY_LEN],
		  char out[CRYPTO_KEY_B64_LEN])
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t k = 0;

	for (size_t i = 0; i < CRYPTO_KEY_LEN; i += 3) {
		uint32_t v = (uint32_t)key[i] << 16;
		size_t left = CRYPTO_KEY_LEN - i;

		if (left > 1)
			v |= (uint32_t)key[i + 1] << 8;
		if (left > 2)
			v |= key[i + 2];
		out[k++] = tbl[(v >> 18) & 63];
		out[k++] = tbl[(v >> 12) & 63];
		out[k++] = left > 1 ? tbl[(v >> 6) & 63] : '=';
		out[k++] = left > 2 ? tbl[v & 63] : '=';
	}
	out[k] = '\0';
}

/* ---- sealing ---- */

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Checksum of an unencrypted packet: header and plaintext are contiguous in
 * the packet; the label enters as the seed. */
static uint64_t
plain_sum(const uint8_t *pkt, size_t pt_len, const void *label,
	  size_t label_len)
{
	uint64_t seed = XXH3_64bits_withSeed(label, label_len, 0x73686f616cULL);

	return XXH3_64bits_withSeed(pkt, CRYPTO_PLAIN_HDR_LEN + pt_len, seed);
}

int
crypto_seal(const struct keyring *kr, const void *label, size_t label_len,
	    const uint8_t nonce[CRYPTO_NONCE_LEN], const void *pt, size_t pt_len,
	    uint8_t *out, size_t out_cap, size_t *out_len)
{
	return crypto_seal_with(kr, 0, label, label_len, nonce, pt, pt_len,
				out, out_cap, out_len);
}

uint32_t
crypto_key_id_of(const uint8_t *in, size_t in_len)
{
	if (in_len < CRYPTO_OVERHEAD || in[0] != CRYPTO_VERSION || in[1] != 0)
		return 0;
	return get32(in + 2);
}

int
crypto_seal_with(const struct keyring *kr, uint32_t key_id, const void *label,
		 size_t label_len, const uint8_t nonce[CRYPTO_NONCE_LEN],
		 const void *pt, size_t pt_len, uint8_t *out, size_t out_cap,
		 size_t *out_len)
{
	uint8_t ad[CRYPTO_HDR_LEN + CRYPTO_LABEL_MAX];
	unsigned long long clen = 0;
	const struct crypto_key *k;

	if (label_len > CRYPTO_LABEL_MAX)
		return ERR_INVAL;
	if (kr->n == 0) {
		uint64_t sum;

		if (out_cap < CRYPTO_PLAIN_OVERHEAD ||
		    pt_len > out_cap - CRYPTO_PLAIN_OVERHEAD)
			return ERR_TOOBIG;
		out[0] = CRYPTO_VERSION;
		out[1] = CRYPTO_FLAG_PLAIN;
		put32(out + 2, 0);
		if (pt_len)
			memcpy(out + CRYPTO_PLAIN_HDR_LEN, pt, pt_len);
		sum = plain_sum(out, pt_len, label, label_len);
		put32(out + CRYPTO_PLAIN_HDR_LEN + pt_len, (uint32_t)(sum >> 32));
		put32(out + CRYPTO_PLAIN_HDR_LEN + pt_len + 4, (uint32_t)sum);
		*out_len = pt_len + CRYPTO_PLAIN_OVERHEAD;
		return 0;
	}
	if (out_cap < CRYPTO_OVERHEAD || pt_len > out_cap - CRYPTO_OVERHEAD)
		return ERR_TOOBIG;
	k = &kr->keys[kr->primary];
	for (unsigned i = 0; key_id && i < kr->n; i++) {
		if (kr->keys[i].id == key_id) {
			k = &kr->keys[i];
			break;
		}
	}
	out[0] = CRYPTO_VERSION;
	out[1] = 0;
	put32(out + 2, k->id);
	memcpy(out + 6, nonce, CRYPTO_NONCE_LEN);
	memcpy(ad, out, CRYPTO_HDR_LEN);
	if (label_len)
		memcpy(ad + CRYPTO_HDR_LEN, label, label_len);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		out + CRYPTO_HDR_LEN, &clen, pt, pt_len, ad,
		CRYPTO_HDR_LEN + label_len, NULL, out + 6, k->bytes);
	*out_len = CRYPTO_HDR_LEN + (size_t)clen;
	return 0;
}

int
crypto_open(const struct keyring *kr, const void *label, size_t label_len,
	    const uint8_t *in, size_t in_len, uint8_t *pt, size_t pt_cap,
	    size_t *pt_len)
{
	uint8_t ad[CRYPTO_HDR_LEN + CRYPTO_LABEL_MAX];
	unsigned long long mlen = 0;
	const struct crypto_key *k = NULL;
	uint32_t id;

	if (label_len > CRYPTO_LABEL_MAX)
		return ERR_INVAL;
	if (in_len < CRYPTO_PLAIN_OVERHEAD)
		return ERR_TRUNC;
	if (in[0] != CRYPTO_VERSION)
		return ERR_VERSION;
	if (in[1] & CRYPTO_FLAG_PLAIN) {
		size_t n = in_len - CRYPTO_PLAIN_OVERHEAD;
		const uint8_t *s = in + CRYPTO_PLAIN_HDR_LEN + n;
		uint64_t want;

		if (kr->n)
			return ERR_PLAIN;
		if (in[1] != CRYPTO_FLAG_PLAIN || get32(in + 2) != 0)
			return ERR_DECODE;
		want = plain_sum(in, n, label, label_len);
		if (get32(s) != (uint32_t)(want >> 32) ||
		    get32(s + 4) != (uint32_t)want)
			return ERR_AUTH;
		if (n > pt_cap)
			return ERR_TOOBIG;
		memmove(pt, in + CRYPTO_PLAIN_HDR_LEN, n);
		*pt_len = n;
		return 0;
	}
	if (in_len < CRYPTO_OVERHEAD)
		return ERR_TRUNC;
	if (in[1] != 0)
		return ERR_DECODE;
	if (kr->n == 0)
		return ERR_NOKEY;
	id = get32(in + 2);
	for (unsigned i = 0; i < kr->n; i++) {
		if (kr->keys[i].id == id) {
			k = &kr->keys[i];
			break;
		}
	}
	if (!k)
		return ERR_NOKEY;
	if (in_len - CRYPTO_OVERHEAD > pt_cap)
		return ERR_TOOBIG;
	memcpy(ad, in, CRYPTO_HDR_LEN);
	if (label_len)
		memcpy(ad + CRYPTO_HDR_LEN, label, label_len);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    pt, &mlen, NULL, in + CRYPTO_HDR_LEN,
		    in_len - CRYPTO_HDR_LEN, ad, CRYPTO_HDR_LEN + label_len,
		    in + 6, k->bytes) != 0)
		return ERR_AUTH;
	*pt_len = (size_t)mlen;
	return 0;
}
