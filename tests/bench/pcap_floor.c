/*
 * pcap_floor: the floor the sensor's throughput is measured against.
 *
 * A bare libpcap read loop over one or more capture files: pcap_open_offline and
 * pcap_next_ex, counting packets and captured bytes, nothing else. Whatever the sensor
 * does on top of reading the file costs time above this floor.
 *
 * Usage: pcap_floor FILE...
 * Prints one line: "packets N bytes B seconds S pps P" (S and P from a monotonic clock
 * around the read loops, so start-up is left out; bench_sensor.sh times the whole process
 * from outside too). Exit 0, or 1 when a file cannot be opened or read.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_file(const char *path, uint64_t *packets, uint64_t *bytes)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *data;
	pcap_t *p;
	int rc;

	p = pcap_open_offline(path, errbuf);
	if (!p) {
		fprintf(stderr, "pcap_floor: %s: %s\n", path, errbuf);
		return -1;
	}
	while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
		(*packets)++;
		*bytes += hdr->caplen;
	}
	if (rc == PCAP_ERROR) {
		fprintf(stderr, "pcap_floor: %s: %s\n", path, pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	pcap_close(p);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t packets = 0, bytes = 0;
	double start, seconds;
	int failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: pcap_floor FILE...\n");
		return 2;
	}
	start = now_seconds();
	for (int i = 1; i < argc; i++)
		if (read_file(argv[i], &packets, &bytes) < 0)
			failed = 1;
	seconds = now_seconds() - start;
	printf("packets %llu bytes %llu seconds %.6f pps %.0f\n", (unsigned long long)packets,
	       (unsigned long long)bytes, seconds, seconds > 0 ? (double)packets / seconds : 0.0);
	return failed;
}
