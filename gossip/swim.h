/* SPDX-License-Identifier: MIT */
/*
 * gossip/swim.h — SWIM + Lifeguard membership as a pure state machine.
 *
 * One `struct swim` is one member of a cluster. It does no I/O and reads no
 * clock: the runtime (the agent on libev, or the simulator) feeds it bytes
 * and time and carries out what it asks for.
 *
 *   swim_recv()          one incoming datagram, still sealed
 *   swim_recv_stream()   one incoming stream request (a TCP connection's
 *                        single frame), still sealed; the reply, if any,
 *                        appears in the outbox as SWIM_OUT_STREAM_RESP
 *   swim_stream_reply()  the reply frame to a stream request we made
 *   swim_stream_failed() a stream request we made could not complete
 *   swim_tick()          run whatever is due at `now`
 *   swim_next_deadline() when swim_tick() must be called next
 *   swim_pop_out()       the next datagram or stream frame to send
 *   swim_pop_event()     the next membership event
 *
 * Time is the node's own clock in milliseconds since the Unix epoch (the
 * runtime makes it monotonic; the simulator may skew it). It must never go
 * backwards between calls. Randomness comes from a PRNG seeded from the
 * config; nonces from env->nonce (the agent uses the OS, the simulator the
 * node's seeded PRNG).
 *
 * Streams are request/response: we send one frame on a new connection and
 * read one frame back (push-pull anti-entropy and join). The runtime owns
 * connections, applies stream_timeout_ms and the stream_max size limit, and
 * frames each sealed frame with a 4-byte big-endian length.
 *
 * Nothing here keeps a pointer into a buffer passed in. Pointers handed out
 * (outbox data, member names) stay valid until the next call that mutates
 * the swim (any of the verbs above).
 *
 * Callbacks in struct swim_app are called synchronously from swim_recv*,
 * swim_tick and swim_stream_reply; they must not call back into the swim
 * except swim_broadcast() and the read-only accessors.
 */
#ifndef SHOAL_GOSSIP_SWIM_H
#define SHOAL_GOSSIP_SWIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/intern.h"
#include "core/log.h"
#include "gossip/profile.h"

/* Member names: 1..64 bytes of [A-Za-z0-9._-]. */
#define SWIM_NAME_MAX 64
/* Per-member metadata (tags, roles), opaque to gossip/. */
#define SWIM_META_MAX 512

enum swim_state {
	SWIM_ALIVE = 0,
	SWIM_SUSPECT = 1,
	SWIM_DEAD = 2, /* failed */
	SWIM_LEFT = 3, /* left gracefully (or was force-left) */
};

/* Printable names: "alive", "suspect", "failed", "left". */
const char *swim_state_name(enum swim_state st);

/* True if name is 1..SWIM_NAME_MAX bytes of [A-Za-z0-9._-]. */
bool swim_name_valid(const char *name, size_t len);

struct swim_config {
	char name[SWIM_NAME_MAX + 1];
	struct addr addr;	/* advertised address (where others reach us) */
	uint64_t start_ms;	/* our start time: the first incarnation */
	uint64_t seed;		/* PRNG seed for every random choice */
	char cluster[CRYPTO_LABEL_MAX + 1]; /* label bound into every seal */
	struct profile prof;
};

struct swim_env {
	struct intern *pool;	   /* names and metadata; shared is fine */
	const struct log *log;	   /* may be NULL */
	const struct keyring *keyring; /* borrowed; may change between calls */
	/* Fill a 24-byte nonce. NULL: draw from the swim's own PRNG. */
	void (*nonce)(void *ctx, uint8_t out[CRYPTO_NONCE_LEN]);
	void *nonce_ctx;
};

/* Hooks for the layer above (sched/). Any may be NULL. */
struct swim_app {
	void *ctx;
	/* A broadcast made by another member's swim_broadcast(). */
	void (*on_message)(void *ctx, uint64_t now_ms, const char *from,
			   const uint8_t *p, size_t n);
	/* Append our application state for a push-pull into b (bounded by
	 * b->max). Return 0 or a negative error (the exchange then carries no
	 * application state). */
	int (*local_state)(void *ctx, struct buf *b, bool join);
	/* Merge a peer's application state received in a push-pull. */
	void (*merge_state)(void *ctx, uint64_t now_ms, const uint8_t *p,
			    size_t n, bool join);
};

/* ---- outbox --------------------------------------------------------- */

enum swim_out_kind {
	SWIM_OUT_DGRAM = 1,	  /* send data to `to` over UDP */
	SWIM_OUT_STREAM_REQ = 2,  /* connect to `to`, send data, read one
				   * frame back: swim_stream_reply(stream_id)
				   * or swim_stream_failed(stream_id) */
	SWIM_OUT_STREAM_RESP = 3, /* write data on inbound connection
				   * stream_id, then close it */
};

struct swim_out {
	enum swim_out_kind kind;
	uint32_t stream_id;
	struct addr to;
	const uint8_t *data; /* sealed bytes; valid until the next swim call */
	size_t len;
};

/* ---- events ------------------------------------------------------------ */

enum swim_event_kind {
	SWIM_EV_JOIN = 1,	/* a member appeared, or came back from
				 * failed/left with a new incarnation */
	SWIM_EV_UPDATE = 2,	/* a member's address or metadata changed */
	SWIM_EV_SUSPECT = 3,	/* we now suspect a member */
	SWIM_EV_ALIVE = 4,	/* a suspected member refuted */
	SWIM_EV_FAILED = 5,	/* a member was declared dead */
	SWIM_EV_LEFT = 6,	/* a member left (or was force-left) */
	SWIM_EV_REAP = 7,	/* a failed/left member was forgotten */
	SWIM_EV_CONFLICT = 8,	/* an alive claim for a live member's name
				 * from another address was refused; addr is
				 * the claimant's */
	SWIM_EV_JOINED = 9,	/* our join reached the cluster */
	SWIM_EV_JOIN_FAILED = 10, /* join gave up (join_max_attempts) */
	SWIM_EV_REFUTED = 11,	/* we refuted a rumour about ourselves */
	SWIM_EV_LEAVE_DONE = 12, /* our leave has spread: stop the node */
};

const char *swim_event_name(enum swim_event_kind kind);

struct swim_event {
	enum swim_event_kind kind;
	uint64_t time_ms;
	char name[SWIM_NAME_MAX + 1]; /* the member it is about */
	struct addr addr;
	uint64_t incarnation;
	enum swim_state state; /* the member's state after the event */
};

/* ---- members ---------------------------------------------------------- */

struct swim_member_info {
	const char *name; /* NUL-terminated */
	struct addr addr;
	enum swim_state state;
	uint64_t incarnation;
	const uint8_t *meta;
	size_t meta_len;
	uint64_t state_change_ms; /* when it entered this state (our clock) */
	bool is_self;
};

/* ---- counters ---------------------------------------------------------- */

/* Why an input was dropped. Reasons are only ever added at the end, so
 * that counters keep their index; swim_drop_name() gives the name the
 * agent's `stats` and docs/PROTOCOL.md §5 use. */

enum swim_drop {
	SWIM_DROP_TRUNC = 0,	/* shorter than a sealed header */
	SWIM_DROP_VERSION,	/* unknown crypto or protocol version */
	SWIM_DROP_PLAIN,	/* unencrypted packet to an encrypted node */
	SWIM_DROP_NOKEY,	/* key id not in our keyring */
	SWIM_DROP_AUTH,		/* failed to open: wrong key/label, tampered */
	SWIM_DROP_DECODE,	/* opened but malformed msgpack or fields */
	SWIM_DROP_REPLAY,	/* sequence number already seen */
	SWIM_DROP_STALE,	/* older boot, or below the replay window */
	SWIM_DROP_SKEW,		/* unknown sender, timestamp out of bounds */
	SWIM_DROP_SELF,		/* claims to come from us */
	SWIM_DROP_TOOBIG,	/* larger than we accept */
	SWIM_DROP_FULL,		/* member table full: new member refused */
	SWIM_DROP_STOPPED,	/* arrived after we left */
	SWIM_DROP_CONFLICT,	/* a new boot of a member's name from an
				 * address that is not the member's */
	SWIM_DROP_NOMEM,	/* no memory to open it */
	SWIM_DROP_NOSTREAM,	/* a reply to a stream we no longer wait
				 * for (unknown, expired or given up) */
	SWIM_DROP__N,
};

const char *swim_drop_name(enum swim_drop d);

struct swim_stats {
	uint64_t dgrams_in, dgrams_out, bytes_in, bytes_out;
	uint64_t msgs_in, msgs_out;
	uint64_t streams_in, streams_out, streams_failed;
	uint64_t stream_bytes_in, stream_bytes_out;
	uint64_t drops[SWIM_DROP__N];
	uint64_t probes, probe_acks, probe_indirect, probe_failed;
	uint64_t probe_tcp_saved; /* UDP failed, the TCP fallback answered */
	uint64_t nacks_sent, nacks_recv;
	uint64_t suspicions, refutes, deaths_declared;
	uint64_t suspicions_held; /* expired unconfirmed: not declared */
	uint64_t broadcasts_dropped; /* app queue overflow */
	uint64_t pushpulls;
	uint64_t pushpulls_same; /* answered: live views were equal */
};

struct swim;

/* Make a node. cfg and env are copied (env's pointers are borrowed and must
 * outlive the swim). The node starts alone, alive, with incarnation
 * cfg->start_ms. Returns NULL and sets *err (ERR_INVAL for a bad name or
 * profile, ERR_NOMEM). */
struct swim *swim_new(const struct swim_config *cfg,
		      const struct swim_env *env, const struct swim_app *app,
		      int *err);
void swim_delete(struct swim *s);

/* ---- the sans-I/O verbs ---- */
void swim_recv(struct swim *s, uint64_t now_ms, const struct addr *from,
	       const uint8_t *p, size_t n);
void swim_recv_stream(struct swim *s, uint64_t now_ms, uint32_t conn_id,
		      const struct addr *from, const uint8_t *p, size_t n);
void swim_stream_reply(struct swim *s, uint64_t now_ms, uint32_t stream_id,
		       const uint8_t *p, size_t n);
void swim_stream_failed(struct swim *s, uint64_t now_ms, uint32_t stream_id);
void swim_tick(struct swim *s, uint64_t now_ms);
uint64_t swim_next_deadline(const struct swim *s);
bool swim_pop_out(struct swim *s, struct swim_out *out);
bool swim_pop_event(struct swim *s, struct swim_event *ev);

/* ---- control ---- */

/* Join through seeds (push-pull with each), retried with backoff until one
 * answers or join_max_attempts is reached. 0 or ERR_INVAL / ERR_STATE. */
int swim_join(struct swim *s, uint64_t now_ms, const struct addr *seeds,
	      size_t n);

/* Leave gracefully: announce, keep gossiping until the announcement has
 * been sent its retransmit limit or leave_timeout_ms passes, then emit
 * SWIM_EV_LEAVE_DONE and go quiet. 0 or ERR_STATE (already leaving). */
int swim_leave(struct swim *s, uint64_t now_ms);

/* True once SWIM_EV_LEAVE_DONE was emitted: the node ignores input. */
bool swim_is_stopped(const struct swim *s);
/* A join is under way: swim_join() had seeds other than ourselves and
 * none has answered yet, nor has the join given up (SWIM_EV_JOINED or
 * SWIM_EV_JOIN_FAILED ends it). */
bool swim_is_joining(const struct swim *s);

/* Replace our metadata (<= SWIM_META_MAX bytes); spread with a new
 * incarnation. 0, ERR_TOOBIG or ERR_NOMEM. */
int swim_set_meta(struct swim *s, uint64_t now_ms, const void *meta,
		  size_t n);

/* Mark a failed member as left everywhere (serf's force-leave). 0,
 * ERR_NOENT, or ERR_STATE when it is alive or suspect (or is us). */
int swim_force_leave(struct swim *s, uint64_t now_ms, const char *name);

/* Start from a converged view: add these members (alive, with their
 * incarnation, address and metadata) as if their joins had already spread
 * everywhere: no events, no broadcasts. Entries that are invalid, already
 * known or ourselves are skipped. For simulations and tests that begin with
 * a settled cluster rather than a bootstrap storm. Returns how many were
 * added (the table's bound still applies). */
size_t swim_preload(struct swim *s, uint64_t now_ms,
		    const struct swim_member_info *members, size_t n);

/* The same view handed to many nodes at once (the simulator's warm start
 * of ten thousand nodes is 10^8 entries). swim_preload() prepares a view
 * for its one table, interning every name and identity: a few cache misses
 * in the shared pool per entry, for every node. A view prepared once for
 * all of them takes the references of every table it will go to in one
 * write per string, so that filling a table touches only that table.
 *
 *     struct swim_view *v = swim_view_new(pool, members, n, tables, &err);
 *     for each node: swim_preload_view(s, now, v);   (at most `tables`)
 *     swim_view_delete(v);                           (returns what is unused)
 *
 * Invalid entries (bad name, no address, oversized metadata) and repeated
 * names are dropped by swim_view_new(). The view must not outlive the pool;
 * the swims must share that pool. */
struct swim_view;
struct swim_view *swim_view_new(struct intern *pool,
				const struct swim_member_info *members,
				size_t n, uint32_t tables, int *err);
void swim_view_delete(struct swim_view *v);
/* swim_preload() of a prepared view; same result, same random draws.
 * Returns how many members were added; 0 once the view has gone to
 * `tables` tables. */
size_t swim_preload_view(struct swim *s, uint64_t now_ms,
			 struct swim_view *v);

/* Queue an application broadcast to piggyback on our traffic. retransmit 0
 * means the membership retransmit limit. A non-zero key replaces any
 * queued broadcast with the same key. 0, ERR_TOOBIG (larger than fits in a
 * datagram) or ERR_NOMEM. */
int swim_broadcast(struct swim *s, const void *p, size_t n, uint64_t key,
		   uint32_t retransmit);

/* Send an application message to one member directly (one datagram, with
 * piggybacked broadcasts), delivered to its on_message like a broadcast
 * but not re-gossiped. For small, frequent, point-to-point messages (a
 * follower's lease renewal to its manager). 0, ERR_NOENT (no such live
 * member), ERR_TOOBIG, ERR_STATE (stopped). */
int swim_send_app(struct swim *s, uint64_t now_ms, const char *to,
		  const void *p, size_t n);

/* ---- read-only accessors ---- */

const char *swim_name(const struct swim *s);
const struct addr *swim_addr(const struct swim *s);
uint64_t swim_incarnation(const struct swim *s);
const struct profile *swim_profile(const struct swim *s);
const struct swim_stats *swim_stats(const struct swim *s);
/* Local health score (Lifeguard awareness): 0 is healthy. */
unsigned swim_health(const struct swim *s);

/* Number of entries in the table, ourselves included (alive, suspect,
 * failed and left members not yet reaped). */
size_t swim_member_count(const struct swim *s);
/* Members in a state (ourselves counted). */
size_t swim_count_state(const struct swim *s, enum swim_state st);
/* Iterate over every entry (ourselves included):
 *
 *     size_t cur = 0;
 *     struct swim_member_info mi;
 *     while (swim_member_next(s, &cur, &mi))
 *             ...;
 *
 * The order is unspecified and changes when members are added or reaped;
 * do not mutate the swim while iterating. */
bool swim_member_next(const struct swim *s, size_t *cursor,
		      struct swim_member_info *out);
/* Look up by name. true if found. */
bool swim_member_find(const struct swim *s, const char *name,
		      struct swim_member_info *out);
/* The state of the member whose name is `name`, interned in the swim's
 * pool (core/intern.h), into *state. false if it is not in the table. A
 * hash-table probe and nothing else: no name scan, no address decoding,
 * for callers that walk many members often (the manager's lease). */
bool swim_member_state(const struct swim *s, const struct istr *name,
		       enum swim_state *state);

/* Order-independent digest of the live view: a sum over alive and suspect
 * members (ourselves included) of XXH3(name, incarnation, state), the
 * state being the one we show others (a held suspicion shows as alive;
 * docs/PROTOCOL.md §10 has the exact formula). Two nodes with equal
 * digests agree on who is alive. Failed and left members are left out: a
 * node that joins later never learns of them. */
uint64_t swim_digest(const struct swim *s);

/* Memory held by this node's tables (for reports; excludes the shared
 * intern pool). */
size_t swim_memory(const struct swim *s);

#endif
