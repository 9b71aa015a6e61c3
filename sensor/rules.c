/*
 * Rule-set life cycle in the sensor (see rules.h). Loading runs on the main thread at start and
 * on the reload thread afterwards; workers only ever read the published snapshot under RCU.
 * The ASN database is swapped together with the snapshot: the new pointer is stored first, the
 * snapshot published (which waits for a grace period), then the old database is closed, so no
 * reader can still hold it.
 */
#include "sensor/rules.h"

#include "common/log.h"
#include "sensor/alert.h"
#include "sensor/alertq.h"
#include "sensor/suppress.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rules {
	struct rules_opts o;
	struct matcher_handle *h;
	_Atomic(const struct asn_db *) asn; /* written by the loading thread; read by workers */
	uint64_t *listed_keys;              /* keys of the listed triples already emitted */
	size_t nlisted_keys;
	bool listed_before;                 /* false until the first emission */
	atomic_uint_fast64_t generation, reloads, failures;
};

bool rules_wanted(const struct rules_opts *o)
{
	return o->nrules + o->nindicators + o->nparticipants + o->nallowlists > 0;
}

static uint32_t rules_asn_fn(void *arg, const struct matcher_ip *ip)
{
	struct addr a;
	uint32_t asn = 0;

	memcpy(a.b, ip->b, 16);
	if (!asn_lookup(arg, &a, &asn, NULL, 0))
		return 0;
	return asn;
}

static void rules_log_errors(const struct matcher_errors *errs, const char *what)
{
	for (size_t i = 0; i < errs->n; i++) {
		const struct matcher_error *e = &errs->v[i];

		if (e->file != NULL)
			log_err("rules: %s: %s:%u: %s", what, e->file, e->line, e->msg);
		else
			log_err("rules: %s: %s", what, e->msg);
	}
}

/* Build a snapshot (and open the ASN database) from o. */
static int rules_load(const struct rules_opts *o, struct matcher_snapshot **snap,
		      struct asn_db **asn, const char *what)
{
	struct matcher_errors errs = { 0 };
	struct matcher_config *cfg = matcher_config_new();
	int rc = 0;

	*snap = NULL;
	*asn = NULL;
	if (cfg == NULL)
		return -ENOMEM;
	if (o->asn_db != NULL) {
		char err[256];

		rc = asn_db_open(o->asn_db, asn, err, sizeof(err));
		if (rc != 0) {
			log_err("rules: %s: cannot open ASN database (path=%s error=%s)", what,
				o->asn_db, err);
			goto out;
		}
		matcher_config_set_asn_fn(cfg, rules_asn_fn, *asn);
	}
	for (unsigned i = 0; i < o->nrules && rc == 0; i++)
		rc = matcher_config_add_rules_file(cfg, o->rules[i], &errs);
	for (unsigned i = 0; i < o->nindicators && rc == 0; i++)
		rc = matcher_config_add_indicators(cfg, o->indicators[i], &errs);
	for (unsigned i = 0; i < o->nparticipants && rc == 0; i++)
		rc = matcher_config_add_participants(cfg, o->participants[i]);
	for (unsigned i = 0; i < o->nallowlists && rc == 0; i++)
		rc = matcher_config_add_allowlist(cfg, o->allowlists[i]);
	if (rc == 0)
		rc = matcher_load(cfg, snap, &errs);
	if (rc != 0) {
		rules_log_errors(&errs, what);
		log_err("rules: %s failed (error=%s)", what, strerror(-rc));
		asn_db_close(*asn);
		*asn = NULL;
	}
out:
	matcher_errors_clear(&errs);
	matcher_config_free(cfg);
	return rc;
}

static void rules_log_loaded(struct matcher_snapshot *snap, uint64_t gen)
{
	const struct matcher_load_stats *st = matcher_snapshot_stats(snap);

	if (st == NULL)
		return;
	log_notice("rules: loaded (generation=%llu indicators=%llu participants=%llu assets=%llu listed=%llu feeds=%zu)",
		   (unsigned long long)gen, (unsigned long long)st->indicators,
		   (unsigned long long)st->participants, (unsigned long long)st->assets,
		   (unsigned long long)st->listed, st->nfeeds);
}

int rules_start(const struct rules_opts *o, struct rules **out)
{
	struct rules *r = calloc(1, sizeof(*r));
	struct matcher_snapshot *snap;
	struct asn_db *asn;
	int rc;

	*out = NULL;
	if (r == NULL)
		return -ENOMEM;
	r->o = *o;
	rc = rules_load(o, &snap, &asn, "load");
	if (rc != 0) {
		free(r);
		return rc;
	}
	r->h = matcher_handle_new();
	if (r->h == NULL) {
		matcher_snapshot_free(snap);
		asn_db_close(asn);
		free(r);
		return -ENOMEM;
	}
	atomic_store(&r->asn, asn);
	matcher_publish(r->h, snap);
	atomic_store(&r->generation, matcher_snapshot_generation(snap));
	rules_log_loaded(snap, matcher_snapshot_generation(snap));
	*out = r;
	return 0;
}

void rules_stop(struct rules *r)
{
	if (r == NULL)
		return;
	matcher_handle_free(r->h);
	asn_db_close((struct asn_db *)atomic_load(&r->asn));
	free(r->listed_keys);
	free(r);
}

struct matcher_handle *rules_handle(struct rules *r)
{
	return r->h;
}

const struct asn_db *rules_asn(struct rules *r)
{
	return atomic_load_explicit(&r->asn, memory_order_acquire);
}

int rules_reload(struct rules *r)
{
	struct matcher_snapshot *snap;
	struct asn_db *asn;
	const struct asn_db *old;
	int rc;

	atomic_fetch_add(&r->reloads, 1);
	rc = rules_load(&r->o, &snap, &asn, "reload");
	if (rc != 0) {
		atomic_fetch_add(&r->failures, 1);
		log_warn("rules: reload failed; the running rules stay (generation=%llu)",
			 (unsigned long long)atomic_load(&r->generation));
		return rc;
	}
	old = atomic_exchange(&r->asn, asn);
	matcher_publish(r->h, snap); /* waits for a grace period: nobody holds old any more */
	asn_db_close((struct asn_db *)old);
	atomic_store(&r->generation, matcher_snapshot_generation(snap));
	rules_log_loaded(snap, matcher_snapshot_generation(snap));
	return 0;
}

static uint64_t rules_listed_key(const struct matcher_snapshot *snap,
				 const struct matcher_listed *l)
{
	return suppress_key(matcher_participant(snap, l->participant)->id,
			    matcher_indicator(snap, l->indicator)->value,
			    matcher_asset(snap, l->asset)->value, MATCH_LISTED);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

unsigned rules_emit_listed(struct rules *r, struct alertq *q, struct alert_enc *enc,
			   bool wait_when_full)
{
	const struct matcher_snapshot *snap;
	const struct matcher_listed *l;
	uint64_t *keys;
	struct timespec now;
	unsigned emitted = 0;
	size_t n;
	char *rec;
	const size_t cap = 64 * 1024;

	rec = malloc(cap);
	if (rec == NULL)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	/* This thread publishes snapshots, so the current one cannot go away under it. */
	snap = matcher_current(r->h);
	n = matcher_listed(snap, &l);
	keys = calloc(n > 0 ? n : 1, sizeof(*keys));
	if (keys == NULL) {
		free(rec);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct match_alert a = { .kind = MATCH_LISTED,
					 .participant = l[i].participant,
					 .indicator = l[i].indicator,
					 .asset = l[i].asset };
		struct alert_context c = { .ts_ns = (uint64_t)now.tv_sec * 1000000000u +
						    (uint64_t)now.tv_nsec,
					   .rules_generation = matcher_snapshot_generation(snap) };
		struct suppress_envelope env = { .key = 0, .ts_ns = c.ts_ns,
						 .magic = SUPPRESS_MAGIC };
		size_t off, len;

		keys[i] = rules_listed_key(snap, &l[i]);
		if (r->listed_before &&
		    bsearch(&keys[i], r->listed_keys, r->nlisted_keys, sizeof(uint64_t), cmp_u64))
			continue; /* not new */
		len = alert_encode(enc, snap, &a, &c, rec + sizeof(env), cap - sizeof(env), &off);
		if (len == 0)
			continue;
		env.tipoff_off = (uint32_t)off;
		memcpy(rec, &env, sizeof(env));
		while (wait_when_full && alertq_is_full(q))
			sched_yield();
		if (alertq_push(q, rec, sizeof(env) + len))
			emitted++;
	}
	qsort(keys, n, sizeof(*keys), cmp_u64);
	free(r->listed_keys);
	r->listed_keys = keys;
	r->nlisted_keys = n;
	r->listed_before = true;
	free(rec);
	return emitted;
}

uint64_t rules_generation(struct rules *r)
{
	return atomic_load(&r->generation);
}

uint64_t rules_reloads(struct rules *r)
{
	return atomic_load(&r->reloads);
}

uint64_t rules_reload_failures(struct rules *r)
{
	return atomic_load(&r->failures);
}
