/*
 * sync.c — group commit: the unsynced tail of a queue synced off the
 * owner's thread (storage.h, docs/design/storage.md).
 *
 * Invariant: min offset <= synced_end <= max offset, and every batch
 * below synced_end was fdatasync'ed (by an append with sync, a flush, a
 * seal when rolling, or a sync taken here) since it was written.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "storage_int.h"

uint64_t stor_queue_synced_end(const struct stor_queue *q)
{
	uint64_t end = q->segs[q->nsegs - 1].end;
	if (q->cfg.flush != STOR_FLUSH_SYNC)
		return end;
	assert(q->synced_end <= end && q->synced_end >= q->segs[0].base);
	return q->synced_end;
}

int stor_queue_sync_take(struct stor_queue *q, struct stor_sync *s)
{
	if (q->broken)
		return stor__fail(q, STOR_EBROKEN,
				  "a failed write could not be undone; reopen "
				  "the queue to recover");
	struct stor__seg *a = stor__active(q);
	if (q->synced_end >= a->end)
		return 0;
	int rv = stor__reacquire(q);
	if (rv != 0)
		return rv;
	/* Sealed segments were synced when sealed: the tail is here. */
	assert(q->synced_end >= a->base);
	struct stor__path p;
	stor__seg_path(q, a->base, "log", &p);
	int fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return stor__fail(q, STOR_EIO,
				  "segment %020" PRIu64 ".log: "
				  "dup for a sync: %s",
				  a->base, strerror(errno));
	s->fd = fd;
	s->end = a->end;
	s->gen = q->sync_gen;
	s->rv = 0;
	s->env = q->sys.env;
	snprintf(s->path, sizeof s->path, "%s", p.s);
	return 1;
}

void stor_sync_run(struct stor_sync *s)
{
	struct stor__sys sys = {s->env};
	s->rv = stor__fdatasync(&sys, s->path, s->fd);
	close(s->fd);
	s->fd = -1;
}

int stor_queue_sync_done(struct stor_queue *q, const struct stor_sync *s)
{
	if (s->gen != q->sync_gen)
		return 0; /* the files were cut or restarted since */
	if (s->rv == 0) {
		assert(s->end <= stor__active(q)->end);
		if (s->end > q->synced_end)
			q->synced_end = s->end;
		if (s->end == stor__active(q)->end)
			q->dirty = false; /* the log is synced to its end */
		q->stats.fsyncs++;
		return 0;
	}
	char keep[sizeof s->path + 128];
	snprintf(keep, sizeof keep, "%s: fsync: %s", s->path, strerror(-s->rv));
	int rv = stor_queue_truncate(q, q->synced_end);
	stor__fail(q, stor__from_errno(s->rv), "%s%s", keep,
		   rv == 0 ? "; the unsynced batches were cut"
			   : "; cutting the unsynced batches failed too");
	return stor__from_errno(s->rv);
}
