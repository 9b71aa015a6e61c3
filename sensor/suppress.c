/*
 * Alert suppression state, owned by the alert output thread: an open-addressing table from
 * alert key to the packet time it was last reported and how many were suppressed since. The
 * table grows when 3/4 full (the output thread may allocate; workers never wait on it).
 * Alerts from several workers reach this thread slightly out of packet-time order; a late
 * alert within the interval of the last reported one is suppressed all the same.
 */
#include "sensor/suppress.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct suppress_slot {
	uint64_t key; /* 0: empty */
	uint64_t last_ns;
	uint64_t suppressed;
};

struct suppress {
	uint64_t interval_ns;
	struct suppress_slot *slot;
	size_t mask;
	size_t used;
	char *buf; /* spliced output line */
	size_t bufcap;
	atomic_uint_fast64_t count;
};

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h ^ 0xff; /* separator, so ("ab","c") and ("a","bc") differ */
}

uint64_t suppress_key(const char *participant, const char *indicator, const char *asset,
		      unsigned kind)
{
	uint64_t h = 0xcbf29ce484222325ull ^ kind;

	h = fnv1a(h, participant);
	h = fnv1a(h, indicator);
	h = fnv1a(h, asset);
	return h != 0 ? h : 1;
}

struct suppress *suppress_new(uint64_t interval_ns)
{
	struct suppress *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->interval_ns = interval_ns;
	s->mask = 1023;
	s->slot = calloc(s->mask + 1, sizeof(*s->slot));
	if (s->slot == NULL) {
		free(s);
		return NULL;
	}
	atomic_init(&s->count, 0);
	return s;
}

void suppress_free(struct suppress *s)
{
	if (s == NULL)
		return;
	free(s->slot);
	free(s->buf);
	free(s);
}

uint64_t suppress_count(const struct suppress *s)
{
	return atomic_load_explicit(&((struct suppress *)s)->count, memory_order_relaxed);
}

static struct suppress_slot *suppress_find(struct suppress *s, uint64_t key)
{
	size_t i = (size_t)(key ^ key >> 29) & s->mask;

	while (s->slot[i].key != 0 && s->slot[i].key != key)
		i = (i + 1) & s->mask;
	return &s->slot[i];
}

/* Double the table; false when memory is short (then we keep going without growing). */
static bool suppress_grow(struct suppress *s)
{
	struct suppress_slot *old = s->slot;
	size_t oldn = s->mask + 1;

	s->slot = calloc(oldn * 2, sizeof(*s->slot));
	if (s->slot == NULL) {
		s->slot = old;
		return false;
	}
	s->mask = oldn * 2 - 1;
	for (size_t i = 0; i < oldn; i++)
		if (old[i].key != 0)
			*suppress_find(s, old[i].key) = old[i];
	free(old);
	return true;
}

size_t suppress_filter(struct suppress *s, const char *rec, size_t len, const char **out)
{
	struct suppress_envelope env;
	struct suppress_slot *sl;
	const char *line;
	size_t llen, need;
	char num[40];
	int nlen;

	if (len < sizeof(env)) {
		*out = rec;
		return len;
	}
	memcpy(&env, rec, sizeof(env));
	if (env.magic != SUPPRESS_MAGIC) {
		*out = rec;
		return len;
	}
	line = rec + sizeof(env);
	llen = len - sizeof(env);
	*out = line;
	if (s->interval_ns == 0 || env.key == 0 || env.tipoff_off > llen)
		return llen;

	if (s->used * 4 >= (s->mask + 1) * 3)
		suppress_grow(s);
	sl = suppress_find(s, env.key);
	if (sl->key == 0) {
		if (s->used * 4 >= (s->mask + 1) * 3 + 1)
			return llen; /* full and could not grow: let it through */
		sl->key = env.key;
		sl->last_ns = env.ts_ns;
		sl->suppressed = 0;
		s->used++;
		return llen;
	}
	/* Within the interval (either side: workers deliver slightly out of order): suppress. */
	if (env.ts_ns < sl->last_ns + s->interval_ns && env.ts_ns + s->interval_ns > sl->last_ns) {
		sl->suppressed++;
		atomic_store_explicit(&s->count, suppress_count(s) + 1, memory_order_relaxed);
		return 0;
	}
	sl->last_ns = env.ts_ns;
	if (sl->suppressed == 0)
		return llen;
	/* Carry the count: splice "suppressed":N, right after "tipoff":{ */
	nlen = snprintf(num, sizeof(num), "\"suppressed\":%llu,",
			(unsigned long long)sl->suppressed);
	sl->suppressed = 0;
	need = llen + (size_t)nlen;
	if (need > s->bufcap) {
		char *nb = realloc(s->buf, need);

		if (nb == NULL)
			return llen; /* deliver without the count rather than lose the alert */
		s->buf = nb;
		s->bufcap = need;
	}
	memcpy(s->buf, line, env.tipoff_off);
	memcpy(s->buf + env.tipoff_off, num, (size_t)nlen);
	memcpy(s->buf + env.tipoff_off + nlen, line + env.tipoff_off, llen - env.tipoff_off);
	*out = s->buf;
	return need;
}
