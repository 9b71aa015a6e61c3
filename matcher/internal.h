/*
 * Shared by matcher/*.c only. The seam between the rule loaders (load_*.c, which parse files
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

#endif
