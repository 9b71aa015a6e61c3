/*
 * tipoff-rules: the operator's tool for rule sets. `check` loads and prints counts per feed,
 * drops per reason and every error with file:line; `lookup` answers which indicators and
 * participants' assets cover a value; `listed` prints one `listed` alert per (participant,
 * indicator, asset) as JSON lines in the alert format of docs/. Man page: docs/tipoff-rules.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "asn.h"
#include "matcher.h"

#define PROG "tipoff-rules"

struct opts {
	const char *command;
	const char **values;
	int nvalues;
	bool strict;
	const char *asn_db;
	const char *observer;
	int64_t now;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: " PROG " COMMAND [rule flags] [--strict] [VALUE...]\n"
	        "commands:\n"
	        "  check          load the rules, print counts per feed and every error\n"
	        "  lookup VALUE.. per IP, domain or AS123: the indicators and assets covering it\n"
	        "  listed         one `listed` alert (JSON) per (participant, indicator, asset)\n"
	        "rule flags:\n"
	        "  --rules FILE                 a rule-set file (docs/rules.md)\n"
	        "  --indicators [FORMAT:]PATH   an indicator feed (zeek, list, csv, misp, stix)\n"
	        "  --participants PATH          participants (JSON or participant_id,asset CSV)\n"
	        "  --allowlist PATH             values that never raise an alert\n"
	        "  --asn-db FILE                address -> ASN database (GeoLite2-ASN format)\n"
	        "other flags:\n"
	        "  --strict                     check: also fail on skipped lines\n"
	        "  --now UNIXTIME               the time that decides expiry (default: now)\n"
	        "  --observer-name NAME         listed: observer.name (default: the host name)\n");
}

static void print_errors(const struct matcher_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		const struct matcher_error *e = &errs->v[i];

		if (e->file != NULL && e->line != 0)
			fprintf(stderr, PROG ": %s:%u: %s\n", e->file, e->line, e->msg);
		else if (e->file != NULL)
			fprintf(stderr, PROG ": %s: %s\n", e->file, e->msg);
		else
			fprintf(stderr, PROG ": %s\n", e->msg);
	}
}

static const char *severity_name(enum matcher_severity s)
{
	switch (s) {
	case MATCHER_SEV_LOW:
		return "low";
	case MATCHER_SEV_MEDIUM:
		return "medium";
	case MATCHER_SEV_HIGH:
		return "high";
	case MATCHER_SEV_CRITICAL:
		return "critical";
	}
	return "medium";
}

/* ECS event.severity for our four levels. */
static int severity_number(enum matcher_severity s)
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

/* ECS threat.indicator.confidence keyword for a 0..100 number. */
static const char *confidence_keyword(unsigned c)
{
	if (c == 0)
		return "None";
	if (c < 34)
		return "Low";
	if (c < 67)
		return "Medium";
	return "High";
}

static json_t *time_json(int64_t t)
{
	char buf[32];
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *sources_json(const struct matcher_indicator *ind)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < ind->nsources; i++)
		json_array_append_new(a, json_string(ind->sources[i]));
	return a;
}

/* ----- check ------------------------------------------------------------------------------ */

static const char *format_name(enum matcher_format f)
{
	switch (f) {
	case MATCHER_FMT_GUESS:
		return "guess";
	case MATCHER_FMT_ZEEK:
		return "zeek";
	case MATCHER_FMT_LIST:
		return "list";
	case MATCHER_FMT_CSV:
		return "csv";
	case MATCHER_FMT_MISP:
		return "misp";
	case MATCHER_FMT_STIX:
		return "stix";
	}
	return "?";
}

static int cmd_check(const struct opts *o, const struct matcher_snapshot *snap)
{
	const struct matcher_load_stats *st = matcher_snapshot_stats(snap);
	uint64_t skipped = 0;

	for (size_t i = 0; i < st->nfeeds; i++) {
		const struct matcher_feed_stats *f = &st->feeds[i];

		printf("feed %s (%s %s): ipv4 %" PRIu64 ", ipv6 %" PRIu64 ", domain %" PRIu64
		       ", asn %" PRIu64 "; skipped %" PRIu64 "; dropped: special %" PRIu64
		       ", public-suffix %" PRIu64 ", url-path %" PRIu64 ", not-to-ids %" PRIu64
		       ", expired %" PRIu64 ", other %" PRIu64 "; allowlisted %" PRIu64 "\n",
		       f->name, format_name(f->format), f->path, f->loaded[MATCHER_TYPE_IPV4],
		       f->loaded[MATCHER_TYPE_IPV6], f->loaded[MATCHER_TYPE_DOMAIN],
		       f->loaded[MATCHER_TYPE_ASN], f->skipped, f->dropped_special,
		       f->dropped_public_suffix, f->dropped_url_path, f->dropped_not_to_ids,
		       f->dropped_expired, f->dropped_other, f->allowlisted);
		skipped += f->skipped;
	}
	printf("total: feeds %zu, indicators %" PRIu64 ", participants %" PRIu64 ", assets %" PRIu64
	       ", listed %" PRIu64 ", skipped %" PRIu64 "\n",
	       st->nfeeds, st->indicators, st->participants, st->assets, st->listed, skipped);
	if (o->strict && skipped > 0) {
		fprintf(stderr, PROG ": --strict: %" PRIu64 " lines skipped\n", skipped);
		return 1;
	}
	return 0;
}

/* ----- lookup ----------------------------------------------------------------------------- */

struct lookup_out {
	json_t *indicators, *participants;
	bool allowlisted;
};

static void add_match(const struct matcher_snapshot *snap, const struct matcher_match *m,
                      struct lookup_out *lo)
{
	if (m->role == MATCHER_ROLE_INDICATOR) {
		const struct matcher_indicator *ind = matcher_indicator(snap, m->entry_id);
		json_t *j;

		if (ind == NULL)
			return;
		j = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:i, s:s}", "indicator", ind->value,
		              "type", matcher_type_name(ind->type), "feed", ind->feed, "sources",
		              sources_json(ind), "category", matcher_category_name(ind->category),
		              "severity", severity_name(ind->severity), "confidence",
		              (int)ind->confidence, "tlp", matcher_tlp_name(ind->tlp));
		if (j == NULL)
			return;
		if (ind->exact)
			json_object_set_new(j, "exact", json_true());
		if (ind->description != NULL)
			json_object_set_new(j, "description", json_string(ind->description));
		if (ind->reference != NULL)
			json_object_set_new(j, "reference", json_string(ind->reference));
		if (ind->expires != 0)
			json_object_set_new(j, "expires", time_json(ind->expires));
		json_array_append_new(lo->indicators, j);
	} else if (m->role == MATCHER_ROLE_ASSET) {
		const struct matcher_asset *a = matcher_asset(snap, m->entry_id);
		const struct matcher_participant *p;

		if (a == NULL || (p = matcher_participant(snap, a->participant)) == NULL)
			return;
		json_array_append_new(lo->participants,
		                      json_pack("{s:s, s:s}", "id", p->id, "asset", a->value));
	} else if (m->role == MATCHER_ROLE_ALLOW) {
		lo->allowlisted = true;
	}
}

static int lookup_one(const struct matcher_snapshot *snap, const char *value, struct rules_asn *asn)
{
	struct lookup_out lo = { json_array(), json_array(), false };
	const struct matcher_match *m;
	struct matcher_ip ip = { { 0 } };
	char name[256];
	size_t n;
	json_t *line;
	char *text;
	int len, rc = 0;

	if ((value[0] == 'A' || value[0] == 'a') && (value[1] == 'S' || value[1] == 's')) {
		const char *d = value + 2 + (value[2] == 'N' || value[2] == 'n');
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(d, &end, 10);
		if (*d >= '0' && *d <= '9' && *end == '\0' && errno == 0 && v <= UINT32_MAX) {
			n = matcher_lookup_asn(snap, (uint32_t)v, &m);
			for (size_t i = 0; i < n; i++)
				add_match(snap, &m[i], &lo);
			goto print;
		}
	}
	if (inet_pton(AF_INET, value, ip.b + 12) == 1) {
		ip.b[10] = 0xff;
		ip.b[11] = 0xff;
	} else if (inet_pton(AF_INET6, value, ip.b) != 1) {
		len = matcher_normalize_domain(value, strlen(value), name, sizeof(name));
		if (len < 0) {
			fprintf(stderr, PROG ": lookup: %s: not an IP, domain or AS number\n",
			        value);
			rc = 1;
			goto out;
		}
		{
			struct matcher_match buf[1024];
			size_t total = matcher_lookup_domain(snap, name, (size_t)len, buf, 1024);

			for (size_t i = 0; i < total && i < 1024; i++)
				add_match(snap, &buf[i], &lo);
		}
		goto print;
	}
	n = matcher_lookup_ip(snap, &ip, &m);
	for (size_t i = 0; i < n; i++)
		add_match(snap, &m[i], &lo);
	if (asn != NULL) {
		uint32_t as = rules_asn_lookup(asn, &ip);

		if (as != 0) {
			n = matcher_lookup_asn(snap, as, &m);
			for (size_t i = 0; i < n; i++)
				add_match(snap, &m[i], &lo);
		}
	}
print:
	line = json_pack("{s:s, s:O, s:O}", "value", value, "indicators", lo.indicators,
	                 "participants", lo.participants);
	if (line != NULL && lo.allowlisted)
		json_object_set_new(line, "allowlisted", json_true());
	text = line ? json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (text != NULL)
		puts(text);
	else
		rc = 1;
	free(text);
	json_decref(line);
out:
	json_decref(lo.indicators);
	json_decref(lo.participants);
	return rc;
}

static int cmd_lookup(const struct opts *o, const struct matcher_snapshot *snap,
                      struct rules_asn *asn)
{
	int rc = 0;

	if (o->nvalues == 0) {
		fprintf(stderr, PROG ": lookup: no VALUE given\n");
		return 2;
	}
	for (int i = 0; i < o->nvalues; i++) {
		if (lookup_one(snap, o->values[i], asn) != 0)
			rc = 1;
	}
	return rc;
}

/* ----- listed ----------------------------------------------------------------------------- */

static void uuid4(char out[37])
{
	uint8_t b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t r = getrandom(b + got, sizeof(b) - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	for (; got < sizeof(b); got++)
		b[got] = (uint8_t)rand();
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

static json_t *listed_alert(const struct opts *o, const struct matcher_snapshot *snap,
                            const struct matcher_listed *l, int64_t now)
{
	const struct matcher_indicator *ind = matcher_indicator(snap, l->indicator);
	const struct matcher_asset *a = matcher_asset(snap, l->asset);
	const struct matcher_participant *p = matcher_participant(snap, l->participant);
	json_t *ti, *alert;
	char id[37];

	if (ind == NULL || a == NULL || p == NULL)
		return NULL;
	uuid4(id);
	ti = json_pack("{s:s, s:s, s:{s:s}}", "type", matcher_type_name(ind->type), "confidence",
	               confidence_keyword(ind->confidence), "marking", "tlp",
	               matcher_tlp_name(ind->tlp));
	if (ti == NULL)
		return NULL;
	if (ind->type == MATCHER_TYPE_DOMAIN)
		json_object_set_new(ti, "domain", json_string(ind->value));
	if (ind->type == MATCHER_TYPE_ASN)
		json_object_set_new(ti, "as",
		                    json_pack("{s:I}", "number",
		                              (json_int_t)strtoull(ind->value + 2, NULL, 10)));
	if (ind->description != NULL)
		json_object_set_new(ti, "description", json_string(ind->description));
	if (ind->reference != NULL)
		json_object_set_new(ti, "reference", json_string(ind->reference));
	if (ind->first_seen != 0)
		json_object_set_new(ti, "first_seen", time_json(ind->first_seen));
	if (ind->last_seen != 0)
		json_object_set_new(ti, "last_seen", time_json(ind->last_seen));
	alert = json_pack("{s:o, s:{s:s, s:s, s:[s], s:[s], s:i, s:o, s:s}, s:{s:s, s:s},"
	                  " s:{s:o, s:{s:s}},"
	                  " s:{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:o, s:i, s:s}}",
	                  "@timestamp", time_json(now), "event", "kind", "alert", "id", id,
	                  "category", "threat", "type", "indicator", "severity",
	                  severity_number(ind->severity), "created", time_json(now), "dataset",
	                  "tipoff.alert", "observer", "name", o->observer, "type", "tipoff-rules",
	                  "threat", "indicator", ti, "feed", "name", ind->feed, "tipoff", "kind",
	                  "listed", "direction", "none", "participant", "id", p->id, "name",
	                  p->name ? p->name : p->id, "indicator", ind->value, "asset", a->value,
	                  "category", matcher_category_name(ind->category), "sources",
	                  sources_json(ind), "confidence", (int)ind->confidence, "severity",
	                  severity_name(ind->severity));
	return alert;
}

static int cmd_listed(const struct opts *o, const struct matcher_snapshot *snap)
{
	const struct matcher_listed *l;
	size_t n = matcher_listed(snap, &l);
	int64_t now = o->now != 0 ? o->now : (int64_t)time(NULL);

	for (size_t i = 0; i < n; i++) {
		json_t *a = listed_alert(o, snap, &l[i], now);
		char *text = a ? json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		if (text == NULL) {
			json_decref(a);
			fprintf(stderr, PROG ": listed: out of memory\n");
			return 1;
		}
		puts(text);
		free(text);
		json_decref(a);
	}
	return 0;
}

static bool takes_argument(const char *flag)
{
	static const char *const flags[] = { "--rules",     "--indicators", "--participants",
		                             "--allowlist", "--asn-db",     "--observer-name",
		                             "--now" };

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(flag, flags[i]) == 0)
			return true;
	}
	return false;
}

/* ----- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct matcher_config *cfg = matcher_config_new();
	struct matcher_errors errs = { 0 };
	struct matcher_snapshot *snap = NULL;
	struct rules_asn *asn = NULL;
	struct opts o = { 0 };
	char host[256];
	int rc = 2, err;

	if (cfg == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	o.values = calloc((size_t)argc, sizeof(*o.values));
	if (o.values == NULL)
		goto out;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	o.observer = host;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			rc = 0;
			goto out;
		}
		if (strcmp(a, "--strict") == 0) {
			o.strict = true;
			continue;
		}
		if (a[0] != '-' || strcmp(a, "-") == 0) {
			if (o.command == NULL)
				o.command = a;
			else
				o.values[o.nvalues++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			while (++i < argc)
				o.values[o.nvalues++] = argv[i];
			break;
		}
		if (!takes_argument(a)) {
			fprintf(stderr, PROG ": unknown flag %s\n", a);
			usage(stderr);
			goto out;
		}
		if (arg == NULL) {
			fprintf(stderr, PROG ": %s needs an argument\n", a);
			goto out;
		}
		if (strcmp(a, "--rules") == 0) {
			err = matcher_config_add_rules_file(cfg, arg, &errs);
			if (err != 0) {
				print_errors(&errs);
				rc = 1;
				goto out;
			}
		} else if (strcmp(a, "--indicators") == 0) {
			err = matcher_config_add_indicators(cfg, arg, &errs);
			if (err != 0) {
				print_errors(&errs);
				goto out;
			}
		} else if (strcmp(a, "--participants") == 0) {
			if (matcher_config_add_participants(cfg, arg) != 0)
				goto out;
		} else if (strcmp(a, "--allowlist") == 0) {
			if (matcher_config_add_allowlist(cfg, arg) != 0)
				goto out;
		} else if (strcmp(a, "--asn-db") == 0) {
			o.asn_db = arg;
		} else if (strcmp(a, "--observer-name") == 0) {
			o.observer = arg;
		} else if (strcmp(a, "--now") == 0) {
			char *end;

			o.now = strtoll(arg, &end, 10);
			if (*end != '\0' || o.now <= 0) {
				fprintf(stderr, PROG ": --now wants unix seconds\n");
				goto out;
			}
			matcher_config_set_now(cfg, o.now);
		} else {
			takes = false;
		}
		if (!takes) {
			fprintf(stderr, PROG ": unknown flag %s\n", a);
			usage(stderr);
			goto out;
		}
		i++;
	}
	if (o.command == NULL ||
	    (strcmp(o.command, "check") != 0 && strcmp(o.command, "lookup") != 0 &&
	     strcmp(o.command, "listed") != 0)) {
		usage(stderr);
		goto out;
	}
	if (strcmp(o.command, "lookup") != 0 && o.nvalues > 0) {
		fprintf(stderr, PROG ": %s takes no values\n", o.command);
		goto out;
	}
	if (o.asn_db != NULL) {
		const char *why = NULL;

		err = rules_asn_open(o.asn_db, &asn, &why);
		if (err != 0) {
			fprintf(stderr, PROG ": %s: %s\n", o.asn_db, why ? why : strerror(-err));
			rc = 1;
			goto out;
		}
		matcher_config_set_asn_fn(cfg, rules_asn_lookup, asn);
	}
	err = matcher_load(cfg, &snap, &errs);
	print_errors(&errs);
	if (err != 0) {
		fprintf(stderr, PROG ": the rule set did not load (%s)\n", strerror(-err));
		rc = 1;
		goto out;
	}
	if (strcmp(o.command, "check") == 0)
		rc = cmd_check(&o, snap);
	else if (strcmp(o.command, "lookup") == 0)
		rc = cmd_lookup(&o, snap, asn);
	else
		rc = cmd_listed(&o, snap);
	if (fflush(stdout) != 0)
		rc = 1;
out:
	matcher_snapshot_free(snap);
	matcher_errors_clear(&errs);
	matcher_config_free(cfg);
	rules_asn_close(asn);
	free(o.values);
	return rc;
}
