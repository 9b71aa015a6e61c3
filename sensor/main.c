/*
 * tipoff-sensor: start-up, the reader thread, workers, the output thread, stats and signals.
 *
 * Threads: the main thread is the reader. It reads frames from the capture handles in order.
 * With one worker it processes them inline; with N workers it decodes each frame once to find
 * the innermost 5-tuple, and copies it into the lock-free ring of the worker chosen by the
 * symmetric flow hash, so both directions of a (tunnelled) flow meet in one worker. Reading
 * files, a full ring makes the reader wait (nothing is lost); live, it is a counted drop.
 * Workers write observation lines into their outq; one output thread writes them out.
 * A stats thread prints the counters every --stats-interval seconds; SIGTERM/SIGINT stop the
 * reader, which then drains the workers and the output before exiting.
 */
#include "common/log.h"
#include "sensor/alert.h"
#include "sensor/alertq.h"
#include "sensor/capture.h"
#include "sensor/decode.h"
#include "sensor/dns.h"
#include "sensor/dnsmem.h"
#include "sensor/dnsrec.h"
#include "sensor/outq.h"
#include "sensor/pring.h"
#include "sensor/rules.h"
#include "sensor/sinks.h"
#include "sensor/suppress.h"
#include "sensor/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pwd.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_INPUT_FAILED 1
#define EXIT_USAGE	  2
#define MAX_INPUTS	  1024
#define MAX_WORKERS	  64
#define NS		  1000000000ull
#define MAX_SINKS	  16
#define ALERTQ_SLOTS	  4096
#define ALERT_LINE_MAX	  (64 * 1024)

struct options {
	const char *inputs[MAX_INPUTS]; /* -r */
	unsigned ninputs;
	const char *iface;              /* -i */
	struct capture_opts cap;
	char observer[256];
	unsigned workers;
	const char *observations;       /* --observations */
	unsigned stats_interval;        /* seconds, 0: only at exit */
	uint64_t max_flows;
	struct rules_opts rules;        /* --rules, --indicators, --participants, ... */
	const char *alerts[MAX_SINKS];  /* --alerts */
	unsigned nalerts;
	const char *spool;              /* --spool DIR */
	uint64_t spool_max_mb;
	uint64_t alert_interval_ns;     /* --alert-interval */
	bool operator_alerts;
	const char *user;               /* --user */
	double replay_speed;            /* --replay-speed: 0 as fast as possible */
	uint32_t dns_memory;            /* --dns-memory: entries */
};

struct worker_slot {
	struct worker *w;
	struct outq *q;
	struct alertq *aq; /* this worker's alerts (NULL without rules) */
	struct pring ring;
	pthread_t thread;
	bool rcu;          /* registered as an RCU reader (rules loaded) */
};

struct sensor {
	struct options opt;
	struct worker_slot slot[MAX_WORKERS];
	unsigned n;
	bool threaded;           /* workers run in their own threads (n > 1) */
	bool live;
	atomic_uint_fast64_t ring_drops; /* live: frames dropped because a worker's ring was full */
	atomic_uint_fast64_t inputs_failed;
	/* Kernel counters, refreshed by the reader thread (pcap_stats is not thread-safe). */
	atomic_uint_fast64_t k_recv, k_drop, k_ifdrop;
	atomic_bool k_valid;
	/* Matching (NULL without rule flags). */
	struct rules *rules;
	struct dnsmem *dnsmem;
	struct alertq *listed_q;   /* listed alerts: main thread at start, reload thread after */
	struct alert_enc *listed_enc;
	struct suppress *suppress;
	struct sinks *sinks;
	uint64_t seq;              /* frames read so far (the reader's sequence number) */
	struct dns_msg dns;        /* reader: DNS responses recorded into the DNS memory */
};

static atomic_bool stop_requested;
static atomic_bool reload_requested;
/* The live handle, so that SIGTERM can wake a reader blocked on a quiet interface. */
static _Atomic(struct capture *) live_handle;

static void on_signal(int sig)
{
	struct capture *c;

	if (sig == SIGHUP) {
		atomic_store(&reload_requested, true);
		return;
	}
	atomic_store(&stop_requested, true);
	c = atomic_load(&live_handle);
	if (c != NULL)
		capture_breakloop(c);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tipoff-sensor (-r FILE [-r FILE ...] | -i IFACE) [options]\n"
		"  -r FILE                read a pcap/pcapng file ('-' = stdin); repeat for one stream\n"
		"  -i IFACE               capture live on IFACE\n"
		"  -s SNAPLEN             bytes captured per packet (live; default 262144)\n"
		"  -p                     do not put the interface into promiscuous mode\n"
		"  -B KIB                 kernel capture buffer size in KiB (live)\n"
		"  -f EXPR                BPF filter expression\n"
		"  --observer-name NAME   observer.name in every record (default: host name)\n"
		"  --workers N            worker threads (default 1)\n"
		"  --observations PATH    write observations as JSON lines ('-' = stdout)\n"
		"  --stats-interval SEC   print stats JSON on stderr every SEC seconds\n"
		"  --max-flows N          flow table cap over all workers (default 1000000)\n"
		"rules and alerts:\n"
		"  --rules FILE           a rule-set file (docs/rules.md); repeatable\n"
		"  --indicators [FMT:]PATH  an indicator feed (zeek, list, csv, misp, stix); repeatable\n"
		"  --participants PATH    participants (JSON or CSV); repeatable\n"
		"  --allowlist PATH       values that never alert; repeatable\n"
		"  --asn-db FILE          MaxMind ASN database (GeoLite2-ASN / DB-IP ASN)\n"
		"  --alerts SINK          -, file:PATH, unix:PATH, redis://HOST:PORT[/DB][?stream=S]\n"
		"                         (repeatable; default -)\n"
		"  --spool DIR            on-disk spool for unix: and redis: sinks\n"
		"  --spool-max-mb N       spool size cap per sink (default 1024)\n"
		"  --alert-interval SEC   same alert at most once per SEC of packet time (default 60)\n"
		"  --operator-alerts      also report matches that concern no participant\n"
		"  --dns-memory N         DNS memory entries (default 262144)\n"
		"  --user NAME            drop privileges to NAME once capture handles are open\n"
		"  --replay-speed X       pace -r: 1 = capture time, 0 = as fast as possible\n"
		"  -v, --verbose          more log output (repeat for debug)\n"
		"  -h, --help             this text\n");
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_OBSERVER = 256,
		OPT_WORKERS,
		OPT_OBS,
		OPT_STATS,
		OPT_MAXFLOWS,
		OPT_RULES,
		OPT_INDICATORS,
		OPT_PARTICIPANTS,
		OPT_ALLOWLIST,
		OPT_ASNDB,
		OPT_ALERTS,
		OPT_SPOOL,
		OPT_SPOOLMAX,
		OPT_INTERVAL,
		OPT_OPERATOR,
		OPT_USER,
		OPT_REPLAY,
		OPT_DNSMEM,
	};
	static const struct option longopts[] = {
		{ "observer-name", required_argument, NULL, OPT_OBSERVER },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "observations", required_argument, NULL, OPT_OBS },
		{ "stats-interval", required_argument, NULL, OPT_STATS },
		{ "max-flows", required_argument, NULL, OPT_MAXFLOWS },
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "indicators", required_argument, NULL, OPT_INDICATORS },
		{ "participants", required_argument, NULL, OPT_PARTICIPANTS },
		{ "allowlist", required_argument, NULL, OPT_ALLOWLIST },
		{ "asn-db", required_argument, NULL, OPT_ASNDB },
		{ "alerts", required_argument, NULL, OPT_ALERTS },
		{ "spool", required_argument, NULL, OPT_SPOOL },
		{ "spool-max-mb", required_argument, NULL, OPT_SPOOLMAX },
		{ "alert-interval", required_argument, NULL, OPT_INTERVAL },
		{ "operator-alerts", no_argument, NULL, OPT_OPERATOR },
		{ "user", required_argument, NULL, OPT_USER },
		{ "replay-speed", required_argument, NULL, OPT_REPLAY },
		{ "dns-memory", required_argument, NULL, OPT_DNSMEM },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int verbosity = LOG_NOTICE;
	unsigned long long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->cap.promisc = true;
	o->workers = 1;
	o->max_flows = 1000000;
	o->alert_interval_ns = 60 * NS;
	o->spool_max_mb = 1024;
	o->dns_memory = 1u << 18;
	if (gethostname(o->observer, sizeof(o->observer) - 1) != 0)
		snprintf(o->observer, sizeof(o->observer), "tipoff");

	while ((c = getopt_long(argc, argv, "r:i:s:pB:f:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (o->ninputs == MAX_INPUTS) {
				fprintf(stderr, "tipoff-sensor: too many -r files (max %d)\n",
					MAX_INPUTS);
				return -1;
			}
			o->inputs[o->ninputs++] = optarg;
			break;
		case 'i':
			o->iface = optarg;
			break;
		case 's':
			if (!parse_uint(optarg, 262144, &v)) {
				fprintf(stderr, "tipoff-sensor: bad -s '%s'\n", optarg);
				return -1;
			}
			o->cap.snaplen = (int)v;
			break;
		case 'p':
			o->cap.promisc = false;
			break;
		case 'B':
			if (!parse_uint(optarg, INT_MAX / 1024, &v)) {
				fprintf(stderr, "tipoff-sensor: bad -B '%s'\n", optarg);
				return -1;
			}
			o->cap.buffer_kib = (int)v;
			break;
		case 'f':
			o->cap.bpf = optarg;
			break;
		case OPT_OBSERVER:
			snprintf(o->observer, sizeof(o->observer), "%s", optarg);
			break;
		case OPT_WORKERS:
			if (!parse_uint(optarg, MAX_WORKERS, &v) || v == 0) {
				fprintf(stderr, "tipoff-sensor: --workers must be 1..%d\n",
					MAX_WORKERS);
				return -1;
			}
			o->workers = (unsigned)v;
			break;
		case OPT_OBS:
			o->observations = optarg;
			break;
		case OPT_STATS:
			if (!parse_uint(optarg, 86400, &v)) {
				fprintf(stderr, "tipoff-sensor: bad --stats-interval '%s'\n",
					optarg);
				return -1;
			}
			o->stats_interval = (unsigned)v;
			break;
		case OPT_MAXFLOWS:
			if (!parse_uint(optarg, 1ull << 32, &v) || v == 0) {
				fprintf(stderr, "tipoff-sensor: bad --max-flows '%s'\n", optarg);
				return -1;
			}
			o->max_flows = v;
			break;
		case OPT_RULES:
		case OPT_INDICATORS:
		case OPT_PARTICIPANTS:
		case OPT_ALLOWLIST: {
			struct rules_opts *r = &o->rules;
			const char **list = c == OPT_RULES	  ? r->rules
					    : c == OPT_INDICATORS ? r->indicators
					    : c == OPT_PARTICIPANTS ? r->participants
								    : r->allowlists;
			unsigned *count = c == OPT_RULES	  ? &r->nrules
					  : c == OPT_INDICATORS	  ? &r->nindicators
					  : c == OPT_PARTICIPANTS ? &r->nparticipants
								  : &r->nallowlists;

			if (*count == RULES_MAX_FLAGS) {
				fprintf(stderr, "tipoff-sensor: too many rule flags\n");
				return -1;
			}
			list[(*count)++] = optarg;
			break;
		}
		case OPT_ASNDB:
			o->rules.asn_db = optarg;
			break;
		case OPT_ALERTS:
			if (o->nalerts == MAX_SINKS) {
				fprintf(stderr, "tipoff-sensor: too many --alerts (max %d)\n",
					MAX_SINKS);
				return -1;
			}
			o->alerts[o->nalerts++] = optarg;
			break;
		case OPT_SPOOL:
			o->spool = optarg;
			break;
		case OPT_SPOOLMAX:
			if (!parse_uint(optarg, 1u << 30, &v) || v == 0) {
				fprintf(stderr, "tipoff-sensor: bad --spool-max-mb '%s'\n", optarg);
				return -1;
			}
			o->spool_max_mb = v;
			break;
		case OPT_INTERVAL:
			if (!parse_uint(optarg, 7 * 86400, &v)) {
				fprintf(stderr, "tipoff-sensor: bad --alert-interval '%s'\n",
					optarg);
				return -1;
			}
			o->alert_interval_ns = v * NS;
			break;
		case OPT_OPERATOR:
			o->operator_alerts = true;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_REPLAY: {
			char *end;

			errno = 0;
			o->replay_speed = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(o->replay_speed >= 0) ||
			    o->replay_speed > 1e6) {
				fprintf(stderr, "tipoff-sensor: bad --replay-speed '%s'\n", optarg);
				return -1;
			}
			break;
		}
		case OPT_DNSMEM:
			if (!parse_uint(optarg, 1u << 28, &v) || v == 0) {
				fprintf(stderr, "tipoff-sensor: bad --dns-memory '%s'\n", optarg);
				return -1;
			}
			o->dns_memory = (uint32_t)v;
			break;
		case 'v':
			verbosity = verbosity < LOG_INFO ? LOG_INFO : LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tipoff-sensor: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if ((o->ninputs == 0) == (o->iface == NULL)) {
		fprintf(stderr, "tipoff-sensor: give either -r FILE... or -i IFACE\n");
		usage(stderr);
		return -1;
	}
	if ((o->nalerts > 0 || o->operator_alerts) && !rules_wanted(&o->rules)) {
		fprintf(stderr, "tipoff-sensor: --alerts needs rules (--rules/--indicators/...)\n");
		return -1;
	}
	if (o->replay_speed > 0 && o->iface != NULL) {
		fprintf(stderr, "tipoff-sensor: --replay-speed applies to -r only\n");
		return -1;
	}
	log_init("tipoff-sensor", verbosity, false);
	return 0;
}

/* ----- stats ----------------------------------------------------------------------- */

static void stats_sum(struct sensor *s, struct worker_stats *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < s->n; i++) {
		struct worker_stats ws;

		worker_get_stats(s->slot[i].w, &ws);
		for (int k = 0; k < WORKER_NCOUNTERS; k++)
			t->n[k] += ws.n[k];
		for (int k = 0; k < DECODE_NCOUNTERS; k++)
			t->decode.n[k] += ws.decode.n[k];
		for (int k = 0; k < DNS_NERRORS; k++)
			t->dns_err[k] += ws.dns_err[k];
		for (int k = 0; k < NAMES_NCOUNTERS; k++)
			t->names[k] += ws.names[k];
		t->flows_active += ws.flows_active;
	}
}

static json_t *counters_json(const uint64_t *v, const char *const *names, int n, int from)
{
	json_t *o = json_object();

	for (int k = from; k < n; k++)
		json_object_set_new(o, names[k], json_integer((json_int_t)v[k]));
	return o;
}

static void stats_print(struct sensor *s, bool final)
{
	struct worker_stats t;
	json_t *root, *obs, *flows;
	uint64_t dropped = 0;
	char *text;

	stats_sum(s, &t);
	for (unsigned i = 0; i < s->n; i++)
		if (s->slot[i].q != NULL)
			dropped += outq_dropped(s->slot[i].q);

	root = json_object();
	json_object_set_new(root, "event", json_pack("{s:s,s:s}", "kind", "metric", "dataset",
						     final ? "tipoff.stats.final" : "tipoff.stats"));
	json_object_set_new(root, "packets", json_integer((json_int_t)t.n[WORKER_packets]));
	json_object_set_new(root, "bytes", json_integer((json_int_t)t.n[WORKER_bytes]));
	json_object_set_new(root, "decode",
			    counters_json(t.decode.n, decode_counter_names, DECODE_NCOUNTERS, 0));
	flows = json_object();
	json_object_set_new(flows, "created", json_integer((json_int_t)t.n[WORKER_flows_created]));
	json_object_set_new(flows, "expired", json_integer((json_int_t)t.n[WORKER_flows_expired]));
	json_object_set_new(flows, "evicted", json_integer((json_int_t)t.n[WORKER_flows_evicted]));
	json_object_set_new(flows, "ended", json_integer((json_int_t)t.n[WORKER_flows_ended]));
	json_object_set_new(flows, "active", json_integer((json_int_t)t.flows_active));
	json_object_set_new(root, "flows", flows);
	obs = json_object();
	json_object_set_new(obs, "flow", json_integer((json_int_t)t.n[WORKER_obs_flow]));
	json_object_set_new(obs, "dns", json_integer((json_int_t)t.n[WORKER_obs_dns]));
	json_object_set_new(obs, "tls", json_integer((json_int_t)t.n[WORKER_obs_tls]));
	json_object_set_new(obs, "http", json_integer((json_int_t)t.n[WORKER_obs_http]));
	json_object_set_new(obs, "quic", json_integer((json_int_t)t.n[WORKER_obs_quic]));
	json_object_set_new(obs, "dropped",
			    json_integer((json_int_t)(dropped + t.n[WORKER_obs_too_long])));
	json_object_set_new(root, "observations", obs);
	json_object_set_new(root, "worker",
			    counters_json(t.n, worker_counter_names, WORKER_NCOUNTERS, 0));
	json_object_set_new(root, "dns_errors",
			    counters_json(t.dns_err, dns_error_names, DNS_NERRORS, 1));
	json_object_set_new(root, "names",
			    counters_json(t.names, names_counter_names, NAMES_NCOUNTERS, 0));
	if (s->live) {
		json_t *k = json_object();

		json_object_set_new(k, "received",
				    json_integer((json_int_t)atomic_load(&s->k_recv)));
		json_object_set_new(k, "dropped",
				    json_integer((json_int_t)atomic_load(&s->k_drop)));
		json_object_set_new(k, "if_dropped",
				    json_integer((json_int_t)atomic_load(&s->k_ifdrop)));
		json_object_set_new(k, "ring_dropped",
				    json_integer((json_int_t)atomic_load(&s->ring_drops)));
		json_object_set_new(root, "kernel", k);
	}
	if (s->rules != NULL) {
		json_t *r = json_object(), *al = json_object();
		uint64_t dm[DNSMEM_NCOUNTERS];

		json_object_set_new(r, "generation",
				    json_integer((json_int_t)rules_generation(s->rules)));
		json_object_set_new(r, "reloads", json_integer((json_int_t)rules_reloads(s->rules)));
		json_object_set_new(r, "reload_failures",
				    json_integer((json_int_t)rules_reload_failures(s->rules)));
		json_object_set_new(root, "rules", r);
		json_object_set_new(root, "lookups", json_integer((json_int_t)t.n[WORKER_lookups]));
		json_object_set_new(al, "contact",
				    json_integer((json_int_t)t.n[WORKER_alerts_contact]));
		json_object_set_new(al, "lookup",
				    json_integer((json_int_t)t.n[WORKER_alerts_lookup]));
		json_object_set_new(al, "inbound",
				    json_integer((json_int_t)t.n[WORKER_alerts_inbound]));
		json_object_set_new(al, "listed",
				    json_integer((json_int_t)alertq_pushed(s->listed_q)));
		json_object_set_new(al, "duplicate_in_flow",
				    json_integer((json_int_t)t.n[WORKER_alerts_flow_dup]));
		json_object_set_new(al, "suppressed",
				    json_integer((json_int_t)suppress_count(s->suppress)));
		json_object_set_new(al, "dropped",
				    json_integer((json_int_t)t.n[WORKER_alerts_dropped]));
		json_object_set_new(root, "alerts", al);
		json_object_set_new(root, "sinks", sinks_stats_json(s->sinks));
		dnsmem_counters(s->dnsmem, dm);
		json_object_set_new(root, "dns_memory",
				    counters_json(dm, dnsmem_counter_names, DNSMEM_NCOUNTERS, 0));
	}
	json_object_set_new(root, "workers", json_integer(s->n));
	json_object_set_new(root, "inputs_failed",
			    json_integer((json_int_t)atomic_load(&s->inputs_failed)));
	text = json_dumps(root, JSON_COMPACT);
	if (text != NULL) {
		fprintf(stderr, "%s\n", text);
		fflush(stderr);
		free(text);
	}
	json_decref(root);
}

static void *stats_main(void *arg)
{
	struct sensor *s = arg;
	uint64_t waited_ms = 0;

	while (!atomic_load(&stop_requested)) {
		const struct timespec tick = { 0, 100 * 1000000 };

		nanosleep(&tick, NULL);
		waited_ms += 100;
		if (waited_ms >= (uint64_t)s->opt.stats_interval * 1000) {
			waited_ms = 0;
			stats_print(s, false);
		}
	}
	return NULL;
}

/* ----- workers ---------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct worker_slot *ws = arg;
	unsigned idle = 0, batch = 0;

	if (ws->rcu)
		matcher_reader_register();
	worker_quiescent(ws->w);
	for (;;) {
		const struct pring_rec *rec = pring_peek(&ws->ring);

		if (++batch == 64 || rec == NULL) {
			/* between batches: let a reload's grace period pass, pick up new rules */
			batch = 0;
			worker_quiescent(ws->w);
		}
		if (rec == NULL) {
			/* Spin briefly, then yield, then nap: the reader is usually close. */
			if (++idle < 64) {
				continue;
			} else if (idle < 1024) {
				sched_yield();
			} else {
				const struct timespec nap = { 0, 50000 };

				nanosleep(&nap, NULL);
			}
			continue;
		}
		idle = 0;
		switch (rec->kind) {
		case PRING_FRAME:
			worker_frame(ws->w, rec->dlt, rec->data, rec->cap_len, rec->wire_len,
				     rec->ts_ns, rec->seq);
			break;
		case PRING_TICK:
			worker_expire(ws->w, rec->ts_ns);
			if (ws->q != NULL && rec->wire_len == 1)
				outq_flush(ws->q);
			break;
		case PRING_END:
			worker_finish(ws->w);
			if (ws->q != NULL)
				outq_flush(ws->q);
			pring_done(&ws->ring, rec);
			if (ws->rcu)
				matcher_reader_unregister();
			return NULL;
		default:
			log_err("sensor: unknown ring record (kind=%u); exiting", rec->kind);
			abort();
		}
		pring_done(&ws->ring, rec);
	}
}

/* Queue a control record to every worker, waiting for room (control records are never lost). */
static void send_all(struct sensor *s, uint16_t kind, uint64_t ts_ns, uint32_t flag)
{
	for (unsigned i = 0; i < s->n; i++)
		while (!pring_put(&s->slot[i].ring, kind, 0, NULL, 0, flag, ts_ns, 0))
			sched_yield();
}

/*
 * With several workers the reader writes the DNS memory itself, in read order, before any
 * later frame is dispatched, so every worker sees the same "earlier" answers whatever its
 * pace. Only responses whose message starts in this packet are read (UDP, or a TCP segment
 * that begins with the length prefix).
 */
static void record_dns_msg(struct sensor *s, const struct pkt *p, const uint8_t *msg,
			   size_t len, uint64_t seq)
{
	/* QR bit (RFC 1035 4.1.1) before parsing: only responses feed the memory */
	if (len < 3 || (msg[2] & 0x80) == 0)
		return;
	if (dns_parse(msg, len, &s->dns))
		dnsrec_record(s->dnsmem, &s->dns, &p->dst, seq, p->ts_ns);
}

static void record_dns(struct sensor *s, const struct pkt *p, uint64_t seq)
{
	const uint8_t *msg;
	size_t len, off = 0, used;

	if ((p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP) || p->sport != 53)
		return;
	if (p->proto == IPPROTO_UDP) {
		record_dns_msg(s, p, p->payload, p->payload_len, seq);
		return;
	}
	/* TCP: the length-prefixed messages that start in this segment */
	while (off < p->payload_len &&
	       (used = dns_tcp_next(p->payload + off, p->payload_len - off, &msg, &len)) > 0) {
		record_dns_msg(s, p, msg, len, seq);
		off += used;
	}
}

static void dispatch(struct sensor *s, int dlt, const struct capture_pkt *cp)
{
	struct decode_stats scratch;
	struct pkt p;
	unsigned idx = 0;
	uint64_t seq = ++s->seq;

	if (!s->threaded) {
		worker_frame(s->slot[0].w, dlt, cp->data, cp->cap_len, cp->wire_len, cp->ts_ns, seq);
		return;
	}
	/* The worker decodes again and counts; this decode only picks the worker. */
	if (decode_packet(dlt, cp->data, cp->cap_len, cp->wire_len, cp->ts_ns, &p, &scratch) ==
	    DECODE_OK) {
		idx = worker_dispatch_hash(&p) % s->n;
		if (s->dnsmem != NULL)
			record_dns(s, &p, seq);
	}
	while (!pring_put(&s->slot[idx].ring, PRING_FRAME, dlt, cp->data, cp->cap_len,
			  cp->wire_len, cp->ts_ns, seq)) {
		if (s->live) {
			atomic_fetch_add_explicit(&s->ring_drops, 1, memory_order_relaxed);
			return;
		}
		sched_yield();
	}
}

/* Time moved on: expire idle flows (packet time), and flush output chunks when live. */
static void advance_time(struct sensor *s, uint64_t now_ns, bool flush)
{
	if (!s->threaded) {
		worker_expire(s->slot[0].w, now_ns);
		if (flush && s->slot[0].q != NULL)
			outq_flush(s->slot[0].q);
		return;
	}
	send_all(s, PRING_TICK, now_ns, flush ? 1 : 0);
}

static void refresh_kernel_stats(struct sensor *s, struct capture *c)
{
	uint64_t r, d, i;

	if (capture_stats(c, &r, &d, &i)) {
		atomic_store(&s->k_recv, r);
		atomic_store(&s->k_drop, d);
		atomic_store(&s->k_ifdrop, i);
		atomic_store(&s->k_valid, true);
	}
}

/*
 * --replay-speed: sleep until packet time ts_ns is due (first packet = start; speed X plays
 * X times faster than captured). The inline worker is offline for RCU while it sleeps.
 */
static void pace(struct sensor *s, uint64_t ts_ns)
{
	static uint64_t first_ts, start_ns;
	struct timespec now;
	uint64_t now_ns, due;

	clock_gettime(CLOCK_MONOTONIC, &now);
	now_ns = (uint64_t)now.tv_sec * NS + (uint64_t)now.tv_nsec;
	if (start_ns == 0) {
		start_ns = now_ns;
		first_ts = ts_ns;
		return;
	}
	if (ts_ns <= first_ts)
		return;
	due = start_ns + (uint64_t)((double)(ts_ns - first_ts) / s->opt.replay_speed);
	if (due <= now_ns)
		return;
	if (s->rules != NULL && !s->threaded)
		matcher_reader_offline();
	while (due > now_ns && !atomic_load(&stop_requested)) {
		uint64_t d = due - now_ns > 100000000u ? 100000000u : due - now_ns;
		struct timespec nap = { (time_t)(d / NS), (long)(d % NS) };

		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		now_ns = (uint64_t)now.tv_sec * NS + (uint64_t)now.tv_nsec;
	}
	if (s->rules != NULL && !s->threaded) {
		matcher_reader_online();
		/* the snapshot held before going offline may have been freed by a reload */
		worker_quiescent(s->slot[0].w);
	}
}

/* Read one capture handle to its end (or until stopped). Returns false on a read error. */
static bool read_capture(struct sensor *s, struct capture *c, const char *name,
			 uint64_t *last_tick_ns)
{
	const uint64_t tick_ns = NS;
	int dlt = capture_dlt(c);
	struct capture_pkt cp;
	unsigned batch = 0;

	if (!decode_supports_dlt(dlt))
		log_warn("sensor: link type not decoded; packets will be counted only (input=%s dlt=%d)",
			 name, dlt);
	while (!atomic_load_explicit(&stop_requested, memory_order_relaxed)) {
		enum capture_status st = capture_next(c, &cp);

		if (st == CAPTURE_PACKET) {
			if (s->opt.replay_speed > 0)
				pace(s, cp.ts_ns);
			if (s->rules != NULL && !s->threaded && ++batch == 64) {
				batch = 0;
				worker_quiescent(s->slot[0].w);
			}
			dispatch(s, dlt, &cp);
			if (cp.ts_ns >= *last_tick_ns + tick_ns || cp.ts_ns + tick_ns < *last_tick_ns) {
				*last_tick_ns = cp.ts_ns;
				advance_time(s, cp.ts_ns, s->live);
				if (s->live)
					refresh_kernel_stats(s, c);
			}
			continue;
		}
		if (st == CAPTURE_TIMEOUT) {
			struct timespec now;

			if (s->rules != NULL && !s->threaded)
				worker_quiescent(s->slot[0].w);
			clock_gettime(CLOCK_REALTIME, &now);
			*last_tick_ns = (uint64_t)now.tv_sec * NS + (uint64_t)now.tv_nsec;
			advance_time(s, *last_tick_ns, true);
			refresh_kernel_stats(s, c);
			continue;
		}
		if (st == CAPTURE_EOF) {
			if (s->live)
				refresh_kernel_stats(s, c);
			return true;
		}
		log_err("sensor: read failed; what was read before stays counted (input=%s error=%s)",
			name, capture_error(c));
		return false;
	}
	if (s->live)
		refresh_kernel_stats(s, c);
	return true;
}

static int open_observations(const char *path)
{
	int fd;

	if (path == NULL)
		return -1;
	if (strcmp(path, "-") == 0)
		return STDOUT_FILENO;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		int e = errno;

		log_err("sensor: cannot open observations file (path=%s error=%s)", path,
			strerror(e));
		return -2;
	}
	return fd;
}

static int start_workers(struct sensor *s, uint64_t max_flows, bool with_obs)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct worker_slot *ws = &s->slot[i];
		struct worker_config wc = {
			.id = i,
			.max_flows = (uint32_t)(max_flows / s->n > 0 ? max_flows / s->n : 1),
			.tcp_timeout_ns = 300 * NS,
			.udp_timeout_ns = 120 * NS,
			.other_timeout_ns = 60 * NS,
			.active_timeout_ns = 1800 * NS,
			.observer_name = s->opt.observer,
		};

		if (with_obs) {
			ws->q = outq_new(16, 1 << 20, !s->live);
			if (ws->q == NULL)
				return -ENOMEM;
		}
		wc.out = ws->q;
		if (s->rules != NULL) {
			ws->aq = alertq_new(ALERTQ_SLOTS, ALERT_LINE_MAX);
			if (ws->aq == NULL)
				return -ENOMEM;
			ws->rcu = true;
			wc.rules = s->rules;
			wc.alerts = ws->aq;
			wc.alerts_wait = !s->live;
			wc.operator_alerts = s->opt.operator_alerts;
			wc.dnsmem = s->dnsmem;
			wc.dnsmem_writer = !s->threaded;
		}
		ws->w = worker_new(&wc);
		if (ws->w == NULL) {
			log_err("sensor: cannot create worker (id=%u error=%s)", i, strerror(errno));
			return -ENOMEM;
		}
	}
	if (!s->threaded)
		return 0;
	for (unsigned i = 0; i < s->n; i++) {
		struct worker_slot *ws = &s->slot[i];
		int rc;

		if (pring_init(&ws->ring, 16u << 20) != 0)
			return -ENOMEM;
		rc = pthread_create(&ws->thread, NULL, worker_main, ws);
		if (rc != 0) {
			log_err("sensor: cannot start worker thread (id=%u error=%s)", i,
				strerror(rc));
			return -rc;
		}
	}
	return 0;
}

static void finish_workers(struct sensor *s)
{
	if (!s->threaded) {
		worker_finish(s->slot[0].w);
		if (s->slot[0].q != NULL)
			outq_flush(s->slot[0].q);
		return;
	}
	send_all(s, PRING_END, 0, 0);
	for (unsigned i = 0; i < s->n; i++)
		pthread_join(s->slot[i].thread, NULL);
}

/* The reload thread: SIGHUP sets a flag; this thread loads the rules aside and publishes them,
 * so capture never waits for a load. It is not an RCU reader, so it may wait for grace periods. */
static void *reload_main(void *arg)
{
	struct sensor *s = arg;
	const struct timespec tick = { 0, 50 * 1000000 };

	while (!atomic_load(&stop_requested)) {
		nanosleep(&tick, NULL);
		if (!atomic_exchange(&reload_requested, false))
			continue;
		log_notice("sensor: reloading rules (generation=%llu)",
			   (unsigned long long)rules_generation(s->rules));
		if (rules_reload(s->rules) == 0)
			rules_emit_listed(s->rules, s->listed_q, s->listed_enc, !s->live);
	}
	return NULL;
}

/* --user: switch to NAME's uid/gid and groups, and check that root cannot come back. */
static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		log_err("sensor: unknown user (user=%s)", user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		int e = errno;

		log_err("sensor: cannot drop privileges (user=%s error=%s)", user, strerror(e));
		return -1;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		log_err("sensor: privileges could be regained after dropping them; refusing to run");
		return -1;
	}
	log_info("sensor: running as %s (uid=%u gid=%u)", user, (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_gid);
	return 0;
}

/* The alert output thread's stage before the sinks: cross-flow suppression. */
static size_t suppress_stage(void *arg, const char *rec, size_t len, const char **out)
{
	return suppress_filter(arg, rec, len, out);
}

/* Rules, DNS memory, alert queues and sinks, and the listed alerts of the first load. */
static int start_matching(struct sensor *s)
{
	struct sinks_opts so = {
		.spool_dir = s->opt.spool,
		.spool_max_bytes = s->opt.spool_max_mb << 20,
		.max_line = ALERT_LINE_MAX,
		.filter = NULL,
	};
	int rc;

	rc = rules_start(&s->opt.rules, &s->rules);
	if (rc != 0)
		return rc;
	s->dnsmem = dnsmem_new(s->opt.dns_memory);
	s->listed_q = alertq_new(ALERTQ_SLOTS, ALERT_LINE_MAX);
	s->listed_enc = alert_enc_new(MAX_WORKERS, s->opt.observer);
	s->suppress = suppress_new(s->opt.alert_interval_ns);
	if (s->dnsmem == NULL || s->listed_q == NULL || s->listed_enc == NULL ||
	    s->suppress == NULL)
		return -ENOMEM;
	so.filter = suppress_stage;
	so.filter_arg = s->suppress;
	rc = sinks_new(s->opt.alerts, s->opt.nalerts, &so, &s->sinks);
	if (rc != 0)
		log_err("sensor: cannot set up the alert sinks (error=%s)", strerror(-rc));
	return rc;
}

static int start_sinks(struct sensor *s)
{
	struct alertq *aqs[MAX_WORKERS + 1];
	int rc;

	for (unsigned i = 0; i < s->n; i++)
		aqs[i] = s->slot[i].aq;
	aqs[s->n] = s->listed_q;
	rc = sinks_start(s->sinks, aqs, s->n + 1);
	if (rc != 0) {
		log_err("sensor: cannot start the alert output (error=%s)", strerror(-rc));
		return rc;
	}
	rules_emit_listed(s->rules, s->listed_q, s->listed_enc, true);
	return 0;
}

static void stop_matching(struct sensor *s)
{
	if (s->sinks != NULL) {
		int rc = sinks_stop(s->sinks, s->live ? 2000 : 10000);

		if (rc == -ETIMEDOUT)
			log_warn("sensor: some alerts stay in the spool for the next start");
	}
}

static void free_matching(struct sensor *s)
{
	sinks_free(s->sinks);
	for (unsigned i = 0; i < s->n; i++)
		alertq_free(s->slot[i].aq);
	alertq_free(s->listed_q);
	alert_enc_free(s->listed_enc);
	suppress_free(s->suppress);
	dnsmem_free(s->dnsmem);
	rules_stop(s->rules);
}

int main(int argc, char **argv)
{
	static struct sensor s;
	static struct capture *files[MAX_INPUTS];
	struct outq *qs[MAX_WORKERS];
	struct out_writer *writer = NULL;
	pthread_t stats_thread, reload_thread;
	bool stats_started = false, reload_started = false;
	uint64_t last_tick_ns = 0;
	struct capture *live = NULL;
	sigset_t sigs, oldsigs;
	struct sigaction sa;
	int obs_fd, rc = 0;

	if (parse_options(argc, argv, &s.opt) != 0)
		return EXIT_USAGE;
	s.n = s.opt.workers;
	s.threaded = s.n > 1;
	s.live = s.opt.iface != NULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	obs_fd = open_observations(s.opt.observations);
	if (obs_fd == -2)
		return EXIT_USAGE;

	/* Open every capture handle first: start-up errors come before anything runs, and
	 * privileges can be dropped before the first packet. */
	if (s.live) {
		char err[512];

		live = capture_open_live(s.opt.iface, &s.opt.cap, err, sizeof(err));
		if (live == NULL) {
			log_err("sensor: cannot capture (interface=%s error=%s)", s.opt.iface, err);
			return EXIT_USAGE;
		}
	}
	for (unsigned i = 0; i < s.opt.ninputs; i++) {
		char err[512];

		files[i] = capture_open_file(s.opt.inputs[i], &s.opt.cap, err, sizeof(err));
		if (files[i] == NULL) {
			log_err("sensor: cannot read input (input=%s error=%s)", s.opt.inputs[i],
				err);
			atomic_fetch_add(&s.inputs_failed, 1);
		}
	}

	if (rules_wanted(&s.opt.rules) && start_matching(&s) != 0)
		return EXIT_USAGE;
	if (s.opt.user != NULL && drop_privileges(s.opt.user) != 0)
		return EXIT_USAGE;

	/* Threads started from here on inherit a mask without our signals, so handlers run on
	 * the main thread only (which owns the capture handle the handler may break). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &oldsigs);

	if (start_workers(&s, s.opt.max_flows, obs_fd >= 0) != 0)
		return EXIT_USAGE;
	if (s.rules != NULL && start_sinks(&s) != 0)
		return EXIT_USAGE;
	if (obs_fd >= 0) {
		for (unsigned i = 0; i < s.n; i++)
			qs[i] = s.slot[i].q;
		writer = out_writer_start(obs_fd, qs, s.n);
		if (writer == NULL) {
			log_err("sensor: cannot start output thread (error=%s)", strerror(errno));
			return EXIT_USAGE;
		}
	}
	if (s.opt.stats_interval > 0 &&
	    pthread_create(&stats_thread, NULL, stats_main, &s) == 0)
		stats_started = true;
	if (s.rules != NULL && pthread_create(&reload_thread, NULL, reload_main, &s) == 0)
		reload_started = true;
	pthread_sigmask(SIG_SETMASK, &oldsigs, NULL);

	/* With one worker, this thread is the worker: an RCU reader of the rules. */
	if (s.rules != NULL && !s.threaded) {
		matcher_reader_register();
		worker_quiescent(s.slot[0].w);
	}
	if (s.live) {
		log_notice("sensor: capturing (interface=%s workers=%u)", s.opt.iface, s.n);
		atomic_store(&live_handle, live);
		if (!atomic_load(&stop_requested) &&
		    !read_capture(&s, live, s.opt.iface, &last_tick_ns))
			atomic_fetch_add(&s.inputs_failed, 1);
		atomic_store(&live_handle, NULL);
		capture_close(live);
	} else {
		for (unsigned i = 0; i < s.opt.ninputs; i++) {
			if (files[i] == NULL)
				continue;
			if (!atomic_load(&stop_requested) &&
			    !read_capture(&s, files[i], s.opt.inputs[i], &last_tick_ns))
				atomic_fetch_add(&s.inputs_failed, 1);
			capture_close(files[i]);
			files[i] = NULL;
		}
	}

	finish_workers(&s);
	if (s.rules != NULL && !s.threaded)
		matcher_reader_unregister();
	atomic_store(&stop_requested, true);
	if (stats_started)
		pthread_join(stats_thread, NULL);
	if (reload_started)
		pthread_join(reload_thread, NULL);
	stop_matching(&s);
	if (writer != NULL) {
		int werr = out_writer_stop(writer);

		if (werr != 0) {
			log_err("sensor: writing observations failed (error=%s)", strerror(-werr));
			rc = EXIT_INPUT_FAILED;
		}
	}
	stats_print(&s, true);
	if (obs_fd > STDOUT_FILENO)
		close(obs_fd);
	for (unsigned i = 0; i < s.n; i++) {
		worker_free(s.slot[i].w);
		outq_free(s.slot[i].q);
		if (s.threaded)
			pring_destroy(&s.slot[i].ring);
	}
	free_matching(&s);
	if (atomic_load(&s.inputs_failed) > 0)
		rc = EXIT_INPUT_FAILED;
	return rc;
}
