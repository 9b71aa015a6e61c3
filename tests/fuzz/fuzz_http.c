/*
 * Fuzz target for the HTTP/1.x request head parser: the input directly, and as a TCP stream
 * cut into segments (with one segment repeated) fed through names_initiator_payload() so that
 * pipelining, body skipping and head reassembly run too; also as one UDP datagram.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "sensor/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_http_emit(void *arg, enum names_kind kind, const uint8_t *name, size_t len)
{
	volatile uint8_t sink = 0;

	(void)arg;
	(void)kind;
	for (size_t i = 0; i < len; i++)
		sink ^= name[i];
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct names_ctx *ctx;
	struct names_state st = { 0 }, ust = { 0 };
	const uint8_t *host;
	size_t host_len, head_len, off = 0, seg;
	uint64_t body_len;
	struct pkt p = { 0 };

	if (ctx == NULL)
		ctx = names_ctx_new(2);
	if (names_http_host(data, size, &host, &host_len, &head_len, &body_len) == 1)
		fuzz_http_emit(NULL, NAMES_HTTP_HOST, host, host_len);

	seg = size > 0 ? (size_t)data[0] % 64 + 1 : 1;
	p.proto = IPPROTO_TCP;
	p.tcp_seq = 0xfffffff0; /* wraps */
	while (off < size) {
		size_t n = size - off < seg ? size - off : seg;

		p.payload = data + off;
		p.payload_len = (uint32_t)n;
		p.payload_wire_len = (uint32_t)n;
		names_initiator_payload(ctx, &st, &p, fuzz_http_emit, NULL);
		if (off == 0) /* a retransmission */
			names_initiator_payload(ctx, &st, &p, fuzz_http_emit, NULL);
		p.tcp_seq += (uint32_t)n;
		off += n;
	}
	names_release(ctx, &st);

	p.proto = IPPROTO_UDP;
	p.payload = data;
	p.payload_len = (uint32_t)size;
	p.payload_wire_len = (uint32_t)size;
	names_initiator_payload(ctx, &ust, &p, fuzz_http_emit, NULL);
	names_release(ctx, &ust);
	return 0;
}
