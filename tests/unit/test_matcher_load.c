/*
 * Unit tests of the rule loaders: value parsing and normalisation, the load-time drops of
 * DESIGN.md, every indicator format (list, Zeek, CSV, MISP, STIX), participants, allowlists,
 * the rule-set file, and error paths (code and every file:line). Loads go through the real
 * builder and snapshot; answers are read back through the public API.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

/* ----- helpers ---------------------------------------------------------------------------- */

static char tmpdir[] = "/tmp/test_matcher_load.XXXXXX";

/* Write text to tmpdir/name; returns the path (static buffer rotation of 8). */
static const char *write_file(const char *name, const char *text)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];
	FILE *f;

	snprintf(p, 512, "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	if (f == NULL) {
		perror(p);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	return p;
}

/* Load one buffer in fmt into a new snapshot; *rc gets the loader's code. */
static struct matcher_snapshot *load_buf(enum matcher_format fmt, const char *name,
                                         const char *text, int *rc, struct matcher_errors *errs)
{
	struct matcher__builder *b = matcher__builder_new();
	struct matcher_snapshot *snap = NULL;

	matcher__builder_set_now(b, 1700000000);
	*rc = matcher__load_buffer(b, fmt, name, text, strlen(text), errs);
	if (*rc == 0 && matcher__builder_build(b, &snap) != 0)
		*rc = -ENOMEM;
	matcher__builder_free(b);
	return snap;
}

static const struct matcher_feed_stats *feed0(const struct matcher_snapshot *snap)
{
	const struct matcher_load_stats *st = matcher_snapshot_stats(snap);

	return st->nfeeds > 0 ? &st->feeds[0] : NULL;
}

static uint64_t loaded_all(const struct matcher_feed_stats *f)
{
	return f->loaded[1] + f->loaded[2] + f->loaded[3] + f->loaded[4];
}

/* The indicator whose normalised value is value, or NULL. */
static const struct matcher_indicator *find_ind(const struct matcher_snapshot *snap,
                                                const char *value)
{
	const struct matcher_indicator *ind;

	for (uint32_t id = 0; (ind = matcher_indicator(snap, id)) != NULL; id++) {
		if (strcmp(ind->value, value) == 0)
			return ind;
	}
	return NULL;
}

static int count_ind(const struct matcher_snapshot *snap)
{
	int n = 0;

	while (matcher_indicator(snap, (uint32_t)n) != NULL)
		n++;
	return n;
}

/* Parse text; returns the normalised form as text ("ipv4 10.0.0.0/8", "domain x", "asn 5")
 * or "error: why". */
static const char *pv(const char *text)
{
	static char out[400];
	struct matcher__value v;
	const char *why = NULL;
	char addr[64];

	if (matcher__parse_value(text, strlen(text), &v, &why) != 0) {
		snprintf(out, sizeof(out), "error: %s", why ? why : "?");
		return out;
	}
	switch (v.type) {
	case MATCHER_TYPE_IPV4:
		snprintf(out, sizeof(out), "ipv4 %u.%u.%u.%u/%u", v.ip.b[12], v.ip.b[13],
		         v.ip.b[14], v.ip.b[15], v.plen);
		break;
	case MATCHER_TYPE_IPV6:
		inet_ntop(AF_INET6, v.ip.b, addr, sizeof(addr));
		snprintf(out, sizeof(out), "ipv6 %s/%u", addr, v.plen);
		break;
	case MATCHER_TYPE_DOMAIN:
		snprintf(out, sizeof(out), "domain %s", v.domain);
		break;
	case MATCHER_TYPE_ASN:
		snprintf(out, sizeof(out), "asn %u", v.asn);
		break;
	}
	return out;
}

static bool special(const char *text)
{
	struct matcher__value v;

	if (matcher__parse_value(text, strlen(text), &v, NULL) != 0)
		return false;
	return matcher__is_special(&v);
}

/* Is there an error at file:line (file compared by suffix)? */
static bool has_error(const struct matcher_errors *errs, const char *file_suffix, unsigned line)
{
	for (size_t i = 0; i < errs->n; i++) {
		const char *f = errs->v[i].file;

		if (f != NULL && strlen(f) >= strlen(file_suffix) &&
		    strcmp(f + strlen(f) - strlen(file_suffix), file_suffix) == 0 &&
		    errs->v[i].line == line)
			return true;
	}
	return false;
}

/* ----- values ----------------------------------------------------------------------------- */

static void test_value_ip_forms_normalise(void)
{
	CHECK_STR(pv("198.51.100.7"), "ipv4 198.51.100.7/32");
	CHECK_STR(pv(" 203.0.113.0/24 "), "ipv4 203.0.113.0/24");
	CHECK_STR(pv("10.1.2.3/8"), "ipv4 10.0.0.0/8"); /* host bits cleared */
	CHECK_STR(pv("0.0.0.0/0"), "ipv4 0.0.0.0/0");
	CHECK_STR(pv("1.2.3.4/33"), "error: bad prefix length");
	CHECK_STR(pv("2001:DB8::1"), "ipv6 2001:db8::1/128");
	CHECK_STR(pv("2001:db8::/48"), "ipv6 2001:db8::/48");
	CHECK_STR(pv("::ffff:192.0.2.1"), "ipv4 192.0.2.1/32"); /* IPv4-mapped is IPv4 */
	CHECK_STR(pv("::/0"), "ipv6 ::/0");
	CHECK_STR(pv("256.1.1.1"), "error: bad IP address");
	CHECK_STR(pv("1.2.3"), "error: bad IP address");
}

static void test_value_ports_urls_and_defanging(void)
{
	CHECK_STR(pv("66.210.228.178:443"), "ipv4 66.210.228.178/32");
	CHECK_STR(pv("[2001:db8::5]:8080"), "ipv6 2001:db8::5/128");
	CHECK_STR(pv("evil.example:8080"), "domain evil.example");
	CHECK_STR(pv("evil.example:99999"), "error: bad port");
	CHECK_STR(pv("http://evil.example"), "domain evil.example");
	CHECK_STR(pv("https://user@evil.example:8443/"), "domain evil.example");
	CHECK_STR(pv("http://evil.example/x.exe"), "error: url with path");
	CHECK_STR(pv("evil.example/gate.php"), "error: url with path");
	CHECK_STR(pv("http://evil.example?q=1"), "error: url with path");
	CHECK_STR(pv("hxxp://evil[.]example/"), "domain evil.example");
	CHECK_STR(pv("evil(.)example"), "domain evil.example");
	CHECK_STR(pv("198[.]51[.]100[.]7"), "ipv4 198.51.100.7/32");
	CHECK_STR(pv("http://[2001:db8::1]:80/"), "ipv6 2001:db8::1/128");
}

static void test_value_domains_normalise(void)
{
	CHECK_STR(pv("Evil.EXAMPLE."), "domain evil.example");
	CHECK_STR(pv("bücher.example"), "domain xn--bcher-kva.example");
	CHECK_STR(pv("xn--bcher-kva.example"), "domain xn--bcher-kva.example");
	CHECK_STR(pv("_dmarc.bücher.example"), "domain _dmarc.xn--bcher-kva.example");
	CHECK_STR(pv("a_b.example"), "domain a_b.example");
	CHECK_STR(pv("*.evil.example"), "domain evil.example");
	CHECK_STR(pv("evil..example"), "error: not an IP, domain or AS number");
	CHECK_STR(pv("evil example"), "error: not an IP, domain or AS number");
	CHECK_STR(pv("^evil\\.example$"), "error: not an IP, domain or AS number");
	/* 63-byte label fits, 64 does not */
	CHECK_STR(pv("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"),
	          "domain aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example");
	CHECK_STR(pv("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example"),
	          "error: not an IP, domain or AS number");
}

static void test_value_as_numbers(void)
{
	CHECK_STR(pv("AS64511"), "asn 64511");
	CHECK_STR(pv("asn0"), "asn 0");
	CHECK_STR(pv("AS4294967295"), "asn 4294967295");
	CHECK_STR(pv("AS4294967296"), "domain as4294967296"); /* too big: a (silly) name */
	CHECK_STR(pv("64511"), "error: bad IP address");
}

static void test_normalize_domain_public_api(void)
{
	char out[256];

	const char *name = "WWW.Bücher.Example.";

	CHECK_EQ(matcher_normalize_domain(name, strlen(name), out, sizeof(out)), 25);
	CHECK_STR(out, "www.xn--bcher-kva.example");
	CHECK_EQ(matcher_normalize_domain("a..b", 4, out, sizeof(out)), -EINVAL);
	CHECK_EQ(matcher_normalize_domain("ok.example", 10, out, 10), -EINVAL); /* size < 256 */
}

static void test_special_purpose_space(void)
{
	CHECK(special("10.1.2.3"));
	CHECK(special("10.0.0.0/8"));
	CHECK(special("100.64.0.1"));
	CHECK(!special("100.128.0.1")); /* just outside 100.64.0.0/10 */
	CHECK(special("127.0.0.1"));
	CHECK(special("169.254.1.1"));
	CHECK(special("172.31.255.255"));
	CHECK(!special("172.32.0.0"));
	CHECK(special("192.0.2.7"));
	CHECK(special("198.51.100.0/24"));
	CHECK(special("203.0.113.9"));
	CHECK(special("224.0.0.251"));
	CHECK(special("224.0.0.0/3"));  /* only multicast + reserved: wholly special */
	CHECK(!special("192.0.0.0/8")); /* holds public space too */
	CHECK(!special("0.0.0.0/0"));   /* kept */
	CHECK(!special("::/0"));        /* kept */
	CHECK(!special("8.8.8.8"));
	CHECK(!special("192.31.196.1")); /* AS112: globally reachable */
	CHECK(special("::ffff:10.0.0.1"));
	CHECK(special("::1"));
	CHECK(special("fe80::1"));
	CHECK(special("fd00::/8"));
	CHECK(special("ff02::1"));
	CHECK(special("2001:db8::/32"));
	CHECK(!special("2001:db8::/31"));    /* also holds 2001:db9::/32 */
	CHECK(!special("2001::1"));          /* Teredo: real traffic after unwrapping */
	CHECK(!special("64:ff9b::808:808")); /* NAT64 well-known prefix: global */
	CHECK(!special("2a00:1450::1"));
}

static void test_public_suffix(void)
{
	CHECK(matcher__is_public_suffix("com"));
	CHECK(matcher__is_public_suffix("co.uk"));
	CHECK(!matcher__is_public_suffix("example.co.uk"));
	CHECK(!matcher__is_public_suffix("example.com"));
}

/* ----- lists ------------------------------------------------------------------------------ */

static void test_list_reads_what_feeds_in_the_wild_hold(void)
{
	struct matcher_errors errs = { 0 };
	const struct matcher_feed_stats *f;
	int rc;
	struct matcher_snapshot *snap = load_buf(MATCHER_FMT_LIST, "/x/wild.txt",
	                                         "# a comment\n"
	                                         "198.51.100.7 # documentation: dropped\n"
	                                         "66.210.228.178:443\n"
	                                         "0.0.0.0 ads.evil.example\n"
	                                         "127.0.0.1 localhost\n"
	                                         "0.0.0.0 one.example two.example\n"
	                                         "||adguard.example^\n"
	                                         "! adguard comment\n"
	                                         "hxxp://defanged[.]example/\n"
	                                         "http://url.example/path/x.exe\n"
	                                         "EVIL.example.\n"
	                                         "evil.example\n"
	                                         "bücher.example\n"
	                                         "AS64511 # inline comment\n"
	                                         "2a00:1450::/32\n"
	                                         "com\n"
	                                         "co.uk\n"
	                                         "10.0.0.0/8\n"
	                                         "this is junk\n"
	                                         "\r\n",
	                                         &rc, &errs);

	CHECK_EQ(rc, 0);
	CHECK_EQ(errs.n, 0);
	f = feed0(snap);
	CHECK_STR(f->name, "wild");
	CHECK_U64(f->loaded[MATCHER_TYPE_IPV4], 1);
	CHECK_U64(f->loaded[MATCHER_TYPE_IPV6], 1);
	/* ads, one, two, adguard, defanged, evil x2 (a duplicate line), bücher */
	CHECK_U64(f->loaded[MATCHER_TYPE_DOMAIN], 8);
	CHECK_U64(f->loaded[MATCHER_TYPE_ASN], 1);
	CHECK_U64(f->dropped_special, 2);
	CHECK_U64(f->dropped_public_suffix, 2);
	CHECK_U64(f->dropped_url_path, 1);
	CHECK_U64(f->skipped, 1);
	CHECK_EQ(count_ind(snap), 10); /* duplicates merged */
	CHECK(find_ind(snap, "66.210.228.178") != NULL);
	CHECK(find_ind(snap, "xn--bcher-kva.example") != NULL);
	CHECK(find_ind(snap, "AS64511") != NULL);
	CHECK(find_ind(snap, "localhost") == NULL);
	CHECK(find_ind(snap, "defanged.example") != NULL);
	CHECK_STR(find_ind(snap, "evil.example")->feed, "wild");
	CHECK_EQ(find_ind(snap, "evil.example")->category, MATCHER_CAT_UNKNOWN);
	CHECK_EQ(find_ind(snap, "evil.example")->severity, MATCHER_SEV_MEDIUM);
	CHECK_EQ(find_ind(snap, "evil.example")->confidence, 50);
	CHECK_EQ(find_ind(snap, "evil.example")->tlp, MATCHER_TLP_AMBER);
	matcher_snapshot_free(snap);
	matcher_errors_clear(&errs);
}

static void test_list_header_only_loads_zero_entries(void)
{
	struct matcher_errors errs = { 0 };
	int rc;
	struct matcher_snapshot *snap =
	        load_buf(MATCHER_FMT_LIST, "empty.netset", "# header\n#\n\n", &rc, &errs);

	CHECK_EQ(rc, 0);
	CHECK_EQ(matcher_snapshot_stats(snap)->nfeeds, 1);
	CHECK_U64(loaded_all(feed0(snap)), 0);
	CHECK_EQ(count_ind(snap), 0);
	matcher_snapshot_free(snap);
	matcher_errors_clear(&errs);
}

static void test_zeek_and_csv_header_only_load_zero_entries(void)
{
	struct matcher_errors errs = { 0 };
	int rc;
	struct matcher_snapshot *snap = load_buf(
	        MATCHER_FMT_GUESS, "urlhaus.intel",
	        "#fields\tindicator\tindicator_type\tmeta.source\tmeta.do_notice\tmeta.desc\n", &rc,
	        &errs);

	CHECK_EQ(rc, 0);
	CHECK_EQ(feed0(snap)->format, MATCHER_FMT_ZEEK);
	CHECK_STR(feed0(snap)->name, "urlhaus");
	CHECK_U64(loaded_all(feed0(snap)), 0);
	matcher_snapshot_free(snap);
	snap = load_buf(MATCHER_FMT_CSV, "empty.csv", "type,indicator,classification\r\n", &rc,
	                &errs);
	CHECK_EQ(rc, 0);
	CHECK_U64(loaded_all(feed0(snap)), 0);
	CHECK_U64(feed0(snap)->skipped, 0);
	matcher_snapshot_free(snap);
	CHECK_EQ(errs.n, 0);
	matcher_errors_clear(&errs);
}

static void test_list_of_junk_fails_with_every_line(void)
{
	struct matcher_errors errs = { 0 };
	int rc;
	struct matcher_snapshot *snap =
	        load_buf(MATCHER_FMT_LIST, "junk.txt",
	                 "# fine\nnot a value\n\n^regex$\nfoo bar baz\n", &rc, &errs);

	CHECK_EQ(rc, -EINVAL);
	CHECK(snap == NULL);
	CHECK(has_error(&errs, "junk.txt", 2));
	CHECK(has_error(&errs, "junk.txt", 4));
	CHECK(has_error(&errs, "junk.txt", 5));
	CHECK(!has_error(&errs, "junk.txt", 1));
	matcher_errors_clear(&errs);
}

/* ----- Zeek ------------------------------------------------------------------------------- */

static void test_zeek_types_sources_and_meta(void)
{
	struct matcher_errors errs = { 0 };
	const struct matcher_load_stats *st;
	const struct matcher_indicator *ind;
	int rc;
	struct matcher_snapshot *snap =
	        load_buf(MATCHER_FMT_ZEEK, "x.intel",
	                 "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n"
	                 "1.2.3.4\tIntel::ADDR\tsource1\tphishing mail\thttp://source1.example/1\n"
	                 "a.b.example\tIntel::DOMAIN\tsource2\t-\t-\n"
	                 "5.6.0.0/16\tIntel::SUBNET\tsource1\t-\t-\n"
	                 "evil.example/gate.php\tIntel::URL\tsource1\t-\t-\n"
	                 "d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\tsource1\t-\t-\n"
	                 "5.6.7.8\tIntel::DOMAIN\tsource1\t-\t-\n"
	                 "too\tfew\n",
	                 &rc, &errs);

	CHECK_EQ(rc, 0);
	st = matcher_snapshot_stats(snap);
	CHECK_EQ(st->nfeeds, 2);
	CHECK_STR(st->feeds[0].name, "source1");
	CHECK_STR(st->feeds[1].name, "source2");
	CHECK_U64(st->feeds[0].loaded[MATCHER_TYPE_IPV4], 2);
	CHECK_U64(st->feeds[1].loaded[MATCHER_TYPE_DOMAIN], 1);
	CHECK_U64(st->feeds[0].dropped_url_path, 1);
	CHECK_U64(st->feeds[0].dropped_other, 1);
	CHECK_U64(st->feeds[0].skipped, 2); /* type mismatch, wrong column count */
	ind = find_ind(snap, "1.2.3.4");
	CHECK(ind != NULL);
	CHECK_STR(ind->description, "phishing mail");
	CHECK_STR(ind->reference, "http://source1.example/1");
	CHECK(find_ind(snap, "5.6.0.0/16") != NULL);
	CHECK(find_ind(snap, "a.b.example")->description == NULL);
	matcher_snapshot_free(snap);
	matcher_errors_clear(&errs);
}

static void test_zeek_without_fields_header_fails_at_its_line(void)
{
	struct matcher_errors errs = { 0 };
	int rc;
	struct matcher_snapshot *snap = load_buf(MATCHER_FMT_ZEEK, "nofields.intel",
	                                         "# comment\n1.2.3.4\tIntel::ADDR\n", &rc, &errs);

	CHECK_EQ(rc, -EINVAL);
	CHECK(snap == NULL);
	CHECK(has_error(&errs, "nofields.intel", 2));
	matcher_errors_clear(&errs);
	snap = load_buf(MATCHER_FMT_ZEEK, "nocols.intel", "#fields\tfoo\tbar\n", &rc, &errs);
	CHECK_EQ(rc, -EINVAL);
	CHECK(has_error(&errs, "nocols.intel", 1));
	matcher_errors_clear(&errs);
}

/* ----- CSV -------------------------------------------------------------------------------- */

static void test_csv_columns_quotes_and_bad_rows(void)
{
	struct matcher_errors errs = { 0 };
	const struct matcher_indicator *ind;
	const struct matcher_feed_stats *f;
	int rc;
	struct matcher_snapshot *snap = load_buf(
	        MATCHER_FMT_CSV, "ioc.csv",
	        "# exported\n"
	        "Indicator,type,category,severity,confidence,tlp,description,reference,expires\n"
	        "198.18.0.1,ip,scanner,low,20,GREEN,,,\n"
	        "\"evil.example\",domain,phishing,high,90,tlp:red,\"says \"\"hi\"\", twice\",,\n"
	        "8.8.4.4,ip,spam,low,10,CLEAR,,,2000-01-01\n"
	        "9.9.9.10,ip,bogus-category,low,10,CLEAR,,,\n"
	        "AS64511,asn,,,,,,,\n"
	        "64512,asn,,,,,,,\n"
	        "d41d8cd98f00b204e9800998ecf8427e,md5,,,,,,,\n"
	        "\"multi\nline.example\",domain,,,,,,,\n"
	        "ok.example,domain,,,,,,,2099-01-01T00:00:00Z\n",
	        &rc, &errs);

	CHECK_EQ(rc, 0);
	f = feed0(snap);
	CHECK_U64(f->dropped_special, 1); /* 198.18.0.1: benchmarking */
	CHECK_U64(f->dropped_expired, 1); /* 8.8.4.4 expired in 2000 */
	CHECK_U64(f->dropped_other, 1);   /* md5 */
	CHECK_U64(f->skipped, 2);         /* bogus category, newline inside the name */
	CHECK_U64(f->loaded[MATCHER_TYPE_DOMAIN], 2);
	CHECK_U64(f->loaded[MATCHER_TYPE_ASN], 2);
	ind = find_ind(snap, "evil.example");
	CHECK(ind != NULL);
	CHECK_EQ(ind->category, MATCHER_CAT_PHISHING);
	CHECK_EQ(ind->severity, MATCHER_SEV_HIGH);
	CHECK_EQ(ind->confidence, 90);
	CHECK_EQ(ind->tlp, MATCHER_TLP_RED);
	CHECK_STR(ind->description, "says \"hi\", twice");
	CHECK(find_ind(snap, "AS64512") != NULL);
	CHECK_EQ(find_ind(snap, "ok.example")->expires, 4070908800);
	matcher_snapshot_free(snap);
	matcher_errors_clear(&errs);
}

static void test_csv_infoblox_columns_and_defanged_values(void)
{
	struct matcher_errors errs = { 0 };
	int rc;
	struct matcher_snapshot *snap =
	        load_buf(MATCHER_FMT_GUESS, "infoblox.csv",
	                 "type,indicator,classification,detected_date\n"
	                 "domain,claudfront[.]net,malware,2023-02-08\n"
	                 "domain,smsw1[.]xyz,smishing,2022-04-07\n"
	                 "ip,45[.]77[.]1[.]2,malware,2022-04-07\n"
	                 "sha256,0123456789abcdef0123456789abcdef0123456789abcdef"
	                 "0123456789abcdef,malware,2023-01-01\n",
	                 &rc, &errs);

	CHECK_EQ(rc, 0);
	CHECK_EQ(feed0(snap)->format, MATCHER_FMT_CSV);
	CHECK_U64(feed0(snap)->loaded[MATCHER_TYPE_DOMAIN], 2);
	CHECK_U64(feed0(snap)->loaded[MATCHER_TYPE_IPV4], 1);
	CHECK_U64(feed0(snap)->dropped_other, 1);
	CHECK_EQ(find_ind(snap, "smsw1.xyz")->category, MATCHER_CAT_PHISHING);
	CHECK_EQ(find_ind(snap, "claudfront.net")->category, MATCHER_CAT_UNKNOWN);
	CHECK_EQ(find_ind(snap, "claudfront.net")->first_seen, 1675814400);
	CHECK(find_ind(snap, "45.77.1.2") != NULL);
	matcher_snapshot_free(snap);
	matcher_errors_clear(&errs);
}

static void test_csv_without_indicator_column_fails(void)
{
	struct matcher_errors errs = { 0 };
	int rc;
	struct matcher_snapshot *snap =
	        load_buf(MATCHER_FMT_CSV, "bad.csv", "\n# c\nvalue,type\n1.2.3.4,ip\n", &rc, &errs);

	CHECK_EQ(rc, -EINVAL);
	CHECK(snap == NULL);
	CHECK(has_error(&errs, "bad.csv", 3));
	matcher_errors_clear(&errs);
}

/* ----- MISP ------------------------------------------------------------------------------- */

static const char misp_event[] =
        "{\"Event\": {\"info\": \"test event\", \"Tag\": [{\"name\": \"tlp:green\"}],\n"
        "  \"Attribute\": [\n"
        "    {\"type\": \"ip-dst\", \"value\": \"45.77.1.2\", \"to_ids\": true},\n"
        "    {\"type\": \"ip-src\", \"value\": \"45.77.1.3\", \"to_ids\": false},\n"
        "    {\"type\": \"domain\", \"value\": \"Evil.Example\", \"to_ids\": true,\n"
        "     \"comment\": \"c2\"},\n"
        "    {\"type\": \"hostname\", \"value\": \"www.evil2.example\"},\n"
        "    {\"type\": \"ip-dst|port\", \"value\": \"45.77.1.4|443\", \"to_ids\": \"1\"},\n"
        "    {\"type\": \"domain|ip\", \"value\": \"pair.example|45.77.1.5\"},\n"
        "    {\"type\": \"AS\", \"value\": \"64511\"},\n"
        "    {\"type\": \"url\", \"value\": \"http://evil.example/x\"},\n"
        "    {\"type\": \"md5\", \"value\": \"d41d8cd98f00b204e9800998ecf8427e\"},\n"
        "    {\"type\": \"ip-dst\", \"value\": \"192.168.1.1\"},\n"
        "    {\"type\": \"ip-dst\", \"value\": \"not-an-ip\"}\n"
        "  ],\n"
        "  \"Object\": [{\"name\": \"domain-ip\", \"Attribute\": [\n"
        "    {\"type\": \"domain\", \"value\": \"object.example\", \"to_ids\": true},\n"
        "    {\"type\": \"ip-dst\", \"value\": \"45.77.1.6\", \"to_ids\": false}]}]\n"
        "}}\n";

static void test_misp_event_attributes_objects_and_to_ids(void)
{
	struct matcher_errors errs = { 0 };
	const struct matcher_feed_stats *f;
	int rc;
	struct matcher_snapshot *snap =
	        load_buf(MATCHER_FMT_MISP, "ev.json", misp_event, &rc, &errs);

	CHECK_EQ(rc, 0);
	f = feed0(snap);
	CHECK_STR(f->name, "ev");
	CHECK_U64(f->loaded[MATCHER_TYPE_IPV4], 3);   /* .2 .4 .5 */
	CHECK_U64(f->loaded[MATCHER_TYPE_DOMAIN], 4); /* evil, www.evil2, pair, object */
	CHECK_U64(f->loaded[MATCHER_TYPE_ASN], 1);
	CHECK_U64(f->dropped_not_to_ids, 2); /* .3 and the object's .6 */
	CHECK_U64(f->dropped_url_path, 1);
	CHECK_U64(f->dropped_other, 1);
	CHECK_U64(f->dropped_special, 1);
	CHECK_U64(f->skipped, 1);
	CHECK(find_ind(snap, "45.77.1.3") == NULL);
	CHECK_EQ(find_ind(snap, "45.77.1.2")->tlp, MATCHER_TLP_GREEN);
	CHECK_STR(find_ind(snap, "evil.example")->description, "c2");
	CHECK_STR(find_ind(snap, "45.77.1.2")->description, "test event");
	matcher_snapshot_free(snap);
	matcher_errors_clear(&errs);
}

static void test_misp_feed_directory_with_manifest(void)
{
	struct matcher_config *cfg = matcher_config_new();
	struct matcher_errors errs = { 0 };
	struct matcher_snapshot *snap = NULL;
	char dir[600], spec[700];

	snprintf(dir, sizeof(dir), "%s/mispfeed", tmpdir);
	mkdir(dir, 0755);
	write_file("mispfeed/manifest.json", "{\"5b0e8e1c-0000-4000-8000-000000000001\": {}}");
	write_file("mispfeed/5b0e8e1c-0000-4000-8000-000000000001.json", misp_event);
	write_file("mispfeed/not-in-manifest.json",
	           "{\"Event\": {\"Attribute\": "
	           "[{\"type\": \"domain\", \"value\": \"x.example\"}]}}");
	snprintf(spec, sizeof(spec), "misp:%s", dir);
	CHECK_EQ(matcher_config_add_indicators(cfg, spec, &errs), 0);
	matcher_config_set_now(cfg, 1700000000);
	CHECK_EQ(matcher_load(cfg, &snap, &errs), 0);
	CHECK_EQ(errs.n, 0);
	if (snap != NULL) {
		CHECK_STR(feed0(snap)->name, "mispfeed");
		CHECK_U64(feed0(snap)->loaded[MATCHER_TYPE_DOMAIN], 4);
		CHECK(find_ind(snap, "x.example") == NULL);
	}
	matcher_snapshot_free(snap);
	matcher_config_free(cfg);
	/* a manifest naming a missing event file fails with that file named */
	cfg = matcher_config_new();
	write_file("mispfeed/manifest.json", "{\"5b0e8e1c-0000-4000-8000-00000000dead\": {}}");
	CHECK_EQ(matcher_config_add_indicators(cfg, dir, &errs), 0);
	CHECK_EQ(matcher_load(cfg, &snap, &errs), -EINVAL);
	CHECK(snap == NULL);
	CHECK(errs.n >= 1 && strstr(errs.v[errs.n - 1].file, "00000000dead.json") != NULL);
	matcher_config_free(cfg);
	matcher_errors_clear(&errs);
}

static void test_misp_bad_json_fails_at_its_line(void)
{
	struct matcher_errors errs = { 0 };
	int rc;
	struct matcher_snapshot *snap =
	        load_buf(MATCHER_FMT_MISP, "broken.json", "{\"Event\": {\n\"Attribute\": [,]}}\n",
	                 &rc, &errs);

	CHECK_EQ(rc, -EINVAL);
	CHECK(snap == NULL);
	CHECK(has_error(&errs, "broken.json", 2));
	matcher_errors_clear(&errs);
}

/* ----- STIX ------------------------------------------------------------------------------- */

static void test_stix_patterns_or_and_and_others(void)
{
	struct matcher_errors errs = { 0 };
	const struct matcher_load_stats *st;
	int rc;
	struct matcher_snapshot *snap = load_buf(
	        MATCHER_FMT_STIX, "/b/bundle.json",
	        "{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [\n"
	        " {\"type\": \"identity\", \"id\": \"identity--1\", \"name\": \"Example CERT\"},\n"
	        " {\"type\": \"indicator\", \"id\": \"indicator--1\", \"created_by_ref\": "
	        "\"identity--1\",\n"
	        "  \"pattern\": \"[ipv4-addr:value = '45.77.1.2' OR ipv4-addr:value = "
	        "'45.78.0.0/16'] OR [domain-name:value = 'Evil.Example']\",\n"
	        "  \"pattern_type\": \"stix\", \"valid_until\": \"2099-01-01T00:00:00Z\",\n"
	        "  \"confidence\": 85},\n"
	        " {\"type\": \"indicator\", \"id\": \"indicator--2\", \"pattern\": "
	        "\"[ipv4-addr:value = '45.77.9.9' AND domain-name:value = 'and.example']\"},\n"
	        " {\"type\": \"indicator\", \"id\": \"indicator--3\", \"pattern\": "
	        "\"[file:hashes.'SHA-256' = 'aa']\"},\n"
	        " {\"type\": \"indicator\", \"id\": \"indicator--4\", \"pattern\": "
	        "\"[ipv6-addr:value = '2a00:1450::1'] OR [autonomous-system:number = 64511]\"},\n"
	        " {\"type\": \"indicator\", \"id\": \"indicator--5\", \"pattern\": "
	        "\"[ipv4-addr:value = '45.77.3.3']\", \"valid_until\": \"2001-01-01T00:00:00Z\"},\n"
	        " {\"type\": \"indicator\", \"id\": \"indicator--6\", \"pattern\": "
	        "\"[url:value = 'http://u.example/p']\"},\n"
	        " {\"type\": \"indicator\", \"id\": \"indicator--7\", \"pattern\": "
	        "\"[ipv4-addr:value = '45.77.4.4'] WITHIN 10 SECONDS\"},\n"
	        " {\"type\": \"malware\", \"id\": \"malware--1\", \"name\": \"x\"}\n"
	        "]}\n",
	        &rc, &errs);

	CHECK_EQ(rc, 0);
	st = matcher_snapshot_stats(snap);
	CHECK_EQ(st->nfeeds, 2);
	CHECK_STR(st->feeds[0].name, "Example CERT");
	CHECK_STR(st->feeds[1].name, "bundle");
	CHECK_U64(st->feeds[0].loaded[MATCHER_TYPE_IPV4], 2);
	CHECK_U64(st->feeds[0].loaded[MATCHER_TYPE_DOMAIN], 1);
	CHECK_U64(st->feeds[1].loaded[MATCHER_TYPE_IPV6], 1);
	CHECK_U64(st->feeds[1].loaded[MATCHER_TYPE_ASN], 1);
	CHECK_U64(st->feeds[1].dropped_other, 3); /* AND, file hash, WITHIN */
	CHECK_U64(st->feeds[1].dropped_expired, 1);
	CHECK_U64(st->feeds[1].dropped_url_path, 1);
	CHECK(find_ind(snap, "45.78.0.0/16") != NULL);
	CHECK(find_ind(snap, "and.example") == NULL);
	CHECK_EQ(find_ind(snap, "45.77.1.2")->confidence, 85);
	CHECK_EQ(find_ind(snap, "45.77.1.2")->expires, 4070908800);
	matcher_snapshot_free(snap);
	matcher_errors_clear(&errs);
}

/* ----- participants ----------------------------------------------------------------------- */

static void test_participants_json_and_bulk_csv(void)
{
	struct matcher_config *cfg = matcher_config_new();
	struct matcher_snapshot *snap = NULL;
	struct matcher_errors errs = { 0 };
	const struct matcher_participant *p;
	const struct matcher_match *m;

	matcher_config_add_participants(
	        cfg,
	        write_file("pp.json",
	                   "{\"participants\": [{\"id\": \"p1\", \"name\": \"One\", "
	                   "\"language\": \"nl\",\n \"sensors\": [\"ams-1\"], \"contacts\": "
	                   "[{\"type\": \"webhook\", \"url\": \"https://h.example/\", "
	                   "\"secret_ref\": \"p1-hook\"}],\n \"assets\": {\"ips\": "
	                   "[\"192.0.2.0/24\", \"2001:db8::/32\"], \"domains\": [\"Example.NL\"], "
	                   "\"asns\": [64500, \"AS64501\"]}}]}\n"));
	matcher_config_add_participants(
	        cfg, write_file("pp.csv", "participant_id,asset\np1,198.51.100.7\np2,p2.example\n"
	                                  "p2,AS64502\np2,64503\n"));
	CHECK_EQ(matcher_load(cfg, &snap, &errs), 0);
	CHECK_EQ(errs.n, 0);
	if (snap == NULL)
		goto out;
	CHECK_EQ(matcher_participant_count(snap), 2);
	p = matcher_participant(snap, 0);
	CHECK_STR(p->id, "p1");
	CHECK_STR(p->language, "nl");
	CHECK_EQ(p->nsensors, 1);
	CHECK_STR(p->contacts_json, "[{\"type\":\"webhook\",\"url\":\"https://h.example/\","
	                            "\"secret_ref\":\"p1-hook\"}]");
	CHECK_EQ(matcher_snapshot_stats(snap)->assets, 9);
	CHECK_EQ(matcher_lookup_asn(snap, 64501, &m), 1);
	CHECK_EQ(matcher_lookup_asn(snap, 64503, &m), 1);
	CHECK_STR(matcher_participant(snap, 1)->id, "p2");
out:
	matcher_snapshot_free(snap);
	matcher_config_free(cfg);
	matcher_errors_clear(&errs);
}

static void test_participants_errors_carry_lines(void)
{
	struct matcher__builder *b = matcher__builder_new();
	struct matcher_errors errs = { 0 };
	const char *json = "{\"participants\": [\n"
	                   " {\"id\": \"p1\", \"assets\": {\"ips\": [\n"
	                   "   \"999.1.1.1\"]}},\n"
	                   " {\"id\": \"p2\", \"contacts\": [{\"type\": \"webhook\",\n"
	                   "   \"secret\": \"hunter2\"}]},\n"
	                   " {\"id\": \"p1\"},\n"
	                   " {\"id\": \"p3\", \"assets\": {\"domains\": [\"co.uk\"]}},\n"
	                   " {\"id\": \"p4\", \"colour\": \"red\"},\n"
	                   " {\"id\": \"operator\"}\n"
	                   "]}\n";
	const char *csv = "participant_id,asset\np9,not a value\np9\n";
	int rc = matcher__load_participants_buffer(b, "p.json", json, strlen(json), &errs);

	CHECK_EQ(rc, -EINVAL);
	CHECK(has_error(&errs, "p.json", 3)); /* bad IP */
	CHECK(has_error(&errs, "p.json", 5)); /* a secret in contacts */
	CHECK(has_error(&errs, "p.json", 2)); /* duplicate p1: its first mention */
	CHECK(has_error(&errs, "p.json", 7)); /* public suffix */
	CHECK(has_error(&errs, "p.json", 8)); /* unknown key */
	CHECK(has_error(&errs, "p.json", 9)); /* reserved id */
	matcher_errors_clear(&errs);
	rc = matcher__load_participants_buffer(b, "p.csv", csv, strlen(csv), &errs);
	CHECK_EQ(rc, -EINVAL);
	CHECK(has_error(&errs, "p.csv", 2));
	CHECK(has_error(&errs, "p.csv", 3));
	matcher__builder_free(b);
	matcher_errors_clear(&errs);
}

/* ----- rule-set files, allowlists, whole loads --------------------------------------------- */

static void test_rules_file_loads_feeds_with_their_settings(void)
{
	struct matcher_config *cfg = matcher_config_new();
	struct matcher_errors errs = { 0 };
	struct matcher_snapshot *snap = NULL;
	const struct matcher_indicator *ind;
	const char *rules;

	write_file("c2.txt", "45.77.1.2\nbad.example\nsub.ok.example\n");
	write_file("allow.txt", "# allow\nok.example\n");
	write_file("people.json", "{\"participants\": [{\"id\": \"p1\", \"assets\": "
	                          "{\"ips\": [\"45.77.0.0/16\"]}}]}");
	rules = write_file("set.rules", "# example\n"
	                                "[feed c2-list]\n"
	                                "path = c2.txt\n"
	                                "category = botnet-c2\n"
	                                "severity = critical\n"
	                                "confidence = 95\n"
	                                "tlp = AMBER+STRICT\n"
	                                "exact_only = yes\n"
	                                "[participants]\n"
	                                "path = people.json\n"
	                                "[allowlist]\n"
	                                "path = allow.txt\n");
	CHECK_EQ(matcher_config_add_rules_file(cfg, rules, &errs), 0);
	CHECK_EQ(matcher_load(cfg, &snap, &errs), 0);
	CHECK_EQ(errs.n, 0);
	if (snap != NULL) {
		ind = find_ind(snap, "bad.example");
		CHECK(ind != NULL);
		CHECK_STR(ind->feed, "c2-list");
		CHECK_EQ(ind->category, MATCHER_CAT_BOTNET_C2);
		CHECK_EQ(ind->severity, MATCHER_SEV_CRITICAL);
		CHECK_EQ(ind->confidence, 95);
		CHECK_EQ(ind->tlp, MATCHER_TLP_AMBER_STRICT);
		CHECK(ind->exact);
		CHECK(find_ind(snap, "sub.ok.example") == NULL); /* allowlisted */
		CHECK_U64(feed0(snap)->allowlisted, 1);
		CHECK_EQ(matcher_snapshot_stats(snap)->listed, 1);
	}
	matcher_snapshot_free(snap);
	matcher_config_free(cfg);
	matcher_errors_clear(&errs);
}

static void test_rules_file_errors_carry_lines(void)
{
	struct matcher_config *cfg = matcher_config_new();
	struct matcher_errors errs = { 0 };
	const char *rules = write_file("bad.rules", "path = x\n"
	                                            "[feed]\n"
	                                            "severity = huge\n"
	                                            "colour = red\n"
	                                            "[nonsense]\n"
	                                            "[feed]\n"
	                                            "category = botnet-c2\n"
	                                            "just words\n");

	CHECK_EQ(matcher_config_add_rules_file(cfg, rules, &errs), -EINVAL);
	CHECK(has_error(&errs, "bad.rules", 1));
	CHECK(has_error(&errs, "bad.rules", 3));
	CHECK(has_error(&errs, "bad.rules", 4));
	CHECK(has_error(&errs, "bad.rules", 5));
	CHECK(has_error(&errs, "bad.rules", 6)); /* [feed] without path */
	CHECK(has_error(&errs, "bad.rules", 8));
	CHECK(has_error(&errs, "bad.rules", 2)); /* [feed] without path */
	matcher_config_free(cfg);
	matcher_errors_clear(&errs);
}

static void test_load_fails_whole_and_reports_every_file(void)
{
	struct matcher_config *cfg = matcher_config_new();
	struct matcher_errors errs = { 0 };
	struct matcher_snapshot *snap = (struct matcher_snapshot *)&errs; /* must become NULL */
	const char *good = write_file("good.txt", "45.77.1.2\n");
	const char *zeek = write_file("bad.intel", "1.2.3.4\tIntel::ADDR\n");
	const char *allow = write_file("badallow.txt", "ok.example\nnot valid\n");
	char spec[600];

	CHECK_EQ(matcher_config_add_indicators(cfg, good, &errs), 0);
	snprintf(spec, sizeof(spec), "zeek:%s", zeek);
	CHECK_EQ(matcher_config_add_indicators(cfg, spec, &errs), 0);
	CHECK_EQ(matcher_config_add_allowlist(cfg, allow), 0);
	CHECK_EQ(matcher_config_add_participants(cfg, "/nonexistent/people.json"), 0);
	CHECK_EQ(matcher_load(cfg, &snap, &errs), -EINVAL);
	CHECK(snap == NULL);
	CHECK(has_error(&errs, "bad.intel", 1));
	CHECK(has_error(&errs, "badallow.txt", 2));
	CHECK(has_error(&errs, "people.json", 0));
	matcher_config_free(cfg);
	matcher_errors_clear(&errs);
}

static void test_indicators_spec_and_format_guessing(void)
{
	struct matcher_config *cfg = matcher_config_new();
	struct matcher_errors errs = { 0 };

	CHECK_EQ(matcher_config_add_indicators(cfg, "zeek:/a/b", &errs), 0);
	CHECK_EQ(cfg->feeds[0].format, MATCHER_FMT_ZEEK);
	CHECK_STR(cfg->feeds[0].path, "/a/b");
	CHECK_EQ(matcher_config_add_indicators(cfg, "c:/dir/list.txt", &errs), 0);
	CHECK_EQ(cfg->feeds[1].format, MATCHER_FMT_GUESS); /* "c" is no format: a path */
	CHECK_STR(cfg->feeds[1].path, "c:/dir/list.txt");
	CHECK_EQ(matcher_config_add_indicators(cfg, "list:", &errs), -EINVAL);
	matcher_config_free(cfg);
	matcher_errors_clear(&errs);
	CHECK_EQ(matcher__guess_format("x", "#fields\tindicator\n", 18), MATCHER_FMT_ZEEK);
	CHECK_EQ(matcher__guess_format("x", "type,indicator\n", 15), MATCHER_FMT_CSV);
	CHECK_EQ(matcher__guess_format("x", "{\"type\": \"bundle\", \"objects\": []}", 33),
	         MATCHER_FMT_STIX);
	CHECK_EQ(matcher__guess_format("x", "{\"Event\": {}}", 13), MATCHER_FMT_MISP);
	CHECK_EQ(matcher__guess_format("x", "# c\n1.2.3.4\n", 12), MATCHER_FMT_LIST);
}

static void test_time_formats(void)
{
	int64_t t;

	CHECK_EQ(matcher__parse_time("2023-02-08", &t), 0);
	CHECK_EQ(t, 1675814400);
	CHECK_EQ(matcher__parse_time("2022-06-16T00:00:00+00:00", &t), 0);
	CHECK_EQ(t, 1655337600);
	CHECK_EQ(matcher__parse_time("2022-06-16T02:00:00.123+02:00", &t), 0);
	CHECK_EQ(t, 1655337600);
	CHECK_EQ(matcher__parse_time("1655337600", &t), 0);
	CHECK_EQ(t, 1655337600);
	CHECK_EQ(matcher__parse_time("2022-13-01", &t), -EINVAL);
	CHECK_EQ(matcher__parse_time("yesterday", &t), -EINVAL);
}

int main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_value_ip_forms_normalise);
	RUN(test_value_ports_urls_and_defanging);
	RUN(test_value_domains_normalise);
	RUN(test_value_as_numbers);
	RUN(test_normalize_domain_public_api);
	RUN(test_special_purpose_space);
	RUN(test_public_suffix);
	RUN(test_list_reads_what_feeds_in_the_wild_hold);
	RUN(test_list_header_only_loads_zero_entries);
	RUN(test_zeek_and_csv_header_only_load_zero_entries);
	RUN(test_list_of_junk_fails_with_every_line);
	RUN(test_zeek_types_sources_and_meta);
	RUN(test_zeek_without_fields_header_fails_at_its_line);
	RUN(test_csv_columns_quotes_and_bad_rows);
	RUN(test_csv_infoblox_columns_and_defanged_values);
	RUN(test_csv_without_indicator_column_fails);
	RUN(test_misp_event_attributes_objects_and_to_ids);
	RUN(test_misp_feed_directory_with_manifest);
	RUN(test_misp_bad_json_fails_at_its_line);
	RUN(test_stix_patterns_or_and_and_others);
	RUN(test_participants_json_and_bulk_csv);
	RUN(test_participants_errors_carry_lines);
	RUN(test_rules_file_loads_feeds_with_their_settings);
	RUN(test_rules_file_errors_carry_lines);
	RUN(test_load_fails_whole_and_reports_every_file);
	RUN(test_indicators_spec_and_format_guessing);
	RUN(test_time_formats);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	return check_summary();
}
