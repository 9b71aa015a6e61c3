/*
 * DNS memory table.
 *
 * Design: 4-way set-associative buckets. The key is (asking host, answer address); the bucket
 * is chosen by a hash of both. The writer replaces the same key in place, else an empty or
 * expired way, else the way with the oldest sequence number (counted as evicted), so the table
 * stays bounded and drops the oldest ties first.
 *
 * Concurrency: one writer, any number of readers. Each way is a sequence lock over words that
 * are read and written with relaxed atomics: the writer makes the counter odd, writes, makes it
 * even; a reader copies the words between two reads of the counter and retries when they differ
 * or are odd. Nobody waits on anybody; a reader that keeps losing the race gives up (a missed
 * tie, never a torn one).
 */
#include "sensor/dnsmem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define DNSMEM_WAYS 4

/* The payload of one way, copied in and out as 64-bit words. */
struct dnsmem_rec {
	struct addr host;
	struct addr addr;
	struct dnsmem_hit hit;
};

#define DNSMEM_WORDS ((sizeof(struct dnsmem_rec) + 7) / 8)

struct dnsmem_way {
	atomic_uint_fast64_t seqlock;      /* odd while the writer is changing the words */
	atomic_uint_fast64_t w[DNSMEM_WORDS];
};

struct dnsmem {
	uint32_t nbuckets_mask;
	struct dnsmem_way *ways; /* nbuckets * DNSMEM_WAYS */
	/* Writer-private shadow of each way's key and age, so the writer never rereads words. */
	struct dnsmem_shadow {
		struct addr host, addr;
		uint64_t seq, expires_ns;
		bool used;
	} *shadow;
	atomic_uint_fast64_t counters[DNSMEM_NCOUNTERS];
};

const char *const dnsmem_counter_names[DNSMEM_NCOUNTERS] = {
#define DNSMEM_NAME_(n) #n,
	DNSMEM_COUNTERS(DNSMEM_NAME_)
#undef DNSMEM_NAME_
};

struct dnsmem *dnsmem_new(uint32_t capacity)
{
	struct dnsmem *m = calloc(1, sizeof(*m));
	uint32_t nb = 16;

	if (m == NULL)
		return NULL;
	while (nb * DNSMEM_WAYS < capacity && nb < (1u << 28))
		nb <<= 1;
	m->nbuckets_mask = nb - 1;
	m->ways = calloc((size_t)nb * DNSMEM_WAYS, sizeof(*m->ways));
	m->shadow = calloc((size_t)nb * DNSMEM_WAYS, sizeof(*m->shadow));
	if (m->ways == NULL || m->shadow == NULL) {
		dnsmem_free(m);
		return NULL;
	}
	return m;
}

void dnsmem_free(struct dnsmem *m)
{
	if (m == NULL)
		return;
	free(m->ways);
	free(m->shadow);
	free(m);
}

static uint32_t dnsmem_hash(const struct addr *host, const struct addr *addr)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	uint64_t v[4];

	memcpy(v, host->b, 16);
	memcpy(v + 2, addr->b, 16);
	for (int i = 0; i < 4; i++) {
		/* murmur3's 64-bit finaliser per word: every input bit reaches every output bit */
		h ^= v[i];
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
		h *= 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 33;
	}
	return (uint32_t)h;
}

static void dnsmem_count(struct dnsmem *m, enum dnsmem_counter c)
{
	atomic_fetch_add_explicit(&m->counters[c], 1, memory_order_relaxed);
}

static void dnsmem_store(struct dnsmem_way *w, const struct dnsmem_rec *rec)
{
	uint64_t words[DNSMEM_WORDS];
	uint64_t s = atomic_load_explicit(&w->seqlock, memory_order_relaxed);

	memset(words, 0, sizeof(words));
	memcpy(words, rec, sizeof(*rec));
	atomic_store_explicit(&w->seqlock, s + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < DNSMEM_WORDS; i++)
		atomic_store_explicit(&w->w[i], words[i], memory_order_relaxed);
	atomic_store_explicit(&w->seqlock, s + 2, memory_order_release);
}

static bool dnsmem_load(const struct dnsmem_way *cw, struct dnsmem_rec *rec)
{
	struct dnsmem_way *w = (struct dnsmem_way *)cw;
	uint64_t words[DNSMEM_WORDS];

	for (int attempt = 0; attempt < 8; attempt++) {
		uint64_t s1 = atomic_load_explicit(&w->seqlock, memory_order_acquire);

		if (s1 & 1)
			continue;
		for (size_t i = 0; i < DNSMEM_WORDS; i++)
			words[i] = atomic_load_explicit(&w->w[i], memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&w->seqlock, memory_order_relaxed) == s1) {
			memcpy(rec, words, sizeof(*rec));
			return s1 != 0; /* 0: never written */
		}
	}
	return false;
}

/* Append name i of src (or a new name) to dst if it fits; false when it did not. */
static bool dnsmem_add(struct dnsmem_hit *dst, const char *name, size_t len, bool is_q,
		       unsigned q, uint64_t seq, uint64_t expires_ns, size_t *used)
{
	unsigned k = dst->nnames;

	if (k == DNSMEM_MAX_NAMES || *used + len > DNSMEM_NAMES_BYTES)
		return false;
	memcpy(dst->names + *used, name, len);
	dst->off[k] = (uint16_t)*used;
	dst->len[k] = (uint16_t)len;
	dst->is_question[k] = is_q;
	dst->question[k] = (uint16_t)q;
	dst->seq[k] = seq;
	dst->expires_ns[k] = expires_ns;
	dst->nnames++;
	*used += len;
	return true;
}

void dnsmem_record(struct dnsmem *m, const struct addr *host, const struct addr *addr,
		   const char *const *names, const size_t *lens, unsigned n, uint64_t seq,
		   uint64_t now_ns, uint64_t expires_ns)
{
	uint32_t b = dnsmem_hash(host, addr) & m->nbuckets_mask;
	size_t base = (size_t)b * DNSMEM_WAYS;
	struct dnsmem_rec rec, old;
	bool have_old = false;
	size_t used = 0;
	int victim = -1;

	if (n == 0)
		return;
	for (int i = 0; i < DNSMEM_WAYS; i++) {
		struct dnsmem_shadow *sh = &m->shadow[base + i];

		if (sh->used && memcmp(&sh->host, host, sizeof(*host)) == 0 &&
		    memcmp(&sh->addr, addr, sizeof(*addr)) == 0) {
			victim = i;
			/* Only this thread writes, so the way cannot change under us. */
			have_old = dnsmem_load(&m->ways[base + i], &old);
			dnsmem_count(m, DNSMEM_refreshed);
			break;
		}
	}
	if (victim < 0) {
		uint64_t oldest = UINT64_MAX;

		for (int i = 0; i < DNSMEM_WAYS; i++) {
			struct dnsmem_shadow *sh = &m->shadow[base + i];

			if (!sh->used) {
				victim = i;
				break;
			}
			if (sh->seq < oldest) {
				oldest = sh->seq;
				victim = i;
			}
		}
		if (m->shadow[base + victim].used)
			dnsmem_count(m, DNSMEM_evicted);
		dnsmem_count(m, DNSMEM_recorded);
	}

	memset(&rec, 0, sizeof(rec));
	rec.host = *host;
	rec.addr = *addr;
	for (unsigned i = 0; i < n; i++)
		if (!dnsmem_add(&rec.hit, names[i], lens[i], i == 0, 0, seq, expires_ns, &used))
			dnsmem_count(m, DNSMEM_names_dropped);
	if (have_old) {
		int map[DNSMEM_MAX_NAMES]; /* old index -> index in rec, -1 when dropped */
		unsigned nnew = rec.hit.nnames;
		unsigned kept_old = 0; /* bit per new name that keeps an earlier tie */

		for (unsigned i = 0; i < old.hit.nnames; i++) {
			const char *nm = old.hit.names + old.hit.off[i];
			unsigned fresh = rec.hit.nnames;

			map[i] = -1;
			/* A name tied again: one tie, from the earlier answer while that one is still
			 * live (so flows between the two answers stay explained), to the later expiry. */
			for (unsigned j = 0; j < nnew; j++)
				if (rec.hit.len[j] == old.hit.len[i] &&
				    memcmp(rec.hit.names + rec.hit.off[j], nm, old.hit.len[i]) == 0)
					map[i] = (int)j;
			if (map[i] >= 0) {
				if (old.hit.expires_ns[i] >= now_ns &&
				    old.hit.seq[i] < rec.hit.seq[map[i]]) {
					rec.hit.seq[map[i]] = old.hit.seq[i];
					if (old.hit.expires_ns[i] > rec.hit.expires_ns[map[i]])
						rec.hit.expires_ns[map[i]] = old.hit.expires_ns[i];
					kept_old |= 1u << map[i];
				}
				continue;
			}
			if (dnsmem_add(&rec.hit, nm, old.hit.len[i], old.hit.is_question[i],
				       fresh, old.hit.seq[i], old.hit.expires_ns[i], &used))
				map[i] = (int)fresh;
			else
				dnsmem_count(m, DNSMEM_names_dropped);
		}
		/* Point the kept old names at their question's new place (or at themselves). */
		for (unsigned i = 0; i < old.hit.nnames; i++) {
			int q = map[old.hit.question[i]];

			if (map[i] >= (int)nnew || (map[i] >= 0 && (kept_old & 1u << map[i]) &&
						    !rec.hit.is_question[map[i]]))
				rec.hit.question[map[i]] = (uint16_t)(q >= 0 ? q : map[i]);
		}
	}
	dnsmem_store(&m->ways[base + victim], &rec);
	m->shadow[base + victim] = (struct dnsmem_shadow){
		.host = *host, .addr = *addr, .seq = seq, .expires_ns = expires_ns, .used = true
	};
}

bool dnsmem_lookup(const struct dnsmem *m, const struct addr *host, const struct addr *addr,
		   uint64_t before_seq, uint64_t now_ns, struct dnsmem_hit *out)
{
	uint32_t b = dnsmem_hash(host, addr) & m->nbuckets_mask;
	size_t base = (size_t)b * DNSMEM_WAYS;
	struct dnsmem_rec rec;

	for (int i = 0; i < DNSMEM_WAYS; i++) {
		size_t used = 0;

		if (!dnsmem_load(&m->ways[base + i], &rec))
			continue;
		if (memcmp(&rec.host, host, sizeof(*host)) != 0 ||
		    memcmp(&rec.addr, addr, sizeof(*addr)) != 0)
			continue;
		out->nnames = 0;
		int map[DNSMEM_MAX_NAMES];

		for (unsigned k = 0; k < rec.hit.nnames; k++) {
			map[k] = -1;
			if (rec.hit.seq[k] >= before_seq || now_ns > rec.hit.expires_ns[k])
				continue;
			map[k] = (int)out->nnames;
			dnsmem_add(out, rec.hit.names + rec.hit.off[k], rec.hit.len[k],
				   rec.hit.is_question[k], out->nnames, rec.hit.seq[k],
				   rec.hit.expires_ns[k], &used);
		}
		for (unsigned k = 0; k < rec.hit.nnames; k++) {
			int q;

			if (map[k] < 0)
				continue;
			q = map[rec.hit.question[k]];
			/* its own question lapsed: the newest question that qualifies (a name
			 * tied by two answers was reached from either) */
			for (unsigned j = 0; q < 0 && j < out->nnames; j++)
				if (out->is_question[j])
					q = (int)j;
			if (q >= 0)
				out->question[map[k]] = (uint16_t)q;
		}
		return out->nnames > 0;
	}
	return false;
}

void dnsmem_counters(const struct dnsmem *m, uint64_t out[DNSMEM_NCOUNTERS])
{
	for (int i = 0; i < DNSMEM_NCOUNTERS; i++)
		out[i] = atomic_load_explicit(&((struct dnsmem *)m)->counters[i],
					      memory_order_relaxed);
}
