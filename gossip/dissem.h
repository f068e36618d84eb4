/* SPDX-License-Identifier: MIT */
/*
 * gossip/dissem.h — the transmit-limited broadcast queue (internal).
 *
 * Updates ride on every packet we send. Each queued broadcast is sent a
 * limited number of times, least-transmitted first and, among equals,
 * newest first (memberlist's TransmitLimitedQueue order). There are two
 * kinds of entries:
 *
 *   member  "the current state of the member in slot S": at most one per
 *           member, so a newer update about a member replaces the older one
 *           (and restarts its count). The message is encoded at send time
 *           from the member table, which is what makes replacement free.
 *           Its limit is the membership retransmit limit, computed by the
 *           caller from the cluster size at each fill.
 *   app     an opaque application payload with its own retransmit limit and
 *           an optional key; a new payload with the same non-zero key
 *           replaces the queued one. At most `app_max` are queued; beyond
 *           that the oldest is dropped and counted.
 *
 * Entries sit in buckets by transmit count (a doubly linked list per count),
 * so taking the next broadcast is O(1) and a fill costs O(entries sent)
 * plus the entries skipped because they do not fit.
 */
#ifndef SHOAL_GOSSIP_DISSEM_H
#define SHOAL_GOSSIP_DISSEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/intern.h"

#define DISSEM_NIL UINT32_MAX
#define DISSEM_LIMIT_MAX 255

enum dissem_kind {
	DISSEM_FREE = 0,
	DISSEM_MEMBER = 1,
	DISSEM_APP = 2,
};

struct dissem_item {
	uint32_t prev, next; /* bucket links */
	uint32_t transmits;
	uint32_t limit;	     /* app: its own; member: 0 (caller's limit) */
	uint32_t slot;	     /* member slot */
	uint32_t size;	     /* encoded size estimate */
	uint64_t key;	     /* app replacement key, 0 = none */
	uint64_t order;	     /* app: insertion order (oldest dropped) */
	struct istr *from;   /* member: who accused (suspect/dead), or NULL */
	uint8_t *data;	     /* app payload (owned) */
	uint32_t len;
	uint8_t kind;
};

struct dissem {
	struct dissem_item *items;
	uint32_t cap;
	uint32_t free_head;
	uint32_t *heads; /* bucket heads, by transmit count */
	uint32_t nbuckets;
	uint32_t *by_slot; /* open addressing: item + 1, keyed by slot */
	uint32_t by_slot_cap;
	uint32_t n_member, n_app;
	uint32_t app_max;
	uint64_t next_order;
	uint64_t dropped; /* app broadcasts dropped for space */
	struct intern *pool;
};

void dissem_init(struct dissem *q, struct intern *pool, uint32_t app_max);
void dissem_destroy(struct dissem *q);

/* Queue (or replace) the broadcast of member `slot`'s state. from (may be
 * NULL) is referenced, not consumed. size is an upper bound of its encoded
 * size. 0 or ERR_NOMEM. */
int dissem_member(struct dissem *q, uint32_t slot, struct istr *from,
		  uint32_t size);

/* Drop the member broadcast for slot, if any. */
void dissem_forget_member(struct dissem *q, uint32_t slot);

/* Is a broadcast for slot still queued? */
bool dissem_has_member(const struct dissem *q, uint32_t slot);

/* Queue an application payload (copied). limit 1..DISSEM_LIMIT_MAX.
 * 0 or ERR_NOMEM / ERR_INVAL. */
int dissem_app(struct dissem *q, const void *p, size_t n, uint64_t key,
	       uint32_t limit, uint32_t size);

/* Called for each candidate in priority order: return 0 if the item was
 * added to the packet, ERR_TOOBIG if it did not fit (it stays queued and
 * untouched), any other negative value to drop the item. */
typedef int (*dissem_emit_fn)(void *ctx, const struct dissem_item *it);

/* Offer queued broadcasts to emit until room(ctx) < 8 bytes or every item
 * was offered. Member items use member_limit. Returns the number added. */
unsigned dissem_fill(struct dissem *q, uint32_t member_limit,
		     size_t (*room)(void *ctx), dissem_emit_fn emit,
		     void *ctx);

static inline uint32_t
dissem_len(const struct dissem *q)
{
	return q->n_member + q->n_app;
}

size_t dissem_memory(const struct dissem *q);

/* Give back the memory of an empty queue (a storm grew it). Called by
 * dissem_fill when the queue drains; a no-op when not empty. */
void dissem_compact(struct dissem *q);

#endif
