/*
 * Single-producer/single-consumer byte ring carrying captured frames from the reader thread to
 * one worker (lock-free, C11 atomics). Records are variable length, 8-byte aligned, never
 * split: a record that does not fit before the end is preceded by a wrap marker.
 */
#ifndef TIPOFF_SENSOR_PRING_H
#define TIPOFF_SENSOR_PRING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum pring_kind {
	PRING_FRAME = 1, /* a captured frame follows the header */
	PRING_TICK = 2,  /* time advanced to ts_ns: expire idle flows */
	PRING_END = 3,   /* end of input: end every flow and stop */
	PRING_WRAP = 4,  /* internal: continue at offset 0 */
};

struct pring_rec {
	uint32_t size;     /* whole record incl. header, multiple of 8 */
	uint16_t kind;     /* enum pring_kind */
	int16_t dlt;       /* link type of the frame */
	uint32_t cap_len;
	uint32_t wire_len;
	uint64_t ts_ns;
	uint64_t seq;      /* read sequence number of the frame */
	uint8_t data[];
};

struct pring {
	_Alignas(64) atomic_size_t head; /* bytes consumed; consumer writes */
	_Alignas(64) atomic_size_t tail; /* bytes produced; producer writes */
	_Alignas(64) size_t size;        /* capacity in bytes, power of two */
	uint8_t *buf;
};

static inline int pring_init(struct pring *r, size_t size)
{
	r->buf = aligned_alloc(64, size);
	if (r->buf == NULL)
		return -12;
	r->size = size;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	return 0;
}

static inline void pring_destroy(struct pring *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* Producer: append a record; false when there is no room now. */
static inline bool pring_put(struct pring *r, uint16_t kind, int dlt, const uint8_t *data,
			     uint32_t cap_len, uint32_t wire_len, uint64_t ts_ns, uint64_t seq)
{
	size_t need = (sizeof(struct pring_rec) + cap_len + 7) & ~(size_t)7;
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	size_t off = tail & (r->size - 1);
	size_t to_end = r->size - off;
	struct pring_rec *rec;

	if (need > r->size / 2)
		return false; /* cannot happen with a sane ring size; caller counts */
	if (to_end < need) {
		/* Skip to the start: room needed is the tail piece plus the record. */
		if (r->size - (tail - head) < to_end + need)
			return false;
		rec = (struct pring_rec *)(r->buf + off);
		if (to_end >= sizeof(uint32_t) + sizeof(uint16_t)) {
			rec->size = (uint32_t)to_end;
			rec->kind = PRING_WRAP;
		}
		tail += to_end;
		off = 0;
	} else if (r->size - (tail - head) < need) {
		return false;
	}
	rec = (struct pring_rec *)(r->buf + off);
	rec->size = (uint32_t)need;
	rec->kind = kind;
	rec->dlt = (int16_t)dlt;
	rec->cap_len = cap_len;
	rec->wire_len = wire_len;
	rec->ts_ns = ts_ns;
	rec->seq = seq;
	if (cap_len > 0)
		memcpy(rec->data, data, cap_len);
	atomic_store_explicit(&r->tail, tail + need, memory_order_release);
	return true;
}

/* Consumer: the next record, or NULL when empty. Release it with pring_done(). */
static inline const struct pring_rec *pring_peek(struct pring *r)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	const struct pring_rec *rec;

	for (;;) {
		if (head == tail)
			return NULL;
		rec = (const struct pring_rec *)(r->buf + (head & (r->size - 1)));
		/* Records are 8-aligned and at least 32 bytes, so a tail piece shorter than a
		 * header can only be 0; every wrap piece has a readable marker. */
		if (rec->kind != PRING_WRAP)
			return rec;
		head += rec->size;
		atomic_store_explicit(&r->head, head, memory_order_release);
	}
}

static inline void pring_done(struct pring *r, const struct pring_rec *rec)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	atomic_store_explicit(&r->head, head + rec->size, memory_order_release);
}

#endif
