/* SPDX-License-Identifier: MIT */
/*
 * sched/place.h — the slot table logic: which node runs each (service,
 * slot).
 *
 * The manager calls place_run() with the nodes it knows (their state and
 * tags) and, for every service, its spec and its current slot table (a
 * node index per slot). place_run() edits the tables in place and lists
 * every change. It is a pure function of its input: the same nodes (in any
 * order) and the same tables give the same result on every manager.
 *
 * Rules:
 *
 *   - Stability: a slot keeps its node while that node is up, paused or
 *     suspect, satisfies the service's constraints, and does not hold more
 *     than max_per_node slots of the service. Only slots that need a node
 *     get one: new slots; slots on a node that is down (failed, left,
 *     unknown) or draining or no longer satisfies the constraints; slots
 *     above max_per_node. Scale down removes the highest slots.
 *   - Choice: candidates are ranked by consistent hashing of (service,
 *     slot) with XXH3 — a ring with `vnodes` points per node (PLACE_RING)
 *     or rendezvous / highest-random-weight ranking (PLACE_HRW) — and the
 *     first that can take the slot wins (with choices = 2, the one with
 *     fewer slots of the first two that can). "Can take": up (alive and
 *     active), satisfies the constraints, and stays within max_per_node
 *     (hard rules), within the per-service cap ceil(R / E) (E = up nodes
 *     that satisfy the constraints) and within the global bounded-load cap
 *     ceil((1 + eps) * average) (soft rules). When no node satisfies the
 *     soft rules the global cap is relaxed first, then the per-service
 *     cap; a slot no node can take under the hard rules stays without a
 *     node (counted in `unplaced`).
 *   - Rebalancing: after nodes join (or come back to active), slots move
 *     toward the bands [floor(R / E), ceil(R / E)] per service and
 *     [floor((1 - eps) * average), ceil((1 + eps) * average)] per node, at
 *     most `rebalance_parallelism` minus `inflight` moves per run. A move
 *     is made only if it strictly reduces the total distance of all nodes
 *     to their bands, so rebalancing terminates and never undoes itself,
 *     and it moves no more slots than the distance it removes: the
 *     minimum.
 *   - Rejections (replicated services): the caller may name, per
 *     service, nodes to avoid (they rejected one of its tasks lately:
 *     they keep what they hold and take no new slot of it, as a paused
 *     node does) and slots whose node rejected them. Such a slot moves to
 *     the first other node that can take it within every cap, soft ones
 *     included (PLACE_WHY_REJECTED: a task that may fail again does not
 *     crowd a node and push healthy slots away), and stays where it is
 *     when none can: a rejected slot is never left without a node.
 *   - Global mode: one slot on every up node that satisfies the
 *     constraints (kept on paused and suspect nodes, removed from nodes
 *     that are down, draining or no longer match; a new node takes the
 *     lowest free slot index). Global slots do not count toward loads;
 *     rejections do not apply to them.
 *
 * Only up nodes count for E and for the average load; slots kept on
 * paused or suspect nodes count toward nothing and are never moved by
 * rebalancing.
 *
 * Bounds: at most PLACE_NODES_MAX nodes and PLACE_SERVICES_MAX services per
 * run; a replicated service has at most SPEC_REPLICAS_MAX slots, a global
 * one at most one per node (the caller's `cap`).
 *
 * Ownership: struct place holds scratch memory and the ring, reused across
 * runs; everything passed to place_run() is the caller's and is only
 * borrowed for the call.
 */
#ifndef SHOAL_SCHED_PLACE_H
#define SHOAL_SCHED_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sched/spec.h"

#define PLACE_NONE	   UINT32_MAX
#define PLACE_NODES_MAX	   65536
#define PLACE_SERVICES_MAX 4096
#define PLACE_VNODES_MAX   1024

enum place_node_state {
	PLACE_UP = 0,	   /* alive and active: keeps its slots, takes new */
	PLACE_PAUSED = 1,  /* alive, paused: keeps its slots, takes none */
	PLACE_SUSPECT = 2, /* suspected: keeps its slots until the verdict */
	PLACE_DRAIN = 3,   /* alive, draining: its slots move away */
	PLACE_DOWN = 4,	   /* failed, left or unknown: its slots move away */
};

struct place_node {
	const char *name; /* unique */
	enum place_node_state state;
	const struct spec_tag *tags; /* for constraints */
	size_t ntags;
};

struct place_service {
	const struct spec *spec; /* name, mode, replicas, constraints, max */
	uint32_t *slots;	 /* in/out: node index per slot or PLACE_NONE */
	uint32_t nslots;	 /* in/out: entries in use */
	uint32_t cap;		 /* capacity of slots[] */
	/* in, optional (n = 0: none): node indices that take no new slot of
	 * this service (see Rejections above) */
	const uint32_t *avoid;
	uint32_t navoid;
	/* in, optional: slot indices, ascending, whose node rejected them */
	const uint32_t *rejected;
	uint32_t nrejected;
	/* out */
	uint32_t unplaced; /* slots < replicas left without a node */
	uint32_t eligible; /* up nodes that satisfy the constraints */
};

enum place_algo {
	PLACE_RING = 0, /* consistent-hash ring with virtual nodes */
	PLACE_HRW = 1,	/* rendezvous (highest random weight) */
};

struct place_config {
	enum place_algo algo;
	uint32_t vnodes;		/* ring points per node, 1..1024 */
	double eps;			/* load slack, 0..1 (bounded loads) */
	uint32_t choices;		/* 1: first admissible node; 2: the
					 * less loaded of the first two */
	uint32_t rebalance_parallelism; /* moves per run, 0 = never rebalance */
};

enum place_why {
	PLACE_WHY_NEW = 1,	    /* a slot without a node */
	PLACE_WHY_DOWN = 2,	    /* its node failed, left or is unknown */
	PLACE_WHY_DRAIN = 3,	    /* its node drains */
	PLACE_WHY_CONSTRAINT = 4,   /* its node no longer satisfies them */
	PLACE_WHY_MAX_PER_NODE = 5, /* above max replicas per node */
	PLACE_WHY_REBALANCE = 6,    /* moved toward the balance bands */
	PLACE_WHY_SCALE_DOWN = 7,   /* removed: slot >= replicas */
	PLACE_WHY_GLOBAL = 8,	    /* global slot added for a new node */
	PLACE_WHY_REJECTED = 9,	    /* its node rejected the task */
};

struct place_change {
	uint32_t service; /* index into the services array */
	uint32_t slot;
	uint32_t from, to; /* node indices, PLACE_NONE for none */
	enum place_why why;
};

struct place_stats {
	uint64_t placed;       /* slots given a node */
	uint64_t relaxed;      /* of which above a soft cap */
	uint64_t removed;      /* slots emptied (scale down, node gone) */
	uint64_t rebalanced;   /* rebalancing moves */
	uint64_t unplaced;     /* slots left without a node */
	uint64_t walk_steps;   /* ring points / HRW scores examined */
	uint64_t ring_builds;  /* times the ring was rebuilt */
	uint32_t cap_global;   /* last run: ceil((1 + eps) * average) */
	uint32_t floor_global; /* last run: floor((1 - eps) * average) */
};

struct place_point;
struct place_nkey;

struct place {
	struct place_config cfg;
	struct place_stats stats;
	/* ring, rebuilt when the node list changes */
	struct place_point *ring;
	size_t nring;
	size_t ring_cap;
	uint64_t ring_key;
	/* per-node scratch */
	size_t nodes_cap;
	uint64_t *nh;		 /* hash of each node's name */
	uint32_t *load;		 /* replicated slots on each up node */
	uint32_t *cnt;		 /* slots of the current service on each node */
	uint8_t *flags;		 /* per node, for the current service */
	uint8_t *mark;		 /* per node, scratch */
	uint32_t *list;		 /* scratch list of node indices */
	struct place_nkey *keys; /* scratch (node hash, index) pairs */
	/* per-slot scratch: slots that need a node, and why */
	uint32_t *needy;
	uint8_t *needy_why;
	size_t needy_cap;
	/* per-service scratch */
	size_t svcs_cap;
	uint32_t *order; /* services sorted by name */
	uint32_t *lo, *hi;
	uint8_t *oob; /* per service: some up node is outside its band */
	uint64_t *sh; /* hash of each service's name */
};

/* Defaults (docs/SCHEDULING.md has the measurements behind them): ring,
 * 64 points per node, eps 0.10, two choices, rebalance 4 at a time. */
void place_config_default(struct place_config *cfg);

/* 0 or ERR_INVAL (a field out of range). */
int place_init(struct place *p, const struct place_config *cfg);
void place_destroy(struct place *p);

/* One placement round (see the rules above). Changes are written to
 * out[0..*nout) in the order they were made; when out is full the round
 * stops making changes (what remains is done by the next round), so
 * out_cap is also a rate limit. inflight: rebalancing moves the caller
 * still waits on (their new task is not running yet).
 *
 * 0, ERR_INVAL (a slot or an avoided node refers to a node index >=
 * nnodes, rejected slots are not ascending or not below cap, or more nodes
 * or services than the bounds), ERR_RANGE (a service's cap is below its
 * replicas) or ERR_NOMEM. On error nothing was changed. */
int place_run(struct place *p, const struct place_node *nodes, size_t nnodes,
	      struct place_service *svcs, size_t nsvcs, uint32_t inflight,
	      struct place_change *out, size_t out_cap, size_t *nout);

/* Name of a reason ("new", "node-down", ...). */
const char *place_why_name(enum place_why why);

#endif
