/* SPDX-License-Identifier: MIT */
/*
 * tests/unit/sim_wrap.c — forwarding operations for a wrapping node kind
 * (see sim_wrap.h). The wrapped node is read as the first pointer of the
 * wrapper's object, by memcpy, so the wrappers need no common type.
 */
#include "tests/unit/sim_wrap.h"

#include <string.h>

static const struct sim_node_ops *inner_ops;

static void *
inner_of(const void *p)
{
	void *inner;

	memcpy(&inner, p, sizeof(inner));
	return inner;
}

static uint64_t
fwd_next_deadline(const void *p)
{
	return inner_ops->next_deadline(inner_of(p));
}

static int
fwd_join(void *p, uint64_t now, const struct addr *seeds, size_t n)
{
	return inner_ops->join(inner_of(p), now, seeds, n);
}

static int
fwd_leave(void *p, uint64_t now)
{
	return inner_ops->leave(inner_of(p), now);
}

static uint64_t
fwd_digest(const void *p)
{
	return inner_ops->digest(inner_of(p));
}

static size_t
fwd_member_count(const void *p)
{
	return inner_ops->member_count(inner_of(p));
}

static size_t
fwd_count_state(const void *p, enum swim_state st)
{
	return inner_ops->count_state(inner_of(p), st);
}

static size_t
fwd_memory(const void *p)
{
	return inner_ops->memory(inner_of(p));
}

static unsigned
fwd_health(const void *p)
{
	return inner_ops->health(inner_of(p));
}

static uint64_t
fwd_drops(const void *p)
{
	return inner_ops->drops(inner_of(p));
}

void
sim_wrap_fill(struct sim_node_ops *ops, const struct sim_node_ops *inner)
{
	inner_ops = inner;
#define FILL(op)                                                               \
	do {                                                                   \
		if (!ops->op && inner->op)                                     \
			ops->op = fwd_##op;                                    \
	} while (0)
	FILL(next_deadline);
	FILL(join);
	FILL(leave);
	FILL(digest);
	FILL(member_count);
	FILL(count_state);
	FILL(memory);
	FILL(health);
	FILL(drops);
#undef FILL
}
