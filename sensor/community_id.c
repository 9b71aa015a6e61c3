/*
 * Community ID v1 (corelight community-id-spec): the flow hash written as
 * network.community_id on every observation. SHA-1 comes from libcrypto through one EVP
 * context per worker, fetched once, so a hash costs no allocation and no provider lookup.
 */
#include "sensor/community_id.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct community_id_ctx {
	EVP_MD *md;
	EVP_MD_CTX *mdctx;
	uint16_t seed;
};

struct community_id_ctx *community_id_ctx_new(uint16_t seed)
{
	struct community_id_ctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->seed = seed;
	ctx->md = EVP_MD_fetch(NULL, "SHA1", NULL);
	if (ctx->md == NULL)
		goto out_free;
	ctx->mdctx = EVP_MD_CTX_new();
	if (ctx->mdctx == NULL)
		goto out_free;
	return ctx;
out_free:
	community_id_ctx_free(ctx);
	return NULL;
}

void community_id_ctx_free(struct community_id_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->mdctx);
	EVP_MD_free(ctx->md);
	free(ctx);
}

/*
 * Port equivalents of an ICMP/ICMPv6 message as the spec takes them from Zeek
 * (ICMP4_counterpart/ICMP6_counterpart, pycommunityid icmp.py/icmp6.py): a request/reply
 * type pairs with its counterpart type and the flow is two-way; any other type keeps its
 * code as "port" and the flow is one-way (its endpoints are not reordered).
 */
static bool community_id_icmp_counterpart(bool v6, uint8_t type, uint8_t *peer)
{
	static const uint8_t v4[][2] = {
		{ 8, 0 },   /* echo / echo reply */
		{ 13, 14 }, /* timestamp / reply */
		{ 15, 16 }, /* information request / reply */
		{ 10, 9 },  /* router solicitation / advertisement */
		{ 17, 18 }, /* address mask request / reply */
	};
	static const uint8_t v6t[][2] = {
		{ 128, 129 }, /* echo request / reply */
		{ 133, 134 }, /* router solicitation / advertisement */
		{ 135, 136 }, /* neighbor solicitation / advertisement */
		{ 130, 131 }, /* multicast listener query / report */
		{ 139, 140 }, /* node information query / reply (WRU) */
		{ 144, 145 }, /* home agent address discovery request / reply */
	};
	const uint8_t(*tab)[2] = v6 ? v6t : v4;
	size_t n = v6 ? sizeof(v6t) / sizeof(v6t[0]) : sizeof(v4) / sizeof(v4[0]);

	for (size_t i = 0; i < n; i++) {
		if (tab[i][0] == type) {
			*peer = tab[i][1];
			return true;
		}
		if (tab[i][1] == type) {
			*peer = tab[i][0];
			return true;
		}
	}
	return false;
}

static size_t community_id_base64(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] =
	        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0, i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t community_id_v1(struct community_id_ctx *ctx, uint8_t family, const struct addr *src,
                       const struct addr *dst, uint8_t proto, uint16_t sport, uint16_t dport,
                       char *out)
{
	uint8_t buf[2 + 16 + 16 + 2 + 4];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t alen = family == ADDR_V4 ? 4 : 16, off = family == ADDR_V4 ? 12 : 0, n = 0;
	const struct addr *a = src, *b = dst;
	bool ports = false, one_way = false;
	uint16_t pa = sport, pb = dport;

	out[0] = '\0';
	if (proto == 6 || proto == 17 || proto == 132) {
		ports = true;
	} else if (proto == 1 || proto == 58) {
		uint8_t peer;

		ports = true;
		if (community_id_icmp_counterpart(proto == 58, (uint8_t)sport, &peer))
			pb = peer;
		else
			one_way = true;
	}
	if (!one_way) {
		int c = memcmp(src->b + off, dst->b + off, alen);

		if (c > 0 || (c == 0 && ports && pa > pb)) {
			uint16_t t = pa;

			a = dst;
			b = src;
			pa = pb;
			pb = t;
		}
	}
	buf[n++] = (uint8_t)(ctx->seed >> 8);
	buf[n++] = (uint8_t)ctx->seed;
	memcpy(buf + n, a->b + off, alen);
	n += alen;
	memcpy(buf + n, b->b + off, alen);
	n += alen;
	buf[n++] = proto;
	buf[n++] = 0;
	if (ports) {
		buf[n++] = (uint8_t)(pa >> 8);
		buf[n++] = (uint8_t)pa;
		buf[n++] = (uint8_t)(pb >> 8);
		buf[n++] = (uint8_t)pb;
	}
	if (EVP_DigestInit_ex(ctx->mdctx, ctx->md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx->mdctx, buf, n) != 1 ||
	    EVP_DigestFinal_ex(ctx->mdctx, md, &mdlen) != 1 || mdlen != 20)
		return 0;
	out[0] = '1';
	out[1] = ':';
	return 2 + community_id_base64(md, mdlen, out + 2);
}
