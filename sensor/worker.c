/*
 * A capture worker's per-packet path: decode, flow table, nDPI, DNS messages, names
 * (TLS/QUIC SNI, HTTP Host) and the observation lines they produce (see worker.h).
 *
 * Design note. Everything here runs on the worker's thread, except worker_get_stats and
 * worker_dispatch_hash. Counters have a single writer (the worker) that stores them with
 * relaxed atomic stores; readers load them with relaxed atomic loads, so stats need no lock.
 * The decode, name and DPI modules count into plain private arrays, which the worker
 * publishes into its stats every WORKER_PUBLISH_EVERY packets, after any packet that did not
 * decode cleanly, and at every expiry and at the end of input. Nothing here allocates after
 * worker_new: flows, nDPI states and reassembly buffers come from per-worker pools, the DNS
 * message and the observation line live in the worker.
 */
#include "sensor/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/alert.h"
#include "sensor/alertq.h"
#include "sensor/asn.h"
#include "sensor/community_id.h"
#include "sensor/cursor.h"
#include "sensor/dnsrec.h"
#include "sensor/dpi.h"
#include "sensor/flow.h"
#include "sensor/match.h"
#include "sensor/obs.h"
#include "sensor/outq.h"
#include "sensor/rules.h"
#include "sensor/suppress.h"

#define WORKER_PUBLISH_EVERY  256
#define WORKER_DEFAULT_FLOWS  65536
#define WORKER_DPI_STATES_MAX 65536
#define WORKER_NAMES_BUFS_MAX 1024
#define WORKER_NS             1000000000ull
#define WORKER_ALERT_MAX      (64 * 1024) /* envelope + alert line */

const char *const worker_counter_names[WORKER_NCOUNTERS] = {
#define WORKER_NAME_(n) #n,
	WORKER_COUNTERS(WORKER_NAME_)
#undef WORKER_NAME_
};

struct worker {
	struct worker_config cfg;
	struct flow_table *flows;
	struct dpi_ctx *dpi;
	struct names_ctx *names;
	struct obs_ctx *obs; /* NULL when observations are off */
	struct community_id_ctx *cid;
	struct decode_stats dec;   /* decode_packet's private counters */
	unsigned since_publish;    /* packets since the last publish */
	struct worker_stats stats; /* published: single writer, relaxed atomic stores */
	struct dns_msg dns;        /* scratch for the message being written */
	/* Matching: the snapshot and ASN database of the current read-side section (refreshed by
	 * worker_quiescent), or NULL without rules. */
	const struct matcher_snapshot *snap;
	const struct asn_db *asn;
	uint64_t gen;              /* generation of snap */
	bool snap_has_asn;         /* snap has AS-number indicators or assets */
	struct match_env env;
	struct alert_enc *enc;
	char *alert_buf;           /* envelope + line of the alert being written */
};

struct worker_emit {
	struct worker *w;
	struct flow *f;
	const struct pkt *p;
	const struct dns_msg *m;   /* lookup alerts: the DNS message */
	enum names_kind kind;      /* name alerts: which name */
	const uint8_t *name;       /* name alerts: as seen */
	size_t name_len;
};

static inline void worker_store(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

static inline void worker_add(struct worker *w, enum worker_counter c, uint64_t v)
{
	worker_store(&w->stats.n[c], w->stats.n[c] + v);
}

/* Copy the modules' private counters into the published stats. */
static void worker_publish(struct worker *w)
{
	const uint64_t *nc = names_ctx_counters(w->names);
	const uint64_t *dc = dpi_counters(w->dpi);

	for (unsigned i = 0; i < DECODE_NCOUNTERS; i++)
		if (w->stats.decode.n[i] != w->dec.n[i])
			worker_store(&w->stats.decode.n[i], w->dec.n[i]);
	for (unsigned i = 0; i < NAMES_NCOUNTERS; i++)
		if (w->stats.names[i] != nc[i])
			worker_store(&w->stats.names[i], nc[i]);
	worker_store(&w->stats.n[WORKER_dpi_packets], dc[DPI_C_dpi_packets]);
	worker_store(&w->stats.n[WORKER_dpi_flows_detected], dc[DPI_C_dpi_flows_detected]);
	worker_store(&w->stats.n[WORKER_dpi_flows_given_up], dc[DPI_C_dpi_flows_given_up]);
	worker_store(&w->stats.n[WORKER_dpi_no_state], dc[DPI_C_dpi_no_state]);
	worker_store(&w->stats.flows_active, flow_count(w->flows));
	w->since_publish = 0;
}

/* network.community_id of f, computed at its first use and kept in the record. */
static const char *worker_flow_cid(struct worker *w, struct flow *f)
{
	if (f->community_id[0] != '\0')
		return f->community_id;
	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) {
		/* the first packet's direction, type and code, as the spec hashes one message */
		community_id_v1(w->cid, f->family, &f->addr[f->icmp_from], &f->addr[!f->icmp_from],
		                f->proto, f->icmp_type, f->icmp_code, f->community_id);
	} else {
		community_id_v1(w->cid, f->family, flow_src_addr(f), flow_dst_addr(f), f->proto,
		                flow_src_port(f), flow_dst_port(f), f->community_id);
	}
	return f->community_id;
}

static void worker_obs_result(struct worker *w, bool ok, enum worker_counter c)
{
	worker_add(w, ok ? c : WORKER_obs_too_long, 1);
}

/* The flow table's end callback: finish DPI, write the record, release the flow's state. */
static void worker_flow_end(void *arg, struct flow *f, enum flow_end_reason why)
{
	struct worker *w = arg;

	dpi_end(w->dpi, &f->dpi);
	if (w->obs != NULL) {
		char proto[DPI_NAME_SIZE];

		proto[0] = '\0';
		if (f->dpi.status == DPI_DONE)
			dpi_flow_name(w->dpi, &f->dpi, proto, sizeof(proto));
		worker_obs_result(w, obs_flow(w->obs, f, worker_flow_cid(w, f), proto, why),
		                  WORKER_obs_flow);
	}
	names_release(w->names, &f->names);
	switch (why) {
	case FLOW_END_IDLE:
	case FLOW_END_ACTIVE:
		worker_add(w, WORKER_flows_expired, 1);
		break;
	case FLOW_END_EVICTED:
		worker_add(w, WORKER_flows_evicted, 1);
		break;
	case FLOW_END_TCP_REUSE:
		worker_add(w, WORKER_flows_tcp_reused, 1);
		break;
	case FLOW_END_FINISH:
		worker_add(w, WORKER_flows_ended, 1);
		break;
	}
}

static void worker_outq_line(void *arg, const char *line, size_t len)
{
	outq_line(arg, line, len);
}

struct worker *worker_new(const struct worker_config *cfg)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct flow_config fc;
	int err = ENOMEM;

	if (w == NULL)
		return NULL;
	w->cfg = *cfg;
	if (w->cfg.max_flows == 0)
		w->cfg.max_flows = WORKER_DEFAULT_FLOWS;
	if (w->cfg.tcp_timeout_ns == 0)
		w->cfg.tcp_timeout_ns = 300 * WORKER_NS;
	if (w->cfg.udp_timeout_ns == 0)
		w->cfg.udp_timeout_ns = 120 * WORKER_NS;
	if (w->cfg.other_timeout_ns == 0)
		w->cfg.other_timeout_ns = 60 * WORKER_NS;
	if (w->cfg.active_timeout_ns == 0)
		w->cfg.active_timeout_ns = 1800 * WORKER_NS;
	fc = (struct flow_config){
		.max_flows = w->cfg.max_flows,
		.tcp_timeout_ns = w->cfg.tcp_timeout_ns,
		.udp_timeout_ns = w->cfg.udp_timeout_ns,
		.other_timeout_ns = w->cfg.other_timeout_ns,
		.active_timeout_ns = w->cfg.active_timeout_ns,
	};
	w->flows = flow_table_new(&fc, worker_flow_end, w);
	if (w->flows == NULL) {
		err = errno != 0 ? errno : ENOMEM;
		goto out_free;
	}
	w->dpi = dpi_new(w->cfg.max_flows < WORKER_DPI_STATES_MAX ? w->cfg.max_flows
	                                                          : WORKER_DPI_STATES_MAX);
	if (w->dpi == NULL)
		goto out_free;
	w->names = names_ctx_new(w->cfg.max_flows < WORKER_NAMES_BUFS_MAX ? w->cfg.max_flows
	                                                                  : WORKER_NAMES_BUFS_MAX);
	if (w->names == NULL)
		goto out_free;
	w->cid = community_id_ctx_new(0);
	if (w->cid == NULL)
		goto out_free;
	if (cfg->out != NULL) {
		w->obs = obs_new(cfg->id, cfg->observer_name, 0, worker_outq_line, cfg->out);
		if (w->obs == NULL)
			goto out_free;
	}
	w->env.observer = w->cfg.observer_name;
	w->env.operator_alerts = w->cfg.operator_alerts;
	if (cfg->rules != NULL) {
		w->enc = alert_enc_new(cfg->id, cfg->observer_name);
		w->alert_buf = malloc(WORKER_ALERT_MAX);
		if (w->enc == NULL || w->alert_buf == NULL)
			goto out_free;
	}
	return w;
out_free:
	worker_free(w);
	errno = err;
	return NULL;
}

void worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	/* flows still in the table hold nDPI states and name buffers from pools freed below */
	flow_table_free(w->flows);
	obs_free(w->obs);
	community_id_ctx_free(w->cid);
	names_ctx_free(w->names);
	dpi_free(w->dpi);
	alert_enc_free(w->enc);
	free(w->alert_buf);
	free(w);
}

/* ----- matching: alerts -------------------------------------------------------------- */

static void worker_flow_asns(struct worker *w, struct flow *f)
{
	if (f->match.asn_done)
		return;
	f->match.asn_done = true;
	if (w->asn == NULL || !w->snap_has_asn)
		return;
	asn_lookup(w->asn, flow_src_addr(f), &f->match.asn[0], NULL, 0);
	asn_lookup(w->asn, flow_dst_addr(f), &f->match.asn[1], NULL, 0);
}

/* true the first time key is raised in f (remembers up to FLOW_MAX_ALERTED keys) */
static bool worker_first_in_flow(struct flow *f, uint64_t key)
{
	uint32_t k = (uint32_t)key | 1;

	for (unsigned i = 0; i < f->match.nalerted; i++)
		if (f->match.alerted[i] == k)
			return false;
	if (f->match.nalerted < FLOW_MAX_ALERTED)
		f->match.alerted[f->match.nalerted++] = k;
	return true;
}

/* Fill source/destination of c: src/dst with their ports, AS numbers and organisations. */
static void worker_alert_ends(struct worker *w, struct alert_context *c, const struct addr *src,
			      uint16_t sport, const struct addr *dst, uint16_t dport,
			      char *src_org, char *dst_org, size_t orgsize)
{
	c->has_endpoints = true;
	c->src = *src;
	c->dst = *dst;
	c->sport = sport;
	c->dport = dport;
	src_org[0] = dst_org[0] = '\0';
	if (w->asn != NULL) {
		asn_lookup(w->asn, src, &c->src_asn, src_org, orgsize);
		asn_lookup(w->asn, dst, &c->dst_asn, dst_org, orgsize);
	}
	c->src_org = src_org;
	c->dst_org = dst_org;
}

static void worker_alert_emit(void *arg, const struct match_alert *a)
{
	static const enum worker_counter by_kind[] = { WORKER_alerts_contact, WORKER_alerts_lookup,
						       WORKER_alerts_inbound, WORKER_alerts_contact };
	struct worker_emit *e = arg;
	struct worker *w = e->w;
	struct flow *f = e->f;
	const struct matcher_participant *pt =
		a->participant == MATCH_OPERATOR ? NULL : matcher_participant(w->snap, a->participant);
	const struct matcher_asset *as =
		a->asset == MATCH_NO_ASSET ? NULL : matcher_asset(w->snap, a->asset);
	struct suppress_envelope env = { .ts_ns = e->p->ts_ns, .magic = SUPPRESS_MAGIC };
	struct alert_context c;
	char src_org[128], dst_org[128], qname[DNS_NAME_TEXT_MAX], proto[DPI_NAME_SIZE];
	size_t len, off;

	env.key = suppress_key(pt != NULL ? pt->id : "operator",
			       matcher_indicator(w->snap, a->indicator)->value,
			       as != NULL ? as->value : "", a->kind);
	if (!worker_first_in_flow(f, env.key)) {
		worker_add(w, WORKER_alerts_flow_dup, 1);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.ts_ns = e->p->ts_ns;
	c.proto = f->proto;
	c.community_id = worker_flow_cid(w, f);
	c.rules_generation = w->gen;
	proto[0] = '\0';
	if (f->dpi.status == DPI_DONE && dpi_flow_name(w->dpi, &f->dpi, proto, sizeof(proto)) > 0)
		c.protocol = proto;
	if (a->kind == MATCH_LOOKUP) {
		/* source is the asking host: a query's sender, a response's receiver */
		const struct pkt *p = e->p;

		if (e->m->qr)
			worker_alert_ends(w, &c, &p->dst, p->dport, &p->src, p->sport, src_org,
					  dst_org, sizeof(src_org));
		else
			worker_alert_ends(w, &c, &p->src, p->sport, &p->dst, p->dport, src_org,
					  dst_org, sizeof(src_org));
		if (e->m->nq > 0) {
			c.dns_qname_len = dns_name_text(&e->m->q[0].name, qname, sizeof(qname));
			if (c.dns_qname_len >= sizeof(qname))
				c.dns_qname_len = strnlen(qname, sizeof(qname) - 1);
			c.dns_qname = qname;
		}
	} else {
		worker_alert_ends(w, &c, flow_src_addr(f), flow_src_port(f), flow_dst_addr(f),
				  flow_dst_port(f), src_org, dst_org, sizeof(src_org));
		if (e->name != NULL && e->kind == NAMES_HTTP_HOST) {
			c.http_host = e->name;
			c.http_host_len = e->name_len;
		} else if (e->name != NULL) {
			c.sni = e->name;
			c.sni_len = e->name_len;
		}
	}
	len = alert_encode(w->enc, w->snap, a, &c, w->alert_buf + sizeof(env),
			   WORKER_ALERT_MAX - sizeof(env), &off);
	if (len == 0) {
		worker_add(w, WORKER_alerts_dropped, 1);
		return;
	}
	env.tipoff_off = (uint32_t)off;
	memcpy(w->alert_buf, &env, sizeof(env));
	while (w->cfg.alerts_wait && alertq_is_full(w->cfg.alerts))
		sched_yield();
	if (!alertq_push(w->cfg.alerts, w->alert_buf, sizeof(env) + len)) {
		worker_add(w, WORKER_alerts_dropped, 1);
		return;
	}
	worker_add(w, by_kind[a->kind], 1);
}

static struct match_flow worker_match_flow(const struct flow *f)
{
	struct match_flow mf = {
		.init = *flow_src_addr(f),
		.resp = *flow_dst_addr(f),
		.init_asn = f->match.asn[0],
		.resp_asn = f->match.asn[1],
		.is_dns = flow_has_ports(f) && (f->port[0] == 53 || f->port[1] == 53),
		.first_seq = f->match.first_seq,
		.ts_ns = f->first_ns,
	};

	return mf;
}

/* contact/inbound through the flow's ends: once per flow and snapshot generation */
static void worker_match_ends(struct worker *w, struct flow *f, const struct pkt *p)
{
	struct worker_emit e = { .w = w, .f = f, .p = p };
	struct match_flow mf;

	if (f->match.gen == w->gen)
		return;
	f->match.gen = w->gen;
	worker_flow_asns(w, f);
	mf = worker_match_flow(f);
	worker_add(w, WORKER_lookups, 1);
	match_flow_ends(&w->env, w->snap, w->cfg.dnsmem, &mf, worker_alert_emit, &e);
}

/* contact through a name the flow carries: lower case, trailing dot dropped */
static void worker_match_name(struct worker *w, struct flow *f, const struct pkt *p,
			      enum names_kind kind, const uint8_t *name, size_t len)
{
	struct worker_emit e = { .w = w, .f = f, .p = p, .kind = kind, .name = name,
				 .name_len = len };
	char norm[256];
	struct match_flow mf;

	if (len == 0 || len >= sizeof(norm))
		return;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = name[i];

		/* indicators are A-label names: a name with other bytes cannot match one */
		if (c < 0x21 || c > 0x7e)
			return;
		norm[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	while (len > 0 && norm[len - 1] == '.')
		len--;
	if (len == 0)
		return;
	worker_flow_asns(w, f);
	mf = worker_match_flow(f);
	worker_add(w, WORKER_lookups, 1);
	match_flow_name(&w->env, w->snap, &mf, norm, len, worker_alert_emit, &e);
}

/* lookup alerts of a DNS message, and (one worker) the DNS memory */
static void worker_match_dns(struct worker *w, struct flow *f, const struct pkt *p,
			     const struct dns_msg *m, uint64_t seq)
{
	static _Thread_local char qn[DNS_MAX_QUESTIONS][DNS_NAME_TEXT_MAX];
	static _Thread_local char tn[DNS_MAX_ANSWERS][DNS_NAME_TEXT_MAX];
	const char *qp[DNS_MAX_QUESTIONS], *tp[DNS_MAX_ANSWERS];
	size_t ql[DNS_MAX_QUESTIONS], tl[DNS_MAX_ANSWERS];
	struct worker_emit e = { .w = w, .f = f, .p = p, .m = m };
	uint32_t asking_asn = 0;

	if (w->cfg.dnsmem_writer && w->cfg.dnsmem != NULL && m->qr)
		dnsrec_record(w->cfg.dnsmem, m, &p->dst, seq, p->ts_ns);
	if (w->snap == NULL)
		return;
	for (unsigned i = 0; i < m->nq; i++) {
		ql[i] = dns_name_norm(&m->q[i].name, qn[i], sizeof(qn[i]));
		qp[i] = ql[i] < sizeof(qn[i]) ? qn[i] : NULL;
	}
	for (unsigned i = 0; i < m->nan; i++) {
		tp[i] = NULL;
		tl[i] = 0;
		if (m->qr && m->an[i].type == 5 && m->an[i].data_ok) {
			tl[i] = dns_name_norm(&m->an[i].target, tn[i], sizeof(tn[i]));
			tp[i] = tl[i] < sizeof(tn[i]) ? tn[i] : NULL;
		}
	}
	if (w->asn != NULL && w->snap_has_asn)
		asn_lookup(w->asn, m->qr ? &p->dst : &p->src, &asking_asn, NULL, 0);
	worker_add(w, WORKER_lookups, 1);
	match_dns(&w->env, w->snap, m, &p->src, &p->dst, asking_asn, p->ts_ns, qp, ql, tp, tl,
		  worker_alert_emit, &e);
}

/* Does snap hold any AS-number entry (else skip the ASN lookups per flow)? */
static bool worker_snap_has_asn(const struct matcher_snapshot *snap)
{
	const struct matcher_load_stats *st = matcher_snapshot_stats(snap);

	for (size_t i = 0; st != NULL && i < st->nfeeds; i++)
		if (st->feeds[i].loaded[MATCHER_TYPE_ASN] > 0)
			return true;
	for (uint32_t i = 0; st != NULL && i < st->assets; i++) {
		const struct matcher_asset *as = matcher_asset(snap, i);

		if (as != NULL && as->type == MATCHER_TYPE_ASN)
			return true;
	}
	return false;
}

void worker_quiescent(struct worker *w)
{
	const struct matcher_snapshot *snap;

	if (w->cfg.rules == NULL)
		return;
	matcher_quiescent();
	snap = matcher_current(rules_handle(w->cfg.rules));
	w->asn = rules_asn(w->cfg.rules);
	if (snap != w->snap) {
		w->snap = snap;
		w->gen = matcher_snapshot_generation(snap);
		w->snap_has_asn = worker_snap_has_asn(snap);
	}
}

static void worker_dns_message(struct worker *w, struct flow *f, const struct pkt *p,
                               const uint8_t *msg, size_t len, uint64_t seq)
{
	struct dns_msg *m = &w->dns;

	if (!dns_parse(msg, len, m)) {
		worker_store(&w->stats.dns_err[DNS_ERR_short_header],
		             w->stats.dns_err[DNS_ERR_short_header] + 1);
		return;
	}
	worker_add(w, WORKER_dns_messages, 1);
	if (m->err != DNS_ERR_none)
		worker_store(&w->stats.dns_err[m->err], w->stats.dns_err[m->err] + 1);
	if (w->obs != NULL)
		worker_obs_result(w, obs_dns(w->obs, p, worker_flow_cid(w, f), m), WORKER_obs_dns);
	if (w->snap != NULL || w->cfg.dnsmem_writer)
		worker_match_dns(w, f, p, m, seq);
}

/*
 * DNS over TCP (RFC 1035 4.2.2): messages behind 2-byte lengths, possibly spanning
 * segments. Per direction the flow keeps the sequence number where the next message
 * starts, so a segment is parsed from a message boundary only; a message cut by the end of
 * the segment counts with its readable part, and its continuation is skipped.
 */
static void worker_dns_tcp(struct worker *w, struct flow *f, uint8_t dir, const struct pkt *p,
                           uint64_t seq)
{
	uint16_t bit = (uint16_t)(1u << dir);
	size_t off = 0, len = p->payload_len;

	if (f->dns_seq_ok & bit) {
		int32_t delta = (int32_t)(f->dns_next_seq[dir] - p->tcp_seq);

		if (delta >= 0 && (uint32_t)delta >= p->payload_wire_len) {
			/* the continuation of a cut message, or a retransmission */
			worker_add(w, WORKER_dns_tcp_skipped, 1);
			return;
		}
		if (delta > 0)
			off = (size_t)delta;
		/* delta < 0: bytes were lost before this segment; take it as a new start */
	}
	while (off < len) {
		const uint8_t *msg;
		size_t msg_len, used;
		struct cursor c;
		uint16_t announced;

		cursor_init(&c, p->payload + off, len - off);
		announced = cursor_u16(&c);
		used = dns_tcp_next(p->payload + off, len - off, &msg, &msg_len);
		if (used == 0 || c.err)
			break;
		worker_dns_message(w, f, p, msg, msg_len, seq);
		if (msg_len < announced) {
			/* cut here: the next message starts after the announced length */
			f->dns_next_seq[dir] = p->tcp_seq + (uint32_t)(off + 2 + announced);
			f->dns_seq_ok |= bit;
			return;
		}
		off += used;
	}
	if (off == p->payload_wire_len) {
		f->dns_next_seq[dir] = p->tcp_seq + (uint32_t)off;
		f->dns_seq_ok |= bit;
	} else {
		f->dns_seq_ok &= (uint16_t)~bit; /* a length prefix was cut: resynchronise */
	}
}

static void worker_dns(struct worker *w, struct flow *f, uint8_t dir, const struct pkt *p,
                       uint64_t seq)
{
	if (p->payload_len == 0)
		return;
	if (p->proto == IPPROTO_UDP)
		worker_dns_message(w, f, p, p->payload, p->payload_len, seq);
	else
		worker_dns_tcp(w, f, dir, p, seq);
}

static void worker_name_emit(void *arg, enum names_kind kind, const uint8_t *name, size_t len)
{
	struct worker_emit *e = arg;
	struct worker *w = e->w;
	enum worker_counter c = kind == NAMES_TLS_SNI     ? WORKER_obs_tls
	                        : kind == NAMES_HTTP_HOST ? WORKER_obs_http
	                                                  : WORKER_obs_quic;

	/* the roles are now part of what was written: a late SYN no longer swaps them */
	e->f->flags |= FLOW_F_ROLES_FIXED;
	if (w->snap != NULL)
		worker_match_name(w, e->f, e->p, kind, name, len);
	if (w->obs == NULL)
		return;
	worker_obs_result(
	        w, obs_name(w->obs, e->p->ts_ns, e->f, worker_flow_cid(w, e->f), kind, name, len),
	        c);
}

/*
 * Which packets the name parsers see: a ClientHello, HTTP request or QUIC Initial comes from
 * the client. That is the initiator when the roles came from a SYN or the DNS QR bit; when they
 * came from a weaker rule (the port rule, or the first packet — e.g. a capture that starts at
 * the SYN-ACK), either side may turn out to be the client, so both are offered until a parser
 * recognises one side's payload.
 */
static bool worker_names_follow(const struct flow *f, uint8_t dir)
{
	if (f->flags & FLOW_F_NAMES_DIR)
		return dir == f->names_dir;
	if (dir == FLOW_DIR_SRC)
		return true;
	return f->init_rule == FLOW_INIT_FIRST || f->init_rule == FLOW_INIT_PORT;
}

void worker_packet(struct worker *w, const struct pkt *p, uint64_t seq)
{
	struct flow_hit hit;
	struct flow *f = flow_get(w->flows, p, &hit);
	bool ports = p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP;

	if (hit.created) {
		worker_add(w, WORKER_flows_created, 1);
		f->match.first_seq = seq;
	}
	if (hit.swapped) {
		/* what the names parsers saw came from the other side: start them again */
		names_release(w->names, &f->names);
		memset(&f->names, 0, sizeof(f->names));
		worker_add(w, WORKER_initiator_swaps, 1);
	}
	if (dpi_wants_packets(&f->dpi))
		dpi_packet(w->dpi, &f->dpi, p);
	/* Ends are matched at the first packet, and again when the rules changed (a verdict is
	 * cached per flow with the snapshot generation). A late SYN that swapped the roles
	 * re-matches too. */
	if (w->snap != NULL && (f->match.gen != w->gen || hit.swapped)) {
		if (hit.swapped)
			f->match.gen = 0;
		worker_match_ends(w, f, p);
	}
	if (ports && (p->sport == 53 || p->dport == 53))
		worker_dns(w, f, hit.dir, p, seq);
	if (ports && !names_is_done(&f->names) && worker_names_follow(f, hit.dir)) {
		struct worker_emit e = { .w = w, .f = f, .p = p };

		names_initiator_payload(w->names, &f->names, p, worker_name_emit, &e);
		/* the side whose payload a parser recognised is the one to follow from now on */
		if (!(f->flags & FLOW_F_NAMES_DIR) && f->names.proto != 0 &&
		    !names_is_done(&f->names)) {
			f->flags |= FLOW_F_NAMES_DIR;
			f->names_dir = hit.dir;
		}
	}
	if (++w->since_publish >= WORKER_PUBLISH_EVERY)
		worker_publish(w);
}

void worker_frame(struct worker *w, int dlt, const uint8_t *data, uint32_t cap_len,
                  uint32_t wire_len, uint64_t ts_ns, uint64_t seq)
{
	struct pkt p;
	enum decode_result r;

	worker_add(w, WORKER_packets, 1);
	worker_add(w, WORKER_bytes, wire_len);
	r = decode_packet(dlt, data, cap_len, wire_len, ts_ns, &p, &w->dec);
	if (r != DECODE_OK) {
		worker_publish(w);
		return;
	}
	worker_packet(w, &p, seq);
}

void worker_expire(struct worker *w, uint64_t now_ns)
{
	flow_expire(w->flows, now_ns);
	worker_publish(w);
}

void worker_finish(struct worker *w)
{
	flow_finish(w->flows);
	worker_publish(w);
	if (w->cfg.out != NULL)
		outq_flush(w->cfg.out);
}

void worker_get_stats(const struct worker *w, struct worker_stats *out)
{
	const struct worker_stats *s = &w->stats;

	for (unsigned i = 0; i < WORKER_NCOUNTERS; i++)
		out->n[i] = __atomic_load_n(&s->n[i], __ATOMIC_RELAXED);
	for (unsigned i = 0; i < DECODE_NCOUNTERS; i++)
		out->decode.n[i] = __atomic_load_n(&s->decode.n[i], __ATOMIC_RELAXED);
	for (unsigned i = 0; i < DNS_NERRORS; i++)
		out->dns_err[i] = __atomic_load_n(&s->dns_err[i], __ATOMIC_RELAXED);
	for (unsigned i = 0; i < NAMES_NCOUNTERS; i++)
		out->names[i] = __atomic_load_n(&s->names[i], __ATOMIC_RELAXED);
	out->flows_active = __atomic_load_n(&s->flows_active, __ATOMIC_RELAXED);
}

uint32_t worker_dispatch_hash(const struct pkt *p)
{
	return (uint32_t)(flow_hash_pkt(p) >> 32);
}
