/*
 * Community ID v1 flow hashes (https://github.com/corelight/community-id-spec), seed 0 by
 * default: "1:" + base64(SHA-1(seed . saddr . daddr . proto . 0 . sport . dport)), endpoints
 * ordered so both directions of a flow give the same string; ICMP and ICMPv6 use the
 * type/counter-type (or type/code) port equivalents of the spec. Used for network.community_id.
 */
#ifndef TIPOFF_SENSOR_COMMUNITY_ID_H
#define TIPOFF_SENSOR_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>

#include "sensor/pkt.h"

/* "1:" + 28 base64 characters + NUL */
#define COMMUNITY_ID_SIZE 31

struct community_id_ctx; /* per thread: a prepared SHA-1 context */

/* Create a context (fetches SHA-1 from libcrypto once). Returns NULL on failure. */
struct community_id_ctx *community_id_ctx_new(uint16_t seed);
void community_id_ctx_free(struct community_id_ctx *ctx); /* accepts NULL */

/*
 * Community ID of one flow tuple into out (COMMUNITY_ID_SIZE bytes, NUL-terminated).
 * family is ADDR_V4 (the addresses are IPv4-mapped and hashed as 4 bytes) or ADDR_V6.
 * For TCP (6), UDP (17) and SCTP (132) sport/dport are the ports; for ICMP (1) and
 * ICMPv6 (58) they are the message's type and code; other protocols hash no ports.
 * Returns the length written (30), or 0 when hashing failed (out is then "").
 * Never allocates; ctx must be used by one thread at a time.
 */
size_t community_id_v1(struct community_id_ctx *ctx, uint8_t family, const struct addr *src,
                       const struct addr *dst, uint8_t proto, uint16_t sport, uint16_t dport,
                       char *out);

#endif
