/* SPDX-License-Identifier: MIT */
/*
 * sim/net.c — the virtual network's rules and delay model.
 *
 * Delays are built from independent parts so each knob means one thing:
 *
 *   delay = base draw (const | uniform | floor + exponential)
 *         + per-link fixed extra   (hash of the link: some links are longer)
 *         + per-node extra draws   (a slow NIC or a far-away rack)
 *         + heavy tail             (rarely, a Pareto(1.5) delay: GC,
 * bufferbloat)
 *         + reorder hold           (sometimes, a uniform extra)
 *
 * Reordering needs no queue: two datagrams on one link arrive in the order
 * of their drawn delays, so any variance reorders them, and the explicit
 * reorder knob adds more.
 *
 * A stream frame rides TCP: it pays the delay once, plus its length over
 * the bandwidth, plus one RTO per lost segment (1448-byte segments, at most
 * 16 RTOs: past that a real connection would have timed out, and the
 * engine's stream timeout takes over).
 *
 * Invariant: every function here is a pure function of the network state
 * and the rng passed in; nothing reads the engine's clock.
 */
#include "sim/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"

void
sim_net_params_default(struct sim_net_params *np)
{
	memset(np, 0, sizeof(*np));
	np->lat.kind = SIM_LAT_EXP;
	np->lat.a_us = 100;
	np->lat.b_us = 150;
	np->tail_p = 0.0001;
	np->tail_us = 10000;
	np->bandwidth = 1000ull * 1000 * 1000;
	np->rto_us = 200000;
}

uint64_t
sim_latency_draw(const struct sim_latency *l, struct rng *r)
{
	switch (l->kind) {
	case SIM_LAT_UNIFORM:
		if (l->b_us <= l->a_us)
			return l->a_us;
		return rng_range(r, l->a_us, l->b_us);
	case SIM_LAT_EXP: {
		double u = rng_double(r);
		double x = -(double)l->b_us * log1p(-u);

		if (x > (double)SIM_TAIL_CAP_US)
			x = (double)SIM_TAIL_CAP_US;
		return l->a_us + (uint64_t)x;
	}
	case SIM_LAT_CONST:
	default:
		return l->a_us;
	}
}

int
sim_net_init(struct sim_net *net, const struct sim_net_params *p,
	     uint64_t link_seed, uint32_t nodes)
{
	memset(net, 0, sizeof(*net));
	net->p = *p;
	net->link_seed = link_seed;
	return sim_net_grow(net, nodes);
}

void
sim_net_release(struct sim_net *net)
{
	for (uint32_t i = 0; i < net->ncuts; i++) {
		free(net->cuts[i].a);
		free(net->cuts[i].b);
	}
	free(net->cuts);
	free(net->group);
	free(net->flags);
	free(net->node_loss);
	free(net->node_lat);
	free(net->lats);
	memset(net, 0, sizeof(*net));
}

#define GROW(field)                                                            \
	do {                                                                   \
		void *p_ = realloc(net->field, cap * sizeof(*net->field));     \
		if (!p_)                                                       \
			return ERR_NOMEM;                                      \
		net->field = p_;                                               \
		memset(net->field + net->cap, 0,                               \
		       (cap - net->cap) * sizeof(*net->field));                \
	} while (0)

int
sim_net_grow(struct sim_net *net, uint32_t n)
{
	uint32_t cap = net->cap ? net->cap : 64;

	if (n <= net->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	GROW(group);
	GROW(flags);
	GROW(node_loss);
	GROW(node_lat);
	net->cap = cap;
	return 0;
}

bool
sim_net_blocked(const struct sim_net *net, uint32_t s, uint32_t d)
{
	if ((net->flags[s] | net->flags[d]) & SIM_NET_ISOLATED)
		return true;
	if (net->partitioned && net->group[s] != net->group[d] &&
	    !((net->flags[s] | net->flags[d]) & SIM_NET_BRIDGE))
		return true;
	for (uint32_t i = 0; i < net->ncuts; i++) {
		const struct sim_cut *c = &net->cuts[i];

		if (c->active && sim_bit_get(c->a, c->cap, s) &&
		    sim_bit_get(c->b, c->cap, d))
			return true;
	}
	return false;
}

bool
sim_net_touches(const struct sim_net *net, uint32_t i)
{
	if (net->partitioned || (net->flags[i] & SIM_NET_ISOLATED))
		return true;
	if (net->node_loss[i] > 0 || net->node_lat[i])
		return true;
	for (uint32_t k = 0; k < net->ncuts; k++) {
		const struct sim_cut *c = &net->cuts[k];

		if (sim_bit_get(c->a, c->cap, i) ||
		    sim_bit_get(c->b, c->cap, i))
			return true;
	}
	return false;
}

double
sim_net_loss(const struct sim_net *net, uint32_t s, uint32_t d)
{
	double keep = 1.0 - net->p.loss;

	if (net->node_loss[s] > 0)
		keep *= 1.0 - net->node_loss[s];
	if (net->node_loss[d] > 0)
		keep *= 1.0 - net->node_loss[d];
	return 1.0 - keep;
}

static uint64_t
link_extra(const struct sim_net *net, uint32_t s, uint32_t d)
{
	uint32_t lo = s < d ? s : d, hi = s < d ? d : s;

	if (!net->p.spread_us)
		return 0;
	return hash_u64(((uint64_t)lo << 32) | hi, net->link_seed) %
	       net->p.spread_us;
}

uint64_t
sim_net_delay(const struct sim_net *net, uint32_t s, uint32_t d, struct rng *r)
{
	uint64_t t = sim_latency_draw(&net->p.lat, r) + link_extra(net, s, d);

	if (net->node_lat[s])
		t += sim_latency_draw(&net->lats[net->node_lat[s] - 1], r);
	if (net->node_lat[d])
		t += sim_latency_draw(&net->lats[net->node_lat[d] - 1], r);
	if (net->p.tail_p > 0 && rng_double(r) < net->p.tail_p) {
		/* Pareto(alpha = 1.5): scale / U^(1/1.5). */
		double u = 1.0 - rng_double(r);
		double x = (double)net->p.tail_us / pow(u, 1.0 / 1.5);

		if (x > (double)SIM_TAIL_CAP_US)
			x = (double)SIM_TAIL_CAP_US;
		t += (uint64_t)x;
	}
	if (net->p.reorder_p > 0 && rng_double(r) < net->p.reorder_p)
		t += rng_below(r, net->p.reorder_us + 1);
	return t;
}

uint64_t
sim_net_stream_delay(const struct sim_net *net, uint32_t s, uint32_t d,
		     size_t len, struct rng *r)
{
	uint64_t t = sim_net_delay(net, s, d, r);
	double loss = sim_net_loss(net, s, d);

	if (net->p.bandwidth)
		t += (uint64_t)len * 1000000ull / net->p.bandwidth;
	if (loss > 0) {
		size_t segs = len / 1448 + 1;
		unsigned rtos = 0;

		for (size_t i = 0; i < segs && rtos < 16; i++)
			if (rng_double(r) < loss)
				rtos++;
		t += rtos * net->p.rto_us;
	}
	return t;
}

void
sim_net_partition(struct sim_net *net, const uint16_t *group, uint32_t n)
{
	memset(net->group, 0, net->cap * sizeof(*net->group));
	memcpy(net->group, group,
	       (n < net->cap ? n : net->cap) * sizeof(*net->group));
	net->partitioned = true;
}

int
sim_net_add_cut(struct sim_net *net, const uint64_t *a, const uint64_t *b,
		uint32_t cap, bool flap)
{
	struct sim_cut *cuts, *c;
	size_t words = sim_bit_words(cap);

	cuts = realloc(net->cuts, (net->ncuts + 1) * sizeof(*cuts));
	if (!cuts)
		return ERR_NOMEM;
	net->cuts = cuts;
	c = &cuts[net->ncuts];
	memset(c, 0, sizeof(*c));
	c->a = malloc(words * sizeof(uint64_t));
	c->b = malloc(words * sizeof(uint64_t));
	if (!c->a || !c->b) {
		free(c->a);
		free(c->b);
		return ERR_NOMEM;
	}
	memcpy(c->a, a, words * sizeof(uint64_t));
	memcpy(c->b, b, words * sizeof(uint64_t));
	c->cap = cap;
	c->active = true;
	c->flap = flap;
	return (int)net->ncuts++;
}

void
sim_net_set_flag(struct sim_net *net, uint32_t i, unsigned flag, bool on)
{
	if (on)
		net->flags[i] |= (uint8_t)flag;
	else
		net->flags[i] &= (uint8_t)~flag;
}

void
sim_net_set_node_loss(struct sim_net *net, uint32_t i, double loss)
{
	net->node_loss[i] = (float)loss;
}

int
sim_net_set_node_latency(struct sim_net *net, uint32_t i,
			 const struct sim_latency *l)
{
	struct sim_latency *lats;

	if (!l) {
		net->node_lat[i] = 0;
		return 0;
	}
	/* Reuse an identical distribution: a "latency on 0-999" line makes
	 * one entry, not a thousand. */
	for (uint32_t k = 0; k < net->nlats; k++) {
		if (net->lats[k].kind == l->kind &&
		    net->lats[k].a_us == l->a_us &&
		    net->lats[k].b_us == l->b_us) {
			net->node_lat[i] = k + 1;
			return 0;
		}
	}
	lats = realloc(net->lats, (net->nlats + 1) * sizeof(*lats));
	if (!lats)
		return ERR_NOMEM;
	net->lats = lats;
	lats[net->nlats++] = *l;
	net->node_lat[i] = net->nlats;
	return 0;
}

void
sim_net_heal(struct sim_net *net)
{
	for (uint32_t i = 0; i < net->ncuts; i++) {
		free(net->cuts[i].a);
		free(net->cuts[i].b);
	}
	free(net->cuts);
	net->cuts = NULL;
	net->ncuts = 0;
	net->epoch++;
	net->partitioned = false;
	memset(net->group, 0, net->cap * sizeof(*net->group));
	for (uint32_t i = 0; i < net->cap; i++)
		net->flags[i] = 0;
}
