/* SPDX-License-Identifier: MIT */
/*
 * gossip/profile.h — the timing and size knobs of the membership protocol.
 *
 * Three named profiles carry memberlist's presets so that a side-by-side run
 * with serf compares like with like:
 *
 *   field                        lan      wan      local
 *   probe_interval_ms           1000     5000      1000
 *   probe_timeout_ms             500     3000       200
 *   indirect_checks                3        3         1
 *   suspicion_mult                 4        6         3
 *   suspicion_max_timeout_mult     6        6         6
 *   retransmit_mult                4        4         2
 *   gossip_interval_ms           200      500       100
 *   gossip_nodes                   3        4         3
 *   gossip_to_dead_ms          30000    60000     15000
 *   push_pull_interval_ms      30000    60000     15000
 *   stream_timeout_ms          10000    30000      1000
 *   awareness_max_mult             8        8         8
 *   tcp_pings (fallback)           1        1         1
 *
 * and serf's own timers on top (reconnect every 30 s, reap failed and left
 * members after 24 h, leave broadcast timeout 5 s). Every field can be
 * overridden by name with profile_set(), e.g. "probe_interval=500ms".
 */
#ifndef SHOAL_GOSSIP_PROFILE_H
#define SHOAL_GOSSIP_PROFILE_H

#include <stddef.h>
#include <stdint.h>

struct profile {
	char name[16]; /* "lan", "wan", "local" (or "custom" label) */

	/* failure detection */
	uint32_t probe_interval_ms;
	uint32_t probe_timeout_ms;
	uint32_t indirect_checks;
	uint32_t suspicion_mult;
	uint32_t suspicion_max_timeout_mult;
	uint32_t awareness_max_mult;
	uint32_t tcp_pings; /* 1: try a TCP ping when UDP probes fail */

	/* dissemination */
	uint32_t retransmit_mult;
	uint32_t gossip_interval_ms;
	uint32_t gossip_nodes;
	uint32_t gossip_to_dead_ms;
	uint32_t udp_payload_max; /* bytes per datagram incl. crypto */

	/* anti-entropy and streams */
	uint32_t push_pull_interval_ms;
	uint32_t stream_timeout_ms;
	uint32_t stream_max; /* bytes per stream frame */

	/* join, leave, healing, reaping (serf's layer) */
	uint32_t join_backoff_min_ms;
	uint32_t join_backoff_max_ms;
	uint32_t join_max_attempts; /* 0 = keep trying */
	uint32_t leave_timeout_ms;
	uint32_t reconnect_interval_ms;
	uint32_t reap_interval_ms;
	uint32_t reap_dead_ms; /* forget failed members after this */
	uint32_t reap_left_ms; /* forget left members after this */

	/* security and bounds */
	uint32_t max_clock_skew_ms; /* for senders we hold no replay state of */
	uint32_t members_max;	    /* hard bound on the member table */
	uint32_t app_queue_max;	    /* queued application broadcasts */
};

/* Fill p with the named profile ("lan", "wan", "local").
 * 0 or ERR_NOENT. */
int profile_by_name(struct profile *p, const char *name);

void profile_lan(struct profile *p);
void profile_wan(struct profile *p);
void profile_local(struct profile *p);

/* Override one field: key is the field name without a unit suffix
 * ("probe_interval", "gossip_nodes", "udp_payload_max", ...); durations take
 * units ("500ms", "2s", "1m", "24h"; a bare number is milliseconds), sizes
 * take "1400", "64k", "16m". 0, ERR_NOENT (no such key) or ERR_INVAL (bad
 * value) / ERR_RANGE (outside the field's sane range). */
int profile_set(struct profile *p, const char *key, const char *value);

/* Check internal consistency (timeout < interval, payload large enough...).
 * 0 or ERR_INVAL with a reason copied to why. */
int profile_check(const struct profile *p, char *why, size_t why_cap);

/* Parse a duration ("250ms", "1.5s", "2m", "24h", "3d"; bare = ms) into
 * milliseconds. 0 or ERR_INVAL / ERR_RANGE. */
int parse_duration_ms(const char *s, uint64_t *ms);

/* Parse a size ("1400", "64k", "16m", "1g"; binary multiples).
 * 0 or ERR_INVAL / ERR_RANGE. */
int parse_size(const char *s, uint64_t *bytes);

#endif
