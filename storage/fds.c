/*
 * fds.c — a queue's open files, released while the queue is idle and
 * taken back on its next use (storage.h, stor_queue_release), so a broker
 * with ten thousand queues keeps a bounded number of files open.
 *
 * Released: every fd closed (the active segment's log and indexes, sealed
 * segments' logs opened by reads, the directory with its flock), pending
 * index entries written and, unless the policy is os, the log synced
 * first. What is in memory stays: segment list, times, the active
 * segment's index, the synced end. Taking back reopens the directory
 * (flock again: STOR_ELOCKED if another process took it meanwhile) and
 * the active segment's three files; sealed segments reopen lazily as
 * always (stor__seg_fd).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "storage_int.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int stor_queue_release(struct stor_queue *q)
{
	if (q->released)
		return 0;
	if (q->broken)
		return stor__fail(q, STOR_EBROKEN,
				  "a failed write could not be undone; reopen "
				  "the queue to recover");
	int rv = stor__seg_write_index(q, stor__active(q));
	if (rv == 0 && q->dirty && q->cfg.flush != STOR_FLUSH_OS)
		rv = stor_queue_flush(q);
	if (rv != 0)
		return rv;
	stor__drop_fds(q);
	q->stats.releases++;
	return 0;
}

void stor__drop_fds(struct stor_queue *q)
{
	for (size_t i = 0; i < q->nsegs; i++) {
		close_fd(&q->segs[i].fd);
		close_fd(&q->segs[i].idx_fd);
		close_fd(&q->segs[i].tix_fd);
	}
	close_fd(&q->dir_fd); /* and its flock */
	q->released = true;
}

bool stor_queue_released(const struct stor_queue *q)
{
	return q->released;
}

/* The directory, locked again; 0 or an error (recorded). */
static int relock_dir(struct stor_queue *q)
{
	int fd = stor__open(&q->sys, q->dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return stor__fail(q, stor__from_errno(fd), "reopen %s: %s",
				  q->dir, strerror(-fd));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK
			   ? stor__fail(q, STOR_ELOCKED,
					"%s is in use by another process",
					q->dir)
			   : stor__fail(q, STOR_EIO, "flock %s: %s", q->dir,
					strerror(e));
	}
	q->dir_fd = fd;
	return 0;
}

static uint64_t reacquired_total; /* every queue of the process */

uint64_t stor_reacquired_total(void)
{
	return __atomic_load_n(&reacquired_total, __ATOMIC_RELAXED);
}

int stor__reacquire(struct stor_queue *q)
{
	if (!q->released)
		return 0;
	int rv = relock_dir(q);
	if (rv != 0)
		return rv;
	struct stor__seg *a = stor__active(q);
	assert(a->fd < 0 && a->idx_fd < 0 && a->tix_fd < 0);
	static const char *const exts[] = {"log", "idx", "tix"};
	int *fds[] = {&a->fd, &a->idx_fd, &a->tix_fd};
	for (int i = 0; i < 3; i++) {
		*fds[i] = stor__seg_open(q, a->base, exts[i], O_RDWR);
		if (*fds[i] < 0) {
			rv = *fds[i]; /* recorded by stor__seg_open */
			for (int k = 0; k <= i; k++)
				close_fd(fds[k]);
			close_fd(&q->dir_fd);
			return rv;
		}
	}
	q->released = false;
	q->stats.reacquires++;
	__atomic_fetch_add(&reacquired_total, 1, __ATOMIC_RELAXED);
	return 0;
}
