/*
 * syncer.c — group commit: one I/O thread per node syncs the queues'
 * appended tails (docs/design/storage.md, "Storage I/O off the loop").
 *
 * On the loop, a PRODUCE under flush = sync is appended without a sync
 * (offsets and store times assigned there, as always) and the queue asks
 * for a sync; at most one sync per queue is in flight, and batches that
 * arrive while it runs are covered by the next one. The thread takes every
 * queued sync at once, runs each fdatasync, and wakes the loop
 * (uv_async); there each result moves the queue's synced end, which is
 * what readers see and producers are acknowledged against (acks.c).
 *
 * The thread touches no queue: a sync carries a duplicate of the log's
 * fd. A result whose queue was closed meanwhile (topic deleted) is
 * dropped. Stopping joins the thread after its last syncs and applies
 * their results before the queues close.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "replica.h"

struct sync_job {
	struct sync_job *next;
	char topic[RSM_NAME_MAX + 1];
	char home[RSM_NAME_MAX + 1];
	int64_t created;
	uint32_t queue_id;
	struct stor_sync s;
};

struct node_syncer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sync_job *todo, *done; /* under mu */
	bool stop;		      /* under mu */
	uv_async_t async;
	struct node *n;
};

static void *run(void *arg)
{
	struct node_syncer *y = arg;
	pthread_mutex_lock(&y->mu);
	for (;;) {
		while (y->todo == NULL && !y->stop)
			pthread_cond_wait(&y->cv, &y->mu);
		struct sync_job *group = y->todo;
		y->todo = NULL;
		if (group == NULL)
			break; /* stopping, nothing left */
		pthread_mutex_unlock(&y->mu);
		struct sync_job *last = group;
		for (struct sync_job *j = group; j != NULL; j = j->next) {
			stor_sync_run(&j->s);
			last = j;
		}
		pthread_mutex_lock(&y->mu);
		last->next = y->done;
		y->done = group;
		uv_async_send(&y->async);
	}
	pthread_mutex_unlock(&y->mu);
	return NULL;
}

static void finish(struct node *n, struct sync_job *j)
{
	/* NULL when the queue was closed since (its topic deleted). */
	struct node_queue *e =
	    node_queue_by_name(n, j->topic, j->home, j->queue_id, j->created);
	if (e != NULL) {
		assert(e->syncing);
		e->syncing = false;
		n->queue_syncs++;
		int rv = stor_queue_sync_done(e->q, &j->s);
		if (rv != 0) {
			const char *msg = stor_queue_errmsg(e->q);
			NODE_LOG(NODE_ERROR, "storage", "%s", msg);
			node_acks_fail(n, e, node_code_from_stor(rv), msg);
		} else {
			node_queue_synced(n, e);
			node_sync_want(n, e); /* what came in meanwhile */
		}
	}
	free(j);
}

static void drain(struct node_syncer *y)
{
	struct node *n = y->n;
	pthread_mutex_lock(&y->mu);
	struct sync_job *done = y->done;
	y->done = NULL;
	pthread_mutex_unlock(&y->mu);
	while (done != NULL) {
		struct sync_job *next = done->next;
		finish(n, done);
		done = next;
	}
}

static void on_async(uv_async_t *a)
{
	drain(a->data);
}

void node_sync_want(struct node *n, struct node_queue *e)
{
	struct node_syncer *y = n->syncer;
	if (y == NULL || e->syncing)
		return; /* the sync in flight is followed by another */
	struct sync_job *j = calloc(1, sizeof *j);
	if (j == NULL) {
		NODE_LOG(NODE_ERROR, "storage", "out of memory for a sync");
		return; /* its waiters time out; the next append retries */
	}
	int rv = stor_queue_sync_take(e->q, &j->s);
	if (rv <= 0) {
		if (rv < 0)
			NODE_LOG(NODE_ERROR, "storage", "%s",
				 stor_queue_errmsg(e->q));
		free(j);
		return;
	}
	snprintf(j->topic, sizeof j->topic, "%s", e->topic);
	snprintf(j->home, sizeof j->home, "%s", e->home);
	j->created = e->created;
	j->queue_id = e->queue_id;
	e->syncing = true;
	pthread_mutex_lock(&y->mu);
	j->next = y->todo;
	y->todo = j;
	pthread_cond_signal(&y->cv);
	pthread_mutex_unlock(&y->mu);
}

int node_syncer_start(struct node *n, char *err, size_t errlen)
{
	struct node_syncer *y = calloc(1, sizeof *y);
	if (y == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	y->n = n;
	pthread_mutex_init(&y->mu, NULL);
	pthread_cond_init(&y->cv, NULL);
	/* The thread waits for work, which comes only once n->syncer is
	 * set, after the async handle it wakes the loop with. */
	int rv = pthread_create(&y->thread, NULL, run, y);
	if (rv != 0) {
		snprintf(err, errlen, "starting the storage sync thread: %s",
			 strerror(rv));
		pthread_mutex_destroy(&y->mu);
		pthread_cond_destroy(&y->cv);
		free(y);
		return -1;
	}
	uv_async_init(n->loop, &y->async, on_async);
	y->async.data = y;
	n->syncer = y;
	return 0;
}

static void on_async_closed(uv_handle_t *h)
{
	struct node_syncer *y = h->data;
	struct node *n = y->n;
	pthread_mutex_destroy(&y->mu);
	pthread_cond_destroy(&y->cv);
	free(y);
	assert(n->handles_open > 0);
	n->handles_open--;
}

void node_syncer_stop(struct node *n)
{
	struct node_syncer *y = n->syncer;
	if (y == NULL)
		return;
	pthread_mutex_lock(&y->mu);
	y->stop = true;
	pthread_cond_signal(&y->cv);
	pthread_mutex_unlock(&y->mu);
	pthread_join(y->thread, NULL);
	n->syncer = NULL; /* no new syncs: closing the queues syncs them */
	drain(y);	  /* the last results, before the queues close */
	n->handles_open++;
	uv_close((uv_handle_t *)&y->async, on_async_closed);
}
