/*
 * QUIC client Initial packets (RFC 9000 17.2.2, RFC 9001 5, RFC 9369 3): derives the Initial
 * keys from the Destination Connection ID, removes header protection, decrypts and
 * authenticates the payload with libcrypto, and walks its frames for CRYPTO data. names.c
 * reassembles that data and hands the ClientHello to the TLS parser.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sensor/cursor.h"
#include "sensor/names.h"

/* Initial salts (RFC 9001 5.2, RFC 9369 3.3.1, the drafts and Google's T05x versions) */
enum quic_salt {
	QUIC_SALT_V1,
	QUIC_SALT_V2,
	QUIC_SALT_V2_DRAFT,
	QUIC_SALT_D29,
	QUIC_SALT_D23,
	QUIC_SALT_D22,
	QUIC_SALT_T50,
	QUIC_SALT_T51,
	QUIC_NSALTS
};

static const uint8_t quic_salts[QUIC_NSALTS][20] = {
	[QUIC_SALT_V1] = {
		0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
		0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a,
	},
	[QUIC_SALT_V2] = {
		0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
		0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9,
	},
	[QUIC_SALT_V2_DRAFT] = {
		0xa7, 0x07, 0xc2, 0x03, 0xa5, 0x9b, 0x47, 0x18, 0x4a, 0x1d,
		0x62, 0xca, 0x57, 0x04, 0x06, 0xea, 0x7a, 0xe3, 0xe5, 0xd3,
	},
	[QUIC_SALT_D29] = {
		0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
		0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99,
	},
	[QUIC_SALT_D23] = {
		0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
		0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02,
	},
	[QUIC_SALT_D22] = {
		0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
		0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a,
	},
	[QUIC_SALT_T50] = {
		0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80,
		0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10,
	},
	[QUIC_SALT_T51] = {
		0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50,
		0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d,
	},
};

/*
 * Client Initial keys derived recently, by (version, DCID): a connection's Initials (the
 * hello spread over several, retransmissions, ACKs) all use the keys of its first DCID.
 * Direct-mapped; a slot holds the last connection that hashed to it.
 */
#define QUIC_KEY_CACHE 64

struct quic_key_slot {
	bool used;
	uint8_t dcid_len;
	uint8_t dcid[20];
	uint32_t version;
	struct names_quic_keys keys;
};

struct names_quic_crypto {
	EVP_MAC *mac;                      /* HMAC, fetched once */
	EVP_MAC_CTX *hmac;                 /* HMAC-SHA256, re-keyed for each HKDF-Expand */
	EVP_MAC_CTX *extract[QUIC_NSALTS]; /* HMAC-SHA256 keyed with each salt, for HKDF-Extract */
	EVP_CIPHER_CTX *ecb;               /* AES-128-ECB for the header protection mask */
	EVP_CIPHER_CTX *gcm;               /* AES-128-GCM for the payload */
	struct quic_key_slot cache[QUIC_KEY_CACHE];
};

enum quic_flavour {
	QUIC_V1, /* RFC 9000 and the drafts: Initial type 0, "quic key" labels */
	QUIC_V2, /* RFC 9369: Initial type 1, "quicv2 key" labels */
};

struct quic_version {
	enum quic_salt salt;
	enum quic_flavour flavour;
};

/* Which salt and labels a version uses; false for versions we cannot decrypt. */
static bool quic_version_get(uint32_t v, struct quic_version *out)
{
	unsigned draft = 0;

	out->flavour = QUIC_V1;
	switch (v) {
	case 0x00000001:
		out->salt = QUIC_SALT_V1;
		return true;
	case 0x6b3343cf:
		out->salt = QUIC_SALT_V2;
		out->flavour = QUIC_V2;
		return true;
	case 0x709a50c4: /* draft-ietf-quic-v2-01 and later drafts */
		out->salt = QUIC_SALT_V2_DRAFT;
		out->flavour = QUIC_V2;
		return true;
	case 0x54303530: /* Google T050 */
		out->salt = QUIC_SALT_T50;
		return true;
	case 0x54303531: /* Google T051 */
		out->salt = QUIC_SALT_T51;
		return true;
	case 0xfaceb001: /* mvfst, draft-22 based */
		draft = 22;
		break;
	case 0xfaceb002: /* mvfst, draft-27 based */
	case 0xfaceb00e: /* mvfst experimental */
		draft = 27;
		break;
	default:
		if ((v & 0x0f0f0f0f) == 0x0a0a0a0a) {
			/*
			 * RFC 9000 15: reserved to exercise version negotiation; the clients
			 * that send them with an Initial (interop runner) were draft-29 ones
			 */
			out->salt = QUIC_SALT_D29;
			return true;
		}
		if ((v >> 8) != 0xff0000)
			return false;
		draft = v & 0xff;
		break;
	}
	if (draft < 22)
		return false; /* older drafts used another long header layout */
	if (draft == 22)
		out->salt = QUIC_SALT_D22;
	else if (draft <= 28)
		out->salt = QUIC_SALT_D23;
	else if (draft <= 32)
		out->salt = QUIC_SALT_D29;
	else
		out->salt = QUIC_SALT_V1;
	return true;
}

/* A new HMAC context with SHA-256 set (fetching the digest by name is the costly part). */
static EVP_MAC_CTX *quic_hmac_new(EVP_MAC *mac)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);

	if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

struct names_quic_crypto *names_quic_crypto_new(void)
{
	struct names_quic_crypto *qc = calloc(1, sizeof(*qc));

	if (qc == NULL)
		return NULL;
	qc->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (qc->mac == NULL)
		goto out_free;
	qc->hmac = quic_hmac_new(qc->mac);
	qc->ecb = EVP_CIPHER_CTX_new();
	qc->gcm = EVP_CIPHER_CTX_new();
	if (qc->hmac == NULL || qc->ecb == NULL || qc->gcm == NULL)
		goto out_free;
	for (unsigned i = 0; i < QUIC_NSALTS; i++) {
		/* keyed once here; each extract re-initialises with the same key */
		qc->extract[i] = quic_hmac_new(qc->mac);
		if (qc->extract[i] == NULL ||
		    EVP_MAC_init(qc->extract[i], quic_salts[i], sizeof(quic_salts[i]), NULL) != 1)
			goto out_free;
	}
	if (EVP_EncryptInit_ex(qc->ecb, EVP_aes_128_ecb(), NULL, NULL, NULL) != 1 ||
	    EVP_DecryptInit_ex(qc->gcm, EVP_aes_128_gcm(), NULL, NULL, NULL) != 1)
		goto out_free;
	EVP_CIPHER_CTX_set_padding(qc->ecb, 0);
	return qc;
out_free:
	names_quic_crypto_free(qc);
	return NULL;
}

void names_quic_crypto_free(struct names_quic_crypto *qc)
{
	if (qc == NULL)
		return;
	EVP_CIPHER_CTX_free(qc->gcm);
	EVP_CIPHER_CTX_free(qc->ecb);
	for (unsigned i = 0; i < QUIC_NSALTS; i++)
		EVP_MAC_CTX_free(qc->extract[i]);
	EVP_MAC_CTX_free(qc->hmac);
	EVP_MAC_free(qc->mac);
	free(qc);
}

/*
 * HMAC-SHA256(key, msg) into out[32] with ctx (SHA-256 already set); key NULL reuses the key
 * ctx was last initialised with.
 */
static bool quic_hmac(EVP_MAC_CTX *ctx, const uint8_t *key, size_t key_len, const uint8_t *msg,
                      size_t msg_len, uint8_t *out)
{
	size_t n = 0;

	if (EVP_MAC_init(ctx, key, key_len, NULL) != 1)
		return false;
	if (EVP_MAC_update(ctx, msg, msg_len) != 1)
		return false;
	return EVP_MAC_final(ctx, out, &n, 32) == 1 && n == 32;
}

/*
 * HKDF-Expand-Label(secret, label, "", len) of RFC 8446 7.1 for len <= 32 (one block).
 * secret NULL: the secret of the previous call (qc->hmac keeps it).
 */
static bool quic_expand_label(struct names_quic_crypto *qc, const uint8_t *secret,
                              const char *label, uint8_t *out, size_t len)
{
	uint8_t info[2 + 1 + 6 + 32 + 1 + 1];
	uint8_t t[32];
	size_t ll = strlen(label), n = 0;

	if (ll > 32 || len > 32)
		return false;
	info[n++] = (uint8_t)(len >> 8);
	info[n++] = (uint8_t)len;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0; /* empty context */
	info[n++] = 1; /* HKDF-Expand block counter (RFC 5869 2.3) */
	if (!quic_hmac(qc->hmac, secret, secret != NULL ? 32 : 0, info, n, t))
		return false;
	memcpy(out, t, len);
	return true;
}

/* The cache slot of (version, dcid). */
static struct quic_key_slot *quic_key_slot(struct names_quic_crypto *qc, uint32_t version,
                                           const uint8_t *dcid, size_t dcid_len)
{
	uint32_t h = 2166136261u ^ version;

	for (size_t i = 0; i < dcid_len; i++)
		h = (h ^ dcid[i]) * 16777619u;
	h ^= h >> 16;
	return &qc->cache[h % QUIC_KEY_CACHE];
}

int names_quic_initial_keys(struct names_quic_crypto *qc, uint32_t version, const uint8_t *dcid,
                            size_t dcid_len, struct names_quic_keys *out)
{
	struct quic_version qv;
	struct quic_key_slot *slot = NULL;
	uint8_t initial[32];
	bool v2;

	if (!quic_version_get(version, &qv))
		return -1;
	if (dcid_len <= sizeof(slot->dcid)) {
		slot = quic_key_slot(qc, version, dcid, dcid_len);
		if (slot->used && slot->version == version && slot->dcid_len == dcid_len &&
		    memcmp(slot->dcid, dcid, dcid_len) == 0) {
			*out = slot->keys;
			return 0;
		}
	}
	v2 = qv.flavour == QUIC_V2;
	/* RFC 9001 5.2: initial_secret = HKDF-Extract(initial_salt, client_dcid) */
	if (!quic_hmac(qc->extract[qv.salt], NULL, 0, dcid, dcid_len, initial))
		return -1;
	if (!quic_expand_label(qc, initial, "client in", out->secret, 32))
		return -1;
	if (!quic_expand_label(qc, out->secret, v2 ? "quicv2 key" : "quic key", out->key, 16) ||
	    !quic_expand_label(qc, NULL, v2 ? "quicv2 iv" : "quic iv", out->iv, 12) ||
	    !quic_expand_label(qc, NULL, v2 ? "quicv2 hp" : "quic hp", out->hp, 16))
		return -1;
	if (slot == NULL)
		return 0; /* longer than any version we know allows: not worth a slot */
	slot->used = true;
	slot->version = version;
	slot->dcid_len = (uint8_t)dcid_len;
	memcpy(slot->dcid, dcid, dcid_len);
	slot->keys = *out;
	return 0;
}

/* RFC 9000 16: variable-length integer. */
static uint64_t quic_varint(struct cursor *c)
{
	uint8_t b = cursor_u8(c);
	unsigned extra = (1u << (b >> 6)) - 1;
	uint64_t v = b & 0x3f;

	for (unsigned i = 0; i < extra; i++)
		v = v << 8 | cursor_u8(c);
	return v;
}

int names_quic_decrypt(struct names_quic_crypto *qc, const uint8_t *pkt, size_t len, uint8_t *out,
                       size_t out_size, size_t *consumed, struct names_quic_initial *info)
{
	return names_quic_decrypt_odcid(qc, NULL, 0, pkt, len, out, out_size, consumed, info);
}

int names_quic_decrypt_odcid(struct names_quic_crypto *qc, const uint8_t *odcid, size_t odcid_len,
                             const uint8_t *pkt, size_t len, uint8_t *out, size_t out_size,
                             size_t *consumed, struct names_quic_initial *info)
{
	struct quic_version qv;
	struct names_quic_keys k;
	struct cursor c;
	uint8_t b0, dcid[20], mask[16], sample[16], nonce[12], tag[16];
	uint8_t dcid_len, scid_len, type, pn_len;
	uint32_t version;
	uint64_t token_len, length, pn = 0;
	size_t pn_off, hdr_len, ct_len;
	int outl = 0;

	*consumed = 0;
	cursor_init(&c, pkt, len);
	b0 = cursor_u8(&c);
	version = cursor_u32(&c);
	if (c.err || !(b0 & 0x80) || version == 0)
		return -1; /* short header or version negotiation */
	/* RFC 9000 17.2: the connection IDs are at most 20 bytes in the versions we know */
	dcid_len = cursor_u8(&c);
	if (dcid_len > 20)
		return -1;
	cursor_copy(&c, dcid, dcid_len);
	scid_len = cursor_u8(&c);
	if (scid_len > 20)
		return -1;
	cursor_skip(&c, scid_len);
	if (c.err)
		return NAMES_QUIC_NOT_INITIAL;
	if (!quic_version_get(version, &qv))
		return NAMES_QUIC_UNSUPPORTED;
	type = (b0 >> 4) & 3;
	/* RFC 9369 3.2: v2 rotates the type codes; Retry carries no length field */
	if ((qv.flavour == QUIC_V1 && type == 3) || (qv.flavour == QUIC_V2 && type == 0))
		return -1;
	if ((qv.flavour == QUIC_V1 && type == 0) || (qv.flavour == QUIC_V2 && type == 1)) {
		token_len = quic_varint(&c);
		if (c.err || token_len > cursor_left(&c))
			return -1;
		cursor_skip(&c, (size_t)token_len);
		type = 0xff; /* Initial */
	}
	length = quic_varint(&c);
	if (c.err || length > cursor_left(&c))
		return -1;
	pn_off = c.pos;
	*consumed = pn_off + (size_t)length;
	if (type != 0xff)
		return -1; /* 0-RTT or Handshake: not ours to read */
	/* RFC 9001 5.4.2: the sample starts 4 bytes after the packet number field */
	if (length < 4 + 16)
		return -1;
	if (info != NULL) {
		info->version = version;
		info->dcid_len = dcid_len;
		memcpy(info->dcid, dcid, dcid_len);
	}
	/* RFC 9001 5.2: the keys come from the client's first DCID, also after it changed */
	if (odcid == NULL) {
		odcid = dcid;
		odcid_len = dcid_len;
	}
	if (names_quic_initial_keys(qc, version, odcid, odcid_len, &k) != 0)
		return -1;
	cursor_seek(&c, pn_off + 4);
	cursor_copy(&c, sample, sizeof(sample));
	if (c.err)
		return -1;
	if (EVP_EncryptInit_ex(qc->ecb, NULL, NULL, k.hp, NULL) != 1 ||
	    EVP_EncryptUpdate(qc->ecb, mask, &outl, sample, sizeof(sample)) != 1 || outl != 16)
		return -1;
	/* RFC 9001 5.4.1: long headers protect the low 4 bits of the first byte */
	b0 ^= mask[0] & 0x0f;
	pn_len = (uint8_t)((b0 & 3) + 1);
	hdr_len = pn_off + pn_len;
	if (length < (uint64_t)pn_len + 16 || hdr_len > out_size)
		return -1;
	/* the header, unprotected, is the AEAD's associated data (RFC 9001 5.3) */
	cursor_seek(&c, 0);
	cursor_copy(&c, out, hdr_len);
	out[0] = b0;
	for (unsigned i = 0; i < pn_len; i++) {
		out[pn_off + i] ^= mask[1 + i];
		pn = pn << 8 | out[pn_off + i];
	}
	memcpy(nonce, k.iv, sizeof(nonce));
	for (unsigned i = 0; i < 8; i++)
		nonce[11 - i] ^= (uint8_t)(pn >> (8 * i));
	ct_len = (size_t)length - pn_len - 16;
	if (ct_len > out_size || ct_len > INT32_MAX)
		return -1;
	if (EVP_DecryptInit_ex(qc->gcm, NULL, NULL, k.key, nonce) != 1 ||
	    EVP_DecryptUpdate(qc->gcm, NULL, &outl, out, (int)hdr_len) != 1)
		return -1;
	cursor_seek(&c, hdr_len);
	if (!cursor_need(&c, ct_len + 16))
		return -1;
	if (EVP_DecryptUpdate(qc->gcm, out, &outl, cursor_ptr(&c), (int)ct_len) != 1)
		return -1;
	cursor_skip(&c, ct_len);
	cursor_copy(&c, tag, sizeof(tag));
	if (EVP_CIPHER_CTX_ctrl(qc->gcm, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1 ||
	    EVP_DecryptFinal_ex(qc->gcm, out + outl, &outl) != 1)
		return NAMES_QUIC_AUTH_FAILED;
	if (info != NULL)
		info->pn = pn;
	return (int)ct_len;
}

int names_quic_decrypt_initial(const uint8_t *pkt, size_t len, uint8_t *out, size_t out_size,
                               size_t *consumed)
{
	struct names_quic_crypto *qc = names_quic_crypto_new();
	int r;

	*consumed = 0;
	if (qc == NULL)
		return -1;
	r = names_quic_decrypt(qc, pkt, len, out, out_size, consumed, NULL);
	names_quic_crypto_free(qc);
	return r < 0 ? -1 : r;
}

int names_quic_frames(const uint8_t *payload, size_t len, names_crypto_fn *fn, void *arg)
{
	struct cursor c;

	cursor_init(&c, payload, len);
	while (cursor_left(&c) > 0) {
		uint64_t type = quic_varint(&c), n, off;

		switch (type) {
		case 0x00: /* PADDING: often hundreds in a row, one byte each */
			while (cursor_left(&c) > 0 && *cursor_ptr(&c) == 0)
				cursor_skip(&c, 1);
			break;
		case 0x01: /* PING */
			break;
		case 0x02: /* ACK (RFC 9000 19.3) */
		case 0x03:
			quic_varint(&c); /* largest acknowledged */
			quic_varint(&c); /* ack delay */
			n = quic_varint(&c);
			quic_varint(&c); /* first range */
			if (n > cursor_left(&c))
				return -1;
			for (uint64_t i = 0; i < n && !c.err; i++) {
				quic_varint(&c); /* gap */
				quic_varint(&c); /* range length */
			}
			if (type == 0x03) {
				quic_varint(&c); /* ECT0, ECT1, ECN-CE counts */
				quic_varint(&c);
				quic_varint(&c);
			}
			break;
		case 0x06: /* CRYPTO (RFC 9000 19.6) */
		case 0x08: /* Google T05x: CRYPTO with the same layout (a STREAM type in IETF QUIC)
		            */
			off = quic_varint(&c);
			n = quic_varint(&c);
			if (c.err || n > cursor_left(&c))
				return -1;
			fn(arg, off, cursor_ptr(&c), (size_t)n);
			cursor_skip(&c, (size_t)n);
			break;
		case 0x1c: /* CONNECTION_CLOSE (RFC 9000 19.19) */
		case 0x1d:
			quic_varint(&c); /* error code */
			if (type == 0x1c)
				quic_varint(&c); /* frame type */
			n = quic_varint(&c);
			if (c.err || n > cursor_left(&c))
				return -1;
			cursor_skip(&c, (size_t)n);
			break;
		default:
			return -1; /* not allowed in Initial packets (RFC 9000 12.4) */
		}
		if (c.err)
			return -1;
	}
	return 0;
}
