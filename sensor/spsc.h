/*
 * Bounded single-producer/single-consumer ring of pointers (C11 atomics, no locks). One thread
 * pushes, one thread pops; a full ring refuses the push and the caller decides (drop or wait).
 * Used for observation chunks (worker -> output thread) and their way back.
 */
#ifndef TIPOFF_SENSOR_SPSC_H
#define TIPOFF_SENSOR_SPSC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

struct spsc {
	_Alignas(64) atomic_size_t head; /* next slot to pop; written by the consumer only */
	_Alignas(64) atomic_size_t tail; /* next slot to push; written by the producer only */
	_Alignas(64) size_t mask;        /* capacity - 1 (capacity is a power of two) */
	void **slot;
};

/* Initialise with room for cap (rounded up to a power of two) items. Returns 0 or -ENOMEM. */
static inline int spsc_init(struct spsc *r, size_t cap)
{
	size_t n = 2;

	while (n < cap)
		n <<= 1;
	r->slot = calloc(n, sizeof(*r->slot));
	if (r->slot == NULL)
		return -12; /* -ENOMEM without pulling errno.h into every includer */
	r->mask = n - 1;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return 0;
}

static inline void spsc_destroy(struct spsc *r)
{
	free(r->slot);
	r->slot = NULL;
}

/* Producer: push p; false when full. */
static inline bool spsc_push(struct spsc *r, void *p)
{
	size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t h = atomic_load_explicit(&r->head, memory_order_acquire);

	if (t - h > r->mask)
		return false;
	r->slot[t & r->mask] = p;
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return true;
}

/* Consumer: pop into *p; false when empty. */
static inline bool spsc_pop(struct spsc *r, void **p)
{
	size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (h == t)
		return false;
	*p = r->slot[h & r->mask];
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return true;
}

/* Either side: items queued now (may be stale by the time it is used). */
static inline size_t spsc_count(struct spsc *r)
{
	return atomic_load_explicit(&r->tail, memory_order_acquire) -
	       atomic_load_explicit(&r->head, memory_order_acquire);
}

#endif
