/*
 * Matcher benchmark: build a snapshot of 1,000,000 IPv4 prefixes, 1,000,000 IPv6 prefixes,
 * 1,000,000 domains and 100,000 participants holding 500,000 assets (--scale shrinks all of
 * it), then measure build time, memory and single-thread lookups/s for IPv4, IPv6 and names,
 * each beside a naive baseline over the same rules and queries (binary search per prefix
 * length; binary search of every label suffix in a sorted name array). With DPDK (HAVE_DPDK)
 * the anchor is rte_fib (DIR-24-8) answering longest-prefix lookups over the same IPv4
 * prefixes and queries, one at a time and in bulks of 64. Output: lines "name value unit".
 *
 * Usage: bench_matcher [--scale F] [--queries N] [--no-dpdk] [--build-only]
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"

#ifdef HAVE_DPDK
#include <rte_eal.h>
#include <rte_fib.h>
#include <rte_lcore.h>
#include <rte_memory.h>
#endif

static uint64_t rng = 0x5eed2026;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/*
 * CPU time of this thread: the benchmark shares its machine, and wall time would count the
 * time other processes ran. Cache and memory contention from them still shows, equally for
 * every contender measured in the same run.
 */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, res = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static void out(const char *name, double value, const char *unit)
{
	printf("%s %.3f %s\n", name, value, unit);
	fflush(stdout);
}

/* ----- the rule set ------------------------------------------------------------------------- */

struct v4p {
	uint32_t net;
	uint8_t plen;
};

struct v6p {
	uint64_t hi, lo;
	uint8_t plen;
};

static struct v4p *p4;
static struct v6p *p6;
static char (*names)[40];
static size_t n4, n6, nnames;

static const char *const tlds[] = { "com",   "net", "org", "nl",  "de", "example", "info", "io",
	                            "co.uk", "ru",  "xyz", "top", "fr", "it",      "br",   "cn" };

static void random_label(char *out, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = (char)('a' + rnd() % 26);
	out[len] = '\0';
}

static void gen_rules(size_t want4, size_t want6, size_t wantn)
{
	size_t i;

	p4 = calloc(want4 + 1, sizeof(*p4));
	p6 = calloc(want6 + 1, sizeof(*p6));
	names = calloc(wantn + 1, sizeof(*names));
	if (p4 == NULL || p6 == NULL || names == NULL)
		abort();
	/* IPv4 as threat feeds look: half /24 blocks, 30% single hosts, 20% other lengths */
	for (i = 0; i < want4; i++) {
		uint64_t r = rnd();
		unsigned kind = (unsigned)(r % 10);
		uint8_t plen = kind < 5 ? 24 : kind < 8 ? 32 : (uint8_t)(8 + (r >> 8) % 24);
		uint32_t a = (uint32_t)(r >> 32);

		if ((a >> 24) == 0) /* keep 0.0.0.0/8 out: rte_fib is not asked about it */
			a |= 1u << 24;
		p4[n4].net = plen == 0 ? 0 : a & ~(uint32_t)((1ull << (32 - plen)) - 1);
		p4[n4].plen = plen;
		n4++;
	}
	/* IPv6 in 2000::/3: half /128 hosts, 30% /48, 20% /32../64 */
	for (i = 0; i < want6; i++) {
		uint64_t hi = (rnd() & ~(7ull << 61)) | (1ull << 61), lo = rnd();
		unsigned kind = (unsigned)(rnd() % 10);
		uint8_t plen = kind < 5 ? 128 : kind < 8 ? 48 : (uint8_t)(32 + rnd() % 33);

		if (plen <= 64) {
			lo = 0;
			hi &= plen == 64 ? ~0ull : ~((1ull << (64 - plen)) - 1);
		} else if (plen < 128) {
			lo &= ~((1ull << (128 - plen)) - 1);
		}
		p6[n6].hi = hi;
		p6[n6].lo = lo;
		p6[n6].plen = plen;
		n6++;
	}
	/* names: label.tld, some with a second label */
	for (i = 0; i < wantn; i++) {
		char a[16], b[16];

		random_label(a, 6 + rnd() % 8);
		if (rnd() % 4 == 0) {
			random_label(b, 3 + rnd() % 5);
			snprintf(names[nnames], sizeof(names[0]), "%s.%s.%s", b, a,
			         tlds[rnd() % 16]);
		} else {
			snprintf(names[nnames], sizeof(names[0]), "%s.%s", a, tlds[rnd() % 16]);
		}
		nnames++;
	}
}

static void free_rules(void)
{
	free(p4);
	free(p6);
	free(names);
}

static struct matcher__value v4val(uint32_t net, uint8_t plen)
{
	struct matcher__value v;

	memset(&v, 0, sizeof(v));
	v.type = MATCHER_TYPE_IPV4;
	v.ip.b[10] = v.ip.b[11] = 0xff;
	v.ip.b[12] = (uint8_t)(net >> 24);
	v.ip.b[13] = (uint8_t)(net >> 16);
	v.ip.b[14] = (uint8_t)(net >> 8);
	v.ip.b[15] = (uint8_t)net;
	v.plen = plen;
	return v;
}

static struct matcher__value v6val(uint64_t hi, uint64_t lo, uint8_t plen)
{
	struct matcher__value v;
	int i;

	memset(&v, 0, sizeof(v));
	v.type = MATCHER_TYPE_IPV6;
	for (i = 0; i < 8; i++) {
		v.ip.b[i] = (uint8_t)(hi >> (56 - 8 * i));
		v.ip.b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
	v.plen = plen;
	return v;
}

static int add_indicator(struct matcher__builder *b, int feed, const struct matcher__value *v)
{
	struct matcher__indicator_in in;

	memset(&in, 0, sizeof(in));
	in.v = *v;
	in.category = MATCHER_CAT_BOTNET_C2;
	in.severity = MATCHER_SEV_HIGH;
	in.confidence = 80;
	in.tlp = MATCHER_TLP_AMBER;
	in.description = "benchmark entry";
	return matcher__builder_indicator(b, feed, &in);
}

static struct matcher_snapshot *build(size_t nparts, size_t nassets, double *add_s, double *build_s)
{
	struct matcher__builder *b = matcher__builder_new();
	struct matcher__feed f = { .name = "bench",
		                   .path = "bench",
		                   .format = MATCHER_FMT_LIST,
		                   .confidence = 80,
		                   .tlp = MATCHER_TLP_AMBER };
	struct matcher_snapshot *s = NULL;
	double t0 = now_s(), t1;
	size_t i;
	int feed;

	if (b == NULL)
		abort();
	feed = matcher__builder_feed(b, &f);
	for (i = 0; i < n4; i++) {
		struct matcher__value v = v4val(p4[i].net, p4[i].plen);

		if (add_indicator(b, feed, &v) != 0)
			abort();
	}
	for (i = 0; i < n6; i++) {
		struct matcher__value v = v6val(p6[i].hi, p6[i].lo, p6[i].plen);

		if (add_indicator(b, feed, &v) != 0)
			abort();
	}
	for (i = 0; i < nnames; i++) {
		struct matcher__value v;

		memset(&v, 0, sizeof(v));
		v.type = MATCHER_TYPE_DOMAIN;
		memcpy(v.domain, names[i], sizeof(names[i]));
		if (add_indicator(b, feed, &v) != 0)
			abort();
	}
	for (i = 0; i < nparts; i++) {
		char id[32];

		snprintf(id, sizeof(id), "p%zu", i);
		if (matcher__builder_participant(b, id, id, "en", NULL, 0, "[]") < 0)
			abort();
	}
	/* assets: 40% IPv4 (/24../32), 20% IPv6 /48, 30% domains, 10% ASNs */
	for (i = 0; i < nassets; i++) {
		unsigned kind = (unsigned)(rnd() % 10);
		struct matcher__value v;

		if (kind < 4) {
			uint8_t plen = (uint8_t)(24 + rnd() % 9);
			uint32_t a = (uint32_t)rnd();

			v = v4val(a & ~(uint32_t)((1ull << (32 - plen)) - 1), plen);
		} else if (kind < 6) {
			v = v6val(((rnd() & ~(7ull << 61)) | (1ull << 61)) & ~0xffffull, 0, 48);
		} else if (kind < 9) {
			char l[16];

			memset(&v, 0, sizeof(v));
			v.type = MATCHER_TYPE_DOMAIN;
			random_label(l, 8);
			snprintf(v.domain, sizeof(v.domain), "%s.%s", l, tlds[rnd() % 16]);
		} else {
			memset(&v, 0, sizeof(v));
			v.type = MATCHER_TYPE_ASN;
			v.asn = (uint32_t)(1 + rnd() % 400000);
		}
		if (matcher__builder_asset(b, (int)(i % nparts), &v) != 0)
			abort();
	}
	t1 = now_s();
	if (matcher__builder_build(b, &s) != 0)
		abort();
	*add_s = t1 - t0;
	*build_s = now_s() - t1;
	matcher__builder_free(b);
	return s;
}

/* ----- naive baselines --------------------------------------------------------------------------
 */

static int u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct naive4 {
	uint32_t *v[33];
	size_t n[33];
};

static void naive4_build(struct naive4 *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n4; i++)
		t->n[p4[i].plen]++;
	for (i = 0; i <= 32; i++) {
		t->v[i] = calloc(t->n[i] + 1, sizeof(uint32_t));
		t->n[i] = 0;
	}
	for (i = 0; i < n4; i++)
		t->v[p4[i].plen][t->n[p4[i].plen]++] = p4[i].net;
	for (i = 0; i <= 32; i++)
		qsort(t->v[i], t->n[i], sizeof(uint32_t), u32cmp);
}

/* Every covering prefix: one binary search per prefix length present. */
static size_t naive4_lookup(const struct naive4 *t, uint32_t a)
{
	size_t found = 0;
	unsigned len;

	for (len = 0; len <= 32; len++) {
		uint32_t key = len == 0 ? 0 : a & ~(uint32_t)((1ull << (32 - len)) - 1);
		size_t lo = 0, hi = t->n[len];

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (t->v[len][mid] < key)
				lo = mid + 1;
			else
				hi = mid;
		}
		found += lo < t->n[len] && t->v[len][lo] == key;
	}
	return found;
}

struct k128 {
	uint64_t hi, lo;
};

static int k128cmp(const void *pa, const void *pb)
{
	const struct k128 *a = pa, *b = pb;

	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

struct naive6 {
	struct k128 *v[129];
	size_t n[129];
};

static void naive6_build(struct naive6 *t)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n6; i++)
		t->n[p6[i].plen]++;
	for (i = 0; i <= 128; i++) {
		t->v[i] = calloc(t->n[i] + 1, sizeof(struct k128));
		t->n[i] = 0;
	}
	for (i = 0; i < n6; i++) {
		struct k128 k = { p6[i].hi, p6[i].lo };

		t->v[p6[i].plen][t->n[p6[i].plen]++] = k;
	}
	for (i = 0; i <= 128; i++)
		qsort(t->v[i], t->n[i], sizeof(struct k128), k128cmp);
}

static size_t naive6_lookup(const struct naive6 *t, uint64_t hi, uint64_t lo)
{
	size_t found = 0;
	unsigned len;

	for (len = 0; len <= 128; len++) {
		struct k128 key;
		size_t l = 0, h = t->n[len];

		if (h == 0)
			continue;
		if (len <= 64) {
			uint64_t mask = len == 0    ? 0
			                : len == 64 ? ~0ull
			                            : ~((1ull << (64 - len)) - 1);

			key.hi = hi & mask;
			key.lo = 0;
		} else {
			key.hi = hi;
			key.lo = len == 128 ? lo : lo & ~((1ull << (128 - len)) - 1);
		}
		while (l < h) {
			size_t mid = (l + h) / 2;

			if (k128cmp(&t->v[len][mid], &key) < 0)
				l = mid + 1;
			else
				h = mid;
		}
		found += l < t->n[len] && k128cmp(&t->v[len][l], &key) == 0;
	}
	return found;
}

static int strpcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Binary search of every label suffix in the sorted names. */
static size_t naive_name_lookup(char *const *sorted, size_t n, const char *name)
{
	size_t found = 0;
	const char *p = name;

	for (;;) {
		size_t lo = 0, hi = n;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (strcmp(sorted[mid], p) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		found += lo < n && strcmp(sorted[lo], p) == 0;
		p = strchr(p, '.');
		if (p == NULL)
			break;
		p++;
	}
	return found;
}

#ifdef HAVE_DPDK
/* rte_fib's DIR-24-8 reserves a second-level group per route longer than /24. */
static uint32_t tbl8_groups_needed(void)
{
	uint32_t k = 0;
	size_t i;

	for (i = 0; i < n4; i++)
		k += p4[i].plen > 24;
	return k;
}
#endif

/* ----- queries and timing ----------------------------------------------------------------------
 */

/* Run body for every query q until at least 0.5 s passed; rate: lookups per second. */
#define TIME_LOOP(rate, nq, ...)                               \
	do {                                                   \
		double t0_ = now_s(), dt_;                     \
		size_t rounds_ = 0, qi_;                       \
		do {                                           \
			for (qi_ = 0; qi_ < (nq); qi_++) {     \
				size_t q = qi_;                \
				__VA_ARGS__;                   \
			}                                      \
			rounds_++;                             \
			dt_ = now_s() - t0_;                   \
		} while (dt_ < 0.5);                           \
		(rate) = (double)(nq) * (double)rounds_ / dt_; \
	} while (0)

int main(int argc, char **argv)
{
	double scale = 1.0, add_s, build_s, rate, base, fib1 = 0, fib64 = 0, rate_bulk;
	size_t nq = 1u << 22, i, rss0, rss1, nparts, nassets, total;
	volatile size_t sink = 0;
	bool dpdk = true, build_only = false;
	struct matcher_snapshot *s;
	uint32_t *q4;
	struct matcher_ip *q4m, *q6;
	char(*qn)[48];
	char **sorted;
	struct naive4 nv4;
	struct naive6 nv6;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--scale") == 0 && i + 1 < (size_t)argc)
			scale = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--queries") == 0 && i + 1 < (size_t)argc)
			nq = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--no-dpdk") == 0)
			dpdk = false;
		else if (strcmp(argv[i], "--build-only") == 0)
			build_only = true;
	}
	nparts = (size_t)(100000 * scale) + 1;
	nassets = (size_t)(500000 * scale) + 1;
	gen_rules((size_t)(1000000 * scale), (size_t)(1000000 * scale), (size_t)(1000000 * scale));
	total = n4 + n6 + nnames + nassets;
	out("ipv4_prefixes", (double)n4, "entries");
	out("ipv6_prefixes", (double)n6, "entries");
	out("domains", (double)nnames, "entries");
	out("participants", (double)nparts, "entries");
	out("assets", (double)nassets, "entries");

	malloc_trim(0);
	rss0 = rss_bytes();
	s = build(nparts, nassets, &add_s, &build_s);
	malloc_trim(0);
	rss1 = rss_bytes();
	out("builder_add_time", add_s, "s");
	out("snapshot_build_time", build_s, "s");
	out("snapshot_rss_delta", (double)(rss1 - rss0) / 1048576.0, "MiB");
	out("snapshot_bytes_per_entry_rss", (double)(rss1 - rss0) / (double)total, "bytes");
	out("snapshot_bytes_per_entry", (double)matcher__snapshot_bytes(s) / (double)total,
	    "bytes");
	out("ipv4_set_bytes_per_prefix",
	    (double)matcher__ip4set_bytes(&s->ip4) / (double)(n4 ? n4 : 1), "bytes");
	out("ipv6_set_bytes_per_prefix",
	    (double)matcher__ip6set_bytes(&s->ip6) / (double)(n6 ? n6 : 1), "bytes");
	out("domain_set_bytes_per_name",
	    (double)matcher__domset_bytes(&s->dom) / (double)(nnames ? nnames : 1), "bytes");
	out("match_lists_bytes_per_entry", (double)(s->npool * sizeof(*s->pool)) / (double)total,
	    "bytes");
	out("indicator_table_bytes_per_indicator", (double)sizeof(*s->ind), "bytes");
	out("strings_bytes_per_entry", (double)matcher__arena_bytes(&s->arena) / (double)total,
	    "bytes");
	out("listed_triples", (double)s->nlisted, "triples");
	if (build_only) {
		matcher_snapshot_free(s);
		free_rules();
		return 0;
	}

	/* queries: half inside a rule's prefix (or under a rule's name), half anywhere */
	q4 = calloc(nq, sizeof(*q4));
	q4m = calloc(nq, sizeof(*q4m));
	q6 = calloc(nq, sizeof(*q6));
	qn = calloc(nq, sizeof(*qn));
	if (q4 == NULL || q4m == NULL || q6 == NULL || qn == NULL)
		abort();
	for (i = 0; i < nq; i++) {
		uint32_t a = (uint32_t)rnd();
		uint64_t hi = (rnd() & ~(7ull << 61)) | (1ull << 61), lo = rnd();
		int k;

		if (i % 2 == 0 && n4 > 0) {
			const struct v4p *p = &p4[rnd() % n4];
			uint32_t host =
			        p->plen == 32 ? 0 : (uint32_t)((1ull << (32 - p->plen)) - 1);

			a = p->net | (a & host);
		}
		if ((a >> 24) == 0)
			a |= 1u << 24;
		q4[i] = a;
		q4m[i].b[10] = q4m[i].b[11] = 0xff;
		q4m[i].b[12] = (uint8_t)(a >> 24);
		q4m[i].b[13] = (uint8_t)(a >> 16);
		q4m[i].b[14] = (uint8_t)(a >> 8);
		q4m[i].b[15] = (uint8_t)a;
		if (i % 2 == 0 && n6 > 0) {
			const struct v6p *p = &p6[rnd() % n6];

			if (p->plen <= 64) {
				uint64_t host = p->plen == 64 ? 0 : (1ull << (64 - p->plen)) - 1;

				hi = p->hi | (hi & host);
			} else {
				uint64_t host = p->plen == 128 ? 0 : (1ull << (128 - p->plen)) - 1;

				hi = p->hi;
				lo = p->lo | (lo & host);
			}
		}
		for (k = 0; k < 8; k++) {
			q6[i].b[k] = (uint8_t)(hi >> (56 - 8 * k));
			q6[i].b[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
		}
		if (i % 2 == 0 && nnames > 0) {
			const char *n = names[rnd() % nnames];

			if (rnd() % 2)
				snprintf(qn[i], sizeof(qn[i]), "www.%s", n);
			else
				snprintf(qn[i], sizeof(qn[i]), "%s", n);
		} else {
			char l[16];

			random_label(l, 9);
			snprintf(qn[i], sizeof(qn[i]), "cdn.%s.%s", l, tlds[rnd() % 16]);
		}
	}

	/* IPv4 */
	TIME_LOOP(rate, nq, {
		const struct matcher_match *m;

		sink += matcher_lookup_ip(s, &q4m[q], &m);
	});
	/*
	 * What a bulk call could do (matcher.h has none yet): prefetch the first-level words of 64
	 * queries, then look them up, as rte_fib_lookup_bulk overlaps its memory accesses.
	 */
	TIME_LOOP(rate_bulk, nq / 64, {
		const struct matcher_match *m;
		size_t k;

		for (k = 0; k < 64; k++)
			__builtin_prefetch(&s->ip4.dir[q4[q * 64 + k] >> s->ip4.shift]);
		for (k = 0; k < 64; k++)
			sink += matcher_lookup_ip(s, &q4m[q * 64 + k], &m);
	});
	rate_bulk *= 64;
	naive4_build(&nv4);
	TIME_LOOP(base, nq, { sink += naive4_lookup(&nv4, q4[q]); });
	out("ipv4_lookups", rate / 1e6, "M/s");
	out("ipv4_naive_lookups", base / 1e6, "M/s");
	out("ipv4_ratio_to_naive", rate / base, "x");
	out("ipv4_lookups_prefetch64", rate_bulk / 1e6, "M/s");

	/* IPv6 */
	TIME_LOOP(rate, nq, {
		const struct matcher_match *m;

		sink += matcher_lookup_ip(s, &q6[q], &m);
	});
	naive6_build(&nv6);
	TIME_LOOP(base, nq, {
		uint64_t hi = 0, lo = 0;
		int k;

		for (k = 0; k < 8; k++) {
			hi = hi << 8 | q6[q].b[k];
			lo = lo << 8 | q6[q].b[8 + k];
		}
		sink += naive6_lookup(&nv6, hi, lo);
	});
	out("ipv6_lookups", rate / 1e6, "M/s");
	out("ipv6_naive_lookups", base / 1e6, "M/s");
	out("ipv6_ratio_to_naive", rate / base, "x");

	/* names */
	{
		struct matcher_match mm[16];

		TIME_LOOP(rate, nq,
		          { sink += matcher_lookup_domain(s, qn[q], strlen(qn[q]), mm, 16); });
	}
	sorted = calloc(nnames + 1, sizeof(*sorted));
	for (i = 0; i < nnames; i++)
		sorted[i] = names[i];
	qsort(sorted, nnames, sizeof(*sorted), strpcmp);
	TIME_LOOP(base, nq, { sink += naive_name_lookup(sorted, nnames, qn[q]); });
	out("name_lookups", rate / 1e6, "M/s");
	out("name_naive_lookups", base / 1e6, "M/s");
	out("name_ratio_to_naive", rate / base, "x");

#ifdef HAVE_DPDK
	if (dpdk) {
		char *eal[] = { "bench_matcher",
			        "--no-huge",
			        "--no-pci",
			        "--no-shconf",
			        "--no-telemetry",
			        "-m",
			        "1024",
			        "-l",
			        "0",
			        "--log-level",
			        "1" };
		struct rte_fib_conf conf;
		struct rte_fib *fib;
		uint64_t nh[64];

		if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0) {
			fprintf(stderr, "bench_matcher: rte_eal_init failed; no rte_fib anchor\n");
			goto no_fib;
		}
		memset(&conf, 0, sizeof(conf));
		conf.type = RTE_FIB_DIR24_8;
		conf.default_nh = 0;
		conf.max_routes = (int)(n4 + 16);
		conf.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
		conf.dir24_8.num_tbl8 = tbl8_groups_needed() + 1024;
		fib = rte_fib_create("bench", SOCKET_ID_ANY, &conf);
		if (fib == NULL) {
			fprintf(stderr, "bench_matcher: rte_fib_create failed\n");
			goto no_fib;
		}
		{
			double t0 = now_s();
			size_t rejected = 0;
			unsigned len;

			/* shortest first, as routing tables load: fewer second-level rewrites */
			for (len = 0; len <= 32; len++) {
				for (i = 0; i < n4; i++) {
					if (p4[i].plen == len &&
					    rte_fib_add(fib, p4[i].net, p4[i].plen, i + 1) != 0)
						rejected++;
				}
			}
			out("rte_fib_build_time", now_s() - t0, "s");
			out("rte_fib_routes_rejected", (double)rejected, "routes");
		}
		TIME_LOOP(fib1, nq, {
			rte_fib_lookup_bulk(fib, &q4[q], nh, 1);
			sink += nh[0];
		});
		TIME_LOOP(fib64, nq / 64, {
			rte_fib_lookup_bulk(fib, &q4[q * 64], nh, 64);
			sink += nh[63];
		});
		fib64 *= 64;
		rte_fib_free(fib);
		rte_eal_cleanup();
	}
no_fib:
#endif
	if (fib1 > 0) {
		/* our IPv4 figure again, right beside the anchor */
		TIME_LOOP(rate, nq, {
			const struct matcher_match *m;

			sink += matcher_lookup_ip(s, &q4m[q], &m);
		});
		out("ipv4_lookups_again", rate / 1e6, "M/s");
		out("rte_fib_lookups_single", fib1 / 1e6, "M/s");
		out("rte_fib_lookups_bulk64", fib64 / 1e6, "M/s");
		out("ipv4_ratio_to_rte_fib_single", rate / fib1, "x");
		out("ipv4_ratio_to_rte_fib_bulk64", rate / fib64, "x");
		out("ipv4_prefetch64_ratio_to_rte_fib_bulk64", rate_bulk / fib64, "x");
	}
	(void)dpdk;
	(void)sink;
	for (i = 0; i <= 32; i++)
		free(nv4.v[i]);
	for (i = 0; i <= 128; i++)
		free(nv6.v[i]);
	free(sorted);
	free(q4);
	free(q4m);
	free(q6);
	free(qn);
	free_rules();
	matcher_snapshot_free(s);
	return 0;
}
