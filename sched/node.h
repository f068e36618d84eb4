/* SPDX-License-Identifier: MIT */
/*
 * sched/node.h — one shoal node: membership + keys + (manager, services,
 * placement) composed into the single pure machine that both runtimes
 * drive.
 *
 * The verbs are the same as gossip/swim.h (recv, recv_stream, stream_reply,
 * stream_failed, tick, next_deadline, pop_out, pop_event) and mean the
 * same; the node adds what sits above membership:
 *
 *   - tags (k=v labels, e.g. role=manager) carried in the member metadata;
 *   - the keyring, owned by the node, with cluster-wide key rotation carried
 *     by gossip (install / use / remove), each member advertising which key
 *     fingerprints it holds in its metadata so any node can list them;
 *   - manager election (sched/elect.h): eligible members are those without
 *     a `role` tag or with role=manager; the best-ranked one claims when
 *     the office is vacant and it sees a majority;
 *   - the replicated desired state (sched/state.h): services, node
 *     availability, the slot table, task reports; gossiped as application
 *     broadcasts and carried whole in push-pull;
 *   - the manager's placement rounds (sched/plan.h), and each node's share
 *     of tasks, handed to the runtime as TASK_START / TASK_STOP /
 *     TASK_RESTART events; the runtime reports back with node_task_report().
 *
 * Ownership and lifetime: as in swim.h. The runtime owns the intern pool,
 * the log and the nonce source; the node owns its keyring and hands it out
 * read-only; NODE_EV_KEYRING tells the runtime to persist it.
 */
#ifndef SHOAL_SCHED_NODE_H
#define SHOAL_SCHED_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "gossip/swim.h"
#include "sched/elect.h"
#include "sched/plan.h"
#include "sched/spec.h"
#include "sched/state.h"

#define NODE_TAGS_MAX 16
#define NODE_TAG_KEY_MAX 32
#define NODE_TAG_VALUE_MAX 64

struct node_tag {
	char key[NODE_TAG_KEY_MAX + 1];	    /* [A-Za-z0-9._-], 1..32 */
	char value[NODE_TAG_VALUE_MAX + 1]; /* printable, no '=' or ',' */
};

struct node_config {
	struct swim_config swim; /* name, addr, start_ms, seed, cluster, prof */
	struct node_tag tags[NODE_TAGS_MAX];
	unsigned ntags;
	/* Scheduling; zero values take the defaults. */
	struct plan_config plan;
	uint64_t claim_delay_ms;   /* default: 2 x probe_interval */
	uint64_t tombstone_ttl_ms; /* default: 24 h */
	uint64_t manager_round_ms; /* a placement round at least this often
				    * while manager; default 1 s */
};

struct node_env {
	struct intern *pool;
	const struct log *log; /* may be NULL */
	/* Fill a 24-byte nonce; NULL draws from the node's seeded PRNG. */
	void (*nonce)(void *ctx, uint8_t out[CRYPTO_NONCE_LEN]);
	void *nonce_ctx;
};

enum node_event_kind {
	NODE_EV_MEMBER = 1,	  /* .member: a membership event (swim.h) */
	NODE_EV_KEYRING = 2,	  /* the keyring changed: persist it */
	NODE_EV_MANAGER = 3,	  /* .manager: who manages changed (or
				   * whether we act as manager) */
	NODE_EV_TASK_START = 4,	  /* .task: run this slot here */
	NODE_EV_TASK_STOP = 5,	  /* .task: stop it (moved, scaled down,
				   * removed); spec may be NULL */
	NODE_EV_TASK_RESTART = 6, /* .task: restart it with .spec (rolling
				   * update to a new task digest) */
};

struct node_task {
	char service[SPEC_NAME_MAX + 1];
	uint32_t slot;
	uint64_t task_digest;	 /* spec_task_digest() to run: report it as
				  * the gen of node_task_report() */
	const struct spec *spec; /* the current spec; NULL for a stop of a
				  * removed service. Valid until the next
				  * call into the node: copy what you need */
};

struct node_event {
	enum node_event_kind kind;
	uint64_t time_ms;
	struct swim_event member;     /* NODE_EV_MEMBER */
	struct elect_event manager;   /* NODE_EV_MANAGER */
	struct node_task task;	      /* NODE_EV_TASK_* */
};

/* Event names for handlers and monitors: "member-join" ... (swim.h) for
 * members, "keyring", "manager", "task-start", "task-stop",
 * "task-restart". */
const char *node_event_name(const struct node_event *ev);

struct node;

/* Make a node with a copy of kr (an empty keyring means unencrypted).
 * NULL and *err on failure (ERR_INVAL: bad name, tag or profile). */
struct node *node_new(const struct node_config *cfg, const struct keyring *kr,
		      const struct node_env *env, int *err);
void node_delete(struct node *n);

/* ---- the sans-I/O verbs (see gossip/swim.h) ---- */
void node_recv(struct node *n, uint64_t now_ms, const struct addr *from,
	       const uint8_t *p, size_t len);
void node_recv_stream(struct node *n, uint64_t now_ms, uint32_t conn_id,
		      const struct addr *from, const uint8_t *p, size_t len);
void node_stream_reply(struct node *n, uint64_t now_ms, uint32_t stream_id,
		       const uint8_t *p, size_t len);
void node_stream_failed(struct node *n, uint64_t now_ms, uint32_t stream_id);
void node_tick(struct node *n, uint64_t now_ms);
uint64_t node_next_deadline(const struct node *n);
bool node_pop_out(struct node *n, struct swim_out *out);
bool node_pop_event(struct node *n, struct node_event *ev);

/* ---- membership control ---- */
int node_join(struct node *n, uint64_t now_ms, const struct addr *seeds,
	      size_t nseeds);
int node_leave(struct node *n, uint64_t now_ms);
bool node_is_stopped(const struct node *n);
/* serf's force-leave: a failed member becomes left everywhere, which also
 * takes it out of the voting set. 0; ERR_STATE (alive, suspect, or us);
 * ERR_NOENT (not a member, nor a failed voter the membership forgot). */
int node_force_leave(struct node *n, uint64_t now_ms, const char *name);
/* Replace our tags (spread with a new incarnation). 0 or ERR_INVAL. */
int node_set_tags(struct node *n, uint64_t now_ms,
		  const struct node_tag *tags, unsigned ntags);

/* Start from a converged view (see swim_preload()): for simulations that
 * begin with a settled cluster. Returns how many members were added. */
size_t node_preload(struct node *n, uint64_t now_ms,
		    const struct swim_member_info *members, size_t count);
/* node_preload() of a view prepared once for many nodes (swim_view_new()):
 * the same result, without interning the view again for every node. */
size_t node_preload_view(struct node *n, uint64_t now_ms,
			 struct swim_view *v);

/* Memory held by this node (its event ring, membership tables, state,
 * scratch), not counting the shared intern pool. */
size_t node_memory(const struct node *n);

/* The membership machine, for read-only queries (members, stats, digest). */
const struct swim *node_swim(const struct node *n);

/* Tags of a member, decoded from its metadata. Returns the number of tags
 * (<= cap), or ERR_NOENT (no such member). */
int node_member_tags(const struct node *n, const char *name,
		     struct node_tag *tags, unsigned cap);

/* Validate a tag ("key=value" text into *tag). 0 or ERR_INVAL. */
int node_tag_parse(const char *text, struct node_tag *tag);

/* ---- services, tasks, manager (sched/) ---- */

/* Desired-state changes, accepted on any node and gossiped. A refusal
 * explains itself in why (one sentence). create: ERR_EXIST, ERR_INVAL;
 * update: ERR_NOENT, ERR_INVAL; scale: ERR_NOENT, ERR_INVAL (global);
 * remove: ERR_NOENT. ERR_FULL beyond the state's bounds. */
int node_service_create(struct node *n, uint64_t now_ms, const struct spec *s,
			char *why, size_t why_cap);
int node_service_update(struct node *n, uint64_t now_ms, const struct spec *s,
			char *why, size_t why_cap);
int node_service_scale(struct node *n, uint64_t now_ms, const char *name,
		       uint32_t replicas, char *why, size_t why_cap);
int node_service_remove(struct node *n, uint64_t now_ms, const char *name);

/* A node's availability (any node may set any node's). 0, ERR_NOENT (no
 * such member), ERR_INVAL, ERR_FULL. */
int node_set_availability(struct node *n, uint64_t now_ms, const char *name,
			  enum state_avail a);

/* The runtime reports one of its tasks (service, slot, state, restarts,
 * exit code, gen = the task digest it runs, since). 0, ERR_NOENT (the
 * service is gone), ERR_INVAL. */
int node_task_report(struct node *n, uint64_t now_ms,
		     const struct state_task *t);

/* The replicated state, read-only: `service ls/ps/inspect` read it. */
const struct state *node_state(const struct node *n);

struct node_manager_status {
	char manager[SWIM_NAME_MAX + 1]; /* "" when none in office */
	uint64_t term;
	bool leading;  /* we are the acting manager */
	bool eligible; /* we may be manager */
	uint32_t voters, seen;
	char text[ELECT_STATUS_MAX]; /* one line, e.g. "no manager: no
				      * quorum: sees 2 of 5 eligible ..." */
};

void node_manager_status(const struct node *n,
			 struct node_manager_status *out);

/* Our current share of tasks (what TASK_START/STOP events have said),
 * for `shoal info` and tests. */
size_t node_task_count(const struct node *n);

/* ---- keys ---- */

/* The keyring we seal and open with. */
const struct keyring *node_keyring(const struct node *n);

/* Replace the keyring wholesale (the agent's SIGHUP reload). Does not
 * broadcast. 0 or ERR_INVAL (keyed <-> unkeyed switch refused). */
int node_set_keyring(struct node *n, uint64_t now_ms,
		     const struct keyring *kr);

/* Cluster-wide rotation: apply locally, then gossip the operation (sealed,
 * so only members can do it). Each member re-advertises the fingerprints it
 * holds. install: 0, ERR_EXIST, ERR_FULL. use: 0, ERR_NOENT. remove: 0,
 * ERR_NOENT, ERR_STATE (the primary). All: ERR_STATE when unencrypted. */
int node_keys_install(struct node *n, uint64_t now_ms,
		      const uint8_t key[CRYPTO_KEY_LEN]);
int node_keys_use(struct node *n, uint64_t now_ms,
		  const uint8_t key[CRYPTO_KEY_LEN]);
int node_keys_remove(struct node *n, uint64_t now_ms,
		     const uint8_t key[CRYPTO_KEY_LEN]);

/* Key fingerprints a member advertises (16 hex digits each; the primary
 * first). Returns how many (<= cap), or ERR_NOENT. */
int node_member_keys(const struct node *n, const char *name,
		     char fps[][CRYPTO_FP_LEN], unsigned cap);

#endif
