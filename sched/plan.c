/* SPDX-License-Identifier: MIT */
/*
 * sched/plan.c — one manager round: view + state -> placement -> state.
 *
 * The slot table lives in the replicated state (sched/state.c), keyed by
 * node name; placement (sched/place.c) works on node indices. A round
 * therefore builds, from scratch, an index of the nodes it can talk about
 * (the members, plus any node the table still names that is no longer a
 * member: those are down), translates every live service's visible slots
 * into index arrays, runs placement, and writes back each change as a slot
 * record stamped with the manager's term. Rebuilding every round costs
 * O(members + slots) and keeps the manager stateless apart from two small
 * tables: its own rebalancing moves (for the statistics) and rollouts in
 * progress. What throttles rebalancing, the decisions still in flight, is
 * read from the replicated state (slots written lately that their node
 * does not yet run), so a manager that takes over starts from exactly
 * what its predecessor left, moves in flight included, and a round run
 * twice in a row decides nothing the second time.
 *
 * Rollouts use the same table: a slot's gen says which task digest its
 * node should run, and the node's task report says which one it does run;
 * the manager only moves gen forward, a batch at a time.
 *
 * Rejections are read from the reports too: a REJECTED report of the
 * current digest by the slot's node, newer than the slot's record, moves
 * the slot away, and every such report holds its node off the service for
 * a while (a third table, the manager's own: the holds are what stops a
 * spec that fails everywhere from hopping round the cluster at the speed
 * of a failed start).
 */
#include "sched/plan.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"

#define NAME_SEED 0x706c616e6e616d65ULL /* "planname" */

struct move {
	char service[SPEC_NAME_MAX + 1];
	char to[SWIM_NAME_MAX + 1];
	uint32_t slot;
	uint64_t since_ms;
};

struct rollout {
	char service[SPEC_NAME_MAX + 1];
	uint64_t digest;  /* the task digest being rolled out */
	uint64_t done_ms; /* when the last batch finished; 0: none yet */
	bool batch_open;  /* a batch is rolled and not yet running */
	bool seen;	  /* touched this round */
};

/* A node that rejected a task of a service (see plan.h). */
struct reject {
	char service[SPEC_NAME_MAX + 1];
	char node[SWIM_NAME_MAX + 1];
	uint64_t digest;   /* the task digest it rejected */
	uint64_t version;  /* the newest rejection report counted */
	uint32_t holds;	   /* holds so far: the next is twice as long */
	uint64_t until_ms; /* takes no new slot of the service before */
};

struct plan {
	struct plan_config cfg;
	struct place place;
	struct plan_stats stats;
	struct move moves[PLAN_MOVES_MAX];
	uint32_t nmoves;
	struct rollout *ro;
	size_t nro, ro_cap;
	struct reject *rj;
	size_t nrj, rj_cap;
	uint64_t deadline;

	/* scratch, per round */
	struct place_node *nodes;
	size_t nnodes, nodes_cap;
	uint32_t *hidx; /* open addressing: node index + 1, 0 empty */
	size_t hcap;
	struct place_service *svcs;
	const struct state_service **ssv;
	size_t nsvcs, svcs_cap;
	uint32_t *slots;
	size_t slots_cap;
	struct place_change *out;
	size_t out_cap;
	uint32_t *avoid; /* nodes avoided, every service's in turn */
	size_t avoid_cap;
	uint32_t *rejected; /* rejected slots, every service's in turn */
	size_t rejected_cap;
};

struct plan *
plan_new(const struct plan_config *cfg, int *err)
{
	struct plan *pl = calloc(1, sizeof(*pl));

	if (!pl) {
		*err = ERR_NOMEM;
		return NULL;
	}
	if (cfg) {
		pl->cfg = *cfg;
	} else {
		place_config_default(&pl->cfg.place);
	}
	if (!pl->cfg.max_changes)
		pl->cfg.max_changes = PLAN_CHANGES_DEFAULT;
	if (!pl->cfg.move_timeout_ms)
		pl->cfg.move_timeout_ms = PLAN_MOVE_TIMEOUT_DEFAULT_MS;
	if (pl->cfg.place.rebalance_parallelism > PLAN_MOVES_MAX)
		pl->cfg.place.rebalance_parallelism = PLAN_MOVES_MAX;
	if (place_init(&pl->place, &pl->cfg.place)) {
		free(pl);
		*err = ERR_INVAL;
		return NULL;
	}
	pl->deadline = UINT64_MAX;
	return pl;
}

void
plan_delete(struct plan *pl)
{
	if (!pl)
		return;
	place_destroy(&pl->place);
	free(pl->ro);
	free(pl->rj);
	free(pl->avoid);
	free(pl->rejected);
	free(pl->nodes);
	free(pl->hidx);
	free(pl->svcs);
	free(pl->ssv);
	free(pl->slots);
	free(pl->out);
	free(pl);
}

void
plan_reset(struct plan *pl)
{
	pl->nmoves = 0;
	pl->nro = 0;
	pl->nrj = 0;
	pl->deadline = UINT64_MAX;
}

const struct plan_stats *
plan_stats(const struct plan *pl)
{
	return &pl->stats;
}

uint64_t
plan_next_deadline(const struct plan *pl)
{
	return pl->deadline;
}

static void
copy_name(char *dst, const char *src, size_t max)
{
	size_t n = strnlen(src, max);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* ---- the node index ---- */

static int
ensure(void *pp, size_t *cap, size_t need, size_t sz)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*(void **)pp, n * sz);
	if (!q)
		return ERR_NOMEM;
	*(void **)pp = q;
	*cap = n;
	return 0;
}

static uint32_t
node_find(const struct plan *pl, const char *name)
{
	size_t mask = pl->hcap - 1;

	if (!pl->hcap)
		return PLACE_NONE;
	for (size_t i = hash_str(name, NAME_SEED) & mask;; i = (i + 1) & mask) {
		uint32_t v = pl->hidx[i];

		if (!v)
			return PLACE_NONE;
		if (!strcmp(pl->nodes[v - 1].name, name))
			return v - 1;
	}
}

/* Add a node (its name is borrowed for the round); its index, or
 * PLACE_NONE when memory ran out. An existing name returns its index. */
static uint32_t
node_add(struct plan *pl, const char *name, enum place_node_state st,
	 const struct spec_tag *tags, size_t ntags)
{
	uint32_t at = node_find(pl, name);
	size_t mask;

	if (at != PLACE_NONE)
		return at;
	if (pl->nnodes >= PLACE_NODES_MAX ||
	    ensure(&pl->nodes, &pl->nodes_cap, pl->nnodes + 1,
		   sizeof(*pl->nodes)))
		return PLACE_NONE;
	if (2 * (pl->nnodes + 1) > pl->hcap) {
		/* Rehash into a table twice as large. */
		size_t cap = pl->hcap ? pl->hcap * 2 : 64;
		uint32_t *h = calloc(cap, sizeof(*h));

		if (!h)
			return PLACE_NONE;
		free(pl->hidx);
		pl->hidx = h;
		pl->hcap = cap;
		for (uint32_t i = 0; i < pl->nnodes; i++) {
			size_t m = cap - 1;
			size_t j = hash_str(pl->nodes[i].name, NAME_SEED) & m;

			while (h[j])
				j = (j + 1) & m;
			h[j] = i + 1;
		}
	}
	at = (uint32_t)pl->nnodes++;
	pl->nodes[at].name = name;
	pl->nodes[at].state = st;
	pl->nodes[at].tags = tags;
	pl->nodes[at].ntags = ntags;
	mask = pl->hcap - 1;
	for (size_t i = hash_str(name, NAME_SEED) & mask;; i = (i + 1) & mask)
		if (!pl->hidx[i]) {
			pl->hidx[i] = at + 1;
			break;
		}
	return at;
}

static enum place_node_state
node_state(const struct state *st, const struct plan_member *m)
{
	enum state_avail a;

	if (m->state == SWIM_DEAD || m->state == SWIM_LEFT)
		return PLACE_DOWN;
	a = state_node_avail(st, m->name);
	if (a == STATE_DRAIN)
		return PLACE_DRAIN;
	if (m->state == SWIM_SUSPECT)
		return PLACE_SUSPECT;
	return a == STATE_PAUSE ? PLACE_PAUSED : PLACE_UP;
}

/* ---- building the round ---- */

static int
build(struct plan *pl, const struct state *st, const struct plan_member *m,
      size_t nm)
{
	size_t ns = state_service_count(st), total = 0, used = 0;

	pl->nnodes = 0;
	pl->nsvcs = 0;
	if (pl->hcap)
		memset(pl->hidx, 0, pl->hcap * sizeof(*pl->hidx));
	for (size_t i = 0; i < nm; i++)
		if (node_add(pl, m[i].name, node_state(st, &m[i]), m[i].tags,
			     m[i].ntags) == PLACE_NONE)
			return ERR_NOMEM;
	if (ensure(&pl->svcs, &pl->svcs_cap, ns, sizeof(*pl->svcs)))
		return ERR_NOMEM;
	pl->ssv = realloc(pl->ssv,
			  (pl->svcs_cap ? pl->svcs_cap : 1) * sizeof(*pl->ssv));
	if (!pl->ssv)
		return ERR_NOMEM;
	/* Capacities first: replicated max(R, slots seen), global one per
	 * node on top of what is held. */
	for (size_t i = 0; i < ns; i++) {
		const struct state_service *sv = state_service_at(st, i);
		uint32_t top = 0;

		if (!state_service_live(sv))
			continue;
		for (uint32_t j = 0; j < sv->nslots; j++)
			if (state_slot_node(sv, &sv->slots[j]))
				top = sv->slots[j].slot + 1;
		if (sv->spec.mode == SPEC_GLOBAL)
			total += top + nm;
		else
			total += top > sv->spec.replicas ? top
							 : sv->spec.replicas;
	}
	if (ensure(&pl->slots, &pl->slots_cap, total ? total : 1,
		   sizeof(*pl->slots)))
		return ERR_NOMEM;
	for (size_t i = 0; i < ns; i++) {
		const struct state_service *sv = state_service_at(st, i);
		struct place_service *ps;
		uint32_t top = 0, cap;

		if (!state_service_live(sv))
			continue;
		for (uint32_t j = 0; j < sv->nslots; j++)
			if (state_slot_node(sv, &sv->slots[j]))
				top = sv->slots[j].slot + 1;
		cap = sv->spec.mode == SPEC_GLOBAL
			      ? top + (uint32_t)nm
			      : (top > sv->spec.replicas ? top
							 : sv->spec.replicas);
		ps = &pl->svcs[pl->nsvcs];
		pl->ssv[pl->nsvcs++] = sv;
		memset(ps, 0, sizeof(*ps));
		ps->spec = &sv->spec;
		ps->slots = pl->slots + used;
		ps->cap = cap;
		ps->nslots = top;
		used += cap;
		for (uint32_t k = 0; k < top; k++)
			ps->slots[k] = PLACE_NONE;
		for (uint32_t j = 0; j < sv->nslots; j++) {
			const char *node = state_slot_node(sv, &sv->slots[j]);
			uint32_t at;

			if (!node)
				continue;
			at = node_find(pl, node);
			if (at == PLACE_NONE)
				at = node_add(pl, node, PLACE_DOWN, NULL, 0);
			if (at == PLACE_NONE)
				return ERR_NOMEM;
			ps->slots[sv->slots[j].slot] = at;
		}
	}
	return 0;
}

/* ---- moves in flight ---- */

static bool
running_on(const struct state_service *sv, const struct state_slot *sl,
	   const char *node, uint64_t digest)
{
	for (unsigned k = 0; k < STATE_REPORTS_PER_SLOT; k++) {
		const struct state_report *rp = state_slot_report(sv, sl, k);

		if (rp && rp->state == TASK_RUNNING &&
		    !strcmp(istr_str(rp->node), node) &&
		    (!digest || rp->gen == digest))
			return true;
	}
	return false;
}

static void
moves_update(struct plan *pl, const struct state *st, uint64_t now_ms)
{
	uint32_t keep = 0;

	for (uint32_t i = 0; i < pl->nmoves; i++) {
		struct move *mv = &pl->moves[i];
		const struct state_service *sv =
			state_service_find(st, mv->service);
		const struct state_slot *sl =
			sv ? state_slot_find(sv, mv->slot) : NULL;
		const char *node = state_slot_node(sv, sl);

		if (!node || strcmp(node, mv->to)) {
			continue; /* moved again, or gone */
		} else if (running_on(sv, sl, mv->to, 0)) {
			pl->stats.moves_done++;
			continue;
		} else if (now_ms >= mv->since_ms + pl->cfg.move_timeout_ms) {
			pl->stats.moves_expired++;
			continue;
		}
		pl->moves[keep++] = *mv;
	}
	pl->nmoves = keep;
}

/* Decisions in flight, as the replicated state shows them: slots of
 * replicated services written within move_timeout_ms whose node has not
 * reported them running at their gen. Read from the state rather than
 * from our own table, so that a manager that takes over counts its
 * predecessor's unconfirmed moves as well as its own (the table is
 * forgotten on a manager change). New slots, moves off failed nodes and
 * rollouts count too: rebalancing waits while anything is in motion. The
 * record's version is its writer's clock, so a writer's clock skew
 * lengthens or shortens the window by as much. */
static uint32_t
inflight_count(const struct plan *pl, const struct state *st, uint64_t now_ms)
{
	uint32_t n = 0;

	for (size_t i = 0; i < state_service_count(st); i++) {
		const struct state_service *sv = state_service_at(st, i);

		if (!state_service_live(sv) || sv->spec.mode != SPEC_REPLICATED)
			continue;
		for (uint32_t j = 0; j < sv->nslots; j++) {
			const struct state_slot *sl = &sv->slots[j];
			const char *node = state_slot_node(sv, sl);

			if (!node || sl->slot >= sv->spec.replicas ||
			    sl->version + pl->cfg.move_timeout_ms <= now_ms ||
			    running_on(sv, sl, node, sl->gen))
				continue;
			n++;
		}
	}
	return n;
}

static void
move_add(struct plan *pl, const char *service, uint32_t slot, const char *to,
	 uint64_t now_ms)
{
	struct move *mv;

	if (pl->nmoves == PLAN_MOVES_MAX)
		return;
	mv = &pl->moves[pl->nmoves++];
	copy_name(mv->service, service, SPEC_NAME_MAX);
	copy_name(mv->to, to, SWIM_NAME_MAX);
	mv->slot = slot;
	mv->since_ms = now_ms;
}

/* ---- rejected tasks ---- */

/* Count a rejection report of `digest` by `node` (report version v): a
 * hold starts (or the next, twice as long) unless one is in force. */
static void
reject_note(struct plan *pl, const char *service, const char *node,
	    uint64_t digest, uint64_t v, uint64_t now_ms)
{
	struct reject *r = NULL;
	uint64_t hold = PLAN_REJECT_HOLD_MS;

	for (size_t i = 0; i < pl->nrj && !r; i++)
		if (!strcmp(pl->rj[i].node, node) &&
		    !strcmp(pl->rj[i].service, service))
			r = &pl->rj[i];
	if (!r) {
		if (pl->nrj == PLAN_REJECTS_MAX) {
			/* Full: the hold that ends first makes room. */
			r = &pl->rj[0];
			for (size_t i = 1; i < pl->nrj; i++)
				if (pl->rj[i].until_ms < r->until_ms)
					r = &pl->rj[i];
		} else if (ensure(&pl->rj, &pl->rj_cap, pl->nrj + 1,
				  sizeof(*pl->rj))) {
			return;
		} else {
			r = &pl->rj[pl->nrj++];
		}
		memset(r, 0, sizeof(*r));
		copy_name(r->service, service, SPEC_NAME_MAX);
		copy_name(r->node, node, SWIM_NAME_MAX);
	}
	if (r->digest != digest) {
		/* Another spec: what the old one did proves nothing. */
		r->digest = digest;
		r->version = 0;
		r->holds = 0;
		r->until_ms = 0;
	}
	if (v <= r->version)
		return;
	r->version = v;
	pl->stats.rejections++;
	if (now_ms < r->until_ms)
		return;
	for (uint32_t k = 0; k < r->holds && hold < PLAN_REJECT_HOLD_MAX_MS;
	     k++)
		hold *= 2;
	if (hold > PLAN_REJECT_HOLD_MAX_MS)
		hold = PLAN_REJECT_HOLD_MAX_MS;
	r->holds++;
	r->until_ms = now_ms + hold;
}

/* Read the rejection reports of this round's services: count them
 * (holds), list for each service the nodes held and the slots to move
 * off the node that rejected them, and hand both to placement. */
static int
rejections(struct plan *pl, uint64_t now_ms)
{
	size_t nav = 0, nrs = 0;

	pl->stats.held = 0;
	for (size_t i = 0; i < pl->nrj;) {
		if (now_ms >= pl->rj[i].until_ms + PLAN_REJECT_HOLD_MAX_MS)
			pl->rj[i] = pl->rj[--pl->nrj];
		else
			i++;
	}
	/* First pass: count, and collect the slots (in slot order). */
	for (size_t k = 0; k < pl->nsvcs; k++) {
		const struct state_service *sv = pl->ssv[k];
		struct place_service *ps = &pl->svcs[k];
		uint64_t cur = spec_task_digest(&sv->spec);

		ps->navoid = ps->nrejected = 0;
		ps->avoid = ps->rejected = NULL;
		if (sv->spec.mode != SPEC_REPLICATED)
			continue;
		for (uint32_t j = 0; j < sv->nslots; j++) {
			const struct state_slot *sl = &sv->slots[j];
			const char *node = state_slot_node(sv, sl);
			bool move = false;

			if (!node || sl->slot >= sv->spec.replicas)
				continue;
			for (unsigned r = 0; r < STATE_REPORTS_PER_SLOT; r++) {
				const struct state_report *rp =
					state_slot_report(sv, sl, r);
				const char *by;

				if (!rp || rp->state != TASK_REJECTED ||
				    rp->gen != cur)
					continue;
				by = istr_str(rp->node);
				if (rp->version + PLAN_REJECT_HOLD_MAX_MS >
				    now_ms)
					reject_note(pl, sv->name, by, cur,
						    rp->version, now_ms);
				/* Rejected since the decision put it there. */
				if (!strcmp(by, node) &&
				    rp->version > sl->version)
					move = true;
			}
			if (!move)
				continue;
			if (ensure(&pl->rejected, &pl->rejected_cap, nrs + 1,
				   sizeof(*pl->rejected)))
				return ERR_NOMEM;
			pl->rejected[nrs++] = sl->slot;
			ps->nrejected++;
		}
	}
	/* Second pass: the nodes each service avoids. */
	for (size_t k = 0; k < pl->nsvcs && pl->nrj; k++) {
		const struct state_service *sv = pl->ssv[k];
		uint64_t cur = spec_task_digest(&sv->spec);

		if (sv->spec.mode != SPEC_REPLICATED)
			continue;
		for (size_t i = 0; i < pl->nrj; i++) {
			const struct reject *r = &pl->rj[i];
			uint32_t at;

			if (now_ms >= r->until_ms || r->digest != cur ||
			    strcmp(r->service, sv->name))
				continue;
			at = node_find(pl, r->node);
			if (at == PLACE_NONE)
				continue;
			if (ensure(&pl->avoid, &pl->avoid_cap, nav + 1,
				   sizeof(*pl->avoid)))
				return ERR_NOMEM;
			pl->avoid[nav++] = at;
			pl->svcs[k].navoid++;
			pl->stats.held++;
		}
	}
	/* The arrays are final: hand out each service's part. */
	nav = nrs = 0;
	for (size_t k = 0; k < pl->nsvcs; k++) {
		struct place_service *ps = &pl->svcs[k];

		if (ps->navoid)
			ps->avoid = pl->avoid + nav;
		if (ps->nrejected)
			ps->rejected = pl->rejected + nrs;
		nav += ps->navoid;
		nrs += ps->nrejected;
	}
	return 0;
}

/* ---- rollouts ---- */

static struct rollout *
rollout_get(struct plan *pl, const char *service)
{
	struct rollout *r;

	for (size_t i = 0; i < pl->nro; i++)
		if (!strcmp(pl->ro[i].service, service))
			return &pl->ro[i];
	if (ensure(&pl->ro, &pl->ro_cap, pl->nro + 1, sizeof(*pl->ro)))
		return NULL;
	r = &pl->ro[pl->nro++];
	memset(r, 0, sizeof(*r));
	copy_name(r->service, service, SPEC_NAME_MAX);
	return r;
}

/* Roll the slots of one service forward; returns decisions written or
 * ERR_STALE. *budget is the round's remaining decisions. */
static int
rollout(struct plan *pl, struct state *st, uint64_t now_ms, uint64_t term,
	const struct state_service *sv, uint32_t *budget)
{
	uint64_t cur = spec_task_digest(&sv->spec);
	uint32_t pending = 0, busy = 0, par = sv->spec.update.parallelism;
	uint32_t room, made = 0;
	struct rollout *ro;
	const char *name = sv->name;

	for (uint32_t j = 0; j < sv->nslots; j++) {
		const struct state_slot *sl = &sv->slots[j];
		const char *node = state_slot_node(sv, sl);

		if (!node || (sv->spec.mode == SPEC_REPLICATED &&
			      sl->slot >= sv->spec.replicas))
			continue;
		if (sl->gen != cur)
			pending++;
		else if (!running_on(sv, sl, node, cur))
			busy++;
	}
	if (!pending)
		return 0;
	ro = rollout_get(pl, name);
	if (!ro)
		return ERR_NOMEM;
	ro->seen = true;
	if (ro->digest != cur) {
		ro->digest = cur;
		ro->done_ms = 0;
		ro->batch_open = false;
	}
	if (busy) {
		if (!ro->batch_open)
			ro->batch_open = true;
		return 0;
	}
	if (ro->batch_open) {
		ro->batch_open = false;
		ro->done_ms = now_ms;
	}
	if (ro->done_ms && now_ms < ro->done_ms + sv->spec.update.delay_ms) {
		if (ro->done_ms + sv->spec.update.delay_ms < pl->deadline)
			pl->deadline = ro->done_ms + sv->spec.update.delay_ms;
		return 0;
	}
	room = par ? par : pending;
	for (uint32_t j = 0; j < sv->nslots && room && *budget; j++) {
		const struct state_slot *sl = &sv->slots[j];
		const char *node = state_slot_node(sv, sl);
		char to[SWIM_NAME_MAX + 1];
		int rc;

		if (!node || sl->gen == cur ||
		    (sv->spec.mode == SPEC_REPLICATED &&
		     sl->slot >= sv->spec.replicas))
			continue;
		/* The write may free the old record's name: copy it. */
		copy_name(to, node, SWIM_NAME_MAX);
		rc = state_slot_set(st, now_ms, term, name, sl->slot, to, cur);
		if (rc == ERR_STALE)
			return rc;
		if (rc)
			continue;
		room--;
		(*budget)--;
		made++;
		pl->stats.rolled++;
		ro->batch_open = true;
		/* state_slot_set() may have moved sv->slots: j is an index,
		 * sl is re-read next turn. */
	}
	return (int)made;
}

/* ---- the round ---- */

int
plan_run(struct plan *pl, struct state *st, uint64_t now_ms, uint64_t term,
	 const struct plan_member *members, size_t nmembers)
{
	size_t nout = 0;
	uint32_t budget, unplaced = 0, inflight;
	int rc, made = 0;

	pl->stats.rounds++;
	pl->deadline = UINT64_MAX;
	rc = build(pl, st, members, nmembers);
	if (rc)
		return rc;
	moves_update(pl, st, now_ms);
	rc = rejections(pl, now_ms);
	if (rc)
		return rc;
	inflight = inflight_count(pl, st, now_ms);
	if (ensure(&pl->out, &pl->out_cap, pl->cfg.max_changes,
		   sizeof(*pl->out)))
		return ERR_NOMEM;
	rc = place_run(&pl->place, pl->nodes, pl->nnodes, pl->svcs, pl->nsvcs,
		       inflight, pl->out, pl->cfg.max_changes, &nout);
	if (rc)
		return rc;
	for (size_t i = 0; i < nout; i++) {
		const struct place_change *c = &pl->out[i];
		const struct state_service *sv = pl->ssv[c->service];
		const char *to =
			c->to == PLACE_NONE ? NULL : pl->nodes[c->to].name;

		rc = state_slot_set(st, now_ms, term, sv->name, c->slot, to, 0);
		if (rc == ERR_STALE)
			return rc;
		if (rc)
			continue;
		made++;
		if (c->why == PLACE_WHY_REBALANCE && to)
			move_add(pl, sv->name, c->slot, to, now_ms);
	}
	for (size_t i = 0; i < pl->nsvcs; i++)
		unplaced += pl->svcs[i].unplaced;

	/* Rollouts, within what the round may still write. */
	budget = pl->cfg.max_changes > nout
			 ? pl->cfg.max_changes - (uint32_t)nout
			 : 0;
	for (size_t i = 0; i < pl->nro; i++)
		pl->ro[i].seen = false;
	for (size_t i = 0; i < state_service_count(st) && budget; i++) {
		const struct state_service *sv = state_service_at(st, i);

		if (!state_service_live(sv))
			continue;
		rc = rollout(pl, st, now_ms, term, sv, &budget);
		if (rc < 0)
			return rc;
		made += rc;
	}
	/* Forget rollouts that finished or whose service went. */
	for (size_t i = 0; i < pl->nro;)
		if (!pl->ro[i].seen)
			pl->ro[i] = pl->ro[--pl->nro];
		else
			i++;
	pl->stats.decisions += (uint64_t)made;
	pl->stats.inflight = inflight_count(pl, st, now_ms);
	pl->stats.unplaced = unplaced;
	return made;
}

/* ---- a node's share ---- */

size_t
plan_tasks_of(const struct state *st, const char *self, struct plan_task *out,
	      size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < state_service_count(st); i++) {
		const struct state_service *sv = state_service_at(st, i);
		uint64_t digest;

		if (!state_service_live(sv))
			continue;
		digest = spec_task_digest(&sv->spec);
		for (uint32_t j = 0; j < sv->nslots; j++) {
			const struct state_slot *sl = &sv->slots[j];
			const char *node = state_slot_node(sv, sl);

			if (!node || strcmp(node, self) ||
			    (sv->spec.mode == SPEC_REPLICATED &&
			     sl->slot >= sv->spec.replicas))
				continue;
			if (n < cap) {
				out[n].service = sv;
				out[n].slot = sl->slot;
				out[n].gen = sl->gen;
				out[n].task_digest = digest;
			}
			n++;
		}
	}
	return n;
}
