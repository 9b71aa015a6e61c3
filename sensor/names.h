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

#define NAMES_HELLO_MAX 16384 /* largest ClientHello reassembled (TCP or QUIC CRYPTO) */

/*
 * SNI of one complete TLS handshake message: data points at a ClientHello handshake message
 * (type 1, 3-byte length, body) or at a TLS record stream beginning with a handshake record.
 * Returns 1 and sets *name and *name_len (borrowing data) when an SNI host_name is present, 0 when the
 * hello has no SNI, -1 when malformed, -2 when more bytes are needed.
 */
int names_tls_sni(const uint8_t *data, size_t len, bool is_records, const uint8_t **name,
		  size_t *name_len);

/*
 * Like names_tls_sni, but when a record stream splits the hello over several records, the
 * handshake bytes are gathered in scratch[0..scratch_size) and *name may point into scratch.
 * (names_tls_sni uses a per-thread scratch of NAMES_HELLO_MAX bytes for that case: *name then
 * stays valid until the next call on the same thread.)
 */
int names_tls_sni_buf(const uint8_t *data, size_t len, bool is_records, uint8_t *scratch,
		      size_t scratch_size, const uint8_t **name, size_t *name_len);

/* True when data starts with an HTTP/1.x request method followed by a space. */
bool names_http_is_request(const uint8_t *data, size_t len);

/*
 * Read the HTTP/1.x request head at data[0..len) (request line, header fields, empty line;
 * RFC 9112 2-3). Returns 1 with *host and *host_len (borrowing data) set to the first Host value,
 * trimmed of blanks, without ":port", an IP-literal without its brackets ("[::1]:8080" gives
 * "::1"); 0 when the head has no (or an empty) Host; -1 when data does not start with a
 * request line; -2 when the head is not complete yet. For 1 and 0, *head_len is the length
 * of the head and *body_len the Content-Length (0 when absent, UINT64_MAX when the body is
 * chunked or otherwise of unknown length).
 */
int names_http_host(const uint8_t *data, size_t len, const uint8_t **host, size_t *host_len,
		    size_t *head_len, uint64_t *body_len);

/*
 * Decrypt a QUIC Initial packet sent by a client and collect its CRYPTO frame bytes.
 * out/out_size receive the decrypted payload; returns its length, or -1 when the packet is
 * not a decryptable client Initial (version unsupported, auth tag mismatch, malformed).
 * *consumed gets the length of this QUIC packet within a coalesced datagram.
 */
int names_quic_decrypt_initial(const uint8_t *pkt, size_t len, uint8_t *out, size_t out_size,
			       size_t *consumed);

/*
 * The libcrypto state for QUIC Initial decryption (HMAC, AES-128-ECB, AES-128-GCM contexts)
 * and a small cache of the Initial keys last derived, created once per worker; names_ctx
 * holds one. names_quic_decrypt_initial above creates one per call and is meant for tests only.
 */
struct names_quic_crypto;
struct names_quic_crypto *names_quic_crypto_new(void); /* NULL on allocation failure */
void names_quic_crypto_free(struct names_quic_crypto *qc); /* accepts NULL */

/* Client Initial keys of a connection (RFC 9001 5.2, RFC 9369 3.3). */
struct names_quic_keys {
	uint8_t secret[32]; /* client_initial_secret */
	uint8_t key[16];    /* AEAD_AES_128_GCM key */
	uint8_t iv[12];
	uint8_t hp[16];     /* header protection key */
};

/*
 * Derive the client Initial keys for version and dcid (or take them from qc's cache). Returns
 * 0, or -1 for an unknown version.
 */
int names_quic_initial_keys(struct names_quic_crypto *qc, uint32_t version, const uint8_t *dcid,
			    size_t dcid_len, struct names_quic_keys *out);

/* What names_quic_decrypt tells about a decrypted Initial. */
struct names_quic_initial {
	uint32_t version;
	uint8_t dcid_len;
	uint8_t dcid[20];
	uint64_t pn;        /* packet number as sent (truncated encoding, not expanded) */
};

#define NAMES_QUIC_NOT_INITIAL  (-1) /* malformed, short header, not an Initial */
#define NAMES_QUIC_UNSUPPORTED  (-2) /* a long header of a version we cannot decrypt */
#define NAMES_QUIC_AUTH_FAILED  (-3) /* AEAD tag mismatch (not a client Initial, or corrupt) */

/*
 * names_quic_decrypt_initial with the caller's crypto state: decrypt the client Initial at
 * pkt[0..len) into out (which also serves as scratch for the header: out_size should be at
 * least len). Returns the plaintext length, or NAMES_QUIC_NOT_INITIAL/_UNSUPPORTED/
 * _AUTH_FAILED. *consumed is the length of this QUIC packet in a coalesced datagram whenever
 * its long header could be read (also for 0-RTT and Handshake packets), else 0. info may be
 * NULL. Never allocates.
 */
int names_quic_decrypt(struct names_quic_crypto *qc, const uint8_t *pkt, size_t len,
		       uint8_t *out, size_t out_size, size_t *consumed,
		       struct names_quic_initial *info);

/*
 * names_quic_decrypt, deriving the keys from odcid[0..odcid_len) instead of the packet's own
 * DCID: a client's later Initials keep the keys of its first DCID (RFC 9001 5.2) after the
 * server chose another. odcid NULL means the packet's DCID.
 */
int names_quic_decrypt_odcid(struct names_quic_crypto *qc, const uint8_t *odcid,
			     size_t odcid_len, const uint8_t *pkt, size_t len, uint8_t *out,
			     size_t out_size, size_t *consumed, struct names_quic_initial *info);

/* Called for each CRYPTO frame: data[0..len) belongs at offset of the CRYPTO stream. */
typedef void names_crypto_fn(void *arg, uint64_t offset, const uint8_t *data, size_t len);

/*
 * Walk the frames of a decrypted Initial payload (PADDING, PING, ACK, CRYPTO,
 * CONNECTION_CLOSE; RFC 9000 12.4, 19) and call fn for each CRYPTO frame, in packet order.
 * Frame type 0x08 is read as Google's T050/T051 CRYPTO frame (offset, length, data).
 * Returns 0, or -1 at the first malformed or unexpected frame (frames before it were given).
 */
int names_quic_frames(const uint8_t *payload, size_t len, names_crypto_fn *fn, void *arg);

#endif
