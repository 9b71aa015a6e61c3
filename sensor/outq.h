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

#endif
