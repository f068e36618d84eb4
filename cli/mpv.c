/* SPDX-License-Identifier: MIT */
/*
 * cli/mpv.c — msgpack into a tree, two passes over a strict reader.
 *
 * The first pass walks the value with core/codec to validate it and count
 * the nodes below the root; the second allocates them all at once and fills
 * them in document order. Both passes use the same reader, so anything the
 * second pass sees has already been accepted by the first, and because each
 * node consumes at least one input byte the allocation is bounded by the
 * input length. Recursion is bounded by CODEC_DEPTH_MAX.
 */
#include "cli/mpv.h"

#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/err.h"

struct fill {
	struct mpv *next; /* next free node */
	struct mpv *end;
};

/* Pass 1: validate and count the nodes below this value. */
static int
count(struct codec_reader *r, int depth, size_t *nodes)
{
	uint32_t n;
	uint64_t u;
	int64_t i;
	double d;
	bool b;
	const char *s;
	const uint8_t *bin;

	if (depth > CODEC_DEPTH_MAX)
		return codec_fail(r, ERR_DECODE);
	switch (codec_peek(r)) {
	case CODEC_NIL:
		return codec_read_nil(r);
	case CODEC_BOOL:
		return codec_read_bool(r, &b);
	case CODEC_UINT:
		return codec_read_uint(r, &u);
	case CODEC_INT:
		return codec_read_int(r, &i);
	case CODEC_FLOAT:
		return codec_read_double(r, &d);
	case CODEC_STR:
		return codec_read_str(r, &s, &n);
	case CODEC_BIN:
		return codec_read_bin(r, &bin, &n);
	case CODEC_ARRAY:
		if (codec_read_array(r, &n))
			return r->err;
		*nodes += n;
		for (uint32_t k = 0; k < n; k++)
			if (count(r, depth + 1, nodes))
				return r->err;
		return 0;
	case CODEC_MAP:
		if (codec_read_map(r, &n))
			return r->err;
		*nodes += 2 * (size_t)n;
		for (uint32_t k = 0; k < 2 * n; k++)
			if (count(r, depth + 1, nodes))
				return r->err;
		return 0;
	case CODEC_EXT:
		return codec_fail(r, ERR_DECODE);
	case CODEC_NONE:
	default:
		return codec_fail(r, r->err ? r->err : ERR_TRUNC);
	}
}

/* Pass 2: fill v from the reader (already validated). */
static int
fill(struct codec_reader *r, struct fill *f, struct mpv *v)
{
	uint32_t n;

	memset(v, 0, sizeof(*v));
	switch (codec_peek(r)) {
	case CODEC_NIL:
		v->type = MPV_NIL;
		return codec_read_nil(r);
	case CODEC_BOOL:
		v->type = MPV_BOOL;
		return codec_read_bool(r, &v->v.b);
	case CODEC_UINT:
		v->type = MPV_UINT;
		return codec_read_uint(r, &v->v.u);
	case CODEC_INT:
		v->type = MPV_INT;
		return codec_read_int(r, &v->v.i);
	case CODEC_FLOAT:
		v->type = MPV_FLOAT;
		return codec_read_double(r, &v->v.d);
	case CODEC_STR:
		v->type = MPV_STR;
		return codec_read_str(r, &v->v.s, &v->n);
	case CODEC_BIN:
		v->type = MPV_BIN;
		return codec_read_bin(r, &v->v.bin, &v->n);
	case CODEC_ARRAY:
	case CODEC_MAP: {
		bool map = codec_peek(r) == CODEC_MAP;
		size_t k, total;

		if (map ? codec_read_map(r, &n) : codec_read_array(r, &n))
			return r->err;
		total = map ? 2 * (size_t)n : n;
		if ((size_t)(f->end - f->next) < total)
			return codec_fail(r, ERR_DECODE);
		v->type = map ? MPV_MAP : MPV_ARRAY;
		v->n = n;
		v->v.items = f->next;
		f->next += total;
		for (k = 0; k < total; k++)
			if (fill(r, f, &v->v.items[k]))
				return r->err;
		return 0;
	}
	default:
		return codec_fail(r, ERR_DECODE);
	}
}

int
mpv_parse(struct mpv_doc *doc, const uint8_t *p, size_t n)
{
	struct codec_reader r;
	struct fill f;
	size_t nodes = 0;
	int rc;

	memset(doc, 0, sizeof(*doc));
	codec_reader_init(&r, p, n);
	if (count(&r, 0, &nodes) || codec_read_end(&r))
		return r.err ? r.err : ERR_DECODE;
	if (nodes > n)
		return ERR_DECODE; /* cannot happen: each node takes a byte */
	if (nodes) {
		doc->nodes = calloc(nodes, sizeof(*doc->nodes));
		if (!doc->nodes)
			return ERR_NOMEM;
	}
	doc->nnodes = nodes;
	f.next = doc->nodes;
	f.end = doc->nodes + nodes;
	codec_reader_init(&r, p, n);
	rc = fill(&r, &f, &doc->root);
	if (!rc)
		rc = codec_read_end(&r);
	if (rc) {
		free(doc->nodes);
		memset(doc, 0, sizeof(*doc));
	}
	return rc;
}

void
mpv_doc_release(struct mpv_doc *doc)
{
	free(doc->nodes);
	memset(doc, 0, sizeof(*doc));
}

bool
mpv_str_eq(const struct mpv *v, const char *s)
{
	size_t n = strlen(s);

	return v && v->type == MPV_STR && v->n == n &&
	       memcmp(v->v.s, s, n) == 0;
}

const struct mpv *
mpv_get(const struct mpv *m, const char *key)
{
	if (!m || m->type != MPV_MAP)
		return NULL;
	for (uint32_t i = 0; i < m->n; i++)
		if (mpv_str_eq(&m->v.items[2 * i], key))
			return &m->v.items[2 * i + 1];
	return NULL;
}

uint64_t
mpv_uint(const struct mpv *v, uint64_t fallback)
{
	return v && v->type == MPV_UINT ? v->v.u : fallback;
}

int64_t
mpv_int(const struct mpv *v, int64_t fallback)
{
	if (v && v->type == MPV_INT)
		return v->v.i;
	if (v && v->type == MPV_UINT && v->v.u <= INT64_MAX)
		return (int64_t)v->v.u;
	return fallback;
}

bool
mpv_bool(const struct mpv *v, bool fallback)
{
	return v && v->type == MPV_BOOL ? v->v.b : fallback;
}

double
mpv_double(const struct mpv *v, double fallback)
{
	if (!v)
		return fallback;
	switch (v->type) {
	case MPV_FLOAT:
		return v->v.d;
	case MPV_UINT:
		return (double)v->v.u;
	case MPV_INT:
		return (double)v->v.i;
	default:
		return fallback;
	}
}

const char *
mpv_cstr(const struct mpv *v, char *out, size_t cap, const char *fallback)
{
	size_t n;

	if (!v || v->type != MPV_STR || cap == 0)
		return fallback;
	n = v->n < cap - 1 ? v->n : cap - 1;
	memcpy(out, v->v.s, n);
	out[n] = '\0';
	return out;
}

const struct mpv *
mpv_at(const struct mpv *a, size_t i)
{
	if (!a || a->type != MPV_ARRAY || i >= a->n)
		return NULL;
	return &a->v.items[i];
}

const struct mpv *
mpv_key_at(const struct mpv *m, size_t i)
{
	if (!m || m->type != MPV_MAP || i >= m->n)
		return NULL;
	return &m->v.items[2 * i];
}

const struct mpv *
mpv_val_at(const struct mpv *m, size_t i)
{
	if (!m || m->type != MPV_MAP || i >= m->n)
		return NULL;
	return &m->v.items[2 * i + 1];
}

size_t
mpv_len(const struct mpv *v)
{
	if (!v || (v->type != MPV_ARRAY && v->type != MPV_MAP))
		return 0;
	return v->n;
}
