/*
 * DNS memory: ties per asking host, read order ("earlier"), expiry, merging of answers for the
 * same address, bounded size with counted eviction — checked against a naive list of every tie
 * ever recorded — and a writer racing readers that must never see a torn entry.
 */
#include "check.h"
#include "sensor/dnsmem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct addr v4(uint32_t x)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	a.b[10] = 0xff;
	a.b[11] = 0xff;
	a.b[12] = (uint8_t)(x >> 24);
	a.b[13] = (uint8_t)(x >> 16);
	a.b[14] = (uint8_t)(x >> 8);
	a.b[15] = (uint8_t)x;
	return a;
}

static void record_at(struct dnsmem *m, uint32_t host, uint32_t addr, const char *q,
		      const char *cname, uint64_t seq, uint64_t now, uint64_t exp)
{
	const char *names[2] = { q, cname };
	size_t lens[2] = { strlen(q), cname ? strlen(cname) : 0 };
	struct addr h = v4(host), a = v4(addr);

	dnsmem_record(m, &h, &a, names, lens, cname ? 2 : 1, seq, now, exp);
}

/* Record at packet time 0 (the tests that do not care about re-ties). */
static void record1(struct dnsmem *m, uint32_t host, uint32_t addr, const char *q,
		    const char *cname, uint64_t seq, uint64_t exp)
{
	record_at(m, host, addr, q, cname, seq, 0, exp);
}

static bool has_name(const struct dnsmem_hit *hit, const char *name, const char *question)
{
	for (unsigned i = 0; i < hit->nnames; i++) {
		unsigned q = hit->question[i];

		if (hit->len[i] == strlen(name) &&
		    memcmp(hit->names + hit->off[i], name, hit->len[i]) == 0 &&
		    hit->len[q] == strlen(question) &&
		    memcmp(hit->names + hit->off[q], question, hit->len[q]) == 0)
			return true;
	}
	return false;
}

static void test_tie_is_per_asking_host(void)
{
	struct dnsmem *m = dnsmem_new(1024);
	struct dnsmem_hit hit;
	struct addr h1 = v4(0x0a000001), h2 = v4(0x0a000002), cdn = v4(0xcb007107);

	record1(m, 0x0a000001, 0xcb007107, "www.evil.example", "edge.cdn.example", 10, 100);
	CHECK(dnsmem_lookup(m, &h1, &cdn, 11, 50, &hit));
	CHECK_EQ(hit.nnames, 2);
	CHECK(has_name(&hit, "www.evil.example", "www.evil.example"));
	CHECK(has_name(&hit, "edge.cdn.example", "www.evil.example"));
	/* near miss: the same CDN address says nothing about another host */
	CHECK(!dnsmem_lookup(m, &h2, &cdn, 11, 50, &hit));
	dnsmem_free(m);
}

static void test_tie_counts_only_for_later_packets_and_until_expiry(void)
{
	struct dnsmem *m = dnsmem_new(1024);
	struct dnsmem_hit hit;
	struct addr h = v4(1), a = v4(2);

	record1(m, 1, 2, "evil.example", NULL, 10, 1000);
	CHECK(!dnsmem_lookup(m, &h, &a, 10, 5, &hit)); /* flow began at the answer itself: no */
	CHECK(dnsmem_lookup(m, &h, &a, 11, 5, &hit));  /* the next packet read: yes */
	CHECK(dnsmem_lookup(m, &h, &a, 11, 1000, &hit)); /* at expiry: still */
	CHECK(!dnsmem_lookup(m, &h, &a, 11, 1001, &hit)); /* after: no */
	dnsmem_free(m);
}

static void test_second_answer_for_same_address_keeps_first_name(void)
{
	struct dnsmem *m = dnsmem_new(1024);
	struct dnsmem_hit hit;
	struct addr h = v4(1), a = v4(2);

	record1(m, 1, 2, "evil.example", "cdn.example", 10, 1000);
	record1(m, 1, 2, "benign.example", NULL, 20, 2000);
	CHECK(dnsmem_lookup(m, &h, &a, 21, 5, &hit));
	CHECK_EQ(hit.nnames, 3);
	CHECK(has_name(&hit, "benign.example", "benign.example"));
	CHECK(has_name(&hit, "evil.example", "evil.example"));
	CHECK(has_name(&hit, "cdn.example", "evil.example"));
	/* between the two answers only the first counts */
	CHECK(dnsmem_lookup(m, &h, &a, 15, 5, &hit));
	CHECK_EQ(hit.nnames, 2);
	CHECK(!has_name(&hit, "benign.example", "benign.example"));
	/* the first tie lapses on its own expiry, the second one lives on */
	CHECK(dnsmem_lookup(m, &h, &a, 21, 1500, &hit));
	CHECK_EQ(hit.nnames, 1);
	CHECK(has_name(&hit, "benign.example", "benign.example"));
	dnsmem_free(m);
}

static void test_name_tied_again_keeps_its_earlier_live_tie(void)
{
	struct dnsmem *m = dnsmem_new(1024);
	struct dnsmem_hit hit;
	struct addr h = v4(1), a = v4(2);

	/* img.example and js.example both lead to cdn.example at the same address */
	record_at(m, 1, 2, "img.example", "cdn.example", 10, 0, 1000);
	record_at(m, 1, 2, "js.example", "cdn.example", 20, 5, 2000);
	/* a flow between the two answers is still explained by the first one */
	CHECK(dnsmem_lookup(m, &h, &a, 15, 6, &hit));
	CHECK(has_name(&hit, "cdn.example", "js.example") || has_name(&hit, "cdn.example", "img.example"));
	CHECK(has_name(&hit, "img.example", "img.example"));
	/* and the tie lasts until the later expiry */
	CHECK(dnsmem_lookup(m, &h, &a, 25, 1500, &hit));
	CHECK(has_name(&hit, "cdn.example", "js.example") || has_name(&hit, "cdn.example", "img.example"));

	/* near miss: once the first tie has lapsed, a new answer starts a new tie */
	record_at(m, 1, 2, "late.example", "cdn.example", 30, 2500, 5000);
	CHECK(!dnsmem_lookup(m, &h, &a, 25, 2400, &hit));
	CHECK(dnsmem_lookup(m, &h, &a, 31, 2600, &hit));
	dnsmem_free(m);
}

/* A naive model: every tie ever recorded, searched linearly. */
struct tie {
	uint32_t host, addr;
	char name[32];
	uint64_t seq, exp;
};

static void test_lookups_match_naive_list_without_eviction(void)
{
	enum { NTIES = 3000, NQ = 20000 };
	struct dnsmem *m = dnsmem_new(1 << 16); /* far more room than keys: nothing evicted */
	struct tie *ties = calloc(NTIES, sizeof(*ties));
	uint64_t counters[DNSMEM_NCOUNTERS];
	unsigned seed = 12345, mismatches = 0;

	for (unsigned i = 0; i < NTIES; i++) {
		struct tie *t = &ties[i];

		t->host = rand_r(&seed) % 40;
		t->addr = rand_r(&seed) % 60;
		snprintf(t->name, sizeof(t->name), "n%u.example", i);
		t->seq = 10 + i;
		t->exp = 1000 + (uint64_t)(rand_r(&seed) % 5000);
		record1(m, t->host, t->addr, t->name, NULL, t->seq, t->exp);
	}
	for (unsigned q = 0; q < NQ; q++) {
		uint32_t host = rand_r(&seed) % 40, addr = rand_r(&seed) % 60;
		uint64_t before = rand_r(&seed) % (NTIES + 20), now = rand_r(&seed) % 7000;
		struct addr h = v4(host), a = v4(addr);
		struct dnsmem_hit hit;
		bool got = dnsmem_lookup(m, &h, &a, before, now, &hit);
		unsigned want = 0, newest_found = 0;

		/* The entry keeps the DNSMEM_MAX_NAMES newest ties of the key (name bytes allow it). */
		unsigned kept = 0;
		for (int i = NTIES - 1; i >= 0 && kept < DNSMEM_MAX_NAMES; i--) {
			struct tie *t = &ties[i];

			if (t->host != host || t->addr != addr)
				continue;
			kept++;
			if (t->seq < before && now <= t->exp) {
				want++;
				if (got && has_name(&hit, t->name, t->name))
					newest_found++;
			}
		}
		if ((want > 0) != got || (got && (hit.nnames != want || newest_found != want)))
			mismatches++;
	}
	CHECK_EQ(mismatches, 0);
	dnsmem_counters(m, counters);
	CHECK_U64(counters[DNSMEM_evicted], 0);
	free(ties);
	dnsmem_free(m);
}

static void test_full_table_evicts_oldest_and_counts(void)
{
	struct dnsmem *m = dnsmem_new(64);
	uint64_t counters[DNSMEM_NCOUNTERS];
	struct dnsmem_hit hit;
	struct addr h = v4(7), first = v4(1000), last = v4(1000 + 9999);

	for (uint32_t i = 0; i < 10000; i++)
		record1(m, 7, 1000 + i, "x.example", NULL, i + 1, UINT64_MAX);
	dnsmem_counters(m, counters);
	CHECK_U64(counters[DNSMEM_recorded], 10000);
	CHECK(counters[DNSMEM_evicted] >= 10000 - 64);
	CHECK(!dnsmem_lookup(m, &h, &first, UINT64_MAX, 0, &hit)); /* the oldest went */
	CHECK(dnsmem_lookup(m, &h, &last, UINT64_MAX, 0, &hit));   /* the newest stays */
	dnsmem_free(m);
}

/* ----- writer racing readers (run under TSan in CI: label concurrency) ----- */

static struct dnsmem *race_m;
static atomic_bool race_stop;
static atomic_uint_fast64_t race_torn, race_hits;

static void *race_reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	while (!atomic_load(&race_stop)) {
		uint32_t k = rand_r(&seed) % 256;
		struct addr h = v4(k), a = v4(k * 7);
		struct dnsmem_hit hit;
		char want[32];

		if (!dnsmem_lookup(race_m, &h, &a, UINT64_MAX, 0, &hit))
			continue;
		atomic_fetch_add(&race_hits, 1);
		/* every name the writer stores for key k is "k<k>-<seq>.example" with this seq */
		for (unsigned i = 0; i < hit.nnames; i++) {
			int n = snprintf(want, sizeof(want), "k%u-%llu.example", k,
					 (unsigned long long)hit.seq[i]);
			if (hit.len[i] != (unsigned)n ||
			    memcmp(hit.names + hit.off[i], want, (size_t)n) != 0)
				atomic_fetch_add(&race_torn, 1);
		}
	}
	return NULL;
}

static void test_readers_never_see_torn_entries(void)
{
	pthread_t rd[3];

	race_m = dnsmem_new(128); /* small: constant eviction and refresh */
	atomic_store(&race_stop, false);
	for (int i = 0; i < 3; i++)
		pthread_create(&rd[i], NULL, race_reader, (void *)(uintptr_t)(i + 1));
	for (uint64_t seq = 1; seq <= 200000; seq++) {
		uint32_t k = (uint32_t)((seq * 2654435761u) % 256);
		char name[32];

		snprintf(name, sizeof(name), "k%u-%llu.example", k, (unsigned long long)seq);
		record1(race_m, k, k * 7, name, NULL, seq, UINT64_MAX);
	}
	atomic_store(&race_stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(rd[i], NULL);
	CHECK_U64(atomic_load(&race_torn), 0);
	CHECK(atomic_load(&race_hits) > 0);
	dnsmem_free(race_m);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "race") == 0) {
		RUN(test_readers_never_see_torn_entries);
		return check_summary();
	}
	RUN(test_tie_is_per_asking_host);
	RUN(test_tie_counts_only_for_later_packets_and_until_expiry);
	RUN(test_second_answer_for_same_address_keeps_first_name);
	RUN(test_name_tied_again_keeps_its_earlier_live_tie);
	RUN(test_lookups_match_naive_list_without_eviction);
	RUN(test_full_table_evicts_oldest_and_counts);
	RUN(test_readers_never_see_torn_entries);
	return check_summary();
}
