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
 * A crash between the two phases is covered by a marker file in the data
 * directory, written before phase 1 and removed when the leader answered:
 * a node that finds it starts with phase 1 again, whatever Raft wrote.
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
	int ok = fd >= 0 && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	int dfd = open(n->cfg.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ok = ok && dfd >= 0 && fsync(dfd) == 0;
	if (dfd >= 0)
		close(dfd);
	if (ok)
		return 0;
	snprintf(err, errlen, "replace: writing %s: %s", path, strerror(errno));
	return -1;
}

int node_replace_decide(struct node *n, char *err, size_t errlen)
{
	char path[NODE_PATH + 32];
	marker_path(n, path, sizeof path);
	bool pending = access(path, F_OK) == 0;
	n->replacing = strcmp(n->cfg.replace, "yes") == 0 &&
		       (pending || dir_empty(n->raft_dir));
	if (!n->replacing)
		return 0;
	NODE_LOG(NODE_WARN, "raft",
		 "replace = yes and no Raft state: Raft starts once the "
		 "leader has removed node %llu's old place (JOIN to %s)",
		 (unsigned long long)n->cfg.id, n->cfg.join);
	return pending ? 0 : marker_write(n, err, errlen);
}

void node_replace_done(struct node *n)
{
	assert(n->replacing);
	char path[NODE_PATH + 32], err[512];
	marker_path(n, path, sizeof path);
	if (node_raft_begin(n, err, sizeof err) != 0) {
		NODE_LOG(NODE_ERROR, "raft", "after replace: %s", err);
		node_stop(n);
		return;
	}
	/* Raft state exists from here on; the marker may go. */
	if (unlink(path) != 0 && errno != ENOENT)
		NODE_LOG(NODE_WARN, "raft", "replace: removing %s: %s", path,
			 strerror(errno));
	n->replacing = false;
	n->rejoining = true; /* until the ordinary JOIN is answered */
	NODE_LOG(NODE_WARN, "raft",
		 "node %llu's old place is out of the configuration: Raft "
		 "started empty, joining as a new member",
		 (unsigned long long)n->cfg.id);
}
