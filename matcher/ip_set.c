/*
 * IPv4 and IPv6 prefix sets: an address maps to the list of every entry covering it.
 * Build flattens the (nested, overlapping) prefixes into disjoint address ranges, each naming
 * an interned match list, then indexes the range starts for a one-search lookup.
 *
 * Design note. Prefixes are either nested or disjoint, so a sweep over them sorted by (start,
 * length) with a stack of the open prefixes yields every range boundary and, at each, the
 * stack's union of matches (interned: ranges that return to an enclosing prefix share its
 * list). The lookup structure is a direct-indexed table over the top `bits` bits of the
 * address (for IPv6: of the bits after the prefix all range starts share). A table word is
 * either the ref of the single range covering the whole bucket (one memory access, the common
 * case) or the index of the bucket's sorted range starts, searched linearly when short and by
 * bisection when long. The table has one to two buckets per range (IPv4: up to 2^24, as
 * DIR-24-8's first level; IPv6: up to 2^22), so memory stays linear in the number of
 * prefixes while most lookups cost one or two cache misses, as DIR-24-8 does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

typedef unsigned __int128 u128;

static const u128 MAPPED_START = (u128)0xffff << 32; /* ::ffff:0:0 */

/* An entry as the sweep sees it, in a space of `width` bits. */
struct sweep_in {
	u128 start;
	struct matcher_match m;
	uint8_t host; /* host bits: the prefix ends at start + 2^host - 1 (32 bytes in all) */
};

static u128 sweep_end(const struct sweep_in *e)
{
	if (e->host >= 128)
		return ~(u128)0;
	return e->start | (((u128)1 << e->host) - 1);
}

struct flat_buf {
	u128 *start;
	uint32_t *ref;
	size_t n, cap;
};

static int flat_emit(struct flat_buf *f, u128 pos, uint32_t ref)
{
	if (f->n > 0 && f->start[f->n - 1] == pos)
		f->n--;
	if (f->n > 0 && f->ref[f->n - 1] == ref)
		return 0;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		u128 *s = reallocarray(f->start, cap, sizeof(*s));
		uint32_t *r;

		if (s == NULL)
			return -ENOMEM;
		f->start = s;
		r = reallocarray(f->ref, cap, sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		f->ref = r;
		f->cap = cap;
	}
	f->start[f->n] = pos;
	f->ref[f->n] = ref;
	f->n++;
	return 0;
}

static int sweep_cmp(const void *pa, const void *pb)
{
	const struct sweep_in *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->host != b->host)
		return a->host > b->host ? -1 : 1; /* the enclosing (longer) one first */
	return matcher__match_cmp(&a->m, &b->m);
}

struct open_prefix {
	u128 end;
	uint32_t ref;
};

/*
 * Sweep n entries (any order; sorted here) of a space whose last address is max into
 * disjoint ranges in f.
 */
static int sweep(struct sweep_in *in, size_t n, u128 max, struct matcher__lists *lists,
                 struct flat_buf *f)
{
	struct open_prefix stack[130];
	struct matcher_match *buf = NULL;
	size_t depth = 0, bufcap = 0, i = 0;
	int err;

	qsort(in, n, sizeof(*in), sweep_cmp);
	err = flat_emit(f, 0, 0);
	while (err == 0 && i < n) {
		const struct matcher_match *top = NULL;
		size_t j, ntop, need, k;
		uint32_t ref;

		/* close the prefixes that end before this one starts */
		while (depth > 0 && stack[depth - 1].end < in[i].start) {
			u128 e = stack[--depth].end;

			if (e != max) {
				err = flat_emit(f, e + 1, depth > 0 ? stack[depth - 1].ref : 0);
				if (err)
					goto out;
			}
		}
		/* the group of entries with this very prefix */
		for (j = i + 1; j < n && in[j].start == in[i].start && in[j].host == in[i].host;
		     j++)
			;
		ntop = depth > 0 ? matcher__ref_get(lists->pool, stack[depth - 1].ref, &top) : 0;
		need = ntop + (j - i);
		if (need > bufcap) {
			struct matcher_match *p = reallocarray(buf, need * 4, sizeof(*p));

			if (p == NULL) {
				err = -ENOMEM;
				goto out;
			}
			buf = p;
			bufcap = need * 2;
		}
		/* buf: the group's distinct matches, then their union with the enclosing list */
		{
			struct matcher_match *grp = buf + bufcap;
			size_t ng = 0, g;

			for (g = i; g < j; g++) {
				if (ng == 0 || matcher__match_cmp(&grp[ng - 1], &in[g].m) != 0)
					grp[ng++] = in[g].m;
			}
			k = matcher__match_merge(top, ntop, grp, ng, buf);
		}
		err = matcher__lists_intern(lists, buf, k, &ref);
		if (err)
			goto out;
		err = flat_emit(f, in[i].start, ref);
		if (err)
			goto out;
		stack[depth].end = sweep_end(&in[i]);
		stack[depth].ref = ref;
		depth++;
		i = j;
	}
	while (err == 0 && depth > 0) {
		u128 e = stack[--depth].end;

		if (e != max)
			err = flat_emit(f, e + 1, depth > 0 ? stack[depth - 1].ref : 0);
	}
out:
	free(buf);
	return err;
}

static unsigned ceil_log2(size_t n)
{
	unsigned b = 0;

	while (((size_t)1 << b) < n)
		b++;
	return b;
}

static unsigned clampu(unsigned v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ----- IPv4 ---------------------------------------------------------------------------------- */

static int ip4_index(struct matcher__ip4set *s, const struct flat_buf *f)
{
	size_t nb, b, i = 0, npairs = 0, cap;
	uint32_t(*pairs)[2];

	/*
	 * Two buckets per range or more, at least 256, at most 2^24 (64 MiB, DIR-24-8's first
	 * level): with /24 the most common length of threat feeds, most lookups of a big set
	 * then end in the table itself.
	 */
	s->bits = (uint8_t)clampu(ceil_log2(f->n) + 1, 8, 24);
	s->shift = (uint8_t)(32 - s->bits);
	nb = (size_t)1 << s->bits;
	s->dir = matcher__table_alloc(nb * sizeof(*s->dir));
	cap = f->n + 64;
	pairs = malloc(cap * sizeof(*pairs));
	if (s->dir == NULL || pairs == NULL) {
		free(pairs);
		return -ENOMEM;
	}
	for (b = 0; b < nb; b++) {
		uint32_t bstart = (uint32_t)(b << s->shift);
		uint32_t bend = bstart + ((UINT32_C(1) << s->shift) - 1);
		size_t k;

		while (i + 1 < f->n && f->start[i + 1] <= bstart)
			i++;
		for (k = i + 1; k < f->n && f->start[k] <= bend; k++)
			;
		if (k == i + 1) {
			s->dir[b] = f->ref[i];
			continue;
		}
		if (npairs + (k - i) + 1 > cap) {
			uint32_t(*p)[2];

			cap = (npairs + (k - i) + 1) * 2;
			p = reallocarray(pairs, cap, sizeof(*p));
			if (p == NULL) {
				free(pairs);
				return -ENOMEM;
			}
			pairs = p;
		}
		if (npairs >= MATCHER__DIR_BUCKET) {
			free(pairs);
			return -E2BIG;
		}
		s->dir[b] = MATCHER__DIR_BUCKET | (uint32_t)npairs;
		pairs[npairs][0] = (uint32_t)(k - i);
		pairs[npairs][1] = 0;
		npairs++;
		pairs[npairs][0] = bstart;
		pairs[npairs][1] = f->ref[i];
		npairs++;
		for (i = i + 1; i < k; i++, npairs++) {
			pairs[npairs][0] = (uint32_t)f->start[i];
			pairs[npairs][1] = f->ref[i];
		}
		i = k - 1;
	}
	/* the final copy goes where huge pages may back it */
	s->pairs = matcher__table_alloc((npairs + 1) * sizeof(*pairs));
	if (s->pairs == NULL) {
		free(pairs);
		return -ENOMEM;
	}
	memcpy(s->pairs, pairs, npairs * sizeof(*pairs));
	free(pairs);
	s->npairs = npairs;
	return 0;
}

/* ----- IPv6 ---------------------------------------------------------------------------------- */

static unsigned clz128(u128 x)
{
	uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;

	if (hi != 0)
		return (unsigned)__builtin_clzll(hi);
	if (lo != 0)
		return 64 + (unsigned)__builtin_clzll(lo);
	return 128;
}

static int ip6_index(struct matcher__ip6set *s, const struct flat_buf *f)
{
	size_t nb, b, i = 0, npairs = 0, cap;
	struct matcher__ip6pair *pairs;
	unsigned skip = 0, width;
	u128 region = 0;

	s->bits = (uint8_t)clampu(ceil_log2(f->n), 8, 22);
	if (f->n >= 2) {
		skip = clz128(f->start[1] ^ f->start[f->n - 1]);
		if (skip > 64u - s->bits)
			skip = 64u - s->bits;
	}
	s->skip = (uint8_t)skip;
	if (skip > 0) {
		s->common = (uint64_t)(f->start[1] >> (128 - skip));
		region = (u128)s->common << (128 - skip);
	}
	s->ref_below = f->ref[0];
	s->ref_above = f->ref[f->n - 1];
	width = 128 - skip - s->bits; /* address bits inside one bucket */
	nb = (size_t)1 << s->bits;
	s->dir = matcher__table_alloc(nb * sizeof(*s->dir));
	cap = f->n + 64;
	pairs = malloc(cap * sizeof(*pairs));
	if (s->dir == NULL || pairs == NULL) {
		free(pairs);
		return -ENOMEM;
	}
	for (b = 0; b < nb; b++) {
		u128 bstart = region | ((u128)b << width);
		u128 bend = bstart + (((u128)1 << width) - 1);
		size_t k;

		while (i + 1 < f->n && f->start[i + 1] <= bstart)
			i++;
		for (k = i + 1; k < f->n && f->start[k] <= bend; k++)
			;
		if (k == i + 1) {
			s->dir[b] = f->ref[i];
			continue;
		}
		if (npairs + (k - i) > cap) {
			struct matcher__ip6pair *p;

			cap = (npairs + (k - i)) * 2;
			p = reallocarray(pairs, cap, sizeof(*p));
			if (p == NULL) {
				free(pairs);
				return -ENOMEM;
			}
			pairs = p;
		}
		if (npairs >= MATCHER__DIR_BUCKET) {
			free(pairs);
			return -E2BIG;
		}
		s->dir[b] = MATCHER__DIR_BUCKET | (uint32_t)npairs;
		pairs[npairs].hi = (uint64_t)(bstart >> 64);
		pairs[npairs].lo = (uint64_t)bstart;
		pairs[npairs].ref = f->ref[i];
		pairs[npairs].n = (uint32_t)(k - i); /* the bucket's first pair counts them */
		npairs++;
		for (i = i + 1; i < k; i++, npairs++) {
			pairs[npairs].hi = (uint64_t)(f->start[i] >> 64);
			pairs[npairs].lo = (uint64_t)f->start[i];
			pairs[npairs].ref = f->ref[i];
			pairs[npairs].n = 0;
		}
		i = k - 1;
	}
	s->pairs = matcher__table_alloc((npairs + 1) * sizeof(*pairs));
	if (s->pairs == NULL) {
		free(pairs);
		return -ENOMEM;
	}
	memcpy(s->pairs, pairs, npairs * sizeof(*pairs));
	free(pairs);
	s->npairs = npairs;
	return 0;
}

static bool pair6_le(const struct matcher__ip6pair *p, uint64_t hi, uint64_t lo)
{
	return p->hi < hi || (p->hi == hi && p->lo <= lo);
}

uint32_t matcher__ip6_ref(const struct matcher__ip6set *s, uint64_t hi, uint64_t lo)
{
	const struct matcher__ip6pair *p;
	uint64_t idx = hi;
	uint32_t d, n, l, h;

	if (s->skip > 0) {
		uint64_t top = hi >> (64 - s->skip);

		if (top != s->common)
			return top < s->common ? s->ref_below : s->ref_above;
		idx = hi << s->skip;
	}
	d = s->dir[idx >> (64 - s->bits)];
	if (!(d & MATCHER__DIR_BUCKET))
		return d;
	p = s->pairs + (d & ~MATCHER__DIR_BUCKET);
	n = p[0].n;
	if (n <= 8) {
		uint32_t i = 0;

		while (i + 1 < n && pair6_le(&p[i + 1], hi, lo))
			i++;
		return p[i].ref;
	}
	l = 0;
	h = n;
	while (h - l > 1) {
		uint32_t mid = l + (h - l) / 2;

		if (pair6_le(&p[mid], hi, lo))
			l = mid;
		else
			h = mid;
	}
	return p[l].ref;
}

/* ----- both -------------------------------------------------------------------------------- */

static bool prefix_covers_mapped(u128 start, unsigned plen)
{
	if (plen > 96)
		return false;
	if (plen == 0)
		return true;
	return (start >> (128 - plen)) == (MAPPED_START >> (128 - plen));
}

static int flat_take(struct flat_buf *b, struct matcher__ip_flat *f)
{
	f->start = b->start;
	f->ref = b->ref;
	f->n = b->n;
	memset(b, 0, sizeof(*b));
	return 0;
}

int matcher__ip_build(struct matcher__ip_entry *e, size_t n, struct matcher__lists *lists,
                      struct matcher__ip4set *s4, struct matcher__ip6set *s6,
                      struct matcher__ip_flat *flat4, struct matcher__ip_flat *flat6)
{
	struct sweep_in *in4 = NULL, *in6 = NULL;
	struct flat_buf f4 = { 0 }, f6 = { 0 };
	size_t n4 = 0, n6 = 0, i;
	int err = -ENOMEM;

	memset(s4, 0, sizeof(*s4));
	memset(s6, 0, sizeof(*s6));
	memset(flat4, 0, sizeof(*flat4));
	memset(flat6, 0, sizeof(*flat6));
	in4 = calloc(n + 1, sizeof(*in4));
	in6 = calloc(n + 1, sizeof(*in6));
	if (in4 == NULL || in6 == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		u128 start = e[i].start;
		unsigned plen = e[i].plen > 128 ? 128 : e[i].plen;

		if (plen < 128) /* clear host bits whatever the caller did */
			start &= plen == 0 ? 0 : ~(u128)0 << (128 - plen);
		if (plen >= 96 && (start >> 32) == 0xffff) {
			in4[n4].start = start & 0xffffffffu;
			in4[n4].host = (uint8_t)(128 - plen);
			in4[n4++].m = e[i].m;
			continue;
		}
		if (prefix_covers_mapped(start, plen)) {
			in4[n4].start = 0;
			in4[n4].host = 32;
			in4[n4++].m = e[i].m;
		}
		in6[n6].start = start;
		in6[n6].host = (uint8_t)(128 - plen);
		in6[n6++].m = e[i].m;
	}
	err = sweep(in4, n4, 0xffffffffu, lists, &f4);
	if (err == 0)
		err = sweep(in6, n6, ~(u128)0, lists, &f6);
	if (err == 0)
		err = ip4_index(s4, &f4);
	if (err == 0)
		err = ip6_index(s6, &f6);
	if (err == 0) {
		flat_take(&f4, flat4);
		flat_take(&f6, flat6);
	}
out:
	free(in4);
	free(in6);
	free(f4.start);
	free(f4.ref);
	free(f6.start);
	free(f6.ref);
	if (err) {
		matcher__ip4set_free(s4);
		matcher__ip6set_free(s6);
	}
	return err;
}

void matcher__ip_flat_free(struct matcher__ip_flat *f)
{
	free(f->start);
	free(f->ref);
	memset(f, 0, sizeof(*f));
}

void matcher__ip4set_free(struct matcher__ip4set *s)
{
	free(s->dir);
	free(s->pairs);
	memset(s, 0, sizeof(*s));
}

void matcher__ip6set_free(struct matcher__ip6set *s)
{
	free(s->dir);
	free(s->pairs);
	memset(s, 0, sizeof(*s));
}

size_t matcher__ip4set_bytes(const struct matcher__ip4set *s)
{
	return (s->dir ? ((size_t)1 << s->bits) * sizeof(*s->dir) : 0) +
	       s->npairs * sizeof(*s->pairs);
}

size_t matcher__ip6set_bytes(const struct matcher__ip6set *s)
{
	return (s->dir ? ((size_t)1 << s->bits) * sizeof(*s->dir) : 0) +
	       s->npairs * sizeof(*s->pairs);
}
