/*
 * HTTP/1.x request heads (RFC 9112 3, RFC 9110 7.2): recognises a request line by its method
 * and returns the Host header value without port, the head length and the body length so
 * that names.c can walk pipelined requests of a connection. Reads through cursors only.
 */
#include <string.h>

#include "sensor/cursor.h"
#include "sensor/names.h"

static const char *const http_methods[] = {
	"GET",
	"POST",
	"HEAD",
	"PUT",
	"DELETE",
	"OPTIONS",
	"CONNECT",
	"TRACE",
	"PATCH",
	"PROPFIND",
	"PROPPATCH",
	"MKCOL",
	"COPY",
	"MOVE",
	"LOCK",
	"UNLOCK",
	"SEARCH",
	"REPORT",
	"MKACTIVITY",
	"CHECKOUT",
	"MERGE",
	"NOTIFY",
	"SUBSCRIBE",
	"UNSUBSCRIBE",
	"M-SEARCH",
	"PURGE",
	"LINK",
	"UNLINK",
	"MKCALENDAR",
	"ACL",
	"BIND",
	"REBIND",
	"UNBIND",
	"VERSION-CONTROL",
	"UPDATE",
	"LABEL",
	"BASELINE-CONTROL",
	"MKWORKSPACE",
	"ORDERPATCH",
	"CHECKIN",
	"UNCHECKOUT",
	"POLL",
};

/* Byte i of the cursor's buffer, 0 when out of range (never reads past it). */
static uint8_t http_byte(const struct cursor *c, size_t i)
{
	struct cursor t = *c;

	cursor_seek(&t, i);
	return cursor_u8(&t);
}

static bool http_is_blank(uint8_t b)
{
	return b == ' ' || b == '\t' || b == '\r';
}

static uint8_t http_lower(uint8_t b)
{
	return b >= 'A' && b <= 'Z' ? (uint8_t)(b + ('a' - 'A')) : b;
}

bool names_http_is_request(const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++) {
		size_t ml = strlen(http_methods[i]);
		struct cursor c;

		cursor_init(&c, data, len);
		if (!cursor_need(&c, ml + 1))
			continue;
		if (memcmp(cursor_ptr(&c), http_methods[i], ml) == 0 && http_byte(&c, ml) == ' ')
			return true;
	}
	return false;
}

/* Does the header line [start, end) have the name nm (lower case), followed by ':'? */
static bool http_header_is(const struct cursor *c, size_t start, size_t end, const char *nm,
                           size_t *value)
{
	size_t n = strlen(nm);

	if (end - start < n + 1)
		return false;
	for (size_t i = 0; i < n; i++)
		if (http_lower(http_byte(c, start + i)) != (uint8_t)nm[i])
			return false;
	if (http_byte(c, start + n) != ':')
		return false;
	*value = start + n + 1;
	return true;
}

/* Reduce the Host value [*s, *e) to the host: trim blanks, strip the port and brackets. */
static void http_host_trim(const struct cursor *c, size_t *s, size_t *e)
{
	size_t colon = 0, ncolon = 0;

	while (*s < *e && http_is_blank(http_byte(c, *s)))
		(*s)++;
	while (*e > *s && http_is_blank(http_byte(c, *e - 1)))
		(*e)--;
	if (*s < *e && http_byte(c, *s) == '[') {
		/* RFC 3986 3.2.2 IP-literal */
		for (size_t i = *s + 1; i < *e; i++) {
			if (http_byte(c, i) == ']') {
				(*s)++;
				*e = i;
				return;
			}
		}
		return;
	}
	for (size_t i = *s; i < *e; i++) {
		if (http_byte(c, i) == ':') {
			colon = i;
			ncolon++;
		}
	}
	if (ncolon != 1)
		return; /* no port, or a bare IPv6 address: keep as is */
	for (size_t i = colon + 1; i < *e; i++) {
		uint8_t b = http_byte(c, i);

		if (b < '0' || b > '9')
			return;
	}
	*e = colon;
}

int names_http_host(const uint8_t *data, size_t len, const uint8_t **host, size_t *host_len,
                    size_t *head_len, uint64_t *body_len)
{
	struct cursor c;
	bool first = true, found = false;
	size_t hs = 0, he = 0;
	uint64_t clen = 0;

	*host = NULL;
	*host_len = 0;
	*head_len = 0;
	*body_len = 0;
	if (!names_http_is_request(data, len))
		return -1;
	cursor_init(&c, data, len);
	for (;;) {
		const uint8_t *nl = memchr(cursor_ptr(&c), '\n', cursor_left(&c));
		size_t start = c.pos, end, v;

		if (nl == NULL)
			return -2; /* RFC 9112 2.2: the head ends with an empty line */
		end = start + (size_t)(nl - cursor_ptr(&c));
		cursor_seek(&c, end + 1);
		if (end > start && http_byte(&c, end - 1) == '\r')
			end--;
		if (first) {
			first = false;
			continue;
		}
		if (end == start)
			break;
		if (!found && http_header_is(&c, start, end, "host", &v)) {
			hs = v;
			he = end;
			http_host_trim(&c, &hs, &he);
			found = true;
		} else if (http_header_is(&c, start, end, "content-length", &v)) {
			clen = 0;
			for (size_t i = v; i < end; i++) {
				uint8_t b = http_byte(&c, i);

				if (b >= '0' && b <= '9' && clen < (UINT64_C(1) << 56))
					clen = clen * 10 + (uint64_t)(b - '0');
			}
		} else if (http_header_is(&c, start, end, "transfer-encoding", &v)) {
			clen = UINT64_MAX; /* chunked: the caller resynchronises on the next head */
		}
	}
	*head_len = c.pos;
	*body_len = clen;
	if (!found || he == hs)
		return 0;
	cursor_seek(&c, hs);
	*host = cursor_ptr(&c);
	*host_len = he - hs;
	return 1;
}
