/*
 * Packet decoding: link layer (Ethernet, Linux SLL/SLL2, raw IP, BSD loopback/null), 802.1Q
 * and QinQ, MPLS, PPPoE, IPv4, IPv6 with extension headers, TCP, UDP, ICMP/ICMPv6, and the
 * tunnels GRE (incl. ERSPAN), VXLAN, GENEVE, GTP-U, IP-in-IP and Teredo, unwrapped so that the
 * innermost IP packet is what forms the flow. Malformations are counted by name, never fatal.
 */
#ifndef TIPOFF_SENSOR_DECODE_H
#define TIPOFF_SENSOR_DECODE_H

#include <stdint.h>

#include "sensor/pkt.h"

/*
 * Named counters: one per outcome that is not a clean decode. X(name) expands once per
 * counter; the name appears in the stats JSON under "decode".
 */
#define DECODE_COUNTERS(X)                                                                     \
	X(not_ip)              /* ARP, STP, LLDP, ... : counted, not an error */                 \
	X(unsupported_link)    /* a link type we do not decode */                                \
	X(truncated_link)      /* link/VLAN/MPLS/PPPoE header cut short */                       \
	X(truncated_ip)        /* IPv4/IPv6 header cut short */                                  \
	X(bad_ip_version)                                                                      \
	X(bad_ip_header)       /* IHL < 5, total length < header, ... */                         \
	X(bad_ipv6_ext)        /* extension header chain malformed or too long */                \
	X(truncated_l4)        /* TCP/UDP/ICMP header cut short */                               \
	X(bad_tcp_header)      /* data offset < 5 ... */                                         \
	X(fragment)            /* non-first IP fragment: counted, not a flow packet */           \
	X(icmp_error)          /* ICMP error messages: not flows */                              \
	X(bad_tunnel)          /* tunnel header malformed */                                     \
	X(tunnel_too_deep)     /* more nested encapsulations than we follow */                   \
	X(other_transport)     /* IP packet with a transport we do not key by ports */

enum decode_counter {
#define DECODE_ENUM_(n) DECODE_##n,
	DECODE_COUNTERS(DECODE_ENUM_)
#undef DECODE_ENUM_
	DECODE_NCOUNTERS
};

/* Counter names in enum order, for stats output. */
extern const char *const decode_counter_names[DECODE_NCOUNTERS];

struct decode_stats {
	uint64_t n[DECODE_NCOUNTERS]; /* owned by one worker; summed when read */
};

enum decode_result {
	DECODE_OK = 0,        /* out is a flow packet (TCP, UDP, ICMP non-error, or other IP proto) */
	DECODE_SKIP = 1,      /* valid but not a flow packet (not IP, later fragment, ICMP error) */
	DECODE_ERROR = 2,     /* malformed; the reason was counted */
};

/*
 * Decode one captured frame of the given DLT_* link type into out. data/cap_len are the
 * captured bytes, wire_len the original length, ts_ns the capture time. Counts every non-OK
 * outcome in st by reason. Never allocates; out's pointers borrow data.
 * other_transport packets return DECODE_OK with ports 0 so that they still form flows.
 */
enum decode_result decode_packet(int dlt, const uint8_t *data, uint32_t cap_len,
				 uint32_t wire_len, uint64_t ts_ns, struct pkt *out,
				 struct decode_stats *st);

/* True when dlt is a link type decode_packet understands. */
_Bool decode_supports_dlt(int dlt);

#endif
