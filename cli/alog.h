/* SPDX-License-Identifier: MIT */
/*
 * cli/alog.h — the agent's log sink: logfmt lines on stderr with ts=.
 *
 * core/log builds records; this sink prefixes the time
 * (`ts=2024-05-01T12:00:00.123Z level=info msg=...`) and writes each record
 * with a single write(2) so lines from the agent and from concurrent
 * processes sharing the stream do not interleave mid-line. A tap lets the
 * control server copy records to `shoal monitor --logs` clients.
 *
 * Writes to a full or closed stderr are dropped (never block the loop for
 * a log line) and counted.
 */
#ifndef SHOAL_CLI_ALOG_H
#define SHOAL_CLI_ALOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

struct agent_log {
	struct log lg; /* hand &lg to core/, gossip/, sched/ */
	int fd;
	enum log_level out_level; /* what goes to fd */
	uint64_t dropped;
	/* Optional copy of every written record (with ts=, no newline). */
	void (*tap)(void *ctx, enum log_level level, const char *line,
		    size_t len);
	void *tap_ctx;
	/* Records up to this level go to the tap even when lg.level is lower;
	 * -1 = no tap. */
	int tap_level;
};

void agent_log_init(struct agent_log *al, int fd, enum log_level level);

/* Set the stderr level (lg.level is the max of it and the tap level so
 * both get what they asked for). */
void agent_log_set_level(struct agent_log *al, enum log_level level);
void agent_log_set_tap_level(struct agent_log *al, int tap_level);
enum log_level agent_log_level(const struct agent_log *al);

#endif
