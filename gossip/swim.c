/* SPDX-License-Identifier: MIT */
/*
 * gossip/swim.c — SWIM membership with the Lifeguard extensions.
 *
 * The protocol
 * ------------
 * Every protocol period a node probes one member, walking a shuffled list
 * round-robin (re-shuffled at the end of every pass; newcomers are swapped
 * into a random position). A probe is a ping; if no ack arrives within the
 * probe timeout, the node asks k random members to ping the target for it
 * (ping-req). Helpers that cannot reach the target within a probe timeout
 * answer with a nack. If by the end of the period no ack has come back,
 * directly or relayed, the target is suspected.
 *
 * A suspicion is gossiped. The suspect refutes it by raising its
 * incarnation number and gossiping that it is alive; otherwise, when its
 * suspicion timeout runs out, the suspecting node declares it dead. The
 * incarnation starts at the node's start time, so a node that restarts
 * outranks every rumour about its previous life.
 *
 * Lifeguard (Dadgar et al., 2018) adds three things, all here:
 *   - local health: a score raised by failed probes with missing nacks and
 *     by refuting, lowered by successful probes. It multiplies our own probe
 *     interval and probe timeout, so a node that is itself slow (and would
 *     otherwise accuse healthy members) backs off;
 *   - dynamic suspicion: the timeout starts at max = SuspicionMaxTimeoutMult
 *     x min and shrinks toward min = SuspicionMult x log10(N) x interval as
 *     independent members confirm the suspicion;
 *   - buddy system: a ping to a suspect carries the suspicion, so a live
 *     suspect learns of it from its first probe and refutes at once.
 *
 * Dissemination and anti-entropy
 * ------------------------------
 * Membership updates ride on every datagram we send (gossip/dissem.h), each
 * retransmitted RetransmitMult x ceil(log10(N+1)) times; a gossip loop also
 * sends queued updates to a few random members (and to recently dead ones,
 * so they may refute) every gossip interval. A periodic push-pull over a
 * stream exchanges the full member table and the application's state blob
 * with one random member, at an interval that grows with the cluster above
 * 32 nodes (memberlist's pushPullScale). Join is a push-pull with a seed.
 * Serf's layer is here too: failed members are retried every reconnect
 * interval (with probability failed/alive), which is how two halves of a
 * healed partition find each other, and failed and left members are reaped
 * after a configurable time.
 *
 * Precedence (the merge rules every update goes through)
 * ----------------------------------------------------
 *   alive(i)   beats any state of incarnation < i; for a suspect it is a
 *              refutation; for a failed or left member it is a rejoin. An
 *              alive for a live member from another address is a name
 *              conflict and is refused.
 *   suspect(i) applies to an alive member with incarnation <= i; for a
 *              member already suspected it is a confirmation (counted once
 *              per accuser). About ourselves: refute.
 *   dead(i)    applies to an alive or suspect member with incarnation
 *              <= i; left(i) also turns failed into left (force-leave).
 *              About ourselves: refute, unless we are leaving.
 * A remote table merged by push-pull is read the same way, except that a
 * remote "dead" only makes us suspect (the member gets its chance to
 * refute), as memberlist does.
 *
 * Safety of input
 * ---------------
 * A packet is opened (core/crypto), its header checked against replay (a
 * 64-packet window per sender and boot; unknown senders and new boots must
 * be within the clock-skew bound, and only the member itself may start a
 * new boot of its name: see replay_check()), then decoded twice: a first
 * pass validates every message, and only a packet that is valid as a whole
 * is applied. A bad packet therefore changes nothing but a drop counter.
 *
 * Purity: no clocks, no I/O, no globals. Time comes in as now_ms, random
 * choices come from s->rng (seeded from the config), nonces from the
 * runtime's callback or from s->nonce_rng, a separate stream, so that the
 * number of packets sent does not shift the protocol's random choices.
 */
#include "gossip/swim.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/num.h"
#include "core/rng.h"
#include "gossip/dissem.h"
#include "gossip/members.h"
#include "gossip/wire.h"

#define SUSP_WHO_MAX 8
#define RELAY_MAX 64
#define STREAMS_MAX 32
#define SEEDS_MAX 16
#define EV_MAX 65536
#define SCRATCH_KEEP (64u << 10)
#define OUT_KEEP (256u << 10)
#define DGRAM_MAX 65535

enum stream_purpose {
	SP_JOIN = 1,
	SP_PUSHPULL = 2,
	SP_RECONNECT = 3,
	SP_PING = 4, /* TCP fallback ping of a probe */
	SP_PUSH = 5, /* our full table: a probe found views differ, or a
		      * join answer made us refute (see swim_stream_reply) */
};

/* A suspicion we time. Whether it is held (expired unconfirmed, see
 * swim_tick) is the member's MEMBER_F_HELD flag, which the digest reads. */
struct susp {
	uint32_t slot;
	uint32_t k;	/* confirmations that shrink the timeout fully */
	uint32_t n;	/* independent confirmations so far */
	uint32_t nwho;
	uint64_t inc;
	uint64_t start_ms, min_ms, max_ms, deadline_ms;
	struct istr *who[SUSP_WHO_MAX]; /* accusers; who[0] is the first */
};

struct relay {
	uint64_t seq;	     /* the seq of our ping to the target */
	uint64_t req_seq;    /* the requester's seq */
	uint64_t nack_at_ms; /* no ack by then: nack (see relay_add) */
	uint64_t expire_ms;  /* a late ack is still forwarded until then */
	struct addr req_addr;
	uint32_t req_key; /* the key the ping-req came in */
	bool want_nack;
	bool nacked;
};

struct pending_stream {
	uint32_t id;
	uint8_t purpose;
	uint64_t seq; /* SP_PING: the probe's sequence number */
	uint64_t expire_ms;
	struct addr to;
};

struct probe {
	bool active;
	bool acked;
	bool indirect_sent;
	bool tcp_acked; /* the TCP fallback ping was answered */
	struct istr *target; /* reference held while probing */
	uint64_t seq;
	uint64_t start_ms, timeout_at_ms, end_at_ms;
	uint32_t nacks_expected, nacks;
};

struct outq_item {
	uint8_t kind;
	uint32_t stream_id;
	struct addr to;
	size_t off, len;
};

struct swim {
	struct swim_config cfg;
	struct swim_env env;
	struct swim_app app;
	struct rng rng;
	struct rng nonce_rng;
	struct mtab tab;
	struct dissem q;
	uint32_t self;
	size_t name_len;
	size_t label_len;
	uint64_t boot;	   /* our replay boot id */
	uint32_t seq;	   /* our datagram sequence */
	uint64_t ping_seq; /* our ping sequence */
	uint64_t last_now;
	uint64_t epoch_ms; /* origin of member.changed_ds */
	unsigned awareness;
	uint64_t digest;

	uint32_t *probe;
	uint32_t probe_n, probe_cap, probe_idx;
	struct probe pr;
	uint64_t probe_next_ms;

	uint64_t gossip_next_ms;
	uint64_t pushpull_next_ms;
	uint64_t reconnect_next_ms;
	uint64_t reap_next_ms;

	struct susp *susp;
	uint32_t nsusp, susp_cap;

	struct relay relays[RELAY_MAX];
	uint32_t nrelay;

	struct pending_stream streams[STREAMS_MAX];
	uint32_t nstreams;
	uint32_t next_stream_id;

	struct addr seeds[SEEDS_MAX];
	uint32_t nseeds;
	bool joining, joined;
	uint32_t join_attempts, join_pending;
	uint64_t join_next_ms;

	bool leaving, stopped;
	uint64_t leave_deadline_ms;

	struct outq_item *out;
	uint32_t nout, out_head, out_cap;
	struct buf outdata;

	struct swim_event *ev;
	uint32_t ev_head, ev_n, ev_cap;
	uint64_t ev_dropped;

	struct buf scratch;
	struct swim_stats st;
};

/* ---- names ---- */

const char *
swim_state_name(enum swim_state st)
{
	switch (st) {
	case SWIM_ALIVE:
		return "alive";
	case SWIM_SUSPECT:
		return "suspect";
	case SWIM_DEAD:
		return "failed";
	case SWIM_LEFT:
		return "left";
	}
	return "unknown";
}

const char *
swim_event_name(enum swim_event_kind kind)
{
	switch (kind) {
	case SWIM_EV_JOIN:
		return "member-join";
	case SWIM_EV_UPDATE:
		return "member-update";
	case SWIM_EV_SUSPECT:
		return "member-suspect";
	case SWIM_EV_ALIVE:
		return "member-alive";
	case SWIM_EV_FAILED:
		return "member-failed";
	case SWIM_EV_LEFT:
		return "member-leave";
	case SWIM_EV_REAP:
		return "member-reap";
	case SWIM_EV_CONFLICT:
		return "name-conflict";
	case SWIM_EV_JOINED:
		return "joined";
	case SWIM_EV_JOIN_FAILED:
		return "join-failed";
	case SWIM_EV_REFUTED:
		return "refuted";
	case SWIM_EV_LEAVE_DONE:
		return "leave-done";
	}
	return "unknown";
}

const char *
swim_drop_name(enum swim_drop d)
{
	static const char *const names[SWIM_DROP__N] = {
		[SWIM_DROP_TRUNC] = "truncated",
		[SWIM_DROP_VERSION] = "version",
		[SWIM_DROP_PLAIN] = "unencrypted",
		[SWIM_DROP_NOKEY] = "unknown_key",
		[SWIM_DROP_AUTH] = "auth_failed",
		[SWIM_DROP_DECODE] = "malformed",
		[SWIM_DROP_REPLAY] = "replayed",
		[SWIM_DROP_STALE] = "stale",
		[SWIM_DROP_SKEW] = "clock_skew",
		[SWIM_DROP_SELF] = "from_self",
		[SWIM_DROP_TOOBIG] = "too_big",
		[SWIM_DROP_FULL] = "table_full",
		[SWIM_DROP_STOPPED] = "stopped",
		[SWIM_DROP_CONFLICT] = "name_conflict",
		[SWIM_DROP_NOMEM] = "no_memory",
		[SWIM_DROP_NOSTREAM] = "unknown_stream",
	};

	if ((unsigned)d >= SWIM_DROP__N)
		return "unknown";
	return names[d];
}

/* Characters allowed in names: [A-Za-z0-9._-]. A table, because every
 * name in every received message goes through here. */
static const uint8_t name_ok[256] = {
	['-'] = 1, ['.'] = 1, ['_'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
	['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
};

bool
swim_name_valid(const char *name, size_t len)
{
	unsigned ok = 1;

	if (!name || len == 0 || len > SWIM_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		ok &= name_ok[(uint8_t)name[i]];
	return ok;
}

/* ---- small helpers ---- */

static inline struct member *
mem(struct swim *s, uint32_t slot)
{
	return &s->tab.m[slot];
}

static inline uint64_t
scaled(const struct swim *s, uint64_t t_ms)
{
	return t_ms * (s->awareness + 1);
}

static void
awareness_add(struct swim *s, int delta)
{
	int v = (int)s->awareness + delta;
	int max = (int)s->cfg.prof.awareness_max_mult - 1;

	if (v < 0)
		v = 0;
	if (v > max)
		v = max;
	s->awareness = (unsigned)v;
}

static uint32_t
now_ds(const struct swim *s, uint64_t now)
{
	uint64_t d = (now - s->epoch_ms) / 100;

	return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static uint64_t
age_ms(const struct swim *s, const struct member *e, uint64_t now)
{
	uint64_t changed = s->epoch_ms + (uint64_t)e->changed_ds * 100;

	return now > changed ? now - changed : 0;
}

/* The state we show others: a held suspicion is a private doubt, sent as
 * alive in push-pull and no longer gossiped, so it is alive here too. */
static inline uint8_t
shown_state(const struct member *e)
{
	if (e->state == SWIM_SUSPECT && (e->flags & MEMBER_F_HELD))
		return SWIM_ALIVE;
	return e->state;
}

static uint64_t
member_hash(const struct member *e)
{
	return hash64(e->name->data, e->name->len,
		      e->inc * 4 + shown_state(e) + 0x5157494dULL);
}

/* The digest covers live members only: a node that joins later never
 * learns of members that failed or left before it came (as in memberlist),
 * so including them would make equal live views look different. It hashes
 * the state we show (shown_state()), so that two nodes that would send
 * each other the same live table have the same digest. */
static void
digest_out(struct swim *s, uint32_t slot)
{
	const struct member *e = mem(s, slot);

	if (e->state == SWIM_ALIVE || e->state == SWIM_SUSPECT)
		s->digest -= member_hash(e);
}

static void
digest_in(struct swim *s, uint32_t slot)
{
	const struct member *e = mem(s, slot);

	if (e->state == SWIM_ALIVE || e->state == SWIM_SUSPECT)
		s->digest += member_hash(e);
}

/* Hold or release the suspicion of member slot, keeping the digest right. */
static void
set_held(struct swim *s, uint32_t slot, bool held)
{
	struct member *e = mem(s, slot);

	if (!!(e->flags & MEMBER_F_HELD) == held)
		return;
	digest_out(s, slot);
	if (held)
		e->flags |= MEMBER_F_HELD;
	else
		e->flags &= (uint8_t)~MEMBER_F_HELD;
	digest_in(s, slot);
}

/* Members that count as "the cluster" for the protocol's formulas. */
static uint32_t
cluster_size(const struct swim *s)
{
	return s->tab.count[SWIM_ALIVE] + s->tab.count[SWIM_SUSPECT] +
	       s->tab.count[SWIM_DEAD];
}

static uint32_t
retransmit_limit(const struct swim *s)
{
	uint32_t m = s->cfg.prof.retransmit_mult *
		     num_ceil_log10((uint64_t)cluster_size(s) + 1);

	return m ? m : 1;
}

static void
copy_name(char *dst, const char *src, size_t n)
{
	if (n > SWIM_NAME_MAX)
		n = SWIM_NAME_MAX;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- events ---- */

static void
push_event(struct swim *s, enum swim_event_kind kind, uint64_t now,
	   const char *name, size_t name_len, const struct addr *addr,
	   uint64_t inc, enum swim_state st)
{
	struct swim_event *e;
	struct log_rec r;

	if (s->ev_n == s->ev_cap) {
		uint32_t cap = s->ev_cap ? s->ev_cap * 2 : 16;
		struct swim_event *ev = NULL;

		if (cap <= EV_MAX)
			ev = malloc(cap * sizeof(*ev));
		if (!ev) {
			/* Full or no memory: drop the oldest. */
			s->ev_head = (s->ev_head + 1) % s->ev_cap;
			s->ev_n--;
			s->ev_dropped++;
		} else {
			for (uint32_t i = 0; i < s->ev_n; i++)
				ev[i] = s->ev[(s->ev_head + i) % s->ev_cap];
			free(s->ev);
			s->ev = ev;
			s->ev_cap = cap;
			s->ev_head = 0;
		}
	}
	e = &s->ev[(s->ev_head + s->ev_n) % s->ev_cap];
	s->ev_n++;
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->time_ms = now;
	copy_name(e->name, name, name_len);
	if (addr)
		e->addr = *addr;
	e->incarnation = inc;
	e->state = st;

	/* Debug: the runtime logs each event it drains at info already. A
	 * name conflict is worth a warning of its own. */
	if (log_begin(&r, s->env.log,
		      kind == SWIM_EV_CONFLICT ? LOG_WARN : LOG_DEBUG,
		      swim_event_name(kind))) {
		char a[ADDR_STR_MAX];

		log_str(&r, "node", e->name);
		if (addr && addr->family) {
			addr_format(addr, a, sizeof(a));
			log_str(&r, "addr", a);
		}
		log_u64(&r, "inc", inc);
		log_end(&r);
	}
}

static void
member_event(struct swim *s, enum swim_event_kind kind, uint64_t now,
	     uint32_t slot)
{
	struct member *e = mem(s, slot);
	struct addr a;

	mtab_ident_addr(e->ident, &a);
	push_event(s, kind, now, e->name->data, e->name->len, &a, e->inc,
		   (enum swim_state)e->state);
}

bool
swim_pop_event(struct swim *s, struct swim_event *ev)
{
	if (!s->ev_n) {
		/* A storm of events (a bootstrap) grew the ring: give the
		 * memory back once it is drained. */
		if (s->ev_cap > 64) {
			free(s->ev);
			s->ev = NULL;
			s->ev_cap = 0;
			s->ev_head = 0;
		}
		return false;
	}
	*ev = s->ev[s->ev_head];
	s->ev_head = (s->ev_head + 1) % s->ev_cap;
	s->ev_n--;
	return true;
}

/* ---- outbox ---- */

static struct outq_item *
out_push(struct swim *s)
{
	if (s->out_head == s->nout) {
		s->out_head = 0;
		s->nout = 0;
		if (s->outdata.cap > OUT_KEEP)
			buf_release(&s->outdata);
		buf_reset(&s->outdata);
	}
	if (s->nout == s->out_cap) {
		uint32_t cap = s->out_cap ? s->out_cap * 2 : 8;
		struct outq_item *o = realloc(s->out, cap * sizeof(*o));

		if (!o)
			return NULL;
		s->out = o;
		s->out_cap = cap;
	}
	return &s->out[s->nout++];
}

bool
swim_pop_out(struct swim *s, struct swim_out *o)
{
	const struct outq_item *it;

	if (s->out_head == s->nout)
		return false;
	it = &s->out[s->out_head++];
	o->kind = (enum swim_out_kind)it->kind;
	o->stream_id = it->stream_id;
	o->to = it->to;
	o->data = s->outdata.data + it->off;
	o->len = it->len;
	return true;
}

static void
make_nonce(struct swim *s, uint8_t n[CRYPTO_NONCE_LEN])
{
	if (s->env.nonce)
		s->env.nonce(s->env.nonce_ctx, n);
	else
		rng_fill(&s->nonce_rng, n, CRYPTO_NONCE_LEN);
}

/* Seal the plaintext in s->scratch into the outbox. */
/* key_id: seal with that key (a reply goes out in the key its request
 * came in); 0: the primary. */
static int
seal_out(struct swim *s, enum swim_out_kind kind, uint32_t stream_id,
	 const struct addr *to, uint32_t key_id)
{
	uint8_t nonce[CRYPTO_NONCE_LEN];
	size_t need = s->scratch.len + CRYPTO_OVERHEAD, len = 0;
	struct outq_item *it;
	uint8_t *dst;
	size_t off;
	int rc = 0;

	it = out_push(s);
	if (!it)
		return ERR_NOMEM;
	off = s->outdata.len;
	dst = buf_extend(&s->outdata, need, &rc);
	if (!dst) {
		s->nout--;
		return rc;
	}
	make_nonce(s, nonce);
	rc = crypto_seal_with(s->env.keyring, key_id, s->cfg.cluster,
			      s->label_len, nonce, s->scratch.data,
			      s->scratch.len, dst, need, &len);
	if (rc) {
		buf_truncate(&s->outdata, off);
		s->nout--;
		return rc;
	}
	buf_truncate(&s->outdata, off + len);
	it->kind = (uint8_t)kind;
	it->stream_id = stream_id;
	if (to)
		it->to = *to;
	else
		memset(&it->to, 0, sizeof(it->to));
	it->off = off;
	it->len = len;
	if (s->scratch.cap > SCRATCH_KEEP)
		buf_release(&s->scratch);
	return 0;
}

static void
next_hdr(struct swim *s, struct wire_hdr *h, uint64_t now)
{
	if (s->seq == UINT32_MAX) {
		/* A new replay epoch rather than a wrapped counter. */
		s->boot++;
		s->seq = 0;
	}
	h->version = WIRE_VERSION;
	h->sender = s->cfg.name;
	h->sender_len = (uint32_t)s->name_len;
	h->boot = s->boot;
	h->seq = ++s->seq;
	h->ts_ms = now;
}

/* ---- piggyback ---- */

struct fill_ctx {
	struct swim *s;
	struct wire_dgram *d;
};

static size_t
fill_room(void *ctx)
{
	struct fill_ctx *f = ctx;

	return wire_dgram_room(f->d);
}

/* The message that announces the current state of member e. */
static void
member_msg(struct swim *s, const struct member *e, const struct istr *from,
	   struct wire_msg *m)
{
	size_t meta_len;

	memset(m, 0, sizeof(*m));
	m->inc = e->inc;
	m->node = e->name->data;
	m->node_len = e->name->len;
	switch (e->state) {
	case SWIM_ALIVE:
		m->type = WIRE_ALIVE;
		mtab_ident_addr(e->ident, &m->addr);
		m->data = mtab_ident_meta(e->ident, &meta_len);
		m->data_len = (uint32_t)meta_len;
		return;
	case SWIM_SUSPECT:
		m->type = WIRE_SUSPECT;
		break;
	default:
		m->type = WIRE_DEAD;
		m->left = e->state == SWIM_LEFT;
		break;
	}
	if (from) {
		m->from = from->data;
		m->from_len = from->len;
	} else if (e->state == SWIM_LEFT) {
		m->from = e->name->data;
		m->from_len = e->name->len;
	} else {
		m->from = s->cfg.name;
		m->from_len = (uint32_t)s->name_len;
	}
}

static int
fill_emit(void *ctx, const struct dissem_item *it)
{
	struct fill_ctx *f = ctx;
	struct swim *s = f->s;
	struct wire_msg m;

	if (it->kind == DISSEM_MEMBER) {
		if (!mtab_in_use(&s->tab, it->slot))
			return ERR_NOENT;
		member_msg(s, mem(s, it->slot), it->from, &m);
	} else {
		memset(&m, 0, sizeof(m));
		m.type = WIRE_USER;
		m.data = it->data;
		m.data_len = it->len;
	}
	return wire_dgram_add(f->d, &m);
}

/* An upper bound of the encoded size of member e's announcement: an alive
 * carries the address and metadata, a suspect or dead carries an accuser's
 * name (at most SWIM_NAME_MAX). Map, keys, tags and integers fit in 48. */
static uint32_t
member_msg_size(const struct member *e)
{
	size_t meta_len = 0, body;

	mtab_ident_meta(e->ident, &meta_len);
	body = e->state == SWIM_ALIVE ? 2 + ADDR_WIRE_MAX + 5 + meta_len
				      : 2 + SWIM_NAME_MAX;
	return (uint32_t)(48 + e->name->len + body);
}

/* Queue a broadcast of member slot's current state. */
static void
announce(struct swim *s, uint32_t slot, struct istr *from)
{
	if (dissem_member(&s->q, slot, from, member_msg_size(mem(s, slot))))
		s->st.broadcasts_dropped++;
}

/* Build and seal one datagram: the given messages first, then piggybacked
 * broadcasts when `piggyback`. Returns the number of messages sent (0: no
 * datagram was made). */
static unsigned
send_dgram_key(struct swim *s, uint64_t now, const struct addr *to,
	       const struct wire_msg *msgs, unsigned nmsgs, bool piggyback,
	       uint32_t key_id)
{
	size_t budget = s->cfg.prof.udp_payload_max -
			keyring_overhead(s->env.keyring);
	struct wire_dgram d;
	struct wire_hdr h;
	unsigned n;

	if (!to || !to->family)
		return 0;
	next_hdr(s, &h, now);
	if (wire_dgram_begin(&d, &s->scratch, budget, &h))
		return 0;
	for (unsigned i = 0; i < nmsgs; i++)
		wire_dgram_add(&d, &msgs[i]);
	if (piggyback) {
		struct fill_ctx f = { s, &d };

		dissem_fill(&s->q, retransmit_limit(s), fill_room, fill_emit,
			    &f);
	}
	n = wire_dgram_end(&d);
	if (n == 0)
		return 0;
	if (seal_out(s, SWIM_OUT_DGRAM, 0, to, key_id))
		return 0;
	s->st.dgrams_out++;
	s->st.bytes_out += s->out[s->nout - 1].len;
	s->st.msgs_out += n;
	return n;
}

static unsigned
send_dgram(struct swim *s, uint64_t now, const struct addr *to,
	   const struct wire_msg *msgs, unsigned nmsgs, bool piggyback)
{
	return send_dgram_key(s, now, to, msgs, nmsgs, piggyback, 0);
}

/* ---- suspicion ---- */

static struct susp *
susp_find(struct swim *s, uint32_t slot)
{
	for (uint32_t i = 0; i < s->nsusp; i++)
		if (s->susp[i].slot == slot)
			return &s->susp[i];
	return NULL;
}

static void
susp_remove(struct swim *s, uint32_t slot)
{
	set_held(s, slot, false);
	for (uint32_t i = 0; i < s->nsusp; i++) {
		if (s->susp[i].slot != slot)
			continue;
		for (uint32_t k = 0; k < s->susp[i].nwho; k++)
			intern_put(s->env.pool, s->susp[i].who[k]);
		s->susp[i] = s->susp[--s->nsusp];
		return;
	}
}

static uint64_t
susp_timeout(const struct susp *sp)
{
	double frac, raw;

	if (sp->k < 1)
		return sp->min_ms;
	frac = num_ln((double)sp->n + 1.0) / num_ln((double)sp->k + 1.0);
	raw = (double)sp->max_ms - frac * (double)(sp->max_ms - sp->min_ms);
	if (raw < (double)sp->min_ms)
		return sp->min_ms;
	return (uint64_t)raw; /* floor: raw >= min_ms >= 0 */
}

static void
susp_start(struct swim *s, uint64_t now, uint32_t slot, struct istr *from)
{
	const struct profile *p = &s->cfg.prof;
	uint32_t n = s->tab.count[SWIM_ALIVE] + s->tab.count[SWIM_SUSPECT];
	double scale = num_log10_u64(n > 1 ? n : 1);
	struct susp *sp;
	uint32_t k;

	if (scale < 1.0)
		scale = 1.0;
	k = p->suspicion_mult > 2 ? p->suspicion_mult - 2 : 0;
	if (n < 2 || n - 2 < k)
		k = 0;
	if (k > SUSP_WHO_MAX - 1)
		k = SUSP_WHO_MAX - 1;
	susp_remove(s, slot);
	if (s->nsusp == s->susp_cap) {
		uint32_t cap = s->susp_cap ? s->susp_cap * 2 : 4;
		struct susp *ns = realloc(s->susp, cap * sizeof(*ns));

		if (!ns)
			return; /* the member stays suspect until refuted */
		s->susp = ns;
		s->susp_cap = cap;
	}
	sp = &s->susp[s->nsusp++];
	memset(sp, 0, sizeof(*sp));
	sp->slot = slot;
	sp->k = k;
	sp->inc = mem(s, slot)->inc;
	sp->start_ms = now;
	sp->min_ms = (uint64_t)((double)p->suspicion_mult * scale *
				(double)p->probe_interval_ms);
	sp->max_ms = sp->min_ms * p->suspicion_max_timeout_mult;
	sp->who[0] = intern_ref(from);
	sp->nwho = 1;
	sp->deadline_ms = now + susp_timeout(sp);
}

/* Count a confirmation; true if it was new (and should be re-gossiped). */
static bool
susp_confirm(struct susp *sp, struct istr *from)
{
	if (sp->n >= sp->k)
		return false;
	for (uint32_t i = 0; i < sp->nwho; i++)
		if (sp->who[i] == from)
			return false;
	if (sp->nwho >= SUSP_WHO_MAX)
		return false;
	sp->who[sp->nwho++] = intern_ref(from);
	sp->n++;
	sp->deadline_ms = sp->start_ms + susp_timeout(sp);
	return true;
}

/* ---- probe order ---- */

static void
probe_insert(struct swim *s, uint32_t slot)
{
	uint32_t j;

	if (s->probe_n == s->probe_cap) {
		uint32_t cap = s->probe_cap + s->probe_cap / 2 + 8;
		uint32_t *p = realloc(s->probe, cap * sizeof(*p));

		if (!p)
			return; /* it joins the list at the next rebuild */
		s->probe = p;
		s->probe_cap = cap;
	}
	s->probe[s->probe_n] = slot;
	j = (uint32_t)rng_below(&s->rng, (uint64_t)s->probe_n + 1);
	s->probe[s->probe_n] = s->probe[j];
	s->probe[j] = slot;
	s->probe_n++;
}

static void
probe_rebuild(struct swim *s)
{
	uint32_t n = 0;

	if (s->probe_cap < s->tab.used) {
		uint32_t *p = realloc(s->probe, s->tab.used * sizeof(*p));

		if (!p)
			return;
		s->probe = p;
		s->probe_cap = s->tab.used;
	}
	for (uint32_t i = 0; i < s->tab.hi; i++) {
		const struct member *e = &s->tab.m[i];

		if (e->name && i != s->self &&
		    (e->state == SWIM_ALIVE || e->state == SWIM_SUSPECT))
			s->probe[n++] = i;
	}
	s->probe_n = n;
	rng_shuffle_u32(&s->rng, s->probe, n);
	s->probe_idx = 0;
}

static uint32_t
probe_pick(struct swim *s)
{
	for (uint32_t tries = 0; tries <= s->probe_n + 1; tries++) {
		uint32_t slot;
		const struct member *e;

		if (s->probe_idx >= s->probe_n) {
			probe_rebuild(s);
			if (s->probe_n == 0)
				return MTAB_NONE;
		}
		slot = s->probe[s->probe_idx++];
		if (!mtab_in_use(&s->tab, slot) || slot == s->self)
			continue;
		e = &s->tab.m[slot];
		if (e->state == SWIM_ALIVE || e->state == SWIM_SUSPECT)
			return slot;
	}
	return MTAB_NONE;
}

/* ---- random members ---- */

enum pick_filter {
	PICK_ALIVE,	     /* alive only */
	PICK_LIVE,	     /* alive or suspect */
	PICK_GOSSIP,	     /* alive, suspect, or recently dead */
	PICK_DEAD,	     /* failed (not left) */
};

static bool
pick_ok(const struct swim *s, uint32_t slot, enum pick_filter f,
	uint32_t exclude, uint64_t now)
{
	const struct member *e;

	if (!mtab_in_use(&s->tab, slot) || slot == s->self || slot == exclude)
		return false;
	e = &s->tab.m[slot];
	switch (f) {
	case PICK_ALIVE:
		return e->state == SWIM_ALIVE;
	case PICK_LIVE:
		return e->state == SWIM_ALIVE || e->state == SWIM_SUSPECT;
	case PICK_GOSSIP:
		if (e->state == SWIM_ALIVE || e->state == SWIM_SUSPECT)
			return true;
		return e->state == SWIM_DEAD &&
		       age_ms(s, e, now) < s->cfg.prof.gossip_to_dead_ms;
	case PICK_DEAD:
		return e->state == SWIM_DEAD;
	}
	return false;
}

/* Up to k distinct random members passing the filter. Rejection sampling
 * when candidates are plentiful, reservoir sampling over the table when
 * they are sparse. */
static unsigned
pick_random(struct swim *s, unsigned k, enum pick_filter f, uint32_t exclude,
	    uint64_t now, uint32_t *out)
{
	unsigned found = 0;
	uint32_t hi = s->tab.hi;
	uint32_t cand;

	if (k == 0 || hi == 0)
		return 0;
	switch (f) {
	case PICK_ALIVE:
		cand = s->tab.count[SWIM_ALIVE];
		break;
	case PICK_DEAD:
		cand = s->tab.count[SWIM_DEAD];
		break;
	default:
		cand = s->tab.count[SWIM_ALIVE] + s->tab.count[SWIM_SUSPECT] +
		       s->tab.count[SWIM_DEAD];
		break;
	}
	if ((uint64_t)cand * 4 >= hi && hi > 16) {
		for (unsigned tries = 0; tries < 8 * k + 32 && found < k;
		     tries++) {
			uint32_t slot = (uint32_t)rng_below(&s->rng, hi);
			bool dup = false;

			if (!pick_ok(s, slot, f, exclude, now))
				continue;
			for (unsigned i = 0; i < found; i++)
				dup |= out[i] == slot;
			if (!dup)
				out[found++] = slot;
		}
		if (found == k)
			return found;
		found = 0;
	}
	{
		uint64_t seen = 0;

		for (uint32_t slot = 0; slot < hi; slot++) {
			if (!pick_ok(s, slot, f, exclude, now))
				continue;
			seen++;
			if (found < k) {
				out[found++] = slot;
			} else {
				uint64_t j = rng_below(&s->rng, seen);

				if (j < k)
					out[j] = slot;
			}
		}
	}
	/* The reservoir keeps table order for the first k: shuffle, or the
	 * callers that spend a limited budget in this order (gossip spends
	 * retransmissions) would always favour the same members. */
	rng_shuffle_u32(&s->rng, out, found);
	return found;
}

/* ---- state changes ---- */

static void
set_changed(struct swim *s, uint32_t slot, uint64_t now)
{
	mem(s, slot)->changed_ds = now_ds(s, now);
}

static void
refute(struct swim *s, uint64_t now, uint64_t accused)
{
	struct member *me = mem(s, s->self);

	digest_out(s, s->self);
	me->inc = (accused >= me->inc ? accused : me->inc) + 1;
	digest_in(s, s->self);
	announce(s, s->self, NULL);
	awareness_add(s, 1);
	s->st.refutes++;
	member_event(s, SWIM_EV_REFUTED, now, s->self);
}

static void
on_alive(struct swim *s, uint64_t now, const char *name, size_t len,
	 uint64_t inc, const struct addr *addr, const uint8_t *meta,
	 size_t meta_len)
{
	uint32_t slot = mtab_find(&s->tab, name, len);
	struct member *e;
	struct istr *ident;
	struct addr cur;
	uint8_t old;
	bool same_ident;
	int err = 0;

	if (slot == MTAB_NONE) {
		slot = mtab_add(&s->tab, name, len, &err);
		if (slot == MTAB_NONE) {
			if (err == ERR_FULL)
				s->st.drops[SWIM_DROP_FULL]++;
			return;
		}
		e = mem(s, slot);
		e->ident = mtab_ident(&s->tab, addr, meta, meta_len);
		e->inc = inc;
		set_changed(s, slot, now);
		digest_in(s, slot);
		probe_insert(s, slot);
		announce(s, slot, NULL);
		member_event(s, SWIM_EV_JOIN, now, slot);
		return;
	}
	e = mem(s, slot);
	/* Old news about someone else (the common case in push-pull, where
	 * whole tables come in): decided without interning anything. */
	if (slot != s->self && inc <= e->inc)
		return;
	ident = mtab_ident(&s->tab, addr, meta, meta_len);
	if (!ident)
		return;
	same_ident = ident == e->ident;
	mtab_ident_addr(e->ident, &cur);

	if (slot == s->self) {
		if (s->leaving || inc < e->inc ||
		    (inc == e->inc && same_ident)) {
			intern_put(s->env.pool, ident);
			return;
		}
		if (!addr_equal(addr, &cur))
			push_event(s, SWIM_EV_CONFLICT, now, name, len, addr,
				   inc, SWIM_ALIVE);
		intern_put(s->env.pool, ident);
		refute(s, now, inc);
		return;
	}
	if (!addr_equal(addr, &cur) &&
	    (e->state == SWIM_ALIVE || e->state == SWIM_SUSPECT)) {
		/* A live member keeps its name. */
		intern_put(s->env.pool, ident);
		if (inc > e->inc)
			push_event(s, SWIM_EV_CONFLICT, now, name, len, addr,
				   inc, (enum swim_state)e->state);
		return;
	}
	if (inc <= e->inc) {
		intern_put(s->env.pool, ident);
		return;
	}
	old = e->state;
	digest_out(s, slot);
	e->inc = inc;
	if (!same_ident) {
		intern_put(s->env.pool, e->ident);
		e->ident = ident;
	} else {
		intern_put(s->env.pool, ident);
	}
	if (old != SWIM_ALIVE) {
		mtab_set_state(&s->tab, slot, SWIM_ALIVE);
		set_changed(s, slot, now);
	}
	susp_remove(s, slot);
	digest_in(s, slot);
	if (old == SWIM_DEAD || old == SWIM_LEFT)
		probe_insert(s, slot);
	announce(s, slot, NULL);
	if (old == SWIM_DEAD || old == SWIM_LEFT)
		member_event(s, SWIM_EV_JOIN, now, slot);
	else if (!same_ident)
		member_event(s, SWIM_EV_UPDATE, now, slot);
	else if (old == SWIM_SUSPECT)
		member_event(s, SWIM_EV_ALIVE, now, slot);
}

static void
on_suspect(struct swim *s, uint64_t now, const char *name, size_t len,
	   uint64_t inc, const char *from, size_t from_len)
{
	uint32_t slot = mtab_find(&s->tab, name, len);
	struct member *e;
	struct istr *who;

	if (slot == MTAB_NONE)
		return;
	e = mem(s, slot);
	if (inc < e->inc)
		return;
	if (slot == s->self) {
		if (!s->leaving)
			refute(s, now, inc);
		return;
	}
	if (e->state == SWIM_SUSPECT) {
		struct susp *sp = susp_find(s, slot);

		who = intern_get(s->env.pool, from, from_len);
		if (!who)
			return;
		if (sp && susp_confirm(sp, who)) {
			set_held(s, slot, false);
			announce(s, slot, who);
		}
		intern_put(s->env.pool, who);
		return;
	}
	if (e->state != SWIM_ALIVE)
		return;
	who = intern_get(s->env.pool, from, from_len);
	if (!who)
		return;
	digest_out(s, slot);
	e->inc = inc;
	mtab_set_state(&s->tab, slot, SWIM_SUSPECT);
	set_changed(s, slot, now);
	digest_in(s, slot);
	susp_start(s, now, slot, who);
	announce(s, slot, who);
	intern_put(s->env.pool, who);
	member_event(s, SWIM_EV_SUSPECT, now, slot);
}

static void
on_dead(struct swim *s, uint64_t now, const char *name, size_t len,
	uint64_t inc, const char *from, size_t from_len, bool left)
{
	uint32_t slot = mtab_find(&s->tab, name, len);
	struct member *e;
	struct istr *who;

	if (slot == MTAB_NONE)
		return;
	e = mem(s, slot);
	if (inc < e->inc)
		return;
	if (slot == s->self) {
		if (!s->leaving)
			refute(s, now, inc);
		return;
	}
	if (e->state == SWIM_LEFT || (e->state == SWIM_DEAD && !left))
		return;
	who = intern_get(s->env.pool, from, from_len);
	digest_out(s, slot);
	e->inc = inc;
	mtab_set_state(&s->tab, slot, left ? SWIM_LEFT : SWIM_DEAD);
	set_changed(s, slot, now);
	digest_in(s, slot);
	susp_remove(s, slot);
	announce(s, slot, who);
	intern_put(s->env.pool, who);
	member_event(s, left ? SWIM_EV_LEFT : SWIM_EV_FAILED, now, slot);
}

/* ---- probing ---- */

static void stream_ping(struct swim *s, uint64_t now, const struct addr *to);

static void
probe_start(struct swim *s, uint64_t now)
{
	const struct profile *p = &s->cfg.prof;
	uint32_t slot = probe_pick(s);
	struct wire_msg m[2];
	struct member *e;
	struct addr to;
	unsigned n = 1;

	s->probe_next_ms = now + scaled(s, p->probe_interval_ms);
	if (slot == MTAB_NONE)
		return;
	e = mem(s, slot);
	mtab_ident_addr(e->ident, &to);
	memset(&s->pr, 0, sizeof(s->pr));
	s->pr.active = true;
	s->pr.target = intern_ref(e->name);
	s->pr.seq = ++s->ping_seq;
	s->pr.start_ms = now;
	s->pr.timeout_at_ms = now + scaled(s, p->probe_timeout_ms);
	s->pr.end_at_ms = s->probe_next_ms;

	memset(m, 0, sizeof(m));
	m[0].type = WIRE_PING;
	m[0].seq = s->pr.seq;
	m[0].node = e->name->data;
	m[0].node_len = e->name->len;
	m[0].has_src = true;
	m[0].src = s->cfg.addr;
	m[0].from = s->cfg.name;
	m[0].from_len = (uint32_t)s->name_len;
	if (e->state == SWIM_SUSPECT) {
		/* Buddy system: tell the suspect it is suspected. */
		m[1].type = WIRE_SUSPECT;
		m[1].inc = e->inc;
		m[1].node = e->name->data;
		m[1].node_len = e->name->len;
		m[1].from = s->cfg.name;
		m[1].from_len = (uint32_t)s->name_len;
		n = 2;
	}
	s->st.probes++;
	send_dgram(s, now, &to, m, n, true);
}

static void
probe_indirect(struct swim *s, uint64_t now)
{
	const struct profile *p = &s->cfg.prof;
	uint32_t slot, helpers[16];
	struct wire_msg m;
	struct addr to;
	unsigned k;

	s->pr.indirect_sent = true;
	slot = mtab_find(&s->tab, s->pr.target->data, s->pr.target->len);
	if (slot == MTAB_NONE)
		return;
	k = p->indirect_checks < 16 ? p->indirect_checks : 16;
	k = pick_random(s, k, PICK_ALIVE, slot, now, helpers);
	memset(&m, 0, sizeof(m));
	m.type = WIRE_PING_REQ;
	m.seq = s->pr.seq;
	m.node = s->pr.target->data;
	m.node_len = s->pr.target->len;
	mtab_ident_addr(mem(s, slot)->ident, &m.addr);
	m.nack = true;
	m.has_src = true;
	m.src = s->cfg.addr;
	m.from = s->cfg.name;
	m.from_len = (uint32_t)s->name_len;
	for (unsigned i = 0; i < k; i++) {
		mtab_ident_addr(mem(s, helpers[i])->ident, &to);
		if (send_dgram(s, now, &to, &m, 1, true))
			s->pr.nacks_expected++;
	}
	s->st.probe_indirect++;
	if (p->tcp_pings)
		stream_ping(s, now, &m.addr);
}

static void
probe_finish(struct swim *s, uint64_t now)
{
	uint32_t slot;

	s->pr.active = false;
	if (!s->pr.acked && s->pr.tcp_acked) {
		struct log_rec r;

		/* UDP failed but TCP reached the target: not a failure of
		 * the target; the network may be dropping UDP. */
		s->st.probe_tcp_saved++;
		awareness_add(s, -1);
		if (log_begin(&r, s->env.log, LOG_WARN,
			      "udp probes failed but a tcp ping succeeded")) {
			log_str(&r, "node", s->pr.target->data);
			log_end(&r);
		}
	} else if (!s->pr.acked) {
		int delta;

		if (s->pr.nacks_expected > 0)
			delta = s->pr.nacks < s->pr.nacks_expected
					? (int)(s->pr.nacks_expected -
						s->pr.nacks)
					: 0;
		else
			delta = 1;
		awareness_add(s, delta);
		s->st.probe_failed++;
		slot = mtab_find(&s->tab, s->pr.target->data,
				 s->pr.target->len);
		if (slot != MTAB_NONE && !s->stopped) {
			struct member *e = mem(s, slot);

			if (e->state == SWIM_ALIVE ||
			    e->state == SWIM_SUSPECT) {
				struct log_rec r;

				if (log_begin(&r, s->env.log, LOG_DEBUG,
					      "probe failed")) {
					log_str(&r, "node", e->name->data);
					log_u64(&r, "nacks", s->pr.nacks);
					log_u64(&r, "health", s->awareness);
					log_end(&r);
				}
				s->st.suspicions++;
				on_suspect(s, now, e->name->data, e->name->len,
					   e->inc, s->cfg.name, s->name_len);
			}
		}
	}
	intern_put(s->env.pool, s->pr.target);
	s->pr.target = NULL;
}

/* A ping outside the probe cycle that carries our suspicion of the member
 * (as a probe of a suspect does): a live member refutes on receipt. */
static void
buddy_ping(struct swim *s, uint64_t now, uint32_t slot)
{
	struct member *e = mem(s, slot);
	struct wire_msg m[2];
	struct addr to;

	mtab_ident_addr(e->ident, &to);
	memset(m, 0, sizeof(m));
	m[0].type = WIRE_PING;
	m[0].seq = ++s->ping_seq;
	m[0].node = e->name->data;
	m[0].node_len = e->name->len;
	m[0].has_src = true;
	m[0].src = s->cfg.addr;
	m[0].from = s->cfg.name;
	m[0].from_len = (uint32_t)s->name_len;
	m[1].type = WIRE_SUSPECT;
	m[1].inc = e->inc;
	m[1].node = e->name->data;
	m[1].node_len = e->name->len;
	m[1].from = s->cfg.name;
	m[1].from_len = (uint32_t)s->name_len;
	send_dgram(s, now, &to, m, 2, false);
}

/* ---- relays (we are a ping-req helper) ---- */

/* How long a helper waits for the target's ack before it nacks. The
 * requester sent the ping-req a probe timeout into its probe and gives up
 * at the end of its probe interval, so a nack sent a whole probe timeout
 * after the ping-req (memberlist's choice) arrives just after the
 * requester stopped counting (lan: 500 + 500 ms of a 1 s interval; wan:
 * 3 + 3 s of 5 s), and every failed probe looks like missing nacks: the
 * requester's health rises although its helpers answered. The Lifeguard
 * paper (footnote 5) has the helper answer sooner: here within 4/5 of the
 * shorter of the probe timeout and what is left of the interval after
 * it. An ack that comes after the nack is still forwarded until a probe
 * timeout has passed. */
static uint64_t
relay_nack_ms(const struct profile *p)
{
	uint64_t left = p->probe_interval_ms > p->probe_timeout_ms
				? p->probe_interval_ms - p->probe_timeout_ms
				: p->probe_timeout_ms;
	uint64_t wait = p->probe_timeout_ms < left ? p->probe_timeout_ms : left;

	return wait * 4 / 5;
}

static void
relay_add(struct swim *s, uint64_t now, const struct wire_msg *m,
	  const struct addr *from, uint32_t key_id)
{
	struct wire_msg ping;
	struct relay *r;

	if (s->nrelay == RELAY_MAX) {
		/* Forget the oldest. */
		memmove(&s->relays[0], &s->relays[1],
			(RELAY_MAX - 1) * sizeof(s->relays[0]));
		s->nrelay--;
	}
	r = &s->relays[s->nrelay++];
	r->seq = ++s->ping_seq;
	r->req_seq = m->seq;
	r->req_addr = m->has_src ? m->src : *from;
	r->req_key = key_id;
	r->want_nack = m->nack;
	r->nacked = false;
	r->nack_at_ms = now + relay_nack_ms(&s->cfg.prof);
	r->expire_ms = now + s->cfg.prof.probe_timeout_ms;

	memset(&ping, 0, sizeof(ping));
	ping.type = WIRE_PING;
	ping.seq = r->seq;
	ping.node = m->node;
	ping.node_len = m->node_len;
	ping.has_src = true;
	ping.src = s->cfg.addr;
	ping.from = s->cfg.name;
	ping.from_len = (uint32_t)s->name_len;
	send_dgram(s, now, &m->addr, &ping, 1, true);
}

static void
relay_del(struct swim *s, uint32_t i)
{
	s->relays[i] = s->relays[--s->nrelay];
}

static void
send_seq_msg(struct swim *s, uint64_t now, const struct addr *to,
	     enum wire_type type, uint64_t seq, uint32_t key_id)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.seq = seq;
	send_dgram_key(s, now, to, &m, 1, true, key_id);
}

/* ---- receiving datagrams ---- */

static enum swim_drop
open_drop(int rc)
{
	switch (rc) {
	case ERR_TRUNC:
		return SWIM_DROP_TRUNC;
	case ERR_VERSION:
		return SWIM_DROP_VERSION;
	case ERR_PLAIN:
		return SWIM_DROP_PLAIN;
	case ERR_NOKEY:
		return SWIM_DROP_NOKEY;
	case ERR_TOOBIG:
		return SWIM_DROP_TOOBIG;
	case ERR_AUTH:
		return SWIM_DROP_AUTH;
	case ERR_NOMEM:
		return SWIM_DROP_NOMEM;
	default:
		return SWIM_DROP_DECODE;
	}
}

static void
drop(struct swim *s, enum swim_drop why)
{
	s->st.drops[why]++;
}

static bool
skew_ok(const struct swim *s, uint64_t ts, uint64_t now)
{
	uint64_t d = ts > now ? ts - now : now - ts;

	return d <= s->cfg.prof.max_clock_skew_ms;
}

/* Same family and IP, any port. */
static bool
same_host(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, 16) == 0;
}

/* The tag of a source address kept in member.src (never 0). */
static uint32_t
src_tag(const struct addr *from)
{
	return (uint32_t)addr_hash(from) | 1;
}

/* Does a datagram from `from` come from member e: from the address it
 * advertises, or from the source its current boot was heard from (a
 * member behind NAT sends from another address than it advertises)? */
static bool
from_member(const struct member *e, const struct addr *from)
{
	struct addr a;

	mtab_ident_addr(e->ident, &a);
	return addr_equal(from, &a) || (e->src && e->src == src_tag(from));
}

/*
 * Replay state, per member: the boot id of the sender's current life, the
 * highest sequence number seen in it and a 64-bit window below that.
 *
 *   - A sender we hold no state for is checked against the clock-skew
 *     bound only.
 *   - A datagram of the current boot must be new to the window.
 *   - A new boot (a restart, or a sequence counter that would wrap) is a
 *     new life we hold no state for: it too must be within the clock-skew
 *     bound, and it must come from the member itself (from_member()).
 *     Anyone may put a name in a datagram header; if a second node using
 *     an existing member's name (a misconfiguration or an impostor) could
 *     start a new boot, the real member's datagrams would all look stale
 *     from then on, it would be declared failed, and the other node would
 *     take its name. Such a datagram is dropped (SWIM_DROP_CONFLICT).
 *   - An older boot is stale. A member whose clock went back across a
 *     restart starts a lower boot: that is only accepted from a stream
 *     that proves it (replay_anchor()).
 *
 * Returns 0 or a drop reason + 1.
 */
static int
replay_check(struct swim *s, uint32_t slot, const struct wire_hdr *h,
	     const struct addr *from, uint64_t now)
{
	const struct member *e;
	uint32_t seq = (uint32_t)h->seq;

	if (slot == MTAB_NONE || mem(s, slot)->boot == 0)
		return skew_ok(s, h->ts_ms, now) ? 0 : SWIM_DROP_SKEW + 1;
	e = mem(s, slot);
	if (h->boot < e->boot)
		return SWIM_DROP_STALE + 1;
	if (h->boot > e->boot) {
		if (!from_member(e, from))
			return SWIM_DROP_CONFLICT + 1;
		return skew_ok(s, h->ts_ms, now) ? 0 : SWIM_DROP_SKEW + 1;
	}
	if (seq > e->seq_max)
		return 0;
	if (e->seq_max - seq >= 64)
		return SWIM_DROP_STALE + 1;
	if (e->window & ((uint64_t)1 << (e->seq_max - seq)))
		return SWIM_DROP_REPLAY + 1;
	return 0;
}

/* Note an accepted datagram in the sender's replay state. foreign: the
 * datagram claimed its sender alive at another address than our entry's
 * (a claim refused as a name conflict): it is not the member we know, so
 * it does not get to set the member's boot on first contact either. */
static void
replay_note(struct swim *s, uint32_t slot, const struct wire_hdr *h,
	    const struct addr *from, bool foreign)
{
	struct member *e;
	uint32_t seq = (uint32_t)h->seq;

	if (slot == MTAB_NONE || slot == s->self)
		return;
	e = mem(s, slot);
	if (h->boot > e->boot || e->boot == 0) {
		if (foreign)
			return;
		e->boot = h->boot;
		e->seq_max = seq;
		e->window = 1;
		e->src = src_tag(from);
	} else if (h->boot == e->boot) {
		if (!e->src && !foreign)
			e->src = src_tag(from);
		if (seq > e->seq_max) {
			uint32_t shift = seq - e->seq_max;

			e->window = shift >= 64 ? 0 : e->window << shift;
			e->window |= 1;
			e->seq_max = seq;
		} else if (e->seq_max - seq < 64) {
			e->window |= (uint64_t)1 << (e->seq_max - seq);
		}
	}
}

/* Move member slot's replay state to the boot in a stream frame's header
 * (up or down), on proof that the frame comes from the member now living
 * at its address: the member answered a stream we opened to that address,
 * or sent us over a stream from that host its own alive at a newer
 * incarnation than we held. This is how a member whose clock went back
 * across a restart (a lower boot) is heard again. Streams share the
 * sender's sequence counter with its datagrams, so the frame's sequence
 * number starts the window. */
/* The slot of the sender named in header h and the address we know it by
 * (into at), or MTAB_NONE. */
static uint32_t
sender_known_at(const struct swim *s, const struct wire_hdr *h,
		struct addr *at)
{
	uint32_t slot = mtab_find(&s->tab, h->sender, h->sender_len);

	if (slot != MTAB_NONE)
		mtab_ident_addr(s->tab.m[slot].ident, at);
	return slot;
}

static void
replay_anchor(struct swim *s, uint32_t slot, const struct wire_hdr *h)
{
	struct member *e;

	if (slot == MTAB_NONE || slot == s->self || h->seq > UINT32_MAX)
		return;
	e = mem(s, slot);
	if (h->boot == e->boot)
		return;
	e->boot = h->boot;
	e->seq_max = (uint32_t)h->seq;
	e->window = 1;
	e->src = 0;
}

/* key_id: the key the packet came in (replies go out in it). */
static void
handle_msg(struct swim *s, uint64_t now, const struct addr *from,
	   const struct wire_hdr *h, const struct wire_msg *m,
	   uint32_t key_id)
{
	s->st.msgs_in++;
	switch (m->type) {
	case WIRE_PING:
		if (m->node_len != s->name_len ||
		    memcmp(m->node, s->cfg.name, s->name_len) != 0)
			return; /* meant for someone else */
		send_seq_msg(s, now, m->has_src ? &m->src : from, WIRE_ACK,
			     m->seq, key_id);
		return;
	case WIRE_PING_REQ:
		if (m->node_len == s->name_len &&
		    memcmp(m->node, s->cfg.name, s->name_len) == 0) {
			/* Asked to ping ourselves: answer directly. */
			send_seq_msg(s, now, m->has_src ? &m->src : from,
				     WIRE_ACK, m->seq, key_id);
			return;
		}
		relay_add(s, now, m, from, key_id);
		return;
	case WIRE_ACK:
		if (s->pr.active && !s->pr.acked && m->seq == s->pr.seq) {
			/* Direct or relayed, a probe that succeeds improves
			 * our health (memberlist does the same). */
			s->pr.acked = true;
			s->st.probe_acks++;
			awareness_add(s, -1);
			return;
		}
		for (uint32_t i = 0; i < s->nrelay; i++) {
			if (s->relays[i].seq == m->seq) {
				struct addr to = s->relays[i].req_addr;
				uint64_t rs = s->relays[i].req_seq;
				uint32_t rk = s->relays[i].req_key;

				relay_del(s, i);
				send_seq_msg(s, now, &to, WIRE_ACK, rs, rk);
				return;
			}
		}
		return;
	case WIRE_NACK:
		s->st.nacks_recv++;
		if (s->pr.active && m->seq == s->pr.seq)
			s->pr.nacks++;
		return;
	case WIRE_ALIVE:
		on_alive(s, now, m->node, m->node_len, m->inc, &m->addr,
			 m->data, m->data_len);
		return;
	case WIRE_SUSPECT:
		on_suspect(s, now, m->node, m->node_len, m->inc, m->from,
			   m->from_len);
		return;
	case WIRE_DEAD:
		on_dead(s, now, m->node, m->node_len, m->inc, m->from,
			m->from_len, m->left);
		return;
	case WIRE_USER:
		if (s->app.on_message) {
			char who[SWIM_NAME_MAX + 1];

			copy_name(who, h->sender, h->sender_len);
			s->app.on_message(s->app.ctx, now, who, m->data,
					  m->data_len);
		}
		return;
	}
}

static uint64_t
clamp_now(struct swim *s, uint64_t now)
{
	if (now < s->last_now)
		now = s->last_now;
	s->last_now = now;
	return now;
}

/* Open a sealed packet into a buffer: small ones on the caller's stack. */
static uint8_t *
open_packet(struct swim *s, const uint8_t *p, size_t n, uint8_t *stackbuf,
	    size_t stackcap, size_t *pt_len, int *rc)
{
	uint8_t *pt = n <= stackcap ? stackbuf : malloc(n);

	if (!pt) {
		*rc = ERR_NOMEM;
		return NULL;
	}
	*rc = crypto_open(s->env.keyring, s->cfg.cluster, s->label_len, p, n,
			  pt, n, pt_len);
	if (*rc) {
		if (pt != stackbuf)
			free(pt);
		return NULL;
	}
	return pt;
}

void
swim_recv(struct swim *s, uint64_t now, const struct addr *from,
	  const uint8_t *p, size_t n)
{
	uint8_t stackbuf[2048];
	struct codec_reader msgs, pass;
	struct wire_hdr h;
	struct wire_msg m;
	struct addr claim;
	bool claimed = false, foreign = false;
	uint8_t *pt;
	size_t pt_len = 0;
	uint32_t nmsgs, sender;
	int rc;

	now = clamp_now(s, now);
	s->st.dgrams_in++;
	s->st.bytes_in += n;
	if (s->stopped) {
		drop(s, SWIM_DROP_STOPPED);
		return;
	}
	if (n > DGRAM_MAX) {
		drop(s, SWIM_DROP_TOOBIG);
		return;
	}
	pt = open_packet(s, p, n, stackbuf, sizeof(stackbuf), &pt_len, &rc);
	if (!pt) {
		drop(s, open_drop(rc));
		return;
	}
	rc = wire_dgram_decode(pt, pt_len, &h, &msgs, &nmsgs);
	if (rc) {
		drop(s, rc == ERR_VERSION ? SWIM_DROP_VERSION
					  : SWIM_DROP_DECODE);
		goto out;
	}
	if (h.seq > UINT32_MAX) {
		drop(s, SWIM_DROP_DECODE);
		goto out;
	}
	if (h.sender_len == s->name_len &&
	    memcmp(h.sender, s->cfg.name, s->name_len) == 0) {
		drop(s, SWIM_DROP_SELF);
		goto out;
	}
	sender = mtab_find(&s->tab, h.sender, h.sender_len);
	rc = replay_check(s, sender, &h, from, now);
	if (rc) {
		drop(s, (enum swim_drop)(rc - 1));
		goto out;
	}
	/* Pass 1: the whole compound must be valid before any of it acts. */
	pass = msgs;
	for (uint32_t i = 0; i < nmsgs; i++) {
		if (wire_msg_decode(&pass, &m)) {
			drop(s, SWIM_DROP_DECODE);
			goto out;
		}
	}
	if (codec_read_end(&pass)) {
		drop(s, SWIM_DROP_DECODE);
		goto out;
	}
	/* Pass 2: act. Remember where the sender claims to live. */
	for (uint32_t i = 0; i < nmsgs; i++) {
		wire_msg_decode(&msgs, &m);
		if (m.type == WIRE_ALIVE && m.node_len == h.sender_len &&
		    memcmp(m.node, h.sender, h.sender_len) == 0) {
			claim = m.addr;
			claimed = true;
		}
		if (m.type)
			handle_msg(s, now, from, &h, &m,
				   crypto_key_id_of(p, n));
	}
	/* Handling never removes members, so a known sender kept its slot;
	 * an unknown one may have just been added by its own alive. */
	if (sender == MTAB_NONE)
		sender = mtab_find(&s->tab, h.sender, h.sender_len);
	if (sender != MTAB_NONE && claimed) {
		struct addr cur;

		mtab_ident_addr(mem(s, sender)->ident, &cur);
		foreign = !addr_equal(&claim, &cur);
	}
	replay_note(s, sender, &h, from, foreign);
out:
	if (pt != stackbuf)
		free(pt);
}

/* ---- streams (push-pull) ---- */

/* live_too false: only failed and left entries (the peer told us its live
 * view is the same as ours). */
static int
encode_state(struct swim *s, uint64_t now, uint8_t kind, bool join,
	     bool live_too, uint64_t flags)
{
	struct codec_writer w;
	struct wire_hdr h;
	struct buf app;
	uint32_t count = live_too ? s->tab.used
				  : s->tab.count[SWIM_DEAD] +
					    s->tab.count[SWIM_LEFT];
	int rc = 0;

	buf_reset(&s->scratch);
	s->scratch.max = s->cfg.prof.stream_max;
	codec_writer_init(&w, &s->scratch);
	next_hdr(s, &h, now);
	wire_stream_begin_digest(&w, &h, kind, join, s->digest, flags, count);
	for (uint32_t i = 0; i < s->tab.hi; i++) {
		const struct member *e = &s->tab.m[i];
		struct wire_member wm;
		size_t meta_len;

		if (!e->name)
			continue;
		if (!live_too &&
		    (e->state == SWIM_ALIVE || e->state == SWIM_SUSPECT))
			continue;
		wm.name = e->name->data;
		wm.name_len = e->name->len;
		mtab_ident_addr(e->ident, &wm.addr);
		wm.meta = mtab_ident_meta(e->ident, &meta_len);
		wm.meta_len = (uint32_t)meta_len;
		wm.inc = e->inc;
		wm.state = e->state;
		wm.from = NULL;
		wm.from_len = 0;
		if (e->state == SWIM_SUSPECT) {
			const struct susp *sp = susp_find(s, i);

			/* A held suspicion is our private doubt; a live one
			 * travels with its first accuser, so that its echo
			 * never counts as a confirmation. */
			wm.state = shown_state(e);
			if (wm.state == SWIM_SUSPECT && sp && sp->nwho) {
				wm.from = sp->who[0]->data;
				wm.from_len = sp->who[0]->len;
			}
		}
		wire_member_write(&w, &wm);
	}
	buf_init(&app, s->cfg.prof.stream_max / 2);
	if (s->app.local_state && s->app.local_state(s->app.ctx, &app, join))
		buf_reset(&app);
	wire_stream_app(&w, app.data, app.len);
	buf_release(&app);
	rc = codec_writer_error(&w);
	if (rc) {
		struct log_rec r;

		if (log_begin(&r, s->env.log, LOG_WARN,
			      "push-pull state too large")) {
			log_err(&r, rc);
			log_end(&r);
		}
	}
	/* Leave room for the seal. */
	s->scratch.max = s->cfg.prof.stream_max + CRYPTO_OVERHEAD;
	return rc;
}

/* Validate and merge a decoded stream frame. false if malformed.
 * skip_live: the peer's live view equals ours; only its failed and left
 * entries can tell us anything. *newer_self: the frame carried its
 * sender's own alive at the address we know it by and at a newer
 * incarnation than we held (see replay_anchor()). */
static bool
merge_stream(struct swim *s, uint64_t now, const struct wire_stream *ws,
	     bool skip_live, bool *newer_self)
{
	struct codec_reader r = ws->members;
	struct wire_member wm;

	*newer_self = false;
	for (uint32_t i = 0; i < ws->nmembers; i++)
		if (wire_member_decode(&r, &wm))
			return false;
	if (codec_read_end(&r))
		return false;
	r = ws->members;
	for (uint32_t i = 0; i < ws->nmembers; i++) {
		wire_member_decode(&r, &wm);
		if (skip_live &&
		    (wm.state == SWIM_ALIVE || wm.state == SWIM_SUSPECT))
			continue;
		if (wm.state == SWIM_ALIVE &&
		    wm.name_len == ws->hdr.sender_len &&
		    memcmp(wm.name, ws->hdr.sender, wm.name_len) == 0) {
			struct addr cur;
			uint32_t slot = sender_known_at(s, &ws->hdr, &cur);

			if (slot != MTAB_NONE && slot != s->self &&
			    wm.inc > mem(s, slot)->inc)
				*newer_self = addr_equal(&wm.addr, &cur);
		}
		switch (wm.state) {
		case SWIM_ALIVE:
			/* Everything new to us is re-gossiped, as memberlist
			 * does: a member that joined a moment after the peer
			 * sent its table may not be known to us yet, and in a
			 * burst of joins the redundancy is what reaches the
			 * members the rumour would otherwise pass by. */
			on_alive(s, now, wm.name, wm.name_len, wm.inc,
				 &wm.addr, wm.meta, wm.meta_len);
			break;
		case SWIM_LEFT:
			on_dead(s, now, wm.name, wm.name_len, wm.inc, wm.name,
				wm.name_len, true);
			break;
		default:
			/* A remote suspect or dead only makes us suspect, and
			 * the accuser is the peer, not us: an echo of its
			 * doubt must not count as an independent
			 * confirmation. */
			if (wm.state == SWIM_SUSPECT && wm.from)
				on_suspect(s, now, wm.name, wm.name_len,
					   wm.inc, wm.from, wm.from_len);
			else
				on_suspect(s, now, wm.name, wm.name_len,
					   wm.inc, ws->hdr.sender,
					   ws->hdr.sender_len);
			break;
		}
	}
	if (s->app.merge_state && ws->app_len)
		s->app.merge_state(s->app.ctx, now, ws->app, ws->app_len,
				   ws->join);
	s->st.pushpulls++;
	return true;
}

/* Seal the frame in s->scratch as a new outbound stream and remember it. */
static void
stream_send(struct swim *s, uint64_t now, const struct addr *to,
	    enum stream_purpose purpose, uint64_t seq)
{
	struct pending_stream *ps;
	uint32_t id;

	id = ++s->next_stream_id;
	if (id == 0)
		id = ++s->next_stream_id;
	if (seal_out(s, SWIM_OUT_STREAM_REQ, id, to, 0))
		return;
	s->st.streams_out++;
	s->st.stream_bytes_out += s->out[s->nout - 1].len;
	ps = &s->streams[s->nstreams++];
	ps->id = id;
	ps->purpose = (uint8_t)purpose;
	ps->seq = seq;
	ps->to = *to;
	ps->expire_ms = now + 2 * (uint64_t)s->cfg.prof.stream_timeout_ms;
}

static void
stream_request(struct swim *s, uint64_t now, const struct addr *to,
	       enum stream_purpose purpose)
{
	if (s->nstreams == STREAMS_MAX)
		return;
	/* A periodic push-pull starts as a probe: our digest and departed
	 * members only; the peer asks for the rest if its view differs.
	 * Joins and reconnects (healing) exchange everything at once. */
	if (purpose == SP_PUSHPULL
		    ? encode_state(s, now, WIRE_STREAM_REQ, false, false,
				   WIRE_PP_PROBE)
		    : encode_state(s, now, WIRE_STREAM_REQ, purpose == SP_JOIN,
				   true, 0))
		return;
	stream_send(s, now, to, purpose, 0);
}

/* Encode a TCP ping (target != NULL) or its ack into s->scratch. */
static int
encode_ping(struct swim *s, uint64_t now, uint8_t kind, uint64_t seq,
	    const struct istr *target)
{
	struct codec_writer w;
	struct wire_hdr h;

	buf_reset(&s->scratch);
	codec_writer_init(&w, &s->scratch);
	next_hdr(s, &h, now);
	wire_stream_ping(&w, &h, kind, seq, target ? target->data : NULL,
			 target ? target->len : 0);
	return codec_writer_error(&w);
}

/* The TCP fallback of a probe (memberlist's, on by default): a reliable
 * stream reaches a target whose UDP is being lost. */
static void
stream_ping(struct swim *s, uint64_t now, const struct addr *to)
{
	if (s->nstreams == STREAMS_MAX)
		return;
	if (encode_ping(s, now, WIRE_STREAM_PING, s->pr.seq, s->pr.target))
		return;
	stream_send(s, now, to, SP_PING, s->pr.seq);
}

/* Decode a sealed stream frame; on success *pt must be freed. */
static int
open_stream(struct swim *s, uint64_t now, const uint8_t *p, size_t n,
	    uint8_t **pt, struct wire_stream *ws)
{
	size_t pt_len = 0;
	int rc;

	*pt = NULL;
	if (n > (size_t)s->cfg.prof.stream_max + CRYPTO_OVERHEAD) {
		drop(s, SWIM_DROP_TOOBIG);
		return ERR_TOOBIG;
	}
	*pt = malloc(n ? n : 1);
	if (!*pt) {
		drop(s, SWIM_DROP_NOMEM);
		return ERR_NOMEM;
	}
	rc = crypto_open(s->env.keyring, s->cfg.cluster, s->label_len, p, n,
			 *pt, n, &pt_len);
	if (rc) {
		drop(s, open_drop(rc));
		return rc;
	}
	rc = wire_stream_decode(*pt, pt_len, ws);
	if (rc) {
		drop(s, rc == ERR_VERSION ? SWIM_DROP_VERSION
					  : SWIM_DROP_DECODE);
		return rc;
	}
	if (ws->hdr.sender_len == s->name_len &&
	    memcmp(ws->hdr.sender, s->cfg.name, s->name_len) == 0) {
		drop(s, SWIM_DROP_SELF);
		return ERR_INVAL;
	}
	/* Streams are short request/response exchanges; they are checked
	 * against the clock-skew bound, not the datagram replay window. */
	if (!skew_ok(s, ws->hdr.ts_ms, now)) {
		drop(s, SWIM_DROP_SKEW);
		return ERR_SKEW;
	}
	return 0;
}

void
swim_recv_stream(struct swim *s, uint64_t now, uint32_t conn_id,
		 const struct addr *from, const uint8_t *p, size_t n)
{
	struct wire_stream ws;
	uint8_t *pt = NULL;
	bool same, newer_self;

	now = clamp_now(s, now);
	s->st.streams_in++;
	s->st.stream_bytes_in += n;
	if (s->stopped) {
		drop(s, SWIM_DROP_STOPPED);
		return;
	}
	if (open_stream(s, now, p, n, &pt, &ws))
		goto out;
	if (ws.kind == WIRE_STREAM_PING) {
		/* Answer only a ping meant for us, as over UDP. */
		if (ws.target_len == s->name_len &&
		    memcmp(ws.target, s->cfg.name, s->name_len) == 0 &&
		    encode_ping(s, now, WIRE_STREAM_ACK, ws.seq, NULL) == 0 &&
		    seal_out(s, SWIM_OUT_STREAM_RESP, conn_id, NULL,
			     crypto_key_id_of(p, n)) == 0)
			s->st.stream_bytes_out += s->out[s->nout - 1].len;
		goto out;
	}
	/* Equal live digests: the peer's live view is ours, so neither side
	 * needs the other's live entries (anti-entropy without the cost of
	 * merging and re-sending the whole table in a converged cluster). */
	same = ws.has_digest && ws.digest == s->digest;
	if (ws.kind != WIRE_STREAM_REQ ||
	    !merge_stream(s, now, &ws, same, &newer_self)) {
		drop(s, SWIM_DROP_DECODE);
		goto out;
	}
	if (same)
		s->st.pushpulls_same++;
	/* The member told us, over a connection from its own host, that it
	 * lives on at a newer incarnation: its boot is the frame's, even a
	 * lower one (a restart with a clock that went back). The port is
	 * not compared: a connection comes from an ephemeral one. */
	if (newer_self) {
		struct addr cur;
		uint32_t slot = sender_known_at(s, &ws.hdr, &cur);

		if (slot != MTAB_NONE && from && same_host(from, &cur))
			replay_anchor(s, slot, &ws.hdr);
	}
	/* Merge first, then answer: the reply already carries our reaction
	 * (e.g. a refutation of what the peer believed about us). A probe
	 * whose view differs from ours gets our whole table and a request
	 * for its own. */
	if (encode_state(s, now, WIRE_STREAM_RESP, ws.join, !same,
			 !same && (ws.flags & WIRE_PP_PROBE) ? WIRE_PP_WANT
							     : 0) == 0 &&
	    seal_out(s, SWIM_OUT_STREAM_RESP, conn_id, NULL,
		     crypto_key_id_of(p, n)) == 0)
		s->st.stream_bytes_out += s->out[s->nout - 1].len;
out:
	free(pt);
}

static struct pending_stream *
stream_find(struct swim *s, uint32_t id)
{
	for (uint32_t i = 0; i < s->nstreams; i++)
		if (s->streams[i].id == id)
			return &s->streams[i];
	return NULL;
}

static void
join_round_done(struct swim *s, uint64_t now)
{
	const struct profile *p = &s->cfg.prof;
	uint64_t backoff;

	if (s->joined || s->join_pending > 0 || !s->joining)
		return;
	if (p->join_max_attempts && s->join_attempts >= p->join_max_attempts) {
		s->joining = false;
		push_event(s, SWIM_EV_JOIN_FAILED, now, s->cfg.name,
			   s->name_len, &s->seeds[0], 0, SWIM_ALIVE);
		return;
	}
	backoff = p->join_backoff_min_ms;
	for (uint32_t i = 1; i < s->join_attempts && backoff < p->join_backoff_max_ms; i++)
		backoff *= 2;
	if (backoff > p->join_backoff_max_ms)
		backoff = p->join_backoff_max_ms;
	s->join_next_ms = now + backoff;
}

static void
stream_done(struct swim *s, uint64_t now, struct pending_stream *ps, bool ok)
{
	uint8_t purpose = ps->purpose;
	struct addr to = ps->to;

	*ps = s->streams[--s->nstreams];
	if (!ok)
		s->st.streams_failed++;
	if (purpose != SP_JOIN)
		return;
	if (s->join_pending)
		s->join_pending--;
	if (ok && !s->joined) {
		s->joined = true;
		s->joining = false;
		push_event(s, SWIM_EV_JOINED, now, s->cfg.name, s->name_len,
			   &to, mem(s, s->self)->inc, SWIM_ALIVE);
		return;
	}
	join_round_done(s, now);
}

void
swim_stream_reply(struct swim *s, uint64_t now, uint32_t stream_id,
		  const uint8_t *p, size_t n)
{
	struct pending_stream *ps;
	struct wire_stream ws;
	struct addr want_to, to;
	uint8_t *pt = NULL;
	uint64_t refutes = s->st.refutes;
	bool ok = false, want = false, newer_self;
	uint8_t purpose;

	now = clamp_now(s, now);
	s->st.stream_bytes_in += n;
	ps = stream_find(s, stream_id);
	if (s->stopped) {
		drop(s, SWIM_DROP_STOPPED);
		if (ps)
			stream_done(s, now, ps, false);
		return;
	}
	if (!ps) {
		/* Given up on (expired) or never ours. */
		drop(s, SWIM_DROP_NOSTREAM);
		return;
	}
	to = ps->to;
	purpose = ps->purpose;
	if (open_stream(s, now, p, n, &pt, &ws) == 0) {
		if (ps->purpose == SP_PING) {
			if (ws.kind == WIRE_STREAM_ACK && ws.seq == ps->seq) {
				ok = true;
				if (s->pr.active && s->pr.seq == ws.seq)
					s->pr.tcp_acked = true;
			} else {
				drop(s, SWIM_DROP_DECODE);
			}
		} else if (ws.kind == WIRE_STREAM_RESP &&
			   merge_stream(s, now, &ws, false, &newer_self)) {
			ok = true;
			if ((ws.flags & WIRE_PP_WANT) &&
			    ps->purpose == SP_PUSHPULL) {
				want_to = ps->to;
				want = true;
			}
		} else {
			drop(s, SWIM_DROP_DECODE);
		}
	}
	if (ok) {
		/* We dialled the member's address and it answered: whatever
		 * boot it now runs is its own. */
		struct addr cur;
		uint32_t slot = sender_known_at(s, &ws.hdr, &cur);

		if (slot != MTAB_NONE && addr_equal(&to, &cur))
			replay_anchor(s, slot, &ws.hdr);
	}
	free(pt);
	/* The pending entry may have moved while merging? No: merging does
	 * not start streams. Find it again to be safe. */
	ps = stream_find(s, stream_id);
	if (ps)
		stream_done(s, now, ps, ok);
	/* The peer's view differed: push ours too (the second half of the
	 * exchange a probe saved when views were the same). */
	if (want && !s->stopped)
		stream_request(s, now, &want_to, SP_PUSH);
	/* Our join met a newer incarnation of ourselves (a previous life
	 * whose clock was ahead of ours) and we refuted it. Our datagrams
	 * may all be stale to the cluster for now (a lower boot id), so the
	 * refutation goes back to the seed over a stream as well: the seed
	 * then knows our new boot (replay_anchor()) and gossips the
	 * refutation, before the old life can be declared dead. */
	else if (ok && purpose == SP_JOIN && s->st.refutes > refutes &&
		 !s->stopped)
		stream_request(s, now, &to, SP_PUSH);
}

void
swim_stream_failed(struct swim *s, uint64_t now, uint32_t stream_id)
{
	struct pending_stream *ps;

	now = clamp_now(s, now);
	ps = stream_find(s, stream_id);
	if (ps)
		stream_done(s, now, ps, false);
}

/* ---- timers ---- */

static void
join_round(struct swim *s, uint64_t now)
{
	s->join_attempts++;
	s->join_next_ms = UINT64_MAX;
	for (uint32_t i = 0; i < s->nseeds; i++) {
		uint32_t before = s->nstreams;

		stream_request(s, now, &s->seeds[i], SP_JOIN);
		if (s->nstreams > before)
			s->join_pending++;
	}
	join_round_done(s, now);
}

static void
gossip(struct swim *s, uint64_t now)
{
	uint32_t targets[64];
	unsigned k = s->cfg.prof.gossip_nodes < 64 ? s->cfg.prof.gossip_nodes
						   : 64;

	if (dissem_len(&s->q) == 0)
		return;
	k = pick_random(s, k, PICK_GOSSIP, MTAB_NONE, now, targets);
	for (unsigned i = 0; i < k; i++) {
		struct addr to;

		if (dissem_len(&s->q) == 0)
			break;
		mtab_ident_addr(mem(s, targets[i])->ident, &to);
		send_dgram(s, now, &to, NULL, 0, true);
	}
}

static uint64_t
pushpull_interval(const struct swim *s)
{
	uint64_t iv = s->cfg.prof.push_pull_interval_ms;
	uint32_t n = s->tab.count[SWIM_ALIVE] + s->tab.count[SWIM_SUSPECT];

	/* memberlist: x (ceil(log2(N) - log2(32)) + 1) above 32 members. */
	if (n > 32)
		iv *= (uint64_t)num_ceil_log2(n) - 4;
	return iv;
}

static void
pushpull(struct swim *s, uint64_t now)
{
	uint32_t slot;
	struct addr to;

	if (pick_random(s, 1, PICK_ALIVE, MTAB_NONE, now, &slot) != 1)
		return;
	mtab_ident_addr(mem(s, slot)->ident, &to);
	stream_request(s, now, &to, SP_PUSHPULL);
}

static void
reconnect(struct swim *s, uint64_t now)
{
	uint32_t failed = s->tab.count[SWIM_DEAD];
	uint32_t alive = s->tab.used - failed - s->tab.count[SWIM_LEFT];
	uint32_t slot;
	struct addr to;

	if (failed == 0)
		return;
	if (rng_double(&s->rng) > (double)failed / (alive ? alive : 1))
		return;
	if (pick_random(s, 1, PICK_DEAD, MTAB_NONE, now, &slot) != 1)
		return;
	mtab_ident_addr(mem(s, slot)->ident, &to);
	stream_request(s, now, &to, SP_RECONNECT);
}

static void
reap(struct swim *s, uint64_t now)
{
	const struct profile *p = &s->cfg.prof;

	/* Most of the time nothing has failed or left: no scan. */
	if (s->tab.count[SWIM_DEAD] + s->tab.count[SWIM_LEFT] == 0)
		return;

	for (uint32_t i = 0; i < s->tab.hi; i++) {
		struct member *e = &s->tab.m[i];
		uint64_t age;

		if (!e->name || i == s->self)
			continue;
		if (e->state != SWIM_DEAD && e->state != SWIM_LEFT)
			continue;
		age = age_ms(s, e, now);
		if (age < (e->state == SWIM_DEAD ? p->reap_dead_ms
						 : p->reap_left_ms))
			continue;
		member_event(s, SWIM_EV_REAP, now, i);
		digest_out(s, i);
		dissem_forget_member(&s->q, i);
		susp_remove(s, i);
		mtab_remove(&s->tab, i);
	}
}

static void
leave_done(struct swim *s, uint64_t now)
{
	s->stopped = true;
	push_event(s, SWIM_EV_LEAVE_DONE, now, s->cfg.name, s->name_len,
		   &s->cfg.addr, mem(s, s->self)->inc, SWIM_LEFT);
}

void
swim_tick(struct swim *s, uint64_t now)
{
	const struct profile *p = &s->cfg.prof;

	now = clamp_now(s, now);
	if (s->stopped)
		return;

	/* Suspicions that ran out: declare dead. */
	for (uint32_t i = 0; i < s->nsusp;) {
		uint32_t slot = s->susp[i].slot;
		uint64_t inc = s->susp[i].inc;
		struct member *e;

		if (now < s->susp[i].deadline_ms) {
			i++;
			continue;
		}
		e = mem(s, slot);
		if (e->state == SWIM_SUSPECT && e->inc == inc &&
		    s->susp[i].k >= 1 && s->susp[i].n == 0) {
			/* Nobody confirmed, though others probe this member
			 * too: we are alone in our belief, which is what a
			 * node cut off from the cluster (or from this one
			 * member) sees. Do not declare a death we cannot
			 * back. Hold the suspicion as a private doubt: stop
			 * gossiping it, do not pass it on in push-pull (nor
			 * count it in the digest: both show the member
			 * alive), and tell the member itself (a buddy ping),
			 * so that it refutes as soon as it can hear us. A
			 * confirmation from anyone turns it back into a
			 * suspicion. */
			struct susp *sp = &s->susp[i];

			set_held(s, slot, true);
			sp->start_ms = now;
			sp->deadline_ms = now + susp_timeout(sp);
			s->st.suspicions_held++;
			dissem_forget_member(&s->q, slot);
			buddy_ping(s, now, slot);
			i++;
			continue;
		}
		if (e->state == SWIM_SUSPECT && e->inc == inc) {
			s->st.deaths_declared++;
			on_dead(s, now, e->name->data, e->name->len, e->inc,
				s->cfg.name, s->name_len, false);
		}
		/* Gone either way; the last entry moves into slot i. */
		susp_remove(s, slot);
	}

	/* Relays whose target has not answered: nack the requester; forget
	 * them once a late ack could not matter any more. */
	for (uint32_t i = 0; i < s->nrelay;) {
		struct relay *r = &s->relays[i];

		if (r->want_nack && !r->nacked && now >= r->nack_at_ms) {
			r->nacked = true;
			send_seq_msg(s, now, &r->req_addr, WIRE_NACK,
				     r->req_seq, r->req_key);
			s->st.nacks_sent++;
		}
		if (now >= r->expire_ms)
			relay_del(s, i);
		else
			i++;
	}

	/* Streams the runtime never finished. */
	for (uint32_t i = 0; i < s->nstreams;) {
		if (now >= s->streams[i].expire_ms)
			stream_done(s, now, &s->streams[i], false);
		else
			i++;
	}

	/* The probe cycle. */
	if (s->pr.active) {
		if (!s->pr.acked && !s->pr.indirect_sent &&
		    now >= s->pr.timeout_at_ms)
			probe_indirect(s, now);
		if (now >= s->pr.end_at_ms)
			probe_finish(s, now);
	}
	if (!s->pr.active && now >= s->probe_next_ms)
		probe_start(s, now);

	/* The gossip round runs only while there is something to spread;
	 * when the queue was empty at its time, the round stays due, so a
	 * broadcast queued later goes out at once. */
	if (now >= s->gossip_next_ms && dissem_len(&s->q) > 0) {
		s->gossip_next_ms = now + p->gossip_interval_ms;
		gossip(s, now);
	}
	if (p->push_pull_interval_ms && now >= s->pushpull_next_ms) {
		s->pushpull_next_ms = now + pushpull_interval(s);
		if (!s->leaving)
			pushpull(s, now);
	}
	if (p->reconnect_interval_ms && now >= s->reconnect_next_ms) {
		s->reconnect_next_ms = now + p->reconnect_interval_ms;
		if (!s->leaving)
			reconnect(s, now);
	}
	if (now >= s->reap_next_ms) {
		s->reap_next_ms = now + p->reap_interval_ms;
		reap(s, now);
	}
	if (s->joining && !s->joined && s->join_pending == 0 &&
	    now >= s->join_next_ms)
		join_round(s, now);
	if (s->leaving && !s->stopped &&
	    (now >= s->leave_deadline_ms ||
	     !dissem_has_member(&s->q, s->self)))
		leave_done(s, now);
}

static inline void
min_at(uint64_t *m, uint64_t t)
{
	if (t < *m)
		*m = t;
}

uint64_t
swim_next_deadline(const struct swim *s)
{
	uint64_t t = UINT64_MAX;

	if (s->stopped)
		return UINT64_MAX;
	if (s->pr.active) {
		if (!s->pr.acked && !s->pr.indirect_sent)
			min_at(&t, s->pr.timeout_at_ms);
		min_at(&t, s->pr.end_at_ms);
	} else {
		min_at(&t, s->probe_next_ms);
	}
	if (dissem_len(&s->q) > 0)
		min_at(&t, s->gossip_next_ms);
	if (s->cfg.prof.push_pull_interval_ms)
		min_at(&t, s->pushpull_next_ms);
	if (s->cfg.prof.reconnect_interval_ms)
		min_at(&t, s->reconnect_next_ms);
	min_at(&t, s->reap_next_ms);
	if (s->joining && !s->joined && s->join_pending == 0)
		min_at(&t, s->join_next_ms);
	if (s->leaving)
		min_at(&t, s->leave_deadline_ms);
	for (uint32_t i = 0; i < s->nsusp; i++)
		min_at(&t, s->susp[i].deadline_ms);
	for (uint32_t i = 0; i < s->nrelay; i++)
		min_at(&t, s->relays[i].want_nack && !s->relays[i].nacked
				   ? s->relays[i].nack_at_ms
				   : s->relays[i].expire_ms);
	for (uint32_t i = 0; i < s->nstreams; i++)
		min_at(&t, s->streams[i].expire_ms);
	return t;
}

/* ---- control ---- */

int
swim_join(struct swim *s, uint64_t now, const struct addr *seeds, size_t n)
{
	now = clamp_now(s, now);
	if (s->stopped || s->leaving)
		return ERR_STATE;
	if (n == 0 || n > SEEDS_MAX)
		return ERR_INVAL;
	s->nseeds = 0;
	for (size_t i = 0; i < n; i++) {
		if (!seeds[i].family)
			return ERR_INVAL;
		if (addr_equal(&seeds[i], &s->cfg.addr))
			continue; /* joining ourselves is a no-op */
		s->seeds[s->nseeds++] = seeds[i];
	}
	if (s->nseeds == 0)
		return 0;
	s->joining = true;
	s->joined = false;
	s->join_attempts = 0;
	s->join_pending = 0;
	join_round(s, now);
	return 0;
}

int
swim_leave(struct swim *s, uint64_t now)
{
	struct member *me = mem(s, s->self);

	now = clamp_now(s, now);
	if (s->leaving || s->stopped)
		return ERR_STATE;
	s->leaving = true;
	s->joining = false;
	digest_out(s, s->self);
	mtab_set_state(&s->tab, s->self, SWIM_LEFT);
	set_changed(s, s->self, now);
	digest_in(s, s->self);
	announce(s, s->self, NULL);
	s->leave_deadline_ms = now + s->cfg.prof.leave_timeout_ms;
	if (s->tab.count[SWIM_ALIVE] + s->tab.count[SWIM_SUSPECT] == 0)
		leave_done(s, now);
	(void)me;
	return 0;
}

bool
swim_is_stopped(const struct swim *s)
{
	return s->stopped;
}

bool
swim_is_joining(const struct swim *s)
{
	return s->joining && !s->joined;
}

int
swim_set_meta(struct swim *s, uint64_t now, const void *meta, size_t n)
{
	struct member *me = mem(s, s->self);
	struct istr *ident;

	now = clamp_now(s, now);
	if (n > SWIM_META_MAX)
		return ERR_TOOBIG;
	if (s->leaving || s->stopped)
		return ERR_STATE;
	ident = mtab_ident(&s->tab, &s->cfg.addr, meta, n);
	if (!ident)
		return ERR_NOMEM;
	if (ident == me->ident) {
		intern_put(s->env.pool, ident);
		return 0;
	}
	digest_out(s, s->self);
	intern_put(s->env.pool, me->ident);
	me->ident = ident;
	me->inc++;
	digest_in(s, s->self);
	announce(s, s->self, NULL);
	member_event(s, SWIM_EV_UPDATE, now, s->self);
	return 0;
}

int
swim_force_leave(struct swim *s, uint64_t now, const char *name)
{
	uint32_t slot = mtab_find(&s->tab, name, strlen(name));
	struct member *e;

	now = clamp_now(s, now);
	if (slot == MTAB_NONE)
		return ERR_NOENT;
	if (slot == s->self)
		return ERR_STATE;
	e = mem(s, slot);
	if (e->state == SWIM_LEFT)
		return 0;
	if (e->state != SWIM_DEAD)
		return ERR_STATE;
	on_dead(s, now, e->name->data, e->name->len, e->inc, s->cfg.name,
		s->name_len, true);
	return 0;
}

size_t
swim_preload(struct swim *s, uint64_t now,
	     const struct swim_member_info *members, size_t n)
{
	/* A view for one table: the same checks, the same entries, the same
	 * random draws as a view shared by many. */
	int err;
	struct swim_view *v = swim_view_new(s->env.pool, members, n, 1, &err);
	size_t added;

	if (!v)
		return 0;
	added = swim_preload_view(s, now, v);
	swim_view_delete(v);
	return added;
}

/* ---- prepared views (swim_view_new) ---- */

struct swim_view_entry {
	struct istr *name;  /* `tables` references held for the tables */
	struct istr *ident; /* likewise */
	uint64_t name_hash; /* name->hash, read once here */
	uint64_t live_hash; /* member_hash() of the entry alive */
	uint64_t inc;
	uint32_t given; /* references handed to tables so far */
};

struct swim_view {
	struct intern *pool;
	uint32_t tables; /* references held per string */
	uint32_t uses;	 /* swim_preload_view() calls so far */
	size_t n;
	struct swim_view_entry e[];
};

static void
view_entry_release(struct intern *pool, uint32_t tables,
		   struct swim_view_entry *e)
{
	/* The references not handed out, plus the one intern_get() gave. */
	intern_put_n(pool, e->name, tables - e->given + 1);
	intern_put_n(pool, e->ident, tables - e->given + 1);
}

struct swim_view *
swim_view_new(struct intern *pool, const struct swim_member_info *members,
	      size_t n, uint32_t tables, int *err)
{
	struct swim_view *v;
	struct mtab seen;

	*err = 0;
	if (n > SIZE_MAX / sizeof(v->e[0]) - 1) {
		*err = ERR_NOMEM;
		return NULL;
	}
	v = malloc(sizeof(*v) + n * sizeof(v->e[0]));
	if (!v) {
		*err = ERR_NOMEM;
		return NULL;
	}
	v->pool = pool;
	v->tables = tables;
	v->uses = 0;
	v->n = 0;
	/* The names taken so far, to drop a repeated one: the first counts,
	 * as it would in a table, where the second finds the first. */
	mtab_init(&seen, pool, n < UINT32_MAX ? (uint32_t)n : UINT32_MAX);
	if (n && n < UINT32_MAX && mtab_reserve(&seen, (uint32_t)n))
		*err = ERR_NOMEM;
	for (size_t i = 0; i < n && !*err; i++) {
		const struct swim_member_info *mi = &members[i];
		size_t len = mi->name ? strnlen(mi->name, SWIM_NAME_MAX + 1) : 0;
		struct swim_view_entry *e = &v->e[v->n];
		struct member m;

		if (!swim_name_valid(mi->name, len) || !mi->addr.family ||
		    mi->meta_len > SWIM_META_MAX)
			continue;
		e->name = intern_get(pool, mi->name, len);
		if (!e->name) {
			*err = ERR_NOMEM;
			break;
		}
		if (mtab_find_istr(&seen, e->name) != MTAB_NONE) {
			intern_put(pool, e->name);
			continue;
		}
		if (mtab_add_ref(&seen, intern_ref(e->name), e->name->hash,
				 err) == MTAB_NONE) {
			intern_put_n(pool, e->name, 2);
			break;
		}
		memset(&m, 0, sizeof(m));
		m.name = e->name;
		m.inc = mi->incarnation;
		m.state = SWIM_ALIVE;
		e->ident = mtab_ident_in(pool, &mi->addr, mi->meta,
					 mi->meta_len);
		if (!e->ident) {
			intern_put(pool, e->name);
			*err = ERR_NOMEM;
			break;
		}
		e->name_hash = e->name->hash;
		e->live_hash = member_hash(&m);
		e->inc = mi->incarnation;
		e->given = 0;
		intern_ref_n(e->name, tables);
		intern_ref_n(e->ident, tables);
		v->n++;
	}
	mtab_destroy(&seen);
	if (*err) {
		swim_view_delete(v);
		return NULL;
	}
	return v;
}

void
swim_view_delete(struct swim_view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		view_entry_release(v->pool, v->tables, &v->e[i]);
	free(v);
}

size_t
swim_preload_view(struct swim *s, uint64_t now, struct swim_view *v)
{
	size_t added = 0;

	if (v->uses >= v->tables || v->pool != s->env.pool)
		return 0;
	v->uses++;
	now = clamp_now(s, now);
	if (v->n < UINT32_MAX) {
		uint32_t *p;

		mtab_reserve(&s->tab, (uint32_t)v->n);
		if (s->probe_cap < s->probe_n + v->n &&
		    (p = realloc(s->probe, (s->probe_n + v->n) * sizeof(*p)))) {
			s->probe = p;
			s->probe_cap = (uint32_t)(s->probe_n + v->n);
		}
	}
	for (size_t i = 0; i < v->n; i++) {
		struct swim_view_entry *ve = &v->e[i];
		struct member *e;
		uint32_t slot;
		int err = 0;

		if (mtab_find_hashed(&s->tab, ve->name, ve->name_hash) !=
		    MTAB_NONE)
			continue;
		slot = mtab_add_ref(&s->tab, ve->name, ve->name_hash, &err);
		if (slot == MTAB_NONE)
			break;
		ve->given++;
		e = mem(s, slot);
		e->ident = ve->ident;
		e->inc = ve->inc;
		set_changed(s, slot, now);
		s->digest += ve->live_hash; /* digest_in(), alive */
		probe_insert(s, slot);
		added++;
	}
	if (added && s->cfg.prof.push_pull_interval_ms)
		s->pushpull_next_ms = now + 1 + rng_below(&s->rng,
							  pushpull_interval(s));
	return added;
}

int
swim_broadcast(struct swim *s, const void *p, size_t n, uint64_t key,
	       uint32_t retransmit)
{
	size_t budget = s->cfg.prof.udp_payload_max -
			keyring_overhead(s->env.keyring);

	if (n + 16 + WIRE_HDR_MAX > budget)
		return ERR_TOOBIG;
	if (retransmit == 0)
		retransmit = retransmit_limit(s);
	if (retransmit > DISSEM_LIMIT_MAX)
		retransmit = DISSEM_LIMIT_MAX;
	return dissem_app(&s->q, p, n, key, retransmit, (uint32_t)(n + 16));
}

int
swim_send_app(struct swim *s, uint64_t now, const char *to, const void *p,
	      size_t n)
{
	size_t budget = s->cfg.prof.udp_payload_max -
			keyring_overhead(s->env.keyring);
	uint32_t slot = mtab_find(&s->tab, to, strlen(to));
	struct wire_msg m;
	struct addr a;
	struct member *e;

	now = clamp_now(s, now);
	if (s->stopped)
		return ERR_STATE;
	if (n + 16 + WIRE_HDR_MAX > budget)
		return ERR_TOOBIG;
	if (slot == MTAB_NONE || slot == s->self)
		return ERR_NOENT;
	e = mem(s, slot);
	if (e->state != SWIM_ALIVE && e->state != SWIM_SUSPECT)
		return ERR_NOENT;
	mtab_ident_addr(e->ident, &a);
	memset(&m, 0, sizeof(m));
	m.type = WIRE_USER;
	m.data = p;
	m.data_len = (uint32_t)n;
	return send_dgram(s, now, &a, &m, 1, true) ? 0 : ERR_NOMEM;
}

/* ---- life cycle ---- */

struct swim *
swim_new(const struct swim_config *cfg, const struct swim_env *env,
	 const struct swim_app *app, int *err)
{
	const struct profile *p = &cfg->prof;
	struct swim *s;
	struct member *me;
	struct rng seeder;
	int e = 0;

	*err = 0;
	if (!swim_name_valid(cfg->name, strnlen(cfg->name, SWIM_NAME_MAX + 1)) ||
	    !cfg->addr.family || !env || !env->pool || !env->keyring ||
	    strnlen(cfg->cluster, CRYPTO_LABEL_MAX + 1) > CRYPTO_LABEL_MAX ||
	    profile_check(p, NULL, 0) ||
	    p->udp_payload_max < 1024) {
		*err = ERR_INVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		*err = ERR_NOMEM;
		return NULL;
	}
	s->cfg = *cfg;
	s->env = *env;
	if (app)
		s->app = *app;
	s->name_len = strlen(cfg->name);
	s->label_len = strlen(cfg->cluster);
	rng_seed(&seeder, cfg->seed);
	rng_split(&seeder, &s->rng);
	rng_split(&seeder, &s->nonce_rng);
	s->boot = cfg->start_ms ? cfg->start_ms : 1;
	s->epoch_ms = cfg->start_ms;
	s->last_now = cfg->start_ms;
	mtab_init(&s->tab, env->pool, p->members_max);
	dissem_init(&s->q, env->pool, p->app_queue_max);
	buf_init(&s->outdata, (size_t)p->stream_max + (2u << 20));
	buf_init(&s->scratch, (size_t)p->stream_max + CRYPTO_OVERHEAD);

	s->self = mtab_add(&s->tab, cfg->name, s->name_len, &e);
	if (s->self == MTAB_NONE)
		goto fail;
	me = mem(s, s->self);
	me->ident = mtab_ident(&s->tab, &cfg->addr, NULL, 0);
	if (!me->ident)
		goto fail;
	me->inc = cfg->start_ms;
	digest_in(s, s->self);
	announce(s, s->self, NULL);

	/* Stagger the periodic work so that nodes started together do not
	 * probe, gossip and push-pull in lock step. */
	s->probe_next_ms = cfg->start_ms +
			   rng_below(&s->rng, p->probe_interval_ms);
	s->gossip_next_ms = cfg->start_ms +
			    rng_below(&s->rng, p->gossip_interval_ms);
	s->pushpull_next_ms = cfg->start_ms + p->push_pull_interval_ms / 2 +
			      rng_below(&s->rng, p->push_pull_interval_ms + 1);
	s->reconnect_next_ms = cfg->start_ms + p->reconnect_interval_ms;
	s->reap_next_ms = cfg->start_ms + p->reap_interval_ms;
	s->join_next_ms = UINT64_MAX;
	return s;
fail:
	swim_delete(s);
	*err = e ? e : ERR_NOMEM;
	return NULL;
}

void
swim_delete(struct swim *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nsusp; i++)
		for (uint32_t k = 0; k < s->susp[i].nwho; k++)
			intern_put(s->env.pool, s->susp[i].who[k]);
	intern_put(s->env.pool, s->pr.target);
	dissem_destroy(&s->q);
	mtab_destroy(&s->tab);
	free(s->susp);
	free(s->probe);
	free(s->out);
	free(s->ev);
	buf_release(&s->outdata);
	buf_release(&s->scratch);
	free(s);
}

/* ---- accessors ---- */

const char *
swim_name(const struct swim *s)
{
	return s->cfg.name;
}

const struct addr *
swim_addr(const struct swim *s)
{
	return &s->cfg.addr;
}

uint64_t
swim_incarnation(const struct swim *s)
{
	return s->tab.m[s->self].inc;
}

const struct profile *
swim_profile(const struct swim *s)
{
	return &s->cfg.prof;
}

const struct swim_stats *
swim_stats(const struct swim *s)
{
	return &s->st;
}

unsigned
swim_health(const struct swim *s)
{
	return s->awareness;
}

size_t
swim_member_count(const struct swim *s)
{
	return s->tab.used;
}

size_t
swim_count_state(const struct swim *s, enum swim_state st)
{
	if ((unsigned)st > SWIM_LEFT)
		return 0;
	return s->tab.count[st];
}

static void
fill_info(const struct swim *s, uint32_t slot, struct swim_member_info *out)
{
	const struct member *e = &s->tab.m[slot];

	out->name = e->name->data;
	mtab_ident_addr(e->ident, &out->addr);
	out->state = (enum swim_state)e->state;
	out->incarnation = e->inc;
	out->meta = mtab_ident_meta(e->ident, &out->meta_len);
	out->state_change_ms = s->epoch_ms + (uint64_t)e->changed_ds * 100;
	out->is_self = slot == s->self;
}

bool
swim_member_next(const struct swim *s, size_t *cursor,
		 struct swim_member_info *out)
{
	for (size_t i = *cursor; i < s->tab.hi; i++) {
		if (!s->tab.m[i].name)
			continue;
		fill_info(s, (uint32_t)i, out);
		*cursor = i + 1;
		return true;
	}
	*cursor = s->tab.hi;
	return false;
}

bool
swim_member_find(const struct swim *s, const char *name,
		 struct swim_member_info *out)
{
	uint32_t slot = mtab_find(&s->tab, name, strlen(name));

	if (slot == MTAB_NONE)
		return false;
	fill_info(s, slot, out);
	return true;
}

bool
swim_member_state(const struct swim *s, const struct istr *name,
		  enum swim_state *state)
{
	uint32_t slot = mtab_find_istr(&s->tab, name);

	if (slot == MTAB_NONE)
		return false;
	*state = (enum swim_state)s->tab.m[slot].state;
	return true;
}

uint64_t
swim_digest(const struct swim *s)
{
	return s->digest;
}

size_t
swim_memory(const struct swim *s)
{
	return sizeof(*s) + mtab_memory(&s->tab) + dissem_memory(&s->q) +
	       (size_t)s->probe_cap * sizeof(uint32_t) +
	       (size_t)s->susp_cap * sizeof(struct susp) +
	       (size_t)s->out_cap * sizeof(struct outq_item) +
	       s->outdata.cap + s->scratch.cap +
	       (size_t)s->ev_cap * sizeof(struct swim_event);
}
