/*
 * Feeding the DNS memory: the A/AAAA answers of a DNS response, tied for the asking host to the
 * question name and the CNAME chain that led to each address (DESIGN.md, "DNS memory").
 */
#ifndef TIPOFF_SENSOR_DNSREC_H
#define TIPOFF_SENSOR_DNSREC_H

#include <stdint.h>

#include "sensor/dns.h"
#include "sensor/dnsmem.h"
#include "sensor/pkt.h"

#define DNSREC_MIN_TTL_NS (3600ull * 1000000000ull) /* a tie lasts one hour or the TTL */

/*
 * Record every A/AAAA answer of response m (sent to the asking host asker at ts_ns, read as
 * number seq) in mem. Queries and messages without a question are ignored. Only the answer
 * section counts. Called by the single DNS-memory writer thread.
 */
void dnsrec_record(struct dnsmem *mem, const struct dns_msg *m, const struct addr *asker,
		   uint64_t seq, uint64_t ts_ns);

#endif
