/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/cli_format_test.c — what the shoal commands print.
 *
 * Replies are built with core/codec exactly as the agent builds them, then
 * formatted: the members table (sorted, padded, ROLE from the role tag,
 * other tags joined, hostile bytes neutralised, missing fields as "-"),
 * info, stats lines, the keys table, monitor lines (member, task and
 * manager events), node ls, service ls and ps, and JSON output without
 * seq/ok.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/format.h"
#include "cli/mpv.h"
#include "core/codec.h"
#include "core/err.h"

struct member {
	const char *name, *addr, *status, *role;
	const char *tags[4]; /* k, v, k, v */
	unsigned ntags;
};

static void
members_reply(struct buf *b, const struct member *m, size_t n)
{
	struct codec_writer w;

	buf_reset(b);
	codec_writer_init(&w, b);
	codec_write_map(&w, 3);
	codec_write_cstr(&w, "seq");
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "ok");
	codec_write_bool(&w, true);
	codec_write_cstr(&w, "members");
	codec_write_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		codec_write_map(&w, 5);
		codec_write_cstr(&w, "name");
		codec_write_cstr(&w, m[i].name);
		codec_write_cstr(&w, "addr");
		codec_write_cstr(&w, m[i].addr);
		codec_write_cstr(&w, "status");
		codec_write_cstr(&w, m[i].status);
		codec_write_cstr(&w, "role");
		codec_write_cstr(&w, m[i].role);
		codec_write_cstr(&w, "tags");
		codec_write_map(&w, m[i].ntags);
		for (unsigned t = 0; t < 2 * m[i].ntags; t++)
			codec_write_cstr(&w, m[i].tags[t]);
	}
	assert_int_equal(codec_writer_error(&w), 0);
}

static const char *
format(int (*f)(struct buf *, const struct mpv *), const struct buf *in,
       struct buf *out)
{
	struct mpv_doc doc;

	buf_reset(out);
	assert_int_equal(mpv_parse(&doc, in->data, in->len), 0);
	assert_int_equal(f(out, &doc.root), 0);
	buf_append_byte(out, 0);
	mpv_doc_release(&doc);
	return (const char *)out->data;
}

static void
test_members_table(void **state)
{
	const struct member m[] = {
		{"web-2", "10.0.0.2:7946", "failed", "", {0}, 0},
		{"db",
		 "[2001:db8::1]:7946",
		 "alive",
		 "db",
		 {"role", "db", "zone", "eu-1"},
		 2},
		{"web-1", "10.0.0.1:7946", "alive", "", {"zone", "us"}, 1},
	};
	struct buf in, out;

	(void)state;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	members_reply(&in, m, 3);
	assert_string_equal(
		format(fmt_members, &in, &out),
		"NAME   ADDRESS             STATUS  ROLE  TAGS\n"
		"db     [2001:db8::1]:7946  alive   db    zone=eu-1\n"
		"web-1  10.0.0.1:7946       alive   -     zone=us\n"
		"web-2  10.0.0.2:7946       failed  -     -\n");
	members_reply(&in, m, 0);
	assert_string_equal(format(fmt_members, &in, &out),
			    "NAME  ADDRESS  STATUS  ROLE  TAGS\n");
	buf_release(&in);
	buf_release(&out);
}

static void
test_members_hostile(void **state)
{
	const struct member m[] = {
		{"a\x1b[2Jb", "x\ny", "alive", "", {"k\t", "v\r"}, 1},
		{"", "", "", "", {0}, 0},
	};
	struct buf in, out;
	const char *s;

	(void)state;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	members_reply(&in, m, 2);
	s = format(fmt_members, &in, &out);
	assert_null(strchr(s, '\x1b'));
	assert_null(strchr(s, '\t'));
	assert_null(strchr(s, '\r'));
	assert_non_null(strstr(s, "a?[2Jb"));
	assert_non_null(strstr(s, "x?y"));
	assert_non_null(strstr(s, "k?=v?"));
	/* Four lines: header, two rows, nothing else. */
	assert_int_equal(strchr(strchr(strchr(s, '\n') + 1, '\n') + 1, '\n')[1],
			 '\0');
	buf_release(&in);
	buf_release(&out);
}

static void
test_members_json(void **state)
{
	const struct member m[] = {
		{"n1", "127.0.0.1:7001", "alive", "", {"zone", "a"}, 1},
	};
	struct buf in, out;

	(void)state;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	members_reply(&in, m, 1);
	assert_string_equal(format(fmt_json, &in, &out),
			    "{\"members\":[{\"name\":\"n1\",\"addr\":"
			    "\"127.0.0.1:7001\",\"status\":\"alive\",\"role\":"
			    "\"\",\"tags\":{\"zone\":\"a\"}}]}\n");
	buf_release(&in);
	buf_release(&out);
}

static void
info_reply(struct buf *b)
{
	struct codec_writer w;

	buf_reset(b);
	codec_writer_init(&w, b);
	codec_write_map(&w, 12);
	codec_write_cstr(&w, "seq");
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "ok");
	codec_write_bool(&w, true);
	codec_write_cstr(&w, "name");
	codec_write_cstr(&w, "n1");
	codec_write_cstr(&w, "addr");
	codec_write_cstr(&w, "127.0.0.1:7001");
	codec_write_cstr(&w, "encrypted");
	codec_write_bool(&w, true);
	codec_write_cstr(&w, "keys");
	codec_write_uint(&w, 2);
	codec_write_cstr(&w, "health");
	codec_write_uint(&w, 3);
	codec_write_cstr(&w, "uptime_ms");
	codec_write_uint(&w, 3723000);
	codec_write_cstr(&w, "members");
	codec_write_map(&w, 2);
	codec_write_cstr(&w, "alive");
	codec_write_uint(&w, 4);
	codec_write_cstr(&w, "failed");
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "stats");
	codec_write_map(&w, 2);
	codec_write_cstr(&w, "dgrams_in");
	codec_write_uint(&w, 100);
	codec_write_cstr(&w, "dgrams_out");
	codec_write_uint(&w, 90);
	codec_write_cstr(&w, "drops");
	codec_write_map(&w, 1);
	codec_write_cstr(&w, "auth_failed");
	codec_write_uint(&w, 7);
	codec_write_cstr(&w, "agent");
	codec_write_map(&w, 1);
	codec_write_cstr(&w, "ctl_requests");
	codec_write_uint(&w, 5);
	assert_int_equal(codec_writer_error(&w), 0);
}

static void
test_info_and_stats(void **state)
{
	struct buf in, out;
	const char *s;

	(void)state;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	info_reply(&in);
	s = format(fmt_info, &in, &out);
	assert_non_null(strstr(s, "name:        n1\n"));
	assert_non_null(strstr(s, "encryption:  on (2 keys)\n"));
	assert_non_null(strstr(s, "members:     4 alive, 0 suspect, 1 failed, "
				  "0 left\n"));
	assert_non_null(strstr(s, "health:      3"));
	assert_non_null(strstr(s, "uptime:      1h02m\n"));
	assert_non_null(strstr(s, "cluster:     -\n")); /* missing field */
	s = format(fmt_stats, &in, &out);
	assert_string_equal(s, "health 3\n"
			       "members.alive 4\n"
			       "members.failed 1\n"
			       "gossip.dgrams_in 100\n"
			       "gossip.dgrams_out 90\n"
			       "drops.auth_failed 7\n"
			       "agent.ctl_requests 5\n");
	buf_release(&in);
	buf_release(&out);
}

static void
test_keys_table(void **state)
{
	struct buf in, out;
	struct codec_writer w;
	const char *s;

	(void)state;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 4);
	codec_write_cstr(&w, "ok");
	codec_write_bool(&w, true);
	codec_write_cstr(&w, "primary");
	codec_write_cstr(&w, "00112233aabbccdd");
	codec_write_cstr(&w, "members");
	codec_write_uint(&w, 3);
	codec_write_cstr(&w, "keys");
	codec_write_array(&w, 2);
	codec_write_map(&w, 3);
	codec_write_cstr(&w, "fp");
	codec_write_cstr(&w, "00112233aabbccdd");
	codec_write_cstr(&w, "primary");
	codec_write_bool(&w, true);
	codec_write_cstr(&w, "nodes");
	codec_write_array(&w, 3);
	codec_write_cstr(&w, "a");
	codec_write_cstr(&w, "b");
	codec_write_cstr(&w, "c");
	codec_write_map(&w, 3);
	codec_write_cstr(&w, "fp");
	codec_write_cstr(&w, "ffeeddcc00000000");
	codec_write_cstr(&w, "primary");
	codec_write_bool(&w, false);
	codec_write_cstr(&w, "nodes");
	codec_write_array(&w, 1);
	codec_write_cstr(&w, "b");
	s = format(fmt_keys, &in, &out);
	assert_string_equal(s, "FINGERPRINT       PRIMARY  INSTALLED  NODES\n"
			       "00112233aabbccdd  yes      3/3        a,b,c\n"
			       "ffeeddcc00000000  -        1/3        b\n");
	buf_release(&in);
	buf_release(&out);
}

static void
test_monitor_lines(void **state)
{
	struct buf in, out;
	struct codec_writer w;

	(void)state;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 2);
	codec_write_cstr(&w, "seq");
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "event");
	codec_write_map(&w, 6);
	codec_write_cstr(&w, "time_ms");
	codec_write_uint(&w, 1700000000123ull);
	codec_write_cstr(&w, "event");
	codec_write_cstr(&w, "member-failed");
	codec_write_cstr(&w, "name");
	codec_write_cstr(&w, "n3");
	codec_write_cstr(&w, "addr");
	codec_write_cstr(&w, "127.0.0.1:7003");
	codec_write_cstr(&w, "status");
	codec_write_cstr(&w, "failed");
	codec_write_cstr(&w, "incarnation");
	codec_write_uint(&w, 9);
	assert_string_equal(format(fmt_monitor, &in, &out),
			    "2023-11-14T22:13:20.123Z member-failed n3 "
			    "127.0.0.1:7003 failed inc=9\n");
	assert_string_equal(format(fmt_json, &in, &out),
			    "{\"event\":{\"time_ms\":1700000000123,\"event\":"
			    "\"member-failed\",\"name\":\"n3\",\"addr\":"
			    "\"127.0.0.1:7003\",\"status\":\"failed\","
			    "\"incarnation\":9}}\n");
	buf_reset(&in);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 1);
	codec_write_cstr(&w, "log");
	codec_write_cstr(&w, "ts=x level=info msg=hello");
	assert_string_equal(format(fmt_monitor, &in, &out),
			    "ts=x level=info msg=hello\n");
	buf_reset(&in);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 1);
	codec_write_cstr(&w, "dropped");
	codec_write_uint(&w, 12);
	assert_non_null(
		strstr(format(fmt_monitor, &in, &out), "12 events dropped"));
	buf_release(&in);
	buf_release(&out);
}

static void
test_node_ls(void **state)
{
	struct buf in, out;
	struct codec_writer w;

	(void)state;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 1);
	codec_write_cstr(&w, "members");
	codec_write_array(&w, 3);
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = {"n2", "n1", "w1"};
		static const char *const avail[] = {"drain", "active", "pause"};

		codec_write_map(&w, 7);
		codec_write_cstr(&w, "name");
		codec_write_cstr(&w, names[i]);
		codec_write_cstr(&w, "addr");
		codec_write_cstr(&w, "127.0.0.1:1");
		codec_write_cstr(&w, "status");
		codec_write_cstr(&w, "alive");
		codec_write_cstr(&w, "availability");
		codec_write_cstr(&w, avail[i]);
		codec_write_cstr(&w, "manager");
		codec_write_bool(&w, i == 1);
		codec_write_cstr(&w, "eligible");
		codec_write_bool(&w, i != 2);
		codec_write_cstr(&w, "tags");
		if (i == 2) {
			codec_write_map(&w, 2);
			codec_write_cstr(&w, "role");
			codec_write_cstr(&w, "worker");
			codec_write_cstr(&w, "zone");
			codec_write_cstr(&w, "eu");
		} else {
			codec_write_map(&w, 0);
		}
	}
	assert_string_equal(
		format(fmt_node_ls, &in, &out),
		"NAME  ADDRESS      STATUS  AVAILABILITY  MANAGER   ROLE    "
		"TAGS\n"
		"n1    127.0.0.1:1  alive   active        leader    -       -\n"
		"n2    127.0.0.1:1  alive   drain         eligible  -       -\n"
		"w1    127.0.0.1:1  alive   pause         -         worker  "
		"zone=eu\n");
	buf_release(&in);
	buf_release(&out);
}

static void
test_service_tables(void **state)
{
	struct buf in, out;
	struct codec_writer w;

	(void)state;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 1);
	codec_write_cstr(&w, "services");
	codec_write_array(&w, 1);
	codec_write_map(&w, 5);
	codec_write_cstr(&w, "name");
	codec_write_cstr(&w, "web");
	codec_write_cstr(&w, "mode");
	codec_write_cstr(&w, "replicated");
	codec_write_cstr(&w, "desired");
	codec_write_uint(&w, 6);
	codec_write_cstr(&w, "running");
	codec_write_uint(&w, 5);
	codec_write_cstr(&w, "args");
	codec_write_array(&w, 3);
	codec_write_cstr(&w, "sh");
	codec_write_cstr(&w, "-c");
	codec_write_cstr(&w, "sleep 1");
	assert_string_equal(format(fmt_service_ls, &in, &out),
			    "NAME  MODE        REPLICAS  COMMAND\n"
			    "web   replicated  5/6       sh -c 'sleep 1'\n");
	{
		struct buf in2;
		struct codec_writer w2;

		buf_init(&in2, 4096);
		codec_writer_init(&w2, &in2);
		codec_write_map(&w2, 1);
		codec_write_cstr(&w2, "services");
		codec_write_array(&w2, 1);
		codec_write_map(&w2, 1);
		codec_write_cstr(&w2, "args");
		codec_write_array(&w2, 4);
		codec_write_cstr(&w2, "sh");
		codec_write_cstr(&w2, "-c");
		codec_write_cstr(&w2, "echo \"it's\"");
		codec_write_cstr(&w2, "");
		assert_string_equal(format(fmt_service_ls, &in2, &out),
				    "NAME  MODE  REPLICAS  COMMAND\n"
				    "-     -     0/0       sh -c \"echo "
				    "\\\"it's\\\"\" ''\n");
		buf_release(&in2);
	}

	buf_reset(&in);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 2);
	codec_write_cstr(&w, "now_ms");
	codec_write_uint(&w, 100000);
	codec_write_cstr(&w, "tasks");
	codec_write_array(&w, 3);
	for (int i = 0; i < 3; i++) {
		static const char *const node[] = {"n1", "n2", ""};
		static const char *const st[] = {"running", "failed",
						 "pending"};

		codec_write_map(&w, 8);
		codec_write_cstr(&w, "service");
		codec_write_cstr(&w, "web");
		codec_write_cstr(&w, "slot");
		codec_write_uint(&w, (uint64_t)i);
		codec_write_cstr(&w, "node");
		codec_write_cstr(&w, node[i]);
		codec_write_cstr(&w, "state");
		codec_write_cstr(&w, st[i]);
		codec_write_cstr(&w, "since_ms");
		codec_write_uint(&w, i == 2 ? 0 : 100000 - 1500 * (i + 1));
		codec_write_cstr(&w, "restarts");
		codec_write_uint(&w, i == 1 ? 3 : 0);
		codec_write_cstr(&w, "exit");
		codec_write_int(&w, i == 1 ? -9 : 0);
		codec_write_cstr(&w, "msg");
		codec_write_cstr(&w, i == 1 ? "restart limit reached" : "");
	}
	assert_string_equal(
		format(fmt_service_ps, &in, &out),
		"TASK   NODE  STATE    SINCE  RESTARTS  EXIT  ERROR\n"
		"web.0  n1    running  1.5s   0         -     -\n"
		"web.1  n2    failed   3.0s   3         -9    restart limit "
		"reached\n"
		"web.2  -     pending  -      0         -     -\n");
	buf_release(&in);
	buf_release(&out);
}

static void
test_monitor_task_and_manager(void **state)
{
	struct buf in, out;
	struct codec_writer w;

	(void)state;
	buf_init(&in, 4096);
	buf_init(&out, 4096);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 1);
	codec_write_cstr(&w, "event");
	codec_write_map(&w, 8);
	codec_write_cstr(&w, "time_ms");
	codec_write_uint(&w, 1700000000123ull);
	codec_write_cstr(&w, "event");
	codec_write_cstr(&w, "task-failed");
	codec_write_cstr(&w, "service");
	codec_write_cstr(&w, "web");
	codec_write_cstr(&w, "slot");
	codec_write_uint(&w, 4);
	codec_write_cstr(&w, "state");
	codec_write_cstr(&w, "failed");
	codec_write_cstr(&w, "exit");
	codec_write_int(&w, 3);
	codec_write_cstr(&w, "restarts");
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "restart");
	codec_write_bool(&w, true);
	assert_string_equal(format(fmt_monitor, &in, &out),
			    "2023-11-14T22:13:20.123Z task-failed web.4 "
			    "state=failed exit=3 restarts=1 restart=yes\n");
	buf_reset(&in);
	codec_writer_init(&w, &in);
	codec_write_map(&w, 1);
	codec_write_cstr(&w, "event");
	codec_write_map(&w, 5);
	codec_write_cstr(&w, "time_ms");
	codec_write_uint(&w, 1700000000123ull);
	codec_write_cstr(&w, "event");
	codec_write_cstr(&w, "manager");
	codec_write_cstr(&w, "manager");
	codec_write_cstr(&w, "");
	codec_write_cstr(&w, "term");
	codec_write_uint(&w, 4);
	codec_write_cstr(&w, "status");
	codec_write_cstr(&w, "no manager: no quorum: sees 2 of 5 eligible "
			     "(needs 3)");
	assert_string_equal(format(fmt_monitor, &in, &out),
			    "2023-11-14T22:13:20.123Z manager none term=4 (no "
			    "manager: no quorum: sees 2 of 5 eligible (needs "
			    "3))\n");
	buf_release(&in);
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_table),
		cmocka_unit_test(test_members_hostile),
		cmocka_unit_test(test_members_json),
		cmocka_unit_test(test_info_and_stats),
		cmocka_unit_test(test_keys_table),
		cmocka_unit_test(test_monitor_lines),
		cmocka_unit_test(test_node_ls),
		cmocka_unit_test(test_service_tables),
		cmocka_unit_test(test_monitor_task_and_manager),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
