/* SPDX-License-Identifier: MIT */
/*
 * sched/state.h — the replicated desired state of a shoal cluster.
 *
 * Every node holds a full replica of six kinds of record:
 *
 *   service   name -> spec, or a tombstone. Written by any node (create,
 *             update, scale, remove). Last writer wins by (version,
 *             origin, tombstone, spec digest).
 *   avail     node -> active | pause | drain. Written by any node. Last
 *             writer wins by (version, origin, value).
 *   slot      (service, slot) -> node, written by the manager with its
 *             term. Wins by (incarnation, term, version, node, gen): a
 *             decision of an older term never overrides one of a newer
 *             term.
 *   task      (service, slot, reporting node) -> state, restarts, exit
 *             code. Written only by the reporting node; wins by
 *             (incarnation, version, ...). A slot keeps the reports of
 *             STATE_REPORTS_PER_SLOT reporters, the newest by version.
 *   claim     the best manager claim heard, (term, name), ordered as in
 *             sched/elect.h.
 *   voter     member -> (incarnation, voter or not): the roster of voters
 *             that failed (sched/node_sched.c), so that a failed voter
 *             stays in the voting set after membership forgets it, until
 *             it leaves or is force-left. Wins by (incarnation, not a
 *             voter): a later life of the member wins, and within one
 *             life leaving wins over failing. Derived records (every node
 *             sees a failure) are written locally without a delta and
 *             spread by push-pull; an operator's force-leave is
 *             gossiped.
 *
 * Versions are a hybrid logical clock: a local write takes max(clock + 1,
 * now_ms) and every version seen raises the clock, so a write is newer
 * than everything its writer had seen, and a restarted node's writes are
 * not older than what it wrote before it stopped.
 *
 * Incarnations: a service re-created after a removal is a new service. Its
 * record carries `inc`, the version of the newest tombstone its creator
 * knew (0 for a name never removed), and every slot and task record
 * carries the inc of the service it belongs to. Records of an older
 * incarnation lose against any of a newer one and are not visible (a
 * slot is visible when its inc equals its service's). Because every
 * comparison is a total order on the record alone, merging is
 * commutative, associative and idempotent: replicas that saw the same
 * records hold the same state, whatever the order.
 *
 * Removal is a tombstone; a tombstone (with the slots and reports of its
 * service) is reaped tombstone_ttl_ms after this node learned of it, and
 * so is a voter record that says "not a voter" (voters are never
 * reaped). A
 * replica that was cut off for longer than that may bring the service
 * back: the usual trade of tombstone garbage collection (serf reaps after
 * 24 h, which is our default).
 *
 * Gossip. Every change — a local write, or a merged record that was new
 * to us (epidemic re-broadcast, like serf's user events) — is encoded as a
 * record into delta messages of at most delta_max bytes. state_pop_delta()
 * hands them out; the node sends each as one application broadcast
 * (swim_broadcast()). A service record larger than a delta is split into
 * fragments that receivers reassemble (STATE_REASM_MAX at a time, each
 * dropped after STATE_REASM_TIMEOUT_MS; a buffer of STATE_RECORD_MAX bytes
 * is allocated only while a reassembly is under way). Pending deltas are
 * bounded by
 * outbox_max bytes; beyond that the oldest are dropped and counted
 * (anti-entropy repairs what they carried). The full state for push-pull
 * is the same records in one message (state_encode_full()).
 *
 * Wire format (msgpack, small integer keys, unknown keys skipped):
 *
 *   message   {0: kind (STATE_MSG_KIND), 1: format (1), 2: [record...],
 *              3: clock (full state only)}
 *   record    {1: type, ...}
 *     SERVICE 1  {2 name, 3 version, 4 origin, 5 inc, 6 removed (bool),
 *                 7 spec (map, sched/spec.h; absent when removed)}
 *     FRAG    2  {2 name, 3 version, 4 origin, 5 total, 6 offset,
 *                 7 bytes (bin)}: bytes [offset, offset + n) of an
 *                 encoded SERVICE record of `total` bytes
 *     AVAIL   3  {2 node, 3 version, 4 origin, 5 avail}
 *     SLOT    4  {2 service, 3 slot, 4 node ("" = none), 5 term,
 *                 6 version, 7 gen, 8 inc}
 *     TASK    5  {2 service, 3 slot, 4 reporter, 5 version, 6 state,
 *                 7 restarts, 8 exit (int), 9 gen, 10 since_ms,
 *                 11 message (str), 12 inc}
 *     CLAIM   6  {2 name, 3 term}
 *     VOTER   7  {2 node, 3 incarnation, 4 voter (bool)}
 *
 * Merging is all or nothing per message: every record is decoded and
 * checked first; a message with one bad record changes nothing and is
 * counted as dropped. No field sizes an allocation: a reassembly buffer
 * has a fixed size; slot tables grow only with records actually received.
 *
 * Bounds: STATE_SERVICES_MAX service entries (live, tombstones, and
 * entries known only through their slots), STATE_SLOTS_MAX slot entries
 * per service and STATE_SLOTS_TOTAL_MAX in all, STATE_NODES_MAX
 * availability records, STATE_VOTERS_MAX voter records, task messages of
 * STATE_TASK_MSG_MAX bytes, spec
 * records of SPEC_ENCODED_MAX bytes. A record beyond a bound is dropped
 * and counted; a local write beyond a bound fails with ERR_FULL.
 *
 * Ownership: the state owns its records; node names are interned in the
 * pool passed to state_new() (which must outlive it). Pointers returned by
 * the accessors stay valid until the next call that mutates the state.
 */
#ifndef SHOAL_SCHED_STATE_H
#define SHOAL_SCHED_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/intern.h"
#include "gossip/swim.h"
#include "sched/spec.h"

#define STATE_FORMAT 1
/* Key 0 of every message: the node's application-message kind (node.c
 * routes broadcasts by it; 1 is a keyring operation). */
#define STATE_MSG_KIND		       2
#define STATE_SERVICES_MAX	       1024
#define STATE_SLOTS_MAX		       65536
#define STATE_SLOTS_TOTAL_MAX	       (1u << 20)
#define STATE_NODES_MAX		       65536
#define STATE_VOTERS_MAX	       65536
#define STATE_REPORTS_PER_SLOT	       2
#define STATE_TASK_MSG_MAX	       128
#define STATE_REASM_MAX		       8
#define STATE_REASM_TIMEOUT_MS	       60000
#define STATE_DELTA_MIN		       512
#define STATE_DELTA_DEFAULT	       1100
#define STATE_OUTBOX_DEFAULT	       (256u * 1024)
#define STATE_TOMBSTONE_TTL_DEFAULT_MS (24ull * 3600 * 1000)
/* Largest encoded SERVICE record: the spec plus its header. */
#define STATE_RECORD_MAX (SPEC_ENCODED_MAX + 256)

enum state_avail {
	STATE_ACTIVE = 0, /* runs tasks and takes new ones */
	STATE_PAUSE = 1,  /* keeps its tasks, takes no new ones */
	STATE_DRAIN = 2,  /* its tasks move elsewhere */
};

enum task_state {
	TASK_STARTING = 1, /* started, not yet confirmed running */
	TASK_RUNNING = 2,
	TASK_COMPLETE = 3, /* exited 0 and will not restart */
	TASK_FAILED = 4,   /* exited non-zero or killed; may restart */
	TASK_SHUTDOWN = 5, /* stopped by us (moved, scaled down, removed) */
	TASK_REJECTED = 6, /* could not be started (exec failed, ...) */
};

const char *state_avail_name(enum state_avail a);
int state_avail_parse(const char *text, enum state_avail *a);
const char *task_state_name(enum task_state s);

/* Change mask returned by merges. */
enum {
	STATE_CH_SERVICE = 1 << 0,
	STATE_CH_AVAIL = 1 << 1,
	STATE_CH_SLOT = 1 << 2,
	STATE_CH_TASK = 1 << 3,
	STATE_CH_CLAIM = 1 << 4,
	STATE_CH_VOTER = 1 << 5,
};

struct state_config {
	const char *self;	   /* our node name: origin of our writes */
	uint64_t tombstone_ttl_ms; /* 0: STATE_TOMBSTONE_TTL_DEFAULT_MS */
	uint32_t delta_max;	   /* bytes per delta; 0: default */
	uint32_t outbox_max;	   /* bytes of pending deltas; 0: default */
};

struct state_report {
	struct istr *node; /* reporter; NULL: empty entry */
	uint64_t version;
	uint64_t inc;
	uint64_t gen;	   /* spec_task_digest() of what the task runs */
	uint64_t since_ms; /* reporter's clock when it entered the state */
	int32_t exit_code; /* last exit status, -signal, 0 if none */
	uint32_t restarts;
	enum task_state state;
	struct istr *msg; /* short error text or NULL */
};

struct state_slot {
	uint32_t slot;
	struct istr *node; /* NULL: none (removed or never assigned) */
	uint64_t term;	   /* 0: no assignment record */
	uint64_t version;
	uint64_t gen; /* spec_task_digest() the slot was rolled to */
	uint64_t inc;
	struct state_report rep[STATE_REPORTS_PER_SLOT];
};

struct state_service {
	char name[SPEC_NAME_MAX + 1];
	bool has_rec; /* false: known only through slot/task records */
	bool removed; /* a tombstone */
	uint64_t version;
	struct istr *origin;
	uint64_t inc;	  /* incarnation (see above) */
	uint64_t digest;  /* spec_digest(), 0 for a tombstone */
	uint64_t floor;	  /* newest tombstone version seen */
	uint64_t seen_ms; /* our clock: tombstone / placeholder since */
	struct spec spec; /* valid when has_rec && !removed */
	/* slot entries, sorted by slot number */
	struct state_slot *slots;
	uint32_t nslots, slots_cap;
};

/* A voter record (see above). */
struct state_voter {
	struct istr *node;
	uint64_t inc;	  /* the member's incarnation it is about */
	bool voter;	  /* failed at inc and still a voter; false: left */
	uint64_t seen_ms; /* our clock when it last changed */
};

/* A task report as the runtime gives it (reporter = ourselves). */
struct state_task {
	const char *service;
	uint32_t slot;
	enum task_state state;
	uint32_t restarts;
	int32_t exit_code;
	uint64_t gen;
	uint64_t since_ms;
	const char *msg; /* NULL or up to STATE_TASK_MSG_MAX bytes */
};

struct state_stats {
	uint64_t deltas_out, delta_bytes_out, deltas_dropped;
	uint64_t msgs_merged, msgs_dropped; /* messages in: applied, refused */
	uint64_t records_new;		    /* records that changed state */
	uint64_t records_stale;		    /* records we already had */
	uint64_t records_full;		    /* dropped: a bound was hit */
	uint64_t frags_in, frags_done, frags_expired;
	uint64_t reaped;
};

struct state;

/* NULL and *err (ERR_INVAL: bad self name or config; ERR_NOMEM). */
struct state *state_new(const struct state_config *cfg, struct intern *pool,
			int *err);
void state_delete(struct state *st);

/* ---- local writes: each produces deltas ---- */

/* Create a service (refused with ERR_EXIST while a live one has the
 * name), replace its spec (ERR_NOENT if none), scale it (ERR_NOENT;
 * ERR_INVAL for a global service), remove it (ERR_NOENT). The spec is
 * validated; a refusal explains itself in why. */
int state_service_create(struct state *st, uint64_t now_ms,
			 const struct spec *spec, char *why, size_t cap);
int state_service_update(struct state *st, uint64_t now_ms,
			 const struct spec *spec, char *why, size_t cap);
int state_service_scale(struct state *st, uint64_t now_ms, const char *name,
			uint32_t replicas, char *why, size_t cap);
int state_service_remove(struct state *st, uint64_t now_ms, const char *name);

/* Set a node's availability. 0, ERR_INVAL (name), ERR_FULL. */
int state_node_set_avail(struct state *st, uint64_t now_ms, const char *node,
			 enum state_avail a);

/* Report one of our tasks. 0, ERR_INVAL, ERR_NOENT (no such live
 * service), ERR_FULL. */
int state_task_report(struct state *st, uint64_t now_ms,
		      const struct state_task *t);

/* The manager's decision: slot of service -> node (NULL: none). term is
 * the manager's term; gen the spec_task_digest() the slot is rolled to (0:
 * the service's current one). 0, ERR_NOENT (no live service), ERR_INVAL,
 * ERR_STALE (a record of a newer term holds the slot: we are outdated),
 * ERR_FULL. */
int state_slot_set(struct state *st, uint64_t now_ms, uint64_t term,
		   const char *service, uint32_t slot, const char *node,
		   uint64_t gen);

/* Publish a manager claim (ours: from elect_pop_claim()). 0 or ERR_STALE
 * when a better claim is already held. */
int state_set_claim(struct state *st, uint64_t term, const char *name);

/* Record that member `node` at incarnation inc failed and is a voter
 * (voter true), or left or was force-left (false). gossip: also queue it
 * as a delta (an operator's force-leave; what every node sees for itself
 * is not gossiped). 1 if the record changed, 0 if an equal or better one
 * is held, ERR_INVAL (name) or ERR_FULL (STATE_VOTERS_MAX). */
int state_voter_set(struct state *st, uint64_t now_ms, const char *node,
		    uint64_t inc, bool voter, bool gossip);

/* ---- gossip ---- */

/* Merge one delta message (an application broadcast). Returns the change
 * mask (>= 0) or a negative error when the message was refused
 * (ERR_DECODE, ERR_VERSION ...; nothing changed). Records new to us are
 * queued for re-broadcast. */
int state_merge_delta(struct state *st, uint64_t now_ms, const uint8_t *p,
		      size_t n);

/* Merge a full state (push-pull). Same returns; nothing is re-broadcast. */
int state_merge_full(struct state *st, uint64_t now_ms, const uint8_t *p,
		     size_t n);

/* Append the full state to b. 0, ERR_TOOBIG (b's limit; b is restored)
 * or ERR_NOMEM. */
int state_encode_full(const struct state *st, struct buf *b);

/* Next delta message into b (reset first): true if there was one. */
bool state_pop_delta(struct state *st, struct buf *b);

/* Bytes of deltas pending. */
size_t state_outbox_bytes(const struct state *st);

/* Reap tombstones and expired fragments. */
void state_tick(struct state *st, uint64_t now_ms);

/* Forget a reaped member's task reports (local housekeeping). */
void state_forget_node(struct state *st, const char *node);

/* ---- reading ---- */

size_t state_service_count(const struct state *st);
/* Entry i in name order (live, tombstones and placeholders). */
const struct state_service *state_service_at(const struct state *st, size_t i);
const struct state_service *state_service_find(const struct state *st,
					       const char *name);

static inline bool
state_service_live(const struct state_service *sv)
{
	return sv && sv->has_rec && !sv->removed;
}

/* Entry for slot i of a service, or NULL. */
const struct state_slot *state_slot_find(const struct state_service *sv,
					 uint32_t slot);

/* Visible assignment of a slot entry (its inc is the service's), or
 * NULL. */
const char *state_slot_node(const struct state_service *sv,
			    const struct state_slot *sl);

/* Visible report k (0..STATE_REPORTS_PER_SLOT-1) of a slot, or NULL. */
const struct state_report *state_slot_report(const struct state_service *sv,
					     const struct state_slot *sl,
					     unsigned k);

enum state_avail state_node_avail(const struct state *st, const char *node);

/* Voter records in name order; one by name (NULL: none). */
size_t state_voter_count(const struct state *st);
const struct state_voter *state_voter_at(const struct state *st, size_t i);
const struct state_voter *state_voter_find(const struct state *st,
					   const char *node);

/* The best claim held: its term (0: none) and name into name. */
uint64_t state_claim(const struct state *st, char name[SWIM_NAME_MAX + 1]);

/* Highest term seen on any slot record. */
uint64_t state_max_term(const struct state *st);

/* Current clock (the last version issued or seen). */
uint64_t state_clock(const struct state *st);

/* Digest of everything stored: replicas that hold the same records have
 * equal digests. */
uint64_t state_digest(const struct state *st);

const struct state_stats *state_stats(const struct state *st);

/* Memory held (for reports). */
size_t state_memory(const struct state *st);

#endif
