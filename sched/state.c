/* SPDX-License-Identifier: MIT */
/*
 * sched/state.c — last-writer-wins records, their merge, and their gossip.
 *
 * The desired state is a set of registers, each ordered by a total order
 * on its own content (sched/state.h lists the orders). Merging a record
 * keeps the greater of what we hold and what came in; nothing else. That
 * one rule is why replicas converge: keeping the maximum is commutative,
 * associative and idempotent, so it does not matter in which order, how
 * often, or through which path (broadcast, re-broadcast, push-pull) a
 * record arrives. The tests shuffle record orders to hold us to it.
 *
 * The few places where a bounded table forces a choice (the reports kept
 * per slot) keep the greatest k under the same kind of total order, which
 * is still a join: top-k of a union does not depend on the order of the
 * union.
 *
 * Input from the network goes through two passes. The first decodes and
 * checks every record of a message without touching the state (specs are
 * fully validated, names checked, numbers bounded); only if all pass does
 * the second pass decode again and merge. A malformed or hostile message
 * therefore changes nothing, and the code that mutates never sees a value
 * that was not checked.
 *
 * Memory: service entries are a sorted array of pointers (binary search by
 * name); each service keeps its slot entries in a sorted array that grows
 * with the records it actually receives (never with a number read from the
 * wire); reassembly buffers for fragmented specs are allocated once at
 * state_new(). Node names are interned, so a million slot entries on a
 * thousand nodes share a thousand strings.
 */
#include "sched/state.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/fmt.h"
#include "core/codec.h"
#include "core/err.h"
#include "core/hash.h"
#include "sched/elect.h"

enum rec_type {
	REC_SERVICE = 1,
	REC_FRAG = 2,
	REC_AVAIL = 3,
	REC_SLOT = 4,
	REC_TASK = 5,
	REC_CLAIM = 6,
	REC_VOTER = 7,
};

/* Message keys. */
enum { M_KIND = 0, M_FORMAT = 1, M_RECORDS = 2, M_CLOCK = 3 };

/* Bytes a message envelope adds around its records. */
#define ENV_OVERHEAD 10
/* Most bytes a FRAG record adds around its chunk. */
#define FRAG_OVERHEAD                                                          \
	(16 + 2 + SPEC_NAME_MAX + 9 + 2 + SWIM_NAME_MAX + 5 + 5 + 5)

struct avail_rec {
	struct istr *node;
	struct istr *origin;
	uint64_t version;
	enum state_avail a;
};

/* A reassembly under way; data is STATE_RECORD_MAX bytes followed by a
 * bitmap of the bytes received. */
struct reasm {
	uint8_t *data; /* NULL: unused */
	char name[SPEC_NAME_MAX + 1];
	char origin[SWIM_NAME_MAX + 1];
	uint64_t version;
	uint32_t total, filled;
	uint64_t started_ms;
};

#define REASM_BYTES (STATE_RECORD_MAX + (STATE_RECORD_MAX + 7) / 8)

struct outmsg {
	struct outmsg *next;
	size_t len;
	uint8_t data[];
};

struct state {
	char self[SWIM_NAME_MAX + 1];
	struct intern *pool;
	uint64_t ttl_ms;
	uint32_t delta_max;
	uint32_t outbox_max;
	uint64_t clock;
	uint64_t max_term;

	struct state_service **svcs; /* sorted by name */
	size_t nsvcs;
	size_t total_slots;

	struct avail_rec *avail; /* sorted by node name */
	size_t navail, avail_cap;

	uint64_t claim_term;
	char claim_name[SWIM_NAME_MAX + 1];

	struct state_voter *voters; /* sorted by node name */
	size_t nvoters, voters_cap;

	/* Outbox: the open message (records only) and finished messages. */
	struct buf cur;
	uint32_t cur_n;
	struct outmsg *qhead, **qtail;
	size_t qn, qbytes;

	struct reasm reasm[STATE_REASM_MAX];
	struct buf scratch; /* one record being encoded */
	struct state_stats stats;
};

/* A decoded record; strings point into the message. */
struct rec {
	unsigned type;
	const char *name; /* service (SERVICE/FRAG/SLOT/TASK), node (AVAIL,
			   * VOTER), claimant (CLAIM) */
	uint32_t name_len;
	const char *node; /* SLOT node, TASK reporter */
	uint32_t node_len;
	const char *origin;
	uint32_t origin_len;
	const char *msg;
	uint32_t msg_len;
	const uint8_t *bytes;
	uint32_t bytes_len;
	const uint8_t *spec_p; /* the spec map, for the second decode */
	size_t spec_n;
	char spec_name[SPEC_NAME_MAX + 1]; /* first pass: the spec's name */
	uint64_t version, inc, term, gen, since, total, offset, state, avail;
	uint32_t slot, restarts;
	int64_t exit;
	bool removed;
	bool voter;
	uint32_t seen; /* keys present */
};

/* ---- names and small helpers ---- */

const char *
state_avail_name(enum state_avail a)
{
	switch (a) {
	case STATE_ACTIVE:
		return "active";
	case STATE_PAUSE:
		return "pause";
	case STATE_DRAIN:
		return "drain";
	}
	return "?";
}

int
state_avail_parse(const char *text, enum state_avail *a)
{
	if (!strcmp(text, "active"))
		*a = STATE_ACTIVE;
	else if (!strcmp(text, "pause"))
		*a = STATE_PAUSE;
	else if (!strcmp(text, "drain"))
		*a = STATE_DRAIN;
	else
		return ERR_INVAL;
	return 0;
}

const char *
task_state_name(enum task_state s)
{
	switch (s) {
	case TASK_STARTING:
		return "starting";
	case TASK_RUNNING:
		return "running";
	case TASK_COMPLETE:
		return "complete";
	case TASK_FAILED:
		return "failed";
	case TASK_SHUTDOWN:
		return "shutdown";
	case TASK_REJECTED:
		return "rejected";
	}
	return "?";
}

/* Member names: 1..SWIM_NAME_MAX bytes of [A-Za-z0-9._-] (gossip/swim.h). */
static bool
node_name_ok(const char *p, size_t n)
{
	if (n == 0 || n > SWIM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* Compare a counted string with a NUL-terminated one, bytewise. */
static int
cmp_str(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c < 0 ? -1 : 1;
	return cmp_u64(alen, blen);
}

static uint64_t
tick(struct state *st, uint64_t now_ms)
{
	st->clock = now_ms > st->clock ? now_ms : st->clock + 1;
	return st->clock;
}

static void
see(struct state *st, uint64_t version)
{
	if (version > st->clock)
		st->clock = version;
}

static struct istr *
intern_n(struct state *st, const char *p, size_t n)
{
	return n ? intern_get(st->pool, p, n) : NULL;
}

/* ---- lifecycle ---- */

struct state *
state_new(const struct state_config *cfg, struct intern *pool, int *err)
{
	struct state *st;
	size_t n = cfg->self ? strlen(cfg->self) : 0;

	if (!node_name_ok(cfg->self, n) ||
	    (cfg->delta_max && cfg->delta_max < STATE_DELTA_MIN)) {
		*err = ERR_INVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		*err = ERR_NOMEM;
		return NULL;
	}
	st->qtail = &st->qhead;
	memcpy(st->self, cfg->self, n);
	st->pool = pool;
	st->ttl_ms = cfg->tombstone_ttl_ms ? cfg->tombstone_ttl_ms
					   : STATE_TOMBSTONE_TTL_DEFAULT_MS;
	st->delta_max = cfg->delta_max ? cfg->delta_max : STATE_DELTA_DEFAULT;
	st->outbox_max =
		cfg->outbox_max ? cfg->outbox_max : STATE_OUTBOX_DEFAULT;
	if (st->outbox_max < st->delta_max)
		st->outbox_max = st->delta_max;
	buf_init(&st->cur, st->delta_max);
	buf_init(&st->scratch, STATE_RECORD_MAX);
	return st;
}

static void
report_clear(struct state *st, struct state_report *rp)
{
	intern_put(st->pool, rp->node);
	intern_put(st->pool, rp->msg);
	memset(rp, 0, sizeof(*rp));
}

static void
service_free(struct state *st, struct state_service *sv)
{
	for (uint32_t i = 0; i < sv->nslots; i++) {
		struct state_slot *sl = &sv->slots[i];

		intern_put(st->pool, sl->node);
		for (unsigned k = 0; k < STATE_REPORTS_PER_SLOT; k++)
			report_clear(st, &sl->rep[k]);
	}
	st->total_slots -= sv->nslots;
	free(sv->slots);
	intern_put(st->pool, sv->origin);
	spec_destroy(&sv->spec);
	free(sv);
}

void
state_delete(struct state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nsvcs; i++)
		service_free(st, st->svcs[i]);
	free(st->svcs);
	for (size_t i = 0; i < st->navail; i++) {
		intern_put(st->pool, st->avail[i].node);
		intern_put(st->pool, st->avail[i].origin);
	}
	free(st->avail);
	for (size_t i = 0; i < st->nvoters; i++)
		intern_put(st->pool, st->voters[i].node);
	free(st->voters);
	while (st->qhead) {
		struct outmsg *m = st->qhead;

		st->qhead = m->next;
		free(m);
	}
	buf_release(&st->cur);
	buf_release(&st->scratch);
	for (unsigned i = 0; i < STATE_REASM_MAX; i++)
		free(st->reasm[i].data);
	free(st);
}

/* ---- lookup ---- */

/* Index of the service named (p, n), or where it would go (*found
 * false). */
static size_t
svc_search(const struct state *st, const char *p, size_t n, bool *found)
{
	size_t lo = 0, hi = st->nsvcs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = -cmp_str(p, n, st->svcs[mid]->name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct state_service *
svc_get(struct state *st, const char *p, size_t n)
{
	bool found;
	size_t i = svc_search(st, p, n, &found);

	return found ? st->svcs[i] : NULL;
}

/* Find or make an entry (a placeholder without a record). NULL when the
 * table is full or memory ran out. */
static struct state_service *
svc_make(struct state *st, uint64_t now_ms, const char *p, size_t n)
{
	bool found;
	size_t i = svc_search(st, p, n, &found);
	struct state_service *sv, **v;

	if (found)
		return st->svcs[i];
	if (st->nsvcs >= STATE_SERVICES_MAX)
		return NULL;
	sv = calloc(1, sizeof(*sv));
	if (!sv)
		return NULL;
	v = realloc(st->svcs, (st->nsvcs + 1) * sizeof(*v));
	if (!v) {
		free(sv);
		return NULL;
	}
	st->svcs = v;
	memcpy(sv->name, p, n);
	spec_init(&sv->spec);
	sv->seen_ms = now_ms;
	memmove(&v[i + 1], &v[i], (st->nsvcs - i) * sizeof(*v));
	v[i] = sv;
	st->nsvcs++;
	return sv;
}

static void
svc_drop(struct state *st, size_t i)
{
	service_free(st, st->svcs[i]);
	memmove(&st->svcs[i], &st->svcs[i + 1],
		(st->nsvcs - i - 1) * sizeof(*st->svcs));
	st->nsvcs--;
}

static struct state_slot *
slot_search(const struct state_service *sv, uint32_t slot, size_t *at)
{
	size_t lo = 0, hi = sv->nslots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sv->slots[mid].slot == slot) {
			*at = mid;
			return &sv->slots[mid];
		}
		if (sv->slots[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return NULL;
}

static struct state_slot *
slot_make(struct state *st, struct state_service *sv, uint32_t slot)
{
	size_t at;
	struct state_slot *sl = slot_search(sv, slot, &at);

	if (sl)
		return sl;
	if (sv->nslots >= STATE_SLOTS_MAX ||
	    st->total_slots >= STATE_SLOTS_TOTAL_MAX)
		return NULL;
	if (sv->nslots == sv->slots_cap) {
		uint32_t cap = sv->slots_cap ? sv->slots_cap * 2 : 8;
		struct state_slot *v = realloc(sv->slots, cap * sizeof(*v));

		if (!v)
			return NULL;
		sv->slots = v;
		sv->slots_cap = cap;
	}
	memmove(&sv->slots[at + 1], &sv->slots[at],
		(sv->nslots - at) * sizeof(*sv->slots));
	sl = &sv->slots[at];
	memset(sl, 0, sizeof(*sl));
	sl->slot = slot;
	sv->nslots++;
	st->total_slots++;
	return sl;
}

/* The node records (struct avail_rec, struct state_voter) are arrays kept
 * sorted by node name, the name being each record's first member. */
_Static_assert(offsetof(struct avail_rec, node) == 0, "node first");
_Static_assert(offsetof(struct state_voter, node) == 0, "node first");

static const struct istr *
node_of(const void *base, size_t size, size_t i)
{
	const struct istr *node;

	memcpy(&node, (const char *)base + i * size, sizeof(node));
	return node;
}

/* Where the record of node p (n bytes) is among count records of `size`
 * bytes at base, or where it would go; *found says which. */
static size_t
node_search(const void *base, size_t count, size_t size, const char *p,
	    size_t n, bool *found)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = -cmp_str(p, n, istr_str(node_of(base, size, mid)));

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static size_t
avail_search(const struct state *st, const char *p, size_t n, bool *found)
{
	return node_search(st->avail, st->navail, sizeof(*st->avail), p, n,
			   found);
}

static size_t
voter_search(const struct state *st, const char *p, size_t n, bool *found)
{
	return node_search(st->voters, st->nvoters, sizeof(*st->voters), p, n,
			   found);
}

/* Insert a zeroed record for node p (n bytes) at i among *count records
 * of `size` bytes at *base, growing the array (*cap) up to max records.
 * The record's name takes a reference in the pool. NULL, with nothing
 * changed, when full or out of memory. */
static void *
node_insert(struct state *st, void **base, size_t *count, size_t *cap,
	    size_t size, size_t max, size_t i, const char *p, size_t n)
{
	struct istr *node;
	char *rec;

	if (*count >= max)
		return NULL;
	if (*count == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *b = realloc(*base, c * size);

		if (!b)
			return NULL;
		*base = b;
		*cap = c;
	}
	node = intern_n(st, p, n);
	if (!node)
		return NULL;
	rec = (char *)*base + i * size;
	memmove(rec + size, rec, (*count - i) * size);
	memset(rec, 0, size);
	memcpy(rec, &node, sizeof(node));
	(*count)++;
	return rec;
}

/* ---- encoding records ---- */

static void
write_service(struct codec_writer *w, const struct state_service *sv)
{
	codec_write_map(w, sv->removed ? 6 : 7);
	codec_write_uint(w, 1);
	codec_write_uint(w, REC_SERVICE);
	codec_write_uint(w, 2);
	codec_write_cstr(w, sv->name);
	codec_write_uint(w, 3);
	codec_write_uint(w, sv->version);
	codec_write_uint(w, 4);
	codec_write_str(w, istr_str(sv->origin), istr_len(sv->origin));
	codec_write_uint(w, 5);
	codec_write_uint(w, sv->inc);
	codec_write_uint(w, 6);
	codec_write_bool(w, sv->removed);
	if (!sv->removed) {
		codec_write_uint(w, 7);
		spec_write(&sv->spec, w);
	}
}

static void
write_avail(struct codec_writer *w, const struct avail_rec *a)
{
	codec_write_map(w, 5);
	codec_write_uint(w, 1);
	codec_write_uint(w, REC_AVAIL);
	codec_write_uint(w, 2);
	codec_write_str(w, istr_str(a->node), istr_len(a->node));
	codec_write_uint(w, 3);
	codec_write_uint(w, a->version);
	codec_write_uint(w, 4);
	codec_write_str(w, istr_str(a->origin), istr_len(a->origin));
	codec_write_uint(w, 5);
	codec_write_uint(w, a->a);
}

static void
write_slot(struct codec_writer *w, const struct state_service *sv,
	   const struct state_slot *sl)
{
	codec_write_map(w, 8);
	codec_write_uint(w, 1);
	codec_write_uint(w, REC_SLOT);
	codec_write_uint(w, 2);
	codec_write_cstr(w, sv->name);
	codec_write_uint(w, 3);
	codec_write_uint(w, sl->slot);
	codec_write_uint(w, 4);
	codec_write_str(w, istr_str(sl->node), istr_len(sl->node));
	codec_write_uint(w, 5);
	codec_write_uint(w, sl->term);
	codec_write_uint(w, 6);
	codec_write_uint(w, sl->version);
	codec_write_uint(w, 7);
	codec_write_uint(w, sl->gen);
	codec_write_uint(w, 8);
	codec_write_uint(w, sl->inc);
}

static void
write_task(struct codec_writer *w, const struct state_service *sv,
	   const struct state_slot *sl, const struct state_report *rp)
{
	codec_write_map(w, rp->msg ? 12 : 11);
	codec_write_uint(w, 1);
	codec_write_uint(w, REC_TASK);
	codec_write_uint(w, 2);
	codec_write_cstr(w, sv->name);
	codec_write_uint(w, 3);
	codec_write_uint(w, sl->slot);
	codec_write_uint(w, 4);
	codec_write_str(w, istr_str(rp->node), istr_len(rp->node));
	codec_write_uint(w, 5);
	codec_write_uint(w, rp->version);
	codec_write_uint(w, 6);
	codec_write_uint(w, rp->state);
	codec_write_uint(w, 7);
	codec_write_uint(w, rp->restarts);
	codec_write_uint(w, 8);
	codec_write_int(w, rp->exit_code);
	codec_write_uint(w, 9);
	codec_write_uint(w, rp->gen);
	codec_write_uint(w, 10);
	codec_write_uint(w, rp->since_ms);
	if (rp->msg) {
		codec_write_uint(w, 11);
		codec_write_str(w, istr_str(rp->msg), istr_len(rp->msg));
	}
	codec_write_uint(w, 12);
	codec_write_uint(w, rp->inc);
}

static void
write_claim(struct codec_writer *w, uint64_t term, const char *name)
{
	codec_write_map(w, 3);
	codec_write_uint(w, 1);
	codec_write_uint(w, REC_CLAIM);
	codec_write_uint(w, 2);
	codec_write_cstr(w, name);
	codec_write_uint(w, 3);
	codec_write_uint(w, term);
}

static void
write_voter(struct codec_writer *w, const struct state_voter *v)
{
	codec_write_map(w, 4);
	codec_write_uint(w, 1);
	codec_write_uint(w, REC_VOTER);
	codec_write_uint(w, 2);
	codec_write_str(w, istr_str(v->node), istr_len(v->node));
	codec_write_uint(w, 3);
	codec_write_uint(w, v->inc);
	codec_write_uint(w, 4);
	codec_write_bool(w, v->voter);
}

/* ---- the outbox ---- */

static struct outmsg *
outq_pop(struct state *st)
{
	struct outmsg *m = st->qhead;

	st->qhead = m->next;
	if (!st->qhead)
		st->qtail = &st->qhead;
	st->qn--;
	st->qbytes -= m->len;
	return m;
}

/* Close the open message and queue it. */
static void
outq_flush(struct state *st)
{
	struct outmsg *m;
	struct buf b;
	struct codec_writer w;

	if (!st->cur_n)
		return;
	buf_init(&b, st->cur.len + ENV_OVERHEAD);
	codec_writer_init(&w, &b);
	codec_write_map(&w, 3);
	codec_write_uint(&w, M_KIND);
	codec_write_uint(&w, STATE_MSG_KIND);
	codec_write_uint(&w, M_FORMAT);
	codec_write_uint(&w, STATE_FORMAT);
	codec_write_uint(&w, M_RECORDS);
	codec_write_array(&w, st->cur_n);
	codec_write_raw(&w, st->cur.data, st->cur.len);
	buf_reset(&st->cur);
	st->cur_n = 0;
	m = codec_writer_error(&w) ? NULL : malloc(sizeof(*m) + b.len);
	if (!m) {
		buf_release(&b);
		st->stats.deltas_dropped++;
		return;
	}
	m->next = NULL;
	m->len = b.len;
	memcpy(m->data, b.data, b.len);
	buf_release(&b);
	while (st->qn && st->qbytes + m->len > st->outbox_max) {
		free(outq_pop(st));
		st->stats.deltas_dropped++;
	}
	*st->qtail = m;
	st->qtail = &m->next;
	st->qn++;
	st->qbytes += m->len;
}

/* Add one encoded record (not larger than a message allows). */
static void
outq_add(struct state *st, const uint8_t *p, size_t n)
{
	if (st->cur.len + n + ENV_OVERHEAD > st->delta_max)
		outq_flush(st);
	if (buf_append(&st->cur, p, n)) {
		st->stats.deltas_dropped++;
		return;
	}
	st->cur_n++;
}

/* Queue a SERVICE record, in fragments if it does not fit in one message.
 * rec holds its encoding. */
static void
outq_add_service(struct state *st, const struct state_service *sv,
		 const struct buf *rec)
{
	size_t chunk = st->delta_max - ENV_OVERHEAD - FRAG_OVERHEAD;
	struct buf fb;

	if (rec->len + ENV_OVERHEAD <= st->delta_max) {
		outq_add(st, rec->data, rec->len);
		return;
	}
	buf_init(&fb, st->delta_max);
	for (size_t off = 0; off < rec->len; off += chunk) {
		size_t k = rec->len - off < chunk ? rec->len - off : chunk;
		struct codec_writer w;

		buf_reset(&fb);
		codec_writer_init(&w, &fb);
		codec_write_map(&w, 7);
		codec_write_uint(&w, 1);
		codec_write_uint(&w, REC_FRAG);
		codec_write_uint(&w, 2);
		codec_write_cstr(&w, sv->name);
		codec_write_uint(&w, 3);
		codec_write_uint(&w, sv->version);
		codec_write_uint(&w, 4);
		codec_write_str(&w, istr_str(sv->origin), istr_len(sv->origin));
		codec_write_uint(&w, 5);
		codec_write_uint(&w, rec->len);
		codec_write_uint(&w, 6);
		codec_write_uint(&w, off);
		codec_write_uint(&w, 7);
		codec_write_bin(&w, rec->data + off, k);
		if (codec_writer_error(&w)) {
			st->stats.deltas_dropped++;
			break;
		}
		outq_add(st, fb.data, fb.len);
	}
	buf_release(&fb);
}

enum gossip_kind { G_SERVICE, G_AVAIL, G_SLOT, G_TASK, G_CLAIM, G_VOTER };

/* Encode a stored record and queue it for broadcast. */
static void
gossip(struct state *st, enum gossip_kind kind, const void *a, const void *b,
       const void *c)
{
	struct codec_writer w;

	buf_reset(&st->scratch);
	codec_writer_init(&w, &st->scratch);
	switch (kind) {
	case G_SERVICE:
		write_service(&w, a);
		break;
	case G_AVAIL:
		write_avail(&w, a);
		break;
	case G_SLOT:
		write_slot(&w, a, b);
		break;
	case G_TASK:
		write_task(&w, a, b, c);
		break;
	case G_CLAIM:
		write_claim(&w, st->claim_term, st->claim_name);
		break;
	case G_VOTER:
		write_voter(&w, a);
		break;
	}
	if (codec_writer_error(&w)) {
		st->stats.deltas_dropped++;
		return;
	}
	if (kind == G_SERVICE)
		outq_add_service(st, a, &st->scratch);
	else
		outq_add(st, st->scratch.data, st->scratch.len);
}

bool
state_pop_delta(struct state *st, struct buf *b)
{
	struct outmsg *m;
	int rc;

	if (!st->qn)
		outq_flush(st);
	if (!st->qn)
		return false;
	m = outq_pop(st);
	buf_reset(b);
	rc = buf_append(b, m->data, m->len);
	if (!rc) {
		st->stats.deltas_out++;
		st->stats.delta_bytes_out += m->len;
	} else {
		st->stats.deltas_dropped++;
	}
	free(m);
	return rc == 0;
}

size_t
state_outbox_bytes(const struct state *st)
{
	return st->qbytes + st->cur.len;
}

/* ---- decoding records ---- */

static int
read_name(struct codec_reader *r, const char **p, uint32_t *n, size_t max)
{
	if (codec_read_str(r, p, n))
		return r->err;
	if (*n > max)
		return codec_fail(r, ERR_TOOBIG);
	return 0;
}

/* Read one record and check it on its own. check_spec: also decode and
 * validate the spec (first pass). */
static int
rec_read(struct codec_reader *r, struct rec *x, bool check_spec)
{
	uint32_t n;
	uint64_t v;

	memset(x, 0, sizeof(*x));
	if (codec_read_map(r, &n))
		return r->err;
	if (n == 0 || codec_read_uint(r, &v) || v != 1)
		return codec_fail(r, ERR_DECODE);
	if (codec_read_uint_max(r, REC_VOTER, &v) || v == 0)
		return codec_fail(r, ERR_DECODE);
	x->type = (unsigned)v;
	for (uint32_t i = 1; i < n; i++) {
		uint64_t k;
		int rc = 0;

		if (codec_read_uint(r, &k))
			return r->err;
		if (k < 32) {
			if (k == 1 || (x->seen & (1u << k)))
				return codec_fail(r, ERR_DECODE);
			x->seen |= 1u << k;
		}
		switch (x->type * 100 + (unsigned)(k < 100 ? k : 99)) {
		case REC_SERVICE * 100 + 2:
		case REC_FRAG * 100 + 2:
		case REC_SLOT * 100 + 2:
		case REC_TASK * 100 + 2:
			rc = read_name(r, &x->name, &x->name_len,
				       SPEC_NAME_MAX);
			break;
		case REC_AVAIL * 100 + 2:
		case REC_CLAIM * 100 + 2:
		case REC_VOTER * 100 + 2:
			rc = read_name(r, &x->name, &x->name_len,
				       SWIM_NAME_MAX);
			break;
		case REC_VOTER * 100 + 3:
			rc = codec_read_uint(r, &x->inc);
			break;
		case REC_VOTER * 100 + 4:
			rc = codec_read_bool(r, &x->voter);
			break;
		case REC_SERVICE * 100 + 3:
		case REC_FRAG * 100 + 3:
		case REC_AVAIL * 100 + 3:
		case REC_SLOT * 100 + 6:
		case REC_TASK * 100 + 5:
			rc = codec_read_uint(r, &x->version);
			break;
		case REC_SERVICE * 100 + 4:
		case REC_FRAG * 100 + 4:
		case REC_AVAIL * 100 + 4:
			rc = read_name(r, &x->origin, &x->origin_len,
				       SWIM_NAME_MAX);
			break;
		case REC_SERVICE * 100 + 5:
		case REC_SLOT * 100 + 8:
		case REC_TASK * 100 + 12:
			rc = codec_read_uint(r, &x->inc);
			break;
		case REC_SERVICE * 100 + 6:
			rc = codec_read_bool(r, &x->removed);
			break;
		case REC_SERVICE * 100 + 7: {
			char why[SPEC_WHY_MAX];

			x->spec_p = r->p;
			if (check_spec) {
				struct spec t;

				spec_init(&t);
				rc = spec_read(&t, r, why, sizeof(why));
				memcpy(x->spec_name, t.name, sizeof(t.name));
				spec_destroy(&t);
			} else {
				rc = codec_skip(r);
			}
			x->spec_n = (size_t)(r->p - x->spec_p);
			break;
		}
		case REC_FRAG * 100 + 5:
			rc = codec_read_uint_max(r, STATE_RECORD_MAX,
						 &x->total);
			break;
		case REC_FRAG * 100 + 6:
			rc = codec_read_uint_max(r, STATE_RECORD_MAX,
						 &x->offset);
			break;
		case REC_FRAG * 100 + 7:
			rc = codec_read_bin(r, &x->bytes, &x->bytes_len);
			break;
		case REC_AVAIL * 100 + 5:
			rc = codec_read_uint_max(r, STATE_DRAIN, &x->avail);
			break;
		case REC_SLOT * 100 + 3:
		case REC_TASK * 100 + 3:
			rc = codec_read_uint_max(r, STATE_SLOTS_MAX - 1, &v);
			x->slot = (uint32_t)v;
			break;
		case REC_SLOT * 100 + 4:
		case REC_TASK * 100 + 4:
			rc = read_name(r, &x->node, &x->node_len,
				       SWIM_NAME_MAX);
			break;
		case REC_SLOT * 100 + 5:
		case REC_CLAIM * 100 + 3:
			rc = codec_read_uint(r, &x->term);
			break;
		case REC_SLOT * 100 + 7:
		case REC_TASK * 100 + 9:
			rc = codec_read_uint(r, &x->gen);
			break;
		case REC_TASK * 100 + 6:
			rc = codec_read_uint_max(r, TASK_REJECTED, &x->state);
			break;
		case REC_TASK * 100 + 7:
			rc = codec_read_uint_max(r, UINT32_MAX, &v);
			x->restarts = (uint32_t)v;
			break;
		case REC_TASK * 100 + 8:
			rc = codec_read_int(r, &x->exit);
			if (!rc && (x->exit < INT32_MIN || x->exit > INT32_MAX))
				rc = codec_fail(r, ERR_RANGE);
			break;
		case REC_TASK * 100 + 10:
			rc = codec_read_uint(r, &x->since);
			break;
		case REC_TASK * 100 + 11:
			rc = read_name(r, &x->msg, &x->msg_len,
				       STATE_TASK_MSG_MAX);
			if (!rc && memchr(x->msg, 0, x->msg_len))
				rc = codec_fail(r, ERR_INVAL);
			break;
		default:
			rc = codec_skip(r);
			break;
		}
		if (rc)
			return r->err ? r->err : codec_fail(r, rc);
	}
	return 0;
}

#define HAS(x, k) (((x)->seen >> (k)) & 1u)

static bool
all(const struct rec *x, uint32_t keys)
{
	return (x->seen & keys) == keys;
}

/* Semantic checks of a decoded record. */
static int
rec_check(const struct rec *x)
{
	switch (x->type) {
	case REC_SERVICE:
		if (!all(x, 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6) ||
		    !spec_name_valid(x->name, x->name_len) ||
		    !node_name_ok(x->origin, x->origin_len) ||
		    x->version == 0 || x->inc >= x->version ||
		    x->removed == HAS(x, 7))
			return ERR_INVAL;
		/* The spec's own name must be the record's (first pass). */
		if (HAS(x, 7) && x->spec_name[0] &&
		    cmp_str(x->name, x->name_len, x->spec_name))
			return ERR_INVAL;
		return 0;
	case REC_FRAG:
		if (!all(x, 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 |
				    1u << 7) ||
		    !spec_name_valid(x->name, x->name_len) ||
		    !node_name_ok(x->origin, x->origin_len) ||
		    x->version == 0 || x->total == 0 || x->bytes_len == 0 ||
		    x->offset + x->bytes_len > x->total)
			return ERR_INVAL;
		return 0;
	case REC_AVAIL:
		if (!all(x, 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5) ||
		    !node_name_ok(x->name, x->name_len) ||
		    !node_name_ok(x->origin, x->origin_len) || x->version == 0)
			return ERR_INVAL;
		return 0;
	case REC_SLOT:
		if (!all(x, 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 |
				    1u << 7 | 1u << 8) ||
		    !spec_name_valid(x->name, x->name_len) ||
		    (x->node_len && !node_name_ok(x->node, x->node_len)) ||
		    x->term == 0 || x->version == 0)
			return ERR_INVAL;
		return 0;
	case REC_TASK:
		if (!all(x, 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 |
				    1u << 7 | 1u << 8 | 1u << 9 | 1u << 10 |
				    1u << 12) ||
		    !spec_name_valid(x->name, x->name_len) ||
		    !node_name_ok(x->node, x->node_len) || x->version == 0 ||
		    x->state < TASK_STARTING)
			return ERR_INVAL;
		return 0;
	case REC_CLAIM:
		if (!all(x, 1u << 2 | 1u << 3) ||
		    !node_name_ok(x->name, x->name_len) || x->term == 0)
			return ERR_INVAL;
		return 0;
	case REC_VOTER:
		if (!all(x, 1u << 2 | 1u << 3 | 1u << 4) ||
		    !node_name_ok(x->name, x->name_len))
			return ERR_INVAL;
		return 0;
	}
	return ERR_INVAL;
}

/* ---- merging one record ---- */

/* Order of service records: (version, origin, tombstone, digest). */
static int
svc_cmp(uint64_t v1, const char *o1, size_t o1len, bool rm1, uint64_t d1,
	const struct state_service *sv)
{
	int c;

	if (!sv->has_rec)
		return 1;
	c = cmp_u64(v1, sv->version);
	if (c)
		return c;
	c = cmp_str(o1, o1len, istr_str(sv->origin));
	if (c)
		return c;
	if (rm1 != sv->removed)
		return rm1 ? 1 : -1;
	return cmp_u64(d1, sv->digest);
}

/* Merge a SERVICE record whose spec (if live) is in *spec; takes the spec
 * when the record wins. Returns the change mask. */
static int
merge_service(struct state *st, uint64_t now_ms, const struct rec *x,
	      struct spec *spec, bool rebroadcast)
{
	struct state_service *sv;
	uint64_t digest = x->removed ? 0 : spec_digest(spec);
	struct istr *origin;
	uint64_t floor;

	see(st, x->version);
	sv = svc_make(st, now_ms, x->name, x->name_len);
	if (!sv) {
		st->stats.records_full++;
		return 0;
	}
	floor = x->removed ? x->version : x->inc;
	if (floor > sv->floor)
		sv->floor = floor;
	if (svc_cmp(x->version, x->origin, x->origin_len, x->removed, digest,
		    sv) <= 0) {
		st->stats.records_stale++;
		return 0;
	}
	origin = intern_n(st, x->origin, x->origin_len);
	if (!origin) {
		st->stats.records_full++;
		return 0;
	}
	intern_put(st->pool, sv->origin);
	sv->origin = origin;
	if (x->removed && !(sv->has_rec && sv->removed))
		sv->seen_ms = now_ms;
	sv->has_rec = true;
	sv->removed = x->removed;
	sv->version = x->version;
	sv->inc = x->inc;
	sv->digest = digest;
	spec_destroy(&sv->spec);
	if (!x->removed) {
		sv->spec = *spec;
		spec_init(spec);
	}
	st->stats.records_new++;
	if (rebroadcast)
		gossip(st, G_SERVICE, sv, NULL, NULL);
	return STATE_CH_SERVICE;
}

static int
merge_avail(struct state *st, const struct rec *x, bool rebroadcast)
{
	bool found;
	size_t i = avail_search(st, x->name, x->name_len, &found);
	struct avail_rec *a;
	int c = 1;

	see(st, x->version);
	if (found) {
		a = &st->avail[i];
		c = cmp_u64(x->version, a->version);
		if (!c)
			c = cmp_str(x->origin, x->origin_len,
				    istr_str(a->origin));
		if (!c)
			c = cmp_u64(x->avail, a->a);
		if (c <= 0) {
			st->stats.records_stale++;
			return 0;
		}
	} else {
		void *base = st->avail;

		a = node_insert(st, &base, &st->navail, &st->avail_cap,
				sizeof(*a), STATE_NODES_MAX, i, x->name,
				x->name_len);
		st->avail = base;
		if (!a)
			goto out_full;
	}
	{
		struct istr *o = intern_n(st, x->origin, x->origin_len);

		if (!o)
			goto out_full;
		intern_put(st->pool, a->origin);
		a->origin = o;
	}
	a->version = x->version;
	a->a = (enum state_avail)x->avail;
	st->stats.records_new++;
	if (rebroadcast)
		gossip(st, G_AVAIL, a, NULL, NULL);
	return STATE_CH_AVAIL;
out_full:
	st->stats.records_full++;
	return 0;
}

/* Order of slot records: (inc, term, version, node, gen). */
static int
slot_cmp(const struct rec *x, const struct state_slot *sl)
{
	int c = cmp_u64(x->inc, sl->inc);

	if (!c)
		c = cmp_u64(x->term, sl->term);
	if (!c)
		c = cmp_u64(x->version, sl->version);
	if (!c)
		c = cmp_str(x->node, x->node_len, istr_str(sl->node));
	if (!c)
		c = cmp_u64(x->gen, sl->gen);
	return c;
}

static int
merge_slot(struct state *st, uint64_t now_ms, const struct rec *x,
	   bool rebroadcast)
{
	struct state_service *sv;
	struct state_slot *sl;
	struct istr *node = NULL;

	see(st, x->version);
	if (x->term > st->max_term)
		st->max_term = x->term;
	sv = svc_make(st, now_ms, x->name, x->name_len);
	sl = sv ? slot_make(st, sv, x->slot) : NULL;
	if (!sl) {
		st->stats.records_full++;
		return 0;
	}
	if (sl->term && slot_cmp(x, sl) <= 0) {
		st->stats.records_stale++;
		return 0;
	}
	if (x->node_len) {
		node = intern_n(st, x->node, x->node_len);
		if (!node) {
			st->stats.records_full++;
			return 0;
		}
	}
	intern_put(st->pool, sl->node);
	sl->node = node;
	sl->term = x->term;
	sl->version = x->version;
	sl->gen = x->gen;
	sl->inc = x->inc;
	st->stats.records_new++;
	if (rebroadcast)
		gossip(st, G_SLOT, sv, sl, NULL);
	return STATE_CH_SLOT;
}

/* Order of a report against a stored one from the same reporter. */
static int
report_cmp(const struct rec *x, const struct state_report *rp)
{
	int c = cmp_u64(x->inc, rp->inc);

	if (!c)
		c = cmp_u64(x->version, rp->version);
	if (!c)
		c = cmp_u64(x->state, rp->state);
	if (!c)
		c = cmp_u64(x->restarts, rp->restarts);
	if (!c)
		c = cmp_u64((uint64_t)x->exit + (1ull << 32),
			    (uint64_t)(int64_t)rp->exit_code + (1ull << 32));
	if (!c)
		c = cmp_u64(x->gen, rp->gen);
	if (!c)
		c = cmp_u64(x->since, rp->since_ms);
	if (!c)
		c = cmp_str(x->msg ? x->msg : "", x->msg_len,
			    istr_str(rp->msg));
	return c;
}

/* Order between reporters for the bounded list: (inc, version, name).
 *
 * It must agree with each reporter's own order (a reporter's newer report
 * never ranks below its older one): an evicted reporter is forgotten, so
 * a rank that fell as its reports got newer would let its old report come
 * back as news, evict the newer one of someone else, and so on forever (a
 * gossip storm; ranking "live before ended" did exactly that). The node
 * that runs a slot keeps its report present by reporting again when it
 * has been pushed out (sched/node_sched.c): a new report is the newest. */
static int
rank_cmp(uint64_t inc1, uint64_t state1, uint64_t v1, const char *n1,
	 size_t n1len, const struct state_report *rp)
{
	int c;

	(void)state1;
	if (!rp->node)
		return 1;
	c = cmp_u64(inc1, rp->inc);
	if (!c)
		c = cmp_u64(v1, rp->version);
	if (!c)
		c = cmp_str(n1, n1len, istr_str(rp->node));
	return c;
}

/* Keep rep[] ordered best first (empty entries last). */
static void
reports_sort(struct state_slot *sl)
{
	for (unsigned i = 1; i < STATE_REPORTS_PER_SLOT; i++)
		for (unsigned j = i; j > 0; j--) {
			struct state_report *a = &sl->rep[j - 1];
			struct state_report *b = &sl->rep[j];
			struct state_report t;

			if (!b->node ||
			    (a->node &&
			     rank_cmp(b->inc, b->state, b->version,
				      istr_str(b->node), istr_len(b->node),
				      a) <= 0))
				break;
			t = *a;
			*a = *b;
			*b = t;
		}
}

static int
merge_task(struct state *st, uint64_t now_ms, const struct rec *x,
	   bool rebroadcast)
{
	struct state_service *sv;
	struct state_slot *sl;
	struct state_report *rp = NULL;
	struct istr *node, *msg = NULL;

	see(st, x->version);
	sv = svc_make(st, now_ms, x->name, x->name_len);
	sl = sv ? slot_make(st, sv, x->slot) : NULL;
	if (!sl) {
		st->stats.records_full++;
		return 0;
	}
	for (unsigned k = 0; k < STATE_REPORTS_PER_SLOT; k++)
		if (sl->rep[k].node &&
		    !cmp_str(x->node, x->node_len, istr_str(sl->rep[k].node)))
			rp = &sl->rep[k];
	if (rp) {
		if (report_cmp(x, rp) <= 0) {
			st->stats.records_stale++;
			return 0;
		}
	} else {
		/* The last entry is the worst (or empty). */
		rp = &sl->rep[STATE_REPORTS_PER_SLOT - 1];
		if (rank_cmp(x->inc, x->state, x->version, x->node,
			     x->node_len, rp) <= 0) {
			st->stats.records_stale++;
			return 0;
		}
	}
	node = intern_n(st, x->node, x->node_len);
	if (x->msg_len)
		msg = intern_n(st, x->msg, x->msg_len);
	if (!node || (x->msg_len && !msg)) {
		intern_put(st->pool, node);
		intern_put(st->pool, msg);
		st->stats.records_full++;
		return 0;
	}
	report_clear(st, rp);
	rp->node = node;
	rp->msg = msg;
	rp->version = x->version;
	rp->inc = x->inc;
	rp->gen = x->gen;
	rp->since_ms = x->since;
	rp->exit_code = (int32_t)x->exit;
	rp->restarts = x->restarts;
	rp->state = (enum task_state)x->state;
	reports_sort(sl);
	st->stats.records_new++;
	if (rebroadcast)
		for (unsigned k = 0; k < STATE_REPORTS_PER_SLOT; k++)
			if (sl->rep[k].node == node)
				gossip(st, G_TASK, sv, sl, &sl->rep[k]);
	return STATE_CH_TASK;
}

static int
merge_claim(struct state *st, const struct rec *x, bool rebroadcast)
{
	char name[SWIM_NAME_MAX + 1];

	memcpy(name, x->name, x->name_len);
	name[x->name_len] = 0;
	if (!elect_claim_beats(x->term, name, st->claim_term, st->claim_name)) {
		st->stats.records_stale++;
		return 0;
	}
	st->claim_term = x->term;
	memcpy(st->claim_name, name, x->name_len + 1);
	st->stats.records_new++;
	if (rebroadcast)
		gossip(st, G_CLAIM, NULL, NULL, NULL);
	return STATE_CH_CLAIM;
}

/* Order of voter records: (incarnation, not a voter): a newer life of the
 * member wins, and within one life its leaving wins over its failure. */
static int
merge_voter(struct state *st, uint64_t now_ms, const struct rec *x,
	    bool rebroadcast)
{
	bool found;
	size_t i = voter_search(st, x->name, x->name_len, &found);
	struct state_voter *v;

	if (found) {
		int c;

		v = &st->voters[i];
		c = cmp_u64(x->inc, v->inc);
		if (!c)
			c = (int)!x->voter - (int)!v->voter;
		if (c <= 0) {
			st->stats.records_stale++;
			return 0;
		}
	} else {
		void *base = st->voters;

		v = node_insert(st, &base, &st->nvoters, &st->voters_cap,
				sizeof(*v), STATE_VOTERS_MAX, i, x->name,
				x->name_len);
		st->voters = base;
		if (!v)
			goto out_full;
	}
	v->inc = x->inc;
	v->voter = x->voter;
	v->seen_ms = now_ms;
	st->stats.records_new++;
	if (rebroadcast)
		gossip(st, G_VOTER, v, NULL, NULL);
	return STATE_CH_VOTER;
out_full:
	st->stats.records_full++;
	return 0;
}

static int merge_frag(struct state *st, uint64_t now_ms, const struct rec *x,
		      bool rebroadcast);

/* Second pass: merge a record that passed the first. */
static int
merge_rec(struct state *st, uint64_t now_ms, const struct rec *x,
	  bool rebroadcast)
{
	switch (x->type) {
	case REC_SERVICE: {
		struct spec spec;
		int ch = 0;

		spec_init(&spec);
		if (!x->removed) {
			char why[SPEC_WHY_MAX];

			if (spec_decode(&spec, x->spec_p, x->spec_n, why,
					sizeof(why)))
				return 0; /* cannot happen: checked */
			if (cmp_str(x->name, x->name_len, spec.name)) {
				spec_destroy(&spec);
				return 0;
			}
		}
		ch = merge_service(st, now_ms, x, &spec, rebroadcast);
		spec_destroy(&spec);
		return ch;
	}
	case REC_FRAG:
		return merge_frag(st, now_ms, x, rebroadcast);
	case REC_AVAIL:
		return merge_avail(st, x, rebroadcast);
	case REC_SLOT:
		return merge_slot(st, now_ms, x, rebroadcast);
	case REC_TASK:
		return merge_task(st, now_ms, x, rebroadcast);
	case REC_CLAIM:
		return merge_claim(st, x, rebroadcast);
	case REC_VOTER:
		return merge_voter(st, now_ms, x, rebroadcast);
	}
	return 0;
}

/* Decode a reassembled SERVICE record and merge it. */
static int
merge_whole(struct state *st, uint64_t now_ms, const struct reasm *ra,
	    bool rebroadcast)
{
	struct codec_reader r;
	struct rec x;

	codec_reader_init(&r, ra->data, ra->total);
	if (rec_read(&r, &x, true) || codec_read_end(&r) || rec_check(&x) ||
	    x.type != REC_SERVICE || x.version != ra->version ||
	    cmp_str(x.name, x.name_len, ra->name) ||
	    cmp_str(x.origin, x.origin_len, ra->origin))
		return 0;
	return merge_rec(st, now_ms, &x, rebroadcast);
}

static void
reasm_free(struct reasm *ra)
{
	free(ra->data);
	ra->data = NULL;
}

static int
merge_frag(struct state *st, uint64_t now_ms, const struct rec *x,
	   bool rebroadcast)
{
	struct state_service *sv = svc_get(st, x->name, x->name_len);
	struct reasm *ra = NULL, *free_ra = NULL, *oldest = NULL;
	uint8_t *have;
	int ch;

	st->stats.frags_in++;
	see(st, x->version);
	/* Already hold this record or a newer one? */
	if (sv && sv->has_rec &&
	    (x->version < sv->version ||
	     (x->version == sv->version &&
	      cmp_str(x->origin, x->origin_len, istr_str(sv->origin)) <= 0)))
		return 0;
	for (unsigned i = 0; i < STATE_REASM_MAX && !ra; i++) {
		struct reasm *c = &st->reasm[i];

		if (!c->data) {
			if (!free_ra)
				free_ra = c;
		} else if (c->version == x->version &&
			   !cmp_str(x->name, x->name_len, c->name) &&
			   !cmp_str(x->origin, x->origin_len, c->origin)) {
			ra = c;
		} else if (!oldest || c->started_ms < oldest->started_ms) {
			oldest = c;
		}
	}
	if (ra && ra->total != x->total)
		return 0; /* inconsistent with what came first: ignored */
	if (!ra) {
		ra = free_ra ? free_ra : oldest;
		if (ra->data) {
			reasm_free(ra);
			st->stats.frags_expired++;
		}
		/* A fixed size, whatever the fragment claims. */
		ra->data = calloc(1, REASM_BYTES);
		if (!ra->data) {
			st->stats.records_full++;
			return 0;
		}
		memcpy(ra->name, x->name, x->name_len);
		ra->name[x->name_len] = 0;
		memcpy(ra->origin, x->origin, x->origin_len);
		ra->origin[x->origin_len] = 0;
		ra->version = x->version;
		ra->total = (uint32_t)x->total;
		ra->filled = 0;
		ra->started_ms = now_ms;
	}
	have = ra->data + STATE_RECORD_MAX;
	for (uint32_t i = 0; i < x->bytes_len; i++) {
		uint32_t at = (uint32_t)x->offset + i;
		uint8_t bit = (uint8_t)(1u << (at & 7));

		if (have[at >> 3] & bit)
			continue; /* the first bytes received win */
		have[at >> 3] |= bit;
		ra->data[at] = x->bytes[i];
		ra->filled++;
	}
	if (ra->filled < ra->total)
		return 0;
	st->stats.frags_done++;
	ch = merge_whole(st, now_ms, ra, rebroadcast);
	reasm_free(ra);
	return ch;
}

/* ---- merging messages ---- */

static int
merge_msg(struct state *st, uint64_t now_ms, const uint8_t *p, size_t n,
	  bool full)
{
	struct codec_reader r;
	const uint8_t *recs = NULL;
	uint32_t nkeys, nrec = 0, seen = 0;
	uint64_t fmt = 0, clock = 0;
	int ch = 0, rc;

	/* Pass 1: the envelope and every record, without touching state. */
	codec_reader_init(&r, p, n);
	if (codec_read_map(&r, &nkeys))
		goto out_bad;
	for (uint32_t i = 0; i < nkeys; i++) {
		uint64_t k;

		if (codec_read_uint(&r, &k))
			goto out_bad;
		if (k < 32) {
			if (seen & (1u << k))
				goto out_bad;
			seen |= 1u << k;
		}
		if (k == M_FORMAT) {
			if (codec_read_uint(&r, &fmt))
				goto out_bad;
			if (fmt != STATE_FORMAT) {
				st->stats.msgs_dropped++;
				return ERR_VERSION;
			}
		} else if (k == M_RECORDS) {
			if (codec_read_array(&r, &nrec))
				goto out_bad;
			recs = r.p;
			for (uint32_t j = 0; j < nrec; j++) {
				struct rec x;

				if (rec_read(&r, &x, true) || rec_check(&x))
					goto out_bad;
			}
		} else if (k == M_KIND) {
			if (codec_read_uint(&r, &k))
				goto out_bad; /* the router checked its value */
		} else if (k == M_CLOCK) {
			if (codec_read_uint(&r, &clock))
				goto out_bad;
		} else if (codec_skip(&r)) {
			goto out_bad;
		}
	}
	if (codec_read_end(&r) || !(seen & (1u << M_FORMAT)) || !recs)
		goto out_bad;

	/* Pass 2: merge. */
	codec_reader_init(&r, recs, n - (size_t)(recs - p));
	for (uint32_t j = 0; j < nrec; j++) {
		struct rec x;

		rc = rec_read(&r, &x, false);
		if (rc)
			break; /* cannot happen: pass 1 read it */
		ch |= merge_rec(st, now_ms, &x, !full);
	}
	if (full)
		see(st, clock);
	st->stats.msgs_merged++;
	return ch;
out_bad:
	st->stats.msgs_dropped++;
	return r.err ? r.err : ERR_DECODE;
}

int
state_merge_delta(struct state *st, uint64_t now_ms, const uint8_t *p, size_t n)
{
	return merge_msg(st, now_ms, p, n, false);
}

int
state_merge_full(struct state *st, uint64_t now_ms, const uint8_t *p, size_t n)
{
	return merge_msg(st, now_ms, p, n, true);
}

/* ---- full state ---- */

static uint32_t
record_count(const struct state *st)
{
	uint64_t n = st->navail + st->nvoters + (st->claim_term ? 1 : 0);

	for (size_t i = 0; i < st->nsvcs; i++) {
		const struct state_service *sv = st->svcs[i];

		n += sv->has_rec;
		for (uint32_t j = 0; j < sv->nslots; j++) {
			n += sv->slots[j].term != 0;
			for (unsigned k = 0; k < STATE_REPORTS_PER_SLOT; k++)
				n += sv->slots[j].rep[k].node != NULL;
		}
	}
	return (uint32_t)n;
}

static void
write_records(const struct state *st, struct codec_writer *w)
{
	codec_write_array(w, record_count(st));
	for (size_t i = 0; i < st->nsvcs; i++) {
		const struct state_service *sv = st->svcs[i];

		if (sv->has_rec)
			write_service(w, sv);
		for (uint32_t j = 0; j < sv->nslots; j++) {
			const struct state_slot *sl = &sv->slots[j];

			if (sl->term)
				write_slot(w, sv, sl);
			for (unsigned k = 0; k < STATE_REPORTS_PER_SLOT; k++)
				if (sl->rep[k].node)
					write_task(w, sv, sl, &sl->rep[k]);
		}
	}
	for (size_t i = 0; i < st->navail; i++)
		write_avail(w, &st->avail[i]);
	for (size_t i = 0; i < st->nvoters; i++)
		write_voter(w, &st->voters[i]);
	if (st->claim_term)
		write_claim(w, st->claim_term, st->claim_name);
}

int
state_encode_full(const struct state *st, struct buf *b)
{
	size_t start = b->len;
	struct codec_writer w;
	int rc;

	codec_writer_init(&w, b);
	codec_write_map(&w, 4);
	codec_write_uint(&w, M_KIND);
	codec_write_uint(&w, STATE_MSG_KIND);
	codec_write_uint(&w, M_FORMAT);
	codec_write_uint(&w, STATE_FORMAT);
	codec_write_uint(&w, M_RECORDS);
	write_records(st, &w);
	codec_write_uint(&w, M_CLOCK);
	codec_write_uint(&w, st->clock);
	rc = codec_writer_error(&w);
	if (rc)
		buf_truncate(b, start);
	return rc;
}

uint64_t
state_digest(const struct state *st)
{
	struct buf b;
	struct codec_writer w;
	uint64_t h;

	buf_init(&b, (size_t)1 << 31);
	codec_writer_init(&w, &b);
	write_records(st, &w);
	h = hash64(b.data ? b.data : (const uint8_t *)"", b.len, 0x7374617465);
	if (codec_writer_error(&w))
		h = 0;
	buf_release(&b);
	return h;
}

/* ---- local writes ---- */

/* Apply a locally made SERVICE record. */
static int
write_local_service(struct state *st, uint64_t now_ms, const char *name,
		    uint64_t inc, bool removed, const struct spec *spec)
{
	struct spec copy;
	struct rec x;
	int rc;

	memset(&x, 0, sizeof(x));
	spec_init(&copy);
	if (!removed) {
		rc = spec_copy(&copy, spec);
		if (rc)
			return rc;
	}
	x.type = REC_SERVICE;
	x.name = name;
	x.name_len = (uint32_t)strlen(name);
	x.origin = st->self;
	x.origin_len = (uint32_t)strlen(st->self);
	x.version = tick(st, now_ms);
	x.inc = inc;
	x.removed = removed;
	rc = merge_service(st, now_ms, &x, &copy, true) ? 0 : ERR_FULL;
	spec_destroy(&copy);
	return rc;
}

int
state_service_create(struct state *st, uint64_t now_ms, const struct spec *spec,
		     char *why, size_t cap)
{
	struct state_service *sv;
	uint64_t inc = 0;
	int rc = spec_validate(spec, why, cap);

	if (rc)
		return rc;
	sv = svc_get(st, spec->name, strlen(spec->name));
	if (state_service_live(sv)) {
		if (why && cap)
			fmt_str(why, cap, "service \"%s\" already exists",
				 spec->name);
		return ERR_EXIST;
	}
	if (sv)
		inc = sv->floor;
	rc = write_local_service(st, now_ms, spec->name, inc, false, spec);
	if (rc == ERR_FULL && why && cap)
		fmt_str(why, cap, "too many services (the limit is %d)",
			 STATE_SERVICES_MAX);
	return rc;
}

int
state_service_update(struct state *st, uint64_t now_ms, const struct spec *spec,
		     char *why, size_t cap)
{
	struct state_service *sv;
	int rc = spec_validate(spec, why, cap);

	if (rc)
		return rc;
	sv = svc_get(st, spec->name, strlen(spec->name));
	if (!state_service_live(sv)) {
		if (why && cap)
			fmt_str(why, cap, "no service \"%s\"", spec->name);
		return ERR_NOENT;
	}
	if (spec_equal(&sv->spec, spec))
		return 0;
	return write_local_service(st, now_ms, spec->name, sv->inc, false,
				   spec);
}

int
state_service_scale(struct state *st, uint64_t now_ms, const char *name,
		    uint32_t replicas, char *why, size_t cap)
{
	struct state_service *sv = svc_get(st, name, strnlen(name, 256));
	struct spec s;
	int rc;

	if (!state_service_live(sv)) {
		if (why && cap)
			fmt_str(why, cap, "no service \"%.64s\"", name);
		return ERR_NOENT;
	}
	if (sv->spec.mode == SPEC_GLOBAL) {
		if (why && cap)
			fmt_str(why, cap,
				 "service \"%s\" is global: it cannot be "
				 "scaled",
				 name);
		return ERR_INVAL;
	}
	spec_init(&s);
	rc = spec_copy(&s, &sv->spec);
	if (!rc) {
		s.replicas = replicas;
		rc = state_service_update(st, now_ms, &s, why, cap);
	}
	spec_destroy(&s);
	return rc;
}

int
state_service_remove(struct state *st, uint64_t now_ms, const char *name)
{
	struct state_service *sv = svc_get(st, name, strnlen(name, 256));

	if (!state_service_live(sv))
		return ERR_NOENT;
	return write_local_service(st, now_ms, sv->name, sv->inc, true, NULL);
}

int
state_node_set_avail(struct state *st, uint64_t now_ms, const char *node,
		     enum state_avail a)
{
	struct rec x;

	memset(&x, 0, sizeof(x));
	x.name = node;
	x.name_len = (uint32_t)strnlen(node, SWIM_NAME_MAX + 1);
	if (!node_name_ok(node, x.name_len) || a > STATE_DRAIN)
		return ERR_INVAL;
	x.type = REC_AVAIL;
	x.origin = st->self;
	x.origin_len = (uint32_t)strlen(st->self);
	x.version = tick(st, now_ms);
	x.avail = a;
	return merge_avail(st, &x, true) ? 0 : ERR_FULL;
}

int
state_task_report(struct state *st, uint64_t now_ms, const struct state_task *t)
{
	struct state_service *sv;
	struct rec x;

	sv = svc_get(st, t->service, strnlen(t->service, SPEC_NAME_MAX + 1));
	if (!state_service_live(sv))
		return ERR_NOENT;
	if (t->slot >= STATE_SLOTS_MAX || t->state < TASK_STARTING ||
	    t->state > TASK_REJECTED)
		return ERR_INVAL;
	memset(&x, 0, sizeof(x));
	x.type = REC_TASK;
	x.name = sv->name;
	x.name_len = (uint32_t)strlen(sv->name);
	x.slot = t->slot;
	x.node = st->self;
	x.node_len = (uint32_t)strlen(st->self);
	x.version = tick(st, now_ms);
	x.state = t->state;
	x.restarts = t->restarts;
	x.exit = t->exit_code;
	x.gen = t->gen;
	x.since = t->since_ms;
	x.inc = sv->inc;
	if (t->msg && t->msg[0]) {
		x.msg = t->msg;
		x.msg_len = (uint32_t)strnlen(t->msg, STATE_TASK_MSG_MAX);
	}
	return merge_task(st, now_ms, &x, true) ? 0 : ERR_FULL;
}

int
state_slot_set(struct state *st, uint64_t now_ms, uint64_t term,
	       const char *service, uint32_t slot, const char *node,
	       uint64_t gen)
{
	struct state_service *sv;
	const struct state_slot *sl;
	struct rec x;
	size_t at;

	sv = svc_get(st, service, strnlen(service, SPEC_NAME_MAX + 1));
	if (!state_service_live(sv))
		return ERR_NOENT;
	if (term == 0 || slot >= STATE_SLOTS_MAX)
		return ERR_INVAL;
	memset(&x, 0, sizeof(x));
	if (node) {
		x.node = node;
		x.node_len = (uint32_t)strnlen(node, SWIM_NAME_MAX + 1);
		if (!node_name_ok(node, x.node_len))
			return ERR_INVAL;
	}
	sl = slot_search(sv, slot, &at);
	if (sl && sl->term &&
	    (sl->inc > sv->inc || (sl->inc == sv->inc && sl->term > term)))
		return ERR_STALE;
	x.type = REC_SLOT;
	x.name = sv->name;
	x.name_len = (uint32_t)strlen(sv->name);
	x.slot = slot;
	x.term = term;
	x.version = tick(st, now_ms);
	x.gen = gen ? gen : spec_task_digest(&sv->spec);
	x.inc = sv->inc;
	return merge_slot(st, now_ms, &x, true) ? 0 : ERR_FULL;
}

int
state_set_claim(struct state *st, uint64_t term, const char *name)
{
	struct rec x;

	memset(&x, 0, sizeof(x));
	x.type = REC_CLAIM;
	x.name = name;
	x.name_len = (uint32_t)strnlen(name, SWIM_NAME_MAX + 1);
	x.term = term;
	if (!node_name_ok(name, x.name_len) || term == 0)
		return ERR_INVAL;
	return merge_claim(st, &x, true) ? 0 : ERR_STALE;
}

int
state_voter_set(struct state *st, uint64_t now_ms, const char *node,
		uint64_t inc, bool voter, bool gossip)
{
	struct rec x;

	memset(&x, 0, sizeof(x));
	x.type = REC_VOTER;
	x.name = node;
	x.name_len = (uint32_t)strnlen(node, SWIM_NAME_MAX + 1);
	x.inc = inc;
	x.voter = voter;
	if (!node_name_ok(node, x.name_len))
		return ERR_INVAL;
	if (!merge_voter(st, now_ms, &x, gossip)) {
		bool found;

		voter_search(st, x.name, x.name_len, &found);
		return found ? 0 : ERR_FULL;
	}
	return 1;
}

/* ---- housekeeping ---- */

void
state_tick(struct state *st, uint64_t now_ms)
{
	for (size_t i = st->nsvcs; i-- > 0;) {
		struct state_service *sv = st->svcs[i];

		if ((sv->removed || !sv->has_rec) &&
		    now_ms >= sv->seen_ms + st->ttl_ms) {
			svc_drop(st, i);
			st->stats.reaped++;
		}
	}
	for (size_t i = st->nvoters; i-- > 0;) {
		struct state_voter *v = &st->voters[i];

		if (v->voter || now_ms < v->seen_ms + st->ttl_ms)
			continue;
		intern_put(st->pool, v->node);
		memmove(v, v + 1, (st->nvoters - i - 1) * sizeof(*v));
		st->nvoters--;
		st->stats.reaped++;
	}
	for (unsigned i = 0; i < STATE_REASM_MAX; i++) {
		struct reasm *ra = &st->reasm[i];

		if (ra->data &&
		    now_ms >= ra->started_ms + STATE_REASM_TIMEOUT_MS) {
			reasm_free(ra);
			st->stats.frags_expired++;
		}
	}
}

void
state_forget_node(struct state *st, const char *node)
{
	struct istr *s = intern_find(st->pool, node, strlen(node));

	if (!s)
		return;
	for (size_t i = 0; i < st->nsvcs; i++) {
		struct state_service *sv = st->svcs[i];

		for (uint32_t j = 0; j < sv->nslots; j++) {
			struct state_slot *sl = &sv->slots[j];
			bool hit = false;

			for (unsigned k = 0; k < STATE_REPORTS_PER_SLOT; k++)
				if (sl->rep[k].node == s) {
					report_clear(st, &sl->rep[k]);
					hit = true;
				}
			if (hit)
				reports_sort(sl);
		}
	}
}

/* ---- reading ---- */

size_t
state_service_count(const struct state *st)
{
	return st->nsvcs;
}

const struct state_service *
state_service_at(const struct state *st, size_t i)
{
	return i < st->nsvcs ? st->svcs[i] : NULL;
}

const struct state_service *
state_service_find(const struct state *st, const char *name)
{
	bool found;
	size_t i =
		svc_search(st, name, strnlen(name, SPEC_NAME_MAX + 1), &found);

	return found ? st->svcs[i] : NULL;
}

const struct state_slot *
state_slot_find(const struct state_service *sv, uint32_t slot)
{
	size_t at;

	return slot_search(sv, slot, &at);
}

const char *
state_slot_node(const struct state_service *sv, const struct state_slot *sl)
{
	if (!state_service_live(sv) || !sl || !sl->term || !sl->node ||
	    sl->inc != sv->inc)
		return NULL;
	return istr_str(sl->node);
}

const struct state_report *
state_slot_report(const struct state_service *sv, const struct state_slot *sl,
		  unsigned k)
{
	const struct state_report *rp;

	if (!state_service_live(sv) || !sl || k >= STATE_REPORTS_PER_SLOT)
		return NULL;
	rp = &sl->rep[k];
	if (!rp->node || rp->inc != sv->inc)
		return NULL;
	return rp;
}

enum state_avail
state_node_avail(const struct state *st, const char *node)
{
	bool found;
	size_t i = avail_search(st, node, strnlen(node, SWIM_NAME_MAX + 1),
				&found);

	return found ? st->avail[i].a : STATE_ACTIVE;
}

uint64_t
state_claim(const struct state *st, char name[SWIM_NAME_MAX + 1])
{
	memcpy(name, st->claim_name, sizeof(st->claim_name));
	return st->claim_term;
}

uint64_t
state_max_term(const struct state *st)
{
	return st->max_term;
}

size_t
state_voter_count(const struct state *st)
{
	return st->nvoters;
}

const struct state_voter *
state_voter_at(const struct state *st, size_t i)
{
	return i < st->nvoters ? &st->voters[i] : NULL;
}

const struct state_voter *
state_voter_find(const struct state *st, const char *node)
{
	bool found;
	size_t i = voter_search(st, node, strnlen(node, SWIM_NAME_MAX + 1),
				&found);

	return found ? &st->voters[i] : NULL;
}

uint64_t
state_clock(const struct state *st)
{
	return st->clock;
}

const struct state_stats *
state_stats(const struct state *st)
{
	return &st->stats;
}

size_t
state_memory(const struct state *st)
{
	size_t n = sizeof(*st) + st->nsvcs * sizeof(*st->svcs) +
		   st->avail_cap * sizeof(*st->avail) +
		   st->voters_cap * sizeof(*st->voters) + st->cur.cap +
		   st->scratch.cap + st->qbytes;

	for (unsigned i = 0; i < STATE_REASM_MAX; i++)
		n += st->reasm[i].data ? REASM_BYTES : 0;
	for (size_t i = 0; i < st->nsvcs; i++) {
		const struct state_service *sv = st->svcs[i];

		n += sizeof(*sv) + sv->slots_cap * sizeof(*sv->slots);
		for (uint32_t j = 0; j < sv->spec.nargs; j++)
			n += strlen(sv->spec.args[j]) + 1;
		for (uint32_t j = 0; j < sv->spec.nenv; j++)
			n += strlen(sv->spec.env[j]) + 1;
	}
	return n;
}
