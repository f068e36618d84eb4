/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sched_elect_test.c — sched/elect: manager election.
 *
 * A small harness runs N elect machines. The "network" is a set of
 * partition groups: a node sees the members of its own group alive, the
 * others failed, and left members left. Claims a node publishes reach
 * every node of its group; after every step each pair in a group also
 * exchanges accepted claims (what push-pull does). A step ends when
 * nothing changes any more.
 *
 * Held: one manager per connected view with a quorum and none without;
 * the best-ranked live eligible node claims; no pre-emption; higher term
 * wins, a tie goes to rank; the manager steps down when cut off and the
 * majority's term wins after a heal; force-leave shrinks the voting set;
 * voters absent from the view still count; the status line names the
 * missing majority. A randomized run (seed
 * printed on failure) checks the first two over random partitions,
 * crashes, restarts and force-leaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/rng.h"
#include "sched/elect.h"

#define N 9
/* Five rounds of the harness: time for claims to spread first. */
#define CLAIM_DELAY 50

struct cluster {
	int n;
	char names[N][16];
	bool eligible[N];
	bool left[N];	 /* left or force-left */
	bool crashed[N]; /* not running */
	bool suspect[N]; /* seen suspect, not failed, where unreachable */
	/* Voters the membership forgot (absent from every view). */
	char absent[N][16];
	int nabsent;
	int group[N];
	struct elect e[N];
	uint64_t now;
};

struct viewctx {
	struct cluster *c;
	int self;
};

static enum swim_state
seen_as(const struct cluster *c, int self, int j)
{
	if (c->left[j])
		return SWIM_LEFT;
	if (j == self)
		return SWIM_ALIVE;
	if (c->crashed[j] || c->group[j] != c->group[self])
		return c->suspect[j] ? SWIM_SUSPECT : SWIM_DEAD;
	return SWIM_ALIVE;
}

static bool
v_at(void *ctx, size_t i, struct elect_member *out)
{
	struct viewctx *v = ctx;

	if (i >= (size_t)v->c->n)
		return false;
	out->name = v->c->names[i];
	out->state = seen_as(v->c, v->self, (int)i);
	out->eligible = v->c->eligible[i];
	return true;
}

static bool
v_find(void *ctx, const char *name, struct elect_member *out)
{
	struct viewctx *v = ctx;

	for (size_t i = 0; i < (size_t)v->c->n; i++)
		if (!strcmp(v->c->names[i], name))
			return v_at(ctx, i, out);
	return false;
}

static bool
v_absent(void *ctx, size_t i, const char **name)
{
	struct viewctx *v = ctx;

	if (i >= (size_t)v->c->nabsent)
		return false;
	*name = v->c->absent[i];
	return true;
}

static struct elect_view
view_of(struct viewctx *vc, struct cluster *c, int self)
{
	struct elect_view v = {vc, NULL, v_find, v_at, v_absent};

	vc->c = c;
	vc->self = self;
	return v;
}

static void
cluster_init(struct cluster *c, int n)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	for (int i = 0; i < n; i++) {
		snprintf(c->names[i], sizeof(c->names[i]), "node-%c", 'a' + i);
		c->eligible[i] = true;
		elect_init(&c->e[i], c->names[i], true, CLAIM_DELAY);
	}
	c->now = 1000;
}

static bool
running(const struct cluster *c, int i)
{
	return !c->crashed[i] && !c->left[i];
}

/* Run until quiet (and no claim delay is running). */
static void
settle(struct cluster *c)
{
	for (int round = 0; round < 1000; round++) {
		bool changed = false;

		c->now += 10;
		for (int i = 0; i < c->n; i++) {
			struct viewctx vc;
			struct elect_view v = view_of(&vc, c, i);
			uint64_t term;

			if (!running(c, i))
				continue;
			elect_update(&c->e[i], &v, c->now);
			if (!elect_pop_claim(&c->e[i], &term))
				continue;
			changed = true;
			for (int j = 0; j < c->n; j++) {
				struct viewctx vj;
				struct elect_view w = view_of(&vj, c, j);

				if (j != i && running(c, j) &&
				    c->group[j] == c->group[i])
					elect_recv_claim(&c->e[j], &w, c->now,
							 term, c->names[i]);
			}
		}
		/* Anti-entropy within each group. */
		for (int i = 0; i < c->n; i++)
			for (int j = 0; j < c->n; j++) {
				struct viewctx vj;
				struct elect_view w = view_of(&vj, c, j);

				if (i == j || !running(c, i) ||
				    !running(c, j) ||
				    c->group[i] != c->group[j] || !c->e[i].term)
					continue;
				if (elect_recv_claim(&c->e[j], &w, c->now,
						     c->e[i].term,
						     c->e[i].claimant))
					changed = true;
			}
		for (int i = 0; i < c->n; i++)
			if (running(c, i) &&
			    elect_next_deadline(&c->e[i]) != UINT64_MAX)
				changed = true;
		if (!changed)
			return;
	}
	fail_msg("election did not settle");
}

/* Index of the best-ranked running eligible node of a group, or -1. */
static int
best_of(const struct cluster *c, int group)
{
	int best = -1;

	for (int i = 0; i < c->n; i++)
		if (running(c, i) && c->eligible[i] && c->group[i] == group &&
		    (best < 0 ||
		     elect_rank_better(c->names[i], c->names[best])))
			best = i;
	return best;
}

/* Voters: eligible, not left. */
static int
voters(const struct cluster *c)
{
	int v = 0;

	for (int i = 0; i < c->n; i++)
		v += c->eligible[i] && !c->left[i];
	return v;
}

/* In each group: a quorum gives exactly one leader that every member
 * follows; no quorum gives none. Returns the leader of `group` or -1. */
static int
check(const struct cluster *c, int group, unsigned long long seed)
{
	int leader = -1, seen = 0;

	for (int i = 0; i < c->n; i++)
		seen += running(c, i) && c->eligible[i] && c->group[i] == group;
	for (int i = 0; i < c->n; i++) {
		if (!running(c, i) || c->group[i] != group)
			continue;
		if (elect_is_manager(&c->e[i])) {
			if (leader >= 0)
				fail_msg("seed %llu: two managers in group "
					 "%d: %s and %s",
					 seed, group, c->names[leader],
					 c->names[i]);
			leader = i;
		}
	}
	if (2 * seen > voters(c)) {
		if (leader < 0)
			fail_msg("seed %llu: group %d has a quorum (%d of %d) "
				 "but no manager",
				 seed, group, seen, voters(c));
		for (int i = 0; i < c->n; i++)
			if (running(c, i) && c->group[i] == group &&
			    (!elect_manager(&c->e[i]) ||
			     strcmp(elect_manager(&c->e[i]), c->names[leader])))
				fail_msg("seed %llu: %s does not follow %s",
					 seed, c->names[i], c->names[leader]);
	} else if (leader >= 0) {
		fail_msg("seed %llu: minority group %d (%d of %d) has manager "
			 "%s",
			 seed, group, seen, voters(c), c->names[leader]);
	}
	return leader;
}

static void
test_rank_and_claims(void **state)
{
	(void)state;
	assert_int_equal(elect_rank("web-1"), elect_rank("web-1"));
	assert_int_not_equal(elect_rank("web-1"), elect_rank("web-2"));
	assert_true(elect_rank_better("web-1", "web-2") !=
		    elect_rank_better("web-2", "web-1"));
	assert_false(elect_rank_better("web-1", "web-1"));
	/* Higher term wins whatever the rank; a tie goes to rank. */
	assert_true(elect_claim_beats(3, "x", 2, "y"));
	assert_false(elect_claim_beats(2, "x", 3, "y"));
	assert_true(elect_claim_beats(2, "web-1", 2, "web-2") ==
		    elect_rank_better("web-1", "web-2"));
	assert_true(elect_claim_beats(1, "a", 0, ""));
	assert_false(elect_claim_beats(1, "", 1, "a"));
}

static void
test_one_manager(void **state)
{
	struct cluster c;
	struct viewctx vc;
	struct elect_view v;
	char text[ELECT_STATUS_MAX];
	int best, leader;

	(void)state;
	cluster_init(&c, 5);
	settle(&c);
	best = best_of(&c, 0);
	leader = check(&c, 0, 0);
	assert_int_equal(leader, best);
	assert_int_equal(elect_term(&c.e[0]), 1);
	v = view_of(&vc, &c, (best + 1) % 5);
	elect_status_text(&c.e[(best + 1) % 5], &v, text, sizeof(text));
	assert_non_null(strstr(text, "manager node-"));
	assert_non_null(strstr(text, "(term 1)"));
	v = view_of(&vc, &c, best);
	elect_status_text(&c.e[best], &v, text, sizeof(text));
	assert_non_null(strstr(text, "this node"));
}

static void
test_no_preemption(void **state)
{
	struct cluster c;
	int leader, late = -1;

	(void)state;
	cluster_init(&c, 6);
	/* Find a node that would rank first, and start without it. */
	late = best_of(&c, 0);
	c.crashed[late] = true;
	settle(&c);
	leader = check(&c, 0, 0);
	assert_int_not_equal(leader, late);
	/* It comes up: the manager stays. */
	c.crashed[late] = false;
	elect_init(&c.e[late], c.names[late], true, CLAIM_DELAY);
	settle(&c);
	assert_int_equal(check(&c, 0, 0), leader);
	assert_int_equal(elect_term(&c.e[late]), 1);
}

static void
test_manager_death(void **state)
{
	struct cluster c;
	int first, second;

	(void)state;
	cluster_init(&c, 5);
	settle(&c);
	first = check(&c, 0, 0);
	c.crashed[first] = true;
	settle(&c);
	second = check(&c, 0, 0);
	assert_int_not_equal(second, first);
	assert_int_equal(second, best_of(&c, 0));
	assert_int_equal(elect_term(&c.e[second]), 2);
}

static void
test_minority_has_no_manager(void **state)
{
	struct cluster c;
	struct viewctx vc;
	struct elect_view v;
	char text[ELECT_STATUS_MAX];
	int m, minority_member = -1;

	(void)state;
	cluster_init(&c, 5);
	settle(&c);
	m = check(&c, 0, 0);
	/* Cut the manager and one other off: {m, x} | the other three. */
	c.group[m] = 1;
	for (int i = 0; i < 5; i++)
		if (i != m) {
			c.group[i] = 1;
			minority_member = i;
			break;
		}
	settle(&c);
	assert_int_equal(check(&c, 1, 0), -1); /* stepped down */
	assert_false(elect_is_manager(&c.e[m]));
	assert_true(check(&c, 0, 0) >= 0);
	assert_int_equal(elect_term(&c.e[check(&c, 0, 0)]), 2);
	v = view_of(&vc, &c, minority_member);
	elect_status_text(&c.e[minority_member], &v, text, sizeof(text));
	assert_non_null(strstr(text, "no manager: no quorum: sees 2 of 5 "
				     "eligible (needs 3); unreachable: "));
	/* The three it cannot reach are named. */
	for (int i = 0; i < 5; i++)
		if (c.group[i] == 0)
			assert_non_null(strstr(text, c.names[i]));
	v = view_of(&vc, &c, m);
	elect_status_text(&c.e[m], &v, text, sizeof(text));
	assert_non_null(strstr(text, "stepped down"));
}

/* Early in a partition the far side is suspect, not yet failed: the
 * quorum does not count suspects, and the status line names them. */
static void
test_status_names_suspects(void **state)
{
	struct cluster c;
	struct viewctx vc;
	struct elect_view v;
	char text[ELECT_STATUS_MAX];
	int self = -1;

	(void)state;
	cluster_init(&c, 5);
	settle(&c);
	/* {0, 1} | {2, 3, 4}; 2 and 3 are suspect, 4 failed. */
	for (int i = 0; i < 5; i++)
		c.group[i] = i < 2 ? 1 : 0;
	c.suspect[2] = c.suspect[3] = true;
	settle(&c);
	self = 0;
	v = view_of(&vc, &c, self);
	elect_status_text(&c.e[self], &v, text, sizeof(text));
	assert_non_null(strstr(text, "no quorum: sees 2 of 5 eligible "
				     "(needs 3); unreachable: "));
	assert_non_null(strstr(text, "node-c (suspect)"));
	assert_non_null(strstr(text, "node-d (suspect)"));
	assert_non_null(strstr(text, "node-e"));
	assert_null(strstr(text, "node-e (suspect)"));
	assert_null(strstr(text, "node-b"));
}

/* Voters the membership forgot count toward the voting set and are
 * named; once they are gone from it (force-left), the rest decide. */
static void
test_absent_voters(void **state)
{
	struct cluster c;
	struct viewctx vc;
	struct elect_view v;
	char text[ELECT_STATUS_MAX];

	(void)state;
	cluster_init(&c, 2);
	snprintf(c.absent[0], sizeof(c.absent[0]), "node-x");
	snprintf(c.absent[1], sizeof(c.absent[1]), "node-y");
	c.nabsent = 2;
	settle(&c);
	for (int i = 0; i < 2; i++) {
		assert_false(elect_is_manager(&c.e[i]));
		assert_null(elect_manager(&c.e[i]));
		assert_int_equal(c.e[i].voters, 4);
	}
	v = view_of(&vc, &c, 0);
	elect_status_text(&c.e[0], &v, text, sizeof(text));
	assert_non_null(strstr(text, "sees 2 of 4 eligible (needs 3); "
				     "unreachable: node-x, node-y"));
	c.nabsent = 1;
	settle(&c);
	assert_int_equal(c.e[0].voters, 3);
	assert_true(elect_is_manager(&c.e[0]) || elect_is_manager(&c.e[1]));
}

static void
test_heal_leaves_one(void **state)
{
	struct cluster c;
	int old, now;

	(void)state;
	cluster_init(&c, 7);
	settle(&c);
	old = check(&c, 0, 0);
	for (int i = 0; i < 7; i++)
		c.group[i] = i == old || i % 2 ? 1 : 0;
	settle(&c);
	check(&c, 0, 0);
	check(&c, 1, 0);
	for (int i = 0; i < 7; i++)
		c.group[i] = 0;
	settle(&c);
	now = check(&c, 0, 0);
	assert_true(now >= 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(elect_term(&c.e[i]), elect_term(&c.e[now]));
}

static void
test_tie_goes_to_rank(void **state)
{
	struct cluster c;
	struct viewctx vc;
	struct elect_view v;

	(void)state;
	cluster_init(&c, 3);
	v = view_of(&vc, &c, 0);
	/* Two claims of one term, in both orders: the better rank wins. */
	elect_recv_claim(&c.e[0], &v, 1, 4, "node-b");
	elect_recv_claim(&c.e[0], &v, 1, 4, "node-c");
	v = view_of(&vc, &c, 1);
	elect_recv_claim(&c.e[1], &v, 1, 4, "node-c");
	elect_recv_claim(&c.e[1], &v, 1, 4, "node-b");
	assert_string_equal(c.e[0].claimant, c.e[1].claimant);
	assert_string_equal(c.e[0].claimant,
			    elect_rank_better("node-b", "node-c") ? "node-b"
								  : "node-c");
	/* An older term is ignored. */
	assert_false(elect_recv_claim(&c.e[0], &v, 1, 3, "node-a"));
	assert_int_equal(c.e[0].term, 4);
	/* Nonsense is ignored. */
	assert_false(elect_recv_claim(&c.e[0], &v, 1, 9, "bad name"));
	assert_false(elect_recv_claim(&c.e[0], &v, 1, 0, "node-a"));
}

static void
test_force_leave_shrinks_voters(void **state)
{
	struct cluster c;
	struct viewctx vc;
	struct elect_view v;
	char text[ELECT_STATUS_MAX];
	int m, alive[2], k = 0;

	(void)state;
	cluster_init(&c, 5);
	settle(&c);
	m = check(&c, 0, 0);
	/* Three nodes, the manager among them, crash: 2 of 5 is no quorum. */
	c.crashed[m] = true;
	for (int i = 0, crashed = 1; i < 5 && crashed < 3; i++)
		if (i != m) {
			c.crashed[i] = true;
			crashed++;
		}
	for (int i = 0; i < 5; i++)
		if (!c.crashed[i])
			alive[k++] = i;
	settle(&c);
	assert_int_equal(check(&c, 0, 0), -1);
	v = view_of(&vc, &c, alive[0]);
	elect_status_text(&c.e[alive[0]], &v, text, sizeof(text));
	assert_non_null(strstr(text, "sees 2 of 5 eligible (needs 3)"));
	/* Force two of them out: 2 of 3 is a quorum. */
	for (int i = 0, n = 0; i < 5 && n < 2; i++)
		if (c.crashed[i]) {
			c.left[i] = true;
			n++;
		}
	settle(&c);
	assert_true(check(&c, 0, 0) >= 0);
}

/* A node joining a cluster and alone in its view is held: it would be its
 * own quorum. It claims nothing, its next deadline is not a busy loop,
 * its status says why, and once the hold lifts it claims as usual. */
static void
test_hold_while_joining(void **state)
{
	struct cluster c;
	struct viewctx vc;
	struct elect_view v;
	char text[ELECT_STATUS_MAX];
	uint64_t term;

	(void)state;
	cluster_init(&c, 1);
	elect_set_hold(&c.e[0], true, c.now);
	v = view_of(&vc, &c, 0);
	for (int i = 0; i < 20; i++) {
		c.now += CLAIM_DELAY;
		elect_update(&c.e[0], &v, c.now);
	}
	assert_false(elect_is_manager(&c.e[0]));
	assert_false(elect_pop_claim(&c.e[0], &term));
	assert_int_equal(elect_term(&c.e[0]), 0);
	assert_true(elect_next_deadline(&c.e[0]) == UINT64_MAX);
	elect_status_text(&c.e[0], &v, text, sizeof(text));
	assert_non_null(strstr(text, "joining"));

	/* The join gave up or a seed answered: the hold lifts, and the
	 * claim delay starts again (the cluster's claim may be on its way). */
	elect_set_hold(&c.e[0], false, c.now);
	elect_update(&c.e[0], &v, c.now);
	assert_false(elect_is_manager(&c.e[0]));
	assert_true(elect_next_deadline(&c.e[0]) == c.now + CLAIM_DELAY);
	c.now += CLAIM_DELAY;
	elect_update(&c.e[0], &v, c.now);
	assert_true(elect_is_manager(&c.e[0]));
	assert_true(elect_pop_claim(&c.e[0], &term));
	assert_int_equal(term, 1);
}

static void
test_not_eligible(void **state)
{
	struct cluster c;
	struct viewctx vc;
	struct elect_view v;
	char text[ELECT_STATUS_MAX];

	(void)state;
	cluster_init(&c, 4);
	for (int i = 0; i < 4; i++) {
		c.eligible[i] = i == 2;
		elect_set_eligible(&c.e[i], i == 2);
	}
	settle(&c);
	assert_int_equal(check(&c, 0, 0), 2);
	for (int i = 0; i < 4; i++) {
		c.eligible[i] = false;
		elect_set_eligible(&c.e[i], false);
	}
	settle(&c);
	assert_int_equal(check(&c, 0, 0), -1);
	v = view_of(&vc, &c, 0);
	elect_status_text(&c.e[0], &v, text, sizeof(text));
	assert_string_equal(text, "no manager: no eligible members");
}

static void
test_observed_term(void **state)
{
	struct cluster c;
	struct viewctx vc;
	struct elect_view v;
	struct elect_event ev;
	int m;
	uint64_t term;

	(void)state;
	cluster_init(&c, 3);
	settle(&c);
	m = check(&c, 0, 0);
	while (elect_pop_event(&c.e[m], &ev))
		;
	/* A decision of term 7 exists: the manager's claim no longer
	 * counts; after the claim delay (no term-7 claim came) it claims
	 * above it. */
	v = view_of(&vc, &c, m);
	elect_observe_term(&c.e[m], &v, c.now, 7);
	assert_false(elect_is_manager(&c.e[m]));
	assert_false(elect_pop_claim(&c.e[m], &term));
	assert_int_equal(elect_next_deadline(&c.e[m]), c.now + CLAIM_DELAY);
	elect_update(&c.e[m], &v, c.now + CLAIM_DELAY);
	assert_true(elect_pop_claim(&c.e[m], &term));
	assert_int_equal(term, 8);
	assert_true(elect_is_manager(&c.e[m]));
	while (elect_pop_event(&c.e[m], &ev) && !ev.leading)
		;
	assert_int_equal(ev.term, 8);
	assert_true(ev.leading);
	settle(&c);
	assert_int_equal(check(&c, 0, 0), m);
}

static void
test_randomized(void **state)
{
	unsigned long long seed0 = 0xe1ec7;
	const char *env = getenv("SHOAL_TEST_SEED");

	(void)state;
	if (env)
		seed0 = strtoull(env, NULL, 0);
	for (unsigned iter = 0; iter < 300; iter++) {
		unsigned long long seed = seed0 + iter;
		struct cluster c;
		struct rng r;
		int n;

		rng_seed(&r, seed);
		n = 1 + (int)rng_below(&r, N);
		cluster_init(&c, n);
		for (int i = 0; i < n; i++) {
			c.eligible[i] = rng_below(&r, 4) != 0;
			elect_set_eligible(&c.e[i], c.eligible[i]);
		}
		for (int step = 0; step < 12; step++) {
			int k = (int)rng_below(&r, n);

			switch (rng_below(&r, 5)) {
			case 0: /* partition */
				for (int i = 0; i < n; i++)
					c.group[i] = (int)rng_below(&r, 3);
				break;
			case 1: /* heal */
				for (int i = 0; i < n; i++)
					c.group[i] = 0;
				break;
			case 2: /* crash */
				c.crashed[k] = true;
				break;
			case 3: /* restart with an empty memory */
				if (c.crashed[k] && !c.left[k]) {
					c.crashed[k] = false;
					elect_init(&c.e[k], c.names[k],
						   c.eligible[k], CLAIM_DELAY);
				}
				break;
			case 4: /* force-leave a crashed node */
				if (c.crashed[k])
					c.left[k] = true;
				break;
			}
			settle(&c);
			for (int g = 0; g < 3; g++)
				check(&c, g, seed);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rank_and_claims),
		cmocka_unit_test(test_one_manager),
		cmocka_unit_test(test_no_preemption),
		cmocka_unit_test(test_manager_death),
		cmocka_unit_test(test_minority_has_no_manager),
		cmocka_unit_test(test_status_names_suspects),
		cmocka_unit_test(test_absent_voters),
		cmocka_unit_test(test_heal_leaves_one),
		cmocka_unit_test(test_tie_goes_to_rank),
		cmocka_unit_test(test_force_leave_shrinks_voters),
		cmocka_unit_test(test_hold_while_joining),
		cmocka_unit_test(test_not_eligible),
		cmocka_unit_test(test_observed_term),
		cmocka_unit_test(test_randomized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
