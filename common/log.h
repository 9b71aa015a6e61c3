/*
 * Logging for tipoff's programs (never the matcher library): syslog levels, to stderr or syslog.
 * Messages read "component: what happened (key=value ...)".
 */
#ifndef TIPOFF_COMMON_LOG_H
#define TIPOFF_COMMON_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Set the program name, the lowest level written, and whether to use syslog instead of stderr. */
void log_init(const char *ident, int max_level, bool use_syslog);

/* Write one message at level (LOG_ERR ... LOG_DEBUG) when it is at or above the threshold. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* true when messages at level would be written (to skip building expensive arguments). */
bool log_is_enabled(int level);

#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

/* Log at most once per call site for the process lifetime (for rare surprises in hot code). */
#define log_once(level, ...)                                                                   \
	do {                                                                                   \
		static int log_once_done_;                                                     \
		if (!__atomic_exchange_n(&log_once_done_, 1, __ATOMIC_RELAXED))                \
			log_msg(level, __VA_ARGS__);                                           \
	} while (0)

#endif
