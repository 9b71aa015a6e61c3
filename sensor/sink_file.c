/*
 * The `file:PATH` sink (appended to, one JSON line per alert), and the buffered line writer it
 * shares with the `-` (standard output) sink of sink_stdout.c. Lines are gathered in a buffer and
 * written whole with write(2), so lines never mix with other writers of the same file at less than
 * line granularity. Runs on the alert output thread only; a slow standard output slows that thread,
 * never the workers.
 */
#include "common/log.h"
#include "common/stdout_lock.h"
#include "sensor/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SINK_FILE_BUF (64u << 10)

struct sink_file {
	int fd;
	bool own_fd; /* close fd at the end (not for stdout) */
	char *buf;
	size_t used;
	size_t lines; /* lines in buf */
};

/* Write everything buffered; on failure the buffered lines are counted as dropped. */
void sink__file_flush(struct sink *s)
{
	struct sink_file *f = s->priv;
	size_t off = 0;

	/* stdout may be shared with the observation writer: keep lines whole */
	if (f->fd == STDOUT_FILENO)
		stdout_lock();
	while (off < f->used) {
		ssize_t w = write(f->fd, f->buf + off, f->used - off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_once(LOG_ERR, "sinks: write failed, alerts lost (sink=%s error=%s)",
			         s->label, w == -1 ? strerror(errno) : "short write");
			sink__count(&s->c.dropped, f->lines);
			break;
		}
		off += (size_t)w;
	}
	if (f->fd == STDOUT_FILENO)
		stdout_unlock();
	f->used = 0;
	f->lines = 0;
}

int sink__file_setup(struct sink *s, int fd, bool own)
{
	struct sink_file *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -ENOMEM;
	f->buf = malloc(SINK_FILE_BUF);
	if (f->buf == NULL) {
		free(f);
		return -ENOMEM;
	}
	f->fd = fd;
	f->own_fd = own;
	s->priv = f;
	return 0;
}

static int sink_file_open(struct sink *s, const char *arg)
{
	int fd, rc;

	if (arg[0] == '\0') {
		log_err("sinks: file sink needs a path (spec=%s)", s->spec);
		return -EINVAL;
	}
	fd = open(arg, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		rc = -errno;
		log_err("sinks: cannot open alert file (path=%s error=%s)", arg, strerror(errno));
		return rc;
	}
	rc = sink__file_setup(s, fd, true);
	if (rc != 0)
		close(fd);
	return rc;
}

size_t sink__file_room(struct sink *s)
{
	(void)s;
	return 1; /* send() flushes by itself when the buffer is full */
}

int sink__file_send(struct sink *s, const char *line, size_t len)
{
	struct sink_file *f = s->priv;

	if (f->used + len + 1 > SINK_FILE_BUF)
		sink__file_flush(s);
	if (len + 1 > SINK_FILE_BUF) {
		/* A line larger than the buffer goes out on its own. */
		size_t off = 0;
		int rc = 0;

		if (f->fd == STDOUT_FILENO)
			stdout_lock();
		while (off < len) {
			ssize_t w = write(f->fd, line + off, len - off);

			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = w == -1 ? -errno : -EIO;
				break;
			}
			off += (size_t)w;
		}
		if (f->fd == STDOUT_FILENO)
			stdout_unlock();
		if (rc != 0)
			return rc;
		f->buf[0] = '\n';
		f->used = 1;
		f->lines = 1;
		return 0;
	}
	memcpy(f->buf + f->used, line, len);
	f->buf[f->used + len] = '\n';
	f->used += len + 1;
	f->lines++;
	return 0;
}

void sink__file_poll(struct sink *s, short revents, uint64_t now_ms)
{
	(void)s;
	(void)revents;
	(void)now_ms;
}

int sink__file_pollfd(struct sink *s, short *events)
{
	(void)s;
	*events = 0;
	return -1;
}

size_t sink__file_pending(const struct sink *s)
{
	const struct sink_file *f = s->priv;

	return f->used > 0 ? (f->lines ? f->lines : 1) : 0;
}

void sink__file_close(struct sink *s)
{
	struct sink_file *f = s->priv;

	sink__file_flush(s);
	if (f->own_fd)
		close(f->fd);
	free(f->buf);
	free(f);
	s->priv = NULL;
}

const struct sink_ops sink_file_ops = {
	.scheme = "file",
	.acked = false,
	.open = sink_file_open,
	.room = sink__file_room,
	.send = sink__file_send,
	.poll = sink__file_poll,
	.pollfd = sink__file_pollfd,
	.pending = sink__file_pending,
	.flush = sink__file_flush,
	.close = sink__file_close,
};
