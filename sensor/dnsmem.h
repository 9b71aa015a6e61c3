/*
 * DNS memory: which names an address was given as (A/AAAA answer) to which asking host.
 * Written by one thread (the reader, in read order, before later packets are dispatched), read
 * by every worker without locks. Bounded: a set-associative table whose buckets replace their
 * oldest entry; each entry is guarded by a sequence counter so readers never see a torn one.
 */
#ifndef TIPOFF_SENSOR_DNSMEM_H
#define TIPOFF_SENSOR_DNSMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor/pkt.h"

#define DNSMEM_MAX_NAMES   6   /* question name + CNAME chain names kept per entry */
#define DNSMEM_NAMES_BYTES 512 /* room for those names (normalised, not NUL-terminated) */

/* What a lookup copies out: the names tied to (host, address), newest answer first. */
struct dnsmem_hit {
	unsigned nnames;
	uint16_t off[DNSMEM_MAX_NAMES]; /* name i is names[off[i] .. off[i]+len[i]) */
	uint16_t len[DNSMEM_MAX_NAMES];
	uint8_t is_question[DNSMEM_MAX_NAMES]; /* 1: the name the host looked up */
	uint16_t question[DNSMEM_MAX_NAMES];   /* index of the question name of name i's answer */
	uint64_t seq[DNSMEM_MAX_NAMES];        /* read sequence number of the tying answer */
	uint64_t expires_ns[DNSMEM_MAX_NAMES]; /* packet time after which the tie lapses */
	char names[DNSMEM_NAMES_BYTES];
};

struct dnsmem;

#define DNSMEM_COUNTERS(X)                                                                     \
	X(recorded)       /* (host, address) ties written */                                     \
	X(refreshed)      /* an existing tie updated */                                         \
	X(evicted)        /* a live tie replaced because its bucket was full */                 \
	X(names_dropped)  /* chain names that did not fit in an entry */

enum dnsmem_counter {
#define DNSMEM_ENUM_(n) DNSMEM_##n,
	DNSMEM_COUNTERS(DNSMEM_ENUM_)
#undef DNSMEM_ENUM_
	DNSMEM_NCOUNTERS
};

extern const char *const dnsmem_counter_names[DNSMEM_NCOUNTERS];

/* A table of at least capacity entries (rounded up to a power of two, min 64). NULL on ENOMEM. */
struct dnsmem *dnsmem_new(uint32_t capacity);
void dnsmem_free(struct dnsmem *m); /* accepts NULL; no reader may be using it */

/*
 * Writer only: tie answer address addr, for asking host, to names[0..n) (names[0] the
 * question name, then the CNAME chain that led to addr; each normalised, lens in lens[]),
 * created by the message read as number seq at packet time now_ns, valid until expires_ns.
 * Ties of an existing entry for the same (host, addr) are kept behind the new ones while room
 * lasts (the oldest fall off first). A name tied again while its earlier tie is still live
 * keeps the earlier sequence number (flows in between stay explained) and the later expiry.
 * Never allocates.
 */
void dnsmem_record(struct dnsmem *m, const struct addr *host, const struct addr *addr,
		   const char *const *names, const size_t *lens, unsigned n, uint64_t seq,
		   uint64_t now_ns, uint64_t expires_ns);

/*
 * Any thread: the names tied to (host, addr) by answers read before sequence number
 * before_seq and not expired at now_ns; copies them into *out (names that do not qualify are
 * left out). Returns false when none qualifies. Never blocks.
 */
bool dnsmem_lookup(const struct dnsmem *m, const struct addr *host, const struct addr *addr,
		   uint64_t before_seq, uint64_t now_ns, struct dnsmem_hit *out);

/* Counter values (relaxed reads; any thread). */
void dnsmem_counters(const struct dnsmem *m, uint64_t out[DNSMEM_NCOUNTERS]);

#endif
