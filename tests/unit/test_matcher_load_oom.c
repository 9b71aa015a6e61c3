/*
 * Allocation failures in the rule loaders: for every format, fail the Nth allocation of a
 * load (and build) for every N, and check that the load ends with a clean code and frees
 * everything it took. The test replaces malloc/calloc/realloc/free (glibc's documented
 * "replacing malloc" interface), so it is built only without sanitizers. jansson's own
 * allocations are not failed (see json_malloc).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "internal.h"

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

static long fail_at = -1; /* the allocation (1-based) that fails; -1: none */
static long allocs;       /* allocations since the last reset */
static long live;         /* blocks taken and not yet freed */

static bool fail_now(void)
{
	return ++allocs == fail_at;
}

void *malloc(size_t n)
{
	void *p;

	if (fail_now())
		return NULL;
	p = __libc_malloc(n);
	if (p != NULL)
		live++;
	return p;
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (fail_now())
		return NULL;
	p = __libc_calloc(n, size);
	if (p != NULL)
		live++;
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p;

	if (old == NULL)
		return malloc(n);
	if (n == 0) {
		free(old);
		return NULL;
	}
	if (fail_now())
		return NULL;
	p = __libc_realloc(old, n);
	return p;
}

void free(void *p)
{
	if (p != NULL)
		live--;
	__libc_free(p);
}

/*
 * jansson itself does not survive every allocation failure (its lexer asserts), so its
 * allocations are counted but never failed: what is tested is our handling of failures.
 */
static void *json_malloc(size_t n)
{
	void *p = __libc_malloc(n);

	if (p != NULL)
		live++;
	return p;
}

static void json_free(void *p)
{
	free(p);
}

static const struct {
	const char *name;
	enum matcher_format fmt; /* MATCHER_FMT_GUESS with participants: participants */
	bool participants;
	const char *text;
} cases[] = {
	{ "list", MATCHER_FMT_LIST, false,
	  "# c\n66.210.228.178:443\n0.0.0.0 a.example b.example\n||ad.example^\nbücher.example\n"
	  "AS64511\n10.0.0.0/8\nhttp://u.example/p\ncom\njunk here\n2a00:1450::/32\n" },
	{ "zeek", MATCHER_FMT_ZEEK, false,
	  "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n"
	  "1.2.3.4\tIntel::ADDR\ts1\tdesc\thttp://r.example/\n"
	  "a.example\tIntel::DOMAIN\ts2\t-\t-\nx\tIntel::FILE_HASH\ts1\t-\t-\nbad\n" },
	{ "csv", MATCHER_FMT_CSV, false,
	  "indicator,type,category,severity,source,description,expires\n"
	  "\"evil.example\",domain,phishing,high,f1,\"d \"\"q\"\"\",2099-01-01\n"
	  "45.77.1.2,ip,,,f2,,\nAS64511,asn,,,,,\nx,md5,,,,,\n" },
	{ "misp", MATCHER_FMT_MISP, false,
	  "{\"Event\": {\"info\": \"e\", \"Tag\": [{\"name\": \"tlp:green\"}], \"Attribute\": [\n"
	  "{\"type\": \"ip-dst\", \"value\": \"45.77.1.2\"},\n"
	  "{\"type\": \"domain|ip\", \"value\": \"p.example|45.77.1.5\", \"comment\": \"c\"},\n"
	  "{\"type\": \"ip-src\", \"value\": \"45.77.1.3\", \"to_ids\": false},\n"
	  "{\"type\": \"AS\", \"value\": \"64511\"}],\n"
	  "\"Object\": [{\"Attribute\": [{\"type\": \"domain\", \"value\": \"o.example\"}]}]}}\n" },
	{ "stix", MATCHER_FMT_STIX, false,
	  "{\"type\": \"bundle\", \"objects\": [\n"
	  "{\"type\": \"identity\", \"id\": \"identity--1\", \"name\": \"CERT\"},\n"
	  "{\"type\": \"indicator\", \"id\": \"indicator--1\",\n"
	  " \"created_by_ref\": \"identity--1\",\n"
	  " \"pattern\": \"[ipv4-addr:value = '45.77.1.2'] OR"
	  " [domain-name:value = 'e.example']\",\n"
	  " \"valid_until\": \"2099-01-01T00:00:00Z\"},\n"
	  "{\"type\": \"indicator\", \"id\": \"indicator--2\",\n"
	  " \"pattern\": \"[file:name = 'x']\"}]}\n" },
	{ "participants-json", MATCHER_FMT_GUESS, true,
	  "{\"participants\": [{\"id\": \"p1\", \"name\": \"One\", \"sensors\": [\"s1\"],\n"
	  " \"contacts\": [{\"type\": \"email\", \"to\": \"a@b.example\"}],\n"
	  " \"assets\": {\"ips\": [\"192.0.2.0/24\"], \"domains\": [\"p1.example\"],\n"
	  " \"asns\": [64500]}}, {\"id\": \"p2\", \"assets\": {\"ips\": [\"45.77.0.0/16\"]}}]}\n" },
	{ "participants-csv", MATCHER_FMT_GUESS, true,
	  "participant_id,asset\np1,192.0.2.0/24\np1,p1.example\np2,AS64500\n" },
};

/* One load + build of case c; returns the load's code, *size what the snapshot holds. */
static int load_once(size_t c, uint64_t *size)
{
	struct matcher__builder *b = matcher__builder_new();
	struct matcher_snapshot *snap = NULL;
	struct matcher_errors errs = { 0 };
	const char *t = cases[c].text;
	int rc;

	if (b == NULL)
		return -ENOMEM;
	if (cases[c].participants)
		rc = matcher__load_participants_buffer(b, "p", t, strlen(t), &errs);
	else
		rc = matcher__load_buffer(b, cases[c].fmt, "feed", t, strlen(t), &errs);
	if (rc == 0)
		rc = matcher__builder_build(b, &snap);
	*size = 0;
	if (rc == 0) {
		const struct matcher_load_stats *st = matcher_snapshot_stats(snap);

		*size = st->indicators * 1000000 + st->assets * 1000 + st->participants;
		for (size_t i = 0; i < st->nfeeds; i++)
			*size += st->feeds[i].skipped * 1000000000;
	}
	matcher_snapshot_free(snap);
	matcher__builder_free(b);
	matcher_errors_clear(&errs);
	return rc;
}

static void test_every_failed_allocation_gives_a_clean_error_and_no_leak(void)
{
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint64_t want, got;
		long total, base;
		int rc;

		/* warm up (libpsl's list is loaded once per process), then count */
		CHECK_EQ(load_once(c, &want), 0);
		base = live;
		allocs = 0;
		rc = load_once(c, &want);
		total = allocs;
		CHECK_EQ(rc, 0);
		CHECK_EQ(live, base);
		for (long n = 1; n <= total; n++) {
			allocs = 0;
			fail_at = n;
			rc = load_once(c, &got);
			fail_at = -1;
			if (rc == 0 && got != want) {
				/* a failure may be absorbed (libidn2 is retried in another mode),
				 * but then nothing may be lost */
				fprintf(stderr,
				        "%s: allocation %ld failed: loaded something else\n",
				        cases[c].name, n);
				CHECK(false);
			}
			if (getenv("OOM_VERBOSE") != NULL && rc != -ENOMEM)
				fprintf(stderr, "%s: allocation %ld failed: code %d\n",
				        cases[c].name, n, rc);
			if (rc != 0 && rc != -ENOMEM && rc != -EINVAL) {
				fprintf(stderr, "%s: allocation %ld failed: code %d\n",
				        cases[c].name, n, rc);
				CHECK(false);
			}
			if (live != base) {
				fprintf(stderr, "%s: allocation %ld failed: %ld blocks leaked\n",
				        cases[c].name, n, live - base);
				CHECK_EQ(live, base);
				base = live;
			}
		}
		printf("%s: %ld allocations, each failed once\n", cases[c].name, total);
	}
}

int main(void)
{
	json_set_alloc_funcs(json_malloc, json_free);
	RUN(test_every_failed_allocation_gives_a_clean_error_and_no_leak);
	return check_summary();
}
