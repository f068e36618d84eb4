/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sched_spec_test.c — sched/spec: the service spec.
 *
 * Every refusal is checked for its code and for the words of its reason
 * (the user reads them); every bound is tried at the limit and one past
 * it. The encoding round-trips exactly, and the decoder refuses what it
 * must (wrong types, duplicate keys, trailing bytes, every truncation of
 * a valid encoding) without leaking or crashing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/err.h"
#include "sched/spec.h"

static void
make_spec(struct spec *s)
{
	const char *argv[] = {"/usr/bin/python3", "-m", "http.server", "8080"};
	char why[SPEC_WHY_MAX];

	spec_init(s);
	assert_int_equal(spec_set_name(s, "web-1.api_x", why, sizeof(why)), 0);
	assert_int_equal(spec_set_args(s, argv, 4, why, sizeof(why)), 0);
	assert_int_equal(spec_add_env(s, "PORT=8080", why, sizeof(why)), 0);
	assert_int_equal(
		spec_add_env(s, "GREETING=hello world=1", why, sizeof(why)), 0);
	assert_int_equal(
		spec_add_constraint(s, "node.zone==east", why, sizeof(why)), 0);
	assert_int_equal(
		spec_add_constraint(s, " node.name != db-1 ", why, sizeof(why)),
		0);
	s->replicas = 5;
	s->max_per_node = 2;
	s->restart.cond = SPEC_RESTART_ON_FAILURE;
	s->restart.delay_ms = 1500;
	s->restart.max_attempts = 3;
	s->restart.window_ms = 60000;
	s->update.parallelism = 2;
	s->update.delay_ms = 10000;
}

static void
test_defaults(void **state)
{
	struct spec s;
	char why[SPEC_WHY_MAX];

	(void)state;
	spec_init(&s);
	assert_int_equal(s.mode, SPEC_REPLICATED);
	assert_int_equal(s.replicas, 1);
	assert_int_equal(s.restart.cond, SPEC_RESTART_ANY);
	assert_int_equal(s.restart.delay_ms, 5000);
	assert_int_equal(s.update.parallelism, 1);
	/* No name, no command: refused, and says so. */
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "name is empty"));
	spec_destroy(&s);
}

static void
test_roundtrip(void **state)
{
	struct spec s, t, u;
	struct buf b;
	char why[SPEC_WHY_MAX];

	(void)state;
	make_spec(&s);
	assert_int_equal(spec_validate(&s, why, sizeof(why)), 0);
	buf_init(&b, SPEC_ENCODED_MAX);
	assert_int_equal(spec_encode(&s, &b), 0);
	assert_int_equal(b.len, spec_encoded_size(&s));
	spec_init(&t);
	assert_int_equal(spec_decode(&t, b.data, b.len, why, sizeof(why)), 0);
	assert_true(spec_equal(&s, &t));
	assert_int_equal(spec_digest(&s), spec_digest(&t));
	assert_string_equal(t.cons[1].key, "name");
	assert_true(t.cons[1].is_name && t.cons[1].negate);
	assert_string_equal(t.env[1], "GREETING=hello world=1");
	/* A copy is deep and equal; a change changes the digest. */
	spec_init(&u);
	assert_int_equal(spec_copy(&u, &t), 0);
	assert_true(spec_equal(&u, &s));
	u.replicas = 6;
	assert_false(spec_equal(&u, &s));
	assert_int_not_equal(spec_digest(&u), spec_digest(&s));
	spec_destroy(&s);
	spec_destroy(&t);
	spec_destroy(&u);
	buf_release(&b);
}

struct refusal {
	const char *what;
	int code;
	const char *reason; /* a fragment of the reason */
};

static int
try_name(const char *name, char *why, size_t cap)
{
	struct spec s;
	int rc;

	spec_init(&s);
	rc = spec_set_name(&s, name, why, cap);
	spec_destroy(&s);
	return rc;
}

static void
test_name_rules(void **state)
{
	char why[SPEC_WHY_MAX];
	char long_name[SPEC_NAME_MAX + 2];

	(void)state;
	assert_int_equal(try_name("a", why, sizeof(why)), 0);
	assert_int_equal(try_name("A9_.-x", why, sizeof(why)), 0);
	assert_int_equal(try_name("-web", why, sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "[a-zA-Z0-9][a-zA-Z0-9_.-]*"));
	assert_int_equal(try_name(".web", why, sizeof(why)), ERR_INVAL);
	assert_int_equal(try_name("we b", why, sizeof(why)), ERR_INVAL);
	assert_int_equal(try_name("web/1", why, sizeof(why)), ERR_INVAL);
	assert_int_equal(try_name("", why, sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "empty"));
	memset(long_name, 'a', SPEC_NAME_MAX);
	long_name[SPEC_NAME_MAX] = 0;
	assert_int_equal(try_name(long_name, why, sizeof(why)), 0);
	long_name[SPEC_NAME_MAX] = 'a';
	long_name[SPEC_NAME_MAX + 1] = 0;
	assert_int_equal(try_name(long_name, why, sizeof(why)), ERR_TOOBIG);
	assert_non_null(strstr(why, "the limit is 63"));
}

static void
test_refusals(void **state)
{
	char why[SPEC_WHY_MAX];
	struct spec s;
	const char *argv[SPEC_ARGS_MAX + 1];
	char big[SPEC_STR_MAX + 2];

	(void)state;
	for (int i = 0; i <= SPEC_ARGS_MAX; i++)
		argv[i] = "x";
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;

	make_spec(&s);
	/* args */
	assert_int_equal(spec_set_args(&s, argv, 0, why, sizeof(why)),
			 ERR_INVAL);
	assert_non_null(strstr(why, "command is empty"));
	assert_int_equal(
		spec_set_args(&s, argv, SPEC_ARGS_MAX + 1, why, sizeof(why)),
		ERR_TOOBIG);
	assert_non_null(strstr(why, "the limit is 64"));
	assert_int_equal(
		spec_set_args(&s, argv, SPEC_ARGS_MAX, why, sizeof(why)), 0);
	argv[0] = "";
	assert_int_equal(spec_set_args(&s, argv, 1, why, sizeof(why)),
			 ERR_INVAL);
	assert_non_null(strstr(why, "argument 0"));
	argv[0] = big;
	assert_int_equal(spec_set_args(&s, argv, 1, why, sizeof(why)),
			 ERR_TOOBIG);
	assert_non_null(strstr(why, "4096 bytes"));

	/* env */
	assert_int_equal(spec_add_env(&s, "1X=1", why, sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "[A-Za-z_][A-Za-z0-9_]*"));
	assert_int_equal(spec_add_env(&s, "NOEQUALS", why, sizeof(why)),
			 ERR_INVAL);
	assert_non_null(strstr(why, "KEY=value"));
	assert_int_equal(spec_add_env(&s, "PORT=1", why, sizeof(why)),
			 ERR_EXIST);
	assert_non_null(strstr(why, "set twice"));
	assert_int_equal(spec_add_env(&s, "SHOAL_SLOT=1", why, sizeof(why)),
			 ERR_INVAL);
	assert_non_null(strstr(why, "reserved"));
	assert_int_equal(spec_add_env(&s, big, why, sizeof(why)), ERR_TOOBIG);
	spec_destroy(&s);

	make_spec(&s);
	for (int i = (int)s.nenv; i < SPEC_ENV_MAX; i++) {
		char kv[32];

		snprintf(kv, sizeof(kv), "K%d=v", i);
		assert_int_equal(spec_add_env(&s, kv, why, sizeof(why)), 0);
	}
	assert_int_equal(spec_add_env(&s, "ONE_MORE=1", why, sizeof(why)),
			 ERR_FULL);
	assert_non_null(strstr(why, "more than 64"));
	spec_destroy(&s);

	/* constraints */
	make_spec(&s);
	assert_int_equal(
		spec_add_constraint(&s, "zone==east", why, sizeof(why)),
		ERR_INVAL);
	assert_non_null(strstr(why, "node.name or node.TAG"));
	assert_int_equal(
		spec_add_constraint(&s, "node.zone=east", why, sizeof(why)),
		ERR_INVAL);
	assert_non_null(strstr(why, "no == or !="));
	assert_int_equal(
		spec_add_constraint(&s, "node.zo ne==east", why, sizeof(why)),
		ERR_INVAL);
	assert_int_equal(
		spec_add_constraint(&s, "node.zone==a,b", why, sizeof(why)),
		ERR_INVAL);
	assert_non_null(strstr(why, "printable"));
	for (int i = (int)s.ncons; i < SPEC_CONSTRAINTS_MAX; i++)
		assert_int_equal(
			spec_add_constraint(&s, "node.a!=b", why, sizeof(why)),
			0);
	assert_int_equal(spec_add_constraint(&s, "node.a!=b", why, sizeof(why)),
			 ERR_FULL);
	spec_destroy(&s);

	/* numbers: at the limit accepted, one past refused */
	make_spec(&s);
	s.replicas = SPEC_REPLICAS_MAX;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), 0);
	s.replicas = SPEC_REPLICAS_MAX + 1;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_RANGE);
	assert_string_equal(why, "replicas 10001 is above the limit of 10000");
	s.replicas = 3;
	s.max_per_node = SPEC_REPLICAS_MAX + 1;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_RANGE);
	assert_non_null(strstr(why, "max replicas per node"));
	s.max_per_node = 0;
	s.restart.delay_ms = SPEC_DELAY_MAX_MS + 1;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_RANGE);
	assert_non_null(strstr(why, "restart delay"));
	s.restart.delay_ms = SPEC_DELAY_MAX_MS;
	s.restart.window_ms = SPEC_WINDOW_MAX_MS + 1;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_RANGE);
	assert_non_null(strstr(why, "restart window"));
	s.restart.window_ms = 0;
	s.restart.max_attempts = SPEC_ATTEMPTS_MAX + 1;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_RANGE);
	s.restart.max_attempts = 0;
	s.update.parallelism = SPEC_REPLICAS_MAX + 1;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_RANGE);
	assert_non_null(strstr(why, "update parallelism"));
	s.update.parallelism = 0;
	s.update.delay_ms = SPEC_DELAY_MAX_MS + 1;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_RANGE);
	assert_non_null(strstr(why, "update delay"));
	s.update.delay_ms = 0;
	/* global mode takes no replica count */
	s.mode = SPEC_GLOBAL;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_INVAL);
	assert_non_null(strstr(why, "global mode"));
	s.replicas = 0;
	assert_int_equal(spec_validate(&s, why, sizeof(why)), 0);
	spec_destroy(&s);

	/* the whole spec's size */
	make_spec(&s);
	for (int i = 0; i < 8; i++) {
		char kv[SPEC_STR_MAX + 1];

		snprintf(kv, sizeof(kv), "BIG%d=", i);
		memset(kv + strlen(kv), 'v', SPEC_STR_MAX - strlen(kv));
		kv[SPEC_STR_MAX] = 0;
		assert_int_equal(spec_add_env(&s, kv, why, sizeof(why)), 0);
	}
	assert_int_equal(spec_validate(&s, why, sizeof(why)), ERR_TOOBIG);
	assert_non_null(strstr(why, "the limit is 16384"));
	spec_destroy(&s);
}

static void
test_constraint_match(void **state)
{
	struct spec_constraint c;
	struct spec_tag tags[] = {{"zone", "east"}, {"role", "manager"}};
	char why[SPEC_WHY_MAX], text[SPEC_CONSTRAINT_TEXT_MAX + 1];

	(void)state;
	assert_int_equal(spec_constraint_parse(&c, "node.zone==east", 15, why,
					       sizeof(why)),
			 0);
	assert_true(spec_constraint_match(&c, "n1", tags, 2));
	assert_false(spec_constraint_match(&c, "n1", tags, 0));
	assert_int_equal(spec_constraint_parse(&c, "node.zone!=east", 15, why,
					       sizeof(why)),
			 0);
	assert_false(spec_constraint_match(&c, "n1", tags, 2));
	/* A missing tag satisfies != */
	assert_true(spec_constraint_match(&c, "n1", tags, 0));
	assert_int_equal(spec_constraint_parse(&c, "node.name==n1", 13, why,
					       sizeof(why)),
			 0);
	assert_true(spec_constraint_match(&c, "n1", NULL, 0));
	assert_false(spec_constraint_match(&c, "n2", NULL, 0));
	spec_constraint_format(&c, text, sizeof(text));
	assert_string_equal(text, "node.name==n1");
	/* An empty value is a value. */
	assert_int_equal(
		spec_constraint_parse(&c, "node.zone==", 11, why, sizeof(why)),
		0);
	assert_false(spec_constraint_match(&c, "n1", tags, 2));
}

static void
test_decode_strict(void **state)
{
	struct spec s, t;
	struct buf b, c;
	struct codec_writer w;
	char why[SPEC_WHY_MAX];

	(void)state;
	make_spec(&s);
	buf_init(&b, SPEC_ENCODED_MAX + 16);
	assert_int_equal(spec_encode(&s, &b), 0);
	spec_init(&t);

	/* Every proper prefix is refused. */
	for (size_t n = 0; n < b.len; n++)
		assert_int_not_equal(
			spec_decode(&t, b.data, n, why, sizeof(why)), 0);
	/* Trailing bytes are refused. */
	assert_int_equal(buf_append_byte(&b, 0xc0), 0);
	assert_int_not_equal(spec_decode(&t, b.data, b.len, why, sizeof(why)),
			     0);
	assert_non_null(strstr(why, "trailing"));
	assert_int_equal(t.nargs, 0); /* untouched */

	/* Unknown keys are skipped; duplicates, wrong types and a missing
	 * name are refused. */
	buf_init(&c, 4096);
	codec_writer_init(&w, &c);
	codec_write_map(&w, 3);
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "svc");
	codec_write_uint(&w, 2);
	codec_write_array(&w, 1);
	codec_write_cstr(&w, "/bin/true");
	codec_write_uint(&w, 99);
	codec_write_array(&w, 2);
	codec_write_nil(&w);
	codec_write_cstr(&w, "future");
	assert_int_equal(spec_decode(&t, c.data, c.len, why, sizeof(why)), 0);
	assert_string_equal(t.name, "svc");
	assert_int_equal(t.replicas, 1);

	buf_reset(&c);
	codec_writer_init(&w, &c);
	codec_write_map(&w, 3);
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "svc");
	codec_write_uint(&w, 2);
	codec_write_array(&w, 1);
	codec_write_cstr(&w, "/bin/true");
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "other");
	assert_int_equal(spec_decode(&t, c.data, c.len, why, sizeof(why)),
			 ERR_DECODE);
	assert_non_null(strstr(why, "twice"));

	buf_reset(&c);
	codec_writer_init(&w, &c);
	codec_write_map(&w, 2);
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "svc");
	codec_write_uint(&w, 5);
	codec_write_cstr(&w, "three");
	assert_int_not_equal(spec_decode(&t, c.data, c.len, why, sizeof(why)),
			     0);

	buf_reset(&c);
	codec_writer_init(&w, &c);
	codec_write_map(&w, 1);
	codec_write_uint(&w, 2);
	codec_write_array(&w, 1);
	codec_write_cstr(&w, "/bin/true");
	assert_int_equal(spec_decode(&t, c.data, c.len, why, sizeof(why)),
			 ERR_DECODE);
	assert_non_null(strstr(why, "no name"));

	/* A value a rule refuses is refused with the rule's reason. */
	buf_reset(&c);
	codec_writer_init(&w, &c);
	codec_write_map(&w, 3);
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "svc");
	codec_write_uint(&w, 2);
	codec_write_array(&w, 1);
	codec_write_cstr(&w, "/bin/true");
	codec_write_uint(&w, 5);
	codec_write_uint(&w, 20000);
	assert_int_equal(spec_decode(&t, c.data, c.len, why, sizeof(why)),
			 ERR_RANGE);
	assert_non_null(strstr(why, "replicas 20000"));

	/* A NUL inside an argument is refused. */
	buf_reset(&c);
	codec_writer_init(&w, &c);
	codec_write_map(&w, 2);
	codec_write_uint(&w, 1);
	codec_write_cstr(&w, "svc");
	codec_write_uint(&w, 2);
	codec_write_array(&w, 1);
	codec_write_str(&w, "a\0b", 3);
	assert_int_not_equal(spec_decode(&t, c.data, c.len, why, sizeof(why)),
			     0);

	/* Flipping any byte never crashes; what decodes re-validates. */
	for (size_t i = 0; i < b.len - 1; i++)
		for (int bit = 0; bit < 8; bit++) {
			b.data[i] ^= (uint8_t)(1u << bit);
			if (!spec_decode(&t, b.data, b.len - 1, why,
					 sizeof(why)))
				assert_int_equal(
					spec_validate(&t, why, sizeof(why)), 0);
			b.data[i] ^= (uint8_t)(1u << bit);
		}

	spec_destroy(&s);
	spec_destroy(&t);
	buf_release(&b);
	buf_release(&c);
}

static void
test_names_of_enums(void **state)
{
	enum spec_mode m;
	enum spec_restart_cond c;

	(void)state;
	assert_int_equal(spec_mode_parse("global", &m), 0);
	assert_int_equal(m, SPEC_GLOBAL);
	assert_string_equal(spec_mode_name(m), "global");
	assert_int_equal(spec_mode_parse("Global", &m), ERR_INVAL);
	assert_int_equal(spec_restart_cond_parse("on-failure", &c), 0);
	assert_string_equal(spec_restart_cond_name(c), "on-failure");
	assert_int_equal(spec_restart_cond_parse("always", &c), ERR_INVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_name_rules),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_constraint_match),
		cmocka_unit_test(test_decode_strict),
		cmocka_unit_test(test_names_of_enums),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
