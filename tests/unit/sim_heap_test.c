/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sim_heap_test.c — sim/heap: the event queue's order.
 *
 * The heap must pop by time, and events at the same time in the order they
 * were pushed (that is what makes a simulation deterministic). Random
 * pushes come from a fixed seed, so a failure reproduces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/rng.h"
#include "sim/heap.h"

static void
test_empty(void **state)
{
	struct sim_heap h;
	struct sim_ev ev;

	(void)state;
	sim_heap_init(&h);
	assert_false(sim_heap_pop(&h, &ev));
	assert_null(sim_heap_peek(&h));
	sim_heap_release(&h);
}

static void
test_time_then_push_order(void **state)
{
	struct sim_heap h;
	struct sim_ev ev = {0}, out;
	struct rng r;
	uint64_t last_t = 0;
	uint32_t last_a = 0;
	const uint32_t n = 20000;

	(void)state;
	sim_heap_init(&h);
	rng_seed(&r, 12345);
	for (uint32_t i = 0; i < n; i++) {
		/* Few distinct times, so ties are common. */
		ev.t_us = rng_below(&r, 50);
		ev.a = i; /* push order */
		assert_int_equal(sim_heap_push(&h, &ev), 0);
	}
	assert_int_equal(sim_heap_len(&h), n);
	assert_true(h.peak >= n);
	for (uint32_t i = 0; i < n; i++) {
		assert_true(sim_heap_pop(&h, &out));
		assert_true(out.t_us >= last_t);
		if (i && out.t_us == last_t)
			assert_true(out.a > last_a); /* ties: push order */
		last_t = out.t_us;
		last_a = out.a;
	}
	assert_false(sim_heap_pop(&h, &out));
	sim_heap_release(&h);
}

static void
test_interleaved(void **state)
{
	struct sim_heap h;
	struct sim_ev ev = {0}, out;
	struct rng r;
	uint64_t now = 0;

	(void)state;
	sim_heap_init(&h);
	rng_seed(&r, 99);
	/* Like the engine: pop one, push a few into the future. */
	ev.t_us = 0;
	sim_heap_push(&h, &ev);
	for (int i = 0; i < 50000 && sim_heap_pop(&h, &out); i++) {
		assert_true(out.t_us >= now);
		now = out.t_us;
		for (uint64_t k = rng_below(&r, 3); k > 0; k--) {
			ev.t_us = now + rng_below(&r, 1000);
			sim_heap_push(&h, &ev);
		}
		if (!sim_heap_len(&h)) {
			ev.t_us = now + 1;
			sim_heap_push(&h, &ev);
		}
	}
	sim_heap_release(&h);
}

static void
test_seq_stamped(void **state)
{
	struct sim_heap h;
	struct sim_ev ev = {.t_us = 5, .seq = 777}, out;

	(void)state;
	sim_heap_init(&h);
	sim_heap_push(&h, &ev);
	sim_heap_push(&h, &ev);
	assert_true(sim_heap_pop(&h, &out));
	assert_int_equal(out.seq, 0); /* the caller's seq is ignored */
	assert_true(sim_heap_pop(&h, &out));
	assert_int_equal(out.seq, 1);
	sim_heap_release(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_time_then_push_order),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_seq_stamped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
