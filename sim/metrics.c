/* SPDX-License-Identifier: MIT */
/*
 * sim/metrics.c — ground truth against belief.
 *
 * The engine knows what really happened; each node only knows what it was
 * told. This module keeps both and scores the difference.
 *
 * Rumours. A crash, a leave, a join or a restart starts a rumour about its
 * subject. The observers that must report it are the nodes running at that
 * moment (other than the subject), counted once in `eligible`. A report
 * sets the observer's bit and bumps `declared`; when an eligible observer
 * stops running, it stops counting (eligible--, and declared-- if it had
 * reported). The rumour is done the moment declared == eligible. A crash
 * or leave of a node whose own join rumour was still open needs only the
 * observers that had reported that join (`need`): the others never heard
 * of the node and have nothing to report. The
 * eligibility test needs no per-rumour list: observer j is eligible for
 * rumour r exactly when j is running, j is not the subject, and j has been
 * running since before r began (its start_seq <= the rumour's seq0; a
 * sequence, not a time, so that nodes started in the same microsecond are
 * ordered too). That makes a report
 * O(1) and a node's departure O(open rumours).
 *
 * False alarms. A SUSPECT or FAILED about a node that is running is
 * counted in the `_any` totals; it is a real false alarm when neither side
 * is disturbed (enum sim_disturb), where a fault disturbs a node while it
 * is in force and for `grace` after it ends (suspicion timers started
 * during a partition may still fire after the heal). Events about an older
 * incarnation (before a restart) are about a dead life and not alarms.
 *
 * Percentiles use the nearest-rank method over every rumour of a kind that
 * was not interrupted; a rumour never completed counts as +infinity, so
 * "p99 < 15s" fails when more than 1% of crashes were never detected.
 */
#include "sim/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "sim/net.h"
#include "sim/sim.h"

#define PCT_INFO(n, u, h)                                                      \
	{n "_p50", u, false, h " (median)"},                                   \
		{n "_p99", u, false, h " (99th percentile)"},                  \
		{n "_max", u, false, h " (maximum)"},                          \
	{                                                                      \
		n "_mean", u, false, h " (mean)"                               \
	}

static const struct sim_metric_info infos[SIM_M__N] = {
	[SIM_M_CRASHES] = {"crashes", SIM_U_COUNT, false,
			   "nodes crashed (and not restarted before "
			   "detection)"},
	[SIM_M_DETECTED] = {"detected", SIM_U_COUNT, false,
			    "crashes declared dead by every live node"},
	[SIM_M_UNDETECTED] = {"undetected", SIM_U_COUNT, false,
			      "crashes some live node never declared dead"},
	PCT_INFO("first_suspect", SIM_U_MS, "crash to the first suspicion"),
	PCT_INFO("first_dead", SIM_U_MS, "crash to the first death"),
	PCT_INFO("dead_everywhere", SIM_U_MS,
		 "crash to every live node declaring it dead"),
	PCT_INFO("dead_spread", SIM_U_MS,
		 "first death to every live node declaring it"),
	[SIM_M_FALSE_SUSPECT] = {"false_suspect", SIM_U_COUNT, false,
				 "suspicions of undisturbed live nodes by "
				 "undisturbed nodes"},
	[SIM_M_FALSE_DEAD] = {"false_dead", SIM_U_COUNT, false,
			      "deaths of undisturbed live nodes declared by "
			      "undisturbed nodes"},
	[SIM_M_FALSE_SUSPECT_ANY] = {"false_suspect_any", SIM_U_COUNT, false,
				     "suspicions of any live node"},
	[SIM_M_FALSE_DEAD_ANY] = {"false_dead_any", SIM_U_COUNT, false,
				  "deaths declared of any live node"},
	[SIM_M_LEAVES] = {"leaves", SIM_U_COUNT, false, "graceful leaves"},
	PCT_INFO("left_everywhere", SIM_U_MS,
		 "leave to every live node reporting it left"),
	[SIM_M_LEAVES_INCOMPLETE] = {"leaves_incomplete", SIM_U_COUNT, false,
				     "leaves some live node never reported"},
	[SIM_M_LEFT_AS_FAILED] = {"left_as_failed", SIM_U_COUNT, false,
				  "FAILED reports about nodes that left"},
	[SIM_M_JOINS] = {"joins", SIM_U_COUNT, false,
			 "node starts (bootstrap, join, churn)"},
	PCT_INFO("join_spread", SIM_U_MS,
		 "start to every live node knowing the node"),
	[SIM_M_JOIN_ROUNDS_P50] = {"join_rounds_p50", SIM_U_ROUNDS, false,
				   "join spread in gossip rounds (median)"},
	[SIM_M_JOIN_ROUNDS_P99] = {"join_rounds_p99", SIM_U_ROUNDS, false,
				   "join spread in gossip rounds (p99)"},
	[SIM_M_JOIN_ROUNDS_MAX] = {"join_rounds_max", SIM_U_ROUNDS, false,
				   "join spread in gossip rounds (max)"},
	[SIM_M_JOINS_INCOMPLETE] = {"joins_incomplete", SIM_U_COUNT, false,
				    "joins some live node never saw"},
	[SIM_M_RESTARTS] = {"restarts", SIM_U_COUNT, false,
			    "restarts (new incarnation, same name)"},
	PCT_INFO("rejoin_spread", SIM_U_MS,
		 "restart to every live node seeing it alive"),
	[SIM_M_REJOINS_INCOMPLETE] = {"rejoins_incomplete", SIM_U_COUNT, false,
				      "restarts some live node never saw"},
	[SIM_M_JOIN_FAILED] = {"join_failed", SIM_U_COUNT, false,
			       "nodes whose join gave up"},
	[SIM_M_REFUTES] = {"refutes", SIM_U_COUNT, false,
			   "rumours nodes refuted about themselves"},
	[SIM_M_CONFLICTS] = {"conflicts", SIM_U_COUNT, false,
			     "name conflicts reported"},
	[SIM_M_LIVE] = {"live", SIM_U_COUNT, false, "nodes running"},
	[SIM_M_DIGESTS] = {"digests", SIM_U_COUNT, false,
			   "distinct membership digests among live nodes"},
	[SIM_M_LARGEST_VIEW] = {"largest_view", SIM_U_COUNT, false,
				"live nodes sharing the most common digest"},
	[SIM_M_DIGESTS_MAX] = {"digests_max", SIM_U_COUNT, false,
			       "most distinct digests in a sample after "
			       "bootstrap"},
	[SIM_M_CONVERGED_AT] = {"converged_at", SIM_U_MS, false,
				"from this sample on, one digest"},
	[SIM_M_ALIVE_VIEW_MIN] = {"alive_view_min", SIM_U_COUNT, false,
				  "fewest members a live node sees alive"},
	[SIM_M_ALIVE_VIEW_MAX] = {"alive_view_max", SIM_U_COUNT, false,
				  "most members a live node sees alive"},
	[SIM_M_SUSPECT_VIEWS] = {"suspect_views", SIM_U_COUNT, false,
				 "suspect entries summed over live nodes"},
	[SIM_M_FAILED_VIEWS] = {"failed_views", SIM_U_COUNT, false,
				"failed entries summed over live nodes"},
	[SIM_M_HEALTH_MAX] = {"health_max", SIM_U_COUNT, false,
			      "highest Lifeguard health score seen"},
	[SIM_M_MSGS_MEAN] = {"msgs_per_node_s_mean", SIM_U_RATE, false,
			     "frames sent per node per second (mean)"},
	[SIM_M_MSGS_MAX] = {"msgs_per_node_s_max", SIM_U_RATE, false,
			    "frames sent per node per second (busiest)"},
	[SIM_M_BYTES_MEAN] = {"bytes_per_node_s_mean", SIM_U_RATE, false,
			      "bytes sent per node per second (mean)"},
	[SIM_M_BYTES_MAX] = {"bytes_per_node_s_max", SIM_U_RATE, false,
			     "bytes sent per node per second (busiest)"},
	[SIM_M_MSGS_NOW] = {"msgs_per_node_s_now", SIM_U_RATE, false,
			    "frames sent per node per second, last sample "
			    "period"},
	[SIM_M_BYTES_NOW] = {"bytes_per_node_s_now", SIM_U_RATE, false,
			     "bytes sent per node per second, last sample "
			     "period"},
	[SIM_M_NET_SENT] = {"net_sent", SIM_U_COUNT, false,
			    "datagrams and stream frames sent"},
	[SIM_M_NET_DROPPED] = {"net_dropped", SIM_U_COUNT, false,
			       "frames the network dropped"},
	[SIM_M_STREAMS] = {"streams", SIM_U_COUNT, false,
			   "stream requests (push-pull, join)"},
	[SIM_M_STREAMS_FAILED] = {"streams_failed", SIM_U_COUNT, false,
				  "stream requests that failed"},
	[SIM_M_NODE_DROPS] = {"node_drops", SIM_U_COUNT, false,
			      "frames live nodes refused (all reasons)"},
	[SIM_M_PEAK_RSS_MB] = {"peak_rss_mb", SIM_U_MB, true,
			       "peak resident memory of the process"},
	[SIM_M_NODE_BYTES] = {"node_bytes", SIM_U_BYTES, false,
			      "node table memory per live node"},
	[SIM_M_ENTRY_BYTES] = {"entry_bytes", SIM_U_BYTES, false,
			       "node table memory per membership entry"},
	[SIM_M_POOL_BYTES] = {"pool_bytes", SIM_U_BYTES, false,
			      "shared intern pool (names, metadata)"},
	[SIM_M_WALL_S] = {"wall_s", SIM_U_SECONDS, true,
			  "wall-clock seconds of the run"},
	[SIM_M_SPEEDUP] = {"speedup", SIM_U_RATIO, true,
			   "simulated time over wall time"},
	[SIM_M_SERVICES] = {"services", SIM_U_COUNT, false,
			    "services created and not removed"},
	[SIM_M_REPLICAS_DESIRED] = {"replicas_desired", SIM_U_COUNT, false,
				    "replicas wanted (replicated: replicas; "
				    "global: eligible nodes)"},
	[SIM_M_REPLICAS_RUNNING] = {"replicas_running", SIM_U_COUNT, false,
				    "wanted replicas with a running process"},
	[SIM_M_REPLICAS_MISSING] = {"replicas_missing", SIM_U_COUNT, false,
				    "wanted replicas without a running "
				    "process"},
	[SIM_M_REPLICAS_MAJORITY] = {"replicas_majority", SIM_U_COUNT, false,
				     "wanted replicas running on a node that "
				     "can reach a majority"},
	[SIM_M_REPLICAS_CONVERGED_AT] = {"replicas_converged_at", SIM_U_MS,
					 false,
					 "from this sample on, every wanted "
					 "replica runs"},
	[SIM_M_PROCESSES] = {"processes", SIM_U_COUNT, false,
			     "emulated task processes running"},
	[SIM_M_NEVER_RAN] = {"never_ran", SIM_U_COUNT, false,
			     "wanted slots that never had a running "
			     "process"},
	[SIM_M_DOUBLED] = {"doubled", SIM_U_COUNT, false,
			   "times a slot ran on two nodes at once"},
	[SIM_M_DOUBLED_UNEXCUSED] = {"doubled_unexcused", SIM_U_COUNT, false,
				     "... between undisturbed nodes for "
				     "longer than the overlap allowance"},
	[SIM_M_DOUBLED_NOW] = {"doubled_now", SIM_U_COUNT, false,
			       "slots running on two nodes now"},
	[SIM_M_DOUBLED_LONGEST] = {"doubled_longest", SIM_U_MS, false,
				   "longest time a slot ran twice"},
	[SIM_M_GAPS] = {"gaps", SIM_U_COUNT, false,
			"times a wanted replica (replicated mode) stopped "
			"running everywhere (crashes, moves, restarts)"},
	[SIM_M_GAP_LONGEST] = {"gap_longest", SIM_U_MS, false,
			       "longest time a wanted replica that had run "
			       "ran nowhere"},
	[SIM_M_MISPLACED] = {"misplaced", SIM_U_COUNT, false,
			     "starts breaking a constraint, max-per-node "
			     "or one-per-node (global)"},
	[SIM_M_DRAINED_RUNNING] = {"drained_running", SIM_U_COUNT, false,
				   "processes running on drained nodes now"},
	[SIM_M_SLOT_VIEWS] = {"slot_views", SIM_U_COUNT, false,
			      "distinct slot tables among live nodes now"},
	[SIM_M_RESCHEDULES] = {"reschedules", SIM_U_COUNT, false,
			       "crashes of nodes that held replicas"},
	[SIM_M_RESCHEDULES_INCOMPLETE] = {"reschedules_incomplete", SIM_U_COUNT,
					  false,
					  "... whose replicas did not all run "
					  "again"},
	PCT_INFO("reschedule", SIM_U_MS,
		 "crash to every replica it held running again"),
	PCT_INFO("resched_detect", SIM_U_MS,
		 "per replica: crash to the first death declared"),
	PCT_INFO("resched_decide", SIM_U_MS,
		 "per replica: first death to the manager's new slot record"),
	PCT_INFO("resched_inform", SIM_U_MS,
		 "per replica: slot record to TASK_START on its new node"),
	PCT_INFO("resched_start", SIM_U_MS,
		 "per replica: TASK_START to the process running"),
	[SIM_M_MANAGERS] = {"managers", SIM_U_COUNT, false,
			    "distinct live managers named by live nodes"},
	[SIM_M_MANAGERS_MAX] = {"managers_max", SIM_U_COUNT, false,
				"most live managers named at once (after "
				"bootstrap)"},
	[SIM_M_LEADERS] = {"leaders", SIM_U_COUNT, false,
			   "nodes acting as manager now"},
	[SIM_M_LEADERS_MAX] = {"leaders_max", SIM_U_COUNT, false,
			       "most nodes acting as manager at once (after "
			       "bootstrap)"},
	[SIM_M_NO_MANAGER] = {"no_manager", SIM_U_COUNT, false,
			      "live nodes naming no manager now"},
	[SIM_M_FAILOVERS] = {"failovers", SIM_U_COUNT, false,
			     "crashes and leaves of the acting manager"},
	[SIM_M_FAILOVERS_INCOMPLETE] = {"failovers_incomplete", SIM_U_COUNT,
					false,
					"... after which live nodes never "
					"agreed on a new one"},
	PCT_INFO("failover", SIM_U_MS,
		 "manager gone to every live node naming one new acting "
		 "manager"),
	[SIM_M_FAILOVER_RATIO_MAX] = {"failover_ratio_max", SIM_U_RATIO, false,
				      "failover time over that crash's "
				      "dead-everywhere time (max)"},
	[SIM_M_MINORITY_DECISIONS] = {"minority_decisions", SIM_U_COUNT, false,
				      "slot records written by a manager "
				      "without a real majority"},
	[SIM_M_MINORITY_LEADING] = {"minority_leading", SIM_U_MS, false,
				    "time nodes acted as manager without a "
				    "real majority (summed)"},
	[SIM_M_TASK_CRASHES] = {"task_crashes", SIM_U_COUNT, false,
				"task processes crashed by the scenario"},
	[SIM_M_TASK_RESTARTS] = {"task_restarts", SIM_U_COUNT, false,
				 "restarts by the restart policy"},
	[SIM_M_TASK_REJECTED] = {"task_rejected", SIM_U_COUNT, false,
				 "starts that failed (reported rejected)"},
	PCT_INFO("task_recovery", SIM_U_MS,
		 "task crash to its slot running again"),
	[SIM_M_ROLLOUTS] = {"rollouts", SIM_U_COUNT, false,
			    "updates that changed what tasks run"},
	[SIM_M_ROLLOUTS_INCOMPLETE] = {"rollouts_incomplete", SIM_U_COUNT,
				       false,
				       "... with an old task still running or "
				       "a new one missing"},
	[SIM_M_ROLLOUT_MAX] = {"rollout_max", SIM_U_MS, false,
			       "update to every replica running the new "
			       "task (longest)"},
	[SIM_M_CHANGES_REFUSED] = {"changes_refused", SIM_U_COUNT, false,
				   "service and node changes a node "
				   "refused"},
};

const struct sim_metric_info *
sim_metric_info(int m)
{
	if (m < 0 || m >= SIM_M__N)
		return NULL;
	return &infos[m];
}

int
sim_metric_find(const char *name)
{
	for (int i = 0; i < SIM_M__N; i++)
		if (infos[i].name && strcmp(infos[i].name, name) == 0)
			return i;
	return -1;
}

static int
grow_nodes(struct sim_metrics *m, uint32_t n)
{
	uint32_t cap = m->cap ? m->cap : 64;
	struct sim_mnode *p;

	if (n <= m->cap)
		goto out;
	while (cap < n)
		cap *= 2;
	p = realloc(m->nodes, cap * sizeof(*p));
	if (!p)
		return ERR_NOMEM;
	memset(p + m->cap, 0, (cap - m->cap) * sizeof(*p));
	m->nodes = p;
	m->cap = cap;
out:
	if (n > m->n)
		m->n = n;
	return 0;
}

int
sim_metrics_init(struct sim_metrics *m, uint32_t nodes, uint64_t grace_us,
		 uint32_t gossip_interval_ms)
{
	memset(m, 0, sizeof(*m));
	m->grace_us = grace_us;
	m->gossip_interval_ms = gossip_interval_ms ? gossip_interval_ms : 1;
	if (grow_nodes(m, nodes))
		return ERR_NOMEM;
	m->n = 0;
	return 0;
}

void
sim_metrics_release(struct sim_metrics *m)
{
	for (uint32_t i = 0; i < m->nrum; i++) {
		free(m->rum[i].bits);
		free(m->rum[i].need);
	}
	free(m->rum);
	free(m->open);
	free(m->nodes);
	free(m->samples);
	memset(m, 0, sizeof(*m));
}

static bool
is_live(const struct sim_mnode *n)
{
	return n->status == SIM_MS_UP || n->status == SIM_MS_LEAVING;
}

bool
sim_metrics_disturbed(const struct sim_metrics *m, uint32_t i, uint64_t t_us)
{
	const struct sim_mnode *n = &m->nodes[i];

	return n->dist || t_us < n->dist_until_us;
}

static void
close_rumour(struct sim_metrics *m, uint32_t r, uint64_t t_us, bool interrupted)
{
	struct sim_rumour *ru = &m->rum[r];
	struct sim_mnode *s = &m->nodes[ru->subject];

	if (!ru->open)
		return;
	ru->open = false;
	if (interrupted)
		ru->interrupted = true;
	else
		ru->done_us = t_us;
	free(ru->bits);
	ru->bits = NULL;
	free(ru->need);
	ru->need = NULL;
	if (s->open_crash == r + 1)
		s->open_crash = 0;
	if (s->open_join == r + 1)
		s->open_join = 0;
	if (s->open_leave == r + 1)
		s->open_leave = 0;
	for (uint32_t k = 0; k < m->nopen; k++) {
		if (m->open[k] == r) {
			m->open[k] = m->open[--m->nopen];
			break;
		}
	}
}

static int
new_rumour(struct sim_metrics *m, uint32_t kind, uint32_t subject,
	   uint64_t t_us, uint32_t eligible)
{
	struct sim_rumour *ru;
	uint32_t r;

	if (m->nrum == m->caprum) {
		uint32_t cap = m->caprum ? m->caprum * 2 : 256;
		void *p = realloc(m->rum, cap * sizeof(*m->rum));

		if (!p)
			return ERR_NOMEM;
		m->rum = p;
		m->caprum = cap;
	}
	if (m->nopen == m->capopen) {
		uint32_t cap = m->capopen ? m->capopen * 2 : 256;
		void *p = realloc(m->open, cap * sizeof(*m->open));

		if (!p)
			return ERR_NOMEM;
		m->open = p;
		m->capopen = cap;
	}
	r = m->nrum;
	ru = &m->rum[r];
	memset(ru, 0, sizeof(*ru));
	ru->kind = kind;
	ru->subject = subject;
	ru->t0_us = t_us;
	ru->seq0 = m->starts;
	ru->first_suspect_us = SIM_NEVER;
	ru->first_dead_us = SIM_NEVER;
	ru->done_us = SIM_NEVER;
	ru->eligible = eligible;
	ru->open = true;
	ru->cap = m->n;
	ru->bits = calloc(sim_bit_words(ru->cap) + 1, sizeof(uint64_t));
	if (!ru->bits)
		return ERR_NOMEM;
	m->nrum++;
	m->open[m->nopen++] = r;
	if (!eligible)
		close_rumour(m, r, t_us, false);
	return (int)r;
}

/* Rumour r (just made, still open) is about a node whose join rumour jr
 * never completed: only the observers that reported that join must report
 * this one. Recount `eligible` accordingly. */
static int
restrict_to_join(struct sim_metrics *m, uint32_t r, const uint64_t *join_bits,
		 uint32_t join_cap, uint64_t t_us)
{
	struct sim_rumour *ru = &m->rum[r];
	uint32_t n = 0;

	if (!ru->open)
		return 0;
	ru->need = calloc(sim_bit_words(ru->cap) + 1, sizeof(uint64_t));
	if (!ru->need)
		return ERR_NOMEM;
	for (uint32_t j = 0; j < ru->cap && j < join_cap; j++) {
		if (j == ru->subject || !sim_bit_get(join_bits, join_cap, j) ||
		    !is_live(&m->nodes[j]) || m->nodes[j].start_seq > ru->seq0)
			continue;
		sim_bit_set(ru->need, j);
		n++;
	}
	ru->eligible = n;
	if (!n)
		close_rumour(m, r, t_us, false);
	return 0;
}

/* Observer j stops running: it no longer counts for any open rumour. */
static void
drop_observer(struct sim_metrics *m, uint32_t j, uint64_t t_us)
{
	const struct sim_mnode *o = &m->nodes[j];

	for (uint32_t k = 0; k < m->nopen;) {
		uint32_t r = m->open[k];
		struct sim_rumour *ru = &m->rum[r];

		if (ru->subject != j && o->start_seq <= ru->seq0 &&
		    j < ru->cap &&
		    (!ru->need || sim_bit_get(ru->need, ru->cap, j))) {
			ru->eligible--;
			if (sim_bit_get(ru->bits, ru->cap, j))
				ru->declared--;
			if (ru->declared >= ru->eligible) {
				close_rumour(m, r, t_us, false);
				continue; /* open[k] now holds another */
			}
		}
		k++;
	}
}

int
sim_metrics_node_start(struct sim_metrics *m, uint32_t i, uint64_t t_us,
		       uint64_t start_ms, int kind)
{
	struct sim_mnode *n;
	int r = -1;

	if (grow_nodes(m, i + 1))
		return ERR_NOMEM;
	n = &m->nodes[i];
	if (n->open_crash)
		close_rumour(m, n->open_crash - 1, t_us, true);
	if (n->open_join)
		close_rumour(m, n->open_join - 1, t_us, true);
	if (n->open_leave)
		close_rumour(m, n->open_leave - 1, t_us, true);
	if (kind >= 0) {
		r = new_rumour(m, (uint32_t)kind, i, t_us, m->live);
		if (r < 0)
			return r;
	}
	n = &m->nodes[i];
	if (r >= 0 && m->rum[r].open)
		n->open_join = (uint32_t)r + 1;
	n->status = SIM_MS_UP;
	n->start_ms = start_ms;
	n->start_seq = ++m->starts;
	m->live++;
	return 0;
}

int
sim_metrics_node_crash(struct sim_metrics *m, uint32_t i, uint64_t t_us)
{
	struct sim_mnode *n = &m->nodes[i];
	uint64_t *join_bits = NULL;
	uint32_t join_cap = 0;
	int r, rc = 0;

	if (!is_live(n))
		return 0;
	if (n->open_join) {
		struct sim_rumour *jr = &m->rum[n->open_join - 1];

		/* Keep who had heard of it before the join rumour goes. */
		join_bits = jr->bits;
		join_cap = jr->cap;
		jr->bits = NULL;
		close_rumour(m, n->open_join - 1, t_us, true);
	}
	if (n->open_leave)
		close_rumour(m, n->open_leave - 1, t_us, true);
	n->status = SIM_MS_DOWN;
	m->live--;
	drop_observer(m, i, t_us);
	r = new_rumour(m, SIM_RUM_CRASH, i, t_us, m->live);
	if (r < 0) {
		free(join_bits);
		return r;
	}
	if (join_bits)
		rc = restrict_to_join(m, (uint32_t)r, join_bits, join_cap,
				      t_us);
	free(join_bits);
	if (m->rum[r].open)
		m->nodes[i].open_crash = (uint32_t)r + 1;
	return rc;
}

int
sim_metrics_node_leave(struct sim_metrics *m, uint32_t i, uint64_t t_us)
{
	struct sim_mnode *n = &m->nodes[i];
	int r;

	if (n->status != SIM_MS_UP)
		return 0;
	n->status = SIM_MS_LEAVING;
	r = new_rumour(m, SIM_RUM_LEAVE, i, t_us, m->live - 1);
	if (r < 0)
		return r;
	if (m->nodes[i].open_join) {
		const struct sim_rumour *jr =
			&m->rum[m->nodes[i].open_join - 1];
		int rc = restrict_to_join(m, (uint32_t)r, jr->bits, jr->cap,
					  t_us);

		if (rc)
			return rc;
	}
	if (m->rum[r].open)
		m->nodes[i].open_leave = (uint32_t)r + 1;
	return 0;
}

void
sim_metrics_node_stop(struct sim_metrics *m, uint32_t i, uint64_t t_us)
{
	struct sim_mnode *n = &m->nodes[i];

	if (!is_live(n))
		return;
	if (n->open_join)
		close_rumour(m, n->open_join - 1, t_us, true);
	n->status = SIM_MS_LEFT;
	m->live--;
	drop_observer(m, i, t_us);
}

void
sim_metrics_disturb(struct sim_metrics *m, uint32_t i, unsigned kind, bool on,
		    uint64_t t_us)
{
	struct sim_mnode *n;

	if (i >= m->n)
		return;
	n = &m->nodes[i];
	if (on) {
		n->dist |= (uint8_t)kind;
		return;
	}
	if (!(n->dist & kind))
		return;
	n->dist &= (uint8_t)~kind;
	if (t_us + m->grace_us > n->dist_until_us)
		n->dist_until_us = t_us + m->grace_us;
}

/* Observer j reported rumour r. */
static void
declare(struct sim_metrics *m, uint32_t r, uint32_t j, uint64_t t_us)
{
	struct sim_rumour *ru = &m->rum[r];

	if (!ru->open || j == ru->subject || j >= ru->cap ||
	    m->nodes[j].start_seq > ru->seq0 || !is_live(&m->nodes[j]) ||
	    (ru->need && !sim_bit_get(ru->need, ru->cap, j)) ||
	    sim_bit_get(ru->bits, ru->cap, j))
		return;
	sim_bit_set(ru->bits, j);
	if (++ru->declared >= ru->eligible)
		close_rumour(m, r, t_us, false);
}

static void
false_alarm(struct sim_metrics *m, uint32_t o, uint32_t s, uint64_t t_us,
	    uint32_t kind)
{
	bool excused = sim_metrics_disturbed(m, o, t_us) ||
		       sim_metrics_disturbed(m, s, t_us);

	if (kind == SWIM_EV_SUSPECT) {
		m->false_suspect_any++;
		if (!excused)
			m->false_suspect++;
	} else {
		m->false_dead_any++;
		if (!excused)
			m->false_dead++;
	}
	/* Keep every unexcused one that fits, but at most a quarter of the
	 * room for excused deaths: the unexcused are what a reader needs. */
	if (excused &&
	    (kind != SWIM_EV_FAILED || m->nexcused >= SIM_FALSE_KEEP / 4))
		return;
	m->nexcused += excused;
	if (m->nfalses < SIM_FALSE_KEEP)
		m->falses[m->nfalses++] = (struct sim_false){
			.t_us = t_us,
			.observer = o,
			.subject = s,
			.kind = kind,
			.excused = excused,
		};
}

void
sim_metrics_event(struct sim_metrics *m, uint32_t o, uint64_t t_us,
		  const struct swim_event *ev)
{
	int64_t si;
	struct sim_mnode *s;

	switch (ev->kind) {
	case SWIM_EV_JOIN_FAILED:
		m->join_failed++;
		return;
	case SWIM_EV_REFUTED:
		m->refutes++;
		return;
	case SWIM_EV_CONFLICT:
		m->conflicts++;
		return;
	case SWIM_EV_JOINED:
	case SWIM_EV_LEAVE_DONE:
	case SWIM_EV_REAP:
		return;
	default:
		break;
	}
	si = sim_index_of_name(ev->name);
	if (si < 0 || (uint64_t)si >= m->n || (uint32_t)si == o)
		return;
	s = &m->nodes[si];
	switch (ev->kind) {
	case SWIM_EV_JOIN:
	case SWIM_EV_ALIVE:
	case SWIM_EV_UPDATE:
		if (s->open_join && is_live(s) &&
		    ev->incarnation >= s->start_ms)
			declare(m, s->open_join - 1, o, t_us);
		break;
	case SWIM_EV_SUSPECT:
	case SWIM_EV_FAILED:
		if (s->status == SIM_MS_DOWN) {
			struct sim_rumour *ru;

			if (!s->open_crash)
				break;
			ru = &m->rum[s->open_crash - 1];
			if (ev->kind == SWIM_EV_SUSPECT) {
				if (ru->first_suspect_us == SIM_NEVER)
					ru->first_suspect_us = t_us;
				break;
			}
			if (ru->first_suspect_us == SIM_NEVER)
				ru->first_suspect_us = t_us;
			if (ru->first_dead_us == SIM_NEVER)
				ru->first_dead_us = t_us;
			declare(m, s->open_crash - 1, o, t_us);
		} else if (s->status == SIM_MS_LEAVING ||
			   s->status == SIM_MS_LEFT) {
			if (ev->kind == SWIM_EV_FAILED)
				m->left_as_failed++;
		} else if (s->status == SIM_MS_UP &&
			   ev->incarnation >= s->start_ms) {
			false_alarm(m, o, (uint32_t)si, t_us, ev->kind);
		}
		break;
	case SWIM_EV_LEFT:
		if (s->open_leave)
			declare(m, s->open_leave - 1, o, t_us);
		break;
	default:
		break;
	}
}

int
sim_metrics_sample(struct sim_metrics *m, const struct sim_sample *row)
{
	if (m->nsamples == m->capsamples) {
		uint32_t cap = m->capsamples ? m->capsamples * 2 : 256;
		void *p = realloc(m->samples, cap * sizeof(*m->samples));

		if (!p)
			return ERR_NOMEM;
		m->samples = p;
		m->capsamples = cap;
	}
	m->samples[m->nsamples++] = *row;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* p50, p99, max, mean of n values (sorted in place) into out[0..3]. */
void
sim_pct4(double *v, size_t n, double *out)
{
	double sum = 0;

	if (!n) {
		out[0] = out[1] = out[2] = out[3] = NAN;
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	out[0] = v[(size_t)ceil(0.50 * (double)n) - 1];
	out[1] = v[(size_t)ceil(0.99 * (double)n) - 1];
	out[2] = v[n - 1];
	out[3] = sum / (double)n;
}

static double
span_ms(uint64_t from, uint64_t to)
{
	if (from == SIM_NEVER || to == SIM_NEVER)
		return INFINITY;
	return (double)(to - from) / 1000.0;
}

void
sim_metrics_compute(const struct sim_metrics *m, uint64_t t_us, double *v)
{
	double *a = calloc(m->nrum + 1, sizeof(double));
	double *b = calloc(m->nrum + 1, sizeof(double));
	double *c = calloc(m->nrum + 1, sizeof(double));
	double *d = calloc(m->nrum + 1, sizeof(double));
	size_t na = 0, nb = 0;
	uint64_t crashes = 0, detected = 0, leaves = 0, leaves_inc = 0;
	uint64_t joins = 0, joins_inc = 0, restarts = 0, rejoins_inc = 0;

	if (!a || !b || !c || !d)
		goto out;
	/* crashes */
	for (uint32_t r = 0; r < m->nrum; r++) {
		const struct sim_rumour *ru = &m->rum[r];

		if (ru->kind != SIM_RUM_CRASH || ru->interrupted ||
		    ru->t0_us > t_us)
			continue;
		crashes++;
		if (ru->done_us != SIM_NEVER)
			detected++;
		a[na] = span_ms(ru->t0_us, ru->first_suspect_us);
		b[na] = span_ms(ru->t0_us, ru->first_dead_us);
		c[na] = span_ms(ru->t0_us, ru->done_us);
		d[na] = span_ms(ru->first_dead_us, ru->done_us);
		na++;
	}
	v[SIM_M_CRASHES] = (double)crashes;
	v[SIM_M_DETECTED] = (double)detected;
	v[SIM_M_UNDETECTED] = (double)(crashes - detected);
	sim_pct4(a, na, &v[SIM_M_FIRST_SUSPECT_P50]);
	sim_pct4(b, na, &v[SIM_M_FIRST_DEAD_P50]);
	sim_pct4(c, na, &v[SIM_M_DEAD_EVERYWHERE_P50]);
	sim_pct4(d, na, &v[SIM_M_DEAD_SPREAD_P50]);

	/* leaves */
	na = 0;
	for (uint32_t r = 0; r < m->nrum; r++) {
		const struct sim_rumour *ru = &m->rum[r];

		if (ru->kind != SIM_RUM_LEAVE || ru->interrupted)
			continue;
		leaves++;
		if (ru->done_us == SIM_NEVER)
			leaves_inc++;
		a[na++] = span_ms(ru->t0_us, ru->done_us);
	}
	v[SIM_M_LEAVES] = (double)leaves;
	v[SIM_M_LEAVES_INCOMPLETE] = (double)leaves_inc;
	sim_pct4(a, na, &v[SIM_M_LEFT_EVERYWHERE_P50]);

	/* joins and restarts */
	na = nb = 0;
	for (uint32_t r = 0; r < m->nrum; r++) {
		const struct sim_rumour *ru = &m->rum[r];

		if (ru->interrupted || ru->eligible == 0)
			continue;
		if (ru->kind == SIM_RUM_JOIN) {
			joins++;
			if (ru->done_us == SIM_NEVER)
				joins_inc++;
			a[na++] = span_ms(ru->t0_us, ru->done_us);
		} else if (ru->kind == SIM_RUM_REJOIN) {
			restarts++;
			if (ru->done_us == SIM_NEVER)
				rejoins_inc++;
			b[nb++] = span_ms(ru->t0_us, ru->done_us);
		}
	}
	v[SIM_M_JOINS] = (double)joins;
	v[SIM_M_JOINS_INCOMPLETE] = (double)joins_inc;
	sim_pct4(a, na, &v[SIM_M_JOIN_SPREAD_P50]);
	v[SIM_M_JOIN_ROUNDS_P50] =
		v[SIM_M_JOIN_SPREAD_P50] / m->gossip_interval_ms;
	v[SIM_M_JOIN_ROUNDS_P99] =
		v[SIM_M_JOIN_SPREAD_P99] / m->gossip_interval_ms;
	v[SIM_M_JOIN_ROUNDS_MAX] =
		v[SIM_M_JOIN_SPREAD_MAX] / m->gossip_interval_ms;
	v[SIM_M_RESTARTS] = (double)restarts;
	v[SIM_M_REJOINS_INCOMPLETE] = (double)rejoins_inc;
	sim_pct4(b, nb, &v[SIM_M_REJOIN_SPREAD_P50]);

	v[SIM_M_FALSE_SUSPECT] = (double)m->false_suspect;
	v[SIM_M_FALSE_DEAD] = (double)m->false_dead;
	v[SIM_M_FALSE_SUSPECT_ANY] = (double)m->false_suspect_any;
	v[SIM_M_FALSE_DEAD_ANY] = (double)m->false_dead_any;
	v[SIM_M_LEFT_AS_FAILED] = (double)m->left_as_failed;
	v[SIM_M_JOIN_FAILED] = (double)m->join_failed;
	v[SIM_M_REFUTES] = (double)m->refutes;
	v[SIM_M_CONFLICTS] = (double)m->conflicts;

	/* samples */
	{
		uint32_t dmax = 0;
		double conv = INFINITY;
		unsigned hmax = 0;

		for (uint32_t i = 0; i < m->nsamples; i++) {
			const struct sim_sample *s = &m->samples[i];

			if (s->t_us > t_us)
				break;
			if (s->health_max > hmax)
				hmax = s->health_max;
			if (s->t_us >= m->measure_us && s->digests > dmax)
				dmax = s->digests;
			if (s->digests <= 1) {
				if (isinf(conv))
					conv = (double)s->t_us / 1000.0;
			} else {
				conv = INFINITY;
			}
		}
		v[SIM_M_DIGESTS_MAX] = (double)dmax;
		v[SIM_M_CONVERGED_AT] = conv;
		v[SIM_M_HEALTH_MAX] = (double)hmax;
		for (uint32_t i = m->nsamples; i > 0; i--) {
			const struct sim_sample *s = &m->samples[i - 1];

			if (s->t_us > t_us)
				continue;
			v[SIM_M_MSGS_NOW] = s->msgs_ps;
			v[SIM_M_BYTES_NOW] = s->bytes_ps;
			break;
		}
		conv = NAN;
		for (uint32_t i = 0; i < m->nsamples; i++) {
			const struct sim_sample *s = &m->samples[i];

			if (s->t_us > t_us)
				break;
			if (!s->services)
				continue;
			if (s->running >= s->desired && !s->doubled) {
				if (!isfinite(conv))
					conv = (double)s->t_us / 1000.0;
			} else {
				conv = INFINITY;
			}
		}
		v[SIM_M_REPLICAS_CONVERGED_AT] = conv;
	}
out:
	free(a);
	free(b);
	free(c);
	free(d);
}
