/*
 * epochs.c — a queue replica's leader-epoch file (docs/design/
 * replication.md §5): which leader epoch wrote which offsets, so a
 * returning replica can find where its log and the leader's part.
 *
 * The file is small text, rewritten whole (tmp, fsync, rename, fsync of
 * the directory) at every change; changes come only with leader changes
 * and truncations. docs/disk-format.md has the layout.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_int.h"

#define EPOCHS_FILE "leader-epochs"
#define EPOCHS_HEADER "raftq-leader-epochs 1\n"
#define EPOCHS_LINE_MAX 48 /* two 20-digit numbers, a space, a newline */

struct stor_epochs {
	struct stor__sys sys;
	char *dir;
	struct stor_epoch *v; /* epochs and starts ascending */
	uint32_t n, cap;
	char errmsg[512];
};

static int fail(struct stor_epochs *e, int code, const char *what, int err)
{
	snprintf(e->errmsg, sizeof e->errmsg, "%s/%s: %s%s%s", e->dir,
		 EPOCHS_FILE, what, err ? ": " : "", err ? strerror(err) : "");
	return code;
}

const char *stor_epochs_errmsg(const struct stor_epochs *e)
{
	return e->errmsg;
}

/* Parses the file's text into @e: 0 or STOR_ECORRUPT / STOR_ENOMEM. */
static int parse(struct stor_epochs *e, char *text)
{
	size_t h = strlen(EPOCHS_HEADER);
	if (strncmp(text, EPOCHS_HEADER, h) != 0)
		return fail(e, STOR_ECORRUPT, "bad header", 0);
	for (char *line = text + h; *line != '\0';) {
		char *nl = strchr(line, '\n');
		struct stor_epoch x;
		int used = 0;
		if (nl == NULL ||
		    sscanf(line, "%" SCNu64 " %" SCNu64 "%n", &x.epoch,
			   &x.start, &used) != 2 ||
		    line + used != nl)
			return fail(e, STOR_ECORRUPT, "bad line", 0);
		if (e->n > 0 && (x.epoch <= e->v[e->n - 1].epoch ||
				 x.start < e->v[e->n - 1].start))
			return fail(e, STOR_ECORRUPT, "entries not ascending",
				    0);
		if (e->n == e->cap) {
			uint32_t cap = e->cap ? e->cap * 2 : 8;
			void *v =
			    stor__realloc(&e->sys, e->v, cap * sizeof *e->v);
			if (v == NULL)
				return fail(e, STOR_ENOMEM, "out of memory", 0);
			e->v = v;
			e->cap = cap;
		}
		e->v[e->n++] = x;
		line = nl + 1;
	}
	return 0;
}

/* Reads the file if there is one: 0, or an error (recorded). */
static int load(struct stor_epochs *e)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", e->dir, EPOCHS_FILE);
	int fd = stor__open(&e->sys, path, O_RDONLY, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fail(e, stor__from_errno(fd), "open", -fd);
	struct stat st;
	char *text = NULL;
	int rv = fstat(fd, &st) != 0 ? fail(e, STOR_EIO, "stat", errno) : 0;
	if (rv == 0 &&
	    (text = stor__malloc(&e->sys, (size_t)st.st_size + 1)) == NULL)
		rv = fail(e, STOR_ENOMEM, "out of memory", 0);
	ssize_t r = rv == 0 ? stor__pread(&e->sys, path, fd, text,
					  (size_t)st.st_size, 0)
			    : 0;
	if (rv == 0 && r != (ssize_t)st.st_size)
		rv = fail(e, r < 0 ? stor__from_errno((int)r) : STOR_EIO,
			  "read", r < 0 ? (int)-r : 0);
	if (rv == 0) {
		text[st.st_size] = '\0';
		rv = parse(e, text);
	}
	free(text);
	close(fd);
	return rv;
}

/* Writes @e's entries to the file (tmp, sync, rename, sync dir). */
static int save(struct stor_epochs *e)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/%s", e->dir, EPOCHS_FILE);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	size_t cap = strlen(EPOCHS_HEADER) + (size_t)e->n * EPOCHS_LINE_MAX + 1;
	char *text = stor__malloc(&e->sys, cap);
	if (text == NULL)
		return fail(e, STOR_ENOMEM, "out of memory", 0);
	size_t len = (size_t)snprintf(text, cap, "%s", EPOCHS_HEADER);
	for (uint32_t i = 0; i < e->n; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"%" PRIu64 " %" PRIu64 "\n",
					e->v[i].epoch, e->v[i].start);
	int fd = stor__open(&e->sys, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rv = fd < 0 ? fd : 0;
	struct iovec io = {text, len};
	if (rv == 0)
		rv = stor__pwritev(&e->sys, tmp, fd, &io, 1, 0);
	if (rv == 0)
		rv = stor__fdatasync(&e->sys, tmp, fd);
	if (fd >= 0)
		close(fd);
	if (rv == 0)
		rv = stor__rename(&e->sys, tmp, path);
	int dfd = rv == 0 ? stor__open(&e->sys, e->dir, O_RDONLY, 0) : -1;
	if (rv == 0)
		rv = dfd < 0 ? dfd : stor__fdatasync(&e->sys, e->dir, dfd);
	if (dfd >= 0)
		close(dfd);
	free(text);
	if (rv != 0) {
		unlink(tmp);
		return fail(e, stor__from_errno(rv), "write", -rv);
	}
	return 0;
}

int stor_epochs_open(const char *dir, const struct stor_env *env,
		     uint64_t log_end, struct stor_epochs **out, char *errmsg,
		     size_t errmsg_len)
{
	struct stor__sys sys = {{0}};
	if (env != NULL)
		sys.env = *env;
	struct stor_epochs *e = stor__malloc(&sys, sizeof *e);
	char *d = strdup(dir);
	if (e == NULL || d == NULL) {
		free(e);
		free(d);
		if (errmsg != NULL && errmsg_len > 0)
			snprintf(errmsg, errmsg_len, "%s/%s: out of memory",
				 dir, EPOCHS_FILE);
		return STOR_ENOMEM;
	}
	memset(e, 0, sizeof *e);
	e->sys = sys;
	e->dir = d;
	int rv = load(e);
	/* Entries past the log's end were cut from the log (a crash
	 * between the two): they go too. */
	if (rv == 0)
		rv = stor_epochs_truncate(e, log_end);
	if (rv == 0) {
		*out = e;
		return 0;
	}
	if (errmsg != NULL && errmsg_len > 0)
		snprintf(errmsg, errmsg_len, "%s", e->errmsg);
	stor_epochs_close(e);
	return rv;
}

void stor_epochs_close(struct stor_epochs *e)
{
	if (e == NULL)
		return;
	free(e->v);
	free(e->dir);
	free(e);
}

uint32_t stor_epochs_count(const struct stor_epochs *e)
{
	return e->n;
}

const struct stor_epoch *stor_epochs_at(const struct stor_epochs *e, uint32_t i)
{
	assert(i < e->n);
	return &e->v[i];
}

uint64_t stor_epochs_last(const struct stor_epochs *e)
{
	return e->n > 0 ? e->v[e->n - 1].epoch : 0;
}

int stor_epochs_add(struct stor_epochs *e, uint64_t epoch, uint64_t start)
{
	const struct stor_epoch *last = e->n > 0 ? &e->v[e->n - 1] : NULL;
	if (last != NULL && last->epoch == epoch)
		return 0;
	if (epoch == 0 ||
	    (last != NULL && (epoch < last->epoch || start < last->start)))
		return fail(e, STOR_EINVAL, "epoch or start goes back", 0);
	if (e->n == e->cap) {
		uint32_t cap = e->cap ? e->cap * 2 : 8;
		void *v = stor__realloc(&e->sys, e->v, cap * sizeof *e->v);
		if (v == NULL)
			return fail(e, STOR_ENOMEM, "out of memory", 0);
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n++] = (struct stor_epoch){epoch, start};
	int rv = save(e);
	if (rv != 0)
		e->n--;
	return rv;
}

bool stor_epochs_end_for(const struct stor_epochs *e, uint64_t epoch,
			 uint64_t log_end, uint64_t *found, uint64_t *end)
{
	uint32_t i = e->n;
	while (i > 0 && e->v[i - 1].epoch > epoch)
		i--;
	if (i == 0)
		return false;
	*found = e->v[i - 1].epoch;
	*end = i < e->n ? e->v[i].start : log_end;
	return true;
}

bool stor_epochs_covering(const struct stor_epochs *e, uint64_t offset,
			  uint64_t log_end, uint64_t *epoch, uint64_t *end)
{
	uint32_t i = e->n;
	while (i > 0 && e->v[i - 1].start > offset)
		i--;
	if (i == 0)
		return false;
	*epoch = e->v[i - 1].epoch;
	*end = i < e->n ? e->v[i].start : log_end;
	return true;
}

/* Keeps the first @n entries, saved. */
static int keep(struct stor_epochs *e, uint32_t n)
{
	if (n == e->n)
		return 0;
	uint32_t old = e->n;
	e->n = n;
	int rv = save(e);
	if (rv != 0)
		e->n = old;
	return rv;
}

int stor_epochs_truncate(struct stor_epochs *e, uint64_t log_end)
{
	uint32_t n = e->n;
	while (n > 0 && e->v[n - 1].start >= log_end)
		n--;
	return keep(e, n);
}

int stor_epochs_keep_through(struct stor_epochs *e, uint64_t epoch)
{
	uint32_t n = e->n;
	while (n > 0 && e->v[n - 1].epoch > epoch)
		n--;
	return keep(e, n);
}

int stor_epochs_clear(struct stor_epochs *e)
{
	return keep(e, 0);
}
