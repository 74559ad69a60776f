/*
 * storage_int.h — shared inside storage/ only.
 */
#ifndef RAFTQ_STORAGE_INT_H
#define RAFTQ_STORAGE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "storage.h"

/* ---- On-disk constants (docs/disk-format.md) ---- */

#define STOR__FILE_HEADER_SIZE 16u
#define STOR__LOG_MAGIC 0x474c5152u   /* "RQLG" little-endian */
#define STOR__IDX_MAGIC 0x58495152u   /* "RQIX" */
#define STOR__TIX_MAGIC 0x58545152u   /* "RQTX" */
#define STOR__BATCH_MAGIC 0x54425152u /* "RQBT" */
#define STOR__CLEAN_MAGIC 0x4c435152u /* "RQCL" */
#define STOR__FORMAT_VERSION 1u
#define STOR__BATCH_VERSION 1u

#define STOR__IDX_ENTRY_SIZE 8u /* u32 relative offset, u32 position */
/* i64 time, u32 relative offset, u32 position of the batch, then u32
 * relative offset and u32 position of the batch after it. */
#define STOR__TIX_ENTRY_SIZE 24u
#define STOR__CLEAN_SIZE 52u
#define STOR__NAME_DIGITS 20

/* No store time known (empty segment). */
#define STOR__NO_TIME INT64_MIN

/* ---- Little-endian byte helpers ---- */

static inline void stor__put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void stor__put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void stor__put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t stor__get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t stor__get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static inline uint64_t stor__get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* ---- Batch header ---- */

struct stor__bhdr {
	uint32_t crc;
	uint8_t version;
	uint8_t flags;
	uint32_t payload_len;
	uint64_t base_offset;
	uint32_t count;
	int64_t store_time;
	uint64_t sched_id; /* STOR_BATCH_SCHEDULED: bytes 10-11 and 28-31 */
};

/* Fills the 40 header bytes, CRC computed over header and @payload. */
void stor__bhdr_encode(uint8_t *out, const struct stor__bhdr *h,
		       const void *payload);
/*
 * Decodes and checks the fixed fields of a header (magic, version,
 * reserved bytes, flags, count, payload_len <= @max_payload). Does not
 * check the CRC. Returns 0 or STOR_ECORRUPT with a reason in *why.
 */
int stor__bhdr_decode(const uint8_t *in, uint32_t max_payload,
		      struct stor__bhdr *h, const char **why);
/* CRC of header bytes 8..40 continued over the payload. */
uint32_t stor__bhdr_crc(const uint8_t *hdr, const void *payload,
			size_t payload_len);

/* ---- System calls through the fault hook ---- */

struct stor__sys {
	struct stor_env env;
};

/* Each returns 0/fd/bytes, or a negative errno (never sets errno). */
int stor__open(const struct stor__sys *s, const char *path, int flags,
	       mode_t mode);
ssize_t stor__pread(const struct stor__sys *s, const char *path, int fd,
		    void *buf, size_t n, uint64_t off);
/* Writes all @n bytes or fails; on failure some may have been written. */
int stor__pwritev(const struct stor__sys *s, const char *path, int fd,
		  const struct iovec *iov, int iovcnt, uint64_t off);
int stor__fdatasync(const struct stor__sys *s, const char *path, int fd);
int stor__ftruncate(const struct stor__sys *s, const char *path, int fd,
		    uint64_t size);
int stor__unlink(const struct stor__sys *s, const char *path);
int stor__rename(const struct stor__sys *s, const char *from, const char *to);
int stor__mkdir(const struct stor__sys *s, const char *path);
/* mmap read-only; returns 0 and sets *out, or a negative errno. */
int stor__mmap(const struct stor__sys *s, const char *path, int fd, size_t len,
	       void **out);
void *stor__malloc(const struct stor__sys *s, size_t n);
void *stor__realloc(const struct stor__sys *s, void *p, size_t n);
int64_t stor__now_ms(const struct stor__sys *s);
/* STOR_ENOSPC for ENOSPC/EDQUOT, STOR_ENOMEM for ENOMEM, else STOR_EIO. */
int stor__from_errno(int neg_errno);

/* ---- Segments ---- */

/* A sparse index: fixed-size entries, heap-owned or mapped from a file. */
struct stor__index {
	uint8_t *entries; /* first entry */
	size_t n;
	size_t cap;	/* entries that fit (heap only) */
	size_t written; /* entries already in the file (heap only) */
	void *map;	/* mapping (file header included), or NULL */
	size_t map_len;
};

struct stor__seg {
	uint64_t base;
	uint64_t size;	    /* bytes of the log file, header included */
	uint64_t end;	    /* one past its last offset */
	int64_t first_time; /* STOR__NO_TIME when empty or not loaded */
	int64_t last_time;
	bool loaded; /* indexes and times are known */
	bool active;
	int fd;		    /* log, -1 until needed */
	int idx_fd, tix_fd; /* active segment only, else -1 */
	struct stor__index idx, tix;
	uint64_t idx_last_pos; /* active: log position of the last entry */
	uint64_t tix_last_pos;
};

/* Fixed-size path buffer for one segment file. */
struct stor__path {
	char s[4096];
};

struct stor_queue {
	char *dir;
	char *name;
	struct stor_config cfg;
	struct stor__sys sys;
	int dir_fd;		/* holds the flock */
	struct stor__seg *segs; /* ascending base; the last one is active */
	size_t nsegs;
	size_t segs_cap;
	uint64_t bytes; /* all log files */
	bool dirty;	/* written since the last sync */
	/* Flush=sync: [min, synced_end) is known synced (sync.c); appends
	 * without a sync leave it behind the max offset. sync_gen counts
	 * reloads (truncate, restart): a sync taken before one is stale. */
	uint64_t synced_end;
	uint64_t sync_gen;
	bool released;	 /* its files closed while idle (fds.c) */
	bool clean_kept; /* the clean-shutdown marker still on disk */
	bool broken;	 /* a failed write could not be undone */
	int64_t last_flush_ms;
	uint8_t *scan_buf; /* recovery scans */
	size_t scan_cap;
	uint8_t *win_buf; /* lookups: one index interval of log */
	size_t win_cap;
	struct stor_queue_stats stats;
	/* At open: the end the clean record and the index files promise
	 * (missing messages when the logs end before it). */
	uint64_t promised_end;
	char errmsg[1024];
};

/* queue.c: rolls to a new segment when a batch of @count records and
 * @total bytes does not fit the active one. */
int stor__roll_for(struct stor_queue *q, uint32_t count, uint64_t total);
/* Writes one encoded batch (@hdr, the 40 bytes of @h, then @payload) at
 * the end of the active segment (h->base_offset must be its end), syncs
 * when @sync, indexes it; a failed write is undone (recorded). */
int stor__write_batch(struct stor_queue *q, const uint8_t *hdr,
		      const struct stor__bhdr *h, const void *payload,
		      bool sync);
/* The queue's latest store time, STOR__NO_TIME when it has none. */
int64_t stor__last_time(struct stor_queue *q);
/* Frees every segment and reads the directory again as open does
 * (without a clean record: the last segment is scanned). */
int stor__reload(struct stor_queue *q);

/* Sets q->errmsg to "queue NAME: <fmt>" and returns @code. */
int stor__fail(struct stor_queue *q, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline struct stor__seg *stor__active(struct stor_queue *q)
{
	return &q->segs[q->nsegs - 1];
}

/* "<dir>/<20-digit base>.<ext>" */
void stor__seg_path(const struct stor_queue *q, uint64_t base, const char *ext,
		    struct stor__path *out);

/* Creates the files of a new empty active segment at @base. */
int stor__seg_create(struct stor_queue *q, uint64_t base,
		     struct stor__seg *seg);
/* What a clean close recorded about the active segment. */
struct stor__clean {
	uint64_t base;
	uint64_t size;
	uint64_t end;
	int64_t first_time;
	int64_t last_time;
};
/* Opens the last segment for appending: trusts @clean when it matches
 * (may be NULL), otherwise scans the log and truncates a torn tail. */
int stor__seg_open_active(struct stor_queue *q, struct stor__seg *seg,
			  const struct stor__clean *clean);
/* The end the offset index file of segment @base promises (one past the
 * first offset of its last entry), or 0 when it has none or is not a
 * valid index of that segment. Never fails: an unreadable index promises
 * nothing. */
uint64_t stor__idx_file_end(struct stor_queue *q, uint64_t base);
/* Loads a sealed segment's indexes and times (lazily, once). */
int stor__seg_load(struct stor_queue *q, struct stor__seg *seg);
/* Log fd, opened on first use. */
int stor__seg_fd(struct stor_queue *q, struct stor__seg *seg);
/* Records a batch just written at @pos in the active segment's indexes. */
int stor__seg_note(struct stor_queue *q, struct stor__seg *seg, uint64_t pos,
		   uint64_t base_offset, uint32_t count, uint64_t total,
		   int64_t time);
/* Writes index entries not yet in the index files. */
int stor__seg_write_index(struct stor_queue *q, struct stor__seg *seg);
/* Makes the active segment read-only: final time entry, index, sync. */
int stor__seg_seal(struct stor_queue *q, struct stor__seg *seg);
/* Position and header of the batch holding @offset (base <= offset < end). */
int stor__seg_find(struct stor_queue *q, struct stor__seg *seg, uint64_t offset,
		   uint64_t *pos, struct stor__bhdr *h);
/* First offset in @seg whose time is >= @t; seg->end if none. */
int stor__seg_find_time(struct stor_queue *q, struct stor__seg *seg, int64_t t,
			uint64_t *offset);
/* Closes fds and frees indexes. */
void stor__seg_free(struct stor__seg *seg);
/* Writes the clean-shutdown marker from the active segment; @sync: the
 * marker and the directory synced (else the caller syncs). */
int stor__write_clean(struct stor_queue *q, bool sync);
/* Frees @q and closes what it holds; no I/O. */
void stor__free_queue(struct stor_queue *q);
/* fds.c: closes every fd of @q, nothing written or synced (released). */
void stor__drop_fds(struct stor_queue *q);
/* syncfs(2) of the filesystem of @fd, through the fault hook (FSYNC). */
int stor__syncfs(const struct stor__sys *s, const char *path, int fd);
/* Removes the clean-shutdown marker a clean open left in place (a crash
 * after the first change must scan); call before changing any file.
 * 0 or an error (recorded). */
int stor__unclean(struct stor_queue *q);
/* fds.c: reopens a released queue's directory (flock) and active
 * segment files; 0 at once when not released, else 0 or an error. */
int stor__reacquire(struct stor_queue *q);
/* fsyncs the queue directory (after creating, renaming files). */
int stor__sync_dir(struct stor_queue *q);
/* segment.c, index.c, recovery.c: shared between the segment's parts */
/* "<base>.<ext>" of a segment file, in @buf. */
const char *stor__seg_file(uint64_t base, const char *ext, char *buf, size_t n);
/* "segment 000…123.log: <what>: <strerror>" as the queue's error. */
int stor__seg_sys_fail(struct stor_queue *q, uint64_t base, const char *ext,
		       const char *what, int neg_errno);
void stor__seg_init(struct stor__seg *seg, uint64_t base);
/* Opens file @ext of segment @base: the fd, or the error (recorded). */
int stor__seg_open(struct stor_queue *q, uint64_t base, const char *ext,
		   int flags);
void stor__file_header(uint8_t *h, uint32_t magic, uint16_t esize,
		       uint64_t base);
int stor__check_file_header(const uint8_t *h, uint32_t magic, uint16_t esize,
			    uint64_t base);
size_t stor__index_entry_size(const struct stor__seg *seg,
			      const struct stor__index *ix);
void stor__index_reset(struct stor__index *ix);
int stor__seg_push_tix(struct stor_queue *q, struct stor__seg *seg, int64_t t,
		       uint32_t rel, uint32_t pos, uint32_t count,
		       uint64_t total);

/*
 * Lookups read batch headers through a window: one pread of an index
 * interval of log into q->win_buf, so a lookup costs one system call
 * however small the batches are.
 */
struct stor__win {
	uint64_t at;
	size_t len;
};
/* Decodes the batch header at @pos through the window @w (one pread of an
 * index interval when @pos is outside it; payload CRC not checked): 0, or
 * an error with *why saying what was wrong with the bytes. */
int stor__seg_read_header(struct stor_queue *q, struct stor__seg *seg,
			  struct stor__win *w, uint64_t pos,
			  struct stor__bhdr *h, const char **why);

/* Index entries, read in place (docs/disk-format.md). */
static inline uint32_t stor__idx_rel(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__IDX_ENTRY_SIZE);
}
static inline uint32_t stor__idx_pos(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__IDX_ENTRY_SIZE + 4);
}
static inline int64_t stor__tix_time(const struct stor__index *ix, size_t i)
{
	return (int64_t)stor__get_u64(ix->entries + i * STOR__TIX_ENTRY_SIZE);
}
static inline uint32_t stor__tix_rel(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__TIX_ENTRY_SIZE + 8);
}
static inline uint32_t stor__tix_pos(const struct stor__index *ix, size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__TIX_ENTRY_SIZE + 12);
}
static inline uint32_t stor__tix_next_rel(const struct stor__index *ix,
					  size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__TIX_ENTRY_SIZE + 16);
}
static inline uint32_t stor__tix_next_pos(const struct stor__index *ix,
					  size_t i)
{
	return stor__get_u32(ix->entries + i * STOR__TIX_ENTRY_SIZE + 20);
}

#endif /* RAFTQ_STORAGE_INT_H */
