/*
 * The alert output thread and the sink registry: --alerts specs become sinks; one thread pops
 * alert lines from every worker's alertq and fans each out to every sink.
 *
 * Design note. Unacknowledged sinks (stdout, file) get each line directly through
 * ops->send. Acknowledged sinks (unix socket, Redis) never get a line from a queue: the line is
 * appended to the sink's spool, and the sink is fed from the spool's send position, at most
 * ops->room() lines at a time (the window of unanswered lines). Each answer (sink__answer)
 * removes the oldest record from the spool, whether accepted or rejected; when the sink loses
 * its peer it sets s->lost and the spool rewinds to the oldest unanswered record, so everything
 * unanswered is sent again, in order, on the next connection (at-least-once; the notifier
 * deduplicates by event.id). Every socket, file and spool is touched by this thread only; the
 * stats thread reads the relaxed counters in struct sink_counters.
 */
#include "sensor/sinks.h"
#include "common/log.h"
#include "sensor/alertq.h"
#include "sensor/sink.h"
#include "sensor/spool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SINKS_MAX              16
#define SINKS_DEFAULT_MAX_LINE (64u << 10)
#define SINKS_DEFAULT_WINDOW   1024u
#define SINKS_BATCH            256u /* lines taken from one queue before looking at the others */
#define SINKS_IDLE_WAIT_MS     2

struct sinks {
	struct sinks_opts o;
	struct sink *s[SINKS_MAX];
	unsigned n;
	struct alertq **qs; /* copied at start */
	unsigned nq;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	uint64_t drain_ms; /* set before stop is raised */
	int result;        /* 0 or -ETIMEDOUT; written by the thread, read after join */
	char *buf;         /* output thread: record buffer for spool_next */
	size_t bufcap;
	uint64_t *resend_left; /* per sink: lines still to be counted as resent */
};

/* ----- helpers for the sinks (sink.h) ----------------------------------------------------- */

uint64_t sink__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sink__count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static void sink_set(atomic_uint_fast64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static uint64_t sink_get(const atomic_uint_fast64_t *c)
{
	return atomic_load_explicit((atomic_uint_fast64_t *)c, memory_order_relaxed);
}

bool sink__may_connect(const struct sink *s, uint64_t now_ms)
{
	return now_ms >= s->next_try_ms;
}

void sink__connected(struct sink *s)
{
	if (s->ever_connected)
		sink__count(&s->c.reconnects, 1);
	if (s->down_logged)
		log_notice("sinks: connected again (sink=%s)", s->label);
	else if (!s->ever_connected)
		log_info("sinks: connected (sink=%s)", s->label);
	s->ever_connected = true;
	s->down_logged = false;
	/*
	 * The backoff is reset by the first answer: a peer that accepts and hangs up at once
	 * must not be hammered.
	 */
	atomic_store_explicit(&s->c.connected, true, memory_order_relaxed);
}

void sink__disconnected(struct sink *s, uint64_t now_ms, const char *why, bool was_connected)
{
	s->lost = true;
	atomic_store_explicit(&s->c.connected, false, memory_order_relaxed);
	if (!was_connected)
		sink__count(&s->c.connect_fails, 1);
	if (!s->down_logged) {
		log_warn("sinks: peer unavailable, spooling (sink=%s reason=%s)", s->label, why);
		s->down_logged = true;
	}
	if (s->backoff_ms == 0)
		s->backoff_ms = s->backoff_min_ms;
	else if (s->backoff_ms < s->backoff_max_ms / 2)
		s->backoff_ms *= 2;
	else
		s->backoff_ms = s->backoff_max_ms;
	s->next_try_ms = now_ms + s->backoff_ms;
}

void sink__answer(struct sink *s, bool accepted, const char *reason, size_t reason_len)
{
	s->backoff_ms = 0; /* the peer works: the next outage starts with the shortest delay */
	s->answer(s, accepted, reason, reason_len);
}

/* ----- answers ----------------------------------------------------------------------------- */

static uint64_t sinks_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

/* Log a rejection reason the first time it is seen (the reason only, never the alert). */
static void sinks_log_reason(struct sink *s, const char *reason, size_t len)
{
	char clean[128];
	size_t n = 0;
	uint64_t h = sinks_hash(reason, len);

	for (unsigned i = 0; i < s->nreasons; i++)
		if (s->reasons[i] == h)
			return;
	if (s->nreasons == SINK_MAX_REASONS) {
		log_once(LOG_WARNING, "sinks: too many distinct rejection reasons, no more logged");
		return;
	}
	s->reasons[s->nreasons++] = h;
	for (size_t i = 0; i < len && n + 1 < sizeof(clean); i++) {
		unsigned char c = (unsigned char)reason[i];

		clean[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	clean[n] = '\0';
	log_warn("sinks: alert rejected by peer, not retried (sink=%s reason=%s)", s->label,
	         n ? clean : "-");
}

static void sinks_on_answer(struct sink *s, bool accepted, const char *reason, size_t len)
{
	int rc = spool_ack(s->spool);

	if (rc != 0) {
		/* An answer with nothing outstanding is the sink's bug, not the peer's. */
		log_err("sinks: answer without an outstanding alert (sink=%s rc=%d)", s->label, rc);
		abort();
	}
	if (accepted) {
		sink__count(&s->c.acked, 1);
	} else {
		sink__count(&s->c.rejected, 1);
		sinks_log_reason(s, reason, len);
	}
}

/* ----- set-up ------------------------------------------------------------------------------ */

static const struct sink_ops *sinks_ops_for(const char *spec, const char **arg)
{
	if (strcmp(spec, "-") == 0) {
		*arg = "";
		return &sink_stdout_ops;
	}
	if (strncmp(spec, "file:", 5) == 0) {
		*arg = spec + 5;
		return &sink_file_ops;
	}
	if (strncmp(spec, "unix:", 5) == 0) {
		*arg = spec + 5;
		return &sink_unix_ops;
	}
	if (strncmp(spec, "redis://", 8) == 0) {
		*arg = spec;
		return &sink_redis_ops;
	}
	return NULL;
}

/* The spool folder name of a sink: readable, and unique per spec through a hash. */
static void sinks_spool_name(const char *spec, char *out, size_t cap)
{
	size_t n = 0;

	for (const char *p = spec; *p != '\0' && n < 48; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '-';

		if (!ok)
			c = '_';
		if (n > 0 && c == '_' && out[n - 1] == '_')
			continue;
		out[n++] = c;
	}
	snprintf(out + n, cap - n, "-%08llx",
	         (unsigned long long)(sinks_hash(spec, strlen(spec)) & 0xffffffffu));
}

static void sinks_free_sink(struct sink *s)
{
	if (s == NULL)
		return;
	if (s->ops != NULL && s->priv != NULL)
		s->ops->close(s);
	spool_close(s->spool);
	free(s->spec);
	free(s);
}

static int sinks_add(struct sinks *ss, const char *spec)
{
	const char *arg;
	const struct sink_ops *ops = sinks_ops_for(spec, &arg);
	struct sink *s;
	int rc;

	if (ops == NULL) {
		log_err("sinks: unknown sink (spec=%s; expected -, file:PATH, unix:PATH or "
		        "redis://HOST:PORT[/DB][?stream=NAME])",
		        spec);
		return -EINVAL;
	}
	if (ss->n == SINKS_MAX) {
		log_err("sinks: too many sinks (max=%d)", SINKS_MAX);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->spec = strdup(spec);
	if (s->spec == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->label = s->spec;
	s->ops = ops;
	s->answer = sinks_on_answer;
	s->backoff_min_ms = ss->o.backoff_min_ms;
	s->backoff_max_ms = ss->o.backoff_max_ms;
	s->ack_timeout_ms = ss->o.ack_timeout_ms;
	s->window = ss->o.window;
	s->max_line = ss->o.max_line;
	rc = ops->open(s, arg);
	if (rc != 0)
		goto out_free;
	if (ops->acked) {
		char name[96], path[4096];
		struct spool_opts so = {
			.max_bytes = ss->o.spool_max_bytes,
			.segment_bytes = ss->o.spool_segment_bytes,
			.max_record = ss->o.max_line,
		};
		struct spool_stats st;

		if (ss->o.spool_dir == NULL) {
			log_err("sinks: this sink needs a spool folder, give --spool DIR (sink=%s)",
			        spec);
			rc = -EINVAL;
			goto out_free;
		}
		sinks_spool_name(spec, name, sizeof(name));
		if (snprintf(path, sizeof(path), "%s/%s", ss->o.spool_dir, name) >=
		    (int)sizeof(path)) {
			rc = -ENAMETOOLONG;
			goto out_free;
		}
		rc = spool_open(path, &so, &s->spool);
		if (rc != 0) {
			log_err("sinks: cannot open spool (sink=%s path=%s error=%s)", spec, path,
			        strerror(-rc));
			goto out_free;
		}
		spool_get_stats(s->spool, &st);
		if (st.recovered > 0 || st.corrupt > 0)
			log_notice("sinks: spool recovered (sink=%s alerts=%llu damaged=%llu)",
			           spec, (unsigned long long)st.recovered,
			           (unsigned long long)st.corrupt);
		sink_set(&s->c.spool_alerts, st.backlog_alerts);
		sink_set(&s->c.spool_bytes, st.backlog_bytes);
	}
	ss->s[ss->n++] = s;
	return 0;
out_free:
	sinks_free_sink(s);
	return rc;
}

int sinks_new(const char *const *specs, unsigned n, const struct sinks_opts *opts,
              struct sinks **out)
{
	static const char *const dflt[] = { "-" };
	struct sinks *ss = calloc(1, sizeof(*ss));
	int rc;

	if (ss == NULL)
		return -ENOMEM;
	if (opts != NULL)
		ss->o = *opts;
	if (ss->o.max_line == 0)
		ss->o.max_line = SINKS_DEFAULT_MAX_LINE;
	if (ss->o.window == 0)
		ss->o.window = SINKS_DEFAULT_WINDOW;
	if (ss->o.backoff_min_ms == 0)
		ss->o.backoff_min_ms = 100;
	if (ss->o.backoff_max_ms == 0)
		ss->o.backoff_max_ms = 5000;
	if (ss->o.backoff_max_ms < ss->o.backoff_min_ms)
		ss->o.backoff_max_ms = ss->o.backoff_min_ms;
	if (ss->o.ack_timeout_ms == 0)
		ss->o.ack_timeout_ms = 30000;
	if (ss->o.sync_interval_ms == 0)
		ss->o.sync_interval_ms = 1000;
	if (n == 0) {
		specs = dflt;
		n = 1;
	}
	if (ss->o.spool_dir != NULL && mkdir(ss->o.spool_dir, 0700) == -1 && errno != EEXIST) {
		rc = -errno;
		log_err("sinks: cannot create spool folder (path=%s error=%s)", ss->o.spool_dir,
		        strerror(errno));
		goto out_free;
	}
	for (unsigned i = 0; i < n; i++) {
		rc = sinks_add(ss, specs[i]);
		if (rc != 0)
			goto out_free;
	}
	ss->bufcap = ss->o.max_line;
	ss->buf = malloc(ss->bufcap);
	ss->resend_left = calloc(ss->n, sizeof(*ss->resend_left));
	if (ss->buf == NULL || ss->resend_left == NULL) {
		rc = -ENOMEM;
		goto out_free;
	}
	atomic_init(&ss->stop, false);
	*out = ss;
	return 0;
out_free:
	sinks_free(ss);
	return rc;
}

void sinks_free(struct sinks *ss)
{
	if (ss == NULL)
		return;
	for (unsigned i = 0; i < ss->n; i++)
		sinks_free_sink(ss->s[i]);
	free(ss->qs);
	free(ss->buf);
	free(ss->resend_left);
	free(ss);
}

/* ----- the output thread ------------------------------------------------------------------ */

static void sinks_publish_spool(struct sink *s)
{
	struct spool_stats st;

	spool_get_stats(s->spool, &st);
	sink_set(&s->c.spool_alerts, st.backlog_alerts);
	sink_set(&s->c.spool_bytes, st.backlog_bytes);
	sink_set(&s->c.spool_overflow, st.overflow);
}

/* One alert line to every sink. */
static void sinks_fan_out(struct sinks *ss, const char *line, size_t len)
{
	/* A line break inside an alert would split it in two on every line protocol. */
	if (memchr(line, '\n', len) != NULL || memchr(line, '\r', len) != NULL) {
		for (unsigned i = 0; i < ss->n; i++)
			sink__count(&ss->s[i]->c.dropped, 1);
		log_once(LOG_ERR,
		         "sinks: alert line with a line break dropped (a bug in the encoder)");
		return;
	}
	for (unsigned i = 0; i < ss->n; i++) {
		struct sink *s = ss->s[i];
		int rc;

		if (s->ops->acked) {
			rc = spool_append(s->spool, line, len);
			if (rc == -ENOSPC) {
				sink__count(&s->c.dropped, 1);
				log_once(LOG_WARNING, "sinks: spool full, dropping newest alerts "
				                      "(see spool_overflow in stats)");
			} else if (rc != 0) {
				sink__count(&s->c.dropped, 1);
				log_once(LOG_ERR, "sinks: cannot append to spool (error=%s)",
				         strerror(-rc));
			}
			continue;
		}
		if (s->ops->room(s) == 0 && s->ops->flush != NULL)
			s->ops->flush(s);
		rc = s->ops->send(s, line, len);
		if (rc == 0)
			sink__count(&s->c.sent, 1);
		else
			sink__count(&s->c.dropped, 1);
	}
}

/* Take up to SINKS_BATCH lines from each queue; returns how many were taken. */
static size_t sinks_pump(struct sinks *ss)
{
	size_t moved = 0;

	for (unsigned q = 0; q < ss->nq; q++) {
		const char *line;
		size_t len;

		for (unsigned k = 0; k < SINKS_BATCH; k++) {
			line = alertq_peek(ss->qs[q], &len);
			if (line == NULL)
				break;
			if (ss->o.filter != NULL)
				len = ss->o.filter(ss->o.filter_arg, line, len, &line);
			if (len > 0)
				sinks_fan_out(ss, line, len);
			alertq_release(ss->qs[q]);
			moved++;
		}
	}
	return moved;
}

/* Feed an acknowledged sink from its spool as far as its window allows. */
static void sinks_feed(struct sinks *ss, unsigned i)
{
	struct sink *s = ss->s[i];
	size_t room;

	if (s->lost) {
		struct spool_stats st;

		spool_get_stats(s->spool, &st);
		/* Lines handed out but unanswered go out again. A failed reconnect sets lost again
		 * with nothing handed out since the last rewind: keep the count still to resend. */
		if (st.backlog_alerts - st.unsent_alerts > ss->resend_left[i])
			ss->resend_left[i] = st.backlog_alerts - st.unsent_alerts;
		spool_rewind(s->spool);
		s->lost = false;
	}
	room = s->ops->room(s);
	while (room-- > 0) {
		size_t len;
		int rc = spool_next(s->spool, ss->buf, ss->bufcap, &len);

		if (rc == -EMSGSIZE) {
			char *nb = realloc(ss->buf, len);

			if (nb == NULL)
				break;
			ss->buf = nb;
			ss->bufcap = len;
			rc = spool_next(s->spool, ss->buf, ss->bufcap, &len);
		}
		if (rc < 0) {
			log_once(LOG_ERR, "sinks: cannot read spool (sink=%s error=%s)", s->label,
			         strerror(-rc));
			break;
		}
		if (rc == 0)
			break;
		if (s->ops->send(s, ss->buf, len) != 0)
			break;
		sink__count(&s->c.sent, 1);
		if (ss->resend_left[i] > 0) {
			ss->resend_left[i]--;
			sink__count(&s->c.resent, 1);
		}
	}
}

static void sinks_service(struct sinks *ss, unsigned i, short revents, uint64_t now)
{
	struct sink *s = ss->s[i];

	s->ops->poll(s, revents, now);
	if (s->ops->acked) {
		sinks_feed(ss, i);
		/* Push out what was just queued without waiting for the next round. */
		s->ops->poll(s, 0, now);
		sinks_publish_spool(s);
	}
}

/* true when every sink has delivered everything (spools empty, nothing pending). */
static bool sinks_drained(struct sinks *ss)
{
	for (unsigned i = 0; i < ss->n; i++) {
		struct sink *s = ss->s[i];

		if (s->ops->pending(s) > 0)
			return false;
		if (s->ops->acked) {
			struct spool_stats st;

			spool_get_stats(s->spool, &st);
			if (st.backlog_alerts > 0)
				return false;
		}
	}
	return true;
}

static void sinks_sync(struct sinks *ss)
{
	for (unsigned i = 0; i < ss->n; i++) {
		struct sink *s = ss->s[i];

		if (s->ops->flush != NULL)
			s->ops->flush(s);
		if (s->spool != NULL) {
			int rc = spool_sync(s->spool);

			if (rc != 0)
				log_once(LOG_ERR, "sinks: cannot sync spool (sink=%s error=%s)",
				         s->label, strerror(-rc));
		}
	}
}

static void *sinks_main(void *arg)
{
	struct sinks *ss = arg;
	struct pollfd pfd[SINKS_MAX];
	int map[SINKS_MAX];
	uint64_t last_sync = sink__now_ms(), deadline = 0;
	bool draining = false;
	sigset_t pipe_set;

	/* A peer closing under us must give EPIPE, not kill the sensor. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);

	for (;;) {
		bool stopping = atomic_load_explicit(&ss->stop, memory_order_acquire);
		size_t moved = sinks_pump(ss);
		uint64_t now = sink__now_ms();
		int nfd = 0;

		if (stopping && !draining && moved == 0) {
			/* Producers had stopped before stop was raised: the queues are empty. */
			draining = true;
			deadline = now + ss->drain_ms;
		}
		for (unsigned i = 0; i < ss->n; i++)
			sinks_service(ss, i, 0, now);
		if (now - last_sync >= ss->o.sync_interval_ms) {
			sinks_sync(ss);
			last_sync = now;
		}
		if (draining) {
			if (sinks_drained(ss)) {
				ss->result = 0;
				break;
			}
			if (now >= deadline) {
				ss->result = -ETIMEDOUT;
				break;
			}
		}
		if (moved > 0)
			continue;
		/* Idle: hand buffered lines of files and stdout to the kernel now. */
		for (unsigned i = 0; i < ss->n; i++)
			if (!ss->s[i]->ops->acked && ss->s[i]->ops->flush != NULL)
				ss->s[i]->ops->flush(ss->s[i]);
		for (unsigned i = 0; i < ss->n; i++) {
			short ev = 0;
			int fd = ss->s[i]->ops->pollfd(ss->s[i], &ev);

			if (fd < 0)
				continue;
			pfd[nfd].fd = fd;
			pfd[nfd].events = ev;
			pfd[nfd].revents = 0;
			map[nfd++] = (int)i;
		}
		if (poll(pfd, (nfds_t)nfd, SINKS_IDLE_WAIT_MS) > 0) {
			now = sink__now_ms();
			for (int k = 0; k < nfd; k++)
				if (pfd[k].revents != 0)
					sinks_service(ss, (unsigned)map[k], pfd[k].revents, now);
		}
		{
			/* Consume a SIGPIPE left pending by a write to a closed peer. */
			struct timespec zero = { 0, 0 };

			while (sigtimedwait(&pipe_set, NULL, &zero) > 0) {
			}
		}
	}
	sinks_sync(ss);
	for (unsigned i = 0; i < ss->n; i++)
		if (ss->s[i]->spool != NULL)
			sinks_publish_spool(ss->s[i]);
	return NULL;
}

int sinks_start(struct sinks *ss, struct alertq *const *qs, unsigned nq)
{
	int rc;

	ss->qs = calloc(nq ? nq : 1, sizeof(*ss->qs));
	if (ss->qs == NULL)
		return -ENOMEM;
	memcpy(ss->qs, qs, nq * sizeof(*ss->qs));
	ss->nq = nq;
	rc = pthread_create(&ss->thread, NULL, sinks_main, ss);
	if (rc != 0)
		return -rc;
	ss->started = true;
	return 0;
}

int sinks_stop(struct sinks *ss, unsigned drain_ms)
{
	if (!ss->started)
		return 0;
	ss->drain_ms = drain_ms;
	atomic_store_explicit(&ss->stop, true, memory_order_release);
	pthread_join(ss->thread, NULL);
	ss->started = false;
	return ss->result;
}

/* ----- stats ------------------------------------------------------------------------------- */

unsigned sinks_count(const struct sinks *ss)
{
	return ss->n;
}

void sinks_get_stats(const struct sinks *ss, unsigned i, struct sink_stats *st)
{
	const struct sink *s = ss->s[i];
	const struct sink_counters *c = &s->c;

	st->name = s->label;
	st->sent = sink_get(&c->sent);
	st->acked = sink_get(&c->acked);
	st->rejected = sink_get(&c->rejected);
	st->dropped = sink_get(&c->dropped);
	st->resent = sink_get(&c->resent);
	st->reconnects = sink_get(&c->reconnects);
	st->connect_fails = sink_get(&c->connect_fails);
	st->garbage = sink_get(&c->garbage);
	st->timeouts = sink_get(&c->timeouts);
	st->spool_alerts = sink_get(&c->spool_alerts);
	st->spool_bytes = sink_get(&c->spool_bytes);
	st->spool_overflow = sink_get(&c->spool_overflow);
	st->connected = atomic_load_explicit((atomic_bool *)&c->connected, memory_order_relaxed);
	st->spooled = s->ops->acked;
}

uint64_t sinks_queue_dropped(const struct sinks *ss)
{
	uint64_t n = 0;

	for (unsigned q = 0; q < ss->nq; q++)
		n += alertq_dropped(ss->qs[q]);
	return n;
}

bool sinks_are_idle(const struct sinks *ss)
{
	for (unsigned q = 0; q < ss->nq; q++)
		if (alertq_count(ss->qs[q]) > 0)
			return false;
	for (unsigned i = 0; i < ss->n; i++)
		if (sink_get(&ss->s[i]->c.spool_alerts) > 0)
			return false;
	return true;
}

json_t *sinks_stats_json(const struct sinks *ss)
{
	json_t *root = json_object(), *arr = json_array();

	if (root == NULL || arr == NULL) {
		json_decref(root);
		json_decref(arr);
		return NULL;
	}
	for (unsigned i = 0; i < ss->n; i++) {
		struct sink_stats st;
		json_t *o;

		sinks_get_stats(ss, i, &st);
		o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "name", st.name,
		              "sent", (json_int_t)st.sent, "acked", (json_int_t)st.acked,
		              "rejected", (json_int_t)st.rejected, "dropped",
		              (json_int_t)st.dropped, "resent", (json_int_t)st.resent, "reconnects",
		              (json_int_t)st.reconnects, "connect_fails",
		              (json_int_t)st.connect_fails, "garbage", (json_int_t)st.garbage,
		              "timeouts", (json_int_t)st.timeouts, "connected", st.connected);
		if (o != NULL && st.spooled)
			json_object_set_new(o, "spool",
			                    json_pack("{s:I,s:I,s:I}", "alerts",
			                              (json_int_t)st.spool_alerts, "bytes",
			                              (json_int_t)st.spool_bytes, "overflow",
			                              (json_int_t)st.spool_overflow));
		if (o != NULL)
			json_array_append_new(arr, o);
	}
	json_object_set_new(root, "queue_dropped",
	                    json_integer((json_int_t)sinks_queue_dropped(ss)));
	json_object_set_new(root, "sinks", arr);
	return root;
}
