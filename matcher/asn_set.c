/*
 * ASN sets: AS number -> interned list of the entries naming it. A sorted array searched by
 * bisection: ASN lookups happen once per flow (after the ASN database), and the sets are small
 * next to the prefix sets, so the simplest structure that never allocates is enough.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static int asn_entry_cmp(const void *pa, const void *pb)
{
	const struct matcher__asn_entry *a = pa, *b = pb;

	if (a->asn != b->asn)
		return a->asn < b->asn ? -1 : 1;
	return matcher__match_cmp(&a->m, &b->m);
}

int matcher__asn_build(struct matcher__asn_entry *e, size_t n, struct matcher__lists *lists,
                       struct matcher__asnset *s)
{
	struct matcher_match *buf;
	size_t i, j;
	int err = 0;

	memset(s, 0, sizeof(*s));
	qsort(e, n, sizeof(*e), asn_entry_cmp);
	buf = calloc(n + 1, sizeof(*buf));
	s->v = calloc(n + 1, sizeof(*s->v));
	if (buf == NULL || s->v == NULL) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i = j) {
		size_t k = 0;

		for (j = i; j < n && e[j].asn == e[i].asn; j++) {
			if (k == 0 || matcher__match_cmp(&buf[k - 1], &e[j].m) != 0)
				buf[k++] = e[j].m;
		}
		s->v[s->n][0] = e[i].asn;
		err = matcher__lists_intern(lists, buf, k, &s->v[s->n][1]);
		if (err)
			goto out;
		s->n++;
	}
out:
	free(buf);
	if (err)
		matcher__asnset_free(s);
	return err;
}

uint32_t matcher__asn_ref(const struct matcher__asnset *s, uint32_t asn)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->v[mid][0] < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->v[lo][0] == asn ? s->v[lo][1] : 0;
}

void matcher__asnset_free(struct matcher__asnset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
