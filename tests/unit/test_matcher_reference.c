/*
 * Reference check of the matcher engine: random rule sets (IPv4/IPv6 prefixes of every length,
 * nested and overlapping, IPv6-typed mapped prefixes; domains with shared suffixes, exact and
 * suffix entries; ASNs; duplicates across feeds, expired entries, an allowlist) and at least
 * 100,000 random queries per seed, answered by the engine and by the deliberately naive linear
 * scans below. Answers must be identical as sorted sets of (role, entry id); so must the
 * `listed` triples. Runs a fixed seed and one random seed (printed on failure); a seed given
 * as argv[1] replaces the random one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "test_matcher_common.h"

#define ROUNDS          20
#define QUERIES_PER_RUN 6000 /* per round and kind: 20 * 6000 * 3 kinds >= 100,000 */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* splitmix64 */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rndn(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* ----- the naive model ----------------------------------------------------------------------- */

struct nentry {
	enum matcher_type type;
	uint8_t ip[16]; /* masked */
	unsigned plen;  /* over 128 bits */
	char name[64];
	bool exact;
	uint32_t asn;
	uint32_t participant; /* assets */
};

struct model {
	struct nentry ind[4096], asset[2048], allow[64];
	size_t nind, nasset, nallow;
	struct matcher_listed listed[65536];
	size_t nlisted;
};

static struct model M;
static uint64_t hits[4], queries; /* non-empty answers by kind (ip, name, asn, listed) */

static void mask(uint8_t *ip, unsigned plen)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		ip[i] &= plen <= 8 * i ? 0 : (uint8_t)(0xff00 >> (plen - 8 * i));
	}
}

static bool covers(const uint8_t *net, unsigned plen, const uint8_t *addr)
{
	uint8_t a[16];

	memcpy(a, addr, 16);
	mask(a, plen);
	return memcmp(a, net, 16) == 0;
}

static bool dom_under(const char *name, const char *parent)
{
	size_t n = strlen(name), p = strlen(parent);

	return n > p && name[n - p - 1] == '.' && strcmp(name + n - p, parent) == 0;
}

static bool same_key(const struct nentry *a, const struct nentry *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case MATCHER_TYPE_DOMAIN:
		return a->exact == b->exact && strcmp(a->name, b->name) == 0;
	case MATCHER_TYPE_ASN:
		return a->asn == b->asn;
	default:
		return a->plen == b->plen && memcmp(a->ip, b->ip, 16) == 0;
	}
}

static bool allowed(const struct nentry *e)
{
	size_t i;

	for (i = 0; i < M.nallow; i++) {
		const struct nentry *w = &M.allow[i];

		if (w->type == MATCHER_TYPE_DOMAIN && e->type == MATCHER_TYPE_DOMAIN &&
		    (strcmp(w->name, e->name) == 0 || dom_under(e->name, w->name)))
			return true;
		if (w->type == MATCHER_TYPE_ASN && e->type == MATCHER_TYPE_ASN && w->asn == e->asn)
			return true;
		if ((w->type == MATCHER_TYPE_IPV4 || w->type == MATCHER_TYPE_IPV6) &&
		    (e->type == MATCHER_TYPE_IPV4 || e->type == MATCHER_TYPE_IPV6) &&
		    w->plen <= e->plen && covers(w->ip, w->plen, e->ip))
			return true;
	}
	return false;
}

static int match_cmp(const void *pa, const void *pb)
{
	const struct matcher_match *a = pa, *b = pb;

	if (a->role != b->role)
		return a->role < b->role ? -1 : 1;
	return a->entry_id < b->entry_id ? -1 : a->entry_id > b->entry_id;
}

/* ----- random values ------------------------------------------------------------------------- */

static const char *const labels[] = { "a",       "b",       "ab",  "ba",  "xa",
	                              "evil",    "notevil", "c-d", "x_y", "xn--bcher-kva",
	                              "example", "nl" };
static const char *const tlds[] = { "example", "test", "nl", "co.uk", "a" };

/* Odd rounds keep entries sparse (no very short prefixes, no bare TLDs) so that many
 * queries find nothing; even rounds let everything nest under everything. */
static bool sparse;

static void random_domain(char *out, size_t size)
{
	unsigned n = sparse ? 1 + rndn(2) : rndn(3), i;
	size_t at = (size_t)snprintf(out, size, "%s", tlds[rndn(5)]);

	for (i = 0; i < n; i++) {
		char tmp[64];

		snprintf(tmp, sizeof(tmp), "%s.%s", labels[rndn(12)], out);
		at = (size_t)snprintf(out, size, "%s", tmp);
	}
	(void)at;
}

/* A random prefix: fresh, or nested inside / around an earlier one for overlap. */
static void random_ip(struct nentry *e, const struct nentry *pool, size_t npool)
{
	unsigned r = rndn(10), i;

	for (i = 0; i < 16; i += 8) {
		uint64_t x = rnd();

		memcpy(e->ip + i, &x, 8);
	}
	if (npool > 0 && r < 5) {
		/* nested: start from an existing prefix, take any length */
		const struct nentry *p = &pool[rndn((unsigned)npool)];

		if (p->type == MATCHER_TYPE_IPV4 || p->type == MATCHER_TYPE_IPV6) {
			unsigned k;

			for (k = 0; k < 16; k++) {
				if (8 * k < p->plen) {
					uint8_t keep =
					        p->plen >= 8 * (k + 1)
					                ? 0xff
					                : (uint8_t)(0xff00 >> (p->plen - 8 * k));

					e->ip[k] =
					        (uint8_t)((p->ip[k] & keep) | (e->ip[k] & ~keep));
				}
			}
			e->type = p->type;
			if (p->type == MATCHER_TYPE_IPV4)
				e->plen = 96 + rndn(33);
			else
				e->plen = rndn(129);
			if (sparse && e->plen < p->plen)
				e->plen = p->plen;
			mask(e->ip, e->plen);
			return;
		}
	}
	if (r < 8) {
		memset(e->ip, 0, 10);
		e->ip[10] = e->ip[11] = 0xff;
		e->ip[12] = (uint8_t)(198 + rndn(3)); /* crowd a few /8s */
		e->type = MATCHER_TYPE_IPV4;
		e->plen = 96 + (rndn(4) == 0 && !sparse ? rndn(33) : 16 + rndn(17));
	} else {
		e->ip[0] = 0x20;
		e->ip[1] = (uint8_t)rndn(3);
		e->type = MATCHER_TYPE_IPV6;
		e->plen = rndn(10) == 0 && !sparse ? rndn(129) : 16 + rndn(113);
		if (rndn(20) == 0) { /* an IPv6-typed prefix inside the mapped space */
			memset(e->ip, 0, 10);
			e->ip[10] = e->ip[11] = 0xff;
			e->plen = 96 + rndn(33);
		}
	}
	mask(e->ip, e->plen);
}

static void random_entry(struct nentry *e, const struct nentry *pool, size_t npool)
{
	unsigned r = rndn(10);

	memset(e, 0, sizeof(*e));
	if (r < 6) {
		random_ip(e, pool, npool);
	} else if (r < 9) {
		e->type = MATCHER_TYPE_DOMAIN;
		random_domain(e->name, sizeof(e->name));
		e->exact = rndn(3) == 0;
	} else {
		e->type = MATCHER_TYPE_ASN;
		e->asn = rndn(8) == 0 ? 4294967295u : rndn(40);
	}
}

static struct matcher__value to_value(const struct nentry *e)
{
	struct matcher__value v;

	memset(&v, 0, sizeof(v));
	v.type = e->type;
	memcpy(v.ip.b, e->ip, 16);
	v.plen = (uint8_t)(e->type == MATCHER_TYPE_IPV4 ? e->plen - 96 : e->plen);
	if (e->type == MATCHER_TYPE_IPV4 || e->type == MATCHER_TYPE_IPV6) {
		unsigned k; /* give the builder unmasked host bits to clear */

		for (k = e->plen / 8; k < 16; k++)
			v.ip.b[k] = (uint8_t)(v.ip.b[k] |
			                      (rnd() & (k == e->plen / 8 ? (0xffu >> (e->plen % 8))
			                                                 : 0xffu)));
	}
	memcpy(v.domain, e->name, sizeof(e->name));
	v.asn = e->asn;
	return v;
}

/* The ASN "database" of the listed check: a function of the address's first bytes. */
static uint32_t ref_asn(void *arg, const struct matcher_ip *ip)
{
	(void)arg;
	if (ip->b[10] == 0xff && ip->b[11] == 0xff)
		return ip->b[13] % 7 == 0 ? 0 : (uint32_t)(ip->b[13] % 40);
	return ip->b[1] == 1 ? 4294967295u : 0;
}

/* ----- one round -------------------------------------------------------------------------------
 */

static size_t naive_ip(const uint8_t *addr, struct matcher_match *out)
{
	size_t n = 0, i;

	for (i = 0; i < M.nind; i++) {
		const struct nentry *e = &M.ind[i];

		if ((e->type == MATCHER_TYPE_IPV4 || e->type == MATCHER_TYPE_IPV6) &&
		    covers(e->ip, e->plen, addr))
			out[n++] = (struct matcher_match){ (uint32_t)i, MATCHER_ROLE_INDICATOR };
	}
	for (i = 0; i < M.nasset; i++) {
		const struct nentry *e = &M.asset[i];

		if ((e->type == MATCHER_TYPE_IPV4 || e->type == MATCHER_TYPE_IPV6) &&
		    covers(e->ip, e->plen, addr))
			out[n++] = (struct matcher_match){ (uint32_t)i, MATCHER_ROLE_ASSET };
	}
	for (i = 0; i < M.nallow; i++) {
		const struct nentry *e = &M.allow[i];

		if ((e->type == MATCHER_TYPE_IPV4 || e->type == MATCHER_TYPE_IPV6) &&
		    covers(e->ip, e->plen, addr))
			out[n++] = (struct matcher_match){ (uint32_t)i, MATCHER_ROLE_ALLOW };
	}
	return n;
}

static bool dom_hits(const struct nentry *e, const char *name)
{
	if (e->type != MATCHER_TYPE_DOMAIN)
		return false;
	if (strcmp(e->name, name) == 0)
		return true;
	return !e->exact && dom_under(name, e->name);
}

static size_t naive_dom(const char *name, struct matcher_match *out)
{
	size_t n = 0, i;

	for (i = 0; i < M.nind; i++) {
		if (dom_hits(&M.ind[i], name))
			out[n++] = (struct matcher_match){ (uint32_t)i, MATCHER_ROLE_INDICATOR };
	}
	for (i = 0; i < M.nasset; i++) {
		if (dom_hits(&M.asset[i], name))
			out[n++] = (struct matcher_match){ (uint32_t)i, MATCHER_ROLE_ASSET };
	}
	for (i = 0; i < M.nallow; i++) {
		if (dom_hits(&M.allow[i], name))
			out[n++] = (struct matcher_match){ (uint32_t)i, MATCHER_ROLE_ALLOW };
	}
	return n;
}

static size_t naive_asn(uint32_t asn, struct matcher_match *out)
{
	size_t n = 0, i;

	for (i = 0; i < M.nind; i++) {
		if (M.ind[i].type == MATCHER_TYPE_ASN && M.ind[i].asn == asn)
			out[n++] = (struct matcher_match){ (uint32_t)i, MATCHER_ROLE_INDICATOR };
	}
	for (i = 0; i < M.nasset; i++) {
		if (M.asset[i].type == MATCHER_TYPE_ASN && M.asset[i].asn == asn)
			out[n++] = (struct matcher_match){ (uint32_t)i, MATCHER_ROLE_ASSET };
	}
	for (i = 0; i < M.nallow; i++) {
		if (M.allow[i].type == MATCHER_TYPE_ASN && M.allow[i].asn == asn)
			out[n++] = (struct matcher_match){ (uint32_t)i, MATCHER_ROLE_ALLOW };
	}
	return n;
}

static bool is_ip(const struct nentry *e)
{
	return e->type == MATCHER_TYPE_IPV4 || e->type == MATCHER_TYPE_IPV6;
}

static bool naive_touches(const struct nentry *ind, const struct nentry *a)
{
	if (is_ip(ind) && is_ip(a)) {
		return covers(ind->ip, ind->plen, a->ip) || covers(a->ip, a->plen, ind->ip);
	}
	if (is_ip(ind) && a->type == MATCHER_TYPE_ASN) {
		struct matcher_ip ip;
		uint32_t asn;

		memcpy(ip.b, ind->ip, 16);
		asn = ref_asn(NULL, &ip);
		return asn != 0 && asn == a->asn;
	}
	if (ind->type == MATCHER_TYPE_DOMAIN && a->type == MATCHER_TYPE_DOMAIN) {
		if (strcmp(ind->name, a->name) == 0 || dom_under(ind->name, a->name))
			return true;
		return !ind->exact && dom_under(a->name, ind->name);
	}
	return ind->type == MATCHER_TYPE_ASN && a->type == MATCHER_TYPE_ASN && ind->asn == a->asn;
}

static bool same_answer(const struct matcher_match *a, size_t na, struct matcher_match *b,
                        size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	qsort(b, nb, sizeof(*b), match_cmp);
	for (i = 0; i < na; i++) {
		if (a[i].role != b[i].role || a[i].entry_id != b[i].entry_id)
			return false;
	}
	return true;
}

static void random_query_ip(uint8_t *addr)
{
	unsigned r = rndn(10), k;
	uint64_t x = rnd(), y = rnd();

	memcpy(addr, &x, 8);
	memcpy(addr + 8, &y, 8);
	if (r < 6 && M.nind + M.nasset > 0) {
		/* inside (or at an edge of) a random prefix */
		size_t pick = rndn((unsigned)(M.nind + M.nasset));
		const struct nentry *e = pick < M.nind ? &M.ind[pick] : &M.asset[pick - M.nind];

		if (is_ip(e)) {
			unsigned edge = rndn(4);

			for (k = 0; k < 16; k++) {
				uint8_t keep = e->plen >= 8 * (k + 1) ? 0xff
				               : e->plen <= 8 * k
				                       ? 0
				                       : (uint8_t)(0xff00 >> (e->plen - 8 * k));
				uint8_t host = edge == 0 ? 0 : edge == 1 ? 0xff : addr[k];

				addr[k] = (uint8_t)((e->ip[k] & keep) | (host & ~keep));
			}
			if (rndn(4) == 0) { /* one past the edge */
				for (k = 16; k-- > 0;) {
					if (edge == 1 ? ++addr[k] != 0 : addr[k]-- != 0)
						break;
				}
			}
			return;
		}
	}
	if (r < 8) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		addr[12] = (uint8_t)(197 + rndn(5));
	} else {
		addr[0] = 0x20;
		addr[1] = (uint8_t)rndn(3);
	}
}

static void random_query_name(char *out, size_t size)
{
	unsigned r = rndn(10);
	char base[64];

	if (r < 7 && M.nind + M.nasset > 0) {
		size_t pick = rndn((unsigned)(M.nind + M.nasset));
		const struct nentry *e = pick < M.nind ? &M.ind[pick] : &M.asset[pick - M.nind];

		if (e->type == MATCHER_TYPE_DOMAIN) {
			switch (rndn(4)) {
			case 0:
				snprintf(out, size, "%s", e->name);
				return;
			case 1:
				snprintf(out, size, "%s.%s", labels[rndn(12)], e->name);
				return;
			case 2: /* a lookalike: no dot before the entry */
				snprintf(out, size, "%s%s", labels[rndn(12)], e->name);
				return;
			default: {
				const char *dot = strchr(e->name, '.');

				snprintf(out, size, "%s", dot ? dot + 1 : e->name);
				return;
			}
			}
		}
	}
	random_domain(base, sizeof(base));
	snprintf(out, size, "%s", base);
}

static void run_round(unsigned round)
{
	struct matcher__builder *b = matcher__builder_new();
	struct matcher_snapshot *s = NULL;
	struct nentry raw[4096];
	int64_t expires[4096];
	int feeds[3];
	size_t nraw = 200 + rndn(1400), i, j, q;
	size_t nparts = 1 + rndn(20), nassets = rndn(400), nallow = rndn(8);
	static struct matcher_match want[8192], got[8192];
	const struct matcher_listed *l;
	size_t nl;

	memset(&M, 0, sizeof(M));
	sparse = round % 2 == 1;
	matcher__builder_set_now(b, 1000);
	matcher__builder_set_asn_fn(b, ref_asn, NULL);
	for (i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "feed%zu", i);
		feeds[i] = tfeed(b, name);
	}
	/* the allowlist first: the naive model drops what it covers */
	for (i = 0; i < nallow; i++) {
		struct matcher__value v;

		random_entry(&M.allow[M.nallow], M.allow, M.nallow);
		M.allow[M.nallow].exact = false; /* allowlisted names cover their subdomains */
		v = to_value(&M.allow[M.nallow]);
		CHECK_EQ(matcher__builder_allow(b, &v), 0);
		M.nallow++;
	}
	for (i = 0; i < nraw; i++) {
		struct matcher__indicator_in in;

		if (i > 0 && rndn(8) == 0)
			raw[i] = raw[rndn((unsigned)i)]; /* a duplicate, maybe in another feed */
		else
			random_entry(&raw[i], raw, i);
		expires[i] = rndn(10) == 0 ? 999 + rndn(3) : 0; /* 999, 1000: expired; 1001 not */
		memset(&in, 0, sizeof(in));
		in.v = to_value(&raw[i]);
		in.exact = raw[i].exact;
		in.confidence = (uint8_t)rndn(101);
		in.expires = expires[i];
		CHECK_EQ(matcher__builder_indicator(b, feeds[rndn(3)], &in), 0);
		/* the naive model: keep the first of each key, unless expired or allowlisted */
		if (expires[i] != 0 && expires[i] <= 1000)
			continue;
		if (allowed(&raw[i]))
			continue;
		for (j = 0; j < M.nind; j++) {
			if (same_key(&M.ind[j], &raw[i]))
				break;
		}
		if (j == M.nind)
			M.ind[M.nind++] = raw[i];
	}
	for (i = 0; i < nparts; i++) {
		char id[16];

		snprintf(id, sizeof(id), "p%zu", i);
		CHECK_EQ(tpart(b, id), (int)i);
	}
	for (i = 0; i < nassets; i++) {
		struct nentry *a = &M.asset[M.nasset];
		struct matcher__value v;

		random_entry(a, rndn(2) ? M.ind : M.asset, rndn(2) ? M.nind : M.nasset);
		a->exact = false; /* assets are names with their subdomains */
		a->participant = rndn((unsigned)nparts);
		v = to_value(a);
		CHECK_EQ(matcher__builder_asset(b, (int)a->participant, &v), 0);
		M.nasset++;
	}
	CHECK_EQ(matcher__builder_build(b, &s), 0);
	matcher__builder_free(b);
	if (s == NULL)
		return;
	CHECK_U64(matcher_snapshot_stats(s)->indicators, M.nind);
	for (i = 0; i < M.nind && i < matcher_snapshot_stats(s)->indicators; i++)
		CHECK_EQ(matcher_indicator(s, (uint32_t)i)->type, M.ind[i].type);

	for (q = 0; q < QUERIES_PER_RUN; q++) {
		struct matcher_ip ip;
		const struct matcher_match *m;
		char name[128];
		uint32_t asn;
		size_t n, nw;

		random_query_ip(ip.b);
		n = matcher_lookup_ip(s, &ip, &m);
		nw = naive_ip(ip.b, want);
		hits[0] += nw > 0;
		queries++;
		if (!same_answer(m, n, want, nw)) {
			char txt[64];

			inet_ntop(AF_INET6, ip.b, txt, sizeof(txt));
			CHECK_FAIL_("round %u: ip %s: engine %zu matches, naive %zu", round, txt, n,
			            nw);
		}
		random_query_name(name, sizeof(name));
		n = matcher_lookup_domain(s, name, strlen(name), got, 8192);
		nw = naive_dom(name, want);
		hits[1] += nw > 0;
		if (!same_answer(got, n, want, nw))
			CHECK_FAIL_("round %u: name %s: engine %zu matches, naive %zu", round, name,
			            n, nw);
		asn = rndn(8) == 0 ? 4294967295u - rndn(2) : rndn(45);
		n = matcher_lookup_asn(s, asn, &m);
		nw = naive_asn(asn, want);
		hits[2] += nw > 0;
		if (!same_answer(m, n, want, nw))
			CHECK_FAIL_("round %u: AS%" PRIu32 ": engine %zu matches, naive %zu", round,
			            asn, n, nw);
	}

	/* listed: every (participant, indicator, asset) the naive double loop finds, sorted */
	for (i = 0; i < M.nasset; i++) {
		for (j = 0; j < M.nind; j++) {
			if (naive_touches(&M.ind[j], &M.asset[i]) && M.nlisted < 65536)
				M.listed[M.nlisted++] =
				        (struct matcher_listed){ M.asset[i].participant,
					                         (uint32_t)j, (uint32_t)i };
		}
	}
	nl = matcher_listed(s, &l);
	hits[3] += M.nlisted;
	CHECK_EQ(nl, M.nlisted);
	for (i = 0; i < M.nlisted; i++) {
		for (j = 0; j < nl; j++) {
			if (l[j].participant == M.listed[i].participant &&
			    l[j].indicator == M.listed[i].indicator &&
			    l[j].asset == M.listed[i].asset)
				break;
		}
		if (j == nl) {
			CHECK_FAIL_("round %u: listed (%u, %u, %u) missing", round,
			            M.listed[i].participant, M.listed[i].indicator,
			            M.listed[i].asset);
			break;
		}
	}
	matcher_snapshot_free(s);
}

static uint64_t seed_now;

static void test_engine_answers_like_naive_scan(void)
{
	unsigned r;

	rng_state = seed_now;
	for (r = 0; r < ROUNDS && check_failures_ < 20; r++)
		run_round(r);
	if (check_failures_ > 0)
		fprintf(stderr, "reference check failed with seed %" PRIu64 "\n", seed_now);
}

int main(int argc, char **argv)
{
	uint64_t fixed = 20261204, random_seed;

	random_seed = argc > 1 ? strtoull(argv[1], NULL, 0)
	                       : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	seed_now = fixed;
	RUN(test_engine_answers_like_naive_scan);
	seed_now = random_seed;
	RUN(test_engine_answers_like_naive_scan);
	printf("seeds %" PRIu64 " %" PRIu64 "\n", fixed, random_seed);
	printf("%" PRIu64 " queries of each kind; answered: ip %" PRIu64 ", name %" PRIu64
	       ", asn %" PRIu64 "; listed triples %" PRIu64 "\n",
	       queries, hits[0], hits[1], hits[2], hits[3]);
	return check_summary();
}
