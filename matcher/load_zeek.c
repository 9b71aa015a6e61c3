/*
 * Zeek Intel framework input files: a "#fields" header naming tab-separated columns
 * (indicator, indicator_type, meta.source, meta.desc, meta.url, ...), then one indicator per
 * line. Intel::ADDR, Intel::SUBNET and Intel::DOMAIN load (Intel::URL too when it is only a
 * host); other types are counted as dropped_other. The feed is named after meta.source.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ZEEK_MAX_FIELDS 64

struct zeek_cols {
	int indicator, type, source, desc, url;
	int nfields;
	char sep;
};

/* Split s[0..n) at sep into up to max fields. Returns the number of fields. */
static int split(const char *s, size_t n, char sep, const char **f, size_t *fl, int max)
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == sep) {
			if (k == max)
				return max + 1;
			f[k] = s + start;
			fl[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	return k;
}

static bool field_is(const char *f, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(f, name, n) == 0;
}

/* "#separator \x09" (Zeek's escaped form) or a literal character. */
static int parse_separator(const char *s, size_t n, char *sep)
{
	if (n == 4 && s[0] == '\\' && s[1] == 'x') {
		char hex[3] = { s[2], s[3], 0 };
		char *end;
		long v = strtol(hex, &end, 16);

		if (*end != '\0' || v <= 0)
			return -EINVAL;
		*sep = (char)v;
		return 0;
	}
	if (n == 1) {
		*sep = s[0];
		return 0;
	}
	return -EINVAL;
}

static int zeek_header(struct matcher__load *l, unsigned line, const char *s, size_t n,
                       struct zeek_cols *c)
{
	const char *f[ZEEK_MAX_FIELDS + 1];
	size_t fl[ZEEK_MAX_FIELDS + 1];
	int k = split(s, n, c->sep, f, fl, ZEEK_MAX_FIELDS);

	if (k > ZEEK_MAX_FIELDS) {
		matcher__error(l->errs, l->file, line, "#fields: too many columns");
		return -EINVAL;
	}
	c->indicator = c->type = c->source = c->desc = c->url = -1;
	/* f[0] is "#fields" itself */
	for (int i = 1; i < k; i++) {
		if (field_is(f[i], fl[i], "indicator"))
			c->indicator = i - 1;
		else if (field_is(f[i], fl[i], "indicator_type"))
			c->type = i - 1;
		else if (field_is(f[i], fl[i], "meta.source"))
			c->source = i - 1;
		else if (field_is(f[i], fl[i], "meta.desc"))
			c->desc = i - 1;
		else if (field_is(f[i], fl[i], "meta.url"))
			c->url = i - 1;
	}
	c->nfields = k - 1;
	if (c->indicator < 0 || c->type < 0) {
		matcher__error(l->errs, l->file, line,
		               "#fields lacks the indicator and indicator_type columns");
		return -EINVAL;
	}
	return 0;
}

/* Copy a field into buf as a C string; Zeek's "-" (unset) and "(empty)" give NULL. */
static const char *field_str(const char *f, size_t n, char *buf, size_t size)
{
	if (n == 0 || (n == 1 && f[0] == '-') || field_is(f, n, "(empty)"))
		return NULL;
	if (n >= size)
		n = size - 1;
	memcpy(buf, f, n);
	buf[n] = '\0';
	if (memchr(buf, '\0', n) != NULL)
		return NULL;
	return buf;
}

static int zeek_line(struct matcher__load *l, unsigned line, const char *s, size_t n,
                     const struct zeek_cols *c)
{
	const char *f[ZEEK_MAX_FIELDS + 1];
	size_t fl[ZEEK_MAX_FIELDS + 1];
	char source[256], desc[1024], url[1024];
	const char *src, *type;
	struct matcher__indicator_in tmpl = {
		.category = l->defaults->category,
		.severity = l->defaults->severity,
		.confidence = l->defaults->confidence,
		.tlp = l->defaults->tlp,
	};
	enum matcher_type hint;
	size_t tl;
	int k = split(s, n, c->sep, f, fl, ZEEK_MAX_FIELDS);
	int feed;

	if (k != c->nfields) {
		/* junk is booked on the file's first feed (or on it once it exists) */
		feed = l->nfeeds > 0 ? l->feeds[0].idx : -1;
		return matcher__load_junk(l, feed, line, "wrong number of columns");
	}
	src = c->source >= 0 ? field_str(f[c->source], fl[c->source], source, sizeof(source))
	                     : NULL;
	feed = matcher__load_feed(l, src);
	if (feed < 0)
		return feed;
	if (c->desc >= 0)
		tmpl.description = field_str(f[c->desc], fl[c->desc], desc, sizeof(desc));
	if (c->url >= 0)
		tmpl.reference = field_str(f[c->url], fl[c->url], url, sizeof(url));
	type = f[c->type];
	tl = fl[c->type];
	if (field_is(type, tl, "Intel::ADDR") || field_is(type, tl, "Intel::SUBNET")) {
		hint = MATCHER_TYPE_IPV4; /* any IP */
	} else if (field_is(type, tl, "Intel::DOMAIN")) {
		hint = MATCHER_TYPE_DOMAIN;
	} else if (field_is(type, tl, "Intel::URL")) {
		hint = 0; /* a URL that is only a host means the host; with a path: dropped */
	} else if (tl > 7 && memcmp(type, "Intel::", 7) == 0) {
		matcher__load_other(l, feed); /* FILE_HASH, EMAIL, SOFTWARE, CERT_HASH, ... */
		return 0;
	} else {
		return matcher__load_junk(l, feed, line, "unknown indicator_type");
	}
	if (hint == 0 && memchr(f[c->indicator], '/', fl[c->indicator]) != NULL &&
	    memmem(f[c->indicator], fl[c->indicator], "://", 3) == NULL) {
		/* Zeek writes URLs without their scheme: "host/path" */
		const char *slash = memchr(f[c->indicator], '/', fl[c->indicator]);
		size_t rest = fl[c->indicator] - (size_t)(slash - f[c->indicator]);

		if (rest > 1) {
			struct matcher_feed_stats *st = matcher__builder_feed_stats(l->b, feed);

			l->recognised++;
			st->dropped_url_path++;
			return 0;
		}
	}
	return matcher__load_text(l, feed, line, f[c->indicator], fl[c->indicator], hint, &tmpl);
}

int matcher__load_zeek(struct matcher__load *l, const char *data, size_t len)
{
	struct zeek_cols c = { .indicator = -1, .sep = '\t' };
	const char *p = data, *end = data + len;
	unsigned line = 0;
	bool have_fields = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl ? nl + 1 : end;
		int err = 0;

		line++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= 10 && memcmp(p, "#separator", 10) == 0) {
			const char *v = p + 10;
			size_t vn = n - 10;

			while (vn > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				vn--;
			}
			if (parse_separator(v, vn, &c.sep) != 0) {
				matcher__error(l->errs, l->file, line, "bad #separator");
				return -EINVAL;
			}
		} else if (n >= 7 && memcmp(p, "#fields", 7) == 0 &&
		           (n == 7 || p[7] == c.sep || p[7] == ' ')) {
			if (have_fields) {
				matcher__error(l->errs, l->file, line, "second #fields header");
				return -EINVAL;
			}
			err = zeek_header(l, line, p, n, &c);
			if (err != 0)
				return err;
			have_fields = true;
		} else if (n == 0 || p[0] == '#') {
			/* blank or comment (#types, #path, #close, ...) */
		} else if (!have_fields) {
			matcher__error(l->errs, l->file, line, "data before the #fields header");
			return -EINVAL;
		} else if (memchr(p, '\0', n) != NULL) {
			err = matcher__load_junk(l, l->nfeeds > 0 ? l->feeds[0].idx : -1, line,
			                         "NUL byte in line");
		} else {
			err = zeek_line(l, line, p, n, &c);
		}
		if (err != 0)
			return err;
		p = next;
	}
	return 0;
}
