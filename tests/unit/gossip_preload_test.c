/* SPDX-License-Identifier: MIT */
/*
 * gossip/preload: a view prepared for many tables (swim_view_new +
 * swim_preload_view) gives every node exactly what swim_preload() (a view
 * for one table) gives it — the same members,
 * incarnations, addresses, metadata, digest and random draws, so the same
 * datagrams afterwards — and every interned reference comes back, however
 * many of the tables the view was prepared for were actually filled.
 * Also the bulk reference calls of core/intern and mtab_add_ref().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/addr.h"
#include "core/err.h"
#include "core/intern.h"
#include "gossip/members.h"
#include "gossip/profile.h"
#include "gossip/swim.h"

#define N 12
#define T0 1700000000000ULL

static struct keyring kr;

static struct swim *
mk(struct intern *pool, int i)
{
	struct swim_config c;
	struct swim_env env;
	struct swim *s;
	int err = 0;

	memset(&c, 0, sizeof(c));
	snprintf(c.name, sizeof(c.name), "n%d", i);
	addr_v4(&c.addr, 10, 0, 0, (uint8_t)(i + 1), 7946);
	c.start_ms = T0 + (uint64_t)i;
	c.seed = 77 + (uint64_t)i;
	snprintf(c.cluster, sizeof(c.cluster), "t");
	profile_lan(&c.prof);
	memset(&env, 0, sizeof(env));
	env.pool = pool;
	env.keyring = &kr;
	s = swim_new(&c, &env, NULL, &err);
	assert_non_null(s);
	return s;
}

/* Every node's own entry, names copied (the pointers of swim_member_find
 * are the swim's), with some metadata on the odd ones. */
static void
view_of(struct swim **sw, struct swim_member_info *all, char names[][16],
	uint8_t meta[][8])
{
	for (int i = 0; i < N; i++) {
		snprintf(names[i], 16, "n%d", i);
		assert_true(swim_member_find(sw[i], names[i], &all[i]));
		all[i].name = names[i];
		if (i % 2) {
			memset(meta[i], 'a' + i, 8);
			all[i].meta = meta[i];
			all[i].meta_len = 8;
		}
	}
}

static void
same_tables(const struct swim *a, const struct swim *b)
{
	size_t ca = 0;
	struct swim_member_info ma, mb;

	assert_int_equal(swim_member_count(a), swim_member_count(b));
	assert_int_equal(swim_digest(a), swim_digest(b));
	while (swim_member_next(a, &ca, &ma)) {
		assert_true(swim_member_find(b, ma.name, &mb));
		assert_int_equal(ma.state, mb.state);
		assert_int_equal(ma.incarnation, mb.incarnation);
		assert_true(addr_equal(&ma.addr, &mb.addr));
		assert_int_equal(ma.meta_len, mb.meta_len);
		if (ma.meta_len)
			assert_memory_equal(ma.meta, mb.meta, ma.meta_len);
		assert_int_equal(ma.state_change_ms, mb.state_change_ms);
	}
}

/* What a node sends over the next half minute, hashed, with nothing
 * coming back: probes, their targets and the gossip follow the probe
 * order and the random draws the preload made. */
static uint64_t
traffic(struct swim *s)
{
	uint64_t h = 1469598103934665603ULL;
	uint64_t now = T0 + 1000;
	struct swim_out o;
	struct swim_event ev;

	for (int step = 0; step < 300; step++, now += 100) {
		swim_tick(s, now);
		while (swim_pop_out(s, &o)) {
			h = (h ^ o.kind) * 1099511628211ULL;
			h = (h ^ o.len) * 1099511628211ULL;
			h = (h ^ o.to.port) * 1099511628211ULL;
			h = (h ^ o.to.ip[3]) * 1099511628211ULL;
		}
		while (swim_pop_event(s, &ev))
			h = (h ^ (uint64_t)ev.kind) * 1099511628211ULL;
	}
	return h;
}

static void
test_view_equals_preload(void **state)
{
	struct intern pool;
	struct swim *a[N], *b[N];
	struct swim_member_info all[N + 2];
	char names[N + 2][16];
	uint8_t meta[N][8];
	struct swim_view *v;
	int err;

	(void)state;
	intern_init(&pool);
	for (int i = 0; i < N; i++) {
		a[i] = mk(&pool, i);
		b[i] = mk(&pool, i);
	}
	memset(all, 0, sizeof(all));
	view_of(a, all, names, meta);
	/* A repeat and an invalid entry are dropped by both. */
	all[N] = all[3];
	snprintf(names[N + 1], 16, "bad name");
	all[N + 1] = all[4];
	all[N + 1].name = names[N + 1];

	/* Prepared for more tables than it fills: the rest comes back. */
	v = swim_view_new(&pool, all, N + 2, N + 5, &err);
	assert_non_null(v);
	for (int i = 0; i < N; i++) {
		size_t x = swim_preload(a[i], T0 + 500, all, N + 2);
		size_t y = swim_preload_view(b[i], T0 + 500, v);

		assert_int_equal(x, N - 1);
		assert_int_equal(y, x);
		same_tables(a[i], b[i]);
		/* And against the input itself (swim_preload is a view too):
		 * every other node, alive, as given. */
		for (int j = 0; j < N; j++) {
			struct swim_member_info mi;

			assert_true(swim_member_find(b[i], names[j], &mi));
			if (j == i)
				continue;
			assert_int_equal(mi.state, SWIM_ALIVE);
			assert_int_equal(mi.incarnation, all[j].incarnation);
			assert_true(addr_equal(&mi.addr, &all[j].addr));
			assert_int_equal(mi.meta_len, all[j].meta_len);
			if (mi.meta_len)
				assert_memory_equal(mi.meta, all[j].meta,
						    mi.meta_len);
		}
		{
			struct swim_member_info mi;

			assert_false(swim_member_find(b[i], "bad name", &mi));
		}
	}
	/* Known members are skipped on a second pass too. */
	assert_int_equal(swim_preload_view(b[0], T0 + 600, v), 0);
	swim_view_delete(v);
	for (int i = 0; i < N; i++)
		assert_int_equal(traffic(a[i]), traffic(b[i]));
	for (int i = 0; i < N; i++) {
		swim_delete(a[i]);
		swim_delete(b[i]);
	}
	/* Every reference returned: the pool is empty. */
	assert_int_equal(pool.n, 0);
	intern_destroy(&pool);
}

static void
test_view_bound_and_pool(void **state)
{
	struct intern pool, other;
	struct swim *s[3], *stranger;
	struct swim_member_info all[3];
	char names[3][16];
	struct swim_view *v;
	int err;

	(void)state;
	intern_init(&pool);
	intern_init(&other);
	for (int i = 0; i < 3; i++) {
		s[i] = mk(&pool, i);
		snprintf(names[i], 16, "n%d", i);
		assert_true(swim_member_find(s[i], names[i], &all[i]));
		all[i].name = names[i];
	}
	stranger = mk(&other, 9);
	v = swim_view_new(&pool, all, 3, 2, &err);
	assert_non_null(v);
	/* A swim of another pool gets nothing (the strings are not its). */
	assert_int_equal(swim_preload_view(stranger, T0, v), 0);
	assert_int_equal(swim_preload_view(s[0], T0, v), 2);
	assert_int_equal(swim_preload_view(s[1], T0, v), 2);
	/* Prepared for two tables: a third gets nothing. */
	assert_int_equal(swim_preload_view(s[2], T0, v), 0);
	swim_view_delete(v);
	swim_view_delete(NULL);
	for (int i = 0; i < 3; i++)
		swim_delete(s[i]);
	swim_delete(stranger);
	assert_int_equal(pool.n, 0);
	assert_int_equal(other.n, 0);
	intern_destroy(&pool);
	intern_destroy(&other);
}

static void
test_bulk_references(void **state)
{
	struct intern pool;
	struct istr *s;
	struct mtab t;
	uint32_t slot;
	int err = 0;

	(void)state;
	intern_init(&pool);
	s = intern_get(&pool, "x", 1);
	assert_non_null(s);
	intern_ref_n(s, 4);
	assert_int_equal(s->refs, 5);
	intern_put_n(&pool, s, 0);
	intern_put_n(&pool, NULL, 0);
	intern_put_n(&pool, s, 3);
	assert_int_equal(s->refs, 2);
	assert_int_equal(pool.n, 1);

	/* mtab_add_ref takes over one reference; a reserve sizes the index
	 * for every member at once. */
	mtab_init(&t, &pool, 100);
	assert_int_equal(mtab_reserve(&t, 80), 0);
	assert_true(t.index_cap * 7 >= 80 * 10);
	slot = mtab_add_ref(&t, s, s->hash, &err);
	assert_int_not_equal(slot, MTAB_NONE);
	assert_int_equal(mtab_find_hashed(&t, s, s->hash), slot);
	assert_int_equal(mtab_find(&t, "x", 1), slot);
	assert_int_equal(s->refs, 2);
	mtab_destroy(&t); /* returns the table's reference */
	assert_int_equal(s->refs, 1);
	intern_put_n(&pool, s, 1);
	assert_int_equal(pool.n, 0);
	intern_destroy(&pool);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_equals_preload),
		cmocka_unit_test(test_view_bound_and_pool),
		cmocka_unit_test(test_bulk_references),
	};

	keyring_init(&kr);
	{
		uint8_t key[CRYPTO_KEY_LEN];

		memset(key, 7, sizeof(key));
		keyring_add(&kr, key);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
