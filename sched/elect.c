/* SPDX-License-Identifier: MIT */
/*
 * sched/elect.c — manager election without a log.
 *
 * shoal does not run Raft. Membership (SWIM) already tells every node who
 * is alive; what is missing is one agreed name to make placement decisions,
 * and a guarantee that a cut-off minority does not make any. The machine
 * below gets both from three small rules:
 *
 *   1. A claim (term, name) is an ordered value and every node keeps the
 *      best one it has heard (a last-writer-wins register: merging is
 *      commutative and idempotent, so gossip order does not matter). Two
 *      simultaneous claims of one term resolve by rank: one connected view
 *      ends with one manager.
 *   2. Only the best-ranked live eligible member claims, and only with a
 *      quorum: more than half of the voters (eligible members that have
 *      not left, failed ones included, also those the membership has
 *      forgotten: the view's absent voters) alive in its view. A suspect
 *      voter does not count: in a partition the other side's members are
 *      suspected before they are declared failed, and a manager that
 *      counted them could move the slots of a member it had already
 *      declared failed while the far side still runs them (a minority
 *      deciding). Two disjoint partitions cannot both hold a quorum of the
 *      same voting set, so at most one side gets a new manager.
 *   3. The manager acts only while it holds a quorum. A manager cut off in
 *      a minority stops deciding as soon as its view shows it; the
 *      majority elects term + 1; after the heal the higher claim wins
 *      everywhere and, slot by slot, so do its decisions (sched/state.h).
 *
 * What this is not: a consensus protocol. Views are eventually consistent,
 * so for a detection delay a deposed manager may still decide under its old
 * term. Decisions are idempotent table writes stamped with the term, so the
 * cost is a briefly redundant move, never a lost spec.
 *
 * The view is borrowed through callbacks (struct elect_view) so that a
 * simulator with 10^4 nodes does not hold 10^8 extra member records.
 * Invariant: leading implies claimant == self, eligible, quorum and
 * term == max_term.
 */
#include "sched/elect.h"

#include <string.h>

#include "core/hash.h"

#define RANK_SEED 0x6d616e61676572ULL /* "manager" */

uint64_t
elect_rank(const char *name)
{
	return hash_str(name, RANK_SEED);
}

bool
elect_rank_better(const char *a, const char *b)
{
	uint64_t ra = elect_rank(a), rb = elect_rank(b);

	if (ra != rb)
		return ra < rb;
	return strcmp(a, b) < 0;
}

bool
elect_claim_beats(uint64_t ta, const char *a, uint64_t tb, const char *b)
{
	if (ta != tb)
		return ta > tb;
	if (!a[0])
		return false;
	if (!b[0])
		return true;
	return elect_rank_better(a, b);
}

static void
copy_name(char *dst, const char *src)
{
	size_t n = strnlen(src, ELECT_NAME_MAX);

	memcpy(dst, src, n);
	dst[n] = 0;
}

void
elect_init(struct elect *e, const char *self, bool eligible,
	   uint64_t claim_delay_ms)
{
	memset(e, 0, sizeof(*e));
	copy_name(e->self, self);
	e->self_rank = elect_rank(e->self);
	e->eligible = eligible;
	e->claim_delay_ms = claim_delay_ms;
	e->reason = ELECT_NO_ELIGIBLE;
}

void
elect_set_eligible(struct elect *e, bool eligible)
{
	e->eligible = eligible;
}

void
elect_set_hold(struct elect *e, bool hold, uint64_t now_ms)
{
	if (e->hold && !hold)
		e->vacant_since_ms = now_ms;
	e->hold = hold;
}

static void
push_event(struct elect *e, uint64_t now_ms)
{
	const char *m = elect_manager(e);
	struct elect_event *ev;

	if (!m)
		m = "";
	if (!strcmp(m, e->ev_manager) && e->ev_term == elect_term(e) &&
	    e->ev_leading == e->leading)
		return;
	copy_name(e->ev_manager, m);
	e->ev_term = elect_term(e);
	e->ev_leading = e->leading;
	if (e->ev_n == ELECT_EVENTS_MAX) {
		e->ev_head = (e->ev_head + 1) % ELECT_EVENTS_MAX;
		e->ev_n--;
		e->events_dropped++;
	}
	ev = &e->ev[(e->ev_head + e->ev_n) % ELECT_EVENTS_MAX];
	e->ev_n++;
	ev->time_ms = now_ms;
	copy_name(ev->manager, m);
	ev->term = e->ev_term;
	ev->leading = e->leading;
}

static bool
reachable(enum swim_state st)
{
	return st == SWIM_ALIVE || st == SWIM_SUSPECT;
}

static void
count(const struct elect_view *v, uint32_t *voters, uint32_t *seen)
{
	struct elect_member m;

	if (v->counts) {
		v->counts(v->ctx, voters, seen);
		return;
	}
	*voters = *seen = 0;
	for (size_t i = 0; v->at(v->ctx, i, &m); i++) {
		if (!m.eligible || m.state == SWIM_LEFT)
			continue;
		(*voters)++;
		if (m.state == SWIM_ALIVE)
			(*seen)++;
	}
	for (size_t i = 0; v->absent && v->absent(v->ctx, i, &m.name); i++)
		(*voters)++;
}

/* Is the accepted claimant in office from where we stand? */
static bool
claimant_in_office(const struct elect *e, const struct elect_view *v)
{
	struct elect_member m;

	if (!e->term || !e->claimant[0] || e->max_term > e->term)
		return false;
	if (!strcmp(e->claimant, e->self))
		return e->eligible;
	if (!v->find(v->ctx, e->claimant, &m))
		return false;
	return m.eligible && reachable(m.state);
}

/* The best-ranked eligible member that is alive or suspect, into best.
 * False if there is none. A full scan: for the status text only. */
static bool
best_candidate(const struct elect *e, const struct elect_view *v,
	       char best[ELECT_NAME_MAX + 1])
{
	struct elect_member m;
	bool found = false;
	uint64_t best_rank = 0;

	best[0] = 0;
	for (size_t i = 0; v->at(v->ctx, i, &m); i++) {
		uint64_t r;

		if (!m.eligible || !reachable(m.state))
			continue;
		r = elect_rank(m.name);
		if (found && (r > best_rank ||
			      (r == best_rank && strcmp(m.name, best) >= 0)))
			continue;
		if (!e->eligible && !strcmp(m.name, e->self))
			continue;
		copy_name(best, m.name);
		best_rank = r;
		found = true;
	}
	if (e->eligible && (!found || elect_rank_better(e->self, best))) {
		/* We are alive by definition, even if the view omits us. */
		copy_name(best, e->self);
		found = true;
	}
	return found;
}

/* Who should claim, as far as we are concerned: ourselves if we are
 * eligible and no reachable eligible member outranks us; otherwise some
 * member that does (the first found, not necessarily the best: the claim
 * is theirs either way). Into who; false if there is no candidate at all.
 *
 * Every node of a vacant cluster runs this on each change of its view,
 * and a simulated warm start runs it on 10^4 nodes of 10^4 members: the
 * scan stops at the first member that outranks us, after about ln(N)
 * members on average over the nodes, instead of ranking everyone (each
 * rank reads a name: a cache miss per member). */
static bool
claim_candidate(const struct elect *e, const struct elect_view *v,
		char who[ELECT_NAME_MAX + 1])
{
	struct elect_member m;

	who[0] = 0;
	for (size_t i = 0; v->at(v->ctx, i, &m); i++) {
		if (!m.eligible || !reachable(m.state))
			continue;
		if (e->eligible) {
			uint64_t r = elect_rank(m.name);

			if (r > e->self_rank ||
			    (r == e->self_rank && strcmp(m.name, e->self) >= 0))
				continue; /* we outrank it (or it is us) */
		} else if (!strcmp(m.name, e->self)) {
			continue;
		}
		/* It outranks us, or we may not claim: the claim is not
		 * ours, whoever's it is. */
		copy_name(who, m.name);
		return true;
	}
	if (e->eligible) {
		copy_name(who, e->self);
		return true;
	}
	return false;
}

void
elect_update(struct elect *e, const struct elect_view *v, uint64_t now_ms)
{
	char best[ELECT_NAME_MAX + 1];
	bool had_quorum = e->quorum;

	count(v, &e->voters, &e->seen);
	e->quorum = e->voters > 0 && 2 * (uint64_t)e->seen > e->voters;
	e->effective = claimant_in_office(e, v);
	e->waiting_for[0] = 0;
	if (e->effective) {
		e->vacant = false;
	} else if (!e->vacant) {
		e->vacant = true;
		e->vacant_since_ms = now_ms;
	} else if (e->quorum && !had_quorum) {
		/* We just regained a quorum (a partition healed): our view of
		 * the office is as old as the partition. Wait the claim delay
		 * again, so that gossip can bring us the manager in force
		 * before we claim over it on a stale view. */
		e->vacant_since_ms = now_ms;
	}

	if (!e->effective && e->quorum && claim_candidate(e, v, best)) {
		copy_name(e->waiting_for, best);
		if (!strcmp(best, e->self) && !e->hold &&
		    now_ms >= e->vacant_since_ms + e->claim_delay_ms) {
			e->max_term++;
			e->term = e->max_term;
			copy_name(e->claimant, e->self);
			e->effective = true;
			e->vacant = false;
			e->waiting_for[0] = 0;
			e->claim_pending = true;
			e->claims_made++;
		}
	}

	e->leading = e->effective && !strcmp(e->claimant, e->self) &&
		     e->quorum && e->eligible;
	if (e->voters == 0)
		e->reason = ELECT_NO_ELIGIBLE;
	else if (!e->quorum)
		e->reason = ELECT_NO_QUORUM;
	else if (e->leading)
		e->reason = ELECT_LEADING;
	else if (e->effective)
		e->reason = ELECT_FOLLOWING;
	else
		e->reason = ELECT_WAITING;
	push_event(e, now_ms);
}

uint64_t
elect_next_deadline(const struct elect *e)
{
	if (e->reason != ELECT_WAITING || e->hold ||
	    strcmp(e->waiting_for, e->self))
		return UINT64_MAX;
	return e->vacant_since_ms + e->claim_delay_ms;
}

/* Member names: 1..ELECT_NAME_MAX bytes of [A-Za-z0-9._-] (swim.h). */
static bool
name_ok(const char *name)
{
	size_t n = strnlen(name, ELECT_NAME_MAX + 1);

	if (n == 0 || n > ELECT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

bool
elect_recv_claim(struct elect *e, const struct elect_view *v, uint64_t now_ms,
		 uint64_t term, const char *name)
{
	if (term == 0 || !name_ok(name))
		return false;
	if (term > e->max_term)
		e->max_term = term;
	if (!elect_claim_beats(term, name, e->term, e->claimant)) {
		elect_update(e, v, now_ms);
		return false;
	}
	e->term = term;
	copy_name(e->claimant, name);
	if (strcmp(name, e->self))
		e->claim_pending = false;
	elect_update(e, v, now_ms);
	return true;
}

void
elect_observe_term(struct elect *e, const struct elect_view *v, uint64_t now_ms,
		   uint64_t term)
{
	if (term <= e->max_term)
		return;
	e->max_term = term;
	elect_update(e, v, now_ms);
}

bool
elect_pop_claim(struct elect *e, uint64_t *term)
{
	if (!e->claim_pending)
		return false;
	e->claim_pending = false;
	if (strcmp(e->claimant, e->self))
		return false;
	*term = e->term;
	return true;
}

bool
elect_pop_event(struct elect *e, struct elect_event *ev)
{
	if (!e->ev_n)
		return false;
	*ev = e->ev[e->ev_head];
	e->ev_head = (e->ev_head + 1) % ELECT_EVENTS_MAX;
	e->ev_n--;
	return true;
}

const char *
elect_manager(const struct elect *e)
{
	return e->effective && e->quorum ? e->claimant : NULL;
}

uint64_t
elect_term(const struct elect *e)
{
	return e->effective && e->quorum ? e->term : 0;
}

/* Bounded appending for the status line. */
struct line {
	char *p;
	size_t cap, len;
};

static void
put(struct line *l, const char *s)
{
	size_t n = strlen(s);

	if (l->len + 1 < l->cap) {
		size_t room = l->cap - 1 - l->len;
		size_t k = n < room ? n : room;

		memcpy(l->p + l->len, s, k);
		l->p[l->len + k] = 0;
	}
	l->len += n;
}

static void
put_u64(struct line *l, uint64_t v)
{
	char d[21];
	int i = 20;

	d[i] = 0;
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(l, d + i);
}

size_t
elect_status_text(const struct elect *e, const struct elect_view *v, char *out,
		  size_t cap)
{
	struct line l = {out, cap, 0};
	struct elect_member m;
	char best[ELECT_NAME_MAX + 1];
	unsigned listed = 0;
	bool cut = false;

	if (cap)
		out[0] = 0;
	switch (e->reason) {
	case ELECT_LEADING:
		put(&l, "manager ");
		put(&l, e->claimant);
		put(&l, " (term ");
		put_u64(&l, e->term);
		put(&l, ", this node)");
		break;
	case ELECT_FOLLOWING:
		put(&l, "manager ");
		put(&l, e->claimant);
		put(&l, " (term ");
		put_u64(&l, e->term);
		put(&l, ")");
		break;
	case ELECT_NO_ELIGIBLE:
		put(&l, "no manager: no eligible members");
		break;
	case ELECT_WAITING:
		if (!strcmp(e->waiting_for, e->self) && e->hold) {
			put(&l, "no manager yet: this node is joining and "
				"claims nothing until a seed answers");
			break;
		}
		if (!strcmp(e->waiting_for, e->self)) {
			put(&l, "no manager yet: this node (best-ranked "
				"eligible member) claims term ");
			put_u64(&l, e->max_term + 1);
			put(&l, " after the claim delay");
			break;
		}
		put(&l, "no manager yet: waiting for ");
		if (v && best_candidate(e, v, best))
			put(&l, best);
		else
			put(&l, e->waiting_for[0] ? e->waiting_for : "?");
		put(&l, " (best-ranked eligible member) to claim term ");
		put_u64(&l, e->max_term + 1);
		break;
	case ELECT_NO_QUORUM:
		if (e->effective && !strcmp(e->claimant, e->self)) {
			put(&l, "no manager: this node holds term ");
			put_u64(&l, e->term);
			put(&l, " but stepped down: ");
		} else {
			put(&l, "no manager: ");
		}
		put(&l, "no quorum: sees ");
		put_u64(&l, e->seen);
		put(&l, " of ");
		put_u64(&l, e->voters);
		put(&l, " eligible (needs ");
		put_u64(&l, e->voters / 2 + 1);
		put(&l, ")");
		/* Every voter the count left out: failed ones, and suspect
		 * ones (a quorum counts alive voters only, so early in a
		 * partition the far side is suspect, not yet failed). */
		for (size_t i = 0; v && v->at(v->ctx, i, &m); i++) {
			if (!m.eligible ||
			    (m.state != SWIM_DEAD && m.state != SWIM_SUSPECT))
				continue;
			if (listed >= 32) {
				put(&l, ", ...");
				cut = true;
				break;
			}
			put(&l, listed++ ? ", " : "; unreachable: ");
			put(&l, m.name);
			if (m.state == SWIM_SUSPECT)
				put(&l, " (suspect)");
		}
		/* And the failed ones the membership no longer lists. */
		for (size_t i = 0;
		     !cut && v && v->absent && v->absent(v->ctx, i, &m.name);
		     i++) {
			if (listed >= 32) {
				put(&l, ", ...");
				break;
			}
			put(&l, listed++ ? ", " : "; unreachable: ");
			put(&l, m.name);
		}
		break;
	}
	return l.len < cap ? l.len : (cap ? cap - 1 : 0);
}
