/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sched_place_test.c — sched/place: stable placement.
 *
 * What is held here, for both the ring and rendezvous ranking:
 *   - the result depends on names only, not on the order of the input;
 *   - a node's death moves exactly the slots it held;
 *   - a join moves no more slots than the imbalance it created, at most
 *     rebalance_parallelism (minus moves in flight) per round, and the
 *     bands hold afterwards;
 *   - constraints and max-per-node always hold; the caps hold whenever
 *     constraints do not make them impossible (randomized: the seed is
 *     printed on failure);
 *   - scale down removes the highest slots; drain moves, pause keeps;
 *   - global mode runs one slot per eligible node;
 *   - a rejected slot moves off the node that rejected it, and a node
 *     avoided for a service takes none of its slots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/rng.h"
#include "sched/place.h"
#include "sched/spec.h"

#define MAXN 256
#define MAXS 16

struct world {
	size_t nn, ns;
	char names[MAXN][16];
	struct place_node nodes[MAXN];
	struct spec_tag tags[MAXN][1];
	char zone[MAXN][16];
	struct spec specs[MAXS];
	uint32_t slots[MAXS][SPEC_REPLICAS_MAX > 4096 ? 4096 : 4096];
	struct place_service svcs[MAXS];
	struct place_change out[1 << 16];
	size_t nout;
};

static struct world *
world_new(size_t nn, unsigned zones)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->nn = nn;
	for (size_t i = 0; i < nn; i++) {
		snprintf(w->names[i], sizeof(w->names[i]), "node-%03u",
			 (unsigned)(i % 1000));
		snprintf(w->zone[i], sizeof(w->zone[i]), "z%u",
			 zones ? (unsigned)(i % zones) : 0);
		w->tags[i][0].key = "zone";
		w->tags[i][0].value = w->zone[i];
		w->nodes[i].name = w->names[i];
		w->nodes[i].state = PLACE_UP;
		w->nodes[i].tags = w->tags[i];
		w->nodes[i].ntags = 1;
	}
	return w;
}

static void
world_free(struct world *w)
{
	for (size_t s = 0; s < w->ns; s++)
		spec_destroy(&w->specs[s]);
	free(w);
}

static size_t
add_service(struct world *w, const char *name, uint32_t replicas)
{
	size_t s = w->ns++;
	const char *argv[] = {"/bin/true"};
	char why[SPEC_WHY_MAX];

	spec_init(&w->specs[s]);
	assert_int_equal(spec_set_name(&w->specs[s], name, why, sizeof(why)),
			 0);
	assert_int_equal(spec_set_args(&w->specs[s], argv, 1, why, sizeof(why)),
			 0);
	w->specs[s].replicas = replicas;
	w->svcs[s].spec = &w->specs[s];
	w->svcs[s].slots = w->slots[s];
	w->svcs[s].cap = 4096;
	w->svcs[s].nslots = 0;
	return s;
}

static int
run(struct place *p, struct world *w, uint32_t inflight)
{
	return place_run(p, w->nodes, w->nn, w->svcs, w->ns, inflight, w->out,
			 sizeof(w->out) / sizeof(w->out[0]), &w->nout);
}

/* Rounds until nothing changes (at most 1000); returns all changes. */
static size_t
settle(struct place *p, struct world *w)
{
	size_t total = 0;

	for (int i = 0; i < 1000; i++) {
		assert_int_equal(run(p, w, 0), 0);
		total += w->nout;
		if (!w->nout)
			return total;
	}
	fail_msg("placement did not settle");
	return total;
}

static uint32_t
count_on(const struct world *w, size_t s, uint32_t n)
{
	uint32_t c = 0;

	for (uint32_t i = 0; i < w->svcs[s].nslots; i++)
		c += w->svcs[s].slots[i] == n;
	return c;
}

static uint32_t
load_of(const struct world *w, uint32_t n)
{
	uint32_t c = 0;

	for (size_t s = 0; s < w->ns; s++)
		if (w->specs[s].mode == SPEC_REPLICATED)
			c += count_on(w, s, n);
	return c;
}

static void
cfg_for(struct place_config *cfg, enum place_algo algo, uint32_t par)
{
	place_config_default(cfg);
	cfg->algo = algo;
	cfg->rebalance_parallelism = par;
}

/* Every slot placed; hard rules hold; per-service caps (svc_caps) and
 * the global cap (caps) hold on up nodes (paused and suspect nodes keep
 * what they had). */
static void
check_caps2(struct place *p, const struct world *w, bool svc_caps, bool caps,
	    unsigned long long seed)
{
	uint32_t up = 0;

	for (size_t n = 0; n < w->nn; n++)
		up += w->nodes[n].state == PLACE_UP;
	for (size_t s = 0; s < w->ns; s++) {
		const struct spec *sp = &w->specs[s];
		uint32_t e = 0;

		for (size_t n = 0; n < w->nn; n++)
			e += w->nodes[n].state == PLACE_UP &&
			     spec_match(sp, w->nodes[n].name, w->nodes[n].tags,
					w->nodes[n].ntags);
		for (uint32_t i = 0; i < w->svcs[s].nslots; i++) {
			uint32_t n = w->svcs[s].slots[i];

			if (n == PLACE_NONE)
				continue;
			if (!spec_match(sp, w->nodes[n].name, w->nodes[n].tags,
					w->nodes[n].ntags))
				fail_msg("seed %llu: %s slot %u on %s breaks "
					 "a constraint",
					 seed, sp->name, i, w->nodes[n].name);
			if (w->nodes[n].state > PLACE_SUSPECT)
				fail_msg("seed %llu: slot on a node that is "
					 "down or draining",
					 seed);
		}
		for (size_t n = 0; n < w->nn; n++) {
			uint32_t c = count_on(w, s, (uint32_t)n);

			if (sp->max_per_node && c > sp->max_per_node)
				fail_msg("seed %llu: %s has %u on %s, max %u",
					 seed, sp->name, c, w->nodes[n].name,
					 sp->max_per_node);
			if (svc_caps && e && sp->mode == SPEC_REPLICATED &&
			    w->nodes[n].state == PLACE_UP &&
			    c > (sp->replicas + e - 1) / e)
				fail_msg("seed %llu: %s has %u on %s, cap %u",
					 seed, sp->name, c, w->nodes[n].name,
					 (sp->replicas + e - 1) / e);
		}
		if (e && sp->mode == SPEC_REPLICATED &&
		    (!sp->max_per_node ||
		     (uint64_t)sp->max_per_node * e >= sp->replicas))
			for (uint32_t i = 0; i < sp->replicas; i++)
				if (w->svcs[s].slots[i] == PLACE_NONE)
					fail_msg("seed %llu: %s slot %u "
						 "unplaced",
						 seed, sp->name, i);
	}
	if (caps)
		for (size_t n = 0; n < w->nn; n++)
			if (w->nodes[n].state == PLACE_UP &&
			    load_of(w, (uint32_t)n) > p->stats.cap_global)
				fail_msg("seed %llu: %s load %u above the "
					 "global cap %u",
					 seed, w->nodes[n].name,
					 load_of(w, (uint32_t)n),
					 p->stats.cap_global);
}

static void
check_caps(struct place *p, const struct world *w, bool caps,
	   unsigned long long seed)
{
	check_caps2(p, w, caps, caps, seed);
}

/* Could the caps hold at all? Every replicated slot that is not kept on
 * a paused or suspect node must fit on the up nodes that match its
 * service, at most min(ceil(R / E), max per node) of a service and the
 * global cap in all on a node: a maximum flow (Edmonds-Karp) from the
 * services through the nodes they may use to a sink. */
static bool
caps_satisfiable(const struct world *w, uint32_t gcap)
{
	size_t nv = 2 + w->ns + w->nn, src = 0, sink = nv - 1;
	uint32_t *cap = calloc(nv * nv, sizeof(*cap));
	size_t *prev = malloc(nv * sizeof(*prev));
	size_t *queue = malloc(nv * sizeof(*queue));
	uint64_t need = 0, flow = 0;

	assert_non_null(cap);
	assert_non_null(prev);
	assert_non_null(queue);
	for (size_t s = 0; s < w->ns; s++) {
		const struct spec *sp = &w->specs[s];
		uint32_t e = 0, off = 0, hi;

		if (sp->mode != SPEC_REPLICATED)
			continue;
		for (size_t n = 0; n < w->nn; n++)
			e += w->nodes[n].state == PLACE_UP &&
			     spec_match(sp, w->nodes[n].name, w->nodes[n].tags,
					w->nodes[n].ntags);
		for (uint32_t i = 0; i < w->svcs[s].nslots; i++) {
			uint32_t n = w->svcs[s].slots[i];

			off += n != PLACE_NONE && w->nodes[n].state != PLACE_UP;
		}
		if (!e)
			continue;
		hi = (sp->replicas + e - 1) / e;
		if (sp->max_per_node && hi > sp->max_per_node)
			hi = sp->max_per_node;
		cap[src * nv + 1 + s] = sp->replicas - off;
		need += sp->replicas - off;
		for (size_t n = 0; n < w->nn; n++)
			if (w->nodes[n].state == PLACE_UP &&
			    spec_match(sp, w->nodes[n].name, w->nodes[n].tags,
				       w->nodes[n].ntags))
				cap[(1 + s) * nv + 1 + w->ns + n] = hi;
	}
	for (size_t n = 0; n < w->nn; n++)
		cap[(1 + w->ns + n) * nv + sink] = gcap;
	for (;;) {
		size_t head = 0, tail = 0;
		uint32_t push = UINT32_MAX;

		for (size_t v = 0; v < nv; v++)
			prev[v] = SIZE_MAX;
		prev[src] = src;
		queue[tail++] = src;
		while (head < tail && prev[sink] == SIZE_MAX) {
			size_t u = queue[head++];

			for (size_t v = 0; v < nv; v++)
				if (cap[u * nv + v] && prev[v] == SIZE_MAX) {
					prev[v] = u;
					queue[tail++] = v;
				}
		}
		if (prev[sink] == SIZE_MAX)
			break;
		for (size_t v = sink; v != src; v = prev[v])
			if (cap[prev[v] * nv + v] < push)
				push = cap[prev[v] * nv + v];
		for (size_t v = sink; v != src; v = prev[v]) {
			cap[prev[v] * nv + v] -= push;
			cap[v * nv + prev[v]] += push;
		}
		flow += push;
	}
	free(cap);
	free(prev);
	free(queue);
	return flow == need;
}

static void
test_fresh_placement_caps(void **state)
{
	for (int algo = 0; algo < 2; algo++) {
		struct world *w = world_new(10, 0);
		struct place p;
		struct place_config cfg;

		(void)state;
		cfg_for(&cfg, (enum place_algo)algo, 0);
		assert_int_equal(place_init(&p, &cfg), 0);
		add_service(w, "web", 25);
		add_service(w, "db", 3);
		add_service(w, "cache", 10);
		assert_int_equal(run(&p, w, 0), 0);
		assert_int_equal(w->nout, 38);
		for (size_t i = 0; i < w->nout; i++) {
			assert_int_equal(w->out[i].why, PLACE_WHY_NEW);
			assert_int_equal(w->out[i].from, PLACE_NONE);
		}
		check_caps(&p, w, true, 0);
		/* A second round changes nothing: the table is stable. */
		assert_int_equal(run(&p, w, 0), 0);
		assert_int_equal(w->nout, 0);
		place_destroy(&p);
		world_free(w);
	}
}

/* Same names in another order give the same node names per slot. */
static void
test_deterministic_any_order(void **state)
{
	(void)state;
	for (int algo = 0; algo < 2; algo++) {
		struct world *a = world_new(40, 3), *b = world_new(40, 3);
		struct place pa, pb;
		struct place_config cfg;
		struct rng r;
		uint32_t perm[40];

		cfg_for(&cfg, (enum place_algo)algo, 8);
		assert_int_equal(place_init(&pa, &cfg), 0);
		assert_int_equal(place_init(&pb, &cfg), 0);
		/* b holds the same nodes in a shuffled order. */
		for (uint32_t i = 0; i < 40; i++)
			perm[i] = i;
		rng_seed(&r, 7);
		rng_shuffle_u32(&r, perm, 40);
		for (uint32_t i = 0; i < 40; i++) {
			memcpy(b->names[i], a->names[perm[i]], 16);
			memcpy(b->zone[i], a->zone[perm[i]], 16);
			b->nodes[i].name = b->names[i];
			b->tags[i][0].value = b->zone[i];
		}
		/* Services in another order too. */
		add_service(a, "alpha", 30);
		add_service(a, "beta", 7);
		add_service(a, "gamma", 55);
		add_service(b, "gamma", 55);
		add_service(b, "alpha", 30);
		add_service(b, "beta", 7);
		spec_add_constraint(&a->specs[1], "node.zone!=z1", NULL, 0);
		spec_add_constraint(&b->specs[2], "node.zone!=z1", NULL, 0);
		a->nodes[5].state = PLACE_DOWN;
		for (uint32_t i = 0; i < 40; i++)
			if (perm[i] == 5)
				b->nodes[i].state = PLACE_DOWN;
		settle(&pa, a);
		settle(&pb, b);
		for (size_t s = 0; s < 3; s++) {
			size_t t = s == 0 ? 1 : s == 1 ? 2 : 0;

			assert_int_equal(a->svcs[s].nslots, b->svcs[t].nslots);
			for (uint32_t i = 0; i < a->svcs[s].nslots; i++)
				assert_string_equal(
					a->names[a->svcs[s].slots[i]],
					b->names[b->svcs[t].slots[i]]);
		}
		place_destroy(&pa);
		place_destroy(&pb);
		world_free(a);
		world_free(b);
	}
}

static void
test_death_moves_only_its_slots(void **state)
{
	(void)state;
	for (int algo = 0; algo < 2; algo++) {
		struct world *w = world_new(20, 0);
		struct place p;
		struct place_config cfg;
		uint32_t before[3][4096];
		uint32_t dead = 7, held = 0;

		cfg_for(&cfg, (enum place_algo)algo, 1000);
		assert_int_equal(place_init(&p, &cfg), 0);
		add_service(w, "a", 100);
		add_service(w, "b", 13);
		add_service(w, "c", 41);
		settle(&p, w);
		for (size_t s = 0; s < 3; s++) {
			memcpy(before[s], w->slots[s], sizeof(before[s]));
			held += count_on(w, s, dead);
		}
		assert_true(held > 0);
		w->nodes[dead].state = PLACE_DOWN;
		assert_int_equal(run(&p, w, 0), 0);
		assert_int_equal(w->nout, held);
		for (size_t i = 0; i < w->nout; i++) {
			assert_int_equal(w->out[i].from, dead);
			assert_int_equal(w->out[i].why, PLACE_WHY_DOWN);
			assert_int_not_equal(w->out[i].to, PLACE_NONE);
		}
		for (size_t s = 0; s < 3; s++)
			for (uint32_t i = 0; i < w->svcs[s].nslots; i++)
				if (before[s][i] != dead)
					assert_int_equal(w->slots[s][i],
							 before[s][i]);
		check_caps(&p, w, true, 0);
		/* And nothing more moves afterwards. */
		assert_int_equal(run(&p, w, 0), 0);
		assert_int_equal(w->nout, 0);
		place_destroy(&p);
		world_free(w);
	}
}

/* Distance of the whole table to the bands (what rebalancing removes). */
static uint64_t
imbalance(struct place *p, const struct world *w)
{
	uint64_t d = 0;
	uint32_t up = 0;
	uint64_t total = 0;

	for (size_t n = 0; n < w->nn; n++)
		up += w->nodes[n].state == PLACE_UP;
	for (size_t s = 0; s < w->ns; s++) {
		uint32_t R = w->specs[s].replicas, lo = R / up,
			 hi = (R + up - 1) / up;

		total += R;
		for (size_t n = 0; n < w->nn; n++) {
			uint32_t c = count_on(w, s, (uint32_t)n);

			if (w->nodes[n].state != PLACE_UP)
				continue;
			d += c > hi ? c - hi : c < lo ? lo - c : 0;
		}
	}
	(void)total;
	for (size_t n = 0; n < w->nn; n++) {
		uint32_t l = load_of(w, (uint32_t)n);

		if (w->nodes[n].state != PLACE_UP)
			continue;
		d += l > p->stats.cap_global	 ? l - p->stats.cap_global
		     : l < p->stats.floor_global ? p->stats.floor_global - l
						 : 0;
	}
	return d;
}

static void
test_join_moves_minimum(void **state)
{
	(void)state;
	for (int algo = 0; algo < 2; algo++) {
		struct world *w = world_new(21, 0);
		struct place p;
		struct place_config cfg;
		size_t moved;
		uint64_t need;
		uint32_t newcomer = 20;

		cfg_for(&cfg, (enum place_algo)algo, 100000);
		assert_int_equal(place_init(&p, &cfg), 0);
		add_service(w, "big", 400);
		add_service(w, "mid", 60);
		for (int i = 0; i < 12; i++) {
			char name[16];

			snprintf(name, sizeof(name), "small%d", i % 100);
			add_service(w, name, 5);
		}
		w->nodes[newcomer].state = PLACE_DOWN;
		settle(&p, w);
		assert_int_equal(count_on(w, 0, newcomer), 0);
		w->nodes[newcomer].state = PLACE_UP;
		/* One round computes the caps; measure the imbalance with
		 * them, then let rebalancing remove it. */
		assert_int_equal(run(&p, w, 100000), 0); /* budget 0 */
		assert_int_equal(w->nout, 0);
		need = imbalance(&p, w);
		assert_true(need > 0);
		moved = settle(&p, w);
		/* Each move removes at least one unit of imbalance. */
		assert_true(moved > 0);
		assert_true(moved <= need);
		assert_true(imbalance(&p, w) < need);
		assert_true(count_on(w, 0, newcomer) >= 400 / 21);
		/* Every move went to the newcomer or between up nodes, and
		 * all hard rules and caps hold. */
		check_caps(&p, w, true, 0);
		place_destroy(&p);
		world_free(w);
	}
}

static void
test_rebalance_parallelism(void **state)
{
	struct world *w = world_new(11, 0);
	struct place p;
	struct place_config cfg;
	size_t rounds = 0, total = 0;

	(void)state;
	cfg_for(&cfg, PLACE_RING, 3);
	assert_int_equal(place_init(&p, &cfg), 0);
	add_service(w, "svc", 200);
	w->nodes[10].state = PLACE_DOWN;
	settle(&p, w);
	w->nodes[10].state = PLACE_UP;
	/* Two moves still in flight: one more allowed. */
	assert_int_equal(run(&p, w, 2), 0);
	assert_int_equal(w->nout, 1);
	assert_int_equal(run(&p, w, 3), 0);
	assert_int_equal(w->nout, 0);
	for (;;) {
		assert_int_equal(run(&p, w, 0), 0);
		if (!w->nout)
			break;
		assert_true(w->nout <= 3);
		for (size_t i = 0; i < w->nout; i++) {
			assert_int_equal(w->out[i].why, PLACE_WHY_REBALANCE);
			assert_int_equal(w->out[i].to, 10);
		}
		total += w->nout;
		assert_true(++rounds < 100);
	}
	/* 200 / 11 = 18.2: the newcomer ends with floor or ceil. */
	assert_in_range(count_on(w, 0, 10), 18, 19);
	assert_int_equal(total + 1, count_on(w, 0, 10));
	place_destroy(&p);
	world_free(w);
}

static void
test_scale_down_removes_highest(void **state)
{
	struct world *w = world_new(5, 0);
	struct place p;
	uint32_t keep[10];

	(void)state;
	assert_int_equal(place_init(&p, NULL), 0);
	add_service(w, "svc", 10);
	settle(&p, w);
	memcpy(keep, w->slots[0], sizeof(keep));
	w->specs[0].replicas = 6;
	assert_int_equal(run(&p, w, 0), 0);
	assert_int_equal(w->svcs[0].nslots, 6);
	assert_true(w->nout >= 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(w->out[i].slot, 9 - i);
		assert_int_equal(w->out[i].to, PLACE_NONE);
		assert_int_equal(w->out[i].why, PLACE_WHY_SCALE_DOWN);
	}
	/* What follows is rebalancing (a node may have lost all it had). */
	for (size_t i = 4; i < w->nout; i++) {
		assert_int_equal(w->out[i].why, PLACE_WHY_REBALANCE);
		keep[w->out[i].slot] = w->out[i].to;
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(w->slots[0][i], keep[i]);
	/* Scale up again: only the new slots get nodes. */
	w->specs[0].replicas = 8;
	assert_int_equal(run(&p, w, 0), 0);
	assert_int_equal(w->svcs[0].nslots, 8);
	for (size_t i = 0; i < w->nout; i++)
		assert_true(w->out[i].slot >= 6 ||
			    w->out[i].why == PLACE_WHY_REBALANCE);
	place_destroy(&p);
	world_free(w);
}

static void
test_drain_pause_suspect(void **state)
{
	struct world *w = world_new(6, 0);
	struct place p;
	struct place_config cfg;
	uint32_t on2, on3;

	(void)state;
	cfg_for(&cfg, PLACE_RING, 0);
	assert_int_equal(place_init(&p, &cfg), 0);
	add_service(w, "svc", 12);
	settle(&p, w);
	on2 = count_on(w, 0, 2);
	on3 = count_on(w, 0, 3);
	assert_true(on2 > 0 && on3 > 0);
	w->nodes[2].state = PLACE_PAUSED;
	w->nodes[3].state = PLACE_SUSPECT;
	w->nodes[4].state = PLACE_DRAIN;
	assert_int_equal(run(&p, w, 0), 0);
	/* Paused and suspect keep theirs; the drained node's move. */
	assert_int_equal(count_on(w, 0, 2), on2);
	assert_int_equal(count_on(w, 0, 3), on3);
	assert_int_equal(count_on(w, 0, 4), 0);
	for (size_t i = 0; i < w->nout; i++) {
		assert_int_equal(w->out[i].why, PLACE_WHY_DRAIN);
		assert_true(w->out[i].to != 2 && w->out[i].to != 3);
	}
	/* Scaling up puts nothing on the paused or suspect node. */
	w->specs[0].replicas = 20;
	assert_int_equal(run(&p, w, 0), 0);
	assert_int_equal(count_on(w, 0, 2), on2);
	assert_int_equal(count_on(w, 0, 3), on3);
	place_destroy(&p);
	world_free(w);
}

static void
test_constraints_and_max_per_node(void **state)
{
	struct world *w = world_new(9, 3);
	struct place p;

	(void)state;
	assert_int_equal(place_init(&p, NULL), 0);
	add_service(w, "east", 7);
	assert_int_equal(
		spec_add_constraint(&w->specs[0], "node.zone==z0", NULL, 0), 0);
	w->specs[0].max_per_node = 2;
	settle(&p, w);
	/* 3 nodes in z0, at most 2 each: 6 placed, 1 unplaced. */
	assert_int_equal(w->svcs[0].unplaced, 1);
	check_caps(&p, w, false, 0);
	/* A node leaves the zone (its tag changes): its slots move. */
	memcpy(w->zone[3], "z9", 3);
	assert_int_equal(run(&p, w, 0), 0);
	assert_int_equal(count_on(w, 0, 3), 0);
	for (size_t i = 0; i < w->nout; i++)
		if (w->out[i].from == 3)
			assert_int_equal(w->out[i].why, PLACE_WHY_CONSTRAINT);
	check_caps(&p, w, false, 0);
	/* Lowering max_per_node moves the excess, highest slots first. */
	w->specs[0].max_per_node = 1;
	assert_int_equal(run(&p, w, 0), 0);
	for (size_t i = 0; i < w->nout; i++)
		if (w->out[i].from != PLACE_NONE)
			assert_int_equal(w->out[i].why, PLACE_WHY_MAX_PER_NODE);
	check_caps(&p, w, false, 0);
	/* No node matches at all: everything is unplaced, nothing breaks. */
	assert_int_equal(
		spec_add_constraint(&w->specs[0], "node.name==nope", NULL, 0),
		0);
	assert_int_equal(run(&p, w, 0), 0);
	assert_int_equal(w->svcs[0].unplaced, 7);
	place_destroy(&p);
	world_free(w);
}

static void
test_global_mode(void **state)
{
	struct world *w = world_new(8, 2);
	struct place p;
	size_t s;

	(void)state;
	assert_int_equal(place_init(&p, NULL), 0);
	s = add_service(w, "agent", 0);
	w->specs[s].mode = SPEC_GLOBAL;
	assert_int_equal(
		spec_add_constraint(&w->specs[s], "node.zone==z1", NULL, 0), 0);
	w->nodes[5].state = PLACE_DOWN;
	settle(&p, w);
	for (uint32_t n = 0; n < 8; n++)
		assert_int_equal(count_on(w, s, n),
				 (n % 2 == 1 && n != 5) ? 1 : 0);
	assert_int_equal(w->svcs[s].nslots, 3);
	/* A node comes up: it gets the lowest free slot; one dies: its slot
	 * is removed, not moved. */
	w->nodes[5].state = PLACE_UP;
	w->nodes[1].state = PLACE_DOWN;
	assert_int_equal(run(&p, w, 0), 0);
	assert_int_equal(count_on(w, s, 1), 0);
	assert_int_equal(count_on(w, s, 5), 1);
	for (size_t i = 0; i < w->nout; i++)
		assert_true(w->out[i].from == PLACE_NONE ||
			    w->out[i].to == PLACE_NONE);
	place_destroy(&p);
	world_free(w);
}

/* A node that rejected a task: the slot moves to another node, the node
 * takes no new slot of that service (not even by rebalancing) and keeps
 * the others; with nowhere else to go the slot stays. */
static void
test_rejected(void **state)
{
	for (int algo = 0; algo < 2; algo++) {
		struct world *w = world_new(5, 0);
		struct place p;
		struct place_config cfg;
		uint32_t bad, rej, avoid[5];
		size_t s;

		(void)state;
		cfg_for(&cfg, (enum place_algo)algo, 4);
		assert_int_equal(place_init(&p, &cfg), 0);
		s = add_service(w, "web", 10);
		settle(&p, w);
		rej = 3;
		bad = w->slots[s][rej];
		assert_int_equal(count_on(w, s, bad), 2);
		w->svcs[s].avoid = &bad;
		w->svcs[s].navoid = 1;
		w->svcs[s].rejected = &rej;
		w->svcs[s].nrejected = 1;
		assert_int_equal(run(&p, w, 0), 0);
		assert_int_equal(w->nout, 1);
		assert_int_equal(w->out[0].why, PLACE_WHY_REJECTED);
		assert_int_equal(w->out[0].slot, rej);
		assert_int_equal(w->out[0].from, bad);
		assert_int_not_equal(w->slots[s][rej], bad);
		/* It keeps its other slot; nothing comes back to it, not by
		 * rebalancing, not by a scale up. */
		w->svcs[s].nrejected = 0;
		assert_int_equal(settle(&p, w), 0);
		assert_int_equal(count_on(w, s, bad), 1);
		w->specs[s].replicas = 20;
		settle(&p, w);
		assert_int_equal(count_on(w, s, bad), 1);
		check_caps(&p, w, false, 0);
		/* Once it is no longer avoided, rebalancing fills it again. */
		w->svcs[s].navoid = 0;
		settle(&p, w);
		assert_int_equal(count_on(w, s, bad), 4);
		/* Every node rejected it: it stays where it is, placed. */
		rej = 0;
		for (uint32_t n = 0; n < 5; n++)
			avoid[n] = n;
		w->svcs[s].avoid = avoid;
		w->svcs[s].navoid = 5;
		w->svcs[s].rejected = &rej;
		w->svcs[s].nrejected = 1;
		bad = w->slots[s][0];
		assert_int_equal(run(&p, w, 0), 0);
		assert_int_equal(w->nout, 0);
		assert_int_equal(w->slots[s][0], bad);
		assert_int_equal(w->svcs[s].unplaced, 0);
		/* An avoided node that does not exist: refused. */
		avoid[0] = 7;
		assert_int_equal(run(&p, w, 0), ERR_INVAL);
		avoid[0] = 0;
		assert_int_equal(run(&p, w, 0), 0);
		place_destroy(&p);
		world_free(w);
	}
}

/* Random clusters, services, constraints and failures: the hard rules
 * always hold, and the caps hold whenever they can (constraints can make
 * the global cap impossible: a flow decides). */
static void
test_randomized(void **state)
{
	unsigned long long seed0 = 0x5eed;
	const char *env = getenv("SHOAL_TEST_SEED");
	unsigned nsat = 0, ncons_sat = 0;

	(void)state;
	if (env)
		seed0 = strtoull(env, NULL, 0);
	for (unsigned iter = 0; iter < 60; iter++) {
		unsigned long long seed = seed0 + iter;
		struct rng r;
		struct world *w;
		struct place p;
		struct place_config cfg;
		bool constrained, reb, sat;
		size_t nn;

		rng_seed(&r, seed);
		nn = 3 + rng_below(&r, 60);
		w = world_new(nn, 1 + (unsigned)rng_below(&r, 4));
		constrained = rng_below(&r, 2);
		cfg_for(&cfg, (enum place_algo)rng_below(&r, 2),
			(uint32_t)rng_below(&r, 50));
		cfg.vnodes = 1 + (uint32_t)rng_below(&r, 200);
		cfg.eps = (double)rng_below(&r, 60) / 100;
		cfg.choices = 1 + (uint32_t)rng_below(&r, 2);
		assert_int_equal(place_init(&p, &cfg), 0);
		for (unsigned s = 0, ns = 1 + (unsigned)rng_below(&r, 10);
		     s < ns; s++) {
			char name[16];
			size_t k;

			snprintf(name, sizeof(name), "svc%u", s % 100);
			k = add_service(w, name, (uint32_t)rng_below(&r, 300));
			if (constrained && rng_below(&r, 2))
				spec_add_constraint(&w->specs[k],
						    rng_below(&r, 2)
							    ? "node.zone!=z0"
							    : "node.zone==z1",
						    NULL, 0);
			if (constrained && rng_below(&r, 3) == 0)
				w->specs[k].max_per_node =
					1 + (uint32_t)rng_below(&r, 5);
			if (rng_below(&r, 8) == 0) {
				w->specs[k].mode = SPEC_GLOBAL;
				w->specs[k].replicas = 0;
			}
		}
		for (int step = 0; step < 6; step++) {
			settle(&p, w);
			/* Caps are restored by rebalancing, when it is on:
			 * per service always (R slots fit on E nodes at
			 * ceil(R / E) each), the global cap whenever
			 * constraints leave a way to meet it. */
			reb = cfg.rebalance_parallelism > 0;
			sat = reb && caps_satisfiable(w, p.stats.cap_global);
			nsat += sat;
			ncons_sat += sat && constrained;
			check_caps2(&p, w, reb, sat, seed);
			/* Fail, drain, pause or revive a few nodes. */
			for (int k = 0; k < 3; k++) {
				size_t n = rng_below(&r, nn);

				w->nodes[n].state =
					(enum place_node_state)rng_below(&r, 5);
			}
			if (rng_below(&r, 3) == 0)
				w->specs[rng_below(&r, w->ns)].replicas =
					(uint32_t)rng_below(&r, 300);
			for (size_t s = 0; s < w->ns; s++)
				if (w->specs[s].mode == SPEC_GLOBAL)
					w->specs[s].replicas = 0;
		}
		place_destroy(&p);
		world_free(w);
	}
	printf("randomized: caps checked in %u of 360 tables, %u of them "
	       "constrained\n",
	       nsat, ncons_sat);
}

static void
test_bad_input(void **state)
{
	struct world *w = world_new(3, 0);
	struct place p;
	struct place_config cfg;

	(void)state;
	place_config_default(&cfg);
	cfg.vnodes = 0;
	assert_int_equal(place_init(&p, &cfg), ERR_INVAL);
	assert_int_equal(place_init(&p, NULL), 0);
	add_service(w, "svc", 2);
	w->slots[0][0] = 3; /* no such node */
	w->svcs[0].nslots = 1;
	assert_int_equal(run(&p, w, 0), ERR_INVAL);
	w->slots[0][0] = PLACE_NONE;
	w->svcs[0].cap = 1; /* below replicas */
	assert_int_equal(run(&p, w, 0), ERR_RANGE);
	w->svcs[0].cap = 4096;
	/* out_cap is a rate limit: one change per round. */
	assert_int_equal(place_run(&p, w->nodes, w->nn, w->svcs, w->ns, 0,
				   w->out, 1, &w->nout),
			 0);
	assert_int_equal(w->nout, 1);
	assert_string_equal(place_why_name(PLACE_WHY_REBALANCE), "rebalance");
	place_destroy(&p);
	world_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_placement_caps),
		cmocka_unit_test(test_deterministic_any_order),
		cmocka_unit_test(test_death_moves_only_its_slots),
		cmocka_unit_test(test_join_moves_minimum),
		cmocka_unit_test(test_rebalance_parallelism),
		cmocka_unit_test(test_scale_down_removes_highest),
		cmocka_unit_test(test_drain_pause_suspect),
		cmocka_unit_test(test_constraints_and_max_per_node),
		cmocka_unit_test(test_global_mode),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_randomized),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
