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
 *   tags 0-9 zone=a              task start-delay 50ms
 *   at 5s service create web replicas 20 constraint node.zone==a
 *   at 60s crash manager         at 70s task-crash web.3 exit 1
 *   at 80s node drain 3-5        at 90s service update web env V=2
 *   at 95s force-leave 3-5 via 0
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
#include "sched/node.h"
#include "sched/spec.h"
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
	SIM_ITEM_MANAGER,   /* the nodes acting as manager when it runs */
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
	SIM_ACT_SCHED,	/* services, nodes, task faults: `sched` */
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

/* Scheduling actions (sim/sched.c runs them). */
enum sim_sched_op {
	SIM_SCHED_SVC_CREATE = 1, /* service create NAME OPTIONS */
	SIM_SCHED_SVC_UPDATE,	  /* service update NAME OPTIONS */
	SIM_SCHED_SVC_SCALE,	  /* service scale NAME N */
	SIM_SCHED_SVC_REMOVE,	  /* service remove NAME */
	SIM_SCHED_NODE_AVAIL,	  /* node drain|pause|active SET */
	SIM_SCHED_NODE_TAG,	  /* node tag SET K=V ... */
	SIM_SCHED_TASK_CRASH,	  /* task-crash SERVICE[.SLOT] [on SET] */
	SIM_SCHED_TASK_FAIL,	  /* task-fail-start SERVICE[.SLOT] [on SET] */
	SIM_SCHED_FORCE_LEAVE,	  /* force-leave SET [via NODE] */
};

/* Which spec options a service line gave (bits of sim_svc_opts.has). */
enum sim_svc_field {
	SIM_SVC_REPLICAS = 1 << 0,
	SIM_SVC_MODE = 1 << 1,
	SIM_SVC_MAX_PER_NODE = 1 << 2,
	SIM_SVC_RESTART = 1 << 3,
	SIM_SVC_RESTART_DELAY = 1 << 4,
	SIM_SVC_RESTART_ATTEMPTS = 1 << 5,
	SIM_SVC_RESTART_WINDOW = 1 << 6,
	SIM_SVC_UPDATE_PAR = 1 << 7,
	SIM_SVC_UPDATE_DELAY = 1 << 8,
	SIM_SVC_CMD = 1 << 9,
	SIM_SVC_CONSTRAINTS = 1 << 10, /* replace the constraints */
};

/* Spec options of a `service create/update` line. */
struct sim_svc_opts {
	uint32_t has; /* enum sim_svc_field bits */
	uint32_t replicas;
	uint32_t mode; /* enum spec_mode */
	uint32_t max_per_node;
	uint32_t restart_cond; /* enum spec_restart_cond */
	uint32_t restart_delay_ms, restart_attempts, restart_window_ms;
	uint32_t update_parallelism, update_delay_ms;
	char **args; /* `cmd a,b,c` */
	uint32_t nargs;
	char **env; /* `env K=V`, each added or replacing its key */
	uint32_t nenv;
	char **cons; /* `constraint node.k==v` (text form) */
	uint32_t ncons;
};

struct sim_sched_act {
	uint32_t op; /* enum sim_sched_op */
	char name[SPEC_NAME_MAX + 1];
	int64_t slot; /* task faults: the slot, -1 every slot */
	struct sim_svc_opts o;
	struct sim_set via; /* the node that takes a change (n == 0: the
			     * lowest running node) */
	uint32_t avail;	    /* enum state_avail */
	struct node_tag tags[NODE_TAGS_MAX];
	bool untag[NODE_TAGS_MAX]; /* `-KEY`: remove the tag */
	uint32_t ntags;
	int32_t exit_code; /* task-crash */
	uint32_t times;	   /* task-fail-start: starts that fail (0: for) */
	uint64_t for_us;   /* task-fail-start: starts fail for this long */
};

/* `tags SET K=V ...`: the tags nodes in SET start with. */
struct sim_tag_rule {
	struct sim_set set;
	struct node_tag tags[NODE_TAGS_MAX];
	uint32_t ntags;
	uint32_t line;
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
	struct sim_sched_act *sched; /* SIM_ACT_SCHED */
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

	/* scheduling */
	struct sim_tag_rule *tag_rules;
	uint32_t ntag_rules;
	struct sim_latency
		task_start; /* emulated start: TASK_START to running */
	struct sim_latency task_stop; /* emulated stop: TASK_STOP to gone */
	uint64_t overlap_ms; /* a move may run a slot twice this long */
};

/* Apply a service line's options to a spec (create: on a fresh one with
 * the name set; update: on a copy of the current one). 0 or a negative
 * error with a reason in why (the spec may then be half changed). */
int sim_svc_opts_apply(const struct sim_svc_opts *o, struct spec *sp, char *why,
		       size_t why_cap);

/* Defaults: 10 nodes, seed 1, 60 s, lan, crypto on, seed node-0, 10 ms
 * stagger, automatic sampling and grace, epoch 1.7e12 ms; tasks start in
 * 50 ms and stop in 10 ms; a move may run a slot twice for 5 s. */
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
