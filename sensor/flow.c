/*
 * Per-worker flow table (see flow.h for the contract).
 *
 * Design note. All records live in one pool allocated by flow_table_new; free records are
 * chained through hnext. The hash index is an array of 2^k >= 2 * max_flows slot heads, each
 * a singly linked chain through hnext. Every live record is also on one of three doubly
 * linked LRU lists, one per idle-timeout class (TCP, UDP, other), ordered by last packet
 * time: a packet moves its flow to the tail, so each list's head is its oldest flow and
 * flow_expire stops at the first head that is not idle (O(ended)). Eviction takes the oldest
 * of the three heads. The active timeout is checked when a packet arrives (the flow is cut
 * and a new one starts with that packet); a flow that gets no more packets ends by idle
 * timeout with the same record either way, so records depend only on the flow's own packets.
 * One thread (the worker) owns a table; nothing here locks or allocates after creation.
 */
#include "sensor/flow.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sensor/cursor.h"

enum {
	FLOW_LRU_TCP,
	FLOW_LRU_UDP,
	FLOW_LRU_OTHER,
	FLOW_NLRU
};

struct flow_lru {
	uint32_t head, tail; /* oldest, newest */
};

struct flow_table {
	struct flow_config cfg;
	struct flow *pool;  /* cfg.max_flows records */
	uint32_t *slots;    /* hash heads, FLOW_NONE when empty */
	uint32_t mask;      /* slots - 1 */
	uint32_t free_head; /* free records through hnext */
	uint32_t used;      /* live records */
	struct flow_lru lru[FLOW_NLRU];
	flow_end_fn *end;
	void *arg;
};

/* The canonical key of a packet and which key side sent it. */
struct flow_key {
	const struct addr *a[2];
	uint16_t port[2];
	uint8_t proto;
	uint8_t sender; /* 0 when the packet's source is key side 0 */
};

static void flow_key_of(const struct pkt *p, struct flow_key *k)
{
	int c = memcmp(p->src.b, p->dst.b, sizeof(p->src.b));

	if (c < 0 || (c == 0 && p->sport <= p->dport)) {
		k->a[0] = &p->src;
		k->a[1] = &p->dst;
		k->port[0] = p->sport;
		k->port[1] = p->dport;
		k->sender = 0;
	} else {
		k->a[0] = &p->dst;
		k->a[1] = &p->src;
		k->port[0] = p->dport;
		k->port[1] = p->sport;
		k->sender = 1;
	}
	k->proto = p->proto;
}

static inline uint64_t flow_mix(uint64_t h, uint64_t w)
{
	h ^= w;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 29);
}

static uint64_t flow_key_hash(const struct flow_key *k)
{
	uint64_t w[4], h = 0x243f6a8885a308d3ull;

	memcpy(&w[0], k->a[0]->b, 16);
	memcpy(&w[2], k->a[1]->b, 16);
	for (int i = 0; i < 4; i++)
		h = flow_mix(h, w[i]);
	h = flow_mix(h, (uint64_t)k->port[0] << 24 | (uint64_t)k->port[1] << 8 | k->proto);
	/* murmur3 fmix64: every input bit reaches both halves of the result */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

uint64_t flow_hash_pkt(const struct pkt *p)
{
	struct flow_key k;

	flow_key_of(p, &k);
	return flow_key_hash(&k);
}

static bool flow_key_eq(const struct flow *f, const struct flow_key *k)
{
	return f->port[0] == k->port[0] && f->port[1] == k->port[1] && f->proto == k->proto &&
	       memcmp(f->addr[0].b, k->a[0]->b, 16) == 0 &&
	       memcmp(f->addr[1].b, k->a[1]->b, 16) == 0;
}

static unsigned flow_lru_class(uint8_t proto)
{
	if (proto == IPPROTO_TCP)
		return FLOW_LRU_TCP;
	if (proto == IPPROTO_UDP)
		return FLOW_LRU_UDP;
	return FLOW_LRU_OTHER;
}

static uint64_t flow_idle_timeout(const struct flow_table *t, unsigned cls)
{
	switch (cls) {
	case FLOW_LRU_TCP:
		return t->cfg.tcp_timeout_ns;
	case FLOW_LRU_UDP:
		return t->cfg.udp_timeout_ns;
	default:
		return t->cfg.other_timeout_ns;
	}
}

#define FLOW_HUGE_PAGE (2u << 20)

/*
 * The hash index: every packet reads one slot at a random place in it, so a large index
 * costs a TLB miss per packet on 4 KiB pages. From 2 MiB up it is aligned for transparent
 * huge pages and asks for them (advice only: without them it works the same).
 */
static uint32_t *flow_slots_alloc(size_t size)
{
	void *p;

	if (size < FLOW_HUGE_PAGE)
		return malloc(size);
	size = (size + FLOW_HUGE_PAGE - 1) & ~(size_t)(FLOW_HUGE_PAGE - 1);
	if (posix_memalign(&p, FLOW_HUGE_PAGE, size) != 0) {
		errno = ENOMEM; /* as malloc would say; posix_memalign returns it instead */
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	(void)madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

struct flow_table *flow_table_new(const struct flow_config *cfg, flow_end_fn *end, void *arg)
{
	struct flow_table *t;
	uint64_t nslots = 2;

	if (cfg->max_flows == 0 || cfg->max_flows >= FLOW_NONE / 2) {
		errno = EINVAL;
		return NULL;
	}
	while (nslots < 2 * (uint64_t)cfg->max_flows)
		nslots <<= 1;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->cfg = *cfg;
	t->end = end;
	t->arg = arg;
	t->pool = calloc(cfg->max_flows, sizeof(*t->pool));
	if (t->pool == NULL)
		goto out_free_tbl;
	t->slots = flow_slots_alloc(nslots * sizeof(*t->slots));
	if (t->slots == NULL)
		goto out_free_pool;
	memset(t->slots, 0xff, nslots * sizeof(*t->slots)); /* FLOW_NONE */
	t->mask = (uint32_t)(nslots - 1);
	/*
	 * The free list is written lazily so that creation does not touch the whole pool: a
	 * free record's hnext holds the next free index + 1, and 0 (every record calloc left
	 * untouched) means "the index after this one".
	 */
	t->free_head = 0;
	for (unsigned i = 0; i < FLOW_NLRU; i++)
		t->lru[i].head = t->lru[i].tail = FLOW_NONE;
	return t;
out_free_pool:
	free(t->pool);
out_free_tbl:
	free(t);
	return NULL;
}

void flow_table_free(struct flow_table *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t->pool);
	free(t);
}

uint32_t flow_count(const struct flow_table *t)
{
	return t->used;
}

static void flow_lru_unlink(struct flow_table *t, struct flow *f)
{
	struct flow_lru *l = &t->lru[f->lru];

	if (f->lru_prev != FLOW_NONE)
		t->pool[f->lru_prev].lru_next = f->lru_next;
	else
		l->head = f->lru_next;
	if (f->lru_next != FLOW_NONE)
		t->pool[f->lru_next].lru_prev = f->lru_prev;
	else
		l->tail = f->lru_prev;
}

static void flow_lru_append(struct flow_table *t, struct flow *f, uint32_t idx)
{
	struct flow_lru *l = &t->lru[f->lru];

	f->lru_next = FLOW_NONE;
	f->lru_prev = l->tail;
	if (l->tail != FLOW_NONE)
		t->pool[l->tail].lru_next = idx;
	else
		l->head = idx;
	l->tail = idx;
}

/* End flow idx: hand it to the owner, unlink it and put the record on the free list. */
static void flow_end(struct flow_table *t, uint32_t idx, enum flow_end_reason why)
{
	struct flow *f = &t->pool[idx];
	uint32_t *link = &t->slots[f->hash & t->mask];

	if (t->end != NULL)
		t->end(t->arg, f, why);
	while (*link != idx)
		link = &t->pool[*link].hnext; /* the record is on this chain: we put it there */
	*link = f->hnext;
	flow_lru_unlink(t, f);
	/* onto the free list (see flow_table_new) */
	f->hnext = t->free_head + 1;
	t->free_head = idx;
	t->used--;
}

static uint32_t flow_alloc(struct flow_table *t)
{
	uint32_t idx = t->free_head;
	struct flow *f = &t->pool[idx];

	t->free_head = f->hnext == 0 ? idx + 1 : f->hnext - 1;
	t->used++;
	return idx;
}

/* Index of the least recently seen flow over the three lists. Table must not be empty. */
static uint32_t flow_oldest(const struct flow_table *t)
{
	uint32_t best = FLOW_NONE;

	for (unsigned i = 0; i < FLOW_NLRU; i++) {
		uint32_t h = t->lru[i].head;

		if (h != FLOW_NONE &&
		    (best == FLOW_NONE || t->pool[h].last_ns < t->pool[best].last_ns))
			best = h;
	}
	return best;
}

static bool flow_is_dns_port(const struct pkt *p)
{
	return p->sport == 53 || p->dport == 53;
}

/*
 * QR bit of the first DNS message in p: 0 query, 1 response, -1 when the payload is too
 * short to tell. TCP messages carry a 2-byte length first (RFC 1035 4.2.2).
 */
static int flow_dns_qr(const struct pkt *p)
{
	struct cursor c;
	uint8_t flags;

	cursor_init(&c, p->payload, p->payload_len);
	if (p->proto == IPPROTO_TCP)
		cursor_skip(&c, 2);
	cursor_skip(&c, 2); /* ID */
	flags = cursor_u8(&c);
	if (c.err)
		return -1;
	return flags >> 7;
}

/* Decide the initiator of a new flow from its first packet p (sent by key side sender). */
static void flow_pick_initiator(struct flow *f, const struct pkt *p, uint8_t sender)
{
	bool syn = p->proto == IPPROTO_TCP && (p->tcp_flags & 0x12) == 0x02;
	bool s_low = p->sport < 1024, d_low = p->dport < 1024;
	int qr;

	if (syn) {
		f->init = sender;
		f->init_rule = FLOW_INIT_SYN;
		return;
	}
	if ((p->proto == IPPROTO_UDP || p->proto == IPPROTO_TCP) && flow_is_dns_port(p) &&
	    (qr = flow_dns_qr(p)) >= 0) {
		f->init = qr == 0 ? sender : !sender;
		f->init_rule = FLOW_INIT_DNS;
		return;
	}
	if (s_low != d_low) {
		f->init = s_low ? !sender : sender;
		f->init_rule = FLOW_INIT_PORT;
		return;
	}
	f->init = sender;
	f->init_rule = FLOW_INIT_FIRST;
}

static uint32_t flow_create(struct flow_table *t, const struct pkt *p, const struct flow_key *k,
                            uint64_t hash)
{
	uint32_t idx, slot;
	struct flow *f;

	if (t->used == t->cfg.max_flows)
		flow_end(t, flow_oldest(t), FLOW_END_EVICTED);
	idx = flow_alloc(t);
	f = &t->pool[idx];
	memset(f, 0, sizeof(*f));
	f->addr[0] = *k->a[0];
	f->addr[1] = *k->a[1];
	f->port[0] = k->port[0];
	f->port[1] = k->port[1];
	f->proto = k->proto;
	f->family = p->family;
	f->hash = (uint32_t)hash;
	f->lru = (uint8_t)flow_lru_class(p->proto);
	f->first_ns = f->last_ns = p->ts_ns;
	f->icmp_type = p->icmp_type;
	f->icmp_code = p->icmp_code;
	f->icmp_from = k->sender;
	f->vlan = p->vlan;
	f->tunnel_depth = p->tunnel_depth;
	flow_pick_initiator(f, p, k->sender);
	if (p->tunnel_depth > 0) {
		/* outer[] is by role: the initiator's side first */
		bool from_init = k->sender == f->init;

		f->outer[from_init ? 0 : 1] = p->outer_src;
		f->outer[from_init ? 1 : 0] = p->outer_dst;
	}
	slot = f->hash & t->mask;
	f->hnext = t->slots[slot];
	t->slots[slot] = idx;
	flow_lru_append(t, f, idx);
	return idx;
}

/* Swap initiator and responder (a late SYN from the side taken as responder). */
static void flow_swap_roles(struct flow *f)
{
	struct flow_dir d = f->dir[0];
	struct addr o = f->outer[0];
	uint8_t fl = f->flags;
	uint32_t seq;

	f->init = !f->init;
	f->init_rule = FLOW_INIT_SYN;
	f->dir[0] = f->dir[1];
	f->dir[1] = d;
	f->outer[0] = f->outer[1];
	f->outer[1] = o;
	/* the worker's per-direction DNS stream state follows the roles too */
	seq = f->dns_next_seq[0];
	f->dns_next_seq[0] = f->dns_next_seq[1];
	f->dns_next_seq[1] = seq;
	f->dns_seq_ok = (uint16_t)((f->dns_seq_ok & 1) << 1 | (f->dns_seq_ok & 2) >> 1);
	f->flags = (uint8_t)((fl & ~(FLOW_F_FIN_SRC | FLOW_F_FIN_DST)) | FLOW_F_SWAPPED |
	                     ((fl & FLOW_F_FIN_SRC) ? FLOW_F_FIN_DST : 0) |
	                     ((fl & FLOW_F_FIN_DST) ? FLOW_F_FIN_SRC : 0));
}

struct flow *flow_get(struct flow_table *t, const struct pkt *p, struct flow_hit *hit)
{
	struct flow_key k;
	uint64_t hash;
	uint32_t idx;
	struct flow *f = NULL;
	bool syn = p->proto == IPPROTO_TCP && (p->tcp_flags & 0x12) == 0x02;
	struct flow_dir *d;

	flow_key_of(p, &k);
	hash = flow_key_hash(&k);
	hit->created = false;
	hit->swapped = false;
	for (idx = t->slots[(uint32_t)hash & t->mask]; idx != FLOW_NONE; idx = t->pool[idx].hnext) {
		if (t->pool[idx].hash == (uint32_t)hash && flow_key_eq(&t->pool[idx], &k)) {
			f = &t->pool[idx];
			break;
		}
	}
	if (f != NULL && p->ts_ns > f->last_ns &&
	    p->ts_ns - f->last_ns > flow_idle_timeout(t, f->lru)) {
		flow_end(t, idx, FLOW_END_IDLE);
		f = NULL;
	} else if (f != NULL && t->cfg.active_timeout_ns != 0 && p->ts_ns > f->first_ns &&
	           p->ts_ns - f->first_ns > t->cfg.active_timeout_ns) {
		flow_end(t, idx, FLOW_END_ACTIVE);
		f = NULL;
	} else if (f != NULL && syn &&
	           (f->flags & (FLOW_F_FIN_SRC | FLOW_F_FIN_DST | FLOW_F_RST))) {
		flow_end(t, idx, FLOW_END_TCP_REUSE);
		f = NULL;
	}
	if (f == NULL) {
		idx = flow_create(t, p, &k, hash);
		f = &t->pool[idx];
		hit->created = true;
	} else {
		/* most recently seen goes to the tail of its list (often already there) */
		if (t->lru[f->lru].tail != idx) {
			flow_lru_unlink(t, f);
			flow_lru_append(t, f, idx);
		}
		if (p->ts_ns > f->last_ns)
			f->last_ns = p->ts_ns;
	}
	hit->dir = k.sender == f->init ? FLOW_DIR_SRC : FLOW_DIR_DST;
	if (syn && hit->dir == FLOW_DIR_DST && f->init_rule != FLOW_INIT_SYN &&
	    !(f->flags & FLOW_F_ROLES_FIXED)) {
		flow_swap_roles(f);
		hit->dir = FLOW_DIR_SRC;
		hit->swapped = true;
	}
	d = &f->dir[hit->dir];
	if (d->packets == 0)
		d->first_ns = p->ts_ns;
	if (p->ts_ns > d->last_ns)
		d->last_ns = p->ts_ns;
	d->packets++;
	d->bytes += p->wire_len;
	if (p->proto == IPPROTO_TCP) {
		if (p->tcp_flags & 0x01)
			f->flags |= hit->dir == FLOW_DIR_SRC ? FLOW_F_FIN_SRC : FLOW_F_FIN_DST;
		if (p->tcp_flags & 0x04)
			f->flags |= FLOW_F_RST;
	}
	return f;
}

unsigned flow_expire(struct flow_table *t, uint64_t now_ns)
{
	unsigned n = 0;

	for (unsigned i = 0; i < FLOW_NLRU; i++) {
		uint64_t timeout = flow_idle_timeout(t, i);
		uint32_t h;

		while ((h = t->lru[i].head) != FLOW_NONE && now_ns > t->pool[h].last_ns &&
		       now_ns - t->pool[h].last_ns > timeout) {
			flow_end(t, h, FLOW_END_IDLE);
			n++;
		}
	}
	return n;
}

unsigned flow_finish(struct flow_table *t)
{
	unsigned n = 0;

	while (t->used > 0) {
		flow_end(t, flow_oldest(t), FLOW_END_FINISH);
		n++;
	}
	return n;
}
