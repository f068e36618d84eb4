/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_common.h — what the fuzz targets and the corpus
 * generator share: the fixed key and cluster label datagrams are sealed
 * with, an always-on check macro, and a thorough walk of msgpack bytes.
 *
 * fuzz_check_msgpack() reads arbitrary bytes three ways and checks that
 * they agree:
 *   1. value by value with codec_skip();
 *   2. value by value with the typed reads that codec_peek() points to,
 *      writing each value again with the codec writer;
 *   3. with a sequence of reads of arbitrary types chosen by the input,
 *      checking the sticky-error contract after every call.
 * 1 and 2 must succeed or fail alike, with the same error at the same
 * offset. When the whole input reads, its re-encoding must read back and
 * re-encode to itself (the writer's output is canonical).
 *
 * Header-only on purpose: each target is one translation unit plus the
 * libraries, for both libFuzzer (clang) and the replay driver (gcc).
 */
#ifndef SHOAL_TESTS_FUZZ_COMMON_H
#define SHOAL_TESTS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/crypto.h"
#include "core/err.h"

#define FUZZ_LABEL     "fuzz-cluster"
#define FUZZ_LABEL_LEN (sizeof(FUZZ_LABEL) - 1)

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

/* The fixed cluster key of the datagram target: bytes 0xf0, 0xf1, ... */
static inline void
fuzz_key(uint8_t key[CRYPTO_KEY_LEN])
{
	for (int i = 0; i < CRYPTO_KEY_LEN; i++)
		key[i] = (uint8_t)(0xf0 + i);
}

/* Read one value with typed reads and write it to w. */
static inline int
fuzz_walk_value(struct codec_reader *r, struct codec_writer *w, int depth)
{
	const uint8_t *start = r->p;
	uint32_t n = 0;

	switch (codec_peek(r)) {
	case CODEC_NIL:
		if (codec_read_nil(r))
			return r->err;
		codec_write_nil(w);
		return 0;
	case CODEC_BOOL: {
		bool b;

		if (codec_read_bool(r, &b))
			return r->err;
		codec_write_bool(w, b);
		return 0;
	}
	case CODEC_UINT: {
		uint64_t u;

		if (codec_read_uint(r, &u))
			return r->err;
		codec_write_uint(w, u);
		return 0;
	}
	case CODEC_INT: {
		int64_t i;

		if (codec_read_int(r, &i))
			return r->err;
		FUZZ_CHECK(i < 0);
		codec_write_int(w, i);
		return 0;
	}
	case CODEC_FLOAT: {
		double d;

		if (codec_read_double(r, &d))
			return r->err;
		codec_write_double(w, d);
		return 0;
	}
	case CODEC_STR: {
		const char *s;

		if (codec_read_str(r, &s, &n))
			return r->err;
		FUZZ_CHECK((const uint8_t *)s > start);
		FUZZ_CHECK((const uint8_t *)s + n == r->p);
		codec_write_str(w, s, n);
		return 0;
	}
	case CODEC_BIN: {
		const uint8_t *p;

		if (codec_read_bin(r, &p, &n))
			return r->err;
		FUZZ_CHECK(p > start && p + n == r->p);
		codec_write_bin(w, p, n);
		return 0;
	}
	case CODEC_ARRAY:
		if (depth >= CODEC_DEPTH_MAX)
			return codec_fail(r, ERR_DECODE);
		if (codec_read_array(r, &n))
			return r->err;
		FUZZ_CHECK(n <= codec_remaining(r));
		codec_write_array(w, n);
		while (n--)
			if (fuzz_walk_value(r, w, depth + 1))
				return r->err;
		return 0;
	case CODEC_MAP:
		if (depth >= CODEC_DEPTH_MAX)
			return codec_fail(r, ERR_DECODE);
		if (codec_read_map(r, &n))
			return r->err;
		FUZZ_CHECK((uint64_t)n * 2 <= codec_remaining(r));
		codec_write_map(w, n);
		while (n--)
			if (fuzz_walk_value(r, w, depth + 1) ||
			    fuzz_walk_value(r, w, depth + 1))
				return r->err;
		return 0;
	case CODEC_EXT:
		/* No typed reader for ext: skip it and copy it as is. */
		if (codec_skip(r))
			return r->err;
		codec_write_raw(w, start, (size_t)(r->p - start));
		return 0;
	case CODEC_NONE:
	default:
		if (r->err)
			return r->err;
		return codec_fail(r,
				  codec_remaining(r) ? ERR_DECODE : ERR_TRUNC);
	}
}

/* Walk all of data two ways (skip, typed); write the typed walk to out.
 * Returns the error (0 if every value read) and the value count. */
static inline int
fuzz_walk_all(const uint8_t *data, size_t size, struct buf *out,
	      unsigned *values)
{
	struct codec_reader a, b;
	struct codec_writer w;

	codec_reader_init(&a, data, size);
	codec_reader_init(&b, data, size);
	codec_writer_init(&w, out);
	*values = 0;
	while (codec_remaining(&a)) {
		int ra = codec_skip(&a);
		int rb = fuzz_walk_value(&b, &w, 0);

		FUZZ_CHECK(ra == rb);
		FUZZ_CHECK(a.p == b.p);
		FUZZ_CHECK(ra == 0 || ra == ERR_TRUNC || ra == ERR_DECODE);
		if (ra)
			return ra;
		FUZZ_CHECK(codec_writer_error(&w) == 0);
		(*values)++;
	}
	FUZZ_CHECK(codec_read_end(&a) == 0 && codec_read_end(&b) == 0);
	return 0;
}

/* Reads of arbitrary types chosen by the input; check the contract. */
static inline void
fuzz_read_ops(const uint8_t *data, size_t size)
{
	struct codec_reader r;

	if (size == 0)
		return;
	codec_reader_init(&r, data, size);
	for (size_t step = 0; step < 256 && codec_remaining(&r); step++) {
		const uint8_t *before = r.p;
		uint8_t op = data[(step * 7 + size / 2) % size];
		const char *s = NULL;
		const uint8_t *p = NULL;
		char cs[40];
		uint64_t u = 0;
		int64_t i = 0;
		uint32_t n = 0;
		double d;
		bool b;
		int rc;

		switch (op % 13) {
		case 0:
			rc = codec_read_nil(&r);
			break;
		case 1:
			rc = codec_read_bool(&r, &b);
			break;
		case 2:
			rc = codec_read_uint(&r, &u);
			break;
		case 3:
			rc = codec_read_uint_max(&r, op, &u);
			FUZZ_CHECK(rc != 0 || u <= op);
			break;
		case 4:
			rc = codec_read_int(&r, &i);
			break;
		case 5:
			rc = codec_read_double(&r, &d);
			break;
		case 6:
			rc = codec_read_array(&r, &n);
			FUZZ_CHECK(rc != 0 || n <= codec_remaining(&r));
			break;
		case 7:
			rc = codec_read_map(&r, &n);
			FUZZ_CHECK(rc != 0 ||
				   (uint64_t)n * 2 <= codec_remaining(&r));
			break;
		case 8:
			rc = codec_read_str(&r, &s, &n);
			FUZZ_CHECK(rc != 0 || ((const uint8_t *)s > before &&
					       (const uint8_t *)s + n == r.p));
			break;
		case 9:
			rc = codec_read_bin(&r, &p, &n);
			FUZZ_CHECK(rc != 0 || (p > before && p + n == r.p));
			break;
		case 10: {
			size_t cap = op % sizeof(cs);

			memset(cs, 'z', sizeof(cs));
			rc = codec_read_cstr(&r, cs, cap);
			if (rc == 0)
				FUZZ_CHECK(cap > 0 && strlen(cs) < cap);
			else
				FUZZ_CHECK(cs[0] == 'z');
			break;
		}
		case 11:
			rc = codec_skip(&r);
			break;
		default:
			rc = codec_read_end(&r);
			break;
		}
		FUZZ_CHECK(r.p >= data && r.p <= data + size);
		if (rc == 0) {
			FUZZ_CHECK(r.err == 0 && r.p > before);
			continue;
		}
		/* A failure sticks: same error, nothing consumed. */
		FUZZ_CHECK(r.err == rc);
		FUZZ_CHECK(codec_peek(&r) == CODEC_NONE);
		before = r.p;
		FUZZ_CHECK(codec_skip(&r) == rc);
		FUZZ_CHECK(codec_read_uint(&r, &u) == rc);
		FUZZ_CHECK(codec_read_end(&r) == rc);
		FUZZ_CHECK(r.p == before);
		break;
	}
}

static inline void
fuzz_check_msgpack(const uint8_t *data, size_t size)
{
	struct buf b1, b2;
	unsigned v1 = 0, v2 = 0;

	/* Re-encoding grows only float32 (5 -> 9 bytes). */
	buf_init(&b1, 2 * size + 16);
	buf_init(&b2, 2 * size + 16);
	if (fuzz_walk_all(data, size, &b1, &v1) == 0) {
		FUZZ_CHECK(fuzz_walk_all(b1.data, b1.len, &b2, &v2) == 0);
		FUZZ_CHECK(v1 == v2);
		FUZZ_CHECK(b1.len == b2.len);
		FUZZ_CHECK(b1.len == 0 ||
			   memcmp(b1.data, b2.data, b1.len) == 0);
	}
	buf_release(&b1);
	buf_release(&b2);
	fuzz_read_ops(data, size);
}

#endif
