/*
 * index.c — a segment's sparse offset index (.idx) and time index (.tix):
 * appending entries as batches are written, and lookups by offset and time.
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

/* ---- Heap indexes ---- */

size_t stor__index_entry_size(const struct stor__seg *seg,
			      const struct stor__index *ix)
{
	return ix == &seg->idx ? STOR__IDX_ENTRY_SIZE : STOR__TIX_ENTRY_SIZE;
}

/* Appends @entry to @ix; on success *@last_pos = @pos (the log position
 * the entry points at). */
static int index_push(struct stor_queue *q, struct stor__index *ix,
		      size_t esize, const uint8_t *entry, uint64_t *last_pos,
		      uint64_t pos)
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
	*last_pos = pos;
	return 0;
}

void stor__index_reset(struct stor__index *ix)
{
	if (ix->map != NULL)
		munmap(ix->map, ix->map_len);
	else
		free(ix->entries);
	memset(ix, 0, sizeof *ix);
}

static int push_idx(struct stor_queue *q, struct stor__seg *seg, uint32_t rel,
		    uint32_t pos)
{
	uint8_t e[STOR__IDX_ENTRY_SIZE];
	stor__put_u32(e, rel);
	stor__put_u32(e + 4, pos);
	return index_push(q, &seg->idx, sizeof e, e, &seg->idx_last_pos, pos);
}

/* A time entry for the batch at @pos holding @count records in @total
 * bytes: it also says where the next batch starts. */
int stor__seg_push_tix(struct stor_queue *q, struct stor__seg *seg, int64_t t,
		       uint32_t rel, uint32_t pos, uint32_t count,
		       uint64_t total)
{
	uint8_t e[STOR__TIX_ENTRY_SIZE];
	stor__put_u64(e, (uint64_t)t);
	stor__put_u32(e + 8, rel);
	stor__put_u32(e + 12, pos);
	stor__put_u32(e + 16, rel + count);
	stor__put_u32(e + 20, (uint32_t)(pos + total));
	return index_push(q, &seg->tix, sizeof e, e, &seg->tix_last_pos, pos);
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
	if (seg->tix.n == 0 ||
	    (pos - seg->tix_last_pos >= ivl &&
	     time > stor__tix_time(&seg->tix, seg->tix.n - 1))) {
		rv = stor__seg_push_tix(q, seg, time, rel, (uint32_t)pos, count,
					total);
		if (rv != 0) {
			/* Keep the two indexes in step with the log: undo. */
			if (seg->idx.n > 0 &&
			    stor__idx_pos(&seg->idx, seg->idx.n - 1) == pos)
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

/* ---- Lookups ---- */

/* Decodes the header at @pos (payload CRC not checked). */
int stor__seg_read_header(struct stor_queue *q, struct stor__seg *seg,
			  struct stor__win *w, uint64_t pos,
			  struct stor__bhdr *h, const char **why)
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
			return stor__seg_sys_fail(q, seg->base, "log", "read",
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
	return (int64_t)stor__idx_rel(ix, i);
}

static int64_t tix_key(const struct stor__index *ix, size_t i)
{
	return stor__tix_time(ix, i);
}

/* The batch header at @pos, which must hold offset @expect: 0, or an
 * error (a corrupt one names the segment, offset and position). */
static int next_header(struct stor_queue *q, struct stor__seg *seg,
		       struct stor__win *w, uint64_t pos, uint64_t expect,
		       struct stor__bhdr *h)
{
	const char *why;
	char f[40];
	int rv = stor__seg_read_header(q, seg, w, pos, h, &why);
	if (rv == 0 && h->base_offset != expect) {
		why = "batch offset out of sequence";
		rv = STOR_ECORRUPT;
	}
	if (rv != STOR_ECORRUPT)
		return rv;
	return stor__fail(q, rv,
			  "segment %s: batch at offset %" PRIu64
			  " (position %" PRIu64 "): %s",
			  stor__seg_file(seg->base, "log", f, sizeof f), expect,
			  pos, why);
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
	uint64_t pos = stor__idx_pos(ix, lo);
	uint64_t expect = seg->base + stor__idx_rel(ix, lo);
	char f[40];
	struct stor__win w = {0, 0};
	while (pos < seg->size) {
		rv = next_header(q, seg, &w, pos, expect, h);
		if (rv != 0)
			return rv;
		if (offset < h->base_offset + h->count) {
			*pos_out = pos;
			return 0;
		}
		expect = h->base_offset + h->count;
		pos += STOR_BATCH_HEADER_SIZE + (uint64_t)h->payload_len;
	}
	return stor__fail(
	    q, STOR_ECORRUPT, "segment %s: offset %" PRIu64 " not found",
	    stor__seg_file(seg->base, "log", f, sizeof f), offset);
}

int stor__seg_find_time(struct stor_queue *q, struct stor__seg *seg, int64_t t,
			uint64_t *offset)
{
	int rv = stor__seg_load(q, seg);
	if (rv != 0)
		return rv;
	const struct stor__index *tx = &seg->tix;
	if (tx->n == 0 || t <= stor__tix_time(tx, 0)) {
		*offset = seg->base;
		return 0;
	}
	/* e1 = last entry with time < t; e2 = the one after it, if any. */
	size_t lo = last_below(tx, tix_key, t);
	/* e1's own batch is older than t: start with the batch after it.
	 * When that is e2's batch, the index alone has the answer. */
	uint64_t stop =
	    stor__tix_pos(tx, lo) + (uint64_t)q->cfg.index_interval_bytes;
	uint64_t pos = stor__tix_next_pos(tx, lo);
	uint64_t expect = seg->base + stor__tix_next_rel(tx, lo);
	if (lo + 1 < tx->n && pos == stor__tix_pos(tx, lo + 1)) {
		*offset = expect;
		return 0;
	}
	struct stor__win w = {0, 0};
	/* Batches an interval or more past e1 share e1's time (see top). */
	while (pos < seg->size && pos <= stop) {
		struct stor__bhdr h;
		rv = next_header(q, seg, &w, pos, expect, &h);
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
		*offset = seg->base + stor__tix_rel(tx, lo + 1);
	else
		*offset = seg->end;
	return 0;
}
