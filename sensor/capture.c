/*
 * libpcap adapter: the only file that includes pcap.h. Opens files (pcap/pcapng by magic,
 * "-" = stdin) and live interfaces with tcpdump's meanings for snaplen, promiscuous mode and
 * buffer size, applies the BPF filter, and hands out packets with nanosecond timestamps.
 */
#include "sensor/capture.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct capture {
	pcap_t *p;
	int dlt;
	bool nano; /* timestamps in ns (pcap_open_offline_with_tstamp_precision) */
	bool live;
};

static bool capture_set_filter(struct capture *c, const char *bpf, char *err, size_t errlen)
{
	struct bpf_program prog;

	if (bpf == NULL || bpf[0] == '\0')
		return true;
	if (pcap_compile(c->p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) == -1) {
		snprintf(err, errlen, "bad filter '%s': %s", bpf, pcap_geterr(c->p));
		return false;
	}
	if (pcap_setfilter(c->p, &prog) == -1) {
		snprintf(err, errlen, "cannot set filter: %s", pcap_geterr(c->p));
		pcap_freecode(&prog);
		return false;
	}
	pcap_freecode(&prog);
	return true;
}

struct capture *capture_open_file(const char *path, const struct capture_opts *o, char *err,
				  size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (c->p == NULL) {
		snprintf(err, errlen, "%s", ebuf);
		free(c);
		return NULL;
	}
	c->nano = true;
	c->dlt = pcap_datalink(c->p);
	if (!capture_set_filter(c, o->bpf, err, errlen)) {
		capture_close(c);
		return NULL;
	}
	return c;
}

struct capture *capture_open_live(const char *iface, const struct capture_opts *o, char *err,
				  size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof(*c));
	int rc;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->live = true;
	c->p = pcap_create(iface, ebuf);
	if (c->p == NULL) {
		snprintf(err, errlen, "%s", ebuf);
		free(c);
		return NULL;
	}
	pcap_set_snaplen(c->p, o->snaplen > 0 ? o->snaplen : 262144);
	pcap_set_promisc(c->p, o->promisc ? 1 : 0);
	pcap_set_timeout(c->p, 100);
	if (o->buffer_kib > 0)
		pcap_set_buffer_size(c->p, o->buffer_kib * 1024);
	if (pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_NANO) == 0)
		c->nano = true;
	rc = pcap_activate(c->p);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", iface,
			 rc == PCAP_ERROR ? pcap_geterr(c->p) : pcap_statustostr(rc));
		capture_close(c);
		return NULL;
	}
	c->dlt = pcap_datalink(c->p);
	if (!capture_set_filter(c, o->bpf, err, errlen)) {
		capture_close(c);
		return NULL;
	}
	return c;
}

enum capture_status capture_next(struct capture *c, struct capture_pkt *out)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc = pcap_next_ex(c->p, &h, &data);

	switch (rc) {
	case 1:
		out->data = data;
		out->cap_len = h->caplen;
		out->wire_len = h->len;
		out->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u +
			     (uint64_t)h->ts.tv_usec * (c->nano ? 1u : 1000u);
		return CAPTURE_PACKET;
	case 0:
		return CAPTURE_TIMEOUT;
	case PCAP_ERROR_BREAK:
		return CAPTURE_EOF;
	default:
		return CAPTURE_ERROR;
	}
}

int capture_dlt(const struct capture *c)
{
	return c->dlt;
}

const char *capture_error(struct capture *c)
{
	return pcap_geterr(c->p);
}

bool capture_stats(struct capture *c, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped)
{
	struct pcap_stat st;

	if (!c->live || pcap_stats(c->p, &st) != 0)
		return false;
	*received = st.ps_recv;
	*dropped = st.ps_drop;
	*if_dropped = st.ps_ifdrop;
	return true;
}

void capture_breakloop(struct capture *c)
{
	pcap_breakloop(c->p);
}

void capture_close(struct capture *c)
{
	if (c == NULL)
		return;
	if (c->p != NULL)
		pcap_close(c->p);
	free(c);
}
