/*
 * Alert decisions (sensor/match.c) over a real snapshot loaded from rule files written by the
 * test: every kind of DESIGN.md's table and the fine print, each hit beside its near miss.
 * Expected answers are written out by hand from the fixture below, not computed by the code.
 */
#include "check.h"
#include "matcher.h"
#include "sensor/dnsmem.h"
#include "sensor/match.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/tipoff-test-match-XXXXXX";
static struct matcher_snapshot *snap;

/*
 * Fixture. Indicators (feed "bad", plain list): 45.33.32.156, 185.220.101.0/24, evil.example,
 * AS64511, 2a01:4f8::/32. Allowlist: 185.220.101.77.
 * Participants: p1 10.1.0.0/16 + example.nl; p2 10.1.2.0/24 (p1's customer); p3 AS64500;
 * p4 81.2.69.0/24; p5 192.168.0.0/16 only at sensor "ams-1".
 */
static const char *const indicators = "45.33.32.156\n185.220.101.0/24\nevil.example\nAS64511\n"
				      "2a01:4f8::/32\n81.2.69.160\n";
static const char *const allow = "185.220.101.77\n";
static const char *const participants =
	"{\"participants\":["
	"{\"id\":\"p1\",\"name\":\"One\",\"assets\":{\"ips\":[\"10.1.0.0/16\"],\"domains\":[\"example.nl\"]}},"
	"{\"id\":\"p2\",\"name\":\"Two\",\"assets\":{\"ips\":[\"10.1.2.0/24\"]}},"
	"{\"id\":\"p3\",\"name\":\"Three\",\"assets\":{\"asns\":[64500]}},"
	"{\"id\":\"p4\",\"name\":\"Four\",\"assets\":{\"ips\":[\"81.2.69.0/24\"]}},"
	"{\"id\":\"p5\",\"name\":\"Five\",\"sensors\":[\"ams-1\"],\"assets\":{\"ips\":[\"192.168.0.0/16\"]}}"
	"]}";

struct got {
	char line[64][160];
	unsigned n;
};

static void collect(void *arg, const struct match_alert *a)
{
	static const char *const kinds[] = { "contact", "lookup", "inbound", "listed" };
	struct got *g = arg;
	const struct matcher_indicator *ind = matcher_indicator(snap, a->indicator);
	const char *pid = a->participant == MATCH_OPERATOR
				  ? "operator"
				  : matcher_participant(snap, a->participant)->id;
	const char *asset = a->asset == MATCH_NO_ASSET ? "-" : matcher_asset(snap, a->asset)->value;

	if (g->n < 64)
		snprintf(g->line[g->n++], sizeof(g->line[0]), "%s %s %s %s%s%.*s", kinds[a->kind],
			 pid, ind->value, asset, a->resolved_name ? " via " : "",
			 (int)a->resolved_len, a->resolved_name ? a->resolved_name : "");
}

static int cmp_line(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* The decisions as sorted lines "kind participant indicator asset", joined by "|". */
static const char *joined(struct got *g)
{
	static char out[4096];
	size_t n = 0;

	qsort(g->line, g->n, sizeof(g->line[0]), cmp_line);
	out[0] = '\0';
	for (unsigned i = 0; i < g->n; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "|" : "", g->line[i]);
	return out;
}

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

static const char *flow(const struct match_env *env, const char *i, uint32_t iasn, const char *r,
			uint32_t rasn)
{
	struct match_flow f = { .init = ip(i), .resp = ip(r), .init_asn = iasn, .resp_asn = rasn,
				.first_seq = 100, .ts_ns = 1 };
	static struct got g;

	g.n = 0;
	match_flow_ends(env, snap, NULL, &f, collect, &g);
	return joined(&g);
}

static const struct match_env env_plain = { .observer = "rtm-2" };

static void test_contact_reaches_every_owner_with_most_specific_asset(void)
{
	CHECK_STR(flow(&env_plain, "10.1.2.3", 0, "45.33.32.156", 0),
		  "contact p1 45.33.32.156 10.1.0.0/16|contact p2 45.33.32.156 10.1.2.0/24");
	CHECK_STR(flow(&env_plain, "10.1.9.3", 0, "185.220.101.5", 0),
		  "contact p1 185.220.101.0/24 10.1.0.0/16");
	CHECK_STR(flow(&env_plain, "10.1.2.3", 0, "45.33.32.157", 0), ""); /* near miss */
	CHECK_STR(flow(&env_plain, "10.2.0.1", 0, "45.33.32.156", 0), ""); /* no participant */
}

static void test_inbound_is_raised_for_the_responder_owner(void)
{
	CHECK_STR(flow(&env_plain, "45.33.32.156", 0, "10.1.2.3", 0),
		  "inbound p1 45.33.32.156 10.1.0.0/16|inbound p2 45.33.32.156 10.1.2.0/24");
}

static void test_own_traffic_raises_nothing(void)
{
	/* 81.2.69.160 is an indicator inside p4's own range: that is `listed`, not contact */
	CHECK_STR(flow(&env_plain, "81.2.69.5", 0, "81.2.69.160", 0), "");
	CHECK_STR(flow(&env_plain, "10.1.2.3", 0, "81.2.69.160", 0),
		  "contact p1 81.2.69.160 10.1.0.0/16|contact p2 81.2.69.160 10.1.2.0/24");
}

static void test_allowlisted_address_raises_nothing(void)
{
	CHECK_STR(flow(&env_plain, "10.1.9.3", 0, "185.220.101.77", 0), "");
}

static void test_asn_indicator_and_asn_asset(void)
{
	CHECK_STR(flow(&env_plain, "10.1.9.3", 0, "8.8.8.8", 64511),
		  "contact p1 AS64511 10.1.0.0/16");
	CHECK_STR(flow(&env_plain, "8.8.4.4", 64500, "45.33.32.156", 0),
		  "contact p3 45.33.32.156 AS64500");
	CHECK_STR(flow(&env_plain, "8.8.4.4", 64501, "45.33.32.156", 0), "");
}

static void test_private_asset_counts_only_at_listed_sensors(void)
{
	const struct match_env ams = { .observer = "ams-1" };

	CHECK_STR(flow(&ams, "192.168.1.1", 0, "45.33.32.156", 0),
		  "contact p5 45.33.32.156 192.168.0.0/16");
	CHECK_STR(flow(&env_plain, "192.168.1.1", 0, "45.33.32.156", 0), "");
}

static void test_operator_alerts_only_when_asked(void)
{
	const struct match_env op = { .observer = "rtm-2", .operator_alerts = true };

	CHECK_STR(flow(&op, "10.2.0.1", 0, "45.33.32.156", 0), "contact operator 45.33.32.156 -");
	CHECK_STR(flow(&env_plain, "10.2.0.1", 0, "45.33.32.156", 0), "");
}

static void test_ipv6_prefix_indicator(void)
{
	CHECK_STR(flow(&env_plain, "2a01:4f8:1::1", 0, "10.1.9.3", 0),
		  "inbound p1 2a01:4f8::/32 10.1.0.0/16");
}

static void test_flow_name_matches_domain_and_subdomains_only(void)
{
	struct match_flow f = { .init = ip("10.1.9.3"), .resp = ip("93.184.216.34"), .ts_ns = 1 };
	static struct got g;

	g.n = 0;
	match_flow_name(&env_plain, snap, &f, "cdn.evil.example", 16, collect, &g);
	CHECK_STR(joined(&g), "contact p1 evil.example 10.1.0.0/16");
	g.n = 0;
	match_flow_name(&env_plain, snap, &f, "notevil.example", 15, collect, &g);
	CHECK_STR(joined(&g), "");
	f.is_dns = true; /* a DNS flow counts only through R's address or ASN */
	g.n = 0;
	match_flow_name(&env_plain, snap, &f, "evil.example", 12, collect, &g);
	CHECK_STR(joined(&g), "");
}

static void test_dns_memory_ties_answer_to_asking_host(void)
{
	struct dnsmem *m = dnsmem_new(1024);
	const char *names[2] = { "www.evil.example", "edge.cdn.example" };
	size_t lens[2] = { 16, 16 };
	struct addr host = ip("10.1.9.3"), other = ip("10.1.9.4"), cdn = ip("93.184.216.34");
	struct match_flow f = { .init = host, .resp = cdn, .first_seq = 50, .ts_ns = 1 };
	static struct got g;

	dnsmem_record(m, &host, &cdn, names, lens, 2, 40, 0, 3600000000000ull);
	g.n = 0;
	match_flow_ends(&env_plain, snap, m, &f, collect, &g);
	CHECK_STR(joined(&g), "contact p1 evil.example 10.1.0.0/16 via www.evil.example");
	/* near miss: another host never asked */
	f.init = other;
	g.n = 0;
	match_flow_ends(&env_plain, snap, m, &f, collect, &g);
	CHECK_STR(joined(&g), "");
	/* near miss: the flow started before the answer was read */
	f.init = host;
	f.first_seq = 40;
	g.n = 0;
	match_flow_ends(&env_plain, snap, m, &f, collect, &g);
	CHECK_STR(joined(&g), "");
	dnsmem_free(m);
}

static void test_dns_lookup_from_query_and_from_answers(void)
{
	struct dns_msg msg;
	const char *q[1] = { "a.evil.example" };
	size_t ql[1] = { 14 };
	const char *t[2] = { NULL, NULL };
	size_t tl[2] = { 0, 0 };
	struct addr client = ip("10.1.2.3"), server = ip("9.9.9.9");
	static struct got g;

	memset(&msg, 0, sizeof(msg));
	msg.nq = 1;
	g.n = 0;
	match_dns(&env_plain, snap, &msg, &client, &server, 0, 1, q, ql, t, tl, collect, &g);
	CHECK_STR(joined(&g),
		  "lookup p1 evil.example 10.1.0.0/16|lookup p2 evil.example 10.1.2.0/24");

	/* a response for a harmless name whose answer is an indicator address */
	msg.qr = true;
	msg.nan = 2;
	msg.an[0].type = 1;
	msg.an[0].data_ok = true;
	msg.an[0].ip = ip("185.220.101.9");
	msg.an[1].type = 5; /* CNAME to an indicator domain */
	msg.an[1].data_ok = true;
	t[1] = "x.evil.example";
	tl[1] = 14;
	q[0] = "harmless.example.com";
	ql[0] = 20;
	g.n = 0;
	match_dns(&env_plain, snap, &msg, &server, &client, 0, 1, q, ql, t, tl, collect, &g);
	CHECK_STR(joined(&g), "lookup p1 185.220.101.0/24 10.1.0.0/16|"
			      "lookup p1 evil.example 10.1.0.0/16|"
			      "lookup p2 185.220.101.0/24 10.1.2.0/24|"
			      "lookup p2 evil.example 10.1.2.0/24");
	/* the response's source is the server: as a query it would name nobody */
	msg.qr = false;
	msg.nan = 0;
	g.n = 0;
	match_dns(&env_plain, snap, &msg, &server, &client, 0, 1, q, ql, t, tl, collect, &g);
	CHECK_STR(joined(&g), "");
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

int main(void)
{
	struct matcher_errors errs = { 0 };
	struct matcher_config *cfg;
	char path[256];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	write_file("bad.txt", indicators);
	write_file("allow.txt", allow);
	write_file("participants.json", participants);
	cfg = matcher_config_new();
	snprintf(path, sizeof(path), "list:%s/bad.txt", dir);
	matcher_config_add_indicators(cfg, path, &errs);
	snprintf(path, sizeof(path), "%s/participants.json", dir);
	matcher_config_add_participants(cfg, path);
	snprintf(path, sizeof(path), "%s/allow.txt", dir);
	matcher_config_add_allowlist(cfg, path);
	rc = matcher_load(cfg, &snap, &errs);
	if (rc != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s:%u: %s\n", errs.v[i].file ? errs.v[i].file : "-",
				errs.v[i].line, errs.v[i].msg);
		return 1;
	}
	RUN(test_contact_reaches_every_owner_with_most_specific_asset);
	RUN(test_inbound_is_raised_for_the_responder_owner);
	RUN(test_own_traffic_raises_nothing);
	RUN(test_allowlisted_address_raises_nothing);
	RUN(test_asn_indicator_and_asn_asset);
	RUN(test_private_asset_counts_only_at_listed_sensors);
	RUN(test_operator_alerts_only_when_asked);
	RUN(test_ipv6_prefix_indicator);
	RUN(test_flow_name_matches_domain_and_subdomains_only);
	RUN(test_dns_memory_ties_answer_to_asking_host);
	RUN(test_dns_lookup_from_query_and_from_answers);
	matcher_snapshot_free(snap);
	matcher_config_free(cfg);
	matcher_errors_clear(&errs);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 1;
	return check_summary();
}
