/*
 * Logging to stderr or syslog with a level threshold. Used by programs; the matcher never logs.
 */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_ident = "tipoff";
static int log_max_level = LOG_NOTICE;
static bool log_syslog;

void log_init(const char *ident, int max_level, bool use_syslog)
{
	log_ident = ident;
	log_max_level = max_level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

bool log_is_enabled(int level)
{
	return level <= log_max_level;
}

void log_msg(int level, const char *fmt, ...)
{
	static const char *const names[] = { "emerg", "alert", "crit", "err",
					     "warning", "notice", "info", "debug" };
	char buf[2048];
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_syslog) {
		syslog(level, "%s", buf);
		return;
	}
	/* One fprintf per message so that lines from several threads do not interleave. */
	fprintf(stderr, "%s[%s]: %s\n", log_ident, names[level & 7], buf);
}
