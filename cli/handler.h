/* SPDX-License-Identifier: MIT */
/*
 * cli/handler.h — event handlers: commands run on cluster events, like
 * serf's event handlers.
 *
 * A handler spec is `[EVENTS=]COMMAND`. EVENTS is a comma-separated list
 * of event names (member-join, member-leave, member-failed, member-update,
 * member-reap, member-suspect, member-alive, member-conflict, manager,
 * task-start, task-stop, task-restart, task-exit, task-failed, or `*` for
 * every event); without it the handler runs for the serf set: member-join,
 * member-leave, member-failed, member-update and member-reap. COMMAND runs
 * through `/bin/sh -c` with the event in its environment (SHOAL_EVENT and
 * the variables the agent adds) and the details on its stdin.
 *
 * Handlers never block the agent: each runs as a child process watched by
 * ev_child, its stdout and stderr are read through a non-blocking pipe and
 * logged line by line (at most HANDLER_OUTPUT_MAX bytes per run), and it
 * is killed (its whole process group) after timeout_ms. Runs start in
 * event order, at most `concurrency` at a time (1 by default: serial, as in
 * serf, so a member-failed handler never overtakes the member-join handler
 * of the same member); at most queue_max wait, and events beyond that are
 * dropped, logged and counted.
 *
 * The runner must live on libev's default loop (ev_child works only
 * there). Nothing here calls back into the agent.
 */
#ifndef SHOAL_CLI_HANDLER_H
#define SHOAL_CLI_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "core/log.h"

#define HANDLER_SPECS_MAX	8
#define HANDLER_CMD_MAX		1024
#define HANDLER_FILTER_MAX	16
#define HANDLER_EVENT_MAX	32 /* bytes of an event name */
#define HANDLER_CONCURRENCY_MAX 8
#define HANDLER_OUTPUT_MAX	(16 * 1024) /* bytes of output logged per run */
#define HANDLER_LINE_MAX	512
#define HANDLER_STDIN_MAX	(16 * 1024)
#define HANDLER_ENV_MAX		64 /* extra variables per event */

struct handler_spec {
	char cmd[HANDLER_CMD_MAX];
	char filter[HANDLER_FILTER_MAX][HANDLER_EVENT_MAX];
	unsigned nfilter; /* 0: the default set */
	bool all;	  /* "*" */
};

struct handler_job {
	struct handler_job *next;
	unsigned spec;
	char event[HANDLER_EVENT_MAX];
	char **env; /* NULL-terminated "K=V", one allocation */
	char *stdin_text;
	size_t stdin_len;
};

struct handler_run {
	struct handler_runner *r;
	struct handler_job *job; /* NULL when the slot is free */
	pid_t pid;
	int out_fd;
	ev_child child;
	ev_io out;
	ev_timer timer;
	uint64_t start_ms;
	size_t logged;
	bool timed_out;
	size_t linelen;
	char line[HANDLER_LINE_MAX + 1];
};

struct handler_config {
	uint32_t timeout_ms;  /* default 60000 */
	unsigned concurrency; /* default 1, at most HANDLER_CONCURRENCY_MAX */
	unsigned queue_max;   /* default 256 */
};

struct handler_runner {
	struct ev_loop *loop;
	const struct log *log;
	struct handler_config cfg;
	struct handler_spec specs[HANDLER_SPECS_MAX];
	unsigned nspecs;
	struct handler_job *head, *tail;
	unsigned queued;
	struct handler_run runs[HANDLER_CONCURRENCY_MAX];
	/* counters */
	uint64_t started, failed, timeouts, dropped, spawn_errors;
};

/* Parse one spec. 0 or ERR_INVAL (empty command, unknown event name) with
 * the reason in why. */
int handler_spec_parse(struct handler_spec *spec, const char *text, char *why,
		       size_t why_cap);

/* True when spec runs for event. */
bool handler_spec_matches(const struct handler_spec *spec, const char *event);

/* True if the name is an event a filter may name. */
bool handler_event_known(const char *event);

/* Set up with n spec texts (each HANDLER_CMD_MAX wide). cfg may be NULL
 * for the defaults. 0 or ERR_INVAL with why. */
int handler_runner_init(struct handler_runner *r, struct ev_loop *loop,
			const struct log *log, const struct handler_config *cfg,
			const char (*specs)[HANDLER_CMD_MAX], unsigned n,
			char *why, size_t why_cap);

/* Stop everything: queued jobs are dropped, running handlers get SIGTERM
 * (their process group) and are no longer watched. */
void handler_runner_destroy(struct handler_runner *r);

/* Does any handler run for this event? (Lets the caller skip building the
 * environment.) */
bool handler_runner_wants(const struct handler_runner *r, const char *event);

/* Queue a run of every matching handler. env holds nenv "KEY=VALUE"
 * strings added to (and overriding) the agent's environment; stdin_text is
 * written to the handler's stdin (cut at HANDLER_STDIN_MAX). All copied.
 * Returns how many runs were queued (0 if none matched), or ERR_FULL when
 * the queue overflowed (counted in dropped) or ERR_NOMEM. */
int handler_submit(struct handler_runner *r, const char *event,
		   const char *const *env, size_t nenv, const char *stdin_text,
		   size_t stdin_len);

/* Runs in progress plus runs waiting. */
unsigned handler_runner_pending(const struct handler_runner *r);

#endif
