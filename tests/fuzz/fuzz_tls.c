/*
 * Fuzz target for the TLS ClientHello SNI parser: the input as a handshake message, as a
 * record stream (with a full and a tiny scratch buffer), and as a TCP stream cut into
 * segments fed through names_initiator_payload() so that segment reassembly runs too.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "sensor/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_tls_emit(void *arg, enum names_kind kind, const uint8_t *name, size_t len)
{
	volatile uint8_t sink = 0;

	(void)arg;
	(void)kind;
	for (size_t i = 0; i < len; i++)
		sink ^= name[i]; /* touch every byte: ASan checks the borrowed range */
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct names_ctx *ctx;
	static uint8_t scratch[NAMES_HELLO_MAX], tiny[64];
	struct names_state st = { 0 };
	const uint8_t *name;
	size_t len, off = 0, seg;
	struct pkt p = { 0 };

	if (ctx == NULL)
		ctx = names_ctx_new(2);
	if (names_tls_sni(data, size, false, &name, &len) == 1)
		fuzz_tls_emit(NULL, NAMES_TLS_SNI, name, len);
	if (names_tls_sni_buf(data, size, true, scratch, sizeof(scratch), &name, &len) == 1)
		fuzz_tls_emit(NULL, NAMES_TLS_SNI, name, len);
	if (names_tls_sni_buf(data, size, true, tiny, sizeof(tiny), &name, &len) == 1)
		fuzz_tls_emit(NULL, NAMES_TLS_SNI, name, len);

	/* segments of a size taken from the last byte */
	seg = size > 0 ? (size_t)data[size - 1] % 200 + 1 : 1;
	p.proto = IPPROTO_TCP;
	p.tcp_seq = 1000;
	while (off < size && !names_is_done(&st)) {
		size_t n = size - off < seg ? size - off : seg;

		p.payload = data + off;
		p.payload_len = (uint32_t)n;
		p.payload_wire_len = (uint32_t)n;
		names_initiator_payload(ctx, &st, &p, fuzz_tls_emit, NULL);
		p.tcp_seq += (uint32_t)n;
		off += n;
	}
	names_release(ctx, &st);
	return 0;
}
