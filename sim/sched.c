/* SPDX-License-Identifier: MIT */
/*
 * sim/sched.c — services in a simulation: the emulated process driver and
 * the scheduler's ground truth.
 *
 * The agent (cli/task.c) turns a node's TASK_START / TASK_STOP /
 * TASK_RESTART events into processes and reports their states back with
 * node_task_report(). Here every virtual node does the same with emulated
 * processes, so the scheduler runs in the simulator exactly as it runs on
 * real machines, and the simulator knows the truth: which process really
 * runs where, at every instant.
 *
 * The driver. Each node has a task table (struct vtask, one per slot it
 * was given). A task moves through phases, each ended by an EV_TASK event
 * carrying the task's id and a token (a stale event, whose token is old,
 * is ignored):
 *
 *   LAUNCH --> STARTING --start delay--> RUNNING --crash--> EXITED
 *                 | (a start that fails: REJECTED)               |
 *                 +------------> BACKOFF <--- restart policy ----+--> DONE
 *   any phase --TASK_STOP--> STOPPING --stop delay--> gone (or launched
 *                                                     again: RESTART)
 *
 * Reports follow the agent's: STARTING at launch, RUNNING when the
 * process is up, FAILED / COMPLETE / REJECTED on an exit, SHUTDOWN on a
 * stop; gen is the task digest, since_ms the node's clock. The restart
 * policy (condition, delay, attempts in a window) is cli/task.c's. Nothing
 * calls into a node while its events are being drained: an event only
 * changes the table and queues an EV_TASK (at the same instant when
 * nothing is to wait), and the report goes out when that event runs. EV_TASK
 * is a node input, so a paused node's driver is paused too (its processes
 * keep running: SIGSTOP of an agent does not stop its children), and a
 * crashed node's processes die with it (PDEATHSIG).
 *
 * The truth. Per (service, slot): how many processes run it and on which
 * nodes, whether it ever ran, and the open records that wait for it to
 * run again (a crash's reschedule, a task crash's recovery). From that:
 * replicas desired vs running, slots running twice (an episode from the
 * second process up to the second-to-last down; excused when a node in it
 * is disturbed, as false alarms are, or when it lasts no longer than the
 * `overlap` allowance: a move has no stop-first ordering, so the old and
 * new node may both run the slot while the decision spreads), starts that
 * break the spec's hard rules (misplaced), rollouts.
 *
 * Managers. NODE_EV_MANAGER says whom each node names and whether it acts;
 * counts are kept incrementally (distinct live managers named, nodes
 * acting), so their maxima are exact, not sampled. A failover opens when
 * an acting manager crashes or leaves and closes when every live node
 * names the same acting manager. "Minority" is the truth of quorum: a
 * node is in a minority when the live eligible nodes it can reach are no
 * more than half of the voters (eligible nodes that have not left and
 * were not force-left while down). An
 * acting manager in a minority is timed, and every slot record it writes
 * there (a record of its term, newer than its state clock when it entered
 * the minority) is a minority decision.
 *
 * Rescheduling. A crash opens one record per replica the node held (of a
 * live replicated service, slot below replicas, not running elsewhere at
 * that instant). Its breakdown: detect = crash to the first FAILED
 * anywhere; decide = to an acting manager's table naming another node
 * that runs (read from the managers' state after each of their calls: a
 * move to a node that crashed too but is not known dead yet is no
 * decision); inform = to TASK_START on a node; start = to the process
 * running.
 *
 * Randomness: start and stop delays come from the node's own task stream
 * (rng_stream(seed, STREAM_TASK + node, life)); nothing else here draws.
 *
 * Bounds: a task table holds one entry per slot given to the node; slot
 * truth grows to the highest slot seen (a spec allows 10000, global slots
 * one per node); the record lists grow with the run's crashes and faults.
 */
#include "sim/sched.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "sim/engine_int.h"

#define HOLDERS_MAX 4

enum tphase {
	TP_LAUNCH = 1, /* launch now (report STARTING) */
	TP_STARTING,   /* until the start delay is over */
	TP_RUNNING,
	TP_EXITED,   /* crashed: the exit is handled now */
	TP_BACKOFF,  /* waiting for the restart delay */
	TP_DONE,     /* exited for good (policy) */
	TP_STOPPING, /* until the stop delay is over */
	TP_STOPPED,  /* idle and stopped: report SHUTDOWN now, then free */
};

struct vtask {
	uint32_t svc, slot;
	uint32_t id, token;
	uint8_t phase; /* enum tphase */
	bool up;       /* the process runs (truth) */
	bool want;     /* the node still gives us the slot */
	bool has_next; /* a START / RESTART to take once stopped */
	uint64_t digest, next_digest;
	struct spec_restart rp, next_rp;
	uint32_t restarts, win_count;
	uint64_t win_start_ms;
	int32_t exit_code;
};

struct tslot {
	uint16_t running;
	uint16_t nh;
	uint32_t holder[HOLDERS_MAX];
	bool ever;
	bool dup_excused;
	uint64_t dup_since_us;
	uint32_t pending;      /* rslot index + 1 */
	uint32_t recover;      /* recovery index + 1 */
	uint64_t gap_since_us; /* wanted, ran before, runs nowhere now */
};

struct svc {
	char name[SPEC_NAME_MAX + 1];
	bool live;
	struct spec spec; /* as the scenario last wrote it */
	uint64_t digest;  /* spec_task_digest() */
	struct tslot *slots;
	uint32_t nslots;
	uint32_t rollout; /* open rollout + 1 */
	uint32_t mark;	  /* scratch for samples */
};

struct recovery {
	uint32_t svc, slot;
	uint64_t t_us, done_us;
};

struct rollout {
	uint32_t svc;
	uint64_t digest; /* the new task digest */
	uint64_t t_us, done_us;
	bool dropped;
};

struct failrule {
	uint32_t svc;
	int64_t slot;
	uint64_t *nodes; /* bitset; NULL: every node */
	uint32_t cap;
	uint32_t times; /* starts left to fail, or 0 with until */
	uint64_t until_us;
};

struct sim_sched {
	struct svc *svcs;
	uint32_t nsvcs;
	bool any_service;

	uint32_t processes;
	uint64_t doubled, doubled_unexcused, doubled_longest_us;
	uint64_t gaps, gap_longest_us;
	uint64_t misplaced, task_crashes, task_restarts, task_rejected;
	uint64_t changes_refused;

	struct sim_rcrash *crashes;
	uint32_t ncrashes;
	struct sim_rslot *rslots;
	uint32_t nrslots;
	uint32_t *undecided; /* rslot indices still without a decision */
	uint32_t nundecided;

	struct sim_failover *fos;
	uint32_t nfos;
	uint32_t open_fos;

	struct recovery *recs;
	uint32_t nrecs;
	struct rollout *rolls;
	uint32_t nrolls;
	struct failrule *rules;
	uint32_t nrules;

	/* managers */
	uint32_t *named_cnt; /* running nodes naming node j */
	uint32_t named_cap;
	uint32_t distinct_live; /* j with named_cnt[j] > 0, j running */
	uint32_t leaders;
	uint32_t managers_max, leaders_max;
	uint64_t minority_decisions;
	uint64_t minority_lead_us;
	bool minority_dirty;

	uint32_t *grp; /* scratch: per-group counts */
	uint32_t grp_cap;
	/* Nodes force-left while down: no longer voters (until restarted). */
	uint32_t *forced;
	uint32_t nforced, forced_cap;
};

/* ---- small helpers ---- */

static struct sim_sched *
S(struct sim *s)
{
	return s->sched;
}

static bool
has_sched_ops(const struct sim *s)
{
	return s->ops->task_report && s->ops->state;
}

static struct svc *
svc_find(struct sim *s, const char *name, uint32_t *index)
{
	struct sim_sched *x = S(s);

	for (uint32_t k = 0; k < x->nsvcs; k++) {
		if (strcmp(x->svcs[k].name, name) == 0) {
			if (index)
				*index = k;
			return &x->svcs[k];
		}
	}
	return NULL;
}

static struct svc *
svc_get(struct sim *s, const char *name, uint32_t *index)
{
	struct sim_sched *x = S(s);
	struct svc *sv = svc_find(s, name, index);
	void *p;

	if (sv)
		return sv;
	p = realloc(x->svcs, (x->nsvcs + 1) * sizeof(*x->svcs));
	if (!p)
		return NULL;
	x->svcs = p;
	sv = &x->svcs[x->nsvcs];
	memset(sv, 0, sizeof(*sv));
	snprintf(sv->name, sizeof(sv->name), "%s", name);
	spec_init(&sv->spec);
	if (index)
		*index = x->nsvcs;
	x->nsvcs++;
	return sv;
}

static struct tslot *
tslot_get(struct sim *s, struct svc *sv, uint32_t slot)
{
	if (slot >= sv->nslots) {
		uint32_t cap = sv->nslots ? sv->nslots : 16;
		struct tslot *p;

		while (cap <= slot)
			cap *= 2;
		p = realloc(sv->slots, cap * sizeof(*p));
		if (!p) {
			sim_fail(s, ERR_NOMEM, "out of memory (slots)");
			return NULL;
		}
		memset(p + sv->nslots, 0, (cap - sv->nslots) * sizeof(*p));
		for (uint32_t k = sv->nslots; k < cap; k++)
			p[k].dup_since_us = p[k].gap_since_us = SIM_NEVER;
		sv->slots = p;
		sv->nslots = cap;
	}
	return &sv->slots[slot];
}

static uint32_t
svc_desired_replicated(const struct svc *sv)
{
	return sv->live && sv->spec.mode == SPEC_REPLICATED ? sv->spec.replicas
							    : 0;
}

static bool
tag_match(const struct vnode *v, const struct spec *sp, const char *name)
{
	struct spec_tag t[NODE_TAGS_MAX];

	for (unsigned k = 0; k < v->ntags; k++) {
		t[k].key = v->tags[k].key;
		t[k].value = v->tags[k].value;
	}
	return spec_match(sp, name, t, v->ntags);
}

static bool
eligible_voter(const struct vnode *v)
{
	for (unsigned k = 0; k < v->ntags; k++)
		if (strcmp(v->tags[k].key, "role") == 0)
			return strcmp(v->tags[k].value, "manager") == 0;
	return true;
}

static struct vtask *
task_by_slot(struct vnode *v, uint32_t svc, uint32_t slot)
{
	for (uint32_t k = 0; k < v->ntasks; k++)
		if (v->tasks[k].svc == svc && v->tasks[k].slot == slot)
			return &v->tasks[k];
	return NULL;
}

static struct vtask *
task_by_id(struct vnode *v, uint32_t id)
{
	for (uint32_t k = 0; k < v->ntasks; k++)
		if (v->tasks[k].id == id)
			return &v->tasks[k];
	return NULL;
}

static void
task_free(struct vnode *v, struct vtask *t)
{
	*t = v->tasks[--v->ntasks];
}

static uint64_t
draw_us(struct sim *s, uint32_t i, const struct sim_latency *l)
{
	return sim_latency_draw(l, &s->v[i].task_rng);
}

/* Queue the task's next step after d_us (a new token: older steps are
 * void). */
static void
task_schedule(struct sim *s, uint32_t i, struct vtask *t, uint64_t d_us)
{
	t->token++;
	sim_push(s, s->now_us + d_us, EV_TASK, i, t->id, t->token, NULL);
}

/* ---- the truth: processes up and down ---- */

static bool
disturbed(struct sim *s, uint32_t i)
{
	return sim_metrics_disturbed(&s->m, i, s->now_us);
}

static void rollout_check(struct sim *s, uint32_t svc);
static void rcrash_slot_done(struct sim *s, uint32_t r);

static void
truth_up(struct sim *s, uint32_t i, struct vtask *t)
{
	struct sim_sched *x = S(s);
	struct svc *sv = &x->svcs[t->svc];
	struct vnode *v = &s->v[i];
	struct tslot *ts = tslot_get(s, sv, t->slot);
	char name[SWIM_NAME_MAX + 1];

	if (!ts)
		return;
	x->processes++;
	if (ts->gap_since_us != SIM_NEVER) {
		uint64_t d = s->now_us - ts->gap_since_us;

		if (d > x->gap_longest_us)
			x->gap_longest_us = d;
		ts->gap_since_us = SIM_NEVER;
	}
	ts->running++;
	if (ts->nh < HOLDERS_MAX)
		ts->holder[ts->nh++] = i;
	ts->ever = true;
	if (ts->running == 2) {
		x->doubled++;
		ts->dup_since_us = s->now_us;
		ts->dup_excused = false;
		for (uint32_t k = 0; k < ts->nh; k++)
			if (disturbed(s, ts->holder[k]))
				ts->dup_excused = true;
	}
	/* Hard rules, as the scenario's truth has them at this start. */
	if (sv->live) {
		uint32_t same = 0;

		sim_name_of(i, name);
		for (uint32_t k = 0; k < v->ntasks; k++)
			if (v->tasks[k].up && v->tasks[k].svc == t->svc)
				same++;
		if (!tag_match(v, &sv->spec, name) ||
		    (sv->spec.mode == SPEC_GLOBAL && same > 1) ||
		    (sv->spec.max_per_node && same > sv->spec.max_per_node))
			x->misplaced++;
	}
	if (ts->pending) {
		uint32_t r = ts->pending - 1;

		ts->pending = 0;
		x->rslots[r].run_us = s->now_us;
		rcrash_slot_done(s, r);
	}
	if (ts->recover) {
		x->recs[ts->recover - 1].done_us = s->now_us;
		ts->recover = 0;
	}
	if (sv->rollout)
		rollout_check(s, t->svc);
}

static void
truth_down(struct sim *s, uint32_t i, struct vtask *t)
{
	struct sim_sched *x = S(s);
	struct svc *sv = &x->svcs[t->svc];
	struct tslot *ts = tslot_get(s, sv, t->slot);

	if (!ts || !ts->running)
		return;
	x->processes--;
	for (uint32_t k = 0; k < ts->nh; k++) {
		if (ts->holder[k] == i) {
			ts->holder[k] = ts->holder[--ts->nh];
			break;
		}
	}
	if (ts->running == 2 && ts->dup_since_us != SIM_NEVER) {
		uint64_t d = s->now_us - ts->dup_since_us;

		if (disturbed(s, i))
			ts->dup_excused = true;
		for (uint32_t k = 0; k < ts->nh; k++)
			if (disturbed(s, ts->holder[k]))
				ts->dup_excused = true;
		if (d > x->doubled_longest_us)
			x->doubled_longest_us = d;
		if (!ts->dup_excused && d > s->sc->overlap_ms * 1000)
			x->doubled_unexcused++;
		ts->dup_since_us = SIM_NEVER;
	}
	ts->running--;
	if (!ts->running && t->slot < svc_desired_replicated(sv)) {
		x->gaps++;
		ts->gap_since_us = s->now_us;
	}
	if (sv->rollout)
		rollout_check(s, t->svc);
}

/* ---- reports ---- */

struct rep {
	bool on;
	uint32_t svc, slot;
	enum task_state state;
	uint32_t restarts;
	int32_t exit_code;
	uint64_t gen;
	const char *msg;
	uint32_t id, token; /* the task it is about, to check it still is */
};

static void
rep_fill(struct rep *r, const struct vtask *t, enum task_state st,
	 const char *msg)
{
	r->on = true;
	r->svc = t->svc;
	r->slot = t->slot;
	r->state = st;
	r->restarts = t->restarts;
	r->exit_code = t->exit_code;
	r->gen = t->digest;
	r->msg = msg;
	r->id = t->id;
	r->token = t->token;
}

/* Send a report into node i, then drain what it made. */
static void
rep_send(struct sim *s, uint32_t i, const struct rep *r)
{
	struct vnode *v = &s->v[i];
	struct state_task st;
	uint64_t now;

	if (!r->on || !sim_vrunning(v) || v->paused)
		return;
	now = sim_vnow_ms(s, i);
	memset(&st, 0, sizeof(st));
	st.service = S(s)->svcs[r->svc].name;
	st.slot = r->slot;
	st.state = r->state;
	st.restarts = r->restarts;
	st.exit_code = r->exit_code;
	st.gen = r->gen;
	st.since_ms = now;
	st.msg = r->msg;
	/* ERR_NOENT: the service is gone; nothing to tell. */
	s->ops->task_report(v->obj, now, &st);
	sim_after_call(s, i);
}

/* ---- the driver ---- */

static bool
attempts_left(struct vtask *t, uint64_t now)
{
	const struct spec_restart *rp = &t->rp;

	if (rp->max_attempts == 0)
		return true;
	if (rp->window_ms && t->win_count &&
	    now - t->win_start_ms >= rp->window_ms)
		t->win_count = 0;
	return t->win_count < rp->max_attempts;
}

/* After an exit (or a failed start) in state st: back off or give up. */
static void
exit_policy(struct sim *s, uint32_t i, struct vtask *t, enum task_state st)
{
	bool restart = false;

	switch (t->rp.cond) {
	case SPEC_RESTART_NONE:
		break;
	case SPEC_RESTART_ON_FAILURE:
		restart = st != TASK_COMPLETE;
		break;
	case SPEC_RESTART_ANY:
		restart = true;
		break;
	}
	if (restart && !attempts_left(t, sim_vnow_ms(s, i)))
		restart = false;
	if (restart) {
		t->phase = TP_BACKOFF;
		task_schedule(s, i, t, (uint64_t)t->rp.delay_ms * 1000);
	} else {
		t->phase = TP_DONE;
		t->token++;
	}
}

static void
launch(struct sim *s, uint32_t i, struct vtask *t, struct rep *r)
{
	t->exit_code = 0;
	t->phase = TP_STARTING;
	task_schedule(s, i, t, draw_us(s, i, &s->sc->task_start));
	rep_fill(r, t, TASK_STARTING, NULL);
}

static bool
start_fails(struct sim *s, uint32_t i, const struct vtask *t)
{
	struct sim_sched *x = S(s);

	for (uint32_t k = 0; k < x->nrules; k++) {
		struct failrule *f = &x->rules[k];

		if (f->svc != t->svc || (f->slot >= 0 && f->slot != t->slot) ||
		    (f->nodes && !sim_bit_get(f->nodes, f->cap, i)))
			continue;
		if (f->times) {
			f->times--;
			return true;
		}
		if (s->now_us < f->until_us)
			return true;
	}
	return false;
}

static void
begin_stop(struct sim *s, uint32_t i, struct vtask *t)
{
	switch (t->phase) {
	case TP_LAUNCH:
	case TP_STARTING:
	case TP_RUNNING:
		t->phase = TP_STOPPING;
		task_schedule(s, i, t, draw_us(s, i, &s->sc->task_stop));
		break;
	case TP_STOPPING:
	case TP_STOPPED:
		break;
	default: /* no process: stopped at once */
		t->phase = TP_STOPPED;
		task_schedule(s, i, t, 0);
		break;
	}
}

static void
take_next(struct vtask *t)
{
	t->digest = t->next_digest;
	t->rp = t->next_rp;
	t->has_next = false;
	t->restarts = 0;
	t->win_count = 0;
}

void
sim_sched_task_event(struct sim *s, const struct sim_ev *ev)
{
	struct sim_sched *x = S(s);
	uint32_t i = ev->node;
	struct vnode *v = &s->v[i];
	struct vtask *t = task_by_id(v, ev->a);
	struct rep r1 = {0}, r2 = {0};

	if (!t || t->token != ev->b)
		return;
	switch (t->phase) {
	case TP_LAUNCH:
		launch(s, i, t, &r1);
		break;
	case TP_STARTING:
		if (start_fails(s, i, t)) {
			x->task_rejected++;
			rep_fill(&r1, t, TASK_REJECTED,
				 "exec: emulated start failure");
			exit_policy(s, i, t, TASK_REJECTED);
			break;
		}
		t->phase = TP_RUNNING;
		t->token++;
		t->up = true;
		truth_up(s, i, t);
		rep_fill(&r1, t, TASK_RUNNING, NULL);
		break;
	case TP_EXITED: {
		enum task_state st =
			t->exit_code == 0 ? TASK_COMPLETE : TASK_FAILED;

		rep_fill(&r1, t, st, NULL);
		exit_policy(s, i, t, st);
		break;
	}
	case TP_BACKOFF:
		if (!t->want)
			break;
		if (t->win_count == 0)
			t->win_start_ms = sim_vnow_ms(s, i);
		t->win_count++;
		t->restarts++;
		x->task_restarts++;
		launch(s, i, t, &r1);
		break;
	case TP_STOPPING:
	case TP_STOPPED:
		if (t->up) {
			t->up = false;
			truth_down(s, i, t);
		}
		rep_fill(&r1, t, TASK_SHUTDOWN, NULL);
		if (t->has_next) {
			take_next(t);
			t->want = true;
			launch(s, i, t, &r2);
		} else if (t->want) {
			launch(s, i, t, &r2);
		} else {
			task_free(v, t);
		}
		break;
	default:
		break;
	}
	rep_send(s, i, &r1);
	if (r2.on) {
		/* Still the same launch after the first report's events? */
		t = task_by_id(v, r2.id);
		if (t && t->token == r2.token)
			rep_send(s, i, &r2);
	}
}

/* A TASK_* event, while node i's events are drained: only the table
 * changes and steps are queued; reports leave when they run. */
static void
on_task(struct sim *s, uint32_t i, const struct node_event *ev)
{
	struct vnode *v = &s->v[i];
	const struct node_task *nt = &ev->task;
	struct vtask *t;
	uint32_t svc;
	struct svc *sv = svc_get(s, nt->service, &svc);

	if (!sv) {
		sim_fail(s, ERR_NOMEM, "out of memory (services)");
		return;
	}
	t = task_by_slot(v, svc, nt->slot);
	if (ev->kind == NODE_EV_TASK_START) {
		/* A reschedule waits for this slot: it is assigned now. */
		struct tslot *ts = tslot_get(s, sv, nt->slot);

		if (ts && ts->pending &&
		    S(s)->rslots[ts->pending - 1].assign_us == SIM_NEVER)
			S(s)->rslots[ts->pending - 1].assign_us = s->now_us;
	}
	switch (ev->kind) {
	case NODE_EV_TASK_START:
	case NODE_EV_TASK_RESTART: {
		struct spec_restart rp =
			nt->spec ? nt->spec->restart : sv->spec.restart;

		if (!nt->spec || !nt->spec->nargs)
			return; /* the agent cannot start it either */
		if (!t) {
			if (v->ntasks == v->tasks_cap) {
				uint32_t cap =
					v->tasks_cap ? v->tasks_cap * 2 : 8;
				struct vtask *p =
					realloc(v->tasks, cap * sizeof(*p));

				if (!p) {
					sim_fail(s, ERR_NOMEM,
						 "out of memory (tasks)");
					return;
				}
				v->tasks = p;
				v->tasks_cap = cap;
			}
			t = &v->tasks[v->ntasks++];
			memset(t, 0, sizeof(*t));
			t->svc = svc;
			t->slot = nt->slot;
			t->id = ++v->task_ids;
			t->want = true;
			t->digest = nt->task_digest;
			t->rp = rp;
			t->phase = TP_LAUNCH;
			task_schedule(s, i, t, 0);
			return;
		}
		t->want = true;
		if (t->phase == TP_DONE || t->phase == TP_BACKOFF ||
		    t->phase == TP_EXITED) {
			/* No process: start afresh with this spec. */
			t->next_digest = nt->task_digest;
			t->next_rp = rp;
			take_next(t);
			t->phase = TP_LAUNCH;
			task_schedule(s, i, t, 0);
			return;
		}
		if (ev->kind == NODE_EV_TASK_START && !t->has_next &&
		    t->digest == nt->task_digest && t->phase != TP_STOPPING &&
		    t->phase != TP_STOPPED)
			return; /* already running that */
		t->next_digest = nt->task_digest;
		t->next_rp = rp;
		t->has_next = true;
		begin_stop(s, i, t);
		return;
	}
	case NODE_EV_TASK_STOP:
		if (!t)
			return;
		t->want = false;
		t->has_next = false;
		begin_stop(s, i, t);
		return;
	default:
		return;
	}
}

/* ---- managers ---- */

static int
named_grow(struct sim *s, uint64_t j)
{
	struct sim_sched *x = S(s);

	if (j < x->named_cap)
		return 0;
	{
		uint32_t cap = x->named_cap ? x->named_cap : 64;
		uint32_t *p;

		while (cap <= j)
			cap *= 2;
		p = realloc(x->named_cnt, cap * sizeof(*p));
		if (!p)
			return ERR_NOMEM;
		memset(p + x->named_cap, 0, (cap - x->named_cap) * sizeof(*p));
		x->named_cnt = p;
		x->named_cap = cap;
	}
	return 0;
}

static bool
j_running(const struct sim *s, int64_t j)
{
	return j >= 0 && (uint64_t)j < s->n && sim_vrunning(&s->v[j]);
}

static void
maxima(struct sim *s)
{
	struct sim_sched *x = S(s);

	if (s->now_us < s->measure_us)
		return;
	if (x->distinct_live > x->managers_max)
		x->managers_max = x->distinct_live;
	if (x->leaders > x->leaders_max)
		x->leaders_max = x->leaders;
}

/* Node i (running) names j now (-1: none). */
static void
set_named(struct sim *s, uint32_t i, int64_t j)
{
	struct sim_sched *x = S(s);
	struct vnode *v = &s->v[i];

	if (v->named == j)
		return;
	if (v->named >= 0) {
		if (--x->named_cnt[v->named] == 0 && j_running(s, v->named))
			x->distinct_live--;
	}
	v->named = j;
	if (j >= 0) {
		if (named_grow(s, (uint64_t)j)) {
			v->named = -1;
			sim_fail(s, ERR_NOMEM, "out of memory (managers)");
			return;
		}
		if (x->named_cnt[j]++ == 0 && j_running(s, j))
			x->distinct_live++;
	}
}

static void minority_update(struct sim *s);

/* Time acting as manager while in a minority. */
static void
minority_account(struct sim *s, struct vnode *v, bool was)
{
	bool now = v->leading && v->minority && sim_vrunning(v);

	if (was && !now)
		S(s)->minority_lead_us += s->now_us - v->lead_since_us;
	if (!was && now)
		v->lead_since_us = s->now_us;
}

static void
set_leading(struct sim *s, uint32_t i, bool leading, uint64_t term)
{
	struct sim_sched *x = S(s);
	struct vnode *v = &s->v[i];
	bool was;

	if (leading)
		v->lead_term = term;
	if (v->leading == leading)
		return;
	if (leading && x->minority_dirty)
		minority_update(s);
	was = v->leading && v->minority;
	v->leading = leading;
	if (leading)
		x->leaders++;
	else
		x->leaders--;
	minority_account(s, v, was);
}

/* Every live node names the same acting manager: close the failovers. */
static void
failover_check(struct sim *s)
{
	struct sim_sched *x = S(s);
	int64_t j = -1;

	if (!x->open_fos || x->distinct_live != 1)
		return;
	for (uint32_t i = 0; i < s->n; i++) {
		if (sim_vrunning(&s->v[i])) {
			j = s->v[i].named;
			break;
		}
	}
	if (j < 0 || !j_running(s, j) || !s->v[j].leading ||
	    x->named_cnt[j] != s->m.live)
		return;
	for (uint32_t k = 0; k < x->nfos; k++) {
		struct sim_failover *f = &x->fos[k];

		if (f->done_us != SIM_NEVER || f->node == (uint32_t)j)
			continue;
		f->done_us = s->now_us;
		f->new_manager = j;
		x->open_fos--;
	}
}

/* ---- minority (truth of quorum) ---- */

static bool
forced_has(const struct sim_sched *x, uint32_t i)
{
	for (uint32_t k = 0; k < x->nforced; k++)
		if (x->forced[k] == i)
			return true;
	return false;
}

static void
forced_set(struct sim *s, uint32_t i, bool on)
{
	struct sim_sched *x = S(s);

	if (!on) {
		for (uint32_t k = 0; k < x->nforced; k++)
			if (x->forced[k] == i)
				x->forced[k--] = x->forced[--x->nforced];
		return;
	}
	if (forced_has(x, i))
		return;
	if (x->nforced == x->forced_cap) {
		uint32_t cap = x->forced_cap ? 2 * x->forced_cap : 16;
		uint32_t *p = realloc(x->forced, cap * sizeof(*p));

		if (!p) {
			sim_fail(s, ERR_NOMEM, "out of memory");
			return;
		}
		x->forced = p;
		x->forced_cap = cap;
	}
	x->forced[x->nforced++] = i;
}

/* Recompute which running nodes sit in a minority: the live eligible
 * nodes they can reach (their partition group; alone when isolated;
 * everyone when a bridge joins the groups) are no more than half of the
 * voters (eligible nodes started and not left or force-left). */
static void
minority_update(struct sim *s)
{
	struct sim_sched *x = S(s);
	const struct sim_net *net = &s->net;
	uint32_t voters = 0, live_all = 0;
	bool groups = net->partitioned, bridge = false;

	x->minority_dirty = false;
	for (uint32_t i = 0; i < s->n && groups; i++)
		if (net->flags[i] & SIM_NET_BRIDGE)
			bridge = true;
	if (bridge)
		groups = false;
	if (groups && x->grp_cap < 65537) {
		uint32_t *p = realloc(x->grp, 65537 * sizeof(*p));

		if (!p) {
			sim_fail(s, ERR_NOMEM, "out of memory");
			return;
		}
		x->grp = p;
		x->grp_cap = 65537;
	}
	if (groups)
		memset(x->grp, 0, x->grp_cap * sizeof(*x->grp));
	for (uint32_t i = 0; i < s->n; i++) {
		const struct vnode *v = &s->v[i];

		if (v->state == V_NONE || v->state == V_LEFT ||
		    !eligible_voter(v) || forced_has(x, i))
			continue;
		voters++;
		if (!sim_vrunning(v) || (net->flags[i] & SIM_NET_ISOLATED))
			continue;
		live_all++;
		if (groups)
			x->grp[net->group[i]]++;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		struct vnode *v = &s->v[i];
		uint32_t reach;
		bool was = v->leading && v->minority, minor;

		if (!sim_vrunning(v)) {
			v->minority = false;
			continue;
		}
		if (net->flags[i] & SIM_NET_ISOLATED)
			reach = eligible_voter(v) ? 1 : 0;
		else if (groups)
			reach = x->grp[net->group[i]];
		else
			reach = live_all;
		minor = 2 * (uint64_t)reach <= voters;
		if (minor && !v->minority && s->ops->state)
			v->minor_clock = state_clock(s->ops->state(v->obj));
		v->minority = minor;
		minority_account(s, v, was);
	}
}

static void
minority_touch(struct sim *s)
{
	S(s)->minority_dirty = true;
	if (S(s)->leaders)
		minority_update(s);
}

void
sim_sched_net_changed(struct sim *s)
{
	minority_touch(s);
}

/* Slot records an acting manager in a minority wrote since it got there. */
static void
minority_scan(struct sim *s, uint32_t i)
{
	struct vnode *v = &s->v[i];
	const struct state *st = s->ops->state(v->obj);
	uint64_t floor =
		v->minor_clock > v->minor_mark ? v->minor_clock : v->minor_mark;
	uint64_t top = floor;

	for (size_t k = 0; k < state_service_count(st); k++) {
		const struct state_service *sv = state_service_at(st, k);

		for (uint32_t j = 0; j < sv->nslots; j++) {
			const struct state_slot *sl = &sv->slots[j];

			if (sl->term != v->lead_term || sl->version <= floor)
				continue;
			S(s)->minority_decisions++;
			if (s->opts.log)
				fprintf(s->opts.log,
					"t=%.6f sim: minority decision by "
					"node-%" PRIu32 " (term %" PRIu64
					"): %s.%" PRIu32 " -> %s\n",
					(double)s->now_us / 1e6, i,
					v->lead_term, sv->name, sl->slot,
					sl->node ? sl->node->data : "(none)");
			if (sl->version > top)
				top = sl->version;
		}
	}
	v->minor_mark = top;
}

/* ---- rescheduling ---- */

static void
rcrash_slot_done(struct sim *s, uint32_t r)
{
	struct sim_sched *x = S(s);
	struct sim_rcrash *c = &x->crashes[x->rslots[r].crash];

	if (c->left && --c->left == 0)
		c->done_us = s->now_us;
}

/* Slots at or above `from` of service svc are no longer wanted. */
static void
drop_pending(struct sim *s, uint32_t svc, uint32_t from)
{
	struct sim_sched *x = S(s);
	struct svc *sv = &x->svcs[svc];

	for (uint32_t k = from; k < sv->nslots; k++) {
		struct tslot *ts = &sv->slots[k];

		ts->gap_since_us = SIM_NEVER;
		if (ts->pending) {
			struct sim_rslot *rs = &x->rslots[ts->pending - 1];
			struct sim_rcrash *c = &x->crashes[rs->crash];

			rs->dropped = true;
			ts->pending = 0;
			if (c->left && --c->left == 0)
				c->done_us = s->now_us;
		}
		if (ts->recover) {
			x->recs[ts->recover - 1].done_us = SIM_NEVER - 1;
			ts->recover = 0;
		}
	}
}

/* An acting manager's table: has it moved the waiting slots? */
static void
decisions_poll(struct sim *s, uint32_t i)
{
	struct sim_sched *x = S(s);
	const struct state *st = s->ops->state(s->v[i].obj);

	for (uint32_t k = 0; k < x->nundecided;) {
		struct sim_rslot *rs = &x->rslots[x->undecided[k]];
		const struct state_service *sv;
		const struct state_slot *sl;
		const char *node;
		char dead[SWIM_NAME_MAX + 1];

		if (rs->dropped || rs->decide_us != SIM_NEVER) {
			x->undecided[k] = x->undecided[--x->nundecided];
			continue;
		}
		sv = state_service_find(st, x->svcs[rs->svc].name);
		sl = state_service_live(sv) ? state_slot_find(sv, rs->slot)
					    : NULL;
		node = sl ? state_slot_node(sv, sl) : NULL;
		sim_name_of(x->crashes[rs->crash].node, dead);
		/* Moved to a node that runs (not to one that also crashed
		 * and is not known dead yet). */
		if (node && strcmp(node, dead) != 0 &&
		    j_running(s, sim_index_of_name(node))) {
			rs->decide_us = s->now_us;
			x->undecided[k] = x->undecided[--x->nundecided];
			continue;
		}
		k++;
	}
}

static void
crash_record(struct sim *s, uint32_t i)
{
	struct sim_sched *x = S(s);
	struct vnode *v = &s->v[i];
	struct sim_rcrash c;
	uint32_t n = 0;

	memset(&c, 0, sizeof(c));
	c.node = i;
	c.t_us = s->now_us;
	c.rumour = s->m.nodes[i].open_crash ? s->m.nodes[i].open_crash - 1
					    : UINT32_MAX;
	c.done_us = SIM_NEVER;
	c.first = x->nrslots;
	for (uint32_t k = 0; k < v->ntasks; k++) {
		const struct vtask *t = &v->tasks[k];
		struct svc *sv = &x->svcs[t->svc];
		struct tslot *ts;
		void *p;

		if (!t->want || t->slot >= svc_desired_replicated(sv))
			continue;
		ts = tslot_get(s, sv, t->slot);
		if (!ts || ts->pending || ts->running > (t->up ? 1 : 0))
			continue; /* waiting already, or runs elsewhere */
		p = realloc(x->rslots, (x->nrslots + 1) * sizeof(*x->rslots));
		if (!p)
			goto out_nomem;
		x->rslots = p;
		p = realloc(x->undecided,
			    (x->nundecided + 1) * sizeof(*x->undecided));
		if (!p)
			goto out_nomem;
		x->undecided = p;
		x->rslots[x->nrslots] = (struct sim_rslot){
			.crash = x->ncrashes,
			.svc = t->svc,
			.slot = t->slot,
			.decide_us = SIM_NEVER,
			.assign_us = SIM_NEVER,
			.run_us = SIM_NEVER,
		};
		x->undecided[x->nundecided++] = x->nrslots;
		ts->pending = ++x->nrslots;
		n++;
	}
	if (!n)
		return;
	c.n = n;
	c.left = n;
	{
		void *p = realloc(x->crashes,
				  (x->ncrashes + 1) * sizeof(*x->crashes));

		if (!p)
			goto out_nomem;
		x->crashes = p;
		x->crashes[x->ncrashes++] = c;
	}
	return;
out_nomem:
	sim_fail(s, ERR_NOMEM, "out of memory (reschedules)");
}

/* ---- rollouts ---- */

static void
rollout_check(struct sim *s, uint32_t svc)
{
	struct sim_sched *x = S(s);
	struct svc *sv = &x->svcs[svc];
	struct rollout *ro = &x->rolls[sv->rollout - 1];
	uint32_t want = svc_desired_replicated(sv), fresh = 0;

	if (sv->spec.mode == SPEC_GLOBAL)
		want = 0; /* global: no old one running is enough */
	for (uint32_t i = 0; i < s->n; i++) {
		const struct vnode *v = &s->v[i];

		if (!sim_vrunning(v))
			continue;
		for (uint32_t k = 0; k < v->ntasks; k++) {
			const struct vtask *t = &v->tasks[k];

			if (t->svc != svc || !t->up)
				continue;
			if (t->digest != ro->digest)
				return; /* an old one still runs */
			if (t->slot < want)
				fresh++;
		}
	}
	if (fresh < want)
		return;
	ro->done_us = s->now_us;
	sv->rollout = 0;
}

/* ---- node life ---- */

static void
tags_init(struct sim *s, uint32_t i)
{
	const struct sim_scenario *sc = s->sc;
	struct vnode *v = &s->v[i];

	for (uint32_t r = 0; r < sc->ntag_rules; r++) {
		const struct sim_tag_rule *tr = &sc->tag_rules[r];
		bool in = false;

		for (uint32_t k = 0; k < tr->set.n; k++) {
			const struct sim_item *it = &tr->set.items[k];

			if (it->kind == SIM_ITEM_ALL ||
			    (it->kind == SIM_ITEM_RANGE && i >= it->lo &&
			     i <= it->hi))
				in = true;
		}
		if (!in)
			continue;
		for (uint32_t t = 0; t < tr->ntags; t++) {
			unsigned k;

			for (k = 0; k < v->ntags; k++)
				if (!strcmp(v->tags[k].key, tr->tags[t].key))
					break;
			if (k == v->ntags) {
				if (v->ntags == NODE_TAGS_MAX)
					continue;
				if (!v->tags) {
					v->tags = calloc(NODE_TAGS_MAX,
							 sizeof(*v->tags));
					if (!v->tags) {
						sim_fail(s, ERR_NOMEM,
							 "out of memory");
						return;
					}
				}
				v->ntags++;
			}
			v->tags[k] = tr->tags[t];
		}
	}
}

const struct node_tag *
sim_sched_tags(struct sim *s, uint32_t i, unsigned *ntags)
{
	struct vnode *v = &s->v[i];

	if (!v->tags_done) {
		tags_init(s, i);
		v->tags_done = true;
	}
	*ntags = v->ntags;
	return v->tags;
}

void
sim_sched_node_up(struct sim *s, uint32_t i)
{
	struct vnode *v = &s->v[i];

	rng_stream(&v->task_rng, s->sc->seed,
		   STREAM_TASK + ((uint64_t)i << 16) + v->gen);
	v->named = -1;
	v->leading = false;
	v->minority = false;
	v->minor_mark = 0;
	v->ntasks = 0;
	/* A name other nodes still hold comes back to life. */
	if (i < S(s)->named_cap && S(s)->named_cnt[i])
		S(s)->distinct_live++;
	forced_set(s, i, false); /* back: a voter again */
	minority_touch(s);
	maxima(s);
	failover_check(s);
}

void
sim_sched_node_down(struct sim *s, uint32_t i, bool crashed)
{
	struct sim_sched *x = S(s);
	struct vnode *v = &s->v[i];

	if (crashed && has_sched_ops(s))
		crash_record(s, i);
	for (uint32_t k = 0; k < v->ntasks; k++) {
		if (v->tasks[k].up) {
			v->tasks[k].up = false;
			truth_down(s, i, &v->tasks[k]);
		}
	}
	v->ntasks = 0;
	if (v->leading) {
		struct sim_failover f;
		void *p;

		memset(&f, 0, sizeof(f));
		f.node = i;
		f.t_us = s->now_us;
		f.left = !crashed;
		f.rumour = crashed && s->m.nodes[i].open_crash
				   ? s->m.nodes[i].open_crash - 1
				   : UINT32_MAX;
		f.new_manager = -1;
		f.done_us = SIM_NEVER;
		p = realloc(x->fos, (x->nfos + 1) * sizeof(*x->fos));
		if (!p) {
			sim_fail(s, ERR_NOMEM, "out of memory");
			return;
		}
		x->fos = p;
		x->fos[x->nfos++] = f;
		x->open_fos++;
		/* v is not running any more: close its minority time. */
		if (v->minority)
			x->minority_lead_us += s->now_us - v->lead_since_us;
		v->leading = false;
		x->leaders--;
	}
	v->minority = false;
	/* Its name, held by others (itself included), is not a live
	 * manager any more; then it names nobody. */
	if (i < x->named_cap && x->named_cnt[i])
		x->distinct_live--;
	set_named(s, i, -1);
	minority_touch(s);
	failover_check(s);
}

/* The runtime's record of a drained event, as the agent writes it. */
static void
log_node_event(const struct log *lg, const struct node_event *ev)
{
	struct log_rec r;

	if (ev->kind == NODE_EV_MANAGER) {
		if (!log_begin(&r, lg, LOG_INFO, "manager"))
			return;
		log_str(&r, "manager",
			ev->manager.manager[0] ? ev->manager.manager : "-");
		log_u64(&r, "term", ev->manager.term);
		log_bool(&r, "leading", ev->manager.leading);
		log_end(&r);
		return;
	}
	if (!log_begin(&r, lg, LOG_DEBUG, node_event_name(ev)))
		return;
	log_str(&r, "service", ev->task.service);
	log_u64(&r, "slot", ev->task.slot);
	log_end(&r);
}

void
sim_sched_on_event(struct sim *s, uint32_t i, const struct node_event *ev)
{
	if (s->v[i].lg)
		log_node_event(s->v[i].lg, ev);
	switch (ev->kind) {
	case NODE_EV_MANAGER: {
		int64_t j = ev->manager.manager[0]
				    ? sim_index_of_name(ev->manager.manager)
				    : -1;

		set_named(s, i, j);
		set_leading(s, i, ev->manager.leading, ev->manager.term);
		maxima(s);
		failover_check(s);
		break;
	}
	case NODE_EV_TASK_START:
	case NODE_EV_TASK_STOP:
	case NODE_EV_TASK_RESTART:
		on_task(s, i, ev);
		break;
	default:
		break;
	}
}

void
sim_sched_after_call(struct sim *s, uint32_t i)
{
	struct vnode *v = &s->v[i];

	if (!v->leading || !has_sched_ops(s))
		return;
	if (S(s)->minority_dirty)
		minority_update(s);
	if (S(s)->nundecided)
		decisions_poll(s, i);
	if (v->minority)
		minority_scan(s, i);
}

/* ---- scenario actions ---- */

/* The node that takes a change: the first running node of `via`, or the
 * lowest running node. -1 when none runs. */
static int64_t
via_node(struct sim *s, const struct sim_set *via)
{
	if (via->n) {
		if (sim_resolve(s, via))
			return -1;
		for (uint32_t k = 0; k < s->idx[0]; k++)
			if (sim_vrunning(&s->v[s->idx[1 + k]]))
				return s->idx[1 + k];
		return -1;
	}
	for (uint32_t i = 0; i < s->n; i++)
		if (sim_vrunning(&s->v[i]))
			return i;
	return -1;
}

static void
refused(struct sim *s, const struct sim_action *a, const char *what,
	const char *why)
{
	S(s)->changes_refused++;
	if (s->opts.log)
		fprintf(s->opts.log, "t=%.6f sim: line %u: %s refused: %s\n",
			(double)s->now_us / 1e6, a->line, what, why);
}

static void
act_service(struct sim *s, const struct sim_action *a)
{
	const struct sim_sched_act *x = a->sched;
	struct sim_sched *xs = S(s);
	int64_t via = via_node(s, &x->via);
	struct vnode *v;
	char why[SPEC_WHY_MAX + 64];
	struct spec sp;
	struct svc *sv;
	uint32_t svc;
	uint64_t now;
	int rc = 0;

	if (via < 0) {
		refused(s, a, x->name, "no node is running");
		return;
	}
	v = &s->v[via];
	now = sim_vnow_ms(s, (uint32_t)via);
	why[0] = 0;
	spec_init(&sp);
	switch (x->op) {
	case SIM_SCHED_SVC_CREATE: {
		static const char *const dflt[] = {"sim-task"};

		rc = spec_set_name(&sp, x->name, why, sizeof(why));
		if (!rc)
			rc = spec_set_args(&sp, dflt, 1, why, sizeof(why));
		if (!rc)
			rc = sim_svc_opts_apply(&x->o, &sp, why, sizeof(why));
		if (rc) {
			sim_fail(s, ERR_INVAL, "line %u: service %s: %s",
				 a->line, x->name, why);
			goto out;
		}
		rc = s->ops->service_create(v->obj, now, &sp, why, sizeof(why));
		break;
	}
	case SIM_SCHED_SVC_UPDATE: {
		const struct state_service *cur =
			state_service_find(s->ops->state(v->obj), x->name);

		if (!state_service_live(cur)) {
			refused(s, a, x->name, "no such service on that node");
			goto out;
		}
		if (spec_copy(&sp, &cur->spec)) {
			sim_fail(s, ERR_NOMEM, "out of memory");
			goto out;
		}
		rc = sim_svc_opts_apply(&x->o, &sp, why, sizeof(why));
		if (rc) {
			sim_fail(s, ERR_INVAL, "line %u: service %s: %s",
				 a->line, x->name, why);
			goto out;
		}
		rc = s->ops->service_update(v->obj, now, &sp, why, sizeof(why));
		break;
	}
	case SIM_SCHED_SVC_SCALE:
		rc = s->ops->service_scale(v->obj, now, x->name, x->o.replicas,
					   why, sizeof(why));
		break;
	case SIM_SCHED_SVC_REMOVE:
		rc = s->ops->service_remove(v->obj, now, x->name);
		break;
	default:
		goto out;
	}
	if (rc) {
		refused(s, a, x->name, why[0] ? why : err_str(rc));
		sim_after_call(s, (uint32_t)via);
		goto out;
	}
	sv = svc_get(s, x->name, &svc);
	if (!sv) {
		sim_fail(s, ERR_NOMEM, "out of memory");
		goto out;
	}
	xs->any_service = true;
	switch (x->op) {
	case SIM_SCHED_SVC_CREATE:
		/* A new incarnation: nothing of the old one counts. */
		drop_pending(s, svc, 0);
		for (uint32_t k = 0; k < sv->nslots; k++)
			sv->slots[k].ever = false;
		/* fall through */
	case SIM_SCHED_SVC_UPDATE: {
		uint64_t old = sv->digest;
		bool was_live = sv->live;

		spec_destroy(&sv->spec);
		sv->spec = sp;
		spec_init(&sp);
		sv->live = true;
		sv->digest = spec_task_digest(&sv->spec);
		drop_pending(s, svc, svc_desired_replicated(sv));
		if (x->op == SIM_SCHED_SVC_UPDATE && was_live &&
		    old != sv->digest) {
			struct rollout *p = realloc(
				xs->rolls, (xs->nrolls + 1) * sizeof(*p));

			if (!p) {
				sim_fail(s, ERR_NOMEM, "out of memory");
				goto out;
			}
			xs->rolls = p;
			if (sv->rollout)
				xs->rolls[sv->rollout - 1].dropped = true;
			xs->rolls[xs->nrolls] = (struct rollout){
				.svc = svc,
				.digest = sv->digest,
				.t_us = s->now_us,
				.done_us = SIM_NEVER,
			};
			sv->rollout = ++xs->nrolls;
		}
		break;
	}
	case SIM_SCHED_SVC_SCALE:
		sv->spec.replicas = x->o.replicas;
		drop_pending(s, svc, x->o.replicas);
		break;
	case SIM_SCHED_SVC_REMOVE:
		sv->live = false;
		drop_pending(s, svc, 0);
		if (sv->rollout) {
			xs->rolls[sv->rollout - 1].dropped = true;
			sv->rollout = 0;
		}
		break;
	default:
		break;
	}
	sim_after_call(s, (uint32_t)via);
out:
	spec_destroy(&sp);
}

/* The nodes of set, copied (a call into a node may resolve sets again),
 * into a malloc'd array of *n; NULL after sim_fail() when out of memory. */
static uint32_t *
resolve_copy(struct sim *s, const struct sim_set *set, uint32_t *n)
{
	uint32_t *who;

	if (sim_resolve(s, set)) {
		sim_fail(s, ERR_NOMEM, "out of memory");
		return NULL;
	}
	*n = s->idx[0];
	who = malloc((*n + 1) * sizeof(*who));
	if (!who) {
		sim_fail(s, ERR_NOMEM, "out of memory");
		return NULL;
	}
	memcpy(who, s->idx + 1, *n * sizeof(*who));
	return who;
}

static void
act_node(struct sim *s, const struct sim_action *a)
{
	const struct sim_sched_act *x = a->sched;
	int64_t via = via_node(s, &x->via);
	uint32_t n;
	uint32_t *who;

	who = resolve_copy(s, &a->sets[0], &n);
	if (!who)
		return;
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = who[k];
		struct vnode *v = &s->v[i];
		char name[SWIM_NAME_MAX + 1];

		sim_name_of(i, name);
		if (x->op == SIM_SCHED_NODE_AVAIL) {
			int rc;

			if (via < 0 || !sim_vrunning(&s->v[via])) {
				refused(s, a, name, "no node is running");
				continue;
			}
			rc = s->ops->set_availability(
				s->v[via].obj, sim_vnow_ms(s, (uint32_t)via),
				name, (enum state_avail)x->avail);
			if (rc)
				refused(s, a, name, err_str(rc));
			else
				v->avail = (uint8_t)x->avail;
			sim_after_call(s, (uint32_t)via);
			continue;
		}
		/* node tag: the node's own metadata. */
		if (!v->tags_done) {
			tags_init(s, i);
			v->tags_done = true;
		}
		for (uint32_t t = 0; t < x->ntags; t++) {
			unsigned j;

			for (j = 0; j < v->ntags; j++)
				if (!strcmp(v->tags[j].key, x->tags[t].key))
					break;
			if (x->untag[t]) {
				if (j < v->ntags)
					v->tags[j] = v->tags[--v->ntags];
				continue;
			}
			if (j == v->ntags) {
				if (v->ntags == NODE_TAGS_MAX)
					continue;
				if (!v->tags &&
				    !(v->tags = calloc(NODE_TAGS_MAX,
						       sizeof(*v->tags)))) {
					sim_fail(s, ERR_NOMEM, "out of memory");
					break;
				}
				v->ntags++;
			}
			v->tags[j] = x->tags[t];
		}
		if (sim_vrunning(v) && s->ops->set_tags) {
			int rc = s->ops->set_tags(v->obj, sim_vnow_ms(s, i),
						  v->tags, v->ntags);

			if (rc)
				refused(s, a, name, err_str(rc));
			sim_after_call(s, i);
		}
	}
	free(who);
	minority_touch(s); /* a role tag changes who votes */
}

static void
act_task_fault(struct sim *s, const struct sim_action *a)
{
	const struct sim_sched_act *x = a->sched;
	struct sim_sched *xs = S(s);
	uint64_t *bits = NULL;
	uint32_t svc;

	if (!svc_get(s, x->name, &svc)) {
		sim_fail(s, ERR_NOMEM, "out of memory");
		return;
	}
	if (a->nsets) {
		if (sim_resolve(s, &a->sets[0])) {
			sim_fail(s, ERR_NOMEM, "out of memory");
			return;
		}
		bits = calloc(sim_bit_words(s->n) + 1, sizeof(uint64_t));
		if (!bits) {
			sim_fail(s, ERR_NOMEM, "out of memory");
			return;
		}
		for (uint32_t k = 0; k < s->idx[0]; k++)
			sim_bit_set(bits, s->idx[1 + k]);
	}
	if (x->op == SIM_SCHED_TASK_FAIL) {
		struct failrule *p =
			realloc(xs->rules, (xs->nrules + 1) * sizeof(*p));

		if (!p) {
			free(bits);
			sim_fail(s, ERR_NOMEM, "out of memory");
			return;
		}
		xs->rules = p;
		xs->rules[xs->nrules++] = (struct failrule){
			.svc = svc,
			.slot = x->slot,
			.nodes = bits,
			.cap = s->n,
			.times = x->times,
			.until_us = x->for_us ? s->now_us + x->for_us : 0,
		};
		return;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		struct vnode *v = &s->v[i];

		if (!sim_vrunning(v) || (bits && !sim_bit_get(bits, s->n, i)))
			continue;
		for (uint32_t k = 0; k < v->ntasks; k++) {
			struct vtask *t = &v->tasks[k];
			struct svc *sv = &xs->svcs[svc];
			struct tslot *ts;

			if (t->svc != svc || !t->up ||
			    (x->slot >= 0 && t->slot != x->slot))
				continue;
			t->up = false;
			truth_down(s, i, t);
			xs->task_crashes++;
			ts = tslot_get(s, sv, t->slot);
			if (ts && !ts->running && !ts->recover) {
				struct recovery *p = realloc(
					xs->recs, (xs->nrecs + 1) * sizeof(*p));

				if (!p) {
					free(bits);
					sim_fail(s, ERR_NOMEM, "out of memory");
					return;
				}
				xs->recs = p;
				xs->recs[xs->nrecs] = (struct recovery){
					.svc = svc,
					.slot = t->slot,
					.t_us = s->now_us,
					.done_us = SIM_NEVER,
				};
				ts->recover = ++xs->nrecs;
			}
			t->exit_code = x->exit_code;
			t->phase = TP_EXITED;
			task_schedule(s, i, t, 0);
		}
	}
	free(bits);
}

/* `force-leave SET [via NODE]`: NODE (serf's force-leave) makes each
 * failed node of SET left everywhere; the truth stops counting it as a
 * voter. Refused (counted) for a node NODE does not see failed. */
static void
act_force_leave(struct sim *s, const struct sim_action *a)
{
	const struct sim_sched_act *x = a->sched;
	int64_t via = via_node(s, &x->via);
	uint32_t n, *who;

	who = resolve_copy(s, &a->sets[0], &n);
	if (!who)
		return;
	for (uint32_t k = 0; k < n; k++) {
		char name[SWIM_NAME_MAX + 1];
		int rc;

		sim_name_of(who[k], name);
		if (via < 0 || !s->ops->force_leave) {
			refused(s, a, name, "no node is running");
			continue;
		}
		rc = s->ops->force_leave(s->v[via].obj,
					 sim_vnow_ms(s, (uint32_t)via), name);
		if (rc)
			refused(s, a, name, err_str(rc));
		else if (!sim_vrunning(&s->v[who[k]]))
			forced_set(s, who[k], true);
		sim_after_call(s, (uint32_t)via);
	}
	free(who);
	minority_touch(s);
}

void
sim_sched_action(struct sim *s, const struct sim_action *a)
{
	if (!has_sched_ops(s) || !s->ops->service_create) {
		sim_fail(s, ERR_INVAL,
			 "line %u: services need real nodes (not --toy)",
			 a->line);
		return;
	}
	switch (a->sched->op) {
	case SIM_SCHED_SVC_CREATE:
	case SIM_SCHED_SVC_UPDATE:
	case SIM_SCHED_SVC_SCALE:
	case SIM_SCHED_SVC_REMOVE:
		act_service(s, a);
		break;
	case SIM_SCHED_NODE_AVAIL:
	case SIM_SCHED_NODE_TAG:
		act_node(s, a);
		break;
	case SIM_SCHED_TASK_CRASH:
	case SIM_SCHED_TASK_FAIL:
		act_task_fault(s, a);
		break;
	case SIM_SCHED_FORCE_LEAVE:
		act_force_leave(s, a);
		break;
	default:
		break;
	}
}

/* ---- samples and values ---- */

struct counts {
	uint32_t desired, running, majority, doubled, never, drained;
	uint32_t no_manager;
};

static void
count_now(struct sim *s, struct counts *c)
{
	struct sim_sched *x = S(s);

	memset(c, 0, sizeof(*c));
	if (x->minority_dirty)
		minority_update(s);
	for (uint32_t k = 0; k < x->nsvcs; k++) {
		struct svc *sv = &x->svcs[k];
		uint32_t want = svc_desired_replicated(sv);

		sv->mark = UINT32_MAX;
		for (uint32_t j = 0; j < sv->nslots; j++) {
			const struct tslot *ts = &sv->slots[j];

			if (ts->running >= 2 && sv->live)
				c->doubled++;
			if (j >= want)
				continue;
			if (ts->running)
				c->running++;
			for (uint32_t h = 0; h < ts->nh; h++) {
				if (!s->v[ts->holder[h]].minority) {
					c->majority++;
					break;
				}
			}
			if (!ts->ever)
				c->never++;
		}
		if (want > sv->nslots)
			c->never += want - sv->nslots;
		c->desired += want;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		struct vnode *v = &s->v[i];
		char name[SWIM_NAME_MAX + 1];
		bool named = false;

		if (!sim_vrunning(v))
			continue;
		if (v->named < 0)
			c->no_manager++;
		for (uint32_t k = 0; k < v->ntasks; k++) {
			struct svc *sv = &x->svcs[v->tasks[k].svc];

			if (!v->tasks[k].up)
				continue;
			if (v->avail == STATE_DRAIN)
				c->drained++;
			/* global: one running replica per eligible node */
			if (sv->live && sv->spec.mode == SPEC_GLOBAL &&
			    sv->mark != i && v->avail == STATE_ACTIVE) {
				if (!named)
					sim_name_of(i, name);
				named = true;
				if (tag_match(v, &sv->spec, name)) {
					sv->mark = i;
					c->running++;
					c->majority += !v->minority;
				}
			}
		}
		for (uint32_t k = 0; k < x->nsvcs; k++) {
			struct svc *sv = &x->svcs[k];

			if (!sv->live || sv->spec.mode != SPEC_GLOBAL ||
			    v->avail != STATE_ACTIVE)
				continue;
			if (!named)
				sim_name_of(i, name);
			named = true;
			if (tag_match(v, &sv->spec, name))
				c->desired++;
		}
	}
}

void
sim_sched_sample(struct sim *s, struct sim_sample *row)
{
	struct sim_sched *x = S(s);
	struct counts c;

	row->services = x->any_service;
	row->managers = x->distinct_live;
	row->leaders = x->leaders;
	row->processes = x->processes;
	if (!x->any_service) {
		uint32_t none = 0;

		for (uint32_t i = 0; i < s->n; i++)
			if (sim_vrunning(&s->v[i]) && s->v[i].named < 0)
				none++;
		row->no_manager = none;
		return;
	}
	count_now(s, &c);
	row->desired = c.desired;
	row->running = c.running;
	row->majority = c.majority;
	row->doubled = c.doubled;
	row->no_manager = c.no_manager;
}

/* Distinct slot tables (live services, visible assignments) among the
 * running nodes. */
static uint32_t
slot_views(struct sim *s)
{
	uint64_t *h = calloc(s->n + 1, sizeof(*h));
	uint32_t n = 0, d = 0;

	if (!h)
		return 0;
	for (uint32_t i = 0; i < s->n; i++) {
		const struct state *st;
		uint64_t acc = 0x736c6f74;

		if (!sim_vrunning(&s->v[i]))
			continue;
		st = s->ops->state(s->v[i].obj);
		for (size_t k = 0; k < state_service_count(st); k++) {
			const struct state_service *sv =
				state_service_at(st, k);

			if (!state_service_live(sv))
				continue;
			acc = hash64(sv->name, strlen(sv->name), acc);
			for (uint32_t j = 0; j < sv->nslots; j++) {
				const struct state_slot *sl = &sv->slots[j];
				const char *node = state_slot_node(sv, sl);

				if (!node)
					continue;
				acc = hash_u64(acc, sl->slot);
				acc = hash64(node, strlen(node), acc);
			}
		}
		h[n++] = acc;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k;

		for (k = 0; k < i; k++)
			if (h[k] == h[i])
				break;
		if (k == i)
			d++;
		if (d > 64) /* enough to say they disagree */
			break;
	}
	free(h);
	return d;
}

static double
span(uint64_t from, uint64_t to)
{
	if (from == SIM_NEVER || to == SIM_NEVER)
		return INFINITY;
	return to > from ? (double)(to - from) / 1000.0 : 0;
}

void
sim_sched_values(struct sim *s, double *v)
{
	struct sim_sched *x = S(s);
	uint32_t nmax = x->nrslots + x->ncrashes + x->nfos + x->nrecs + 1;
	double *a = calloc(nmax, sizeof(double));
	double *b[4];
	size_t na = 0, nb = 0;
	uint64_t inc = 0, ongoing_dup = 0, unexcused_now = 0;
	double ratio = NAN;
	struct counts c;

	for (int k = 0; k < 4; k++)
		b[k] = calloc(nmax, sizeof(double));
	if (!a || !b[0] || !b[1] || !b[2] || !b[3])
		goto out;
	v[SIM_M_MANAGERS] = x->distinct_live;
	v[SIM_M_MANAGERS_MAX] = x->managers_max;
	v[SIM_M_LEADERS] = x->leaders;
	v[SIM_M_LEADERS_MAX] = x->leaders_max;
	{
		uint32_t none = 0;

		for (uint32_t i = 0; i < s->n; i++)
			if (sim_vrunning(&s->v[i]) && s->v[i].named < 0)
				none++;
		v[SIM_M_NO_MANAGER] = none;
	}

	/* failovers */
	na = 0;
	for (uint32_t k = 0; k < x->nfos; k++) {
		const struct sim_failover *f = &x->fos[k];
		double t = span(f->t_us, f->done_us);

		a[na++] = t;
		if (f->done_us == SIM_NEVER)
			inc++;
		if (f->rumour != UINT32_MAX) {
			const struct sim_rumour *ru = &s->m.rum[f->rumour];
			double d = span(ru->t0_us, ru->done_us);

			if (d > 0 && (isnan(ratio) || t / d > ratio))
				ratio = t / d;
		}
	}
	v[SIM_M_FAILOVERS] = x->nfos;
	v[SIM_M_FAILOVERS_INCOMPLETE] = (double)inc;
	sim_pct4(a, na, &v[SIM_M_FAILOVER_P50]);
	v[SIM_M_FAILOVER_RATIO_MAX] = ratio;
	v[SIM_M_MINORITY_DECISIONS] = (double)x->minority_decisions;
	{
		uint64_t us = x->minority_lead_us;

		for (uint32_t i = 0; i < s->n; i++) {
			const struct vnode *vn = &s->v[i];

			if (sim_vrunning(vn) && vn->leading && vn->minority)
				us += s->now_us - vn->lead_since_us;
		}
		v[SIM_M_MINORITY_LEADING] = (double)us / 1000.0;
	}
	if (!x->any_service)
		goto out;

	count_now(s, &c);
	v[SIM_M_SERVICES] = 0;
	for (uint32_t k = 0; k < x->nsvcs; k++)
		v[SIM_M_SERVICES] += x->svcs[k].live;
	v[SIM_M_REPLICAS_DESIRED] = c.desired;
	v[SIM_M_REPLICAS_RUNNING] = c.running;
	v[SIM_M_REPLICAS_MAJORITY] = c.majority;
	v[SIM_M_REPLICAS_MISSING] =
		c.desired > c.running ? c.desired - c.running : 0;
	v[SIM_M_PROCESSES] = x->processes;
	v[SIM_M_NEVER_RAN] = c.never;
	v[SIM_M_DOUBLED_NOW] = c.doubled;
	v[SIM_M_DRAINED_RUNNING] = c.drained;
	v[SIM_M_MISPLACED] = (double)x->misplaced;
	v[SIM_M_SLOT_VIEWS] = slot_views(s);
	/* Episodes still going count as far as they went. */
	{
		uint64_t longest = x->doubled_longest_us;

		for (uint32_t k = 0; k < x->nsvcs; k++) {
			const struct svc *sv = &x->svcs[k];

			for (uint32_t j = 0; j < sv->nslots; j++) {
				const struct tslot *ts = &sv->slots[j];
				uint64_t d;

				if (ts->dup_since_us == SIM_NEVER)
					continue;
				d = s->now_us - ts->dup_since_us;
				ongoing_dup++;
				if (d > longest)
					longest = d;
				if (!ts->dup_excused &&
				    d > s->sc->overlap_ms * 1000)
					unexcused_now++;
			}
		}
		v[SIM_M_DOUBLED] = (double)x->doubled;
		v[SIM_M_DOUBLED_UNEXCUSED] =
			(double)(x->doubled_unexcused + unexcused_now);
		v[SIM_M_DOUBLED_LONGEST] = (double)longest / 1000.0;
	}
	{
		uint64_t longest = x->gap_longest_us;

		for (uint32_t k = 0; k < x->nsvcs; k++) {
			const struct svc *sv = &x->svcs[k];

			for (uint32_t j = 0; j < sv->nslots; j++) {
				const struct tslot *ts = &sv->slots[j];

				if (ts->gap_since_us != SIM_NEVER &&
				    s->now_us - ts->gap_since_us > longest)
					longest = s->now_us - ts->gap_since_us;
			}
		}
		v[SIM_M_GAPS] = (double)x->gaps;
		v[SIM_M_GAP_LONGEST] = (double)longest / 1000.0;
	}

	/* reschedules: per crash, and the per-replica breakdown */
	na = nb = 0;
	inc = 0;
	for (uint32_t k = 0; k < x->ncrashes; k++) {
		const struct sim_rcrash *cr = &x->crashes[k];
		uint32_t dropped = 0;

		for (uint32_t j = 0; j < cr->n; j++)
			dropped += x->rslots[cr->first + j].dropped;
		if (dropped == cr->n)
			continue; /* nothing left to wait for */
		a[na++] = span(cr->t_us, cr->done_us);
		if (cr->done_us == SIM_NEVER)
			inc++;
	}
	v[SIM_M_RESCHEDULES] = (double)na;
	v[SIM_M_RESCHEDULES_INCOMPLETE] = (double)inc;
	sim_pct4(a, na, &v[SIM_M_RESCHEDULE_P50]);
	for (uint32_t k = 0; k < x->nrslots; k++) {
		const struct sim_rslot *rs = &x->rslots[k];
		const struct sim_rcrash *cr = &x->crashes[rs->crash];
		uint64_t fd, dec, asg;

		if (rs->dropped || rs->run_us == SIM_NEVER ||
		    cr->rumour == UINT32_MAX)
			continue;
		fd = s->m.rum[cr->rumour].first_dead_us;
		if (fd == SIM_NEVER || fd > rs->run_us)
			continue; /* ran again before anyone saw it die */
		asg = rs->assign_us != SIM_NEVER ? rs->assign_us : rs->run_us;
		dec = rs->decide_us != SIM_NEVER && rs->decide_us <= asg
			      ? rs->decide_us
			      : asg;
		if (dec < fd)
			dec = fd;
		b[0][nb] = span(cr->t_us, fd);
		b[1][nb] = span(fd, dec);
		b[2][nb] = span(dec, asg);
		b[3][nb] = span(asg, rs->run_us);
		nb++;
	}
	sim_pct4(b[0], nb, &v[SIM_M_RESCHED_DETECT_P50]);
	sim_pct4(b[1], nb, &v[SIM_M_RESCHED_DECIDE_P50]);
	sim_pct4(b[2], nb, &v[SIM_M_RESCHED_INFORM_P50]);
	sim_pct4(b[3], nb, &v[SIM_M_RESCHED_START_P50]);

	v[SIM_M_TASK_CRASHES] = (double)x->task_crashes;
	v[SIM_M_TASK_RESTARTS] = (double)x->task_restarts;
	v[SIM_M_TASK_REJECTED] = (double)x->task_rejected;
	na = 0;
	for (uint32_t k = 0; k < x->nrecs; k++) {
		if (x->recs[k].done_us == SIM_NEVER - 1)
			continue; /* the slot is no longer wanted */
		a[na++] = span(x->recs[k].t_us, x->recs[k].done_us);
	}
	sim_pct4(a, na, &v[SIM_M_TASK_RECOVERY_P50]);
	{
		uint32_t nr = 0, ri = 0;
		double mx = NAN;

		for (uint32_t k = 0; k < x->nrolls; k++) {
			const struct rollout *ro = &x->rolls[k];
			double t;

			if (ro->dropped)
				continue;
			nr++;
			t = span(ro->t_us, ro->done_us);
			if (ro->done_us == SIM_NEVER)
				ri++;
			if (isnan(mx) || t > mx)
				mx = t;
		}
		v[SIM_M_ROLLOUTS] = nr;
		v[SIM_M_ROLLOUTS_INCOMPLETE] = ri;
		v[SIM_M_ROLLOUT_MAX] = mx;
	}
out:
	v[SIM_M_CHANGES_REFUSED] = (double)x->changes_refused;
	free(a);
	for (int k = 0; k < 4; k++)
		free(b[k]);
	(void)ongoing_dup;
}

/* ---- life of the module ---- */

int
sim_sched_new(struct sim *s)
{
	s->sched = calloc(1, sizeof(*s->sched));
	return s->sched ? 0 : ERR_NOMEM;
}

void
sim_sched_delete(struct sim *s)
{
	struct sim_sched *x = s->sched;

	if (!x)
		return;
	for (uint32_t i = 0; i < s->n; i++) {
		free(s->v[i].tasks);
		free(s->v[i].tags);
		s->v[i].tasks = NULL;
		s->v[i].tags = NULL;
	}
	for (uint32_t k = 0; k < x->nsvcs; k++) {
		spec_destroy(&x->svcs[k].spec);
		free(x->svcs[k].slots);
	}
	for (uint32_t k = 0; k < x->nrules; k++)
		free(x->rules[k].nodes);
	free(x->svcs);
	free(x->crashes);
	free(x->rslots);
	free(x->undecided);
	free(x->fos);
	free(x->recs);
	free(x->rolls);
	free(x->rules);
	free(x->forced);
	free(x->named_cnt);
	free(x->grp);
	free(x);
	s->sched = NULL;
}

const struct sim_rcrash *
sim_sched_crashes(const struct sim *s, uint32_t *n)
{
	*n = s->sched->ncrashes;
	return s->sched->crashes;
}

const struct sim_rslot *
sim_sched_rslots(const struct sim *s, uint32_t *n)
{
	*n = s->sched->nrslots;
	return s->sched->rslots;
}

const struct sim_failover *
sim_sched_failovers(const struct sim *s, uint32_t *n)
{
	*n = s->sched->nfos;
	return s->sched->fos;
}

const char *
sim_sched_service_name(const struct sim *s, uint32_t svc)
{
	return svc < s->sched->nsvcs ? s->sched->svcs[svc].name : "?";
}
