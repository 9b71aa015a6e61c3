/*
 * Unit tests of sensor/spool.c: append, ack, replay after reopen, rotation and deletion of
 * segments, the size cap, and recovery from a damaged or truncated tail (simulated crash).
 */
#include "check.h"
#include "sensor/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR 12 /* record header bytes (magic, length, crc) */

static char tmpdir[64];

static const char *fresh_dir(void)
{
	static unsigned n;
	static char path[128];

	snprintf(path, sizeof(path), "%s/s%u", tmpdir, n++);
	return path;
}

/* Number of segment files in dir, and the name of the newest in *last (may be NULL). */
static unsigned count_segments(const char *dir, char *last, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (last != NULL)
		last[0] = '\0';
	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l > 4 && strcmp(e->d_name + l - 4, ".seg") == 0) {
			n++;
			if (last != NULL && strcmp(e->d_name, last) > 0)
				snprintf(last, cap, "%s", e->d_name);
		}
	}
	closedir(d);
	return n;
}

/* Read the next record and compare it with want (NULL: expect none). */
static void expect_next(struct spool *sp, const char *want, int line)
{
	char buf[256];
	size_t len = 0;
	int rc = spool_next(sp, buf, sizeof(buf), &len);

	if (want == NULL) {
		if (rc != 0)
			fprintf(stderr, "test_spool.c:%d: expected no record, rc=%d\n", line, rc);
		CHECK_EQ(rc, 0);
		return;
	}
	if (rc != 1 || len != strlen(want) || memcmp(buf, want, len) != 0)
		fprintf(stderr, "test_spool.c:%d: expected \"%s\", rc=%d got \"%.*s\"\n", line,
		        want, rc, (int)len, buf);
	CHECK_EQ(rc, 1);
	CHECK_EQ(len, strlen(want));
	CHECK_MEM(buf, want, strlen(want));
}

#define EXPECT_NEXT(sp, want) expect_next((sp), (want), __LINE__)

static struct spool *open_spool(const char *dir, uint64_t max, uint64_t seg)
{
	struct spool_opts o = { .max_bytes = max, .segment_bytes = seg, .max_record = 200 };
	struct spool *sp = NULL;
	int rc = spool_open(dir, &o, &sp);

	CHECK_EQ(rc, 0);
	return sp;
}

static struct spool_stats stats(const struct spool *sp)
{
	struct spool_stats st;

	spool_get_stats(sp, &st);
	return st;
}

static void test_spool_replays_unacked_records_in_order_after_reopen(void)
{
	const char *dir = fresh_dir();
	struct spool *sp = open_spool(dir, 0, 0);

	CHECK_EQ(spool_append(sp, "a1", 2), 0);
	CHECK_EQ(spool_append(sp, "a2", 2), 0);
	CHECK_EQ(spool_append(sp, "a3", 2), 0);
	CHECK_EQ(spool_append(sp, "", 0), 0); /* an empty record is a record */
	CHECK_U64(stats(sp).backlog_alerts, 4);
	EXPECT_NEXT(sp, "a1");
	EXPECT_NEXT(sp, "a2");
	CHECK_U64(stats(sp).unsent_alerts, 2);
	CHECK_EQ(spool_ack(sp), 0); /* a1 acknowledged; a2 sent, unanswered */
	CHECK_U64(stats(sp).backlog_alerts, 3);
	CHECK_U64(stats(sp).backlog_bytes, 4);
	spool_close(sp);

	sp = open_spool(dir, 0, 0);
	CHECK_U64(stats(sp).recovered, 3);
	CHECK_U64(stats(sp).corrupt, 0);
	EXPECT_NEXT(sp, "a2"); /* sent before the restart but never answered: sent again */
	EXPECT_NEXT(sp, "a3");
	EXPECT_NEXT(sp, "");
	EXPECT_NEXT(sp, NULL);
	CHECK_EQ(spool_ack(sp), 0);
	CHECK_EQ(spool_ack(sp), 0);
	CHECK_EQ(spool_ack(sp), 0);
	CHECK_EQ(spool_ack(sp), -EINVAL); /* nothing outstanding */
	CHECK_U64(stats(sp).backlog_alerts, 0);
	spool_close(sp);

	sp = open_spool(dir, 0, 0);
	CHECK_U64(stats(sp).recovered, 0);
	EXPECT_NEXT(sp, NULL);
	spool_close(sp);
}

static void test_spool_rewind_hands_out_unanswered_records_again(void)
{
	struct spool *sp = open_spool(fresh_dir(), 0, 0);

	spool_append(sp, "r1", 2);
	spool_append(sp, "r2", 2);
	spool_append(sp, "r3", 2);
	EXPECT_NEXT(sp, "r1");
	EXPECT_NEXT(sp, "r2");
	CHECK_EQ(spool_ack(sp), 0);
	spool_rewind(sp);
	CHECK_U64(stats(sp).unsent_alerts, 2);
	EXPECT_NEXT(sp, "r2");
	EXPECT_NEXT(sp, "r3");
	EXPECT_NEXT(sp, NULL);
	spool_close(sp);
}

static void test_spool_rotates_segments_and_deletes_acknowledged_ones(void)
{
	const char *dir = fresh_dir();
	/* records of 8 payload bytes take 20 bytes: 3 per 64-byte segment */
	struct spool *sp = open_spool(dir, 0, 64);
	char rec[16], last[64], first_last[64];

	for (int i = 0; i < 10; i++) {
		snprintf(rec, sizeof(rec), "rec-%04d", i);
		CHECK_EQ(spool_append(sp, rec, 8), 0);
	}
	CHECK_EQ(count_segments(dir, first_last, sizeof(first_last)), 4); /* 3+3+3+1 */
	CHECK_U64(stats(sp).segments, 4);
	CHECK_U64(stats(sp).disk_bytes, 10 * (HDR + 8));
	for (int i = 0; i < 4; i++) {
		snprintf(rec, sizeof(rec), "rec-%04d", i);
		EXPECT_NEXT(sp, rec);
	}
	for (int i = 0; i < 3; i++)
		CHECK_EQ(spool_ack(sp), 0);
	/* the first segment is fully acknowledged: gone; the second holds an unacked record */
	CHECK_EQ(count_segments(dir, NULL, 0), 3);
	CHECK_EQ(spool_ack(sp), 0);
	CHECK_EQ(count_segments(dir, NULL, 0), 3);
	spool_close(sp);

	sp = open_spool(dir, 0, 64);
	CHECK_U64(stats(sp).recovered, 6);
	for (int i = 4; i < 10; i++) {
		snprintf(rec, sizeof(rec), "rec-%04d", i);
		EXPECT_NEXT(sp, rec);
		CHECK_EQ(spool_ack(sp), 0);
	}
	EXPECT_NEXT(sp, NULL);
	/* only the newest segment (taking appends) is left */
	CHECK_EQ(count_segments(dir, last, sizeof(last)), 1);
	CHECK_STR(last, first_last);
	CHECK_EQ(spool_append(sp, "rec-0010", 8), 0);
	EXPECT_NEXT(sp, "rec-0010");
	spool_close(sp);
}

static void test_spool_size_cap_drops_newest_and_keeps_older(void)
{
	const char *dir = fresh_dir();
	/* room for exactly 3 records of 8 bytes (20 bytes each) */
	struct spool *sp = open_spool(dir, 3 * (HDR + 8), 0);

	CHECK_EQ(spool_append(sp, "cap-0001", 8), 0);
	CHECK_EQ(spool_append(sp, "cap-0002", 8), 0);
	CHECK_EQ(spool_append(sp, "cap-0003", 8), 0);
	CHECK_EQ(spool_append(sp, "cap-0004", 8), -ENOSPC);
	CHECK_EQ(spool_append(sp, "x", 1), -ENOSPC); /* even a small one: 13 bytes > 0 left */
	CHECK_U64(stats(sp).overflow, 2);
	CHECK_U64(stats(sp).backlog_alerts, 3);
	CHECK_EQ(spool_append(sp, "too long", 201), -EMSGSIZE);
	spool_close(sp);

	sp = open_spool(dir, 3 * (HDR + 8), 0);
	CHECK_U64(stats(sp).recovered, 3);
	CHECK_U64(stats(sp).corrupt, 0);
	EXPECT_NEXT(sp, "cap-0001");
	EXPECT_NEXT(sp, "cap-0002");
	EXPECT_NEXT(sp, "cap-0003");
	EXPECT_NEXT(sp, NULL);
	spool_close(sp);
}

/* Append n records "crash-N", close, and return the path of the newest segment. */
static void fill(const char *dir, int n, char *segpath, size_t cap)
{
	struct spool *sp = open_spool(dir, 0, 0);
	char rec[32], last[64];

	for (int i = 1; i <= n; i++) {
		snprintf(rec, sizeof(rec), "crash-%d", i);
		spool_append(sp, rec, strlen(rec));
	}
	spool_close(sp);
	count_segments(dir, last, sizeof(last));
	snprintf(segpath, cap, "%s/%s", dir, last);
}

static void test_spool_truncated_last_record_is_cut_and_earlier_kept(void)
{
	const char *dir = fresh_dir();
	char seg[512];
	struct stat st;
	struct spool *sp;

	fill(dir, 3, seg, sizeof(seg));
	CHECK_EQ(stat(seg, &st), 0);
	/* a crash in the middle of writing the third record's payload */
	CHECK_EQ(truncate(seg, st.st_size - 3), 0);
	sp = open_spool(dir, 0, 0);
	CHECK_U64(stats(sp).corrupt, 1);
	CHECK_U64(stats(sp).recovered, 2);
	EXPECT_NEXT(sp, "crash-1");
	EXPECT_NEXT(sp, "crash-2");
	EXPECT_NEXT(sp, NULL);
	/* new records go after the cut, and read back whole */
	CHECK_EQ(spool_append(sp, "after", 5), 0);
	EXPECT_NEXT(sp, "after");
	spool_close(sp);
	CHECK_EQ(stat(seg, &st), 0);
	CHECK_EQ(st.st_size, 2 * (HDR + 7) + HDR + 5);

	/* only half a header left over */
	fill(dir = fresh_dir(), 2, seg, sizeof(seg));
	CHECK_EQ(stat(seg, &st), 0);
	CHECK_EQ(truncate(seg, 2 * (HDR + 7) - (HDR + 7) + 5), 0);
	sp = open_spool(dir, 0, 0);
	CHECK_U64(stats(sp).corrupt, 1);
	EXPECT_NEXT(sp, "crash-1");
	EXPECT_NEXT(sp, NULL);
	spool_close(sp);
}

static void test_spool_damaged_last_record_is_detected_by_checksum(void)
{
	const char *dir = fresh_dir();
	char seg[512];
	struct spool *sp;
	int fd;

	fill(dir, 3, seg, sizeof(seg));
	/* flip a payload byte of the third record: length intact, checksum wrong */
	fd = open(seg, O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, "X", 1, 2 * (HDR + 7) + HDR + 2), 1);
	/* and garbage after it, as a torn write could leave */
	CHECK_EQ(pwrite(fd, "garbage!", 8, 3 * (HDR + 7)), 8);
	close(fd);
	sp = open_spool(dir, 0, 0);
	CHECK_U64(stats(sp).corrupt, 1);
	CHECK_U64(stats(sp).recovered, 2);
	EXPECT_NEXT(sp, "crash-1");
	EXPECT_NEXT(sp, "crash-2");
	EXPECT_NEXT(sp, NULL);
	spool_close(sp);
}

static void test_spool_bad_ack_file_replays_everything(void)
{
	const char *dir = fresh_dir();
	char path[256];
	struct spool *sp = open_spool(dir, 0, 0);
	FILE *f;

	spool_append(sp, "k1", 2);
	spool_append(sp, "k2", 2);
	EXPECT_NEXT(sp, "k1");
	spool_ack(sp);
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/ack", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("not an ack file\n", f);
	fclose(f);
	/* duplicates are allowed, loss is not */
	sp = open_spool(dir, 0, 0);
	CHECK_U64(stats(sp).recovered, 2);
	EXPECT_NEXT(sp, "k1");
	EXPECT_NEXT(sp, "k2");
	spool_close(sp);
}

static void test_spool_second_opener_is_refused(void)
{
	const char *dir = fresh_dir();
	struct spool *a = open_spool(dir, 0, 0), *b = NULL;

	CHECK_EQ(spool_open(dir, NULL, &b), -EBUSY);
	CHECK(b == NULL);
	spool_close(a);
	CHECK_EQ(spool_open(dir, NULL, &b), 0);
	spool_close(b);
	spool_close(NULL);
}

static void test_spool_short_buffer_consumes_nothing(void)
{
	struct spool *sp = open_spool(fresh_dir(), 0, 0);
	char small[4];
	size_t len = 0;

	spool_append(sp, "longer than four", 16);
	CHECK_EQ(spool_next(sp, small, sizeof(small), &len), -EMSGSIZE);
	CHECK_EQ(len, 16);
	EXPECT_NEXT(sp, "longer than four");
	spool_close(sp);
}

int main(void)
{
	char cmd[128];
	int rc;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_spool_XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_spool_replays_unacked_records_in_order_after_reopen);
	RUN(test_spool_rewind_hands_out_unanswered_records_again);
	RUN(test_spool_rotates_segments_and_deletes_acknowledged_ones);
	RUN(test_spool_size_cap_drops_newest_and_keeps_older);
	RUN(test_spool_truncated_last_record_is_cut_and_earlier_kept);
	RUN(test_spool_damaged_last_record_is_detected_by_checksum);
	RUN(test_spool_bad_ack_file_replays_everything);
	RUN(test_spool_second_opener_is_refused);
	RUN(test_spool_short_buffer_consumes_nothing);
	rc = check_summary();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return rc;
}
