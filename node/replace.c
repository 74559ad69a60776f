/*
 * replace.c — a node that lost its disk takes its old place back in two
 * phases (docs/deploy.md §5, docs/design/replication.md):
 *
 *   1. With [node] replace = yes and no Raft state on disk, the node does
 *      not start Raft: it takes no part in elections and accepts no
 *      entries, so it can never count as the voter that remembered its
 *      term, vote and log. It sends JOIN with replace; the leader removes
 *      its id from the configuration and answers once the removal is
 *      committed (nothing to remove is answered at once).
 *   2. Then the node starts Raft with its empty log and joins as a new
 *      member (an ordinary JOIN: added, caught up, made a voter); its
 *      replicas are rebuilt from the queue leaders.
 *
 * A crash before the node is a member again is covered by a marker file
 * in the data directory, written before phase 1 and removed only when the
 * ordinary JOIN of phase 2 is answered: a node that finds it starts with
 * phase 1 again, whatever Raft wrote (the leader may have sent it old
 * entries, its old registration among them, before it is a member: without
 * the marker it would start as if it were one and never ask). A marker
 * without replace = yes is refused at start.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "node_int.h"

#define MARKER "replace.pending"

static void marker_path(const struct node *n, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", n->cfg.data_dir, MARKER);
}

/* Whether @dir holds no entry but . and .. (a missing dir is empty). */
static bool dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT;
	bool empty = true;
	for (struct dirent *e; empty && (e = readdir(d)) != NULL;)
		empty =
		    strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Writes the marker durably (file and directory synced). */
static int marker_write(const struct node *n, char *err, size_t errlen)
{
	char path[NODE_PATH + 32];
	marker_path(n, path, sizeof path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int e = fd < 0 || fsync(fd) != 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	int dfd =
	    e == 0 ? open(n->cfg.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		   : -1;
	if (e == 0 && (dfd < 0 || fsync(dfd) != 0))
		e = errno;
	if (dfd >= 0)
		close(dfd);
	if (e == 0)
		return 0;
	snprintf(err, errlen, "replace: writing %s: %s", path, strerror(e));
	return -1;
}

int node_replace_decide(struct node *n, char *err, size_t errlen)
{
	char path[NODE_PATH + 32];
	marker_path(n, path, sizeof path);
	bool pending = access(path, F_OK) == 0;
	bool replace = strcmp(n->cfg.replace, "yes") == 0;
	if (pending && !replace) {
		snprintf(err, errlen,
			 "%s: a replace of this node did not finish; start it "
			 "with replace = yes and join (docs/deploy.md §5)",
			 path);
		return -1;
	}
	n->replacing = replace && (pending || dir_empty(n->raft_dir));
	if (!n->replacing)
		return 0;
	NODE_LOG(NODE_WARN, "raft",
		 "replace = yes and %s: Raft starts once the leader has "
		 "removed node %llu's old place (JOIN to %s)",
		 pending ? "a replace not finished" : "no Raft state",
		 (unsigned long long)n->cfg.id, n->cfg.join);
	return pending ? 0 : marker_write(n, err, errlen);
}

void node_replace_done(struct node *n)
{
	assert(n->replacing);
	char err[512];
	if (node_raft_begin(n, err, sizeof err) != 0) {
		NODE_LOG(NODE_ERROR, "raft", "after replace: %s", err);
		node_stop(n);
		return;
	}
	n->replacing = false;
	n->rejoining = true; /* until the ordinary JOIN is answered */
	NODE_LOG(NODE_WARN, "raft",
		 "node %llu's old place is out of the configuration: Raft "
		 "started, joining as a new member",
		 (unsigned long long)n->cfg.id);
}

void node_replace_joined(struct node *n)
{
	assert(n->rejoining);
	char path[NODE_PATH + 32];
	marker_path(n, path, sizeof path);
	/* A member again: a restart from here is an ordinary one. */
	if (unlink(path) != 0 && errno != ENOENT)
		NODE_LOG(NODE_WARN, "raft", "replace: removing %s: %s", path,
			 strerror(errno));
	n->rejoining = false;
	NODE_LOG(NODE_INFO, "raft",
		 "node %llu is a member again (replace done)",
		 (unsigned long long)n->cfg.id);
}
