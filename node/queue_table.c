/*
 * queue_table.c — finding an open queue, and how many keep their files
 * open (issue 16: ten thousand queues on one broker).
 *
 * Lookup: a glibc hash table (hsearch_r, POSIX hsearch with a table of
 * our own) from "crc/topic/home/queue_id/created" to the queue's index in
 * n->queues: O(1) per request instead of a scan, which made a request over
 * every queue of a 10^4-queue topic quadratic. The table does not grow:
 * it is rebuilt at twice the queues when half full, and after queues are
 * dropped (indices move).
 *
 * Open files: each open queue holds about four files (directory, log and
 * two indexes), more while old segments are read. Past [storage]
 * max_open_queues the least recently used idle queues release their files
 * (stor_queue_release); their next use reopens them. Trimming is one scan
 * and sort, run on the tick and whenever the queues opened or reopened
 * since the last one pass an eighth of the bound (so the bound may be
 * passed by that much, plus two, in between). A queue with a sync on the I/O
 * thread is not released (that would sync it on the loop). 0 = from the
 * process's open-file limit, raised to its hard limit at start.
 */
#include <errno.h>
#include <inttypes.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "node_int.h"

#define KEY_MAX (2 * RSM_NAME_MAX + 64)

/* Writes decimal @v at @p; the end. */
static char *put_u64(char *p, uint64_t v)
{
	char d[20];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = d[--n];
	return p;
}

static char *put_name(char *p, const char *s)
{
	size_t len = strlen(s);
	assert(len <= RSM_NAME_MAX);
	memcpy(p, s, len);
	return p + len;
}

/* "crc/topic/home/queue_id/created": glibc's hsearch hash looks at the
 * first few characters only, so the key starts with the CRC32C of the
 * rest (ISA-L, as the storage's checksums): without it every queue of a
 * topic landed in one chain (measured: 60% of a 10^4-queue QUEUE_STATS
 * in strcmp). Written by hand: with snprintf the keys were 11% of a
 * 10^4-queue reset's samples on the three nodes. */
static void make_key(char *out, const char *topic, const char *home,
		     uint32_t queue_id, int64_t created)
{
	static const char hex[] = "0123456789abcdef";
	char *name = out + 9, *p = name;
	p = put_name(p, topic);
	*p++ = '/';
	p = put_name(p, home);
	*p++ = '/';
	p = put_u64(p, queue_id);
	*p++ = '/';
	if (created < 0)
		*p++ = '-';
	p = put_u64(p, created < 0 ? -(uint64_t)created : (uint64_t)created);
	*p = '\0';
	assert(p < out + KEY_MAX);
	uint32_t crc = stor_crc32c(0, name, (size_t)(p - name));
	for (int i = 0; i < 8; i++)
		out[i] = hex[(crc >> (28 - 4 * i)) & 0xf];
	out[8] = '/';
}

static void index_drop(struct node *n)
{
	if (n->qindex_cap > 0)
		hdestroy_r(&n->qindex);
	memset(&n->qindex, 0, sizeof n->qindex);
	n->qindex_cap = 0;
}

/* Enters queue @i; false when the table is full or out of memory. */
static bool index_enter(struct node *n, size_t i)
{
	ENTRY in = {n->queues[i].key, (void *)(uintptr_t)i}, *out = NULL;
	return hsearch_r(in, ENTER, &out, &n->qindex) != 0 && out != NULL;
}

void node_queue_index_rebuild(struct node *n)
{
	index_drop(n);
	size_t cap = 64;
	while (cap < 2 * n->nqueues)
		cap *= 2;
	if (hcreate_r(cap, &n->qindex) == 0) {
		NODE_LOG(NODE_ERROR, "storage",
			 "queue index of %zu entries: %s", cap,
			 strerror(errno));
		return; /* lookups scan (node_queue_find) */
	}
	n->qindex_cap = cap;
	for (size_t i = 0; i < n->nqueues; i++)
		if (!index_enter(n, i)) {
			index_drop(n);
			return;
		}
}

int node_queue_index_add(struct node *n, struct node_queue *e)
{
	char key[KEY_MAX];
	make_key(key, e->topic, e->home, e->queue_id, e->created);
	e->key = strdup(key);
	if (e->key == NULL)
		return -1;
	size_t i = (size_t)(e - n->queues);
	assert(i < n->nqueues);
	if (2 * n->nqueues > n->qindex_cap || !index_enter(n, i))
		node_queue_index_rebuild(n);
	return 0;
}

void node_queue_index_free(struct node *n)
{
	index_drop(n);
}

struct node_queue *node_queue_find(struct node *n, const struct rsm_topic *t,
				   const char *home, uint32_t queue_id)
{
	return node_queue_by_name(n, t->name, home, queue_id, t->created);
}

struct node_queue *node_queue_by_name(struct node *n, const char *topic,
				      const char *home, uint32_t queue_id,
				      int64_t created)
{
	char key[KEY_MAX];
	make_key(key, topic, home, queue_id, created);
	ENTRY in = {key, NULL}, *out = NULL;
	if (n->qindex_cap > 0) {
		if (hsearch_r(in, FIND, &out, &n->qindex) == 0)
			return NULL;
		size_t i = (uintptr_t)out->data;
		assert(i < n->nqueues && strcmp(n->queues[i].key, key) == 0);
		return &n->queues[i];
	}
	for (size_t i = 0; i < n->nqueues; i++) /* no index: out of memory */
		if (strcmp(n->queues[i].key, key) == 0)
			return &n->queues[i];
	return NULL;
}

static int by_use(const void *a, const void *b)
{
	const struct node_queue *x = *(struct node_queue *const *)a,
				*y = *(struct node_queue *const *)b;
	return x->used < y->used ? -1 : x->used > y->used;
}

void node_queues_trim(struct node *n)
{
	n->opened_since_trim = 0;
	n->reacquired_seen = stor_reacquired_total();
	if (n->nqueues <= n->max_open_queues)
		return; /* all of them may hold files */
	struct node_queue **idle = malloc((n->nqueues + 1) * sizeof *idle);
	if (idle == NULL)
		return; /* the next trim tries again */
	size_t open = 0, k = 0;
	for (size_t i = 0; i < n->nqueues; i++) {
		struct node_queue *e = &n->queues[i];
		if (stor_queue_released(e->q))
			continue;
		open++;
		if (!e->syncing)
			idle[k++] = e;
	}
	if (open > n->max_open_queues) {
		qsort(idle, k, sizeof *idle, by_use); /* least recent first */
		for (size_t i = 0; i < k && open > n->max_open_queues; i++) {
			if (stor_queue_release(idle[i]->q) != 0) {
				NODE_LOG(NODE_ERROR, "storage", "%s",
					 stor_queue_errmsg(idle[i]->q));
				continue;
			}
			open--;
		}
	}
	free(idle);
}

void node_queue_touch(struct node *n, struct node_queue *e, bool opened)
{
	e->used = ++n->queue_clock;
	n->opened_since_trim += opened;
	/* Opened or reopened since the last trim: past a slack of an
	 * eighth of the bound, trim now (one scan and sort for many). */
	uint64_t more = n->opened_since_trim +
			(stor_reacquired_total() - n->reacquired_seen);
	if (more > n->max_open_queues / 8 + 1)
		node_queues_trim(n);
}

void node_queue_budget(struct node *n)
{
	struct rlimit rl;
	rlim_t have = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < rl.rlim_max) {
			rlim_t want = rl.rlim_max;
			rl.rlim_cur = want;
			if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
				NODE_LOG(NODE_INFO, "storage",
					 "open-file limit raised to %llu",
					 (unsigned long long)want);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
		have = rl.rlim_cur;
	}
	/* Four files per queue, a fifth for reads of old segments, and
	 * 512 for connections, Raft and the rest. */
	uint64_t fit = have > 1024 ? (have - 512) / 5 : 100;
	n->max_open_queues =
	    n->cfg.max_open_queues ? n->cfg.max_open_queues : fit;
	if (n->max_open_queues > fit)
		NODE_LOG(NODE_WARN, "storage",
			 "max_open_queues %llu may need more files than the "
			 "open-file limit %llu allows (about 5 a queue)",
			 (unsigned long long)n->max_open_queues,
			 (unsigned long long)have);
}
