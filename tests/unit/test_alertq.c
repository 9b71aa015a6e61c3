/*
 * Unit tests of sensor/alertq.c (worker -> alert output thread queue) and, under load, of the
 * alert output thread of sensor/sinks.c with a file sink. `test_alertq concurrency` runs only
 * the multi-threaded cases (ctest label `concurrency`, run under TSan in CI).
 */
#include "check.h"
#include "sensor/alertq.h"
#include "sensor/sinks.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_alertq_pops_lines_in_push_order_with_their_bytes(void)
{
	struct alertq *q = alertq_new(4, 16);
	const char *p;
	size_t len;

	CHECK(q != NULL);
	CHECK(alertq_peek(q, &len) == NULL);
	CHECK(alertq_push(q, "first", 5));
	CHECK(alertq_push(q, "", 0));
	CHECK(alertq_push(q, "third\nline", 10));
	CHECK_EQ(alertq_count(q), 3);
	p = alertq_peek(q, &len);
	CHECK_EQ(len, 5);
	CHECK_MEM(p, "first", 5);
	/* peek without release returns the same line */
	CHECK(alertq_peek(q, &len) == p);
	alertq_release(q);
	p = alertq_peek(q, &len);
	CHECK(p != NULL);
	CHECK_EQ(len, 0);
	alertq_release(q);
	p = alertq_peek(q, &len);
	CHECK_EQ(len, 10);
	CHECK_MEM(p, "third\nline", 10);
	alertq_release(q);
	CHECK(alertq_peek(q, &len) == NULL);
	CHECK_U64(alertq_pushed(q), 3);
	CHECK_U64(alertq_dropped(q), 0);
	alertq_free(q);
}

static void test_alertq_full_queue_drops_and_counts_newest(void)
{
	/* 3 slots round up to 4 */
	struct alertq *q = alertq_new(3, 8);
	size_t len;
	const char *p;

	for (int i = 0; i < 4; i++) {
		char c = (char)('a' + i);

		CHECK(alertq_push(q, &c, 1));
	}
	CHECK(alertq_is_full(q));
	CHECK(!alertq_push(q, "e", 1));
	CHECK(!alertq_push(q, "f", 1));
	CHECK_U64(alertq_pushed(q), 4);
	CHECK_U64(alertq_dropped(q), 2);
	CHECK_U64(alertq_too_long(q), 0);
	/* one slot freed: the next push fits again, older lines untouched */
	p = alertq_peek(q, &len);
	CHECK_EQ(p[0], 'a');
	alertq_release(q);
	CHECK(!alertq_is_full(q));
	CHECK(alertq_push(q, "g", 1));
	for (const char *want = "bcdg"; *want; want++) {
		p = alertq_peek(q, &len);
		CHECK(p != NULL && len == 1 && p[0] == *want);
		alertq_release(q);
	}
	CHECK(alertq_peek(q, &len) == NULL);
	alertq_free(q);
}

static void test_alertq_line_longer_than_slot_is_dropped_and_counted(void)
{
	struct alertq *q = alertq_new(2, 8);
	size_t len;

	CHECK(alertq_push(q, "12345678", 8)); /* exactly max_line fits */
	CHECK(!alertq_push(q, "123456789", 9));
	CHECK_U64(alertq_pushed(q), 1);
	CHECK_U64(alertq_dropped(q), 1);
	CHECK_U64(alertq_too_long(q), 1);
	CHECK(alertq_peek(q, &len) != NULL);
	CHECK_EQ(len, 8);
	alertq_free(q);
	CHECK(alertq_new(0, 8) == NULL);
	CHECK(alertq_new(8, 0) == NULL);
	alertq_free(NULL);
}

/* ----- concurrency --------------------------------------------------------------------- */

#define NPROD    4
#define PER_PROD 200000

struct producer {
	struct alertq *q;
	unsigned id;
	uint64_t attempts, ok;
	pthread_t t;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	char line[64];

	for (uint64_t i = 0; i < PER_PROD; i++) {
		int n = snprintf(line, sizeof(line), "{\"p\":%u,\"seq\":%llu}", p->id,
		                 (unsigned long long)i);

		p->attempts++;
		if (alertq_push(p->q, line, (size_t)n))
			p->ok++;
	}
	return NULL;
}

/* Pop every queued line of producer i, checking its shape and order; returns lines popped. */
static size_t drain_one(struct producer *p, uint64_t *popped, uint64_t *next_seq,
                        uint64_t *bad_line, uint64_t *bad_order)
{
	const char *l;
	size_t len, got = 0;

	while ((l = alertq_peek(p->q, &len)) != NULL) {
		unsigned id;
		unsigned long long seq;
		char tmp[64];

		memcpy(tmp, l, len < 63 ? len : 63);
		tmp[len < 63 ? len : 63] = '\0';
		if (sscanf(tmp, "{\"p\":%u,\"seq\":%llu}", &id, &seq) != 2 || id != p->id)
			(*bad_line)++;
		else if (*popped > 0 && seq < *next_seq)
			(*bad_order)++;
		else
			*next_seq = seq + 1;
		(*popped)++;
		alertq_release(p->q);
		got++;
	}
	return got;
}

/* Producer threads push while one consumer pops from every queue: nothing lost or reordered. */
static void test_alertq_concurrent_producers_exact_accounting(void)
{
	struct producer p[NPROD];
	uint64_t popped[NPROD] = { 0 }, next_seq[NPROD] = { 0 }, bad_order = 0, bad_line = 0;

	for (unsigned i = 0; i < NPROD; i++) {
		p[i] = (struct producer){ .q = alertq_new(256, 64), .id = i };
		CHECK(p[i].q != NULL);
	}
	for (unsigned i = 0; i < NPROD; i++)
		pthread_create(&p[i].t, NULL, producer_main, &p[i]);
	for (;;) {
		size_t got = 0;
		unsigned finished = 0;

		for (unsigned i = 0; i < NPROD; i++)
			got += drain_one(&p[i], &popped[i], &next_seq[i], &bad_line, &bad_order);
		for (unsigned i = 0; i < NPROD; i++)
			if (alertq_pushed(p[i].q) + alertq_dropped(p[i].q) == PER_PROD)
				finished++;
		if (got == 0 && finished == NPROD)
			break;
	}
	for (unsigned i = 0; i < NPROD; i++) {
		pthread_join(p[i].t, NULL);
		/* after the join every push is visible: take what the loop above did not see */
		drain_one(&p[i], &popped[i], &next_seq[i], &bad_line, &bad_order);
		CHECK_U64(p[i].attempts, PER_PROD);
		CHECK_U64(alertq_pushed(p[i].q), p[i].ok);
		CHECK_U64(alertq_pushed(p[i].q) + alertq_dropped(p[i].q), PER_PROD);
		CHECK_U64(popped[i], alertq_pushed(p[i].q));
		alertq_free(p[i].q);
	}
	CHECK_U64(bad_line, 0);
	CHECK_U64(bad_order, 0);
}

struct stats_reader {
	struct sinks *ss;
	atomic_bool stop;
	unsigned reads;
};

static void *stats_main(void *arg)
{
	struct stats_reader *r = arg;

	while (!atomic_load(&r->stop)) {
		json_t *j = sinks_stats_json(r->ss);

		json_decref(j);
		r->reads++;
		usleep(1000);
	}
	return NULL;
}

/*
 * Workers -> alertq -> output thread -> file sink, with a stats reader running: every line
 * accepted by a queue is in the file exactly once, each producer's lines in push order.
 */
static void test_sinks_file_sink_receives_every_accepted_line_in_order(void)
{
	char dir[] = "/tmp/test_alertq_XXXXXX", spec[300], path[256];
	struct producer p[NPROD];
	struct alertq *qs[NPROD];
	struct sinks *ss = NULL;
	struct stats_reader r = { 0 };
	pthread_t st;
	const char *specs[1];
	struct sinks_opts o = { 0 };
	uint64_t lines[NPROD] = { 0 }, next_seq[NPROD] = { 0 }, bad = 0, accepted = 0;
	FILE *f;
	char buf[128];
	struct sink_stats s0;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/alerts.json", dir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	specs[0] = spec;
	for (unsigned i = 0; i < NPROD; i++) {
		p[i] = (struct producer){ .q = alertq_new(1024, 64), .id = i };
		qs[i] = p[i].q;
	}
	CHECK_EQ(sinks_new(specs, 1, &o, &ss), 0);
	CHECK_EQ(sinks_start(ss, qs, NPROD), 0);
	r.ss = ss;
	atomic_init(&r.stop, false);
	pthread_create(&st, NULL, stats_main, &r);
	for (unsigned i = 0; i < NPROD; i++)
		pthread_create(&p[i].t, NULL, producer_main, &p[i]);
	for (unsigned i = 0; i < NPROD; i++) {
		pthread_join(p[i].t, NULL);
		accepted += p[i].ok;
	}
	CHECK_EQ(sinks_stop(ss, 5000), 0);
	atomic_store(&r.stop, true);
	pthread_join(st, NULL);
	sinks_get_stats(ss, 0, &s0);
	CHECK_U64(s0.sent, accepted);
	CHECK_U64(s0.dropped, 0);
	CHECK_U64(sinks_queue_dropped(ss), (uint64_t)NPROD * PER_PROD - accepted);
	sinks_free(ss);

	f = fopen(path, "r");
	CHECK(f != NULL);
	while (f != NULL && fgets(buf, sizeof(buf), f) != NULL) {
		unsigned id;
		unsigned long long seq;

		if (sscanf(buf, "{\"p\":%u,\"seq\":%llu}\n", &id, &seq) != 2 || id >= NPROD ||
		    (lines[id] > 0 && seq < next_seq[id])) {
			bad++;
			continue;
		}
		next_seq[id] = seq + 1;
		lines[id]++;
	}
	if (f != NULL)
		fclose(f);
	CHECK_U64(bad, 0);
	for (unsigned i = 0; i < NPROD; i++) {
		CHECK_U64(lines[i], p[i].ok);
		alertq_free(p[i].q);
	}
	unlink(path);
	rmdir(dir);
}

static void test_sinks_rejects_bad_specs_and_accepts_good_ones(void)
{
	static const char *const bad[] = {
		"tcp://127.0.0.1:9",              /* unknown scheme */
		"unix:",                          /* no path */
		"file:",                          /* no path */
		"redis://127.0.0.1",              /* no port */
		"redis://127.0.0.1:0",            /* port 0 */
		"redis://127.0.0.1:65536",        /* port too large */
		"redis://:6379",                  /* no host */
		"redis://127.0.0.1:6379/x",       /* DB not a number */
		"redis://127.0.0.1:6379?db=2",    /* unknown parameter */
		"redis://127.0.0.1:6379?stream=", /* empty stream */
		"redis://[::1:6379",              /* unclosed bracket */
	};
	static const char *const good[] = {
		"redis://127.0.0.1:6379",
		"redis://127.0.0.1:6379/",
		"redis://127.0.0.1:6379/2?stream=alerts",
		"redis://[::1]:6379?stream=x",
		"unix:/nonexistent/notifier.sock", /* nothing connects before the thread runs */
	};
	char dir[] = "/tmp/test_sinks_spec_XXXXXX", cmd[128];
	struct sinks_opts o = { 0 };
	struct sinks *ss = NULL;
	const char *spec;

	CHECK(mkdtemp(dir) != NULL);
	o.spool_dir = dir;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spec = bad[i];
		ss = NULL;
		if (sinks_new(&spec, 1, &o, &ss) != -EINVAL)
			CHECK_FAIL_("spec %s was not refused", spec);
		CHECK(ss == NULL);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		spec = good[i];
		ss = NULL;
		if (sinks_new(&spec, 1, &o, &ss) != 0)
			CHECK_FAIL_("spec %s was refused", spec);
		if (ss != NULL)
			CHECK_EQ(sinks_count(ss), 1);
		sinks_free(ss);
	}
	/* acknowledged sinks need a spool folder; stdout does not */
	o.spool_dir = NULL;
	spec = "unix:/nonexistent/notifier.sock";
	CHECK_EQ(sinks_new(&spec, 1, &o, &ss), -EINVAL);
	CHECK_EQ(sinks_new(NULL, 0, &o, &ss), 0); /* default: "-" */
	CHECK_EQ(sinks_count(ss), 1);
	sinks_free(ss);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ(system(cmd), 0);
}

int main(int argc, char **argv)
{
	bool only_concurrency = argc > 1 && strcmp(argv[1], "concurrency") == 0;

	if (!only_concurrency) {
		RUN(test_alertq_pops_lines_in_push_order_with_their_bytes);
		RUN(test_alertq_full_queue_drops_and_counts_newest);
		RUN(test_alertq_line_longer_than_slot_is_dropped_and_counted);
		RUN(test_sinks_rejects_bad_specs_and_accepts_good_ones);
	}
	RUN(test_alertq_concurrent_producers_exact_accounting);
	RUN(test_sinks_file_sink_receives_every_accepted_line_in_order);
	return check_summary();
}
