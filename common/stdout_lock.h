/*
 * One lock for whole writes to standard output, taken by the output threads (observations,
 * alerts) — never by workers — so that lines of both streams never interleave mid-line even when
 * stdout is a pipe and a write is larger than PIPE_BUF.
 */
#ifndef TIPOFF_COMMON_STDOUT_LOCK_H
#define TIPOFF_COMMON_STDOUT_LOCK_H

void stdout_lock(void);
void stdout_unlock(void);

#endif
