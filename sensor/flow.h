/*
 * Per-worker flow table: packets of both directions of a 5-tuple meet in one flow record,
 * which keeps the initiator/responder roles, per-direction counters and the worker's DPI and
 * name-parser state. Flows end by idle or active timeout, by eviction when the table is full,
 * by a new TCP connection on a closed 4-tuple, or at the end of input; each end is handed to
 * the owner's callback (which writes the tipoff.flow record) before the record is reused.
 */
#ifndef TIPOFF_SENSOR_FLOW_H
#define TIPOFF_SENSOR_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "sensor/community_id.h"
#include "sensor/dpi.h"
#include "sensor/names.h"
#include "sensor/pkt.h"

#define FLOW_NONE UINT32_MAX /* "no record" in the table's index links */

enum flow_end_reason {
	FLOW_END_IDLE,      /* no packet for longer than the idle timeout of its transport */
	FLOW_END_ACTIVE,    /* lasted longer than the active timeout; a new flow continues it */
	FLOW_END_EVICTED,   /* the table was full and this was the least recently seen flow */
	FLOW_END_TCP_REUSE, /* a SYN opened a new connection after FIN or RST on this 4-tuple */
	FLOW_END_FINISH,    /* end of input */
};

/* Why a side was taken as initiator (DESIGN.md "What makes an alert", fine print). */
enum flow_init_rule {
	FLOW_INIT_SYN,   /* it sent a SYN without ACK */
	FLOW_INIT_DNS,   /* DNS (port 53): the side not answering, from the first message's QR */
	FLOW_INIT_PORT,  /* exactly one port was below 1024: the other side */
	FLOW_INIT_FIRST, /* it sent the first packet */
};

/* Directions, by role: what the initiator sent, and what the responder sent. */
enum {
	FLOW_DIR_SRC = 0,
	FLOW_DIR_DST = 1
};

/* Flags in struct flow.flags */
#define FLOW_F_FIN_SRC     0x01 /* the initiator sent a FIN */
#define FLOW_F_FIN_DST     0x02 /* the responder sent a FIN */
#define FLOW_F_RST         0x04 /* either side sent a RST */
#define FLOW_F_ROLES_FIXED 0x08 /* set by the owner once something naming the roles was written */
#define FLOW_F_SWAPPED     0x10 /* the roles were swapped by a late SYN */
#define FLOW_F_NAMES_DIR   0x20 /* names_dir is decided (see struct flow) */

struct flow_dir {
	uint64_t packets;
	uint64_t bytes;    /* wire length of the frames */
	uint64_t first_ns; /* 0 when the direction has no packet */
	uint64_t last_ns;
};

#define FLOW_MAX_ALERTED 8 /* alert keys remembered per flow (once-per-flow suppression) */

/* The worker's matching state of a flow (zeroed at creation). */
struct flow_match {
	uint64_t gen;       /* snapshot generation the ends were matched against; 0: not yet */
	uint64_t first_seq; /* read sequence number of the first packet (DNS memory "earlier") */
	uint32_t asn[2];    /* AS numbers of the initiator and responder (0: unknown/not looked up) */
	uint32_t alerted[FLOW_MAX_ALERTED]; /* low bits of the keys of alerts raised in the flow */
	uint8_t nalerted;
	bool asn_done;      /* asn[] was looked up */
};

/*
 * One flow. The key is canonical: (addr[0], port[0]) <= (addr[1], port[1]) as bytes, so both
 * directions find the same record. Fields are written by the owning worker only.
 */
struct flow {
	struct addr addr[2];
	uint16_t port[2];
	uint8_t proto;
	uint8_t family;    /* ADDR_V4 / ADDR_V6 */
	uint8_t init;      /* 0 or 1: which key side is the initiator */
	uint8_t init_rule; /* enum flow_init_rule */
	uint8_t flags;     /* FLOW_F_* */
	uint8_t lru;       /* which LRU list (by idle timeout class) */
	uint8_t icmp_type; /* of the first packet (ICMP flows: for the Community ID) */
	uint8_t icmp_code;
	uint8_t icmp_from;    /* key side that sent the first packet */
	uint8_t tunnel_depth; /* of the first packet */
	uint16_t vlan;        /* outermost VLAN id of the first packet, 0 when none */
	uint32_t hash;        /* low bits index the table */
	uint32_t hnext;       /* next record in the same hash slot, FLOW_NONE at the end */
	uint32_t lru_prev, lru_next;
	uint64_t first_ns, last_ns; /* first and latest packet time */
	struct flow_dir dir[2];     /* [FLOW_DIR_SRC]: sent by the initiator */
	struct addr outer[2];       /* outer tunnel addresses of the initiator, responder side */
	/* owned by the worker: zeroed at creation, released in its end callback */
	struct names_state names;
	struct dpi_flow dpi;
	struct flow_match match; /* alert state: the verdict's generation, alerts raised */
	uint8_t names_dir; /* direction the name parsers follow once FLOW_F_NAMES_DIR is set */
	uint16_t dns_seq_ok;      /* bit per direction: dns_next_seq[] is known */
	uint32_t dns_next_seq[2]; /* DNS over TCP: sequence number of the next message */
	char community_id[COMMUNITY_ID_SIZE]; /* "" until first needed */
};

/* Key side of the initiator and of the responder. */
static inline const struct addr *flow_src_addr(const struct flow *f)
{
	return &f->addr[f->init];
}

static inline const struct addr *flow_dst_addr(const struct flow *f)
{
	return &f->addr[!f->init];
}

static inline uint16_t flow_src_port(const struct flow *f)
{
	return f->port[f->init];
}

static inline uint16_t flow_dst_port(const struct flow *f)
{
	return f->port[!f->init];
}

struct flow_config {
	uint32_t max_flows;      /* records in the pool (>= 1) */
	uint64_t tcp_timeout_ns; /* idle timeouts per transport */
	uint64_t udp_timeout_ns;
	uint64_t other_timeout_ns;
	uint64_t active_timeout_ns; /* 0: none */
};

/* What flow_get did with a packet. */
struct flow_hit {
	uint8_t dir;  /* FLOW_DIR_SRC when the packet was sent by the initiator */
	bool created; /* the packet started the flow */
	bool swapped; /* a SYN from the responder swapped the roles with this packet */
};

/*
 * Called for every flow that ends, before its record is reused. The callback may read and
 * change f but must not call into the table. why says how it ended.
 */
typedef void flow_end_fn(void *arg, struct flow *f, enum flow_end_reason why);

struct flow_table;

/*
 * Create a table with cfg->max_flows records (allocated here, once; untouched pages cost
 * nothing) and a hash index of a power of two >= 2 * max_flows slots. end is called for every
 * flow that ends. Returns NULL on allocation failure or max_flows 0.
 */
struct flow_table *flow_table_new(const struct flow_config *cfg, flow_end_fn *end, void *arg);

/* Free the table without ending its flows (call flow_finish first to write them). NULL ok. */
void flow_table_free(struct flow_table *t);

/*
 * The flow of packet p, created when there is none; counts the packet in it and fills *hit.
 * A flow idle for longer than its timeout, older than the active timeout, or (TCP) closed
 * by FIN/RST when a SYN without ACK arrives, ends first and a new one starts with p. When
 * the table is full the least recently seen flow is evicted. Never allocates; the returned
 * record is valid until the next call into the table.
 */
struct flow *flow_get(struct flow_table *t, const struct pkt *p, struct flow_hit *hit);

/* End every flow idle at now_ns (packet time). Returns how many ended. O(ended). */
unsigned flow_expire(struct flow_table *t, uint64_t now_ns);

/* End every flow, least recently seen first. Returns how many ended. */
unsigned flow_finish(struct flow_table *t);

/* Flows in the table now. */
uint32_t flow_count(const struct flow_table *t);

/*
 * 64-bit hash of p's canonical 5-tuple: the same for both directions. The table indexes by
 * the low 32 bits; the worker dispatch uses the high 32 bits so the two stay independent.
 * Any thread may call it.
 */
uint64_t flow_hash_pkt(const struct pkt *p);

/* True when the flow's transport has ports (TCP, UDP). */
static inline bool flow_has_ports(const struct flow *f)
{
	return f->proto == 6 || f->proto == 17;
}

#endif
