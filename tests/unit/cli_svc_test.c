/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/cli_svc_test.c — service specs in the control protocol.
 *
 * A spec written as the string-keyed map reads back equal; a create
 * takes Docker's defaults for what is missing (a global service gets 0
 * replicas); an update edits only what it names (env and constraint
 * additions and removals, a new command) and refuses renames and mode
 * changes; shapes that are wrong are refused by name; rules are left to
 * sched/spec, whose reasons come through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/svc.h"
#include "core/err.h"

static void
full_spec(struct spec *s)
{
	const char *argv[] = {"sh", "-c", "echo hi; sleep 1"};
	char why[SPEC_WHY_MAX];

	spec_init(s);
	assert_int_equal(spec_set_name(s, "web-1", why, sizeof(why)), 0);
	assert_int_equal(spec_set_args(s, argv, 3, why, sizeof(why)), 0);
	assert_int_equal(spec_add_env(s, "A=1", why, sizeof(why)), 0);
	assert_int_equal(spec_add_env(s, "B=two words", why, sizeof(why)), 0);
	assert_int_equal(
		spec_add_constraint(s, "node.zone==eu", why, sizeof(why)), 0);
	assert_int_equal(
		spec_add_constraint(s, "node.name!=n3", why, sizeof(why)), 0);
	s->replicas = 6;
	s->max_per_node = 2;
	s->restart.cond = SPEC_RESTART_ON_FAILURE;
	s->restart.delay_ms = 250;
	s->restart.max_attempts = 4;
	s->restart.window_ms = 60000;
	s->update.parallelism = 2;
	s->update.delay_ms = 1000;
}

static void
encode(const struct spec *s, struct buf *b)
{
	struct codec_writer w;

	buf_init(b, 1 << 20);
	codec_writer_init(&w, b);
	svc_write_spec(&w, s);
	assert_int_equal(codec_writer_error(&w), 0);
}

static void
test_round_trip(void **state)
{
	struct spec a, b;
	struct buf buf;
	char why[200];

	(void)state;
	full_spec(&a);
	encode(&a, &buf);
	spec_init(&b);
	assert_int_equal(
		svc_read_spec(&b, buf.data, buf.len, false, why, sizeof(why)),
		0);
	assert_true(spec_equal(&a, &b));
	assert_int_equal(spec_validate(&b, why, sizeof(why)), 0);
	/* The same map as an update of an equal spec changes nothing. */
	assert_int_equal(
		svc_read_spec(&b, buf.data, buf.len, true, why, sizeof(why)),
		0);
	assert_true(spec_equal(&a, &b));
	buf_release(&buf);
	spec_destroy(&a);
	spec_destroy(&b);
}

/* A map written with the writer by a test. */
struct mb {
	struct buf b;
	struct codec_writer w;
};

static void
mb_init(struct mb *m, uint32_t n)
{
	buf_init(&m->b, 1 << 20);
	codec_writer_init(&m->w, &m->b);
	codec_write_map(&m->w, n);
}

static void
mb_strs(struct mb *m, const char *key, const char *const *v, uint32_t n)
{
	codec_write_cstr(&m->w, key);
	codec_write_array(&m->w, n);
	for (uint32_t i = 0; i < n; i++)
		codec_write_cstr(&m->w, v[i]);
}

static int
read_map(struct mb *m, struct spec *s, bool update, char *why)
{
	int rc = svc_read_spec(s, m->b.data, m->b.len, update, why, 200);

	buf_release(&m->b);
	return rc;
}

static void
test_create_defaults(void **state)
{
	const char *args[] = {"sleep", "1000"};
	struct spec s;
	struct mb m;
	char why[200];

	(void)state;
	mb_init(&m, 2);
	codec_write_cstr(&m.w, "name");
	codec_write_cstr(&m.w, "web");
	mb_strs(&m, "args", args, 2);
	spec_init(&s);
	assert_int_equal(read_map(&m, &s, false, why), 0);
	assert_string_equal(s.name, "web");
	assert_int_equal(s.replicas, 1);
	assert_int_equal(s.mode, SPEC_REPLICATED);
	assert_int_equal(s.restart.cond, SPEC_RESTART_ANY);
	assert_int_equal(s.restart.delay_ms, 5000);
	assert_int_equal(s.nargs, 2);
	spec_destroy(&s);

	mb_init(&m, 3);
	codec_write_cstr(&m.w, "mode");
	codec_write_cstr(&m.w, "global");
	codec_write_cstr(&m.w, "name");
	codec_write_cstr(&m.w, "agent");
	mb_strs(&m, "args", args, 1);
	spec_init(&s);
	assert_int_equal(read_map(&m, &s, false, why), 0);
	assert_int_equal(s.mode, SPEC_GLOBAL);
	assert_int_equal(s.replicas, 0);
	assert_int_equal(spec_validate(&s, why, sizeof(why)), 0);
	spec_destroy(&s);

	/* No command; no name. */
	mb_init(&m, 1);
	codec_write_cstr(&m.w, "name");
	codec_write_cstr(&m.w, "web");
	spec_init(&s);
	assert_int_equal(read_map(&m, &s, false, why), ERR_INVAL);
	assert_string_equal(why, "the service needs a command");
	spec_destroy(&s);
	mb_init(&m, 1);
	mb_strs(&m, "args", args, 1);
	spec_init(&s);
	assert_int_equal(read_map(&m, &s, false, why), ERR_INVAL);
	assert_string_equal(why, "the service needs a name");
	spec_destroy(&s);
}

static void
test_update_edits(void **state)
{
	const char *add[] = {"A=9", "C=3"};
	const char *rm[] = {"B"};
	const char *cadd[] = {"node.zone==eu", "node.disk==ssd"};
	const char *crm[] = {"node.name!=n3"};
	const char *cmd[] = {"sleep", "5"};
	struct spec s;
	struct mb m;
	char why[200];

	(void)state;
	full_spec(&s);
	mb_init(&m, 6);
	mb_strs(&m, "env_rm", rm, 1);
	mb_strs(&m, "env_add", add, 2);
	mb_strs(&m, "constraints_rm", crm, 1);
	mb_strs(&m, "constraints_add", cadd, 2);
	mb_strs(&m, "args", cmd, 2);
	codec_write_cstr(&m.w, "replicas");
	codec_write_uint(&m.w, 9);
	assert_int_equal(read_map(&m, &s, true, why), 0);
	assert_int_equal(s.replicas, 9);
	assert_int_equal(s.nenv, 2);
	assert_string_equal(s.env[0], "A=9");
	assert_string_equal(s.env[1], "C=3");
	assert_int_equal(s.ncons, 2); /* zone==eu kept once, disk added */
	assert_string_equal(s.cons[0].key, "zone");
	assert_string_equal(s.cons[1].key, "disk");
	assert_string_equal(s.args[0], "sleep");
	assert_int_equal(s.restart.max_attempts, 4); /* untouched */
	assert_int_equal(spec_validate(&s, why, sizeof(why)), 0);

	/* Rename and mode change are refused. */
	mb_init(&m, 1);
	codec_write_cstr(&m.w, "name");
	codec_write_cstr(&m.w, "other");
	assert_int_equal(read_map(&m, &s, true, why), ERR_INVAL);
	assert_string_equal(why, "a service cannot be renamed");
	mb_init(&m, 1);
	codec_write_cstr(&m.w, "mode");
	codec_write_cstr(&m.w, "global");
	assert_int_equal(read_map(&m, &s, true, why), ERR_INVAL);
	assert_non_null(strstr(why, "cannot change"));
	/* The edit keys are update-only. */
	mb_init(&m, 1);
	mb_strs(&m, "env_add", add, 1);
	assert_int_equal(read_map(&m, &s, false, why), ERR_INVAL);
	assert_string_equal(why, "unknown spec field \"env_add\"");
	spec_destroy(&s);
}

static void
test_refusals(void **state)
{
	const char *args[] = {"sleep"};
	const char *bad_env[] = {"SHOAL_SLOT=1"};
	struct spec s;
	struct mb m;
	char why[200];

	(void)state;
	/* Wrong types, unknown and duplicate keys, trailing bytes. */
	mb_init(&m, 1);
	codec_write_cstr(&m.w, "replicas");
	codec_write_cstr(&m.w, "three");
	spec_init(&s);
	assert_int_equal(read_map(&m, &s, false, why), ERR_DECODE);
	assert_string_equal(why,
			    "spec \"replicas\" must be an unsigned integer");
	mb_init(&m, 1);
	codec_write_cstr(&m.w, "colour");
	codec_write_cstr(&m.w, "red");
	assert_int_equal(read_map(&m, &s, false, why), ERR_INVAL);
	assert_string_equal(why, "unknown spec field \"colour\"");
	mb_init(&m, 2);
	codec_write_cstr(&m.w, "replicas");
	codec_write_uint(&m.w, 1);
	codec_write_cstr(&m.w, "replicas");
	codec_write_uint(&m.w, 2);
	assert_int_equal(read_map(&m, &s, false, why), ERR_INVAL);
	assert_string_equal(why, "duplicate spec field \"replicas\"");
	mb_init(&m, 1);
	codec_write_cstr(&m.w, "restart");
	codec_write_map(&m.w, 1);
	codec_write_cstr(&m.w, "condition");
	codec_write_cstr(&m.w, "sometimes");
	assert_int_equal(read_map(&m, &s, false, why), ERR_INVAL);
	assert_non_null(strstr(why, "not none, on-failure or any"));
	mb_init(&m, 0);
	codec_write_uint(&m.w, 1); /* trailing */
	assert_int_equal(read_map(&m, &s, true, why), ERR_DECODE);
	/* Rules come from sched/spec, with its reasons. */
	mb_init(&m, 3);
	codec_write_cstr(&m.w, "name");
	codec_write_cstr(&m.w, "-web");
	mb_strs(&m, "args", args, 1);
	mb_strs(&m, "env", bad_env, 1);
	assert_int_equal(read_map(&m, &s, false, why), ERR_INVAL);
	assert_string_equal(why, "service name \"-web\" must match "
				 "[a-zA-Z0-9][a-zA-Z0-9_.-]*");
	mb_init(&m, 1);
	mb_strs(&m, "env", bad_env, 1);
	assert_int_equal(read_map(&m, &s, true, why), ERR_INVAL);
	assert_non_null(strstr(why, "SHOAL_* is reserved"));
	spec_destroy(&s);
	/* Not a map at all. */
	spec_init(&s);
	assert_int_equal(svc_read_spec(&s, (const uint8_t *)"\x91\x01", 2,
				       false, why, sizeof(why)),
			 ERR_DECODE);
	spec_destroy(&s);
}

static void
test_random_input_is_refused_or_valid(void **state)
{
	/* Random bytes and random mutations of a good map never crash. */
	struct spec a;
	struct buf good;
	char why[200];
	uint32_t seed = 12345;

	(void)state;
	full_spec(&a);
	encode(&a, &good);
	for (int i = 0; i < 20000; i++) {
		uint8_t p[512];
		size_t n = good.len < sizeof(p) ? good.len : sizeof(p);
		struct spec s;

		memcpy(p, good.data, n);
		for (int k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			p[(seed >> 8) % n] = (uint8_t)(seed >> 16);
		}
		spec_init(&s);
		svc_read_spec(&s, p, (seed >> 4) % (n + 1), i & 1, why,
			      sizeof(why));
		spec_destroy(&s);
	}
	buf_release(&good);
	spec_destroy(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_create_defaults),
		cmocka_unit_test(test_update_edits),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_random_input_is_refused_or_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
