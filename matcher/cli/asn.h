/*
 * tipoff-rules' ASN database adapter (asn.c, the CLI's only libmaxminddb user): address ->
 * AS number for the matcher's matcher_asn_fn callback (--asn-db FILE).
 */
#ifndef TIPOFF_RULES_ASN_H
#define TIPOFF_RULES_ASN_H

#include "matcher.h"

struct rules_asn; /* an open database */

/* Open a GeoLite2-ASN / DB-IP ASN compatible database. Returns 0 or a negative errno, with a
 * message in *why (static text or from libmaxminddb). */
int rules_asn_open(const char *path, struct rules_asn **out, const char **why);
void rules_asn_close(struct rules_asn *a); /* accepts NULL */

/* matcher_asn_fn: the AS number of ip, 0 when unknown. arg is the struct rules_asn. */
uint32_t rules_asn_lookup(void *arg, const struct matcher_ip *ip);

#endif
