/* SPDX-License-Identifier: MIT */
/*
 * sched/elect.h — manager election over a membership view, as a pure
 * machine.
 *
 * Rules (DESIGN.md §5):
 *
 *   - Eligible members are ranked by XXH3 of their name: the smaller hash
 *     is the better rank (equal hashes: the smaller name).
 *   - Voters are the eligible members that have not left (alive, suspect
 *     or failed), and the failed voters the membership has forgotten
 *     (absent: the caller keeps them until they leave or are force-left).
 *     A node has a quorum when it sees (alive: a suspect voter does not
 *     count) more than half of the voters. A member that was force-left
 *     is "left" in the view, so force-leave shrinks the voting set.
 *   - A claim is (term, name). Claim A beats claim B when A's term is
 *     higher, or the terms are equal and A's name ranks better. Every node
 *     accepts the best claim it has heard of; that is the register
 *     elect_recv_claim() feeds and elect_claim() reads.
 *   - The accepted manager stays in office while it is alive or suspect in
 *     the view (no pre-emption by a better-ranked newcomer).
 *   - When it is failed, left, unknown or no longer eligible (or there is
 *     none), the best-ranked eligible member that is alive or suspect
 *     claims with term = (highest term seen) + 1 — but only while it has a
 *     quorum, and only once the office has been vacant in its view for
 *     claim_delay_ms. The delay gives gossip and push-pull time to bring a
 *     node that just started (or just healed) the claim already in force,
 *     so that it does not claim the same term and win the tie on rank.
 *     Everyone else waits for the best-ranked candidate.
 *   - The manager acts (elect_is_manager()) only while it has a quorum; it
 *     steps down when it loses it and resumes if it regains it before
 *     anyone else claimed a higher term. A minority therefore never
 *     decides, and decisions carry the term so that, after a heal, the
 *     decisions of the higher term win.
 *   - A term seen on a decision (elect_observe_term()) that is higher than
 *     the accepted claim means a newer claim exists that we have not
 *     heard: the accepted claim no longer counts, and the best-ranked
 *     member claims above it.
 *
 * The view is the caller's: elect keeps no member table (in the simulator
 * ten thousand nodes each see ten thousand members). It asks through
 * struct elect_view. Cost of elect_update(): O(1) with a counts() hook
 * while a manager is in office, O(members) while none is and a quorum
 * exists (to find the best-ranked candidate), and for elect_status().
 *
 * Outputs: claims to publish (elect_pop_claim(), at most one pending: the
 * newest) and events (elect_pop_event(): the effective manager, its term
 * or our acting role changed; a bounded queue, oldest dropped).
 *
 * All functions take `now_ms` only to stamp events. Nothing here allocates.
 */
#ifndef SHOAL_SCHED_ELECT_H
#define SHOAL_SCHED_ELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/swim.h"

#define ELECT_NAME_MAX	 SWIM_NAME_MAX
#define ELECT_EVENTS_MAX 16
/* Room for any status line (elect_status_text()). */
#define ELECT_STATUS_MAX 512

struct elect_member {
	const char *name;
	enum swim_state state;
	bool eligible;
};

/* The caller's membership view, ourselves included. */
struct elect_view {
	void *ctx;
	/* Optional: voters (eligible, not left) and how many of them are
	 * alive. NULL: elect counts through at(). */
	void (*counts)(void *ctx, uint32_t *voters, uint32_t *seen);
	/* Look a member up by name; false if unknown. */
	bool (*find)(void *ctx, const char *name, struct elect_member *out);
	/* Member i for i = 0, 1, ... until false; any order. */
	bool (*at)(void *ctx, size_t i, struct elect_member *out);
	/* Optional: voters that are not members of the view (failed ones
	 * the membership forgot), name i for i = 0, 1, ... until false.
	 * counts() includes them; without counts() elect adds them. */
	bool (*absent)(void *ctx, size_t i, const char **name);
};

enum elect_reason {
	ELECT_LEADING = 0,     /* we are the acting manager */
	ELECT_FOLLOWING = 1,   /* another member is the manager */
	ELECT_NO_QUORUM = 2,   /* no manager: we see no majority of voters */
	ELECT_WAITING = 3,     /* no manager yet: the best candidate
				* should claim (waiting_for: us, or some
				* member that outranks us) */
	ELECT_NO_ELIGIBLE = 4, /* no eligible member at all */
};

struct elect_event {
	uint64_t time_ms;
	char manager[ELECT_NAME_MAX + 1]; /* "" when there is none */
	uint64_t term;
	bool leading; /* we are the acting manager */
};

struct elect {
	char self[ELECT_NAME_MAX + 1];
	uint64_t self_rank;
	bool eligible; /* we may claim and act */
	bool hold;     /* no claim of ours for now (elect_set_hold) */

	/* The accepted claim: the best heard of. term 0 = none. */
	uint64_t term;
	char claimant[ELECT_NAME_MAX + 1];
	uint64_t max_term; /* highest term seen anywhere (>= term) */

	/* Result of the last evaluation. */
	uint32_t voters, seen;
	bool quorum;
	bool effective; /* the accepted claimant is in office in our view */
	bool leading;
	enum elect_reason reason;
	char waiting_for[ELECT_NAME_MAX + 1];
	/* What the last event said (to emit only changes). */
	char ev_manager[ELECT_NAME_MAX + 1];
	uint64_t ev_term;
	bool ev_leading;

	uint64_t claim_delay_ms;
	bool vacant;		  /* no manager in office in our view */
	uint64_t vacant_since_ms; /* since when */

	bool claim_pending;
	struct elect_event ev[ELECT_EVENTS_MAX];
	unsigned ev_head, ev_n;
	uint64_t events_dropped;
	uint64_t claims_made;
};

/* Rank key of a name (smaller is better). */
uint64_t elect_rank(const char *name);
/* True if name a ranks better than name b. */
bool elect_rank_better(const char *a, const char *b);
/* True if claim (ta, a) beats claim (tb, b). An empty name never wins a
 * tie. */
bool elect_claim_beats(uint64_t ta, const char *a, uint64_t tb, const char *b);

/* Start with no accepted claim. self must be a valid member name.
 * claim_delay_ms: see the rules above (the node passes about two gossip
 * dissemination times; 0 claims at once). */
void elect_init(struct elect *e, const char *self, bool eligible,
		uint64_t claim_delay_ms);

/* Whether we may claim and act (role tag; false while leaving). Takes
 * effect at the next elect_update(). */
void elect_set_eligible(struct elect *e, bool eligible);

/* While held, we make no claim of our own (we still vote and follow).
 * sched/node holds a node that is joining a cluster and sees nobody yet:
 * alone, it would be its own quorum, claim a term, and on joining beat
 * the cluster's manager of the same term on rank. When the hold lifts
 * (at now_ms) the claim delay starts again: what we know of the office is
 * as old as our isolation, and the push-pull that ended it may still be
 * bringing the manager's claim. */
void elect_set_hold(struct elect *e, bool hold, uint64_t now_ms);

/* Re-evaluate after the view changed (or periodically). */
void elect_update(struct elect *e, const struct elect_view *v, uint64_t now_ms);

/* A claim heard from the cluster (gossip or push-pull). Accepted if it
 * beats the current one; then re-evaluates. Returns true if accepted.
 * Claims with term 0 or an invalid name are ignored. */
bool elect_recv_claim(struct elect *e, const struct elect_view *v,
		      uint64_t now_ms, uint64_t term, const char *name);

/* A term seen on a decision (a slot record); see the rules above. */
void elect_observe_term(struct elect *e, const struct elect_view *v,
			uint64_t now_ms, uint64_t term);

/* When elect_update() must run again (a claim delay running out), or
 * UINT64_MAX. */
uint64_t elect_next_deadline(const struct elect *e);

/* Our own claim to publish, if one is pending: true and *term (the name is
 * e->self). Publish it in the replicated state (state_set_claim()). */
bool elect_pop_claim(struct elect *e, uint64_t *term);

/* Next event; false when none. */
bool elect_pop_event(struct elect *e, struct elect_event *ev);

/* Acting manager: us, while in office with a quorum. */
static inline bool
elect_is_manager(const struct elect *e)
{
	return e->leading;
}

/* The manager in office in our view, if we also see a quorum (NULL when
 * none: a node in a minority names no manager), and its term (0). */
const char *elect_manager(const struct elect *e);
uint64_t elect_term(const struct elect *e);

/* One line for `shoal status`/`node ls`, e.g.
 *   "manager web-1 (term 3)"
 *   "no manager: no quorum: sees 2 of 5 eligible (needs 3); unreachable:
 *    a, b (suspect), c"
 * Uses the view to name the voters the quorum did not count (failed,
 * suspect and absent, at most 32 of them). Returns the length (the text
 * is cut to fit cap, always NUL-terminated). */
size_t elect_status_text(const struct elect *e, const struct elect_view *v,
			 char *out, size_t cap);

#endif
