/* SPDX-License-Identifier: MIT */
/*
 * cli/alog.c — timestamps, one write per line, and a tap for monitors.
 *
 * The core/log filter is a single level, but two readers want records:
 * stderr at the configured level and monitor clients at theirs. The
 * filter (lg.level) is set to the more verbose of the two and this sink
 * applies each reader's own level.
 */
#include "cli/alog.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli/clock.h"

static void
sink(void *ctx, enum log_level level, const char *line, size_t len)
{
	struct agent_log *al = ctx;
	char out[32 + LOG_LINE_MAX + 2];
	char when[25];
	size_t n;

	agent_time_format(agent_real_ms(), when);
	memcpy(out, "ts=", 3);
	memcpy(out + 3, when, 24);
	out[27] = ' ';
	n = 28;
	if (len > LOG_LINE_MAX)
		len = LOG_LINE_MAX;
	memcpy(out + n, line, len);
	n += len;
	if (al->tap && (int)level <= al->tap_level)
		al->tap(al->tap_ctx, level, out, n);
	if (level <= al->out_level) {
		ssize_t w;

		out[n++] = '\n';
		do
			w = write(al->fd, out, n);
		while (w < 0 && errno == EINTR);
		if (w != (ssize_t)n)
			al->dropped++;
	}
}

static void
update(struct agent_log *al)
{
	al->lg.level = al->out_level;
	if (al->tap && al->tap_level > (int)al->lg.level)
		al->lg.level = (enum log_level)al->tap_level;
}

void
agent_log_init(struct agent_log *al, int fd, enum log_level level)
{
	memset(al, 0, sizeof(*al));
	al->fd = fd;
	al->out_level = level;
	al->tap_level = -1;
	al->lg.sink = sink;
	al->lg.ctx = al;
	update(al);
}

void
agent_log_set_level(struct agent_log *al, enum log_level level)
{
	al->out_level = level;
	update(al);
}

void
agent_log_set_tap_level(struct agent_log *al, int tap_level)
{
	al->tap_level = tap_level;
	update(al);
}

enum log_level
agent_log_level(const struct agent_log *al)
{
	return al->out_level;
}
