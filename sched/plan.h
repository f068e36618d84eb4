/* SPDX-License-Identifier: MIT */
/*
 * sched/plan.h — the manager's round over the replicated state, and each
 * node's share of it.
 *
 * plan_run() is what the acting manager calls (sched/elect.h says who
 * that is): it turns the node's membership view and the replicated state
 * (services, availability, slot table, task reports) into one
 * sched/place.h round, writes every decision into the state with the
 * manager's term (state_slot_set(); the decisions leave with the next
 * deltas), and drives rolling updates. It is pure, like the modules it
 * composes, and keeps only manager-local bookkeeping between rounds.
 *
 * Node states for placement: a member alive and active is up; alive and
 * paused, paused; alive or suspect and drained, draining; suspect,
 * suspect; failed or left, down. A node named in the slot table that is
 * not a member any more is down.
 *
 * Rolling updates. A slot's gen is the spec_task_digest() of the spec it
 * was rolled to; new slots get the current one. When a service's task
 * digest changes (args or env; a scale or a policy change restarts
 * nothing), the manager rolls its slots over, update.parallelism at a time
 * (0: all at once), in slot order: a slot is in progress from the moment
 * its gen is set until its node reports it running with that digest; the
 * next batch starts update.delay_ms after a batch is done. A task that does
 * not come up stalls the rollout (as Docker's default failure action
 * "pause" does) until the spec is fixed.
 *
 * What a node does with its share (plan_tasks_of()): run each task it is
 * given with the service's current spec; when the slot's gen changes to
 * the current task digest and the task runs another digest, restart it;
 * report every change of its tasks with state_task_report() (gen = the
 * digest it runs); stop tasks that are no longer given to it.
 *
 * Decisions in flight: a slot of a replicated service whose record was
 * written less than move_timeout_ms ago and whose node has not yet
 * reported it running at its gen. They are counted from the replicated
 * state at every round (a new manager sees its predecessor's too), and
 * place_run() gets the count, so a join moves at most
 * rebalance_parallelism slots at a time, and none while other decisions
 * are still starting.
 *
 * Rejected tasks. When the node a slot is placed on reports it REJECTED
 * (it could not start it: a missing program, the agent's task limit) at
 * the service's current task digest, after the decision that put it
 * there, the slot moves to another node (PLACE_WHY_REJECTED), or stays
 * when no other node can take it. The node is then held: it takes no new
 * slot of that service for PLAN_REJECT_HOLD_MS, and each rejection after
 * a hold has ended doubles the next one, up to PLAN_REJECT_HOLD_MAX_MS.
 * So a spec that fails everywhere visits each node once per hold, ever
 * more slowly, and stays placed. A changed task digest starts afresh.
 * The holds are the manager's memory (a new manager starts without
 * them); a rejection report older than PLAN_REJECT_HOLD_MAX_MS starts no
 * hold, and a node's record is forgotten that long after its hold ends.
 *
 * Bounds: PLAN_MOVES_MAX moves tracked, PLAN_REJECTS_MAX (service, node)
 * holds (when full, the one that ends first makes room), max_changes
 * decisions per round (a rate limit on the gossip a round makes), and
 * those of state and place.
 */
#ifndef SHOAL_SCHED_PLAN_H
#define SHOAL_SCHED_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/swim.h"
#include "sched/place.h"
#include "sched/spec.h"
#include "sched/state.h"

#define PLAN_MOVES_MAX		     1024
#define PLAN_CHANGES_DEFAULT	     2048
#define PLAN_MOVE_TIMEOUT_DEFAULT_MS 60000
#define PLAN_REJECTS_MAX	     4096
#define PLAN_REJECT_HOLD_MS	     30000
#define PLAN_REJECT_HOLD_MAX_MS	     600000

/* A member as the node sees it (ourselves included). */
struct plan_member {
	const char *name;
	enum swim_state state;
	const struct spec_tag *tags;
	size_t ntags;
};

struct plan_config {
	struct place_config place;
	uint32_t max_changes;	  /* decisions per round; 0: default */
	uint64_t move_timeout_ms; /* 0: default */
};

struct plan_stats {
	uint64_t rounds;
	uint64_t decisions;	/* slot records written */
	uint64_t rolled;	/* slots rolled to a new task digest */
	uint64_t moves_done;	/* rebalancing moves confirmed running */
	uint64_t moves_expired; /* ... given up on */
	uint32_t inflight;	/* decisions in flight after the last round */
	uint32_t unplaced;	/* slots without a node after the last round */
	uint64_t rejections;	/* rejection reports counted */
	uint32_t held;		/* (service, node) holds in force */
};

/* A task the state gives to a node. */
struct plan_task {
	const struct state_service *service; /* live; spec is the current */
	uint32_t slot;
	uint64_t gen;	      /* the slot's gen (see above) */
	uint64_t task_digest; /* spec_task_digest() of the current spec */
};

struct plan;

/* NULL and *err (ERR_INVAL: a place setting; ERR_NOMEM). cfg may be NULL
 * (defaults). */
struct plan *plan_new(const struct plan_config *cfg, int *err);
void plan_delete(struct plan *pl);

/* One round as manager of `term` (see above). Returns the number of
 * decisions written (>= 0), ERR_STALE when a newer term already holds a
 * slot we meant to change (we are outdated: elect_observe_term() with
 * state_max_term()), or ERR_NOMEM / ERR_INVAL. */
int plan_run(struct plan *pl, struct state *st, uint64_t now_ms, uint64_t term,
	     const struct plan_member *members, size_t nmembers);

/* When plan_run() has something to do that no event will announce (the
 * delay between rollout batches), or UINT64_MAX. */
uint64_t plan_next_deadline(const struct plan *pl);

/* Forget manager-local bookkeeping: own moves, rollouts, holds (call
 * when we stop being manager). */
void plan_reset(struct plan *pl);

const struct plan_stats *plan_stats(const struct plan *pl);

/* The tasks the state gives to node `self`: every slot of a live service
 * whose visible node is self (replicated: below replicas). Writes up to
 * cap into out (service name order, then slot order) and returns how many
 * there are in all. Pointers stay valid until the state is next changed. */
size_t plan_tasks_of(const struct state *st, const char *self,
		     struct plan_task *out, size_t cap);

#endif
