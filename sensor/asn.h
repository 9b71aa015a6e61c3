/*
 * ASN enrichment: address -> autonomous system number and organisation, from a MaxMind DB
 * (GeoLite2-ASN or DB-IP ASN compatible: autonomous_system_number and
 * autonomous_system_organization). asn.c is the only file that includes maxminddb.h.
 */
#ifndef TIPOFF_SENSOR_ASN_H
#define TIPOFF_SENSOR_ASN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor/pkt.h"

struct asn_db; /* opaque; read-only once open, so lookups may run on any thread */

/*
 * Open the database at path. Returns 0 and *out, or -EINVAL (not a MaxMind DB, or one without
 * an ASN field) / -ENOENT / -EIO / -ENOMEM with a reason in err.
 */
int asn_db_open(const char *path, struct asn_db **out, char *err, size_t errlen);
void asn_db_close(struct asn_db *db); /* accepts NULL */

/*
 * AS number of a, and its organisation copied into org (NUL-terminated, truncated to orgsize;
 * may be NULL). Returns false when the address is not in the database. Never allocates.
 */
bool asn_lookup(const struct asn_db *db, const struct addr *a, uint32_t *asn, char *org,
		size_t orgsize);

#endif
