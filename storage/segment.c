/*
 * segment.c — one segment of a queue: its log file, its sparse offset index
 * (.idx) and time index (.tix), recovery scans and lookups.
 *
 * Index rules (both indexes are sparse, docs/disk-format.md):
 * - .idx gets an entry for the first batch of the segment and then for the
 *   first batch that starts at least index_interval_bytes after the previous
 *   entry. A lookup by offset therefore reads at most one interval of log.
 * - .tix gets an entry for the first batch, then for the first batch that
 *   starts at least an interval after the previous entry AND has a later
 *   store time, and (when the segment is sealed) for the last batch. So
 *   between two entries e1 < e2, every batch starting an interval or more
 *   after e1 has e1's store time: a time lookup reads at most one interval
 *   after e1, then answers e2.
 *
 * The active segment keeps its indexes in heap arrays (written to the files
 * in chunks, rebuilt by scanning after a crash); sealed segments map their
 * index files read-only, on first use.
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

#define SCAN_CHUNK (1u << 20)

_Static_assert(STOR__FILE_HEADER_SIZE == 16, "file header is 16 bytes");
_Static_assert(STOR__IDX_ENTRY_SIZE == 8, "offset index entry is 8 bytes");
_Static_assert(STOR__TIX_ENTRY_SIZE == 24, "time index entry is 24 bytes");

void stor__seg_path(const struct stor_queue *q, uint64_t base, const char *ext,
		    struct stor__path *out)
{
	snprintf(out->s, sizeof out->s, "%s/%020" PRIu64 ".%s", q->dir, base,
		 ext);
}

static const char *seg_file(uint64_t base, const char *ext, char *buf, size_t n)
{
	snprintf(buf, n, "%020" PRIu64 ".%s", base, ext);
	return buf;
}

/* "segment 000…123.log: <what>: <strerror>" */
static int seg_sys_fail(struct stor_queue *q, uint64_t base, const char *ext,
			const char *what, int neg_errno)
{
	char f[40];
	return stor__fail(q, stor__from_errno(neg_errno), "segment %s: %s: %s",
			  seg_file(base, ext, f, sizeof f), what,
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

/* ---- Heap indexes ---- */

static size_t entry_size(const struct stor__seg *seg,
			 const struct stor__index *ix)
{
	return ix == &seg->idx ? STOR__IDX_ENTRY_SIZE : STOR__TIX_ENTRY_SIZE;
}

static int index_push(struct stor_queue *q, struct stor__index *ix,
		      size_t esize, const uint8_t *entry)
{
	if (ix->map != NULL)
		return stor__fail(q, STOR_EINVAL, "index is read-only");
	if (ix->n == ix->cap) {
		size_t cap = ix->cap == 0 ? 256 : ix->cap * 2;
		uint8_t *p = stor__realloc(&q->sys, ix->entries, cap * esize);
		if (p == NULL)
			return stor__fail(q, STOR_ENOMEM,
					  "index: out of memory");
		ix->entries = p;
		ix->cap = cap;
	}
	memcpy(ix->entries + ix->n * esize, entry, esize);
	ix->n++;
	return 0;
}

static void index_reset(struct stor__index *ix)
{
	if (ix->map != NULL)
		munmap(ix->map, ix->map_len);
	else
		free(ix->entries);
	memset(ix, 0, sizeof *ix);
}

static uint32_t idx_rel(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__IDX_ENTRY_SIZE);
}
static uint32_t idx_pos(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__IDX_ENTRY_SIZE + 4);
}
static int64_t tix_time(const struct stor__index *ix, size_t i)
{
	return (int64_t)stor__get_u64(ix->entries + i * STOR__TIX_ENTRY_SIZE);
}
static uint32_t tix_rel(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__TIX_ENTRY_SIZE + 8);
}
static uint32_t tix_pos(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__TIX_ENTRY_SIZE + 12);
}
static uint32_t tix_next_rel(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__TIX_ENTRY_SIZE + 16);
}
static uint32_t tix_next_pos(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__TIX_ENTRY_SIZE + 20);
}

static int push_idx(struct stor_queue *q, struct stor__seg *seg, uint32_t rel,
		    uint32_t pos)
{
	uint8_t e[STOR__IDX_ENTRY_SIZE];
	stor__put_u32(e, rel);
	stor__put_u32(e + 4, pos);
	int rv = index_push(q, &seg->idx, sizeof e, e);
	if (rv == 0)
		seg->idx_last_pos = pos;
	return rv;
}

/* A time entry for the batch at @pos holding @count records in @total
 * bytes: it also says where the next batch starts. */
static int push_tix(struct stor_queue *q, struct stor__seg *seg, int64_t t,
		    uint32_t rel, uint32_t pos, uint32_t count, uint64_t total)
{
	uint8_t e[STOR__TIX_ENTRY_SIZE];
	stor__put_u64(e, (uint64_t)t);
	stor__put_u32(e + 8, rel);
	stor__put_u32(e + 12, pos);
	stor__put_u32(e + 16, rel + count);
	stor__put_u32(e + 20, (uint32_t)(pos + total));
	int rv = index_push(q, &seg->tix, sizeof e, e);
	if (rv == 0)
		seg->tix_last_pos = pos;
	return rv;
}

int stor__seg_note(struct stor_queue *q, struct stor__seg *seg, uint64_t pos,
		   uint64_t base_offset, uint32_t count, uint64_t total,
		   int64_t time)
{
	uint32_t rel = (uint32_t)(base_offset - seg->base);
	uint64_t ivl = q->cfg.index_interval_bytes;
	int rv;
	if (seg->idx.n == 0 || pos - seg->idx_last_pos >= ivl) {
		rv = push_idx(q, seg, rel, (uint32_t)pos);
		if (rv != 0)
			return rv;
	}
	if (seg->tix.n == 0 || (pos - seg->tix_last_pos >= ivl &&
				time > tix_time(&seg->tix, seg->tix.n - 1))) {
		rv = push_tix(q, seg, time, rel, (uint32_t)pos, count, total);
		if (rv != 0) {
			/* Keep the two indexes in step with the log: undo. */
			if (seg->idx.n > 0 &&
			    idx_pos(&seg->idx, seg->idx.n - 1) == pos)
				seg->idx.n--;
			return rv;
		}
	}
	seg->end = base_offset + count;
	seg->size = pos + total;
	if (seg->first_time == STOR__NO_TIME)
		seg->first_time = time;
	seg->last_time = time;
	return 0;
}

/* ---- Files ---- */

static void file_header(uint8_t *h, uint32_t magic, uint16_t esize,
			uint64_t base)
{
	stor__put_u32(h, magic);
	stor__put_u16(h + 4, STOR__FORMAT_VERSION);
	stor__put_u16(h + 6, esize);
	stor__put_u64(h + 8, base);
}

static int check_file_header(const uint8_t *h, uint32_t magic, uint16_t esize,
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
		return seg_sys_fail(q, base, ext, "create", fd);
	uint8_t h[STOR__FILE_HEADER_SIZE];
	file_header(h, magic, esize, base);
	struct iovec v = {h, sizeof h};
	int rv = stor__pwritev(&q->sys, p.s, fd, &v, 1, 0);
	if (rv == 0 && q->cfg.flush != STOR_FLUSH_OS)
		rv = stor__fdatasync(&q->sys, p.s, fd);
	if (rv != 0) {
		close(fd);
		return seg_sys_fail(q, base, ext, "write header", rv);
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

static void seg_init(struct stor__seg *seg, uint64_t base)
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
	seg_init(seg, base);
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

int stor__seg_fd(struct stor_queue *q, struct stor__seg *seg)
{
	if (seg->fd >= 0)
		return seg->fd;
	struct stor__path p;
	stor__seg_path(q, seg->base, "log", &p);
	int fd = stor__open(&q->sys, p.s, O_RDONLY, 0);
	if (fd < 0)
		return seg_sys_fail(q, seg->base, "log", "open", fd);
	seg->fd = fd;
	return fd;
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
	index_reset(&seg->idx);
	index_reset(&seg->tix);
}

/* Writes entries [written, n) of @ix to the file behind @fd. */
static int write_entries(struct stor_queue *q, struct stor__seg *seg,
			 struct stor__index *ix, int fd, const char *ext)
{
	if (ix->written == ix->n)
		return 0;
	size_t es = entry_size(seg, ix);
	struct stor__path p;
	stor__seg_path(q, seg->base, ext, &p);
	struct iovec v = {ix->entries + ix->written * es,
			  (ix->n - ix->written) * es};
	int rv = stor__pwritev(&q->sys, p.s, fd, &v, 1,
			       STOR__FILE_HEADER_SIZE + ix->written * es);
	if (rv != 0)
		return seg_sys_fail(q, seg->base, ext, "write", rv);
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
		return seg_sys_fail(q, seg->base, ext, "fsync", rv);
	q->stats.fsyncs++;
	return 0;
}

int stor__seg_seal(struct stor_queue *q, struct stor__seg *seg)
{
	/* The last batch always gets a time entry, so a sealed segment's
	 * newest store time is its last .tix entry. */
	if (seg->tix.n > 0 &&
	    seg->last_time > tix_time(&seg->tix, seg->tix.n - 1)) {
		uint64_t pos = seg->idx_last_pos, off;
		struct stor__bhdr h;
		int rv = stor__seg_find(q, seg, seg->end - 1, &pos, &h);
		if (rv != 0)
			return rv;
		off = h.base_offset;
		rv = push_tix(q, seg, h.store_time, (uint32_t)(off - seg->base),
			      (uint32_t)pos, h.count,
			      STOR_BATCH_HEADER_SIZE + (uint64_t)h.payload_len);
		if (rv != 0)
			return rv;
	}
	int rv = stor__seg_write_index(q, seg);
	if (rv == 0 && q->cfg.flush != STOR_FLUSH_OS) {
		rv = sync_file(q, seg, seg->fd, "log");
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

/* ---- Scanning ---- */

static int scan_reserve(struct stor_queue *q, size_t n)
{
	if (q->scan_cap >= n)
		return 0;
	uint8_t *p = stor__realloc(&q->sys, q->scan_buf, n);
	if (p == NULL)
		return stor__fail(q, STOR_ENOMEM, "scan buffer: out of memory");
	q->scan_buf = p;
	q->scan_cap = n;
	return 0;
}

/*
 * Lookups read batch headers through a window: one pread of an index
 * interval of log into q->win_buf, so a lookup costs one system call
 * however small the batches are.
 */
struct win {
	uint64_t at;
	size_t len;
};

/* Decodes the header at @pos (payload CRC not checked). */
static int read_header(struct stor_queue *q, struct stor__seg *seg,
		       struct win *w, uint64_t pos, struct stor__bhdr *h,
		       const char **why)
{
	if (pos < w->at || pos + STOR_BATCH_HEADER_SIZE > w->at + w->len) {
		int fd = stor__seg_fd(q, seg);
		if (fd < 0)
			return fd;
		struct stor__path p;
		stor__seg_path(q, seg->base, "log", &p);
		uint64_t left = seg->size > pos ? seg->size - pos : 0;
		size_t want = (size_t)(left < q->win_cap ? left : q->win_cap);
		ssize_t r =
		    stor__pread(&q->sys, p.s, fd, q->win_buf, want, pos);
		if (r < 0)
			return seg_sys_fail(q, seg->base, "log", "read",
					    (int)r);
		w->at = pos;
		w->len = (size_t)r;
		if (w->len < STOR_BATCH_HEADER_SIZE) {
			w->len = 0;
			*why = "truncated batch header";
			return STOR_ECORRUPT;
		}
	}
	return stor__bhdr_decode(q->win_buf + (pos - w->at),
				 q->cfg.max_batch_bytes, h, why);
}

/* Is there any whole, valid batch starting after @from? (Tells a corrupt
 * batch followed by data from a torn tail.) */
static int valid_batch_after(struct stor_queue *q, struct stor__seg *seg,
			     int fd, const char *path, uint64_t from,
			     uint64_t size, uint64_t min_offset, bool *found)
{
	*found = false;
	int rv = scan_reserve(q, SCAN_CHUNK);
	if (rv != 0)
		return rv;
	for (uint64_t at = from + 1; at + STOR_BATCH_HEADER_SIZE <= size;) {
		size_t want =
		    (size_t)(size - at < SCAN_CHUNK ? size - at : SCAN_CHUNK);
		ssize_t r =
		    stor__pread(&q->sys, path, fd, q->scan_buf, want, at);
		if (r < 0)
			return seg_sys_fail(q, seg->base, "log", "read",
					    (int)r);
		if ((size_t)r < 4)
			break;
		for (size_t i = 0; i + 4 <= (size_t)r; i++) {
			if (stor__get_u32(q->scan_buf + i) != STOR__BATCH_MAGIC)
				continue;
			uint64_t cand = at + i;
			uint8_t raw[STOR_BATCH_HEADER_SIZE];
			struct stor__bhdr h;
			const char *why;
			if (cand + STOR_BATCH_HEADER_SIZE > size)
				continue;
			ssize_t hr = stor__pread(&q->sys, path, fd, raw,
						 sizeof raw, cand);
			if (hr != (ssize_t)sizeof raw ||
			    stor__bhdr_decode(raw, q->cfg.max_batch_bytes, &h,
					      &why) != 0 ||
			    h.base_offset < min_offset ||
			    cand + sizeof raw + h.payload_len > size)
				continue;
			uint8_t *pl = malloc(h.payload_len ? h.payload_len : 1);
			if (pl == NULL)
				return stor__fail(q, STOR_ENOMEM,
						  "scan: out of memory");
			ssize_t pr =
			    stor__pread(&q->sys, path, fd, pl, h.payload_len,
					cand + sizeof raw);
			bool ok =
			    pr == (ssize_t)h.payload_len &&
			    stor__bhdr_crc(raw, pl, h.payload_len) == h.crc;
			free(pl);
			if (ok) {
				*found = true;
				return 0;
			}
		}
		at += (uint64_t)r - 3; /* overlap: a magic across chunks */
	}
	return 0;
}

enum scan_mode {
	SCAN_STRICT,  /* sealed: every byte must be whole, valid batches */
	SCAN_RECOVER, /* active after a crash: cut off a torn tail */
};

/*
 * Reads the whole log from its header on, rebuilding both heap indexes and
 * the segment's end, size and times. In SCAN_RECOVER mode a bad batch
 * with no valid batch after it is a torn tail: the file is truncated there.
 */
static int scan_log(struct stor_queue *q, struct stor__seg *seg,
		    uint64_t file_size, enum scan_mode mode)
{
	struct stor__path p;
	stor__seg_path(q, seg->base, "log", &p);
	int fd = stor__seg_fd(q, seg);
	if (fd < 0)
		return fd;
	index_reset(&seg->idx);
	index_reset(&seg->tix);
	seg->end = seg->base;
	seg->size = STOR__FILE_HEADER_SIZE;
	seg->first_time = seg->last_time = STOR__NO_TIME;
	seg->idx_last_pos = seg->tix_last_pos = 0;

	int rv = scan_reserve(q, SCAN_CHUNK);
	if (rv != 0)
		return rv;
	uint64_t pos = STOR__FILE_HEADER_SIZE;
	uint64_t buf_at = 0, buf_len = 0; /* file range held in scan_buf */
	const char *why = NULL;
	char f[40];
	while (pos < file_size) {
		uint64_t left = file_size - pos;
		if (left < STOR_BATCH_HEADER_SIZE) {
			why = "truncated batch header";
			break;
		}
		if (pos < buf_at ||
		    pos + STOR_BATCH_HEADER_SIZE > buf_at + buf_len) {
			size_t want =
			    (size_t)(left < q->scan_cap ? left : q->scan_cap);
			ssize_t r = stor__pread(&q->sys, p.s, fd, q->scan_buf,
						want, pos);
			if (r < 0)
				return seg_sys_fail(q, seg->base, "log", "read",
						    (int)r);
			buf_at = pos;
			buf_len = (uint64_t)r;
			if (buf_len < STOR_BATCH_HEADER_SIZE) {
				why = "truncated batch header";
				break;
			}
		}
		struct stor__bhdr h;
		const uint8_t *raw = q->scan_buf + (pos - buf_at);
		if (stor__bhdr_decode(raw, q->cfg.max_batch_bytes, &h, &why) !=
		    0)
			break;
		uint64_t total =
		    STOR_BATCH_HEADER_SIZE + (uint64_t)h.payload_len;
		if (total > left) {
			why = "truncated batch";
			break;
		}
		if (pos + total > buf_at + buf_len) {
			rv = scan_reserve(q, (size_t)total);
			if (rv != 0)
				return rv;
			size_t want =
			    (size_t)(left < q->scan_cap ? left : q->scan_cap);
			ssize_t r = stor__pread(&q->sys, p.s, fd, q->scan_buf,
						want, pos);
			if (r < 0)
				return seg_sys_fail(q, seg->base, "log", "read",
						    (int)r);
			buf_at = pos;
			buf_len = (uint64_t)r;
			if (buf_len < total) {
				why = "truncated batch";
				break;
			}
			raw = q->scan_buf;
		}
		if (stor__bhdr_crc(raw, raw + STOR_BATCH_HEADER_SIZE,
				   h.payload_len) != h.crc) {
			why = "crc mismatch";
			break;
		}
		if (h.base_offset != seg->end) {
			why = "batch offset out of sequence";
			break;
		}
		if (seg->last_time != STOR__NO_TIME &&
		    h.store_time < seg->last_time) {
			why = "store time goes backwards";
			break;
		}
		if (h.base_offset - seg->base + h.count > UINT32_MAX ||
		    pos + total > UINT32_MAX) {
			why = "segment too large";
			break;
		}
		rv = stor__seg_note(q, seg, pos, h.base_offset, h.count, total,
				    h.store_time);
		if (rv != 0)
			return rv;
		pos += total;
	}
	if (pos == file_size)
		return 0;

	if (mode == SCAN_STRICT)
		return stor__fail(q, STOR_ECORRUPT,
				  "segment %s: batch at offset %" PRIu64
				  " (position %" PRIu64 "): %s",
				  seg_file(seg->base, "log", f, sizeof f),
				  seg->end, pos, why);
	bool more;
	rv =
	    valid_batch_after(q, seg, fd, p.s, pos, file_size, seg->end, &more);
	if (rv != 0)
		return rv;
	if (more)
		return stor__fail(q, STOR_ECORRUPT,
				  "segment %s: batch at offset %" PRIu64
				  " (position %" PRIu64
				  "): %s, and valid batches follow: refusing "
				  "to drop them",
				  seg_file(seg->base, "log", f, sizeof f),
				  seg->end, pos, why);
	/* A torn write: the tail was never acknowledged as durable. */
	rv = stor__ftruncate(&q->sys, p.s, fd, pos);
	if (rv != 0)
		return seg_sys_fail(q, seg->base, "log", "truncate torn tail",
				    rv);
	q->stats.tail_truncations++;
	q->stats.bytes_truncated += file_size - pos;
	return 0;
}

/* Writes a complete index file from the heap entries (tmp + rename). */
static int rewrite_index(struct stor_queue *q, struct stor__seg *seg,
			 struct stor__index *ix, const char *ext,
			 uint32_t magic, int *fd_out)
{
	struct stor__path p, tmp;
	stor__seg_path(q, seg->base, ext, &p);
	if (snprintf(tmp.s, sizeof tmp.s, "%s.tmp", p.s) >= (int)sizeof tmp.s)
		return stor__fail(q, STOR_EINVAL, "path too long: %s", p.s);
	int fd = stor__open(&q->sys, tmp.s, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return seg_sys_fail(q, seg->base, ext, "create", fd);
	size_t es = entry_size(seg, ix);
	uint8_t h[STOR__FILE_HEADER_SIZE];
	file_header(h, magic, (uint16_t)es, seg->base);
	struct iovec v[2] = {{h, sizeof h}, {ix->entries, ix->n * es}};
	int rv = stor__pwritev(&q->sys, tmp.s, fd, v, ix->n > 0 ? 2 : 1, 0);
	if (rv == 0 && q->cfg.flush != STOR_FLUSH_OS)
		rv = stor__fdatasync(&q->sys, tmp.s, fd);
	if (rv == 0)
		rv = stor__rename(&q->sys, tmp.s, p.s);
	if (rv != 0) {
		close(fd);
		unlink(tmp.s);
		return seg_sys_fail(q, seg->base, ext, "rewrite", rv);
	}
	ix->written = ix->n;
	if (fd_out != NULL)
		*fd_out = fd;
	else
		close(fd);
	return 0;
}

/* Reads an index file fully into the heap index; returns 1 if it was
 * usable (header and whole entries), 0 if it must be rebuilt. */
static int read_index_file(struct stor_queue *q, struct stor__seg *seg,
			   struct stor__index *ix, const char *ext,
			   uint32_t magic, int *fd_out)
{
	struct stor__path p;
	stor__seg_path(q, seg->base, ext, &p);
	int fd = stor__open(&q->sys, p.s, O_RDWR, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return seg_sys_fail(q, seg->base, ext, "open", fd);
	struct stat st;
	size_t es = entry_size(seg, ix);
	if (fstat(fd, &st) != 0 || st.st_size < STOR__FILE_HEADER_SIZE ||
	    ((size_t)st.st_size - STOR__FILE_HEADER_SIZE) % es != 0) {
		close(fd);
		return 0;
	}
	size_t n = ((size_t)st.st_size - STOR__FILE_HEADER_SIZE) / es;
	uint8_t *buf = stor__malloc(&q->sys, (size_t)st.st_size);
	if (buf == NULL) {
		close(fd);
		return stor__fail(q, STOR_ENOMEM, "index: out of memory");
	}
	ssize_t r = stor__pread(&q->sys, p.s, fd, buf, (size_t)st.st_size, 0);
	if (r < 0) {
		free(buf);
		close(fd);
		return seg_sys_fail(q, seg->base, ext, "read", (int)r);
	}
	if ((size_t)r != (size_t)st.st_size ||
	    !check_file_header(buf, magic, (uint16_t)es, seg->base)) {
		free(buf);
		close(fd);
		return 0;
	}
	index_reset(ix);
	memmove(buf, buf + STOR__FILE_HEADER_SIZE, n * es);
	ix->entries = buf;
	ix->n = ix->cap = ix->written = n;
	*fd_out = fd;
	return 1;
}

/*
 * Checks an index against the segment it describes: ascending entries,
 * the first at the first batch, all inside [header, size) and [base, end).
 */
static bool index_sane(const struct stor__seg *seg)
{
	const struct stor__index *ix = &seg->idx, *tx = &seg->tix;
	bool empty = seg->end == seg->base;
	if (empty)
		return ix->n == 0 && tx->n == 0;
	if (ix->n == 0 || tx->n == 0 || idx_rel(ix, 0) != 0 ||
	    idx_pos(ix, 0) != STOR__FILE_HEADER_SIZE || tix_rel(tx, 0) != 0 ||
	    tix_pos(tx, 0) != STOR__FILE_HEADER_SIZE)
		return false;
	uint64_t span = seg->end - seg->base;
	for (size_t i = 0; i < ix->n; i++) {
		if (idx_pos(ix, i) >= seg->size || idx_rel(ix, i) >= span)
			return false;
		if (i > 0 && (idx_pos(ix, i) <= idx_pos(ix, i - 1) ||
			      idx_rel(ix, i) <= idx_rel(ix, i - 1)))
			return false;
	}
	for (size_t i = 0; i < tx->n; i++) {
		if (tix_pos(tx, i) >= seg->size || tix_rel(tx, i) >= span ||
		    tix_next_pos(tx, i) <= tix_pos(tx, i) ||
		    tix_next_pos(tx, i) > seg->size ||
		    tix_next_rel(tx, i) <= tix_rel(tx, i) ||
		    tix_next_rel(tx, i) > span)
			return false;
		if (i > 0 && (tix_pos(tx, i) <= tix_pos(tx, i - 1) ||
			      tix_time(tx, i) <= tix_time(tx, i - 1)))
			return false;
	}
	return true;
}

static int open_log_rw(struct stor_queue *q, struct stor__seg *seg,
		       uint64_t *size)
{
	struct stor__path p;
	stor__seg_path(q, seg->base, "log", &p);
	int fd = stor__open(&q->sys, p.s, O_RDWR, 0);
	if (fd < 0)
		return seg_sys_fail(q, seg->base, "log", "open", fd);
	seg->fd = fd;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return seg_sys_fail(q, seg->base, "log", "stat", -errno);
	uint8_t h[STOR__FILE_HEADER_SIZE];
	if ((uint64_t)st.st_size < STOR__FILE_HEADER_SIZE) {
		/* Torn at creation: nothing was ever appended to it. */
		file_header(h, STOR__LOG_MAGIC, 0, seg->base);
		struct iovec v = {h, sizeof h};
		int rv = stor__pwritev(&q->sys, p.s, fd, &v, 1, 0);
		if (rv != 0)
			return seg_sys_fail(q, seg->base, "log",
					    "rewrite header", rv);
		*size = STOR__FILE_HEADER_SIZE;
		return 0;
	}
	ssize_t r = stor__pread(&q->sys, p.s, fd, h, sizeof h, 0);
	if (r < 0)
		return seg_sys_fail(q, seg->base, "log", "read", (int)r);
	if (r != (ssize_t)sizeof h ||
	    !check_file_header(h, STOR__LOG_MAGIC, 0, seg->base)) {
		char f[40];
		return stor__fail(q, STOR_ECORRUPT,
				  "segment %s: bad file header",
				  seg_file(seg->base, "log", f, sizeof f));
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

int stor__seg_open_active(struct stor_queue *q, struct stor__seg *seg,
			  const struct stor__clean *clean)
{
	uint64_t base = seg->base;
	seg_init(seg, base);
	seg->active = true;
	uint64_t size;
	int rv = open_log_rw(q, seg, &size);
	if (rv != 0)
		return rv;
	if (clean != NULL && clean->base == base && clean->size == size &&
	    clean->end >= base) {
		seg->size = size;
		seg->end = clean->end;
		seg->first_time = clean->first_time;
		seg->last_time = clean->last_time;
		int a = read_index_file(q, seg, &seg->idx, "idx",
					STOR__IDX_MAGIC, &seg->idx_fd);
		if (a < 0)
			return a;
		int b = a == 1 ? read_index_file(q, seg, &seg->tix, "tix",
						 STOR__TIX_MAGIC, &seg->tix_fd)
			       : 0;
		if (b < 0)
			return b;
		if (a == 1 && b == 1 && index_sane(seg)) {
			if (seg->idx.n > 0)
				seg->idx_last_pos =
				    idx_pos(&seg->idx, seg->idx.n - 1);
			if (seg->tix.n > 0)
				seg->tix_last_pos =
				    tix_pos(&seg->tix, seg->tix.n - 1);
			seg->loaded = true;
			q->stats.clean_open = 1;
			return 0;
		}
		/* Fall through: rebuild the indexes by scanning. */
		if (seg->idx_fd >= 0)
			close(seg->idx_fd);
		if (seg->tix_fd >= 0)
			close(seg->tix_fd);
		seg->idx_fd = seg->tix_fd = -1;
	}
	rv = scan_log(q, seg, size, SCAN_RECOVER);
	if (rv != 0)
		return rv;
	rv = rewrite_index(q, seg, &seg->idx, "idx", STOR__IDX_MAGIC,
			   &seg->idx_fd);
	if (rv == 0)
		rv = rewrite_index(q, seg, &seg->tix, "tix", STOR__TIX_MAGIC,
				   &seg->tix_fd);
	if (rv == 0)
		rv = stor__sync_dir(q);
	if (rv != 0)
		return rv;
	seg->loaded = true;
	return 0;
}

/* Maps a sealed segment's index file; returns 1 when usable, 0 if not. */
static int map_index(struct stor_queue *q, struct stor__seg *seg,
		     struct stor__index *ix, const char *ext, uint32_t magic)
{
	struct stor__path p;
	stor__seg_path(q, seg->base, ext, &p);
	int fd = stor__open(&q->sys, p.s, O_RDONLY, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return seg_sys_fail(q, seg->base, ext, "open", fd);
	struct stat st;
	size_t es = entry_size(seg, ix);
	if (fstat(fd, &st) != 0 || st.st_size < STOR__FILE_HEADER_SIZE ||
	    ((size_t)st.st_size - STOR__FILE_HEADER_SIZE) % es != 0) {
		close(fd);
		return 0;
	}
	void *m;
	int rv = stor__mmap(&q->sys, p.s, fd, (size_t)st.st_size, &m);
	close(fd);
	if (rv != 0)
		return seg_sys_fail(q, seg->base, ext, "mmap", rv);
	if (!check_file_header(m, magic, (uint16_t)es, seg->base)) {
		munmap(m, (size_t)st.st_size);
		return 0;
	}
	index_reset(ix);
	ix->map = m;
	ix->map_len = (size_t)st.st_size;
	ix->entries = (uint8_t *)m + STOR__FILE_HEADER_SIZE;
	ix->n = ((size_t)st.st_size - STOR__FILE_HEADER_SIZE) / es;
	return 1;
}

/*
 * A sealed segment's indexes must end where its log ends: walking from the
 * last .idx entry (at most an interval of log) must reach exactly the end
 * of the file and the next segment's base offset, and the last batch's
 * time must be the last .tix entry's (seal guarantees it).
 */
static int check_last_batch(struct stor_queue *q, struct stor__seg *seg,
			    bool *ok)
{
	*ok = false;
	if (seg->idx.n == 0 || seg->tix.n == 0)
		return 0;
	uint64_t pos = idx_pos(&seg->idx, seg->idx.n - 1);
	uint64_t expect = seg->base + idx_rel(&seg->idx, seg->idx.n - 1);
	int64_t last_time = STOR__NO_TIME;
	struct win w = {0, 0};
	while (pos < seg->size) {
		struct stor__bhdr h;
		const char *why;
		int rv = read_header(q, seg, &w, pos, &h, &why);
		if (rv == STOR_ECORRUPT)
			return 0;
		if (rv != 0)
			return rv;
		if (h.base_offset != expect)
			return 0;
		expect += h.count;
		last_time = h.store_time;
		pos += STOR_BATCH_HEADER_SIZE + (uint64_t)h.payload_len;
	}
	*ok = pos == seg->size && expect == seg->end &&
	      last_time == tix_time(&seg->tix, seg->tix.n - 1);
	return 0;
}

int stor__seg_load(struct stor_queue *q, struct stor__seg *seg)
{
	if (seg->loaded)
		return 0;
	int a = map_index(q, seg, &seg->idx, "idx", STOR__IDX_MAGIC);
	if (a < 0)
		return a;
	int b =
	    a == 1 ? map_index(q, seg, &seg->tix, "tix", STOR__TIX_MAGIC) : 0;
	if (b < 0)
		return b;
	bool ok = a == 1 && b == 1 && seg->end > seg->base && index_sane(seg);
	if (ok) {
		int rv = check_last_batch(q, seg, &ok);
		if (rv != 0)
			return rv;
	}
	if (ok) {
		seg->first_time = tix_time(&seg->tix, 0);
		seg->last_time = tix_time(&seg->tix, seg->tix.n - 1);
		seg->loaded = true;
		return 0;
	}
	/* Missing or damaged index: rebuild it from the log (strictly). */
	uint64_t expect_end = seg->end, size = seg->size;
	int rv = scan_log(q, seg, size, SCAN_STRICT);
	if (rv != 0)
		return rv;
	if (seg->end != expect_end) {
		char f[40];
		return stor__fail(q, STOR_ECORRUPT,
				  "segment %s: holds offsets up to %" PRIu64
				  " but the next segment starts at %" PRIu64,
				  seg_file(seg->base, "log", f, sizeof f),
				  seg->end, expect_end);
	}
	/* A sealed segment's last batch gets a time entry. */
	if (seg->tix.n > 0 &&
	    seg->last_time > tix_time(&seg->tix, seg->tix.n - 1)) {
		uint64_t pos;
		struct stor__bhdr h;
		rv = stor__seg_find(q, seg, seg->end - 1, &pos, &h);
		if (rv == 0)
			rv = push_tix(q, seg, h.store_time,
				      (uint32_t)(h.base_offset - seg->base),
				      (uint32_t)pos, h.count,
				      STOR_BATCH_HEADER_SIZE +
					  (uint64_t)h.payload_len);
		if (rv != 0)
			return rv;
	}
	rv = rewrite_index(q, seg, &seg->idx, "idx", STOR__IDX_MAGIC, NULL);
	if (rv == 0)
		rv = rewrite_index(q, seg, &seg->tix, "tix", STOR__TIX_MAGIC,
				   NULL);
	if (rv != 0)
		return rv;
	q->stats.index_rebuilds++;
	seg->loaded = true;
	return 0;
}

/* ---- Lookups ---- */

/*
 * Index of the last entry whose key is < @key (for times) or <= @key (for
 * offsets, pass key + 1), given that entry 0's key qualifies. Keys ascend
 * strictly. Interpolation first (steady traffic gives near-linear keys:
 * one or two probes whatever the size), then plain bisection once the
 * guesses stop paying off, so bursty keys cost at most a few extra probes.
 */
static size_t last_below(const struct stor__index *ix,
			 int64_t (*key_at)(const struct stor__index *, size_t),
			 int64_t key)
{
	size_t lo = 0, hi = ix->n - 1;
	if (key_at(ix, hi) < key)
		return hi;
	/* Invariant: key_at(lo) < key <= key_at(hi). */
	int guesses = 3;
	while (hi - lo > 1) {
		size_t mid;
		if (guesses-- > 0) {
			int64_t kl = key_at(ix, lo), kh = key_at(ix, hi);
			double frac = ((double)key - (double)kl) /
				      ((double)kh - (double)kl);
			mid = lo + (size_t)(frac * (double)(hi - lo));
			if (mid <= lo)
				mid = lo + 1;
			if (mid >= hi)
				mid = hi - 1;
		} else {
			mid = lo + (hi - lo) / 2;
		}
		if (key_at(ix, mid) < key)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int64_t idx_key(const struct stor__index *ix, size_t i)
{
	return (int64_t)idx_rel(ix, i);
}

static int64_t tix_key(const struct stor__index *ix, size_t i)
{
	return tix_time(ix, i);
}

int stor__seg_find(struct stor_queue *q, struct stor__seg *seg, uint64_t offset,
		   uint64_t *pos_out, struct stor__bhdr *h)
{
	int rv = stor__seg_load(q, seg);
	if (rv != 0)
		return rv;
	const struct stor__index *ix = &seg->idx;
	uint64_t rel = offset - seg->base;
	size_t lo = last_below(ix, idx_key, (int64_t)rel + 1);
	uint64_t pos = idx_pos(ix, lo);
	uint64_t expect = seg->base + idx_rel(ix, lo);
	char f[40];
	struct win w = {0, 0};
	while (pos < seg->size) {
		const char *why;
		rv = read_header(q, seg, &w, pos, h, &why);
		if (rv == 0 && h->base_offset != expect) {
			why = "batch offset out of sequence";
			rv = STOR_ECORRUPT;
		}
		if (rv == STOR_ECORRUPT)
			return stor__fail(
			    q, rv,
			    "segment %s: batch at offset %" PRIu64
			    " (position %" PRIu64 "): %s",
			    seg_file(seg->base, "log", f, sizeof f), expect,
			    pos, why);
		if (rv != 0)
			return rv;
		if (offset < h->base_offset + h->count) {
			*pos_out = pos;
			return 0;
		}
		expect = h->base_offset + h->count;
		pos += STOR_BATCH_HEADER_SIZE + (uint64_t)h->payload_len;
	}
	return stor__fail(q, STOR_ECORRUPT,
			  "segment %s: offset %" PRIu64 " not found",
			  seg_file(seg->base, "log", f, sizeof f), offset);
}

int stor__seg_find_time(struct stor_queue *q, struct stor__seg *seg, int64_t t,
			uint64_t *offset)
{
	int rv = stor__seg_load(q, seg);
	if (rv != 0)
		return rv;
	const struct stor__index *tx = &seg->tix;
	if (tx->n == 0 || t <= tix_time(tx, 0)) {
		*offset = seg->base;
		return 0;
	}
	/* e1 = last entry with time < t; e2 = the one after it, if any. */
	size_t lo = last_below(tx, tix_key, t);
	/* e1's own batch is older than t: start with the batch after it.
	 * When that is e2's batch, the index alone has the answer. */
	uint64_t stop = tix_pos(tx, lo) + (uint64_t)q->cfg.index_interval_bytes;
	uint64_t pos = tix_next_pos(tx, lo);
	uint64_t expect = seg->base + tix_next_rel(tx, lo);
	if (lo + 1 < tx->n && pos == tix_pos(tx, lo + 1)) {
		*offset = expect;
		return 0;
	}
	char f[40];
	struct win w = {0, 0};
	/* Batches an interval or more past e1 share e1's time (see top). */
	while (pos < seg->size && pos <= stop) {
		struct stor__bhdr h;
		const char *why;
		rv = read_header(q, seg, &w, pos, &h, &why);
		if (rv == 0 && h.base_offset != expect) {
			why = "batch offset out of sequence";
			rv = STOR_ECORRUPT;
		}
		if (rv == STOR_ECORRUPT)
			return stor__fail(
			    q, rv,
			    "segment %s: batch at offset %" PRIu64
			    " (position %" PRIu64 "): %s",
			    seg_file(seg->base, "log", f, sizeof f), expect,
			    pos, why);
		if (rv != 0)
			return rv;
		if (h.store_time >= t) {
			*offset = h.base_offset;
			return 0;
		}
		expect = h.base_offset + h.count;
		pos += STOR_BATCH_HEADER_SIZE + (uint64_t)h.payload_len;
	}
	if (lo + 1 < tx->n)
		*offset = seg->base + tix_rel(tx, lo + 1);
	else
		*offset = seg->end;
	return 0;
}
