/* SPDX-License-Identifier: MIT */
/*
 * sim/toy.c — the toy membership protocol (see sim/toy.h).
 *
 * Wire: every datagram is 17 bytes, [type][from u32][subject u32][inc u64]
 * big-endian. A join request is [J][from u32]; its reply is [R][n u32] and
 * n member indices (u32 each). Members are kept in an array indexed by node
 * index (the toy is for tests of a few hundred nodes, so a dense table is
 * the simplest thing that works). Outboxes and event queues are growable
 * arrays drained from the front.
 */
#include "sim/toy.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/rng.h"

enum { T_PING = 1, T_ACK, T_ALIVE, T_DEAD, T_LEFT, T_JOIN, T_REPLY };

#define TOY_MSG 17

struct toy_member {
	uint8_t state; /* 0 unknown, else enum swim_state + 1 */
	uint64_t inc;
	uint64_t heard_ms;
};

struct toy_out {
	struct swim_out o;
	uint8_t *buf;
};

struct toy {
	uint32_t self;
	uint64_t start_ms;
	uint32_t interval_ms;
	struct rng rng;
	struct toy_member *m;
	uint32_t cap;
	uint64_t next_probe_ms;
	int64_t probing; /* index awaiting an ack, or -1 */
	struct addr seed;
	bool joining, joined, leaving, stopped;
	uint64_t join_retry_ms;
	uint32_t next_sid;
	struct toy_out *out;
	uint32_t nout, hout, capout;
	uint8_t *last; /* buffer of the last popped frame */
	struct swim_event *ev;
	uint32_t nev, hev, capev;
	uint64_t drops;
};

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static int
grow(struct toy *t, uint32_t i)
{
	uint32_t cap = t->cap ? t->cap : 16;
	struct toy_member *m;

	if (i < t->cap)
		return 0;
	while (cap <= i)
		cap *= 2;
	m = realloc(t->m, cap * sizeof(*m));
	if (!m)
		return ERR_NOMEM;
	memset(m + t->cap, 0, (cap - t->cap) * sizeof(*m));
	t->m = m;
	t->cap = cap;
	return 0;
}

static void
emit(struct toy *t, enum swim_event_kind kind, uint32_t about, uint64_t now,
     enum swim_state st, uint64_t inc)
{
	struct swim_event *e;

	if (t->nev == t->capev) {
		uint32_t cap = t->capev ? t->capev * 2 : 16;
		struct swim_event *p = malloc(cap * sizeof(*p));

		if (!p)
			return;
		for (uint32_t k = 0; k < t->nev; k++)
			p[k] = t->ev[(t->hev + k) % (t->capev ? t->capev : 1)];
		free(t->ev);
		t->ev = p;
		t->capev = cap;
		t->hev = 0;
	}
	e = &t->ev[(t->hev + t->nev++) % t->capev];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->time_ms = now;
	sim_name_of(about, e->name);
	sim_addr_of(about, &e->addr);
	e->incarnation = inc;
	e->state = st;
}

static void
queue(struct toy *t, enum swim_out_kind kind, uint32_t to, uint32_t sid,
      const uint8_t *p, size_t n)
{
	struct toy_out *o;
	uint8_t *buf = malloc(n);

	if (!buf)
		return;
	if (t->nout == t->capout) {
		uint32_t cap = t->capout ? t->capout * 2 : 16;
		struct toy_out *q = malloc(cap * sizeof(*q));

		if (!q) {
			free(buf);
			return;
		}
		for (uint32_t k = 0; k < t->nout; k++)
			q[k] = t->out[(t->hout + k) %
				      (t->capout ? t->capout : 1)];
		free(t->out);
		t->out = q;
		t->capout = cap;
		t->hout = 0;
	}
	memcpy(buf, p, n);
	o = &t->out[(t->hout + t->nout++) % t->capout];
	memset(o, 0, sizeof(*o));
	o->buf = buf;
	o->o.kind = kind;
	o->o.stream_id = sid;
	sim_addr_of(to, &o->o.to);
	o->o.data = buf;
	o->o.len = n;
}

static void
send_msg(struct toy *t, uint32_t to, uint8_t type, uint32_t subject,
	 uint64_t inc)
{
	uint8_t b[TOY_MSG];

	b[0] = type;
	put32(b + 1, t->self);
	put32(b + 5, subject);
	put64(b + 9, inc);
	queue(t, SWIM_OUT_DGRAM, to, 0, b, sizeof(b));
}

static bool
is_live_state(uint8_t st)
{
	return st == SWIM_ALIVE + 1 || st == SWIM_SUSPECT + 1;
}

static void
flood(struct toy *t, uint8_t type, uint32_t subject, uint64_t inc)
{
	for (uint32_t i = 0; i < t->cap; i++)
		if (i != t->self && i != subject &&
		    is_live_state(t->m[i].state))
			send_msg(t, i, type, subject, inc);
}

/* Learn that i is alive with incarnation inc. */
static void
learn_alive(struct toy *t, uint32_t i, uint64_t inc, uint64_t now)
{
	struct toy_member *m;

	if (i == t->self || grow(t, i))
		return;
	m = &t->m[i];
	if (m->state && inc <= m->inc && m->state != SWIM_SUSPECT + 1) {
		m->heard_ms = now;
		return;
	}
	if (!m->state || m->state > SWIM_SUSPECT + 1) {
		if (inc < m->inc)
			return;
		m->state = SWIM_ALIVE + 1;
		m->inc = inc;
		m->heard_ms = now;
		emit(t, SWIM_EV_JOIN, i, now, SWIM_ALIVE, inc);
		return;
	}
	if (m->state == SWIM_SUSPECT + 1) {
		m->state = SWIM_ALIVE + 1;
		emit(t, SWIM_EV_ALIVE, i, now, SWIM_ALIVE, m->inc);
	}
	if (inc > m->inc)
		m->inc = inc;
	m->heard_ms = now;
}

static void *
toy_create(void *ctx, const struct sim_node_spec *spec, int *err)
{
	struct toy *t = calloc(1, sizeof(*t));

	(void)ctx;
	if (!t) {
		*err = ERR_NOMEM;
		return NULL;
	}
	t->self = spec->index;
	t->start_ms = spec->start_ms;
	t->interval_ms = spec->prof->probe_interval_ms;
	rng_seed(&t->rng, spec->seed);
	t->probing = -1;
	t->next_probe_ms = spec->start_ms + rng_below(&t->rng, t->interval_ms);
	t->join_retry_ms = UINT64_MAX;
	if (grow(t, spec->index)) {
		free(t);
		*err = ERR_NOMEM;
		return NULL;
	}
	t->m[t->self].state = SWIM_ALIVE + 1;
	t->m[t->self].inc = spec->start_ms;
	return t;
}

static void
toy_destroy(void *ctx, void *n)
{
	struct toy *t = n;

	(void)ctx;
	for (uint32_t k = 0; k < t->nout; k++)
		free(t->out[(t->hout + k) % t->capout].buf);
	free(t->out);
	free(t->last);
	free(t->ev);
	free(t->m);
	free(t);
}

static void
toy_recv(void *n, uint64_t now, const struct addr *from, const uint8_t *p,
	 size_t len)
{
	struct toy *t = n;
	uint32_t src, subj;
	uint64_t inc;

	(void)from;
	if (t->stopped || len != TOY_MSG) {
		t->drops++;
		return;
	}
	src = get32(p + 1);
	subj = get32(p + 5);
	inc = get64(p + 9);
	if (src >= SIM_NODES_MAX || subj >= SIM_NODES_MAX) {
		t->drops++;
		return;
	}
	switch (p[0]) {
	case T_PING:
		learn_alive(t, src, inc, now);
		send_msg(t, src, T_ACK, src, t->m[t->self].inc);
		break;
	case T_ACK:
		learn_alive(t, src, inc, now);
		if (t->probing == (int64_t)src)
			t->probing = -1;
		break;
	case T_ALIVE:
		learn_alive(t, subj, inc, now);
		break;
	case T_DEAD:
	case T_LEFT:
		if (subj == t->self || grow(t, subj))
			break;
		if (is_live_state(t->m[subj].state) && inc >= t->m[subj].inc) {
			bool left = p[0] == T_LEFT;

			t->m[subj].state = left ? SWIM_LEFT + 1 : SWIM_DEAD + 1;
			emit(t, left ? SWIM_EV_LEFT : SWIM_EV_FAILED, subj, now,
			     left ? SWIM_LEFT : SWIM_DEAD, inc);
		}
		break;
	default:
		t->drops++;
		break;
	}
}

static void
toy_recv_stream(void *n, uint64_t now, uint32_t conn, const struct addr *from,
		const uint8_t *p, size_t len)
{
	struct toy *t = n;
	uint8_t *b;
	uint32_t src, cnt = 0;
	size_t off = 5;

	(void)from;
	if (t->stopped || len != 13 || p[0] != T_JOIN) {
		t->drops++;
		return;
	}
	src = get32(p + 1);
	if (src >= SIM_NODES_MAX) {
		t->drops++;
		return;
	}
	learn_alive(t, src, get64(p + 5), now);
	flood(t, T_ALIVE, src, t->m[src].inc);
	b = malloc(5 + (size_t)t->cap * 12);
	if (!b)
		return;
	for (uint32_t i = 0; i < t->cap; i++) {
		if (!is_live_state(t->m[i].state))
			continue;
		put32(b + off, i);
		put64(b + off + 4, t->m[i].inc);
		off += 12;
		cnt++;
	}
	b[0] = T_REPLY;
	put32(b + 1, cnt);
	queue(t, SWIM_OUT_STREAM_RESP, src, conn, b, off);
	free(b);
}

static void
toy_stream_reply(void *n, uint64_t now, uint32_t sid, const uint8_t *p,
		 size_t len)
{
	struct toy *t = n;
	uint32_t cnt;

	if (!t->joining || sid != t->next_sid || len < 5 || p[0] != T_REPLY) {
		t->drops++;
		return;
	}
	cnt = get32(p + 1);
	if ((len - 5) / 12 < cnt) {
		t->drops++;
		return;
	}
	for (uint32_t k = 0; k < cnt; k++)
		learn_alive(t, get32(p + 5 + 12 * k), get64(p + 9 + 12 * k),
			    now);
	t->joining = false;
	t->joined = true;
	t->join_retry_ms = UINT64_MAX;
	emit(t, SWIM_EV_JOINED, t->self, now, SWIM_ALIVE, t->m[t->self].inc);
}

static void
send_join(struct toy *t)
{
	uint8_t b[13];

	b[0] = T_JOIN;
	put32(b + 1, t->self);
	put64(b + 5, t->m[t->self].inc);
	t->next_sid++;
	if (sim_index_of(&t->seed) >= 0)
		queue(t, SWIM_OUT_STREAM_REQ, (uint32_t)sim_index_of(&t->seed),
		      t->next_sid, b, sizeof(b));
}

static void
toy_stream_failed(void *n, uint64_t now, uint32_t sid)
{
	struct toy *t = n;

	if (t->joining && sid == t->next_sid)
		t->join_retry_ms = now + 1000;
}

static void
toy_tick(void *n, uint64_t now)
{
	struct toy *t = n;

	if (t->stopped)
		return;
	if (t->joining && now >= t->join_retry_ms) {
		t->join_retry_ms = UINT64_MAX;
		send_join(t);
	}
	if (now >= t->next_probe_ms) {
		uint32_t live = 0, pick;

		if (t->probing >= 0) {
			struct toy_member *m = &t->m[t->probing];

			if (m->state == SWIM_ALIVE + 1) {
				m->state = SWIM_SUSPECT + 1;
				m->heard_ms = now;
				emit(t, SWIM_EV_SUSPECT, (uint32_t)t->probing,
				     now, SWIM_SUSPECT, m->inc);
			}
			t->probing = -1;
		}
		for (uint32_t i = 0; i < t->cap; i++)
			if (i != t->self && is_live_state(t->m[i].state))
				live++;
		if (live) {
			pick = (uint32_t)rng_below(&t->rng, live);
			for (uint32_t i = 0; i < t->cap; i++) {
				if (i == t->self ||
				    !is_live_state(t->m[i].state))
					continue;
				if (pick-- == 0) {
					t->probing = i;
					send_msg(t, i, T_PING, i,
						 t->m[t->self].inc);
					break;
				}
			}
		}
		t->next_probe_ms = now + t->interval_ms;
	}
	for (uint32_t i = 0; i < t->cap; i++) {
		struct toy_member *m = &t->m[i];

		if (m->state == SWIM_SUSPECT + 1 &&
		    now >= m->heard_ms + 3ull * t->interval_ms) {
			m->state = SWIM_DEAD + 1;
			emit(t, SWIM_EV_FAILED, i, now, SWIM_DEAD, m->inc);
			flood(t, T_DEAD, i, m->inc);
		}
	}
}

static uint64_t
toy_next_deadline(const void *n)
{
	const struct toy *t = n;
	uint64_t d = t->next_probe_ms;

	if (t->stopped)
		return UINT64_MAX;
	if (t->join_retry_ms < d)
		d = t->join_retry_ms;
	return d;
}

static bool
toy_pop_out(void *n, struct swim_out *out)
{
	struct toy *t = n;
	struct toy_out *o;

	free(t->last);
	t->last = NULL;
	if (!t->nout)
		return false;
	o = &t->out[t->hout];
	*out = o->o;
	t->last = o->buf;
	t->hout = (t->hout + 1) % t->capout;
	t->nout--;
	return true;
}

static bool
toy_pop_event(void *n, struct node_event *ev)
{
	struct toy *t = n;

	if (!t->nev)
		return false;
	memset(ev, 0, sizeof(*ev));
	ev->kind = NODE_EV_MEMBER;
	ev->member = t->ev[t->hev];
	ev->time_ms = ev->member.time_ms;
	t->hev = (t->hev + 1) % t->capev;
	t->nev--;
	return true;
}

static int
toy_join(void *n, uint64_t now, const struct addr *seeds, size_t nseeds)
{
	struct toy *t = n;

	(void)now;
	if (!nseeds)
		return ERR_INVAL;
	t->seed = seeds[0];
	t->joining = true;
	send_join(t);
	return 0;
}

static int
toy_leave(void *n, uint64_t now)
{
	struct toy *t = n;

	if (t->leaving)
		return ERR_STATE;
	t->leaving = true;
	flood(t, T_LEFT, t->self, t->m[t->self].inc);
	emit(t, SWIM_EV_LEAVE_DONE, t->self, now, SWIM_LEFT, t->m[t->self].inc);
	t->stopped = true;
	return 0;
}

static uint64_t
toy_digest(const void *n)
{
	const struct toy *t = n;
	uint64_t d = 0;

	for (uint32_t i = 0; i < t->cap; i++)
		if (is_live_state(t->m[i].state))
			d += hash_u64(((uint64_t)i << 32) ^ t->m[i].inc, 7);
	return d;
}

static size_t
toy_member_count(const void *n)
{
	const struct toy *t = n;
	size_t c = 0;

	for (uint32_t i = 0; i < t->cap; i++)
		c += t->m[i].state != 0;
	return c;
}

static size_t
toy_count_state(const void *n, enum swim_state st)
{
	const struct toy *t = n;
	size_t c = 0;

	for (uint32_t i = 0; i < t->cap; i++)
		c += t->m[i].state == st + 1;
	return c;
}

static size_t
toy_memory(const void *n)
{
	const struct toy *t = n;

	return sizeof(*t) + t->cap * sizeof(*t->m) +
	       t->capout * sizeof(*t->out) + t->capev * sizeof(*t->ev);
}

static unsigned
toy_health(const void *n)
{
	(void)n;
	return 0;
}

static uint64_t
toy_drops(const void *n)
{
	return ((const struct toy *)n)->drops;
}

static const struct sim_node_ops toy_ops = {
	.name = "toy",
	.create = toy_create,
	.destroy = toy_destroy,
	.recv = toy_recv,
	.recv_stream = toy_recv_stream,
	.stream_reply = toy_stream_reply,
	.stream_failed = toy_stream_failed,
	.tick = toy_tick,
	.next_deadline = toy_next_deadline,
	.pop_out = toy_pop_out,
	.pop_event = toy_pop_event,
	.join = toy_join,
	.leave = toy_leave,
	.digest = toy_digest,
	.member_count = toy_member_count,
	.count_state = toy_count_state,
	.memory = toy_memory,
	.health = toy_health,
	.drops = toy_drops,
};

const struct sim_node_ops *
sim_toy_ops(void)
{
	return &toy_ops;
}
