/* SPDX-License-Identifier: MIT */
/*
 * cli/frame.h — 4-byte big-endian length prefixes on byte streams.
 *
 * Both kinds of stream the agent speaks are framed the same way: gossip's
 * TCP streams (one sealed frame each way) and the control socket (msgpack
 * requests and responses). A frame is
 *
 *   +---------------------+--------------------------+
 *   | length (u32 BE)     | payload (length bytes)   |
 *   +---------------------+--------------------------+
 *
 * and every reader states the largest payload it accepts, so a length field
 * never sizes an allocation beyond that bound. A zero length is refused: no
 * message of ours is empty.
 */
#ifndef SHOAL_CLI_FRAME_H
#define SHOAL_CLI_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define FRAME_HDR_LEN 4

/* Look for one complete frame at the start of p[0..n). Returns 1 and sets
 * *payload / *payload_len / *frame_len (header included) when a whole frame
 * is there; 0 when more bytes are needed; ERR_TOOBIG when the announced
 * length exceeds max; ERR_DECODE for a zero length. Borrowed pointers. */
int frame_next(const uint8_t *p, size_t n, size_t max, const uint8_t **payload,
	       size_t *payload_len, size_t *frame_len);

/* Append a length header followed by len bytes of payload to b.
 * 0, ERR_TOOBIG (len does not fit b or a u32) or ERR_NOMEM. */
int frame_append(struct buf *b, const void *payload, size_t len);

/* Reserve a header at the end of b; return its offset. Fill the payload,
 * then call frame_finish(b, off) to write the length. For building a
 * frame in place without a copy. */
size_t frame_begin(struct buf *b, int *err);
/* 0, or ERR_TOOBIG if the payload written since frame_begin exceeds a u32
 * or is empty (ERR_DECODE). */
int frame_finish(struct buf *b, size_t off);

/* Big-endian helpers. */
static inline uint32_t
frame_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void
frame_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
