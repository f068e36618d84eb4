/* SPDX-License-Identifier: MIT */
/*
 * cli/task.h — the process driver: the agent runs its share of the
 * cluster's tasks as plain processes.
 *
 * The node (sched/node.h) decides which slots this agent runs and says so
 * with TASK_START / TASK_STOP / TASK_RESTART events; the driver turns them
 * into processes and reports every change of state back through the
 * `report` callback (the agent passes it to node_task_report()).
 *
 * One task is one process group:
 *
 *   start    fork, then in the child: a process group of its own, SIGKILL
 *            when the agent dies (PR_SET_PDEATHSIG), cwd "/", stdin
 *            /dev/null, stdout and stderr into a pipe the agent drains
 *            into DIR/SERVICE.SLOT.log, a clean signal state, and execve
 *            of the spec's args with a small base environment (PATH, HOME,
 *            USER, LOGNAME, LANG, LC_ALL, TZ, TMPDIR from the agent's),
 *            the spec's env, and SHOAL_SERVICE, SHOAL_SLOT, SHOAL_NODE,
 *            SHOAL_CLUSTER, SHOAL_TASK_DIGEST, SHOAL_TASK_RESTARTS,
 *            SHOAL_TASK_ID. Reported `starting`; `running` once the exec
 *            has happened (a close-on-exec pipe tells, without blocking);
 *            `rejected` with the reason when the program cannot be found
 *            or executed.
 *   exit     reaped by ev_child; whatever is left of the group is killed.
 *            `complete` (status 0) or `failed` (non-zero; exit code
 *            -SIGNAL when killed by a signal). The spec's restart policy
 *            decides whether it starts again after the restart delay
 *            (condition none | on-failure | any; at most max_attempts
 *            restarts per window, counted in a fixed window that opens at
 *            the first restart; 0 = unlimited / forever).
 *   stop     SIGTERM to the group, SIGKILL stop_grace_ms later, never
 *            waiting in the loop; reported `shutdown` once reaped.
 *   restart  (rolling update) stop, then start with the new spec.
 *
 * A START for a slot whose previous process is still stopping is kept
 * and carried out when that process has gone, so a slot never has two
 * processes.
 *
 * Crash safety: each running task has DIR/SERVICE.SLOT.pid ("PGID
 * TASK_ID"). The direct child dies with the agent (PDEATHSIG);
 * task_driver_reap_stale() at the next start kills what is left of the
 * group, recognising its processes by SHOAL_TASK_ID in their environment,
 * so a PID reused by an unrelated process is never touched.
 *
 * Bounds: max_tasks processes (a START beyond it is reported rejected),
 * log_max bytes per log file (then it is renamed to .log.1, replacing the
 * previous one: at most 2 x log_max per task; the files of a removed
 * service are deleted), TASK_READ_MAX bytes of output read per task per
 * wake-up.
 *
 * The driver lives on libev's default loop (ev_child works only there).
 * Callbacks are called from the driver's functions and from its watchers;
 * they may call back into the driver only through task_driver_* functions
 * that do not free the task being reported (start/stop/restart of other
 * slots are fine).
 */
#ifndef SHOAL_CLI_TASK_H
#define SHOAL_CLI_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "core/log.h"
#include "sched/spec.h"
#include "sched/state.h"

#define TASK_MAX_DEFAULT	   128
#define TASK_MAX_LIMIT		   4096
#define TASK_LOG_MAX_DEFAULT	   (1u << 20)
#define TASK_LOG_MAX_LIMIT	   (1ull << 32)
#define TASK_STOP_GRACE_DEFAULT_MS 10000
#define TASK_STOP_GRACE_MAX_MS	   3600000
#define TASK_READ_MAX		   (64 * 1024)
#define TASK_PATH_MAX		   1024
#define TASK_MSG_MAX		   STATE_TASK_MSG_MAX

struct task_driver_config {
	const char *dir;	/* DATA_DIR/tasks: logs and pid files */
	const char *node;	/* our member name: SHOAL_NODE */
	const char *cluster;	/* SHOAL_CLUSTER */
	uint32_t stop_grace_ms; /* 0: TASK_STOP_GRACE_DEFAULT_MS */
	uint32_t max_tasks;	/* 0: TASK_MAX_DEFAULT */
	uint64_t log_max;	/* 0: TASK_LOG_MAX_DEFAULT */
};

/* A task process ended by itself (or could not be started). */
struct task_exit {
	const char *service;
	uint32_t slot;
	uint64_t digest;
	pid_t pid;		/* 0 if no process was made */
	enum task_state state;	/* TASK_COMPLETE, TASK_FAILED, TASK_REJECTED */
	int32_t exit_code;	/* status, or -signal */
	uint32_t restarts;	/* restarts so far */
	bool will_restart;	/* the policy starts it again ... */
	uint32_t restart_in_ms; /* ... after this delay */
	const char *msg;	/* why it was rejected, or why it stays down */
};

struct task_driver_ops {
	/* Report a change of state (gen = the digest the task runs). The
	 * strings are valid during the call. */
	void (*report)(void *ctx, const struct state_task *t);
	/* A process exited by itself or could not start. May be NULL. */
	void (*exited)(void *ctx, const struct task_exit *e);
	/* The agent's clock (ms since the epoch) for since_ms. */
	uint64_t (*now)(void *ctx);
	void *ctx;
};

struct task_driver_stats {
	uint64_t started;  /* processes made */
	uint64_t exited;   /* reaped after exiting by themselves */
	uint64_t failed;   /* ... non-zero or by a signal */
	uint64_t rejected; /* could not start */
	uint64_t restarts; /* started again by the restart policy */
	uint64_t stopped;  /* stopped by us */
	uint64_t killed;   /* needed SIGKILL after the grace period */
	uint64_t log_rotations;
	uint64_t log_errors;
	uint64_t stale_killed; /* leftovers of a previous agent killed */
};

struct task_proc;

struct task_driver {
	struct ev_loop *loop;
	const struct log *log;
	struct task_driver_ops ops;
	char dir[TASK_PATH_MAX];
	char node[SPEC_NAME_MAX + 2];
	char cluster[80];
	uint32_t stop_grace_ms;
	uint32_t max_tasks;
	uint64_t log_max;
	uint64_t id_base; /* makes SHOAL_TASK_ID unique per agent run */
	uint64_t id_seq;
	struct task_proc *procs;
	unsigned nprocs;
	bool shutting_down;
	void (*stopped_all)(void *ctx); /* task_driver_stop_all()'s done */
	void *stopped_all_ctx;
	struct task_driver_stats st;
};

/* Set up (makes dir, mode 0700, if missing). 0, or ERR_INVAL /
 * ERR_IO with the reason in why. */
int task_driver_init(struct task_driver *d, struct ev_loop *loop,
		     const struct log *log,
		     const struct task_driver_config *cfg,
		     const struct task_driver_ops *ops, char *why,
		     size_t why_cap);

/* Kill what a previous agent on this data dir left running (see above).
 * Returns how many processes were killed. */
unsigned task_driver_reap_stale(struct task_driver *d);

/* NODE_EV_TASK_START: run slot `slot` of `service` with spec (copied at
 * once; digest is what the task reports as gen). */
void task_driver_start(struct task_driver *d, const char *service,
		       uint32_t slot, uint64_t digest, const struct spec *spec);

/* NODE_EV_TASK_STOP: stop it (SIGTERM, then SIGKILL after the grace).
 * removed: the service is gone (the event has no spec), so its log files
 * go too; a task that moved or was scaled down keeps them. */
void task_driver_stop(struct task_driver *d, const char *service, uint32_t slot,
		      bool removed);

/* NODE_EV_TASK_RESTART: stop, then start with the new spec. */
void task_driver_restart(struct task_driver *d, const char *service,
			 uint32_t slot, uint64_t digest,
			 const struct spec *spec);

/* Delete the log files of services that gone() says were removed (the
 * agent asks its replicated state for a tombstone), except those of tasks
 * the driver still knows. Logs of a task that moved away stay until
 * then. Returns how many files were deleted. */
unsigned task_driver_sweep_logs(struct task_driver *d,
				bool (*gone)(void *ctx, const char *service),
				void *ctx);

/* Stop every task as task_driver_stop() does (SIGTERM to the group,
 * SIGKILL stop_grace_ms later), without blocking, and take no new task
 * from now on: the agent's graceful exit, whose loop (and its signal
 * watchers) keeps running while the tasks go. Tasks are reported
 * `shutdown` as they are reaped. done(ctx) is called once, when no task
 * is left: from here if none runs, else from the watcher that reaps the
 * last one; it may stop the loop but must not call into the driver.
 * task_driver_shutdown() must still be called to free the driver. Returns
 * how many processes are being stopped. */
unsigned task_driver_stop_all(struct task_driver *d, void (*done)(void *ctx),
			      void *ctx);

/* Stop every task and wait for them, blocking, at most grace_ms (then
 * SIGKILL), and free everything. For the agent's exit, after the loop
 * has stopped (after task_driver_stop_all() nothing is left, unless a
 * second signal cut it short); grace_ms 0 kills at once. A pending
 * stop_all done() is not called. */
void task_driver_shutdown(struct task_driver *d, uint32_t grace_ms);

/* Tasks known (running, stopping, waiting to restart or done), and those
 * with a live process. */
unsigned task_driver_count(const struct task_driver *d);
unsigned task_driver_running(const struct task_driver *d);

/* The pid of a slot's process (0 if none): for tests and `info`. */
pid_t task_driver_pid(const struct task_driver *d, const char *service,
		      uint32_t slot);

#endif
