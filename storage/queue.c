/*
 * queue.c — a queue: its segments in offset order, the last one active.
 *
 * Happy path: open (list segments, trust the clean-shutdown marker or scan
 * the active segment) → append (one pwritev per batch, fdatasync under
 * flush=sync, index entries kept in memory) → roll when a segment is full
 * (create the next, then seal this one) → close (write indexes, sync,
 * write the marker).
 *
 * Failure modes: a failed write or sync is undone by truncating the log
 * back to its previous size, so the queue stays as it was; if even that
 * fails the queue is marked broken (reads work, appends need a reopen,
 * whose recovery scan repairs the tail). A failed roll leaves the current
 * segment active. Retention deletes the log file first, so a crash in the
 * middle leaves only orphan index files, which open removes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_int.h"

_Static_assert(STOR__CLEAN_SIZE == 52, "clean marker is 52 bytes");

#define CLEAN_FILE "clean"

int stor__fail(struct stor_queue *q, int code, const char *fmt, ...)
{
	int n = snprintf(q->errmsg, sizeof q->errmsg, "queue %s: ", q->name);
	if (n < 0 || (size_t)n >= sizeof q->errmsg)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->errmsg + n, sizeof q->errmsg - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

void stor_config_default(struct stor_config *cfg)
{
	cfg->segment_bytes = 128u << 20;
	cfg->index_interval_bytes = 4096;
	cfg->flush = STOR_FLUSH_SYNC;
	cfg->flush_interval_ms = 1000;
	cfg->retention_ms = 72 * 3600 * 1000LL;
	cfg->retention_bytes = 0;
	cfg->max_batch_bytes = 16u << 20;
}

int stor_config_check(const struct stor_config *c, char *errmsg, size_t n)
{
	const char *bad = NULL;
	if (c->segment_bytes < (64u << 10) || c->segment_bytes > (1u << 30))
		bad = "segment_bytes must be 64 KiB .. 1 GiB";
	else if (c->index_interval_bytes < 512 ||
		 c->index_interval_bytes > (1u << 20))
		bad = "index_interval_bytes must be 512 .. 1 MiB";
	else if (c->flush != STOR_FLUSH_SYNC &&
		 c->flush != STOR_FLUSH_INTERVAL && c->flush != STOR_FLUSH_OS)
		bad = "flush must be sync, interval or os";
	else if (c->flush_interval_ms < 1 || c->flush_interval_ms > 3600000)
		bad = "flush_interval_ms must be 1 .. 3600000";
	else if (c->retention_ms < 0)
		bad = "retention_ms must be >= 0";
	else if (c->max_batch_bytes < 1 ||
		 c->max_batch_bytes > c->segment_bytes / 2)
		bad = "max_batch_bytes must be 1 .. segment_bytes/2";
	if (bad == NULL)
		return 0;
	if (errmsg != NULL && n > 0)
		snprintf(errmsg, n, "storage config: %s", bad);
	return STOR_EINVAL;
}

/* ---- Clean-shutdown marker ---- */

static void clean_path(const struct stor_queue *q, const char *suffix,
		       struct stor__path *p)
{
	/* cppcheck-suppress ctuuninitvar ; p->s is written here */
	snprintf(p->s, sizeof p->s, "%s/%s%s", q->dir, CLEAN_FILE, suffix);
}

static int read_clean(struct stor_queue *q, struct stor__clean *c, bool *have)
{
	struct stor__path p;
	clean_path(q, "", &p);
	*have = false;
	int fd = stor__open(&q->sys, p.s, O_RDONLY, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return stor__fail(q, stor__from_errno(fd), "open %s: %s",
				  CLEAN_FILE, strerror(-fd));
	uint8_t b[STOR__CLEAN_SIZE];
	ssize_t r = stor__pread(&q->sys, p.s, fd, b, sizeof b, 0);
	close(fd);
	if (r < 0)
		return stor__fail(q, stor__from_errno((int)r), "read %s: %s",
				  CLEAN_FILE, strerror((int)-r));
	/* A damaged marker only costs a recovery scan. */
	if (r != (ssize_t)sizeof b || stor__get_u32(b) != STOR__CLEAN_MAGIC ||
	    stor__get_u16(b + 4) != STOR__FORMAT_VERSION ||
	    stor__get_u32(b + 48) != stor_crc32c(0, b, 48))
		return 0;
	c->base = stor__get_u64(b + 8);
	c->size = stor__get_u64(b + 16);
	c->end = stor__get_u64(b + 24);
	c->first_time = (int64_t)stor__get_u64(b + 32);
	c->last_time = (int64_t)stor__get_u64(b + 40);
	*have = true;
	return 0;
}

int stor__write_clean(struct stor_queue *q, bool sync)
{
	struct stor__seg *a = stor__active(q);
	uint8_t b[STOR__CLEAN_SIZE];
	stor__put_u32(b, STOR__CLEAN_MAGIC);
	stor__put_u16(b + 4, STOR__FORMAT_VERSION);
	stor__put_u16(b + 6, 0);
	stor__put_u64(b + 8, a->base);
	stor__put_u64(b + 16, a->size);
	stor__put_u64(b + 24, a->end);
	stor__put_u64(b + 32, (uint64_t)a->first_time);
	stor__put_u64(b + 40, (uint64_t)a->last_time);
	stor__put_u32(b + 48, stor_crc32c(0, b, 48));
	struct stor__path tmp, p;
	clean_path(q, ".tmp", &tmp);
	clean_path(q, "", &p);
	int fd = stor__open(&q->sys, tmp.s, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return stor__fail(q, stor__from_errno(fd), "create %s: %s",
				  CLEAN_FILE, strerror(-fd));
	struct iovec v = {b, sizeof b};
	int rv = stor__pwritev(&q->sys, tmp.s, fd, &v, 1, 0);
	if (rv == 0 && sync)
		rv = stor__fdatasync(&q->sys, tmp.s, fd);
	close(fd);
	if (rv == 0)
		rv = stor__rename(&q->sys, tmp.s, p.s);
	if (rv == 0 && sync)
		rv = stor__fdatasync(&q->sys, q->dir, q->dir_fd);
	if (rv != 0) {
		unlink(tmp.s);
		return stor__fail(q, stor__from_errno(rv), "write %s: %s",
				  CLEAN_FILE, strerror(-rv));
	}
	return 0;
}

int stor__unclean(struct stor_queue *q)
{
	if (!q->clean_kept)
		return 0;
	/* From here on a crash must lead to a recovery scan. */
	struct stor__path p;
	clean_path(q, "", &p);
	int u = stor__unlink(&q->sys, p.s);
	if (u == 0 || u == -ENOENT)
		u = stor__fdatasync(&q->sys, q->dir, q->dir_fd);
	if (u != 0)
		return stor__fail(q, stor__from_errno(u), "remove %s: %s",
				  CLEAN_FILE, strerror(-u));
	q->clean_kept = false;
	return 0;
}

/* ---- Open ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* "00000000000000004096.log" -> 4096; false for anything else. */
static bool parse_seg_name(const char *name, const char *ext, uint64_t *base)
{
	size_t n = strlen(name), e = strlen(ext);
	if (n != STOR__NAME_DIGITS + 1 + e || name[STOR__NAME_DIGITS] != '.' ||
	    strcmp(name + STOR__NAME_DIGITS + 1, ext) != 0)
		return false;
	uint64_t v = 0;
	for (int i = 0; i < STOR__NAME_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		unsigned d = (unsigned)(name[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*base = v;
	return true;
}

static bool has_base(const uint64_t *v, size_t n, uint64_t base)
{
	return n > 0 && bsearch(&base, v, n, sizeof *v, cmp_u64) != NULL;
}

/* Lists *.log bases (sorted) and removes leftovers of interrupted work:
 * *.tmp files and index files whose log is gone. */
static int list_segments(struct stor_queue *q, uint64_t **out, size_t *n_out)
{
	DIR *d = opendir(q->dir);
	if (d == NULL)
		return stor__fail(q, stor__from_errno(-errno), "opendir: %s",
				  strerror(errno));
	uint64_t *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int rv = 0;
	while ((e = readdir(d)) != NULL) {
		uint64_t base;
		if (!parse_seg_name(e->d_name, "log", &base))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			uint64_t *nv =
			    stor__realloc(&q->sys, v, cap * sizeof *v);
			if (nv == NULL) {
				rv = stor__fail(q, STOR_ENOMEM,
						"open: out of memory");
				break;
			}
			v = nv;
		}
		v[n++] = base;
	}
	if (rv == 0) {
		if (n > 1)
			qsort(v, n, sizeof *v, cmp_u64);
		rewinddir(d);
		while ((e = readdir(d)) != NULL) {
			uint64_t base;
			size_t len = strlen(e->d_name);
			bool orphan =
			    (parse_seg_name(e->d_name, "idx", &base) ||
			     parse_seg_name(e->d_name, "tix", &base)) &&
			    !has_base(v, n, base);
			bool tmp =
			    len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0;
			/* An index whose log is gone still says what was in
			 * it. */
			uint64_t end =
			    orphan && parse_seg_name(e->d_name, "idx", &base)
				? stor__idx_file_end(q, base)
				: 0;
			if (end > q->promised_end)
				q->promised_end = end;
			if (orphan || tmp) {
				struct stor__path p;
				snprintf(p.s, sizeof p.s, "%s/%s", q->dir,
					 e->d_name);
				int u = stor__unlink(&q->sys, p.s);
				if (u != 0 && u != -ENOENT) {
					rv =
					    stor__fail(q, stor__from_errno(u),
						       "remove %s: %s",
						       e->d_name, strerror(-u));
					break;
				}
			}
		}
	}
	closedir(d);
	if (rv != 0) {
		free(v);
		return rv;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static int grow_segs(struct stor_queue *q, size_t need)
{
	if (q->segs_cap >= need)
		return 0;
	size_t cap = q->segs_cap ? q->segs_cap * 2 : 8;
	while (cap < need)
		cap *= 2;
	struct stor__seg *s = stor__realloc(&q->sys, q->segs, cap * sizeof *s);
	if (s == NULL)
		return stor__fail(q, STOR_ENOMEM, "segments: out of memory");
	q->segs = s;
	q->segs_cap = cap;
	return 0;
}

void stor__free_queue(struct stor_queue *q)
{
	for (size_t i = 0; i < q->nsegs; i++)
		stor__seg_free(&q->segs[i]);
	free(q->segs);
	free(q->scan_buf);
	free(q->win_buf);
	if (q->dir_fd >= 0)
		close(q->dir_fd); /* releases the flock */
	free(q->dir);
	free(q->name);
	free(q);
}

/* Newest store time in the queue, or NO_TIME (segments must be loaded). */
static int64_t queue_last_time(struct stor_queue *q)
{
	for (size_t i = q->nsegs; i-- > 0;)
		if (q->segs[i].last_time != STOR__NO_TIME)
			return q->segs[i].last_time;
	return STOR__NO_TIME;
}

static int open_segments(struct stor_queue *q)
{
	uint64_t *bases = NULL;
	size_t n = 0;
	int rv = list_segments(q, &bases, &n);
	if (rv != 0)
		return rv;
	struct stor__clean clean;
	bool have_clean = false;
	rv = read_clean(q, &clean, &have_clean);
	if (rv == 0)
		rv = grow_segs(q, n > 0 ? n : 1);
	if (rv != 0) {
		free(bases);
		return rv;
	}
	if (have_clean && clean.end > q->promised_end)
		q->promised_end = clean.end;
	/* The marker stays true until the first change (stor__unclean). */
	q->clean_kept = have_clean;
	if (n == 0) {
		free(bases);
		rv = stor__seg_create(q, 0, &q->segs[0]);
		if (rv != 0)
			return rv;
		q->nsegs = 1;
		q->bytes = q->segs[0].size;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct stor__seg *s = &q->segs[i];
		memset(s, 0, sizeof *s);
		s->base = bases[i];
		s->fd = s->idx_fd = s->tix_fd = -1;
		s->first_time = s->last_time = STOR__NO_TIME;
		q->nsegs = i + 1;
		if (i + 1 < n) {
			struct stor__path p;
			struct stat st;
			stor__seg_path(q, s->base, "log", &p);
			if (stat(p.s, &st) != 0) {
				rv = stor__fail(q, stor__from_errno(-errno),
						"segment %020" PRIu64
						".log: stat: %s",
						s->base, strerror(errno));
				break;
			}
			s->size = (uint64_t)st.st_size;
			s->end = bases[i + 1];
		} else {
			rv = stor__seg_open_active(q, s,
						   have_clean ? &clean : NULL);
		}
		if (rv != 0)
			break;
		q->bytes += s->size;
	}
	free(bases);
	if (rv != 0)
		return rv;
	/* The first segment gives first_store_time; the one before the
	 * active gives the last store time while the active is empty. */
	rv = stor__seg_load(q, &q->segs[0]);
	if (rv == 0 && q->nsegs > 1 &&
	    stor__active(q)->end == stor__active(q)->base)
		rv = stor__seg_load(q, &q->segs[q->nsegs - 2]);
	if (rv == 0 && q->nsegs > 1 &&
	    q->segs[q->nsegs - 2].end != stor__active(q)->base)
		rv = stor__fail(q, STOR_ECORRUPT,
				"segment %020" PRIu64
				".log: does not start where the previous "
				"ends (%" PRIu64 ")",
				stor__active(q)->base,
				q->segs[q->nsegs - 2].end);
	uint64_t end = stor__active(q)->end;
	if (rv == 0 && q->promised_end > end) {
		q->stats.messages_missing = q->promised_end - end;
		q->stats.missing_from = end;
	}
	return rv;
}

int stor__reload(struct stor_queue *q)
{
	uint64_t at = q->segs[0].base;
	for (size_t i = 0; i < q->nsegs; i++)
		stor__seg_free(&q->segs[i]);
	q->nsegs = 0;
	q->bytes = 0;
	q->dirty = false;
	q->broken = false;
	q->promised_end = 0;
	q->stats.messages_missing = q->stats.missing_from = 0;
	q->sync_gen++;
	int rv = open_segments(q);
	if (rv == 0) {
		uint64_t end = stor__active(q)->end, min = q->segs[0].base;
		if (q->synced_end > end)
			q->synced_end = end;
		if (q->synced_end < min)
			q->synced_end = min;
		return 0;
	}
	/* Half reloaded: keep one empty placeholder so info() and reads
	 * stay defined; broken until the owner reopens the queue. */
	for (size_t i = 0; i < q->nsegs; i++)
		stor__seg_free(&q->segs[i]);
	stor__seg_init(&q->segs[0], at);
	q->nsegs = 1;
	q->bytes = 0;
	q->broken = true;
	q->synced_end = at;
	return rv;
}

int stor_queue_open(const char *dir, const char *name,
		    const struct stor_config *cfg, const struct stor_env *env,
		    struct stor_queue **out, char *errmsg, size_t errmsg_len)
{
	if (errmsg != NULL && errmsg_len > 0)
		errmsg[0] = '\0';
	if (dir == NULL || name == NULL || cfg == NULL || out == NULL) {
		if (errmsg != NULL && errmsg_len > 0)
			snprintf(errmsg, errmsg_len, "queue: missing argument");
		return STOR_EINVAL;
	}
	int rv = stor_config_check(cfg, errmsg, errmsg_len);
	if (rv != 0)
		return rv;
	struct stor__sys sys = {{0}};
	if (env != NULL)
		sys.env = *env;
	struct stor_queue *q = stor__malloc(&sys, sizeof *q);
	if (q == NULL) {
		if (errmsg != NULL && errmsg_len > 0)
			snprintf(errmsg, errmsg_len, "queue %s: out of memory",
				 name);
		return STOR_ENOMEM;
	}
	memset(q, 0, sizeof *q);
	q->sys = sys;
	q->cfg = *cfg;
	q->dir_fd = -1;
	q->dir = strdup(dir);
	q->name = strdup(name);
	if (q->dir == NULL || q->name == NULL) {
		rv = STOR_ENOMEM;
		if (errmsg != NULL && errmsg_len > 0)
			snprintf(errmsg, errmsg_len, "queue %s: out of memory",
				 name);
		stor__free_queue(q);
		return rv;
	}
	/* A lookup reads every header of one index interval at once. */
	q->win_cap = cfg->index_interval_bytes + 2 * STOR_BATCH_HEADER_SIZE;
	q->win_buf = stor__malloc(&q->sys, q->win_cap);
	if (q->win_buf == NULL) {
		rv = stor__fail(q, STOR_ENOMEM, "out of memory");
		goto fail;
	}
	rv = stor__mkdir(&q->sys, dir);
	if (rv != 0) {
		rv = stor__fail(q, stor__from_errno(rv), "mkdir %s: %s", dir,
				strerror(-rv));
		goto fail;
	}
	q->dir_fd = stor__open(&q->sys, dir, O_RDONLY | O_DIRECTORY, 0);
	if (q->dir_fd < 0) {
		rv = stor__fail(q, stor__from_errno(q->dir_fd), "open %s: %s",
				dir, strerror(-q->dir_fd));
		q->dir_fd = -1;
		goto fail;
	}
	if (flock(q->dir_fd, LOCK_EX | LOCK_NB) != 0) {
		rv = errno == EWOULDBLOCK
			 ? stor__fail(q, STOR_ELOCKED,
				      "%s is in use by another process", dir)
			 : stor__fail(q, STOR_EIO, "flock %s: %s", dir,
				      strerror(errno));
		goto fail;
	}
	rv = open_segments(q);
	if (rv != 0)
		goto fail;
	q->synced_end = stor__active(q)->end; /* what the files hold */
	q->last_flush_ms = stor__now_ms(&q->sys);
	*out = q;
	return 0;
fail:
	if (errmsg != NULL && errmsg_len > 0)
		snprintf(errmsg, errmsg_len, "%s", q->errmsg);
	stor__free_queue(q);
	return rv;
}

/* ---- Append ---- */

/* Truncates the active log back to its recorded size after a failed
 * write; marks the queue broken if that fails too. */
static void undo_write(struct stor_queue *q, struct stor__seg *a)
{
	struct stor__path p;
	stor__seg_path(q, a->base, "log", &p);
	if (stor__ftruncate(&q->sys, p.s, a->fd, a->size) != 0)
		q->broken = true;
}

static int roll(struct stor_queue *q)
{
	int rv = stor__unclean(q);
	if (rv == 0)
		rv = grow_segs(q, q->nsegs + 1);
	if (rv != 0)
		return rv;
	struct stor__seg *old = stor__active(q);
	struct stor__seg next;
	rv = stor__seg_create(q, old->end, &next);
	if (rv != 0)
		return rv;
	rv = stor__seg_seal(q, old);
	if (rv != 0) {
		char keep[sizeof q->errmsg];
		memcpy(keep, q->errmsg, sizeof keep);
		stor__seg_free(&next);
		static const char *exts[] = {"log", "idx", "tix"};
		for (int i = 0; i < 3; i++) {
			struct stor__path p;
			stor__seg_path(q, next.base, exts[i], &p);
			unlink(p.s);
		}
		memcpy(q->errmsg, keep, sizeof keep);
		return rv;
	}
	q->segs[q->nsegs++] = next;
	q->bytes += next.size;
	q->stats.rolls++;
	return 0;
}

int stor__roll_for(struct stor_queue *q, uint32_t count, uint64_t total)
{
	struct stor__seg *a = stor__active(q);
	if (a->end > a->base && (a->size + total > q->cfg.segment_bytes ||
				 a->end - a->base + count > UINT32_MAX))
		return roll(q);
	return 0;
}

int stor__write_batch(struct stor_queue *q, const uint8_t *hdr,
		      const struct stor__bhdr *h, const void *payload,
		      bool sync)
{
	struct stor__seg *a = stor__active(q);
	assert(h->base_offset == a->end);
	int urv = stor__unclean(q);
	if (urv != 0)
		return urv;
	uint64_t total = STOR_BATCH_HEADER_SIZE + (uint64_t)h->payload_len;
	struct iovec v[2] = {{(void *)(uintptr_t)hdr, STOR_BATCH_HEADER_SIZE},
			     {(void *)(uintptr_t)payload, h->payload_len}};
	struct stor__path p;
	stor__seg_path(q, a->base, "log", &p);
	int rv = stor__pwritev(&q->sys, p.s, a->fd, v,
			       h->payload_len > 0 ? 2 : 1, a->size);
	const char *what = "write";
	if (rv == 0 && sync) {
		rv = stor__fdatasync(&q->sys, p.s, a->fd);
		what = "fsync";
		if (rv == 0)
			q->stats.fsyncs++;
	}
	if (rv != 0) {
		undo_write(q, a);
		return stor__fail(q, stor__from_errno(rv),
				  "segment %020" PRIu64 ".log: %s at offset "
				  "%" PRIu64 ": %s%s",
				  a->base, what, a->end, strerror(-rv),
				  q->broken ? "; undo failed, queue needs a "
					      "reopen"
					    : "");
	}
	rv = stor__seg_note(q, a, a->size, h->base_offset, h->count, total,
			    h->store_time);
	if (rv != 0) {
		undo_write(q, a);
		return rv;
	}
	q->bytes += total;
	q->dirty = true;
	q->stats.appends++;
	if (sync)
		q->synced_end = a->end; /* the batch is in and synced */
	return 0;
}

int64_t stor__last_time(struct stor_queue *q)
{
	return queue_last_time(q);
}

/* STOR_OK, or why @in cannot be appended (recorded). */
static int check_batch_in(struct stor_queue *q, const struct stor_batch_in *in)
{
	if (in->count == 0 || in->count > STOR_MAX_BATCH_RECORDS)
		return stor__fail(q, STOR_EINVAL,
				  "batch record count %u not in 1..%u",
				  in->count, STOR_MAX_BATCH_RECORDS);
	if (in->payload_len > q->cfg.max_batch_bytes)
		return stor__fail(q, STOR_EINVAL,
				  "batch of %u bytes exceeds max_batch_bytes "
				  "%u",
				  in->payload_len, q->cfg.max_batch_bytes);
	if ((in->flags & ~STOR_BATCH_FLAGS_KNOWN) != 0)
		return stor__fail(q, STOR_EINVAL, "unknown batch flags 0x%x",
				  in->flags);
	if (in->payload == NULL && in->payload_len > 0)
		return stor__fail(q, STOR_EINVAL, "batch payload missing");
	if ((in->sched_id != 0) != ((in->flags & STOR_BATCH_SCHEDULED) != 0) ||
	    in->sched_id > STOR_SCHED_ID_MAX)
		return stor__fail(
		    q, STOR_EINVAL,
		    "schedule id %llu does not go with flags 0x%x",
		    (unsigned long long)in->sched_id, in->flags);
	if (stor__active(q)->end > (uint64_t)STOR_MAX_OFFSET - in->count)
		return stor__fail(q, STOR_EINVAL, "offsets would pass 2^63-1");
	return STOR_OK;
}

static int append(struct stor_queue *q, const struct stor_batch_in *in,
		  uint64_t *base_offset, int64_t *store_time_ms, bool sync)
{
	if (q->broken)
		return stor__fail(q, STOR_EBROKEN,
				  "a failed write could not be undone; reopen "
				  "the queue to recover");
	int rv = stor__reacquire(q);
	if (rv != 0)
		return rv;
	rv = check_batch_in(q, in);
	if (rv == 0)
		rv = stor__roll_for(q, in->count,
				    STOR_BATCH_HEADER_SIZE +
					(uint64_t)in->payload_len);
	if (rv != 0)
		return rv;
	int64_t last = queue_last_time(q);
	int64_t t = in->store_time_ms;
	if (last != STOR__NO_TIME && t < last)
		t = last; /* store times never go backwards in a queue */
	struct stor__bhdr h = {
	    .flags = in->flags,
	    .payload_len = in->payload_len,
	    .base_offset = stor__active(q)->end,
	    .count = in->count,
	    .store_time = t,
	    .sched_id = in->sched_id,
	};
	uint8_t hdr[STOR_BATCH_HEADER_SIZE];
	stor__bhdr_encode(hdr, &h, in->payload);
	rv = stor__write_batch(q, hdr, &h, in->payload, sync);
	if (rv != 0)
		return rv;
	if (base_offset != NULL)
		*base_offset = h.base_offset;
	if (store_time_ms != NULL)
		*store_time_ms = t;
	return 0;
}

int stor_queue_append(struct stor_queue *q, const struct stor_batch_in *in,
		      uint64_t *base_offset, int64_t *store_time_ms)
{
	return append(q, in, base_offset, store_time_ms,
		      q->cfg.flush == STOR_FLUSH_SYNC);
}

int stor_queue_append_unsynced(struct stor_queue *q,
			       const struct stor_batch_in *in,
			       uint64_t *base_offset, int64_t *store_time_ms)
{
	return append(q, in, base_offset, store_time_ms, false);
}

/* ---- Reads ---- */

/* Segment holding @offset (min <= offset < max). */
static struct stor__seg *seg_for(struct stor_queue *q, uint64_t offset)
{
	size_t lo = 0, hi = q->nsegs;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (q->segs[mid].base <= offset)
			lo = mid;
		else
			hi = mid;
	}
	return &q->segs[lo];
}

int stor_queue_store_time(struct stor_queue *q, uint64_t offset, int64_t *t)
{
	uint64_t min = q->segs[0].base, max = stor__active(q)->end;
	if (offset < min || offset >= max)
		return stor__fail(q, STOR_ERANGE,
				  "offset %" PRIu64 " outside [%" PRIu64
				  ", %" PRIu64 ")",
				  offset, min, max);
	uint64_t pos;
	struct stor__bhdr h;
	int rv = stor__seg_find(q, seg_for(q, offset), offset, &pos, &h);
	if (rv == 0)
		*t = h.store_time;
	return rv;
}

int stor_queue_read(struct stor_queue *q, uint64_t offset, void *buf,
		    size_t cap, size_t *len)
{
	uint64_t min = q->segs[0].base, max = stor__active(q)->end;
	*len = 0;
	if (offset < min || offset > max)
		return stor__fail(q, STOR_ERANGE,
				  "offset %" PRIu64 " outside [%" PRIu64
				  ", %" PRIu64 "]",
				  offset, min, max);
	if (offset == max)
		return 0;
	struct stor__seg *s = seg_for(q, offset);
	uint64_t pos;
	struct stor__bhdr h;
	int rv = stor__seg_find(q, s, offset, &pos, &h);
	if (rv != 0)
		return rv;
	uint64_t first = STOR_BATCH_HEADER_SIZE + (uint64_t)h.payload_len;
	if (first > cap) {
		*len = (size_t)first;
		return stor__fail(q, STOR_EBUFSIZE,
				  "batch at offset %" PRIu64 " needs %" PRIu64
				  " bytes, buffer has %zu",
				  h.base_offset, first, cap);
	}
	uint64_t avail = s->size - pos;
	size_t want = (size_t)(avail < cap ? avail : cap);
	int fd = stor__seg_fd(q, s);
	if (fd < 0)
		return fd;
	struct stor__path p;
	stor__seg_path(q, s->base, "log", &p);
	ssize_t r = stor__pread(&q->sys, p.s, fd, buf, want, pos);
	if (r < 0)
		return stor__fail(q, stor__from_errno((int)r),
				  "segment %020" PRIu64 ".log: read: %s",
				  s->base, strerror((int)-r));
	size_t got = (size_t)r, at = 0;
	uint64_t expect = h.base_offset;
	while (at < got) {
		struct stor_batch b;
		size_t before = at;
		if (got - at < STOR_BATCH_HEADER_SIZE)
			break;
		uint32_t plen = stor__get_u32((uint8_t *)buf + at + 12);
		if (got - at - STOR_BATCH_HEADER_SIZE < plen &&
		    stor__get_u32((uint8_t *)buf + at) == STOR__BATCH_MAGIC &&
		    before > 0)
			break; /* partial last batch: the next read gets it */
		if (stor_batch_next(buf, got, &at, &b) != 1 ||
		    b.base_offset != expect) {
			if (before > 0) {
				at = before;
				break; /* reported when read first */
			}
			return stor__fail(q, STOR_ECORRUPT,
					  "segment %020" PRIu64
					  ".log: batch at offset %" PRIu64
					  " (position %" PRIu64
					  "): crc mismatch or damaged header",
					  s->base, expect, pos + before);
		}
		expect = b.base_offset + b.count;
	}
	*len = at;
	return 0;
}

int stor_queue_offset_for_time(struct stor_queue *q, int64_t t,
			       uint64_t *offset)
{
	struct stor__seg *a = stor__active(q);
	uint64_t min = q->segs[0].base, max = a->end;
	if (min == max) {
		*offset = min;
		return 0;
	}
	/* Segments with data: all sealed ones, and the active if non-empty.
	 * Their newest store times only grow, so binary search for the
	 * first segment whose newest time is >= t. */
	size_t n = q->nsegs - (a->end == a->base ? 1 : 0);
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int rv = stor__seg_load(q, &q->segs[mid]);
		if (rv != 0)
			return rv;
		if (q->segs[mid].last_time >= t)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == n) {
		*offset = max;
		return 0;
	}
	return stor__seg_find_time(q, &q->segs[lo], t, offset);
}

void stor_queue_info(struct stor_queue *q, struct stor_queue_info *info)
{
	struct stor__seg *a = stor__active(q);
	info->min_offset = q->segs[0].base;
	info->max_offset = a->end;
	info->bytes = q->bytes;
	info->segments = (uint32_t)q->nsegs;
	if (info->min_offset == info->max_offset) {
		info->first_store_time = info->last_store_time = -1;
		return;
	}
	/* open and retention keep segs[0] loaded. */
	info->first_store_time = q->segs[0].first_time;
	int64_t last = queue_last_time(q);
	info->last_store_time = last == STOR__NO_TIME ? -1 : last;
}

void stor_queue_stats(struct stor_queue *q, struct stor_queue_stats *stats)
{
	*stats = q->stats;
}

uint64_t stor_queue_clamp(struct stor_queue *q, uint64_t offset)
{
	uint64_t min = q->segs[0].base, max = stor__active(q)->end;
	return offset < min ? min : offset > max ? max : offset;
}

const char *stor_queue_errmsg(const struct stor_queue *q)
{
	return q->errmsg;
}

/* ---- Flush, retention, close ---- */

int stor_queue_flush(struct stor_queue *q)
{
	if (q->released)
		return 0; /* written and synced when released */
	struct stor__seg *a = stor__active(q);
	int rv = stor__seg_write_index(q, a);
	if (rv != 0)
		return rv;
	if (q->dirty) {
		struct stor__path p;
		stor__seg_path(q, a->base, "log", &p);
		rv = stor__fdatasync(&q->sys, p.s, a->fd);
		if (rv != 0)
			return stor__fail(q, stor__from_errno(rv),
					  "segment %020" PRIu64
					  ".log: fsync: %s",
					  a->base, strerror(-rv));
		q->stats.fsyncs++;
		q->dirty = false;
	}
	q->synced_end = a->end;
	q->last_flush_ms = stor__now_ms(&q->sys);
	return 0;
}

static int delete_first(struct stor_queue *q)
{
	int urv = stor__unclean(q);
	if (urv != 0)
		return urv;
	struct stor__seg *s = &q->segs[0];
	static const char *exts[] = {"log", "idx", "tix"};
	for (int i = 0; i < 3; i++) {
		struct stor__path p;
		stor__seg_path(q, s->base, exts[i], &p);
		int rv = stor__unlink(&q->sys, p.s);
		if (rv != 0 && !(i > 0 && rv == -ENOENT)) {
			if (i == 0)
				return stor__fail(
				    q, stor__from_errno(rv),
				    "segment %020" PRIu64 ".%s: delete: %s",
				    s->base, exts[i], strerror(-rv));
			break; /* orphans are removed at the next open */
		}
	}
	q->bytes -= s->size;
	stor__seg_free(s);
	memmove(&q->segs[0], &q->segs[1], (q->nsegs - 1) * sizeof *s);
	q->nsegs--;
	q->stats.segments_deleted++;
	return 0;
}

int stor_queue_retain(struct stor_queue *q, unsigned *deleted)
{
	unsigned n = 0;
	int rv = stor__reacquire(q);
	if (rv != 0)
		return rv;
	int64_t now = stor__now_ms(&q->sys);
	int64_t horizon =
	    q->cfg.retention_ms > 0 ? now - q->cfg.retention_ms : INT64_MIN;
	for (;;) {
		if (q->nsegs == 1) {
			struct stor__seg *a = stor__active(q);
			if (q->broken || a->end == a->base ||
			    a->last_time >= horizon)
				break;
			/* Everything is past retention: roll so the whole
			 * segment can go, leaving an empty queue. */
			rv = roll(q);
			if (rv != 0)
				break;
		}
		struct stor__seg *s = &q->segs[0];
		rv = stor__seg_load(q, s);
		if (rv != 0)
			break;
		bool expired = s->last_time < horizon;
		bool oversize = q->cfg.retention_bytes > 0 &&
				q->bytes > q->cfg.retention_bytes;
		if (!expired && !oversize)
			break;
		/* Keep the next first segment's times known (info()). */
		rv = stor__seg_load(q, &q->segs[1]);
		if (rv == 0)
			rv = delete_first(q);
		if (rv != 0)
			break;
		n++;
	}
	if (deleted != NULL)
		*deleted = n;
	return rv;
}

/* Whether retention may delete something, from what is in memory only
 * (an unloaded first segment may: it is loaded to see). */
static bool retention_due(struct stor_queue *q)
{
	if (q->cfg.retention_bytes > 0 && q->bytes > q->cfg.retention_bytes)
		return true;
	if (q->cfg.retention_ms <= 0)
		return false;
	int64_t horizon = stor__now_ms(&q->sys) - q->cfg.retention_ms;
	const struct stor__seg *s = &q->segs[0];
	if (q->nsegs == 1)
		return s->end > s->base && s->last_time < horizon;
	return !s->loaded || s->last_time < horizon;
}

int stor_queue_tick(struct stor_queue *q, unsigned *deleted)
{
	if (deleted != NULL)
		*deleted = 0;
	if (q->broken)
		return stor__fail(q, STOR_EBROKEN,
				  "a failed write could not be undone; reopen "
				  "the queue to recover");
	if (q->cfg.flush == STOR_FLUSH_INTERVAL && q->dirty &&
	    stor__now_ms(&q->sys) - q->last_flush_ms >=
		(int64_t)q->cfg.flush_interval_ms) {
		int rv = stor_queue_flush(q);
		if (rv != 0)
			return rv;
	}
	if (q->released && !retention_due(q))
		return 0; /* idle: its files stay closed */
	return stor_queue_retain(q, deleted);
}

int stor_queue_close(struct stor_queue *q, char *errmsg, size_t errmsg_len)
{
	if (q == NULL)
		return 0;
	/* Unchanged since a clean open: the marker still holds, no file
	 * needs reopening or syncing. */
	bool unchanged = !q->broken && q->clean_kept && !q->dirty;
	int rv = q->broken || unchanged ? 0 : stor__reacquire(q);
	if (q->broken) {
		rv = stor__fail(q, STOR_EBROKEN,
				"closed after a failed write; the next open "
				"recovers the tail");
	} else if (rv == 0 && !unchanged) {
		struct stor__seg *a = stor__active(q);
		q->dirty = true; /* sync indexes too */
		rv = stor_queue_flush(q);
		if (rv == 0) {
			struct stor__path p;
			stor__seg_path(q, a->base, "idx", &p);
			rv = stor__fdatasync(&q->sys, p.s, a->idx_fd);
			if (rv == 0) {
				stor__seg_path(q, a->base, "tix", &p);
				rv = stor__fdatasync(&q->sys, p.s, a->tix_fd);
			}
			if (rv != 0)
				rv = stor__fail(q, stor__from_errno(rv),
						"fsync index: %s",
						strerror(-rv));
		}
		if (rv == 0)
			rv = stor__write_clean(q, true);
	}
	if (rv != 0 && errmsg != NULL && errmsg_len > 0)
		snprintf(errmsg, errmsg_len, "%s", q->errmsg);
	stor__free_queue(q);
	return rv;
}
