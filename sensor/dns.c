/*
 * DNS message parser (RFC 1035 section 4): header, questions, answer records with their data
 * decoded for the types the sensor uses. Called by the worker for every UDP/TCP port-53
 * payload; reads only through the sticky-error cursor and never allocates.
 */
#include "sensor/dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "sensor/cursor.h"

const char *const dns_error_names[DNS_NERRORS] = {
#define DNS_ERR_NAME_(n) #n,
	DNS_ERRORS(DNS_ERR_NAME_)
#undef DNS_ERR_NAME_
};

enum {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_AAAA = 28,
	DNS_T_SRV = 33,
	DNS_T_DNAME = 39,
};

/*
 * Read a possibly compressed name at c's position into out (RFC 1035 4.1.4). On return the
 * cursor stands after the name as it appears at the original position (after the first
 * pointer, if any). Every pointer must point strictly before the first label of the part of
 * the name being read, which both forbids loops and bounds the walk; DNS_MAX_PTRS caps the
 * number of jumps anyway. Returns DNS_ERR_none or the reason.
 */
static enum dns_error dns_read_name(struct cursor *c, struct dns_name *out)
{
	struct cursor walk = *c;
	size_t limit = c->pos; /* pointers must land strictly before this offset */
	unsigned jumps = 0;
	bool jumped = false;

	out->len = 0;
	for (;;) {
		uint8_t l = cursor_u8(&walk);

		if (walk.err)
			goto out_truncated;
		if ((l & 0xc0) == 0xc0) {
			size_t target = (size_t)(l & 0x3f) << 8 | cursor_u8(&walk);

			if (walk.err)
				goto out_truncated;
			if (!jumped) {
				c->pos = walk.pos;
				jumped = true;
			}
			if (target >= walk.len)
				return DNS_ERR_pointer_oob;
			if (target >= limit || ++jumps > DNS_MAX_PTRS)
				return DNS_ERR_pointer_loop;
			limit = target;
			cursor_seek(&walk, target);
			continue;
		}
		if (l & 0xc0)
			return DNS_ERR_bad_label; /* 0x40 extended, 0x80 reserved (RFC 6891 5) */
		if (l == 0)
			break;
		/* the wire form with its final zero octet stays within 255 bytes (RFC 1035 2.3.4)
		 */
		if ((size_t)out->len + 1 + l + 1 > DNS_NAME_WIRE_MAX)
			return DNS_ERR_bad_label;
		out->wire[out->len] = l;
		cursor_copy(&walk, &out->wire[out->len + 1], l);
		if (walk.err)
			goto out_truncated;
		out->len = (uint8_t)(out->len + 1 + l);
	}
	if (!jumped)
		c->pos = walk.pos;
	return DNS_ERR_none;
out_truncated:
	c->err = true;
	c->pos = c->len;
	return DNS_ERR_truncated;
}

/* Decode the data of rr from the message behind c; c spans the whole message. */
static enum dns_error dns_read_rdata(struct cursor *c, size_t end, struct dns_rr *rr)
{
	enum dns_error e = DNS_ERR_none;

	switch (rr->type) {
	case DNS_T_A:
		if (rr->rdlen != 4)
			return DNS_ERR_bad_rdata;
		memset(rr->ip.b, 0, 10);
		rr->ip.b[10] = 0xff;
		rr->ip.b[11] = 0xff;
		cursor_copy(c, &rr->ip.b[12], 4);
		break;
	case DNS_T_AAAA:
		if (rr->rdlen != 16)
			return DNS_ERR_bad_rdata;
		cursor_copy(c, rr->ip.b, 16);
		break;
	case DNS_T_MX:
		rr->pref = cursor_u16(c);
		e = dns_read_name(c, &rr->target);
		break;
	case DNS_T_SRV:
		rr->pref = cursor_u16(c); /* priority */
		cursor_skip(c, 4);        /* weight, port */
		e = dns_read_name(c, &rr->target);
		break;
	case DNS_T_CNAME:
	case DNS_T_DNAME:
	case DNS_T_NS:
	case DNS_T_PTR:
		e = dns_read_name(c, &rr->target);
		break;
	default:
		return DNS_ERR_none;
	}
	if (e == DNS_ERR_truncated || c->err || c->pos > end)
		return DNS_ERR_bad_rdata; /* the data ran past its own rdlength */
	if (e != DNS_ERR_none)
		return e;
	if ((rr->type == DNS_T_A || rr->type == DNS_T_AAAA) || c->pos == end)
		rr->data_ok = true;
	else
		return DNS_ERR_bad_rdata;
	return DNS_ERR_none;
}

bool dns_parse(const uint8_t *msg, size_t len, struct dns_msg *out)
{
	struct cursor c;
	uint16_t flags;
	unsigned i;

	memset(out, 0, offsetof(struct dns_msg, q));
	if (len < 12) {
		out->err = DNS_ERR_short_header;
		return false;
	}
	/* RFC 1035 4.1.1 */
	cursor_init(&c, msg, len);
	out->id = cursor_u16(&c);
	flags = cursor_u16(&c);
	out->qr = flags >> 15;
	out->opcode = (flags >> 11) & 0xf;
	out->aa = (flags >> 10) & 1;
	out->tc = (flags >> 9) & 1;
	out->rd = (flags >> 8) & 1;
	out->ra = (flags >> 7) & 1;
	out->rcode = flags & 0xf;
	out->qdcount = cursor_u16(&c);
	out->ancount = cursor_u16(&c);
	out->nscount = cursor_u16(&c);
	out->arcount = cursor_u16(&c);

	/* RFC 1035 4.1.2: questions; those past DNS_MAX_QUESTIONS are read but not kept */
	for (i = 0; i < out->qdcount; i++) {
		struct dns_question scratch, *q;
		enum dns_error e;

		q = out->nq < DNS_MAX_QUESTIONS ? &out->q[out->nq] : &scratch;
		e = dns_read_name(&c, &q->name);
		if (e != DNS_ERR_none) {
			out->err = e;
			return true;
		}
		q->type = cursor_u16(&c);
		q->class = cursor_u16(&c);
		if (c.err) {
			out->err = DNS_ERR_truncated;
			return true;
		}
		if (q != &scratch)
			out->nq++;
	}

	/* RFC 1035 4.1.3: answer records */
	for (i = 0; i < out->ancount; i++) {
		struct dns_rr scratch, *rr;
		enum dns_error e;
		size_t end;

		rr = out->nan < DNS_MAX_ANSWERS ? &out->an[out->nan] : &scratch;
		e = dns_read_name(&c, &rr->name);
		if (e != DNS_ERR_none) {
			out->err = e;
			return true;
		}
		rr->type = cursor_u16(&c);
		rr->class = cursor_u16(&c);
		rr->ttl = cursor_u32(&c);
		rr->rdlen = cursor_u16(&c);
		rr->data_ok = false;
		rr->pref = 0;
		rr->target.len = 0;
		memset(&rr->ip, 0, sizeof(rr->ip));
		if (c.err || rr->rdlen > cursor_left(&c)) {
			out->err = DNS_ERR_truncated;
			return true;
		}
		end = c.pos + rr->rdlen;
		e = dns_read_rdata(&c, end, rr);
		/* the rdlength keeps the framing even when the data is malformed: carry on */
		c.err = false;
		cursor_seek(&c, end);
		if (e != DNS_ERR_none && out->err == DNS_ERR_none)
			out->err = e;
		if (rr != &scratch)
			out->nan++;
	}
	return true;
}

size_t dns_tcp_next(const uint8_t *p, size_t len, const uint8_t **msg, size_t *msg_len)
{
	struct cursor c;
	uint16_t n;

	*msg = NULL;
	*msg_len = 0;
	cursor_init(&c, p, len);
	n = cursor_u16(&c); /* RFC 1035 4.2.2 length prefix */
	if (c.err)
		return 0;
	*msg = cursor_ptr(&c);
	if (n > cursor_left(&c)) {
		*msg_len = cursor_left(&c);
		return len;
	}
	*msg_len = n;
	return 2 + (size_t)n;
}

enum {
	DNS_TCP_SYNCED = 1,  /* next_seq is meaningful */
	DNS_TCP_HAVE_HI = 2, /* len_hi holds the first byte of a cut length prefix */
};

void dns_tcp_segment(struct dns_tcp_state *s, uint32_t seq, const uint8_t *p, size_t len,
                     dns_msg_fn *fn, void *arg)
{
	struct cursor c;

	cursor_init(&c, p, len);
	if (s->flags & DNS_TCP_SYNCED) {
		int32_t d = (int32_t)(seq - s->next_seq);

		if (d < 0) {
			/* retransmitted or overlapping bytes: already seen */
			if ((size_t) - (int64_t)d >= len)
				return;
			cursor_skip(&c, (size_t) - (int64_t)d);
		} else if (d > 0) {
			/* a segment is missing: assume a message starts here */
			s->skip = 0;
			s->flags &= (uint8_t)~DNS_TCP_HAVE_HI;
		}
	}
	s->next_seq = seq + (uint32_t)len;
	s->flags |= DNS_TCP_SYNCED;
	if (s->skip > 0) {
		size_t n = s->skip < cursor_left(&c) ? s->skip : cursor_left(&c);

		cursor_skip(&c, n);
		s->skip -= (uint32_t)n;
	}
	if ((s->flags & DNS_TCP_HAVE_HI) && cursor_left(&c) > 0) {
		/* the second byte of a cut length prefix: the message body starts after it */
		uint16_t n = (uint16_t)(s->len_hi << 8 | cursor_u8(&c));

		s->flags &= (uint8_t)~DNS_TCP_HAVE_HI;
		if (n > cursor_left(&c)) {
			s->skip = n - (uint32_t)cursor_left(&c);
			if (cursor_left(&c) > 0)
				fn(arg, cursor_ptr(&c), cursor_left(&c), true);
			return;
		}
		fn(arg, cursor_ptr(&c), n, false);
		cursor_skip(&c, n);
	}
	/* RFC 1035 4.2.2: each message behind its 2-byte length */
	while (cursor_left(&c) > 0) {
		uint16_t n;

		if (cursor_left(&c) == 1) {
			s->len_hi = cursor_u8(&c);
			s->flags |= DNS_TCP_HAVE_HI;
			return;
		}
		n = cursor_u16(&c);
		if (n > cursor_left(&c)) {
			s->skip = n - (uint32_t)cursor_left(&c);
			if (cursor_left(&c) > 0)
				fn(arg, cursor_ptr(&c), cursor_left(&c), true);
			return;
		}
		fn(arg, cursor_ptr(&c), n, false);
		cursor_skip(&c, n);
	}
}

/* Shared body of dns_name_text and dns_name_norm. */
static size_t dns_name_fmt(const struct dns_name *name, char *buf, size_t size, bool lower)
{
	struct cursor c;
	size_t o = 0;

	if (size == 0)
		return 0;
	cursor_init(&c, name->wire, name->len);
	if (name->len == 0) {
		if (size >= 2) {
			buf[0] = '.';
			o = 1;
		}
		buf[o] = '\0';
		return o;
	}
	while (cursor_left(&c) > 0) {
		uint8_t l = cursor_u8(&c);

		if (o > 0) {
			if (o + 1 >= size)
				break;
			buf[o++] = '.';
		}
		for (unsigned i = 0; i < l && cursor_left(&c) > 0; i++) {
			uint8_t b = cursor_u8(&c);

			if (b < 0x21 || b > 0x7e || b == '.' || b == '\\') {
				if (o + 4 >= size)
					goto out;
				buf[o++] = '\\';
				buf[o++] = (char)('0' + b / 100);
				buf[o++] = (char)('0' + b / 10 % 10);
				buf[o++] = (char)('0' + b % 10);
				continue;
			}
			if (o + 1 >= size)
				goto out;
			if (lower && b >= 'A' && b <= 'Z')
				b = (uint8_t)(b + ('a' - 'A'));
			buf[o++] = (char)b;
		}
	}
out:
	buf[o] = '\0';
	return o;
}

size_t dns_name_text(const struct dns_name *name, char *buf, size_t size)
{
	return dns_name_fmt(name, buf, size, false);
}

size_t dns_name_norm(const struct dns_name *name, char *buf, size_t size)
{
	return dns_name_fmt(name, buf, size, true);
}

const char *dns_type_str(uint16_t type, char *buf, size_t size)
{
	static const struct {
		uint16_t type;
		const char *name;
	} types[] = {
		{ 1, "A" },      { 2, "NS" },      { 5, "CNAME" },  { 6, "SOA" },
		{ 12, "PTR" },   { 13, "HINFO" },  { 15, "MX" },    { 16, "TXT" },
		{ 28, "AAAA" },  { 29, "LOC" },    { 33, "SRV" },   { 35, "NAPTR" },
		{ 39, "DNAME" }, { 41, "OPT" },    { 43, "DS" },    { 46, "RRSIG" },
		{ 47, "NSEC" },  { 48, "DNSKEY" }, { 50, "NSEC3" }, { 51, "NSEC3PARAM" },
		{ 52, "TLSA" },  { 64, "SVCB" },   { 65, "HTTPS" }, { 99, "SPF" },
		{ 251, "IXFR" }, { 252, "AXFR" },  { 255, "ANY" },  { 256, "URI" },
		{ 257, "CAA" },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	snprintf(buf, size, "TYPE%u", (unsigned)type);
	return buf;
}

const char *dns_rcode_str(uint8_t rcode, char *buf, size_t size)
{
	static const char *const names[] = {
		"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE",
	};

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, size, "RCODE%u", (unsigned)rcode);
	return buf;
}

size_t dns_rr_data_text(const struct dns_rr *rr, char *buf, size_t size)
{
	if (size > 0)
		buf[0] = '\0';
	if (!rr->data_ok || size == 0)
		return 0;
	switch (rr->type) {
	case DNS_T_A:
		if (inet_ntop(AF_INET, &rr->ip.b[12], buf, (socklen_t)size) == NULL)
			return 0;
		return strlen(buf);
	case DNS_T_AAAA:
		if (inet_ntop(AF_INET6, rr->ip.b, buf, (socklen_t)size) == NULL)
			return 0;
		return strlen(buf);
	case DNS_T_CNAME:
	case DNS_T_DNAME:
	case DNS_T_NS:
	case DNS_T_PTR:
	case DNS_T_MX:
	case DNS_T_SRV:
		return dns_name_text(&rr->target, buf, size);
	default:
		return 0;
	}
}
