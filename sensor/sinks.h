/*
 * The alert output: parses the --alerts sink specs, owns the sinks and their spools, and runs
 * the one alert output thread, which pops alert lines from every worker's alertq and delivers
 * each to every sink. Workers only ever call alertq_push() (sensor/alertq.h); main starts and
 * stops the thread and reads the counters from its stats thread.
 */
#ifndef TIPOFF_SENSOR_SINKS_H
#define TIPOFF_SENSOR_SINKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct alertq;
struct sinks; /* opaque; created by main, one output thread */

struct sinks_opts {
	const char *spool_dir;        /* --spool DIR; required for unix: and redis: sinks */
	uint64_t spool_max_bytes;     /* per sink (--spool-max-mb); 0: 1 GiB */
	uint64_t spool_segment_bytes; /* 0: 16 MiB */
	size_t max_line;              /* longest alert line; 0: 64 KiB (match alertq_new) */
	unsigned window;              /* unanswered lines per connection; 0: 1024 */
	unsigned backoff_min_ms;      /* first reconnect delay; 0: 100 */
	unsigned backoff_max_ms;      /* reconnect delay cap; 0: 5000 */
	unsigned ack_timeout_ms;      /* reset when the oldest line waits longer; 0: 30000 */
	unsigned sync_interval_ms;    /* spool fdatasync + ack persist period; 0: 1000 */
	/*
	 * Optional stage on the output thread before the sinks: gets each record as pushed and
	 * returns the length of the line to deliver with *out pointing at it (valid until the
	 * next call), or 0 to drop it (the sensor's cross-flow suppression, sensor/suppress.h).
	 */
	size_t (*filter)(void *arg, const char *rec, size_t len, const char **out);
	void *filter_arg;
};

/*
 * Create the sinks for specs[0..n) ("-", "file:PATH", "unix:PATH",
 * "redis://HOST:PORT[/DB][?stream=NAME]"; n == 0 means "-"), open files and spools (spool
 * folders DIR/<sink name>, replaying what a previous run left there). Nothing connects yet.
 * Start-up errors are logged with the spec. On success *out belongs to the caller
 * (sinks_free). Returns 0, -EINVAL (bad spec, or a spooled sink without spool_dir), -EBUSY
 * (a spool folder in use by another process), -ENOMEM or another -errno.
 */
int sinks_new(const char *const *specs, unsigned n, const struct sinks_opts *opts,
              struct sinks **out);

/*
 * Start the output thread consuming qs[0..nq) (each alertq's one consumer from now on). The
 * array is copied; the queues must outlive sinks_stop. Returns 0 or -errno.
 */
int sinks_start(struct sinks *ss, struct alertq *const *qs, unsigned nq);

/*
 * Drain and stop the output thread: every line already pushed is taken from the queues
 * (producers must have stopped), then the thread keeps delivering until every sink has
 * written or had acknowledged everything, or drain_ms milliseconds have passed. Spools are
 * synced; what is unacknowledged stays spooled for the next start. Returns 0 when everything
 * was delivered, -ETIMEDOUT when some spool still holds alerts. Call once.
 */
int sinks_stop(struct sinks *ss, unsigned drain_ms);

/* Close every sink and spool and free ss (accepts NULL). The thread must be stopped. */
void sinks_free(struct sinks *ss);

/* true when nothing is queued, spooled or unanswered anywhere (any thread; may be stale). */
bool sinks_are_idle(const struct sinks *ss);

/* Per-sink figures as read by sinks_get_stats (any thread, relaxed). */
struct sink_stats {
	const char *name; /* the sink's label (borrowed from ss) */
	uint64_t sent, acked, rejected, dropped, resent, reconnects, connect_fails, garbage,
	        timeouts, spool_alerts, spool_bytes, spool_overflow;
	bool connected;
	bool spooled;
};

/* Number of sinks. */
unsigned sinks_count(const struct sinks *ss);

/* Counters of sink i (0 <= i < sinks_count). Any thread. */
void sinks_get_stats(const struct sinks *ss, unsigned i, struct sink_stats *st);

/* Alerts dropped because a worker's queue was full (summed over the queues). Any thread. */
uint64_t sinks_queue_dropped(const struct sinks *ss);

/*
 * The counters as a new JSON object (the caller owns the reference):
 * {"queue_dropped": N, "sinks": [{"name": ..., "sent": ..., ...}, ...]}. Any thread.
 */
json_t *sinks_stats_json(const struct sinks *ss);

#endif
