/*
 * Snapshots: the immutable tables (indicators, assets, participants, listed triples, load
 * stats), the lookups the sensor calls per flow and name, the interned match lists every set
 * points at, and the string arena. Built by builder.c; published by publish.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine.h"

/* ----- arena ----------------------------------------------------------------------------- */

struct matcher__arena_chunk {
	struct matcher__arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK (1u << 20)

void *matcher__arena_alloc(struct matcher__arena *a, size_t size, size_t align)
{
	struct matcher__arena_chunk *c = a->head;
	size_t off;

	if (c != NULL) {
		off = (c->used + align - 1) & ~(align - 1);
		if (off + size <= c->size) {
			c->used = off + size;
			return c->data + off;
		}
	}
	if (size > ARENA_CHUNK / 4) {
		/* big blocks get a chunk of their own, behind the current one */
		struct matcher__arena_chunk *big = malloc(sizeof(*big) + size);

		if (big == NULL)
			return NULL;
		big->size = size;
		big->used = size;
		if (c != NULL) {
			big->next = c->next;
			c->next = big;
		} else {
			big->next = NULL;
			a->head = big;
		}
		return big->data;
	}
	c = malloc(sizeof(*c) + ARENA_CHUNK);
	if (c == NULL)
		return NULL;
	c->size = ARENA_CHUNK;
	c->used = size;
	c->next = a->head;
	a->head = c;
	return c->data;
}

char *matcher__arena_strndup(struct matcher__arena *a, const char *s, size_t len)
{
	char *p = matcher__arena_alloc(a, len + 1, 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void matcher__arena_free(struct matcher__arena *a)
{
	struct matcher__arena_chunk *c = a->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

size_t matcher__arena_bytes(const struct matcher__arena *a)
{
	const struct matcher__arena_chunk *c;
	size_t n = 0;

	for (c = a->head; c != NULL; c = c->next)
		n += sizeof(*c) + c->size;
	return n;
}

void *matcher__table_alloc(size_t size)
{
	const size_t huge = (size_t)2 << 20;
	void *p;

	if (size < 2 * huge)
		return calloc(1, size ? size : 1);
	size = (size + huge - 1) & ~(huge - 1);
	p = aligned_alloc(huge, size);
	if (p == NULL)
		return NULL;
	(void)madvise(p, size, MADV_HUGEPAGE); /* advice only: fine if refused */
	memset(p, 0, size);
	return p;
}

/* ----- interned match lists ---------------------------------------------------------------- */

static uint32_t lists_hash(const struct matcher_match *m, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= ((uint64_t)m[i].role << 32) | m[i].entry_id;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ (h >> 32));
}

int matcher__lists_init(struct matcher__lists *l)
{
	memset(l, 0, sizeof(*l));
	l->cap = 1024;
	l->pool = calloc(l->cap, sizeof(*l->pool));
	l->nslots = 1024;
	l->slots = calloc(l->nslots, sizeof(*l->slots));
	if (l->pool == NULL || l->slots == NULL) {
		matcher__lists_free(l);
		return -ENOMEM;
	}
	l->n = 1; /* offset 0 stays unused: ref 0 is the empty list */
	return 0;
}

void matcher__lists_free(struct matcher__lists *l)
{
	free(l->pool);
	free(l->slots);
	memset(l, 0, sizeof(*l));
}

void matcher__lists_finish(struct matcher__lists *l, struct matcher_match **pool, size_t *n)
{
	*pool = l->pool;
	*n = l->n;
	l->pool = NULL;
	matcher__lists_free(l);
}

static bool lists_equal(const struct matcher__lists *l, uint32_t ref, const struct matcher_match *m,
                        size_t n)
{
	const struct matcher_match *p;
	size_t i;

	if (matcher__ref_get(l->pool, ref, &p) != n)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i].entry_id != m[i].entry_id || p[i].role != m[i].role)
			return false;
	}
	return true;
}

static int lists_grow_slots(struct matcher__lists *l)
{
	size_t nslots = l->nslots * 2, i, j;
	uint64_t *slots = calloc(nslots, sizeof(*slots));

	if (slots == NULL)
		return -ENOMEM;
	for (i = 0; i < l->nslots; i++) {
		if (l->slots[i] == 0)
			continue;
		for (j = (l->slots[i] >> 32) & (nslots - 1); slots[j] != 0;
		     j = (j + 1) & (nslots - 1))
			;
		slots[j] = l->slots[i];
	}
	free(l->slots);
	l->slots = slots;
	l->nslots = nslots;
	return 0;
}

int matcher__lists_intern(struct matcher__lists *l, const struct matcher_match *m, size_t n,
                          uint32_t *ref)
{
	uint32_t h, r;
	size_t i, need, off;

	if (n == 0) {
		*ref = 0;
		return 0;
	}
	h = lists_hash(m, n);
	for (i = h & (l->nslots - 1); l->slots[i] != 0; i = (i + 1) & (l->nslots - 1)) {
		if (l->slots[i] >> 32 == h && lists_equal(l, (uint32_t)l->slots[i] - 1, m, n)) {
			*ref = (uint32_t)l->slots[i] - 1;
			return 0;
		}
	}
	/* a header word before every list of MATCHER__REF_LENMAX or more */
	need = n + (n >= MATCHER__REF_LENMAX ? 1 : 0);
	if (l->n + need > l->cap) {
		size_t cap = l->cap;
		struct matcher_match *p;

		while (l->n + need > cap)
			cap *= 2;
		p = reallocarray(l->pool, cap, sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		l->pool = p;
		l->cap = cap;
	}
	off = l->n;
	if (n >= MATCHER__REF_LENMAX) {
		l->pool[off].entry_id = (uint32_t)n;
		l->pool[off].role = 0;
		off++;
	}
	if (off >= MATCHER__REF_MAXOFF)
		return -E2BIG;
	memcpy(l->pool + off, m, n * sizeof(*m));
	l->n = off + n;
	r = (uint32_t)off << MATCHER__REF_LENBITS |
	    (n >= MATCHER__REF_LENMAX ? MATCHER__REF_LENMAX : (uint32_t)n);
	l->slots[i] = (uint64_t)h << 32 | (r + 1);
	*ref = r;
	if (++l->used * 2 > l->nslots)
		return lists_grow_slots(l);
	return 0;
}

size_t matcher__match_merge(const struct matcher_match *a, size_t na, const struct matcher_match *b,
                            size_t nb, struct matcher_match *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na && j < nb) {
		int c = matcher__match_cmp(&a[i], &b[j]);

		if (c <= 0) {
			out[k++] = a[i++];
			if (c == 0)
				j++;
		} else {
			out[k++] = b[j++];
		}
	}
	while (i < na)
		out[k++] = a[i++];
	while (j < nb)
		out[k++] = b[j++];
	return k;
}

/* ----- lookups ------------------------------------------------------------------------------ */

static bool ip_is_v4(const struct matcher_ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(ip->b, mapped, sizeof(mapped)) == 0;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

size_t matcher_lookup_ip(const struct matcher_snapshot *snap, const struct matcher_ip *ip,
                         const struct matcher_match **matches)
{
	uint32_t ref;

	if (ip_is_v4(ip)) {
		uint32_t a;

		memcpy(&a, ip->b + 12, sizeof(a));
		ref = matcher__ip4_ref(&snap->ip4, __builtin_bswap32(a));
	} else {
		ref = matcher__ip6_ref(&snap->ip6, be64(ip->b), be64(ip->b + 8));
	}
	return matcher__ref_get(snap->pool, ref, matches);
}

struct dom_collect {
	const struct matcher_match *pool;
	struct matcher_match *out;
	size_t max, n;
};

static void dom_collect_list(void *arg, uint32_t ref)
{
	struct dom_collect *c = arg;
	const struct matcher_match *m;
	size_t n = matcher__ref_get(c->pool, ref, &m), i;

	for (i = 0; i < n; i++, c->n++) {
		if (c->n < c->max)
			c->out[c->n] = m[i];
	}
}

size_t matcher_lookup_domain(const struct matcher_snapshot *snap, const char *name, size_t len,
                             struct matcher_match *out, size_t max)
{
	struct dom_collect c = { .pool = snap->pool, .out = out, .max = max, .n = 0 };
	size_t i, j;

	matcher__dom_each(&snap->dom, name, len, dom_collect_list, &c);
	if (c.n > max)
		return c.n;
	/* entry order, as the other lookups answer (lists are short: insertion sort) */
	for (i = 1; i < c.n; i++) {
		struct matcher_match t = out[i];

		for (j = i; j > 0 && matcher__match_cmp(&out[j - 1], &t) > 0; j--)
			out[j] = out[j - 1];
		out[j] = t;
	}
	return c.n;
}

size_t matcher_lookup_asn(const struct matcher_snapshot *snap, uint32_t asn,
                          const struct matcher_match **matches)
{
	return matcher__ref_get(snap->pool, matcher__asn_ref(&snap->asn, asn), matches);
}

/* ----- tables -------------------------------------------------------------------------------- */

const struct matcher_indicator *matcher_indicator(const struct matcher_snapshot *snap, uint32_t id)
{
	return id < snap->nind ? &snap->ind[id] : NULL;
}

const struct matcher_asset *matcher_asset(const struct matcher_snapshot *snap, uint32_t id)
{
	return id < snap->nassets ? &snap->assets[id] : NULL;
}

const struct matcher_participant *matcher_participant(const struct matcher_snapshot *snap,
                                                      uint32_t id)
{
	return id < snap->nparts ? &snap->parts[id] : NULL;
}

uint32_t matcher_participant_count(const struct matcher_snapshot *snap)
{
	return snap->nparts;
}

size_t matcher_listed(const struct matcher_snapshot *snap, const struct matcher_listed **out)
{
	*out = snap->listed;
	return snap->nlisted;
}

const struct matcher_load_stats *matcher_snapshot_stats(const struct matcher_snapshot *snap)
{
	return &snap->stats;
}

uint64_t matcher_snapshot_generation(const struct matcher_snapshot *snap)
{
	return snap->generation;
}

size_t matcher__snapshot_bytes(const struct matcher_snapshot *snap)
{
	return sizeof(*snap) + matcher__ip4set_bytes(&snap->ip4) +
	       matcher__ip6set_bytes(&snap->ip6) + matcher__domset_bytes(&snap->dom) +
	       snap->asn.n * sizeof(*snap->asn.v) + snap->npool * sizeof(*snap->pool) +
	       snap->nind * sizeof(*snap->ind) + snap->nassets * sizeof(*snap->assets) +
	       snap->nparts * sizeof(*snap->parts) + snap->nlisted * sizeof(*snap->listed) +
	       snap->stats.nfeeds * sizeof(*snap->stats.feeds) + matcher__arena_bytes(&snap->arena);
}

void matcher_snapshot_free(struct matcher_snapshot *snap)
{
	if (snap == NULL)
		return;
	matcher__ip4set_free(&snap->ip4);
	matcher__ip6set_free(&snap->ip6);
	matcher__domset_free(&snap->dom);
	matcher__asnset_free(&snap->asn);
	free(snap->pool);
	free(snap->ind);
	free(snap->assets);
	free(snap->parts);
	free(snap->listed);
	free(snap->stats.feeds);
	matcher__arena_free(&snap->arena);
	free(snap);
}

/* ----- vocabularies ----------------------------------------------------------------------------
 */

const char *matcher_category_name(enum matcher_category c)
{
	static const char *const names[MATCHER_NCATEGORIES] = {
		[MATCHER_CAT_UNKNOWN] = "unknown",
		[MATCHER_CAT_BOTNET_C2] = "botnet-c2",
		[MATCHER_CAT_INFECTED_HOST] = "infected-host",
		[MATCHER_CAT_MALWARE_DOWNLOAD] = "malware-download",
		[MATCHER_CAT_PHISHING] = "phishing",
		[MATCHER_CAT_RANSOMWARE] = "ransomware",
		[MATCHER_CAT_SCANNER] = "scanner",
		[MATCHER_CAT_VULNERABLE_SERVICE] = "vulnerable-service",
		[MATCHER_CAT_SPAM] = "spam",
		[MATCHER_CAT_CRYPTOMINING] = "cryptomining",
		[MATCHER_CAT_SUSPICIOUS_DOMAIN] = "suspicious-domain",
		[MATCHER_CAT_DNS_HIJACK] = "dns-hijack",
		[MATCHER_CAT_COMPROMISED_WEBSITE] = "compromised-website",
	};

	if ((unsigned)c >= MATCHER_NCATEGORIES)
		return "unknown";
	return names[c];
}

const char *matcher_tlp_name(enum matcher_tlp t)
{
	switch (t) {
	case MATCHER_TLP_CLEAR:
		return "CLEAR";
	case MATCHER_TLP_GREEN:
		return "GREEN";
	case MATCHER_TLP_AMBER:
		return "AMBER";
	case MATCHER_TLP_AMBER_STRICT:
		return "AMBER+STRICT";
	case MATCHER_TLP_RED:
		return "RED";
	}
	return "AMBER";
}

const char *matcher_type_name(enum matcher_type t)
{
	switch (t) {
	case MATCHER_TYPE_IPV4:
		return "ipv4-addr";
	case MATCHER_TYPE_IPV6:
		return "ipv6-addr";
	case MATCHER_TYPE_DOMAIN:
		return "domain-name";
	case MATCHER_TYPE_ASN:
		return "autonomous-system";
	}
	return "unknown";
}
