/*
 * segment.c — one segment of a queue: its files (log, .idx, .tix), their
 * headers, creation, sealing and paths. The indexes are index.c; opening
 * and checking segments after a start or a crash is recovery.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_int.h"

_Static_assert(STOR__FILE_HEADER_SIZE == 16, "file header is 16 bytes");
_Static_assert(STOR__IDX_ENTRY_SIZE == 8, "offset index entry is 8 bytes");
_Static_assert(STOR__TIX_ENTRY_SIZE == 24, "time index entry is 24 bytes");

void stor__seg_path(const struct stor_queue *q, uint64_t base, const char *ext,
		    struct stor__path *out)
{
	/* cppcheck-suppress ctuuninitvar ; out->s is written here */
	snprintf(out->s, sizeof out->s, "%s/%020" PRIu64 ".%s", q->dir, base,
		 ext);
}

const char *stor__seg_file(uint64_t base, const char *ext, char *buf, size_t n)
{
	snprintf(buf, n, "%020" PRIu64 ".%s", base, ext);
	return buf;
}

/* "segment 000…123.log: <what>: <strerror>" */
int stor__seg_sys_fail(struct stor_queue *q, uint64_t base, const char *ext,
		       const char *what, int neg_errno)
{
	char f[40];
	return stor__fail(q, stor__from_errno(neg_errno), "segment %s: %s: %s",
			  stor__seg_file(base, ext, f, sizeof f), what,
			  strerror(-neg_errno));
}

int stor__sync_dir(struct stor_queue *q)
{
	if (q->cfg.flush == STOR_FLUSH_OS)
		return 0;
	int rv = stor__fdatasync(&q->sys, q->dir, q->dir_fd);
	if (rv != 0)
		return stor__fail(q, stor__from_errno(rv),
				  "fsync directory: %s", strerror(-rv));
	return 0;
}

/* ---- Files ---- */

void stor__file_header(uint8_t *h, uint32_t magic, uint16_t esize,
		       uint64_t base)
{
	stor__put_u32(h, magic);
	stor__put_u16(h + 4, STOR__FORMAT_VERSION);
	stor__put_u16(h + 6, esize);
	stor__put_u64(h + 8, base);
}

int stor__check_file_header(const uint8_t *h, uint32_t magic, uint16_t esize,
			    uint64_t base)
{
	return stor__get_u32(h) == magic &&
	       stor__get_u16(h + 4) == STOR__FORMAT_VERSION &&
	       stor__get_u16(h + 6) == esize && stor__get_u64(h + 8) == base;
}

/* Creates (truncating) a file holding just its header; returns the fd. */
static int create_file(struct stor_queue *q, uint64_t base, const char *ext,
		       uint32_t magic, uint16_t esize, int *fd_out)
{
	struct stor__path p;
	stor__seg_path(q, base, ext, &p);
	int fd = stor__open(&q->sys, p.s, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return stor__seg_sys_fail(q, base, ext, "create", fd);
	uint8_t h[STOR__FILE_HEADER_SIZE];
	stor__file_header(h, magic, esize, base);
	struct iovec v = {h, sizeof h};
	int rv = stor__pwritev(&q->sys, p.s, fd, &v, 1, 0);
	if (rv == 0 && q->cfg.flush != STOR_FLUSH_OS)
		rv = stor__fdatasync(&q->sys, p.s, fd);
	if (rv != 0) {
		close(fd);
		return stor__seg_sys_fail(q, base, ext, "write header", rv);
	}
	*fd_out = fd;
	return 0;
}

static void unlink_seg_files(struct stor_queue *q, uint64_t base)
{
	static const char *exts[] = {"log", "idx", "tix"};
	for (int i = 0; i < 3; i++) {
		struct stor__path p;
		stor__seg_path(q, base, exts[i], &p);
		unlink(p.s); /* best effort: open removes leftovers too */
	}
}

void stor__seg_init(struct stor__seg *seg, uint64_t base)
{
	memset(seg, 0, sizeof *seg);
	seg->base = base;
	seg->end = base;
	seg->size = STOR__FILE_HEADER_SIZE;
	seg->first_time = STOR__NO_TIME;
	seg->last_time = STOR__NO_TIME;
	seg->fd = seg->idx_fd = seg->tix_fd = -1;
}

int stor__seg_create(struct stor_queue *q, uint64_t base, struct stor__seg *seg)
{
	stor__seg_init(seg, base);
	int rv = create_file(q, base, "log", STOR__LOG_MAGIC, 0, &seg->fd);
	if (rv == 0)
		rv = create_file(q, base, "idx", STOR__IDX_MAGIC,
				 STOR__IDX_ENTRY_SIZE, &seg->idx_fd);
	if (rv == 0)
		rv = create_file(q, base, "tix", STOR__TIX_MAGIC,
				 STOR__TIX_ENTRY_SIZE, &seg->tix_fd);
	if (rv == 0)
		rv = stor__sync_dir(q);
	if (rv != 0) {
		stor__seg_free(seg);
		unlink_seg_files(q, base);
		return rv;
	}
	seg->active = true;
	seg->loaded = true;
	return 0;
}

int stor__seg_open(struct stor_queue *q, uint64_t base, const char *ext,
		   int flags)
{
	struct stor__path p;
	stor__seg_path(q, base, ext, &p);
	int fd = stor__open(&q->sys, p.s, flags, 0);
	if (fd < 0)
		return stor__seg_sys_fail(q, base, ext, "open", fd);
	return fd;
}

int stor__seg_fd(struct stor_queue *q, struct stor__seg *seg)
{
	int rv = stor__reacquire(q); /* a read of a released queue */
	if (rv != 0)
		return rv;
	if (seg->fd < 0)
		seg->fd = stor__seg_open(q, seg->base, "log", O_RDONLY);
	return seg->fd;
}

void stor__seg_free(struct stor__seg *seg)
{
	if (seg->fd >= 0)
		close(seg->fd);
	if (seg->idx_fd >= 0)
		close(seg->idx_fd);
	if (seg->tix_fd >= 0)
		close(seg->tix_fd);
	seg->fd = seg->idx_fd = seg->tix_fd = -1;
	stor__index_reset(&seg->idx);
	stor__index_reset(&seg->tix);
}

/* Writes entries [written, n) of @ix to the file behind @fd. */
static int write_entries(struct stor_queue *q, struct stor__seg *seg,
			 struct stor__index *ix, int fd, const char *ext)
{
	if (ix->written == ix->n)
		return 0;
	size_t es = stor__index_entry_size(seg, ix);
	struct stor__path p;
	stor__seg_path(q, seg->base, ext, &p);
	struct iovec v = {ix->entries + ix->written * es,
			  (ix->n - ix->written) * es};
	int rv = stor__pwritev(&q->sys, p.s, fd, &v, 1,
			       STOR__FILE_HEADER_SIZE + ix->written * es);
	if (rv != 0)
		return stor__seg_sys_fail(q, seg->base, ext, "write", rv);
	ix->written = ix->n;
	return 0;
}

int stor__seg_write_index(struct stor_queue *q, struct stor__seg *seg)
{
	int rv = write_entries(q, seg, &seg->idx, seg->idx_fd, "idx");
	if (rv == 0)
		rv = write_entries(q, seg, &seg->tix, seg->tix_fd, "tix");
	return rv;
}

static int sync_file(struct stor_queue *q, struct stor__seg *seg, int fd,
		     const char *ext)
{
	struct stor__path p;
	stor__seg_path(q, seg->base, ext, &p);
	int rv = stor__fdatasync(&q->sys, p.s, fd);
	if (rv != 0)
		return stor__seg_sys_fail(q, seg->base, ext, "fsync", rv);
	q->stats.fsyncs++;
	return 0;
}

int stor__seg_seal(struct stor_queue *q, struct stor__seg *seg)
{
	/* The last batch always gets a time entry, so a sealed segment's
	 * newest store time is its last .tix entry. */
	if (seg->tix.n > 0 &&
	    seg->last_time > stor__tix_time(&seg->tix, seg->tix.n - 1)) {
		uint64_t pos = seg->idx_last_pos, off;
		struct stor__bhdr h;
		int rv = stor__seg_find(q, seg, seg->end - 1, &pos, &h);
		if (rv != 0)
			return rv;
		off = h.base_offset;
		rv = stor__seg_push_tix(
		    q, seg, h.store_time, (uint32_t)(off - seg->base),
		    (uint32_t)pos, h.count,
		    STOR_BATCH_HEADER_SIZE + (uint64_t)h.payload_len);
		if (rv != 0)
			return rv;
	}
	int rv = stor__seg_write_index(q, seg);
	if (rv == 0 && q->cfg.flush != STOR_FLUSH_OS) {
		rv = sync_file(q, seg, seg->fd, "log");
		if (rv == 0 && q->synced_end < seg->end)
			q->synced_end = seg->end;
		if (rv == 0)
			rv = sync_file(q, seg, seg->idx_fd, "idx");
		if (rv == 0)
			rv = sync_file(q, seg, seg->tix_fd, "tix");
	}
	if (rv != 0)
		return rv;
	close(seg->idx_fd);
	close(seg->tix_fd);
	seg->idx_fd = seg->tix_fd = -1;
	seg->active = false;
	return 0;
}
