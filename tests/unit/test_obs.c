/*
 * Tests of the observation encoder (sensor/obs.c): the JSON shape of every dataset read back
 * with jansson, the escaping of names as seen (random bytes must always give valid JSON that
 * un-escapes to the same bytes), timestamps against gmtime_r, and over-long lines.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "sensor/obs.h"

#define S 1000000000ull

static char lines[8][300000];
static size_t line_len[8];
static unsigned nlines;

static void on_line(void *arg, const char *line, size_t len)
{
	(void)arg;
	if (nlines < 8 && len < sizeof(lines[0])) {
		memcpy(lines[nlines], line, len);
		lines[nlines][len] = '\0';
		line_len[nlines] = len;
	}
	nlines++;
}

/* The last line, parsed; NULL (and a failed check) when it is not valid JSON. */
static json_t *last_json(void)
{
	json_error_t err;
	json_t *j;

	if (nlines == 0)
		return NULL;
	j = json_loadb(lines[nlines - 1], line_len[nlines - 1], 0, &err);
	if (j == NULL)
		fprintf(stderr, "invalid JSON (%s): %s\n", err.text, lines[nlines - 1]);
	return j;
}

/* The string at a dotted path, or "" */
static const char *jstr(json_t *j, const char *path)
{
	char key[128];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL && j != NULL) {
		size_t n = (size_t)(dot - path);

		if (n >= sizeof(key))
			return "";
		memcpy(key, path, n);
		key[n] = '\0';
		j = json_object_get(j, key);
		path = dot + 1;
	}
	j = j ? json_object_get(j, path) : NULL;
	return json_is_string(j) ? json_string_value(j) : "";
}

static json_t *jget(json_t *j, const char *path)
{
	char key[128];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL && j != NULL) {
		size_t n = (size_t)(dot - path);

		memcpy(key, path, n);
		key[n] = '\0';
		j = json_object_get(j, key);
		path = dot + 1;
	}
	return j ? json_object_get(j, path) : NULL;
}

static long long jint(json_t *j, const char *path)
{
	json_t *v = jget(j, path);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static struct addr ip(const char *s)
{
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':') != NULL) {
		inet_pton(AF_INET6, s, a.b);
	} else {
		a.b[10] = a.b[11] = 0xff;
		inet_pton(AF_INET, s, a.b + 12);
	}
	return a;
}

static void test_time_text_matches_gmtime(void)
{
	char buf[32], want[64];

	obs_time_text(0, buf);
	CHECK_STR(buf, "1970-01-01T00:00:00.000000Z");
	obs_time_text(1600000000ull * S + 123456789, buf);
	CHECK_STR(buf, "2020-09-13T12:26:40.123456Z");
	obs_time_text(951782400ull * S, buf); /* leap day 2000 */
	CHECK_STR(buf, "2000-02-29T00:00:00.000000Z");
	srand(11);
	for (int i = 0; i < 10000; i++) {
		uint64_t sec = ((uint64_t)rand() << 16 ^ (uint64_t)rand()) % 4102444800ull;
		uint64_t us = (uint64_t)rand() % 1000000;
		time_t t = (time_t)sec;
		struct tm tm;

		gmtime_r(&t, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
		         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		         tm.tm_sec, (unsigned)us);
		obs_time_text(sec * S + us * 1000 + 999, buf);
		if (strcmp(buf, want) != 0) {
			CHECK_STR(buf, want);
			break;
		}
	}
}

static struct flow sample_flow(void)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.addr[0] = ip("10.0.0.1");
	f.addr[1] = ip("192.0.2.10");
	f.port[0] = 443;
	f.port[1] = 51000;
	f.proto = IPPROTO_TCP;
	f.family = ADDR_V4;
	f.init = 1; /* 192.0.2.10:51000 initiated */
	f.init_rule = FLOW_INIT_SYN;
	f.first_ns = 1600000000ull * S + 5000;
	f.last_ns = 1600000002ull * S + 7000;
	f.dir[FLOW_DIR_SRC] = (struct flow_dir){ 3, 300, f.first_ns, f.last_ns };
	f.dir[FLOW_DIR_DST] = (struct flow_dir){ 2, 2000, f.first_ns + 10, f.last_ns - 10 };
	f.vlan = 7;
	return f;
}

static void test_flow_record_has_ecs_fields(void)
{
	struct obs_ctx *o = obs_new(3, "sensor-1", 0, on_line, NULL);
	struct flow f = sample_flow();
	json_t *j;

	nlines = 0;
	f.tunnel_depth = 1;
	f.outer[0] = ip("2001:db8::1");
	f.outer[1] = ip("198.51.100.1");
	CHECK(obs_flow(o, &f, "1:abc=", "tls.google", FLOW_END_IDLE));
	CHECK_EQ(nlines, 1);
	j = last_json();
	CHECK(j != NULL);
	CHECK_STR(jstr(j, "@timestamp"), "2020-09-13T12:26:42.000007Z");
	CHECK_STR(jstr(j, "event.kind"), "event");
	CHECK_STR(jstr(j, "event.dataset"), "tipoff.flow");
	CHECK_STR(jstr(j, "event.start"), "2020-09-13T12:26:40.000005Z");
	CHECK_STR(jstr(j, "event.end"), "2020-09-13T12:26:42.000007Z");
	CHECK_EQ(jint(j, "event.duration"), 2000002000);
	CHECK(strncmp(jstr(j, "event.id"), "", 1) != 0);
	CHECK_STR(jstr(j, "observer.name"), "sensor-1");
	CHECK_STR(jstr(j, "source.ip"), "192.0.2.10");
	CHECK_EQ(jint(j, "source.port"), 51000);
	CHECK_EQ(jint(j, "source.packets"), 3);
	CHECK_EQ(jint(j, "source.bytes"), 300);
	CHECK_STR(jstr(j, "destination.ip"), "10.0.0.1");
	CHECK_EQ(jint(j, "destination.port"), 443);
	CHECK_EQ(jint(j, "destination.packets"), 2);
	CHECK_EQ(jint(j, "destination.bytes"), 2000);
	CHECK_STR(jstr(j, "network.transport"), "tcp");
	CHECK_STR(jstr(j, "network.iana_number"), "6");
	CHECK_STR(jstr(j, "network.protocol"), "tls.google");
	CHECK_STR(jstr(j, "network.community_id"), "1:abc=");
	CHECK_EQ(jint(j, "network.packets"), 5);
	CHECK_EQ(jint(j, "network.bytes"), 2300);
	CHECK_EQ(jint(j, "network.vlan.id"), 7);
	CHECK_STR(jstr(j, "tipoff.flow.end_reason"), "idle");
	CHECK_STR(jstr(j, "tipoff.flow.initiator_rule"), "syn");
	CHECK_EQ(jint(j, "tipoff.tunnel.depth"), 1);
	CHECK_STR(jstr(j, "tipoff.tunnel.source.ip"), "2001:db8::1");
	CHECK_STR(jstr(j, "tipoff.tunnel.destination.ip"), "198.51.100.1");
	json_decref(j);

	/* near miss: no VLAN, no tunnel, ICMP without ports, numeric transport */
	f.vlan = 0;
	f.tunnel_depth = 0;
	f.proto = IPPROTO_ICMP;
	f.icmp_type = 8;
	CHECK(obs_flow(o, &f, "1:x=", NULL, FLOW_END_FINISH));
	j = last_json();
	CHECK(jget(j, "network.vlan") == NULL);
	CHECK(jget(j, "tipoff.tunnel") == NULL);
	CHECK(jget(j, "source.port") == NULL);
	CHECK(jget(j, "network.protocol") == NULL);
	CHECK_STR(jstr(j, "network.transport"), "icmp");
	CHECK_EQ(jint(j, "tipoff.icmp.type"), 8);
	CHECK_STR(jstr(j, "tipoff.flow.end_reason"), "end_of_input");
	json_decref(j);
	f.proto = 47;
	CHECK(obs_flow(o, &f, "", NULL, FLOW_END_EVICTED));
	j = last_json();
	CHECK_STR(jstr(j, "network.transport"), "47");
	CHECK(jget(j, "network.community_id") == NULL);
	json_decref(j);
	obs_free(o);
}

static void test_event_ids_are_unique_across_workers(void)
{
	struct obs_ctx *a = obs_new(0, "s", 0, on_line, NULL);
	struct obs_ctx *b = obs_new(1, "s", 0, on_line, NULL);
	struct flow f = sample_flow();
	char ids[4][64];

	nlines = 0;
	obs_flow(a, &f, "", NULL, FLOW_END_IDLE);
	obs_flow(a, &f, "", NULL, FLOW_END_IDLE);
	obs_flow(b, &f, "", NULL, FLOW_END_IDLE);
	obs_flow(b, &f, "", NULL, FLOW_END_IDLE);
	for (unsigned i = 0; i < 4; i++) {
		json_t *j = json_loadb(lines[i], line_len[i], 0, NULL);

		snprintf(ids[i], sizeof(ids[i]), "%s", jstr(j, "event.id"));
		json_decref(j);
	}
	for (unsigned i = 0; i < 4; i++)
		for (unsigned k = i + 1; k < 4; k++)
			CHECK(strcmp(ids[i], ids[k]) != 0);
	/* one run prefix for the process: the ids differ after it */
	CHECK(strncmp(ids[0], ids[2], 17) == 0);
	CHECK_EQ(strlen(ids[0]) > 17, 1);
	obs_free(a);
	obs_free(b);
}

/* DNS wire helpers */
static size_t put_name(uint8_t *p, const char *const *labels, const size_t *lens, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		p[o++] = (uint8_t)lens[i];
		memcpy(p + o, labels[i], lens[i]);
		o += lens[i];
	}
	p[o++] = 0;
	return o;
}

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static void test_dns_answer_line_has_questions_answers_and_flags(void)
{
	struct obs_ctx *o = obs_new(0, "s", 0, on_line, NULL);
	static struct dns_msg m;
	uint8_t msg[512];
	size_t n = 0;
	const char *l1[] = { "www", "example", "com" };
	const size_t n1[] = { 3, 7, 3 };
	const char *l2[] = { "cdn", "example", "net" };
	struct pkt p;
	json_t *j, *ans;

	/* response id 0xbeef, QR RD RA, NXDOMAIN? no: NOERROR; 1 question, 2 answers */
	n += put16(msg + n, 0xbeef);
	n += put16(msg + n, 0x8180);
	n += put16(msg + n, 1);
	n += put16(msg + n, 2);
	n += put16(msg + n, 0);
	n += put16(msg + n, 0);
	n += put_name(msg + n, l1, n1, 3);
	n += put16(msg + n, 1);
	n += put16(msg + n, 1);
	/* www.example.com CNAME cdn.example.net, TTL 300 */
	n += put16(msg + n, 0xc00c);
	n += put16(msg + n, 5);
	n += put16(msg + n, 1);
	n += put16(msg + n, 0);
	n += put16(msg + n, 300);
	n += put16(msg + n, 17);
	n += put_name(msg + n, l2, n1, 3);
	/* cdn.example.net A 192.0.2.55 TTL 60 (name by pointer to the CNAME target) */
	n += put16(msg + n, 0xc000 | 45);
	n += put16(msg + n, 1);
	n += put16(msg + n, 1);
	n += put16(msg + n, 0);
	n += put16(msg + n, 60);
	n += put16(msg + n, 4);
	msg[n++] = 192;
	msg[n++] = 0;
	msg[n++] = 2;
	msg[n++] = 55;
	CHECK(dns_parse(msg, n, &m));
	CHECK_EQ(m.nan, 2);

	memset(&p, 0, sizeof(p));
	p.ts_ns = 1600000000ull * S;
	p.proto = IPPROTO_UDP;
	p.src = ip("192.0.2.53");
	p.dst = ip("10.0.0.2");
	p.sport = 53;
	p.dport = 40000;
	nlines = 0;
	CHECK(obs_dns(o, &p, "1:dns=", &m));
	j = last_json();
	CHECK(j != NULL);
	CHECK_STR(jstr(j, "event.dataset"), "tipoff.dns");
	CHECK_STR(jstr(j, "source.ip"), "192.0.2.53");
	CHECK_EQ(jint(j, "source.port"), 53);
	CHECK_STR(jstr(j, "destination.ip"), "10.0.0.2");
	CHECK_STR(jstr(j, "network.transport"), "udp");
	CHECK_STR(jstr(j, "network.community_id"), "1:dns=");
	CHECK_EQ(jint(j, "dns.id"), 0xbeef);
	CHECK_STR(jstr(j, "dns.type"), "answer");
	CHECK_STR(jstr(j, "dns.op_code"), "QUERY");
	CHECK_STR(jstr(j, "dns.response_code"), "NOERROR");
	CHECK_EQ(json_array_size(jget(j, "dns.header_flags")), 2);
	CHECK_STR(json_string_value(json_array_get(jget(j, "dns.header_flags"), 0)), "RD");
	CHECK_STR(json_string_value(json_array_get(jget(j, "dns.header_flags"), 1)), "RA");
	CHECK_STR(jstr(j, "dns.question.name"), "www.example.com");
	CHECK_STR(jstr(j, "dns.question.type"), "A");
	CHECK_STR(jstr(j, "dns.question.class"), "IN");
	CHECK(jget(j, "dns.questions") == NULL); /* only with more than one question */
	ans = jget(j, "dns.answers");
	CHECK_EQ(json_array_size(ans), 2);
	CHECK_STR(jstr(json_array_get(ans, 0), "name"), "www.example.com");
	CHECK_STR(jstr(json_array_get(ans, 0), "type"), "CNAME");
	CHECK_STR(jstr(json_array_get(ans, 0), "data"), "cdn.example.net");
	CHECK_EQ(jint(json_array_get(ans, 0), "ttl"), 300);
	CHECK_STR(jstr(json_array_get(ans, 1), "name"), "cdn.example.net");
	CHECK_STR(jstr(json_array_get(ans, 1), "type"), "A");
	CHECK_STR(jstr(json_array_get(ans, 1), "data"), "192.0.2.55");
	CHECK_EQ(json_array_size(jget(j, "dns.resolved_ip")), 1);
	CHECK_STR(json_string_value(json_array_get(jget(j, "dns.resolved_ip"), 0)), "192.0.2.55");
	CHECK(jget(j, "tipoff") == NULL);
	json_decref(j);

	/* the query side of a truncated message: type query, no response_code, the error */
	msg[2] = 0x01;
	msg[3] = 0x00;
	CHECK(dns_parse(msg, 40, &m));
	CHECK(obs_dns(o, &p, "1:dns=", &m));
	j = last_json();
	CHECK_STR(jstr(j, "dns.type"), "query");
	CHECK(jget(j, "dns.response_code") == NULL);
	CHECK_EQ(json_array_size(jget(j, "dns.header_flags")), 1);
	CHECK_STR(jstr(j, "tipoff.dns.error"), "truncated");
	json_decref(j);
	obs_free(o);
}

/* Undo the name escaping: \DDD to the byte. Returns the length or -1 if malformed. */
static long unescape_name(const char *s, uint8_t *out)
{
	long n = 0;

	while (*s != '\0') {
		if (*s == '\\') {
			if (s[1] < '0' || s[1] > '2' || s[2] < '0' || s[2] > '9' || s[3] < '0' ||
			    s[3] > '9')
				return -1;
			out[n++] = (uint8_t)((s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'));
			s += 4;
		} else {
			out[n++] = (uint8_t)*s++;
		}
	}
	return n;
}

static void test_names_escape_quote_backslash_and_binary(void)
{
	struct obs_ctx *o = obs_new(0, "s", 0, on_line, NULL);
	struct flow f = sample_flow();
	static const uint8_t name[] = { 'a', '"', 'b', '\\', 'c', 0, 0xff, ' ', '.', 'd' };
	char buf[128];
	json_t *j;

	nlines = 0;
	CHECK(obs_name(o, f.first_ns, &f, "1:n=", NAMES_HTTP_HOST, name, sizeof(name)));
	j = last_json();
	CHECK_STR(jstr(j, "url.domain"), "a\"b\\092c\\000\\255\\032.d");
	CHECK_STR(jstr(j, "event.dataset"), "tipoff.http");
	CHECK_STR(jstr(j, "source.ip"), "192.0.2.10"); /* the initiator */
	CHECK_EQ(jint(j, "source.port"), 51000);
	CHECK_STR(jstr(j, "destination.ip"), "10.0.0.1");
	json_decref(j);
	CHECK_EQ(obs_escape_name(name, sizeof(name), buf, sizeof(buf)), 27);
	CHECK_STR(buf, "a\\\"b\\\\092c\\\\000\\\\255\\\\032.d");
	/* a short buffer keeps a whole prefix and still reports the full length */
	CHECK_EQ(obs_escape_name(name, sizeof(name), buf, 5), 27);
	CHECK_STR(buf, "a\\\"b");

	CHECK(obs_name(o, f.first_ns, &f, "1:n=", NAMES_TLS_SNI, (const uint8_t *)"x.test", 6));
	j = last_json();
	CHECK_STR(jstr(j, "event.dataset"), "tipoff.tls");
	CHECK_STR(jstr(j, "tls.client.server_name"), "x.test");
	json_decref(j);
	CHECK(obs_name(o, f.first_ns, &f, "1:n=", NAMES_QUIC_SNI, (const uint8_t *)"q.test", 6));
	j = last_json();
	CHECK_STR(jstr(j, "event.dataset"), "tipoff.quic");
	CHECK_STR(jstr(j, "tls.client.server_name"), "q.test");
	json_decref(j);
	obs_free(o);
}

static void test_random_names_always_give_valid_json(void)
{
	struct obs_ctx *o = obs_new(0, "obs\"erver\\\x01\xc3", 0, on_line, NULL);
	struct flow f = sample_flow();
	static struct dns_msg m;
	struct pkt p;
	unsigned bad = 0;

	memset(&p, 0, sizeof(p));
	p.proto = IPPROTO_UDP;
	p.src = ip("10.0.0.1");
	p.dst = ip("10.0.0.2");
	srand(1234);
	for (int i = 0; i < 3000; i++) {
		uint8_t name[300], back[300];
		size_t len = (size_t)(rand() % 260);
		json_t *j;
		long blen;

		for (size_t k = 0; k < len; k++)
			name[k] = (uint8_t)rand();
		nlines = 0;
		CHECK(obs_name(o, f.first_ns, &f, "1:x=", NAMES_TLS_SNI, name, len));
		j = last_json();
		if (j == NULL) {
			bad++;
			continue;
		}
		blen = unescape_name(jstr(j, "tls.client.server_name"), back);
		if (blen != (long)len || memcmp(back, name, len) != 0)
			bad++;
		if (strcmp(jstr(j, "observer.name"), "obs\"erver\\\x01\xc3") == 0)
			bad++; /* non-ASCII must have been escaped to stay valid UTF-8 */
		json_decref(j);

		/* the same bytes as a DNS question name (labels of random lengths) */
		memset(&m, 0, sizeof(m));
		m.nq = 1;
		m.q[0].type = 1;
		m.q[0].class = 1;
		for (size_t k = 0, w = 0; k < len && w + 2 < DNS_NAME_WIRE_MAX;) {
			size_t l = 1 + (size_t)rand() % 20;

			if (l > len - k)
				l = len - k;
			if (w + 1 + l >= DNS_NAME_WIRE_MAX)
				break;
			m.q[0].name.wire[w++] = (uint8_t)l;
			memcpy(m.q[0].name.wire + w, name + k, l);
			w += l;
			k += l;
			m.q[0].name.len = (uint8_t)w;
		}
		nlines = 0;
		CHECK(obs_dns(o, &p, "1:x=", &m));
		j = last_json();
		if (j == NULL)
			bad++;
		json_decref(j);
	}
	CHECK_EQ(bad, 0);
	obs_free(o);
}

static void test_line_too_long_is_dropped_whole(void)
{
	struct obs_ctx *o = obs_new(0, "s", 500, on_line, NULL);
	struct flow f = sample_flow();
	uint8_t name[100];

	memset(name, 0x01, sizeof(name)); /* 5 bytes each once escaped: 500 */
	nlines = 0;
	CHECK(!obs_name(o, f.first_ns, &f, "1:x=", NAMES_TLS_SNI, name, sizeof(name)));
	CHECK_EQ(nlines, 0);
	/* near miss: a short name fits in the same buffer */
	CHECK(obs_name(o, f.first_ns, &f, "1:x=", NAMES_TLS_SNI, name, 2));
	CHECK_EQ(nlines, 1);
	obs_free(o);
}

int main(void)
{
	RUN(test_time_text_matches_gmtime);
	RUN(test_flow_record_has_ecs_fields);
	RUN(test_event_ids_are_unique_across_workers);
	RUN(test_dns_answer_line_has_questions_answers_and_flags);
	RUN(test_names_escape_quote_backslash_and_binary);
	RUN(test_random_names_always_give_valid_json);
	RUN(test_line_too_long_is_dropped_whole);
	return check_summary();
}
