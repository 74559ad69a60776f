/*
 * recovery.c — opening a queue's segments after a start or a crash: the
 * active segment's log is scanned from its last trusted index entry, a torn
 * tail is cut at the last whole batch (CRC checked), and its indexes are
 * rebuilt; a sealed segment's index files are checked and mapped, or
 * rewritten from the log when they do not match it.
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

/* ---- Scanning ---- */

/* Reads the log from @pos into q->scan_buf (as much as it holds of the
 * @left bytes there are): 0 with the window in *at and *len, or the error. */
static int scan_fill(struct stor_queue *q, struct stor__seg *seg, int fd,
		     const char *path, uint64_t pos, uint64_t left,
		     uint64_t *at, uint64_t *len)
{
	size_t want = (size_t)(left < q->scan_cap ? left : q->scan_cap);
	ssize_t r = stor__pread(&q->sys, path, fd, q->scan_buf, want, pos);
	if (r < 0)
		return stor__seg_sys_fail(q, seg->base, "log", "read", (int)r);
	*at = pos;
	*len = (uint64_t)r;
	return 0;
}

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
			return stor__seg_sys_fail(q, seg->base, "log", "read",
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
	stor__index_reset(&seg->idx);
	stor__index_reset(&seg->tix);
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
			rv = scan_fill(q, seg, fd, p.s, pos, left, &buf_at,
				       &buf_len);
			if (rv != 0)
				return rv;
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
			if (rv == 0)
				rv = scan_fill(q, seg, fd, p.s, pos, left,
					       &buf_at, &buf_len);
			if (rv != 0)
				return rv;
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
				  stor__seg_file(seg->base, "log", f, sizeof f),
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
				  stor__seg_file(seg->base, "log", f, sizeof f),
				  seg->end, pos, why);
	/* A torn write: the tail was never acknowledged as durable. */
	rv = stor__ftruncate(&q->sys, p.s, fd, pos);
	if (rv != 0)
		return stor__seg_sys_fail(q, seg->base, "log",
					  "truncate torn tail", rv);
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
		return stor__seg_sys_fail(q, seg->base, ext, "create", fd);
	size_t es = stor__index_entry_size(seg, ix);
	uint8_t h[STOR__FILE_HEADER_SIZE];
	stor__file_header(h, magic, (uint16_t)es, seg->base);
	struct iovec v[2] = {{h, sizeof h}, {ix->entries, ix->n * es}};
	int rv = stor__pwritev(&q->sys, tmp.s, fd, v, ix->n > 0 ? 2 : 1, 0);
	if (rv == 0 && q->cfg.flush != STOR_FLUSH_OS)
		rv = stor__fdatasync(&q->sys, tmp.s, fd);
	if (rv == 0)
		rv = stor__rename(&q->sys, tmp.s, p.s);
	if (rv != 0) {
		close(fd);
		unlink(tmp.s);
		return stor__seg_sys_fail(q, seg->base, ext, "rewrite", rv);
	}
	ix->written = ix->n;
	if (fd_out != NULL)
		*fd_out = fd;
	else
		close(fd);
	return 0;
}

/* Opens index file @ext with @flags into @f (path, stat, entry size):
 * 1 with f->fd open when it holds a header and whole entries; 0 when it is
 * missing or not such a file (rebuild it); or an error (recorded). */
struct index_file {
	struct stor__path p;
	struct stat st;
	size_t es; /* entry size */
	int fd;
};

static int open_index(struct stor_queue *q, struct stor__seg *seg,
		      struct stor__index *ix, const char *ext, int flags,
		      struct index_file *f)
{
	stor__seg_path(q, seg->base, ext, &f->p);
	f->es = stor__index_entry_size(seg, ix);
	f->fd = stor__open(&q->sys, f->p.s, flags, 0);
	if (f->fd == -ENOENT)
		return 0;
	if (f->fd < 0)
		return stor__seg_sys_fail(q, seg->base, ext, "open", f->fd);
	if (fstat(f->fd, &f->st) != 0 ||
	    f->st.st_size < STOR__FILE_HEADER_SIZE ||
	    ((size_t)f->st.st_size - STOR__FILE_HEADER_SIZE) % f->es != 0) {
		close(f->fd);
		f->fd = -1;
		return 0;
	}
	return 1;
}

/* Reads an index file fully into the heap index; returns 1 if it was
 * usable (header and whole entries), 0 if it must be rebuilt. */
static int read_index_file(struct stor_queue *q, struct stor__seg *seg,
			   struct stor__index *ix, const char *ext,
			   uint32_t magic, int *fd_out)
{
	struct index_file f;
	int rv = open_index(q, seg, ix, ext, O_RDWR, &f);
	if (rv != 1)
		return rv;
	size_t n = ((size_t)f.st.st_size - STOR__FILE_HEADER_SIZE) / f.es;
	uint8_t *buf = stor__malloc(&q->sys, (size_t)f.st.st_size);
	if (buf == NULL) {
		close(f.fd);
		return stor__fail(q, STOR_ENOMEM, "index: out of memory");
	}
	ssize_t r =
	    stor__pread(&q->sys, f.p.s, f.fd, buf, (size_t)f.st.st_size, 0);
	if (r < 0) {
		free(buf);
		close(f.fd);
		return stor__seg_sys_fail(q, seg->base, ext, "read", (int)r);
	}
	if ((size_t)r != (size_t)f.st.st_size ||
	    !stor__check_file_header(buf, magic, (uint16_t)f.es, seg->base)) {
		free(buf);
		close(f.fd);
		return 0;
	}
	stor__index_reset(ix);
	memmove(buf, buf + STOR__FILE_HEADER_SIZE, n * f.es);
	ix->entries = buf;
	ix->n = ix->cap = ix->written = n;
	*fd_out = f.fd;
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
	if (ix->n == 0 || tx->n == 0 || stor__idx_rel(ix, 0) != 0 ||
	    stor__idx_pos(ix, 0) != STOR__FILE_HEADER_SIZE ||
	    stor__tix_rel(tx, 0) != 0 ||
	    stor__tix_pos(tx, 0) != STOR__FILE_HEADER_SIZE)
		return false;
	uint64_t span = seg->end - seg->base;
	for (size_t i = 0; i < ix->n; i++) {
		if (stor__idx_pos(ix, i) >= seg->size ||
		    stor__idx_rel(ix, i) >= span)
			return false;
		if (i > 0 &&
		    (stor__idx_pos(ix, i) <= stor__idx_pos(ix, i - 1) ||
		     stor__idx_rel(ix, i) <= stor__idx_rel(ix, i - 1)))
			return false;
	}
	for (size_t i = 0; i < tx->n; i++) {
		if (stor__tix_pos(tx, i) >= seg->size ||
		    stor__tix_rel(tx, i) >= span ||
		    stor__tix_next_pos(tx, i) <= stor__tix_pos(tx, i) ||
		    stor__tix_next_pos(tx, i) > seg->size ||
		    stor__tix_next_rel(tx, i) <= stor__tix_rel(tx, i) ||
		    stor__tix_next_rel(tx, i) > span)
			return false;
		if (i > 0 &&
		    (stor__tix_pos(tx, i) <= stor__tix_pos(tx, i - 1) ||
		     stor__tix_time(tx, i) <= stor__tix_time(tx, i - 1)))
			return false;
	}
	return true;
}

static int open_log_rw(struct stor_queue *q, struct stor__seg *seg,
		       uint64_t *size)
{
	struct stor__path p;
	stor__seg_path(q, seg->base, "log", &p);
	int fd = stor__seg_open(q, seg->base, "log", O_RDWR);
	if (fd < 0)
		return fd;
	seg->fd = fd;
	struct stat st;
	if (fstat(fd, &st) != 0)
		return stor__seg_sys_fail(q, seg->base, "log", "stat", -errno);
	uint8_t h[STOR__FILE_HEADER_SIZE];
	if ((uint64_t)st.st_size < STOR__FILE_HEADER_SIZE) {
		/* Torn at creation: nothing was ever appended to it. */
		stor__file_header(h, STOR__LOG_MAGIC, 0, seg->base);
		struct iovec v = {h, sizeof h};
		int rv = stor__pwritev(&q->sys, p.s, fd, &v, 1, 0);
		if (rv != 0)
			return stor__seg_sys_fail(q, seg->base, "log",
						  "rewrite header", rv);
		*size = STOR__FILE_HEADER_SIZE;
		return 0;
	}
	ssize_t r = stor__pread(&q->sys, p.s, fd, h, sizeof h, 0);
	if (r < 0)
		return stor__seg_sys_fail(q, seg->base, "log", "read", (int)r);
	if (r != (ssize_t)sizeof h ||
	    !stor__check_file_header(h, STOR__LOG_MAGIC, 0, seg->base)) {
		char f[40];
		return stor__fail(
		    q, STOR_ECORRUPT, "segment %s: bad file header",
		    stor__seg_file(seg->base, "log", f, sizeof f));
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

uint64_t stor__idx_file_end(struct stor_queue *q, uint64_t base)
{
	struct stor__path p;
	uint8_t h[STOR__FILE_HEADER_SIZE], e[STOR__IDX_ENTRY_SIZE];
	struct stat st;
	stor__seg_path(q, base, "idx", &p);
	int fd = stor__open(&q->sys, p.s, O_RDONLY, 0);
	if (fd < 0)
		return 0;
	uint64_t end = 0;
	if (fstat(fd, &st) == 0 &&
	    (size_t)st.st_size >= STOR__FILE_HEADER_SIZE + sizeof e &&
	    stor__pread(&q->sys, p.s, fd, h, sizeof h, 0) ==
		(ssize_t)sizeof h &&
	    stor__check_file_header(h, STOR__IDX_MAGIC, STOR__IDX_ENTRY_SIZE,
				    base)) {
		off_t last = STOR__FILE_HEADER_SIZE +
			     (st.st_size - STOR__FILE_HEADER_SIZE) /
				 (off_t)sizeof e * (off_t)sizeof e -
			     (off_t)sizeof e;
		if (stor__pread(&q->sys, p.s, fd, e, sizeof e, last) ==
		    (ssize_t)sizeof e)
			end = base + stor__get_u32(e) + 1;
	}
	close(fd);
	return end;
}

int stor__seg_open_active(struct stor_queue *q, struct stor__seg *seg,
			  const struct stor__clean *clean)
{
	uint64_t base = seg->base;
	stor__seg_init(seg, base);
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
				    stor__idx_pos(&seg->idx, seg->idx.n - 1);
			if (seg->tix.n > 0)
				seg->tix_last_pos =
				    stor__tix_pos(&seg->tix, seg->tix.n - 1);
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
	/* What the index had, before the scan rebuilds it from the log. */
	uint64_t promised = stor__idx_file_end(q, base);
	if (promised > q->promised_end)
		q->promised_end = promised;
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
	struct index_file f;
	int rv = open_index(q, seg, ix, ext, O_RDONLY, &f);
	if (rv != 1)
		return rv;
	void *m;
	rv = stor__mmap(&q->sys, f.p.s, f.fd, (size_t)f.st.st_size, &m);
	close(f.fd);
	if (rv != 0)
		return stor__seg_sys_fail(q, seg->base, ext, "mmap", rv);
	if (!stor__check_file_header(m, magic, (uint16_t)f.es, seg->base)) {
		munmap(m, (size_t)f.st.st_size);
		return 0;
	}
	stor__index_reset(ix);
	ix->map = m;
	ix->map_len = (size_t)f.st.st_size;
	ix->entries = (uint8_t *)m + STOR__FILE_HEADER_SIZE;
	ix->n = ((size_t)f.st.st_size - STOR__FILE_HEADER_SIZE) / f.es;
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
	uint64_t pos = stor__idx_pos(&seg->idx, seg->idx.n - 1);
	uint64_t expect = seg->base + stor__idx_rel(&seg->idx, seg->idx.n - 1);
	int64_t last_time = STOR__NO_TIME;
	struct stor__win w = {0, 0};
	while (pos < seg->size) {
		struct stor__bhdr h;
		const char *why;
		int rv = stor__seg_read_header(q, seg, &w, pos, &h, &why);
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
	      last_time == stor__tix_time(&seg->tix, seg->tix.n - 1);
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
		seg->first_time = stor__tix_time(&seg->tix, 0);
		seg->last_time = stor__tix_time(&seg->tix, seg->tix.n - 1);
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
				  stor__seg_file(seg->base, "log", f, sizeof f),
				  seg->end, expect_end);
	}
	/* A sealed segment's last batch gets a time entry. */
	if (seg->tix.n > 0 &&
	    seg->last_time > stor__tix_time(&seg->tix, seg->tix.n - 1)) {
		uint64_t pos;
		struct stor__bhdr h;
		rv = stor__seg_find(q, seg, seg->end - 1, &pos, &h);
		if (rv == 0)
			rv = stor__seg_push_tix(
			    q, seg, h.store_time,
			    (uint32_t)(h.base_offset - seg->base),
			    (uint32_t)pos, h.count,
			    STOR_BATCH_HEADER_SIZE + (uint64_t)h.payload_len);
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
