/* SPDX-License-Identifier: MIT */
/*
 * core/buf.h — a growable byte buffer with a hard size limit.
 *
 * Every buffer in shoal has a stated bound: `max` is the most bytes the
 * buffer may ever hold, and any append that would pass it fails with
 * ERR_TOOBIG and leaves the buffer unchanged. Memory grows geometrically and
 * is kept across buf_reset(), so a buffer reused for every packet allocates
 * only on its first few uses.
 *
 * Ownership: the struct is the caller's; `data` belongs to the buffer until
 * buf_release(). Pointers into `data` are invalidated by any call that may
 * grow the buffer.
 */
#ifndef SHOAL_CORE_BUF_H
#define SHOAL_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data; /* NULL until the first append */
	size_t len;    /* bytes in use */
	size_t cap;    /* bytes allocated */
	size_t max;    /* hard limit on len */
};

/* Make an empty buffer that will never hold more than max bytes. */
void buf_init(struct buf *b, size_t max);

/* Free the memory; the buffer is empty and may be used again. */
void buf_release(struct buf *b);

/* Forget the contents but keep the memory. */
static inline void
buf_reset(struct buf *b)
{
	b->len = 0;
}

/* Ensure room for `extra` more bytes. 0, ERR_TOOBIG or ERR_NOMEM. */
int buf_reserve(struct buf *b, size_t extra);

/* Append n bytes. 0, ERR_TOOBIG or ERR_NOMEM; unchanged on failure. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Append one byte. */
int buf_append_byte(struct buf *b, uint8_t c);

/* Grow len by n and return a pointer to the n new (uninitialised) bytes, or
 * NULL (and *err set when err is not NULL) if that would pass the limit. */
uint8_t *buf_extend(struct buf *b, size_t n, int *err);

/* Shrink to len bytes (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);

/* Bytes that may still be appended before the hard limit. */
static inline size_t
buf_room(const struct buf *b)
{
	return b->max - b->len;
}

#endif
