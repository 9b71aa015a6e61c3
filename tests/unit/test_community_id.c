/*
 * Tests of Community ID v1 (sensor/community_id.c).
 *
 *   test_community_id           the spec's published baseline values (community-id-spec
 *                               baseline/baseline_deflt.json, seed 0) and boundary cases
 *   test_community_id --stdin   reads "family proto saddr daddr sport dport" lines and prints
 *                               one ID per line, for test_community_id.py, which compares
 *                               against an independent Python implementation on random tuples
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sensor/community_id.h"

static struct community_id_ctx *ctx;

static struct addr parse_addr(const char *s, uint8_t *family)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, a.b) != 1)
			fprintf(stderr, "bad address %s\n", s);
		*family = ADDR_V6;
	} else {
		a.b[10] = 0xff;
		a.b[11] = 0xff;
		if (inet_pton(AF_INET, s, a.b + 12) != 1)
			fprintf(stderr, "bad address %s\n", s);
		*family = ADDR_V4;
	}
	return a;
}

static const char *cid(uint8_t proto, const char *src, const char *dst, uint16_t sport,
                       uint16_t dport)
{
	static char out[COMMUNITY_ID_SIZE];
	uint8_t fam;
	struct addr s = parse_addr(src, &fam), d = parse_addr(dst, &fam);

	community_id_v1(ctx, fam, &s, &d, proto, sport, dport, out);
	return out;
}

/*
 * Values from the spec's baseline (corelight/community-id-spec baseline/baseline_deflt.json).
 * That file gives ICMP "ports" after the type mapping; here the message's type and code go
 * in, e.g. the echo reply 192.168.0.1 -> .89 is type 0 code 0 (mapped to ports 0/8).
 */
static void test_community_id_matches_spec_baseline_tcp_udp(void)
{
	CHECK_STR(cid(6, "128.232.110.120", "66.35.250.204", 34855, 80),
	          "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	CHECK_STR(cid(6, "66.35.250.204", "128.232.110.120", 80, 34855),
	          "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
	CHECK_STR(cid(17, "192.168.1.52", "8.8.8.8", 54585, 53), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
	CHECK_STR(cid(17, "8.8.8.8", "192.168.1.52", 53, 54585), "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
	CHECK_STR(cid(6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943,
	              25),
	          "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
	CHECK_STR(cid(132, "192.168.170.8", "192.168.170.56", 7, 7),
	          "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=");
	CHECK_STR(cid(132, "192.168.170.56", "192.168.170.8", 7, 7),
	          "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=");
	/* other IP protocols hash no ports: RSVP (46) */
	CHECK_STR(cid(46, "10.1.12.1", "10.1.12.2", 0, 0), "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=");
	CHECK_STR(cid(46, "10.1.12.2", "10.1.12.1", 0, 0), "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=");
	/* near miss: one port off gives another ID */
	CHECK(strcmp(cid(17, "192.168.1.52", "8.8.8.8", 54586, 53),
	             "1:d/FP5EW3wiY1vCndhwleRRKHowQ=") != 0);
}

static void test_community_id_matches_spec_baseline_icmp(void)
{
	/* echo request and its reply give one ID */
	CHECK_STR(cid(1, "192.168.0.89", "192.168.0.1", 8, 0), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
	CHECK_STR(cid(1, "192.168.0.1", "192.168.0.89", 0, 0), "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
	/* time exceeded (11/0): one-way, endpoints kept in order */
	CHECK_STR(cid(1, "10.0.0.1", "10.0.0.2", 11, 0), "1:YHxtAirCG//0OzkcVAukqKQN9xM=");
	/* ICMPv6 neighbour solicitation/advertisement pairs */
	CHECK_STR(cid(58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0),
	          "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
	CHECK_STR(cid(58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0),
	          "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=");
	CHECK_STR(cid(58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 0),
	          "1:zavyT/cezQr1fmImYCwYnMXbgck=");
	/* ICMPv6 one-way: time exceeded 3/0, destination unreachable 1/4 */
	CHECK_STR(cid(58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0),
	          "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=");
	CHECK_STR(cid(58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1,
	              4),
	          "1:hLZd0XGWojozrvxqE0dWB1iM6R0=");
	/* echo request/reply, router solicitation/advertisement */
	CHECK_STR(cid(58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0),
	          "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=");
	CHECK_STR(cid(58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0),
	          "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=");
	CHECK_STR(cid(58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 0),
	          "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=");
	CHECK_STR(cid(58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0),
	          "1:pkvHqCL88/tg1k4cPigmZXUtL00=");
}

static void test_community_id_orders_equal_addresses_by_port(void)
{
	char a[COMMUNITY_ID_SIZE];

	snprintf(a, sizeof(a), "%s", cid(6, "10.0.0.1", "10.0.0.1", 1000, 80));
	CHECK_STR(cid(6, "10.0.0.1", "10.0.0.1", 80, 1000), a);
	CHECK(strcmp(cid(6, "10.0.0.1", "10.0.0.1", 80, 1001), a) != 0);
	CHECK_EQ(strlen(a), 30);
}

static int run_stdin(void)
{
	char line[512];

	while (fgets(line, sizeof(line), stdin) != NULL) {
		char s[64], d[64];
		unsigned proto, sp, dp;
		uint8_t fam;
		struct addr sa, da;
		char out[COMMUNITY_ID_SIZE];

		if (sscanf(line, "%u %63s %63s %u %u", &proto, s, d, &sp, &dp) != 5)
			return 2;
		sa = parse_addr(s, &fam);
		da = parse_addr(d, &fam);
		community_id_v1(ctx, fam, &sa, &da, (uint8_t)proto, (uint16_t)sp, (uint16_t)dp,
		                out);
		printf("%s\n", out);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc;

	ctx = community_id_ctx_new(0);
	if (ctx == NULL) {
		fprintf(stderr, "community_id_ctx_new failed\n");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "--stdin") == 0) {
		rc = run_stdin();
		community_id_ctx_free(ctx);
		return rc;
	}
	RUN(test_community_id_matches_spec_baseline_tcp_udp);
	RUN(test_community_id_matches_spec_baseline_icmp);
	RUN(test_community_id_orders_equal_addresses_by_port);
	community_id_ctx_free(ctx);
	return check_summary();
}
