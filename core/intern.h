/* SPDX-License-Identifier: MIT */
/*
 * core/intern.h — a pool of shared, reference-counted byte strings.
 *
 * Every member table holds every member's name, and in the simulator ten
 * thousand nodes each hold ten thousand names: stored inline that alone
 * would be gigabytes. Interning keeps one copy of each distinct name (and of
 * each distinct metadata blob) per pool; a table entry holds a pointer.
 * Within one pool, equal contents mean equal pointers, so names compare with
 * ==.
 *
 * The pool is an object the runtime creates and passes in (one per agent
 * process; one per simulation, shared by every virtual node). It is not
 * thread-safe: one pool belongs to one thread.
 *
 * Ownership: intern_get() and intern_ref() each give the caller one
 * reference; intern_put() returns it. A string is freed when its last
 * reference is returned. The pool must outlive every reference.
 */
#ifndef SHOAL_CORE_INTERN_H
#define SHOAL_CORE_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct istr {
	struct istr *next; /* hash chain in the pool */
	uint64_t hash;
	uint32_t refs;
	uint32_t len;
	char data[]; /* len bytes and a NUL */
};

struct intern {
	struct istr **slots;
	size_t cap; /* power of two, 0 before the first get */
	size_t n;   /* distinct strings */
	size_t bytes; /* memory held by strings (for reports) */
};

/* Largest string a pool accepts. */
#define INTERN_LEN_MAX (1u << 20)

void intern_init(struct intern *pool);

/* Free the table. Every reference must have been returned (asserted). */
void intern_destroy(struct intern *pool);

/* A reference to the interned copy of n bytes (made if new), or NULL when
 * out of memory or n > INTERN_LEN_MAX. */
struct istr *intern_get(struct intern *pool, const void *p, size_t n);

/* Look up without taking a reference or creating; NULL if absent. */
struct istr *intern_find(const struct intern *pool, const void *p, size_t n);

/* One more reference to s. */
static inline struct istr *
intern_ref(struct istr *s)
{
	s->refs++;
	return s;
}

/* k more references to s at once (k may be 0). A caller that will hand
 * the same string to many tables takes their references in one write
 * instead of one cache miss per table (the simulator's warm start). */
static inline struct istr *
intern_ref_n(struct istr *s, uint32_t k)
{
	s->refs += k;
	return s;
}

/* Return one reference; s may be NULL. */
void intern_put(struct intern *pool, struct istr *s);

/* Return k references at once (k may be 0; s may be NULL when k is 0). */
void intern_put_n(struct intern *pool, struct istr *s, uint32_t k);

static inline const char *
istr_str(const struct istr *s)
{
	return s ? s->data : "";
}

static inline size_t
istr_len(const struct istr *s)
{
	return s ? s->len : 0;
}

#endif
