/*
 * nDPI adapter: protocol classification of flows for network.protocol. The only file that
 * includes nDPI's headers is dpi.c. Each worker has its own detection module and a pool of
 * nDPI per-flow states; a flow borrows a state only while nDPI still wants its packets
 * (detection plus extra dissection, at most DPI_MAX_PACKETS packets), then gives it back.
 */
#ifndef TIPOFF_SENSOR_DPI_H
#define TIPOFF_SENSOR_DPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor/pkt.h"

#define DPI_MAX_PACKETS 10 /* packets of one flow fed to nDPI at most */
#define DPI_NAME_SIZE   64 /* buffer size for dpi_flow_name() */

enum dpi_status {
	DPI_NEW = 0,  /* no packet fed yet (the zeroed state) */
	DPI_RUNNING,  /* holds a pooled nDPI state */
	DPI_DONE,     /* classified (or given up); the state went back to the pool */
	DPI_NO_STATE, /* the pool was empty at the flow's first packet: never classified */
};

/* Per-flow part, kept in the flow record; all zero when the flow is created. */
struct dpi_flow {
	uint32_t slot;   /* 1 + pool index of the nDPI state while DPI_RUNNING */
	uint16_t master; /* nDPI master protocol id once known (0: unknown) */
	uint16_t app;    /* nDPI application protocol id */
	uint8_t status;  /* enum dpi_status */
	uint8_t npkts;   /* packets fed to nDPI */
	bool detected;   /* nDPI detected the protocol (not a give-up guess) */
};

#define DPI_COUNTERS(X)                                                            \
	X(dpi_packets)        /* packets fed to nDPI */                            \
	X(dpi_flows_detected) /* flows classified from their packets */            \
	X(dpi_flows_given_up) /* flows ended or out of packets before detection */ \
	X(dpi_no_state)       /* flows not classified because the state pool was empty */

enum dpi_counter {
#define DPI_ENUM_(n) DPI_C_##n,
	DPI_COUNTERS(DPI_ENUM_)
#undef DPI_ENUM_
	DPI_NCOUNTERS
};

struct dpi_ctx; /* per worker: nDPI detection module, state pool, counters */

/*
 * Create a worker's DPI context with nstates pooled nDPI flow states (the pool is allocated
 * here, once, and pages in as used). Slow (nDPI builds its automata): call at start-up only,
 * from one thread at a time (nDPI's initialisation is not thread-safe). NULL on failure.
 */
struct dpi_ctx *dpi_new(uint32_t nstates);
void dpi_free(struct dpi_ctx *ctx); /* accepts NULL; the flows must have been ended */

/*
 * Feed one packet of the flow (either direction; p->l3 is the innermost IP header). Does
 * nothing once the flow is DPI_DONE or DPI_NO_STATE. Never allocates itself (nDPI may, for
 * its own reassembly buffers).
 */
void dpi_packet(struct dpi_ctx *ctx, struct dpi_flow *df, const struct pkt *p);

/* True while the flow still wants packets (lets the caller skip the call). */
static inline bool dpi_wants_packets(const struct dpi_flow *df)
{
	return df->status <= DPI_RUNNING;
}

/* The flow ends: give up detection if it is still running and return its state. */
void dpi_end(struct dpi_ctx *ctx, struct dpi_flow *df);

/*
 * network.protocol: nDPI's protocol name in lower case ("tls.google", "dns", "unknown") into
 * buf (size >= DPI_NAME_SIZE). Returns the length.
 */
size_t dpi_flow_name(struct dpi_ctx *ctx, const struct dpi_flow *df, char *buf, size_t size);

/* The counters of ctx (written by its worker only). */
const uint64_t *dpi_counters(const struct dpi_ctx *ctx);

#endif
