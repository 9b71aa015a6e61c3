/*
 * Shared by matcher/ C files. The seam between the rule loaders (load_*.c, which parse files
 * into normalised values) and the engine (builder.c, snapshot.c, ip_set.c, domain_set.c,
 * asn_set.c, publish.c, which turn those values into an immutable snapshot).
 */
#ifndef TIPOFF_MATCHER_INTERNAL_H
#define TIPOFF_MATCHER_INTERNAL_H

#include "matcher.h"

/* A parsed, normalised value (what one indicator, asset or allowlist line denotes). */
struct matcher__value {
	enum matcher_type type;
	struct matcher_ip ip;   /* IPV4/IPV6: network address, host bits cleared */
	uint8_t plen;           /* IPV4: 0..32 (counted as IPv4), IPV6: 0..128 */
	char domain[256];       /* DOMAIN: normalised (lower case, no trailing dot, A-labels) */
	uint32_t asn;           /* ASN */
};

/* Metadata a feed gives its indicators unless a line says otherwise. */
struct matcher__feed {
	char *name;             /* owned */
	char *path;             /* owned */
	enum matcher_format format;
	enum matcher_category category;
	enum matcher_severity severity;
	uint8_t confidence;
	enum matcher_tlp tlp;
	bool exact_only;        /* domains match this name only */
};

/* One indicator as a loader read it (strings borrowed for the duration of the call). */
struct matcher__indicator_in {
	struct matcher__value v;
	bool exact;
	enum matcher_category category;
	enum matcher_severity severity;
	uint8_t confidence;
	enum matcher_tlp tlp;
	const char *description; /* NULL when none */
	const char *reference;
	int64_t first_seen, last_seen, expires;
};

struct matcher__builder; /* collects feeds, indicators, participants, assets, allowlist */

/* New empty builder; NULL on allocation failure. */
struct matcher__builder *matcher__builder_new(void);
void matcher__builder_free(struct matcher__builder *b); /* accepts NULL */

/* Register a feed (copied); returns its index (>= 0) or -ENOMEM. Stats are kept per feed. */
int matcher__builder_feed(struct matcher__builder *b, const struct matcher__feed *f);

/* Per-feed counters the loaders bump (skipped lines, drops by reason); never NULL. */
struct matcher_feed_stats *matcher__builder_feed_stats(struct matcher__builder *b, int feed);

/* Add one indicator of a feed (strings copied/interned). Duplicates (same type and value)
 * across feeds merge at build. Returns 0 or -ENOMEM. Drops (special-purpose, public
 * suffix, expired, allowlisted) are decided by the loaders/builder as DESIGN.md lists. */
int matcher__builder_indicator(struct matcher__builder *b, int feed,
			       const struct matcher__indicator_in *in);

/* Add a participant (strings copied; sensors may be NULL/0); returns its index or -ENOMEM /
 * -EEXIST when the id is already present. contacts_json may be NULL ("[]"). */
int matcher__builder_participant(struct matcher__builder *b, const char *id, const char *name,
				 const char *language, const char *const *sensors,
				 unsigned nsensors, const char *contacts_json);

/* Add an asset of participant p (index from matcher__builder_participant). */
int matcher__builder_asset(struct matcher__builder *b, int p, const struct matcher__value *v);

/* Add an allowlist value. */
int matcher__builder_allow(struct matcher__builder *b, const struct matcher__value *v);

/* The ASN callback used to find indicators inside participants' AS numbers (may be NULL). */
void matcher__builder_set_asn_fn(struct matcher__builder *b, matcher_asn_fn *fn, void *arg);
void matcher__builder_set_now(struct matcher__builder *b, int64_t now);

/*
 * Build the snapshot: merge duplicate indicators, flatten prefixes into disjoint ranges,
 * build the domain and ASN sets, compute the listed triples. The builder stays owned by the
 * caller (free it afterwards). Returns 0, -ENOMEM.
 */
int matcher__builder_build(struct matcher__builder *b, struct matcher_snapshot **out);

/* Value helpers shared by the loaders (load_value.c). */

/*
 * Parse text (len bytes) as an IP, CIDR, "AS123"/"ASN123"/number-with-as-hint, or domain,
 * normalising as DESIGN.md says ("ip:port" and "domain:port" mean the IP or domain, defanged
 * "[.]" accepted, a URL whose path is empty or "/" means its host). Returns 0, or -EINVAL with
 * *why set to a short reason ("url with path", "not a value", ...).
 */
int matcher__parse_value(const char *text, size_t len, struct matcher__value *out,
			 const char **why);

/* True when v lies wholly in special-purpose space (RFC 6890) and can never match traffic;
 * 0.0.0.0/0 and ::/0 are kept (false). */
bool matcher__is_special(const struct matcher__value *v);

/* True when the domain is a public suffix (ICANN section, no star rule) per libpsl. */
bool matcher__is_public_suffix(const char *domain);

/* Append an error (file may be NULL, line 0); copies strings. Returns 0 or -ENOMEM. */
int matcher__error(struct matcher_errors *errs, const char *file, unsigned line,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ===== Loader internals: value.c, config.c, load.c, load_*.c (added by the loaders) ======= */

/* The *why matcher__parse_value gives for a URL with a path (a counted drop, not junk). */
#define MATCHER__WHY_URL_PATH "url with path"

/* "AS123"/"ASN123" (any case), or with bare also "123", into *out. Returns 0 or -EINVAL. */
int matcher__parse_asn(const char *s, size_t len, bool bare, uint32_t *out);

/* A feed name registered for one input file (name -> builder feed index). */
struct matcher__load_feed {
	char *name; /* owned */
	int idx;
};

/*
 * One indicator file being read into a builder. Zero-initialise, set b, errs, file and
 * defaults, call a matcher__load_<format>() function, then matcher__load_finish().
 */
struct matcher__load {
	struct matcher__builder *b;
	struct matcher_errors *errs;
	const char *file;                     /* for errors; default feed name from its base name */
	const struct matcher__feed *defaults; /* name NULL: the format names the feed */
	enum matcher_format format;           /* the format read (defaults may say "guess") */
	struct matcher__load_feed *feeds;     /* feeds registered so far for this file */
	size_t nfeeds;
	uint64_t pending_skipped; /* junk seen before any feed existed */
	uint64_t recognised;      /* entries that parsed (loaded or dropped) */
	uint64_t junk;            /* junk lines (skipped) */
	unsigned junk_line[8];    /* the first junk lines and why, reported when the whole file */
	const char *junk_why[8];  /* turns out to be junk (static strings) */
	bool strict;              /* junk is an error (allowlists: the operator's own file) */
	bool allow;               /* values go to the allowlist, not to a feed */
};

/* The builder feed for name (NULL: the file's default name); registers it on first use.
 * Returns the feed index (>= 0) or -ENOMEM. */
int matcher__load_feed(struct matcher__load *l, const char *name);

/* Parse text as an indicator value and add it to feed with the metadata in tmpl (its v is
 * overwritten), applying DESIGN.md's load-time drops; junk is counted (and reported with
 * line when l->strict). type_hint (0: any) rejects values of another type as junk.
 * Returns 0 or -ENOMEM. */
int matcher__load_text(struct matcher__load *l, int feed, unsigned line, const char *text,
		       size_t len, enum matcher_type type_hint,
		       const struct matcher__indicator_in *tmpl);

/* Add an already parsed value (drops applied here). Returns 0 or -ENOMEM. */
int matcher__load_value(struct matcher__load *l, int feed, const struct matcher__indicator_in *in);

/* Count a junk line (why: short reason). Returns 0 or -ENOMEM. */
int matcher__load_junk(struct matcher__load *l, int feed, unsigned line, const char *why);

/* Count a well-formed entry that can never match traffic (hash, e-mail...) as dropped_other. */
void matcher__load_other(struct matcher__load *l, int feed);

/* Release l's feed table; books junk seen before any feed. Returns 0 or -ENOMEM. */
int matcher__load_finish(struct matcher__load *l);

/* Metadata vocabularies as found in files (case-insensitive). Return 0 or -EINVAL. */
int matcher__parse_category(const char *s, enum matcher_category *out);
int matcher__parse_severity(const char *s, enum matcher_severity *out);
int matcher__parse_confidence(const char *s, uint8_t *out);
int matcher__parse_tlp(const char *s, enum matcher_tlp *out);
/* ISO 8601 date or date-time (UTC unless an offset is given) or unix seconds. */
int matcher__parse_time(const char *s, int64_t *out);

/* Format loaders over a whole file held in memory (data[len] need not be NUL). Return 0,
 * -EINVAL when the file cannot be parsed at all (errors added), or -ENOMEM. */
int matcher__load_list(struct matcher__load *l, const char *data, size_t len);
int matcher__load_zeek(struct matcher__load *l, const char *data, size_t len);
int matcher__load_csv(struct matcher__load *l, const char *data, size_t len);
int matcher__load_misp_event(struct matcher__load *l, const char *data, size_t len);
int matcher__load_stix(struct matcher__load *l, const char *data, size_t len);
/* A MISP feed directory (manifest.json + <uuid>.json), or a single event file. */
int matcher__load_misp_path(struct matcher__load *l, const char *path);

/* Guess the format of a file from its content (and name); MATCHER_FMT_LIST when unsure. */
enum matcher_format matcher__guess_format(const char *name, const char *data, size_t len);

/* Read a whole file; *data is NUL-terminated and owned by the caller. Returns 0, -ENOENT,
 * -EIO, -EISDIR or -ENOMEM (errors added with the file name). */
int matcher__read_file(const char *path, char **data, size_t *len, struct matcher_errors *errs);

/* Participants (load_participants.c): JSON or bulk CSV "participant_id,asset". */
struct matcher__participants {
	struct matcher__builder *b;
	struct matcher_errors *errs;
	struct matcher__load_feed *ids; /* participant id -> builder index */
	size_t nids, capids;
	uint32_t *slots;                /* hash index into ids (1 + position; 0 empty) */
	size_t nslots;                  /* a power of two, > 2 * nids */
};
int matcher__load_participants(struct matcher__participants *p, const char *file,
			       const char *data, size_t len);
void matcher__participants_free(struct matcher__participants *p);

/*
 * Load one indicator file held in memory (fuzz targets, tests) into b as feed name (NULL: the
 * format's default naming) with the --indicators defaults. fmt MATCHER_FMT_GUESS guesses; a
 * MISP buffer is one event. Returns like the loaders.
 */
int matcher__load_buffer(struct matcher__builder *b, enum matcher_format fmt, const char *name,
			 const char *data, size_t len, struct matcher_errors *errs);
/* Load participants (JSON or CSV) held in memory into b. */
int matcher__load_participants_buffer(struct matcher__builder *b, const char *name,
				      const char *data, size_t len, struct matcher_errors *errs);

/* What matcher_config_* collected (config.c); read by matcher_load() (load.c). */
struct matcher_config {
	struct matcher__feed *feeds; /* name NULL: the format names the feed */
	size_t nfeeds;
	char **participants;         /* paths, owned */
	size_t nparticipants;
	char **allowlists;           /* paths, owned */
	size_t nallowlists;
	matcher_asn_fn *asn_fn;
	void *asn_arg;
	int64_t now;                 /* 0: time(NULL) at load */
};

/* ===== end of loader internals =========================================================== */

#endif
