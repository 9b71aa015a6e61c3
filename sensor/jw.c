/*
 * JSON line writer shared by the observation and alert encoders (see jw.h).
 */
#include "sensor/jw.h"

#include <netinet/in.h>

void jw_u64(struct jw *w, uint64_t v)
{
	char tmp[20];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	jw_put(w, tmp + n, sizeof(tmp) - n);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when not valid (RFC 3629). */
static size_t jw_utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void jw_str(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i = 0;

	jw_putc(w, '"');
	while (i < n) {
		unsigned char c = u[i];
		char esc[6];
		size_t ul;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (ul = jw_utf8_len(u + i, n - i)) > 0) {
			i += ul;
			continue;
		}
		jw_put(w, s + run, i - run);
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jw_put(w, esc, 2);
		} else {
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			jw_put(w, esc, 6);
		}
		run = ++i;
	}
	jw_put(w, s + run, n - run);
	jw_putc(w, '"');
}

size_t jw_name_byte(uint8_t c, char *out)
{
	if (c >= 0x21 && c <= 0x7e && c != '\\') {
		if (c == '"') {
			out[0] = '\\';
			out[1] = '"';
			return 2;
		}
		out[0] = (char)c;
		return 1;
	}
	/* \DDD as in DNS presentation form, the backslash JSON-escaped */
	out[0] = '\\';
	out[1] = '\\';
	out[2] = (char)('0' + c / 100);
	out[3] = (char)('0' + c / 10 % 10);
	out[4] = (char)('0' + c % 10);
	return 5;
}

void jw_name(struct jw *w, const uint8_t *name, size_t len)
{
	size_t run = 0;

	jw_putc(w, '"');
	for (size_t i = 0; i < len; i++) {
		uint8_t c = name[i];
		char esc[5];

		if (c >= 0x21 && c <= 0x7e && c != '\\' && c != '"')
			continue;
		jw_put(w, (const char *)name + run, i - run);
		run = i + 1;
		jw_put(w, esc, jw_name_byte(c, esc));
	}
	jw_put(w, (const char *)name + run, len - run);
	jw_putc(w, '"');
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian calendar). */
static void jw_civil(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
	uint64_t z = days + 719468;
	uint64_t era = z / 146097;
	uint64_t doe = z - era * 146097;
	uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint64_t mp = (5 * doy + 2) / 153;

	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

static void jw_digits(char *out, unsigned v, unsigned n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void jw_sec_text(uint64_t sec, char *out)
{
	unsigned y, mo, d, s = (unsigned)(sec % 86400);

	jw_civil(sec / 86400, &y, &mo, &d);
	jw_digits(out, y % 10000, 4);
	out[4] = '-';
	jw_digits(out + 5, mo, 2);
	out[7] = '-';
	jw_digits(out + 8, d, 2);
	out[10] = 'T';
	jw_digits(out + 11, s / 3600, 2);
	out[13] = ':';
	jw_digits(out + 14, s / 60 % 60, 2);
	out[16] = ':';
	jw_digits(out + 17, s % 60, 2);
}

void jw_usec_text(uint64_t ts_ns, char *out)
{
	out[0] = '.';
	jw_digits(out + 1, (unsigned)(ts_ns % 1000000000u / 1000u), 6);
	out[7] = 'Z';
}

size_t jw_time_text(uint64_t ts_ns, char *out)
{
	jw_sec_text(ts_ns / 1000000000u, out);
	jw_usec_text(ts_ns, out + 19);
	out[27] = '\0';
	return 27;
}

void jw_time(struct jw *w, uint64_t ts_ns)
{
	char t[28];

	jw_putc(w, '"');
	jw_put(w, t, jw_time_text(ts_ns, t));
	jw_putc(w, '"');
}

void jw_addr(struct jw *w, const struct addr *a)
{
	char buf[64];
	const char *s = addr_str(a, buf, sizeof(buf));

	jw_putc(w, '"');
	jw_put(w, s, strlen(s));
	jw_putc(w, '"');
}

void jw_transport(struct jw *w, uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		JW_PUTL(w, "\"tcp\"");
		break;
	case IPPROTO_UDP:
		JW_PUTL(w, "\"udp\"");
		break;
	case IPPROTO_ICMP:
		JW_PUTL(w, "\"icmp\"");
		break;
	case IPPROTO_ICMPV6:
		JW_PUTL(w, "\"ipv6-icmp\"");
		break;
	default:
		jw_putc(w, '"');
		jw_u64(w, proto);
		jw_putc(w, '"');
		break;
	}
}
