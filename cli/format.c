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

	if (ev) {
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
