/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sim_scenario_test.c — sim/scenario: the scenario language.
 *
 * A full scenario parses into the expected settings, actions (sorted by
 * time, file order kept at equal times) and expectations; every kind of
 * mistake is refused with "where:LINE:" naming the right line.
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
#include "sim/metrics.h"
#include "sim/scenario.h"

static const char *full = "# A title line\n"
			  "# test: yes\n"
			  "nodes 100\n"
			  "seed 0x2a\n"
			  "duration 5m\n"
			  "profile wan\n"
			  "set probe_interval 6s\n"
			  "set gossip_nodes=4\n"
			  "crypto off\n"
			  "seeds 0,1 2\n"
			  "bootstrap stagger 2ms\n"
			  "net latency uniform 0.5ms 2ms\n"
			  "net loss 1%\n"
			  "net tail 0.1% 20ms\n"
			  "at 90s heal\n"
			  "at 30s crash node-7 10-12\n"
			  "at 40s partition 0-49 | 50-98 bridge 99\n"
			  "at 30s pause node-3 for 10s   # comment after\n"
			  "at 50s slow 4 by 200ms for 1m\n"
			  "at 60s clock node-5 offset -2s drift +300ppm\n"
			  "at 70s net loss 20% on node-8\n"
			  "at 80s flap 0-9 | 10-19 every 2s for 20s\n"
			  "at 85s churn every 1s for 10s crash\n"
			  "at 86s cut all -> random:3\n"
			  "at 87s crash 10%\n"
			  "at 95s expect digests == 1\n"
			  "expect dead_everywhere_p99 < 15s\n"
			  "expect false_dead == 0\n"
			  "expect converged_at <= never\n";

static void
test_full(void **state)
{
	struct sim_scenario sc;
	char why[256] = "";
	const struct sim_action *a;

	(void)state;
	sim_scenario_init(&sc);
	assert_int_equal(
		sim_scenario_parse_text(&sc, full, "t.scn", why, sizeof(why)),
		0);
	assert_int_equal(sim_scenario_finalize(&sc, why, sizeof(why)), 0);
	assert_string_equal(sc.title, "A title line");
	assert_int_equal(sc.nodes, 100);
	assert_int_equal(sc.seed, 42);
	assert_int_equal(sc.duration_ms, 300000);
	assert_string_equal(sc.profile, "wan");
	assert_int_equal(sc.prof.probe_interval_ms, 6000); /* override on wan */
	assert_int_equal(sc.prof.gossip_nodes, 4);
	assert_int_equal(sc.prof.probe_timeout_ms, 3000); /* wan's */
	assert_false(sc.crypto);
	assert_int_equal(sc.nseeds, 3);
	assert_int_equal(sc.seeds[2], 2);
	assert_int_equal(sc.stagger_us, 2000);
	assert_int_equal(sc.net.lat.kind, SIM_LAT_UNIFORM);
	assert_int_equal(sc.net.lat.a_us, 500);
	assert_int_equal(sc.net.lat.b_us, 2000);
	assert_true(fabs(sc.net.loss - 0.01) < 1e-12);
	assert_true(fabs(sc.net.tail_p - 0.001) < 1e-12);
	assert_int_equal(sc.nacts, 12);
	/* Sorted by time; the crash (line 16) before the pause (line 18). */
	a = &sc.acts[0];
	assert_int_equal(a->kind, SIM_ACT_CRASH);
	assert_int_equal(a->t_us, 30000000);
	assert_int_equal(a->line, 16);
	assert_int_equal(a->sets[0].n, 2);
	assert_int_equal(a->sets[0].items[1].lo, 10);
	assert_int_equal(a->sets[0].items[1].hi, 12);
	assert_int_equal(sc.acts[1].kind, SIM_ACT_PAUSE);
	assert_int_equal(sc.acts[1].d1_us, 10000000);
	a = &sc.acts[2];
	assert_int_equal(a->kind, SIM_ACT_PARTITION);
	assert_int_equal(a->nsets, 2);
	assert_int_equal(a->bridge.n, 1);
	assert_int_equal(a->bridge.items[0].lo, 99);
	a = &sc.acts[3];
	assert_int_equal(a->kind, SIM_ACT_SLOW);
	assert_int_equal(a->d1_us, 200000);
	assert_int_equal(a->d2_us, 60000000);
	a = &sc.acts[4];
	assert_int_equal(a->kind, SIM_ACT_CLOCK);
	assert_int_equal(a->i1, -2000000);
	assert_true(a->has_drift);
	assert_int_equal(a->i2, 300);
	a = &sc.acts[5];
	assert_int_equal(a->kind, SIM_ACT_NET);
	assert_int_equal(a->net.field, SIM_NETF_LOSS);
	assert_int_equal(a->nsets, 1);
	a = &sc.acts[6];
	assert_int_equal(a->kind, SIM_ACT_FLAP);
	assert_int_equal(a->d1_us, 2000000);
	a = &sc.acts[7];
	assert_int_equal(a->kind, SIM_ACT_CHURN);
	assert_true(a->flag);
	a = &sc.acts[8];
	assert_int_equal(a->kind, SIM_ACT_CUT);
	assert_int_equal(a->sets[0].items[0].kind, SIM_ITEM_ALL);
	assert_int_equal(a->sets[1].items[0].kind, SIM_ITEM_RANDOM);
	assert_int_equal(a->sets[1].items[0].lo, 3);
	a = &sc.acts[9];
	assert_int_equal(a->sets[0].items[0].kind, SIM_ITEM_PERCENT);
	assert_true(fabs(a->sets[0].items[0].frac - 0.1) < 1e-12);
	assert_int_equal(sc.acts[10].kind, SIM_ACT_HEAL);
	assert_int_equal(sc.acts[11].kind, SIM_ACT_EXPECT);
	assert_int_equal(sc.nexpects, 4);
	assert_int_equal(sc.expects[0].at_us, 95000000);
	assert_int_equal(sc.expects[1].metric,
			 sim_metric_find("dead_everywhere_p99"));
	assert_int_equal(sc.expects[1].op, SIM_OP_LT);
	assert_true(sc.expects[1].value == 15000.0); /* ms */
	assert_int_equal(sc.expects[1].at_us, UINT64_MAX);
	assert_int_equal(sc.expects[1].line, 27);
	assert_true(isinf(sc.expects[3].value));
	sim_scenario_release(&sc);
}

/* Parse text and expect an error whose message starts with prefix and
 * contains needle. */
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
test_errors_name_the_line(void **state)
{
	(void)state;
	expect_error("nodes 10\n\nfrobnicate 3\n",
		     "bad.scn:3:", "unknown word");
	expect_error("nodes 0\n", "bad.scn:1:", "nodes");
	expect_error("nodes ten\n", "bad.scn:1:", "nodes");
	expect_error("nodes 10 20\n", "bad.scn:1:", "unexpected '20'");
	expect_error("duration forever\n", "bad.scn:1:", "duration");
	expect_error("profile moon\n", "bad.scn:1:", "unknown profile");
	expect_error("set probe_intervl 1s\n",
		     "bad.scn:1:", "unknown profile knob");
	expect_error("set probe_interval fast\n", "bad.scn:1:", "bad value");
	expect_error("crypto maybe\n", "bad.scn:1:", "on or off");
	expect_error("# c\nat soon crash 1\n", "bad.scn:2:", "bad time");
	expect_error("at 1s\n", "bad.scn:1:", "missing action");
	expect_error("at 1s explode 3\n", "bad.scn:1:", "unknown action");
	expect_error("at 1s crash\n", "bad.scn:1:", "missing nodes to crash");
	expect_error("at 1s crash node-x\n", "bad.scn:1:", "bad node");
	expect_error("at 1s crash 9-3\n", "bad.scn:1:", "bad node");
	expect_error("at 1s crash 150%\n", "bad.scn:1:", "bad percentage");
	expect_error("at 1s partition 0-4\n", "bad.scn:1:", "two groups");
	expect_error("at 1s cut 0-4 5-9\n", "bad.scn:1:", "A -> B");
	expect_error("at 1s flap 0 | 1\n", "bad.scn:1:", "every");
	expect_error("at 1s slow 3 200ms\n", "bad.scn:1:", "is a time");
	expect_error("at 1s slow 3\n", "bad.scn:1:", "by DELAY");
	expect_error("at 1s clock 3\n", "bad.scn:1:", "offset");
	expect_error("at 1s clock 3 drift 5\n", "bad.scn:1:", "bad drift");
	expect_error("at 1s net loss 2\n", "bad.scn:1:", "bad loss");
	expect_error("at 1s net dup 1% on 3\n", "bad.scn:1:", "per node");
	expect_error("net loss 1% on 3\n", "bad.scn:1:", "timed");
	expect_error("at 1s net latency gamma 3ms\n",
		     "bad.scn:1:", "latency kind");
	expect_error("at 1s churn 2/s\n", "bad.scn:1:", "every");
	expect_error("at 1s bridge 3\n", "bad.scn:1:", "partition");
	expect_error("at 1s partition 0 | 1 | rest\nat 2s crash rest\n",
		     "bad.scn:2:", "rest");
	expect_error("expect digests\n", "bad.scn:1:", "METRIC OP VALUE");
	expect_error("expect nonsense == 1\n", "bad.scn:1:", "unknown metric");
	expect_error("expect digests =~ 1\n", "bad.scn:1:", "bad operator");
	expect_error("expect dead_everywhere_p99 < soon\n",
		     "bad.scn:1:", "bad time");
	expect_error("expect digests == one\n", "bad.scn:1:", "bad number");
	/* Found when the whole scenario is known. */
	expect_error("nodes 10\n\n\nat 5s crash node-12\n",
		     "bad.scn:4:", "node-12 does not exist");
	expect_error("nodes 10\nat 1s join 5\nat 5s crash node-14\n"
		     "at 6s crash node-15\n",
		     "bad.scn:4:", "node-15 does not exist");
	expect_error("nodes 10\nseeds 12\n", "bad.scn", "seed node-12");
	expect_error("set probe_timeout 2s\n", "bad.scn", "profile");
}

static void
test_small_parsers(void **state)
{
	uint64_t us;
	double f;

	(void)state;
	assert_int_equal(sim_parse_time_us("250us", &us), 0);
	assert_int_equal(us, 250);
	assert_int_equal(sim_parse_time_us("1.5ms", &us), 0);
	assert_int_equal(us, 1500);
	assert_int_equal(sim_parse_time_us("2", &us), 0); /* bare: ms */
	assert_int_equal(us, 2000);
	assert_int_equal(sim_parse_time_us("3m", &us), 0);
	assert_int_equal(us, 180000000);
	assert_int_not_equal(sim_parse_time_us("-1s", &us), 0);
	assert_int_not_equal(sim_parse_time_us("1 s", &us), 0);
	assert_int_not_equal(sim_parse_time_us("s", &us), 0);
	assert_int_equal(sim_parse_percent("10%", &f), 0);
	assert_true(fabs(f - 0.1) < 1e-12);
	assert_int_equal(sim_parse_percent("0.25", &f), 0);
	assert_true(fabs(f - 0.25) < 1e-12);
	assert_int_not_equal(sim_parse_percent("101%", &f), 0);
	assert_int_not_equal(sim_parse_percent("1.5", &f), 0);
	assert_int_not_equal(sim_parse_percent("x%", &f), 0);
}

static void
test_metric_names(void **state)
{
	(void)state;
	for (int k = 0; k < SIM_M__N; k++) {
		const struct sim_metric_info *mi = sim_metric_info(k);

		assert_non_null(mi);
		assert_non_null(mi->name);
		assert_int_equal(sim_metric_find(mi->name), k);
	}
	assert_int_equal(sim_metric_find("no_such_metric"), -1);
	assert_null(sim_metric_info(SIM_M__N));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors_name_the_line),
		cmocka_unit_test(test_small_parsers),
		cmocka_unit_test(test_metric_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
