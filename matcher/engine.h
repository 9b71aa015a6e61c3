/*
 * The engine's own internals, shared by builder.c, snapshot.c, ip_set.c, domain_set.c,
 * asn_set.c and publish.c only (the loaders use internal.h). The snapshot layout, the
 * interned match lists every set points at, and the build-time interfaces of the sets.
 *
 * Design note. Every set maps a key to a "list reference" (ref), a 32-bit word naming an
 * interned, sorted list of struct matcher_match in the snapshot's pool: the pool offset of the
 * list's first match shifted left by 4, ORed with the list's length when below 15 (15 means
 * "read the length from the header word just before the list"). A lookup therefore never
 * touches the pool to learn how many matches there are, and identical lists (the common case:
 * most ranges and names carry one entry) are stored once. Ref 0 is the empty list.
 */
#ifndef TIPOFF_MATCHER_ENGINE_H
#define TIPOFF_MATCHER_ENGINE_H

#include <stdint.h>
#include <stddef.h>

#include "internal.h"

#define MATCHER__REF_LENBITS 4
#define MATCHER__REF_LENMAX  15u
#define MATCHER__REF_MAXOFF  (UINT32_C(1) << 27) /* offsets fit 27 bits: leaf dir words */

/* Length and first match of the list ref names in pool (snapshot's pool). */
static inline size_t matcher__ref_get(const struct matcher_match *pool, uint32_t ref,
                                      const struct matcher_match **m)
{
	uint32_t off = ref >> MATCHER__REF_LENBITS;
	uint32_t n = ref & MATCHER__REF_LENMAX;

	*m = pool + off;
	if (n == MATCHER__REF_LENMAX)
		n = pool[off - 1].entry_id;
	return n;
}

/* Orders matches by (role, entry_id): the order of every list and lookup answer. */
static inline int matcher__match_cmp(const struct matcher_match *a, const struct matcher_match *b)
{
	if (a->role != b->role)
		return a->role < b->role ? -1 : 1;
	if (a->entry_id != b->entry_id)
		return a->entry_id < b->entry_id ? -1 : 1;
	return 0;
}

/* ----- interned match lists (build time) ------------------------------------------------ */

struct matcher__lists {
	struct matcher_match *pool; /* pool[0] unused so that offset 0 means "empty" */
	size_t n, cap;
	uint64_t *slots; /* open addressing: hash << 32 | (ref + 1); 0 empty */
	size_t nslots, used;
};

/* Start an empty list interner. Returns 0 or -ENOMEM. */
int matcher__lists_init(struct matcher__lists *l);
/*
 * Intern the n matches m (sorted by matcher__match_cmp, no duplicates) and store their ref in
 * *ref (0 for n == 0). Returns 0, -ENOMEM, or -E2BIG when the pool outgrows 27-bit offsets.
 */
int matcher__lists_intern(struct matcher__lists *l, const struct matcher_match *m, size_t n,
                          uint32_t *ref);
/* Drop the interning table and hand the pool over (*pool owned by the caller). */
void matcher__lists_finish(struct matcher__lists *l, struct matcher_match **pool, size_t *n);
void matcher__lists_free(struct matcher__lists *l);

/* Merge sorted lists a and b (union, no duplicates) into out (room for na + nb); returns n. */
size_t matcher__match_merge(const struct matcher_match *a, size_t na, const struct matcher_match *b,
                            size_t nb, struct matcher_match *out);

/* ----- IP sets --------------------------------------------------------------------------- */

/* One prefix to put in a set: start has the host bits cleared; plen counts all 128 bits. */
struct matcher__ip_entry {
	unsigned __int128 start;
	uint8_t plen;
	struct matcher_match m;
};

/* The flattened ranges of a set in address order (kept for build-time queries). */
struct matcher__ip_flat {
	unsigned __int128 *start; /* start[0] == 0; range i ends at start[i + 1] - 1 */
	uint32_t *ref;
	size_t n;
};

/* IPv4 (the ::ffff:0:0/96 part of the address space, keyed by the 32-bit address). */
struct matcher__ip4set {
	uint32_t *dir;        /* 2^bits words: a ref (bit 31 clear) or BUCKET | pairs index */
	uint32_t (*pairs)[2]; /* per split bucket: {count, 0} then {start, ref} sorted */
	size_t npairs;
	uint8_t shift; /* 32 - bits */
	uint8_t bits;
};

/* IPv6 outside ::ffff:0:0/96. Buckets index the bits after the starts' common prefix. */
struct matcher__ip6pair {
	uint64_t hi, lo; /* range start */
	uint32_t ref;
	uint32_t n; /* in a bucket's first pair: the bucket's number of pairs */
};

struct matcher__ip6set {
	uint32_t *dir;
	struct matcher__ip6pair *pairs; /* per split bucket: its ranges, sorted */
	size_t npairs;
	uint64_t common; /* the common prefix of all range starts but 0, right-aligned */
	uint32_t ref_below, ref_above; /* refs of addresses outside the common prefix */
	uint8_t skip;                  /* length of the common prefix (0..64 - bits) */
	uint8_t bits;
};

#define MATCHER__DIR_BUCKET 0x80000000u

/*
 * Build the IPv4 and IPv6 sets from n entries (in any order; e is not changed). Entries
 * with plen >= 96 inside ::ffff:0:0/96 go to the IPv4 set, entries covering that /96 to both,
 * the rest to the IPv6 set. flat4/flat6 receive the flattened ranges (free with
 * matcher__ip_flat_free). Returns 0, -ENOMEM or -E2BIG.
 */
int matcher__ip_build(struct matcher__ip_entry *e, size_t n, struct matcher__lists *lists,
                      struct matcher__ip4set *s4, struct matcher__ip6set *s6,
                      struct matcher__ip_flat *flat4, struct matcher__ip_flat *flat6);
void matcher__ip_flat_free(struct matcher__ip_flat *f);
void matcher__ip4set_free(struct matcher__ip4set *s);
void matcher__ip6set_free(struct matcher__ip6set *s);
size_t matcher__ip4set_bytes(const struct matcher__ip4set *s);
size_t matcher__ip6set_bytes(const struct matcher__ip6set *s);

/* The ref covering a (host byte order) / the 16-byte address. */
static inline uint32_t matcher__ip4_ref(const struct matcher__ip4set *s, uint32_t a)
{
	uint32_t d = s->dir[a >> s->shift];
	const uint32_t(*p)[2];
	uint32_t n, lo, hi;

	if (!(d & MATCHER__DIR_BUCKET))
		return d;
	p = s->pairs + (d & ~MATCHER__DIR_BUCKET);
	n = p[0][0];
	p++;
	/* p[0][0] is the bucket's first address, so the answer is the last start <= a */
	if (n <= 8) {
		uint32_t i = 0;

		while (i + 1 < n && p[i + 1][0] <= a)
			i++;
		return p[i][1];
	}
	lo = 0;
	hi = n; /* invariant: p[lo] <= a, p[hi] > a (hi == n: past the bucket) */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (p[mid][0] <= a)
			lo = mid;
		else
			hi = mid;
	}
	return p[lo][1];
}

uint32_t matcher__ip6_ref(const struct matcher__ip6set *s, uint64_t hi, uint64_t lo);

/* ----- domain sets ------------------------------------------------------------------------ */

struct matcher__dom_entry {
	const char *name; /* interned: equal names are equal pointers */
	uint32_t len;
	bool exact;
	struct matcher_match m;
};

#define MATCHER__DNAME_INLINE 16

/* One name of the set, stored in its hash slot (no indirection between slot and node). */
struct matcher__dnode {
	uint32_t tag;        /* low 32 bits of the name's hash */
	uint16_t len;        /* 0: empty slot */
	uint16_t dist;       /* distance from the home slot (Robin Hood probing) */
	uint32_t ref_suffix; /* entries for this name and its subdomains */
	uint32_t ref_exact;  /* entries for exactly this name */
	union {
		char in[MATCHER__DNAME_INLINE]; /* len <= 16: the name itself (no NUL) */
		const char *ptr;                /* longer: the interned name */
	} name;
};

struct matcher__domset {
	struct matcher__dnode *slots; /* open addressing, Robin Hood linear probing, load <= 0.7 */
	uint64_t nslots;
	uint32_t nnodes;
};

/* Build from n entries (reordered in place). Returns 0, -ENOMEM or -E2BIG. */
int matcher__dom_build(struct matcher__dom_entry *e, size_t n, struct matcher__lists *lists,
                       struct matcher__domset *s);
void matcher__domset_free(struct matcher__domset *s);
size_t matcher__domset_bytes(const struct matcher__domset *s);

/* Callback of matcher__dom_each: one list that matches (suffix or exact). */
typedef void matcher__dom_fn(void *arg, uint32_t ref);
/*
 * Call fn for every non-empty list matching name (exact entries for the full name, suffix
 * entries for it and its parents). Returns the number of lists found. Never allocates.
 */
size_t matcher__dom_each(const struct matcher__domset *s, const char *name, size_t len,
                         matcher__dom_fn *fn, void *arg);

/* ----- ASN sets --------------------------------------------------------------------------- */

struct matcher__asn_entry {
	uint32_t asn;
	struct matcher_match m;
};

struct matcher__asnset {
	uint32_t (*v)[2]; /* sorted {asn, ref} */
	size_t n;
};

int matcher__asn_build(struct matcher__asn_entry *e, size_t n, struct matcher__lists *lists,
                       struct matcher__asnset *s);
void matcher__asnset_free(struct matcher__asnset *s);
uint32_t matcher__asn_ref(const struct matcher__asnset *s, uint32_t asn);

/* ----- the snapshot ----------------------------------------------------------------------- */

/*
 * Zeroed memory for a lookup table of size bytes; tables of 4 MiB and more are 2 MiB-aligned
 * and advised as transparent huge pages, so random lookups miss the TLB less. Free with free().
 */
void *matcher__table_alloc(size_t size);

/* A chunked bump allocator for strings and small arrays; freed all at once. */
struct matcher__arena {
	struct matcher__arena_chunk *head;
};

void *matcher__arena_alloc(struct matcher__arena *a, size_t size, size_t align);
char *matcher__arena_strndup(struct matcher__arena *a, const char *s, size_t len);
void matcher__arena_free(struct matcher__arena *a);
size_t matcher__arena_bytes(const struct matcher__arena *a);

struct matcher_snapshot {
	uint64_t generation; /* stamped by matcher_publish before the pointer swap */
	struct matcher__ip4set ip4;
	struct matcher__ip6set ip6;
	struct matcher__domset dom;
	struct matcher__asnset asn;
	struct matcher_match *pool; /* every interned match list */
	size_t npool;
	struct matcher_indicator *ind;
	uint32_t nind;
	struct matcher_asset *assets;
	uint32_t nassets;
	struct matcher_participant *parts;
	uint32_t nparts;
	struct matcher_listed *listed;
	size_t nlisted;
	struct matcher_load_stats stats; /* stats.feeds owned */
	struct matcher__arena arena;     /* every string and small array the tables point to */
};

/* Bytes the snapshot holds (tables, sets, pool, strings), for the benchmark. */
size_t matcher__snapshot_bytes(const struct matcher_snapshot *snap);

#endif
