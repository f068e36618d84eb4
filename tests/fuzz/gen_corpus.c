/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/gen_corpus.c — write the seed inputs of the fuzz targets.
 *
 *   build/tests/gen_corpus tests/fuzz/corpus      (make fuzz-corpus)
 *
 * Writes small, named inputs into corpus/fuzz_NAME/ for each target: valid
 * sealed datagrams made with the fixed key and label of fuzz_common.h, the
 * same under the wrong key or label, unencrypted packets, msgpack of every
 * type and width and the classic malformations, addresses and key texts.
 * Everything is deterministic (fixed nonces), so running it again rewrites
 * the same bytes; the files are committed, and `make test` replays them.
 * Inputs that once crashed a target are added by hand as regress-NAME.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/crypto.h"
#include "tests/fuzz/fuzz_common.h"

static const char *root;
static int failed;

static void
put(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	if (mkdir(path, 0777) != 0 && errno != EEXIST) {
		perror(path);
		failed = 1;
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		perror(path);
		failed = 1;
	}
}

static void
put_str(const char *target, const char *name, const char *s)
{
	put(target, name, s, strlen(s));
}

/* A member-update-like message: small integer keys, one of each type. */
static void
write_message(struct codec_writer *w, unsigned seq)
{
	static const uint8_t ip[6] = {127, 0, 0, 1, 0x1f, 0x0a};

	codec_write_map(w, 7);
	codec_write_uint(w, 0); /* type */
	codec_write_uint(w, 3);
	codec_write_uint(w, 1); /* name */
	codec_write_cstr(w, "web-3");
	codec_write_uint(w, 2); /* incarnation */
	codec_write_uint(w, 1700000000000ULL + seq);
	codec_write_uint(w, 3); /* addr */
	codec_write_bin(w, ip, sizeof(ip));
	codec_write_uint(w, 4); /* meta */
	codec_write_map(w, 2);
	codec_write_cstr(w, "role");
	codec_write_cstr(w, "worker");
	codec_write_cstr(w, "zone");
	codec_write_cstr(w, "eu-1a");
	codec_write_uint(w, 5); /* skew */
	codec_write_int(w, -250);
	codec_write_uint(w, 6); /* health */
	codec_write_double(w, 0.5);
}

static void
seal_put(const char *name, const struct keyring *kr, const char *label,
	 const struct buf *pt, uint8_t nonce_byte)
{
	uint8_t nonce[CRYPTO_NONCE_LEN], out[4096];
	size_t n;

	memset(nonce, nonce_byte, sizeof(nonce));
	if (crypto_seal(kr, label, strlen(label), nonce, pt->data, pt->len, out,
			sizeof(out), &n) != 0) {
		fprintf(stderr, "gen_corpus: cannot seal %s\n", name);
		failed = 1;
		return;
	}
	put("fuzz_open_datagram", name, out, n);
}

static void
gen_datagrams(void)
{
	struct keyring kr, other, plain;
	uint8_t key[CRYPTO_KEY_LEN];
	struct codec_writer w;
	struct buf b;

	keyring_init(&kr);
	keyring_init(&plain);
	keyring_init(&other);
	fuzz_key(key);
	keyring_add(&kr, key);
	key[0] ^= 0xff;
	keyring_add(&other, key);
	buf_init(&b, 4096);

	codec_writer_init(&w, &b);
	write_message(&w, 1);
	seal_put("sealed-message", &kr, FUZZ_LABEL, &b, 1);
	seal_put("plain-message", &plain, FUZZ_LABEL, &b, 0);
	seal_put("wrong-label", &kr, "other-cluster", &b, 2);
	seal_put("wrong-key", &other, FUZZ_LABEL, &b, 3);

	/* A compound: an array of messages, as a datagram carries. */
	buf_reset(&b);
	codec_writer_init(&w, &b);
	codec_write_array(&w, 4);
	for (unsigned i = 0; i < 4; i++)
		write_message(&w, i);
	seal_put("sealed-compound", &kr, FUZZ_LABEL, &b, 4);
	seal_put("plain-compound", &plain, FUZZ_LABEL, &b, 0);

	buf_reset(&b);
	seal_put("sealed-empty", &kr, FUZZ_LABEL, &b, 5);

	/* Valid packets around bad plaintext: trailing byte, deep nesting. */
	codec_writer_init(&w, &b);
	codec_write_uint(&w, 7);
	codec_write_raw(&w, "\xc1", 1);
	seal_put("sealed-trailing", &kr, FUZZ_LABEL, &b, 6);
	buf_reset(&b);
	codec_writer_init(&w, &b);
	for (int i = 0; i <= CODEC_DEPTH_MAX; i++)
		codec_write_array(&w, 1);
	codec_write_nil(&w);
	seal_put("sealed-too-deep", &kr, FUZZ_LABEL, &b, 7);
	buf_reset(&b);
	codec_writer_init(&w, &b);
	codec_write_raw(&w, "\xdd\xff\xff\xff\xff", 5);
	seal_put("sealed-huge-array", &kr, FUZZ_LABEL, &b, 8);

	put("fuzz_open_datagram", "short", "\x01\x00\x12\x34", 4);
	put("fuzz_open_datagram", "empty", "", 0);
	buf_release(&b);
}

#define RAW(name, lit)                                                         \
	{                                                                      \
		name, lit, sizeof(lit) - 1                                     \
	}

static void
gen_codec(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t n;
	} raw[] = {
		RAW("ints-every-width",
		    "\xdc\x00\x11\x00\x7f\xcc\x80\xcd\x01\x00\xce\x00\x01\x00"
		    "\x00"
		    "\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xff\xe0\xd0\x80"
		    "\xd1\x80\x00\xd2\x80\x00\x00\x00"
		    "\xd3\x80\x00\x00\x00\x00\x00\x00\x00\xd0\x05\xd3\x7f\xff"
		    "\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00"),
		RAW("floats",
		    "\x92\xca\x3f\xc0\x00\x00\xcb\x3f\xf8\0\0\0\0\0\0"),
		RAW("ext-all",
		    "\x97\xd4\x01\xaa\xd5\x01\xaa\xbb\xd6\x01\x01\x02\x03\x04"
		    "\xd7\x01\x01\x02\x03\x04\x05\x06\x07\x08"
		    "\xd8\x01\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"
		    "\x0d\x0e\x0f\x10\xc7\x02\x01\xaa\xbb\xc8\x00\x01\x01\xaa"),
		RAW("huge-array32", "\xdd\xff\xff\xff\xff"),
		RAW("huge-map32", "\xdf\xff\xff\xff\xff\x01\x02"),
		RAW("huge-str32", "\xdb\xff\xff\xff\xff\x61"),
		RAW("huge-bin32", "\xc6\x7f\xff\xff\xff"),
		RAW("huge-ext32", "\xc9\xff\xff\xff\xff\x01"),
		RAW("trailing", "\x91\x01\x02"),
		RAW("reserved-c1", "\x92\x01\xc1"),
		RAW("truncated-str8", "\xd9\x05\x61\x62"),
		RAW("nil-bool", "\x93\xc0\xc2\xc3"),
		RAW("empty", ""),
	};
	struct codec_writer w;
	struct buf b;
	char s[300];

	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		put("fuzz_codec", raw[i].name, raw[i].bytes, raw[i].n);

	buf_init(&b, 4096);
	codec_writer_init(&w, &b);
	write_message(&w, 9);
	put("fuzz_codec", "message", b.data, b.len);

	buf_reset(&b);
	codec_writer_init(&w, &b);
	memset(s, 's', sizeof(s));
	codec_write_array(&w, 5);
	codec_write_str(&w, s, 31);
	codec_write_str(&w, s, 32);
	codec_write_str(&w, s, 300);
	codec_write_bin(&w, s, 3);
	codec_write_bin(&w, s, 256);
	put("fuzz_codec", "str-bin-widths", b.data, b.len);

	for (int deep = CODEC_DEPTH_MAX; deep <= CODEC_DEPTH_MAX + 1; deep++) {
		buf_reset(&b);
		codec_writer_init(&w, &b);
		for (int i = 0; i < deep; i++) {
			codec_write_map(&w, 1);
			codec_write_uint(&w, (uint64_t)i);
		}
		codec_write_nil(&w);
		put("fuzz_codec",
		    deep == CODEC_DEPTH_MAX ? "nested-max" : "nested-too-deep",
		    b.data, b.len);
	}
	buf_release(&b);
}

static void
gen_addr(void)
{
	static const char *const text[][2] = {
		{"v4-port", "1.2.3.4:7946"},
		{"v4-bare", "10.0.0.1"},
		{"v4-any", "0.0.0.0:0"},
		{"v6-loopback", "[::1]:7946"},
		{"v6-bare", "::1"},
		{"v6-full", "[1:2:3:4:5:6:7:8]:65535"},
		{"v6-zero-runs", "[2001:db8:0:0:1:0:0:1]:443"},
		{"v6-mapped", "[::ffff:192.168.1.20]:80"},
		{"v6-dotted", "[1:2:3:4:5:6:1.2.3.4]:1"},
		{"bad-leading-zero", "01.2.3.4:1"},
		{"bad-octet", "1.2.3.256:1"},
		{"bad-port", "1.2.3.4:65536"},
		{"bad-zone", "[fe80::1%eth0]:7946"},
		{"bad-bracket", "[::1:7946"},
		{"bad-double-gap", "[1::2::3]:1"},
	};

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		put_str("fuzz_addr", text[i][0], text[i][1]);
	put("fuzz_addr", "wire-v6",
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x1f\x0a", 18);
}

static void
gen_keys(void)
{
	uint8_t key[CRYPTO_KEY_LEN];
	char text[CRYPTO_KEY_B64_LEN + 8];

	fuzz_key(key);
	crypto_key_format(key, text);
	put_str("fuzz_key_parse", "canonical", text);
	strcat(text, "\n");
	put_str("fuzz_key_parse", "newline", text);
	text[43] = '\0';
	put_str("fuzz_key_parse", "unpadded", text);
	put_str("fuzz_key_parse", "short", "AAECAwQFBgcICQoLDA0ODw==");
	put_str("fuzz_key_parse", "bad-char",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=");
	put_str("fuzz_key_parse", "double-pad",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==");
	put_str("fuzz_key_parse", "spaces", "  \t\r\n");
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	root = argv[1];
	if (mkdir(root, 0777) != 0 && errno != EEXIST) {
		perror(root);
		return 1;
	}
	gen_datagrams();
	gen_codec();
	gen_addr();
	gen_keys();
	return failed;
}
