/* SPDX-License-Identifier: MIT */
/*
 * cli/agent.c — `shoal agent`: start-up, the loop, events and shutdown.
 *
 * The agent is a thin shell around one struct node. Everything the
 * protocol decides happens inside the node; this file supplies what the
 * node may not touch (DESIGN.md §1): sockets, a clock, OS randomness,
 * signals, files and child processes. In order:
 *
 *   start     settings (cli/opts), a key to run with (checked before
 *             anything is created, so a refused start leaves nothing
 *             behind), data dir (0700) and its lock, keys (persisted
 *             keyring > --key-file > SHOAL_KEY > insecure), sockets,
 *             control socket, the node, join.
 *   run       one libev loop. UDP readable -> node_recv. TCP -> streams
 *             (agent_stream.c). Timer -> node_tick. After each, agent_pump
 *             drains the outbox (datagrams sent at once; streams started)
 *             and the events (logged, handed to handlers and monitors,
 *             the keyring persisted), then re-arms the timer.
 *   stop      SIGTERM/SIGINT or `shoal leave` -> node_leave; when the node
 *             reports SWIM_EV_LEAVE_DONE (or a bound passes) the network
 *             goes quiet and the tasks are stopped, still inside the loop
 *             (SIGTERM, SIGKILL after --task-stop-grace), and we exit 0
 *             once the last is reaped. A second signal, at any point of
 *             this, kills the tasks and exits at once with status 1: the
 *             signal watchers run until the loop ends, so it is heard.
 *
 * Randomness: the node's PRNG seed and every nonce come from libsodium's
 * randombytes here, and nowhere else in shoal. Time: cli/clock.c.
 */
#include "cli/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/ctl.h"
#include "cli/keyfile.h"
#include "cli/net.h"
#include "core/err.h"

_Static_assert(AGENT_CMD_MAX == HANDLER_CMD_MAX, "handler spec width");
_Static_assert(AGENT_HANDLERS_MAX <= HANDLER_SPECS_MAX, "handler count");

uint64_t
agent_now(struct agent *a)
{
	return agent_clock_now(&a->clock);
}

const char *
agent_event_name(enum swim_event_kind kind)
{
	switch (kind) {
	case SWIM_EV_JOIN:
		return "member-join";
	case SWIM_EV_UPDATE:
		return "member-update";
	case SWIM_EV_SUSPECT:
		return "member-suspect";
	case SWIM_EV_ALIVE:
		return "member-alive";
	case SWIM_EV_FAILED:
		return "member-failed";
	case SWIM_EV_LEFT:
		return "member-leave";
	case SWIM_EV_REAP:
		return "member-reap";
	case SWIM_EV_CONFLICT:
		return "member-conflict";
	case SWIM_EV_JOINED:
		return "join-done";
	case SWIM_EV_JOIN_FAILED:
		return "join-failed";
	case SWIM_EV_REFUTED:
		return "refute";
	case SWIM_EV_LEAVE_DONE:
		return "leave-done";
	}
	return "unknown";
}

static void
nonce_cb(void *ctx, uint8_t out[CRYPTO_NONCE_LEN])
{
	(void)ctx;
	randombytes_buf(out, CRYPTO_NONCE_LEN);
}

/* ---- the timer ---- */

static void
arm_timer(struct agent *a)
{
	uint64_t now = agent_now(a);
	uint64_t dl = node_next_deadline(a->node);
	uint64_t delay = dl > now ? dl - now : 0;

	if (delay > 60000)
		delay = 60000;
	ev_timer_stop(a->loop, &a->tick_w);
	ev_now_update(a->loop);
	ev_timer_set(&a->tick_w, (double)delay / 1000.0, 0.);
	ev_timer_start(a->loop, &a->tick_w);
}

static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;

	(void)loop;
	(void)revents;
	node_tick(a->node, agent_now(a));
	agent_pump(a);
}

/* ---- UDP ---- */

static void
send_dgram(struct agent *a, const struct swim_out *out)
{
	struct sockaddr_storage ss;
	int fam = a->bind.family == ADDR_V6 ? AF_INET6 : AF_INET;
	socklen_t sl = net_sockaddr(&out->to, fam, &ss);
	ssize_t w;

	if (!sl) {
		a->cnt.udp_send_errors++;
		return;
	}
	do
		w = sendto(a->udp_fd, out->data, out->len, 0,
			   (struct sockaddr *)&ss, sl);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		struct log_rec r;

		a->cnt.udp_send_errors++;
		if (log_begin(&r, &a->log.lg, LOG_DEBUG, "udp send failed")) {
			char to[ADDR_STR_MAX];

			addr_format(&out->to, to, sizeof(to));
			log_str(&r, "to", to);
			log_str(&r, "error", strerror(errno));
			log_end(&r);
		}
	}
}

static void
on_udp(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agent *a = w->data;

	(void)loop;
	(void)revents;
	for (int i = 0; i < AGENT_UDP_BATCH && !a->stopping; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct addr from;
		ssize_t n = recvfrom(a->udp_fd, a->rx, sizeof(a->rx), 0,
				     (struct sockaddr *)&ss, &sl);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				a->cnt.udp_recv_errors++;
			break;
		}
		if (net_addr((struct sockaddr *)&ss, sl, &from))
			continue;
		node_recv(a->node, agent_now(a), &from, a->rx, (size_t)n);
		agent_pump(a);
	}
}

/* ---- events ---- */

static enum log_level
event_level(enum swim_event_kind k)
{
	switch (k) {
	case SWIM_EV_SUSPECT:
	case SWIM_EV_FAILED:
	case SWIM_EV_CONFLICT:
	case SWIM_EV_JOIN_FAILED:
		return LOG_WARN;
	default:
		return LOG_INFO;
	}
}

/* A handler's extra environment, built on the stack. */
struct henv {
	char s[32][256];
	const char *p[32];
	size_t n;
};

static void henv_add(struct henv *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
henv_add(struct henv *h, const char *fmt, ...)
{
	va_list ap;

	if (h->n >= sizeof(h->s) / sizeof(h->s[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(h->s[h->n], sizeof(h->s[0]), fmt, ap);
	va_end(ap);
	h->p[h->n] = h->s[h->n];
	h->n++;
}

/* What every handler run gets: the event, us, our tags. */
static void
henv_common(struct agent *a, struct henv *h, const char *name, uint64_t time_ms)
{
	struct node_tag tags[NODE_TAGS_MAX];
	char self_addr[ADDR_STR_MAX];
	int ntags;

	addr_format(&a->advertise, self_addr, sizeof(self_addr));
	henv_add(h, "SHOAL_EVENT=%s", name);
	henv_add(h, "SHOAL_EVENT_TIME_MS=%llu", (unsigned long long)time_ms);
	henv_add(h, "SHOAL_SELF_NAME=%s", a->opts->name);
	henv_add(h, "SHOAL_SELF_ADDR=%s", self_addr);
	henv_add(h, "SHOAL_CLUSTER=%s", a->opts->cluster);
	/* Our own tags, like serf's SERF_TAG_*. */
	ntags = node_member_tags(a->node, a->opts->name, tags, NODE_TAGS_MAX);
	for (int i = 0; i < ntags; i++) {
		char key[NODE_TAG_KEY_MAX + 1];
		size_t k;

		for (k = 0; tags[i].key[k]; k++) {
			char c = tags[i].key[k];

			key[k] = (c >= 'a' && c <= 'z')	  ? (char)(c - 32)
				 : (c == '.' || c == '-') ? '_'
							  : c;
		}
		key[k] = '\0';
		henv_add(h, "SHOAL_TAG_%s=%s", key, tags[i].value);
	}
}

static void
run_handlers(struct agent *a, const struct swim_event *ev, const char *name)
{
	struct henv h = {.n = 0};
	char addr[ADDR_STR_MAX];
	struct node_tag tags[NODE_TAGS_MAX];
	char stdin_text[2048];
	size_t slen = 0;
	const char *role = "";
	int ntags;

	if (!handler_runner_wants(&a->handlers, name))
		return;
	addr_format(&ev->addr, addr, sizeof(addr));
	henv_common(a, &h, name, ev->time_ms);
	henv_add(&h, "SHOAL_MEMBER_NAME=%s", ev->name);
	henv_add(&h, "SHOAL_MEMBER_ADDR=%s", addr);
	henv_add(&h, "SHOAL_MEMBER_STATUS=%s", swim_state_name(ev->state));
	henv_add(&h, "SHOAL_MEMBER_INCARNATION=%llu",
		 (unsigned long long)ev->incarnation);
	/* stdin: NAME ADDRESS STATUS ROLE TAGS, tab-separated, like serf. */
	ntags = node_member_tags(a->node, ev->name, tags, NODE_TAGS_MAX);
	for (int i = 0; i < ntags; i++)
		if (strcmp(tags[i].key, "role") == 0)
			role = tags[i].value;
	slen = (size_t)snprintf(stdin_text, sizeof(stdin_text),
				"%s\t%s\t%s\t%s\t", ev->name, addr,
				swim_state_name(ev->state), role);
	for (int i = 0; i < ntags && slen < sizeof(stdin_text); i++) {
		int w = snprintf(stdin_text + slen, sizeof(stdin_text) - slen,
				 "%s%s=%s", i ? "," : "", tags[i].key,
				 tags[i].value);

		if (w < 0)
			break;
		slen += (size_t)w;
	}
	if (slen < sizeof(stdin_text) - 1)
		stdin_text[slen++] = '\n';
	else
		slen = sizeof(stdin_text) - 1;
	handler_submit(&a->handlers, name, h.p, h.n, stdin_text, slen);
}

/* manager: SHOAL_MANAGER (empty when none), _TERM, _LEADING, _STATUS;
 * stdin "MANAGER TERM LEADING STATUS" tab-separated. */
static void
run_manager_handlers(struct agent *a, const struct node_event *ev)
{
	struct node_manager_status ms;
	struct henv h = {.n = 0};
	char text[512];
	int n;

	if (!handler_runner_wants(&a->handlers, "manager"))
		return;
	node_manager_status(a->node, &ms);
	henv_common(a, &h, "manager", ev->time_ms);
	henv_add(&h, "SHOAL_MANAGER=%s", ev->manager.manager);
	henv_add(&h, "SHOAL_MANAGER_TERM=%llu",
		 (unsigned long long)ev->manager.term);
	henv_add(&h, "SHOAL_MANAGER_LEADING=%s",
		 ev->manager.leading ? "true" : "false");
	henv_add(&h, "SHOAL_MANAGER_STATUS=%s", ms.text);
	n = snprintf(text, sizeof(text), "%s\t%llu\t%s\t%s\n",
		     ev->manager.manager[0] ? ev->manager.manager : "-",
		     (unsigned long long)ev->manager.term,
		     ev->manager.leading ? "true" : "false", ms.text);
	handler_submit(&a->handlers, "manager", h.p, h.n, text,
		       n < 0			  ? 0
		       : (size_t)n < sizeof(text) ? (size_t)n
						  : sizeof(text) - 1);
}

/* task-start/stop/restart: SHOAL_SERVICE, SHOAL_SLOT, SHOAL_TASK_DIGEST;
 * stdin "SERVICE SLOT NODE DIGEST". */
static void
run_task_handlers(struct agent *a, const struct node_event *ev,
		  const char *name)
{
	struct henv h = {.n = 0};
	char text[256];
	int n;

	if (!handler_runner_wants(&a->handlers, name))
		return;
	henv_common(a, &h, name, ev->time_ms);
	henv_add(&h, "SHOAL_SERVICE=%s", ev->task.service);
	henv_add(&h, "SHOAL_SLOT=%u", (unsigned)ev->task.slot);
	henv_add(&h, "SHOAL_TASK_DIGEST=%016llx",
		 (unsigned long long)ev->task.task_digest);
	n = snprintf(text, sizeof(text), "%s\t%u\t%s\t%016llx\n",
		     ev->task.service, (unsigned)ev->task.slot, a->opts->name,
		     (unsigned long long)ev->task.task_digest);
	handler_submit(&a->handlers, name, h.p, h.n, text,
		       n < 0 ? 0 : (size_t)n);
}

/* task-exit / task-failed: also _STATE, _EXIT, _RESTARTS, _RESTART,
 * _PID, _ERROR; stdin "SERVICE SLOT NODE STATE EXIT RESTARTS". */
static void
run_exit_handlers(struct agent *a, uint64_t time_ms, const char *name,
		  const struct task_exit *e)
{
	struct henv h = {.n = 0};
	char text[256];
	int n;

	if (!handler_runner_wants(&a->handlers, name))
		return;
	henv_common(a, &h, name, time_ms);
	henv_add(&h, "SHOAL_SERVICE=%s", e->service);
	henv_add(&h, "SHOAL_SLOT=%u", (unsigned)e->slot);
	henv_add(&h, "SHOAL_TASK_DIGEST=%016llx",
		 (unsigned long long)e->digest);
	henv_add(&h, "SHOAL_TASK_STATE=%s", task_state_name(e->state));
	henv_add(&h, "SHOAL_TASK_EXIT=%d", (int)e->exit_code);
	henv_add(&h, "SHOAL_TASK_RESTARTS=%u", (unsigned)e->restarts);
	henv_add(&h, "SHOAL_TASK_RESTART=%s", e->will_restart ? "yes" : "no");
	henv_add(&h, "SHOAL_TASK_PID=%ld", (long)e->pid);
	henv_add(&h, "SHOAL_TASK_ERROR=%s", e->msg ? e->msg : "");
	n = snprintf(text, sizeof(text), "%s\t%u\t%s\t%s\t%d\t%u\n", e->service,
		     (unsigned)e->slot, a->opts->name,
		     task_state_name(e->state), (int)e->exit_code,
		     (unsigned)e->restarts);
	handler_submit(&a->handlers, name, h.p, h.n, text,
		       n < 0 ? 0 : (size_t)n);
}

static void
persist_keyring(struct agent *a)
{
	const struct keyring *kr = node_keyring(a->node);
	struct log_rec r;
	char fp[CRYPTO_FP_LEN];

	if (keyfile_write(a->keyring_path, kr)) {
		a->cnt.keyring_write_errors++;
		if (log_begin(&r, &a->log.lg, LOG_ERROR,
			      "cannot save the keyring")) {
			log_str(&r, "path", a->keyring_path);
			log_str(&r, "error", strerror(errno));
			log_end(&r);
		}
		return;
	}
	a->cnt.keyring_writes++;
	if (log_begin(&r, &a->log.lg, LOG_INFO, "keyring saved")) {
		log_str(&r, "path", a->keyring_path);
		log_u64(&r, "keys", kr->n);
		if (kr->n) {
			crypto_key_fingerprint(kr->keys[kr->primary].bytes, fp);
			log_str(&r, "primary", fp);
		}
		log_end(&r);
	}
}

/* ---- stopping ---- */

/* The node is done with the network: no more reads, timers or streams.
 * Control clients stay (a `shoal leave` answer may still be queued), and
 * so do the signal watchers. */
static void
quiesce(struct agent *a)
{
	if (a->udp_fd >= 0)
		ev_io_stop(a->loop, &a->udp_w);
	if (a->tcp_fd >= 0)
		ev_io_stop(a->loop, &a->tcp_w);
	ev_timer_stop(a->loop, &a->tick_w);
	ev_timer_stop(a->loop, &a->leave_w);
	ev_timer_stop(a->loop, &a->sweep_w);
	agent_streams_close_all(a);
}

/* Kill every task at once (SIGKILL to each group, reaped in place). */
static void
kill_tasks(struct agent *a)
{
	if (!a->tasks_ready)
		return;
	task_driver_shutdown(&a->tasks, 0);
	a->tasks_ready = false;
}

static void
on_tasks_stopped(void *ctx)
{
	struct agent *a = ctx;
	struct log_rec r;

	ev_timer_stop(a->loop, &a->stop_w);
	if (a->tasks_stopping &&
	    log_begin(&r, &a->log.lg, LOG_INFO, "tasks stopped")) {
		log_u64(&r, "tasks", a->tasks_stopping);
		log_end(&r);
	}
	ev_break(a->loop, EVBREAK_ALL);
}

/* A task that outlives its SIGKILL (uninterruptible sleep): stop waiting;
 * cleanup() tries once more. */
static void
on_stop_bound(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	struct log_rec r;

	(void)loop;
	(void)revents;
	if (log_begin(&r, &a->log.lg, LOG_WARN,
		      "tasks did not stop after SIGKILL; exiting")) {
		log_u64(&r, "tasks", task_driver_count(&a->tasks));
		log_end(&r);
	}
	ev_break(a->loop, EVBREAK_ALL);
}

/* Leave the loop with exit status `code`. 0 (the leave is over): stop the
 * tasks first, on the loop, so that a second signal is still heard; the
 * loop ends when the last one is reaped. Non-zero (a second signal): kill
 * them at once and end the loop now. Either way "agent stopped" is logged
 * after the tasks are gone. */
static void
stop_loop(struct agent *a, int code)
{
	struct log_rec r;

	if (code) {
		a->stopping = true;
		a->exit_code = code;
		quiesce(a);
		ev_timer_stop(a->loop, &a->stop_w);
		kill_tasks(a);
		ev_break(a->loop, EVBREAK_ALL);
		return;
	}
	if (a->stopping)
		return; /* already stopping the tasks */
	a->stopping = true;
	a->exit_code = 0;
	quiesce(a);
	if (!a->tasks_ready) {
		ev_break(a->loop, EVBREAK_ALL);
		return;
	}
	a->tasks_stopping = task_driver_count(&a->tasks);
	if (a->tasks_stopping &&
	    log_begin(&r, &a->log.lg, LOG_INFO, "stopping tasks")) {
		log_u64(&r, "tasks", a->tasks_stopping);
		log_u64(&r, "grace_ms", a->tasks.stop_grace_ms);
		log_end(&r);
	}
	/* SIGKILL comes at the grace; the bound is for what ignores it. */
	ev_timer_set(&a->stop_w,
		     (a->tasks.stop_grace_ms + AGENT_STOP_SLACK_MS) / 1000.0,
		     0.);
	ev_timer_start(a->loop, &a->stop_w);
	/* May call on_tasks_stopped() at once. */
	task_driver_stop_all(&a->tasks, on_tasks_stopped, a);
}

static void
on_manager(struct agent *a, const struct node_event *ev)
{
	struct node_manager_status ms;
	struct log_rec r;

	node_manager_status(a->node, &ms);
	if (log_begin(&r, &a->log.lg,
		      ev->manager.manager[0] ? LOG_INFO : LOG_WARN,
		      "manager event")) {
		log_str(&r, "event", "manager");
		log_str(&r, "manager",
			ev->manager.manager[0] ? ev->manager.manager : "-");
		log_u64(&r, "term", ev->manager.term);
		log_bool(&r, "leading", ev->manager.leading);
		if (!ev->manager.manager[0])
			log_str(&r, "status", ms.text);
		log_end(&r);
	}
	agent_ctl_event(a, ev);
	run_manager_handlers(a, ev);
}

/* A tombstone in the replicated state: the service was removed. */
static bool
service_gone(void *ctx, const char *service)
{
	struct agent *a = ctx;
	const struct state_service *sv =
		state_service_find(node_state(a->node), service);

	return sv && sv->has_rec && sv->removed;
}

static void
on_task(struct agent *a, const struct node_event *ev)
{
	const char *name = node_event_name(ev);
	struct log_rec r;

	if (log_begin(&r, &a->log.lg, LOG_DEBUG, "task event")) {
		log_str(&r, "event", name);
		log_str(&r, "service", ev->task.service);
		log_u64(&r, "slot", ev->task.slot);
		log_end(&r);
	}
	agent_ctl_event(a, ev);
	run_task_handlers(a, ev, name);
	if (!a->tasks_ready)
		return;
	/* ev->task.spec is valid until our next call into the node, which
	 * the driver's first report is: it copies the spec before that. */
	switch (ev->kind) {
	case NODE_EV_TASK_START:
		task_driver_start(&a->tasks, ev->task.service, ev->task.slot,
				  ev->task.task_digest, ev->task.spec);
		break;
	case NODE_EV_TASK_STOP:
		task_driver_stop(&a->tasks, ev->task.service, ev->task.slot,
				 ev->task.spec == NULL);
		if (!ev->task.spec)
			task_driver_sweep_logs(&a->tasks, service_gone, a);
		break;
	case NODE_EV_TASK_RESTART:
		task_driver_restart(&a->tasks, ev->task.service, ev->task.slot,
				    ev->task.task_digest, ev->task.spec);
		break;
	default:
		break;
	}
}

static void
on_event(struct agent *a, const struct node_event *ev)
{
	const struct swim_event *m = &ev->member;
	const char *name;
	struct log_rec r;

	switch (ev->kind) {
	case NODE_EV_KEYRING:
		persist_keyring(a);
		return;
	case NODE_EV_MANAGER:
		on_manager(a, ev);
		return;
	case NODE_EV_TASK_START:
	case NODE_EV_TASK_STOP:
	case NODE_EV_TASK_RESTART:
		on_task(a, ev);
		return;
	case NODE_EV_MEMBER:
		break;
	}
	if (ev->kind != NODE_EV_MEMBER)
		return;
	name = agent_event_name(m->kind);
	if (log_begin(&r, &a->log.lg, event_level(m->kind), "member event")) {
		char addr[ADDR_STR_MAX];

		addr_format(&m->addr, addr, sizeof(addr));
		log_str(&r, "event", name);
		log_str(&r, "member", m->name);
		log_str(&r, "addr", addr);
		log_str(&r, "status", swim_state_name(m->state));
		log_u64(&r, "incarnation", m->incarnation);
		log_end(&r);
	}
	agent_ctl_event(a, ev);
	run_handlers(a, m, name);
	if (m->kind == SWIM_EV_LEAVE_DONE) {
		log_begin(&r, &a->log.lg, LOG_INFO, "left the cluster");
		log_end(&r);
		stop_loop(a, 0);
	}
}

/* ---- tasks: the driver's reports go to the node ---- */

static void
on_pump_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	agent_pump(w->data);
}

static uint64_t
task_now(void *ctx)
{
	return agent_now(ctx);
}

/* While agent_pump() drains the node's events, reports wait in a queue
 * that it empties into the node once the events are drained: the driver
 * reports while the agent handles a TASK_* event, and the node must not
 * be changed while events that point into its state are still waiting.
 * A newer report of a waiting slot replaces the older one (the last
 * state is what counts). Outside the pump a report goes to the node at
 * once, and the pump that sends its gossip runs from the loop, after the
 * driver's callback has returned. */
static void
task_report(void *ctx, const struct state_task *t)
{
	struct agent *a = ctx;
	struct agent_report *q = NULL;

	if (!a->node || a->stopping)
		return;
	if (!a->in_pump) {
		if (node_task_report(a->node, agent_now(a), t) &&
		    state_service_live(state_service_find(node_state(a->node),
							  t->service)))
			a->cnt.reports_dropped++;
		if (!ev_is_active(&a->pump_w)) {
			ev_timer_set(&a->pump_w, 0., 0.);
			ev_timer_start(a->loop, &a->pump_w);
		}
		return;
	}
	for (unsigned i = 0; i < a->nreports; i++)
		if (a->reports[i].t.slot == t->slot &&
		    strcmp(a->reports[i].service, t->service) == 0)
			q = &a->reports[i];
	if (!q && a->nreports == a->reports_cap) {
		unsigned cap = a->reports_cap ? a->reports_cap * 2 : 64;
		struct agent_report *r =
			cap <= AGENT_REPORTS_MAX
				? realloc(a->reports, cap * sizeof(*r))
				: NULL;

		if (!r) {
			a->cnt.reports_dropped++;
			return;
		}
		a->reports = r;
		a->reports_cap = cap;
		/* The strings point into the entries: re-aim them. */
		for (unsigned i = 0; i < a->nreports; i++) {
			a->reports[i].t.service = a->reports[i].service;
			if (a->reports[i].t.msg)
				a->reports[i].t.msg = a->reports[i].msg;
		}
	}
	if (!q)
		q = &a->reports[a->nreports++];
	q->t = *t;
	snprintf(q->service, sizeof(q->service), "%s", t->service);
	snprintf(q->msg, sizeof(q->msg), "%s", t->msg ? t->msg : "");
	q->t.service = q->service;
	q->t.msg = t->msg ? q->msg : NULL;
	a->pump_again = true;
}

static void
flush_reports(struct agent *a)
{
	uint64_t now = agent_now(a);

	for (unsigned i = 0; i < a->nreports; i++) {
		int rc = node_task_report(a->node, now, &a->reports[i].t);

		if (rc && rc != ERR_NOENT)
			a->cnt.reports_dropped++;
	}
	a->nreports = 0;
}

static void
task_exited(void *ctx, const struct task_exit *e)
{
	struct agent *a = ctx;
	const char *name =
		e->state == TASK_COMPLETE ? "task-exit" : "task-failed";
	uint64_t now = agent_now(a);

	agent_ctl_task_exit(a, now, name, e);
	run_exit_handlers(a, now, name, e);
}

/* Is this stream request one of the node's join attempts? (While the
 * join is pending, the only streams to a seed address are joins.) */
static bool
is_join_request(const struct agent *a, const struct swim_out *out)
{
	if (out->kind != SWIM_OUT_STREAM_REQ ||
	    !swim_is_joining(node_swim(a->node)))
		return false;
	for (unsigned i = 0; i < a->nseeds; i++)
		if (addr_equal(&out->to, &a->seeds[i]))
			return true;
	return false;
}

/* A join round began (the node asks every seed at once, in one call; the
 * next round starts only after the last one's streams failed): after a
 * few without an answer, say so. A seed that is up but has another key
 * or cluster name drops our frames like any stranger's, and the node
 * would otherwise retry in silence, forever. */
static void
on_join_round(struct agent *a)
{
	unsigned failed = a->join_rounds++;
	char seed[ADDR_STR_MAX];
	struct log_rec r;

	if (failed < AGENT_JOIN_WARN_ROUNDS ||
	    (failed - AGENT_JOIN_WARN_ROUNDS) % AGENT_JOIN_WARN_EVERY)
		return;
	if (!log_begin(&r, &a->log.lg, LOG_WARN,
		       "no seed answered: check the key and the cluster name"))
		return;
	addr_format(&a->seeds[0], seed, sizeof(seed));
	log_u64(&r, "attempts", failed);
	log_u64(&r, "seeds", a->nseeds);
	log_str(&r, "seed", seed);
	log_str(&r, "cluster", a->opts->cluster);
	log_end(&r);
}

void
agent_pump(struct agent *a)
{
	struct swim_out out;
	struct node_event ev;

	if (a->in_pump) {
		a->pump_again = true;
		return;
	}
	a->in_pump = true;
	do {
		bool join_round = false;

		a->pump_again = false;
		while (node_pop_out(a->node, &out)) {
			if (out.kind == SWIM_OUT_DGRAM) {
				send_dgram(a, &out);
				continue;
			}
			join_round |= is_join_request(a, &out);
			agent_stream_out(a, &out);
		}
		if (join_round)
			on_join_round(a);
		while (node_pop_event(a->node, &ev))
			on_event(a, &ev);
		if (a->nreports && !a->stopping) {
			flush_reports(a);
			a->pump_again = true;
		}
		if (a->nfailed) {
			uint32_t id = a->failed[--a->nfailed];

			node_stream_failed(a->node, agent_now(a), id);
			a->pump_again = true;
		}
	} while (a->pump_again);
	a->in_pump = false;
	if (!a->stopping)
		arm_timer(a);
}

/* ---- leave and signals ---- */

static void
on_leave_bound(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	struct log_rec r;

	(void)loop;
	(void)revents;
	if (log_begin(&r, &a->log.lg, LOG_WARN,
		      "leave did not finish in time; exiting")) {
		log_end(&r);
	}
	stop_loop(a, 0);
}

int
agent_leave(struct agent *a)
{
	int rc;
	struct log_rec r;

	if (a->leaving)
		return ERR_STATE;
	if (log_begin(&r, &a->log.lg, LOG_INFO, "leaving the cluster"))
		log_end(&r);
	rc = node_leave(a->node, agent_now(a));
	if (rc)
		return rc;
	a->leaving = true;
	ev_timer_init(&a->leave_w, on_leave_bound,
		      (swim_profile(node_swim(a->node))->leave_timeout_ms +
		       AGENT_LEAVE_GRACE_MS) /
			      1000.0,
		      0.);
	a->leave_w.data = a;
	ev_timer_start(a->loop, &a->leave_w);
	agent_pump(a);
	return 0;
}

static void
reload(struct agent *a)
{
	struct keyring kr;
	char why[256];
	enum log_level lvl;
	struct log_rec r;
	int rc;

	rc = agent_opts_reload_log_level(a->opts, a->argc, a->argv, &lvl, why,
					 sizeof(why));
	if (rc) {
		if (log_begin(&r, &a->log.lg, LOG_ERROR,
			      "reload: settings not reloaded")) {
			log_str(&r, "error", why);
			log_end(&r);
		}
	} else {
		agent_log_set_level(&a->log, lvl);
		if (log_begin(&r, &a->log.lg, LOG_INFO, "reload: log level")) {
			log_str(&r, "level", log_level_name(lvl));
			log_end(&r);
		}
	}
	if (!keyring_is_secure(node_keyring(a->node)))
		return;
	rc = keyfile_read(a->keyring_path, &kr, why, sizeof(why));
	if (rc) {
		if (log_begin(&r, &a->log.lg, LOG_ERROR,
			      "reload: keyring not reloaded")) {
			log_str(&r, "path", a->keyring_path);
			log_str(&r, "error", why);
			log_end(&r);
		}
		return;
	}
	rc = node_set_keyring(a->node, agent_now(a), &kr);
	sodium_memzero(&kr, sizeof(kr));
	if (log_begin(&r, &a->log.lg, rc ? LOG_ERROR : LOG_INFO,
		      rc ? "reload: keyring refused" : "reload: keyring")) {
		log_str(&r, "path", a->keyring_path);
		log_u64(&r, "keys", node_keyring(a->node)->n);
		if (rc)
			log_err(&r, rc);
		log_end(&r);
	}
	agent_pump(a);
}

static void
on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct agent *a = w->data;
	struct log_rec r;

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP) {
		if (log_begin(&r, &a->log.lg, LOG_INFO, "SIGHUP: reloading"))
			log_end(&r);
		reload(a);
		return;
	}
	if (++a->signals > 1 || a->stopping) {
		if (log_begin(&r, &a->log.lg, LOG_WARN,
			      "second signal: exiting now")) {
			log_str(&r, "signal", strsignal(w->signum));
			log_end(&r);
		}
		stop_loop(a, 1);
		return;
	}
	if (log_begin(&r, &a->log.lg, LOG_INFO, "signal: leaving gracefully")) {
		log_str(&r, "signal", strsignal(w->signum));
		log_end(&r);
	}
	if (a->leaving)
		return;
	if (agent_leave(a)) {
		/* The node refused (already stopped): nothing to wait for. */
		stop_loop(a, 0);
	}
}

/* ---- start-up ---- */

static void
log_tap(void *ctx, enum log_level level, const char *line, size_t len)
{
	struct agent *a = ctx;

	if (a->in_tap)
		return;
	a->in_tap = true;
	agent_ctl_log(a, level, line, len);
	a->in_tap = false;
}

static int start_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int
start_error(const char *fmt, ...)
{
	va_list ap;

	fputs("shoal agent: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* Where the data dir and its files are; creates nothing. */
static int
setup_paths(struct agent *a)
{
	struct agent_opts *o = a->opts;
	int n;

	if (o->data_dir[0])
		snprintf(a->data_dir, sizeof(a->data_dir), "%s", o->data_dir);
	else if (agent_default_data_dir(a->data_dir, sizeof(a->data_dir)))
		return start_error("no data dir: set HOME or pass --data-dir");
	snprintf(a->keyring_path, sizeof(a->keyring_path), "%s/%s", a->data_dir,
		 KEYFILE_KEYRING_NAME);
	snprintf(a->lock_path, sizeof(a->lock_path), "%s/agent.lock",
		 a->data_dir);
	if (o->socket[0])
		n = snprintf(a->socket_path, sizeof(a->socket_path), "%s",
			     o->socket);
	else
		n = snprintf(a->socket_path, sizeof(a->socket_path), "%s/%s",
			     a->data_dir, CTL_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(a->socket_path))
		return start_error("control socket path is longer than %zu "
				   "bytes; pass a shorter --socket",
				   sizeof(a->socket_path) - 1);
	return 0;
}

/* Make the data dir (0700) and take its lock. */
static int
take_data_dir(struct agent *a)
{
	char why[512];

	if (agent_mkdir_private(a->data_dir, why, sizeof(why)))
		return start_error("data dir: %s", why);
	a->lock_fd = open(a->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (a->lock_fd < 0)
		return start_error("%s: %s", a->lock_path, strerror(errno));
	if (flock(a->lock_fd, LOCK_EX | LOCK_NB))
		return start_error("another agent is running with data dir "
				   "%s",
				   a->data_dir);
	return 0;
}

static const char no_key_msg[] =
	"no encryption key: make one with `shoal keygen > shoal.key` and "
	"pass --key-file shoal.key (or set SHOAL_KEY), or run with "
	"--insecure-no-encryption";

/* The key given by --key-file or SHOAL_KEY (one of them is set) into kr;
 * a start-up error if it cannot be read. */
static int
read_given_key(struct agent *a, struct keyring *kr)
{
	struct agent_opts *o = a->opts;
	char why[256];

	if (o->key_file[0]) {
		if (keyfile_read(o->key_file, kr, why, sizeof(why)))
			return start_error("--key-file %s: %s", o->key_file,
					   why);
	} else if (keyfile_parse(o->key, strlen(o->key), kr, why,
				 sizeof(why))) {
		return start_error("SHOAL_KEY: %s (make a key with "
				   "`shoal keygen`)",
				   why);
	}
	return 0;
}

/* Before anything is created: refuse a start that has no key to run
 * with (none given, none persisted, not insecure) or whose given key
 * cannot be read, so that a refused start leaves no data dir or lock
 * behind. A persisted keyring wins over the given key (load_keys), so
 * with one on disk there is nothing to check here. */
static int
check_keys(struct agent *a)
{
	struct agent_opts *o = a->opts;
	struct keyring kr;
	struct stat sb;
	int rc;

	if (stat(a->keyring_path, &sb) == 0 || errno != ENOENT)
		return 0; /* persisted, or load_keys says what is wrong */
	if (!o->key_file[0] && !o->key[0])
		return o->insecure ? 0 : start_error("%s", no_key_msg);
	rc = read_given_key(a, &kr);
	sodium_memzero(&kr, sizeof(kr));
	return rc;
}

static int
load_keys(struct agent *a, struct keyring *kr)
{
	struct agent_opts *o = a->opts;
	char why[256];
	struct log_rec r;
	int rc;

	rc = keyfile_read(a->keyring_path, kr, why, sizeof(why));
	if (rc == 0) {
		if (o->insecure)
			return start_error("%s holds a keyring but "
					   "--insecure-no-encryption was "
					   "given; remove the file to run "
					   "unencrypted",
					   a->keyring_path);
		if (log_begin(&r, &a->log.lg, LOG_INFO,
			      "using the persisted keyring")) {
			log_str(&r, "path", a->keyring_path);
			log_u64(&r, "keys", kr->n);
			log_end(&r);
		}
		if (o->key_file[0] || o->key[0]) {
			struct keyring given;

			if ((o->key_file[0]
				     ? keyfile_read(o->key_file, &given, why,
						    sizeof(why))
				     : keyfile_parse(o->key, strlen(o->key),
						     &given, why,
						     sizeof(why))) == 0 &&
			    keyring_find(kr, given.keys[given.primary].bytes) <
				    0 &&
			    log_begin(&r, &a->log.lg, LOG_WARN,
				      "the persisted keyring wins over the "
				      "given key, which it does not hold; "
				      "delete it to start over")) {
				log_str(&r, "path", a->keyring_path);
				log_end(&r);
			}
			sodium_memzero(&given, sizeof(given));
		}
		return 0;
	}
	if (rc != ERR_NOENT)
		return start_error("%s: %s", a->keyring_path, why);
	if (o->key_file[0] || o->key[0]) {
		if (read_given_key(a, kr))
			return 1;
	} else if (o->insecure) {
		keyring_init(kr);
		if (log_begin(&r, &a->log.lg, LOG_WARN,
			      "encryption is OFF (--insecure-no-encryption): "
			      "anyone on the network can read and forge "
			      "gossip")) {
			log_end(&r);
		}
		return 0;
	} else {
		return start_error("%s", no_key_msg);
	}
	if (keyfile_write(a->keyring_path, kr))
		return start_error("cannot write %s: %s", a->keyring_path,
				   strerror(errno));
	return 0;
}

static int
setup_net(struct agent *a)
{
	struct agent_opts *o = a->opts;
	struct addr want;
	char why[256];
	struct log_rec r;

	agent_parse_bind(&want, o->bind); /* validated */
	if (net_bind_pair(&want, &a->udp_fd, &a->tcp_fd, &a->bind, why,
			  sizeof(why)))
		return start_error("%s", why);
	if (o->advertise[0]) {
		addr_parse(&a->advertise, o->advertise, a->bind.port);
		if (a->advertise.port == 0)
			a->advertise.port = a->bind.port;
	} else if (addr_is_any(&a->bind)) {
		if (net_pick_advertise(a->bind.family, &a->advertise)) {
			if (a->bind.family == ADDR_V6)
				addr_parse(&a->advertise, "::1", 0);
			else
				addr_v4(&a->advertise, 127, 0, 0, 1, 0);
			if (log_begin(&r, &a->log.lg, LOG_WARN,
				      "no non-loopback address to advertise; "
				      "using loopback (set --advertise)"))
				log_end(&r);
		}
		a->advertise.port = a->bind.port;
	} else {
		a->advertise = a->bind;
	}
	a->nseeds = 0;
	for (unsigned i = 0; i < o->njoin; i++) {
		struct addr s;

		if (net_resolve(o->join[i], AGENT_PORT_DEFAULT,
				a->advertise.family, &s, why, sizeof(why)))
			return start_error("--join %s: %s", o->join[i], why);
		if (addr_equal(&s, &a->advertise) || addr_equal(&s, &a->bind))
			continue; /* ourselves: the seed of a new cluster */
		a->seeds[a->nseeds++] = s;
	}
	return 0;
}

static int
setup_node(struct agent *a, const struct keyring *kr)
{
	struct agent_opts *o = a->opts;
	struct node_config cfg;
	struct node_env env;
	int err = 0;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.swim.name, sizeof(cfg.swim.name), "%s", o->name);
	cfg.swim.addr = a->advertise;
	cfg.swim.start_ms = agent_now(a);
	randombytes_buf(&cfg.swim.seed, sizeof(cfg.swim.seed));
	snprintf(cfg.swim.cluster, sizeof(cfg.swim.cluster), "%s", o->cluster);
	cfg.swim.prof = o->prof;
	for (unsigned i = 0; i < o->ntag; i++) {
		if (node_tag_parse(o->tag[i], &cfg.tags[i]))
			return start_error("--tag %s: keys are 1..32 of "
					   "[A-Za-z0-9._-], values up to 64 "
					   "printable characters without "
					   "'=' or ','",
					   o->tag[i]);
	}
	cfg.ntags = o->ntag;
	memset(&env, 0, sizeof(env));
	env.pool = &a->pool;
	env.log = &a->log.lg;
	env.nonce = nonce_cb;
	env.nonce_ctx = a;
	a->node = node_new(&cfg, kr, &env, &err);
	if (!a->node)
		return start_error("cannot start the node: %s", err_str(err));
	return 0;
}

/* Now and then, the logs of removed services that no task event
 * announced here (their tasks had moved away). */
static void
on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;

	(void)loop;
	(void)revents;
	if (a->tasks_ready)
		task_driver_sweep_logs(&a->tasks, service_gone, a);
}

static int
setup_tasks(struct agent *a)
{
	struct task_driver_config tc;
	struct task_driver_ops ops;
	char why[256];
	int n;

	n = snprintf(a->tasks_dir, sizeof(a->tasks_dir), "%s/tasks",
		     a->data_dir);
	if (n < 0 || (size_t)n >= sizeof(a->tasks_dir))
		return start_error("data dir path too long");
	memset(&tc, 0, sizeof(tc));
	tc.dir = a->tasks_dir;
	tc.node = a->opts->name;
	tc.cluster = a->opts->cluster;
	tc.stop_grace_ms = a->opts->stop_grace_ms;
	tc.max_tasks = a->opts->max_tasks_n;
	tc.log_max = a->opts->log_max_bytes;
	memset(&ops, 0, sizeof(ops));
	ops.report = task_report;
	ops.exited = task_exited;
	ops.now = task_now;
	ops.ctx = a;
	if (task_driver_init(&a->tasks, a->loop, &a->log.lg, &tc, &ops, why,
			     sizeof(why)))
		return start_error("tasks: %s", why);
	a->tasks_ready = true;
	task_driver_reap_stale(&a->tasks);
	ev_timer_start(a->loop, &a->sweep_w);
	return 0;
}

static void
cleanup(struct agent *a)
{
	/* The loop stopped the tasks (or killed them, after a second
	 * signal); only a start-up error or a task that survived SIGKILL
	 * leaves anything here, and that is killed at once. */
	kill_tasks(a);
	ev_timer_stop(a->loop, &a->stop_w);
	ev_timer_stop(a->loop, &a->pump_w);
	ev_timer_stop(a->loop, &a->sweep_w);
	free(a->reports);
	a->reports = NULL;
	if (a->exit_code == 0)
		agent_ctl_flush(a, 1000); /* a forced exit does not wait */
	agent_ctl_close_all(a);
	agent_streams_close_all(a);
	handler_runner_destroy(&a->handlers);
	if (a->udp_fd >= 0) {
		ev_io_stop(a->loop, &a->udp_w);
		close(a->udp_fd);
	}
	if (a->tcp_fd >= 0) {
		ev_io_stop(a->loop, &a->tcp_w);
		close(a->tcp_fd);
	}
	ev_timer_stop(a->loop, &a->tick_w);
	ev_timer_stop(a->loop, &a->leave_w);
	ev_signal_stop(a->loop, &a->sigterm_w);
	ev_signal_stop(a->loop, &a->sigint_w);
	ev_signal_stop(a->loop, &a->sighup_w);
	node_delete(a->node);
	a->node = NULL;
	intern_destroy(&a->pool);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
}

static void
on_tcp_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	agent_stream_accept(w->data);
}

int
agent_main(int argc, char **argv)
{
	struct agent *a;
	struct keyring kr;
	char err[512];
	char host[256];
	char baddr[ADDR_STR_MAX], aaddr[ADDR_STR_MAX];
	struct log_rec r;
	int rc = 1;

	a = calloc(1, sizeof(*a));
	if (!a)
		return start_error("out of memory");
	a->opts = calloc(1, sizeof(*a->opts));
	if (!a->opts) {
		free(a);
		return start_error("out of memory");
	}
	a->udp_fd = a->tcp_fd = a->ctl_fd = a->lock_fd = -1;
	a->monitor_log_level = -1;
	a->argc = argc;
	a->argv = argv;
	if (agent_opts_load(a->opts, argc, argv, err, sizeof(err))) {
		start_error("%s", err);
		rc = 2;
		goto out_free;
	}
	if (a->opts->help) {
		fputs(agent_opts_usage, stdout);
		rc = 0;
		goto out_free;
	}
	/* Children (event handlers) must never see the key. */
	unsetenv("SHOAL_KEY");
	if (!a->opts->name[0]) {
		if (gethostname(host, sizeof(host)) || !host[0]) {
			start_error("no hostname: pass --name");
			goto out_free;
		}
		host[sizeof(host) - 1] = '\0';
		if (strlen(host) > 64 || !swim_name_valid(host, strlen(host))) {
			start_error("the hostname \"%.64s\" is not a valid "
				    "member name; pass --name",
				    host);
			goto out_free;
		}
		strcpy(a->opts->name, host);
	}
	if (sodium_init() < 0) {
		start_error("libsodium failed to start");
		goto out_free;
	}
	signal(SIGPIPE, SIG_IGN);
	agent_clock_init(&a->clock);
	a->start_mono_ms = agent_mono_ms();
	agent_log_init(&a->log, STDERR_FILENO, a->opts->log_level);
	a->log.tap = log_tap;
	a->log.tap_ctx = a;
	intern_init(&a->pool);
	a->loop = ev_default_loop(EVFLAG_AUTO);
	if (!a->loop) {
		start_error("cannot start libev");
		goto out_free;
	}
	ev_timer_init(&a->tick_w, on_tick, 0., 0.);
	a->tick_w.data = a;
	ev_timer_init(&a->leave_w, on_leave_bound, 0., 0.);
	a->leave_w.data = a;
	ev_timer_init(&a->pump_w, on_pump_soon, 0., 0.);
	a->pump_w.data = a;
	ev_timer_init(&a->sweep_w, on_sweep, AGENT_SWEEP_S, AGENT_SWEEP_S);
	a->sweep_w.data = a;
	ev_timer_init(&a->stop_w, on_stop_bound, 0., 0.);
	a->stop_w.data = a;
	if (setup_paths(a) || check_keys(a) || take_data_dir(a))
		goto out_cleanup;
	if (load_keys(a, &kr))
		goto out_cleanup;
	if (handler_runner_init(
		    &a->handlers, a->loop, &a->log.lg, NULL,
		    (const char(*)[HANDLER_CMD_MAX])a->opts->handler,
		    a->opts->nhandler, err, sizeof(err))) {
		start_error("--event-handler: %s", err);
		goto out_cleanup;
	}
	if (setup_net(a) || setup_node(a, &kr)) {
		sodium_memzero(&kr, sizeof(kr));
		goto out_cleanup;
	}
	sodium_memzero(&kr, sizeof(kr));
	if (setup_tasks(a))
		goto out_cleanup;
	if (agent_ctl_listen(a, err, sizeof(err))) {
		start_error("control socket: %s", err);
		goto out_cleanup;
	}

	ev_io_init(&a->udp_w, on_udp, a->udp_fd, EV_READ);
	a->udp_w.data = a;
	ev_io_start(a->loop, &a->udp_w);
	ev_io_init(&a->tcp_w, on_tcp_accept, a->tcp_fd, EV_READ);
	a->tcp_w.data = a;
	ev_io_start(a->loop, &a->tcp_w);
	ev_signal_init(&a->sigterm_w, on_signal, SIGTERM);
	ev_signal_init(&a->sigint_w, on_signal, SIGINT);
	ev_signal_init(&a->sighup_w, on_signal, SIGHUP);
	a->sigterm_w.data = a->sigint_w.data = a->sighup_w.data = a;
	ev_signal_start(a->loop, &a->sigterm_w);
	ev_signal_start(a->loop, &a->sigint_w);
	ev_signal_start(a->loop, &a->sighup_w);

	addr_format(&a->bind, baddr, sizeof(baddr));
	addr_format(&a->advertise, aaddr, sizeof(aaddr));
	if (log_begin(&r, &a->log.lg, LOG_INFO, "agent started")) {
		log_str(&r, "name", a->opts->name);
		log_str(&r, "bind", baddr);
		log_str(&r, "advertise", aaddr);
		log_str(&r, "cluster", a->opts->cluster);
		log_str(&r, "profile", a->opts->prof.name);
		log_bool(&r, "encrypted",
			 keyring_is_secure(node_keyring(a->node)));
		log_str(&r, "data_dir", a->data_dir);
		log_str(&r, "socket", a->socket_path);
		log_str(&r, "version", SHOAL_VERSION);
		log_end(&r);
	}
	if (a->nseeds) {
		/* Its first round is in the outbox: counted by the pump. */
		int jr = node_join(a->node, agent_now(a), a->seeds, a->nseeds);

		if (log_begin(&r, &a->log.lg, jr ? LOG_ERROR : LOG_INFO,
			      "joining")) {
			for (unsigned i = 0; i < a->nseeds && i < 4; i++) {
				char s[ADDR_STR_MAX];

				addr_format(&a->seeds[i], s, sizeof(s));
				log_str(&r, "seed", s);
			}
			log_u64(&r, "seeds", a->nseeds);
			if (jr)
				log_err(&r, jr);
			log_end(&r);
		}
	}
	agent_pump(a);
	ev_run(a->loop, 0);
	rc = a->exit_code;
	/* `shoal leave` hears back once the leave has spread and the tasks
	 * are stopped (cleanup() writes it): a script that runs `shoal leave
	 * && shutdown` cuts neither short. Not after a second signal. */
	if (rc == 0)
		agent_ctl_leave_done(a);
	if (log_begin(&r, &a->log.lg, LOG_INFO, "agent stopped")) {
		log_i64(&r, "exit", rc);
		log_end(&r);
	}
out_cleanup:
	cleanup(a);
out_free:
	free(a->opts);
	free(a);
	return rc;
}
