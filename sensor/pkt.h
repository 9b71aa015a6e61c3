/*
 * A decoded packet: what decode.c hands to the flow table and the name parsers. All pointers
 * borrow the capture buffer and stay valid only while that packet is being processed.
 */
#ifndef TIPOFF_SENSOR_PKT_H
#define TIPOFF_SENSOR_PKT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * An IP address. IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so that one 16-byte compare
 * serves both families; family says which one the packet carried.
 */
struct addr {
	uint8_t b[16];
};

enum { ADDR_V4 = 4, ADDR_V6 = 6 };

static inline bool addr_is_v4(const struct addr *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	for (int i = 0; i < 12; i++)
		if (a->b[i] != pfx[i])
			return false;
	return true;
}

/* Text form of a (RFC 5952 for IPv6, dotted quad for IPv4-mapped). buf needs 46 bytes. */
const char *addr_str(const struct addr *a, char *buf, unsigned buflen);

struct pkt {
	uint64_t ts_ns;      /* capture time, ns since the epoch */
	uint32_t wire_len;   /* frame length on the wire (pcap len) */
	uint32_t cap_len;    /* bytes captured */
	uint8_t family;      /* ADDR_V4 or ADDR_V6: the innermost IP header */
	uint8_t proto;       /* innermost transport: IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, other */
	uint8_t tcp_flags;   /* TCP flags byte (FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10) */
	uint8_t icmp_type;   /* ICMP/ICMPv6 type, for flow keys on ICMP */
	uint8_t icmp_code;
	uint8_t tunnel_depth; /* how many encapsulations were removed (0: plain) */
	uint16_t vlan;        /* outermost 802.1Q VLAN id, 0 when none */
	struct addr src, dst; /* innermost IP addresses */
	struct addr outer_src, outer_dst; /* outermost IP addresses when tunnel_depth > 0 */
	uint16_t sport, dport; /* TCP/UDP ports; 0 for others */
	uint32_t tcp_seq;      /* TCP sequence number (for segment reassembly of names) */
	const uint8_t *l3;     /* innermost IP header */
	uint32_t l3_len;       /* captured bytes from l3 to the end of the IP payload */
	const uint8_t *payload; /* transport payload (TCP/UDP data; ICMP after its header) */
	uint32_t payload_len;   /* captured payload bytes, clipped to the IP length */
	uint32_t payload_wire_len; /* payload bytes the IP header announces (>= payload_len) */
};

#endif
