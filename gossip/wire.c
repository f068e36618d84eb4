/* SPDX-License-Identifier: MIT */
/*
 * gossip/wire.c — encoding and strict decoding of membership messages.
 *
 * Encoding is append-only into a struct buf through the codec writer; a
 * message that would pass the datagram budget is rolled back by truncating
 * the buffer to where it started, so the piggyback loop can simply try the
 * next broadcast. The messages array is written with an array32 header and
 * patched at the end: the count is not known until the budget is spent.
 *
 * Decoding validates everything a handler relies on before the handler
 * sees it: names are 1..64 bytes of [A-Za-z0-9._-], metadata at most 512
 * bytes, addresses exactly 6 or 18 bytes, required fields present for the
 * type. A decoded message is therefore safe to act on; the caller still
 * decides whether it is *welcome* (replay, precedence).
 */
#include "gossip/wire.h"

#include <string.h>

#include "core/err.h"
#include "gossip/swim.h"

/* ---- writing ---- */

static void
write_hdr_fields(struct codec_writer *w, const struct wire_hdr *h)
{
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_VERSION);
	codec_write_uint(w, 1);
	codec_write_str(w, h->sender, h->sender_len);
	codec_write_uint(w, 2);
	codec_write_uint(w, h->boot);
	codec_write_uint(w, 3);
	codec_write_uint(w, h->seq);
	codec_write_uint(w, 4);
	codec_write_uint(w, h->ts_ms);
}

int
wire_dgram_begin(struct wire_dgram *d, struct buf *b, size_t budget,
		 const struct wire_hdr *h)
{
	static const uint8_t arr32[5] = { 0xdd, 0, 0, 0, 0 };

	buf_reset(b);
	d->b = b;
	d->budget = budget;
	d->count = 0;
	codec_writer_init(&d->w, b);
	codec_write_map(&d->w, 6);
	write_hdr_fields(&d->w, h);
	codec_write_uint(&d->w, 5);
	d->count_off = b->len + 1;
	codec_write_raw(&d->w, arr32, sizeof(arr32));
	if (d->w.err)
		return d->w.err;
	if (b->len > budget)
		return ERR_TOOBIG;
	return 0;
}

size_t
wire_dgram_room(const struct wire_dgram *d)
{
	return d->b->len >= d->budget ? 0 : d->budget - d->b->len;
}

static void
write_addr(struct codec_writer *w, const struct addr *a)
{
	uint8_t t[ADDR_WIRE_MAX];
	int n = addr_encode(a, t);

	if (n < 0)
		codec_write_bin(w, t, 0);
	else
		codec_write_bin(w, t, (size_t)n);
}

static void
write_msg(struct codec_writer *w, const struct wire_msg *m)
{
	switch (m->type) {
	case WIRE_PING:
		codec_write_map(w, m->has_src ? 5 : 3);
		codec_write_uint(w, 0);
		codec_write_uint(w, m->type);
		codec_write_uint(w, 1);
		codec_write_uint(w, m->seq);
		codec_write_uint(w, 2);
		codec_write_str(w, m->node, m->node_len);
		if (m->has_src) {
			codec_write_uint(w, 3);
			write_addr(w, &m->src);
			codec_write_uint(w, 4);
			codec_write_str(w, m->from, m->from_len);
		}
		break;
	case WIRE_PING_REQ:
		codec_write_map(w, 7);
		codec_write_uint(w, 0);
		codec_write_uint(w, m->type);
		codec_write_uint(w, 1);
		codec_write_uint(w, m->seq);
		codec_write_uint(w, 2);
		codec_write_str(w, m->node, m->node_len);
		codec_write_uint(w, 3);
		write_addr(w, &m->addr);
		codec_write_uint(w, 4);
		codec_write_bool(w, m->nack);
		codec_write_uint(w, 5);
		write_addr(w, &m->src);
		codec_write_uint(w, 6);
		codec_write_str(w, m->from, m->from_len);
		break;
	case WIRE_ACK:
	case WIRE_NACK:
		codec_write_map(w, 2);
		codec_write_uint(w, 0);
		codec_write_uint(w, m->type);
		codec_write_uint(w, 1);
		codec_write_uint(w, m->seq);
		break;
	case WIRE_ALIVE:
		codec_write_map(w, 5);
		codec_write_uint(w, 0);
		codec_write_uint(w, m->type);
		codec_write_uint(w, 1);
		codec_write_uint(w, m->inc);
		codec_write_uint(w, 2);
		codec_write_str(w, m->node, m->node_len);
		codec_write_uint(w, 3);
		write_addr(w, &m->addr);
		codec_write_uint(w, 4);
		codec_write_bin(w, m->data, m->data_len);
		break;
	case WIRE_SUSPECT:
		codec_write_map(w, 4);
		codec_write_uint(w, 0);
		codec_write_uint(w, m->type);
		codec_write_uint(w, 1);
		codec_write_uint(w, m->inc);
		codec_write_uint(w, 2);
		codec_write_str(w, m->node, m->node_len);
		codec_write_uint(w, 3);
		codec_write_str(w, m->from, m->from_len);
		break;
	case WIRE_DEAD:
		codec_write_map(w, 5);
		codec_write_uint(w, 0);
		codec_write_uint(w, m->type);
		codec_write_uint(w, 1);
		codec_write_uint(w, m->inc);
		codec_write_uint(w, 2);
		codec_write_str(w, m->node, m->node_len);
		codec_write_uint(w, 3);
		codec_write_str(w, m->from, m->from_len);
		codec_write_uint(w, 4);
		codec_write_bool(w, m->left);
		break;
	case WIRE_USER:
		codec_write_map(w, 2);
		codec_write_uint(w, 0);
		codec_write_uint(w, m->type);
		codec_write_uint(w, 1);
		codec_write_bin(w, m->data, m->data_len);
		break;
	default:
		w->err = ERR_INVAL;
		break;
	}
}

size_t
wire_msg_size(const struct wire_msg *m)
{
	/* Map header, keys and tags are small; 9 bytes per integer and 5 per
	 * string/bin header cover the worst case. */
	size_t n = 1 + 2 * 7 + 9 + 9;

	n += 5 + m->node_len + 5 + m->from_len;
	n += 2 * (5 + ADDR_WIRE_MAX);
	n += 5 + m->data_len;
	return n;
}

int
wire_dgram_add(struct wire_dgram *d, const struct wire_msg *m)
{
	size_t start = d->b->len;

	if (d->w.err)
		return d->w.err;
	write_msg(&d->w, m);
	if (d->w.err || d->b->len > d->budget) {
		int err = d->w.err ? d->w.err : ERR_TOOBIG;

		/* Roll back; a full buffer is not a lasting error. */
		buf_truncate(d->b, start);
		d->w.err = 0;
		return err == ERR_INVAL ? ERR_INVAL : ERR_TOOBIG;
	}
	d->count++;
	return 0;
}

uint32_t
wire_dgram_end(struct wire_dgram *d)
{
	uint8_t *p = d->b->data + d->count_off;

	p[0] = (uint8_t)(d->count >> 24);
	p[1] = (uint8_t)(d->count >> 16);
	p[2] = (uint8_t)(d->count >> 8);
	p[3] = (uint8_t)d->count;
	return d->count;
}

void
wire_stream_begin_digest(struct codec_writer *w, const struct wire_hdr *h,
			 uint8_t kind, bool join, uint64_t digest,
			 uint64_t flags, uint32_t nmembers)
{
	/* Keys 12 and 13 first after the header, so that the members array
	 * and the application state keep their places. */
	codec_write_map(w, flags ? 11 : 10);
	write_hdr_fields(w, h);
	codec_write_uint(w, 12);
	codec_write_uint(w, digest);
	if (flags) {
		codec_write_uint(w, 13);
		codec_write_uint(w, flags);
	}
	codec_write_uint(w, 6);
	codec_write_uint(w, kind);
	codec_write_uint(w, 7);
	codec_write_bool(w, join);
	codec_write_uint(w, 8);
	codec_write_array(w, nmembers);
}

void
wire_stream_begin(struct codec_writer *w, const struct wire_hdr *h,
		  uint8_t kind, bool join, uint32_t nmembers)
{
	codec_write_map(w, 9);
	write_hdr_fields(w, h);
	codec_write_uint(w, 6);
	codec_write_uint(w, kind);
	codec_write_uint(w, 7);
	codec_write_bool(w, join);
	codec_write_uint(w, 8);
	codec_write_array(w, nmembers);
}

void
wire_member_write(struct codec_writer *w, const struct wire_member *m)
{
	codec_write_map(w, m->from ? 6 : 5);
	codec_write_uint(w, 1);
	codec_write_str(w, m->name, m->name_len);
	codec_write_uint(w, 2);
	write_addr(w, &m->addr);
	codec_write_uint(w, 3);
	codec_write_bin(w, m->meta, m->meta_len);
	codec_write_uint(w, 4);
	codec_write_uint(w, m->inc);
	codec_write_uint(w, 5);
	codec_write_uint(w, m->state);
	if (m->from) {
		codec_write_uint(w, 6);
		codec_write_str(w, m->from, m->from_len);
	}
}

void
wire_stream_app(struct codec_writer *w, const uint8_t *p, size_t n)
{
	codec_write_uint(w, 9);
	codec_write_bin(w, p, n);
}

void
wire_stream_ping(struct codec_writer *w, const struct wire_hdr *h,
		 uint8_t kind, uint64_t seq, const char *target,
		 uint32_t target_len)
{
	codec_write_map(w, target ? 10 : 9);
	write_hdr_fields(w, h);
	codec_write_uint(w, 6);
	codec_write_uint(w, kind);
	codec_write_uint(w, 7);
	codec_write_bool(w, false);
	codec_write_uint(w, 8);
	codec_write_array(w, 0);
	codec_write_uint(w, 10);
	codec_write_uint(w, seq);
	if (target) {
		codec_write_uint(w, 11);
		codec_write_str(w, target, target_len);
	}
}

/* ---- reading ---- */

static int
read_name(struct codec_reader *r, const char **s, uint32_t *n)
{
	if (codec_read_str(r, s, n))
		return r->err;
	if (!swim_name_valid(*s, *n))
		return codec_fail(r, ERR_DECODE);
	return 0;
}

static int
read_addr(struct codec_reader *r, struct addr *a)
{
	const uint8_t *p;
	uint32_t n;

	if (codec_read_bin(r, &p, &n))
		return r->err;
	if (addr_decode(a, p, n))
		return codec_fail(r, ERR_DECODE);
	return 0;
}

/* Read the header keys 0..4 inside a map being walked. Returns 1 if the key
 * was a header key (consumed), 0 if not, negative on error. */
static int
read_hdr_key(struct codec_reader *r, uint64_t key, struct wire_hdr *h,
	     unsigned *seen)
{
	switch (key) {
	case 0:
		if (codec_read_uint(r, &h->version))
			return r->err;
		break;
	case 1:
		if (read_name(r, &h->sender, &h->sender_len))
			return r->err;
		break;
	case 2:
		if (codec_read_uint(r, &h->boot))
			return r->err;
		break;
	case 3:
		if (codec_read_uint(r, &h->seq))
			return r->err;
		break;
	case 4:
		if (codec_read_uint(r, &h->ts_ms))
			return r->err;
		break;
	default:
		return 0;
	}
	if (*seen & (1u << key))
		return codec_fail(r, ERR_DECODE); /* duplicate key */
	*seen |= 1u << key;
	return 1;
}

int
wire_dgram_decode(const uint8_t *p, size_t len, struct wire_hdr *h,
		  struct codec_reader *msgs, uint32_t *n)
{
	struct codec_reader r;
	const uint8_t *mstart = NULL, *mend = NULL;
	unsigned seen = 0;
	uint32_t nkeys;

	memset(h, 0, sizeof(*h));
	codec_reader_init(&r, p, len);
	if (codec_read_map(&r, &nkeys))
		return r.err;
	while (nkeys--) {
		uint64_t key;
		int rc;

		if (codec_read_uint(&r, &key))
			return r.err;
		rc = read_hdr_key(&r, key, h, &seen);
		if (rc < 0)
			return rc;
		if (rc)
			continue;
		if (key == 5) {
			if (seen & (1u << 5))
				return codec_fail(&r, ERR_DECODE);
			seen |= 1u << 5;
			if (codec_peek(&r) != CODEC_ARRAY)
				return codec_fail(&r, ERR_DECODE);
			mstart = r.p;
			if (nkeys == 0) {
				/* The last key (as we write it): the messages
				 * run to the end, and the caller's read of
				 * them checks there is nothing after. */
				mend = r.end;
				r.p = r.end;
				continue;
			}
			if (codec_skip(&r))
				return r.err;
			mend = r.p;
			continue;
		}
		if (codec_skip(&r))
			return r.err;
	}
	if (codec_read_end(&r))
		return r.err;
	if ((seen & 0x3f) != 0x3f)
		return ERR_DECODE;
	if (h->version != WIRE_VERSION)
		return ERR_VERSION;
	codec_reader_init(msgs, mstart, (size_t)(mend - mstart));
	if (codec_read_array(msgs, n))
		return msgs->err;
	return 0;
}

int
wire_msg_decode(struct codec_reader *r, struct wire_msg *m)
{
	uint32_t nkeys;
	uint64_t type = 0;
	unsigned seen = 0;

	memset(m, 0, sizeof(*m));
	if (codec_read_map(r, &nkeys))
		return r->err;
	/* The type must come first: it says what the other keys mean. */
	if (nkeys == 0)
		return codec_fail(r, ERR_DECODE);
	{
		uint64_t k0;

		if (codec_read_uint(r, &k0))
			return r->err;
		if (k0 != 0)
			return codec_fail(r, ERR_DECODE);
		if (codec_read_uint(r, &type))
			return r->err;
		nkeys--;
	}
	if (type < WIRE_PING || type > WIRE_USER) {
		/* Unknown type from a newer peer: skip its fields. */
		while (nkeys--)
			if (codec_skip(r) || codec_skip(r))
				return r->err;
		m->type = 0;
		return 0;
	}
	m->type = (enum wire_type)type;
	while (nkeys--) {
		uint64_t key;

		if (codec_read_uint(r, &key))
			return r->err;
		if (key >= 1 && key <= 15) {
			if (seen & (1u << key))
				return codec_fail(r, ERR_DECODE);
			seen |= 1u << key;
		}
		switch (m->type) {
		case WIRE_PING:
			if (key == 1)
				codec_read_uint(r, &m->seq);
			else if (key == 2)
				read_name(r, &m->node, &m->node_len);
			else if (key == 3) {
				read_addr(r, &m->src);
				m->has_src = true;
			} else if (key == 4)
				read_name(r, &m->from, &m->from_len);
			else
				codec_skip(r);
			break;
		case WIRE_PING_REQ:
			if (key == 1)
				codec_read_uint(r, &m->seq);
			else if (key == 2)
				read_name(r, &m->node, &m->node_len);
			else if (key == 3)
				read_addr(r, &m->addr);
			else if (key == 4)
				codec_read_bool(r, &m->nack);
			else if (key == 5) {
				read_addr(r, &m->src);
				m->has_src = true;
			} else if (key == 6)
				read_name(r, &m->from, &m->from_len);
			else
				codec_skip(r);
			break;
		case WIRE_ACK:
		case WIRE_NACK:
			if (key == 1)
				codec_read_uint(r, &m->seq);
			else
				codec_skip(r);
			break;
		case WIRE_ALIVE:
			if (key == 1)
				codec_read_uint(r, &m->inc);
			else if (key == 2)
				read_name(r, &m->node, &m->node_len);
			else if (key == 3)
				read_addr(r, &m->addr);
			else if (key == 4)
				codec_read_bin(r, &m->data, &m->data_len);
			else
				codec_skip(r);
			break;
		case WIRE_SUSPECT:
		case WIRE_DEAD:
			if (key == 1)
				codec_read_uint(r, &m->inc);
			else if (key == 2)
				read_name(r, &m->node, &m->node_len);
			else if (key == 3)
				read_name(r, &m->from, &m->from_len);
			else if (key == 4 && m->type == WIRE_DEAD)
				codec_read_bool(r, &m->left);
			else
				codec_skip(r);
			break;
		case WIRE_USER:
			if (key == 1)
				codec_read_bin(r, &m->data, &m->data_len);
			else
				codec_skip(r);
			break;
		}
		if (r->err)
			return r->err;
	}
	/* Required fields per type. */
	switch (m->type) {
	case WIRE_PING:
		if ((seen & 0x06) != 0x06 || (m->has_src && !(seen & 0x10)))
			return codec_fail(r, ERR_DECODE);
		break;
	case WIRE_PING_REQ:
		if ((seen & 0x6e) != 0x6e)
			return codec_fail(r, ERR_DECODE);
		break;
	case WIRE_ACK:
	case WIRE_NACK:
		if (!(seen & 0x02))
			return codec_fail(r, ERR_DECODE);
		break;
	case WIRE_ALIVE:
		if ((seen & 0x0e) != 0x0e || m->data_len > SWIM_META_MAX)
			return codec_fail(r, ERR_DECODE);
		break;
	case WIRE_SUSPECT:
	case WIRE_DEAD:
		if ((seen & 0x0e) != 0x0e)
			return codec_fail(r, ERR_DECODE);
		break;
	case WIRE_USER:
		if (!(seen & 0x02))
			return codec_fail(r, ERR_DECODE);
		break;
	}
	return 0;
}

int
wire_stream_decode(const uint8_t *p, size_t len, struct wire_stream *s)
{
	struct codec_reader r;
	const uint8_t *mstart = NULL, *mend = NULL;
	unsigned seen = 0;
	uint32_t nkeys;

	memset(s, 0, sizeof(*s));
	codec_reader_init(&r, p, len);
	if (codec_read_map(&r, &nkeys))
		return r.err;
	while (nkeys--) {
		uint64_t key, v;
		int rc;

		if (codec_read_uint(&r, &key))
			return r.err;
		rc = read_hdr_key(&r, key, &s->hdr, &seen);
		if (rc < 0)
			return rc;
		if (rc)
			continue;
		if (key >= 6 && key <= 13) {
			if (seen & (1u << key))
				return codec_fail(&r, ERR_DECODE);
			seen |= 1u << key;
		}
		switch (key) {
		case 6:
			if (codec_read_uint_max(&r, 255, &v))
				return r.err;
			s->kind = (uint8_t)v;
			break;
		case 7:
			if (codec_read_bool(&r, &s->join))
				return r.err;
			break;
		case 8:
			if (codec_peek(&r) != CODEC_ARRAY)
				return codec_fail(&r, ERR_DECODE);
			mstart = r.p;
			if (codec_skip(&r))
				return r.err;
			mend = r.p;
			break;
		case 9:
			if (codec_read_bin(&r, &s->app, &s->app_len))
				return r.err;
			break;
		case 10:
			if (codec_read_uint(&r, &s->seq))
				return r.err;
			break;
		case 11:
			if (read_name(&r, &s->target, &s->target_len))
				return r.err;
			break;
		case 12:
			if (codec_read_uint(&r, &s->digest))
				return r.err;
			s->has_digest = true;
			break;
		case 13:
			if (codec_read_uint(&r, &s->flags))
				return r.err;
			break;
		default:
			if (codec_skip(&r))
				return r.err;
		}
	}
	if (codec_read_end(&r))
		return r.err;
	if ((seen & 0x1df) != 0x1df) /* keys 0-4 and 6-8 */
		return ERR_DECODE;
	if (s->hdr.version != WIRE_VERSION)
		return ERR_VERSION;
	if (s->kind < WIRE_STREAM_REQ || s->kind > WIRE_STREAM_ACK)
		return ERR_DECODE;
	if (s->kind >= WIRE_STREAM_PING &&
	    (!(seen & (1u << 10)) ||
	     (s->kind == WIRE_STREAM_PING) != !!(seen & (1u << 11))))
		return ERR_DECODE;
	codec_reader_init(&s->members, mstart, (size_t)(mend - mstart));
	if (codec_read_array(&s->members, &s->nmembers))
		return s->members.err;
	return 0;
}

int
wire_member_decode(struct codec_reader *r, struct wire_member *m)
{
	uint32_t nkeys;
	unsigned seen = 0;

	memset(m, 0, sizeof(*m));
	if (codec_read_map(r, &nkeys))
		return r->err;
	while (nkeys--) {
		uint64_t key, v = 0;

		if (codec_read_uint(r, &key))
			return r->err;
		if (key >= 1 && key <= 6) {
			if (seen & (1u << key))
				return codec_fail(r, ERR_DECODE);
			seen |= 1u << key;
		}
		switch (key) {
		case 1:
			read_name(r, &m->name, &m->name_len);
			break;
		case 6:
			read_name(r, &m->from, &m->from_len);
			break;
		case 2:
			read_addr(r, &m->addr);
			break;
		case 3:
			codec_read_bin(r, &m->meta, &m->meta_len);
			break;
		case 4:
			codec_read_uint(r, &m->inc);
			break;
		case 5:
			codec_read_uint_max(r, 3, &v);
			m->state = (uint8_t)v;
			break;
		default:
			codec_skip(r);
		}
		if (r->err)
			return r->err;
	}
	if ((seen & 0x3e) != 0x3e || m->meta_len > SWIM_META_MAX)
		return codec_fail(r, ERR_DECODE);
	return 0;
}
