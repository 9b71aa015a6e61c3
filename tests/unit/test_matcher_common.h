/*
 * Helpers shared by the matcher engine's unit tests: values from text (with inet_pton, not
 * the loaders' parser, so these tests check the engine alone), feeds, and a small builder
 * fixture API.
 */
#ifndef TIPOFF_TEST_MATCHER_COMMON_H
#define TIPOFF_TEST_MATCHER_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* "198.51.100.7", "203.0.113.0/24", "2001:db8::/48", "AS64511" or a domain. */
static inline struct matcher__value tval(const char *text)
{
	struct matcher__value v;
	char buf[300];
	const char *slash;
	size_t n;

	memset(&v, 0, sizeof(v));
	if (strncmp(text, "AS", 2) == 0) {
		v.type = MATCHER_TYPE_ASN;
		v.asn = (uint32_t)strtoul(text + 2, NULL, 10);
		return v;
	}
	slash = strchr(text, '/');
	n = slash ? (size_t)(slash - text) : strlen(text);
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, v.ip.b + 12) == 1) {
		v.type = MATCHER_TYPE_IPV4;
		v.ip.b[10] = v.ip.b[11] = 0xff;
		v.plen = slash ? (uint8_t)strtoul(slash + 1, NULL, 10) : 32;
	} else if (inet_pton(AF_INET6, buf, v.ip.b) == 1) {
		v.type = MATCHER_TYPE_IPV6;
		v.plen = slash ? (uint8_t)strtoul(slash + 1, NULL, 10) : 128;
	} else {
		v.type = MATCHER_TYPE_DOMAIN;
		memcpy(v.domain, text, strlen(text) + 1);
	}
	return v;
}

/* An address to look up ("192.0.2.1" is stored v4-mapped). */
static inline struct matcher_ip tip(const char *text)
{
	struct matcher_ip ip;

	memset(&ip, 0, sizeof(ip));
	if (inet_pton(AF_INET, text, ip.b + 12) == 1)
		ip.b[10] = ip.b[11] = 0xff;
	else if (inet_pton(AF_INET6, text, ip.b) != 1)
		abort();
	return ip;
}

static inline int tfeed(struct matcher__builder *b, const char *name)
{
	struct matcher__feed f;

	memset(&f, 0, sizeof(f));
	f.name = (char *)name;
	f.path = (char *)name;
	f.format = MATCHER_FMT_LIST;
	f.category = MATCHER_CAT_UNKNOWN;
	f.severity = MATCHER_SEV_MEDIUM;
	f.confidence = 50;
	f.tlp = MATCHER_TLP_AMBER;
	return matcher__builder_feed(b, &f);
}

/* Add indicator text to feed with confidence conf; exact applies to domains. */
static inline int tind(struct matcher__builder *b, int feed, const char *text, uint8_t conf,
                       bool exact)
{
	struct matcher__indicator_in in;

	memset(&in, 0, sizeof(in));
	in.v = tval(text);
	in.exact = exact;
	in.category = MATCHER_CAT_BOTNET_C2;
	in.severity = MATCHER_SEV_HIGH;
	in.confidence = conf;
	in.tlp = MATCHER_TLP_AMBER;
	return matcher__builder_indicator(b, feed, &in);
}

static inline int tasset(struct matcher__builder *b, int p, const char *text)
{
	struct matcher__value v = tval(text);

	return matcher__builder_asset(b, p, &v);
}

static inline int tpart(struct matcher__builder *b, const char *id)
{
	return matcher__builder_participant(b, id, id, NULL, NULL, 0, NULL);
}

#endif
