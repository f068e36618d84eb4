/* SPDX-License-Identifier: MIT */
/*
 * gossip/members.h — the member table behind struct swim (internal).
 *
 * Entries live in slots that keep their index while the member exists, so
 * other tables (the probe order, the broadcast queue, suspicions) can refer
 * to a member by slot number. A name index (open addressing, linear
 * probing, keyed by the interned name's hash) maps names to slots. An entry is 56 bytes; with the index and the
 * probe order a member costs about 64 bytes per table, which is what lets
 * ten thousand virtual nodes of ten thousand members each fit in one
 * simulator process. Names and (address, metadata) pairs are interned in
 * the shared pool: equal names are equal pointers.
 *
 * Bound: at most `max` members; mtab_add() fails with ERR_FULL beyond it.
 */
#ifndef SHOAL_GOSSIP_MEMBERS_H
#define SHOAL_GOSSIP_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "core/intern.h"

#define MTAB_NONE UINT32_MAX

struct member {
	struct istr *name;  /* NULL: the slot is free */
	struct istr *ident; /* address (wire form, 1-byte length first) and
			     * metadata, interned together */
	uint64_t inc;	    /* incarnation */
	uint64_t boot;	    /* replay: sender's boot id (0: none yet);
			     * free slots: next free slot */
	uint64_t window;    /* replay: bit i set = seq_max - i seen */
	uint32_t seq_max;   /* replay: highest sequence seen in this boot */
	uint32_t changed_ds; /* state change, deciseconds since table epoch */
	uint8_t state;	    /* enum swim_state */
	uint8_t flags;	    /* MEMBER_F_* */
	uint16_t spare;
	uint32_t src;	    /* replay: tag of the source address the current
			     * boot was first heard from (0: none), so that
			     * a member behind NAT may start a new boot */
};

/* The suspicion of this member is held: a private doubt that we report
 * as alive (swim.c, "Unconfirmed suspicions are held"). */
#define MEMBER_F_HELD 1u

struct mtab {
	struct member *m;
	uint32_t cap;	    /* slots allocated */
	uint32_t hi;	    /* slots ever used: [0, hi) */
	uint32_t used;	    /* members present */
	uint32_t free_head; /* free list through member.boot */
	uint32_t max;	    /* bound */
	uint32_t *index;    /* slot + 1; 0 = empty */
	uint32_t index_cap; /* power of two */
	uint32_t count[4];  /* members per state */
	struct intern *pool;
};

void mtab_init(struct mtab *t, struct intern *pool, uint32_t max);
void mtab_destroy(struct mtab *t);

/* Slot of the member with this name, or MTAB_NONE. */
uint32_t mtab_find(const struct mtab *t, const char *name, size_t len);

/* The same for a name already interned in the table's pool. */
uint32_t mtab_find_istr(const struct mtab *t, const struct istr *key);

/* Add a member (name must not be present). The entry is zeroed apart from
 * the name; the caller sets ident, inc, state through mtab_set_state.
 * Returns the slot, or MTAB_NONE with *err = ERR_FULL / ERR_NOMEM. */
uint32_t mtab_add(struct mtab *t, const char *name, size_t len, int *err);

/* mtab_add() for a name already interned in the table's pool: the table
 * takes over one reference the caller holds (on success only). `hash` must
 * be name->hash; passing it spares a read of the pool's memory per entry
 * when one caller fills many tables (the simulator's warm start). The name
 * must not be present. Returns the slot, or MTAB_NONE with *err set. */
uint32_t mtab_add_ref(struct mtab *t, struct istr *name, uint64_t hash,
		      int *err);

/* Slot of the member with this interned name and its hash, or MTAB_NONE:
 * mtab_find_istr() without reading the name itself. */
uint32_t mtab_find_hashed(const struct mtab *t, const struct istr *key,
			  uint64_t hash);

/* Make room for `extra` more members without further reallocation (never
 * beyond the bound). 0 or ERR_NOMEM. */
int mtab_reserve(struct mtab *t, uint32_t extra);

/* Remove the member in slot (frees its references). */
void mtab_remove(struct mtab *t, uint32_t slot);

/* Change state, keeping the per-state counts right. */
void mtab_set_state(struct mtab *t, uint32_t slot, uint8_t state);

static inline bool
mtab_in_use(const struct mtab *t, uint32_t slot)
{
	return slot < t->hi && t->m[slot].name != NULL;
}

/* Interned identity for (addr, meta). NULL on allocation failure. The
 * caller owns the reference. */
struct istr *mtab_ident(struct mtab *t, const struct addr *a,
			const uint8_t *meta, size_t meta_len);
/* The same, straight from a pool (no table at hand). */
struct istr *mtab_ident_in(struct intern *pool, const struct addr *a,
			   const uint8_t *meta, size_t meta_len);

/* Decode an identity. */
void mtab_ident_addr(const struct istr *ident, struct addr *a);
const uint8_t *mtab_ident_meta(const struct istr *ident, size_t *len);

/* Memory held by the table itself (not the pool). */
size_t mtab_memory(const struct mtab *t);

#endif
