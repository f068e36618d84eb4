/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench_packet.c — the packet path, measured.
 *
 *   build/bench/bench_packet [--json FILE] [--quick]
 *
 * 1. encode+seal: build a full compound datagram (a ping and as many alive
 *    broadcasts as fit in 1400 bytes, the payload budget including the
 *    seal) with the wire encoder and seal it with XChaCha20-Poly1305.
 * 2. open+decode: open that datagram and decode every message (both
 *    passes the node makes: validate, then read again to act).
 * 3. the whole receive path: swim_recv() of a full compound on a node that
 *    knows every member mentioned (open, replay check, two decode passes,
 *    precedence checks), per datagram.
 * 4. merge: a push-pull frame of N members delivered to a node; the cost
 *    per entry when every entry is new (insert) and when every entry is
 *    already known (the common case: nothing changes).
 *
 * Each figure is the median of several timed batches (CLOCK_MONOTONIC).
 * Benchmarks report; they do not pass or fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/crypto.h"
#include "core/err.h"
#include "gossip/swim.h"
#include "gossip/wire.h"

#define T0 1700000000000ULL
#define BATCHES 7

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static struct keyring kr;
static const char label[] = "bench";

static void
member_name(char *out, size_t cap, unsigned i)
{
	snprintf(out, cap, "node-%05u.rack-%02u.example", i, i % 40);
}

/* Names made once, so the timed loops measure the encoder, not printf. */
#define NAMES 64
static char names[NAMES][SWIM_NAME_MAX + 1];

/* Build one full compound into pt; returns the message count. */
static uint32_t
build_compound(struct buf *pt, uint64_t seq)
{
	static const uint8_t meta[48] = { 0x82 };
	struct wire_hdr h = { WIRE_VERSION, "sender-node-0001", 16, T0, seq,
			      T0 + seq };
	struct wire_dgram d;
	struct wire_msg m;
	uint32_t n;

	wire_dgram_begin(&d, pt, 1400 - CRYPTO_OVERHEAD, &h);
	memset(&m, 0, sizeof(m));
	m.type = WIRE_PING;
	m.seq = seq;
	m.node = "bench-target";
	m.node_len = 12;
	m.has_src = true;
	addr_v4(&m.src, 10, 0, 0, 1, 7946);
	m.from = "sender-node-0001";
	m.from_len = 16;
	wire_dgram_add(&d, &m);
	for (unsigned i = 0; i < NAMES; i++) {
		memset(&m, 0, sizeof(m));
		m.type = WIRE_ALIVE;
		m.inc = T0 + i;
		m.node = names[i];
		m.node_len = (uint32_t)strlen(names[i]);
		addr_v4(&m.addr, 10, 1, (uint8_t)(i >> 8), (uint8_t)i, 7946);
		m.data = meta;
		m.data_len = sizeof(meta);
		if (wire_dgram_add(&d, &m))
			break;
	}
	n = wire_dgram_end(&d);
	return n;
}

struct path_figures {
	double encode, seal_raw, encode_seal;
	double decode, open_raw, open_decode;
	size_t len;
	uint32_t nmsgs;
};

static void
decode_twice(const uint8_t *plain, size_t plen, volatile uint64_t *sink)
{
	struct wire_hdr h;
	struct codec_reader r, pass;
	struct wire_msg m;
	uint32_t n;

	if (wire_dgram_decode(plain, plen, &h, &r, &n))
		abort();
	pass = r;
	for (uint32_t k = 0; k < n; k++)
		if (wire_msg_decode(&pass, &m))
			abort();
	for (uint32_t k = 0; k < n; k++) {
		wire_msg_decode(&r, &m);
		*sink += m.inc;
	}
}

/* Every part of the datagram path, timed side by side in one run: the raw
 * AEAD (libsodium alone) is the reference the rest is compared with. */
static void
bench_path(struct path_figures *f, int iters)
{
	uint8_t sealed[1500], nonce[CRYPTO_NONCE_LEN] = { 1 };
	uint8_t plain[1500];
	double v[6][BATCHES];
	struct buf pt;
	size_t len = 0, plen = 0;
	volatile uint64_t sink = 0;
	unsigned long long clen;

	buf_init(&pt, 4096);
	f->nmsgs = build_compound(&pt, 1);
	for (int b = 0; b < BATCHES; b++) {
		double t = now_ns();

		for (int i = 0; i < iters; i++)
			build_compound(&pt, (uint64_t)i + 1);
		v[0][b] = (now_ns() - t) / iters;

		t = now_ns();
		for (int i = 0; i < iters; i++) {
			nonce[0] = (uint8_t)i;
			crypto_aead_xchacha20poly1305_ietf_encrypt(
				sealed + CRYPTO_HDR_LEN, &clen, pt.data,
				pt.len, sealed, CRYPTO_HDR_LEN, NULL, nonce,
				kr.keys[0].bytes);
		}
		v[1][b] = (now_ns() - t) / iters;

		t = now_ns();
		for (int i = 0; i < iters; i++) {
			build_compound(&pt, (uint64_t)i + 1);
			nonce[0] = (uint8_t)i;
			crypto_seal(&kr, label, sizeof(label) - 1, nonce,
				    pt.data, pt.len, sealed, sizeof(sealed),
				    &len);
		}
		v[2][b] = (now_ns() - t) / iters;

		if (crypto_open(&kr, label, sizeof(label) - 1, sealed, len,
				plain, sizeof(plain), &plen))
			abort();
		t = now_ns();
		for (int i = 0; i < iters; i++)
			decode_twice(plain, plen, &sink);
		v[3][b] = (now_ns() - t) / iters;

		t = now_ns();
		for (int i = 0; i < iters; i++) {
			unsigned long long mlen;
			uint8_t ad[CRYPTO_HDR_LEN + sizeof(label)];

			memcpy(ad, sealed, CRYPTO_HDR_LEN);
			memcpy(ad + CRYPTO_HDR_LEN, label, sizeof(label) - 1);
			if (crypto_aead_xchacha20poly1305_ietf_decrypt(
				    plain, &mlen, NULL, sealed + CRYPTO_HDR_LEN,
				    len - CRYPTO_HDR_LEN, ad,
				    CRYPTO_HDR_LEN + sizeof(label) - 1,
				    sealed + 6, kr.keys[0].bytes))
				abort();
		}
		v[4][b] = (now_ns() - t) / iters;

		t = now_ns();
		for (int i = 0; i < iters; i++) {
			if (crypto_open(&kr, label, sizeof(label) - 1, sealed,
					len, plain, sizeof(plain), &plen))
				abort();
			decode_twice(plain, plen, &sink);
		}
		v[5][b] = (now_ns() - t) / iters;
	}
	f->encode = median(v[0], BATCHES);
	f->seal_raw = median(v[1], BATCHES);
	f->encode_seal = median(v[2], BATCHES);
	f->decode = median(v[3], BATCHES);
	f->open_raw = median(v[4], BATCHES);
	f->open_decode = median(v[5], BATCHES);
	f->len = len;
	buf_release(&pt);
	(void)sink;
}

static struct swim *
make_node(struct intern *pool, const char *name)
{
	struct swim_config c;
	struct swim_env env;
	int err;

	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "%s", name);
	addr_v4(&c.addr, 10, 9, 9, 9, 7946);
	c.start_ms = T0;
	c.seed = 7;
	memcpy(c.cluster, label, sizeof(label));
	profile_lan(&c.prof);
	c.prof.members_max = 1u << 20;
	memset(&env, 0, sizeof(env));
	env.pool = pool;
	env.keyring = &kr;
	return swim_new(&c, &env, NULL, &err);
}

static void
drain(struct swim *s)
{
	struct swim_out o;
	struct swim_event e;

	while (swim_pop_out(s, &o))
		;
	while (swim_pop_event(s, &e))
		;
}

/* A sealed push-pull request of n members (all alive). */
static uint8_t *
build_frame(unsigned n, size_t *len)
{
	static const uint8_t meta[48] = { 0x82 };
	struct wire_hdr h = { WIRE_VERSION, "pusher", 6, T0, 1, T0 };
	struct codec_writer w;
	struct buf pt;
	uint8_t nonce[CRYPTO_NONCE_LEN] = { 9 }, *out;
	char name[SWIM_NAME_MAX + 1];

	buf_init(&pt, 1u << 30);
	codec_writer_init(&w, &pt);
	wire_stream_begin(&w, &h, WIRE_STREAM_REQ, false, n);
	for (unsigned i = 0; i < n; i++) {
		struct wire_member m;

		memset(&m, 0, sizeof(m));
		member_name(name, sizeof(name), i);
		m.name = name;
		m.name_len = (uint32_t)strlen(name);
		addr_v4(&m.addr, 10, 1, (uint8_t)(i >> 8), (uint8_t)i, 7946);
		m.meta = meta;
		m.meta_len = sizeof(meta);
		m.inc = T0 + i;
		m.state = 0;
		wire_member_write(&w, &m);
	}
	wire_stream_app(&w, NULL, 0);
	out = malloc(pt.len + CRYPTO_OVERHEAD);
	crypto_seal(&kr, label, sizeof(label) - 1, nonce, pt.data, pt.len, out,
		    pt.len + CRYPTO_OVERHEAD, len);
	buf_release(&pt);
	return out;
}

static void
bench_merge(unsigned n, double *new_ns, double *known_ns)
{
	double fresh[BATCHES], known[BATCHES];
	size_t len;
	uint8_t *frame = build_frame(n, &len);
	struct addr from;

	addr_v4(&from, 10, 8, 8, 8, 7946);
	for (int b = 0; b < BATCHES; b++) {
		struct intern pool;
		struct swim *s;
		double t;

		intern_init(&pool);
		s = make_node(&pool, "merger");
		t = now_ns();
		swim_recv_stream(s, T0 + 10, 1, &from, frame, len);
		fresh[b] = (now_ns() - t) / n;
		drain(s);
		t = now_ns();
		swim_recv_stream(s, T0 + 20, 2, &from, frame, len);
		known[b] = (now_ns() - t) / n;
		drain(s);
		swim_delete(s);
		intern_destroy(&pool);
	}
	*new_ns = median(fresh, BATCHES);
	*known_ns = median(known, BATCHES);
	free(frame);
}

/* swim_recv of full compounds about members the node already knows. */
static double
bench_recv(int iters)
{
	struct intern pool;
	struct swim *s;
	struct buf pt;
	struct addr from;
	uint8_t sealed[1500], nonce[CRYPTO_NONCE_LEN] = { 3 };
	uint8_t **pkts;
	size_t *lens;
	double v[BATCHES];
	size_t flen;
	uint8_t *frame = build_frame(64, &flen);

	intern_init(&pool);
	s = make_node(&pool, "bench-target");
	addr_v4(&from, 10, 0, 0, 1, 7946);
	swim_recv_stream(s, T0 + 1, 1, &from, frame, flen);
	drain(s);
	buf_init(&pt, 4096);
	pkts = calloc((size_t)iters * BATCHES, sizeof(*pkts));
	lens = calloc((size_t)iters * BATCHES, sizeof(*lens));
	/* Distinct sequence numbers, so none is refused as a replay. */
	for (int i = 0; i < iters * BATCHES; i++) {
		build_compound(&pt, (uint64_t)i + 2);
		nonce[1] = (uint8_t)i;
		crypto_seal(&kr, label, sizeof(label) - 1, nonce, pt.data,
			    pt.len, sealed, sizeof(sealed), &lens[i]);
		pkts[i] = malloc(lens[i]);
		memcpy(pkts[i], sealed, lens[i]);
	}
	for (int b = 0; b < BATCHES; b++) {
		double t = now_ns();

		for (int i = 0; i < iters; i++) {
			int k = b * iters + i;

			swim_recv(s, T0 + 2 + (uint64_t)k, &from, pkts[k],
				  lens[k]);
			drain(s);
		}
		v[b] = (now_ns() - t) / iters;
	}
	if (swim_stats(s)->drops[SWIM_DROP_REPLAY] ||
	    swim_stats(s)->drops[SWIM_DROP_AUTH])
		fprintf(stderr, "bench_packet: unexpected drops\n");
	for (int i = 0; i < iters * BATCHES; i++)
		free(pkts[i]);
	free(pkts);
	free(lens);
	free(frame);
	buf_release(&pt);
	swim_delete(s);
	intern_destroy(&pool);
	return median(v, BATCHES);
}

int
main(int argc, char **argv)
{
	const char *json = NULL;
	int quick = 0, iters;
	uint8_t key[CRYPTO_KEY_LEN];
	double recv, m_new, m_known, m_new_big, m_known_big;
	struct path_figures f;
	unsigned big;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
			json = argv[++i];
		} else if (strcmp(argv[i], "--quick") == 0) {
			quick = 1;
		} else {
			fprintf(stderr, "usage: bench_packet [--json FILE] [--quick]\n");
			return 2;
		}
	}
	if (sodium_init() < 0)
		return 1;
	memset(key, 0x42, sizeof(key));
	keyring_init(&kr);
	keyring_add(&kr, key);
	for (unsigned i = 0; i < NAMES; i++)
		member_name(names[i], sizeof(names[i]), i);
	iters = quick ? 2000 : 20000;
	big = quick ? 10000 : 100000;

	bench_path(&f, iters);
	recv = bench_recv(iters / 4);
	bench_merge(1000, &m_new, &m_known);
	bench_merge(big, &m_new_big, &m_known_big);

	printf("packet path (median of %d batches; %zu B datagram, %u "
	       "messages)\n",
	       BATCHES, f.len, f.nmsgs);
	printf("  %-44s %9.0f ns\n", "encode (wire, msgpack)", f.encode);
	printf("  %-44s %9.0f ns\n", "XChaCha20-Poly1305 seal alone (libsodium)",
	       f.seal_raw);
	printf("  %-44s %9.0f ns  (%.2fx the AEAD alone)\n",
	       "encode + seal", f.encode_seal, f.encode_seal / f.seal_raw);
	printf("  %-44s %9.0f ns\n", "decode (validate pass + read pass)",
	       f.decode);
	printf("  %-44s %9.0f ns\n", "XChaCha20-Poly1305 open alone (libsodium)",
	       f.open_raw);
	printf("  %-44s %9.0f ns  (%.2fx the AEAD alone)\n",
	       "open + decode", f.open_decode, f.open_decode / f.open_raw);
	printf("  %-44s %9.0f ns\n", "swim_recv, full compound, known members",
	       recv);
	printf("  %-44s %9.1f ns  (1,000 new members)\n",
	       "push-pull merge per entry, insert", m_new);
	printf("  %-44s %9.1f ns  (1,000 known, unchanged)\n",
	       "push-pull merge per entry, known", m_known);
	printf("  %-44s %9.1f ns  (%u new members)\n",
	       "push-pull merge per entry, insert", m_new_big, big);
	printf("  %-44s %9.1f ns  (%u known, unchanged)\n",
	       "push-pull merge per entry, known", m_known_big, big);
	if (json) {
		FILE *out = fopen(json, "w");

		if (!out) {
			perror(json);
			return 1;
		}
		fprintf(out,
			"{\"encode_ns\": %.0f, \"aead_seal_ns\": %.0f, "
			"\"encode_seal_ns\": %.0f, \"decode_ns\": %.0f, "
			"\"aead_open_ns\": %.0f, \"open_decode_ns\": %.0f, "
			"\"datagram_bytes\": %zu, \"messages\": %u, "
			"\"swim_recv_ns\": %.0f, "
			"\"merge_insert_ns_1k\": %.1f, \"merge_known_ns_1k\": %.1f, "
			"\"merge_insert_ns_big\": %.1f, \"merge_known_ns_big\": %.1f, "
			"\"merge_big_n\": %u}\n",
			f.encode, f.seal_raw, f.encode_seal, f.decode, f.open_raw,
			f.open_decode, f.len, f.nmsgs, recv, m_new, m_known, m_new_big,
			m_known_big, big);
		fclose(out);
	}
	return 0;
}
