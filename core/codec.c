/* SPDX-License-Identifier: MIT */
/*
 * core/codec.c — msgpack writing (over msgpack-c) and strict reading.
 *
 * Why not msgpack-c's unpacker for reading? It builds a tree of
 * msgpack_object in a zone, and it sizes each array and map from the count
 * in its header before it has seen a single element: five bytes (0xdd
 * ff ff ff ff) ask it for 4 G objects. Our reader builds nothing. It walks
 * the bytes, hands out scalars and borrowed pointers, and refuses any count
 * that the bytes left cannot back. Network input therefore costs no memory
 * beyond the packet it came in, and a decoder cannot be made to allocate by
 * what it reads.
 *
 * Writing does use msgpack-c: its packer is a set of inline functions that
 * pick the shortest encoding and call us back with the bytes, which we append
 * to a bounded struct buf.
 */
#include "core/codec.h"

#include <string.h>

#include <msgpack.h>

#include "core/err.h"

/* ---- writer ---- */

static int
writer_cb(void *data, const char *p, size_t n)
{
	struct codec_writer *w = data;
	struct buf *b = w->b;
	int rc;

	if (w->err)
		return -1;
	/* Fast path: the bytes fit in memory already allocated (cap never
	 * exceeds max, so this cannot pass the hard limit). */
	if (n <= b->cap - b->len) {
		uint8_t *dst = b->data + b->len;

		/* msgpack-c hands us 1-9 byte pieces for every tag and
		 * number: a byte loop beats a call to memcpy for those. */
		if (n <= 16) {
			for (size_t i = 0; i < n; i++)
				dst[i] = (uint8_t)p[i];
		} else {
			memcpy(dst, p, n);
		}
		b->len += n;
		return 0;
	}
	rc = buf_append(w->b, p, n);
	if (rc) {
		w->err = rc;
		return -1;
	}
	return 0;
}

void
codec_writer_init(struct codec_writer *w, struct buf *b)
{
	w->b = b;
	w->err = 0;
}

/* A packer is two pointers (our writer and its callback): made on the
 * stack for each write, so that the header need not expose msgpack-c. */
#define PK(w)                                                                  \
	msgpack_packer pk_;                                                    \
	msgpack_packer_init(&pk_, (w), writer_cb)

void
codec_write_nil(struct codec_writer *w)
{
	PK(w);

	if (!w->err)
		msgpack_pack_nil(&pk_);
}

void
codec_write_bool(struct codec_writer *w, bool v)
{
	PK(w);

	if (w->err)
		return;
	if (v)
		msgpack_pack_true(&pk_);
	else
		msgpack_pack_false(&pk_);
}

void
codec_write_uint(struct codec_writer *w, uint64_t v)
{
	PK(w);

	if (!w->err)
		msgpack_pack_uint64(&pk_, v);
}

void
codec_write_int(struct codec_writer *w, int64_t v)
{
	PK(w);

	if (!w->err)
		msgpack_pack_int64(&pk_, v);
}

void
codec_write_double(struct codec_writer *w, double v)
{
	PK(w);

	if (!w->err)
		msgpack_pack_double(&pk_, v);
}

void
codec_write_map(struct codec_writer *w, uint32_t n)
{
	PK(w);

	if (!w->err)
		msgpack_pack_map(&pk_, n);
}

void
codec_write_array(struct codec_writer *w, uint32_t n)
{
	PK(w);

	if (!w->err)
		msgpack_pack_array(&pk_, n);
}

void
codec_write_str(struct codec_writer *w, const char *s, size_t n)
{
	PK(w);

	if (w->err)
		return;
	if (n > UINT32_MAX) {
		w->err = ERR_RANGE;
		return;
	}
	if (msgpack_pack_str(&pk_, n) == 0 && n)
		msgpack_pack_str_body(&pk_, s, n);
}

void
codec_write_cstr(struct codec_writer *w, const char *s)
{
	codec_write_str(w, s, strlen(s));
}

void
codec_write_bin(struct codec_writer *w, const void *p, size_t n)
{
	PK(w);

	if (w->err)
		return;
	if (n > UINT32_MAX) {
		w->err = ERR_RANGE;
		return;
	}
	if (msgpack_pack_bin(&pk_, n) == 0 && n)
		msgpack_pack_bin_body(&pk_, p, n);
}

void
codec_write_raw(struct codec_writer *w, const void *p, size_t n)
{
	if (!w->err && n)
		writer_cb(w, p, n);
}

/* ---- reader ---- */

void
codec_reader_init(struct codec_reader *r, const void *p, size_t n)
{
	r->p = p;
	r->end = n ? r->p + n : r->p; /* no arithmetic on a NULL p */
	r->err = 0;
}

int
codec_fail(struct codec_reader *r, int err)
{
	if (!r->err)
		r->err = err;
	return r->err;
}

static inline uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

enum codec_type
codec_peek(const struct codec_reader *r)
{
	uint8_t c;

	if (r->err || r->p >= r->end)
		return CODEC_NONE;
	c = *r->p;
	if (c <= 0x7f || c == 0xcc || c == 0xcd || c == 0xce || c == 0xcf)
		return CODEC_UINT;
	if (c >= 0xe0 || (c >= 0xd0 && c <= 0xd3)) {
		/* Signed encodings may hold non-negative values. */
		if (c >= 0xe0)
			return CODEC_INT;
		int n = 1 << (c - 0xd0);

		if ((size_t)(r->end - r->p) > (size_t)n && (r->p[1] & 0x80) == 0)
			return CODEC_UINT;
		return CODEC_INT;
	}
	if ((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf)
		return CODEC_MAP;
	if ((c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd)
		return CODEC_ARRAY;
	if ((c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb))
		return CODEC_STR;
	if (c >= 0xc4 && c <= 0xc6)
		return CODEC_BIN;
	if (c == 0xc0)
		return CODEC_NIL;
	if (c == 0xc2 || c == 0xc3)
		return CODEC_BOOL;
	if (c == 0xca || c == 0xcb)
		return CODEC_FLOAT;
	if ((c >= 0xd4 && c <= 0xd8) || (c >= 0xc7 && c <= 0xc9))
		return CODEC_EXT;
	return CODEC_NONE; /* 0xc1 is never used */
}

/* Consume `n` bytes of payload after the tag; check they are there. */
static inline int
need(struct codec_reader *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return codec_fail(r, ERR_TRUNC);
	return 0;
}

int
codec_read_nil(struct codec_reader *r)
{
	if (r->err)
		return r->err;
	if (need(r, 1))
		return r->err;
	if (*r->p != 0xc0)
		return codec_fail(r, ERR_DECODE);
	r->p++;
	return 0;
}

int
codec_read_bool(struct codec_reader *r, bool *v)
{
	if (r->err)
		return r->err;
	if (need(r, 1))
		return r->err;
	if (*r->p != 0xc2 && *r->p != 0xc3)
		return codec_fail(r, ERR_DECODE);
	*v = *r->p == 0xc3;
	r->p++;
	return 0;
}

/* Read any integer encoding into a sign flag and magnitude-ish value:
 * for unsigned encodings *u holds the value and *neg is false; for signed
 * encodings *s holds the value. */
static int
read_integer(struct codec_reader *r, bool *is_signed, uint64_t *u, int64_t *s)
{
	uint8_t c;
	int n;

	if (r->err)
		return r->err;
	if (need(r, 1))
		return r->err;
	c = *r->p;
	if (c <= 0x7f) {
		*is_signed = false;
		*u = c;
		r->p++;
		return 0;
	}
	if (c >= 0xe0) {
		*is_signed = true;
		*s = (int8_t)c;
		r->p++;
		return 0;
	}
	if (c >= 0xcc && c <= 0xcf) {
		n = 1 << (c - 0xcc);
		if (need(r, 1 + (size_t)n))
			return r->err;
		*is_signed = false;
		*u = be(r->p + 1, n);
		r->p += 1 + n;
		return 0;
	}
	if (c >= 0xd0 && c <= 0xd3) {
		uint64_t raw;

		n = 1 << (c - 0xd0);
		if (need(r, 1 + (size_t)n))
			return r->err;
		raw = be(r->p + 1, n);
		/* Sign-extend from n bytes. */
		if (n < 8 && (raw >> (8 * n - 1)) & 1)
			raw |= ~(uint64_t)0 << (8 * n);
		*is_signed = true;
		memcpy(s, &raw, sizeof(*s));
		r->p += 1 + n;
		return 0;
	}
	return codec_fail(r, ERR_DECODE);
}

int
codec_read_uint(struct codec_reader *r, uint64_t *v)
{
	const uint8_t *save = r->p;
	bool sgn;
	uint64_t u = 0;
	int64_t s = 0;

	/* Fast path: a positive fixint (keys and small values). */
	if (!r->err && r->p < r->end && *r->p <= 0x7f) {
		*v = *r->p++;
		return 0;
	}

	if (read_integer(r, &sgn, &u, &s))
		return r->err;
	if (sgn) {
		if (s < 0) {
			r->p = save;
			return codec_fail(r, ERR_DECODE);
		}
		u = (uint64_t)s;
	}
	*v = u;
	return 0;
}

int
codec_read_uint_max(struct codec_reader *r, uint64_t max, uint64_t *v)
{
	uint64_t t;

	if (codec_read_uint(r, &t))
		return r->err;
	if (t > max)
		return codec_fail(r, ERR_RANGE);
	*v = t;
	return 0;
}

int
codec_read_int(struct codec_reader *r, int64_t *v)
{
	bool sgn;
	uint64_t u = 0;
	int64_t s = 0;

	if (read_integer(r, &sgn, &u, &s))
		return r->err;
	if (!sgn) {
		if (u > (uint64_t)INT64_MAX)
			return codec_fail(r, ERR_RANGE);
		s = (int64_t)u;
	}
	*v = s;
	return 0;
}

int
codec_read_double(struct codec_reader *r, double *v)
{
	uint8_t c;

	if (r->err)
		return r->err;
	if (need(r, 1))
		return r->err;
	c = *r->p;
	if (c == 0xca) {
		uint32_t bits;
		float f;

		if (need(r, 5))
			return r->err;
		bits = (uint32_t)be(r->p + 1, 4);
		memcpy(&f, &bits, sizeof(f));
		*v = f;
		r->p += 5;
		return 0;
	}
	if (c == 0xcb) {
		uint64_t bits;

		if (need(r, 9))
			return r->err;
		bits = be(r->p + 1, 8);
		memcpy(v, &bits, sizeof(*v));
		r->p += 9;
		return 0;
	}
	return codec_fail(r, ERR_DECODE);
}

/* Read a container header: fix range [lo, lo+15], 16-bit and 32-bit tags. */
static int
read_container(struct codec_reader *r, uint8_t fix_lo, uint8_t tag16,
	       uint8_t tag32, size_t per_elem, uint32_t *n)
{
	uint8_t c;
	uint64_t cnt;
	size_t hdr;

	if (r->err)
		return r->err;
	if (need(r, 1))
		return r->err;
	c = *r->p;
	if (c >= fix_lo && c <= fix_lo + 15) {
		cnt = c & 0x0f;
		hdr = 1;
	} else if (c == tag16) {
		if (need(r, 3))
			return r->err;
		cnt = be(r->p + 1, 2);
		hdr = 3;
	} else if (c == tag32) {
		if (need(r, 5))
			return r->err;
		cnt = be(r->p + 1, 4);
		hdr = 5;
	} else {
		return codec_fail(r, ERR_DECODE);
	}
	/* Each element needs at least one byte: refuse impossible counts. */
	if (cnt > (size_t)(r->end - r->p - hdr) / per_elem)
		return codec_fail(r, ERR_TRUNC);
	r->p += hdr;
	*n = (uint32_t)cnt;
	return 0;
}

int
codec_read_array(struct codec_reader *r, uint32_t *n)
{
	return read_container(r, 0x90, 0xdc, 0xdd, 1, n);
}

int
codec_read_map(struct codec_reader *r, uint32_t *n)
{
	return read_container(r, 0x80, 0xde, 0xdf, 2, n);
}

/* Length-prefixed bytes: str (fixstr, str8/16/32) or bin (bin8/16/32). */
static int
read_bytes(struct codec_reader *r, bool str, const uint8_t **out, uint32_t *n)
{
	uint8_t c;
	uint64_t len;
	size_t hdr;

	if (r->err)
		return r->err;
	if (need(r, 1))
		return r->err;
	c = *r->p;
	if (str && c >= 0xa0 && c <= 0xbf) {
		len = c & 0x1f;
		hdr = 1;
	} else if ((str && c == 0xd9) || (!str && c == 0xc4)) {
		if (need(r, 2))
			return r->err;
		len = r->p[1];
		hdr = 2;
	} else if ((str && c == 0xda) || (!str && c == 0xc5)) {
		if (need(r, 3))
			return r->err;
		len = be(r->p + 1, 2);
		hdr = 3;
	} else if ((str && c == 0xdb) || (!str && c == 0xc6)) {
		if (need(r, 5))
			return r->err;
		len = be(r->p + 1, 4);
		hdr = 5;
	} else {
		return codec_fail(r, ERR_DECODE);
	}
	if (len > (size_t)(r->end - r->p - hdr))
		return codec_fail(r, ERR_TRUNC);
	*out = r->p + hdr;
	*n = (uint32_t)len;
	r->p += hdr + len;
	return 0;
}

int
codec_read_str(struct codec_reader *r, const char **s, uint32_t *n)
{
	const uint8_t *p = NULL;

	if (read_bytes(r, true, &p, n))
		return r->err;
	*s = (const char *)p;
	return 0;
}

int
codec_read_bin(struct codec_reader *r, const uint8_t **p, uint32_t *n)
{
	return read_bytes(r, false, p, n);
}

int
codec_read_cstr(struct codec_reader *r, char *out, size_t cap)
{
	const char *s = NULL;
	uint32_t n = 0;

	if (codec_read_str(r, &s, &n))
		return r->err;
	if ((size_t)n + 1 > cap)
		return codec_fail(r, ERR_TOOBIG);
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int
skip(struct codec_reader *r, int depth)
{
	const uint8_t *p;
	uint32_t n;
	uint8_t c;

	if (r->err)
		return r->err;
	switch (codec_peek(r)) {
	case CODEC_NIL:
		return codec_read_nil(r);
	case CODEC_BOOL: {
		bool b;

		return codec_read_bool(r, &b);
	}
	case CODEC_UINT:
	case CODEC_INT: {
		bool sg;
		uint64_t u;
		int64_t s;

		return read_integer(r, &sg, &u, &s);
	}
	case CODEC_FLOAT: {
		double d;

		return codec_read_double(r, &d);
	}
	case CODEC_STR:
		return read_bytes(r, true, &p, &n);
	case CODEC_BIN:
		return read_bytes(r, false, &p, &n);
	case CODEC_ARRAY:
		/* depth counts the containers around this one: refuse the
		 * (CODEC_DEPTH_MAX + 1)-th level whatever it holds. */
		if (depth >= CODEC_DEPTH_MAX)
			return codec_fail(r, ERR_DECODE);
		if (codec_read_array(r, &n))
			return r->err;
		while (n--)
			if (skip(r, depth + 1))
				return r->err;
		return 0;
	case CODEC_MAP:
		if (depth >= CODEC_DEPTH_MAX)
			return codec_fail(r, ERR_DECODE);
		if (codec_read_map(r, &n))
			return r->err;
		while (n--)
			if (skip(r, depth + 1) || skip(r, depth + 1))
				return r->err;
		return 0;
	case CODEC_EXT: {
		size_t hdr, len;

		c = *r->p;
		if (c >= 0xd4 && c <= 0xd8) {
			hdr = 2;
			len = (size_t)1 << (c - 0xd4);
		} else {
			int lb = 1 << (c - 0xc7);

			if (need(r, 1 + (size_t)lb + 1))
				return r->err;
			len = (size_t)be(r->p + 1, lb);
			hdr = 1 + (size_t)lb + 1;
		}
		if (need(r, hdr) || len > (size_t)(r->end - r->p) - hdr)
			return codec_fail(r, ERR_TRUNC);
		r->p += hdr + len;
		return 0;
	}
	case CODEC_NONE:
	default:
		if (r->p >= r->end)
			return codec_fail(r, ERR_TRUNC);
		return codec_fail(r, ERR_DECODE);
	}
}

int
codec_skip(struct codec_reader *r)
{
	return skip(r, 0);
}

int
codec_read_end(struct codec_reader *r)
{
	if (r->err)
		return r->err;
	if (r->p != r->end)
		return codec_fail(r, ERR_DECODE);
	return 0;
}
