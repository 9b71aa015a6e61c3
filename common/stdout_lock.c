/*
 * The standard-output write lock (see stdout_lock.h).
 */
#include "common/stdout_lock.h"

#include <pthread.h>

static pthread_mutex_t stdout_mutex = PTHREAD_MUTEX_INITIALIZER;

void stdout_lock(void)
{
	pthread_mutex_lock(&stdout_mutex);
}

void stdout_unlock(void)
{
	pthread_mutex_unlock(&stdout_mutex);
}
