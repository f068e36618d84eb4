/* SPDX-License-Identifier: MIT */
/*
 * cli/clock.c — realtime at start plus monotonic elapsed.
 *
 * This file and cli/ alone read clocks; the pure layers get `now_ms` as an
 * argument (DESIGN.md §1). See clock.h for why the clock is built this way.
 */
#include "cli/clock.h"

#include <stdio.h>
#include <time.h>

static uint64_t
read_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t
agent_mono_ms(void)
{
	return read_ms(CLOCK_MONOTONIC);
}

uint64_t
agent_real_ms(void)
{
	return read_ms(CLOCK_REALTIME);
}

void
agent_clock_init(struct agent_clock *c)
{
	c->base_ms = agent_real_ms();
	c->mono0_ms = agent_mono_ms();
	c->last_ms = c->base_ms;
}

uint64_t
agent_clock_now(struct agent_clock *c)
{
	uint64_t now = c->base_ms + (agent_mono_ms() - c->mono0_ms);

	if (now < c->last_ms)
		now = c->last_ms;
	c->last_ms = now;
	return now;
}

void
agent_time_format(uint64_t ms, char out[25])
{
	time_t secs = (time_t)(ms / 1000u);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(out, 25, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
		 (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
		 (unsigned)tm.tm_sec % 100u, (unsigned)(ms % 1000u));
}
