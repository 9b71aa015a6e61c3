/*
 * Unit tests of sensor/dns.c: RFC 1035 message parsing on real responses taken from the
 * shared corpus and on hand-built hostile messages (compression loops, forward and
 * out-of-bounds pointers, extended labels, over-long names, lying counts, truncation at every
 * byte), name presentation and normalisation, and TCP framing.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sensor/dns.h"

/* Hex text to bytes; returns the length. */
static size_t unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t n = 0;

	while (hex[0] != '\0' && hex[1] != '\0' && n < size) {
		char tmp[3] = { hex[0], hex[1], '\0' };

		out[n++] = (uint8_t)strtoul(tmp, NULL, 16);
		hex += 2;
	}
	return n;
}

/* ndpi/dns_ambiguous_names.pcap: teams.skype.com CNAME s-0001.s-msedge.net A 13.107.3.128 */
static const char teams_hex[] =
        "c31981800001000200000001057465616d7305736b79706503636f6d0000010001c00c00050001000008"
        "03001506732d3030303108732d6d7365646765036e657400c02d00010001000000a800040d6b038000"
        "00290200000000000000";

/* a response with one AAAA answer (ns2.webernds.de) from the ndpi captures */
static const char aaaa_hex[] =
        "3f7f81800001000100000001036e7332087765626572646e7302646500001c0001c00c001c0001000"
        "00e100010200104701f0b16b0000000000a26005300002905ac000000000000";

static struct dns_msg m;     /* big: keep it off the stack */
static struct dns_msg whole; /* reference parse for the truncation test */

static const char *name_text(const struct dns_name *n)
{
	static char buf[DNS_NAME_TEXT_MAX];

	dns_name_text(n, buf, sizeof(buf));
	return buf;
}

static const char *rr_text(const struct dns_rr *rr)
{
	static char buf[DNS_NAME_TEXT_MAX];

	dns_rr_data_text(rr, buf, sizeof(buf));
	return buf;
}

static void test_dns_response_with_cname_chain_keeps_every_answer(void)
{
	uint8_t b[512];
	size_t n = unhex(teams_hex, b, sizeof(b));

	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_none);
	CHECK_EQ(m.id, 0xc319);
	CHECK(m.qr);
	CHECK(m.rd);
	CHECK(m.ra);
	CHECK_EQ(m.rcode, 0);
	CHECK_EQ(m.qdcount, 1);
	CHECK_EQ(m.ancount, 2);
	CHECK_EQ(m.arcount, 1);
	CHECK_EQ(m.nq, 1);
	CHECK_STR(name_text(&m.q[0].name), "teams.skype.com");
	CHECK_EQ(m.q[0].type, 1);
	CHECK_EQ(m.q[0].class, 1);
	CHECK_EQ(m.nan, 2);
	CHECK_STR(name_text(&m.an[0].name), "teams.skype.com");
	CHECK_EQ(m.an[0].type, 5);
	CHECK_EQ(m.an[0].ttl, 0x803);
	CHECK(m.an[0].data_ok);
	CHECK_STR(rr_text(&m.an[0]), "s-0001.s-msedge.net");
	/* the second owner name is a pointer into the first answer's data */
	CHECK_STR(name_text(&m.an[1].name), "s-0001.s-msedge.net");
	CHECK_EQ(m.an[1].type, 1);
	CHECK_EQ(m.an[1].ttl, 0xa8);
	CHECK(m.an[1].data_ok);
	CHECK_STR(rr_text(&m.an[1]), "13.107.3.128");
	CHECK_EQ(m.an[1].ip.b[10], 0xff); /* stored IPv4-mapped */
	CHECK_EQ(m.an[1].ip.b[15], 0x80);
}

static void test_dns_aaaa_answer_gives_rfc5952_text(void)
{
	uint8_t b[512];
	size_t n = unhex(aaaa_hex, b, sizeof(b));

	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_none);
	CHECK_EQ(m.nan, 1);
	CHECK_EQ(m.an[0].type, 28);
	CHECK(m.an[0].data_ok);
	CHECK_STR(rr_text(&m.an[0]), "2001:470:1f0b:16b0::a26:53");
	CHECK_EQ(m.an[0].ttl, 3600);
}

/* Every prefix of a real response: what lies before the cut is kept, nothing after it. */
static void test_dns_truncated_at_every_byte_keeps_what_was_read(void)
{
	uint8_t b[512];
	size_t n = unhex(teams_hex, b, sizeof(b));
	/* offsets where each part ends: question at 33, answer 1 at 66, answer 2 at 82 */
	const size_t q_end = 12 + 17 + 4, an1_end = q_end + 12 + 21, an2_end = an1_end + 16;

	CHECK(dns_parse(b, n, &whole));
	for (size_t cut = 0; cut < n; cut++) {
		bool ok = dns_parse(b, cut, &m);

		if (cut < 12) {
			CHECK(!ok);
			CHECK_EQ(m.err, DNS_ERR_short_header);
			continue;
		}
		CHECK(ok);
		CHECK_EQ(m.nq, cut >= q_end ? 1 : 0);
		CHECK_EQ(m.nan, cut >= an2_end ? 2 : cut >= an1_end ? 1 : 0);
		/* the additional section is not read: a cut there is not seen */
		CHECK_EQ(m.err, cut >= an2_end ? DNS_ERR_none : DNS_ERR_truncated);
		for (unsigned i = 0; i < m.nan; i++) {
			CHECK_EQ(m.an[i].type, whole.an[i].type);
			CHECK_STR(rr_text(&m.an[i]), rr_text(&whole.an[i]));
		}
	}
}

/* Header + question "a" A IN, then the bytes of one answer built by the caller. */
static size_t msg_with_answer(uint8_t *b, const uint8_t *answer, size_t alen)
{
	static const uint8_t head[] = {
		0x00, 0x01, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x01, 'a',  0x00, 0x00, 0x01, 0x00, 0x01,
	};

	memcpy(b, head, sizeof(head));
	memcpy(b + sizeof(head), answer, alen);
	return sizeof(head) + alen;
}

static void test_dns_pointer_to_itself_is_a_loop(void)
{
	/* the answer's owner name at offset 19 points at offset 19 */
	static const uint8_t an[] = { 0xc0, 19, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 };
	uint8_t b[64];
	size_t n = msg_with_answer(b, an, sizeof(an));

	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_pointer_loop);
	CHECK_EQ(m.nq, 1); /* the question before it is kept */
	CHECK_EQ(m.nan, 0);
}

static void test_dns_forward_pointer_is_rejected(void)
{
	/* owner name points forward to a valid name placed in the answer's data */
	static const uint8_t an[] = { 0xc0, 31, 0, 5, 0, 1, 0, 0, 0, 60, 0, 3, 1, 'b', 0 };
	uint8_t b[64];
	size_t n = msg_with_answer(b, an, sizeof(an));

	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_pointer_loop);
	CHECK_EQ(m.nan, 0);
	/* near miss: the same message with a backward pointer to the question name */
	b[20] = 12;
	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_none);
	CHECK_EQ(m.nan, 1);
	CHECK_STR(name_text(&m.an[0].name), "a");
	CHECK_STR(rr_text(&m.an[0]), "b");
}

static void test_dns_two_pointers_in_a_cycle_are_a_loop(void)
{
	/* "x" + pointer to 22, and at 22 a pointer back to 19: a cycle reached backwards */
	static const uint8_t an[] = { 1, 'x', 0xc0, 22, 0xc0, 19 };
	uint8_t b[64];
	size_t n = msg_with_answer(b, an, sizeof(an));

	/* the owner name starts at 23 with a pointer to 19: x -> 22 is not before 19 */
	b[n++] = 0xc0;
	b[n++] = 19;
	memcpy(b + n, (const uint8_t[]){ 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 9, 9, 9, 9 }, 14);
	n += 14;
	b[7] = 1;
	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_pointer_loop);
}

static void test_dns_pointer_outside_message_is_oob(void)
{
	static const uint8_t an[] = { 0xc1, 0x00, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 };
	uint8_t b[64];
	size_t n = msg_with_answer(b, an, sizeof(an));

	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_pointer_oob);
	CHECK_EQ(m.nq, 1);
	CHECK_EQ(m.nan, 0);
}

static void test_dns_extended_and_reserved_labels_are_bad(void)
{
	static const uint8_t an40[] = { 0x41, 0x00, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 };
	static const uint8_t an80[] = { 0x81, 0x00, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4 };
	uint8_t b[64];
	size_t n;

	n = msg_with_answer(b, an40, sizeof(an40));
	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_bad_label);
	n = msg_with_answer(b, an80, sizeof(an80));
	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_bad_label);
	CHECK_EQ(m.nq, 1);
}

/* A query whose name has wire length total (labels of 63 bytes and one shorter, + root). */
static size_t query_with_name_of(uint8_t *b, size_t total)
{
	static const uint8_t head[] = { 0, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t n = sizeof(head), left = total - 1;

	memcpy(b, head, n);
	while (left > 0) {
		size_t l = left - 1 > 63 ? 63 : left - 1;

		b[n++] = (uint8_t)l;
		memset(b + n, 'a', l);
		n += l;
		left -= l + 1;
	}
	b[n++] = 0;
	b[n++] = 0;
	b[n++] = 1;
	b[n++] = 0;
	b[n++] = 1;
	return n;
}

static void test_dns_name_of_256_bytes_is_bad_255_is_fine(void)
{
	uint8_t b[600];
	size_t n;

	n = query_with_name_of(b, 255);
	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_none);
	CHECK_EQ(m.nq, 1);
	CHECK_EQ(m.q[0].name.len, 254);
	n = query_with_name_of(b, 256);
	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_bad_label);
	CHECK_EQ(m.nq, 0);
}

static void test_dns_counts_larger_than_message_report_truncated(void)
{
	uint8_t b[512];
	size_t n = unhex(teams_hex, b, sizeof(b));

	b[7] = 200; /* ancount 200, only 2 present (and the OPT record read as an answer) */
	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_truncated);
	CHECK_EQ(m.nan, 3);
	CHECK_STR(rr_text(&m.an[1]), "13.107.3.128");
	b[7] = 2;
	b[5] = 0xff; /* qdcount 255: the answers are read as questions until something breaks */
	CHECK(dns_parse(b, n, &m));
	CHECK(m.err != DNS_ERR_none);
	CHECK_EQ(m.nan, 0);
	CHECK(m.nq >= 1);
	CHECK_STR(name_text(&m.q[0].name), "teams.skype.com");
}

static void test_dns_bad_rdata_length_is_counted_but_framing_kept(void)
{
	/* an A record with 3 bytes of data, then a good one */
	static const uint8_t an[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0,  60, 0, 3, 1, 2, 3, 0xc0,
		                      12,   0,  1, 0, 1, 0, 0, 0, 60, 0,  4, 5, 6, 7, 8 };
	uint8_t b[64];
	size_t n = msg_with_answer(b, an, sizeof(an));

	b[7] = 2;
	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_bad_rdata);
	CHECK_EQ(m.nan, 2);
	CHECK(!m.an[0].data_ok);
	CHECK_STR(rr_text(&m.an[0]), "");
	CHECK(m.an[1].data_ok);
	CHECK_STR(rr_text(&m.an[1]), "5.6.7.8");
}

static void test_dns_mx_and_srv_targets_are_decoded(void)
{
	static const uint8_t an[] = {
		0xc0, 12,   0,  15,   0,  1, 0,  0, 0, 60, 0, 7,  0,  10, 2, 'm', 'x',  0xc0, 12,
		0xc0, 12,   0,  33,   0,  1, 0,  0, 0, 60, 0, 10, 0,  1,  0, 2,   0x13, 0xc4, 1,
		's',  0xc0, 12, 0xc0, 12, 0, 16, 0, 1, 0,  0, 0,  60, 0,  2, 1,   'x',
	};
	uint8_t b[128];
	size_t n = msg_with_answer(b, an, sizeof(an));
	char tb[16];

	b[7] = 3;
	CHECK(dns_parse(b, n, &m));
	CHECK_EQ(m.err, DNS_ERR_none);
	CHECK_EQ(m.nan, 3);
	CHECK_EQ(m.an[0].pref, 10);
	CHECK_STR(rr_text(&m.an[0]), "mx.a");
	CHECK_STR(rr_text(&m.an[1]), "s.a");
	CHECK_EQ(m.an[2].rdlen, 2); /* TXT: kept with its type and length, no text */
	CHECK_STR(rr_text(&m.an[2]), "");
	CHECK_STR(dns_type_str(m.an[2].type, tb, sizeof(tb)), "TXT");
}

static void test_dns_name_text_escapes_and_norm_lowercases(void)
{
	struct dns_name nm = { 0 };
	static const uint8_t wire[] = { 4, 'A', '.', '\\', ' ', 3, 'C', 0xff, 'm' };
	char buf[DNS_NAME_TEXT_MAX];

	memcpy(nm.wire, wire, sizeof(wire));
	nm.len = sizeof(wire);
	CHECK_EQ(dns_name_text(&nm, buf, sizeof(buf)), 20);
	CHECK_STR(buf, "A\\046\\092\\032.C\\255m");
	dns_name_norm(&nm, buf, sizeof(buf));
	CHECK_STR(buf, "a\\046\\092\\032.c\\255m");
	nm.len = 0;
	CHECK_EQ(dns_name_text(&nm, buf, sizeof(buf)), 1);
	CHECK_STR(buf, ".");
	/* a small buffer is cut, never overrun */
	nm.len = sizeof(wire);
	dns_name_text(&nm, buf, 6);
	CHECK_STR(buf, "A\\046");
	dns_name_text(&nm, buf, 5);
	CHECK_STR(buf, "A");
}

static void test_dns_type_and_rcode_names(void)
{
	char buf[16];

	CHECK_STR(dns_type_str(1, buf, sizeof(buf)), "A");
	CHECK_STR(dns_type_str(28, buf, sizeof(buf)), "AAAA");
	CHECK_STR(dns_type_str(65280, buf, sizeof(buf)), "TYPE65280");
	CHECK_STR(dns_rcode_str(3, buf, sizeof(buf)), "NXDOMAIN");
	CHECK_STR(dns_rcode_str(0, buf, sizeof(buf)), "NOERROR");
	CHECK_STR(dns_rcode_str(11, buf, sizeof(buf)), "RCODE11");
}

static void test_dns_tcp_framing_splits_messages_and_keeps_cut_one(void)
{
	uint8_t msg[512], stream[1200];
	size_t n = unhex(teams_hex, msg, sizeof(msg)), len = 0, used;
	const uint8_t *p, *mp;
	size_t ml;

	for (int i = 0; i < 2; i++) {
		stream[len++] = (uint8_t)(n >> 8);
		stream[len++] = (uint8_t)n;
		memcpy(stream + len, msg, n);
		len += n;
	}
	stream[len++] = (uint8_t)(n >> 8); /* a third message cut after 40 bytes */
	stream[len++] = (uint8_t)n;
	memcpy(stream + len, msg, 40);
	len += 40;

	p = stream;
	used = dns_tcp_next(p, len, &mp, &ml);
	CHECK_EQ(used, n + 2);
	CHECK_EQ(ml, n);
	CHECK(mp == stream + 2);
	used = dns_tcp_next(p + n + 2, len - (n + 2), &mp, &ml);
	CHECK_EQ(used, n + 2);
	used = dns_tcp_next(p + 2 * (n + 2), len - 2 * (n + 2), &mp, &ml);
	CHECK_EQ(used, 42);
	CHECK_EQ(ml, 40);
	CHECK(dns_parse(mp, ml, &m));
	CHECK_EQ(m.err, DNS_ERR_truncated);
	CHECK_EQ(m.nq, 1);
	CHECK_EQ(dns_tcp_next(p, 1, &mp, &ml), 0);
	CHECK(mp == NULL);
}

struct tcp_seen {
	unsigned n;
	uint16_t id[8];
	size_t len[8];
	bool cut[8];
};

static void on_tcp_msg(void *arg, const uint8_t *msg, size_t len, bool cut)
{
	struct tcp_seen *t = arg;

	if (t->n < 8) {
		t->id[t->n] = (uint16_t)(len >= 2 ? msg[0] << 8 | msg[1] : 0);
		t->len[t->n] = len;
		t->cut[t->n] = cut;
		t->n++;
	}
}

static void test_dns_tcp_segments_skip_the_rest_of_a_cut_message(void)
{
	uint8_t m1[512], m2[512], stream[1500];
	size_t n1 = unhex(teams_hex, m1, sizeof(m1)), n2 = unhex(aaaa_hex, m2, sizeof(m2));
	size_t len = 0, a, b;
	struct dns_tcp_state st = { 0 };
	struct tcp_seen t = { 0 };
	const uint32_t isn = 0xffffffe0; /* wraps within the stream */

	stream[len++] = (uint8_t)(n1 >> 8);
	stream[len++] = (uint8_t)n1;
	memcpy(stream + len, m1, n1);
	len += n1;
	stream[len++] = (uint8_t)(n2 >> 8);
	stream[len++] = (uint8_t)n2;
	memcpy(stream + len, m2, n2);
	len += n2;
	stream[len++] = (uint8_t)(n1 >> 8);
	stream[len++] = (uint8_t)n1;
	memcpy(stream + len, m1, n1);
	len += n1;

	/* segment 1: m1 cut after 40 bytes; segment 2: the rest of m1 and one prefix byte */
	a = 2 + 40;
	b = 2 + n1 + 1;
	dns_tcp_segment(&st, isn, stream, a, on_tcp_msg, &t);
	CHECK_EQ(t.n, 1);
	CHECK_EQ(t.id[0], 0xc319);
	CHECK_EQ(t.len[0], 40);
	CHECK(t.cut[0]);
	dns_tcp_segment(&st, isn + (uint32_t)a, stream + a, b - a, on_tcp_msg, &t);
	CHECK_EQ(t.n, 1); /* the continuation is not read as a message */
	/* segment 3: the second prefix byte, all of m2 and all of the second m1 */
	dns_tcp_segment(&st, isn + (uint32_t)b, stream + b, len - b, on_tcp_msg, &t);
	CHECK_EQ(t.n, 3);
	CHECK_EQ(t.id[1], 0x3f7f);
	CHECK_EQ(t.len[1], n2);
	CHECK(!t.cut[1]);
	CHECK_EQ(t.id[2], 0xc319);
	CHECK_EQ(t.len[2], n1);
	/* a retransmission of segment 3 gives nothing new */
	dns_tcp_segment(&st, isn + (uint32_t)b, stream + b, len - b, on_tcp_msg, &t);
	CHECK_EQ(t.n, 3);
	/* after a gap, the segment start is taken as a message start */
	dns_tcp_segment(&st, isn + (uint32_t)len + 100, stream, 2 + n1, on_tcp_msg, &t);
	CHECK_EQ(t.n, 4);
	CHECK_EQ(t.len[3], n1);
	CHECK(!t.cut[3]);
}

int main(void)
{
	RUN(test_dns_response_with_cname_chain_keeps_every_answer);
	RUN(test_dns_aaaa_answer_gives_rfc5952_text);
	RUN(test_dns_truncated_at_every_byte_keeps_what_was_read);
	RUN(test_dns_pointer_to_itself_is_a_loop);
	RUN(test_dns_forward_pointer_is_rejected);
	RUN(test_dns_two_pointers_in_a_cycle_are_a_loop);
	RUN(test_dns_pointer_outside_message_is_oob);
	RUN(test_dns_extended_and_reserved_labels_are_bad);
	RUN(test_dns_name_of_256_bytes_is_bad_255_is_fine);
	RUN(test_dns_counts_larger_than_message_report_truncated);
	RUN(test_dns_bad_rdata_length_is_counted_but_framing_kept);
	RUN(test_dns_mx_and_srv_targets_are_decoded);
	RUN(test_dns_name_text_escapes_and_norm_lowercases);
	RUN(test_dns_type_and_rcode_names);
	RUN(test_dns_tcp_framing_splits_messages_and_keeps_cut_one);
	RUN(test_dns_tcp_segments_skip_the_rest_of_a_cut_message);
	return check_summary();
}
