/*
 * Alert encoder: one JSON line per alert decision (match.h), nested ECS objects plus tipoff.*
 * (docs/alerts.md is the field reference, a public contract). Hand-written like the
 * observation encoder: runs on worker threads, never allocates.
 */
#ifndef TIPOFF_SENSOR_ALERT_H
#define TIPOFF_SENSOR_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "matcher.h"
#include "sensor/match.h"
#include "sensor/pkt.h"

/* Where and when: what the worker knows about the flow or DNS message that raised the alert. */
struct alert_context {
	uint64_t ts_ns;               /* @timestamp: the packet that raised it */
	bool has_endpoints;           /* false for listed alerts */
	struct addr src, dst;         /* source = initiator (contact/inbound) or asking host (lookup) */
	uint16_t sport, dport;
	uint8_t proto;                /* IPPROTO_* */
	uint32_t src_asn, dst_asn;    /* 0 when unknown */
	const char *src_org, *dst_org; /* NULL when unknown */
	const char *community_id;     /* NULL to leave out */
	const char *protocol;         /* network.protocol; NULL or "" to leave out */
	const char *dns_qname;        /* presentation form (\DDD escapes) as seen; NULL: none */
	size_t dns_qname_len;
	const uint8_t *sni;           /* TLS/QUIC SNI that raised it, as seen */
	size_t sni_len;
	const uint8_t *http_host;     /* HTTP Host that raised it, as seen */
	size_t http_host_len;
	uint64_t rules_generation;    /* tipoff.rules_generation */
};

struct alert_enc;

/* An encoder for one thread: event.id = <run>-a<worker>-<n>. NULL on ENOMEM. */
struct alert_enc *alert_enc_new(unsigned worker_id, const char *observer_name);
void alert_enc_free(struct alert_enc *e); /* accepts NULL */

/*
 * Encode decision a about snap (the snapshot it was decided on) in context c into buf (cap
 * bytes). Returns the line length (no newline), or 0 when it did not fit. *tipoff_off gets the
 * offset just after `"tipoff":{`, where a later stage may insert `"suppressed":N,`.
 */
size_t alert_encode(struct alert_enc *e, const struct matcher_snapshot *snap,
		    const struct match_alert *a, const struct alert_context *c, char *buf,
		    size_t cap, size_t *tipoff_off);

/* ECS event.severity number of a severity (low 21, medium 47, high 73, critical 99). */
unsigned alert_severity_number(enum matcher_severity s);

/* ECS threat.indicator.confidence keyword of a 0..100 confidence. */
const char *alert_confidence_keyword(unsigned confidence);

/* Text of a kind: "contact", "lookup", "inbound", "listed". */
const char *alert_kind_name(enum match_kind k);

#endif
