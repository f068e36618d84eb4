/* SPDX-License-Identifier: MIT */
/*
 * core/log.c — building logfmt records without stdio.
 *
 * Records are assembled in a fixed buffer inside struct log_rec (on the
 * caller's stack), so logging never allocates and can be used on error paths
 * where memory is short. Numbers are formatted by hand for the same reason
 * and to keep core/ free of stdio. Quoting follows the logfmt convention
 * used by Go's logfmt and by Heroku: bare when the value is a plain token,
 * double-quoted with backslash escapes otherwise.
 */
#include "core/log.h"

#include <string.h>

#include "core/err.h"

static const char *const level_names[] = {
	"error", "warn", "info", "debug", "trace",
};

const char *
log_level_name(enum log_level level)
{
	if ((unsigned)level > LOG_TRACE)
		return "unknown";
	return level_names[level];
}

static bool
ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a, y = *b;

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return *a == *b;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	if (!s)
		return ERR_INVAL;
	for (int i = 0; i <= LOG_TRACE; i++) {
		if (ieq(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (ieq(s, "warning")) {
		*out = LOG_WARN;
		return 0;
	}
	return ERR_INVAL;
}

bool
log_enabled(const struct log *lg, enum log_level level)
{
	return lg && lg->sink && level <= lg->level;
}

/* Room for " truncated=true" is always kept free. */
#define TRUNC_TAIL (sizeof(" truncated=true") - 1)

static void
put(struct log_rec *r, const char *p, size_t n)
{
	size_t room = LOG_LINE_MAX - TRUNC_TAIL - r->len;

	if (r->truncated)
		return;
	if (n > room) {
		memcpy(r->line + r->len, p, room);
		r->len += room;
		r->truncated = true;
		return;
	}
	memcpy(r->line + r->len, p, n);
	r->len += n;
}

static void
putc1(struct log_rec *r, char c)
{
	put(r, &c, 1);
}

static bool
needs_quotes(const char *v, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			return true;
	}
	return false;
}

/* A quoted value is written escape by escape, always keeping one byte for
 * the closing quote: a record cut short inside a value still closes its
 * quote and never ends in half an escape, so it still parses as logfmt. */
static void
put_value(struct log_rec *r, const char *v, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t room;

	if (!needs_quotes(v, n)) {
		put(r, v, n);
		return;
	}
	if (r->truncated)
		return;
	room = LOG_LINE_MAX - TRUNC_TAIL - r->len;
	if (room < 2) {
		r->truncated = true;
		return;
	}
	r->line[r->len++] = '"';
	room -= 2; /* the opening and the closing quote */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		char e[4];
		size_t k;

		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			k = 2;
		} else if (c == '\n') {
			e[0] = '\\';
			e[1] = 'n';
			k = 2;
		} else if (c == '\t') {
			e[0] = '\\';
			e[1] = 't';
			k = 2;
		} else if (c < ' ' || c == 0x7f) {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 15];
			k = 4;
		} else {
			e[0] = (char)c;
			k = 1;
		}
		if (k > room) {
			r->truncated = true;
			break;
		}
		memcpy(r->line + r->len, e, k);
		r->len += k;
		room -= k;
	}
	r->line[r->len++] = '"';
}

/* A key is written whole with its '=' or not at all. */
static void
put_key(struct log_rec *r, const char *key)
{
	size_t n = strlen(key);
	size_t sep = r->len ? 1 : 0;

	if (r->truncated)
		return;
	if (sep + n + 1 > LOG_LINE_MAX - TRUNC_TAIL - r->len) {
		r->truncated = true;
		return;
	}
	if (sep)
		putc1(r, ' ');
	put(r, key, n);
	putc1(r, '=');
}

bool
log_begin(struct log_rec *r, const struct log *lg, enum log_level level,
	  const char *msg)
{
	r->lg = lg;
	r->level = level;
	r->len = 0;
	r->truncated = false;
	r->on = log_enabled(lg, level);
	if (!r->on)
		return false;
	put_key(r, "level");
	put_value(r, log_level_name(level), strlen(log_level_name(level)));
	put_key(r, "msg");
	put_value(r, msg, strlen(msg));
	return true;
}

void
log_strn(struct log_rec *r, const char *key, const char *val, size_t n)
{
	if (!r->on)
		return;
	put_key(r, key);
	put_value(r, val ? val : "", val ? n : 0);
}

void
log_str(struct log_rec *r, const char *key, const char *val)
{
	log_strn(r, key, val, val ? strlen(val) : 0);
}

static size_t
fmt_u64(char *o, uint64_t v)
{
	char t[24];
	size_t n = 0, k = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		o[k++] = t[--n];
	return k;
}

void
log_u64(struct log_rec *r, const char *key, uint64_t v)
{
	char t[24];

	if (!r->on)
		return;
	put_key(r, key);
	put(r, t, fmt_u64(t, v));
}

void
log_i64(struct log_rec *r, const char *key, int64_t v)
{
	char t[24];
	size_t k = 0;
	uint64_t u = (uint64_t)v;

	if (!r->on)
		return;
	if (v < 0) {
		t[k++] = '-';
		u = (uint64_t)0 - u;
	}
	k += fmt_u64(t + k, u);
	put_key(r, key);
	put(r, t, k);
}

void
log_bool(struct log_rec *r, const char *key, bool v)
{
	if (!r->on)
		return;
	put_key(r, key);
	put(r, v ? "true" : "false", v ? 4 : 5);
}

void
log_err(struct log_rec *r, int err)
{
	log_i64(r, "err", err);
	log_str(r, "err_str", err_str(err));
}

void
log_end(struct log_rec *r)
{
	if (!r->on)
		return;
	if (r->truncated) {
		memcpy(r->line + r->len, " truncated=true", TRUNC_TAIL);
		r->len += TRUNC_TAIL;
	}
	r->line[r->len] = '\0';
	r->lg->sink(r->lg->ctx, r->level, r->line, r->len);
	r->on = false;
}
