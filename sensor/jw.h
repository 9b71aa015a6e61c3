/*
 * A small JSON line writer for the sensor's hand-written encoders (observations, alerts): appends
 * into a caller-owned buffer with bounds checks that only set an overflow flag, so a line that
 * did not fit is dropped whole and output is always valid JSON. Never allocates.
 */
#ifndef TIPOFF_SENSOR_JW_H
#define TIPOFF_SENSOR_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sensor/pkt.h"

struct jw {
	char *buf;   /* the line being built (borrowed) */
	size_t cap;  /* bytes available in buf */
	size_t len;  /* bytes used */
	bool over;   /* sticky: something did not fit */
};

static inline void jw_init(struct jw *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->over = false;
}

static inline void jw_put(struct jw *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = true;
		return;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

#define JW_PUTL(w, lit) jw_put((w), (lit), sizeof(lit) - 1)

static inline void jw_putc(struct jw *w, char c)
{
	if (w->over || w->len == w->cap) {
		w->over = true;
		return;
	}
	w->buf[w->len++] = c;
}

/* A decimal number. */
void jw_u64(struct jw *w, uint64_t v);

/*
 * A JSON string of text we made or configured (feeds, rule files): '"', '\' and control
 * characters escaped; valid UTF-8 passes through, any other byte >= 0x80 becomes \u00XX.
 */
void jw_str(struct jw *w, const char *s, size_t n);

/* A JSON string of a name as seen on the wire: bytes outside 0x21..0x7e and '\' as \DDD. */
void jw_name(struct jw *w, const uint8_t *name, size_t len);

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" of ts_ns, quoted. */
void jw_time(struct jw *w, uint64_t ts_ns);

/* A quoted address (dotted quad for IPv4-mapped, RFC 5952 otherwise). */
void jw_addr(struct jw *w, const struct addr *a);

/* The network.transport value of an IP protocol number, quoted. */
void jw_transport(struct jw *w, uint8_t proto);

/* RFC 3339 text of ts_ns into buf (>= 28 bytes); returns 27. */
size_t jw_time_text(uint64_t ts_ns, char *buf);

/* "YYYY-MM-DDTHH:MM:SS" of sec (seconds since the epoch) into out (19 bytes, no NUL). */
void jw_sec_text(uint64_t sec, char *out);

/* Microseconds part ".uuuuuuZ" of ts_ns into out (8 bytes, no NUL). */
void jw_usec_text(uint64_t ts_ns, char *out);

/* The JSON text of one byte of a name as seen (see jw_name) into out (<= 5 bytes). */
size_t jw_name_byte(uint8_t c, char *out);

#endif
