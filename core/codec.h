/* SPDX-License-Identifier: MIT */
/*
 * core/codec.h — msgpack for shoal's messages: a writer and a strict reader.
 *
 * Writing goes through msgpack-c's packer into a struct buf (msgpack.h is
 * included by codec.c only: it pulls in the socket headers, which have no
 * business in the pure layers that include this file); the first
 * failure (the buffer's hard limit, usually) is remembered in `err` and every
 * later write is a no-op, so a message is built with a straight run of calls
 * and checked once at the end.
 *
 * Reading is our own pull parser over a byte range. It never allocates:
 * strings and binaries come back as pointers into the input, valid as long as
 * the input is. Every read checks the type it expects, every length is
 * checked against the bytes actually left, and a container's declared count
 * is refused when the input could not possibly hold that many elements (each
 * element takes at least one byte). The first error sticks in `err` and makes
 * every later read fail, so a decoder may read a whole message and test once.
 * codec_read_end() refuses trailing bytes.
 *
 * Messages use maps with small unsigned integer keys; unknown keys are
 * skipped with codec_skip() (bounded nesting), which is how old and new
 * versions of shoal read each other.
 */
#ifndef SHOAL_CORE_CODEC_H
#define SHOAL_CORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Deepest nesting codec_skip() will follow: at most this many containers
 * (arrays and maps) inside one another; one more level is ERR_DECODE. */
#define CODEC_DEPTH_MAX 16

/* ---- writer ---- */

struct codec_writer {
	struct buf *b; /* borrowed */
	int err;       /* first error, 0 if none */
};

/* Start writing at the end of b (b is borrowed, not reset). */
void codec_writer_init(struct codec_writer *w, struct buf *b);

void codec_write_nil(struct codec_writer *w);
void codec_write_bool(struct codec_writer *w, bool v);
void codec_write_uint(struct codec_writer *w, uint64_t v);
void codec_write_int(struct codec_writer *w, int64_t v);
void codec_write_double(struct codec_writer *w, double v);
void codec_write_map(struct codec_writer *w, uint32_t n);
void codec_write_array(struct codec_writer *w, uint32_t n);
void codec_write_str(struct codec_writer *w, const char *s, size_t n);
void codec_write_cstr(struct codec_writer *w, const char *s);
void codec_write_bin(struct codec_writer *w, const void *p, size_t n);
/* Append bytes that are already msgpack (no framing added). */
void codec_write_raw(struct codec_writer *w, const void *p, size_t n);

/* 0 or the first error (ERR_TOOBIG, ERR_NOMEM, ERR_RANGE). */
static inline int
codec_writer_error(const struct codec_writer *w)
{
	return w->err;
}

/* ---- reader ---- */

enum codec_type {
	CODEC_NONE = 0, /* at the end or after an error */
	CODEC_NIL,
	CODEC_BOOL,
	CODEC_UINT,  /* a non-negative integer */
	CODEC_INT,   /* a negative integer */
	CODEC_FLOAT, /* float32 or float64 */
	CODEC_STR,
	CODEC_BIN,
	CODEC_ARRAY,
	CODEC_MAP,
	CODEC_EXT,
};

struct codec_reader {
	const uint8_t *p;   /* next byte */
	const uint8_t *end; /* one past the last byte */
	int err;	    /* first error, 0 if none */
};

void codec_reader_init(struct codec_reader *r, const void *p, size_t n);

/* Bytes not yet consumed. */
static inline size_t
codec_remaining(const struct codec_reader *r)
{
	return (size_t)(r->end - r->p);
}

/* Type of the next value without consuming it (CODEC_NONE at the end or
 * after an error). */
enum codec_type codec_peek(const struct codec_reader *r);

/* Each read returns 0 or a negative error (ERR_TRUNC, ERR_DECODE,
 * ERR_RANGE), and on error sets r->err and leaves outputs untouched. */
int codec_read_nil(struct codec_reader *r);
int codec_read_bool(struct codec_reader *r, bool *v);
/* Any non-negative integer encoding (positive fixint, uint8..64, and
 * int8..64 holding a value >= 0). */
int codec_read_uint(struct codec_reader *r, uint64_t *v);
/* Like codec_read_uint but refuses values above max with ERR_RANGE. */
int codec_read_uint_max(struct codec_reader *r, uint64_t max, uint64_t *v);
int codec_read_int(struct codec_reader *r, int64_t *v);
int codec_read_double(struct codec_reader *r, double *v);
/* Container headers. The count is checked against the bytes left: an array
 * of n needs at least n bytes, a map of n at least 2n. */
int codec_read_array(struct codec_reader *r, uint32_t *n);
int codec_read_map(struct codec_reader *r, uint32_t *n);
/* Borrowed pointers into the input; *n is checked against the bytes left. */
int codec_read_str(struct codec_reader *r, const char **s, uint32_t *n);
int codec_read_bin(struct codec_reader *r, const uint8_t **p, uint32_t *n);
/* A string copied into out with a NUL (n + 1 <= cap); ERR_TOOBIG if not. */
int codec_read_cstr(struct codec_reader *r, char *out, size_t cap);
/* Skip one whole value of any type, nesting at most CODEC_DEPTH_MAX
 * containers deep (ERR_DECODE beyond). */
int codec_skip(struct codec_reader *r);
/* 0 if every byte was consumed and no error occurred, else ERR_DECODE (or
 * the earlier error). */
int codec_read_end(struct codec_reader *r);

/* Mark the reader failed with err (for semantic checks by decoders): the
 * first error wins. Returns the error that is now stuck. */
int codec_fail(struct codec_reader *r, int err);

#endif
