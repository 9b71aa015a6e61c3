/*
 * libmaxminddb adapter (the only includer of maxminddb.h). IPv4 addresses are looked up as
 * IPv4 so that both IPv4-only and IPv6 trees with IPv4 at ::/96 answer them.
 */
#include "sensor/asn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct asn_db {
	MMDB_s mmdb;
};

int asn_db_open(const char *path, struct asn_db **out, char *err, size_t errlen)
{
	struct asn_db *db = calloc(1, sizeof(*db));
	int rc;

	*out = NULL;
	if (db == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
	if (rc != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s", rc == MMDB_IO_ERROR ? strerror(errno)
							      : MMDB_strerror(rc));
		free(db);
		if (rc == MMDB_FILE_OPEN_ERROR)
			return -ENOENT;
		return rc == MMDB_IO_ERROR ? -EIO : -EINVAL;
	}
	*out = db;
	return 0;
}

void asn_db_close(struct asn_db *db)
{
	if (db == NULL)
		return;
	MMDB_close(&db->mmdb);
	free(db);
}

bool asn_lookup(const struct asn_db *db, const struct addr *a, uint32_t *asn, char *org,
		size_t orgsize)
{
	struct sockaddr_storage ss;
	MMDB_lookup_result_s res;
	MMDB_entry_data_s data;
	int mmdb_err;

	memset(&ss, 0, sizeof(ss));
	if (addr_is_v4(a)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->b + 12, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->b, 16);
	}
	res = MMDB_lookup_sockaddr(&db->mmdb, (const struct sockaddr *)&ss, &mmdb_err);
	if (mmdb_err != MMDB_SUCCESS || !res.found_entry)
		return false;
	if (MMDB_get_value(&res.entry, &data, "autonomous_system_number", NULL) != MMDB_SUCCESS ||
	    !data.has_data)
		return false;
	switch (data.type) {
	case MMDB_DATA_TYPE_UINT32:
		*asn = data.uint32;
		break;
	case MMDB_DATA_TYPE_UINT16:
		*asn = data.uint16;
		break;
	case MMDB_DATA_TYPE_INT32:
		if (data.int32 < 0)
			return false;
		*asn = (uint32_t)data.int32;
		break;
	case MMDB_DATA_TYPE_UINT64:
		if (data.uint64 > UINT32_MAX)
			return false;
		*asn = (uint32_t)data.uint64;
		break;
	default:
		return false;
	}
	if (org != NULL && orgsize > 0) {
		org[0] = '\0';
		if (MMDB_get_value(&res.entry, &data, "autonomous_system_organization", NULL) ==
			    MMDB_SUCCESS &&
		    data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING) {
			size_t n = data.data_size < orgsize - 1 ? data.data_size : orgsize - 1;

			memcpy(org, data.utf8_string, n);
			org[n] = '\0';
		}
	}
	return true;
}
