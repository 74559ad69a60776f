/* tear.c — torn tails of a stopped node's files (tear.h). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tear.h"

#define PATH_MAX_ 1400
#define RAFT_FORMAT_BYTES 8
#define RAFT_BATCH_HEAD 16 /* two u32 checksums, u64 entry count */
#define RAFT_ENTRY_HEAD 16 /* u64 term, u8 type, 3 unused, u32 size */
#define RAFT_MAX_ENTRIES (1u << 20)

static void fill(uint8_t *p, size_t n, unsigned *seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rand_r(seed);
}

/* The last segment file of one queue directory: its .log, or "". */
static void active_log(const char *qdir, char *out, size_t len)
{
	char best[NAME_MAX + 1] = "";
	DIR *d = opendir(qdir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n == 24 && strcmp(e->d_name + 20, ".log") == 0 &&
		    strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof best, "%s", e->d_name);
	}
	if (d != NULL)
		closedir(d);
	out[0] = '\0';
	if (best[0] != '\0')
		snprintf(out, len, "%s/%s", qdir, best);
}

static int append_garbage(const char *path, unsigned *seed)
{
	uint8_t buf[300];
	size_t n = 1 + (size_t)(rand_r(seed) % sizeof buf);
	fill(buf, n, seed);
	if (rand_r(seed) % 2 == 0 && n >= 4)
		memcpy(buf, "RQBT", 4); /* looks like a batch */
	int fd = open(path, O_WRONLY | O_APPEND);
	if (fd < 0)
		return 0;
	int ok = write(fd, buf, n) == (ssize_t)n;
	close(fd);
	return ok;
}

/* Calls @fn on every entry of @dir but "." and "..". */
static void each_entry(const char *dir, void (*fn)(const char *, void *),
		       void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char path[PATH_MAX_];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		fn(path, arg);
	}
	if (d != NULL)
		closedir(d);
}

struct tear_ctx {
	unsigned *seed;
	int torn;
};

static void tear_queue(const char *qdir, void *arg)
{
	struct tear_ctx *t = arg;
	char log[PATH_MAX_];
	active_log(qdir, log, sizeof log);
	if (log[0] != '\0')
		t->torn += append_garbage(log, t->seed);
}

static void tear_topic(const char *tdir, void *arg)
{
	each_entry(tdir, tear_queue, arg);
}

int tear_queues(const char *data_dir, unsigned *seed)
{
	char dir[PATH_MAX_];
	snprintf(dir, sizeof dir, "%s/queues", data_dir);
	struct tear_ctx t = {seed, 0};
	each_entry(dir, tear_topic, &t);
	return t.torn;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Where the batches of an open segment end (RAFT_FORMAT_BYTES: none). */
static size_t raft_data_end(const uint8_t *p, size_t size)
{
	size_t at = RAFT_FORMAT_BYTES;
	while (at + RAFT_BATCH_HEAD <= size) {
		uint64_t n = le64(p + at + 8);
		if (n == 0 || n > RAFT_MAX_ENTRIES ||
		    at + RAFT_BATCH_HEAD + n * RAFT_ENTRY_HEAD > size)
			break;
		size_t len = RAFT_BATCH_HEAD + (size_t)n * RAFT_ENTRY_HEAD;
		for (uint64_t i = 0; i < n; i++) {
			const uint8_t *h =
			    p + at + RAFT_BATCH_HEAD + i * RAFT_ENTRY_HEAD;
			uint32_t sz = (uint32_t)h[12] | (uint32_t)h[13] << 8 |
				      (uint32_t)h[14] << 16 |
				      (uint32_t)h[15] << 24;
			len += ((size_t)sz + 7) / 8 * 8;
		}
		if (at + len > size)
			break;
		at += len;
	}
	return at;
}

/* The data end of open segment @path (0: unreadable), its size in @size. */
static size_t open_segment_end(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t end = 0;
	*size = 0;
	if (f != NULL && fstat(fileno(f), &st) == 0 && st.st_size > 0) {
		uint8_t *p = malloc((size_t)st.st_size);
		if (p != NULL &&
		    fread(p, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
			*size = (size_t)st.st_size;
			end = raft_data_end(p, *size);
		}
		free(p);
	}
	if (f != NULL)
		fclose(f);
	return end;
}

int tear_raft_log(const char *data_dir, unsigned *seed)
{
	char dir[1024], best[PATH_MAX_] = "";
	unsigned long long best_n = 0;
	size_t best_end = 0, best_size = 0;
	snprintf(dir, sizeof dir, "%s/raft", data_dir);
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		unsigned long long n;
		char path[PATH_MAX_];
		if (sscanf(e->d_name, "open-%llu", &n) != 1)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t size, end = open_segment_end(path, &size);
		if (end > RAFT_FORMAT_BYTES && n >= best_n) {
			best_n = n;
			best_end = end;
			best_size = size;
			snprintf(best, sizeof best, "%s", path);
		}
	}
	if (d != NULL)
		closedir(d);
	/* A batch of one entry of 64 bytes, cut anywhere after its head. */
	uint8_t batch[RAFT_BATCH_HEAD + RAFT_ENTRY_HEAD + 64];
	fill(batch, sizeof batch, seed);
	memset(batch + 8, 0, 8);
	batch[8] = 1;				    /* one entry */
	memset(batch + RAFT_BATCH_HEAD + 12, 0, 4); /* its size: 64 */
	batch[RAFT_BATCH_HEAD + 12] = 64;
	size_t n =
	    RAFT_BATCH_HEAD + RAFT_ENTRY_HEAD + (size_t)(rand_r(seed) % 64);
	if (best[0] == '\0' || best_end + n > best_size)
		return 0;
	int fd = open(best, O_WRONLY);
	if (fd < 0)
		return 0;
	int ok = pwrite(fd, batch, n, (off_t)best_end) == (ssize_t)n;
	close(fd);
	return ok;
}
