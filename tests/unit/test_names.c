/*
 * Unit tests of the sensor's name parsers (sensor/names*.c): TLS ClientHello SNI from
 * handshake messages and record streams, HTTP/1.x Host, QUIC Initial decryption against the
 * RFC 9001 and RFC 9369 test vectors, CRYPTO reassembly, TCP segment reassembly through
 * names_initiator_payload(), and real captures of the shared corpus (argv[1] = pcaps dir).
 */
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "check.h"
#include "sensor/decode.h"
#include "sensor/names.h"

static const char *pcaps_dir;

static size_t unhex(const char *hex, uint8_t *out, size_t size)
{
	size_t n = 0;

	while (*hex != '\0' && n < size) {
		char tmp[3];

		if (*hex == ' ' || *hex == '\n') {
			hex++;
			continue;
		}
		tmp[0] = hex[0];
		tmp[1] = hex[1];
		tmp[2] = '\0';
		out[n++] = (uint8_t)strtoul(tmp, NULL, 16);
		hex += 2;
	}
	return n;
}

static bool same_hex(const uint8_t *b, const char *hex)
{
	uint8_t want[64];
	size_t n = unhex(hex, want, sizeof(want));

	return memcmp(b, want, n) == 0;
}

/* ---- what emit() saw ---- */

struct seen {
	unsigned n;
	enum names_kind kind[16];
	char name[16][300];
};

static void on_name(void *arg, enum names_kind kind, const uint8_t *name, size_t len)
{
	struct seen *s = arg;

	if (s->n >= 16)
		return;
	s->kind[s->n] = kind;
	if (len >= sizeof(s->name[0]))
		len = sizeof(s->name[0]) - 1;
	memcpy(s->name[s->n], name, len);
	s->name[s->n][len] = '\0';
	s->n++;
}

/* ---- a ClientHello builder ---- */

static size_t put16(uint8_t *b, size_t o, unsigned v)
{
	b[o] = (uint8_t)(v >> 8);
	b[o + 1] = (uint8_t)v;
	return o + 2;
}

/* A TLS 1.3-style ClientHello handshake message with SNI sni (NULL: none) and pad bytes. */
static size_t build_hello(uint8_t *b, const char *sni, size_t pad)
{
	size_t o = 4, ext_len_at, body;

	o = put16(b, o, 0x0303);
	memset(b + o, 0xab, 32);
	o += 32;
	b[o++] = 0; /* session id */
	o = put16(b, o, 4);
	o = put16(b, o, 0x1301);
	o = put16(b, o, 0x1302);
	b[o++] = 1;
	b[o++] = 0;
	ext_len_at = o;
	o += 2;
	o = put16(b, o, 0x0a0a); /* GREASE, empty */
	o = put16(b, o, 0);
	if (sni != NULL) {
		size_t l = strlen(sni);

		o = put16(b, o, 0);
		o = put16(b, o, (unsigned)(l + 5));
		o = put16(b, o, (unsigned)(l + 3));
		b[o++] = 0;
		o = put16(b, o, (unsigned)l);
		memcpy(b + o, sni, l);
		o += l;
	}
	o = put16(b, o, 0x0015); /* padding */
	o = put16(b, o, (unsigned)pad);
	memset(b + o, 0, pad);
	o += pad;
	put16(b, ext_len_at, (unsigned)(o - ext_len_at - 2));
	body = o - 4;
	b[0] = 1;
	b[1] = (uint8_t)(body >> 16);
	b[2] = (uint8_t)(body >> 8);
	b[3] = (uint8_t)body;
	return o;
}

/* Wrap hs[0..len) into TLS records of at most chunk bytes each. */
static size_t recordify(uint8_t *out, const uint8_t *hs, size_t len, size_t chunk)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += chunk) {
		size_t n = len - i < chunk ? len - i : chunk;

		out[o++] = 22;
		out[o++] = 3;
		out[o++] = 1;
		o = put16(out, o, (unsigned)n);
		memcpy(out + o, hs + i, n);
		o += n;
	}
	return o;
}

/* ---- TLS ---- */

static void test_tls_sni_from_handshake_and_single_record(void)
{
	uint8_t hs[600], rec[700];
	size_t n = build_hello(hs, "www.example.org", 10), rn;
	const uint8_t *name;
	size_t len;

	CHECK_EQ(names_tls_sni(hs, n, false, &name, &len), 1);
	CHECK_EQ(len, 15);
	CHECK(memcmp(name, "www.example.org", 15) == 0);
	CHECK(name > hs && name < hs + n); /* borrowed from the input */
	rn = recordify(rec, hs, n, 16384);
	CHECK_EQ(names_tls_sni(rec, rn, true, &name, &len), 1);
	CHECK(memcmp(name, "www.example.org", 15) == 0);
	CHECK(name > rec && name < rec + rn);
	/* near miss: the same bytes read as a raw handshake are not a ClientHello */
	CHECK_EQ(names_tls_sni(rec, rn, false, &name, &len), -1);
}

static void test_tls_hello_split_across_records_is_gathered(void)
{
	uint8_t hs[2000], rec[2600], scratch[NAMES_HELLO_MAX];
	size_t n = build_hello(hs, "split.example.net", 1200), rn;
	const uint8_t *name;
	size_t len;

	/* 7-byte records cut the SNI itself across records */
	rn = recordify(rec, hs, n, 7);
	CHECK_EQ(names_tls_sni_buf(rec, rn, true, scratch, sizeof(scratch), &name, &len), 1);
	CHECK_EQ(len, 17);
	CHECK(memcmp(name, "split.example.net", 17) == 0);
	CHECK_EQ(names_tls_sni(rec, rn, true, &name, &len), 1);
	CHECK(memcmp(name, "split.example.net", 17) == 0);
	/* every cut before the end of the hello asks for more */
	for (size_t cut = 0; cut < rn; cut += 13)
		CHECK_EQ(names_tls_sni(rec, cut, true, &name, &len), -2);
	/* a scratch too small for the hello is not overrun */
	CHECK_EQ(names_tls_sni_buf(rec, rn, true, scratch, 100, &name, &len), -1);
}

static void test_tls_hello_without_sni_returns_zero(void)
{
	uint8_t hs[600];
	size_t n = build_hello(hs, NULL, 10);
	const uint8_t *name;
	size_t len;

	CHECK_EQ(names_tls_sni(hs, n, false, &name, &len), 0);
	CHECK(name == NULL);
	CHECK_EQ(len, 0);
}

static void test_tls_malformed_lengths_are_rejected(void)
{
	uint8_t hs[600], bad[600];
	size_t n = build_hello(hs, "a.example", 10);
	const uint8_t *name;
	size_t len;
	/* offsets in build_hello's layout */
	const size_t sid = 4 + 2 + 32, ext_len = sid + 1 + 2 + 4 + 2, sni_ext = ext_len + 2 + 4;

	memcpy(bad, hs, n);
	bad[sid] = 33; /* session id longer than 32 */
	CHECK_EQ(names_tls_sni(bad, n, false, &name, &len), -1);
	memcpy(bad, hs, n);
	put16(bad, ext_len, 0xffff); /* extensions past the hello */
	CHECK_EQ(names_tls_sni(bad, n, false, &name, &len), -1);
	memcpy(bad, hs, n);
	put16(bad, sni_ext + 2, 0x0fff); /* SNI extension past the extensions */
	CHECK_EQ(names_tls_sni(bad, n, false, &name, &len), -1);
	memcpy(bad, hs, n);
	put16(bad, sni_ext + 4, 200); /* server_name_list past the extension */
	CHECK_EQ(names_tls_sni(bad, n, false, &name, &len), -1);
	memcpy(bad, hs, n);
	put16(bad, sni_ext + 7, 200); /* host_name past the list */
	CHECK_EQ(names_tls_sni(bad, n, false, &name, &len), -1);
	memcpy(bad, hs, n);
	bad[0] = 2; /* a ServerHello */
	CHECK_EQ(names_tls_sni(bad, n, false, &name, &len), -1);
	/* the untouched hello still parses */
	CHECK_EQ(names_tls_sni(hs, n, false, &name, &len), 1);
	/* a record of another content type, and a record length of 0 */
	uint8_t rec[700];
	size_t rn = recordify(rec, hs, n, 16384);

	rec[0] = 23;
	CHECK_EQ(names_tls_sni(rec, rn, true, &name, &len), -1);
	rec[0] = 22;
	put16(rec, 3, 0);
	CHECK_EQ(names_tls_sni(rec, rn, true, &name, &len), -1);
}

/* ---- TCP reassembly through names_initiator_payload ---- */

static struct pkt tcp_pkt(const uint8_t *payload, size_t len, uint32_t seq)
{
	struct pkt p = { 0 };

	p.proto = IPPROTO_TCP;
	p.family = ADDR_V4;
	p.sport = 40000;
	p.dport = 443;
	p.tcp_seq = seq;
	p.tcp_flags = 0x18;
	p.payload = payload;
	p.payload_len = (uint32_t)len;
	p.payload_wire_len = (uint32_t)len;
	return p;
}

static void test_tls_hello_spanning_segments_is_reassembled(void)
{
	static uint8_t hs[4000], rec[4200];
	size_t n = build_hello(hs, "segments.example.com", 2500), rn;
	struct names_ctx *ctx = names_ctx_new(2);
	struct names_state st = { 0 };
	struct seen s = { 0 };
	struct pkt p;
	const uint32_t isn = 0xfffffc00; /* the sequence numbers wrap inside the hello */

	rn = recordify(rec, hs, n, 1000); /* several records, across segments */
	CHECK(ctx != NULL);
	p = tcp_pkt(rec, 1400, isn);
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK_EQ(s.n, 0);
	CHECK(!names_is_done(&st));
	p = tcp_pkt(rec, 1400, isn); /* a retransmission changes nothing */
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	p = tcp_pkt(rec + 1000, 1400, isn + 1000); /* overlapping the first */
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK_EQ(s.n, 0);
	p = tcp_pkt(rec + 2400, rn - 2400, isn + 2400);
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.kind[0], NAMES_TLS_SNI);
	CHECK_STR(s.name[0], "segments.example.com");
	CHECK(names_is_done(&st));
	CHECK_U64(names_ctx_counters(ctx)[NAMES_tls_client_hellos], 1);
	names_release(ctx, &st);

	/* a gap: the hello is given up and counted, the buffer goes back to the pool */
	struct names_state st2 = { 0 };

	s.n = 0;
	p = tcp_pkt(rec, 1400, 1000);
	names_initiator_payload(ctx, &st2, &p, on_name, &s);
	p = tcp_pkt(rec + 2400, rn - 2400, 1000 + 2400);
	names_initiator_payload(ctx, &st2, &p, on_name, &s);
	CHECK_EQ(s.n, 0);
	CHECK(names_is_done(&st2));
	CHECK_U64(names_ctx_counters(ctx)[NAMES_reasm_out_of_order], 1);
	names_release(ctx, &st2);
	names_ctx_free(ctx);
}

static void test_reassembly_pool_exhaustion_is_counted(void)
{
	static uint8_t hs[4000], rec[4200];
	size_t n = build_hello(hs, "pool.example", 2500);
	struct names_ctx *ctx = names_ctx_new(1);
	struct names_state a = { 0 }, b = { 0 };
	struct seen s = { 0 };
	struct pkt p;

	recordify(rec, hs, n, 16384);
	p = tcp_pkt(rec, 1400, 1);
	names_initiator_payload(ctx, &a, &p, on_name, &s);
	names_initiator_payload(ctx, &b, &p, on_name, &s);
	CHECK_U64(names_ctx_counters(ctx)[NAMES_reasm_pool_empty], 1);
	CHECK(names_is_done(&b));
	CHECK(!names_is_done(&a));
	names_release(ctx, &a);
	/* the released buffer serves the next flow */
	struct names_state c = { 0 };

	names_initiator_payload(ctx, &c, &p, on_name, &s);
	CHECK(!names_is_done(&c));
	CHECK_U64(names_ctx_counters(ctx)[NAMES_reasm_pool_empty], 1);
	names_release(ctx, &c);
	names_ctx_free(ctx);
}

static void test_unrecognised_tcp_flow_is_done_after_a_few_packets(void)
{
	static const uint8_t junk[] = "SSH-2.0-OpenSSH_9.6\r\n";
	struct names_ctx *ctx = names_ctx_new(1);
	struct names_state st = { 0 };
	struct seen s = { 0 };
	struct pkt p = tcp_pkt(junk, sizeof(junk) - 1, 1);
	unsigned i;

	for (i = 0; i < 100 && !names_is_done(&st); i++)
		names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK(names_is_done(&st));
	CHECK(i >= 2 && i <= 16);
	CHECK_EQ(s.n, 0);
	names_ctx_free(ctx);
}

/* ---- HTTP ---- */

static int http_host(const char *req, char *out, size_t size)
{
	const uint8_t *h;
	size_t hl, head;
	uint64_t body;
	int r = names_http_host((const uint8_t *)req, strlen(req), &h, &hl, &head, &body);

	out[0] = '\0';
	if (r == 1 && hl < size) {
		memcpy(out, h, hl);
		out[hl] = '\0';
	}
	return r;
}

static void test_http_host_is_trimmed_and_loses_its_port(void)
{
	char h[64];

	CHECK_EQ(http_host("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", h, sizeof(h)), 1);
	CHECK_STR(h, "www.example.com");
	CHECK_EQ(http_host("GET / HTTP/1.1\r\nhOsT:   a.example:8080  \r\n\r\n", h, sizeof(h)), 1);
	CHECK_STR(h, "a.example");
	CHECK_EQ(http_host("POST /x HTTP/1.0\nHost: [::1]:8080\n\n", h, sizeof(h)), 1);
	CHECK_STR(h, "::1");
	CHECK_EQ(http_host("PROPFIND / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n", h, sizeof(h)), 1);
	CHECK_STR(h, "2001:db8::1");
	CHECK_EQ(http_host("GET / HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n", h, sizeof(h)), 1);
	CHECK_STR(h, "192.0.2.1");
	/* a colon not followed by digits is not a port */
	CHECK_EQ(http_host("GET / HTTP/1.1\r\nHost: a.example:x\r\n\r\n", h, sizeof(h)), 1);
	CHECK_STR(h, "a.example:x");
	/* near misses: X-Host is not Host, no Host at all, an empty Host */
	CHECK_EQ(http_host("GET / HTTP/1.1\r\nX-Host: evil\r\n\r\n", h, sizeof(h)), 0);
	CHECK_EQ(http_host("GET / HTTP/1.1\r\nHost:  \r\n\r\n", h, sizeof(h)), 0);
	CHECK_EQ(http_host("GET / HTTP/1.1\r\nHost: a.example\r\n", h, sizeof(h)), -2);
	CHECK_EQ(http_host("GETX / HTTP/1.1\r\nHost: a.example\r\n\r\n", h, sizeof(h)), -1);
	CHECK_EQ(http_host("HTTP/1.1 200 OK\r\nHost: a.example\r\n\r\n", h, sizeof(h)), -1);
}

static void test_http_pipelined_requests_and_bodies(void)
{
	static const char stream[] =
	        "POST /a HTTP/1.1\r\nHost: one.example\r\nContent-Length: 40\r\n\r\n"
	        "GET /fake HTTP/1.1\r\nHost: body.example\r\n" /* 40 bytes of body */
	        "GET /b HTTP/1.1\r\nHost: two.example\r\n\r\n"
	        "HEAD /c HTTP/1.1\r\nHost: three.example:81\r\n\r\n";
	struct names_ctx *ctx = names_ctx_new(2);
	struct names_state st = { 0 };
	struct seen s = { 0 };
	struct pkt p = tcp_pkt((const uint8_t *)stream, sizeof(stream) - 1, 5000);

	p.dport = 80;
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK_EQ(s.n, 3);
	CHECK_STR(s.name[0], "one.example");
	CHECK_STR(s.name[1], "two.example");
	CHECK_STR(s.name[2], "three.example");
	CHECK_EQ(s.kind[2], NAMES_HTTP_HOST);
	CHECK_U64(names_ctx_counters(ctx)[NAMES_http_requests], 3);
	CHECK(!names_is_done(&st));
	names_release(ctx, &st);
	names_ctx_free(ctx);
}

static void test_http_requests_in_later_and_split_segments(void)
{
	static const char r1[] = "GET / HTTP/1.1\r\nHost: first.example\r\n\r\n";
	static const char r2[] = "GET /2 HTTP/1.1\r\nUser-Agent: x\r\nHo";
	static const char r3[] =
	        "st: second.example\r\n\r\nGET /3 HTTP/1.1\r\nHost: third.example\r\n\r\n";
	struct names_ctx *ctx = names_ctx_new(2);
	struct names_state st = { 0 };
	struct seen s = { 0 };
	uint32_t seq = 77;
	struct pkt p;

	p = tcp_pkt((const uint8_t *)r1, strlen(r1), seq);
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	seq += (uint32_t)strlen(r1);
	p = tcp_pkt((const uint8_t *)r2, strlen(r2), seq);
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK_EQ(s.n, 1);
	seq += (uint32_t)strlen(r2);
	p = tcp_pkt((const uint8_t *)r3, strlen(r3), seq);
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK_EQ(s.n, 3);
	CHECK_STR(s.name[0], "first.example");
	CHECK_STR(s.name[1], "second.example");
	CHECK_STR(s.name[2], "third.example");
	names_release(ctx, &st);
	names_ctx_free(ctx);
}

/* ---- QUIC ---- */

static const uint8_t rfc_dcid[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };

/* RFC 9001 A.2: the CRYPTO frame of the client Initial (a ClientHello for example.com) */
static const char rfc9001_crypto[] =
        "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
        "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
        "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
        "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
        "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
        "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
        "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
        "75300901100f088394c8f03e51570806048000ffff";

/* RFC 9001 A.2: the protected client Initial, 1200 bytes */
static const char rfc9001_packet[] =
        "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11"
        "d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399"
        "1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c"
        "8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212"
        "30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
        "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208"
        "4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec"
        "4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3"
        "485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db"
        "059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
        "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8"
        "9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556"
        "be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74"
        "68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a"
        "c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
        "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632"
        "291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964"
        "25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd"
        "14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff"
        "ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
        "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd"
        "c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73"
        "203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f"
        "cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e"
        "fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
        "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047"
        "90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2"
        "162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4"
        "40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0"
        "6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
        "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0"
        "be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400"
        "54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab"
        "760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9"
        "f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
        "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064"
        "7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241"
        "e221af44860018ab0856972e194cd934";

static void test_quic_v1_initial_keys_match_rfc9001(void)
{
	struct names_quic_crypto *qc = names_quic_crypto_new();
	struct names_quic_keys k;

	CHECK_EQ(names_quic_initial_keys(qc, 1, rfc_dcid, sizeof(rfc_dcid), &k), 0);
	CHECK(same_hex(k.secret,
	               "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea"));
	CHECK(same_hex(k.key, "1f369613dd76d5467730efcbe3b1a22d"));
	CHECK(same_hex(k.iv, "fa044b2f42a3fd3b46fb255c"));
	CHECK(same_hex(k.hp, "9f50449e04a0e810283a1e9933adedd2"));
	/* near miss: another DCID gives other keys; an unknown version none */
	CHECK_EQ(names_quic_initial_keys(qc, 1, rfc_dcid, 7, &k), 0);
	CHECK(!same_hex(k.key, "1f369613dd76d5467730efcbe3b1a22d"));
	CHECK_EQ(names_quic_initial_keys(qc, 0x12345678, rfc_dcid, 8, &k), -1);
	names_quic_crypto_free(qc);
}

static void test_quic_v2_initial_keys_match_rfc9369(void)
{
	struct names_quic_crypto *qc = names_quic_crypto_new();
	struct names_quic_keys k;

	CHECK_EQ(names_quic_initial_keys(qc, 0x6b3343cf, rfc_dcid, sizeof(rfc_dcid), &k), 0);
	CHECK(same_hex(k.secret,
	               "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b"));
	CHECK(same_hex(k.key, "8b1a0bc121284290a29e0971b5cd045d"));
	CHECK(same_hex(k.iv, "91f73e2351d8fa91660e909f"));
	CHECK(same_hex(k.hp, "45b95e15235d6f45a6b19cbcb0294ba9"));
	names_quic_crypto_free(qc);
}

struct crypto_frames {
	unsigned n;
	uint64_t off[8];
	size_t len[8];
	const uint8_t *data[8];
};

static void on_crypto(void *arg, uint64_t offset, const uint8_t *data, size_t len)
{
	struct crypto_frames *f = arg;

	if (f->n < 8) {
		f->off[f->n] = offset;
		f->len[f->n] = len;
		f->data[f->n] = data;
		f->n++;
	}
}

static void test_quic_rfc9001_client_initial_decrypts(void)
{
	static uint8_t pkt[1300], out[1300], frame[300];
	size_t n = unhex(rfc9001_packet, pkt, sizeof(pkt)), fl, consumed;
	struct crypto_frames f = { 0 };
	const uint8_t *name;
	size_t len;
	int r;

	fl = unhex(rfc9001_crypto, frame, sizeof(frame));
	CHECK_EQ(n, 1200);
	CHECK_EQ(fl, 245);
	r = names_quic_decrypt_initial(pkt, n, out, sizeof(out), &consumed);
	CHECK_EQ(r, 1162);
	CHECK_EQ(consumed, 1200);
	CHECK_MEM(out, frame, fl);
	CHECK_EQ(out[fl], 0); /* PADDING to the end */
	CHECK_EQ(out[1161], 0);
	CHECK_EQ(names_quic_frames(out, (size_t)r, on_crypto, &f), 0);
	CHECK_EQ(f.n, 1);
	CHECK_U64(f.off[0], 0);
	CHECK_EQ(f.len[0], 241);
	CHECK_EQ(names_tls_sni(f.data[0], f.len[0], false, &name, &len), 1);
	CHECK_EQ(len, 11);
	CHECK(memcmp(name, "example.com", 11) == 0);
	/* one flipped ciphertext bit fails the tag */
	pkt[600] ^= 1;
	CHECK_EQ(names_quic_decrypt_initial(pkt, n, out, sizeof(out), &consumed), -1);
	CHECK_EQ(consumed, 1200);
	pkt[600] ^= 1;
	/* a flipped header bit (in the DCID) derives other keys: fails too */
	pkt[7] ^= 1;
	CHECK_EQ(names_quic_decrypt_initial(pkt, n, out, sizeof(out), &consumed), -1);
}

/*
 * Seal a client Initial for version (RFC 9001 5.3-5.4) with keys k: header bytes first byte
 * b0 (packet number length 2), DCID dcid, no SCID or token, packet number pn. Written in the
 * test with libcrypto directly so that it is independent of names_quic.c.
 */
static size_t seal_initial(uint8_t *out, uint8_t b0, uint32_t version, const uint8_t *dcid,
                           size_t dcid_len, const struct names_quic_keys *k, uint16_t pn,
                           const uint8_t *payload, size_t plen)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t nonce[12], mask[16];
	size_t o = 0, pn_off, length = 2 + plen + 16;
	int outl;

	out[o++] = (uint8_t)(b0 | 1);
	out[o++] = (uint8_t)(version >> 24);
	out[o++] = (uint8_t)(version >> 16);
	out[o++] = (uint8_t)(version >> 8);
	out[o++] = (uint8_t)version;
	out[o++] = (uint8_t)dcid_len;
	memcpy(out + o, dcid, dcid_len);
	o += dcid_len;
	out[o++] = 0; /* SCID */
	out[o++] = 0; /* token length */
	out[o++] = (uint8_t)(0x40 | length >> 8);
	out[o++] = (uint8_t)length;
	pn_off = o;
	out[o++] = (uint8_t)(pn >> 8);
	out[o++] = (uint8_t)pn;
	memcpy(nonce, k->iv, 12);
	nonce[10] ^= (uint8_t)(pn >> 8);
	nonce[11] ^= (uint8_t)pn;
	EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, k->key, nonce);
	EVP_EncryptUpdate(c, NULL, &outl, out, (int)o);
	EVP_EncryptUpdate(c, out + o, &outl, payload, (int)plen);
	EVP_EncryptFinal_ex(c, out + o + plen, &outl);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + o + plen);
	o += plen + 16;
	EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, k->hp, NULL);
	EVP_EncryptUpdate(c, mask, &outl, out + pn_off + 4, 16);
	out[0] ^= mask[0] & 0x0f;
	out[pn_off] ^= mask[1];
	out[pn_off + 1] ^= mask[2];
	EVP_CIPHER_CTX_free(c);
	return o;
}

static void test_quic_v2_initial_sealed_with_rfc9369_keys_decrypts(void)
{
	static uint8_t payload[1162], pkt[1300], out[1300];
	struct names_quic_keys k;
	struct crypto_frames f = { 0 };
	size_t n, consumed;
	int r;

	unhex("8b1a0bc121284290a29e0971b5cd045d", k.key, 16);
	unhex("91f73e2351d8fa91660e909f", k.iv, 12);
	unhex("45b95e15235d6f45a6b19cbcb0294ba9", k.hp, 16);
	unhex(rfc9001_crypto, payload, sizeof(payload));
	/* RFC 9369 3.2: the v2 Initial type is 0b01 (first byte 0xd3 unprotected in A.2) */
	n = seal_initial(pkt, 0xd0, 0x6b3343cf, rfc_dcid, 8, &k, 2, payload, sizeof(payload));
	r = names_quic_decrypt_initial(pkt, n, out, sizeof(out), &consumed);
	CHECK_EQ(r, 1162);
	CHECK_EQ(consumed, n);
	CHECK_EQ(names_quic_frames(out, (size_t)r, on_crypto, &f), 0);
	CHECK_EQ(f.n, 1);
	CHECK_EQ(f.len[0], 241);
	/* near miss: the v1 Initial type bits (0b00) make a v2 Retry, not an Initial */
	n = seal_initial(pkt, 0xc0, 0x6b3343cf, rfc_dcid, 8, &k, 2, payload, sizeof(payload));
	CHECK_EQ(names_quic_decrypt_initial(pkt, n, out, sizeof(out), &consumed), -1);
}

static struct pkt udp_pkt(const uint8_t *payload, size_t len)
{
	struct pkt p = { 0 };

	p.proto = IPPROTO_UDP;
	p.family = ADDR_V6;
	p.sport = 51000;
	p.dport = 443;
	p.payload = payload;
	p.payload_len = (uint32_t)len;
	p.payload_wire_len = (uint32_t)len;
	return p;
}

static size_t crypto_frame(uint8_t *b, size_t off, const uint8_t *data, size_t len)
{
	size_t o = 0;

	b[o++] = 0x06;
	b[o++] = (uint8_t)(0x40 | off >> 8);
	b[o++] = (uint8_t)off;
	b[o++] = (uint8_t)(0x40 | len >> 8);
	b[o++] = (uint8_t)len;
	memcpy(b + o, data, len);
	return o + len;
}

static void test_quic_hello_over_two_initials_out_of_order_is_reassembled(void)
{
	static uint8_t hs[3000], p1[1200], p2[1200], d1[1300], d2[1300];
	const uint8_t dcid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct names_quic_crypto *qc = names_quic_crypto_new();
	struct names_ctx *ctx = names_ctx_new(2);
	struct names_state st = { 0 };
	struct names_quic_keys k;
	struct seen s = { 0 };
	size_t n = build_hello(hs, "pq.example.org", 1500), o1 = 0, o2 = 0, l1, l2;
	struct pkt p;

	CHECK(n > 1500);
	names_quic_initial_keys(qc, 1, dcid, sizeof(dcid), &k);
	/* packet 1: PING, the middle and the end (out of order); packet 2: the start, a dup */
	p1[o1++] = 0x01;
	o1 += crypto_frame(p1 + o1, 900, hs + 900, n - 900);
	o1 += crypto_frame(p1 + o1, 400, hs + 400, 500);
	o2 += crypto_frame(p2 + o2, 100, hs + 100, 350);
	o2 += crypto_frame(p2 + o2, 0, hs, 150);
	l1 = seal_initial(d1, 0xc0, 1, dcid, sizeof(dcid), &k, 0, p1, sizeof(p1));
	l2 = seal_initial(d2, 0xc0, 1, dcid, sizeof(dcid), &k, 1, p2, sizeof(p2));
	p = udp_pkt(d1, l1);
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK_EQ(s.n, 0);
	p = udp_pkt(d2, l2);
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.kind[0], NAMES_QUIC_SNI);
	CHECK_STR(s.name[0], "pq.example.org");
	/* the retransmitted Initial of the same connection emits nothing new */
	p = udp_pkt(d1, l1);
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	p = udp_pkt(d2, l2);
	names_initiator_payload(ctx, &st, &p, on_name, &s);
	CHECK_EQ(s.n, 1);
	CHECK_U64(names_ctx_counters(ctx)[NAMES_quic_initials], 4);
	CHECK_U64(names_ctx_counters(ctx)[NAMES_tls_client_hellos], 1);
	names_release(ctx, &st);
	names_ctx_free(ctx);
	names_quic_crypto_free(qc);
}

/* Replay pcaps_dir/file through decode and names; initiator = sender of the first packet. */
static void replay(const char *file, struct seen *s, struct names_ctx *ctx)
{
	char path[4096], err[PCAP_ERRBUF_SIZE];
	struct names_state st = { 0 };
	struct decode_stats ds = { 0 };
	struct pcap_pkthdr *h;
	const uint8_t *data;
	struct addr first = { 0 };
	bool have_first = false;
	pcap_t *pc;

	snprintf(path, sizeof(path), "%s/%s", pcaps_dir, file);
	pc = pcap_open_offline(path, err);
	CHECK(pc != NULL);
	if (pc == NULL)
		return;
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct pkt p;

		if (decode_packet(pcap_datalink(pc), data, h->caplen, h->len, 0, &p, &ds) !=
		    DECODE_OK)
			continue;
		if (!have_first) {
			first = p.src;
			have_first = true;
		}
		if (memcmp(&first, &p.src, sizeof(first)) == 0)
			names_initiator_payload(ctx, &st, &p, on_name, s);
	}
	pcap_close(pc);
	names_release(ctx, &st);
}

static void test_quic_real_captures_give_tshark_snis(void)
{
	struct names_ctx *ctx = names_ctx_new(4);
	struct seen s = { 0 };

	replay("tcpdump/quic_handshake.pcap", &s, ctx);
	CHECK_EQ(s.n, 1);
	CHECK_STR(s.name[0], "localhost");
	s.n = 0;
	replay("suricata-verify/quic-frag-unordered__input.pcap", &s, ctx);
	CHECK_EQ(s.n, 1);
	CHECK_STR(s.name[0], "mastodon.social");
	s.n = 0;
	replay("ndpi/quic-mvfst-22.pcap", &s, ctx);
	CHECK(s.n >= 1);
	CHECK_STR(s.name[0], "graph.facebook.com");
	s.n = 0;
	replay("ndpi/quic-29.pcap", &s, ctx);
	CHECK(s.n >= 1);
	CHECK_STR(s.name[0], "localhost");
	s.n = 0;
	replay("ndpi/quic_t51.pcap", &s, ctx);
	CHECK(s.n >= 1);
	CHECK_STR(s.name[0], "www.google.com");
	/* near miss: Google QUIC Q046 carries its SNI in a CHLO, not TLS: nothing */
	s.n = 0;
	replay("ndpi/quic_q46.pcap", &s, ctx);
	CHECK_EQ(s.n, 0);
	names_ctx_free(ctx);
}

static void test_tls_and_http_real_captures(void)
{
	struct names_ctx *ctx = names_ctx_new(4);
	struct seen s = { 0 };

	/* suricata-verify: a ClientHello cut into 300-byte TCP segments */
	replay("suricata-verify/tls__tls-client-hello-frag-01__dump_mtu300.pcap", &s, ctx);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.kind[0], NAMES_TLS_SNI);
	CHECK_STR(s.name[0], "www.google.com");
	CHECK_U64(names_ctx_counters(ctx)[NAMES_reasm_out_of_order], 0);
	names_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	pcaps_dir = argc > 1 ? argv[1] : NULL;
	if (pcaps_dir != NULL && access(pcaps_dir, R_OK) != 0) {
		printf("corpus not found (%s): real-capture cases skipped\n", pcaps_dir);
		pcaps_dir = NULL;
	}
	RUN(test_tls_sni_from_handshake_and_single_record);
	RUN(test_tls_hello_split_across_records_is_gathered);
	RUN(test_tls_hello_without_sni_returns_zero);
	RUN(test_tls_malformed_lengths_are_rejected);
	RUN(test_tls_hello_spanning_segments_is_reassembled);
	RUN(test_reassembly_pool_exhaustion_is_counted);
	RUN(test_unrecognised_tcp_flow_is_done_after_a_few_packets);
	RUN(test_http_host_is_trimmed_and_loses_its_port);
	RUN(test_http_pipelined_requests_and_bodies);
	RUN(test_http_requests_in_later_and_split_segments);
	RUN(test_quic_v1_initial_keys_match_rfc9001);
	RUN(test_quic_v2_initial_keys_match_rfc9369);
	RUN(test_quic_rfc9001_client_initial_decrypts);
	RUN(test_quic_v2_initial_sealed_with_rfc9369_keys_decrypts);
	RUN(test_quic_hello_over_two_initials_out_of_order_is_reassembled);
	if (pcaps_dir != NULL) {
		RUN(test_quic_real_captures_give_tshark_snis);
		RUN(test_tls_and_http_real_captures);
	}
	return check_summary();
}
