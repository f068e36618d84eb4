/* SPDX-License-Identifier: MIT */
/*
 * cli/format.c — tables and counter lists from the agent's replies.
 *
 * Tables are laid out in two passes (measure every cell, then print padded
 * to the widest), like docker's and serf's column output. Values come from
 * another process, so every string is bounded and non-printable bytes are
 * shown as '?' — a member name can never move the terminal's cursor.
 * Missing fields print as "-" rather than failing: an older agent may not
 * send everything a newer client knows about.
 */
#include "cli/format.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/clock.h"
#include "cli/json.h"
#include "core/err.h"

#define CELL_MAX 256

struct out {
	struct buf *b;
	int err;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	if (o->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp))
		n = sizeof(tmp) - 1;
	o->err = buf_append(o->b, tmp, (size_t)n);
}

/* A string value made safe to print; fallback when absent. */
static const char *
cell(const struct mpv *v, char *out, size_t cap, const char *fallback)
{
	size_t i;

	if (!mpv_cstr(v, out, cap, NULL))
		return fallback;
	for (i = 0; out[i]; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	if (i == 0)
		return fallback;
	return out;
}

/* ---- members ---- */

struct row {
	char name[CELL_MAX];
	char addr[CELL_MAX];
	char status[CELL_MAX];
	char role[CELL_MAX];
	char tags[CELL_MAX * 4];
};

static int
row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->name,
		      ((const struct row *)b)->name);
}

static void
tags_text(const struct mpv *tags, char *role, size_t role_cap, char *out,
	  size_t cap)
{
	size_t len = 0;

	snprintf(role, role_cap, "-");
	out[0] = '\0';
	for (size_t i = 0; i < mpv_len(tags); i++) {
		char k[CELL_MAX], v[CELL_MAX];
		const char *ks = cell(mpv_key_at(tags, i), k, sizeof(k), NULL);
		const char *vs = cell(mpv_val_at(tags, i), v, sizeof(v), "");
		int n;

		if (!ks)
			continue;
		if (strcmp(ks, "role") == 0 && *vs) {
			snprintf(role, role_cap, "%s", vs);
			continue;
		}
		n = snprintf(out + len, cap - len, "%s%s=%s", len ? "," : "",
			     ks, vs);
		if (n < 0 || (size_t)n >= cap - len) {
			out[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	if (len == 0)
		snprintf(out, cap, "-");
}

static void
pad(struct out *o, const char *s, size_t width, bool last)
{
	if (last)
		put(o, "%s\n", s);
	else
		put(o, "%-*s  ", (int)width, s);
}

int
fmt_members(struct buf *b, const struct mpv *resp)
{
	const struct mpv *list = mpv_get(resp, "members");
	size_t n = mpv_len(list);
	struct row *rows;
	size_t w[4] = {4, 7, 6, 4};
	struct out o = {b, 0};

	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows)
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct mpv *m = mpv_at(list, i);
		struct row *r = &rows[i];

		snprintf(r->name, sizeof(r->name), "%s",
			 cell(mpv_get(m, "name"), r->tags, CELL_MAX, "-"));
		snprintf(r->addr, sizeof(r->addr), "%s",
			 cell(mpv_get(m, "addr"), r->tags, CELL_MAX, "-"));
		snprintf(r->status, sizeof(r->status), "%s",
			 cell(mpv_get(m, "status"), r->tags, CELL_MAX, "-"));
		tags_text(mpv_get(m, "tags"), r->role, sizeof(r->role), r->tags,
			  sizeof(r->tags));
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t l[4] = {strlen(rows[i].name), strlen(rows[i].addr),
			       strlen(rows[i].status), strlen(rows[i].role)};

		for (int k = 0; k < 4; k++)
			if (l[k] > w[k])
				w[k] = l[k];
	}
	pad(&o, "NAME", w[0], false);
	pad(&o, "ADDRESS", w[1], false);
	pad(&o, "STATUS", w[2], false);
	pad(&o, "ROLE", w[3], false);
	pad(&o, "TAGS", 0, true);
	for (size_t i = 0; i < n; i++) {
		pad(&o, rows[i].name, w[0], false);
		pad(&o, rows[i].addr, w[1], false);
		pad(&o, rows[i].status, w[2], false);
		pad(&o, rows[i].role, w[3], false);
		pad(&o, rows[i].tags, 0, true);
	}
	free(rows);
	return o.err;
}

/* ---- info and stats ---- */

static void
duration(char *out, size_t cap, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (s < 60)
		snprintf(out, cap, "%" PRIu64 ".%01" PRIu64 "s", s,
			 (ms % 1000) / 100);
	else if (s < 3600)
		snprintf(out, cap, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
			 s % 60);
	else if (s < 86400)
		snprintf(out, cap, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 (s / 60) % 60);
	else
		snprintf(out, cap, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			 (s / 3600) % 24);
}

int
fmt_info(struct buf *b, const struct mpv *resp)
{
	struct out o = {b, 0};
	const struct mpv *m = mpv_get(resp, "members");
	char tmp[CELL_MAX];
	char up[32];

	put(&o, "name:        %s\n",
	    cell(mpv_get(resp, "name"), tmp, sizeof(tmp), "-"));
	put(&o, "address:     %s\n",
	    cell(mpv_get(resp, "addr"), tmp, sizeof(tmp), "-"));
	put(&o, "cluster:     %s\n",
	    cell(mpv_get(resp, "cluster"), tmp, sizeof(tmp), "-"));
	put(&o, "profile:     %s\n",
	    cell(mpv_get(resp, "profile"), tmp, sizeof(tmp), "-"));
	if (mpv_bool(mpv_get(resp, "encrypted"), false))
		put(&o, "encryption:  on (%" PRIu64 " key%s)\n",
		    mpv_uint(mpv_get(resp, "keys"), 0),
		    mpv_uint(mpv_get(resp, "keys"), 0) == 1 ? "" : "s");
	else
		put(&o, "encryption:  OFF (--insecure-no-encryption)\n");
	put(&o, "incarnation: %" PRIu64 "\n",
	    mpv_uint(mpv_get(resp, "incarnation"), 0));
	put(&o,
	    "members:     %" PRIu64 " alive, %" PRIu64 " suspect, %" PRIu64
	    " failed, %" PRIu64 " left\n",
	    mpv_uint(mpv_get(m, "alive"), 0),
	    mpv_uint(mpv_get(m, "suspect"), 0),
	    mpv_uint(mpv_get(m, "failed"), 0), mpv_uint(mpv_get(m, "left"), 0));
	put(&o, "health:      %" PRIu64 " (0 is healthy)\n",
	    mpv_uint(mpv_get(resp, "health"), 0));
	{
		const struct mpv *mg = mpv_get(resp, "manager");
		const struct mpv *tk = mpv_get(resp, "tasks");
		char who[CELL_MAX], st[CELL_MAX];

		if (mg && cell(mpv_get(mg, "name"), who, sizeof(who), NULL))
			put(&o, "manager:     %s (term %" PRIu64 ")%s\n", who,
			    mpv_uint(mpv_get(mg, "term"), 0),
			    mpv_bool(mpv_get(mg, "leading"), false)
				    ? ", this node"
				    : "");
		else if (mg)
			put(&o, "manager:     none (%s)\n",
			    cell(mpv_get(mg, "status"), st, sizeof(st),
				 "no manager"));
		if (tk)
			put(&o,
			    "tasks:       %" PRIu64 " assigned here, %" PRIu64
			    " running\n",
			    mpv_uint(mpv_get(tk, "assigned"), 0),
			    mpv_uint(mpv_get(tk, "running"), 0));
	}
	duration(up, sizeof(up), mpv_uint(mpv_get(resp, "uptime_ms"), 0));
	put(&o, "uptime:      %s\n", up);
	put(&o, "version:     %s\n",
	    cell(mpv_get(resp, "version"), tmp, sizeof(tmp), "-"));
	return o.err;
}

static void
stats_group(struct out *o, const char *group, const struct mpv *m)
{
	for (size_t i = 0; i < mpv_len(m); i++) {
		char k[CELL_MAX];
		const char *ks = cell(mpv_key_at(m, i), k, sizeof(k), NULL);
		const struct mpv *v = mpv_val_at(m, i);

		if (!ks)
			continue;
		if (v->type == MPV_UINT)
			put(o, "%s.%s %" PRIu64 "\n", group, ks, v->v.u);
		else if (v->type == MPV_INT)
			put(o, "%s.%s %" PRId64 "\n", group, ks, v->v.i);
	}
}

int
fmt_stats(struct buf *b, const struct mpv *resp)
{
	struct out o = {b, 0};

	put(&o, "health %" PRIu64 "\n", mpv_uint(mpv_get(resp, "health"), 0));
	stats_group(&o, "members", mpv_get(resp, "members"));
	stats_group(&o, "gossip", mpv_get(resp, "stats"));
	stats_group(&o, "drops", mpv_get(resp, "drops"));
	stats_group(&o, "agent", mpv_get(resp, "agent"));
	return o.err;
}

/* ---- tables ---- */

#define TABLE_COLS 8

/* Rows of cells, printed padded to the widest cell of each column. */
struct table {
	unsigned ncols;
	const char *head[TABLE_COLS];
	char (*cells)[TABLE_COLS][CELL_MAX];
	size_t nrows;
};

static int
table_init(struct table *t, size_t rows, unsigned ncols,
	   const char *const *head)
{
	t->ncols = ncols;
	for (unsigned i = 0; i < ncols; i++)
		t->head[i] = head[i];
	t->nrows = 0;
	t->cells = calloc(rows ? rows : 1, sizeof(*t->cells));
	return t->cells ? 0 : ERR_NOMEM;
}

/* The next row's cells, to fill (with "-" preset). */
static char (*table_row(struct table *t))[CELL_MAX]
{
	char(*r)[CELL_MAX] = t->cells[t->nrows++];

	for (unsigned i = 0; i < t->ncols; i++)
		strcpy(r[i], "-");
	return r;
}

static int
table_print(struct table *t, struct buf *b)
{
	struct out o = {b, 0};
	size_t w[TABLE_COLS];

	for (unsigned k = 0; k < t->ncols; k++)
		w[k] = strlen(t->head[k]);
	for (size_t i = 0; i < t->nrows; i++)
		for (unsigned k = 0; k < t->ncols; k++)
			if (strlen(t->cells[i][k]) > w[k])
				w[k] = strlen(t->cells[i][k]);
	for (unsigned k = 0; k < t->ncols; k++)
		pad(&o, t->head[k], w[k], k + 1 == t->ncols);
	for (size_t i = 0; i < t->nrows; i++)
		for (unsigned k = 0; k < t->ncols; k++)
			pad(&o, t->cells[i][k], w[k], k + 1 == t->ncols);
	free(t->cells);
	t->cells = NULL;
	return o.err;
}

static int
row_cmp0(const void *a, const void *b)
{
	return strcmp(((const char(*)[CELL_MAX])a)[0],
		      ((const char(*)[CELL_MAX])b)[0]);
}

/* A cell from a string value; keeps "-" when absent or empty. */
static void
set_cell(char *cellbuf, const struct mpv *v)
{
	char tmp[CELL_MAX];
	const char *s = cell(v, tmp, sizeof(tmp), NULL);

	if (s)
		snprintf(cellbuf, CELL_MAX, "%s", s);
}

int
fmt_node_ls(struct buf *b, const struct mpv *resp)
{
	static const char *const head[] = {"NAME",	   "ADDRESS", "STATUS",
					   "AVAILABILITY", "MANAGER", "ROLE",
					   "TAGS"};
	const struct mpv *list = mpv_get(resp, "members");
	size_t n = mpv_len(list);
	struct table t;

	if (table_init(&t, n, 7, head))
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct mpv *m = mpv_at(list, i);
		char(*r)[CELL_MAX] = table_row(&t);
		char role[CELL_MAX], tags[CELL_MAX * 4];

		set_cell(r[0], mpv_get(m, "name"));
		set_cell(r[1], mpv_get(m, "addr"));
		set_cell(r[2], mpv_get(m, "status"));
		set_cell(r[3], mpv_get(m, "availability"));
		if (mpv_bool(mpv_get(m, "manager"), false))
			strcpy(r[4], "leader");
		else if (mpv_bool(mpv_get(m, "eligible"), false))
			strcpy(r[4], "eligible");
		tags_text(mpv_get(m, "tags"), role, sizeof(role), tags,
			  sizeof(tags));
		snprintf(r[5], CELL_MAX, "%s", role);
		snprintf(r[6], CELL_MAX, "%.*s", CELL_MAX - 1, tags);
	}
	qsort(t.cells, t.nrows, sizeof(*t.cells), row_cmp0);
	return table_print(&t, b);
}

/* The command of a service (an array of strings) as one line, quoted
 * the way a shell would take it back: an argument with a space or a
 * quote goes in single quotes, or in double quotes (with \" and \\)
 * when it holds a single quote itself. Cut to cap with "...". */
static void
command_text(const struct mpv *args, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < mpv_len(args); i++) {
		char a[CELL_MAX], q[2 * CELL_MAX + 3];
		const char *s = cell(mpv_at(args, i), a, sizeof(a), "");
		int w;

		if (!*s || strpbrk(s, " \t\"'\\$") != NULL) {
			size_t k = 0;
			bool single = !strchr(s, '\'');

			q[k++] = single ? '\'' : '"';
			for (; *s; s++) {
				if (!single && (*s == '"' || *s == '\\'))
					q[k++] = '\\';
				q[k++] = *s;
			}
			q[k++] = single ? '\'' : '"';
			q[k] = '\0';
			s = q;
		}
		w = snprintf(out + len, cap - len, "%s%s", i ? " " : "", s);
		if (w < 0 || (size_t)w >= cap - len) {
			if (cap > 4)
				strcpy(out + cap - 4, "...");
			return;
		}
		len += (size_t)w;
	}
}

int
fmt_service_ls(struct buf *b, const struct mpv *resp)
{
	static const char *const head[] = {"NAME", "MODE", "REPLICAS",
					   "COMMAND"};
	const struct mpv *list = mpv_get(resp, "services");
	size_t n = mpv_len(list);
	struct table t;

	if (table_init(&t, n, 4, head))
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct mpv *s = mpv_at(list, i);
		char(*r)[CELL_MAX] = table_row(&t);

		set_cell(r[0], mpv_get(s, "name"));
		set_cell(r[1], mpv_get(s, "mode"));
		snprintf(r[2], CELL_MAX, "%" PRIu64 "/%" PRIu64,
			 mpv_uint(mpv_get(s, "running"), 0),
			 mpv_uint(mpv_get(s, "desired"), 0));
		command_text(mpv_get(s, "args"), r[3], 48);
	}
	return table_print(&t, b);
}

int
fmt_service_ps(struct buf *b, const struct mpv *resp)
{
	static const char *const head[] = {"TASK",     "NODE", "STATE", "SINCE",
					   "RESTARTS", "EXIT", "ERROR"};
	const struct mpv *list = mpv_get(resp, "tasks");
	uint64_t now = mpv_uint(mpv_get(resp, "now_ms"), 0);
	size_t n = mpv_len(list);
	struct table t;

	if (table_init(&t, n, 7, head))
		return ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct mpv *tk = mpv_at(list, i);
		char(*r)[CELL_MAX] = table_row(&t);
		char svc[CELL_MAX], st[CELL_MAX];
		uint64_t since = mpv_uint(mpv_get(tk, "since_ms"), 0);
		uint64_t restarts = mpv_uint(mpv_get(tk, "restarts"), 0);
		const char *state =
			cell(mpv_get(tk, "state"), st, sizeof(st), "-");

		snprintf(r[0], CELL_MAX, "%s.%" PRIu64,
			 cell(mpv_get(tk, "service"), svc, sizeof(svc), "?"),
			 mpv_uint(mpv_get(tk, "slot"), 0));
		set_cell(r[1], mpv_get(tk, "node"));
		snprintf(r[2], CELL_MAX, "%s", state);
		if (since && now)
			duration(r[3], CELL_MAX, now > since ? now - since : 0);
		snprintf(r[4], CELL_MAX, "%" PRIu64, restarts);
		if (strcmp(state, "running") && strcmp(state, "starting") &&
		    strcmp(state, "assigned") && strcmp(state, "pending"))
			snprintf(r[5], CELL_MAX, "%" PRId64,
				 mpv_int(mpv_get(tk, "exit"), 0));
		else if (restarts)
			snprintf(r[5], CELL_MAX, "%" PRId64,
				 mpv_int(mpv_get(tk, "exit"), 0));
		set_cell(r[6], mpv_get(tk, "msg"));
	}
	return table_print(&t, b);
}

static void
put_strs(struct out *o, const char *label, const struct mpv *list)
{
	put(o, "%-16s", label);
	if (mpv_len(list) == 0)
		put(o, "-");
	for (size_t i = 0; i < mpv_len(list); i++) {
		char tmp[CELL_MAX];

		put(o, "%s%s", i ? ", " : "",
		    cell(mpv_at(list, i), tmp, sizeof(tmp), "\"\""));
	}
	put(o, "\n");
}

int
fmt_service_inspect(struct buf *b, const struct mpv *resp)
{
	struct out o = {b, 0};
	const struct mpv *s = mpv_get(resp, "spec");
	const struct mpv *rp = mpv_get(s, "restart");
	const struct mpv *up = mpv_get(s, "update");
	char tmp[CELL_MAX], cmd[1024], d1[32], d2[32];

	put(&o, "%-16s%s\n",
	    "name:", cell(mpv_get(s, "name"), tmp, sizeof(tmp), "-"));
	put(&o, "%-16s%s\n",
	    "mode:", cell(mpv_get(s, "mode"), tmp, sizeof(tmp), "-"));
	put(&o, "%-16s%" PRIu64 " running of %" PRIu64 " desired\n",
	    "replicas:", mpv_uint(mpv_get(resp, "running"), 0),
	    mpv_uint(mpv_get(resp, "desired"), 0));
	command_text(mpv_get(s, "args"), cmd, sizeof(cmd));
	put(&o, "%-16s%s\n", "command:", cmd);
	put_strs(&o, "env:", mpv_get(s, "env"));
	put_strs(&o, "constraints:", mpv_get(s, "constraints"));
	if (mpv_uint(mpv_get(s, "max_per_node"), 0))
		put(&o, "%-16s%" PRIu64 "\n",
		    "max per node:", mpv_uint(mpv_get(s, "max_per_node"), 0));
	else
		put(&o, "%-16s-\n", "max per node:");
	duration(d1, sizeof(d1), mpv_uint(mpv_get(rp, "delay_ms"), 0));
	duration(d2, sizeof(d2), mpv_uint(mpv_get(rp, "window_ms"), 0));
	put(&o, "%-16s%s, delay %s, max attempts %" PRIu64 ", window %s\n",
	    "restart:", cell(mpv_get(rp, "condition"), tmp, sizeof(tmp), "-"),
	    d1, mpv_uint(mpv_get(rp, "max_attempts"), 0), d2);
	duration(d1, sizeof(d1), mpv_uint(mpv_get(up, "delay_ms"), 0));
	put(&o, "%-16sparallelism %" PRIu64 ", delay %s\n",
	    "update:", mpv_uint(mpv_get(up, "parallelism"), 0), d1);
	put(&o, "%-16s%s\n", "task digest:",
	    cell(mpv_get(resp, "task_digest"), tmp, sizeof(tmp), "-"));
	put(&o, "%-16s%" PRIu64 " (by %s)\n",
	    "version:", mpv_uint(mpv_get(resp, "version"), 0),
	    cell(mpv_get(resp, "origin"), tmp, sizeof(tmp), "-"));
	return o.err;
}

/* ---- keys ---- */

int
fmt_keys(struct buf *b, const struct mpv *resp)
{
	struct out o = {b, 0};
	const struct mpv *keys = mpv_get(resp, "keys");
	uint64_t total = mpv_uint(mpv_get(resp, "members"), 0);

	put(&o, "%-16s  %-7s  %-9s  %s\n", "FINGERPRINT", "PRIMARY",
	    "INSTALLED", "NODES");
	for (size_t i = 0; i < mpv_len(keys); i++) {
		const struct mpv *k = mpv_at(keys, i);
		const struct mpv *nodes = mpv_get(k, "nodes");
		char fp[CELL_MAX], inst[48], names[512];
		size_t len = 0;

		snprintf(inst, sizeof(inst), "%zu/%" PRIu64, mpv_len(nodes),
			 total);
		names[0] = '\0';
		for (size_t j = 0; j < mpv_len(nodes); j++) {
			char nm[CELL_MAX];
			const char *s =
				cell(mpv_at(nodes, j), nm, sizeof(nm), "?");
			int n;

			if (j == 8) {
				snprintf(names + len, sizeof(names) - len,
					 ",...");
				break;
			}
			n = snprintf(names + len, sizeof(names) - len, "%s%s",
				     j ? "," : "", s);
			if (n < 0 || (size_t)n >= sizeof(names) - len)
				break;
			len += (size_t)n;
		}
		put(&o, "%-16s  %-7s  %-9s  %s\n",
		    cell(mpv_get(k, "fp"), fp, sizeof(fp), "-"),
		    mpv_bool(mpv_get(k, "primary"), false) ? "yes" : "-", inst,
		    names[0] ? names : "-");
	}
	return o.err;
}

/* ---- monitor ---- */

int
fmt_monitor(struct buf *b, const struct mpv *frame)
{
	struct out o = {b, 0};
	const struct mpv *ev = mpv_get(frame, "event");
	const struct mpv *v;

	if (ev && mpv_get(ev, "service")) {
		char when[25], kind[CELL_MAX], svc[CELL_MAX], st[CELL_MAX],
			msg[CELL_MAX];

		agent_time_format(mpv_uint(mpv_get(ev, "time_ms"), 0), when);
		put(&o, "%s %s %s.%" PRIu64, when,
		    cell(mpv_get(ev, "event"), kind, sizeof(kind), "-"),
		    cell(mpv_get(ev, "service"), svc, sizeof(svc), "-"),
		    mpv_uint(mpv_get(ev, "slot"), 0));
		if (mpv_get(ev, "state"))
			put(&o,
			    " state=%s exit=%" PRId64 " restarts=%" PRIu64
			    " restart=%s",
			    cell(mpv_get(ev, "state"), st, sizeof(st), "-"),
			    mpv_int(mpv_get(ev, "exit"), 0),
			    mpv_uint(mpv_get(ev, "restarts"), 0),
			    mpv_bool(mpv_get(ev, "restart"), false) ? "yes"
								    : "no");
		if (cell(mpv_get(ev, "msg"), msg, sizeof(msg), NULL))
			put(&o, " error=\"%s\"", msg);
		put(&o, "\n");
	} else if (ev && mpv_str_eq(mpv_get(ev, "event"), "manager")) {
		char when[25], who[CELL_MAX], st[CELL_MAX];

		agent_time_format(mpv_uint(mpv_get(ev, "time_ms"), 0), when);
		if (cell(mpv_get(ev, "manager"), who, sizeof(who), NULL))
			put(&o, "%s manager %s term=%" PRIu64 "%s\n", when, who,
			    mpv_uint(mpv_get(ev, "term"), 0),
			    mpv_bool(mpv_get(ev, "leading"), false)
				    ? " (this node)"
				    : "");
		else
			put(&o, "%s manager none term=%" PRIu64 " (%s)\n", when,
			    mpv_uint(mpv_get(ev, "term"), 0),
			    cell(mpv_get(ev, "status"), st, sizeof(st), "-"));
	} else if (ev) {
		char when[25], kind[CELL_MAX], name[CELL_MAX], addr[CELL_MAX],
			st[CELL_MAX];

		agent_time_format(mpv_uint(mpv_get(ev, "time_ms"), 0), when);
		put(&o, "%s %s %s %s %s inc=%" PRIu64 "\n", when,
		    cell(mpv_get(ev, "event"), kind, sizeof(kind), "-"),
		    cell(mpv_get(ev, "name"), name, sizeof(name), "-"),
		    cell(mpv_get(ev, "addr"), addr, sizeof(addr), "-"),
		    cell(mpv_get(ev, "status"), st, sizeof(st), "-"),
		    mpv_uint(mpv_get(ev, "incarnation"), 0));
	} else if ((v = mpv_get(frame, "log")) && v->type == MPV_STR) {
		char line[1200];

		put(&o, "%s\n", cell(v, line, sizeof(line), ""));
	} else if ((v = mpv_get(frame, "dropped"))) {
		put(&o,
		    "# %" PRIu64
		    " events dropped: the monitor read too slowly\n",
		    mpv_uint(v, 0));
	}
	return o.err;
}

int
fmt_json(struct buf *b, const struct mpv *resp)
{
	struct json j;
	bool first = true;

	json_init(&j, b);
	if (!resp || resp->type != MPV_MAP) {
		json_mpv(&j, resp);
		json_raw(&j, "\n");
		return json_error(&j);
	}
	json_raw(&j, "{");
	for (size_t i = 0; i < mpv_len(resp); i++) {
		const struct mpv *k = mpv_key_at(resp, i);

		if (mpv_str_eq(k, "seq") || mpv_str_eq(k, "ok"))
			continue;
		if (!first)
			json_raw(&j, ",");
		first = false;
		json_mpv(&j, k);
		json_raw(&j, ":");
		json_mpv(&j, mpv_val_at(resp, i));
	}
	json_raw(&j, "}\n");
	return json_error(&j);
}
