/* SPDX-License-Identifier: MIT */
/*
 * sched/node_sched.c — the scheduling half of a node: election, the
 * replicated state, the manager's rounds, and this node's share of tasks.
 *
 * How the pieces meet. The swim (gossip/) carries two things for us:
 * application broadcasts, which deliver state deltas (sched/state.h), and
 * the push-pull blob, which carries the whole state. Inside swim callbacks
 * we only merge and remember what changed (the change mask); everything
 * that reacts to a change runs in nsched_run(), which node.c calls after
 * every verb, once the swim call has returned:
 *
 *   1. membership changed      -> elect_update()
 *   2. a better claim arrived  -> elect_recv_claim()
 *   3. a newer term was seen   -> elect_observe_term()
 *   4. our own claim           -> state_set_claim() (a delta)
 *   5. election events         -> NODE_EV_MANAGER (and plan_reset() when
 *                                 we stop acting)
 *   6. acting manager          -> plan_run() when something changed, at
 *                                 plan_next_deadline(), and at least every
 *                                 round_ms
 *   7. slots or services changed, or we decided -> diff our share
 *      (plan_tasks_of(self)) against what the runtime runs: TASK_START,
 *      TASK_STOP, TASK_RESTART
 *   8. pending deltas          -> swim_broadcast()
 *
 * Eligibility. A member may be manager unless it carries a `role` tag
 * whose value is not "manager" (so by default every node is eligible, and
 * `--tag role=worker` opts a node out, as Docker's workers). The elect
 * view counts voters in O(1) from the swim's per-state counts, corrected
 * by the (usually empty) set of ineligible members, which is kept current
 * from member-join / member-update / member-reap events by decoding only
 * the member concerned.
 *
 * The voting set does not shrink on its own. A quorum is a majority of
 * the voters, and a failed voter is still one: otherwise a long enough
 * partition would hand the minority a majority of what it still sees.
 * The membership forgets failed members after reap_dead (24 h), so a
 * failed eligible member is also written into the replicated state as a
 * voter record when it fails (and when it is reaped, in case we missed
 * the failure); it stops being a voter only when it leaves or is
 * force-left (a record that says so wins over the failure at the same
 * incarnation) or comes back (a later incarnation: it is a member again).
 * Voter records whose member is not in the table are the absent voters;
 * view_counts() adds them. Push-pull carries the records, so a node that
 * restarts or joins later learns of voters it never saw fail. Every node
 * writes what it sees for itself without a delta; a force-leave, which
 * one node does for all, is gossiped.
 *
 * Bounds: the ineligible set holds at most one entry per member; the task
 * list at most one entry per slot we are given; round scratch grows to the
 * member count; voter records are bounded by the state (STATE_VOTERS_MAX:
 * beyond that a failed voter is not recorded and counts only while the
 * membership lists it, as before).
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/fmt.h"
#include "core/num.h"
#include "gossip/wire.h"
#include "sched/node_int.h"

#define HOUSEKEEP_MS 10000
#define ROUND_DEFAULT_MS 1000

/* ---- eligibility ---- */

struct role_probe {
	bool has_role;
	bool manager;
};

static void
role_tag(void *ctx, const char *k, uint32_t kn, const char *v, uint32_t vn)
{
	struct role_probe *rp = ctx;

	if (kn == 4 && memcmp(k, "role", 4) == 0) {
		rp->has_role = true;
		rp->manager = vn == 7 && memcmp(v, "manager", 7) == 0;
	}
}

static bool
meta_eligible(const uint8_t *meta, size_t len)
{
	struct role_probe rp = { false, false };

	node_walk_tags(meta, len, role_tag, &rp);
	return !rp.has_role || rp.manager;
}

/* Where this interned name (from the node's pool) is on the ineligible
 * list, or -1. */
static long
inelig_pos(const struct node *n, const struct istr *key)
{
	for (size_t i = 0; key && i < n->ninelig; i++)
		if (n->inelig[i] == key)
			return (long)i;
	return -1;
}

static long
inelig_index(const struct node *n, const char *name)
{
	return inelig_pos(n, intern_find(n->env.pool, name, strlen(name)));
}

static bool
inelig_has(const struct node *n, const struct istr *key)
{
	return inelig_pos(n, key) >= 0;
}

static void
inelig_set(struct node *n, const char *name, bool ineligible)
{
	long i = inelig_index(n, name);

	if (ineligible && i < 0) {
		if (n->ninelig == n->inelig_cap) {
			size_t cap = n->inelig_cap ? n->inelig_cap * 2 : 4;
			struct istr **p =
				realloc(n->inelig, cap * sizeof(*p));

			if (!p)
				return;
			n->inelig = p;
			n->inelig_cap = cap;
		}
		n->inelig[n->ninelig] =
			intern_get(n->env.pool, name, strlen(name));
		if (n->inelig[n->ninelig])
			n->ninelig++;
	} else if (!ineligible && i >= 0) {
		intern_put(n->env.pool, n->inelig[i]);
		n->inelig[i] = n->inelig[--n->ninelig];
	}
}

/* ---- the election's view of the membership ---- */

static void
view_counts(void *ctx, uint32_t *voters, uint32_t *seen)
{
	const struct node *n = ctx;
	const struct swim *sw = n->sw;
	uint32_t alive = (uint32_t)swim_count_state(sw, SWIM_ALIVE);
	uint32_t susp = (uint32_t)swim_count_state(sw, SWIM_SUSPECT);
	uint32_t dead = (uint32_t)swim_count_state(sw, SWIM_DEAD);

	/* A quorum is of alive voters only (see sched/elect.c). */
	*voters = alive + susp + dead + n->nabsent;
	*seen = alive;
	for (size_t i = 0; i < n->ninelig; i++) {
		struct swim_member_info mi;

		if (!swim_member_find(sw, n->inelig[i]->data, &mi))
			continue;
		if (mi.state == SWIM_LEFT)
			continue;
		(*voters)--;
		if (mi.state == SWIM_ALIVE)
			(*seen)--;
	}
}

static bool
view_find(void *ctx, const char *name, struct elect_member *out)
{
	const struct node *n = ctx;
	struct swim_member_info mi;

	if (!swim_member_find(n->sw, name, &mi))
		return false;
	out->name = mi.name;
	out->state = mi.state;
	out->eligible = inelig_index(n, name) < 0;
	return true;
}

static bool
view_at(void *ctx, size_t i, struct elect_member *out)
{
	struct node *n = ctx;
	struct swim_member_info mi;

	/* elect walks i = 0, 1, 2 ...: continue from where we were. */
	if (i == 0 || i != n->view_i + 1) {
		n->view_cur = 0;
		for (size_t k = 0; k < i; k++)
			if (!swim_member_next(n->sw, &n->view_cur, &mi))
				return false;
	}
	n->view_i = i;
	if (!swim_member_next(n->sw, &n->view_cur, &mi))
		return false;
	out->name = mi.name;
	out->state = mi.state;
	out->eligible = n->ninelig == 0 || inelig_index(n, mi.name) < 0;
	return true;
}

/* ---- voters the membership forgot ---- */

static bool
voter_absent(const struct node *n, const struct state_voter *sv)
{
	enum swim_state st;

	return sv->voter && !swim_member_state(n->sw, sv->node, &st);
}

static void
absent_update(struct node *n)
{
	uint32_t k = 0;

	for (size_t i = 0; i < state_voter_count(n->st); i++)
		k += voter_absent(n, state_voter_at(n->st, i));
	n->nabsent = k;
}

static bool
view_absent(void *ctx, size_t i, const char **name)
{
	const struct node *n = ctx;

	for (size_t k = 0; k < state_voter_count(n->st); k++) {
		const struct state_voter *sv = state_voter_at(n->st, k);

		if (voter_absent(n, sv) && i-- == 0) {
			*name = istr_str(sv->node);
			return true;
		}
	}
	return false;
}

/* A membership event for the voter records (see the essay); before the
 * ineligible set forgets a reaped member. */
static void
voters_on_member(struct node *n, const struct swim_event *e)
{
	bool voter;

	switch (e->kind) {
	case SWIM_EV_FAILED:
		voter = true;
		break;
	case SWIM_EV_LEFT:
		voter = false;
		break;
	case SWIM_EV_REAP:
		voter = e->state == SWIM_DEAD;
		break;
	default:
		return;
	}
	if (!strcmp(e->name, swim_name(n->sw)))
		return;
	if (voter)
		voter = inelig_index(n, e->name) < 0;
	/* Only failed voters need a record; a leave only ends one. */
	if (!voter && !state_voter_find(n->st, e->name))
		return;
	if (state_voter_set(n->st, e->time_ms, e->name, e->incarnation, voter,
			    false) > 0)
		n->pending |= STATE_CH_VOTER;
}

int
nsched_force_leave(struct node *n, uint64_t now, const char *name, int rc)
{
	struct swim_member_info mi;
	const struct state_voter *sv;

	if (rc == 0 && swim_member_find(n->sw, name, &mi)) {
		/* Gossiped, and kept even without a voter record: a node on
		 * the far side of a partition may still record it failed. */
		if (state_voter_set(n->st, now, name, mi.incarnation, false,
				    true) > 0)
			n->pending |= STATE_CH_VOTER;
		return 0;
	}
	sv = rc == ERR_NOENT ? state_voter_find(n->st, name) : NULL;
	if (!sv || !sv->voter)
		return rc;
	if (state_voter_set(n->st, now, name, sv->inc, false, true) > 0)
		n->pending |= STATE_CH_VOTER;
	return 0;
}

static struct elect_view
view_of(struct node *n)
{
	struct elect_view v = { n, view_counts, view_find, view_at,
				view_absent };

	return v;
}

static void fol_clear(struct node *n);
static void fol_expire(struct node *n, const char *name);

/* ---- life cycle ---- */

int
nsched_init(struct node *n, const struct node_config *cfg)
{
	const struct profile *p = &cfg->swim.prof;
	struct state_config sc;
	uint64_t delay;
	int err = 0;

	memset(&sc, 0, sizeof(sc));
	sc.self = cfg->swim.name;
	sc.tombstone_ttl_ms = cfg->tombstone_ttl_ms;
	/* A delta must fit one application broadcast in one datagram. */
	sc.delta_max = p->udp_payload_max - CRYPTO_OVERHEAD - WIRE_HDR_MAX -
		       32;
	n->st = state_new(&sc, n->env.pool, &err);
	if (!n->st)
		return err ? err : ERR_NOMEM;
	{
		/* Zero values in the node's config mean the defaults. */
		struct plan_config pc = cfg->plan;

		if (pc.place.vnodes == 0)
			place_config_default(&pc.place);
		n->pl = plan_new(&pc, &err);
	}
	if (!n->pl)
		return err ? err : ERR_NOMEM;
	delay = cfg->claim_delay_ms ? cfg->claim_delay_ms
				    : 2 * (uint64_t)p->probe_interval_ms;
	n->self_eligible = true;
	for (unsigned i = 0; i < cfg->ntags; i++)
		if (strcmp(cfg->tags[i].key, "role") == 0)
			n->self_eligible =
				strcmp(cfg->tags[i].value, "manager") == 0;
	elect_init(&n->el, cfg->swim.name, n->self_eligible, delay);
	n->round_ms = cfg->manager_round_ms ? cfg->manager_round_ms
					    : ROUND_DEFAULT_MS;
	n->next_housekeep_ms = cfg->swim.start_ms + HOUSEKEEP_MS;
	n->view_dirty = true;
	buf_init(&n->scratch, (size_t)p->stream_max);
	if (!n->self_eligible)
		inelig_set(n, cfg->swim.name, true);
	return 0;
}

void
nsched_destroy(struct node *n)
{
	for (size_t i = 0; i < n->ninelig; i++)
		intern_put(n->env.pool, n->inelig[i]);
	free(n->inelig);
	fol_clear(n);
	state_delete(n->st);
	plan_delete(n->pl);
	buf_release(&n->scratch);
	free(n->tasks);
	free(n->pm);
	free(n->ptags);
	free(n->pt);
}

/* ---- inputs ---- */

void
nsched_on_member(struct node *n, const struct swim_event *e)
{
	struct swim_member_info mi;

	voters_on_member(n, e);
	switch (e->kind) {
	case SWIM_EV_JOIN:
	case SWIM_EV_UPDATE:
		if (swim_member_find(n->sw, e->name, &mi) && !mi.is_self) {
			bool ineligible = !meta_eligible(mi.meta, mi.meta_len);

			inelig_set(n, e->name, ineligible);
			if (ineligible)
				fol_expire(n, e->name);
		}
		break;
	case SWIM_EV_LEFT:
		fol_expire(n, e->name);
		break;
	case SWIM_EV_REAP:
		inelig_set(n, e->name, false);
		state_forget_node(n->st, e->name);
		fol_expire(n, e->name);
		break;
	default:
		break;
	}
	n->view_dirty = true;
}

void
nsched_on_delta(struct node *n, uint64_t now, const uint8_t *p, size_t len)
{
	int mask = state_merge_delta(n->st, now, p, len);

	if (mask > 0)
		n->pending |= mask;
}

int
nsched_encode_full(struct node *n, struct buf *b)
{
	return state_encode_full(n->st, b);
}

void
nsched_merge_full(struct node *n, uint64_t now, const uint8_t *p, size_t len)
{
	int mask = state_merge_full(n->st, now, p, len);

	if (mask > 0)
		n->pending |= mask;
}

void
nsched_self_changed(struct node *n)
{
	bool el = !swim_is_stopped(n->sw);

	for (unsigned i = 0; i < n->ntags; i++)
		if (strcmp(n->tags[i].key, "role") == 0)
			el = el && strcmp(n->tags[i].value, "manager") == 0;
	{
		struct swim_member_info mi;

		if (swim_member_find(n->sw, swim_name(n->sw), &mi) &&
		    mi.state == SWIM_LEFT)
			el = false;
	}
	n->self_eligible = el;
	elect_set_eligible(&n->el, el);
	inelig_set(n, swim_name(n->sw), !el);
	n->view_dirty = true;
}

/* ---- the manager's round ---- */

struct tag_arena {
	struct node *n;
	size_t first; /* index of the member's first tag in ptags */
	size_t count;
	bool oom;
};

/* Tags are written into the scratch arena as "key\0value\0"; the tag
 * array records offsets (in the pointers) until the arena stops growing. */
static void
arena_tag(void *ctx, const char *k, uint32_t kn, const char *v, uint32_t vn)
{
	struct tag_arena *ta = ctx;
	struct node *n = ta->n;
	size_t off = n->scratch.len;

	if (ta->oom)
		return;
	if (n->ptags_cap <= ta->first + ta->count) {
		size_t cap = n->ptags_cap ? n->ptags_cap * 2 : 64;
		struct spec_tag *t = realloc(n->ptags, cap * sizeof(*t));

		if (!t) {
			ta->oom = true;
			return;
		}
		n->ptags = t;
		n->ptags_cap = cap;
	}
	if (buf_append(&n->scratch, k, kn) ||
	    buf_append_byte(&n->scratch, 0) ||
	    buf_append(&n->scratch, v, vn) ||
	    buf_append_byte(&n->scratch, 0)) {
		ta->oom = true;
		return;
	}
	n->ptags[ta->first + ta->count].key = (const char *)(uintptr_t)off;
	n->ptags[ta->first + ta->count].value =
		(const char *)(uintptr_t)(off + kn + 1);
	ta->count++;
}

/* A member failed less than this long ago is still "suspect" to the
 * placement (its slots stay put): in a partition the rest of the far side
 * is suspected within that time, the quorum goes, and the manager steps
 * down before it moves anything. A real crash pays it once. */
static uint64_t
down_grace_ms(const struct node *n)
{
	return swim_profile(n->sw)->probe_interval_ms;
}

static int
manager_round(struct node *n, uint64_t now)
{
	size_t cur = 0, nm = 0, ntags = 0;
	size_t members = swim_member_count(n->sw);
	struct swim_member_info mi;
	uint64_t grace = down_grace_ms(n);
	int rc;

	if (n->pm_cap < members) {
		struct plan_member *pm = realloc(n->pm, members * sizeof(*pm));

		if (!pm)
			return ERR_NOMEM;
		n->pm = pm;
		n->pm_cap = members;
	}
	buf_reset(&n->scratch);
	while (nm < members && swim_member_next(n->sw, &cur, &mi)) {
		struct tag_arena ta = { n, ntags, 0, false };

		node_walk_tags(mi.meta, mi.meta_len, arena_tag, &ta);
		if (ta.oom)
			return ERR_NOMEM;
		n->pm[nm].name = mi.name;
		n->pm[nm].state = mi.state;
		if (mi.state == SWIM_DEAD && now < mi.state_change_ms + grace) {
			n->pm[nm].state = SWIM_SUSPECT;
			/* Come back when the grace is over. */
			if (mi.state_change_ms + grace < n->next_round_ms)
				n->next_round_ms = mi.state_change_ms + grace;
		}
		n->pm[nm].tags = (const struct spec_tag *)(uintptr_t)ntags;
		n->pm[nm].ntags = ta.count;
		ntags += ta.count;
		nm++;
	}
	/* The arena is complete: turn offsets into pointers. */
	for (size_t i = 0; i < ntags; i++) {
		n->ptags[i].key = (const char *)n->scratch.data +
				  (uintptr_t)n->ptags[i].key;
		n->ptags[i].value = (const char *)n->scratch.data +
				    (uintptr_t)n->ptags[i].value;
	}
	for (size_t i = 0; i < nm; i++)
		n->pm[i].tags = n->pm[i].ntags
					? n->ptags + (uintptr_t)n->pm[i].tags
					: NULL;
	rc = plan_run(n->pl, n->st, now, elect_term(&n->el), n->pm, nm);
	if (rc == ERR_STALE) {
		struct elect_view v = view_of(n);

		elect_observe_term(&n->el, &v, now, state_max_term(n->st));
	}
	return rc;
}

/* ---- our share of tasks ---- */

static int
task_cmp(const char *sa, uint32_t la, const char *sb, uint32_t lb)
{
	int c = strcmp(sa, sb);

	if (c)
		return c;
	return la < lb ? -1 : la > lb;
}

static void
task_event(struct node *n, uint64_t now, enum node_event_kind kind,
	   const char *service, uint32_t slot, uint64_t digest,
	   const struct spec *spec)
{
	struct node_event e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.time_ms = now;
	strncpy(e.task.service, service, SPEC_NAME_MAX);
	e.task.slot = slot;
	e.task.task_digest = digest;
	e.task.spec = spec;
	node_push_event(n, &e);
}

static void
diff_tasks(struct node *n, uint64_t now)
{
	size_t want = plan_tasks_of(n->st, swim_name(n->sw), NULL, 0);
	struct node_assigned *next;
	size_t i = 0, j = 0, k = 0;

	if (swim_is_stopped(n->sw))
		want = 0;
	if (want > n->pt_cap) {
		struct plan_task *pt = realloc(n->pt, want * sizeof(*pt));

		if (!pt)
			return;
		n->pt = pt;
		n->pt_cap = want;
	}
	if (want)
		plan_tasks_of(n->st, swim_name(n->sw), n->pt, want);
	next = malloc((want ? want : 1) * sizeof(*next));
	if (!next)
		return;
	/* Both lists are in (service name, slot) order: merge them. */
	while (i < n->ntasks || j < want) {
		const struct node_assigned *a = i < n->ntasks ? &n->tasks[i]
							     : NULL;
		const struct plan_task *t = j < want ? &n->pt[j] : NULL;
		int c = !a ? 1
		      : !t ? -1
			   : task_cmp(a->service, a->slot, t->service->name,
				      t->slot);

		if (c < 0) {
			const struct state_service *sv =
				state_service_find(n->st, a->service);

			task_event(n, now, NODE_EV_TASK_STOP, a->service,
				   a->slot, a->digest,
				   state_service_live(sv) ? &sv->spec : NULL);
			i++;
			continue;
		}
		memset(&next[k], 0, sizeof(next[k]));
		next[k].slot = t->slot;
		memcpy(next[k].service, t->service->name,
		       sizeof(next[k].service));
		next[k].inc = t->service->inc;
		if (c > 0) {
			next[k].digest = t->task_digest;
			task_event(n, now, NODE_EV_TASK_START,
				   t->service->name, t->slot, t->task_digest,
				   &t->service->spec);
			j++;
			k++;
			continue;
		}
		/* Ours already. A re-created service (new incarnation) or a
		 * slot rolled to the current digest we do not run yet is a
		 * restart with the current spec. */
		next[k] = *a;
		next[k].inc = t->service->inc;
		if (a->inc != t->service->inc ||
		    (t->gen == t->task_digest && a->digest != t->task_digest)) {
			next[k].digest = t->task_digest;
			task_event(n, now, NODE_EV_TASK_RESTART,
				   t->service->name, t->slot, t->task_digest,
				   &t->service->spec);
		}
		i++;
		j++;
		k++;
	}
	free(n->tasks);
	n->tasks = next;
	n->ntasks = k;
	n->tasks_cap = want ? want : 1;
}

/* ---- the manager lease ----
 *
 * A manager's view of who is alive lags the network: right after a
 * partition it still sees the far side alive, and only as each far member
 * is suspected does its count of alive voters fall. To act, a manager
 * needs positive evidence instead: every voter that sees it in office
 * says so ("follow", a direct message) every lease/3, and at once when it
 * starts following; the manager acts only while it has heard from a
 * majority of voters within the lease. The lease is the shortest
 * suspicion timeout, so a manager cut off in a minority loses it before a
 * single far member can have been declared dead, let alone moved. A node
 * that elects itself in a minority never gathers a majority at all. */

#define LEASE_RECHECK_MS 250

static uint64_t
lease_ms(const struct node *n)
{
	const struct profile *p = swim_profile(n->sw);
	size_t live = swim_count_state(n->sw, SWIM_ALIVE) +
		      swim_count_state(n->sw, SWIM_SUSPECT);
	double scale = num_log10_u64(live > 1 ? live : 1);

	if (scale < 1.0)
		scale = 1.0;
	return (uint64_t)((double)p->suspicion_mult * scale *
			  (double)p->probe_interval_ms);
}

static void
fol_clear(struct node *n)
{
	for (size_t i = 0; i < n->fol_cap; i++)
		intern_put(n->env.pool, n->fol[i].name);
	free(n->fol);
	n->fol = NULL;
	n->fol_cap = 0;
	n->fol_n = 0;
}

static void
fol_put_raw(struct node_follow *t, size_t cap, struct istr *name,
	    uint64_t last)
{
	size_t mask = cap - 1, i = (size_t)name->hash & mask;

	while (t[i].name && t[i].name != name)
		i = (i + 1) & mask;
	t[i].name = name;
	t[i].last_ms = last;
}

/* The follower entry of key, or NULL. */
static struct node_follow *
fol_find(struct node *n, const struct istr *key)
{
	size_t mask, i;

	if (!n->fol_cap)
		return NULL;
	mask = n->fol_cap - 1;
	for (i = (size_t)key->hash & mask; n->fol[i].name; i = (i + 1) & mask)
		if (n->fol[i].name == key)
			return &n->fol[i];
	return NULL;
}

/* A member that left, was forgotten or is no longer eligible stops
 * counting toward the lease at once (its entry stays, expired: the table
 * has no deletion, and a member that comes back follows again). */
static void
fol_expire(struct node *n, const char *name)
{
	struct istr *key = intern_find(n->env.pool, name, strlen(name));
	struct node_follow *f = key ? fol_find(n, key) : NULL;

	if (f) {
		f->last_ms = 0;
		n->lease_checked_ms = 0; /* the lease may be gone: look again */
	}
}

static void
fol_note(struct node *n, struct istr *key, uint64_t now)
{
	struct node_follow *f = fol_find(n, key);

	if (f) {
		f->last_ms = now;
		return;
	}
	if ((n->fol_n + 1) * 2 > n->fol_cap) {
		size_t cap = n->fol_cap ? n->fol_cap * 2 : 16;
		struct node_follow *t = calloc(cap, sizeof(*t));

		if (!t)
			return;
		for (size_t k = 0; k < n->fol_cap; k++)
			if (n->fol[k].name)
				fol_put_raw(t, cap, n->fol[k].name,
					    n->fol[k].last_ms);
		free(n->fol);
		n->fol = t;
		n->fol_cap = cap;
	}
	fol_put_raw(n->fol, n->fol_cap, intern_ref(key), now);
	n->fol_n++;
}

void
nsched_on_follow(struct node *n, uint64_t now, const char *from,
		 uint64_t term)
{
	struct istr *key = intern_find(n->env.pool, from, strlen(from));
	enum swim_state st;

	if (!elect_is_manager(&n->el) || term != elect_term(&n->el))
		return;
	/* Only voters count: a member we know, that has not left, and is
	 * eligible. Checked here, once per follow, so that counting the
	 * lease reads nothing but the follower table. */
	if (!key || !swim_member_state(n->sw, key, &st) || st == SWIM_LEFT ||
	    inelig_has(n, key))
		return;
	if (n->fol_term != term) {
		fol_clear(n);
		n->fol_term = term;
	}
	fol_note(n, key, now);
	/* A follow can only give a lease, never take one away: look again
	 * at once only while we lack it. Counting on every follow would cost
	 * the manager O(voters) per message, O(voters^2) per lease/3. */
	if (!n->lease_ok)
		n->lease_checked_ms = 0;
}

/* Has a majority of voters (ourselves included) followed us within the
 * lease? Cached for LEASE_RECHECK_MS. */
static bool
lease_valid(struct node *n, uint64_t now)
{
	uint64_t lease = lease_ms(n);
	uint32_t voters, seen, heard = 1;

	if (n->lease_checked_ms && now < n->lease_checked_ms + LEASE_RECHECK_MS)
		return n->lease_ok;
	view_counts(n, &voters, &seen);
	if (n->fol_term == elect_term(&n->el)) {
		/* Who may count was settled when each follow came in and
		 * when members left or changed (fol_expire): a sequential
		 * pass over the table, no membership lookups. */
		for (size_t i = 0; i < n->fol_cap; i++) {
			const struct node_follow *f = &n->fol[i];

			if (f->name && f->last_ms && now <= f->last_ms + lease)
				heard++;
		}
	}
	n->lease_heard = heard;
	n->lease_ok = voters > 0 && 2 * (uint64_t)heard > voters;
	n->lease_checked_ms = now ? now : 1;
	return n->lease_ok;
}

/* Follower side: tell the manager in office that we follow it. */
static void
follow(struct node *n, uint64_t now)
{
	const char *m = elect_manager(&n->el);
	uint64_t term = elect_term(&n->el);
	uint8_t msg[32];
	struct buf b;
	struct codec_writer w;

	if (!m || !n->self_eligible || !strcmp(m, swim_name(n->sw))) {
		n->followed[0] = '\0';
		return;
	}
	if (!strcmp(m, n->followed) && term == n->followed_term &&
	    now < n->next_follow_ms)
		return;
	buf_init(&b, sizeof(msg));
	codec_writer_init(&w, &b);
	codec_write_map(&w, 2);
	codec_write_uint(&w, 0);
	codec_write_uint(&w, 3); /* NODE_MSG_FOLLOW (node.c) */
	codec_write_uint(&w, 1);
	codec_write_uint(&w, term);
	if (codec_writer_error(&w) == 0)
		swim_send_app(n->sw, now, m, b.data, b.len);
	buf_release(&b);
	strncpy(n->followed, m, SWIM_NAME_MAX);
	n->followed[SWIM_NAME_MAX] = '\0';
	n->followed_term = term;
	n->next_follow_ms = now + lease_ms(n) / 3;
}

/* ---- keeping our reports present ---- */

#define REFRESH_MIN_MS 2000

static struct node_assigned *
assigned_find(struct node *n, const char *service, uint32_t slot)
{
	for (size_t i = 0; i < n->ntasks; i++)
		if (n->tasks[i].slot == slot &&
		    strcmp(n->tasks[i].service, service) == 0)
			return &n->tasks[i];
	return NULL;
}

/* A slot keeps a few reports, the newest; the report of the node that
 * runs it can be pushed out by newer ones from nodes that ran it before
 * (sched/state.c). We report again, at most every REFRESH_MIN_MS: the new
 * report is the newest, and the nodes that no longer run the slot never
 * report it again, so this settles. */
static void
refresh_reports(struct node *n, uint64_t now)
{
	const char *self = swim_name(n->sw);

	for (size_t i = 0; i < n->ntasks; i++) {
		struct node_assigned *a = &n->tasks[i];
		const struct state_service *sv;
		const struct state_slot *sl;
		struct state_task t;
		bool present = false;

		if (!a->reported || now < a->refresh_after_ms)
			continue;
		sv = state_service_find(n->st, a->service);
		if (!state_service_live(sv))
			continue;
		sl = state_slot_find(sv, a->slot);
		for (unsigned k = 0; sl && k < STATE_REPORTS_PER_SLOT; k++) {
			const struct state_report *r =
				state_slot_report(sv, sl, k);

			if (r && strcmp(istr_str(r->node), self) == 0)
				present = true;
		}
		if (present)
			continue;
		memset(&t, 0, sizeof(t));
		t.service = a->service;
		t.slot = a->slot;
		t.state = a->state;
		t.restarts = a->restarts;
		t.exit_code = a->exit_code;
		t.gen = a->gen;
		t.since_ms = a->since_ms;
		t.msg = a->msg[0] ? a->msg : NULL;
		a->refresh_after_ms = now + REFRESH_MIN_MS;
		if (state_task_report(n->st, now, &t) == 0)
			n->reports_refreshed++;
	}
}

/* ---- after every verb ---- */

void
nsched_run(struct node *n, uint64_t now)
{
	struct elect_view v = view_of(n);
	struct elect_event ee;
	uint64_t term;
	bool decided = false, was_leading = elect_is_manager(&n->el), acting;
	bool view_changed = n->view_dirty;
	int mask = n->pending;

	n->pending = 0;
	if (mask & STATE_CH_VOTER)
		n->view_dirty = true; /* the voting set changed */
	{
		/* A node joining a cluster and still alone claims nothing:
		 * it would be its own quorum (see elect_set_hold()). */
		bool hold = swim_is_joining(n->sw) &&
			    swim_count_state(n->sw, SWIM_ALIVE) +
					    swim_count_state(n->sw,
							     SWIM_SUSPECT) <=
				    1;

		if (hold != n->el.hold) {
			elect_set_hold(&n->el, hold, now);
			n->view_dirty = true;
		}
	}
	if (n->view_dirty) {
		n->view_dirty = false;
		absent_update(n);
		elect_update(&n->el, &v, now);
	} else if (now >= elect_next_deadline(&n->el)) {
		elect_update(&n->el, &v, now);
	}
	if (mask & STATE_CH_CLAIM) {
		char name[SWIM_NAME_MAX + 1];

		term = state_claim(n->st, name);
		if (term)
			elect_recv_claim(&n->el, &v, now, term, name);
	}
	if (mask & STATE_CH_SLOT)
		elect_observe_term(&n->el, &v, now, state_max_term(n->st));
	while (elect_pop_claim(&n->el, &term))
		state_set_claim(n->st, term, swim_name(n->sw));
	if (was_leading && !elect_is_manager(&n->el)) {
		plan_reset(n->pl);
		fol_clear(n);
		n->fol_term = 0;
	}
	follow(n, now);
	/* Events say "leading" for a manager that acts: in office, with a
	 * quorum in its view and a lease from a majority of voters. */
	acting = elect_is_manager(&n->el) && !swim_is_stopped(n->sw) &&
		 lease_valid(n, now);
	while (elect_pop_event(&n->el, &ee)) {
		struct node_event e;

		memset(&e, 0, sizeof(e));
		e.kind = NODE_EV_MANAGER;
		e.time_ms = ee.time_ms;
		e.manager = ee;
		e.manager.leading = acting;
		n->acting = acting;
		node_push_event(n, &e);
	}
	if (acting != n->acting) {
		struct node_event e;
		const char *m = elect_manager(&n->el);

		memset(&e, 0, sizeof(e));
		e.kind = NODE_EV_MANAGER;
		e.time_ms = now;
		e.manager.time_ms = now;
		if (m)
			strncpy(e.manager.manager, m, ELECT_NAME_MAX);
		e.manager.term = elect_term(&n->el);
		e.manager.leading = acting;
		n->acting = acting;
		node_push_event(n, &e);
	}
	/* A round at once when anything it depends on changed (a member
	 * failed: its slots must move now, not at the next periodic round). */
	if (acting &&
	    (mask || view_changed || !was_leading ||
	     now >= n->next_round_ms || now >= plan_next_deadline(n->pl))) {
		int rc;

		n->next_round_ms = now + n->round_ms;
		rc = manager_round(n, now);
		decided = rc > 0;
	}
	if (decided || (mask & (STATE_CH_SLOT | STATE_CH_SERVICE)) ||
	    swim_is_stopped(n->sw))
		diff_tasks(n, now);
	if ((mask & (STATE_CH_TASK | STATE_CH_SLOT)) ||
	    now >= n->next_refresh_ms) {
		n->next_refresh_ms = now + REFRESH_MIN_MS;
		refresh_reports(n, now);
	}
	if (now >= n->next_housekeep_ms) {
		n->next_housekeep_ms = now + HOUSEKEEP_MS;
		state_tick(n->st, now);
	}
	if (swim_is_stopped(n->sw))
		return;
	while (state_pop_delta(n->st, &n->scratch))
		swim_broadcast(n->sw, n->scratch.data, n->scratch.len, 0, 0);
}

uint64_t
nsched_next_deadline(const struct node *n)
{
	uint64_t t = elect_next_deadline(&n->el);

	if (n->next_housekeep_ms < t)
		t = n->next_housekeep_ms;
	if (n->ntasks && n->next_refresh_ms < t)
		t = n->next_refresh_ms;
	if (n->followed[0] && n->next_follow_ms < t)
		t = n->next_follow_ms;
	if (elect_is_manager(&n->el)) {
		uint64_t p = plan_next_deadline(n->pl);

		if (n->next_round_ms < t)
			t = n->next_round_ms;
		if (p < t)
			t = p;
	}
	return t;
}

/* ---- public: services, tasks, manager ---- */

int
node_service_create(struct node *n, uint64_t now, const struct spec *s,
		    char *why, size_t why_cap)
{
	int rc = state_service_create(n->st, now, s, why, why_cap);

	if (rc == 0) {
		n->pending |= STATE_CH_SERVICE;
		nsched_run(n, now);
	}
	return rc;
}

int
node_service_update(struct node *n, uint64_t now, const struct spec *s,
		    char *why, size_t why_cap)
{
	int rc = state_service_update(n->st, now, s, why, why_cap);

	if (rc == 0) {
		n->pending |= STATE_CH_SERVICE;
		nsched_run(n, now);
	}
	return rc;
}

int
node_service_scale(struct node *n, uint64_t now, const char *name,
		   uint32_t replicas, char *why, size_t why_cap)
{
	int rc = state_service_scale(n->st, now, name, replicas, why, why_cap);

	if (rc == 0) {
		n->pending |= STATE_CH_SERVICE;
		nsched_run(n, now);
	}
	return rc;
}

int
node_service_remove(struct node *n, uint64_t now, const char *name)
{
	int rc = state_service_remove(n->st, now, name);

	if (rc == 0) {
		n->pending |= STATE_CH_SERVICE;
		nsched_run(n, now);
	}
	return rc;
}

int
node_set_availability(struct node *n, uint64_t now, const char *name,
		      enum state_avail a)
{
	struct swim_member_info mi;
	int rc;

	if (!swim_member_find(n->sw, name, &mi))
		return ERR_NOENT;
	rc = state_node_set_avail(n->st, now, name, a);
	if (rc == 0) {
		n->pending |= STATE_CH_AVAIL;
		nsched_run(n, now);
	}
	return rc;
}

int
node_task_report(struct node *n, uint64_t now, const struct state_task *t)
{
	int rc = state_task_report(n->st, now, t);
	struct node_assigned *a;

	if (rc == 0 && (a = assigned_find(n, t->service, t->slot))) {
		a->reported = true;
		a->state = t->state;
		a->restarts = t->restarts;
		a->exit_code = t->exit_code;
		a->gen = t->gen;
		a->since_ms = t->since_ms;
		a->msg[0] = '\0';
		if (t->msg)
			strncpy(a->msg, t->msg, STATE_TASK_MSG_MAX);
		a->msg[STATE_TASK_MSG_MAX] = '\0';
	}
	if (rc == 0) {
		n->pending |= STATE_CH_TASK;
		nsched_run(n, now);
	}
	return rc;
}

const struct state *
node_state(const struct node *n)
{
	return n->st;
}

void
node_manager_status(const struct node *n, struct node_manager_status *out)
{
	struct elect_view v = view_of((struct node *)n);
	const char *m = elect_manager(&n->el);

	memset(out, 0, sizeof(*out));
	if (m)
		strncpy(out->manager, m, SWIM_NAME_MAX);
	out->term = elect_term(&n->el);
	out->leading = n->acting;
	out->eligible = n->self_eligible;
	out->voters = n->el.voters;
	out->seen = n->el.seen;
	if (elect_is_manager(&n->el) && !out->leading)
		fmt_str(out->text, sizeof(out->text),
			"manager %s (term %llu), not acting: heard from %u "
			"of %u voters in the last %llu ms (needs a majority)",
			n->el.self, (unsigned long long)out->term,
			n->lease_heard, n->el.voters,
			(unsigned long long)lease_ms(n));
	else
		elect_status_text(&n->el, &v, out->text, sizeof(out->text));
}

size_t
node_task_count(const struct node *n)
{
	return n->ntasks;
}
