/*
 * Observation lines from workers to the output thread.
 *
 * Design: each worker owns one struct outq. It fills the chunk it holds with whole lines; a
 * full chunk is pushed onto the queue's `full` SPSC ring and a new one is taken from the `free`
 * ring. The single output thread pops full chunks from every queue in turn, writes them with
 * write(2) and pushes them back onto `free`. So a worker never takes a lock or calls into the
 * kernel; when no free chunk is left it either waits (files: nothing may be lost) or drops the
 * line and counts it (live: capture must not stall). Lines never straddle chunks, so output
 * from several workers interleaves only at line boundaries.
 */
#include "common/stdout_lock.h"
#include "sensor/outq.h"
#include "sensor/spsc.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct chunk {
	size_t used;
	char data[]; /* chunk_size bytes */
};

struct outq {
	struct spsc full;        /* worker -> writer */
	struct spsc free;        /* writer -> worker */
	struct chunk *cur;       /* the chunk the worker fills; owned by the worker */
	struct chunk **all;      /* every chunk, for freeing */
	unsigned nchunks;
	size_t chunk_size;
	bool wait_when_full;
	atomic_uint_fast64_t dropped; /* written by the worker, read by anyone */
};

struct out_writer {
	pthread_t thread;
	int fd;
	struct outq *const *qs;
	unsigned n;
	atomic_bool stop;
	int err; /* first write error (-errno); read after join */
};

struct outq *outq_new(unsigned nchunks, size_t chunk_size, bool wait_when_full)
{
	struct outq *q;

	if (nchunks < 2)
		nchunks = 2;
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->nchunks = nchunks;
	q->chunk_size = chunk_size;
	q->wait_when_full = wait_when_full;
	atomic_init(&q->dropped, 0);
	q->all = calloc(nchunks, sizeof(*q->all));
	if (q->all == NULL)
		goto out_free_q;
	if (spsc_init(&q->full, nchunks) != 0)
		goto out_free_all;
	if (spsc_init(&q->free, nchunks) != 0)
		goto out_free_full;
	for (unsigned i = 0; i < nchunks; i++) {
		q->all[i] = malloc(sizeof(struct chunk) + chunk_size);
		if (q->all[i] == NULL)
			goto out_free_chunks;
		q->all[i]->used = 0;
		if (i > 0)
			spsc_push(&q->free, q->all[i]);
	}
	q->cur = q->all[0];
	return q;
out_free_chunks:
	for (unsigned i = 0; i < nchunks; i++)
		free(q->all[i]);
	spsc_destroy(&q->free);
out_free_full:
	spsc_destroy(&q->full);
out_free_all:
	free(q->all);
out_free_q:
	free(q);
	return NULL;
}

void outq_free(struct outq *q)
{
	if (q == NULL)
		return;
	for (unsigned i = 0; i < q->nchunks; i++)
		free(q->all[i]);
	spsc_destroy(&q->free);
	spsc_destroy(&q->full);
	free(q->all);
	free(q);
}

uint64_t outq_dropped(const struct outq *q)
{
	return atomic_load_explicit(&((struct outq *)q)->dropped, memory_order_relaxed);
}

static void outq_count_drop(struct outq *q)
{
	atomic_store_explicit(&q->dropped,
			      atomic_load_explicit(&q->dropped, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Pass the current chunk to the writer and take a free one; false if none could be had. */
static bool outq_swap(struct outq *q)
{
	void *next;

	while (!spsc_pop(&q->free, &next)) {
		if (!q->wait_when_full)
			return false;
		sched_yield();
	}
	/* full has room for every chunk, so this push cannot fail. */
	spsc_push(&q->full, q->cur);
	q->cur = next;
	q->cur->used = 0;
	return true;
}

void outq_line(struct outq *q, const char *line, size_t len)
{
	if (len + 1 > q->chunk_size) {
		outq_count_drop(q);
		return;
	}
	if (q->cur->used + len + 1 > q->chunk_size && !outq_swap(q)) {
		outq_count_drop(q);
		return;
	}
	memcpy(q->cur->data + q->cur->used, line, len);
	q->cur->data[q->cur->used + len] = '\n';
	q->cur->used += len + 1;
}

void outq_flush(struct outq *q)
{
	if (q->cur->used == 0)
		return;
	outq_swap(q);
}

static int write_all(int fd, const char *p, size_t n)
{
	int rc = 0;

	/* stdout may be shared with the alert sink "-": keep lines whole */
	if (fd == STDOUT_FILENO)
		stdout_lock();
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	if (fd == STDOUT_FILENO)
		stdout_unlock();
	return rc;
}

/* Write every chunk queued now; returns how many were written. */
static unsigned out_writer_drain(struct out_writer *w)
{
	unsigned done = 0;

	for (unsigned i = 0; i < w->n; i++) {
		struct outq *q = w->qs[i];
		void *p;

		while (spsc_pop(&q->full, &p)) {
			struct chunk *c = p;
			int rc = write_all(w->fd, c->data, c->used);

			if (rc != 0 && w->err == 0)
				w->err = rc;
			c->used = 0;
			spsc_push(&q->free, c);
			done++;
		}
	}
	return done;
}

static void *out_writer_main(void *arg)
{
	struct out_writer *w = arg;
	const struct timespec nap = { 0, 200000 }; /* 200 us when idle */

	for (;;) {
		bool stopping = atomic_load(&w->stop);

		if (out_writer_drain(w) == 0) {
			if (stopping)
				break;
			nanosleep(&nap, NULL);
		}
	}
	return NULL;
}

struct out_writer *out_writer_start(int fd, struct outq *const *qs, unsigned n)
{
	struct out_writer *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return NULL;
	w->fd = fd;
	w->qs = qs;
	w->n = n;
	atomic_init(&w->stop, false);
	rc = pthread_create(&w->thread, NULL, out_writer_main, w);
	if (rc != 0) {
		free(w);
		errno = rc;
		return NULL;
	}
	return w;
}

int out_writer_stop(struct out_writer *w)
{
	int err;

	if (w == NULL)
		return 0;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	err = w->err;
	free(w);
	return err;
}
