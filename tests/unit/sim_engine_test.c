/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sim_engine_test.c — sim/engine: the event loop, the network
 * model and the faults, seen from inside the nodes.
 *
 * A spy wraps the toy protocol (and, at the end, the real node) and
 * records what each node is asked to do and when, by its own clock. That
 * lets the tests check the engine's promises directly: no datagram crosses
 * a partition, a paused node is not called and then gets a burst, clock
 * offsets are what the node reads and never go backwards, loss drops the
 * right share, node seeds do not depend on faults, runs are deterministic,
 * and an expectation can fail.
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

#include "core/err.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/report.h"
#include "sim/scenario.h"
#include "tests/unit/sim_wrap.h"
#include "sim/sim.h"
#include "sim/toy.h"

#define EPOCH_MS  1700000000000ull
#define SPY_NODES 64

/* ---- the spy ------------------------------------------------------------- */

struct spy_node {
	void *inner;
	uint32_t idx;
};

struct spy_stats {
	uint64_t seeds[SPY_NODES];
	uint64_t calls[SPY_NODES]; /* any verb */
	uint64_t recvs[SPY_NODES];
	uint64_t dgrams_out;
	uint64_t recvs_total;
	uint64_t stream_failed;
	uint64_t cross_partition; /* recv across the partition, in force */
	uint64_t calls_while_paused;
	uint64_t burst_at_resume;
	uint64_t clock_backwards;
	uint64_t last_ms[SPY_NODES];
	uint64_t first_ms[SPY_NODES];
	/* what the test sets up */
	uint32_t part_split;		   /* nodes < split vs >= split */
	uint64_t part_from_ms, part_to_ms; /* local ms window */
	int64_t paused_node;
	uint64_t pause_from_ms, pause_to_ms;
};

static struct spy_stats spy;
static const struct sim_node_ops *spy_inner;

static struct sim_node_ops spy_ops; /* below */

static void
spy_reset(const struct sim_node_ops *inner)
{
	memset(&spy, 0, sizeof(spy));
	spy.paused_node = -1;
	spy_inner = inner;
	sim_wrap_fill(&spy_ops, inner);
}

static void
spy_call(const struct spy_node *n, uint64_t now)
{
	uint32_t i = n->idx;

	if (i >= SPY_NODES)
		return;
	spy.calls[i]++;
	if (now < spy.last_ms[i])
		spy.clock_backwards++;
	spy.last_ms[i] = now;
	if (!spy.first_ms[i])
		spy.first_ms[i] = now;
	if ((int64_t)i == spy.paused_node && now > spy.pause_from_ms &&
	    now < spy.pause_to_ms)
		spy.calls_while_paused++;
	if ((int64_t)i == spy.paused_node && now == spy.pause_to_ms)
		spy.burst_at_resume++;
}

static void *
spy_create(void *ctx, const struct sim_node_spec *spec, int *err)
{
	struct spy_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->idx = spec->index;
	if (spec->index < SPY_NODES && spec->generation == 0)
		spy.seeds[spec->index] = spec->seed;
	n->inner = spy_inner->create(ctx, spec, err);
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

	spy_inner->destroy(ctx, n->inner);
	free(n);
}

static void
spy_recv(void *p, uint64_t now, const struct addr *from, const uint8_t *b,
	 size_t len)
{
	struct spy_node *n = p;
	int64_t src = sim_index_of(from);

	spy_call(n, now);
	spy.recvs_total++;
	if (n->idx < SPY_NODES)
		spy.recvs[n->idx]++;
	if (spy.part_split && now >= spy.part_from_ms && now < spy.part_to_ms &&
	    ((uint32_t)src < spy.part_split) != (n->idx < spy.part_split))
		spy.cross_partition++;
	spy_inner->recv(n->inner, now, from, b, len);
}

static void
spy_recv_stream(void *p, uint64_t now, uint32_t conn, const struct addr *from,
		const uint8_t *b, size_t len)
{
	struct spy_node *n = p;

	spy_call(n, now);
	spy_inner->recv_stream(n->inner, now, conn, from, b, len);
}

static void
spy_stream_reply(void *p, uint64_t now, uint32_t sid, const uint8_t *b,
		 size_t len)
{
	struct spy_node *n = p;

	spy_call(n, now);
	spy_inner->stream_reply(n->inner, now, sid, b, len);
}

static void
spy_stream_failed(void *p, uint64_t now, uint32_t sid)
{
	struct spy_node *n = p;

	spy_call(n, now);
	spy.stream_failed++;
	spy_inner->stream_failed(n->inner, now, sid);
}

static void
spy_tick(void *p, uint64_t now)
{
	struct spy_node *n = p;

	spy_call(n, now);
	spy_inner->tick(n->inner, now);
}

static bool
spy_pop_out(void *p, struct swim_out *out)
{
	bool ok = spy_inner->pop_out(((struct spy_node *)p)->inner, out);

	if (ok && out->kind == SWIM_OUT_DGRAM)
		spy.dgrams_out++;
	return ok;
}

static bool
spy_pop_event(void *p, struct node_event *ev)
{
	return spy_inner->pop_event(((struct spy_node *)p)->inner, ev);
}

/* The operations not listed forward to the wrapped kind (sim_wrap_fill()). */
static struct sim_node_ops spy_ops = {
	.name = "spy",
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

/* ---- running a scenario -----------------------------------------------------
 */

struct run {
	struct sim_scenario sc;
	struct sim *s;
	double v[SIM_M__N];
	uint64_t trace;
};

static void
run_text(struct run *r, const char *text, const struct sim_node_ops *ops)
{
	char why[SIM_WHY_MAX] = "";
	int err = 0;

	memset(r, 0, sizeof(*r));
	sim_scenario_init(&r->sc);
	if (sim_scenario_parse_text(&r->sc, text, "test", why, sizeof(why)) ||
	    sim_scenario_finalize(&r->sc, why, sizeof(why))) {
		fprintf(stderr, "scenario: %s\n", why);
		fail();
	}
	r->s = sim_new(&r->sc, ops, NULL, NULL, &err, why, sizeof(why));
	if (!r->s) {
		fprintf(stderr, "sim_new: %s\n", why);
		fail();
	}
	if (sim_run(r->s, why, sizeof(why))) {
		fprintf(stderr, "sim_run: %s (seed %llu)\n", why,
			(unsigned long long)r->sc.seed);
		fail();
	}
	sim_values(r->s, r->v);
	r->trace = sim_trace_hash(r->s);
}

static void
run_release(struct run *r)
{
	sim_delete(r->s);
	sim_scenario_release(&r->sc);
}

/* ---- tests
 * -------------------------------------------------------------------- */

static void
test_toy_join_and_crash(void **state)
{
	struct run r;

	(void)state;
	spy_reset(sim_toy_ops());
	run_text(&r, "nodes 30\nseed 5\nduration 40s\nat 20s crash node-5\n",
		 &spy_ops);
	assert_true(r.v[SIM_M_JOINS] == 29);
	assert_true(r.v[SIM_M_JOINS_INCOMPLETE] == 0);
	assert_true(r.v[SIM_M_CRASHES] == 1);
	assert_true(r.v[SIM_M_DETECTED] == 1);
	assert_true(r.v[SIM_M_FIRST_SUSPECT_MAX] <= r.v[SIM_M_FIRST_DEAD_MAX]);
	assert_true(r.v[SIM_M_FIRST_DEAD_MAX] <=
		    r.v[SIM_M_DEAD_EVERYWHERE_MAX]);
	assert_true(r.v[SIM_M_DEAD_EVERYWHERE_MAX] < 10000);
	assert_true(r.v[SIM_M_FALSE_DEAD] == 0);
	assert_true(r.v[SIM_M_LIVE] == 29);
	assert_true(r.v[SIM_M_DIGESTS] == 1);
	assert_true(r.v[SIM_M_ALIVE_VIEW_MIN] == 29);
	assert_int_equal(spy.clock_backwards, 0);
	assert_true(sim_now_us(r.s) == 40000000);
	run_release(&r);
}

static void
test_determinism(void **state)
{
	static const char *text =
		"nodes 25\nseed 77\nduration 30s\n"
		"net loss 5%\nnet dup 2%\n"
		"net reorder 10% 3ms\n"
		"at 10s crash 10%\nat 12s partition 0-9 | rest\n"
		"at 20s heal\n";
	struct run a, b, c;

	(void)state;
	spy_reset(sim_toy_ops());
	run_text(&a, text, &spy_ops);
	spy_reset(sim_toy_ops());
	run_text(&b, text, &spy_ops);
	assert_true(a.trace == b.trace);
	assert_true(sim_events(a.s) == sim_events(b.s));
	for (int k = 0; k < SIM_M__N; k++) {
		if (sim_metric_info(k)->volatile_)
			continue;
		if (isnan(a.v[k]))
			assert_true(isnan(b.v[k]));
		else
			assert_true(a.v[k] == b.v[k]);
	}
	run_release(&b);
	spy_reset(sim_toy_ops());
	run_text(&c, "nodes 25\nseed 78\nduration 30s\nnet loss 5%\n",
		 &spy_ops);
	assert_true(a.trace != c.trace);
	run_release(&a);
	run_release(&c);
}

static void
test_node_seeds_do_not_depend_on_faults(void **state)
{
	uint64_t seeds[SPY_NODES];
	struct run r;

	(void)state;
	spy_reset(sim_toy_ops());
	run_text(&r, "nodes 20\nseed 9\nduration 5s\n", &spy_ops);
	memcpy(seeds, spy.seeds, sizeof(seeds));
	run_release(&r);
	spy_reset(sim_toy_ops());
	run_text(&r,
		 "nodes 20\nseed 9\nduration 5s\nnet loss 30%\n"
		 "at 1s crash random:3\nat 2s pause 4\n",
		 &spy_ops);
	for (int i = 0; i < 20; i++) {
		assert_true(seeds[i] != 0);
		assert_true(spy.seeds[i] == seeds[i]);
		if (i)
			assert_true(seeds[i] != seeds[i - 1]);
	}
	run_release(&r);
}

static void
test_loss_rate(void **state)
{
	struct run r;
	double delivered;

	(void)state;
	spy_reset(sim_toy_ops());
	run_text(&r, "nodes 20\nduration 60s\n", &spy_ops);
	/* No loss, no faults: every datagram arrives. */
	assert_true(spy.recvs_total == spy.dgrams_out);
	run_release(&r);

	spy_reset(sim_toy_ops());
	run_text(&r, "nodes 20\nduration 300s\nnet loss 25%\n", &spy_ops);
	delivered = (double)spy.recvs_total / (double)spy.dgrams_out;
	assert_true(fabs(delivered - 0.75) < 0.03);
	run_release(&r);

	spy_reset(sim_toy_ops());
	run_text(&r, "nodes 20\nduration 20s\nnet loss 100%\n", &spy_ops);
	assert_int_equal(spy.recvs_total, 0);
	assert_true(spy.dgrams_out > 0);
	run_release(&r);
}

static void
test_duplication(void **state)
{
	struct run r;

	(void)state;
	spy_reset(sim_toy_ops());
	run_text(&r, "nodes 20\nduration 200s\nnet dup 20%\n", &spy_ops);
	assert_true(fabs((double)spy.recvs_total / spy.dgrams_out - 1.2) <
		    0.03);
	run_release(&r);
}

static void
test_partition_blocks_datagrams(void **state)
{
	struct run r;

	(void)state;
	spy_reset(sim_toy_ops());
	spy.part_split = 10;
	/* Packets in flight when the partition starts may still land: allow
	 * 100 ms; none may cross while it is in force. */
	spy.part_from_ms = EPOCH_MS + 20100;
	spy.part_to_ms = EPOCH_MS + 40000;
	run_text(&r,
		 "nodes 20\nduration 60s\nat 20s partition 0-9 | 10-19\n"
		 "at 40s heal\n",
		 &spy_ops);
	assert_int_equal(spy.cross_partition, 0);
	/* It did cut something: each side declared the other dead. */
	assert_true(r.v[SIM_M_FALSE_DEAD_ANY] > 0);
	assert_true(r.v[SIM_M_FALSE_DEAD] == 0); /* all excused */
	run_release(&r);
}

static void
test_pause_then_burst(void **state)
{
	struct run r;

	(void)state;
	spy_reset(sim_toy_ops());
	spy.paused_node = 3;
	spy.pause_from_ms = EPOCH_MS + 5000;
	spy.pause_to_ms = EPOCH_MS + 9000;
	run_text(&r, "nodes 10\nduration 20s\nat 5s pause node-3 for 4s\n",
		 &spy_ops);
	assert_int_equal(spy.calls_while_paused, 0);
	assert_true(spy.burst_at_resume > 2); /* queued input, all at once */
	run_release(&r);
}

static void
test_clock_offset_and_monotonic(void **state)
{
	struct run r;

	(void)state;
	spy_reset(sim_toy_ops());
	run_text(&r,
		 "nodes 5\nduration 30s\nat 0s clock node-2 offset +5s\n"
		 "at 10s clock node-3 offset -3s drift -1000ppm\n"
		 "at 20s clock node-4 drift +100000ppm\n",
		 &spy_ops);
	/* node-2 starts at 20 ms with its clock 5 s ahead. */
	assert_true(spy.first_ms[2] >= EPOCH_MS + 5020);
	assert_true(spy.first_ms[1] < EPOCH_MS + 1000);
	/* A clock stepped back holds still instead of going backwards. */
	assert_int_equal(spy.clock_backwards, 0);
	/* node-4 runs 10% fast for the last 10 s, so its clock ends near
	 * 31 s; it ticks every 1000 of its own ms (909 real), so its last
	 * tick reads at least 30 s. Nobody without drift reads past 30 s. */
	assert_true(spy.last_ms[4] >= EPOCH_MS + 29999);
	assert_true(spy.last_ms[4] <= EPOCH_MS + 31000);
	assert_true(spy.last_ms[1] <= EPOCH_MS + 30000);
	run_release(&r);
}

static void
test_stream_refused_when_target_down(void **state)
{
	struct run r;

	(void)state;
	spy_reset(sim_toy_ops());
	/* The seed crashes as soon as it starts; joins are refused. */
	run_text(&r, "nodes 5\nduration 3s\nat 0s crash node-0\n", &spy_ops);
	assert_true(spy.stream_failed >= 4);
	assert_true(r.v[SIM_M_STREAMS_FAILED] >= 4);
	run_release(&r);
}

static void
test_stream_times_out_across_partition(void **state)
{
	struct run r;

	(void)state;
	spy_reset(sim_toy_ops());
	run_text(&r,
		 "nodes 3\nduration 12s\nset stream_timeout 2s\n"
		 "at 0s isolate node-0\n",
		 &spy_ops);
	/* Two joiners time out every 2 s and retry 1 s later: 4 each. */
	assert_true(spy.stream_failed >= 6);
	assert_true(r.v[SIM_M_JOINS_INCOMPLETE] > 0);
	run_release(&r);
}

static void
test_expectation_can_fail(void **state)
{
	struct run r;
	struct sim_outcome o;

	(void)state;
	spy_reset(sim_toy_ops());
	run_text(&r,
		 "nodes 10\nduration 20s\nexpect digests == 2\n"
		 "expect false_dead == 0\nat 10s expect live == 10\n"
		 "at 30s expect live == 10\n",
		 &spy_ops);
	assert_int_equal(sim_outcome_eval(&o, r.s, r.v), 0);
	assert_int_equal(o.n, 4);
	assert_false(o.pass[0]);
	assert_true(o.pass[1]);
	assert_true(o.pass[2]);
	assert_false(o.pass[3]); /* its time never came: no data */
	assert_int_equal(o.failed, 2);
	sim_outcome_release(&o);
	run_release(&r);
}

static void
test_churn_and_leave(void **state)
{
	struct run r;

	(void)state;
	spy_reset(sim_toy_ops());
	run_text(&r,
		 "nodes 20\nseed 4\nduration 40s\nat 5s leave node-3\n"
		 "at 10s churn every 1s for 10s\nat 25s join 3 over 2s\n",
		 &spy_ops);
	assert_true(r.v[SIM_M_LEAVES] >= 1);
	assert_true(r.v[SIM_M_LEFT_AS_FAILED] == 0);
	assert_true(r.v[SIM_M_JOINS] > 19 + 3);
	assert_true(sim_node_count(r.s) > 23);
	assert_false(sim_node_is_up(r.s, 3));
	run_release(&r);
}

static void
test_real_nodes(void **state)
{
	struct run a, b;

	(void)state;
	spy_reset(sim_node_ops_real());
	run_text(&a, "nodes 20\nseed 3\nduration 30s\nat 15s crash node-4\n",
		 &spy_ops);
	assert_true(a.v[SIM_M_JOINS_INCOMPLETE] == 0);
	assert_true(a.v[SIM_M_DIGESTS] == 1);
	assert_true(a.v[SIM_M_ALIVE_VIEW_MIN] == 19);
	assert_true(a.v[SIM_M_DETECTED] == 1);
	assert_true(a.v[SIM_M_FALSE_DEAD] == 0);
	assert_true(a.v[SIM_M_NODE_DROPS] == 0);
	assert_int_equal(spy.clock_backwards, 0);
	spy_reset(sim_node_ops_real());
	run_text(&b, "nodes 20\nseed 3\nduration 30s\nat 15s crash node-4\n",
		 &spy_ops);
	assert_true(a.trace == b.trace);
	run_release(&b);
	spy_reset(sim_node_ops_real());
	run_text(&b,
		 "nodes 20\nseed 3\nduration 30s\ncrypto off\n"
		 "at 15s crash node-4\n",
		 &spy_ops);
	assert_true(b.v[SIM_M_DIGESTS] == 1);
	assert_true(b.v[SIM_M_DETECTED] == 1);
	assert_true(a.trace != b.trace);
	run_release(&b);
	run_release(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_toy_join_and_crash),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_node_seeds_do_not_depend_on_faults),
		cmocka_unit_test(test_loss_rate),
		cmocka_unit_test(test_duplication),
		cmocka_unit_test(test_partition_blocks_datagrams),
		cmocka_unit_test(test_pause_then_burst),
		cmocka_unit_test(test_clock_offset_and_monotonic),
		cmocka_unit_test(test_stream_refused_when_target_down),
		cmocka_unit_test(test_stream_times_out_across_partition),
		cmocka_unit_test(test_expectation_can_fail),
		cmocka_unit_test(test_churn_and_leave),
		cmocka_unit_test(test_real_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
