/* SPDX-License-Identifier: MIT */
/*
 * core/intern.c — chained hash set of reference-counted strings.
 *
 * Chaining (rather than open addressing) lets a string be removed the
 * moment its count drops to zero without tombstones. The table doubles when
 * the load passes 1 and never shrinks below its high-water mark, which is
 * what a membership table wants: names come and go, the population is
 * roughly stable.
 */
#include "core/intern.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

#define INTERN_SEED 0x696e7465726eULL

void
intern_init(struct intern *pool)
{
	memset(pool, 0, sizeof(*pool));
}

void
intern_destroy(struct intern *pool)
{
	assert(pool->n == 0);
	free(pool->slots);
	memset(pool, 0, sizeof(*pool));
}

static int
grow(struct intern *pool)
{
	size_t cap = pool->cap ? pool->cap * 2 : 64;
	struct istr **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < pool->cap; i++) {
		struct istr *s = pool->slots[i], *next;

		for (; s; s = next) {
			next = s->next;
			s->next = slots[s->hash & (cap - 1)];
			slots[s->hash & (cap - 1)] = s;
		}
	}
	free(pool->slots);
	pool->slots = slots;
	pool->cap = cap;
	return 0;
}

static struct istr *
lookup(const struct intern *pool, const void *p, size_t n, uint64_t h)
{
	if (!pool->cap)
		return NULL;
	for (struct istr *s = pool->slots[h & (pool->cap - 1)]; s; s = s->next)
		if (s->hash == h && s->len == n &&
		    (n == 0 || memcmp(s->data, p, n) == 0))
			return s;
	return NULL;
}

struct istr *
intern_find(const struct intern *pool, const void *p, size_t n)
{
	return lookup(pool, p, n, hash64(p, n, INTERN_SEED));
}

struct istr *
intern_get(struct intern *pool, const void *p, size_t n)
{
	uint64_t h;
	struct istr *s;

	if (n > INTERN_LEN_MAX)
		return NULL;
	h = hash64(p, n, INTERN_SEED);
	s = lookup(pool, p, n, h);
	if (s) {
		s->refs++;
		return s;
	}
	if (pool->n >= pool->cap && grow(pool))
		return NULL;
	s = malloc(sizeof(*s) + n + 1);
	if (!s)
		return NULL;
	s->hash = h;
	s->refs = 1;
	s->len = (uint32_t)n;
	if (n)
		memcpy(s->data, p, n);
	s->data[n] = '\0';
	s->next = pool->slots[h & (pool->cap - 1)];
	pool->slots[h & (pool->cap - 1)] = s;
	pool->n++;
	pool->bytes += sizeof(*s) + n + 1;
	return s;
}

void
intern_put(struct intern *pool, struct istr *s)
{
	intern_put_n(pool, s, s ? 1 : 0);
}

void
intern_put_n(struct intern *pool, struct istr *s, uint32_t k)
{
	struct istr **pp;

	if (!s || !k)
		return;
	assert(s->refs >= k);
	s->refs -= k;
	if (s->refs)
		return;
	pp = &pool->slots[s->hash & (pool->cap - 1)];
	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	pool->n--;
	pool->bytes -= sizeof(*s) + s->len + 1;
	free(s);
}
