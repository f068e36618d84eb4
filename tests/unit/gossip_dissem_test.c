/* SPDX-License-Identifier: MIT */
/*
 * gossip/dissem: each broadcast is sent exactly its retransmit limit;
 * least-transmitted first, newest first among equals; a newer broadcast
 * about the same member replaces the older one and restarts its count;
 * application payloads keep their own limit, replace by key, and the
 * oldest is dropped (and counted) when the queue is full; items that do
 * not fit stay queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "gossip/dissem.h"

struct pkt {
	size_t room;
	unsigned n;
	uint32_t slots[64];
	uint64_t keys[64];
};

static size_t
room(void *ctx)
{
	return ((struct pkt *)ctx)->room;
}

static int
emit(void *ctx, const struct dissem_item *it)
{
	struct pkt *p = ctx;

	if (it->size > p->room)
		return ERR_TOOBIG;
	p->room -= it->size;
	p->slots[p->n] = it->kind == DISSEM_MEMBER ? it->slot : DISSEM_NIL;
	p->keys[p->n] = it->key;
	p->n++;
	return 0;
}

static struct pkt
fill(struct dissem *q, uint32_t limit, size_t r)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.room = r;
	dissem_fill(q, limit, room, emit, &p);
	return p;
}

static void
test_limit(void **state)
{
	struct intern pool;
	struct dissem q;
	unsigned sent = 0;

	(void)state;
	intern_init(&pool);
	dissem_init(&q, &pool, 16);
	assert_int_equal(dissem_member(&q, 7, NULL, 10), 0);
	for (int i = 0; i < 20; i++)
		sent += fill(&q, 5, 1000).n;
	assert_int_equal(sent, 5);
	assert_int_equal(dissem_len(&q), 0);
	assert_false(dissem_has_member(&q, 7));
	dissem_destroy(&q);
	intern_destroy(&pool);
}

static void
test_order(void **state)
{
	struct intern pool;
	struct dissem q;
	struct pkt p;

	(void)state;
	intern_init(&pool);
	dissem_init(&q, &pool, 16);
	dissem_member(&q, 1, NULL, 10);
	p = fill(&q, 10, 10); /* slot 1 now sent once */
	assert_int_equal(p.n, 1);
	assert_int_equal(p.slots[0], 1);
	dissem_member(&q, 2, NULL, 10);
	dissem_member(&q, 3, NULL, 10);
	/* Room for one: the least sent, newest first -> slot 3. */
	p = fill(&q, 10, 10);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.slots[0], 3);
	/* Then slot 2 (never sent), before slot 1 and 3 (sent once). */
	p = fill(&q, 10, 10);
	assert_int_equal(p.slots[0], 2);
	dissem_destroy(&q);
	intern_destroy(&pool);
}

static void
test_replace(void **state)
{
	struct intern pool;
	struct dissem q;
	unsigned sent = 0;
	struct istr *a, *b;

	(void)state;
	intern_init(&pool);
	a = intern_get(&pool, "a", 1);
	b = intern_get(&pool, "b", 1);
	dissem_init(&q, &pool, 16);
	dissem_member(&q, 9, a, 10);
	sent += fill(&q, 4, 1000).n;
	sent += fill(&q, 4, 1000).n;
	/* Newer news about slot 9: one entry, count restarted. */
	dissem_member(&q, 9, b, 10);
	assert_int_equal(dissem_len(&q), 1);
	assert_ptr_equal(q.items[0].from, b);
	for (int i = 0; i < 10; i++)
		sent += fill(&q, 4, 1000).n;
	assert_int_equal(sent, 2 + 4);
	dissem_forget_member(&q, 9);
	dissem_destroy(&q);
	intern_put(&pool, a);
	intern_put(&pool, b);
	/* Every reference the queue took was returned. */
	intern_destroy(&pool);
}

static void
test_app(void **state)
{
	struct intern pool;
	struct dissem q;
	unsigned sent = 0;
	struct pkt p;

	(void)state;
	intern_init(&pool);
	dissem_init(&q, &pool, 3);
	assert_int_equal(dissem_app(&q, "x", 1, 0, 0, 10), ERR_INVAL);
	dissem_app(&q, "one", 3, 11, 2, 10);
	dissem_app(&q, "two", 3, 11, 2, 10); /* replaces key 11 */
	assert_int_equal(dissem_len(&q), 1);
	dissem_app(&q, "three", 5, 0, 7, 10);
	dissem_app(&q, "four", 4, 0, 7, 10);
	dissem_app(&q, "five", 4, 0, 7, 10); /* full: drops the oldest */
	assert_int_equal(q.n_app, 3);
	assert_int_equal(q.dropped, 1);
	for (int i = 0; i < 20; i++)
		sent += fill(&q, 100, 1000).n;
	/* "two" was the oldest and was dropped; three more, 7 sends each. */
	assert_int_equal(sent, 3 * 7);
	p = fill(&q, 100, 1000);
	assert_int_equal(p.n, 0);
	dissem_destroy(&q);
	intern_destroy(&pool);
}

static void
test_skip_big(void **state)
{
	struct intern pool;
	struct dissem q;
	struct pkt p;

	(void)state;
	intern_init(&pool);
	dissem_init(&q, &pool, 16);
	dissem_member(&q, 1, NULL, 500);
	dissem_member(&q, 2, NULL, 20);
	p = fill(&q, 3, 100);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.slots[0], 2);
	assert_true(dissem_has_member(&q, 1));
	p = fill(&q, 3, 1000);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.slots[0], 1); /* never sent: first */
	dissem_destroy(&q);
	intern_destroy(&pool);
}

static void
test_many(void **state)
{
	struct intern pool;
	struct dissem q;
	unsigned sent = 0;

	(void)state;
	intern_init(&pool);
	dissem_init(&q, &pool, 16);
	for (uint32_t i = 0; i < 5000; i++)
		assert_int_equal(dissem_member(&q, i, NULL, 10), 0);
	for (uint32_t i = 0; i < 5000; i += 2)
		dissem_forget_member(&q, i);
	assert_int_equal(dissem_len(&q), 2500);
	for (uint32_t i = 1; i < 5000; i += 2)
		assert_true(dissem_has_member(&q, i));
	for (int i = 0; i < 1000; i++)
		sent += fill(&q, 3, 640).n;
	assert_int_equal(sent, 2500 * 3);
	dissem_destroy(&q);
	intern_destroy(&pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_app),
		cmocka_unit_test(test_skip_big),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
