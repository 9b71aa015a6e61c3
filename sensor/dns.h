/*
 * Full DNS message parsing (RFC 1035 section 4, RFC 3596 AAAA): every question and every
 * answer-section record, CNAME chains, A/AAAA data, response code. Compression pointers are
 * followed only backwards and at most DNS_MAX_PTRS times; loops and out-of-bounds pointers are
 * rejected and counted. A truncated message yields what could be read before the cut.
 */
#ifndef TIPOFF_SENSOR_DNS_H
#define TIPOFF_SENSOR_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor/pkt.h"

#define DNS_MAX_QUESTIONS 8   /* questions kept per message; more are counted, not kept */
#define DNS_MAX_ANSWERS   128 /* answer records kept per message */
#define DNS_NAME_WIRE_MAX 255 /* RFC 1035 2.3.4 */
#define DNS_NAME_TEXT_MAX 1024 /* presentation form with \DDD escapes, incl. the NUL */
#define DNS_MAX_PTRS      64  /* compression pointers followed per name */

/* A name in uncompressed wire form: length-prefixed labels, without the final zero octet. */
struct dns_name {
	uint8_t len;                    /* bytes used in wire; 0 is the root */
	uint8_t wire[DNS_NAME_WIRE_MAX];
};

struct dns_question {
	struct dns_name name;
	uint16_t type;
	uint16_t class;
};

struct dns_rr {
	struct dns_name name;
	uint16_t type;
	uint16_t class;
	uint32_t ttl;
	uint16_t rdlen;
	bool data_ok;           /* rdata was read and is well-formed for its type */
	struct addr ip;         /* A / AAAA (A stored IPv4-mapped) */
	struct dns_name target; /* CNAME, DNAME, NS, PTR, MX exchange, SRV target */
	uint16_t pref;          /* MX preference */
};

/* Why a message could not be read to its end (counted per reason by the caller). */
#define DNS_ERRORS(X)                                                                          \
	X(none)                                                                                \
	X(short_header)      /* fewer than 12 bytes */                                         \
	X(truncated)         /* the message ended before its counts said */                    \
	X(bad_label)         /* label type 0x40/0x80 or name longer than 255 */                \
	X(pointer_loop)      /* compression pointer forward, to itself, or too many */         \
	X(pointer_oob)       /* compression pointer outside the message */                     \
	X(bad_rdata)         /* rdata length inconsistent with the type */

enum dns_error {
#define DNS_ERR_ENUM_(n) DNS_ERR_##n,
	DNS_ERRORS(DNS_ERR_ENUM_)
#undef DNS_ERR_ENUM_
	DNS_NERRORS
};

extern const char *const dns_error_names[DNS_NERRORS];

struct dns_msg {
	uint16_t id;
	bool qr;         /* response */
	uint8_t opcode;
	uint8_t rcode;   /* RFC 1035 RCODE (4 bits) */
	bool tc, aa, rd, ra;
	uint16_t qdcount, ancount, nscount, arcount; /* as the header says */
	unsigned nq;     /* questions parsed into q[] */
	unsigned nan;    /* answer records parsed into an[] */
	enum dns_error err; /* first problem met; what came before it is still in q[]/an[] */
	struct dns_question q[DNS_MAX_QUESTIONS];
	struct dns_rr an[DNS_MAX_ANSWERS];
};

/*
 * Parse the DNS message msg[0..len) (no TCP length prefix) into out. Returns true when at
 * least the header was read (out->err may still report a problem after some records);
 * false when not even the header is there. Never allocates.
 */
bool dns_parse(const uint8_t *msg, size_t len, struct dns_msg *out);

/*
 * Split a TCP DNS stream (RFC 1035 4.2.2: each message behind a 2-byte length) starting at
 * p[0..len). Sets *msg and *msg_len to the first message and returns the bytes it takes with its
 * prefix, so that the caller can loop: for (n; (n = dns_tcp_next(p, len, &m, &ml)) > 0;
 * p += n, len -= n) dns_parse(m, ml, ...). When the message is cut by the end of p, *msg_len
 * is the readable part (dns_parse then reports truncated) and the return value is len.
 * Returns 0 (and *msg NULL) when fewer than 2 bytes are left. *msg borrows p.
 */
size_t dns_tcp_next(const uint8_t *p, size_t len, const uint8_t **msg, size_t *msg_len);

/*
 * Per-direction state of a TCP DNS stream for dns_tcp_segment(): where the next message
 * starts. Small enough for a flow record; zero it when the flow is created.
 */
struct dns_tcp_state {
	uint32_t next_seq; /* sequence number of the byte expected next */
	uint32_t skip;     /* bytes still to come of a message cut by a segment end */
	uint8_t len_hi;    /* first byte of a length prefix cut after it */
	uint8_t flags;     /* internal: synchronised, len_hi valid */
};

/* Called by dns_tcp_segment for each message start; cut: the message goes on past p. */
typedef void dns_msg_fn(void *arg, const uint8_t *msg, size_t len, bool cut);

/*
 * Feed one TCP segment (sequence number seq, payload p[0..len)) of one direction of a port-53
 * flow. Calls fn for every message that starts in the segment (the readable part when it
 * goes on past the segment) and skips the continuation of a cut message in the following
 * segments, so that it is never read as a message of its own. Retransmitted bytes are
 * skipped; after a gap the segment start is taken as a message start. No buffering, never
 * allocates.
 */
void dns_tcp_segment(struct dns_tcp_state *s, uint32_t seq, const uint8_t *p, size_t len,
		     dns_msg_fn *fn, void *arg);

/*
 * Presentation form of name into buf (size >= DNS_NAME_TEXT_MAX): labels joined by '.',
 * no trailing dot, the root as ".", bytes outside 0x21..0x7e and '.' or '\' inside a label
 * escaped as \DDD (decimal). Returns the length written (without the NUL).
 */
size_t dns_name_text(const struct dns_name *name, char *buf, size_t size);

/*
 * Normalised form for matching into buf (size >= DNS_NAME_TEXT_MAX): like dns_name_text but
 * ASCII letters lower-cased. Returns the length written.
 */
size_t dns_name_norm(const struct dns_name *name, char *buf, size_t size);

/* Mnemonic of an RR type ("A", "AAAA", "CNAME", ... or "TYPE65280"); buf needs 16 bytes. */
const char *dns_type_str(uint16_t type, char *buf, size_t size);

/* Mnemonic of an RCODE ("NOERROR", "NXDOMAIN", ...; "RCODE11" otherwise); buf 16 bytes. */
const char *dns_rcode_str(uint8_t rcode, char *buf, size_t size);

/*
 * Text of an answer's data for dns.answers[].data: the address for A/AAAA, the target name
 * for CNAME/DNAME/NS/PTR/MX/SRV, otherwise nothing (returns 0). buf >= DNS_NAME_TEXT_MAX.
 */
size_t dns_rr_data_text(const struct dns_rr *rr, char *buf, size_t size);

#endif
