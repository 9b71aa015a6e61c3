/*
 * Packet capture through libpcap (capture.c is the only file that calls it): offline files
 * (pcap and pcapng, detected by magic; "-" is stdin) and live interfaces.
 */
#ifndef TIPOFF_SENSOR_CAPTURE_H
#define TIPOFF_SENSOR_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct capture;

struct capture_opts {
	int snaplen;     /* -s: 0 means the default (262144) */
	bool promisc;    /* false with -p */
	int buffer_kib;  /* -B: kernel buffer in KiB, 0 for libpcap's default */
	const char *bpf; /* -f: filter expression or NULL */
};

/* One packet, borrowed from libpcap until the next capture_next() on the same handle. */
struct capture_pkt {
	const uint8_t *data;
	uint32_t cap_len;
	uint32_t wire_len;
	uint64_t ts_ns;
};

enum capture_status {
	CAPTURE_PACKET = 1,  /* *out holds a packet */
	CAPTURE_TIMEOUT = 0, /* live: no packet within the read timeout */
	CAPTURE_EOF = -1,    /* file ended cleanly */
	CAPTURE_ERROR = -2,  /* read error (truncated file, interface gone): capture_error() */
};

/* Open a file ("-" for stdin). Returns NULL and writes why into err. */
struct capture *capture_open_file(const char *path, const struct capture_opts *o, char *err,
				  size_t errlen);

/* Open and activate a live interface. Returns NULL and writes why into err. */
struct capture *capture_open_live(const char *iface, const struct capture_opts *o, char *err,
				  size_t errlen);

enum capture_status capture_next(struct capture *c, struct capture_pkt *out);

/* The DLT_* link type of c. */
int capture_dlt(const struct capture *c);

/* Text of the last error on c. */
const char *capture_error(struct capture *c);

/* Kernel counters of a live handle (pcap_stats); false when not available. */
bool capture_stats(struct capture *c, uint64_t *received, uint64_t *dropped, uint64_t *if_dropped);

/* Make a blocked capture_next() return CAPTURE_EOF soon. Safe in a signal handler. */
void capture_breakloop(struct capture *c);

void capture_close(struct capture *c); /* accepts NULL */

#endif
