/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sim_net_test.c — sim/net: the virtual network's rules.
 *
 * Connectivity (partitions, bridges, isolation, one-way cuts, heal), loss
 * composition, and the latency distributions' bounds and means, all with
 * fixed seeds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/rng.h"
#include "sim/net.h"

static void
test_latency_distributions(void **state)
{
	struct sim_latency c = {SIM_LAT_CONST, 700, 0};
	struct sim_latency u = {SIM_LAT_UNIFORM, 100, 300};
	struct sim_latency e = {SIM_LAT_EXP, 100, 400};
	struct rng r;
	double sum = 0;
	const int n = 200000;

	(void)state;
	rng_seed(&r, 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(sim_latency_draw(&c, &r), 700);
	for (int i = 0; i < n; i++) {
		uint64_t x = sim_latency_draw(&u, &r);

		assert_true(x >= 100 && x <= 300);
		sum += (double)x;
	}
	assert_true(fabs(sum / n - 200) < 2);
	sum = 0;
	for (int i = 0; i < n; i++) {
		uint64_t x = sim_latency_draw(&e, &r);

		assert_true(x >= 100);
		sum += (double)x;
	}
	assert_true(fabs(sum / n - 500) < 10); /* floor + mean */
}

static void
test_partition_bridge_isolate_heal(void **state)
{
	struct sim_net_params p;
	struct sim_net net;
	uint16_t group[8] = {1, 1, 1, 2, 2, 2, 0, 0};

	(void)state;
	sim_net_params_default(&p);
	assert_int_equal(sim_net_init(&net, &p, 7, 8), 0);
	assert_false(sim_net_blocked(&net, 0, 5));
	sim_net_partition(&net, group, 8);
	assert_false(sim_net_blocked(&net, 0, 2)); /* same group */
	assert_true(sim_net_blocked(&net, 0, 3));  /* across, both ways */
	assert_true(sim_net_blocked(&net, 3, 0));
	assert_true(sim_net_blocked(&net, 6, 0)); /* unlisted: group 0 */
	assert_false(sim_net_blocked(&net, 6, 7));
	assert_true(sim_net_touches(&net, 6));
	sim_net_set_flag(&net, 2, SIM_NET_BRIDGE, true);
	assert_false(sim_net_blocked(&net, 2, 4)); /* the bridge sees all */
	assert_false(sim_net_blocked(&net, 5, 2));
	assert_true(sim_net_blocked(&net, 1, 4));
	sim_net_heal(&net);
	assert_false(sim_net_blocked(&net, 1, 4));
	assert_false(sim_net_touches(&net, 6));
	sim_net_set_flag(&net, 4, SIM_NET_ISOLATED, true);
	assert_true(sim_net_blocked(&net, 4, 0));
	assert_true(sim_net_blocked(&net, 0, 4));
	assert_false(sim_net_blocked(&net, 0, 1));
	sim_net_heal(&net);
	assert_false(sim_net_blocked(&net, 0, 4));
	sim_net_release(&net);
}

static void
test_one_way_cut(void **state)
{
	struct sim_net_params p;
	struct sim_net net;
	uint64_t a[1] = {0x03}, b[1] = {0x0c}; /* {0,1} -> {2,3} */
	int c;

	(void)state;
	sim_net_params_default(&p);
	assert_int_equal(sim_net_init(&net, &p, 7, 4), 0);
	c = sim_net_add_cut(&net, a, b, 4, false);
	assert_true(c >= 0);
	assert_true(sim_net_blocked(&net, 0, 2));
	assert_true(sim_net_blocked(&net, 1, 3));
	assert_false(sim_net_blocked(&net, 2, 0)); /* the other way works */
	assert_false(sim_net_blocked(&net, 0, 1));
	net.cuts[c].active = false; /* a flap unclogs it */
	assert_false(sim_net_blocked(&net, 0, 2));
	sim_net_release(&net);
}

static void
test_loss_composition_and_rate(void **state)
{
	struct sim_net_params p;
	struct sim_net net;
	struct rng r;
	int lost = 0;
	const int n = 100000;

	(void)state;
	sim_net_params_default(&p);
	p.loss = 0.1;
	assert_int_equal(sim_net_init(&net, &p, 7, 4), 0);
	assert_true(fabs(sim_net_loss(&net, 0, 1) - 0.1) < 1e-12);
	sim_net_set_node_loss(&net, 1, 0.5);
	/* 1 - 0.9 * 0.5 */
	assert_true(fabs(sim_net_loss(&net, 0, 1) - 0.55) < 1e-6);
	assert_true(fabs(sim_net_loss(&net, 1, 0) - 0.55) < 1e-6);
	assert_true(sim_net_touches(&net, 1));
	rng_seed(&r, 3);
	for (int i = 0; i < n; i++)
		lost += rng_double(&r) < sim_net_loss(&net, 0, 1);
	assert_true(fabs((double)lost / n - 0.55) < 0.01);
	sim_net_release(&net);
}

static void
test_link_spread_and_stream_delay(void **state)
{
	struct sim_net_params p;
	struct sim_net net;
	struct rng r1, r2;
	uint64_t d_small, d_big;

	(void)state;
	sim_net_params_default(&p);
	p.lat.kind = SIM_LAT_CONST;
	p.lat.a_us = 100;
	p.tail_p = 0;
	p.spread_us = 1000;
	p.bandwidth = 1000000; /* 1 MB/s: 1 us per byte */
	assert_int_equal(sim_net_init(&net, &p, 7, 4), 0);
	rng_seed(&r1, 1);
	rng_seed(&r2, 2);
	/* The per-link extra is fixed and the same both ways. */
	assert_int_equal(sim_net_delay(&net, 0, 3, &r1),
			 sim_net_delay(&net, 3, 0, &r2));
	assert_true(sim_net_delay(&net, 0, 3, &r1) < 1100);
	d_small = sim_net_stream_delay(&net, 0, 3, 10, &r1);
	d_big = sim_net_stream_delay(&net, 0, 3, 100010, &r1);
	assert_int_equal(d_big - d_small, 100000);
	sim_net_release(&net);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latency_distributions),
		cmocka_unit_test(test_partition_bridge_isolate_heal),
		cmocka_unit_test(test_one_way_cut),
		cmocka_unit_test(test_loss_composition_and_rate),
		cmocka_unit_test(test_link_spread_and_stream_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
