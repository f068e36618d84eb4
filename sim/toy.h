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

const struct sim_node_ops *sim_toy_ops(void);

#endif
