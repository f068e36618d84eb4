/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/cli_task_test.c — the process driver on a real libev loop.
 *
 * Real processes (sh, sleep): the environment a task sees, its output in
 * the log file, the reports in order (starting, running, failed,
 * shutdown ...), the restart policy (conditions, delay, attempts in a
 * window), exec failures reported as rejected with the reason, stop with
 * SIGTERM and SIGKILL after the grace, a rolling restart, a START while
 * the old process is still stopping, the task bound, log rotation,
 * stopping every task on the loop (the agent's exit), shutdown, and
 * killing what a crashed agent left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "cli/task.h"
#include "core/err.h"

#define REPORTS_MAX 64

struct rec {
	enum task_state state;
	uint32_t restarts;
	int32_t exit_code;
	uint64_t gen;
	char msg[160];
};

struct fx {
	struct ev_loop *loop;
	struct log lg;
	struct task_driver d;
	char dir[128];
	struct rec rep[REPORTS_MAX];
	unsigned nrep;
	unsigned nexit;
	struct task_exit last_exit;
	char logtext[65536];
	size_t loglen;
};

static void
sink(void *ctx, enum log_level level, const char *line, size_t len)
{
	struct fx *f = ctx;

	(void)level;
	if (f->loglen + len + 2 < sizeof(f->logtext)) {
		memcpy(f->logtext + f->loglen, line, len);
		f->loglen += len;
		f->logtext[f->loglen++] = '\n';
		f->logtext[f->loglen] = '\0';
	}
}

static void
on_report(void *ctx, const struct state_task *t)
{
	struct fx *f = ctx;
	struct rec *r;

	if (f->nrep >= REPORTS_MAX)
		return;
	r = &f->rep[f->nrep++];
	r->state = t->state;
	r->restarts = t->restarts;
	r->exit_code = t->exit_code;
	r->gen = t->gen;
	snprintf(r->msg, sizeof(r->msg), "%s", t->msg ? t->msg : "");
}

static void
on_exited(void *ctx, const struct task_exit *e)
{
	struct fx *f = ctx;

	f->nexit++;
	f->last_exit = *e;
	f->last_exit.msg = NULL;
}

static uint64_t fake_now = 1000000;

static uint64_t
now_cb(void *ctx)
{
	(void)ctx;
	return fake_now++;
}

static void
fx_init(struct fx *f, uint32_t grace_ms, uint32_t max_tasks, uint64_t log_max)
{
	struct task_driver_config cfg;
	struct task_driver_ops ops = {on_report, on_exited, now_cb, f};
	char why[128];

	memset(f, 0, sizeof(*f));
	f->loop = ev_default_loop(0);
	f->lg.sink = sink;
	f->lg.ctx = f;
	f->lg.level = LOG_DEBUG;
	snprintf(f->dir, sizeof(f->dir), "/tmp/shoal-task-test.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	memset(&cfg, 0, sizeof(cfg));
	cfg.dir = f->dir;
	cfg.node = "n1";
	cfg.cluster = "test";
	cfg.stop_grace_ms = grace_ms;
	cfg.max_tasks = max_tasks;
	cfg.log_max = log_max;
	assert_int_equal(task_driver_init(&f->d, f->loop, &f->lg, &cfg, &ops,
					  why, sizeof(why)),
			 0);
}

static void
fx_destroy(struct fx *f)
{
	char cmd[256];

	task_driver_shutdown(&f->d, 1000);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
}

struct waiter {
	struct fx *f;
	bool (*done)(struct fx *f, const void *arg);
	const void *arg;
	bool ok;
};

static void
on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct waiter *wt = w->data;

	(void)revents;
	if (w->repeat == 0) { /* the bound */
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (wt->done(wt->f, wt->arg)) {
		wt->ok = true;
		ev_break(loop, EVBREAK_ALL);
	}
}

/* Run the loop until done() (true) or 10 s pass (false). */
static bool
run_until(struct fx *f, bool (*done)(struct fx *f, const void *arg),
	  const void *arg)
{
	struct waiter wt = {f, done, arg, false};
	ev_timer poll_w, bound_w;

	if (done(f, arg))
		return true;
	ev_timer_init(&poll_w, on_poll, 0.01, 0.01);
	poll_w.data = &wt;
	ev_timer_init(&bound_w, on_poll, 10., 0.);
	bound_w.data = &wt;
	ev_timer_start(f->loop, &poll_w);
	ev_timer_start(f->loop, &bound_w);
	ev_run(f->loop, 0);
	ev_timer_stop(f->loop, &poll_w);
	ev_timer_stop(f->loop, &bound_w);
	return wt.ok;
}

static void
on_tick_stop(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Let the loop run for ms (the driver's watchers do their work). */
static void
run_for(struct fx *f, unsigned ms)
{
	ev_timer t;

	ev_timer_init(&t, on_tick_stop, ms / 1000.0, 0.);
	ev_timer_start(f->loop, &t);
	ev_run(f->loop, 0);
	ev_timer_stop(f->loop, &t);
}

/* The last report has this state. */
static bool
last_is(struct fx *f, const void *arg)
{
	return f->nrep && (int)f->rep[f->nrep - 1].state == *(const int *)arg;
}

/* The last report is RUNNING with this gen. */
static bool
running_gen(struct fx *f, const void *arg)
{
	return f->nrep && f->rep[f->nrep - 1].state == TASK_RUNNING &&
	       f->rep[f->nrep - 1].gen == *(const uint64_t *)arg;
}

/* The last exit of a task said it stays down. */
static bool
final_exit(struct fx *f, const void *arg)
{
	(void)arg;
	return f->nexit && !f->last_exit.will_restart;
}

static bool
no_tasks(struct fx *f, const void *arg)
{
	(void)arg;
	return task_driver_count(&f->d) == 0;
}

static void
wait_state(struct fx *f, int st)
{
	assert_true(run_until(f, last_is, &st));
}

/* The logs were rotated at least twice. */
static bool
rotated_twice(struct fx *f, const void *arg)
{
	(void)arg;
	return f->d.st.log_rotations >= 2;
}

static void
make_spec(struct spec *s, const char *sh, enum spec_restart_cond cond,
	  uint32_t delay_ms, uint32_t max_attempts)
{
	const char *argv[3] = {"sh", "-c", sh};
	char why[SPEC_WHY_MAX];

	spec_init(s);
	assert_int_equal(spec_set_name(s, "web", why, sizeof(why)), 0);
	assert_int_equal(spec_set_args(s, argv, 3, why, sizeof(why)), 0);
	s->restart.cond = cond;
	s->restart.delay_ms = delay_ms;
	s->restart.max_attempts = max_attempts;
}

static char *
read_file(const char *path)
{
	static char buf[65536];
	FILE *fp = fopen(path, "r");
	size_t n;

	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

/* Run the loop until the log of SERVICE.0 holds `needle` (at most 10 s),
 * and assert it does. */
static void
wait_log(struct fx *f, const char *service, const char *needle)
{
	char path[256];
	const char *text = NULL;

	snprintf(path, sizeof(path), "%s/%s.0.log", f->dir, service);
	for (int i = 0; i < 500; i++) {
		text = read_file(path);
		if (text && strstr(text, needle))
			break;
		run_for(f, 20);
	}
	assert_non_null(text);
	assert_non_null(strstr(text, needle));
}

static void
test_run_env_log_stop(void **state)
{
	static struct fx f;
	struct spec s;
	char path[256];
	char *text;
	pid_t pid;

	(void)state;
	fx_init(&f, 2000, 0, 0);
	make_spec(&s,
		  "echo \"svc=$SHOAL_SERVICE slot=$SHOAL_SLOT "
		  "node=$SHOAL_NODE foo=$FOO d=$SHOAL_TASK_DIGEST "
		  "key=${SHOAL_KEY:-none} cwd=$(pwd)\"; echo oops >&2; "
		  "exec sleep 100",
		  SPEC_RESTART_ANY, 5000, 0);
	{
		char why[SPEC_WHY_MAX];

		assert_int_equal(spec_add_env(&s, "FOO=bar", why, sizeof(why)),
				 0);
	}
	setenv("SHOAL_KEY", "secret", 1);
	task_driver_start(&f.d, "web", 2, 0xabcdef, &s);
	unsetenv("SHOAL_KEY");
	spec_destroy(&s); /* the driver made its own copy */
	assert_true(f.nrep >= 1);
	assert_int_equal(f.rep[0].state, TASK_STARTING);
	assert_int_equal(f.rep[0].gen, 0xabcdef);
	wait_state(&f, TASK_RUNNING);
	pid = task_driver_pid(&f.d, "web", 2);
	assert_true(pid > 0);
	assert_int_equal(getpgid(pid), pid);
	assert_int_equal(task_driver_running(&f.d), 1);
	snprintf(path, sizeof(path), "%s/web.2.log", f.dir);
	{
		int i;

		for (i = 0; i < 200; i++) {
			text = read_file(path);
			if (text && strstr(text, "oops"))
				break;
			run_for(&f, 20);
		}
	}
	text = read_file(path);
	assert_non_null(text);
	assert_non_null(strstr(text, "svc=web slot=2 node=n1 foo=bar "
				     "d=0000000000abcdef key=none cwd=/"));
	assert_non_null(strstr(text, "oops"));
	snprintf(path, sizeof(path), "%s/web.2.pid", f.dir);
	assert_non_null(read_file(path));

	task_driver_stop(&f.d, "web", 2, false);
	wait_state(&f, TASK_SHUTDOWN);
	assert_int_equal(f.rep[f.nrep - 1].exit_code, -SIGTERM);
	assert_int_equal(f.nexit, 0); /* a stop is not an exit */
	assert_int_equal(task_driver_count(&f.d), 0);
	assert_int_equal(kill(pid, 0), -1);
	assert_null(read_file(path)); /* pid file gone */
	snprintf(path, sizeof(path), "%s/web.2.log", f.dir);
	assert_non_null(read_file(path)); /* logs stay after a move */
	assert_int_equal(f.d.st.stopped, 1);
	fx_destroy(&f);
}

static void
test_restart_policy(void **state)
{
	static struct fx f;
	struct spec s;

	(void)state;
	fx_init(&f, 1000, 0, 0);
	make_spec(&s, "exit 3", SPEC_RESTART_ON_FAILURE, 20, 2);
	task_driver_start(&f.d, "web", 0, 7, &s);
	/* starting, (running,) failed; twice more, the last one final */
	assert_true(run_until(&f, final_exit, NULL));
	{
		unsigned fails = 0;

		for (unsigned i = 0; i < f.nrep; i++)
			if (f.rep[i].state == TASK_FAILED)
				fails++;
		assert_int_equal(fails, 3);
	}
	assert_int_equal(f.rep[f.nrep - 1].state, TASK_FAILED);
	assert_int_equal(f.rep[f.nrep - 1].exit_code, 3);
	assert_int_equal(f.rep[f.nrep - 1].restarts, 2);
	assert_non_null(strstr(f.rep[f.nrep - 1].msg, "restart limit"));
	assert_int_equal(f.nexit, 3);
	assert_false(f.last_exit.will_restart);
	assert_int_equal(f.d.st.restarts, 2);
	/* It stays known (failed for good) until stopped. */
	assert_int_equal(task_driver_count(&f.d), 1);
	assert_int_equal(task_driver_running(&f.d), 0);
	task_driver_stop(&f.d, "web", 0, true);
	assert_int_equal(f.rep[f.nrep - 1].state, TASK_SHUTDOWN);
	assert_int_equal(task_driver_count(&f.d), 0);
	spec_destroy(&s);

	/* on-failure and none leave a clean exit alone; any restarts it. */
	f.nrep = 0;
	f.nexit = 0;
	make_spec(&s, "exit 0", SPEC_RESTART_ON_FAILURE, 20, 0);
	task_driver_start(&f.d, "ok", 0, 1, &s);
	wait_state(&f, TASK_COMPLETE);
	assert_int_equal(f.nexit, 1);
	assert_false(f.last_exit.will_restart);
	spec_destroy(&s);
	make_spec(&s, "exit 0", SPEC_RESTART_ANY, 20, 1);
	f.nexit = 0;
	task_driver_start(&f.d, "any", 0, 1, &s);
	assert_true(run_until(&f, final_exit, NULL));
	assert_int_equal(f.nexit, 2);
	assert_int_equal(f.rep[f.nrep - 1].state, TASK_COMPLETE);
	assert_int_equal(f.rep[f.nrep - 1].restarts, 1);
	spec_destroy(&s);
	make_spec(&s, "kill -9 $$", SPEC_RESTART_NONE, 20, 0);
	task_driver_start(&f.d, "sig", 0, 1, &s);
	wait_state(&f, TASK_FAILED);
	assert_int_equal(f.rep[f.nrep - 1].exit_code, -9);
	assert_false(f.last_exit.will_restart);
	spec_destroy(&s);
	fx_destroy(&f);
}

static void
test_rejected(void **state)
{
	static struct fx f;
	const char *argv1[] = {"/no/such/program"};
	const char *argv2[] = {"no-such-program-shoal-test"};
	const char *argv3[1];
	char why[SPEC_WHY_MAX], path[256];
	struct spec s;
	FILE *fp;

	(void)state;
	fx_init(&f, 1000, 0, 0);
	spec_init(&s);
	assert_int_equal(spec_set_name(&s, "x", why, sizeof(why)), 0);
	s.restart.cond = SPEC_RESTART_NONE;
	assert_int_equal(spec_set_args(&s, argv1, 1, why, sizeof(why)), 0);
	task_driver_start(&f.d, "x", 0, 1, &s);
	assert_int_equal(f.rep[f.nrep - 1].state, TASK_REJECTED);
	assert_non_null(strstr(f.rep[f.nrep - 1].msg,
			       "exec: \"/no/such/program\": No such file"));
	assert_int_equal(f.nexit, 1);
	assert_int_equal(f.last_exit.state, TASK_REJECTED);

	assert_int_equal(spec_set_args(&s, argv2, 1, why, sizeof(why)), 0);
	task_driver_start(&f.d, "x", 1, 1, &s);
	assert_int_equal(f.rep[f.nrep - 1].state, TASK_REJECTED);
	assert_non_null(strstr(f.rep[f.nrep - 1].msg,
			       "executable file not found in $PATH"));

	/* Found but not executable: the exec itself fails, in the child. */
	snprintf(path, sizeof(path), "%s/not-exec", f.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("#!/bin/sh\necho hi\n", fp);
	fclose(fp);
	chmod(path, 0600);
	argv3[0] = path;
	assert_int_equal(spec_set_args(&s, argv3, 1, why, sizeof(why)), 0);
	task_driver_start(&f.d, "x", 2, 1, &s);
	/* (execve needs an x bit even for root.) */
	wait_state(&f, TASK_REJECTED);
	assert_non_null(strstr(f.rep[f.nrep - 1].msg, "Permission denied"));
	assert_int_equal(f.rep[f.nrep - 1].exit_code, 127);
	assert_int_equal(f.d.st.rejected, 3);
	spec_destroy(&s);
	fx_destroy(&f);
}

/* Is any process of group pgid alive (not a zombie)? From /proc, so the
 * test needs no ps(1). */
static bool
group_alive(pid_t pgid)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	bool alive = false;

	assert_non_null(proc);
	while (!alive && (de = readdir(proc))) {
		char path[300], buf[512];
		const char *rp;
		char st;
		long pg;
		FILE *fp;
		size_t n;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fp = fopen(path, "r");
		if (!fp)
			continue;
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
		buf[n] = '\0';
		rp = strrchr(buf, ')');
		if (rp && sscanf(rp + 1, " %c %*d %ld", &st, &pg) == 2 &&
		    pg == (long)pgid && st != 'Z')
			alive = true;
	}
	closedir(proc);
	return alive;
}

static void
test_kill_after_grace(void **state)
{
	static struct fx f;
	struct spec s;
	pid_t pid;

	(void)state;
	fx_init(&f, 200, 0, 0);
	make_spec(&s, "trap '' TERM; echo ready; while :; do sleep 0.05; done",
		  SPEC_RESTART_ANY, 20, 0);
	task_driver_start(&f.d, "stub", 0, 1, &s);
	wait_state(&f, TASK_RUNNING);
	wait_log(&f, "stub", "ready");
	pid = task_driver_pid(&f.d, "stub", 0);
	task_driver_stop(&f.d, "stub", 0, false);
	wait_state(&f, TASK_SHUTDOWN);
	assert_int_equal(f.rep[f.nrep - 1].exit_code, -SIGKILL);
	assert_int_equal(f.d.st.killed, 1);
	/* The whole group is gone (orphans may linger as zombies until
	 * init reaps them: dead all the same). */
	assert_false(group_alive(pid));
	spec_destroy(&s);
	fx_destroy(&f);
}

static void
on_stopped_all(void *ctx)
{
	(*(unsigned *)ctx)++;
}

static bool
stopped_all_once(struct fx *f, const void *arg)
{
	(void)f;
	return *(const unsigned *)arg == 1;
}

/* The agent's graceful exit: every task stopped on the loop (a polite
 * one at SIGTERM, a stubborn one at SIGKILL after the grace, one that had
 * already exited at once), done() once at the end, no new task taken. */
static void
test_stop_all(void **state)
{
	static struct fx f;
	struct spec polite, stubborn, once;
	unsigned done = 0;
	pid_t p1, p2;

	(void)state;
	fx_init(&f, 300, 0, 0);
	/* Nothing running: done at once. */
	assert_int_equal(task_driver_stop_all(&f.d, on_stopped_all, &done), 0);
	assert_int_equal(done, 1);
	fx_destroy(&f);

	fx_init(&f, 300, 0, 0);
	done = 0;
	make_spec(&polite, "exec sleep 100", SPEC_RESTART_ANY, 20, 0);
	make_spec(&stubborn,
		  "trap '' TERM; echo ready; while :; do sleep 0.05; done",
		  SPEC_RESTART_ANY, 20, 0);
	make_spec(&once, "exit 0", SPEC_RESTART_NONE, 20, 0);
	task_driver_start(&f.d, "once", 0, 1, &once);
	assert_true(run_until(&f, final_exit, NULL));
	task_driver_start(&f.d, "polite", 0, 1, &polite);
	task_driver_start(&f.d, "stubborn", 0, 1, &stubborn);
	wait_log(&f, "stubborn", "ready");
	assert_true(run_until(&f, last_is, &(int){TASK_RUNNING}));
	p1 = task_driver_pid(&f.d, "polite", 0);
	p2 = task_driver_pid(&f.d, "stubborn", 0);
	assert_true(p1 > 0 && p2 > 0);
	assert_int_equal(task_driver_count(&f.d), 3);
	assert_int_equal(task_driver_stop_all(&f.d, on_stopped_all, &done), 2);
	assert_int_equal(task_driver_count(&f.d), 2); /* "once" is gone */
	assert_int_equal(done, 0);
	/* No new task while stopping. */
	task_driver_start(&f.d, "late", 0, 1, &polite);
	assert_int_equal(task_driver_count(&f.d), 2);
	assert_true(run_until(&f, stopped_all_once, &done));
	assert_int_equal(task_driver_count(&f.d), 0);
	assert_int_equal(f.d.st.killed, 1);
	assert_false(group_alive(p1));
	assert_false(group_alive(p2));
	assert_int_equal(f.rep[f.nrep - 1].state, TASK_SHUTDOWN);
	run_for(&f, 50);
	assert_int_equal(done, 1);
	spec_destroy(&polite);
	spec_destroy(&stubborn);
	spec_destroy(&once);
	fx_destroy(&f);
}

static void
test_rolling_restart_and_restart_while_stopping(void **state)
{
	static struct fx f;
	struct spec a, b;
	pid_t p1, p2;

	(void)state;
	fx_init(&f, 2000, 0, 0);
	make_spec(&a, "exec sleep 100", SPEC_RESTART_ANY, 20, 0);
	make_spec(&b, "sleep 0.3; exec sleep 100", SPEC_RESTART_ANY, 20, 0);
	task_driver_start(&f.d, "web", 0, 1, &a);
	wait_state(&f, TASK_RUNNING);
	p1 = task_driver_pid(&f.d, "web", 0);
	task_driver_restart(&f.d, "web", 0, 2, &b);
	assert_true(run_until(&f, running_gen, &(uint64_t){2}));
	p2 = task_driver_pid(&f.d, "web", 0);
	assert_true(p2 > 0 && p2 != p1);
	assert_int_equal(f.rep[f.nrep - 1].gen, 2);
	{
		bool saw_shutdown = false;

		for (unsigned i = 0; i < f.nrep; i++)
			saw_shutdown |= f.rep[i].state == TASK_SHUTDOWN &&
					f.rep[i].gen == 1;
		assert_true(saw_shutdown);
	}
	/* Stop, then start again before the old one is gone: one process
	 * at a time, the new one after the old one was reaped. */
	task_driver_stop(&f.d, "web", 0, false);
	task_driver_start(&f.d, "web", 0, 3, &a);
	assert_int_equal(task_driver_pid(&f.d, "web", 0), p2); /* old */
	assert_true(run_until(&f, running_gen, &(uint64_t){3}));
	assert_true(task_driver_pid(&f.d, "web", 0) != p2);
	assert_int_equal(kill(p2, 0), -1);
	assert_int_equal(f.rep[f.nrep - 1].gen, 3);
	assert_int_equal(task_driver_count(&f.d), 1);
	spec_destroy(&a);
	spec_destroy(&b);
	/* Shutdown stops what runs, blocking. */
	p1 = task_driver_pid(&f.d, "web", 0);
	fx_destroy(&f);
	assert_int_equal(kill(p1, 0), -1);
}

static void
test_bounds_and_rotation(void **state)
{
	static struct fx f;
	struct spec s;
	char path[256];
	struct stat sb;

	(void)state;
	fx_init(&f, 1000, 1, 4096);
	make_spec(&s,
		  "i=0; while [ $i -lt 300 ]; do "
		  "echo 0123456789012345678901234567890123456789; "
		  "i=$((i+1)); done; exec sleep 100",
		  SPEC_RESTART_NONE, 20, 0);
	task_driver_start(&f.d, "log", 0, 1, &s);
	task_driver_start(&f.d, "log", 1, 1, &s);
	assert_int_equal(f.rep[f.nrep - 1].state, TASK_REJECTED);
	assert_non_null(strstr(f.rep[f.nrep - 1].msg, "at most 1 tasks"));
	wait_state(&f, TASK_RUNNING);
	snprintf(path, sizeof(path), "%s/log.0.log.1", f.dir);
	/* 12 kB of output: wait for the second rotation, not just the first
	 * (under load the first can be all there is when .log.1 appears). */
	for (int i = 0;
	     i < 250 && (stat(path, &sb) || f.d.st.log_rotations < 2); i++)
		run_for(&f, 20);
	/* The first rotation made log.1; 12 kB of output make a second
	 * one, which a slow machine (valgrind) may not have reached yet. */
	assert_true(run_until(&f, rotated_twice, NULL));
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= 4096);
	snprintf(path, sizeof(path), "%s/log.0.log", f.dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size <= 4096);
	/* A removed service takes its logs with it. */
	task_driver_stop(&f.d, "log", 0, true);
	assert_true(run_until(&f, no_tasks, NULL));
	assert_int_equal(stat(path, &sb), -1);
	spec_destroy(&s);
	fx_destroy(&f);
}

static void
test_reap_stale(void **state)
{
	static struct fx f;
	char path[256];
	pid_t pid, other;
	FILE *fp;

	(void)state;
	fx_init(&f, 1000, 0, 0);
	/* What a crashed agent leaves: a group with our id in its env. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = {"sleep", "100", NULL};
		char *envp[] = {"SHOAL_TASK_ID=dead-1", NULL};

		setpgid(0, 0);
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);
	/* An unrelated process that happens to be in that group's place:
	 * no id, never touched. */
	other = fork();
	assert_true(other >= 0);
	if (other == 0) {
		char *argv[] = {"sleep", "100", NULL};
		char *envp[] = {"SHOAL_TASK_ID=other-1", NULL};

		setpgid(0, pid);
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	setpgid(other, pid);
	usleep(100 * 1000);
	snprintf(path, sizeof(path), "%s/web.0.pid", f.dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "%ld dead-1\n", (long)pid);
	fclose(fp);
	assert_int_equal(task_driver_reap_stale(&f.d), 1);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(kill(other, 0), 0);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	assert_int_equal(access(path, F_OK), -1);
	fx_destroy(&f);
}

static bool
gone_web(void *ctx, const char *service)
{
	(void)ctx;
	return strcmp(service, "web") == 0 || strcmp(service, "x.y") == 0;
}

static void
test_sweep_logs(void **state)
{
	static struct fx f;
	static const char *const names[] = {
		"web.0.log", "web.0.log.1", "api.3.log", "x.y.12.log",
		"junk.log",  "web.1.pid",   "web..log",
	};
	char path[256];

	(void)state;
	fx_init(&f, 1000, 0, 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s", f.dir, names[i]);
		fp = fopen(path, "w");
		assert_non_null(fp);
		fclose(fp);
	}
	assert_int_equal(task_driver_sweep_logs(&f.d, gone_web, NULL), 3);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bool want_gone = i == 0 || i == 1 || i == 3;

		snprintf(path, sizeof(path), "%s/%s", f.dir, names[i]);
		assert_int_equal(access(path, F_OK) != 0, want_gone);
	}
	fx_destroy(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_env_log_stop),
		cmocka_unit_test(test_restart_policy),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_kill_after_grace),
		cmocka_unit_test(test_stop_all),
		cmocka_unit_test(
			test_rolling_restart_and_restart_while_stopping),
		cmocka_unit_test(test_bounds_and_rotation),
		cmocka_unit_test(test_reap_stale),
		cmocka_unit_test(test_sweep_logs),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
