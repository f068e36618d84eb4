/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/cli_ctl_test.c — the control protocol: frames, requests,
 * responses, the msgpack tree and JSON output.
 *
 * Covers frame boundaries (partial headers and payloads, zero and
 * oversized lengths), request round trips for every op, the strict
 * decoder's refusals (wrong types, unknown and duplicate keys, keys an op
 * does not take, missing required keys, trailing bytes, non-maps, random
 * bytes), error responses, mpv's bounds (depth, counts the input cannot
 * back) and JSON escaping (control characters, quotes, invalid UTF-8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli/ctl.h"
#include "cli/frame.h"
#include "cli/json.h"
#include "cli/mpv.h"
#include "core/codec.h"
#include "core/err.h"
#include "core/rng.h"

/* ---- frames ---- */

static void
test_frame_next(void **state)
{
	uint8_t b[16] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0};
	const uint8_t *p;
	size_t n, fl;

	(void)state;
	for (size_t k = 0; k < 7; k++)
		assert_int_equal(frame_next(b, k, 100, &p, &n, &fl), 0);
	assert_int_equal(frame_next(b, 7, 100, &p, &n, &fl), 1);
	assert_ptr_equal(p, b + 4);
	assert_int_equal(n, 3);
	assert_int_equal(fl, 7);
	assert_int_equal(frame_next(b, 9, 100, &p, &n, &fl), 1);
	assert_int_equal(frame_next(b, 7, 2, &p, &n, &fl), ERR_TOOBIG);
	/* The bound is checked on the header alone. */
	assert_int_equal(frame_next(b, 4, 2, &p, &n, &fl), ERR_TOOBIG);
	memset(b, 0, 4);
	assert_int_equal(frame_next(b, 4, 100, &p, &n, &fl), ERR_DECODE);
	b[0] = 0xff;
	assert_int_equal(frame_next(b, 4, 1u << 30, &p, &n, &fl), ERR_TOOBIG);
}

static void
test_frame_append(void **state)
{
	struct buf b;
	const uint8_t *p;
	size_t n, fl;
	int err = 0;
	size_t off;

	(void)state;
	buf_init(&b, 10);
	assert_int_equal(frame_append(&b, "hello", 5), 0);
	assert_int_equal(b.len, 9);
	assert_int_equal(frame_next(b.data, b.len, 100, &p, &n, &fl), 1);
	assert_memory_equal(p, "hello", 5);
	/* Over the buffer's bound: refused, unchanged. */
	assert_int_equal(frame_append(&b, "xx", 2), ERR_TOOBIG);
	assert_int_equal(b.len, 9);
	assert_int_equal(frame_append(&b, "", 0), ERR_DECODE);
	buf_release(&b);

	buf_init(&b, 100);
	off = frame_begin(&b, &err);
	assert_int_equal(err, 0);
	assert_int_equal(frame_finish(&b, off), ERR_DECODE); /* empty */
	buf_append(&b, "xyz", 3);
	assert_int_equal(frame_finish(&b, off), 0);
	assert_int_equal(frame_get_u32(b.data), 3);
	buf_release(&b);
}

/* ---- requests ---- */

static int
decode_frame(const struct buf *b, struct ctl_request *req, char *why)
{
	const uint8_t *p;
	size_t n, fl;

	assert_int_equal(frame_next(b->data, b->len, CTL_REQ_MAX, &p, &n, &fl),
			 1);
	assert_int_equal(fl, b->len);
	return ctl_request_decode(req, p, n, why, CTL_ERROR_MAX);
}

static void
test_request_round_trip(void **state)
{
	char why[CTL_ERROR_MAX];

	(void)state;
	for (int op = 1; op < CTL_OP__N; op++) {
		struct ctl_request in, out;
		struct buf b;

		memset(&in, 0, sizeof(in));
		in.op = (enum ctl_op)op;
		in.seq = 1000 + (uint64_t)op;
		strcpy(in.name, "web-3");
		strcpy(in.key, "8yy/A8SuTTULSM8mR+zpcLJbs5Rv6Bgw6RqRDpACA9s=");
		in.has_logs = true;
		in.logs = LOG_DEBUG;
		in.replicas = 7;
		strcpy(in.availability, "drain");
		in.spec = (const uint8_t *)"\x81\xa4name\xa3web";
		in.spec_len = 10;
		buf_init(&b, 4096);
		assert_int_equal(ctl_request_encode(&in, &b), 0);
		assert_int_equal(decode_frame(&b, &out, why), 0);
		assert_int_equal(out.op, op);
		assert_int_equal(out.seq, in.seq);
		if (ctl_op_takes_name((enum ctl_op)op))
			assert_string_equal(out.name, "web-3");
		else
			assert_string_equal(out.name, "");
		assert_int_equal(out.replicas,
				 op == CTL_OP_SERVICE_SCALE ? 7 : 0);
		assert_string_equal(out.availability,
				    op == CTL_OP_NODE_UPDATE ? "drain" : "");
		if (op == CTL_OP_SERVICE_CREATE ||
		    op == CTL_OP_SERVICE_UPDATE) {
			assert_int_equal(out.spec_len, 10);
			assert_memory_equal(out.spec, in.spec, 10);
		} else {
			assert_null(out.spec);
		}
		if (op == CTL_OP_KEYS_INSTALL || op == CTL_OP_KEYS_USE ||
		    op == CTL_OP_KEYS_REMOVE)
			assert_string_equal(out.key, in.key);
		else
			assert_string_equal(out.key, "");
		assert_int_equal(out.has_logs, op == CTL_OP_MONITOR);
		if (op == CTL_OP_MONITOR)
			assert_int_equal(out.logs, LOG_DEBUG);
		buf_release(&b);
	}
	for (int op = 1; op < CTL_OP__N; op++) {
		const char *nm = ctl_op_name((enum ctl_op)op);

		assert_non_null(nm);
		assert_int_equal(ctl_op_parse(nm, strlen(nm)), op);
	}
	assert_int_equal(ctl_op_parse("member", 6), CTL_OP_NONE);
	assert_int_equal(ctl_op_parse("membersx", 8), CTL_OP_NONE);
}

/* Build a request map from (key, kind, value) triples. kind: 's' string,
 * 'u' uint, 'i' negative int, 'b' bool, 'n' nil, 'm' empty map. */
struct kv {
	const char *k;
	char kind;
	const char *s;
	int64_t v;
};

static void
build(struct buf *b, const struct kv *kvs, size_t n)
{
	struct codec_writer w;

	buf_reset(b);
	codec_writer_init(&w, b);
	codec_write_map(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		codec_write_cstr(&w, kvs[i].k);
		switch (kvs[i].kind) {
		case 's':
			codec_write_cstr(&w, kvs[i].s);
			break;
		case 'u':
			codec_write_uint(&w, (uint64_t)kvs[i].v);
			break;
		case 'i':
			codec_write_int(&w, kvs[i].v);
			break;
		case 'b':
			codec_write_bool(&w, kvs[i].v != 0);
			break;
		case 'n':
			codec_write_nil(&w);
			break;
		case 'm':
			codec_write_map(&w, 0);
			break;
		}
	}
	assert_int_equal(codec_writer_error(&w), 0);
}

static void
expect_refused(const struct kv *kvs, size_t n, const char *needle)
{
	struct buf b;
	struct ctl_request req;
	char why[CTL_ERROR_MAX];
	int rc;

	buf_init(&b, 4096);
	build(&b, kvs, n);
	rc = ctl_request_decode(&req, b.data, b.len, why, sizeof(why));
	if (rc == 0)
		fail_msg("accepted; expected refusal with \"%s\"", needle);
	if (!strstr(why, needle))
		fail_msg("why = \"%s\", expected \"%s\"", why, needle);
	buf_release(&b);
}

#define REFUSED(needle, ...)                                                   \
	do {                                                                   \
		const struct kv kvs_[] = {__VA_ARGS__};                        \
		expect_refused(kvs_, sizeof(kvs_) / sizeof(kvs_[0]), needle);  \
	} while (0)

static void
test_request_strict(void **state)
{
	(void)state;
	REFUSED("no \"op\"", {"seq", 'u', NULL, 1});
	REFUSED("unknown op", {"op", 's', "reboot", 0});
	REFUSED("\"op\" must be a string", {"op", 'u', NULL, 3});
	REFUSED("\"seq\" must be", {"op", 's', "members", 0},
		{"seq", 'i', NULL, -1});
	REFUSED("\"seq\" must be", {"op", 's', "members", 0},
		{"seq", 's', "1", 0});
	REFUSED("unknown request field \"bogus\"", {"op", 's', "members", 0},
		{"bogus", 'n', NULL, 0});
	REFUSED("duplicate request field \"op\"", {"op", 's', "members", 0},
		{"op", 's', "members", 0});
	REFUSED("takes no \"name\"", {"op", 's', "members", 0},
		{"name", 's', "x", 0});
	REFUSED("takes no \"key\"", {"op", 's', "leave", 0},
		{"key", 's', "x", 0});
	REFUSED("takes no \"logs\"", {"op", 's', "info", 0},
		{"logs", 's', "info", 0});
	REFUSED("force-leave needs \"name\"", {"op", 's', "force-leave", 0});
	REFUSED("keys-use needs \"key\"", {"op", 's', "keys-use", 0});
	REFUSED("\"name\" must be 1..64", {"op", 's', "force-leave", 0},
		{"name", 's', "", 0});
	REFUSED("\"name\" must be 1..64", {"op", 's', "force-leave", 0},
		{"name", 's',
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaa",
		 0});
	REFUSED("\"name\" must be a string", {"op", 's', "force-leave", 0},
		{"name", 'm', NULL, 0});
	REFUSED("not a log level", {"op", 's', "monitor", 0},
		{"logs", 's', "loud", 0});
	REFUSED("service-scale needs \"replicas\"",
		{"op", 's', "service-scale", 0}, {"name", 's', "web", 0});
	REFUSED("service-rm needs \"name\"", {"op", 's', "service-rm", 0});
	REFUSED("service-create needs \"spec\"",
		{"op", 's', "service-create", 0});
	REFUSED("\"spec\" must be a map", {"op", 's', "service-create", 0},
		{"spec", 's', "web", 0});
	REFUSED("takes no \"spec\"", {"op", 's', "service-ls", 0},
		{"spec", 'm', NULL, 0});
	REFUSED("takes no \"replicas\"", {"op", 's', "service-rm", 0},
		{"name", 's', "web", 0}, {"replicas", 'u', NULL, 1});
	REFUSED("\"replicas\" must be", {"op", 's', "service-scale", 0},
		{"name", 's', "web", 0}, {"replicas", 'i', NULL, -1});
	REFUSED("\"replicas\" is too large", {"op", 's', "service-scale", 0},
		{"name", 's', "web", 0}, {"replicas", 'u', NULL, 1ll << 40});
	REFUSED("must be active, pause or drain", {"op", 's', "node-update", 0},
		{"name", 's', "n1", 0}, {"availability", 's', "sleep", 0});
	REFUSED("node-update needs \"availability\"",
		{"op", 's', "node-update", 0}, {"name", 's', "n1", 0});
	REFUSED("takes no \"availability\"", {"op", 's', "info", 0},
		{"availability", 's', "drain", 0});
	REFUSED("\"key\" must be a base64", {"op", 's', "keys-install", 0},
		{"key", 's',
		 "0123456789012345678901234567890123456789012345678901234567",
		 0});
}

static void
test_request_malformed(void **state)
{
	static const uint8_t not_map[] = {0x93, 1, 2, 3};
	static const uint8_t truncated[] = {0x81, 0xa2, 'o'};
	static const uint8_t int_key[] = {0x81, 0x01, 0x02};
	/* {"op":"info"} followed by a stray byte. */
	static const uint8_t trailing[] = {0x81, 0xa2, 'o', 'p', 0xa4,
					   'i',	 'n',  'f', 'o', 0xc0};
	/* A map claiming 2^32-1 pairs. */
	static const uint8_t huge[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
	struct ctl_request req;
	char why[CTL_ERROR_MAX];

	(void)state;
	assert_int_not_equal(ctl_request_decode(&req, not_map, sizeof(not_map),
						why, sizeof(why)),
			     0);
	assert_non_null(strstr(why, "not a msgpack map"));
	assert_int_not_equal(ctl_request_decode(&req, truncated,
						sizeof(truncated), why,
						sizeof(why)),
			     0);
	assert_int_not_equal(ctl_request_decode(&req, int_key, sizeof(int_key),
						why, sizeof(why)),
			     0);
	assert_non_null(strstr(why, "keys must be strings"));
	assert_int_not_equal(ctl_request_decode(&req, trailing,
						sizeof(trailing), why,
						sizeof(why)),
			     0);
	assert_non_null(strstr(why, "trailing"));
	assert_int_equal(ctl_request_decode(&req, trailing,
					    sizeof(trailing) - 1, why,
					    sizeof(why)),
			 0);
	assert_int_equal(req.op, CTL_OP_INFO);
	assert_int_not_equal(
		ctl_request_decode(&req, huge, sizeof(huge), why, sizeof(why)),
		0);
	assert_int_not_equal(
		ctl_request_decode(&req, NULL, 0, why, sizeof(why)), 0);
}

static void
test_request_seq_kept_on_error(void **state)
{
	const struct kv kvs[] = {{"seq", 'u', NULL, 77},
				 {"op", 's', "nope", 0}};
	struct ctl_request req;
	char why[CTL_ERROR_MAX];
	struct buf b;

	(void)state;
	buf_init(&b, 256);
	build(&b, kvs, 2);
	assert_int_not_equal(
		ctl_request_decode(&req, b.data, b.len, why, sizeof(why)), 0);
	assert_int_equal(req.seq, 77);
	buf_release(&b);
}

static void
test_request_random_bytes(void **state)
{
	struct rng r;
	uint8_t in[64];
	struct ctl_request req;
	char why[CTL_ERROR_MAX];
	uint64_t seed = 0x5eed;

	(void)state;
	rng_seed(&r, seed);
	for (int i = 0; i < 20000; i++) {
		size_t n = rng_below(&r, sizeof(in) + 1);

		rng_fill(&r, in, n);
		if (n && rng_below(&r, 2))
			in[0] = (uint8_t)(0x80 | rng_below(&r, 6));
		/* Must not crash; an accepted request is a valid one. */
		if (ctl_request_decode(&req, in, n, why, sizeof(why)) == 0)
			assert_true(req.op > CTL_OP_NONE && req.op < CTL_OP__N);
		else
			assert_true(why[0] != '\0');
	}
}

/* ---- responses ---- */

static void
test_response_error(void **state)
{
	struct buf b;
	struct mpv_doc doc;
	const uint8_t *p;
	size_t n, fl;
	char msg[CTL_ERROR_MAX + 1];
	char long_msg[CTL_ERROR_MAX * 2];

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(ctl_resp_error(&b, 9, ERR_NOENT, "no such member"), 0);
	assert_int_equal(frame_next(b.data, b.len, CTL_RESP_MAX, &p, &n, &fl),
			 1);
	assert_int_equal(mpv_parse(&doc, p, n), 0);
	assert_int_equal(mpv_uint(mpv_get(&doc.root, "seq"), 0), 9);
	assert_false(mpv_bool(mpv_get(&doc.root, "ok"), true));
	assert_string_equal(
		mpv_cstr(mpv_get(&doc.root, "error"), msg, sizeof(msg), ""),
		"no such member");
	assert_int_equal(mpv_int(mpv_get(&doc.root, "code"), 0), ERR_NOENT);
	mpv_doc_release(&doc);

	/* Error text is bounded. */
	memset(long_msg, 'x', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	buf_reset(&b);
	assert_int_equal(ctl_resp_error(&b, 1, ERR_INVAL, long_msg), 0);
	assert_int_equal(frame_next(b.data, b.len, CTL_RESP_MAX, &p, &n, &fl),
			 1);
	assert_int_equal(mpv_parse(&doc, p, n), 0);
	assert_int_equal(mpv_get(&doc.root, "error")->n, CTL_ERROR_MAX);
	mpv_doc_release(&doc);
	buf_release(&b);
}

static void
test_response_ok_fields(void **state)
{
	struct buf b;
	struct codec_writer w;
	struct mpv_doc doc;
	const uint8_t *p;
	size_t n, fl, off;

	(void)state;
	buf_init(&b, 4096);
	off = ctl_resp_begin(&w, &b, 3, true, 1);
	codec_write_cstr(&w, "fp");
	codec_write_cstr(&w, "0011223344556677");
	assert_int_equal(ctl_resp_end(&w, &b, off), 0);
	assert_int_equal(frame_next(b.data, b.len, CTL_RESP_MAX, &p, &n, &fl),
			 1);
	assert_int_equal(mpv_parse(&doc, p, n), 0);
	assert_true(mpv_bool(mpv_get(&doc.root, "ok"), false));
	assert_true(mpv_str_eq(mpv_get(&doc.root, "fp"), "0011223344556677"));
	assert_int_equal(mpv_len(&doc.root), 3);
	mpv_doc_release(&doc);

	/* A response that does not fit the buffer is undone entirely. */
	buf_release(&b);
	buf_init(&b, 16);
	off = ctl_resp_begin(&w, &b, 3, true, 1);
	codec_write_cstr(&w, "members");
	codec_write_cstr(&w, "a long string that does not fit");
	assert_int_not_equal(ctl_resp_end(&w, &b, off), 0);
	assert_int_equal(b.len, 0);
	buf_release(&b);
}

/* ---- mpv ---- */

static void
test_mpv_tree(void **state)
{
	struct buf b;
	struct codec_writer w;
	struct mpv_doc doc;
	const struct mpv *arr;
	char s[16];

	(void)state;
	buf_init(&b, 1024);
	codec_writer_init(&w, &b);
	codec_write_map(&w, 3);
	codec_write_cstr(&w, "a");
	codec_write_array(&w, 3);
	codec_write_int(&w, -5);
	codec_write_double(&w, 2.5);
	codec_write_bin(&w, "\x01\x02", 2);
	codec_write_cstr(&w, "b");
	codec_write_cstr(&w, "text");
	codec_write_uint(&w, 7);
	codec_write_nil(&w);
	assert_int_equal(mpv_parse(&doc, b.data, b.len), 0);
	assert_int_equal(doc.root.type, MPV_MAP);
	arr = mpv_get(&doc.root, "a");
	assert_int_equal(mpv_len(arr), 3);
	assert_int_equal(mpv_int(mpv_at(arr, 0), 0), -5);
	assert_true(mpv_double(mpv_at(arr, 1), 0) == 2.5);
	assert_int_equal(mpv_at(arr, 2)->type, MPV_BIN);
	assert_null(mpv_at(arr, 3));
	assert_string_equal(
		mpv_cstr(mpv_get(&doc.root, "b"), s, sizeof(s), NULL), "text");
	/* Cut to the buffer. */
	assert_string_equal(mpv_cstr(mpv_get(&doc.root, "b"), s, 3, NULL),
			    "te");
	assert_null(mpv_get(&doc.root, "missing"));
	assert_null(mpv_get(arr, "a"));
	assert_int_equal(mpv_uint(mpv_get(&doc.root, "b"), 42), 42);
	assert_int_equal(mpv_key_at(&doc.root, 2)->type, MPV_UINT);
	mpv_doc_release(&doc);

	/* Trailing bytes and truncation. */
	buf_append_byte(&b, 0xc0);
	assert_int_not_equal(mpv_parse(&doc, b.data, b.len), 0);
	assert_int_not_equal(mpv_parse(&doc, b.data, b.len - 3), 0);
	buf_release(&b);
}

static void
test_mpv_bounds(void **state)
{
	uint8_t deep[64];
	/* An array claiming 1000 elements in 3 bytes. */
	static const uint8_t liar[] = {0xdc, 0x03, 0xe8};
	static const uint8_t ext[] = {0xd4, 0x01, 0x00};
	struct mpv_doc doc;
	struct rng r;
	uint8_t in[48];

	(void)state;
	memset(deep, 0x91, sizeof(deep)); /* [[[[...]]]] */
	deep[sizeof(deep) - 1] = 0xc0;
	assert_int_not_equal(mpv_parse(&doc, deep, sizeof(deep)), 0);
	/* CODEC_DEPTH_MAX levels are fine. */
	assert_int_equal(mpv_parse(&doc,
				   deep + sizeof(deep) - 1 - CODEC_DEPTH_MAX,
				   CODEC_DEPTH_MAX + 1),
			 0);
	mpv_doc_release(&doc);
	assert_int_not_equal(mpv_parse(&doc, liar, sizeof(liar)), 0);
	assert_int_not_equal(mpv_parse(&doc, ext, sizeof(ext)), 0);
	rng_seed(&r, 7);
	for (int i = 0; i < 20000; i++) {
		size_t n = rng_below(&r, sizeof(in) + 1);

		rng_fill(&r, in, n);
		if (mpv_parse(&doc, in, n) == 0) {
			assert_true(doc.nnodes <= n);
			mpv_doc_release(&doc);
		}
	}
}

/* ---- JSON ---- */

static const char *
json_of(struct buf *b, const char *s, size_t n)
{
	struct json j;

	buf_reset(b);
	json_init(&j, b);
	json_str(&j, s, n);
	json_raw(&j, "");
	buf_append_byte(b, 0);
	assert_int_equal(json_error(&j), 0);
	return (const char *)b->data;
}

static void
test_json_strings(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_string_equal(json_of(&b, "plain", 5), "\"plain\"");
	assert_string_equal(json_of(&b, "a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	assert_string_equal(json_of(&b, "\n\t\x01\x7f", 4),
			    "\"\\n\\t\\u0001\\u007f\"");
	assert_string_equal(json_of(&b, "caf\xc3\xa9", 5), "\"caf\xc3\xa9\"");
	/* Invalid UTF-8: lone continuation, overlong, surrogate, cut. */
	assert_string_equal(json_of(&b, "\x80", 1), "\"\xef\xbf\xbd\"");
	assert_string_equal(json_of(&b, "\xc0\xaf", 2),
			    "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	assert_string_equal(json_of(&b, "\xed\xa0\x80", 3),
			    "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	assert_string_equal(json_of(&b, "\xe2\x82", 2),
			    "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	assert_string_equal(json_of(&b, "x\0y", 3), "\"x\\u0000y\"");
	buf_release(&b);
}

static void
test_json_mpv(void **state)
{
	struct buf in, out;
	struct codec_writer w;
	struct mpv_doc doc;
	struct json j;

	(void)state;
	buf_init(&in, 1024);
	buf_init(&out, 1024);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 4);
	codec_write_cstr(&w, "n");
	codec_write_array(&w, 4);
	codec_write_uint(&w, 18446744073709551615ull);
	codec_write_int(&w, -3);
	codec_write_bool(&w, true);
	codec_write_nil(&w);
	codec_write_cstr(&w, "bin");
	codec_write_bin(&w, "\xff\x00\x10\x20", 4);
	codec_write_uint(&w, 5); /* a non-string key */
	codec_write_cstr(&w, "five");
	codec_write_cstr(&w, "m");
	codec_write_map(&w, 0);
	assert_int_equal(mpv_parse(&doc, in.data, in.len), 0);
	json_init(&j, &out);
	json_mpv(&j, &doc.root);
	buf_append_byte(&out, 0);
	assert_int_equal(json_error(&j), 0);
	assert_string_equal((const char *)out.data,
			    "{\"n\":[18446744073709551615,-3,true,null],"
			    "\"bin\":\"/wAQIA==\",\"5\":\"five\",\"m\":{}}");
	mpv_doc_release(&doc);
	buf_release(&in);
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_next),
		cmocka_unit_test(test_frame_append),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_request_strict),
		cmocka_unit_test(test_request_malformed),
		cmocka_unit_test(test_request_seq_kept_on_error),
		cmocka_unit_test(test_request_random_bytes),
		cmocka_unit_test(test_response_error),
		cmocka_unit_test(test_response_ok_fields),
		cmocka_unit_test(test_mpv_tree),
		cmocka_unit_test(test_mpv_bounds),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_json_mpv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
