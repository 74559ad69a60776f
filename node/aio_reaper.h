/*
 * aio_reaper.h — io_destroy(2) off the event loop (aio_reaper.c says why).
 *
 * Once started, io_destroy calls made through libc's syscall(2) — which is
 * how libraft's raft_uv destroys the kernel AIO context of each log
 * segment it closes — return 0 at once and are carried out by a reaper
 * thread. Before aio_reaper_start (and in every program that does not call
 * it) they run in place, as they would without this file.
 */
#ifndef RAFTQ_AIO_REAPER_H
#define RAFTQ_AIO_REAPER_H

#include <stdint.h>

struct aio_reaper_stats {
	uint64_t deferred;  /* handed to the reaper */
	uint64_t destroyed; /* of those, destroyed */
	uint64_t in_place;  /* run in place while started: queue full */
};

/* Starts the reaper thread, once per process (later calls return 0); a
 * negative errno when it cannot, and io_destroy keeps running in place. */
int aio_reaper_start(void);

/* Waits until every deferred context is destroyed. */
void aio_reaper_drain(void);

/* A copy of the counts since start. */
void aio_reaper_stats(struct aio_reaper_stats *out);

#endif /* RAFTQ_AIO_REAPER_H */
