/* SPDX-License-Identifier: MIT */
/*
 * gossip/profile.c — memberlist's presets, serf's timers, and overrides.
 *
 * The numbers are memberlist's DefaultLANConfig, DefaultWANConfig and
 * DefaultLocalConfig, with serf's layer on top (ReconnectInterval 30 s,
 * ReconnectTimeout and TombstoneTimeout 24 h, BroadcastTimeout 5 s), so that
 * "shoal with the lan profile" and "serf with its defaults" run the same
 * protocol timings and a side-by-side benchmark is fair.
 *
 * Overrides are looked up in a table of (name, offset, kind, min, max), so a
 * new knob is one line here and every runtime (agent flags, config file,
 * simulator scenarios) gets it for free.
 */
#include "gossip/profile.h"

#include <stddef.h>
#include <string.h>

#include "core/err.h"

#define SEC 1000u
#define MIN (60u * SEC)
#define HOUR (60u * MIN)

static void
common(struct profile *p)
{
	p->suspicion_max_timeout_mult = 6;
	p->awareness_max_mult = 8;
	p->tcp_pings = 1;
	p->udp_payload_max = 1400;
	p->stream_max = 64u << 20;
	p->join_backoff_min_ms = 1 * SEC;
	p->join_backoff_max_ms = 30 * SEC;
	p->join_max_attempts = 0;
	p->leave_timeout_ms = 5 * SEC;
	p->reconnect_interval_ms = 30 * SEC;
	p->reap_interval_ms = 15 * SEC;
	p->reap_dead_ms = 24 * HOUR;
	p->reap_left_ms = 24 * HOUR;
	p->max_clock_skew_ms = 60 * SEC;
	p->members_max = 65536;
	p->app_queue_max = 1024;
}

void
profile_lan(struct profile *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "lan");
	common(p);
	p->probe_interval_ms = 1 * SEC;
	p->probe_timeout_ms = 500;
	p->indirect_checks = 3;
	p->suspicion_mult = 4;
	p->retransmit_mult = 4;
	p->gossip_interval_ms = 200;
	p->gossip_nodes = 3;
	p->gossip_to_dead_ms = 30 * SEC;
	p->push_pull_interval_ms = 30 * SEC;
	p->stream_timeout_ms = 10 * SEC;
}

void
profile_wan(struct profile *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "wan");
	common(p);
	p->probe_interval_ms = 5 * SEC;
	p->probe_timeout_ms = 3 * SEC;
	p->indirect_checks = 3;
	p->suspicion_mult = 6;
	p->retransmit_mult = 4;
	p->gossip_interval_ms = 500;
	p->gossip_nodes = 4;
	p->gossip_to_dead_ms = 60 * SEC;
	p->push_pull_interval_ms = 60 * SEC;
	p->stream_timeout_ms = 30 * SEC;
}

void
profile_local(struct profile *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "local");
	common(p);
	p->probe_interval_ms = 1 * SEC;
	p->probe_timeout_ms = 200;
	p->indirect_checks = 1;
	p->suspicion_mult = 3;
	p->retransmit_mult = 2;
	p->gossip_interval_ms = 100;
	p->gossip_nodes = 3;
	p->gossip_to_dead_ms = 15 * SEC;
	p->push_pull_interval_ms = 15 * SEC;
	p->stream_timeout_ms = 1 * SEC;
}

int
profile_by_name(struct profile *p, const char *name)
{
	if (!name)
		return ERR_NOENT;
	if (strcmp(name, "lan") == 0)
		profile_lan(p);
	else if (strcmp(name, "wan") == 0)
		profile_wan(p);
	else if (strcmp(name, "local") == 0)
		profile_local(p);
	else
		return ERR_NOENT;
	return 0;
}

/* ---- parsing ---- */

static int
parse_scaled(const char *s, const char *const *units, const uint64_t *mult,
	     size_t nunits, uint64_t *out)
{
	uint64_t ip = 0, fp = 0, fscale = 1, m;
	size_t i = 0, digits = 0;
	const char *u;

	if (!s || !*s)
		return ERR_INVAL;
	while (s[i] >= '0' && s[i] <= '9') {
		if (ip > (UINT64_MAX - 9) / 10)
			return ERR_RANGE;
		ip = ip * 10 + (uint64_t)(s[i] - '0');
		i++;
		digits++;
	}
	if (s[i] == '.') {
		i++;
		while (s[i] >= '0' && s[i] <= '9') {
			if (fscale < 1000000000ULL) {
				fp = fp * 10 + (uint64_t)(s[i] - '0');
				fscale *= 10;
			}
			i++;
			digits++;
		}
	}
	if (digits == 0)
		return ERR_INVAL;
	u = s + i;
	m = 0;
	for (size_t k = 0; k < nunits; k++) {
		if (strcmp(u, units[k]) == 0) {
			m = mult[k];
			break;
		}
	}
	if (m == 0)
		return ERR_INVAL;
	if (ip > UINT64_MAX / m)
		return ERR_RANGE;
	*out = ip * m + (fp * m) / fscale;
	return 0;
}

int
parse_duration_ms(const char *s, uint64_t *ms)
{
	static const char *const units[] = { "", "ms", "s", "m", "h", "d" };
	static const uint64_t mult[] = { 1, 1, 1000, 60000, 3600000,
					 86400000 };

	return parse_scaled(s, units, mult, sizeof(mult) / sizeof(mult[0]), ms);
}

int
parse_size(const char *s, uint64_t *bytes)
{
	static const char *const units[] = { "", "b", "k", "K", "kb", "KB",
					     "KiB", "m", "M", "mb", "MB",
					     "MiB", "g", "G", "GiB" };
	static const uint64_t mult[] = {
		1,	   1,	      1u << 10, 1u << 10, 1u << 10,
		1u << 10,  1u << 10,  1u << 20, 1u << 20, 1u << 20,
		1u << 20,  1u << 20,  1u << 30, 1u << 30, 1u << 30,
	};

	return parse_scaled(s, units, mult, sizeof(mult) / sizeof(mult[0]),
			    bytes);
}

enum field_kind { F_DURATION, F_COUNT, F_SIZE };

struct field {
	const char *name;
	size_t off;
	enum field_kind kind;
	uint32_t min, max;
};

#define FIELD(n, k, lo, hi) { #n, offsetof(struct profile, n##_ms), k, lo, hi }
#define COUNT(n, lo, hi) { #n, offsetof(struct profile, n), F_COUNT, lo, hi }
#define SIZE(n, lo, hi) { #n, offsetof(struct profile, n), F_SIZE, lo, hi }

static const struct field fields[] = {
	FIELD(probe_interval, F_DURATION, 10, 10 * MIN),
	FIELD(probe_timeout, F_DURATION, 5, 10 * MIN),
	COUNT(indirect_checks, 0, 16),
	COUNT(suspicion_mult, 1, 100),
	COUNT(suspicion_max_timeout_mult, 1, 100),
	COUNT(awareness_max_mult, 1, 64),
	COUNT(tcp_pings, 0, 1),
	COUNT(retransmit_mult, 1, 100),
	FIELD(gossip_interval, F_DURATION, 5, 10 * MIN),
	COUNT(gossip_nodes, 0, 64),
	FIELD(gossip_to_dead, F_DURATION, 0, 24 * HOUR),
	SIZE(udp_payload_max, 1024, 65000),
	FIELD(push_pull_interval, F_DURATION, 0, 24 * HOUR),
	FIELD(stream_timeout, F_DURATION, 10, 10 * MIN),
	SIZE(stream_max, 4096, 1u << 30),
	FIELD(join_backoff_min, F_DURATION, 1, 1 * HOUR),
	FIELD(join_backoff_max, F_DURATION, 1, 1 * HOUR),
	COUNT(join_max_attempts, 0, 1000000),
	FIELD(leave_timeout, F_DURATION, 0, 10 * MIN),
	FIELD(reconnect_interval, F_DURATION, 0, 24 * HOUR),
	FIELD(reap_interval, F_DURATION, 100, 24 * HOUR),
	FIELD(reap_dead, F_DURATION, 0, 4000000000u),
	FIELD(reap_left, F_DURATION, 0, 4000000000u),
	FIELD(max_clock_skew, F_DURATION, 0, 4000000000u),
	COUNT(members_max, 2, 1u << 20),
	COUNT(app_queue_max, 1, 1u << 20),
};

int
profile_set(struct profile *p, const char *key, const char *value)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct field *f = &fields[i];
		uint64_t v;
		int rc;

		if (strcmp(key, f->name) != 0)
			continue;
		if (f->kind == F_DURATION)
			rc = parse_duration_ms(value, &v);
		else if (f->kind == F_SIZE)
			rc = parse_size(value, &v);
		else
			rc = parse_scaled(value, (const char *const[]){ "" },
					  (const uint64_t[]){ 1 }, 1, &v);
		if (rc)
			return rc;
		if (v < f->min || v > f->max)
			return ERR_RANGE;
		memcpy((char *)p + f->off, &(uint32_t){ (uint32_t)v },
		       sizeof(uint32_t));
		if (strcmp(p->name, "custom") != 0 &&
		    strlen(p->name) + 1 < sizeof(p->name) - 1 &&
		    p->name[strlen(p->name) - 1] != '*')
			strcat(p->name, "*");
		return 0;
	}
	return ERR_NOENT;
}

static void
copy_why(char *why, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (!why || cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	memcpy(why, s, n);
	why[n] = '\0';
}

int
profile_check(const struct profile *p, char *why, size_t why_cap)
{
	if (p->probe_timeout_ms >= p->probe_interval_ms) {
		copy_why(why, why_cap,
			 "probe_timeout must be shorter than probe_interval");
		return ERR_INVAL;
	}
	if (p->suspicion_mult < 1 || p->suspicion_max_timeout_mult < 1) {
		copy_why(why, why_cap, "suspicion multipliers must be >= 1");
		return ERR_INVAL;
	}
	if (p->udp_payload_max < 1024) {
		copy_why(why, why_cap, "udp_payload_max must be >= 1024");
		return ERR_INVAL;
	}
	if (p->join_backoff_min_ms > p->join_backoff_max_ms) {
		copy_why(why, why_cap,
			 "join_backoff_min must not exceed join_backoff_max");
		return ERR_INVAL;
	}
	if (p->awareness_max_mult < 1) {
		copy_why(why, why_cap, "awareness_max_mult must be >= 1");
		return ERR_INVAL;
	}
	return 0;
}
