/* SPDX-License-Identifier: MIT */
/*
 * cli/agent.h — `shoal agent`: one struct node driven by one libev loop.
 *
 * agent_main() is the whole program; the rest of this header is the state
 * shared by the runtime's three files:
 *
 *   agent.c         start-up, UDP, the timer, signals, events (logs,
 *                   handlers, monitors), keyring persistence, tasks
 *                   (the node's TASK_* events to cli/task.c and its
 *                   reports back), shutdown
 *   agent_stream.c  gossip's TCP streams, inbound and outbound
 *   agent_ctl.c     the control socket (cli/ctl.h) and its commands
 *
 * The contract with the node (sched/node.h) is the sans-I/O one: after
 * every call into the node the runtime drains its outbox and its events
 * (agent_pump), then re-arms the single timer from node_next_deadline().
 * Calls into the node are never nested: work discovered while draining
 * (an outbound stream that fails at once) is queued and fed back after the
 * drain.
 *
 * Everything lives on libev's default loop (ev_child needs it), in one
 * thread. Every table has a bound: inbound and outbound streams
 * (AGENT_STREAMS_IN_MAX, AGENT_STREAMS_OUT_MAX) and the bytes they buffer
 * (AGENT_STREAM_BYTES_MAX), control clients
 * (AGENT_CTL_CLIENTS_MAX), per-client buffers (CTL_REQ_MAX in,
 * AGENT_CTL_OUT_MAX out, AGENT_MONITOR_BUF_MAX queued for a monitor).
 */
#ifndef SHOAL_CLI_AGENT_H
#define SHOAL_CLI_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "cli/alog.h"
#include "cli/clock.h"
#include "cli/ctl.h"
#include "cli/handler.h"
#include "cli/opts.h"
#include "cli/task.h"
#include "core/addr.h"
#include "core/buf.h"
#include "core/intern.h"
#include "sched/node.h"

#define SHOAL_VERSION "0.1.0"

#define AGENT_STREAMS_IN_MAX  64
#define AGENT_STREAMS_OUT_MAX 64
/* Bytes of frames all streams together may buffer. */
#define AGENT_STREAM_BYTES_MAX ((size_t)128 << 20)
#define AGENT_CTL_CLIENTS_MAX  64
#define AGENT_CTL_OUT_MAX      (CTL_RESP_MAX + 16)
#define AGENT_MONITOR_BUF_MAX  (1u << 20)
#define AGENT_CTL_IDLE_MS      60000 /* a request must complete within this */
#define AGENT_UDP_BATCH	       64    /* datagrams read per wake-up */
#define AGENT_FAILED_MAX       (AGENT_STREAMS_OUT_MAX * 4)
#define AGENT_LEAVE_GRACE_MS   3000  /* on top of the profile's leave_timeout */
#define AGENT_REPORTS_MAX      65536 /* task reports waiting for the node */
#define AGENT_SWEEP_S	       60.0  /* log sweep period */
#define AGENT_STOP_SLACK_MS    2000  /* after the tasks' SIGKILL, at exit */
#define AGENT_JOIN_WARN_ROUNDS 3     /* unanswered join rounds, then warn */
#define AGENT_JOIN_WARN_EVERY  10    /* ... and again every this many */

struct agent_stream;
struct agent_ctl_conn;

struct agent_counters {
	uint64_t udp_send_errors;
	uint64_t udp_recv_errors;
	uint64_t streams_in;
	uint64_t streams_in_refused;
	uint64_t streams_out;
	uint64_t streams_out_refused;
	uint64_t stream_errors;
	uint64_t stream_timeouts;
	uint64_t stream_toobig;
	uint64_t ctl_requests;
	uint64_t ctl_errors;
	uint64_t ctl_refused;
	uint64_t monitor_dropped;
	uint64_t keyring_writes;
	uint64_t keyring_write_errors;
	uint64_t reports_dropped; /* task reports the node refused or that
				   * found the queue full */
};

/* A task report waiting for the node (see agent.c). */
struct agent_report {
	char service[SPEC_NAME_MAX + 1];
	char msg[STATE_TASK_MSG_MAX + 1];
	struct state_task t; /* strings point into the two above */
};

struct agent {
	struct ev_loop *loop;
	struct agent_opts *opts;
	int argc;
	char **argv;

	struct agent_log log;
	struct agent_clock clock;
	uint64_t start_mono_ms;
	struct intern pool;
	struct node *node;
	struct addr bind;      /* what we bound (real port) */
	struct addr advertise; /* what we tell others */
	struct addr seeds[AGENT_JOIN_MAX];
	unsigned nseeds;
	unsigned join_rounds; /* join rounds started while pending */

	char data_dir[AGENT_PATH_MAX];
	char socket_path[108];
	char keyring_path[AGENT_PATH_MAX + 16];
	char lock_path[AGENT_PATH_MAX + 16];
	bool socket_created;

	int udp_fd, tcp_fd, ctl_fd, lock_fd;
	ev_io udp_w, tcp_w, ctl_w;
	ev_timer tick_w;
	ev_timer leave_w;
	ev_signal sigterm_w, sigint_w, sighup_w;

	struct handler_runner handlers;
	struct task_driver tasks;
	bool tasks_ready;
	char tasks_dir[AGENT_PATH_MAX + 16];
	ev_timer pump_w;  /* a pump soon, for work found outside the pump */
	ev_timer sweep_w; /* logs of removed services, every AGENT_SWEEP_S */
	ev_timer stop_w;  /* bounds the tasks' stop at exit */
	unsigned tasks_stopping;      /* tasks stopped at exit (for the log) */
	struct agent_report *reports; /* waiting for the node; see agent.c */
	unsigned nreports, reports_cap;

	struct agent_stream *streams; /* inbound and outbound */
	unsigned nstreams_in, nstreams_out;
	size_t stream_bytes; /* reserved by frames being read */
	uint32_t next_conn_id;
	uint32_t failed[AGENT_FAILED_MAX]; /* outbound ids to report */
	unsigned nfailed;

	struct agent_ctl_conn *ctls;
	unsigned nctls;
	unsigned nmonitors;
	int monitor_log_level; /* most verbose --logs of any monitor; -1 */
	bool in_tap;

	bool in_pump, pump_again;
	bool leaving;
	bool stopping;
	int signals;
	int exit_code;

	struct agent_counters cnt;
	uint8_t rx[65536];
};

/* The whole `shoal agent` program: argv[0] is "agent". Returns the exit
 * status. */
int agent_main(int argc, char **argv);

/* ---- shared inside the runtime ---- */

/* The node's clock now. */
uint64_t agent_now(struct agent *a);

/* Drain the node's outbox and events, feed back deferred failures, re-arm
 * the timer. Call after every call into the node. */
void agent_pump(struct agent *a);

/* Begin a graceful leave (signal or control request). 0 or an error of
 * node_leave (ERR_STATE when already leaving). */
int agent_leave(struct agent *a);

/* Name of a membership event kind for logs, handlers and monitors
 * ("member-join", "member-failed", ...). */
const char *agent_event_name(enum swim_event_kind kind);

/* agent_stream.c */
void agent_stream_accept(struct agent *a);
/* Carry out one outbox entry of kind STREAM_REQ or STREAM_RESP. */
void agent_stream_out(struct agent *a, const struct swim_out *out);
void agent_streams_close_all(struct agent *a);

/* agent_ctl.c */
int agent_ctl_listen(struct agent *a, char *why, size_t why_cap);
void agent_ctl_close_all(struct agent *a);
/* Send a node event (member, manager, task) to every monitor. */
void agent_ctl_event(struct agent *a, const struct node_event *ev);
/* Send a task-exit / task-failed event to every monitor. */
void agent_ctl_task_exit(struct agent *a, uint64_t time_ms, const char *name,
			 const struct task_exit *e);
/* Our leave has finished and the tasks are stopped: answer pending leave
 * requests (written by agent_ctl_flush() on the way out). */
void agent_ctl_leave_done(struct agent *a);
/* Copy a log record to monitors that asked for logs. */
void agent_ctl_log(struct agent *a, enum log_level level, const char *line,
		   size_t len);
/* Try for up to ms to write what is queued for control clients. */
void agent_ctl_flush(struct agent *a, uint64_t ms);

#endif
