/* SPDX-License-Identifier: MIT */
/*
 * sim/engine_int.h — the inside of the engine, shared by engine.c (the
 * event loop, the network, node faults) and sched.c (services, the
 * emulated process driver, the scheduler's metrics). Not an API: nothing
 * outside sim/ includes it.
 *
 * Ownership is as in sim/sim.h: the sim owns every vnode, packet and
 * stream; sched.c owns the task tables hanging off each vnode and its own
 * struct sim_sched.
 */
#ifndef SHOAL_SIM_ENGINE_INT_H
#define SHOAL_SIM_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xxhash.h>

#include "core/intern.h"
#include "core/log.h"
#include "core/rng.h"
#include "sched/node.h"
#include "sim/heap.h"
#include "sim/metrics.h"
#include "sim/net.h"
#include "sim/scenario.h"
#include "sim/sim.h"

struct sim_sched;
struct vtask;

/* rng_stream() stream numbers: disjoint ranges per purpose. */
#define STREAM_FAULTS 1ull
#define STREAM_NODE   (1ull << 40)
#define STREAM_NET    (2ull << 40)
#define STREAM_LINK   3ull
#define STREAM_TASK   (4ull << 40)

enum ev_type {
	EV_WAKE = 1,
	EV_DGRAM,    /* node = dst, a = src, p = packet */
	EV_SREQ,     /* node = target, a = slot, b = conn, p = packet */
	EV_SRESP,    /* node = requester, a = slot, b = conn, p = packet */
	EV_SFAIL,    /* node = requester, a = slot, b = conn */
	EV_STIMEOUT, /* node = requester, a = slot, b = conn */
	EV_ACTION,   /* a = action index */
	EV_SAMPLE,
	EV_START,    /* node; a = 1 for a restart */
	EV_RESUME,   /* node; a = pause token */
	EV_SLOW_END, /* node; a = slow token */
	EV_FLAP,     /* a = cut index, b = net epoch; p unused */
	EV_CHURN,    /* a = action index */
	EV_WARM,     /* start every initial node from a converged view */
	EV_TASK,     /* node; a = task id, b = token (sim/sched.c) */
};

enum start_kind {
	START_JOIN = 0, /* a new node: join through the seeds */
	START_RESTART,	/* same name, new incarnation: join again */
	START_WARM,	/* warm start: no join, the view comes by preload */
};

#define EVF_SLOWED 1

enum vstate {
	V_NONE = 0, /* slot reserved, never started */
	V_UP,
	V_LEAVING,
	V_DOWN, /* crashed */
	V_LEFT, /* left and stopped */
};

struct sim_pkt {
	uint32_t refs;
	uint32_t len;
	uint8_t data[];
};

struct vnode {
	void *obj;
	uint32_t gen;
	uint8_t state; /* enum vstate */
	bool paused;
	bool stop_pending;
	uint32_t pause_token, slow_token;
	uint64_t armed_us;
	uint64_t ticked_ms; /* local ms of the last tick */
	/* clock: local_us = anchor_local + (t - anchor) * (1e6 + ppm) / 1e6 */
	uint64_t anchor_us;
	int64_t anchor_local_us;
	int32_t ppm;
	uint64_t last_ms;
	uint64_t start_ms;
	/* processing faults */
	uint64_t slow_us, slow_next_us;
	struct sim_ev *pq;
	uint32_t pq_n, pq_cap;
	struct rng net_rng;
	/* traffic in the measurement window */
	uint64_t tx_msgs, tx_bytes;
	uint64_t live_us, up_since_us;
	struct log *lg; /* only with a log file */
	/* sim/sched.c: the emulated process driver and what the node said */
	struct vtask *tasks; /* the node's task table (its processes) */
	uint32_t ntasks, tasks_cap;
	uint32_t task_ids;   /* ids handed out, across lives */
	struct rng task_rng; /* start and stop delays of this life */
	int64_t named;	     /* the manager this node names, -1: none */
	bool leading;	     /* this node acts as manager */
	bool minority;	     /* its reachable side holds no quorum (truth) */
	uint64_t lead_term;
	uint64_t lead_since_us;
	uint64_t minor_clock;  /* state clock when it entered a minority */
	uint64_t minor_mark;   /* minority decisions counted up to */
	uint8_t avail;	       /* enum state_avail as the scenario set it */
	struct node_tag *tags; /* tags the node starts with (truth) */
	unsigned ntags;
	bool tags_done; /* the scenario's tag rules are applied */
};

struct sstream {
	uint32_t conn; /* 0: free */
	uint32_t req, req_gen, req_sid;
	uint32_t dst, dst_gen;
	uint32_t next_free;
	bool warm_reset; /* warm start: reset instead of answering */
};

struct logctx {
	struct sim *s;
	uint32_t i;
};

struct sim {
	const struct sim_scenario *sc;
	const struct sim_node_ops *ops;
	void *ops_ctx;
	struct sim_run_opts opts;
	struct keyring kr;
	struct intern pool;
	struct sim_heap heap;
	struct sim_net net;
	struct sim_metrics m;
	struct rng fault_rng;

	struct vnode *v;
	uint32_t n, cap;

	uint64_t now_us, end_us;
	uint64_t sample_us, measure_us, bootstrap_end_us;
	uint64_t stream_timeout_us;
	uint32_t warm_pending; /* warm start: joins the seed has yet to hear */
	XXH3_state_t *trace;
	uint64_t events;

	/* streams */
	struct sstream *st;
	uint32_t capst, free_st;
	uint32_t *map; /* conn -> slot + 1, open addressing */
	uint32_t capmap, nmap;
	uint32_t next_conn;

	/* counters */
	uint64_t net_sent, net_dropped, streams, streams_failed;
	uint64_t tx_msgs_all, tx_bytes_all; /* every frame, for samples */
	uint64_t last_msgs, last_bytes, last_sample_us;

	/* expectations */
	double *exp_got;
	bool *exp_done;

	/* scratch */
	uint32_t *idx;
	uint32_t capidx;
	uint64_t *digests;
	uint32_t capdig;

	struct logctx *logctx;
	uint32_t caplog;

	/* wall-clock, reports only */
	double wall_s;
	double wall_t0, wall_last_print;
	bool printed;

	struct sim_sched *sched; /* sim/sched.c */

	int err;
	char *why;
	size_t why_cap;
};

/* ---- engine.c services for sched.c ---- */

/* Queue an event (time, type, node, a, b, payload). */
void sim_push(struct sim *s, uint64_t t_us, uint16_t type, uint32_t node,
	      uint32_t a, uint32_t b, void *p);
/* Node i's clock now, in milliseconds (monotonic). */
uint64_t sim_vnow_ms(struct sim *s, uint32_t i);
/* After a call into node i: drain its outbox and events, arm its timer. */
void sim_after_call(struct sim *s, uint32_t i);
/* Resolve a node set into s->idx (idx[0] = count, then indices). */
int sim_resolve(struct sim *s, const struct sim_set *set);
/* Record a run failure (the first one wins); the loop stops. */
void sim_fail(struct sim *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline bool
sim_vrunning(const struct vnode *v)
{
	return v->state == V_UP || v->state == V_LEAVING;
}

#endif
