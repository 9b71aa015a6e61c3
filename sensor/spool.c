/*
 * The on-disk spool of an acknowledged sink: append-only segment files and a persisted
 * acknowledged position.
 *
 * Design note. A spool is a list of segments (files NNNNNNNNNNNNNNNN.seg, numbered upwards),
 * each a run of records: magic "TPS1", payload length and CRC-32C of the payload (three u32,
 * little endian), then the payload (one alert line without newline). Records are only ever
 * appended to the newest segment; a segment is closed when it reaches segment_bytes. Two
 * positions move forward through the records: `ack`, the oldest record not yet acknowledged,
 * which always lies in the first segment (older ones are deleted as soon as the position leaves
 * them), and `send`, the oldest record not yet handed to the sink. ack <= send <= end.
 * spool_rewind moves send back to ack when a connection is lost, which makes delivery
 * at-least-once. The ack position is persisted in the file `ack` (written to ack.tmp and
 * renamed) by spool_sync; appended data is fdatasync'd there too.
 *
 * Durability: write(2) puts every record in the page cache before the sink sees it, so a
 * crash of the sensor loses nothing. A crash of the machine may lose what was appended since
 * the last spool_sync (about a second), and may replay records acknowledged since then.
 * Recovery at open re-checks every unacknowledged record and cuts a segment at its first
 * damaged or truncated record (the tail of an interrupted write), keeping all earlier ones.
 *
 * Threads: one (the alert output thread); no locking inside. An flock on `lock` keeps a
 * second process out of the folder.
 */
#include "sensor/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SPOOL_MAGIC        0x31535054u /* "TPS1" read as a little-endian u32 */
#define SPOOL_HDR          12u
#define SPOOL_HARD_MAX_REC (64u << 20) /* larger lengths are damage, whatever max_record is */
#define SPOOL_DEFAULT_MAX  (1024ull << 20)
#define SPOOL_DEFAULT_SEG  (16ull << 20)
#define SPOOL_DEFAULT_REC  (1u << 20)
#define SPOOL_ACK_FILE     "ack"
#define SPOOL_ACK_TMP      "ack.tmp"
#define SPOOL_ACK_FORMAT   "tipoff-spool-ack 1 %016" PRIx64 " %" PRIu64 "\n"
#define SPOOL_SEG_NAME_LEN 20 /* 16 hex digits + ".seg" */

struct spool_seg {
	uint64_t num; /* from the file name */
	uint64_t end; /* bytes of whole, valid records */
	int fd;
};

struct spool {
	int dirfd;
	int lockfd;
	struct spool_opts o;
	struct spool_seg *segs; /* oldest first; never empty; the last one takes appends */
	size_t nseg, segcap;
	uint64_t ack_off; /* in segs[0] */
	size_t send_idx;  /* segs[send_idx] */
	uint64_t send_off;
	bool data_dirty; /* appended since the last fdatasync */
	bool ack_dirty;  /* ack position moved since it was last persisted */
	struct spool_stats st;
};

/* ----- CRC-32C (Castagnoli), table driven ------------------------------------------------ */

static uint32_t spool_crc_table[256];
static pthread_once_t spool_crc_once = PTHREAD_ONCE_INIT;

static void spool_crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		spool_crc_table[i] = c;
	}
}

static uint32_t spool_crc32c(const void *data, size_t n)
{
	const unsigned char *p = data;
	uint32_t c = 0xffffffffu;

	while (n--)
		c = spool_crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static void spool_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t spool_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ----- small I/O helpers ------------------------------------------------------------------- */

/* Read exactly n bytes at off; returns n, fewer at end of file, or -errno. */
static ssize_t spool_pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));

		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static void spool_seg_name(char *buf, size_t cap, uint64_t num)
{
	snprintf(buf, cap, "%016" PRIx64 ".seg", num);
}

static bool spool_parse_seg_name(const char *name, uint64_t *num)
{
	uint64_t v = 0;

	if (strlen(name) != SPOOL_SEG_NAME_LEN || strcmp(name + 16, ".seg") != 0)
		return false;
	for (int i = 0; i < 16; i++) {
		char c = name[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*num = v;
	return true;
}

/*
 * Read and check the record at off of fd (payload into buf when buf is not NULL, which must
 * then hold cap bytes). Returns 1 with *len set, 0 at a clean end of file, -EBADMSG for a
 * damaged or truncated record, or another -errno.
 */
static int spool_read_record(int fd, uint64_t off, char *buf, size_t cap, size_t *len)
{
	unsigned char hdr[SPOOL_HDR];
	uint32_t n, crc;
	ssize_t r = spool_pread_full(fd, hdr, sizeof(hdr), off);
	char *tmp = NULL;
	int rc;

	if (r < 0)
		return (int)r;
	if (r == 0)
		return 0;
	if ((size_t)r < sizeof(hdr) || spool_get32(hdr) != SPOOL_MAGIC)
		return -EBADMSG;
	n = spool_get32(hdr + 4);
	crc = spool_get32(hdr + 8);
	if (n > SPOOL_HARD_MAX_REC)
		return -EBADMSG;
	if (buf == NULL || cap < n) {
		/* Only recovery checks records without a caller buffer; it may allocate. */
		if (buf != NULL) {
			*len = n;
			return -EMSGSIZE;
		}
		tmp = malloc(n ? n : 1);
		if (tmp == NULL)
			return -ENOMEM;
		buf = tmp;
	}
	r = spool_pread_full(fd, buf, n, off + SPOOL_HDR);
	if (r < 0)
		rc = (int)r;
	else if ((size_t)r < n || spool_crc32c(buf, n) != crc)
		rc = -EBADMSG;
	else
		rc = 1;
	*len = n;
	free(tmp);
	return rc;
}

/* ----- segments ---------------------------------------------------------------------------- */

static int spool_seg_push(struct spool *sp, uint64_t num, uint64_t end, int fd)
{
	if (sp->nseg == sp->segcap) {
		size_t ncap = sp->segcap ? sp->segcap * 2 : 16;
		struct spool_seg *s = reallocarray(sp->segs, ncap, sizeof(*s));

		if (s == NULL)
			return -ENOMEM;
		sp->segs = s;
		sp->segcap = ncap;
	}
	sp->segs[sp->nseg].num = num;
	sp->segs[sp->nseg].end = end;
	sp->segs[sp->nseg].fd = fd;
	sp->nseg++;
	return 0;
}

/* Create segment num empty and make it the newest. */
static int spool_seg_create(struct spool *sp, uint64_t num)
{
	char name[32];
	int fd, rc;

	spool_seg_name(name, sizeof(name), num);
	fd = openat(sp->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -errno;
	rc = spool_seg_push(sp, num, 0, fd);
	if (rc != 0) {
		close(fd);
		unlinkat(sp->dirfd, name, 0);
		return rc;
	}
	/* The new name must survive a power cut before records in it are reported as kept. */
	fsync(sp->dirfd);
	sp->st.segments++;
	return 0;
}

/* Delete the oldest segment (all its records are acknowledged; it is not the newest). */
static void spool_seg_drop_first(struct spool *sp)
{
	char name[32];

	spool_seg_name(name, sizeof(name), sp->segs[0].num);
	close(sp->segs[0].fd);
	unlinkat(sp->dirfd, name, 0);
	sp->st.disk_bytes -= sp->segs[0].end;
	sp->st.segments--;
	memmove(&sp->segs[0], &sp->segs[1], (sp->nseg - 1) * sizeof(sp->segs[0]));
	sp->nseg--;
	if (sp->send_idx == 0)
		sp->send_off = 0; /* send was at the end of the dropped segment */
	else
		sp->send_idx--;
	sp->ack_off = 0;
}

static void spool_drop_acked_segments(struct spool *sp)
{
	while (sp->nseg > 1 && sp->ack_off >= sp->segs[0].end)
		spool_seg_drop_first(sp);
}

/*
 * Check the records of segment fd from offset 0. Records ending at or before ack_off are
 * acknowledged; the others are counted into *count and *bytes. Returns the end of the last
 * whole valid record (the segment is cut there by the caller), and in *first_unacked the
 * start of the first record that is not acknowledged. *bad is set when damage was found.
 */
static int64_t spool_scan(int fd, uint64_t ack_off, uint64_t *first_unacked, uint64_t *count,
                          uint64_t *bytes, bool *bad)
{
	uint64_t off = 0;

	*first_unacked = UINT64_MAX;
	*bad = false;
	for (;;) {
		size_t len = 0;
		int rc = spool_read_record(fd, off, NULL, 0, &len);

		if (rc == 0)
			break;
		if (rc == -EBADMSG) {
			*bad = true;
			break;
		}
		if (rc < 0)
			return rc;
		if (off + SPOOL_HDR + len > ack_off) {
			if (*first_unacked == UINT64_MAX)
				*first_unacked = off;
			(*count)++;
			*bytes += len;
		}
		off += SPOOL_HDR + len;
	}
	if (*first_unacked == UINT64_MAX)
		*first_unacked = off;
	return (int64_t)off;
}

/* ----- the ack file ------------------------------------------------------------------------ */

static void spool_read_ack(struct spool *sp, uint64_t *num, uint64_t *off)
{
	char buf[128];
	int fd = openat(sp->dirfd, SPOOL_ACK_FILE, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned ver;

	*num = 0;
	*off = 0;
	if (fd == -1)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* A damaged ack file means "replay everything": duplicates, never loss. */
	if (sscanf(buf, "tipoff-spool-ack %u %" SCNx64 " %" SCNu64, &ver, num, off) != 3 ||
	    ver != 1) {
		*num = 0;
		*off = 0;
	}
}

static int spool_write_ack(struct spool *sp)
{
	char buf[128];
	int fd, len, rc = 0;

	len = snprintf(buf, sizeof(buf), SPOOL_ACK_FORMAT, sp->segs[0].num, sp->ack_off);
	fd = openat(sp->dirfd, SPOOL_ACK_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return -errno;
	if (write(fd, buf, (size_t)len) != len)
		rc = errno ? -errno : -EIO;
	if (close(fd) == -1 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(sp->dirfd, SPOOL_ACK_TMP, sp->dirfd, SPOOL_ACK_FILE) == -1)
		rc = -errno;
	if (rc == 0)
		sp->ack_dirty = false;
	return rc;
}

/* ----- open / close ------------------------------------------------------------------------ */

static int spool_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The segment numbers in the folder, sorted. *nums is owned by the caller. */
static int spool_list(struct spool *sp, uint64_t **nums, size_t *n)
{
	int fd = dup(sp->dirfd);
	DIR *d;
	struct dirent *e;
	size_t cap = 0;
	uint64_t *v = NULL;

	*n = 0;
	if (fd == -1)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		int err = errno;

		close(fd);
		return -err;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		uint64_t num;

		if (!spool_parse_seg_name(e->d_name, &num))
			continue;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			uint64_t *nv = reallocarray(v, ncap, sizeof(*nv));

			if (nv == NULL) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[(*n)++] = num;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), spool_cmp_u64);
	*nums = v;
	return 0;
}

/* Recover the segments and positions of a freshly opened folder. */
static int spool_recover(struct spool *sp)
{
	uint64_t *nums = NULL, ack_num, ack_off, next = 1;
	size_t n;
	bool ack_seen = false;
	int rc = spool_list(sp, &nums, &n);

	if (rc != 0)
		return rc;
	spool_read_ack(sp, &ack_num, &ack_off);
	for (size_t i = 0; i < n; i++) {
		char name[32];
		uint64_t first_unacked, count = 0, bytes = 0, seg_ack;
		int64_t end;
		bool bad;
		int fd;
		struct stat stb;

		next = nums[i] + 1;
		spool_seg_name(name, sizeof(name), nums[i]);
		if (nums[i] < ack_num) {
			unlinkat(sp->dirfd, name, 0); /* acknowledged before the restart */
			continue;
		}
		fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
		if (fd == -1) {
			rc = -errno;
			goto out;
		}
		seg_ack = nums[i] == ack_num ? ack_off : 0;
		end = spool_scan(fd, seg_ack, &first_unacked, &count, &bytes, &bad);
		if (end < 0) {
			close(fd);
			rc = (int)end;
			goto out;
		}
		if (fstat(fd, &stb) == 0 && (uint64_t)stb.st_size > (uint64_t)end) {
			/* A damaged or half-written tail: keep what precedes it. */
			if (ftruncate(fd, (off_t)end) == -1) {
				rc = -errno;
				close(fd);
				goto out;
			}
			sp->st.corrupt++;
		} else if (bad) {
			sp->st.corrupt++;
		}
		rc = spool_seg_push(sp, nums[i], (uint64_t)end, fd);
		if (rc != 0) {
			close(fd);
			goto out;
		}
		sp->st.segments++;
		sp->st.disk_bytes += (uint64_t)end;
		if (!ack_seen) {
			/* The first kept segment holds the ack position. */
			sp->ack_off = first_unacked;
			ack_seen = true;
		}
		sp->st.backlog_alerts += count;
		sp->st.backlog_bytes += bytes;
	}
	if (sp->nseg == 0) {
		if (ack_num >= next)
			next = ack_num ? ack_num : 1;
		rc = spool_seg_create(sp, next);
		if (rc != 0)
			goto out;
		sp->ack_off = 0;
	}
	sp->send_idx = 0;
	sp->send_off = sp->ack_off;
	spool_drop_acked_segments(sp);
	sp->st.unsent_alerts = sp->st.backlog_alerts;
	sp->st.recovered = sp->st.backlog_alerts;
	sp->ack_dirty = true;
	rc = 0;
out:
	free(nums);
	return rc;
}

int spool_open(const char *dir, const struct spool_opts *opts, struct spool **out)
{
	struct spool *sp;
	int rc;

	pthread_once(&spool_crc_once, spool_crc_init);
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return -ENOMEM;
	if (opts != NULL)
		sp->o = *opts;
	if (sp->o.max_bytes == 0)
		sp->o.max_bytes = SPOOL_DEFAULT_MAX;
	if (sp->o.segment_bytes == 0)
		sp->o.segment_bytes = SPOOL_DEFAULT_SEG;
	if (sp->o.max_record == 0)
		sp->o.max_record = SPOOL_DEFAULT_REC;
	if (sp->o.max_record > SPOOL_HARD_MAX_REC)
		sp->o.max_record = SPOOL_HARD_MAX_REC;
	sp->lockfd = -1;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		rc = -errno;
		goto out_free;
	}
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd == -1) {
		rc = -errno;
		goto out_free;
	}
	sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd == -1) {
		rc = -errno;
		goto out_close_dir;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) == -1) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto out_close_lock;
	}
	rc = spool_recover(sp);
	if (rc != 0)
		goto out_close_segs;
	*out = sp;
	return 0;
out_close_segs:
	for (size_t i = 0; i < sp->nseg; i++)
		close(sp->segs[i].fd);
	free(sp->segs);
out_close_lock:
	close(sp->lockfd);
out_close_dir:
	close(sp->dirfd);
out_free:
	free(sp);
	return rc;
}

void spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	spool_sync(sp);
	for (size_t i = 0; i < sp->nseg; i++)
		close(sp->segs[i].fd);
	free(sp->segs);
	sp->segs = NULL;
	close(sp->lockfd);
	close(sp->dirfd);
	free(sp);
}

/* ----- the running spool ------------------------------------------------------------------- */

int spool_append(struct spool *sp, const char *rec, size_t len)
{
	unsigned char hdr[SPOOL_HDR];
	struct spool_seg *last = &sp->segs[sp->nseg - 1];
	uint64_t total = SPOOL_HDR + (uint64_t)len, done = 0;
	struct iovec iov[2];

	if (len > sp->o.max_record)
		return -EMSGSIZE;
	if (sp->st.disk_bytes + total > sp->o.max_bytes) {
		sp->st.overflow++;
		return -ENOSPC;
	}
	if (last->end > 0 && last->end + total > sp->o.segment_bytes) {
		int rc;

		/* Closing a segment: make it durable now, it will not be written again. */
		fdatasync(last->fd);
		rc = spool_seg_create(sp, last->num + 1);
		if (rc != 0) {
			sp->st.write_errors++;
			return rc;
		}
		last = &sp->segs[sp->nseg - 1];
		spool_drop_acked_segments(sp);
		last = &sp->segs[sp->nseg - 1];
	}
	spool_put32(hdr, SPOOL_MAGIC);
	spool_put32(hdr + 4, (uint32_t)len);
	spool_put32(hdr + 8, spool_crc32c(rec, len));
	while (done < total) {
		ssize_t w;
		int cnt = 0;

		if (done < SPOOL_HDR) {
			iov[cnt].iov_base = hdr + done;
			iov[cnt++].iov_len = SPOOL_HDR - done;
			iov[cnt].iov_base = (void *)rec;
			iov[cnt++].iov_len = len;
		} else {
			iov[cnt].iov_base = (void *)(rec + (done - SPOOL_HDR));
			iov[cnt++].iov_len = total - done;
		}
		w = pwritev(last->fd, iov, cnt, (off_t)(last->end + done));
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			int err = w == -1 ? errno : EIO;

			/* Cut the half-written record so the segment stays whole. */
			if (ftruncate(last->fd, (off_t)last->end) == -1) {
				/* recovery will find and cut the damaged tail */
			}
			sp->st.write_errors++;
			return -err;
		}
		done += (uint64_t)w;
	}
	last->end += total;
	sp->st.disk_bytes += total;
	sp->st.backlog_alerts++;
	sp->st.backlog_bytes += len;
	sp->st.unsent_alerts++;
	sp->st.appended++;
	sp->data_dirty = true;
	return 0;
}

/* Recount the backlog after runtime damage was cut out of a segment. */
static void spool_recount(struct spool *sp)
{
	uint64_t count = 0, bytes = 0, unsent = 0;

	sp->st.disk_bytes = 0;
	for (size_t i = 0; i < sp->nseg; i++) {
		uint64_t first, c = 0, b = 0;
		bool bad;
		int64_t end =
		        spool_scan(sp->segs[i].fd, i == 0 ? sp->ack_off : 0, &first, &c, &b, &bad);

		if (end >= 0 && (uint64_t)end < sp->segs[i].end)
			sp->segs[i].end = (uint64_t)end;
		sp->st.disk_bytes += sp->segs[i].end;
		count += c;
		bytes += b;
		if (i > sp->send_idx) {
			unsent += c;
		} else if (i == sp->send_idx) {
			uint64_t f2, c2 = 0, b2 = 0;

			spool_scan(sp->segs[i].fd, sp->send_off, &f2, &c2, &b2, &bad);
			unsent += c2;
		}
	}
	sp->st.backlog_alerts = count;
	sp->st.backlog_bytes = bytes;
	sp->st.unsent_alerts = unsent;
}

int spool_next(struct spool *sp, char *buf, size_t cap, size_t *len)
{
	for (;;) {
		struct spool_seg *s = &sp->segs[sp->send_idx];
		int rc;

		if (sp->send_off >= s->end) {
			if (sp->send_idx + 1 >= sp->nseg)
				return 0;
			sp->send_idx++;
			sp->send_off = 0;
			continue;
		}
		rc = spool_read_record(s->fd, sp->send_off, buf, cap, len);
		if (rc == 1) {
			sp->send_off += SPOOL_HDR + *len;
			sp->st.unsent_alerts--;
			return 1;
		}
		if (rc != -EBADMSG && rc != 0)
			return rc;
		/* Damaged behind our back: cut the segment here and carry on with the next. */
		sp->st.corrupt++;
		s->end = sp->send_off;
		if (sp->send_idx + 1 == sp->nseg && ftruncate(s->fd, (off_t)s->end) == -1)
			return -errno;
		spool_recount(sp);
	}
}

void spool_rewind(struct spool *sp)
{
	sp->send_idx = 0;
	sp->send_off = sp->ack_off;
	sp->st.unsent_alerts = sp->st.backlog_alerts;
}

int spool_ack(struct spool *sp)
{
	unsigned char hdr[SPOOL_HDR];
	ssize_t r;
	uint32_t len;

	spool_drop_acked_segments(sp);
	if (sp->send_idx == 0 && sp->ack_off >= sp->send_off)
		return -EINVAL;
	r = spool_pread_full(sp->segs[0].fd, hdr, sizeof(hdr), sp->ack_off);
	if (r < 0)
		return (int)r;
	if ((size_t)r < sizeof(hdr))
		return -EIO;
	len = spool_get32(hdr + 4);
	sp->ack_off += SPOOL_HDR + len;
	sp->st.backlog_alerts--;
	sp->st.backlog_bytes -= len;
	sp->st.acked++;
	sp->ack_dirty = true;
	spool_drop_acked_segments(sp);
	return 0;
}

int spool_sync(struct spool *sp)
{
	int rc = 0;

	if (sp->data_dirty) {
		if (fdatasync(sp->segs[sp->nseg - 1].fd) == -1)
			rc = -errno;
		else
			sp->data_dirty = false;
	}
	if (sp->ack_dirty) {
		int r = spool_write_ack(sp);

		if (rc == 0)
			rc = r;
	}
	return rc;
}

void spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
	*st = sp->st;
}
