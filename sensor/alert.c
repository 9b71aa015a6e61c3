/*
 * Alerts as JSON lines (see alert.h and docs/alerts.md). Field names follow ECS where one
 * exists (event.*, source.*, destination.*, network.*, dns.*, tls.*, url.*, threat.*), the
 * rest is under tipoff.*. tipoff.indicator (the indicator as normalised) is the alert's key.
 */
#include "sensor/alert.h"
#include "sensor/jw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct alert_enc {
	char id_prefix[48]; /* "<run>-a<worker>-" */
	size_t id_prefix_len;
	uint64_t seq;
	char *observer;
};

struct alert_enc *alert_enc_new(unsigned worker_id, const char *observer_name)
{
	static const char hex[] = "0123456789abcdef";
	struct alert_enc *e = calloc(1, sizeof(*e));
	uint64_t run = 0;
	size_t n = 0;

	if (e == NULL)
		return NULL;
	e->observer = strdup(observer_name != NULL ? observer_name : "");
	if (e->observer == NULL) {
		free(e);
		return NULL;
	}
	if (getrandom(&run, sizeof(run), 0) != (ssize_t)sizeof(run))
		run = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	for (int i = 15; i >= 0; i--)
		e->id_prefix[n++] = hex[(run >> (i * 4)) & 15];
	e->id_prefix[n++] = '-';
	e->id_prefix[n++] = 'a';
	n += (size_t)snprintf(e->id_prefix + n, sizeof(e->id_prefix) - n, "%u-", worker_id);
	e->id_prefix_len = n;
	return e;
}

void alert_enc_free(struct alert_enc *e)
{
	if (e == NULL)
		return;
	free(e->observer);
	free(e);
}

unsigned alert_severity_number(enum matcher_severity s)
{
	switch (s) {
	case MATCHER_SEV_LOW:
		return 21;
	case MATCHER_SEV_MEDIUM:
		return 47;
	case MATCHER_SEV_HIGH:
		return 73;
	case MATCHER_SEV_CRITICAL:
		return 99;
	}
	return 47;
}

const char *alert_confidence_keyword(unsigned confidence)
{
	if (confidence == 0)
		return "None";
	if (confidence < 30)
		return "Low";
	if (confidence < 70)
		return "Medium";
	if (confidence <= 100)
		return "High";
	return "Not Specified";
}

const char *alert_kind_name(enum match_kind k)
{
	switch (k) {
	case MATCH_CONTACT:
		return "contact";
	case MATCH_LOOKUP:
		return "lookup";
	case MATCH_INBOUND:
		return "inbound";
	case MATCH_LISTED:
		return "listed";
	}
	return "contact";
}

static const char *alert_direction(enum match_kind k)
{
	switch (k) {
	case MATCH_CONTACT:
	case MATCH_LOOKUP:
		return "outbound";
	case MATCH_INBOUND:
		return "inbound";
	case MATCH_LISTED:
		break;
	}
	return "none";
}

static enum matcher_severity alert_default_severity(enum match_kind k,
						    const struct matcher_indicator *ind)
{
	switch (k) {
	case MATCH_CONTACT:
	case MATCH_LOOKUP:
		return MATCHER_SEV_HIGH;
	case MATCH_INBOUND:
		return MATCHER_SEV_LOW;
	case MATCH_LISTED:
		break;
	}
	return ind->severity;
}

static void jw_cstr(struct jw *w, const char *s)
{
	jw_str(w, s, strlen(s));
}

static void alert_endpoint(struct jw *w, const char *which, const struct addr *a, uint16_t port,
			   uint8_t proto, uint32_t asn, const char *org)
{
	jw_putc(w, '"');
	jw_put(w, which, strlen(which));
	JW_PUTL(w, "\":{\"ip\":");
	jw_addr(w, a);
	if (proto == 6 || proto == 17 || proto == 132) {
		JW_PUTL(w, ",\"port\":");
		jw_u64(w, port);
	}
	if (asn != 0) {
		JW_PUTL(w, ",\"as\":{\"number\":");
		jw_u64(w, asn);
		if (org != NULL && org[0] != '\0') {
			JW_PUTL(w, ",\"organization\":{\"name\":");
			jw_cstr(w, org);
			jw_putc(w, '}');
		}
		jw_putc(w, '}');
	}
	jw_putc(w, '}');
}

size_t alert_encode(struct alert_enc *e, const struct matcher_snapshot *snap,
		    const struct match_alert *a, const struct alert_context *c, char *buf,
		    size_t cap, size_t *tipoff_off)
{
	const struct matcher_indicator *ind = matcher_indicator(snap, a->indicator);
	const struct matcher_participant *p = a->participant == MATCH_OPERATOR
						      ? NULL
						      : matcher_participant(snap, a->participant);
	const struct matcher_asset *as = a->asset == MATCH_NO_ASSET
						 ? NULL
						 : matcher_asset(snap, a->asset);
	struct jw w;

	if (ind == NULL || (a->participant != MATCH_OPERATOR && p == NULL))
		return 0;
	jw_init(&w, buf, cap);
	JW_PUTL(&w, "{\"@timestamp\":");
	jw_time(&w, c->ts_ns);
	JW_PUTL(&w, ",\"event\":{\"kind\":\"alert\",\"dataset\":\"tipoff.alert\",\"id\":\"");
	jw_put(&w, e->id_prefix, e->id_prefix_len);
	jw_u64(&w, e->seq++);
	JW_PUTL(&w, "\",\"severity\":");
	jw_u64(&w, alert_severity_number(alert_default_severity(a->kind, ind)));
	JW_PUTL(&w, "},\"observer\":{\"name\":");
	jw_cstr(&w, e->observer);
	jw_putc(&w, '}');

	if (c->has_endpoints) {
		jw_putc(&w, ',');
		alert_endpoint(&w, "source", &c->src, c->sport, c->proto, c->src_asn, c->src_org);
		jw_putc(&w, ',');
		alert_endpoint(&w, "destination", &c->dst, c->dport, c->proto, c->dst_asn,
			       c->dst_org);
		JW_PUTL(&w, ",\"network\":{\"transport\":");
		jw_transport(&w, c->proto);
		if (c->protocol != NULL && c->protocol[0] != '\0') {
			JW_PUTL(&w, ",\"protocol\":");
			jw_cstr(&w, c->protocol);
		}
		if (c->community_id != NULL) {
			JW_PUTL(&w, ",\"community_id\":");
			jw_cstr(&w, c->community_id);
		}
		jw_putc(&w, '}');
	}
	if (c->dns_qname != NULL) {
		JW_PUTL(&w, ",\"dns\":{\"question\":{\"name\":");
		jw_str(&w, c->dns_qname, c->dns_qname_len);
		JW_PUTL(&w, "}}");
	}
	if (c->sni != NULL) {
		JW_PUTL(&w, ",\"tls\":{\"client\":{\"server_name\":");
		jw_name(&w, c->sni, c->sni_len);
		JW_PUTL(&w, "}}");
	}
	if (c->http_host != NULL) {
		JW_PUTL(&w, ",\"url\":{\"domain\":");
		jw_name(&w, c->http_host, c->http_host_len);
		jw_putc(&w, '}');
	}

	JW_PUTL(&w, ",\"threat\":{\"indicator\":{\"type\":");
	jw_cstr(&w, matcher_type_name(ind->type));
	if (a->has_ip && (a->via == MATCH_VIA_IP || a->via == MATCH_VIA_ASN)) {
		JW_PUTL(&w, ",\"ip\":");
		jw_addr(&w, &a->ip);
	}
	if (a->via == MATCH_VIA_ASN && a->asn != 0) {
		JW_PUTL(&w, ",\"as\":{\"number\":");
		jw_u64(&w, a->asn);
		jw_putc(&w, '}');
	}
	if (a->name != NULL) {
		JW_PUTL(&w, ",\"url\":{\"domain\":");
		jw_str(&w, a->name, a->name_len);
		jw_putc(&w, '}');
	}
	JW_PUTL(&w, ",\"confidence\":");
	jw_cstr(&w, alert_confidence_keyword(ind->confidence));
	if (ind->description != NULL) {
		JW_PUTL(&w, ",\"description\":");
		jw_cstr(&w, ind->description);
	}
	if (ind->reference != NULL) {
		JW_PUTL(&w, ",\"reference\":");
		jw_cstr(&w, ind->reference);
	}
	JW_PUTL(&w, ",\"marking\":{\"tlp\":");
	jw_cstr(&w, matcher_tlp_name(ind->tlp));
	JW_PUTL(&w, "}},\"feed\":{\"name\":");
	jw_cstr(&w, ind->feed);
	JW_PUTL(&w, "}}");

	JW_PUTL(&w, ",\"tipoff\":{");
	*tipoff_off = w.len;
	JW_PUTL(&w, "\"kind\":\"");
	jw_put(&w, alert_kind_name(a->kind), strlen(alert_kind_name(a->kind)));
	JW_PUTL(&w, "\",\"direction\":\"");
	jw_put(&w, alert_direction(a->kind), strlen(alert_direction(a->kind)));
	JW_PUTL(&w, "\",\"participant\":{\"id\":");
	jw_cstr(&w, p != NULL ? p->id : "operator");
	JW_PUTL(&w, "},\"indicator\":");
	jw_cstr(&w, ind->value);
	if (as != NULL) {
		JW_PUTL(&w, ",\"asset\":");
		jw_cstr(&w, as->value);
	}
	JW_PUTL(&w, ",\"category\":");
	jw_cstr(&w, matcher_category_name(ind->category));
	JW_PUTL(&w, ",\"confidence\":");
	jw_u64(&w, ind->confidence);
	JW_PUTL(&w, ",\"sources\":[");
	for (unsigned i = 0; i < ind->nsources; i++) {
		if (i > 0)
			jw_putc(&w, ',');
		jw_cstr(&w, ind->sources[i]);
	}
	jw_putc(&w, ']');
	if (a->resolved_name != NULL) {
		JW_PUTL(&w, ",\"resolved_name\":");
		jw_str(&w, a->resolved_name, a->resolved_len);
	}
	JW_PUTL(&w, ",\"rules_generation\":");
	jw_u64(&w, c->rules_generation);
	JW_PUTL(&w, "}}");
	return w.over ? 0 : w.len;
}
