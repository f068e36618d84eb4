/* SPDX-License-Identifier: MIT */
/*
 * sched/node_int.h — the inside of struct node, shared by node.c
 * (membership, tags, keys, the verbs) and node_sched.c (election, state,
 * placement, tasks). Not part of the public API.
 */
#ifndef SHOAL_SCHED_NODE_INT_H
#define SHOAL_SCHED_NODE_INT_H

#include "core/buf.h"
#include "sched/node.h"

/* A task we have handed to the runtime (TASK_START not yet stopped). */
struct node_assigned {
	char service[SPEC_NAME_MAX + 1];
	uint32_t slot;
	uint64_t digest; /* the task digest it was started or restarted on */
	uint64_t inc;	 /* the service's incarnation */
	/* The runtime's last report of it, kept so that we can report it
	 * again when the replicated state has pushed it out. */
	bool reported;
	enum task_state state;
	uint32_t restarts;
	int32_t exit_code;
	uint64_t gen, since_ms;
	char msg[STATE_TASK_MSG_MAX + 1];
	uint64_t refresh_after_ms; /* no re-report before (rate limit) */
};

struct node {
	struct swim *sw;
	struct keyring kr;
	struct node_env env;
	struct node_tag tags[NODE_TAGS_MAX];
	unsigned ntags;
	uint64_t kr_version; /* hybrid logical clock of keyring changes */
	bool meta_dirty;     /* re-advertise our metadata after this verb */
	uint64_t now_ms;     /* time of the verb being run (for callbacks) */

	struct node_event *ev;
	uint32_t ev_head, ev_n, ev_cap;
	uint64_t ev_dropped;

	/* ---- node_sched.c ---- */
	struct state *st;
	struct elect el;
	struct plan *pl;
	struct buf scratch;	    /* deltas out, tag arena */
	uint64_t round_ms;	    /* manager round period */
	uint64_t next_round_ms;	    /* next round while manager */
	uint64_t next_housekeep_ms; /* state_tick */
	int pending;		    /* state change mask since last run */
	uint64_t next_refresh_ms;   /* next check that our reports are kept */
	uint64_t reports_refreshed; /* re-reports made (see node_sched.c) */
	bool view_dirty;	    /* membership changed since last run */
	bool self_eligible;
	/* Members whose tags make them ineligible (role other than manager):
	 * interned names, references held. Usually empty. */
	struct istr **inelig;
	size_t ninelig, inelig_cap;
	/* The elect view's sequential cursor. */
	size_t view_i, view_cur;
	/* Voters the membership forgot: voter records of the state whose
	 * member is not in the swim's table (node_sched.c). */
	uint32_t nabsent;
	/* Our share of tasks, sorted by (service, slot). */
	struct node_assigned *tasks;
	size_t ntasks, tasks_cap;
	/* Manager lease (node_sched.c): voters we heard follow us, keyed by
	 * interned name (open addressing; references held). */
	struct node_follow {
		struct istr *name;
		uint64_t last_ms;
	} *fol;
	size_t fol_cap, fol_n;
	uint64_t fol_term;	   /* the term the follows are for */
	bool lease_ok;		   /* cached verdict */
	uint64_t lease_checked_ms; /* when it was computed */
	uint32_t lease_heard;	   /* voters heard (self included) */
	bool acting;		   /* leading with a lease: as last told */
	/* Follower side: whom we follow, and when to say so again. */
	char followed[SWIM_NAME_MAX + 1];
	uint64_t followed_term;
	uint64_t next_follow_ms;
	/* Scratch for rounds and task diffs. */
	struct plan_member *pm;
	size_t pm_cap;
	struct spec_tag *ptags;
	size_t ptags_cap;
	struct plan_task *pt;
	size_t pt_cap;
};

/* node.c */
void node_push_event(struct node *n, const struct node_event *e);
/* Decode member tags from metadata: calls tag() for each. 0 or
 * ERR_DECODE. */
int node_walk_tags(const uint8_t *meta, size_t len,
		   void (*tag)(void *ctx, const char *k, uint32_t kn,
			       const char *v, uint32_t vn),
		   void *ctx);

/* node_sched.c: the scheduling side of a node. */
int nsched_init(struct node *n, const struct node_config *cfg);
void nsched_destroy(struct node *n);
/* A membership event, as it is drained from the swim. */
void nsched_on_member(struct node *n, const struct swim_event *e);
/* A state delta (application message of kind STATE_MSG_KIND); from a
 * swim callback: only records what changed. */
void nsched_on_delta(struct node *n, uint64_t now, const uint8_t *p,
		     size_t len);
/* The state part of push-pull. */
int nsched_encode_full(struct node *n, struct buf *b);
void nsched_merge_full(struct node *n, uint64_t now, const uint8_t *p,
		       size_t len);
/* A follower's lease renewal (application message of kind
 * NODE_MSG_FOLLOW), from a swim callback: only records it. */
void nsched_on_follow(struct node *n, uint64_t now, const char *from,
		      uint64_t term);
/* After every verb: election, claims, manager rounds, task diffs, deltas
 * out. */
void nsched_run(struct node *n, uint64_t now);
uint64_t nsched_next_deadline(const struct node *n);
/* Our tags changed (eligibility), or we are leaving. */
void nsched_self_changed(struct node *n);
/* node_force_leave(): after swim_force_leave() returned rc. Records the
 * member as no voter (gossiped), also when the membership no longer
 * lists it but it is an absent voter (then 0 instead of ERR_NOENT).
 * Returns the result for the caller. */
int nsched_force_leave(struct node *n, uint64_t now, const char *name, int rc);

#endif
