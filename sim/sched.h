/* SPDX-License-Identifier: MIT */
/*
 * sim/sched.h — the scheduler's side of a simulation: the services a
 * scenario asks for, the process driver every virtual node runs (emulated
 * processes), and what the scheduler is measured on (replicas desired vs
 * running, rescheduling after crashes, slots running twice, managers
 * believed in, failover, decisions without a majority).
 *
 * The engine (sim/engine.c) calls in at a few fixed points; all of them
 * run on the engine's one thread, inside its loop:
 *
 *   sim_sched_node_up / _node_down   a node process started / stopped
 *   sim_sched_on_event               a non-membership node event, while
 *                                    the node's events are drained (must
 *                                    not call into the node)
 *   sim_sched_after_call             after every call into a node, once
 *                                    its events are drained (reads only)
 *   sim_sched_task_event             an EV_TASK for a running, unpaused
 *                                    node (may call into the node)
 *   sim_sched_action                 a SIM_ACT_SCHED scenario line
 *   sim_sched_net_changed            partitions / isolation changed
 *   sim_sched_sample / _values       time series and metric values
 *
 * Ownership: struct sim_sched belongs to the sim (s->sched) and so do the
 * task tables and tags hanging off each vnode; sim_sched_delete() frees
 * them all. The records below are read-only views for reports, valid
 * until the next call into the sim.
 */
#ifndef SHOAL_SIM_SCHED_H
#define SHOAL_SIM_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "sched/node.h"
#include "sim/heap.h"
#include "sim/metrics.h"

struct sim;
struct sim_action;

/* A crash of a node that held replicas. */
struct sim_rcrash {
	uint32_t node;
	uint64_t t_us;
	uint32_t rumour;   /* crash rumour index (metrics), UINT32_MAX */
	uint32_t first, n; /* its slots: rslots[first .. first + n) */
	uint32_t left;	   /* slots not yet running again (nor dropped) */
	uint64_t done_us;  /* all running again; SIM_NEVER */
};

/* One replica a crash took down, until it runs again. */
struct sim_rslot {
	uint32_t crash; /* index into the crashes */
	uint32_t svc, slot;
	uint64_t decide_us; /* an acting manager's table moved it */
	uint64_t assign_us; /* TASK_START for it on some node */
	uint64_t run_us;    /* a process runs it again */
	bool dropped;	    /* scaled down or removed meanwhile */
};

/* A crash (or leave) of the acting manager. */
struct sim_failover {
	uint32_t node;
	uint64_t t_us;
	uint32_t rumour; /* crash rumour, UINT32_MAX for a leave */
	bool left;
	int64_t new_manager; /* -1 until done */
	uint64_t done_us;    /* every live node names one acting manager */
};

/* Give s its (empty) scheduler state, s->sched; sim_new() calls it once,
 * before any node starts. Returns 0 or ERR_NOMEM. */
int sim_sched_new(struct sim *s);
/* Free s->sched, every service, crash and failover record, and the task
 * tables and tags of every vnode; s->sched is NULL afterwards. Does
 * nothing when s->sched is NULL (sim_sched_new failed or never ran). */
void sim_sched_delete(struct sim *s);

/* Node i's process has just started (a first start or a restart): it
 * gets a new task-driver stream for this life, runs no tasks, names no
 * manager yet and leads nothing. */
void sim_sched_node_up(struct sim *s, uint32_t i);
/* Node i's process has just stopped: crashed (true) or left / stopped
 * (false). Its tasks stop running. A crash that took down replicas
 * running nowhere else opens a struct sim_rcrash with a struct sim_rslot
 * for each; if i was the acting manager a struct sim_failover opens.
 * Running out of memory fails the run (sim_fail). */
void sim_sched_node_down(struct sim *s, uint32_t i, bool crashed);
/* A node event other than membership from node i (manager changes, task
 * start / stop / restart orders), while the node's events are drained:
 * record it, never call into the node. ev is borrowed for the call. */
void sim_sched_on_event(struct sim *s, uint32_t i, const struct node_event *ev);
/* After every call into node i, once its outbox and events are drained:
 * while i is the acting manager, check its decisions (majority, minority
 * time). Reads the node; never calls into it. */
void sim_sched_after_call(struct sim *s, uint32_t i);
/* An EV_TASK event from the engine's queue came due: advance that task's
 * emulated process (launch, start or fail, exit, back-off, stop), report
 * the new state to the node (this calls into the node and drains it) and
 * schedule the next step. An event for a task since replaced (stale
 * token) is ignored. */
void sim_sched_task_event(struct sim *s, const struct sim_ev *ev);
/* Carry out a SIM_ACT_SCHED scenario line (service create / update /
 * scale / remove, node availability or tag, task crash or failure). With
 * the toy protocol, which has no scheduler, the run fails (sim_fail). */
void sim_sched_action(struct sim *s, const struct sim_action *a);
/* The network's partitions or isolation changed: which acting managers
 * sit in a minority is worked out again (at once while any node leads,
 * otherwise when one next does). */
void sim_sched_net_changed(struct sim *s);
/* Fill the scheduler's columns of a time-series row (services, managers,
 * desired / running replicas, slots running twice, nodes naming no
 * manager); the engine fills the rest. */
void sim_sched_sample(struct sim *s, struct sim_sample *row);
/* Write the scheduler's metrics (enum sim_metric) as of now into v, which
 * holds SIM_M__N values that the caller set to NAN first. If its working
 * memory cannot be allocated, only changes_refused is written and the
 * others stay NAN. */
void sim_sched_values(struct sim *s, double *v);

/* The tags node i starts with (scenario `tags` rules, then `node tag`
 * actions); the pointer stays valid until the next call into the sim. */
const struct node_tag *sim_sched_tags(struct sim *s, uint32_t i,
				      unsigned *ntags);

/* Report access: each returns the records so far, in the order they
 * happened, and their count in *n (the pointer may be NULL when *n is 0).
 * Read-only views, valid until the next call into the sim. */
/* Crashes of nodes that held replicas. */
const struct sim_rcrash *sim_sched_crashes(const struct sim *s, uint32_t *n);
/* The replicas those crashes took down (struct sim_rcrash.first, .n). */
const struct sim_rslot *sim_sched_rslots(const struct sim *s, uint32_t *n);
/* Crashes and leaves of the acting manager. */
const struct sim_failover *sim_sched_failovers(const struct sim *s,
					       uint32_t *n);
/* The name of service number svc (struct sim_rslot.svc), "?" if there is
 * no such service. Owned by the sim, valid while it lives. */
const char *sim_sched_service_name(const struct sim *s, uint32_t svc);

#endif
