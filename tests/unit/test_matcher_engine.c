/*
 * Unit tests of the matcher engine through the builder (internal.h): every covering entry per
 * lookup, prefix and name boundaries, duplicate merging across feeds, expiry, the allowlist,
 * normalised values, the `listed` triples, and publication generations.
 */
#include <stdio.h>

#include "check.h"
#include "test_matcher_common.h"

/* ids of m[0..n) as "role:id role:id ..." for compact comparisons */
static const char *ids(const struct matcher_match *m, size_t n)
{
	static char buf[512];
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < n && at < sizeof(buf) - 32; i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%c%u", i ? " " : "",
		                       m[i].role == MATCHER_ROLE_INDICATOR ? 'i'
		                       : m[i].role == MATCHER_ROLE_ASSET   ? 'a'
		                                                           : 'w',
		                       m[i].entry_id);
	return buf;
}

static const char *ip_ids(const struct matcher_snapshot *s, const char *addr)
{
	struct matcher_ip ip = tip(addr);
	const struct matcher_match *m;
	size_t n = matcher_lookup_ip(s, &ip, &m);

	return ids(m, n);
}

static const char *dom_ids(const struct matcher_snapshot *s, const char *name)
{
	struct matcher_match m[32];
	size_t n = matcher_lookup_domain(s, name, strlen(name), m, 32);

	return ids(m, n < 32 ? n : 32);
}

static const char *asn_ids(const struct matcher_snapshot *s, uint32_t asn)
{
	const struct matcher_match *m;
	size_t n = matcher_lookup_asn(s, asn, &m);

	return ids(m, n);
}

static struct matcher_snapshot *build(struct matcher__builder *b)
{
	struct matcher_snapshot *s = NULL;

	CHECK_EQ(matcher__builder_build(b, &s), 0);
	matcher__builder_free(b);
	if (s == NULL)
		abort();
	return s;
}

static void test_ip_lookup_returns_every_covering_entry(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int f = tfeed(b, "f"), p = tpart(b, "p1");
	struct matcher_snapshot *s;

	CHECK_EQ(tind(b, f, "198.51.100.7", 50, false), 0); /* i0 */
	CHECK_EQ(tasset(b, p, "198.51.0.0/16"), 0);         /* a0 */
	s = build(b);
	CHECK_STR(ip_ids(s, "198.51.100.7"), "i0 a0");
	CHECK_STR(ip_ids(s, "198.51.100.8"), "a0");
	CHECK_STR(ip_ids(s, "198.51.100.6"), "a0");
	CHECK_STR(ip_ids(s, "198.51.0.0"), "a0");
	CHECK_STR(ip_ids(s, "198.51.255.255"), "a0");
	CHECK_STR(ip_ids(s, "198.52.0.0"), "");
	CHECK_STR(ip_ids(s, "198.50.255.255"), "");
	CHECK_STR(ip_ids(s, "::ffff:198.51.100.7"), "i0 a0"); /* the same address */
	CHECK_STR(ip_ids(s, "2001:db8::1"), "");
	matcher_snapshot_free(s);
}

static void test_ip_nested_and_overlapping_prefixes(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int f = tfeed(b, "f");
	struct matcher_snapshot *s;

	tind(b, f, "10.0.0.0/8", 50, false);    /* i0 */
	tind(b, f, "10.1.0.0/16", 50, false);   /* i1 */
	tind(b, f, "10.1.2.0/24", 50, false);   /* i2 */
	tind(b, f, "10.1.2.128/25", 50, false); /* i3 */
	tind(b, f, "10.1.3.0/24", 50, false);   /* i4 */
	tind(b, f, "10.1.2.255", 50, false);    /* i5 */
	s = build(b);
	CHECK_STR(ip_ids(s, "10.0.0.0"), "i0");
	CHECK_STR(ip_ids(s, "10.1.2.127"), "i0 i1 i2");
	CHECK_STR(ip_ids(s, "10.1.2.128"), "i0 i1 i2 i3");
	CHECK_STR(ip_ids(s, "10.1.2.254"), "i0 i1 i2 i3");
	CHECK_STR(ip_ids(s, "10.1.2.255"), "i0 i1 i2 i3 i5");
	CHECK_STR(ip_ids(s, "10.1.3.0"), "i0 i1 i4");
	CHECK_STR(ip_ids(s, "10.1.4.0"), "i0 i1");
	CHECK_STR(ip_ids(s, "10.2.0.0"), "i0");
	CHECK_STR(ip_ids(s, "10.255.255.255"), "i0");
	CHECK_STR(ip_ids(s, "11.0.0.0"), "");
	CHECK_STR(ip_ids(s, "9.255.255.255"), "");
	CHECK_EQ(matcher_indicator(s, 3)->plen, 25);
	matcher_snapshot_free(s);
}

static void test_ip_boundary_prefix_lengths(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int f = tfeed(b, "f");
	struct matcher_snapshot *s;

	tind(b, f, "0.0.0.0/0", 50, false);       /* i0: every IPv4 address */
	tind(b, f, "255.255.255.255", 50, false); /* i1 */
	tind(b, f, "0.0.0.0", 50, false);         /* i2 */
	tind(b, f, "2001:db8::/32", 50, false);   /* i3 */
	tind(b, f, "2001:db8::1", 50, false);     /* i4: /128 */
	tind(b, f, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 50, false); /* i5 */
	s = build(b);
	CHECK_STR(ip_ids(s, "0.0.0.0"), "i0 i2");
	CHECK_STR(ip_ids(s, "0.0.0.1"), "i0");
	CHECK_STR(ip_ids(s, "255.255.255.254"), "i0");
	CHECK_STR(ip_ids(s, "255.255.255.255"), "i0 i1");
	CHECK_STR(ip_ids(s, "2001:db8::1"), "i3 i4");
	CHECK_STR(ip_ids(s, "2001:db8::2"), "i3");
	CHECK_STR(ip_ids(s, "2001:db8::"), "i3");
	CHECK_STR(ip_ids(s, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), "i3");
	CHECK_STR(ip_ids(s, "2001:db9::"), "");
	CHECK_STR(ip_ids(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "i5");
	CHECK_STR(ip_ids(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), "");
	CHECK_STR(ip_ids(s, "::"), "");
	CHECK_STR(ip_ids(s, "::1"), "");
	CHECK_STR(matcher_indicator(s, 0)->value, "0.0.0.0/0");
	CHECK_STR(matcher_indicator(s, 4)->value, "2001:db8::1");
	matcher_snapshot_free(s);
}

static void test_ip_v6_everything_covers_mapped_v4(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int f = tfeed(b, "f");
	struct matcher_snapshot *s;

	tind(b, f, "::/0", 50, false);                    /* i0 */
	tind(b, f, "192.0.2.0/24", 50, false);            /* i1 */
	tind(b, f, "::ffff:198.51.100.0/120", 50, false); /* i2: an IPv6-typed mapped prefix */
	s = build(b);
	CHECK_STR(ip_ids(s, "192.0.2.1"), "i0 i1");
	CHECK_STR(ip_ids(s, "::ffff:192.0.2.1"), "i0 i1");
	CHECK_STR(ip_ids(s, "198.51.100.9"), "i0 i2");
	CHECK_STR(ip_ids(s, "198.51.101.9"), "i0");
	CHECK_STR(ip_ids(s, "2001:db8::1"), "i0");
	CHECK_STR(ip_ids(s, "::192.0.2.1"), "i0"); /* IPv4-compatible is not mapped */
	matcher_snapshot_free(s);
}

static void test_asn_boundaries(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int f = tfeed(b, "f"), p = tpart(b, "p1");
	struct matcher_snapshot *s;

	tind(b, f, "AS0", 50, false);          /* i0 */
	tind(b, f, "AS4294967295", 50, false); /* i1 */
	tind(b, f, "AS64511", 50, false);      /* i2 */
	tasset(b, p, "AS64511");               /* a0 */
	s = build(b);
	CHECK_STR(asn_ids(s, 0), "i0");
	CHECK_STR(asn_ids(s, 4294967295u), "i1");
	CHECK_STR(asn_ids(s, 4294967294u), "");
	CHECK_STR(asn_ids(s, 1), "");
	CHECK_STR(asn_ids(s, 64511), "i2 a0");
	CHECK_STR(asn_ids(s, 64512), "");
	CHECK_STR(matcher_indicator(s, 1)->value, "AS4294967295");
	CHECK_STR(matcher_asset(s, 0)->value, "AS64511");
	matcher_snapshot_free(s);
}

static void test_domain_suffix_entry_skips_lookalike(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int f = tfeed(b, "f"), p = tpart(b, "p1");
	struct matcher_snapshot *s;
	struct matcher_match m[2];

	tind(b, f, "evil.example", 50, false);          /* i0: the name and its subdomains */
	tind(b, f, "exact.example", 50, true);          /* i1: this name only */
	tind(b, f, "b.evil.example", 50, true);         /* i2 */
	tind(b, f, "xn--bcher-kva.example", 50, false); /* i3 */
	tasset(b, p, "example");                        /* a0 */
	s = build(b);
	CHECK_STR(dom_ids(s, "evil.example"), "i0 a0");
	CHECK_STR(dom_ids(s, "a.b.evil.example"), "i0 a0");
	CHECK_STR(dom_ids(s, "b.evil.example"), "i0 i2 a0");
	CHECK_STR(dom_ids(s, "notevil.example"), "a0");
	CHECK_STR(dom_ids(s, "evil.example.com"), "");
	CHECK_STR(dom_ids(s, "exact.example"), "i1 a0");
	CHECK_STR(dom_ids(s, "www.exact.example"), "a0");
	CHECK_STR(dom_ids(s, "www.xn--bcher-kva.example"), "i3 a0");
	CHECK_STR(dom_ids(s, "example"), "a0");
	CHECK_STR(dom_ids(s, "xample"), "");
	CHECK_STR(dom_ids(s, ""), "");
	/* a short buffer still gets the full count */
	CHECK_EQ(matcher_lookup_domain(s, "b.evil.example", 14, m, 2), 3);
	CHECK_EQ(matcher_lookup_domain(s, "b.evil.example", 14, m, 0), 3);
	matcher_snapshot_free(s);
}

static void test_duplicates_merge_into_most_confident_feed(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int fa = tfeed(b, "alpha"), fb = tfeed(b, "beta"), fc = tfeed(b, "gamma");
	struct matcher__indicator_in in;
	struct matcher_snapshot *s;
	const struct matcher_indicator *x;

	memset(&in, 0, sizeof(in));
	in.v = tval("198.51.100.7");
	in.category = MATCHER_CAT_SCANNER;
	in.severity = MATCHER_SEV_LOW;
	in.confidence = 40;
	in.description = "scanner from alpha";
	in.first_seen = 2000;
	in.last_seen = 3000;
	matcher__builder_indicator(b, fa, &in); /* i0 */
	tind(b, fa, "evil.example", 50, false); /* i1 */
	in.category = MATCHER_CAT_BOTNET_C2;
	in.severity = MATCHER_SEV_CRITICAL;
	in.confidence = 90;
	in.description = "c2 from gamma";
	in.first_seen = 1000;
	in.last_seen = 2500;
	matcher__builder_indicator(b, fc, &in); /* merges into i0 */
	in.confidence = 90; /* ties with gamma: beta wins, registered (loaded) before gamma */
	in.description = "c2 from beta";
	in.first_seen = 0;
	in.last_seen = 4000;
	matcher__builder_indicator(b, fb, &in);
	tind(b, fb, "evil.example", 50, true);     /* i2: exact differs from i1 */
	tind(b, fb, "198.51.100.7/31", 50, false); /* i3: another prefix length */
	s = build(b);
	CHECK_EQ(matcher_snapshot_stats(s)->indicators, 4);
	x = matcher_indicator(s, 0);
	CHECK_STR(x->value, "198.51.100.7");
	CHECK_EQ(x->nsources, 3);
	CHECK_STR(x->sources[0], "alpha");
	CHECK_STR(x->sources[1], "beta");
	CHECK_STR(x->sources[2], "gamma");
	CHECK_STR(x->feed, "beta");
	CHECK_STR(x->description, "c2 from beta");
	CHECK_EQ(x->category, MATCHER_CAT_BOTNET_C2);
	CHECK_EQ(x->severity, MATCHER_SEV_CRITICAL);
	CHECK_EQ(x->confidence, 90);
	CHECK_EQ(x->first_seen, 1000);
	CHECK_EQ(x->last_seen, 4000);
	CHECK_EQ(matcher_indicator(s, 1)->nsources, 1);
	CHECK_STR(matcher_indicator(s, 1)->feed, "alpha");
	CHECK(!matcher_indicator(s, 1)->exact);
	CHECK(matcher_indicator(s, 2)->exact);
	CHECK_STR(matcher_indicator(s, 3)->value, "198.51.100.6/31");
	CHECK(matcher_indicator(s, 4) == NULL);
	CHECK_STR(ip_ids(s, "198.51.100.7"), "i0 i3");
	CHECK_STR(dom_ids(s, "evil.example"), "i1 i2");
	CHECK_STR(dom_ids(s, "www.evil.example"), "i1");
	CHECK_U64(matcher_snapshot_stats(s)->feeds[0].loaded[MATCHER_TYPE_IPV4], 1);
	CHECK_U64(matcher_snapshot_stats(s)->feeds[1].loaded[MATCHER_TYPE_IPV4], 2);
	matcher_snapshot_free(s);
}

static void test_expired_indicators_are_dropped_and_counted(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int f = tfeed(b, "f");
	struct matcher__indicator_in in;
	struct matcher_snapshot *s;

	matcher__builder_set_now(b, 10000);
	memset(&in, 0, sizeof(in));
	in.v = tval("198.51.100.7");
	in.confidence = 50;
	in.expires = 10000; /* expires at now: gone */
	matcher__builder_indicator(b, f, &in);
	in.v = tval("198.51.100.8");
	in.expires = 10001; /* one second left */
	matcher__builder_indicator(b, f, &in);
	in.v = tval("198.51.100.9");
	in.expires = 0; /* never */
	matcher__builder_indicator(b, f, &in);
	s = build(b);
	CHECK_STR(ip_ids(s, "198.51.100.7"), "");
	CHECK_STR(ip_ids(s, "198.51.100.8"), "i0");
	CHECK_STR(ip_ids(s, "198.51.100.9"), "i1");
	CHECK_U64(matcher_snapshot_stats(s)->feeds[0].dropped_expired, 1);
	CHECK_U64(matcher_snapshot_stats(s)->feeds[0].loaded[MATCHER_TYPE_IPV4], 2);
	CHECK_EQ(matcher_indicator(s, 0)->expires, 10001);
	matcher_snapshot_free(s);
}

static void test_allowlist_suppresses_and_counts_per_feed(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int fa = tfeed(b, "a"), fb = tfeed(b, "b");
	struct matcher__value v;
	struct matcher_snapshot *s;

	v = tval("198.51.100.0/24");
	matcher__builder_allow(b, &v); /* w0 */
	v = tval("good.example");
	matcher__builder_allow(b, &v); /* w1 */
	v = tval("AS64500");
	matcher__builder_allow(b, &v);              /* w2 */
	tind(b, fa, "198.51.100.7", 50, false);     /* allowed (inside) */
	tind(b, fa, "198.51.100.0/25", 50, false);  /* allowed */
	tind(b, fa, "198.51.0.0/16", 50, false);    /* i0: wider than the allowlist entry: kept */
	tind(b, fb, "www.good.example", 50, false); /* allowed (subdomain) */
	tind(b, fb, "good.example", 50, true);      /* allowed (equal) */
	tind(b, fb, "notgood.example", 50, false);  /* i1 */
	tind(b, fb, "AS64500", 50, false);          /* allowed */
	tind(b, fb, "AS64501", 50, false);          /* i2 */
	s = build(b);
	CHECK_EQ(matcher_snapshot_stats(s)->indicators, 3);
	CHECK_U64(matcher_snapshot_stats(s)->feeds[0].allowlisted, 2);
	CHECK_U64(matcher_snapshot_stats(s)->feeds[1].allowlisted, 3);
	CHECK_STR(matcher_indicator(s, 0)->value, "198.51.0.0/16");
	CHECK_STR(matcher_indicator(s, 1)->value, "notgood.example");
	CHECK_STR(matcher_indicator(s, 2)->value, "AS64501");
	/* the allowlist entries themselves are found by lookups, with their own role */
	CHECK_STR(ip_ids(s, "198.51.100.7"), "i0 w0");
	CHECK_STR(dom_ids(s, "www.good.example"), "w1");
	CHECK_STR(asn_ids(s, 64500), "w2");
	matcher_snapshot_free(s);
}

static void test_values_are_normalised_text(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int f = tfeed(b, "f"), p = tpart(b, "p1");
	struct matcher_snapshot *s;

	tind(b, f, "192.0.2.7/32", 50, false);
	tind(b, f, "203.0.113.77/24", 50, false); /* host bits are cleared */
	tind(b, f, "2001:0db8:0000::/48", 50, false);
	tind(b, f, "2001:db8:0:0:1:0:0:1", 50, false);
	tasset(b, p, "10.0.0.0/8");
	tasset(b, p, "9.9.9.9");
	tasset(b, p, "fe80::/10");
	tasset(b, p, "2001:db8::/32");
	s = build(b);
	CHECK_STR(matcher_indicator(s, 0)->value, "192.0.2.7");
	CHECK_EQ(matcher_indicator(s, 0)->plen, 32);
	CHECK_EQ(matcher_indicator(s, 0)->type, MATCHER_TYPE_IPV4);
	CHECK_STR(matcher_indicator(s, 1)->value, "203.0.113.0/24");
	CHECK_STR(matcher_indicator(s, 2)->value, "2001:db8::/48");
	CHECK_STR(matcher_indicator(s, 3)->value, "2001:db8::1:0:0:1");
	CHECK_STR(matcher_asset(s, 0)->value, "10.0.0.0/8");
	CHECK(matcher_asset(s, 0)->special);
	CHECK_STR(matcher_asset(s, 1)->value, "9.9.9.9");
	CHECK(!matcher_asset(s, 1)->special);
	CHECK(matcher_asset(s, 2)->special);
	CHECK_EQ(matcher_asset(s, 2)->participant, 0);
	CHECK_STR(matcher_type_name(MATCHER_TYPE_IPV6), "ipv6-addr");
	CHECK_STR(matcher_category_name(MATCHER_CAT_COMPROMISED_WEBSITE), "compromised-website");
	CHECK_STR(matcher_tlp_name(MATCHER_TLP_AMBER_STRICT), "AMBER+STRICT");
	matcher_snapshot_free(s);
}

static void test_participants_reject_duplicates_and_operator(void)
{
	struct matcher__builder *b = matcher__builder_new();
	const char *sensors[] = { "ams-1", "fra-2" };
	struct matcher_snapshot *s;

	CHECK_EQ(matcher__builder_participant(b, "p1", "One", "nl", sensors, 2, "[{\"type\":1}]"),
	         0);
	CHECK_EQ(matcher__builder_participant(b, "p2", "Two", NULL, NULL, 0, NULL), 1);
	CHECK_EQ(matcher__builder_participant(b, "p1", "Again", NULL, NULL, 0, NULL), -EEXIST);
	CHECK_EQ(matcher__builder_participant(b, "operator", "Op", NULL, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(tasset(b, 5, "192.0.2.1"), -EINVAL);
	s = build(b);
	CHECK_EQ(matcher_participant_count(s), 2);
	CHECK_STR(matcher_participant(s, 0)->name, "One");
	CHECK_STR(matcher_participant(s, 0)->language, "nl");
	CHECK_EQ(matcher_participant(s, 0)->nsensors, 2);
	CHECK_STR(matcher_participant(s, 0)->sensors[1], "fra-2");
	CHECK_STR(matcher_participant(s, 1)->contacts_json, "[]");
	CHECK(matcher_participant(s, 1)->language == NULL);
	CHECK(matcher_participant(s, 2) == NULL);
	matcher_snapshot_free(s);
}

static uint32_t test_asn_of(void *arg, const struct matcher_ip *ip)
{
	(void)arg;
	/* 203.0.113.0/24 is in AS64500 for this test */
	if (ip->b[10] == 0xff && ip->b[12] == 203 && ip->b[13] == 0 && ip->b[14] == 113)
		return 64500;
	return 0;
}

static bool has_triple(const struct matcher_snapshot *s, uint32_t p, uint32_t i, uint32_t a)
{
	const struct matcher_listed *l;
	size_t n = matcher_listed(s, &l), k;

	for (k = 0; k < n; k++) {
		if (l[k].participant == p && l[k].indicator == i && l[k].asset == a)
			return true;
	}
	return false;
}

static void test_listed_pairs_indicators_with_touched_assets(void)
{
	struct matcher__builder *b = matcher__builder_new();
	int f = tfeed(b, "f"), p1, p2;
	const struct matcher_listed *l;
	struct matcher_snapshot *s;

	matcher__builder_set_asn_fn(b, test_asn_of, NULL);
	p1 = tpart(b, "p1");
	p2 = tpart(b, "p2");
	tasset(b, p1, "198.51.100.0/24");         /* a0 */
	tasset(b, p1, "shop.example");            /* a1 */
	tasset(b, p2, "AS64500");                 /* a2 */
	tasset(b, p2, "2001:db8::/32");           /* a3 */
	tasset(b, p2, "198.51.0.0/16");           /* a4: an ISP around p1's range */
	tind(b, f, "198.51.100.7", 50, false);    /* i0: inside a0 and a4 */
	tind(b, f, "198.0.0.0/8", 50, false);     /* i1: contains a0 and a4 */
	tind(b, f, "198.52.0.0/16", 50, false);   /* i2: next to a4: no */
	tind(b, f, "example", 50, false);         /* i3: above a1 */
	tind(b, f, "x.shop.example", 50, true);   /* i4: under a1 */
	tind(b, f, "shop.example", 50, false);    /* i5: equal to a1 */
	tind(b, f, "notshop.example", 50, false); /* i6: no */
	tind(b, f, "AS64500", 50, false);         /* i7: equal to a2 */
	tind(b, f, "203.0.113.9", 50, false);     /* i8: inside AS64500 via the callback */
	tind(b, f, "2001:db8:1::/48", 50, false); /* i9: inside a3 */
	tind(b, f, "2000::/3", 50, false);        /* i10: contains a3 */
	tind(b, f, "www.example", 50, true);      /* i11: exact, above nothing of p1: no */
	s = build(b);
	CHECK(has_triple(s, 0, 0, 0));
	CHECK(has_triple(s, 1, 0, 4));
	CHECK(has_triple(s, 0, 1, 0));
	CHECK(has_triple(s, 1, 1, 4));
	CHECK(!has_triple(s, 1, 2, 4));
	CHECK(has_triple(s, 0, 3, 1));
	CHECK(has_triple(s, 0, 4, 1));
	CHECK(has_triple(s, 0, 5, 1));
	CHECK(!has_triple(s, 0, 6, 1));
	CHECK(has_triple(s, 1, 7, 2));
	CHECK(has_triple(s, 1, 8, 2));
	CHECK(has_triple(s, 1, 9, 3));
	CHECK(has_triple(s, 1, 10, 3));
	CHECK(!has_triple(s, 0, 11, 1));
	CHECK_EQ(matcher_listed(s, &l), 11);
	CHECK_EQ(matcher_snapshot_stats(s)->listed, 11);
	/* sorted by (participant, indicator, asset) */
	CHECK_EQ(l[0].participant, 0);
	CHECK_EQ(l[0].indicator, 0);
	CHECK_EQ(l[10].participant, 1);
	CHECK_EQ(l[10].indicator, 10);
	matcher_snapshot_free(s);
}

static void test_empty_rule_set_matches_nothing(void)
{
	struct matcher_snapshot *s = build(matcher__builder_new());
	const struct matcher_listed *l;

	CHECK_STR(ip_ids(s, "192.0.2.1"), "");
	CHECK_STR(ip_ids(s, "2001:db8::1"), "");
	CHECK_STR(dom_ids(s, "example"), "");
	CHECK_STR(asn_ids(s, 0), "");
	CHECK_EQ(matcher_listed(s, &l), 0);
	CHECK(matcher_indicator(s, 0) == NULL);
	CHECK_EQ(matcher_snapshot_generation(s), 0);
	matcher_snapshot_free(s);
	matcher_snapshot_free(NULL);
}

static void test_publish_stamps_generations(void)
{
	struct matcher_handle *h = matcher_handle_new();
	struct matcher_snapshot *s1 = build(matcher__builder_new());
	struct matcher_snapshot *s2 = build(matcher__builder_new());

	matcher_reader_register();
	CHECK(matcher_current(h) == NULL);
	CHECK_EQ(matcher_publish(h, s1), 0);
	CHECK(matcher_current(h) == s1);
	CHECK_U64(matcher_snapshot_generation(matcher_current(h)), 1);
	matcher_quiescent();
	CHECK_EQ(matcher_publish(h, s2), 0); /* frees s1 after the grace period */
	CHECK(matcher_current(h) == s2);
	CHECK_U64(matcher_snapshot_generation(matcher_current(h)), 2);
	matcher_reader_offline();
	matcher_reader_online();
	matcher_reader_unregister();
	matcher_handle_free(h);
	matcher_handle_free(NULL);
}

int main(void)
{
	RUN(test_ip_lookup_returns_every_covering_entry);
	RUN(test_ip_nested_and_overlapping_prefixes);
	RUN(test_ip_boundary_prefix_lengths);
	RUN(test_ip_v6_everything_covers_mapped_v4);
	RUN(test_asn_boundaries);
	RUN(test_domain_suffix_entry_skips_lookalike);
	RUN(test_duplicates_merge_into_most_confident_feed);
	RUN(test_expired_indicators_are_dropped_and_counted);
	RUN(test_allowlist_suppresses_and_counts_per_feed);
	RUN(test_values_are_normalised_text);
	RUN(test_participants_reject_duplicates_and_operator);
	RUN(test_listed_pairs_indicators_with_touched_assets);
	RUN(test_empty_rule_set_matches_nothing);
	RUN(test_publish_stamps_generations);
	return check_summary();
}
