/*
 * The `-` sink: alert JSON lines on standard output (which observations may share: lines are
 * written whole). Uses the buffered line writer of sink_file.c; fd 1 is never closed here.
 */
#include "sensor/sink.h"

#include <unistd.h>

static int sink_stdout_open(struct sink *s, const char *arg)
{
	(void)arg;
	return sink__file_setup(s, STDOUT_FILENO, false);
}

const struct sink_ops sink_stdout_ops = {
	.scheme = "-",
	.acked = false,
	.open = sink_stdout_open,
	.room = sink__file_room,
	.send = sink__file_send,
	.poll = sink__file_poll,
	.pollfd = sink__file_pollfd,
	.pending = sink__file_pending,
	.flush = sink__file_flush,
	.close = sink__file_close,
};
