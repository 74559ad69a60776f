/*
 * close_all.c — closing many queues at once (storage.h,
 * stor_queues_close): a broker stopping with ten thousand queues would
 * otherwise run about five fsyncs a changed queue (log, two indexes,
 * marker, directory); here the whole filesystem is synced twice.
 *
 * Order, as for one queue: the data and indexes are on disk (first sync)
 * before any clean-shutdown marker says so (written, then the second
 * sync). A crash in between leaves some markers old or absent: those
 * queues scan at their next open, as after any crash.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage_int.h"

/* Phase 1 for @q: indexes written, files closed. Whether a marker is due
 * (0), none is (1), or the queue cannot close cleanly (an error). */
static int settle(struct stor_queue *q)
{
	if (q->broken)
		return stor__fail(q, STOR_EBROKEN,
				  "closed after a failed write; the next open "
				  "recovers the tail");
	if (q->clean_kept && !q->dirty)
		return 1; /* unchanged since a clean open */
	int rv = stor__reacquire(q);
	if (rv == 0)
		rv = stor__seg_write_index(q, stor__active(q));
	stor__drop_fds(q);
	return rv;
}

/* syncfs of the filesystem holding @dir; 0 or a negative errno. */
static int sync_fs(const struct stor__sys *sys, const char *dir)
{
	int fd = stor__open(sys, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	int rv = stor__syncfs(sys, dir, fd);
	close(fd);
	return rv;
}

/* Every queue still to be marked clean fails with @e (a failed sync). */
static void fail_all(struct stor_queue **qs, int *st, size_t n, int e,
		     const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (qs[i] != NULL && st[i] == 0)
			st[i] = stor__fail(qs[i], stor__from_errno(e), "%s: %s",
					   what, strerror(-e));
}

int stor_queues_close(struct stor_queue **qs, size_t n,
		      void (*report)(void *data, const char *msg), void *data)
{
	int *st = calloc(n ? n : 1, sizeof *st);
	struct stor_queue *first = NULL;
	for (size_t i = 0; i < n; i++) {
		if (qs[i] == NULL)
			continue;
		st[i] = st == NULL ? STOR_ENOMEM : settle(qs[i]);
		if (first == NULL)
			first = qs[i];
	}
	int e =
	    first != NULL && st != NULL ? sync_fs(&first->sys, first->dir) : 0;
	if (e != 0)
		fail_all(qs, st, n, e, "syncfs before the markers");
	for (size_t i = 0; e == 0 && st != NULL && i < n; i++)
		if (qs[i] != NULL && st[i] == 0)
			st[i] = stor__write_clean(qs[i], false);
	e = e == 0 && first != NULL && st != NULL
		? sync_fs(&first->sys, first->dir)
		: e;
	if (e != 0)
		fail_all(qs, st, n, e, "syncfs after the markers");
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		if (qs[i] == NULL)
			continue;
		bool bad = st == NULL || st[i] < 0;
		if (bad && report != NULL)
			report(data, qs[i]->errmsg);
		failed += bad;
		stor__free_queue(qs[i]);
	}
	free(st);
	return failed;
}
