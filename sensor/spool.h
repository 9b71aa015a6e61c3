/*
 * On-disk spool of one acknowledged sink (unix socket, Redis Stream): every alert is appended
 * here before it is sent and removed only once the peer acknowledged it, so alerts survive a
 * peer that is away, slow or silent, and a sensor restart; they are replayed in order.
 * Used by the alert output thread only (sensor/sinks.c); nothing here is thread-safe.
 *
 * Layout of a spool folder (see docs/sinks.md): segment files NNNNNNNNNNNNNNNN.seg (16 hex
 * digits, increasing) of records [magic u32][len u32][crc32c u32][len bytes], little endian;
 * a file `ack` holding the position of the oldest unacknowledged record; a `lock` file.
 */
#ifndef TIPOFF_SENSOR_SPOOL_H
#define TIPOFF_SENSOR_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool; /* opaque; owned by the output thread */

struct spool_opts {
	uint64_t max_bytes;     /* cap on segment bytes on disk; 0: 1 GiB */
	uint64_t segment_bytes; /* a segment is closed once it reaches this size; 0: 16 MiB */
	size_t max_record;      /* longest record accepted; 0: 1 MiB */
};

struct spool_stats {
	uint64_t backlog_alerts; /* records not yet acknowledged (sent or not) */
	uint64_t backlog_bytes;  /* their payload bytes */
	uint64_t unsent_alerts;  /* of the backlog, records not handed out by spool_next yet */
	uint64_t disk_bytes;     /* bytes in segment files (includes acked records of the newest) */
	uint64_t segments;       /* segment files */
	uint64_t appended;       /* records appended since open */
	uint64_t acked;          /* records acknowledged since open */
	uint64_t overflow;     /* appends refused by the size cap (the newest record is dropped) */
	uint64_t write_errors; /* appends that failed on I/O (record dropped, file kept intact) */
	uint64_t corrupt;      /* damaged or truncated records found and skipped */
	uint64_t recovered;    /* unacknowledged records found when the spool was opened */
};

/*
 * Open (creating it if needed) the spool in folder dir and recover its state: segments fully
 * acknowledged are deleted; every record after the acknowledged position is checked, and a
 * damaged or truncated record ends its segment (the file is truncated there, earlier records
 * are kept and the damage is counted in `corrupt`). Takes an exclusive lock on the folder.
 * opts may be NULL for the defaults. On success *out belongs to the caller (spool_close).
 * Returns 0, -EBUSY (another process holds the folder), -ENOMEM, or another -errno.
 */
int spool_open(const char *dir, const struct spool_opts *opts, struct spool **out);

/* Persist the acknowledged position, flush data to disk and free sp (accepts NULL). */
void spool_close(struct spool *sp);

/*
 * Append one record of len bytes at the end. Returns 0; -ENOSPC when the size cap would be
 * exceeded (counted in `overflow`; older records are untouched); -EMSGSIZE when len is over
 * max_record; or -errno of a failed write (counted in `write_errors`, the segment is cut back to
 * its last whole record).
 */
int spool_append(struct spool *sp, const char *rec, size_t len);

/*
 * Copy the oldest record not yet handed out into buf (cap bytes, at least max_record) and
 * advance the send position. Returns 1 with *len set, 0 when every record has been handed
 * out, or a -errno on a read failure; -EMSGSIZE when cap is too small, with *len set to the
 * size needed (nothing is consumed: call again with a larger buffer).
 */
int spool_next(struct spool *sp, char *buf, size_t cap, size_t *len);

/* Every record handed out but not acknowledged will be handed out again (peer went away). */
void spool_rewind(struct spool *sp);

/*
 * The oldest record handed out by spool_next is acknowledged (or rejected) by the peer and is
 * removed; a segment is deleted once all its records are. Returns 0, or -EINVAL when no record
 * is outstanding (a caller bug), or -errno of a read failure.
 */
int spool_ack(struct spool *sp);

/*
 * Make appended records durable (fdatasync) and persist the acknowledged position (written
 * to a temporary file and renamed over `ack`). The output thread calls it about once a second
 * and at stop. Returns 0 or the first -errno.
 */
int spool_sync(struct spool *sp);

/* Fill *st with the spool's counters. */
void spool_get_stats(const struct spool *sp, struct spool_stats *st);

#endif
