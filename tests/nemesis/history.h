/*
 * history.h — the workload's record of what clients did and saw, as JSON
 * lines for tests/checker/raftq_check.py (docs/reliability.md): every
 * operation an invoke event, then an ok / fail / info event, with the
 * time on a monotonic clock (ns) and the node it went to. Safe to call
 * from several threads.
 */
#ifndef RAFTQ_NEMESIS_HISTORY_H
#define RAFTQ_NEMESIS_HISTORY_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct history {
	FILE *f;
	pthread_mutex_t lock;
	uint64_t events, completed, by_type[3]; /* ok, fail, info */
	uint64_t fetch_by_type[3];		/* of those, raw fetches */
};

/* Opens @path for writing: 0, or -1 (errno). */
int hist_open(struct history *h, const char *path);
int hist_close(struct history *h);
/* Monotonic nanoseconds. */
int64_t hist_now_ns(void);
/* Records an event of process @proc: @type "invoke", "ok", "fail" or
 * "info", operation @f, at @node (may be NULL), with @value (taken: the
 * call decrefs it; NULL: {}). */
void hist_event(struct history *h, const char *proc, const char *type,
		const char *f, const char *node, json_t *value);
/* Completions so far by type (ok, fail, info), read under the lock; with
 * @no_fetch, not counting raw fetches (one broker's, not the cluster's). */
void hist_counts(struct history *h, bool no_fetch, uint64_t out[3]);

#endif
