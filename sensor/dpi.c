/*
 * nDPI adapter (the only file that includes nDPI): one detection module per worker and a
 * pool of nDPI flow states with a free list. A flow takes a state at its first packet and
 * returns it as soon as nDPI has classified it and wants no extra packets (or none that could
 * still change the protocol name: dpi_name_is_final), or after DPI_MAX_PACKETS packets (then
 * giving up with nDPI's port-based guess), so the pool only needs to cover the flows still
 * being classified. Called by the owning worker only.
 */
#include "sensor/dpi.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi_api.h>

#define DPI_NAME_CACHE 256 /* network.protocol texts remembered, by (master, app) */

struct dpi_name_slot {
	uint16_t master, app;
	uint8_t len; /* 0: empty (every name has at least one character) */
	char name[DPI_NAME_SIZE];
};

struct dpi_ctx {
	struct ndpi_detection_module_struct *mod;
	uint8_t *states; /* nstates records of state_size bytes */
	size_t state_size;
	uint32_t nstates;
	uint32_t *free_list; /* stack of free indices */
	uint8_t *in_use;     /* per state: 1 while a flow holds it (freed by dpi_free if left) */
	uint32_t nfree;
	uint64_t n[DPI_NCOUNTERS];
	struct dpi_name_slot names[DPI_NAME_CACHE]; /* direct-mapped */
};

/* nDPI's module initialisation must not run in parallel (ndpi_api.h). */
static pthread_mutex_t dpi_init_lock = PTHREAD_MUTEX_INITIALIZER;

struct dpi_ctx *dpi_new(uint32_t nstates)
{
	struct dpi_ctx *ctx;
	NDPI_PROTOCOL_BITMASK all;

	if (nstates == 0)
		nstates = 1;
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return NULL;
	/* round to 16 bytes so every state is aligned for nDPI's 64-bit fields */
	ctx->state_size = (SIZEOF_FLOW_STRUCT + 15) & ~(size_t)15;
	ctx->nstates = nstates;
	ctx->states = calloc(nstates, ctx->state_size);
	if (ctx->states == NULL)
		goto out_free;
	ctx->free_list = calloc(nstates, sizeof(*ctx->free_list));
	ctx->in_use = calloc(nstates, sizeof(*ctx->in_use));
	if (ctx->free_list == NULL || ctx->in_use == NULL)
		goto out_free;
	for (uint32_t i = 0; i < nstates; i++)
		ctx->free_list[i] = nstates - 1 - i; /* pop from the end: index 0 first */
	ctx->nfree = nstates;
	pthread_mutex_lock(&dpi_init_lock);
	ctx->mod = ndpi_init_detection_module(ndpi_no_prefs);
	if (ctx->mod != NULL) {
		NDPI_BITMASK_SET_ALL(all);
		ndpi_set_protocol_detection_bitmask2(ctx->mod, &all);
		ndpi_finalize_initialization(ctx->mod);
	}
	pthread_mutex_unlock(&dpi_init_lock);
	if (ctx->mod == NULL)
		goto out_free;
	return ctx;
out_free:
	dpi_free(ctx);
	return NULL;
}

void dpi_free(struct dpi_ctx *ctx)
{
	if (ctx == NULL)
		return;
	/* states of flows never ended (worker freed without worker_finish): nDPI's buffers */
	for (uint32_t i = 0; ctx->in_use != NULL && i < ctx->nstates; i++) {
		uint8_t *st = ctx->states + (size_t)i * ctx->state_size;

		if (ctx->in_use[i])
			ndpi_free_flow_data((struct ndpi_flow_struct *)st);
	}
	if (ctx->mod != NULL)
		ndpi_exit_detection_module(ctx->mod);
	free(ctx->in_use);
	free(ctx->free_list);
	free(ctx->states);
	free(ctx);
}

const uint64_t *dpi_counters(const struct dpi_ctx *ctx)
{
	return ctx->n;
}

static struct ndpi_flow_struct *dpi_state(struct dpi_ctx *ctx, const struct dpi_flow *df)
{
	return (struct ndpi_flow_struct *)(ctx->states + (size_t)(df->slot - 1) * ctx->state_size);
}

static void dpi_store(struct dpi_flow *df, ndpi_protocol proto)
{
	df->master = proto.master_protocol;
	df->app = proto.app_protocol;
}

/* Give the flow's state back: nDPI's own allocations inside it first. */
static void dpi_release(struct dpi_ctx *ctx, struct dpi_flow *df)
{
	ndpi_free_flow_data(dpi_state(ctx, df));
	ctx->in_use[df->slot - 1] = 0;
	ctx->free_list[ctx->nfree++] = df->slot - 1;
	df->slot = 0;
	df->status = DPI_DONE;
}

/*
 * After detection nDPI may want extra packets; whether they can still change the flow's
 * protocol name (all we take from nDPI) depends on the protocol. TLS goes on to the server's
 * certificate, whose names only count (nDPI 4.2 processCertificate) when the ClientHello's
 * SNI did not already name the subprotocol: once it did, the rest of the handshake (JA3S,
 * certificate hashing) changes nothing we read. Other protocols (HTTP responses, DNS answers,
 * QUIC hellos spread over several Initials) can still change the name and keep going.
 */
static bool dpi_name_is_final(const struct ndpi_flow_struct *st, ndpi_protocol proto)
{
	bool tls = proto.master_protocol == NDPI_PROTOCOL_TLS ||
	           proto.app_protocol == NDPI_PROTOCOL_TLS;

	return tls && st->protos.tls_quic.subprotocol_detected;
}

static void dpi_give_up(struct dpi_ctx *ctx, struct dpi_flow *df)
{
	uint8_t guessed = 0;

	dpi_store(df, ndpi_detection_giveup(ctx->mod, dpi_state(ctx, df), 1, &guessed));
	ctx->n[DPI_C_dpi_flows_given_up]++;
}

void dpi_packet(struct dpi_ctx *ctx, struct dpi_flow *df, const struct pkt *p)
{
	struct ndpi_flow_struct *st;
	ndpi_protocol proto;

	if (df->status == DPI_NEW) {
		if (ctx->nfree == 0) {
			df->status = DPI_NO_STATE;
			ctx->n[DPI_C_dpi_no_state]++;
			return;
		}
		df->slot = ctx->free_list[--ctx->nfree] + 1;
		ctx->in_use[df->slot - 1] = 1;
		memset(dpi_state(ctx, df), 0, ctx->state_size);
		df->status = DPI_RUNNING;
	} else if (df->status != DPI_RUNNING) {
		return;
	}
	if (p->l3 == NULL || p->l3_len == 0)
		return;
	st = dpi_state(ctx, df);
	proto = ndpi_detection_process_packet(
	        ctx->mod, st, p->l3, (unsigned short)(p->l3_len > 65535 ? 65535 : p->l3_len),
	        p->ts_ns / 1000000u);
	df->npkts++;
	ctx->n[DPI_C_dpi_packets]++;
	if (proto.app_protocol != NDPI_PROTOCOL_UNKNOWN ||
	    proto.master_protocol != NDPI_PROTOCOL_UNKNOWN) {
		if (!df->detected)
			ctx->n[DPI_C_dpi_flows_detected]++;
		df->detected = true;
		dpi_store(df, proto);
		if (dpi_name_is_final(st, proto) || !ndpi_extra_dissection_possible(ctx->mod, st)) {
			dpi_release(ctx, df);
			return;
		}
	}
	if (df->npkts >= DPI_MAX_PACKETS) {
		if (!df->detected)
			dpi_give_up(ctx, df);
		dpi_release(ctx, df);
	}
}

void dpi_end(struct dpi_ctx *ctx, struct dpi_flow *df)
{
	if (df->status != DPI_RUNNING)
		return;
	if (!df->detected)
		dpi_give_up(ctx, df);
	dpi_release(ctx, df);
}

/* nDPI's name of (master, app) in lower case into buf[size]; returns the length. */
static size_t dpi_make_name(struct dpi_ctx *ctx, uint16_t master, uint16_t app, char *buf,
                            size_t size)
{
	ndpi_protocol proto;
	size_t n;

	memset(&proto, 0, sizeof(proto));
	proto.master_protocol = master;
	proto.app_protocol = app;
	buf[0] = '\0';
	ndpi_protocol2name(ctx->mod, proto, buf, (u_int)size);
	buf[size - 1] = '\0';
	n = strlen(buf);
	for (size_t i = 0; i < n; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
	return n;
}

size_t dpi_flow_name(struct dpi_ctx *ctx, const struct dpi_flow *df, char *buf, size_t size)
{
	/* called for every flow record: remember the text rather than snprintf it each time */
	struct dpi_name_slot *s = &ctx->names[(df->master * 31u + df->app) % DPI_NAME_CACHE];
	size_t n;

	if (size == 0)
		return 0;
	if (s->len == 0 || s->master != df->master || s->app != df->app) {
		n = dpi_make_name(ctx, df->master, df->app, s->name, sizeof(s->name));
		if (n == 0)
			return dpi_make_name(ctx, df->master, df->app, buf, size);
		s->master = df->master;
		s->app = df->app;
		s->len = (uint8_t)n;
	}
	n = s->len < size ? s->len : size - 1;
	memcpy(buf, s->name, n);
	buf[n] = '\0';
	return n;
}
