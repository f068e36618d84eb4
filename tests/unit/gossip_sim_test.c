/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/gossip_sim_test.c — the membership protocol through the
 * simulator's clock and virtual network.
 *
 * The scenarios in sim/scenarios/ cover joins of 2, 10 and 100 nodes, a
 * crash, a refutation, a slow node, leaves, restarts and a healed
 * partition with the simulator's own metrics. What those metrics cannot
 * see is checked here, with a spy around the real node (the same `struct
 * node` the agent runs) that looks at each node's own figures:
 *
 *   - Lifeguard: a node whose processing is slowed raises its OWN health
 *     score, the healthy nodes' scores stay low, and no healthy node is
 *     declared dead by anyone.
 *
 * A failing run prints its seed (the scenario's `seed` line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/err.h"
#include "gossip/swim.h"
#include "sched/node.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/scenario.h"
#include "sim/sim.h"

#define NODES_MAX 128

/* ---- the spy ------------------------------------------------------------ */

struct spy_node {
	void *inner;
	uint32_t idx;
};

struct spy_state {
	/* FAILED reports about each node, by anyone */
	uint32_t failed[NODES_MAX];
};

static struct spy_state spy;
static const struct sim_node_ops *inner_ops;

static void
spy_reset(void)
{
	memset(&spy, 0, sizeof(spy));
	inner_ops = sim_node_ops_real();
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

	inner_ops->recv(n->inner, now, from, b, len);
}

static void
spy_recv_stream(void *p, uint64_t now, uint32_t conn, const struct addr *from,
		const uint8_t *b, size_t len)
{
	struct spy_node *n = p;

	inner_ops->recv_stream(n->inner, now, conn, from, b, len);
}

static void
spy_stream_reply(void *p, uint64_t now, uint32_t sid, const uint8_t *b,
		 size_t len)
{
	struct spy_node *n = p;

	inner_ops->stream_reply(n->inner, now, sid, b, len);
}

static void
spy_stream_failed(void *p, uint64_t now, uint32_t sid)
{
	struct spy_node *n = p;

	inner_ops->stream_failed(n->inner, now, sid);
}

static void
spy_tick(void *p, uint64_t now)
{
	struct spy_node *n = p;

	inner_ops->tick(n->inner, now);
}

static uint64_t
spy_next_deadline(const void *p)
{
	return inner_ops->next_deadline(((const struct spy_node *)p)->inner);
}

static bool
spy_pop_out(void *p, struct swim_out *out)
{
	return inner_ops->pop_out(((struct spy_node *)p)->inner, out);
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

static int
spy_join(void *p, uint64_t now, const struct addr *seeds, size_t n)
{
	return inner_ops->join(((struct spy_node *)p)->inner, now, seeds, n);
}

static int
spy_leave(void *p, uint64_t now)
{
	return inner_ops->leave(((struct spy_node *)p)->inner, now);
}

#define SPY_Q(name, type)                                                      \
	static type spy_##name(const void *p)                                  \
	{                                                                      \
		return inner_ops->name(((const struct spy_node *)p)->inner);   \
	}
SPY_Q(digest, uint64_t)
SPY_Q(member_count, size_t)
SPY_Q(memory, size_t)
SPY_Q(health, unsigned)
SPY_Q(drops, uint64_t)

static size_t
spy_count_state(const void *p, enum swim_state st)
{
	return inner_ops->count_state(((const struct spy_node *)p)->inner, st);
}

static const struct sim_node_ops spy_ops = {
	.name = "gossip-spy",
	.create = spy_create,
	.destroy = spy_destroy,
	.recv = spy_recv,
	.recv_stream = spy_recv_stream,
	.stream_reply = spy_stream_reply,
	.stream_failed = spy_stream_failed,
	.tick = spy_tick,
	.next_deadline = spy_next_deadline,
	.pop_out = spy_pop_out,
	.pop_event = spy_pop_event,
	.join = spy_join,
	.leave = spy_leave,
	.digest = spy_digest,
	.member_count = spy_member_count,
	.count_state = spy_count_state,
	.memory = spy_memory,
	.health = spy_health,
	.drops = spy_drops,
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

#define SEC 1000000ull

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
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
