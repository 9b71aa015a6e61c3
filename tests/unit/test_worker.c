/*
 * Tests of the capture worker (sensor/worker.c) on real captures: frames read with libpcap go
 * through worker_frame into an outq drained by the output writer; the observation lines are
 * read back with jansson and compared with tshark's dissection of the same capture (tshark is
 * run by the test: $TSHARK, else "tshark" on PATH).
 *
 *   test_worker              the unit tests
 *   test_worker --dump FILE [N]  print the observations of FILE (N workers, default 1)
 */
#include <errno.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sensor/decode.h"
#include "sensor/outq.h"
#include "sensor/worker.h"

#ifndef WORKER_TEST_PCAPS
#define WORKER_TEST_PCAPS "../shared/corpus/pcaps"
#endif
#define NS 1000000000ull

/* ---- running a capture through workers ----------------------------------------------- */

struct run {
	json_t *lines;          /* array of every observation, in output order */
	struct worker_stats st; /* summed over the workers */
	uint64_t frames;
	uint64_t ns_in_frame; /* time spent in worker_frame */
};

static void stats_add(struct worker_stats *t, const struct worker_stats *s)
{
	for (unsigned i = 0; i < WORKER_NCOUNTERS; i++)
		t->n[i] += s->n[i];
	for (unsigned i = 0; i < DECODE_NCOUNTERS; i++)
		t->decode.n[i] += s->decode.n[i];
	for (unsigned i = 0; i < DNS_NERRORS; i++)
		t->dns_err[i] += s->dns_err[i];
	t->flows_active += s->flows_active;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/*
 * Run the capture at path through nworkers workers (frames dispatched by
 * worker_dispatch_hash as the reader thread does), each with max_flows flows; expire every
 * second of packet time; finish at the end. Returns 0 or -1 when the capture cannot be read.
 */
static int run_capture(const char *path, unsigned nworkers, uint32_t max_flows, bool obs,
                       struct run *r)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	struct worker *w[8];
	struct outq *q[8];
	struct out_writer *wr = NULL;
	FILE *tmp = tmpfile();
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t last_tick = 0;
	int dlt, rc;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	if (pc == NULL || tmp == NULL || nworkers > 8) {
		fprintf(stderr, "cannot open %s: %s\n", path, err);
		return -1;
	}
	dlt = pcap_datalink(pc);
	for (unsigned i = 0; i < nworkers; i++) {
		struct worker_config cfg = {
			.id = i,
			.max_flows = max_flows,
			.tcp_timeout_ns = 300 * NS,
			.udp_timeout_ns = 120 * NS,
			.other_timeout_ns = 60 * NS,
			.active_timeout_ns = 1800 * NS,
			.observer_name = "test-sensor",
		};

		q[i] = obs ? outq_new(8, 1 << 20, true) : NULL;
		cfg.out = q[i];
		w[i] = worker_new(&cfg);
		if (w[i] == NULL)
			abort();
	}
	if (obs)
		wr = out_writer_start(fileno(tmp), q, nworkers);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * NS + (uint64_t)h->ts.tv_usec;
		unsigned idx = 0;
		uint64_t t0;

		if (nworkers > 1) {
			struct pkt p;
			struct decode_stats ds;

			memset(&ds, 0, sizeof(ds));
			if (decode_packet(dlt, data, h->caplen, h->len, ts, &p, &ds) == DECODE_OK)
				idx = worker_dispatch_hash(&p) % nworkers;
		}
		if (ts / NS > last_tick) {
			if (last_tick != 0)
				for (unsigned i = 0; i < nworkers; i++)
					worker_expire(w[i], ts);
			last_tick = ts / NS;
		}
		t0 = now_ns();
		worker_frame(w[idx], dlt, data, h->caplen, h->len, ts, r->frames + 1);
		r->ns_in_frame += now_ns() - t0;
		r->frames++;
	}
	pcap_close(pc);
	for (unsigned i = 0; i < nworkers; i++) {
		struct worker_stats s;

		worker_finish(w[i]);
		if (q[i] != NULL)
			outq_flush(q[i]);
		worker_get_stats(w[i], &s);
		stats_add(&r->st, &s);
	}
	if (wr != NULL && out_writer_stop(wr) != 0)
		fprintf(stderr, "writer failed\n");
	for (unsigned i = 0; i < nworkers; i++) {
		worker_free(w[i]);
		outq_free(q[i]);
	}
	r->lines = json_array();
	rewind(tmp);
	while ((n = getline(&line, &cap, tmp)) > 0) {
		json_error_t je;
		json_t *j = json_loadb(line, (size_t)n, 0, &je);

		if (j == NULL) {
			fprintf(stderr, "invalid JSON line (%s): %s", je.text, line);
			check_failures_++;
			continue;
		}
		json_array_append_new(r->lines, j);
	}
	free(line);
	fclose(tmp);
	return 0;
}

static const char *jstr(json_t *j, const char *path)
{
	char key[128];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL && j != NULL) {
		size_t n = (size_t)(dot - path);

		memcpy(key, path, n);
		key[n] = '\0';
		j = json_object_get(j, key);
		path = dot + 1;
	}
	j = j ? json_object_get(j, path) : NULL;
	return json_is_string(j) ? json_string_value(j) : "";
}

static long long jint(json_t *j, const char *path)
{
	char key[128];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL && j != NULL) {
		size_t n = (size_t)(dot - path);

		memcpy(key, path, n);
		key[n] = '\0';
		j = json_object_get(j, key);
		path = dot + 1;
	}
	j = j ? json_object_get(j, path) : NULL;
	return json_is_integer(j) ? json_integer_value(j) : -1;
}

/* The observations of one dataset, in output order (borrowed from r->lines). */
static size_t of_dataset(const struct run *r, const char *dataset, json_t **out, size_t max)
{
	size_t n = 0, i;
	json_t *j;

	json_array_foreach(r->lines, i, j) {
		if (strcmp(jstr(j, "event.dataset"), dataset) == 0 && n < max)
			out[n++] = j;
		else if (strcmp(jstr(j, "event.dataset"), dataset) == 0)
			n++;
	}
	return n;
}

static void run_free(struct run *r)
{
	json_decref(r->lines);
	r->lines = NULL;
}

static char *pcap_path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", WORKER_TEST_PCAPS, name);
	return buf;
}

/* ---- tshark -------------------------------------------------------------------------- */

/* Rows of tab-separated fields tshark prints for -T fields; freed by tshark_free. */
struct rows {
	char **row;
	size_t n;
};

static int tshark(struct rows *out, const char *file, const char *filter, const char *fields)
{
	const char *prog = getenv("TSHARK") ? getenv("TSHARK") : "tshark";
	char cmd[8192];
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	snprintf(cmd, sizeof(cmd),
	         "'%s' -r '%s' %s%s%s --enable-protocol communityid -T fields %s 2>/dev/null", prog,
	         file, filter[0] ? "-Y '" : "", filter, filter[0] ? "'" : "", fields);
	f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		out->row = realloc(out->row, (out->n + 1) * sizeof(*out->row));
		out->row[out->n++] = strdup(line);
	}
	free(line);
	return pclose(f) == 0 ? 0 : -1;
}

static void tshark_free(struct rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->row[i]);
	free(r->row);
}

/* Field k (0-based) of a tab-separated row into buf. */
static const char *field(const char *row, unsigned k, char *buf, size_t size)
{
	const char *p = row, *e;

	while (k-- > 0 && p != NULL) {
		p = strchr(p, '\t');
		if (p != NULL)
			p++;
	}
	if (p == NULL) {
		buf[0] = '\0';
		return buf;
	}
	e = strchr(p, '\t');
	snprintf(buf, size, "%.*s", (int)(e ? (size_t)(e - p) : strlen(p)), p);
	return buf;
}

static bool have_tshark(void)
{
	static int have = -1;

	if (have < 0) {
		struct rows r;

		have = tshark(&r, pcap_path("ndpi/dns.pcap"), "", "-e frame.number") == 0 &&
		       r.n > 0;
		tshark_free(&r);
		if (!have)
			fprintf(stderr, "tshark not usable: tshark comparisons skipped\n");
	}
	return have;
}

/* ---- tests --------------------------------------------------------------------------- */

/*
 * Every DNS message: id, query/answer, first question name and the A/AAAA answers, in packet
 * order, as tshark -Y dns -e dns.id -e dns.flags.response -e dns.qry.name -e dns.a -e dns.aaaa
 * shows them (its first qry.name; its dns.a also lists additional-section records, so ours
 * must be a prefix of its list).
 */
static void check_dns_like_tshark(const char *name)
{
	const char *path = pcap_path(name);
	struct run r;
	struct rows t;
	json_t *dns[4096];
	size_t n, i;

	if (!have_tshark() || run_capture(path, 1, 4096, true, &r) != 0)
		return;
	if (tshark(&t, path, "dns && !tcp && !mdns && !llmnr",
	           "-e dns.id -e dns.flags.response -e dns.qry.name -e dns.a -e dns.aaaa") != 0) {
		CHECK(!"tshark failed");
		run_free(&r);
		return;
	}
	n = of_dataset(&r, "tipoff.dns", dns, 4096);
	if (n != t.n)
		fprintf(stderr, "%s: %zu tipoff.dns lines, tshark %zu messages\n", name, n, t.n);
	CHECK_EQ(n, t.n);
	CHECK_EQ(r.st.n[WORKER_obs_dns], n);
	for (i = 0; i < n && i < t.n && i < 4096; i++) {
		char f[4096], want[4096] = "", got[4096] = "";
		json_t *ips = json_object_get(json_object_get(dns[i], "dns"), "resolved_ip"), *v;
		size_t k;

		CHECK_EQ(jint(dns[i], "dns.id"),
		         strtol(field(t.row[i], 0, f, sizeof(f)), NULL, 16));
		CHECK_STR(jstr(dns[i], "dns.type"),
		          strcmp(field(t.row[i], 1, f, sizeof(f)), "1") == 0 ? "answer" : "query");
		field(t.row[i], 2, f, sizeof(f));
		*strchrnul(f, ',') = '\0';
		CHECK_STR(jstr(dns[i], "dns.question.name"), f);
		/* ours, joined with ',' must start tshark's A then AAAA list */
		json_array_foreach(ips, k, v) {
			size_t l = strlen(got);

			snprintf(got + l, sizeof(got) - l, "%s%s", k ? "," : "",
			         json_string_value(v));
		}
		field(t.row[i], 3, f, sizeof(f));
		snprintf(want, sizeof(want), "%s", f);
		field(t.row[i], 4, f, sizeof(f));
		if (f[0] != '\0') {
			size_t l = strlen(want);

			snprintf(want + l, sizeof(want) - l, "%s%s", l ? "," : "", f);
		}
		if (strncmp(want, got, strlen(got)) != 0 || (got[0] == '\0') != (want[0] == '\0')) {
			fprintf(stderr, "%s message %zu: resolved_ip [%s], tshark [%s]\n", name, i,
			        got, want);
			check_failures_++;
		}
	}
	tshark_free(&t);
	run_free(&r);
}

static void test_dns_messages_match_tshark(void)
{
	check_dns_like_tshark("ndpi/dns.pcap");
	check_dns_like_tshark("ndpi/googledns_android10.pcap");
	check_dns_like_tshark("ndpi/dns_long_domainname.pcap");
	check_dns_like_tshark("ndpi/1kxun.pcap");
}

/* SNI of every TLS ClientHello and Host of every HTTP request, as tshark shows them. */
static void check_names_like_tshark(const char *name, const char *dataset, const char *filter,
                                    const char *tfield, const char *jfield)
{
	const char *path = pcap_path(name);
	struct run r;
	struct rows t;
	json_t *obs[1024];
	size_t n, i, k = 0;
	char f[2048];

	if (!have_tshark() || run_capture(path, 1, 4096, true, &r) != 0)
		return;
	if (tshark(&t, path, filter, tfield) != 0) {
		CHECK(!"tshark failed");
		run_free(&r);
		return;
	}
	n = of_dataset(&r, dataset, obs, 1024);
	for (i = 0; i < t.n; i++) {
		field(t.row[i], 0, f, sizeof(f));
		if (f[0] == '\0')
			continue;
		if (strcmp(dataset, "tipoff.http") == 0 && f[0] != '[')
			*strchrnul(f, ':') = '\0'; /* url.domain is without the port */
		if (k >= n) {
			fprintf(stderr, "%s: tshark has %s, we have nothing more\n", name, f);
			check_failures_++;
			break;
		}
		CHECK_STR(jstr(obs[k], jfield), f);
		k++;
	}
	CHECK_EQ(n, k);
	if (n == 0)
		fprintf(stderr, "%s: no %s observation\n", name, dataset);
	CHECK(n > 0);
	tshark_free(&t);
	run_free(&r);
}

static void test_tls_quic_sni_and_http_host_match_tshark(void)
{
	static const char *const tls[] = { "ndpi/443-curl.pcap", "ndpi/tls_esni_sni_both.pcap",
		                           "ndpi/tls_2_reasms.pcapng", "ndpi/443-firefox.pcap" };

	for (size_t i = 0; i < sizeof(tls) / sizeof(tls[0]); i++)
		check_names_like_tshark(tls[i], "tipoff.tls", "tls.handshake.type == 1 && tcp",
		                        "-e tls.handshake.extensions_server_name",
		                        "tls.client.server_name");
	check_names_like_tshark("ndpi/http.pcapng", "tipoff.http", "http.request", "-e http.host",
	                        "url.domain");
	check_names_like_tshark(
	        "ndpi/quic-v2.pcapng", "tipoff.quic", "quic && tls.handshake.type == 1",
	        "-e tls.handshake.extensions_server_name", "tls.client.server_name");
	check_names_like_tshark(
	        "ndpi/quic-29.pcap", "tipoff.quic", "quic && tls.handshake.type == 1",
	        "-e tls.handshake.extensions_server_name", "tls.client.server_name");
	check_names_like_tshark("ndpi/http-lines-split.pcap", "tipoff.http", "http.request",
	                        "-e http.host", "url.domain");
	check_names_like_tshark("ndpi/WebattackSQLinj.pcap", "tipoff.http", "http.request",
	                        "-e http.host", "url.domain");
	check_names_like_tshark("ndpi/http-manipulated.pcap", "tipoff.http", "http.request",
	                        "-e http.host", "url.domain");
}

/*
 * Flow records of a TCP capture against tshark's TCP streams: per stream the packets and
 * bytes of both directions, the SYN sender as source, and the Community ID tshark computes.
 */
static void check_tcp_flows_like_tshark(const char *name)
{
	const char *path = pcap_path(name);
	struct run r;
	struct rows t;
	json_t *flows[4096];
	size_t n, i;
	struct stream {
		char a[64], b[64], cid[64], syn_src[64];
		long ap, bp, syn_port;
		long long pkts, bytes;
	} *s = calloc(4096, sizeof(*s));
	long nstreams = 0;

	if (!have_tshark() || run_capture(path, 1, 4096, true, &r) != 0) {
		free(s);
		return;
	}
	if (tshark(&t, path, "tcp && !icmp",
	           "-e tcp.stream -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst "
	           "-e tcp.dstport -e frame.len -e tcp.flags.syn -e tcp.flags.ack "
	           "-e communityid") != 0) {
		CHECK(!"tshark failed");
		free(s);
		run_free(&r);
		return;
	}
	for (i = 0; i < t.n; i++) {
		char f[256];
		long id = strtol(field(t.row[i], 0, f, sizeof(f)), NULL, 10);
		struct stream *st;

		if (id < 0 || id >= 4096)
			continue;
		st = &s[id];
		if (id + 1 > nstreams)
			nstreams = id + 1;
		if (st->pkts == 0) {
			field(t.row[i], 1, st->a, sizeof(st->a));
			if (st->a[0] == '\0')
				field(t.row[i], 2, st->a, sizeof(st->a));
			st->ap = strtol(field(t.row[i], 3, f, sizeof(f)), NULL, 10);
			field(t.row[i], 4, st->b, sizeof(st->b));
			if (st->b[0] == '\0')
				field(t.row[i], 5, st->b, sizeof(st->b));
			st->bp = strtol(field(t.row[i], 6, f, sizeof(f)), NULL, 10);
			field(t.row[i], 10, st->cid, sizeof(st->cid));
		}
		st->pkts++;
		st->bytes += strtol(field(t.row[i], 7, f, sizeof(f)), NULL, 10);
		if (strcmp(field(t.row[i], 8, f, sizeof(f)), "1") == 0 &&
		    strcmp(field(t.row[i], 9, f, sizeof(f)), "0") == 0 && st->syn_src[0] == '\0') {
			field(t.row[i], 1, st->syn_src, sizeof(st->syn_src));
			if (st->syn_src[0] == '\0')
				field(t.row[i], 2, st->syn_src, sizeof(st->syn_src));
			st->syn_port = strtol(field(t.row[i], 3, f, sizeof(f)), NULL, 10);
		}
	}
	n = of_dataset(&r, "tipoff.flow", flows, 4096);
	for (long id = 0; id < nstreams; id++) {
		struct stream *st = &s[id];
		json_t *hit = NULL;

		if (st->pkts == 0)
			continue;
		for (i = 0; i < n && i < 4096; i++) {
			json_t *j = flows[i];
			long sp = (long)jint(j, "source.port"),
			     dp = (long)jint(j, "destination.port");

			if (strcmp(jstr(j, "network.transport"), "tcp") != 0)
				continue;
			if ((sp == st->ap && dp == st->bp && !strcmp(jstr(j, "source.ip"), st->a) &&
			     !strcmp(jstr(j, "destination.ip"), st->b)) ||
			    (sp == st->bp && dp == st->ap && !strcmp(jstr(j, "source.ip"), st->b) &&
			     !strcmp(jstr(j, "destination.ip"), st->a))) {
				hit = j;
				break;
			}
		}
		if (hit == NULL) {
			fprintf(stderr, "%s: no flow record for tcp.stream %ld\n", name, id);
			check_failures_++;
			continue;
		}
		CHECK_EQ(jint(hit, "source.packets") + jint(hit, "destination.packets"), st->pkts);
		CHECK_EQ(jint(hit, "source.bytes") + jint(hit, "destination.bytes"), st->bytes);
		CHECK_STR(jstr(hit, "network.community_id"), st->cid);
		if (st->syn_src[0] != '\0') {
			CHECK_STR(jstr(hit, "source.ip"), st->syn_src);
			CHECK_EQ(jint(hit, "source.port"), st->syn_port);
			CHECK_STR(jstr(hit, "tipoff.flow.initiator_rule"), "syn");
		}
	}
	CHECK(nstreams > 0);
	tshark_free(&t);
	free(s);
	run_free(&r);
}

static void test_tcp_flow_records_match_tshark_streams(void)
{
	check_tcp_flows_like_tshark("ndpi/443-curl.pcap");
	check_tcp_flows_like_tshark("ndpi/tls_esni_sni_both.pcap");
	check_tcp_flows_like_tshark("ndpi/http_ipv6.pcap");
}

static void test_dpi_names_protocols(void)
{
	struct run r;
	json_t *flows[64];
	size_t n, i;
	bool tls = false, dns = false;

	if (run_capture(pcap_path("ndpi/443-curl.pcap"), 1, 4096, true, &r) != 0)
		return;
	n = of_dataset(&r, "tipoff.flow", flows, 64);
	for (i = 0; i < n && i < 64; i++)
		if (strncmp(jstr(flows[i], "network.protocol"), "tls", 3) == 0)
			tls = true;
	CHECK(tls);
	CHECK(r.st.n[WORKER_dpi_flows_detected] > 0);
	run_free(&r);
	if (run_capture(pcap_path("ndpi/dns.pcap"), 1, 4096, true, &r) != 0)
		return;
	n = of_dataset(&r, "tipoff.flow", flows, 64);
	for (i = 0; i < n && i < 64; i++) {
		CHECK(strncmp(jstr(flows[i], "network.protocol"), "dns", 3) == 0);
		dns = true;
	}
	CHECK(dns);
	run_free(&r);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lines without event.id, serialised with sorted keys, sorted: the set of observations. */
static json_t *observation_set(const struct run *r)
{
	json_t *out = json_array(), *j;
	size_t i;
	char **v = calloc(json_array_size(r->lines) + 1, sizeof(*v));
	size_t n = 0;

	json_array_foreach(r->lines, i, j) {
		json_t *c = json_deep_copy(j);

		json_object_del(json_object_get(c, "event"), "id");
		v[n++] = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
		json_decref(c);
	}
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++) {
		json_array_append_new(out, json_string(v[i]));
		free(v[i]);
	}
	free(v);
	return out;
}

static void test_observations_same_for_any_worker_count(void)
{
	static const char *const caps[] = { "ndpi/1kxun.pcap", "ndpi/quic-v2.pcapng",
		                            "ndpi/443-firefox.pcap" };

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct run one, three;
		json_t *a, *b;

		if (run_capture(pcap_path(caps[c]), 1, 65536, true, &one) != 0 ||
		    run_capture(pcap_path(caps[c]), 3, 65536, true, &three) != 0)
			return;
		a = observation_set(&one);
		b = observation_set(&three);
		CHECK(json_array_size(a) > 0);
		CHECK_EQ(json_array_size(a), json_array_size(b));
		if (!json_equal(a, b)) {
			size_t i;

			for (i = 0; i < json_array_size(a); i++) {
				const char *x = json_string_value(json_array_get(a, i));
				const char *y = json_string_value(json_array_get(b, i));

				if (y == NULL || strcmp(x, y) != 0) {
					fprintf(stderr,
					        "%s: first difference:\n 1 worker:  %s\n"
					        " 3 workers: %s\n",
					        caps[c], x, y ? y : "(none)");
					break;
				}
			}
			check_failures_++;
		}
		CHECK_U64(one.st.n[WORKER_flows_created], three.st.n[WORKER_flows_created]);
		CHECK_U64(one.st.n[WORKER_obs_tls], three.st.n[WORKER_obs_tls]);
		CHECK_U64(one.st.n[WORKER_obs_http], three.st.n[WORKER_obs_http]);
		CHECK_U64(one.st.n[WORKER_obs_dns], three.st.n[WORKER_obs_dns]);
		CHECK_U64(json_array_size(one.lines),
		          one.st.n[WORKER_obs_flow] + one.st.n[WORKER_obs_dns] +
		                  one.st.n[WORKER_obs_tls] + one.st.n[WORKER_obs_http] +
		                  one.st.n[WORKER_obs_quic]);
		CHECK_U64(json_array_size(three.lines),
		          three.st.n[WORKER_obs_flow] + three.st.n[WORKER_obs_dns] +
		                  three.st.n[WORKER_obs_tls] + three.st.n[WORKER_obs_http] +
		                  three.st.n[WORKER_obs_quic]);
		CHECK_U64(one.st.n[WORKER_packets], three.st.n[WORKER_packets]);
		json_decref(a);
		json_decref(b);
		run_free(&one);
		run_free(&three);
	}
}

static void test_stats_count_frames_flows_and_observations(void)
{
	struct run r;
	json_t *tmp[1];
	uint64_t ended;

	if (run_capture(pcap_path("ndpi/1kxun.pcap"), 1, 65536, true, &r) != 0)
		return;
	CHECK_U64(r.st.n[WORKER_packets], r.frames);
	ended = r.st.n[WORKER_flows_expired] + r.st.n[WORKER_flows_evicted] +
	        r.st.n[WORKER_flows_ended] + r.st.n[WORKER_flows_tcp_reused];
	CHECK_U64(r.st.n[WORKER_flows_created], ended);
	CHECK_U64(r.st.n[WORKER_obs_flow], r.st.n[WORKER_flows_created]);
	CHECK_U64(of_dataset(&r, "tipoff.flow", tmp, 0), r.st.n[WORKER_obs_flow]);
	CHECK_U64(of_dataset(&r, "tipoff.dns", tmp, 0), r.st.n[WORKER_obs_dns]);
	CHECK_U64(of_dataset(&r, "tipoff.tls", tmp, 0), r.st.n[WORKER_obs_tls]);
	CHECK_U64(of_dataset(&r, "tipoff.http", tmp, 0), r.st.n[WORKER_obs_http]);
	CHECK_U64(r.st.n[WORKER_flows_evicted], 0);
	CHECK_U64(r.st.flows_active, 0);
	CHECK(r.st.n[WORKER_obs_dns] > 0);
	CHECK(r.st.n[WORKER_dpi_packets] > 0);
	CHECK_U64(r.st.n[WORKER_obs_too_long], 0);
	run_free(&r);
}

static void test_small_table_evicts_and_still_writes_every_flow(void)
{
	struct run r, full;
	json_t *tmp[1];
	uint64_t pk = 0;
	size_t i;
	json_t *j;

	if (run_capture(pcap_path("ndpi/1kxun.pcap"), 1, 16, true, &r) != 0 ||
	    run_capture(pcap_path("ndpi/1kxun.pcap"), 1, 65536, true, &full) != 0)
		return;
	CHECK(r.st.n[WORKER_flows_evicted] > 0);
	CHECK_U64(full.st.n[WORKER_flows_evicted], 0);
	CHECK_U64(r.st.n[WORKER_obs_flow], r.st.n[WORKER_flows_created]);
	CHECK_U64(of_dataset(&r, "tipoff.flow", tmp, 0), r.st.n[WORKER_flows_created]);
	/* evicted or not, every flow packet is in exactly one record */
	json_array_foreach(r.lines, i, j) {
		if (strcmp(jstr(j, "event.dataset"), "tipoff.flow") == 0)
			pk += (uint64_t)(jint(j, "source.packets") +
			                 jint(j, "destination.packets"));
	}
	json_array_foreach(full.lines, i, j) {
		if (strcmp(jstr(j, "event.dataset"), "tipoff.flow") == 0)
			pk -= (uint64_t)(jint(j, "source.packets") +
			                 jint(j, "destination.packets"));
	}
	CHECK_U64(pk, 0);
	run_free(&r);
	run_free(&full);
}

/*
 * Tunnelled flows: the record names the inner endpoints and keeps the outer addresses of the
 * first packet, as tshark shows them for frame 1 (outer IPv6/IPv4 header first).
 */
static void check_tunnel_like_tshark(const char *name, const char *outer, const char *inner)
{
	const char *path = pcap_path(name);
	struct run r;
	struct rows t;
	json_t *flows[64];
	size_t n, i;
	char fields[256], f[256], osrc[64], odst[64], isrc[64], idst[64];
	bool found = false;

	if (!have_tshark() || run_capture(path, 1, 4096, true, &r) != 0)
		return;
	/* the same field twice is printed once (in its last column): ask once for 4in4 */
	if (strcmp(outer, inner) == 0)
		snprintf(fields, sizeof(fields), "-c 1 -e %s.src -e %s.dst -e %s.src -e %s.dst",
		         outer, outer, outer, outer);
	else
		snprintf(fields, sizeof(fields), "-c 1 -e %s.src -e %s.dst -e %s.src -e %s.dst",
		         outer, outer, inner, inner);
	if (tshark(&t, path, "", fields) != 0 || t.n != 1) {
		CHECK(!"tshark failed");
		run_free(&r);
		return;
	}
	/* a field present in both headers lists the outer value first */
	for (unsigned k = 0; k < 2; k++) {
		char *o = k == 0 ? osrc : odst;

		field(t.row[0], k, f, sizeof(f));
		if (f[0] == '\0')
			field(t.row[0], k + 2, f, sizeof(f));
		*strchrnul(f, ',') = '\0';
		snprintf(o, 64, "%.63s", f);
	}
	field(t.row[0], 2, f, sizeof(f));
	snprintf(isrc, sizeof(isrc), "%.63s", strrchr(f, ',') ? strrchr(f, ',') + 1 : f);
	field(t.row[0], 3, f, sizeof(f));
	snprintf(idst, sizeof(idst), "%.63s", strrchr(f, ',') ? strrchr(f, ',') + 1 : f);
	n = of_dataset(&r, "tipoff.flow", flows, 64);
	for (i = 0; i < n && i < 64; i++) {
		json_t *j = flows[i];
		bool fwd = !strcmp(jstr(j, "source.ip"), isrc) &&
		           !strcmp(jstr(j, "destination.ip"), idst);
		bool rev = !strcmp(jstr(j, "source.ip"), idst) &&
		           !strcmp(jstr(j, "destination.ip"), isrc);

		if (!fwd && !rev)
			continue;
		found = true;
		CHECK_EQ(jint(j, "tipoff.tunnel.depth"), 1);
		CHECK_STR(jstr(j, "tipoff.tunnel.source.ip"), fwd ? osrc : odst);
		CHECK_STR(jstr(j, "tipoff.tunnel.destination.ip"), fwd ? odst : osrc);
	}
	if (!found || check_failures_ > 0)
		fprintf(stderr, "%s: flow %s -> %s, outer %s -> %s, tshark row: %s\n", name, isrc,
		        idst, osrc, odst, t.row[0]);
	CHECK(found);
	tshark_free(&t);
	run_free(&r);
}

static void test_tunnel_flows_keep_outer_addresses_like_tshark(void)
{
	check_tunnel_like_tshark("ndpi/4in6tunnel.pcap", "ipv6", "ip");
	check_tunnel_like_tshark("ndpi/6in4tunnel.pcap", "ip", "ipv6");
	check_tunnel_like_tshark("ndpi/4in4tunnel.pcap", "ip", "ip");
}

/* ---- DNS over TCP, segments built by hand -------------------------------------------- */

/* A query for a.example type A with the given id, behind its 2-byte TCP length: 29 bytes. */
static size_t tcp_query(uint8_t *p, uint16_t id)
{
	static const uint8_t body[] = { 0x01, 0x00, 0,   1,   0,   0,   0,   0, 0, 0, 1, 'a', 7,
		                        'e',  'x',  'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1 };

	p[0] = 0;
	p[1] = 27;
	p[2] = (uint8_t)(id >> 8);
	p[3] = (uint8_t)id;
	memcpy(p + 4, body, sizeof(body));
	return 29;
}

/* Run hand-built packets through one worker; lines into r. */
static void run_packets(const struct pkt *ps, size_t n, struct run *r)
{
	FILE *tmp = tmpfile();
	struct outq *q = outq_new(4, 1 << 16, true);
	struct out_writer *wr = out_writer_start(fileno(tmp), &q, 1);
	struct worker_config cfg = { .id = 5, .max_flows = 64, .observer_name = "t", .out = q };
	struct worker *w = worker_new(&cfg);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		worker_packet(w, &ps[i], i + 1);
	worker_finish(w);
	worker_get_stats(w, &r->st);
	out_writer_stop(wr);
	worker_free(w);
	outq_free(q);
	r->lines = json_array();
	rewind(tmp);
	while ((len = getline(&line, &cap, tmp)) > 0)
		json_array_append_new(r->lines, json_loadb(line, (size_t)len, 0, NULL));
	free(line);
	fclose(tmp);
}

static struct pkt tcp_pkt(bool from_client, uint8_t flags, uint32_t seq, const uint8_t *payload,
                          uint32_t len, uint64_t ts)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.ts_ns = ts;
	p.wire_len = p.cap_len = 54 + len;
	p.family = ADDR_V4;
	p.proto = 6;
	p.tcp_flags = flags;
	p.src.b[10] = p.src.b[11] = p.dst.b[10] = p.dst.b[11] = 0xff;
	p.src.b[12] = 10;
	p.src.b[15] = from_client ? 1 : 53;
	p.dst.b[12] = 10;
	p.dst.b[15] = from_client ? 53 : 1;
	p.sport = from_client ? 40000 : 53;
	p.dport = from_client ? 53 : 40000;
	p.tcp_seq = seq;
	p.payload = payload;
	p.payload_len = p.payload_wire_len = len;
	return p;
}

static void test_dns_over_tcp_follows_message_boundaries(void)
{
	uint8_t seg1[29 * 2 + 16], seg2[13 + 29];
	uint8_t third[29];
	struct pkt ps[5];
	struct run r;
	json_t *dns[8];
	uint64_t t = 1600000000ull * NS;

	/* segment 1: queries 1 and 2 whole, then the first 16 bytes of query 3 */
	tcp_query(seg1, 1);
	tcp_query(seg1 + 29, 2);
	tcp_query(third, 3);
	memcpy(seg1 + 58, third, 16);
	/* segment 2: the other 13 bytes of query 3, then query 4 whole */
	memcpy(seg2, third + 16, 13);
	tcp_query(seg2 + 13, 4);
	ps[0] = tcp_pkt(true, 0x02, 999, NULL, 0, t);
	ps[1] = tcp_pkt(true, 0x18, 1000, seg1, sizeof(seg1), t + 1);
	ps[2] = tcp_pkt(true, 0x18, 1000 + sizeof(seg1), seg2, sizeof(seg2), t + 2);
	ps[3] = tcp_pkt(true, 0x18, 1000, seg1, sizeof(seg1), t + 3); /* retransmission */
	ps[4] = tcp_pkt(false, 0x10, 5000, NULL, 0, t + 4);
	run_packets(ps, 5, &r);
	CHECK_EQ(of_dataset(&r, "tipoff.dns", dns, 8), 4);
	CHECK_EQ(jint(dns[0], "dns.id"), 1);
	CHECK_EQ(jint(dns[1], "dns.id"), 2);
	CHECK_EQ(jint(dns[2], "dns.id"), 3);
	CHECK_STR(jstr(dns[2], "tipoff.dns.error"), "truncated"); /* the readable part counts */
	CHECK_STR(jstr(dns[1], "tipoff.dns.error"), "");
	CHECK_EQ(jint(dns[3], "dns.id"), 4);
	CHECK_STR(jstr(dns[3], "dns.question.name"), "a.example");
	CHECK_STR(jstr(dns[3], "source.ip"), "10.0.0.1");
	CHECK_STR(jstr(dns[3], "network.transport"), "tcp");
	CHECK_U64(r.st.n[WORKER_dns_tcp_skipped], 1);
	CHECK_U64(r.st.n[WORKER_dns_messages], 4);
	CHECK_U64(r.st.dns_err[DNS_ERR_truncated], 1);
	CHECK_U64(r.st.n[WORKER_flows_created], 1);
	run_free(&r);
}

struct poller {
	struct worker *w;
	int stop;        /* set by the main thread (atomic) */
	uint64_t reads;  /* snapshots taken (atomic: the main thread waits for the first) */
	uint64_t errors; /* a counter seen going backwards */
};

static void *poll_stats(void *arg)
{
	struct poller *pl = arg;
	uint64_t last_packets = 0, last_flows = 0;

	while (!__atomic_load_n(&pl->stop, __ATOMIC_ACQUIRE)) {
		struct worker_stats st;

		worker_get_stats(pl->w, &st);
		if (st.n[WORKER_packets] < last_packets || st.n[WORKER_flows_created] < last_flows)
			pl->errors++;
		last_packets = st.n[WORKER_packets];
		last_flows = st.n[WORKER_flows_created];
		__atomic_store_n(&pl->reads, pl->reads + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* worker_get_stats from another thread while the worker runs: no lock, never backwards. */
static void test_stats_readable_while_worker_runs(void)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(pcap_path("ndpi/1kxun.pcap"), err);
	struct worker_config cfg = { .id = 0, .max_flows = 1024, .observer_name = "t" };
	struct poller pl = { .w = NULL };
	struct pcap_pkthdr *h;
	const u_char *data;
	struct worker_stats st;
	pthread_t th;
	uint64_t frames = 0;

	if (pc == NULL)
		return;
	pl.w = worker_new(&cfg);
	CHECK(pl.w != NULL);
	CHECK_EQ(pthread_create(&th, NULL, poll_stats, &pl), 0);
	while (__atomic_load_n(&pl.reads, __ATOMIC_ACQUIRE) == 0)
		sched_yield(); /* the reader is running before the worker starts */
	while (pcap_next_ex(pc, &h, &data) == 1) {
		worker_frame(pl.w, pcap_datalink(pc), data, h->caplen, h->len,
		             (uint64_t)h->ts.tv_sec * NS + (uint64_t)h->ts.tv_usec * 1000,
		             frames + 1);
		frames++;
	}
	worker_finish(pl.w);
	__atomic_store_n(&pl.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	worker_get_stats(pl.w, &st);
	CHECK_U64(st.n[WORKER_packets], frames);
	CHECK_U64(st.n[WORKER_flows_created],
	          st.n[WORKER_flows_ended] + st.n[WORKER_flows_expired]);
	CHECK_U64(pl.errors, 0);
	CHECK(pl.reads > 0);
	worker_free(pl.w);
	pcap_close(pc);
}

/* A worker freed in the middle of flows gives back what nDPI and the name parsers hold. */
static void test_worker_free_mid_flow_leaks_nothing(void)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(pcap_path("ndpi/443-firefox.pcap"), err);
	struct worker_config cfg = { .id = 0, .max_flows = 64, .observer_name = "t" };
	struct worker *w;
	struct pcap_pkthdr *h;
	const u_char *data;
	struct worker_stats st;
	int n = 0;

	if (pc == NULL)
		return;
	w = worker_new(&cfg);
	while (n++ < 6 && pcap_next_ex(pc, &h, &data) == 1)
		worker_frame(w, pcap_datalink(pc), data, h->caplen, h->len,
		             (uint64_t)h->ts.tv_sec * NS + (uint64_t)h->ts.tv_usec * 1000, 0);
	worker_expire(w, (uint64_t)h->ts.tv_sec * NS); /* publishes the modules' counters */
	worker_get_stats(w, &st);
	CHECK_U64(st.n[WORKER_flows_created], 1);
	CHECK_U64(st.flows_active, 1);
	CHECK(st.n[WORKER_dpi_packets] > 0);
	worker_free(w); /* LeakSanitizer checks the rest at exit */
	pcap_close(pc);
}

/* ns per frame of worker_frame over a few captures (printed, not asserted: see bench/). */
static void report_cost(void)
{
	static const char *const caps[] = { "ndpi/1kxun.pcap", "ndpi/netflix.pcap" };

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct run r;

		if (run_capture(pcap_path(caps[c]), 1, 65536, true, &r) != 0)
			continue;
		printf("%s: %llu frames, %.0f ns/frame in worker_frame, dpi packets %llu\n",
		       caps[c], (unsigned long long)r.frames,
		       (double)r.ns_in_frame / (double)r.frames,
		       (unsigned long long)r.st.n[WORKER_dpi_packets]);
		run_free(&r);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--dump") == 0) {
		struct run r;
		size_t i;
		json_t *j;
		unsigned nw = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1;

		if (run_capture(argv[2], nw, 65536, true, &r) != 0)
			return 1;
		json_array_foreach(r.lines, i, j) {
			char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

			printf("%s\n", s);
			free(s);
		}
		run_free(&r);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--cost") == 0) {
		report_cost();
		return 0;
	}
	RUN(test_dns_messages_match_tshark);
	RUN(test_tls_quic_sni_and_http_host_match_tshark);
	RUN(test_tcp_flow_records_match_tshark_streams);
	RUN(test_tunnel_flows_keep_outer_addresses_like_tshark);
	RUN(test_dns_over_tcp_follows_message_boundaries);
	RUN(test_dpi_names_protocols);
	RUN(test_observations_same_for_any_worker_count);
	RUN(test_stats_count_frames_flows_and_observations);
	RUN(test_small_table_evicts_and_still_writes_every_flow);
	RUN(test_stats_readable_while_worker_runs);
	RUN(test_worker_free_mid_flow_leaks_nothing);
	return check_summary();
}
