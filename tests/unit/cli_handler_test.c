/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/cli_handler_test.c — event handlers on a real libev loop.
 *
 * Covers spec parsing (filters, '*', the default serf set, commands that
 * merely contain '='), running a handler with the event in its environment
 * and the details on stdin, output captured line by line into the log,
 * serial execution in submission order, the queue bound, the timeout
 * (killing the handler's whole process group), SHOAL_KEY never reaching a
 * handler, and a non-zero exit being logged as a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ev.h>

#include "cli/handler.h"
#include "core/err.h"

/* ---- a log that keeps every record ---- */

struct capture {
	char text[65536];
	size_t len;
};

static void
capture_sink(void *ctx, enum log_level level, const char *line, size_t len)
{
	struct capture *c = ctx;

	(void)level;
	if (c->len + len + 2 < sizeof(c->text)) {
		memcpy(c->text + c->len, line, len);
		c->len += len;
		c->text[c->len++] = '\n';
		c->text[c->len] = '\0';
	}
}

static void
test_spec_parse(void **state)
{
	struct handler_spec s;
	char why[256];

	(void)state;
	assert_int_equal(
		handler_spec_parse(&s, "/bin/handle", why, sizeof(why)), 0);
	assert_string_equal(s.cmd, "/bin/handle");
	assert_int_equal(s.nfilter, 0);
	assert_true(handler_spec_matches(&s, "member-join"));
	assert_true(handler_spec_matches(&s, "member-reap"));
	assert_false(handler_spec_matches(&s, "member-suspect"));

	assert_int_equal(handler_spec_parse(&s,
					    "member-join,member-failed=run x",
					    why, sizeof(why)),
			 0);
	assert_string_equal(s.cmd, "run x");
	assert_true(handler_spec_matches(&s, "member-failed"));
	assert_false(handler_spec_matches(&s, "member-leave"));

	assert_int_equal(handler_spec_parse(&s, "*=echo", why, sizeof(why)), 0);
	assert_true(handler_spec_matches(&s, "member-suspect"));

	/* An environment assignment is a command, not a filter. */
	assert_int_equal(
		handler_spec_parse(&s, "FOO=bar cmd", why, sizeof(why)), 0);
	assert_string_equal(s.cmd, "FOO=bar cmd");
	assert_int_equal(s.nfilter, 0);

	assert_int_equal(
		handler_spec_parse(&s, "member-jion=x", why, sizeof(why)),
		ERR_INVAL);
	assert_non_null(strstr(why, "unknown event \"member-jion\""));
	assert_int_equal(
		handler_spec_parse(&s, "member-join=", why, sizeof(why)),
		ERR_INVAL);
	assert_int_equal(
		handler_spec_parse(&s, "member-join,,x=y", why, sizeof(why)),
		ERR_INVAL);
	assert_true(handler_event_known("member-conflict"));
	assert_true(handler_event_known("task-start"));
	assert_true(handler_event_known("task-failed"));
	assert_true(handler_event_known("manager"));
	assert_false(handler_event_known("task-sart"));
	assert_int_equal(handler_spec_parse(&s, "task-exit,task-failed=page",
					    why, sizeof(why)),
			 0);
	assert_true(handler_spec_matches(&s, "task-failed"));
	assert_false(handler_spec_matches(&s, "task-start"));
	/* The default (serf's) set has no task or manager events. */
	assert_int_equal(handler_spec_parse(&s, "cmd", why, sizeof(why)), 0);
	assert_false(handler_spec_matches(&s, "task-failed"));
	assert_false(handler_spec_matches(&s, "manager"));
}

struct fixture {
	struct ev_loop *loop;
	struct capture cap;
	struct log lg;
	struct handler_runner r;
};

static void
on_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fixture *f = w->data;

	(void)revents;
	if (handler_runner_pending(&f->r) == 0 || w->repeat == 0)
		ev_break(loop, EVBREAK_ALL);
}

/* Run the loop until nothing is pending (bounded by 10 s). */
static void
run_until_idle(struct fixture *f)
{
	ev_timer poll_w, bound_w;

	ev_timer_init(&poll_w, on_stop, 0.02, 0.02);
	poll_w.data = f;
	ev_timer_init(&bound_w, on_stop, 10., 0.);
	bound_w.data = f;
	ev_timer_start(f->loop, &poll_w);
	ev_timer_start(f->loop, &bound_w);
	ev_run(f->loop, 0);
	ev_timer_stop(f->loop, &poll_w);
	ev_timer_stop(f->loop, &bound_w);
}

static void
fixture_init(struct fixture *f, const char (*specs)[HANDLER_CMD_MAX],
	     unsigned n, const struct handler_config *cfg)
{
	char why[256];

	memset(f, 0, sizeof(*f));
	f->loop = ev_default_loop(0);
	f->lg.sink = capture_sink;
	f->lg.ctx = &f->cap;
	f->lg.level = LOG_DEBUG;
	assert_int_equal(handler_runner_init(&f->r, f->loop, &f->lg, cfg, specs,
					     n, why, sizeof(why)),
			 0);
}

static void
test_run_env_stdin_output(void **state)
{
	static struct fixture f;
	static const char specs[1][HANDLER_CMD_MAX] = {
		"member-join=echo \"ev=$SHOAL_EVENT who=$SHOAL_MEMBER_NAME "
		"key=${SHOAL_KEY:-none}\"; read line; echo \"in=$line\"; "
		"echo err >&2",
	};
	const char *env[] = {"SHOAL_EVENT=member-join",
			     "SHOAL_MEMBER_NAME=web-3"};

	(void)state;
	setenv("SHOAL_KEY", "secret", 1);
	fixture_init(&f, specs, 1, NULL);
	assert_int_equal(handler_submit(&f.r, "member-join", env, 2,
					"web-3\t10.0.0.3:7946\n", 21),
			 1);
	/* Not matching: nothing queued. */
	assert_int_equal(handler_submit(&f.r, "member-leave", env, 2, NULL, 0),
			 0);
	run_until_idle(&f);
	unsetenv("SHOAL_KEY");
	assert_int_equal(handler_runner_pending(&f.r), 0);
	assert_non_null(strstr(f.cap.text,
			       "line=\"ev=member-join who=web-3 key=none\""));
	assert_non_null(
		strstr(f.cap.text, "line=\"in=web-3\\t10.0.0.3:7946\""));
	assert_non_null(strstr(f.cap.text, "line=err"));
	assert_non_null(strstr(f.cap.text, "msg=\"handler done\""));
	assert_non_null(strstr(f.cap.text, "exit=0"));
	assert_null(strstr(f.cap.text, "secret"));
	assert_int_equal(f.r.started, 1);
	assert_int_equal(f.r.failed, 0);
	handler_runner_destroy(&f.r);
}

static void
test_serial_order_and_failure(void **state)
{
	static struct fixture f;
	static const char specs[1][HANDLER_CMD_MAX] = {
		"*=echo \"n=$N\"; sleep 0.02; exit $X",
	};

	(void)state;
	fixture_init(&f, specs, 1, NULL);
	for (int i = 0; i < 5; i++) {
		char n[16], x[16];
		const char *env[2] = {n, x};

		snprintf(n, sizeof(n), "N=%d", i);
		snprintf(x, sizeof(x), "X=%d", i == 3 ? 7 : 0);
		assert_int_equal(
			handler_submit(&f.r, "member-suspect", env, 2, NULL, 0),
			1);
		/* Serial: one running, the rest waiting. */
		assert_int_equal(handler_runner_pending(&f.r), (unsigned)i + 1);
	}
	run_until_idle(&f);
	{
		const char *p = f.cap.text;

		for (int i = 0; i < 5; i++) {
			char want[32];

			snprintf(want, sizeof(want), "line=\"n=%d\"", i);
			p = strstr(p, want);
			if (!p)
				fail_msg("output %d missing or out of "
					 "order:\n%s",
					 i, f.cap.text);
		}
	}
	assert_non_null(strstr(f.cap.text, "exit=7"));
	assert_int_equal(f.r.failed, 1);
	handler_runner_destroy(&f.r);
}

static void
test_queue_bound(void **state)
{
	static struct fixture f;
	static const char specs[1][HANDLER_CMD_MAX] = {"*=sleep 0.05"};
	const struct handler_config cfg = {.queue_max = 3};
	int full = 0;

	(void)state;
	fixture_init(&f, specs, 1, &cfg);
	for (int i = 0; i < 10; i++)
		if (handler_submit(&f.r, "member-join", NULL, 0, NULL, 0) ==
		    ERR_FULL)
			full++;
	/* One runs at once, three wait, six are dropped. */
	assert_int_equal(full, 6);
	assert_int_equal(f.r.dropped, 6);
	assert_int_equal(handler_runner_pending(&f.r), 4);
	handler_runner_destroy(&f.r);
	assert_int_equal(handler_runner_pending(&f.r), 0);
}

static void
test_timeout_kills_group(void **state)
{
	static struct fixture f;
	static const char specs[1][HANDLER_CMD_MAX] = {
		"*=sleep 30 & echo started; wait",
	};
	const struct handler_config cfg = {.timeout_ms = 200};

	(void)state;
	fixture_init(&f, specs, 1, &cfg);
	assert_int_equal(handler_submit(&f.r, "member-join", NULL, 0, NULL, 0),
			 1);
	run_until_idle(&f);
	assert_int_equal(handler_runner_pending(&f.r), 0);
	assert_int_equal(f.r.timeouts, 1);
	assert_non_null(strstr(f.cap.text, "msg=\"handler timed out\""));
	assert_non_null(strstr(f.cap.text, "signal=9"));
	assert_non_null(strstr(f.cap.text, "timeout=true"));
	handler_runner_destroy(&f.r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_run_env_stdin_output),
		cmocka_unit_test(test_serial_order_and_failure),
		cmocka_unit_test(test_queue_bound),
		cmocka_unit_test(test_timeout_kills_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
