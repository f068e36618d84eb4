/* SPDX-License-Identifier: MIT */
/*
 * sim/realnode.c — the real `struct node` (sched/node.h) behind the
 * simulator's ops table.
 *
 * Nothing here is clever on purpose: each op is the node verb of the same
 * name, so what the simulator exercises is exactly what the agent runs.
 * The node gets the run's shared intern pool, its own seeded PRNG (through
 * the config seed) and no nonce callback, so its nonces come from that
 * seeded PRNG too and a run is reproducible bit for bit.
 *
 * Read-only figures (digest, counts, memory, health, drops) come from the
 * membership machine through node_swim().
 */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "sched/node.h"
#include "sim/sim.h"

static void *
real_create(void *ctx, const struct sim_node_spec *spec, int *err)
{
	struct node_config cfg;
	struct node_env env;

	(void)ctx;
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.swim.name, sizeof(cfg.swim.name), "%s", spec->name);
	cfg.swim.addr = spec->addr;
	cfg.swim.start_ms = spec->start_ms;
	cfg.swim.seed = spec->seed;
	snprintf(cfg.swim.cluster, sizeof(cfg.swim.cluster), "%s",
		 spec->cluster);
	cfg.swim.prof = *spec->prof;
	for (unsigned i = 0; i < spec->ntags && i < NODE_TAGS_MAX; i++)
		cfg.tags[cfg.ntags++] = spec->tags[i];
	memset(&env, 0, sizeof(env));
	env.pool = spec->pool;
	env.log = spec->log;
	env.nonce = NULL;
	return node_new(&cfg, spec->keyring, &env, err);
}

static void
real_destroy(void *ctx, void *n)
{
	(void)ctx;
	node_delete(n);
}

static void
real_recv(void *n, uint64_t now, const struct addr *from, const uint8_t *p,
	  size_t len)
{
	node_recv(n, now, from, p, len);
}

static void
real_recv_stream(void *n, uint64_t now, uint32_t conn, const struct addr *from,
		 const uint8_t *p, size_t len)
{
	node_recv_stream(n, now, conn, from, p, len);
}

static void
real_stream_reply(void *n, uint64_t now, uint32_t sid, const uint8_t *p,
		  size_t len)
{
	node_stream_reply(n, now, sid, p, len);
}

static void
real_stream_failed(void *n, uint64_t now, uint32_t sid)
{
	node_stream_failed(n, now, sid);
}

static void
real_tick(void *n, uint64_t now)
{
	node_tick(n, now);
}

static uint64_t
real_next_deadline(const void *n)
{
	return node_next_deadline(n);
}

static bool
real_pop_out(void *n, struct swim_out *out)
{
	return node_pop_out(n, out);
}

static bool
real_pop_event(void *n, struct node_event *ev)
{
	return node_pop_event(n, ev);
}

static int
real_join(void *n, uint64_t now, const struct addr *seeds, size_t nseeds)
{
	return node_join(n, now, seeds, nseeds);
}

static int
real_leave(void *n, uint64_t now)
{
	return node_leave(n, now);
}

static uint64_t
real_digest(const void *n)
{
	return swim_digest(node_swim(n));
}

static size_t
real_member_count(const void *n)
{
	return swim_member_count(node_swim(n));
}

static size_t
real_count_state(const void *n, enum swim_state st)
{
	return swim_count_state(node_swim(n), st);
}

static size_t
real_memory(const void *n)
{
	return swim_memory(node_swim(n));
}

static unsigned
real_health(const void *n)
{
	return swim_health(node_swim(n));
}

static uint64_t
real_drops(const void *n)
{
	const struct swim_stats *st = swim_stats(node_swim(n));
	uint64_t sum = 0;

	for (int k = 0; k < SWIM_DROP__N; k++)
		sum += st->drops[k];
	return sum;
}

static void
real_dump(const void *n, FILE *f)
{
	const struct swim *sw = node_swim(n);
	struct swim_member_info mi;
	size_t cur = 0;
	char a[ADDR_STR_MAX];

	fprintf(f, "%s: inc %llu, health %u, %zu entries\n", swim_name(sw),
		(unsigned long long)swim_incarnation(sw), swim_health(sw),
		swim_member_count(sw));
	while (swim_member_next(sw, &cur, &mi)) {
		addr_format(&mi.addr, a, sizeof(a));
		fprintf(f, "  %-12s %-21s %-8s inc %llu since %llu%s\n",
			mi.name, a, swim_state_name(mi.state),
			(unsigned long long)mi.incarnation,
			(unsigned long long)mi.state_change_ms,
			mi.is_self ? " (self)" : "");
	}
}

static bool
real_self_info(const void *n, struct swim_member_info *out)
{
	const struct swim *sw = node_swim(n);

	return swim_member_find(sw, swim_name(sw), out);
}

static size_t
real_preload(void *n, uint64_t now, const struct swim_member_info *m,
	     size_t count)
{
	return node_preload(n, now, m, count);
}

static size_t
real_preload_view(void *n, uint64_t now, struct swim_view *v)
{
	return node_preload_view(n, now, v);
}

static int
real_service_create(void *n, uint64_t now, const struct spec *s, char *why,
		    size_t cap)
{
	return node_service_create(n, now, s, why, cap);
}

static int
real_service_update(void *n, uint64_t now, const struct spec *s, char *why,
		    size_t cap)
{
	return node_service_update(n, now, s, why, cap);
}

static int
real_service_scale(void *n, uint64_t now, const char *name, uint32_t replicas,
		   char *why, size_t cap)
{
	return node_service_scale(n, now, name, replicas, why, cap);
}

static int
real_service_remove(void *n, uint64_t now, const char *name)
{
	return node_service_remove(n, now, name);
}

static int
real_set_availability(void *n, uint64_t now, const char *name,
		      enum state_avail a)
{
	return node_set_availability(n, now, name, a);
}

static int
real_set_tags(void *n, uint64_t now, const struct node_tag *tags,
	      unsigned ntags)
{
	return node_set_tags(n, now, tags, ntags);
}

static int
real_force_leave(void *n, uint64_t now, const char *name)
{
	return node_force_leave(n, now, name);
}

static int
real_task_report(void *n, uint64_t now, const struct state_task *t)
{
	return node_task_report(n, now, t);
}

static const struct state *
real_state(const void *n)
{
	return node_state(n);
}

static const struct sim_node_ops real_ops = {
	.name = "node",
	.create = real_create,
	.destroy = real_destroy,
	.recv = real_recv,
	.recv_stream = real_recv_stream,
	.stream_reply = real_stream_reply,
	.stream_failed = real_stream_failed,
	.tick = real_tick,
	.next_deadline = real_next_deadline,
	.pop_out = real_pop_out,
	.pop_event = real_pop_event,
	.join = real_join,
	.leave = real_leave,
	.digest = real_digest,
	.member_count = real_member_count,
	.count_state = real_count_state,
	.memory = real_memory,
	.health = real_health,
	.drops = real_drops,
	.dump = real_dump,
	.self_info = real_self_info,
	.preload = real_preload,
	.preload_view = real_preload_view,
	.service_create = real_service_create,
	.service_update = real_service_update,
	.service_scale = real_service_scale,
	.service_remove = real_service_remove,
	.set_availability = real_set_availability,
	.set_tags = real_set_tags,
	.force_leave = real_force_leave,
	.task_report = real_task_report,
	.state = real_state,
};

const struct sim_node_ops *
sim_node_ops_real(void)
{
	return &real_ops;
}
