/*
 * Tests of the packet decoder (sensor/decode.c) and addr_str (sensor/addr.c).
 *
 *   test_decode                     unit tests: frames built byte by byte, and frames of real
 *                                   captures checked against tshark's dissection of them
 *   test_decode --corpus DIR        every frame of every capture under DIR, with invariants
 *   test_decode --tshark PROG DIR   addresses and ports of every frame of the tunnel captures
 *                                   under DIR against what tshark (PROG) says
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "sensor/decode.h"
#include "sensor/pkt.h"

#ifndef DECODE_TEST_PCAPS
#define DECODE_TEST_PCAPS "../shared/corpus/pcaps"
#endif

enum {
	LINK_NULL = 0,
	LINK_ETHER = 1,
	LINK_PPP = 9,
	LINK_RAW = 12,
	LINK_C_HDLC = 104,
	LINK_LOOP = 108,
	LINK_SLL = 113,
	LINK_IPV4 = 228,
	LINK_IPV6 = 229,
	LINK_SLL2 = 276,
};

/* ---- helpers ------------------------------------------------------------------------- */

/* The name of the one counter that differs between a and b, or "" / "several". */
static const char *counter_moved(const struct decode_stats *a, const struct decode_stats *b)
{
	const char *name = "";

	for (int i = 0; i < DECODE_NCOUNTERS; i++) {
		if (a->n[i] == b->n[i])
			continue;
		if (name[0] != '\0')
			return "several";
		name = decode_counter_names[i];
	}
	return name;
}

/* What one decode did: result, the counter it moved ("" for none), and the packet. */
struct outcome {
	enum decode_result r;
	const char *counter;
	struct pkt p;
	char src[64], dst[64], osrc[64], odst[64];
};

static void decode_one(int dlt, const uint8_t *b, size_t n, struct outcome *o)
{
	struct decode_stats st = { { 0 } }, before;

	memset(&o->p, 0xa5, sizeof(o->p)); /* garbage in, so that unset fields show */
	before = st;
	o->r = decode_packet(dlt, b, (uint32_t)n, (uint32_t)n, 1, &o->p, &st);
	o->counter = counter_moved(&before, &st);
	o->src[0] = o->dst[0] = o->osrc[0] = o->odst[0] = '\0';
	if (o->r == DECODE_OK) {
		addr_str(&o->p.src, o->src, sizeof(o->src));
		addr_str(&o->p.dst, o->dst, sizeof(o->dst));
		addr_str(&o->p.outer_src, o->osrc, sizeof(o->osrc));
		addr_str(&o->p.outer_dst, o->odst, sizeof(o->odst));
	}
}

/*
 * Invariants every decode must keep, whatever the input: exactly one counter for a non-OK
 * result, at most one for OK, and every pointer of an OK packet inside the frame.
 */
static bool decode_invariants_hold(const uint8_t *b, size_t n, const struct outcome *o, char *why,
                                   size_t whylen)
{
	const struct pkt *p = &o->p;

	if (o->r != DECODE_OK) {
		if (o->counter[0] == '\0' || strcmp(o->counter, "several") == 0) {
			snprintf(why, whylen, "result %d moved counter '%s'", o->r, o->counter);
			return false;
		}
		return true;
	}
	if (strcmp(o->counter, "several") == 0 ||
	    (o->counter[0] != '\0' && strcmp(o->counter, "other_transport") != 0 &&
	     strcmp(o->counter, "bad_tunnel") != 0 && strcmp(o->counter, "tunnel_too_deep") != 0)) {
		snprintf(why, whylen, "OK moved counter '%s'", o->counter);
		return false;
	}
	if (p->family != ADDR_V4 && p->family != ADDR_V6) {
		snprintf(why, whylen, "family %u", p->family);
		return false;
	}
	if (p->family == ADDR_V4 && !(addr_is_v4(&p->src) && addr_is_v4(&p->dst))) {
		snprintf(why, whylen, "IPv4 packet with addresses that are not IPv4-mapped");
		return false;
	}
	if (p->tunnel_depth > 4) {
		snprintf(why, whylen, "tunnel_depth %u", p->tunnel_depth);
		return false;
	}
	if (p->l3 < b || p->l3 + p->l3_len > b + n) {
		snprintf(why, whylen, "l3 outside the frame");
		return false;
	}
	if (p->payload < p->l3 || p->payload + p->payload_len > p->l3 + p->l3_len) {
		snprintf(why, whylen, "payload outside the IP packet");
		return false;
	}
	if (p->payload_len > p->payload_wire_len) {
		snprintf(why, whylen, "payload_len %u > payload_wire_len %u", p->payload_len,
		         p->payload_wire_len);
		return false;
	}
	if (p->proto != 6 && p->proto != 17 && p->proto != 1 && p->proto != 58 &&
	    (p->sport != 0 || p->dport != 0)) {
		snprintf(why, whylen, "ports on protocol %u", p->proto);
		return false;
	}
	return true;
}

/* ---- real captures ------------------------------------------------------------------- */

static bool dir_exists(const char *dir);

static bool corpus_present(void)
{
	return dir_exists(DECODE_TEST_PCAPS);
}

static uint8_t frame_buf[262144];

/*
 * Frame number nr (1-based, as tshark counts) of capture rel under the corpus: copied into
 * frame_buf, its length in *len, the link type returned (-1: no such frame or file).
 */
static int capture_frame(const char *rel, unsigned nr, size_t *len)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	int dlt = -1;

	snprintf(path, sizeof(path), "%s/%s", DECODE_TEST_PCAPS, rel);
	pc = pcap_open_offline(path, err);
	if (pc == NULL) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	for (unsigned i = 1; pcap_next_ex(pc, &h, &data) == 1; i++) {
		if (i != nr)
			continue;
		*len = h->caplen < sizeof(frame_buf) ? h->caplen : sizeof(frame_buf);
		memcpy(frame_buf, data, *len);
		dlt = pcap_datalink(pc);
		break;
	}
	pcap_close(pc);
	return dlt;
}

/*
 * Decode frame nr of capture rel and check it against tshark's answer for the same frame
 * (sport < 0: ports not checked). The frame is decoded from a copy of its exact size, so
 * that ASan sees any read past its end.
 */
static void check_capture_frame(const char *rel, unsigned nr, enum decode_result want,
                                const char *src, const char *dst, int sport, int dport,
                                unsigned depth)
{
	struct outcome o;
	size_t len = 0;
	int dlt = capture_frame(rel, nr, &len);

	uint8_t *copy;

	CHECK(dlt >= 0);
	if (dlt < 0)
		return;
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, frame_buf, len);
	decode_one(dlt, copy, len, &o);
	free(copy); /* o keeps pointers into it, which are not used below */
	if (o.r != want)
		fprintf(stderr, "%s frame %u: result %d, counter '%s'\n", rel, nr, o.r, o.counter);
	CHECK_EQ(o.r, want);
	if (want != DECODE_OK || o.r != DECODE_OK)
		return;
	CHECK_STR(o.src, src);
	CHECK_STR(o.dst, dst);
	if (sport >= 0 && (o.p.proto == 1 || o.p.proto == 58)) {
		/* ICMP: tshark's type/code are the packet's; the flow "ports" are the request type */
		CHECK_EQ(o.p.icmp_type, sport);
		CHECK_EQ(o.p.icmp_code, dport);
	} else if (sport >= 0) {
		CHECK_EQ(o.p.sport, sport);
		CHECK_EQ(o.p.dport, dport);
	}
	CHECK_EQ(o.p.tunnel_depth, depth);
}

/* ---- --corpus: every frame of every capture ------------------------------------------ */

struct corpus_run {
	unsigned long files, unreadable, frames, ok, skip, error, broken;
	struct decode_stats st;
};

static void corpus_file(struct corpus_run *run, const char *path)
{
	char err[PCAP_ERRBUF_SIZE], why[160];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc = pcap_open_offline(path, err);
	int dlt;

	if (pc == NULL) {
		run->unreadable++;
		return;
	}
	run->files++;
	dlt = pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &data) == 1) {
		struct outcome o;
		struct decode_stats before = run->st;

		run->frames++;
		memset(&o.p, 0xa5, sizeof(o.p));
		o.r = decode_packet(dlt, data, h->caplen, h->len, 1, &o.p, &run->st);
		o.counter = counter_moved(&before, &run->st);
		if (o.r == DECODE_OK)
			run->ok++;
		else if (o.r == DECODE_SKIP)
			run->skip++;
		else
			run->error++;
		if (!decode_invariants_hold(data, h->caplen, &o, why, sizeof(why))) {
			if (run->broken++ < 20)
				fprintf(stderr, "%s frame %lu: %s\n", path, run->frames, why);
		}
	}
	pcap_close(pc);
}

static void corpus_walk(struct corpus_run *run, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		run->broken++;
		return;
	}
	while ((e = readdir(d)) != NULL) {
		char path[1024];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			corpus_walk(run, path);
		else if (S_ISREG(st.st_mode) && strstr(e->d_name, ".jsonl") == NULL)
			corpus_file(run, path);
	}
	closedir(d);
}

/* ctest's SKIP_RETURN_CODE: the corpus is not there. */
enum {
	EXIT_SKIPPED = 77
};

static bool dir_exists(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static int corpus_main(const char *dir)
{
	struct corpus_run run;

	if (!dir_exists(dir)) {
		fprintf(stderr, "%s: no such directory, skipped\n", dir);
		return EXIT_SKIPPED;
	}
	memset(&run, 0, sizeof(run));
	corpus_walk(&run, dir);
	printf("files %lu (unreadable %lu), frames %lu: ok %lu, skip %lu, error %lu\n", run.files,
	       run.unreadable, run.frames, run.ok, run.skip, run.error);
	for (int i = 0; i < DECODE_NCOUNTERS; i++)
		printf("  %-18s %" PRIu64 "\n", decode_counter_names[i], run.st.n[i]);
	printf("invariant violations: %lu\n", run.broken);
	/* Each frame moved the right counters (checked per frame above); and the corpus, made
	 * of ordinary traffic for the most part, decodes into flow packets for the most part. */
	if (run.frames == 0 || run.broken != 0 || run.unreadable != 0)
		return 1;
	if (run.ok * 100 < run.frames * 90) {
		fprintf(stderr, "only %lu of %lu frames decoded\n", run.ok, run.frames);
		return 1;
	}
	return 0;
}

/* ---- --tshark: addresses and ports against tshark ------------------------------------ */

/*
 * Captures compared frame by frame, with the tshark options that make tshark decode the same
 * layers we do (no IP reassembly, which would move the upper layers to the last fragment).
 */
static const struct {
	const char *file;
	const char *opts;
} tshark_files[] = {
	{ "tcpdump/vxlan.pcap", "" },
	{ "tcpdump/vxlan_port_8472.pcap", "-d udp.port==8472,vxlan" },
	{ "tcpdump/gso-ipv4-vxlan-ipv4.pcap", "" },
	{ "tcpdump/geneve.pcap", "" },
	{ "tcpdump/geneve-gcp.pcap", "" },
	{ "tcpdump/various_gre.pcap", "" },
	{ "tcpdump/mpls-over-udp.pcap", "" },
	{ "tcpdump/802.1ad_QinQ.pcap", "" },
	{ "tcpdump/pppoe.pcap", "" },
	{ "tcpdump/pppoes.pcap", "" },
	{ "tcpdump/loopback.pcap", "" },
	{ "tcpdump/nflog.pcap", "" },
	{ "ndpi/someip_sd_sample.pcap", "" },
	{ "ndpi/BGP_Cisco_hdlc_slarp.pcap", "" },
	{ "ndpi/BGP_redist.pcap", "" },
	{ "ndpi/ajp.pcap", "" },
	{ "tcpdump/quic_handshake.pcap", "" },
	{ "suricata-verify/http-async__input.pcap", "" },
	{ "tcpdump/LINKTYPE_IPV4.pcap", "" },
	{ "tcpdump/LINKTYPE_IPV6.pcap", "" },
	{ "tcpdump/LINKTYPE_RAW_ipv4.pcap", "" },
	{ "tcpdump/LINKTYPE_RAW_ipv6.pcap", "" },
	{ "tcpdump/ipv6-routing-header.pcap", "" },
	{ "tcpdump/ipv6-srh-ext-header.pcap", "" },
	{ "tcpdump/ipv6_mobility_1.pcap", "" },
	{ "tcpdump/bigtcp-ipv6.pcap", "" },
	{ "tcpdump/ipv6-srh-ipproto-ether.pcap", "" },
	{ "tcpdump/wb-oobr.pcap", "" },
	{ "ndpi/vxlan.pcap", "" },
	{ "ndpi/gre.pcapng", "" },
	{ "ndpi/4in4tunnel.pcap", "" },
	{ "ndpi/4in6tunnel.pcap", "" },
	{ "ndpi/6in4tunnel.pcap", "" },
	{ "ndpi/6in6tunnel.pcap", "" },
	{ "ndpi/teredo.pcap", "" },
	{ "ndpi/ipv6_in_gtp.pcap", "" },
	{ "ndpi/false_positives.pcapng", "" },
	{ "ndpi/http_origin_different_than_host.pcap", "" },
	{ "ndpi/ja3_lots_of_cipher_suites_2_anon.pcap", "" },
	{ "ndpi/reasm_segv_anon.pcapng", "" },
	{ "ndpi/tls_change_cipher.pcap", "" },
	{ "ndpi/dns.pcap", "" },
	{ "ndpi/dns_fragmented.pcap", "-o ipv6.defragment:FALSE" },
	{ "ndpi/ah.pcapng", "" },
	{ "ndpi/dlt_ppp.pcap", "" },
	{ "ndpi/KakaoTalk_chat.pcap", "" },
	{ "ndpi/nats.pcap", "" },
	{ "ndpi/smb_frags.pcap", "" },
	{ "suricata-verify/geneve-decoder__input.pcap", "" },
	{ "suricata-verify/vxlan-decoder-02__vxlan.pcap", "" },
	{ "suricata-verify/vxlan-decoder-03__vxlan.pcap", "" },
	{ "suricata-verify/pppoe__input.pcap", "" },
	{ "suricata-verify/bug-4810__pppoe-session-http.pcap", "" },
	{ "suricata-verify/decode-sll2-01__input.pcap", "" },
	{ "suricata-verify/bug-4571-02__ipv6.pcap", "" },
	{ "suricata-verify/bug-4571-03__ipv6_over_ipv6.pcap", "" },
	{ "suricata-verify/bug-4571-04__ipv6_over_ipv4.pcap", "" },
	{ "suricata-verify/bug-4571-06__ipv4_over_ipv6.pcap", "" },
	{ "suricata-verify/eve-flow-vlan__input.pcap", "" },
	{ "suricata-verify/detect-vlan-id__input.pcap", "" },
};

/* Split s at sep into at most max fields (in place); returns how many. */
static int split(char *s, char sep, char **f, int max)
{
	int n = 0;

	f[n++] = s;
	for (char *p = s; *p != '\0' && n < max; p++) {
		if (*p == sep) {
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	return n;
}

/* The idx-th (0-based) comma-separated value of list into out; false when missing. */
static bool nth_value(const char *list, int idx, char *out, size_t outlen)
{
	const char *p = list;
	size_t n;

	for (int i = 0; i < idx; i++) {
		p = strchr(p, ',');
		if (p == NULL)
			return false;
		p++;
	}
	n = strcspn(p, ",");
	if (n == 0 || n >= outlen)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

struct tshark_expect {
	bool has_ip;     /* an IP layer not inside an ICMP error */
	bool icmp_error; /* the innermost IP is quoted inside an ICMP error */
	char src[64], dst[64];
	int sport, dport; /* -1: no TCP/UDP/ICMP after the innermost IP */
	unsigned ip_layers;
};

/*
 * From tshark's fields of one frame, what we expect: the innermost IP layer that is not
 * quoted in an ICMP error, and the TCP/UDP ports or ICMP type/code right after it.
 * f: number, protocols, ip.src, ip.dst, ipv6.src, ipv6.dst, tcp ports, udp ports, icmp
 * type/code, icmpv6 type/code.
 */
static void tshark_expect(char **f, struct tshark_expect *e)
{
	char protos[1024];
	char *layer[64];
	int n, nip4 = 0, nip6 = 0, last = -1, last4 = -1, last6 = -1;
	int ntcp = 0, nudp = 0, nicmp = 0, nicmp6 = 0;
	const char *l4 = NULL;
	int l4_idx = 0;

	memset(e, 0, sizeof(*e));
	e->sport = e->dport = -1;
	snprintf(protos, sizeof(protos), "%s", f[1]);
	n = split(protos, ':', layer, 64);
	for (int i = 0; i < n; i++) {
		if ((strcmp(layer[i], "icmp") == 0 || strcmp(layer[i], "icmpv6") == 0) &&
		    i + 1 < n &&
		    (strcmp(layer[i + 1], "ip") == 0 || strcmp(layer[i + 1], "ipv6") == 0)) {
			e->icmp_error = true;
			break;
		}
		if (strcmp(layer[i], "ip") == 0) {
			last = i;
			last4 = nip4++;
			last6 = -1;
		} else if (strcmp(layer[i], "ipv6") == 0) {
			last = i;
			last6 = nip6++;
			last4 = -1;
		}
	}
	if (last < 0)
		return;
	e->has_ip = true;
	e->ip_layers = (unsigned)(nip4 + nip6);
	if (last4 >= 0) {
		nth_value(f[2], last4, e->src, sizeof(e->src));
		nth_value(f[3], last4, e->dst, sizeof(e->dst));
	} else {
		nth_value(f[4], last6, e->src, sizeof(e->src));
		nth_value(f[5], last6, e->dst, sizeof(e->dst));
	}
	for (int i = 0; i < n; i++) {
		const char *t = layer[i];
		bool after = i > last;

		if (strcmp(t, "tcp") == 0) {
			if (after && l4 == NULL) {
				l4 = "tcp";
				l4_idx = ntcp;
			}
			ntcp++;
		} else if (strcmp(t, "udp") == 0) {
			if (after && l4 == NULL) {
				l4 = "udp";
				l4_idx = nudp;
			}
			nudp++;
		} else if (strcmp(t, "icmp") == 0) {
			if (after && l4 == NULL) {
				l4 = "icmp";
				l4_idx = nicmp;
			}
			nicmp++;
		} else if (strcmp(t, "icmpv6") == 0) {
			if (after && l4 == NULL) {
				l4 = "icmpv6";
				l4_idx = nicmp6;
			}
			nicmp6++;
		}
	}
	if (l4 != NULL) {
		char a[16], b[16];
		int col = strcmp(l4, "tcp") == 0    ? 6
		          : strcmp(l4, "udp") == 0  ? 8
		          : strcmp(l4, "icmp") == 0 ? 10
		                                    : 12;

		if (nth_value(f[col], l4_idx, a, sizeof(a)) &&
		    nth_value(f[col + 1], l4_idx, b, sizeof(b))) {
			e->sport = (int)strtol(a, NULL, 10);
			e->dport = (int)strtol(b, NULL, 10);
		}
	}
}

struct tshark_run {
	unsigned long frames, compared, matched, not_decoded, mismatched, skipped;
};

static void tshark_file(struct tshark_run *run, const char *tshark, const char *dir,
                        const char *file, const char *opts)
{
	char path[512], cmd[2048], line[8192], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	pcap_t *pc;
	FILE *t;
	int dlt;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	pc = pcap_open_offline(path, err);
	if (pc == NULL) {
		fprintf(stderr, "%s: %s\n", path, err);
		run->mismatched++;
		return;
	}
	dlt = pcap_datalink(pc);
	snprintf(cmd, sizeof(cmd),
	         "'%s' -n -r '%s' -o ip.defragment:FALSE %s -T fields -E separator=/t "
	         "-E occurrence=a -E aggregator=, -e frame.number -e frame.protocols "
	         "-e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport "
	         "-e udp.srcport -e udp.dstport -e icmp.type -e icmp.code -e icmpv6.type "
	         "-e icmpv6.code 2>/dev/null",
	         tshark, path, opts);
	t = popen(cmd, "r");
	if (t == NULL) {
		pcap_close(pc);
		run->mismatched++;
		return;
	}
	while (fgets(line, sizeof(line), t) != NULL && pcap_next_ex(pc, &h, &data) == 1) {
		char *f[16];
		struct tshark_expect e;
		struct outcome o;
		struct decode_stats st = { { 0 } }, before = st;

		line[strcspn(line, "\n")] = '\0';
		if (split(line, '\t', f, 16) < 14)
			continue;
		run->frames++;
		tshark_expect(f, &e);
		memset(&o.p, 0xa5, sizeof(o.p));
		o.r = decode_packet(dlt, data, h->caplen, h->len, 1, &o.p, &st);
		o.counter = counter_moved(&before, &st);
		if (!e.has_ip || e.icmp_error) {
			run->skipped++;
			continue;
		}
		if (o.r != DECODE_OK) {
			/* fragments, ICMP errors and truncated frames are not flow packets */
			run->not_decoded++;
			if (strcmp(o.counter, "fragment") != 0 &&
			    strcmp(o.counter, "icmp_error") != 0 &&
			    strcmp(o.counter, "truncated_l4") != 0) {
				fprintf(stderr, "%s frame %s: not decoded (%s), tshark %s\n", file,
				        f[0], o.counter, f[1]);
				run->mismatched++;
			}
			continue;
		}
		run->compared++;
		addr_str(&o.p.src, o.src, sizeof(o.src));
		addr_str(&o.p.dst, o.dst, sizeof(o.dst));
		bool icmp = o.p.proto == 1 || o.p.proto == 58;
		int gs = icmp ? o.p.icmp_type : o.p.sport, gd = icmp ? o.p.icmp_code : o.p.dport;

		if (strcmp(o.src, e.src) != 0 || strcmp(o.dst, e.dst) != 0 ||
		    (e.sport >= 0 && (gs != e.sport || gd != e.dport)) ||
		    o.p.tunnel_depth + 1u != e.ip_layers) {
			run->mismatched++;
			fprintf(stderr,
			        "%s frame %s: decoded %s %u > %s %u depth %u, tshark %s %d > %s "
			        "%d (%s)\n",
			        file, f[0], o.src, o.p.sport, o.dst, o.p.dport, o.p.tunnel_depth,
			        e.src, e.sport, e.dst, e.dport, f[1]);
		} else {
			run->matched++;
		}
	}
	pclose(t);
	pcap_close(pc);
}

/* Compare the listed captures, or the files named after DIR (relative to it). */
static int tshark_main(const char *tshark, const char *dir, int nfiles, char **files)
{
	struct tshark_run run;

	if (!dir_exists(dir)) {
		fprintf(stderr, "%s: no such directory, skipped\n", dir);
		return EXIT_SKIPPED;
	}
	memset(&run, 0, sizeof(run));
	if (nfiles > 0) {
		for (int i = 0; i < nfiles; i++)
			tshark_file(&run, tshark, dir, files[i], "");
	} else {
		for (size_t i = 0; i < sizeof(tshark_files) / sizeof(tshark_files[0]); i++)
			tshark_file(&run, tshark, dir, tshark_files[i].file, tshark_files[i].opts);
	}
	printf("frames %lu: compared %lu, matched %lu, mismatched %lu, not decoded %lu, "
	       "no IP per tshark %lu\n",
	       run.frames, run.compared, run.matched, run.mismatched, run.not_decoded, run.skipped);
	return run.mismatched == 0 && run.matched > 0 ? 0 : 1;
}

/* ---- frames built byte by byte ------------------------------------------------------- */

/*
 * A frame under construction. Length fields of IPv4, IPv6, UDP and GTP headers are written
 * by frame_finish() from what follows them, so tests only say which headers come in which
 * order.
 */
enum fix_kind {
	FIX_IP4,
	FIX_IP6,
	FIX_UDP,
	FIX_GTP
};

struct frame {
	uint8_t b[4096];
	size_t n;
	size_t fix_at[32];
	enum fix_kind fix_kind[32];
	int nfix;
};

static void put(struct frame *f, const void *p, size_t n)
{
	if (f->n + n > sizeof(f->b))
		abort();
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put8(struct frame *f, unsigned v)
{
	uint8_t b = (uint8_t)v;

	put(f, &b, 1);
}

static void put16(struct frame *f, unsigned v)
{
	put8(f, v >> 8);
	put8(f, v);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void put_zero(struct frame *f, size_t n)
{
	while (n-- > 0)
		put8(f, 0);
}

static void fix_later(struct frame *f, enum fix_kind k)
{
	f->fix_at[f->nfix] = f->n;
	f->fix_kind[f->nfix++] = k;
}

static void frame_finish(struct frame *f)
{
	for (int i = 0; i < f->nfix; i++) {
		size_t at = f->fix_at[i], len = f->n - at;
		size_t field = at + 2, v = len;

		switch (f->fix_kind[i]) {
		case FIX_IP4:
			field = at + 2;
			break;
		case FIX_IP6:
			field = at + 4;
			v = len - 40;
			break;
		case FIX_UDP:
			field = at + 4;
			break;
		case FIX_GTP:
			field = at + 2;
			v = len - 8;
			break;
		}
		f->b[field] = (uint8_t)(v >> 8);
		f->b[field + 1] = (uint8_t)v;
	}
}

static void eth(struct frame *f, unsigned type)
{
	static const uint8_t macs[12] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
		                          0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

	put(f, macs, sizeof(macs));
	put16(f, type);
}

/* An 802.1Q/802.1ad tag body (the tag's own ethertype was written before it). */
static void vlan(struct frame *f, unsigned id, unsigned next_type)
{
	put16(f, 0x2000 | id); /* priority 1 */
	put16(f, next_type);
}

static void ip4_frag(struct frame *f, const char *src, const char *dst, unsigned proto,
                     unsigned frag)
{
	uint8_t a[4];

	fix_later(f, FIX_IP4);
	put8(f, 0x45);
	put8(f, 0);
	put16(f, 0); /* total length: frame_finish */
	put16(f, 0x1234);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	if (inet_pton(AF_INET, src, a) != 1)
		abort();
	put(f, a, 4);
	if (inet_pton(AF_INET, dst, a) != 1)
		abort();
	put(f, a, 4);
}

static void ip4(struct frame *f, const char *src, const char *dst, unsigned proto)
{
	ip4_frag(f, src, dst, proto, 0);
}

static void ip6(struct frame *f, const char *src, const char *dst, unsigned next)
{
	uint8_t a[16];

	fix_later(f, FIX_IP6);
	put32(f, 0x60000000);
	put16(f, 0); /* payload length: frame_finish */
	put8(f, next);
	put8(f, 64);
	if (inet_pton(AF_INET6, src, a) != 1)
		abort();
	put(f, a, 16);
	if (inet_pton(AF_INET6, dst, a) != 1)
		abort();
	put(f, a, 16);
}

/* A generic IPv6 extension header of 8 * (units + 1) bytes. */
static void ip6_ext(struct frame *f, unsigned next, unsigned units)
{
	put8(f, next);
	put8(f, units);
	put_zero(f, 6 + (size_t)units * 8);
}

static void ip6_frag(struct frame *f, unsigned next, unsigned offset8, bool more)
{
	put8(f, next);
	put8(f, 0);
	put16(f, offset8 << 3 | (more ? 1 : 0));
	put32(f, 0xabcd);
}

static void udp(struct frame *f, unsigned sport, unsigned dport)
{
	fix_later(f, FIX_UDP);
	put16(f, sport);
	put16(f, dport);
	put16(f, 0); /* length: frame_finish */
	put16(f, 0);
}

static void tcp(struct frame *f, unsigned sport, unsigned dport, unsigned flags, uint32_t seq)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, seq);
	put32(f, 0);
	put8(f, 5 << 4);
	put8(f, flags);
	put16(f, 65535);
	put32(f, 0);
}

static void icmp(struct frame *f, unsigned type, unsigned code)
{
	put8(f, type);
	put8(f, code);
	put16(f, 0);
	put32(f, 0x00010002); /* identifier, sequence */
}

static void data(struct frame *f, const char *s)
{
	put(f, s, strlen(s));
}

/* The innermost packet every tunnel test carries: TCP 10.1.1.1:40000 > 10.2.2.2:443. */
static void inner_tcp(struct frame *f)
{
	ip4(f, "10.1.1.1", "10.2.2.2", 6);
	tcp(f, 40000, 443, 0x02, 1000);
	data(f, "hello");
}

static void decode_frame(int dlt, struct frame *f, struct outcome *o)
{
	frame_finish(f);
	decode_one(dlt, f->b, f->n, o);
}

/* The checks shared by the tunnel tests: the inner TCP flow, the outer addresses, depth. */
static void check_inner_tcp(const struct outcome *o, const char *osrc, const char *odst,
                            unsigned depth)
{
	CHECK_EQ(o->r, DECODE_OK);
	CHECK_STR(o->counter, "");
	CHECK_STR(o->src, "10.1.1.1");
	CHECK_STR(o->dst, "10.2.2.2");
	CHECK_EQ(o->p.family, ADDR_V4);
	CHECK_EQ(o->p.proto, 6);
	CHECK_EQ(o->p.sport, 40000);
	CHECK_EQ(o->p.dport, 443);
	CHECK_EQ(o->p.tcp_flags, 0x02);
	CHECK_EQ(o->p.tcp_seq, 1000);
	CHECK_EQ(o->p.payload_len, 5);
	CHECK_EQ(o->p.payload_wire_len, 5);
	if (o->r == DECODE_OK && o->p.payload_len == 5)
		CHECK_MEM(o->p.payload, "hello", 5);
	CHECK_EQ(o->p.tunnel_depth, depth);
	CHECK_STR(o->osrc, osrc);
	CHECK_STR(o->odst, odst);
}

/* ---- unit tests ---------------------------------------------------------------------- */

static void test_counter_names_follow_the_enum(void)
{
	CHECK_EQ(DECODE_NCOUNTERS, 14);
	CHECK_STR(decode_counter_names[DECODE_not_ip], "not_ip");
	CHECK_STR(decode_counter_names[DECODE_fragment], "fragment");
	CHECK_STR(decode_counter_names[DECODE_other_transport], "other_transport");
	for (int i = 0; i < DECODE_NCOUNTERS; i++)
		CHECK(decode_counter_names[i] != NULL && decode_counter_names[i][0] != '\0');
}

static void test_addr_str_uses_rfc5952_and_dotted_quad(void)
{
	struct addr a;
	char buf[46];

	memset(&a, 0, sizeof(a));
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "::");
	a.b[15] = 1;
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "::1");
	/* ::1.2.3.4 (IPv4-compatible) is not IPv4: hex, unlike glibc's inet_ntop */
	a.b[12] = 1, a.b[13] = 2, a.b[14] = 3, a.b[15] = 4;
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "::102:304");
	a.b[10] = a.b[11] = 0xff;
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "1.2.3.4");
	CHECK(addr_is_v4(&a));
	CHECK_STR(addr_str(&a, buf, 8), "1.2.3.4");
	CHECK_STR(addr_str(&a, buf, 7), ""); /* too small: nothing partial */
	inet_pton(AF_INET6, "2001:db8:0:1:1:1:1:1", a.b);
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "2001:db8:0:1:1:1:1:1"); /* one zero: kept */
	inet_pton(AF_INET6, "2001:0:0:1:0:0:0:1", a.b);
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "2001:0:0:1::1"); /* the longest run */
	inet_pton(AF_INET6, "2001:db8:0:0:1:0:0:1", a.b);
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "2001:db8::1:0:0:1"); /* the first on a tie */
	inet_pton(AF_INET6, "FE80:0000:0000:0000:0ABC:0000:0000:0000", a.b);
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "fe80::abc:0:0:0");
	inet_pton(AF_INET6, "1::", a.b);
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "1::");
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", a.b);
	CHECK_STR(addr_str(&a, buf, sizeof(buf)), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	CHECK(!addr_is_v4(&a));
}

static void test_ether_ipv4_tcp_fields_are_decoded(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "192.0.2.1", "198.51.100.7", 6);
	tcp(&f, 51000, 80, 0x18, 0xdeadbeef);
	data(&f, "GET /");
	frame_finish(&f);
	put_zero(&f, 60 - f.n); /* Ethernet padding after the IP packet */
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "");
	CHECK_STR(o.src, "192.0.2.1");
	CHECK_STR(o.dst, "198.51.100.7");
	CHECK_EQ(o.p.family, ADDR_V4);
	CHECK_EQ(o.p.proto, 6);
	CHECK_EQ(o.p.sport, 51000);
	CHECK_EQ(o.p.dport, 80);
	CHECK_EQ(o.p.tcp_flags, 0x18);
	CHECK_U64(o.p.tcp_seq, 0xdeadbeef);
	CHECK_EQ(o.p.vlan, 0);
	CHECK_EQ(o.p.tunnel_depth, 0);
	CHECK_STR(o.osrc, "192.0.2.1");
	CHECK(o.p.l3 == f.b + 14);
	CHECK_EQ(o.p.l3_len, 20 + 20 + 5); /* the padding is not part of the packet */
	CHECK(o.p.payload == f.b + 54);
	CHECK_EQ(o.p.payload_len, 5);
	CHECK_EQ(o.p.payload_wire_len, 5);
	CHECK_EQ(o.p.cap_len, 60);
	CHECK_EQ(o.p.wire_len, 60);
	CHECK_U64(o.p.ts_ns, 1);
}

static void test_payload_is_clipped_to_ip_and_udp_lengths(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "192.0.2.1", "192.0.2.2", 17);
	udp(&f, 5000, 6000);
	data(&f, "0123456789");
	frame_finish(&f);
	/* UDP says 4 bytes of payload, IP says 10: the UDP length clips */
	f.b[14 + 20 + 4] = 0, f.b[14 + 20 + 5] = 12;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.payload_len, 4);
	CHECK_EQ(o.p.payload_wire_len, 4);
	/* a UDP length of 0 (jumbograms, segmentation offload) leaves the IP length in charge */
	f.b[14 + 20 + 4] = 0, f.b[14 + 20 + 5] = 0;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.p.payload_len, 10);
	CHECK_EQ(o.p.payload_wire_len, 10);
	/* a capture cut after 3 payload bytes: wire length still what the header says */
	decode_one(LINK_ETHER, f.b, 14 + 20 + 8 + 3, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.payload_len, 3);
	CHECK_EQ(o.p.payload_wire_len, 10);
	CHECK_EQ(o.p.l3_len, 20 + 8 + 3);
}

static void test_ipv4_options_are_skipped(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "192.0.2.1", "192.0.2.2", 17);
	put32(&f, 0x94040000); /* router alert option */
	udp(&f, 1234, 53);
	data(&f, "q");
	frame_finish(&f);
	f.b[14] = 0x46;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.sport, 1234);
	CHECK_EQ(o.p.dport, 53);
	CHECK_EQ(o.p.payload_len, 1);
	/* IHL says 24 bytes but only 22 were captured */
	decode_one(LINK_ETHER, f.b, 14 + 22, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "truncated_ip");
}

static void test_bad_ipv4_headers_are_counted(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "192.0.2.1", "192.0.2.2", 6);
	tcp(&f, 1, 2, 0x10, 0);
	frame_finish(&f);
	f.b[14] = 0x44; /* IHL 4 */
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "bad_ip_header");
	f.b[14] = 0x45;
	f.b[16] = 0, f.b[17] = 19; /* total length below the header length */
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "bad_ip_header");
	f.b[17] = 40;
	f.b[14] = 0x65; /* version 6 behind ethertype IPv4 */
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "bad_ip_version");
	f.b[14] = 0x45;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	/* TCP data offset 4, and one larger than the segment */
	f.b[14 + 20 + 12] = 0x40;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "bad_tcp_header");
	f.b[14 + 20 + 12] = 0x60;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "bad_tcp_header");
}

static void test_vlan_and_qinq_record_the_outermost_id(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x88a8);
	vlan(&f, 100, 0x8100);
	vlan(&f, 200, 0x0800);
	ip4(&f, "192.0.2.1", "192.0.2.2", 17);
	udp(&f, 1, 2);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.vlan, 100);
	CHECK_EQ(o.p.dport, 2);

	f.n = 0, f.nfix = 0;
	eth(&f, 0x9100);
	vlan(&f, 4095, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 17);
	udp(&f, 1, 2);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.vlan, 4095);
	CHECK_STR(o.src, "2001:db8::1");

	/* a tag cut short */
	decode_one(LINK_ETHER, f.b, 16, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "truncated_link");
	/* ARP in a VLAN is not IP */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x8100);
	vlan(&f, 7, 0x0806);
	put_zero(&f, 28);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_SKIP);
	CHECK_STR(o.counter, "not_ip");
}

static void test_mpls_labels_are_popped_to_bottom_of_stack(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x8847);
	put32(&f, 1000 << 12 | 64);         /* label 1000 */
	put32(&f, 2000 << 12 | 0x100 | 64); /* label 2000, bottom of stack */
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);

	f.n = 0, f.nfix = 0;
	eth(&f, 0x8848);
	put32(&f, 16 << 12 | 0x100 | 64);
	ip6(&f, "2001:db8::1", "2001:db8::2", 17);
	udp(&f, 1, 2);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.dst, "2001:db8::2");

	/* pseudowire: control word 0, then an Ethernet frame */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x8847);
	put32(&f, 16 << 12 | 0x100 | 64);
	put32(&f, 0);
	eth(&f, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);

	/* neither IP nor a control word */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x8847);
	put32(&f, 16 << 12 | 0x100 | 64);
	put32(&f, 0x10000000);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_SKIP);
	CHECK_STR(o.counter, "not_ip");
	/* no bottom of stack before the end */
	decode_one(LINK_ETHER, f.b, 18, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "truncated_link");
}

static void test_pppoe_session_carries_ip(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x8864);
	put8(&f, 0x11);
	put8(&f, 0);
	put16(&f, 0x1234);
	put16(&f, 0); /* length: not used */
	put16(&f, 0x0057);
	ip6(&f, "2001:db8::1", "2001:db8::2", 6);
	tcp(&f, 40000, 443, 0x02, 1);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.src, "2001:db8::1");
	CHECK_EQ(o.p.dport, 443);

	/* LCP is not IP */
	f.b[14 + 6] = 0xc0, f.b[14 + 7] = 0x21;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_SKIP);
	CHECK_STR(o.counter, "not_ip");
	/* discovery stage */
	f.b[12] = 0x88, f.b[13] = 0x63;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_SKIP);
	CHECK_STR(o.counter, "not_ip");
}

static void test_ipv6_extension_headers_are_skipped(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 0);
	ip6_ext(&f, 43, 0); /* hop-by-hop */
	ip6_ext(&f, 60, 2); /* routing */
	ip6_ext(&f, 51, 1); /* destination options */
	put8(&f, 135);      /* AH: 4 * (2 + 2) = 16 bytes */
	put8(&f, 2);
	put_zero(&f, 14);
	ip6_ext(&f, 6, 0); /* mobility, then TCP */
	tcp(&f, 40000, 22, 0x02, 7);
	data(&f, "ssh");
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "");
	CHECK_EQ(o.p.family, ADDR_V6);
	CHECK_EQ(o.p.proto, 6);
	CHECK_EQ(o.p.dport, 22);
	CHECK_EQ(o.p.payload_len, 3);
	CHECK_EQ(o.p.payload_wire_len, 3);

	/* ESP stops the chain: a flow without ports */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 60);
	ip6_ext(&f, 50, 0);
	put32(&f, 0x1000);
	put32(&f, 1);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "other_transport");
	CHECK_EQ(o.p.proto, 50);
	CHECK_EQ(o.p.sport, 0);
	CHECK_EQ(o.p.payload_len, 8);

	/* No next header */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 59);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.proto, 59);
}

static void test_ipv6_broken_extension_chains_are_counted(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	/* 17 destination options headers: more than the decoder follows */
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 60);
	for (int i = 0; i < 17; i++)
		ip6_ext(&f, i < 16 ? 60 : 17, 0);
	udp(&f, 1, 2);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "bad_ipv6_ext");
	/* 16 are fine */
	f.b[14 + 40 + 15 * 8] = 17;
	memmove(f.b + 14 + 40 + 16 * 8, f.b + 14 + 40 + 17 * 8, 8);
	f.n -= 8;
	f.b[14 + 4] = 0, f.b[14 + 5] = 16 * 8 + 8;
	f.b[14 + 40 + 16 * 8 + 4] = 0, f.b[14 + 40 + 16 * 8 + 5] = 8;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.dport, 2);

	/* an extension header longer than the payload length says */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 60);
	ip6_ext(&f, 17, 1);
	udp(&f, 1, 2);
	frame_finish(&f);
	f.b[14 + 5] = 8; /* payload length 8 */
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "bad_ipv6_ext");
	/* the same header cut by the capture instead */
	f.b[14 + 5] = 24;
	decode_one(LINK_ETHER, f.b, 14 + 40 + 10, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "truncated_ip");
}

static void test_ipv6_jumbogram_length_comes_from_hop_by_hop(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 0);
	put8(&f, 17); /* hop-by-hop: next UDP, 8 bytes */
	put8(&f, 0);
	put8(&f, 0xc2); /* jumbo payload option */
	put8(&f, 4);
	put32(&f, 70000);
	udp(&f, 1, 2);
	data(&f, "xyz");
	frame_finish(&f);
	f.b[14 + 4] = 0, f.b[14 + 5] = 0;
	f.b[14 + 48 + 4] = 0, f.b[14 + 48 + 5] = 0; /* UDP length 0 (RFC 2675 4) */
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.payload_len, 3);
	CHECK_EQ(o.p.payload_wire_len, 70000 - 8 - 8);
	/* Linux BIG TCP captures: payload length 0, no hop-by-hop header; the capture decides */
	{
		struct frame g = { .n = 0 };

		eth(&g, 0x86dd);
		ip6(&g, "2001:db8::1", "2001:db8::2", 6);
		tcp(&g, 40000, 443, 0x10, 5);
		data(&g, "0123456789");
		frame_finish(&g);
		g.b[14 + 4] = 0, g.b[14 + 5] = 0;
		decode_one(LINK_ETHER, g.b, g.n, &o);
		CHECK_EQ(o.r, DECODE_OK);
		CHECK_EQ(o.p.dport, 443);
		CHECK_EQ(o.p.payload_len, 10);
		CHECK_EQ(o.p.payload_wire_len, 10);
	}
	/* payload length 0 without the option: the hop-by-hop header does not fit */
	f.b[14 + 42] = 1;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "bad_ipv6_ext");
}

static void test_first_fragment_counts_later_fragments_are_counted(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4_frag(&f, "192.0.2.1", "192.0.2.2", 17, 0x2000); /* MF, offset 0 */
	udp(&f, 1234, 53);
	data(&f, "first");
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.sport, 1234);

	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4_frag(&f, "192.0.2.1", "192.0.2.2", 17, 185); /* offset 1480 */
	data(&f, "rest of it");
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_SKIP);
	CHECK_STR(o.counter, "fragment");

	f.n = 0, f.nfix = 0;
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 44);
	ip6_frag(&f, 17, 0, true);
	udp(&f, 1234, 53);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.dport, 53);

	f.n = 0, f.nfix = 0;
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 44);
	ip6_frag(&f, 17, 100, false);
	data(&f, "tail");
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_SKIP);
	CHECK_STR(o.counter, "fragment");
}

static void test_icmp_errors_are_skipped_and_echo_is_a_flow(void)
{
	static const unsigned v4_errors[] = { 3, 4, 5, 11, 12 };
	static const unsigned v6_errors[] = { 1, 2, 3, 4, 137 };
	struct frame f;
	struct outcome o;

	for (size_t i = 0; i < 5; i++) {
		f.n = 0, f.nfix = 0;
		eth(&f, 0x0800);
		ip4(&f, "192.0.2.1", "192.0.2.2", 1);
		icmp(&f, v4_errors[i], 1);
		inner_tcp(&f);
		decode_frame(LINK_ETHER, &f, &o);
		CHECK_EQ(o.r, DECODE_SKIP);
		CHECK_STR(o.counter, "icmp_error");

		f.n = 0, f.nfix = 0;
		eth(&f, 0x86dd);
		ip6(&f, "2001:db8::1", "2001:db8::2", 58);
		icmp(&f, v6_errors[i], 0);
		decode_frame(LINK_ETHER, &f, &o);
		CHECK_EQ(o.r, DECODE_SKIP);
		CHECK_STR(o.counter, "icmp_error");
	}
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "192.0.2.1", "192.0.2.2", 1);
	icmp(&f, 8, 0);
	data(&f, "ping");
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.proto, 1);
	CHECK_EQ(o.p.icmp_type, 8);
	CHECK_EQ(o.p.icmp_code, 0);
	CHECK_EQ(o.p.sport, 8); /* the request type stands in for both ports */
	CHECK_EQ(o.p.dport, 8);
	CHECK_EQ(o.p.payload_len, 4);

	/* the echo reply keys the same, so request and reply meet in one flow */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "192.0.2.2", "192.0.2.1", 1);
	icmp(&f, 0, 0);
	data(&f, "ping");
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.icmp_type, 0);
	CHECK_EQ(o.p.sport, 8);
	CHECK_EQ(o.p.dport, 8);

	f.n = 0, f.nfix = 0;
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 58);
	icmp(&f, 135, 0); /* neighbour solicitation: not an error */
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.proto, 58);
	CHECK_EQ(o.p.sport, 135);
}

static void test_gre_inner_flow_is_decoded(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0xb000); /* checksum, key, sequence */
	put16(&f, 0x0800);
	put32(&f, 0x12340000);
	put32(&f, 42);
	put32(&f, 7);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "203.0.113.1", "203.0.113.2", 1);
	CHECK(o.p.l3 == f.b + 14 + 20 + 16);

	/* IPv6 outer, transparent Ethernet bridging inside */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::a", "2001:db8::b", 47);
	put16(&f, 0x0000);
	put16(&f, 0x6558);
	eth(&f, 0x8100);
	vlan(&f, 33, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "2001:db8::a", "2001:db8::b", 1);
	CHECK_EQ(o.p.vlan, 0); /* only the capture's own VLAN is recorded */

	/* MPLS over GRE */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0x0000);
	put16(&f, 0x8847);
	put32(&f, 77 << 12 | 0x100 | 64);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "203.0.113.1", "203.0.113.2", 1);
}

static void test_gre_without_ip_inside_is_the_flow_itself(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	/* a keepalive: GRE protocol 0 */
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0);
	put16(&f, 0);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "other_transport");
	CHECK_EQ(o.p.proto, 47);
	CHECK_EQ(o.p.tunnel_depth, 0);
	CHECK_STR(o.src, "203.0.113.1");
	CHECK_EQ(o.p.payload_len, 4);

	/* GRE version 2 does not exist: malformed, but still the outer flow */
	f.b[14 + 20 + 1] = 0x02;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "bad_tunnel");
	CHECK_EQ(o.p.proto, 47);

	/* protocol IPv4 but an IPv6 packet inside */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0);
	put16(&f, 0x0800);
	ip6(&f, "2001:db8::1", "2001:db8::2", 59);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "bad_tunnel");
	CHECK_STR(o.src, "203.0.113.1");
	CHECK_EQ(o.p.tunnel_depth, 0);

	/* transparent bridging of an ARP frame: the outer flow, nothing counted */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0);
	put16(&f, 0x6558);
	eth(&f, 0x0806);
	put_zero(&f, 28);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "other_transport");
	CHECK_EQ(o.p.tunnel_depth, 0);
}

static void test_erspan_types_one_two_three_are_unwrapped(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	/* type II: GRE S bit, 8-byte header of version 1 */
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0x1000);
	put16(&f, 0x88be);
	put32(&f, 99);
	put32(&f, 0x10640000 | 5); /* version 1, VLAN 100, session 5 */
	put32(&f, 0);
	eth(&f, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "203.0.113.1", "203.0.113.2", 1);

	/* type I: no S bit, the Ethernet frame right after GRE */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0x0000);
	put16(&f, 0x88be);
	eth(&f, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "203.0.113.1", "203.0.113.2", 1);

	/* type III with the optional platform subheader (O bit) */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0x1000);
	put16(&f, 0x22eb);
	put32(&f, 1);
	put32(&f, 0x20640005); /* version 2 */
	put32(&f, 0x12345678); /* timestamp */
	put16(&f, 0);          /* SGT */
	put16(&f, 0x0001);     /* FT 0 (Ethernet), O */
	put32(&f, 0xaaaaaaaa);
	put32(&f, 0xbbbbbbbb);
	eth(&f, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "203.0.113.1", "203.0.113.2", 1);

	/* type II with a wrong version nibble: malformed */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0x1000);
	put16(&f, 0x88be);
	put32(&f, 99);
	put32(&f, 0x30640000);
	put32(&f, 0);
	eth(&f, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "bad_tunnel");
	CHECK_STR(o.src, "203.0.113.1");
}

static void test_pptp_gre_carries_ppp(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0x3081); /* key, sequence, acknowledgment, version 1 */
	put16(&f, 0x880b);
	put32(&f, 0x00450001);
	put32(&f, 1);
	put32(&f, 2);
	put16(&f, 0xff03);
	put16(&f, 0x0021);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "203.0.113.1", "203.0.113.2", 1);

	/* address/control and protocol field compressed */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0x2001);
	put16(&f, 0x880b);
	put32(&f, 0x00450001);
	put8(&f, 0x21);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "203.0.113.1", "203.0.113.2", 1);

	/* an acknowledgment alone is a GRE packet without payload: the outer flow */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 47);
	put16(&f, 0x2081);
	put16(&f, 0x880b);
	put32(&f, 0x00000001);
	put32(&f, 5);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "other_transport");
	CHECK_EQ(o.p.proto, 47);
}

static void test_vxlan_inner_flow_is_decoded(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 50000, 4789);
	put32(&f, 0x08000000);
	put32(&f, 0x00123400);
	eth(&f, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "198.51.100.1", "198.51.100.2", 1);

	/* Linux's old port 8472 */
	f.b[14 + 20 + 2] = 8472 >> 8, f.b[14 + 20 + 3] = 8472 & 0xff;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	check_inner_tcp(&o, "198.51.100.1", "198.51.100.2", 1);

	/* without the I flag it is not VXLAN: plain UDP, nothing counted */
	f.b[14 + 28] = 0x00;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "");
	CHECK_EQ(o.p.proto, 17);
	CHECK_EQ(o.p.dport, 8472);
	CHECK_STR(o.src, "198.51.100.1");
	CHECK_EQ(o.p.tunnel_depth, 0);
	CHECK_EQ(o.p.payload_len, 8 + 14 + 20 + 20 + 5);

	/* VXLAN carrying ARP: the outer UDP packet is the flow packet */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 50000, 4789);
	put32(&f, 0x08000000);
	put32(&f, 0x00123400);
	eth(&f, 0x0806);
	put_zero(&f, 28);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "");
	CHECK_EQ(o.p.dport, 4789);
	CHECK_EQ(o.p.tunnel_depth, 0);

	/* VXLAN whose inner IPv4 header is broken: plain UDP as well */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 50000, 4789);
	put32(&f, 0x08000000);
	put32(&f, 0x00123400);
	eth(&f, 0x0800);
	put8(&f, 0x41);
	put_zero(&f, 30);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "");
	CHECK_EQ(o.p.dport, 4789);
}

static void test_geneve_options_are_skipped(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 50000, 6081);
	put8(&f, 0x02); /* version 0, 2 words of options */
	put8(&f, 0);
	put16(&f, 0x6558);
	put32(&f, 0x00000100);
	put32(&f, 0x01020304);
	put32(&f, 0x05060708);
	eth(&f, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "198.51.100.1", "198.51.100.2", 1);

	/* IP directly inside, by ethertype */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 50000, 6081);
	put8(&f, 0);
	put8(&f, 0);
	put16(&f, 0x0800);
	put32(&f, 0x00000100);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "198.51.100.1", "198.51.100.2", 1);

	/* version 1 is not GENEVE as we know it: plain UDP */
	f.b[14 + 28] = 0x40;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "");
	CHECK_EQ(o.p.dport, 6081);

	/* options longer than the packet: malformed, plain UDP */
	f.b[14 + 28] = 0x3f;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "bad_tunnel");
	CHECK_EQ(o.p.dport, 6081);
}

static void test_gtpu_extension_headers_are_skipped(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 2152, 2152);
	fix_later(&f, FIX_GTP);
	put8(&f, 0x34); /* version 1, PT, E */
	put8(&f, 0xff);
	put16(&f, 0);
	put32(&f, 0x11223344);
	put16(&f, 0); /* sequence */
	put8(&f, 0);
	put8(&f, 0x85); /* PDU session container */
	put8(&f, 1);
	put8(&f, 0x10);
	put8(&f, 0x05);
	put8(&f, 0); /* no more */
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "198.51.100.1", "198.51.100.2", 1);

	/* bytes after the GTP message (its length says 45) are padding, not payload */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 40000, 2152);
	put8(&f, 0x30);
	put8(&f, 0xff);
	put16(&f, 20 + 20 + 5);
	put32(&f, 1);
	inner_tcp(&f);
	data(&f, "PAD");
	frame_finish(&f);
	f.b[14 + 28 + 8 + 3] = 45; /* the inner IPv4 total length, without the padding */
	decode_one(LINK_ETHER, f.b, f.n, &o);
	check_inner_tcp(&o, "198.51.100.1", "198.51.100.2", 1);

	/* a GTP length shorter than its own optional fields: malformed, plain UDP */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 2152, 2152);
	put8(&f, 0x32); /* S: sequence number present */
	put8(&f, 0xff);
	put16(&f, 2);
	put32(&f, 1);
	put32(&f, 0);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "bad_tunnel");
	CHECK_EQ(o.p.tunnel_depth, 0);

	/* an extension header of length 0: malformed, plain UDP */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 2152, 2152);
	fix_later(&f, FIX_GTP);
	put8(&f, 0x34);
	put8(&f, 0xff);
	put16(&f, 0);
	put32(&f, 1);
	put32(&f, 0x000000c0);
	put8(&f, 0);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "bad_tunnel");
	CHECK_EQ(o.p.sport, 2152);
	CHECK_EQ(o.p.tunnel_depth, 0);

	/* echo request (type 1): signalling, plain UDP */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 2152, 2152);
	fix_later(&f, FIX_GTP);
	put8(&f, 0x32);
	put8(&f, 0x01);
	put16(&f, 0);
	put32(&f, 0);
	put32(&f, 0x00010000);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "");
	CHECK_EQ(o.p.dport, 2152);
}

static void test_ip_in_ip_all_four_combinations(void)
{
	static const struct {
		bool outer6, inner6;
	} cases[] = { { false, false }, { false, true }, { true, false }, { true, true } };

	for (size_t i = 0; i < 4; i++) {
		struct frame f = { .n = 0 };
		struct outcome o;
		unsigned proto = cases[i].inner6 ? 41 : 4;

		eth(&f, cases[i].outer6 ? 0x86dd : 0x0800);
		if (cases[i].outer6)
			ip6(&f, "2001:db8::a", "2001:db8::b", proto);
		else
			ip4(&f, "203.0.113.1", "203.0.113.2", proto);
		if (cases[i].inner6)
			ip6(&f, "2001:db8:1::1", "2001:db8:2::2", 17);
		else
			ip4(&f, "10.1.1.1", "10.2.2.2", 17);
		udp(&f, 5353, 53);
		decode_frame(LINK_ETHER, &f, &o);
		CHECK_EQ(o.r, DECODE_OK);
		CHECK_STR(o.counter, "");
		CHECK_STR(o.src, cases[i].inner6 ? "2001:db8:1::1" : "10.1.1.1");
		CHECK_STR(o.dst, cases[i].inner6 ? "2001:db8:2::2" : "10.2.2.2");
		CHECK_STR(o.osrc, cases[i].outer6 ? "2001:db8::a" : "203.0.113.1");
		CHECK_STR(o.odst, cases[i].outer6 ? "2001:db8::b" : "203.0.113.2");
		CHECK_EQ(o.p.family, cases[i].inner6 ? ADDR_V6 : ADDR_V4);
		CHECK_EQ(o.p.tunnel_depth, 1);
		CHECK_EQ(o.p.dport, 53);
	}
}

static void test_nesting_stops_after_four_tunnels(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 4);
	ip4(&f, "203.0.113.11", "203.0.113.12", 4);
	ip4(&f, "203.0.113.21", "203.0.113.22", 4);
	ip4(&f, "203.0.113.31", "203.0.113.32", 47);
	put16(&f, 0);
	put16(&f, 0x0800);
	ip4(&f, "203.0.113.41", "203.0.113.42", 4); /* depth 4 */
	inner_tcp(&f);                              /* depth 5: not followed */
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "tunnel_too_deep");
	CHECK_EQ(o.p.tunnel_depth, 4);
	CHECK_STR(o.src, "203.0.113.41");
	CHECK_EQ(o.p.proto, 4);
	CHECK_STR(o.osrc, "203.0.113.1");

	/* one level less is followed to the end */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 4);
	ip4(&f, "203.0.113.11", "203.0.113.12", 4);
	ip4(&f, "203.0.113.21", "203.0.113.22", 41);
	ip6(&f, "2001:db8::1", "2001:db8::2", 4);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "203.0.113.1", "203.0.113.2", 4);
}

static void test_teredo_headers_are_skipped(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 3544, 50000);
	put16(&f, 0x0001); /* authentication: id length 2, auth length 1 */
	put8(&f, 2);
	put8(&f, 1);
	put16(&f, 0xabcd);
	put8(&f, 0xef);
	put32(&f, 1); /* nonce */
	put32(&f, 2);
	put8(&f, 0);       /* confirmation */
	put16(&f, 0x0000); /* origin indication */
	put16(&f, 0xffff);
	put32(&f, 0xffffffff);
	ip6(&f, "2001:0:4136:e378::1", "2001:db8::2", 6);
	tcp(&f, 40000, 443, 0x02, 1000);
	decode_frame(LINK_ETHER, &f, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "");
	CHECK_STR(o.src, "2001:0:4136:e378::1");
	CHECK_EQ(o.p.dport, 443);
	CHECK_EQ(o.p.tunnel_depth, 1);
	CHECK_STR(o.osrc, "198.51.100.1");

	/* a payload length that does not fit: not Teredo, plain UDP */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 50000, 3544);
	ip6(&f, "2001:0:4136:e378::1", "2001:db8::2", 59);
	frame_finish(&f);
	f.b[14 + 28 + 5] = 1;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "");
	CHECK_EQ(o.p.dport, 3544);
	CHECK_EQ(o.p.tunnel_depth, 0);
	/* a bubble (no next header, length 0) is Teredo */
	f.b[14 + 28 + 5] = 0;
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.tunnel_depth, 1);
	CHECK_EQ(o.p.proto, 59);
}

static void test_ethernet_in_ip_is_unwrapped(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	/* EtherIP, RFC 3378 */
	eth(&f, 0x0800);
	ip4(&f, "203.0.113.1", "203.0.113.2", 97);
	put16(&f, 0x3000);
	eth(&f, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "203.0.113.1", "203.0.113.2", 1);
	f.b[14 + 20] = 0x40; /* version 4 does not exist */
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.counter, "bad_tunnel");
	CHECK_EQ(o.p.proto, 97);
	CHECK_EQ(o.p.tunnel_depth, 0);

	/* SRv6 L2 service: an IPv6 routing header, then next header 143 and the frame */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::a", "2001:db8::b", 43);
	put8(&f, 143);
	put8(&f, 2);
	put8(&f, 4); /* segment routing */
	put8(&f, 0);
	put32(&f, 0);
	put_zero(&f, 16);
	eth(&f, 0x0800);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "2001:db8::a", "2001:db8::b", 1);
}

static void test_mpls_over_udp_is_unwrapped(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 50000, 6635);
	put32(&f, 300 << 12 | 0x100 | 64);
	inner_tcp(&f);
	decode_frame(LINK_ETHER, &f, &o);
	check_inner_tcp(&o, "198.51.100.1", "198.51.100.2", 1);
}

static void test_every_link_type_reaches_ip(void)
{
	struct frame ipf = { .n = 0 }, f;
	struct outcome o;
	static const uint8_t af_le2[4] = { 2, 0, 0, 0 }, af_be2[4] = { 0, 0, 0, 2 };
	static const uint8_t af6[][4] = {
		{ 10, 0, 0, 0 }, { 24, 0, 0, 0 }, { 0, 0, 0, 28 }, { 30, 0, 0, 0 }
	};

	inner_tcp(&ipf);
	frame_finish(&ipf);

	/* BSD loopback, little and big endian address families */
	f.n = 0, f.nfix = 0;
	put(&f, af_le2, 4);
	put(&f, ipf.b, ipf.n);
	decode_one(LINK_NULL, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	memcpy(f.b, af_be2, 4);
	decode_one(LINK_LOOP, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	for (size_t i = 0; i < 4; i++) {
		struct frame g = { .n = 0 };

		put(&g, af6[i], 4);
		ip6(&g, "2001:db8::1", "2001:db8::2", 59);
		decode_frame(LINK_NULL, &g, &o);
		CHECK_EQ(o.r, DECODE_OK);
		CHECK_EQ(o.p.family, ADDR_V6);
	}
	f.b[0] = 7; /* AF 7 is not IP */
	f.b[3] = 0;
	decode_one(LINK_NULL, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_SKIP);
	CHECK_STR(o.counter, "not_ip");

	/* raw IP under every number it goes by */
	decode_one(LINK_RAW, ipf.b, ipf.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	decode_one(14, ipf.b, ipf.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	decode_one(101, ipf.b, ipf.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	decode_one(LINK_IPV4, ipf.b, ipf.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	decode_one(LINK_IPV6, ipf.b, ipf.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "bad_ip_version");

	/* Linux cooked v1 and v2 */
	f.n = 0, f.nfix = 0;
	put16(&f, 0);
	put16(&f, 1);
	put16(&f, 6);
	put_zero(&f, 8);
	put16(&f, 0x0800);
	put(&f, ipf.b, ipf.n);
	decode_one(LINK_SLL, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	f.n = 0, f.nfix = 0;
	put16(&f, 0x0800);
	put16(&f, 0);
	put32(&f, 3);
	put16(&f, 1);
	put8(&f, 0);
	put8(&f, 6);
	put_zero(&f, 8);
	put(&f, ipf.b, ipf.n);
	decode_one(LINK_SLL2, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);

	/* PPP with and without address/control, Cisco HDLC */
	f.n = 0, f.nfix = 0;
	put16(&f, 0xff03);
	put16(&f, 0x0021);
	put(&f, ipf.b, ipf.n);
	decode_one(LINK_PPP, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	decode_one(LINK_PPP, f.b + 2, f.n - 2, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	f.n = 0, f.nfix = 0;
	put16(&f, 0xff03);
	put16(&f, 0x0281); /* MPLS */
	put32(&f, 16 << 12 | 0x100 | 64);
	put(&f, ipf.b, ipf.n);
	decode_one(LINK_PPP, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	f.n = 0, f.nfix = 0;
	put16(&f, 0x0f00);
	put16(&f, 0x0800);
	put(&f, ipf.b, ipf.n);
	decode_one(LINK_C_HDLC, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);

	/* PPI with an Ethernet frame inside */
	f.n = 0, f.nfix = 0;
	put8(&f, 0);
	put8(&f, 0);
	put16(&f, 0x0800);     /* length 8, little-endian */
	put32(&f, 0x01000000); /* DLT_EN10MB, little-endian */
	eth(&f, 0x0800);
	put(&f, ipf.b, ipf.n);
	decode_one(192, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	f.b[4] = 192; /* PPI inside PPI */
	decode_one(192, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "unsupported_link");

	/* NFLOG: a prefix TLV, then the payload TLV */
	f.n = 0, f.nfix = 0;
	put8(&f, 2);
	put8(&f, 0);
	put16(&f, 0);
	put16(&f, 0x0500); /* length 5, padded to 8 */
	put16(&f, 0x0a00);
	put32(&f, 0x41000000);
	put8(&f, (unsigned)(4 + ipf.n));
	put8(&f, 0);
	put16(&f, 0x0900);
	put(&f, ipf.b, ipf.n);
	decode_one(239, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	decode_one(239, f.b, 12, &o); /* no payload TLV */
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "truncated_link");

	/* Cisco HDLC frames in a PPP capture, as routers write them */
	f.n = 0, f.nfix = 0;
	put16(&f, 0x8f00);
	put16(&f, 0x0800);
	put(&f, ipf.b, ipf.n);
	decode_one(LINK_PPP, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);

	/* Cisco FabricPath in Ethernet */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x8903);
	put16(&f, 0x0020);
	eth(&f, 0x8100);
	vlan(&f, 7, 0x0800);
	put(&f, ipf.b, ipf.n);
	decode_one(LINK_ETHER, f.b, f.n, &o);
	check_inner_tcp(&o, "10.1.1.1", "10.2.2.2", 0);
	CHECK_EQ(o.p.vlan, 7);

	/* 802.11 radiotap is not ours */
	decode_one(127, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "unsupported_link");
	CHECK(!decode_supports_dlt(127));
	CHECK(decode_supports_dlt(LINK_SLL2));
	CHECK(decode_supports_dlt(LINK_LOOP));
}

/*
 * Every prefix of a frame decodes without harm: the invariants hold, and the reason for a
 * prefix that stops inside a header is that header's truncation counter.
 */
static void check_every_prefix(int dlt, const uint8_t *b, size_t n, const char *name)
{
	char why[160];

	for (size_t len = 0; len <= n; len++) {
		struct outcome o;
		uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */

		if (copy == NULL)
			abort();
		memcpy(copy, b, len);
		decode_one(dlt, copy, len, &o);
		if (!decode_invariants_hold(copy, len, &o, why, sizeof(why))) {
			fprintf(stderr, "%s prefix %zu: %s\n", name, len, why);
			CHECK(0);
		}
		free(copy);
	}
}

/* Real frames cut at every length: GTP in two VLANs, PPTP, Teredo, GENEVE, QinQ PPPoE, GRE
 * with Cisco MetaData, an IPv6 routing header, Linux cooked v2. */
static const struct {
	const char *file;
	unsigned nr;
} prefix_frames[] = {
	{ "ndpi/ipv6_in_gtp.pcap", 1 },
	{ "ndpi/gre.pcapng", 1 },
	{ "ndpi/teredo.pcap", 2 },
	{ "tcpdump/geneve.pcap", 3 },
	{ "ndpi/dns.pcap", 4 },
	{ "tcpdump/various_gre.pcap", 25 },
	{ "tcpdump/ipv6-routing-header.pcap", 1 },
	{ "suricata-verify/decode-sll2-01__input.pcap", 4 },
};

static void test_truncated_prefixes_are_counted_not_misread(void)
{
	struct frame f = { .n = 0 };
	struct outcome o;

	eth(&f, 0x8100);
	vlan(&f, 5, 0x0800);
	inner_tcp(&f);
	frame_finish(&f);
	check_every_prefix(LINK_ETHER, f.b, f.n, "vlan tcp");
	/* where a cut lands decides the counter */
	decode_one(LINK_ETHER, f.b, 13, &o);
	CHECK_STR(o.counter, "truncated_link");
	decode_one(LINK_ETHER, f.b, 17, &o);
	CHECK_STR(o.counter, "truncated_link");
	decode_one(LINK_ETHER, f.b, 18, &o);
	CHECK_STR(o.counter, "truncated_ip");
	decode_one(LINK_ETHER, f.b, 18 + 19, &o);
	CHECK_STR(o.counter, "truncated_ip");
	decode_one(LINK_ETHER, f.b, 18 + 20, &o);
	CHECK_STR(o.counter, "truncated_l4");
	decode_one(LINK_ETHER, f.b, 18 + 39, &o);
	CHECK_STR(o.counter, "truncated_l4");
	decode_one(LINK_ETHER, f.b, 18 + 40, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.payload_len, 0);
	CHECK_EQ(o.p.payload_wire_len, 5);

	/* a tunnel cut inside its inner header falls back to the outer packet */
	f.n = 0, f.nfix = 0;
	eth(&f, 0x0800);
	ip4(&f, "198.51.100.1", "198.51.100.2", 17);
	udp(&f, 50000, 4789);
	put32(&f, 0x08000000);
	put32(&f, 0x00123400);
	eth(&f, 0x0800);
	inner_tcp(&f);
	frame_finish(&f);
	check_every_prefix(LINK_ETHER, f.b, f.n, "vxlan");
	decode_one(LINK_ETHER, f.b, 14 + 28 + 8 + 14 + 10, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_EQ(o.p.dport, 4789);
	CHECK_EQ(o.p.tunnel_depth, 0);
	/* once the inner IP header is whole, the inner packet is the one that counts */
	decode_one(LINK_ETHER, f.b, 14 + 28 + 8 + 14 + 20 + 4, &o);
	CHECK_EQ(o.r, DECODE_ERROR);
	CHECK_STR(o.counter, "truncated_l4");

	f.n = 0, f.nfix = 0;
	eth(&f, 0x86dd);
	ip6(&f, "2001:db8::1", "2001:db8::2", 0);
	ip6_ext(&f, 44, 0);
	ip6_frag(&f, 47, 0, true);
	put16(&f, 0x3000);
	put16(&f, 0x86dd);
	put32(&f, 1);
	put32(&f, 2);
	ip6(&f, "2001:db8::3", "2001:db8::4", 58);
	icmp(&f, 128, 0);
	frame_finish(&f);
	check_every_prefix(LINK_ETHER, f.b, f.n, "ipv6 gre ipv6");
	decode_one(LINK_ETHER, f.b, f.n, &o);
	CHECK_EQ(o.r, DECODE_OK);
	CHECK_STR(o.src, "2001:db8::3");
	CHECK_EQ(o.p.sport, 128);
	CHECK_EQ(o.p.tunnel_depth, 1);

	/* real frames */
	if (!corpus_present())
		return;
	for (size_t i = 0; i < sizeof(prefix_frames) / sizeof(prefix_frames[0]); i++) {
		size_t len = 0;
		int dlt = capture_frame(prefix_frames[i].file, prefix_frames[i].nr, &len);

		CHECK(dlt >= 0);
		if (dlt >= 0)
			check_every_prefix(dlt, frame_buf, len, prefix_frames[i].file);
	}
}

/*
 * Frames of real captures against tshark 4.0's dissection of them, from
 *   tshark -n -r FILE -o ip.defragment:FALSE -T fields -e frame.number -e frame.protocols
 *          -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst -e tcp.srcport -e tcp.dstport
 *          -e udp.srcport -e udp.dstport -e icmp.type -e icmpv6.type
 * taking the innermost layer (the --tshark mode runs this comparison over whole captures).
 */
static void test_real_tunnel_frames_match_tshark(void)
{
	if (!corpus_present()) {
		fprintf(stderr, "test_real_tunnel_frames_match_tshark: no corpus, skipped\n");
		return;
	}
	/* eth:ip:udp:vxlan:eth:ip:icmp, echo request */
	check_capture_frame("tcpdump/vxlan.pcap", 1, DECODE_OK, "192.168.203.3", "192.168.203.5", 8,
	                    0, 1);
	/* eth:ip:udp:vxlan:eth:arp: the outer UDP packet */
	check_capture_frame("tcpdump/vxlan.pcap", 2, DECODE_OK, "192.168.202.1", "192.168.203.1",
	                    42710, 4789, 0);
	/* eth:ip:udp:teredo:ipv6:icmpv6 router advertisement */
	check_capture_frame("ndpi/teredo.pcap", 2, DECODE_OK, "fe80::8000:f227:3d77:e3b3",
	                    "fe80::ffff:ffff:fffe", 134, 0, 1);
	/* eth:vlan:vlan:ip:udp:gtp:ipv6:udp */
	check_capture_frame("ndpi/ipv6_in_gtp.pcap", 1, DECODE_OK,
	                    "2607:fc20:4052:39e:490a:ea4d:17fe:e09c", "fd00:976a:bc67:193e::7",
	                    49120, 25658, 1);
	/* eth:ip:udp:gtp:ip:tcp */
	check_capture_frame("ndpi/ja3_lots_of_cipher_suites_2_anon.pcap", 2, DECODE_OK,
	                    "151.121.193.160", "192.168.147.177", 443, 58496, 1);
	/* eth:ip:udp:geneve:eth:ip:tcp */
	check_capture_frame("tcpdump/geneve.pcap", 3, DECODE_OK, "30.0.0.2", "30.0.0.1", 51225, 22,
	                    1);
	/* eth:ip:ipv6:icmpv6 echo request (6in4) */
	check_capture_frame("ndpi/6in4tunnel.pcap", 1, DECODE_OK,
	                    "2001:470:1f17:13f:3e97:eff:fe73:4dec", "2604:a880:1:20::224:b001", 128,
	                    0, 1);
	/* eth:ip:ipv6:icmpv6 destination unreachable quoting a TCP segment */
	check_capture_frame("ndpi/6in4tunnel.pcap", 3, DECODE_SKIP, NULL, NULL, -1, -1, 1);
	/* eth:ipv6:ip:tcp (4in6) */
	check_capture_frame("ndpi/4in6tunnel.pcap", 2, DECODE_OK, "10.10.10.1", "192.168.0.1", 443,
	                    64455, 1);
	/* eth:ipv6:ipv6:udp (6in6) */
	check_capture_frame("ndpi/6in6tunnel.pcap", 2, DECODE_OK, "dead::beef", "cafe::babe", 30000,
	                    13000, 1);
	/* eth:vlan:vlan:ip:ip:udp (4in4) */
	check_capture_frame("ndpi/4in4tunnel.pcap", 1, DECODE_OK, "10.10.100.25", "10.10.101.2",
	                    62367, 17000, 1);
	/* eth:vlan:vlan:pppoes:ppp:ip:udp:dns */
	check_capture_frame("ndpi/dns.pcap", 5, DECODE_OK, "82.178.158.181", "82.178.113.245", 53,
	                    47255, 0);
	/* eth:ip:udp:mpls:ip:icmp echo reply */
	check_capture_frame("tcpdump/mpls-over-udp.pcap", 2, DECODE_OK, "10.1.0.10", "10.3.0.10", 0,
	                    0, 1);
	/* eth:vlan:ip:gre:ppp:ip:udp:sip (PPTP) */
	check_capture_frame("ndpi/gre.pcapng", 1, DECODE_OK, "192.168.10.210", "192.168.103.40",
	                    5060, 5060, 1);
	/* eth:vlan:ip:gre:cmd:ip:icmp echo request */
	check_capture_frame("tcpdump/various_gre.pcap", 25, DECODE_OK, "172.17.1.54", "172.17.1.55",
	                    8, 0, 1);
	/* sll2:ip:tcp */
	check_capture_frame("suricata-verify/decode-sll2-01__input.pcap", 1, DECODE_OK,
	                    "192.168.1.253", "192.168.1.21", 56478, 80, 0);
	/* eth:ip:data: the second fragment of a DNS answer */
	check_capture_frame("ndpi/dns_fragmented.pcap", 3, DECODE_SKIP, NULL, NULL, -1, -1, 0);

	/* the outermost VLAN and the outer addresses of a frame with two tags and GTP */
	{
		struct outcome o;
		size_t len = 0;
		int dlt = capture_frame("ndpi/ipv6_in_gtp.pcap", 1, &len);

		CHECK(dlt == LINK_ETHER);
		if (dlt == LINK_ETHER) {
			decode_one(dlt, frame_buf, len, &o);
			CHECK_EQ(o.p.vlan, 3233);
			CHECK_STR(o.osrc, "10.238.80.26");
			CHECK_STR(o.odst, "10.238.254.75");
		}
	}
}

/* ---- main ---------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
		return corpus_main(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "--tshark") == 0)
		return tshark_main(argv[2], argv[3], argc - 4, argv + 4);
	RUN(test_counter_names_follow_the_enum);
	RUN(test_addr_str_uses_rfc5952_and_dotted_quad);
	RUN(test_ether_ipv4_tcp_fields_are_decoded);
	RUN(test_payload_is_clipped_to_ip_and_udp_lengths);
	RUN(test_ipv4_options_are_skipped);
	RUN(test_bad_ipv4_headers_are_counted);
	RUN(test_vlan_and_qinq_record_the_outermost_id);
	RUN(test_mpls_labels_are_popped_to_bottom_of_stack);
	RUN(test_pppoe_session_carries_ip);
	RUN(test_ipv6_extension_headers_are_skipped);
	RUN(test_ipv6_broken_extension_chains_are_counted);
	RUN(test_ipv6_jumbogram_length_comes_from_hop_by_hop);
	RUN(test_first_fragment_counts_later_fragments_are_counted);
	RUN(test_icmp_errors_are_skipped_and_echo_is_a_flow);
	RUN(test_gre_inner_flow_is_decoded);
	RUN(test_gre_without_ip_inside_is_the_flow_itself);
	RUN(test_erspan_types_one_two_three_are_unwrapped);
	RUN(test_pptp_gre_carries_ppp);
	RUN(test_vxlan_inner_flow_is_decoded);
	RUN(test_geneve_options_are_skipped);
	RUN(test_gtpu_extension_headers_are_skipped);
	RUN(test_ip_in_ip_all_four_combinations);
	RUN(test_nesting_stops_after_four_tunnels);
	RUN(test_teredo_headers_are_skipped);
	RUN(test_ethernet_in_ip_is_unwrapped);
	RUN(test_mpls_over_udp_is_unwrapped);
	RUN(test_every_link_type_reaches_ip);
	RUN(test_truncated_prefixes_are_counted_not_misread);
	RUN(test_real_tunnel_frames_match_tshark);
	return check_summary();
}
