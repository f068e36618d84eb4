/* SPDX-License-Identifier: MIT */
/*
 * core/addr.c — our own parser and formatter for IP addresses.
 *
 * Written by hand so that core/ does not link the C library's networking
 * (inet_pton lives beside the socket calls and check-deps forbids those).
 * The IPv4 parser takes exactly four decimal octets without leading zeros
 * (so "010.1.1.1" cannot mean octal to one reader and decimal to another).
 * The IPv6 parser takes up to eight groups with at most one "::" and an
 * optional trailing dotted IPv4; formatting follows RFC 5952: lower case,
 * the longest run of two or more zero groups compressed, the leftmost run on
 * a tie, and IPv4-mapped addresses (::ffff:0:0/96) with a dotted tail.
 */
#include "core/addr.h"

#include <string.h>

#include "core/err.h"
#include "core/hash.h"

static int
parse_v4(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		unsigned v = 0;
		size_t start = i;

		if (k > 0) {
			if (i >= n || s[i] != '.')
				return ERR_INVAL;
			i++;
			start = i;
		}
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			v = v * 10 + (unsigned)(s[i] - '0');
			if (v > 255)
				return ERR_INVAL;
			i++;
		}
		if (i == start || (i - start > 1 && s[start] == '0'))
			return ERR_INVAL;
		out[k] = (uint8_t)v;
	}
	return i == n ? 0 : ERR_INVAL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
parse_v6(const char *s, size_t n, uint8_t out[16])
{
	uint16_t g[8];
	int ng = 0, gap = -1;
	size_t i = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
		if (i == n)
			goto done;
	} else if (n >= 1 && s[0] == ':') {
		return ERR_INVAL;
	}
	for (;;) {
		const char *dot = memchr(s + i, '.', n - i);
		const char *col = memchr(s + i, ':', n - i);
		size_t start = i;
		unsigned v = 0;

		/* A trailing dotted IPv4 takes two groups. It is recognised
		 * by a '.' inside the current group (before the next ':'),
		 * so "::ffff:1.2.3.4" works; parse_v4 then refuses any ':'
		 * after it. */
		if (dot && (!col || dot < col)) {
			uint8_t v4[4];

			if (ng > 6 || parse_v4(s + i, n - i, v4))
				return ERR_INVAL;
			g[ng++] = (uint16_t)(v4[0] << 8 | v4[1]);
			g[ng++] = (uint16_t)(v4[2] << 8 | v4[3]);
			break;
		}
		while (i < n && hexval(s[i]) >= 0 && i - start < 4) {
			v = v << 4 | (unsigned)hexval(s[i]);
			i++;
		}
		if (i == start || ng >= 8)
			return ERR_INVAL;
		g[ng++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i] != ':')
			return ERR_INVAL;
		i++;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return ERR_INVAL;
			gap = ng;
			i++;
			if (i == n)
				break;
		} else if (i == n) {
			return ERR_INVAL;
		}
	}
done:
	if (gap < 0 && ng != 8)
		return ERR_INVAL;
	if (gap >= 0 && ng > 7)
		return ERR_INVAL;
	memset(out, 0, 16);
	if (gap < 0) {
		for (int k = 0; k < 8; k++) {
			out[2 * k] = (uint8_t)(g[k] >> 8);
			out[2 * k + 1] = (uint8_t)g[k];
		}
	} else {
		int tail = ng - gap;

		for (int k = 0; k < gap; k++) {
			out[2 * k] = (uint8_t)(g[k] >> 8);
			out[2 * k + 1] = (uint8_t)g[k];
		}
		for (int k = 0; k < tail; k++) {
			int d = 8 - tail + k;

			out[2 * d] = (uint8_t)(g[gap + k] >> 8);
			out[2 * d + 1] = (uint8_t)g[gap + k];
		}
	}
	return 0;
}

static int
parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ERR_INVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return ERR_INVAL;
	*port = (uint16_t)v;
	return 0;
}

int
addr_parse(struct addr *a, const char *s, uint16_t default_port)
{
	struct addr r;
	size_t n;
	const char *colon;
	int rc;

	if (!s)
		return ERR_INVAL;
	n = strlen(s);
	if (n == 0 || n >= ADDR_STR_MAX + 8)
		return ERR_INVAL;
	memset(&r, 0, sizeof(r));
	r.port = default_port;

	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close)
			return ERR_INVAL;
		rc = parse_v6(s + 1, (size_t)(close - s - 1), r.ip);
		if (rc)
			return rc;
		r.family = ADDR_V6;
		if (close[1] == ':') {
			rc = parse_port(close + 2, strlen(close + 2), &r.port);
			if (rc)
				return rc;
		} else if (close[1] != '\0') {
			return ERR_INVAL;
		}
	} else if ((colon = strchr(s, ':')) && strchr(colon + 1, ':')) {
		/* Two or more colons: a bare IPv6 address, no port. */
		rc = parse_v6(s, n, r.ip);
		if (rc)
			return rc;
		r.family = ADDR_V6;
	} else {
		size_t hn = colon ? (size_t)(colon - s) : n;

		rc = parse_v4(s, hn, r.ip);
		if (rc)
			return rc;
		r.family = ADDR_V4;
		if (colon) {
			rc = parse_port(colon + 1, n - hn - 1, &r.port);
			if (rc)
				return rc;
		}
	}
	if (r.port == 0 && default_port != 0)
		return ERR_INVAL;
	*a = r;
	return 0;
}

static size_t
put_dec(char *o, unsigned v)
{
	char t[8];
	size_t n = 0, k = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		o[k++] = t[--n];
	return k;
}

static size_t
format_host(const struct addr *a, char *o)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;

	if (a->family == ADDR_V4) {
		for (int i = 0; i < 4; i++) {
			if (i)
				o[k++] = '.';
			k += put_dec(o + k, a->ip[i]);
		}
		return k;
	}
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint16_t g[8];
	int best = -1, bestlen = 0;

	/* RFC 5952 section 5: an IPv4-mapped address keeps its dotted tail. */
	if (memcmp(a->ip, mapped, sizeof(mapped)) == 0) {
		memcpy(o, "::ffff:", 7);
		k = 7;
		for (int i = 12; i < 16; i++) {
			if (i > 12)
				o[k++] = '.';
			k += put_dec(o + k, a->ip[i]);
		}
		return k;
	}
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(a->ip[2 * i] << 8 | a->ip[2 * i + 1]);
	for (int i = 0; i < 8;) {
		int j = i;

		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > bestlen && j - i >= 2) {
			best = i;
			bestlen = j - i;
		}
		i = j > i ? j : i + 1;
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			o[k++] = ':';
			o[k++] = ':';
			i += bestlen - 1;
			continue;
		}
		if (i && !(best >= 0 && i == best + bestlen))
			o[k++] = ':';
		bool lead = true;

		for (int sh = 12; sh >= 0; sh -= 4) {
			unsigned d = (g[i] >> sh) & 0xf;

			if (lead && d == 0 && sh)
				continue;
			lead = false;
			o[k++] = hex[d];
		}
	}
	return k;
}

int
addr_format_host(const struct addr *a, char *out, size_t cap)
{
	char t[ADDR_STR_MAX];
	size_t k;

	if (a->family != ADDR_V4 && a->family != ADDR_V6)
		k = (size_t)(strcpy(t, "none"), 4);
	else
		k = format_host(a, t);
	if (k + 1 > cap)
		return ERR_TOOBIG;
	memcpy(out, t, k);
	out[k] = '\0';
	return (int)k;
}

int
addr_format(const struct addr *a, char *out, size_t cap)
{
	char t[ADDR_STR_MAX];
	size_t k = 0;

	if (a->family == ADDR_V6) {
		t[k++] = '[';
		k += format_host(a, t + k);
		t[k++] = ']';
	} else if (a->family == ADDR_V4) {
		k += format_host(a, t + k);
	} else {
		return addr_format_host(a, out, cap);
	}
	t[k++] = ':';
	k += put_dec(t + k, a->port);
	if (k + 1 > cap)
		return ERR_TOOBIG;
	memcpy(out, t, k);
	out[k] = '\0';
	return (int)k;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

bool
addr_is_loopback(const struct addr *a)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (a->family == ADDR_V4)
		return a->ip[0] == 127;
	if (a->family == ADDR_V6)
		return memcmp(a->ip, v6lo, 16) == 0;
	return false;
}

bool
addr_is_any(const struct addr *a)
{
	static const uint8_t zero[16];

	return (a->family == ADDR_V4 || a->family == ADDR_V6) &&
	       memcmp(a->ip, zero, 16) == 0;
}

int
addr_encode(const struct addr *a, uint8_t *out)
{
	size_t n;

	if (a->family == ADDR_V4)
		n = 4;
	else if (a->family == ADDR_V6)
		n = 16;
	else
		return ERR_INVAL;
	memcpy(out, a->ip, n);
	out[n] = (uint8_t)(a->port >> 8);
	out[n + 1] = (uint8_t)a->port;
	return (int)n + 2;
}

int
addr_decode(struct addr *a, const uint8_t *p, size_t len)
{
	size_t n;

	if (len == 6)
		n = 4;
	else if (len == 18)
		n = 16;
	else
		return ERR_DECODE;
	memset(a, 0, sizeof(*a));
	a->family = n == 4 ? ADDR_V4 : ADDR_V6;
	memcpy(a->ip, p, n);
	a->port = (uint16_t)(p[n] << 8 | p[n + 1]);
	return 0;
}

uint64_t
addr_hash(const struct addr *a)
{
	uint8_t w[ADDR_WIRE_MAX];
	int n = addr_encode(a, w);

	return n < 0 ? 0 : hash64(w, (size_t)n, 0x5a5a);
}

void
addr_v4(struct addr *a, uint8_t o0, uint8_t o1, uint8_t o2, uint8_t o3,
	uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = ADDR_V4;
	a->ip[0] = o0;
	a->ip[1] = o1;
	a->ip[2] = o2;
	a->ip[3] = o3;
	a->port = port;
}
