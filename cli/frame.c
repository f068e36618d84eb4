/* SPDX-License-Identifier: MIT */
/*
 * cli/frame.c — length-prefixed frames on byte streams.
 *
 * The reader is a pure function over what has arrived so far: the caller
 * appends bytes to its connection buffer and asks whether a frame is
 * complete, so a slow writer costs nothing but the bytes it sent. The bound
 * is checked as soon as the four length bytes are in, before any payload
 * is buffered, so an announced 4 GiB frame is refused after 4 bytes.
 */
#include "cli/frame.h"

#include "core/err.h"

int
frame_next(const uint8_t *p, size_t n, size_t max, const uint8_t **payload,
	   size_t *payload_len, size_t *frame_len)
{
	uint32_t len;

	if (n < FRAME_HDR_LEN)
		return 0;
	len = frame_get_u32(p);
	if (len == 0)
		return ERR_DECODE;
	if (len > max)
		return ERR_TOOBIG;
	if (n - FRAME_HDR_LEN < len)
		return 0;
	*payload = p + FRAME_HDR_LEN;
	*payload_len = len;
	*frame_len = FRAME_HDR_LEN + (size_t)len;
	return 1;
}

int
frame_append(struct buf *b, const void *payload, size_t len)
{
	uint8_t hdr[FRAME_HDR_LEN];
	size_t old = b->len;
	int rc;

	if (len == 0)
		return ERR_DECODE;
	if (len > UINT32_MAX)
		return ERR_TOOBIG;
	rc = buf_reserve(b, FRAME_HDR_LEN + len);
	if (rc)
		return rc;
	frame_put_u32(hdr, (uint32_t)len);
	rc = buf_append(b, hdr, sizeof(hdr));
	if (!rc)
		rc = buf_append(b, payload, len);
	if (rc)
		buf_truncate(b, old);
	return rc;
}

size_t
frame_begin(struct buf *b, int *err)
{
	size_t off = b->len;

	if (!buf_extend(b, FRAME_HDR_LEN, err))
		return (size_t)-1;
	return off;
}

int
frame_finish(struct buf *b, size_t off)
{
	size_t len;

	if (off == (size_t)-1 || off + FRAME_HDR_LEN > b->len)
		return ERR_INVAL;
	len = b->len - off - FRAME_HDR_LEN;
	if (len == 0)
		return ERR_DECODE;
	if (len > UINT32_MAX)
		return ERR_TOOBIG;
	frame_put_u32(b->data + off, (uint32_t)len);
	return 0;
}
