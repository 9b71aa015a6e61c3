/*
 * TLS ClientHello server_name (RFC 8446 4.1.2, RFC 5246 7.4.1.2, RFC 6066 3): finds the SNI
 * host_name in one handshake message or in a stream of TLS records that carry it. Used by
 * names.c for TCP flows and QUIC CRYPTO streams, and by tests and fuzz targets directly.
 */
#include <string.h>

#include "sensor/cursor.h"
#include "sensor/names.h"

enum {
	TLS_CT_HANDSHAKE = 22,
	TLS_HS_CLIENT_HELLO = 1,
	TLS_EXT_SERVER_NAME = 0,
	TLS_SNI_HOST_NAME = 0,
	TLS_RECORD_MAX = 16384 + 2048, /* TLSCiphertext bound (RFC 5246 6.2.3) */
};

/* Walk the extensions of a ClientHello body; c stands at the extensions length. */
static int tls_hello_extensions(struct cursor *c, const uint8_t **name, size_t *name_len)
{
	struct cursor ext;
	uint16_t total;

	if (cursor_left(c) == 0)
		return 0; /* no extensions at all: a valid hello without SNI */
	total = cursor_u16(c);
	if (c->err || total > cursor_left(c))
		return -1;
	cursor_init(&ext, cursor_ptr(c), total);
	while (cursor_left(&ext) > 0) {
		uint16_t type = cursor_u16(&ext);
		uint16_t len = cursor_u16(&ext);
		struct cursor list;
		uint16_t list_len;

		if (ext.err || len > cursor_left(&ext))
			return -1;
		if (type != TLS_EXT_SERVER_NAME) {
			cursor_skip(&ext, len);
			continue;
		}
		/* RFC 6066 3: ServerNameList, entries of name_type + opaque HostName<1..2^16-1> */
		cursor_init(&list, cursor_ptr(&ext), len);
		list_len = cursor_u16(&list);
		if (list.err || list_len > cursor_left(&list))
			return -1;
		list.len = list.pos + list_len;
		while (cursor_left(&list) > 0) {
			uint8_t nt = cursor_u8(&list);
			uint16_t nl = cursor_u16(&list);

			if (list.err || nl > cursor_left(&list))
				return -1;
			if (nt == TLS_SNI_HOST_NAME && nl > 0) {
				*name = cursor_ptr(&list);
				*name_len = nl;
				return 1;
			}
			cursor_skip(&list, nl);
		}
		return 0;
	}
	return 0;
}

/* SNI of the handshake message at hs[0..len). */
static int tls_hello_sni(const uint8_t *hs, size_t len, const uint8_t **name, size_t *name_len)
{
	struct cursor c;
	uint8_t type;
	uint32_t body_len;
	uint8_t n;

	cursor_init(&c, hs, len);
	type = cursor_u8(&c);
	body_len = cursor_u24(&c);
	if (c.err)
		return len == 0 || type == TLS_HS_CLIENT_HELLO ? -2 : -1;
	if (type != TLS_HS_CLIENT_HELLO)
		return -1;
	if (body_len > cursor_left(&c))
		return -2;
	c.len = c.pos + body_len;
	cursor_skip(&c, 2 + 32); /* legacy_version, random */
	n = cursor_u8(&c);       /* legacy_session_id<0..32> */
	if (n > 32)
		return -1;
	cursor_skip(&c, n);
	cursor_skip(&c, cursor_u16(&c)); /* cipher_suites<2..2^16-2> */
	cursor_skip(&c, cursor_u8(&c));  /* legacy_compression_methods<1..2^8-1> */
	if (c.err)
		return -1;
	return tls_hello_extensions(&c, name, name_len);
}

/*
 * Gather the handshake bytes of the record stream data[0..len) (RFC 8446 5.1) into
 * scratch until the first handshake message is complete. Sets *hs and *hs_len to the message:
 * inside data when one record holds it all, else in scratch.
 */
static int tls_unrecord(const uint8_t *data, size_t len, uint8_t *scratch, size_t scratch_size,
                        const uint8_t **hs, size_t *hs_len)
{
	struct cursor c;
	size_t got = 0, want = 0;

	cursor_init(&c, data, len);
	while (cursor_left(&c) > 0) {
		uint8_t type = cursor_u8(&c);
		uint8_t major = cursor_u8(&c);
		uint16_t rec_len;
		const uint8_t *frag;

		cursor_skip(&c, 1); /* minor version */
		rec_len = cursor_u16(&c);
		if (c.err)
			return -2;
		if (type != TLS_CT_HANDSHAKE || major != 3 || rec_len == 0 ||
		    rec_len > TLS_RECORD_MAX)
			return -1;
		frag = cursor_ptr(&c);
		if (got == 0 && rec_len <= cursor_left(&c) && rec_len >= 4) {
			/* common case: the whole hello in the first record, parse it in place */
			struct cursor h;
			uint32_t hl;

			cursor_init(&h, frag, rec_len);
			cursor_skip(&h, 1);
			hl = cursor_u24(&h);
			if (hl <= cursor_left(&h)) {
				*hs = frag;
				*hs_len = 4 + (size_t)hl;
				return 1;
			}
		}
		if (rec_len > cursor_left(&c)) {
			/* partial record: keep what is there, it may already complete the message
			 */
			rec_len = (uint16_t)cursor_left(&c);
		}
		if (got + rec_len > scratch_size)
			return -1;
		memcpy(scratch + got, frag, rec_len);
		got += rec_len;
		cursor_skip(&c, rec_len);
		if (want == 0 && got >= 4) {
			struct cursor h;

			cursor_init(&h, scratch, got);
			cursor_skip(&h, 1);
			want = 4 + (size_t)cursor_u24(&h);
			if (want > scratch_size)
				return -1;
		}
		if (want > 0 && got >= want) {
			*hs = scratch;
			*hs_len = want;
			return 1;
		}
	}
	if (got > 0) {
		*hs = scratch;
		*hs_len = got;
		return 0; /* incomplete, but maybe enough to show the type */
	}
	return -2;
}

int names_tls_sni_buf(const uint8_t *data, size_t len, bool is_records, uint8_t *scratch,
                      size_t scratch_size, const uint8_t **name, size_t *name_len)
{
	const uint8_t *hs;
	size_t hs_len;
	int r;

	*name = NULL;
	*name_len = 0;
	if (!is_records)
		return tls_hello_sni(data, len, name, name_len);
	r = tls_unrecord(data, len, scratch, scratch_size, &hs, &hs_len);
	if (r < 0)
		return r;
	r = tls_hello_sni(hs, hs_len, name, name_len);
	return r;
}

int names_tls_sni(const uint8_t *data, size_t len, bool is_records, const uint8_t **name,
                  size_t *name_len)
{
	static _Thread_local uint8_t scratch[NAMES_HELLO_MAX];

	return names_tls_sni_buf(data, len, is_records, scratch, sizeof(scratch), name, name_len);
}
