/*
 * Names a flow carries, parsed by the sensor itself: the SNI of every TLS ClientHello (also
 * when it spans TCP segments), the Host of every HTTP/1.x request, and the SNI of QUIC v1/v2
 * Initial packets (RFC 9001, RFC 9369), decrypted with libcrypto, CRYPTO frames reassembled.
 * Called by the worker with each payload the flow's initiator sends; the state lives in the
 * flow record, reassembly buffers come from a per-worker pool (nothing is allocated per packet).
 */
#ifndef TIPOFF_SENSOR_NAMES_H
#define TIPOFF_SENSOR_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor/pkt.h"

enum names_kind {
	NAMES_TLS_SNI,  /* tls.client.server_name, dataset tipoff.tls */
	NAMES_HTTP_HOST, /* url.domain, dataset tipoff.http */
	NAMES_QUIC_SNI, /* tls.client.server_name, dataset tipoff.quic */
};

/*
 * Called once per name found. name/len are the bytes exactly as seen (not NUL-terminated, may
 * hold any byte; the encoder escapes them). For HTTP the Host value is given without the port
 * (an IPv6 literal keeps its brackets stripped) and trimmed of surrounding blanks.
 */
typedef void names_emit_fn(void *arg, enum names_kind kind, const uint8_t *name, size_t len);

/* Per-flow state: small, zeroed when the flow is created. */
struct names_state {
	uint8_t proto;     /* which parser owns the flow once recognised (internal values) */
	uint8_t flags;
	uint16_t nseen;    /* payload packets looked at, to give up on unrecognised flows */
	uint32_t next_seq; /* TCP: next expected sequence number of the initiator's stream */
	uint32_t buf_used;
	int32_t buf;       /* index of a pooled reassembly buffer, -1/0 semantics internal */
	uint64_t aux;      /* parser-specific */
};

struct names_ctx; /* per worker: reassembly buffer pool, counters, QUIC crypto contexts */

#define NAMES_COUNTERS(X)                                                                      \
	X(tls_client_hellos)                                                                   \
	X(tls_bad)             /* ClientHello malformed */                                     \
	X(http_requests)                                                                       \
	X(quic_initials)       /* Initial packets decrypted */                                 \
	X(quic_decrypt_failed)                                                                 \
	X(quic_unsupported_version)                                                            \
	X(reasm_pool_empty)    /* no buffer free for a spanning ClientHello/CRYPTO stream */   \
	X(reasm_out_of_order)  /* gave up on a stream with a gap */

enum names_counter {
#define NAMES_ENUM_(n) NAMES_##n,
	NAMES_COUNTERS(NAMES_ENUM_)
#undef NAMES_ENUM_
	NAMES_NCOUNTERS
};

extern const char *const names_counter_names[NAMES_NCOUNTERS];

/* Create a context with nbufs reassembly buffers. Returns NULL on allocation failure. */
struct names_ctx *names_ctx_new(unsigned nbufs);
void names_ctx_free(struct names_ctx *ctx); /* accepts NULL */

/* Counter values of ctx (owned by its worker; read by the same thread or after it stopped). */
const uint64_t *names_ctx_counters(const struct names_ctx *ctx);

/*
 * Feed one packet sent by the flow's initiator (p->payload_len may be 0). For TCP and UDP only.
 * Calls emit for each complete name found in this packet. Never allocates, never blocks.
 */
void names_initiator_payload(struct names_ctx *ctx, struct names_state *st, const struct pkt *p,
			     names_emit_fn *emit, void *arg);

/* True when the parsers want no more packets of this flow (lets the worker skip the call). */
bool names_is_done(const struct names_state *st);

/* Give back what st holds (its reassembly buffer). Call when the flow ends. */
void names_release(struct names_ctx *ctx, struct names_state *st);

/* Standalone parsers, used by the above and by tests and fuzz targets. */

/*
 * SNI of one complete TLS handshake message: data points at a ClientHello handshake message
 * (type 1, 3-byte length, body) or at a TLS record stream beginning with a handshake record.
 * Returns 1 and sets *name/*len (borrowing data) when an SNI host_name is present, 0 when the
 * hello has no SNI, -1 when malformed, -2 when more bytes are needed.
 */
int names_tls_sni(const uint8_t *data, size_t len, bool is_records, const uint8_t **name,
		  size_t *name_len);

/*
 * Decrypt a QUIC Initial packet sent by a client and collect its CRYPTO frame bytes.
 * out/out_size receive the decrypted payload; returns its length, or -1 when the packet is
 * not a decryptable client Initial (version unsupported, auth tag mismatch, malformed).
 * *consumed gets the length of this QUIC packet within a coalesced datagram.
 */
int names_quic_decrypt_initial(const uint8_t *pkt, size_t len, uint8_t *out, size_t out_size,
			       size_t *consumed);

#endif
