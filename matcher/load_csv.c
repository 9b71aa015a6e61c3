/*
 * Indicator CSV (RFC 4180: quoted fields, "" escapes, CRLF or LF) with a header row naming
 * the columns: indicator (required), type, category, severity, confidence, tlp, source,
 * description, reference, first_seen, last_seen, expires; and the Infoblox IOC columns
 * type, indicator, classification, detected_date. Lines starting with '#' before the header
 * are comments. A value a row gives wins over the feed's defaults; a bad one skips the row.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CSV_MAX_FIELDS 32
#define CSV_MAX_RECORD 65536

enum csv_col {
	COL_INDICATOR,
	COL_TYPE,
	COL_CATEGORY,
	COL_SEVERITY,
	COL_CONFIDENCE,
	COL_TLP,
	COL_SOURCE,
	COL_DESCRIPTION,
	COL_REFERENCE,
	COL_FIRST_SEEN,
	COL_LAST_SEEN,
	COL_EXPIRES,
	COL_CLASSIFICATION,
	COL_DETECTED_DATE,
	NCOLS
};

static const char *const col_names[NCOLS] = {
	"indicator", "type",    "category",       "severity",      "confidence",
	"tlp",       "source",  "description",    "reference",     "first_seen",
	"last_seen", "expires", "classification", "detected_date",
};

struct csv_reader {
	const char *p, *end;
	unsigned line; /* line the current record starts on */
	unsigned next_line;
	char buf[CSV_MAX_RECORD]; /* unescaped fields, each NUL-terminated */
	const char *f[CSV_MAX_FIELDS];
	int nf;
	const char *why; /* why the record is bad, NULL when good */
};

/* Read the next record. Returns false at end of input. */
static bool csv_next(struct csv_reader *r)
{
	size_t o = 0;
	bool quoted = false, field_start = true, was_quoted = false;

	r->nf = 0;
	r->why = NULL;
	r->line = r->next_line;
	if (r->p >= r->end)
		return false;
	r->f[r->nf++] = r->buf;
	while (r->p < r->end) {
		char c = *r->p++;

		if (c == '\n')
			r->next_line++;
		if (quoted) {
			if (c == '"') {
				if (r->p < r->end && *r->p == '"') {
					r->p++;
				} else {
					quoted = false;
					continue;
				}
			}
		} else if (c == '"' && field_start) {
			quoted = true;
			was_quoted = true;
			field_start = false;
			continue;
		} else if (c == ',') {
			if (o + 1 >= sizeof(r->buf)) {
				r->why = "record too long";
				continue;
			}
			r->buf[o++] = '\0';
			if (r->nf == CSV_MAX_FIELDS) {
				r->why = "too many columns";
				continue;
			}
			r->f[r->nf++] = r->buf + o;
			field_start = true;
			was_quoted = false;
			continue;
		} else if (c == '\n' || c == '\r') {
			if (c == '\r' && r->p < r->end && *r->p == '\n') {
				r->p++;
				r->next_line++;
			} else if (c == '\r') {
				r->next_line++;
			}
			break;
		} else if (was_quoted && !quoted) {
			r->why = "text after a closing quote";
		}
		if (c == '\0')
			r->why = "NUL byte in record";
		field_start = false;
		if (o + 1 >= sizeof(r->buf)) {
			r->why = "record too long";
			continue;
		}
		r->buf[o++] = c;
	}
	if (quoted)
		r->why = "unterminated quoted field";
	r->buf[o] = '\0';
	return true;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static bool is_blank_record(const struct csv_reader *r)
{
	return r->nf == 1 && trim((char *)r->f[0])[0] == '\0';
}

/* The type column's word: 1 IP, 2 domain, 3 ASN, 4 URL, 0 not network (hash...), -1 bad. */
static int csv_type(const char *t)
{
	static const char *const ip[] = { "ip",      "ipv4",       "ipv6",      "ip-src",
		                          "ip-dst",  "ipv4-addr",  "ipv6-addr", "cidr",
		                          "subnet",  "ip-address", "address",   "addr",
		                          "network", "prefix" };
	static const char *const dom[] = { "domain", "hostname", "domain-name", "fqdn",
		                           "host",   "dns",      "name" };
	static const char *const asn[] = { "asn", "as", "autonomous-system", "as-number" };
	static const char *const url[] = { "url", "uri", "link" };
	static const char *const other[] = { "md5",       "sha1",  "sha256",     "sha512",   "hash",
		                             "file-hash", "email", "email-addr", "filename", "file",
		                             "ja3",       "mutex", "user-agent", "ssdeep" };

	for (size_t i = 0; i < sizeof(ip) / sizeof(ip[0]); i++) {
		if (strcasecmp(t, ip[i]) == 0)
			return 1;
	}
	for (size_t i = 0; i < sizeof(dom) / sizeof(dom[0]); i++) {
		if (strcasecmp(t, dom[i]) == 0)
			return 2;
	}
	for (size_t i = 0; i < sizeof(asn) / sizeof(asn[0]); i++) {
		if (strcasecmp(t, asn[i]) == 0)
			return 3;
	}
	for (size_t i = 0; i < sizeof(url) / sizeof(url[0]); i++) {
		if (strcasecmp(t, url[i]) == 0)
			return 4;
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		if (strcasecmp(t, other[i]) == 0)
			return 0;
	}
	return -1;
}

static int csv_row(struct matcher__load *l, struct csv_reader *r, const int *col)
{
	const char *v[NCOLS] = { 0 };
	struct matcher__indicator_in in = {
		.category = l->defaults->category,
		.severity = l->defaults->severity,
		.confidence = l->defaults->confidence,
		.tlp = l->defaults->tlp,
	};
	int feed, kind = 1;

	for (int c = 0; c < NCOLS; c++) {
		if (col[c] >= 0 && col[c] < r->nf) {
			char *s = trim((char *)r->f[col[c]]);

			v[c] = *s != '\0' ? s : NULL;
		}
	}
	feed = matcher__load_feed(l, v[COL_SOURCE]);
	if (feed < 0)
		return feed;
	if (r->why != NULL)
		return matcher__load_junk(l, feed, r->line, r->why);
	if (v[COL_INDICATOR] == NULL)
		return matcher__load_junk(l, feed, r->line, "empty indicator");
	if (v[COL_TYPE] != NULL) {
		kind = csv_type(v[COL_TYPE]);
		if (kind < 0)
			return matcher__load_junk(l, feed, r->line, "unknown type");
		if (kind == 0) {
			matcher__load_other(l, feed);
			return 0;
		}
	}
	if (v[COL_CATEGORY] != NULL) {
		if (matcher__parse_category(v[COL_CATEGORY], &in.category) != 0)
			return matcher__load_junk(l, feed, r->line, "unknown category");
	} else if (v[COL_CLASSIFICATION] != NULL) {
		/* Infoblox classifications: only phishing has a category of ours */
		if (strcasecmp(v[COL_CLASSIFICATION], "phishing") == 0 ||
		    strcasecmp(v[COL_CLASSIFICATION], "smishing") == 0)
			in.category = MATCHER_CAT_PHISHING;
	}
	if (v[COL_SEVERITY] != NULL && matcher__parse_severity(v[COL_SEVERITY], &in.severity) != 0)
		return matcher__load_junk(l, feed, r->line, "bad severity");
	if (v[COL_CONFIDENCE] != NULL &&
	    matcher__parse_confidence(v[COL_CONFIDENCE], &in.confidence) != 0)
		return matcher__load_junk(l, feed, r->line, "bad confidence");
	if (v[COL_TLP] != NULL && matcher__parse_tlp(v[COL_TLP], &in.tlp) != 0)
		return matcher__load_junk(l, feed, r->line, "bad tlp");
	if (v[COL_FIRST_SEEN] != NULL) {
		if (matcher__parse_time(v[COL_FIRST_SEEN], &in.first_seen) != 0)
			return matcher__load_junk(l, feed, r->line, "bad first_seen");
	} else if (v[COL_DETECTED_DATE] != NULL &&
	           matcher__parse_time(v[COL_DETECTED_DATE], &in.first_seen) != 0) {
		return matcher__load_junk(l, feed, r->line, "bad detected_date");
	}
	if (v[COL_LAST_SEEN] != NULL && matcher__parse_time(v[COL_LAST_SEEN], &in.last_seen) != 0)
		return matcher__load_junk(l, feed, r->line, "bad last_seen");
	if (v[COL_EXPIRES] != NULL && matcher__parse_time(v[COL_EXPIRES], &in.expires) != 0)
		return matcher__load_junk(l, feed, r->line, "bad expires");
	in.description = v[COL_DESCRIPTION];
	in.reference = v[COL_REFERENCE];
	if (kind == 3) {
		if (matcher__parse_asn(v[COL_INDICATOR], strlen(v[COL_INDICATOR]), true,
		                       &in.v.asn) != 0)
			return matcher__load_junk(l, feed, r->line, "bad AS number");
		in.v.type = MATCHER_TYPE_ASN;
		return matcher__load_value(l, feed, &in);
	}
	return matcher__load_text(l, feed, r->line, v[COL_INDICATOR], strlen(v[COL_INDICATOR]),
	                          kind == 1   ? MATCHER_TYPE_IPV4
	                          : kind == 2 ? MATCHER_TYPE_DOMAIN
	                                      : 0,
	                          &in);
}

int matcher__load_csv(struct matcher__load *l, const char *data, size_t len)
{
	struct csv_reader *r = malloc(sizeof(*r)); /* no calloc: buf needs no zeroing */
	int col[NCOLS];
	bool have_header = false;
	int err = 0;

	if (r == NULL)
		return -ENOMEM;
	r->p = data;
	r->end = data + len;
	r->line = 0;
	r->next_line = 1;
	r->nf = 0;
	r->why = NULL;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		r->p += 3;
	while (err == 0 && csv_next(r)) {
		if (is_blank_record(r))
			continue;
		if (!have_header) {
			if (r->f[0][0] == '#')
				continue; /* a comment before the header */
			if (r->why != NULL) {
				matcher__error(l->errs, l->file, r->line, "bad header: %s", r->why);
				err = -EINVAL;
				break;
			}
			for (int c = 0; c < NCOLS; c++)
				col[c] = -1;
			for (int i = 0; i < r->nf; i++) {
				char *name = trim((char *)r->f[i]);

				for (char *q = name; *q != '\0'; q++)
					*q = (char)tolower((unsigned char)*q);
				for (int c = 0; c < NCOLS; c++) {
					if (strcmp(name, col_names[c]) == 0 && col[c] < 0)
						col[c] = i;
				}
			}
			if (col[COL_INDICATOR] < 0) {
				matcher__error(l->errs, l->file, r->line,
				               "header row lacks an indicator column");
				err = -EINVAL;
				break;
			}
			have_header = true;
			continue;
		}
		if (r->f[0][0] == '#')
			continue;
		err = csv_row(l, r, col);
	}
	free(r);
	return err;
}
