/*
 * DNS response -> DNS memory ties. For an A/AAAA record owned by name N, the chain is the
 * question name followed by the CNAME targets that lead from it to N; when the answer section
 * does not connect them (out-of-order or partial answers), the address is tied to the question
 * name and to N.
 */
#include "sensor/dnsrec.h"

#include <string.h>

#define DNSREC_MAX_CHAIN 8

struct dnsrec_norm {
	char text[DNS_NAME_TEXT_MAX];
	size_t len;
};

/* Scratch space: one writer thread, so static storage is safe and keeps the stack small. */
static _Thread_local struct dnsrec_norm owner_norm[DNS_MAX_ANSWERS];
static _Thread_local struct dnsrec_norm target_norm[DNS_MAX_ANSWERS];

static bool same(const struct dnsrec_norm *a, const struct dnsrec_norm *b)
{
	return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

void dnsrec_record(struct dnsmem *mem, const struct dns_msg *m, const struct addr *asker,
		   uint64_t seq, uint64_t ts_ns)
{
	struct dnsrec_norm q;
	bool any = false;

	if (!m->qr || m->nq == 0 || m->nan == 0)
		return;
	for (unsigned i = 0; i < m->nan; i++)
		if ((m->an[i].type == 1 || m->an[i].type == 28) && m->an[i].data_ok)
			any = true;
	if (!any)
		return;
	q.len = dns_name_norm(&m->q[0].name, q.text, sizeof(q.text));
	for (unsigned i = 0; i < m->nan; i++) {
		owner_norm[i].len = dns_name_norm(&m->an[i].name, owner_norm[i].text,
						  sizeof(owner_norm[i].text));
		target_norm[i].len = 0;
		if (m->an[i].type == 5 && m->an[i].data_ok)
			target_norm[i].len = dns_name_norm(&m->an[i].target, target_norm[i].text,
							   sizeof(target_norm[i].text));
	}
	for (unsigned i = 0; i < m->nan; i++) {
		const struct dns_rr *rr = &m->an[i];
		const char *names[DNSREC_MAX_CHAIN + 2];
		size_t lens[DNSREC_MAX_CHAIN + 2];
		const struct dnsrec_norm *cur = &q;
		unsigned n = 0;
		uint64_t ttl_ns;

		if ((rr->type != 1 && rr->type != 28) || !rr->data_ok)
			continue;
		names[n] = q.text;
		lens[n++] = q.len;
		/* Follow CNAMEs from the question until the A record's owner. */
		for (unsigned step = 0; step < DNSREC_MAX_CHAIN && !same(cur, &owner_norm[i]);
		     step++) {
			const struct dnsrec_norm *next = NULL;

			for (unsigned j = 0; j < m->nan && next == NULL; j++)
				if (m->an[j].type == 5 && target_norm[j].len > 0 &&
				    same(&owner_norm[j], cur))
					next = &target_norm[j];
			if (next == NULL)
				break;
			cur = next;
			names[n] = cur->text;
			lens[n++] = cur->len;
		}
		if (!same(cur, &owner_norm[i])) {
			/* not connected: tie to the question and to the owner only */
			n = 1;
			names[n] = owner_norm[i].text;
			lens[n++] = owner_norm[i].len;
		}
		ttl_ns = (uint64_t)rr->ttl * 1000000000ull;
		dnsmem_record(mem, asker, &rr->ip, names, lens, n, seq, ts_ns,
			      ts_ns + (ttl_ns > DNSREC_MIN_TTL_NS ? ttl_ns : DNSREC_MIN_TTL_NS));
	}
}
