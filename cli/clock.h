/* SPDX-License-Identifier: MIT */
/*
 * cli/clock.h — the agent's clock: wall-clock milliseconds that never go
 * backwards.
 *
 * The protocol wants "milliseconds since the Unix epoch" (incarnations
 * start from it, and peers that have not met us yet check our timestamps
 * against a clock-skew bound), but it also requires that time never runs
 * backwards between calls. The agent reads the real-time clock once at
 * start and from then on adds CLOCK_MONOTONIC's elapsed time: NTP steps,
 * manual date changes and leap seconds cannot move the node's clock back.
 * The price is drift against the wall clock over months of uptime, which
 * the skew bound (a minute by default) absorbs.
 */
#ifndef SHOAL_CLI_CLOCK_H
#define SHOAL_CLI_CLOCK_H

#include <stdint.h>

struct agent_clock {
	uint64_t base_ms;  /* CLOCK_REALTIME at init */
	uint64_t mono0_ms; /* CLOCK_MONOTONIC at init */
	uint64_t last_ms;  /* last value returned */
};

void agent_clock_init(struct agent_clock *c);

/* Now, in ms since the epoch; never less than the previous call. */
uint64_t agent_clock_now(struct agent_clock *c);

/* CLOCK_MONOTONIC in ms (for durations). */
uint64_t agent_mono_ms(void);

/* CLOCK_REALTIME in ms (for log timestamps only). */
uint64_t agent_real_ms(void);

/* Format an epoch-ms time as RFC 3339 UTC with milliseconds
 * ("2024-05-01T12:00:00.123Z"); out needs 25 bytes. */
void agent_time_format(uint64_t ms, char out[25]);

#endif
