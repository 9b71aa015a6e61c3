/*
 * MISP feeds: a directory with manifest.json and one <uuid>.json per event, or a single
 * event file ({"Event": {...}}, {"response": [{"Event": ...}]} or a bare event). Network
 * attributes load (ip-src, ip-dst, ip-src|port, ip-dst|port, domain, hostname,
 * hostname|port, domain|ip, AS, url when it is only a host), the event's own and its
 * objects' attributes; to_ids false is counted as dropped_not_to_ids, other types as
 * dropped_other. The feed is named after the directory (a single file: after the file).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "internal.h"

enum misp_kind {
	MISP_SKIP, /* not a network indicator */
	MISP_IP,
	MISP_DOMAIN,
	MISP_HOST, /* hostname */
	MISP_IP_PORT,
	MISP_HOST_PORT,
	MISP_DOMAIN_IP,
	MISP_AS,
	MISP_URL,
};

static enum misp_kind misp_kind(const char *t)
{
	static const struct {
		const char *type;
		enum misp_kind kind;
	} kinds[] = {
		{ "ip-src", MISP_IP },
		{ "ip-dst", MISP_IP },
		{ "ip-src|port", MISP_IP_PORT },
		{ "ip-dst|port", MISP_IP_PORT },
		{ "domain", MISP_DOMAIN },
		{ "hostname", MISP_HOST },
		{ "hostname|port", MISP_HOST_PORT },
		{ "domain|ip", MISP_DOMAIN_IP },
		{ "AS", MISP_AS },
		{ "url", MISP_URL },
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(t, kinds[i].type) == 0)
			return kinds[i].kind;
	}
	return MISP_SKIP;
}

/* to_ids: true/false, or "1"/"0" and 1/0 in older exports; absent means true. */
static bool misp_to_ids(json_t *a)
{
	json_t *t = json_object_get(a, "to_ids");

	if (t == NULL)
		return true;
	if (json_is_boolean(t))
		return json_is_true(t);
	if (json_is_integer(t))
		return json_integer_value(t) != 0;
	if (json_is_string(t))
		return strcmp(json_string_value(t), "0") != 0 &&
		       strcasecmp(json_string_value(t), "false") != 0;
	return true;
}

static const char *str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && *s != '\0' ? s : NULL;
}

/* The TLP among the tags of o ("tlp:white", "tlp:amber+strict", ...); false when none. */
static bool misp_tags_tlp(json_t *o, enum matcher_tlp *tlp)
{
	json_t *tags = json_object_get(o, "Tag"), *t;
	size_t i;

	json_array_foreach(tags, i, t) {
		const char *name = str_of(t, "name");

		if (name != NULL && matcher__parse_tlp(name, tlp) == 0 &&
		    strncasecmp(name, "tlp:", 4) == 0)
			return true;
	}
	return false;
}

static int misp_attribute(struct matcher__load *l, int feed, json_t *a,
                          const struct matcher__indicator_in *event_tmpl)
{
	struct matcher__indicator_in in = *event_tmpl;
	const char *type = str_of(a, "type");
	const char *value = str_of(a, "value");
	const char *s, *bar;
	enum misp_kind kind;
	int err;

	if (!json_is_object(a))
		return matcher__load_junk(l, feed, 0, "attribute is not an object");
	if (type == NULL || value == NULL)
		return matcher__load_junk(l, feed, 0, "attribute without type or value");
	if (json_is_true(json_object_get(a, "deleted"))) {
		matcher__load_other(l, feed);
		return 0;
	}
	kind = misp_kind(type);
	if (kind == MISP_SKIP) {
		matcher__load_other(l, feed);
		return 0;
	}
	if (!misp_to_ids(a)) {
		l->recognised++;
		matcher__builder_feed_stats(l->b, feed)->dropped_not_to_ids++;
		return 0;
	}
	if ((s = str_of(a, "comment")) != NULL)
		in.description = s;
	if ((s = str_of(a, "first_seen")) != NULL)
		matcher__parse_time(s, &in.first_seen);
	if ((s = str_of(a, "last_seen")) != NULL)
		matcher__parse_time(s, &in.last_seen);
	misp_tags_tlp(a, &in.tlp);
	bar = strchr(value, '|');
	switch (kind) {
	case MISP_SKIP:
		break;
	case MISP_IP:
		return matcher__load_text(l, feed, 0, value, strlen(value), MATCHER_TYPE_IPV4, &in);
	case MISP_DOMAIN:
	case MISP_HOST:
		return matcher__load_text(l, feed, 0, value, strlen(value), MATCHER_TYPE_DOMAIN,
		                          &in);
	case MISP_URL:
		return matcher__load_text(l, feed, 0, value, strlen(value), 0, &in);
	case MISP_IP_PORT:
	case MISP_HOST_PORT:
		/* "value|port": the port does not matter */
		return matcher__load_text(
		        l, feed, 0, value, bar ? (size_t)(bar - value) : strlen(value),
		        kind == MISP_IP_PORT ? MATCHER_TYPE_IPV4 : MATCHER_TYPE_DOMAIN, &in);
	case MISP_DOMAIN_IP:
		if (bar == NULL)
			return matcher__load_junk(l, feed, 0, "domain|ip without '|'");
		err = matcher__load_text(l, feed, 0, value, (size_t)(bar - value),
		                         MATCHER_TYPE_DOMAIN, &in);
		if (err != 0)
			return err;
		return matcher__load_text(l, feed, 0, bar + 1, strlen(bar + 1), MATCHER_TYPE_IPV4,
		                          &in);
	case MISP_AS:
		if (matcher__parse_asn(value, strlen(value), true, &in.v.asn) != 0)
			return matcher__load_junk(l, feed, 0, "bad AS number");
		memset(&in.v.ip, 0, sizeof(in.v.ip));
		in.v.type = MATCHER_TYPE_ASN;
		in.v.plen = 0;
		in.v.domain[0] = '\0';
		return matcher__load_value(l, feed, &in);
	}
	return 0;
}

static int misp_attributes(struct matcher__load *l, int feed, json_t *attrs,
                           const struct matcher__indicator_in *tmpl)
{
	json_t *a;
	size_t i;
	int err;

	if (attrs != NULL && !json_is_array(attrs))
		return matcher__load_junk(l, feed, 0, "Attribute is not an array");
	json_array_foreach(attrs, i, a) {
		err = misp_attribute(l, feed, a, tmpl);
		if (err != 0)
			return err;
	}
	return 0;
}

static int misp_event(struct matcher__load *l, int feed, json_t *ev)
{
	struct matcher__indicator_in tmpl = {
		.category = l->defaults->category,
		.severity = l->defaults->severity,
		.confidence = l->defaults->confidence,
		.tlp = l->defaults->tlp,
	};
	json_t *objs, *o;
	size_t i;
	int err;

	tmpl.description = str_of(ev, "info");
	misp_tags_tlp(ev, &tmpl.tlp);
	err = misp_attributes(l, feed, json_object_get(ev, "Attribute"), &tmpl);
	if (err != 0)
		return err;
	objs = json_object_get(ev, "Object");
	json_array_foreach(objs, i, o) {
		err = misp_attributes(l, feed, json_object_get(o, "Attribute"), &tmpl);
		if (err != 0)
			return err;
	}
	return 0;
}

/* One event document; errors name file. */
static int misp_document(struct matcher__load *l, int feed, const char *file, const char *data,
                         size_t len)
{
	json_error_t jerr;
	json_t *root, *ev, *resp, *item;
	size_t i;
	int err = 0;

	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		matcher__error(l->errs, file, (unsigned)(jerr.line > 0 ? jerr.line : 0), "%s",
		               jerr.text);
		return -EINVAL;
	}
	ev = json_object_get(root, "Event");
	resp = json_object_get(root, "response");
	if (json_is_object(ev)) {
		err = misp_event(l, feed, ev);
	} else if (json_is_array(resp)) {
		json_array_foreach(resp, i, item) {
			ev = json_object_get(item, "Event");
			if (json_is_object(ev))
				err = misp_event(l, feed, ev);
			if (err != 0)
				break;
		}
	} else if (json_is_object(root) && json_object_get(root, "Attribute") != NULL) {
		err = misp_event(l, feed, root);
	} else {
		matcher__error(l->errs, file, 1, "not a MISP event (no Event object)");
		err = -EINVAL;
	}
	json_decref(root);
	return err;
}

int matcher__load_misp_event(struct matcher__load *l, const char *data, size_t len)
{
	int feed = matcher__load_feed(l, NULL);

	if (feed < 0)
		return feed;
	return misp_document(l, feed, l->file, data, len);
}

static int misp_file(struct matcher__load *l, int feed, const char *path)
{
	char *data;
	size_t len;
	int err = matcher__read_file(path, &data, &len, l->errs);

	if (err != 0)
		return err == -ENOENT ? -EINVAL : err;
	err = misp_document(l, feed, path, data, len);
	free(data);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int matcher__load_misp_path(struct matcher__load *l, const char *path)
{
	struct stat st;
	char *manifest = NULL, *data = NULL, *dir;
	const char *base;
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *uuid;
	size_t len;
	int feed, err = 0;

	if (stat(path, &st) != 0) {
		matcher__error(l->errs, path, 0, "cannot open: %s", strerror(errno));
		return -ENOENT;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!S_ISDIR(st.st_mode) && strcmp(base, "manifest.json") != 0) {
		feed = matcher__load_feed(l, NULL);
		return feed < 0 ? feed : misp_file(l, feed, path);
	}
	/* A feed directory (or its manifest.json): the feed is named after the directory. */
	if (S_ISDIR(st.st_mode))
		dir = strdup(path);
	else
		dir = base == path ? strdup(".") : strndup(path, (size_t)(base - path - 1));
	if (dir == NULL)
		return -ENOMEM;
	{
		char *name = strdup(dir), *b;
		size_t n = strlen(name);

		if (name == NULL) {
			free(dir);
			return -ENOMEM;
		}
		while (n > 1 && name[n - 1] == '/')
			name[--n] = '\0';
		b = strrchr(name, '/');
		feed = matcher__load_feed(l, b ? b + 1 : name);
		free(name);
	}
	if (feed < 0) {
		free(dir);
		return feed;
	}
	if (asprintf(&manifest, "%s/manifest.json", dir) < 0) {
		free(dir);
		return -ENOMEM;
	}
	if (access(manifest, F_OK) == 0) {
		err = matcher__read_file(manifest, &data, &len, l->errs);
		if (err != 0)
			goto out;
		root = json_loadb(data, len, 0, &jerr);
		if (!json_is_object(root)) {
			matcher__error(l->errs, manifest, (unsigned)(jerr.line > 0 ? jerr.line : 1),
			               "%s", root ? "manifest is not an object" : jerr.text);
			err = -EINVAL;
			goto out;
		}
		json_object_foreach(root, uuid, v) {
			char *ev;

			if (strchr(uuid, '/') != NULL || uuid[0] == '.' || uuid[0] == '\0') {
				matcher__error(l->errs, manifest, 0, "bad event uuid: %s", uuid);
				err = -EINVAL;
				continue;
			}
			if (asprintf(&ev, "%s/%s.json", dir, uuid) < 0) {
				err = -ENOMEM;
				break;
			}
			{
				int e = misp_file(l, feed, ev);

				if (e == -ENOMEM || (err == 0 && e != 0))
					err = e;
			}
			free(ev);
			if (err == -ENOMEM)
				break;
		}
	} else {
		/* No manifest: every *.json of the directory is an event, in name order. */
		DIR *d = opendir(dir);
		struct dirent *e;
		char **names = NULL;
		size_t n = 0;

		if (d == NULL) {
			matcher__error(l->errs, dir, 0, "cannot open: %s", strerror(errno));
			err = -EIO;
			goto out;
		}
		while ((e = readdir(d)) != NULL) {
			size_t nl = strlen(e->d_name);
			char **nn;

			if (e->d_name[0] == '.' || nl < 6 ||
			    strcmp(e->d_name + nl - 5, ".json") != 0)
				continue;
			nn = reallocarray(names, n + 1, sizeof(*names));
			if (nn == NULL || (nn[n] = strdup(e->d_name)) == NULL) {
				names = nn ? nn : names;
				err = -ENOMEM;
				break;
			}
			names = nn;
			n++;
		}
		closedir(d);
		if (names != NULL)
			qsort(names, n, sizeof(*names), cmp_str);
		for (size_t i = 0; i < n; i++) {
			char *ev;

			if (err != -ENOMEM && asprintf(&ev, "%s/%s", dir, names[i]) >= 0) {
				int e2 = misp_file(l, feed, ev);

				if (e2 == -ENOMEM || (err == 0 && e2 != 0))
					err = e2;
				free(ev);
			}
			free(names[i]);
		}
		free(names);
	}
out:
	json_decref(root);
	free(data);
	free(manifest);
	free(dir);
	return err;
}
