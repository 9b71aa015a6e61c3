/*
 * Fuzz target for QUIC Initial handling. The input is used three ways: as a datagram for
 * names_quic_decrypt (header parsing; the tag nearly always fails), as a decrypted payload
 * for the frame walker, and, cut at 0xff bytes into up to four payloads, each sealed here as
 * a valid v1 client Initial and fed through names_initiator_payload() so that CRYPTO
 * reassembly and the ClientHello parser see fuzzed frames.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "sensor/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_quic_emit(void *arg, enum names_kind kind, const uint8_t *name, size_t len)
{
	volatile uint8_t sink = 0;

	(void)arg;
	(void)kind;
	for (size_t i = 0; i < len; i++)
		sink ^= name[i];
	(void)sink;
}

static void fuzz_quic_crypto(void *arg, uint64_t offset, const uint8_t *data, size_t len)
{
	volatile uint8_t sink = 0;

	(void)arg;
	(void)offset;
	for (size_t i = 0; i < len; i++)
		sink ^= data[i];
	(void)sink;
}

static const uint8_t fuzz_dcid[8] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };

/* Seal payload as a v1 client Initial with packet number pn (RFC 9001 5.3, 5.4). */
static size_t fuzz_quic_seal(EVP_CIPHER_CTX *c, const struct names_quic_keys *k, uint8_t *out,
                             const uint8_t *payload, size_t plen, uint8_t pn)
{
	static const uint8_t head[] = { 0xc0, 0,    0,    0,    1,    8,    0x83, 0x94,
		                        0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0,    0 };
	uint8_t nonce[12], mask[16];
	size_t o = sizeof(head), length = 1 + plen + 16, pn_off;
	int outl;

	memcpy(out, head, sizeof(head));
	out[o++] = (uint8_t)(0x40 | length >> 8);
	out[o++] = (uint8_t)length;
	pn_off = o;
	out[o++] = pn;
	memcpy(nonce, k->iv, sizeof(nonce));
	nonce[11] ^= pn;
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
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct names_ctx *ctx;
	static struct names_quic_crypto *qc;
	static struct names_quic_keys k;
	static EVP_CIPHER_CTX *c;
	static uint8_t out[1 << 16], pkt[1 << 16], payload[1200];
	struct names_state st = { 0 };
	struct pkt p = { 0 };
	size_t consumed, off = 0;
	uint8_t pn = 0;
	int r;

	if (ctx == NULL) {
		ctx = names_ctx_new(2);
		qc = names_quic_crypto_new();
		c = EVP_CIPHER_CTX_new();
		names_quic_initial_keys(qc, 1, fuzz_dcid, sizeof(fuzz_dcid), &k);
	}
	r = names_quic_decrypt(qc, data, size, out, sizeof(out), &consumed, NULL);
	if (r > 0)
		names_quic_frames(out, (size_t)r, fuzz_quic_crypto, NULL);
	names_quic_frames(data, size, fuzz_quic_crypto, NULL);

	p.proto = IPPROTO_UDP;
	while (off < size && pn < 4) {
		const uint8_t *end = memchr(data + off, 0xff, size - off);
		size_t n = end != NULL ? (size_t)(end - (data + off)) : size - off;

		if (n > sizeof(payload))
			n = sizeof(payload);
		/* PADDING after the fuzzed frames, as a client pads its Initials */
		memset(payload, 0, sizeof(payload));
		memcpy(payload, data + off, n);
		p.payload = pkt;
		p.payload_len =
		        (uint32_t)fuzz_quic_seal(c, &k, pkt, payload, sizeof(payload), pn++);
		p.payload_wire_len = p.payload_len;
		names_initiator_payload(ctx, &st, &p, fuzz_quic_emit, NULL);
		off += n + 1;
	}
	names_release(ctx, &st);
	return 0;
}
