/* SPDX-License-Identifier: MIT */
/*
 * tests/bench/bench_sched.c — placement, measured.
 *
 *   build/bench/bench_sched [--json FILE] [--quick]
 *
 * On 1,000 nodes, 100,000 slots in three shapes (100 services x 1,000
 * replicas, 1,000 x 100, 10 x 10,000), for the ring (128 and 32 points per
 * node) and rendezvous (HRW) ranking:
 *
 *   1. fresh placement: one place_run() placing every slot; placements/s
 *      (median of several runs from empty tables);
 *   2. balance: peak / mean slots per node, per service (the worst
 *      service) and overall, with the caps; and the same for the bare
 *      hashing without caps (what the hash alone would give);
 *   3. a node dies: slots moved vs the minimum (the slots it held);
 *   4. a node joins (the 1,001st): slots moved, until rebalancing settles,
 *      vs T / (N + 1), and the rounds it takes at parallelism 4;
 *   5. an idle round (nothing to do): what a manager pays per check;
 *   6. gossip: the bytes of state deltas that record all the decisions.
 *
 * Benchmarks report; they do not pass or fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/intern.h"
#include "sched/place.h"
#include "sched/spec.h"
#include "sched/state.h"

#define NODES 1000
#define TOTAL 100000
#define RUNS  5

struct shape {
	const char *name;
	uint32_t services, replicas;
};

static const struct shape SHAPES[] = {
	{"100x1000", 100, 1000},
	{"1000x100", 1000, 100},
	{"10x10000", 10, 10000},
};

struct algo {
	const char *name;
	enum place_algo algo;
	uint32_t vnodes;
	double eps;
	uint32_t choices;
};

static const struct algo ALGOS[] = {
	{"ring-128", PLACE_RING, 128, 0.25, 1},
	{"hrw", PLACE_HRW, 0, 0.25, 1},
	{"hrw-x2", PLACE_HRW, 0, 0.10, 2},
	{"ring-32x2", PLACE_RING, 32, 0.10, 2},
	{"ring-64x2", PLACE_RING, 64, 0.10, 2},
	{"ring-128x2", PLACE_RING, 128, 0.10, 2},
	{"ring-64x2", PLACE_RING, 64, 0.05, 2},
};

struct world {
	uint32_t nn, ns;
	char (*names)[16];
	struct place_node *nodes;
	struct spec *specs;
	struct place_service *svcs;
	uint32_t *slots; /* ns * replicas */
	struct place_change *out;
	size_t out_cap, nout;
};

struct result {
	const char *shape, *algo;
	double eps;
	double place_per_s, place_ms;
	double svc_peak, overall_peak, overall_min; /* with caps, / mean */
	double raw_svc_peak, raw_overall_peak;	    /* bare hashing */
	uint64_t relaxed;
	size_t settle_moves; /* rebalancing right after placement */
	size_t death_moved, death_min;
	double death_ms;
	size_t join_moved, join_rounds;
	double join_ideal, join_ms;
	uint32_t join_new_load;
	double idle_ms;
	size_t delta_bytes, deltas;
	double slot_record_bytes;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void *
xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p) {
		fprintf(stderr, "bench_sched: out of memory\n");
		exit(1);
	}
	return p;
}

/* nn nodes (the last one down when spare), ns services of R replicas. */
static struct world *
world_new(uint32_t nn, const struct shape *sh, bool spare)
{
	struct world *w = xcalloc(1, sizeof(*w));
	const char *argv[] = {"/bin/true"};

	w->nn = nn + (spare ? 1 : 0);
	w->ns = sh->services;
	w->names = xcalloc(w->nn, sizeof(*w->names));
	w->nodes = xcalloc(w->nn, sizeof(*w->nodes));
	for (uint32_t i = 0; i < w->nn; i++) {
		snprintf(w->names[i], sizeof(w->names[i]), "node-%04u", i);
		w->nodes[i].name = w->names[i];
		w->nodes[i].state = PLACE_UP;
	}
	if (spare)
		w->nodes[nn].state = PLACE_DOWN;
	w->specs = xcalloc(w->ns, sizeof(*w->specs));
	w->svcs = xcalloc(w->ns, sizeof(*w->svcs));
	w->slots = xcalloc((size_t)w->ns * sh->replicas, sizeof(*w->slots));
	for (uint32_t s = 0; s < w->ns; s++) {
		char name[32];

		snprintf(name, sizeof(name), "svc-%04u", s);
		spec_init(&w->specs[s]);
		spec_set_name(&w->specs[s], name, NULL, 0);
		spec_set_args(&w->specs[s], argv, 1, NULL, 0);
		w->specs[s].replicas = sh->replicas;
		w->svcs[s].spec = &w->specs[s];
		w->svcs[s].slots = w->slots + (size_t)s * sh->replicas;
		w->svcs[s].cap = sh->replicas;
	}
	w->out_cap = (size_t)w->ns * sh->replicas + w->nn;
	w->out = xcalloc(w->out_cap, sizeof(*w->out));
	return w;
}

static void
world_reset(struct world *w)
{
	for (uint32_t s = 0; s < w->ns; s++)
		w->svcs[s].nslots = 0;
}

static void
world_free(struct world *w)
{
	for (uint32_t s = 0; s < w->ns; s++)
		spec_destroy(&w->specs[s]);
	free(w->names);
	free(w->nodes);
	free(w->specs);
	free(w->svcs);
	free(w->slots);
	free(w->out);
	free(w);
}

static int
run(struct place *p, struct world *w, uint32_t inflight)
{
	return place_run(p, w->nodes, w->nn, w->svcs, w->ns, inflight, w->out,
			 w->out_cap, &w->nout);
}

/* Per service: the most slots on one node over the cap ceil(R / N) (the
 * worst service); overall: peak and minimum over the mean (up nodes). */
static void
loads(const struct world *w, double *svc_peak, double *peak, double *min)
{
	uint32_t *cnt = xcalloc(w->nn, sizeof(*cnt));
	uint32_t *load = xcalloc(w->nn, sizeof(*load));
	uint32_t up = 0, lo = UINT32_MAX, hi = 0;
	uint64_t total = 0;

	for (uint32_t n = 0; n < w->nn; n++)
		up += w->nodes[n].state == PLACE_UP;
	*svc_peak = 0;
	for (uint32_t s = 0; s < w->ns; s++) {
		uint32_t m = 0;

		memset(cnt, 0, w->nn * sizeof(*cnt));
		for (uint32_t i = 0; i < w->svcs[s].nslots; i++) {
			uint32_t n = w->svcs[s].slots[i];

			if (n == PLACE_NONE)
				continue;
			cnt[n]++;
			load[n]++;
			total++;
			if (cnt[n] > m)
				m = cnt[n];
		}
		{
			double cap = (w->specs[s].replicas + up - 1) / up;

			if (m / cap > *svc_peak)
				*svc_peak = m / cap;
		}
	}
	for (uint32_t n = 0; n < w->nn; n++) {
		if (w->nodes[n].state != PLACE_UP)
			continue;
		if (load[n] > hi)
			hi = load[n];
		if (load[n] < lo)
			lo = load[n];
	}
	*peak = hi / ((double)total / up);
	*min = lo / ((double)total / up);
	free(cnt);
	free(load);
}

/* Bare hashing: where each slot would go with no caps at all, with the
 * same constructions as place.c (XXH3 of names, of (service, slot), ring
 * points per node / highest score). */
struct rpt {
	uint64_t h;
	uint32_t n;
};

static int
rpt_cmp(const void *a, const void *b)
{
	const struct rpt *x = a, *y = b;

	return x->h < y->h ? -1 : x->h > y->h;
}

static void
raw_balance(struct world *w, const struct algo *al, double *svc_peak,
	    double *peak)
{
	uint32_t nn = w->nn, V = al->vnodes ? al->vnodes : 1;
	uint64_t *nh = xcalloc(nn, sizeof(*nh));
	struct rpt *ring = NULL;
	size_t nr = (size_t)nn * V;
	double dummy;

	for (uint32_t n = 0; n < nn; n++)
		nh[n] = hash_str(w->names[n], 1);
	if (al->algo == PLACE_RING) {
		ring = xcalloc(nr, sizeof(*ring));
		for (uint32_t n = 0, k = 0; n < nn; n++)
			for (uint32_t v = 0; v < V; v++, k++) {
				ring[k].h = hash_u64(v, nh[n]);
				ring[k].n = n;
			}
		qsort(ring, nr, sizeof(*ring), rpt_cmp);
	}
	for (uint32_t s = 0; s < w->ns; s++) {
		uint64_t sh = hash_str(w->specs[s].name, 2);

		w->svcs[s].nslots = w->specs[s].replicas;
		for (uint32_t i = 0; i < w->svcs[s].nslots; i++) {
			uint64_t key = hash_combine(sh, i);
			uint32_t best = 0;

			if (ring) {
				size_t lo = 0, hi = nr;

				while (lo < hi) {
					size_t mid = (lo + hi) / 2;

					if (ring[mid].h < key)
						lo = mid + 1;
					else
						hi = mid;
				}
				best = ring[lo == nr ? 0 : lo].n;
			} else {
				uint64_t bs = 0;

				for (uint32_t n = 0; n < nn; n++) {
					uint64_t sc = hash_combine(key, nh[n]);

					if (n == 0 || sc > bs) {
						bs = sc;
						best = n;
					}
				}
			}
			w->svcs[s].slots[i] = best;
		}
	}
	loads(w, svc_peak, peak, &dummy);
	world_reset(w);
	free(ring);
	free(nh);
}

/* The gossip that records a full table: every slot decision through
 * state_slot_set(), drained as delta messages. */
static void
gossip_cost(const struct world *w, size_t *bytes, size_t *deltas)
{
	struct intern pool;
	struct state_config cfg = {.self = "node-0000",
				   .outbox_max = 64u << 20};
	struct state *st;
	struct buf b;
	int err;

	intern_init(&pool);
	st = state_new(&cfg, &pool, &err);
	buf_init(&b, 1 << 16);
	for (uint32_t s = 0; s < w->ns; s++)
		state_service_create(st, 1, &w->specs[s], NULL, 0);
	while (state_pop_delta(st, &b))
		;
	*bytes = 0;
	*deltas = 0;
	for (uint32_t s = 0; s < w->ns; s++) {
		for (uint32_t i = 0; i < w->svcs[s].nslots; i++)
			state_slot_set(st, 2, 1, w->specs[s].name, i,
				       w->names[w->svcs[s].slots[i]], 0);
		while (state_pop_delta(st, &b)) {
			*bytes += b.len;
			(*deltas)++;
		}
	}
	while (state_pop_delta(st, &b)) {
		*bytes += b.len;
		(*deltas)++;
	}
	buf_release(&b);
	state_delete(st);
	intern_destroy(&pool);
}

static void
bench_one(const struct shape *sh, const struct algo *al, int runs,
	  struct result *res)
{
	struct world *w = world_new(NODES, sh, true);
	struct place_config cfg;
	struct place p;
	double t[RUNS], t0, dummy;
	uint32_t *saved;
	uint32_t victim = 0;
	size_t total = (size_t)sh->services * sh->replicas;

	memset(res, 0, sizeof(*res));
	res->shape = sh->name;
	res->algo = al->name;
	res->eps = al->eps;
	place_config_default(&cfg);
	cfg.algo = al->algo;
	cfg.eps = al->eps;
	cfg.choices = al->choices;
	if (al->vnodes)
		cfg.vnodes = al->vnodes;
	cfg.rebalance_parallelism = 0;

	/* 1. fresh placement */
	for (int r = 0; r < runs; r++) {
		place_init(&p, &cfg);
		world_reset(w);
		t0 = now_ms();
		run(&p, w, 0);
		t[r] = now_ms() - t0;
		if (r + 1 < runs)
			place_destroy(&p);
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp_double);
	res->place_ms = t[runs / 2];
	res->place_per_s = (double)w->nout / (res->place_ms / 1e3);
	res->relaxed = p.stats.relaxed;
	if (w->nout != total)
		fprintf(stderr, "bench_sched: placed %zu of %zu\n", w->nout,
			total);
	loads(w, &res->svc_peak, &res->overall_peak, &res->overall_min);

	/* Rebalancing right after a fresh placement (what the caps left). */
	p.cfg.rebalance_parallelism = UINT32_MAX;
	for (int i = 0; i < 10000; i++) {
		run(&p, w, 0);
		res->settle_moves += w->nout;
		if (!w->nout)
			break;
	}
	saved = xcalloc(total, sizeof(*saved));
	memcpy(saved, w->slots, total * sizeof(*saved));

	/* 5. an idle round (median) */
	for (int r = 0; r < RUNS; r++) {
		t0 = now_ms();
		run(&p, w, 0);
		t[r] = now_ms() - t0;
	}
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	res->idle_ms = t[RUNS / 2];

	/* 3. a node dies: the busiest one */
	{
		uint32_t *load = xcalloc(w->nn, sizeof(*load));

		for (size_t i = 0; i < total; i++)
			load[w->slots[i]]++;
		for (uint32_t n = 0; n < w->nn; n++)
			if (load[n] > load[victim])
				victim = n;
		res->death_min = load[victim];
		free(load);
	}
	w->nodes[victim].state = PLACE_DOWN;
	t0 = now_ms();
	run(&p, w, 0);
	res->death_ms = now_ms() - t0;
	res->death_moved = w->nout;
	w->nodes[victim].state = PLACE_UP;
	memcpy(w->slots, saved, total * sizeof(*saved));

	/* 4. a node joins: until settled, then at parallelism 4 */
	w->nodes[NODES].state = PLACE_UP;
	res->join_ideal = (double)total / (NODES + 1);
	t0 = now_ms();
	for (int i = 0; i < 100000; i++) {
		run(&p, w, 0);
		res->join_moved += w->nout;
		if (!w->nout)
			break;
	}
	res->join_ms = now_ms() - t0;
	for (size_t i = 0; i < total; i++)
		res->join_new_load += w->slots[i] == NODES;
	memcpy(w->slots, saved, total * sizeof(*saved));
	p.cfg.rebalance_parallelism = 4;
	for (int i = 0; i < 100000; i++) {
		run(&p, w, 0);
		if (!w->nout)
			break;
		res->join_rounds++;
	}
	w->nodes[NODES].state = PLACE_DOWN;
	memcpy(w->slots, saved, total * sizeof(*saved));

	/* 6. gossip of the whole table */
	gossip_cost(w, &res->delta_bytes, &res->deltas);
	res->slot_record_bytes = (double)res->delta_bytes / total;

	/* 2b. bare hashing */
	place_destroy(&p);
	raw_balance(w, al, &res->raw_svc_peak, &res->raw_overall_peak);
	(void)dummy;
	free(saved);
	world_free(w);
}

int
main(int argc, char **argv)
{
	const char *json = NULL;
	int quick = 0;
	size_t nres = 0;
	struct result res[sizeof(SHAPES) / sizeof(SHAPES[0]) * sizeof(ALGOS) /
			  sizeof(ALGOS[0])];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
			json = argv[++i];
		} else if (strcmp(argv[i], "--quick") == 0) {
			quick = 1;
		} else {
			fprintf(stderr,
				"usage: bench_sched [--json FILE] [--quick]\n");
			return 2;
		}
	}
	for (size_t s = 0; s < sizeof(SHAPES) / sizeof(SHAPES[0]); s++)
		for (size_t a = 0; a < sizeof(ALGOS) / sizeof(ALGOS[0]); a++) {
			if (quick && (s > 0 || (a != 0 && a != 4)))
				continue;
			bench_one(&SHAPES[s], &ALGOS[a], quick ? 1 : RUNS,
				  &res[nres++]);
		}

	printf("placement: %d nodes, %d slots (ranking/eps; median of %d "
	       "runs)\n",
	       NODES, TOTAL, quick ? 1 : RUNS);
	printf("%-9s %-13s %10s %6s | %8s %8s %7s %6s | %7s %7s | %6s "
	       "%5s | %5s %6s %6s | %7s\n",
	       "shape", "ranking", "placed/s", "ms", "svc-peak", "all-peak",
	       "all-min", "settle", "raw-svc", "raw-all", "death", "min",
	       "join", "ideal", "rounds", "idle-ms");
	for (size_t i = 0; i < nres; i++) {
		const struct result *r = &res[i];

		char label[32];

		snprintf(label, sizeof(label), "%s/%.2f", r->algo, r->eps);
		printf("%-9s %-13s %10.0f %6.1f | %8.2f %8.2f %7.2f %6zu | "
		       "%7.2f %7.2f | %6zu %5zu | %5zu %6.1f %6zu | %7.2f\n",
		       r->shape, label, r->place_per_s, r->place_ms,
		       r->svc_peak, r->overall_peak, r->overall_min,
		       r->settle_moves, r->raw_svc_peak, r->raw_overall_peak,
		       r->death_moved, r->death_min, r->join_moved,
		       r->join_ideal, r->join_rounds, r->idle_ms);
	}
	printf("\nsvc-peak: most slots of one service on a node over "
	       "ceil(R / N); all-peak / all-min: most / fewest slots on a "
	       "node over the mean, after placement;\nsettle: rebalancing "
	       "moves right after a fresh placement; raw-*: the same peaks "
	       "for bare hashing without caps;\ndeath: slots moved when the "
	       "busiest node dies "
	       "(min: the slots it held);\njoin: slots moved until "
	       "rebalancing settles when a 1,001st node joins (ideal: T / "
	       "(N + 1)); rounds: at parallelism 4.\n");
	for (size_t i = 0; i < nres; i++)
		if (res[i].delta_bytes) {
			printf("gossip of the whole table: %zu deltas, %.1f MB "
			       "(%.1f B per slot decision); settle moves after "
			       "placement (%s %s): %zu; soft caps relaxed: "
			       "%llu\n",
			       res[i].deltas, res[i].delta_bytes / 1e6,
			       res[i].slot_record_bytes, res[i].shape,
			       res[i].algo, res[i].settle_moves,
			       (unsigned long long)res[i].relaxed);
			break;
		}

	if (json) {
		FILE *out = fopen(json, "w");

		if (!out) {
			perror(json);
			return 1;
		}
		fprintf(out,
			"{\"nodes\": %d, \"slots\": %d, "
			"\"results\": [",
			NODES, TOTAL);
		for (size_t i = 0; i < nres; i++) {
			const struct result *r = &res[i];

			fprintf(out,
				"%s\n  {\"shape\": \"%s\", \"ranking\": "
				"\"%s\", \"eps\": %.2f, "
				"\"placements_per_s\": %.0f, "
				"\"place_ms\": %.2f, \"svc_peak_over_mean\": "
				"%.3f, \"peak_over_mean\": %.3f, "
				"\"min_over_mean\": %.3f, "
				"\"raw_svc_peak_over_mean\": %.3f, "
				"\"raw_peak_over_mean\": %.3f, "
				"\"relaxed\": %llu, \"settle_moves\": %zu, "
				"\"death_moved\": %zu, \"death_min\": %zu, "
				"\"death_ms\": %.2f, \"join_moved\": %zu, "
				"\"join_ideal\": %.1f, \"join_new_load\": %u, "
				"\"join_rounds_par4\": %zu, \"join_ms\": "
				"%.2f, \"idle_round_ms\": %.2f, "
				"\"table_delta_bytes\": %zu, "
				"\"table_deltas\": %zu}",
				i ? "," : "", r->shape, r->algo, r->eps,
				r->place_per_s, r->place_ms, r->svc_peak,
				r->overall_peak, r->overall_min,
				r->raw_svc_peak, r->raw_overall_peak,
				(unsigned long long)r->relaxed, r->settle_moves,
				r->death_moved, r->death_min, r->death_ms,
				r->join_moved, r->join_ideal, r->join_new_load,
				r->join_rounds, r->join_ms, r->idle_ms,
				r->delta_bytes, r->deltas);
		}
		fprintf(out, "\n]}\n");
		fclose(out);
	}
	return 0;
}
