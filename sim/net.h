/* SPDX-License-Identifier: MIT */
/*
 * sim/net.h — the virtual network: latency distributions, loss,
 * duplication, reordering, partitions, one-way cuts and flapping links.
 *
 * The network decides two things about a datagram sent from node s to node
 * d: whether it arrives (sim_net_blocked(), then loss) and after how long
 * (sim_net_delay()). Streams use the same links, but TCP hides loss behind
 * retransmissions, so a stream frame is never lost: it is late
 * (sim_net_stream_delay()) or, when the link is blocked, the stream fails.
 *
 * Randomness is always an argument: the engine passes the sending node's
 * own network stream, so that what one node's packets draw never shifts
 * what another's do.
 *
 * Connectivity is the conjunction of four rules, checked in this order:
 *   1. an isolated node reaches nobody and nobody reaches it;
 *   2. while a partition is in force, s reaches d only when both are in the
 *      same group (unlisted nodes form group 0) or either is a bridge;
 *   3. each active cut (A -> B) drops what goes from A to B;
 *   4. otherwise the link is up.
 * Flapping links are cuts in both directions whose `active` flag the
 * engine toggles.
 *
 * Memory: per node 16 bytes here (group, flags, loss, latency override
 * index), plus two bitsets of the node count per cut.
 */
#ifndef SHOAL_SIM_NET_H
#define SHOAL_SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

enum sim_lat_kind {
	SIM_LAT_CONST = 0,   /* a_us */
	SIM_LAT_UNIFORM = 1, /* uniform in [a_us, b_us] */
	SIM_LAT_EXP = 2,     /* a_us + exponential with mean b_us */
};

struct sim_latency {
	uint32_t kind; /* enum sim_lat_kind */
	uint64_t a_us;
	uint64_t b_us;
};

/* The network's knobs. Probabilities are fractions in [0, 1]. */
struct sim_net_params {
	struct sim_latency lat;
	double tail_p;	     /* rare heavy tail: with this probability... */
	uint64_t tail_us;    /* ...add a Pareto(1.5) delay of this scale */
	double loss;	     /* datagram loss */
	double dup;	     /* datagram duplication */
	double reorder_p;    /* with this probability... */
	uint64_t reorder_us; /* ...hold a datagram up to this much longer */
	uint64_t spread_us;  /* each link gets a fixed extra in [0, spread) */
	uint64_t bandwidth;  /* stream transfer rate, bytes per second */
	uint64_t rto_us;     /* stream: added per lost segment */
};

/* Defaults for a LAN: 100 us + exp(150 us), 0.01% tail of 10 ms scale, no
 * loss, 1 GB/s streams, 200 ms RTO. */
void sim_net_params_default(struct sim_net_params *np);

/* One draw from a latency distribution. */
uint64_t sim_latency_draw(const struct sim_latency *l, struct rng *r);

/* Heavy tail cap: no single delay grows beyond this. */
#define SIM_TAIL_CAP_US (60ull * 1000 * 1000)

enum sim_node_netflag {
	SIM_NET_ISOLATED = 1,
	SIM_NET_BRIDGE = 2,
};

struct sim_cut {
	uint64_t *a, *b; /* bitsets over node indices (cap bits) */
	uint32_t cap;
	bool active;
	bool flap; /* toggled by the engine */
};

struct sim_net {
	struct sim_net_params p;
	uint64_t link_seed; /* for the per-link fixed extra */
	bool partitioned;
	uint32_t epoch;	    /* bumped by sim_net_heal(): flap events check it */
	uint32_t cap;	    /* per-node arrays */
	uint16_t *group;    /* partition group, 0 = unlisted */
	uint8_t *flags;	    /* enum sim_node_netflag */
	float *node_loss;   /* extra loss on every link of the node */
	uint32_t *node_lat; /* 1-based index into lats, 0 = none */
	struct sim_latency *lats; /* extra latency distributions */
	uint32_t nlats;
	struct sim_cut *cuts;
	uint32_t ncuts;
};

int sim_net_init(struct sim_net *net, const struct sim_net_params *p,
		 uint64_t link_seed, uint32_t nodes);
void sim_net_release(struct sim_net *net);

/* Make room for node indices < n. 0 or ERR_NOMEM. */
int sim_net_grow(struct sim_net *net, uint32_t n);

/* Is the link s -> d cut right now (isolation, partition, cuts)? */
bool sim_net_blocked(const struct sim_net *net, uint32_t s, uint32_t d);

/* Does any network fault touch node i (for "disturbed" accounting)? */
bool sim_net_touches(const struct sim_net *net, uint32_t i);

/* Loss probability of the link s -> d. */
double sim_net_loss(const struct sim_net *net, uint32_t s, uint32_t d);

/* One-way delay of a datagram on s -> d, drawn from r. */
uint64_t sim_net_delay(const struct sim_net *net, uint32_t s, uint32_t d,
		       struct rng *r);

/* One-way delay of a stream frame of len bytes on s -> d: a datagram delay,
 * plus the transfer time, plus an RTO for every segment lost. */
uint64_t sim_net_stream_delay(const struct sim_net *net, uint32_t s, uint32_t d,
			      size_t len, struct rng *r);

/* Partition into groups: group[i] for each node (0 = unlisted). */
void sim_net_partition(struct sim_net *net, const uint16_t *group, uint32_t n);

/* Add a cut from the nodes in set a to those in set b (bitsets of cap
 * bits). Returns the cut's index or ERR_NOMEM. */
int sim_net_add_cut(struct sim_net *net, const uint64_t *a, const uint64_t *b,
		    uint32_t cap, bool flap);

/* Set or clear a node's isolation / bridge flag. */
void sim_net_set_flag(struct sim_net *net, uint32_t i, unsigned flag, bool on);

/* Per-node extra loss (fraction) and extra latency (NULL clears). */
void sim_net_set_node_loss(struct sim_net *net, uint32_t i, double loss);
int sim_net_set_node_latency(struct sim_net *net, uint32_t i,
			     const struct sim_latency *l);

/* Undo partitions, cuts, flaps, bridges and isolation (not loss/latency). */
void sim_net_heal(struct sim_net *net);

/* Bitset helpers shared by the engine. */
static inline bool
sim_bit_get(const uint64_t *bits, uint32_t cap, uint32_t i)
{
	return i < cap && (bits[i / 64] >> (i % 64)) & 1;
}

static inline void
sim_bit_set(uint64_t *bits, uint32_t i)
{
	bits[i / 64] |= 1ull << (i % 64);
}

static inline size_t
sim_bit_words(uint32_t cap)
{
	return (cap + 63) / 64;
}

#endif
