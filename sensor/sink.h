/*
 * Alert sinks: one struct of function pointers shared by every delivery channel (stdout, file,
 * the notifier's unix socket, a Redis Stream) and the state common to all of them. Internal to
 * the alert output (sensor/sinks.c and sensor/sink_*.c); main uses sensor/sinks.h.
 *
 * Threads: every function here runs on the alert output thread only, except the counters in
 * struct sink_counters, which the stats thread reads with relaxed loads.
 */
#ifndef TIPOFF_SENSOR_SINK_H
#define TIPOFF_SENSOR_SINK_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sink;
struct spool;

/*
 * Answer of an acknowledging peer for the oldest line it was sent and has not answered yet:
 * accepted (OK, XADD id) or rejected with a reason (reason_len bytes, not NUL-terminated; from
 * the peer, so untrusted). Set by sinks.c; sinks call it through sink__answer().
 */
typedef void sink_answer_fn(struct sink *s, bool accepted, const char *reason, size_t reason_len);

struct sink_ops {
	const char *scheme; /* "-", "file", "unix", "redis" */
	bool acked;         /* the peer acknowledges every line: sinks.c spools for this sink */
	/*
	 * Parse arg (the spec after "scheme:"; the whole spec for redis) and set up s->priv. No
	 * connection is made yet. Returns 0 or -EINVAL (bad spec, logged), -ENOMEM, -errno.
	 */
	int (*open)(struct sink *s, const char *arg);
	/* Lines send() would take now (0 while disconnected or when the window is full). */
	size_t (*room)(struct sink *s);
	/*
	 * Queue one line (len bytes, no newline) for the peer; it is written by poll(). Only
	 * called when room() > 0. Returns 0 or -errno (line lost; unacknowledged sinks only).
	 */
	int (*send)(struct sink *s, const char *line, size_t len);
	/*
	 * Make progress without blocking: connect or reconnect (after backoff), write queued
	 * lines, read answers and report each through sink__answer(). `revents` are the events
	 * poll(2) reported for pollfd() (0 when the caller did not wait). On losing the peer the
	 * sink forgets every unanswered line and sets s->lost; sinks.c then sends them again.
	 */
	void (*poll)(struct sink *s, short revents, uint64_t now_ms);
	/* The descriptor to wait on and the events wanted, or -1 when there is none now. */
	int (*pollfd)(struct sink *s, short *events);
	/* Lines given to send() that are not written (unacked sinks) or not answered (acked). */
	size_t (*pending)(const struct sink *s);
	/* Flush buffered output (files); NULL when there is nothing to flush. */
	void (*flush)(struct sink *s);
	/* Close connections and files and free s->priv. */
	void (*close)(struct sink *s);
};

/* Counters of one sink: written by the output thread only, read by anyone (relaxed). */
struct sink_counters {
	atomic_uint_fast64_t sent;           /* lines written to the peer (resends included) */
	atomic_uint_fast64_t acked;          /* lines the peer accepted (OK, XADD id) */
	atomic_uint_fast64_t rejected;       /* lines the peer refused (ERR, Redis error) */
	atomic_uint_fast64_t dropped;        /* lines lost: spool full, spool or write error */
	atomic_uint_fast64_t resent;         /* lines sent again after a lost connection */
	atomic_uint_fast64_t reconnects;     /* connections made after the first */
	atomic_uint_fast64_t connect_fails;  /* connection attempts that failed */
	atomic_uint_fast64_t garbage;        /* unparsable or unexpected answers (reset follows) */
	atomic_uint_fast64_t timeouts;       /* resets because answers stopped coming */
	atomic_uint_fast64_t spool_alerts;   /* unacknowledged alerts in the spool */
	atomic_uint_fast64_t spool_bytes;    /* their bytes */
	atomic_uint_fast64_t spool_overflow; /* alerts refused by the spool's size cap */
	atomic_bool connected;
};

#define SINK_MAX_REASONS 32

struct sink {
	const struct sink_ops *ops;
	char *spec;             /* as given on the command line (owned) */
	char *label;            /* spec without secrets or paths' noise, for logs and stats */
	void *priv;             /* the channel's own state */
	struct spool *spool;    /* acked sinks: their spool (owned by sinks.c) */
	sink_answer_fn *answer; /* set by sinks.c */
	bool lost;              /* set by the sink: unanswered lines must be sent again */
	bool ever_connected;
	bool down_logged;     /* the current outage was logged */
	unsigned backoff_ms;  /* current reconnect delay */
	uint64_t next_try_ms; /* no connection attempt before this time */
	/* Settings from struct sinks_opts. */
	unsigned backoff_min_ms, backoff_max_ms, ack_timeout_ms, window;
	size_t max_line;
	/* Hashes of the rejection reasons already logged (each is logged once). */
	uint64_t reasons[SINK_MAX_REASONS];
	unsigned nreasons;
	struct sink_counters c;
};

extern const struct sink_ops sink_stdout_ops;
extern const struct sink_ops sink_file_ops;
extern const struct sink_ops sink_unix_ops;
extern const struct sink_ops sink_redis_ops;

/* Helpers for the sink_*.c files, defined in sinks.c; output thread only. */

/* Monotonic clock in milliseconds. */
uint64_t sink__now_ms(void);

/* Relaxed add to a counter of s (single writer: the output thread). */
void sink__count(atomic_uint_fast64_t *c, uint64_t n);

/* true when a connection attempt is allowed now (backoff elapsed). */
bool sink__may_connect(const struct sink *s, uint64_t now_ms);

/* A connection is up: count a reconnect, log the recovery once (an answer resets the backoff). */
void sink__connected(struct sink *s);

/*
 * The connection failed or was lost (why: short text for the log): set s->lost, count, back off
 * (doubling up to backoff_max_ms) and log the outage once (not every retry).
 */
void sink__disconnected(struct sink *s, uint64_t now_ms, const char *why, bool was_connected);

/* Report the peer's answer for the oldest unanswered line. */
void sink__answer(struct sink *s, bool accepted, const char *reason, size_t reason_len);

/*
 * The buffered line writer of sink_file.c, shared with sink_stdout.c: sink__file_setup makes
 * s->priv write to fd (closed at the end when own_fd); the others implement struct sink_ops.
 */
int sink__file_setup(struct sink *s, int fd, bool own_fd);
size_t sink__file_room(struct sink *s);
int sink__file_send(struct sink *s, const char *line, size_t len);
void sink__file_poll(struct sink *s, short revents, uint64_t now_ms);
int sink__file_pollfd(struct sink *s, short *events);
size_t sink__file_pending(const struct sink *s);
void sink__file_flush(struct sink *s);
void sink__file_close(struct sink *s);

#endif
