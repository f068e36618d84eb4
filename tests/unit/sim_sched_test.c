/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sim_sched_test.c — sim/sched: services in the scenario
 * language, the emulated process driver, and the scheduler's metrics.
 *
 * The language: every new line parses into what it says, and every
 * mistake is refused naming its line. The driver: what the simulator
 * believes runs (its truth) is what the nodes' replicated state says
 * (every slot reported running by the node the table names, with the
 * task digest as gen), starts take the configured delay, and the managers
 * the metrics count are those node_manager_status() names. Runs with
 * services, task faults and partitions are deterministic; the toy
 * protocol refuses service lines.
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
#include "sched/node.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "sim/toy.h"

/* ---- the language ---- */

static const char *full =
	"nodes 30\n"
	"tags 0-9 zone=a rack=r1\n"
	"tags all dc=x\n"
	"task start-delay uniform 20ms 80ms\n"
	"task stop-delay 5ms\n"
	"overlap 3s\n"
	"at 5s service create web replicas 12 constraint node.zone==a "
	"constraint node.rack!=r9 max-per-node 2 restart on-failure "
	"restart-delay 2s restart-attempts 3 restart-window 1m "
	"update-parallelism 4 update-delay 500ms cmd /bin/web,--port,80 "
	"env A=1 env B=2 via node-3\n"
	"at 6s service create agent global\n"
	"at 10s service update web env A=2 replicas 20\n"
	"at 11s service scale web 5 via 4-6\n"
	"at 12s service rm web\n"
	"at 13s node drain 3-5 via node-0\n"
	"at 14s node active 3\n"
	"at 15s node tag 7 8 gpu=yes -rack\n"
	"at 16s task-crash web.3 on 2-4 exit 137\n"
	"at 17s task-crash my.svc.v2\n"
	"at 18s task-fail-start web for 10s\n"
	"at 19s task-fail-start web.0 on manager times 3\n"
	"at 20s crash manager\n"
	"at 21s partition manager random:3 | rest\n"
	"at 22s force-leave 3-5 via node-0\n";

static void
test_parse(void **state)
{
	struct sim_scenario sc;
	char why[256] = "";
	const struct sim_sched_act *x;
	const struct sim_action *a;

	(void)state;
	sim_scenario_init(&sc);
	assert_int_equal(sc.task_start.a_us, 50000); /* defaults */
	assert_int_equal(sc.task_stop.a_us, 10000);
	assert_int_equal(sc.overlap_ms, 5000);
	if (sim_scenario_parse_text(&sc, full, "t.scn", why, sizeof(why)) ||
	    sim_scenario_finalize(&sc, why, sizeof(why))) {
		fprintf(stderr, "%s\n", why);
		fail();
	}
	assert_int_equal(sc.ntag_rules, 2);
	assert_int_equal(sc.tag_rules[0].ntags, 2);
	assert_string_equal(sc.tag_rules[0].tags[1].key, "rack");
	assert_string_equal(sc.tag_rules[0].tags[1].value, "r1");
	assert_int_equal(sc.tag_rules[1].set.items[0].kind, SIM_ITEM_ALL);
	assert_int_equal(sc.task_start.kind, SIM_LAT_UNIFORM);
	assert_int_equal(sc.task_start.b_us, 80000);
	assert_int_equal(sc.task_stop.kind, SIM_LAT_CONST);
	assert_int_equal(sc.task_stop.a_us, 5000);
	assert_int_equal(sc.overlap_ms, 3000);
	assert_int_equal(sc.nacts, 15);

	a = &sc.acts[0];
	x = a->sched;
	assert_int_equal(a->kind, SIM_ACT_SCHED);
	assert_int_equal(x->op, SIM_SCHED_SVC_CREATE);
	assert_string_equal(x->name, "web");
	assert_int_equal(x->o.replicas, 12);
	assert_int_equal(x->o.ncons, 2);
	assert_string_equal(x->o.cons[1], "node.rack!=r9");
	assert_int_equal(x->o.max_per_node, 2);
	assert_int_equal(x->o.restart_cond, SPEC_RESTART_ON_FAILURE);
	assert_int_equal(x->o.restart_delay_ms, 2000);
	assert_int_equal(x->o.restart_attempts, 3);
	assert_int_equal(x->o.restart_window_ms, 60000);
	assert_int_equal(x->o.update_parallelism, 4);
	assert_int_equal(x->o.update_delay_ms, 500);
	assert_int_equal(x->o.nargs, 3);
	assert_string_equal(x->o.args[1], "--port");
	assert_int_equal(x->o.nenv, 2);
	assert_int_equal(x->via.n, 1);
	assert_int_equal(x->via.items[0].lo, 3);

	x = sc.acts[1].sched;
	assert_int_equal(x->o.mode, SPEC_GLOBAL);
	assert_true(x->o.has & SIM_SVC_MODE);
	x = sc.acts[2].sched;
	assert_int_equal(x->op, SIM_SCHED_SVC_UPDATE);
	assert_int_equal(x->o.has, SIM_SVC_REPLICAS);
	assert_int_equal(x->o.nenv, 1);
	x = sc.acts[3].sched;
	assert_int_equal(x->op, SIM_SCHED_SVC_SCALE);
	assert_int_equal(x->o.replicas, 5);
	assert_int_equal(x->via.items[0].hi, 6);
	assert_int_equal(sc.acts[4].sched->op, SIM_SCHED_SVC_REMOVE);

	a = &sc.acts[5];
	assert_int_equal(a->sched->op, SIM_SCHED_NODE_AVAIL);
	assert_int_equal(a->sched->avail, STATE_DRAIN);
	assert_int_equal(a->sets[0].items[0].lo, 3);
	assert_int_equal(a->sets[0].items[0].hi, 5);
	assert_int_equal(sc.acts[6].sched->avail, STATE_ACTIVE);
	a = &sc.acts[7];
	assert_int_equal(a->sched->op, SIM_SCHED_NODE_TAG);
	assert_int_equal(a->sets[0].n, 2);
	assert_int_equal(a->sched->ntags, 2);
	assert_false(a->sched->untag[0]);
	assert_true(a->sched->untag[1]);
	assert_string_equal(a->sched->tags[1].key, "rack");

	a = &sc.acts[8];
	assert_int_equal(a->sched->op, SIM_SCHED_TASK_CRASH);
	assert_string_equal(a->sched->name, "web");
	assert_int_equal(a->sched->slot, 3);
	assert_int_equal(a->sched->exit_code, 137);
	assert_int_equal(a->nsets, 1);
	/* A dot followed by other than digits belongs to the name. */
	assert_string_equal(sc.acts[9].sched->name, "my.svc.v2");
	assert_int_equal(sc.acts[9].sched->slot, -1);
	assert_int_equal(sc.acts[9].nsets, 0);
	a = &sc.acts[10];
	assert_int_equal(a->sched->op, SIM_SCHED_TASK_FAIL);
	assert_int_equal(a->sched->for_us, 10000000);
	assert_int_equal(a->sched->times, 0);
	a = &sc.acts[11];
	assert_int_equal(a->sched->times, 3);
	assert_int_equal(a->sets[0].items[0].kind, SIM_ITEM_MANAGER);
	assert_int_equal(sc.acts[12].sets[0].items[0].kind, SIM_ITEM_MANAGER);
	assert_int_equal(sc.acts[13].sets[0].n, 2);
	a = &sc.acts[14];
	assert_int_equal(a->kind, SIM_ACT_SCHED);
	assert_int_equal(a->sched->op, SIM_SCHED_FORCE_LEAVE);
	assert_int_equal(a->sets[0].items[0].lo, 3);
	assert_int_equal(a->sets[0].items[0].hi, 5);
	assert_int_equal(a->sched->via.items[0].lo, 0);
	sim_scenario_release(&sc);
}

static void
expect_error(const char *text, const char *prefix, const char *needle)
{
	struct sim_scenario sc;
	char why[256] = "";
	int rc;

	sim_scenario_init(&sc);
	rc = sim_scenario_parse_text(&sc, text, "bad.scn", why, sizeof(why));
	if (!rc)
		rc = sim_scenario_finalize(&sc, why, sizeof(why));
	if (rc == 0 || strncmp(why, prefix, strlen(prefix)) != 0 ||
	    !strstr(why, needle)) {
		fprintf(stderr, "text: %s\nwhy: %s\nwant: %s ... %s\n", text,
			why, prefix, needle);
		fail();
	}
	sim_scenario_release(&sc);
}

static void
test_parse_errors(void **state)
{
	(void)state;
	expect_error("at 1s service\n", "bad.scn:1:", "create, update");
	expect_error("at 1s service start web\n",
		     "bad.scn:1:", "unknown service operation");
	expect_error("at 1s service create -web\n", "bad.scn:1:", "must match");
	expect_error("at 1s service create web replics 3\n",
		     "bad.scn:1:", "unknown service option 'replics'");
	expect_error("at 1s service create web replicas 20000\n",
		     "bad.scn:1:", "limit of 10000");
	expect_error("at 1s service create web constraint zone==a\n",
		     "bad.scn:1:", "constraint");
	expect_error("at 1s service create web global replicas 3\n",
		     "bad.scn:1:", "global");
	expect_error("at 1s service create web restart sometimes\n",
		     "bad.scn:1:", "none, on-failure or any");
	expect_error("at 1s service create web env NOEQUALS\n",
		     "bad.scn:1:", "KEY=VALUE");
	expect_error("at 1s service create web env SHOAL_X=1\n",
		     "bad.scn:1:", "reserved");
	expect_error("at 1s service update web\n", "bad.scn:1:", "an option");
	expect_error("at 1s service scale web\n",
		     "bad.scn:1:", "replicas needs a number");
	expect_error("at 1s service create web via\n",
		     "bad.scn:1:", "after 'via'");
	expect_error("at 1s service rm web via 3 extra\n",
		     "bad.scn:1:", "bad node");
	expect_error("at 1s node drain\n", "bad.scn:1:", "missing nodes");
	expect_error("at 1s node reboot 3\n",
		     "bad.scn:1:", "unknown node operation");
	expect_error("at 1s node tag 3\n", "bad.scn:1:", "KEY=VALUE");
	expect_error("at 1s node tag 3 =v\n", "bad.scn:1:", "bad tag");
	expect_error("at 1s task-crash\n", "bad.scn:1:", "SERVICE[.SLOT]");
	expect_error("at 1s task-crash -x.3\n",
		     "bad.scn:1:", "bad service name");
	expect_error("at 1s task-crash web exit 300\n",
		     "bad.scn:1:", "bad exit code");
	expect_error("at 1s task-crash web times 2\n",
		     "bad.scn:1:", "unexpected 'times'");
	expect_error("at 1s task-fail-start web times 0\n",
		     "bad.scn:1:", "times must be > 0");
	expect_error("at 1s task-fail-start web on 3 on 4\n",
		     "bad.scn:1:", "one 'on SET'");
	expect_error("at 1s force-leave\n", "bad.scn:1:", "missing nodes");
	expect_error("at 1s force-leave 3 on 4\n", "bad.scn:1:", "unexpected");
	expect_error("tags 10% zone=a\n", "bad.scn:1:", "explicit nodes");
	expect_error("tags 1-3\n", "bad.scn:1:", "KEY=VALUE");
	expect_error("tags 1 zone\n", "bad.scn:1:", "bad node 'zone'");
	expect_error("task start-delay\n", "bad.scn:1:", "latency kind");
	expect_error("task warmup 1s\n", "bad.scn:1:", "start-delay");
	expect_error("overlap soon\n", "bad.scn:1:", "overlap");
	expect_error("seeds manager\n", "bad.scn:1:", "explicit");
	expect_error("nodes 10\nat 1s node drain 12\n",
		     "bad.scn:2:", "node-12 does not exist");
	expect_error("nodes 10\nat 1s service rm web via node-10\n",
		     "bad.scn:2:", "node-10 does not exist");
}

/* ---- runs ---- */

static struct sim *
run(const char *text, const struct sim_node_ops *ops, struct sim_scenario *sc,
    int *rc, char *why, size_t cap)
{
	struct sim *s;
	int err = 0;

	sim_scenario_init(sc);
	if (sim_scenario_parse_text(sc, text, "t", why, cap) ||
	    sim_scenario_finalize(sc, why, cap)) {
		fprintf(stderr, "%s\n", why);
		fail();
	}
	s = sim_new(sc, ops, NULL, NULL, &err, why, cap);
	assert_non_null(s);
	*rc = sim_run(s, why, cap);
	return s;
}

/* Every slot of `svc` the nodes' table gives to a running node is
 * reported running by that node, on the current task digest. */
static void
check_reports(struct sim *s, const char *svc, uint32_t want)
{
	uint32_t seen = 0;

	for (uint32_t i = 0; i < sim_node_count(s); i++) {
		const struct node *n = sim_node_obj(s, i);
		const struct state_service *sv;
		char self[SWIM_NAME_MAX + 1];
		uint32_t mine = 0;

		if (!sim_node_is_up(s, i))
			continue;
		sim_name_of(i, self);
		sv = state_service_find(node_state(n), svc);
		assert_true(state_service_live(sv));
		for (uint32_t k = 0; k < sv->nslots; k++) {
			const struct state_slot *sl = &sv->slots[k];
			const char *at = state_slot_node(sv, sl);
			const struct state_report *rp = NULL;

			if (!at || strcmp(at, self) != 0)
				continue;
			for (unsigned r = 0; r < STATE_REPORTS_PER_SLOT; r++) {
				const struct state_report *x =
					state_slot_report(sv, sl, r);

				if (x && x->node &&
				    !strcmp(x->node->data, self))
					rp = x;
			}
			assert_non_null(rp);
			assert_int_equal(rp->state, TASK_RUNNING);
			assert_true(rp->gen == spec_task_digest(&sv->spec));
			mine++;
		}
		assert_int_equal(node_task_count(n), mine);
		seen += mine;
	}
	assert_int_equal(seen, want);
}

static void
test_driver_matches_state(void **state)
{
	struct sim_scenario sc;
	char why[256] = "";
	double v[SIM_M__N];
	struct sim *s;
	int rc;

	(void)state;
	s = run("nodes 12\nseed 3\nduration 60s\nbootstrap warm\n"
		"task start-delay 1s\n"
		"at 5s service create web replicas 20 restart-delay 1s\n"
		"at 30s service update web env V=2 update-parallelism 0\n"
		"at 40s task-crash web.4 exit 3\n"
		"at 45s service scale web 24\n",
		sim_node_ops_real(), &sc, &rc, why, sizeof(why));
	assert_int_equal(rc, 0);
	check_reports(s, "web", 24);
	sim_values(s, v);
	assert_true(v[SIM_M_PROCESSES] == 24);
	assert_true(v[SIM_M_REPLICAS_RUNNING] == 24);
	assert_true(v[SIM_M_REPLICAS_DESIRED] == 24);
	assert_true(v[SIM_M_ROLLOUTS] == 1);
	assert_true(v[SIM_M_ROLLOUTS_INCOMPLETE] == 0);
	assert_true(v[SIM_M_TASK_RESTARTS] == 1);
	assert_true(v[SIM_M_DOUBLED] == 0);
	assert_true(v[SIM_M_SLOT_VIEWS] == 1);
	sim_delete(s);
	sim_scenario_release(&sc);
}

/* Nothing runs before the start delay is over. */
static void
test_start_delay(void **state)
{
	struct sim_scenario sc;
	char why[256] = "";
	double v[SIM_M__N];
	struct sim *s;
	int err = 0;

	(void)state;
	sim_scenario_init(&sc);
	assert_int_equal(sim_scenario_parse_text(
				 &sc,
				 "nodes 5\nduration 30s\nbootstrap warm\n"
				 "task start-delay 3s\n"
				 "at 10s service create web replicas 5 via 0\n",
				 "t", why, sizeof(why)),
			 0);
	assert_int_equal(sim_scenario_finalize(&sc, why, sizeof(why)), 0);
	s = sim_new(&sc, sim_node_ops_real(), NULL, NULL, &err, why,
		    sizeof(why));
	assert_non_null(s);
	assert_int_equal(sim_run_until(s, 12900000, why, sizeof(why)), 0);
	sim_values(s, v);
	assert_true(v[SIM_M_PROCESSES] == 0);
	assert_true(v[SIM_M_REPLICAS_MISSING] == 5);
	assert_int_equal(sim_run(s, why, sizeof(why)), 0);
	sim_values(s, v);
	assert_true(v[SIM_M_PROCESSES] == 5);
	assert_true(v[SIM_M_NEVER_RAN] == 0);
	sim_delete(s);
	sim_scenario_release(&sc);
}

/* The managers the metrics count are the ones the nodes name. */
static void
test_managers_match_status(void **state)
{
	struct sim_scenario sc;
	char why[256] = "";
	double v[SIM_M__N];
	struct sim *s;
	uint32_t leading = 0;
	int rc;

	(void)state;
	s = run("nodes 15\nseed 4\nduration 60s\nbootstrap warm\n"
		"at 20s crash manager\n",
		sim_node_ops_real(), &sc, &rc, why, sizeof(why));
	assert_int_equal(rc, 0);
	sim_values(s, v);
	for (uint32_t i = 0; i < sim_node_count(s); i++) {
		struct node_manager_status st;

		if (!sim_node_is_up(s, i))
			continue;
		node_manager_status(sim_node_obj(s, i), &st);
		assert_true(st.manager[0] != 0);
		leading += st.leading;
	}
	assert_int_equal(leading, 1);
	assert_true(v[SIM_M_MANAGERS] == 1);
	assert_true(v[SIM_M_LEADERS] == 1);
	assert_true(v[SIM_M_NO_MANAGER] == 0);
	assert_true(v[SIM_M_FAILOVERS] == 1);
	assert_true(v[SIM_M_FAILOVERS_INCOMPLETE] == 0);
	assert_true(v[SIM_M_FAILOVER_P50] > 0);
	sim_delete(s);
	sim_scenario_release(&sc);
}

static void
test_deterministic(void **state)
{
	static const char *text =
		"nodes 30\nseed 77\nduration 90s\nbootstrap warm\n"
		"tags 0-14 zone=a\n"
		"task start-delay exp 20ms 80ms\n"
		"at 3s service create web replicas 25 max-per-node 2\n"
		"at 3s service create agent global constraint node.zone==a\n"
		"at 20s task-crash web exit 1\n"
		"at 21s task-fail-start web for 10s\n"
		"at 30s crash 10%\n"
		"at 40s partition 0-19 | rest\n"
		"at 60s heal\n"
		"at 65s service scale web 30\n"
		"at 70s node drain random:2\n";
	double v1[SIM_M__N], v2[SIM_M__N];
	uint64_t t1, t2;

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct sim_scenario sc;
		char why[256] = "";
		struct sim *s;
		int rc;

		s = run(text, sim_node_ops_real(), &sc, &rc, why, sizeof(why));
		assert_int_equal(rc, 0);
		sim_values(s, k ? v2 : v1);
		if (k)
			t2 = sim_trace_hash(s);
		else
			t1 = sim_trace_hash(s);
		sim_delete(s);
		sim_scenario_release(&sc);
	}
	assert_true(t1 == t2);
	for (int k = 0; k < SIM_M__N; k++) {
		if (sim_metric_info(k)->volatile_ ||
		    (isnan(v1[k]) && isnan(v2[k])))
			continue;
		if (v1[k] != v2[k]) {
			fprintf(stderr, "%s: %g then %g\n",
				sim_metric_info(k)->name, v1[k], v2[k]);
			fail();
		}
	}
	assert_true(v1[SIM_M_TASK_CRASHES] > 0);
	assert_true(v1[SIM_M_TASK_REJECTED] > 0);
}

static void
test_toy_refuses_services(void **state)
{
	struct sim_scenario sc;
	char why[256] = "";
	struct sim *s;
	int rc;

	(void)state;
	s = run("nodes 3\nduration 10s\nat 1s service create web\n",
		sim_toy_ops(), &sc, &rc, why, sizeof(why));
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(why, "real nodes"));
	sim_delete(s);
	sim_scenario_release(&sc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_driver_matches_state),
		cmocka_unit_test(test_start_delay),
		cmocka_unit_test(test_managers_match_status),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_toy_refuses_services),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
