/*
 * tipoff matcher: immutable snapshots of threat indicators and participants' assets, lookups
 * that return every covering entry, RCU publication (liburcu QSBR), and the rule loaders.
 * The whole public API; nothing else of matcher/ is included from outside. The matcher knows
 * nothing about packets and never logs: it returns codes and error lists.
 */
#ifndef TIPOFF_MATCHER_H
#define TIPOFF_MATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MATCHER_API __attribute__((visibility("default")))

/* An address: IPv4 stored IPv4-mapped (::ffff:a.b.c.d), so IPv4-mapped IPv6 matches IPv4. */
struct matcher_ip {
	uint8_t b[16];
};

enum matcher_type {
	MATCHER_TYPE_IPV4 = 1, /* address or prefix */
	MATCHER_TYPE_IPV6 = 2,
	MATCHER_TYPE_DOMAIN = 3,
	MATCHER_TYPE_ASN = 4,
};

enum matcher_role {
	MATCHER_ROLE_INDICATOR = 1, /* entry_id indexes the indicator table */
	MATCHER_ROLE_ASSET = 2,     /* entry_id indexes the asset table */
	MATCHER_ROLE_ALLOW = 3,     /* allowlist entry (never raises anything) */
};

/* DESIGN.md's category vocabulary, in this order; matcher_category_name() gives the text. */
enum matcher_category {
	MATCHER_CAT_UNKNOWN = 0,
	MATCHER_CAT_BOTNET_C2,
	MATCHER_CAT_INFECTED_HOST,
	MATCHER_CAT_MALWARE_DOWNLOAD,
	MATCHER_CAT_PHISHING,
	MATCHER_CAT_RANSOMWARE,
	MATCHER_CAT_SCANNER,
	MATCHER_CAT_VULNERABLE_SERVICE,
	MATCHER_CAT_SPAM,
	MATCHER_CAT_CRYPTOMINING,
	MATCHER_CAT_SUSPICIOUS_DOMAIN,
	MATCHER_CAT_DNS_HIJACK,
	MATCHER_CAT_COMPROMISED_WEBSITE,
	MATCHER_NCATEGORIES
};

enum matcher_severity {
	MATCHER_SEV_LOW = 1,      /* ECS event.severity 21 */
	MATCHER_SEV_MEDIUM = 2,   /* 47 */
	MATCHER_SEV_HIGH = 3,     /* 73 */
	MATCHER_SEV_CRITICAL = 4, /* 99 */
};

enum matcher_tlp {
	MATCHER_TLP_CLEAR = 0,
	MATCHER_TLP_GREEN,
	MATCHER_TLP_AMBER,
	MATCHER_TLP_AMBER_STRICT,
	MATCHER_TLP_RED,
};

/* One hit of a lookup. */
struct matcher_match {
	uint32_t entry_id; /* index into the table named by role */
	uint8_t role;      /* enum matcher_role */
};

/* An indicator as stored in a snapshot (duplicates across feeds merged into one). */
struct matcher_indicator {
	enum matcher_type type;
	const char *value;        /* normalised: "198.51.100.7", "203.0.113.0/24", "evil.example",
				     "AS64511"; the alert key */
	bool exact;               /* domain: this name only, not its subdomains */
	uint8_t plen;             /* prefix length for IPs (32/128 for hosts, v4 counted as v4) */
	enum matcher_category category;
	enum matcher_severity severity;
	uint8_t confidence;       /* 0..100 */
	enum matcher_tlp tlp;
	const char *feed;         /* the most confident feed listing it (ties: first loaded) */
	const char *const *sources; /* every feed listing it, in load order */
	unsigned nsources;
	const char *description;  /* NULL when none */
	const char *reference;    /* NULL when none */
	int64_t first_seen;       /* unix seconds, 0 when unknown */
	int64_t last_seen;
	int64_t expires;          /* 0: never */
};

/* A participant's asset as registered (normalised). */
struct matcher_asset {
	enum matcher_type type;
	const char *value;        /* "192.0.2.7", "198.51.0.0/16", "example.nl", "AS64500" */
	uint8_t plen;             /* IPs: prefix length (hosts 32/128) */
	bool special;             /* in special-purpose space (RFC 6890): see sensors */
	uint32_t participant;     /* index into the participant table */
};

struct matcher_participant {
	const char *id;           /* "p1"; "operator" is reserved */
	const char *name;
	const char *language;     /* NULL when not given */
	const char *const *sensors; /* observer names where private assets count; may be empty */
	unsigned nsensors;
	const char *contacts_json; /* the contacts array as compact JSON text (no secrets) */
};

struct matcher_snapshot; /* opaque; immutable once built */

/* ----- errors ------------------------------------------------------------------------- */

struct matcher_error {
	const char *file; /* NULL when not about a file */
	unsigned line;    /* 0 when not about a line */
	const char *msg;
};

/* A growing list of errors; zero-initialise, release with matcher_errors_clear(). */
struct matcher_errors {
	struct matcher_error *v;
	size_t n, cap;
};

MATCHER_API void matcher_errors_clear(struct matcher_errors *errs);

/* ----- loading: rule sets from files -------------------------------------------------- */

enum matcher_format {
	MATCHER_FMT_GUESS = 0,
	MATCHER_FMT_ZEEK,
	MATCHER_FMT_LIST,
	MATCHER_FMT_CSV,
	MATCHER_FMT_MISP,
	MATCHER_FMT_STIX,
};

/* Address -> ASN callback (the library does not read ASN databases itself). 0: unknown. */
typedef uint32_t matcher_asn_fn(void *arg, const struct matcher_ip *ip);

/*
 * What to load: the same options tipoff-rules and tipoff-sensor take on the command line
 * (--rules FILE, --indicators [FORMAT:]PATH, --participants PATH, --allowlist PATH).
 * Build with matcher_config_*; release with matcher_config_free().
 */
struct matcher_config;

MATCHER_API struct matcher_config *matcher_config_new(void);
MATCHER_API void matcher_config_free(struct matcher_config *cfg);
/* --rules FILE: read a rule-set file (format in docs/rules.md). Errors carry file:line. */
MATCHER_API int matcher_config_add_rules_file(struct matcher_config *cfg, const char *path,
					      struct matcher_errors *errs);
/* --indicators [FORMAT:]PATH: defaults category unknown, severity medium, confidence 50, AMBER. */
MATCHER_API int matcher_config_add_indicators(struct matcher_config *cfg, const char *spec,
					      struct matcher_errors *errs);
MATCHER_API int matcher_config_add_participants(struct matcher_config *cfg, const char *path);
MATCHER_API int matcher_config_add_allowlist(struct matcher_config *cfg, const char *path);
/* Address -> ASN, for assets given as AS numbers (may be NULL). */
MATCHER_API void matcher_config_set_asn_fn(struct matcher_config *cfg, matcher_asn_fn *fn,
					   void *arg);
/* The time that decides expiry (unix seconds); default: time(NULL) at load. */
MATCHER_API void matcher_config_set_now(struct matcher_config *cfg, int64_t now);

/* Counts of a load, per feed, for `tipoff-rules check` and the stats. */
struct matcher_feed_stats {
	const char *name;     /* feed name */
	const char *path;
	enum matcher_format format;
	uint64_t loaded[5];   /* by enum matcher_type (index 0 unused) */
	uint64_t skipped;     /* junk lines skipped */
	uint64_t dropped_special, dropped_public_suffix, dropped_url_path, dropped_not_to_ids,
		dropped_expired, dropped_other;
	uint64_t allowlisted; /* suppressed by the allowlist */
};

struct matcher_load_stats {
	struct matcher_feed_stats *feeds; /* owned by the snapshot that the load built */
	size_t nfeeds;
	uint64_t indicators;   /* entries after merging duplicates */
	uint64_t participants;
	uint64_t assets;
	uint64_t listed;       /* (participant, indicator, asset) triples */
};

/*
 * Load everything cfg names and build a snapshot. On success returns 0 and *out belongs to
 * the caller until published. On failure returns -EINVAL (every bad file:line in errs),
 * -ENOENT/-EIO for unreadable files, or -ENOMEM, and *out is NULL. Junk lines in feeds are
 * skipped and counted, not errors (strict callers check skipped).
 */
MATCHER_API int matcher_load(const struct matcher_config *cfg, struct matcher_snapshot **out,
			     struct matcher_errors *errs);

/* Load stats of snap (borrowed; valid while snap lives). */
MATCHER_API const struct matcher_load_stats *matcher_snapshot_stats(
	const struct matcher_snapshot *snap);

MATCHER_API void matcher_snapshot_free(struct matcher_snapshot *snap); /* accepts NULL */

/* The generation stamped on snap when it was published (0 before). */
MATCHER_API uint64_t matcher_snapshot_generation(const struct matcher_snapshot *snap);

/* ----- lookups: never allocate, never block ------------------------------------------- */

/*
 * Every entry covering ip (indicators, assets, allowlist), in entry order. Returns how many;
 * *matches points into snap and stays valid while the caller stays in the read-side section
 * in which it obtained snap.
 */
MATCHER_API size_t matcher_lookup_ip(const struct matcher_snapshot *snap,
				     const struct matcher_ip *ip,
				     const struct matcher_match **matches);

/*
 * Every entry matching the normalised name (lower case, no trailing dot, A-labels) of len
 * bytes: exact entries for the name itself, suffix entries for it and every parent. Writes up
 * to max matches into out and returns how many there are in all (may exceed max).
 */
MATCHER_API size_t matcher_lookup_domain(const struct matcher_snapshot *snap, const char *name,
					 size_t len, struct matcher_match *out, size_t max);

/* Every entry for AS number asn. */
MATCHER_API size_t matcher_lookup_asn(const struct matcher_snapshot *snap, uint32_t asn,
				      const struct matcher_match **matches);

/* Tables (borrowed from snap; NULL when id is out of range). */
MATCHER_API const struct matcher_indicator *matcher_indicator(const struct matcher_snapshot *snap,
							      uint32_t id);
MATCHER_API const struct matcher_asset *matcher_asset(const struct matcher_snapshot *snap,
						      uint32_t id);
MATCHER_API const struct matcher_participant *matcher_participant(
	const struct matcher_snapshot *snap, uint32_t id);
MATCHER_API uint32_t matcher_participant_count(const struct matcher_snapshot *snap);

/* The `listed` triples found at build: indicator touches the participant's asset. */
struct matcher_listed {
	uint32_t participant;
	uint32_t indicator;
	uint32_t asset;
};
MATCHER_API size_t matcher_listed(const struct matcher_snapshot *snap,
				  const struct matcher_listed **out);

/* Normalise a domain: lower case, trailing dot dropped, U-labels to A-labels (libidn2).
 * Writes a NUL-terminated name into out (size >= 256). Returns its length or -EINVAL. */
MATCHER_API int matcher_normalize_domain(const char *in, size_t len, char *out, size_t size);

/* Text names of the vocabularies (the JSON values). */
MATCHER_API const char *matcher_category_name(enum matcher_category c);
MATCHER_API const char *matcher_tlp_name(enum matcher_tlp t);
MATCHER_API const char *matcher_type_name(enum matcher_type t); /* "ipv4-addr", ... */

/* ----- publication: RCU (liburcu QSBR) -------------------------------------------------- */

struct matcher_handle; /* the published-snapshot pointer */

MATCHER_API struct matcher_handle *matcher_handle_new(void);
/* Frees the current snapshot too. Call after every reader thread went offline. */
MATCHER_API void matcher_handle_free(struct matcher_handle *h);

/*
 * Publish snap (ownership passes to h), stamp the next generation on it, wait for a grace
 * period and free the snapshot it replaced. Called by one thread at a time (the reload thread),
 * never from a reader's read side. Returns 0.
 */
MATCHER_API int matcher_publish(struct matcher_handle *h, struct matcher_snapshot *snap);

/*
 * Reader side (QSBR): a thread calls matcher_reader_register() once before its first lookup,
 * matcher_current() to get the snapshot (valid until its next matcher_quiescent()),
 * matcher_quiescent() between batches, and matcher_reader_unregister() before it exits.
 * A reader about to block for long calls matcher_reader_offline()/online() around it.
 */
MATCHER_API void matcher_reader_register(void);
MATCHER_API void matcher_reader_unregister(void);
MATCHER_API void matcher_quiescent(void);
MATCHER_API void matcher_reader_offline(void);
MATCHER_API void matcher_reader_online(void);
MATCHER_API const struct matcher_snapshot *matcher_current(struct matcher_handle *h);

#endif
