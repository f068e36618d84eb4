/* SPDX-License-Identifier: MIT */
/*
 * gossip/wire: every message type round-trips; the datagram budget is
 * honoured; malformed input (truncation at every length, missing or
 * duplicated fields, bad names and addresses, oversized metadata, trailing
 * bytes, wrong version) is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/codec.h"
#include "core/err.h"
#include "gossip/swim.h"
#include "gossip/wire.h"

static struct wire_hdr
hdr(void)
{
	struct wire_hdr h = { WIRE_VERSION, "node-a", 6, 1700000000000ULL, 42,
			      1700000001234ULL };
	return h;
}

static struct wire_msg
msg(enum wire_type t)
{
	static const uint8_t meta[] = { 1, 2, 3, 4, 5 };
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	m.type = t;
	m.seq = 77;
	m.inc = 1700000000005ULL;
	m.node = "web-3";
	m.node_len = 5;
	m.from = "node-b";
	m.from_len = 6;
	addr_v4(&m.addr, 10, 1, 2, 3, 7946);
	addr_parse(&m.src, "[fe80::1]:7947", 0);
	m.has_src = t == WIRE_PING || t == WIRE_PING_REQ;
	m.nack = t == WIRE_PING_REQ;
	m.left = t == WIRE_DEAD;
	if (t == WIRE_ALIVE || t == WIRE_USER) {
		m.data = meta;
		m.data_len = sizeof(meta);
	}
	return m;
}

static void
check_same(const struct wire_msg *a, const struct wire_msg *b)
{
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case WIRE_PING:
		assert_int_equal(a->seq, b->seq);
		assert_memory_equal(a->node, b->node, a->node_len);
		assert_true(addr_equal(&a->src, &b->src));
		assert_memory_equal(a->from, b->from, a->from_len);
		break;
	case WIRE_PING_REQ:
		assert_int_equal(a->seq, b->seq);
		assert_true(addr_equal(&a->addr, &b->addr));
		assert_true(addr_equal(&a->src, &b->src));
		assert_int_equal(a->nack, b->nack);
		break;
	case WIRE_ACK:
	case WIRE_NACK:
		assert_int_equal(a->seq, b->seq);
		break;
	case WIRE_ALIVE:
		assert_int_equal(a->inc, b->inc);
		assert_true(addr_equal(&a->addr, &b->addr));
		assert_int_equal(a->data_len, b->data_len);
		assert_memory_equal(a->data, b->data, a->data_len);
		break;
	case WIRE_SUSPECT:
	case WIRE_DEAD:
		assert_int_equal(a->inc, b->inc);
		assert_int_equal(a->node_len, b->node_len);
		assert_memory_equal(a->from, b->from, a->from_len);
		assert_int_equal(a->left, b->left);
		break;
	case WIRE_USER:
		assert_memory_equal(a->data, b->data, a->data_len);
		break;
	}
}

static void
test_roundtrip_all_types(void **state)
{
	struct wire_hdr h = hdr(), h2;
	struct wire_dgram d;
	struct codec_reader r;
	struct buf b;
	uint32_t n;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(wire_dgram_begin(&d, &b, 1400, &h), 0);
	for (int t = WIRE_PING; t <= WIRE_USER; t++) {
		struct wire_msg m = msg((enum wire_type)t);

		assert_int_equal(wire_dgram_add(&d, &m), 0);
	}
	assert_int_equal(wire_dgram_end(&d), 8);
	assert_int_equal(wire_dgram_decode(b.data, b.len, &h2, &r, &n), 0);
	assert_int_equal(n, 8);
	assert_int_equal(h2.boot, h.boot);
	assert_int_equal(h2.seq, h.seq);
	assert_int_equal(h2.ts_ms, h.ts_ms);
	assert_memory_equal(h2.sender, "node-a", 6);
	for (int t = WIRE_PING; t <= WIRE_USER; t++) {
		struct wire_msg want = msg((enum wire_type)t), got;

		assert_int_equal(wire_msg_decode(&r, &got), 0);
		check_same(&want, &got);
	}
	assert_int_equal(codec_read_end(&r), 0);
	buf_release(&b);
}

static void
test_budget(void **state)
{
	struct wire_hdr h = hdr();
	struct wire_dgram d;
	struct wire_msg m = msg(WIRE_ALIVE);
	struct buf b;
	unsigned added = 0;

	(void)state;
	buf_init(&b, 1 << 16);
	assert_int_equal(wire_dgram_begin(&d, &b, 400, &h), 0);
	for (int i = 0; i < 100; i++)
		if (wire_dgram_add(&d, &m) == 0)
			added++;
	assert_true(added > 3);
	assert_true(b.len <= 400);
	assert_int_equal(wire_dgram_end(&d), added);
	/* What was built still decodes. */
	{
		struct wire_hdr h2;
		struct codec_reader r;
		uint32_t n;

		assert_int_equal(wire_dgram_decode(b.data, b.len, &h2, &r, &n),
				 0);
		assert_int_equal(n, added);
	}
	buf_release(&b);
}

/* A valid datagram of one message of type t. */
static void
build(struct buf *b, enum wire_type t)
{
	struct wire_hdr h = hdr();
	struct wire_dgram d;
	struct wire_msg m = msg(t);

	assert_int_equal(wire_dgram_begin(&d, b, 1400, &h), 0);
	assert_int_equal(wire_dgram_add(&d, &m), 0);
	wire_dgram_end(&d);
}

static int
decode_all(const uint8_t *p, size_t n)
{
	struct wire_hdr h;
	struct codec_reader r;
	struct wire_msg m;
	uint32_t cnt;
	int rc = wire_dgram_decode(p, n, &h, &r, &cnt);

	if (rc)
		return rc;
	for (uint32_t i = 0; i < cnt; i++)
		if ((rc = wire_msg_decode(&r, &m)))
			return rc;
	return codec_read_end(&r);
}

static void
test_truncated_everywhere(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	for (int t = WIRE_PING; t <= WIRE_USER; t++) {
		build(&b, (enum wire_type)t);
		assert_int_equal(decode_all(b.data, b.len), 0);
		for (size_t k = 0; k < b.len; k++)
			assert_int_not_equal(decode_all(b.data, k), 0);
	}
	buf_release(&b);
}

static void
test_trailing_and_version(void **state)
{
	struct buf b;
	struct wire_hdr h = hdr();
	struct wire_dgram d;

	(void)state;
	buf_init(&b, 4096);
	build(&b, WIRE_ACK);
	buf_append_byte(&b, 0xc0);
	assert_int_not_equal(decode_all(b.data, b.len), 0);

	/* The encoder always writes our version: patch it to 2. The
	 * header starts 0x86 (map of 6), 0x00 (key 0), 0x01 (version 1). */
	assert_int_equal(wire_dgram_begin(&d, &b, 1400, &h), 0);
	wire_dgram_end(&d);
	assert_int_equal(b.data[0], 0x86);
	assert_int_equal(b.data[2], WIRE_VERSION);
	b.data[2] = 2;
	{
		struct wire_hdr h2;
		struct codec_reader r;
		uint32_t n;

		assert_int_equal(wire_dgram_decode(b.data, b.len, &h2, &r, &n),
				 ERR_VERSION);
	}
	buf_release(&b);
}

/* Hand-built messages with one thing wrong each. */
static int
decode_one(void (*fn)(struct codec_writer *))
{
	struct buf b;
	struct codec_writer w;
	struct codec_reader r;
	struct wire_msg m;
	int rc;

	buf_init(&b, 4096);
	codec_writer_init(&w, &b);
	fn(&w);
	codec_reader_init(&r, b.data, b.len);
	rc = wire_msg_decode(&r, &m);
	if (rc == 0)
		rc = codec_read_end(&r);
	buf_release(&b);
	return rc;
}

static void
bad_name(struct codec_writer *w)
{
	codec_write_map(w, 4);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_SUSPECT);
	codec_write_uint(w, 1);
	codec_write_uint(w, 5);
	codec_write_uint(w, 2);
	codec_write_cstr(w, "has space");
	codec_write_uint(w, 3);
	codec_write_cstr(w, "a");
}

static void
empty_name(struct codec_writer *w)
{
	codec_write_map(w, 4);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_DEAD);
	codec_write_uint(w, 1);
	codec_write_uint(w, 5);
	codec_write_uint(w, 2);
	codec_write_cstr(w, "");
	codec_write_uint(w, 3);
	codec_write_cstr(w, "a");
}

static void
long_name(struct codec_writer *w)
{
	char n[SWIM_NAME_MAX + 2];

	memset(n, 'x', sizeof(n) - 1);
	n[sizeof(n) - 1] = '\0';
	codec_write_map(w, 4);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_SUSPECT);
	codec_write_uint(w, 1);
	codec_write_uint(w, 5);
	codec_write_uint(w, 2);
	codec_write_cstr(w, n);
	codec_write_uint(w, 3);
	codec_write_cstr(w, "a");
}

static void
bad_addr(struct codec_writer *w)
{
	static const uint8_t a[5] = { 1, 2, 3, 4, 5 };

	codec_write_map(w, 5);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_ALIVE);
	codec_write_uint(w, 1);
	codec_write_uint(w, 5);
	codec_write_uint(w, 2);
	codec_write_cstr(w, "a");
	codec_write_uint(w, 3);
	codec_write_bin(w, a, sizeof(a));
	codec_write_uint(w, 4);
	codec_write_bin(w, a, 0);
}

static void
big_meta(struct codec_writer *w)
{
	static uint8_t meta[SWIM_META_MAX + 1];
	static const uint8_t a[6] = { 10, 0, 0, 1, 0x1f, 0x0a };

	codec_write_map(w, 5);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_ALIVE);
	codec_write_uint(w, 1);
	codec_write_uint(w, 5);
	codec_write_uint(w, 2);
	codec_write_cstr(w, "a");
	codec_write_uint(w, 3);
	codec_write_bin(w, a, sizeof(a));
	codec_write_uint(w, 4);
	codec_write_bin(w, meta, sizeof(meta));
}

static void
missing_field(struct codec_writer *w)
{
	codec_write_map(w, 2);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_SUSPECT);
	codec_write_uint(w, 1);
	codec_write_uint(w, 5);
}

static void
dup_field(struct codec_writer *w)
{
	codec_write_map(w, 3);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_ACK);
	codec_write_uint(w, 1);
	codec_write_uint(w, 5);
	codec_write_uint(w, 1);
	codec_write_uint(w, 6);
}

static void
type_not_first(struct codec_writer *w)
{
	codec_write_map(w, 2);
	codec_write_uint(w, 1);
	codec_write_uint(w, 5);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_ACK);
}

static void
wrong_type_for_field(struct codec_writer *w)
{
	codec_write_map(w, 2);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_ACK);
	codec_write_uint(w, 1);
	codec_write_cstr(w, "five");
}

static void
unknown_type(struct codec_writer *w)
{
	codec_write_map(w, 3);
	codec_write_uint(w, 0);
	codec_write_uint(w, 99);
	codec_write_uint(w, 1);
	codec_write_cstr(w, "future");
	codec_write_uint(w, 2);
	codec_write_array(w, 0);
}

static void
unknown_key(struct codec_writer *w)
{
	codec_write_map(w, 3);
	codec_write_uint(w, 0);
	codec_write_uint(w, WIRE_ACK);
	codec_write_uint(w, 1);
	codec_write_uint(w, 5);
	codec_write_uint(w, 12);
	codec_write_cstr(w, "ignored");
}

static void
test_bad_messages(void **state)
{
	(void)state;
	assert_int_not_equal(decode_one(bad_name), 0);
	assert_int_not_equal(decode_one(empty_name), 0);
	assert_int_not_equal(decode_one(long_name), 0);
	assert_int_not_equal(decode_one(bad_addr), 0);
	assert_int_not_equal(decode_one(big_meta), 0);
	assert_int_not_equal(decode_one(missing_field), 0);
	assert_int_not_equal(decode_one(dup_field), 0);
	assert_int_not_equal(decode_one(type_not_first), 0);
	assert_int_not_equal(decode_one(wrong_type_for_field), 0);
	/* Forward compatibility: unknown types and keys are skipped. */
	assert_int_equal(decode_one(unknown_type), 0);
	assert_int_equal(decode_one(unknown_key), 0);
}

static void
test_stream_roundtrip(void **state)
{
	struct wire_hdr h = hdr();
	struct codec_writer w;
	struct wire_stream ws;
	struct buf b;
	static const uint8_t app[] = "application state";

	(void)state;
	buf_init(&b, 1 << 20);
	codec_writer_init(&w, &b);
	wire_stream_begin(&w, &h, WIRE_STREAM_REQ, true, 3);
	for (int i = 0; i < 3; i++) {
		struct wire_member m;
		char name[16];

		memset(&m, 0, sizeof(m));
		name[0] = 'm';
		name[1] = (char)('0' + i);
		m.name = name;
		m.name_len = 2;
		addr_v4(&m.addr, 10, 0, 0, (uint8_t)i, 7946);
		m.meta = app;
		m.meta_len = (uint32_t)i;
		m.inc = 100 + (uint64_t)i;
		m.state = (uint8_t)i;
		if (i == 1) {
			m.from = "accuser-7";
			m.from_len = 9;
		}
		wire_member_write(&w, &m);
	}
	wire_stream_app(&w, app, sizeof(app));
	assert_int_equal(codec_writer_error(&w), 0);

	assert_int_equal(wire_stream_decode(b.data, b.len, &ws), 0);
	assert_int_equal(ws.kind, WIRE_STREAM_REQ);
	assert_true(ws.join);
	assert_int_equal(ws.nmembers, 3);
	assert_int_equal(ws.app_len, sizeof(app));
	for (int i = 0; i < 3; i++) {
		struct wire_member m;

		assert_int_equal(wire_member_decode(&ws.members, &m), 0);
		assert_int_equal(m.inc, 100 + i);
		assert_int_equal(m.state, i);
		assert_int_equal(m.meta_len, i);
		assert_int_equal(m.addr.ip[3], i);
		if (i == 1) {
			assert_int_equal(m.from_len, 9);
			assert_memory_equal(m.from, "accuser-7", 9);
		} else {
			assert_null(m.from);
		}
	}
	assert_int_equal(codec_read_end(&ws.members), 0);
	for (size_t k = 0; k < b.len; k++) {
		struct wire_stream t;

		assert_int_not_equal(wire_stream_decode(b.data, k, &t), 0);
	}
	buf_release(&b);
}

static void
test_stream_ping(void **state)
{
	struct wire_hdr h = hdr();
	struct codec_writer w;
	struct wire_stream ws;
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	codec_writer_init(&w, &b);
	wire_stream_ping(&w, &h, WIRE_STREAM_PING, 99, "web-3", 5);
	assert_int_equal(wire_stream_decode(b.data, b.len, &ws), 0);
	assert_int_equal(ws.kind, WIRE_STREAM_PING);
	assert_int_equal(ws.seq, 99);
	assert_int_equal(ws.target_len, 5);
	assert_memory_equal(ws.target, "web-3", 5);
	assert_int_equal(ws.nmembers, 0);

	buf_reset(&b);
	codec_writer_init(&w, &b);
	wire_stream_ping(&w, &h, WIRE_STREAM_ACK, 99, NULL, 0);
	assert_int_equal(wire_stream_decode(b.data, b.len, &ws), 0);
	assert_int_equal(ws.kind, WIRE_STREAM_ACK);
	assert_int_equal(ws.seq, 99);

	/* A ping without a target, or an ack with one, is malformed. */
	buf_reset(&b);
	codec_writer_init(&w, &b);
	wire_stream_ping(&w, &h, WIRE_STREAM_PING, 99, NULL, 0);
	assert_int_not_equal(wire_stream_decode(b.data, b.len, &ws), 0);
	buf_reset(&b);
	codec_writer_init(&w, &b);
	wire_stream_ping(&w, &h, WIRE_STREAM_ACK, 99, "x", 1);
	assert_int_not_equal(wire_stream_decode(b.data, b.len, &ws), 0);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_types),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_trailing_and_version),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test(test_stream_roundtrip),
		cmocka_unit_test(test_stream_ping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
