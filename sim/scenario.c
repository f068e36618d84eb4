/* SPDX-License-Identifier: MIT */
/*
 * sim/scenario.c — the scenario language's parser.
 *
 * One line at a time, split on blanks after `#` comments are cut. The first
 * word picks a handler; every handler consumes its words exactly and
 * complains about leftovers, so a typo never silently means something else.
 * Errors carry "where:line:" and stop the parse (one error is enough to
 * fix, and later lines might only be confused by it).
 *
 * Times are microseconds everywhere inside the simulator (latencies need
 * better than a millisecond); profile knobs go through profile_set(), so
 * the scenario accepts exactly the names and units the agent does.
 *
 * Invariant after sim_scenario_finalize(): actions are sorted by time, and
 * actions at the same time keep their order in the file; every explicit
 * node index names a node that will exist (unless churn makes that
 * unknowable); `prof` is the profile with every override applied.
 */
#include "sim/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "sim/metrics.h"
#include "sim/sim.h"

#define TOKENS_MAX   96
#define LINE_MAX_LEN 2048

void
sim_scenario_init(struct sim_scenario *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->nodes = 10;
	sc->seed = 1;
	sc->duration_ms = 60000;
	strcpy(sc->profile, "lan");
	sc->crypto = true;
	sim_net_params_default(&sc->net);
	sc->nseeds = 1;
	sc->seeds[0] = 0;
	sc->stagger_us = 10000;
	sc->measure_ms = UINT64_MAX;
	sc->epoch_ms = 1700000000000ull;
	profile_lan(&sc->prof);
	sc->task_start.kind = SIM_LAT_CONST;
	sc->task_start.a_us = 50000;
	sc->task_stop.kind = SIM_LAT_CONST;
	sc->task_stop.a_us = 10000;
	sc->overlap_ms = 5000;
}

static void
set_release(struct sim_set *s)
{
	free(s->items);
	s->items = NULL;
	s->n = 0;
}

static void
strv_free(char **v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
sched_act_free(struct sim_sched_act *x)
{
	if (!x)
		return;
	strv_free(x->o.args, x->o.nargs);
	strv_free(x->o.env, x->o.nenv);
	strv_free(x->o.cons, x->o.ncons);
	set_release(&x->via);
	free(x);
}

void
sim_scenario_release(struct sim_scenario *sc)
{
	for (uint32_t i = 0; i < sc->nacts; i++) {
		for (uint32_t k = 0; k < sc->acts[i].nsets; k++)
			set_release(&sc->acts[i].sets[k]);
		free(sc->acts[i].sets);
		set_release(&sc->acts[i].bridge);
		sched_act_free(sc->acts[i].sched);
	}
	for (uint32_t i = 0; i < sc->ntag_rules; i++)
		set_release(&sc->tag_rules[i].set);
	free(sc->tag_rules);
	free(sc->acts);
	free(sc->expects);
	free(sc->overrides);
	memset(sc, 0, sizeof(*sc));
}

/* ---- small parsers ------------------------------------------------------ */

int
sim_parse_time_us(const char *s, uint64_t *us)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{"us", 1},   {"ms", 1e3},   {"", 1e3},	    {"s", 1e6},
		{"m", 60e6}, {"h", 3600e6}, {"d", 86400e6},
	};
	char *end;
	double v;

	if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.'))
		return ERR_INVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return ERR_INVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			v *= units[i].mult;
			if (v > 1e18)
				return ERR_RANGE;
			*us = (uint64_t)llround(v);
			return 0;
		}
	}
	return ERR_INVAL;
}

int
sim_parse_percent(const char *s, double *frac)
{
	char *end;
	double v;

	if (!s || !*s)
		return ERR_INVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return ERR_INVAL;
	if (strcmp(end, "%") == 0)
		v /= 100.0;
	else if (*end)
		return ERR_INVAL;
	if (v > 1.0)
		return ERR_RANGE;
	*frac = v;
	return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return ERR_INVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return ERR_INVAL;
	*out = v;
	return 0;
}

/* ---- parse state -------------------------------------------------------- */

struct pctx {
	struct sim_scenario *sc;
	const char *where;
	uint32_t line;
	char *why;
	size_t why_cap;
	char *tok[TOKENS_MAX];
	int ntok;
	int i; /* next token */
};

static int
fail(struct pctx *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->line)
		n = snprintf(c->why, c->why_cap, "%s:%u: ", c->where, c->line);
	else /* a command-line option */
		n = snprintf(c->why, c->why_cap, "%s: ", c->where);
	if (n < 0 || (size_t)n >= c->why_cap)
		return ERR_INVAL;
	va_start(ap, fmt);
	vsnprintf(c->why + n, c->why_cap - (size_t)n, fmt, ap);
	va_end(ap);
	return ERR_INVAL;
}

static const char *
peek(const struct pctx *c)
{
	return c->i < c->ntok ? c->tok[c->i] : NULL;
}

static const char *
next(struct pctx *c)
{
	return c->i < c->ntok ? c->tok[c->i++] : NULL;
}

static bool
accept(struct pctx *c, const char *word)
{
	if (c->i < c->ntok && strcmp(c->tok[c->i], word) == 0) {
		c->i++;
		return true;
	}
	return false;
}

static int
need_end(struct pctx *c)
{
	if (c->i < c->ntok)
		return fail(c, "unexpected '%s'", c->tok[c->i]);
	return 0;
}

static int
need_time(struct pctx *c, const char *what, uint64_t *us)
{
	const char *t = next(c);

	if (!t)
		return fail(c, "missing %s", what);
	if (sim_parse_time_us(t, us))
		return fail(c, "bad %s '%s' (want e.g. 200ms, 1.5s, 2m)", what,
			    t);
	return 0;
}

static int
need_pct(struct pctx *c, const char *what, double *f)
{
	const char *t = next(c);

	if (!t)
		return fail(c, "missing %s", what);
	if (sim_parse_percent(t, f))
		return fail(c, "bad %s '%s' (want e.g. 10%% or 0.1)", what, t);
	return 0;
}

/* ---- node sets ------------------------------------------------------------
 */

/* Keywords end a set, and so does a tag (`k=v`, `-k`). */
static bool
is_set_word(const char *t)
{
	return t && strcmp(t, "|") && strcmp(t, "->") && strcmp(t, "for") &&
	       strcmp(t, "every") && strcmp(t, "by") && strcmp(t, "on") &&
	       strcmp(t, "bridge") && strcmp(t, "offset") &&
	       strcmp(t, "drift") && strcmp(t, "via") && strcmp(t, "exit") &&
	       strcmp(t, "times") && !strchr(t, '=') && t[0] != '-';
}

static int
push_item(struct pctx *c, struct sim_set *s, const struct sim_item *it)
{
	void *p = realloc(s->items, (s->n + 1) * sizeof(*s->items));

	if (!p)
		return fail(c, "out of memory");
	s->items = p;
	s->items[s->n++] = *it;
	return 0;
}

/* "7", "node-7", "3-9", "node-3-9". */
static int
parse_range(const char *t, uint32_t *lo, uint32_t *hi)
{
	char *end;
	unsigned long a, b;

	if (strncmp(t, "node-", 5) == 0)
		t += 5;
	if (!isdigit((unsigned char)*t))
		return ERR_INVAL;
	errno = 0;
	a = strtoul(t, &end, 10);
	if (errno || a >= SIM_NODES_MAX)
		return ERR_RANGE;
	b = a;
	if (*end == '-') {
		t = end + 1;
		if (strncmp(t, "node-", 5) == 0)
			t += 5;
		if (!isdigit((unsigned char)*t))
			return ERR_INVAL;
		b = strtoul(t, &end, 10);
		if (errno || b >= SIM_NODES_MAX || b < a)
			return ERR_RANGE;
	}
	if (*end)
		return ERR_INVAL;
	*lo = (uint32_t)a;
	*hi = (uint32_t)b;
	return 0;
}

static int
parse_item(struct pctx *c, struct sim_set *s, const char *t, bool allow_rest)
{
	struct sim_item it = {0};
	uint64_t k;

	if (strcmp(t, "all") == 0) {
		it.kind = SIM_ITEM_ALL;
	} else if (strcmp(t, "rest") == 0) {
		if (!allow_rest)
			return fail(c,
				    "'rest' only makes sense in a partition");
		it.kind = SIM_ITEM_REST;
	} else if (strcmp(t, "manager") == 0) {
		it.kind = SIM_ITEM_MANAGER;
	} else if (strncmp(t, "random:", 7) == 0) {
		if (parse_u64(t + 7, &k) || k == 0 || k >= SIM_NODES_MAX)
			return fail(c, "bad node count in '%s'", t);
		it.kind = SIM_ITEM_RANDOM;
		it.lo = (uint32_t)k;
	} else if (t[0] && t[strlen(t) - 1] == '%') {
		if (sim_parse_percent(t, &it.frac))
			return fail(c, "bad percentage '%s'", t);
		it.kind = SIM_ITEM_PERCENT;
	} else {
		int rc = parse_range(t, &it.lo, &it.hi);
		uint64_t us;

		if (rc && !sim_parse_time_us(t, &us))
			return fail(c,
				    "'%s' is a time, not a node (a keyword "
				    "such as by, for or every missing?)",
				    t);
		if (rc)
			return fail(c,
				    "bad node '%s' (want 7, node-7, 3-9, 10%%,"
				    " random:3, manager or all)",
				    t);
		it.kind = SIM_ITEM_RANGE;
	}
	return push_item(c, s, &it);
}

/* One set: words until a keyword; commas split items inside a word. */
static int
parse_set(struct pctx *c, struct sim_set *s, const char *what, bool allow_rest)
{
	while (is_set_word(peek(c))) {
		char buf[128], *save = NULL, *item;
		const char *t = next(c);
		int rc;

		if (strlen(t) >= sizeof(buf))
			return fail(c, "node set word too long");
		strcpy(buf, t);
		for (item = strtok_r(buf, ",", &save); item;
		     item = strtok_r(NULL, ",", &save)) {
			rc = parse_item(c, s, item, allow_rest);
			if (rc)
				return rc;
		}
	}
	if (!s->n)
		return fail(c, "missing %s", what);
	return 0;
}

/* ---- net ------------------------------------------------------------------
 */

static int
parse_latency(struct pctx *c, struct sim_latency *l)
{
	const char *k = next(c);

	if (!k)
		return fail(c, "missing latency kind (const, uniform, exp)");
	memset(l, 0, sizeof(*l));
	if (strcmp(k, "const") == 0) {
		l->kind = SIM_LAT_CONST;
		return need_time(c, "latency", &l->a_us);
	}
	if (strcmp(k, "uniform") == 0) {
		int rc;

		l->kind = SIM_LAT_UNIFORM;
		rc = need_time(c, "low latency", &l->a_us);
		if (!rc)
			rc = need_time(c, "high latency", &l->b_us);
		if (!rc && l->b_us < l->a_us)
			return fail(c, "uniform latency: high below low");
		return rc;
	}
	if (strcmp(k, "exp") == 0) {
		int rc;

		l->kind = SIM_LAT_EXP;
		rc = need_time(c, "latency floor", &l->a_us);
		if (!rc)
			rc = need_time(c, "mean extra latency", &l->b_us);
		return rc;
	}
	return fail(c, "unknown latency kind '%s' (const, uniform, exp)", k);
}

void
sim_net_apply(struct sim_net_params *np, const struct sim_net_change *ch)
{
	switch (ch->field) {
	case SIM_NETF_LATENCY:
		np->lat = ch->lat;
		break;
	case SIM_NETF_TAIL:
		np->tail_p = ch->p;
		np->tail_us = ch->us;
		break;
	case SIM_NETF_LOSS:
		np->loss = ch->p;
		break;
	case SIM_NETF_DUP:
		np->dup = ch->p;
		break;
	case SIM_NETF_REORDER:
		np->reorder_p = ch->p;
		np->reorder_us = ch->us;
		break;
	case SIM_NETF_SPREAD:
		np->spread_us = ch->us;
		break;
	case SIM_NETF_BANDWIDTH:
		np->bandwidth = ch->val;
		break;
	default:
		break;
	}
}

/* "net KNOB ..." with an optional "on SET" for loss and latency when
 * timed. */
static int
parse_net(struct pctx *c, struct sim_net_change *ch, struct sim_set *on,
	  bool timed)
{
	const char *k = next(c);
	int rc;

	memset(ch, 0, sizeof(*ch));
	if (!k)
		return fail(c, "missing network knob");
	if (strcmp(k, "latency") == 0) {
		ch->field = SIM_NETF_LATENCY;
		rc = parse_latency(c, &ch->lat);
	} else if (strcmp(k, "tail") == 0) {
		ch->field = SIM_NETF_TAIL;
		rc = need_pct(c, "tail probability", &ch->p);
		if (!rc)
			rc = need_time(c, "tail scale", &ch->us);
	} else if (strcmp(k, "loss") == 0) {
		ch->field = SIM_NETF_LOSS;
		rc = need_pct(c, "loss", &ch->p);
	} else if (strcmp(k, "dup") == 0) {
		ch->field = SIM_NETF_DUP;
		rc = need_pct(c, "duplication", &ch->p);
	} else if (strcmp(k, "reorder") == 0) {
		ch->field = SIM_NETF_REORDER;
		rc = need_pct(c, "reorder probability", &ch->p);
		if (!rc)
			rc = need_time(c, "reorder hold", &ch->us);
	} else if (strcmp(k, "spread") == 0) {
		ch->field = SIM_NETF_SPREAD;
		rc = need_time(c, "per-link spread", &ch->us);
	} else if (strcmp(k, "bandwidth") == 0) {
		const char *t = next(c);

		ch->field = SIM_NETF_BANDWIDTH;
		if (!t || parse_size(t, &ch->val) || !ch->val)
			return fail(c,
				    "bad bandwidth '%s' (bytes per second, "
				    "e.g. 100m)",
				    t ? t : "");
		rc = 0;
	} else {
		return fail(c,
			    "unknown network knob '%s' (latency, tail, "
			    "loss, dup, reorder, spread, bandwidth)",
			    k);
	}
	if (rc)
		return rc;
	if (accept(c, "on")) {
		if (!timed)
			return fail(c, "'on SET' needs a timed line "
				       "(at 0s net ...)");
		if (ch->field != SIM_NETF_LOSS && ch->field != SIM_NETF_LATENCY)
			return fail(c, "only loss and latency can be set "
				       "per node");
		rc = parse_set(c, on, "nodes after 'on'", false);
		if (rc)
			return rc;
	}
	return need_end(c);
}

/* ---- expectations ----------------------------------------------------------
 */

static int
parse_expect(struct pctx *c, uint64_t at_us, uint32_t *index)
{
	struct sim_scenario *sc = c->sc;
	struct sim_expect e = {0};
	const char *name = next(c), *op = next(c), *val = next(c);
	const struct sim_metric_info *mi;
	void *p;
	int k;

	if (!name || !op || !val)
		return fail(c, "expect needs METRIC OP VALUE "
			       "(e.g. expect false_dead == 0)");
	e.metric = sim_metric_find(name);
	if (e.metric < 0)
		return fail(c,
			    "unknown metric '%s' (shoal-sim --metrics lists "
			    "them)",
			    name);
	mi = sim_metric_info(e.metric);
	if (!strcmp(op, "<"))
		e.op = SIM_OP_LT;
	else if (!strcmp(op, "<="))
		e.op = SIM_OP_LE;
	else if (!strcmp(op, ">"))
		e.op = SIM_OP_GT;
	else if (!strcmp(op, ">="))
		e.op = SIM_OP_GE;
	else if (!strcmp(op, "==") || !strcmp(op, "="))
		e.op = SIM_OP_EQ;
	else if (!strcmp(op, "!="))
		e.op = SIM_OP_NE;
	else
		return fail(c, "bad operator '%s' (<, <=, >, >=, ==, !=)", op);
	if (!strcmp(val, "never") || !strcmp(val, "inf")) {
		e.value = INFINITY;
	} else if (mi->unit == SIM_U_MS) {
		uint64_t us;

		if (sim_parse_time_us(val, &us))
			return fail(c, "bad time '%s' for %s", val, name);
		e.value = (double)us / 1000.0;
	} else if (mi->unit == SIM_U_BYTES) {
		uint64_t b;

		if (parse_size(val, &b))
			return fail(c, "bad size '%s' for %s", val, name);
		e.value = (double)b;
	} else {
		char *end;

		errno = 0;
		e.value = strtod(val, &end);
		if (errno || end == val || *end)
			return fail(c, "bad number '%s' for %s", val, name);
	}
	k = snprintf(e.text, sizeof(e.text), "%s %s %s", name, op, val);
	(void)k;
	e.at_us = at_us;
	e.line = c->line;
	if (need_end(c))
		return ERR_INVAL;
	p = realloc(sc->expects, (sc->nexpects + 1) * sizeof(*sc->expects));
	if (!p)
		return fail(c, "out of memory");
	sc->expects = p;
	sc->expects[sc->nexpects] = e;
	*index = sc->nexpects++;
	return 0;
}

/* ---- timed actions ------------------------------------------------------- */

static struct sim_set *
add_set(struct sim_action *a)
{
	struct sim_set *s = realloc(a->sets, (a->nsets + 1) * sizeof(*s));

	if (!s)
		return NULL;
	a->sets = s;
	memset(&s[a->nsets], 0, sizeof(*s));
	return &s[a->nsets++];
}

static void
action_release(struct sim_action *a)
{
	for (uint32_t k = 0; k < a->nsets; k++)
		set_release(&a->sets[k]);
	free(a->sets);
	set_release(&a->bridge);
	sched_act_free(a->sched);
	memset(a, 0, sizeof(*a));
}

static int
parse_signed_time(struct pctx *c, const char *what, int64_t *us)
{
	const char *t = next(c);
	uint64_t v;
	bool neg = false;

	if (!t)
		return fail(c, "missing %s", what);
	if (*t == '+' || *t == '-')
		neg = *t++ == '-';
	if (sim_parse_time_us(t, &v) || v > (uint64_t)INT64_MAX)
		return fail(c, "bad %s '%s'", what, t);
	*us = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* ---- scheduling: services, nodes, task faults --------------------------- */

static int
strv_push(struct pctx *c, char ***v, uint32_t *n, const char *text, size_t len)
{
	char **p = realloc(*v, (*n + 1) * sizeof(**v));
	char *d;

	if (!p)
		return fail(c, "out of memory");
	*v = p;
	d = malloc(len + 1);
	if (!d)
		return fail(c, "out of memory");
	memcpy(d, text, len);
	d[len] = 0;
	(*v)[(*n)++] = d;
	return 0;
}

static int
need_u32(struct pctx *c, const char *what, uint32_t max, uint32_t *out)
{
	const char *t = next(c);
	uint64_t v;

	if (!t || parse_u64(t, &v))
		return fail(c, "%s needs a number", what);
	if (v > max)
		return fail(c, "%s %s is above the limit of %u", what, t, max);
	*out = (uint32_t)v;
	return 0;
}

static int
need_ms32(struct pctx *c, const char *what, uint32_t *out)
{
	uint64_t us;
	int rc = need_time(c, what, &us);

	if (rc)
		return rc;
	if (us / 1000 > UINT32_MAX)
		return fail(c, "%s is too long", what);
	*out = (uint32_t)(us / 1000);
	return 0;
}

int
sim_svc_opts_apply(const struct sim_svc_opts *o, struct spec *sp, char *why,
		   size_t why_cap)
{
	int rc;

	if (o->has & SIM_SVC_MODE) {
		sp->mode = (enum spec_mode)o->mode;
		if (sp->mode == SPEC_GLOBAL)
			sp->replicas = 0;
		else if (!(o->has & SIM_SVC_REPLICAS) && !sp->replicas)
			sp->replicas = 1;
	}
	if (o->has & SIM_SVC_REPLICAS)
		sp->replicas = o->replicas;
	if (o->has & SIM_SVC_MAX_PER_NODE)
		sp->max_per_node = o->max_per_node;
	if (o->has & SIM_SVC_RESTART)
		sp->restart.cond = (enum spec_restart_cond)o->restart_cond;
	if (o->has & SIM_SVC_RESTART_DELAY)
		sp->restart.delay_ms = o->restart_delay_ms;
	if (o->has & SIM_SVC_RESTART_ATTEMPTS)
		sp->restart.max_attempts = o->restart_attempts;
	if (o->has & SIM_SVC_RESTART_WINDOW)
		sp->restart.window_ms = o->restart_window_ms;
	if (o->has & SIM_SVC_UPDATE_PAR)
		sp->update.parallelism = o->update_parallelism;
	if (o->has & SIM_SVC_UPDATE_DELAY)
		sp->update.delay_ms = o->update_delay_ms;
	if (o->has & SIM_SVC_CMD) {
		rc = spec_set_args(sp, (const char *const *)o->args, o->nargs,
				   why, why_cap);
		if (rc)
			return rc;
	}
	if (o->has & SIM_SVC_CONSTRAINTS) {
		sp->ncons = 0;
		for (uint32_t i = 0; i < o->ncons; i++) {
			rc = spec_add_constraint(sp, o->cons[i], why, why_cap);
			if (rc)
				return rc;
		}
	}
	for (uint32_t i = 0; i < o->nenv; i++) {
		size_t kn = strcspn(o->env[i], "=") + 1;
		uint32_t k;

		/* Replace the key if the spec has it, else add it. */
		for (k = 0; k < sp->nenv; k++)
			if (strncmp(sp->env[k], o->env[i], kn) == 0)
				break;
		if (k < sp->nenv) {
			char *d = strdup(o->env[i]);

			if (!d)
				return ERR_NOMEM;
			free(sp->env[k]);
			sp->env[k] = d;
			continue;
		}
		rc = spec_add_env(sp, o->env[i], why, why_cap);
		if (rc)
			return rc;
	}
	return spec_validate(sp, why, why_cap);
}

/* OPTIONS of `service create/update`, up to `via` or the end. */
static int
parse_svc_opts(struct pctx *c, struct sim_svc_opts *o)
{
	char why[SPEC_WHY_MAX];
	const char *t;
	int rc = 0;

	while (!rc && (t = peek(c)) && strcmp(t, "via")) {
		next(c);
		if (!strcmp(t, "replicas")) {
			rc = need_u32(c, "replicas", SPEC_REPLICAS_MAX,
				      &o->replicas);
			o->has |= SIM_SVC_REPLICAS;
		} else if (!strcmp(t, "global") || !strcmp(t, "replicated")) {
			o->mode = !strcmp(t, "global") ? SPEC_GLOBAL
						       : SPEC_REPLICATED;
			o->has |= SIM_SVC_MODE;
		} else if (!strcmp(t, "mode")) {
			enum spec_mode m;

			t = next(c);
			if (!t || spec_mode_parse(t, &m))
				return fail(c, "mode needs replicated or "
					       "global");
			o->mode = m;
			o->has |= SIM_SVC_MODE;
		} else if (!strcmp(t, "constraint")) {
			struct spec_constraint sc;

			t = next(c);
			if (!t)
				return fail(c,
					    "constraint needs node.KEY==VALUE"
					    " (or none)");
			o->has |= SIM_SVC_CONSTRAINTS;
			if (!strcmp(t, "none"))
				continue;
			if (spec_constraint_parse(&sc, t, strlen(t), why,
						  sizeof(why)))
				return fail(c, "%s", why);
			rc = strv_push(c, &o->cons, &o->ncons, t, strlen(t));
		} else if (!strcmp(t, "max-per-node")) {
			rc = need_u32(c, "max-per-node", SPEC_REPLICAS_MAX,
				      &o->max_per_node);
			o->has |= SIM_SVC_MAX_PER_NODE;
		} else if (!strcmp(t, "restart")) {
			enum spec_restart_cond rcnd;

			t = next(c);
			if (!t || spec_restart_cond_parse(t, &rcnd))
				return fail(c, "restart needs none, on-failure "
					       "or any");
			o->restart_cond = rcnd;
			o->has |= SIM_SVC_RESTART;
		} else if (!strcmp(t, "restart-delay")) {
			rc = need_ms32(c, "restart delay",
				       &o->restart_delay_ms);
			o->has |= SIM_SVC_RESTART_DELAY;
		} else if (!strcmp(t, "restart-attempts")) {
			rc = need_u32(c, "restart-attempts", SPEC_ATTEMPTS_MAX,
				      &o->restart_attempts);
			o->has |= SIM_SVC_RESTART_ATTEMPTS;
		} else if (!strcmp(t, "restart-window")) {
			rc = need_ms32(c, "restart window",
				       &o->restart_window_ms);
			o->has |= SIM_SVC_RESTART_WINDOW;
		} else if (!strcmp(t, "update-parallelism")) {
			rc = need_u32(c, "update-parallelism",
				      SPEC_REPLICAS_MAX,
				      &o->update_parallelism);
			o->has |= SIM_SVC_UPDATE_PAR;
		} else if (!strcmp(t, "update-delay")) {
			rc = need_ms32(c, "update delay", &o->update_delay_ms);
			o->has |= SIM_SVC_UPDATE_DELAY;
		} else if (!strcmp(t, "cmd")) {
			const char *w = next(c);

			if (!w || !*w)
				return fail(c, "cmd needs ARG[,ARG...]");
			strv_free(o->args, o->nargs);
			o->args = NULL;
			o->nargs = 0;
			while (!rc && *w) {
				size_t n = strcspn(w, ",");

				if (n)
					rc = strv_push(c, &o->args, &o->nargs,
						       w, n);
				w += n + (w[n] == ',');
			}
			o->has |= SIM_SVC_CMD;
		} else if (!strcmp(t, "env")) {
			t = next(c);
			if (!t || !strchr(t, '='))
				return fail(c, "env needs KEY=VALUE");
			rc = strv_push(c, &o->env, &o->nenv, t, strlen(t));
		} else {
			return fail(c,
				    "unknown service option '%s' (replicas, "
				    "global, constraint, max-per-node, restart,"
				    " restart-delay, restart-attempts, "
				    "restart-window, update-parallelism, "
				    "update-delay, cmd, env, via)",
				    t);
		}
	}
	return rc;
}

/* `via NODE` at the end of a desired-state change. */
static int
parse_via(struct pctx *c, struct sim_sched_act *x)
{
	if (!accept(c, "via"))
		return 0;
	return parse_set(c, &x->via, "the node after 'via'", false);
}

/* SERVICE or SERVICE.SLOT (the part after the last dot, when a number). */
static int
parse_task_target(struct pctx *c, struct sim_sched_act *x)
{
	const char *t = next(c), *dot;
	size_t n;

	if (!t)
		return fail(c, "missing SERVICE[.SLOT]");
	n = strlen(t);
	x->slot = -1;
	dot = strrchr(t, '.');
	if (dot && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1)) {
		uint64_t v;

		if (parse_u64(dot + 1, &v) || v >= SPEC_REPLICAS_MAX * 8ull)
			return fail(c, "bad slot in '%s'", t);
		x->slot = (int64_t)v;
		n = (size_t)(dot - t);
	}
	if (!n || n > SPEC_NAME_MAX || !spec_name_valid(t, n))
		return fail(c, "bad service name in '%s'", t);
	memcpy(x->name, t, n);
	x->name[n] = 0;
	return 0;
}

static int
parse_service_name(struct pctx *c, struct sim_sched_act *x)
{
	const char *t = next(c);

	if (!t)
		return fail(c, "missing service name");
	if (strlen(t) > SPEC_NAME_MAX || !spec_name_valid(t, strlen(t)))
		return fail(c,
			    "service name \"%s\" must match "
			    "[a-zA-Z0-9][a-zA-Z0-9_.-]* (at most %d bytes)",
			    t, SPEC_NAME_MAX);
	snprintf(x->name, sizeof(x->name), "%s", t);
	return 0;
}

/* Check a create's options now, so a bad line fails at parse time. */
static int
check_create(struct pctx *c, const struct sim_sched_act *x)
{
	static const char *const dflt[] = {"sim-task"};
	char why[SPEC_WHY_MAX];
	struct spec sp;
	int rc;

	spec_init(&sp);
	rc = spec_set_name(&sp, x->name, why, sizeof(why));
	if (!rc)
		rc = spec_set_args(&sp, dflt, 1, why, sizeof(why));
	if (!rc)
		rc = sim_svc_opts_apply(&x->o, &sp, why, sizeof(why));
	spec_destroy(&sp);
	if (rc)
		return fail(c, "%s", why);
	return 0;
}

/* `service ...`, `node ...`, `task-crash`, `task-fail-start`,
 * `force-leave`. */
static int
parse_sched(struct pctx *c, struct sim_action *a, const char *w)
{
	struct sim_sched_act *x = calloc(1, sizeof(*x));
	struct sim_set *s;
	int rc = 0;

	if (!x)
		return fail(c, "out of memory");
	a->kind = SIM_ACT_SCHED;
	a->sched = x;
	if (!strcmp(w, "service")) {
		const char *op = next(c);

		if (!op)
			return fail(c, "service needs create, update, scale "
				       "or remove");
		if (!strcmp(op, "create")) {
			x->op = SIM_SCHED_SVC_CREATE;
			if ((rc = parse_service_name(c, x)) ||
			    (rc = parse_svc_opts(c, &x->o)) ||
			    (rc = check_create(c, x)))
				return rc;
		} else if (!strcmp(op, "update")) {
			x->op = SIM_SCHED_SVC_UPDATE;
			if ((rc = parse_service_name(c, x)) ||
			    (rc = parse_svc_opts(c, &x->o)))
				return rc;
			if (!x->o.has && !x->o.nenv)
				return fail(c, "service update needs an option "
					       "to change");
		} else if (!strcmp(op, "scale")) {
			x->op = SIM_SCHED_SVC_SCALE;
			if ((rc = parse_service_name(c, x)) ||
			    (rc = need_u32(c, "replicas", SPEC_REPLICAS_MAX,
					   &x->o.replicas)))
				return rc;
		} else if (!strcmp(op, "remove") || !strcmp(op, "rm")) {
			x->op = SIM_SCHED_SVC_REMOVE;
			if ((rc = parse_service_name(c, x)))
				return rc;
		} else {
			return fail(c,
				    "unknown service operation '%s' (create, "
				    "update, scale, remove)",
				    op);
		}
		if ((rc = parse_via(c, x)))
			return rc;
		return need_end(c);
	}
	if (!strcmp(w, "node")) {
		const char *op = next(c);
		enum state_avail av;

		if (!op)
			return fail(c,
				    "node needs drain, pause, active or tag");
		if (!(s = add_set(a)))
			return fail(c, "out of memory");
		if (!strcmp(op, "tag")) {
			x->op = SIM_SCHED_NODE_TAG;
			if ((rc = parse_set(c, s, "nodes to tag", false)))
				return rc;
			while (peek(c) && strcmp(peek(c), "via")) {
				const char *t = next(c);

				if (x->ntags == NODE_TAGS_MAX)
					return fail(c, "at most %d tags",
						    NODE_TAGS_MAX);
				if (t[0] == '-') {
					snprintf(x->tags[x->ntags].key,
						 sizeof(x->tags[0].key), "%s",
						 t + 1);
					if (!t[1] ||
					    strlen(t + 1) > NODE_TAG_KEY_MAX)
						return fail(c,
							    "bad tag key "
							    "'%s'",
							    t + 1);
					x->untag[x->ntags++] = true;
					continue;
				}
				if (node_tag_parse(t, &x->tags[x->ntags]))
					return fail(c,
						    "bad tag '%s' (want "
						    "KEY=VALUE or -KEY)",
						    t);
				x->ntags++;
			}
			if (!x->ntags)
				return fail(c, "node tag needs KEY=VALUE or "
					       "-KEY");
		} else if (state_avail_parse(op, &av) == 0) {
			x->op = SIM_SCHED_NODE_AVAIL;
			x->avail = av;
			if ((rc = parse_set(c, s, "nodes", false)))
				return rc;
		} else {
			return fail(c,
				    "unknown node operation '%s' (drain, "
				    "pause, active, tag)",
				    op);
		}
		if ((rc = parse_via(c, x)))
			return rc;
		return need_end(c);
	}
	if (!strcmp(w, "force-leave")) {
		x->op = SIM_SCHED_FORCE_LEAVE;
		if (!(s = add_set(a)))
			return fail(c, "out of memory");
		if ((rc = parse_set(c, s, "nodes to force out", false)) ||
		    (rc = parse_via(c, x)))
			return rc;
		return need_end(c);
	}
	x->op = !strcmp(w, "task-crash") ? SIM_SCHED_TASK_CRASH
					 : SIM_SCHED_TASK_FAIL;
	if ((rc = parse_task_target(c, x)))
		return rc;
	x->exit_code = 1;
	x->times = 1;
	for (;;) {
		if (accept(c, "on")) {
			if (a->nsets)
				return fail(c, "one 'on SET' only");
			if (!(s = add_set(a)))
				return fail(c, "out of memory");
			if ((rc = parse_set(c, s, "nodes after 'on'", false)))
				return rc;
		} else if (x->op == SIM_SCHED_TASK_CRASH && accept(c, "exit")) {
			const char *t = next(c);
			char *end;
			long v;

			if (!t)
				return fail(c, "exit needs a code");
			errno = 0;
			v = strtol(t, &end, 10);
			if (errno || *end || v < -255 || v > 255)
				return fail(c,
					    "bad exit code '%s' (-255..255; "
					    "negative: killed by that "
					    "signal)",
					    t);
			x->exit_code = (int32_t)v;
		} else if (x->op == SIM_SCHED_TASK_FAIL && accept(c, "times")) {
			if ((rc = need_u32(c, "times", 1000000, &x->times)))
				return rc;
			if (!x->times)
				return fail(c, "times must be > 0");
			x->for_us = 0;
		} else if (x->op == SIM_SCHED_TASK_FAIL && accept(c, "for")) {
			if ((rc = need_time(c, "time", &x->for_us)))
				return rc;
			if (!x->for_us)
				return fail(c, "for must be > 0");
			x->times = 0;
		} else {
			break;
		}
	}
	return need_end(c);
}

static int
parse_action(struct pctx *c, struct sim_action *a)
{
	const char *w = next(c);
	struct sim_set *s;
	int rc = 0;

	if (!w)
		return fail(c, "missing action after the time");
#define SET1(what)                                                             \
	do {                                                                   \
		if (!(s = add_set(a)))                                         \
			return fail(c, "out of memory");                       \
		if ((rc = parse_set(c, s, what, false)))                       \
			return rc;                                             \
	} while (0)

	if (!strcmp(w, "crash")) {
		a->kind = SIM_ACT_CRASH;
		SET1("nodes to crash");
	} else if (!strcmp(w, "restart")) {
		a->kind = SIM_ACT_RESTART;
		SET1("nodes to restart");
	} else if (!strcmp(w, "leave")) {
		a->kind = SIM_ACT_LEAVE;
		SET1("nodes to leave");
	} else if (!strcmp(w, "join")) {
		uint64_t k;
		const char *t = next(c);

		a->kind = SIM_ACT_JOIN;
		if (!t || parse_u64(t, &k) || !k || k >= SIM_NODES_MAX)
			return fail(c, "join needs a count of new nodes");
		a->count = (uint32_t)k;
		if (accept(c, "over") &&
		    (rc = need_time(c, "spread", &a->d1_us)))
			return rc;
	} else if (!strcmp(w, "pause")) {
		a->kind = SIM_ACT_PAUSE;
		SET1("nodes to pause");
		if (accept(c, "for") && (rc = need_time(c, "pause", &a->d1_us)))
			return rc;
	} else if (!strcmp(w, "resume")) {
		a->kind = SIM_ACT_RESUME;
		SET1("nodes to resume");
	} else if (!strcmp(w, "slow")) {
		a->kind = SIM_ACT_SLOW;
		SET1("nodes to slow down");
		if (!accept(c, "by"))
			return fail(c, "slow needs 'by DELAY' (0 ends it)");
		if ((rc = need_time(c, "delay", &a->d1_us)))
			return rc;
		if (accept(c, "for") && (rc = need_time(c, "time", &a->d2_us)))
			return rc;
	} else if (!strcmp(w, "clock")) {
		a->kind = SIM_ACT_CLOCK;
		SET1("nodes whose clock to change");
		for (;;) {
			if (accept(c, "offset")) {
				if ((rc = parse_signed_time(c, "offset",
							    &a->i1)))
					return rc;
			} else if (accept(c, "drift")) {
				const char *t = next(c);
				char *end;
				long v;

				if (!t)
					return fail(c, "missing drift");
				errno = 0;
				v = strtol(t, &end, 10);
				if (errno || end == t || strcmp(end, "ppm") ||
				    v < -100000 || v > 100000)
					return fail(c,
						    "bad drift '%s' (want e.g. "
						    "+200ppm, |x| <= 100000)",
						    t);
				a->i2 = v;
				a->has_drift = true;
			} else {
				break;
			}
		}
		if (!a->i1 && !a->has_drift)
			return fail(c, "clock needs 'offset D' and/or "
				       "'drift Nppm'");
	} else if (!strcmp(w, "partition")) {
		a->kind = SIM_ACT_PARTITION;
		do {
			if (!(s = add_set(a)))
				return fail(c, "out of memory");
			if ((rc = parse_set(c, s, "a group of nodes", true)))
				return rc;
		} while (accept(c, "|"));
		if (a->nsets < 2)
			return fail(c, "partition needs two groups or more "
				       "(A | B)");
		if (a->nsets > 65535)
			return fail(c, "too many groups");
		if (accept(c, "bridge") &&
		    (rc = parse_set(c, &a->bridge, "bridge nodes", false)))
			return rc;
	} else if (!strcmp(w, "cut")) {
		a->kind = SIM_ACT_CUT;
		SET1("senders of the cut");
		if (!accept(c, "->"))
			return fail(c, "cut needs 'A -> B'");
		SET1("receivers of the cut");
	} else if (!strcmp(w, "isolate")) {
		a->kind = SIM_ACT_ISOLATE;
		SET1("nodes to isolate");
	} else if (!strcmp(w, "bridge")) {
		return fail(c, "a bridge belongs to a partition: "
			       "partition A | B bridge C");
	} else if (!strcmp(w, "flap")) {
		a->kind = SIM_ACT_FLAP;
		SET1("one side of the flapping link");
		if (!accept(c, "|"))
			return fail(c, "flap needs 'A | B every D'");
		SET1("the other side of the flapping link");
		if (!accept(c, "every"))
			return fail(c, "flap needs 'every D'");
		if ((rc = need_time(c, "period", &a->d1_us)))
			return rc;
		if (!a->d1_us)
			return fail(c, "flap period must be > 0");
		if (accept(c, "for") && (rc = need_time(c, "time", &a->d2_us)))
			return rc;
	} else if (!strcmp(w, "heal")) {
		a->kind = SIM_ACT_HEAL;
	} else if (!strcmp(w, "net")) {
		struct sim_set on = {0};

		a->kind = SIM_ACT_NET;
		rc = parse_net(c, &a->net, &on, true);
		if (on.n) {
			if (!(s = add_set(a))) {
				set_release(&on);
				return fail(c, "out of memory");
			}
			*s = on;
		}
		return rc;
	} else if (!strcmp(w, "churn")) {
		a->kind = SIM_ACT_CHURN;
		if (!accept(c, "every"))
			return fail(c, "churn needs 'every D for D [crash]'");
		if ((rc = need_time(c, "period", &a->d1_us)))
			return rc;
		if (!a->d1_us)
			return fail(c, "churn period must be > 0");
		if (!accept(c, "for"))
			return fail(c, "churn needs 'for D'");
		if ((rc = need_time(c, "time", &a->d2_us)))
			return rc;
		a->flag = accept(c, "crash");
	} else if (!strcmp(w, "expect")) {
		a->kind = SIM_ACT_EXPECT;
		return parse_expect(c, a->t_us, &a->expect);
	} else if (!strcmp(w, "service") || !strcmp(w, "node") ||
		   !strcmp(w, "task-crash") || !strcmp(w, "task-fail-start") ||
		   !strcmp(w, "force-leave")) {
		return parse_sched(c, a, w);
	} else {
		return fail(c, "unknown action '%s'", w);
	}
#undef SET1
	return need_end(c);
}

static int
parse_at(struct pctx *c)
{
	struct sim_scenario *sc = c->sc;
	struct sim_action a = {0};
	void *p;
	int rc;

	if ((rc = need_time(c, "time after 'at'", &a.t_us)))
		return rc;
	a.line = c->line;
	rc = parse_action(c, &a);
	if (rc) {
		action_release(&a);
		return rc;
	}
	p = realloc(sc->acts, (sc->nacts + 1) * sizeof(*sc->acts));
	if (!p) {
		action_release(&a);
		return fail(c, "out of memory");
	}
	sc->acts = p;
	sc->acts[sc->nacts++] = a;
	return 0;
}

/* ---- settings --------------------------------------------------------------
 */

static int
parse_setting(struct pctx *c, const char *w)
{
	struct sim_scenario *sc = c->sc;
	const char *t;
	uint64_t v;
	int rc;

	if (!strcmp(w, "nodes")) {
		t = next(c);
		if (!t || parse_u64(t, &v) || v < 1 || v > SIM_NODES_MAX)
			return fail(c, "nodes needs a count from 1 to %u",
				    SIM_NODES_MAX);
		sc->nodes = (uint32_t)v;
	} else if (!strcmp(w, "seed")) {
		t = next(c);
		if (!t || parse_u64(t, &v))
			return fail(c, "seed needs a number");
		sc->seed = v;
	} else if (!strcmp(w, "duration")) {
		t = next(c);
		if (!t || parse_duration_ms(t, &v) || !v)
			return fail(c, "bad duration '%s'", t ? t : "");
		sc->duration_ms = v;
	} else if (!strcmp(w, "profile")) {
		struct profile p;

		t = next(c);
		if (!t || profile_by_name(&p, t))
			return fail(c, "unknown profile '%s' (lan, wan, local)",
				    t ? t : "");
		snprintf(sc->profile, sizeof(sc->profile), "%s", t);
	} else if (!strcmp(w, "set")) {
		struct sim_override o = {0};
		struct profile scratch;
		const char *k = next(c), *val;
		char *eq;
		void *p;

		if (!k)
			return fail(c, "set needs KEY VALUE");
		snprintf(o.key, sizeof(o.key), "%s", k);
		eq = strchr(o.key, '=');
		if (eq) {
			*eq = 0;
			snprintf(o.value, sizeof(o.value), "%s",
				 k + (eq - o.key) + 1);
		} else {
			val = next(c);
			if (!val)
				return fail(c, "set %s needs a value", k);
			snprintf(o.value, sizeof(o.value), "%s", val);
		}
		profile_lan(&scratch);
		rc = profile_set(&scratch, o.key, o.value);
		if (rc == ERR_NOENT)
			return fail(c, "unknown profile knob '%s'", o.key);
		if (rc)
			return fail(c, "bad value '%s' for %s (%s)", o.value,
				    o.key, err_str(rc));
		o.line = c->line;
		p = realloc(sc->overrides,
			    (sc->noverrides + 1) * sizeof(*sc->overrides));
		if (!p)
			return fail(c, "out of memory");
		sc->overrides = p;
		sc->overrides[sc->noverrides++] = o;
	} else if (!strcmp(w, "crypto")) {
		t = next(c);
		if (t && !strcmp(t, "on"))
			sc->crypto = true;
		else if (t && !strcmp(t, "off"))
			sc->crypto = false;
		else
			return fail(c, "crypto needs on or off");
	} else if (!strcmp(w, "seeds")) {
		struct sim_set s = {0};

		rc = parse_set(c, &s, "seed nodes", false);
		sc->nseeds = 0;
		for (uint32_t i = 0; !rc && i < s.n; i++) {
			if (s.items[i].kind != SIM_ITEM_RANGE) {
				rc = fail(c, "seeds must be explicit nodes");
				break;
			}
			for (uint64_t k = s.items[i].lo; k <= s.items[i].hi;
			     k++) {
				if (sc->nseeds == SIM_SEEDS_MAX) {
					rc = fail(c, "at most %d seeds",
						  SIM_SEEDS_MAX);
					break;
				}
				sc->seeds[sc->nseeds++] = (uint32_t)k;
			}
		}
		set_release(&s);
		if (rc)
			return rc;
	} else if (!strcmp(w, "bootstrap")) {
		if (accept(c, "warm")) {
			sc->warm = true;
		} else if (accept(c, "cold")) {
			sc->warm = false;
		} else if (accept(c, "stagger")) {
			if ((rc = need_time(c, "stagger", &sc->stagger_us)))
				return rc;
		} else {
			return fail(c, "bootstrap needs warm, cold or "
				       "'stagger D'");
		}
	} else if (!strcmp(w, "sample")) {
		t = next(c);
		if (!t || parse_duration_ms(t, &v) || v < 10)
			return fail(c, "bad sample period (>= 10ms)");
		sc->sample_ms = v;
	} else if (!strcmp(w, "grace")) {
		t = next(c);
		if (!t || parse_duration_ms(t, &v))
			return fail(c, "bad grace period");
		sc->grace_ms = v ? v : 1;
	} else if (!strcmp(w, "measure")) {
		accept(c, "from");
		t = next(c);
		if (!t || parse_duration_ms(t, &v))
			return fail(c, "measure needs 'from TIME'");
		sc->measure_ms = v;
	} else if (!strcmp(w, "epoch")) {
		t = next(c);
		if (!t || parse_u64(t, &v) || v > (1ull << 50))
			return fail(c, "epoch needs milliseconds since 1970");
		sc->epoch_ms = v;
	} else if (!strcmp(w, "net")) {
		struct sim_net_change ch;

		if ((rc = parse_net(c, &ch, NULL, false)))
			return rc;
		sim_net_apply(&sc->net, &ch);
	} else if (!strcmp(w, "tags")) {
		struct sim_tag_rule r;
		void *p;

		memset(&r, 0, sizeof(r));
		rc = parse_set(c, &r.set, "nodes to tag", false);
		for (uint32_t i = 0; !rc && i < r.set.n; i++)
			if (r.set.items[i].kind != SIM_ITEM_RANGE &&
			    r.set.items[i].kind != SIM_ITEM_ALL)
				rc = fail(c, "tags needs explicit nodes "
					     "(3, 0-9, all)");
		while (!rc && (t = next(c))) {
			if (r.ntags == NODE_TAGS_MAX)
				rc = fail(c, "at most %d tags", NODE_TAGS_MAX);
			else if (node_tag_parse(t, &r.tags[r.ntags]))
				rc = fail(c, "bad tag '%s' (want KEY=VALUE)",
					  t);
			else
				r.ntags++;
		}
		if (!rc && !r.ntags)
			rc = fail(c, "tags needs KEY=VALUE after the nodes");
		if (rc) {
			set_release(&r.set);
			return rc;
		}
		r.line = c->line;
		p = realloc(sc->tag_rules,
			    (sc->ntag_rules + 1) * sizeof(*sc->tag_rules));
		if (!p) {
			set_release(&r.set);
			return fail(c, "out of memory");
		}
		sc->tag_rules = p;
		sc->tag_rules[sc->ntag_rules++] = r;
		return 0;
	} else if (!strcmp(w, "task")) {
		struct sim_latency *l;
		uint64_t us;

		t = next(c);
		if (t && !strcmp(t, "start-delay"))
			l = &sc->task_start;
		else if (t && !strcmp(t, "stop-delay"))
			l = &sc->task_stop;
		else
			return fail(c, "task needs start-delay or stop-delay");
		t = peek(c);
		if (t && !sim_parse_time_us(t, &us)) {
			next(c);
			memset(l, 0, sizeof(*l));
			l->kind = SIM_LAT_CONST;
			l->a_us = us;
		} else if ((rc = parse_latency(c, l))) {
			return rc;
		}
	} else if (!strcmp(w, "overlap")) {
		t = next(c);
		if (!t || parse_duration_ms(t, &v))
			return fail(c, "overlap needs a time (e.g. 5s)");
		sc->overlap_ms = v;
	} else if (!strcmp(w, "expect")) {
		uint32_t idx;

		return parse_expect(c, UINT64_MAX, &idx);
	} else if (!strcmp(w, "at")) {
		return parse_at(c);
	} else {
		return fail(c, "unknown word '%s'", w);
	}
	return need_end(c);
}

int
sim_scenario_parse_line(struct sim_scenario *sc, const char *line,
			const char *where, uint32_t lineno, char *why,
			size_t why_cap)
{
	struct pctx c = {.sc = sc,
			 .where = where,
			 .line = lineno,
			 .why = why,
			 .why_cap = why_cap};
	char buf[LINE_MAX_LEN], *save = NULL, *t, *hash;

	if (strlen(line) >= sizeof(buf))
		return fail(&c, "line too long");
	strcpy(buf, line);
	hash = strchr(buf, '#');
	if (hash) {
		if (hash == buf + strspn(buf, " \t") && !sc->title[0] &&
		    !strstr(hash, ": yes")) {
			const char *s = hash + 1 + strspn(hash + 1, " \t#");

			snprintf(sc->title, sizeof(sc->title), "%s", s);
		}
		*hash = 0;
	}
	for (t = strtok_r(buf, " \t\r\n", &save); t;
	     t = strtok_r(NULL, " \t\r\n", &save)) {
		if (c.ntok == TOKENS_MAX)
			return fail(&c, "too many words");
		c.tok[c.ntok++] = t;
	}
	if (!c.ntok)
		return 0;
	return parse_setting(&c, next(&c));
}

int
sim_scenario_parse_file(struct sim_scenario *sc, const char *path, char *why,
			size_t why_cap)
{
	char line[LINE_MAX_LEN + 2];
	uint32_t n = 0;
	const char *base;
	FILE *f;
	int rc = 0;

	f = fopen(path, "r");
	if (!f) {
		snprintf(why, why_cap, "%s: %s", path, strerror(errno));
		return ERR_IO;
	}
	snprintf(sc->file, sizeof(sc->file), "%s", path);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);

		n++;
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		else if (!feof(f)) {
			snprintf(why, why_cap, "%s:%u: line too long", base, n);
			rc = ERR_INVAL;
			break;
		}
		rc = sim_scenario_parse_line(sc, line, base, n, why, why_cap);
		if (rc)
			break;
	}
	if (!rc && ferror(f)) {
		snprintf(why, why_cap, "%s: read error", path);
		rc = ERR_IO;
	}
	fclose(f);
	return rc;
}

int
sim_scenario_parse_text(struct sim_scenario *sc, const char *text,
			const char *where, char *why, size_t why_cap)
{
	char line[LINE_MAX_LEN];
	uint32_t n = 0;

	if (!sc->file[0])
		snprintf(sc->file, sizeof(sc->file), "%s", where);
	while (*text) {
		size_t len = strcspn(text, "\n");
		int rc;

		n++;
		if (len >= sizeof(line)) {
			snprintf(why, why_cap, "%s:%u: line too long", where,
				 n);
			return ERR_INVAL;
		}
		memcpy(line, text, len);
		line[len] = 0;
		rc = sim_scenario_parse_line(sc, line, where, n, why, why_cap);
		if (rc)
			return rc;
		text += len;
		if (*text == '\n')
			text++;
	}
	return 0;
}

/* ---- finalize ------------------------------------------------------------ */

static int
cmp_act(const void *a, const void *b)
{
	const struct sim_action *x = a, *y = b;

	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

static int
check_set(const struct sim_set *s, uint64_t limit, uint32_t *bad)
{
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->items[i].kind == SIM_ITEM_RANGE &&
		    s->items[i].hi >= limit) {
			*bad = s->items[i].hi;
			return ERR_RANGE;
		}
	}
	return 0;
}

int
sim_scenario_finalize(struct sim_scenario *sc, char *why, size_t why_cap)
{
	const char *where = sc->file[0] ? sc->file : "scenario";
	uint64_t limit = sc->nodes;
	bool churn = false;
	char reason[128];
	int rc;

	if (profile_by_name(&sc->prof, sc->profile)) {
		snprintf(why, why_cap, "%s: unknown profile '%s'", where,
			 sc->profile);
		return ERR_INVAL;
	}
	for (uint32_t i = 0; i < sc->noverrides; i++) {
		const struct sim_override *o = &sc->overrides[i];

		rc = profile_set(&sc->prof, o->key, o->value);
		if (rc) {
			snprintf(why, why_cap, "%s:%u: set %s %s: %s", where,
				 o->line, o->key, o->value, err_str(rc));
			return ERR_INVAL;
		}
	}
	if (profile_check(&sc->prof, reason, sizeof(reason))) {
		snprintf(why, why_cap, "%s: profile: %s", where, reason);
		return ERR_INVAL;
	}
	if (sc->nacts)
		qsort(sc->acts, sc->nacts, sizeof(*sc->acts), cmp_act);
	for (uint32_t i = 0; i < sc->nacts; i++) {
		if (sc->acts[i].kind == SIM_ACT_JOIN)
			limit += sc->acts[i].count;
		if (sc->acts[i].kind == SIM_ACT_CHURN)
			churn = true;
	}
	for (uint32_t i = 0; i < sc->nseeds; i++) {
		if (sc->seeds[i] >= sc->nodes) {
			snprintf(why, why_cap,
				 "%s: seed node-%u is not one of the %u "
				 "initial nodes",
				 where, sc->seeds[i], sc->nodes);
			return ERR_INVAL;
		}
	}
	for (uint32_t i = 0; i < sc->nacts && !churn; i++) {
		const struct sim_action *a = &sc->acts[i];
		uint32_t bad = 0;

		rc = check_set(&a->bridge, limit, &bad);
		for (uint32_t k = 0; !rc && k < a->nsets; k++)
			rc = check_set(&a->sets[k], limit, &bad);
		if (!rc && a->sched)
			rc = check_set(&a->sched->via, limit, &bad);
		if (rc) {
			snprintf(why, why_cap,
				 "%s:%u: node-%u does not exist (the run has "
				 "%" PRIu64 " nodes)",
				 where, a->line, bad, limit);
			return ERR_INVAL;
		}
	}
	return 0;
}
