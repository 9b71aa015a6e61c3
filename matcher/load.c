/*
 * matcher_load(): read every file a matcher_config names (allowlists, indicator feeds in
 * their formats, participants) into a builder and build the snapshot. Also the helpers the
 * format loaders share: feed naming, load-time drops (DESIGN.md "What makes an alert"),
 * junk counting, metadata vocabularies, whole-file reads and format guessing.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ----- files ------------------------------------------------------------------------------ */

int matcher__read_file(const char *path, char **data, size_t *len, struct matcher_errors *errs)
{
	struct stat st;
	size_t cap = 65536, n = 0;
	char *buf;
	int fd, err;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		err = errno;
		matcher__error(errs, path, 0, "cannot open: %s", strerror(err));
		return err == ENOENT ? -ENOENT : -EIO;
	}
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			close(fd);
			matcher__error(errs, path, 0, "is a directory");
			return -EISDIR;
		}
		if (S_ISREG(st.st_mode) && st.st_size > 0)
			cap = (size_t)st.st_size + 1;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (nb == NULL) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r == -1) {
			err = errno;
			if (err == EINTR)
				continue;
			free(buf);
			close(fd);
			matcher__error(errs, path, 0, "cannot read: %s", strerror(err));
			return -EIO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

/* ----- vocabularies ----------------------------------------------------------------------- */

static bool word_eq(const char *s, const char *word)
{
	/* case-insensitive, '_' and ' ' taken as '-' */
	for (; *s != '\0' && *word != '\0'; s++, word++) {
		char c = (char)tolower((unsigned char)*s);

		if (c == '_' || c == ' ')
			c = '-';
		if (c != *word)
			return false;
	}
	return *s == '\0' && *word == '\0';
}

int matcher__parse_category(const char *s, enum matcher_category *out)
{
	static const char *const names[MATCHER_NCATEGORIES] = {
		"unknown",
		"botnet-c2",
		"infected-host",
		"malware-download",
		"phishing",
		"ransomware",
		"scanner",
		"vulnerable-service",
		"spam",
		"cryptomining",
		"suspicious-domain",
		"dns-hijack",
		"compromised-website",
	};

	for (int i = 0; i < MATCHER_NCATEGORIES; i++) {
		if (word_eq(s, names[i])) {
			*out = (enum matcher_category)i;
			return 0;
		}
	}
	return -EINVAL;
}

int matcher__parse_severity(const char *s, enum matcher_severity *out)
{
	static const char *const names[] = { "low", "medium", "high", "critical" };

	for (int i = 0; i < 4; i++) {
		if (word_eq(s, names[i])) {
			*out = (enum matcher_severity)(MATCHER_SEV_LOW + i);
			return 0;
		}
	}
	return -EINVAL;
}

int matcher__parse_confidence(const char *s, uint8_t *out)
{
	static const struct {
		const char *word;
		uint8_t v;
	} words[] = { { "none", 0 }, { "low", 25 }, { "medium", 50 }, { "high", 85 } };
	unsigned v = 0;
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (word_eq(s, words[i].word)) {
			*out = words[i].v;
			return 0;
		}
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 3 || s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (i == 0 || v > 100)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

int matcher__parse_tlp(const char *s, enum matcher_tlp *out)
{
	static const struct {
		const char *word;
		enum matcher_tlp tlp;
	} words[] = {
		{ "clear", MATCHER_TLP_CLEAR },
		{ "white", MATCHER_TLP_CLEAR },
		{ "green", MATCHER_TLP_GREEN },
		{ "amber", MATCHER_TLP_AMBER },
		{ "amber+strict", MATCHER_TLP_AMBER_STRICT },
		{ "red", MATCHER_TLP_RED },
	};

	if (strncasecmp(s, "tlp:", 4) == 0)
		s += 4;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (word_eq(s, words[i].word)) {
			*out = words[i].tlp;
			return 0;
		}
	}
	return -EINVAL;
}

/* n decimal digits at *p into *v; advances *p. */
static bool digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

int matcher__parse_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	int64_t t;

	if (*p == '\0')
		return -EINVAL;
	if (strspn(p, "0123456789") == strlen(p)) {
		/* unix seconds */
		if (strlen(p) > 12)
			return -EINVAL;
		t = 0;
		for (; *p != '\0'; p++)
			t = t * 10 + (*p - '0');
		*out = t;
		return 0;
	}
	/* ISO 8601 / RFC 3339: YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|(+|-)hh[:]mm] */
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d))
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
			return -EINVAL;
		if (*p == ':') {
			p++;
			if (!digits(&p, 2, &sec))
				return -EINVAL;
			if (*p == '.') {
				p++;
				while (*p >= '0' && *p <= '9')
					p++;
			}
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om = 0;

			if (!digits(&p, 2, &oh))
				return -EINVAL;
			if (*p == ':')
				p++;
			if (*p != '\0' && !digits(&p, 2, &om))
				return -EINVAL;
			off = sign * (oh * 3600 + om * 60);
		}
	}
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	*out = t - off;
	return 0;
}

/* ----- what the loaders share ------------------------------------------------------------- */

/* The base name of path without its extension, into a new string. */
static char *base_name(const char *path)
{
	const char *b, *dot;
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	b = path + n;
	while (b > path && b[-1] != '/')
		b--;
	n = (size_t)(path + n - b);
	dot = memrchr(b, '.', n);
	if (dot != NULL && dot != b)
		n = (size_t)(dot - b);
	return strndup(b, n);
}

int matcher__load_feed(struct matcher__load *l, const char *name)
{
	struct matcher__feed f = *l->defaults;
	struct matcher__load_feed *v;
	char *own = NULL;
	int idx;

	if (l->defaults->name != NULL)
		name = l->defaults->name; /* the rule set named the feed */
	if (name == NULL || *name == '\0') {
		own = base_name(l->file ? l->file : "indicators");
		if (own == NULL)
			return -ENOMEM;
		name = own;
	}
	for (size_t i = 0; i < l->nfeeds; i++) {
		if (strcmp(l->feeds[i].name, name) == 0) {
			free(own);
			return l->feeds[i].idx;
		}
	}
	v = reallocarray(l->feeds, l->nfeeds + 1, sizeof(*v));
	if (v == NULL)
		goto out_nomem;
	l->feeds = v;
	v[l->nfeeds].name = strdup(name);
	if (v[l->nfeeds].name == NULL)
		goto out_nomem;
	f.name = (char *)name;
	if (l->format != MATCHER_FMT_GUESS)
		f.format = l->format;
	f.path = (char *)(l->file ? l->file : "");
	idx = matcher__builder_feed(l->b, &f);
	if (idx < 0) {
		free(v[l->nfeeds].name);
		goto out_nomem;
	}
	v[l->nfeeds].idx = idx;
	l->nfeeds++;
	free(own);
	return idx;
out_nomem:
	free(own);
	return -ENOMEM;
}

static struct matcher_feed_stats *stats(struct matcher__load *l, int feed)
{
	return feed >= 0 && !l->allow ? matcher__builder_feed_stats(l->b, feed) : NULL;
}

int matcher__load_junk(struct matcher__load *l, int feed, unsigned line, const char *why)
{
	struct matcher_feed_stats *st = stats(l, feed);

	if (l->junk < sizeof(l->junk_line) / sizeof(l->junk_line[0])) {
		l->junk_line[l->junk] = line;
		l->junk_why[l->junk] = why;
	}
	l->junk++;
	if (l->strict)
		return matcher__error(l->errs, l->file, line, "%s", why);
	if (st != NULL)
		st->skipped++;
	else
		l->pending_skipped++;
	return 0;
}

void matcher__load_other(struct matcher__load *l, int feed)
{
	struct matcher_feed_stats *st = stats(l, feed);

	l->recognised++;
	if (st != NULL)
		st->dropped_other++;
}

int matcher__load_value(struct matcher__load *l, int feed, const struct matcher__indicator_in *in)
{
	struct matcher_feed_stats *st = stats(l, feed);
	struct matcher__indicator_in copy;

	l->recognised++;
	if (l->allow)
		return matcher__builder_allow(l->b, &in->v);
	if (st == NULL)
		return -EINVAL; /* a loader bug: indicators need a feed */
	if (matcher__is_special(&in->v)) {
		st->dropped_special++;
		return 0;
	}
	if (in->v.type == MATCHER_TYPE_DOMAIN && matcher__is_public_suffix(in->v.domain)) {
		st->dropped_public_suffix++;
		return 0;
	}
	copy = *in;
	if (l->defaults->exact_only && copy.v.type == MATCHER_TYPE_DOMAIN)
		copy.exact = true;
	return matcher__builder_indicator(l->b, feed, &copy);
}

static bool type_fits(enum matcher_type hint, enum matcher_type t)
{
	if (hint == 0 || hint == t)
		return true;
	return (hint == MATCHER_TYPE_IPV4 || hint == MATCHER_TYPE_IPV6) &&
	       (t == MATCHER_TYPE_IPV4 || t == MATCHER_TYPE_IPV6);
}

int matcher__load_text(struct matcher__load *l, int feed, unsigned line, const char *text,
                       size_t len, enum matcher_type type_hint,
                       const struct matcher__indicator_in *tmpl)
{
	struct matcher__indicator_in in = *tmpl;
	const char *why = NULL;

	if (matcher__parse_value(text, len, &in.v, &why) != 0) {
		if (why != NULL && strcmp(why, MATCHER__WHY_URL_PATH) == 0 && !l->allow) {
			struct matcher_feed_stats *st = stats(l, feed);

			l->recognised++;
			if (st != NULL)
				st->dropped_url_path++;
			return 0;
		}
		return matcher__load_junk(l, feed, line, why ? why : "not a value");
	}
	if (!type_fits(type_hint, in.v.type))
		return matcher__load_junk(l, feed, line, "value does not match its type");
	return matcher__load_value(l, feed, &in);
}

int matcher__load_finish(struct matcher__load *l)
{
	int err = 0;

	if (!l->allow && (l->nfeeds == 0 || l->pending_skipped > 0)) {
		/* Every file shows up as a feed, even with 0 entries. */
		int feed = l->nfeeds > 0 ? l->feeds[0].idx : matcher__load_feed(l, NULL);

		if (feed < 0) {
			err = feed;
		} else {
			matcher__builder_feed_stats(l->b, feed)->skipped += l->pending_skipped;
			l->pending_skipped = 0;
		}
	}
	if (err == 0 && !l->strict && l->junk > 0 && l->recognised == 0) {
		/* Nothing in the file made sense: it cannot be parsed at all. */
		size_t n = sizeof(l->junk_line) / sizeof(l->junk_line[0]);

		for (size_t i = 0; i < n && i < l->junk; i++)
			matcher__error(l->errs, l->file, l->junk_line[i], "%s", l->junk_why[i]);
		if (l->junk > n)
			matcher__error(l->errs, l->file, 0,
			               "no line holds an indicator (%llu more bad lines)",
			               (unsigned long long)(l->junk - n));
		else
			matcher__error(l->errs, l->file, 0, "no line holds an indicator");
		err = -EINVAL;
	}
	if (err == 0 && l->strict && l->junk > 0)
		err = -EINVAL;
	for (size_t i = 0; i < l->nfeeds; i++)
		free(l->feeds[i].name);
	free(l->feeds);
	l->feeds = NULL;
	l->nfeeds = 0;
	return err;
}

/* ----- format guessing -------------------------------------------------------------------- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

enum matcher_format matcher__guess_format(const char *name, const char *data, size_t len)
{
	size_t i = 0, head;
	const char *line;
	size_t llen;

	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && isspace((unsigned char)data[i]))
		i++;
	head = len - i < 65536 ? len - i : 65536;
	if (i < len && (data[i] == '{' || data[i] == '[')) {
		if (memmem(data + i, head, "\"Attribute\"", 11) != NULL ||
		    memmem(data + i, head, "\"Event\"", 7) != NULL)
			return MATCHER_FMT_MISP;
		if (memmem(data + i, head, "\"objects\"", 9) != NULL ||
		    memmem(data + i, head, "\"bundle\"", 8) != NULL ||
		    memmem(data + i, head, "\"pattern\"", 9) != NULL)
			return MATCHER_FMT_STIX;
		if (name != NULL && has_suffix(name, ".json"))
			return MATCHER_FMT_STIX;
	}
	/* Zeek: "#separator" / "#fields" header lines */
	for (size_t p = i; p < len && data[p] == '#';) {
		const char *nl = memchr(data + p, '\n', len - p);

		if (len - p >= 7 && memcmp(data + p, "#fields", 7) == 0)
			return MATCHER_FMT_ZEEK;
		if (nl == NULL)
			break;
		p = (size_t)(nl - data) + 1;
	}
	/* CSV: a first non-comment line with commas naming an "indicator" column */
	for (size_t p = i; p < len;) {
		const char *nl = memchr(data + p, '\n', len - p);

		line = data + p;
		llen = nl ? (size_t)(nl - line) : len - p;
		if (llen > 0 && line[0] != '#') {
			if (memchr(line, ',', llen) != NULL &&
			    (memmem(line, llen, "indicator", 9) != NULL ||
			     memmem(line, llen, "Indicator", 9) != NULL))
				return MATCHER_FMT_CSV;
			break;
		}
		if (nl == NULL)
			break;
		p = (size_t)(nl - data) + 1;
	}
	if (name != NULL && has_suffix(name, ".csv"))
		return MATCHER_FMT_CSV;
	if (name != NULL && (has_suffix(name, ".intel") || has_suffix(name, ".zeek")))
		return MATCHER_FMT_ZEEK;
	return MATCHER_FMT_LIST;
}

/* ----- loading ---------------------------------------------------------------------------- */

static int load_data(struct matcher__load *l, enum matcher_format fmt, const char *data, size_t len)
{
	if (fmt == MATCHER_FMT_GUESS)
		fmt = matcher__guess_format(l->file, data, len);
	l->format = fmt == MATCHER_FMT_GUESS ? MATCHER_FMT_LIST : fmt;
	switch (fmt) {
	case MATCHER_FMT_ZEEK:
		return matcher__load_zeek(l, data, len);
	case MATCHER_FMT_CSV:
		return matcher__load_csv(l, data, len);
	case MATCHER_FMT_MISP:
		return matcher__load_misp_event(l, data, len);
	case MATCHER_FMT_STIX:
		return matcher__load_stix(l, data, len);
	case MATCHER_FMT_GUESS:
	case MATCHER_FMT_LIST:
		break;
	}
	return matcher__load_list(l, data, len);
}

/* Keep the first failure, but -ENOMEM always wins (nothing else is trustworthy after it). */
static void keep_err(int *rc, int err)
{
	if (err == -ENOMEM || (*rc == 0 && err != 0))
		*rc = err;
}

static int load_feed(struct matcher__builder *b, const struct matcher__feed *f,
                     struct matcher_errors *errs)
{
	struct matcher__load l = { .b = b, .errs = errs, .file = f->path, .defaults = f };
	struct stat st;
	char *data;
	size_t len;
	int err, err2;

	if (f->format == MATCHER_FMT_MISP ||
	    (f->format == MATCHER_FMT_GUESS && stat(f->path, &st) == 0 && S_ISDIR(st.st_mode))) {
		l.format = MATCHER_FMT_MISP;
		err = matcher__load_misp_path(&l, f->path);
	} else {
		err = matcher__read_file(f->path, &data, &len, errs);
		if (err != 0)
			return err;
		err = load_data(&l, f->format, data, len);
		free(data);
	}
	err2 = matcher__load_finish(&l);
	keep_err(&err, err2);
	return err;
}

static int load_allowlist(struct matcher__builder *b, const char *path, struct matcher_errors *errs)
{
	struct matcher__feed defaults = { .name = NULL };
	struct matcher__load l = {
		.b = b,
		.errs = errs,
		.file = path,
		.defaults = &defaults,
		.strict = true,
		.allow = true,
	};
	char *data;
	size_t len;
	int err, err2;

	err = matcher__read_file(path, &data, &len, errs);
	if (err != 0)
		return err;
	err = matcher__load_list(&l, data, len);
	free(data);
	err2 = matcher__load_finish(&l);
	keep_err(&err, err2);
	return err;
}

int matcher_load(const struct matcher_config *cfg, struct matcher_snapshot **out,
                 struct matcher_errors *errs)
{
	struct matcher__builder *b;
	struct matcher__participants p = { .errs = errs };
	int rc = 0;

	*out = NULL;
	b = matcher__builder_new();
	if (b == NULL)
		return -ENOMEM;
	p.b = b;
	matcher__builder_set_asn_fn(b, cfg->asn_fn, cfg->asn_arg);
	matcher__builder_set_now(b, cfg->now != 0 ? cfg->now : (int64_t)time(NULL));
	for (size_t i = 0; i < cfg->nallowlists && rc != -ENOMEM; i++)
		keep_err(&rc, load_allowlist(b, cfg->allowlists[i], errs));
	for (size_t i = 0; i < cfg->nfeeds && rc != -ENOMEM; i++)
		keep_err(&rc, load_feed(b, &cfg->feeds[i], errs));
	for (size_t i = 0; i < cfg->nparticipants && rc != -ENOMEM; i++) {
		char *data;
		size_t len;
		int err = matcher__read_file(cfg->participants[i], &data, &len, errs);

		if (err == 0) {
			err = matcher__load_participants(&p, cfg->participants[i], data, len);
			free(data);
		}
		keep_err(&rc, err);
	}
	matcher__participants_free(&p);
	if (rc == 0)
		rc = matcher__builder_build(b, out);
	matcher__builder_free(b);
	if (rc != 0)
		*out = NULL;
	return rc;
}

/* ----- in-memory entry points (fuzz targets, tests) --------------------------------------- */

int matcher__load_buffer(struct matcher__builder *b, enum matcher_format fmt, const char *name,
                         const char *data, size_t len, struct matcher_errors *errs)
{
	struct matcher__feed f = {
		.format = fmt,
		.category = MATCHER_CAT_UNKNOWN,
		.severity = MATCHER_SEV_MEDIUM,
		.confidence = 50,
		.tlp = MATCHER_TLP_AMBER,
	};
	struct matcher__load l = {
		.b = b, .errs = errs, .file = name ? name : "buffer", .defaults = &f
	};
	int err, err2;

	err = load_data(&l, fmt, data, len);
	err2 = matcher__load_finish(&l);
	keep_err(&err, err2);
	return err;
}

int matcher__load_participants_buffer(struct matcher__builder *b, const char *name,
                                      const char *data, size_t len, struct matcher_errors *errs)
{
	struct matcher__participants p = { .b = b, .errs = errs };
	int err = matcher__load_participants(&p, name ? name : "buffer", data, len);

	matcher__participants_free(&p);
	return err;
}
