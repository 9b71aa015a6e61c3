/*
 * Alert lines from one worker to the alert output thread.
 *
 * Design: a ring of nslots fixed-size slots allocated up front, each holding one line and its
 * length. `tail` counts lines ever pushed and is written by the producer only; `head` counts
 * lines ever released and is written by the consumer only; both only grow (size_t wrap-around
 * is harmless because only their difference is used). The producer fills slot tail & mask and
 * then publishes it with a release store of tail; the consumer reads tail with acquire before
 * touching the slot and gives it back with a release store of head, which the producer reads
 * with acquire before reusing the slot. So each slot belongs to exactly one side at a time and
 * no lock, wait or allocation is ever needed. Counters have one writer each (the producer) and
 * are read by the stats thread with relaxed loads.
 */
#include "sensor/alertq.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct alertq_slot {
	size_t len;
	char data[]; /* max_line bytes */
};

struct alertq {
	_Alignas(64) atomic_size_t head; /* lines released; written by the consumer only */
	_Alignas(64) atomic_size_t tail; /* lines pushed; written by the producer only */
	/* Producer-only counters; relaxed, read by anyone. */
	_Alignas(64) atomic_uint_fast64_t pushed;
	atomic_uint_fast64_t dropped;
	atomic_uint_fast64_t too_long;
	/* Fixed at creation. */
	_Alignas(64) size_t mask;
	size_t max_line;
	size_t stride; /* bytes from one slot to the next */
	unsigned char *slots;
};

static struct alertq_slot *alertq_slot(const struct alertq *q, size_t i)
{
	return (struct alertq_slot *)(void *)(q->slots + (i & q->mask) * q->stride);
}

struct alertq *alertq_new(unsigned nslots, size_t max_line)
{
	struct alertq *q;
	size_t n = 2;

	if (nslots == 0 || max_line == 0 || max_line > (1u << 30))
		return NULL;
	while (n < nslots)
		n <<= 1;
	q = aligned_alloc(64, sizeof(*q));
	if (q == NULL)
		return NULL;
	memset(q, 0, sizeof(*q));
	q->mask = n - 1;
	q->max_line = max_line;
	q->stride = (sizeof(struct alertq_slot) + max_line + 63) & ~(size_t)63;
	q->slots = calloc(n, q->stride);
	if (q->slots == NULL) {
		free(q);
		return NULL;
	}
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	atomic_init(&q->pushed, 0);
	atomic_init(&q->dropped, 0);
	atomic_init(&q->too_long, 0);
	return q;
}

void alertq_free(struct alertq *q)
{
	if (q == NULL)
		return;
	free(q->slots);
	free(q);
}

/* Single-writer counter bump: no read-modify-write needed, readers see a recent value. */
static void alertq_bump(atomic_uint_fast64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

bool alertq_push(struct alertq *q, const char *line, size_t len)
{
	size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	size_t h = atomic_load_explicit(&q->head, memory_order_acquire);
	struct alertq_slot *s;

	if (len > q->max_line) {
		alertq_bump(&q->too_long);
		alertq_bump(&q->dropped);
		return false;
	}
	if (t - h > q->mask) {
		alertq_bump(&q->dropped);
		return false;
	}
	s = alertq_slot(q, t);
	s->len = len;
	memcpy(s->data, line, len);
	atomic_store_explicit(&q->tail, t + 1, memory_order_release);
	alertq_bump(&q->pushed);
	return true;
}

bool alertq_is_full(const struct alertq *q)
{
	struct alertq *m = (struct alertq *)q;
	size_t t = atomic_load_explicit(&m->tail, memory_order_relaxed);
	size_t h = atomic_load_explicit(&m->head, memory_order_acquire);

	return t - h > q->mask;
}

const char *alertq_peek(struct alertq *q, size_t *len)
{
	size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
	struct alertq_slot *s;

	if (h == t)
		return NULL;
	s = alertq_slot(q, h);
	*len = s->len;
	return s->data;
}

void alertq_release(struct alertq *q)
{
	size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);

	atomic_store_explicit(&q->head, h + 1, memory_order_release);
}

size_t alertq_count(const struct alertq *q)
{
	struct alertq *m = (struct alertq *)q;
	/* head first: tail read afterwards is never behind it. */
	size_t h = atomic_load_explicit(&m->head, memory_order_acquire);
	size_t t = atomic_load_explicit(&m->tail, memory_order_acquire);

	return t - h;
}

uint64_t alertq_pushed(const struct alertq *q)
{
	return atomic_load_explicit(&((struct alertq *)q)->pushed, memory_order_relaxed);
}

uint64_t alertq_dropped(const struct alertq *q)
{
	return atomic_load_explicit(&((struct alertq *)q)->dropped, memory_order_relaxed);
}

uint64_t alertq_too_long(const struct alertq *q)
{
	return atomic_load_explicit(&((struct alertq *)q)->too_long, memory_order_relaxed);
}
