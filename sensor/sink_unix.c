/*
 * The `unix:PATH` sink: alert lines to the notifier's unix stream socket, one per line; the
 * notifier answers each, in order, with "OK <event.id>" once committed or
 * "ERR <event.id> <reason>" (DESIGN.md, "Formats"). Answers are matched to the unanswered lines
 * in order; anything else is a protocol error that is counted and resets the connection.
 * Non-blocking throughout: connect, write and read never wait; a peer that is away is retried
 * with backoff while sinks.c keeps the alerts in the spool. Output thread only.
 */
#include "common/log.h"
#include "sensor/sink.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SINK_UNIX_ID_MAX 128  /* event.id bytes kept for matching (longer ids: prefix+length) */
#define SINK_UNIX_RBUF   8192 /* longest answer line accepted */

enum sink_unix_state {
	SINK_UNIX_DOWN,
	SINK_UNIX_CONNECTING,
	SINK_UNIX_UP,
};

struct sink_unix_sent {
	uint64_t sent_ms; /* when the line was queued */
	bool no_id;       /* no event.id: not sent, rejected here when it is the oldest */
	size_t idlen;     /* full length of event.id */
	char id[SINK_UNIX_ID_MAX];
};

struct sink_unix {
	struct sockaddr_un addr;
	socklen_t addrlen;
	int fd;
	enum sink_unix_state state;
	char *obuf; /* lines queued for writing: obuf[ooff..olen) */
	size_t olen, ooff, ocap;
	char rbuf[SINK_UNIX_RBUF];
	size_t rlen;
	struct sink_unix_sent *fifo; /* unanswered lines, oldest at head */
	size_t head, count, cap;
};

static int sink_unix_open(struct sink *s, const char *arg)
{
	struct sink_unix *u;
	size_t n = strlen(arg);

	if (n == 0 || n >= sizeof(u->addr.sun_path)) {
		log_err("sinks: bad unix socket path (spec=%s)", s->spec);
		return -EINVAL;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->cap = s->window;
	u->fifo = calloc(u->cap, sizeof(*u->fifo));
	if (u->fifo == NULL) {
		free(u);
		return -ENOMEM;
	}
	u->addr.sun_family = AF_UNIX;
	memcpy(u->addr.sun_path, arg, n + 1);
	u->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	u->fd = -1;
	u->state = SINK_UNIX_DOWN;
	s->priv = u;
	return 0;
}

static void sink_unix_close(struct sink *s)
{
	struct sink_unix *u = s->priv;

	if (u->fd >= 0)
		close(u->fd);
	free(u->obuf);
	free(u->fifo);
	free(u);
	s->priv = NULL;
}

/* Drop the connection and everything unanswered; sinks.c will send it again. */
static void sink_unix_lose(struct sink *s, uint64_t now_ms, const char *why)
{
	struct sink_unix *u = s->priv;
	bool was_up = u->state == SINK_UNIX_UP;

	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->state = SINK_UNIX_DOWN;
	u->olen = u->ooff = 0;
	u->rlen = 0;
	u->head = u->count = 0;
	sink__disconnected(s, now_ms, why, was_up);
}

static void sink_unix_up(struct sink *s)
{
	struct sink_unix *u = s->priv;

	u->state = SINK_UNIX_UP;
	sink__connected(s);
}

static void sink_unix_connect(struct sink *s, uint64_t now_ms)
{
	struct sink_unix *u = s->priv;

	u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd == -1) {
		sink_unix_lose(s, now_ms, strerror(errno));
		return;
	}
	if (connect(u->fd, (struct sockaddr *)&u->addr, u->addrlen) == 0) {
		sink_unix_up(s);
		return;
	}
	if (errno == EINPROGRESS) {
		u->state = SINK_UNIX_CONNECTING;
		return;
	}
	/* ENOENT, ECONNREFUSED, EAGAIN (listener backlog full): try again later. */
	sink_unix_lose(s, now_ms, strerror(errno));
}

static size_t sink_unix_room(struct sink *s)
{
	struct sink_unix *u = s->priv;

	return u->state == SINK_UNIX_UP ? u->cap - u->count : 0;
}

/* event.id of an alert line, or an empty id when the line has none. */
static void sink_unix_event_id(const char *line, size_t len, struct sink_unix_sent *e)
{
	json_t *root = json_loadb(line, len, 0, NULL);
	const char *id = NULL;
	size_t n = 0;

	if (root != NULL) {
		json_t *v = json_object_get(json_object_get(root, "event"), "id");

		if (json_is_string(v)) {
			id = json_string_value(v);
			n = json_string_length(v);
		}
	}
	e->idlen = n;
	e->no_id = n == 0;
	if (n > SINK_UNIX_ID_MAX)
		n = SINK_UNIX_ID_MAX;
	if (n > 0)
		memcpy(e->id, id, n);
	json_decref(root);
}

/* Answer, in order, the oldest lines that were never sent because they have no event.id. */
static void sink_unix_settle(struct sink *s)
{
	struct sink_unix *u = s->priv;
	static const char reason[] = "alert without event.id (not sent)";

	while (u->count > 0 && u->fifo[u->head].no_id) {
		u->head = (u->head + 1) % u->cap;
		u->count--;
		sink__answer(s, false, reason, sizeof(reason) - 1);
	}
}

static int sink_unix_send(struct sink *s, const char *line, size_t len)
{
	struct sink_unix *u = s->priv;
	struct sink_unix_sent *e;

	if (u->state != SINK_UNIX_UP || u->count == u->cap)
		return -EAGAIN;
	if (u->olen + len + 1 > u->ocap) {
		size_t ncap = u->ocap ? u->ocap : 65536;
		char *nb;

		if (u->ooff > 0) {
			memmove(u->obuf, u->obuf + u->ooff, u->olen - u->ooff);
			u->olen -= u->ooff;
			u->ooff = 0;
		}
		while (ncap < u->olen + len + 1)
			ncap *= 2;
		if (ncap != u->ocap) {
			nb = realloc(u->obuf, ncap);
			if (nb == NULL)
				return -ENOMEM;
			u->obuf = nb;
			u->ocap = ncap;
		}
	}
	e = &u->fifo[(u->head + u->count) % u->cap];
	sink_unix_event_id(line, len, e);
	e->sent_ms = sink__now_ms();
	u->count++;
	if (e->no_id) {
		/* The notifier could not name it in its answer: reject it here, in order. */
		sink_unix_settle(s);
		return 0;
	}
	memcpy(u->obuf + u->olen, line, len);
	u->obuf[u->olen + len] = '\n';
	u->olen += len + 1;
	return 0;
}

static bool sink_unix_id_matches(const struct sink_unix_sent *e, const char *id, size_t n)
{
	size_t cmp = e->idlen < SINK_UNIX_ID_MAX ? e->idlen : SINK_UNIX_ID_MAX;

	return n == e->idlen && memcmp(e->id, id, cmp) == 0;
}

/*
 * One answer line (without newline). Returns false for a protocol error: not OK/ERR, or an id
 * that is not the oldest unanswered line's.
 */
static bool sink_unix_answer(struct sink *s, const char *p, size_t n)
{
	struct sink_unix *u = s->priv;
	const struct sink_unix_sent *e;
	bool ok;
	const char *id, *end = p + n, *sp;

	if (n > 0 && p[n - 1] == '\r')
		end--;
	if (end - p >= 3 && memcmp(p, "OK ", 3) == 0) {
		ok = true;
		id = p + 3;
	} else if (end - p >= 4 && memcmp(p, "ERR ", 4) == 0) {
		ok = false;
		id = p + 4;
	} else {
		return false;
	}
	if (u->count == 0)
		return false;
	sp = ok ? end : memchr(id, ' ', (size_t)(end - id));
	if (sp == NULL)
		sp = end; /* ERR without a reason */
	e = &u->fifo[u->head];
	if (!sink_unix_id_matches(e, id, (size_t)(sp - id)))
		return false;
	u->head = (u->head + 1) % u->cap;
	u->count--;
	if (ok)
		sink__answer(s, true, NULL, 0);
	else
		sink__answer(s, false, sp < end ? sp + 1 : sp,
		             sp < end ? (size_t)(end - sp - 1) : 0);
	sink_unix_settle(s);
	return true;
}

/* Read what the peer sent and act on every whole answer line. */
static void sink_unix_read(struct sink *s, uint64_t now_ms)
{
	struct sink_unix *u = s->priv;

	for (;;) {
		ssize_t r = recv(u->fd, u->rbuf + u->rlen, sizeof(u->rbuf) - u->rlen, MSG_DONTWAIT);
		size_t start = 0;

		if (r == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				sink_unix_lose(s, now_ms, strerror(errno));
			return;
		}
		if (r == 0) {
			sink_unix_lose(s, now_ms, "peer closed the connection");
			return;
		}
		u->rlen += (size_t)r;
		for (size_t i = 0; i < u->rlen; i++) {
			if (u->rbuf[i] != '\n')
				continue;
			if (!sink_unix_answer(s, u->rbuf + start, i - start)) {
				sink__count(&s->c.garbage, 1);
				log_once(LOG_WARNING,
				         "sinks: unexpected answer from the notifier, "
				         "resetting the connection (sink=%s)",
				         s->label);
				sink_unix_lose(s, now_ms, "unexpected answer");
				return;
			}
			start = i + 1;
		}
		if (start == 0 && u->rlen == sizeof(u->rbuf)) {
			sink__count(&s->c.garbage, 1);
			sink_unix_lose(s, now_ms, "answer line too long");
			return;
		}
		memmove(u->rbuf, u->rbuf + start, u->rlen - start);
		u->rlen -= start;
	}
}

static void sink_unix_write(struct sink *s, uint64_t now_ms)
{
	struct sink_unix *u = s->priv;

	while (u->ooff < u->olen) {
		ssize_t w = send(u->fd, u->obuf + u->ooff, u->olen - u->ooff,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				sink_unix_lose(s, now_ms, strerror(errno));
			return;
		}
		u->ooff += (size_t)w;
	}
	u->ooff = u->olen = 0;
}

static void sink_unix_poll(struct sink *s, short revents, uint64_t now_ms)
{
	struct sink_unix *u = s->priv;

	if (u->state == SINK_UNIX_DOWN) {
		if (!sink__may_connect(s, now_ms))
			return;
		sink_unix_connect(s, now_ms);
	}
	if (u->state == SINK_UNIX_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &err, &el) == -1)
			err = errno;
		if (err != 0) {
			sink_unix_lose(s, now_ms, strerror(err));
			return;
		}
		sink_unix_up(s);
	}
	sink_unix_write(s, now_ms);
	if (u->state != SINK_UNIX_UP)
		return;
	sink_unix_read(s, now_ms);
	if (u->state != SINK_UNIX_UP)
		return;
	if (u->count > 0 && now_ms > u->fifo[u->head].sent_ms + s->ack_timeout_ms) {
		sink__count(&s->c.timeouts, 1);
		sink_unix_lose(s, now_ms, "no answer in time");
	}
}

static int sink_unix_pollfd(struct sink *s, short *events)
{
	struct sink_unix *u = s->priv;

	switch (u->state) {
	case SINK_UNIX_CONNECTING:
		*events = POLLOUT;
		return u->fd;
	case SINK_UNIX_UP:
		*events = (short)(POLLIN | (u->ooff < u->olen ? POLLOUT : 0));
		return u->fd;
	case SINK_UNIX_DOWN:
		break;
	}
	return -1;
}

static size_t sink_unix_pending(const struct sink *s)
{
	const struct sink_unix *u = s->priv;

	return u->count;
}

const struct sink_ops sink_unix_ops = {
	.scheme = "unix",
	.acked = true,
	.open = sink_unix_open,
	.room = sink_unix_room,
	.send = sink_unix_send,
	.poll = sink_unix_poll,
	.pollfd = sink_unix_pollfd,
	.pending = sink_unix_pending,
	.flush = NULL,
	.close = sink_unix_close,
};
