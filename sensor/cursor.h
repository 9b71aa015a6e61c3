/*
 * Bounds-checked, sticky-error reader over a byte buffer. Every parser in the sensor reads
 * packet and message bytes through it: a read past the end sets the error flag, returns 0 and
 * leaves the cursor at the end, so a header is read field by field and checked once.
 */
#ifndef TIPOFF_SENSOR_CURSOR_H
#define TIPOFF_SENSOR_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cursor {
	const uint8_t *base; /* start of the buffer */
	size_t len;          /* bytes in the buffer */
	size_t pos;          /* next byte to read; never above len */
	bool err;            /* sticky: set by the first out-of-bounds read */
};

static inline void cursor_init(struct cursor *c, const uint8_t *p, size_t len)
{
	c->base = p;
	c->len = len;
	c->pos = 0;
	c->err = false;
}

static inline size_t cursor_left(const struct cursor *c)
{
	return c->len - c->pos;
}

static inline const uint8_t *cursor_ptr(const struct cursor *c)
{
	return c->base + c->pos;
}

/* Claim n bytes; on failure set err, move to the end and return false. */
static inline bool cursor_need(struct cursor *c, size_t n)
{
	if (c->err || n > c->len - c->pos) {
		c->err = true;
		c->pos = c->len;
		return false;
	}
	return true;
}

static inline void cursor_skip(struct cursor *c, size_t n)
{
	if (cursor_need(c, n))
		c->pos += n;
}

static inline void cursor_seek(struct cursor *c, size_t pos)
{
	if (pos > c->len) {
		c->err = true;
		c->pos = c->len;
		return;
	}
	c->pos = pos;
}

static inline uint8_t cursor_u8(struct cursor *c)
{
	if (!cursor_need(c, 1))
		return 0;
	return c->base[c->pos++];
}

static inline uint16_t cursor_u16(struct cursor *c)
{
	uint16_t v;

	if (!cursor_need(c, 2))
		return 0;
	v = (uint16_t)(c->base[c->pos] << 8 | c->base[c->pos + 1]);
	c->pos += 2;
	return v;
}

static inline uint32_t cursor_u24(struct cursor *c)
{
	uint32_t v;

	if (!cursor_need(c, 3))
		return 0;
	v = (uint32_t)c->base[c->pos] << 16 | (uint32_t)c->base[c->pos + 1] << 8 |
	    c->base[c->pos + 2];
	c->pos += 3;
	return v;
}

static inline uint32_t cursor_u32(struct cursor *c)
{
	uint32_t v;

	if (!cursor_need(c, 4))
		return 0;
	v = (uint32_t)c->base[c->pos] << 24 | (uint32_t)c->base[c->pos + 1] << 16 |
	    (uint32_t)c->base[c->pos + 2] << 8 | c->base[c->pos + 3];
	c->pos += 4;
	return v;
}

/* Little-endian reads (pcap-ish link headers such as BSD loopback). */
static inline uint32_t cursor_u32le(struct cursor *c)
{
	uint32_t v;

	if (!cursor_need(c, 4))
		return 0;
	v = (uint32_t)c->base[c->pos + 3] << 24 | (uint32_t)c->base[c->pos + 2] << 16 |
	    (uint32_t)c->base[c->pos + 1] << 8 | c->base[c->pos];
	c->pos += 4;
	return v;
}

static inline void cursor_copy(struct cursor *c, void *dst, size_t n)
{
	if (!cursor_need(c, n)) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, c->base + c->pos, n);
	c->pos += n;
}

#endif
