/*
 * Cross-flow alert suppression (DESIGN.md: the same (participant, indicator, asset, kind) at
 * most once per --alert-interval of packet time, the suppressed count carried by the next one).
 * Workers put a small envelope in front of each alert line; the alert output thread runs every
 * line through suppress_filter() before the sinks see it, so the state needs no locks.
 */
#ifndef TIPOFF_SENSOR_SUPPRESS_H
#define TIPOFF_SENSOR_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a worker writes in front of an alert line in its alertq. */
struct suppress_envelope {
	uint64_t key;        /* hash of (participant, indicator, asset, kind); 0: never suppress */
	uint64_t ts_ns;      /* packet time of the alert */
	uint32_t tipoff_off; /* offset in the line just after `"tipoff":{` */
	uint32_t magic;      /* SUPPRESS_MAGIC, to catch a line pushed without envelope */
};

#define SUPPRESS_MAGIC 0x7450f4a1u

/* Key of an alert from its parts (any thread). Never 0. */
uint64_t suppress_key(const char *participant, const char *indicator, const char *asset,
		      unsigned kind);

struct suppress;

/* interval_ns 0 disables suppression (every alert passes). NULL on ENOMEM. */
struct suppress *suppress_new(uint64_t interval_ns);
void suppress_free(struct suppress *s); /* accepts NULL */

/*
 * Decide about one enveloped alert rec[0..len): returns the length of the line to deliver and
 * points *out at it (inside rec or s's own buffer, valid until the next call), or 0 when the
 * alert is suppressed (counted). A record without a valid envelope is delivered as it is.
 */
size_t suppress_filter(struct suppress *s, const char *rec, size_t len, const char **out);

/* Alerts suppressed so far (any thread; relaxed). */
uint64_t suppress_count(const struct suppress *s);

#endif
