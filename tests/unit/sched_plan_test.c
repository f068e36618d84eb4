/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sched_plan_test.c — sched/plan: the manager's round.
 *
 * A few replicas of the state gossip every delta to each other (a perfect
 * network); node-a is the manager. Held: a round places every slot and a
 * second round decides nothing; every node's share (plan_tasks_of) adds up
 * to the replicas; a death, a drain, a member forgotten by membership move
 * exactly the slots they held; a join moves a few slots at a time and
 * waits for them to run, and so does a manager that takes over; a rolling
 * update goes update.parallelism at a time, waits for running reports and for
 * update.delay_ms, and a scale restarts nothing; a rejected task moves to
 * another node, and a spec rejected everywhere hops ever more slowly; a manager
 * of an older term stops with ERR_STALE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/intern.h"
#include "sched/plan.h"

#define NN 6

struct cluster {
	struct intern pool;
	struct state *st[NN];
	char names[NN][16];
	struct plan_member m[NN];
	size_t nm;
	struct plan *pl;
	uint64_t now;
	uint64_t term;
};

static void
gossip(struct cluster *c)
{
	struct buf b;
	bool more = true;

	buf_init(&b, 1 << 16);
	while (more) {
		more = false;
		for (int i = 0; i < NN; i++)
			while (state_pop_delta(c->st[i], &b)) {
				more = true;
				for (int j = 0; j < NN; j++)
					if (j != i)
						state_merge_delta(
							c->st[j], c->now,
							b.data, b.len);
			}
	}
	buf_release(&b);
}

static struct cluster *
cluster_new(size_t members)
{
	struct cluster *c = calloc(1, sizeof(*c));
	int err;

	assert_non_null(c);
	intern_init(&c->pool);
	for (int i = 0; i < NN; i++) {
		struct state_config cfg = {.self = c->names[i]};

		snprintf(c->names[i], sizeof(c->names[i]), "node-%c", 'a' + i);
		c->st[i] = state_new(&cfg, &c->pool, &err);
		assert_non_null(c->st[i]);
		c->m[i].name = c->names[i];
		c->m[i].state = SWIM_ALIVE;
	}
	c->nm = members;
	c->pl = plan_new(NULL, &err);
	assert_non_null(c->pl);
	c->now = 1000;
	c->term = 1;
	return c;
}

static void
cluster_free(struct cluster *c)
{
	plan_delete(c->pl);
	for (int i = 0; i < NN; i++)
		state_delete(c->st[i]);
	intern_destroy(&c->pool);
	free(c);
}

static int
run_round(struct cluster *c)
{
	int rc = plan_run(c->pl, c->st[0], c->now, c->term, c->m, c->nm);

	gossip(c);
	return rc;
}

static void
create(struct cluster *c, const char *name, uint32_t replicas,
       uint32_t parallelism, uint32_t delay_ms)
{
	struct spec s;
	const char *argv[] = {"/bin/sleep", "100"};

	spec_init(&s);
	spec_set_name(&s, name, NULL, 0);
	spec_set_args(&s, argv, 2, NULL, 0);
	s.replicas = replicas;
	s.update.parallelism = parallelism;
	s.update.delay_ms = delay_ms;
	assert_int_equal(state_service_create(c->st[1], c->now, &s, NULL, 0),
			 0);
	spec_destroy(&s);
	gossip(c);
}

/* Every node reports its share running with the digest it runs (gen if
 * the slot was rolled to the current digest, else what it ran before). */
static void
report_all(struct cluster *c, bool take_new)
{
	for (int i = 0; i < NN; i++) {
		struct plan_task t[256];
		size_t n = plan_tasks_of(c->st[i], c->names[i], t, 256);

		for (size_t k = 0; k < n; k++) {
			struct state_task r = {
				.service = t[k].service->name,
				.slot = t[k].slot,
				.state = TASK_RUNNING,
				.gen = take_new || t[k].gen == t[k].task_digest
					       ? t[k].gen
					       : 1,
			};

			assert_int_equal(
				state_task_report(c->st[i], c->now, &r), 0);
		}
	}
	gossip(c);
}

static size_t
share(struct cluster *c, int i)
{
	return plan_tasks_of(c->st[i], c->names[i], NULL, 0);
}

static void
test_round_places_everything(void **state)
{
	struct cluster *c = cluster_new(5);
	size_t total = 0;

	(void)state;
	create(c, "web", 7, 1, 0);
	assert_int_equal(run_round(c), 7);
	assert_int_equal(run_round(c), 0);
	for (int i = 0; i < 5; i++) {
		assert_in_range(share(c, i), 1, 2);
		total += share(c, i);
	}
	assert_int_equal(total, 7);
	/* Every replica agrees. */
	for (int i = 1; i < NN; i++)
		assert_int_equal(state_digest(c->st[i]),
				 state_digest(c->st[0]));
	/* A global service: one slot per member. */
	{
		struct spec s;
		const char *argv[] = {"/bin/agent"};

		spec_init(&s);
		spec_set_name(&s, "agent", NULL, 0);
		spec_set_args(&s, argv, 1, NULL, 0);
		s.mode = SPEC_GLOBAL;
		s.replicas = 0;
		assert_int_equal(
			state_service_create(c->st[0], c->now, &s, NULL, 0), 0);
		spec_destroy(&s);
	}
	assert_int_equal(run_round(c), 5);
	for (int i = 0; i < 5; i++) {
		struct plan_task t[16];
		size_t n = plan_tasks_of(c->st[i], c->names[i], t, 16), g = 0;

		for (size_t k = 0; k < n; k++)
			g += !strcmp(t[k].service->name, "agent");
		assert_int_equal(g, 1);
	}
	cluster_free(c);
}

static void
test_death_drain_and_forgotten(void **state)
{
	struct cluster *c = cluster_new(5);
	size_t held;

	(void)state;
	create(c, "web", 10, 1, 0);
	run_round(c);
	held = share(c, 2);
	assert_true(held > 0);
	c->m[2].state = SWIM_DEAD;
	assert_int_equal(run_round(c), (int)held);
	assert_int_equal(share(c, 2), 0);
	assert_int_equal(run_round(c), 0);
	/* Drain another (any node may ask). */
	held = share(c, 3);
	assert_int_equal(
		state_node_set_avail(c->st[4], c->now, "node-d", STATE_DRAIN),
		0);
	gossip(c);
	assert_int_equal(run_round(c), (int)held);
	assert_int_equal(share(c, 3), 0);
	/* A member the view no longer lists (reaped): its slots move. */
	held = share(c, 4);
	c->nm = 4;
	c->m[3] = c->m[4]; /* node-e drops out: list a..d */
	c->m[3].name = c->names[3];
	c->m[3].state = SWIM_ALIVE;
	assert_int_equal(run_round(c), (int)held);
	assert_int_equal(share(c, 4), 0);
	cluster_free(c);
}

static void
test_join_waits_for_moves(void **state)
{
	struct cluster *c = cluster_new(4);
	int moved = 0, rounds = 0;

	(void)state;
	create(c, "web", 20, 1, 0);
	run_round(c);
	report_all(c, true);
	c->nm = 5; /* node-e joins */
	for (;;) {
		int rc = run_round(c);

		assert_true(rc >= 0);
		/* At most 4 moves, and none while 4 are in flight. */
		assert_true(rc <= 4);
		assert_int_equal(run_round(c), 0);
		if (!rc)
			break;
		moved += rc;
		report_all(c, true);
		assert_true(++rounds < 50);
	}
	/* 20 / 5 = 4 each: the newcomer took 4 (20/4 = 5 before). */
	assert_int_equal(share(c, 4), 4);
	assert_int_equal(moved, 4);
	cluster_free(c);
}

/* A manager that takes over counts its predecessor's moves in flight:
 * they are read from the replicated state, not from the plan's memory. */
static void
test_new_manager_sees_moves_in_flight(void **state)
{
	struct cluster *c = cluster_new(4);
	int rc, moved;

	(void)state;
	create(c, "web", 20, 1, 0);
	run_round(c);
	report_all(c, true);
	c->nm = 6; /* node-e and node-f join: they take 6 or 7 in all */
	moved = run_round(c);
	assert_int_equal(moved, 4);
	/* The manager steps down (its memory goes) and another takes over
	 * before the moves run: nothing more may move yet. */
	plan_reset(c->pl);
	c->term = 2;
	assert_int_equal(run_round(c), 0);
	assert_int_equal(plan_stats(c->pl)->inflight, 4);
	/* Once they run, the rest follows. */
	report_all(c, true);
	rc = run_round(c);
	assert_in_range(rc, 1, 4);
	moved += rc;
	/* Moves nobody confirms stop counting after move_timeout_ms. */
	assert_int_equal(run_round(c), 0);
	c->now += PLAN_MOVE_TIMEOUT_DEFAULT_MS + 1000;
	rc = run_round(c);
	moved += rc;
	assert_int_equal(share(c, 4) + share(c, 5), (size_t)moved);
	assert_in_range(moved, 6, 7);
	cluster_free(c);
}

/* Node i reports its task of web.slot rejected (at the current digest). */
static void
reject(struct cluster *c, int i, uint32_t slot)
{
	const struct state_service *sv = state_service_find(c->st[i], "web");
	struct state_task r = {
		.service = "web",
		.slot = slot,
		.state = TASK_REJECTED,
		.gen = spec_task_digest(&sv->spec),
		.msg = "exec: \"sleep\": executable file not found in $PATH",
	};

	assert_int_equal(state_task_report(c->st[i], c->now, &r), 0);
	gossip(c);
}

static int
node_of(struct cluster *c, uint32_t slot)
{
	const struct state_service *sv = state_service_find(c->st[0], "web");
	const char *n = state_slot_node(sv, state_slot_find(sv, slot));

	for (int i = 0; i < NN; i++)
		if (n && !strcmp(n, c->names[i]))
			return i;
	return -1;
}

/* A rejected task moves to another node, and that node is held off the
 * service; a spec that fails everywhere slows down and stays placed. */
static void
test_rejected_moves(void **state)
{
	struct cluster *c = cluster_new(5);
	int first, second, hops = 0;

	(void)state;
	create(c, "web", 5, 1, 0);
	run_round(c);
	report_all(c, true);
	first = node_of(c, 2);
	reject(c, first, 2);
	assert_int_equal(run_round(c), 1);
	second = node_of(c, 2);
	assert_true(second >= 0 && second != first);
	assert_int_equal(plan_stats(c->pl)->held, 1);
	/* The second node rejects it too: a third one, never the first. */
	reject(c, second, 2);
	assert_int_equal(run_round(c), 1);
	assert_true(node_of(c, 2) != first && node_of(c, 2) != second);
	assert_int_equal(run_round(c), 0);
	/* It fails everywhere: every node rejects whatever it is given, at
	 * once, for an hour of rounds a second apart. */
	for (int sec = 0; sec < 3600; sec++) {
		int at = node_of(c, 2);

		assert_true(at >= 0);
		reject(c, at, 2);
		hops += run_round(c);
		c->now += 1000;
	}
	/* Five nodes: once each per hold (30 s, doubling to 10 min): about
	 * 5 x (1 + log2(20) + 60/10) hops, not one a second. */
	assert_in_range(hops, 10, 60);
	/* A new spec starts afresh. */
	{
		const struct state_service *sv =
			state_service_find(c->st[0], "web");
		struct spec sp;

		spec_init(&sp);
		spec_copy(&sp, &sv->spec);
		assert_int_equal(spec_add_env(&sp, "FIX=1", NULL, 0), 0);
		assert_int_equal(
			state_service_update(c->st[1], c->now, &sp, NULL, 0),
			0);
		spec_destroy(&sp);
		gossip(c);
	}
	run_round(c);
	assert_int_equal(plan_stats(c->pl)->held, 0);
	cluster_free(c);
}

static void
test_rolling_update(void **state)
{
	struct cluster *c = cluster_new(5);
	const struct state_service *sv;
	struct spec s;
	uint64_t d0, d1;
	int rolled = 0, batches = 0;

	(void)state;
	create(c, "web", 6, 2, 1000);
	run_round(c);
	report_all(c, true);
	sv = state_service_find(c->st[0], "web");
	d0 = spec_task_digest(&sv->spec);
	/* A scale restarts nothing. */
	assert_int_equal(
		state_service_scale(c->st[1], c->now, "web", 6, NULL, 0), 0);
	spec_init(&s);
	spec_copy(&s, &sv->spec);
	s.replicas = 7;
	assert_int_equal(state_service_update(c->st[1], c->now, &s, NULL, 0),
			 0);
	gossip(c);
	assert_int_equal(run_round(c), 1); /* the new slot only */
	report_all(c, true);
	assert_int_equal(plan_stats(c->pl)->rolled, 0);
	/* Change the environment: a rollout, two at a time, 1 s apart. */
	sv = state_service_find(c->st[0], "web");
	spec_copy(&s, &sv->spec);
	assert_int_equal(spec_add_env(&s, "VERSION=2", NULL, 0), 0);
	assert_int_equal(state_service_update(c->st[2], c->now, &s, NULL, 0),
			 0);
	spec_destroy(&s);
	gossip(c);
	sv = state_service_find(c->st[0], "web");
	d1 = spec_task_digest(&sv->spec);
	assert_int_not_equal(d0, d1);
	for (int step = 0; step < 40 && rolled < 7; step++) {
		int rc = run_round(c);

		assert_true(rc >= 0 && rc <= 2);
		if (rc) {
			batches++;
			rolled += rc;
			/* Nothing more until they run... */
			assert_int_equal(run_round(c), 0);
			report_all(c, false);
			/* ... and until the delay has passed. */
			assert_int_equal(run_round(c), 0);
			if (rolled < 7)
				assert_int_equal(plan_next_deadline(c->pl),
						 c->now + 1000);
		}
		c->now += 500;
	}
	assert_int_equal(rolled, 7);
	assert_int_equal(batches, 4);
	/* Every slot now carries the new digest. */
	sv = state_service_find(c->st[3], "web");
	for (uint32_t j = 0; j < sv->nslots; j++)
		if (state_slot_node(sv, &sv->slots[j]))
			assert_int_equal(sv->slots[j].gen, d1);
	assert_int_equal(plan_next_deadline(c->pl), UINT64_MAX);
	cluster_free(c);
}

static void
test_older_term_is_stale(void **state)
{
	struct cluster *c = cluster_new(3);

	(void)state;
	create(c, "web", 3, 1, 0);
	c->term = 5;
	run_round(c);
	/* A deposed manager of term 4 wants to move node-b's slot. */
	c->term = 4;
	c->m[1].state = SWIM_DEAD;
	assert_int_equal(
		plan_run(c->pl, c->st[0], c->now, c->term, c->m, c->nm),
		ERR_STALE);
	assert_int_equal(state_max_term(c->st[0]), 5);
	cluster_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_places_everything),
		cmocka_unit_test(test_death_drain_and_forgotten),
		cmocka_unit_test(test_join_waits_for_moves),
		cmocka_unit_test(test_new_manager_sees_moves_in_flight),
		cmocka_unit_test(test_rejected_moves),
		cmocka_unit_test(test_rolling_update),
		cmocka_unit_test(test_older_term_is_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
