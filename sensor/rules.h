/*
 * The sensor's rule set: loads the rule flags (--rules, --indicators, --participants,
 * --allowlist) and the ASN database into a matcher snapshot, publishes it through RCU, reloads
 * on request (SIGHUP) without stopping capture, and emits `listed` alerts at start and, on
 * reload, for new (participant, indicator, asset) pairs only. Runs on the main/reload thread.
 */
#ifndef TIPOFF_SENSOR_RULES_H
#define TIPOFF_SENSOR_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "matcher.h"
#include "sensor/asn.h"

#define RULES_MAX_FLAGS 256

struct rules_opts {
	const char *rules[RULES_MAX_FLAGS];       /* --rules FILE */
	unsigned nrules;
	const char *indicators[RULES_MAX_FLAGS];  /* --indicators [FORMAT:]PATH */
	unsigned nindicators;
	const char *participants[RULES_MAX_FLAGS]; /* --participants PATH */
	unsigned nparticipants;
	const char *allowlists[RULES_MAX_FLAGS];  /* --allowlist PATH */
	unsigned nallowlists;
	const char *asn_db;                       /* --asn-db FILE or NULL */
};

struct rules;
struct alertq;
struct alert_enc;

/* true when any rule flag was given (otherwise the sensor only observes). */
bool rules_wanted(const struct rules_opts *o);

/*
 * Load everything o names and publish it. Start-up: any error is fatal; every error is logged
 * with file:line. Returns 0 and *out, or a negative errno.
 */
int rules_start(const struct rules_opts *o, struct rules **out);

/* Stop: frees the published snapshot and ASN database (readers must be offline). */
void rules_stop(struct rules *r);

/* The handle workers read snapshots from. */
struct matcher_handle *rules_handle(struct rules *r);

/* The current ASN database (may be NULL). Read it inside a matcher read-side section: a reload
 * swaps it before publishing, and frees the old one after the grace period. */
const struct asn_db *rules_asn(struct rules *r);

/*
 * Reload rules and ASN database. On failure the running snapshot stays, every error is logged
 * and the failure counted. Returns 0 or a negative errno.
 */
int rules_reload(struct rules *r);

/*
 * Emit `listed` alerts of the current snapshot into q (encoded by enc): all pairs at start,
 * only pairs not present in the previous snapshot after a reload. Returns how many.
 */
unsigned rules_emit_listed(struct rules *r, struct alertq *q, struct alert_enc *enc,
			   bool wait_when_full);

/* Counters for the stats line. */
uint64_t rules_generation(struct rules *r);
uint64_t rules_reloads(struct rules *r);
uint64_t rules_reload_failures(struct rules *r);

#endif
