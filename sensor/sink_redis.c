/*
 * The `redis://HOST:PORT[/DB][?stream=NAME]` sink: every alert becomes
 * `XADD NAME * alert <json>` on a Redis Stream (default stream `tipoff-alerts`), after
 * `SELECT DB` when a database is given. An alert counts as acknowledged when XADD returns an
 * entry id. hiredis is used without blocking: commands are appended to its output buffer and
 * written and read when the socket is ready; the connection is retried with backoff while
 * sinks.c keeps the alerts in the spool. The only file that includes hiredis. Output thread only.
 */
#include "common/log.h"
#include "sensor/sink.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SINK_REDIS_DEFAULT_STREAM "tipoff-alerts"

enum sink_redis_state {
	SINK_REDIS_DOWN,
	SINK_REDIS_CONNECTING,
	SINK_REDIS_UP,
};

enum sink_redis_cmd {
	SINK_REDIS_SELECT,
	SINK_REDIS_XADD,
};

struct sink_redis_sent {
	uint64_t sent_ms;
	enum sink_redis_cmd cmd;
};

struct sink_redis {
	char host[256];
	int port;
	long db; /* -1: no SELECT */
	char *stream;
	redisContext *c;
	enum sink_redis_state state;
	bool wpending;                /* hiredis' output buffer holds unwritten commands */
	struct sink_redis_sent *fifo; /* commands without a reply, oldest at head */
	size_t head, count, cap;
	unsigned xadds; /* XADDs among them */
};

/* Parse redis://HOST:PORT[/DB][?stream=NAME] into r. Returns 0 or -EINVAL. */
static int sink_redis_parse(struct sink_redis *r, const char *url)
{
	const char *p = url + strlen("redis://"), *host, *hend;
	char *end;
	unsigned long port;
	const char *stream = SINK_REDIS_DEFAULT_STREAM;

	if (*p == '[') {
		host = p + 1;
		hend = strchr(host, ']');
		if (hend == NULL || hend[1] != ':')
			return -EINVAL;
		p = hend + 2;
	} else {
		host = p;
		hend = strchr(host, ':');
		if (hend == NULL)
			return -EINVAL;
		p = hend + 1;
	}
	if (hend == host || (size_t)(hend - host) >= sizeof(r->host))
		return -EINVAL;
	memcpy(r->host, host, (size_t)(hend - host));
	r->host[hend - host] = '\0';
	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	port = strtoul(p, &end, 10);
	if (errno != 0 || port == 0 || port > 65535)
		return -EINVAL;
	r->port = (int)port;
	p = end;
	r->db = -1;
	if (*p == '/') {
		p++;
		if (*p != '\0' && *p != '?') {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			errno = 0;
			r->db = strtol(p, &end, 10);
			if (errno != 0 || r->db > 65535)
				return -EINVAL;
			p = end;
		}
	}
	if (*p == '?') {
		p++;
		if (strncmp(p, "stream=", 7) != 0 || p[7] == '\0' || strchr(p + 7, '&') != NULL)
			return -EINVAL;
		stream = p + 7;
		p += strlen(p);
	}
	if (*p != '\0')
		return -EINVAL;
	r->stream = strdup(stream);
	return r->stream == NULL ? -ENOMEM : 0;
}

static int sink_redis_open(struct sink *s, const char *arg)
{
	struct sink_redis *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL)
		return -ENOMEM;
	rc = sink_redis_parse(r, arg);
	if (rc != 0) {
		if (rc == -EINVAL)
			log_err("sinks: bad Redis sink, expected redis://HOST:PORT[/DB][?stream=NAME] "
			        "(spec=%s)",
			        s->spec);
		free(r->stream);
		free(r);
		return rc;
	}
	r->cap = (size_t)s->window + 1; /* + the SELECT */
	r->fifo = calloc(r->cap, sizeof(*r->fifo));
	if (r->fifo == NULL) {
		free(r->stream);
		free(r);
		return -ENOMEM;
	}
	r->state = SINK_REDIS_DOWN;
	s->priv = r;
	return 0;
}

static void sink_redis_close(struct sink *s)
{
	struct sink_redis *r = s->priv;

	if (r->c != NULL)
		redisFree(r->c);
	free(r->fifo);
	free(r->stream);
	free(r);
	s->priv = NULL;
}

static void sink_redis_lose(struct sink *s, uint64_t now_ms, const char *why)
{
	struct sink_redis *r = s->priv;
	bool was_up = r->state == SINK_REDIS_UP;

	if (r->c != NULL)
		redisFree(r->c);
	r->c = NULL;
	r->state = SINK_REDIS_DOWN;
	r->wpending = false;
	r->head = r->count = 0;
	r->xadds = 0;
	sink__disconnected(s, now_ms, why, was_up);
}

static void sink_redis_push(struct sink_redis *r, enum sink_redis_cmd cmd)
{
	struct sink_redis_sent *e = &r->fifo[(r->head + r->count) % r->cap];

	e->cmd = cmd;
	e->sent_ms = sink__now_ms();
	r->count++;
	if (cmd == SINK_REDIS_XADD)
		r->xadds++;
	r->wpending = true;
}

static void sink_redis_up(struct sink *s, uint64_t now_ms)
{
	struct sink_redis *r = s->priv;

	r->state = SINK_REDIS_UP;
	if (r->db >= 0) {
		if (redisAppendCommand(r->c, "SELECT %ld", r->db) != REDIS_OK) {
			sink_redis_lose(s, now_ms, "cannot queue SELECT");
			return;
		}
		sink_redis_push(r, SINK_REDIS_SELECT);
	}
	sink__connected(s);
}

static void sink_redis_connect(struct sink *s, uint64_t now_ms)
{
	struct sink_redis *r = s->priv;

	r->c = redisConnectNonBlock(r->host, r->port);
	if (r->c == NULL) {
		sink_redis_lose(s, now_ms, "out of memory");
		return;
	}
	if (r->c->err != 0) {
		char why[sizeof(r->c->errstr)];

		memcpy(why, r->c->errstr, sizeof(why));
		why[sizeof(why) - 1] = '\0';
		sink_redis_lose(s, now_ms, why);
		return;
	}
	r->state = SINK_REDIS_CONNECTING;
}

static size_t sink_redis_room(struct sink *s)
{
	struct sink_redis *r = s->priv;

	if (r->state != SINK_REDIS_UP)
		return 0;
	return r->xadds < s->window ? s->window - r->xadds : 0;
}

static int sink_redis_send(struct sink *s, const char *line, size_t len)
{
	struct sink_redis *r = s->priv;

	if (r->state != SINK_REDIS_UP || r->xadds >= s->window)
		return -EAGAIN;
	if (redisAppendCommand(r->c, "XADD %s * alert %b", r->stream, line, len) != REDIS_OK)
		return -ENOMEM;
	sink_redis_push(r, SINK_REDIS_XADD);
	return 0;
}

/* Redis errors that say "not now" rather than "never": retried on a new connection. */
static bool sink_redis_is_transient(const char *msg)
{
	static const char *const prefixes[] = {
		"LOADING",  "BUSY",     "OOM",        "MASTERDOWN",
		"TRYAGAIN", "READONLY", "NOREPLICAS", "CLUSTERDOWN"
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(msg, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* Act on one reply. Returns false when the connection must be reset. */
static bool sink_redis_reply(struct sink *s, const redisReply *rep, uint64_t now_ms)
{
	struct sink_redis *r = s->priv;
	struct sink_redis_sent e;

	if (r->count == 0) {
		sink__count(&s->c.garbage, 1);
		sink_redis_lose(s, now_ms, "reply without a command");
		return false;
	}
	e = r->fifo[r->head];
	r->head = (r->head + 1) % r->cap;
	r->count--;
	if (e.cmd == SINK_REDIS_SELECT) {
		if (rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0)
			return true;
		log_once(LOG_ERR, "sinks: Redis refused SELECT (sink=%s reply=%.80s)", s->label,
		         rep->type == REDIS_REPLY_ERROR ? rep->str : "?");
		sink_redis_lose(s, now_ms, "SELECT refused");
		return false;
	}
	r->xadds--;
	if (rep->type == REDIS_REPLY_STRING && rep->len > 0) {
		sink__answer(s, true, NULL, 0);
		return true;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		if (sink_redis_is_transient(rep->str)) {
			sink_redis_lose(s, now_ms, "Redis busy");
			return false;
		}
		sink__answer(s, false, rep->str, rep->len);
		return true;
	}
	sink__count(&s->c.garbage, 1);
	sink_redis_lose(s, now_ms, "unexpected reply to XADD");
	return false;
}

static void sink_redis_poll(struct sink *s, short revents, uint64_t now_ms)
{
	struct sink_redis *r = s->priv;
	void *reply;

	if (r->state == SINK_REDIS_DOWN) {
		if (!sink__may_connect(s, now_ms))
			return;
		sink_redis_connect(s, now_ms);
	}
	if (r->state == SINK_REDIS_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(r->c->fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
			err = errno;
		if (err != 0) {
			sink_redis_lose(s, now_ms, strerror(err));
			return;
		}
		sink_redis_up(s, now_ms);
		if (r->state != SINK_REDIS_UP)
			return;
	}
	if (r->wpending) {
		int done = 0;

		if (redisBufferWrite(r->c, &done) != REDIS_OK) {
			sink_redis_lose(s, now_ms, "write failed");
			return;
		}
		r->wpending = !done;
	}
	/* Nothing expected and nothing signalled: no read (a closed peer shows as POLLIN). */
	if (r->count == 0 && !(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	if (redisBufferRead(r->c) != REDIS_OK) {
		sink_redis_lose(s, now_ms, "connection lost");
		return;
	}
	for (;;) {
		bool keep;

		reply = NULL;
		if (redisGetReply(r->c, &reply) != REDIS_OK) {
			sink__count(&s->c.garbage, 1);
			sink_redis_lose(s, now_ms, "protocol error");
			return;
		}
		if (reply == NULL)
			break;
		keep = sink_redis_reply(s, reply, now_ms);
		freeReplyObject(reply);
		if (!keep)
			return;
	}
	if (r->count > 0 && now_ms > r->fifo[r->head].sent_ms + s->ack_timeout_ms) {
		sink__count(&s->c.timeouts, 1);
		sink_redis_lose(s, now_ms, "no reply in time");
	}
}

static int sink_redis_pollfd(struct sink *s, short *events)
{
	struct sink_redis *r = s->priv;

	switch (r->state) {
	case SINK_REDIS_CONNECTING:
		*events = POLLOUT;
		return r->c->fd;
	case SINK_REDIS_UP:
		*events = (short)(POLLIN | (r->wpending ? POLLOUT : 0));
		return r->c->fd;
	case SINK_REDIS_DOWN:
		break;
	}
	return -1;
}

static size_t sink_redis_pending(const struct sink *s)
{
	const struct sink_redis *r = s->priv;

	return r->xadds;
}

const struct sink_ops sink_redis_ops = {
	.scheme = "redis",
	.acked = true,
	.open = sink_redis_open,
	.room = sink_redis_room,
	.send = sink_redis_send,
	.poll = sink_redis_poll,
	.pollfd = sink_redis_pollfd,
	.pending = sink_redis_pending,
	.flush = NULL,
	.close = sink_redis_close,
};
