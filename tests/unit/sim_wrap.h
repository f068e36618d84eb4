/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sim_wrap.h — a node kind that wraps another, for the unit
 * tests that watch what the simulator does with its nodes (the spies of
 * sim_engine_test and gossip_sim_test).
 *
 * A spy's node object begins with the wrapped node's pointer (a `void
 * *inner` first member). A spy writes the operations it watches;
 * sim_wrap_fill() gives every other operation it leaves NULL of those that
 * merely ask or steer (next_deadline, join, leave, digest, member_count,
 * count_state, memory, health, drops) a version that forwards to the
 * wrapped kind. Operations the wrapped kind lacks stay NULL. The wrapped
 * kind is kept in a static: one at a time, as the tests are
 * single-threaded; call sim_wrap_fill() again when it changes.
 */
#ifndef SHOAL_TESTS_SIM_WRAP_H
#define SHOAL_TESTS_SIM_WRAP_H

#include "sim/sim.h"

void sim_wrap_fill(struct sim_node_ops *ops, const struct sim_node_ops *inner);

#endif
