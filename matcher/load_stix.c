/*
 * STIX 2.1 (and 2.0) bundles: indicator objects whose pattern compares ipv4-addr:value,
 * ipv6-addr:value, domain-name:value or autonomous-system:number (url:value too, when the
 * URL is only a host) with '=', joined by OR. Any other pattern (AND, FOLLOWEDBY,
 * qualifiers, other objects or operators) is counted as dropped_other. valid_until is the
 * expiry; the feed is named after the identity that created the indicator, else the file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

#define STIX_MAX_VALUES 256

struct stix_value {
	enum matcher_type hint; /* 0 for url:value */
	bool number;            /* autonomous-system:number */
	char *text;             /* unescaped literal, points into the scratch buffer */
};

struct stix_pattern {
	const char *p, *end;
	char *scratch; /* unescaped literals, NUL-separated */
	size_t used, size;
	struct stix_value v[STIX_MAX_VALUES];
	int n;
};

static void skip_ws(struct stix_pattern *sp)
{
	while (sp->p < sp->end && isspace((unsigned char)*sp->p))
		sp->p++;
}

static bool eat(struct stix_pattern *sp, const char *tok)
{
	size_t n = strlen(tok);

	skip_ws(sp);
	if ((size_t)(sp->end - sp->p) < n || memcmp(sp->p, tok, n) != 0)
		return false;
	/* keywords end at a non-word character */
	if (isalpha((unsigned char)tok[0]) && sp->p + n < sp->end &&
	    (isalnum((unsigned char)sp->p[n]) || sp->p[n] == '_'))
		return false;
	sp->p += n;
	return true;
}

/* object-path '=' literal */
static bool stix_comparison(struct stix_pattern *sp)
{
	static const struct {
		const char *path;
		enum matcher_type hint;
		bool number;
	} paths[] = {
		{ "ipv4-addr:value", MATCHER_TYPE_IPV4, false },
		{ "ipv6-addr:value", MATCHER_TYPE_IPV6, false },
		{ "domain-name:value", MATCHER_TYPE_DOMAIN, false },
		{ "autonomous-system:number", MATCHER_TYPE_ASN, true },
		{ "url:value", 0, false },
	};
	struct stix_value *v;
	size_t i;

	if (sp->n == STIX_MAX_VALUES)
		return false;
	v = &sp->v[sp->n];
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (eat(sp, paths[i].path))
			break;
	}
	if (i == sizeof(paths) / sizeof(paths[0]) || !eat(sp, "="))
		return false;
	v->hint = paths[i].hint;
	v->number = paths[i].number;
	v->text = sp->scratch + sp->used;
	skip_ws(sp);
	if (v->number) {
		while (sp->p < sp->end && isdigit((unsigned char)*sp->p))
			sp->scratch[sp->used++] = *sp->p++;
		if (v->text == sp->scratch + sp->used)
			return false;
	} else {
		if (sp->p >= sp->end || *sp->p != '\'')
			return false;
		sp->p++;
		for (;;) {
			if (sp->p >= sp->end)
				return false;
			if (*sp->p == '\'') {
				sp->p++;
				break;
			}
			if (*sp->p == '\\') {
				/* only \' and \\ are escapes in STIX patterns */
				if (sp->p + 1 >= sp->end || (sp->p[1] != '\'' && sp->p[1] != '\\'))
					return false;
				sp->p++;
			}
			if (*sp->p == '\0')
				return false;
			sp->scratch[sp->used++] = *sp->p++;
		}
	}
	sp->scratch[sp->used++] = '\0';
	sp->n++;
	return true;
}

/* comparison (OR comparison)* inside brackets, with parentheses */
static bool stix_comparisons(struct stix_pattern *sp)
{
	do {
		if (eat(sp, "(")) {
			if (!stix_comparisons(sp) || !eat(sp, ")"))
				return false;
		} else if (!stix_comparison(sp)) {
			return false;
		}
	} while (eat(sp, "OR"));
	return true;
}

/* observation (OR observation)*, with parentheses */
static bool stix_observations(struct stix_pattern *sp, int depth)
{
	if (depth > 32)
		return false;
	do {
		if (eat(sp, "(")) {
			if (!stix_observations(sp, depth + 1) || !eat(sp, ")"))
				return false;
		} else if (!eat(sp, "[") || !stix_comparisons(sp) || !eat(sp, "]")) {
			return false;
		}
	} while (eat(sp, "OR"));
	return true;
}

/* Parse pattern into sp's values. Returns 1, 0 when the pattern is not one we can match, or
 * -ENOMEM. */
static int stix_parse(struct stix_pattern *sp, const char *pattern)
{
	size_t n = strlen(pattern);

	sp->p = pattern;
	sp->end = pattern + n;
	sp->n = 0;
	sp->used = 0;
	if (n + 1 > sp->size) {
		char *s = realloc(sp->scratch, n + 1);

		if (s == NULL)
			return -ENOMEM;
		sp->scratch = s;
		sp->size = n + 1;
	}
	if (!stix_observations(sp, 0))
		return 0;
	skip_ws(sp);
	return sp->p == sp->end && sp->n > 0;
}

/* TLP of an object from its object_marking_refs (TLP 1.0 definitions by their fixed ids,
 * others through the marking-definition objects of the bundle). */
static bool stix_tlp(json_t *o, json_t *markings, enum matcher_tlp *tlp)
{
	static const struct {
		const char *id;
		enum matcher_tlp tlp;
	} fixed[] = {
		{ "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", MATCHER_TLP_CLEAR },
		{ "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", MATCHER_TLP_GREEN },
		{ "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", MATCHER_TLP_AMBER },
		{ "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", MATCHER_TLP_RED },
	};
	json_t *refs = json_object_get(o, "object_marking_refs"), *r;
	size_t i;

	json_array_foreach(refs, i, r) {
		const char *id = json_string_value(r);
		json_t *m;

		if (id == NULL)
			continue;
		for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++) {
			if (strcmp(id, fixed[k].id) == 0) {
				*tlp = fixed[k].tlp;
				return true;
			}
		}
		m = json_object_get(markings, id);
		if (m != NULL) {
			const char *name = json_string_value(json_object_get(m, "name"));
			const char *def = json_string_value(
			        json_object_get(json_object_get(m, "definition"), "tlp"));

			if (def != NULL && matcher__parse_tlp(def, tlp) == 0)
				return true;
			if (name != NULL && strncasecmp(name, "tlp:", 4) == 0 &&
			    matcher__parse_tlp(name, tlp) == 0)
				return true;
		}
	}
	return false;
}

static const char *str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && *s != '\0' ? s : NULL;
}

static int stix_indicator(struct matcher__load *l, json_t *o, json_t *identities, json_t *markings,
                          struct stix_pattern *sp)
{
	struct matcher__indicator_in in = {
		.category = l->defaults->category,
		.severity = l->defaults->severity,
		.confidence = l->defaults->confidence,
		.tlp = l->defaults->tlp,
	};
	const char *creator = str_of(o, "created_by_ref");
	const char *feed_name = NULL, *pattern, *ptype, *s;
	json_t *conf;
	int feed, err;

	if (creator != NULL)
		feed_name = str_of(json_object_get(identities, creator), "name");
	feed = matcher__load_feed(l, feed_name);
	if (feed < 0)
		return feed;
	pattern = str_of(o, "pattern");
	ptype = str_of(o, "pattern_type");
	if (pattern == NULL)
		return matcher__load_junk(l, feed, 0, "indicator without pattern");
	if ((ptype != NULL && strcmp(ptype, "stix") != 0) ||
	    json_is_true(json_object_get(o, "revoked"))) {
		matcher__load_other(l, feed);
		return 0;
	}
	err = stix_parse(sp, pattern);
	if (err < 0)
		return err;
	if (err == 0) {
		matcher__load_other(l, feed);
		return 0;
	}
	if ((s = str_of(o, "valid_until")) != NULL && matcher__parse_time(s, &in.expires) != 0)
		return matcher__load_junk(l, feed, 0, "bad valid_until");
	if ((s = str_of(o, "valid_from")) != NULL)
		matcher__parse_time(s, &in.first_seen);
	in.description = str_of(o, "description");
	if (in.description == NULL)
		in.description = str_of(o, "name");
	conf = json_object_get(o, "confidence");
	if (json_is_integer(conf) && json_integer_value(conf) >= 0 &&
	    json_integer_value(conf) <= 100)
		in.confidence = (uint8_t)json_integer_value(conf);
	stix_tlp(o, markings, &in.tlp);
	for (int i = 0; i < sp->n; i++) {
		struct stix_value *v = &sp->v[i];

		if (v->number) {
			if (matcher__parse_asn(v->text, strlen(v->text), true, &in.v.asn) != 0) {
				err = matcher__load_junk(l, feed, 0, "bad AS number");
			} else {
				memset(&in.v.ip, 0, sizeof(in.v.ip));
				in.v.type = MATCHER_TYPE_ASN;
				in.v.plen = 0;
				in.v.domain[0] = '\0';
				err = matcher__load_value(l, feed, &in);
			}
		} else {
			err = matcher__load_text(l, feed, 0, v->text, strlen(v->text), v->hint,
			                         &in);
		}
		if (err != 0)
			return err;
	}
	return 0;
}

int matcher__load_stix(struct matcher__load *l, const char *data, size_t len)
{
	json_error_t jerr;
	json_t *root, *objs, *o, *identities = NULL, *markings = NULL;
	struct stix_pattern *sp = NULL;
	size_t i;
	int err = 0;

	root = json_loadb(data, len, 0, &jerr);
	if (root == NULL) {
		matcher__error(l->errs, l->file, (unsigned)(jerr.line > 0 ? jerr.line : 0), "%s",
		               jerr.text);
		return -EINVAL;
	}
	if (json_is_array(root)) {
		objs = root;
	} else if (json_is_object(root) && json_is_array(json_object_get(root, "objects"))) {
		objs = json_object_get(root, "objects");
	} else if (json_is_object(root) && str_of(root, "type") != NULL) {
		objs = json_pack("[O]", root); /* a single object */
		json_decref(root);
		root = objs;
		if (root == NULL)
			return -ENOMEM;
	} else {
		matcher__error(l->errs, l->file, 1, "not a STIX bundle (no objects array)");
		json_decref(root);
		return -EINVAL;
	}
	identities = json_object();
	markings = json_object();
	sp = calloc(1, sizeof(*sp));
	if (identities == NULL || markings == NULL || sp == NULL) {
		err = -ENOMEM;
		goto out;
	}
	json_array_foreach(objs, i, o) {
		const char *type = str_of(o, "type"), *id = str_of(o, "id");

		if (type == NULL || id == NULL)
			continue;
		if (strcmp(type, "identity") == 0)
			json_object_set(identities, id, o);
		else if (strcmp(type, "marking-definition") == 0)
			json_object_set(markings, id, o);
	}
	json_array_foreach(objs, i, o) {
		const char *type = str_of(o, "type");

		if (!json_is_object(o) || type == NULL) {
			int feed = matcher__load_feed(l, NULL);

			err = feed < 0 ? feed
			               : matcher__load_junk(l, feed, 0, "object without type");
		} else if (strcmp(type, "indicator") == 0) {
			err = stix_indicator(l, o, identities, markings, sp);
		}
		if (err != 0)
			break;
	}
out:
	if (sp != NULL)
		free(sp->scratch);
	free(sp);
	json_decref(identities);
	json_decref(markings);
	json_decref(root);
	return err;
}
