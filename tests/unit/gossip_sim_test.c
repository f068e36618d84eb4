/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/gossip_sim_test.c — the membership protocol through the
 * simulator's clock and virtual network.
 *
 * The scenarios in sim/scenarios/ cover joins of 2, 10 and 100 nodes, a
 * crash, a refutation, a slow node, leaves, restarts and a healed
 * partition with the simulator's own metrics. What those metrics cannot
 * see is checked here, with a spy around the real node (the same `struct
 * node` the agent runs) that looks at every datagram a node sends and at
 * each node's own figures:
 *
 *   - Lifeguard: a node whose processing is slowed raises its OWN health
 *     score, the healthy nodes' scores stay low, and no healthy node is
 *     declared dead by anyone;
 *   - dissemination: every datagram fits the payload budget (sealed),
 *     compound datagrams carry several messages, and no node sends one
 *     update more than retransmit_mult * ceil(log10(N + 1)) times;
 *   - bad input: garbage, truncated datagrams, datagrams sealed with
 *     another key or for another cluster, and replayed datagrams, sent
 *     through the virtual network next to the real traffic, change
 *     nothing and are each counted under their drop reason.
 *
 * A failing run prints its seed (the scenario's `seed` line).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/codec.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/rng.h"
#include "gossip/swim.h"
#include "gossip/wire.h"
#include "sched/node.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "tests/unit/sim_wrap.h"

#define NODES_MAX  128
#define INJECT_MAX 8
#define SAVED_MAX  64

/* ---- the spy ------------------------------------------------------------ */

enum bad_kind {
	BAD_GARBAGE = 0, /* random bytes */
	BAD_TRUNC,	 /* the first bytes of a real datagram */
	BAD_KEY,	 /* a real plaintext sealed with a key nobody has */
	BAD_LABEL,	 /* ... with the cluster key for another cluster */
	BAD_DUP,	 /* a real datagram sent twice */
	BAD_OLD,	 /* a real datagram sent again much later */
	BAD__N,
};

struct pkt {
	struct addr to;
	size_t len;
	uint8_t data[2048];
};

struct spy_node {
	void *inner;
	uint32_t idx;
	uint64_t now_ms;
	const struct keyring *kr;
	/* bad datagrams waiting to go out after the node's real ones */
	struct pkt inject[INJECT_MAX];
	unsigned ninject, next_inject;
	struct pkt saved[SAVED_MAX]; /* old real datagrams, for BAD_OLD */
	unsigned nsaved;
	uint64_t dgrams;
};

struct spy_state {
	/* dissemination */
	size_t max_sealed;
	uint32_t max_msgs;
	const char *subject;	       /* count DEAD messages about it... */
	uint32_t dead_sent[NODES_MAX]; /* ... by sender */
	/* bad input: inject one bad datagram every `every` real ones sent
	 * between the node-clock times from_ms and to_ms; keep some sent
	 * between save_from_ms and save_to_ms to send again then */
	unsigned every;
	uint64_t from_ms, to_ms, save_from_ms, save_to_ms;
	uint64_t injected[BAD__N];
	struct rng rng;
	struct keyring other_key;
	/* FAILED reports about each node, by anyone */
	uint32_t failed[NODES_MAX];
};

static struct spy_state spy;
static const struct sim_node_ops *inner_ops;

static struct sim_node_ops spy_ops; /* below */

static void
spy_reset(void)
{
	uint8_t k[CRYPTO_KEY_LEN];

	memset(&spy, 0, sizeof(spy));
	inner_ops = sim_node_ops_real();
	sim_wrap_fill(&spy_ops, inner_ops);
	rng_seed(&spy.rng, 4242);
	keyring_init(&spy.other_key);
	memset(k, 0x77, sizeof(k));
	keyring_add(&spy.other_key, k);
}

static void *
spy_create(void *ctx, const struct sim_node_spec *spec, int *err)
{
	struct spy_node *n = calloc(1, sizeof(*n));

	if (!n) {
		*err = ERR_NOMEM;
		return NULL;
	}
	n->idx = spec->index;
	n->kr = spec->keyring;
	n->now_ms = spec->start_ms;
	n->inner = inner_ops->create(ctx, spec, err);
	if (!n->inner) {
		free(n);
		return NULL;
	}
	return n;
}

static void
spy_destroy(void *ctx, void *p)
{
	struct spy_node *n = p;

	inner_ops->destroy(ctx, n->inner);
	free(n);
}

static void
spy_recv(void *p, uint64_t now, const struct addr *from, const uint8_t *b,
	 size_t len)
{
	struct spy_node *n = p;

	n->now_ms = now;
	inner_ops->recv(n->inner, now, from, b, len);
}

static void
spy_recv_stream(void *p, uint64_t now, uint32_t conn, const struct addr *from,
		const uint8_t *b, size_t len)
{
	struct spy_node *n = p;

	n->now_ms = now;
	inner_ops->recv_stream(n->inner, now, conn, from, b, len);
}

static void
spy_stream_reply(void *p, uint64_t now, uint32_t sid, const uint8_t *b,
		 size_t len)
{
	struct spy_node *n = p;

	n->now_ms = now;
	inner_ops->stream_reply(n->inner, now, sid, b, len);
}

static void
spy_stream_failed(void *p, uint64_t now, uint32_t sid)
{
	struct spy_node *n = p;

	n->now_ms = now;
	inner_ops->stream_failed(n->inner, now, sid);
}

static void
spy_tick(void *p, uint64_t now)
{
	struct spy_node *n = p;

	n->now_ms = now;
	inner_ops->tick(n->inner, now);
}

/* Open a datagram of the run (the sim's cluster label and key) into pt;
 * the header and a reader over its messages. */
static bool
open_dgram(const struct spy_node *n, const uint8_t *p, size_t len, uint8_t *pt,
	   size_t *pt_len, struct wire_hdr *h, struct codec_reader *msgs,
	   uint32_t *nmsgs)
{
	return crypto_open(n->kr, SIM_CLUSTER, strlen(SIM_CLUSTER), p, len, pt,
			   len, pt_len) == 0 &&
	       wire_dgram_decode(pt, *pt_len, h, msgs, nmsgs) == 0;
}

static void
look(struct spy_node *n, const struct swim_out *o)
{
	uint8_t pt[65536];
	struct codec_reader r;
	struct wire_hdr h;
	struct wire_msg m;
	size_t pt_len = 0;
	uint32_t nmsgs = 0;

	if (o->len > spy.max_sealed)
		spy.max_sealed = o->len;
	if (!open_dgram(n, o->data, o->len, pt, &pt_len, &h, &r, &nmsgs)) {
		fail_msg("node-%u sent a datagram that does not open", n->idx);
		return;
	}
	if (nmsgs > spy.max_msgs)
		spy.max_msgs = nmsgs;
	for (uint32_t i = 0; i < nmsgs; i++) {
		assert_int_equal(wire_msg_decode(&r, &m), 0);
		if (spy.subject && m.type == WIRE_DEAD &&
		    m.node_len == strlen(spy.subject) &&
		    memcmp(m.node, spy.subject, m.node_len) == 0 &&
		    n->idx < NODES_MAX)
			spy.dead_sent[n->idx]++;
	}
}

/* Make a bad copy of the real datagram o. */
static void
make_bad(struct spy_node *n, const struct swim_out *o, struct pkt *b)
{
	enum bad_kind kind = (enum bad_kind)(n->next_inject++ % BAD__N);
	uint8_t pt[2048], nonce[CRYPTO_NONCE_LEN];
	size_t pt_len = 0;

	b->to = o->to;
	switch (kind) {
	case BAD_GARBAGE:
		/* Long enough not to be merely truncated. */
		b->len = 60 + rng_below(&spy.rng, 200);
		rng_fill(&spy.rng, b->data, b->len);
		break;
	case BAD_TRUNC:
		b->len = 1 + rng_below(&spy.rng, 40);
		memcpy(b->data, o->data, b->len);
		break;
	case BAD_KEY:
	case BAD_LABEL:
		assert_int_equal(crypto_open(n->kr, SIM_CLUSTER,
					     strlen(SIM_CLUSTER), o->data,
					     o->len, pt, sizeof(pt), &pt_len),
				 0);
		rng_fill(&spy.rng, nonce, sizeof(nonce));
		if (kind == BAD_KEY)
			assert_int_equal(crypto_seal(&spy.other_key,
						     SIM_CLUSTER,
						     strlen(SIM_CLUSTER), nonce,
						     pt, pt_len, b->data,
						     sizeof(b->data), &b->len),
					 0);
		else
			assert_int_equal(crypto_seal(n->kr, "other-cluster", 13,
						     nonce, pt, pt_len, b->data,
						     sizeof(b->data), &b->len),
					 0);
		break;
	case BAD_DUP:
		b->len = o->len;
		memcpy(b->data, o->data, o->len);
		break;
	case BAD_OLD:
		/* The oldest datagram we kept, to its own destination. */
		if (!n->nsaved) {
			b->len = o->len;
			memcpy(b->data, o->data, o->len);
			break;
		}
		*b = n->saved[0];
		memmove(&n->saved[0], &n->saved[1],
			(n->nsaved - 1) * sizeof(n->saved[0]));
		n->nsaved--;
		break;
	case BAD__N:
		break;
	}
	spy.injected[kind]++;
}

static bool
spy_pop_out(void *p, struct swim_out *out)
{
	struct spy_node *n = p;

	if (inner_ops->pop_out(n->inner, out)) {
		if (out->kind != SWIM_OUT_DGRAM)
			return true;
		look(n, out);
		if (!spy.every || out->len > sizeof(n->saved[0].data))
			return true;
		n->dgrams++;
		if (n->now_ms >= spy.save_from_ms &&
		    n->now_ms < spy.save_to_ms && n->nsaved < SAVED_MAX &&
		    n->dgrams % 3 == 0) {
			struct pkt *s = &n->saved[n->nsaved++];

			s->to = out->to;
			s->len = out->len;
			memcpy(s->data, out->data, out->len);
		}
		if (n->now_ms >= spy.from_ms && n->now_ms < spy.to_ms &&
		    n->dgrams % spy.every == 0 && n->ninject < INJECT_MAX)
			make_bad(n, out, &n->inject[n->ninject++]);
		return true;
	}
	if (n->ninject) {
		/* One bad datagram per call; the buffer stays valid until the
		 * next call (the engine copies it at once). */
		static struct pkt cur;

		cur = n->inject[0];
		memmove(&n->inject[0], &n->inject[1],
			(n->ninject - 1) * sizeof(n->inject[0]));
		n->ninject--;
		memset(out, 0, sizeof(*out));
		out->kind = SWIM_OUT_DGRAM;
		out->to = cur.to;
		out->data = cur.data;
		out->len = cur.len;
		return true;
	}
	return false;
}

static bool
spy_pop_event(void *p, struct node_event *ev)
{
	struct spy_node *n = p;
	int64_t about;

	if (!inner_ops->pop_event(n->inner, ev))
		return false;
	if (ev->kind != NODE_EV_MEMBER || ev->member.kind != SWIM_EV_FAILED)
		return true;
	about = sim_index_of_name(ev->member.name);
	if (about >= 0 && about < NODES_MAX)
		spy.failed[about]++;
	return true;
}

/* The operations not listed forward to the wrapped kind (sim_wrap_fill()). */
static struct sim_node_ops spy_ops = {
	.name = "gossip-spy",
	.create = spy_create,
	.destroy = spy_destroy,
	.recv = spy_recv,
	.recv_stream = spy_recv_stream,
	.stream_reply = spy_stream_reply,
	.stream_failed = spy_stream_failed,
	.tick = spy_tick,
	.pop_out = spy_pop_out,
	.pop_event = spy_pop_event,
};

/* The membership machine of node i (NULL when it is not running). */
static const struct swim *
swim_of(const struct sim *s, uint32_t i)
{
	const struct spy_node *n = sim_node_obj(s, i);

	return n ? node_swim(n->inner) : NULL;
}

/* ---- running ------------------------------------------------------------ */

struct run {
	struct sim_scenario sc;
	struct sim *s;
	double v[SIM_M__N];
};

static void
run_start(struct run *r, const char *text)
{
	char why[SIM_WHY_MAX] = "";
	int err = 0;

	memset(r, 0, sizeof(*r));
	sim_scenario_init(&r->sc);
	if (sim_scenario_parse_text(&r->sc, text, "test", why, sizeof(why)) ||
	    sim_scenario_finalize(&r->sc, why, sizeof(why)))
		fail_msg("scenario: %s", why);
	r->s = sim_new(&r->sc, &spy_ops, NULL, NULL, &err, why, sizeof(why));
	if (!r->s)
		fail_msg("sim_new: %s", why);
}

static void
run_until(struct run *r, uint64_t t_us)
{
	char why[SIM_WHY_MAX] = "";

	if (sim_run_until(r->s, t_us, why, sizeof(why)))
		fail_msg("sim_run_until: %s (seed %llu)", why,
			 (unsigned long long)r->sc.seed);
}

static void
run_end(struct run *r)
{
	char why[SIM_WHY_MAX] = "";

	if (sim_run(r->s, why, sizeof(why)))
		fail_msg("sim_run: %s (seed %llu)", why,
			 (unsigned long long)r->sc.seed);
	sim_values(r->s, r->v);
}

static void
run_release(struct run *r)
{
	sim_delete(r->s);
	sim_scenario_release(&r->sc);
}

#define SEC	 1000000ull
#define EPOCH_MS 1700000000000ull /* what node clocks read at 0 s */

/* ---- tests ------------------------------------------------------------- */

/* Lifeguard: node-3's every input arrives a second late (its process is
 * starved) from 30 s to 120 s. Its probes time out and its nacks come
 * too late, so its own health score rises and stretches its probing;
 * the healthy nodes, whose helpers answer with nacks, keep theirs low,
 * and nobody, node-3 included, declares a healthy node dead. */
static void
test_lifeguard_slow_node(void **state)
{
	const uint32_t n = 20, slow = 3;
	unsigned max_health[20] = {0};
	struct run r;

	(void)state;
	spy_reset();
	run_start(&r, "nodes 20\nseed 13\nduration 150s\n"
		      "at 30s slow node-3 by 1s for 90s\n");
	for (uint64_t t = 1; t <= 150; t++) {
		run_until(&r, t * SEC);
		for (uint32_t i = 0; i < n; i++) {
			const struct swim *sw = swim_of(r.s, i);

			if (sw && swim_health(sw) > max_health[i])
				max_health[i] = swim_health(sw);
		}
	}
	run_end(&r);
	if (getenv("GOSSIP_SIM_VERBOSE"))
		for (uint32_t i = 0; i < n; i++)
			fprintf(stderr, "node-%u health max %u failed %u\n", i,
				max_health[i], spy.failed[i]);
	assert_true(max_health[slow] >= 3);
	for (uint32_t i = 0; i < n; i++) {
		if (i == slow)
			continue;
		assert_true(max_health[i] <= 1);
		/* No healthy node declared dead by anyone. */
		assert_int_equal(spy.failed[i], 0);
	}
	assert_true(r.v[SIM_M_FALSE_DEAD] == 0);
	assert_true(r.v[SIM_M_DIGESTS] == 1);
	assert_true(r.v[SIM_M_ALIVE_VIEW_MIN] == n);
	run_release(&r);
}

/* Dissemination: a 50-node cold bootstrap (a join storm: big compound
 * datagrams) and a crash. Every datagram, sealed, fits udp_payload_max;
 * compound datagrams carry many messages; and no node sends the news of
 * the death more than retransmit_mult * ceil(log10(N + 1)) times. */
static void
test_dissemination(void **state)
{
	const uint32_t n = 50;
	uint32_t limit, senders = 0, most = 0;
	struct run r;

	(void)state;
	spy_reset();
	spy.subject = "node-7";
	run_start(&r, "nodes 50\nseed 21\nduration 90s\n"
		      "at 30s crash node-7\n");
	run_end(&r);
	/* N counts alive, suspect and failed members: 50 at every node. */
	limit = r.sc.prof.retransmit_mult *
		(uint32_t)ceil(log10((double)n + 1.0));
	for (uint32_t i = 0; i < n; i++) {
		if (spy.dead_sent[i])
			senders++;
		if (spy.dead_sent[i] > most)
			most = spy.dead_sent[i];
		assert_true(spy.dead_sent[i] <= limit);
	}
	if (getenv("GOSSIP_SIM_VERBOSE"))
		fprintf(stderr,
			"max sealed %zu, max msgs %u, dead senders %u, most "
			"%u of %u\n",
			spy.max_sealed, spy.max_msgs, senders, most, limit);
	assert_true(r.v[SIM_M_DETECTED] == 1);
	assert_true(senders >= n / 2);
	assert_int_equal(most, limit);
	assert_true(spy.max_sealed <= r.sc.prof.udp_payload_max);
	assert_true(spy.max_sealed > r.sc.prof.udp_payload_max / 2);
	assert_true(spy.max_msgs > 10);
	run_release(&r);
}

/* Bad input through the virtual network: from 40 s to 70 s, every fourth
 * datagram a node sends is followed by a bad one to the same place
 * (garbage, a truncated copy, a copy sealed with another key or for
 * another cluster, a duplicate, or a datagram it sent half a minute
 * earlier, sent again). Each is counted under its reason and nothing
 * changes: one view, everyone alive, no suspicion, no refutation. */
static void
test_bad_input(void **state)
{
	const uint32_t n = 30;
	uint64_t drops[SWIM_DROP__N] = {0}, total = 0, injected = 0;
	struct run r;

	(void)state;
	spy_reset();
	spy.every = 4;
	spy.save_from_ms = EPOCH_MS + 2000;
	spy.save_to_ms = EPOCH_MS + 10000;
	spy.from_ms = EPOCH_MS + 40000;
	spy.to_ms = EPOCH_MS + 70000;
	run_start(&r, "nodes 30\nseed 8\nduration 90s\n");
	run_end(&r);
	for (uint32_t i = 0; i < n; i++) {
		const struct swim_stats *st = swim_stats(swim_of(r.s, i));

		for (int d = 0; d < SWIM_DROP__N; d++) {
			drops[d] += st->drops[d];
			total += st->drops[d];
		}
	}
	for (int k = 0; k < BAD__N; k++) {
		injected += spy.injected[k];
		assert_true(spy.injected[k] > 10);
	}
	if (getenv("GOSSIP_SIM_VERBOSE"))
		for (int d = 0; d < SWIM_DROP__N; d++)
			fprintf(stderr, "%s %llu\n",
				swim_drop_name((enum swim_drop)d),
				(unsigned long long)drops[d]);
	/* Every bad datagram was dropped, and counted once. */
	assert_int_equal(total, injected);
	assert_int_equal(drops[SWIM_DROP_TRUNC], spy.injected[BAD_TRUNC]);
	assert_true(drops[SWIM_DROP_NOKEY] >= spy.injected[BAD_KEY]);
	assert_int_equal(drops[SWIM_DROP_AUTH], spy.injected[BAD_LABEL]);
	assert_int_equal(drops[SWIM_DROP_REPLAY] + drops[SWIM_DROP_STALE],
			 spy.injected[BAD_DUP] + spy.injected[BAD_OLD]);
	assert_true(drops[SWIM_DROP_REPLAY] >= spy.injected[BAD_DUP]);
	assert_true(drops[SWIM_DROP_STALE] > 0);
	/* ... and changed nothing. */
	assert_true(r.v[SIM_M_DIGESTS] == 1);
	assert_true(r.v[SIM_M_ALIVE_VIEW_MIN] == n);
	assert_true(r.v[SIM_M_FALSE_SUSPECT_ANY] == 0);
	assert_true(r.v[SIM_M_REFUTES] == 0);
	assert_true(r.v[SIM_M_JOINS_INCOMPLETE] == 0);
	run_release(&r);
}

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifeguard_slow_node),
		cmocka_unit_test(test_dissemination),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
