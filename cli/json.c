/* SPDX-License-Identifier: MIT */
/*
 * cli/json.c — JSON text from scalars and msgpack trees.
 *
 * Strings are the only delicate part. JSON must be UTF-8, while a msgpack
 * string is whatever bytes the sender chose (the agent only sends names,
 * addresses and tag values, but the client prints what it gets and must not
 * emit something a JSON parser rejects). Each byte sequence is checked
 * against the UTF-8 rules (no overlongs, no surrogates, nothing above
 * U+10FFFF); a bad byte is replaced by U+FFFD and skipped.
 */
#include "cli/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

void
json_init(struct json *j, struct buf *b)
{
	j->b = b;
	j->err = 0;
}

static void
put(struct json *j, const void *p, size_t n)
{
	int rc;

	if (j->err)
		return;
	rc = buf_append(j->b, p, n);
	if (rc)
		j->err = rc;
}

void
json_raw(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
	uint32_t c;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return len;
}

void
json_str(struct json *j, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	put(j, "\"", 1);
	while (i < n) {
		uint8_t c = p[i];
		char esc[8];
		size_t len;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(j, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			const char *e = NULL;

			switch (c) {
			case '\n':
				e = "\\n";
				break;
			case '\r':
				e = "\\r";
				break;
			case '\t':
				e = "\\t";
				break;
			case '\b':
				e = "\\b";
				break;
			case '\f':
				e = "\\f";
				break;
			}
			if (e) {
				put(j, e, 2);
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				put(j, esc, 6);
			}
			i++;
		} else if ((len = utf8_len(p + i, n - i)) != 0) {
			put(j, p + i, len);
			i += len;
		} else {
			put(j, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	put(j, "\"", 1);
}

void
json_cstr(struct json *j, const char *s)
{
	json_str(j, s, strlen(s));
}

void
json_uint(struct json *j, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);

	put(j, tmp, (size_t)n);
}

void
json_int(struct json *j, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);

	put(j, tmp, (size_t)n);
}

void
json_double(struct json *j, double v)
{
	char tmp[40];
	int n;

	if (!isfinite(v)) {
		json_raw(j, "null");
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	put(j, tmp, (size_t)n);
}

void
json_bool(struct json *j, bool v)
{
	json_raw(j, v ? "true" : "false");
}

static void
base64(struct json *j, const uint8_t *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqr"
				  "stuvwxyz0123456789+/";
	char out[4];

	put(j, "\"", 1);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[0] = tab[v >> 18 & 63];
		out[1] = tab[v >> 12 & 63];
		out[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[3] = i + 2 < n ? tab[v & 63] : '=';
		put(j, out, 4);
	}
	put(j, "\"", 1);
}

/* A map key must be a JSON string. */
static void
key(struct json *j, const struct mpv *k)
{
	switch (k->type) {
	case MPV_STR:
		json_str(j, k->v.s, k->n);
		return;
	case MPV_UINT:
	case MPV_INT:
	case MPV_BOOL:
	case MPV_NIL:
	case MPV_FLOAT: {
		struct buf tmp;
		struct json jt;

		buf_init(&tmp, 64);
		json_init(&jt, &tmp);
		json_mpv(&jt, k);
		if (!jt.err)
			json_str(j, (const char *)tmp.data, tmp.len);
		else
			j->err = jt.err;
		buf_release(&tmp);
		return;
	}
	default:
		json_str(j, "?", 1);
	}
}

void
json_mpv(struct json *j, const struct mpv *v)
{
	switch (v->type) {
	case MPV_NIL:
		json_raw(j, "null");
		break;
	case MPV_BOOL:
		json_bool(j, v->v.b);
		break;
	case MPV_UINT:
		json_uint(j, v->v.u);
		break;
	case MPV_INT:
		json_int(j, v->v.i);
		break;
	case MPV_FLOAT:
		json_double(j, v->v.d);
		break;
	case MPV_STR:
		json_str(j, v->v.s, v->n);
		break;
	case MPV_BIN:
		base64(j, v->v.bin, v->n);
		break;
	case MPV_ARRAY:
		json_raw(j, "[");
		for (uint32_t i = 0; i < v->n; i++) {
			if (i)
				json_raw(j, ",");
			json_mpv(j, &v->v.items[i]);
		}
		json_raw(j, "]");
		break;
	case MPV_MAP:
		json_raw(j, "{");
		for (uint32_t i = 0; i < v->n; i++) {
			if (i)
				json_raw(j, ",");
			key(j, &v->v.items[2 * i]);
			json_raw(j, ":");
			json_mpv(j, &v->v.items[2 * i + 1]);
		}
		json_raw(j, "}");
		break;
	}
}
