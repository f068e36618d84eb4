/* SPDX-License-Identifier: MIT */
/*
 * sched/node: tags, and cluster-wide key rotation on real nodes in the
 * simulator (its clock and network; every packet really sealed).
 *
 * Voters: a failed voter stays in the voting set after membership forgets
 * it, also for a node that restarts later, until a force-leave.
 *
 * Rotation: install a second key on one node, use it, remove the first:
 * every member follows, advertises the fingerprints it holds, and nobody
 * is ever suspected. Anti-entropy: a node that was down while the keys
 * rotated restarts with the old key file, joins (the old key is still in
 * everyone's ring), and adopts the newer ring at its first push-pull.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/err.h"
#include "sched/node.h"
#include "sim/scenario.h"
#include "sim/sim.h"

struct run {
	struct sim_scenario sc;
	struct sim *s;
};

static void
run_start(struct run *r, const char *text)
{
	char why[256];
	int err = 0;

	sim_scenario_init(&r->sc);
	if (sim_scenario_parse_text(&r->sc, text, "node_test", why,
				    sizeof(why)) ||
	    sim_scenario_finalize(&r->sc, why, sizeof(why))) {
		fprintf(stderr, "scenario: %s\n", why);
		fail();
	}
	r->s = sim_new(&r->sc, sim_node_ops_real(), NULL, NULL, &err, why,
		       sizeof(why));
	if (!r->s) {
		fprintf(stderr, "sim_new: %s\n", why);
		fail();
	}
}

static void
run_to(struct run *r, uint64_t t_s)
{
	char why[256];

	assert_int_equal(sim_run_until(r->s, t_s * 1000000ULL, why,
				       sizeof(why)),
			 0);
}

static void
run_end(struct run *r)
{
	sim_delete(r->s);
	sim_scenario_release(&r->sc);
}

static struct node *
node_at(struct run *r, uint32_t i)
{
	struct node *n = sim_node_obj(r->s, i);

	assert_non_null(n);
	return n;
}

/* A node's clock (no clock faults in these runs). */
static uint64_t
clock_of(struct run *r)
{
	return r->sc.epoch_ms + sim_now_us(r->s) / 1000;
}

static void
key_of(uint8_t k[CRYPTO_KEY_LEN], uint8_t fill)
{
	memset(k, fill, CRYPTO_KEY_LEN);
}

static void
fp_of(const uint8_t k[CRYPTO_KEY_LEN], char fp[CRYPTO_FP_LEN])
{
	crypto_key_fingerprint(k, fp);
}

/* Every running node holds exactly `want` keys, `primary` first, and
 * advertises that to node 0. */
static void
check_rings(struct run *r, unsigned want, const uint8_t *primary)
{
	char pfp[CRYPTO_FP_LEN];

	fp_of(primary, pfp);
	for (uint32_t i = 0; i < sim_node_count(r->s); i++) {
		const struct keyring *kr;
		char fps[CRYPTO_KEYS_MAX][CRYPTO_FP_LEN];
		char name[SWIM_NAME_MAX + 1];

		if (!sim_node_is_up(r->s, i))
			continue;
		kr = node_keyring(node_at(r, i));
		assert_int_equal(kr->n, want);
		assert_memory_equal(kr->keys[kr->primary].bytes, primary,
				    CRYPTO_KEY_LEN);
		sim_name_of(i, name);
		assert_int_equal(node_member_keys(node_at(r, 0), name, fps,
						  CRYPTO_KEYS_MAX),
				 (int)want);
		assert_string_equal(fps[0], pfp);
	}
}

static unsigned
suspicions(struct run *r)
{
	unsigned total = 0;

	for (uint32_t i = 0; i < sim_node_count(r->s); i++)
		if (sim_node_is_up(r->s, i))
			total += (unsigned)swim_stats(node_swim(
					 node_at(r, i)))->suspicions;
	return total;
}

static void
test_rotation(void **state)
{
	struct run r;
	uint8_t k1[CRYPTO_KEY_LEN], k2[CRYPTO_KEY_LEN];

	(void)state;
	run_start(&r, "nodes 6\nseed 5\nduration 200s\n");
	run_to(&r, 20);
	/* The simulator's own cluster key is the first key. */
	memcpy(k1, node_keyring(node_at(&r, 0))->keys[0].bytes,
	       CRYPTO_KEY_LEN);
	key_of(k2, 0x42);
	check_rings(&r, 1, k1);

	assert_int_equal(node_keys_install(node_at(&r, 2), clock_of(&r), k2),
			 0);
	run_to(&r, 35);
	check_rings(&r, 2, k1);
	/* Installing again reports it, and sends it out again. */
	assert_int_equal(node_keys_install(node_at(&r, 3), clock_of(&r), k2),
			 ERR_EXIST);

	assert_int_equal(node_keys_use(node_at(&r, 4), clock_of(&r), k2), 0);
	run_to(&r, 50);
	check_rings(&r, 2, k2);

	assert_int_equal(node_keys_remove(node_at(&r, 1), clock_of(&r), k2),
			 ERR_STATE);
	assert_int_equal(node_keys_remove(node_at(&r, 1), clock_of(&r), k1),
			 0);
	run_to(&r, 65);
	check_rings(&r, 1, k2);
	assert_int_equal(node_keys_remove(node_at(&r, 1), clock_of(&r), k1),
			 ERR_NOENT);

	/* Nobody was ever suspected, and views agree. */
	run_to(&r, 90);
	assert_int_equal(suspicions(&r), 0);
	assert_int_equal(sim_digest_groups(r.s, NULL), 1);
	run_end(&r);
}

static void
test_rotation_anti_entropy(void **state)
{
	struct run r;
	uint8_t k1[CRYPTO_KEY_LEN], k2[CRYPTO_KEY_LEN];

	(void)state;
	/* node-3 is down while the keys rotate; it restarts with the
	 * original key (the simulator's) and must catch up. */
	run_start(&r, "nodes 5\nseed 9\nduration 300s\n"
		      "set push_pull_interval 10s\n"
		      "at 20s crash node-3\n"
		      "at 60s restart node-3\n");
	run_to(&r, 25);
	memcpy(k1, node_keyring(node_at(&r, 0))->keys[0].bytes,
	       CRYPTO_KEY_LEN);
	key_of(k2, 0x77);
	assert_int_equal(node_keys_install(node_at(&r, 0), clock_of(&r), k2),
			 0);
	run_to(&r, 40);
	assert_int_equal(node_keys_use(node_at(&r, 0), clock_of(&r), k2), 0);
	run_to(&r, 55);
	/* node-3 restarted at 60 s with only k1; the others still hold k1,
	 * so it can join, and its first push-pull brings the newer ring. */
	run_to(&r, 100);
	assert_true(sim_node_is_up(r.s, 3));
	check_rings(&r, 2, k2);
	run_end(&r);
}

static void
test_tags(void **state)
{
	struct intern pool;
	struct node_config c;
	struct node_env env;
	struct keyring kr;
	struct node_tag t, got[NODE_TAGS_MAX];
	struct node *n;
	uint8_t k[CRYPTO_KEY_LEN];
	int err;

	(void)state;
	assert_int_equal(node_tag_parse("role=manager", &t), 0);
	assert_string_equal(t.key, "role");
	assert_string_equal(t.value, "manager");
	assert_int_equal(node_tag_parse("zone=", &t), 0);
	assert_int_equal(node_tag_parse("noequals", &t), ERR_INVAL);
	assert_int_equal(node_tag_parse("=v", &t), ERR_INVAL);
	assert_int_equal(node_tag_parse("bad key=v", &t), ERR_INVAL);
	assert_int_equal(node_tag_parse("k=a,b", &t), ERR_INVAL);
	assert_int_equal(node_tag_parse("k=a b", &t), ERR_INVAL);

	intern_init(&pool);
	memset(&c, 0, sizeof(c));
	strcpy(c.swim.name, "tagged");
	addr_v4(&c.swim.addr, 10, 0, 0, 1, 7946);
	c.swim.start_ms = 1700000000000ULL;
	strcpy(c.swim.cluster, "t");
	profile_lan(&c.swim.prof);
	node_tag_parse("role=manager", &c.tags[0]);
	node_tag_parse("zone=eu-1", &c.tags[1]);
	c.ntags = 2;
	keyring_init(&kr);
	key_of(k, 1);
	keyring_add(&kr, k);
	memset(&env, 0, sizeof(env));
	env.pool = &pool;
	n = node_new(&c, &kr, &env, &err);
	assert_non_null(n);
	assert_int_equal(node_member_tags(n, "tagged", got, NODE_TAGS_MAX), 2);
	assert_string_equal(got[0].key, "role");
	assert_string_equal(got[1].value, "eu-1");
	assert_int_equal(node_member_tags(n, "nobody", got, NODE_TAGS_MAX),
			 ERR_NOENT);
	/* Changing tags spreads with a new incarnation. */
	{
		uint64_t inc = swim_incarnation(node_swim(n));

		node_tag_parse("role=worker", &t);
		assert_int_equal(node_set_tags(n, c.swim.start_ms + 10, &t, 1),
				 0);
		assert_true(swim_incarnation(node_swim(n)) > inc);
		assert_int_equal(node_member_tags(n, "tagged", got, 4), 1);
		assert_string_equal(got[0].value, "worker");
	}
	/* Duplicate keys are refused. */
	{
		struct node_tag two[2];

		node_tag_parse("a=1", &two[0]);
		node_tag_parse("a=2", &two[1]);
		assert_int_equal(node_set_tags(n, c.swim.start_ms + 20, two, 2),
				 ERR_INVAL);
	}
	node_delete(n);
	intern_destroy(&pool);
}

/* Total tasks handed out over the running nodes, and the most on one. */
static size_t
task_total(struct run *r, size_t *max_one)
{
	size_t total = 0;

	*max_one = 0;
	for (uint32_t i = 0; i < sim_node_count(r->s); i++) {
		size_t k;

		if (!sim_node_is_up(r->s, i))
			continue;
		k = node_task_count(node_at(r, i));
		total += k;
		if (k > *max_one)
			*max_one = k;
	}
	return total;
}

/* Every running node names the same manager; exactly one acts. Returns
 * the manager's index. */
static int
one_manager(struct run *r, uint64_t *term)
{
	struct node_manager_status st0;
	int leaders = 0, who = -1;

	*term = 0;
	for (uint32_t i = 0; i < sim_node_count(r->s); i++) {
		struct node_manager_status st;

		if (!sim_node_is_up(r->s, i))
			continue;
		node_manager_status(node_at(r, i), &st);
		if (*term == 0) {
			st0 = st;
			*term = st.term;
		}
		assert_string_equal(st.manager, st0.manager);
		assert_int_equal(st.term, st0.term);
		if (st.leading) {
			leaders++;
			who = (int)i;
		}
	}
	assert_int_equal(leaders, 1);
	assert_true(*term >= 1);
	return who;
}

static void
test_services(void **state)
{
	char text[512], name[SWIM_NAME_MAX + 1], why[256];
	uint32_t best = 0, victim;
	struct spec sp;
	struct run r;
	uint64_t term, term2;
	size_t max_one;
	int mgr;

	(void)state;
	/* The manager will be the best-ranked node; crash another node at
	 * 40 s and the manager at 80 s. */
	for (uint32_t i = 1; i < 5; i++) {
		char a[SWIM_NAME_MAX + 1], b[SWIM_NAME_MAX + 1];

		sim_name_of(i, a);
		sim_name_of(best, b);
		if (elect_rank_better(a, b))
			best = i;
	}
	victim = (best + 1) % 5;
	snprintf(text, sizeof(text),
		 "nodes 5\nseed 3\nduration 300s\n"
		 "at 40s crash node-%u\nat 80s crash node-%u\n",
		 victim, best);
	run_start(&r, text);
	run_to(&r, 20);
	mgr = one_manager(&r, &term);
	assert_int_equal(mgr, (int)best);

	/* A service created on any node is placed by the manager. */
	spec_init(&sp);
	assert_int_equal(spec_set_name(&sp, "web", why, sizeof(why)), 0);
	{
		const char *args[] = { "/bin/sleep", "1000" };

		assert_int_equal(spec_set_args(&sp, args, 2, why, sizeof(why)),
				 0);
	}
	sp.replicas = 6;
	assert_int_equal(node_service_create(node_at(&r, victim), clock_of(&r),
					     &sp, why, sizeof(why)),
			 0);
	run_to(&r, 35);
	/* Gossip has carried it everywhere: a second create is refused. */
	assert_int_equal(node_service_create(node_at(&r, 0), clock_of(&r),
					     &sp, why, sizeof(why)),
			 ERR_EXIST);
	assert_non_null(strstr(why, "already exists"));
	assert_int_equal(task_total(&r, &max_one), 6);
	assert_true(max_one <= 2); /* ceil(6 / 5) */
	assert_true(node_task_count(node_at(&r, victim)) > 0 ||
		    node_task_count(node_at(&r, best)) > 0);

	/* A node crashes (at 40 s): its slots run elsewhere. */
	run_to(&r, 75);
	assert_false(sim_node_is_up(r.s, victim));
	assert_int_equal(task_total(&r, &max_one), 6);
	assert_true(max_one <= 2); /* ceil(6 / 4) */
	(void)one_manager(&r, &term2);
	assert_int_equal(term2, term);

	/* The manager crashes (at 80 s): another takes over with a higher
	 * term, and every slot is still placed. */
	run_to(&r, 130);
	mgr = one_manager(&r, &term2);
	assert_true(term2 > term);
	assert_int_not_equal(mgr, (int)best);
	assert_int_equal(task_total(&r, &max_one), 6);
	assert_true(max_one <= 2);

	/* Scale down, then remove: tasks stop. */
	sim_name_of((uint32_t)mgr, name);
	assert_int_equal(node_service_scale(node_at(&r, (uint32_t)mgr),
					    clock_of(&r), "web", 2, why,
					    sizeof(why)),
			 0);
	run_to(&r, 145);
	assert_int_equal(task_total(&r, &max_one), 2);
	assert_int_equal(node_service_remove(node_at(&r, (uint32_t)mgr),
					     clock_of(&r), "web"),
			 0);
	run_to(&r, 160);
	assert_int_equal(task_total(&r, &max_one), 0);
	assert_int_equal(node_service_remove(node_at(&r, (uint32_t)mgr),
					     clock_of(&r), "web"),
			 ERR_NOENT);
	spec_destroy(&sp);
	run_end(&r);
}

/* A failed voter stays a voter after the membership forgets it (reaped),
 * until it is force-left; a node that restarts learns of it by
 * push-pull. */
static void
test_voters_outlive_reap(void **state)
{
	struct node_manager_status st;
	struct run r;
	uint64_t term;

	(void)state;
	run_start(&r, "nodes 5\nseed 4\nduration 300s\nbootstrap warm\n"
		      "set reap_dead 20s\n"
		      "at 20s crash 2-4\nat 60s restart 1\n");
	run_to(&r, 15);
	(void)one_manager(&r, &term);
	/* By 90 s nodes 2-4 failed (about 25 s), were forgotten (about
	 * 45 s), and node 1 restarted with empty memory. */
	run_to(&r, 90);
	for (uint32_t i = 0; i < 2; i++) {
		assert_int_equal(swim_member_count(node_swim(node_at(&r, i))),
				 2);
		node_manager_status(node_at(&r, i), &st);
		assert_string_equal(st.manager, "");
		assert_int_equal(st.voters, 5);
		assert_int_equal(st.seen, 2);
		assert_non_null(strstr(st.text, "sees 2 of 5 eligible"));
		assert_non_null(strstr(st.text, "node-2"));
		assert_non_null(strstr(st.text, "node-4"));
	}
	/* Force-leave works on a voter the membership forgot, and spreads. */
	assert_int_equal(node_force_leave(node_at(&r, 0), clock_of(&r),
					  "node-2"),
			 0);
	assert_int_equal(node_force_leave(node_at(&r, 0), clock_of(&r),
					  "node-9"),
			 ERR_NOENT);
	run_to(&r, 100);
	node_manager_status(node_at(&r, 1), &st);
	assert_int_equal(st.voters, 4);
	assert_string_equal(st.manager, "");
	assert_int_equal(node_force_leave(node_at(&r, 1), clock_of(&r),
					  "node-3"),
			 0);
	run_to(&r, 120);
	(void)one_manager(&r, &term);
	node_manager_status(node_at(&r, 0), &st);
	assert_int_equal(st.voters, 3);
	run_end(&r);
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
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_rotation_anti_entropy),
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_voters_outlive_reap),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
