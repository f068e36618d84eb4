/* SPDX-License-Identifier: MIT */
/*
 * sim/scenario.h — the scenario language: what to simulate, what to break
 * and when, and what must hold.
 *
 * A scenario is a text file of lines; `#` starts a comment. Settings come
 * first in practice (their position does not matter), then timed actions
 * `at TIME ACTION ...`, then expectations. The full grammar, with every
 * action and metric, is in docs/SIMULATOR.md; in short:
 *
 *   nodes 100                    seed 42            duration 120s
 *   profile lan                  set probe_interval 500ms
 *   crypto off                   seeds 0,1,2        bootstrap stagger 20ms
 *   net loss 1%                  net latency uniform 1ms 5ms
 *   at 30s crash node-7          at 40s partition 0-49 | 50-99
 *   at 90s heal                  at 95s expect digests == 1
 *   expect dead_everywhere_p99 < 15s
 *
 * Parsing checks everything it can (unknown words, bad numbers, node
 * indices that can never exist, unknown metrics) and reports the first
 * problem as "FILE:LINE: message". Random node choices ("10%",
 * "random:3") are resolved when the action runs, from the fault stream.
 *
 * Ownership: a struct sim_scenario owns its actions, sets and expectations;
 * sim_scenario_release() frees them. The engine only reads it.
 */
#ifndef SHOAL_SIM_SCENARIO_H
#define SHOAL_SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/profile.h"
#include "sim/net.h"

#define SIM_SEEDS_MAX 8
#define SIM_WHY_MAX   256

/* One item of a node set. */
enum sim_item_kind {
	SIM_ITEM_RANGE = 0, /* indices lo..hi */
	SIM_ITEM_PERCENT,   /* frac of the running non-seed nodes, at random */
	SIM_ITEM_RANDOM,    /* lo running non-seed nodes, at random */
	SIM_ITEM_ALL,	    /* every node that exists */
	SIM_ITEM_REST,	    /* partition: every node not in another group */
};

struct sim_item {
	uint32_t kind;
	uint32_t lo, hi;
	double frac;
};

struct sim_set {
	struct sim_item *items;
	uint32_t n;
};

enum sim_act_kind {
	SIM_ACT_CRASH = 1,
	SIM_ACT_RESTART,
	SIM_ACT_LEAVE,
	SIM_ACT_JOIN,  /* count new nodes, spread over d1 */
	SIM_ACT_PAUSE, /* set, for d1 (0: until resume) */
	SIM_ACT_RESUME,
	SIM_ACT_SLOW,	   /* set, by d1 (0: back to normal), for d2 */
	SIM_ACT_CLOCK,	   /* set, step i1 us, drift i2 ppm (has_drift) */
	SIM_ACT_PARTITION, /* sets = groups, bridge in `bridge` (n may be 0) */
	SIM_ACT_CUT,	   /* sets[0] -> sets[1] */
	SIM_ACT_ISOLATE,
	SIM_ACT_FLAP, /* sets[0] <-> sets[1], every d1, for d2 */
	SIM_ACT_HEAL,
	SIM_ACT_NET,	/* net change (on set when nsets) */
	SIM_ACT_CHURN,	/* every d1 for d2; flag: crash instead of leave */
	SIM_ACT_EXPECT, /* expects[expect] */
};

/* A change to the network: which knob, and its new value. */
enum sim_net_field {
	SIM_NETF_LATENCY = 1,
	SIM_NETF_TAIL,
	SIM_NETF_LOSS,
	SIM_NETF_DUP,
	SIM_NETF_REORDER,
	SIM_NETF_SPREAD,
	SIM_NETF_BANDWIDTH,
};

struct sim_net_change {
	uint32_t field; /* enum sim_net_field */
	struct sim_latency lat;
	double p;
	uint64_t us;
	uint64_t val;
};

struct sim_action {
	uint64_t t_us;
	uint32_t line;
	uint32_t kind; /* enum sim_act_kind */
	struct sim_set *sets;
	uint32_t nsets;
	struct sim_set bridge;
	uint64_t d1_us, d2_us;
	int64_t i1, i2;
	bool has_drift;
	bool flag;
	uint32_t count;
	struct sim_net_change net;
	uint32_t expect;
};

enum sim_op {
	SIM_OP_LT = 1,
	SIM_OP_LE,
	SIM_OP_GT,
	SIM_OP_GE,
	SIM_OP_EQ,
	SIM_OP_NE
};

struct sim_expect {
	int metric;	/* enum sim_metric */
	uint32_t op;	/* enum sim_op */
	double value;	/* in the metric's base unit (ms for times) */
	uint64_t at_us; /* UINT64_MAX: at the end of the run */
	uint32_t line;
	char text[160];
};

struct sim_override {
	char key[48];
	char value[48];
	uint32_t line;
};

struct sim_scenario {
	char file[256];	 /* for messages; "" when built in memory */
	char title[128]; /* first comment line, if any */

	uint32_t nodes;
	uint64_t seed;
	uint64_t duration_ms;
	char profile[16];
	struct sim_override *overrides;
	uint32_t noverrides;
	struct profile prof; /* built by sim_scenario_finalize() */
	bool crypto;
	struct sim_net_params net;
	uint32_t seeds[SIM_SEEDS_MAX];
	uint32_t nseeds;
	uint64_t stagger_us; /* between the starts of the first nodes */
	bool warm;	     /* warm start (see docs/SIMULATOR.md) */
	uint64_t sample_ms;  /* 0: automatic */
	uint64_t grace_ms;   /* 0: automatic */
	uint64_t measure_ms; /* UINT64_MAX: from the end of bootstrap */
	uint64_t epoch_ms;   /* what node clocks read at t = 0 */

	struct sim_action *acts;
	uint32_t nacts;
	struct sim_expect *expects;
	uint32_t nexpects;
};

/* Defaults: 10 nodes, seed 1, 60 s, lan, crypto on, seed node-0, 10 ms
 * stagger, automatic sampling and grace, epoch 1.7e12 ms. */
void sim_scenario_init(struct sim_scenario *sc);
void sim_scenario_release(struct sim_scenario *sc);

/* Parse one line (without its newline). where names it in messages
 * ("file.scn", "-e"). 0 or ERR_INVAL with "where:line: reason" in why. */
int sim_scenario_parse_line(struct sim_scenario *sc, const char *line,
			    const char *where, uint32_t lineno, char *why,
			    size_t why_cap);

/* Parse a whole file. 0, ERR_IO (cannot read) or ERR_INVAL, with why. */
int sim_scenario_parse_file(struct sim_scenario *sc, const char *path,
			    char *why, size_t why_cap);

/* Parse several lines from memory (tests, generated scenarios). Lines are
 * numbered from 1. Same returns as sim_scenario_parse_line(). */
int sim_scenario_parse_text(struct sim_scenario *sc, const char *text,
			    const char *where, char *why, size_t why_cap);

/* After every line (and command-line override) is in: build the profile,
 * sort the actions by time (stable), check node indices. 0 or ERR_INVAL
 * with why. */
int sim_scenario_finalize(struct sim_scenario *sc, char *why, size_t why_cap);

/* Apply a network change to a parameter block (settings and timed `net`
 * lines share it). */
void sim_net_apply(struct sim_net_params *np, const struct sim_net_change *c);

/* Parse helpers shared with the command line. 0 or ERR_INVAL. */
int sim_parse_percent(const char *s, double *frac);
int sim_parse_time_us(const char *s, uint64_t *us);

#endif
