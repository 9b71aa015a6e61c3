/*
 * Publication of snapshots through RCU, liburcu's QSBR flavour: the only file that includes
 * <urcu-qsbr.h>. The reload thread swaps the published pointer and frees the old snapshot
 * after a grace period; worker threads read without locks and announce quiescent states
 * between batches.
 *
 * Design note. QSBR readers pay nothing on the read side: a worker's whole batch is one
 * read-side section, ended by matcher_quiescent(). matcher_publish() exchanges the pointer
 * (a full barrier: the new snapshot's contents, written by the reload thread, are visible
 * before the pointer is), then synchronize_rcu() returns once every registered online reader
 * has passed a quiescent state, after which no reader can hold the old snapshot and it is
 * freed. One thread publishes at a time; h->generation is written by that thread only.
 *
 * ThreadSanitizer cannot see liburcu 0.13's synchronisation (inline-asm exchange, volatile
 * loads, memory barriers, and a grace-period wait inside the uninstrumented library). Under
 * TSan only, the functions below state the same happens-before edges with TSan's annotation
 * interface: publication (the exchange releases, matcher_current acquires) and the grace
 * period (every quiescent state releases, the end of synchronize_rcu acquires). They compile
 * to nothing otherwise.
 */
#include <errno.h>
#include <stdlib.h>

#include <urcu-qsbr.h>

#include "engine.h"

#if defined(__SANITIZE_THREAD__)
#define MATCHER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MATCHER_TSAN 1
#endif
#endif

#ifdef MATCHER_TSAN
#include <sanitizer/tsan_interface.h>

static char tsan_grace; /* the address the grace-period edges are annotated on */

#define TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#define TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#else
#define TSAN_RELEASE(addr) ((void)0)
#define TSAN_ACQUIRE(addr) ((void)0)
#endif

struct matcher_handle {
	struct matcher_snapshot *cur; /* written by the publisher (rcu_xchg_pointer), read
	                                 under RCU (rcu_dereference) */
	uint64_t generation;          /* of cur; publisher only */
};

struct matcher_handle *matcher_handle_new(void)
{
	return calloc(1, sizeof(struct matcher_handle));
}

void matcher_handle_free(struct matcher_handle *h)
{
	if (h == NULL)
		return;
	matcher_snapshot_free(h->cur);
	free(h);
}

int matcher_publish(struct matcher_handle *h, struct matcher_snapshot *snap)
{
	struct matcher_snapshot *old;

	if (snap == NULL)
		return -EINVAL;
	snap->generation = h->generation + 1;
	h->generation = snap->generation;
	TSAN_RELEASE(h);
	old = rcu_xchg_pointer(&h->cur, snap);
	if (old != NULL) {
		synchronize_rcu();
		TSAN_ACQUIRE(&tsan_grace);
		matcher_snapshot_free(old);
	}
	return 0;
}

void matcher_reader_register(void)
{
	rcu_register_thread();
}

void matcher_reader_unregister(void)
{
	TSAN_RELEASE(&tsan_grace);
	rcu_unregister_thread();
}

void matcher_quiescent(void)
{
	TSAN_RELEASE(&tsan_grace);
	rcu_quiescent_state();
}

void matcher_reader_offline(void)
{
	TSAN_RELEASE(&tsan_grace);
	rcu_thread_offline();
}

void matcher_reader_online(void)
{
	rcu_thread_online();
}

const struct matcher_snapshot *matcher_current(struct matcher_handle *h)
{
	struct matcher_snapshot *s = rcu_dereference(h->cur);

	TSAN_ACQUIRE(h);
	return s;
}
