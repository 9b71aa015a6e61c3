/*
 * Values as the rule loaders read them: IP addresses and prefixes, domain names and AS
 * numbers, normalised the way DESIGN.md says, plus the load-time drop tests (special-purpose
 * address space, public suffixes) and the error list. Used by load_*.c and config.c only.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>
#include <libpsl.h>

#include "internal.h"

/* ----- errors ----------------------------------------------------------------------------- */

void matcher_errors_clear(struct matcher_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++) {
		free((char *)errs->v[i].file);
		free((char *)errs->v[i].msg);
	}
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
	errs->cap = 0;
}

int matcher__error(struct matcher_errors *errs, const char *file, unsigned line, const char *fmt,
                   ...)
{
	struct matcher_error *e;
	va_list ap;
	char *msg;
	int n;

	if (errs == NULL)
		return 0;
	if (errs->n == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 8;
		struct matcher_error *v = reallocarray(errs->v, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		errs->v = v;
		errs->cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	e = &errs->v[errs->n];
	e->file = NULL;
	if (file != NULL) {
		e->file = strdup(file);
		if (e->file == NULL) {
			free(msg);
			return -ENOMEM;
		}
	}
	e->line = line;
	e->msg = msg;
	errs->n++;
	return 0;
}

/* ----- special-purpose address space ------------------------------------------------------ */

/*
 * Address blocks whose addresses never appear as a public peer of Internet traffic: the
 * IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and later updates) minus
 * the blocks the registry marks "globally reachable" (AS112 192.31.196.0/24, AMT
 * 192.52.193.0/24, 192.175.48.0/24, NAT64 64:ff9b::/96, Teredo 2001::/32, the anycast
 * 2001:1::/48 services, AMT 2001:3::/32, AS112 2001:4:112::/48, ORCHIDv2 2001:20::/28, DET
 * 2001:30::/28, 2620:4f:8000::/48, 6to4 2002::/16), plus multicast (224.0.0.0/4,
 * ff00::/8) and deprecated site-local fec0::/10. IPv4-mapped IPv6 (::ffff:0:0/96) is parsed
 * as IPv4 and checked against the IPv4 list.
 */
struct special_block {
	uint8_t b[16]; /* IPv6 or IPv4-mapped */
	uint8_t plen;  /* on the 128-bit scale */
};

#define V4(a, b_, c, d, len)                                                          \
	{                                                                             \
		{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b_, c, d }, (len) + 96 \
	}

static const struct special_block special_blocks[] = {
	V4(0, 0, 0, 0, 8),          /* "this network", RFC 791 */
	V4(10, 0, 0, 0, 8),         /* private, RFC 1918 */
	V4(100, 64, 0, 0, 10),      /* shared address space (CGN), RFC 6598 */
	V4(127, 0, 0, 0, 8),        /* loopback */
	V4(169, 254, 0, 0, 16),     /* link-local, RFC 3927 */
	V4(172, 16, 0, 0, 12),      /* private */
	V4(192, 0, 0, 0, 24),       /* IETF protocol assignments, RFC 6890 */
	V4(192, 0, 2, 0, 24),       /* TEST-NET-1, RFC 5737 */
	V4(192, 88, 99, 0, 24),     /* deprecated 6to4 relay anycast, RFC 7526 */
	V4(192, 168, 0, 0, 16),     /* private */
	V4(198, 18, 0, 0, 15),      /* benchmarking, RFC 2544 */
	V4(198, 51, 100, 0, 24),    /* TEST-NET-2 */
	V4(203, 0, 113, 0, 24),     /* TEST-NET-3 */
	V4(224, 0, 0, 0, 4),        /* multicast, RFC 5771 */
	V4(240, 0, 0, 0, 4),        /* reserved, RFC 1112 */
	V4(255, 255, 255, 255, 32), /* limited broadcast, RFC 919 */
	{ { 0 }, 128 },             /* ::/128 unspecified, RFC 4291 */
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128 }, /* ::1 loopback */
	{ { 0, 0x64, 0xff, 0x9b, 0, 1 }, 48 },    /* 64:ff9b:1::/48 local NAT64, RFC 8215 */
	{ { 0x01, 0x00 }, 64 },                   /* 100::/64 discard-only, RFC 6666 */
	{ { 0x20, 0x01, 0x00, 0x02, 0, 0 }, 48 }, /* 2001:2::/48 benchmarking, RFC 5180 */
	{ { 0x20, 0x01, 0x00, 0x10 }, 28 },       /* 2001:10::/28 ORCHID, deprecated */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32 },       /* 2001:db8::/32 documentation */
	{ { 0x3f, 0xff }, 20 },                   /* 3fff::/20 documentation, RFC 9637 */
	{ { 0x5f, 0x00 }, 16 },                   /* 5f00::/16 SRv6 SIDs, RFC 9602 */
	{ { 0xfc }, 7 },                          /* fc00::/7 unique local, RFC 4193 */
	{ { 0xfe, 0x80 }, 10 },                   /* fe80::/10 link-local */
	{ { 0xfe, 0xc0 }, 10 },                   /* fec0::/10 site-local, deprecated */
	{ { 0xff }, 8 },                          /* ff00::/8 multicast */
};

#undef V4

/* Do the first plen bits of a and b agree? */
static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned bytes = plen / 8, bits = plen % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	return ((a[bytes] ^ b[bytes]) & (uint8_t)(0xff << (8 - bits))) == 0;
}

/* Is the prefix (net, plen), on the 128-bit scale, covered by the union of special blocks? */
static bool special_covers(const uint8_t *net, unsigned plen)
{
	bool inner = false;
	uint8_t half[16];

	for (size_t i = 0; i < sizeof(special_blocks) / sizeof(special_blocks[0]); i++) {
		const struct special_block *s = &special_blocks[i];

		if (plen >= s->plen && prefix_eq(net, s->b, s->plen))
			return true;
		if (s->plen > plen && prefix_eq(net, s->b, plen))
			inner = true;
	}
	if (!inner || plen >= 128)
		return false;
	/* Some block lies strictly inside: covered when both halves are. */
	memcpy(half, net, sizeof(half));
	if (!special_covers(half, plen + 1))
		return false;
	half[plen / 8] |= (uint8_t)(0x80 >> (plen % 8));
	return special_covers(half, plen + 1);
}

bool matcher__is_special(const struct matcher__value *v)
{
	unsigned plen;

	if (v->type == MATCHER_TYPE_IPV4)
		plen = v->plen + 96u;
	else if (v->type == MATCHER_TYPE_IPV6)
		plen = v->plen;
	else
		return false;
	if (v->plen == 0)
		return false; /* 0.0.0.0/0 and ::/0 are kept */
	return special_covers(v->ip.b, plen);
}

/* ----- public suffixes -------------------------------------------------------------------- */

/*
 * psl_latest(NULL) reads the newest public suffix list on the system (or falls back to the
 * built-in one) and returns a context the caller owns; load it once per process and keep it
 * (it is read-only afterwards, so threads may share it).
 */
static psl_ctx_t *psl_ctx;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

static void psl_init(void)
{
	psl_ctx = psl_latest(NULL);
}

bool matcher__is_public_suffix(const char *domain)
{
	const psl_ctx_t *psl;

	pthread_once(&psl_once, psl_init);
	psl = psl_ctx != NULL ? psl_ctx : psl_builtin();
	if (psl == NULL)
		return false;
	return psl_is_public_suffix2(psl, domain, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE) != 0;
}

/* ----- domain names ----------------------------------------------------------------------- */

/*
 * Lower case ASCII, check labels: 1..63 bytes each, at most 253 in all, no empty label.
 * strict: only letters, digits, '-' and '_' (what a rule file may hold); otherwise any
 * printable byte but '.' separators (names as seen on the wire).
 */
static int check_ascii_name(char *name, size_t len, bool strict)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return -EINVAL;
			label = 0;
			continue;
		}
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		name[i] = (char)c;
		if (strict && !(isalnum(c) || c == '-' || c == '_'))
			return -EINVAL;
		if (!strict && (c <= 0x20 || c >= 0x7f))
			return -EINVAL;
		if (++label > 63)
			return -EINVAL;
	}
	return label == 0 ? -EINVAL : 0;
}

/* Convert one name holding non-ASCII bytes to A-labels into out (size >= 256). */
static int idn_to_ascii(const char *in, char *out, size_t size)
{
	static const int flags[] = {
		IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT,
		IDN2_TRANSITIONAL | IDN2_NFC_INPUT,
		IDN2_NO_TR46 | IDN2_NFC_INPUT,
	};
	char *res = NULL;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (idn2_to_ascii_8z(in, &res, flags[i]) == IDN2_OK)
			break;
		res = NULL;
	}
	if (res == NULL) {
		/* Names with '_' or odd labels: convert the non-ASCII labels one by one. */
		size_t o = 0;
		const char *p = in;

		while (*p != '\0') {
			const char *dot = strchr(p, '.');
			size_t l = dot ? (size_t)(dot - p) : strlen(p);
			char label[256];
			bool ascii = true;
			char *lres = NULL;
			const char *src = label;
			size_t sl;

			if (l >= sizeof(label))
				return -EINVAL;
			memcpy(label, p, l);
			label[l] = '\0';
			for (size_t i = 0; i < l; i++)
				ascii = ascii && (unsigned char)label[i] < 0x80;
			if (!ascii) {
				if (idn2_to_ascii_8z(label, &lres,
				                     IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) !=
				            IDN2_OK &&
				    idn2_to_ascii_8z(label, &lres,
				                     IDN2_TRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK)
					return -EINVAL;
				src = lres;
			}
			sl = strlen(src);
			if (o + sl + 2 > size) {
				idn2_free(lres);
				return -EINVAL;
			}
			memcpy(out + o, src, sl);
			o += sl;
			idn2_free(lres);
			if (dot == NULL)
				break;
			out[o++] = '.';
			p = dot + 1;
		}
		out[o] = '\0';
		return (int)o;
	}
	if (strlen(res) + 1 > size) {
		idn2_free(res);
		return -EINVAL;
	}
	size_t n = strlen(res);
	memcpy(out, res, n + 1);
	idn2_free(res);
	return (int)n;
}

/* Normalise in (len bytes) into out; strict as in check_ascii_name. Returns length or -EINVAL. */
static int normalize_domain(const char *in, size_t len, char *out, size_t size, bool strict)
{
	char tmp[1024];
	bool ascii = true;
	int n;

	if (size < 256)
		return -EINVAL;
	if (len > 0 && in[len - 1] == '.')
		len--; /* the root label */
	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\0')
			return -EINVAL;
		if ((unsigned char)in[i] >= 0x80)
			ascii = false;
	}
	if (ascii) {
		if (len > 253)
			return -EINVAL;
		memcpy(out, in, len);
		out[len] = '\0';
		n = (int)len;
	} else {
		memcpy(tmp, in, len);
		tmp[len] = '\0';
		n = idn_to_ascii(tmp, out, size);
		if (n < 0)
			return n;
		if (n > 0 && out[n - 1] == '.')
			out[--n] = '\0';
	}
	if (check_ascii_name(out, (size_t)n, strict) != 0)
		return -EINVAL;
	return n;
}

int matcher_normalize_domain(const char *in, size_t len, char *out, size_t size)
{
	if (in == NULL || out == NULL)
		return -EINVAL;
	return normalize_domain(in, len, out, size, false);
}

/* ----- values ----------------------------------------------------------------------------- */

static void clear_host_bits(uint8_t *b, unsigned plen)
{
	for (unsigned i = 0; i < 128; i++) {
		if (i >= plen)
			b[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	}
}

/* Parse decimal digits s[0..len) into *out (<= max). */
static bool parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

int matcher__parse_asn(const char *s, size_t len, bool bare, uint32_t *out)
{
	uint64_t v;

	if (len >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) {
		s += 2;
		len -= 2;
		if (len > 0 && (s[0] == 'N' || s[0] == 'n')) {
			s++;
			len--;
		}
	} else if (!bare) {
		return -EINVAL;
	}
	if (!parse_uint(s, len, UINT32_MAX, &v))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* An IP address or prefix "a.b.c.d[/n]", "x:y::z[/n]". */
static int parse_ip(const char *s, size_t len, struct matcher__value *out)
{
	char buf[64];
	const char *slash = memchr(s, '/', len);
	size_t alen = slash ? (size_t)(slash - s) : len;
	uint64_t plen = 0;
	bool v6;

	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(out, 0, sizeof(*out));
	v6 = memchr(buf, ':', alen) != NULL;
	if (v6) {
		if (inet_pton(AF_INET6, buf, out->ip.b) != 1)
			return -EINVAL;
	} else {
		if (inet_pton(AF_INET, buf, out->ip.b + 12) != 1)
			return -EINVAL;
		out->ip.b[10] = 0xff;
		out->ip.b[11] = 0xff;
	}
	if (slash) {
		if (!parse_uint(slash + 1, len - alen - 1, v6 ? 128 : 32, &plen))
			return -EINVAL;
	} else {
		plen = v6 ? 128 : 32;
	}
	if (v6) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		/* IPv4-mapped IPv6 is IPv4 (DESIGN.md: it matches IPv4 entries). */
		if (plen >= 96 && memcmp(out->ip.b, mapped, sizeof(mapped)) == 0) {
			out->type = MATCHER_TYPE_IPV4;
			out->plen = (uint8_t)(plen - 96);
		} else {
			out->type = MATCHER_TYPE_IPV6;
			out->plen = (uint8_t)plen;
		}
	} else {
		out->type = MATCHER_TYPE_IPV4;
		out->plen = (uint8_t)plen;
	}
	/* A CIDR written with host bits set (10.1.2.3/8) means its network (10.0.0.0/8). */
	clear_host_bits(out->ip.b, out->type == MATCHER_TYPE_IPV4 ? out->plen + 96u : out->plen);
	return 0;
}

/* Is the last label of s all digits? Then s is no host name (RFC 3696 section 2) but a
 * malformed address ("1.2.3", "C91.196.152.28"). */
static bool looks_numeric(const char *s, size_t len)
{
	const char *last = s;

	if (len > 0 && s[len - 1] == '.')
		len--; /* the root label */
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.')
			last = s + i + 1;
	}
	if (last == s + len)
		return false;
	for (const char *p = last; p < s + len; p++) {
		if (*p < '0' || *p > '9')
			return false;
	}
	return true;
}

/* Undo common defanging into buf: [.] (.) {.} [dot] (dot) -> ".", [:] -> ":", hxxp -> http. */
static size_t refang(const char *in, size_t len, char *buf, size_t size)
{
	static const struct {
		const char *from, *to;
	} subst[] = {
		{ "[.]", "." },     { "(.)", "." },   { "{.}", "." },     { "[dot]", "." },
		{ "(dot)", "." },   { "[:]", ":" },   { "[://]", "://" }, { "hxxp", "http" },
		{ "HXXP", "HTTP" }, { "fxp", "ftp" },
	};
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		bool hit = false;
		char c = in[i];

		if (c != '[' && c != '(' && c != '{' &&
		    !(i == 0 && (c == 'h' || c == 'H' || c == 'f'))) {
			if (o + 1 >= size)
				return size;
			buf[o++] = in[i++];
			continue;
		}
		for (size_t k = 0; k < sizeof(subst) / sizeof(subst[0]); k++) {
			size_t fl = strlen(subst[k].from), tl = strlen(subst[k].to);

			/* scheme spellings only at the start */
			if (k >= 7 && i != 0)
				continue;
			if (fl <= len - i && memcmp(in + i, subst[k].from, fl) == 0) {
				if (o + tl >= size)
					return size;
				memcpy(buf + o, subst[k].to, tl);
				o += tl;
				i += fl;
				hit = true;
				break;
			}
		}
		if (hit)
			continue;
		if (o + 1 >= size)
			return size;
		buf[o++] = in[i++];
	}
	buf[o] = '\0';
	return o;
}

/* A host (IP, [IPv6], name) with an optional ":port". */
static int parse_host(const char *s, size_t len, struct matcher__value *out, const char **why)
{
	const char *colon;
	uint64_t port;

	if (len == 0) {
		*why = "empty value";
		return -EINVAL;
	}
	if (s[0] == '[') {
		const char *end = memchr(s, ']', len);

		if (end == NULL) {
			*why = "unbalanced [";
			return -EINVAL;
		}
		if ((size_t)(end - s) + 1 != len) {
			if (end[1] != ':' ||
			    !parse_uint(end + 2, len - (size_t)(end - s) - 2, 65535, &port)) {
				*why = "bad port";
				return -EINVAL;
			}
		}
		if (memchr(s + 1, ':', (size_t)(end - s - 1)) == NULL ||
		    parse_ip(s + 1, (size_t)(end - s - 1), out) != 0) {
			*why = "bad IPv6 address";
			return -EINVAL;
		}
		return 0;
	}
	colon = memchr(s, ':', len);
	if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) != NULL) {
		/* two or more colons: an IPv6 address or prefix */
		if (parse_ip(s, len, out) != 0) {
			*why = "bad IPv6 address";
			return -EINVAL;
		}
		return 0;
	}
	if (colon != NULL) {
		/* host:port */
		if (!parse_uint(colon + 1, len - (size_t)(colon - s) - 1, 65535, &port)) {
			*why = "bad port";
			return -EINVAL;
		}
		len = (size_t)(colon - s);
		if (len == 0) {
			*why = "empty host";
			return -EINVAL;
		}
	}
	if (parse_ip(s, len, out) == 0)
		return 0;
	if (matcher__parse_asn(s, len, false, &out->asn) == 0 && colon == NULL) {
		memset(&out->ip, 0, sizeof(out->ip));
		out->type = MATCHER_TYPE_ASN;
		out->plen = 0;
		out->domain[0] = '\0';
		return 0;
	}
	if (looks_numeric(s, len)) {
		*why = "bad IP address";
		return -EINVAL;
	}
	/* "*.example.com" and ".example.com": the name and its subdomains */
	if (len > 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	} else if (len > 1 && s[0] == '.') {
		s++;
		len--;
	}
	memset(out, 0, sizeof(*out));
	if (normalize_domain(s, len, out->domain, sizeof(out->domain), true) < 0) {
		*why = "not an IP, domain or AS number";
		return -EINVAL;
	}
	out->type = MATCHER_TYPE_DOMAIN;
	return 0;
}

int matcher__parse_value(const char *text, size_t len, struct matcher__value *out, const char **why)
{
	char buf[1024];
	const char *s, *scheme, *host, *end;
	size_t n;
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	while (len > 0 && isspace((unsigned char)text[0])) {
		text++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len == 0) {
		*why = "empty value";
		return -EINVAL;
	}
	if (len >= sizeof(buf)) {
		*why = "value too long";
		return -EINVAL;
	}
	n = refang(text, len, buf, sizeof(buf));
	if (n >= sizeof(buf)) {
		*why = "value too long";
		return -EINVAL;
	}
	s = buf;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\0' || isspace((unsigned char)buf[i])) {
			*why = "not an IP, domain or AS number";
			return -EINVAL;
		}
	}
	scheme = strstr(s, "://");
	if (scheme != NULL) {
		/* URL (RFC 3986 section 3): scheme "://" [userinfo "@"] host [":" port] path */
		for (const char *p = s; p < scheme; p++) {
			if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.') {
				*why = "not an IP, domain or AS number";
				return -EINVAL;
			}
		}
		if (scheme == s) {
			*why = "url without scheme";
			return -EINVAL;
		}
		host = scheme + 3;
	} else {
		host = s;
	}
	end = host + strcspn(host, "/?#");
	if (*end != '\0') {
		/* A prefix "a.b.c.d/n" or "x::/n" is not a path. */
		if (scheme == NULL && *end == '/') {
			struct matcher__value tmp;

			if (parse_ip(host, strlen(host), out) == 0)
				return 0;
			if (end[1] != '\0' && strspn(end + 1, "0123456789") == strlen(end + 1) &&
			    parse_ip(host, (size_t)(end - host), &tmp) == 0) {
				*why = "bad prefix length";
				return -EINVAL;
			}
		}
		if (!(end[0] == '/' && end[1] == '\0')) {
			*why = "url with path";
			return -EINVAL;
		}
	}
	if (scheme != NULL) {
		const char *at = memchr(host, '@', (size_t)(end - host));

		if (at != NULL)
			host = at + 1;
	}
	return parse_host(host, (size_t)(end - host), out, why);
}
