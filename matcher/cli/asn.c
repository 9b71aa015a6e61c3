/*
 * tipoff-rules' ASN database adapter: the only file of the CLI that includes maxminddb.h.
 * Looks an address up in a GeoLite2-ASN compatible database (autonomous_system_number).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <maxminddb.h>

#include "asn.h"

struct rules_asn {
	MMDB_s db;
};

int rules_asn_open(const char *path, struct rules_asn **out, const char **why)
{
	struct rules_asn *a = calloc(1, sizeof(*a));
	int status;

	*out = NULL;
	if (a == NULL)
		return -ENOMEM;
	status = MMDB_open(path, MMDB_MODE_MMAP, &a->db);
	if (status != MMDB_SUCCESS) {
		*why = MMDB_strerror(status);
		free(a);
		return status == MMDB_FILE_OPEN_ERROR ? -ENOENT : -EINVAL;
	}
	*out = a;
	return 0;
}

void rules_asn_close(struct rules_asn *a)
{
	if (a == NULL)
		return;
	MMDB_close(&a->db);
	free(a);
}

uint32_t rules_asn_lookup(void *arg, const struct matcher_ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct rules_asn *a = arg;
	struct sockaddr_storage ss;
	MMDB_lookup_result_s res;
	MMDB_entry_data_s data;
	int gai, status;

	memset(&ss, 0, sizeof(ss));
	if (memcmp(ip->b, mapped, sizeof(mapped)) == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, ip->b + 12, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, ip->b, 16);
	}
	res = MMDB_lookup_sockaddr(&a->db, (struct sockaddr *)&ss, &status);
	if (status != MMDB_SUCCESS || !res.found_entry)
		return 0;
	gai = MMDB_get_value(&res.entry, &data, "autonomous_system_number", NULL);
	if (gai != MMDB_SUCCESS || !data.has_data)
		return 0;
	if (data.type == MMDB_DATA_TYPE_UINT32)
		return data.uint32;
	if (data.type == MMDB_DATA_TYPE_UINT16)
		return data.uint16;
	if (data.type == MMDB_DATA_TYPE_UINT64 && data.uint64 <= UINT32_MAX)
		return (uint32_t)data.uint64;
	return 0;
}
