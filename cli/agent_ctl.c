/* SPDX-License-Identifier: MIT */
/*
 * cli/agent_ctl.c — the control socket: where `shoal members`, `keys`,
 * `monitor`, `leave` ... reach the agent.
 *
 * Who may connect: the socket lives in the data dir (mode 0700) and is
 * itself mode 0600, so the file system already keeps other users out;
 * SO_PEERCRED is checked as well (our uid or root), so a socket moved
 * with --socket to a laxer directory is still private.
 *
 * What they may send: frames of at most CTL_REQ_MAX bytes holding one
 * msgpack request each (cli/ctl.h), decoded strictly. A bad request gets an
 * error response and the connection stays usable; an oversized or empty
 * frame gets an error response and the connection is closed after it,
 * because the byte stream can no longer be trusted to be in step. No
 * input from a client can stop the agent or make it allocate beyond the
 * bounds in cli/agent.h.
 *
 * Responses are queued per connection and written when the socket is
 * writable. A monitor connection receives event frames; when a monitor
 * reads too slowly and its queue passes AGENT_MONITOR_BUF_MAX, further
 * frames are dropped and a {"dropped": n} frame says so once it drains.
 * A leave request is answered only when the leave has finished, just
 * before the agent exits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <poll.h>
#include <sodium.h>

#include "cli/agent.h"
#include "cli/ctl.h"
#include "cli/frame.h"
#include "cli/keyfile.h"
#include "cli/svc.h"
#include "cli/task.h"
#include "core/err.h"

struct agent_ctl_conn {
	struct agent *a;
	struct agent_ctl_conn *next, *prev;
	int fd;
	ev_io io;
	ev_timer idle;
	struct buf in;
	struct buf out;
	size_t out_off;
	bool close_after; /* close once out is written */
	bool monitor;
	bool leave_pending;
	uint64_t leave_seq;
	uint64_t monitor_seq;
	int logs; /* monitor: log level streamed, or -1 */
	uint64_t dropped;
	bool dead;
};

static void conn_update(struct agent_ctl_conn *c);

static void
conn_free(struct agent_ctl_conn *c)
{
	struct agent *a = c->a;

	ev_io_stop(a->loop, &c->io);
	ev_timer_stop(a->loop, &c->idle);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		a->ctls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	a->nctls--;
	if (c->monitor)
		a->nmonitors--;
	buf_release(&c->in);
	buf_release(&c->out);
	free(c);
	/* Recompute the most verbose log level any monitor wants. */
	a->monitor_log_level = -1;
	for (c = a->ctls; c; c = c->next)
		if (c->monitor && c->logs > a->monitor_log_level)
			a->monitor_log_level = c->logs;
	agent_log_set_tap_level(&a->log, a->monitor_log_level);
}

/* Write what is queued. false if the connection was freed. */
static bool
conn_flush(struct agent_ctl_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t w = send(c->fd, c->out.data + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0) {
			conn_free(c);
			return false;
		}
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out.len) {
		buf_reset(&c->out);
		c->out_off = 0;
		if (c->close_after) {
			conn_free(c);
			return false;
		}
	} else if (c->out_off > (1u << 20)) {
		/* Compact so a long-lived monitor's buffer does not creep. */
		memmove(c->out.data, c->out.data + c->out_off,
			c->out.len - c->out_off);
		c->out.len -= c->out_off;
		c->out_off = 0;
	}
	return true;
}

static void
conn_update(struct agent_ctl_conn *c)
{
	int ev = 0;

	if (!c->close_after)
		ev |= EV_READ;
	if (c->out_off < c->out.len)
		ev |= EV_WRITE;
	if ((c->io.events & (EV_READ | EV_WRITE)) == ev && ev_is_active(&c->io))
		return;
	ev_io_stop(c->a->loop, &c->io);
	ev_io_set(&c->io, c->fd, ev);
	if (ev)
		ev_io_start(c->a->loop, &c->io);
}

static void
reply_error(struct agent_ctl_conn *c, uint64_t seq, int code, const char *msg)
{
	c->a->cnt.ctl_errors++;
	if (ctl_resp_error(&c->out, seq, code, msg))
		c->close_after = true;
}

static void
reply_ok(struct agent_ctl_conn *c, uint64_t seq)
{
	struct codec_writer w;
	size_t off = ctl_resp_begin(&w, &c->out, seq, true, 0);

	if (ctl_resp_end(&w, &c->out, off))
		c->close_after = true;
}

/* ---- ops ---- */

static void
write_member(struct codec_writer *w, const struct agent *a,
	     const struct swim_member_info *mi, const char *manager)
{
	struct node_tag tags[NODE_TAGS_MAX];
	char addr[ADDR_STR_MAX];
	int ntags = node_member_tags(a->node, mi->name, tags, NODE_TAGS_MAX);
	const char *role = "";
	bool has_role = false;

	if (ntags < 0)
		ntags = 0;
	for (int i = 0; i < ntags; i++)
		if (strcmp(tags[i].key, "role") == 0) {
			role = tags[i].value;
			has_role = true;
		}
	addr_format(&mi->addr, addr, sizeof(addr));
	codec_write_map(w, 10);
	codec_write_cstr(w, "name");
	codec_write_cstr(w, mi->name);
	codec_write_cstr(w, "addr");
	codec_write_cstr(w, addr);
	codec_write_cstr(w, "status");
	codec_write_cstr(w, swim_state_name(mi->state));
	codec_write_cstr(w, "role");
	codec_write_cstr(w, role);
	codec_write_cstr(w, "tags");
	codec_write_map(w, (uint32_t)ntags);
	for (int i = 0; i < ntags; i++) {
		codec_write_cstr(w, tags[i].key);
		codec_write_cstr(w, tags[i].value);
	}
	codec_write_cstr(w, "incarnation");
	codec_write_uint(w, mi->incarnation);
	codec_write_cstr(w, "self");
	codec_write_bool(w, mi->is_self);
	codec_write_cstr(w, "availability");
	codec_write_cstr(w, state_avail_name(state_node_avail(
				    node_state(a->node), mi->name)));
	/* Eligible as sched/node decides: no role tag, or role=manager. */
	codec_write_cstr(w, "eligible");
	codec_write_bool(w, !has_role || strcmp(role, "manager") == 0);
	codec_write_cstr(w, "manager");
	codec_write_bool(w, manager[0] && strcmp(manager, mi->name) == 0);
}

static int
member_cmp(const void *x, const void *y)
{
	return strcmp(((const struct swim_member_info *)x)->name,
		      ((const struct swim_member_info *)y)->name);
}

/* Sorted by name, as `shoal members` prints them, so that JSON and
 * scripts reading the socket see the same order. */
static void
op_members(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	const struct swim *sw = node_swim(c->a->node);
	struct swim_member_info mi, *all;
	struct node_manager_status ms;
	struct codec_writer w;
	size_t cur = 0, n = 0, got = 0, off;

	node_manager_status(c->a->node, &ms);
	while (swim_member_next(sw, &cur, &mi))
		n++;
	/* The names point into the member table, which does not change
	 * during this call. */
	all = malloc((n ? n : 1) * sizeof(*all));
	if (!all) {
		reply_error(c, req->seq, ERR_NOMEM, "out of memory");
		return;
	}
	cur = 0;
	while (got < n && swim_member_next(sw, &cur, &all[got]))
		got++;
	n = got;
	qsort(all, n, sizeof(*all), member_cmp);
	off = ctl_resp_begin(&w, &c->out, req->seq, true, 1);
	codec_write_cstr(&w, "members");
	codec_write_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		write_member(&w, c->a, &all[i], ms.manager);
	free(all);
	if (ctl_resp_end(&w, &c->out, off))
		reply_error(c, req->seq, ERR_TOOBIG, "reply too large");
}

static void
op_info(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	const struct swim *sw = node_swim(a->node);
	const struct swim_stats *st = swim_stats(sw);
	const struct keyring *kr = node_keyring(a->node);
	const struct task_driver_stats *ts = &a->tasks.st;
	struct node_manager_status ms;
	struct codec_writer w;
	char addr[ADDR_STR_MAX];
	size_t off;

#define U(name, v)                                                             \
	do {                                                                   \
		codec_write_cstr(&w, name);                                    \
		codec_write_uint(&w, (v));                                     \
	} while (0)

	node_manager_status(a->node, &ms);
	addr_format(&a->advertise, addr, sizeof(addr));
	off = ctl_resp_begin(&w, &c->out, req->seq, true, 18);
	codec_write_cstr(&w, "name");
	codec_write_cstr(&w, swim_name(sw));
	codec_write_cstr(&w, "addr");
	codec_write_cstr(&w, addr);
	codec_write_cstr(&w, "cluster");
	codec_write_cstr(&w, a->opts->cluster);
	codec_write_cstr(&w, "profile");
	codec_write_cstr(&w, swim_profile(sw)->name);
	codec_write_cstr(&w, "version");
	codec_write_cstr(&w, SHOAL_VERSION);
	codec_write_cstr(&w, "encrypted");
	codec_write_bool(&w, keyring_is_secure(kr));
	U("keys", kr->n);
	U("incarnation", swim_incarnation(sw));
	U("health", swim_health(sw));
	U("uptime_ms", agent_mono_ms() - a->start_mono_ms);
	U("memory", swim_memory(sw));
	U("digest", swim_digest(sw));

	codec_write_cstr(&w, "members");
	codec_write_map(&w, 5);
	U("alive", swim_count_state(sw, SWIM_ALIVE));
	U("suspect", swim_count_state(sw, SWIM_SUSPECT));
	U("failed", swim_count_state(sw, SWIM_DEAD));
	U("left", swim_count_state(sw, SWIM_LEFT));
	U("total", swim_member_count(sw));

	codec_write_cstr(&w, "manager");
	codec_write_map(&w, 7);
	codec_write_cstr(&w, "name");
	codec_write_cstr(&w, ms.manager);
	U("term", ms.term);
	codec_write_cstr(&w, "leading");
	codec_write_bool(&w, ms.leading);
	codec_write_cstr(&w, "eligible");
	codec_write_bool(&w, ms.eligible);
	U("voters", ms.voters);
	U("seen", ms.seen);
	codec_write_cstr(&w, "status");
	codec_write_cstr(&w, ms.text);

	codec_write_cstr(&w, "tasks");
	codec_write_map(&w, 3);
	U("assigned", node_task_count(a->node));
	U("known", task_driver_count(&a->tasks));
	U("running", task_driver_running(&a->tasks));

	codec_write_cstr(&w, "stats");
	codec_write_map(&w, 23);
	U("dgrams_in", st->dgrams_in);
	U("dgrams_out", st->dgrams_out);
	U("bytes_in", st->bytes_in);
	U("bytes_out", st->bytes_out);
	U("msgs_in", st->msgs_in);
	U("msgs_out", st->msgs_out);
	U("streams_in", st->streams_in);
	U("streams_out", st->streams_out);
	U("streams_failed", st->streams_failed);
	U("stream_bytes_in", st->stream_bytes_in);
	U("stream_bytes_out", st->stream_bytes_out);
	U("probes", st->probes);
	U("probe_acks", st->probe_acks);
	U("probe_indirect", st->probe_indirect);
	U("probe_failed", st->probe_failed);
	U("probe_tcp_saved", st->probe_tcp_saved);
	U("nacks_sent", st->nacks_sent);
	U("nacks_recv", st->nacks_recv);
	U("suspicions", st->suspicions);
	U("refutes", st->refutes);
	U("deaths_declared", st->deaths_declared);
	U("broadcasts_dropped", st->broadcasts_dropped);
	U("pushpulls", st->pushpulls);

	codec_write_cstr(&w, "drops");
	codec_write_map(&w, SWIM_DROP__N + 1);
	{
		uint64_t total = 0;

		for (int d = 0; d < SWIM_DROP__N; d++) {
			U(swim_drop_name((enum swim_drop)d), st->drops[d]);
			total += st->drops[d];
		}
		U("total", total);
	}

	codec_write_cstr(&w, "agent");
	codec_write_map(&w, 32);
	U("udp_send_errors", a->cnt.udp_send_errors);
	U("udp_recv_errors", a->cnt.udp_recv_errors);
	U("streams_in", a->cnt.streams_in);
	U("streams_in_refused", a->cnt.streams_in_refused);
	U("streams_out", a->cnt.streams_out);
	U("streams_out_refused", a->cnt.streams_out_refused);
	U("stream_errors", a->cnt.stream_errors);
	U("stream_timeouts", a->cnt.stream_timeouts);
	U("stream_toobig", a->cnt.stream_toobig);
	U("ctl_requests", a->cnt.ctl_requests);
	U("ctl_errors", a->cnt.ctl_errors);
	U("ctl_refused", a->cnt.ctl_refused);
	U("ctl_clients", a->nctls);
	U("monitors", a->nmonitors);
	U("monitor_dropped", a->cnt.monitor_dropped);
	U("keyring_writes", a->cnt.keyring_writes);
	U("handler_runs", a->handlers.started);
	U("handler_failed", a->handlers.failed);
	U("handler_timeouts", a->handlers.timeouts);
	U("handler_dropped", a->handlers.dropped);
	U("log_dropped", a->log.dropped);
	U("task_started", ts->started);
	U("task_exited", ts->exited);
	U("task_failed", ts->failed);
	U("task_rejected", ts->rejected);
	U("task_restarts", ts->restarts);
	U("task_stopped", ts->stopped);
	U("task_killed", ts->killed);
	U("task_log_rotations", ts->log_rotations);
	U("task_log_errors", ts->log_errors);
	U("task_stale_killed", ts->stale_killed);
	U("task_reports_dropped", a->cnt.reports_dropped);
#undef U
	if (ctl_resp_end(&w, &c->out, off))
		reply_error(c, req->seq, ERR_TOOBIG, "reply too large");
}

/* A key fingerprint and who holds it. */
struct fp_entry {
	char fp[CRYPTO_FP_LEN];
	bool local;
	bool primary;
	const char **names;
	size_t nnames, cap;
};

static struct fp_entry *
fp_find(struct fp_entry **tab, size_t *n, size_t *cap, const char *fp)
{
	struct fp_entry *e;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*tab)[i].fp, fp) == 0)
			return &(*tab)[i];
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		struct fp_entry *t = realloc(*tab, nc * sizeof(*t));

		if (!t)
			return NULL;
		*tab = t;
		*cap = nc;
	}
	e = &(*tab)[(*n)++];
	memset(e, 0, sizeof(*e));
	strcpy(e->fp, fp);
	return e;
}

static int
fp_add_name(struct fp_entry *e, const char *name)
{
	if (e->nnames == e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 8;
		const char **t = realloc(e->names, nc * sizeof(*t));

		if (!t)
			return ERR_NOMEM;
		e->names = t;
		e->cap = nc;
	}
	e->names[e->nnames++] = name;
	return 0;
}

static int
name_cmp(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void
op_keys_list(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	const struct keyring *kr = node_keyring(a->node);
	const struct swim *sw = node_swim(a->node);
	struct fp_entry *tab = NULL;
	size_t n = 0, cap = 0, members = 0, cur = 0;
	struct swim_member_info mi;
	struct codec_writer w;
	char fp[CRYPTO_FP_LEN];
	size_t off;
	int rc = 0;

	if (!keyring_is_secure(kr)) {
		reply_error(c, req->seq, ERR_STATE,
			    "encryption is off (--insecure-no-encryption): "
			    "there are no keys");
		return;
	}
	for (unsigned i = 0; i < kr->n && !rc; i++) {
		struct fp_entry *e;

		crypto_key_fingerprint(kr->keys[i].bytes, fp);
		e = fp_find(&tab, &n, &cap, fp);
		if (!e) {
			rc = ERR_NOMEM;
			break;
		}
		e->local = true;
		e->primary = i == kr->primary;
	}
	/* Names point into the node's tables: valid until the next node
	 * call, and none happens while this reply is built. */
	while (!rc && swim_member_next(sw, &cur, &mi)) {
		char fps[CRYPTO_KEYS_MAX][CRYPTO_FP_LEN];
		int k;

		if (mi.state != SWIM_ALIVE && mi.state != SWIM_SUSPECT)
			continue;
		members++;
		k = node_member_keys(a->node, mi.name, fps, CRYPTO_KEYS_MAX);
		for (int i = 0; i < k && !rc; i++) {
			struct fp_entry *e = fp_find(&tab, &n, &cap, fps[i]);

			rc = e ? fp_add_name(e, mi.name) : ERR_NOMEM;
		}
	}
	if (rc) {
		reply_error(c, req->seq, rc, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		qsort(tab[i].names, tab[i].nnames, sizeof(*tab[i].names),
		      name_cmp);
	crypto_key_fingerprint(kr->keys[kr->primary].bytes, fp);
	off = ctl_resp_begin(&w, &c->out, req->seq, true, 3);
	codec_write_cstr(&w, "primary");
	codec_write_cstr(&w, fp);
	codec_write_cstr(&w, "members");
	codec_write_uint(&w, members);
	codec_write_cstr(&w, "keys");
	codec_write_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		codec_write_map(&w, 4);
		codec_write_cstr(&w, "fp");
		codec_write_cstr(&w, tab[i].fp);
		codec_write_cstr(&w, "primary");
		codec_write_bool(&w, tab[i].primary);
		codec_write_cstr(&w, "local");
		codec_write_bool(&w, tab[i].local);
		codec_write_cstr(&w, "nodes");
		codec_write_array(&w, (uint32_t)tab[i].nnames);
		for (size_t j = 0; j < tab[i].nnames; j++)
			codec_write_cstr(&w, tab[i].names[j]);
	}
	if (ctl_resp_end(&w, &c->out, off))
		reply_error(c, req->seq, ERR_TOOBIG, "reply too large");
out:
	for (size_t i = 0; i < n; i++)
		free(tab[i].names);
	free(tab);
}

static void
op_keys_change(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	uint8_t key[CRYPTO_KEY_LEN];
	char fp[CRYPTO_FP_LEN];
	const char *what;
	struct codec_writer w;
	struct log_rec r;
	size_t off;
	int rc;

	rc = crypto_key_parse(req->key, key);
	if (rc) {
		reply_error(c, req->seq, rc,
			    rc == ERR_KEYLEN
				    ? "the key does not decode to 32 bytes"
				    : "the key is not base64");
		return;
	}
	crypto_key_fingerprint(key, fp);
	if (!keyring_is_secure(node_keyring(a->node))) {
		sodium_memzero(key, sizeof(key));
		reply_error(c, req->seq, ERR_STATE,
			    "encryption is off (--insecure-no-encryption); "
			    "keys cannot be added to a running agent");
		return;
	}
	switch (req->op) {
	case CTL_OP_KEYS_INSTALL:
		what = "install";
		rc = node_keys_install(a->node, agent_now(a), key);
		break;
	case CTL_OP_KEYS_USE:
		what = "use";
		rc = node_keys_use(a->node, agent_now(a), key);
		break;
	default:
		what = "remove";
		rc = node_keys_remove(a->node, agent_now(a), key);
		break;
	}
	sodium_memzero(key, sizeof(key));
	if (log_begin(&r, &a->log.lg, rc ? LOG_WARN : LOG_INFO, "keys")) {
		log_str(&r, "op", what);
		log_str(&r, "fp", fp);
		if (rc)
			log_err(&r, rc);
		log_end(&r);
	}
	if (rc) {
		char msg[CTL_ERROR_MAX];

		if (rc == ERR_EXIST)
			snprintf(msg, sizeof(msg),
				 "key %s is already installed", fp);
		else if (rc == ERR_NOENT)
			snprintf(msg, sizeof(msg),
				 "key %s is not installed on this node", fp);
		else if (rc == ERR_STATE && req->op == CTL_OP_KEYS_REMOVE)
			snprintf(msg, sizeof(msg),
				 "key %s is the primary key; `keys use` "
				 "another key first",
				 fp);
		else if (rc == ERR_FULL)
			snprintf(msg, sizeof(msg),
				 "the keyring is full (%d keys); remove one",
				 CRYPTO_KEYS_MAX);
		else
			snprintf(msg, sizeof(msg), "keys %s: %s", what,
				 err_str(rc));
		reply_error(c, req->seq, rc, msg);
	} else {
		off = ctl_resp_begin(&w, &c->out, req->seq, true, 1);
		codec_write_cstr(&w, "fp");
		codec_write_cstr(&w, fp);
		ctl_resp_end(&w, &c->out, off);
	}
	agent_pump(a);
}

static void
op_force_leave(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	char msg[CTL_ERROR_MAX];
	int rc = node_force_leave(a->node, agent_now(a), req->name);

	if (rc == ERR_NOENT)
		snprintf(msg, sizeof(msg), "no member named \"%s\"", req->name);
	else if (rc == ERR_STATE)
		snprintf(msg, sizeof(msg),
			 "\"%s\" is not failed (only failed members can be "
			 "force-left)",
			 req->name);
	else if (rc)
		snprintf(msg, sizeof(msg), "%s", err_str(rc));
	if (rc)
		reply_error(c, req->seq, rc, msg);
	else
		reply_ok(c, req->seq);
	agent_pump(a);
}

/* Answered by agent_ctl_leave_done() when the agent is done: the leave
 * has spread and the tasks are stopped. Pending before agent_leave(), which
 * may finish the leave inside the call (no other member alive). */
static void
op_leave(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	int rc = 0;

	c->leave_pending = true;
	c->leave_seq = req->seq;
	if (!a->leaving)
		rc = agent_leave(a);
	if (rc) {
		c->leave_pending = false;
		reply_error(c, req->seq, rc, "cannot leave: already stopped");
	}
}

static void
op_monitor(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;

	if (!c->monitor)
		a->nmonitors++;
	c->monitor = true;
	c->monitor_seq = req->seq;
	c->logs = req->has_logs ? (int)req->logs : -1;
	ev_timer_stop(a->loop, &c->idle);
	reply_ok(c, req->seq);
	if (c->logs > a->monitor_log_level) {
		a->monitor_log_level = c->logs;
		agent_log_set_tap_level(&a->log, a->monitor_log_level);
	}
}

/* ---- services and nodes ---- */

/* An error reply with the node's reason, or a default for the code. */
static void
reply_refused(struct agent_ctl_conn *c, uint64_t seq, int rc, const char *why,
	      const char *name)
{
	char msg[CTL_ERROR_MAX];

	if (why && why[0])
		snprintf(msg, sizeof(msg), "%s", why);
	else if (rc == ERR_NOENT)
		snprintf(msg, sizeof(msg), "no service \"%s\"", name);
	else if (rc == ERR_EXIST)
		snprintf(msg, sizeof(msg), "service \"%s\" already exists",
			 name);
	else if (rc == ERR_FULL)
		snprintf(msg, sizeof(msg), "the cluster state is full");
	else
		snprintf(msg, sizeof(msg), "%s", err_str(rc));
	reply_error(c, seq, rc, msg);
}

static void
log_service_op(struct agent *a, const char *op, const char *name, int rc,
	       const char *why)
{
	struct log_rec r;

	if (log_begin(&r, &a->log.lg, rc ? LOG_WARN : LOG_INFO,
		      rc ? "service change refused" : "service change")) {
		log_str(&r, "op", op);
		log_str(&r, "service", name);
		if (rc && why && why[0])
			log_str(&r, "error", why);
		else if (rc)
			log_err(&r, rc);
		log_end(&r);
	}
}

static void
reply_service_ok(struct agent_ctl_conn *c, uint64_t seq, const char *name)
{
	const struct state_service *sv =
		state_service_find(node_state(c->a->node), name);
	struct codec_writer w;
	char hex[20];
	size_t off;

	snprintf(hex, sizeof(hex), "%016llx",
		 state_service_live(sv)
			 ? (unsigned long long)spec_task_digest(&sv->spec)
			 : 0ull);
	off = ctl_resp_begin(&w, &c->out, seq, true, 2);
	codec_write_cstr(&w, "name");
	codec_write_cstr(&w, name);
	codec_write_cstr(&w, "task_digest");
	codec_write_cstr(&w, hex);
	ctl_resp_end(&w, &c->out, off);
}

static void
op_service_create(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	char why[CTL_ERROR_MAX];
	struct spec s;
	int rc;

	spec_init(&s);
	rc = svc_read_spec(&s, req->spec, req->spec_len, false, why,
			   sizeof(why));
	if (!rc)
		rc = node_service_create(a->node, agent_now(a), &s, why,
					 sizeof(why));
	log_service_op(a, "create", s.name, rc, why);
	if (rc)
		reply_refused(c, req->seq, rc, why, s.name);
	else
		reply_service_ok(c, req->seq, s.name);
	spec_destroy(&s);
	agent_pump(a);
}

static void
op_service_update(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	const struct state_service *sv =
		state_service_find(node_state(a->node), req->name);
	char why[CTL_ERROR_MAX];
	struct spec s;
	int rc;

	why[0] = '\0';
	spec_init(&s);
	if (!state_service_live(sv))
		rc = ERR_NOENT;
	else
		rc = spec_copy(&s, &sv->spec);
	if (!rc)
		rc = svc_read_spec(&s, req->spec, req->spec_len, true, why,
				   sizeof(why));
	if (!rc)
		rc = node_service_update(a->node, agent_now(a), &s, why,
					 sizeof(why));
	log_service_op(a, "update", req->name, rc, why);
	if (rc)
		reply_refused(c, req->seq, rc, why, req->name);
	else
		reply_service_ok(c, req->seq, req->name);
	spec_destroy(&s);
	agent_pump(a);
}

static void
op_service_scale(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	char why[CTL_ERROR_MAX];
	int rc;

	why[0] = '\0';
	rc = node_service_scale(a->node, agent_now(a), req->name, req->replicas,
				why, sizeof(why));
	log_service_op(a, "scale", req->name, rc, why);
	if (rc)
		reply_refused(c, req->seq, rc, why, req->name);
	else
		reply_service_ok(c, req->seq, req->name);
	agent_pump(a);
}

static void
op_service_rm(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	int rc = node_service_remove(a->node, agent_now(a), req->name);

	log_service_op(a, "remove", req->name, rc, NULL);
	if (rc)
		reply_refused(c, req->seq, rc, NULL, req->name);
	else
		reply_ok(c, req->seq);
	agent_pump(a);
}

/* The report a slot's own node made, or NULL. */
static const struct state_report *
slot_current_report(const struct state_service *sv, const struct state_slot *sl)
{
	for (unsigned k = 0; sl && k < STATE_REPORTS_PER_SLOT; k++) {
		const struct state_report *rp = state_slot_report(sv, sl, k);

		if (rp && rp->node == sl->node)
			return rp;
	}
	return NULL;
}

/* Desired and running replicas of a live service. */
static void
service_counts(const struct state_service *sv, uint32_t *desired,
	       uint32_t *running)
{
	*desired = 0;
	*running = 0;
	for (uint32_t i = 0; i < sv->nslots; i++) {
		const struct state_slot *sl = &sv->slots[i];
		const struct state_report *rp;

		if (sv->spec.mode == SPEC_REPLICATED &&
		    sl->slot >= sv->spec.replicas)
			continue;
		if (!state_slot_node(sv, sl)) {
			continue;
		}
		if (sv->spec.mode == SPEC_GLOBAL)
			(*desired)++;
		rp = slot_current_report(sv, sl);
		if (rp && rp->state == TASK_RUNNING)
			(*running)++;
	}
	if (sv->spec.mode == SPEC_REPLICATED)
		*desired = sv->spec.replicas;
}

static void
write_hex(struct codec_writer *w, const char *key, uint64_t v)
{
	char hex[20];

	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)v);
	codec_write_cstr(w, key);
	codec_write_cstr(w, hex);
}

static void
op_service_ls(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	const struct state *st = node_state(c->a->node);
	size_t total = state_service_count(st), n = 0;
	struct codec_writer w;
	size_t off;

	for (size_t i = 0; i < total; i++)
		if (state_service_live(state_service_at(st, i)))
			n++;
	off = ctl_resp_begin(&w, &c->out, req->seq, true, 1);
	codec_write_cstr(&w, "services");
	codec_write_array(&w, (uint32_t)n);
	for (size_t i = 0; i < total; i++) {
		const struct state_service *sv = state_service_at(st, i);
		uint32_t desired, running;

		if (!state_service_live(sv))
			continue;
		service_counts(sv, &desired, &running);
		codec_write_map(&w, 7);
		codec_write_cstr(&w, "name");
		codec_write_cstr(&w, sv->name);
		codec_write_cstr(&w, "mode");
		codec_write_cstr(&w, spec_mode_name(sv->spec.mode));
		codec_write_cstr(&w, "desired");
		codec_write_uint(&w, desired);
		codec_write_cstr(&w, "running");
		codec_write_uint(&w, running);
		codec_write_cstr(&w, "args");
		codec_write_array(&w, sv->spec.nargs);
		for (uint32_t k = 0; k < sv->spec.nargs; k++)
			codec_write_cstr(&w, sv->spec.args[k]);
		write_hex(&w, "task_digest", spec_task_digest(&sv->spec));
		codec_write_cstr(&w, "version");
		codec_write_uint(&w, sv->version);
	}
	if (ctl_resp_end(&w, &c->out, off))
		reply_error(c, req->seq, ERR_TOOBIG, "reply too large");
}

static void
write_report(struct codec_writer *w, const struct state_report *rp,
	     uint64_t digest)
{
	codec_write_map(w, 8);
	codec_write_cstr(w, "node");
	codec_write_cstr(w, istr_str(rp->node));
	codec_write_cstr(w, "state");
	codec_write_cstr(w, task_state_name(rp->state));
	codec_write_cstr(w, "since_ms");
	codec_write_uint(w, rp->since_ms);
	codec_write_cstr(w, "restarts");
	codec_write_uint(w, rp->restarts);
	codec_write_cstr(w, "exit");
	codec_write_int(w, rp->exit_code);
	write_hex(w, "gen", rp->gen);
	codec_write_cstr(w, "current");
	codec_write_bool(w, rp->gen == digest);
	codec_write_cstr(w, "msg");
	codec_write_cstr(w, rp->msg ? istr_str(rp->msg) : "");
}

/* One slot of `service ps`: where it is and what its node says. */
static void
write_ps_slot(struct codec_writer *w, const struct state_service *sv,
	      uint32_t slot, uint64_t digest)
{
	const struct state_slot *sl = state_slot_find(sv, slot);
	const char *node = state_slot_node(sv, sl);
	const struct state_report *cur =
		node ? slot_current_report(sv, sl) : NULL;
	unsigned nrep = 0;

	for (unsigned k = 0; k < STATE_REPORTS_PER_SLOT; k++)
		if (state_slot_report(sv, sl, k))
			nrep++;
	codec_write_map(w, 11);
	codec_write_cstr(w, "service");
	codec_write_cstr(w, sv->name);
	codec_write_cstr(w, "slot");
	codec_write_uint(w, slot);
	codec_write_cstr(w, "node");
	codec_write_cstr(w, node ? node : "");
	codec_write_cstr(w, "state");
	codec_write_cstr(w, !node ? "pending"
			    : cur ? task_state_name(cur->state)
				  : "assigned");
	codec_write_cstr(w, "since_ms");
	codec_write_uint(w, cur ? cur->since_ms : 0);
	codec_write_cstr(w, "restarts");
	codec_write_uint(w, cur ? cur->restarts : 0);
	codec_write_cstr(w, "exit");
	codec_write_int(w, cur ? cur->exit_code : 0);
	codec_write_cstr(w, "msg");
	codec_write_cstr(w, cur && cur->msg ? istr_str(cur->msg) : "");
	codec_write_cstr(w, "current");
	codec_write_bool(w, cur && cur->gen == digest);
	codec_write_cstr(w, "term");
	codec_write_uint(w, sl ? sl->term : 0);
	codec_write_cstr(w, "reports");
	codec_write_array(w, nrep);
	for (unsigned k = 0; k < STATE_REPORTS_PER_SLOT; k++) {
		const struct state_report *rp = state_slot_report(sv, sl, k);

		if (rp)
			write_report(w, rp, digest);
	}
}

static uint32_t
ps_rows(const struct state_service *sv)
{
	uint32_t n = 0;

	if (sv->spec.mode == SPEC_REPLICATED)
		return sv->spec.replicas;
	for (uint32_t i = 0; i < sv->nslots; i++)
		if (state_slot_node(sv, &sv->slots[i]))
			n++;
	return n;
}

static void
write_ps_service(struct codec_writer *w, const struct state_service *sv)
{
	uint64_t digest = spec_task_digest(&sv->spec);

	if (sv->spec.mode == SPEC_REPLICATED) {
		for (uint32_t s = 0; s < sv->spec.replicas; s++)
			write_ps_slot(w, sv, s, digest);
		return;
	}
	for (uint32_t i = 0; i < sv->nslots; i++)
		if (state_slot_node(sv, &sv->slots[i]))
			write_ps_slot(w, sv, sv->slots[i].slot, digest);
}

static void
op_service_ps(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	const struct state *st = node_state(c->a->node);
	size_t total = state_service_count(st);
	struct codec_writer w;
	uint64_t rows = 0;
	size_t off;

	if (req->name[0]) {
		const struct state_service *sv =
			state_service_find(st, req->name);

		if (!state_service_live(sv)) {
			reply_refused(c, req->seq, ERR_NOENT, NULL, req->name);
			return;
		}
		rows = ps_rows(sv);
	} else {
		for (size_t i = 0; i < total; i++) {
			const struct state_service *sv =
				state_service_at(st, i);

			if (state_service_live(sv))
				rows += ps_rows(sv);
		}
	}
	off = ctl_resp_begin(&w, &c->out, req->seq, true, 2);
	codec_write_cstr(&w, "now_ms");
	codec_write_uint(&w, agent_now(c->a));
	codec_write_cstr(&w, "tasks");
	codec_write_array(&w, (uint32_t)rows);
	for (size_t i = 0; i < total; i++) {
		const struct state_service *sv = state_service_at(st, i);

		if (!state_service_live(sv))
			continue;
		if (req->name[0] && strcmp(sv->name, req->name) != 0)
			continue;
		write_ps_service(&w, sv);
	}
	if (ctl_resp_end(&w, &c->out, off))
		reply_error(c, req->seq, ERR_TOOBIG, "reply too large");
}

static void
op_service_inspect(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	const struct state_service *sv =
		state_service_find(node_state(c->a->node), req->name);
	struct codec_writer w;
	uint32_t desired, running;
	size_t off;

	if (!state_service_live(sv)) {
		reply_refused(c, req->seq, ERR_NOENT, NULL, req->name);
		return;
	}
	service_counts(sv, &desired, &running);
	off = ctl_resp_begin(&w, &c->out, req->seq, true, 8);
	codec_write_cstr(&w, "spec");
	svc_write_spec(&w, &sv->spec);
	codec_write_cstr(&w, "version");
	codec_write_uint(&w, sv->version);
	codec_write_cstr(&w, "origin");
	codec_write_cstr(&w, sv->origin ? istr_str(sv->origin) : "");
	codec_write_cstr(&w, "incarnation");
	codec_write_uint(&w, sv->inc);
	write_hex(&w, "task_digest", spec_task_digest(&sv->spec));
	write_hex(&w, "spec_digest", sv->digest);
	codec_write_cstr(&w, "desired");
	codec_write_uint(&w, desired);
	codec_write_cstr(&w, "running");
	codec_write_uint(&w, running);
	if (ctl_resp_end(&w, &c->out, off))
		reply_error(c, req->seq, ERR_TOOBIG, "reply too large");
}

static void
op_node_update(struct agent_ctl_conn *c, const struct ctl_request *req)
{
	struct agent *a = c->a;
	enum state_avail av;
	char msg[CTL_ERROR_MAX];
	struct log_rec r;
	int rc = state_avail_parse(req->availability, &av);

	if (!rc)
		rc = node_set_availability(a->node, agent_now(a), req->name,
					   av);
	if (log_begin(&r, &a->log.lg, rc ? LOG_WARN : LOG_INFO,
		      "node availability")) {
		log_str(&r, "node", req->name);
		log_str(&r, "availability", req->availability);
		if (rc)
			log_err(&r, rc);
		log_end(&r);
	}
	if (rc == ERR_NOENT)
		snprintf(msg, sizeof(msg), "no member named \"%s\"", req->name);
	else if (rc)
		snprintf(msg, sizeof(msg), "%s", err_str(rc));
	if (rc)
		reply_error(c, req->seq, rc, msg);
	else
		reply_ok(c, req->seq);
	agent_pump(a);
}

static void
dispatch(struct agent_ctl_conn *c, const uint8_t *p, size_t n)
{
	struct agent *a = c->a;
	struct ctl_request req;
	char why[CTL_ERROR_MAX];
	int rc;

	a->cnt.ctl_requests++;
	rc = ctl_request_decode(&req, p, n, why, sizeof(why));
	if (rc) {
		struct log_rec r;

		if (log_begin(&r, &a->log.lg, LOG_DEBUG,
			      "control request refused")) {
			log_str(&r, "error", why);
			log_end(&r);
		}
		reply_error(c, req.seq, rc, why);
		return;
	}
	if (c->monitor) {
		reply_error(c, req.seq, ERR_STATE,
			    "this connection is a monitor; open another");
		return;
	}
	if (a->leaving && req.op != CTL_OP_LEAVE && req.op != CTL_OP_MEMBERS &&
	    req.op != CTL_OP_INFO && req.op != CTL_OP_KEYS_LIST &&
	    req.op != CTL_OP_MONITOR && req.op != CTL_OP_SERVICE_LS &&
	    req.op != CTL_OP_SERVICE_PS && req.op != CTL_OP_SERVICE_INSPECT) {
		reply_error(c, req.seq, ERR_STATE, "the agent is leaving");
		return;
	}
	switch (req.op) {
	case CTL_OP_MEMBERS:
		op_members(c, &req);
		break;
	case CTL_OP_INFO:
		op_info(c, &req);
		break;
	case CTL_OP_LEAVE:
		op_leave(c, &req);
		break;
	case CTL_OP_FORCE_LEAVE:
		op_force_leave(c, &req);
		break;
	case CTL_OP_KEYS_LIST:
		op_keys_list(c, &req);
		break;
	case CTL_OP_KEYS_INSTALL:
	case CTL_OP_KEYS_USE:
	case CTL_OP_KEYS_REMOVE:
		op_keys_change(c, &req);
		break;
	case CTL_OP_MONITOR:
		op_monitor(c, &req);
		break;
	case CTL_OP_SERVICE_CREATE:
		op_service_create(c, &req);
		break;
	case CTL_OP_SERVICE_UPDATE:
		op_service_update(c, &req);
		break;
	case CTL_OP_SERVICE_SCALE:
		op_service_scale(c, &req);
		break;
	case CTL_OP_SERVICE_RM:
		op_service_rm(c, &req);
		break;
	case CTL_OP_SERVICE_LS:
		op_service_ls(c, &req);
		break;
	case CTL_OP_SERVICE_PS:
		op_service_ps(c, &req);
		break;
	case CTL_OP_SERVICE_INSPECT:
		op_service_inspect(c, &req);
		break;
	case CTL_OP_NODE_UPDATE:
		op_node_update(c, &req);
		break;
	default:
		reply_error(c, req.seq, ERR_INVAL, "unknown op");
		break;
	}
	sodium_memzero(&req.key, sizeof(req.key));
}

/* ---- connection I/O ---- */

static void
on_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent_ctl_conn *c = w->data;

	(void)loop;
	(void)revents;
	if (c->monitor || c->leave_pending)
		return;
	conn_free(c);
}

static void
conn_read(struct agent_ctl_conn *c)
{
	struct agent *a = c->a;

	for (int rounds = 0; rounds < 16; rounds++) {
		const uint8_t *p;
		size_t n, frame_len;
		ssize_t got;
		int rc;

		/* Complete frames first: several may have arrived at once. */
		while ((rc = frame_next(c->in.data, c->in.len, CTL_REQ_MAX, &p,
					&n, &frame_len)) == 1) {
			if (c->monitor) {
				/* A monitor only listens: ignore input. */
			} else {
				dispatch(c, p, n);
			}
			memmove(c->in.data, c->in.data + frame_len,
				c->in.len - frame_len);
			c->in.len -= frame_len;
			if (c->close_after)
				return;
		}
		if (rc < 0) {
			char msg[CTL_ERROR_MAX];

			if (rc == ERR_TOOBIG)
				snprintf(msg, sizeof(msg),
					 "request too large (%u bytes; at "
					 "most %u)",
					 frame_get_u32(c->in.data),
					 CTL_REQ_MAX);
			else
				snprintf(msg, sizeof(msg),
					 "empty request frame");
			a->cnt.ctl_requests++;
			reply_error(c, 0, rc, msg);
			c->close_after = true;
			buf_reset(&c->in);
			return;
		}
		if (buf_reserve(&c->in, 4096)) {
			c->close_after = true;
			return;
		}
		got = recv(c->fd, c->in.data + c->in.len,
			   c->in.max - c->in.len < 4096 ? c->in.max - c->in.len
							: 4096,
			   0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (got <= 0) {
			/* EOF or error: whatever is queued cannot be read by
			 * anyone; a pending leave carries on regardless. */
			c->dead = true;
			return;
		}
		c->in.len += (size_t)got;
		if (!c->monitor && !c->leave_pending)
			ev_timer_again(a->loop, &c->idle);
	}
}

static void
on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agent_ctl_conn *c = w->data;

	(void)loop;
	if (revents & EV_WRITE) {
		if (!conn_flush(c))
			return;
	}
	if ((revents & EV_READ) && !c->close_after) {
		conn_read(c);
		if (c->dead) {
			conn_free(c);
			return;
		}
	}
	if (c->out_off < c->out.len) {
		if (!conn_flush(c))
			return;
	} else if (c->close_after) {
		conn_free(c);
		return;
	}
	conn_update(c);
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct agent *a = w->data;

	(void)loop;
	(void)revents;
	for (int i = 0; i < 16; i++) {
		struct agent_ctl_conn *c;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct log_rec r;
		int fd = accept4(a->ctl_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
		    (cred.uid != geteuid() && cred.uid != 0)) {
			a->cnt.ctl_refused++;
			if (log_begin(&r, &a->log.lg, LOG_WARN,
				      "control connection refused: another "
				      "user")) {
				log_i64(&r, "uid", (int64_t)cred.uid);
				log_i64(&r, "pid", (int64_t)cred.pid);
				log_end(&r);
			}
			close(fd);
			continue;
		}
		if (a->nctls >= AGENT_CTL_CLIENTS_MAX) {
			a->cnt.ctl_refused++;
			if (log_begin(&r, &a->log.lg, LOG_WARN,
				      "control connection refused: too many "
				      "clients")) {
				log_u64(&r, "clients", a->nctls);
				log_end(&r);
			}
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->a = a;
		c->fd = fd;
		c->logs = -1;
		buf_init(&c->in, CTL_REQ_MAX + FRAME_HDR_LEN);
		buf_init(&c->out, AGENT_CTL_OUT_MAX);
		c->next = a->ctls;
		if (a->ctls)
			a->ctls->prev = c;
		a->ctls = c;
		a->nctls++;
		ev_io_init(&c->io, on_conn_io, fd, EV_READ);
		c->io.data = c;
		ev_io_start(a->loop, &c->io);
		ev_init(&c->idle, on_idle);
		c->idle.repeat = AGENT_CTL_IDLE_MS / 1000.0;
		c->idle.data = c;
		ev_timer_again(a->loop, &c->idle);
	}
}

int
agent_ctl_listen(struct agent *a, char *why, size_t why_cap)
{
	struct sockaddr_un sa;
	mode_t old;
	int fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(a->socket_path) >= sizeof(sa.sun_path)) {
		snprintf(why, why_cap, "path too long");
		return ERR_TOOBIG;
	}
	strcpy(sa.sun_path, a->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, why_cap, "socket: %s", strerror(errno));
		return ERR_IO;
	}
	/* A socket file left by an agent that crashed: is anyone there? */
	if (access(a->socket_path, F_OK) == 0) {
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (probe >= 0 &&
		    connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			close(fd);
			snprintf(why, why_cap,
				 "%s: another agent is listening there",
				 a->socket_path);
			return ERR_EXIST;
		}
		if (probe >= 0)
			close(probe);
		unlink(a->socket_path);
	}
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc || chmod(a->socket_path, 0600) || listen(fd, 64)) {
		snprintf(why, why_cap, "%s: %s", a->socket_path,
			 strerror(errno));
		close(fd);
		return ERR_IO;
	}
	a->socket_created = true;
	a->ctl_fd = fd;
	ev_io_init(&a->ctl_w, on_accept, fd, EV_READ);
	a->ctl_w.data = a;
	ev_io_start(a->loop, &a->ctl_w);
	return 0;
}

void
agent_ctl_close_all(struct agent *a)
{
	while (a->ctls)
		conn_free(a->ctls);
	if (a->ctl_fd >= 0) {
		ev_io_stop(a->loop, &a->ctl_w);
		close(a->ctl_fd);
		a->ctl_fd = -1;
	}
	if (a->socket_created) {
		unlink(a->socket_path);
		a->socket_created = false;
	}
}

/* Queue a frame for a monitor, or count it as dropped. */
static void
monitor_queue(struct agent_ctl_conn *c, struct buf *frame)
{
	struct agent *a = c->a;

	if (c->out.len - c->out_off + frame->len > AGENT_MONITOR_BUF_MAX) {
		c->dropped++;
		a->cnt.monitor_dropped++;
		return;
	}
	if (c->dropped) {
		struct codec_writer w;
		int err = 0;
		size_t off = frame_begin(&c->out, &err);

		codec_writer_init(&w, &c->out);
		codec_write_map(&w, 2);
		codec_write_cstr(&w, "seq");
		codec_write_uint(&w, c->monitor_seq);
		codec_write_cstr(&w, "dropped");
		codec_write_uint(&w, c->dropped);
		if (err || codec_writer_error(&w) || frame_finish(&c->out, off))
			return;
		c->dropped = 0;
	}
	if (buf_append(&c->out, frame->data, frame->len)) {
		c->dropped++;
		a->cnt.monitor_dropped++;
		return;
	}
	if (!ev_is_active(&c->io) || !(c->io.events & EV_WRITE))
		conn_update(c);
}

/* Build one monitor frame; seq is patched per connection. */
static void
monitor_send(struct agent *a, int min_logs, bool is_log, enum log_level lvl,
	     void (*body)(struct codec_writer *w, const void *arg),
	     const void *arg)
{
	struct agent_ctl_conn *c, *next;

	for (c = a->ctls; c; c = next) {
		struct buf frame;
		struct codec_writer w;
		int err = 0;
		size_t off;

		next = c->next;
		if (!c->monitor)
			continue;
		if (is_log && (c->logs < min_logs || c->logs < (int)lvl))
			continue;
		buf_init(&frame, AGENT_MONITOR_BUF_MAX);
		off = frame_begin(&frame, &err);
		codec_writer_init(&w, &frame);
		codec_write_map(&w, 2);
		codec_write_cstr(&w, "seq");
		codec_write_uint(&w, c->monitor_seq);
		body(&w, arg);
		if (!err && !codec_writer_error(&w) &&
		    !frame_finish(&frame, off))
			monitor_queue(c, &frame);
		buf_release(&frame);
	}
}

static void
member_body(struct codec_writer *w, const struct node_event *ev)
{
	const struct swim_event *m = &ev->member;
	char addr[ADDR_STR_MAX];

	addr_format(&m->addr, addr, sizeof(addr));
	codec_write_map(w, 6);
	codec_write_cstr(w, "time_ms");
	codec_write_uint(w, m->time_ms ? m->time_ms : ev->time_ms);
	codec_write_cstr(w, "event");
	codec_write_cstr(w, agent_event_name(m->kind));
	codec_write_cstr(w, "name");
	codec_write_cstr(w, m->name);
	codec_write_cstr(w, "addr");
	codec_write_cstr(w, addr);
	codec_write_cstr(w, "status");
	codec_write_cstr(w, swim_state_name(m->state));
	codec_write_cstr(w, "incarnation");
	codec_write_uint(w, m->incarnation);
}

struct event_arg {
	struct agent *a;
	const struct node_event *ev;
};

static void
event_body(struct codec_writer *w, const void *arg)
{
	const struct event_arg *ea = arg;
	const struct node_event *ev = ea->ev;

	codec_write_cstr(w, "event");
	switch (ev->kind) {
	case NODE_EV_MEMBER:
		member_body(w, ev);
		return;
	case NODE_EV_MANAGER: {
		struct node_manager_status ms;

		node_manager_status(ea->a->node, &ms);
		codec_write_map(w, 6);
		codec_write_cstr(w, "time_ms");
		codec_write_uint(w, ev->time_ms);
		codec_write_cstr(w, "event");
		codec_write_cstr(w, node_event_name(ev));
		codec_write_cstr(w, "manager");
		codec_write_cstr(w, ev->manager.manager);
		codec_write_cstr(w, "term");
		codec_write_uint(w, ev->manager.term);
		codec_write_cstr(w, "leading");
		codec_write_bool(w, ev->manager.leading);
		codec_write_cstr(w, "status");
		codec_write_cstr(w, ms.text);
		return;
	}
	default:
		codec_write_map(w, 5);
		codec_write_cstr(w, "time_ms");
		codec_write_uint(w, ev->time_ms);
		codec_write_cstr(w, "event");
		codec_write_cstr(w, node_event_name(ev));
		codec_write_cstr(w, "service");
		codec_write_cstr(w, ev->task.service);
		codec_write_cstr(w, "slot");
		codec_write_uint(w, ev->task.slot);
		write_hex(w, "digest", ev->task.task_digest);
		return;
	}
}

void
agent_ctl_event(struct agent *a, const struct node_event *ev)
{
	struct event_arg ea = {a, ev};

	if (a->nmonitors)
		monitor_send(a, -1, false, LOG_ERROR, event_body, &ea);
}

struct exit_arg {
	uint64_t time_ms;
	const char *name;
	const struct task_exit *e;
};

static void
exit_body(struct codec_writer *w, const void *arg)
{
	const struct exit_arg *xa = arg;
	const struct task_exit *e = xa->e;

	codec_write_cstr(w, "event");
	codec_write_map(w, 11);
	codec_write_cstr(w, "time_ms");
	codec_write_uint(w, xa->time_ms);
	codec_write_cstr(w, "event");
	codec_write_cstr(w, xa->name);
	codec_write_cstr(w, "service");
	codec_write_cstr(w, e->service);
	codec_write_cstr(w, "slot");
	codec_write_uint(w, e->slot);
	write_hex(w, "digest", e->digest);
	codec_write_cstr(w, "pid");
	codec_write_uint(w, (uint64_t)e->pid);
	codec_write_cstr(w, "state");
	codec_write_cstr(w, task_state_name(e->state));
	codec_write_cstr(w, "exit");
	codec_write_int(w, e->exit_code);
	codec_write_cstr(w, "restarts");
	codec_write_uint(w, e->restarts);
	codec_write_cstr(w, "restart");
	codec_write_bool(w, e->will_restart);
	codec_write_cstr(w, "msg");
	codec_write_cstr(w, e->msg ? e->msg : "");
}

void
agent_ctl_task_exit(struct agent *a, uint64_t time_ms, const char *name,
		    const struct task_exit *e)
{
	struct exit_arg xa = {time_ms, name, e};

	if (a->nmonitors)
		monitor_send(a, -1, false, LOG_ERROR, exit_body, &xa);
}

struct log_arg {
	const char *line;
	size_t len;
};

static void
log_body(struct codec_writer *w, const void *arg)
{
	const struct log_arg *l = arg;

	codec_write_cstr(w, "log");
	codec_write_str(w, l->line, l->len);
}

void
agent_ctl_log(struct agent *a, enum log_level level, const char *line,
	      size_t len)
{
	struct log_arg l = {line, len};

	if (a->nmonitors && a->monitor_log_level >= 0)
		monitor_send(a, 0, true, level, log_body, &l);
}

void
agent_ctl_leave_done(struct agent *a)
{
	for (struct agent_ctl_conn *c = a->ctls; c; c = c->next) {
		if (!c->leave_pending)
			continue;
		c->leave_pending = false;
		reply_ok(c, c->leave_seq);
		c->close_after = true;
	}
}

void
agent_ctl_flush(struct agent *a, uint64_t ms)
{
	uint64_t deadline = agent_mono_ms() + ms;

	for (;;) {
		struct pollfd pfd[AGENT_CTL_CLIENTS_MAX];
		struct agent_ctl_conn *conns[AGENT_CTL_CLIENTS_MAX];
		unsigned n = 0;
		uint64_t now;

		for (struct agent_ctl_conn *c = a->ctls;
		     c && n < AGENT_CTL_CLIENTS_MAX; c = c->next) {
			/* Monitors are not waited for: they never finish. */
			if (c->out_off < c->out.len && !c->monitor) {
				pfd[n].fd = c->fd;
				pfd[n].events = POLLOUT;
				conns[n++] = c;
			}
		}
		now = agent_mono_ms();
		if (n == 0 || now >= deadline)
			return;
		if (poll(pfd, n, (int)(deadline - now)) <= 0)
			return;
		for (unsigned i = 0; i < n; i++)
			if (pfd[i].revents)
				conn_flush(conns[i]);
	}
}
