/*
 * Test driver for the alert sinks: reads alert lines on stdin, pushes each into an alertq as a
 * worker would, and lets the real alert output thread (sensor/sinks.c) deliver them to the
 * --alerts sinks, with the spool under --spool. At end of input it drains: exit 0 once every
 * sink has delivered (and had acknowledged) everything, 3 when --timeout-ms passed first.
 * Final stats JSON (sinks_stats_json plus push timings) go to --stats FILE or stderr; with
 * --stats-interval-ms the file is rewritten periodically (atomically) while running.
 * Used by tests/integration/test_sinks.py.
 */
#include "common/log.h"
#include "sensor/alertq.h"
#include "sensor/sinks.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DRIVER_MAX_SINKS 16

struct driver {
	struct sinks *ss;
	struct alertq *q;
	const char *stats_path;
	unsigned stats_interval_ms;
	atomic_bool done;
	/* written by the main thread, read by the stats thread */
	atomic_uint_fast64_t lines, push_max_ns, push_total_ns;
	atomic_bool input_done;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static json_t *driver_stats(struct driver *d, int drained)
{
	json_t *j = sinks_stats_json(d->ss);

	json_object_set_new(j, "lines", json_integer((json_int_t)atomic_load(&d->lines)));
	json_object_set_new(j, "pushed", json_integer((json_int_t)alertq_pushed(d->q)));
	json_object_set_new(j, "push_max_ns",
	                    json_integer((json_int_t)atomic_load(&d->push_max_ns)));
	json_object_set_new(j, "push_total_ns",
	                    json_integer((json_int_t)atomic_load(&d->push_total_ns)));
	json_object_set_new(j, "input_done", json_boolean(atomic_load(&d->input_done)));
	if (drained >= 0)
		json_object_set_new(j, "drained", json_boolean(drained));
	return j;
}

static void driver_write_stats(struct driver *d, int drained)
{
	json_t *j = driver_stats(d, drained);
	char tmp[4096];

	if (d->stats_path == NULL) {
		json_dumpf(j, stderr, JSON_COMPACT);
		fputc('\n', stderr);
	} else if (snprintf(tmp, sizeof(tmp), "%s.tmp", d->stats_path) < (int)sizeof(tmp)) {
		if (json_dump_file(j, tmp, JSON_COMPACT) == 0)
			rename(tmp, d->stats_path);
	}
	json_decref(j);
}

static void *driver_stats_main(void *arg)
{
	struct driver *d = arg;
	struct timespec nap = { (time_t)(d->stats_interval_ms / 1000),
		                (long)(d->stats_interval_ms % 1000) * 1000000L };

	while (!atomic_load(&d->done)) {
		driver_write_stats(d, -1);
		nanosleep(&nap, NULL);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: sink_driver [--alerts SINK]... [--spool DIR] [--spool-max-mb N]\n"
	                "  [--spool-segment-kb N] [--queue SLOTS] [--drop] [--timeout-ms MS]\n"
	                "  [--backoff-max-ms MS] [--ack-timeout-ms MS] [--window N]\n"
	                "  [--stats FILE] [--stats-interval-ms MS] [--verbose]  < alert lines\n");
}

static unsigned long num_arg(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s) {
		fprintf(stderr, "sink_driver: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	enum {
		O_ALERTS = 256,
		O_SPOOL,
		O_SPOOL_MAX,
		O_SPOOL_SEG,
		O_QUEUE,
		O_DROP,
		O_TIMEOUT,
		O_BACKOFF,
		O_ACK_TIMEOUT,
		O_WINDOW,
		O_STATS,
		O_STATS_INT,
		O_VERBOSE
	};
	static const struct option lo[] = {
		{ "alerts", required_argument, NULL, O_ALERTS },
		{ "spool", required_argument, NULL, O_SPOOL },
		{ "spool-max-mb", required_argument, NULL, O_SPOOL_MAX },
		{ "spool-segment-kb", required_argument, NULL, O_SPOOL_SEG },
		{ "queue", required_argument, NULL, O_QUEUE },
		{ "drop", no_argument, NULL, O_DROP },
		{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
		{ "backoff-max-ms", required_argument, NULL, O_BACKOFF },
		{ "ack-timeout-ms", required_argument, NULL, O_ACK_TIMEOUT },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "stats", required_argument, NULL, O_STATS },
		{ "stats-interval-ms", required_argument, NULL, O_STATS_INT },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ NULL, 0, NULL, 0 },
	};
	const char *specs[DRIVER_MAX_SINKS];
	unsigned nspecs = 0, queue = 4096, timeout_ms = 10000;
	bool drop = false;
	int level = LOG_NOTICE, c, rc;
	struct sinks_opts o = { 0 };
	struct driver d = { 0 };
	pthread_t st;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_ALERTS:
			if (nspecs == DRIVER_MAX_SINKS) {
				fprintf(stderr, "sink_driver: too many sinks\n");
				return 2;
			}
			specs[nspecs++] = optarg;
			break;
		case O_SPOOL:
			o.spool_dir = optarg;
			break;
		case O_SPOOL_MAX:
			o.spool_max_bytes = (uint64_t)num_arg(optarg) << 20;
			break;
		case O_SPOOL_SEG:
			o.spool_segment_bytes = (uint64_t)num_arg(optarg) << 10;
			break;
		case O_QUEUE:
			queue = (unsigned)num_arg(optarg);
			break;
		case O_DROP:
			drop = true;
			break;
		case O_TIMEOUT:
			timeout_ms = (unsigned)num_arg(optarg);
			break;
		case O_BACKOFF:
			o.backoff_max_ms = (unsigned)num_arg(optarg);
			break;
		case O_ACK_TIMEOUT:
			o.ack_timeout_ms = (unsigned)num_arg(optarg);
			break;
		case O_WINDOW:
			o.window = (unsigned)num_arg(optarg);
			break;
		case O_STATS:
			d.stats_path = optarg;
			break;
		case O_STATS_INT:
			d.stats_interval_ms = (unsigned)num_arg(optarg);
			break;
		case O_VERBOSE:
			level = LOG_DEBUG;
			break;
		default:
			usage();
			return 2;
		}
	}
	log_init("sink_driver", level, false);
	o.max_line = 64 << 10;
	d.q = alertq_new(queue, o.max_line);
	if (d.q == NULL)
		return 1;
	rc = sinks_new(specs, nspecs, &o, &d.ss);
	if (rc != 0) {
		fprintf(stderr, "sink_driver: cannot set up sinks: %s\n", strerror(-rc));
		return 2;
	}
	rc = sinks_start(d.ss, &d.q, 1);
	if (rc != 0) {
		fprintf(stderr, "sink_driver: cannot start: %s\n", strerror(-rc));
		return 1;
	}
	if (d.stats_path != NULL && d.stats_interval_ms > 0)
		pthread_create(&st, NULL, driver_stats_main, &d);

	while ((n = getline(&line, &cap, stdin)) != -1) {
		uint64_t t0, dt;

		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n == 0)
			continue;
		for (;;) {
			bool ok;

			t0 = now_ns();
			ok = alertq_push(d.q, line, (size_t)n);
			dt = now_ns() - t0;
			atomic_fetch_add(&d.push_total_ns, dt);
			if (dt > atomic_load(&d.push_max_ns))
				atomic_store(&d.push_max_ns, dt);
			if (ok || drop)
				break;
			/* A test driver may wait for room; a worker never does. */
			sched_yield();
		}
		atomic_fetch_add(&d.lines, 1);
	}
	free(line);
	atomic_store(&d.input_done, true);

	rc = sinks_stop(d.ss, timeout_ms);
	if (d.stats_path != NULL && d.stats_interval_ms > 0) {
		atomic_store(&d.done, true);
		pthread_join(st, NULL);
	}
	driver_write_stats(&d, rc == 0);
	sinks_free(d.ss);
	alertq_free(d.q);
	return rc == 0 ? 0 : 3;
}
