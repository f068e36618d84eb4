/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/core_codec_test.c — core/codec: msgpack writer and strict reader.
 *
 * Covers the exact bytes the writer produces for every type and width, the
 * round trip writer -> reader for each, the reader on hand-made encodings
 * (every integer width, signed encodings holding non-negative values,
 * float32), and bad input: truncation at every length, huge declared
 * counts in a few bytes (refused before anything is consumed), trailing
 * bytes (codec_read_end), nesting deeper than CODEC_DEPTH_MAX, the unused
 * tag 0xc1, type mismatches and the sticky first error. The writer is run
 * into a buffer's hard limit to check its sticky ERR_TOOBIG.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/err.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

struct wctx {
	struct buf b;
	struct codec_writer w;
};

static void
wctx_init(struct wctx *c, size_t max)
{
	buf_init(&c->b, max);
	codec_writer_init(&c->w, &c->b);
}

static void
expect_bytes(const struct wctx *c, const uint8_t *want, size_t n)
{
	assert_int_equal(codec_writer_error(&c->w), 0);
	assert_int_equal(c->b.len, n);
	assert_memory_equal(c->b.data, want, n);
}

/* ---- writer: exact encodings ---- */

static void
test_write_uint_widths(void **state)
{
	static const struct {
		uint64_t v;
		uint8_t enc[9];
		size_t n;
	} cases[] = {
		{0, {0x00}, 1},
		{1, {0x01}, 1},
		{127, {0x7f}, 1},
		{128, {0xcc, 0x80}, 2},
		{255, {0xcc, 0xff}, 2},
		{256, {0xcd, 0x01, 0x00}, 3},
		{65535, {0xcd, 0xff, 0xff}, 3},
		{65536, {0xce, 0x00, 0x01, 0x00, 0x00}, 5},
		{UINT32_MAX, {0xce, 0xff, 0xff, 0xff, 0xff}, 5},
		{(uint64_t)UINT32_MAX + 1,
		 {0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0},
		 9},
		{UINT64_MAX,
		 {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		 9},
	};

	(void)state;
	for (size_t i = 0; i < LEN(cases); i++) {
		struct wctx c;
		struct codec_reader r;
		uint64_t v = 0;

		wctx_init(&c, 64);
		codec_write_uint(&c.w, cases[i].v);
		expect_bytes(&c, cases[i].enc, cases[i].n);
		codec_reader_init(&r, c.b.data, c.b.len);
		assert_int_equal(codec_peek(&r), CODEC_UINT);
		assert_int_equal(codec_read_uint(&r, &v), 0);
		assert_true(v == cases[i].v);
		assert_int_equal(codec_read_end(&r), 0);
		buf_release(&c.b);
	}
}

static void
test_write_int_widths(void **state)
{
	static const struct {
		int64_t v;
		uint8_t enc[9];
		size_t n;
		enum codec_type type;
	} cases[] = {
		{0, {0x00}, 1, CODEC_UINT},
		{5, {0x05}, 1, CODEC_UINT},
		{200, {0xcc, 0xc8}, 2, CODEC_UINT},
		{INT64_MAX,
		 {0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		 9,
		 CODEC_UINT},
		{-1, {0xff}, 1, CODEC_INT},
		{-32, {0xe0}, 1, CODEC_INT},
		{-33, {0xd0, 0xdf}, 2, CODEC_INT},
		{-128, {0xd0, 0x80}, 2, CODEC_INT},
		{-129, {0xd1, 0xff, 0x7f}, 3, CODEC_INT},
		{-32768, {0xd1, 0x80, 0x00}, 3, CODEC_INT},
		{-32769, {0xd2, 0xff, 0xff, 0x7f, 0xff}, 5, CODEC_INT},
		{INT32_MIN, {0xd2, 0x80, 0x00, 0x00, 0x00}, 5, CODEC_INT},
		{(int64_t)INT32_MIN - 1,
		 {0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff},
		 9,
		 CODEC_INT},
		{INT64_MIN, {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}, 9, CODEC_INT},
	};

	(void)state;
	for (size_t i = 0; i < LEN(cases); i++) {
		struct wctx c;
		struct codec_reader r;
		int64_t v = 0;

		wctx_init(&c, 64);
		codec_write_int(&c.w, cases[i].v);
		expect_bytes(&c, cases[i].enc, cases[i].n);
		codec_reader_init(&r, c.b.data, c.b.len);
		assert_int_equal(codec_peek(&r), cases[i].type);
		assert_int_equal(codec_read_int(&r, &v), 0);
		assert_true(v == cases[i].v);
		assert_int_equal(codec_read_end(&r), 0);
		buf_release(&c.b);
	}
}

static void
test_write_scalars(void **state)
{
	/* clang-format off */
	static const uint8_t want[] = {
		0xc0,						/* nil */
		0xc3,						/* true */
		0xc2,						/* false */
		0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0,		/* 1.5 */
		0xcb, 0xc0, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18, /* -pi */
	};
	/* clang-format on */
	struct wctx c;
	struct codec_reader r;
	bool b = true;
	double d = 0;

	(void)state;
	wctx_init(&c, 64);
	codec_write_nil(&c.w);
	codec_write_bool(&c.w, true);
	codec_write_bool(&c.w, false);
	codec_write_double(&c.w, 1.5);
	codec_write_double(&c.w, -3.141592653589793);
	expect_bytes(&c, want, sizeof(want));

	codec_reader_init(&r, c.b.data, c.b.len);
	assert_int_equal(codec_peek(&r), CODEC_NIL);
	assert_int_equal(codec_read_nil(&r), 0);
	assert_int_equal(codec_peek(&r), CODEC_BOOL);
	assert_int_equal(codec_read_bool(&r, &b), 0);
	assert_true(b);
	assert_int_equal(codec_read_bool(&r, &b), 0);
	assert_false(b);
	assert_int_equal(codec_peek(&r), CODEC_FLOAT);
	assert_int_equal(codec_read_double(&r, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(codec_read_double(&r, &d), 0);
	assert_true(d == -3.141592653589793);
	assert_int_equal(codec_peek(&r), CODEC_NONE);
	assert_int_equal(codec_read_end(&r), 0);
	buf_release(&c.b);
}

static void
test_double_special_values(void **state)
{
	const double vals[] = {0.0,	  -0.0,	  INFINITY,
			       -INFINITY, 1e-308, 1.7976931348623157e308};

	(void)state;
	for (size_t i = 0; i < LEN(vals); i++) {
		struct wctx c;
		struct codec_reader r;
		double d = 42;

		wctx_init(&c, 16);
		codec_write_double(&c.w, vals[i]);
		assert_int_equal(c.b.len, 9);
		codec_reader_init(&r, c.b.data, c.b.len);
		assert_int_equal(codec_read_double(&r, &d), 0);
		assert_memory_equal(&d, &vals[i], sizeof(d));
		buf_release(&c.b);
	}
	{
		struct wctx c;
		struct codec_reader r;
		double d = 0;

		wctx_init(&c, 16);
		codec_write_double(&c.w, NAN);
		codec_reader_init(&r, c.b.data, c.b.len);
		assert_int_equal(codec_read_double(&r, &d), 0);
		assert_true(isnan(d));
		buf_release(&c.b);
	}
}

/* A string or binary of n bytes (filled with a pattern) and its header. */
static void
check_bytes_roundtrip(bool str, size_t n, const uint8_t *hdr, size_t hlen)
{
	struct wctx c;
	struct codec_reader r;
	uint8_t *src = malloc(n ? n : 1);
	const uint8_t *p = NULL;
	const char *s = NULL;
	uint32_t got = 0;

	assert_non_null(src);
	for (size_t i = 0; i < n; i++)
		src[i] = (uint8_t)(str ? 'a' + i % 26 : i * 31);
	wctx_init(&c, n + 16);
	if (str)
		codec_write_str(&c.w, (const char *)src, n);
	else
		codec_write_bin(&c.w, src, n);
	assert_int_equal(codec_writer_error(&c.w), 0);
	assert_int_equal(c.b.len, hlen + n);
	assert_memory_equal(c.b.data, hdr, hlen);
	assert_memory_equal(c.b.data + hlen, src, n);

	codec_reader_init(&r, c.b.data, c.b.len);
	assert_int_equal(codec_peek(&r), str ? CODEC_STR : CODEC_BIN);
	if (str) {
		assert_int_equal(codec_read_str(&r, &s, &got), 0);
		p = (const uint8_t *)s;
	} else {
		assert_int_equal(codec_read_bin(&r, &p, &got), 0);
	}
	assert_int_equal(got, n);
	/* Borrowed: points into the input, right after the header. */
	assert_ptr_equal(p, c.b.data + hlen);
	assert_int_equal(codec_read_end(&r), 0);

	/* The other kind's reader refuses it. */
	codec_reader_init(&r, c.b.data, c.b.len);
	if (str)
		assert_int_equal(codec_read_bin(&r, &p, &got), ERR_DECODE);
	else
		assert_int_equal(codec_read_str(&r, &s, &got), ERR_DECODE);
	buf_release(&c.b);
	free(src);
}

static void
test_str_widths(void **state)
{
	(void)state;
	check_bytes_roundtrip(true, 0, (const uint8_t[]){0xa0}, 1);
	check_bytes_roundtrip(true, 1, (const uint8_t[]){0xa1}, 1);
	check_bytes_roundtrip(true, 31, (const uint8_t[]){0xbf}, 1);
	check_bytes_roundtrip(true, 32, (const uint8_t[]){0xd9, 32}, 2);
	check_bytes_roundtrip(true, 255, (const uint8_t[]){0xd9, 255}, 2);
	check_bytes_roundtrip(true, 256, (const uint8_t[]){0xda, 1, 0}, 3);
	check_bytes_roundtrip(true, 65535, (const uint8_t[]){0xda, 255, 255},
			      3);
	check_bytes_roundtrip(true, 65536, (const uint8_t[]){0xdb, 0, 1, 0, 0},
			      5);
}

static void
test_bin_widths(void **state)
{
	(void)state;
	check_bytes_roundtrip(false, 0, (const uint8_t[]){0xc4, 0}, 2);
	check_bytes_roundtrip(false, 255, (const uint8_t[]){0xc4, 255}, 2);
	check_bytes_roundtrip(false, 256, (const uint8_t[]){0xc5, 1, 0}, 3);
	check_bytes_roundtrip(false, 65536, (const uint8_t[]){0xc6, 0, 1, 0, 0},
			      5);
}

static void
test_container_widths(void **state)
{
	static const struct {
		bool map;
		uint32_t n;
		uint8_t hdr[5];
		size_t hlen;
	} cases[] = {
		{false, 0, {0x90}, 1},
		{false, 15, {0x9f}, 1},
		{false, 16, {0xdc, 0, 16}, 3},
		{false, 65535, {0xdc, 255, 255}, 3},
		{false, 65536, {0xdd, 0, 1, 0, 0}, 5},
		{true, 0, {0x80}, 1},
		{true, 15, {0x8f}, 1},
		{true, 16, {0xde, 0, 16}, 3},
		{true, 65536, {0xdf, 0, 1, 0, 0}, 5},
	};

	(void)state;
	for (size_t i = 0; i < LEN(cases); i++) {
		uint32_t elems = cases[i].map ? 2 * cases[i].n : cases[i].n;
		struct wctx c;
		struct codec_reader r;
		uint32_t n = 0;

		wctx_init(&c, 5 + (size_t)elems);
		if (cases[i].map)
			codec_write_map(&c.w, cases[i].n);
		else
			codec_write_array(&c.w, cases[i].n);
		for (uint32_t k = 0; k < elems; k++)
			codec_write_uint(&c.w, k & 0x7f);
		assert_int_equal(codec_writer_error(&c.w), 0);
		assert_int_equal(c.b.len, cases[i].hlen + elems);
		assert_memory_equal(c.b.data, cases[i].hdr, cases[i].hlen);

		codec_reader_init(&r, c.b.data, c.b.len);
		assert_int_equal(codec_peek(&r),
				 cases[i].map ? CODEC_MAP : CODEC_ARRAY);
		if (cases[i].map)
			assert_int_equal(codec_read_map(&r, &n), 0);
		else
			assert_int_equal(codec_read_array(&r, &n), 0);
		assert_int_equal(n, cases[i].n);
		for (uint32_t k = 0; k < elems; k++) {
			uint64_t v = 99;

			assert_int_equal(codec_read_uint(&r, &v), 0);
			assert_int_equal(v, k & 0x7f);
		}
		assert_int_equal(codec_read_end(&r), 0);

		/* And skipping it whole consumes exactly the same bytes. */
		codec_reader_init(&r, c.b.data, c.b.len);
		assert_int_equal(codec_skip(&r), 0);
		assert_int_equal(codec_read_end(&r), 0);
		buf_release(&c.b);
	}
}

/* A message like the ones the protocol sends: a map with small integer
 * keys holding one of everything. */
static void
write_sample(struct codec_writer *w)
{
	static const uint8_t blob[5] = {0, 1, 2, 0xfe, 0xff};

	codec_write_map(w, 9);
	codec_write_uint(w, 1);
	codec_write_cstr(w, "web-3");
	codec_write_uint(w, 2);
	codec_write_uint(w, 1700000000123ULL);
	codec_write_uint(w, 3);
	codec_write_int(w, -42);
	codec_write_uint(w, 4);
	codec_write_bool(w, true);
	codec_write_uint(w, 5);
	codec_write_nil(w);
	codec_write_uint(w, 6);
	codec_write_bin(w, blob, sizeof(blob));
	codec_write_uint(w, 7);
	codec_write_double(w, 0.25);
	codec_write_uint(w, 8);
	codec_write_array(w, 3);
	codec_write_uint(w, 0);
	codec_write_map(w, 1);
	codec_write_cstr(w, "k");
	codec_write_array(w, 0);
	codec_write_str(w, "", 0);
	codec_write_uint(w, 9);
	codec_write_raw(w, (const uint8_t[]){0xd4, 0x01, 0xaa}, 3);
}

static void
test_roundtrip_message(void **state)
{
	struct wctx c;
	struct codec_reader r;
	uint32_t n = 0, ln = 0;
	uint64_t u = 0;
	int64_t i = 0;
	bool b = false;
	double d = 0;
	const uint8_t *p = NULL;
	char name[16];

	(void)state;
	wctx_init(&c, 256);
	write_sample(&c.w);
	assert_int_equal(codec_writer_error(&c.w), 0);

	codec_reader_init(&r, c.b.data, c.b.len);
	assert_int_equal(codec_read_map(&r, &n), 0);
	assert_int_equal(n, 9);
	assert_int_equal(codec_read_uint_max(&r, 9, &u), 0);
	assert_int_equal(u, 1);
	assert_int_equal(codec_read_cstr(&r, name, sizeof(name)), 0);
	assert_string_equal(name, "web-3");
	assert_int_equal(codec_read_uint(&r, &u), 0);
	assert_int_equal(u, 2);
	assert_int_equal(codec_read_uint(&r, &u), 0);
	assert_true(u == 1700000000123ULL);
	assert_int_equal(codec_read_uint(&r, &u), 0);
	assert_int_equal(codec_read_int(&r, &i), 0);
	assert_true(i == -42);
	assert_int_equal(codec_read_uint(&r, &u), 0);
	assert_int_equal(codec_read_bool(&r, &b), 0);
	assert_true(b);
	assert_int_equal(codec_read_uint(&r, &u), 0);
	assert_int_equal(codec_read_nil(&r), 0);
	assert_int_equal(codec_read_uint(&r, &u), 0);
	assert_int_equal(codec_read_bin(&r, &p, &ln), 0);
	assert_int_equal(ln, 5);
	assert_memory_equal(p, ((const uint8_t[]){0, 1, 2, 0xfe, 0xff}), 5);
	assert_int_equal(codec_read_uint(&r, &u), 0);
	assert_int_equal(codec_read_double(&r, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(codec_read_uint(&r, &u), 0);
	assert_int_equal(u, 8);
	/* Unknown key 8: skipped whole, as a newer peer's field would be. */
	assert_int_equal(codec_skip(&r), 0);
	assert_int_equal(codec_read_uint(&r, &u), 0);
	assert_int_equal(u, 9);
	assert_int_equal(codec_peek(&r), CODEC_EXT);
	assert_int_equal(codec_skip(&r), 0);
	assert_int_equal(codec_read_end(&r), 0);
	buf_release(&c.b);
}

/* ---- reader on hand-made input ---- */

static void
test_read_every_integer_encoding(void **state)
{
	static const struct {
		uint8_t enc[9];
		size_t n;
		int uint_rc;
		uint64_t u;
		int int_rc;
		int64_t i;
	} cases[] = {
		/* positive fixint, uint8..64 */
		{{0x2a}, 1, 0, 42, 0, 42},
		{{0xcc, 0x2a}, 2, 0, 42, 0, 42},
		{{0xcd, 0x12, 0x34}, 3, 0, 0x1234, 0, 0x1234},
		{{0xce, 0x12, 0x34, 0x56, 0x78},
		 5,
		 0,
		 0x12345678,
		 0,
		 0x12345678},
		{{0xcf, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef},
		 9,
		 0,
		 0x0123456789abcdefULL,
		 0,
		 0x0123456789abcdefLL},
		{{0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0},
		 9,
		 0,
		 0x8000000000000000ULL,
		 ERR_RANGE,
		 0},
		{{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		 9,
		 0,
		 UINT64_MAX,
		 ERR_RANGE,
		 0},
		/* negative fixint */
		{{0xff}, 1, ERR_DECODE, 0, 0, -1},
		{{0xe0}, 1, ERR_DECODE, 0, 0, -32},
		/* int8..64 holding non-negative values read as uint too */
		{{0xd0, 0x05}, 2, 0, 5, 0, 5},
		{{0xd0, 0x7f}, 2, 0, 127, 0, 127},
		{{0xd1, 0x7f, 0xff}, 3, 0, 32767, 0, 32767},
		{{0xd2, 0x00, 0x00, 0x00, 0x00}, 5, 0, 0, 0, 0},
		{{0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		 9,
		 0,
		 INT64_MAX,
		 0,
		 INT64_MAX},
		/* int8..64 negative */
		{{0xd0, 0x80}, 2, ERR_DECODE, 0, 0, -128},
		{{0xd0, 0xff}, 2, ERR_DECODE, 0, 0, -1},
		{{0xd1, 0x80, 0x00}, 3, ERR_DECODE, 0, 0, -32768},
		{{0xd1, 0xff, 0xfe}, 3, ERR_DECODE, 0, 0, -2},
		{{0xd2, 0x80, 0, 0, 0}, 5, ERR_DECODE, 0, 0, INT32_MIN},
		{{0xd2, 0xff, 0xff, 0xff, 0x85}, 5, ERR_DECODE, 0, 0, -123},
		{{0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0},
		 9,
		 ERR_DECODE,
		 0,
		 0,
		 INT64_MIN},
		{{0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		 9,
		 ERR_DECODE,
		 0,
		 0,
		 -1},
		/* not integers */
		{{0xc0}, 1, ERR_DECODE, 0, ERR_DECODE, 0},
		{{0xc3}, 1, ERR_DECODE, 0, ERR_DECODE, 0},
		{{0xa1, 'x'}, 2, ERR_DECODE, 0, ERR_DECODE, 0},
		{{0xca, 0, 0, 0, 0}, 5, ERR_DECODE, 0, ERR_DECODE, 0},
		{{0x90}, 1, ERR_DECODE, 0, ERR_DECODE, 0},
		{{0xc1}, 1, ERR_DECODE, 0, ERR_DECODE, 0},
	};

	(void)state;
	for (size_t k = 0; k < LEN(cases); k++) {
		struct codec_reader r;
		uint64_t u = 777;
		int64_t i = 777;

		codec_reader_init(&r, cases[k].enc, cases[k].n);
		assert_int_equal(codec_read_uint(&r, &u), cases[k].uint_rc);
		if (cases[k].uint_rc == 0) {
			assert_true(u == cases[k].u);
			assert_int_equal(codec_read_end(&r), 0);
		} else {
			assert_int_equal(u, 777); /* untouched */
			assert_int_equal(r.err, cases[k].uint_rc);
		}

		codec_reader_init(&r, cases[k].enc, cases[k].n);
		assert_int_equal(codec_read_int(&r, &i), cases[k].int_rc);
		if (cases[k].int_rc == 0) {
			assert_true(i == cases[k].i);
			assert_int_equal(codec_read_end(&r), 0);
		} else {
			assert_int_equal(i, 777);
		}

		/* Each integer encoding is also skippable, whole. */
		codec_reader_init(&r, cases[k].enc, cases[k].n);
		if (cases[k].uint_rc == 0 || cases[k].int_rc == 0) {
			assert_int_equal(codec_skip(&r), 0);
			assert_int_equal(codec_read_end(&r), 0);
		}
	}
}

static void
test_peek_every_tag(void **state)
{
	(void)state;
	for (unsigned c = 0; c < 256; c++) {
		/* Enough bytes after the tag for every fixed header. */
		uint8_t in[10] = {(uint8_t)c, 0x01};
		struct codec_reader r;
		enum codec_type want;

		if (c <= 0x7f || (c >= 0xcc && c <= 0xcf))
			want = CODEC_UINT;
		else if (c >= 0xd0 && c <= 0xd3)
			want = CODEC_UINT; /* non-negative payload 0x01... */
		else if (c >= 0xe0)
			want = CODEC_INT;
		else if (c <= 0x8f || c == 0xde || c == 0xdf)
			want = CODEC_MAP;
		else if (c <= 0x9f || c == 0xdc || c == 0xdd)
			want = CODEC_ARRAY;
		else if (c <= 0xbf || (c >= 0xd9 && c <= 0xdb))
			want = CODEC_STR;
		else if (c == 0xc0)
			want = CODEC_NIL;
		else if (c == 0xc1)
			want = CODEC_NONE;
		else if (c == 0xc2 || c == 0xc3)
			want = CODEC_BOOL;
		else if (c >= 0xc4 && c <= 0xc6)
			want = CODEC_BIN;
		else if (c == 0xca || c == 0xcb)
			want = CODEC_FLOAT;
		else
			want = CODEC_EXT; /* c7..c9, d4..d8 */
		codec_reader_init(&r, in, sizeof(in));
		if (codec_peek(&r) != want)
			fail_msg("tag 0x%02x: peek %d, want %d", c,
				 codec_peek(&r), want);
	}
	{
		/* A signed encoding holding a negative value peeks INT. */
		const uint8_t neg[] = {0xd1, 0x80, 0x00};
		struct codec_reader r;

		codec_reader_init(&r, neg, sizeof(neg));
		assert_int_equal(codec_peek(&r), CODEC_INT);
		/* Peek never consumes. */
		assert_int_equal(codec_remaining(&r), 3);
	}
}

static void
test_read_float32(void **state)
{
	const uint8_t f32[] = {0xca, 0x3f, 0xc0, 0x00, 0x00};	 /* 1.5f */
	const uint8_t f32neg[] = {0xca, 0xc2, 0x28, 0x00, 0x00}; /* -42 */
	struct codec_reader r;
	double d = 0;

	(void)state;
	codec_reader_init(&r, f32, sizeof(f32));
	assert_int_equal(codec_peek(&r), CODEC_FLOAT);
	assert_int_equal(codec_read_double(&r, &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(codec_read_end(&r), 0);
	codec_reader_init(&r, f32neg, sizeof(f32neg));
	assert_int_equal(codec_read_double(&r, &d), 0);
	assert_true(d == -42.0);
	/* An integer is not a double. */
	codec_reader_init(&r, (const uint8_t[]){0x01}, 1);
	assert_int_equal(codec_read_double(&r, &d), ERR_DECODE);
}

static void
test_read_cstr_capacity(void **state)
{
	const uint8_t in[] = {0xa3, 'a', 'b', 'c'};
	struct codec_reader r;
	char out[4];

	(void)state;
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_read_cstr(&r, out, 4), 0); /* exact fit */
	assert_string_equal(out, "abc");
	memset(out, 'Z', sizeof(out));
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_read_cstr(&r, out, 3), ERR_TOOBIG);
	assert_int_equal(r.err, ERR_TOOBIG);
	assert_memory_equal(out, "ZZZZ", 4); /* untouched */
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_read_cstr(&r, out, 0), ERR_TOOBIG);
}

static void
test_read_uint_max(void **state)
{
	const uint8_t in[] = {0xcd, 0x01, 0x00}; /* 256 */
	struct codec_reader r;
	uint64_t v = 5;

	(void)state;
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_read_uint_max(&r, 256, &v), 0);
	assert_int_equal(v, 256);
	v = 5;
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_read_uint_max(&r, 255, &v), ERR_RANGE);
	assert_int_equal(v, 5);
	assert_int_equal(codec_read_end(&r), ERR_RANGE);
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_read_uint_max(&r, 0, &v), ERR_RANGE);
}

/* ---- bad input ---- */

static void
test_huge_declared_counts(void **state)
{
	static const struct {
		uint8_t in[8];
		size_t n;
	} cases[] = {
		{{0xdd, 0xff, 0xff, 0xff, 0xff}, 5}, /* array32 */
		{{0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3}, 8},
		{{0xdc, 0xff, 0xff, 0x01}, 4},		  /* array16 */
		{{0xdf, 0xff, 0xff, 0xff, 0xff}, 5},	  /* map32 */
		{{0xde, 0x80, 0x00, 0x01, 0x01}, 5},	  /* map16 */
		{{0x9f, 1, 2, 3}, 4},			  /* fixarray 15 */
		{{0x8f, 1, 2, 3}, 4},			  /* fixmap 15 */
		{{0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}, 6}, /* str32 */
		{{0xda, 0xff, 0xff, 'a'}, 4},		  /* str16 */
		{{0xd9, 0xff, 'a'}, 3},			  /* str8 */
		{{0xbf, 'a'}, 2},			  /* fixstr 31 */
		{{0xc6, 0xff, 0xff, 0xff, 0xff}, 5},	  /* bin32 */
		{{0xc5, 0x10, 0x00, 0}, 4},		  /* bin16 */
		{{0xc4, 0x02, 0}, 3},			  /* bin8 */
		{{0xc9, 0xff, 0xff, 0xff, 0xff, 1}, 6},	  /* ext32 */
		{{0xd8, 1, 2, 3}, 4},			  /* fixext16 */
	};

	(void)state;
	for (size_t k = 0; k < LEN(cases); k++) {
		struct codec_reader r;
		const uint8_t *p = NULL;
		const char *s = NULL;
		uint32_t n = 12345;
		int rc;

		codec_reader_init(&r, cases[k].in, cases[k].n);
		switch (codec_peek(&r)) {
		case CODEC_ARRAY:
			rc = codec_read_array(&r, &n);
			break;
		case CODEC_MAP:
			rc = codec_read_map(&r, &n);
			break;
		case CODEC_STR:
			rc = codec_read_str(&r, &s, &n);
			break;
		case CODEC_BIN:
			rc = codec_read_bin(&r, &p, &n);
			break;
		default:
			rc = codec_skip(&r);
			break;
		}
		if (rc != ERR_TRUNC)
			fail_msg("case %zu: rc %d, want ERR_TRUNC", k, rc);
		/* Refused on the header: nothing consumed, nothing set. */
		assert_int_equal(n, 12345);
		assert_null(p);
		assert_null(s);
		assert_int_equal(codec_remaining(&r), cases[k].n);
		/* And skip agrees. */
		codec_reader_init(&r, cases[k].in, cases[k].n);
		assert_int_equal(codec_skip(&r), ERR_TRUNC);
	}
}

static void
test_count_bounds_are_exact(void **state)
{
	struct codec_reader r;
	uint32_t n = 0;

	(void)state;
	/* An array of 3 needs 3 more bytes; a map of 2 needs 4. */
	codec_reader_init(&r, (const uint8_t[]){0xdc, 0, 3, 1, 2, 3}, 6);
	assert_int_equal(codec_read_array(&r, &n), 0);
	assert_int_equal(n, 3);
	codec_reader_init(&r, (const uint8_t[]){0xdc, 0, 4, 1, 2, 3}, 6);
	assert_int_equal(codec_read_array(&r, &n), ERR_TRUNC);
	codec_reader_init(&r, (const uint8_t[]){0xde, 0, 2, 1, 2, 3, 4}, 7);
	assert_int_equal(codec_read_map(&r, &n), 0);
	assert_int_equal(n, 2);
	codec_reader_init(&r, (const uint8_t[]){0xde, 0, 2, 1, 2, 3}, 6);
	assert_int_equal(codec_read_map(&r, &n), ERR_TRUNC);
	codec_reader_init(&r, (const uint8_t[]){0x82, 1, 2, 3}, 4);
	assert_int_equal(codec_read_map(&r, &n), ERR_TRUNC);
	/* A str of exactly the bytes left. */
	codec_reader_init(&r, (const uint8_t[]){0xd9, 2, 'h', 'i'}, 4);
	{
		const char *s;

		assert_int_equal(codec_read_str(&r, &s, &n), 0);
		assert_int_equal(n, 2);
		assert_memory_equal(s, "hi", 2);
	}
	/* A header that is itself cut short. */
	codec_reader_init(&r, (const uint8_t[]){0xdc, 0}, 2);
	assert_int_equal(codec_read_array(&r, &n), ERR_TRUNC);
	codec_reader_init(&r, (const uint8_t[]){0xdf, 0, 0, 0}, 4);
	assert_int_equal(codec_read_map(&r, &n), ERR_TRUNC);
	codec_reader_init(&r, (const uint8_t[]){0xdb, 0, 0, 0}, 4);
	{
		const char *s;

		assert_int_equal(codec_read_str(&r, &s, &n), ERR_TRUNC);
	}
}

static void
test_every_truncation_fails(void **state)
{
	struct wctx c;

	(void)state;
	wctx_init(&c, 256);
	write_sample(&c.w);
	assert_int_equal(codec_writer_error(&c.w), 0);
	for (size_t len = 0; len < c.b.len; len++) {
		struct codec_reader r;
		int rc;

		codec_reader_init(&r, c.b.data, len);
		rc = codec_skip(&r);
		if (rc != ERR_TRUNC)
			fail_msg("prefix of %zu/%zu bytes: skip gave %d", len,
				 c.b.len, rc);
		assert_int_equal(codec_read_end(&r), ERR_TRUNC);
	}
	buf_release(&c.b);
}

static void
test_trailing_garbage(void **state)
{
	const uint8_t in[] = {0x91, 0x01, 0x02};
	struct codec_reader r;
	uint32_t n;
	uint64_t v;

	(void)state;
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_read_array(&r, &n), 0);
	assert_int_equal(codec_read_uint(&r, &v), 0);
	assert_int_equal(codec_remaining(&r), 1);
	assert_int_equal(codec_read_end(&r), ERR_DECODE);
	assert_int_equal(r.err, ERR_DECODE);
	/* It sticks. */
	assert_int_equal(codec_read_uint(&r, &v), ERR_DECODE);

	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_skip(&r), 0);
	assert_int_equal(codec_read_end(&r), ERR_DECODE);

	/* Empty input is a complete (empty) read; reading from it is not. */
	codec_reader_init(&r, in, 0);
	assert_int_equal(codec_peek(&r), CODEC_NONE);
	assert_int_equal(codec_read_end(&r), 0);
	assert_int_equal(codec_read_uint(&r, &v), ERR_TRUNC);
	codec_reader_init(&r, NULL, 0);
	assert_int_equal(codec_read_end(&r), 0);
	assert_int_equal(codec_skip(&r), ERR_TRUNC);
}

/* n arrays (or maps keyed by 0) inside one another; the innermost holds a
 * scalar, or is itself empty. */
static size_t
nest(uint8_t *out, int n, bool map, bool empty_inner)
{
	size_t k = 0;

	for (int i = 0; i < n; i++) {
		bool last = i == n - 1;

		if (last && empty_inner) {
			out[k++] = map ? 0x80 : 0x90;
			return k;
		}
		out[k++] = map ? 0x81 : 0x91;
		if (map)
			out[k++] = 0x00;
	}
	out[k++] = 0x07;
	return k;
}

static void
test_nesting_limit(void **state)
{
	uint8_t in[256];

	(void)state;
	for (int m = 0; m < 2; m++) {
		for (int e = 0; e < 2; e++) {
			struct codec_reader r;
			size_t n;

			n = nest(in, CODEC_DEPTH_MAX, m, e);
			codec_reader_init(&r, in, n);
			if (codec_skip(&r) != 0)
				fail_msg("%d levels (map %d, empty %d) refused",
					 CODEC_DEPTH_MAX, m, e);
			assert_int_equal(codec_read_end(&r), 0);

			n = nest(in, CODEC_DEPTH_MAX + 1, m, e);
			codec_reader_init(&r, in, n);
			if (codec_skip(&r) != ERR_DECODE)
				fail_msg(
					"%d levels (map %d, empty %d) accepted",
					CODEC_DEPTH_MAX + 1, m, e);
		}
	}
	{
		/* Far too deep: fails without recursing through it all. */
		static uint8_t deep[100000];
		struct codec_reader r;

		memset(deep, 0x91, sizeof(deep));
		codec_reader_init(&r, deep, sizeof(deep));
		assert_int_equal(codec_skip(&r), ERR_DECODE);
	}
}

static void
test_ext_skip(void **state)
{
	static const struct {
		uint8_t in[12];
		size_t n;
		int rc;
	} cases[] = {
		{{0xd4, 1, 0xaa}, 3, 0},		    /* fixext1 */
		{{0xd5, 1, 0xaa, 0xbb}, 4, 0},		    /* fixext2 */
		{{0xd6, 1, 1, 2, 3, 4}, 6, 0},		    /* fixext4 */
		{{0xd7, 1, 1, 2, 3, 4, 5, 6, 7, 8}, 10, 0}, /* fixext8 */
		{{0xc7, 2, 1, 0xaa, 0xbb}, 5, 0},	    /* ext8 */
		{{0xc7, 0, 1}, 3, 0},			    /* ext8 empty */
		{{0xc8, 0, 1, 1, 0xaa}, 5, 0},		    /* ext16 */
		{{0xc9, 0, 0, 0, 2, 1, 0xaa, 0xbb}, 8, 0},  /* ext32 */
		{{0xd4, 1}, 2, ERR_TRUNC},
		{{0xd7, 1, 1, 2, 3}, 5, ERR_TRUNC},
		{{0xc7, 3, 1, 0xaa}, 4, ERR_TRUNC},
		{{0xc7, 3}, 2, ERR_TRUNC},
		{{0xc8, 0}, 2, ERR_TRUNC},
		{{0xc9, 0, 0, 0}, 4, ERR_TRUNC},
	};

	(void)state;
	for (size_t k = 0; k < LEN(cases); k++) {
		struct codec_reader r;

		codec_reader_init(&r, cases[k].in, cases[k].n);
		assert_int_equal(codec_peek(&r), CODEC_EXT);
		if (codec_skip(&r) != cases[k].rc)
			fail_msg("ext case %zu: got %d want %d", k, r.err,
				 cases[k].rc);
		if (cases[k].rc == 0)
			assert_int_equal(codec_read_end(&r), 0);
	}
}

static void
test_reserved_tag(void **state)
{
	const uint8_t in[] = {0x92, 0x01, 0xc1};
	struct codec_reader r;

	(void)state;
	codec_reader_init(&r, in + 2, 1);
	assert_int_equal(codec_peek(&r), CODEC_NONE);
	assert_int_equal(codec_skip(&r), ERR_DECODE);
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_skip(&r), ERR_DECODE);
}

static void
test_sticky_errors(void **state)
{
	const uint8_t in[] = {0xc0, 0x01, 0xa1, 'x', 0x92, 0x01, 0x02};
	struct codec_reader r;
	const uint8_t *at;
	bool b = true;
	uint64_t u = 9;
	uint32_t n = 9;
	const char *s = NULL;
	char cs[8] = "keep";
	double d = 9;
	int64_t i = 9;

	(void)state;
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_read_bool(&r, &b), ERR_DECODE);
	at = r.p;
	/* Every later read fails with the first error, touches nothing and
	 * consumes nothing, even when the next byte would have fit. */
	assert_int_equal(codec_peek(&r), CODEC_NONE);
	assert_int_equal(codec_read_nil(&r), ERR_DECODE);
	assert_int_equal(codec_read_uint(&r, &u), ERR_DECODE);
	assert_int_equal(codec_read_int(&r, &i), ERR_DECODE);
	assert_int_equal(codec_read_uint_max(&r, 10, &u), ERR_DECODE);
	assert_int_equal(codec_read_double(&r, &d), ERR_DECODE);
	assert_int_equal(codec_read_str(&r, &s, &n), ERR_DECODE);
	assert_int_equal(codec_read_cstr(&r, cs, sizeof(cs)), ERR_DECODE);
	assert_int_equal(codec_read_array(&r, &n), ERR_DECODE);
	assert_int_equal(codec_read_map(&r, &n), ERR_DECODE);
	assert_int_equal(codec_skip(&r), ERR_DECODE);
	assert_int_equal(codec_read_end(&r), ERR_DECODE);
	assert_ptr_equal(r.p, at);
	assert_true(b);
	assert_int_equal(u, 9);
	assert_int_equal(n, 9);
	assert_null(s);
	assert_string_equal(cs, "keep");
	assert_true(d == 9);
	assert_int_equal(i, 9);

	/* codec_fail: the first error wins. */
	assert_int_equal(codec_fail(&r, ERR_RANGE), ERR_DECODE);
	codec_reader_init(&r, in, sizeof(in));
	assert_int_equal(codec_fail(&r, ERR_RANGE), ERR_RANGE);
	assert_int_equal(codec_fail(&r, ERR_TRUNC), ERR_RANGE);
	assert_int_equal(codec_read_nil(&r), ERR_RANGE);
}

static void
test_type_mismatches(void **state)
{
	struct codec_reader r;
	uint32_t n;
	const char *s;
	const uint8_t *p;
	bool b;

	(void)state;
	codec_reader_init(&r, (const uint8_t[]){0x01}, 1);
	assert_int_equal(codec_read_nil(&r), ERR_DECODE);
	codec_reader_init(&r, (const uint8_t[]){0xc0}, 1);
	assert_int_equal(codec_read_bool(&r, &b), ERR_DECODE);
	codec_reader_init(&r, (const uint8_t[]){0x80}, 1);
	assert_int_equal(codec_read_array(&r, &n), ERR_DECODE);
	codec_reader_init(&r, (const uint8_t[]){0x90}, 1);
	assert_int_equal(codec_read_map(&r, &n), ERR_DECODE);
	codec_reader_init(&r, (const uint8_t[]){0xc4, 0}, 2);
	assert_int_equal(codec_read_str(&r, &s, &n), ERR_DECODE);
	codec_reader_init(&r, (const uint8_t[]){0xa0}, 1);
	assert_int_equal(codec_read_bin(&r, &p, &n), ERR_DECODE);
	/* Truncated scalars. */
	codec_reader_init(&r, (const uint8_t[]){0xcd, 0x01}, 2);
	assert_int_equal(codec_read_uint(&r, &(uint64_t){0}), ERR_TRUNC);
	codec_reader_init(&r, (const uint8_t[]){0xd3, 0x01}, 2);
	assert_int_equal(codec_read_int(&r, &(int64_t){0}), ERR_TRUNC);
	codec_reader_init(&r, (const uint8_t[]){0xcb, 0x3f, 0xf8}, 3);
	assert_int_equal(codec_read_double(&r, &(double){0}), ERR_TRUNC);
	codec_reader_init(&r, (const uint8_t[]){0xca, 0x3f}, 2);
	assert_int_equal(codec_read_double(&r, &(double){0}), ERR_TRUNC);
}

/* ---- writer limits ---- */

static void
test_writer_hits_limit(void **state)
{
	char big[64];
	struct wctx c;
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big));
	wctx_init(&c, 10);
	codec_write_uint(&c.w, 1);	/* 1 byte */
	codec_write_str(&c.w, big, 20); /* 2 + 20: too big */
	assert_int_equal(codec_writer_error(&c.w), ERR_TOOBIG);
	len = c.b.len;
	assert_true(len <= 10);
	/* Sticky: nothing more is written, even what would fit. */
	codec_write_nil(&c.w);
	codec_write_bool(&c.w, true);
	codec_write_uint(&c.w, 2);
	codec_write_int(&c.w, -2);
	codec_write_double(&c.w, 1);
	codec_write_array(&c.w, 1);
	codec_write_map(&c.w, 1);
	codec_write_cstr(&c.w, "a");
	codec_write_bin(&c.w, big, 1);
	codec_write_raw(&c.w, big, 1);
	assert_int_equal(c.b.len, len);
	assert_int_equal(codec_writer_error(&c.w), ERR_TOOBIG);
	buf_release(&c.b);

	/* Exactly the limit is fine. */
	wctx_init(&c, 10);
	codec_write_str(&c.w, big, 8); /* a8 + 8 = 9 */
	codec_write_nil(&c.w);	       /* 10 */
	assert_int_equal(codec_writer_error(&c.w), 0);
	assert_int_equal(c.b.len, 10);
	codec_write_nil(&c.w);
	assert_int_equal(codec_writer_error(&c.w), ERR_TOOBIG);
	assert_int_equal(c.b.len, 10);
	buf_release(&c.b);

	/* A uint64 that needs 9 bytes in a buffer with 8 left. */
	wctx_init(&c, 8);
	codec_write_uint(&c.w, UINT64_MAX);
	assert_int_equal(codec_writer_error(&c.w), ERR_TOOBIG);
	assert_int_equal(c.b.len, 0);
	buf_release(&c.b);
}

static void
test_writer_appends_and_range(void **state)
{
	struct wctx c;
	const char dummy = 'x';

	(void)state;
	/* The writer starts at the end of what the buffer holds. */
	buf_init(&c.b, 32);
	assert_int_equal(buf_append(&c.b, "HDR", 3), 0);
	codec_writer_init(&c.w, &c.b);
	codec_write_uint(&c.w, 7);
	codec_write_raw(&c.w, (const uint8_t[]){0xc0}, 1);
	codec_write_raw(&c.w, NULL, 0);
	expect_bytes(&c, (const uint8_t *)"HDR\x07\xc0", 5);
	buf_release(&c.b);

	/* Lengths past what msgpack can express are ERR_RANGE, and
	 * nothing is read from the pointer. */
	if (sizeof(size_t) > 4) {
		wctx_init(&c, 32);
		codec_write_str(&c.w, &dummy, (size_t)UINT32_MAX + 1);
		assert_int_equal(codec_writer_error(&c.w), ERR_RANGE);
		assert_int_equal(c.b.len, 0);
		buf_release(&c.b);
		wctx_init(&c, 32);
		codec_write_bin(&c.w, &dummy, (size_t)UINT32_MAX + 1);
		assert_int_equal(codec_writer_error(&c.w), ERR_RANGE);
		buf_release(&c.b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_uint_widths),
		cmocka_unit_test(test_write_int_widths),
		cmocka_unit_test(test_write_scalars),
		cmocka_unit_test(test_double_special_values),
		cmocka_unit_test(test_str_widths),
		cmocka_unit_test(test_bin_widths),
		cmocka_unit_test(test_container_widths),
		cmocka_unit_test(test_roundtrip_message),
		cmocka_unit_test(test_read_every_integer_encoding),
		cmocka_unit_test(test_peek_every_tag),
		cmocka_unit_test(test_read_float32),
		cmocka_unit_test(test_read_cstr_capacity),
		cmocka_unit_test(test_read_uint_max),
		cmocka_unit_test(test_huge_declared_counts),
		cmocka_unit_test(test_count_bounds_are_exact),
		cmocka_unit_test(test_every_truncation_fails),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_ext_skip),
		cmocka_unit_test(test_reserved_tag),
		cmocka_unit_test(test_sticky_errors),
		cmocka_unit_test(test_type_mismatches),
		cmocka_unit_test(test_writer_hits_limit),
		cmocka_unit_test(test_writer_appends_and_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
