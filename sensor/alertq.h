/*
 * A worker's channel to the alert output thread: a bounded lock-free single-producer /
 * single-consumer queue of alert lines in preallocated slots. The worker copies a line in and
 * never waits or allocates; a full queue (or a line longer than a slot) is a counted drop.
 * The output thread (sensor/sinks.c) pops lines and fans them out to every sink.
 */
#ifndef TIPOFF_SENSOR_ALERTQ_H
#define TIPOFF_SENSOR_ALERTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct alertq; /* opaque; one producer thread and one consumer thread */

/*
 * Create a queue of nslots slots (rounded up to a power of two, at least 2) holding lines of at
 * most max_line bytes each (without the newline). Everything is allocated here, so pushing
 * never allocates. Returns NULL on ENOMEM or when nslots or max_line is 0.
 */
struct alertq *alertq_new(unsigned nslots, size_t max_line);

/* Free q (accepts NULL). Neither side may use it any more. */
void alertq_free(struct alertq *q);

/*
 * Producer: copy one alert line (len bytes, no trailing newline; the sinks add one) into the
 * queue. Never blocks, never allocates. Returns true when queued; false when the queue was full
 * or the line longer than max_line, and the line is then counted as dropped.
 * Called by the one producer thread of q only.
 */
bool alertq_push(struct alertq *q, const char *line, size_t len);

/* Producer or anyone: true when a push now would find no free slot (may be stale at once). */
bool alertq_is_full(const struct alertq *q);

/*
 * Consumer: the oldest queued line, or NULL when the queue is empty. *len receives its length.
 * The line is borrowed: it stays valid and unchanged until alertq_release(q). Calling peek again
 * without a release returns the same line. Called by the one consumer thread of q only.
 */
const char *alertq_peek(struct alertq *q, size_t *len);

/* Consumer: give the slot of the line returned by the last alertq_peek back to the producer. */
void alertq_release(struct alertq *q);

/* Lines queued now (either side; may be stale at once). */
size_t alertq_count(const struct alertq *q);

/* Counters, any thread, relaxed. pushed: accepted lines; dropped: full queue or too long. */
uint64_t alertq_pushed(const struct alertq *q);
uint64_t alertq_dropped(const struct alertq *q);
/* Of alertq_dropped(), the lines that were longer than max_line. */
uint64_t alertq_too_long(const struct alertq *q);

#endif
