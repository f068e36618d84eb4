/* SPDX-License-Identifier: MIT */
/*
 * core/buf.c — growable byte buffer with a hard limit.
 *
 * Growth doubles the capacity (starting at 64 bytes) and clamps at `max`, so
 * the amortised cost of appends is constant and the limit is never exceeded
 * even transiently. Every check is written so that a huge `n` cannot overflow
 * the arithmetic: we compare n against the room left, never len + n against
 * max.
 */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

int
buf_reserve(struct buf *b, size_t extra)
{
	size_t want, cap;
	uint8_t *p;

	if (extra > b->max - b->len)
		return ERR_TOOBIG;
	want = b->len + extra;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want) {
		if (cap > b->max / 2) {
			cap = b->max;
			break;
		}
		cap *= 2;
	}
	if (cap > b->max)
		cap = b->max;
	p = realloc(b->data, cap);
	if (!p)
		return ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	rc = buf_reserve(b, n);
	if (rc)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_append_byte(struct buf *b, uint8_t c)
{
	return buf_append(b, &c, 1);
}

uint8_t *
buf_extend(struct buf *b, size_t n, int *err)
{
	uint8_t *p;
	int rc;

	/* Zero bytes always fit; otherwise reserve at least one byte so that
	 * the pointer returned is never NULL on success. */
	if (n == 0 && b->data)
		return b->data + b->len;
	rc = buf_reserve(b, n ? n : 1);
	if (rc) {
		if (err)
			*err = rc;
		return NULL;
	}
	p = b->data + b->len;
	b->len += n;
	return p;
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len)
		b->len = len;
}
