/* SPDX-License-Identifier: MIT */
/*
 * sim/sim.h — shoal-sim's engine: many virtual nodes, one virtual clock,
 * one virtual network, in one process.
 *
 * A run is described by a scenario (sim/scenario.h: node count, seed,
 * profile, network, timed faults, expectations) and executed by
 * sim_run(). Each virtual node is an opaque object driven through a small
 * table of operations (struct sim_node_ops) that mirrors the sans-I/O verbs
 * of sched/node.h one for one. sim_node_ops_real() drives the real `struct
 * node`; sim_toy_ops() (sim/toy.h) drives a toy protocol used to test the
 * engine itself.
 *
 * Time: the engine counts microseconds from the start of the run. A node
 * sees its own clock, in milliseconds since the Unix epoch:
 *
 *   local = epoch + t + offset + drift * t    (made monotonic)
 *
 * so clock faults change only what a node reads, never the order of events.
 *
 * Randomness: every draw comes from a stream derived from the run seed with
 * rng_stream(): one per node for its protocol (its config seed, which also
 * makes its nonces), one per node for the network (what its packets draw),
 * one per node life for its emulated process driver (sim/sched.c: start
 * and stop delays), and one for the faults (random victims, churn). Adding
 * a fault does not change what any node draws.
 *
 * Determinism: given the same scenario and seed, the sequence of events,
 * every byte delivered and every metric is the same on every run. The
 * trace hash (XXH3 over every delivered or dropped frame: time, source,
 * destination, kind and a hash of its bytes) certifies it.
 *
 * Ownership: the sim owns the nodes, the intern pool they share, the
 * keyring and every packet in flight. The ops table and its context are
 * borrowed. Nothing here is thread-safe; one sim belongs to one thread.
 */
#ifndef SHOAL_SIM_SIM_H
#define SHOAL_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "core/addr.h"
#include "core/crypto.h"
#include "core/intern.h"
#include "gossip/profile.h"
#include "gossip/swim.h"
#include "sched/node.h"

struct sim_scenario;

/* Port every virtual node listens on. */
#define SIM_PORT 7946
/* Most virtual nodes a run may ever hold (the address space 10.0.0.1 ..
 * 10.255.255.254 minus one). */
#define SIM_NODES_MAX (1u << 23)
/* Cluster label every node seals with. */
#define SIM_CLUSTER "shoal-sim"

/* Virtual address of node i: 10.x.y.z:7946 with x.y.z = i + 1. */
void sim_addr_of(uint32_t i, struct addr *a);
/* The index behind a virtual address, or -1 when it is not one. */
int64_t sim_index_of(const struct addr *a);
/* Name of node i: "node-<i>". out must hold SWIM_NAME_MAX + 1 bytes. */
void sim_name_of(uint32_t i, char *out);
/* The index behind a node name, or -1. */
int64_t sim_index_of_name(const char *name);

/* What a node is made from. */
struct sim_node_spec {
	uint32_t index;
	uint32_t generation; /* 0 at first start, +1 per restart */
	const char *name;
	struct addr addr;
	uint64_t
		start_ms; /* the node's own clock at start: first incarnation */
	uint64_t seed;	  /* the node's PRNG seed */
	const struct profile *prof;
	const struct keyring *keyring; /* empty: unencrypted */
	const char *cluster;
	struct intern *pool;	     /* shared by every node of the run */
	const struct log *log;	     /* NULL: the node logs nothing */
	const struct node_tag *tags; /* tags it starts with (node_config) */
	unsigned ntags;
};

/*
 * The verbs a virtual node answers, one for one with sched/node.h. The
 * engine calls them only from its own loop and never re-enters a node.
 * Pointers handed out by pop_out stay valid until the next call on that
 * node; the engine copies the bytes at once.
 */
struct sim_node_ops {
	const char *name;
	void *(*create)(void *ctx, const struct sim_node_spec *spec, int *err);
	void (*destroy)(void *ctx, void *n);
	void (*recv)(void *n, uint64_t now_ms, const struct addr *from,
		     const uint8_t *p, size_t len);
	void (*recv_stream)(void *n, uint64_t now_ms, uint32_t conn_id,
			    const struct addr *from, const uint8_t *p,
			    size_t len);
	void (*stream_reply)(void *n, uint64_t now_ms, uint32_t stream_id,
			     const uint8_t *p, size_t len);
	void (*stream_failed)(void *n, uint64_t now_ms, uint32_t stream_id);
	void (*tick)(void *n, uint64_t now_ms);
	/* UINT64_MAX when nothing is scheduled. */
	uint64_t (*next_deadline)(const void *n);
	bool (*pop_out)(void *n, struct swim_out *out);
	bool (*pop_event)(void *n, struct node_event *ev);
	int (*join)(void *n, uint64_t now_ms, const struct addr *seeds,
		    size_t nseeds);
	int (*leave)(void *n, uint64_t now_ms);

	/* Read-only queries for metrics. */
	uint64_t (*digest)(const void *n);
	size_t (*member_count)(const void *n);
	size_t (*count_state)(const void *n, enum swim_state st);
	size_t (*memory)(const void *n);
	unsigned (*health)(const void *n);
	/* Frames the node refused (every drop reason summed). */
	uint64_t (*drops)(const void *n);
	/* Print the node's member table, one member a line (may be NULL). */
	void (*dump)(const void *n, FILE *f);
	/* Warm start (may be NULL): the node's own entry (name, address,
	 * incarnation, metadata; pointers valid until the next call on the
	 * node), and node_preload() of a converged view. */
	bool (*self_info)(const void *n, struct swim_member_info *out);
	size_t (*preload)(void *n, uint64_t now_ms,
			  const struct swim_member_info *m, size_t count);
	/* preload() of a view prepared once for every node (may be NULL;
	 * then preload() is used): node_preload_view(). */
	size_t (*preload_view)(void *n, uint64_t now_ms, struct swim_view *v);

	/* Scheduling (sched/node.h), NULL for node kinds without it (the
	 * toy): scenario lines that need it are then refused at run time.
	 * Returns as the node_* function of the same name. */
	int (*service_create)(void *n, uint64_t now_ms, const struct spec *s,
			      char *why, size_t why_cap);
	int (*service_update)(void *n, uint64_t now_ms, const struct spec *s,
			      char *why, size_t why_cap);
	int (*service_scale)(void *n, uint64_t now_ms, const char *name,
			     uint32_t replicas, char *why, size_t why_cap);
	int (*service_remove)(void *n, uint64_t now_ms, const char *name);
	int (*set_availability)(void *n, uint64_t now_ms, const char *name,
				enum state_avail a);
	int (*set_tags)(void *n, uint64_t now_ms, const struct node_tag *tags,
			unsigned ntags);
	int (*force_leave)(void *n, uint64_t now_ms, const char *name);
	int (*task_report)(void *n, uint64_t now_ms,
			   const struct state_task *t);
	const struct state *(*state)(const void *n);
};

/* The real `struct node` (sched/node.h). */
const struct sim_node_ops *sim_node_ops_real(void);

/* Options that shape the program, not the simulation. */
struct sim_run_opts {
	bool progress; /* progress bar on stderr */
	FILE *log;     /* node log lines (NULL: none) */
	int log_level; /* enum log_level, with log */
	/* When non-NULL and it becomes non-zero (a signal handler), the run
	 * stops at the next event boundary and sim_run() returns
	 * ERR_TIMEOUT; the sim can still be reported on. */
	volatile sig_atomic_t *stop;
};

struct sim;

/* Build a run from a finalized scenario. NULL and *err on failure, with a
 * reason in why. */
struct sim *sim_new(const struct sim_scenario *sc,
		    const struct sim_node_ops *ops, void *ops_ctx,
		    const struct sim_run_opts *opts, int *err, char *why,
		    size_t why_cap);
void sim_delete(struct sim *s);

/* Run to the scenario's duration. 0, or a negative error with a reason in
 * why (out of memory, a node that cannot be made); ERR_TIMEOUT when
 * opts->stop interrupted it (the metrics so far are valid). */
int sim_run(struct sim *s, char *why, size_t why_cap);

/* Advance to simulated time t_us (for tests). Same returns as sim_run. */
int sim_run_until(struct sim *s, uint64_t t_us, char *why, size_t why_cap);

/* XXH3 over the whole trace so far. */
uint64_t sim_trace_hash(const struct sim *s);
/* Simulated microseconds elapsed. */
uint64_t sim_now_us(const struct sim *s);
/* Events processed so far. */
uint64_t sim_events(const struct sim *s);

/* ---- test and report access ------------------------------------------ */

struct sim_metrics;
const struct sim_metrics *sim_metrics(const struct sim *s);

/* Nodes ever created (slots), and whether slot i is running now. */
uint32_t sim_node_count(const struct sim *s);
bool sim_node_is_up(const struct sim *s, uint32_t i);
/* The node object of slot i (NULL when not running). */
void *sim_node_obj(const struct sim *s, uint32_t i);
/* Count of distinct membership digests among running nodes, and the size
 * of the largest group sharing one. */
uint32_t sim_digest_groups(const struct sim *s, uint32_t *largest);

/* Wall-clock seconds spent in sim_run (for reports only; never feeds back
 * into the simulation). */
double sim_wall_s(const struct sim *s);

#endif
