/* SPDX-License-Identifier: MIT */
/*
 * sim/metrics.h — what a run measured: detection, spread, false alarms,
 * views over time, traffic, memory.
 *
 * The engine tells the metrics what really happened (a node started,
 * crashed, began to leave, stopped, was disturbed by a fault) and what each
 * node believed (its membership events). Comparing the two gives:
 *
 *  - rumours: one per crash, leave, join and restart. A rumour is "done"
 *    when every node that was running when it began (and still is) has
 *    reported it: FAILED for a crash, LEFT for a leave, JOIN / ALIVE /
 *    UPDATE for a (re)join. Crash rumours also keep the first suspicion
 *    and the first death anywhere.
 *  - false alarms: SUSPECT or FAILED about a node that is running. It is a
 *    false suspicion / false death when neither the observer nor the
 *    subject was disturbed by a fault (pause, slowness, partition, cut,
 *    isolation, per-node loss or latency) at the time or within the grace
 *    period after it ended; the `_any` variants count every one.
 *  - samples: digests, views and traffic every sample period (and the
 *    scheduler's counts: replicas, processes, managers).
 *
 * The scheduler's metrics (SIM_M_SERVICES onwards: replicas, running
 * twice, rescheduling, managers, failover, minority decisions, task
 * faults) are kept and computed by sim/sched.c, which knows the emulated
 * processes; this module only names them and computes
 * replicas_converged_at from the samples.
 *
 * Every metric has a name (the word used in `expect` lines and in the JSON
 * summary) and a unit; times are kept in milliseconds.
 *
 * Memory: 56 bytes per node slot, 64 per rumour plus a bitset of the node
 * count while the rumour is open, 80 per sample.
 */
#ifndef SHOAL_SIM_METRICS_H
#define SHOAL_SIM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/swim.h"

#define SIM_NEVER UINT64_MAX

/* The percentile families: _p50, _p99, _max, _mean. */
#define SIM_PCT(x) x##_P50, x##_P99, x##_MAX, x##_MEAN

enum sim_metric {
	SIM_M_CRASHES = 0,
	SIM_M_DETECTED,
	SIM_M_UNDETECTED,
	SIM_PCT(SIM_M_FIRST_SUSPECT),
	SIM_PCT(SIM_M_FIRST_DEAD),
	SIM_PCT(SIM_M_DEAD_EVERYWHERE),
	SIM_PCT(SIM_M_DEAD_SPREAD),
	SIM_M_FALSE_SUSPECT,
	SIM_M_FALSE_DEAD,
	SIM_M_FALSE_SUSPECT_ANY,
	SIM_M_FALSE_DEAD_ANY,
	SIM_M_LEAVES,
	SIM_PCT(SIM_M_LEFT_EVERYWHERE),
	SIM_M_LEAVES_INCOMPLETE,
	SIM_M_LEFT_AS_FAILED,
	SIM_M_JOINS,
	SIM_PCT(SIM_M_JOIN_SPREAD),
	SIM_M_JOIN_ROUNDS_P50,
	SIM_M_JOIN_ROUNDS_P99,
	SIM_M_JOIN_ROUNDS_MAX,
	SIM_M_JOINS_INCOMPLETE,
	SIM_M_RESTARTS,
	SIM_PCT(SIM_M_REJOIN_SPREAD),
	SIM_M_REJOINS_INCOMPLETE,
	SIM_M_JOIN_FAILED,
	SIM_M_REFUTES,
	SIM_M_CONFLICTS,
	SIM_M_LIVE,
	SIM_M_DIGESTS,
	SIM_M_LARGEST_VIEW,
	SIM_M_DIGESTS_MAX,
	SIM_M_CONVERGED_AT,
	SIM_M_ALIVE_VIEW_MIN,
	SIM_M_ALIVE_VIEW_MAX,
	SIM_M_SUSPECT_VIEWS,
	SIM_M_FAILED_VIEWS,
	SIM_M_HEALTH_MAX,
	SIM_M_MSGS_MEAN,
	SIM_M_MSGS_MAX,
	SIM_M_BYTES_MEAN,
	SIM_M_BYTES_MAX,
	SIM_M_MSGS_NOW,
	SIM_M_BYTES_NOW,
	SIM_M_NET_SENT,
	SIM_M_NET_DROPPED,
	SIM_M_STREAMS,
	SIM_M_STREAMS_FAILED,
	SIM_M_NODE_DROPS,
	SIM_M_PEAK_RSS_MB,
	SIM_M_NODE_BYTES,
	SIM_M_ENTRY_BYTES,
	SIM_M_POOL_BYTES,
	SIM_M_WALL_S,
	SIM_M_SPEEDUP,
	/* scheduling (sim/sched.c): services, replicas, managers */
	SIM_M_SERVICES,
	SIM_M_REPLICAS_DESIRED,
	SIM_M_REPLICAS_RUNNING,
	SIM_M_REPLICAS_MISSING,
	SIM_M_REPLICAS_MAJORITY,
	SIM_M_REPLICAS_CONVERGED_AT,
	SIM_M_PROCESSES,
	SIM_M_NEVER_RAN,
	SIM_M_DOUBLED,
	SIM_M_DOUBLED_UNEXCUSED,
	SIM_M_DOUBLED_NOW,
	SIM_M_DOUBLED_LONGEST,
	SIM_M_GAPS,
	SIM_M_GAP_LONGEST,
	SIM_M_MISPLACED,
	SIM_M_DRAINED_RUNNING,
	SIM_M_SLOT_VIEWS,
	SIM_M_RESCHEDULES,
	SIM_M_RESCHEDULES_INCOMPLETE,
	SIM_PCT(SIM_M_RESCHEDULE),
	SIM_PCT(SIM_M_RESCHED_DETECT),
	SIM_PCT(SIM_M_RESCHED_DECIDE),
	SIM_PCT(SIM_M_RESCHED_INFORM),
	SIM_PCT(SIM_M_RESCHED_START),
	SIM_M_MANAGERS,
	SIM_M_MANAGERS_MAX,
	SIM_M_LEADERS,
	SIM_M_LEADERS_MAX,
	SIM_M_NO_MANAGER,
	SIM_M_FAILOVERS,
	SIM_M_FAILOVERS_INCOMPLETE,
	SIM_PCT(SIM_M_FAILOVER),
	SIM_M_FAILOVER_RATIO_MAX,
	SIM_M_MINORITY_DECISIONS,
	SIM_M_MINORITY_LEADING,
	SIM_M_TASK_CRASHES,
	SIM_M_TASK_RESTARTS,
	SIM_M_TASK_REJECTED,
	SIM_PCT(SIM_M_TASK_RECOVERY),
	SIM_M_ROLLOUTS,
	SIM_M_ROLLOUTS_INCOMPLETE,
	SIM_M_ROLLOUT_MAX,
	SIM_M_CHANGES_REFUSED,
	SIM_M__N,
};

enum sim_unit {
	SIM_U_COUNT = 0, /* a plain number */
	SIM_U_MS,	 /* a time, milliseconds (accepts 15s, 200ms) */
	SIM_U_ROUNDS,	 /* gossip rounds */
	SIM_U_RATE,	 /* per node per second */
	SIM_U_BYTES,
	SIM_U_MB,
	SIM_U_SECONDS,
	SIM_U_RATIO,
};

struct sim_metric_info {
	const char *name;
	uint32_t unit;	/* enum sim_unit */
	bool volatile_; /* depends on the machine (wall time, RSS) */
	const char *help;
};

const struct sim_metric_info *sim_metric_info(int m);
/* Index of a metric by name, or -1. */
int sim_metric_find(const char *name);

enum sim_rumour_kind {
	SIM_RUM_JOIN = 0,
	SIM_RUM_REJOIN,
	SIM_RUM_CRASH,
	SIM_RUM_LEAVE,
};

struct sim_rumour {
	uint32_t kind;	  /* enum sim_rumour_kind */
	uint32_t subject; /* node index */
	uint64_t t0_us;
	uint64_t seq0; /* observers with start_seq <= seq0 must report */
	uint64_t first_suspect_us; /* crash only; SIM_NEVER */
	uint64_t first_dead_us;	   /* crash only; SIM_NEVER */
	uint64_t done_us;	   /* everyone knows; SIM_NEVER */
	uint32_t eligible;	   /* observers that must report it */
	uint32_t declared;	   /* of those, how many did */
	bool open;
	bool interrupted; /* the subject came back (or went) before done */
	uint32_t cap;	  /* bits in `bits` and `need` */
	uint64_t *bits;	  /* observers that reported; NULL once closed */
	/* When the subject crashed or left before its own join had reached
	 * everyone, only the observers that knew it must report: they are
	 * set here. NULL: every observer running at t0. */
	uint64_t *need;
};

/* Disturbance kinds (bits): faults that excuse false alarms. */
enum sim_disturb {
	SIM_DIST_PAUSE = 1,
	SIM_DIST_SLOW = 2,
	SIM_DIST_NET = 4,
};

struct sim_mnode {
	uint8_t status; /* enum sim_mstatus */
	uint8_t dist;	/* enum sim_disturb bits in force */
	uint64_t start_ms;
	uint64_t start_seq; /* order of starts: eligibility for rumours */
	uint64_t dist_until_us;
	uint32_t open_crash, open_join, open_leave; /* rumour index + 1 */
};

enum sim_mstatus {
	SIM_MS_NONE = 0,
	SIM_MS_UP,
	SIM_MS_LEAVING,
	SIM_MS_LEFT,
	SIM_MS_DOWN,
};

/* One row of the time series. */
struct sim_sample {
	uint64_t t_us;
	uint32_t live;
	uint32_t digests;
	uint32_t largest; /* nodes sharing the most common digest */
	uint32_t alive_min, alive_max;
	double alive_mean;
	uint64_t suspect_sum, failed_sum;
	unsigned health_max;
	double msgs_ps, bytes_ps; /* per running node per second, interval */
	uint64_t inflight;	  /* events pending in the engine */
	/* scheduling (sim/sched.c) */
	uint32_t desired, running; /* replicas wanted / running */
	uint32_t majority;	   /* ... running where a majority is */
	uint32_t processes;	   /* emulated processes running */
	uint32_t doubled;	   /* slots running on two nodes or more */
	uint32_t managers;	   /* distinct live managers named */
	uint32_t leaders;	   /* nodes acting as manager */
	uint32_t no_manager;	   /* running nodes naming none */
	bool services;		   /* some service was ever created */
};

/* A false alarm, kept (first 64) so a report can name it. */
struct sim_false {
	uint64_t t_us;
	uint32_t observer, subject;
	uint32_t kind; /* SWIM_EV_SUSPECT or SWIM_EV_FAILED */
	bool excused;
};

#define SIM_FALSE_KEEP 64

struct sim_metrics {
	struct sim_mnode *nodes;
	uint32_t n, cap;
	uint32_t live;
	uint64_t starts; /* start_seq of the latest start */
	uint64_t grace_us;
	uint32_t gossip_interval_ms;

	struct sim_rumour *rum;
	uint32_t nrum, caprum;
	uint32_t *open; /* indices of open rumours */
	uint32_t nopen, capopen;

	uint64_t false_suspect, false_dead, false_suspect_any, false_dead_any;
	uint64_t left_as_failed, join_failed, refutes, conflicts;
	struct sim_false falses[SIM_FALSE_KEEP];
	uint32_t nfalses, nexcused;

	struct sim_sample *samples;
	uint32_t nsamples, capsamples;
	uint64_t measure_us; /* samples from here count for digests_max */
};

int sim_metrics_init(struct sim_metrics *m, uint32_t nodes, uint64_t grace_us,
		     uint32_t gossip_interval_ms);
void sim_metrics_release(struct sim_metrics *m);

/* Ground truth from the engine. */
/* kind: SIM_RUM_JOIN or SIM_RUM_REJOIN starts a rumour about the node;
 * -1 (a warm start: everyone already knows it) starts none. */
int sim_metrics_node_start(struct sim_metrics *m, uint32_t i, uint64_t t_us,
			   uint64_t start_ms, int kind);
int sim_metrics_node_crash(struct sim_metrics *m, uint32_t i, uint64_t t_us);
int sim_metrics_node_leave(struct sim_metrics *m, uint32_t i, uint64_t t_us);
void sim_metrics_node_stop(struct sim_metrics *m, uint32_t i, uint64_t t_us);
void sim_metrics_disturb(struct sim_metrics *m, uint32_t i, unsigned kind,
			 bool on, uint64_t t_us);

/* What observer i reported at t_us. */
void sim_metrics_event(struct sim_metrics *m, uint32_t observer, uint64_t t_us,
		       const struct swim_event *ev);

int sim_metrics_sample(struct sim_metrics *m, const struct sim_sample *row);

/* Fill the metrics this module owns (rumours, alarms, samples) as of t_us;
 * the others are left untouched. Times in ms, INFINITY for never. */
void sim_metrics_compute(const struct sim_metrics *m, uint64_t t_us, double *v);

bool sim_metrics_disturbed(const struct sim_metrics *m, uint32_t i,
			   uint64_t t_us);

/* Nearest-rank p50, p99, max and the mean of n values (sorted in place)
 * into out[0..3]; NAN when n is 0, +infinity values sort last. */
void sim_pct4(double *v, size_t n, double *out);

#endif
