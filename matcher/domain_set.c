/*
 * Domain sets: normalised names, each with the entries for "this name and its subdomains" and
 * for "exactly this name". A lookup probes the name and each of its parents (label suffixes).
 *
 * Design note. One open-addressing hash table whose slots are the name nodes themselves
 * (names of up to 16 bytes stored in the slot, longer ones by pointer), in Robin Hood order
 * so that a probe for an absent name stops early. A
 * name's hash is built label by label from the right: hash("a.b.c") = mix(hash("b.c"),
 * hash of label "a"), each label hashed eight bytes at a time, so one right-to-left pass over
 * an observed name yields the hash of every label suffix (`a.b.evil.example` -> `example`,
 * `evil.example`, ...). The lookup then overlaps the memory accesses: it prefetches the home
 * slot of every suffix, finds each suffix's candidate slot (hash tag and length equal) and
 * prefetches its name, and only then compares the names. The comparison covers whole
 * suffixes, so `notevil.example` never meets `evil.example`. Nothing is allocated at lookup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define DOM_MAX_LEN      255
#define DOM_MAX_SUFFIXES 128 /* a name of 255 bytes has at most 128 labels */
#define DOM_SEED         0x243f6a8885a308d3ull

static uint64_t dom_mix(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return h;
}

static uint64_t label_hash(const char *p, size_t n)
{
	uint64_t h = n * 0x9e3779b97f4a7c15ull, w;
	size_t i;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, sizeof(w));
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	if (n > 0) {
		w = 0;
		for (i = 0; i < n; i++)
			w |= (uint64_t)(unsigned char)p[i] << (8 * i);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	return h;
}

/*
 * The hash of every label suffix of name, shortest first: hs[k] for the suffix starting at
 * pos[k]. Returns how many (at most DOM_MAX_SUFFIXES).
 */
static size_t dom_suffixes(const char *name, size_t len, uint64_t *hs, uint32_t *pos)
{
	uint64_t h = DOM_SEED;
	size_t end = len, n = 0, k;

	while (n < DOM_MAX_SUFFIXES) {
		k = end;
		while (k > 0 && name[k - 1] != '.')
			k--;
		h = dom_mix(h * 0x9e3779b97f4a7c15ull ^ label_hash(name + k, end - k));
		hs[n] = h;
		pos[n] = (uint32_t)k;
		n++;
		if (k == 0)
			break;
		end = k - 1;
	}
	return n;
}

static uint64_t dom_home(const struct matcher__domset *s, uint64_t h)
{
	return (uint64_t)(((unsigned __int128)(h >> 32) * s->nslots) >> 32);
}

static int dom_entry_cmp(const void *pa, const void *pb)
{
	const struct matcher__dom_entry *a = pa, *b = pb;

	if (a->name != b->name)
		return (uintptr_t)a->name < (uintptr_t)b->name ? -1 : 1;
	if (a->exact != b->exact)
		return a->exact ? 1 : -1;
	return matcher__match_cmp(&a->m, &b->m);
}

static int dom_list(const struct matcher__dom_entry *e, size_t n, struct matcher__lists *lists,
                    struct matcher_match *buf, uint32_t *ref)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (k == 0 || matcher__match_cmp(&buf[k - 1], &e[i].m) != 0)
			buf[k++] = e[i].m;
	}
	return matcher__lists_intern(lists, buf, k, ref);
}

int matcher__dom_build(struct matcher__dom_entry *e, size_t n, struct matcher__lists *lists,
                       struct matcher__domset *s)
{
	uint64_t hs[DOM_MAX_SUFFIXES];
	uint32_t pos[DOM_MAX_SUFFIXES];
	struct matcher_match *buf = NULL;
	size_t i, j, nnodes = 0;
	int err = -ENOMEM;

	memset(s, 0, sizeof(*s));
	qsort(e, n, sizeof(*e), dom_entry_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && e[j].name == e[i].name; j++)
			;
		nnodes++;
	}
	s->nslots = nnodes + nnodes * 3 / 7 + 16; /* load <= 0.7 */
	s->slots = matcher__table_alloc(s->nslots * sizeof(*s->slots));
	buf = calloc(n + 1, sizeof(*buf));
	if (s->slots == NULL || buf == NULL)
		goto out;
	for (i = 0; i < n; i = j) {
		struct matcher__dnode d;
		size_t x, nsuf, ns;
		uint64_t h, slot;

		for (j = i + 1; j < n && e[j].name == e[i].name; j++)
			;
		if (e[i].len > DOM_MAX_LEN || e[i].len == 0)
			continue; /* cannot be looked up */
		/* sorted: the suffix entries first, then the exact ones */
		for (x = i; x < j && !e[x].exact; x++)
			;
		nsuf = x - i;
		memset(&d, 0, sizeof(d));
		d.len = (uint16_t)e[i].len;
		if (d.len <= MATCHER__DNAME_INLINE)
			memcpy(d.name.in, e[i].name, d.len);
		else
			d.name.ptr = e[i].name;
		err = dom_list(e + i, nsuf, lists, buf, &d.ref_suffix);
		if (err == 0)
			err = dom_list(e + x, j - x, lists, buf, &d.ref_exact);
		if (err)
			goto out;
		ns = dom_suffixes(e[i].name, d.len, hs, pos);
		if (pos[ns - 1] != 0)
			continue; /* more labels than any lookup walks */
		h = hs[ns - 1];
		d.tag = (uint32_t)h;
		/* Robin Hood: the entry further from its home slot keeps the slot */
		for (slot = dom_home(s, h); s->slots[slot].len != 0;) {
			if (s->slots[slot].dist < d.dist) {
				struct matcher__dnode t = s->slots[slot];

				s->slots[slot] = d;
				d = t;
			}
			slot = slot + 1 == s->nslots ? 0 : slot + 1;
			if (d.dist == UINT16_MAX) {
				err = -E2BIG;
				goto out;
			}
			d.dist++;
		}
		s->slots[slot] = d;
		s->nnodes++;
	}
	err = 0;
out:
	free(buf);
	if (err)
		matcher__domset_free(s);
	return err;
}

size_t matcher__dom_each(const struct matcher__domset *s, const char *name, size_t len,
                         matcher__dom_fn *fn, void *arg)
{
	uint64_t hs[DOM_MAX_SUFFIXES], at[DOM_MAX_SUFFIXES];
	uint32_t pos[DOM_MAX_SUFFIXES], dists[DOM_MAX_SUFFIXES];
	size_t nsuf, k, found = 0;

	if (s->nnodes == 0 || len == 0 || len > DOM_MAX_LEN)
		return 0;
	nsuf = dom_suffixes(name, len, hs, pos);
	for (k = 0; k < nsuf; k++) {
		at[k] = dom_home(s, hs[k]);
		__builtin_prefetch(&s->slots[at[k]]);
	}
	/*
	 * First pass: each suffix's first candidate (tag and length equal), whose name is then
	 * fetched. Robin Hood order ends a probe at the first slot nearer its home than the probe
	 * is to ours: that name and every later one cannot be ours.
	 */
	for (k = 0; k < nsuf; k++) {
		uint32_t tag = (uint32_t)hs[k];
		uint16_t slen = (uint16_t)(len - pos[k]);
		uint64_t slot = at[k];
		const struct matcher__dnode *d;
		uint32_t dist = 0;

		for (;; slot = slot + 1 == s->nslots ? 0 : slot + 1, dist++) {
			d = &s->slots[slot];
			if (d->len == 0 || d->dist < dist) {
				dist = UINT32_MAX; /* absent */
				break;
			}
			if (d->tag == tag && d->len == slen) {
				if (slen > MATCHER__DNAME_INLINE)
					__builtin_prefetch(d->name.ptr);
				break;
			}
		}
		at[k] = slot;
		dists[k] = dist;
	}
	/* second pass: compare, and walk on past a tag collision (rare) */
	for (k = 0; k < nsuf; k++) {
		uint32_t tag = (uint32_t)hs[k], dist = dists[k];
		uint16_t slen = (uint16_t)(len - pos[k]);
		uint64_t slot = at[k];
		const struct matcher__dnode *d;

		if (dist == UINT32_MAX)
			continue;
		for (;; slot = slot + 1 == s->nslots ? 0 : slot + 1, dist++) {
			const char *dn;

			d = &s->slots[slot];
			if (d->len == 0 || d->dist < dist)
				break;
			dn = slen <= MATCHER__DNAME_INLINE ? d->name.in : d->name.ptr;
			if (d->tag != tag || d->len != slen || memcmp(dn, name + pos[k], slen) != 0)
				continue;
			if (pos[k] == 0 && d->ref_exact != 0) {
				fn(arg, d->ref_exact);
				found++;
			}
			if (d->ref_suffix != 0) {
				fn(arg, d->ref_suffix);
				found++;
			}
			break;
		}
	}
	return found;
}

void matcher__domset_free(struct matcher__domset *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

size_t matcher__domset_bytes(const struct matcher__domset *s)
{
	return s->nslots * sizeof(*s->slots);
}
