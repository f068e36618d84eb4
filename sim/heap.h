/* SPDX-License-Identifier: MIT */
/*
 * sim/heap.h — the simulator's event queue: a binary min-heap of events
 * ordered by (time, sequence).
 *
 * The sequence number is handed out by the heap itself on every push, so
 * two events due at the same microsecond come out in the order they were
 * pushed. That, and nothing else, is what makes ties deterministic: no
 * comparison ever looks at a pointer.
 *
 * Events are stored by value (40 bytes) in one array that doubles when
 * full; pointers inside an event (a packet, a stream) are the caller's.
 * Memory: 40 bytes per pending event plus the slack of the last doubling.
 */
#ifndef SHOAL_SIM_HEAP_H
#define SHOAL_SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_ev {
	uint64_t t_us; /* simulated time, microseconds since the start */
	uint64_t seq;  /* set by sim_heap_push() */
	void *p;       /* payload owned by the caller (packet, stream) */
	uint32_t node; /* the node the event is for */
	uint16_t type; /* caller's event kind */
	uint16_t flags;
	uint32_t a, b; /* caller's arguments */
};

struct sim_heap {
	struct sim_ev *ev;
	size_t n, cap;
	uint64_t next_seq;
	size_t peak; /* most events ever pending, for reports */
};

void sim_heap_init(struct sim_heap *h);
void sim_heap_release(struct sim_heap *h);

/* Push a copy of *ev, stamping ev->seq. 0 or ERR_NOMEM. */
int sim_heap_push(struct sim_heap *h, const struct sim_ev *ev);

/* Pop the earliest event into *out. false when empty. */
bool sim_heap_pop(struct sim_heap *h, struct sim_ev *out);

/* The earliest event without removing it, or NULL. */
static inline const struct sim_ev *
sim_heap_peek(const struct sim_heap *h)
{
	return h->n ? &h->ev[0] : NULL;
}

static inline size_t
sim_heap_len(const struct sim_heap *h)
{
	return h->n;
}

#endif
