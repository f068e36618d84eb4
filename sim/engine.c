/* SPDX-License-Identifier: MIT */
/*
 * sim/engine.c — the discrete-event loop that drives every virtual node.
 *
 * Everything that happens is an event in one heap ordered by (time, seq):
 * a node's timer, a datagram or stream frame arriving, a stream timing
 * out, a scenario action, a metrics sample. The loop pops the earliest
 * event, advances the clock to it, and hands it to its node through the
 * ops table; whatever the node then wants (datagrams, stream frames, a new
 * deadline, membership events) is collected at once by after_call():
 *
 *   - outbox frames go through the virtual network (sim/net.c), which
 *     drops them or schedules their arrival;
 *   - events go to the metrics, and LEAVE_DONE stops the node;
 *   - the node's next deadline arms its one timer.
 *
 * Timers are armed lazily: each node has one `armed_us`. A deadline that
 * moves earlier pushes a new wake event; one that moves later leaves the
 * armed one in place, which then wakes the node a little early (a tick
 * with nothing due is harmless) and re-arms it. A wake whose time is not
 * the node's `armed_us`, or whose generation is not the node's, is stale
 * and skipped. So the heap holds about one wake per node, not one per
 * deadline change.
 *
 * Streams are request/response over a connection the engine plays: the
 * requester's STREAM_REQ gets a connection id, the frame is delivered to
 * the target's recv_stream after a handshake and a transfer time, the
 * target's STREAM_RESP with that id travels back to stream_reply. A
 * stream fails (stream_failed) when the target process is gone (refused,
 * after a round trip), or by timeout when the link is blocked or the reply
 * never comes. A record lives in a table keyed by connection id until the
 * requester has been told one way or the other.
 *
 * Bootstrap: node i starts at i * stagger and joins through the seeds.
 * The warm start (`bootstrap warm`) starts every node at 0 from a converged
 * view handed in with node_preload() (no events, no broadcasts: the
 * cluster is as if its bootstrap had long spread). For node kinds without
 * preload (the toy), it joins every node through the first seed, whose
 * answers are replaced by connection resets until it has heard from every
 * node, so each retry (after the join backoff) returns the whole table.
 *
 * Faults that affect processing live here: a paused node queues every
 * input (datagrams, stream frames, timeouts) and replays it in order when
 * resumed; a slow node sees each input `slow_us` late, in order; a crashed
 * node is deleted, and a restart builds a new node object with a later
 * start time (hence a higher incarnation), same name and address.
 *
 * Services: sim/sched.c plays each node's process driver and keeps the
 * scheduler's truth. It hears every non-membership node event, reads the
 * acting managers' state after their calls, and schedules EV_TASK steps,
 * which are node inputs like datagrams (a paused node queues them, a
 * crashed one drops them). The engine's structures (struct sim, struct
 * vnode ...) live in sim/engine_int.h, which the two share.
 *
 * Invariants: simulated time never goes backwards; a node's clock never
 * goes backwards; every packet has exactly one owner (an event, a pause
 * queue, or nobody once delivered or dropped), counted by `refs` when
 * duplicated; nothing that changes the run reads the wall clock.
 */
#include "sim/sim.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <xxhash.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/rng.h"
#include "sim/engine.h"
#include "sim/engine_int.h"
#include "sim/heap.h"
#include "sim/metrics.h"
#include "sim/net.h"
#include "sim/scenario.h"
#include "sim/sched.h"

/* ---- addresses and names --------------------------------------------------
 */

void
sim_addr_of(uint32_t i, struct addr *a)
{
	uint32_t k = i + 1;

	addr_v4(a, 10, (uint8_t)(k >> 16), (uint8_t)(k >> 8), (uint8_t)k,
		SIM_PORT);
}

int64_t
sim_index_of(const struct addr *a)
{
	uint32_t k;

	if (a->family != ADDR_V4 || a->ip[0] != 10 || a->port != SIM_PORT)
		return -1;
	k = ((uint32_t)a->ip[1] << 16) | ((uint32_t)a->ip[2] << 8) | a->ip[3];
	return k ? (int64_t)k - 1 : -1;
}

void
sim_name_of(uint32_t i, char *out)
{
	snprintf(out, SWIM_NAME_MAX + 1, "node-%" PRIu32, i);
}

int64_t
sim_index_of_name(const char *name)
{
	uint64_t v = 0;
	const char *p;

	if (strncmp(name, "node-", 5) != 0 || !name[5])
		return -1;
	for (p = name + 5; *p; p++) {
		if (*p < '0' || *p > '9' || v > SIM_NODES_MAX)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p - name > 5 + 1 && name[5] == '0')
		return -1; /* no leading zeros: one name per index */
	return (int64_t)v;
}

/* ---- small helpers ------------------------------------------------------- */

static double
wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
fail(struct sim *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (s->err)
		return;
	s->err = err ? err : ERR_INVAL;
	if (!s->why || !s->why_cap)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, s->why_cap, fmt, ap);
	va_end(ap);
}

static void
push(struct sim *s, uint64_t t_us, uint16_t type, uint32_t node, uint32_t a,
     uint32_t b, void *p)
{
	struct sim_ev ev = {
		.t_us = t_us,
		.p = p,
		.node = node,
		.type = type,
		.a = a,
		.b = b,
	};

	if (sim_heap_push(&s->heap, &ev))
		fail(s, ERR_NOMEM, "out of memory (event heap)");
}

static struct sim_pkt *
pkt_new(struct sim *s, const uint8_t *p, size_t len)
{
	struct sim_pkt *k = malloc(sizeof(*k) + len);

	if (!k) {
		fail(s, ERR_NOMEM, "out of memory (packet)");
		return NULL;
	}
	k->refs = 1;
	k->len = (uint32_t)len;
	memcpy(k->data, p, len);
	return k;
}

static void
pkt_put(struct sim_pkt *k)
{
	if (k && --k->refs == 0)
		free(k);
}

enum trace_kind {
	TR_DGRAM = 1,
	TR_DGRAM_DROP,
	TR_SREQ,
	TR_SRESP,
	TR_SFAIL,
	TR_STUCK,
};

static void
trace(struct sim *s, uint32_t kind, uint32_t src, uint32_t dst,
      const uint8_t *p, size_t len)
{
	struct {
		uint64_t t_us;
		uint32_t kind, src, dst, len;
		uint64_t h;
	} rec = {
		.t_us = s->now_us,
		.kind = kind,
		.src = src,
		.dst = dst,
		.len = (uint32_t)len,
		.h = p ? hash64(p, len, 0) : 0,
	};

	XXH3_64bits_update(s->trace, &rec, sizeof(rec));
}

static bool
running(const struct vnode *v)
{
	return v->state == V_UP || v->state == V_LEAVING;
}

/* ---- clocks ------------------------------------------------------------- */

static int64_t
local_us(const struct vnode *v, uint64_t t_us)
{
	int64_t dt = (int64_t)(t_us - v->anchor_us);

	return v->anchor_local_us + dt + dt * v->ppm / 1000000;
}

static uint64_t
now_ms(struct vnode *v, uint64_t t_us)
{
	int64_t l = local_us(v, t_us);
	uint64_t ms = l > 0 ? (uint64_t)l / 1000 : 0;

	if (ms < v->last_ms)
		ms = v->last_ms;
	v->last_ms = ms;
	return ms;
}

/* The earliest simulated time at which v's clock reads dl_ms. */
static uint64_t
sim_time_of(const struct sim *s, const struct vnode *v, uint64_t dl_ms)
{
	int64_t target, diff;
	uint64_t dt;

	if (dl_ms <= v->last_ms)
		return s->now_us;
	if (dl_ms > (uint64_t)INT64_MAX / 1000)
		return UINT64_MAX;
	target = (int64_t)dl_ms * 1000;
	diff = target - v->anchor_local_us;
	if (diff <= 0)
		return s->now_us;
	if (diff > (int64_t)1e12) /* > 11 days: beyond any run */
		return UINT64_MAX;
	dt = (uint64_t)((diff * 1000000 + (1000000 + v->ppm) - 1) /
			(1000000 + v->ppm));
	if (v->anchor_us + dt < s->now_us)
		return s->now_us;
	return v->anchor_us + dt;
}

static void
clock_reanchor(struct sim *s, struct vnode *v)
{
	v->anchor_local_us = local_us(v, s->now_us);
	v->anchor_us = s->now_us;
}

/* ---- node lifecycle ---------------------------------------------------------
 */

static void after_call(struct sim *s, uint32_t i);

static void
node_log_sink(void *ctx, enum log_level level, const char *line, size_t len)
{
	const struct logctx *c = ctx;
	const struct sim *s = c->s;

	(void)level;
	fprintf(s->opts.log, "t=%.6f node=node-%" PRIu32 " %.*s\n",
		(double)s->now_us / 1e6, c->i, (int)len, line);
}

static struct log *
node_log(struct sim *s, uint32_t i)
{
	struct vnode *v = &s->v[i];

	if (!s->opts.log)
		return NULL;
	if (!v->lg) {
		struct logctx *c = malloc(sizeof(*c));

		v->lg = calloc(1, sizeof(*v->lg));
		if (!c || !v->lg) {
			free(c);
			free(v->lg);
			v->lg = NULL;
			return NULL;
		}
		c->s = s;
		c->i = i;
		v->lg->sink = node_log_sink;
		v->lg->ctx = c;
		v->lg->level = (enum log_level)s->opts.log_level;
	}
	return v->lg;
}

static int
grow_nodes(struct sim *s, uint32_t n)
{
	uint32_t cap = s->cap ? s->cap : 64;
	struct vnode *v;

	if (n > SIM_NODES_MAX)
		return ERR_RANGE;
	if (n > s->cap) {
		while (cap < n)
			cap *= 2;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return ERR_NOMEM;
		memset(v + s->cap, 0, (cap - s->cap) * sizeof(*v));
		s->v = v;
		s->cap = cap;
	}
	if (sim_net_grow(&s->net, n))
		return ERR_NOMEM;
	for (uint32_t i = s->n; i < n; i++) {
		struct vnode *x = &s->v[i];

		x->armed_us = UINT64_MAX;
		x->anchor_us = 0;
		x->anchor_local_us = (int64_t)s->sc->epoch_ms * 1000;
		rng_stream(&x->net_rng, s->sc->seed, STREAM_NET + i);
	}
	if (n > s->n)
		s->n = n;
	return 0;
}

static void
pq_clear(struct vnode *v)
{
	for (uint32_t k = 0; k < v->pq_n; k++)
		pkt_put(v->pq[k].p);
	v->pq_n = 0;
}

/* Close the measurement of a node's live time. */
static void
live_stop(struct sim *s, struct vnode *v)
{
	if (s->now_us > v->up_since_us)
		v->live_us += s->now_us - v->up_since_us;
	v->up_since_us = UINT64_MAX;
}

static void
node_start(struct sim *s, uint32_t i, enum start_kind how)
{
	bool restart = how == START_RESTART;
	struct vnode *v;
	struct sim_node_spec spec;
	struct addr seeds[SIM_SEEDS_MAX];
	char name[SWIM_NAME_MAX + 1];
	size_t nseeds = 0;
	uint64_t seed;
	struct rng r;
	int err = 0;

	if (i >= s->n && grow_nodes(s, i + 1)) {
		fail(s, ERR_NOMEM, "out of memory (nodes)");
		return;
	}
	v = &s->v[i];
	if (running(v))
		return;
	if (v->state != V_NONE)
		v->gen++;
	rng_stream(&r, s->sc->seed, STREAM_NODE + ((uint64_t)i << 16) + v->gen);
	seed = rng_next(&r);
	sim_name_of(i, name);
	memset(&spec, 0, sizeof(spec));
	spec.index = i;
	spec.generation = v->gen;
	spec.name = name;
	sim_addr_of(i, &spec.addr);
	spec.start_ms = now_ms(v, s->now_us);
	spec.seed = seed;
	spec.prof = &s->sc->prof;
	spec.keyring = &s->kr;
	spec.cluster = SIM_CLUSTER;
	spec.pool = &s->pool;
	spec.log = node_log(s, i);
	spec.tags = sim_sched_tags(s, i, &spec.ntags);
	v->obj = s->ops->create(s->ops_ctx, &spec, &err);
	if (!v->obj) {
		fail(s, err, "node-%" PRIu32 ": cannot create: %s", i,
		     err_str(err));
		return;
	}
	v->state = V_UP;
	v->paused = false;
	v->stop_pending = false;
	v->slow_us = 0;
	v->slow_next_us = 0;
	v->armed_us = UINT64_MAX;
	v->ticked_ms = 0;
	v->start_ms = spec.start_ms;
	v->up_since_us = s->now_us > s->measure_us ? s->now_us : s->measure_us;
	if (sim_metrics_node_start(&s->m, i, s->now_us, spec.start_ms,
				   how == START_WARM ? -1
				   : restart	     ? SIM_RUM_REJOIN
						     : SIM_RUM_JOIN)) {
		fail(s, ERR_NOMEM, "out of memory (metrics)");
		return;
	}
	sim_sched_node_up(s, i);
	/* Seeds: every configured seed but ourselves; when that leaves none
	 * (we are the only seed) and others run, the lowest running node. */
	for (uint32_t k = 0; k < s->sc->nseeds; k++) {
		uint32_t j = s->sc->seeds[k];

		if (s->warm_pending && k > 0)
			break; /* warm start: through the first seed only */
		if (j != i && j < s->n && s->v[j].state != V_NONE)
			sim_addr_of(j, &seeds[nseeds++]);
	}
	if (!nseeds && (restart || i >= s->sc->nodes)) {
		for (uint32_t j = 0; j < s->n; j++) {
			if (j != i && running(&s->v[j])) {
				sim_addr_of(j, &seeds[nseeds++]);
				break;
			}
		}
	}
	if (nseeds && how != START_WARM) {
		err = s->ops->join(v->obj, now_ms(v, s->now_us), seeds, nseeds);
		if (err)
			fail(s, err, "node-%" PRIu32 ": join: %s", i,
			     err_str(err));
	}
	after_call(s, i);
}

static void
node_down(struct sim *s, uint32_t i, enum vstate st)
{
	struct vnode *v = &s->v[i];

	if (!running(v))
		return;
	s->ops->destroy(s->ops_ctx, v->obj);
	v->obj = NULL;
	v->state = (uint8_t)st;
	v->gen++;
	v->armed_us = UINT64_MAX;
	v->paused = false;
	v->slow_us = 0;
	pq_clear(v);
	live_stop(s, v);
	if (st == V_DOWN) {
		if (sim_metrics_node_crash(&s->m, i, s->now_us))
			fail(s, ERR_NOMEM, "out of memory (metrics)");
	} else {
		sim_metrics_node_stop(&s->m, i, s->now_us);
	}
	sim_sched_node_down(s, i, st == V_DOWN);
	/* A crashed machine is no longer disturbed: it is simply gone. */
	sim_metrics_disturb(&s->m, i, SIM_DIST_PAUSE | SIM_DIST_SLOW, false,
			    s->now_us);
}

/* ---- streams ------------------------------------------------------------ */

static uint32_t
map_slot(uint32_t conn, uint32_t cap)
{
	return (uint32_t)(hash_u64(conn, 0x636f6e6e) & (cap - 1));
}

static int
map_grow(struct sim *s)
{
	uint32_t cap = s->capmap ? s->capmap * 2 : 1024;
	uint32_t *m = calloc(cap, 2 * sizeof(uint32_t));

	if (!m)
		return ERR_NOMEM;
	for (uint32_t k = 0; k < s->capmap; k++) {
		uint32_t conn = s->map[2 * k], j;

		if (!conn)
			continue;
		for (j = map_slot(conn, cap); m[2 * j]; j = (j + 1) & (cap - 1))
			;
		m[2 * j] = conn;
		m[2 * j + 1] = s->map[2 * k + 1];
	}
	free(s->map);
	s->map = m;
	s->capmap = cap;
	return 0;
}

static int
map_put(struct sim *s, uint32_t conn, uint32_t slot)
{
	uint32_t j;

	if ((s->nmap + 1) * 2 > s->capmap && map_grow(s))
		return ERR_NOMEM;
	for (j = map_slot(conn, s->capmap); s->map[2 * j];
	     j = (j + 1) & (s->capmap - 1))
		;
	s->map[2 * j] = conn;
	s->map[2 * j + 1] = slot;
	s->nmap++;
	return 0;
}

static int64_t
map_get(const struct sim *s, uint32_t conn)
{
	if (!s->capmap)
		return -1;
	for (uint32_t j = map_slot(conn, s->capmap); s->map[2 * j];
	     j = (j + 1) & (s->capmap - 1))
		if (s->map[2 * j] == conn)
			return s->map[2 * j + 1];
	return -1;
}

/* Remove with backward shift, so lookups never need tombstones. */
static void
map_del(struct sim *s, uint32_t conn)
{
	uint32_t mask = s->capmap - 1, j, k;

	if (!s->capmap)
		return;
	for (j = map_slot(conn, s->capmap); s->map[2 * j]; j = (j + 1) & mask)
		if (s->map[2 * j] == conn)
			break;
	if (!s->map[2 * j])
		return;
	s->nmap--;
	for (k = (j + 1) & mask; s->map[2 * k]; k = (k + 1) & mask) {
		uint32_t home = map_slot(s->map[2 * k], s->capmap);

		/* Move k into the hole j unless its home lies in (j, k]. */
		if (((k - home) & mask) >= ((k - j) & mask)) {
			s->map[2 * j] = s->map[2 * k];
			s->map[2 * j + 1] = s->map[2 * k + 1];
			j = k;
		}
	}
	s->map[2 * j] = 0;
	s->map[2 * j + 1] = 0;
}

static int64_t
stream_new(struct sim *s)
{
	uint32_t slot;

	if (!s->free_st) {
		uint32_t cap = s->capst ? s->capst * 2 : 256;
		struct sstream *p = realloc(s->st, cap * sizeof(*p));

		if (!p)
			return ERR_NOMEM;
		memset(p + s->capst, 0, (cap - s->capst) * sizeof(*p));
		for (uint32_t k = cap; k > s->capst; k--) {
			p[k - 1].next_free = s->free_st;
			s->free_st = k;
		}
		s->st = p;
		s->capst = cap;
	}
	slot = s->free_st - 1;
	s->free_st = s->st[slot].next_free;
	memset(&s->st[slot], 0, sizeof(s->st[slot]));
	do
		s->next_conn++;
	while (!s->next_conn);
	s->st[slot].conn = s->next_conn;
	if (map_put(s, s->next_conn, slot))
		return ERR_NOMEM;
	return slot;
}

static void
stream_free(struct sim *s, uint32_t slot)
{
	map_del(s, s->st[slot].conn);
	s->st[slot].conn = 0;
	s->st[slot].next_free = s->free_st;
	s->free_st = slot + 1;
}

/* The stream record an event refers to, if it is still open. */
static struct sstream *
stream_of(struct sim *s, const struct sim_ev *ev)
{
	if (ev->a >= s->capst || s->st[ev->a].conn != ev->b)
		return NULL;
	return &s->st[ev->a];
}

/* ---- sending ------------------------------------------------------------ */

static void
count_tx(struct sim *s, struct vnode *v, size_t len)
{
	s->net_sent++;
	s->tx_msgs_all++;
	s->tx_bytes_all += len;
	if (s->now_us >= s->measure_us) {
		v->tx_msgs++;
		v->tx_bytes += len;
	}
}

static void
send_dgram(struct sim *s, uint32_t i, const struct swim_out *o)
{
	struct vnode *v = &s->v[i];
	int64_t d = sim_index_of(&o->to);
	struct sim_pkt *k;
	double u_loss, u_dup;
	uint32_t dst;

	count_tx(s, v, o->len);
	/* Draw the same number of times whatever the outcome, so one
	 * decision never shifts the next. */
	u_loss = rng_double(&v->net_rng);
	u_dup = rng_double(&v->net_rng);
	if (d < 0 || (uint64_t)d >= s->n || d == i) {
		s->net_dropped++;
		trace(s, TR_DGRAM_DROP, i, d < 0 ? UINT32_MAX : (uint32_t)d,
		      o->data, o->len);
		return;
	}
	dst = (uint32_t)d;
	if (sim_net_blocked(&s->net, i, dst) ||
	    u_loss < sim_net_loss(&s->net, i, dst)) {
		s->net_dropped++;
		trace(s, TR_DGRAM_DROP, i, dst, o->data, o->len);
		return;
	}
	k = pkt_new(s, o->data, o->len);
	if (!k)
		return;
	push(s, s->now_us + sim_net_delay(&s->net, i, dst, &v->net_rng),
	     EV_DGRAM, dst, i, 0, k);
	if (s->net.p.dup > 0 && u_dup < s->net.p.dup) {
		k->refs++;
		push(s, s->now_us + sim_net_delay(&s->net, i, dst, &v->net_rng),
		     EV_DGRAM, dst, i, 0, k);
	}
}

static void
send_stream_req(struct sim *s, uint32_t i, const struct swim_out *o)
{
	struct vnode *v = &s->v[i];
	int64_t d = sim_index_of(&o->to), slot;
	struct sstream *st;
	struct sim_pkt *k;
	uint64_t t;

	count_tx(s, v, o->len + 4);
	s->streams++;
	slot = stream_new(s);
	if (slot < 0) {
		fail(s, ERR_NOMEM, "out of memory (streams)");
		return;
	}
	st = &s->st[slot];
	st->req = i;
	st->req_gen = v->gen;
	st->req_sid = o->stream_id;
	push(s, s->now_us + s->stream_timeout_us, EV_STIMEOUT, i,
	     (uint32_t)slot, st->conn, NULL);
	if (d < 0 || (uint64_t)d >= s->n || d == i ||
	    o->len > s->sc->prof.stream_max) {
		/* No such host, or a frame the runtime refuses to send. */
		push(s, s->now_us, EV_SFAIL, i, (uint32_t)slot, st->conn, NULL);
		return;
	}
	st->dst = (uint32_t)d;
	st->dst_gen = s->v[d].gen;
	if (sim_net_blocked(&s->net, i, st->dst) ||
	    sim_net_blocked(&s->net, st->dst, i)) {
		trace(s, TR_STUCK, i, st->dst, o->data, o->len);
		return; /* SYN never answered: the timeout fails it */
	}
	if (!running(&s->v[d])) {
		/* Nobody listens: refused after a round trip. */
		t = sim_net_delay(&s->net, i, st->dst, &v->net_rng) +
		    sim_net_delay(&s->net, st->dst, i, &v->net_rng);
		push(s, s->now_us + t, EV_SFAIL, i, (uint32_t)slot, st->conn,
		     NULL);
		return;
	}
	k = pkt_new(s, o->data, o->len);
	if (!k)
		return;
	/* Handshake (a round trip), then the frame. */
	t = sim_net_delay(&s->net, i, st->dst, &v->net_rng) +
	    sim_net_delay(&s->net, st->dst, i, &v->net_rng) +
	    sim_net_stream_delay(&s->net, i, st->dst, o->len + 4, &v->net_rng);
	push(s, s->now_us + t, EV_SREQ, st->dst, (uint32_t)slot, st->conn, k);
}

static void
send_stream_resp(struct sim *s, uint32_t j, const struct swim_out *o)
{
	struct vnode *v = &s->v[j];
	int64_t slot = map_get(s, o->stream_id);
	struct sstream *st;
	struct sim_pkt *k;

	count_tx(s, v, o->len + 4);
	if (slot < 0)
		return; /* the requester gave up and the connection is gone */
	st = &s->st[slot];
	if (st->dst != j || st->dst_gen != v->gen)
		return;
	if (sim_net_blocked(&s->net, j, st->req) || !running(&s->v[st->req]) ||
	    s->v[st->req].gen != st->req_gen) {
		trace(s, TR_STUCK, j, st->req, o->data, o->len);
		return;
	}
	if (o->len > s->sc->prof.stream_max)
		return; /* the requester's runtime refuses it: timeout */
	if (st->warm_reset) {
		/* Warm start: the seed has not heard from everyone yet; the
		 * requester sees a reset and retries after its backoff. */
		push(s,
		     s->now_us +
			     sim_net_delay(&s->net, j, st->req, &v->net_rng),
		     EV_SFAIL, st->req, (uint32_t)slot, st->conn, NULL);
		return;
	}
	k = pkt_new(s, o->data, o->len);
	if (!k)
		return;
	push(s,
	     s->now_us + sim_net_stream_delay(&s->net, j, st->req, o->len + 4,
					      &v->net_rng),
	     EV_SRESP, st->req, (uint32_t)slot, st->conn, k);
}

/* ---- after every call into a node ------------------------------------------
 */

static void
arm(struct sim *s, uint32_t i)
{
	struct vnode *v = &s->v[i];
	uint64_t dl, t;

	if (!running(v) || v->paused)
		return;
	dl = s->ops->next_deadline(v->obj);
	if (dl == UINT64_MAX)
		return;
	if (dl <= v->ticked_ms)
		dl = v->ticked_ms + 1; /* still due after a tick: next ms */
	t = sim_time_of(s, v, dl);
	if (t < v->armed_us) {
		v->armed_us = t;
		push(s, t, EV_WAKE, i, v->gen, 0, NULL);
	}
}

/* The runtime's record of a drained event, as the agent writes it. */
static void
log_event(const struct log *lg, const struct swim_event *e)
{
	struct log_rec r;
	char a[ADDR_STR_MAX];

	if (!log_begin(&r, lg, LOG_INFO, swim_event_name(e->kind)))
		return;
	log_str(&r, "member", e->name);
	if (e->addr.family && addr_format(&e->addr, a, sizeof(a)) > 0)
		log_str(&r, "addr", a);
	log_u64(&r, "inc", e->incarnation);
	log_str(&r, "state", swim_state_name(e->state));
	log_end(&r);
}

static void
after_call(struct sim *s, uint32_t i)
{
	struct vnode *v = &s->v[i];
	struct swim_out o;
	struct node_event ev;

	if (!running(v))
		return;
	while (s->ops->pop_out(v->obj, &o)) {
		switch (o.kind) {
		case SWIM_OUT_DGRAM:
			send_dgram(s, i, &o);
			break;
		case SWIM_OUT_STREAM_REQ:
			send_stream_req(s, i, &o);
			break;
		case SWIM_OUT_STREAM_RESP:
			send_stream_resp(s, i, &o);
			break;
		default:
			break;
		}
	}
	while (s->ops->pop_event(v->obj, &ev)) {
		if (ev.kind != NODE_EV_MEMBER) {
			sim_sched_on_event(s, i, &ev);
			continue;
		}
		if (v->lg)
			log_event(v->lg, &ev.member);
		if (ev.member.kind == SWIM_EV_LEAVE_DONE)
			v->stop_pending = true;
		sim_metrics_event(&s->m, i, s->now_us, &ev.member);
	}
	if (v->stop_pending) {
		node_down(s, i, V_LEFT);
		return;
	}
	sim_sched_after_call(s, i);
	arm(s, i);
}

/* ---- delivering -----------------------------------------------------------
 */

static void
queue_paused(struct sim *s, struct vnode *v, const struct sim_ev *ev)
{
	if (v->pq_n == v->pq_cap) {
		uint32_t cap = v->pq_cap ? v->pq_cap * 2 : 16;
		struct sim_ev *p = realloc(v->pq, cap * sizeof(*p));

		if (!p) {
			fail(s, ERR_NOMEM, "out of memory (pause queue)");
			pkt_put(ev->p);
			return;
		}
		v->pq = p;
		v->pq_cap = cap;
	}
	v->pq[v->pq_n++] = *ev;
}

/* Handle one input event for a running, unpaused, unslowed node. */
static void
process(struct sim *s, const struct sim_ev *ev)
{
	uint32_t i = ev->node;
	struct vnode *v = &s->v[i];
	struct sim_pkt *k = ev->p;
	struct sstream *st;
	struct addr from;
	uint64_t t;

	switch (ev->type) {
	case EV_DGRAM:
		trace(s, TR_DGRAM, ev->a, i, k->data, k->len);
		sim_addr_of(ev->a, &from);
		s->ops->recv(v->obj, now_ms(v, s->now_us), &from, k->data,
			     k->len);
		pkt_put(k);
		break;
	case EV_SREQ:
		st = stream_of(s, ev);
		if (!st || st->dst_gen != v->gen) {
			pkt_put(k);
			if (st) { /* a new process: reset */
				t = sim_net_delay(&s->net, i, st->req,
						  &v->net_rng);
				push(s, s->now_us + t, EV_SFAIL, st->req, ev->a,
				     ev->b, NULL);
			}
			return;
		}
		if (sim_net_blocked(&s->net, st->req, i)) {
			trace(s, TR_STUCK, st->req, i, k->data, k->len);
			pkt_put(k);
			return;
		}
		trace(s, TR_SREQ, st->req, i, k->data, k->len);
		if (s->warm_pending && i == s->sc->seeds[0] &&
		    st->req < s->sc->nodes && --s->warm_pending)
			st->warm_reset = true;
		sim_addr_of(st->req, &from);
		s->ops->recv_stream(v->obj, now_ms(v, s->now_us), st->conn,
				    &from, k->data, k->len);
		pkt_put(k);
		break;
	case EV_SRESP:
		st = stream_of(s, ev);
		if (!st || st->req_gen != v->gen) {
			pkt_put(k);
			return;
		}
		if (sim_net_blocked(&s->net, st->dst, i)) {
			trace(s, TR_STUCK, st->dst, i, k->data, k->len);
			pkt_put(k);
			return;
		}
		trace(s, TR_SRESP, st->dst, i, k->data, k->len);
		{
			uint32_t sid = st->req_sid;

			stream_free(s, ev->a);
			s->ops->stream_reply(v->obj, now_ms(v, s->now_us), sid,
					     k->data, k->len);
		}
		pkt_put(k);
		break;
	case EV_SFAIL:
	case EV_STIMEOUT:
		st = stream_of(s, ev);
		if (!st || st->req_gen != v->gen)
			return;
		trace(s, TR_SFAIL, st->dst, i, NULL, ev->type);
		s->streams_failed++;
		{
			uint32_t sid = st->req_sid;

			stream_free(s, ev->a);
			s->ops->stream_failed(v->obj, now_ms(v, s->now_us),
					      sid);
		}
		break;
	case EV_TASK:
		/* The driver calls into the node (and drains) itself. */
		sim_sched_task_event(s, ev);
		return;
	default:
		return;
	}
	after_call(s, i);
}

/* An input event arrives at its node: deliver, queue or delay it. */
static void
input(struct sim *s, const struct sim_ev *ev)
{
	struct vnode *v = &s->v[ev->node];

	if (!running(v)) {
		if (ev->type == EV_DGRAM) {
			struct sim_pkt *k = ev->p;

			s->net_dropped++;
			trace(s, TR_DGRAM_DROP, ev->a, ev->node, k->data,
			      k->len);
		} else if (ev->type == EV_SREQ) {
			struct sstream *st = stream_of(s, ev);

			/* The process is gone: the requester sees a reset. */
			if (st)
				push(s,
				     s->now_us + sim_net_delay(
							 &s->net, ev->node,
							 st->req, &v->net_rng),
				     EV_SFAIL, st->req, ev->a, ev->b, NULL);
		}
		pkt_put(ev->p);
		return;
	}
	if (v->paused) {
		queue_paused(s, v, ev);
		return;
	}
	if (v->slow_us && !(ev->flags & EVF_SLOWED)) {
		struct sim_ev e = *ev;
		uint64_t t = s->now_us + v->slow_us;

		if (t < v->slow_next_us)
			t = v->slow_next_us;
		v->slow_next_us = t;
		e.t_us = t;
		e.flags |= EVF_SLOWED;
		if (sim_heap_push(&s->heap, &e))
			fail(s, ERR_NOMEM, "out of memory (event heap)");
		return;
	}
	process(s, ev);
}

static void
wake(struct sim *s, const struct sim_ev *ev)
{
	struct vnode *v = &s->v[ev->node];
	uint64_t ms;

	if (!running(v) || v->paused || ev->a != v->gen ||
	    ev->t_us != v->armed_us)
		return;
	v->armed_us = UINT64_MAX;
	ms = now_ms(v, s->now_us);
	v->ticked_ms = ms;
	s->ops->tick(v->obj, ms);
	after_call(s, ev->node);
}

static void
resume(struct sim *s, uint32_t i)
{
	struct vnode *v = &s->v[i];
	struct sim_ev *q;
	uint32_t n;

	if (!running(v) || !v->paused)
		return;
	v->paused = false;
	v->pause_token++;
	sim_metrics_disturb(&s->m, i, SIM_DIST_PAUSE, false, s->now_us);
	/* The burst: everything that queued up, in arrival order, now. */
	q = v->pq;
	n = v->pq_n;
	v->pq = NULL;
	v->pq_n = v->pq_cap = 0;
	for (uint32_t k = 0; k < n; k++) {
		if (running(v) && !v->paused)
			process(s, &q[k]);
		else
			pkt_put(q[k].p);
	}
	free(q);
	if (running(v)) {
		v->armed_us = UINT64_MAX;
		v->ticked_ms = 0;
		s->ops->tick(v->obj, now_ms(v, s->now_us));
		after_call(s, i);
	}
}

/* ---- scenario actions -----------------------------------------------------
 */

static bool
is_seed(const struct sim *s, uint32_t i)
{
	for (uint32_t k = 0; k < s->sc->nseeds; k++)
		if (s->sc->seeds[k] == i)
			return true;
	return false;
}

static int
idx_push(struct sim *s, uint32_t i)
{
	if (s->idx[0] + 1 >= s->capidx) {
		uint32_t cap = s->capidx * 2;
		uint32_t *p = realloc(s->idx, cap * sizeof(*p));

		if (!p)
			return ERR_NOMEM;
		s->idx = p;
		s->capidx = cap;
	}
	s->idx[1 + s->idx[0]++] = i;
	return 0;
}

/* k running non-seed nodes at random, from the fault stream. */
static int
pick_random(struct sim *s, uint64_t k, uint8_t *mark)
{
	uint32_t *cand = malloc((s->n + 1) * sizeof(*cand)), nc = 0;

	if (!cand)
		return ERR_NOMEM;
	for (uint32_t i = 0; i < s->n; i++)
		if (running(&s->v[i]) && !is_seed(s, i) && !mark[i])
			cand[nc++] = i;
	if (k > nc)
		k = nc;
	for (uint32_t j = 0; j < k; j++) {
		uint32_t r = j + (uint32_t)rng_below(&s->fault_rng, nc - j);
		uint32_t t = cand[j];

		cand[j] = cand[r];
		cand[r] = t;
		mark[cand[j]] = 1;
	}
	free(cand);
	return 0;
}

/* Resolve a set into s->idx (idx[0] = count, then indices, ascending). */
static int
resolve(struct sim *s, const struct sim_set *set, const uint8_t *exclude)
{
	uint8_t *mark = calloc(s->n + 1, 1);
	uint32_t running_n = 0;
	int rc = 0;

	if (!mark)
		return ERR_NOMEM;
	s->idx[0] = 0;
	for (uint32_t i = 0; i < s->n; i++)
		if (running(&s->v[i]) && !is_seed(s, i))
			running_n++;
	for (uint32_t k = 0; k < set->n && !rc; k++) {
		const struct sim_item *it = &set->items[k];

		switch (it->kind) {
		case SIM_ITEM_RANGE:
			for (uint64_t i = it->lo; i <= it->hi && i < s->n; i++)
				mark[i] = 1;
			break;
		case SIM_ITEM_ALL:
			memset(mark, 1, s->n);
			break;
		case SIM_ITEM_REST:
			for (uint32_t i = 0; i < s->n; i++)
				if (!exclude || !exclude[i])
					mark[i] = 1;
			break;
		case SIM_ITEM_PERCENT: {
			uint64_t want = (uint64_t)llround(it->frac * running_n);

			if (!want && it->frac > 0)
				want = 1;
			rc = pick_random(s, want, mark);
			break;
		}
		case SIM_ITEM_RANDOM:
			rc = pick_random(s, it->lo, mark);
			break;
		case SIM_ITEM_MANAGER:
			for (uint32_t i = 0; i < s->n; i++)
				if (running(&s->v[i]) && s->v[i].leading)
					mark[i] = 1;
			break;
		default:
			break;
		}
	}
	for (uint32_t i = 0; i < s->n && !rc; i++)
		if (mark[i] && (!exclude || !exclude[i]))
			rc = idx_push(s, i);
	free(mark);
	return rc;
}

static uint64_t *
bits_of(struct sim *s, const struct sim_set *set)
{
	uint64_t *b = calloc(sim_bit_words(s->n) + 1, sizeof(uint64_t));

	if (!b)
		return NULL;
	if (resolve(s, set, NULL)) {
		free(b);
		return NULL;
	}
	for (uint32_t k = 0; k < s->idx[0]; k++)
		sim_bit_set(b, s->idx[1 + k]);
	return b;
}

/* Network faults disturb the nodes they touch: recompute after each. */
static void
net_disturb_update(struct sim *s)
{
	for (uint32_t i = 0; i < s->n; i++)
		sim_metrics_disturb(&s->m, i, SIM_DIST_NET,
				    sim_net_touches(&s->net, i), s->now_us);
}

static void
crash(struct sim *s, uint32_t i)
{
	node_down(s, i, V_DOWN);
}

static void
act_partition(struct sim *s, const struct sim_action *a)
{
	uint16_t *group = calloc(s->n + 1, sizeof(*group));
	uint8_t *taken = calloc(s->n + 1, 1);
	int rest = -1;

	if (!group || !taken)
		goto out_nomem;
	for (uint32_t g = 0; g < a->nsets; g++) {
		bool has_rest = false;

		for (uint32_t k = 0; k < a->sets[g].n; k++)
			if (a->sets[g].items[k].kind == SIM_ITEM_REST)
				has_rest = true;
		if (has_rest) {
			rest = (int)g;
			continue;
		}
		if (resolve(s, &a->sets[g], NULL))
			goto out_nomem;
		for (uint32_t k = 0; k < s->idx[0]; k++) {
			group[s->idx[1 + k]] = (uint16_t)(g + 1);
			taken[s->idx[1 + k]] = 1;
		}
	}
	if (rest >= 0) {
		if (resolve(s, &a->sets[rest], taken))
			goto out_nomem;
		for (uint32_t k = 0; k < s->idx[0]; k++)
			group[s->idx[1 + k]] = (uint16_t)(rest + 1);
	}
	sim_net_partition(&s->net, group, s->n);
	if (a->bridge.n) {
		if (resolve(s, &a->bridge, NULL))
			goto out_nomem;
		for (uint32_t k = 0; k < s->idx[0]; k++)
			sim_net_set_flag(&s->net, s->idx[1 + k], SIM_NET_BRIDGE,
					 true);
	}
	free(group);
	free(taken);
	return;
out_nomem:
	free(group);
	free(taken);
	fail(s, ERR_NOMEM, "out of memory (partition)");
}

static int
add_cut(struct sim *s, const struct sim_set *from, const struct sim_set *to,
	bool flap)
{
	uint64_t *a = bits_of(s, from), *b = bits_of(s, to);
	int rc = ERR_NOMEM;

	if (a && b)
		rc = sim_net_add_cut(&s->net, a, b, s->n, flap);
	free(a);
	free(b);
	if (rc < 0)
		fail(s, ERR_NOMEM, "out of memory (cut)");
	return rc;
}

static void
act_net(struct sim *s, const struct sim_action *a)
{
	if (!a->nsets) {
		sim_net_apply(&s->net.p, &a->net);
		return;
	}
	if (resolve(s, &a->sets[0], NULL)) {
		fail(s, ERR_NOMEM, "out of memory");
		return;
	}
	for (uint32_t k = 0; k < s->idx[0]; k++) {
		uint32_t i = s->idx[1 + k];

		if (a->net.field == SIM_NETF_LOSS) {
			sim_net_set_node_loss(&s->net, i, a->net.p);
		} else {
			bool zero = a->net.lat.kind == SIM_LAT_CONST &&
				    !a->net.lat.a_us;

			if (sim_net_set_node_latency(&s->net, i,
						     zero ? NULL : &a->net.lat))
				fail(s, ERR_NOMEM, "out of memory");
		}
	}
	net_disturb_update(s);
}

/* Evaluate an expectation now. */
static bool
expect_holds(uint32_t op, double got, double want)
{
	if (isnan(got))
		return false;
	switch (op) {
	case SIM_OP_LT:
		return got < want;
	case SIM_OP_LE:
		return got <= want;
	case SIM_OP_GT:
		return got > want;
	case SIM_OP_GE:
		return got >= want;
	case SIM_OP_EQ:
		return got == want;
	case SIM_OP_NE:
		return got != want;
	default:
		return false;
	}
}

static void
act_expect(struct sim *s, uint32_t e)
{
	double v[SIM_M__N];

	sim_values(s, v);
	s->exp_got[e] = v[s->sc->expects[e].metric];
	s->exp_done[e] = true;
}

static void
action(struct sim *s, uint32_t ai)
{
	const struct sim_action *a = &s->sc->acts[ai];
	uint32_t k, i;

	switch (a->kind) {
	case SIM_ACT_CRASH:
	case SIM_ACT_RESTART:
	case SIM_ACT_LEAVE:
	case SIM_ACT_PAUSE:
	case SIM_ACT_RESUME:
	case SIM_ACT_SLOW:
	case SIM_ACT_CLOCK:
	case SIM_ACT_ISOLATE:
		if (resolve(s, &a->sets[0], NULL)) {
			fail(s, ERR_NOMEM, "out of memory");
			return;
		}
		break;
	default:
		break;
	}
	switch (a->kind) {
	case SIM_ACT_CRASH:
		for (k = 0; k < s->idx[0]; k++)
			crash(s, s->idx[1 + k]);
		break;
	case SIM_ACT_RESTART:
		for (k = 0; k < s->idx[0]; k++) {
			i = s->idx[1 + k];
			crash(s, i);
			node_start(s, i, START_RESTART);
		}
		break;
	case SIM_ACT_LEAVE:
		for (k = 0; k < s->idx[0]; k++) {
			struct vnode *v = &s->v[s->idx[1 + k]];

			i = s->idx[1 + k];
			if (v->state != V_UP)
				continue;
			if (s->ops->leave(v->obj, now_ms(v, s->now_us)))
				continue;
			v->state = V_LEAVING;
			if (sim_metrics_node_leave(&s->m, i, s->now_us))
				fail(s, ERR_NOMEM, "out of memory");
			after_call(s, i);
		}
		break;
	case SIM_ACT_JOIN: {
		uint32_t base = s->n;

		if (grow_nodes(s, base + a->count)) {
			fail(s, ERR_NOMEM, "too many nodes");
			return;
		}
		for (k = 0; k < a->count; k++)
			push(s, s->now_us + a->d1_us * k / a->count, EV_START,
			     base + k, 0, 0, NULL);
		break;
	}
	case SIM_ACT_PAUSE:
		for (k = 0; k < s->idx[0]; k++) {
			struct vnode *v = &s->v[s->idx[1 + k]];

			if (!running(v) || v->paused)
				continue;
			v->paused = true;
			v->pause_token++;
			sim_metrics_disturb(&s->m, s->idx[1 + k],
					    SIM_DIST_PAUSE, true, s->now_us);
			if (a->d1_us)
				push(s, s->now_us + a->d1_us, EV_RESUME,
				     s->idx[1 + k], v->pause_token, 0, NULL);
		}
		break;
	case SIM_ACT_RESUME:
		for (k = 0; k < s->idx[0]; k++)
			resume(s, s->idx[1 + k]);
		break;
	case SIM_ACT_SLOW:
		for (k = 0; k < s->idx[0]; k++) {
			struct vnode *v = &s->v[s->idx[1 + k]];

			if (!running(v))
				continue;
			v->slow_us = a->d1_us;
			v->slow_token++;
			sim_metrics_disturb(&s->m, s->idx[1 + k], SIM_DIST_SLOW,
					    a->d1_us > 0, s->now_us);
			if (a->d1_us && a->d2_us)
				push(s, s->now_us + a->d2_us, EV_SLOW_END,
				     s->idx[1 + k], v->slow_token, 0, NULL);
		}
		break;
	case SIM_ACT_CLOCK:
		for (k = 0; k < s->idx[0]; k++) {
			struct vnode *v = &s->v[s->idx[1 + k]];

			clock_reanchor(s, v);
			v->anchor_local_us += a->i1;
			if (a->has_drift)
				v->ppm = (int32_t)a->i2;
			/* The node's deadline moved in simulated time. */
			v->armed_us = UINT64_MAX;
			arm(s, s->idx[1 + k]);
		}
		break;
	case SIM_ACT_PARTITION:
		act_partition(s, a);
		net_disturb_update(s);
		sim_sched_net_changed(s);
		break;
	case SIM_ACT_CUT:
		add_cut(s, &a->sets[0], &a->sets[1], false);
		net_disturb_update(s);
		break;
	case SIM_ACT_ISOLATE:
		for (k = 0; k < s->idx[0]; k++)
			sim_net_set_flag(&s->net, s->idx[1 + k],
					 SIM_NET_ISOLATED, true);
		net_disturb_update(s);
		sim_sched_net_changed(s);
		break;
	case SIM_ACT_FLAP: {
		int c1 = add_cut(s, &a->sets[0], &a->sets[1], true);
		int c2 = add_cut(s, &a->sets[1], &a->sets[0], true);
		uint64_t until = a->d2_us ? s->now_us + a->d2_us : s->end_us;

		if (c1 < 0 || c2 < 0)
			return;
		net_disturb_update(s);
		for (uint64_t t = s->now_us + a->d1_us;
		     t < until && t <= s->end_us; t += a->d1_us) {
			push(s, t, EV_FLAP, 0, (uint32_t)c1, s->net.epoch,
			     NULL);
			push(s, t, EV_FLAP, 0, (uint32_t)c2, s->net.epoch,
			     NULL);
		}
		/* The flap ends unclogged. */
		push(s, until, EV_FLAP, 1, (uint32_t)c1, s->net.epoch, NULL);
		push(s, until, EV_FLAP, 1, (uint32_t)c2, s->net.epoch, NULL);
		break;
	}
	case SIM_ACT_HEAL:
		sim_net_heal(&s->net);
		net_disturb_update(s);
		sim_sched_net_changed(s);
		break;
	case SIM_ACT_NET:
		act_net(s, a);
		break;
	case SIM_ACT_CHURN:
		for (uint64_t t = s->now_us;
		     t < s->now_us + a->d2_us && t <= s->end_us; t += a->d1_us)
			push(s, t, EV_CHURN, 0, ai, 0, NULL);
		break;
	case SIM_ACT_EXPECT:
		act_expect(s, a->expect);
		break;
	case SIM_ACT_SCHED:
		sim_sched_action(s, a);
		break;
	default:
		break;
	}
}

static void
churn_step(struct sim *s, uint32_t ai)
{
	const struct sim_action *a = &s->sc->acts[ai];
	uint8_t *mark;

	if (rng_below(&s->fault_rng, 2) == 0) {
		uint32_t i = s->n;

		if (grow_nodes(s, i + 1)) {
			fail(s, ERR_NOMEM, "too many nodes");
			return;
		}
		node_start(s, i, START_JOIN);
		return;
	}
	mark = calloc(s->n + 1, 1);
	if (!mark || pick_random(s, 1, mark)) {
		free(mark);
		fail(s, ERR_NOMEM, "out of memory");
		return;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		struct vnode *v = &s->v[i];

		if (!mark[i])
			continue;
		if (a->flag) {
			crash(s, i);
		} else if (v->state == V_UP &&
			   !s->ops->leave(v->obj, now_ms(v, s->now_us))) {
			v->state = V_LEAVING;
			if (sim_metrics_node_leave(&s->m, i, s->now_us))
				fail(s, ERR_NOMEM, "out of memory");
			after_call(s, i);
		}
	}
	free(mark);
}

/* ---- samples and values
 * ------------------------------------------------------ */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

uint32_t
sim_digest_groups(const struct sim *cs, uint32_t *largest)
{
	struct sim *s = (struct sim *)cs;
	uint32_t n = 0, groups = 0, best = 0, run = 0;

	if (s->capdig < s->n + 1) {
		uint64_t *p = realloc(s->digests, (s->n + 1) * sizeof(*p));

		if (!p)
			return 0;
		s->digests = p;
		s->capdig = s->n + 1;
	}
	for (uint32_t i = 0; i < s->n; i++)
		if (running(&s->v[i]))
			s->digests[n++] = s->ops->digest(s->v[i].obj);
	qsort(s->digests, n, sizeof(uint64_t), cmp_u64);
	for (uint32_t i = 0; i < n; i++) {
		if (i == 0 || s->digests[i] != s->digests[i - 1]) {
			groups++;
			run = 0;
		}
		if (++run > best)
			best = run;
	}
	if (largest)
		*largest = best;
	return groups;
}

static void
sample_row(struct sim *s, struct sim_sample *row)
{
	uint64_t alive_sum = 0;
	uint32_t live = 0;
	double dt;

	memset(row, 0, sizeof(*row));
	row->t_us = s->now_us;
	row->alive_min = UINT32_MAX;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct vnode *v = &s->v[i];
		uint32_t alive;
		unsigned h;

		if (!running(v))
			continue;
		live++;
		alive = (uint32_t)s->ops->count_state(v->obj, SWIM_ALIVE);
		alive_sum += alive;
		if (alive < row->alive_min)
			row->alive_min = alive;
		if (alive > row->alive_max)
			row->alive_max = alive;
		row->suspect_sum += s->ops->count_state(v->obj, SWIM_SUSPECT);
		row->failed_sum += s->ops->count_state(v->obj, SWIM_DEAD);
		h = s->ops->health(v->obj);
		if (h > row->health_max)
			row->health_max = h;
	}
	if (!live)
		row->alive_min = 0;
	row->live = live;
	row->alive_mean = live ? (double)alive_sum / live : 0;
	row->digests = sim_digest_groups(s, &row->largest);
	dt = (double)(s->now_us - s->last_sample_us) / 1e6;
	if (dt > 0 && live) {
		row->msgs_ps =
			(double)(s->tx_msgs_all - s->last_msgs) / dt / live;
		row->bytes_ps =
			(double)(s->tx_bytes_all - s->last_bytes) / dt / live;
	}
	s->last_msgs = s->tx_msgs_all;
	s->last_bytes = s->tx_bytes_all;
	s->last_sample_us = s->now_us;
	row->inflight = sim_heap_len(&s->heap);
	sim_sched_sample(s, row);
}

static double
peak_rss_mb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return NAN;
	return (double)ru.ru_maxrss / 1024.0;
}

void
sim_values(struct sim *s, double *v)
{
	struct sim_sample row;
	uint64_t mem = 0, entries = 0, drops = 0, tx_msgs = 0, tx_bytes = 0;
	uint64_t live_us = 0;
	double mmax = 0, bmax = 0;

	for (int k = 0; k < SIM_M__N; k++)
		v[k] = NAN;
	sim_metrics_compute(&s->m, s->now_us, v);
	/* "now" values: a fresh sample that is not recorded. */
	{
		uint64_t lm = s->last_msgs, lb = s->last_bytes,
			 lt = s->last_sample_us;

		sample_row(s, &row);
		s->last_msgs = lm;
		s->last_bytes = lb;
		s->last_sample_us = lt;
	}
	v[SIM_M_LIVE] = row.live;
	v[SIM_M_DIGESTS] = row.digests;
	v[SIM_M_LARGEST_VIEW] = row.largest;
	v[SIM_M_ALIVE_VIEW_MIN] = row.alive_min;
	v[SIM_M_ALIVE_VIEW_MAX] = row.alive_max;
	v[SIM_M_SUSPECT_VIEWS] = (double)row.suspect_sum;
	v[SIM_M_FAILED_VIEWS] = (double)row.failed_sum;
	if (row.health_max > v[SIM_M_HEALTH_MAX] || isnan(v[SIM_M_HEALTH_MAX]))
		v[SIM_M_HEALTH_MAX] = row.health_max;
	if (row.digests > v[SIM_M_DIGESTS_MAX] && s->now_us >= s->measure_us)
		v[SIM_M_DIGESTS_MAX] = row.digests;
	if (row.digests > 1)
		v[SIM_M_CONVERGED_AT] = INFINITY;
	else if (isinf(v[SIM_M_CONVERGED_AT]))
		v[SIM_M_CONVERGED_AT] = (double)s->now_us / 1000.0;

	for (uint32_t i = 0; i < s->n; i++) {
		struct vnode *x = &s->v[i];
		uint64_t lu = x->live_us;

		if (running(x)) {
			mem += s->ops->memory(x->obj);
			entries += s->ops->member_count(x->obj);
			drops += s->ops->drops(x->obj);
			if (s->now_us > x->up_since_us)
				lu += s->now_us - x->up_since_us;
		}
		tx_msgs += x->tx_msgs;
		tx_bytes += x->tx_bytes;
		live_us += lu;
		if (lu >= 1000000) {
			double mr = (double)x->tx_msgs * 1e6 / (double)lu;
			double br = (double)x->tx_bytes * 1e6 / (double)lu;

			if (mr > mmax)
				mmax = mr;
			if (br > bmax)
				bmax = br;
		}
	}
	if (live_us) {
		v[SIM_M_MSGS_MEAN] = (double)tx_msgs * 1e6 / (double)live_us;
		v[SIM_M_BYTES_MEAN] = (double)tx_bytes * 1e6 / (double)live_us;
		v[SIM_M_MSGS_MAX] = mmax;
		v[SIM_M_BYTES_MAX] = bmax;
	}
	v[SIM_M_NET_SENT] = (double)s->net_sent;
	v[SIM_M_NET_DROPPED] = (double)s->net_dropped;
	v[SIM_M_STREAMS] = (double)s->streams;
	v[SIM_M_STREAMS_FAILED] = (double)s->streams_failed;
	v[SIM_M_NODE_DROPS] = (double)drops;
	v[SIM_M_PEAK_RSS_MB] = peak_rss_mb();
	if (row.live)
		v[SIM_M_NODE_BYTES] = (double)mem / row.live;
	if (entries)
		v[SIM_M_ENTRY_BYTES] = (double)mem / (double)entries;
	v[SIM_M_POOL_BYTES] =
		(double)(s->pool.bytes + s->pool.cap * sizeof(void *));
	v[SIM_M_WALL_S] = s->wall_s;
	if (s->wall_s > 0)
		v[SIM_M_SPEEDUP] = (double)s->now_us / 1e6 / s->wall_s;
	sim_sched_values(s, v);
}

/* ---- the loop
 * ---------------------------------------------------------------- */

static void
progress(struct sim *s, bool last)
{
	double now = wall_now(), frac, el;
	int width = 30, fill;

	if (!s->opts.progress)
		return;
	if (!last && now - s->wall_last_print < 0.25)
		return;
	s->wall_last_print = now;
	frac = s->end_us ? (double)s->now_us / (double)s->end_us : 1;
	if (frac > 1)
		frac = 1;
	fill = (int)(frac * width);
	el = now - s->wall_t0;
	fprintf(stderr, "\r[%.*s%*s] %3d%%  t=%.0fs/%.0fs  %.1fx  %.0f MB ",
		fill, "##############################", width - fill, "",
		(int)(frac * 100), (double)s->now_us / 1e6,
		(double)s->end_us / 1e6,
		el > 0 ? (double)s->now_us / 1e6 / el : 0, peak_rss_mb());
	s->printed = true;
	if (last)
		fputc('\n', stderr);
}

/* Warm start through node_preload(): every initial node starts now and
 * is handed the converged view (every other initial node alive, with its
 * real incarnation, address and metadata), as if the bootstrap had already
 * spread. Names and metadata are copied first: the pointers self_info()
 * hands out live only until the next call on their node. */
static void
warm_start(struct sim *s)
{
	uint32_t n = s->sc->nodes, k = 0;
	struct swim_member_info *all = calloc(n + 1, sizeof(*all));
	char(*names)[SWIM_NAME_MAX + 1] = calloc(n + 1, sizeof(*names));
	uint8_t *metas = NULL;
	size_t mlen = 0, mcap = 0;
	struct swim_view *view = NULL;

	if (!all || !names)
		goto out_nomem;
	for (uint32_t i = 0; i < n && !s->err; i++)
		node_start(s, i, START_WARM);
	for (uint32_t i = 0; i < n && !s->err; i++) {
		struct swim_member_info mi;

		if (!running(&s->v[i]) || !s->ops->self_info(s->v[i].obj, &mi))
			continue;
		if (mlen + mi.meta_len > mcap) {
			size_t cap = (mcap + mi.meta_len) * 2 + 4096;
			uint8_t *p = realloc(metas, cap);

			if (!p)
				goto out_nomem;
			metas = p;
			mcap = cap;
		}
		if (mi.meta_len)
			memcpy(metas + mlen, mi.meta, mi.meta_len);
		snprintf(names[k], sizeof(names[k]), "%s", mi.name);
		all[k] = mi;
		all[k].name = names[k];
		all[k].meta =
			(const uint8_t *)(uintptr_t)mlen; /* fixed below */
		all[k].is_self = false;
		mlen += mi.meta_len;
		k++;
	}
	for (uint32_t j = 0; j < k; j++)
		all[j].meta =
			all[j].meta_len ? metas + (uintptr_t)all[j].meta : NULL;
	/* One prepared view for every node: interning 10^8 entries one by
	 * one was most of a 10,000-node warm start. */
	if (s->ops->preload_view) {
		int err;

		view = swim_view_new(&s->pool, all, k, n, &err);
		if (!view)
			goto out_nomem;
	}
	for (uint32_t i = 0; i < n && !s->err; i++) {
		struct vnode *v = &s->v[i];

		if (!running(v))
			continue;
		if (view)
			s->ops->preload_view(v->obj, now_ms(v, s->now_us),
					     view);
		else
			s->ops->preload(v->obj, now_ms(v, s->now_us), all, k);
		after_call(s, i);
	}
	swim_view_delete(view);
	free(all);
	free(names);
	free(metas);
	return;
out_nomem:
	free(all);
	free(names);
	free(metas);
	fail(s, ERR_NOMEM, "out of memory (warm start)");
}

static void
dispatch(struct sim *s, const struct sim_ev *ev)
{
	switch (ev->type) {
	case EV_WAKE:
		wake(s, ev);
		break;
	case EV_DGRAM:
	case EV_SREQ:
	case EV_SRESP:
	case EV_SFAIL:
	case EV_STIMEOUT:
	case EV_TASK:
		input(s, ev);
		break;
	case EV_ACTION:
		action(s, ev->a);
		break;
	case EV_SAMPLE: {
		struct sim_sample row;

		sample_row(s, &row);
		if (sim_metrics_sample(&s->m, &row))
			fail(s, ERR_NOMEM, "out of memory (samples)");
		if (s->now_us + s->sample_us <= s->end_us)
			push(s, s->now_us + s->sample_us, EV_SAMPLE, 0, 0, 0,
			     NULL);
		break;
	}
	case EV_START:
		node_start(s, ev->node, ev->a ? START_RESTART : START_JOIN);
		break;
	case EV_WARM:
		warm_start(s);
		break;
	case EV_RESUME:
		if (ev->node < s->n && s->v[ev->node].pause_token == ev->a)
			resume(s, ev->node);
		break;
	case EV_SLOW_END:
		if (ev->node < s->n && s->v[ev->node].slow_token == ev->a &&
		    running(&s->v[ev->node])) {
			s->v[ev->node].slow_us = 0;
			sim_metrics_disturb(&s->m, ev->node, SIM_DIST_SLOW,
					    false, s->now_us);
		}
		break;
	case EV_FLAP:
		if (ev->b == s->net.epoch && ev->a < s->net.ncuts) {
			struct sim_cut *c = &s->net.cuts[ev->a];

			c->active = ev->node ? false : !c->active;
			if (ev->node) {
				/* The flap is over: the link stays up. */
				c->flap = false;
				memset(c->a, 0, sim_bit_words(c->cap) * 8);
				memset(c->b, 0, sim_bit_words(c->cap) * 8);
				net_disturb_update(s);
			}
		}
		break;
	case EV_CHURN:
		churn_step(s, ev->a);
		break;
	default:
		break;
	}
}

int
sim_run_until(struct sim *s, uint64_t t_us, char *why, size_t why_cap)
{
	struct sim_ev ev;
	double t0 = wall_now();

	s->why = why;
	s->why_cap = why_cap;
	if (!s->wall_t0)
		s->wall_t0 = t0;
	while (!s->err) {
		const struct sim_ev *top = sim_heap_peek(&s->heap);

		if (!top || top->t_us > t_us)
			break;
		sim_heap_pop(&s->heap, &ev);
		assert(ev.t_us >= s->now_us);
		s->now_us = ev.t_us;
		s->events++;
		dispatch(s, &ev);
		if ((s->events & 0xfff) == 0) {
			if (s->opts.stop && *s->opts.stop)
				fail(s, ERR_TIMEOUT, "interrupted");
			if ((s->events & 0xffff) == 0)
				progress(s, false);
		}
	}
	if (!s->err && t_us > s->now_us && t_us != UINT64_MAX)
		s->now_us = t_us;
	s->wall_s += wall_now() - t0;
	s->why = NULL;
	s->why_cap = 0;
	return s->err;
}

int
sim_run(struct sim *s, char *why, size_t why_cap)
{
	int rc = sim_run_until(s, s->end_us, why, why_cap);

	if (s->printed)
		progress(s, true);
	return rc;
}

/* ---- construction
 * ------------------------------------------------------------- */

static uint64_t
auto_grace_ms(const struct sim_scenario *sc)
{
	const struct profile *p = &sc->prof;
	double n = sc->nodes > 1 ? sc->nodes : 2;
	double lg = log10(n) < 1 ? 1 : log10(n);
	double min_ms = p->suspicion_mult * lg * p->probe_interval_ms;
	double max_ms = p->suspicion_max_timeout_mult * min_ms;

	/* A suspicion started just before the fault ended may run its whole
	 * course, stretched by a poor health score, and then spread. */
	return (uint64_t)(max_ms +
			  2.0 * p->probe_interval_ms * p->awareness_max_mult) +
	       5000;
}

struct sim *
sim_new(const struct sim_scenario *sc, const struct sim_node_ops *ops,
	void *ops_ctx, const struct sim_run_opts *opts, int *err, char *why,
	size_t why_cap)
{
	struct sim *s = calloc(1, sizeof(*s));
	uint64_t grace_ms;
	uint8_t key[CRYPTO_KEY_LEN];

	if (!s)
		goto out_nomem;
	s->sc = sc;
	s->ops = ops;
	s->ops_ctx = ops_ctx;
	if (opts)
		s->opts = *opts;
	intern_init(&s->pool);
	sim_heap_init(&s->heap);
	keyring_init(&s->kr);
	if (sc->crypto) {
		/* One fixed key, the same for every run: the key is not what a
		 * simulation explores. */
		for (size_t k = 0; k < sizeof(key); k++)
			key[k] = (uint8_t)(0x5a ^ (k * 37));
		if (sodium_init() < 0 || keyring_add(&s->kr, key))
			goto out_fail;
	}
	rng_stream(&s->fault_rng, sc->seed, STREAM_FAULTS);
	if (sim_net_init(&s->net, &sc->net, hash_u64(sc->seed, STREAM_LINK),
			 sc->nodes))
		goto out_nomem;
	grace_ms = sc->grace_ms ? sc->grace_ms : auto_grace_ms(sc);
	if (sim_metrics_init(&s->m, sc->nodes, grace_ms * 1000,
			     sc->prof.gossip_interval_ms))
		goto out_nomem;
	s->end_us = sc->duration_ms * 1000;
	s->bootstrap_end_us =
		sc->warm ? 0 : (uint64_t)(sc->nodes - 1) * sc->stagger_us;
	s->measure_us = sc->measure_ms != UINT64_MAX ? sc->measure_ms * 1000
						     : s->bootstrap_end_us;
	s->m.measure_us = s->measure_us;
	s->stream_timeout_us = (uint64_t)sc->prof.stream_timeout_ms * 1000;
	s->warm_pending =
		sc->warm && sc->nodes > 1 && !(ops->preload && ops->self_info)
			? sc->nodes - 1
			: 0;
	s->sample_us = sc->sample_ms ? sc->sample_ms * 1000
				     : (sc->nodes <= 2000 ? 1000000 : 5000000);
	s->capidx = 1024;
	s->idx = calloc(s->capidx, sizeof(*s->idx));
	s->trace = XXH3_createState();
	s->exp_got = calloc(sc->nexpects + 1, sizeof(double));
	s->exp_done = calloc(sc->nexpects + 1, sizeof(bool));
	if (!s->idx || !s->trace || !s->exp_got || !s->exp_done ||
	    sim_sched_new(s))
		goto out_nomem;
	XXH3_64bits_reset_withSeed(s->trace, sc->seed);
	if (grow_nodes(s, sc->nodes))
		goto out_nomem;

	/* Bootstrap, then the scenario, then the first sample: at equal
	 * times this is also the order they run in. */
	if (sc->warm && ops->preload && ops->self_info)
		push(s, 0, EV_WARM, 0, 0, 0, NULL);
	else
		for (uint32_t i = 0; i < sc->nodes; i++)
			push(s, sc->warm ? 0 : (uint64_t)i * sc->stagger_us,
			     EV_START, i, 0, 0, NULL);
	for (uint32_t a = 0; a < sc->nacts; a++)
		push(s, sc->acts[a].t_us, EV_ACTION, 0, a, 0, NULL);
	push(s, s->sample_us, EV_SAMPLE, 0, 0, 0, NULL);
	if (s->err)
		goto out_nomem;
	return s;

out_nomem:
	if (err)
		*err = ERR_NOMEM;
	snprintf(why, why_cap, "out of memory");
	sim_delete(s);
	return NULL;
out_fail:
	if (err)
		*err = ERR_INVAL;
	snprintf(why, why_cap, "cannot set up the keyring");
	sim_delete(s);
	return NULL;
}

void
sim_delete(struct sim *s)
{
	struct sim_ev ev;

	if (!s)
		return;
	sim_sched_delete(s);
	for (uint32_t i = 0; i < s->n; i++) {
		struct vnode *v = &s->v[i];

		if (v->obj)
			s->ops->destroy(s->ops_ctx, v->obj);
		pq_clear(v);
		free(v->pq);
		if (v->lg) {
			free(v->lg->ctx);
			free(v->lg);
		}
	}
	while (sim_heap_pop(&s->heap, &ev))
		if (ev.type == EV_DGRAM || ev.type == EV_SREQ ||
		    ev.type == EV_SRESP)
			pkt_put(ev.p);
	sim_heap_release(&s->heap);
	free(s->v);
	sim_net_release(&s->net);
	sim_metrics_release(&s->m);
	if (s->trace)
		XXH3_freeState(s->trace);
	free(s->st);
	free(s->map);
	free(s->exp_got);
	free(s->exp_done);
	free(s->idx);
	free(s->digests);
	if (s->pool.n == 0)
		intern_destroy(&s->pool);
	else
		free(s->pool.slots); /* leaked references: a node bug */
	sodium_memzero(&s->kr, sizeof(s->kr));
	free(s);
}

/* ---- services for sim/sched.c (engine_int.h) ---------------------------- */

void
sim_push(struct sim *s, uint64_t t_us, uint16_t type, uint32_t node, uint32_t a,
	 uint32_t b, void *p)
{
	push(s, t_us, type, node, a, b, p);
}

uint64_t
sim_vnow_ms(struct sim *s, uint32_t i)
{
	return now_ms(&s->v[i], s->now_us);
}

void
sim_after_call(struct sim *s, uint32_t i)
{
	after_call(s, i);
}

int
sim_resolve(struct sim *s, const struct sim_set *set)
{
	return resolve(s, set, NULL);
}

void
sim_fail(struct sim *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (s->err)
		return;
	s->err = err ? err : ERR_INVAL;
	if (!s->why || !s->why_cap)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, s->why_cap, fmt, ap);
	va_end(ap);
}

/* ---- accessors
 * --------------------------------------------------------------- */

uint64_t
sim_trace_hash(const struct sim *s)
{
	return XXH3_64bits_digest(s->trace);
}

uint64_t
sim_now_us(const struct sim *s)
{
	return s->now_us;
}

uint64_t
sim_events(const struct sim *s)
{
	return s->events;
}

const struct sim_metrics *
sim_metrics(const struct sim *s)
{
	return &s->m;
}

uint32_t
sim_node_count(const struct sim *s)
{
	return s->n;
}

bool
sim_node_is_up(const struct sim *s, uint32_t i)
{
	return i < s->n && running(&s->v[i]);
}

void *
sim_node_obj(const struct sim *s, uint32_t i)
{
	return i < s->n ? s->v[i].obj : NULL;
}

double
sim_wall_s(const struct sim *s)
{
	return s->wall_s;
}

const struct sim_scenario *
sim_scenario_of(const struct sim *s)
{
	return s->sc;
}

bool
sim_expect_result(const struct sim *s, uint32_t e, double *got)
{
	if (!s->exp_done[e])
		return false;
	*got = s->exp_got[e];
	return true;
}

bool
sim_expect_check(uint32_t op, double got, double want)
{
	return expect_holds(op, got, want);
}

uint64_t
sim_bootstrap_end_us(const struct sim *s)
{
	return s->bootstrap_end_us;
}

uint64_t
sim_measure_us(const struct sim *s)
{
	return s->measure_us;
}

size_t
sim_heap_peak(const struct sim *s)
{
	return s->heap.peak;
}

const struct keyring *
sim_keyring(const struct sim *s)
{
	return &s->kr;
}

struct intern *
sim_pool(struct sim *s)
{
	return &s->pool;
}
