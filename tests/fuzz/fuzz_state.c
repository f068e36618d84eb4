/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_state.c — the replicated-state merge on arbitrary bytes.
 *
 * The input is one message as gossip would deliver it (a delta) or as
 * push-pull would (a full state); the first byte picks which and whether
 * the receiving replica starts empty or already holds a service with
 * slots, reports, a claim and voter records. Whatever the bytes:
 *
 *   - a refused message leaves the replica exactly as it was (its digest
 *     is unchanged);
 *   - an accepted one, merged a second time, changes nothing (idempotence;
 *     unless it carried fragments: a reassembly buffers partial input, so
 *     hostile fragments may complete differently on a second pass);
 *   - the replica's full state, merged into an empty replica, reproduces it
 *     (same digest), and every delta it queued merges cleanly.
 *
 * Seeds (corpus/fuzz_state/) are messages written by state itself: deltas
 * of each record kind, fragments of a large spec, a full state.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/intern.h"
#include "sched/state.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000000ULL

static struct state *
replica(struct intern *pool, const char *self, int prefill)
{
	struct state_config cfg = {.self = self};
	struct state *st;
	struct spec s;
	const char *argv[] = {"/bin/true"};
	struct state_task t = {.service = "web",
			       .slot = 1,
			       .state = TASK_RUNNING,
			       .msg = "ok"};
	struct buf b;
	int err;

	st = state_new(&cfg, pool, &err);
	FUZZ_CHECK(st != NULL);
	if (!prefill)
		return st;
	spec_init(&s);
	spec_set_name(&s, "web", NULL, 0);
	spec_set_args(&s, argv, 1, NULL, 0);
	s.replicas = 3;
	FUZZ_CHECK(state_service_create(st, NOW, &s, NULL, 0) == 0);
	FUZZ_CHECK(state_slot_set(st, NOW, 2, "web", 0, "node-b", 0) == 0);
	FUZZ_CHECK(state_task_report(st, NOW, &t) == 0);
	FUZZ_CHECK(state_node_set_avail(st, NOW, "node-c", STATE_DRAIN) == 0);
	FUZZ_CHECK(state_set_claim(st, 2, "node-b") == 0);
	FUZZ_CHECK(state_voter_set(st, NOW, "node-d", 7, true, false) == 1);
	FUZZ_CHECK(state_voter_set(st, NOW, "node-e", 3, false, true) == 1);
	buf_init(&b, 1 << 16);
	while (state_pop_delta(st, &b))
		;
	buf_release(&b);
	spec_destroy(&s);
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct intern pool;
	struct state *st, *copy;
	struct buf full, d;
	uint64_t before;
	int rc, mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	intern_init(&pool);
	st = replica(&pool, "node-a", mode & 2);
	before = state_digest(st);
	rc = mode & 1 ? state_merge_full(st, NOW, data, size)
		      : state_merge_delta(st, NOW, data, size);
	if (rc < 0) {
		FUZZ_CHECK(state_digest(st) == before);
	} else {
		uint64_t after = state_digest(st);
		uint64_t frags = state_stats(st)->frags_in;

		rc = mode & 1 ? state_merge_full(st, NOW, data, size)
			      : state_merge_delta(st, NOW, data, size);
		FUZZ_CHECK(rc >= 0);
		if (!frags) {
			FUZZ_CHECK(rc == 0);
			FUZZ_CHECK(state_digest(st) == after);
		}
	}
	/* The full state reproduces the replica; queued deltas merge. */
	buf_init(&full, 64u << 20);
	FUZZ_CHECK(state_encode_full(st, &full) == 0);
	copy = replica(&pool, "node-z", 0);
	FUZZ_CHECK(state_merge_full(copy, NOW, full.data, full.len) >= 0);
	FUZZ_CHECK(state_digest(copy) == state_digest(st));
	buf_init(&d, 1 << 16);
	while (state_pop_delta(st, &d))
		FUZZ_CHECK(state_merge_delta(copy, NOW, d.data, d.len) >= 0);
	FUZZ_CHECK(state_digest(copy) == state_digest(st));
	state_tick(st, NOW + 48ull * 3600 * 1000);
	buf_release(&d);
	buf_release(&full);
	state_delete(copy);
	state_delete(st);
	intern_destroy(&pool);
	return 0;
}
