/*
 * Alert decisions (DESIGN.md, "What makes an alert" and its fine print).
 *
 * For each end of a flow we ask the snapshot once for everything covering the address (and its
 * AS number): participants' assets on one side, indicators on the other. An address's owners
 * are the participants with a covering asset that counts here (a private-space asset of a
 * participant that lists `sensors` counts only at those sensors), each with its most specific
 * asset (host, then longer prefixes, then shorter, then the AS number). Own traffic never
 * raises contact/inbound: the indicator side must not be an asset of the same participant.
 * Allowlisted observed values raise nothing. Expired indicators do not match.
 */
#include "sensor/match.h"

#include <string.h>

#define MATCH_MAX_OWNERS     64  /* participants owning one address */
#define MATCH_MAX_INDICATORS 64  /* indicators matching one value */
#define MATCH_MAX_SEEN       128 /* (kind, participant, indicator) emitted by one call */

struct owner {
	uint32_t participant;
	uint32_t asset;
	int rank; /* higher is more specific: plen for IP assets, -1 for AS numbers */
};

struct hits {
	uint32_t ind[MATCH_MAX_INDICATORS];
	enum match_via via[MATCH_MAX_INDICATORS];
	unsigned n;
	bool allowed; /* the observed value is allowlisted: raise nothing */
};

struct seen {
	uint64_t key[MATCH_MAX_SEEN];
	unsigned n;
};

/* true the first time (kind, participant, indicator) is offered within one call */
static bool seen_first(struct seen *s, enum match_kind kind, uint32_t p, uint32_t ind)
{
	uint64_t k = (uint64_t)kind << 62 | (uint64_t)(p & 0x3fffffff) << 32 | ind;

	for (unsigned i = 0; i < s->n; i++)
		if (s->key[i] == k)
			return false;
	if (s->n < MATCH_MAX_SEEN)
		s->key[s->n++] = k;
	return true;
}

static bool indicator_live(const struct matcher_snapshot *snap, uint32_t id, uint64_t ts_ns)
{
	const struct matcher_indicator *ind = matcher_indicator(snap, id);

	return ind != NULL && (ind->expires == 0 || (uint64_t)ind->expires * 1000000000u > ts_ns);
}

static bool asset_counts_here(const struct match_env *env, const struct matcher_snapshot *snap,
			      const struct matcher_asset *as)
{
	const struct matcher_participant *p = matcher_participant(snap, as->participant);

	if (p == NULL)
		return false;
	if (!as->special || p->nsensors == 0)
		return true;
	for (unsigned i = 0; i < p->nsensors; i++)
		if (env->observer != NULL && strcmp(p->sensors[i], env->observer) == 0)
			return true;
	return false;
}

static void owner_add(struct owner *o, unsigned *n, uint32_t participant, uint32_t asset,
		      int rank)
{
	for (unsigned i = 0; i < *n; i++) {
		if (o[i].participant != participant)
			continue;
		if (rank > o[i].rank) {
			o[i].asset = asset;
			o[i].rank = rank;
		}
		return;
	}
	if (*n < MATCH_MAX_OWNERS)
		o[(*n)++] = (struct owner){ participant, asset, rank };
}

/* The owners of address a (AS asn) and, if wanted, the indicators matching it. */
static unsigned classify_addr(const struct match_env *env, const struct matcher_snapshot *snap,
			      const struct addr *a, uint32_t asn, uint64_t ts_ns,
			      struct owner *owners, struct hits *hits)
{
	struct matcher_ip ip = match_ip(a);
	const struct matcher_match *m;
	unsigned nown = 0;
	size_t n;

	if (hits != NULL) {
		hits->n = 0;
		hits->allowed = false;
	}
	n = matcher_lookup_ip(snap, &ip, &m);
	for (size_t i = 0; i < n; i++) {
		if (m[i].role == MATCHER_ROLE_ASSET) {
			const struct matcher_asset *as = matcher_asset(snap, m[i].entry_id);

			if (as != NULL && asset_counts_here(env, snap, as))
				owner_add(owners, &nown, as->participant, m[i].entry_id, as->plen);
		} else if (hits != NULL && m[i].role == MATCHER_ROLE_ALLOW) {
			hits->allowed = true;
		} else if (hits != NULL && m[i].role == MATCHER_ROLE_INDICATOR &&
			   hits->n < MATCH_MAX_INDICATORS &&
			   indicator_live(snap, m[i].entry_id, ts_ns)) {
			hits->via[hits->n] = MATCH_VIA_IP;
			hits->ind[hits->n++] = m[i].entry_id;
		}
	}
	if (asn == 0)
		return nown;
	n = matcher_lookup_asn(snap, asn, &m);
	for (size_t i = 0; i < n; i++) {
		if (m[i].role == MATCHER_ROLE_ASSET) {
			const struct matcher_asset *as = matcher_asset(snap, m[i].entry_id);

			if (as != NULL && asset_counts_here(env, snap, as))
				owner_add(owners, &nown, as->participant, m[i].entry_id, -1);
		} else if (hits != NULL && m[i].role == MATCHER_ROLE_ALLOW) {
			hits->allowed = true;
		} else if (hits != NULL && m[i].role == MATCHER_ROLE_INDICATOR &&
			   hits->n < MATCH_MAX_INDICATORS &&
			   indicator_live(snap, m[i].entry_id, ts_ns)) {
			hits->via[hits->n] = MATCH_VIA_ASN;
			hits->ind[hits->n++] = m[i].entry_id;
		}
	}
	return nown;
}

/* Indicators for a normalised name; owners of the name (participants' domains) too. */
static unsigned classify_name(const struct matcher_snapshot *snap, const char *name, size_t len,
			      uint64_t ts_ns, struct hits *hits, uint32_t *name_owners,
			      unsigned max_owners)
{
	struct matcher_match m[MATCH_MAX_INDICATORS + MATCH_MAX_OWNERS];
	size_t n = matcher_lookup_domain(snap, name, len, m, sizeof(m) / sizeof(m[0]));
	unsigned nown = 0;

	hits->n = 0;
	hits->allowed = false;
	if (n > sizeof(m) / sizeof(m[0]))
		n = sizeof(m) / sizeof(m[0]);
	for (size_t i = 0; i < n; i++) {
		if (m[i].role == MATCHER_ROLE_ALLOW) {
			hits->allowed = true;
		} else if (m[i].role == MATCHER_ROLE_INDICATOR) {
			if (hits->n < MATCH_MAX_INDICATORS &&
			    indicator_live(snap, m[i].entry_id, ts_ns)) {
				hits->via[hits->n] = MATCH_VIA_NAME;
				hits->ind[hits->n++] = m[i].entry_id;
			}
		} else if (m[i].role == MATCHER_ROLE_ASSET && nown < max_owners) {
			const struct matcher_asset *as = matcher_asset(snap, m[i].entry_id);

			if (as != NULL)
				name_owners[nown++] = as->participant;
		}
	}
	return nown;
}

static bool owned_by(const struct owner *o, unsigned n, uint32_t participant)
{
	for (unsigned i = 0; i < n; i++)
		if (o[i].participant == participant)
			return true;
	return false;
}

static bool in_list(const uint32_t *v, unsigned n, uint32_t x)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/*
 * Emit kind for every owner of the asset side that does not also own the indicator side; when
 * no participant owns the asset side, for the operator if asked.
 */
static void emit_side(const struct match_env *env, enum match_kind kind,
		      const struct owner *asset_side, unsigned nasset, const struct owner *ind_side,
		      unsigned nind_side, const uint32_t *name_owners, unsigned nname_owners,
		      const struct hits *h, const struct match_alert *tmpl, struct seen *seen,
		      match_emit_fn *emit, void *arg)
{
	if (h->allowed)
		return;
	for (unsigned k = 0; k < h->n; k++) {
		struct match_alert a = *tmpl;

		a.kind = kind;
		a.indicator = h->ind[k];
		if (tmpl->via != MATCH_VIA_DNSMEM)
			a.via = h->via[k];
		if (nasset == 0) {
			if (env->operator_alerts && seen_first(seen, kind, MATCH_OPERATOR, a.indicator)) {
				a.participant = MATCH_OPERATOR;
				a.asset = MATCH_NO_ASSET;
				emit(arg, &a);
			}
			continue;
		}
		for (unsigned i = 0; i < nasset; i++) {
			uint32_t p = asset_side[i].participant;

			if (owned_by(ind_side, nind_side, p) ||
			    in_list(name_owners, nname_owners, p))
				continue; /* own traffic */
			if (!seen_first(seen, kind, p, a.indicator))
				continue;
			a.participant = p;
			a.asset = asset_side[i].asset;
			emit(arg, &a);
		}
	}
}

void match_flow_ends(const struct match_env *env, const struct matcher_snapshot *snap,
		     const struct dnsmem *dnsmem, const struct match_flow *f,
		     match_emit_fn *emit, void *arg)
{
	struct owner io[MATCH_MAX_OWNERS], ro[MATCH_MAX_OWNERS];
	struct hits ih, rh;
	struct seen seen = { .n = 0 };
	unsigned ni, nr;
	struct match_alert t;

	ni = classify_addr(env, snap, &f->init, f->init_asn, f->ts_ns, io, &ih);
	nr = classify_addr(env, snap, &f->resp, f->resp_asn, f->ts_ns, ro, &rh);

	memset(&t, 0, sizeof(t));
	t.has_ip = true;
	/* contact: I is P's asset, R an IP/ASN indicator */
	t.ip = f->resp;
	t.asn = f->resp_asn;
	emit_side(env, MATCH_CONTACT, io, ni, ro, nr, NULL, 0, &rh, &t, &seen, emit, arg);
	/* inbound: R is P's asset, I an IP/ASN indicator */
	t.ip = f->init;
	t.asn = f->init_asn;
	emit_side(env, MATCH_INBOUND, ro, nr, io, ni, NULL, 0, &ih, &t, &seen, emit, arg);

	/* contact through DNS memory: R was an answer to I for an indicator name. */
	if (dnsmem != NULL && !f->is_dns && (ni > 0 || env->operator_alerts) && !rh.allowed) {
		struct dnsmem_hit hit;

		if (!dnsmem_lookup(dnsmem, &f->init, &f->resp, f->first_seq, f->ts_ns, &hit))
			return;
		for (unsigned k = 0; k < hit.nnames; k++) {
			uint32_t name_owners[MATCH_MAX_OWNERS];
			unsigned nno;
			struct hits nh;
			unsigned q = hit.question[k];

			nno = classify_name(snap, hit.names + hit.off[k], hit.len[k], f->ts_ns, &nh,
					    name_owners, MATCH_MAX_OWNERS);
			memset(&t, 0, sizeof(t));
			t.via = MATCH_VIA_DNSMEM;
			t.has_ip = true;
			t.ip = f->resp;
			t.name = hit.names + hit.off[k];
			t.name_len = hit.len[k];
			t.resolved_name = hit.names + hit.off[q];
			t.resolved_len = hit.len[q];
			emit_side(env, MATCH_CONTACT, io, ni, ro, nr, name_owners, nno, &nh, &t,
				  &seen, emit, arg);
		}
	}
}

void match_flow_name(const struct match_env *env, const struct matcher_snapshot *snap,
		     const struct match_flow *f, const char *name, size_t len,
		     match_emit_fn *emit, void *arg)
{
	struct owner io[MATCH_MAX_OWNERS], ro[MATCH_MAX_OWNERS];
	uint32_t name_owners[MATCH_MAX_OWNERS];
	struct seen seen = { .n = 0 };
	struct hits nh;
	unsigned ni, nr, nno;
	struct match_alert t;

	if (f->is_dns)
		return;
	nno = classify_name(snap, name, len, f->ts_ns, &nh, name_owners, MATCH_MAX_OWNERS);
	if (nh.n == 0 || nh.allowed)
		return;
	ni = classify_addr(env, snap, &f->init, f->init_asn, f->ts_ns, io, NULL);
	nr = classify_addr(env, snap, &f->resp, f->resp_asn, f->ts_ns, ro, NULL);
	memset(&t, 0, sizeof(t));
	t.via = MATCH_VIA_NAME;
	t.name = name;
	t.name_len = len;
	emit_side(env, MATCH_CONTACT, io, ni, ro, nr, name_owners, nno, &nh, &t, &seen, emit,
		  arg);
}

void match_dns(const struct match_env *env, const struct matcher_snapshot *snap,
	       const struct dns_msg *m, const struct addr *src, const struct addr *dst,
	       uint32_t asking_asn, uint64_t ts_ns, const char *const *names_norm,
	       const size_t *names_len, const char *const *targets_norm, const size_t *targets_len,
	       match_emit_fn *emit, void *arg)
{
	const struct addr *asker = m->qr ? dst : src;
	struct owner ao[MATCH_MAX_OWNERS];
	struct seen seen = { .n = 0 };
	struct match_alert t;
	struct hits h;
	unsigned na;

	na = classify_addr(env, snap, asker, asking_asn, ts_ns, ao, NULL);
	if (na == 0 && !env->operator_alerts)
		return;
	memset(&t, 0, sizeof(t));
	for (unsigned i = 0; i < m->nq; i++) {
		uint32_t name_owners[MATCH_MAX_OWNERS];
		unsigned nno;

		if (names_norm[i] == NULL)
			continue;
		nno = classify_name(snap, names_norm[i], names_len[i], ts_ns, &h, name_owners, 0);
		(void)nno;
		t.via = MATCH_VIA_NAME;
		t.name = names_norm[i];
		t.name_len = names_len[i];
		t.has_ip = false;
		emit_side(env, MATCH_LOOKUP, ao, na, NULL, 0, NULL, 0, &h, &t, &seen, emit, arg);
	}
	if (!m->qr)
		return;
	for (unsigned i = 0; i < m->nan; i++) {
		const struct dns_rr *rr = &m->an[i];

		if (!rr->data_ok)
			continue;
		if (rr->type == 1 || rr->type == 28) { /* A, AAAA: IP indicators only, not ASN */
			struct owner none[MATCH_MAX_OWNERS];

			classify_addr(env, snap, &rr->ip, 0, ts_ns, none, &h);
			t.via = MATCH_VIA_IP;
			t.name = NULL;
			t.name_len = 0;
			t.has_ip = true;
			t.ip = rr->ip;
			emit_side(env, MATCH_LOOKUP, ao, na, NULL, 0, NULL, 0, &h, &t, &seen, emit,
				  arg);
		} else if (rr->type == 5 && targets_norm[i] != NULL) { /* CNAME */
			uint32_t name_owners[MATCH_MAX_OWNERS];

			classify_name(snap, targets_norm[i], targets_len[i], ts_ns, &h, name_owners,
				      0);
			t.via = MATCH_VIA_NAME;
			t.name = targets_norm[i];
			t.name_len = targets_len[i];
			t.has_ip = false;
			emit_side(env, MATCH_LOOKUP, ao, na, NULL, 0, NULL, 0, &h, &t, &seen, emit,
				  arg);
		}
	}
}
