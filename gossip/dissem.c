/* SPDX-License-Identifier: MIT */
/*
 * gossip/dissem.c — buckets by transmit count, replacement by slot or key.
 *
 * Invariants:
 *   - every live item is in exactly one bucket, heads[transmits];
 *   - within a bucket, items are roughly newest first: new items go to the
 *     head of bucket 0, and items sent together move to the next bucket in
 *     the order they were taken;
 *   - by_slot holds exactly the member items (at most one per slot);
 *   - n_member + n_app counts the live items.
 *
 * The slot map is open addressing keyed by slot with backward-shift
 * deletion, like the member index; it is sized for the queue, not the
 * cluster, and is empty most of the time.
 */
#include "gossip/dissem.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void
dissem_init(struct dissem *q, struct intern *pool, uint32_t app_max)
{
	memset(q, 0, sizeof(*q));
	q->pool = pool;
	q->app_max = app_max ? app_max : 1;
	q->free_head = DISSEM_NIL;
}

void
dissem_destroy(struct dissem *q)
{
	for (uint32_t i = 0; i < q->cap; i++) {
		if (q->items[i].kind != DISSEM_FREE) {
			intern_put(q->pool, q->items[i].from);
			free(q->items[i].data);
		}
	}
	free(q->items);
	free(q->heads);
	free(q->by_slot);
	memset(q, 0, sizeof(*q));
}

/* ---- slot map ---- */

static inline uint32_t
slot_hash(uint32_t slot)
{
	return slot * 2654435761u;
}

static uint32_t
slot_find(const struct dissem *q, uint32_t slot)
{
	uint32_t mask, i;

	if (!q->by_slot_cap)
		return DISSEM_NIL;
	mask = q->by_slot_cap - 1;
	for (i = slot_hash(slot) & mask; q->by_slot[i]; i = (i + 1) & mask)
		if (q->items[q->by_slot[i] - 1].slot == slot)
			return q->by_slot[i] - 1;
	return DISSEM_NIL;
}

static void
slot_put_raw(uint32_t *map, uint32_t cap, uint32_t slot, uint32_t item)
{
	uint32_t mask = cap - 1, i = slot_hash(slot) & mask;

	while (map[i])
		i = (i + 1) & mask;
	map[i] = item + 1;
}

static int
slot_put(struct dissem *q, uint32_t slot, uint32_t item)
{
	if ((uint64_t)(q->n_member + 1) * 10 > (uint64_t)q->by_slot_cap * 7) {
		uint32_t cap = q->by_slot_cap ? q->by_slot_cap * 2 : 16;
		uint32_t *map = calloc(cap, sizeof(*map));

		if (!map)
			return ERR_NOMEM;
		for (uint32_t i = 0; i < q->by_slot_cap; i++) {
			uint32_t v = q->by_slot[i];

			if (v)
				slot_put_raw(map, cap, q->items[v - 1].slot,
					     v - 1);
		}
		free(q->by_slot);
		q->by_slot = map;
		q->by_slot_cap = cap;
	}
	slot_put_raw(q->by_slot, q->by_slot_cap, slot, item);
	return 0;
}

static void
slot_del(struct dissem *q, uint32_t slot)
{
	uint32_t mask = q->by_slot_cap - 1, i = slot_hash(slot) & mask;

	while (q->items[q->by_slot[i] - 1].slot != slot)
		i = (i + 1) & mask;
	for (uint32_t j = i;;) {
		uint32_t k;

		j = (j + 1) & mask;
		if (!q->by_slot[j])
			break;
		k = slot_hash(q->items[q->by_slot[j] - 1].slot) & mask;
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			q->by_slot[i] = q->by_slot[j];
			i = j;
		}
	}
	q->by_slot[i] = 0;
}

/* ---- buckets ---- */

static int
ensure_bucket(struct dissem *q, uint32_t b)
{
	uint32_t n;
	uint32_t *h;

	if (b < q->nbuckets)
		return 0;
	n = q->nbuckets ? q->nbuckets : 8;
	while (n <= b)
		n *= 2;
	h = realloc(q->heads, n * sizeof(*h));
	if (!h)
		return ERR_NOMEM;
	for (uint32_t i = q->nbuckets; i < n; i++)
		h[i] = DISSEM_NIL;
	q->heads = h;
	q->nbuckets = n;
	return 0;
}

static void
link_head(struct dissem *q, uint32_t i)
{
	struct dissem_item *it = &q->items[i];
	uint32_t b = it->transmits;

	it->prev = DISSEM_NIL;
	it->next = q->heads[b];
	if (it->next != DISSEM_NIL)
		q->items[it->next].prev = i;
	q->heads[b] = i;
}

static void
unlink_item(struct dissem *q, uint32_t i)
{
	struct dissem_item *it = &q->items[i];

	if (it->prev != DISSEM_NIL)
		q->items[it->prev].next = it->next;
	else
		q->heads[it->transmits] = it->next;
	if (it->next != DISSEM_NIL)
		q->items[it->next].prev = it->prev;
}

static uint32_t
alloc_item(struct dissem *q)
{
	uint32_t i;

	if (q->free_head == DISSEM_NIL) {
		uint32_t cap = q->cap ? q->cap * 2 : 16;
		struct dissem_item *items =
			realloc(q->items, cap * sizeof(*items));

		if (!items)
			return DISSEM_NIL;
		for (uint32_t k = q->cap; k < cap; k++) {
			items[k].kind = DISSEM_FREE;
			items[k].next = k + 1 < cap ? k + 1 : DISSEM_NIL;
		}
		q->items = items;
		q->free_head = q->cap;
		q->cap = cap;
	}
	i = q->free_head;
	q->free_head = q->items[i].next;
	memset(&q->items[i], 0, sizeof(q->items[i]));
	return i;
}

static void
free_item(struct dissem *q, uint32_t i)
{
	struct dissem_item *it = &q->items[i];

	unlink_item(q, i);
	if (it->kind == DISSEM_MEMBER) {
		slot_del(q, it->slot);
		q->n_member--;
	} else {
		q->n_app--;
	}
	intern_put(q->pool, it->from);
	free(it->data);
	it->kind = DISSEM_FREE;
	it->from = NULL;
	it->data = NULL;
	it->next = q->free_head;
	q->free_head = i;
}

int
dissem_member(struct dissem *q, uint32_t slot, struct istr *from,
	      uint32_t size)
{
	uint32_t i = slot_find(q, slot);
	struct dissem_item *it;

	if (ensure_bucket(q, 0))
		return ERR_NOMEM;
	if (i != DISSEM_NIL) {
		/* Replace: newer news about the member restarts its count. */
		it = &q->items[i];
		unlink_item(q, i);
		if (from)
			intern_ref(from);
		intern_put(q->pool, it->from);
		it->from = from;
		it->transmits = 0;
		it->size = size;
		link_head(q, i);
		return 0;
	}
	i = alloc_item(q);
	if (i == DISSEM_NIL)
		return ERR_NOMEM;
	it = &q->items[i];
	it->kind = DISSEM_MEMBER;
	it->slot = slot;
	it->size = size;
	it->from = from ? intern_ref(from) : NULL;
	if (slot_put(q, slot, i)) {
		it->kind = DISSEM_FREE;
		it->from = NULL;
		intern_put(q->pool, from);
		it->next = q->free_head;
		q->free_head = i;
		return ERR_NOMEM;
	}
	q->n_member++;
	link_head(q, i);
	return 0;
}

void
dissem_forget_member(struct dissem *q, uint32_t slot)
{
	uint32_t i = slot_find(q, slot);

	if (i != DISSEM_NIL)
		free_item(q, i);
}

bool
dissem_has_member(const struct dissem *q, uint32_t slot)
{
	return slot_find(q, slot) != DISSEM_NIL;
}

/* Drop the oldest app item to make room. */
static void
drop_oldest_app(struct dissem *q)
{
	uint32_t best = DISSEM_NIL;

	for (uint32_t i = 0; i < q->cap; i++) {
		if (q->items[i].kind != DISSEM_APP)
			continue;
		if (best == DISSEM_NIL ||
		    q->items[i].order < q->items[best].order)
			best = i;
	}
	if (best != DISSEM_NIL) {
		free_item(q, best);
		q->dropped++;
	}
}

int
dissem_app(struct dissem *q, const void *p, size_t n, uint64_t key,
	   uint32_t limit, uint32_t size)
{
	struct dissem_item *it;
	uint8_t *copy;
	uint32_t i;

	if (limit < 1 || limit > DISSEM_LIMIT_MAX || n > UINT32_MAX)
		return ERR_INVAL;
	if (ensure_bucket(q, limit))
		return ERR_NOMEM;
	if (key) {
		for (uint32_t k = 0; k < q->cap; k++) {
			if (q->items[k].kind == DISSEM_APP &&
			    q->items[k].key == key) {
				free_item(q, k);
				break;
			}
		}
	}
	if (q->n_app >= q->app_max)
		drop_oldest_app(q);
	copy = malloc(n ? n : 1);
	if (!copy)
		return ERR_NOMEM;
	memcpy(copy, p, n);
	i = alloc_item(q);
	if (i == DISSEM_NIL) {
		free(copy);
		return ERR_NOMEM;
	}
	it = &q->items[i];
	it->kind = DISSEM_APP;
	it->slot = DISSEM_NIL;
	it->limit = limit;
	it->key = key;
	it->order = q->next_order++;
	it->data = copy;
	it->len = (uint32_t)n;
	it->size = size;
	q->n_app++;
	link_head(q, i);
	return 0;
}

#define FILL_MAX 256
/* A fill stops after this many items in a row did not fit: near the end of
 * a packet almost nothing fits, and walking a long queue to prove it costs
 * more than the few bytes it might save. What was skipped stays at the
 * front for the next packet. */
#define FILL_MISSES_MAX 16

unsigned
dissem_fill(struct dissem *q, uint32_t member_limit,
	    size_t (*room)(void *ctx), dissem_emit_fn emit, void *ctx)
{
	uint32_t sent[FILL_MAX];
	unsigned nsent = 0, misses = 0;

	if (member_limit < 1)
		member_limit = 1;
	for (uint32_t b = 0; b < q->nbuckets && nsent < FILL_MAX; b++) {
		uint32_t i = q->heads[b];

		while (i != DISSEM_NIL && nsent < FILL_MAX) {
			struct dissem_item *it = &q->items[i];
			uint32_t next = it->next;
			uint32_t limit = it->kind == DISSEM_MEMBER
						 ? member_limit
						 : it->limit;
			size_t r = room(ctx);
			int rc;

			if (r < 8)
				goto done;
			if (it->transmits >= limit) {
				free_item(q, i);
			} else if (it->size <= r) {
				rc = emit(ctx, it);
				if (rc == 0) {
					sent[nsent++] = i;
					misses = 0;
				} else if (rc != ERR_TOOBIG) {
					free_item(q, i);
				} else if (++misses >= FILL_MISSES_MAX) {
					goto done;
				}
			} else if (++misses >= FILL_MISSES_MAX) {
				goto done;
			}
			i = next;
		}
	}
done:
	/* Move what was sent up one bucket, oldest-taken last so that the
	 * first taken (the newest) ends at the head. */
	for (unsigned k = nsent; k-- > 0;) {
		uint32_t i = sent[k];
		struct dissem_item *it = &q->items[i];
		uint32_t limit =
			it->kind == DISSEM_MEMBER ? member_limit : it->limit;

		unlink_item(q, i);
		it->transmits++;
		if (it->transmits >= limit || ensure_bucket(q, it->transmits)) {
			it->transmits--; /* back to where unlink expects it */
			link_head(q, i);
			free_item(q, i);
			continue;
		}
		link_head(q, i);
	}
	if (dissem_len(q) == 0 && q->cap > 64)
		dissem_compact(q);
	return nsent;
}

void
dissem_compact(struct dissem *q)
{
	struct intern *pool = q->pool;
	uint32_t app_max = q->app_max;
	uint64_t dropped = q->dropped, order = q->next_order;

	if (dissem_len(q) != 0)
		return;
	free(q->items);
	free(q->heads);
	free(q->by_slot);
	memset(q, 0, sizeof(*q));
	q->pool = pool;
	q->app_max = app_max;
	q->dropped = dropped;
	q->next_order = order;
	q->free_head = DISSEM_NIL;
}

size_t
dissem_memory(const struct dissem *q)
{
	size_t n = (size_t)q->cap * sizeof(struct dissem_item) +
		   (size_t)q->nbuckets * sizeof(uint32_t) +
		   (size_t)q->by_slot_cap * sizeof(uint32_t);

	for (uint32_t i = 0; i < q->cap; i++)
		if (q->items[i].kind == DISSEM_APP)
			n += q->items[i].len;
	return n;
}
