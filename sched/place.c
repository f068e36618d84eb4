/* SPDX-License-Identifier: MIT */
/*
 * sched/place.c — stable placement with consistent hashing and bounded
 * loads.
 *
 * The slot table is the state; hashing is only the tie-breaker. A round
 * never touches a slot whose node can keep it, so a node's death moves its
 * slots and nothing else, and a spec change that keeps the constraints
 * moves nothing. Consistent hashing decides where a slot that needs a node
 * goes: the ring (or the rendezvous ranking) gives every (service, slot) its
 * own order of nodes, the same on every manager, and the slot takes the
 * first node in that order that can take it (with two choices, the less
 * loaded of the first two: the "power of two choices" that keeps the
 * lightest node near the mean, so that a fresh placement leaves nothing
 * for rebalancing to fix). Two caps make "can take"
 * balance the load: per service ceil(R / E), so that a service spreads over
 * its eligible nodes, and per node ceil((1 + eps) * average), the "bounded
 * loads" rule of Mirrokni, Thorup and Zadimoghaddam, so that many small
 * services do not pile up on the nodes that happen to come first on the
 * ring. When constraints make a cap unsatisfiable, it is relaxed rather
 * than leaving a slot without a node; only the hard rules (constraints,
 * max per node, node state) ever leave a slot empty.
 *
 * Rebalancing is the only thing that moves a slot that could stay. It
 * works on a potential: the sum over up nodes of how far each is outside
 * its bands (per service [floor(R/E), ceil(R/E)], per node [floor((1-eps)
 * avg), ceil((1+eps) avg)]), with excess above a cap weighted over
 * shortfall below a floor, and a service's excess over a node's. A move is
 * made only when it lowers the potential and never takes the receiving
 * node above its per-service cap, so no sequence of rounds can cycle, and
 * the number of moves is bounded by the imbalance, not by the table: when
 * a node joins, the moves are the slots it takes to reach its floors (and
 * those that leave nodes now above the lowered caps). The caller limits
 * moves per round (rebalance_parallelism minus moves in flight), so a join
 * shifts work a few tasks at a time.
 *
 * A node that rejected a task (the program is missing there, the agent
 * is at its task limit) is the caller's news: place_run() takes, per
 * service, the nodes to avoid and the slots to move off the node that
 * rejected them. An avoided node is treated like a paused one for that
 * service alone (it keeps its slots, takes none, and is not counted in
 * E), and a rejected slot takes the next node in its order that is
 * within every cap, or stays when there is none: hopping between nodes is
 * the caller's to slow down.
 *
 * Determinism: services are processed in name order and slots in index
 * order; ranks depend only on names (XXH3), never on the order of the
 * caller's arrays; the average uses integer arithmetic (eps in thousandths)
 * so every platform computes the same caps.
 *
 * Cost: building the ring is O(N V log(N V)) and happens only when the node
 * list changes. A round is O(S N + total slots) plus, per slot that needs a
 * node, an O(log(N V)) search and a short walk (ring) or O(E) scores (HRW
 * and services restricted by constraints to a small E).
 */
#include "sched/place.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"

#define NODE_SEED 0x706c6e6f6465ULL /* "plnode" */
#define SVC_SEED  0x706c737663ULL   /* "plsvc" */
#define RING_SEED 0x706c72696e67ULL /* "plring" */

enum {
	F_KEEP = 1, /* may hold a slot of the current service */
	F_TAKE = 2, /* may take a new slot of the current service */
};

struct place_point {
	uint64_t h;
	uint32_t node;
};

struct place_nkey {
	uint64_t h;
	uint32_t n;
};

struct svc_key {
	const char *name;
	uint32_t idx;
};

void
place_config_default(struct place_config *cfg)
{
	cfg->algo = PLACE_RING;
	cfg->vnodes = 64;
	cfg->eps = 0.10;
	cfg->choices = 2;
	cfg->rebalance_parallelism = 4;
}

static int
config_ok(const struct place_config *cfg)
{
	if (cfg->algo != PLACE_RING && cfg->algo != PLACE_HRW)
		return ERR_INVAL;
	if (cfg->vnodes < 1 || cfg->vnodes > PLACE_VNODES_MAX)
		return ERR_INVAL;
	if (!(cfg->eps >= 0 && cfg->eps <= 1))
		return ERR_INVAL;
	if (cfg->choices < 1 || cfg->choices > 2)
		return ERR_INVAL;
	return 0;
}

int
place_init(struct place *p, const struct place_config *cfg)
{
	memset(p, 0, sizeof(*p));
	if (cfg) {
		if (config_ok(cfg))
			return ERR_INVAL;
		p->cfg = *cfg;
	} else {
		place_config_default(&p->cfg);
	}
	return 0;
}

void
place_destroy(struct place *p)
{
	free(p->ring);
	free(p->nh);
	free(p->load);
	free(p->cnt);
	free(p->flags);
	free(p->mark);
	free(p->list);
	free(p->keys);
	free(p->needy);
	free(p->needy_why);
	free(p->order);
	free(p->lo);
	free(p->hi);
	free(p->oob);
	free(p->sh);
	memset(p, 0, sizeof(*p));
}

const char *
place_why_name(enum place_why why)
{
	switch (why) {
	case PLACE_WHY_NEW:
		return "new";
	case PLACE_WHY_DOWN:
		return "node-down";
	case PLACE_WHY_DRAIN:
		return "drain";
	case PLACE_WHY_CONSTRAINT:
		return "constraint";
	case PLACE_WHY_MAX_PER_NODE:
		return "max-per-node";
	case PLACE_WHY_REBALANCE:
		return "rebalance";
	case PLACE_WHY_SCALE_DOWN:
		return "scale-down";
	case PLACE_WHY_GLOBAL:
		return "global";
	case PLACE_WHY_REJECTED:
		return "rejected";
	}
	return "?";
}

/* Grow *pp to hold n elements of size sz. */
static int
grow(void *pp, size_t n, size_t sz)
{
	void *q = realloc(*(void **)pp, n * sz);

	if (!q)
		return ERR_NOMEM;
	*(void **)pp = q;
	return 0;
}

static int
reserve(struct place *p, size_t nnodes, size_t nsvcs, size_t nslots)
{
	if (nnodes > p->nodes_cap) {
		size_t n = nnodes;

		if (grow(&p->nh, n, sizeof(*p->nh)) ||
		    grow(&p->load, n, sizeof(*p->load)) ||
		    grow(&p->cnt, n, sizeof(*p->cnt)) ||
		    grow(&p->flags, n, sizeof(*p->flags)) ||
		    grow(&p->mark, n, sizeof(*p->mark)) ||
		    grow(&p->list, n, sizeof(*p->list)) ||
		    grow(&p->keys, n, sizeof(*p->keys)))
			return ERR_NOMEM;
		p->nodes_cap = n;
	}
	if (nslots > p->needy_cap) {
		if (grow(&p->needy, nslots, sizeof(*p->needy)) ||
		    grow(&p->needy_why, nslots, sizeof(*p->needy_why)))
			return ERR_NOMEM;
		p->needy_cap = nslots;
	}
	if (nsvcs > p->svcs_cap) {
		size_t n = nsvcs;

		if (grow(&p->order, n, sizeof(*p->order)) ||
		    grow(&p->lo, n, sizeof(*p->lo)) ||
		    grow(&p->hi, n, sizeof(*p->hi)) ||
		    grow(&p->oob, n, sizeof(*p->oob)) ||
		    grow(&p->sh, n, sizeof(*p->sh)))
			return ERR_NOMEM;
		p->svcs_cap = n;
	}
	return 0;
}

/* ---- the ring ---- */

static int
point_cmp(const void *a, const void *b)
{
	const struct place_point *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;
}

static int
ring_build(struct place *p, size_t nnodes)
{
	uint64_t key = hash_u64(p->cfg.vnodes, RING_SEED);
	size_t n = nnodes * p->cfg.vnodes;

	for (size_t i = 0; i < nnodes; i++)
		key = hash_combine(key, p->nh[i]);
	if (p->ring && key == p->ring_key && p->nring == n)
		return 0;
	if (n > p->ring_cap) {
		if (grow(&p->ring, n, sizeof(*p->ring)))
			return ERR_NOMEM;
		p->ring_cap = n;
	}
	for (size_t i = 0, k = 0; i < nnodes; i++)
		for (uint32_t v = 0; v < p->cfg.vnodes; v++, k++) {
			p->ring[k].h = hash_u64(v, p->nh[i]);
			p->ring[k].node = (uint32_t)i;
		}
	qsort(p->ring, n, sizeof(*p->ring), point_cmp);
	p->nring = n;
	p->ring_key = key;
	p->stats.ring_builds++;
	return 0;
}

/* First point at or after h (wrapping to 0). */
static size_t
ring_find(const struct place *p, uint64_t h)
{
	size_t lo = 0, hi = p->nring;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->ring[mid].h < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == p->nring ? 0 : lo;
}

/* ---- per-service view ---- */

static bool
matches(const struct spec *sp, const struct place_node *nd)
{
	return sp->ncons == 0 || spec_match(sp, nd->name, nd->tags, nd->ntags);
}

/* Does service sv avoid node n (see Rejections in place.h)? */
static bool
avoided(const struct place_service *sv, uint32_t n)
{
	for (uint32_t k = 0; k < sv->navoid; k++)
		if (sv->avoid[k] == n)
			return true;
	return false;
}

/* Fill flags[] for service sv and list[] with the nodes that may take a
 * new slot; returns how many. */
static uint32_t
svc_flags(struct place *p, const struct place_node *nodes, size_t nnodes,
	  const struct place_service *sv)
{
	const struct spec *sp = sv->spec;
	uint32_t e = 0;

	for (size_t n = 0; n < nnodes; n++) {
		uint8_t f = 0;

		if (nodes[n].state <= PLACE_SUSPECT && matches(sp, &nodes[n])) {
			f = F_KEEP;
			if (nodes[n].state == PLACE_UP &&
			    (!sv->navoid || sp->mode != SPEC_REPLICATED ||
			     !avoided(sv, (uint32_t)n))) {
				f |= F_TAKE;
				p->list[e++] = (uint32_t)n;
			}
		}
		p->flags[n] = f;
	}
	return e;
}

static uint32_t
hard_max(const struct spec *sp)
{
	return sp->max_per_node ? sp->max_per_node : UINT32_MAX;
}

/* Why slot node n (of the current service) cannot stay; 0 if it can. */
static enum place_why
classify(const struct place *p, const struct place_node *nodes, uint32_t n,
	 uint32_t hard)
{
	if (n == PLACE_NONE)
		return PLACE_WHY_NEW;
	if (!(p->flags[n] & F_KEEP)) {
		if (nodes[n].state == PLACE_DOWN)
			return PLACE_WHY_DOWN;
		if (nodes[n].state == PLACE_DRAIN)
			return PLACE_WHY_DRAIN;
		return PLACE_WHY_CONSTRAINT;
	}
	if (p->cnt[n] >= hard)
		return PLACE_WHY_MAX_PER_NODE;
	return 0;
}

static uint64_t
slot_key(const struct place *p, uint32_t s, uint32_t i)
{
	return hash_combine(p->sh[s], i);
}

/* Node order for a tie in HRW scores: by name hash, then name. */
static bool
node_before(const struct place *p, const struct place_node *nodes, uint32_t a,
	    uint32_t b)
{
	if (p->nh[a] != p->nh[b])
		return p->nh[a] < p->nh[b];
	return strcmp(nodes[a].name, nodes[b].name) < 0;
}

struct caps {
	uint32_t hi;   /* per-service soft cap */
	uint32_t hard; /* max per node */
	uint32_t gcap; /* global soft cap */
};

/* Level at which node n can take a slot: 0 (all caps), 1 (global cap
 * relaxed), 2 (per-service cap relaxed too), 3 (cannot). */
static int
level(const struct place *p, uint32_t n, const struct caps *c)
{
	if (!(p->flags[n] & F_TAKE) || p->cnt[n] >= c->hard)
		return 3;
	if (p->cnt[n] >= c->hi)
		return 2;
	if (p->load[n] >= c->gcap)
		return 1;
	return 0;
}

/* Of two admissible nodes, the one to prefer: fewer slots overall, then
 * fewer of this service, then the first in the slot's order. */
static uint32_t
lighter(const struct place *p, uint32_t a, uint32_t b)
{
	if (b == PLACE_NONE)
		return a;
	if (p->load[b] != p->load[a])
		return p->load[b] < p->load[a] ? b : a;
	return p->cnt[b] < p->cnt[a] ? b : a;
}

/* The node that takes the slot: at the lowest level available (at most
 * max_level), the first in the slot's order — or, with two choices, the
 * lighter of the first two at that level. PLACE_NONE if none. */
static uint32_t
choose(struct place *p, const struct place_node *nodes, uint64_t key,
       const struct caps *c, uint32_t e, int max_level, int *lvl)
{
	uint32_t best[3] = {PLACE_NONE, PLACE_NONE, PLACE_NONE};
	uint32_t second[3] = {PLACE_NONE, PLACE_NONE, PLACE_NONE};
	uint64_t score[3] = {0, 0, 0}, score2[3] = {0, 0, 0};
	bool two = p->cfg.choices > 1;

	if (e == 0)
		return PLACE_NONE;
	if (p->cfg.algo == PLACE_RING &&
	    (size_t)e * 8 >= p->nring / p->cfg.vnodes) {
		size_t at = ring_find(p, key), stop = p->nring;

		for (size_t k = 0; k < stop; k++) {
			uint32_t n = p->ring[at].node;
			int l = level(p, n, c);

			p->stats.walk_steps++;
			if (++at == p->nring)
				at = 0;
			if (l > max_level)
				continue;
			if (best[l] == PLACE_NONE) {
				best[l] = n;
				/* The second choice is looked for only one
				 * node's worth of points further: where free
				 * nodes are rare, the first is taken. */
				if (l == 0 && two && k + p->cfg.vnodes < stop)
					stop = k + 1 + p->cfg.vnodes;
			} else if (second[l] == PLACE_NONE && n != best[l]) {
				second[l] = n;
			}
			if (l == 0 && (!two || second[0] != PLACE_NONE))
				break;
		}
	} else {
		/* Rendezvous over the nodes that may take the slot: the
		 * highest and second-highest score at each level. */
		for (uint32_t k = 0; k < e; k++) {
			uint32_t n = p->list[k];
			int l = level(p, n, c);
			uint64_t sc;

			p->stats.walk_steps++;
			if (l > max_level)
				continue;
			sc = hash_combine(key, p->nh[n]);
			if (best[l] == PLACE_NONE || sc > score[l] ||
			    (sc == score[l] &&
			     node_before(p, nodes, n, best[l]))) {
				second[l] = best[l];
				score2[l] = score[l];
				best[l] = n;
				score[l] = sc;
			} else if (second[l] == PLACE_NONE || sc > score2[l] ||
				   (sc == score2[l] &&
				    node_before(p, nodes, n, second[l]))) {
				second[l] = n;
				score2[l] = sc;
			}
		}
	}
	for (int l = 0; l <= max_level && l < 3; l++)
		if (best[l] != PLACE_NONE) {
			*lvl = l;
			return two ? lighter(p, best[l], second[l]) : best[l];
		}
	return PLACE_NONE;
}

/* ---- the round ---- */

struct round {
	struct place *p;
	const struct place_node *nodes;
	size_t nnodes;
	struct place_service *svcs;
	size_t nsvcs;
	struct place_change *out;
	size_t out_cap;
	size_t nout;
	uint32_t gcap;	 /* global cap */
	uint32_t gfloor; /* global floor */
	uint32_t budget; /* rebalancing moves left */
};

static bool
emit(struct round *r, uint32_t s, uint32_t slot, uint32_t from, uint32_t to,
     enum place_why why)
{
	struct place_change *c;

	if (r->nout == r->out_cap)
		return false;
	c = &r->out[r->nout++];
	c->service = s;
	c->slot = slot;
	c->from = from;
	c->to = to;
	c->why = why;
	return true;
}

static int
svc_cmp(const void *a, const void *b)
{
	const struct svc_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
sort_services(struct round *r)
{
	struct svc_key *k = malloc((r->nsvcs ? r->nsvcs : 1) * sizeof(*k));

	if (!k)
		return ERR_NOMEM;
	for (size_t i = 0; i < r->nsvcs; i++) {
		k[i].name = r->svcs[i].spec->name;
		k[i].idx = (uint32_t)i;
	}
	qsort(k, r->nsvcs, sizeof(*k), svc_cmp);
	for (size_t i = 0; i < r->nsvcs; i++)
		r->p->order[i] = k[i].idx;
	free(k);
	return 0;
}

/* Replicated slots considered for service s: [0, min(nslots, R)). */
static uint32_t
live_slots(const struct place_service *sv)
{
	return sv->nslots < sv->spec->replicas ? sv->nslots
					       : sv->spec->replicas;
}

/* Count the slots of a service that may stay into cnt[] (flags must be
 * current), in slot order; add them to load[] when add_load. Returns the
 * slots kept on nodes that are not up. */
static uint32_t
count_kept(struct round *r, const struct place_service *sv, bool add_load)
{
	struct place *p = r->p;
	uint32_t hard = hard_max(sv->spec), n_live = live_slots(sv);
	uint32_t off = 0;

	memset(p->cnt, 0, r->nnodes * sizeof(*p->cnt));
	for (uint32_t i = 0; i < n_live; i++) {
		uint32_t n = sv->slots[i];

		if (n == PLACE_NONE || classify(p, r->nodes, n, hard))
			continue;
		p->cnt[n]++;
		if (!add_load)
			continue;
		if (r->nodes[n].state == PLACE_UP)
			p->load[n]++;
		else
			off++;
	}
	return off;
}

static void
service_caps(struct round *r, uint32_t s, uint32_t e)
{
	const struct spec *sp = r->svcs[s].spec;
	uint32_t hard = hard_max(sp), R = sp->replicas;
	uint32_t hi, lo;

	if (e == 0) {
		hi = hard;
		lo = 0;
	} else {
		hi = (uint32_t)(((uint64_t)R + e - 1) / e);
		lo = R / e;
		if (hi > hard)
			hi = hard;
		if (lo > hi)
			lo = hi;
	}
	r->p->hi[s] = hi;
	r->p->lo[s] = lo;
}

/* Replicated service: remove slots >= R, then give every slot that needs
 * a node one. False when out filled up. */
static bool
place_replicated(struct round *r, uint32_t s, uint32_t e)
{
	struct place *p = r->p;
	struct place_service *sv = &r->svcs[s];
	uint32_t R = sv->spec->replicas, nneedy = 0, rj = 0;
	struct caps c = {p->hi[s], hard_max(sv->spec), r->gcap};

	/* Scale down: the highest slots go. */
	while (sv->nslots > R) {
		uint32_t i = sv->nslots - 1, n = sv->slots[i];

		if (n != PLACE_NONE) {
			if (!emit(r, s, i, n, PLACE_NONE, PLACE_WHY_SCALE_DOWN))
				return false;
			p->stats.removed++;
		}
		sv->nslots--;
	}
	while (sv->nslots < R)
		sv->slots[sv->nslots++] = PLACE_NONE;

	/* Which slots stay (the same walk as count_kept()), so that the
	 * caps see every slot that stays before any choice is made. */
	memset(p->cnt, 0, r->nnodes * sizeof(*p->cnt));
	for (uint32_t i = 0; i < R; i++) {
		uint32_t n = sv->slots[i];
		enum place_why why = classify(p, r->nodes, n, c.hard);

		while (rj < sv->nrejected && sv->rejected[rj] < i)
			rj++;
		if (!why && rj < sv->nrejected && sv->rejected[rj] == i)
			why = PLACE_WHY_REJECTED;
		if (!why) {
			p->cnt[n]++;
			continue;
		}
		p->needy[nneedy] = i;
		p->needy_why[nneedy++] = (uint8_t)why;
	}
	for (uint32_t k = 0; k < nneedy; k++) {
		uint32_t i = p->needy[k], n = sv->slots[i], to;
		int lvl = 3;

		if (p->needy_why[k] == PLACE_WHY_REJECTED) {
			/* Anywhere but the node that rejected it, within
			 * every cap (a task that may fail again must not
			 * crowd a node and push healthy slots away: that
			 * would make rebalancing chase it); nowhere else: it
			 * stays. */
			uint8_t f = p->flags[n];

			p->flags[n] &= (uint8_t)~F_TAKE;
			to = choose(p, r->nodes, slot_key(p, s, i), &c, e, 0,
				    &lvl);
			p->flags[n] = f;
			if (to == PLACE_NONE) {
				p->cnt[n]++;
				continue;
			}
			if (!emit(r, s, i, n, to, PLACE_WHY_REJECTED))
				return false;
			sv->slots[i] = to;
			if (r->nodes[n].state == PLACE_UP)
				p->load[n]--;
			p->cnt[to]++;
			p->load[to]++;
			p->stats.placed++;
			p->stats.relaxed += lvl > 0;
			continue;
		}
		to = choose(p, r->nodes, slot_key(p, s, i), &c, e, 2, &lvl);
		if (to == n) {
			/* Only PLACE_NONE -> PLACE_NONE: nowhere to go. */
			sv->unplaced++;
			p->stats.unplaced++;
			continue;
		}
		if (!emit(r, s, i, n, to, (enum place_why)p->needy_why[k]))
			return false;
		sv->slots[i] = to;
		if (to == PLACE_NONE) {
			sv->unplaced++;
			p->stats.unplaced++;
			p->stats.removed++;
			continue;
		}
		p->cnt[to]++;
		p->load[to]++;
		p->stats.placed++;
		p->stats.relaxed += lvl > 0;
	}
	/* Does rebalancing have anything to do for this service? */
	p->oob[s] = 0;
	for (uint32_t k = 0; k < e; k++) {
		uint32_t have = p->cnt[p->list[k]];

		if (have > p->hi[s])
			p->oob[s] |= 1;
		if (have < p->lo[s])
			p->oob[s] |= 2;
	}
	return true;
}

static int
nkey_cmp(const void *a, const void *b)
{
	const struct place_nkey *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->n < y->n ? -1 : x->n > y->n;
}

/* Global service: one slot per node that may keep it; new nodes take the
 * lowest free slot, in name-hash order. False when out filled up. */
static bool
place_global(struct round *r, uint32_t s, uint32_t e)
{
	struct place *p = r->p;
	struct place_service *sv = &r->svcs[s];
	struct place_nkey *keys = p->keys;
	uint32_t free_at = 0, k = 0;
	bool ok = true;

	memset(p->cnt, 0, r->nnodes * sizeof(*p->cnt));
	for (uint32_t i = 0; i < sv->nslots; i++) {
		uint32_t n = sv->slots[i];
		enum place_why why;

		if (n == PLACE_NONE)
			continue;
		why = classify(p, r->nodes, n, 1);
		if (!why) {
			p->cnt[n] = 1;
			continue;
		}
		if (!emit(r, s, i, n, PLACE_NONE, why))
			return false;
		sv->slots[i] = PLACE_NONE;
		p->stats.removed++;
	}
	for (uint32_t i = 0; i < e; i++)
		if (!p->cnt[p->list[i]]) {
			keys[k].h = p->nh[p->list[i]];
			keys[k++].n = p->list[i];
		}
	qsort(keys, k, sizeof(*keys), nkey_cmp);
	for (uint32_t i = 0; i < k; i++) {
		uint32_t n = keys[i].n;

		while (free_at < sv->nslots && sv->slots[free_at] != PLACE_NONE)
			free_at++;
		if (free_at == sv->nslots) {
			if (sv->nslots == sv->cap) {
				sv->unplaced += k - i;
				p->stats.unplaced += k - i;
				break;
			}
			sv->slots[sv->nslots++] = PLACE_NONE;
		}
		if (!emit(r, s, free_at, PLACE_NONE, n, PLACE_WHY_GLOBAL)) {
			ok = false;
			break;
		}
		sv->slots[free_at] = n;
		p->stats.placed++;
	}
	while (sv->nslots && sv->slots[sv->nslots - 1] == PLACE_NONE)
		sv->nslots--;
	return ok;
}

/* ---- rebalancing ---- */

/* Distance of a count to its band, weighted: excess above a cap costs w
 * per slot, shortfall below a floor 1. Per-service excess weighs 4 and
 * per-node excess 2, so that relieving a service's overloaded node is
 * worth pushing another node one slot above the global cap (which global
 * shedding then relieves in turn), and relieving any overload is worth a
 * shortfall it causes elsewhere. */
static uint32_t
dist(uint32_t v, uint32_t lo, uint32_t hi, uint32_t w)
{
	return v > hi ? w * (v - hi) : v < lo ? lo - v : 0;
}

#define W_SVC  4
#define W_NODE 2

/* Change of the potential if one slot of service s moves from d to t;
 * cnt[] holds s's counts. Returns INT32_MAX when t may not take it (a
 * receiver never goes above its per-service cap). Every move the
 * rebalancer makes has a negative delta, so rounds cannot cycle. */
static int32_t
delta(const struct round *r, uint32_t s, uint32_t d, uint32_t t)
{
	const struct place *p = r->p;
	uint32_t lo = p->lo[s], hi = p->hi[s], gl = r->gfloor, gh = r->gcap;
	int32_t dd;

	if (d == t || !(p->flags[t] & F_TAKE) || p->cnt[t] + 1 > hi)
		return INT32_MAX;
	dd = (int32_t)dist(p->cnt[d] - 1, lo, hi, W_SVC) -
	     (int32_t)dist(p->cnt[d], lo, hi, W_SVC);
	dd += (int32_t)dist(p->cnt[t] + 1, lo, hi, W_SVC) -
	      (int32_t)dist(p->cnt[t], lo, hi, W_SVC);
	dd += (int32_t)dist(p->load[d] - 1, gl, gh, W_NODE) -
	      (int32_t)dist(p->load[d], gl, gh, W_NODE);
	dd += (int32_t)dist(p->load[t] + 1, gl, gh, W_NODE) -
	      (int32_t)dist(p->load[t], gl, gh, W_NODE);
	return dd;
}

static bool
move(struct round *r, uint32_t s, uint32_t i, uint32_t to)
{
	struct place *p = r->p;
	struct place_service *sv = &r->svcs[s];
	uint32_t from = sv->slots[i];

	if (!emit(r, s, i, from, to, PLACE_WHY_REBALANCE))
		return false;
	sv->slots[i] = to;
	p->cnt[from]--;
	p->cnt[to]++;
	p->load[from]--;
	p->load[to]++;
	p->stats.rebalanced++;
	r->budget--;
	return true;
}

/* Prepare flags and counts of service s for rebalancing; false if it takes
 * no part (global mode, no eligible node). */
static bool
rb_prepare(struct round *r, uint32_t s, uint32_t *e)
{
	const struct place_service *sv = &r->svcs[s];

	if (sv->spec->mode != SPEC_REPLICATED)
		return false;
	*e = svc_flags(r->p, r->nodes, r->nnodes, sv);
	if (*e == 0)
		return false;
	count_kept(r, sv, false);
	return true;
}

/* Slots above an upper cap (per service, then per node) move to the first
 * node in their order that stays within every cap. */
static bool
rb_shed(struct round *r, bool global)
{
	struct place *p = r->p;

	if (global) {
		uint32_t n;

		for (n = 0; n < r->nnodes; n++)
			if (r->nodes[n].state == PLACE_UP &&
			    p->load[n] > r->gcap)
				break;
		if (n == r->nnodes)
			return true;
	}
	for (size_t k = 0; k < r->nsvcs && r->budget; k++) {
		uint32_t s = p->order[k], e;
		struct place_service *sv = &r->svcs[s];
		struct caps c;

		if ((!global && !(p->oob[s] & 1)) || !rb_prepare(r, s, &e))
			continue;
		c.hi = p->hi[s];
		c.hard = hard_max(sv->spec);
		c.gcap = r->gcap;
		for (uint32_t i = sv->nslots; i-- > 0 && r->budget;) {
			uint32_t n = sv->slots[i], to;
			int lvl;

			if (n == PLACE_NONE || r->nodes[n].state != PLACE_UP)
				continue;
			if (global ? p->load[n] <= r->gcap
				   : p->cnt[n] <= p->hi[s])
				continue;
			/* Within every cap if possible; a service's excess
			 * may also go above the global cap. */
			to = choose(p, r->nodes, slot_key(p, s, i), &c, e,
				    global ? 0 : 1, &lvl);
			if (to == PLACE_NONE || delta(r, s, n, to) >= 0)
				continue;
			if (!move(r, s, i, to))
				return false;
		}
	}
	return true;
}

/* Up nodes below the per-service floor (in name-hash order) take slots
 * from the fullest holders of that service. */
static bool
rb_fill_service(struct round *r)
{
	struct place *p = r->p;

	for (size_t k = 0; k < r->nsvcs && r->budget; k++) {
		uint32_t s = p->order[k], e, nt = 0;
		struct place_service *sv = &r->svcs[s];

		if (!(p->oob[s] & 2) || !rb_prepare(r, s, &e) || p->lo[s] == 0)
			continue;
		for (uint32_t j = 0; j < e; j++)
			if (p->cnt[p->list[j]] < p->lo[s]) {
				p->keys[nt].h = p->nh[p->list[j]];
				p->keys[nt++].n = p->list[j];
			}
		qsort(p->keys, nt, sizeof(*p->keys), nkey_cmp);
		for (uint32_t j = 0; j < nt && r->budget; j++) {
			uint32_t t = p->keys[j].n;

			while (p->cnt[t] < p->lo[s] && r->budget) {
				uint32_t bi = PLACE_NONE, bd = 0;

				for (uint32_t i = sv->nslots; i-- > 0;) {
					uint32_t d = sv->slots[i];

					if (d == PLACE_NONE ||
					    r->nodes[d].state != PLACE_UP ||
					    (bi != PLACE_NONE &&
					     (p->cnt[d] < p->cnt[bd] ||
					      (p->cnt[d] == p->cnt[bd] &&
					       p->load[d] <= p->load[bd]))) ||
					    delta(r, s, d, t) >= 0)
						continue;
					bi = i;
					bd = d;
				}
				if (bi == PLACE_NONE)
					break;
				if (!move(r, s, bi, t))
					return false;
			}
		}
	}
	return true;
}

/* Count (add = true) or uncount the live slots of a service in cnt[]. */
static void
tally(struct round *r, const struct place_service *sv, bool add)
{
	uint32_t n_live = live_slots(sv);

	for (uint32_t i = 0; i < n_live; i++) {
		uint32_t n = sv->slots[i];

		if (n == PLACE_NONE)
			continue;
		if (add)
			r->p->cnt[n]++;
		else
			r->p->cnt[n]--;
	}
}

/* Up nodes below the per-node floor take, one at a time, the slot that
 * relieves the fullest node, from any service they may run. After
 * placement every live slot sits on a node that may keep it, so plain
 * counts are the counts that matter. */
static bool
rb_fill_global(struct round *r)
{
	struct place *p = r->p;
	const struct place_node *nodes = r->nodes;

	memset(p->mark, 0, r->nnodes);
	memset(p->cnt, 0, r->nnodes * sizeof(*p->cnt));
	while (r->budget) {
		uint32_t t = PLACE_NONE;
		uint32_t bs = PLACE_NONE, bi = 0, bd = 0;

		/* The emptiest up node under the floor (name-hash order). */
		for (uint32_t n = 0; n < r->nnodes; n++) {
			if (nodes[n].state != PLACE_UP || p->mark[n] ||
			    p->load[n] >= r->gfloor)
				continue;
			if (t == PLACE_NONE || p->load[n] < p->load[t] ||
			    (p->load[n] == p->load[t] &&
			     node_before(p, nodes, n, t)))
				t = n;
		}
		if (t == PLACE_NONE)
			return true;
		for (size_t k = 0; k < r->nsvcs; k++) {
			uint32_t s = p->order[k];
			struct place_service *sv = &r->svcs[s];
			uint32_t n_live = live_slots(sv);

			if (sv->spec->mode != SPEC_REPLICATED ||
			    !matches(sv->spec, &nodes[t]) || avoided(sv, t))
				continue;
			p->flags[t] = F_KEEP | F_TAKE;
			tally(r, sv, true);
			for (uint32_t i = n_live; i-- > 0;) {
				uint32_t d = sv->slots[i];

				if (d == PLACE_NONE ||
				    nodes[d].state != PLACE_UP ||
				    (bs != PLACE_NONE &&
				     p->load[d] <= p->load[bd]) ||
				    delta(r, s, d, t) >= 0)
					continue;
				bs = s;
				bi = i;
				bd = d;
			}
			tally(r, sv, false);
		}
		if (bs == PLACE_NONE) {
			p->mark[t] = 1; /* nothing it may take: skip it */
			continue;
		}
		tally(r, &r->svcs[bs], true);
		if (!move(r, bs, bi, t))
			return false;
		tally(r, &r->svcs[bs], false);
	}
	return true;
}

static int
check_input(const struct place_node *nodes, size_t nnodes,
	    const struct place_service *svcs, size_t nsvcs)
{
	if (nnodes > PLACE_NODES_MAX || nsvcs > PLACE_SERVICES_MAX)
		return ERR_INVAL;
	for (size_t n = 0; n < nnodes; n++)
		if (!nodes[n].name || nodes[n].state > PLACE_DOWN)
			return ERR_INVAL;
	for (size_t s = 0; s < nsvcs; s++) {
		const struct place_service *sv = &svcs[s];

		if (!sv->spec || sv->nslots > sv->cap ||
		    (sv->cap && !sv->slots))
			return ERR_INVAL;
		if (sv->spec->mode == SPEC_REPLICATED &&
		    sv->cap < sv->spec->replicas)
			return ERR_RANGE;
		for (uint32_t i = 0; i < sv->nslots; i++)
			if (sv->slots[i] != PLACE_NONE &&
			    sv->slots[i] >= nnodes)
				return ERR_INVAL;
		if ((sv->navoid && !sv->avoid) ||
		    (sv->nrejected && !sv->rejected))
			return ERR_INVAL;
		for (uint32_t k = 0; k < sv->navoid; k++)
			if (sv->avoid[k] >= nnodes)
				return ERR_INVAL;
		for (uint32_t k = 0; k < sv->nrejected; k++)
			if (sv->rejected[k] >= sv->cap ||
			    (k && sv->rejected[k] <= sv->rejected[k - 1]))
				return ERR_INVAL;
	}
	return 0;
}

int
place_run(struct place *p, const struct place_node *nodes, size_t nnodes,
	  struct place_service *svcs, size_t nsvcs, uint32_t inflight,
	  struct place_change *out, size_t out_cap, size_t *nout)
{
	struct round r = {
		.p = p,
		.nodes = nodes,
		.nnodes = nnodes,
		.svcs = svcs,
		.nsvcs = nsvcs,
		.out = out,
		.out_cap = out ? out_cap : 0,
	};
	uint64_t total = 0, off = 0, nup = 0, eps_m;
	uint32_t rmax = 1;
	int rc;

	*nout = 0;
	rc = check_input(nodes, nnodes, svcs, nsvcs);
	if (rc)
		return rc;
	for (size_t s = 0; s < nsvcs; s++)
		if (svcs[s].spec->replicas > rmax)
			rmax = svcs[s].spec->replicas;
	rc = reserve(p, nnodes ? nnodes : 1, nsvcs ? nsvcs : 1, rmax);
	if (rc)
		return rc;
	for (size_t n = 0; n < nnodes; n++) {
		p->nh[n] = hash_str(nodes[n].name, NODE_SEED);
		p->load[n] = 0;
		nup += nodes[n].state == PLACE_UP;
	}
	if (p->cfg.algo == PLACE_RING) {
		rc = ring_build(p, nnodes);
		if (rc)
			return rc;
	}
	for (size_t s = 0; s < nsvcs; s++) {
		p->sh[s] = hash_str(svcs[s].spec->name, SVC_SEED);
		svcs[s].unplaced = 0;
	}
	rc = sort_services(&r);
	if (rc)
		return rc;

	/* Loads of the slots that stay, and the caps they give. */
	for (size_t k = 0; k < nsvcs; k++) {
		uint32_t s = p->order[k];
		const struct spec *sp = svcs[s].spec;
		uint32_t e;

		if (sp->mode != SPEC_REPLICATED)
			continue;
		e = svc_flags(p, nodes, nnodes, &svcs[s]);
		svcs[s].eligible = e;
		service_caps(&r, s, e);
		off += count_kept(&r, &svcs[s], true);
		total += sp->replicas;
	}
	total = total > off ? total - off : 0;
	eps_m = (uint64_t)(p->cfg.eps * 1000 + 0.5);
	if (nup) {
		r.gcap = (uint32_t)((total * (1000 + eps_m) + 1000 * nup - 1) /
				    (1000 * nup));
		r.gfloor = (uint32_t)(total * (1000 - eps_m) / (1000 * nup));
	}
	if (r.gcap < 1)
		r.gcap = 1;
	if (!nup)
		r.gcap = UINT32_MAX;
	p->stats.cap_global = r.gcap;
	p->stats.floor_global = r.gfloor;

	/* Slots that need a node. */
	for (size_t k = 0; k < nsvcs; k++) {
		uint32_t s = p->order[k];
		uint32_t e = svc_flags(p, nodes, nnodes, &svcs[s]);
		bool more;

		svcs[s].eligible = e;
		p->oob[s] = 0;
		if (svcs[s].spec->mode == SPEC_GLOBAL)
			more = place_global(&r, s, e);
		else
			more = place_replicated(&r, s, e);
		if (!more)
			goto out;
	}

	/* Rebalancing, a few moves at a time. */
	r.budget = p->cfg.rebalance_parallelism > inflight
			   ? p->cfg.rebalance_parallelism - inflight
			   : 0;
	if (r.budget && rb_shed(&r, false) && rb_shed(&r, true) &&
	    rb_fill_service(&r))
		rb_fill_global(&r);
out:
	*nout = r.nout;
	return 0;
}
