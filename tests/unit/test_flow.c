/*
 * Tests of the flow table (sensor/flow.c): packets built by hand, so every rule of the
 * initiator fine print (DESIGN.md), the timeouts, eviction and TCP reuse are pinned exactly.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sensor/flow.h"

#define S  1000000000ull /* ns per second */
#define T0 (1600000000ull * S)

enum {
	FIN = 0x01,
	SYN = 0x02,
	RST = 0x04,
	ACK = 0x10
};

/* Flows ended so far, copied by the end callback. */
static struct ended {
	struct flow f;
	enum flow_end_reason why;
} ended[64];
static unsigned nended;

static void on_end(void *arg, struct flow *f, enum flow_end_reason why)
{
	(void)arg;
	if (nended < sizeof(ended) / sizeof(ended[0])) {
		ended[nended].f = *f;
		ended[nended].why = why;
	}
	nended++;
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

static struct pkt mk(uint8_t proto, const char *src, uint16_t sport, const char *dst,
                     uint16_t dport, uint8_t flags, uint64_t ts_ns)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.ts_ns = ts_ns;
	p.wire_len = 100;
	p.cap_len = 100;
	p.family = strchr(src, ':') ? ADDR_V6 : ADDR_V4;
	p.proto = proto;
	p.tcp_flags = flags;
	p.src = ip(src);
	p.dst = ip(dst);
	p.sport = sport;
	p.dport = dport;
	return p;
}

static struct flow_table *table(uint32_t max_flows)
{
	struct flow_config cfg = {
		.max_flows = max_flows,
		.tcp_timeout_ns = 300 * S,
		.udp_timeout_ns = 120 * S,
		.other_timeout_ns = 60 * S,
		.active_timeout_ns = 1800 * S,
	};

	nended = 0;
	return flow_table_new(&cfg, on_end, NULL);
}

static bool is_addr(const struct addr *a, const char *s)
{
	struct addr b = ip(s);

	return memcmp(a->b, b.b, 16) == 0;
}

#define CHECK_SRC(f, a, port)                          \
	do {                                           \
		CHECK(is_addr(flow_src_addr(f), (a))); \
		CHECK_EQ(flow_src_port(f), (port));    \
	} while (0)

static void test_syn_sender_is_initiator(void)
{
	struct flow_table *t = table(16);
	/* the SYN comes from the side with the low port: it still initiates */
	struct pkt p = mk(IPPROTO_TCP, "10.0.0.2", 80, "10.0.0.1", 40000, SYN, T0);
	struct flow_hit h;
	struct flow *f = flow_get(t, &p, &h);

	CHECK(h.created);
	CHECK_EQ(h.dir, FLOW_DIR_SRC);
	CHECK_SRC(f, "10.0.0.2", 80);
	CHECK_EQ(f->init_rule, FLOW_INIT_SYN);
	/* the SYN-ACK is the responder's */
	p = mk(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, SYN | ACK, T0 + 1);
	f = flow_get(t, &p, &h);
	CHECK(!h.created);
	CHECK_EQ(h.dir, FLOW_DIR_DST);
	CHECK_EQ(flow_count(t), 1);
	flow_table_free(t);
}

static void test_synack_first_falls_to_port_rule(void)
{
	struct flow_table *t = table(16);
	struct pkt p = mk(IPPROTO_TCP, "192.0.2.1", 443, "10.0.0.1", 50000, SYN | ACK, T0);
	struct flow_hit h;
	struct flow *f = flow_get(t, &p, &h);

	CHECK_SRC(f, "10.0.0.1", 50000);
	CHECK(is_addr(flow_dst_addr(f), "192.0.2.1"));
	CHECK_EQ(f->init_rule, FLOW_INIT_PORT);
	CHECK_EQ(h.dir, FLOW_DIR_DST);
	CHECK_EQ(f->dir[FLOW_DIR_DST].packets, 1);
	CHECK_EQ(f->dir[FLOW_DIR_SRC].packets, 0);
	flow_table_free(t);
}

static void test_dns_qr_bit_decides_initiator(void)
{
	struct flow_table *t = table(16);
	/* first packet is a response (QR=1) from the server: the receiver initiated */
	static const uint8_t resp[12] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0 };
	static const uint8_t query[12] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	/* TCP: the same after the 2-byte length */
	static const uint8_t tcp_query[14] = {
		0, 12, 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0
	};
	struct pkt p = mk(IPPROTO_UDP, "198.51.100.53", 53, "10.0.0.9", 33333, 0, T0);
	struct flow_hit h;
	struct flow *f;

	p.payload = resp;
	p.payload_len = p.payload_wire_len = sizeof(resp);
	f = flow_get(t, &p, &h);
	CHECK_SRC(f, "10.0.0.9", 33333);
	CHECK_EQ(f->init_rule, FLOW_INIT_DNS);
	CHECK_EQ(h.dir, FLOW_DIR_DST);

	/* a query between two port-53 servers: the sender initiates (no port rule possible) */
	p = mk(IPPROTO_UDP, "10.0.0.53", 53, "198.51.100.53", 53, 0, T0);
	p.payload = query;
	p.payload_len = p.payload_wire_len = sizeof(query);
	f = flow_get(t, &p, &h);
	CHECK_SRC(f, "10.0.0.53", 53);
	CHECK_EQ(f->init_rule, FLOW_INIT_DNS);

	/* a response from a high port to port 53: the QR bit wins over the port rule */
	p = mk(IPPROTO_UDP, "10.0.0.7", 40000, "10.0.0.8", 53, 0, T0);
	p.payload = resp;
	p.payload_len = p.payload_wire_len = sizeof(resp);
	f = flow_get(t, &p, &h);
	CHECK_SRC(f, "10.0.0.8", 53);

	/* DNS over TCP, mid-stream (no SYN seen): the query's sender */
	p = mk(IPPROTO_TCP, "10.0.0.1", 53, "10.0.0.2", 44444, ACK | 0x08, T0);
	p.payload = tcp_query;
	p.payload_len = p.payload_wire_len = sizeof(tcp_query);
	f = flow_get(t, &p, &h);
	CHECK_SRC(f, "10.0.0.1", 53);
	CHECK_EQ(f->init_rule, FLOW_INIT_DNS);

	/* near miss: mDNS (5353) is not DNS: both ports high, the first sender initiates */
	p = mk(IPPROTO_UDP, "10.0.0.20", 5353, "224.0.0.251", 5353, 0, T0);
	p.payload = resp;
	p.payload_len = p.payload_wire_len = sizeof(resp);
	f = flow_get(t, &p, &h);
	CHECK_SRC(f, "10.0.0.20", 5353);
	CHECK_EQ(f->init_rule, FLOW_INIT_FIRST);

	/* port 53 with a payload too short to hold the flags: the port rule */
	p = mk(IPPROTO_UDP, "10.0.0.30", 53, "10.0.0.31", 50000, 0, T0);
	p.payload = resp;
	p.payload_len = p.payload_wire_len = 2;
	f = flow_get(t, &p, &h);
	CHECK_SRC(f, "10.0.0.31", 50000);
	CHECK_EQ(f->init_rule, FLOW_INIT_PORT);
	flow_table_free(t);
}

static void test_port_below_1024_rule_and_first_packet_rule(void)
{
	struct flow_table *t = table(16);
	struct pkt p = mk(IPPROTO_UDP, "192.0.2.123", 123, "10.1.1.1", 40123, 0, T0);
	struct flow_hit h;
	struct flow *f = flow_get(t, &p, &h);

	CHECK_SRC(f, "10.1.1.1", 40123);
	CHECK_EQ(f->init_rule, FLOW_INIT_PORT);
	/* both below 1024: the first sender */
	p = mk(IPPROTO_UDP, "192.0.2.1", 500, "192.0.2.2", 123, 0, T0);
	f = flow_get(t, &p, &h);
	CHECK_SRC(f, "192.0.2.1", 500);
	CHECK_EQ(f->init_rule, FLOW_INIT_FIRST);
	/* both high: the first sender */
	p = mk(IPPROTO_UDP, "192.0.2.9", 50000, "192.0.2.8", 1024, 0, T0);
	f = flow_get(t, &p, &h);
	CHECK_SRC(f, "192.0.2.9", 50000);
	CHECK_EQ(f->init_rule, FLOW_INIT_FIRST);
	/* ICMP (no ports): the first sender */
	p = mk(IPPROTO_ICMP, "192.0.2.7", 0, "192.0.2.1", 0, 0, T0);
	f = flow_get(t, &p, &h);
	CHECK(is_addr(flow_src_addr(f), "192.0.2.7"));
	CHECK_EQ(f->init_rule, FLOW_INIT_FIRST);
	flow_table_free(t);
}

static void test_both_directions_meet_in_one_flow(void)
{
	struct flow_table *t = table(16);
	struct pkt p = mk(IPPROTO_TCP, "2001:db8::1", 40000, "2001:db8::2", 443, SYN, T0);
	struct flow_hit h;
	struct flow *f = flow_get(t, &p, &h), *g;

	p = mk(IPPROTO_TCP, "2001:db8::2", 443, "2001:db8::1", 40000, SYN | ACK, T0 + 1000);
	p.wire_len = 60;
	g = flow_get(t, &p, &h);
	CHECK(f == g);
	p = mk(IPPROTO_TCP, "2001:db8::1", 40000, "2001:db8::2", 443, ACK, T0 + 2000);
	g = flow_get(t, &p, &h);
	CHECK(f == g);
	CHECK_EQ(h.dir, FLOW_DIR_SRC);
	CHECK_EQ(flow_count(t), 1);
	CHECK_EQ(f->dir[FLOW_DIR_SRC].packets, 2);
	CHECK_EQ(f->dir[FLOW_DIR_SRC].bytes, 200);
	CHECK_EQ(f->dir[FLOW_DIR_DST].packets, 1);
	CHECK_EQ(f->dir[FLOW_DIR_DST].bytes, 60);
	CHECK_U64(f->dir[FLOW_DIR_DST].first_ns, T0 + 1000);
	CHECK_U64(f->dir[FLOW_DIR_SRC].last_ns, T0 + 2000);
	CHECK_U64(f->first_ns, T0);
	CHECK_U64(f->last_ns, T0 + 2000);
	/* near miss: another source port is another flow */
	p = mk(IPPROTO_TCP, "2001:db8::1", 40001, "2001:db8::2", 443, SYN, T0 + 3000);
	CHECK(flow_get(t, &p, &h) != f);
	CHECK_EQ(flow_count(t), 2);
	/* and the same ports over UDP too */
	p = mk(IPPROTO_UDP, "2001:db8::1", 40000, "2001:db8::2", 443, 0, T0 + 3000);
	flow_get(t, &p, &h);
	CHECK_EQ(flow_count(t), 3);
	flow_table_free(t);
}

/* Two packets of one flow at gap seconds (just below / just above its timeout). */
static unsigned flows_for_gap(uint8_t proto, uint64_t gap_ns)
{
	struct flow_table *t = table(16);
	struct pkt p = mk(proto, "10.0.0.1", 40000, "10.0.0.2", 8080, ACK, T0);
	struct flow_hit h;
	unsigned created = 0;

	flow_get(t, &p, &h);
	created += h.created;
	p.ts_ns = T0 + gap_ns;
	flow_get(t, &p, &h);
	created += h.created;
	flow_table_free(t);
	return created;
}

static void test_idle_timeout_per_transport_splits_flow(void)
{
	CHECK_EQ(flows_for_gap(IPPROTO_TCP, 300 * S), 1);
	CHECK_EQ(flows_for_gap(IPPROTO_TCP, 300 * S + 1), 2);
	CHECK_EQ(nended, 1);
	CHECK_EQ(ended[0].why, FLOW_END_IDLE);
	CHECK_EQ(flows_for_gap(IPPROTO_UDP, 120 * S), 1);
	CHECK_EQ(flows_for_gap(IPPROTO_UDP, 120 * S + 1), 2);
	CHECK_EQ(flows_for_gap(IPPROTO_UDP, 299 * S), 2);
	CHECK_EQ(flows_for_gap(47, 60 * S), 1);
	CHECK_EQ(flows_for_gap(47, 60 * S + 1), 2);
	CHECK_EQ(flows_for_gap(IPPROTO_ICMP, 61 * S), 2);
}

static void test_active_timeout_cuts_long_flow(void)
{
	struct flow_table *t = table(16);
	struct pkt p = mk(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 22, SYN, T0);
	struct flow_hit h;
	unsigned created = 0;

	/* a packet every 100 s, never idle: cut after 1800 s */
	for (uint64_t s = 0; s <= 1900; s += 100) {
		p.ts_ns = T0 + s * S;
		p.tcp_flags = s == 0 ? SYN : ACK;
		flow_get(t, &p, &h);
		created += h.created;
	}
	CHECK_EQ(created, 2);
	CHECK_EQ(nended, 1);
	CHECK_EQ(ended[0].why, FLOW_END_ACTIVE);
	CHECK_U64(ended[0].f.first_ns, T0);
	CHECK_U64(ended[0].f.last_ns, T0 + 1800 * S);
	CHECK_EQ(ended[0].f.dir[FLOW_DIR_SRC].packets, 19);
	/* the continuation keeps the initiator by the port rule */
	CHECK_SRC(&ended[0].f, "10.0.0.1", 40000);
	flow_table_free(t);
}

static void test_expire_ends_only_idle_flows(void)
{
	struct flow_table *t = table(16);
	struct pkt tcp = mk(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, SYN, T0);
	struct pkt udp = mk(IPPROTO_UDP, "10.0.0.1", 40000, "10.0.0.2", 53, 0, T0 + 10 * S);
	struct pkt icmp = mk(IPPROTO_ICMP, "10.0.0.1", 0, "10.0.0.2", 0, 0, T0 + 20 * S);
	struct flow_hit h;

	flow_get(t, &tcp, &h);
	flow_get(t, &udp, &h);
	flow_get(t, &icmp, &h);
	CHECK_EQ(flow_expire(t, T0 + 80 * S), 0); /* ICMP idle exactly 60 s: not yet */
	CHECK_EQ(flow_expire(t, T0 + 81 * S), 1); /* ICMP */
	CHECK_EQ(ended[0].f.proto, IPPROTO_ICMP);
	CHECK_EQ(flow_expire(t, T0 + 131 * S), 1); /* UDP: 121 s idle */
	CHECK_EQ(ended[1].f.proto, IPPROTO_UDP);
	CHECK_EQ(flow_expire(t, T0 + 300 * S), 0); /* TCP: 300 s is not more than 300 s */
	CHECK_EQ(flow_count(t), 1);
	CHECK_EQ(flow_expire(t, T0 + 301 * S), 1);
	CHECK_EQ(ended[2].why, FLOW_END_IDLE);
	CHECK_EQ(flow_count(t), 0);
	flow_table_free(t);
}

static void test_eviction_when_full_ends_least_recent_flow(void)
{
	struct flow_table *t = table(3);
	struct flow_hit h;
	struct pkt p;

	for (uint16_t i = 0; i < 3; i++) {
		p = mk(IPPROTO_UDP, "10.0.0.1", (uint16_t)(40000 + i), "10.0.0.2", 53, 0, T0 + i);
		flow_get(t, &p, &h);
	}
	/* touch the oldest so that the second becomes the least recently seen */
	p = mk(IPPROTO_UDP, "10.0.0.2", 53, "10.0.0.1", 40000, 0, T0 + 10);
	flow_get(t, &p, &h);
	CHECK(!h.created);
	CHECK_EQ(nended, 0);
	p = mk(IPPROTO_TCP, "10.0.0.3", 50000, "10.0.0.4", 443, SYN, T0 + 20);
	flow_get(t, &p, &h);
	CHECK(h.created);
	CHECK_EQ(flow_count(t), 3);
	CHECK_EQ(nended, 1);
	CHECK_EQ(ended[0].why, FLOW_END_EVICTED);
	CHECK_EQ(flow_src_port(&ended[0].f), 40001);
	CHECK_EQ(ended[0].f.dir[FLOW_DIR_SRC].packets, 1);
	/* the evicted flow's next packet starts a new flow (and evicts the next oldest) */
	p = mk(IPPROTO_UDP, "10.0.0.1", 40001, "10.0.0.2", 53, 0, T0 + 30);
	flow_get(t, &p, &h);
	CHECK(h.created);
	CHECK_EQ(nended, 2);
	CHECK_EQ(flow_src_port(&ended[1].f), 40002);
	/* everything still in the table ends at finish, least recent first */
	CHECK_EQ(flow_finish(t), 3);
	CHECK_EQ(nended, 5);
	CHECK_EQ(ended[2].why, FLOW_END_FINISH);
	CHECK_EQ(flow_src_port(&ended[2].f), 40000);
	CHECK_EQ(flow_src_port(&ended[3].f), 50000);
	CHECK_EQ(flow_src_port(&ended[4].f), 40001);
	flow_table_free(t);
}

static void test_syn_after_fin_or_rst_starts_new_flow(void)
{
	struct flow_table *t = table(16);
	struct flow_hit h;
	struct pkt p = mk(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, SYN, T0);

	flow_get(t, &p, &h);
	/* a retransmitted SYN on an open connection stays in it (near miss) */
	p.ts_ns = T0 + S;
	flow_get(t, &p, &h);
	CHECK(!h.created);
	p = mk(IPPROTO_TCP, "10.0.0.2", 80, "10.0.0.1", 40000, FIN | ACK, T0 + 2 * S);
	flow_get(t, &p, &h);
	p = mk(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, SYN, T0 + 3 * S);
	flow_get(t, &p, &h);
	CHECK(h.created);
	CHECK_EQ(nended, 1);
	CHECK_EQ(ended[0].why, FLOW_END_TCP_REUSE);
	CHECK_EQ(ended[0].f.dir[FLOW_DIR_SRC].packets, 2);
	CHECK_EQ(ended[0].f.dir[FLOW_DIR_DST].packets, 1);
	/* RST from either side too, and the new SYN may come from the other side */
	p = mk(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, RST, T0 + 4 * S);
	flow_get(t, &p, &h);
	CHECK(!h.created);
	p = mk(IPPROTO_TCP, "10.0.0.2", 80, "10.0.0.1", 40000, SYN, T0 + 5 * S);
	struct flow *f = flow_get(t, &p, &h);
	CHECK(h.created);
	CHECK_EQ(nended, 2);
	CHECK_SRC(f, "10.0.0.2", 80);
	/* a SYN-ACK after a FIN does not start a new flow */
	p = mk(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, FIN | ACK, T0 + 6 * S);
	flow_get(t, &p, &h);
	p = mk(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, SYN | ACK, T0 + 7 * S);
	flow_get(t, &p, &h);
	CHECK(!h.created);
	flow_table_free(t);
}

static void test_late_syn_from_responder_swaps_roles(void)
{
	struct flow_table *t = table(16);
	struct flow_hit h;
	/* first seen: an ACK from the low port; port rule makes 10.0.0.1:40000 initiator */
	struct pkt p = mk(IPPROTO_TCP, "10.0.0.2", 80, "10.0.0.1", 40000, ACK, T0);
	struct flow *f = flow_get(t, &p, &h);

	CHECK_SRC(f, "10.0.0.1", 40000);
	/* then a SYN from 10.0.0.2:80: it is the initiator after all */
	p = mk(IPPROTO_TCP, "10.0.0.2", 80, "10.0.0.1", 40000, SYN, T0 + 1);
	f = flow_get(t, &p, &h);
	CHECK(!h.created);
	CHECK(h.swapped);
	CHECK_EQ(h.dir, FLOW_DIR_SRC);
	CHECK_SRC(f, "10.0.0.2", 80);
	CHECK_EQ(f->init_rule, FLOW_INIT_SYN);
	CHECK_EQ(f->dir[FLOW_DIR_SRC].packets, 2); /* both packets were its */
	CHECK_EQ(f->dir[FLOW_DIR_DST].packets, 0);

	/* near miss: once the owner fixed the roles (something was written), no swap */
	p = mk(IPPROTO_TCP, "10.0.0.6", 443, "10.0.0.5", 40000, ACK, T0);
	f = flow_get(t, &p, &h);
	f->flags |= FLOW_F_ROLES_FIXED;
	p = mk(IPPROTO_TCP, "10.0.0.6", 443, "10.0.0.5", 40000, SYN, T0 + 1);
	f = flow_get(t, &p, &h);
	CHECK(!h.swapped);
	CHECK_SRC(f, "10.0.0.5", 40000);
	/* and a SYN from the initiator itself swaps nothing */
	p = mk(IPPROTO_TCP, "10.0.0.7", 40000, "10.0.0.8", 443, ACK, T0);
	flow_get(t, &p, &h);
	p = mk(IPPROTO_TCP, "10.0.0.7", 40000, "10.0.0.8", 443, SYN, T0 + 1);
	f = flow_get(t, &p, &h);
	CHECK(!h.swapped);
	CHECK_SRC(f, "10.0.0.7", 40000);
	flow_table_free(t);
}

static void test_tunnel_outer_addresses_kept_by_role(void)
{
	struct flow_table *t = table(16);
	struct flow_hit h;
	/* first packet is the server's answer (port rule: the receiver initiates) */
	struct pkt p = mk(IPPROTO_UDP, "10.9.0.1", 53, "10.9.0.2", 40000, 0, T0);
	struct flow *f;

	p.tunnel_depth = 1;
	p.outer_src = ip("192.0.2.100");
	p.outer_dst = ip("192.0.2.200");
	p.vlan = 42;
	f = flow_get(t, &p, &h);
	CHECK_SRC(f, "10.9.0.2", 40000);
	CHECK(is_addr(&f->outer[0], "192.0.2.200")); /* the initiator's side */
	CHECK(is_addr(&f->outer[1], "192.0.2.100"));
	CHECK_EQ(f->tunnel_depth, 1);
	CHECK_EQ(f->vlan, 42);
	/* later packets do not change them */
	p = mk(IPPROTO_UDP, "10.9.0.2", 40000, "10.9.0.1", 53, 0, T0 + 1);
	p.tunnel_depth = 1;
	p.outer_src = ip("192.0.2.111");
	p.outer_dst = ip("192.0.2.112");
	f = flow_get(t, &p, &h);
	CHECK(is_addr(&f->outer[0], "192.0.2.200"));
	flow_table_free(t);
}

static void test_hash_is_symmetric_and_table_survives_churn(void)
{
	struct flow_table *t = table(1000);
	struct flow_hit h;
	unsigned created = 0;

	srand(7);
	for (unsigned i = 0; i < 20000; i++) {
		char a[32], b[32];
		uint16_t sp = (uint16_t)(1024 + rand() % 200), dp = (uint16_t)(rand() % 3 + 1);
		struct pkt p, q;

		snprintf(a, sizeof(a), "10.0.%d.%d", rand() % 4, rand() % 10);
		snprintf(b, sizeof(b), "10.1.0.%d", rand() % 10);
		p = mk(IPPROTO_UDP, a, sp, b, dp, 0, T0 + i * 1000ull);
		q = mk(IPPROTO_UDP, b, dp, a, sp, 0, T0 + i * 1000ull);
		CHECK_U64(flow_hash_pkt(&p), flow_hash_pkt(&q));
		flow_get(t, &p, &h);
		created += h.created;
		flow_get(t, &q, &h);
		CHECK(!h.created);
		CHECK_EQ(h.dir, FLOW_DIR_DST);
	}
	/* every flow ended was created; the table holds the rest */
	CHECK_EQ(created, nended + flow_count(t));
	CHECK(flow_count(t) <= 1000);
	CHECK(nended > 0);
	flow_finish(t);
	CHECK_EQ(created, nended);
	CHECK_EQ(flow_count(t), 0);
	flow_table_free(t);
}

int main(void)
{
	RUN(test_syn_sender_is_initiator);
	RUN(test_synack_first_falls_to_port_rule);
	RUN(test_dns_qr_bit_decides_initiator);
	RUN(test_port_below_1024_rule_and_first_packet_rule);
	RUN(test_both_directions_meet_in_one_flow);
	RUN(test_idle_timeout_per_transport_splits_flow);
	RUN(test_active_timeout_cuts_long_flow);
	RUN(test_expire_ends_only_idle_flows);
	RUN(test_eviction_when_full_ends_least_recent_flow);
	RUN(test_syn_after_fin_or_rst_starts_new_flow);
	RUN(test_late_syn_from_responder_swaps_roles);
	RUN(test_tunnel_outer_addresses_kept_by_role);
	RUN(test_hash_is_symmetric_and_table_survives_churn);
	return check_summary();
}
