/* SPDX-License-Identifier: MIT */
/*
 * sim/toy.h — a toy membership protocol behind the simulator's ops table.
 *
 * It exists to test the engine without the real node: it is small enough
 * to be obviously right, and it exercises every verb (datagrams, streams
 * both ways, timers, events, leave). Plain bytes, no crypto.
 *
 *   - join: a stream request to the seed, answered with the seed's member
 *     list; the seed floods "alive X" to everyone it knows;
 *   - failure detection: every probe interval, ping a random member; no
 *     ack by the next probe makes it suspect; a suspect not heard from for
 *     three intervals is declared dead and "dead X" is flooded;
 *   - leave: flood "left X", then LEAVE_DONE.
 *
 * No refutation, no indirect probes: a lossy network will give false
 * deaths, which is what the engine's tests want to see counted.
 */
#ifndef SHOAL_SIM_TOY_H
#define SHOAL_SIM_TOY_H

#include "sim/sim.h"

/* The toy's operations table, for sim_new() in place of
 * sim_node_ops_real(). A static table: never freed, and the same pointer
 * on every call. The toy ignores the ops context (sim/main.c
 * passes NULL); each node it creates belongs to the sim, which destroys it
 * through the table. It has no scheduler verbs, so a scenario with
 * services fails. */
const struct sim_node_ops *sim_toy_ops(void);

#endif
