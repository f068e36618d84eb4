/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/cli_opts_test.c — agent settings from flags, SHOAL_* and a
 * config file.
 *
 * Covers defaults, both flag spellings (--k v, --k=v), booleans, lists,
 * precedence (config < env < flags, a higher source replacing a whole
 * list), env lists split on commas and spaces, config syntax (comments,
 * quotes, '_' for '-', line numbers in errors), profile overrides through
 * --set, and the errors a user can hit, each naming the setting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/opts.h"
#include "core/err.h"

static char tmpdir[64];

static const char *const env_vars[] = {
	"SHOAL_NAME",	       "SHOAL_BIND",
	"SHOAL_ADVERTISE",     "SHOAL_JOIN",
	"SHOAL_KEY_FILE",      "SHOAL_KEY",
	"SHOAL_CLUSTER",       "SHOAL_DATA_DIR",
	"SHOAL_SOCKET",	       "SHOAL_PROFILE",
	"SHOAL_SET",	       "SHOAL_TAG",
	"SHOAL_EVENT_HANDLER", "SHOAL_LOG_LEVEL",
	"SHOAL_CONFIG",	       "SHOAL_INSECURE_NO_ENCRYPTION",
};

static int
setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
	return 0;
}

static int
load(struct agent_opts *o, char *err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc++] = (char *)"agent";
	va_start(ap, err);
	while ((a = va_arg(ap, char *)) != NULL && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return agent_opts_load(o, argc, argv, err, 512);
}

static const char *
write_config(const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/agent.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void
test_defaults(void **state)
{
	static struct agent_opts o;
	char err[512];

	(void)state;
	assert_int_equal(load(&o, err, NULL), 0);
	assert_string_equal(o.name, "");
	assert_string_equal(o.bind, "0.0.0.0:7946");
	assert_string_equal(o.cluster, "shoal");
	assert_string_equal(o.profile_name, "lan");
	assert_string_equal(o.prof.name, "lan");
	assert_int_equal(o.prof.probe_interval_ms, 1000);
	assert_int_equal(o.log_level, LOG_INFO);
	assert_int_equal(o.njoin, 0);
	assert_false(o.insecure);
	assert_false(o.help);
}

static void
test_flags(void **state)
{
	static struct agent_opts o;
	char err[512];

	(void)state;
	assert_int_equal(load(&o, err, "--name", "web-1", "--bind=[::1]:7000",
			      "--join", "10.0.0.1", "--join=seed.example:7946",
			      "--tag", "role=web", "--tag", "zone=a",
			      "--profile", "local", "--set",
			      "probe_interval=500ms", "--log-level=debug",
			      "--insecure-no-encryption", "--event-handler",
			      "member-join=echo hi", "--cluster", "prod", NULL),
			 0);
	assert_string_equal(o.name, "web-1");
	assert_string_equal(o.bind, "[::1]:7000");
	assert_int_equal(o.njoin, 2);
	assert_string_equal(o.join[1], "seed.example:7946");
	assert_int_equal(o.ntag, 2);
	assert_string_equal(o.tag[0], "role=web");
	assert_int_equal(o.prof.probe_interval_ms, 500);
	assert_int_equal(o.prof.probe_timeout_ms, 200); /* local's */
	assert_string_equal(o.prof.name, "local+set");
	assert_int_equal(o.log_level, LOG_DEBUG);
	assert_true(o.insecure);
	assert_int_equal(o.nhandler, 1);
	assert_string_equal(o.handler[0], "member-join=echo hi");
	assert_string_equal(o.cluster, "prod");

	assert_int_equal(load(&o, err, "--insecure-no-encryption=false", NULL),
			 0);
	assert_false(o.insecure);
	assert_int_equal(load(&o, err, "--help", "--bogus", NULL), ERR_INVAL);
	assert_int_equal(load(&o, err, "--name", "x", "-h", NULL), 0);
	assert_true(o.help);
}

static void
expect_error(const char *needle, ...)
{
	static struct agent_opts o;
	char err[512];
	char *argv[16];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc++] = (char *)"agent";
	va_start(ap, needle);
	while ((a = va_arg(ap, char *)) != NULL && argc < 15)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	if (agent_opts_load(&o, argc, argv, err, sizeof(err)) == 0)
		fail_msg("accepted; expected \"%s\"", needle);
	if (!strstr(err, needle))
		fail_msg("err = \"%s\", expected \"%s\"", err, needle);
}

static void
test_flag_errors(void **state)
{
	(void)state;
	expect_error("unknown flag --nmae", "--nmae", "x", NULL);
	expect_error("--name (flag): needs a value", "--name", NULL);
	expect_error("unexpected argument \"web\"", "web", NULL);
	expect_error("--name (flag): \"a b\" must be", "--name", "a b", NULL);
	expect_error("--bind (flag)", "--bind", "localhost:x", NULL);
	expect_error("--advertise (flag)", "--advertise", "0.0.0.0:7946", NULL);
	expect_error("--profile (flag)", "--profile", "fast", NULL);
	expect_error("no profile field \"probe_intervall\"", "--set",
		     "probe_intervall=1s", NULL);
	expect_error("bad value", "--set", "probe_interval=fast", NULL);
	expect_error("is not KEY=VALUE", "--set", "probe_interval", NULL);
	expect_error("--set (flag)", "--set", "probe_timeout=5s", NULL);
	expect_error("--tag (flag)", "--tag", "novalue", NULL);
	expect_error("key \"role\" given twice", "--tag", "role=a", "--tag",
		     "role=b", NULL);
	expect_error("--log-level (flag)", "--log-level", "loud", NULL);
	expect_error("is not true or false", "--insecure-no-encryption=maybe",
		     NULL);
	expect_error("conflicts with", "--insecure-no-encryption", "--key-file",
		     "/k", NULL);
	expect_error("--cluster (flag)", "--cluster", "a/b", NULL);
	expect_error("--join (flag): empty value", "--join=", NULL);
}

static void
test_list_bound(void **state)
{
	static struct agent_opts o;
	char err[512];
	char *argv[2 * AGENT_JOIN_MAX + 4];
	int argc = 0;

	(void)state;
	argv[argc++] = (char *)"agent";
	for (int i = 0; i <= AGENT_JOIN_MAX; i++) {
		argv[argc++] = (char *)"--join";
		argv[argc++] = (char *)"10.0.0.1";
	}
	assert_int_equal(agent_opts_load(&o, argc, argv, err, sizeof(err)),
			 ERR_FULL);
	assert_non_null(strstr(err, "too many values"));
}

static void
test_env(void **state)
{
	static struct agent_opts o;
	char err[512];

	(void)state;
	setenv("SHOAL_NAME", "from-env", 1);
	setenv("SHOAL_JOIN", "10.0.0.1, 10.0.0.2 10.0.0.3", 1);
	setenv("SHOAL_TAG", "role=db,zone=b", 1);
	setenv("SHOAL_LOG_LEVEL", "warn", 1);
	setenv("SHOAL_INSECURE_NO_ENCRYPTION", "yes", 1);
	setenv("SHOAL_EVENT_HANDLER", "echo a, b", 1);
	assert_int_equal(load(&o, err, NULL), 0);
	assert_string_equal(o.name, "from-env");
	assert_int_equal(o.njoin, 3);
	assert_string_equal(o.join[2], "10.0.0.3");
	assert_int_equal(o.ntag, 2);
	assert_int_equal(o.log_level, LOG_WARN);
	assert_true(o.insecure);
	/* One handler, commas and all. */
	assert_int_equal(o.nhandler, 1);
	assert_string_equal(o.handler[0], "echo a, b");

	/* Flags win, and a flag list replaces the env list. */
	assert_int_equal(load(&o, err, "--name", "from-flag", "--join",
			      "10.9.9.9", NULL),
			 0);
	assert_string_equal(o.name, "from-flag");
	assert_int_equal(o.njoin, 1);
	assert_string_equal(o.join[0], "10.9.9.9");
	assert_int_equal(o.ntag, 2); /* untouched by flags */

	setenv("SHOAL_KEY", "abc", 1);
	unsetenv("SHOAL_INSECURE_NO_ENCRYPTION");
	assert_int_equal(load(&o, err, NULL), 0);
	assert_string_equal(o.key, "abc");
	expect_error("either --key-file or SHOAL_KEY", "--key-file", "/k",
		     NULL);
	setup(NULL);
}

static void
test_config(void **state)
{
	static struct agent_opts o;
	char err[512];
	const char *path;

	(void)state;
	path = write_config("# a comment\n"
			    "\n"
			    "name = from-config\n"
			    "  bind=127.0.0.1:9000  \n"
			    "join = 10.0.0.1\n"
			    "join = 10.0.0.2\n"
			    "data_dir = \"/var/tmp/shoal x\"\n"
			    "set = probe_interval=2s\n"
			    "log-level = error\n"
			    "insecure-no-encryption = true\n");
	assert_int_equal(load(&o, err, "--config", path, NULL), 0);
	assert_string_equal(o.name, "from-config");
	assert_string_equal(o.bind, "127.0.0.1:9000");
	assert_int_equal(o.njoin, 2);
	assert_string_equal(o.data_dir, "/var/tmp/shoal x");
	assert_int_equal(o.prof.probe_interval_ms, 2000);
	assert_int_equal(o.log_level, LOG_ERROR);
	assert_true(o.insecure);

	/* SHOAL_CONFIG, overridden by env and flags. */
	setenv("SHOAL_CONFIG", path, 1);
	setenv("SHOAL_JOIN", "10.1.1.1", 1);
	assert_int_equal(load(&o, err, "--name=flag", NULL), 0);
	assert_string_equal(o.name, "flag");
	assert_int_equal(o.njoin, 1);
	assert_string_equal(o.join[0], "10.1.1.1");
	assert_string_equal(o.bind, "127.0.0.1:9000");
	setup(NULL);

	/* The log level alone, for SIGHUP. */
	{
		enum log_level lvl = LOG_TRACE;
		char *argv[] = {(char *)"agent", (char *)"--config",
				(char *)path, NULL};

		assert_int_equal(agent_opts_reload_log_level(&o, 3, argv, &lvl,
							     err, sizeof(err)),
				 0);
		assert_int_equal(lvl, LOG_ERROR);
	}
}

static void
test_config_errors(void **state)
{
	static struct agent_opts o;
	char err[512];
	const char *path;

	(void)state;
	path = write_config("name = a\nbogus = 1\n");
	assert_int_not_equal(load(&o, err, "--config", path, NULL), 0);
	assert_non_null(strstr(err, ":2: unknown key \"bogus\""));
	path = write_config("name = a\njust words\n");
	assert_int_not_equal(load(&o, err, "--config", path, NULL), 0);
	assert_non_null(strstr(err, ":2: expected `key = value`"));
	path = write_config("\n\nlog-level = loud\n");
	assert_int_not_equal(load(&o, err, "--config", path, NULL), 0);
	assert_non_null(strstr(err, ":3:"));
	path = write_config("config = /other\n");
	assert_int_not_equal(load(&o, err, "--config", path, NULL), 0);
	assert_int_not_equal(
		load(&o, err, "--config", "/nonexistent/x.conf", NULL), 0);
	assert_non_null(strstr(err, "cannot open"));
}

static void
test_kv_split(void **state)
{
	char k[8], v[8];

	(void)state;
	assert_int_equal(agent_kv_split("a=b=c", k, sizeof(k), v, sizeof(v)),
			 0);
	assert_string_equal(k, "a");
	assert_string_equal(v, "b=c");
	assert_int_equal(agent_kv_split("a=", k, sizeof(k), v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(agent_kv_split("=b", k, sizeof(k), v, sizeof(v)),
			 ERR_INVAL);
	assert_int_equal(agent_kv_split("ab", k, sizeof(k), v, sizeof(v)),
			 ERR_INVAL);
	assert_int_equal(
		agent_kv_split("abcdefghij=1", k, sizeof(k), v, sizeof(v)),
		ERR_INVAL);
}

static int
group_setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/shoal-opts-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/agent.conf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_flags, setup),
		cmocka_unit_test_setup(test_flag_errors, setup),
		cmocka_unit_test_setup(test_list_bound, setup),
		cmocka_unit_test_setup(test_env, setup),
		cmocka_unit_test_setup(test_config, setup),
		cmocka_unit_test_setup(test_config_errors, setup),
		cmocka_unit_test(test_kv_split),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
