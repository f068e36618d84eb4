/* SPDX-License-Identifier: MIT */
/*
 * sim/heap.c — binary min-heap of simulator events keyed by (time, seq).
 *
 * A plain array heap: the children of i are 2i+1 and 2i+2. Sift-down moves
 * a hole instead of swapping, so each level costs one copy. The key is the
 * pair (t_us, seq) compared lexicographically; seq is unique, so the order
 * is total and the pop sequence is a pure function of the pushes.
 */
#include "sim/heap.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"

static inline bool
ev_less(const struct sim_ev *a, const struct sim_ev *b)
{
	return a->t_us < b->t_us || (a->t_us == b->t_us && a->seq < b->seq);
}

void
sim_heap_init(struct sim_heap *h)
{
	memset(h, 0, sizeof(*h));
}

void
sim_heap_release(struct sim_heap *h)
{
	free(h->ev);
	memset(h, 0, sizeof(*h));
}

int
sim_heap_push(struct sim_heap *h, const struct sim_ev *ev)
{
	struct sim_ev e = *ev;
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct sim_ev *p = realloc(h->ev, cap * sizeof(*p));

		if (!p)
			return ERR_NOMEM;
		h->ev = p;
		h->cap = cap;
	}
	e.seq = h->next_seq++;
	i = h->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!ev_less(&e, &h->ev[parent]))
			break;
		h->ev[i] = h->ev[parent];
		i = parent;
	}
	h->ev[i] = e;
	if (h->n > h->peak)
		h->peak = h->n;
	return 0;
}

bool
sim_heap_pop(struct sim_heap *h, struct sim_ev *out)
{
	struct sim_ev last;
	size_t i = 0, n;

	if (!h->n)
		return false;
	*out = h->ev[0];
	n = --h->n;
	if (!n)
		return true;
	last = h->ev[n];
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && ev_less(&h->ev[c + 1], &h->ev[c]))
			c++;
		if (!ev_less(&h->ev[c], &last))
			break;
		h->ev[i] = h->ev[c];
		i = c;
	}
	h->ev[i] = last;
	return true;
}
