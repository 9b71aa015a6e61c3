/*
 * Reload under load: reader threads look up continuously (QSBR-registered, quiescent between
 * batches) while the main thread builds and publishes hundreds of snapshots. Snapshot k holds
 * a pattern of prefixes, names and ASNs chosen by k, and every indicator carries k in its
 * first_seen, so a reader checks that all lookups of one read-side section came from one
 * whole snapshot (the one whose generation is k + 1), and that generations never go back.
 * Runs under TSan (tests/tsan.supp) and ASan in CI.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

#include "check.h"
#include "test_matcher_common.h"

#define READERS   3
#define SNAPSHOTS 300
#define SLOTS     64 /* candidate prefixes / names / ASNs per snapshot */
#define BATCH     256

static atomic_bool stop;
static atomic_uint started; /* readers that finished a read-side section */

/* Whether slot j is present in snapshot k (a fixed, build-number-dependent pattern). */
static bool present(uint64_t k, unsigned j)
{
	uint64_t x = (k + 1) * 0x9e3779b97f4a7c15ull ^ (j * 0xbf58476d1ce4e5b9ull);

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	return (x >> 40) & 1;
}

static struct matcher_snapshot *build_snapshot(uint64_t k)
{
	struct matcher__builder *b = matcher__builder_new();
	struct matcher_snapshot *s = NULL;
	int f = tfeed(b, "reload");
	unsigned j;

	if (b == NULL || f < 0)
		abort();
	for (j = 0; j < SLOTS; j++) {
		struct matcher__indicator_in in;
		char text[64];

		if (!present(k, j))
			continue;
		memset(&in, 0, sizeof(in));
		in.confidence = 50;
		in.first_seen = (int64_t)k; /* the checksum readers verify */
		snprintf(text, sizeof(text), "198.18.%u.0/24", j);
		in.v = tval(text);
		matcher__builder_indicator(b, f, &in);
		snprintf(text, sizeof(text), "2001:db8:%x::/48", j);
		in.v = tval(text);
		matcher__builder_indicator(b, f, &in);
		snprintf(text, sizeof(text), "n%u.example", j);
		in.v = tval(text);
		matcher__builder_indicator(b, f, &in);
		snprintf(text, sizeof(text), "AS%u", 64500 + j);
		in.v = tval(text);
		matcher__builder_indicator(b, f, &in);
	}
	if (matcher__builder_build(b, &s) != 0)
		abort();
	matcher__builder_free(b);
	return s;
}

struct reader {
	pthread_t thread;
	struct matcher_handle *h;
	uint64_t sections, lookups, errors, last_gen, switches;
};

/* One lookup answer must be "slot present in snapshot k" with every hit carrying k. */
static bool check_answer(const struct matcher_snapshot *s, const struct matcher_match *m, size_t n,
                         uint64_t k, unsigned j)
{
	size_t i;

	if (n != (present(k, j) ? 1u : 0u))
		return false;
	for (i = 0; i < n; i++) {
		const struct matcher_indicator *x = matcher_indicator(s, m[i].entry_id);

		if (x == NULL || x->first_seen != (int64_t)k)
			return false;
	}
	return true;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t seed = (uint64_t)(uintptr_t)r;

	matcher_reader_register();
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		const struct matcher_snapshot *s = matcher_current(r->h);
		uint64_t gen, k;
		unsigned i;

		if (s == NULL) {
			matcher_quiescent();
			continue;
		}
		gen = matcher_snapshot_generation(s);
		k = gen - 1; /* snapshot k is published as generation k + 1 */
		if (gen < r->last_gen)
			r->errors++;
		if (gen != r->last_gen && r->last_gen != 0)
			r->switches++;
		r->last_gen = gen;
		for (i = 0; i < BATCH; i++) {
			const struct matcher_match *m;
			struct matcher_match mm[4];
			struct matcher_ip ip;
			unsigned j;
			char name[32];
			size_t n;

			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			j = (unsigned)(seed >> 33) % SLOTS;
			memset(&ip, 0, sizeof(ip));
			switch (i % 4) {
			case 0:
				ip.b[10] = ip.b[11] = 0xff;
				ip.b[12] = 198;
				ip.b[13] = 18;
				ip.b[14] = (uint8_t)j;
				ip.b[15] = (uint8_t)(seed >> 20);
				n = matcher_lookup_ip(s, &ip, &m);
				break;
			case 1:
				ip.b[0] = 0x20;
				ip.b[1] = 0x01;
				ip.b[2] = 0x0d;
				ip.b[3] = 0xb8;
				ip.b[4] = (uint8_t)(j >> 8);
				ip.b[5] = (uint8_t)j;
				ip.b[15] = (uint8_t)(seed >> 24);
				n = matcher_lookup_ip(s, &ip, &m);
				break;
			case 2:
				snprintf(name, sizeof(name), "www.n%u.example", j);
				n = matcher_lookup_domain(s, name, strlen(name), mm, 4);
				m = mm;
				break;
			default:
				n = matcher_lookup_asn(s, 64500 + j, &m);
				break;
			}
			if (!check_answer(s, m, n, k, j))
				r->errors++;
			r->lookups++;
		}
		if (r->sections++ == 0)
			atomic_fetch_add(&started, 1);
		matcher_quiescent();
	}
	matcher_reader_unregister();
	return NULL;
}

static void test_readers_only_see_whole_snapshots_during_reloads(void)
{
	struct matcher_handle *h = matcher_handle_new();
	struct reader r[READERS];
	uint64_t k, sections = 0, lookups = 0;
	unsigned i;

	CHECK(h != NULL);
	CHECK_EQ(matcher_publish(h, build_snapshot(0)), 0);
	memset(r, 0, sizeof(r));
	for (i = 0; i < READERS; i++) {
		r[i].h = h;
		CHECK_EQ(pthread_create(&r[i].thread, NULL, reader_main, &r[i]), 0);
	}
	/* reload only once every reader is inside its loop, so that reloads meet readers */
	while (atomic_load(&started) < READERS)
		sched_yield();
	for (k = 1; k < SNAPSHOTS; k++)
		CHECK_EQ(matcher_publish(h, build_snapshot(k)), 0);
	atomic_store(&stop, true);
	for (i = 0; i < READERS; i++) {
		pthread_join(r[i].thread, NULL);
		CHECK_U64(r[i].errors, 0);
		CHECK(r[i].switches > 0); /* each reader saw reloads happen */
		sections += r[i].sections;
		lookups += r[i].lookups;
	}
	/* the last snapshot is current, stamped with its generation */
	CHECK_U64(matcher_snapshot_generation(matcher_current(h)), SNAPSHOTS);
	CHECK(lookups > 0);
	printf("%d snapshots published; %" PRIu64 " read-side sections, %" PRIu64 " lookups\n",
	       SNAPSHOTS, sections, lookups);
	matcher_handle_free(h);
}

int main(void)
{
	RUN(test_readers_only_see_whole_snapshots_during_reloads);
	return check_summary();
}
