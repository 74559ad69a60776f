/*
 * topic_files.c — the directories of this broker's topics, one per
 * incarnation of a name (DESIGN.md §7 `topic delete`).
 *
 * <data_dir>/queues/<topic>/ holds the topic's queues and a file
 * INCARNATION with the topic's `created` time. A name deleted and created
 * again always gets a later `created` (raft/rsm.h), so comparing the file
 * with the state's topic says which incarnation the files belong to:
 *   equal    — this one: opened;
 *   older    — a deleted incarnation: moved to <data_dir>/trash/ and
 *              removed off the loop thread, never opened;
 *   newer    — this node's state is behind its own files (replaying its
 *              log): left alone, the queue answers UNAVAILABLE meanwhile;
 *   absent   — files of a raftq from before topic deletion, so of the one
 *              incarnation there was: adopted (the file is written).
 * When a topic is deleted (the entry applied here) its files go if they
 * are of that incarnation or older; after a snapshot replaced the state,
 * files of topics the state no longer has go if the state has seen a
 * deletion since they were created (the topic clock), never otherwise: a
 * topic missing from an older snapshot may be created again by the log.
 *
 * Failure modes: a directory that cannot be made, read or moved is an
 * error naming the path (the queue is not opened; nothing is removed that
 * is not known to be stale); a removal that fails is logged and retried
 * at the next start.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node_int.h"

#define MARKER "INCARNATION"
/* Room for any path here: data_dir, a subdirectory, a name, a file. */
#define TF_PATH (NODE_PATH + 640)

/* The incarnation written in @dir: 1 with *created set, 0 when the
 * file is absent, -1 when it cannot be read or parsed. */
static int marker_read(const char *dir, int64_t *created)
{
	char path[TF_PATH + 16], text[32] = "";
	snprintf(path, sizeof path, "%s/" MARKER, dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0'))
		return -1;
	*created = v;
	return 1;
}

/* Writes @created into @dir's marker (durably: the file and the
 * directory are synced). 0 or -1 with errno. */
static int marker_write(const char *dir, int64_t created)
{
	char path[TF_PATH + 16];
	snprintf(path, sizeof path, "%s/" MARKER, dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	int ok = fprintf(f, "%" PRId64 "\n", created) > 0 && fflush(f) == 0 &&
		 fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	return ok ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

struct trash_job {
	uv_work_t work;
	char path[TF_PATH + 256];
	int err;
};

static void trash_work(uv_work_t *w)
{
	struct trash_job *j = w->data;
	j->err = nftw(j->path, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0
		     ? errno
		     : 0;
}

static void trash_done(uv_work_t *w, int status)
{
	struct trash_job *j = w->data;
	if (status != 0 || j->err != 0)
		NODE_LOG(NODE_WARN, "storage",
			 "could not remove %s: %s (tried again at the next "
			 "start)",
			 j->path,
			 status != 0 ? uv_strerror(status) : strerror(j->err));
	free(j);
}

/* Removes @path (a directory tree) on a worker thread. */
static void remove_later(struct node *n, const char *path)
{
	struct trash_job *j = calloc(1, sizeof *j);
	if (j == NULL) {
		NODE_LOG(NODE_WARN, "storage",
			 "out of memory: %s is removed at the next start",
			 path);
		return;
	}
	snprintf(j->path, sizeof j->path, "%s", path);
	j->work.data = j;
	if (uv_queue_work(n->loop, &j->work, trash_work, trash_done) != 0)
		free(j);
}

int node_topic_trash(struct node *n, const char *topic, const char *why)
{
	char from[TF_PATH], to[TF_PATH];
	snprintf(from, sizeof from, "%s/queues/%s", n->cfg.data_dir, topic);
	snprintf(to, sizeof to, "%s/trash/%" PRIu64, n->cfg.data_dir,
		 ++n->trash_seq);
	if (rename(from, to) != 0) {
		if (errno == ENOENT)
			return 0;
		NODE_LOG(NODE_ERROR, "storage", "rename %s: %s", from,
			 strerror(errno));
		return -1;
	}
	NODE_LOG(NODE_INFO, "storage", "topic %s: files removed (%s)", topic,
		 why);
	remove_later(n, to);
	return 0;
}

/* The marker of topic @name's directory here: as marker_read. */
static int incarnation_of(struct node *n, const char *name, int64_t *created)
{
	char dir[TF_PATH];
	snprintf(dir, sizeof dir, "%s/queues/%s", n->cfg.data_dir, name);
	return marker_read(dir, created);
}

int node_topic_dir(struct node *n, const struct rsm_topic *t, char *dir,
		   size_t dirlen, char *msg, size_t msglen)
{
	int64_t m = 0;
	snprintf(dir, dirlen, "%s/queues/%s", n->cfg.data_dir, t->name);
	int has = incarnation_of(n, t->name, &m);
	if (has < 0) {
		snprintf(msg, msglen, "%s/" MARKER ": unreadable", dir);
		return -1;
	}
	if (has == 1 && m > t->created) {
		snprintf(msg, msglen,
			 "topic '%s': this node's state is behind its files "
			 "(a later incarnation); retry once it caught up",
			 t->name);
		return -1;
	}
	if (has == 1 && m < t->created &&
	    node_topic_trash(n, t->name, "an older incarnation") != 0) {
		snprintf(msg, msglen,
			 "%s: cannot move an older incarnation "
			 "away",
			 dir);
		return -1;
	}
	n->no_dir_topic[0] = '\0'; /* queues.c: it may exist from now on */
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(msg, msglen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if ((has != 1 || m != t->created) &&
	    marker_write(dir, t->created) != 0) {
		snprintf(msg, msglen, "%s/" MARKER ": %s", dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void node_topic_files_deleted(struct node *n, const char *topic,
			      int64_t created)
{
	int64_t m = 0;
	int has = incarnation_of(n, topic, &m);
	if (has == 0 || (has == 1 && m <= created))
		node_topic_trash(n, topic, "topic deleted");
}

/* What to do with directory @name of queues/ after a restore. */
static void reconcile_one(struct node *n, const char *name)
{
	int64_t m = 0;
	char dir[TF_PATH];
	int has = incarnation_of(n, name, &m);
	const struct rsm_topic *t = rsm_topic_find(n->rsm, name);
	int64_t clock = rsm_topic_clock(n->rsm);
	snprintf(dir, sizeof dir, "%s/queues/%s", n->cfg.data_dir, name);
	if (t != NULL && has == 0 && marker_write(dir, t->created) != 0)
		NODE_LOG(NODE_WARN, "storage", "%s/" MARKER ": %s", dir,
			 strerror(errno));
	else if (t != NULL && has == 1 && m < t->created)
		node_topic_trash(n, name, "an older incarnation");
	else if (t == NULL && clock > 0 && has >= 0 && (has == 0 || m <= clock))
		node_topic_trash(n, name, "deleted topic");
}

/* Calls @fn with every entry of <data_dir>/@sub but "." and "..". */
static void each_entry(struct node *n, const char *sub,
		       void (*fn)(struct node *n, const char *name))
{
	char path[TF_PATH];
	snprintf(path, sizeof path, "%s/%s", n->cfg.data_dir, sub);
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			fn(n, e->d_name);
	closedir(d);
}

void node_topic_files_reconcile(struct node *n)
{
	each_entry(n, "queues", reconcile_one);
}

/* Removes trash entry @name, and keeps new names after it. */
static void purge_one(struct node *n, const char *name)
{
	char one[TF_PATH + 256];
	uint64_t seq = strtoull(name, NULL, 10);
	if (seq > n->trash_seq)
		n->trash_seq = seq;
	snprintf(one, sizeof one, "%s/trash/%s", n->cfg.data_dir, name);
	remove_later(n, one);
}

void node_trash_purge(struct node *n)
{
	each_entry(n, "trash", purge_one);
}
