/*
 * The alert rules of DESIGN.md ("What makes an alert") applied in the capture path: given a
 * flow's two ends, the names it carries and its DNS messages, find which participant gets which
 * alert of kind contact, lookup or inbound. Pure decisions over a matcher snapshot; the worker
 * caches per flow, the alert encoder turns each decision into JSON. Never allocates or blocks.
 */
#ifndef TIPOFF_SENSOR_MATCH_H
#define TIPOFF_SENSOR_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "matcher.h"
#include "sensor/dns.h"
#include "sensor/dnsmem.h"
#include "sensor/pkt.h"

enum match_kind {
	MATCH_CONTACT = 0,
	MATCH_LOOKUP = 1,
	MATCH_INBOUND = 2,
	MATCH_LISTED = 3,
};

#define MATCH_OPERATOR UINT32_MAX /* participant index of operator alerts */
#define MATCH_NO_ASSET UINT32_MAX

/* How a match was made: what goes into threat.indicator.* and tipoff.resolved_name. */
enum match_via {
	MATCH_VIA_IP,       /* an address is (inside) an IP indicator: threat.indicator.ip */
	MATCH_VIA_ASN,      /* an address's AS is an ASN indicator: ip + as.number */
	MATCH_VIA_NAME,     /* a name (SNI, Host, DNS question, CNAME) is a domain indicator */
	MATCH_VIA_DNSMEM,   /* the responder was an answer for an indicator name */
};

/* One decision: participant gets an alert of kind about indicator, for asset. */
struct match_alert {
	enum match_kind kind;
	enum match_via via;
	uint32_t participant;     /* index in the snapshot, or MATCH_OPERATOR */
	uint32_t indicator;       /* index in the snapshot */
	uint32_t asset;           /* index of the most specific covering asset, or MATCH_NO_ASSET */
	struct addr ip;           /* VIA_IP/VIA_ASN/answer address: the observed address matched */
	bool has_ip;
	uint32_t asn;             /* VIA_ASN: the AS number */
	const char *name;         /* VIA_NAME/VIA_DNSMEM: the matched name (normalised) */
	size_t name_len;
	const char *resolved_name; /* VIA_DNSMEM: the name the host looked up */
	size_t resolved_len;
};

typedef void match_emit_fn(void *arg, const struct match_alert *a);

/* What the sensor knows that the rules depend on (one per worker, read-only while matching). */
struct match_env {
	const char *observer;    /* observer.name, for participants' `sensors` */
	bool operator_alerts;    /* --operator-alerts */
};

/* A flow's ends as the alert rules see them. */
struct match_flow {
	struct addr init, resp;  /* initiator I and responder R */
	uint32_t init_asn, resp_asn; /* 0 when unknown */
	bool is_dns;             /* UDP/TCP port 53: counts only through R's address or ASN */
	uint64_t first_seq;      /* read sequence number of the flow's first packet */
	uint64_t ts_ns;          /* time of that packet */
};

/*
 * contact and inbound through addresses and AS numbers, and contact through DNS memory (R was
 * an A/AAAA answer to I for an indicator name, read before the flow's first packet).
 * dnsmem may be NULL. Calls emit once per (kind, participant, indicator).
 */
void match_flow_ends(const struct match_env *env, const struct matcher_snapshot *snap,
		     const struct dnsmem *dnsmem, const struct match_flow *f,
		     match_emit_fn *emit, void *arg);

/*
 * contact through a name the flow carries (TLS/QUIC SNI, HTTP Host): name is the normalised
 * form (lower case, no trailing dot). Not for DNS flows.
 */
void match_flow_name(const struct match_env *env, const struct matcher_snapshot *snap,
		     const struct match_flow *f, const char *name, size_t len,
		     match_emit_fn *emit, void *arg);

/*
 * lookup alerts of one DNS message sent from src to dst: the asking host is src for a query
 * and dst for a response. Question names that are domain indicators; for responses also
 * answer addresses inside IP indicators and CNAME targets that are domain indicators.
 * names_norm[i] is the normalised text of question i, answers' normalised targets in
 * targets_norm[] (NULL entries for non-CNAMEs), so the caller normalises each name once.
 */
void match_dns(const struct match_env *env, const struct matcher_snapshot *snap,
	       const struct dns_msg *m, const struct addr *src, const struct addr *dst,
	       uint32_t asking_asn, uint64_t ts_ns, const char *const *names_norm,
	       const size_t *names_len, const char *const *targets_norm, const size_t *targets_len,
	       match_emit_fn *emit, void *arg);

/* Convert a sensor address to the matcher's. */
static inline struct matcher_ip match_ip(const struct addr *a)
{
	struct matcher_ip m;

	for (int i = 0; i < 16; i++)
		m.b[i] = a->b[i];
	return m;
}

#endif
