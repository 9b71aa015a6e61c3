/*
 * Names a flow carries: dispatches the initiator's payloads to the TLS, HTTP and QUIC
 * parsers, reassembles what spans packets (a ClientHello over TCP segments, CRYPTO frames
 * over QUIC Initials) in buffers from a per-worker pool, and reports each name found.
 *
 * Design: one names_ctx per worker thread, never shared. A flow's names_state holds the
 * index of at most one pooled buffer (0: none, i + 1: bufs[i]) and gives it back on
 * completion, on give-up and in names_release(). Nothing is allocated per packet.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/cursor.h"
#include "sensor/names.h"

const char *const names_counter_names[NAMES_NCOUNTERS] = {
#define NAMES_NAME_(n) #n,
	NAMES_COUNTERS(NAMES_NAME_)
#undef NAMES_NAME_
};

enum {
	NAMES_P_NONE = 0, /* not recognised yet */
	NAMES_P_TLS,
	NAMES_P_HTTP,
	NAMES_P_QUIC,
	NAMES_P_DONE,
};

#define NAMES_PROBE_TCP      8  /* unrecognised TCP payload packets before giving up */
#define NAMES_PROBE_UDP      16 /* unrecognised UDP datagrams before giving up */
#define NAMES_MAX_RANGES     16 /* disjoint CRYPTO ranges held while reassembling */
#define NAMES_QUIC_DGRAM_MAX 65536

struct names_range {
	uint32_t lo, hi; /* [lo, hi) of the CRYPTO stream present in data */
};

struct names_buf {
	uint32_t next_free; /* free list link: index + 1, 0 ends the list */
	uint8_t odcid_len;  /* QUIC: the DCID the Initial keys come from, while reassembling */
	uint8_t odcid[20];
	uint32_t nranges;
	struct names_range r[NAMES_MAX_RANGES]; /* sorted, disjoint, not adjacent */
	uint8_t data[NAMES_HELLO_MAX];
};

struct names_ctx {
	uint64_t n[NAMES_NCOUNTERS];
	struct names_buf *bufs;
	unsigned nbufs;
	uint32_t free_head; /* index + 1 of the first free buffer, 0: none */
	struct names_quic_crypto *qc;
	uint8_t hello[NAMES_HELLO_MAX];      /* a ClientHello gathered from several TLS records */
	uint8_t plain[NAMES_QUIC_DGRAM_MAX]; /* decrypted Initial payload */
};

struct names_ctx *names_ctx_new(unsigned nbufs)
{
	struct names_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	if (nbufs > 0) {
		ctx->bufs = calloc(nbufs, sizeof(*ctx->bufs));
		if (ctx->bufs == NULL)
			goto out_free_ctx;
	}
	ctx->nbufs = nbufs;
	for (unsigned i = 0; i < nbufs; i++)
		ctx->bufs[i].next_free = i + 1 < nbufs ? i + 2 : 0;
	ctx->free_head = nbufs > 0 ? 1 : 0;
	ctx->qc = names_quic_crypto_new();
	if (ctx->qc == NULL)
		goto out_free_bufs;
	return ctx;
out_free_bufs:
	free(ctx->bufs);
out_free_ctx:
	free(ctx);
	return NULL;
}

void names_ctx_free(struct names_ctx *ctx)
{
	if (ctx == NULL)
		return;
	names_quic_crypto_free(ctx->qc);
	free(ctx->bufs);
	free(ctx);
}

const uint64_t *names_ctx_counters(const struct names_ctx *ctx)
{
	return ctx->n;
}

/* Take a buffer from the pool for st; false (and counted) when the pool is empty. */
static bool names_buf_get(struct names_ctx *ctx, struct names_state *st)
{
	struct names_buf *b;

	if (st->buf > 0)
		return true;
	if (ctx->free_head == 0) {
		ctx->n[NAMES_reasm_pool_empty]++;
		return false;
	}
	st->buf = (int32_t)ctx->free_head;
	b = &ctx->bufs[ctx->free_head - 1];
	ctx->free_head = b->next_free;
	b->next_free = 0;
	b->nranges = 0;
	b->odcid_len = 0;
	st->buf_used = 0;
	return true;
}

static struct names_buf *names_buf_of(struct names_ctx *ctx, const struct names_state *st)
{
	if (st->buf <= 0 || (unsigned)st->buf > ctx->nbufs)
		return NULL;
	return &ctx->bufs[st->buf - 1];
}

static void names_buf_put(struct names_ctx *ctx, struct names_state *st)
{
	struct names_buf *b = names_buf_of(ctx, st);

	if (b != NULL) {
		b->next_free = ctx->free_head;
		ctx->free_head = (uint32_t)st->buf;
	}
	st->buf = 0;
	st->buf_used = 0;
}

static void names_done(struct names_ctx *ctx, struct names_state *st)
{
	names_buf_put(ctx, st);
	st->proto = NAMES_P_DONE;
}

bool names_is_done(const struct names_state *st)
{
	return st->proto == NAMES_P_DONE;
}

void names_release(struct names_ctx *ctx, struct names_state *st)
{
	names_buf_put(ctx, st);
}

/*
 * Bytes of segment p that are new for a stream expecting next_seq: sets *skip to the bytes
 * already seen (retransmission, overlap). Returns false on a gap (a segment was missed).
 */
static bool names_tcp_fresh(const struct names_state *st, const struct pkt *p, size_t *skip)
{
	int32_t d = (int32_t)(p->tcp_seq - st->next_seq);

	*skip = 0;
	if (d > 0)
		return false;
	*skip = (size_t) - (int64_t)d;
	if (*skip > p->payload_len)
		*skip = p->payload_len;
	return true;
}

/* ---- TLS over TCP ---- */

static void names_tls_result(struct names_ctx *ctx, struct names_state *st, int r,
                             const uint8_t *name, size_t name_len, names_emit_fn *emit, void *arg)
{
	if (r >= 0)
		ctx->n[NAMES_tls_client_hellos]++;
	else
		ctx->n[NAMES_tls_bad]++;
	if (r == 1)
		emit(arg, NAMES_TLS_SNI, name, name_len);
	names_done(ctx, st);
}

static void names_tls_segment(struct names_ctx *ctx, struct names_state *st, const struct pkt *p,
                              names_emit_fn *emit, void *arg)
{
	const uint8_t *name;
	size_t name_len, skip, n;
	struct names_buf *b;
	bool cut = p->payload_len < p->payload_wire_len;
	int r;

	b = names_buf_of(ctx, st);
	if (b == NULL) {
		/* the first segment: most hellos fit in it */
		r = names_tls_sni_buf(p->payload, p->payload_len, true, ctx->hello,
		                      sizeof(ctx->hello), &name, &name_len);
		if (r != -2) {
			names_tls_result(ctx, st, r, name, name_len, emit, arg);
			return;
		}
		if (cut || p->payload_len > sizeof(b->data)) {
			names_tls_result(ctx, st, -1, NULL, 0, emit, arg);
			return;
		}
		if (!names_buf_get(ctx, st)) {
			names_done(ctx, st);
			return;
		}
		b = names_buf_of(ctx, st);
		memcpy(b->data, p->payload, p->payload_len);
		st->buf_used = p->payload_len;
		st->next_seq = p->tcp_seq + p->payload_len;
		return;
	}
	if (!names_tcp_fresh(st, p, &skip)) {
		ctx->n[NAMES_reasm_out_of_order]++;
		names_done(ctx, st);
		return;
	}
	n = p->payload_len - skip;
	if (n == 0)
		return;
	if (cut || n > sizeof(b->data) - st->buf_used) {
		names_tls_result(ctx, st, -1, NULL, 0, emit, arg);
		return;
	}
	memcpy(b->data + st->buf_used, p->payload + skip, n);
	st->buf_used += (uint32_t)n;
	st->next_seq += (uint32_t)n;
	r = names_tls_sni_buf(b->data, st->buf_used, true, ctx->hello, sizeof(ctx->hello), &name,
	                      &name_len);
	if (r != -2)
		names_tls_result(ctx, st, r, name, name_len, emit, arg);
}

/* ---- HTTP over TCP (and SSDP-style requests over UDP) ---- */

/*
 * Walk the requests in data[0..len): returns how many bytes were used; the rest (from the
 * returned offset) is the start of a request head not yet complete. st->aux counts the body
 * bytes still to skip when a body goes on past data.
 */
static size_t names_http_scan(struct names_ctx *ctx, struct names_state *st, const uint8_t *data,
                              size_t len, names_emit_fn *emit, void *arg)
{
	size_t pos = 0;

	while (pos < len) {
		const uint8_t *host;
		size_t host_len, head_len;
		uint64_t body_len;
		struct cursor c;
		int r;

		cursor_init(&c, data, len);
		cursor_seek(&c, pos);
		r = names_http_host(cursor_ptr(&c), len - pos, &host, &host_len, &head_len,
		                    &body_len);
		if (r == -2)
			return pos;
		if (r == -1)
			return len; /* body of unknown length or lost sync: wait for a segment start
			             */
		ctx->n[NAMES_http_requests]++;
		if (r == 1)
			emit(arg, NAMES_HTTP_HOST, host, host_len);
		pos += head_len;
		if (body_len == UINT64_MAX)
			return len;
		if (body_len > len - pos) {
			st->aux = body_len - (len - pos);
			return len;
		}
		pos += (size_t)body_len;
	}
	return len;
}

static void names_http_segment(struct names_ctx *ctx, struct names_state *st, const struct pkt *p,
                               names_emit_fn *emit, void *arg)
{
	struct names_buf *b = names_buf_of(ctx, st);
	const uint8_t *data = p->payload;
	size_t len = p->payload_len, skip, used;
	bool gap = !names_tcp_fresh(st, p, &skip);

	if (gap) {
		/* a segment was missed: whatever was pending is lost; look at this one afresh */
		names_buf_put(ctx, st);
		b = NULL;
		st->aux = 0;
		skip = 0;
	}
	data += skip;
	len -= skip;
	st->next_seq = p->tcp_seq + (uint32_t)skip + (uint32_t)len;
	if (len == 0)
		return;
	if (b != NULL) {
		if (len > sizeof(b->data) - st->buf_used) {
			names_buf_put(ctx, st); /* a head larger than we keep: drop it */
			return;
		}
		memcpy(b->data + st->buf_used, data, len);
		st->buf_used += (uint32_t)len;
		used = names_http_scan(ctx, st, b->data, st->buf_used, emit, arg);
		if (used >= st->buf_used) {
			names_buf_put(ctx, st);
		} else if (used > 0) {
			memmove(b->data, b->data + used, st->buf_used - used);
			st->buf_used -= (uint32_t)used;
		}
		return;
	}
	if (st->aux > 0) {
		size_t n = st->aux < len ? (size_t)st->aux : len;

		data += n;
		len -= n;
		st->aux -= n;
		if (len == 0)
			return;
	}
	used = names_http_scan(ctx, st, data, len, emit, arg);
	if (used < len && p->payload_len == p->payload_wire_len && names_buf_get(ctx, st)) {
		b = names_buf_of(ctx, st);
		if (len - used > sizeof(b->data)) {
			names_buf_put(ctx, st);
			return;
		}
		memcpy(b->data, data + used, len - used);
		st->buf_used = (uint32_t)(len - used);
	}
}

/* ---- QUIC ---- */

struct names_quic_walk {
	struct names_ctx *ctx;
	struct names_state *st;
	names_emit_fn *emit;
	void *arg;
	bool complete; /* a ClientHello was handed over */
};

/* Parse the reassembled hello in b when its first bytes are contiguous and complete. */
static void names_quic_try(struct names_quic_walk *w, const uint8_t *hs, size_t have)
{
	const uint8_t *name;
	size_t name_len, need;
	struct cursor c;
	int r;

	cursor_init(&c, hs, have);
	cursor_skip(&c, 1);
	need = 4 + (size_t)cursor_u24(&c);
	if (c.err || have < need)
		return;
	r = names_tls_sni_buf(hs, need, false, NULL, 0, &name, &name_len);
	if (r >= 0)
		w->ctx->n[NAMES_tls_client_hellos]++;
	else
		w->ctx->n[NAMES_tls_bad]++;
	if (r == 1)
		w->emit(w->arg, NAMES_QUIC_SNI, name, name_len);
	w->complete = true;
}

/* Record [lo, hi) in b's sorted range list; false when the list is full. */
static bool names_range_add(struct names_buf *b, uint32_t lo, uint32_t hi)
{
	uint32_t i = 0, j;

	while (i < b->nranges && b->r[i].hi < lo)
		i++;
	j = i;
	while (j < b->nranges && b->r[j].lo <= hi) {
		if (b->r[j].lo < lo)
			lo = b->r[j].lo;
		if (b->r[j].hi > hi)
			hi = b->r[j].hi;
		j++;
	}
	if (j == i) {
		if (b->nranges == NAMES_MAX_RANGES)
			return false;
		memmove(&b->r[i + 1], &b->r[i], (b->nranges - i) * sizeof(b->r[0]));
		b->nranges++;
	} else if (j > i + 1) {
		memmove(&b->r[i + 1], &b->r[j], (b->nranges - j) * sizeof(b->r[0]));
		b->nranges -= j - i - 1;
	}
	b->r[i].lo = lo;
	b->r[i].hi = hi;
	return true;
}

static void names_quic_crypto(void *arg, uint64_t offset, const uint8_t *data, size_t len)
{
	struct names_quic_walk *w = arg;
	struct names_buf *b;

	if (w->complete || len == 0)
		return;
	b = names_buf_of(w->ctx, w->st);
	if (b == NULL && offset == 0) {
		/* common case: the whole hello in one frame, no copy */
		names_quic_try(w, data, len);
		if (w->complete)
			return;
	}
	if (offset >= NAMES_HELLO_MAX)
		return;
	if (len > NAMES_HELLO_MAX - offset)
		len = NAMES_HELLO_MAX - (size_t)offset;
	if (b == NULL) {
		if (!names_buf_get(w->ctx, w->st))
			return;
		b = names_buf_of(w->ctx, w->st);
		if (b == NULL)
			return;
	}
	memcpy(b->data + offset, data, len);
	if (!names_range_add(b, (uint32_t)offset, (uint32_t)(offset + len))) {
		w->ctx->n[NAMES_reasm_out_of_order]++;
		names_buf_put(w->ctx, w->st);
		return;
	}
	if (b->r[0].lo == 0)
		names_quic_try(w, b->data, b->r[0].hi);
}

/* A small hash of a connection ID, to recognise the connection whose hello was read. */
static uint32_t names_cid_hash(const struct names_quic_initial *qi)
{
	uint32_t h = 2166136261u;

	for (unsigned i = 0; i < qi->dcid_len; i++)
		h = (h ^ qi->dcid[i]) * 16777619u;
	return h | 1; /* never 0, which means "none yet" */
}

static void names_quic_datagram(struct names_ctx *ctx, struct names_state *st, const struct pkt *p,
                                names_emit_fn *emit, void *arg)
{
	struct cursor c;

	cursor_init(&c, p->payload, p->payload_len);
	while (cursor_left(&c) > 0) {
		struct names_quic_walk w = { ctx, st, emit, arg, false };
		struct names_quic_initial qi;
		size_t consumed;
		uint8_t b0 = cursor_u8(&c);
		int r;

		c.pos--;
		if (!(b0 & 0x80)) {
			/* a short header: the handshake is over once a hello was read */
			if (st->aux != 0)
				names_done(ctx, st);
			return;
		}
		struct names_buf *b = names_buf_of(ctx, st);

		r = NAMES_QUIC_AUTH_FAILED;
		if (b != NULL && b->odcid_len > 0)
			r = names_quic_decrypt_odcid(ctx->qc, b->odcid, b->odcid_len,
			                             cursor_ptr(&c), cursor_left(&c), ctx->plain,
			                             sizeof(ctx->plain), &consumed, &qi);
		if (r == NAMES_QUIC_AUTH_FAILED)
			r = names_quic_decrypt(ctx->qc, cursor_ptr(&c), cursor_left(&c), ctx->plain,
			                       sizeof(ctx->plain), &consumed, &qi);
		if (r == NAMES_QUIC_UNSUPPORTED)
			ctx->n[NAMES_quic_unsupported_version]++;
		else if (r == NAMES_QUIC_AUTH_FAILED)
			ctx->n[NAMES_quic_decrypt_failed]++;
		if (r >= 0) {
			ctx->n[NAMES_quic_initials]++;
			st->proto = NAMES_P_QUIC;
			/* a retransmission of the hello already read says nothing new */
			if ((uint32_t)st->aux != names_cid_hash(&qi)) {
				names_quic_frames(ctx->plain, (size_t)r, names_quic_crypto, &w);
				b = names_buf_of(ctx, st);
				if (w.complete) {
					names_buf_put(ctx, st);
					st->aux = names_cid_hash(&qi);
				} else if (b != NULL && b->odcid_len == 0) {
					b->odcid_len = qi.dcid_len;
					memcpy(b->odcid, qi.dcid, qi.dcid_len);
				}
			}
		}
		if (consumed == 0)
			return;
		cursor_skip(&c, consumed);
	}
}

/* ---- dispatch ---- */

static bool names_is_tls_hello_start(const struct pkt *p)
{
	struct cursor c;
	uint8_t type, major, hs;

	/* RFC 8446 5.1 record header, then the handshake type (RFC 8446 4) */
	cursor_init(&c, p->payload, p->payload_len);
	type = cursor_u8(&c);
	major = cursor_u8(&c);
	cursor_skip(&c, 3);
	hs = cursor_u8(&c);
	return !c.err && type == 22 && major == 3 && hs == 1;
}

/*
 * Length of a PROXY protocol header (haproxy's proxy-protocol.txt, v1 text line or v2 binary)
 * at the start of p's payload, 0 when there is none.
 */
static size_t names_proxy_header_len(const struct pkt *p)
{
	static const uint8_t v2sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
		                           0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
	struct cursor c;
	const uint8_t *nl;

	cursor_init(&c, p->payload, p->payload_len);
	if (cursor_need(&c, 16) && memcmp(cursor_ptr(&c), v2sig, sizeof(v2sig)) == 0) {
		cursor_skip(&c, 14);
		return 16 + (size_t)cursor_u16(&c);
	}
	cursor_init(&c, p->payload, p->payload_len);
	if (!cursor_need(&c, 8) || memcmp(cursor_ptr(&c), "PROXY ", 6) != 0)
		return 0;
	/* v1: one line of at most 107 bytes ending in CRLF */
	nl = memchr(cursor_ptr(&c), '\n', cursor_left(&c) < 108 ? cursor_left(&c) : 108);
	return nl == NULL ? 0 : (size_t)(nl - cursor_ptr(&c)) + 1;
}

static void names_tcp(struct names_ctx *ctx, struct names_state *st, const struct pkt *p,
                      names_emit_fn *emit, void *arg)
{
	struct pkt inner;
	size_t skip;

	if (st->proto == NAMES_P_NONE && (skip = names_proxy_header_len(p)) > 0 &&
	    skip < p->payload_len) {
		/* the connection starts with a PROXY header: look behind it */
		inner = *p;
		inner.payload += skip;
		inner.payload_len -= (uint32_t)skip;
		inner.payload_wire_len -= (uint32_t)skip;
		inner.tcp_seq += (uint32_t)skip;
		p = &inner;
	}
	if (st->proto == NAMES_P_NONE) {
		if (names_is_tls_hello_start(p)) {
			st->proto = NAMES_P_TLS;
		} else if (names_http_is_request(p->payload, p->payload_len)) {
			st->proto = NAMES_P_HTTP;
			st->next_seq = p->tcp_seq;
		} else {
			if (++st->nseen >= NAMES_PROBE_TCP)
				names_done(ctx, st);
			return;
		}
	}
	if (st->proto == NAMES_P_TLS)
		names_tls_segment(ctx, st, p, emit, arg);
	else if (st->proto == NAMES_P_HTTP)
		names_http_segment(ctx, st, p, emit, arg);
}

static void names_udp(struct names_ctx *ctx, struct names_state *st, const struct pkt *p,
                      names_emit_fn *emit, void *arg)
{
	struct cursor c;
	uint8_t b0;

	cursor_init(&c, p->payload, p->payload_len);
	b0 = cursor_u8(&c);
	if (st->proto == NAMES_P_QUIC || (b0 & 0xc0) == 0xc0) {
		names_quic_datagram(ctx, st, p, emit, arg);
		if (st->proto == NAMES_P_QUIC || names_is_done(st))
			return;
	} else if (names_http_is_request(p->payload, p->payload_len)) {
		/* HTTP over UDP (SSDP): each datagram is one request */
		names_http_scan(ctx, st, p->payload, p->payload_len, emit, arg);
		st->aux = 0;
		return;
	}
	if (++st->nseen >= NAMES_PROBE_UDP)
		names_done(ctx, st);
}

void names_initiator_payload(struct names_ctx *ctx, struct names_state *st, const struct pkt *p,
                             names_emit_fn *emit, void *arg)
{
	if (names_is_done(st) || p->payload_len == 0)
		return;
	if (p->proto == IPPROTO_TCP)
		names_tcp(ctx, st, p, emit, arg);
	else if (p->proto == IPPROTO_UDP)
		names_udp(ctx, st, p, emit, arg);
	else
		names_done(ctx, st);
}
