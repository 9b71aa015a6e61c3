/*
 * A worker's channel to the output thread for observation lines. The worker appends whole
 * lines to a chunk it owns; full chunks travel to the output thread through a lock-free
 * single-producer/single-consumer ring and come back empty through another. Reading files the
 * worker waits for a free chunk (nothing is lost); live, a full ring is a counted drop.
 */
#ifndef TIPOFF_SENSOR_OUTQ_H
#define TIPOFF_SENSOR_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outq;

/*
 * Append one line (len bytes, without the newline; outq adds it). Called by the owning worker
 * only. Never allocates. Lines longer than a chunk are dropped and counted.
 */
void outq_line(struct outq *q, const char *line, size_t len);

/* Hand the partly filled chunk to the output thread (end of input, or periodically live). */
void outq_flush(struct outq *q);

/*
 * Create a queue of nchunks chunks of chunk_size bytes each. wait_when_full: the producer
 * waits for a free chunk (reading files) instead of dropping (live). NULL on ENOMEM.
 */
struct outq *outq_new(unsigned nchunks, size_t chunk_size, bool wait_when_full);
void outq_free(struct outq *q); /* accepts NULL; the writer must be stopped */

/* Lines dropped (queue full live, or longer than a chunk). Any thread; relaxed. */
uint64_t outq_dropped(const struct outq *q);

struct out_writer; /* the output thread: drains every queue into one file descriptor */

/*
 * Start the output thread writing the chunks of qs[0..n) to fd (not closed by the writer).
 * The queues must outlive the writer. Returns NULL with errno on failure.
 */
struct out_writer *out_writer_start(int fd, struct outq *const *qs, unsigned n);

/*
 * Stop the writer after it has written everything queued (producers must have called
 * outq_flush and stopped). Returns 0, or -errno of the first write error.
 */
int out_writer_stop(struct out_writer *w);

#endif
