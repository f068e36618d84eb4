/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_swim.c — a whole membership node fed hostile input.
 *
 * Each input makes a fresh node (fixed key, label, clock and seed) that
 * already knows one peer, then reads the first byte as a mode:
 *
 *   0  the rest is delivered as a raw datagram (mostly fails to open)
 *   1  the rest is a datagram *plaintext*: the harness seals it with the
 *      node's key, so the fuzzer explores the decoder and the state machine
 *      behind the seal
 *   2  the same, delivered as a stream request (push-pull / join)
 *   3  the same, delivered as the reply to a stream the node started
 *
 * then ticks the node for a simulated minute and drains its outbox. The
 * node must never crash, and its invariants must hold afterwards: it is
 * still in its own table, alive, and its table is within its bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/crypto.h"
#include "core/intern.h"
#include "gossip/swim.h"
#include "tests/fuzz/fuzz_common.h"

#define T0 1700000000000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
drain(struct swim *s, uint32_t *req)
{
	struct swim_out o;
	struct swim_event e;

	while (swim_pop_out(s, &o))
		if (o.kind == SWIM_OUT_STREAM_REQ && req)
			*req = o.stream_id;
	while (swim_pop_event(s, &e))
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	static struct keyring kr;
	struct intern pool;
	struct swim_config c;
	struct swim_env env;
	struct swim *s;
	struct swim_member_info mi;
	struct addr peer;
	uint8_t nonce[CRYPTO_NONCE_LEN] = { 0 };
	uint8_t *sealed;
	size_t sealed_len = 0;
	uint32_t req = 0;
	int err;

	if (!inited) {
		uint8_t key[CRYPTO_KEY_LEN];

		if (sodium_init() < 0)
			abort();
		fuzz_key(key);
		keyring_init(&kr);
		keyring_add(&kr, key);
		inited = 1;
	}
	if (size < 1)
		return 0;
	intern_init(&pool);
	memset(&c, 0, sizeof(c));
	strcpy(c.name, "fuzz-node");
	addr_v4(&c.addr, 10, 0, 0, 1, 7946);
	c.start_ms = T0;
	c.seed = 1;
	memcpy(c.cluster, FUZZ_LABEL, FUZZ_LABEL_LEN);
	profile_lan(&c.prof);
	c.prof.members_max = 64;
	memset(&env, 0, sizeof(env));
	env.pool = &pool;
	env.keyring = &kr;
	s = swim_new(&c, &env, NULL, &err);
	FUZZ_CHECK(s != NULL);
	addr_v4(&peer, 10, 0, 0, 2, 7946);
	/* Start a join so that mode 3 has a stream to answer. */
	FUZZ_CHECK(swim_join(s, T0, &peer, 1) == 0);
	drain(s, &req);

	sealed = malloc(size + CRYPTO_OVERHEAD);
	FUZZ_CHECK(sealed != NULL);
	if (data[0] % 4 == 0) {
		swim_recv(s, T0 + 1, &peer, data + 1, size - 1);
	} else {
		FUZZ_CHECK(crypto_seal(&kr, FUZZ_LABEL, FUZZ_LABEL_LEN, nonce,
				       data + 1, size - 1, sealed,
				       size + CRYPTO_OVERHEAD,
				       &sealed_len) == 0);
		if (data[0] % 4 == 1)
			swim_recv(s, T0 + 1, &peer, sealed, sealed_len);
		else if (data[0] % 4 == 2)
			swim_recv_stream(s, T0 + 1, 7, &peer, sealed,
					 sealed_len);
		else
			swim_stream_reply(s, T0 + 1, req, sealed, sealed_len);
	}
	drain(s, NULL);
	for (uint64_t t = T0 + 100; t < T0 + 60000; t += 250) {
		swim_tick(s, t);
		drain(s, NULL);
	}
	FUZZ_CHECK(swim_member_find(s, "fuzz-node", &mi));
	FUZZ_CHECK(mi.is_self && mi.state == SWIM_ALIVE);
	FUZZ_CHECK(swim_member_count(s) <= 64);
	free(sealed);
	swim_delete(s);
	intern_destroy(&pool);
	return 0;
}
