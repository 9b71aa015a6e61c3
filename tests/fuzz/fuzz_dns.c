/*
 * Fuzz target for the DNS message parser: the input as one UDP DNS message, as a TCP stream
 * of length-prefixed messages, and as that stream cut into segments (dns_tcp_segment);
 * every parsed name and answer is rendered as text.
 */
#include <stdint.h>
#include <string.h>

#include "sensor/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns_msg msg;

static void fuzz_dns_render(void)
{
	char buf[DNS_NAME_TEXT_MAX], small[7], tb[16];

	for (unsigned i = 0; i < msg.nq; i++) {
		dns_name_text(&msg.q[i].name, buf, sizeof(buf));
		dns_name_norm(&msg.q[i].name, small, sizeof(small));
		dns_type_str(msg.q[i].type, tb, sizeof(tb));
	}
	for (unsigned i = 0; i < msg.nan; i++) {
		dns_name_norm(&msg.an[i].name, buf, sizeof(buf));
		dns_rr_data_text(&msg.an[i], buf, sizeof(buf));
		dns_type_str(msg.an[i].type, tb, sizeof(tb));
	}
	dns_rcode_str(msg.rcode, tb, sizeof(tb));
}

static void fuzz_dns_msg(void *arg, const uint8_t *m, size_t len, bool cut)
{
	(void)arg;
	(void)cut;
	dns_parse(m, len, &msg);
	fuzz_dns_render();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *m;
	size_t left = size, n, ml, off = 0, seg;
	struct dns_tcp_state st = { 0 };

	dns_parse(data, size, &msg);
	fuzz_dns_render();
	while ((n = dns_tcp_next(p, left, &m, &ml)) > 0) {
		dns_parse(m, ml, &msg);
		fuzz_dns_render();
		p += n;
		left -= n;
	}
	/* the input as a TCP stream in segments of a size taken from its first byte */
	seg = size > 0 ? (size_t)data[0] % 97 + 1 : 1;
	while (off < size) {
		n = size - off < seg ? size - off : seg;
		dns_tcp_segment(&st, 0xffffff00u + (uint32_t)off, data + off, n, fuzz_dns_msg,
		                NULL);
		off += n;
	}
	return 0;
}
