/*
 * Fuzz target: hostile names through the DNS and SNI paths into alerts. Every alert line the
 * worker produces must parse as JSON (jansson) and carry the fields the notifier keys on.
 *
 * Once: a rule set in a temporary folder (indicators: the domain fuzz.example and the address
 * 45.76.0.1; one participant owning 10.20.0.0/16), loaded through rules_start() as the sensor
 * does, a worker with an alert queue and DNS memory, and the suppression stage.
 *
 * Per input, the bytes become a name ending in ".fuzz.example" (so it matches the indicator
 * when it normalises at all):
 *   - a DNS query and its response (question = the name split into labels at '.', every other
 *     byte kept as is, 250 bytes at most; answers: a CNAME from the name to
 *     cdn.fuzz.example and its A record 45.76.0.1) from a client of the participant;
 *   - a TCP connection to 45.76.0.2:443 whose ClientHello carries the raw bytes + the suffix as
 *     SNI (any byte, '.' included);
 *   - a connection to 45.76.0.2:80 with the name as HTTP Host (CR/LF cut).
 * Each input uses a new client address and port and a later packet time, so that no flow or
 * transaction is shared between inputs. The alert lines are taken from the queue (after their
 * suppress envelope), parsed with jansson, and also passed through suppress_filter() whose
 * output (with "suppressed":N inserted now and then) must parse too. abort() on any failure.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "matcher.h"
#include "sensor/alertq.h"
#include "sensor/dnsmem.h"
#include "sensor/rules.h"
#include "sensor/suppress.h"
#include "sensor/worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SUFFIX ".fuzz.example"
#define NS 1000000000ull

static struct worker *w;
static struct alertq *aq;
static struct suppress *sup;
static uint64_t n_inputs;
static uint64_t ts_ns = 1700000000ull * NS;
static uint64_t n_checked[4]; /* contact, lookup, inbound, other */

static void report(void)
{
	fprintf(stderr, "fuzz_alert: %llu inputs, alerts checked: contact %llu lookup %llu "
		"inbound %llu other %llu\n", (unsigned long long)n_inputs,
		(unsigned long long)n_checked[0], (unsigned long long)n_checked[1],
		(unsigned long long)n_checked[2], (unsigned long long)n_checked[3]);
}

static void fail(const char *what, const char *line, size_t len)
{
	fprintf(stderr, "fuzz_alert: %s: %.*s\n", what, (int)(len > 4000 ? 4000 : len), line);
	abort();
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

static void setup(void)
{
	static char dir[] = "/tmp/fuzz_alert.XXXXXX";
	static char ind[600], part[600];
	struct rules_opts o = { 0 };
	struct rules *r;
	struct worker_config wc = { 0 };
	char cmd[600];

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	write_file(dir, "ind.txt", "fuzz.example\n45.76.0.1\n");
	write_file(dir, "participants.json",
		   "{\"participants\":[{\"id\":\"p-fuzz\",\"name\":\"fuzz\",\"assets\":"
		   "{\"ips\":[\"10.20.0.0/16\"],\"domains\":[],\"asns\":[]}}]}\n");
	snprintf(ind, sizeof(ind), "list:%s/ind.txt", dir);
	snprintf(part, sizeof(part), "%s/participants.json", dir);
	o.indicators[o.nindicators++] = ind;
	o.participants[o.nparticipants++] = part;
	if (rules_start(&o, &r) != 0)
		abort();
	/* the rules are in memory now: the files are not needed any more */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		abort();
	matcher_reader_register();
	aq = alertq_new(256, 64 * 1024);
	sup = suppress_new(60 * NS);
	wc.id = 0;
	wc.max_flows = 4096;
	wc.tcp_timeout_ns = 300 * NS;
	wc.udp_timeout_ns = 120 * NS;
	wc.other_timeout_ns = 60 * NS;
	wc.active_timeout_ns = 1800 * NS;
	wc.observer_name = "fuzz";
	wc.rules = r;
	wc.alerts = aq;
	wc.alerts_wait = false;
	wc.dnsmem = dnsmem_new(4096);
	wc.dnsmem_writer = true;
	if (aq == NULL || sup == NULL || wc.dnsmem == NULL)
		abort();
	w = worker_new(&wc);
	if (w == NULL)
		abort();
	if (getenv("FUZZ_ALERT_VERBOSE") != NULL)
		atexit(report);
}

/* ----- frames ---------------------------------------------------------------------------- */

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static uint8_t frame[70000];

/* Ethernet + IPv4 + (TCP or UDP) header around payload; returns the frame length. */
static size_t build(uint32_t src, uint32_t dst, unsigned proto, unsigned sport, unsigned dport,
		    unsigned tcp_flags, const uint8_t *payload, size_t plen)
{
	uint8_t *p = frame;
	size_t l4 = proto == 6 ? 20 : 8, iplen = 20 + l4 + plen;

	if (iplen > 65535)
		abort();
	memcpy(p, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	p += 14;
	p[0] = 0x45;
	p[1] = 0;
	put16(p + 2, (unsigned)iplen);
	put16(p + 4, 0);
	put16(p + 6, 0x4000);
	p[8] = 64;
	p[9] = (uint8_t)proto;
	put16(p + 10, 0);
	for (int i = 0; i < 4; i++) {
		p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	p += 20;
	memset(p, 0, l4);
	put16(p, sport);
	put16(p + 2, dport);
	if (proto == 6) {
		p[4] = 0;
		p[7] = 1;           /* seq */
		p[11] = 1;          /* ack */
		p[12] = 5 << 4;
		p[13] = (uint8_t)tcp_flags;
		put16(p + 14, 65535);
	} else {
		put16(p + 4, (unsigned)(8 + plen));
	}
	p += l4;
	if (plen > 0)
		memcpy(p, payload, plen);
	return 14 + iplen;
}

static void send_frame(size_t len, uint64_t seq)
{
	ts_ns += 1000000; /* 1 ms between packets */
	worker_frame(w, 1 /* DLT_EN10MB */, frame, (uint32_t)len, (uint32_t)len, ts_ns, seq);
}

/* DNS name from bytes: labels split at '.', each cut to 63 bytes, total kept under 255. */
static size_t dns_name(uint8_t *out, const uint8_t *name, size_t len)
{
	size_t o = 0, i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && name[j] != '.' && j - i < 63)
			j++;
		if (j > i) {
			if (o + 1 + (j - i) + 1 > 250)
				break;
			out[o++] = (uint8_t)(j - i);
			memcpy(out + o, name + i, j - i);
			o += j - i;
		}
		i = (j < len && name[j] == '.') ? j + 1 : j;
	}
	out[o++] = 0;
	return o;
}

static size_t dns_message(uint8_t *m, unsigned id, bool response, const uint8_t *name, size_t len)
{
	static const uint8_t cdn[] = "\3cdn\4fuzz\7example";
	size_t o = 0;

	o += put16(m + o, id);
	o += put16(m + o, response ? 0x8180 : 0x0100);
	o += put16(m + o, 1);
	o += put16(m + o, response ? 2 : 0);
	o += put16(m + o, 0);
	o += put16(m + o, 0);
	o += dns_name(m + o, name, len);
	o += put16(m + o, 1);
	o += put16(m + o, 1);
	if (!response)
		return o;
	/* CNAME name -> cdn.fuzz.example, then cdn.fuzz.example A 45.76.0.1 */
	o += put16(m + o, 0xC00C);
	o += put16(m + o, 5);
	o += put16(m + o, 1);
	o += put16(m + o, 0);
	o += put16(m + o, 300);
	o += put16(m + o, sizeof(cdn));
	memcpy(m + o, cdn, sizeof(cdn));
	o += sizeof(cdn);
	memcpy(m + o, cdn, sizeof(cdn));
	o += sizeof(cdn);
	o += put16(m + o, 1);
	o += put16(m + o, 1);
	o += put16(m + o, 0);
	o += put16(m + o, 300);
	o += put16(m + o, 4);
	memcpy(m + o, "\x2d\x4c\x00\x01", 4);
	o += 4;
	return o;
}

static size_t client_hello(uint8_t *m, const uint8_t *name, size_t len)
{
	size_t ext_len = len + 5, exts = ext_len + 4, body = 2 + 32 + 1 + 2 + 4 + 2 + 2 + exts;
	size_t o = 0;

	m[o++] = 0x16;
	m[o++] = 3;
	m[o++] = 1;
	o += put16(m + o, (unsigned)(body + 4));
	m[o++] = 1;
	m[o++] = (uint8_t)(body >> 16);
	o += put16(m + o, (unsigned)body);
	m[o++] = 3;
	m[o++] = 3;
	memset(m + o, 0x42, 32);
	o += 32;
	m[o++] = 0;
	o += put16(m + o, 4);
	o += put16(m + o, 0x1301);
	o += put16(m + o, 0x1302);
	m[o++] = 1;
	m[o++] = 0;
	o += put16(m + o, (unsigned)exts);
	o += put16(m + o, 0);            /* server_name */
	o += put16(m + o, (unsigned)ext_len);
	o += put16(m + o, (unsigned)(len + 3));
	m[o++] = 0;                      /* host_name */
	o += put16(m + o, (unsigned)len);
	memcpy(m + o, name, len);
	return o + len;
}

/* ----- alerts ---------------------------------------------------------------------------- */

/* A name written "as seen" (DESIGN.md: non-printable bytes escaped \DDD): printable ASCII only. */
static void check_as_seen(json_t *j, const char *a, const char *b, const char *c,
			  const char *line, size_t len)
{
	json_t *v = json_object_get(json_object_get(j, a), b);
	const char *s;
	size_t n;

	if (c != NULL)
		v = json_object_get(v, c);
	if (v == NULL)
		return;
	if (!json_is_string(v))
		fail("name field is not a string", line, len);
	s = json_string_value(v);
	n = json_string_length(v);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			fail("name written as seen holds a non-printable byte", line, len);
}

/*
 * The line must be JSON. JSON_ALLOW_NUL: \u0000 is valid JSON (a NUL byte of a hostile name
 * reaches the normalised threat.indicator.url.domain that way; jansson's default decoder
 * refuses it: reported to the sensor's owner).
 */
static void check_line(const char *line, size_t len)
{
	json_error_t err;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	json_t *t, *k;

	if (j == NULL)
		fail(err.text, line, len);
	t = json_object_get(j, "tipoff");
	k = t != NULL ? json_object_get(t, "kind") : NULL;
	if (!json_is_string(k) || json_object_get(t, "indicator") == NULL ||
	    !json_is_string(json_object_get(json_object_get(j, "event"), "id")))
		fail("alert without tipoff.kind, tipoff.indicator or event.id", line, len);
	if (strcmp(json_string_value(k), "contact") == 0)
		n_checked[0]++;
	else if (strcmp(json_string_value(k), "lookup") == 0)
		n_checked[1]++;
	else if (strcmp(json_string_value(k), "inbound") == 0)
		n_checked[2]++;
	else
		n_checked[3]++;
	if (memchr(line, '\n', len) != NULL)
		fail("newline inside an alert line", line, len);
	check_as_seen(j, "dns", "question", "name", line, len);
	check_as_seen(j, "tls", "client", "server_name", line, len);
	check_as_seen(j, "url", "domain", NULL, line, len);
	json_decref(j);
}

static void drain(void)
{
	const char *rec, *out;
	size_t len, olen;

	while ((rec = alertq_peek(aq, &len)) != NULL) {
		if (len < sizeof(struct suppress_envelope))
			fail("record shorter than its envelope", rec, len);
		check_line(rec + sizeof(struct suppress_envelope),
			   len - sizeof(struct suppress_envelope));
		olen = suppress_filter(sup, rec, len, &out);
		if (olen > 0)
			check_line(out, olen);
		alertq_release(aq);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t name[1024], msg[70000];
	uint32_t client, server = 0x2d4c0002; /* 45.76.0.2 */
	const uint32_t resolver = 0x09090909;
	unsigned port;
	size_t nlen, len, i;

	if (w == NULL)
		setup();
	if (size > 512)
		size = 512;
	memcpy(name, data, size);
	memcpy(name + size, SUFFIX, sizeof(SUFFIX) - 1);
	nlen = size + sizeof(SUFFIX) - 1;
	n_inputs++;
	client = 0x0a140000u | (uint32_t)(1 + n_inputs % 65000); /* 10.20.x.y */
	port = 40000 + (unsigned)(n_inputs % 20000); /* above the UDP tunnel ports */
	worker_quiescent(w);

	/* DNS: query and response */
	len = dns_message(msg, (unsigned)n_inputs & 0xffff, false, name, nlen);
	send_frame(build(client, resolver, 17, port, 53, 0, msg, len), n_inputs * 8);
	len = dns_message(msg, (unsigned)n_inputs & 0xffff, true, name, nlen);
	send_frame(build(resolver, client, 17, 53, port, 0, msg, len), n_inputs * 8 + 1);

	/* TLS: SYN, SYN-ACK, ACK, ClientHello with the raw bytes as SNI */
	send_frame(build(client, server, 6, port, 443, 0x02, NULL, 0), n_inputs * 8 + 2);
	send_frame(build(server, client, 6, 443, port, 0x12, NULL, 0), n_inputs * 8 + 3);
	len = client_hello(msg, name, nlen);
	send_frame(build(client, server, 6, port, 443, 0x18, msg, len), n_inputs * 8 + 4);

	/* HTTP Host: the name up to the first CR or LF */
	for (i = 0; i < nlen && name[i] != '\r' && name[i] != '\n'; i++)
		;
	len = (size_t)snprintf((char *)msg, 64, "GET / HTTP/1.1\r\nHost: ");
	memcpy(msg + len, name, i);
	len += i;
	memcpy(msg + len, "\r\n\r\n", 4);
	len += 4;
	send_frame(build(client, server, 6, port, 80, 0x02, NULL, 0), n_inputs * 8 + 5);
	send_frame(build(client, server, 6, port, 80, 0x18, msg, len), n_inputs * 8 + 6);

	drain();
	if (n_inputs % 256 == 0) {
		ts_ns += 400 * NS; /* past every idle timeout: the flows of earlier inputs end */
		worker_expire(w, ts_ns);
		drain();
	}
	return 0;
}
