/* SPDX-License-Identifier: MIT */
/*
 * gossip/members.c — slots, a name index, and interned identities.
 *
 * Slots: an array that grows by half again (not doubling: in a simulation
 * ten thousand tables of ten thousand members each would waste gigabytes
 * on empty slots), or exactly when the caller knows how many are coming
 * (mtab_reserve); freed slots go on a free list
 * threaded through the `boot` field (unused while a slot is free), so a
 * member keeps its slot number for as long as it exists and slot numbers
 * stay dense.
 *
 * Index: open addressing with linear probing over slot numbers, kept at most
 * 70% full; removal uses backward-shift deletion, so there are no
 * tombstones and lookups stay short however many members come and go.
 * Hashes are recomputed from the interned name when the index grows; the
 * index does not store them, to keep a member's cost small.
 *
 * Identity: a member's address and metadata change together (an alive
 * message carries both), so they are interned as one blob:
 * [addr length][addr wire bytes][metadata]. In a simulation every node's
 * entry for member X points at the same blob.
 */
#include "gossip/members.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

/* The per-member cost the header promises (the replay source tag lives in
 * what was padding). */
_Static_assert(sizeof(struct member) <= 56, "struct member grew");

/* Index entries hold the slot + 1 in their low 24 bits (see idx_tag). */
#define IDX_SLOT_MASK 0x00ffffffu

void
mtab_init(struct mtab *t, struct intern *pool, uint32_t max)
{
	memset(t, 0, sizeof(*t));
	t->pool = pool;
	t->max = max < IDX_SLOT_MASK - 1 ? max : IDX_SLOT_MASK - 1;
	t->free_head = MTAB_NONE;
}

void
mtab_destroy(struct mtab *t)
{
	for (uint32_t i = 0; i < t->hi; i++) {
		if (t->m[i].name) {
			intern_put(t->pool, t->m[i].name);
			intern_put(t->pool, t->m[i].ident);
		}
	}
	free(t->m);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

/* Members are found through the shared intern pool: the pool knows every
 * name any member table holds (and is small and hot in cache), so an
 * unknown name is answered without touching this table, and a known one
 * comes with its hash already computed and a canonical pointer that the
 * entry is compared with by ==. */
uint32_t
mtab_find(const struct mtab *t, const char *name, size_t len)
{
	const struct istr *key;

	if (!t->index_cap)
		return MTAB_NONE;
	key = intern_find(t->pool, name, len);
	if (!key)
		return MTAB_NONE;
	return mtab_find_istr(t, key);
}

/* An index entry is (tag << 24) | (slot + 1): 8 bits of the name's hash
 * ride along with the slot, so walking past other names' entries does not
 * touch the member array (a cache miss per entry in a simulation). */

static inline uint32_t
idx_tag(uint64_t hash)
{
	return (uint32_t)(hash >> 56) << 24;
}

uint32_t
mtab_find_istr(const struct mtab *t, const struct istr *key)
{
	return mtab_find_hashed(t, key, key->hash);
}

uint32_t
mtab_find_hashed(const struct mtab *t, const struct istr *key, uint64_t hash)
{
	uint32_t mask, i, tag;

	if (!t->index_cap)
		return MTAB_NONE;
	mask = t->index_cap - 1;
	tag = idx_tag(hash);
	for (i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
		uint32_t v = t->index[i];

		if (v == 0)
			return MTAB_NONE;
		if ((v & ~IDX_SLOT_MASK) == tag &&
		    t->m[(v & IDX_SLOT_MASK) - 1].name == key)
			return (v & IDX_SLOT_MASK) - 1;
	}
}

static void
index_insert(uint32_t *index, uint32_t cap, uint64_t h, uint32_t slot)
{
	uint32_t mask = cap - 1, i = (uint32_t)h & mask;

	while (index[i])
		i = (i + 1) & mask;
	index[i] = idx_tag(h) | (slot + 1);
}

/* Rebuild the index with cap entries (a power of two above the load). */
static int
index_resize(struct mtab *t, uint32_t cap)
{
	uint32_t *idx = calloc(cap, sizeof(*idx));

	if (!idx)
		return ERR_NOMEM;
	for (uint32_t i = 0; i < t->hi; i++) {
		const struct istr *n = t->m[i].name;

		if (n)
			index_insert(idx, cap, n->hash, i);
	}
	free(t->index);
	t->index = idx;
	t->index_cap = cap;
	return 0;
}

static int
index_grow(struct mtab *t)
{
	return index_resize(t, t->index_cap ? t->index_cap * 2 : 16);
}

/* Is an index of cap entries over its load limit (0.7) with n members? */
static bool
index_full(uint64_t n, uint64_t cap)
{
	return n * 10 > cap * 7;
}

static void
index_remove(struct mtab *t, uint32_t slot)
{
	uint32_t mask = t->index_cap - 1;
	const struct istr *n = t->m[slot].name;
	uint32_t i = (uint32_t)n->hash & mask;

	while ((t->index[i] & IDX_SLOT_MASK) != slot + 1) {
		assert(t->index[i] != 0);
		i = (i + 1) & mask;
	}
	/* Backward-shift deletion: walk the rest of the cluster and pull back
	 * every entry whose home does not lie cyclically in (i, j]. */
	for (uint32_t j = i;;) {
		uint32_t k;
		const struct istr *jn;

		j = (j + 1) & mask;
		if (t->index[j] == 0)
			break;
		jn = t->m[(t->index[j] & IDX_SLOT_MASK) - 1].name;
		k = (uint32_t)jn->hash & mask;
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			t->index[i] = t->index[j];
			i = j;
		}
	}
	t->index[i] = 0;
}

int
mtab_reserve(struct mtab *t, uint32_t extra)
{
	uint64_t want = (uint64_t)t->hi + extra, members, cap;
	struct member *m;

	/* The index too: growing it one doubling at a time re-reads every
	 * name's hash from the pool at each step. */
	members = (uint64_t)t->used + extra;
	if (members > t->max)
		members = t->max;
	for (cap = t->index_cap ? t->index_cap : 16; index_full(members, cap);)
		cap *= 2;
	if (cap > t->index_cap && cap <= UINT32_MAX &&
	    index_resize(t, (uint32_t)cap))
		return ERR_NOMEM;
	if (want <= t->cap)
		return 0;
	if (want > t->max)
		want = t->max > t->cap ? t->max : t->cap + 1;
	m = realloc(t->m, (size_t)want * sizeof(*m));
	if (!m)
		return ERR_NOMEM;
	t->m = m;
	t->cap = (uint32_t)want;
	return 0;
}

uint32_t
mtab_add_ref(struct mtab *t, struct istr *name, uint64_t hash, int *err)
{
	struct member *e;
	uint32_t slot;

	if (t->used >= t->max) {
		*err = ERR_FULL;
		return MTAB_NONE;
	}
	if (index_full((uint64_t)t->used + 1, t->index_cap)) {
		if (index_grow(t)) {
			*err = ERR_NOMEM;
			return MTAB_NONE;
		}
	}
	if (t->free_head != MTAB_NONE) {
		slot = t->free_head;
		t->free_head = (uint32_t)t->m[slot].boot;
	} else {
		if (t->hi == t->cap && mtab_reserve(t, t->cap / 2 + 8)) {
			*err = ERR_NOMEM;
			return MTAB_NONE;
		}
		slot = t->hi++;
	}
	e = &t->m[slot];
	memset(e, 0, sizeof(*e));
	e->name = name;
	index_insert(t->index, t->index_cap, hash, slot);
	t->used++;
	t->count[0]++; /* a new entry starts alive (state 0) */
	return slot;
}

uint32_t
mtab_add(struct mtab *t, const char *name, size_t len, int *err)
{
	struct istr *key = intern_get(t->pool, name, len);
	uint32_t slot;

	if (!key) {
		*err = ERR_NOMEM;
		return MTAB_NONE;
	}
	slot = mtab_add_ref(t, key, key->hash, err);
	if (slot == MTAB_NONE)
		intern_put(t->pool, key);
	return slot;
}

void
mtab_remove(struct mtab *t, uint32_t slot)
{
	struct member *e = &t->m[slot];

	assert(mtab_in_use(t, slot));
	index_remove(t, slot);
	t->count[e->state]--;
	t->used--;
	intern_put(t->pool, e->name);
	intern_put(t->pool, e->ident);
	memset(e, 0, sizeof(*e));
	e->boot = t->free_head;
	t->free_head = slot;
}

void
mtab_set_state(struct mtab *t, uint32_t slot, uint8_t state)
{
	struct member *e = &t->m[slot];

	assert(state < 4);
	t->count[e->state]--;
	e->state = state;
	t->count[state]++;
}

struct istr *
mtab_ident(struct mtab *t, const struct addr *a, const uint8_t *meta,
	   size_t meta_len)
{
	return mtab_ident_in(t->pool, a, meta, meta_len);
}

struct istr *
mtab_ident_in(struct intern *pool, const struct addr *a, const uint8_t *meta,
	      size_t meta_len)
{
	uint8_t blob[1 + ADDR_WIRE_MAX + 512];
	int n = addr_encode(a, blob + 1);

	if (n < 0)
		n = 0;
	if (meta_len > 512)
		return NULL;
	blob[0] = (uint8_t)n;
	if (meta_len)
		memcpy(blob + 1 + n, meta, meta_len);
	return intern_get(pool, blob, 1 + (size_t)n + meta_len);
}

void
mtab_ident_addr(const struct istr *ident, struct addr *a)
{
	const uint8_t *p;

	if (!ident || ident->len < 1) {
		memset(a, 0, sizeof(*a));
		return;
	}
	p = (const uint8_t *)ident->data;
	if (addr_decode(a, p + 1, p[0]))
		memset(a, 0, sizeof(*a));
}

const uint8_t *
mtab_ident_meta(const struct istr *ident, size_t *len)
{
	const uint8_t *p;

	if (!ident || ident->len < 1) {
		*len = 0;
		return NULL;
	}
	p = (const uint8_t *)ident->data;
	*len = ident->len - 1 - p[0];
	return p + 1 + p[0];
}

size_t
mtab_memory(const struct mtab *t)
{
	return (size_t)t->cap * sizeof(struct member) +
	       (size_t)t->index_cap * sizeof(uint32_t);
}
