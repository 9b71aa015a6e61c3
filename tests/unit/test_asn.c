/*
 * ASN enrichment against a MaxMind DB written for the test by make_test_mmdb.pl (an independent
 * writer: Debian's MaxMind::DB::Writer), and against the corpus' real IPFire ASN database
 * compared with the answers of mmdblookup(1).
 */
#include "check.h"
#include "sensor/asn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct asn_db *db;

static struct addr ip(const char *s)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':') == NULL) {
		a.b[10] = 0xff;
		a.b[11] = 0xff;
		inet_pton(AF_INET, s, a.b + 12);
	} else {
		inet_pton(AF_INET6, s, a.b);
	}
	return a;
}

static long long lookup(const char *s, char *org, size_t orgsize)
{
	struct addr a = ip(s);
	uint32_t asn = 0;

	if (!asn_lookup(db, &a, &asn, org, orgsize))
		return -1;
	return asn;
}

static void test_asn_lookup_finds_most_specific_network(void)
{
	char org[64];

	CHECK_EQ(lookup("198.51.100.7", org, sizeof(org)), 64500);
	CHECK_STR(org, "Example Transit");
	CHECK_EQ(lookup("198.51.100.200", org, sizeof(org)), 64501);
	CHECK_STR(org, "More Specific");
	CHECK_EQ(lookup("198.51.101.1", NULL, 0), -1); /* near miss: next /24 */
}

static void test_asn_lookup_handles_max_asn_and_ipv6(void)
{
	char org[64];

	CHECK_EQ(lookup("203.0.113.255", NULL, 0), 4294967295LL);
	CHECK_EQ(lookup("2001:db8::1", org, sizeof(org)), 64502);
	CHECK_EQ(lookup("2001:db8:1::1", org, sizeof(org)), 64503);
	CHECK_STR(org, "\xc3\x9c" "n" "\xc3\xaf" "code Org");
	CHECK_EQ(lookup("2001:db9::1", NULL, 0), -1);
}

static void test_asn_lookup_truncates_organisation(void)
{
	char org[5];

	CHECK_EQ(lookup("198.51.100.7", org, sizeof(org)), 64500);
	CHECK_STR(org, "Exam");
}

static void test_asn_open_rejects_bad_files(void)
{
	struct asn_db *bad = NULL;
	char err[256];

	CHECK_EQ(asn_db_open("/nonexistent/asn.mmdb", &bad, err, sizeof(err)), -ENOENT);
	CHECK(bad == NULL);
	CHECK_EQ(asn_db_open("/etc/hostname", &bad, err, sizeof(err)), -EINVAL);
	CHECK(bad == NULL);
}

/* Compare with mmdblookup on the corpus' real database for a list of addresses. */
static void test_asn_lookup_agrees_with_mmdblookup(const char *mmdb)
{
	static const char *const addrs[] = { "8.8.8.8", "1.1.1.1", "193.0.6.139", "9.9.9.9",
					     "2001:4860:4860::8888", "2a00:1450:4001::1",
					     "81.2.69.160", "10.1.2.3" };
	struct asn_db *real = NULL;
	char err[256];

	if (asn_db_open(mmdb, &real, err, sizeof(err)) != 0) {
		printf("skip: %s: %s\n", mmdb, err);
		return;
	}
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		char cmd[512], line[256];
		long long want = -1;
		uint32_t got = 0;
		struct addr a = ip(addrs[i]);
		FILE *p;

		snprintf(cmd, sizeof(cmd),
			 "mmdblookup --file '%s' --ip %s autonomous_system_number 2>/dev/null",
			 mmdb, addrs[i]);
		p = popen(cmd, "r");
		if (p == NULL)
			continue;
		while (fgets(line, sizeof(line), p) != NULL) {
			char *end;
			long long v = strtoll(line, &end, 10);

			if (end != line)
				want = v;
		}
		pclose(p);
		if (!asn_lookup(real, &a, &got, NULL, 0))
			CHECK_EQ(-1, want);
		else
			CHECK_EQ((long long)got, want);
	}
	asn_db_close(real);
}

int main(int argc, char **argv)
{
	char err[256];

	if (argc < 2) {
		fprintf(stderr, "usage: test_asn TEST.mmdb [REAL.mmdb]\n");
		return 2;
	}
	if (asn_db_open(argv[1], &db, err, sizeof(err)) != 0) {
		fprintf(stderr, "cannot open %s: %s\n", argv[1], err);
		return 1;
	}
	RUN(test_asn_lookup_finds_most_specific_network);
	RUN(test_asn_lookup_handles_max_asn_and_ipv6);
	RUN(test_asn_lookup_truncates_organisation);
	RUN(test_asn_open_rejects_bad_files);
	if (argc > 2) {
		check_failures_ = 0;
		test_asn_lookup_agrees_with_mmdblookup(argv[2]);
		if (check_failures_ == 0)
			check_tests_passed_++;
		else
			check_tests_failed_++;
	}
	asn_db_close(db);
	return check_summary();
}
