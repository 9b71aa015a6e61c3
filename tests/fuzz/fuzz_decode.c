/*
 * Fuzz target for the packet decoder (sensor/decode.c). The first two input bytes pick the
 * link type (big-endian, modulo the table below), the rest is the frame. Besides memory
 * errors, which the sanitizers catch, it aborts when a decode breaks the decoder's promises:
 * exactly one counter for a frame it does not accept, at most one for one it does, and every
 * pointer of an accepted packet inside the frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/decode.h"

/* Keep in step with tests/fuzz/seed_decode.py, which writes the selector of each seed. */
static const int fuzz_decode_links[] = {
	1,   /* DLT_EN10MB */
	0,   /* DLT_NULL */
	108, /* DLT_LOOP */
	12,  /* DLT_RAW */
	228, /* DLT_IPV4 */
	229, /* DLT_IPV6 */
	113, /* DLT_LINUX_SLL */
	276, /* DLT_LINUX_SLL2 */
	9,   /* DLT_PPP */
	50,  /* DLT_PPP_SERIAL */
	51,  /* DLT_PPP_ETHER */
	104, /* DLT_C_HDLC */
	14,  /* DLT_RAW (OpenBSD) */
	101, /* LINKTYPE_RAW */
	192, /* DLT_PPI */
	239, /* DLT_NFLOG */
	127, /* DLT_IEEE802_11_RADIO: not supported, must be counted */
};

enum {
	FUZZ_NLINKS = sizeof(fuzz_decode_links) / sizeof(fuzz_decode_links[0])
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decode_stats st;
	struct pkt p;
	enum decode_result r;
	const uint8_t *frame;
	uint32_t len;
	uint64_t moved = 0;
	int dlt;

	if (size < 2)
		return 0;
	dlt = fuzz_decode_links[((unsigned)data[0] << 8 | data[1]) % FUZZ_NLINKS];
	frame = data + 2;
	len = (uint32_t)(size - 2);
	memset(&st, 0, sizeof(st));
	r = decode_packet(dlt, len > 0 ? frame : NULL, len, len, 0, &p, &st);
	for (int i = 0; i < DECODE_NCOUNTERS; i++)
		moved += st.n[i];
	if (r != DECODE_OK) {
		if (moved != 1)
			abort();
		return 0;
	}
	if (moved > 1)
		abort();
	if (p.family != ADDR_V4 && p.family != ADDR_V6)
		abort();
	if (p.l3 < frame || p.l3 + p.l3_len > frame + len)
		abort();
	if (p.payload < p.l3 || p.payload + p.payload_len > p.l3 + p.l3_len)
		abort();
	if (p.payload_len > p.payload_wire_len || p.tunnel_depth > 4)
		abort();
	return 0;
}
