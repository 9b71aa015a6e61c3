/*
 * DNS responses into DNS memory: a hand-built response with a CNAME chain (RFC 1035 wire format,
 * compression pointers included) ties each address to the question and the chain that led to
 * it, for the asking host only, for an hour or the TTL if longer.
 */
#include "check.h"
#include "sensor/dnsrec.h"

#include <string.h>

static size_t put_name(uint8_t *p, const char *dotted)
{
	size_t n = 0;

	while (*dotted != '\0') {
		const char *dot = strchr(dotted, '.');
		size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);

		p[n++] = (uint8_t)l;
		memcpy(p + n, dotted, l);
		n += l;
		dotted += l + (dot ? 1 : 0);
	}
	p[n++] = 0;
	return n;
}

static size_t put_rr_head(uint8_t *p, uint16_t name_ptr, uint16_t type, uint32_t ttl,
			  uint16_t rdlen)
{
	p[0] = (uint8_t)(0xc0 | name_ptr >> 8);
	p[1] = (uint8_t)name_ptr;
	p[2] = (uint8_t)(type >> 8);
	p[3] = (uint8_t)type;
	p[4] = 0;
	p[5] = 1;
	p[6] = (uint8_t)(ttl >> 24);
	p[7] = (uint8_t)(ttl >> 16);
	p[8] = (uint8_t)(ttl >> 8);
	p[9] = (uint8_t)ttl;
	p[10] = (uint8_t)(rdlen >> 8);
	p[11] = (uint8_t)rdlen;
	return 12;
}

/*
 * Response: question www.Evil.Example A; answers: www.evil.example CNAME edge.cdn.example
 * (TTL 60), edge.cdn.example A 93.184.216.34 (TTL 7200), stray.example A 1.2.3.4 (TTL 30).
 */
static size_t build_response(uint8_t *m)
{
	static const uint8_t hdr[12] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0 };
	size_t n = 0, cname_target;

	memcpy(m, hdr, 12);
	n = 12;
	n += put_name(m + n, "www.Evil.Example");
	m[n++] = 0;
	m[n++] = 1;
	m[n++] = 0;
	m[n++] = 1;
	n += put_rr_head(m + n, 12, 5, 60, 18);
	cname_target = n;
	n += put_name(m + n, "edge.cdn.example");
	n += put_rr_head(m + n, (uint16_t)cname_target, 1, 7200, 4);
	m[n++] = 93;
	m[n++] = 184;
	m[n++] = 216;
	m[n++] = 34;
	m[n++] = 5;
	memcpy(m + n, "stray", 5);
	n += 5;
	m[n++] = 0xc0; /* ".example" of the question: offset of "Example" label */
	m[n++] = (uint8_t)(12 + 4 + 5);
	m[n++] = 0;
	m[n++] = 1;
	m[n++] = 0;
	m[n++] = 1;
	m[n++] = 0;
	m[n++] = 0;
	m[n++] = 0;
	m[n++] = 30;
	m[n++] = 0;
	m[n++] = 4;
	m[n++] = 1;
	m[n++] = 2;
	m[n++] = 3;
	m[n++] = 4;
	return n;
}

static struct addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct addr x;

	memset(&x, 0, sizeof(x));
	x.b[10] = 0xff;
	x.b[11] = 0xff;
	x.b[12] = a;
	x.b[13] = b;
	x.b[14] = c;
	x.b[15] = d;
	return x;
}

static bool name_at(const struct dnsmem_hit *h, unsigned i, const char *s)
{
	return i < h->nnames && h->len[i] == strlen(s) && memcmp(h->names + h->off[i], s, h->len[i]) == 0;
}

static void test_response_ties_chain_for_asking_host(void)
{
	static struct dns_msg msg;
	uint8_t wire[512];
	size_t len = build_response(wire);
	struct dnsmem *mem = dnsmem_new(256);
	struct addr host = v4(10, 0, 0, 1), other = v4(10, 0, 0, 2);
	struct addr cdn = v4(93, 184, 216, 34), stray = v4(1, 2, 3, 4);
	const uint64_t t0 = 1000ull * 1000000000ull, hour = 3600ull * 1000000000ull;
	struct dnsmem_hit hit;

	CHECK(dns_parse(wire, len, &msg));
	CHECK_EQ(msg.nan, 3);
	dnsrec_record(mem, &msg, &host, 7, t0);

	CHECK(dnsmem_lookup(mem, &host, &cdn, 8, t0, &hit));
	CHECK_EQ(hit.nnames, 2);
	CHECK(name_at(&hit, 0, "www.evil.example")); /* normalised: lower case */
	CHECK(name_at(&hit, 1, "edge.cdn.example"));
	/* TTL 7200 s is longer than an hour: it decides */
	CHECK(dnsmem_lookup(mem, &host, &cdn, 8, t0 + 2 * hour, &hit));
	CHECK(!dnsmem_lookup(mem, &host, &cdn, 8, t0 + 2 * hour + 1, &hit));

	/* an address the chain does not lead to: question and its own owner */
	CHECK(dnsmem_lookup(mem, &host, &stray, 8, t0, &hit));
	CHECK_EQ(hit.nnames, 2);
	CHECK(name_at(&hit, 0, "www.evil.example"));
	CHECK(name_at(&hit, 1, "stray.example"));
	/* TTL 30 s: the one-hour floor applies */
	CHECK(dnsmem_lookup(mem, &host, &stray, 8, t0 + hour, &hit));
	CHECK(!dnsmem_lookup(mem, &host, &stray, 8, t0 + hour + 1, &hit));

	CHECK(!dnsmem_lookup(mem, &other, &cdn, 8, t0, &hit)); /* another host asked nothing */
	dnsmem_free(mem);
}

static void test_queries_are_not_recorded(void)
{
	static struct dns_msg msg;
	uint8_t wire[512];
	size_t len = build_response(wire);
	struct dnsmem *mem = dnsmem_new(256);
	struct addr host = v4(10, 0, 0, 1), cdn = v4(93, 184, 216, 34);
	struct dnsmem_hit hit;

	wire[2] &= 0x7f; /* QR = 0 */
	CHECK(dns_parse(wire, len, &msg));
	dnsrec_record(mem, &msg, &host, 7, 0);
	CHECK(!dnsmem_lookup(mem, &host, &cdn, 8, 0, &hit));
	dnsmem_free(mem);
}

int main(void)
{
	RUN(test_response_ties_chain_for_asking_host);
	RUN(test_queries_are_not_recorded);
	return check_summary();
}
