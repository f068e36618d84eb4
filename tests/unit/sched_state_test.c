/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sched_state_test.c — sched/state: the replicated desired state.
 *
 * The central property: merging is commutative and idempotent. Three
 * writers make random, conflicting changes (creates, updates, removals and
 * re-creations of the same names, availability, task reports, slot
 * decisions of several terms, claims, voter records), exchanging some of
 * them as they go; every delta message produced anywhere is collected,
 * then merged into fresh replicas in random orders with duplicates. Every
 * replica must end with the same digest as every other, and merging
 * everything again must change nothing. The seed is printed on failure.
 *
 * Also: local operations and their refusals, fragments of a spec larger
 * than a datagram (in any order, duplicated), the full state for
 * push-pull, tombstones and re-creation, term rules on slots, the bounded
 * list of reports, voter records, the bounded outbox, and that no damaged
 * message ever changes what is stored.
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
#include "core/rng.h"
#include "sched/state.h"

struct msgs {
	struct {
		uint8_t *p;
		size_t n;
	} * v;
	size_t n, cap;
};

static void
msgs_add(struct msgs *m, const uint8_t *p, size_t n)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		assert_non_null(m->v);
	}
	m->v[m->n].p = malloc(n);
	assert_non_null(m->v[m->n].p);
	memcpy(m->v[m->n].p, p, n);
	m->v[m->n++].n = n;
}

static void
msgs_free(struct msgs *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].p);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* Pop every pending delta of st into m; returns how many. */
static size_t
drain(struct state *st, struct msgs *m)
{
	struct buf b;
	size_t k = 0;

	buf_init(&b, 65536);
	while (state_pop_delta(st, &b)) {
		assert_true(b.len <= STATE_DELTA_DEFAULT);
		if (m)
			msgs_add(m, b.data, b.len);
		k++;
	}
	buf_release(&b);
	return k;
}

static struct state *
mk(struct intern *pool, const char *self)
{
	struct state_config cfg = {.self = self};
	int err = 0;
	struct state *st = state_new(&cfg, pool, &err);

	assert_non_null(st);
	return st;
}

static void
spec_for(struct spec *s, const char *name, uint32_t replicas)
{
	const char *argv[] = {"/bin/sleep", "1000"};

	spec_init(s);
	assert_int_equal(spec_set_name(s, name, NULL, 0), 0);
	assert_int_equal(spec_set_args(s, argv, 2, NULL, 0), 0);
	s->replicas = replicas;
}

static void
test_local_ops(void **state)
{
	struct intern pool;
	struct state *st;
	struct spec s;
	char why[SPEC_WHY_MAX];
	const struct state_service *sv;
	uint64_t v1;

	(void)state;
	intern_init(&pool);
	st = mk(&pool, "node-a");
	spec_for(&s, "web", 3);
	assert_int_equal(state_service_create(st, 1000, &s, why, sizeof(why)),
			 0);
	assert_int_equal(state_service_create(st, 1001, &s, why, sizeof(why)),
			 ERR_EXIST);
	assert_string_equal(why, "service \"web\" already exists");
	sv = state_service_find(st, "web");
	assert_true(state_service_live(sv));
	assert_int_equal(sv->version, 1000);
	assert_int_equal(sv->inc, 0);
	assert_string_equal(istr_str(sv->origin), "node-a");
	v1 = sv->version;
	/* Versions move on even when the clock does not. */
	assert_int_equal(
		state_service_scale(st, 1000, "web", 5, why, sizeof(why)), 0);
	sv = state_service_find(st, "web");
	assert_int_equal(sv->spec.replicas, 5);
	assert_true(sv->version > v1);
	/* An update that changes nothing writes nothing. */
	v1 = sv->version;
	s.replicas = 5;
	assert_int_equal(state_service_update(st, 1002, &s, why, sizeof(why)),
			 0);
	assert_int_equal(state_service_find(st, "web")->version, v1);
	/* Refusals say why. */
	s.replicas = 20000;
	assert_int_equal(state_service_update(st, 1003, &s, why, sizeof(why)),
			 ERR_RANGE);
	assert_non_null(strstr(why, "replicas 20000"));
	assert_int_equal(
		state_service_scale(st, 1003, "nope", 1, why, sizeof(why)),
		ERR_NOENT);
	assert_string_equal(why, "no service \"nope\"");
	spec_destroy(&s);
	spec_for(&s, "agent", 0);
	s.mode = SPEC_GLOBAL;
	assert_int_equal(state_service_create(st, 1004, &s, why, sizeof(why)),
			 0);
	assert_int_equal(
		state_service_scale(st, 1005, "agent", 3, why, sizeof(why)),
		ERR_INVAL);
	assert_non_null(strstr(why, "global"));
	/* Remove, then re-create: a new incarnation. */
	assert_int_equal(state_service_remove(st, 1006, "web"), 0);
	assert_int_equal(state_service_remove(st, 1007, "web"), ERR_NOENT);
	sv = state_service_find(st, "web");
	assert_non_null(sv);
	assert_true(sv->removed);
	assert_false(state_service_live(sv));
	spec_destroy(&s);
	spec_for(&s, "web", 2);
	assert_int_equal(state_service_create(st, 1008, &s, why, sizeof(why)),
			 0);
	sv = state_service_find(st, "web");
	assert_true(state_service_live(sv));
	assert_true(sv->inc > 0);
	assert_int_equal(state_service_count(st), 2);
	assert_string_equal(state_service_at(st, 0)->name, "agent");
	/* Availability. */
	assert_int_equal(state_node_avail(st, "node-b"), STATE_ACTIVE);
	assert_int_equal(state_node_set_avail(st, 1009, "node-b", STATE_DRAIN),
			 0);
	assert_int_equal(state_node_avail(st, "node-b"), STATE_DRAIN);
	assert_int_equal(state_node_set_avail(st, 1009, "bad name", 1),
			 ERR_INVAL);
	spec_destroy(&s);
	state_delete(st);
	intern_destroy(&pool);
}

static void
test_delta_and_full(void **state)
{
	struct intern pool;
	struct state *a, *b, *c;
	struct msgs m = {0};
	struct spec s;
	struct buf full;
	const struct state_service *sv;
	struct state_task t = {.service = "web",
			       .slot = 1,
			       .state = TASK_RUNNING,
			       .restarts = 2,
			       .exit_code = -9,
			       .since_ms = 5,
			       .msg = "restarted"};

	(void)state;
	intern_init(&pool);
	a = mk(&pool, "node-a");
	b = mk(&pool, "node-b");
	c = mk(&pool, "node-c");
	spec_for(&s, "web", 3);
	assert_int_equal(state_service_create(a, 10, &s, NULL, 0), 0);
	assert_int_equal(state_slot_set(a, 11, 1, "web", 0, "node-b", 0), 0);
	assert_int_equal(state_slot_set(a, 11, 1, "web", 1, "node-a", 0), 0);
	assert_int_equal(state_task_report(a, 12, &t), 0);
	assert_int_equal(state_node_set_avail(a, 13, "node-c", STATE_PAUSE), 0);
	assert_int_equal(state_set_claim(a, 1, "node-a"), 0);
	assert_true(drain(a, &m) >= 1);
	for (size_t i = 0; i < m.n; i++)
		assert_true(state_merge_delta(b, 20, m.v[i].p, m.v[i].n) > 0);
	assert_int_equal(state_digest(a), state_digest(b));
	sv = state_service_find(b, "web");
	assert_string_equal(state_slot_node(sv, state_slot_find(sv, 0)),
			    "node-b");
	assert_string_equal(
		state_slot_report(sv, state_slot_find(sv, 1), 0)->msg->data,
		"restarted");
	assert_int_equal(
		state_slot_report(sv, state_slot_find(sv, 1), 0)->exit_code,
		-9);
	assert_int_equal(state_node_avail(b, "node-c"), STATE_PAUSE);
	/* b re-broadcasts what was new to it; merging again is a no-op. */
	assert_true(drain(b, NULL) >= 1);
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(state_merge_delta(b, 21, m.v[i].p, m.v[i].n),
				 0);
	assert_int_equal(drain(b, NULL), 0);
	/* Full state to a third node: same digest, nothing re-broadcast. */
	buf_init(&full, 1 << 20);
	assert_int_equal(state_encode_full(a, &full), 0);
	assert_true(state_merge_full(c, 30, full.data, full.len) > 0);
	assert_int_equal(state_digest(a), state_digest(c));
	assert_int_equal(drain(c, NULL), 0);
	assert_true(state_clock(c) >= state_clock(a));
	/* A buffer too small for the full state is left as it was. */
	buf_release(&full);
	buf_init(&full, 40);
	assert_int_equal(buf_append(&full, "xy", 2), 0);
	assert_int_equal(state_encode_full(a, &full), ERR_TOOBIG);
	assert_int_equal(full.len, 2);
	buf_release(&full);
	msgs_free(&m);
	spec_destroy(&s);
	state_delete(a);
	state_delete(b);
	state_delete(c);
	intern_destroy(&pool);
}

static const char *const NAMES[] = {"alpha", "beta", "gamma"};
static const char *const NODES[] = {"node-a", "node-b", "node-c", "node-d"};

/* One random operation by writer w. */
static void
random_op(struct rng *r, struct state *st, const char *self, uint64_t now)
{
	const char *name = NAMES[rng_below(r, 3)];
	const struct state_service *sv = state_service_find(st, name);
	struct spec s;

	switch (rng_below(r, 9)) {
	case 0:
	case 1:
		spec_for(&s, name, (uint32_t)rng_below(r, 8));
		if (rng_below(r, 2))
			spec_add_env(&s, rng_below(r, 2) ? "A=1" : "A=2", NULL,
				     0);
		if (state_service_live(sv))
			state_service_update(st, now, &s, NULL, 0);
		else
			state_service_create(st, now, &s, NULL, 0);
		spec_destroy(&s);
		break;
	case 2:
		state_service_remove(st, now, name);
		break;
	case 3:
		state_node_set_avail(st, now, NODES[rng_below(r, 4)],
				     (enum state_avail)rng_below(r, 3));
		break;
	case 4: {
		struct state_task t = {
			.service = name,
			.slot = (uint32_t)rng_below(r, 4),
			.state = (enum task_state)(1 + rng_below(r, 6)),
			.restarts = (uint32_t)rng_below(r, 3),
			.exit_code = (int32_t)rng_below(r, 3) - 1,
			.gen = rng_below(r, 3),
			.since_ms = now,
			.msg = rng_below(r, 2) ? "boom" : NULL,
		};

		state_task_report(st, now, &t);
		break;
	}
	case 5:
	case 6:
		state_slot_set(st, now, 1 + rng_below(r, 3), name,
			       (uint32_t)rng_below(r, 4),
			       rng_below(r, 5) ? NODES[rng_below(r, 4)] : NULL,
			       rng_below(r, 2));
		break;
	case 7:
		state_set_claim(st, 1 + rng_below(r, 3),
				rng_below(r, 2) ? self
						: NODES[rng_below(r, 4)]);
		break;
	case 8:
		state_voter_set(st, now, NODES[rng_below(r, 4)],
				1 + rng_below(r, 3), rng_below(r, 2), true);
		break;
	}
}

static void
test_merge_commutative_idempotent(void **state)
{
	unsigned long long seed0 = 0x57a7e;
	const char *env = getenv("SHOAL_TEST_SEED");

	(void)state;
	if (env)
		seed0 = strtoull(env, NULL, 0);
	for (unsigned iter = 0; iter < 40; iter++) {
		unsigned long long seed = seed0 + iter;
		struct intern pool;
		struct state *w[3];
		struct msgs all = {0};
		struct rng r;
		uint64_t now = 1000, want = 0;

		rng_seed(&r, seed);
		intern_init(&pool);
		for (int i = 0; i < 3; i++)
			w[i] = mk(&pool, NODES[i]);
		/* Writers work concurrently and sometimes hear each other
		 * (re-broadcasts are collected too). */
		for (int step = 0; step < 120; step++) {
			int i = (int)rng_below(&r, 3);
			size_t before = all.n;

			now += rng_below(&r, 3); /* clocks may stand still */
			random_op(&r, w[i], NODES[i], now);
			drain(w[i], &all);
			if (rng_below(&r, 3) == 0 && before < all.n) {
				int j = (int)rng_below(&r, 3);

				for (size_t k = before; k < all.n; k++)
					state_merge_delta(w[j], now, all.v[k].p,
							  all.v[k].n);
				drain(w[j], &all);
			}
		}
		/* Fresh replicas merge everything in random orders, some
		 * messages twice. */
		for (int rep = 0; rep < 6; rep++) {
			struct state *x = mk(&pool, "node-x");
			size_t n = all.n, *ord = malloc(2 * n * sizeof(*ord));
			size_t m = 0;
			uint64_t d;

			assert_non_null(ord);
			for (size_t k = 0; k < n; k++) {
				ord[m++] = k;
				if (rng_below(&r, 4) == 0)
					ord[m++] = k;
			}
			for (size_t k = m; k > 1; k--) {
				size_t j = rng_below(&r, k), t = ord[k - 1];

				ord[k - 1] = ord[j];
				ord[j] = t;
			}
			for (size_t k = 0; k < m; k++)
				assert_true(state_merge_delta(
						    x, now, all.v[ord[k]].p,
						    all.v[ord[k]].n) >= 0);
			d = state_digest(x);
			if (rep == 0)
				want = d;
			else if (d != want)
				fail_msg("seed %llu: replica %d digest "
					 "%016llx, first %016llx",
					 seed, rep, (unsigned long long)d,
					 (unsigned long long)want);
			/* Idempotent: everything again changes nothing. */
			drain(x, NULL);
			for (size_t k = 0; k < n; k++)
				if (state_merge_delta(x, now, all.v[k].p,
						      all.v[k].n) != 0)
					fail_msg("seed %llu: message %zu "
						 "changed a settled replica",
						 seed, k);
			assert_int_equal(state_digest(x), want);
			assert_int_equal(drain(x, NULL), 0);
			free(ord);
			state_delete(x);
		}
		msgs_free(&all);
		for (int i = 0; i < 3; i++)
			state_delete(w[i]);
		intern_destroy(&pool);
	}
}

static void
test_fragments(void **state)
{
	struct intern pool;
	struct state *a, *b, *c;
	struct msgs m = {0};
	struct spec s;
	struct rng r;
	const struct state_service *sv;

	(void)state;
	intern_init(&pool);
	a = mk(&pool, "node-a");
	b = mk(&pool, "node-b");
	c = mk(&pool, "node-c");
	spec_for(&s, "big", 2);
	for (int i = 0; i < 6; i++) {
		char kv[2048];

		snprintf(kv, sizeof(kv), "VAR%d=", i);
		memset(kv + strlen(kv), 'a' + i, 2000);
		kv[2005] = 0;
		assert_int_equal(spec_add_env(&s, kv, NULL, 0), 0);
	}
	assert_int_equal(state_service_create(a, 100, &s, NULL, 0), 0);
	assert_true(drain(a, &m) >= 10);
	/* Shuffled, every fragment twice, one message damaged. */
	rng_seed(&r, 3);
	for (size_t k = m.n; k > 1; k--) {
		size_t j = rng_below(&r, k);
		uint8_t *tp = m.v[k - 1].p;
		size_t tn = m.v[k - 1].n;

		m.v[k - 1] = m.v[j];
		m.v[j].p = tp;
		m.v[j].n = tn;
	}
	assert_true(state_merge_delta(b, 101, m.v[0].p, m.v[0].n / 2) < 0);
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < m.n; k++)
			assert_true(state_merge_delta(b, 101, m.v[k].p,
						      m.v[k].n) >= 0);
	sv = state_service_find(b, "big");
	assert_true(state_service_live(sv));
	assert_true(spec_equal(&sv->spec, &s));
	assert_int_equal(state_digest(a), state_digest(b));
	assert_true(state_stats(b)->frags_done >= 1);
	/* Only half of the fragments: nothing, and it expires. */
	for (size_t k = 0; k < m.n / 2; k++)
		state_merge_delta(c, 200, m.v[k].p, m.v[k].n);
	assert_null(state_service_find(c, "big"));
	state_tick(c, 200 + STATE_REASM_TIMEOUT_MS);
	assert_int_equal(state_stats(c)->frags_expired, 1);
	msgs_free(&m);
	spec_destroy(&s);
	state_delete(a);
	state_delete(b);
	state_delete(c);
	intern_destroy(&pool);
}

static void
test_damage_changes_nothing(void **state)
{
	struct intern pool;
	struct state *a, *b;
	struct msgs m = {0};
	struct spec s;
	struct buf full;
	struct rng r;
	uint64_t before;
	struct state_task t = {
		.service = "web", .slot = 0, .state = TASK_FAILED, .msg = "x"};

	(void)state;
	intern_init(&pool);
	a = mk(&pool, "node-a");
	b = mk(&pool, "node-b");
	spec_for(&s, "web", 3);
	spec_add_constraint(&s, "node.zone==east", NULL, 0);
	state_service_create(a, 10, &s, NULL, 0);
	state_slot_set(a, 11, 2, "web", 0, "node-a", 0);
	state_task_report(a, 12, &t);
	state_node_set_avail(a, 13, "node-a", STATE_DRAIN);
	state_set_claim(a, 2, "node-a");
	drain(a, &m);
	buf_init(&full, 1 << 20);
	assert_int_equal(state_encode_full(a, &full), 0);
	msgs_add(&m, full.data, full.len);
	buf_release(&full);
	/* b already holds an older world. */
	spec_destroy(&s);
	spec_for(&s, "other", 1);
	state_service_create(b, 5, &s, NULL, 0);
	rng_seed(&r, 11);
	for (size_t k = 0; k < m.n; k++)
		for (int trial = 0; trial < 400; trial++) {
			uint8_t *p = malloc(m.v[k].n);
			size_t n = m.v[k].n;
			int rc;

			memcpy(p, m.v[k].p, n);
			if (trial % 4 == 0)
				n = rng_below(&r, n);
			else
				for (int f = 0; f < 1 + trial % 3; f++)
					p[rng_below(&r, n)] ^=
						(uint8_t)(1 +
							  rng_below(&r, 255));
			before = state_digest(b);
			rc = k + 1 == m.n ? state_merge_full(b, 20, p, n)
					  : state_merge_delta(b, 20, p, n);
			if (rc < 0)
				assert_int_equal(state_digest(b), before);
			free(p);
			/* Start over from the older world. */
			if (rc > 0) {
				state_delete(b);
				b = mk(&pool, "node-b");
				state_service_create(b, 5, &s, NULL, 0);
			}
		}
	assert_true(state_stats(b)->msgs_dropped > 0 ||
		    state_stats(b)->msgs_merged > 0);
	msgs_free(&m);
	spec_destroy(&s);
	state_delete(a);
	state_delete(b);
	intern_destroy(&pool);
}

static void
test_tombstones_and_incarnations(void **state)
{
	struct intern pool;
	struct state *a, *b;
	struct msgs old = {0}, m = {0};
	struct spec s;
	const struct state_service *sv;

	(void)state;
	intern_init(&pool);
	a = mk(&pool, "node-a");
	b = mk(&pool, "node-b");
	spec_for(&s, "web", 2);
	state_service_create(a, 100, &s, NULL, 0);
	state_slot_set(a, 101, 1, "web", 0, "node-a", 0);
	state_slot_set(a, 101, 1, "web", 1, "node-b", 0);
	drain(a, &old);
	state_service_remove(a, 200, "web");
	state_service_create(a, 300, &s, NULL, 0);
	state_slot_set(a, 301, 1, "web", 0, "node-c", 0);
	drain(a, &m);
	/* b hears the new incarnation first, then the old slot records. */
	for (size_t k = 0; k < m.n; k++)
		state_merge_delta(b, 400, m.v[k].p, m.v[k].n);
	for (size_t k = 0; k < old.n; k++)
		state_merge_delta(b, 400, old.v[k].p, old.v[k].n);
	sv = state_service_find(b, "web");
	assert_true(state_service_live(sv));
	assert_string_equal(state_slot_node(sv, state_slot_find(sv, 0)),
			    "node-c");
	/* Slot 1 belongs to the old incarnation: not visible. */
	assert_null(state_slot_node(sv, state_slot_find(sv, 1)));
	assert_int_equal(state_digest(a), state_digest(b));
	/* Tombstones are reaped after the TTL, not before. */
	state_service_remove(b, 500, "web");
	state_tick(b, 500 + STATE_TOMBSTONE_TTL_DEFAULT_MS - 1);
	assert_non_null(state_service_find(b, "web"));
	state_tick(b, 500 + STATE_TOMBSTONE_TTL_DEFAULT_MS);
	assert_null(state_service_find(b, "web"));
	assert_int_equal(state_stats(b)->reaped, 1);
	msgs_free(&old);
	msgs_free(&m);
	spec_destroy(&s);
	state_delete(a);
	state_delete(b);
	intern_destroy(&pool);
}

static void
test_slot_terms(void **state)
{
	struct intern pool;
	struct state *a, *b;
	struct msgs t1 = {0}, t2 = {0};
	struct spec s;
	const struct state_service *sv;

	(void)state;
	intern_init(&pool);
	a = mk(&pool, "node-a");
	b = mk(&pool, "node-b");
	spec_for(&s, "web", 2);
	state_service_create(a, 100, &s, NULL, 0);
	drain(a, NULL);
	/* A deposed manager (term 1) decides after the new one (term 2). */
	assert_int_equal(state_slot_set(a, 200, 2, "web", 0, "node-b", 0), 0);
	drain(a, &t2);
	assert_int_equal(state_slot_set(a, 300, 1, "web", 0, "node-c", 0),
			 ERR_STALE);
	assert_int_equal(state_max_term(a), 2);
	assert_int_equal(state_slot_set(b, 50, 1, "web", 0, "node-x", 0),
			 ERR_NOENT); /* b has no such service */
	/* The same, across replicas: the term 1 record arrives later with a
	 * higher version and loses. */
	{
		struct state *c = mk(&pool, "node-c");
		struct buf full;

		buf_init(&full, 1 << 16);
		state_encode_full(a, &full);
		state_merge_full(c, 500, full.data, full.len);
		/* c, still the old manager, writes term 1 at a later time. */
		assert_int_equal(
			state_slot_set(c, 900, 1, "web", 1, "node-c", 0), 0);
		assert_int_equal(
			state_slot_set(c, 900, 1, "web", 0, "node-c", 0),
			ERR_STALE);
		drain(c, &t1);
		for (size_t k = 0; k < t1.n; k++)
			state_merge_delta(a, 1000, t1.v[k].p, t1.v[k].n);
		sv = state_service_find(a, "web");
		assert_string_equal(state_slot_node(sv, state_slot_find(sv, 0)),
				    "node-b");
		assert_string_equal(state_slot_node(sv, state_slot_find(sv, 1)),
				    "node-c");
		buf_release(&full);
		state_delete(c);
	}
	msgs_free(&t1);
	msgs_free(&t2);
	spec_destroy(&s);
	state_delete(a);
	state_delete(b);
	intern_destroy(&pool);
}

static void
test_reports_bounded(void **state)
{
	struct intern pool;
	struct state *w[3], *x;
	struct msgs m = {0};
	struct spec s;
	const struct state_service *sv;
	const struct state_slot *sl;

	(void)state;
	intern_init(&pool);
	x = mk(&pool, "node-x");
	spec_for(&s, "web", 1);
	for (int i = 0; i < 3; i++)
		w[i] = mk(&pool, NODES[i]);
	state_service_create(w[0], 10, &s, NULL, 0);
	drain(w[0], &m);
	for (int i = 1; i < 3; i++)
		for (size_t k = 0; k < m.n; k++)
			state_merge_delta(w[i], 11, m.v[k].p, m.v[k].n);
	/* Three nodes report slot 0 in turn (it moved twice). */
	for (int i = 0; i < 3; i++) {
		struct state_task t = {
			.service = "web", .slot = 0, .state = TASK_RUNNING};

		assert_int_equal(state_task_report(w[i], 100 + (uint64_t)i, &t),
				 0);
		drain(w[i], &m);
	}
	for (size_t k = m.n; k-- > 0;)
		state_merge_delta(x, 200, m.v[k].p, m.v[k].n);
	sv = state_service_find(x, "web");
	sl = state_slot_find(sv, 0);
	assert_non_null(sl);
	assert_string_equal(istr_str(state_slot_report(sv, sl, 0)->node),
			    "node-c");
	assert_string_equal(istr_str(state_slot_report(sv, sl, 1)->node),
			    "node-b");
	assert_null(state_slot_report(sv, sl, 2));
	/* A reaped member's reports go. */
	state_forget_node(x, "node-c");
	assert_string_equal(istr_str(state_slot_report(sv, sl, 0)->node),
			    "node-b");
	msgs_free(&m);
	spec_destroy(&s);
	for (int i = 0; i < 3; i++)
		state_delete(w[i]);
	state_delete(x);
	intern_destroy(&pool);
}

/* Three reporters of one slot (more than it keeps): node-b started it
 * then shut it down, node-a shut it down, node-c runs it. Observers that
 * receive every report in different orders, with old ones delivered again
 * after newer ones (as gossip does), hold the same reports, and a second
 * delivery of everything changes nothing: no report can come back as
 * news and evict another (the cycle that made a gossip storm). */
static void
test_reports_converge(void **state)
{
	struct intern pool;
	struct state *w[3], *x[3];
	struct msgs m = {0};
	struct spec s;

	(void)state;
	intern_init(&pool);
	spec_for(&s, "web", 1);
	for (int i = 0; i < 3; i++) {
		w[i] = mk(&pool, NODES[i]);
		x[i] = mk(&pool, NODES[3]);
	}
	state_service_create(w[0], 10, &s, NULL, 0);
	drain(w[0], &m);
	for (int i = 1; i < 3; i++)
		for (size_t k = 0; k < m.n; k++)
			state_merge_delta(w[i], 11, m.v[k].p, m.v[k].n);
	msgs_free(&m);
	{
		struct state_task run = {
			.service = "web", .slot = 0, .state = TASK_RUNNING};
		struct state_task starting = {
			.service = "web", .slot = 0, .state = TASK_STARTING};
		struct state_task stop = {
			.service = "web", .slot = 0, .state = TASK_SHUTDOWN};

		assert_int_equal(state_task_report(w[2], 100, &run), 0);
		drain(w[2], &m);
		assert_int_equal(state_task_report(w[1], 101, &starting), 0);
		drain(w[1], &m);
		assert_int_equal(state_task_report(w[1], 111, &stop), 0);
		drain(w[1], &m);
		assert_int_equal(state_task_report(w[0], 112, &stop), 0);
		drain(w[0], &m);
	}
	/* Forward, backward, and interleaved with repeats. */
	for (size_t k = 0; k < m.n; k++)
		state_merge_delta(x[0], 200, m.v[k].p, m.v[k].n);
	for (size_t k = m.n; k-- > 0;)
		state_merge_delta(x[1], 200, m.v[k].p, m.v[k].n);
	for (size_t r = 0; r < 3; r++)
		for (size_t k = r % m.n; k < m.n; k += 2)
			state_merge_delta(x[2], 200, m.v[k].p, m.v[k].n);
	for (size_t k = 0; k < m.n; k++)
		state_merge_delta(x[2], 200, m.v[k].p, m.v[k].n);
	for (int o = 0; o < 3; o++) {
		assert_int_equal(state_digest(x[o]), state_digest(x[0]));
		drain(x[o], NULL); /* what was news the first time */
		/* Everything again: no news, nothing to re-gossip. */
		for (size_t k = 0; k < m.n; k++)
			assert_int_equal(
				state_merge_delta(x[o], 300, m.v[k].p, m.v[k].n),
				0);
		assert_int_equal(drain(x[o], NULL), 0);
	}
	msgs_free(&m);
	spec_destroy(&s);
	for (int i = 0; i < 3; i++) {
		state_delete(w[i]);
		state_delete(x[i]);
	}
	intern_destroy(&pool);
}

/* Voter records: a later incarnation wins, and within one a leave wins
 * over a failure; what a node derives itself is not gossiped but travels
 * in the full state; "not a voter" records are reaped, voters never. */
static void
test_voters(void **state)
{
	struct intern pool;
	struct state *a, *b, *c;
	struct msgs m = {0};
	struct buf full;
	const struct state_voter *v;

	(void)state;
	intern_init(&pool);
	a = mk(&pool, "node-a");
	b = mk(&pool, "node-b");
	c = mk(&pool, "node-c");
	assert_int_equal(state_voter_set(a, 10, "node-x", 5, true, false), 1);
	assert_int_equal(state_voter_set(a, 11, "node-x", 5, true, false), 0);
	assert_int_equal(state_voter_set(a, 11, "node-x", 4, false, false), 0);
	assert_int_equal(drain(a, NULL), 0); /* derived: no delta */
	assert_int_equal(state_voter_set(a, 12, "node-y", 2, true, false), 1);
	assert_int_equal(state_voter_set(a, 12, "bad name", 2, true, false),
			 ERR_INVAL);
	/* A force-leave of node-x, made on b and gossiped, wins on a. */
	assert_int_equal(state_voter_set(b, 13, "node-x", 5, false, true), 1);
	assert_true(drain(b, &m) >= 1);
	for (size_t i = 0; i < m.n; i++)
		assert_int_equal(state_merge_delta(a, 14, m.v[i].p, m.v[i].n),
				 STATE_CH_VOTER);
	v = state_voter_find(a, "node-x");
	assert_non_null(v);
	assert_false(v->voter);
	assert_int_equal(v->inc, 5);
	assert_int_equal(state_voter_set(a, 15, "node-x", 5, true, false), 0);
	/* A later life that fails again is a voter again. */
	assert_int_equal(state_voter_set(a, 16, "node-x", 6, true, false), 1);
	assert_true(state_voter_find(a, "node-x")->voter);
	/* The full state carries them to a node that saw nothing. */
	buf_init(&full, 1 << 20);
	assert_int_equal(state_encode_full(a, &full), 0);
	assert_true(state_merge_full(c, 20, full.data, full.len) &
		    STATE_CH_VOTER);
	assert_int_equal(state_voter_count(c), 2);
	assert_string_equal(istr_str(state_voter_at(c, 0)->node), "node-x");
	assert_int_equal(state_voter_at(c, 0)->inc, 6);
	assert_int_equal(state_digest(c), state_digest(a));
	buf_release(&full);
	/* Reaping: "not a voter" records after the tombstone TTL, voters
	 * never. */
	assert_int_equal(state_voter_set(c, 30, "node-y", 2, false, false), 1);
	state_tick(c, 30 + STATE_TOMBSTONE_TTL_DEFAULT_MS - 1);
	assert_int_equal(state_voter_count(c), 2);
	state_tick(c, 30 + STATE_TOMBSTONE_TTL_DEFAULT_MS);
	assert_int_equal(state_voter_count(c), 1);
	assert_null(state_voter_find(c, "node-y"));
	state_tick(c, 30 + 10 * STATE_TOMBSTONE_TTL_DEFAULT_MS);
	assert_non_null(state_voter_find(c, "node-x"));
	msgs_free(&m);
	state_delete(a);
	state_delete(b);
	state_delete(c);
	intern_destroy(&pool);
}

static void
test_claims_and_bounds(void **state)
{
	struct intern pool;
	struct state *a;
	struct state_config cfg = {.self = "node-a", .outbox_max = 4096};
	char name[SWIM_NAME_MAX + 1];
	int err = 0;

	(void)state;
	intern_init(&pool);
	assert_null(state_new(&(struct state_config){.self = "bad name"}, &pool,
			      &err));
	assert_int_equal(err, ERR_INVAL);
	assert_null(
		state_new(&(struct state_config){.self = "n", .delta_max = 100},
			  &pool, &err));
	a = state_new(&cfg, &pool, &err);
	assert_non_null(a);
	assert_int_equal(state_claim(a, name), 0);
	assert_int_equal(state_set_claim(a, 2, "node-b"), 0);
	assert_int_equal(state_set_claim(a, 1, "node-a"), ERR_STALE);
	assert_int_equal(state_claim(a, name), 2);
	assert_string_equal(name, "node-b");
	/* The outbox keeps at most outbox_max bytes: the oldest go. */
	for (int i = 0; i < 400; i++) {
		char node[16];

		snprintf(node, sizeof(node), "n%d", i);
		state_node_set_avail(a, 10, node, STATE_PAUSE);
	}
	assert_true(state_outbox_bytes(a) <= 4096 + STATE_DELTA_DEFAULT);
	assert_true(state_stats(a)->deltas_dropped > 0);
	assert_true(state_memory(a) > 0);
	state_delete(a);
	intern_destroy(&pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_ops),
		cmocka_unit_test(test_delta_and_full),
		cmocka_unit_test(test_merge_commutative_idempotent),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_damage_changes_nothing),
		cmocka_unit_test(test_tombstones_and_incarnations),
		cmocka_unit_test(test_slot_terms),
		cmocka_unit_test(test_reports_bounded),
		cmocka_unit_test(test_reports_converge),
		cmocka_unit_test(test_voters),
		cmocka_unit_test(test_claims_and_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
