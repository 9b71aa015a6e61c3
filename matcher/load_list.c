/*
 * Plain indicator lists, as found in the wild: one IP, CIDR, domain or AS number per line;
 * '#' comments (whole-line and inline), '!' AdGuard comments, hosts-file lines
 * ("0.0.0.0 name ..."), AdGuard rules ("||name^"), "ip:port", URLs whose host is the
 * indicator, defanged values. Also the allowlist format. The feed is named after the file.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

/* Names of the boilerplate lines of a hosts file; not indicators, silently ignored. */
static bool is_hosts_boilerplate(const char *s, size_t n)
{
	static const char *const names[] = {
		"localhost",     "localhost.localdomain", "local",        "broadcasthost",
		"ip6-localhost", "ip6-loopback",          "ip6-localnet", "ip6-mcastprefix",
		"ip6-allnodes",  "ip6-allrouters",        "ip6-allhosts", "0.0.0.0",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
			return true;
	}
	return false;
}

static size_t token_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !isspace((unsigned char)s[i]))
		i++;
	return i;
}

static size_t skip_space(const char *s, size_t n, size_t i)
{
	while (i < n && isspace((unsigned char)s[i]))
		i++;
	return i;
}

/* One line (without its newline); feed is the file's feed (or -1 for allowlists). */
static int list_line(struct matcher__load *l, int feed, unsigned line, const char *s, size_t n,
                     const struct matcher__indicator_in *tmpl)
{
	struct matcher__value v;
	size_t i, t;
	const char *why;
	int err;

	/* trim, then cut the comment: '#' at the start or after white space; '#' inside a
	 * value that is no URL ("evil.example#x") also starts one */
	i = skip_space(s, n, 0);
	s += i;
	n -= i;
	for (i = 0; i < n; i++) {
		if (s[i] == '#' && (i == 0 || isspace((unsigned char)s[i - 1]) ||
		                    memmem(s, i, "://", 3) == NULL)) {
			n = i;
			break;
		}
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || s[0] == '!' || s[0] == ';')
		return 0; /* blank or comment */
	if (n >= 2 && s[0] == '/' && s[1] == '/')
		return 0;
	if (n >= 2 && s[0] == '@' && s[1] == '@') {
		/* an AdGuard exception rule: not an indicator */
		matcher__load_other(l, feed);
		return 0;
	}
	if (n >= 2 && s[0] == '|' && s[1] == '|') {
		/* AdGuard "||name^[$options]" */
		const char *end = memchr(s, '^', n);

		s += 2;
		n = (end ? (size_t)(end - s) : n - 2);
		return matcher__load_text(l, feed, line, s, n, MATCHER_TYPE_DOMAIN, tmpl);
	}
	t = token_len(s, n);
	if (t < n) {
		/* Several tokens: a hosts line "ADDR name [name...]" */
		if (matcher__parse_value(s, t, &v, &why) == 0 &&
		    (v.type == MATCHER_TYPE_IPV4 || v.type == MATCHER_TYPE_IPV6)) {
			i = skip_space(s, n, t);
			while (i < n) {
				size_t k = token_len(s + i, n - i);

				if (!is_hosts_boilerplate(s + i, k)) {
					err = matcher__load_text(l, feed, line, s + i, k,
					                         MATCHER_TYPE_DOMAIN, tmpl);
					if (err != 0)
						return err;
				}
				i = skip_space(s, n, i + k);
			}
			return 0;
		}
		return matcher__load_junk(l, feed, line, "several values on one line");
	}
	return matcher__load_text(l, feed, line, s, n, 0, tmpl);
}

int matcher__load_list(struct matcher__load *l, const char *data, size_t len)
{
	struct matcher__indicator_in tmpl = { .exact = false };
	const char *p = data, *end = data + len;
	unsigned line = 0;
	int feed = -1;

	if (!l->allow) {
		feed = matcher__load_feed(l, NULL);
		if (feed < 0)
			return feed;
		tmpl.category = l->defaults->category;
		tmpl.severity = l->defaults->severity;
		tmpl.confidence = l->defaults->confidence;
		tmpl.tlp = l->defaults->tlp;
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int err;

		line++;
		if (memchr(p, '\0', n) != NULL)
			err = matcher__load_junk(l, feed, line, "NUL byte in line");
		else
			err = list_line(l, feed, line, p, n, &tmpl);
		if (err != 0)
			return err;
		p += n + 1;
	}
	return 0;
}
