/*
 * Packet decoder: the first step after capture. Turns one captured frame into a struct pkt
 * (addresses, ports, flags, payload) for the flow table and the name parsers, removing link
 * layers, VLAN/MPLS/PPPoE and tunnels (GRE incl. ERSPAN and PPTP, VXLAN, GENEVE, GTP-U,
 * IP-in-IP, Teredo, MPLS-in-UDP, EtherIP) on the way, and counting every frame it cannot use
 * by reason.
 *
 * Design note. Every header is read through a struct cursor (cursor.h); nothing indexes into
 * packet bytes directly. Layers are decoded by small functions that return a step:
 *
 *   STEP_OK, STEP_SKIP, STEP_ERROR  final; anything not OK was counted where it was found.
 *   STEP_FALLBACK*                   only from the content of a tunnel, before its inner IP
 *                                    header was accepted: the tunnel is not taken and the
 *                                    enclosing IP packet is the flow packet.
 *
 * An IP header writes into struct pkt only once it has been checked ("commit"); from then on
 * the outcome is final, so an inner packet never has to be undone and a tunnel whose content
 * does not parse leaves the enclosing packet's fields intact. Tunnels nest by recursion,
 * bounded by DECODE_MAX_TUNNELS. The per-packet path allocates nothing and clears only the
 * fields it sets.
 *
 * Counting: every DECODE_SKIP/DECODE_ERROR moves exactly one counter. A DECODE_OK moves at
 * most one: other_transport (no ports), or, when a tunnel was not taken and the enclosing
 * packet became the flow packet, bad_tunnel (a protocol-numbered tunnel, or a port-found one
 * whose header matched, was malformed) or tunnel_too_deep. Content that merely is not what
 * a UDP port suggested (no VXLAN I flag, ARP inside, GTP signalling) moves nothing.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sensor/cursor.h"
#include "sensor/decode.h"

#define DECODE_NAME_(n) #n,
const char *const decode_counter_names[DECODE_NCOUNTERS] = { DECODE_COUNTERS(DECODE_NAME_) };
#undef DECODE_NAME_

/* Link types as pcap_datalink() returns them on Linux (LINKTYPE_RAW 101 becomes 12). */
enum {
	DLT_NULL_ = 0,
	DLT_EN10MB_ = 1,
	DLT_PPP_ = 9,
	DLT_RAW_ = 12,
	DLT_RAW_BSD_ = 14, /* DLT_RAW on OpenBSD */
	DLT_PPP_SERIAL_ = 50,
	DLT_PPP_ETHER_ = 51,
	DLT_LINKTYPE_RAW_ = 101,
	DLT_C_HDLC_ = 104,
	DLT_LOOP_ = 108,
	DLT_LINUX_SLL_ = 113,
	DLT_PPI_ = 192,
	DLT_NFLOG_ = 239,
	DLT_IPV4_ = 228,
	DLT_IPV6_ = 229,
	DLT_LINUX_SLL2_ = 276,
};

enum {
	ETH_IPV4 = 0x0800,
	ETH_IPV6 = 0x86dd,
	ETH_VLAN = 0x8100,
	ETH_QINQ = 0x88a8,
	ETH_QINQ_OLD = 0x9100,
	ETH_MPLS_UC = 0x8847,
	ETH_MPLS_MC = 0x8848,
	ETH_PPPOE_SESSION = 0x8864,
	ETH_TEB = 0x6558,      /* transparent Ethernet bridging (GRE, GENEVE) */
	ETH_ERSPAN_2 = 0x88be, /* GRE protocol type of ERSPAN types I and II */
	ETH_ERSPAN_3 = 0x22eb,
	ETH_PPP = 0x880b,        /* GRE v1 (PPTP) */
	ETH_CISCO_MD = 0x8909,   /* Cisco MetaData (SGT) shim in GRE */
	ETH_FABRICPATH = 0x8903, /* Cisco FabricPath: 2 bytes, then the classic frame */
};

enum {
	PPP_IPV4 = 0x0021,
	PPP_IPV6 = 0x0057,
	PPP_MPLS_UC = 0x0281,
	PPP_MPLS_MC = 0x0283,
};

/* IP protocol numbers of Ethernet-in-IP tunnels. */
enum {
	IPPROTO_ETHERIP_ = 97,   /* RFC 3378: a 2-byte header, then the frame */
	IPPROTO_ETHERNET_ = 143, /* RFC 8986 (SRv6 L2 services): the frame itself */
};

enum {
	UDP_VXLAN = 4789,
	UDP_VXLAN_LINUX = 8472,
	UDP_GENEVE = 6081,
	UDP_GTP_U = 2152,
	UDP_TEREDO = 3544,
	UDP_MPLS = 6635, /* RFC 7510 */
};

/* IPv6 next-header values handled as extension headers (RFC 8200 4, RFC 7045). */
enum {
	IP6_HOPOPTS = 0,
	IP6_ROUTING = 43,
	IP6_FRAGMENT = 44,
	IP6_AH = 51,
	IP6_DSTOPTS = 60,
	IP6_MOBILITY = 135,
	IP6_HIP = 139,
	IP6_SHIM6 = 140,
	IP6_NONE = 59, /* no next header */
};

enum {
	DECODE_MAX_TUNNELS = 4,   /* nested encapsulations followed */
	DECODE_MAX_EXT_HDRS = 16, /* IPv6 extension headers (and IPv4 AH) per packet */
	DECODE_MAX_GTP_EXT = 16,  /* GTP-U extension headers */
	DECODE_MAX_GRE_SRE = 16,  /* GRE (RFC 1701) source route entries */
};

enum step {
	STEP_OK,
	STEP_SKIP,
	STEP_ERROR,
	STEP_FALLBACK,         /* tunnel content not taken; nothing counted */
	STEP_FALLBACK_BAD,     /* as above, and it looked broken: the tunnel may count it */
	STEP_FALLBACK_COUNTED, /* as above, already counted (bad_tunnel, tunnel_too_deep) */
};

/*
 * Tunnel kinds for decode_tunnel_result(): a protocol number (GRE, IP-in-IP) names its content for
 * sure, so broken content is a malformed tunnel; a UDP port is only a guess.
 */
enum tunnel_certainty {
	TUNNEL_GUESSED,
	TUNNEL_CERTAIN,
};

struct decoder {
	struct pkt *out;
	struct decode_stats *st;
	bool vlan_seen; /* the outermost VLAN tag is recorded; later ones are not */
};

static void decode_count(struct decoder *d, enum decode_counter what)
{
	d->st->n[what]++;
}

/* A counted outcome: count it and return the step. */
static enum step decode_fail(struct decoder *d, enum decode_counter what, enum step s)
{
	decode_count(d, what);
	return s;
}

static enum step decode_ip(struct decoder *d, struct cursor *c, unsigned version, unsigned depth);
static enum step decode_link(struct decoder *d, struct cursor *c, int dlt, bool outer);
static enum step decode_ether(struct decoder *d, struct cursor *c, unsigned depth);
static enum step decode_mpls(struct decoder *d, struct cursor *c, unsigned depth);
static enum step decode_ethertype(struct decoder *d, struct cursor *c, uint16_t type,
                                  unsigned depth);

/*
 * A problem in link-level bytes: at the capture's own link layer it is counted; inside a
 * tunnel it only means the tunnel is not taken.
 */
static enum step decode_link_fail(struct decoder *d, unsigned depth, enum decode_counter what)
{
	if (depth > 0)
		return what == DECODE_not_ip ? STEP_FALLBACK : STEP_FALLBACK_BAD;
	decode_count(d, what);
	return what == DECODE_not_ip ? STEP_SKIP : STEP_ERROR;
}

/* Map what the content of a tunnel gave to what the tunnel returns. */
static enum step decode_tunnel_result(struct decoder *d, enum step s,
                                      enum tunnel_certainty certainty)
{
	if (s == STEP_FALLBACK_BAD) {
		if (certainty == TUNNEL_GUESSED)
			return STEP_FALLBACK;
		decode_count(d, DECODE_bad_tunnel);
		return STEP_FALLBACK_COUNTED;
	}
	return s;
}

/* A tunnel header was recognised; may its content be followed one level deeper? */
static bool decode_tunnel_may_enter(struct decoder *d, unsigned depth)
{
	if (depth >= DECODE_MAX_TUNNELS) {
		decode_count(d, DECODE_tunnel_too_deep);
		return false;
	}
	return true;
}

/* A new cursor over what is left of c; c itself is not moved. */
static void decode_sub(struct cursor *sub, const struct cursor *c)
{
	cursor_init(sub, cursor_ptr(c), cursor_left(c));
}

/* Limit c to n more bytes (no-op when fewer are left). */
static void decode_clip(struct cursor *c, size_t n)
{
	if (n < cursor_left(c))
		c->len = c->pos + n;
}

/* High nibble of the next byte, without consuming it; 0xff when there is none. */
static unsigned decode_peek_nibble(const struct cursor *c)
{
	struct cursor p = *c;
	uint8_t b = cursor_u8(&p);

	return p.err ? 0xff : (unsigned)b >> 4;
}

/* Is the next 16-bit word v? Nothing is consumed. */
static bool decode_peek_is_u16(const struct cursor *c, uint16_t v)
{
	struct cursor p = *c;
	uint16_t w = cursor_u16(&p);

	return !p.err && w == v;
}

/* ---- link layer ---------------------------------------------------------------------- */

/* IEEE 802.3 / Ethernet II frame; inner frames of tunnels come here too. */
static enum step decode_ether(struct decoder *d, struct cursor *c, unsigned depth)
{
	uint16_t type;

	cursor_skip(c, 12);
	type = cursor_u16(c);
	if (c->err)
		return decode_link_fail(d, depth, DECODE_truncated_link);
	if (type < 0x0600) {
		/* 802.3 length field: only LLC/SNAP with a zero OUI carries an ethertype. */
		uint32_t llc = cursor_u24(c);
		uint32_t oui = cursor_u24(c);

		type = cursor_u16(c);
		if (c->err || llc != 0xaaaa03 || oui != 0)
			return decode_link_fail(d, depth, DECODE_not_ip);
	}
	return decode_ethertype(d, c, type, depth);
}

/*
 * PPP protocol field (RFC 1661 2; may be compressed to one byte, RFC 1661 6.5) after an
 * optional HDLC address/control pair ff 03 (RFC 1662 3.1).
 */
static enum step decode_ppp(struct decoder *d, struct cursor *c, unsigned depth)
{
	uint16_t proto;

	if (decode_peek_is_u16(c, 0xff03))
		cursor_skip(c, 2);
	proto = cursor_u8(c);
	if (!(proto & 1))
		proto = (uint16_t)(proto << 8 | cursor_u8(c));
	if (c->err)
		return decode_link_fail(d, depth, DECODE_truncated_link);
	switch (proto) {
	case PPP_IPV4:
		return decode_ip(d, c, 4, depth);
	case PPP_IPV6:
		return decode_ip(d, c, 6, depth);
	case PPP_MPLS_UC:
	case PPP_MPLS_MC:
		return decode_mpls(d, c, depth);
	default:
		return decode_link_fail(d, depth, DECODE_not_ip);
	}
}

/* RFC 3032 label stack, then the payload guessed from its first nibble (RFC 4928). */
static enum step decode_mpls(struct decoder *d, struct cursor *c, unsigned depth)
{
	uint32_t label;

	do {
		label = cursor_u32(c);
	} while (!c->err && !(label & 0x100));
	if (c->err)
		return decode_link_fail(d, depth, DECODE_truncated_link);
	switch (decode_peek_nibble(c)) {
	case 4:
		return decode_ip(d, c, 4, depth);
	case 6:
		return decode_ip(d, c, 6, depth);
	case 0:
		/* RFC 4385 pseudowire control word, then an Ethernet frame (RFC 4448). */
		cursor_skip(c, 4);
		if (c->err)
			return decode_link_fail(d, depth, DECODE_truncated_link);
		return decode_ether(d, c, depth);
	case 0xff:
		return decode_link_fail(d, depth, DECODE_truncated_link);
	default:
		return decode_link_fail(d, depth, DECODE_not_ip);
	}
}

/* PPPoE session stage, RFC 2516 4: ver/type 0x11, code 0, session id, length, PPP. */
static enum step decode_pppoe(struct decoder *d, struct cursor *c, unsigned depth)
{
	uint8_t ver_type = cursor_u8(c);
	uint8_t code = cursor_u8(c);

	cursor_skip(c, 4);
	if (c->err)
		return decode_link_fail(d, depth, DECODE_truncated_link);
	if (ver_type != 0x11 || code != 0)
		return decode_link_fail(d, depth, DECODE_not_ip);
	return decode_ppp(d, c, depth);
}

/* The content of a frame whose ethertype is type: VLAN tags, MPLS, PPPoE, IP. */
static enum step decode_ethertype(struct decoder *d, struct cursor *c, uint16_t type,
                                  unsigned depth)
{
	for (;;) {
		switch (type) {
		case ETH_IPV4:
			return decode_ip(d, c, 4, depth);
		case ETH_IPV6:
			return decode_ip(d, c, 6, depth);
		case ETH_VLAN:
		case ETH_QINQ:
		case ETH_QINQ_OLD: {
			/* 802.1Q tag; the loop is bounded by the frame, 4 bytes per tag. */
			uint16_t tci = cursor_u16(c);

			type = cursor_u16(c);
			if (c->err)
				return decode_link_fail(d, depth, DECODE_truncated_link);
			if (depth == 0 && !d->vlan_seen) {
				d->out->vlan = tci & 0x0fff;
				d->vlan_seen = true;
			}
			break;
		}
		case ETH_MPLS_UC:
		case ETH_MPLS_MC:
			return decode_mpls(d, c, depth);
		case ETH_PPPOE_SESSION:
			return decode_pppoe(d, c, depth);
		case ETH_FABRICPATH:
			cursor_skip(c, 2); /* forwarding tag, TTL */
			return decode_ether(d, c, depth);
		default:
			return decode_link_fail(d, depth, DECODE_not_ip);
		}
	}
}

/*
 * BSD loopback: a 4-byte address family in the capturing host's (DLT_NULL) or network
 * (DLT_LOOP) byte order. Both orders are accepted: families are small numbers.
 */
static enum step decode_null(struct decoder *d, struct cursor *c)
{
	uint32_t af = cursor_u32le(c);

	if (c->err)
		return decode_link_fail(d, 0, DECODE_truncated_link);
	if (af > 0xffff)
		af = (af >> 24) | (af >> 8 & 0xff00) | (af << 8 & 0xff0000) | (af << 24);
	switch (af) {
	case 2: /* AF_INET everywhere */
		return decode_ip(d, c, 4, 0);
	case 10: /* AF_INET6: Linux */
	case 24: /* NetBSD, OpenBSD, BSD/OS */
	case 28: /* FreeBSD, DragonFly */
	case 30: /* Darwin */
		return decode_ip(d, c, 6, 0);
	default:
		return decode_link_fail(d, 0, DECODE_not_ip);
	}
}

/* Cisco HDLC: address, control, then an ethertype. */
static enum step decode_chdlc(struct decoder *d, struct cursor *c)
{
	uint16_t proto;

	cursor_skip(c, 2);
	proto = cursor_u16(c);
	if (c->err)
		return decode_link_fail(d, 0, DECODE_truncated_link);
	return decode_ethertype(d, c, proto, 0);
}

/* Raw IP: the version nibble says which. */
static enum step decode_raw(struct decoder *d, struct cursor *c)
{
	switch (decode_peek_nibble(c)) {
	case 4:
		return decode_ip(d, c, 4, 0);
	case 6:
		return decode_ip(d, c, 6, 0);
	case 0xff:
		return decode_fail(d, DECODE_truncated_ip, STEP_ERROR);
	default:
		return decode_fail(d, DECODE_bad_ip_version, STEP_ERROR);
	}
}

/* ---- tunnels ------------------------------------------------------------------------- */

/* The IP packet inside a tunnel, typed (version 4 or 6) or guessed from its nibble (0). */
static enum step decode_tunnel_ip(struct decoder *d, struct cursor *c, unsigned version,
                                  unsigned depth)
{
	if (version == 0) {
		version = decode_peek_nibble(c);
		if (version != 4 && version != 6)
			return version == 0xff ? STEP_FALLBACK_BAD : STEP_FALLBACK;
	}
	return decode_ip(d, c, version, depth);
}

/*
 * GRE, RFC 2784/2890 (version 0, with RFC 1701 routing) and RFC 2637 (version 1, PPTP), with
 * ERSPAN types I, II and III and Cisco's MetaData shim inside. c covers the GRE header and
 * its payload; depth is the depth of the enclosing IP packet.
 */
static enum step decode_gre(struct decoder *d, struct cursor *c, unsigned depth)
{
	uint16_t flags = cursor_u16(c);
	uint16_t proto = cursor_u16(c);
	enum step s;

	if (c->err)
		return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
	switch (flags & 0x0007) {
	case 0:
		if (flags & 0xc000) /* checksum and offset */
			cursor_skip(c, 4);
		if (flags & 0x2000) /* key */
			cursor_skip(c, 4);
		if (flags & 0x1000) /* sequence number */
			cursor_skip(c, 4);
		if (flags & 0x4000) {
			/* RFC 1701 source route entries, up to a NULL one. */
			unsigned n = 0;

			for (;;) {
				uint16_t af = cursor_u16(c);
				uint8_t len;

				cursor_skip(c, 1);
				len = cursor_u8(c);
				if (c->err || (af == 0 && len == 0))
					break;
				cursor_skip(c, len);
				if (++n > DECODE_MAX_GRE_SRE)
					return decode_fail(d, DECODE_bad_tunnel,
					                   STEP_FALLBACK_COUNTED);
			}
		}
		break;
	case 1:
		/* Enhanced GRE: key present (payload length, call id), no checksum/routing. */
		if ((flags & 0xe000) != 0x2000 || proto != ETH_PPP)
			return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
		cursor_skip(c, 4);
		if (flags & 0x1000)
			cursor_skip(c, 4);
		if (flags & 0x0080) /* acknowledgment number */
			cursor_skip(c, 4);
		if (!c->err && cursor_left(c) == 0)
			return STEP_FALLBACK; /* an acknowledgment without payload */
		break;
	default:
		return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
	}
	if (c->err)
		return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);

	if (proto == ETH_CISCO_MD) {
		/* In GRE the 8-byte shim starts with the ethertype of what follows, then
		 * version, length, option type and SGT (as seen in captures and Wireshark). */
		proto = cursor_u16(c);
		cursor_skip(c, 6);
		if (c->err)
			return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
	}

	switch (proto) {
	case ETH_IPV4:
	case ETH_IPV6:
	case ETH_TEB:
	case ETH_MPLS_UC:
	case ETH_MPLS_MC:
	case ETH_ERSPAN_2:
	case ETH_ERSPAN_3:
	case ETH_PPP:
		break;
	default:
		return STEP_FALLBACK; /* keepalives, CDP, ...: the GRE packet is the flow */
	}
	if (!decode_tunnel_may_enter(d, depth))
		return STEP_FALLBACK_COUNTED;
	depth++;

	switch (proto) {
	case ETH_TEB:
		s = decode_ether(d, c, depth);
		break;
	case ETH_ERSPAN_2:
		/* Type II has an 8-byte header (version 1) and sets the GRE S bit; type I has
		 * neither. */
		if (flags & 0x1000) {
			unsigned ver = decode_peek_nibble(c);

			cursor_skip(c, 8);
			if (c->err || ver != 1)
				return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
		}
		s = decode_ether(d, c, depth);
		break;
	case ETH_ERSPAN_3: {
		/* 12-byte header (version 2); O bit: 8-byte platform subheader; FT: frame type */
		unsigned ver = decode_peek_nibble(c);
		uint16_t w;

		cursor_skip(c, 10);
		w = cursor_u16(c);
		if (w & 0x0001)
			cursor_skip(c, 8);
		if (c->err || ver != 2)
			return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
		switch (w >> 10 & 0x1f) {
		case 0:
			s = decode_ether(d, c, depth);
			break;
		case 2:
			s = decode_tunnel_ip(d, c, 0, depth);
			break;
		default:
			return STEP_FALLBACK;
		}
		break;
	}
	case ETH_PPP:
		s = decode_ppp(d, c, depth);
		break;
	default:
		s = decode_ethertype(d, c, proto, depth);
		break;
	}
	return decode_tunnel_result(d, s, TUNNEL_CERTAIN);
}

/* VXLAN, RFC 7348 5: flags with the I bit, VNI, then an Ethernet frame. */
static enum step decode_vxlan(struct decoder *d, struct cursor *c, unsigned depth)
{
	uint8_t flags = cursor_u8(c);

	cursor_skip(c, 7);
	if (c->err || !(flags & 0x08))
		return STEP_FALLBACK;
	if (!decode_tunnel_may_enter(d, depth))
		return STEP_FALLBACK_COUNTED;
	return decode_tunnel_result(d, decode_ether(d, c, depth + 1), TUNNEL_GUESSED);
}

/* GENEVE, RFC 8926 3.4: version 0, options, protocol type. */
static enum step decode_geneve(struct decoder *d, struct cursor *c, unsigned depth)
{
	uint8_t b0 = cursor_u8(c);
	uint16_t type;
	enum step s;

	cursor_skip(c, 1);
	type = cursor_u16(c);
	cursor_skip(c, 4);
	if (c->err || (b0 >> 6) != 0)
		return STEP_FALLBACK;
	cursor_skip(c, (size_t)(b0 & 0x3f) * 4);
	if (c->err)
		return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
	if (type != ETH_TEB && type != ETH_IPV4 && type != ETH_IPV6)
		return STEP_FALLBACK;
	if (!decode_tunnel_may_enter(d, depth))
		return STEP_FALLBACK_COUNTED;
	if (type == ETH_TEB)
		s = decode_ether(d, c, depth + 1);
	else
		s = decode_ethertype(d, c, type, depth + 1);
	return decode_tunnel_result(d, s, TUNNEL_GUESSED);
}

/*
 * GTP-U, 3GPP TS 29.281 5: GTPv1 (PT 1), T-PDU messages only, optional sequence/N-PDU/next
 * extension type, then the extension header chain; the user packet is IPv4 or IPv6.
 */
static enum step decode_gtpu(struct decoder *d, struct cursor *c, unsigned depth)
{
	uint8_t flags = cursor_u8(c);
	uint8_t type = cursor_u8(c);
	uint16_t len = cursor_u16(c);
	size_t body;

	cursor_skip(c, 4); /* TEID */
	if (c->err || (flags & 0xf0) != 0x30 || type != 0xff)
		return STEP_FALLBACK; /* not GTPv1-U, or signalling (echo, end marker, ...) */
	body = cursor_left(c);
	if (flags & 0x07) {
		uint8_t next;
		unsigned n = 0;

		cursor_skip(c, 3);
		next = cursor_u8(c);
		if (!(flags & 0x04))
			next = 0; /* only meaningful with the E flag */
		while (next != 0 && !c->err) {
			uint8_t units = cursor_u8(c);

			if (units == 0 || ++n > DECODE_MAX_GTP_EXT)
				return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
			cursor_skip(c, (size_t)units * 4 - 2);
			next = cursor_u8(c);
		}
		if (c->err)
			return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
	}
	/* The length counts everything after the first 8 bytes; more is padding. */
	if (len < body - cursor_left(c))
		return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
	decode_clip(c, len - (body - cursor_left(c)));
	if (cursor_left(c) == 0)
		return STEP_FALLBACK;
	if (!decode_tunnel_may_enter(d, depth))
		return STEP_FALLBACK_COUNTED;
	return decode_tunnel_result(d, decode_tunnel_ip(d, c, 0, depth + 1), TUNNEL_GUESSED);
}

/*
 * Teredo, RFC 4380 5.1.1: optional authentication and origin indication headers, then an
 * IPv6 packet whose version is 6 and whose payload length fits in the UDP payload (wire_len,
 * which may be more than was captured).
 */
static enum step decode_teredo(struct decoder *d, struct cursor *c, uint32_t wire_len,
                               unsigned depth)
{
	size_t start = c->pos;
	struct cursor peek;
	uint16_t ind;
	uint16_t plen;

	if (decode_peek_is_u16(c, 0x0001)) {
		uint8_t id_len, au_len;

		cursor_skip(c, 2);
		id_len = cursor_u8(c);
		au_len = cursor_u8(c);
		cursor_skip(c, (size_t)id_len + au_len + 8 + 1); /* nonce, confirmation */
	}
	if (decode_peek_is_u16(c, 0x0000))
		cursor_skip(c, 8); /* origin indication: port and address */
	decode_sub(&peek, c);
	ind = cursor_u16(&peek);
	cursor_skip(&peek, 2);
	plen = cursor_u16(&peek);
	if (c->err || peek.err || (ind >> 12) != 6 || cursor_left(c) < 40 ||
	    (uint64_t)(c->pos - start) + 40 + plen > wire_len)
		return STEP_FALLBACK;
	if (!decode_tunnel_may_enter(d, depth))
		return STEP_FALLBACK_COUNTED;
	return decode_tunnel_result(d, decode_ip(d, c, 6, depth + 1), TUNNEL_GUESSED);
}

/* An Ethernet frame carried by IP: EtherIP (version 3 header) or protocol 143 (bare). */
static enum step decode_etherip(struct decoder *d, struct cursor *c, bool etherip, unsigned depth)
{
	if (etherip) {
		uint16_t hdr = cursor_u16(c);

		if (c->err || hdr != 0x3000)
			return decode_fail(d, DECODE_bad_tunnel, STEP_FALLBACK_COUNTED);
	}
	if (!decode_tunnel_may_enter(d, depth))
		return STEP_FALLBACK_COUNTED;
	return decode_tunnel_result(d, decode_ether(d, c, depth + 1), TUNNEL_CERTAIN);
}

/* MPLS in UDP, RFC 7510: a label stack right after the UDP header. */
static enum step decode_mpls_udp(struct decoder *d, struct cursor *c, unsigned depth)
{
	if (!decode_tunnel_may_enter(d, depth))
		return STEP_FALLBACK_COUNTED;
	return decode_tunnel_result(d, decode_mpls(d, c, depth + 1), TUNNEL_GUESSED);
}

/* ---- transport ----------------------------------------------------------------------- */

static bool decode_icmp4_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static bool decode_icmp6_is_error(uint8_t type)
{
	return (type >= 1 && type <= 4) || type == 137;
}

/*
 * UDP (RFC 768) and the tunnels found by port. l4_wire is what the IP header announces from
 * the UDP header on; c covers the captured part of it.
 */
static enum step decode_udp(struct decoder *d, struct cursor *c, uint32_t l4_wire, unsigned depth)
{
	struct pkt *out = d->out;
	uint16_t sport = cursor_u16(c);
	uint16_t dport = cursor_u16(c);
	uint16_t ulen = cursor_u16(c);
	uint32_t wire;
	struct cursor t;
	enum step s;

	cursor_skip(c, 2);
	if (c->err)
		return decode_fail(d, DECODE_truncated_l4, STEP_ERROR);
	/* The UDP length clips the IP payload when it is consistent; 0 (jumbograms, GSO) or a
	 * wrong value leaves the IP length in charge. */
	wire = l4_wire - 8;
	if (ulen >= 8 && ulen <= l4_wire) {
		wire = ulen - 8u;
		decode_clip(c, wire);
	}
	out->sport = sport;
	out->dport = dport;
	out->payload = cursor_ptr(c);
	out->payload_len = (uint32_t)cursor_left(c);
	out->payload_wire_len = wire;

	decode_sub(&t, c);
	if (dport == UDP_VXLAN || dport == UDP_VXLAN_LINUX)
		s = decode_vxlan(d, &t, depth);
	else if (dport == UDP_GENEVE)
		s = decode_geneve(d, &t, depth);
	else if (dport == UDP_GTP_U || sport == UDP_GTP_U)
		s = decode_gtpu(d, &t, depth);
	else if (dport == UDP_TEREDO || sport == UDP_TEREDO)
		s = decode_teredo(d, &t, wire, depth);
	else if (dport == UDP_MPLS)
		s = decode_mpls_udp(d, &t, depth);
	else
		return STEP_OK;
	return s >= STEP_FALLBACK ? STEP_OK : s;
}

/* TCP, RFC 9293 3.1. Options cut off by the capture leave an empty payload, not an error. */
static enum step decode_tcp(struct decoder *d, struct cursor *c, uint32_t l4_wire)
{
	struct pkt *out = d->out;
	uint16_t sport = cursor_u16(c);
	uint16_t dport = cursor_u16(c);
	uint32_t seq = cursor_u32(c);
	uint8_t off, flags;
	uint32_t hlen;

	cursor_skip(c, 4); /* acknowledgment number */
	off = cursor_u8(c);
	flags = cursor_u8(c);
	cursor_skip(c, 6); /* window, checksum, urgent pointer */
	if (c->err)
		return decode_fail(d, DECODE_truncated_l4, STEP_ERROR);
	hlen = (uint32_t)(off >> 4) * 4;
	if (hlen < 20 || hlen > l4_wire)
		return decode_fail(d, DECODE_bad_tcp_header, STEP_ERROR);
	if (cursor_left(c) >= hlen - 20)
		cursor_skip(c, hlen - 20);
	else
		cursor_seek(c, c->len);
	out->sport = sport;
	out->dport = dport;
	out->tcp_seq = seq;
	out->tcp_flags = flags;
	out->payload = cursor_ptr(c);
	out->payload_len = (uint32_t)cursor_left(c);
	out->payload_wire_len = l4_wire - hlen;
	return STEP_OK;
}

/*
 * The request type of an ICMP request/reply pair (echo, timestamp, information, address mask,
 * router solicitation/advertisement; ICMPv6 echo, MLD query/report, router and neighbour
 * discovery, node information, home agent discovery, mobile prefix), else the type itself.
 */
static uint8_t decode_icmp_request_type(uint8_t type, bool v6)
{
	if (!v6) {
		switch (type) {
		case 0:
			return 8;
		case 14:
		case 16:
		case 18:
			return (uint8_t)(type - 1);
		case 9:
			return 10;
		default:
			return type;
		}
	}
	switch (type) {
	case 129:
		return 128;
	case 131:
		return 130;
	case 134:
	case 136:
	case 140:
	case 145:
	case 147:
		return (uint8_t)(type - 1);
	default:
		return type;
	}
}

/* ICMP (RFC 792) and ICMPv6 (RFC 4443): type and code stand in for the ports. */
static enum step decode_icmp(struct decoder *d, struct cursor *c, uint32_t l4_wire, bool v6)
{
	struct pkt *out = d->out;
	uint8_t type = cursor_u8(c);
	uint8_t code = cursor_u8(c);

	cursor_skip(c, 6); /* checksum, rest of header */
	if (c->err)
		return decode_fail(d, DECODE_truncated_l4, STEP_ERROR);
	if (v6 ? decode_icmp6_is_error(type) : decode_icmp4_is_error(type))
		return decode_fail(d, DECODE_icmp_error, STEP_SKIP);
	out->icmp_type = type;
	out->icmp_code = code;
	/*
	 * The "ports" of an ICMP packet are its request type on both ends, so that a request and
	 * its reply (and both directions of other exchanges) meet in one flow; the real type and
	 * code stay in icmp_type/icmp_code.
	 */
	out->sport = decode_icmp_request_type(type, v6);
	out->dport = out->sport;
	out->payload = cursor_ptr(c);
	out->payload_len = (uint32_t)cursor_left(c);
	out->payload_wire_len = l4_wire - 8;
	return STEP_OK;
}

/*
 * The transport of an accepted IP packet at the given depth. c covers the captured transport
 * bytes (clipped to the IP length), l4_wire is what the IP header announces for them.
 */
static enum step decode_l4(struct decoder *d, struct cursor *c, uint8_t proto, uint32_t l4_wire,
                           unsigned depth)
{
	struct pkt *out = d->out;
	enum step s;

	out->proto = proto;
	switch (proto) {
	case IPPROTO_TCP:
		return decode_tcp(d, c, l4_wire);
	case IPPROTO_UDP:
		return decode_udp(d, c, l4_wire, depth);
	case IPPROTO_ICMP:
		return decode_icmp(d, c, l4_wire, false);
	case IPPROTO_ICMPV6:
		return decode_icmp(d, c, l4_wire, true);
	case IPPROTO_IPIP:
	case IPPROTO_IPV6: {
		struct cursor t;

		decode_sub(&t, c);
		if (!decode_tunnel_may_enter(d, depth)) {
			s = STEP_FALLBACK_COUNTED;
			break;
		}
		s = decode_tunnel_ip(d, &t, proto == IPPROTO_IPIP ? 4 : 6, depth + 1);
		s = decode_tunnel_result(d, s, TUNNEL_CERTAIN);
		break;
	}
	case IPPROTO_GRE: {
		struct cursor t;

		decode_sub(&t, c);
		s = decode_gre(d, &t, depth);
		break;
	}
	case IPPROTO_ETHERIP_:
	case IPPROTO_ETHERNET_: {
		struct cursor t;

		decode_sub(&t, c);
		s = decode_etherip(d, &t, proto == IPPROTO_ETHERIP_, depth);
		break;
	}
	default:
		s = STEP_FALLBACK;
		break;
	}
	if (s < STEP_FALLBACK)
		return s;
	/* Not a tunnel we took: the packet itself is a flow packet without ports. */
	out->proto = proto;
	out->payload = cursor_ptr(c);
	out->payload_len = (uint32_t)cursor_left(c);
	out->payload_wire_len = l4_wire;
	if (s != STEP_FALLBACK_COUNTED)
		decode_count(d, DECODE_other_transport);
	return STEP_OK;
}

/* ---- IP ------------------------------------------------------------------------------ */

/* Accepted IP header: from here on the outcome is final and this packet owns out. */
static void decode_commit(struct decoder *d, unsigned family, const uint8_t *src,
                          const uint8_t *dst, const struct cursor *ip, unsigned depth)
{
	struct pkt *out = d->out;

	out->family = (uint8_t)family;
	if (family == ADDR_V4) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		memcpy(out->src.b, mapped, 12);
		memcpy(out->src.b + 12, src, 4);
		memcpy(out->dst.b, mapped, 12);
		memcpy(out->dst.b + 12, dst, 4);
	} else {
		memcpy(out->src.b, src, 16);
		memcpy(out->dst.b, dst, 16);
	}
	if (depth == 0) {
		out->outer_src = out->src;
		out->outer_dst = out->dst;
	}
	out->tunnel_depth = (uint8_t)depth;
	out->l3 = ip->base;
	out->l3_len = (uint32_t)ip->len;
	out->sport = 0;
	out->dport = 0;
	out->tcp_flags = 0;
	out->tcp_seq = 0;
	out->icmp_type = 0;
	out->icmp_code = 0;
}

/* A header problem: counted at depth 0; inside a tunnel the tunnel is not taken. */
static enum step decode_ip_fail(struct decoder *d, unsigned depth, enum decode_counter what)
{
	if (depth > 0)
		return STEP_FALLBACK_BAD;
	return decode_fail(d, what, STEP_ERROR);
}

/* IPv4, RFC 791 3.1. c starts at the header; the cursor is consumed. */
static enum step decode_ipv4(struct decoder *d, struct cursor *c, unsigned depth)
{
	struct cursor ip;
	const uint8_t *src, *dst;
	uint8_t vihl, proto;
	uint16_t total, frag;
	size_t hlen, cap;
	unsigned n = 0;

	decode_sub(&ip, c);
	vihl = cursor_u8(&ip);
	if (ip.err)
		return decode_ip_fail(d, depth, DECODE_truncated_ip);
	if (vihl >> 4 != 4)
		return decode_ip_fail(d, depth, DECODE_bad_ip_version);
	cursor_skip(&ip, 1);
	total = cursor_u16(&ip);
	cursor_skip(&ip, 2);
	frag = cursor_u16(&ip);
	cursor_skip(&ip, 1);
	proto = cursor_u8(&ip);
	cursor_skip(&ip, 2);
	src = cursor_ptr(&ip);
	cursor_skip(&ip, 4);
	dst = cursor_ptr(&ip);
	cursor_skip(&ip, 4);
	if (ip.err)
		return decode_ip_fail(d, depth, DECODE_truncated_ip);
	hlen = (size_t)(vihl & 0x0f) * 4;
	if (hlen < 20)
		return decode_ip_fail(d, depth, DECODE_bad_ip_header);
	/* A total length of 0 comes from TCP segmentation offload: take what was captured. */
	if (total == 0)
		total = (uint16_t)(ip.len > 0xffff ? 0xffff : ip.len);
	if (total < hlen)
		return decode_ip_fail(d, depth, DECODE_bad_ip_header);
	cursor_skip(&ip, hlen - 20); /* options */
	if (ip.err)
		return decode_ip_fail(d, depth, DECODE_truncated_ip);
	/* Bytes past the total length are link padding. */
	decode_clip(&ip, total - ip.pos);
	cap = ip.len;

	decode_commit(d, ADDR_V4, src, dst, &ip, depth);
	if (frag & 0x1fff)
		return decode_fail(d, DECODE_fragment, STEP_SKIP);
	/* IPsec AH (RFC 4302 2) in transport mode: skip it, the transport follows. */
	while (proto == IP6_AH) {
		uint8_t next = cursor_u8(&ip);
		uint8_t units = cursor_u8(&ip);

		if (++n > DECODE_MAX_EXT_HDRS)
			return decode_fail(d, DECODE_bad_ip_header, STEP_ERROR);
		cursor_skip(&ip, (size_t)units * 4 + 8 - 2);
		if (ip.err)
			return decode_fail(d,
			                   cap < total ? DECODE_truncated_ip : DECODE_bad_ip_header,
			                   STEP_ERROR);
		proto = next;
	}
	return decode_l4(d, &ip, proto, (uint32_t)(total - ip.pos), depth);
}

/*
 * The Jumbo Payload option (RFC 2675) in a hop-by-hop header whose options are in c; 0 when
 * there is none.
 */
static uint32_t decode_jumbo(struct cursor *c)
{
	while (!c->err && cursor_left(c) > 0) {
		uint8_t type = cursor_u8(c);
		uint8_t len;

		if (type == 0) /* Pad1 */
			continue;
		len = cursor_u8(c);
		if (type == 0xc2 && len == 4)
			return cursor_u32(c);
		cursor_skip(c, len);
	}
	return 0;
}

/* IPv6, RFC 8200 3 and 4, with its extension header chain. */
static enum step decode_ipv6(struct decoder *d, struct cursor *c, unsigned depth)
{
	struct cursor ip;
	const uint8_t *src, *dst;
	unsigned version;
	uint16_t plen;
	uint8_t next;
	uint64_t total;
	unsigned n = 0;

	decode_sub(&ip, c);
	version = decode_peek_nibble(&ip);
	if (version == 0xff)
		return decode_ip_fail(d, depth, DECODE_truncated_ip);
	if (version != 6)
		return decode_ip_fail(d, depth, DECODE_bad_ip_version);
	cursor_skip(&ip, 4); /* version, traffic class, flow label */
	plen = cursor_u16(&ip);
	next = cursor_u8(&ip);
	cursor_skip(&ip, 1);
	src = cursor_ptr(&ip);
	cursor_skip(&ip, 16);
	dst = cursor_ptr(&ip);
	cursor_skip(&ip, 16);
	if (ip.err)
		return decode_ip_fail(d, depth, DECODE_truncated_ip);
	total = 40 + (uint64_t)plen;
	if (plen == 0 && next == IP6_HOPOPTS) {
		/* Possibly a jumbogram: the real length is in the hop-by-hop header. */
		struct cursor h;
		uint32_t jumbo;

		decode_sub(&h, &ip);
		cursor_skip(&h, 1);
		decode_clip(&h, (size_t)cursor_u8(&h) * 8 + 6); /* the options */
		jumbo = decode_jumbo(&h);
		if (jumbo != 0)
			total = 40 + (uint64_t)jumbo;
	} else if (plen == 0 && next != IP6_NONE)
		total = ip.len; /* BIG TCP / segmentation offload: take what was captured */
	if (ip.len > total)
		decode_clip(&ip, (size_t)total - ip.pos);

	decode_commit(d, ADDR_V6, src, dst, &ip, depth);
	for (;;) {
		size_t hlen;
		uint16_t off;

		switch (next) {
		case IP6_HOPOPTS:
		case IP6_ROUTING:
		case IP6_DSTOPTS:
		case IP6_MOBILITY:
		case IP6_HIP:
		case IP6_SHIM6:
		case IP6_AH:
		case IP6_FRAGMENT:
			break;
		default:
			return decode_l4(d, &ip, next, (uint32_t)(total - ip.pos), depth);
		}
		if (++n > DECODE_MAX_EXT_HDRS)
			return decode_fail(d, DECODE_bad_ipv6_ext, STEP_ERROR);
		if (cursor_left(&ip) < 2 || (next == IP6_FRAGMENT && cursor_left(&ip) < 8)) {
			/* cut short by the capture, or running past the payload length */
			cursor_seek(&ip, ip.len);
			return decode_fail(
			        d, ip.len < total ? DECODE_truncated_ip : DECODE_bad_ipv6_ext,
			        STEP_ERROR);
		}
		if (next == IP6_FRAGMENT) {
			next = cursor_u8(&ip);
			cursor_skip(&ip, 1);
			off = cursor_u16(&ip);
			cursor_skip(&ip, 4);
			if (off >> 3)
				return decode_fail(d, DECODE_fragment, STEP_SKIP);
			continue;
		}
		if (next == IP6_AH) {
			next = cursor_u8(&ip);
			hlen = (size_t)cursor_u8(&ip) * 4 + 8;
		} else {
			next = cursor_u8(&ip);
			hlen = (size_t)cursor_u8(&ip) * 8 + 8;
		}
		if (cursor_left(&ip) < hlen - 2) {
			cursor_seek(&ip, ip.len);
			return decode_fail(
			        d, ip.len < total ? DECODE_truncated_ip : DECODE_bad_ipv6_ext,
			        STEP_ERROR);
		}
		cursor_skip(&ip, hlen - 2);
	}
}

/* An IP packet of the given version (4 or 6) at depth (0: not inside a tunnel). */
static enum step decode_ip(struct decoder *d, struct cursor *c, unsigned version, unsigned depth)
{
	return version == 4 ? decode_ipv4(d, c, depth) : decode_ipv6(d, c, depth);
}

/* ---- entry --------------------------------------------------------------------------- */

/*
 * Per-Packet Information header (PPI, DLT 192): version, flags, length and the link type of
 * the frame after it, both little-endian.
 */
static enum step decode_ppi(struct decoder *d, struct cursor *c)
{
	uint16_t len;
	uint32_t dlt;

	cursor_skip(c, 2);
	len = cursor_u8(c);
	len = (uint16_t)(len | cursor_u8(c) << 8);
	dlt = cursor_u32le(c);
	if (c->err || len < 8)
		return decode_link_fail(d, 0, DECODE_truncated_link);
	cursor_skip(c, len - 8u);
	if (c->err)
		return decode_link_fail(d, 0, DECODE_truncated_link);
	return decode_link(d, c, dlt > 0xffff ? -1 : (int)dlt, false);
}

/*
 * Linux NFLOG (DLT 239): family, version, resource id, then TLVs whose length and type are
 * in host (in practice little-endian) byte order, each padded to 4 bytes; the packet is the
 * value of type 9 (NFULA_PAYLOAD).
 */
static enum step decode_nflog(struct decoder *d, struct cursor *c)
{
	uint8_t family = cursor_u8(c);

	cursor_skip(c, 3);
	while (!c->err) {
		uint16_t len = cursor_u8(c);
		uint16_t type;

		len = (uint16_t)(len | cursor_u8(c) << 8);
		type = cursor_u8(c);
		type = (uint16_t)(type | cursor_u8(c) << 8);
		if (c->err || len < 4)
			break;
		if ((type & 0x7fff) == 9) {
			struct cursor v;

			decode_sub(&v, c);
			decode_clip(&v, len - 4u);
			if (family == 2)
				return decode_ip(d, &v, 4, 0);
			if (family == 10)
				return decode_ip(d, &v, 6, 0);
			return decode_link_fail(d, 0, DECODE_not_ip);
		}
		cursor_skip(c, ((size_t)len + 3) / 4 * 4 - 4);
	}
	return decode_link_fail(d, 0, DECODE_truncated_link);
}

/* The frame in c of link type dlt; outer is false inside a PPI header, which may not nest. */
static enum step decode_link(struct decoder *d, struct cursor *c, int dlt, bool outer)
{
	switch (dlt) {
	case DLT_EN10MB_:
		return decode_ether(d, c, 0);
	case DLT_NULL_:
	case DLT_LOOP_:
		return decode_null(d, c);
	case DLT_RAW_:
	case DLT_RAW_BSD_:
	case DLT_LINKTYPE_RAW_:
		return decode_raw(d, c);
	case DLT_IPV4_:
		return decode_ip(d, c, 4, 0);
	case DLT_IPV6_:
		return decode_ip(d, c, 6, 0);
	case DLT_LINUX_SLL_: {
		/* packet type, ARPHRD type, address length, 8 address bytes, protocol */
		uint16_t proto;

		cursor_skip(c, 14);
		proto = cursor_u16(c);
		return c->err ? decode_link_fail(d, 0, DECODE_truncated_link)
		              : decode_ethertype(d, c, proto, 0);
	}
	case DLT_LINUX_SLL2_: {
		/* protocol, reserved, interface index, ARPHRD type, packet type, address */
		uint16_t proto = cursor_u16(c);

		cursor_skip(c, 18);
		return c->err ? decode_link_fail(d, 0, DECODE_truncated_link)
		              : decode_ethertype(d, c, proto, 0);
	}
	case DLT_PPP_:
	case DLT_PPP_SERIAL_:
		/* Cisco HDLC frames (unicast address 0x0f, broadcast 0x8f) turn up here too */
		if (decode_peek_is_u16(c, 0x0f00) || decode_peek_is_u16(c, 0x8f00))
			return decode_chdlc(d, c);
		return decode_ppp(d, c, 0);
	case DLT_PPP_ETHER_:
		return decode_pppoe(d, c, 0);
	case DLT_C_HDLC_:
		return decode_chdlc(d, c);
	case DLT_NFLOG_:
		return decode_nflog(d, c);
	case DLT_PPI_:
		if (outer)
			return decode_ppi(d, c);
		return decode_fail(d, DECODE_unsupported_link, STEP_ERROR);
	default:
		return decode_fail(d, DECODE_unsupported_link, STEP_ERROR);
	}
}

bool decode_supports_dlt(int dlt)
{
	switch (dlt) {
	case DLT_NULL_:
	case DLT_EN10MB_:
	case DLT_PPP_:
	case DLT_RAW_:
	case DLT_RAW_BSD_:
	case DLT_PPP_SERIAL_:
	case DLT_PPP_ETHER_:
	case DLT_LINKTYPE_RAW_:
	case DLT_C_HDLC_:
	case DLT_LOOP_:
	case DLT_LINUX_SLL_:
	case DLT_IPV4_:
	case DLT_IPV6_:
	case DLT_LINUX_SLL2_:
	case DLT_PPI_:
	case DLT_NFLOG_:
		return true;
	default:
		return false;
	}
}

enum decode_result decode_packet(int dlt, const uint8_t *data, uint32_t cap_len, uint32_t wire_len,
                                 uint64_t ts_ns, struct pkt *out, struct decode_stats *st)
{
	struct decoder d = { .out = out, .st = st, .vlan_seen = false };
	struct cursor c;

	out->ts_ns = ts_ns;
	out->wire_len = wire_len;
	out->cap_len = cap_len;
	out->vlan = 0;
	out->tunnel_depth = 0;
	out->proto = 0;
	out->payload = NULL;
	out->payload_len = 0;
	out->payload_wire_len = 0;
	out->family = 0;
	/* An empty frame may come as NULL; the cursor must not do arithmetic on it. */
	if (data == NULL) {
		static const uint8_t none[1];

		data = none;
		cap_len = 0;
	}
	cursor_init(&c, data, cap_len);

	switch (decode_link(&d, &c, dlt, true)) {
	case STEP_OK:
		return DECODE_OK;
	case STEP_SKIP:
		return DECODE_SKIP;
	default:
		/* STEP_ERROR; fallbacks cannot leave depth 0, which is never inside a tunnel */
		return DECODE_ERROR;
	}
}
