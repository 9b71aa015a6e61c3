/*
 * Participants: the JSON form (rules/schema/participants.schema.json: id, name, language,
 * sensors, contacts, assets {ips, domains, asns}) and the bulk CSV form
 * "participant_id,asset". These are the operator's own files: anything wrong is an error
 * with file:line, and the load fails. Contacts are kept as compact JSON text; they name
 * secrets (secret_ref), never hold them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

struct pfile {
	struct matcher__participants *p;
	const char *file;
	const char *data;
	size_t len;
	bool bad;
	int err; /* -ENOMEM */
};

/* The line of the first occurrence of needle in the file (1 when not found): jansson does not
 * keep positions, so errors point at where the offending text is written. */
static unsigned line_of(const struct pfile *f, const char *needle)
{
	const char *hit =
	        needle && *needle ? memmem(f->data, f->len, needle, strlen(needle)) : NULL;
	unsigned line = 1;

	if (hit == NULL)
		return 1;
	for (const char *q = f->data; q < hit; q++)
		line += *q == '\n';
	return line;
}

static unsigned line_of_str(const struct pfile *f, const char *s)
{
	char buf[300];
	int n = snprintf(buf, sizeof(buf), "\"%s\"", s ? s : "");

	return n > 0 && (size_t)n < sizeof(buf) ? line_of(f, buf) : 1;
}

static void perr(struct pfile *f, unsigned line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void perr(struct pfile *f, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->bad = true;
	if (matcher__error(f->p->errs, f->file, line, "%s", msg) != 0)
		f->err = -ENOMEM;
}

static size_t id_hash(const char *id)
{
	size_t h = 14695981039346656037u;

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211u;
	}
	return h;
}

/* Participant ids are looked up through a hash index: bulk lists hold 100,000 participants. */
static int find_id(const struct matcher__participants *p, const char *id)
{
	if (p->nslots == 0)
		return -1;
	for (size_t i = id_hash(id) & (p->nslots - 1); p->slots[i] != 0;
	     i = (i + 1) & (p->nslots - 1)) {
		const struct matcher__load_feed *e = &p->ids[p->slots[i] - 1];

		if (strcmp(e->name, id) == 0)
			return e->idx;
	}
	return -1;
}

static void index_id(struct matcher__participants *p, size_t pos)
{
	size_t i = id_hash(p->ids[pos].name) & (p->nslots - 1);

	while (p->slots[i] != 0)
		i = (i + 1) & (p->nslots - 1);
	p->slots[i] = (uint32_t)(pos + 1);
}

static int remember_id(struct matcher__participants *p, const char *id, int idx)
{
	if (p->nids == p->capids) {
		size_t cap = p->capids ? p->capids * 2 : 64;
		struct matcher__load_feed *v = reallocarray(p->ids, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		p->ids = v;
		p->capids = cap;
	}
	if ((p->nids + 1) * 2 >= p->nslots) {
		size_t n = p->nslots ? p->nslots * 2 : 128;
		uint32_t *slots = calloc(n, sizeof(*slots));

		if (slots == NULL)
			return -ENOMEM;
		free(p->slots);
		p->slots = slots;
		p->nslots = n;
		for (size_t i = 0; i < p->nids; i++)
			index_id(p, i);
	}
	p->ids[p->nids].name = strdup(id);
	if (p->ids[p->nids].name == NULL)
		return -ENOMEM;
	p->ids[p->nids].idx = idx;
	index_id(p, p->nids);
	p->nids++;
	return 0;
}

void matcher__participants_free(struct matcher__participants *p)
{
	for (size_t i = 0; i < p->nids; i++)
		free(p->ids[i].name);
	free(p->ids);
	free(p->slots);
	p->ids = NULL;
	p->slots = NULL;
	p->nids = p->capids = p->nslots = 0;
}

static bool valid_id(const char *id)
{
	if (*id == '\0' || strlen(id) > 128)
		return false;
	for (const char *c = id; *c != '\0'; c++) {
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.' && *c != '@')
			return false;
	}
	return true;
}

/* Parse one asset and add it to participant idx; want restricts the type (0: any). */
static void add_asset(struct pfile *f, int idx, const char *pid, const char *text, int want)
{
	struct matcher__value v;
	const char *why = NULL;
	int err;

	if (matcher__parse_value(text, strlen(text), &v, &why) != 0) {
		char msg[300];

		snprintf(msg, sizeof(msg), "participant %s: bad asset", pid);
		perr(f, line_of_str(f, text), "%s: %s", msg, why ? why : text);
		return;
	}
	if (want == 1 && v.type != MATCHER_TYPE_IPV4 && v.type != MATCHER_TYPE_IPV6) {
		perr(f, line_of_str(f, text), "participant %s: not an IP address or prefix: %s",
		     pid, text);
		return;
	}
	if (want == 2 && v.type != MATCHER_TYPE_DOMAIN) {
		perr(f, line_of_str(f, text), "participant %s: not a domain: %s", pid, text);
		return;
	}
	if (v.type == MATCHER_TYPE_DOMAIN && matcher__is_public_suffix(v.domain)) {
		perr(f, line_of_str(f, text), "participant %s: a public suffix is no asset: %s",
		     pid, text);
		return;
	}
	if (idx < 0)
		return;
	err = matcher__builder_asset(f->p->b, idx, &v);
	if (err != 0)
		f->err = err;
}

static void json_assets(struct pfile *f, int idx, const char *pid, json_t *assets)
{
	json_t *a, *v;
	const char *key;
	size_t i;
	char buf[32];

	json_object_foreach(assets, key, a) {
		int want;

		if (strcmp(key, "ips") == 0) {
			want = 1;
		} else if (strcmp(key, "domains") == 0) {
			want = 2;
		} else if (strcmp(key, "asns") == 0) {
			want = 3;
		} else {
			perr(f, line_of_str(f, key), "participant %s: unknown asset kind %s", pid,
			     key);
			continue;
		}
		if (!json_is_array(a)) {
			perr(f, line_of_str(f, key), "participant %s: %s must be an array", pid,
			     key);
			continue;
		}
		json_array_foreach(a, i, v) {
			if (want == 3 && json_is_integer(v)) {
				struct matcher__value av = { .type = MATCHER_TYPE_ASN };
				json_int_t n = json_integer_value(v);

				if (n < 0 || n > (json_int_t)UINT32_MAX) {
					snprintf(buf, sizeof(buf), "%lld", (long long)n);
					perr(f, line_of(f, buf), "participant %s: bad AS number %s",
					     pid, buf);
					continue;
				}
				av.asn = (uint32_t)n;
				if (idx >= 0 && matcher__builder_asset(f->p->b, idx, &av) != 0)
					f->err = -ENOMEM;
			} else if (want == 3 && json_is_string(v)) {
				struct matcher__value av = { .type = MATCHER_TYPE_ASN };
				const char *s = json_string_value(v);

				if (matcher__parse_asn(s, strlen(s), true, &av.asn) != 0) {
					perr(f, line_of_str(f, s),
					     "participant %s: bad AS number %s", pid, s);
					continue;
				}
				if (idx >= 0 && matcher__builder_asset(f->p->b, idx, &av) != 0)
					f->err = -ENOMEM;
			} else if (json_is_string(v)) {
				add_asset(f, idx, pid, json_string_value(v), want);
			} else {
				perr(f, line_of_str(f, key),
				     "participant %s: %s holds a non-string", pid, key);
			}
		}
	}
}

/* Contacts: objects with a "type"; they name secrets (secret_ref), never hold them. */
static bool check_contacts(struct pfile *f, const char *pid, json_t *contacts)
{
	static const char *const secrets[] = { "secret",  "password", "token", "key",
		                               "api_key", "hmac_key", "auth" };
	json_t *c;
	size_t i;
	bool ok = true;

	if (!json_is_array(contacts)) {
		perr(f, line_of_str(f, "contacts"), "participant %s: contacts must be an array%s",
		     pid, "");
		return false;
	}
	json_array_foreach(contacts, i, c) {
		if (!json_is_object(c) || !json_is_string(json_object_get(c, "type"))) {
			perr(f, line_of_str(f, "contacts"),
			     "participant %s: a contact must be an object with a type", pid);
			ok = false;
			continue;
		}
		for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++) {
			if (json_object_get(c, secrets[k]) != NULL) {
				perr(f, line_of_str(f, secrets[k]),
				     "participant %s: no secrets in contacts (use secret_ref): %s",
				     pid, secrets[k]);
				ok = false;
			}
		}
	}
	return ok;
}

static void json_participant(struct pfile *f, json_t *o)
{
	static const char *const known[] = { "id",      "name",     "language",
		                             "sensors", "contacts", "assets" };
	const char *id, *name, *lang, *key;
	const char **sensors = NULL;
	json_t *js, *v, *contacts, *assets;
	char *cjson = NULL;
	unsigned ns = 0;
	size_t i;
	int idx;

	if (!json_is_object(o)) {
		perr(f, 1, "a participant must be an object");
		return;
	}
	id = json_string_value(json_object_get(o, "id"));
	if (id == NULL || !valid_id(id)) {
		perr(f, id ? line_of_str(f, id) : 1,
		     "participant without a valid id (letters, digits, - _ . @)%s%s",
		     id ? ": " : "", id ? id : "");
		return;
	}
	if (strcmp(id, "operator") == 0) {
		perr(f, line_of_str(f, id), "participant id %s is reserved", id);
		return;
	}
	json_object_foreach(o, key, v) {
		bool ok = false;

		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok = ok || strcmp(key, known[k]) == 0;
		if (!ok)
			perr(f, line_of_str(f, key), "participant %s: unknown key %s", id, key);
	}
	name = json_string_value(json_object_get(o, "name"));
	lang = json_string_value(json_object_get(o, "language"));
	if (json_object_get(o, "name") != NULL && name == NULL)
		perr(f, line_of_str(f, id), "participant %s: name must be a string", id);
	if (json_object_get(o, "language") != NULL && lang == NULL)
		perr(f, line_of_str(f, id), "participant %s: language must be a string", id);
	js = json_object_get(o, "sensors");
	if (js != NULL) {
		if (!json_is_array(js)) {
			perr(f, line_of_str(f, "sensors"),
			     "participant %s: sensors must be an array", id);
		} else if (json_array_size(js) > 0) {
			sensors = calloc(json_array_size(js), sizeof(*sensors));
			if (sensors == NULL) {
				f->err = -ENOMEM;
				return;
			}
			json_array_foreach(js, i, v) {
				if (!json_is_string(v))
					perr(f, line_of_str(f, "sensors"),
					     "participant %s: a sensor is a name", id);
				else
					sensors[ns++] = json_string_value(v);
			}
		}
	}
	contacts = json_object_get(o, "contacts");
	if (contacts != NULL && check_contacts(f, id, contacts)) {
		cjson = json_dumps(contacts, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (cjson == NULL)
			f->err = -ENOMEM;
	}
	assets = json_object_get(o, "assets");
	if (assets != NULL && !json_is_object(assets))
		perr(f, line_of_str(f, "assets"), "participant %s: assets must be an object", id);
	idx = -1; /* -1: check the assets only */
	if (find_id(f->p, id) >= 0) {
		perr(f, line_of_str(f, id), "duplicate participant id %s", id);
	} else if (!f->bad && f->err == 0) {
		idx = matcher__builder_participant(f->p->b, id, name ? name : id, lang, sensors, ns,
		                                   cjson);
		if (idx < 0) {
			f->err = idx;
		} else if (remember_id(f->p, id, idx) != 0) {
			f->err = -ENOMEM;
		}
	}
	if (f->err == 0 && json_is_object(assets))
		json_assets(f, idx, id, assets);
	free(cjson);
	free(sensors);
}

static int load_json(struct pfile *f)
{
	json_error_t jerr;
	json_t *root, *list, *o;
	size_t i;

	root = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		matcher__error(f->p->errs, f->file, (unsigned)(jerr.line > 0 ? jerr.line : 1), "%s",
		               jerr.text);
		return -EINVAL;
	}
	list = json_is_array(root) ? root : json_object_get(root, "participants");
	if (!json_is_array(list)) {
		json_decref(root);
		matcher__error(f->p->errs, f->file, 1, "no \"participants\" array");
		return -EINVAL;
	}
	json_array_foreach(list, i, o) {
		json_participant(f, o);
		if (f->err != 0)
			break;
	}
	json_decref(root);
	return f->err != 0 ? f->err : f->bad ? -EINVAL : 0;
}

/* Bulk CSV: header "participant_id,asset", then one asset per line. */
static int load_csv(struct pfile *f)
{
	const char *p = f->data, *end = f->data + f->len;
	unsigned line = 0;
	bool header = false;

	while (p < end && f->err == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char buf[1024], *id, *asset, *comma, *e;
		int idx;

		line++;
		if (n >= sizeof(buf)) {
			perr(f, line, "line too long");
			p += n + 1;
			continue;
		}
		memcpy(buf, p, n);
		buf[n] = '\0';
		p += n + 1;
		if (strlen(buf) != n) {
			perr(f, line, "NUL byte in line");
			continue;
		}
		id = buf;
		while (isspace((unsigned char)*id))
			id++;
		e = id + strlen(id);
		while (e > id && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*id == '\0' || *id == '#')
			continue;
		comma = strchr(id, ',');
		if (!header) {
			if (strncmp(id, "participant_id", 14) != 0 || comma == NULL ||
			    strcmp(comma + 1, "asset") != 0) {
				perr(f, line,
				     "bulk participants CSV needs the header participant_id,asset");
				return -EINVAL;
			}
			header = true;
			continue;
		}
		if (comma == NULL || strchr(comma + 1, ',') != NULL) {
			perr(f, line, "want participant_id,asset");
			continue;
		}
		*comma = '\0';
		asset = comma + 1;
		for (e = comma; e > id && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		while (isspace((unsigned char)*asset))
			asset++;
		if (!valid_id(id) || strcmp(id, "operator") == 0) {
			perr(f, line, "bad participant id: %s", id);
			continue;
		}
		idx = find_id(f->p, id);
		if (idx < 0) {
			idx = matcher__builder_participant(f->p->b, id, id, NULL, NULL, 0, NULL);
			if (idx < 0) {
				f->err = idx;
				break;
			}
			if (remember_id(f->p, id, idx) != 0) {
				f->err = -ENOMEM;
				break;
			}
		}
		{
			struct matcher__value v;
			const char *why = NULL;
			uint32_t asn;

			if (matcher__parse_value(asset, strlen(asset), &v, &why) != 0) {
				/* a bare number is an AS number here */
				if (matcher__parse_asn(asset, strlen(asset), true, &asn) == 0) {
					memset(&v, 0, sizeof(v));
					v.type = MATCHER_TYPE_ASN;
					v.asn = asn;
				} else {
					perr(f, line, "bad asset: %s (%s)", asset, why ? why : "");
					continue;
				}
			}
			if (v.type == MATCHER_TYPE_DOMAIN && matcher__is_public_suffix(v.domain)) {
				perr(f, line, "a public suffix is no asset: %s", asset);
				continue;
			}
			if (matcher__builder_asset(f->p->b, idx, &v) != 0)
				f->err = -ENOMEM;
		}
	}
	if (f->err != 0)
		return f->err;
	return f->bad ? -EINVAL : 0;
}

int matcher__load_participants(struct matcher__participants *p, const char *file, const char *data,
                               size_t len)
{
	struct pfile f = { .p = p, .file = file, .data = data, .len = len };
	size_t i = 0;

	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && isspace((unsigned char)data[i]))
		i++;
	if (i < len && (data[i] == '{' || data[i] == '['))
		return load_json(&f);
	return load_csv(&f);
}
