/*
 * The snapshot builder: collects what the loaders parsed (feeds, indicators, participants,
 * assets, allowlist) and turns it into an immutable snapshot: drops expired and allowlisted
 * indicators, merges the same entry listed by several feeds, builds the IP, domain and ASN
 * sets, and finds the `listed` triples.
 *
 * Design note. The builder keeps indicators compact (72 bytes each; every string interned in
 * an arena that the snapshot inherits), so a million-entry rule set builds in well under a
 * second. Duplicates are found by sorting keys (type, value, exactness) and become one entry
 * whose id is its first appearance in load order. `listed` is answered with the sets just
 * built, never by comparing every indicator with every asset: each IP asset walks the
 * flattened ranges it spans, each domain indicator and asset probes its label suffixes, each
 * ASN asset looks its number up, and with an ASN callback each IP indicator's network address
 * is mapped to its AS (an approximation: a prefix spanning several ASes counts for the AS of
 * its first address only).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

typedef unsigned __int128 u128;

union raw_value {
	uint8_t ip[16];   /* IPV4 (v4-mapped) / IPV6, host bits cleared */
	const char *name; /* DOMAIN, interned */
	uint32_t asn;     /* ASN */
};

struct raw_ind {
	union raw_value v;
	const char *desc, *ref; /* interned, NULL when none */
	int64_t first, last, expires;
	uint32_t feed;
	uint8_t type, plen, exact, cat, sev, conf, tlp;
	uint8_t dropped;
};

struct raw_part {
	const char *id, *name, *language, *contacts;
	const char *const *sensors;
	unsigned nsensors;
};

struct raw_val {
	union raw_value v;
	uint32_t owner; /* assets: participant index */
	uint8_t type, plen;
};

struct feed_rec {
	struct matcher_feed_stats st;
	struct matcher__feed f;
};

struct intern_slot {
	const char *s;
	uint32_t len;
	uint32_t h;
};

struct matcher__builder {
	struct matcher__arena arena; /* strings; handed to the snapshot at build */
	struct intern_slot *is;      /* string interning: open addressing */
	size_t nis, isused;
	struct feed_rec **feeds; /* one allocation each: stats pointers stay valid */
	size_t nfeeds, capfeeds;
	struct raw_ind *ind;
	size_t nind, capind;
	struct raw_part *parts;
	size_t nparts, capparts;
	uint32_t *pidx; /* participant id (interned pointer) -> index + 1 */
	size_t npidx;
	struct raw_val *assets;
	size_t nassets, capassets;
	struct raw_val *allow;
	size_t nallow, capallow;
	matcher_asn_fn *asn_fn;
	void *asn_arg;
	int64_t now;
	bool built; /* the arena went to a snapshot */
};

/* Grow *v (of *cap elements of size) to hold one more than n. */
static int grow(void *v, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	p = reallocarray(*(void **)v, c, size);
	if (p == NULL)
		return -ENOMEM;
	*(void **)v = p;
	*cap = c;
	return 0;
}

/* ----- string interning ---------------------------------------------------------------------- */

static uint32_t str_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h ^ (h >> 32));
}

static int intern_grow(struct matcher__builder *b)
{
	size_t n = b->nis ? b->nis * 2 : 1024, i, j;
	struct intern_slot *is = calloc(n, sizeof(*is));

	if (is == NULL)
		return -ENOMEM;
	for (i = 0; i < b->nis; i++) {
		if (b->is[i].s == NULL)
			continue;
		for (j = b->is[i].h & (n - 1); is[j].s != NULL; j = (j + 1) & (n - 1))
			;
		is[j] = b->is[i];
	}
	free(b->is);
	b->is = is;
	b->nis = n;
	return 0;
}

/* The one arena copy of s[len] (NUL-terminated); NULL on allocation failure. */
static const char *intern(struct matcher__builder *b, const char *s, size_t len)
{
	uint32_t h = str_hash(s, len);
	size_t i;
	char *p;

	if ((b->isused + 1) * 2 > b->nis && intern_grow(b) != 0)
		return NULL;
	for (i = h & (b->nis - 1); b->is[i].s != NULL; i = (i + 1) & (b->nis - 1)) {
		if (b->is[i].h == h && b->is[i].len == len && memcmp(b->is[i].s, s, len) == 0)
			return b->is[i].s;
	}
	p = matcher__arena_strndup(&b->arena, s, len);
	if (p == NULL)
		return NULL;
	b->is[i].s = p;
	b->is[i].len = (uint32_t)len;
	b->is[i].h = h;
	b->isused++;
	return p;
}

static int intern_opt(struct matcher__builder *b, const char *s, const char **out)
{
	*out = NULL;
	if (s == NULL)
		return 0;
	*out = intern(b, s, strlen(s));
	return *out == NULL ? -ENOMEM : 0;
}

/* ----- collecting --------------------------------------------------------------------------------
 */

struct matcher__builder *matcher__builder_new(void)
{
	struct matcher__builder *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	if (intern_grow(b) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

void matcher__builder_free(struct matcher__builder *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->nfeeds; i++)
		free(b->feeds[i]);
	free(b->feeds);
	free(b->is);
	free(b->ind);
	free(b->parts);
	free(b->pidx);
	free(b->assets);
	free(b->allow);
	if (!b->built)
		matcher__arena_free(&b->arena);
	free(b);
}

int matcher__builder_feed(struct matcher__builder *b, const struct matcher__feed *f)
{
	struct feed_rec *r;
	const char *name, *path;

	if (grow(&b->feeds, &b->capfeeds, b->nfeeds, sizeof(*b->feeds)) != 0)
		return -ENOMEM;
	if (intern_opt(b, f->name ? f->name : "", &name) != 0 || intern_opt(b, f->path, &path) != 0)
		return -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	r->f = *f;
	r->f.name = (char *)name; /* arena strings: owned by the builder, then the snapshot */
	r->f.path = (char *)path;
	r->st.name = name;
	r->st.path = path;
	r->st.format = f->format;
	b->feeds[b->nfeeds] = r;
	return (int)b->nfeeds++;
}

struct matcher_feed_stats *matcher__builder_feed_stats(struct matcher__builder *b, int feed)
{
	return &b->feeds[feed]->st;
}

/* Copy a parsed value into its compact form (domains interned). */
static int raw_value(struct matcher__builder *b, const struct matcher__value *v, union raw_value *r,
                     uint8_t *plen)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned p, i;

	memset(r, 0, sizeof(*r));
	*plen = 0;
	switch (v->type) {
	case MATCHER_TYPE_IPV4:
	case MATCHER_TYPE_IPV6:
		memcpy(r->ip, v->ip.b, 16);
		if (v->type == MATCHER_TYPE_IPV4) {
			memcpy(r->ip, mapped, sizeof(mapped));
			p = v->plen > 32 ? 32 : v->plen;
			*plen = (uint8_t)p;
			p += 96;
		} else {
			p = v->plen > 128 ? 128 : v->plen;
			*plen = (uint8_t)p;
		}
		for (i = 0; i < 16; i++) { /* clear the host bits */
			if (p >= 8 * (i + 1))
				continue;
			r->ip[i] &= p <= 8 * i ? 0 : (uint8_t)(0xff00 >> (p - 8 * i));
		}
		return 0;
	case MATCHER_TYPE_DOMAIN:
		r->name = intern(b, v->domain, strnlen(v->domain, sizeof(v->domain)));
		return r->name == NULL ? -ENOMEM : 0;
	case MATCHER_TYPE_ASN:
		r->asn = v->asn;
		return 0;
	}
	return -EINVAL;
}

int matcher__builder_indicator(struct matcher__builder *b, int feed,
                               const struct matcher__indicator_in *in)
{
	struct raw_ind *r;
	int err;

	if (feed < 0 || (size_t)feed >= b->nfeeds)
		return -EINVAL;
	if (grow(&b->ind, &b->capind, b->nind, sizeof(*b->ind)) != 0)
		return -ENOMEM;
	r = &b->ind[b->nind];
	memset(r, 0, sizeof(*r));
	err = raw_value(b, &in->v, &r->v, &r->plen);
	if (err)
		return err;
	if (intern_opt(b, in->description, &r->desc) != 0 ||
	    intern_opt(b, in->reference, &r->ref) != 0)
		return -ENOMEM;
	r->type = (uint8_t)in->v.type;
	r->exact = in->v.type == MATCHER_TYPE_DOMAIN && in->exact;
	r->cat = (uint8_t)in->category;
	r->sev = (uint8_t)in->severity;
	r->conf = in->confidence > 100 ? 100 : in->confidence;
	r->tlp = (uint8_t)in->tlp;
	r->first = in->first_seen;
	r->last = in->last_seen;
	r->expires = in->expires;
	r->feed = (uint32_t)feed;
	b->nind++;
	return 0;
}

static uint32_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	return (uint32_t)(x ^ (x >> 32));
}

static int pidx_grow(struct matcher__builder *b)
{
	size_t n = b->npidx ? b->npidx * 2 : 256, i, j;
	uint32_t *t = calloc(n, sizeof(*t));

	if (t == NULL)
		return -ENOMEM;
	for (i = 0; i < b->nparts; i++) {
		for (j = ptr_hash(b->parts[i].id) & (n - 1); t[j] != 0; j = (j + 1) & (n - 1))
			;
		t[j] = (uint32_t)i + 1;
	}
	free(b->pidx);
	b->pidx = t;
	b->npidx = n;
	return 0;
}

int matcher__builder_participant(struct matcher__builder *b, const char *id, const char *name,
                                 const char *language, const char *const *sensors,
                                 unsigned nsensors, const char *contacts_json)
{
	struct raw_part *p;
	const char **sv = NULL;
	const char *iid;
	size_t i, slot;

	if (id == NULL || strcmp(id, "operator") == 0)
		return -EINVAL;
	if (intern_opt(b, id, &iid) != 0)
		return -ENOMEM;
	if ((b->nparts + 1) * 2 > b->npidx && pidx_grow(b) != 0)
		return -ENOMEM;
	for (slot = ptr_hash(iid) & (b->npidx - 1); b->pidx[slot] != 0;
	     slot = (slot + 1) & (b->npidx - 1)) {
		if (b->parts[b->pidx[slot] - 1].id == iid)
			return -EEXIST;
	}
	if (grow(&b->parts, &b->capparts, b->nparts, sizeof(*b->parts)) != 0)
		return -ENOMEM;
	p = &b->parts[b->nparts];
	memset(p, 0, sizeof(*p));
	p->id = iid;
	if (intern_opt(b, name ? name : id, &p->name) != 0 ||
	    intern_opt(b, language, &p->language) != 0 ||
	    intern_opt(b, contacts_json ? contacts_json : "[]", &p->contacts) != 0)
		return -ENOMEM;
	if (nsensors > 0 && sensors != NULL) {
		sv = matcher__arena_alloc(&b->arena, nsensors * sizeof(*sv),
		                          _Alignof(const char *));
		if (sv == NULL)
			return -ENOMEM;
		for (i = 0; i < nsensors; i++) {
			if (intern_opt(b, sensors[i] ? sensors[i] : "", &sv[i]) != 0)
				return -ENOMEM;
		}
		p->nsensors = nsensors;
	}
	p->sensors = sv;
	b->pidx[slot] = (uint32_t)b->nparts + 1;
	return (int)b->nparts++;
}

int matcher__builder_asset(struct matcher__builder *b, int p, const struct matcher__value *v)
{
	struct raw_val *r;
	int err;

	if (p < 0 || (size_t)p >= b->nparts)
		return -EINVAL;
	if (grow(&b->assets, &b->capassets, b->nassets, sizeof(*b->assets)) != 0)
		return -ENOMEM;
	r = &b->assets[b->nassets];
	err = raw_value(b, v, &r->v, &r->plen);
	if (err)
		return err;
	r->type = (uint8_t)v->type;
	r->owner = (uint32_t)p;
	b->nassets++;
	return 0;
}

int matcher__builder_allow(struct matcher__builder *b, const struct matcher__value *v)
{
	struct raw_val *r;
	int err;

	if (grow(&b->allow, &b->capallow, b->nallow, sizeof(*b->allow)) != 0)
		return -ENOMEM;
	r = &b->allow[b->nallow];
	err = raw_value(b, v, &r->v, &r->plen);
	if (err)
		return err;
	r->type = (uint8_t)v->type;
	r->owner = 0;
	b->nallow++;
	return 0;
}

void matcher__builder_set_asn_fn(struct matcher__builder *b, matcher_asn_fn *fn, void *arg)
{
	b->asn_fn = fn;
	b->asn_arg = arg;
}

void matcher__builder_set_now(struct matcher__builder *b, int64_t now)
{
	b->now = now;
}

/* ----- building: helpers
 * --------------------------------------------------------------------------- */

static u128 ip_u128(const uint8_t *ip)
{
	u128 v = 0;
	int i;

	for (i = 0; i < 16; i++)
		v = v << 8 | ip[i];
	return v;
}

/* Prefix length over all 128 bits. */
static unsigned plen128(uint8_t type, uint8_t plen)
{
	return type == MATCHER_TYPE_IPV4 ? plen + 96u : plen;
}

static bool is_ip(uint8_t type)
{
	return type == MATCHER_TYPE_IPV4 || type == MATCHER_TYPE_IPV6;
}

/* The normalised text of a value, in the arena (domains: the interned name itself). */
/* Decimal digits of v at p (room for 10); returns how many. */
static size_t put_u32(char *p, uint32_t v)
{
	char t[10];
	size_t n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

static const char *value_text(struct matcher__builder *b, uint8_t type, const union raw_value *v,
                              uint8_t plen)
{
	char buf[INET6_ADDRSTRLEN + 16];
	size_t n = 0;
	int i;

	/* hand-rolled rather than snprintf: a million-entry build formats every value */
	switch (type) {
	case MATCHER_TYPE_IPV4:
		for (i = 12; i < 16; i++) {
			n += put_u32(buf + n, v->ip[i]);
			buf[n++] = i < 15 ? '.' : '\0';
		}
		n--;
		if (plen < 32) {
			buf[n++] = '/';
			n += put_u32(buf + n, plen);
		}
		break;
	case MATCHER_TYPE_IPV6:
		if (inet_ntop(AF_INET6, v->ip, buf, sizeof(buf)) == NULL)
			return NULL;
		n = strlen(buf);
		if (plen < 128) {
			buf[n++] = '/';
			n += put_u32(buf + n, plen);
		}
		break;
	case MATCHER_TYPE_DOMAIN:
		return v->name;
	case MATCHER_TYPE_ASN:
		buf[n++] = 'A';
		buf[n++] = 'S';
		n += put_u32(buf + n, v->asn);
		break;
	default:
		return NULL;
	}
	return matcher__arena_strndup(&b->arena, buf, n);
}

static void to_value(const struct raw_val *r, struct matcher__value *v)
{
	memset(v, 0, sizeof(*v));
	v->type = r->type;
	v->plen = r->plen;
	if (is_ip(r->type))
		memcpy(v->ip.b, r->v.ip, 16);
}

/* ----- allowlist
 * ------------------------------------------------------------------------------------- */

struct allow_sets {
	struct matcher__lists lists;
	struct matcher__ip4set ip4;
	struct matcher__ip6set ip6;
	struct matcher__domset dom;
	struct matcher__asnset asn;
	const struct raw_val *v;
	bool have;
};

static int allow_build(struct matcher__builder *b, struct allow_sets *a)
{
	struct matcher__ip_entry *ie = calloc(b->nallow + 1, sizeof(*ie));
	struct matcher__dom_entry *de = calloc(b->nallow + 1, sizeof(*de));
	struct matcher__asn_entry *ae = calloc(b->nallow + 1, sizeof(*ae));
	struct matcher__ip_flat f4, f6;
	size_t i, ni = 0, nd = 0, na = 0;
	int err = -ENOMEM;

	memset(a, 0, sizeof(*a));
	a->v = b->allow;
	a->have = b->nallow > 0;
	if (ie == NULL || de == NULL || ae == NULL || matcher__lists_init(&a->lists) != 0)
		goto out;
	for (i = 0; i < b->nallow; i++) {
		const struct raw_val *r = &b->allow[i];
		struct matcher_match m = { .entry_id = (uint32_t)i, .role = MATCHER_ROLE_ALLOW };

		if (is_ip(r->type)) {
			ie[ni].start = ip_u128(r->v.ip);
			ie[ni].plen = (uint8_t)plen128(r->type, r->plen);
			ie[ni++].m = m;
		} else if (r->type == MATCHER_TYPE_DOMAIN) {
			de[nd].name = r->v.name;
			de[nd].len = (uint32_t)strlen(r->v.name);
			de[nd++].m = m;
		} else {
			ae[na].asn = r->v.asn;
			ae[na++].m = m;
		}
	}
	err = matcher__ip_build(ie, ni, &a->lists, &a->ip4, &a->ip6, &f4, &f6);
	if (err)
		goto out;
	matcher__ip_flat_free(&f4);
	matcher__ip_flat_free(&f6);
	err = matcher__dom_build(de, nd, &a->lists, &a->dom);
	if (err == 0)
		err = matcher__asn_build(ae, na, &a->lists, &a->asn);
out:
	free(ie);
	free(de);
	free(ae);
	return err;
}

static void allow_free(struct allow_sets *a)
{
	matcher__lists_free(&a->lists);
	matcher__ip4set_free(&a->ip4);
	matcher__ip6set_free(&a->ip6);
	matcher__domset_free(&a->dom);
	matcher__asnset_free(&a->asn);
}

static uint32_t ip_ref(const struct matcher__ip4set *s4, const struct matcher__ip6set *s6,
                       const uint8_t *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	u128 v = ip_u128(ip);

	if (memcmp(ip, mapped, sizeof(mapped)) == 0)
		return matcher__ip4_ref(s4, (uint32_t)v);
	return matcher__ip6_ref(s6, (uint64_t)(v >> 64), (uint64_t)v);
}

static void dom_any(void *arg, uint32_t ref)
{
	(void)ref;
	*(bool *)arg = true;
}

/* True when an allowlist value covers the indicator r. */
static bool allow_covers(const struct allow_sets *a, const struct raw_ind *r)
{
	const struct matcher_match *m;
	size_t n, i;

	if (!a->have)
		return false;
	if (is_ip(r->type)) {
		unsigned pl = plen128(r->type, r->plen);

		/* every allow prefix covering the network address, kept if not longer */
		n = matcher__ref_get(a->lists.pool, ip_ref(&a->ip4, &a->ip6, r->v.ip), &m);
		for (i = 0; i < n; i++) {
			const struct raw_val *v = &a->v[m[i].entry_id];

			if (plen128(v->type, v->plen) <= pl)
				return true;
		}
		return false;
	}
	if (r->type == MATCHER_TYPE_DOMAIN) {
		bool any = false;

		matcher__dom_each(&a->dom, r->v.name, strlen(r->v.name), dom_any, &any);
		return any;
	}
	return matcher__asn_ref(&a->asn, r->v.asn) != 0;
}

/* ----- merging duplicates ------------------------------------------------------------------------
 */

struct ind_key {
	union raw_value v;
	uint32_t raw; /* index into b->ind */
	uint8_t type, plen, exact;
};

static int key_cmp(const void *pa, const void *pb)
{
	const struct ind_key *a = pa, *b = pb;
	int c;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	switch (a->type) {
	case MATCHER_TYPE_DOMAIN:
		if (a->v.name != b->v.name) /* interned: order by address is enough */
			return (uintptr_t)a->v.name < (uintptr_t)b->v.name ? -1 : 1;
		break;
	case MATCHER_TYPE_ASN:
		if (a->v.asn != b->v.asn)
			return a->v.asn < b->v.asn ? -1 : 1;
		break;
	default:
		c = memcmp(a->v.ip, b->v.ip, 16);
		if (c != 0)
			return c;
		if (a->plen != b->plen)
			return a->plen < b->plen ? -1 : 1;
		break;
	}
	if (a->exact != b->exact)
		return a->exact < b->exact ? -1 : 1;
	if (a->raw != b->raw)
		return a->raw < b->raw ? -1 : 1;
	return 0;
}

static bool key_same(const struct ind_key *a, const struct ind_key *b)
{
	if (a->type != b->type || a->exact != b->exact)
		return false;
	switch (a->type) {
	case MATCHER_TYPE_DOMAIN:
		return a->v.name == b->v.name;
	case MATCHER_TYPE_ASN:
		return a->v.asn == b->v.asn;
	default:
		return a->plen == b->plen && memcmp(a->v.ip, b->v.ip, 16) == 0;
	}
}

struct group {
	uint32_t first; /* smallest raw index: decides the id */
	uint32_t at, n; /* the group's keys: keys[at .. at + n) */
};

static int u32_cmp(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return a < b ? -1 : a > b;
}

/* Fill ind[id] from the group's raw entries; sources from single[] or the arena. */
static int merge_group(struct matcher__builder *b, const struct ind_key *keys,
                       const struct group *g, const char *const *single,
                       struct matcher_indicator *out, uint32_t *feedbuf)
{
	const struct raw_ind *best = NULL;
	uint32_t i, nf = 0;

	memset(out, 0, sizeof(*out));
	out->first_seen = 0;
	for (i = 0; i < g->n; i++) {
		const struct raw_ind *r = &b->ind[keys[g->at + i].raw];

		/* most confident; ties: the first loaded (feeds register in load order) */
		if (best == NULL || r->conf > best->conf ||
		    (r->conf == best->conf && (r->feed < best->feed)))
			best = r;
		if (r->first != 0 && (out->first_seen == 0 || r->first < out->first_seen))
			out->first_seen = r->first;
		if (r->last > out->last_seen)
			out->last_seen = r->last;
		if (i == 0 || (out->expires != 0 && (r->expires == 0 || r->expires > out->expires)))
			out->expires = r->expires;
		feedbuf[nf++] = r->feed;
	}
	if (nf > 1)
		qsort(feedbuf, nf, sizeof(*feedbuf), u32_cmp);
	{
		uint32_t k = 0;

		for (i = 0; i < nf; i++) {
			if (k == 0 || feedbuf[k - 1] != feedbuf[i])
				feedbuf[k++] = feedbuf[i];
		}
		nf = k;
	}
	if (nf == 1) {
		out->sources = &single[feedbuf[0]];
	} else {
		const char **s =
		        matcher__arena_alloc(&b->arena, nf * sizeof(*s), _Alignof(const char *));

		if (s == NULL)
			return -ENOMEM;
		for (i = 0; i < nf; i++)
			s[i] = single[feedbuf[i]];
		out->sources = s;
	}
	out->nsources = nf;
	out->type = best->type;
	out->value = value_text(b, best->type, &best->v, best->plen);
	if (out->value == NULL)
		return -ENOMEM;
	out->exact = best->exact;
	out->plen = best->plen;
	out->category = best->cat;
	out->severity = best->sev;
	out->confidence = best->conf;
	out->tlp = best->tlp;
	out->feed = single[best->feed];
	out->description = best->desc;
	out->reference = best->ref;
	return 0;
}

/* ----- listed ------------------------------------------------------------------------------------
 */

struct triples {
	struct matcher_listed *v;
	size_t n, cap;
};

static int triple_add(struct triples *t, uint32_t participant, uint32_t indicator, uint32_t asset)
{
	if (grow(&t->v, &t->cap, t->n, sizeof(*t->v)) != 0)
		return -ENOMEM;
	t->v[t->n].participant = participant;
	t->v[t->n].indicator = indicator;
	t->v[t->n].asset = asset;
	t->n++;
	return 0;
}

static int triple_cmp(const void *pa, const void *pb)
{
	const struct matcher_listed *a = pa, *b = pb;

	if (a->participant != b->participant)
		return a->participant < b->participant ? -1 : 1;
	if (a->indicator != b->indicator)
		return a->indicator < b->indicator ? -1 : 1;
	if (a->asset != b->asset)
		return a->asset < b->asset ? -1 : 1;
	return 0;
}

/* What a callback of matcher__dom_each needs to turn lists into triples. */
struct listed_ctx {
	const struct matcher_snapshot *snap;
	struct triples *t;
	uint8_t want;   /* the role collected */
	uint32_t fixed; /* the indicator (want == ASSET) or the asset (want == INDICATOR) */
	int err;
};

static void listed_list(struct listed_ctx *c, uint32_t ref)
{
	const struct matcher_match *m;
	size_t n = matcher__ref_get(c->snap->pool, ref, &m), i;

	for (i = 0; i < n && c->err == 0; i++) {
		uint32_t asset, ind;

		if (m[i].role != c->want)
			continue;
		asset = c->want == MATCHER_ROLE_ASSET ? m[i].entry_id : c->fixed;
		ind = c->want == MATCHER_ROLE_ASSET ? c->fixed : m[i].entry_id;
		c->err = triple_add(c->t, c->snap->assets[asset].participant, ind, asset);
	}
}

static void listed_dom(void *arg, uint32_t ref)
{
	listed_list(arg, ref);
}

/* Walk the flat ranges meeting [lo, hi]: every indicator there overlaps the asset. */
static void listed_ranges(struct listed_ctx *c, const struct matcher__ip_flat *f, u128 lo, u128 hi)
{
	size_t l = 0, h = f->n, i;

	while (h - l > 1) { /* the last range starting at or before lo */
		size_t mid = l + (h - l) / 2;

		if (f->start[mid] <= lo)
			l = mid;
		else
			h = mid;
	}
	for (i = l; i < f->n && f->start[i] <= hi && c->err == 0; i++)
		listed_list(c, f->ref[i]);
}

static int listed_build(struct matcher__builder *b, struct matcher_snapshot *snap,
                        const struct ind_key *idkeys, const struct matcher__ip_flat *f4,
                        const struct matcher__ip_flat *f6)
{
	static const u128 mapped = (u128)0xffff << 32;
	struct triples t = { 0 };
	struct listed_ctx c = { .snap = snap, .t = &t };
	const struct matcher_match *m;
	size_t i, j, n;
	int err = 0;

	/* IP and domain assets: the indicators their ranges or names meet */
	for (i = 0; i < b->nassets && c.err == 0; i++) {
		const struct raw_val *a = &b->assets[i];

		c.want = MATCHER_ROLE_INDICATOR;
		c.fixed = (uint32_t)i;
		if (is_ip(a->type)) {
			unsigned pl = plen128(a->type, a->plen);
			u128 lo = ip_u128(a->v.ip);
			u128 hi = pl == 0 ? ~(u128)0 : lo | (((u128)1 << (128 - pl)) - 1);

			if (pl >= 96 && (lo >> 32) == 0xffff) {
				listed_ranges(&c, f4, lo & 0xffffffffu, hi & 0xffffffffu);
				continue;
			}
			listed_ranges(&c, f6, lo, hi);
			if (lo <= mapped && hi >= (mapped | 0xffffffffu))
				listed_ranges(&c, f4, 0, 0xffffffffu);
		} else if (a->type == MATCHER_TYPE_DOMAIN) {
			matcher__dom_each(&snap->dom, a->v.name, strlen(a->v.name), listed_dom, &c);
		} else {
			listed_list(&c, matcher__asn_ref(&snap->asn, a->v.asn));
		}
	}
	/* domain indicators under a domain asset; IP indicators inside an asset's AS */
	for (i = 0; i < snap->nind && c.err == 0; i++) {
		const struct ind_key *k = &idkeys[i];

		c.want = MATCHER_ROLE_ASSET;
		c.fixed = (uint32_t)i;
		if (k->type == MATCHER_TYPE_DOMAIN) {
			matcher__dom_each(&snap->dom, k->v.name, strlen(k->v.name), listed_dom, &c);
		} else if (is_ip(k->type) && b->asn_fn != NULL) {
			struct matcher_ip ip;
			uint32_t asn;

			memcpy(ip.b, k->v.ip, 16);
			asn = b->asn_fn(b->asn_arg, &ip);
			if (asn == 0)
				continue;
			n = matcher__ref_get(snap->pool, matcher__asn_ref(&snap->asn, asn), &m);
			for (j = 0; j < n && c.err == 0; j++) {
				if (m[j].role != MATCHER_ROLE_ASSET)
					continue;
				c.err = triple_add(&t, snap->assets[m[j].entry_id].participant,
				                   (uint32_t)i, m[j].entry_id);
			}
		}
	}
	err = c.err;
	if (err) {
		free(t.v);
		return err;
	}
	if (t.n > 1)
		qsort(t.v, t.n, sizeof(*t.v), triple_cmp);
	for (i = 0, j = 0; i < t.n; i++) {
		if (j == 0 || triple_cmp(&t.v[j - 1], &t.v[i]) != 0)
			t.v[j++] = t.v[i];
	}
	snap->listed = t.v;
	snap->nlisted = j;
	return 0;
}

/* ----- building ----------------------------------------------------------------------------------
 */

static int build_tables(struct matcher__builder *b, struct matcher_snapshot *snap,
                        struct ind_key **idkeys_out)
{
	struct ind_key *keys = NULL, *idkeys = NULL;
	struct group *groups = NULL;
	const char **single = NULL;
	uint32_t *feedbuf = NULL, *first_of = NULL;
	struct allow_sets allow;
	size_t i, nk = 0, ng = 0, id;
	int err;

	err = allow_build(b, &allow);
	if (err)
		goto out;
	keys = calloc(b->nind + 1, sizeof(*keys));
	if (keys == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < b->nind; i++) {
		struct raw_ind *r = &b->ind[i];
		struct matcher_feed_stats *st = &b->feeds[r->feed]->st;

		if (r->expires != 0 && r->expires <= b->now) {
			st->dropped_expired++;
			continue;
		}
		if (allow_covers(&allow, r)) {
			st->allowlisted++;
			continue;
		}
		st->loaded[r->type]++;
		keys[nk].v = r->v;
		keys[nk].raw = (uint32_t)i;
		keys[nk].type = r->type;
		keys[nk].plen = r->plen;
		keys[nk].exact = r->exact;
		nk++;
	}
	allow_free(&allow);
	qsort(keys, nk, sizeof(*keys), key_cmp);
	groups = calloc(nk + 1, sizeof(*groups));
	feedbuf = calloc(nk + 1, sizeof(*feedbuf));
	single = matcher__arena_alloc(&b->arena, (b->nfeeds + 1) * sizeof(*single),
	                              _Alignof(const char *));
	if (groups == NULL || feedbuf == NULL || single == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < b->nfeeds; i++)
		single[i] = b->feeds[i]->st.name;
	for (i = 0; i < nk; ng++) {
		size_t j;

		groups[ng].at = (uint32_t)i;
		groups[ng].first = keys[i].raw; /* sorted by raw last: the smallest */
		for (j = i + 1; j < nk && key_same(&keys[i], &keys[j]); j++)
			;
		groups[ng].n = (uint32_t)(j - i);
		i = j;
	}
	/* ids in order of first appearance: walk the raw entries, taking each group's first */
	first_of = calloc(b->nind + 1, sizeof(*first_of));
	snap->ind = calloc(ng + 1, sizeof(*snap->ind));
	idkeys = calloc(ng + 1, sizeof(*idkeys));
	if (first_of == NULL || snap->ind == NULL || idkeys == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ng; i++)
		first_of[groups[i].first] = (uint32_t)i + 1;
	for (i = 0, id = 0; i < b->nind; i++) {
		const struct group *g;

		if (first_of[i] == 0)
			continue;
		g = &groups[first_of[i] - 1];
		err = merge_group(b, keys, g, single, &snap->ind[id], feedbuf);
		if (err)
			goto out;
		idkeys[id++] = keys[g->at];
	}
	snap->nind = (uint32_t)ng;

	/* participants and assets */
	snap->parts = calloc(b->nparts + 1, sizeof(*snap->parts));
	snap->assets = calloc(b->nassets + 1, sizeof(*snap->assets));
	if (snap->parts == NULL || snap->assets == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < b->nparts; i++) {
		struct matcher_participant *p = &snap->parts[i];

		p->id = b->parts[i].id;
		p->name = b->parts[i].name;
		p->language = b->parts[i].language;
		p->sensors = b->parts[i].sensors;
		p->nsensors = b->parts[i].nsensors;
		p->contacts_json = b->parts[i].contacts;
	}
	snap->nparts = (uint32_t)b->nparts;
	for (i = 0; i < b->nassets; i++) {
		const struct raw_val *r = &b->assets[i];
		struct matcher_asset *a = &snap->assets[i];

		a->type = r->type;
		a->value = value_text(b, r->type, &r->v, r->plen);
		if (a->value == NULL) {
			err = -ENOMEM;
			goto out;
		}
		a->plen = r->plen;
		a->participant = r->owner;
		if (is_ip(r->type)) {
			struct matcher__value v;

			to_value(r, &v);
			a->special = matcher__is_special(&v);
		}
	}
	snap->nassets = (uint32_t)b->nassets;
	*idkeys_out = idkeys;
	idkeys = NULL;
out:
	if (err)
		allow_free(&allow);
	free(keys);
	free(groups);
	free(feedbuf);
	free(first_of);
	free(idkeys);
	return err;
}

static int build_sets(struct matcher__builder *b, struct matcher_snapshot *snap,
                      const struct ind_key *idkeys, struct matcher__ip_flat *f4,
                      struct matcher__ip_flat *f6)
{
	size_t total = snap->nind + b->nassets + b->nallow, i, ni = 0, nd = 0, na = 0;
	struct matcher__ip_entry *ie = calloc(total + 1, sizeof(*ie));
	struct matcher__dom_entry *de = calloc(total + 1, sizeof(*de));
	struct matcher__asn_entry *ae = calloc(total + 1, sizeof(*ae));
	struct matcher__lists lists;
	int err = -ENOMEM;

	if (ie == NULL || de == NULL || ae == NULL || matcher__lists_init(&lists) != 0) {
		free(ie);
		free(de);
		free(ae);
		return -ENOMEM;
	}
	for (i = 0; i < total; i++) {
		struct matcher_match m;
		const union raw_value *v;
		uint8_t type, plen;
		bool exact = false;

		if (i < snap->nind) {
			m.entry_id = (uint32_t)i;
			m.role = MATCHER_ROLE_INDICATOR;
			v = &idkeys[i].v;
			type = idkeys[i].type;
			plen = idkeys[i].plen;
			exact = idkeys[i].exact;
		} else {
			const struct raw_val *r;

			if (i < snap->nind + b->nassets) {
				m.entry_id = (uint32_t)(i - snap->nind);
				m.role = MATCHER_ROLE_ASSET;
				r = &b->assets[m.entry_id];
			} else {
				m.entry_id = (uint32_t)(i - snap->nind - b->nassets);
				m.role = MATCHER_ROLE_ALLOW;
				r = &b->allow[m.entry_id];
			}
			v = &r->v;
			type = r->type;
			plen = r->plen;
		}
		if (is_ip(type)) {
			ie[ni].start = ip_u128(v->ip);
			ie[ni].plen = (uint8_t)plen128(type, plen);
			ie[ni++].m = m;
		} else if (type == MATCHER_TYPE_DOMAIN) {
			de[nd].name = v->name;
			de[nd].len = (uint32_t)strlen(v->name);
			de[nd].exact = exact;
			de[nd++].m = m;
		} else {
			ae[na].asn = v->asn;
			ae[na++].m = m;
		}
	}
	err = matcher__ip_build(ie, ni, &lists, &snap->ip4, &snap->ip6, f4, f6);
	if (err == 0)
		err = matcher__dom_build(de, nd, &lists, &snap->dom);
	if (err == 0)
		err = matcher__asn_build(ae, na, &lists, &snap->asn);
	if (err == 0)
		matcher__lists_finish(&lists, &snap->pool, &snap->npool);
	else
		matcher__lists_free(&lists);
	free(ie);
	free(de);
	free(ae);
	return err;
}

int matcher__builder_build(struct matcher__builder *b, struct matcher_snapshot **out)
{
	struct matcher__ip_flat f4 = { 0 }, f6 = { 0 };
	struct ind_key *idkeys = NULL;
	struct matcher_snapshot *snap;
	size_t i;
	int err;

	*out = NULL;
	if (b->built)
		return -EINVAL;
	snap = calloc(1, sizeof(*snap));
	if (snap == NULL)
		return -ENOMEM;
	/* reset the counters build computes, so a failed build can be retried */
	for (i = 0; i < b->nfeeds; i++) {
		struct matcher_feed_stats *st = &b->feeds[i]->st;

		memset(st->loaded, 0, sizeof(st->loaded));
		st->dropped_expired = 0;
		st->allowlisted = 0;
	}
	err = build_tables(b, snap, &idkeys);
	if (err == 0)
		err = build_sets(b, snap, idkeys, &f4, &f6);
	if (err == 0)
		err = listed_build(b, snap, idkeys, &f4, &f6);
	if (err == 0) {
		snap->stats.feeds = calloc(b->nfeeds + 1, sizeof(*snap->stats.feeds));
		if (snap->stats.feeds == NULL)
			err = -ENOMEM;
	}
	free(idkeys);
	matcher__ip_flat_free(&f4);
	matcher__ip_flat_free(&f6);
	if (err) {
		/* the arena stays with the builder: the tables point into it */
		matcher_snapshot_free(snap);
		return err;
	}
	for (i = 0; i < b->nfeeds; i++)
		snap->stats.feeds[i] = b->feeds[i]->st;
	snap->stats.nfeeds = b->nfeeds;
	snap->stats.indicators = snap->nind;
	snap->stats.participants = snap->nparts;
	snap->stats.assets = snap->nassets;
	snap->stats.listed = snap->nlisted;
	snap->arena = b->arena;
	b->arena.head = NULL;
	b->built = true;
	*out = snap;
	return 0;
}
