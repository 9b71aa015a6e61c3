/*
 * Observation encoder: one JSON object per line, ECS names as nested objects, for the
 * datasets tipoff.flow, tipoff.dns, tipoff.tls, tipoff.http and tipoff.quic (docs/
 * observations.md is the field reference, a public contract). Hand-written for the packet
 * path: each line is built in a buffer the worker owns and handed to a line callback
 * (the worker's outq). Nothing is allocated after obs_new.
 */
#ifndef TIPOFF_SENSOR_OBS_H
#define TIPOFF_SENSOR_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor/dns.h"
#include "sensor/flow.h"
#include "sensor/names.h"
#include "sensor/pkt.h"

#define OBS_LINE_MAX (256 * 1024) /* default line buffer: a DNS message with 128 long answers */

/* Receives each finished line (without newline; not NUL-terminated; borrowed for the call). */
typedef void obs_line_fn(void *arg, const char *line, size_t len);

struct obs_ctx;

/*
 * Create a worker's encoder. worker_id goes into event.id after a per-process random prefix,
 * observer_name (copied) into observer.name, line_size is the buffer size (0: OBS_LINE_MAX).
 * Every line goes to line(arg, ...). Returns NULL on allocation failure.
 */
struct obs_ctx *obs_new(unsigned worker_id, const char *observer_name, size_t line_size,
                        obs_line_fn *line, void *arg);
void obs_free(struct obs_ctx *o); /* accepts NULL */

/*
 * Write the tipoff.flow record of f, which ended for why. community_id is the flow's
 * network.community_id, protocol its network.protocol (NULL or "" to leave it out).
 * Returns false when the line did not fit the buffer (nothing was written).
 */
bool obs_flow(struct obs_ctx *o, const struct flow *f, const char *community_id,
              const char *protocol, enum flow_end_reason why);

/*
 * Write one tipoff.dns line for message m carried by packet p (source/destination are p's
 * sender and receiver), in a flow with the given transport and community_id. Returns false
 * when the line did not fit.
 */
bool obs_dns(struct obs_ctx *o, const struct pkt *p, const char *community_id,
             const struct dns_msg *m);

/*
 * Write a tipoff.tls / tipoff.http / tipoff.quic line (by kind) for a name the initiator of f
 * sent in a packet at ts_ns: source is the initiator. name/len are the bytes as seen.
 * Returns false when the line did not fit.
 */
bool obs_name(struct obs_ctx *o, uint64_t ts_ns, const struct flow *f, const char *community_id,
              enum names_kind kind, const uint8_t *name, size_t len);

/*
 * RFC 3339 UTC time with microseconds ("2020-01-01T00:00:00.123456Z") of ts_ns into buf
 * (>= 28 bytes). Returns the length (27).
 */
size_t obs_time_text(uint64_t ts_ns, char *buf);

/*
 * Text of bytes as seen, for JSON: bytes outside 0x21..0x7e and '\' become \DDD (decimal,
 * like DNS presentation form), then '"' and '\' are JSON-escaped. Writes at most size - 1
 * characters and a NUL; returns the length the whole text needs (like snprintf).
 */
size_t obs_escape_name(const uint8_t *name, size_t len, char *buf, size_t size);

#endif
