/*
 * replica.c — what a queue replica needs beyond a leader's appends
 * (docs/design/replication.md §4-5): appending another replica's batches
 * verbatim, cutting the log back to a batch boundary, and starting over
 * empty at an offset.
 *
 * Truncation and restarts are rare (a leader change with a divergent tail,
 * a rebuilt replica): they change the files, then read the directory
 * again as an open after a crash would, so there is one recovery path.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "storage_int.h"

/* Checks the batch at @p (whole, CRC included, @len bytes available)
 * for appending at @end after store time @last: its header in *h. */
static int check_copy(struct stor_queue *q, const uint8_t *p, size_t len,
		      uint64_t end, int64_t last, struct stor__bhdr *h)
{
	const char *why = "truncated header";
	/* The leader's max_batch_bytes may differ: whatever a segment
	 * holds is accepted. */
	uint64_t room = q->cfg.segment_bytes - STOR__FILE_HEADER_SIZE -
			STOR_BATCH_HEADER_SIZE;
	uint32_t max = room < UINT32_MAX ? (uint32_t)room : UINT32_MAX;
	if (len < STOR_BATCH_HEADER_SIZE ||
	    stor__bhdr_decode(p, max, h, &why) != 0)
		return stor__fail(q, STOR_ECORRUPT,
				  "copied batch at %" PRIu64 ": %s", end, why);
	if (len - STOR_BATCH_HEADER_SIZE < h->payload_len ||
	    stor__bhdr_crc(p, p + STOR_BATCH_HEADER_SIZE, h->payload_len) !=
		h->crc)
		return stor__fail(q, STOR_ECORRUPT,
				  "copied batch at %" PRIu64
				  ": crc mismatch or cut short",
				  end);
	if (h->base_offset != end)
		return stor__fail(q, STOR_EINVAL,
				  "copied batch starts at %" PRIu64
				  ", the queue ends at %" PRIu64,
				  h->base_offset, end);
	if (last != STOR__NO_TIME && h->store_time < last)
		return stor__fail(q, STOR_EINVAL,
				  "copied batch at %" PRIu64 " has store time "
				  "%" PRId64
				  ", before the queue's last %" PRId64,
				  end, h->store_time, last);
	if (end > (uint64_t)STOR_MAX_OFFSET - h->count)
		return stor__fail(q, STOR_EINVAL, "offsets would pass 2^63-1");
	return STOR_OK;
}

int stor_queue_append_copy(struct stor_queue *q, const void *buf, size_t len,
			   uint64_t *end)
{
	int rv0 = stor__reacquire(q); /* the marker: stor__write_batch */
	if (rv0 != 0)
		return rv0;
	const uint8_t *p = buf;
	size_t at = 0;
	int rv = q->broken ? stor__fail(q, STOR_EBROKEN,
					"a failed write could not be undone; "
					"reopen the queue to recover")
			   : 0;
	while (rv == 0 && at < len) {
		struct stor__bhdr h;
		rv = check_copy(q, p + at, len - at, stor__active(q)->end,
				stor__last_time(q), &h);
		uint64_t total =
		    STOR_BATCH_HEADER_SIZE + (uint64_t)h.payload_len;
		if (rv == 0)
			rv = stor__roll_for(q, h.count, total);
		if (rv == 0)
			rv = stor__write_batch(q, p + at, &h,
					       p + at + STOR_BATCH_HEADER_SIZE,
					       false);
		if (rv == 0)
			at += (size_t)total;
	}
	/* One sync for the whole copy; the batches before a failure stay:
	 * each is whole and in order. */
	if (at > 0 && q->cfg.flush == STOR_FLUSH_SYNC) {
		int s = stor_queue_flush(q);
		if (rv == 0)
			rv = s;
	}
	if (end != NULL)
		*end = stor__active(q)->end;
	return rv;
}

/* Removes the log and index files of segment @base (the log last, so a
 * crash leaves no index without its log but orphans open removes). */
static int unlink_segment(struct stor_queue *q, uint64_t base)
{
	static const char *const exts[] = {"tix", "idx", "log"};
	for (int i = 0; i < 3; i++) {
		struct stor__path p;
		stor__seg_path(q, base, exts[i], &p);
		int rv = stor__unlink(&q->sys, p.s);
		if (rv != 0 && rv != -ENOENT)
			return stor__seg_sys_fail(q, base, exts[i], "delete",
						  rv);
	}
	return 0;
}

/* Cuts segment @s's log at @pos and drops its index files (the reload
 * rebuilds them from the log). */
static int cut_segment(struct stor_queue *q, struct stor__seg *s, uint64_t pos)
{
	/* A sealed segment's own fd is read-only. */
	int fd = stor__seg_open(q, s->base, "log", O_RDWR);
	if (fd < 0)
		return fd;
	struct stor__path p;
	stor__seg_path(q, s->base, "log", &p);
	int rv = stor__ftruncate(&q->sys, p.s, fd, pos);
	if (rv == 0)
		rv = stor__fdatasync(&q->sys, p.s, fd);
	close(fd);
	if (rv != 0)
		return stor__seg_sys_fail(q, s->base, "log", "truncate", rv);
	static const char *const exts[] = {"tix", "idx"};
	for (int i = 0; i < 2; i++) {
		stor__seg_path(q, s->base, exts[i], &p);
		rv = stor__unlink(&q->sys, p.s);
		if (rv != 0 && rv != -ENOENT)
			return stor__seg_sys_fail(q, s->base, exts[i], "delete",
						  rv);
	}
	return 0;
}

/* The log position of the batch starting at @offset in @s, or an error
 * when @offset is inside a batch. */
static int boundary(struct stor_queue *q, struct stor__seg *s, uint64_t offset,
		    uint64_t *pos)
{
	if (offset == s->base) {
		*pos = STOR__FILE_HEADER_SIZE;
		return 0;
	}
	struct stor__bhdr h;
	int rv = stor__seg_find(q, s, offset, pos, &h);
	if (rv == 0 && h.base_offset != offset)
		rv = stor__fail(q, STOR_EINVAL,
				"offset %" PRIu64 " is inside the batch at "
				"%" PRIu64 " (cut at a batch start)",
				offset, h.base_offset);
	return rv;
}

int stor_queue_truncate(struct stor_queue *q, uint64_t offset)
{
	int rv0 = stor__reacquire(q);
	if (rv0 == 0)
		rv0 = stor__unclean(q);
	if (rv0 != 0)
		return rv0;
	uint64_t min = q->segs[0].base, max = stor__active(q)->end;
	if (offset < min || offset > max)
		return stor__fail(q, STOR_ERANGE,
				  "truncate to %" PRIu64 " outside [%" PRIu64
				  ", %" PRIu64 "]",
				  offset, min, max);
	if (offset == max && !q->broken)
		return 0;
	size_t k = q->nsegs - 1;
	while (k > 0 && q->segs[k].base > offset)
		k--;
	uint64_t pos;
	int rv = boundary(q, &q->segs[k], offset, &pos);
	if (rv != 0)
		return rv; /* nothing changed */
	for (size_t j = q->nsegs - 1; rv == 0 && j > k; j--)
		rv = unlink_segment(q, q->segs[j].base);
	if (rv == 0)
		rv = cut_segment(q, &q->segs[k], pos);
	if (rv == 0)
		rv = stor__sync_dir(q);
	/* Whatever happened, the files are what the queue is now. */
	int r2 = stor__reload(q);
	assert(rv != 0 || r2 != 0 || stor__active(q)->end == offset);
	return rv != 0 ? rv : r2;
}

int stor_queue_restart(struct stor_queue *q, uint64_t start)
{
	int rv0 = stor__reacquire(q);
	if (rv0 == 0)
		rv0 = stor__unclean(q);
	if (rv0 != 0)
		return rv0;
	if (start > (uint64_t)STOR_MAX_OFFSET)
		return stor__fail(q, STOR_EINVAL,
				  "restart offset %" PRIu64 " past 2^63-1",
				  start);
	int rv = 0;
	for (size_t j = q->nsegs; rv == 0 && j > 0; j--)
		rv = unlink_segment(q, q->segs[j - 1].base);
	if (rv == 0) {
		struct stor__seg fresh;
		rv = stor__seg_create(q, start, &fresh);
		if (rv == 0)
			stor__seg_free(&fresh);
	}
	if (rv == 0)
		rv = stor__sync_dir(q);
	int r2 = stor__reload(q);
	assert(rv != 0 || r2 != 0 ||
	       (q->segs[0].base == start && stor__active(q)->end == start));
	return rv != 0 ? rv : r2;
}
