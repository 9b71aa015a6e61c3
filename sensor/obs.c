/*
 * Observation lines as JSON (see obs.h; docs/observations.md is the field reference).
 * A line is appended field by field into the worker's buffer with bounds checks that only
 * set an overflow flag; a line that overflowed is dropped whole, so output is always valid
 * JSON. Text from the wire goes through obs_put_name (\DDD for anything unusual), text we
 * produce or configure through obs_put_str (JSON escapes); the writer is sensor/jw.h.
 */
#include "sensor/obs.h"
#include "sensor/jw.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct obs_ctx {
	struct jw w; /* the line being built (buffer owned by the ctx) */
	obs_line_fn *line;
	void *arg;
	char id_prefix[48]; /* "<run>-<worker>-" */
	size_t id_prefix_len;
	uint64_t seq;   /* event.id counter */
	char *observer; /* observer.name as a JSON string (quoted, escaped) */
	size_t observer_len;
	uint64_t sec_cached; /* second of sec_text, UINT64_MAX when none */
	char sec_text[20];   /* "YYYY-MM-DDTHH:MM:SS" */
};

static inline void obs_put(struct obs_ctx *o, const char *s, size_t n)
{
	jw_put(&o->w, s, n);
}

#define OBS_PUTL(o, lit) obs_put((o), (lit), sizeof(lit) - 1)

static inline void obs_putc(struct obs_ctx *o, char c)
{
	jw_putc(&o->w, c);
}

static inline void obs_put_u64(struct obs_ctx *o, uint64_t v)
{
	jw_u64(&o->w, v);
}

/* A JSON string of text we made or configured. */
static void obs_put_str(struct obs_ctx *o, const char *s)
{
	jw_str(&o->w, s, strlen(s));
}

static void obs_put_name(struct obs_ctx *o, const uint8_t *name, size_t len)
{
	jw_name(&o->w, name, len);
}

size_t obs_escape_name(const uint8_t *name, size_t len, char *buf, size_t size)
{
	size_t need = 0;

	for (size_t i = 0; i < len; i++) {
		char esc[5];
		size_t n = jw_name_byte(name[i], esc);

		if (size > 0 && need + n < size)
			memcpy(buf + need, esc, n);
		else if (size > 0 && need < size)
			size = need + 1; /* stop writing: keep the output a whole prefix */
		need += n;
	}
	if (size > 0)
		buf[need < size ? need : size - 1] = '\0';
	return need;
}

size_t obs_time_text(uint64_t ts_ns, char *buf)
{
	return jw_time_text(ts_ns, buf);
}

static void obs_put_time(struct obs_ctx *o, uint64_t ts_ns)
{
	uint64_t sec = ts_ns / 1000000000u;
	char t[28];

	if (sec != o->sec_cached) {
		jw_sec_text(sec, o->sec_text);
		o->sec_cached = sec;
	}
	memcpy(t, o->sec_text, 19);
	jw_usec_text(ts_ns, t + 19);
	obs_putc(o, '"');
	obs_put(o, t, 27);
	obs_putc(o, '"');
}

static void obs_put_addr(struct obs_ctx *o, const struct addr *a)
{
	jw_addr(&o->w, a);
}

static void obs_put_transport(struct obs_ctx *o, uint8_t proto)
{
	jw_transport(&o->w, proto);
}

static uint64_t obs_run_id(void)
{
	static uint64_t run_id; /* 0 until the first obs_new; then fixed for the process */
	uint64_t v = __atomic_load_n(&run_id, __ATOMIC_ACQUIRE), expect = 0;

	if (v != 0)
		return v;
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		v = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec ^
		    (uint64_t)getpid() << 32;
	}
	v |= 1;
	if (!__atomic_compare_exchange_n(&run_id, &expect, v, false, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE))
		v = expect;
	return v;
}

struct obs_ctx *obs_new(unsigned worker_id, const char *observer_name, size_t line_size,
                        obs_line_fn *line, void *arg)
{
	static const char hex[] = "0123456789abcdef";
	struct obs_ctx *o = calloc(1, sizeof(*o));
	uint64_t run = obs_run_id();
	size_t n = 0, olen;

	if (o == NULL)
		return NULL;
	line_size = line_size != 0 ? line_size : OBS_LINE_MAX;
	o->w.buf = malloc(line_size);
	if (o->w.buf == NULL)
		goto out_free;
	o->w.cap = line_size;
	o->line = line;
	o->arg = arg;
	o->sec_cached = UINT64_MAX;
	for (int i = 60; i >= 0; i -= 4)
		o->id_prefix[n++] = hex[run >> i & 15];
	o->id_prefix[n++] = '-';
	n += (size_t)snprintf(o->id_prefix + n, sizeof(o->id_prefix) - n, "%u-", worker_id);
	o->id_prefix_len = n;
	/* observer.name, escaped once: quotes and at most 6 output bytes per input byte */
	if (observer_name == NULL)
		observer_name = "";
	olen = strlen(observer_name);
	o->observer = malloc(olen * 6 + 2);
	if (o->observer == NULL)
		goto out_free;
	{
		struct jw tmp;

		jw_init(&tmp, o->observer, olen * 6 + 2);
		jw_str(&tmp, observer_name, olen);
		o->observer_len = tmp.len;
	}
	return o;
out_free:
	obs_free(o);
	return NULL;
}

void obs_free(struct obs_ctx *o)
{
	if (o == NULL)
		return;
	free(o->observer);
	free(o->w.buf);
	free(o);
}

/* Start a line: @timestamp, event.kind/dataset/id; leaves the event object open. */
static void obs_begin(struct obs_ctx *o, uint64_t ts_ns, const char *dataset)
{
	o->w.len = 0;
	o->w.over = false;
	OBS_PUTL(o, "{\"@timestamp\":");
	obs_put_time(o, ts_ns);
	OBS_PUTL(o, ",\"event\":{\"kind\":\"event\",\"dataset\":\"");
	obs_put(o, dataset, strlen(dataset));
	OBS_PUTL(o, "\",\"id\":\"");
	obs_put(o, o->id_prefix, o->id_prefix_len);
	obs_put_u64(o, o->seq);
	obs_putc(o, '"');
}

/* Close the event object and write observer.name. */
static void obs_observer(struct obs_ctx *o)
{
	OBS_PUTL(o, "},\"observer\":{\"name\":");
	obs_put(o, o->observer, o->observer_len);
	obs_putc(o, '}');
}

/* "source":{"ip":..,"port":..  (left open) */
static void obs_endpoint(struct obs_ctx *o, const char *which, const struct addr *a, uint16_t port,
                         bool has_port)
{
	obs_putc(o, ',');
	obs_putc(o, '"');
	obs_put(o, which, strlen(which));
	OBS_PUTL(o, "\":{\"ip\":");
	obs_put_addr(o, a);
	if (has_port) {
		OBS_PUTL(o, ",\"port\":");
		obs_put_u64(o, port);
	}
}

static void obs_network(struct obs_ctx *o, uint8_t proto, const char *community_id)
{
	OBS_PUTL(o, ",\"network\":{\"transport\":");
	obs_put_transport(o, proto);
	if (community_id != NULL && community_id[0] != '\0') {
		/* "1:" and base64 (community_id.c): nothing to escape */
		OBS_PUTL(o, ",\"community_id\":\"");
		obs_put(o, community_id, strlen(community_id));
		obs_putc(o, '"');
	}
}

static bool obs_end(struct obs_ctx *o)
{
	obs_putc(o, '}');
	if (o->w.over)
		return false;
	o->seq++;
	if (o->line != NULL)
		o->line(o->arg, o->w.buf, o->w.len);
	return true;
}

static const char *const obs_end_reason[] = {
	[FLOW_END_IDLE] = "idle",           [FLOW_END_ACTIVE] = "active",
	[FLOW_END_EVICTED] = "evicted",     [FLOW_END_TCP_REUSE] = "tcp_reuse",
	[FLOW_END_FINISH] = "end_of_input",
};

static const char *const obs_init_rule[] = {
	[FLOW_INIT_SYN] = "syn",
	[FLOW_INIT_DNS] = "dns",
	[FLOW_INIT_PORT] = "port",
	[FLOW_INIT_FIRST] = "first_packet",
};

bool obs_flow(struct obs_ctx *o, const struct flow *f, const char *community_id,
              const char *protocol, enum flow_end_reason why)
{
	const struct flow_dir *s = &f->dir[FLOW_DIR_SRC], *d = &f->dir[FLOW_DIR_DST];
	bool ports = flow_has_ports(f);

	obs_begin(o, f->last_ns, "tipoff.flow");
	OBS_PUTL(o, ",\"start\":");
	obs_put_time(o, f->first_ns);
	OBS_PUTL(o, ",\"end\":");
	obs_put_time(o, f->last_ns);
	OBS_PUTL(o, ",\"duration\":");
	obs_put_u64(o, f->last_ns - f->first_ns);
	obs_observer(o);
	obs_endpoint(o, "source", flow_src_addr(f), flow_src_port(f), ports);
	OBS_PUTL(o, ",\"packets\":");
	obs_put_u64(o, s->packets);
	OBS_PUTL(o, ",\"bytes\":");
	obs_put_u64(o, s->bytes);
	obs_putc(o, '}');
	obs_endpoint(o, "destination", flow_dst_addr(f), flow_dst_port(f), ports);
	OBS_PUTL(o, ",\"packets\":");
	obs_put_u64(o, d->packets);
	OBS_PUTL(o, ",\"bytes\":");
	obs_put_u64(o, d->bytes);
	obs_putc(o, '}');
	obs_network(o, f->proto, community_id);
	OBS_PUTL(o, ",\"iana_number\":\"");
	obs_put_u64(o, f->proto);
	obs_putc(o, '"');
	if (protocol != NULL && protocol[0] != '\0') {
		OBS_PUTL(o, ",\"protocol\":");
		obs_put_str(o, protocol);
	}
	OBS_PUTL(o, ",\"packets\":");
	obs_put_u64(o, s->packets + d->packets);
	OBS_PUTL(o, ",\"bytes\":");
	obs_put_u64(o, s->bytes + d->bytes);
	if (f->vlan != 0) {
		OBS_PUTL(o, ",\"vlan\":{\"id\":");
		obs_put_u64(o, f->vlan);
		obs_putc(o, '}');
	}
	OBS_PUTL(o, "},\"tipoff\":{\"flow\":{\"end_reason\":\"");
	obs_put(o, obs_end_reason[why], strlen(obs_end_reason[why]));
	OBS_PUTL(o, "\",\"initiator_rule\":\"");
	obs_put(o, obs_init_rule[f->init_rule], strlen(obs_init_rule[f->init_rule]));
	OBS_PUTL(o, "\"}");
	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) {
		OBS_PUTL(o, ",\"icmp\":{\"type\":");
		obs_put_u64(o, f->icmp_type);
		OBS_PUTL(o, ",\"code\":");
		obs_put_u64(o, f->icmp_code);
		obs_putc(o, '}');
	}
	if (f->tunnel_depth > 0) {
		OBS_PUTL(o, ",\"tunnel\":{\"depth\":");
		obs_put_u64(o, f->tunnel_depth);
		OBS_PUTL(o, ",\"source\":{\"ip\":");
		obs_put_addr(o, &f->outer[0]);
		OBS_PUTL(o, "},\"destination\":{\"ip\":");
		obs_put_addr(o, &f->outer[1]);
		OBS_PUTL(o, "}}");
	}
	obs_putc(o, '}');
	return obs_end(o);
}

static void obs_put_class(struct obs_ctx *o, uint16_t cls)
{
	switch (cls) {
	case 1:
		OBS_PUTL(o, "\"IN\"");
		break;
	case 3:
		OBS_PUTL(o, "\"CH\"");
		break;
	case 4:
		OBS_PUTL(o, "\"HS\"");
		break;
	case 255:
		OBS_PUTL(o, "\"ANY\"");
		break;
	default:
		OBS_PUTL(o, "\"CLASS");
		obs_put_u64(o, cls);
		obs_putc(o, '"');
		break;
	}
}

static void obs_put_type(struct obs_ctx *o, uint16_t type)
{
	char buf[16];

	obs_put_str(o, dns_type_str(type, buf, sizeof(buf)));
}

static void obs_put_dns_name(struct obs_ctx *o, const struct dns_name *n)
{
	char text[DNS_NAME_TEXT_MAX];
	size_t len = dns_name_text(n, text, sizeof(text));

	if (len >= sizeof(text))
		len = strnlen(text, sizeof(text) - 1);
	jw_str(&o->w, text, len);
}

static void obs_put_question(struct obs_ctx *o, const struct dns_question *q)
{
	OBS_PUTL(o, "{\"name\":");
	obs_put_dns_name(o, &q->name);
	OBS_PUTL(o, ",\"type\":");
	obs_put_type(o, q->type);
	OBS_PUTL(o, ",\"class\":");
	obs_put_class(o, q->class);
	obs_putc(o, '}');
}

static const char *const obs_opcode[16] = {
	[0] = "QUERY", [1] = "IQUERY", [2] = "STATUS", [4] = "NOTIFY", [5] = "UPDATE", [6] = "DSO",
};

bool obs_dns(struct obs_ctx *o, const struct pkt *p, const char *community_id,
             const struct dns_msg *m)
{
	bool first = true;
	unsigned i;

	obs_begin(o, p->ts_ns, "tipoff.dns");
	obs_observer(o);
	obs_endpoint(o, "source", &p->src, p->sport, true);
	obs_putc(o, '}');
	obs_endpoint(o, "destination", &p->dst, p->dport, true);
	obs_putc(o, '}');
	obs_network(o, p->proto, community_id);
	OBS_PUTL(o, "},\"dns\":{\"id\":");
	obs_put_u64(o, m->id);
	OBS_PUTL(o, ",\"type\":");
	if (m->qr)
		OBS_PUTL(o, "\"answer\"");
	else
		OBS_PUTL(o, "\"query\"");
	OBS_PUTL(o, ",\"op_code\":");
	if (obs_opcode[m->opcode & 15] != NULL) {
		obs_put_str(o, obs_opcode[m->opcode & 15]);
	} else {
		OBS_PUTL(o, "\"OPCODE");
		obs_put_u64(o, m->opcode & 15);
		obs_putc(o, '"');
	}
	if (m->qr) {
		char buf[16];

		OBS_PUTL(o, ",\"response_code\":");
		obs_put_str(o, dns_rcode_str(m->rcode, buf, sizeof(buf)));
	}
	OBS_PUTL(o, ",\"header_flags\":[");
	if (m->aa) {
		OBS_PUTL(o, "\"AA\"");
		first = false;
	}
	if (m->tc) {
		if (!first)
			obs_putc(o, ',');
		OBS_PUTL(o, "\"TC\"");
		first = false;
	}
	if (m->rd) {
		if (!first)
			obs_putc(o, ',');
		OBS_PUTL(o, "\"RD\"");
		first = false;
	}
	if (m->ra) {
		if (!first)
			obs_putc(o, ',');
		OBS_PUTL(o, "\"RA\"");
	}
	obs_putc(o, ']');
	if (m->nq > 0) {
		OBS_PUTL(o, ",\"question\":");
		obs_put_question(o, &m->q[0]);
	}
	if (m->nq > 1) {
		OBS_PUTL(o, ",\"questions\":[");
		for (i = 0; i < m->nq && i < DNS_MAX_QUESTIONS; i++) {
			if (i > 0)
				obs_putc(o, ',');
			obs_put_question(o, &m->q[i]);
		}
		obs_putc(o, ']');
	}
	if (m->nan > 0) {
		bool any_ip = false;

		OBS_PUTL(o, ",\"answers\":[");
		for (i = 0; i < m->nan && i < DNS_MAX_ANSWERS; i++) {
			const struct dns_rr *rr = &m->an[i];
			char data[DNS_NAME_TEXT_MAX];
			size_t dlen;

			if (i > 0)
				obs_putc(o, ',');
			OBS_PUTL(o, "{\"name\":");
			obs_put_dns_name(o, &rr->name);
			OBS_PUTL(o, ",\"type\":");
			obs_put_type(o, rr->type);
			OBS_PUTL(o, ",\"class\":");
			obs_put_class(o, rr->class);
			OBS_PUTL(o, ",\"ttl\":");
			obs_put_u64(o, rr->ttl);
			dlen = rr->data_ok ? dns_rr_data_text(rr, data, sizeof(data)) : 0;
			if (dlen > 0) {
				if (dlen >= sizeof(data))
					dlen = strnlen(data, sizeof(data) - 1);
				OBS_PUTL(o, ",\"data\":");
				jw_str(&o->w, data, dlen);
			}
			obs_putc(o, '}');
			any_ip |= rr->data_ok && (rr->type == 1 || rr->type == 28);
		}
		obs_putc(o, ']');
		if (any_ip) {
			first = true;
			OBS_PUTL(o, ",\"resolved_ip\":[");
			for (i = 0; i < m->nan && i < DNS_MAX_ANSWERS; i++) {
				const struct dns_rr *rr = &m->an[i];

				if (!rr->data_ok || (rr->type != 1 && rr->type != 28))
					continue;
				if (!first)
					obs_putc(o, ',');
				obs_put_addr(o, &rr->ip);
				first = false;
			}
			obs_putc(o, ']');
		}
	}
	obs_putc(o, '}');
	if (m->err != DNS_ERR_none) {
		OBS_PUTL(o, ",\"tipoff\":{\"dns\":{\"error\":");
		obs_put_str(o, dns_error_names[m->err]);
		OBS_PUTL(o, "}}");
	}
	return obs_end(o);
}

bool obs_name(struct obs_ctx *o, uint64_t ts_ns, const struct flow *f, const char *community_id,
              enum names_kind kind, const uint8_t *name, size_t len)
{
	bool ports = flow_has_ports(f);

	switch (kind) {
	case NAMES_TLS_SNI:
		obs_begin(o, ts_ns, "tipoff.tls");
		break;
	case NAMES_HTTP_HOST:
		obs_begin(o, ts_ns, "tipoff.http");
		break;
	default:
		obs_begin(o, ts_ns, "tipoff.quic");
		break;
	}
	obs_observer(o);
	obs_endpoint(o, "source", flow_src_addr(f), flow_src_port(f), ports);
	obs_putc(o, '}');
	obs_endpoint(o, "destination", flow_dst_addr(f), flow_dst_port(f), ports);
	obs_putc(o, '}');
	obs_network(o, f->proto, community_id);
	obs_putc(o, '}');
	if (kind == NAMES_HTTP_HOST) {
		OBS_PUTL(o, ",\"url\":{\"domain\":");
		obs_put_name(o, name, len);
		obs_putc(o, '}');
	} else {
		OBS_PUTL(o, ",\"tls\":{\"client\":{\"server_name\":");
		obs_put_name(o, name, len);
		OBS_PUTL(o, "}}");
	}
	return obs_end(o);
}
