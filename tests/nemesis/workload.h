/*
 * workload.h — the clients of a nemesis run (DESIGN.md §8): what they do
 * is recorded in a history (history.h) for the checker.
 *
 *   producers  libraftq, keyless, ~200 messages/s each; every message its
 *              own operation (id "P-N", value.producer P)
 *   consumers  libraftq members of group "wg" (auto commit); one consume
 *              operation per raftq_consume call, deliveries with epochs
 *   operator   resets of "wg" (latest, shift, duration, undo, earliest)
 *              and of "rg" (to offsets) every 0.5-1 s, through any node
 *   register   reads of "rg" (GROUP_DESCRIBE, linearizable) and commits
 *              under the epoch it read (a stale one must be refused)
 *   fetcher    raw FETCHes of "wg"'s queues under the epoch OFFSETS gave
 *              (no reset notice: a stale epoch must be refused)
 * and, once the faults stop, a drain of every queue.
 */
#ifndef RAFTQ_NEMESIS_WORKLOAD_H
#define RAFTQ_NEMESIS_WORKLOAD_H

#include <stdatomic.h>
#include <stdbool.h>

#include "harness.h"
#include "history.h"

#define WL_TOPIC "w"
#define WL_QPB 2 /* queues per broker */

struct workload {
	struct history *h;
	struct harness *hx; /* the cluster (the drain asks each broker) */
	char bootstrap[256];
	atomic_bool stop;
};

/* One client thread: @w, its process name, its random seed. */
struct wl_thread {
	struct workload *w;
	char name[16];
	unsigned seed;
	pthread_t tid;
};

void *wl_producer(void *arg);
void *wl_consumer(void *arg);
void *wl_operator(void *arg);
void *wl_register(void *arg);
void *wl_fetcher(void *arg);

/* Sets every queue of group "rg" to offset 0 (so every value a read can
 * see was written): 0, or -1. */
int wl_register_init(struct workload *w);
/* Reads every queue of the topic to its end and records a drain for
 * each: 0, or -1 when a queue could not be read. */
int wl_drain(struct workload *w);
/* Records the cluster's reset history of groups "wg" and "rg" (the
 * records this run's operator made): how the checker settles resets whose
 * answer never came. 0, or -1 when it could not be read. */
int wl_readback(struct workload *w);

#endif
