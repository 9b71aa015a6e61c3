/*
 * A capture worker: owns its flow table, nDPI state, name parsers and counters. Gets frames
 * (from the reader thread's ring, or inline with one worker), decodes them, keeps flows, runs
 * DPI, the DNS parser and the name parsers, and writes observations to its output queue.
 * Every function here is called by the worker's own thread only, except where noted.
 */
#ifndef TIPOFF_SENSOR_WORKER_H
#define TIPOFF_SENSOR_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "sensor/decode.h"
#include "sensor/dns.h"
#include "sensor/names.h"

struct outq;

struct worker_config {
	unsigned id;                 /* 0..N-1 */
	uint32_t max_flows;          /* flow table cap for this worker; oldest idle evicted */
	uint64_t tcp_timeout_ns;     /* idle timeouts (defaults 300 s, 120 s, 60 s) */
	uint64_t udp_timeout_ns;
	uint64_t other_timeout_ns;
	uint64_t active_timeout_ns;  /* a flow longer than this is cut and restarted (default 1800 s) */
	const char *observer_name;   /* observer.name in every line; borrowed for the worker's life */
	struct outq *out;            /* where observation lines go; NULL: observations off */
	/* Matching (all NULL/0: the sensor only observes). */
	struct rules *rules;         /* published snapshots and ASN database (sensor/rules.h) */
	struct alertq *alerts;       /* this worker's alert queue to the alert output thread */
	bool alerts_wait;            /* reading files: wait for room instead of dropping */
	bool operator_alerts;        /* --operator-alerts */
	struct dnsmem *dnsmem;       /* shared DNS memory (NULL: none) */
	bool dnsmem_writer;          /* this worker records DNS answers (one worker, inline) */
};

#define WORKER_COUNTERS(X)                                                                     \
	X(packets)                                                                             \
	X(bytes)                                                                               \
	X(flows_created)                                                                       \
	X(flows_expired)      /* ended by idle or active timeout */                            \
	X(flows_evicted)      /* ended early because the table was full */                     \
	X(flows_ended)        /* ended at the end of input */                                  \
	X(dns_messages)                                                                        \
	X(obs_flow)                                                                            \
	X(obs_dns)                                                                             \
	X(obs_tls)                                                                             \
	X(obs_http)                                                                            \
	X(obs_quic)                                                                            \
	X(obs_too_long)       /* observation larger than the line buffer: dropped */           \
	X(lookups)            /* flows and names matched against the rules */                 \
	X(alerts_contact)                                                                      \
	X(alerts_lookup)                                                                       \
	X(alerts_inbound)                                                                      \
	X(alerts_flow_dup)    /* same alert again in the same flow: not raised */              \
	X(alerts_dropped)     /* alert queue full or line too long */                          \
	X(dpi_flows_detected)                                                                  \
	X(dpi_flows_given_up)                                                                  \
	X(dpi_packets)        /* packets fed to nDPI */                                        \
	X(dpi_no_state)       /* flows left unclassified: the nDPI state pool was empty */     \
	X(flows_tcp_reused)   /* ended because a SYN opened a new connection after FIN/RST */  \
	X(initiator_swaps)    /* a late SYN from the side taken as responder swapped roles */  \
	X(dns_tcp_skipped)    /* TCP port-53 segments not at a known message boundary */

enum worker_counter {
#define WORKER_ENUM_(n) WORKER_##n,
	WORKER_COUNTERS(WORKER_ENUM_)
#undef WORKER_ENUM_
	WORKER_NCOUNTERS
};

extern const char *const worker_counter_names[WORKER_NCOUNTERS];

struct worker_stats {
	uint64_t n[WORKER_NCOUNTERS];
	struct decode_stats decode;
	uint64_t dns_err[DNS_NERRORS];
	uint64_t names[NAMES_NCOUNTERS];
	uint64_t flows_active; /* flows in the table now */
};

/* Create a worker. Returns NULL (with errno) on allocation or nDPI start-up failure. */
struct worker *worker_new(const struct worker_config *cfg);
void worker_free(struct worker *w); /* accepts NULL; does not end flows */

/*
 * Decode and process one captured frame of link type dlt, read as number seq (the reader's
 * count, in read order). Never allocates; never blocks (except, reading files, for room in a
 * full alert queue).
 */
void worker_frame(struct worker *w, int dlt, const uint8_t *data, uint32_t cap_len,
		  uint32_t wire_len, uint64_t ts_ns, uint64_t seq);

/*
 * Between batches: announce a quiescent state to RCU and pick up the current snapshot and ASN
 * database. The calling thread must have called matcher_reader_register(). No-op without rules.
 */
void worker_quiescent(struct worker *w);

/* Process an already decoded packet read as number seq (used by worker_frame and tests). */
void worker_packet(struct worker *w, const struct pkt *p, uint64_t seq);

/* End flows idle at now_ns (packet time) and write their records. */
void worker_expire(struct worker *w, uint64_t now_ns);

/* End every flow (end of input) and write their records. */
void worker_finish(struct worker *w);

/*
 * Copy the counters into *out (summing is the caller's job). May be called from another
 * thread while the worker runs: values are read with relaxed atomics and may be a little old.
 */
void worker_get_stats(const struct worker *w, struct worker_stats *out);



/*
 * Symmetric hash of p's innermost 5-tuple: both directions of a flow give the same value.
 * Used by the reader thread to pick a worker; any thread may call it.
 */
uint32_t worker_dispatch_hash(const struct pkt *p);
#endif
