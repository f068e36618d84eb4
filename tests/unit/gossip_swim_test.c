/* SPDX-License-Identifier: MIT */
/*
 * gossip/swim: the state machine driven directly, a few nodes at a time.
 *
 * These tests need to hold a particular packet in hand (to replay it, to
 * flip its bits, to deliver it late, to make one up), so they move packets
 * themselves with zero latency instead of going through the simulator; the
 * protocol at scale (100 and 1,000 nodes, loss, partitions) is tested by
 * the scenarios in sim/scenarios/ and through the simulator's API in
 * gossip_sim_test.c. A tap sees every packet a node sends; "phantoms" are
 * members that exist only in one node's table, whose pings the tap answers
 * and in whose name the test sends what it likes.
 *
 * Covered: join and agreement; bad input of every kind changes nothing and
 * is counted, each drop under its reason; replays and old boots are
 * refused; unknown senders outside the clock-skew bound are refused; a
 * second node with a member's name cannot take over its replay state; a
 * member restarted with its clock behind is heard again; a suspected node
 * refutes through the buddy system and is never declared dead; a crashed
 * node is declared dead everywhere; leave is reported as left; a restarted
 * node rejoins with a higher incarnation; metadata updates spread; name
 * conflicts are refused; force-leave rules; every datagram fits the
 * payload budget; held suspicions and the digest; reaping; join backoff;
 * nacks and the health score; the suspicion timeout curve; the retransmit
 * limit; push-pull interval scaling; gossip to the recently dead; the
 * probe order; the profiles against memberlist's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/err.h"
#include "core/rng.h"
#include "gossip/swim.h"
#include "gossip/wire.h"

#define MAXN 80
#define QMAX 65536
#define T0 1700000000000ULL

struct qpkt {
	int kind, src, dst;
	uint32_t sid;
	size_t len;
	uint8_t *data;
	bool has_from; /* made by a test: comes from `from`, not a node */
	struct addr from;
};

struct evrec {
	int kind;
	char name[SWIM_NAME_MAX + 1];
	uint64_t inc;
	uint64_t time_ms; /* the node's clock */
};

struct net {
	struct swim *n[MAXN];
	struct addr a[MAXN];
	struct keyring kr[MAXN];
	bool down[MAXN]; /* crashed: no input, no ticks */
	bool deaf[MAXN]; /* input dropped, still ticks */
	bool udp_lost[MAXN]; /* datagrams to it are lost, streams pass */
	bool cut[MAXN][MAXN];	   /* datagrams from src to dst are lost */
	uint32_t sent[MAXN][MAXN]; /* datagrams sent, by source and dest */
	/* Profile for nodes added from now on (NULL: lan). */
	const struct profile *prof;
	/* Sees every datagram and stream frame a node sends (dst -1: an
	 * address no node has). */
	void (*tap)(struct net *net, int src, int dst,
		    const struct swim_out *o);
	void *tap_ctx;
	int64_t skew[MAXN]; /* node clock = now + skew */
	unsigned app_msgs[MAXN]; /* application broadcasts received */
	int cnt;
	uint64_t now;
	struct qpkt q[QMAX];
	unsigned qh, qt;
	size_t max_dgram;
	struct evrec ev[MAXN][512];
	unsigned nev[MAXN];
	/* The last datagram from src to dst, kept for replay tests. */
	int cap_src, cap_dst;
	uint8_t cap[2048];
	size_t cap_len;
};

static struct intern pool;
static uint64_t *log_now;

static void
log_sink(void *ctx, enum log_level level, const char *line, size_t len)
{
	(void)level;
	fprintf(stderr, "%8llu %s: %.*s\n",
		(unsigned long long)(*log_now - T0), (const char *)ctx,
		(int)len, line);
}
static struct keyring key_a, key_b, key_none;

static int
setup(void **state)
{
	uint8_t k[CRYPTO_KEY_LEN];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	intern_init(&pool);
	keyring_init(&key_a);
	memset(k, 0xa5, sizeof(k));
	keyring_add(&key_a, k);
	keyring_init(&key_b);
	memset(k, 0x5a, sizeof(k));
	keyring_add(&key_b, k);
	keyring_init(&key_none);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	intern_destroy(&pool);
	return 0;
}

struct app_ctx {
	struct net *net;
	int i;
};

static void
on_app(void *ctx, uint64_t now, const char *from, const uint8_t *p, size_t n)
{
	struct app_ctx *a = ctx;

	(void)now;
	(void)from;
	(void)p;
	(void)n;
	a->net->app_msgs[a->i]++;
}

static struct net *
net_new(void)
{
	struct net *net = calloc(1, sizeof(*net));

	assert_non_null(net);
	net->now = T0;
	net->cap_src = -1;
	return net;
}

/* Add node i named `name` (clock = net->now + skew_ms) to the network. */
static int
net_add(struct net *net, const char *name, const struct keyring *kr,
	const char *cluster, int64_t skew_ms)
{
	struct swim_config c;
	struct swim_env env;
	int i = net->cnt++, err = 0;

	net->skew[i] = skew_ms;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "%s", name);
	addr_v4(&net->a[i], 10, 0, (uint8_t)(i >> 8), (uint8_t)i, 7946);
	c.addr = net->a[i];
	c.start_ms = (uint64_t)((int64_t)net->now + skew_ms);
	c.seed = 1000 + (uint64_t)i;
	snprintf(c.cluster, sizeof(c.cluster), "%s", cluster);
	if (net->prof)
		c.prof = *net->prof;
	else
		profile_lan(&c.prof);
	net->kr[i] = *kr;
	memset(&env, 0, sizeof(env));
	env.pool = &pool;
	env.keyring = &net->kr[i];
	if (getenv("SWIM_TEST_LOG")) {
		static struct log lg[MAXN];
		static char names[MAXN][SWIM_NAME_MAX + 1];

		log_now = &net->now;
		snprintf(names[i], sizeof(names[i]), "%s", name);
		lg[i].sink = log_sink;
		lg[i].ctx = names[i];
		lg[i].level = LOG_DEBUG;
		env.log = &lg[i];
	}
	{
		static struct app_ctx actx[MAXN];
		struct swim_app app;

		actx[i].net = net;
		actx[i].i = i;
		memset(&app, 0, sizeof(app));
		app.ctx = &actx[i];
		app.on_message = on_app;
		net->n[i] = swim_new(&c, &env, &app, &err);
	}
	assert_non_null(net->n[i]);
	return i;
}

static void
net_free(struct net *net)
{
	for (int i = 0; i < net->cnt; i++)
		swim_delete(net->n[i]);
	while (net->qh != net->qt) {
		free(net->q[net->qh % QMAX].data);
		net->qh++;
	}
	free(net);
}

static int
find(struct net *net, const struct addr *a)
{
	for (int i = 0; i < net->cnt; i++)
		if (addr_equal(a, &net->a[i]))
			return i;
	return -1;
}

static void
drain(struct net *net, int i)
{
	struct swim_out o;
	struct swim_event e;

	while (swim_pop_out(net->n[i], &o)) {
		struct qpkt *p;
		int dst = o.kind == SWIM_OUT_STREAM_RESP
				  ? (int)(o.stream_id >> 16)
				  : find(net, &o.to);

		if (net->tap)
			net->tap(net, i, dst, &o);
		if (dst < 0)
			continue;
		if (o.kind == SWIM_OUT_DGRAM) {
			net->sent[i][dst]++;
			if (o.len > net->max_dgram)
				net->max_dgram = o.len;
			if (i == net->cap_src && dst == net->cap_dst &&
			    o.len <= sizeof(net->cap)) {
				memcpy(net->cap, o.data, o.len);
				net->cap_len = o.len;
			}
		}
		assert_true(net->qt - net->qh < QMAX);
		p = &net->q[net->qt++ % QMAX];
		p->kind = o.kind;
		p->src = i;
		p->dst = dst;
		/* Requests carry the requester in the conn id's high bits. */
		p->sid = o.kind == SWIM_OUT_STREAM_REQ
				 ? (o.stream_id & 0xffff) | ((uint32_t)i << 16)
				 : (o.stream_id & 0xffff);
		p->len = o.len;
		p->data = malloc(o.len);
		p->has_from = false;
		memcpy(p->data, o.data, o.len);
	}
	while (swim_pop_event(net->n[i], &e)) {
		struct evrec *r;

		if (net->nev[i] >= 512)
			continue;
		if (getenv("SWIM_TEST_EVENTS"))
			fprintf(stderr, "%8llu n%d %s %s inc=%llu\n",
				(unsigned long long)(net->now - T0), i,
				swim_event_name(e.kind), e.name,
				(unsigned long long)e.incarnation);
		r = &net->ev[i][net->nev[i]++];
		r->kind = e.kind;
		memcpy(r->name, e.name, sizeof(r->name));
		r->inc = e.incarnation;
		r->time_ms = e.time_ms;
	}
}

static uint64_t
clk(struct net *net, int i)
{
	return (uint64_t)((int64_t)net->now + net->skew[i]);
}

static void
deliver(struct net *net, struct qpkt *p)
{
	bool lost = net->down[p->dst] || net->deaf[p->dst] ||
		    net->down[p->src] ||
		    (p->kind == SWIM_OUT_DGRAM &&
		     (net->udp_lost[p->dst] || net->cut[p->src][p->dst]));

	if (lost) {
		if (p->kind == SWIM_OUT_STREAM_REQ && !net->down[p->src]) {
			swim_stream_failed(net->n[p->src], clk(net, p->src),
					   p->sid & 0xffff);
			drain(net, p->src);
		}
		return;
	}
	switch (p->kind) {
	case SWIM_OUT_DGRAM:
		swim_recv(net->n[p->dst], clk(net, p->dst),
			  p->has_from ? &p->from : &net->a[p->src], p->data,
			  p->len);
		break;
	case SWIM_OUT_STREAM_REQ:
		swim_recv_stream(net->n[p->dst], clk(net, p->dst), p->sid,
				 &net->a[p->src], p->data, p->len);
		break;
	case SWIM_OUT_STREAM_RESP:
		swim_stream_reply(net->n[p->dst], clk(net, p->dst), p->sid,
				  p->data, p->len);
		break;
	}
	drain(net, p->dst);
}

/* Run for ms of virtual time: deliver everything queued (zero latency),
 * then advance to the next deadline. */
static void
run(struct net *net, uint64_t ms)
{
	uint64_t end = net->now + ms;

	for (;;) {
		uint64_t next = UINT64_MAX;

		while (net->qh != net->qt) {
			struct qpkt p = net->q[net->qh++ % QMAX];

			deliver(net, &p);
			free(p.data);
		}
		for (int i = 0; i < net->cnt; i++) {
			uint64_t d;

			if (net->down[i])
				continue;
			d = swim_next_deadline(net->n[i]);
			if (d != UINT64_MAX)
				d = (uint64_t)((int64_t)d - net->skew[i]);
			if (d < next)
				next = d;
		}
		if (next > end)
			break;
		if (next > net->now)
			net->now = next;
		for (int i = 0; i < net->cnt; i++) {
			if (net->down[i] ||
			    swim_next_deadline(net->n[i]) > clk(net, i))
				continue;
			swim_tick(net->n[i], clk(net, i));
			drain(net, i);
		}
	}
	net->now = end;
}

static void
join(struct net *net, int i, int seed)
{
	assert_int_equal(swim_join(net->n[i], clk(net, i), &net->a[seed], 1),
			 0);
	drain(net, i);
}

static unsigned
count_ev(struct net *net, int i, int kind, const char *name)
{
	unsigned c = 0;

	for (unsigned k = 0; k < net->nev[i]; k++)
		if (net->ev[i][k].kind == kind &&
		    (!name || strcmp(net->ev[i][k].name, name) == 0))
			c++;
	return c;
}

static enum swim_state
state_of(struct net *net, int i, const char *name)
{
	struct swim_member_info mi;

	assert_true(swim_member_find(net->n[i], name, &mi));
	return mi.state;
}

static uint64_t
total_drops(struct swim *s)
{
	const struct swim_stats *st = swim_stats(s);
	uint64_t t = 0;

	for (int d = 0; d < SWIM_DROP__N; d++)
		t += st->drops[d];
	return t;
}

/* ---- packets made and read by the tests ---- */

/* A header as `sender` would write it. */
static void
hdr_of(struct wire_hdr *h, const char *sender, uint64_t boot, uint64_t seq,
       uint64_t ts_ms)
{
	memset(h, 0, sizeof(*h));
	h->version = WIRE_VERSION;
	h->sender = sender;
	h->sender_len = (uint32_t)strlen(sender);
	h->boot = boot;
	h->seq = seq;
	h->ts_ms = ts_ms;
}

/* Seal a datagram with header h carrying msgs, with keyring kr for
 * cluster `cluster`, as a node would. Returns its length. The writer
 * always writes our protocol version: another h->version is patched in
 * (the map's first value, a positive fixint). */
static size_t
craft(uint8_t *out, size_t cap, const struct keyring *kr, const char *cluster,
      const struct wire_hdr *h, const struct wire_msg *msgs, unsigned n)
{
	static uint64_t nonce_ctr;
	uint8_t nonce[CRYPTO_NONCE_LEN] = {0};
	struct wire_dgram d;
	struct buf b;
	size_t len = 0;

	buf_init(&b, 65536);
	assert_int_equal(wire_dgram_begin(&d, &b, 65000, h), 0);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(wire_dgram_add(&d, &msgs[i]), 0);
	assert_int_equal(wire_dgram_end(&d), n);
	if (h->version != WIRE_VERSION) {
		assert_true(b.data[1] == 0 && b.data[2] == WIRE_VERSION &&
			    h->version < 128);
		b.data[2] = (uint8_t)h->version;
	}
	nonce_ctr++;
	memcpy(nonce, &nonce_ctr, sizeof(nonce_ctr));
	assert_int_equal(crypto_seal(kr, cluster, strlen(cluster), nonce,
				     b.data, b.len, out, cap, &len),
			 0);
	buf_release(&b);
	return len;
}

/* Queue a datagram made by the test for node dst, as if from `from`. */
static void
inject(struct net *net, int dst, const struct addr *from, const uint8_t *p,
       size_t n)
{
	struct qpkt *q;

	assert_true(net->qt - net->qh < QMAX);
	q = &net->q[net->qt++ % QMAX];
	memset(q, 0, sizeof(*q));
	q->kind = SWIM_OUT_DGRAM;
	q->src = dst;
	q->dst = dst;
	q->len = n;
	q->data = malloc(n);
	assert_non_null(q->data);
	memcpy(q->data, p, n);
	q->has_from = true;
	q->from = *from;
}

/* Open a datagram of cluster "test" under key_a and call fn on each of
 * its messages. false if it does not open or decode. */
static bool
each_msg(const struct swim_out *o,
	 void (*fn)(void *ctx, const struct wire_hdr *h,
		    const struct wire_msg *m),
	 void *ctx)
{
	uint8_t *pt = malloc(o->len);
	struct codec_reader r;
	struct wire_hdr h;
	struct wire_msg m;
	size_t pt_len = 0;
	uint32_t n = 0;
	bool ok = false;

	assert_non_null(pt);
	if (crypto_open(&key_a, "test", 4, o->data, o->len, pt, o->len,
			&pt_len) ||
	    wire_dgram_decode(pt, pt_len, &h, &r, &n))
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		if (wire_msg_decode(&r, &m))
			goto out;
		fn(ctx, &h, &m);
	}
	ok = true;
out:
	free(pt);
	return ok;
}

static bool
name_is(const char *p, uint32_t len, const char *name)
{
	return len == strlen(name) && memcmp(p, name, len) == 0;
}

/* Phantoms: members that exist only in a node's table (preloaded), at
 * addresses no node has. A tap answers every ping sent to one, so the
 * node sees live members whose every other message the test controls. */
static void
phantom_addr(int i, struct addr *a)
{
	addr_v4(a, 10, 9, (uint8_t)(i >> 8), (uint8_t)i, 7946);
}

/* Preload node i with phantoms p1..pk (alive, incarnation T0). */
static void
add_phantoms(struct net *net, int i, int k)
{
	struct swim_member_info *mi = calloc((size_t)k, sizeof(*mi));
	char(*names)[16] = calloc((size_t)k, sizeof(*names));

	assert_non_null(mi);
	assert_non_null(names);
	for (int j = 0; j < k; j++) {
		snprintf(names[j], sizeof(names[j]), "p%d", j + 1);
		mi[j].name = names[j];
		phantom_addr(j + 1, &mi[j].addr);
		mi[j].incarnation = T0;
	}
	assert_int_equal(swim_preload(net->n[i], clk(net, i), mi, (size_t)k),
			 (size_t)k);
	free(names);
	free(mi);
}

struct phantom_ack {
	struct net *net;
	int src;
	const struct addr *to;
};

static uint64_t phantom_seq;

static void
phantom_ack_msg(void *ctx, const struct wire_hdr *h, const struct wire_msg *m)
{
	struct phantom_ack *pa = ctx;
	char name[SWIM_NAME_MAX + 1];
	uint8_t pkt[512];
	struct wire_hdr ah;
	struct wire_msg ack;
	size_t n;

	(void)h;
	if (m->type != WIRE_PING)
		return;
	memcpy(name, m->node, m->node_len);
	name[m->node_len] = '\0';
	hdr_of(&ah, name, 1, ++phantom_seq, clk(pa->net, pa->src));
	memset(&ack, 0, sizeof(ack));
	ack.type = WIRE_ACK;
	ack.seq = m->seq;
	n = craft(pkt, sizeof(pkt), &key_a, "test", &ah, &ack, 1);
	inject(pa->net, pa->src, pa->to, pkt, n);
}

/* A tap: phantoms answer pings. */
static void
phantom_tap(struct net *net, int src, int dst, const struct swim_out *o)
{
	struct phantom_ack pa = {net, src, &o->to};

	if (dst < 0 && o->kind == SWIM_OUT_DGRAM)
		each_msg(o, phantom_ack_msg, &pa);
}

/* Tell node i, as phantom `from`, that `who` (incarnation inc) is
 * suspect. */
static void
phantom_suspect(struct net *net, int i, int from, const char *who, uint64_t inc)
{
	char fname[16];
	uint8_t pkt[512];
	struct wire_hdr h;
	struct wire_msg m;
	struct addr fa;
	size_t n;

	snprintf(fname, sizeof(fname), "p%d", from);
	phantom_addr(from, &fa);
	hdr_of(&h, fname, 1, ++phantom_seq, clk(net, i));
	memset(&m, 0, sizeof(m));
	m.type = WIRE_SUSPECT;
	m.inc = inc;
	m.node = who;
	m.node_len = (uint32_t)strlen(who);
	m.from = fname;
	m.from_len = (uint32_t)strlen(fname);
	n = craft(pkt, sizeof(pkt), &key_a, "test", &h, &m, 1);
	inject(net, i, &fa, pkt, n);
}

/* Start the nodes idx[0..n) from a converged view of one another. */
static void
preload_all(struct net *net, const int *idx, int n)
{
	struct swim_member_info *all = calloc((size_t)n, sizeof(*all));

	assert_non_null(all);
	for (int i = 0; i < n; i++)
		assert_true(swim_member_find(
			net->n[idx[i]], swim_name(net->n[idx[i]]), &all[i]));
	for (int i = 0; i < n; i++) {
		assert_int_equal(
			swim_preload(net->n[idx[i]], net->now, all, (size_t)n),
			(size_t)n - 1);
		drain(net, idx[i]);
	}
	free(all);
}

/* Node i crashed; start it again as a new node object with the same name
 * and address, its clock skewed by skew_ms (its start time is its clock
 * now). Returns the new node's index. */
static int
net_restart(struct net *net, int i, int64_t skew_ms)
{
	struct swim_config c;
	struct swim_env env;
	int j = net->cnt++, err = 0;

	net->down[i] = true;
	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "%s", swim_name(net->n[i]));
	net->a[j] = net->a[i];
	net->a[i].port = 1; /* retire the old node's address */
	net->skew[j] = skew_ms;
	c.addr = net->a[j];
	c.start_ms = clk(net, j);
	c.seed = 5000 + (uint64_t)j;
	strcpy(c.cluster, "test");
	if (net->prof)
		c.prof = *net->prof;
	else
		profile_lan(&c.prof);
	net->kr[j] = key_a;
	memset(&env, 0, sizeof(env));
	env.pool = &pool;
	env.keyring = &net->kr[j];
	net->n[j] = swim_new(&c, &env, NULL, &err);
	assert_non_null(net->n[j]);
	return j;
}

/* Run in steps of step_ms until cond(net, ctx) holds or max_ms passed.
 * Returns whether it held. */
static bool
run_until(struct net *net, uint64_t max_ms, uint64_t step_ms,
	  bool (*cond)(struct net *net, void *ctx), void *ctx)
{
	for (uint64_t t = 0; t < max_ms; t += step_ms) {
		if (cond(net, ctx))
			return true;
		run(net, step_ms);
	}
	return cond(net, ctx);
}

static bool
meta_is(struct net *net, int i, const char *name, const char *meta)
{
	struct swim_member_info mi;

	return swim_member_find(net->n[i], name, &mi) &&
	       mi.meta_len == strlen(meta) &&
	       memcmp(mi.meta, meta, mi.meta_len) == 0;
}

static uint64_t
drops_of(struct net *net, int i, enum swim_drop d)
{
	return swim_stats(net->n[i])->drops[d];
}

/* ---- tests ---- */

static void
test_join_agree(void **state)
{
	struct net *net = net_new();
	int a, b, c;

	(void)state;
	a = net_add(net, "a", &key_a, "test", 0);
	b = net_add(net, "b", &key_a, "test", 0);
	c = net_add(net, "c", &key_a, "test", 0);
	join(net, b, a);
	join(net, c, a);
	run(net, 10000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(swim_count_state(net->n[i], SWIM_ALIVE), 3);
		assert_int_equal(swim_digest(net->n[i]),
				 swim_digest(net->n[a]));
	}
	assert_int_equal(count_ev(net, b, SWIM_EV_JOINED, NULL), 1);
	assert_int_equal(count_ev(net, a, SWIM_EV_JOIN, "b"), 1);
	assert_int_equal(count_ev(net, b, SWIM_EV_JOIN, "c"), 1);
	/* Nobody suspected anybody. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(count_ev(net, i, SWIM_EV_SUSPECT, NULL), 0);
	net_free(net);
}

static void
test_bad_input(void **state)
{
	struct net *net = net_new();
	struct swim_member_info mi;
	uint8_t junk[1500], flip[2048];
	uint64_t digest, drops0, inc;
	size_t members;
	int a, b, x, y, z;
	struct rng r;

	(void)state;
	a = net_add(net, "a", &key_a, "test", 0);
	b = net_add(net, "b", &key_a, "test", 0);
	x = net_add(net, "x", &key_b, "test", 0);    /* another key */
	y = net_add(net, "y", &key_a, "other", 0);   /* another cluster */
	z = net_add(net, "z", &key_none, "test", 0); /* no encryption */
	join(net, b, a);
	run(net, 5000);
	/* x, y, z try to join through a: all refused. */
	join(net, x, a);
	join(net, y, a);
	join(net, z, a);
	net->cap_src = b;
	net->cap_dst = a;
	run(net, 5000);
	assert_true(net->cap_len > 0);
	assert_int_equal(swim_member_count(net->n[a]), 2);
	assert_false(swim_member_find(net->n[a], "x", &mi));
	assert_false(swim_member_find(net->n[a], "y", &mi));
	assert_false(swim_member_find(net->n[a], "z", &mi));
	assert_true(swim_stats(net->n[a])->drops[SWIM_DROP_NOKEY] > 0);
	assert_true(swim_stats(net->n[a])->drops[SWIM_DROP_AUTH] > 0);
	assert_true(swim_stats(net->n[a])->drops[SWIM_DROP_PLAIN] > 0);

	digest = swim_digest(net->n[a]);
	members = swim_member_count(net->n[a]);
	inc = swim_incarnation(net->n[a]);
	drops0 = total_drops(net->n[a]);
	rng_seed(&r, 99);
	/* Garbage of every small length. */
	for (size_t n = 0; n < 200; n++) {
		rng_fill(&r, junk, n);
		swim_recv(net->n[a], net->now, &net->a[b], junk, n);
	}
	/* Every prefix of a valid datagram. */
	for (size_t n = 0; n < net->cap_len; n++)
		swim_recv(net->n[a], net->now, &net->a[b], net->cap, n);
	/* Every single-bit flip. */
	for (size_t bit = 0; bit < net->cap_len * 8; bit++) {
		memcpy(flip, net->cap, net->cap_len);
		flip[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		swim_recv(net->n[a], net->now, &net->a[b], flip,
			  net->cap_len);
	}
	drain(net, a);
	assert_int_equal(net->qh, net->qt); /* a said nothing back */
	assert_int_equal(swim_digest(net->n[a]), digest);
	assert_int_equal(swim_member_count(net->n[a]), members);
	assert_int_equal(swim_incarnation(net->n[a]), inc);
	assert_int_equal(total_drops(net->n[a]) - drops0,
			 200 + net->cap_len + net->cap_len * 8);
	net_free(net);
}

static void
test_replay_and_stale(void **state)
{
	struct net *net = net_new();
	const struct swim_stats *st;
	uint8_t old[2048];
	size_t old_len;
	int a, b, b2;

	(void)state;
	a = net_add(net, "a", &key_a, "test", 0);
	b = net_add(net, "b", &key_a, "test", 0);
	join(net, b, a);
	net->cap_src = b;
	net->cap_dst = a;
	run(net, 5000);
	assert_true(net->cap_len > 0);
	st = swim_stats(net->n[a]);
	/* The captured datagram was delivered once already: replays fail. */
	swim_recv(net->n[a], net->now, &net->a[b], net->cap, net->cap_len);
	swim_recv(net->n[a], net->now, &net->a[b], net->cap, net->cap_len);
	assert_int_equal(st->drops[SWIM_DROP_REPLAY], 2);
	memcpy(old, net->cap, net->cap_len);
	old_len = net->cap_len;

	/* b restarts (a new node object, later start, same name and
	 * address) and rejoins; its previous life's packets are stale. */
	net->down[b] = true;
	run(net, 1000);
	b2 = net_add(net, "b", &key_a, "test", 0);
	net->a[b2] = net->a[b];
	swim_delete(net->n[b2]);
	{
		struct swim_config c;
		struct swim_env env;
		int err;

		memset(&c, 0, sizeof(c));
		strcpy(c.name, "b");
		c.addr = net->a[b];
		c.start_ms = net->now;
		c.seed = 77;
		strcpy(c.cluster, "test");
		profile_lan(&c.prof);
		memset(&env, 0, sizeof(env));
		env.pool = &pool;
		env.keyring = &net->kr[b2];
		net->n[b2] = swim_new(&c, &env, NULL, &err);
	}
	net->a[b].port = 1; /* retire the old node's address */
	join(net, b2, a);
	run(net, 5000);
	assert_int_equal(state_of(net, a, "b"), SWIM_ALIVE);
	swim_recv(net->n[a], net->now, &net->a[b2], old, old_len);
	assert_int_equal(st->drops[SWIM_DROP_STALE], 1);
	net_free(net);
}

static void
test_skew(void **state)
{
	struct net *net = net_new();
	const struct swim_stats *st;
	int a, f, g;

	(void)state;
	a = net_add(net, "a", &key_a, "test", 0);
	/* f's clock is ten minutes ahead; it and g form their own pair. */
	f = net_add(net, "f", &key_a, "test", 600000);
	g = net_add(net, "g", &key_a, "test", 600000);
	join(net, g, f);
	net->cap_src = f;
	net->cap_dst = g;
	run(net, 5000);
	assert_true(net->cap_len > 0);
	st = swim_stats(net->n[a]);
	/* A datagram from an unknown sender far in the future. */
	swim_recv(net->n[a], net->now, &net->a[f], net->cap, net->cap_len);
	assert_int_equal(st->drops[SWIM_DROP_SKEW], 1);
	/* A join (stream) from it is refused too. */
	join(net, f, a);
	run(net, 2000);
	assert_int_equal(st->drops[SWIM_DROP_SKEW], 2);
	assert_int_equal(swim_member_count(net->n[a]), 1);
	net_free(net);
}

static void
test_refute_buddy(void **state)
{
	struct net *net = net_new();
	int a, b;

	(void)state;
	a = net_add(net, "a", &key_a, "test", 0);
	b = net_add(net, "b", &key_a, "test", 0);
	join(net, b, a);
	run(net, 3000);
	/* b stops hearing anything until a suspects it. */
	net->deaf[b] = true;
	for (int i = 0; i < 100 && !count_ev(net, a, SWIM_EV_SUSPECT, "b");
	     i++)
		run(net, 100);
	assert_int_equal(count_ev(net, a, SWIM_EV_SUSPECT, "b"), 1);
	net->deaf[b] = false;
	run(net, 30000);
	/* Probes sent while b was deaf may fail once more after it hears
	 * again; each suspicion is refuted, none becomes a death. */
	assert_true(count_ev(net, b, SWIM_EV_REFUTED, "b") >= 1);
	assert_int_equal(count_ev(net, a, SWIM_EV_ALIVE, "b"),
			 count_ev(net, a, SWIM_EV_SUSPECT, "b"));
	assert_int_equal(count_ev(net, a, SWIM_EV_FAILED, "b"), 0);
	assert_int_equal(state_of(net, a, "b"), SWIM_ALIVE);
	assert_true(swim_incarnation(net->n[b]) > T0);
	net_free(net);
}

static void
test_crash_leave_rejoin(void **state)
{
	struct net *net = net_new();
	int n[6], c2;

	(void)state;
	for (int i = 0; i < 6; i++) {
		char name[8];

		snprintf(name, sizeof(name), "n%d", i);
		n[i] = net_add(net, name, &key_a, "test", 0);
		if (i)
			join(net, n[i], n[0]);
	}
	run(net, 10000);
	net->down[n[5]] = true;
	run(net, 60000);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(state_of(net, n[i], "n5"), SWIM_DEAD);
		assert_int_equal(count_ev(net, n[i], SWIM_EV_FAILED, "n5"), 1);
		assert_int_equal(count_ev(net, n[i], SWIM_EV_FAILED, NULL), 1);
	}
	/* n4 leaves gracefully. */
	assert_int_equal(swim_leave(net->n[n[4]], net->now), 0);
	assert_int_equal(swim_leave(net->n[n[4]], net->now), ERR_STATE);
	drain(net, n[4]);
	run(net, 10000);
	assert_true(swim_is_stopped(net->n[n[4]]));
	assert_int_equal(count_ev(net, n[4], SWIM_EV_LEAVE_DONE, NULL), 1);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(state_of(net, n[i], "n4"), SWIM_LEFT);
		assert_int_equal(count_ev(net, n[i], SWIM_EV_LEFT, "n4"), 1);
		assert_int_equal(count_ev(net, n[i], SWIM_EV_FAILED, "n4"), 0);
	}
	net->down[n[4]] = true;
	/* n5 restarts: a new object, later start time, same name and
	 * address; it rejoins with a higher incarnation. */
	{
		struct swim_config c;
		struct swim_env env;
		int err;

		c2 = net->cnt++;
		memset(&c, 0, sizeof(c));
		strcpy(c.name, "n5");
		net->a[c2] = net->a[n[5]];
		net->a[n[5]].port = 1;
		c.addr = net->a[c2];
		c.start_ms = net->now;
		c.seed = 555;
		strcpy(c.cluster, "test");
		profile_lan(&c.prof);
		net->kr[c2] = key_a;
		memset(&env, 0, sizeof(env));
		env.pool = &pool;
		env.keyring = &net->kr[c2];
		net->n[c2] = swim_new(&c, &env, NULL, &err);
	}
	join(net, c2, n[0]);
	run(net, 20000);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(state_of(net, n[i], "n5"), SWIM_ALIVE);
		assert_int_equal(count_ev(net, n[i], SWIM_EV_JOIN, "n5"), 2);
		assert_int_equal(swim_digest(net->n[n[i]]),
				 swim_digest(net->n[c2]));
	}
	net_free(net);
}

static void
test_meta_conflict_force_leave(void **state)
{
	struct net *net = net_new();
	struct swim_member_info mi;
	uint8_t big[SWIM_META_MAX + 1];
	int a, b, c, evil;

	(void)state;
	a = net_add(net, "a", &key_a, "test", 0);
	b = net_add(net, "b", &key_a, "test", 0);
	c = net_add(net, "c", &key_a, "test", 0);
	join(net, b, a);
	join(net, c, a);
	run(net, 5000);

	/* Metadata. */
	memset(big, 1, sizeof(big));
	assert_int_equal(swim_set_meta(net->n[b], net->now, big, sizeof(big)),
			 ERR_TOOBIG);
	assert_int_equal(swim_set_meta(net->n[b], net->now, "role=db", 7), 0);
	drain(net, b);
	run(net, 5000);
	assert_true(swim_member_find(net->n[a], "b", &mi));
	assert_int_equal(mi.meta_len, 7);
	assert_memory_equal(mi.meta, "role=db", 7);
	assert_int_equal(count_ev(net, a, SWIM_EV_UPDATE, "b"), 1);

	/* A second "b" at another address cannot take the name. */
	evil = net_add(net, "b", &key_a, "test", 0);
	join(net, evil, a);
	run(net, 5000);
	assert_true(count_ev(net, a, SWIM_EV_CONFLICT, "b") >= 1);
	assert_true(swim_member_find(net->n[a], "b", &mi));
	assert_true(addr_equal(&mi.addr, &net->a[b]));
	net->down[evil] = true;

	/* force-leave: refused for live, unknown and self; c crashes, is
	 * declared failed, then force-left everywhere. */
	assert_int_equal(swim_force_leave(net->n[a], net->now, "b"),
			 ERR_STATE);
	assert_int_equal(swim_force_leave(net->n[a], net->now, "nope"),
			 ERR_NOENT);
	assert_int_equal(swim_force_leave(net->n[a], net->now, "a"),
			 ERR_STATE);
	net->down[c] = true;
	run(net, 60000);
	assert_int_equal(state_of(net, a, "c"), SWIM_DEAD);
	assert_int_equal(swim_force_leave(net->n[a], net->now, "c"), 0);
	drain(net, a);
	run(net, 5000);
	assert_int_equal(state_of(net, a, "c"), SWIM_LEFT);
	assert_int_equal(state_of(net, b, "c"), SWIM_LEFT);
	assert_int_equal(count_ev(net, b, SWIM_EV_LEFT, "c"), 1);
	net_free(net);
}

static void
test_budget(void **state)
{
	struct net *net = net_new();
	int n[MAXN - 2];

	(void)state;
	/* Many members with the longest names, then every one of them
	 * changes its metadata to the largest size at once: plenty of big
	 * broadcasts queued everywhere. */
	for (int i = 0; i < MAXN - 2; i++) {
		char name[SWIM_NAME_MAX + 1];

		memset(name, 'n', sizeof(name) - 4);
		snprintf(name + sizeof(name) - 4, 4, "%03d", i);
		n[i] = net_add(net, name, &key_a, "test", 0);
		if (i)
			join(net, n[i], n[0]);
	}
	run(net, 20000);
	for (int i = 0; i < MAXN - 2; i++) {
		uint8_t meta[SWIM_META_MAX];

		memset(meta, i, sizeof(meta));
		assert_int_equal(swim_set_meta(net->n[n[i]], net->now, meta,
					       sizeof(meta)),
				 0);
		drain(net, n[i]);
	}
	run(net, 20000);
	assert_true(net->max_dgram > 1000);
	assert_true(net->max_dgram <= 1400);
	for (int i = 0; i < MAXN - 2; i++)
		assert_int_equal(swim_count_state(net->n[n[i]], SWIM_ALIVE),
				 MAXN - 2);
	net_free(net);
}

static void
test_preload(void **state)
{
	struct net *net = net_new();
	struct swim_member_info all[5];
	int n[5];

	(void)state;
	for (int i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		n[i] = net_add(net, name, &key_a, "test", 0);
		assert_true(swim_member_find(net->n[n[i]], name, &all[i]));
	}
	for (int i = 0; i < 5; i++) {
		/* Itself and duplicates are skipped. */
		assert_int_equal(swim_preload(net->n[n[i]], net->now, all, 5),
				 4);
		assert_int_equal(swim_preload(net->n[n[i]], net->now, all, 5),
				 0);
		drain(net, n[i]);
	}
	run(net, 20000);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(swim_count_state(net->n[n[i]], SWIM_ALIVE), 5);
		assert_int_equal(swim_digest(net->n[n[i]]),
				 swim_digest(net->n[n[0]]));
		assert_int_equal(count_ev(net, n[i], SWIM_EV_JOIN, NULL), 0);
		assert_int_equal(count_ev(net, n[i], SWIM_EV_SUSPECT, NULL), 0);
	}
	/* A preloaded cluster detects a crash like any other. */
	net->down[n[4]] = true;
	run(net, 60000);
	for (int i = 0; i < 4; i++)
		assert_int_equal(state_of(net, n[i], "p4"), SWIM_DEAD);
	net_free(net);
}

/* b's UDP is lost (a firewall, a broken NIC queue) but TCP reaches it:
 * the TCP fallback ping keeps it from being suspected; without the
 * fallback it is suspected (so this test can fail). */
static void
tcp_fallback_case(bool tcp_pings, unsigned *suspects, uint64_t *saved)
{
	struct net *net = net_new();
	int a, b, c;

	a = net_add(net, "a", &key_a, "test", 0);
	b = net_add(net, "b", &key_a, "test", 0);
	c = net_add(net, "c", &key_a, "test", 0);
	join(net, b, a);
	join(net, c, a);
	run(net, 5000);
	net->udp_lost[b] = true;
	if (!tcp_pings) {
		/* The same knob a profile override sets. */
		for (int i = 0; i < 3; i++) {
			struct profile *p =
				(struct profile *)swim_profile(net->n[i]);

			p->tcp_pings = 0;
		}
	}
	run(net, 30000);
	*suspects = count_ev(net, a, SWIM_EV_SUSPECT, "b") +
		    count_ev(net, c, SWIM_EV_SUSPECT, "b");
	*saved = swim_stats(net->n[a])->probe_tcp_saved +
		 swim_stats(net->n[c])->probe_tcp_saved;
	net_free(net);
}

static void
test_tcp_fallback(void **state)
{
	unsigned suspects;
	uint64_t saved;

	(void)state;
	tcp_fallback_case(true, &suspects, &saved);
	assert_int_equal(suspects, 0);
	assert_true(saved > 0);
	tcp_fallback_case(false, &suspects, &saved);
	assert_true(suspects > 0);
	assert_int_equal(saved, 0);
}

/* Four members: every gossip round targets all three peers, and each
 * application broadcast (which receivers do not re-gossip by themselves)
 * may be sent twice. If gossip targets came in member-table order, the
 * newest member, last in every table, would be reached only by the odd
 * probe that happened to go to it first. Targets are random, so it hears
 * most broadcasts. */
static void
test_small_cluster_fairness(void **state)
{
	struct net *net = net_new();
	int n[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		n[i] = net_add(net, name, &key_a, "test", 0);
		if (i)
			join(net, n[i], n[0]);
	}
	run(net, 10000);
	for (int round = 0; round < 30; round++) {
		uint8_t msg[2] = { 'a', (uint8_t)round };

		assert_int_equal(swim_broadcast(net->n[n[0]], msg, 2, 0, 2),
				 0);
		run(net, 1000);
	}
	if (getenv("SWIM_TEST_VERBOSE"))
		fprintf(stderr, "fairness: f1 %u f2 %u f3 %u of 30\n",
			net->app_msgs[n[1]], net->app_msgs[n[2]],
			net->app_msgs[n[3]]);
	for (int i = 1; i < 4; i++)
		assert_true(net->app_msgs[n[i]] >= 12);
	net_free(net);
}

/* Leaving when nobody else is alive ends at once; it does not wait for
 * leave_timeout to spread an announcement to no one. */
static void
test_leave_alone(void **state)
{
	struct net *net = net_new();
	int a, b;

	(void)state;
	a = net_add(net, "a", &key_a, "test", 0);
	assert_int_equal(swim_leave(net->n[a], net->now), 0);
	drain(net, a);
	assert_true(swim_is_stopped(net->n[a]));
	assert_int_equal(count_ev(net, a, SWIM_EV_LEAVE_DONE, NULL), 1);

	/* The same after the only peer failed. */
	a = net_add(net, "c", &key_a, "test", 0);
	b = net_add(net, "d", &key_a, "test", 0);
	join(net, b, a);
	run(net, 5000);
	net->down[b] = true;
	run(net, 60000);
	assert_int_equal(state_of(net, a, "d"), SWIM_DEAD);
	assert_int_equal(swim_leave(net->n[a], net->now), 0);
	drain(net, a);
	assert_true(swim_is_stopped(net->n[a]));
	net_free(net);
}

/* Push-pull probes: converged peers answer "same view" without their
 * tables; a node that missed a rumour (deaf while it spread, and gossip
 * is over) still learns it by push-pull: its view differs, so the full
 * exchange follows. */
static void
test_pushpull_probe(void **state)
{
	struct net *net = net_new();
	uint64_t same = 0;
	int n[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "q%d", i);
		n[i] = net_add(net, name, &key_a, "test", 0);
		((struct profile *)swim_profile(net->n[n[i]]))
			->push_pull_interval_ms = 3000;
		if (i)
			join(net, n[i], n[0]);
	}
	/* The first push-pull was scheduled from the profile at creation
	 * (15-45 s); later ones follow the 3 s set above. */
	run(net, 60000);
	for (int i = 0; i < 4; i++) {
		same += swim_stats(net->n[n[i]])->pushpulls_same;
		if (getenv("SWIM_TEST_VERBOSE"))
			fprintf(stderr, "q%d pushpulls %llu same %llu streams %llu digest %llx\n", i,
				(unsigned long long)swim_stats(net->n[n[i]])->pushpulls,
				(unsigned long long)swim_stats(net->n[n[i]])->pushpulls_same,
				(unsigned long long)swim_stats(net->n[n[i]])->streams_out,
				(unsigned long long)swim_digest(net->n[n[i]]));
	}
	assert_true(same > 0);
	/* q3 misses q0's metadata change entirely. */
	net->deaf[n[3]] = true;
	assert_int_equal(swim_set_meta(net->n[n[0]], net->now, "v2", 2), 0);
	drain(net, n[0]);
	run(net, 5000);
	assert_int_not_equal(swim_digest(net->n[n[3]]),
			     swim_digest(net->n[n[0]]));
	net->deaf[n[3]] = false;
	/* Gossip is over; only push-pull can bring it now. */
	run(net, 20000);
	assert_int_equal(swim_digest(net->n[n[3]]), swim_digest(net->n[n[0]]));
	{
		struct swim_member_info mi;

		assert_true(swim_member_find(net->n[n[3]], "q0", &mi));
		assert_int_equal(mi.meta_len, 2);
		assert_memory_equal(mi.meta, "v2", 2);
	}
	net_free(net);
}

static void
test_profile(void **state)
{
	struct profile p;
	uint64_t v;
	char why[128];

	(void)state;
	assert_int_equal(profile_by_name(&p, "wan"), 0);
	assert_int_equal(p.probe_interval_ms, 5000);
	assert_int_equal(profile_by_name(&p, "nope"), ERR_NOENT);
	assert_int_equal(profile_by_name(&p, "lan"), 0);
	assert_int_equal(p.gossip_nodes, 3);
	assert_int_equal(profile_set(&p, "probe_interval", "1.5s"), 0);
	assert_int_equal(p.probe_interval_ms, 1500);
	assert_int_equal(profile_set(&p, "gossip_nodes", "5"), 0);
	assert_int_equal(p.gossip_nodes, 5);
	assert_int_equal(profile_set(&p, "udp_payload_max", "2k"), 0);
	assert_int_equal(p.udp_payload_max, 2048);
	assert_int_equal(profile_set(&p, "bogus", "1"), ERR_NOENT);
	assert_int_equal(profile_set(&p, "probe_timeout", "soon"), ERR_INVAL);
	assert_int_equal(profile_set(&p, "gossip_nodes", "1000"), ERR_RANGE);
	assert_int_equal(profile_set(&p, "probe_timeout", "2s"), 0);
	assert_int_equal(profile_check(&p, why, sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "probe_timeout"));
	assert_int_equal(parse_duration_ms("24h", &v), 0);
	assert_int_equal(v, 86400000);
	assert_int_equal(parse_duration_ms("250", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(parse_duration_ms("", &v), ERR_INVAL);
	assert_int_equal(parse_duration_ms("5 s", &v), ERR_INVAL);
	assert_int_equal(parse_duration_ms("99999999999999999999s", &v),
			 ERR_RANGE);
	assert_int_equal(parse_size("64k", &v), 0);
	assert_int_equal(v, 65536);
}

/* A second node that takes an existing member's name (a copy of its
 * config, or an impostor) must not take over the member's replay state.
 * It starts later, so its boot id is higher; if a datagram of it could
 * move the member's boot forward, every datagram of the real member would
 * look stale from then on, and without the TCP fallback to hide the lost
 * acks the real member would be declared failed everywhere and the other
 * node would get its name. */
static void
test_impostor_cannot_take_name(void **state)
{
	struct net *net = net_new();
	struct profile prof;
	uint64_t stale[4], conflicts = 0;
	int n[4], evil;

	(void)state;
	profile_lan(&prof);
	prof.tcp_pings = 0;
	net->prof = &prof;
	for (int i = 0; i < 4; i++) {
		char name[2] = {(char)('a' + i), 0};

		n[i] = net_add(net, name, &key_a, "test", 0);
		if (i)
			join(net, n[i], n[0]);
	}
	run(net, 10000);
	for (int i = 0; i < 4; i++)
		stale[i] = drops_of(net, n[i], SWIM_DROP_STALE);
	evil = net_add(net, "b", &key_a, "test", 0);
	join(net, evil, n[0]);
	run(net, 60000);
	for (int i = 0; i < 4; i++) {
		struct swim_member_info mi;

		if (i == 1)
			continue;
		assert_true(swim_member_find(net->n[n[i]], "b", &mi));
		assert_int_equal(mi.state, SWIM_ALIVE);
		assert_true(addr_equal(&mi.addr, &net->a[n[1]]));
		assert_int_equal(count_ev(net, n[i], SWIM_EV_SUSPECT, "b"), 0);
		assert_int_equal(count_ev(net, n[i], SWIM_EV_FAILED, "b"), 0);
		/* The real b is heard as before. */
		assert_int_equal(drops_of(net, n[i], SWIM_DROP_STALE),
				 stale[i]);
		conflicts += drops_of(net, n[i], SWIM_DROP_CONFLICT);
	}
	assert_true(count_ev(net, n[0], SWIM_EV_CONFLICT, "b") >= 1);
	assert_true(conflicts > 0);
	assert_int_equal(swim_incarnation(net->n[n[1]]), T0);
	net_free(net);
}

struct restart_ctx {
	int n[4], b2;
	const char *meta;
};

static bool
everyone_has_meta(struct net *net, void *ctx)
{
	struct restart_ctx *rc = ctx;

	for (int i = 0; i < 4; i++)
		if (i != 1 && !meta_is(net, rc->n[i], "b", rc->meta))
			return false;
	return true;
}

/* A member restarts with its clock behind its previous start: its new
 * boot id is lower than the one the others hold, so its datagrams are
 * stale to them. The others' probes of it fail over UDP and go to the
 * TCP fallback; its answer over a stream we opened to its address moves
 * its replay state to the new boot, and it is heard again: a change of
 * its metadata spreads by gossip (push-pull is off, so nothing else could
 * carry it). */
static void
test_restart_clock_behind(void **state)
{
	struct net *net = net_new();
	struct restart_ctx rc = {.meta = "v=2"};
	struct profile prof;
	uint64_t stale[4];

	(void)state;
	profile_lan(&prof);
	prof.push_pull_interval_ms = 0;
	net->prof = &prof;
	for (int i = 0; i < 4; i++) {
		char name[2] = {(char)('a' + i), 0};

		rc.n[i] = net_add(net, name, &key_a, "test", 0);
		if (i)
			join(net, rc.n[i], rc.n[0]);
	}
	run(net, 10000);
	net->down[rc.n[1]] = true;
	run(net, 2000);
	/* 40 s behind: before b's first start, within the skew bound. */
	rc.b2 = net_restart(net, rc.n[1], -40000);
	assert_true(swim_incarnation(net->n[rc.b2]) < T0);
	join(net, rc.b2, rc.n[0]);
	run(net, 20000);
	for (int i = 0; i < 4; i++)
		stale[i] = i == 1 ? 0 : drops_of(net, rc.n[i], SWIM_DROP_STALE);
	assert_int_equal(
		swim_set_meta(net->n[rc.b2], clk(net, rc.b2), "v=2", 3), 0);
	drain(net, rc.b2);
	assert_true(run_until(net, 3000, 100, everyone_has_meta, &rc));
	run(net, 10000);
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		assert_int_equal(state_of(net, rc.n[i], "b"), SWIM_ALIVE);
		assert_int_equal(count_ev(net, rc.n[i], SWIM_EV_FAILED, "b"),
				 0);
		/* Nothing of the new life is dropped any more. */
		assert_int_equal(drops_of(net, rc.n[i], SWIM_DROP_STALE),
				 stale[i]);
	}
	net_free(net);
}

/* The same through push-pull alone (no TCP pings, nobody opens a stream
 * to the restarted member): its own push-pull, carrying its alive at a
 * newer incarnation (after refuting the old life) from its own host,
 * moves its replay state at the peer. */
static void
test_restart_clock_behind_pushpull(void **state)
{
	struct net *net = net_new();
	struct profile pa, pb;
	int a, b, b2;

	(void)state;
	profile_lan(&pa);
	pa.tcp_pings = 0;
	pa.push_pull_interval_ms = 0;
	pa.reconnect_interval_ms = 0;
	pb = pa;
	pb.push_pull_interval_ms = 2000;
	net->prof = &pa;
	a = net_add(net, "a", &key_a, "test", 0);
	net->prof = &pb;
	b = net_add(net, "b", &key_a, "test", 0);
	join(net, b, a);
	run(net, 10000);
	b2 = net_restart(net, b, -40000);
	join(net, b2, a);
	run(net, 30000);
	assert_int_equal(state_of(net, a, "b"), SWIM_ALIVE);
	assert_int_equal(swim_set_meta(net->n[b2], clk(net, b2), "v=3", 3), 0);
	drain(net, b2);
	run(net, 1000);
	assert_true(meta_is(net, a, "b", "v=3"));
	net_free(net);
}

/* A held suspicion (expired unconfirmed: a private doubt) is reported as
 * alive in push-pull, so the digest must count it as alive too, or the
 * digests of two nodes that send each other the same live table never
 * compare equal and every push-pull between them is a full exchange.
 * Nodes a and z share a view of three phantoms; a alone is told that p1
 * is suspect (by p2), nobody confirms, and a holds the suspicion. a's
 * datagrams to z are lost (z reaches a over TCP), so only push-pull could
 * tell z of the doubt, and push-pull starts only once it is held. */
static void
test_held_suspicion_digest(void **state)
{
	struct net *net = net_new();
	struct profile prof;
	int n[2], a, z;

	(void)state;
	profile_lan(&prof);
	prof.push_pull_interval_ms = 0;
	net->prof = &prof;
	net->tap = phantom_tap;
	a = n[0] = net_add(net, "a", &key_a, "test", 0);
	z = n[1] = net_add(net, "z", &key_a, "test", 0);
	add_phantoms(net, a, 3);
	add_phantoms(net, z, 3);
	preload_all(net, n, 2);
	net->cut[a][z] = true;
	run(net, 3000);
	assert_int_equal(swim_digest(net->n[a]), swim_digest(net->n[z]));
	phantom_suspect(net, a, 2, "p1", T0);
	run(net, 30000);
	assert_int_equal(state_of(net, a, "p1"), SWIM_SUSPECT);
	assert_int_equal(swim_stats(net->n[a])->suspicions_held, 1);
	assert_int_equal(state_of(net, z, "p1"), SWIM_ALIVE);
	assert_int_equal(swim_digest(net->n[a]), swim_digest(net->n[z]));
	/* z starts push-pulls (a third of them with a): a finds the views
	 * the same each time, and the doubt stays private. */
	((struct profile *)swim_profile(net->n[z]))->push_pull_interval_ms =
		2000;
	run(net, 30000);
	assert_true(swim_stats(net->n[a])->pushpulls_same > 0);
	assert_int_equal(swim_stats(net->n[a])->pushpulls_same,
			 swim_stats(net->n[a])->pushpulls);
	assert_int_equal(state_of(net, z, "p1"), SWIM_ALIVE);
	assert_int_equal(state_of(net, a, "p1"), SWIM_SUSPECT);
	net_free(net);
}

struct stream_tap {
	int src;
	uint32_t id;
};

static void
first_stream_tap(struct net *net, int src, int dst, const struct swim_out *o)
{
	struct stream_tap *st = net->tap_ctx;

	(void)dst;
	if (src == st->src && o->kind == SWIM_OUT_STREAM_REQ && !st->id)
		st->id = o->stream_id;
}

/* Not every drop comes from a bad packet: a reply to a stream we no
 * longer wait for, and a frame we have no memory to open, are counted
 * too. */
static void
test_drop_unknown_stream(void **state)
{
	struct net *net = net_new();
	struct stream_tap st = {0, 0};
	struct addr nowhere;
	uint8_t junk[64];
	int a;

	(void)state;
	a = net_add(net, "a", &key_a, "test", 0);
	memset(junk, 0x11, sizeof(junk));
	swim_stream_reply(net->n[a], net->now, 4242, junk, sizeof(junk));
	assert_int_equal(drops_of(net, a, SWIM_DROP_NOSTREAM), 1);
	/* A join to an address nobody answers: the stream expires. */
	net->tap = first_stream_tap;
	net->tap_ctx = &st;
	st.src = a;
	addr_v4(&nowhere, 10, 8, 0, 1, 7946);
	assert_int_equal(swim_join(net->n[a], net->now, &nowhere, 1), 0);
	drain(net, a);
	assert_true(st.id != 0);
	run(net, 2 * 10000 + 1000);
	assert_true(swim_stats(net->n[a])->streams_failed >= 1);
	swim_stream_reply(net->n[a], net->now, st.id, junk, sizeof(junk));
	assert_int_equal(drops_of(net, a, SWIM_DROP_NOSTREAM), 2);
	net_free(net);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void
test_drop_nomem(void **state)
{
#ifdef UNDER_ASAN
	(void)state;
	skip(); /* ASan reserves far more address space than any limit */
#else
	struct net *net = net_new();
	size_t big = 16u << 20;
	int a, status = 0;
	pid_t pid;

	(void)state;
	a = net_add(net, "a", &key_a, "test", 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child: a frame too large to open under a tight limit
		 * on address space. */
		uint8_t *frame = calloc(1, big);
		unsigned long pages = 0;
		struct rlimit rl;
		FILE *f;

		f = fopen("/proc/self/statm", "r");
		if (!frame || !f || fscanf(f, "%lu", &pages) != 1)
			_exit(2);
		fclose(f);
		rl.rlim_cur = rl.rlim_max =
			pages * (unsigned long)sysconf(_SC_PAGESIZE) +
			(4u << 20);
		if (setrlimit(RLIMIT_AS, &rl))
			_exit(2);
		swim_recv_stream(net->n[a], net->now, 1, &net->a[a], frame,
				 big);
		_exit(drops_of(net, a, SWIM_DROP_NOMEM) == 1 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	net_free(net);
#endif
}

/* ---- behaviours of the protocol, one by one ---- */

/* Time of the first event of a kind about name at node i (0: none). */
static uint64_t
ev_time(struct net *net, int i, int kind, const char *name)
{
	for (unsigned k = 0; k < net->nev[i]; k++)
		if (net->ev[i][k].kind == kind &&
		    strcmp(net->ev[i][k].name, name) == 0)
			return net->ev[i][k].time_ms;
	return 0;
}

struct ev_wait {
	int i, kind;
	const char *name;
};

static bool
ev_seen(struct net *net, void *ctx)
{
	struct ev_wait *w = ctx;

	return count_ev(net, w->i, w->kind, w->name) > 0;
}

/* Failed members are forgotten reap_dead after they failed and left ones
 * reap_left after they left (checked every reap_interval), each with a
 * member-reap event; the live digest does not change. */
static void
test_reap(void **state)
{
	struct net *net = net_new();
	struct swim_member_info mi;
	struct profile prof;
	struct ev_wait w;
	uint64_t t_fail, t_left, t, digest;
	int a, b, c;

	(void)state;
	profile_lan(&prof);
	prof.reap_dead_ms = 20000;
	prof.reap_left_ms = 10000;
	prof.reap_interval_ms = 500;
	net->prof = &prof;
	a = net_add(net, "a", &key_a, "test", 0);
	b = net_add(net, "b", &key_a, "test", 0);
	c = net_add(net, "c", &key_a, "test", 0);
	join(net, b, a);
	join(net, c, a);
	run(net, 5000);
	assert_int_equal(swim_leave(net->n[c], net->now), 0);
	drain(net, c);
	run(net, 3000);
	t_left = ev_time(net, a, SWIM_EV_LEFT, "c");
	assert_true(t_left > 0);
	net->down[b] = true;
	w = (struct ev_wait){a, SWIM_EV_FAILED, "b"};
	assert_true(run_until(net, 60000, 100, ev_seen, &w));
	t_fail = ev_time(net, a, SWIM_EV_FAILED, "b");
	digest = swim_digest(net->n[a]);
	run(net, 30000);
	assert_int_equal(count_ev(net, a, SWIM_EV_REAP, "b"), 1);
	assert_int_equal(count_ev(net, a, SWIM_EV_REAP, "c"), 1);
	/* State changes are kept in tenths of a second. */
	t = ev_time(net, a, SWIM_EV_REAP, "c");
	assert_true(t >= t_left + 10000 - 100 && t <= t_left + 10000 + 500);
	t = ev_time(net, a, SWIM_EV_REAP, "b");
	assert_true(t >= t_fail + 20000 - 100 && t <= t_fail + 20000 + 500);
	assert_false(swim_member_find(net->n[a], "b", &mi));
	assert_false(swim_member_find(net->n[a], "c", &mi));
	assert_int_equal(swim_member_count(net->n[a]), 1);
	assert_int_equal(swim_digest(net->n[a]), digest);
	net_free(net);
}

struct req_rec {
	int src;
	unsigned n;
	uint64_t t[64];
};

static void
stream_req_tap(struct net *net, int src, int dst, const struct swim_out *o)
{
	struct req_rec *rr = net->tap_ctx;

	(void)dst;
	if (src == rr->src && o->kind == SWIM_OUT_STREAM_REQ && rr->n < 64)
		rr->t[rr->n++] = clk(net, src);
}

/* A join whose seed never answers is retried with exponential backoff
 * (join_backoff_min doubling up to join_backoff_max) and gives up with a
 * join-failed event after join_max_attempts rounds (0: never). */
static void
test_join_backoff(void **state)
{
	static const uint64_t limited[] = {0, 1000, 3000, 7000};
	static const uint64_t capped[] = {0,	 1000,	3000,  7000,
					  12000, 17000, 22000, 27000};
	struct net *net = net_new();
	struct req_rec rr;
	struct profile prof;
	uint64_t t0;
	int seed, x, y;

	(void)state;
	profile_lan(&prof);
	prof.join_max_attempts = 4;
	net->prof = &prof;
	seed = net_add(net, "s", &key_a, "test", 0);
	net->down[seed] = true; /* connections to it are refused at once */
	x = net_add(net, "x", &key_a, "test", 0);
	memset(&rr, 0, sizeof(rr));
	rr.src = x;
	net->tap = stream_req_tap;
	net->tap_ctx = &rr;
	t0 = net->now;
	join(net, x, seed);
	run(net, 60000);
	assert_int_equal(rr.n, 4);
	for (unsigned i = 0; i < rr.n; i++)
		assert_int_equal(rr.t[i] - t0, limited[i]);
	assert_int_equal(count_ev(net, x, SWIM_EV_JOIN_FAILED, "x"), 1);
	assert_int_equal(ev_time(net, x, SWIM_EV_JOIN_FAILED, "x"), t0 + 7000);
	assert_int_equal(count_ev(net, x, SWIM_EV_JOINED, NULL), 0);

	/* Forever, with the backoff capped at 5 s. */
	prof.join_max_attempts = 0;
	prof.join_backoff_max_ms = 5000;
	y = net_add(net, "y", &key_a, "test", 0);
	memset(&rr, 0, sizeof(rr));
	rr.src = y;
	t0 = net->now;
	join(net, y, seed);
	run(net, 29000);
	assert_int_equal(rr.n, 8);
	for (unsigned i = 0; i < rr.n; i++)
		assert_int_equal(rr.t[i] - t0, capped[i]);
	assert_int_equal(count_ev(net, y, SWIM_EV_JOIN_FAILED, NULL), 0);
	net_free(net);
}

static unsigned
health_max(struct net *net, const int *idx, int n)
{
	unsigned m = 0;

	for (int i = 0; i < n; i++)
		if (!net->down[idx[i]] && swim_health(net->n[idx[i]]) > m)
			m = swim_health(net->n[idx[i]]);
	return m;
}

/* n nodes n0.. (profile prof, NULL: lan) started from a converged view. */
static struct net *
net_of(int n, int *idx, const struct profile *prof)
{
	struct net *net = net_new();

	net->prof = prof;
	for (int i = 0; i < n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", i);
		idx[i] = net_add(net, name, &key_a, "test", 0);
	}
	preload_all(net, idx, n);
	run(net, 3000);
	return net;
}

/* Lifeguard's nacks. A helper that cannot reach the target answers the
 * requester with a nack in time for its probe, so a failed probe of a
 * dead member costs a healthy requester nothing; a failed probe without
 * the expected nacks raises the requester's health score by the number
 * missing (by 1 when there was no helper to ask), and successful probes
 * lower it again. */
static void
test_nacks_and_health(void **state)
{
	uint64_t nacks_sent = 0, nacks_recv = 0, failed = 0;
	struct profile prof;
	struct net *net;
	int n[5];

	(void)state;
	/* Helpers answer: the crash of n4 raises nobody's score. */
	net = net_of(5, n, NULL);
	net->down[n[4]] = true;
	for (int step = 0; step < 400; step++) {
		bool all = true;

		run(net, 100);
		assert_int_equal(health_max(net, n, 4), 0);
		for (int i = 0; i < 4; i++)
			all &= state_of(net, n[i], "n4") == SWIM_DEAD;
		if (all)
			break;
	}
	for (int i = 0; i < 4; i++) {
		const struct swim_stats *st = swim_stats(net->n[n[i]]);

		assert_int_equal(state_of(net, n[i], "n4"), SWIM_DEAD);
		nacks_sent += st->nacks_sent;
		nacks_recv += st->nacks_recv;
		failed += st->probe_failed;
	}
	assert_true(failed > 0);
	assert_true(nacks_recv > 0);
	assert_int_equal(nacks_recv, nacks_sent);
	net_free(net);

	/* No helper to ask: +1. */
	net = net_of(2, n, NULL);
	net->down[n[1]] = true;
	for (int i = 0; i < 500 && !swim_stats(net->n[n[0]])->probe_failed; i++)
		run(net, 10);
	assert_int_equal(swim_health(net->n[n[0]]), 1);
	net_free(net);

	/* Nothing from the others reaches n0 (and no TCP fallback saves its
	 * probes): +3, for the three helpers it asked, at its first failed
	 * probe; once they are heard again, successes bring it back. */
	profile_lan(&prof);
	prof.tcp_pings = 0;
	net = net_of(5, n, &prof);
	for (int i = 1; i < 5; i++)
		net->cut[n[i]][n[0]] = true;
	for (int i = 0; i < 500 && !swim_stats(net->n[n[0]])->probe_failed; i++)
		run(net, 10);
	assert_int_equal(swim_stats(net->n[n[0]])->probe_failed, 1);
	assert_int_equal(swim_health(net->n[n[0]]), 3);
	for (int i = 1; i < 5; i++)
		net->cut[n[i]][n[0]] = false;
	run(net, 60000);
	assert_int_equal(swim_health(net->n[n[0]]), 0);
	net_free(net);
}

/* The suspicion timeout of a node with `members` members (itself and
 * phantoms) for a suspicion of p1 by p2, confirmed by `conf` other
 * phantoms one second apart. Returns the time from the suspicion to its
 * death (0: none), and in *held the time to it being held. */
static uint64_t
suspicion_case(int members, int conf, uint64_t *held)
{
	struct net *net = net_new();
	uint64_t t0, dead;
	int a;

	net->tap = phantom_tap;
	a = net_add(net, "a", &key_a, "test", 0);
	add_phantoms(net, a, members - 1);
	run(net, 2000);
	t0 = net->now;
	phantom_suspect(net, a, 2, "p1", T0);
	run(net, 0);
	assert_int_equal(state_of(net, a, "p1"), SWIM_SUSPECT);
	for (int c = 0; c < conf; c++) {
		run(net, 1000);
		phantom_suspect(net, a, 3 + c, "p1", T0);
		run(net, 0);
	}
	*held = 0;
	for (uint64_t t = net->now - t0; t < 60000 && !*held; t += 1) {
		run(net, 1);
		if (swim_stats(net->n[a])->suspicions_held)
			*held = net->now - t0;
		if (count_ev(net, a, SWIM_EV_FAILED, "p1"))
			break;
	}
	dead = ev_time(net, a, SWIM_EV_FAILED, "p1");
	if (*held)
		assert_int_equal(state_of(net, a, "p1"), SWIM_SUSPECT);
	net_free(net);
	return dead ? dead - t0 : 0;
}

/* Lifeguard's dynamic suspicion: the timeout starts at
 * max = suspicion_max_timeout_mult * min and shrinks with each
 * independent confirmation, as log(c + 1) / log(k + 1), to
 * min = suspicion_mult * log10(N) * probe_interval (k = suspicion_mult - 2
 * confirmations expected). Unconfirmed, it is held when it runs out,
 * not declared. */
static void
test_suspicion_curve(void **state)
{
	uint64_t held;

	(void)state;
	/* N = 10: min 4 s, max 24 s, k = 2. */
	assert_int_equal(suspicion_case(10, 0, &held), 0);
	assert_int_equal(held, 24000);
	/* One confirmation: 24 - 20 * log 2 / log 3 = 11.38 s. */
	assert_int_equal(suspicion_case(10, 1, &held), 11381);
	assert_int_equal(held, 0);
	/* Two: the minimum. */
	assert_int_equal(suspicion_case(10, 2, &held), 4000);
	/* N = 100: min = 4 * log10(100) * 1 s = 8 s, max 48 s. */
	assert_int_equal(suspicion_case(100, 2, &held), 8000);
	assert_int_equal(suspicion_case(100, 0, &held), 0);
	assert_int_equal(held, 48000);
}

struct alive_count {
	const char *subject;
	uint64_t inc;
	uint32_t per[MAXN];
	int src;
};

static void
alive_count_msg(void *ctx, const struct wire_hdr *h, const struct wire_msg *m)
{
	struct alive_count *ac = ctx;

	(void)h;
	if (m->type == WIRE_ALIVE && m->inc == ac->inc &&
	    name_is(m->node, m->node_len, ac->subject))
		ac->per[ac->src]++;
}

static void
alive_count_tap(struct net *net, int src, int dst, const struct swim_out *o)
{
	struct alive_count *ac = net->tap_ctx;

	(void)dst;
	if (o->kind != SWIM_OUT_DGRAM)
		return;
	ac->src = src;
	assert_true(each_msg(o, alive_count_msg, ac));
}

/* The retransmit limit, end to end: every datagram of a 10-node cluster
 * is opened and the transmissions of one update (n3's new metadata) are
 * counted. Its origin sends it exactly retransmit_mult * ceil(log10(N+1))
 * = 4 * 2 = 8 times, every node that passes it on at most as often, and
 * it reaches everyone. */
static void
test_retransmit_limit(void **state)
{
	struct alive_count ac = {.subject = "n3"};
	uint32_t relays = 0;
	struct net *net;
	int n[10];

	(void)state;
	net = net_of(10, n, NULL);
	assert_int_equal(swim_set_meta(net->n[n[3]], net->now, "x=1", 3), 0);
	ac.inc = swim_incarnation(net->n[n[3]]);
	net->tap = alive_count_tap;
	net->tap_ctx = &ac;
	drain(net, n[3]);
	run(net, 20000);
	assert_int_equal(ac.per[n[3]], 8);
	for (int i = 0; i < 10; i++) {
		assert_true(ac.per[n[i]] <= 8);
		if (i != 3 && ac.per[n[i]])
			relays++;
		assert_true(meta_is(net, n[i], "n3", "x=1"));
	}
	assert_true(relays >= 5);
	net_free(net);
}

static void
pushpull_tap(struct net *net, int src, int dst, const struct swim_out *o)
{
	struct req_rec *rr = net->tap_ctx;
	uint8_t *pt = malloc(o->len);
	struct wire_stream ws;
	size_t pt_len = 0;

	phantom_tap(net, src, dst, o);
	assert_non_null(pt);
	if (src == rr->src && o->kind == SWIM_OUT_STREAM_REQ &&
	    crypto_open(&key_a, "test", 4, o->data, o->len, pt, o->len,
			&pt_len) == 0 &&
	    wire_stream_decode(pt, pt_len, &ws) == 0 &&
	    ws.kind == WIRE_STREAM_REQ && (ws.flags & WIRE_PP_PROBE) &&
	    rr->n < 64)
		rr->t[rr->n++] = clk(net, src);
	free(pt);
}

/* The time between the periodic push-pulls of a node with `members`
 * members and a push_pull_interval of 1 s. */
static uint64_t
pushpull_gap(int members)
{
	struct net *net = net_new();
	struct req_rec rr;
	struct profile prof;
	uint64_t gap = 0;
	int a;

	profile_lan(&prof);
	prof.push_pull_interval_ms = 1000;
	prof.stream_timeout_ms = 100;
	net->prof = &prof;
	memset(&rr, 0, sizeof(rr));
	net->tap = pushpull_tap;
	net->tap_ctx = &rr;
	a = net_add(net, "a", &key_a, "test", 0);
	rr.src = a;
	add_phantoms(net, a, members - 1);
	run(net, 20000);
	assert_true(rr.n >= 4);
	for (unsigned i = 1; i < rr.n; i++) {
		if (i == 1)
			gap = rr.t[1] - rr.t[0];
		assert_int_equal(rr.t[i] - rr.t[i - 1], gap);
	}
	net_free(net);
	return gap;
}

/* Push-pull runs less often in larger clusters, as memberlist's
 * pushPullScale: x (ceil(log2(N) - log2(32)) + 1) above 32 members. */
static void
test_pushpull_scale(void **state)
{
	(void)state;
	assert_int_equal(pushpull_gap(32), 1000);
	assert_int_equal(pushpull_gap(33), 2000);
	assert_int_equal(pushpull_gap(64), 2000);
	assert_int_equal(pushpull_gap(65), 3000);
	assert_int_equal(pushpull_gap(128), 3000);
	assert_int_equal(pushpull_gap(129), 4000);
}

/* Run until `until`, with n0 queueing an application broadcast every
 * 250 ms (so that it has something to gossip). */
static void
run_bcast(struct net *net, int n0, uint64_t until)
{
	while (net->now < until) {
		uint64_t step = until - net->now < 250 ? until - net->now : 250;

		assert_int_equal(swim_broadcast(net->n[n0], "hi", 2, 0, 0), 0);
		run(net, step);
	}
}

/* Gossip goes to recently failed members too (for gossip_to_dead), so a
 * member wrongly declared dead hears it and can refute; after that it
 * gets none. n0 keeps its queue busy with application broadcasts. */
static void
test_gossip_to_dead(void **state)
{
	struct profile prof;
	struct net *net;
	uint64_t t_dead, at_dead, during, after;
	int n[4];

	(void)state;
	profile_lan(&prof);
	prof.gossip_to_dead_ms = 10000;
	net = net_of(4, n, &prof);
	net->down[n[3]] = true;
	for (int i = 0; i < 600 && !count_ev(net, n[0], SWIM_EV_FAILED, "n3");
	     i++)
		run(net, 100);
	assert_int_equal(count_ev(net, n[0], SWIM_EV_FAILED, "n3"), 1);
	t_dead = ev_time(net, n[0], SWIM_EV_FAILED, "n3");
	at_dead = net->sent[n[0]][n[3]];
	/* Three members to gossip to, three gossip targets a round: the
	 * dead one is among them every round. */
	run_bcast(net, n[0], t_dead + 9800);
	during = net->sent[n[0]][n[3]];
	assert_true(during >= at_dead + 30);
	run_bcast(net, n[0], t_dead + 10000);
	after = net->sent[n[0]][n[3]];
	run_bcast(net, n[0], t_dead + 30000);
	assert_int_equal(net->sent[n[0]][n[3]], after);
	net_free(net);
}

struct probe_rec {
	const char *self;
	unsigned n;
	char target[64][8];
};

static void
probe_rec_msg(void *ctx, const struct wire_hdr *h, const struct wire_msg *m)
{
	struct probe_rec *pr = ctx;

	(void)h;
	if (m->type == WIRE_PING && name_is(m->from, m->from_len, pr->self) &&
	    pr->n < 64 && m->node_len < 8) {
		memcpy(pr->target[pr->n], m->node, m->node_len);
		pr->target[pr->n++][m->node_len] = '\0';
	}
}

static void
probe_rec_tap(struct net *net, int src, int dst, const struct swim_out *o)
{
	struct probe_rec *pr = net->tap_ctx;

	(void)dst;
	if (o->kind == SWIM_OUT_DGRAM &&
	    strcmp(swim_name(net->n[src]), pr->self) == 0)
		each_msg(o, probe_rec_msg, pr);
}

/* Probes walk a shuffled list of the other members round-robin: each
 * pass probes every member once, and the list is shuffled again between
 * passes. */
static void
test_probe_order(void **state)
{
	struct probe_rec pr = {.self = "n0"};
	struct net *net;
	int n[10];

	(void)state;
	net = net_new();
	net->tap = probe_rec_tap;
	net->tap_ctx = &pr;
	for (int i = 0; i < 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", i);
		n[i] = net_add(net, name, &key_a, "test", 0);
	}
	/* Before any probe: the first pass is the preloaded members in the
	 * order they were inserted (each at a random place). */
	preload_all(net, n, 10);
	run(net, 40000);
	assert_true(pr.n >= 36);
	for (unsigned pass = 0; pass < 4; pass++) {
		bool seen[10] = {false};

		for (unsigned k = 0; k < 9; k++) {
			const char *t = pr.target[pass * 9 + k];
			int who = atoi(t + 1);

			assert_true(t[0] == 'n' && who >= 1 && who <= 9);
			assert_false(seen[who]);
			seen[who] = true;
		}
	}
	for (unsigned pass = 0; pass < 3; pass++)
		assert_true(memcmp(pr.target[pass * 9],
				   pr.target[(pass + 1) * 9],
				   sizeof(pr.target[0]) * 9) != 0);
	net_free(net);
}

/* The profiles are memberlist's DefaultLANConfig, DefaultWANConfig and
 * DefaultLocalConfig (hashicorp/memberlist config.go), field by field,
 * with serf's timers on top (serf's DefaultConfig: ReconnectInterval
 * 30 s, ReconnectTimeout and TombstoneTimeout 24 h, ReapInterval 15 s,
 * BroadcastTimeout 5 s). */
static void
test_profiles_are_memberlist(void **state)
{
#define ROW(f, l, w, o)                                                        \
	{                                                                      \
#f, offsetof(struct profile, f),                               \
		{                                                              \
			l, w, o                                                \
		}                                                              \
	}
	static const struct {
		const char *field; /* memberlist's name in the comment */
		size_t off;
		uint32_t v[3]; /* lan, wan, local */
	} rows[] = {
		ROW(probe_interval_ms, 1000, 5000, 1000), /* ProbeInterval */
		ROW(probe_timeout_ms, 500, 3000, 200),	  /* ProbeTimeout */
		ROW(indirect_checks, 3, 3, 1),		  /* IndirectChecks */
		ROW(suspicion_mult, 4, 6, 3),		  /* SuspicionMult */
		ROW(suspicion_max_timeout_mult, 6, 6,
		    6),				  /* ...MaxTimeoutMult */
		ROW(awareness_max_mult, 8, 8, 8), /* AwarenessMaxMultiplier */
		ROW(tcp_pings, 1, 1, 1),	  /* !DisableTcpPings */
		ROW(retransmit_mult, 4, 4, 2),	  /* RetransmitMult */
		ROW(gossip_interval_ms, 200, 500, 100), /* GossipInterval */
		ROW(gossip_nodes, 3, 4, 3),		/* GossipNodes */
		ROW(gossip_to_dead_ms, 30000, 60000,
		    15000),				/* ...ToTheDeadTime */
		ROW(udp_payload_max, 1400, 1400, 1400), /* UDPBufferSize */
		ROW(push_pull_interval_ms, 30000, 60000, 15000),
		ROW(stream_timeout_ms, 10000, 30000, 1000), /* TCPTimeout */
		/* serf */
		ROW(reconnect_interval_ms, 30000, 30000, 30000),
		ROW(reap_dead_ms, 86400000, 86400000, 86400000),
		ROW(reap_left_ms, 86400000, 86400000, 86400000),
		ROW(reap_interval_ms, 15000, 15000, 15000),
		ROW(leave_timeout_ms, 5000, 5000, 5000),
	};
#undef ROW
	static const char *const names[3] = {"lan", "wan", "local"};

	(void)state;
	for (int p = 0; p < 3; p++) {
		struct profile prof;

		assert_int_equal(profile_by_name(&prof, names[p]), 0);
		assert_string_equal(prof.name, names[p]);
		for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
			uint32_t got;

			memcpy(&got, (const char *)&prof + rows[r].off,
			       sizeof(got));
			if (got != rows[r].v[p])
				fail_msg("%s.%s = %u, memberlist/serf: %u",
					 names[p], rows[r].field, got,
					 rows[r].v[p]);
		}
	}
}

/* Every reason a datagram or frame is dropped is counted, and the drop
 * changes nothing: truncated, version (of the seal and of the protocol),
 * from_self, too_big (datagram and stream frame), table_full, stopped. */
static void
test_drop_reasons(void **state)
{
	struct net *net = net_new();
	struct profile prof;
	struct wire_hdr h;
	struct wire_msg m;
	static uint8_t big[70000];
	uint8_t pkt[2048];
	uint64_t digest, inc;
	size_t members, n;
	int a, b, c, d, e, f;

	(void)state;
	profile_lan(&prof);
	prof.stream_max = 65536;
	net->prof = &prof;
	a = net_add(net, "a", &key_a, "test", 0);
	b = net_add(net, "b", &key_a, "test", 0);
	join(net, b, a);
	run(net, 3000);
	digest = swim_digest(net->n[a]);
	members = swim_member_count(net->n[a]);
	inc = swim_incarnation(net->n[a]);
	memset(&m, 0, sizeof(m));
	m.type = WIRE_PING;
	m.seq = 1;
	m.node = "a";
	m.node_len = 1;

	swim_recv(net->n[a], net->now, &net->a[b], pkt, 10);
	assert_int_equal(drops_of(net, a, SWIM_DROP_TRUNC), 1);

	hdr_of(&h, "zz", 1, 1, net->now);
	n = craft(pkt, sizeof(pkt), &key_a, "test", &h, &m, 1);
	pkt[0] = 2; /* a seal version we do not know */
	swim_recv(net->n[a], net->now, &net->a[b], pkt, n);
	assert_int_equal(drops_of(net, a, SWIM_DROP_VERSION), 1);
	h.version = WIRE_VERSION + 1; /* a protocol version we do not speak */
	n = craft(pkt, sizeof(pkt), &key_a, "test", &h, &m, 1);
	swim_recv(net->n[a], net->now, &net->a[b], pkt, n);
	assert_int_equal(drops_of(net, a, SWIM_DROP_VERSION), 2);

	hdr_of(&h, "a", 1, 1, net->now);
	n = craft(pkt, sizeof(pkt), &key_a, "test", &h, &m, 1);
	swim_recv(net->n[a], net->now, &net->a[b], pkt, n);
	assert_int_equal(drops_of(net, a, SWIM_DROP_SELF), 1);

	swim_recv(net->n[a], net->now, &net->a[b], big, 65536);
	assert_int_equal(drops_of(net, a, SWIM_DROP_TOOBIG), 1);
	swim_recv_stream(net->n[a], net->now, 9, &net->a[b], big,
			 prof.stream_max + 1000);
	assert_int_equal(drops_of(net, a, SWIM_DROP_TOOBIG), 2);

	drain(net, a);
	assert_int_equal(net->qh, net->qt); /* a said nothing */
	assert_int_equal(total_drops(net->n[a]), 6);
	assert_int_equal(swim_digest(net->n[a]), digest);
	assert_int_equal(swim_member_count(net->n[a]), members);
	assert_int_equal(swim_incarnation(net->n[a]), inc);

	/* A node that left ignores everything. */
	c = net_add(net, "c", &key_a, "test", 0);
	assert_int_equal(swim_leave(net->n[c], net->now), 0);
	drain(net, c);
	assert_true(swim_is_stopped(net->n[c]));
	swim_recv(net->n[c], net->now, &net->a[b], pkt, n);
	swim_recv_stream(net->n[c], net->now, 9, &net->a[b], pkt, n);
	swim_stream_reply(net->n[c], net->now, 9, pkt, n);
	assert_int_equal(drops_of(net, c, SWIM_DROP_STOPPED), 3);

	/* A table of two: the third member is refused. */
	prof.members_max = 2;
	d = net_add(net, "d", &key_a, "test", 0);
	prof.members_max = 65536;
	e = net_add(net, "e", &key_a, "test", 0);
	f = net_add(net, "f", &key_a, "test", 0);
	join(net, e, d);
	run(net, 2000);
	join(net, f, e);
	run(net, 5000);
	assert_int_equal(swim_member_count(net->n[d]), 2);
	assert_true(drops_of(net, d, SWIM_DROP_FULL) > 0);
	net_free(net);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_agree),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_replay_and_stale),
		cmocka_unit_test(test_skew),
		cmocka_unit_test(test_refute_buddy),
		cmocka_unit_test(test_crash_leave_rejoin),
		cmocka_unit_test(test_meta_conflict_force_leave),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_preload),
		cmocka_unit_test(test_tcp_fallback),
		cmocka_unit_test(test_small_cluster_fairness),
		cmocka_unit_test(test_leave_alone),
		cmocka_unit_test(test_pushpull_probe),
		cmocka_unit_test(test_profile),
		cmocka_unit_test(test_impostor_cannot_take_name),
		cmocka_unit_test(test_restart_clock_behind),
		cmocka_unit_test(test_restart_clock_behind_pushpull),
		cmocka_unit_test(test_held_suspicion_digest),
		cmocka_unit_test(test_drop_unknown_stream),
		cmocka_unit_test(test_drop_nomem),
		cmocka_unit_test(test_reap),
		cmocka_unit_test(test_join_backoff),
		cmocka_unit_test(test_nacks_and_health),
		cmocka_unit_test(test_suspicion_curve),
		cmocka_unit_test(test_retransmit_limit),
		cmocka_unit_test(test_pushpull_scale),
		cmocka_unit_test(test_gossip_to_dead),
		cmocka_unit_test(test_probe_order),
		cmocka_unit_test(test_profiles_are_memberlist),
		cmocka_unit_test(test_drop_reasons),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
