/*
 * Text form of the sensor's IP addresses (struct addr, pkt.h): RFC 5952 for IPv6, dotted quad
 * for IPv4, which the sensor stores IPv4-mapped. Used by the observation and alert encoders.
 * Written out by hand rather than with inet_ntop() so that the form does not depend on the C
 * library (glibc, for one, prints ::a.b.c.d for IPv4-compatible addresses).
 */
#include <stddef.h>

#include "sensor/pkt.h"

/* Longest text: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" plus NUL is 40; 46 is INET6_ADDRSTRLEN.
 */
enum {
	ADDR_STR_MAX = 46
};

static char *addr_put_dec(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *addr_put_hex(char *p, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 12;

	/* RFC 5952 4.1: no leading zeros; 4.3: lower case. */
	while (shift > 0 && (v >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		*p++ = hex[(v >> shift) & 0xf];
	return p;
}

const char *addr_str(const struct addr *a, char *buf, unsigned buflen)
{
	char tmp[ADDR_STR_MAX];
	char *p = tmp;
	unsigned w[8];
	int best = -1, best_len = 0;
	size_t n;

	if (buf == NULL || buflen == 0)
		return "";
	if (addr_is_v4(a)) {
		for (int i = 12; i < 16; i++) {
			p = addr_put_dec(p, a->b[i]);
			if (i < 15)
				*p++ = '.';
		}
	} else {
		for (int i = 0; i < 8; i++)
			w[i] = (unsigned)a->b[2 * i] << 8 | a->b[2 * i + 1];
		/* RFC 5952 4.2: compress the longest run of two or more zero fields, the first on
		 * a tie. */
		for (int i = 0; i < 8;) {
			int j = i;

			while (j < 8 && w[j] == 0)
				j++;
			if (j - i > best_len && j - i >= 2) {
				best = i;
				best_len = j - i;
			}
			i = j > i ? j : i + 1;
		}
		for (int i = 0; i < 8; i++) {
			if (i == best) {
				*p++ = ':';
				*p++ = ':';
				i += best_len - 1;
				continue;
			}
			if (i > 0 && i != best + best_len)
				*p++ = ':';
			p = addr_put_hex(p, w[i]);
		}
	}
	n = (size_t)(p - tmp);
	if (n >= buflen) {
		buf[0] = '\0'; /* too small: an empty string, never a partial address */
		return buf;
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[i];
	buf[n] = '\0';
	return buf;
}
