/*
 * What to load: matcher_config_* collects the rule-set file (--rules), --indicators
 * [FORMAT:]PATH, --participants and --allowlist into one list that matcher_load() (load.c)
 * reads. The rule-set file format is documented in docs/rules.md.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct matcher_config *matcher_config_new(void)
{
	return calloc(1, sizeof(struct matcher_config));
}

static void free_paths(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void matcher_config_free(struct matcher_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		free(cfg->feeds[i].name);
		free(cfg->feeds[i].path);
	}
	free(cfg->feeds);
	free_paths(cfg->participants, cfg->nparticipants);
	free_paths(cfg->allowlists, cfg->nallowlists);
	free(cfg);
}

void matcher_config_set_asn_fn(struct matcher_config *cfg, matcher_asn_fn *fn, void *arg)
{
	cfg->asn_fn = fn;
	cfg->asn_arg = arg;
}

void matcher_config_set_now(struct matcher_config *cfg, int64_t now)
{
	cfg->now = now;
}

/* The defaults of a feed given with --indicators alone (DESIGN.md "Formats"). */
static void feed_defaults(struct matcher__feed *f)
{
	memset(f, 0, sizeof(*f));
	f->format = MATCHER_FMT_GUESS;
	f->category = MATCHER_CAT_UNKNOWN;
	f->severity = MATCHER_SEV_MEDIUM;
	f->confidence = 50;
	f->tlp = MATCHER_TLP_AMBER;
}

/* Append a copy of f (strings already owned by f pass to cfg). */
static int add_feed(struct matcher_config *cfg, struct matcher__feed *f)
{
	struct matcher__feed *v = reallocarray(cfg->feeds, cfg->nfeeds + 1, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	cfg->feeds = v;
	cfg->feeds[cfg->nfeeds++] = *f;
	return 0;
}

static int add_path(char ***v, size_t *n, const char *path)
{
	char **nv = reallocarray(*v, *n + 1, sizeof(**v));

	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(path);
	if (nv[*n] == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

int matcher_config_add_participants(struct matcher_config *cfg, const char *path)
{
	return add_path(&cfg->participants, &cfg->nparticipants, path);
}

int matcher_config_add_allowlist(struct matcher_config *cfg, const char *path)
{
	return add_path(&cfg->allowlists, &cfg->nallowlists, path);
}

static int parse_format(const char *s, size_t len, enum matcher_format *out)
{
	static const struct {
		const char *name;
		enum matcher_format fmt;
	} names[] = {
		{ "zeek", MATCHER_FMT_ZEEK }, { "list", MATCHER_FMT_LIST },
		{ "csv", MATCHER_FMT_CSV },   { "misp", MATCHER_FMT_MISP },
		{ "stix", MATCHER_FMT_STIX }, { "guess", MATCHER_FMT_GUESS },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == len && strncasecmp(s, names[i].name, len) == 0) {
			*out = names[i].fmt;
			return 0;
		}
	}
	return -EINVAL;
}

int matcher_config_add_indicators(struct matcher_config *cfg, const char *spec,
                                  struct matcher_errors *errs)
{
	struct matcher__feed f;
	const char *colon = strchr(spec, ':');
	const char *path = spec;
	int err;

	feed_defaults(&f);
	/* "FORMAT:PATH" when the part before the first ':' names a format; a path may hold ':'. */
	if (colon != NULL && parse_format(spec, (size_t)(colon - spec), &f.format) == 0)
		path = colon + 1;
	if (*path == '\0') {
		matcher__error(errs, NULL, 0, "--indicators %s: no path", spec);
		return -EINVAL;
	}
	f.path = strdup(path);
	if (f.path == NULL)
		return -ENOMEM;
	err = add_feed(cfg, &f);
	if (err != 0)
		free(f.path);
	return err;
}

/* ----- the rule-set file ------------------------------------------------------------------ */

enum section {
	SECTION_NONE,
	SECTION_FEED,
	SECTION_PARTICIPANTS,
	SECTION_ALLOWLIST,
};

struct rules_parser {
	struct matcher_config *cfg;
	struct matcher_errors *errs;
	const char *file;
	char *dir; /* directory of the rule file, with a trailing '/', or "" */
	enum section section;
	unsigned section_line;
	struct matcher__feed feed; /* the [feed] being read */
	char *path;                /* the path of the section being read (joined with dir) */
	int err;                   /* first hard error (-ENOMEM) */
	bool bad;                  /* some line was wrong */
};

static void rules_error(struct rules_parser *rp, unsigned line, const char *what, const char *arg)
{
	rp->bad = true;
	if (matcher__error(rp->errs, rp->file, line, "%s%s%s", what, arg ? ": " : "",
	                   arg ? arg : "") != 0)
		rp->err = -ENOMEM;
}

static bool parse_bool(const char *s, bool *out)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 ||
	    strcasecmp(s, "on") == 0) {
		*out = true;
		return true;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0 ||
	    strcasecmp(s, "off") == 0) {
		*out = false;
		return true;
	}
	return false;
}

/* Close the current section: check it and hand it to cfg. */
static void rules_end_section(struct rules_parser *rp)
{
	int err = 0;

	switch (rp->section) {
	case SECTION_NONE:
		break;
	case SECTION_FEED:
		if (rp->path == NULL) {
			rules_error(rp, rp->section_line, "[feed] without path", NULL);
			free(rp->feed.name);
			break;
		}
		rp->feed.path = rp->path;
		rp->path = NULL;
		err = add_feed(rp->cfg, &rp->feed);
		if (err != 0) {
			free(rp->feed.name);
			free(rp->feed.path);
		}
		break;
	case SECTION_PARTICIPANTS:
	case SECTION_ALLOWLIST:
		if (rp->path == NULL) {
			rules_error(rp, rp->section_line,
			            rp->section == SECTION_ALLOWLIST
			                    ? "[allowlist] without path"
			                    : "[participants] without path",
			            NULL);
			break;
		}
		if (rp->section == SECTION_ALLOWLIST)
			err = matcher_config_add_allowlist(rp->cfg, rp->path);
		else
			err = matcher_config_add_participants(rp->cfg, rp->path);
		break;
	}
	if (err != 0)
		rp->err = err;
	free(rp->path);
	rp->path = NULL;
	memset(&rp->feed, 0, sizeof(rp->feed));
	rp->section = SECTION_NONE;
}

static void rules_section(struct rules_parser *rp, unsigned line, char *name)
{
	char *arg;

	rules_end_section(rp);
	rp->section_line = line;
	arg = name + strcspn(name, " \t");
	if (*arg != '\0') {
		*arg++ = '\0';
		arg += strspn(arg, " \t");
	}
	if (strcmp(name, "feed") == 0) {
		rp->section = SECTION_FEED;
		feed_defaults(&rp->feed);
		if (*arg != '\0') {
			/* [feed NAME] or [feed "NAME"] */
			size_t n = strlen(arg);

			if (n >= 2 && arg[0] == '"' && arg[n - 1] == '"') {
				arg[n - 1] = '\0';
				arg++;
			}
			rp->feed.name = strdup(arg);
			if (rp->feed.name == NULL)
				rp->err = -ENOMEM;
		}
	} else if (strcmp(name, "participants") == 0 && *arg == '\0') {
		rp->section = SECTION_PARTICIPANTS;
	} else if (strcmp(name, "allowlist") == 0 && *arg == '\0') {
		rp->section = SECTION_ALLOWLIST;
	} else {
		rules_error(rp, line, "unknown section (want [feed], [participants], [allowlist])",
		            name);
	}
}

static void rules_key(struct rules_parser *rp, unsigned line, const char *key, const char *val)
{
	struct matcher__feed *f = &rp->feed;
	bool b;

	if (rp->section == SECTION_NONE) {
		rules_error(rp, line, "key outside a section", key);
		return;
	}
	if (strcmp(key, "path") == 0) {
		if (*val == '\0') {
			rules_error(rp, line, "empty path", NULL);
			return;
		}
		if (rp->path != NULL) {
			rules_error(rp, line, "path given twice", val);
			return;
		}
		/* relative paths are relative to the rule file */
		if (val[0] == '/' || rp->dir[0] == '\0') {
			rp->path = strdup(val);
		} else if (asprintf(&rp->path, "%s%s", rp->dir, val) < 0) {
			rp->path = NULL;
		}
		if (rp->path == NULL)
			rp->err = -ENOMEM;
		return;
	}
	if (rp->section != SECTION_FEED) {
		rules_error(rp, line, "unknown key (only path here)", key);
		return;
	}
	if (strcmp(key, "name") == 0) {
		if (*val == '\0') {
			rules_error(rp, line, "empty name", NULL);
			return;
		}
		free(f->name);
		f->name = strdup(val);
		if (f->name == NULL)
			rp->err = -ENOMEM;
	} else if (strcmp(key, "format") == 0) {
		if (parse_format(val, strlen(val), &f->format) != 0)
			rules_error(rp, line, "unknown format (zeek, list, csv, misp, stix, guess)",
			            val);
	} else if (strcmp(key, "category") == 0) {
		if (matcher__parse_category(val, &f->category) != 0)
			rules_error(rp, line, "unknown category", val);
	} else if (strcmp(key, "severity") == 0) {
		if (matcher__parse_severity(val, &f->severity) != 0)
			rules_error(rp, line, "unknown severity (low, medium, high, critical)",
			            val);
	} else if (strcmp(key, "confidence") == 0) {
		if (matcher__parse_confidence(val, &f->confidence) != 0)
			rules_error(rp, line, "bad confidence (0..100)", val);
	} else if (strcmp(key, "tlp") == 0) {
		if (matcher__parse_tlp(val, &f->tlp) != 0)
			rules_error(rp, line,
			            "unknown tlp (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)", val);
	} else if (strcmp(key, "exact_only") == 0) {
		if (!parse_bool(val, &b))
			rules_error(rp, line, "exact_only wants yes or no", val);
		else
			f->exact_only = b;
	} else {
		rules_error(rp, line, "unknown key", key);
	}
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

int matcher_config_add_rules_file(struct matcher_config *cfg, const char *path,
                                  struct matcher_errors *errs)
{
	struct rules_parser rp = { .cfg = cfg, .errs = errs, .file = path };
	const char *slash = strrchr(path, '/');
	char *data, *p;
	size_t len;
	unsigned line = 0;
	int err;

	err = matcher__read_file(path, &data, &len, errs);
	if (err != 0)
		return err;
	rp.dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup("");
	if (rp.dir == NULL) {
		free(data);
		return -ENOMEM;
	}
	p = data;
	while (p < data + len && rp.err == 0) {
		char *nl = memchr(p, '\n', (size_t)(data + len - p));
		char *s, *eq;

		if (nl != NULL)
			*nl = '\0';
		line++;
		if (memchr(p, '\0', (size_t)((nl ? nl : data + len) - p)) != NULL) {
			rules_error(&rp, line, "NUL byte in line", NULL);
		} else {
			s = trim(p);
			if (*s == '\0' || *s == '#' || *s == ';') {
				/* blank or comment */
			} else if (*s == '[') {
				char *end = strchr(s, ']');

				if (end == NULL || trim(end + 1)[0] != '\0') {
					rules_error(&rp, line, "bad section header", s);
				} else {
					*end = '\0';
					rules_section(&rp, line, trim(s + 1));
				}
			} else if ((eq = strchr(s, '=')) != NULL) {
				*eq = '\0';
				rules_key(&rp, line, trim(s), trim(eq + 1));
			} else {
				rules_error(&rp, line, "expected [section] or key = value", s);
			}
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (rp.err == 0)
		rules_end_section(&rp);
	else
		free(rp.feed.name);
	free(rp.path);
	free(rp.dir);
	free(data);
	if (rp.err != 0)
		return rp.err;
	return rp.bad ? -EINVAL : 0;
}
